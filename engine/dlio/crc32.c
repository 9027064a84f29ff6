#include "dlio/crc32.h"

#include <zlib.h>

uint32_t dlio_crc32_soft(uint32_t crc, const void *buf, size_t len)
{
	return (uint32_t)crc32_z(crc, buf, len);
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

/* The fold constants for the bit-reflected polynomial P = 0x1db710641: x^(4*128+32),
 * x^(4*128-32) mod P (k1, k2: four lanes), x^(128+32), x^(128-32) mod P (k3, k4: one lane),
 * x^64 mod P (k5), then P and mu = floor(x^64 / P) for the Barrett reduction. */
static const uint64_t __attribute__((aligned(16))) k1k2[2] = { 0x0154442bd4ULL, 0x01c6e41596ULL };
static const uint64_t __attribute__((aligned(16))) k3k4[2] = { 0x01751997d0ULL, 0x00ccaa009eULL };
static const uint64_t __attribute__((aligned(16))) k5k0[2] = { 0x0163cd6124ULL, 0 };
static const uint64_t __attribute__((aligned(16))) poly[2] = { 0x01db710641ULL, 0x01f7011641ULL };
/* x^(8*128+32), x^(8*128-32) mod P in both halves: eight 128-bit lanes, as four 256-bit ones */
static const uint64_t __attribute__((aligned(32))) k8[4] = { 0x01e88ef372ULL, 0x014a7fe880ULL,
							     0x01e88ef372ULL, 0x014a7fe880ULL };

/* x1 holds the folded message so far, p/len (a multiple of 16) what is left of it: fold
 * the rest in 16 bytes a step, then reduce to the 32-bit register */
__attribute__((target("pclmul,sse4.1"))) static uint32_t finish(__m128i x1, const uint8_t *p,
								 size_t len)
{
	__m128i x0 = _mm_load_si128((const __m128i *)k3k4), x2, x3, x5;

	while (len >= 16) {
		x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
		x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
		x1 = _mm_xor_si128(_mm_xor_si128(x1, _mm_loadu_si128((const __m128i *)p)), x5);
		p += 16;
		len -= 16;
	}
	/* 128 bits to 64 */
	x2 = _mm_clmulepi64_si128(x1, x0, 0x10);
	x3 = _mm_setr_epi32(~0, 0, ~0, 0);
	x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), x2);
	x0 = _mm_loadl_epi64((const __m128i *)k5k0);
	x2 = _mm_srli_si128(x1, 4);
	x1 = _mm_and_si128(x1, x3);
	x1 = _mm_clmulepi64_si128(x1, x0, 0x00);
	x1 = _mm_xor_si128(x1, x2);
	/* Barrett reduction to 32 bits */
	x0 = _mm_load_si128((const __m128i *)poly);
	x2 = _mm_and_si128(x1, x3);
	x2 = _mm_clmulepi64_si128(x2, x0, 0x10);
	x2 = _mm_and_si128(x2, x3);
	x2 = _mm_clmulepi64_si128(x2, x0, 0x00);
	x1 = _mm_xor_si128(x1, x2);
	return (uint32_t)_mm_extract_epi32(x1, 1);
}

/* len >= 64 and a multiple of 16; crc is the running (inverted) register */
__attribute__((target("pclmul,sse4.1"))) static uint32_t fold(uint32_t crc, const uint8_t *p,
							       size_t len)
{
	__m128i x0, x1, x2, x3, x4, x5, x6, x7, x8;

	x1 = _mm_loadu_si128((const __m128i *)(p + 0x00));
	x2 = _mm_loadu_si128((const __m128i *)(p + 0x10));
	x3 = _mm_loadu_si128((const __m128i *)(p + 0x20));
	x4 = _mm_loadu_si128((const __m128i *)(p + 0x30));
	x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)crc));
	x0 = _mm_load_si128((const __m128i *)k1k2);
	p += 64;
	len -= 64;
	while (len >= 64) {
		x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
		x6 = _mm_clmulepi64_si128(x2, x0, 0x00);
		x7 = _mm_clmulepi64_si128(x3, x0, 0x00);
		x8 = _mm_clmulepi64_si128(x4, x0, 0x00);
		x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
		x2 = _mm_clmulepi64_si128(x2, x0, 0x11);
		x3 = _mm_clmulepi64_si128(x3, x0, 0x11);
		x4 = _mm_clmulepi64_si128(x4, x0, 0x11);
		x1 = _mm_xor_si128(_mm_xor_si128(x1, x5),
				   _mm_loadu_si128((const __m128i *)(p + 0x00)));
		x2 = _mm_xor_si128(_mm_xor_si128(x2, x6),
				   _mm_loadu_si128((const __m128i *)(p + 0x10)));
		x3 = _mm_xor_si128(_mm_xor_si128(x3, x7),
				   _mm_loadu_si128((const __m128i *)(p + 0x20)));
		x4 = _mm_xor_si128(_mm_xor_si128(x4, x8),
				   _mm_loadu_si128((const __m128i *)(p + 0x30)));
		p += 64;
		len -= 64;
	}
	/* four lanes into one */
	x0 = _mm_load_si128((const __m128i *)k3k4);
	x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
	x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
	x1 = _mm_xor_si128(_mm_xor_si128(x1, x2), x5);
	x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
	x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
	x1 = _mm_xor_si128(_mm_xor_si128(x1, x3), x5);
	x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
	x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
	x1 = _mm_xor_si128(_mm_xor_si128(x1, x4), x5);
	return finish(x1, p, len);
}

/* len >= 128 and a multiple of 16: as fold(), with 256-bit carry-less multiplications
 * (VPCLMULQDQ), four 256-bit lanes, twice fold()'s speed where the CPU has them */
__attribute__((target("vpclmulqdq,avx2,pclmul,sse4.1"))) static uint32_t fold256(uint32_t crc,
										  const uint8_t *p,
										  size_t len)
{
	__m256i y0, y1, y2, y3, yk, a0, a1, a2, a3;
	__m128i x0, x1, x5, l[8];
	int i;

	y0 = _mm256_loadu_si256((const __m256i *)(p + 0x00));
	y1 = _mm256_loadu_si256((const __m256i *)(p + 0x20));
	y2 = _mm256_loadu_si256((const __m256i *)(p + 0x40));
	y3 = _mm256_loadu_si256((const __m256i *)(p + 0x60));
	y0 = _mm256_xor_si256(y0, _mm256_castsi128_si256(_mm_cvtsi32_si128((int)crc)));
	yk = _mm256_load_si256((const __m256i *)k8);
	p += 128;
	len -= 128;
	while (len >= 128) {
		a0 = _mm256_clmulepi64_epi128(y0, yk, 0x00);
		a1 = _mm256_clmulepi64_epi128(y1, yk, 0x00);
		a2 = _mm256_clmulepi64_epi128(y2, yk, 0x00);
		a3 = _mm256_clmulepi64_epi128(y3, yk, 0x00);
		y0 = _mm256_clmulepi64_epi128(y0, yk, 0x11);
		y1 = _mm256_clmulepi64_epi128(y1, yk, 0x11);
		y2 = _mm256_clmulepi64_epi128(y2, yk, 0x11);
		y3 = _mm256_clmulepi64_epi128(y3, yk, 0x11);
		y0 = _mm256_xor_si256(_mm256_xor_si256(y0, a0),
				      _mm256_loadu_si256((const __m256i *)(p + 0x00)));
		y1 = _mm256_xor_si256(_mm256_xor_si256(y1, a1),
				      _mm256_loadu_si256((const __m256i *)(p + 0x20)));
		y2 = _mm256_xor_si256(_mm256_xor_si256(y2, a2),
				      _mm256_loadu_si256((const __m256i *)(p + 0x40)));
		y3 = _mm256_xor_si256(_mm256_xor_si256(y3, a3),
				      _mm256_loadu_si256((const __m256i *)(p + 0x60)));
		p += 128;
		len -= 128;
	}
	/* eight 128-bit lanes, in message order, into one */
	l[0] = _mm256_castsi256_si128(y0);
	l[1] = _mm256_extracti128_si256(y0, 1);
	l[2] = _mm256_castsi256_si128(y1);
	l[3] = _mm256_extracti128_si256(y1, 1);
	l[4] = _mm256_castsi256_si128(y2);
	l[5] = _mm256_extracti128_si256(y2, 1);
	l[6] = _mm256_castsi256_si128(y3);
	l[7] = _mm256_extracti128_si256(y3, 1);
	x0 = _mm_load_si128((const __m128i *)k3k4);
	x1 = l[0];
	for (i = 1; i < 8; i++) {
		x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
		x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
		x1 = _mm_xor_si128(_mm_xor_si128(x1, l[i]), x5);
	}
	return finish(x1, p, len);
}

int dlio_crc32_level(void)
{
	/* GCC's checks include the OS's saving of the ymm registers */
	if (__builtin_cpu_supports("vpclmulqdq") && __builtin_cpu_supports("avx2") &&
	    __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1"))
		return 2;
	if (__builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1"))
		return 1;
	return 0;
}

uint32_t dlio_crc32_at(int level, uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int have = dlio_crc32_level();
	size_t n = len & ~(size_t)15;

	if (level > have)
		level = have;
	if (level == 2 && len >= 128)
		crc = ~fold256(~crc, p, n);
	else if (level >= 1 && len >= 64)
		crc = ~fold(~crc, p, n);
	else
		n = 0;
	return len > n ? (uint32_t)crc32_z(crc, p + n, len - n) : crc;
}
#else
int dlio_crc32_level(void)
{
	return 0;
}

uint32_t dlio_crc32_at(int level, uint32_t crc, const void *buf, size_t len)
{
	(void)level;
	return (uint32_t)crc32_z(crc, buf, len);
}
#endif

uint32_t dlio_crc32(uint32_t crc, const void *buf, size_t len)
{
	/* (dlio_crc32_level() reads what libgcc found at start-up: a few loads) */
	return dlio_crc32_at(2, crc, buf, len);
}
