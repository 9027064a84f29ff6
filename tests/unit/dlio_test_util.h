/*
 * Helpers shared by the DLIO model's cmocka tests: locating the test data (from the repo
 * root, or $FIODLIO_TESTDATA), slurping files, and picking the line of a vector file that
 * starts with a given label.
 */
#ifndef FIODLIO_DLIO_TEST_UTIL_H
#define FIODLIO_DLIO_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static inline const char *dlio_test_path(const char *name)
{
	static char buf[4096];
	const char *dir = getenv("FIODLIO_TESTDATA");

	if (!dir || !*dir)
		dir = "tests/unit/data/dlio";
	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

/* Whole file, NUL terminated; fails the test if missing. Caller frees. */
static inline char *dlio_test_slurp(const char *name)
{
	const char *path = dlio_test_path(name);
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	if (!f)
		fail_msg("cannot open test data %s (run from the repo root or set FIODLIO_TESTDATA)",
			 path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/* Pointer just after "label" at the start of a line of text, or fails. */
static inline const char *dlio_test_line(const char *text, const char *label)
{
	size_t n = strlen(label);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, label, n))
			return p + n;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	fail_msg("label '%s' not found in test vector", label);
	return NULL;
}

#endif
