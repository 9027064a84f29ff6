#include "dlio_test_util.h"

#include <errno.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup3_known_values),
		cmocka_unit_test(test_metadata_layout),
		cmocka_unit_test(test_dtypes),
	};

	return cmocka_run_group_tests_name("dlio_hdf5", tests, NULL, NULL);
}
