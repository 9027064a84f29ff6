/*
 * Benchmark (not a test): CRC-32 (zip's) by each implementation this CPU runs, on a buffer
 * in cache and on buffers out of cache, next to memcpy of the same bytes and to the CRC
 * and a memcpy one after the other (what npz generation did before remembering a
 * buffer's CRC: its pass, then the kernel's copy into the page cache).
 *   scripts/bench-crc32 [MiB per buffer]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dlio/crc32.h"

#define NBUF 16 /* buffers cycled through: far more than the caches hold */

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static volatile uint32_t sink;

static double crc_rate(int level, uint8_t *const *b, int nb, size_t n, int reps)
{
	double t = now();

	for (int i = 0; i < reps; i++)
		sink += level < 0 ? dlio_crc32(0, b[i % nb], n)
				  : dlio_crc32_at(level, 0, b[i % nb], n);
	return (double)reps * (double)n / (now() - t) / 1e9;
}

int main(int argc, char **argv)
{
	double mib = argc > 1 ? atof(argv[1]) : 8;
	size_t n = mib >= 1.0 / 1024 && mib <= 1024 ? (size_t)(mib * 1048576) & ~(size_t)63 : 0;
	static const char *const name[] = { "zlib", "PCLMULQDQ 128-bit", "VPCLMULQDQ 256-bit" };
	uint8_t *src[NBUF], *dst[NBUF];
	int reps;
	double t;

	if (!n) {
		fprintf(stderr, "bench-crc32: %s: MiB per buffer must be a number from 1/1024 to "
			"1024\n", argc > 1 ? argv[1] : "");
		return 2;
	}
	reps = (int)(8e9 / (double)n) + 1;
	for (int i = 0; i < NBUF; i++) {
		src[i] = aligned_alloc(4096, n);
		dst[i] = aligned_alloc(4096, n);
		if (!src[i] || !dst[i]) {
			fprintf(stderr, "bench-crc32: out of memory\n");
			return 1;
		}
		for (size_t k = 0; k < n; k++)
			src[i][k] = (uint8_t)(k * 2654435761u >> 13);
		memset(dst[i], 0, n);
	}
	printf("buffers of %zu bytes; GB/s (in cache: one buffer; out of cache: %d in turn)\n", n,
	       NBUF);
	for (int level = 0; level <= dlio_crc32_level(); level++)
		printf("CRC-32 %-20s in cache %6.2f   out of cache %6.2f\n", name[level],
		       crc_rate(level, src, 1, n, level ? reps : reps / 8 + 1),
		       crc_rate(level, src, NBUF, n, level ? reps : reps / 8 + 1));
	t = now();
	for (int i = 0; i < reps; i++)
		memcpy(dst[(i + 3) % NBUF], src[i % NBUF], n);
	printf("memcpy                      out of cache %6.2f\n",
	       (double)reps * (double)n / (now() - t) / 1e9);
	t = now();
	for (int i = 0; i < reps; i++) {
		sink += dlio_crc32(0, src[i % NBUF], n);
		memcpy(dst[(i + 3) % NBUF], src[i % NBUF], n);
	}
	printf("CRC-32, then memcpy         out of cache %6.2f\n",
	       (double)reps * (double)n / (now() - t) / 1e9);
	return 0;
}
