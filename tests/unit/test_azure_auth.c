/* Shared Key and SAS signing. Strings-to-sign come from Microsoft's documentation ("Authorize
 * with Shared Key", "Create a service SAS", "Create an account SAS"); those pages print
 * placeholder signatures made with keys they do not give, so expected signatures here are
 * computed independently (openssl dgst -mac HMAC) with the public Azurite development key, and
 * Azurite itself accepts them (tests/tools/azure-smoke). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/azure_auth.h"

#define DEV_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

static struct azure_key dev_key(void)
{
	struct azure_key k;
	char err[256];

	assert_int_equal(azure_auth_key_from_base64(&k, DEV_KEY, err, sizeof(err)), 0);
	assert_int_equal(k.len, 64);
	return k;
}

static void test_hmac_rfc4231(void **state)
{
	/* RFC 4231 test case 2: key "Jefe" */
	struct azure_key k;
	char err[128], sig[AZURE_SIG_SIZE];
	const char *msg = "what do ya want for nothing?";

	(void)state;
	assert_int_equal(azure_auth_key_from_base64(&k, "SmVmZQ==", err, sizeof(err)), 0);
	assert_int_equal(azure_auth_hmac_b64(&k, msg, strlen(msg), sig, sizeof(sig)), 44);
	/* hex 5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843 */
	assert_string_equal(sig, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
}

static void test_key_errors(void **state)
{
	struct azure_key k;
	char err[256];

	(void)state;
	assert_int_equal(azure_auth_key_from_base64(&k, "", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "account key is empty");
	assert_int_equal(azure_auth_key_from_base64(&k, "c2VjcmV0!!", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "account key is not valid base64 (10 characters; check for a "
				 "truncated or quoted value)");
	assert_null(strstr(err, "c2VjcmV0"));
	k = dev_key();
	azure_auth_key_clear(&k);
	assert_int_equal(k.len, 0);
	assert_int_equal(k.bytes[0], 0);
}

static void test_date(void **state)
{
	char d[AZURE_DATE_SIZE];

	(void)state;
	/* the documentation's example date */
	assert_int_equal(azure_auth_date(1255297753, d, sizeof(d)), 29);
	assert_string_equal(d, "Sun, 11 Oct 2009 21:49:13 GMT");
	assert_int_equal(azure_auth_date(1435361952, d, sizeof(d)), 29);
	assert_string_equal(d, "Fri, 26 Jun 2015 23:39:12 GMT");
	assert_int_equal(azure_auth_date(0, d, 29), -ENOSPC);
}

/* "Authorize with Shared Key": the Get Container Metadata string-to-sign. */
static void test_sts_doc_get_container_metadata(void **state)
{
	const struct azure_header h[] = {
		{ "x-ms-version", "2009-09-19" },
		{ "x-ms-date", "Sun, 11 Oct 2009 21:49:13 GMT" },
	};
	char out[1024], err[256], auth[256];
	struct azure_key k = dev_key();
	const char *url =
		"http://myaccount.blob.core.windows.net/mycontainer?restype=container&comp=metadata"
		"&timeout=20";

	(void)state;
	assert_int_equal(azure_auth_string_to_sign("GET", url, h, 2, "myaccount", out, sizeof(out),
						   err, sizeof(err)),
			 144);
	assert_string_equal(out, "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\n"
				 "x-ms-version:2009-09-19\n/myaccount/mycontainer\ncomp:metadata\n"
				 "restype:container\ntimeout:20");
	assert_int_equal(azure_auth_shared_key_header("GET", url, h, 2, "myaccount", &k, auth,
						      sizeof(auth), err, sizeof(err)),
			 79);
	assert_string_equal(
		auth, "Authorization: SharedKey myaccount:m649E40iEJ3QQyCg9/WI2Fa9zS+RB/2rEBcLJb0CKs0=");
}

/* "Content-Length Header in Version 2015-02-21 and Later": a zero length is an empty line. */
static void test_sts_doc_content_length_zero(void **state)
{
	const struct azure_header h[] = {
		{ "x-ms-version", "2015-02-21" },
		{ "x-ms-date", "Fri, 26 Jun 2015 23:39:12 GMT" },
		{ "Content-Length", "0" },
	};
	const struct azure_header h1[] = {
		{ "content-length", "1024" },
		{ "x-ms-date", "Fri, 26 Jun 2015 23:39:12 GMT" },
		{ "x-ms-version", "2015-02-21" },
	};
	char out[1024], err[256];

	(void)state;
	azure_auth_string_to_sign("PUT", "http://myaccount/mycontainer?restype=container&timeout=30",
				  h, 3, "myaccount", out, sizeof(out), err, sizeof(err));
	assert_string_equal(out, "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\n"
				 "x-ms-version:2015-02-21\n/myaccount/mycontainer\nrestype:container\n"
				 "timeout:30");
	azure_auth_string_to_sign("put", "http://myaccount/mycontainer?restype=container&timeout=30",
				  h1, 3, "myaccount", out, sizeof(out), err, sizeof(err));
	assert_string_equal(out, "PUT\n\n\n1024\n\n\n\n\n\n\n\n\nx-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\n"
				 "x-ms-version:2015-02-21\n/myaccount/mycontainer\nrestype:container\n"
				 "timeout:30");
}

/* The documentation's List Blobs canonicalized resource: repeated parameters are sorted and
 * comma-joined. */
static void test_sts_doc_list_blobs_multivalue(void **state)
{
	const struct azure_header h[] = { { "x-ms-version", "2021-12-02" } };
	char out[1024], err[256];

	(void)state;
	azure_auth_string_to_sign("GET",
				  "http://myaccount.blob.core.windows.net/mycontainer?restype=container"
				  "&comp=list&include=snapshots&include=metadata&include=uncommittedblobs",
				  h, 1, "myaccount", out, sizeof(out), err, sizeof(err));
	assert_string_equal(out, "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-version:2021-12-02\n"
				 "/myaccount/mycontainer\ncomp:list\n"
				 "include:metadata,snapshots,uncommittedblobs\nrestype:container");
}

/* Every standard header in its place, x-ms headers lowercased, sorted and whitespace-folded,
 * other headers ignored, query names lowercased and values decoded. */
static void test_sts_all_fields(void **state)
{
	const struct azure_header h[] = {
		{ "Range", "bytes=0-99" },
		{ "If-Unmodified-Since", "IUS" },
		{ "If-None-Match", "INM" },
		{ "If-Match", "\"0x8D\"" },
		{ "If-Modified-Since", "IMS" },
		{ "Date", "D" },
		{ "Content-Type", "application/octet-stream" },
		{ "Content-MD5", "MD5" },
		{ "Content-Length", "100" },
		{ "Content-Language", "en" },
		{ "Content-Encoding", "gzip" },
		{ "X-MS-Meta-B", "  two   words\t and \"quoted   stays\"  " },
		{ "x-ms-meta-a", "" },
		{ "User-Agent", "fio-dlio" },
		{ "x-ms-blob-type", "BlockBlob" },
	};
	char out[2048], err[256];

	(void)state;
	azure_auth_string_to_sign("PUT",
				  "https://acct.blob.core.windows.net/c/dir/a%20b.bin?Timeout=30"
				  "&prefix=x%2Fy%3Dz&marker=a+b#frag",
				  h, sizeof(h) / sizeof(h[0]), "acct", out, sizeof(out), err,
				  sizeof(err));
	assert_string_equal(out, "PUT\ngzip\nen\n100\nMD5\napplication/octet-stream\nD\nIMS\n"
				 "\"0x8D\"\nINM\nIUS\nbytes=0-99\n"
				 "x-ms-blob-type:BlockBlob\nx-ms-meta-a:\n"
				 "x-ms-meta-b:two words and \"quoted   stays\"\n"
				 "/acct/c/dir/a%20b.bin\nmarker:a b\nprefix:x/y=z\ntimeout:30");
}

/* Azurite: path-style URL, so the canonicalized resource names the account twice. */
static void test_sts_azurite_path_style(void **state)
{
	const struct azure_header h[] = {
		{ "x-ms-date", "Fri, 26 Jun 2015 23:39:12 GMT" },
		{ "x-ms-version", "2021-12-02" },
		{ "x-ms-range", "bytes=0-1023" },
	};
	struct azure_key k = dev_key();
	char out[1024], err[256];
	const char *url = "http://127.0.0.1:10000/devstoreaccount1/fio/data/file_0001.npz";

	(void)state;
	azure_auth_string_to_sign("GET", url, h, 3, "devstoreaccount1", out, sizeof(out), err,
				  sizeof(err));
	assert_string_equal(out, "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\n"
				 "x-ms-range:bytes=0-1023\nx-ms-version:2021-12-02\n"
				 "/devstoreaccount1/devstoreaccount1/fio/data/file_0001.npz");
	azure_auth_shared_key_header("GET", url, h, 3, "devstoreaccount1", &k, out, sizeof(out), err,
				     sizeof(err));
	assert_string_equal(out, "Authorization: SharedKey devstoreaccount1:"
				 "1ejJBlbhMAAOMP88DEwwmUKFO43y4WhjblaDsXtLwNg=");
}

static void test_sts_account_root_and_valueless_param(void **state)
{
	char out[512], err[256];

	(void)state;
	/* List Containers: no path at all, and a parameter without '=' */
	azure_auth_string_to_sign("GET", "https://acct.blob.core.windows.net?comp=list&flag", NULL, 0,
				  "acct", out, sizeof(out), err, sizeof(err));
	assert_string_equal(out, "GET\n\n\n\n\n\n\n\n\n\n\n\n/acct/\ncomp:list\nflag:");
	azure_auth_string_to_sign("GET", "http://127.0.0.1:10000/devstoreaccount1?comp=list", NULL, 0,
				  "devstoreaccount1", out, sizeof(out), err, sizeof(err));
	assert_string_equal(out,
			    "GET\n\n\n\n\n\n\n\n\n\n\n\n/devstoreaccount1/devstoreaccount1\ncomp:list");
}

static void test_sts_errors(void **state)
{
	const struct azure_header dup[] = { { "x-ms-date", "a" }, { "X-MS-DATE", "b" } };
	const struct azure_header noname[] = { { "", "a" } };
	char out[64], err[256];

	(void)state;
	assert_int_equal(azure_auth_string_to_sign("GET", "http://h/c/b", dup, 2, "a", out,
						   sizeof(out), err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "request header X-MS-DATE is given twice");
	assert_int_equal(azure_auth_string_to_sign("GET", "http://h/c/b", noname, 1, "a", out,
						   sizeof(out), err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "request header 0 has no name");
	assert_int_equal(azure_auth_string_to_sign("GET", "/c/b", NULL, 0, "a", out, sizeof(out),
						   err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "URL has no scheme:// (got a path?)");
	assert_int_equal(azure_auth_string_to_sign("GET", "http://h/c?x=%zz", NULL, 0, "a", out,
						   sizeof(out), err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "malformed value of query parameter 'x' in URL");
	assert_int_equal(azure_auth_string_to_sign("GET", "http://h/c?x=%0A", NULL, 0, "a", out,
						   sizeof(out), err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(azure_auth_string_to_sign("GET", "http://h/c/b", NULL, 0, "a", out, 16,
						   err, sizeof(err)),
			 -ENOSPC);
	assert_string_equal(err, "string-to-sign does not fit in 16 bytes");
	assert_int_equal(azure_auth_string_to_sign("GET", "http://h/c/b", NULL, 0, "", out,
						   sizeof(out), err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "method, URL and account are required");
}

static void test_bearer(void **state)
{
	char out[64], err[128];

	(void)state;
	assert_int_equal(azure_auth_bearer_header("eyJ0eXAi.e30.sig", out, sizeof(out), err,
						  sizeof(err)),
			 38);
	assert_string_equal(out, "Authorization: Bearer eyJ0eXAi.e30.sig");
	assert_int_equal(azure_auth_bearer_header("eyJ0\neyJ", out, sizeof(out), err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "bearer token contains whitespace or control characters (at "
				 "offset 4)");
	assert_int_equal(azure_auth_bearer_header("", out, sizeof(out), err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "bearer token is empty");
}

/* "Create a service SAS": the example URI (sv=2019-02-02, read/write on one blob, an IP range,
 * https only) uses the 2018-11-09 string-to-sign. */
static void test_service_sas_doc_example(void **state)
{
	struct azure_sas_service p = {
		.version = "2019-02-02",
		.permissions = "rw",
		.start = "2019-04-29T22:18:26Z",
		.expiry = "2019-04-30T02:23:26Z",
		.container = "sascontainer",
		.blob = "sasblob.txt",
		.ip = "168.1.5.60-168.1.5.70",
		.protocol = "https",
	};
	struct azure_key k = dev_key();
	char out[1024], err[256];

	(void)state;
	assert_int_equal(azure_auth_sas_service_string_to_sign("myaccount", &p, out, sizeof(out),
							       err, sizeof(err)),
			 133);
	assert_string_equal(out, "rw\n2019-04-29T22:18:26Z\n2019-04-30T02:23:26Z\n"
				 "/blob/myaccount/sascontainer/sasblob.txt\n\n168.1.5.60-168.1.5.70\n"
				 "https\n2019-02-02\nb\n\n\n\n\n\n");
	assert_true(azure_auth_sas_service("myaccount", &k, &p, out, sizeof(out), err,
					   sizeof(err)) > 0);
	/* the documentation's token, parameter for parameter, signed with the dev key */
	assert_string_equal(out, "sv=2019-02-02&st=2019-04-29T22%3A18%3A26Z"
				 "&se=2019-04-30T02%3A23%3A26Z&sr=b&sp=rw&sip=168.1.5.60-168.1.5.70"
				 "&spr=https&sig=AGjiUQ8vJ4ZICHCdem8R25vt1EuP3vmcdSuNN1Hmzks%3D");
}

/* The same SAS at our default version: the 2020-12-06 layout adds the encryption scope line. */
static void test_service_sas_2020_layout(void **state)
{
	struct azure_sas_service p = {
		.permissions = "rw",
		.start = "2019-04-29T22:18:26Z",
		.expiry = "2019-04-30T02:23:26Z",
		.container = "sascontainer",
		.blob = "sasblob.txt",
		.ip = "168.1.5.60-168.1.5.70",
		.protocol = "https",
	};
	struct azure_key k = dev_key();
	char out[1024], err[256];

	(void)state;
	assert_string_equal(AZURE_SAS_VERSION, "2021-12-02");
	azure_auth_sas_service_string_to_sign("myaccount", &p, out, sizeof(out), err, sizeof(err));
	assert_string_equal(out, "rw\n2019-04-29T22:18:26Z\n2019-04-30T02:23:26Z\n"
				 "/blob/myaccount/sascontainer/sasblob.txt\n\n168.1.5.60-168.1.5.70\n"
				 "https\n2021-12-02\nb\n\n\n\n\n\n\n");
	azure_auth_sas_service("myaccount", &k, &p, out, sizeof(out), err, sizeof(err));
	assert_string_equal(out, "sv=2021-12-02&st=2019-04-29T22%3A18%3A26Z"
				 "&se=2019-04-30T02%3A23%3A26Z&sr=b&sp=rw&sip=168.1.5.60-168.1.5.70"
				 "&spr=https&sig=QH4krPn8VrbNb93fIII5WkXq4mtGC2ltbQIvXdEMX9k%3D");
}

/* The documentation's canonicalized resources: container "music", blob "music/intro.mp3";
 * blob names are signed URL-decoded; response-header overrides fill the last five lines. */
static void test_service_sas_resources(void **state)
{
	struct azure_sas_service c = {
		.permissions = "racwdl", .expiry = "2030-01-01", .container = "music"
	};
	struct azure_sas_service b = {
		.permissions = "r",
		.expiry = "2030-01-01",
		.container = "music",
		.blob = "dir/intro 1.mp3",
		.encryption_scope = "scope",
		.cache_control = "no-cache",
		.content_disposition = "inline",
		.content_encoding = "identity",
		.content_language = "en",
		.content_type = "audio/mpeg",
	};
	char out[1024], err[256];

	(void)state;
	azure_auth_sas_service_string_to_sign("myaccount", &c, out, sizeof(out), err, sizeof(err));
	assert_string_equal(out, "racwdl\n\n2030-01-01\n/blob/myaccount/music\n\n\n\n2021-12-02\nc\n"
				 "\n\n\n\n\n\n");
	azure_auth_sas_service_string_to_sign("myaccount", &b, out, sizeof(out), err, sizeof(err));
	assert_string_equal(out, "r\n\n2030-01-01\n/blob/myaccount/music/dir/intro 1.mp3\n\n\n\n"
				 "2021-12-02\nb\n\nscope\nno-cache\ninline\nidentity\nen\n"
				 "audio/mpeg");
}

static void test_service_sas_errors(void **state)
{
	struct azure_sas_service p = { .permissions = "r", .expiry = "2030-01-01" };
	struct azure_key none = { .len = 0 };
	char out[1024], err[256];

	(void)state;
	assert_int_equal(azure_auth_sas_service_string_to_sign("a", &p, out, sizeof(out), err,
							       sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "service SAS needs a container");
	p.container = "c";
	p.version = "2015-04-05";
	assert_int_equal(azure_auth_sas_service_string_to_sign("a", &p, out, sizeof(out), err,
							       sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "service SAS version 2015-04-05 is not supported (2018-11-09 or "
				 "later)");
	p.version = "2021-12";
	azure_auth_sas_service_string_to_sign("a", &p, out, sizeof(out), err, sizeof(err));
	assert_string_equal(err, "SAS version '2021-12' is not YYYY-MM-DD");
	p.version = "2019-02-02";
	p.encryption_scope = "s";
	azure_auth_sas_service_string_to_sign("a", &p, out, sizeof(out), err, sizeof(err));
	assert_string_equal(err, "SAS encryption scope needs version 2020-12-06 or later (got "
				 "2019-02-02)");
	p.version = NULL;
	p.encryption_scope = NULL;
	p.expiry = NULL;
	azure_auth_sas_service_string_to_sign("a", &p, out, sizeof(out), err, sizeof(err));
	assert_string_equal(err, "service SAS needs permissions and an expiry time (or a stored "
				 "access policy identifier)");
	p.identifier = "policy1";
	assert_true(azure_auth_sas_service_string_to_sign("a", &p, out, sizeof(out), err,
							  sizeof(err)) > 0);
	p.blob = "b\nx";
	assert_int_equal(azure_auth_sas_service_string_to_sign("a", &p, out, sizeof(out), err,
							       sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "SAS field blob contains a newline");
	p.blob = "b";
	assert_int_equal(azure_auth_sas_service("a", &none, &p, out, sizeof(out), err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "no account key to sign the SAS with");
}

/* "Create an account SAS": the example (sv=2015-04-05, ss=bfqt, srt=sco, sp=rl, an IP range, no
 * start, no protocol) -- the string ends with a newline. */
static void test_account_sas_doc_example(void **state)
{
	struct azure_sas_account p = {
		.version = "2015-04-05",
		.permissions = "rl",
		.services = "bfqt",
		.resource_types = "sco",
		.expiry = "2015-09-20T08:49Z",
		.ip = "168.1.5.60-168.1.5.70",
	};
	struct azure_key k = dev_key();
	char out[1024], err[256];

	(void)state;
	assert_int_equal(azure_auth_sas_account_string_to_sign("storagesample", &p, out,
							       sizeof(out), err, sizeof(err)),
			 79);
	assert_string_equal(out, "storagesample\nrl\nbfqt\nsco\n\n2015-09-20T08:49Z\n"
				 "168.1.5.60-168.1.5.70\n\n2015-04-05\n");
	azure_auth_sas_account("storagesample", &k, &p, out, sizeof(out), err, sizeof(err));
	assert_string_equal(out, "sv=2015-04-05&ss=bfqt&srt=sco&sp=rl&se=2015-09-20T08%3A49Z"
				 "&sip=168.1.5.60-168.1.5.70"
				 "&sig=QgCMoAZh3jDD6rLz4zNm04rSkWsEso%2Bu1Z5ydmQhr9s%3D");
}

static void test_account_sas_2020_layout(void **state)
{
	struct azure_sas_account p = { .permissions = "rwdlac", .expiry = "2030-01-01T00:00:00Z" };
	struct azure_key k = dev_key();
	char out[1024], err[256];

	(void)state;
	azure_auth_sas_account_string_to_sign("devstoreaccount1", &p, out, sizeof(out), err,
					      sizeof(err));
	assert_string_equal(out, "devstoreaccount1\nrwdlac\nb\nsco\n\n2030-01-01T00:00:00Z\n\n\n"
				 "2021-12-02\n\n");
	azure_auth_sas_account("devstoreaccount1", &k, &p, out, sizeof(out), err, sizeof(err));
	assert_string_equal(out, "sv=2021-12-02&ss=b&srt=sco&sp=rwdlac&se=2030-01-01T00%3A00%3A00Z"
				 "&sig=ZLaJezJkcugVs63%2BahxsX%2F5r9XQ%2FrAoLCgRMXn4jSrM%3D");
	p.expiry = NULL;
	assert_int_equal(azure_auth_sas_account("a", &k, &p, out, sizeof(out), err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "account SAS needs permissions and an expiry time");
	p.expiry = "x";
	p.version = "2015-02-21";
	azure_auth_sas_account("a", &k, &p, out, sizeof(out), err, sizeof(err));
	assert_string_equal(err, "account SAS version 2015-02-21 is not supported (2015-04-05 or "
				 "later)");
	p.version = NULL;
	assert_int_equal(azure_auth_sas_account("a", &k, &p, out, 20, err, sizeof(err)), -ENOSPC);
	assert_string_equal(err, "SAS token does not fit in 20 bytes");
}

static void test_sas_append_and_check(void **state)
{
	char out[256], err[256];
	const char *sas = "sv=2021-12-02&sr=b&sp=r&se=2030-01-01&sig=abc%3D";

	(void)state;
	assert_true(azure_auth_sas_append("http://h/a/c/b", sas, out, sizeof(out), err,
					  sizeof(err)) > 0);
	assert_string_equal(out, "http://h/a/c/b?sv=2021-12-02&sr=b&sp=r&se=2030-01-01&sig=abc%3D");
	azure_auth_sas_append("http://h/a/c?restype=container&comp=list", "?sv=1&sig=x", out,
			      sizeof(out), err, sizeof(err));
	assert_string_equal(out, "http://h/a/c?restype=container&comp=list&sv=1&sig=x");

	assert_int_equal(azure_auth_sas_check("sv=2021-12-02&sp=r&se=2030-01-01", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "SAS token has no sig= parameter (give the query string of a SAS "
				 "URL)");
	assert_int_equal(azure_auth_sas_check("sp=r&sig=SECRETSIG", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "SAS token has no sv= parameter");
	assert_int_equal(azure_auth_sas_check("sv=1&sig=SECRET\n", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "SAS token has a space, control character, '?' or '#' at offset 15 "
				 "(quoted or pasted with a newline?)");
	assert_null(strstr(err, "SECRET"));
	assert_int_equal(azure_auth_sas_check("?", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "SAS token is empty");
	assert_int_equal(azure_auth_sas_append("http://h/a/c/b", sas, out, 20, err, sizeof(err)),
			 -ENOSPC);
	assert_string_equal(err, "URL with SAS does not fit in 20 bytes");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_key_errors),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_sts_doc_get_container_metadata),
		cmocka_unit_test(test_sts_doc_content_length_zero),
		cmocka_unit_test(test_sts_doc_list_blobs_multivalue),
		cmocka_unit_test(test_sts_all_fields),
		cmocka_unit_test(test_sts_azurite_path_style),
		cmocka_unit_test(test_sts_account_root_and_valueless_param),
		cmocka_unit_test(test_sts_errors),
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_service_sas_doc_example),
		cmocka_unit_test(test_service_sas_2020_layout),
		cmocka_unit_test(test_service_sas_resources),
		cmocka_unit_test(test_service_sas_errors),
		cmocka_unit_test(test_account_sas_doc_example),
		cmocka_unit_test(test_account_sas_2020_layout),
		cmocka_unit_test(test_sas_append_and_check),
	};

	return cmocka_run_group_tests_name("azure_auth", tests, NULL, NULL);
}
