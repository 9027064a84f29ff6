/* az:// URIs, connection strings and credential resolution, with a fake environment. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/az_conf.h"

#define DEV_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
/* base64 of "not a real key, only for tests!!" */
#define OTHER_KEY "bm90IGEgcmVhbCBrZXksIG9ubHkgZm9yIHRlc3RzISE="

static void test_uri_ok(void **state)
{
	struct az_uri u;
	char err[256];

	(void)state;
	assert_int_equal(az_conf_parse_uri("az://devstoreaccount1/fio/data/train", &u, err,
					   sizeof(err)),
			 0);
	assert_string_equal(u.account, "devstoreaccount1");
	assert_string_equal(u.container, "fio");
	assert_string_equal(u.prefix, "data/train");
	assert_int_equal(az_conf_parse_uri("az://acct/my-container", &u, err, sizeof(err)), 0);
	assert_string_equal(u.container, "my-container");
	assert_string_equal(u.prefix, "");
	assert_int_equal(az_conf_parse_uri("az://acct/c0n/", &u, err, sizeof(err)), 0);
	assert_string_equal(u.prefix, "");
	assert_int_equal(az_conf_parse_uri("az://acct/$root/x y/é", &u, err, sizeof(err)), 0);
	assert_string_equal(u.container, "$root");
	assert_string_equal(u.prefix, "x y/é");
}

static void test_uri_errors(void **state)
{
	static const struct {
		const char *uri, *msg;
	} cases[] = {
		{ "s3://b/k", "not an az:// URI: expected az://<account>/<container>[/<prefix>]" },
		{ "az:///c", "az:// URI has no account: expected az://<account>/<container>[/<prefix>]" },
		{ "az://acct", "az://acct has no container: expected az://<account>/<container>[/<prefix>]" },
		{ "az://acct/", "az://acct has no container: expected az://<account>/<container>[/<prefix>]" },
		{ "az://MyAcct/c", "invalid storage account name 'MyAcct' in az:// URI: 3-24 lowercase "
				   "letters and digits" },
		{ "az://ab/ccc", "invalid storage account name 'ab' in az:// URI: 3-24 lowercase letters "
				 "and digits" },
		{ "az://acct/Data", "invalid container name 'Data' in az:// URI: 3-63 lowercase "
				    "letters, digits and single hyphens, starting and ending with a "
				    "letter or digit" },
		{ "az://acct/a--b/x", "invalid container name 'a--b' in az:// URI: 3-63 lowercase "
				      "letters, digits and single hyphens, starting and ending with a "
				      "letter or digit" },
		{ "az://acct/-ab", "invalid container name '-ab' in az:// URI: 3-63 lowercase "
				   "letters, digits and single hyphens, starting and ending with a "
				   "letter or digit" },
		{ "az://acct/c/b?sv=2021&sig=SECRET",
		  "az:// URI must not contain '?' or '#': give a SAS token through the SAS option or "
		  "AZURE_STORAGE_SAS_TOKEN, not in the URI" },
	};
	struct az_uri u;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(az_conf_parse_uri(cases[i].uri, &u, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, cases[i].msg);
	}
}

static void test_uri_prefix_too_long(void **state)
{
	char uri[1200] = "az://acct/cont/";
	struct az_uri u;
	char err[256];

	(void)state;
	memset(uri + strlen(uri), 'x', 1025);
	assert_int_equal(az_conf_parse_uri(uri, &u, err, sizeof(err)), -ENAMETOOLONG);
	assert_string_equal(err, "blob prefix in az:// URI is longer than 1024 characters");
	uri[15 + 1024] = '\0';
	assert_int_equal(az_conf_parse_uri(uri, &u, err, sizeof(err)), 0);
	assert_int_equal(strlen(u.prefix), 1024);
}

static void test_endpoint(void **state)
{
	char out[64], err[256];

	(void)state;
	assert_int_equal(az_conf_normalize_endpoint("http://127.0.0.1:10000/devstoreaccount1/", out,
						    sizeof(out), err, sizeof(err)),
			 39);
	assert_string_equal(out, "http://127.0.0.1:10000/devstoreaccount1");
	az_conf_normalize_endpoint("https://a.blob.core.windows.net", out, sizeof(out), err,
				   sizeof(err));
	assert_string_equal(out, "https://a.blob.core.windows.net");
	assert_int_equal(az_conf_normalize_endpoint("127.0.0.1:10000", out, sizeof(out), err,
						    sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "endpoint must start with http:// or https:// (e.g. "
				 "https://myaccount.blob.core.windows.net or "
				 "http://127.0.0.1:10000/devstoreaccount1)");
	assert_int_equal(az_conf_normalize_endpoint("http://h/?x=1", out, sizeof(out), err,
						    sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "endpoint must not contain a query, fragment or whitespace");
	assert_int_equal(az_conf_normalize_endpoint("https://", out, sizeof(out), err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "endpoint has no host");
	assert_int_equal(az_conf_normalize_endpoint("https://a.blob.core.windows.net", out, 20, err,
						    sizeof(err)),
			 -ENAMETOOLONG);
	assert_string_equal(err, "endpoint is longer than 19 characters");
}

static void test_conn_azure_portal(void **state)
{
	struct az_conn c;
	char err[256];

	(void)state;
	assert_int_equal(az_conf_parse_connection_string(
				 "DefaultEndpointsProtocol=https;AccountName=myaccount;AccountKey=" OTHER_KEY
				 ";EndpointSuffix=core.windows.net",
				 &c, err, sizeof(err)),
			 0);
	assert_string_equal(c.account, "myaccount");
	assert_string_equal(c.key_b64, OTHER_KEY);
	assert_string_equal(c.blob_endpoint, "https://myaccount.blob.core.windows.net");
	assert_string_equal(c.sas, "");
	assert_false(c.dev_storage);
	/* keys are case-insensitive, blanks around parts are dropped, suffix is applied */
	assert_int_equal(az_conf_parse_connection_string(" accountname = acct ; defaultendpointsprotocol=HTTP;"
							 "endpointsuffix=core.chinacloudapi.cn;;",
							 &c, err, sizeof(err)),
			 0);
	assert_string_equal(c.blob_endpoint, "http://acct.blob.core.chinacloudapi.cn");
	assert_string_equal(c.key_b64, "");
	az_conf_conn_clear(&c);
	assert_string_equal(c.account, "");
}

static void test_conn_dev_storage(void **state)
{
	struct az_conn c;
	char err[256];

	(void)state;
	assert_int_equal(az_conf_parse_connection_string("UseDevelopmentStorage=true", &c, err,
							 sizeof(err)),
			 0);
	assert_true(c.dev_storage);
	assert_string_equal(c.account, "devstoreaccount1");
	assert_string_equal(c.key_b64, DEV_KEY);
	assert_string_equal(c.blob_endpoint, "http://127.0.0.1:10000/devstoreaccount1");
	/* the form Azurite's documentation gives for a custom port */
	assert_int_equal(az_conf_parse_connection_string(
				 "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" DEV_KEY
				 ";BlobEndpoint=http://127.0.0.1:10010/devstoreaccount1;",
				 &c, err, sizeof(err)),
			 0);
	assert_string_equal(c.blob_endpoint, "http://127.0.0.1:10010/devstoreaccount1");
	assert_false(c.dev_storage);
}

static void test_conn_sas(void **state)
{
	struct az_conn c;
	char err[256];

	(void)state;
	assert_int_equal(az_conf_parse_connection_string(
				 "BlobEndpoint=https://acct.blob.core.windows.net/;QueueEndpoint=https://"
				 "acct.queue.core.windows.net/;SharedAccessSignature=?sv=2021-12-02&ss=b"
				 "&srt=sco&sp=rl&se=2030-01-01&sig=abc%3D",
				 &c, err, sizeof(err)),
			 0);
	assert_string_equal(c.account, "");
	assert_string_equal(c.blob_endpoint, "https://acct.blob.core.windows.net");
	assert_string_equal(c.sas, "sv=2021-12-02&ss=b&srt=sco&sp=rl&se=2030-01-01&sig=abc%3D");
}

static void test_conn_errors(void **state)
{
	static const struct {
		const char *cs, *msg;
	} cases[] = {
		{ "", "connection string is empty" },
		{ "AccountName=acct;" OTHER_KEY,
		  "connection string: part 2 is not a known Key=Value (not shown, it may be a "
		  "secret)" },
		{ "AccountName=acct;;AccountKey:abc",
		  "connection string: part 3 has no '=' (expected Key=Value;...)" },
		{ "AccountName=acct;AcountKey=" OTHER_KEY,
		  "connection string: unknown key 'AcountKey' (known: DefaultEndpointsProtocol, "
		  "AccountName, AccountKey, BlobEndpoint, SharedAccessSignature, EndpointSuffix, "
		  "UseDevelopmentStorage)" },
		{ "AccountName=a1;AccountName=a2", "connection string: AccountName is given twice" },
		{ "AccountName=acct;AccountKey=", "connection string: AccountKey is empty" },
		{ "AccountKey=" OTHER_KEY, "connection string has AccountKey but no AccountName" },
		{ "AccountName=acct;AccountKey=not-base64!", "connection string: AccountKey is not "
							    "valid base64" },
		{ "AccountName=acct;AccountKey=" OTHER_KEY ";SharedAccessSignature=sv=1&sig=x",
		  "connection string has both AccountKey and SharedAccessSignature; give one" },
		{ "BlobEndpoint=https://h;SharedAccessSignature=sv=1&sp=r",
		  "connection string: SharedAccessSignature: SAS token has no sig= parameter (give "
		  "the query string of a SAS URL)" },
		{ "AccountName=acct;DefaultEndpointsProtocol=ftp",
		  "connection string: DefaultEndpointsProtocol must be http or https" },
		{ "AccountName=Acct_1", "connection string: invalid AccountName 'Acct_1': 3-24 "
					"lowercase letters and digits" },
		{ "BlobEndpoint=127.0.0.1:10000",
		  "connection string: BlobEndpoint: endpoint must start with http:// or https:// "
		  "(e.g. https://myaccount.blob.core.windows.net or "
		  "http://127.0.0.1:10000/devstoreaccount1)" },
		{ "AccountName=acct;EndpointSuffix=https://core.windows.net",
		  "connection string: EndpointSuffix must be a DNS suffix such as core.windows.net" },
		{ "DefaultEndpointsProtocol=https;EndpointSuffix=core.windows.net",
		  "connection string names neither AccountName nor BlobEndpoint" },
		{ "UseDevelopmentStorage=yes", "connection string: UseDevelopmentStorage must be "
					       "'true'" },
		{ "UseDevelopmentStorage=true;AccountName=acct",
		  "connection string: UseDevelopmentStorage=true cannot be combined with other "
		  "keys; give AccountName, AccountKey and BlobEndpoint instead" },
	};
	struct az_conn c;
	char err[300];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(az_conf_parse_connection_string(cases[i].cs, &c, err, sizeof(err)),
				 -EINVAL);
		assert_string_equal(err, cases[i].msg);
		/* no secret (or a piece of one) in the message */
		assert_null(strstr(err, "bm90IGEgcmVh"));
		assert_null(strstr(err, "not-base64"));
		assert_string_equal(c.key_b64, "");
	}
}

/* A fake environment: NULL-terminated name/value pairs. */
static const char *fake_env(void *ctx, const char *name)
{
	const char *const *kv = ctx;

	for (; kv && kv[0]; kv += 2)
		if (strcmp(kv[0], name) == 0)
			return kv[1];
	return NULL;
}

static void test_cred_anonymous_default(void **state)
{
	const char *env[] = { "HOME", "/root", NULL };
	struct az_cred c;
	char err[256];

	(void)state;
	assert_int_equal(az_conf_resolve_credentials(NULL, "acct", fake_env, env, &c, err,
						     sizeof(err)),
			 0);
	assert_int_equal(c.kind, AZ_CRED_ANONYMOUS);
	assert_string_equal(c.endpoint, "https://acct.blob.core.windows.net");
	assert_string_equal(c.source, "anonymous (no credentials in options or environment); "
				      "endpoint https://acct.blob.core.windows.net from the default "
				      "for the account");
}

static void test_cred_env_connection_string(void **state)
{
	const char *env[] = { "AZURE_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true",
			      "AZURE_STORAGE_KEY", OTHER_KEY, NULL };
	struct az_cred c;
	char err[256];

	(void)state;
	assert_int_equal(az_conf_resolve_credentials(NULL, "devstoreaccount1", fake_env, env, &c,
						     err, sizeof(err)),
			 0);
	assert_int_equal(c.kind, AZ_CRED_SHARED_KEY);
	assert_int_equal(c.key.len, 64);
	assert_string_equal(c.endpoint, "http://127.0.0.1:10000/devstoreaccount1");
	assert_string_equal(c.source, "shared key from AZURE_STORAGE_CONNECTION_STRING "
				      "(UseDevelopmentStorage=true); endpoint "
				      "http://127.0.0.1:10000/devstoreaccount1 from "
				      "AZURE_STORAGE_CONNECTION_STRING");
	assert_null(strstr(c.source, "Eby8"));
	/* a connection string for another account is an error, not a silent 403 */
	assert_int_equal(az_conf_resolve_credentials(NULL, "otheracct", fake_env, env, &c, err,
						     sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "AZURE_STORAGE_CONNECTION_STRING is for account "
				 "'devstoreaccount1' but the az:// URI names 'otheracct'");
	assert_int_equal(c.kind, AZ_CRED_ANONYMOUS);
	assert_int_equal(c.key.len, 0);
}

static void test_cred_env_key_sas_bearer(void **state)
{
	const char *env_key[] = { "AZURE_STORAGE_ACCOUNT", "acct", "AZURE_STORAGE_KEY", OTHER_KEY,
				  "AZURE_STORAGE_SAS_TOKEN", "sv=1&sig=x", NULL };
	const char *env_wrong[] = { "AZURE_STORAGE_ACCOUNT", "other", "AZURE_STORAGE_KEY", OTHER_KEY,
				    NULL };
	const char *env_sas[] = { "AZURE_STORAGE_ACCOUNT", "", "AZURE_STORAGE_SAS_TOKEN",
				  "?sv=2021-12-02&sp=r&sig=abc", "AZURE_STORAGE_BEARER_TOKEN", "t",
				  NULL };
	const char *env_bearer[] = { "AZURE_STORAGE_BEARER_TOKEN", "eyJ0eXAi.e30.c2ln", NULL };
	const char *env_badsas[] = { "AZURE_STORAGE_SAS_TOKEN", "sv=1&sp=r&SECRET", NULL };
	struct az_cred c;
	char err[256];

	(void)state;
	assert_int_equal(az_conf_resolve_credentials(NULL, "acct", fake_env, env_key, &c, err,
						     sizeof(err)),
			 0);
	assert_int_equal(c.kind, AZ_CRED_SHARED_KEY);
	assert_int_equal(c.key.len, 32);
	assert_memory_equal(c.key.bytes, "not a real key, only for tests!!", 32);
	assert_string_equal(c.source, "shared key from AZURE_STORAGE_KEY; endpoint "
				      "https://acct.blob.core.windows.net from the default for the "
				      "account");

	assert_int_equal(az_conf_resolve_credentials(NULL, "acct", fake_env, env_wrong, &c, err,
						     sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "AZURE_STORAGE_ACCOUNT is 'other' but the az:// URI names 'acct'; "
				 "AZURE_STORAGE_KEY is for another account");

	assert_int_equal(az_conf_resolve_credentials(NULL, "acct", fake_env, env_sas, &c, err,
						     sizeof(err)),
			 0);
	assert_int_equal(c.kind, AZ_CRED_SAS);
	assert_string_equal(c.sas, "sv=2021-12-02&sp=r&sig=abc");
	assert_string_equal(c.source, "SAS token from AZURE_STORAGE_SAS_TOKEN; endpoint "
				      "https://acct.blob.core.windows.net from the default for the "
				      "account");

	assert_int_equal(az_conf_resolve_credentials(NULL, "acct", fake_env, env_bearer, &c, err,
						     sizeof(err)),
			 0);
	assert_int_equal(c.kind, AZ_CRED_BEARER);
	assert_string_equal(c.token, "eyJ0eXAi.e30.c2ln");
	assert_null(strstr(c.source, "eyJ0"));

	assert_int_equal(az_conf_resolve_credentials(NULL, "acct", fake_env, env_badsas, &c, err,
						     sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "AZURE_STORAGE_SAS_TOKEN: SAS token has no sig= parameter (give "
				 "the query string of a SAS URL)");
}

static void test_cred_options_win(void **state)
{
	const char *env[] = { "AZURE_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true", NULL };
	struct az_cred_opts o = { .sas_token = "sv=2021-12-02&sp=r&sig=abc",
				  .endpoint = "http://127.0.0.1:10010/devstoreaccount1/" };
	struct az_cred c;
	char err[256];

	(void)state;
	assert_int_equal(az_conf_resolve_credentials(&o, "devstoreaccount1", fake_env, env, &c, err,
						     sizeof(err)),
			 0);
	assert_int_equal(c.kind, AZ_CRED_SAS);
	assert_string_equal(c.endpoint, "http://127.0.0.1:10010/devstoreaccount1");
	assert_string_equal(c.source, "SAS token from the SAS token option; endpoint "
				      "http://127.0.0.1:10010/devstoreaccount1 from the endpoint "
				      "option");

	o = (struct az_cred_opts){ .anonymous = true };
	assert_int_equal(az_conf_resolve_credentials(&o, "devstoreaccount1", fake_env, env, &c, err,
						     sizeof(err)),
			 0);
	assert_int_equal(c.kind, AZ_CRED_ANONYMOUS);
	assert_string_equal(c.source, "anonymous (requested by option); endpoint "
				      "https://devstoreaccount1.blob.core.windows.net from the "
				      "default for the account");

	/* the endpoint option overrides the connection string's */
	o = (struct az_cred_opts){ .connection_string = "UseDevelopmentStorage=true",
				   .endpoint = "http://localhost:10000/devstoreaccount1" };
	assert_int_equal(az_conf_resolve_credentials(&o, "devstoreaccount1", NULL, NULL, &c, err,
						     sizeof(err)),
			 0);
	assert_int_equal(c.kind, AZ_CRED_SHARED_KEY);
	assert_string_equal(c.endpoint, "http://localhost:10000/devstoreaccount1");

	o = (struct az_cred_opts){ .account_key = OTHER_KEY };
	assert_int_equal(az_conf_resolve_credentials(&o, "acct", fake_env, env, &c, err,
						     sizeof(err)),
			 0);
	assert_int_equal(c.kind, AZ_CRED_SHARED_KEY);
	assert_string_equal(c.source, "shared key from the account key option; endpoint "
				      "https://acct.blob.core.windows.net from the default for the "
				      "account");
	az_conf_cred_clear(&c);
	assert_int_equal(c.key.len, 0);
}

static void test_cred_option_errors(void **state)
{
	struct az_cred_opts o = { .account_key = OTHER_KEY, .sas_token = "sv=1&sig=x" };
	struct az_cred c;
	char err[256];

	(void)state;
	assert_int_equal(az_conf_resolve_credentials(&o, "acct", NULL, NULL, &c, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "conflicting credential options: account key and SAS token; give "
				 "only one");
	o = (struct az_cred_opts){ .account_key = "c2VjcmV0!" };
	assert_int_equal(az_conf_resolve_credentials(&o, "acct", NULL, NULL, &c, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "the account key option: account key is not valid base64 (9 "
				 "characters; check for a truncated or quoted value)");
	o = (struct az_cred_opts){ .bearer_token = "Bearer eyJ0" };
	assert_int_equal(az_conf_resolve_credentials(&o, "acct", NULL, NULL, &c, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "the bearer token option: bearer token contains whitespace or "
				 "control characters (at offset 6)");
	o = (struct az_cred_opts){ .endpoint = "localhost:10000" };
	assert_int_equal(az_conf_resolve_credentials(&o, "acct", NULL, NULL, &c, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "endpoint option: endpoint must start with http:// or https:// "
				 "(e.g. https://myaccount.blob.core.windows.net or "
				 "http://127.0.0.1:10000/devstoreaccount1)");
	o = (struct az_cred_opts){ .connection_string = "AccountName=acct;AccountKey=%%%" };
	assert_int_equal(az_conf_resolve_credentials(&o, "acct", NULL, NULL, &c, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "the connection string option: connection string: AccountKey is "
				 "not valid base64");
	assert_int_equal(az_conf_resolve_credentials(NULL, "", NULL, NULL, &c, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "no storage account to resolve credentials for");
	assert_string_equal(az_conf_cred_kind_name(AZ_CRED_BEARER), "bearer token");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uri_ok),
		cmocka_unit_test(test_uri_errors),
		cmocka_unit_test(test_uri_prefix_too_long),
		cmocka_unit_test(test_endpoint),
		cmocka_unit_test(test_conn_azure_portal),
		cmocka_unit_test(test_conn_dev_storage),
		cmocka_unit_test(test_conn_sas),
		cmocka_unit_test(test_conn_errors),
		cmocka_unit_test(test_cred_anonymous_default),
		cmocka_unit_test(test_cred_env_connection_string),
		cmocka_unit_test(test_cred_env_key_sas_bearer),
		cmocka_unit_test(test_cred_options_win),
		cmocka_unit_test(test_cred_option_errors),
	};

	return cmocka_run_group_tests_name("azure_conf", tests, NULL, NULL);
}
