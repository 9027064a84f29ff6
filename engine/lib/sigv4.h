/*
 * AWS Signature Version 4 for S3 requests (header form), on OpenSSL 3.
 *
 * Pure functions: nothing here touches the network or the clock; the caller passes the time.
 * A signer caches the signing key for one (date, region, service), so a request costs one
 * SHA-256 of the canonical request and one HMAC. A signer is not thread-safe: one per fio job.
 *
 * S3 rules (which differ from other AWS services): the path is URI-encoded once, '/' kept,
 * no "." / ".." normalisation; x-amz-content-sha256 is sent and signed on every request.
 */
#ifndef FIODLIO_SIGV4_H
#define FIODLIO_SIGV4_H

#include <stddef.h>
#include <time.h>

#define S3_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define S3_SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

#define S3_SIGV4_MAX_HEADERS 32
#define S3_SIGV4_MAX_PARAMS 32
/* Canonical request limit: a 1024-byte key encodes to at most 3072 bytes; tokens are ~1 KiB. */
#define S3_SIGV4_MAX_CANONICAL 16384
#define S3_SIGV4_AUTH_MAX 1024
#define S3_SIGV4_AMZ_DATE_LEN 16 /* "20130524T000000Z" */

struct s3_sigv4_header {
	const char *name; /* any case; signed lowercased */
	const char *value; /* signed trimmed, inner runs of blanks collapsed */
};

struct s3_sigv4_param {
	const char *key; /* raw (not encoded) */
	const char *value; /* raw; NULL for a valueless parameter such as "uploads" */
};

struct s3_sigv4_request {
	const char *method; /* "GET", "PUT", ... */
	const char *path; /* raw (not encoded) path starting with '/': "/bucket/my key" */
	const struct s3_sigv4_param *query;
	size_t nquery;
	/* Every header that is sent and must be signed; must include Host (as sent, with a
	 * non-default port). Must not include x-amz-date, x-amz-content-sha256 or
	 * x-amz-security-token: the signer adds those. */
	const struct s3_sigv4_header *headers;
	size_t nheaders;
	/* Hex SHA-256 of the body, or NULL for UNSIGNED-PAYLOAD. */
	const char *payload_hash;
	/* Only for services other than S3 (which rejects requests without it): do not add
	 * x-amz-content-sha256. */
	int omit_content_sha256;
};

/* What the caller must send besides its own headers. */
struct s3_sigv4_result {
	char amz_date[S3_SIGV4_AMZ_DATE_LEN + 1]; /* x-amz-date */
	char payload_hash[65]; /* x-amz-content-sha256 (empty if omitted) */
	char authorization[S3_SIGV4_AUTH_MAX]; /* Authorization */
	const char *security_token; /* x-amz-security-token, or NULL; owned by the signer */
	char signature[65];
};

struct s3_sigv4_signer;

/* session_token may be NULL. Returns 0, or -errno with a message in err. */
int s3_sigv4_signer_new(struct s3_sigv4_signer **out, const char *access_key,
			const char *secret_key, const char *session_token, const char *region,
			const char *service, char *err, size_t errlen);
/* Wipes the secret and the cached key. NULL is fine. */
void s3_sigv4_signer_free(struct s3_sigv4_signer *s);

int s3_sigv4_sign(struct s3_sigv4_signer *s, const struct s3_sigv4_request *req, time_t now,
		  struct s3_sigv4_result *out, char *err, size_t errlen);

/* The intermediate stages, for tests and for debugging a server's SignatureDoesNotMatch
 * (S3 returns its canonical request in the error body). Both are NUL-terminated. */
int s3_sigv4_canonical_request(struct s3_sigv4_signer *s, const struct s3_sigv4_request *req,
			       time_t now, char *out, size_t outsz, char *err, size_t errlen);
int s3_sigv4_string_to_sign(struct s3_sigv4_signer *s, const struct s3_sigv4_request *req,
			    time_t now, char *out, size_t outsz, char *err, size_t errlen);

/* kSigning = HMAC chain over "AWS4"+secret, date (YYYYMMDD), region, service, "aws4_request". */
int s3_sigv4_derive_key(const char *secret_key, const char *date8, const char *region,
			const char *service, unsigned char key[32]);

/* RFC 3986 encoding as SigV4 wants it: unreserved characters kept, everything else %XX
 * (uppercase), '/' kept when keep_slash. Returns the length written (NUL-terminated), or
 * -ENOSPC if out is too small. */
int s3_sigv4_uri_encode(const char *in, size_t len, int keep_slash, char *out, size_t outsz);

/* The canonical query string (encoded, sorted by key then value, "key=" for valueless
 * parameters). Sending exactly this string as the URL's query keeps URL and signature in
 * agreement. Returns the length, or -ENOSPC / -E2BIG. */
int s3_sigv4_query_string(const struct s3_sigv4_param *params, size_t n, char *out,
			  size_t outsz);

/* "YYYYMMDDTHHMMSSZ" for now (UTC). */
void s3_sigv4_amz_date(time_t now, char out[S3_SIGV4_AMZ_DATE_LEN + 1]);

/* Lowercase hex SHA-256 of a body, for signed payloads. Returns 0 or -EIO. */
int s3_sigv4_sha256_hex(const void *data, size_t len, char out[65]);

#endif
