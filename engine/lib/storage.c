#include "storage.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct storage_backend *const backends[] = {
	&storage_file_backend,
	&storage_direct_backend,
	&storage_az_backend,
	&storage_s3_backend,
};

#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

const struct storage_backend *storage_backend_find(const char *scheme)
{
	for (size_t i = 0; i < NBACKENDS; i++)
		if (!strcmp(backends[i]->scheme, scheme))
			return backends[i];
	return NULL;
}

const char *storage_schemes(void)
{
	static char list[128];

	if (!list[0]) {
		size_t n = 0;

		for (size_t i = 0; i < NBACKENDS; i++)
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s://",
					      i ? ", " : "", backends[i]->scheme);
	}
	return list;
}

/* Length of a leading "scheme://", 0 if s does not start with one. */
static size_t scheme_len(const char *s)
{
	size_t i = 0;

	if (!isalpha((unsigned char)s[0]))
		return 0;
	while (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')
		i++;
	return strncmp(s + i, "://", 3) ? 0 : i;
}

/* Split a URI or bare path into scheme and path; local schemes lose the "//". */
static int split_uri(const char *uri, char *scheme, const char **rest, char *err, size_t errlen)
{
	size_t n = scheme_len(uri);

	if (!n) {
		snprintf(scheme, STORAGE_SCHEME_MAX, "file");
		*rest = uri;
		return 0;
	}
	if (n >= STORAGE_SCHEME_MAX) {
		snprintf(err, errlen, "unknown storage scheme '%.*s' in '%s' (supported: %s)",
			 (int)n, uri, uri, storage_schemes());
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		scheme[i] = (char)tolower((unsigned char)uri[i]);
	scheme[n] = '\0';
	*rest = uri + n + 3;

	if (!strcmp(scheme, "file") || !strcmp(scheme, "direct")) {
		const char *p = *rest;

		if (!strncmp(p, "localhost/", 10))
			p += 9;
		if (*p != '/') {
			const char *slash = strchr(p, '/');

			snprintf(err, errlen,
				 "'%s' names a host ('%.*s'); a %s URI takes an absolute path "
				 "(%s:///dir/file) or use a plain path",
				 uri, slash ? (int)(slash - p) : (int)strlen(p), p, scheme, scheme);
			return -EINVAL;
		}
		*rest = p;
	}
	return 0;
}

int storage_resolve(const char *root, const char *name, struct storage_target *t, char *err,
		    size_t errlen)
{
	const char *rpath = "", *npath;
	char rscheme[STORAGE_SCHEME_MAX];
	size_t rlen, nlen;
	int ret;

	memset(t, 0, sizeof(*t));
	if (!name || !*name) {
		snprintf(err, errlen, "empty file name");
		return -EINVAL;
	}

	if (scheme_len(name) || !root || !*root) {
		ret = split_uri(name, t->scheme, &npath, err, errlen);
		if (ret)
			return ret;
		t->path = strdup(npath);
	} else {
		ret = split_uri(root, rscheme, &rpath, err, errlen);
		if (ret)
			return ret;
		memcpy(t->scheme, rscheme, sizeof(rscheme));
		npath = name;
		while (*npath == '/')
			npath++;
		rlen = strlen(rpath);
		nlen = strlen(npath);
		t->path = malloc(rlen + nlen + 2);
		if (t->path) {
			bool sep = rlen && rpath[rlen - 1] != '/';

			memcpy(t->path, rpath, rlen);
			if (sep)
				t->path[rlen] = '/';
			memcpy(t->path + rlen + sep, npath, nlen + 1);
		}
	}
	if (!t->path) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (!t->path[0]) {
		snprintf(err, errlen, "'%s' resolves to an empty path", name);
		storage_target_free(t);
		return -EINVAL;
	}

	t->backend = storage_backend_find(t->scheme);
	if (!t->backend) {
		snprintf(err, errlen, "unknown storage scheme '%s' in '%s' (supported: %s)",
			 t->scheme, scheme_len(name) || !root || !*root ? name : root,
			 storage_schemes());
		storage_target_free(t);
		return -EINVAL;
	}
	return 0;
}

void storage_target_free(struct storage_target *t)
{
	free(t->path);
	t->path = NULL;
	t->backend = NULL;
}
