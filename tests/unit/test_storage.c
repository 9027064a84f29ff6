/* storage_resolve: how fio's file names meet the uri= storage root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/storage.h"

static void expect_target(const char *root, const char *name, const char *scheme,
			  const char *path)
{
	struct storage_target t;
	char err[STORAGE_ERR_LEN] = "";
	int ret = storage_resolve(root, name, &t, err, sizeof(err));

	if (ret)
		fail_msg("resolve(%s, %s) failed: %s", root ? root : "NULL", name, err);
	assert_string_equal(t.scheme, scheme);
	assert_string_equal(t.path, path);
	assert_non_null(t.backend);
	assert_string_equal(t.backend->scheme, scheme);
	storage_target_free(&t);
}

static void expect_error(const char *root, const char *name, const char *msg)
{
	struct storage_target t;
	char err[STORAGE_ERR_LEN] = "";
	int ret = storage_resolve(root, name, &t, err, sizeof(err));

	assert_int_equal(ret, -22);
	if (!strstr(err, msg))
		fail_msg("error '%s' does not contain '%s'", err, msg);
	assert_null(t.path);
}

static void bare_paths_are_files(void **state)
{
	(void)state;
	expect_target(NULL, "/data/x", "file", "/data/x");
	expect_target("", "rel/x", "file", "rel/x");
}

static void names_join_the_root(void **state)
{
	(void)state;
	expect_target("file:///data", "a/b", "file", "/data/a/b");
	expect_target("file:///data/", "a", "file", "/data/a");
	expect_target("file:///data", "/a", "file", "/data/a");
	expect_target("direct:///mnt/x", "job.0.0", "direct", "/mnt/x/job.0.0");
	expect_target("/plain/root", "f", "file", "/plain/root/f");
	expect_target("file://localhost/data", "f", "file", "/data/f");
	expect_target("FILE:///data", "f", "file", "/data/f");
}

static void uri_names_stand_alone(void **state)
{
	(void)state;
	expect_target("file:///data", "direct:///other/f", "direct", "/other/f");
	expect_target(NULL, "file:///x/y", "file", "/x/y");
}

static void bad_uris_are_explained(void **state)
{
	(void)state;
	expect_error("foo://bucket/p", "f", "unknown storage scheme 'foo' in 'foo://bucket/p'");
	expect_error("foo://bucket/p", "f", "(supported: file://, direct://");
	expect_error(NULL, "gs://b/k", "unknown storage scheme 'gs'");
	expect_error("file://data/x", "f", "names a host ('data')");
	expect_error(NULL, "", "empty file name");
	expect_error("file:///", "", "empty file name");
	expect_error("averyveryverylongscheme://x", "f", "unknown storage scheme");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bare_paths_are_files),
		cmocka_unit_test(names_join_the_root),
		cmocka_unit_test(uri_names_stand_alone),
		cmocka_unit_test(bad_uris_are_explained),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
