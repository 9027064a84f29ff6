#include "lib/azure_auth.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lib/codec.h"

/* Bounds that keep sorting on the stack; real requests use a handful of each. */
#define MAX_HEADERS 64
#define MAX_QUERY_PARAMS 64

static int seterr(char *err, size_t errsz, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int seterr(char *err, size_t errsz, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errsz) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* A bounded string builder: appends past the capacity only set a flag, checked once at the end. */
struct sb {
	char *buf;
	size_t cap, len;
	bool full;
};

static void sb_init(struct sb *b, char *buf, size_t cap)
{
	b->buf = buf;
	b->cap = cap;
	b->len = 0;
	b->full = cap == 0;
	if (cap)
		buf[0] = '\0';
}

static void sb_addn(struct sb *b, const char *s, size_t n)
{
	if (b->full || n >= b->cap - b->len) {
		b->full = true;
		return;
	}
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

static void sb_add(struct sb *b, const char *s)
{
	sb_addn(b, s ? s : "", s ? strlen(s) : 0);
}

static void sb_addc(struct sb *b, char c)
{
	sb_addn(b, &c, 1);
}

static int sb_done(const struct sb *b, const char *what, char *err, size_t errsz)
{
	if (b->full)
		return seterr(err, errsz, -ENOSPC, "%s does not fit in %zu bytes", what, b->cap);
	if (b->len > INT32_MAX)
		return seterr(err, errsz, -ENOSPC, "%s is too long", what);
	return (int)b->len;
}

int azure_auth_key_from_base64(struct azure_key *key, const char *b64, char *err, size_t errsz)
{
	int n;

	memset(key, 0, sizeof(*key));
	if (!b64 || !*b64)
		return seterr(err, errsz, -EINVAL, "account key is empty");
	n = codec_base64_decode(b64, strlen(b64), key->bytes, sizeof(key->bytes));
	if (n == -ENOSPC)
		return seterr(err, errsz, -EINVAL, "account key is longer than %d bytes",
			      AZURE_KEY_MAX);
	if (n < 0)
		return seterr(err, errsz, -EINVAL,
			      "account key is not valid base64 (%zu characters; check for a truncated "
			      "or quoted value)",
			      strlen(b64));
	if (n == 0)
		return seterr(err, errsz, -EINVAL, "account key is empty");
	key->len = (size_t)n;
	return 0;
}

void azure_auth_key_clear(struct azure_key *key)
{
	OPENSSL_cleanse(key, sizeof(*key));
}

int azure_auth_date(time_t t, char *out, size_t outsz)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	int n;

	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
		return -EINVAL;
	n = snprintf(out, outsz, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
		     tm.tm_mday % 100, months[tm.tm_mon % 12], (tm.tm_year + 1900) % 10000,
		     tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100);
	if (n < 0 || (size_t)n >= outsz)
		return -ENOSPC;
	return n;
}

int azure_auth_hmac_b64(const struct azure_key *key, const char *msg, size_t len, char *out,
			size_t outsz)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int ret;

	if (!key->len)
		return -EINVAL;
	if (!HMAC(EVP_sha256(), key->bytes, (int)key->len, (const unsigned char *)msg, len, md,
		  &mdlen))
		return -EIO;
	ret = codec_base64_encode(md, mdlen, out, outsz);
	OPENSSL_cleanse(md, sizeof(md));
	return ret;
}

static bool has_prefix_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static const char *find_header(const struct azure_header *hdrs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(hdrs[i].name, name) == 0)
			return hdrs[i].value ? hdrs[i].value : "";
	return "";
}

static bool is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trims the value and folds each run of linear whitespace to one space, except inside a quoted
 * string, as the service does before it compares signatures. */
static void add_header_value(struct sb *b, const char *v)
{
	const char *end = v + strlen(v);
	bool quoted = false;

	while (v < end && is_lws(*v))
		v++;
	while (end > v && is_lws(end[-1]))
		end--;
	while (v < end) {
		if (*v == '"')
			quoted = !quoted;
		if (!quoted && is_lws(*v)) {
			while (v < end && is_lws(*v))
				v++;
			sb_addc(b, ' ');
			continue;
		}
		sb_addc(b, *v++);
	}
}

static void add_lower(struct sb *b, const char *s)
{
	for (; *s; s++)
		sb_addc(b, (*s >= 'A' && *s <= 'Z') ? (char)(*s - 'A' + 'a') : *s);
}

static int cmp_header_ptr(const void *a, const void *b)
{
	const struct azure_header *x = *(const struct azure_header *const *)a;
	const struct azure_header *y = *(const struct azure_header *const *)b;

	/* names are compared lowercased; x-ms-* names are ASCII */
	return strcasecmp(x->name, y->name);
}

struct qparam {
	const char *name, *value;
};

static int cmp_qparam(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

/* Splits scheme://authority/path?query#fragment into path and query (both still encoded). */
static int split_url(const char *url, const char **path, size_t *pathlen, const char **query,
		     size_t *querylen)
{
	const char *p = strstr(url, "://");
	const char *q, *end;

	if (!p)
		return -EINVAL;
	p += 3;
	p += strcspn(p, "/?#");
	end = p + strcspn(p, "#");
	q = memchr(p, '?', (size_t)(end - p));
	*path = p;
	*pathlen = (size_t)((q ? q : end) - p);
	*query = q ? q + 1 : end;
	*querylen = q ? (size_t)(end - q - 1) : 0;
	return 0;
}

static int add_canonical_query(struct sb *b, const char *query, size_t qlen, char *err,
			       size_t errsz)
{
	struct qparam params[MAX_QUERY_PARAMS];
	size_t np = 0, used = 0, scratchsz = 2 * qlen + 2;
	char *scratch = NULL;
	const char *p = query, *end = query + qlen;
	int ret = 0;

	if (!qlen)
		return 0;
	scratch = malloc(scratchsz);
	if (!scratch)
		return seterr(err, errsz, -ENOMEM, "out of memory");
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *seg_end = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(seg_end - p));
		const char *name_end = eq ? eq : seg_end;
		int nl, vl;

		if (seg_end == p) {
			p = seg_end + 1;
			continue;
		}
		if (np == MAX_QUERY_PARAMS) {
			ret = seterr(err, errsz, -E2BIG, "more than %d query parameters",
				     MAX_QUERY_PARAMS);
			goto out;
		}
		nl = codec_url_decode(p, (size_t)(name_end - p), CODEC_URL_PLUS_SPACE, scratch + used,
				      scratchsz - used);
		if (nl < 0 || memchr(scratch + used, '\0', (size_t)nl)) {
			ret = seterr(err, errsz, -EINVAL, "malformed query parameter name in URL");
			goto out;
		}
		params[np].name = scratch + used;
		for (char *c = scratch + used; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		used += (size_t)nl + 1;
		vl = eq ? codec_url_decode(eq + 1, (size_t)(seg_end - eq - 1), CODEC_URL_PLUS_SPACE,
					   scratch + used, scratchsz - used)
			: 0;
		if (!eq)
			scratch[used] = '\0';
		if (vl < 0 || memchr(scratch + used, '\0', (size_t)vl) ||
		    memchr(scratch + used, '\n', (size_t)vl)) {
			ret = seterr(err, errsz, -EINVAL,
				     "malformed value of query parameter '%s' in URL",
				     params[np].name);
			goto out;
		}
		params[np].value = scratch + used;
		used += (size_t)vl + 1;
		np++;
		p = seg_end + 1;
	}
	qsort(params, np, sizeof(params[0]), cmp_qparam);
	for (size_t i = 0; i < np; i++) {
		if (i > 0 && strcmp(params[i].name, params[i - 1].name) == 0) {
			sb_addc(b, ',');
		} else {
			sb_addc(b, '\n');
			sb_add(b, params[i].name);
			sb_addc(b, ':');
		}
		sb_add(b, params[i].value);
	}
out:
	free(scratch);
	return ret;
}

int azure_auth_string_to_sign(const char *method, const char *url, const struct azure_header *hdrs,
			      size_t nhdrs, const char *account, char *out, size_t outsz, char *err,
			      size_t errsz)
{
	static const char *const standard[] = {
		"Content-Encoding", "Content-Language", "Content-Length",      "Content-MD5",
		"Content-Type",	    "Date",		"If-Modified-Since",   "If-Match",
		"If-None-Match",    "If-Unmodified-Since", "Range",
	};
	const struct azure_header *xms[MAX_HEADERS];
	const char *path, *query;
	size_t pathlen, querylen, nx = 0;
	struct sb b;
	int ret;

	if (!method || !*method || !url || !account || !*account)
		return seterr(err, errsz, -EINVAL, "method, URL and account are required");
	if (nhdrs > MAX_HEADERS)
		return seterr(err, errsz, -E2BIG, "more than %d request headers", MAX_HEADERS);
	if (split_url(url, &path, &pathlen, &query, &querylen))
		return seterr(err, errsz, -EINVAL, "URL has no scheme:// (got a path?)");
	for (size_t i = 0; i < nhdrs; i++) {
		if (!hdrs[i].name || !*hdrs[i].name)
			return seterr(err, errsz, -EINVAL, "request header %zu has no name", i);
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(hdrs[i].name, hdrs[j].name) == 0)
				return seterr(err, errsz, -EINVAL,
					      "request header %s is given twice", hdrs[i].name);
		if (has_prefix_ci(hdrs[i].name, "x-ms-"))
			xms[nx++] = &hdrs[i];
	}

	sb_init(&b, out, outsz);
	for (const char *m = method; *m; m++)
		sb_addc(&b, (*m >= 'a' && *m <= 'z') ? (char)(*m - 'a' + 'A') : *m);
	sb_addc(&b, '\n');
	for (size_t i = 0; i < sizeof(standard) / sizeof(standard[0]); i++) {
		const char *v = find_header(hdrs, nhdrs, standard[i]);

		/* 2015-02-21 and later: a zero length is signed as an empty line */
		if (strcmp(standard[i], "Content-Length") == 0 && strcmp(v, "0") == 0)
			v = "";
		sb_add(&b, v);
		sb_addc(&b, '\n');
	}
	qsort(xms, nx, sizeof(xms[0]), cmp_header_ptr);
	for (size_t i = 0; i < nx; i++) {
		add_lower(&b, xms[i]->name);
		sb_addc(&b, ':');
		add_header_value(&b, xms[i]->value ? xms[i]->value : "");
		sb_addc(&b, '\n');
	}
	sb_addc(&b, '/');
	sb_add(&b, account);
	if (pathlen)
		sb_addn(&b, path, pathlen);
	else
		sb_addc(&b, '/');
	ret = add_canonical_query(&b, query, querylen, err, errsz);
	if (ret)
		return ret;
	return sb_done(&b, "string-to-sign", err, errsz);
}

int azure_auth_shared_key_header(const char *method, const char *url,
				 const struct azure_header *hdrs, size_t nhdrs, const char *account,
				 const struct azure_key *key, char *out, size_t outsz, char *err,
				 size_t errsz)
{
	char sig[AZURE_SIG_SIZE];
	size_t cap = 256 + (method ? strlen(method) : 0) + (url ? 2 * strlen(url) : 0) +
		     (account ? strlen(account) : 0);
	char *sts = NULL;
	int ret, n;

	if (!key || !key->len)
		return seterr(err, errsz, -EINVAL, "no account key to sign with");
	for (size_t i = 0; i < nhdrs && i <= MAX_HEADERS; i++)
		cap += (hdrs[i].name ? strlen(hdrs[i].name) : 0) +
		       (hdrs[i].value ? strlen(hdrs[i].value) : 0) + 2;
	sts = malloc(cap);
	if (!sts)
		return seterr(err, errsz, -ENOMEM, "out of memory");
	n = azure_auth_string_to_sign(method, url, hdrs, nhdrs, account, sts, cap, err, errsz);
	if (n < 0) {
		ret = n;
		goto out;
	}
	ret = azure_auth_hmac_b64(key, sts, (size_t)n, sig, sizeof(sig));
	if (ret < 0) {
		ret = seterr(err, errsz, ret, "HMAC-SHA256 failed");
		goto out;
	}
	n = snprintf(out, outsz, "Authorization: SharedKey %s:%s", account, sig);
	if (n < 0 || (size_t)n >= outsz) {
		ret = seterr(err, errsz, -ENOSPC, "Authorization header does not fit in %zu bytes",
			     outsz);
		goto out;
	}
	ret = n;
out:
	free(sts);
	return ret;
}

int azure_auth_bearer_header(const char *token, char *out, size_t outsz, char *err, size_t errsz)
{
	int n;

	if (!token || !*token)
		return seterr(err, errsz, -EINVAL, "bearer token is empty");
	for (const char *c = token; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return seterr(err, errsz, -EINVAL,
				      "bearer token contains whitespace or control characters "
				      "(at offset %zu)",
				      (size_t)(c - token));
	n = snprintf(out, outsz, "Authorization: Bearer %s", token);
	if (n < 0 || (size_t)n >= outsz)
		return seterr(err, errsz, -ENOSPC, "bearer token is longer than %zu bytes",
			      outsz > 22 ? outsz - 22 : 0);
	return n;
}

static bool empty(const char *s)
{
	return !s || !*s;
}

static bool valid_version(const char *v)
{
	static const char pattern[] = "dddd-dd-dd";

	if (strlen(v) != sizeof(pattern) - 1)
		return false;
	for (size_t i = 0; pattern[i]; i++)
		if (pattern[i] == 'd' ? (v[i] < '0' || v[i] > '9') : v[i] != pattern[i])
			return false;
	return true;
}

/* A newline in a field would shift every later field of the string-to-sign. */
static int check_field(const char *name, const char *v, char *err, size_t errsz)
{
	if (v && strpbrk(v, "\r\n"))
		return seterr(err, errsz, -EINVAL, "SAS field %s contains a newline", name);
	return 0;
}

static void add_field(struct sb *b, const char *v)
{
	sb_add(b, v);
	sb_addc(b, '\n');
}

int azure_auth_sas_service_string_to_sign(const char *account, const struct azure_sas_service *p,
					  char *out, size_t outsz, char *err, size_t errsz)
{
	const char *v = p->version ? p->version : AZURE_SAS_VERSION;
	const char *fields[] = { p->permissions,      p->start,
				 p->expiry,	      p->container,
				 p->blob,	      p->identifier,
				 p->ip,		      p->protocol,
				 p->snapshot,	      p->encryption_scope,
				 p->cache_control,    p->content_disposition,
				 p->content_encoding, p->content_language,
				 p->content_type };
	static const char *const names[] = { "sp",   "st",   "se",   "container", "blob",
					     "si",   "sip",  "spr",  "snapshot",  "ses",
					     "rscc", "rscd", "rsce", "rscl",	  "rsct" };
	bool v2020;
	struct sb b;
	int ret;

	if (empty(account))
		return seterr(err, errsz, -EINVAL, "service SAS needs an account name");
	if (!valid_version(v))
		return seterr(err, errsz, -EINVAL, "SAS version '%s' is not YYYY-MM-DD", v);
	if (strcmp(v, "2018-11-09") < 0)
		return seterr(err, errsz, -EINVAL,
			      "service SAS version %s is not supported (2018-11-09 or later)", v);
	v2020 = strcmp(v, "2020-12-06") >= 0;
	if (empty(p->container))
		return seterr(err, errsz, -EINVAL, "service SAS needs a container");
	if (empty(p->identifier) && (empty(p->permissions) || empty(p->expiry)))
		return seterr(err, errsz, -EINVAL,
			      "service SAS needs permissions and an expiry time (or a stored access "
			      "policy identifier)");
	if (!v2020 && !empty(p->encryption_scope))
		return seterr(err, errsz, -EINVAL,
			      "SAS encryption scope needs version 2020-12-06 or later (got %s)", v);
	if (!empty(p->snapshot) && empty(p->blob))
		return seterr(err, errsz, -EINVAL, "a snapshot SAS needs a blob");
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		ret = check_field(names[i], fields[i], err, errsz);
		if (ret)
			return ret;
	}

	sb_init(&b, out, outsz);
	add_field(&b, p->permissions);
	add_field(&b, p->start);
	add_field(&b, p->expiry);
	/* the resource is named URL-decoded and with the account once, whatever the endpoint */
	sb_add(&b, "/blob/");
	sb_add(&b, account);
	sb_addc(&b, '/');
	sb_add(&b, p->container);
	if (!empty(p->blob)) {
		sb_addc(&b, '/');
		sb_add(&b, p->blob);
	}
	sb_addc(&b, '\n');
	add_field(&b, p->identifier);
	add_field(&b, p->ip);
	add_field(&b, p->protocol);
	add_field(&b, v);
	add_field(&b, empty(p->blob) ? "c" : empty(p->snapshot) ? "b" : "bs");
	add_field(&b, p->snapshot);
	if (v2020)
		add_field(&b, p->encryption_scope);
	add_field(&b, p->cache_control);
	add_field(&b, p->content_disposition);
	add_field(&b, p->content_encoding);
	add_field(&b, p->content_language);
	sb_add(&b, p->content_type);
	return sb_done(&b, "SAS string-to-sign", err, errsz);
}

static void add_param(struct sb *b, const char *name, const char *value)
{
	char enc[1024];
	int n;

	if (empty(value))
		return;
	if (b->len)
		sb_addc(b, '&');
	sb_add(b, name);
	sb_addc(b, '=');
	n = codec_url_encode(value, strlen(value), 0, enc, sizeof(enc));
	if (n < 0)
		b->full = true;
	else
		sb_addn(b, enc, (size_t)n);
}

static int sign_into(const struct azure_key *key, const char *sts, char *sig, char *err,
		     size_t errsz)
{
	if (!key || !key->len)
		return seterr(err, errsz, -EINVAL, "no account key to sign the SAS with");
	if (azure_auth_hmac_b64(key, sts, strlen(sts), sig, AZURE_SIG_SIZE) < 0)
		return seterr(err, errsz, -EIO, "HMAC-SHA256 failed");
	return 0;
}

int azure_auth_sas_service(const char *account, const struct azure_key *key,
			   const struct azure_sas_service *p, char *out, size_t outsz, char *err,
			   size_t errsz)
{
	char sts[8192], sig[AZURE_SIG_SIZE];
	const char *v = p->version ? p->version : AZURE_SAS_VERSION;
	struct sb b;
	int ret;

	ret = azure_auth_sas_service_string_to_sign(account, p, sts, sizeof(sts), err, errsz);
	if (ret < 0)
		return ret;
	ret = sign_into(key, sts, sig, err, errsz);
	if (ret)
		return ret;
	sb_init(&b, out, outsz);
	add_param(&b, "sv", v);
	add_param(&b, "st", p->start);
	add_param(&b, "se", p->expiry);
	add_param(&b, "sr", empty(p->blob) ? "c" : empty(p->snapshot) ? "b" : "bs");
	add_param(&b, "sp", p->permissions);
	add_param(&b, "si", p->identifier);
	add_param(&b, "sip", p->ip);
	add_param(&b, "spr", p->protocol);
	add_param(&b, "ses", p->encryption_scope);
	add_param(&b, "rscc", p->cache_control);
	add_param(&b, "rscd", p->content_disposition);
	add_param(&b, "rsce", p->content_encoding);
	add_param(&b, "rscl", p->content_language);
	add_param(&b, "rsct", p->content_type);
	add_param(&b, "sig", sig);
	OPENSSL_cleanse(sig, sizeof(sig));
	return sb_done(&b, "SAS token", err, errsz);
}

int azure_auth_sas_account_string_to_sign(const char *account, const struct azure_sas_account *p,
					  char *out, size_t outsz, char *err, size_t errsz)
{
	const char *v = p->version ? p->version : AZURE_SAS_VERSION;
	const char *fields[] = { p->permissions, p->services, p->resource_types, p->start,
				 p->expiry,	 p->ip,	      p->protocol,	 p->encryption_scope };
	static const char *const names[] = { "sp", "ss", "srt", "st", "se", "sip", "spr", "ses" };
	bool v2020;
	struct sb b;
	int ret;

	if (empty(account))
		return seterr(err, errsz, -EINVAL, "account SAS needs an account name");
	if (!valid_version(v))
		return seterr(err, errsz, -EINVAL, "SAS version '%s' is not YYYY-MM-DD", v);
	if (strcmp(v, "2015-04-05") < 0)
		return seterr(err, errsz, -EINVAL,
			      "account SAS version %s is not supported (2015-04-05 or later)", v);
	v2020 = strcmp(v, "2020-12-06") >= 0;
	if (empty(p->permissions) || empty(p->expiry))
		return seterr(err, errsz, -EINVAL, "account SAS needs permissions and an expiry time");
	if (!v2020 && !empty(p->encryption_scope))
		return seterr(err, errsz, -EINVAL,
			      "SAS encryption scope needs version 2020-12-06 or later (got %s)", v);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		ret = check_field(names[i], fields[i], err, errsz);
		if (ret)
			return ret;
	}

	sb_init(&b, out, outsz);
	add_field(&b, account);
	add_field(&b, p->permissions);
	add_field(&b, empty(p->services) ? "b" : p->services);
	add_field(&b, empty(p->resource_types) ? "sco" : p->resource_types);
	add_field(&b, p->start);
	add_field(&b, p->expiry);
	add_field(&b, p->ip);
	add_field(&b, p->protocol);
	add_field(&b, v);
	if (v2020)
		add_field(&b, p->encryption_scope);
	return sb_done(&b, "SAS string-to-sign", err, errsz);
}

int azure_auth_sas_account(const char *account, const struct azure_key *key,
			   const struct azure_sas_account *p, char *out, size_t outsz, char *err,
			   size_t errsz)
{
	char sts[4096], sig[AZURE_SIG_SIZE];
	const char *v = p->version ? p->version : AZURE_SAS_VERSION;
	struct sb b;
	int ret;

	ret = azure_auth_sas_account_string_to_sign(account, p, sts, sizeof(sts), err, errsz);
	if (ret < 0)
		return ret;
	ret = sign_into(key, sts, sig, err, errsz);
	if (ret)
		return ret;
	sb_init(&b, out, outsz);
	add_param(&b, "sv", v);
	add_param(&b, "ss", empty(p->services) ? "b" : p->services);
	add_param(&b, "srt", empty(p->resource_types) ? "sco" : p->resource_types);
	add_param(&b, "sp", p->permissions);
	add_param(&b, "st", p->start);
	add_param(&b, "se", p->expiry);
	add_param(&b, "sip", p->ip);
	add_param(&b, "spr", p->protocol);
	add_param(&b, "ses", p->encryption_scope);
	add_param(&b, "sig", sig);
	OPENSSL_cleanse(sig, sizeof(sig));
	return sb_done(&b, "SAS token", err, errsz);
}

int azure_auth_sas_check(const char *sas, char *err, size_t errsz)
{
	bool has_sig = false, has_sv = false;
	const char *p;

	if (!sas)
		return seterr(err, errsz, -EINVAL, "SAS token is empty");
	if (*sas == '?')
		sas++;
	if (!*sas)
		return seterr(err, errsz, -EINVAL, "SAS token is empty");
	for (p = sas; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '#' || *p == '?' || *p == 0x7f)
			return seterr(err, errsz, -EINVAL,
				      "SAS token has a space, control character, '?' or '#' at "
				      "offset %zu (quoted or pasted with a newline?)",
				      (size_t)(p - sas));
	for (p = sas; *p;) {
		size_t len = strcspn(p, "&");

		if (len > 4 && strncmp(p, "sig=", 4) == 0)
			has_sig = true;
		if (len > 3 && strncmp(p, "sv=", 3) == 0)
			has_sv = true;
		p += len;
		if (*p)
			p++;
	}
	if (!has_sig)
		return seterr(err, errsz, -EINVAL,
			      "SAS token has no sig= parameter (give the query string of a SAS URL)");
	if (!has_sv)
		return seterr(err, errsz, -EINVAL, "SAS token has no sv= parameter");
	return 0;
}

int azure_auth_sas_append(const char *url, const char *sas, char *out, size_t outsz, char *err,
			  size_t errsz)
{
	struct sb b;
	int ret;

	ret = azure_auth_sas_check(sas, err, errsz);
	if (ret)
		return ret;
	if (*sas == '?')
		sas++;
	sb_init(&b, out, outsz);
	sb_add(&b, url);
	sb_addc(&b, strchr(url, '?') ? '&' : '?');
	sb_add(&b, sas);
	return sb_done(&b, "URL with SAS", err, errsz);
}
