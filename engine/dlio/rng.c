#include "dlio/rng.h"

#include <errno.h>
#include <math.h>

#define MT_M 397
#define MT_MATRIX_A 0x9908b0dfU
#define MT_UPPER 0x80000000U
#define MT_LOWER 0x7fffffffU

int dlio_rng_seed(struct dlio_rng *r, int64_t seed)
{
	uint32_t s;
	int i;

	if (seed < 0 || seed > (int64_t)UINT32_MAX)
		return -EINVAL;
	s = (uint32_t)seed;
	for (i = 0; i < DLIO_MT_N; i++) {
		r->mt[i] = s;
		s = 1812433253U * (s ^ (s >> 30)) + (uint32_t)(i + 1);
	}
	r->pos = DLIO_MT_N;
	r->has_gauss = 0;
	r->gauss = 0.0;
	return 0;
}

static void mt_regenerate(struct dlio_rng *r)
{
	uint32_t y;
	int i;

	for (i = 0; i < DLIO_MT_N - MT_M; i++) {
		y = (r->mt[i] & MT_UPPER) | (r->mt[i + 1] & MT_LOWER);
		r->mt[i] = r->mt[i + MT_M] ^ (y >> 1) ^ (-(y & 1) & MT_MATRIX_A);
	}
	for (; i < DLIO_MT_N - 1; i++) {
		y = (r->mt[i] & MT_UPPER) | (r->mt[i + 1] & MT_LOWER);
		r->mt[i] = r->mt[i + (MT_M - DLIO_MT_N)] ^ (y >> 1) ^ (-(y & 1) & MT_MATRIX_A);
	}
	y = (r->mt[DLIO_MT_N - 1] & MT_UPPER) | (r->mt[0] & MT_LOWER);
	r->mt[DLIO_MT_N - 1] = r->mt[MT_M - 1] ^ (y >> 1) ^ (-(y & 1) & MT_MATRIX_A);
	r->pos = 0;
}

uint32_t dlio_rng_u32(struct dlio_rng *r)
{
	uint32_t y;

	if (r->pos >= DLIO_MT_N)
		mt_regenerate(r);
	y = r->mt[r->pos++];
	y ^= y >> 11;
	y ^= (y << 7) & 0x9d2c5680U;
	y ^= (y << 15) & 0xefc60000U;
	y ^= y >> 18;
	return y;
}

uint64_t dlio_rng_u64(struct dlio_rng *r)
{
	uint64_t hi = dlio_rng_u32(r);

	return (hi << 32) | dlio_rng_u32(r);
}

double dlio_rng_double(struct dlio_rng *r)
{
	uint32_t a = dlio_rng_u32(r) >> 5;
	uint32_t b = dlio_rng_u32(r) >> 6;

	return (a * 67108864.0 + b) / 9007199254740992.0;
}

double dlio_rng_gauss(struct dlio_rng *r)
{
	double x1, x2, r2, f;

	if (r->has_gauss) {
		r->has_gauss = 0;
		return r->gauss;
	}
	do {
		x1 = 2.0 * dlio_rng_double(r) - 1.0;
		x2 = 2.0 * dlio_rng_double(r) - 1.0;
		r2 = x1 * x1 + x2 * x2;
	} while (r2 >= 1.0 || r2 == 0.0);
	f = sqrt(-2.0 * log(r2) / r2);
	r->gauss = f * x1;
	r->has_gauss = 1;
	return f * x2;
}

double dlio_rng_normal(struct dlio_rng *r, double loc, double scale)
{
	return loc + scale * dlio_rng_gauss(r);
}

double dlio_rng_uniform(struct dlio_rng *r, double low, double high)
{
	return low + (high - low) * dlio_rng_double(r);
}

static double standard_exponential(struct dlio_rng *r)
{
	return -log(1.0 - dlio_rng_double(r));
}

double dlio_rng_exponential(struct dlio_rng *r, double scale)
{
	return scale * standard_exponential(r);
}

static double standard_gamma(struct dlio_rng *r, double shape)
{
	double b, c, u, v, x, y;

	if (shape == 1.0)
		return standard_exponential(r);
	if (shape == 0.0)
		return 0.0;
	if (shape < 1.0) {
		for (;;) {
			u = dlio_rng_double(r);
			v = standard_exponential(r);
			if (u <= 1.0 - shape) {
				x = pow(u, 1.0 / shape);
				if (x <= v)
					return x;
			} else {
				y = -log((1.0 - u) / shape);
				x = pow(1.0 - shape + shape * y, 1.0 / shape);
				if (x <= v + y)
					return x;
			}
		}
	}
	b = shape - 1.0 / 3.0;
	c = 1.0 / sqrt(9.0 * b);
	for (;;) {
		do {
			x = dlio_rng_gauss(r);
			v = 1.0 + c * x;
		} while (v <= 0.0);
		v = v * v * v;
		u = dlio_rng_double(r);
		if (u < 1.0 - 0.0331 * (x * x) * (x * x))
			return b * v;
		if (log(u) < 0.5 * x * x + b * (1.0 - v + log(v)))
			return b * v;
	}
}

double dlio_rng_gamma(struct dlio_rng *r, double shape, double scale)
{
	return scale * standard_gamma(r, shape);
}

static double loggam(double x)
{
	static const double a[10] = {8.333333333333333e-02, -2.777777777777778e-03,
				     7.936507936507937e-04, -5.952380952380952e-04,
				     8.417508417508418e-04, -1.917526917526918e-03,
				     6.410256410256410e-03, -2.955065359477124e-02,
				     1.796443723688307e-01, -1.39243221690590e+00};
	double x0, x2, gl, gl0;
	int64_t k, n = 0;

	if (x == 1.0 || x == 2.0)
		return 0.0;
	if (x < 7.0)
		n = (int64_t)(7 - x);
	x0 = x + (double)n;
	x2 = (1.0 / x0) * (1.0 / x0);
	gl0 = a[9];
	for (k = 8; k >= 0; k--) {
		gl0 *= x2;
		gl0 += a[k];
	}
	gl = gl0 / x0 + 0.5 * 1.8378770664093453e+00 + (x0 - 0.5) * log(x0) - x0;
	if (x < 7.0) {
		for (k = 1; k <= n; k++) {
			gl -= log(x0 - 1.0);
			x0 -= 1.0;
		}
	}
	return gl;
}

static int64_t poisson_ptrs(struct dlio_rng *r, double lam)
{
	double slam = sqrt(lam), loglam = log(lam);
	double b = 0.931 + 2.53 * slam;
	double a = -0.059 + 0.02483 * b;
	double invalpha = 1.1239 + 1.1328 / (b - 3.4);
	double vr = 0.9277 - 3.6224 / (b - 2);
	double u, v, us;
	int64_t k;

	for (;;) {
		u = dlio_rng_double(r) - 0.5;
		v = dlio_rng_double(r);
		us = 0.5 - fabs(u);
		k = (int64_t)floor((2 * a / us + b) * u + lam + 0.43);
		if (us >= 0.07 && v <= vr)
			return k;
		if (k < 0 || (us < 0.013 && v > us))
			continue;
		if (log(v) + log(invalpha) - log(a / (us * us) + b) <=
		    -lam + (double)k * loglam - loggam((double)k + 1))
			return k;
	}
}

int64_t dlio_rng_poisson(struct dlio_rng *r, double lam)
{
	double enlam, prod = 1.0;
	int64_t x = 0;

	if (lam >= 10)
		return poisson_ptrs(r, lam);
	if (lam == 0)
		return 0;
	enlam = exp(-lam);
	for (;;) {
		prod *= dlio_rng_double(r);
		if (prod > enlam)
			x++;
		else
			return x;
	}
}

static uint64_t mask_for(uint64_t max)
{
	uint64_t mask = max;

	mask |= mask >> 1;
	mask |= mask >> 2;
	mask |= mask >> 4;
	mask |= mask >> 8;
	mask |= mask >> 16;
	mask |= mask >> 32;
	return mask;
}

uint64_t dlio_rng_interval(struct dlio_rng *r, uint64_t max)
{
	uint64_t mask, v;

	if (max == 0)
		return 0;
	mask = mask_for(max);
	if (max <= UINT32_MAX) {
		while ((v = (dlio_rng_u32(r) & mask)) > max)
			;
	} else {
		while ((v = (dlio_rng_u64(r) & mask)) > max)
			;
	}
	return v;
}

int64_t dlio_rng_randint(struct dlio_rng *r, int64_t low, int64_t high)
{
	uint64_t rng = (uint64_t)high - (uint64_t)low - 1;

	/* numpy draws a whole word when the range is exactly 32 bits, without masking; the
	 * mask is all ones there anyway, so the rejection loop below draws the same value */
	return (int64_t)((uint64_t)low + dlio_rng_interval(r, rng));
}

int dlio_rng_randint_u8(struct dlio_rng *r, int low, int high, uint8_t *out, size_t n)
{
	uint32_t buf = 0, mask, v, rng;
	int bcnt = 0;
	size_t i;

	if (low < 0 || high > 256 || high <= low)
		return -EINVAL;
	rng = (uint32_t)(high - low - 1);
	mask = (uint32_t)mask_for(rng);
	for (i = 0; i < n; i++) {
		if (rng == 0) {
			out[i] = (uint8_t)low;
			continue;
		}
		do {
			if (!bcnt) {
				buf = dlio_rng_u32(r);
				bcnt = 3;
			} else {
				buf >>= 8;
				bcnt--;
			}
			v = (buf & 0xff) & mask;
		} while (v > rng);
		out[i] = (uint8_t)(low + (int)v);
	}
	return 0;
}

void dlio_rng_shuffle_u64(struct dlio_rng *r, uint64_t *v, size_t n)
{
	uint64_t t;
	size_t i, j;

	for (i = n; i-- > 1;) {
		j = (size_t)dlio_rng_interval(r, i);
		t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

void dlio_rng_shuffle_u32(struct dlio_rng *r, uint32_t *v, size_t n)
{
	uint32_t t;
	size_t i, j;

	for (i = n; i-- > 1;) {
		j = (size_t)dlio_rng_interval(r, i);
		t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}
