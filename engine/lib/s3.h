/*
 * The s3:// backend's pure parts, separate from the I/O in s3.c so that unit tests need no
 * server: where a request goes (s3_url.c), what S3's XML answers say (s3_xml.c) and how an
 * object written by fio is cut into multipart parts (s3_parts.c).
 */
#ifndef FIODLIO_S3_H
#define FIODLIO_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/sigv4.h"

#define S3_BUCKET_MAX 63
#define S3_KEY_MAX 1024
#define S3_HOST_MAX 320

/* S3's multipart limits (AWS documents them; Ceph and MinIO enforce the same). */
#define S3_PART_MIN (5ull << 20)
#define S3_PART_MAX (5ull << 30)
#define S3_PUT_MAX (5ull << 30)
#define S3_PARTS_MAX 10000u

/* An endpoint URL taken apart: "http://127.0.0.1:7480/base" → http, 127.0.0.1:7480, /base. */
struct s3_endpoint {
	bool https;
	char host[S3_HOST_MAX]; /* host[:port] as the Host header carries it */
	char base[256];		/* path prefix without a trailing '/', usually "" */
	bool virtual_hosted;	/* bucket.host/key instead of host/bucket/key */
};

/* "bucket/key" (an s3:// path) → bucket and key; the key may be empty (a bucket or a
 * prefix).  -EINVAL with a message for an invalid bucket name or an over-long key. */
int s3_split_path(const char *path, char bucket[S3_BUCKET_MAX + 1], const char **key, char *err,
		  size_t errlen);

/* Whether a bucket name works as a DNS label under TLS (virtual-hosted style). */
bool s3_bucket_dns_safe(const char *bucket, bool https);

/* virtual_hosted: -1 auto (virtual for AWS's own endpoints, path-style otherwise), 0 path,
 * 1 virtual.  The choice for a bucket is final in s3_request_target(). */
int s3_endpoint_parse(const char *url, int virtual_hosted, struct s3_endpoint *ep, char *err,
		      size_t errlen);

/* Where one request goes: the Host header, the raw path to sign and the full URL (the path
 * encoded exactly as the signer encodes it, then the canonical query string). */
struct s3_target {
	char host[S3_HOST_MAX + S3_BUCKET_MAX + 2];
	char path[S3_KEY_MAX + S3_BUCKET_MAX + 256 + 4];
	char *url; /* malloc'd */
};

int s3_request_target(const struct s3_endpoint *ep, const char *bucket, const char *key,
		      const struct s3_sigv4_param *query, size_t nquery, struct s3_target *t,
		      char *err, size_t errlen);
/* The same, with the URL written into *buf (grown to fit, *bufcap its size; the caller frees
 * it): t->url is *buf.  For a buffer reused from request to request. */
int s3_request_target_buf(const struct s3_endpoint *ep, const char *bucket, const char *key,
			  const struct s3_sigv4_param *query, size_t nquery, struct s3_target *t,
			  char **buf, size_t *bufcap, char *err, size_t errlen);

/* S3's <Error><Code>…</Code><Message>…</Message></Error>; code and message are "" when the
 * body has none (HEAD answers have no body). */
void s3_xml_error(const char *body, size_t len, char *code, size_t codesz, char *msg,
		  size_t msgsz);

/* The unescaped text of the first <tag>…</tag> in body; -ENOENT when absent, -ENOSPC when
 * it does not fit. */
int s3_xml_tag(const char *body, size_t len, const char *tag, char *out, size_t outsz);

/* Called for each <Contents> of a ListObjectsV2 answer with the unescaped key and its size;
 * a non-zero return stops the walk and is returned. */
typedef int (*s3_list_item_fn)(void *arg, const char *key, uint64_t size);

/* Walks a ListObjectsV2 page; *truncated and next_token (the unescaped
 * NextContinuationToken) say whether and how to ask for the next one. */
int s3_xml_list(const char *body, size_t len, s3_list_item_fn fn, void *arg, bool *truncated,
		char *next_token, size_t tokensz, char *err, size_t errlen);

/* The CompleteMultipartUpload body for parts 1..n with these ETags; malloc'd, *len set. */
char *s3_xml_complete_body(const char *const *etags, uint32_t n, size_t *len);

/*
 * How fio's writes to one object become requests.  Parts are fixed slices of the object:
 * part i (0-based) holds bytes [i * part_size, min((i + 1) * part_size, size)).  A write
 * that is exactly one part is sent from fio's buffer; other writes are copied into the part
 * they fall in, which is sent once it is fully written.  An object of one part is one PUT.
 *
 * part_size 0 (auto): one part per fio write when the block size is fixed and at least
 * 5 MiB; a smaller fixed block size gets the smallest multiple of it that reaches 5 MiB (so
 * writes still tile the parts); a variable one 8 MiB (or the largest block).  Auto parts
 * grow (keeping the block multiple) to stay within 10,000 parts.  An explicit part size is
 * taken as it is and checked against S3's limits, with an error that says what to use.
 */
struct s3_part_plan {
	uint64_t size;
	uint64_t part_size;
	uint32_t nparts;
};

int s3_plan_parts(uint64_t size, uint64_t part_size, uint64_t bs_min, uint64_t bs_max,
		  struct s3_part_plan *plan, char *err, size_t errlen);

static inline uint64_t s3_part_len(const struct s3_part_plan *p, uint32_t i)
{
	uint64_t start = (uint64_t)i * p->part_size;

	return p->size - start < p->part_size ? p->size - start : p->part_size;
}

/* Byte ranges of one part written so far, merged; tells when a part is complete. */
struct s3_cover {
	uint64_t (*iv)[2];
	uint32_t n, cap;
};

/* Adds [off, off + len); -ENOMEM, or -E2BIG past a bound on fragments. */
int s3_cover_add(struct s3_cover *c, uint64_t off, uint64_t len);
bool s3_cover_full(const struct s3_cover *c, uint64_t len);
/* Whether any byte of [off, off + len) is already covered. */
bool s3_cover_overlaps(const struct s3_cover *c, uint64_t off, uint64_t len);
void s3_cover_free(struct s3_cover *c);

#endif
