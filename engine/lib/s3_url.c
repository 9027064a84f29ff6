/*
 * Where an S3 request goes: bucket and key from an s3:// path, the endpoint, path-style or
 * virtual-hosted addressing, and a URL whose path is encoded exactly as the signer encodes
 * the canonical URI (S3 keys are not normalised: "a//b", "./x" and "+" stay as they are).
 */
#include "lib/s3.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* AWS's rules for new buckets, loosened as S3-compatible stores are: 3..63 characters of
 * lowercase letters, digits, '.', '-' and (older buckets, Ceph) '_' and uppercase. */
static bool bucket_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

int s3_split_path(const char *path, char bucket[S3_BUCKET_MAX + 1], const char **key, char *err,
		  size_t errlen)
{
	const char *slash = strchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : strlen(path);

	if (n < 3 || n > S3_BUCKET_MAX) {
		snprintf(err, errlen,
			 "s3://%s: bucket name '%.*s' must be 3 to 63 characters (s3://bucket/key)",
			 path, (int)(n > 80 ? 80 : n), path);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!bucket_char(path[i])) {
			snprintf(err, errlen,
				 "s3://%s: bucket name '%.*s' has '%c'; bucket names take letters, "
				 "digits, '.', '-' and '_'",
				 path, (int)n, path, path[i]);
			return -EINVAL;
		}
	}
	memcpy(bucket, path, n);
	bucket[n] = '\0';
	*key = slash ? slash + 1 : path + n;
	if (strlen(*key) > S3_KEY_MAX) {
		snprintf(err, errlen, "s3://%s/%.60s...: key longer than S3's %d bytes", bucket, *key,
			 S3_KEY_MAX);
		return -ENAMETOOLONG;
	}
	return 0;
}

bool s3_bucket_dns_safe(const char *bucket, bool https)
{
	size_t n = strlen(bucket);

	if (n < 3 || n > 63 || !isalnum((unsigned char)bucket[0]) ||
	    !isalnum((unsigned char)bucket[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = bucket[i];

		/* a dot makes a second label the *.s3 wildcard certificate does not cover */
		if (c == '.' && https)
			return false;
		if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-' ||
		      c == '.'))
			return false;
	}
	return true;
}

int s3_endpoint_parse(const char *url, int virtual_hosted, struct s3_endpoint *ep, char *err,
		      size_t errlen)
{
	const char *h, *slash;
	size_t hn, bn;

	memset(ep, 0, sizeof(*ep));
	if (!strncmp(url, "https://", 8)) {
		ep->https = true;
		h = url + 8;
	} else if (!strncmp(url, "http://", 7)) {
		h = url + 7;
	} else {
		snprintf(err, errlen, "S3 endpoint '%.200s' is not an http:// or https:// URL", url);
		return -EINVAL;
	}
	slash = strchr(h, '/');
	hn = slash ? (size_t)(slash - h) : strlen(h);
	if (!hn || hn >= sizeof(ep->host) || memchr(h, '@', hn) || memchr(h, '?', hn)) {
		snprintf(err, errlen,
			 "S3 endpoint '%.200s': expected scheme://host[:port][/path], without user "
			 "or query",
			 url);
		return -EINVAL;
	}
	memcpy(ep->host, h, hn);
	ep->host[hn] = '\0';
	bn = slash ? strlen(slash) : 0;
	while (bn && slash[bn - 1] == '/')
		bn--;
	if (bn >= sizeof(ep->base) || (slash && strchr(slash, '?'))) {
		snprintf(err, errlen, "S3 endpoint '%.200s': path too long or has a query", url);
		return -EINVAL;
	}
	if (bn)
		memcpy(ep->base, slash, bn);
	ep->base[bn] = '\0';
	if (virtual_hosted < 0) {
		/* AWS's own endpoints take bucket.host; everything else is safest path-style */
		size_t n = strlen(ep->host);
		const char *aws = ".amazonaws.com";
		const char *colon = strchr(ep->host, ':');

		if (colon)
			n = (size_t)(colon - ep->host);
		virtual_hosted = n > strlen(aws) && !strncmp(ep->host + n - strlen(aws), aws,
							      strlen(aws));
	}
	ep->virtual_hosted = virtual_hosted;
	return 0;
}

int s3_request_target_buf(const struct s3_endpoint *ep, const char *bucket, const char *key,
			  const struct s3_sigv4_param *query, size_t nquery, struct s3_target *t,
			  char **buf, size_t *bufcap, char *err, size_t errlen)
{
	/* worst case: every byte of the path %-encoded, plus a few query parameters */
	size_t cap = 3 * sizeof(t->path) + 8 * S3_SIGV4_MAX_CANONICAL / 4 + sizeof(t->host) + 16;
	bool virt = ep->virtual_hosted && bucket[0];
	size_t hl = strlen(ep->host);
	int n, q;
	char *url;

	t->url = NULL;
	if (virt) {
		if (strlen(bucket) + 1 + hl >= sizeof(t->host)) {
			snprintf(err, errlen, "host name %s.%s too long", bucket, ep->host);
			return -ENAMETOOLONG;
		}
		snprintf(t->host, sizeof(t->host), "%s.%s", bucket, ep->host);
		n = snprintf(t->path, sizeof(t->path), "%s/%s", ep->base, key);
	} else {
		snprintf(t->host, sizeof(t->host), "%s", ep->host);
		n = snprintf(t->path, sizeof(t->path), "%s/%s%s%s", ep->base, bucket,
			     bucket[0] ? "/" : "", key);
		/* a bucket request is "/bucket", not "/bucket/" (the key is empty) */
		if (bucket[0] && !key[0] && n > 0)
			t->path[--n] = '\0';
	}
	if (n < 0 || (size_t)n >= sizeof(t->path)) {
		snprintf(err, errlen, "s3://%s/%.60s...: path too long", bucket, key);
		return -ENAMETOOLONG;
	}
	if (*bufcap < cap) {
		url = realloc(*buf, cap);
		if (!url) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		*buf = url;
		*bufcap = cap;
	}
	url = *buf;
	n = snprintf(url, cap, "%s://%s", ep->https ? "https" : "http", t->host);
	q = s3_sigv4_uri_encode(t->path, strlen(t->path), 1, url + n, cap - (size_t)n);
	if (q < 0)
		goto too_long;
	n += q;
	if (nquery) {
		url[n++] = '?';
		q = s3_sigv4_query_string(query, nquery, url + n, cap - (size_t)n);
		if (q < 0)
			goto too_long;
	}
	t->url = url;
	return 0;
too_long:
	snprintf(err, errlen, "s3://%s/%.60s...: request URL too long", bucket, key);
	return -ENAMETOOLONG;
}

int s3_request_target(const struct s3_endpoint *ep, const char *bucket, const char *key,
		      const struct s3_sigv4_param *query, size_t nquery, struct s3_target *t,
		      char *err, size_t errlen)
{
	char *url = NULL;
	size_t cap = 0;
	int ret = s3_request_target_buf(ep, bucket, key, query, nquery, t, &url, &cap, err,
					errlen);

	if (ret)
		free(url);
	return ret;
}
