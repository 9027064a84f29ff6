#include "dlio_test_util.h"

#include <errno.h>

#include "dlio/config.h"
#include "dlio/geometry.h"
#include "dlio/reads.h"

static struct dlio_config cfg;
static struct dlio_geom g;
static char err[1024];

static void build_as(enum dlio_flavour fl, const char *wl, const char *const *ovr, size_t novr)
{
	char rel[256];
	struct dlio_load_opts o = {.flavour = fl, .overrides = ovr, .noverrides = novr};

	snprintf(rel, sizeof(rel), "workloads/%s", wl);
	if (dlio_config_load(&cfg, dlio_test_path(rel), &o, NULL, err, sizeof(err)) ||
	    dlio_geom_init(&g, &cfg, 8, DLIO_TRIM_NONE, err, sizeof(err)))
		fail_msg("%s", err);
}

static void build(const char *wl, const char *const *ovr, size_t novr)
{
	build_as(DLIO_FLAVOUR_V20, wl, ovr, novr);
}

static void test_npz_whole_member_in_256k_chunks(void **state)
{
	struct dlio_read_iter it;
	struct dlio_read r, last = {0, 0};
	const int64_t x = 224093125, size = 224093623; /* unet3d file 0 */
	int64_t nchunks = 0, data = 0, n = 0;

	(void)state;
	build("unet3d_a100.yaml", NULL, 0);
	assert_int_equal(dlio_reads_init(&it, &g, 15865, 14125, 0, DLIO_IO_OPEN), 0);
	while (dlio_reads_next(&it, &r)) {
		assert_true(r.offset >= 0 && r.offset + r.len <= size);
		if (n == 0) {
			/* the zip end record is read first */
			assert_int_equal(r.offset, size - 22);
			assert_int_equal(r.len, 22);
		}
		if (r.offset >= 183 && r.offset < 183 + x) {
			assert_int_equal(r.offset, 183 + data);
			assert_true(r.len <= DLIO_NPZ_CHUNK);
			data += r.len;
			nchunks++;
		}
		last = r;
		n++;
	}
	assert_int_equal(data, x);
	assert_int_equal(nchunks, (x + DLIO_NPZ_CHUNK - 1) / DLIO_NPZ_CHUNK);
	assert_int_equal(last.offset + last.len, 183 + x);
	/* nothing more per sample: the array is already in memory */
	assert_int_equal(dlio_reads_init(&it, &g, 15865, 14125, 0, DLIO_IO_SAMPLE), 0);
	assert_int_equal(dlio_reads_next(&it, &r), 0);
	assert_int_equal(dlio_reads_init(&it, &g, 15865, 14125, 1, DLIO_IO_OPEN), -ERANGE);
}

static void test_npy_and_odirect(void **state)
{
	const char *o[] = {"++workload.reader.odirect=True"};
	struct dlio_read_iter it;
	struct dlio_read r;

	(void)state;
	build("unet3d_v100_s3.yaml", NULL, 0);
	assert_int_equal(dlio_reads_init(&it, &g, 12107, 12107, 0, DLIO_IO_OPEN), 0);
	assert_int_equal(dlio_reads_next(&it, &r), 1);
	assert_int_equal(r.offset, 0);
	assert_int_equal(r.len, 8192);
	assert_int_equal(dlio_reads_next(&it, &r), 1);
	assert_int_equal(r.offset, 128);
	assert_int_equal(r.len, 146579449);
	assert_int_equal(dlio_reads_next(&it, &r), 0);
	build("unet3d_a100.yaml", o, 1);
	assert_int_equal(dlio_reads_init(&it, &g, 15865, 14125, 0, DLIO_IO_OPEN), 0);
	assert_int_equal(dlio_reads_next(&it, &r), 1);
	assert_int_equal(r.offset, 0);
	assert_int_equal(r.len, (224093623 + 4095) / 4096 * 4096);
	assert_int_equal(dlio_reads_next(&it, &r), 0);
}

static void test_hdf5_sample_at_its_row(void **state)
{
	const char *o[] = {"++workload.dataset.format=hdf5",
			   "++workload.dataset.num_samples_per_file=4",
			   "++workload.dataset.record_length_bytes=4096",
			   "++workload.dataset.record_length_bytes_stdev=0"};
	struct dlio_read_iter it;
	struct dlio_read r;

	(void)state;
	build("unet3d_a100.yaml", o, 4);
	assert_int_equal(dlio_reads_init(&it, &g, 64, 64, 3, DLIO_IO_OPEN), 0);
	assert_int_equal(dlio_reads_next(&it, &r), 1);
	assert_int_equal(r.offset, 0);
	assert_int_equal(r.len, 2048);
	assert_int_equal(dlio_reads_init(&it, &g, 64, 64, 3, DLIO_IO_SAMPLE), 0);
	assert_int_equal(dlio_reads_next(&it, &r), 1);
	assert_int_equal(r.offset, 2048 + 3 * 4096);
	assert_int_equal(r.len, 4096);
	assert_int_equal(dlio_reads_next(&it, &r), 0);
}

/* HEAD's num_dset_per_record = k: the first record dimension split over k datasets; the
 * size counts each byte once and a sample's read takes its part of every dataset. */
static void test_hdf5_head_split_datasets(void **state)
{
	const char *o[] = {"++workload.dataset.format=hdf5",
			   "++workload.dataset.num_samples_per_file=5",
			   "++workload.dataset.record_dims=[4,3]",
			   "++workload.dataset.record_length_bytes_stdev=0",
			   "++workload.dataset.record_element_type=float32",
			   "++workload.dataset.hdf5.num_dset_per_record=2"};
	const char *bad[] = {"++workload.dataset.format=hdf5",
			     "++workload.dataset.hdf5.num_dset_per_record=2"};
	struct dlio_load_opts lo = {.flavour = DLIO_FLAVOUR_HEAD, .overrides = bad,
				    .noverrides = 2};
	struct dlio_file_size fs;
	struct dlio_read_iter it;
	struct dlio_read r;

	(void)state;
	build_as(DLIO_FLAVOUR_HEAD, "unet3d_a100.yaml", o, 6);
	assert_int_equal(dlio_geom_file_size(&g, 0, 0, &fs), 0);
	assert_int_equal(fs.sample_bytes, 48);
	assert_int_equal(fs.size, 2048 + 5 * 48 + 5 * 8);
	assert_int_equal(dlio_reads_init(&it, &g, 0, 0, 3, DLIO_IO_SAMPLE), 0);
	assert_int_equal(dlio_reads_next(&it, &r), 1);
	assert_int_equal(r.offset, 2048 + 3 * 24);
	assert_int_equal(r.len, 24);
	assert_int_equal(dlio_reads_next(&it, &r), 1);
	assert_int_equal(r.offset, 2048 + 5 * 24 + 3 * 24);
	assert_int_equal(r.len, 24);
	assert_int_equal(dlio_reads_next(&it, &r), 0);
	/* DLIO fails on the legacy integer dims with k > 1: so does the validation */
	assert_int_not_equal(dlio_config_load(&cfg, dlio_test_path("workloads/unet3d_a100.yaml"),
					      &lo, NULL, err, sizeof(err)) ||
				     dlio_config_validate(&cfg, 1, NULL, err, sizeof(err)),
			     0);
	assert_non_null(strstr(err, "num_dset_per_record"));
}

static void test_indexed_binary_offsets_restart(void **state)
{
	struct dlio_read_iter it;
	struct dlio_read r;
	const int64_t s = 671069025;

	(void)state;
	build("dlrm.yaml", NULL, 0);
	/* 3 samples per 2 GiB chunk: offsets cycle 0, S, 2S */
	assert_int_equal(dlio_indexed_binary_offset(&g, s, 0), 0);
	assert_int_equal(dlio_indexed_binary_offset(&g, s, 4), s);
	assert_int_equal(dlio_indexed_binary_offset(&g, s, 1023), 0);
	assert_int_equal(dlio_reads_init(&it, &g, 25905, 25905, 5, DLIO_IO_SAMPLE), 0);
	assert_int_equal(dlio_reads_next(&it, &r), 1);
	assert_int_equal(r.offset, 2 * s);
	assert_int_equal(r.len, s);
	assert_int_equal(dlio_reads_init(&it, &g, 25905, 25905, 5, DLIO_IO_OPEN), 0);
	assert_int_equal(dlio_reads_next(&it, &r), 0);
}

static void test_no_io_and_streamed_formats(void **state)
{
	struct dlio_read_iter it;
	struct dlio_read r;

	(void)state;
	build("megatron_deepspeed_LLNL.yaml", NULL, 0);
	assert_int_equal(dlio_reads_init(&it, &g, 45, 45, 7, DLIO_IO_SAMPLE), 0);
	assert_int_equal(dlio_reads_next(&it, &r), 0);
	build("resnet50_a100.yaml", NULL, 0);
	assert_int_equal(dlio_reads_init(&it, &g, 338, 338, 0, DLIO_IO_OPEN), -ENOTSUP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_npz_whole_member_in_256k_chunks),
		cmocka_unit_test(test_npy_and_odirect),
		cmocka_unit_test(test_hdf5_sample_at_its_row),
		cmocka_unit_test(test_hdf5_head_split_datasets),
		cmocka_unit_test(test_indexed_binary_offsets_restart),
		cmocka_unit_test(test_no_io_and_streamed_formats),
	};

	return cmocka_run_group_tests_name("dlio_reads", tests, NULL, NULL);
}
