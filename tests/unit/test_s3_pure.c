/*
 * The s3:// backend's pure parts: addressing and URLs, S3's XML (errors, ListObjectsV2, the
 * CompleteMultipartUpload body) and the part plan with its limits.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/s3.h"

#define MiB (1ull << 20)

static void test_split_path(void **state)
{
	char bucket[S3_BUCKET_MAX + 1], err[256];
	const char *key;

	(void)state;
	assert_int_equal(s3_split_path("my-bucket/a/b c", bucket, &key, err, sizeof(err)), 0);
	assert_string_equal(bucket, "my-bucket");
	assert_string_equal(key, "a/b c");
	assert_int_equal(s3_split_path("bkt", bucket, &key, err, sizeof(err)), 0);
	assert_string_equal(key, "");
	assert_int_equal(s3_split_path("ab/x", bucket, &key, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "3 to 63"));
	assert_int_equal(s3_split_path("bad*name/x", bucket, &key, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'*'"));
}

static void test_endpoint_and_addressing(void **state)
{
	struct s3_endpoint ep;
	struct s3_target t;
	char err[256];

	(void)state;
	assert_int_equal(s3_endpoint_parse("http://127.0.0.1:7480/", -1, &ep, err, sizeof(err)), 0);
	assert_false(ep.https);
	assert_string_equal(ep.host, "127.0.0.1:7480");
	assert_false(ep.virtual_hosted); /* custom endpoint: path-style */
	assert_int_equal(s3_request_target(&ep, "bkt", "dir/my key+ü.bin", NULL, 0, &t, err,
					   sizeof(err)),
			 0);
	assert_string_equal(t.host, "127.0.0.1:7480");
	assert_string_equal(t.path, "/bkt/dir/my key+ü.bin");
	assert_string_equal(t.url, "http://127.0.0.1:7480/bkt/dir/my%20key%2B%C3%BC.bin");
	free(t.url);

	assert_int_equal(s3_endpoint_parse("https://s3.eu-west-1.amazonaws.com", -1, &ep, err,
					   sizeof(err)),
			 0);
	assert_true(ep.virtual_hosted); /* AWS: virtual-hosted */
	{
		struct s3_sigv4_param q[] = { { "uploadId", "a/b=" }, { "partNumber", "3" } };

		assert_int_equal(s3_request_target(&ep, "bkt", "k", q, 2, &t, err, sizeof(err)), 0);
	}
	assert_string_equal(t.host, "bkt.s3.eu-west-1.amazonaws.com");
	assert_string_equal(t.path, "/k");
	/* the query is the canonical one: sorted, encoded */
	assert_string_equal(t.url,
			    "https://bkt.s3.eu-west-1.amazonaws.com/k?partNumber=3&uploadId=a%2Fb%3D");
	free(t.url);

	/* a bucket request has no trailing slash; valueless parameters are "key=" */
	assert_int_equal(s3_endpoint_parse("http://h:1/base", 0, &ep, err, sizeof(err)), 0);
	{
		struct s3_sigv4_param q[] = { { "uploads", NULL } };

		assert_int_equal(s3_request_target(&ep, "bkt", "", q, 1, &t, err, sizeof(err)), 0);
	}
	assert_string_equal(t.path, "/base/bkt");
	assert_string_equal(t.url, "http://h:1/base/bkt?uploads=");
	free(t.url);

	assert_int_equal(s3_endpoint_parse("ftp://x", -1, &ep, err, sizeof(err)), -EINVAL);
	assert_true(s3_bucket_dns_safe("my-bucket", true));
	assert_false(s3_bucket_dns_safe("my.bucket", true));
	assert_false(s3_bucket_dns_safe("My_Bucket", false));
}

static void test_xml_error(void **state)
{
	static const char body[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code>"
		"<Message>The key &quot;a&amp;b&quot; &#x263A; does not exist.</Message>"
		"<Key>a&amp;b</Key></Error>";
	char code[64], msg[128];

	(void)state;
	s3_xml_error(body, strlen(body), code, sizeof(code), msg, sizeof(msg));
	assert_string_equal(code, "NoSuchKey");
	assert_string_equal(msg, "The key \"a&b\" \xe2\x98\xba does not exist.");
	s3_xml_error("", 0, code, sizeof(code), msg, sizeof(msg));
	assert_string_equal(code, "");
	assert_string_equal(msg, "");
	/* a message that does not fit is cut, not dropped */
	s3_xml_error(body, strlen(body), code, sizeof(code), msg, 10);
	assert_string_equal(msg, "The key \"");
}

struct seen {
	char keys[4][64];
	uint64_t sizes[4];
	int n;
};

static int on_item(void *arg, const char *key, uint64_t size)
{
	struct seen *s = arg;

	if (s->n == 4)
		return -E2BIG;
	snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", key);
	s->sizes[s->n++] = size;
	return 0;
}

static void test_xml_list(void **state)
{
	static const char page1[] =
		"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Name>b</Name><Prefix>ds/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
		"<IsTruncated>true</IsTruncated>"
		"<Contents><Key>ds/a &amp; b</Key><LastModified>x</LastModified>"
		"<ETag>&quot;e&quot;</ETag><Size>1024</Size></Contents>"
		"<Contents><Key>ds/\xc3\xbc</Key><Size>18446744073709551615</Size></Contents>"
		"<NextContinuationToken>1/a+b&amp;c==</NextContinuationToken></ListBucketResult>";
	static const char page2[] = "<ListBucketResult><IsTruncated>false</IsTruncated>"
				    "<Contents><Key>ds/z</Key><Size>0</Size></Contents>"
				    "</ListBucketResult>";
	struct seen s = { 0 };
	char token[64], err[256];
	bool more;

	(void)state;
	assert_int_equal(s3_xml_list(page1, strlen(page1), on_item, &s, &more, token,
				     sizeof(token), err, sizeof(err)),
			 0);
	assert_true(more);
	assert_string_equal(token, "1/a+b&c==");
	assert_int_equal(s.n, 2);
	assert_string_equal(s.keys[0], "ds/a & b");
	assert_int_equal(s.sizes[0], 1024);
	assert_string_equal(s.keys[1], "ds/\xc3\xbc");
	assert_true(s.sizes[1] == UINT64_MAX);
	assert_int_equal(s3_xml_list(page2, strlen(page2), on_item, &s, &more, token,
				     sizeof(token), err, sizeof(err)),
			 0);
	assert_false(more);
	assert_int_equal(s.n, 3);
	/* an error document is not a listing */
	assert_int_equal(s3_xml_list("<Error/>", 8, on_item, &s, &more, token, sizeof(token), err,
				     sizeof(err)),
			 -EPROTO);
	/* truncated without a token would loop forever: refused */
	assert_int_equal(s3_xml_list("<ListBucketResult><IsTruncated>true</IsTruncated>"
				     "</ListBucketResult>",
				     66, on_item, &s, &more, token, sizeof(token), err, sizeof(err)),
			 -EPROTO);
}

static void test_xml_tag_and_complete_body(void **state)
{
	static const char body[] = "<InitiateMultipartUploadResult><Bucket>b</Bucket>"
				   "<UploadId>2~abc&amp;def</UploadId></InitiateMultipartUploadResult>";
	const char *etags[] = { "\"aa\"", "\"bb\"" };
	char id[64];
	size_t len;
	char *xml;

	(void)state;
	assert_int_equal(s3_xml_tag(body, strlen(body), "UploadId", id, sizeof(id)), 0);
	assert_string_equal(id, "2~abc&def");
	assert_int_equal(s3_xml_tag(body, strlen(body), "Nope", id, sizeof(id)), -ENOENT);
	assert_int_equal(s3_xml_tag(body, strlen(body), "UploadId", id, 4), -ENOSPC);
	xml = s3_xml_complete_body(etags, 2, &len);
	assert_non_null(xml);
	assert_string_equal(xml, "<CompleteMultipartUpload>"
				 "<Part><PartNumber>1</PartNumber><ETag>&quot;aa&quot;</ETag></Part>"
				 "<Part><PartNumber>2</PartNumber><ETag>&quot;bb&quot;</ETag></Part>"
				 "</CompleteMultipartUpload>");
	assert_int_equal(len, strlen(xml));
	free(xml);
}

static void test_part_plan(void **state)
{
	struct s3_part_plan p;
	char err[256];

	(void)state;
	/* a fixed bs of at least 5 MiB: one part per write */
	assert_int_equal(s3_plan_parts(64 * MiB, 0, 8 * MiB, 8 * MiB, &p, err, sizeof(err)), 0);
	assert_int_equal(p.part_size, 8 * MiB);
	assert_int_equal(p.nparts, 8);
	/* a small bs: the smallest multiple reaching 5 MiB, so writes tile the parts */
	assert_int_equal(s3_plan_parts(20 * MiB, 0, 3 * MiB, 3 * MiB, &p, err, sizeof(err)), 0);
	assert_int_equal(p.part_size, 6 * MiB);
	assert_int_equal(p.nparts, 4);
	assert_int_equal(s3_part_len(&p, 3), 2 * MiB);
	/* small objects are one part: a single PUT */
	assert_int_equal(s3_plan_parts(100000, 0, 4096, 4096, &p, err, sizeof(err)), 0);
	assert_int_equal(p.nparts, 1);
	assert_int_equal(p.part_size, 100000);
	/* variable block sizes: 8 MiB parts */
	assert_int_equal(s3_plan_parts(100 * MiB, 0, 4096, 65536, &p, err, sizeof(err)), 0);
	assert_int_equal(p.part_size, 8 * MiB);
	assert_int_equal(p.nparts, 13);
	/* automatic parts grow to stay within 10,000, keeping the block multiple */
	assert_int_equal(s3_plan_parts(100000 * MiB, 0, MiB, MiB, &p, err, sizeof(err)), 0);
	assert_int_equal(p.part_size, 10 * MiB);
	assert_true(p.nparts <= S3_PARTS_MAX);
	/* explicit: checked, with the size to use */
	assert_int_equal(s3_plan_parts(60ull << 30, 5 * MiB, MiB, MiB, &p, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "12288 parts"));
	assert_non_null(strstr(err, "10,000"));
	assert_non_null(strstr(err, "s3_part_size=6292k"));
	assert_int_equal(s3_plan_parts(16 * MiB, MiB, MiB, MiB, &p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "5 MiB minimum"));
	assert_int_equal(s3_plan_parts(16 * MiB, 6ull << 30, MiB, MiB, &p, err, sizeof(err)),
			 -EINVAL);
	/* a small explicit part is fine when the object is one part anyway */
	assert_int_equal(s3_plan_parts(MiB, MiB, MiB, MiB, &p, err, sizeof(err)), 0);
	assert_int_equal(p.nparts, 1);
	/* the largest object S3 can hold, and one byte more */
	assert_int_equal(s3_plan_parts(10000ull * (5ull << 30), 0, MiB, MiB, &p, err, sizeof(err)),
			 0);
	assert_int_equal(s3_plan_parts(10000ull * (5ull << 30) + 1, 0, MiB, MiB, &p, err,
				       sizeof(err)),
			 -EFBIG);
	assert_int_equal(s3_plan_parts(0, 0, MiB, MiB, &p, err, sizeof(err)), -EINVAL);
}

static void test_cover(void **state)
{
	struct s3_cover c = { 0 };

	(void)state;
	assert_int_equal(s3_cover_add(&c, 100, 50), 0);
	assert_int_equal(s3_cover_add(&c, 0, 50), 0);
	assert_false(s3_cover_full(&c, 150));
	assert_true(s3_cover_overlaps(&c, 40, 20));
	assert_false(s3_cover_overlaps(&c, 50, 50));
	/* touching intervals merge */
	assert_int_equal(s3_cover_add(&c, 50, 50), 0);
	assert_int_equal(c.n, 1);
	assert_true(s3_cover_full(&c, 150));
	/* overlapping re-writes do not count twice */
	assert_int_equal(s3_cover_add(&c, 10, 20), 0);
	assert_int_equal(c.n, 1);
	assert_false(s3_cover_full(&c, 151));
	s3_cover_free(&c);
	/* many gaps, then one write fills them all */
	for (uint64_t i = 0; i < 1000; i++)
		assert_int_equal(s3_cover_add(&c, i * 10, 5), 0);
	assert_int_equal(c.n, 1000);
	assert_int_equal(s3_cover_add(&c, 0, 10000), 0);
	assert_int_equal(c.n, 1);
	assert_true(s3_cover_full(&c, 10000));
	s3_cover_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_path),
		cmocka_unit_test(test_endpoint_and_addressing),
		cmocka_unit_test(test_xml_error),
		cmocka_unit_test(test_xml_list),
		cmocka_unit_test(test_xml_tag_and_complete_body),
		cmocka_unit_test(test_part_plan),
		cmocka_unit_test(test_cover),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
