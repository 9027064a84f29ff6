#include "dlio_test_util.h"

#include <errno.h>
#include <math.h>

#include "dlio/rng.h"

static char *vec_seed10;
static char *vec_extra;

static int setup(void **state)
{
	(void)state;
	vec_seed10 = dlio_test_slurp("rng_mt19937_seed10.txt");
	vec_extra = dlio_test_slurp("rng_numpy_extra.txt");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(vec_seed10);
	free(vec_extra);
	return 0;
}

static void test_u32_seed10(void **state)
{
	const char *p = dlio_test_line(vec_seed10, "first_uint32:");
	struct dlio_rng r;
	char *end;
	int i;

	(void)state;
	assert_int_equal(dlio_rng_seed(&r, 10), 0);
	for (i = 0; i < 8; i++) {
		unsigned long want = strtoul(p, &end, 10);

		assert_ptr_not_equal(end, p);
		p = end;
		assert_int_equal(dlio_rng_u32(&r), want);
	}
}

/* doubles compare exactly: the vectors are repr() output, which round-trips */
static void check_doubles(const char *p, int n, double (*draw)(struct dlio_rng *),
			  struct dlio_rng *r)
{
	char *end;
	int i;

	for (i = 0; i < n; i++) {
		double want = strtod(p, &end);

		assert_ptr_not_equal(end, p);
		p = end;
		assert_true(draw(r) == want);
	}
}

static void test_double_seed10(void **state)
{
	struct dlio_rng r;

	(void)state;
	dlio_rng_seed(&r, 10);
	check_doubles(dlio_test_line(vec_seed10, "first_random_double(53-bit):"), 4,
		      dlio_rng_double, &r);
}

static void test_gauss_seed10(void **state)
{
	struct dlio_rng r;

	(void)state;
	dlio_rng_seed(&r, 10);
	check_doubles(dlio_test_line(vec_seed10, "first_standard_normal(legacy polar gauss):"),
		      8, dlio_rng_gauss, &r);
}

static void test_reseed_clears_gauss_cache(void **state)
{
	const char *p = dlio_test_line(vec_extra, "reseed_clears_gauss:");
	struct dlio_rng r;

	(void)state;
	dlio_rng_seed(&r, 10);
	dlio_rng_gauss(&r);
	assert_true(r.has_gauss);
	dlio_rng_seed(&r, 10);
	assert_true(dlio_rng_gauss(&r) == strtod(p, NULL));
}

static void test_seed_range(void **state)
{
	const char *p = dlio_test_line(vec_extra, "seed_max_u32:");
	struct dlio_rng r;
	char *end;

	(void)state;
	assert_int_equal(dlio_rng_seed(&r, -1), -EINVAL);
	assert_int_equal(dlio_rng_seed(&r, 4294967296LL), -EINVAL);
	assert_int_equal(dlio_rng_seed(&r, 4294967295LL), 0);
	assert_int_equal(dlio_rng_randint(&r, 0, 4294967296LL), (int64_t)strtoull(p, &end, 10));
	assert_int_equal(dlio_rng_randint(&r, 0, 4294967296LL), (int64_t)strtoull(end, NULL, 10));
}

static void check_shuffle20(const char *label, int seed)
{
	const char *p = dlio_test_line(vec_seed10, label);
	struct dlio_rng r;
	uint64_t v[20];
	char *end;
	int i;

	for (i = 0; i < 20; i++)
		v[i] = (uint64_t)i;
	dlio_rng_seed(&r, seed);
	dlio_rng_shuffle_u64(&r, v, 20);
	for (i = 0; i < 20; i++) {
		assert_int_equal(v[i], strtoul(p, &end, 10));
		p = end;
	}
}

static void test_shuffle_seed124_125(void **state)
{
	(void)state;
	check_shuffle20("shuffle(arange(20)) after seed(124):", 124);
	check_shuffle20("shuffle(arange(20)) after seed(125):", 125);
}

static void test_shuffle_train_then_eval_one_stream(void **state)
{
	const char *p = dlio_test_line(vec_seed10, "seed(124); shuffle(train=list(range(10)));");
	uint32_t train[10], eval[4];
	struct dlio_rng r;
	char *end;
	int i;

	(void)state;
	for (i = 0; i < 10; i++)
		train[i] = (uint32_t)i;
	for (i = 0; i < 4; i++)
		eval[i] = (uint32_t)i;
	dlio_rng_seed(&r, 124);
	dlio_rng_shuffle_u32(&r, train, 10);
	dlio_rng_shuffle_u32(&r, eval, 4);
	p = strstr(p, "train:") + 6;
	for (i = 0; i < 10; i++) {
		assert_int_equal(train[i], strtoul(p, &end, 10));
		p = end;
	}
	p = strstr(p, "eval:") + 5;
	for (i = 0; i < 4; i++) {
		assert_int_equal(eval[i], strtoul(p, &end, 10));
		p = end;
	}
}

static void test_shuffle_1000(void **state)
{
	const char *first = dlio_test_line(vec_extra, "seed7_shuffle1000_first16:");
	const char *last = dlio_test_line(vec_extra, "seed7_shuffle1000_last4:");
	struct dlio_rng r;
	uint64_t v[1000];
	char *end;
	int i;

	(void)state;
	for (i = 0; i < 1000; i++)
		v[i] = (uint64_t)i;
	dlio_rng_seed(&r, 7);
	dlio_rng_shuffle_u64(&r, v, 1000);
	for (i = 0; i < 16; i++) {
		assert_int_equal(v[i], strtoul(first, &end, 10));
		first = end;
	}
	for (i = 996; i < 1000; i++) {
		assert_int_equal(v[i], strtoul(last, &end, 10));
		last = end;
	}
}

static void test_randint(void **state)
{
	const char *p;
	struct dlio_rng r;
	uint8_t b[16];
	char *end;
	int i;

	(void)state;
	p = dlio_test_line(vec_extra, "seed7_randint_1000:");
	dlio_rng_seed(&r, 7);
	for (i = 0; i < 8; i++) {
		assert_int_equal(dlio_rng_randint(&r, 0, 1000), strtol(p, &end, 10));
		p = end;
	}
	p = dlio_test_line(vec_extra, "seed7_randint_5e9:");
	dlio_rng_seed(&r, 7);
	for (i = 0; i < 8; i++) {
		assert_int_equal(dlio_rng_randint(&r, 0, 5000000000LL), strtoll(p, &end, 10));
		p = end;
	}
	p = dlio_test_line(vec_extra, "seed7_randint_u8_255:");
	dlio_rng_seed(&r, 7);
	assert_int_equal(dlio_rng_randint_u8(&r, 0, 255, b, 16), 0);
	for (i = 0; i < 16; i++) {
		assert_int_equal(b[i], strtol(p, &end, 10));
		p = end;
	}
	assert_int_equal(dlio_rng_randint_u8(&r, 3, 3, b, 1), -EINVAL);
}

static double p1, p2;
static double d_gamma(struct dlio_rng *r) { return dlio_rng_gamma(r, p1, p2); }
static double d_exp(struct dlio_rng *r) { return dlio_rng_exponential(r, p1); }
static double d_unif(struct dlio_rng *r) { return dlio_rng_uniform(r, p1, p2); }

static void test_distributions(void **state)
{
	struct dlio_rng r;
	const char *p;
	char *end;
	int i;

	(void)state;
	dlio_rng_seed(&r, 7);
	p1 = 2.5, p2 = 3.0;
	check_doubles(dlio_test_line(vec_extra, "seed7_gamma_2.5_x3:"), 6, d_gamma, &r);
	dlio_rng_seed(&r, 7);
	p1 = 0.5, p2 = 2.0;
	check_doubles(dlio_test_line(vec_extra, "seed7_gamma_0.5_x2:"), 6, d_gamma, &r);
	dlio_rng_seed(&r, 7);
	p1 = 1.5;
	check_doubles(dlio_test_line(vec_extra, "seed7_exponential_1.5:"), 6, d_exp, &r);
	dlio_rng_seed(&r, 7);
	p1 = 2, p2 = 5;
	check_doubles(dlio_test_line(vec_extra, "seed7_uniform_2_5:"), 6, d_unif, &r);
	p = dlio_test_line(vec_extra, "seed7_poisson_3.5:");
	dlio_rng_seed(&r, 7);
	for (i = 0; i < 8; i++) {
		assert_int_equal(dlio_rng_poisson(&r, 3.5), strtol(p, &end, 10));
		p = end;
	}
	p = dlio_test_line(vec_extra, "seed7_poisson_42:");
	dlio_rng_seed(&r, 7);
	for (i = 0; i < 8; i++) {
		assert_int_equal(dlio_rng_poisson(&r, 42.0), strtol(p, &end, 10));
		p = end;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u32_seed10),
		cmocka_unit_test(test_double_seed10),
		cmocka_unit_test(test_gauss_seed10),
		cmocka_unit_test(test_reseed_clears_gauss_cache),
		cmocka_unit_test(test_seed_range),
		cmocka_unit_test(test_shuffle_seed124_125),
		cmocka_unit_test(test_shuffle_train_then_eval_one_stream),
		cmocka_unit_test(test_shuffle_1000),
		cmocka_unit_test(test_randint),
		cmocka_unit_test(test_distributions),
	};

	return cmocka_run_group_tests_name("dlio_rng", tests, setup, teardown);
}
