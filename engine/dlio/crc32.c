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

static int have_pclmul(void)
{
	unsigned int a, b, c, d;

	return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_PCLMUL) && (c & bit_SSE4_1);
}

uint32_t dlio_crc32(uint32_t crc, const void *buf, size_t len)
{
	static int hw = -1;
	const uint8_t *p = buf;

	if (hw < 0)
		hw = have_pclmul();
	if (hw && len >= 64) {
		size_t n = len & ~(size_t)15;

		crc = ~fold(~crc, p, n);
		p += n;
		len -= n;
	}
	return len ? (uint32_t)crc32_z(crc, p, len) : crc;
}
#else
uint32_t dlio_crc32(uint32_t crc, const void *buf, size_t len)
{
	return (uint32_t)crc32_z(crc, buf, len);
}
#endif
