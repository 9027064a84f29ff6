/*
 * Credential, region and endpoint resolution, hermetic: a fake environment and a temporary
 * home directory per test; the real environment and ~/.aws are never read.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/aws_creds.h"

#define AKID "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define AKID2 "AKIAI44QH8DHBEXAMPLE"
#define SECRET2 "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
#define AKID3 "ASIAJEXAMPLEXEG2JICEA"
#define SECRET3 "9drTJvcXLB89EXAMPLELB8923FB892xMFI"
#define TOKEN3 "IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZVERYLONGSTRINGEXAMPLE"

struct fx {
	char home[256];
	const char *env[16]; /* "NAME=value" */
	struct aws_creds_input in;
	struct aws_creds out;
	char err[1024];
};

static const char *fake_getenv(const char *name, void *arg)
{
	struct fx *f = arg;
	size_t n = strlen(name);

	for (size_t i = 0; i < 16 && f->env[i]; i++)
		if (!strncmp(f->env[i], name, n) && f->env[i][n] == '=')
			return f->env[i] + n + 1;
	return NULL;
}

static void setenv_fx(struct fx *f, const char *kv)
{
	for (size_t i = 0; i < 15; i++) {
		if (!f->env[i]) {
			f->env[i] = kv;
			return;
		}
	}
	fail_msg("too many fake variables");
}

static void write_file(struct fx *f, const char *rel, const char *text)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->home, rel);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char aws[300];

	snprintf(f->home, sizeof(f->home), "/tmp/fiodlio-creds-XXXXXX");
	if (!mkdtemp(f->home))
		return -1;
	snprintf(aws, sizeof(aws), "%s/.aws", f->home);
	mkdir(aws, 0700);
	f->in.getenv_fn = fake_getenv;
	f->in.getenv_arg = f;
	f->in.home = f->home;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->home);
	if (system(cmd))
		return -1;
	free(f);
	return 0;
}

/* Secrets must never leak into what a job prints. */
static void assert_no_secret_in_text(const struct fx *f)
{
	const char *const secrets[] = { SECRET, SECRET2, SECRET3, TOKEN3 };
	const char *const texts[] = { f->out.source, f->out.region_source, f->out.endpoint_source,
				      f->out.profile, f->out.endpoint, f->err };

	for (size_t i = 0; i < sizeof(secrets) / sizeof(*secrets); i++)
		for (size_t j = 0; j < sizeof(texts) / sizeof(*texts); j++)
			if (strstr(texts[j], secrets[i]))
				fail_msg("secret leaked into '%s'", texts[j]);
}

static int resolve(struct fx *f)
{
	int ret;

	f->err[0] = '\0';
	ret = aws_creds_resolve(&f->in, &f->out, f->err, sizeof(f->err));
	assert_no_secret_in_text(f);
	return ret;
}

static void expect_error(struct fx *f, int want, const char *msg)
{
	assert_int_equal(resolve(f), want);
	assert_string_equal(f->err, msg);
	assert_string_equal(f->out.secret_key, "");
}

static void test_explicit_options(void **state)
{
	struct fx *f = *state;

	write_file(f, ".aws/credentials", "[default]\naws_access_key_id=" AKID2
					  "\naws_secret_access_key=" SECRET2 "\n");
	setenv_fx(f, "AWS_ACCESS_KEY_ID=" AKID3);
	setenv_fx(f, "AWS_SECRET_ACCESS_KEY=" SECRET3);
	f->in.access_key = AKID;
	f->in.secret_key = SECRET;
	assert_int_equal(resolve(f), 0);
	assert_string_equal(f->out.access_key, AKID);
	assert_string_equal(f->out.secret_key, SECRET);
	assert_string_equal(f->out.session_token, "");
	assert_int_equal(f->out.anonymous, 0);
	assert_string_equal(f->out.source, "engine options (access key ****MPLE)");
	assert_string_equal(f->out.region, "us-east-1");
	assert_string_equal(f->out.region_source, "default");
	assert_string_equal(f->out.endpoint, "https://s3.us-east-1.amazonaws.com");
	assert_int_equal(f->out.endpoint_custom, 0);
	assert_string_equal(f->out.endpoint_source, "AWS for region us-east-1");
}

static void test_explicit_half_given(void **state)
{
	struct fx *f = *state;

	f->in.access_key = AKID;
	expect_error(f, -EINVAL, "the engine options give an access key but not a secret key");
	f->in.access_key = NULL;
	f->in.secret_key = SECRET;
	expect_error(f, -EINVAL, "the engine options give a secret key but not an access key");
}

static void test_environment(void **state)
{
	struct fx *f = *state;

	write_file(f, ".aws/credentials", "[default]\naws_access_key_id=" AKID2
					  "\naws_secret_access_key=" SECRET2 "\n");
	setenv_fx(f, "AWS_ACCESS_KEY_ID=" AKID3);
	setenv_fx(f, "AWS_SECRET_ACCESS_KEY=" SECRET3);
	setenv_fx(f, "AWS_SESSION_TOKEN=" TOKEN3);
	assert_int_equal(resolve(f), 0);
	assert_string_equal(f->out.access_key, AKID3);
	assert_string_equal(f->out.secret_key, SECRET3);
	assert_string_equal(f->out.session_token, TOKEN3);
	assert_string_equal(f->out.source, "environment AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
					   "AWS_SESSION_TOKEN (access key ****ICEA)");
}

static void test_environment_half_given(void **state)
{
	struct fx *f = *state;

	setenv_fx(f, "AWS_ACCESS_KEY_ID=" AKID);
	setenv_fx(f, "AWS_SECRET_ACCESS_KEY="); /* empty counts as unset */
	expect_error(f, -EINVAL, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
}

static void test_default_profile_files(void **state)
{
	struct fx *f = *state;
	char want[512];

	write_file(f, ".aws/credentials",
		   "# comment\n; other comment\n\n[default]\n  aws_access_key_id = " AKID
		   "  \naws_secret_access_key=" SECRET "\n[dev]\naws_access_key_id=" AKID2
		   "\naws_secret_access_key=" SECRET2 "\n");
	write_file(f, ".aws/config",
		   "[default]\nregion = eu-central-1\ns3 =\n  addressing_style = path\n"
		   "  max_concurrent_requests = 20\noutput = json\n[profile dev]\nregion=ap-south-1\n");
	assert_int_equal(resolve(f), 0);
	assert_string_equal(f->out.access_key, AKID);
	assert_string_equal(f->out.secret_key, SECRET);
	assert_string_equal(f->out.profile, "default");
	snprintf(want, sizeof(want),
		 "shared credentials file %s/.aws/credentials, profile 'default' (the default) "
		 "(access key ****MPLE)",
		 f->home);
	assert_string_equal(f->out.source, want);
	assert_string_equal(f->out.region, "eu-central-1");
	snprintf(want, sizeof(want), "%s/.aws/config, profile 'default'", f->home);
	assert_string_equal(f->out.region_source, want);
	assert_string_equal(f->out.endpoint, "https://s3.eu-central-1.amazonaws.com");
}

static void test_aws_profile_env(void **state)
{
	struct fx *f = *state;

	write_file(f, ".aws/credentials", "[default]\naws_access_key_id=" AKID
					  "\naws_secret_access_key=" SECRET "\n[dev]\r\n"
					  "aws_access_key_id=" AKID2 "\r\naws_secret_access_key=" SECRET2
					  "\r\naws_session_token = " TOKEN3 "\r\n");
	write_file(f, ".aws/config", "[profile   dev]\nregion=ap-south-1\n"
				     "endpoint_url = http://127.0.0.1:7480/\nca_bundle=/etc/ca.pem\n"
				     "[sso-session dev]\nregion=us-west-2\n");
	setenv_fx(f, "AWS_PROFILE=dev");
	assert_int_equal(resolve(f), 0);
	assert_string_equal(f->out.access_key, AKID2);
	assert_string_equal(f->out.secret_key, SECRET2);
	assert_string_equal(f->out.session_token, TOKEN3);
	assert_string_equal(f->out.profile, "dev");
	assert_non_null(strstr(f->out.source, "profile 'dev' (access key ****MPLE, with session token)"));
	assert_string_equal(f->out.region, "ap-south-1");
	assert_string_equal(f->out.endpoint, "http://127.0.0.1:7480");
	assert_int_equal(f->out.endpoint_custom, 1);
	assert_string_equal(f->out.ca_bundle, "/etc/ca.pem");
}

/* AWS_PROFILE selects the profile, but environment keys still win (as in the AWS CLI). */
static void test_env_keys_beat_aws_profile(void **state)
{
	struct fx *f = *state;

	write_file(f, ".aws/credentials", "[dev]\naws_access_key_id=" AKID2
					  "\naws_secret_access_key=" SECRET2 "\n");
	write_file(f, ".aws/config", "[profile dev]\nregion=ap-south-1\n");
	setenv_fx(f, "AWS_PROFILE=dev");
	setenv_fx(f, "AWS_ACCESS_KEY_ID=" AKID3);
	setenv_fx(f, "AWS_SECRET_ACCESS_KEY=" SECRET3);
	assert_int_equal(resolve(f), 0);
	assert_string_equal(f->out.access_key, AKID3);
	/* the region still comes from the selected profile */
	assert_string_equal(f->out.region, "ap-south-1");
}

/* An explicit profile option beats environment keys. */
static void test_profile_option_beats_env(void **state)
{
	struct fx *f = *state;

	write_file(f, ".aws/credentials", "[dev]\naws_access_key_id=" AKID2
					  "\naws_secret_access_key=" SECRET2 "\n");
	setenv_fx(f, "AWS_ACCESS_KEY_ID=" AKID3);
	setenv_fx(f, "AWS_SECRET_ACCESS_KEY=" SECRET3);
	setenv_fx(f, "AWS_PROFILE=other");
	f->in.profile = "dev";
	assert_int_equal(resolve(f), 0);
	assert_string_equal(f->out.access_key, AKID2);
	assert_string_equal(f->out.secret_key, SECRET2);
}

static void test_missing_profile(void **state)
{
	struct fx *f = *state;
	char want[1024];

	write_file(f, ".aws/config", "[profile dev]\nregion=ap-south-1\n");
	setenv_fx(f, "AWS_PROFILE=prod");
	snprintf(want, sizeof(want),
		 "profile 'prod' (from AWS_PROFILE) not found in %s/.aws/credentials (absent) and "
		 "%s/.aws/config",
		 f->home, f->home);
	expect_error(f, -ENOENT, want);
}

static void test_keys_in_config_file(void **state)
{
	struct fx *f = *state;
	char want[512];

	write_file(f, ".aws/config", "[profile ci]\naws_access_key_id=" AKID2
				     "\naws_secret_access_key=" SECRET2 "\nregion=us-west-2\n");
	f->in.profile = "ci";
	assert_int_equal(resolve(f), 0);
	assert_string_equal(f->out.secret_key, SECRET2);
	snprintf(want, sizeof(want),
		 "shared config file %s/.aws/config, profile 'ci' (access key ****MPLE)", f->home);
	assert_string_equal(f->out.source, want);
	assert_string_equal(f->out.region, "us-west-2");
}

/* The credentials file wins over the config file for the same profile. */
static void test_credentials_file_beats_config(void **state)
{
	struct fx *f = *state;

	write_file(f, ".aws/config", "[default]\naws_access_key_id=" AKID2
				     "\naws_secret_access_key=" SECRET2 "\n");
	write_file(f, ".aws/credentials", "[default]\naws_access_key_id=" AKID
					  "\naws_secret_access_key=" SECRET "\n");
	assert_int_equal(resolve(f), 0);
	assert_string_equal(f->out.access_key, AKID);
	assert_string_equal(f->out.secret_key, SECRET);
}

static void test_file_variables(void **state)
{
	struct fx *f = *state;

	write_file(f, "my-creds", "[default]\naws_access_key_id=" AKID2
				  "\naws_secret_access_key=" SECRET2 "\n");
	write_file(f, "my-config", "[default]\nregion=sa-east-1\n");
	/* decoys at the default places must be ignored */
	write_file(f, ".aws/credentials", "[default]\naws_access_key_id=" AKID
					  "\naws_secret_access_key=" SECRET "\n");
	write_file(f, ".aws/config", "[default]\nregion=eu-north-1\n");
	setenv_fx(f, "AWS_SHARED_CREDENTIALS_FILE=~/my-creds");
	setenv_fx(f, "AWS_CONFIG_FILE=~/my-config");
	assert_int_equal(resolve(f), 0);
	assert_string_equal(f->out.access_key, AKID2);
	assert_string_equal(f->out.region, "sa-east-1");
}

static void test_region_precedence(void **state)
{
	struct fx *f = *state;

	f->in.anonymous = 1;
	write_file(f, ".aws/config", "[default]\nregion=eu-north-1\n");
	assert_int_equal(resolve(f), 0);
	assert_string_equal(f->out.region, "eu-north-1");
	setenv_fx(f, "AWS_DEFAULT_REGION=eu-west-3");
	assert_int_equal(resolve(f), 0);
	assert_string_equal(f->out.region, "eu-west-3");
	assert_string_equal(f->out.region_source, "AWS_DEFAULT_REGION");
	setenv_fx(f, "AWS_REGION=eu-west-2");
	assert_int_equal(resolve(f), 0);
	assert_string_equal(f->out.region, "eu-west-2");
	assert_string_equal(f->out.region_source, "AWS_REGION");
	f->in.region = "ca-central-1";
	assert_int_equal(resolve(f), 0);
	assert_string_equal(f->out.region, "ca-central-1");
	assert_string_equal(f->out.region_source, "engine option");
	f->in.region = "bad region";
	expect_error(f, -EINVAL, "invalid region 'bad region' (from engine option)");
}

static void test_endpoint_precedence(void **state)
{
	struct fx *f = *state;

	f->in.anonymous = 1;
	write_file(f, ".aws/config", "[default]\nendpoint_url=http://10.0.0.1:9000\n");
	assert_int_equal(resolve(f), 0);
	assert_string_equal(f->out.endpoint, "http://10.0.0.1:9000");
	assert_int_equal(f->out.endpoint_custom, 1);
	setenv_fx(f, "AWS_ENDPOINT_URL=http://127.0.0.2:1");
	assert_int_equal(resolve(f), 0);
	assert_string_equal(f->out.endpoint, "http://127.0.0.2:1");
	assert_string_equal(f->out.endpoint_source, "AWS_ENDPOINT_URL");
	setenv_fx(f, "AWS_ENDPOINT_URL_S3=https://s3.example.test//");
	assert_int_equal(resolve(f), 0);
	assert_string_equal(f->out.endpoint, "https://s3.example.test");
	assert_string_equal(f->out.endpoint_source, "AWS_ENDPOINT_URL_S3");
	f->in.endpoint = "http://127.0.0.1:7480";
	assert_int_equal(resolve(f), 0);
	assert_string_equal(f->out.endpoint, "http://127.0.0.1:7480");
	assert_string_equal(f->out.endpoint_source, "engine option");
	f->in.endpoint = "127.0.0.1:7480";
	expect_error(f, -EINVAL, "endpoint '127.0.0.1:7480' (from engine option) must be an "
				 "http:// or https:// URL of at most 1024 bytes");
}

static void test_ca_bundle_env(void **state)
{
	struct fx *f = *state;

	f->in.anonymous = 1;
	setenv_fx(f, "AWS_CA_BUNDLE=/srv/ca.pem");
	assert_int_equal(resolve(f), 0);
	assert_string_equal(f->out.ca_bundle, "/srv/ca.pem");
	f->in.ca_bundle = "/opt/ca.pem";
	assert_int_equal(resolve(f), 0);
	assert_string_equal(f->out.ca_bundle, "/opt/ca.pem");
}

static void test_anonymous(void **state)
{
	struct fx *f = *state;

	setenv_fx(f, "AWS_ACCESS_KEY_ID=" AKID3);
	setenv_fx(f, "AWS_SECRET_ACCESS_KEY=" SECRET3);
	f->in.anonymous = 1;
	assert_int_equal(resolve(f), 0);
	assert_int_equal(f->out.anonymous, 1);
	assert_string_equal(f->out.access_key, "");
	assert_string_equal(f->out.secret_key, "");
	assert_string_equal(f->out.source, "anonymous (requests are not signed)");
}

static void test_no_credentials(void **state)
{
	struct fx *f = *state;
	char want[1024];

	snprintf(want, sizeof(want),
		 "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, give the "
		 "engine's access and secret key options, add a [default] profile to "
		 "%s/.aws/credentials (absent) and %s/.aws/config (absent), or ask for anonymous "
		 "access",
		 f->home, f->home);
	expect_error(f, -ENOENT, want);
}

/* A malformed line is named by file:line and never quoted: it may hold a secret. */
static void test_malformed_files(void **state)
{
	struct fx *f = *state;
	char want[512];

	write_file(f, ".aws/credentials", "[default]\naws_access_key_id=" AKID "\n" SECRET "\n");
	snprintf(want, sizeof(want), "%s/.aws/credentials:3: expected 'key = value' or '[section]'",
		 f->home);
	expect_error(f, -EINVAL, want);

	write_file(f, ".aws/credentials", "[default\naws_access_key_id=" AKID "\n");
	snprintf(want, sizeof(want), "%s/.aws/credentials:1: section header without closing ']'",
		 f->home);
	expect_error(f, -EINVAL, want);

	write_file(f, ".aws/credentials", "\n\naws_secret_access_key=" SECRET "\n[default]\n");
	snprintf(want, sizeof(want), "%s/.aws/credentials:3: setting outside any [section]",
		 f->home);
	expect_error(f, -EINVAL, want);

	write_file(f, ".aws/credentials", "[default]\n=" SECRET "\n");
	snprintf(want, sizeof(want), "%s/.aws/credentials:2: setting without a name", f->home);
	expect_error(f, -EINVAL, want);
}

static void test_half_profile(void **state)
{
	struct fx *f = *state;
	char want[512];

	write_file(f, ".aws/credentials", "[default]\n\naws_access_key_id=" AKID "\n");
	snprintf(want, sizeof(want),
		 "%s/.aws/credentials:3: profile 'default' has aws_access_key_id but no "
		 "aws_secret_access_key",
		 f->home);
	expect_error(f, -EINVAL, want);
}

static void test_unsupported_provider(void **state)
{
	struct fx *f = *state;
	char want[512];

	write_file(f, ".aws/config", "[profile admin]\nrole_arn = arn:aws:iam::123:role/x\n"
				     "source_profile = default\n");
	f->in.profile = "admin";
	snprintf(want, sizeof(want),
		 "%s/.aws/config:2: profile 'admin' uses role_arn, which fio-dlio does not "
		 "resolve; give static keys instead (e.g. eval \"$(aws configure "
		 "export-credentials --profile admin --format env)\")",
		 f->home);
	expect_error(f, -ENOTSUP, want);
}

static void test_value_too_long(void **state)
{
	struct fx *f = *state;
	char text[1200], want[512];

	snprintf(text, sizeof(text), "[default]\naws_access_key_id=%0300d\n", 7);
	write_file(f, ".aws/credentials", text);
	snprintf(want, sizeof(want),
		 "%s/.aws/credentials:2: value of aws_access_key_id is longer than 128 bytes",
		 f->home);
	expect_error(f, -EINVAL, want);
}

/* Without HOME and without file variables there are no shared files, and that is fine. */
static void test_no_home(void **state)
{
	struct fx *f = *state;

	f->in.home = NULL;
	setenv_fx(f, "AWS_ACCESS_KEY_ID=" AKID);
	setenv_fx(f, "AWS_SECRET_ACCESS_KEY=" SECRET);
	assert_int_equal(resolve(f), 0);
	assert_string_equal(f->out.region, "us-east-1");
}

static void test_clear(void **state)
{
	struct fx *f = *state;

	f->in.access_key = AKID;
	f->in.secret_key = SECRET;
	f->in.session_token = TOKEN3;
	assert_int_equal(resolve(f), 0);
	assert_string_equal(f->out.session_token, TOKEN3);
	assert_non_null(strstr(f->out.source, "with session token"));
	aws_creds_clear(&f->out);
	assert_string_equal(f->out.secret_key, "");
	assert_string_equal(f->out.session_token, "");
	for (size_t i = 0; i < sizeof(f->out.secret_key); i++)
		assert_int_equal(f->out.secret_key[i], 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_explicit_options),
		T(test_explicit_half_given),
		T(test_environment),
		T(test_environment_half_given),
		T(test_default_profile_files),
		T(test_aws_profile_env),
		T(test_env_keys_beat_aws_profile),
		T(test_profile_option_beats_env),
		T(test_missing_profile),
		T(test_keys_in_config_file),
		T(test_credentials_file_beats_config),
		T(test_file_variables),
		T(test_region_precedence),
		T(test_endpoint_precedence),
		T(test_ca_bundle_env),
		T(test_anonymous),
		T(test_no_credentials),
		T(test_malformed_files),
		T(test_half_profile),
		T(test_unsupported_provider),
		T(test_value_too_long),
		T(test_no_home),
		T(test_clear),
	};

	return cmocka_run_group_tests_name("aws_creds", tests, NULL, NULL);
}
