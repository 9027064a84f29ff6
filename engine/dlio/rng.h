/*
 * numpy's legacy RandomState (np.random.seed / random_sample / normal / randint / shuffle),
 * reproduced bit for bit because DLIO derives file sizes and file orders from it: the
 * generator seeds MT19937 with 10 before drawing sample dimensions, and the iterative
 * sampler reseeds with seed+epoch before shuffling the file list.
 *
 * Only the legacy algorithms are implemented (init_genrand seeding, 53-bit doubles from two
 * words, Marsaglia polar Gaussian with a cached second value, masked rejection for bounded
 * integers); numpy's newer Generator API draws different numbers.
 */
#ifndef FIODLIO_DLIO_RNG_H
#define FIODLIO_DLIO_RNG_H

#include <stddef.h>
#include <stdint.h>

#define DLIO_MT_N 624

struct dlio_rng {
	uint32_t mt[DLIO_MT_N];
	int pos;
	int has_gauss;
	double gauss;
};

/* np.random.seed(seed): seed must be in [0, 2^32-1]; -EINVAL otherwise. Clears the Gaussian
 * cache, as numpy does. */
int dlio_rng_seed(struct dlio_rng *r, int64_t seed);
uint32_t dlio_rng_u32(struct dlio_rng *r);
/* (hi << 32) | lo, both from consecutive draws: numpy's mt19937_next64 */
uint64_t dlio_rng_u64(struct dlio_rng *r);
/* random_sample(): [0, 1) with 53 random bits */
double dlio_rng_double(struct dlio_rng *r);
/* standard_normal() of the legacy polar method */
double dlio_rng_gauss(struct dlio_rng *r);
double dlio_rng_normal(struct dlio_rng *r, double loc, double scale);
/* uniform(low, high) = low + (high-low)*random_sample() */
double dlio_rng_uniform(struct dlio_rng *r, double low, double high);
/* legacy exponential(scale) */
double dlio_rng_exponential(struct dlio_rng *r, double scale);
/* legacy standard_gamma(shape)*scale (Marsaglia-Tsang with legacy gauss) */
double dlio_rng_gamma(struct dlio_rng *r, double shape, double scale);
/* legacy poisson(lam) */
int64_t dlio_rng_poisson(struct dlio_rng *r, double lam);

/* Uniform integer in [0, max] by masked rejection: 32-bit draws when max fits in 32 bits,
 * 64-bit draws otherwise. This is numpy's random_interval (used by shuffle) and also what
 * legacy randint(low, high) does for the default int64 dtype, with max = high-low-1. */
uint64_t dlio_rng_interval(struct dlio_rng *r, uint64_t max);
/* randint(low, high) with numpy's default int64 dtype; high > low required */
int64_t dlio_rng_randint(struct dlio_rng *r, int64_t low, int64_t high);
/* randint(low, high, size=n, dtype=np.uint8): numpy buffers one 32-bit word per four bytes,
 * so this differs from n scalar randint calls. 0 <= low < high <= 256. */
int dlio_rng_randint_u8(struct dlio_rng *r, int low, int high, uint8_t *out, size_t n);

/* np.random.shuffle of a 1-d sequence: Fisher-Yates from the end with random_interval. */
void dlio_rng_shuffle_u64(struct dlio_rng *r, uint64_t *v, size_t n);
void dlio_rng_shuffle_u32(struct dlio_rng *r, uint32_t *v, size_t n);

#endif
