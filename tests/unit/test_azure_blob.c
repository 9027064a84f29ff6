/* Blob URLs, block ids and the Put Block List body. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

static void test_block_list_ids(void **state)
{
	static const uint64_t ids[] = { 0, 1 };
	char a[256], b[256];

	(void)state;
	/* ids 0..n-1 give exactly the body of az_blob_block_list_xml */
	assert_int_equal(az_blob_block_list_xml_ids(ids, 2, a, sizeof(a)), 159);
	assert_int_equal(az_blob_block_list_xml(2, b, sizeof(b)), 159);
	assert_string_equal(a, b);
	{
		static const uint64_t offs[] = { 0, 65536 };

		assert_int_equal(az_blob_block_list_xml_ids(offs, 2, a, sizeof(a)), 159);
		assert_non_null(strstr(a, "<Latest>ZmlvZGxpby0wMDAwMDAwMDAwMDEwMDAw</Latest>"));
	}
	assert_int_equal(az_blob_block_list_xml_ids(ids, 2, a, 159), -ENOSPC);
	assert_int_equal(az_blob_block_list_xml_ids(ids, 0, a, sizeof(a)), -EINVAL);
}

static void test_xml_text(void **state)
{
	static const char body[] =
		"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed"
		"</Code><Message>Server failed to authenticate the request &amp; &lt;more&gt; "
		"&quot;x&quot; &apos;y&apos; &#65;&#x42;&#xe9;&#x20AC;\nRequestId:1</Message></Error>";
	char out[256], small[8];

	(void)state;
	assert_int_equal(az_blob_xml_text(body, sizeof(body) - 1, "Code", out, sizeof(out)), 20);
	assert_string_equal(out, "AuthenticationFailed");
	assert_true(az_blob_xml_text(body, sizeof(body) - 1, "Message", out, sizeof(out)) > 0);
	assert_string_equal(out, "Server failed to authenticate the request & <more> \"x\" 'y' "
				 "AB\xc3\xa9\xe2\x82\xac\nRequestId:1");
	/* cut short, still terminated */
	assert_int_equal(az_blob_xml_text(body, sizeof(body) - 1, "Message", small, sizeof(small)),
			 7);
	assert_string_equal(small, "Server ");
	assert_int_equal(az_blob_xml_text(body, sizeof(body) - 1, "Nope", out, sizeof(out)),
			 -ENOENT);
	assert_int_equal(az_blob_xml_text("<A>x &bogus; y</A>", 18, "A", out, sizeof(out)), -EINVAL);
	assert_int_equal(az_blob_xml_text("<A/>", 4, "A", out, sizeof(out)), 0);
	assert_int_equal(az_blob_xml_text("<A>unterminated", 15, "A", out, sizeof(out)), -ENOENT);
}

struct seen {
	char names[4][64];
	uint64_t sizes[4];
	int n;
};

static int collect(void *arg, const char *name, uint64_t size)
{
	struct seen *s = arg;

	if (s->n >= 4)
		return -E2BIG;
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
	s->sizes[s->n++] = size;
	return 0;
}

static void test_parse_list(void **state)
{
	/* the shape of a List Blobs response as the Blob service documents it */
	static const char page1[] =
		"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?>"
		"<EnumerationResults ServiceEndpoint=\"http://127.0.0.1:10000/devstoreaccount1\" "
		"ContainerName=\"fio\"><Prefix>data/</Prefix><MaxResults>2</MaxResults><Blobs>"
		"<Blob><Name>data/a&amp;b.npz</Name><Properties><Creation-Time>Wed, 27 Nov 2026 "
		"10:00:00 GMT</Creation-Time><Content-Length>1024</Content-Length>"
		"<Content-Type>application/octet-stream</Content-Type><BlobType>BlockBlob</BlobType>"
		"</Properties></Blob>"
		"<Blob><Name>data/b</Name><Properties><Content-Length>68719476736</Content-Length>"
		"</Properties><OrMetadata /></Blob>"
		"</Blobs><NextMarker>2!64!MDAwMDA&amp;x</NextMarker></EnumerationResults>";
	static const char last[] =
		"<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults><Blobs>"
		"<Blob><Name>c</Name><Properties><Content-Length>0</Content-Length></Properties>"
		"</Blob></Blobs><NextMarker/></EnumerationResults>";
	static const char empty[] = "<?xml version=\"1.0\"?><EnumerationResults><Blobs />"
				    "<NextMarker /></EnumerationResults>";
	static const char broken[] = "<EnumerationResults><Blobs><Blob><Name>x</Name>"
				     "<Properties></Properties></Blob></Blobs></EnumerationResults>";
	struct seen s = { .n = 0 };
	char marker[64];

	(void)state;
	assert_int_equal(az_blob_parse_list(page1, sizeof(page1) - 1, collect, &s, marker,
					    sizeof(marker)),
			 2);
	assert_string_equal(s.names[0], "data/a&b.npz");
	assert_int_equal(s.sizes[0], 1024);
	assert_string_equal(s.names[1], "data/b");
	assert_true(s.sizes[1] == 68719476736ull);
	assert_string_equal(marker, "2!64!MDAwMDA&x");
	assert_int_equal(az_blob_parse_list(page1, sizeof(page1) - 1, collect, &s, marker, 8),
			 -ENAMETOOLONG);

	s.n = 0;
	assert_int_equal(az_blob_parse_list(last, sizeof(last) - 1, collect, &s, marker,
					    sizeof(marker)),
			 1);
	assert_string_equal(s.names[0], "c");
	assert_string_equal(marker, "");
	s.n = 0;
	assert_int_equal(az_blob_parse_list(empty, sizeof(empty) - 1, collect, &s, marker,
					    sizeof(marker)),
			 0);
	assert_string_equal(marker, "");
	assert_int_equal(az_blob_parse_list(broken, sizeof(broken) - 1, collect, &s, marker,
					    sizeof(marker)),
			 -EINVAL);
	assert_int_equal(az_blob_parse_list("<Error/>", 8, collect, &s, marker, sizeof(marker)),
			 -EINVAL);
	/* the callback's verdict stops the walk */
	s.n = 4;
	assert_int_equal(az_blob_parse_list(last, sizeof(last) - 1, collect, &s, marker,
					    sizeof(marker)),
			 -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_block_ids),
		cmocka_unit_test(test_block_list),
		cmocka_unit_test(test_block_list_ids),
		cmocka_unit_test(test_xml_text),
		cmocka_unit_test(test_parse_list),
	};

	return cmocka_run_group_tests_name("azure_blob", tests, NULL, NULL);
}
