#include "dlio_test_util.h"

#include <errno.h>

#include "dlio/config.h"
#include "dlio/gen.h"
#include "dlio/geometry.h"
#include "dlio/hdf5.h"

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void test_lookup3_known_values(void **state)
{
	static const char four[] = "Four score and seven years ago";
	/* h5py 3.7 / HDF5 1.10.8: the superblock (version 3) of a libver='latest' file, whose
	 * last 4 bytes are HDF5's own lookup3 of the 44 before them */
	static const uint8_t sb[] = {
		0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 0x03, 0x08, 0x08, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0x28, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x30, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x61, 0x39, 0xab, 0xca};

	(void)state;
	/* the values lookup3.c's own self-test prints */
	assert_int_equal(dlio_lookup3("", 0, 0), 0xdeadbeefu);
	assert_int_equal(dlio_lookup3("", 0, 0xdeadbeefu), 0xbd5b7ddeu);
	assert_int_equal(dlio_lookup3(four, 30, 0), 0x17770551u);
	assert_int_equal(dlio_lookup3(four, 30, 1), 0xcd628161u);
	assert_int_equal(dlio_lookup3(sb, 44, 0), le(sb + 44, 4));
}

/* Walks a version-2 object header: checks its checksum and returns the offset of the
 * first message of the given type (its data), or -1. */
static int64_t oh_find(const uint8_t *m, int64_t at, int type, uint64_t *len)
{
	uint64_t size;
	int64_t p, end;

	assert_memory_equal(m + at, "OHDR", 4);
	assert_int_equal(m[at + 4], 2);
	assert_int_equal(m[at + 5] & 3, 1);
	size = le(m + at + 6, 2);
	end = at + 8 + (int64_t)size;
	assert_int_equal(dlio_lookup3(m + at, (size_t)(end - at), 0), le(m + end, 4));
	for (p = at + 8; p + 4 <= end; p += 4 + (int64_t)le(m + p + 1, 2))
		if (m[p] == type) {
			*len = le(m + p + 1, 2);
			return p + 4;
		}
	return -1;
}

static void test_metadata_layout(void **state)
{
	struct dlio_hdf5_dset d[2] = {
		{.name = "records", .rank = 3, .dims = {2, 64, 64}, .cls = DLIO_HDF5_UINT,
		 .elem_bytes = 1, .addr = 2048},
		{.name = "labels", .rank = 1, .dims = {2}, .cls = DLIO_HDF5_INT, .elem_bytes = 8,
		 .addr = 2048 + 8192},
	};
	uint8_t m[2048];
	int64_t len = dlio_hdf5_metadata(d, 2, 2048 + 8192 + 16, m, sizeof(m)), p, root, oh[2];
	uint64_t n;

	(void)state;
	assert_true(len > 48 && len < 2048);
	/* superblock version 2, EOF and root group address, checksum */
	assert_memory_equal(m, "\x89HDF\r\n\x1a\n", 8);
	assert_int_equal(m[8], 2);
	assert_int_equal(le(m + 28, 8), 2048 + 8192 + 16);
	root = (int64_t)le(m + 36, 8);
	assert_int_equal(root, 48);
	assert_int_equal(dlio_lookup3(m, 44, 0), le(m + 44, 4));
	/* the root group links both datasets by name */
	p = oh_find(m, root, 0x02, &n);
	assert_true(p > 0);
	assert_int_equal(le(m + p + 2, 8), UINT64_MAX); /* no fractal heap: compact links */
	for (int i = 0; i < 2; i++) {
		int64_t q = root + 8;
		size_t nl = strlen(d[i].name);

		oh[i] = -1;
		while (oh[i] < 0 && q < len) {
			if (m[q] == 0x06 && m[q + 6] == nl && !memcmp(m + q + 7, d[i].name, nl))
				oh[i] = (int64_t)le(m + q + 7 + nl, 8);
			q += 4 + (int64_t)le(m + q + 1, 2);
		}
		assert_true(oh[i] > root && oh[i] < len);
	}
	/* shape, type and contiguous address of each */
	p = oh_find(m, oh[0], 0x01, &n);
	assert_int_equal(n, 4 + 3 * 8);
	assert_int_equal(m[p + 1], 3);
	assert_int_equal(le(m + p + 4, 8), 2);
	assert_int_equal(le(m + p + 12, 8), 64);
	p = oh_find(m, oh[0], 0x03, &n);
	assert_int_equal(m[p], 0x10);	       /* fixed-point */
	assert_int_equal(m[p + 1] & 0x08, 0); /* unsigned */
	assert_int_equal(le(m + p + 4, 4), 1);
	p = oh_find(m, oh[0], 0x08, &n);
	assert_int_equal(m[p + 1], 1); /* contiguous */
	assert_int_equal(le(m + p + 2, 8), 2048);
	assert_int_equal(le(m + p + 10, 8), 8192);
	p = oh_find(m, oh[1], 0x03, &n);
	assert_int_equal(m[p + 1] & 0x08, 0x08); /* signed */
	assert_int_equal(le(m + p + 4, 4), 8);
	p = oh_find(m, oh[1], 0x08, &n);
	assert_int_equal(le(m + p + 2, 8), 2048 + 8192);
	assert_int_equal(le(m + p + 10, 8), 16);

	assert_int_equal(dlio_hdf5_metadata(d, 2, 0, m, 100), -ENOSPC);
	d[0].rank = 0;
	assert_int_equal(dlio_hdf5_metadata(d, 2, 0, m, sizeof(m)), -EINVAL);
	d[0].rank = DLIO_HDF5_MAX_RANK + 1;
	assert_int_equal(dlio_hdf5_metadata(d, 2, 0, m, sizeof(m)), -EINVAL);
}

static void test_dtypes(void **state)
{
	enum dlio_hdf5_class c;
	int b;

	(void)state;
	assert_int_equal(dlio_hdf5_dtype("float16", &c, &b), 0);
	assert_int_equal(c, DLIO_HDF5_FLOAT);
	assert_int_equal(b, 2);
	assert_int_equal(dlio_hdf5_dtype("bool", &c, &b), 0);
	assert_int_equal(c, DLIO_HDF5_BOOL);
	assert_int_equal(dlio_hdf5_dtype("complex64", &c, &b), -EINVAL);
}

static struct dlio_config cfg;
static struct dlio_geom g;
static char err[1024];

static void build(enum dlio_flavour fl, const char *const *ovr, size_t novr)
{
	struct dlio_load_opts o = {.flavour = fl, .overrides = ovr, .noverrides = novr};

	if (dlio_config_load(&cfg, dlio_test_path("workloads/unet3d_a100.yaml"), &o, NULL, err,
			     sizeof(err)) ||
	    dlio_geom_init(&g, &cfg, 1, DLIO_TRIM_NONE, err, sizeof(err)))
		fail_msg("%s", err);
}

/* The generator's bytes: metadata, zeros to 2048, the payload untouched, zero labels;
 * fed in uneven pieces as fio's buffers come. */
static void test_generated_file(void **state)
{
	const char *o[] = {"++workload.dataset.format=hdf5",
			   "++workload.dataset.num_files_train=1",
			   "++workload.dataset.num_samples_per_file=3",
			   "++workload.dataset.record_length_bytes=4096",
			   "++workload.dataset.record_length_bytes_stdev=0"};
	struct dlio_gen gen;
	struct dlio_gen_file f;
	uint8_t *buf, meta[2048];
	struct dlio_hdf5_dset d[2] = {
		{.name = "records", .rank = 3, .dims = {3, 64, 64}, .cls = DLIO_HDF5_UINT,
		 .elem_bytes = 1, .addr = 2048},
		{.name = "labels", .rank = 1, .dims = {3}, .cls = DLIO_HDF5_INT, .elem_bytes = 8,
		 .addr = 2048 + 3 * 4096},
	};
	int64_t size = 2048 + 3 * 4096 + 24, mlen, off = 0, step = 1, container = 0;

	(void)state;
	build(DLIO_FLAVOUR_V20, o, 5);
	assert_int_equal(dlio_gen_init(&gen, &g, 0, 1, err, sizeof(err)), 0);
	assert_int_equal(dlio_gen_next(&gen, &f, err, sizeof(err)), 1);
	assert_int_equal(f.size, size);
	assert_int_equal(f.valid, DLIO_GEN_VALID);
	buf = malloc((size_t)size);
	assert_non_null(buf);
	memset(buf, 0xa5, (size_t)size);
	while (off < size) {
		int64_t len = step < size - off ? step : size - off;

		int64_t c = dlio_gen_fill(&g, &f, (uint64_t)off, buf + off, (uint64_t)len, NULL);

		assert_true(c >= 0);
		container += c;
		off += len;
		step = step * 3 + 1;
	}
	assert_int_equal(container, size - 3 * 4096); /* all but the records */
	mlen = dlio_hdf5_metadata(d, 2, (uint64_t)size, meta, sizeof(meta));
	assert_true(mlen > 0);
	assert_memory_equal(buf, meta, (size_t)mlen);
	for (int64_t i = mlen; i < size; i++)
		assert_int_equal(buf[i], i >= 2048 && i < 2048 + 3 * 4096 ? 0xa5 : 0);
	free(buf);
}

/* Generate npz file 0 of a dataset of record length rl into buf (whole, one fill), with
 * the CRC cache cc; its zip CRC-32. */
static uint32_t npz_crc(int64_t rl, uint8_t *buf, struct dlio_crc_cache *cc)
{
	char len[64];
	const char *o[] = {"++workload.dataset.format=npz", "++workload.dataset.num_files_train=1",
			   "++workload.dataset.num_samples_per_file=1", len,
			   "++workload.dataset.record_length_bytes_stdev=0"};
	struct dlio_gen gen;
	struct dlio_gen_file f;

	snprintf(len, sizeof(len), "++workload.dataset.record_length_bytes=%lld", (long long)rl);
	build(DLIO_FLAVOUR_V20, o, 5);
	assert_int_equal(dlio_gen_init(&gen, &g, 0, 1, err, sizeof(err)), 0);
	assert_int_equal(dlio_gen_next(&gen, &f, err, sizeof(err)), 1);
	assert_true(dlio_gen_fill(&g, &f, 0, buf, (uint64_t)f.size, cc) > 0);
	return f.crc;
}

/* The payload CRC a buffer remembers is used only while its bytes are unchanged: a
 * smaller file's container bytes land inside a larger one's payload, and the larger
 * file again must not reuse the old CRC. */
static void test_npz_crc_cache(void **state)
{
	struct dlio_crc_cache cc = {0};
	uint8_t *buf = malloc(1 << 20);
	uint32_t big, again;

	(void)state;
	assert_non_null(buf);
	for (int i = 0; i < 1 << 20; i++)
		buf[i] = (uint8_t)(i * 131 >> 3);
	big = npz_crc(300000, buf, NULL);
	assert_int_equal(npz_crc(300000, buf, &cc), big);
	assert_true(cc.valid && cc.len >= DLIO_CRC_CACHE_MIN);
	assert_int_equal(npz_crc(300000, buf, &cc), big); /* the remembered run */
	/* a file too small to be remembered: its end records land in the big run */
	npz_crc(20000, buf, &cc);
	assert_false(cc.valid);
	again = npz_crc(300000, buf, NULL);
	assert_true(again != big); /* the buffer changed under the run ... */
	assert_int_equal(npz_crc(300000, buf, &cc), again); /* ... and the cache knows */
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup3_known_values),
		cmocka_unit_test(test_metadata_layout),
		cmocka_unit_test(test_dtypes),
		cmocka_unit_test(test_generated_file),
		cmocka_unit_test(test_npz_crc_cache),
	};

	return cmocka_run_group_tests_name("dlio_hdf5", tests, NULL, NULL);
}
