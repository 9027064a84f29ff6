/* Blob URLs, block ids and the Put Block List body. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/az_blob.h"

static void test_url(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(az_blob_url("http://127.0.0.1:10000/devstoreaccount1", "fio",
				     "data/file_0001.npz", NULL, out, sizeof(out)),
			 62);
	assert_string_equal(out, "http://127.0.0.1:10000/devstoreaccount1/fio/data/file_0001.npz");
	az_blob_url("https://a.blob.core.windows.net", "c", "dir/a b+c%d?e#f&g=é", "comp=block",
		    out, sizeof(out));
	assert_string_equal(out, "https://a.blob.core.windows.net/c/dir/a%20b%2Bc%25d%3Fe%23f%26g%3D"
				 "%C3%A9?comp=block");
	az_blob_url("https://a.blob.core.windows.net", "c", NULL, "restype=container&comp=list",
		    out, sizeof(out));
	assert_string_equal(out, "https://a.blob.core.windows.net/c?restype=container&comp=list");
	assert_int_equal(az_blob_url("https://a", "c", "bbbb", NULL, out, 16), -ENOSPC);
	assert_int_equal(az_blob_url("https://a", "c", "bbbb", NULL, out, 17), 16);
	assert_int_equal(az_blob_url("https://a", "c", "b", "q=1", out, 17), -ENOSPC);
	assert_int_equal(az_blob_url("https://a", "c", "b", "q=1", out, 18), 17);
	assert_int_equal(az_blob_url("https://a", "", "b", NULL, out, sizeof(out)), -EINVAL);
}

static void test_join(void **state)
{
	char out[32];

	(void)state;
	az_blob_join("data/train", "img_1.npz", out, sizeof(out));
	assert_string_equal(out, "data/train/img_1.npz");
	az_blob_join("data/train/", "/img_1.npz", out, sizeof(out));
	assert_string_equal(out, "data/train/img_1.npz");
	az_blob_join("", "img_1.npz", out, sizeof(out));
	assert_string_equal(out, "img_1.npz");
	az_blob_join(NULL, "x", out, sizeof(out));
	assert_string_equal(out, "x");
	assert_int_equal(az_blob_join("abc", "def", out, 8), 7);
	assert_int_equal(az_blob_join("abc", "defg", out, 8), -ENOSPC);
}

static void test_block_ids(void **state)
{
	static const struct {
		uint64_t index;
		const char *id;
	} v[] = {
		{ 0, "ZmlvZGxpby0wMDAwMDAwMDAwMDAwMDAw" },
		{ 1, "ZmlvZGxpby0wMDAwMDAwMDAwMDAwMDAx" },
		{ 49999, "ZmlvZGxpby0wMDAwMDAwMDAwMDBjMzRm" },
		{ UINT64_MAX, "ZmlvZGxpby1mZmZmZmZmZmZmZmZmZmZm" },
	};
	char id[AZ_BLOB_BLOCK_ID_SIZE], q[64];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(az_blob_block_id(v[i].index, id, sizeof(id)), 32);
		assert_string_equal(id, v[i].id);
	}
	assert_int_equal(az_blob_block_id(0, id, 32), -ENOSPC);
	assert_int_equal(az_blob_put_block_query(1, q, sizeof(q)), 51);
	assert_string_equal(q, "comp=block&blockid=ZmlvZGxpby0wMDAwMDAwMDAwMDAwMDAx");
	assert_int_equal(az_blob_put_block_query(1, q, 51), -ENOSPC);
}

static void test_block_list(void **state)
{
	char small[256];
	char *big;
	size_t sz;

	(void)state;
	assert_int_equal(az_blob_block_list_size(2), 49 + 2 * 49 + 13);
	assert_int_equal(az_blob_block_list_xml(2, small, sizeof(small)), 159);
	assert_string_equal(small, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>"
				   "<Latest>ZmlvZGxpby0wMDAwMDAwMDAwMDAwMDAw</Latest>"
				   "<Latest>ZmlvZGxpby0wMDAwMDAwMDAwMDAwMDAx</Latest>"
				   "</BlockList>");
	assert_int_equal(az_blob_block_list_xml(2, small, 159), -ENOSPC);
	assert_int_equal(az_blob_block_list_xml(0, small, sizeof(small)), -EINVAL);
	assert_int_equal(az_blob_block_list_xml(AZ_BLOB_MAX_BLOCKS + 1, small, sizeof(small)),
			 -EINVAL);
	assert_int_equal(az_blob_block_list_size(AZ_BLOB_MAX_BLOCKS + 1), 0);

	sz = az_blob_block_list_size(AZ_BLOB_MAX_BLOCKS);
	big = malloc(sz);
	assert_non_null(big);
	assert_int_equal(az_blob_block_list_xml(AZ_BLOB_MAX_BLOCKS, big, sz), (int)sz - 1);
	assert_non_null(strstr(big, "<Latest>ZmlvZGxpby0wMDAwMDAwMDAwMDBjMzRm</Latest></BlockList>"));
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_block_ids),
		cmocka_unit_test(test_block_list),
	};

	return cmocka_run_group_tests_name("azure_blob", tests, NULL, NULL);
}
