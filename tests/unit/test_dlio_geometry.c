#include "dlio_test_util.h"

#include <errno.h>

#include "dlio/config.h"
#include "dlio/geometry.h"

static struct dlio_config cfg;
static struct dlio_geom g;
static char err[1024];

static void load(const char *wl, enum dlio_flavour fl, const char *const *ovr, size_t novr)
{
	char rel[256];
	struct dlio_load_opts o = {.flavour = fl, .overrides = ovr, .noverrides = novr};

	snprintf(rel, sizeof(rel), "workloads/%s", wl);
	if (dlio_config_load(&cfg, dlio_test_path(rel), &o, NULL, err, sizeof(err)))
		fail_msg("%s", err);
}

static void geom(int64_t comm, enum dlio_trim trim)
{
	if (dlio_geom_init(&g, &cfg, comm, trim, err, sizeof(err)))
		fail_msg("%s", err);
}

static void test_unet3d_all_168_files(void **state)
{
	char *csv = dlio_test_slurp("unet3d_npz_files.csv");
	char *line = strstr(csv, "\nindex,filename"), *save = NULL;
	struct dlio_dims_iter it;
	int64_t total = 0, rows = 0;

	(void)state;
	load("unet3d_a100.yaml", DLIO_FLAVOUR_V20, NULL, 0);
	geom(8, DLIO_TRIM_NONE);
	assert_int_equal(g.dim, 12107);
	assert_true(g.dim_stdev == 2822.204974094854);
	dlio_dims_iter_init(&it, &g);
	line = strtok_r(strchr(line + 1, '\n'), "\n", &save);
	for (; line; line = strtok_r(NULL, "\n", &save)) {
		long long idx, d1, d2, x, sz;
		char name[64], rel[128];
		int64_t a, b;
		struct dlio_file_size fs;

		if (line[0] == '#')
			continue;
		assert_int_equal(sscanf(line, "%lld,%63[^,],%lld,%lld,%lld,%lld", &idx, name, &d1, &d2,
					&x, &sz),
				 6);
		assert_int_equal(idx, rows);
		dlio_dims_iter_next(&it, &a, &b);
		assert_int_equal(a, d1);
		assert_int_equal(b, d2);
		assert_int_equal(dlio_geom_file_size(&g, a, b, &fs), 0);
		assert_int_equal(fs.sample_bytes, x);
		assert_int_equal(fs.size, sz);
		assert_true(fs.exact);
		assert_int_equal(dlio_geom_file_relpath(&g, DLIO_SPLIT_TRAIN, idx, rel, sizeof(rel)),
				 (int)strlen("train/") + (int)strlen(name));
		assert_string_equal(rel + 6, name);
		total += fs.size;
		rows++;
	}
	assert_int_equal(rows, 168);
	/* WORKLOADS.md: the exact unet3d dataset */
	assert_int_equal(total, 25286065583LL);
	{
		int64_t a, b;

		dlio_geom_file_dims(&g, 1, &a, &b);
		assert_int_equal(a, 7745);
		assert_int_equal(b, 12083);
	}
	free(csv);
}

static void test_cosmoflow_first_2048_and_all(void **state)
{
	char *csv = dlio_test_slurp("cosmoflow_tfrecord_files_first2048.csv");
	const char *tr = dlio_test_line(csv, "# all 524288 files:");
	char *line, *save = NULL;
	struct dlio_dims_iter it;
	struct dlio_config head;
	struct dlio_geom gh;
	long long want_sum, want_min, want_max, want_sum_head;
	int64_t i, rows = 0, sum = 0, mn = INT64_MAX, mx = 0, sum_head = 0;

	(void)state;
	load("cosmoflow_a100.yaml", DLIO_FLAVOUR_HEAD, NULL, 0);
	head = cfg;
	assert_int_equal(dlio_geom_init(&gh, &head, 8, DLIO_TRIM_NONE, err, sizeof(err)), 0);
	load("cosmoflow_a100.yaml", DLIO_FLAVOUR_V20, NULL, 0);
	geom(8, DLIO_TRIM_NONE);
	assert_int_equal(g.dim, 1681);
	assert_true(g.dim_stdev == 21.200666493917847);
	dlio_dims_iter_init(&it, &g);
	line = strtok_r(strstr(csv, "\nindex,d1") + 1, "\n", &save);
	for (line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		long long idx, d1, d2, img, fh, f2;
		struct dlio_file_size fs;
		int64_t a, b;

		if (line[0] == '#')
			continue;
		assert_int_equal(sscanf(line, "%lld,%lld,%lld,%lld,%lld,%lld", &idx, &d1, &d2, &img,
					&fh, &f2),
				 6);
		assert_int_equal(idx, rows++);
		dlio_dims_iter_next(&it, &a, &b);
		assert_int_equal(a, d1);
		assert_int_equal(b, d2);
		assert_int_equal(dlio_geom_file_size(&g, a, b, &fs), 0);
		assert_int_equal(fs.sample_bytes, img);
		assert_int_equal(fs.size, f2);
		assert_int_equal(dlio_geom_file_size(&gh, a, b, &fs), 0);
		assert_int_equal(fs.size, fh);
	}
	assert_int_equal(rows, 2048);
	assert_int_equal(sscanf(tr, " sum_image_bytes=%lld min=%lld max=%lld sum_file_bytes_HEAD=%lld",
				&want_sum, &want_min, &want_max, &want_sum_head),
			 4);
	dlio_dims_iter_init(&it, &g);
	for (i = 0; i < 524288; i++) {
		struct dlio_file_size fs;
		int64_t a, b;

		dlio_dims_iter_next(&it, &a, &b);
		dlio_geom_file_size(&gh, a, b, &fs);
		sum += fs.sample_bytes;
		sum_head += fs.size;
		if (fs.sample_bytes < mn)
			mn = fs.sample_bytes;
		if (fs.sample_bytes > mx)
			mx = fs.sample_bytes;
	}
	assert_int_equal(sum, want_sum);
	assert_int_equal(mn, want_min);
	assert_int_equal(mx, want_max);
	assert_int_equal(sum_head, want_sum_head);
	free(csv);
}

static void test_tfrecord_sizes(void **state)
{
	struct dlio_file_size fs;
	int64_t n;

	(void)state;
	/* SPEC 4.4.4 worked examples */
	assert_int_equal(dlio_tfrecord_example_len(114244, 114244), 114288);
	assert_int_equal(dlio_tfrecord_example_len(2825761, 2825761), 2825811);
	load("resnet50_a100.yaml", DLIO_FLAVOUR_HEAD, NULL, 0);
	geom(8, DLIO_TRIM_NONE);
	assert_int_equal(g.dim, 338);
	assert_int_equal(dlio_geom_file_size(&g, 338, 338, &fs), 0);
	assert_int_equal(fs.sample_bytes, 114244);
	assert_int_equal(fs.size, 142994304LL);
	assert_int_equal(fs.naux, 1);
	load("resnet50_a100.yaml", DLIO_FLAVOUR_V20, NULL, 0);
	geom(8, DLIO_TRIM_NONE);
	assert_int_equal(dlio_geom_file_size(&g, 338, 338, &fs), 0);
	assert_int_equal(fs.size, 1251LL * 114303);
	load("bert_v100.yaml", DLIO_FLAVOUR_HEAD, NULL, 0);
	geom(8, DLIO_TRIM_NONE);
	assert_int_equal(dlio_geom_file_size(&g, 50, 50, &fs), 0);
	assert_int_equal(fs.size, 800760728LL);
	/* the .idx side file: one "<offset> <len>\n" line per record, checked by brute force */
	for (n = 1; n < 3000; n += 997) {
		int64_t k, want = 0;
		char line[64];

		for (k = 0; k < n; k++)
			want += snprintf(line, sizeof(line), "%lld %lld\n", (long long)(k * 2554),
					 2554LL);
		assert_int_equal(dlio_tfrecord_index_len(n, 2554), want);
	}
	{
		int64_t k, want = 0;
		char line[64];

		for (k = 0; k < 313532; k++)
			want += snprintf(line, sizeof(line), "%lld %lld\n", (long long)(k * 2554),
					 2554LL);
		assert_int_equal(fs.aux_size, want);
	}
}

static void test_npy_headers(void **state)
{
	/* lengths numpy 1.24 writes, including the 64-byte pad added when already aligned */
	int64_t s1[3] = {15865, 14125, 1}, s2[3] = {7, 9000000000000000000LL, 9000000000000000000LL};
	int64_t s3[3] = {7, 900000000000000000LL, 9000000000000000000LL}, s4[1] = {313532};
	struct dlio_file_size fs;

	(void)state;
	assert_int_equal(dlio_npy_header_len("|u1", s1, 3), 128);
	assert_int_equal(dlio_npy_header_len("|u1", s2, 3), 192);
	assert_int_equal(dlio_npy_header_len("|u1", s3, 3), 192);
	assert_int_equal(dlio_npy_header_len("<i8", s4, 1), 128);
	load("unet3d_v100_s3.yaml", DLIO_FLAVOUR_V20, NULL, 0);
	geom(8, DLIO_TRIM_NONE);
	assert_int_equal(dlio_geom_file_size(&g, g.dim, g.dim, &fs), 0);
	/* WORKLOADS.md: npy at the mean, all files equal (stdev 0) */
	assert_int_equal(fs.size, 146579577LL);
	assert_int_equal(fs.data_offset, 128);
	{
		int64_t a, b;

		dlio_geom_file_dims(&g, 100, &a, &b);
		assert_int_equal(a, 12107);
		assert_int_equal(b, 12107);
	}
	load("default.yaml", DLIO_FLAVOUR_V20, NULL, 0);
	geom(1, DLIO_TRIM_NONE);
	assert_int_equal(dlio_geom_file_size(&g, 64, 64, &fs), 0);
	assert_int_equal(fs.size, 4594);
}

static void test_indexed_binary_sizes(void **state)
{
	struct dlio_file_size fs;
	char rel[256];

	(void)state;
	load("dlrm.yaml", DLIO_FLAVOUR_V20, NULL, 0);
	geom(8, DLIO_TRIM_NONE);
	assert_int_equal(g.dim, 25905);
	assert_int_equal(dlio_geom_file_size(&g, g.dim, g.dim, &fs), 0);
	assert_int_equal(fs.size, 687174681600LL);
	assert_int_equal(fs.naux, 2);
	assert_int_equal(fs.aux_size, 8192);
	/* 2 files <= 8 ranks: DLIO generates them collectively, layout approximate */
	assert_false(fs.exact);
	assert_true(dlio_config_has_quirk(&cfg, DLIO_Q_INDEXED_BINARY_OFFSETS));
	assert_true(dlio_geom_aux_relpath(&g, DLIO_SPLIT_EVAL, 0, 1, rel, sizeof(rel)) > 0);
	assert_string_equal(rel, "valid/img_0_of_1.indexed_binary.sz.idx");
	geom(1, DLIO_TRIM_NONE);
	assert_int_equal(dlio_geom_file_size(&g, g.dim, g.dim, &fs), 0);
	assert_true(fs.exact);
	load("megatron_deepspeed_LLNL.yaml", DLIO_FLAVOUR_V20, NULL, 0);
	geom(32, DLIO_TRIM_NONE);
	assert_int_equal(dlio_geom_file_size(&g, g.dim, g.dim, &fs), 0);
	assert_int_equal(fs.size, 561337158375LL);
	assert_int_equal(fs.aux_size, 2217628280LL);
	load("resnet50_a100.yaml", DLIO_FLAVOUR_V20, NULL, 0);
	geom(8, DLIO_TRIM_NONE);
	assert_true(dlio_geom_aux_relpath(&g, DLIO_SPLIT_TRAIN, 7, 0, rel, sizeof(rel)) > 0);
	assert_string_equal(rel, "index/train/img_0007_of_1024.tfrecord.idx");
}

static void test_names_and_paths(void **state)
{
	char buf[512];

	(void)state;
	load("default.yaml", DLIO_FLAVOUR_V20, NULL, 0);
	geom(1, DLIO_TRIM_NONE);
	assert_int_equal(dlio_geom_subfolders(&g, DLIO_SPLIT_TRAIN), 2);
	dlio_geom_file_relpath(&g, DLIO_SPLIT_TRAIN, 0, buf, sizeof(buf));
	assert_string_equal(buf, "train/0/img_00_of_64.npz");
	dlio_geom_file_relpath(&g, DLIO_SPLIT_TRAIN, 63, buf, sizeof(buf));
	assert_string_equal(buf, "train/1/img_63_of_64.npz");
	dlio_geom_file_relpath(&g, DLIO_SPLIT_EVAL, 5, buf, sizeof(buf));
	assert_string_equal(buf, "valid/1/img_5_of_8.npz");
	dlio_geom_file_path(&g, DLIO_SPLIT_EVAL, 5, buf, sizeof(buf));
	assert_string_equal(buf, "./data/default/valid/1/img_5_of_8.npz");
	assert_int_equal(dlio_geom_file_relpath(&g, DLIO_SPLIT_EVAL, 8, buf, sizeof(buf)), -ERANGE);
	assert_int_equal(dlio_geom_file_relpath(&g, DLIO_SPLIT_TRAIN, 0, buf, 8), -ENAMETOOLONG);
	assert_int_equal(dlio_geom_gen_index(&g, DLIO_SPLIT_EVAL, 5), 69);
	{
		const char *o[] = {"++workload.dataset.num_subfolders_train=10",
				   "++workload.dataset.num_files_train=1000",
				   "++workload.storage.storage_root=/mnt/x/",
				   "++workload.dataset.file_prefix=part"};

		load("default.yaml", DLIO_FLAVOUR_V20, o, 4);
		geom(1, DLIO_TRIM_NONE);
		dlio_geom_file_path(&g, DLIO_SPLIT_TRAIN, 123, buf, sizeof(buf));
		assert_string_equal(buf, "/mnt/x/data/default/train/03/part_0123_of_1000.npz");
	}
	{
		const char *o[] = {"++workload.dataset.num_subfolders_train=100",
				   "++workload.dataset.data_folder=/abs/ds/"};

		load("cosmoflow_a100.yaml", DLIO_FLAVOUR_V20, o, 2);
		geom(1, DLIO_TRIM_NONE);
		dlio_geom_file_path(&g, DLIO_SPLIT_TRAIN, 524287, buf, sizeof(buf));
		assert_string_equal(buf, "/abs/ds/train/087/img_524287_of_524288.tfrecord");
	}
	load("unet3d_a100_s3.yaml", DLIO_FLAVOUR_HEAD, NULL, 0);
	geom(1, DLIO_TRIM_NONE);
	dlio_geom_file_path(&g, DLIO_SPLIT_TRAIN, 3, buf, sizeof(buf));
	assert_string_equal(buf, "s3://s3pytorchconnector/train/img_003_of_168.npz");
}

struct steps_case {
	const char *wl;
	int64_t comm, steps, eval_steps;
};

static void test_steps(void **state)
{
	/* WORKLOADS.md "steps c1 / c8" */
	static const struct steps_case cases[] = {
		{"unet3d_a100.yaml", 1, 24, 0},	     {"unet3d_a100.yaml", 8, 3, 0},
		{"unet3d_h100.yaml", 8, 3, 0},	     {"unet3d_v100.yaml", 1, 42, 0},
		{"unet3d_v100.yaml", 8, 5, 0},	     {"resnet50_a100.yaml", 1, 3202, 0},
		{"resnet50_a100.yaml", 8, 400, 0},   {"resnet50_v100.yaml", 1, 20016, 0},
		{"resnet50_tf.yaml", 8, 2502, 0},    {"cosmoflow_a100.yaml", 1, 524288, 0},
		{"cosmoflow_h100.yaml", 8, 65536, 0}, {"default.yaml", 1, 16, 8},
		{"default.yaml", 8, 2, 1},	     {"bert_v100.yaml", 8, 1000, 0},
		{"dlrm.yaml", 1, 1024, 1024},	     {"dlrm.yaml", 8, 128, 128},
		{"megatron_deepspeed_LLNL.yaml", 32, 1000, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		load(cases[i].wl, DLIO_FLAVOUR_V20, NULL, 0);
		geom(cases[i].comm, DLIO_TRIM_NONE);
		if (g.steps != cases[i].steps || g.eval_steps != cases[i].eval_steps)
			fail_msg("%s comm %lld: steps %lld eval %lld", cases[i].wl,
				 (long long)cases[i].comm, (long long)g.steps,
				 (long long)g.eval_steps);
	}
	load("bert_v100.yaml", DLIO_FLAVOUR_V20, NULL, 0);
	geom(8, DLIO_TRIM_NONE);
	assert_int_equal(g.max_steps, 408244);
}

static void test_total_training_steps_too_large(void **state)
{
	const char *o[] = {"++workload.train.total_training_steps=4"};

	(void)state;
	load("unet3d_a100.yaml", DLIO_FLAVOUR_V20, o, 1);
	assert_int_equal(dlio_geom_init(&g, &cfg, 8, DLIO_TRIM_NONE, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "4 is more than the 3 steps"));
	assert_int_equal(dlio_geom_init(&g, &cfg, 1, DLIO_TRIM_NONE, err, sizeof(err)), 0);
	assert_int_equal(g.steps, 4);
	assert_int_equal(g.max_steps, 24);
}

static void test_head_trim(void **state)
{
	(void)state;
	/* WORKLOADS.md "HEAD trim c8" */
	load("resnet50_a100.yaml", DLIO_FLAVOUR_HEAD, NULL, 0);
	geom(8, DLIO_TRIM_HEAD);
	assert_int_equal(g.nfiles[0], 0);
	assert_int_equal(g.steps, 0);
	geom(8, DLIO_TRIM_HEAD_N1);
	assert_int_equal(g.nfiles[0], 1024);
	load("unet3d_v100.yaml", DLIO_FLAVOUR_HEAD, NULL, 0);
	geom(8, DLIO_TRIM_HEAD);
	assert_int_equal(g.nfiles[0], 160);
	assert_int_equal(g.nfiles_gen[0], 168);
	assert_int_equal(g.steps, 5);
	load("unet3d_a100.yaml", DLIO_FLAVOUR_HEAD, NULL, 0);
	geom(8, DLIO_TRIM_HEAD);
	assert_int_equal(g.nfiles[0], 168);
	load("default.yaml", DLIO_FLAVOUR_HEAD, NULL, 0);
	geom(8, DLIO_TRIM_HEAD);
	assert_int_equal(g.nfiles[0], 64);
	assert_int_equal(g.nfiles[1], 8);
}

static void test_head_record_dims(void **state)
{
	const char *o[] = {"++workload.dataset.record_dims=[16,8]",
			   "++workload.dataset.record_element_type=float32",
			   "++workload.dataset.record_length_bytes_stdev=0"};
	struct dlio_file_size fs;

	(void)state;
	load("default.yaml", DLIO_FLAVOUR_HEAD, o, 3);
	geom(1, DLIO_TRIM_NONE);
	assert_int_equal(dlio_geom_file_size(&g, g.dim, g.dim, &fs), 0);
	assert_int_equal(fs.sample_bytes, 16 * 8 * 4);
	assert_int_equal(fs.size, 512 + 8 + 490);
	/* v2.0 ignores all three: back to d = 64, uint8 */
	load("default.yaml", DLIO_FLAVOUR_V20, o, 3);
	geom(1, DLIO_TRIM_NONE);
	assert_int_equal(dlio_geom_file_size(&g, g.dim, g.dim, &fs), 0);
	assert_int_equal(fs.sample_bytes, 4096);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unet3d_all_168_files),
		cmocka_unit_test(test_cosmoflow_first_2048_and_all),
		cmocka_unit_test(test_tfrecord_sizes),
		cmocka_unit_test(test_npy_headers),
		cmocka_unit_test(test_indexed_binary_sizes),
		cmocka_unit_test(test_names_and_paths),
		cmocka_unit_test(test_steps),
		cmocka_unit_test(test_total_training_steps_too_large),
		cmocka_unit_test(test_head_trim),
		cmocka_unit_test(test_head_record_dims),
	};

	return cmocka_run_group_tests_name("dlio_geometry", tests, NULL, NULL);
}
