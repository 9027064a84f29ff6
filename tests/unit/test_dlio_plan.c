#include "dlio_test_util.h"

#include <errno.h>

#include "dlio/config.h"
#include "dlio/geometry.h"
#include "dlio/plan.h"

static struct dlio_config cfg;
static struct dlio_geom g;
static char err[1024];
static char *vec;

static int setup(void **state)
{
	(void)state;
	vec = dlio_test_slurp("sample_assignment_examples.txt");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(vec);
	return 0;
}

static void build(const char *yaml, enum dlio_flavour fl, int64_t comm)
{
	struct dlio_load_opts o = {.flavour = fl};

	if (dlio_config_load_buf(&cfg, "t.yaml", yaml, strlen(yaml), &o, NULL, err, sizeof(err)))
		fail_msg("%s", err);
	if (dlio_geom_init(&g, &cfg, comm, DLIO_TRIM_NONE, err, sizeof(err)))
		fail_msg("%s", err);
}

/* The text after label, up to the end of its line, within the section starting at sec. */
static const char *section_line(const char *sec, const char *label)
{
	const char *s = dlio_test_line(vec, sec);
	const char *p = strstr(s, label);

	if (!p)
		fail_msg("'%s' not found under '%s'", label, sec);
	return p + strlen(label);
}

/* example A: "worker 0 batches: 0,1 | 4,5" against the plan's worker stream */
static void test_example_a_index_sampler(void **state)
{
	static const char *yaml = "framework: pytorch\n"
				  "dataset:\n  format: npz\n  num_files_train: 16\n"
				  "reader:\n  data_loader: pytorch\n  batch_size: 2\n"
				  "  read_threads: 2\n  file_shuffle: seed\n  sample_shuffle: seed\n";
	const char *sec = "## Example A";
	int64_t r, w;

	(void)state;
	build(yaml, DLIO_FLAVOUR_V20, 2);
	for (r = 0; r < 2; r++) {
		struct dlio_plan p;
		char label[64];
		const char *order, *rank_line;
		int64_t step, n = 0;

		assert_int_equal(dlio_plan_init(&p, &g, DLIO_SPLIT_TRAIN, r, err, sizeof(err)), 0);
		assert_int_equal(p.kind, DLIO_PLAN_INDEX);
		/* rank order: every sample of the rank, in step order */
		snprintf(label, sizeof(label), "rank %lld sample order: ", (long long)r);
		order = section_line(sec, label);
		rank_line = order;
		for (step = 0;; step++) {
			struct dlio_plan_iter it;
			struct dlio_sample s;
			int64_t wk, b, i;

			if (dlio_plan_step_source(&p, step, &wk, &b))
				break;
			dlio_plan_iter_init(&it, &p, wk);
			for (i = 0; i < b * p.batch; i++)
				assert_true(dlio_plan_iter_next(&it, &s));
			for (i = 0; i < p.batch; i++) {
				long long gl;
				char name[64];
				char fname[64];
				int used;

				assert_true(dlio_plan_iter_next(&it, &s));
				assert_int_equal(sscanf(order, "%lld:%63[^,\n]%n", &gl, name, &used), 2);
				order += used;
				if (*order == ',')
					order += 2;
				assert_int_equal(s.label, gl);
				assert_int_equal(dlio_geom_file_relpath(&g, DLIO_SPLIT_TRAIN, s.file,
									fname, sizeof(fname)) > 0,
						 1);
				assert_string_equal(fname + 6, name);
				assert_int_equal(s.in_file, 0);
				n++;
			}
		}
		assert_int_equal(n, 8);
		for (w = 0; w < 2; w++) {
			struct dlio_plan_iter it;
			struct dlio_sample s;
			const char *b;
			char *end;

			snprintf(label, sizeof(label), "worker %lld batches: ", (long long)w);
			b = strstr(rank_line, label) + strlen(label);
			dlio_plan_iter_init(&it, &p, w);
			while (dlio_plan_iter_next(&it, &s)) {
				while (*b == ',' || *b == ' ' || *b == '|')
					b++;
				assert_int_equal(s.label, strtoll(b, &end, 10));
				b = end;
			}
			assert_true(*b == '\n');
			assert_int_equal(dlio_plan_worker_batches(&p, w), 2);
		}
		assert_int_equal(dlio_plan_prefetch_batches(&p), 2);
		dlio_plan_free(&p);
	}
}

/* "rank R thread T: g3->11[0], g7->10[0], ..." */
static void check_iter_line(const struct dlio_plan *p, const char *line, int64_t thread)
{
	struct dlio_plan_iter it;
	struct dlio_sample s;
	int n = 0;

	dlio_plan_iter_init(&it, p, thread);
	while (dlio_plan_iter_next(&it, &s)) {
		long long gl, f, inf;
		int used;

		assert_int_equal(sscanf(line, " g%lld->%lld[%lld]%n", &gl, &f, &inf, &used), 3);
		line += used;
		if (*line == ',')
			line++;
		assert_int_equal(s.label, gl);
		assert_int_equal(s.file, f);
		assert_int_equal(s.in_file, inf);
		n++;
	}
	assert_true(*line == '\n');
	assert_true(n > 0);
}

static void test_example_b_iterative_shuffled(void **state)
{
	static const char *yaml = "framework: tensorflow\n"
				  "dataset:\n  format: npz\n  num_files_train: 16\n"
				  "reader:\n  data_loader: tensorflow\n  batch_size: 2\n"
				  "  read_threads: 2\n  file_shuffle: seed\n  sample_shuffle: seed\n";
	const char *sec = "## Example B";
	struct dlio_plan p[2];
	int64_t e, r, t, i;

	(void)state;
	build(yaml, DLIO_FLAVOUR_HEAD, 2);
	for (r = 0; r < 2; r++) {
		assert_int_equal(dlio_plan_init(&p[r], &g, DLIO_SPLIT_TRAIN, r, err, sizeof(err)), 0);
		assert_int_equal(p[r].kind, DLIO_PLAN_ITERATIVE);
	}
	for (e = 1; e <= 2; e++) {
		char label[64];
		const char *fl;
		char *end;

		snprintf(label, sizeof(label), "epoch %lld: file list after in-place shuffle",
			 (long long)e);
		fl = strstr(section_line(sec, label), ": ") + 2;
		for (r = 0; r < 2; r++)
			assert_int_equal(dlio_plan_set_epoch(&p[r], e, err, sizeof(err)), 0);
		for (i = 0; i < 16; i++) {
			assert_int_equal(dlio_plan_file_at(&p[0], i), strtol(fl, &end, 10));
			fl = end;
		}
		for (r = 0; r < 2; r++) {
			for (t = 0; t < 2; t++) {
				const char *ep = strstr(dlio_test_line(vec, sec), label);

				snprintf(label, sizeof(label), "rank %lld thread %lld:", (long long)r,
					 (long long)t);
				check_iter_line(&p[r], strstr(ep, label) + strlen(label), t);
				snprintf(label, sizeof(label),
					 "epoch %lld: file list after in-place shuffle", (long long)e);
			}
		}
	}
	/* shuffles accumulate: no going back */
	assert_int_equal(dlio_plan_set_epoch(&p[0], 1, err, sizeof(err)), -EINVAL);
	/* interleave: thread 0 batch 0, thread 1 batch 0, thread 0 batch 1, ... */
	{
		int64_t w, b;

		assert_int_equal(dlio_plan_worker_batches(&p[0], 0), 2);
		assert_int_equal(dlio_plan_step_source(&p[0], 3, &w, &b), 0);
		assert_int_equal(w, 1);
		assert_int_equal(b, 1);
		assert_int_equal(dlio_plan_step_source(&p[0], 4, &w, &b), -ERANGE);
	}
	dlio_plan_free(&p[0]);
	dlio_plan_free(&p[1]);
}

static void test_example_c_same_files_every_rank(void **state)
{
	static const char *yaml = "framework: tensorflow\n"
				  "dataset:\n  format: npz\n  num_files_train: 4\n"
				  "  num_samples_per_file: 4\n"
				  "reader:\n  data_loader: tensorflow\n  batch_size: 2\n";
	const char *sec = "## Example C";
	int fl;

	(void)state;
	for (fl = 0; fl < 2; fl++) {
		int64_t r;

		build(yaml, fl ? DLIO_FLAVOUR_HEAD : DLIO_FLAVOUR_V20, 2);
		for (r = 0; r < 2; r++) {
			struct dlio_plan p;
			char label[32];

			assert_int_equal(dlio_plan_init(&p, &g, DLIO_SPLIT_TRAIN, r, err, sizeof(err)),
					 0);
			assert_null(p.order);
			snprintf(label, sizeof(label), "rank %lld:", (long long)r);
			check_iter_line(&p, section_line(sec, label), 0);
			dlio_plan_free(&p);
		}
	}
}

static void test_index_uneven_and_drop_last(void **state)
{
	/* 10 samples over 3 ranks: spp 4, ranks get 4, 4, 2; batch 3 drops the tail */
	static const char *yaml = "framework: pytorch\n"
				  "dataset:\n  format: hdf5\n  num_files_train: 5\n"
				  "  num_samples_per_file: 2\n"
				  "reader:\n  data_loader: pytorch\n  batch_size: 3\n"
				  "  read_threads: 0\n  prefetch_size: 5\n";
	struct dlio_plan p;
	struct dlio_plan_iter it;
	struct dlio_sample s;
	int64_t want_label[3] = {4, 5, 6}, i = 0;

	(void)state;
	build(yaml, DLIO_FLAVOUR_V20, 3);
	assert_int_equal(dlio_plan_init(&p, &g, DLIO_SPLIT_TRAIN, 1, err, sizeof(err)), 0);
	assert_int_equal(p.spp, 4);
	assert_int_equal(p.start, 4);
	assert_int_equal(p.count, 4);
	assert_true(p.main_process);
	assert_int_equal(dlio_plan_prefetch_batches(&p), 0);
	dlio_plan_iter_init(&it, &p, 0);
	while (dlio_plan_iter_next(&it, &s)) {
		assert_int_equal(s.label, want_label[i]);
		assert_int_equal(s.file, want_label[i] / 2);
		assert_int_equal(s.in_file, want_label[i] % 2);
		i++;
	}
	assert_int_equal(i, 3);
	dlio_plan_free(&p);
	assert_int_equal(dlio_plan_init(&p, &g, DLIO_SPLIT_TRAIN, 2, err, sizeof(err)), 0);
	assert_int_equal(p.count, 2);
	assert_int_equal(dlio_plan_worker_batches(&p, 0), 0);
	dlio_plan_free(&p);
	assert_int_equal(dlio_plan_init(&p, &g, DLIO_SPLIT_TRAIN, 3, err, sizeof(err)), -EINVAL);
}

static void test_prefetch_factor(void **state)
{
	static const char *yaml = "framework: pytorch\ndataset:\n  format: npz\n"
				  "reader:\n  data_loader: pytorch\n  read_threads: 4\n"
				  "  prefetch_size: 5\n";
	struct dlio_plan p;

	(void)state;
	build(yaml, DLIO_FLAVOUR_V20, 1);
	assert_int_equal(dlio_plan_init(&p, &g, DLIO_SPLIT_TRAIN, 0, err, sizeof(err)), 0);
	/* ceil(5/4) = 2 per worker */
	assert_int_equal(dlio_plan_prefetch_batches(&p), 8);
	dlio_plan_free(&p);
}

static void test_tfrecord_shard_frozen_order(void **state)
{
	static const char *yaml = "dataset:\n  format: tfrecord\n  num_files_train: 16\n"
				  "reader:\n  data_loader: tensorflow\n  batch_size: 2\n"
				  "  read_threads: 2\n  file_shuffle: seed\n";
	/* the epoch-1 list of example B, positions 0, 2, 4, ... */
	static const int64_t want[8] = {11, 13, 6, 15, 4, 9, 7, 12};
	struct dlio_plan p;
	int64_t k;

	(void)state;
	build(yaml, DLIO_FLAVOUR_V20, 2);
	assert_int_equal(dlio_plan_init(&p, &g, DLIO_SPLIT_TRAIN, 0, err, sizeof(err)), 0);
	assert_int_equal(p.kind, DLIO_PLAN_TFRECORD);
	assert_int_equal(dlio_plan_tfr_nfiles(&p), 8);
	assert_false(dlio_plan_tfr_record_sharded(&p));
	for (k = 0; k < 8; k++)
		assert_int_equal(dlio_plan_tfr_file(&p, k), want[k]);
	assert_int_equal(dlio_plan_set_epoch(&p, 3, err, sizeof(err)), 0);
	for (k = 0; k < 8; k++)
		assert_int_equal(dlio_plan_tfr_file(&p, k), want[k]);
	assert_int_equal(dlio_plan_prefetch_batches(&p), 2);
	dlio_plan_free(&p);
	/* fewer files than ranks: every rank streams all files */
	build(yaml, DLIO_FLAVOUR_V20, 32);
	assert_int_equal(dlio_plan_init(&p, &g, DLIO_SPLIT_TRAIN, 5, err, sizeof(err)), 0);
	assert_int_equal(dlio_plan_tfr_nfiles(&p), 16);
	assert_true(dlio_plan_tfr_record_sharded(&p));
	assert_int_equal(dlio_plan_tfr_file(&p, 0), 11);
	dlio_plan_free(&p);
}

static void test_eval_order_follows_train_shuffle(void **state)
{
	/* rng_mt19937_seed10.txt: seed(124); shuffle(train 10); shuffle(eval 4) */
	static const char *yaml = "dataset:\n  format: npz\n  num_files_train: 10\n"
				  "  num_files_eval: 4\n"
				  "reader:\n  data_loader: tensorflow\n  file_shuffle: random\n"
				  "train:\n  seed: 123\n";
	static const int64_t want_train[10] = {6, 8, 3, 5, 4, 0, 9, 2, 7, 1};
	static const int64_t want_eval[4] = {2, 0, 3, 1};
	struct dlio_plan p;
	int64_t i;

	(void)state;
	build(yaml, DLIO_FLAVOUR_V20, 1);
	assert_int_equal(dlio_plan_init(&p, &g, DLIO_SPLIT_EVAL, 0, err, sizeof(err)), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(dlio_plan_file_at(&p, i), want_eval[i]);
	dlio_plan_free(&p);
	assert_int_equal(dlio_plan_init(&p, &g, DLIO_SPLIT_TRAIN, 0, err, sizeof(err)), 0);
	for (i = 0; i < 10; i++)
		assert_int_equal(dlio_plan_file_at(&p, i), want_train[i]);
	dlio_plan_free(&p);
}

static void test_iterative_errors(void **state)
{
	static const char *yaml = "dataset:\n  format: npz\n  num_files_train: 2\n"
				  "reader:\n  data_loader: tensorflow\n  read_threads: 4\n";
	struct dlio_plan p;

	(void)state;
	build(yaml, DLIO_FLAVOUR_V20, 1);
	assert_int_equal(dlio_plan_init(&p, &g, DLIO_SPLIT_TRAIN, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "divides by zero"));
	build("dataset:\n  format: npz\n", DLIO_FLAVOUR_V20, 1);
	assert_int_equal(dlio_plan_init(&p, &g, DLIO_SPLIT_TRAIN, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no sampler"));
}

static void test_cosmoflow_scale_is_lazy(void **state)
{
	struct dlio_load_opts o = {.flavour = DLIO_FLAVOUR_V20};
	struct dlio_plan p;
	struct dlio_plan_iter it;
	struct dlio_sample s;
	int64_t n = 0, w, b;

	(void)state;
	if (dlio_config_load(&cfg, dlio_test_path("workloads/cosmoflow_a100.yaml"), &o, NULL, err,
			     sizeof(err)))
		fail_msg("%s", err);
	/* pretend npz so the iterative sampler runs over 524288 files */
	strcpy(err, "");
	cfg.dataset.format = DLIO_FMT_NPZ;
	assert_int_equal(dlio_geom_init(&g, &cfg, 8, DLIO_TRIM_NONE, err, sizeof(err)), 0);
	assert_int_equal(dlio_plan_init(&p, &g, DLIO_SPLIT_TRAIN, 7, err, sizeof(err)), 0);
	assert_int_equal(p.count, 65536);
	assert_int_equal(p.spt, 16384);
	dlio_plan_iter_init(&it, &p, 3);
	while (dlio_plan_iter_next(&it, &s)) {
		assert_true(s.file >= 0 && s.file < 524288);
		n++;
	}
	assert_int_equal(n, 16384);
	assert_int_equal(dlio_plan_step_source(&p, 65535, &w, &b), 0);
	assert_int_equal(w, 3);
	assert_int_equal(b, 16383);
	assert_int_equal(dlio_plan_set_epoch(&p, 2, err, sizeof(err)), 0);
	dlio_plan_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_a_index_sampler),
		cmocka_unit_test(test_example_b_iterative_shuffled),
		cmocka_unit_test(test_example_c_same_files_every_rank),
		cmocka_unit_test(test_index_uneven_and_drop_last),
		cmocka_unit_test(test_prefetch_factor),
		cmocka_unit_test(test_tfrecord_shard_frozen_order),
		cmocka_unit_test(test_eval_order_follows_train_shuffle),
		cmocka_unit_test(test_iterative_errors),
		cmocka_unit_test(test_cosmoflow_scale_is_lazy),
	};

	return cmocka_run_group_tests_name("dlio_plan", tests, setup, teardown);
}
