#include "lib/sigv4.h"
#include "lib/errbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define ALGORITHM "AWS4-HMAC-SHA256"
#define MAX_ACCESS_KEY 128
#define MAX_SECRET 256
#define MAX_REGION 64
#define MAX_SERVICE 32
#define MAX_TOKEN 8192
#define MAX_HEADER_NAME 64
/* the caller's headers plus x-amz-content-sha256, x-amz-date, x-amz-security-token */
#define MAX_ALL_HEADERS (S3_SIGV4_MAX_HEADERS + 3)

struct s3_sigv4_signer {
	char access_key[MAX_ACCESS_KEY + 1];
	char secret[MAX_SECRET + 1];
	char *token;
	char region[MAX_REGION + 1];
	char service[MAX_SERVICE + 1];
	/* The day the cached key is for; empty until the first request. */
	char key_date[9];
	unsigned char key[32];
	EVP_MD *sha256;
	EVP_MD_CTX *md;
	EVP_MAC *hmac;
	/* Keyed with kSigning of key_date, so a signature only re-runs HMAC on the string. */
	EVP_MAC_CTX *mac;
};

/* A bounded output buffer: appends past cap are dropped and remembered. */
struct sbuf {
	char *p;
	size_t len;
	size_t cap;
	int overflow;
};


static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->overflow || n > b->cap - b->len) {
		b->overflow = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_chr(struct sbuf *b, char c)
{
	sb_add(b, &c, 1);
}

static const char hexdig_lower[] = "0123456789abcdef";
static const char hexdig_upper[] = "0123456789ABCDEF";

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdig_lower[in[i] >> 4];
		out[2 * i + 1] = hexdig_lower[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* 1: unreserved (never encoded), 2: '/' (kept in paths). A table, because encoding the
 * path and query is the largest share of a signature's cost. */
static const unsigned char uri_class[256] = {
	['A' ... 'Z'] = 1, ['a' ... 'z'] = 1, ['0' ... '9'] = 1,
	['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1, ['/'] = 2,
};

static void sb_uri_encode(struct sbuf *b, const char *in, size_t len, int keep_slash)
{
	const unsigned char keep = keep_slash ? 3 : 1;
	size_t i = 0;

	while (i < len) {
		size_t run = i;

		while (i < len && (uri_class[(unsigned char)in[i]] & keep))
			i++;
		sb_add(b, in + run, i - run);
		if (i < len) {
			unsigned char c = (unsigned char)in[i++];
			char e[3] = { '%', hexdig_upper[c >> 4], hexdig_upper[c & 15] };

			sb_add(b, e, 3);
		}
	}
}

int s3_sigv4_uri_encode(const char *in, size_t len, int keep_slash, char *out, size_t outsz)
{
	struct sbuf b = { out, 0, outsz ? outsz - 1 : 0, outsz == 0 };

	sb_uri_encode(&b, in, len, keep_slash);
	if (b.overflow)
		return -ENOSPC;
	out[b.len] = '\0';
	return (int)b.len;
}

static void put_digits(char *out, unsigned v, int n)
{
	while (n--) {
		out[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void s3_sigv4_amz_date(time_t now, char out[S3_SIGV4_AMZ_DATE_LEN + 1])
{
	struct tm tm;

	gmtime_r(&now, &tm);
	/* by hand: snprintf costs a visible share of a 2 us signature */
	put_digits(out, (unsigned)(tm.tm_year + 1900), 4);
	put_digits(out + 4, (unsigned)tm.tm_mon + 1, 2);
	put_digits(out + 6, (unsigned)tm.tm_mday, 2);
	out[8] = 'T';
	put_digits(out + 9, (unsigned)tm.tm_hour, 2);
	put_digits(out + 11, (unsigned)tm.tm_min, 2);
	put_digits(out + 13, (unsigned)tm.tm_sec, 2);
	out[15] = 'Z';
	out[16] = '\0';
}

int s3_sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	size_t mdlen = 0;

	if (!EVP_Q_digest(NULL, "SHA256", NULL, data, len, md, &mdlen) || mdlen != 32)
		return -EIO;
	hex_encode(md, 32, out);
	return 0;
}

static int hmac_once(const unsigned char *key, size_t keylen, const char *data,
		     unsigned char out[32])
{
	size_t outlen = 0;

	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen,
		       (const unsigned char *)data, strlen(data), out, 32, &outlen) ||
	    outlen != 32)
		return -EIO;
	return 0;
}

int s3_sigv4_derive_key(const char *secret_key, const char *date8, const char *region,
			const char *service, unsigned char key[32])
{
	unsigned char ksecret[4 + MAX_SECRET];
	unsigned char k[32];
	size_t slen = strlen(secret_key);
	int ret = -EINVAL;

	if (slen > MAX_SECRET)
		goto out;
	memcpy(ksecret, "AWS4", 4);
	memcpy(ksecret + 4, secret_key, slen);
	ret = hmac_once(ksecret, 4 + slen, date8, k);
	if (!ret)
		ret = hmac_once(k, 32, region, k);
	if (!ret)
		ret = hmac_once(k, 32, service, k);
	if (!ret)
		ret = hmac_once(k, 32, "aws4_request", key);
out:
	OPENSSL_cleanse(ksecret, sizeof(ksecret));
	OPENSSL_cleanse(k, sizeof(k));
	return ret;
}

/* Header values go on the wire verbatim, so a CR or LF would inject headers. */
static int has_ctl(const char *s)
{
	for (; *s; s++)
		if (*s == '\r' || *s == '\n')
			return 1;
	return 0;
}

static int valid_token_chars(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

int s3_sigv4_signer_new(struct s3_sigv4_signer **out, const char *access_key,
			const char *secret_key, const char *session_token, const char *region,
			const char *service, char *err, size_t errlen)
{
	struct s3_sigv4_signer *s = NULL;
	OSSL_PARAM params[2];
	int ret = -EINVAL;

	*out = NULL;
	if (!access_key || !*access_key || strlen(access_key) > MAX_ACCESS_KEY ||
	    !valid_token_chars(access_key)) {
		errbuf_set(err, errlen, "access key id missing, longer than %d or not printable",
			MAX_ACCESS_KEY);
		goto out;
	}
	if (!secret_key || !*secret_key || strlen(secret_key) > MAX_SECRET) {
		errbuf_set(err, errlen, "secret access key missing or longer than %d", MAX_SECRET);
		goto out;
	}
	if (!region || !*region || strlen(region) > MAX_REGION || !valid_token_chars(region) ||
	    strchr(region, '/')) {
		errbuf_set(err, errlen, "region missing or invalid");
		goto out;
	}
	if (!service || !*service || strlen(service) > MAX_SERVICE ||
	    !valid_token_chars(service) || strchr(service, '/')) {
		errbuf_set(err, errlen, "service missing or invalid");
		goto out;
	}
	if (session_token && *session_token &&
	    (strlen(session_token) > MAX_TOKEN || has_ctl(session_token))) {
		errbuf_set(err, errlen, "session token longer than %d or contains CR/LF", MAX_TOKEN);
		goto out;
	}

	ret = -ENOMEM;
	s = calloc(1, sizeof(*s));
	if (!s) {
		errbuf_set(err, errlen, "out of memory");
		goto out;
	}
	strcpy(s->access_key, access_key);
	strcpy(s->secret, secret_key);
	strcpy(s->region, region);
	strcpy(s->service, service);
	if (session_token && *session_token) {
		s->token = strdup(session_token);
		if (!s->token) {
			errbuf_set(err, errlen, "out of memory");
			goto out;
		}
	}

	/* Fetching algorithms is the expensive part of OpenSSL 3's EVP; do it once here. */
	ret = -EIO;
	s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	s->md = EVP_MD_CTX_new();
	s->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	s->mac = s->hmac ? EVP_MAC_CTX_new(s->hmac) : NULL;
	if (!s->sha256 || !s->md || !s->mac) {
		errbuf_set(err, errlen, "OpenSSL has no SHA-256 or HMAC");
		goto out;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_CTX_set_params(s->mac, params)) {
		errbuf_set(err, errlen, "OpenSSL: cannot set HMAC digest to SHA-256");
		goto out;
	}
	*out = s;
	s = NULL;
	ret = 0;
out:
	s3_sigv4_signer_free(s);
	return ret;
}

void s3_sigv4_signer_free(struct s3_sigv4_signer *s)
{
	if (!s)
		return;
	EVP_MAC_CTX_free(s->mac);
	EVP_MAC_free(s->hmac);
	EVP_MD_CTX_free(s->md);
	EVP_MD_free(s->sha256);
	if (s->token) {
		OPENSSL_cleanse(s->token, strlen(s->token));
		free(s->token);
	}
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

struct qent {
	const char *key; /* encoded, in scratch */
	const char *val;
};

static int qent_cmp(const struct qent *a, const struct qent *b)
{
	int c = strcmp(a->key, b->key);

	return c ? c : strcmp(a->val, b->val);
}

/* Appends the canonical query string to b; scratch holds the encoded pieces. */
static int sb_query(struct sbuf *b, const struct s3_sigv4_param *params, size_t n)
{
	char scratch[S3_SIGV4_MAX_CANONICAL];
	struct sbuf sc = { scratch, 0, sizeof(scratch), 0 };
	struct qent ent[S3_SIGV4_MAX_PARAMS];

	if (n > S3_SIGV4_MAX_PARAMS)
		return -E2BIG;
	for (size_t i = 0; i < n; i++) {
		const char *v = params[i].value ? params[i].value : "";

		ent[i].key = scratch + sc.len;
		sb_uri_encode(&sc, params[i].key, strlen(params[i].key), 0);
		sb_chr(&sc, '\0');
		ent[i].val = scratch + sc.len;
		sb_uri_encode(&sc, v, strlen(v), 0);
		sb_chr(&sc, '\0');
		if (sc.overflow)
			return -ENOSPC;
		/* Insertion sort: n is small, and equal entries keep their order. */
		for (size_t j = i; j > 0 && qent_cmp(&ent[j - 1], &ent[j]) > 0; j--) {
			struct qent t = ent[j];

			ent[j] = ent[j - 1];
			ent[j - 1] = t;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_chr(b, '&');
		sb_str(b, ent[i].key);
		sb_chr(b, '=');
		sb_str(b, ent[i].val);
	}
	return b->overflow ? -ENOSPC : 0;
}

int s3_sigv4_query_string(const struct s3_sigv4_param *params, size_t n, char *out,
			  size_t outsz)
{
	struct sbuf b = { out, 0, outsz ? outsz - 1 : 0, outsz == 0 };
	int ret = sb_query(&b, params, n);

	if (ret)
		return ret;
	out[b.len] = '\0';
	return (int)b.len;
}

struct hent {
	char name[MAX_HEADER_NAME + 1]; /* lowercased */
	const char *value;
};

static int lower_name(const char *in, char *out)
{
	size_t i;

	for (i = 0; in[i]; i++) {
		unsigned char c = (unsigned char)in[i];

		/* RFC 9110 token characters only: anything else cannot be a header name */
		if (i == MAX_HEADER_NAME || c <= ' ' || c >= 0x7f || c == ':')
			return -1;
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
	}
	out[i] = '\0';
	return i ? 0 : -1;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Trim, and collapse each inner run of blanks to one space, as SigV4 "Trimall" asks. */
static void sb_trimall(struct sbuf *b, const char *v)
{
	const char *end = v + strlen(v);

	while (v < end && is_blank(*v))
		v++;
	while (end > v && is_blank(end[-1]))
		end--;
	while (v < end) {
		const char *run = v;

		while (v < end && !is_blank(*v))
			v++;
		sb_add(b, run, (size_t)(v - run));
		if (v < end) {
			sb_chr(b, ' ');
			while (is_blank(*v))
				v++;
		}
	}
}

/*
 * The canonical request into cr, and the signed-header list into sh. Everything is
 * checked here so that a request the signer accepts is one the server can verify.
 */
static int build_canonical(const struct s3_sigv4_signer *s, const struct s3_sigv4_request *req,
			   const char *amz_date, const char *header_hash, const char *body_hash,
			   struct sbuf *cr, struct sbuf *sh, char *err, size_t errlen)
{
	struct hent h[MAX_ALL_HEADERS];
	size_t nh = 0;
	int have_host = 0;
	const char *path;
	int ret;

	if (!req->method || !*req->method || !valid_token_chars(req->method)) {
		errbuf_set(err, errlen, "invalid HTTP method");
		return -EINVAL;
	}
	if (req->nheaders > S3_SIGV4_MAX_HEADERS) {
		errbuf_set(err, errlen, "more than %d headers to sign", S3_SIGV4_MAX_HEADERS);
		return -E2BIG;
	}
	for (size_t i = 0; i < req->nheaders; i++) {
		const char *v = req->headers[i].value ? req->headers[i].value : "";

		if (!req->headers[i].name || lower_name(req->headers[i].name, h[nh].name)) {
			errbuf_set(err, errlen, "invalid header name (header %zu)", i);
			return -EINVAL;
		}
		if (has_ctl(v)) {
			errbuf_set(err, errlen, "header %s: value contains CR or LF", h[nh].name);
			return -EINVAL;
		}
		if (!strcmp(h[nh].name, "x-amz-date") ||
		    !strcmp(h[nh].name, "x-amz-content-sha256") ||
		    !strcmp(h[nh].name, "x-amz-security-token") ||
		    !strcmp(h[nh].name, "authorization")) {
			errbuf_set(err, errlen, "header %s is set by the signer, not the caller",
				h[nh].name);
			return -EINVAL;
		}
		if (!strcmp(h[nh].name, "host"))
			have_host = 1;
		h[nh++].value = v;
	}
	if (!have_host) {
		errbuf_set(err, errlen, "no Host header to sign");
		return -EINVAL;
	}
	if (header_hash) {
		strcpy(h[nh].name, "x-amz-content-sha256");
		h[nh++].value = header_hash;
	}
	strcpy(h[nh].name, "x-amz-date");
	h[nh++].value = amz_date;
	if (s->token) {
		strcpy(h[nh].name, "x-amz-security-token");
		h[nh++].value = s->token;
	}
	/* Stable insertion sort: repeated headers keep their order, their values are joined. */
	for (size_t i = 1; i < nh; i++) {
		for (size_t j = i; j > 0 && strcmp(h[j - 1].name, h[j].name) > 0; j--) {
			struct hent t = h[j];

			h[j] = h[j - 1];
			h[j - 1] = t;
		}
	}

	sb_str(cr, req->method);
	sb_chr(cr, '\n');
	path = req->path ? req->path : "";
	if (*path != '/')
		sb_chr(cr, '/');
	sb_uri_encode(cr, path, strlen(path), 1);
	sb_chr(cr, '\n');
	ret = sb_query(cr, req->query, req->nquery);
	if (ret == -E2BIG) {
		errbuf_set(err, errlen, "more than %d query parameters", S3_SIGV4_MAX_PARAMS);
		return ret;
	}
	sb_chr(cr, '\n');
	for (size_t i = 0; i < nh; i++) {
		int repeat = i > 0 && !strcmp(h[i - 1].name, h[i].name);

		if (repeat) {
			sb_chr(cr, ',');
		} else {
			if (i) {
				sb_chr(cr, '\n');
				sb_chr(sh, ';');
			}
			sb_str(cr, h[i].name);
			sb_chr(cr, ':');
			sb_str(sh, h[i].name);
		}
		sb_trimall(cr, h[i].value);
	}
	sb_str(cr, "\n\n");
	sb_add(cr, sh->p, sh->len);
	sb_chr(cr, '\n');
	sb_str(cr, body_hash);
	if (cr->overflow || sh->overflow) {
		errbuf_set(err, errlen, "request too large to sign (limit %d bytes)",
			S3_SIGV4_MAX_CANONICAL);
		return -ENOSPC;
	}
	return 0;
}

static int valid_payload_hash(const char *h)
{
	size_t i;

	if (!strcmp(h, S3_SIGV4_UNSIGNED_PAYLOAD) ||
	    !strcmp(h, "STREAMING-UNSIGNED-PAYLOAD-TRAILER"))
		return 1;
	for (i = 0; h[i]; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return 0;
	return i == 64;
}

/* Everything up to the string to sign; the stages a caller may want to see stop early. */
struct stages {
	char amz_date[S3_SIGV4_AMZ_DATE_LEN + 1];
	const char *payload_hash;
	char cr[S3_SIGV4_MAX_CANONICAL];
	size_t cr_len;
	char sh[S3_SIGV4_MAX_HEADERS * (MAX_HEADER_NAME + 1) + 64];
	size_t sh_len;
	char sts[256 + MAX_REGION + MAX_SERVICE];
	size_t sts_len;
	const char *scope; /* "date/region/service/aws4_request", inside sts */
	size_t scope_len;
};

static int make_stages(struct s3_sigv4_signer *s, const struct s3_sigv4_request *req, time_t now,
		       struct stages *st, char *err, size_t errlen)
{
	struct sbuf cr = { st->cr, 0, sizeof(st->cr) - 1, 0 };
	struct sbuf sh = { st->sh, 0, sizeof(st->sh) - 1, 0 };
	struct sbuf sts = { st->sts, 0, sizeof(st->sts) - 1, 0 };
	unsigned char md[32];
	unsigned int mdlen = 0;
	char hex[65];
	int ret;

	s3_sigv4_amz_date(now, st->amz_date);
	st->payload_hash = NULL;
	if (!req->omit_content_sha256) {
		st->payload_hash = req->payload_hash ? req->payload_hash : S3_SIGV4_UNSIGNED_PAYLOAD;
		if (!valid_payload_hash(st->payload_hash)) {
			errbuf_set(err, errlen,
				"payload hash is neither 64 lowercase hex digits nor UNSIGNED-PAYLOAD");
			return -EINVAL;
		}
	} else if (req->payload_hash && !valid_payload_hash(req->payload_hash)) {
		errbuf_set(err, errlen, "payload hash is not 64 lowercase hex digits");
		return -EINVAL;
	}
	/* Without the header (other services), the last line still names the body's hash. */
	ret = build_canonical(s, req, st->amz_date, st->payload_hash,
			      st->payload_hash ? st->payload_hash
					       : req->payload_hash ? req->payload_hash
								   : S3_SIGV4_EMPTY_SHA256,
			      &cr, &sh, err, errlen);
	if (ret)
		return ret;
	st->cr[cr.len] = '\0';
	st->cr_len = cr.len;
	st->sh[sh.len] = '\0';
	st->sh_len = sh.len;

	if (!EVP_DigestInit_ex2(s->md, s->sha256, NULL) ||
	    !EVP_DigestUpdate(s->md, st->cr, st->cr_len) ||
	    !EVP_DigestFinal_ex(s->md, md, &mdlen) || mdlen != 32) {
		errbuf_set(err, errlen, "OpenSSL SHA-256 failed");
		return -EIO;
	}
	hex_encode(md, 32, hex);
	sb_str(&sts, ALGORITHM "\n");
	sb_str(&sts, st->amz_date);
	sb_chr(&sts, '\n');
	st->scope = st->sts + sts.len;
	sb_add(&sts, st->amz_date, 8);
	sb_chr(&sts, '/');
	sb_str(&sts, s->region);
	sb_chr(&sts, '/');
	sb_str(&sts, s->service);
	sb_str(&sts, "/aws4_request");
	st->scope_len = (size_t)(st->sts + sts.len - st->scope);
	sb_chr(&sts, '\n');
	sb_str(&sts, hex);
	if (sts.overflow) {
		errbuf_set(err, errlen, "string to sign too long");
		return -ENOSPC;
	}
	st->sts[sts.len] = '\0';
	st->sts_len = sts.len;
	return 0;
}

static int copy_out(const char *src, size_t len, char *out, size_t outsz, char *err,
		    size_t errlen)
{
	if (len >= outsz) {
		errbuf_set(err, errlen, "output buffer too small (%zu bytes needed)", len + 1);
		return -ENOSPC;
	}
	memcpy(out, src, len + 1);
	return 0;
}

/* One stage of the signature, for the debugging accessors below. */
static int stage_out(struct s3_sigv4_signer *s, const struct s3_sigv4_request *req, time_t now,
		     int string_to_sign, char *out, size_t outsz, char *err, size_t errlen)
{
	struct stages *st = malloc(sizeof(*st));
	int ret = -ENOMEM;

	if (!st) {
		errbuf_set(err, errlen, "out of memory");
		goto out;
	}
	ret = make_stages(s, req, now, st, err, errlen);
	if (!ret)
		ret = string_to_sign ? copy_out(st->sts, st->sts_len, out, outsz, err, errlen) :
				       copy_out(st->cr, st->cr_len, out, outsz, err, errlen);
out:
	free(st);
	return ret;
}

int s3_sigv4_canonical_request(struct s3_sigv4_signer *s, const struct s3_sigv4_request *req,
			       time_t now, char *out, size_t outsz, char *err, size_t errlen)
{
	return stage_out(s, req, now, 0, out, outsz, err, errlen);
}

int s3_sigv4_string_to_sign(struct s3_sigv4_signer *s, const struct s3_sigv4_request *req,
			    time_t now, char *out, size_t outsz, char *err, size_t errlen)
{
	return stage_out(s, req, now, 1, out, outsz, err, errlen);
}

static int refresh_key(struct s3_sigv4_signer *s, const char *amz_date, char *err,
		       size_t errlen)
{
	char date8[9];

	if (!memcmp(s->key_date, amz_date, 8) && s->key_date[0])
		return 0;
	memcpy(date8, amz_date, 8);
	date8[8] = '\0';
	s->key_date[0] = '\0';
	if (s3_sigv4_derive_key(s->secret, date8, s->region, s->service, s->key) ||
	    !EVP_MAC_init(s->mac, s->key, sizeof(s->key), NULL)) {
		errbuf_set(err, errlen, "OpenSSL HMAC-SHA256 failed deriving the signing key");
		return -EIO;
	}
	memcpy(s->key_date, date8, 9);
	return 0;
}

int s3_sigv4_sign(struct s3_sigv4_signer *s, const struct s3_sigv4_request *req, time_t now,
		  struct s3_sigv4_result *out, char *err, size_t errlen)
{
	struct stages st;
	unsigned char sig[32];
	size_t siglen = 0;
	int ret;

	ret = make_stages(s, req, now, &st, err, errlen);
	if (ret)
		return ret;
	ret = refresh_key(s, st.amz_date, err, errlen);
	if (ret)
		return ret;
	/* A NULL key restarts HMAC with the key already set: no re-derivation. */
	if (!EVP_MAC_init(s->mac, NULL, 0, NULL) ||
	    !EVP_MAC_update(s->mac, (const unsigned char *)st.sts, st.sts_len) ||
	    !EVP_MAC_final(s->mac, sig, &siglen, sizeof(sig)) || siglen != 32) {
		errbuf_set(err, errlen, "OpenSSL HMAC-SHA256 failed");
		return -EIO;
	}
	hex_encode(sig, 32, out->signature);
	memcpy(out->amz_date, st.amz_date, sizeof(out->amz_date));
	if (st.payload_hash)
		memcpy(out->payload_hash, st.payload_hash, strlen(st.payload_hash) + 1);
	else
		out->payload_hash[0] = '\0';
	out->security_token = s->token;
	{
		struct sbuf a = { out->authorization, 0, sizeof(out->authorization) - 1, 0 };

		sb_str(&a, ALGORITHM " Credential=");
		sb_str(&a, s->access_key);
		sb_chr(&a, '/');
		/* the scope is the string to sign's third line */
		sb_add(&a, st.scope, st.scope_len);
		sb_str(&a, ", SignedHeaders=");
		sb_add(&a, st.sh, st.sh_len);
		sb_str(&a, ", Signature=");
		sb_add(&a, out->signature, 64);
		if (a.overflow) {
			errbuf_set(err, errlen, "Authorization header longer than %d bytes",
				S3_SIGV4_AUTH_MAX);
			return -ENOSPC;
		}
		out->authorization[a.len] = '\0';
	}
	return 0;
}
