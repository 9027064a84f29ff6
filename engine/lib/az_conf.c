#include "lib/az_conf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

/* Microsoft publishes this key for the storage emulators; it guards nothing. */
#define AZ_DEV_KEY                                                                                 \
	"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

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

static bool empty(const char *s)
{
	return !s || !*s;
}

/* Copies at most n bytes of s; fails rather than truncates. */
static int copy(char *dst, size_t dstsz, const char *s, size_t n)
{
	if (n >= dstsz)
		return -ENAMETOOLONG;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

static bool valid_account(const char *s, size_t n)
{
	if (n < 3 || n > 24)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

static bool valid_container(const char *s, size_t n)
{
	static const char *const special[] = { "$root", "$web", "$logs" };

	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (n == strlen(special[i]) && memcmp(s, special[i], n) == 0)
			return true;
	if (n < 3 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		bool alnum = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9');

		if (!alnum && s[i] != '-')
			return false;
		if (s[i] == '-' && s[i + 1] == '-')
			return false;
	}
	return true;
}

/* Quotes at most 40 characters of a name into a message, never a whole user string. */
#define SHOWN(n) ((int)((n) > 40 ? 40 : (n)))

int az_conf_parse_uri(const char *uri, struct az_uri *out, char *err, size_t errsz)
{
	static const char usage[] = "expected az://<account>/<container>[/<prefix>]";
	const char *acct, *cont, *slash;
	size_t alen, clen;

	memset(out, 0, sizeof(*out));
	if (!uri || strncmp(uri, "az://", 5) != 0)
		return seterr(err, errsz, -EINVAL, "not an az:// URI: %s", usage);
	/* a pasted SAS URL would put the signature here; never echo it */
	if (strpbrk(uri, "?#"))
		return seterr(err, errsz, -EINVAL,
			      "az:// URI must not contain '?' or '#': give a SAS token through the "
			      "SAS option or AZURE_STORAGE_SAS_TOKEN, not in the URI");
	acct = uri + 5;
	slash = strchr(acct, '/');
	alen = slash ? (size_t)(slash - acct) : strlen(acct);
	if (alen == 0)
		return seterr(err, errsz, -EINVAL, "az:// URI has no account: %s", usage);
	if (!valid_account(acct, alen))
		return seterr(err, errsz, -EINVAL,
			      "invalid storage account name '%.*s' in az:// URI: 3-24 lowercase "
			      "letters and digits",
			      SHOWN(alen), acct);
	memcpy(out->account, acct, alen);
	if (!slash || !slash[1])
		return seterr(err, errsz, -EINVAL, "az://%s has no container: %s", out->account,
			      usage);
	cont = slash + 1;
	slash = strchr(cont, '/');
	clen = slash ? (size_t)(slash - cont) : strlen(cont);
	if (!valid_container(cont, clen))
		return seterr(err, errsz, -EINVAL,
			      "invalid container name '%.*s' in az:// URI: 3-63 lowercase letters, "
			      "digits and single hyphens, starting and ending with a letter or digit",
			      SHOWN(clen), cont);
	memcpy(out->container, cont, clen);
	if (slash && copy(out->prefix, sizeof(out->prefix), slash + 1, strlen(slash + 1)))
		return seterr(err, errsz, -ENAMETOOLONG,
			      "blob prefix in az:// URI is longer than %d characters",
			      AZ_BLOB_NAME_MAX - 1);
	return 0;
}

int az_conf_normalize_endpoint(const char *in, char *out, size_t outsz, char *err, size_t errsz)
{
	const char *host;
	size_t n;

	if (empty(in))
		return seterr(err, errsz, -EINVAL, "endpoint is empty");
	if (strncasecmp(in, "https://", 8) == 0)
		host = in + 8;
	else if (strncasecmp(in, "http://", 7) == 0)
		host = in + 7;
	else
		return seterr(err, errsz, -EINVAL,
			      "endpoint must start with http:// or https:// (e.g. "
			      "https://myaccount.blob.core.windows.net or " AZ_DEV_ENDPOINT ")");
	if (!*host || *host == '/')
		return seterr(err, errsz, -EINVAL, "endpoint has no host");
	if (strpbrk(in, "?# \t\r\n"))
		return seterr(err, errsz, -EINVAL,
			      "endpoint must not contain a query, fragment or whitespace");
	n = strlen(in);
	while (n > 0 && in[n - 1] == '/')
		n--;
	if (copy(out, outsz, in, n))
		return seterr(err, errsz, -ENAMETOOLONG, "endpoint is longer than %zu characters",
			      outsz - 1);
	return (int)n;
}

void az_conf_conn_clear(struct az_conn *c)
{
	OPENSSL_cleanse(c, sizeof(*c));
}

enum conn_key {
	CK_PROTOCOL,
	CK_ACCOUNT,
	CK_KEY,
	CK_BLOB_ENDPOINT,
	CK_SAS,
	CK_SUFFIX,
	CK_DEV,
	CK_IGNORED,
	CK_COUNT
};

static const struct {
	const char *name;
	enum conn_key key;
} conn_keys[] = {
	{ "DefaultEndpointsProtocol", CK_PROTOCOL },
	{ "AccountName", CK_ACCOUNT },
	{ "AccountKey", CK_KEY },
	{ "BlobEndpoint", CK_BLOB_ENDPOINT },
	{ "SharedAccessSignature", CK_SAS },
	{ "EndpointSuffix", CK_SUFFIX },
	{ "UseDevelopmentStorage", CK_DEV },
	{ "QueueEndpoint", CK_IGNORED },
	{ "TableEndpoint", CK_IGNORED },
	{ "FileEndpoint", CK_IGNORED },
	{ "BlobSecondaryEndpoint", CK_IGNORED },
	{ "QueueSecondaryEndpoint", CK_IGNORED },
	{ "TableSecondaryEndpoint", CK_IGNORED },
	{ "FileSecondaryEndpoint", CK_IGNORED },
};

static bool key_like(const char *s, size_t n)
{
	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')))
			return false;
	return true;
}

static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r' ||
			   (*e)[-1] == '\n'))
		(*e)--;
}

int az_conf_parse_connection_string(const char *s, struct az_conn *out, char *err, size_t errsz)
{
	const char *val[CK_COUNT] = { 0 };
	size_t vlen[CK_COUNT] = { 0 };
	const char *p, *end;
	char protocol[8] = "https", suffix[128] = "core.windows.net";
	char sas_err[160];
	struct azure_key key;
	int seg = 0, ret;

	memset(out, 0, sizeof(*out));
	if (empty(s))
		return seterr(err, errsz, -EINVAL, "connection string is empty");
	end = s + strlen(s);
	for (p = s; p < end;) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *se = semi ? semi : end, *eq, *ks = p, *ke, *vs, *ve;
		size_t k;

		seg++;
		p = se + 1;
		trim(&ks, &se);
		if (ks == se)
			continue;
		eq = memchr(ks, '=', (size_t)(se - ks));
		if (!eq)
			return seterr(err, errsz, -EINVAL,
				      "connection string: part %d has no '=' (expected Key=Value;...)",
				      seg);
		ke = eq;
		vs = eq + 1;
		ve = se;
		trim(&ks, &ke);
		trim(&vs, &ve);
		for (k = 0; k < sizeof(conn_keys) / sizeof(conn_keys[0]); k++)
			if ((size_t)(ke - ks) == strlen(conn_keys[k].name) &&
			    strncasecmp(ks, conn_keys[k].name, (size_t)(ke - ks)) == 0)
				break;
		/* a key pasted without "AccountKey=" has '=' padding: never echo such a part */
		if (k == sizeof(conn_keys) / sizeof(conn_keys[0]) && !key_like(ks, (size_t)(ke - ks)))
			return seterr(err, errsz, -EINVAL,
				      "connection string: part %d is not a known Key=Value (not "
				      "shown, it may be a secret)",
				      seg);
		if (k == sizeof(conn_keys) / sizeof(conn_keys[0]))
			return seterr(err, errsz, -EINVAL,
				      "connection string: unknown key '%.*s' (known: "
				      "DefaultEndpointsProtocol, AccountName, AccountKey, "
				      "BlobEndpoint, SharedAccessSignature, EndpointSuffix, "
				      "UseDevelopmentStorage)",
				      SHOWN((size_t)(ke - ks)), ks);
		if (conn_keys[k].key == CK_IGNORED)
			continue;
		if (val[conn_keys[k].key])
			return seterr(err, errsz, -EINVAL, "connection string: %s is given twice",
				      conn_keys[k].name);
		if (vs == ve)
			return seterr(err, errsz, -EINVAL, "connection string: %s is empty",
				      conn_keys[k].name);
		val[conn_keys[k].key] = vs;
		vlen[conn_keys[k].key] = (size_t)(ve - vs);
	}

	if (val[CK_DEV]) {
		if (vlen[CK_DEV] != 4 || strncasecmp(val[CK_DEV], "true", 4) != 0)
			return seterr(err, errsz, -EINVAL,
				      "connection string: UseDevelopmentStorage must be 'true'");
		for (int k = 0; k < CK_COUNT; k++)
			if (k != CK_DEV && k != CK_IGNORED && val[k])
				return seterr(err, errsz, -EINVAL,
					      "connection string: UseDevelopmentStorage=true cannot be "
					      "combined with other keys; give AccountName, AccountKey "
					      "and BlobEndpoint instead");
		strcpy(out->account, AZ_DEV_ACCOUNT);
		strcpy(out->key_b64, AZ_DEV_KEY);
		strcpy(out->blob_endpoint, AZ_DEV_ENDPOINT);
		out->dev_storage = true;
		return 0;
	}

	if (val[CK_PROTOCOL]) {
		if (vlen[CK_PROTOCOL] == 5 && strncasecmp(val[CK_PROTOCOL], "https", 5) == 0)
			strcpy(protocol, "https");
		else if (vlen[CK_PROTOCOL] == 4 && strncasecmp(val[CK_PROTOCOL], "http", 4) == 0)
			strcpy(protocol, "http");
		else
			return seterr(err, errsz, -EINVAL,
				      "connection string: DefaultEndpointsProtocol must be http or "
				      "https");
	}
	if (val[CK_SUFFIX] &&
	    (copy(suffix, sizeof(suffix), val[CK_SUFFIX], vlen[CK_SUFFIX]) ||
	     strpbrk(suffix, "/:?#")))
		return seterr(err, errsz, -EINVAL,
			      "connection string: EndpointSuffix must be a DNS suffix such as "
			      "core.windows.net");
	if (val[CK_ACCOUNT]) {
		if (!valid_account(val[CK_ACCOUNT], vlen[CK_ACCOUNT]))
			return seterr(err, errsz, -EINVAL,
				      "connection string: invalid AccountName '%.*s': 3-24 lowercase "
				      "letters and digits",
				      SHOWN(vlen[CK_ACCOUNT]), val[CK_ACCOUNT]);
		memcpy(out->account, val[CK_ACCOUNT], vlen[CK_ACCOUNT]);
	}
	if (val[CK_KEY]) {
		if (!val[CK_ACCOUNT])
			return seterr(err, errsz, -EINVAL,
				      "connection string has AccountKey but no AccountName");
		if (val[CK_SAS])
			return seterr(err, errsz, -EINVAL,
				      "connection string has both AccountKey and "
				      "SharedAccessSignature; give one");
		if (copy(out->key_b64, sizeof(out->key_b64), val[CK_KEY], vlen[CK_KEY])) {
			ret = seterr(err, errsz, -EINVAL, "connection string: AccountKey is too long");
			goto fail;
		}
		if (azure_auth_key_from_base64(&key, out->key_b64, NULL, 0)) {
			ret = seterr(err, errsz, -EINVAL,
				     "connection string: AccountKey is not valid base64");
			goto fail;
		}
		azure_auth_key_clear(&key);
	}
	if (val[CK_SAS]) {
		if (copy(out->sas, sizeof(out->sas), val[CK_SAS], vlen[CK_SAS])) {
			ret = seterr(err, errsz, -EINVAL,
				     "connection string: SharedAccessSignature is longer than %d "
				     "characters",
				     AZ_SAS_MAX - 1);
			goto fail;
		}
		if (azure_auth_sas_check(out->sas, sas_err, sizeof(sas_err))) {
			ret = seterr(err, errsz, -EINVAL, "connection string: SharedAccessSignature: %s",
				     sas_err);
			goto fail;
		}
		if (out->sas[0] == '?')
			memmove(out->sas, out->sas + 1, strlen(out->sas));
	}
	if (val[CK_BLOB_ENDPOINT]) {
		char tmp[AZ_ENDPOINT_MAX], eerr[200];

		if (copy(tmp, sizeof(tmp), val[CK_BLOB_ENDPOINT], vlen[CK_BLOB_ENDPOINT]) ||
		    az_conf_normalize_endpoint(tmp, out->blob_endpoint, sizeof(out->blob_endpoint),
					       eerr, sizeof(eerr)) < 0) {
			ret = seterr(err, errsz, -EINVAL, "connection string: BlobEndpoint: %s",
				     vlen[CK_BLOB_ENDPOINT] >= sizeof(tmp) ? "too long" : eerr);
			goto fail;
		}
	} else if (val[CK_ACCOUNT]) {
		int n = snprintf(out->blob_endpoint, sizeof(out->blob_endpoint), "%s://%s.blob.%s",
				 protocol, out->account, suffix);

		if (n < 0 || (size_t)n >= sizeof(out->blob_endpoint)) {
			ret = seterr(err, errsz, -EINVAL, "connection string: endpoint too long");
			goto fail;
		}
	} else {
		ret = seterr(err, errsz, -EINVAL,
			     "connection string names neither AccountName nor BlobEndpoint");
		goto fail;
	}
	return 0;
fail:
	az_conf_conn_clear(out);
	return ret;
}

const char *az_conf_process_env(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

const char *az_conf_cred_kind_name(enum az_cred_kind kind)
{
	switch (kind) {
	case AZ_CRED_ANONYMOUS:
		return "anonymous";
	case AZ_CRED_SHARED_KEY:
		return "shared key";
	case AZ_CRED_SAS:
		return "SAS token";
	case AZ_CRED_BEARER:
		return "bearer token";
	}
	return "unknown";
}

void az_conf_cred_clear(struct az_cred *c)
{
	OPENSSL_cleanse(c, sizeof(*c));
}

static const char *env_get(az_getenv_fn env, void *ctx, const char *name)
{
	const char *v = env ? env(ctx, name) : NULL;

	return empty(v) ? NULL : v;
}

/* Fills out from a connection string; where names the source for messages. */
static int cred_from_conn(struct az_cred *out, const char *cs, const char *where,
			  const char *uri_account, char *err, size_t errsz)
{
	struct az_conn conn;
	char cerr[300];
	int ret;

	ret = az_conf_parse_connection_string(cs, &conn, cerr, sizeof(cerr));
	if (ret)
		return seterr(err, errsz, ret, "%s: %s", where, cerr);
	if (conn.account[0] && strcmp(conn.account, uri_account) != 0) {
		ret = seterr(err, errsz, -EINVAL,
			     "%s is for account '%s' but the az:// URI names '%s'", where,
			     conn.account, uri_account);
		goto out;
	}
	strcpy(out->endpoint, conn.blob_endpoint);
	if (conn.key_b64[0]) {
		out->kind = AZ_CRED_SHARED_KEY;
		ret = azure_auth_key_from_base64(&out->key, conn.key_b64, NULL, 0);
	} else if (conn.sas[0]) {
		out->kind = AZ_CRED_SAS;
		strcpy(out->sas, conn.sas);
	} else {
		out->kind = AZ_CRED_ANONYMOUS;
	}
	snprintf(out->source, sizeof(out->source), "%s from %s%s", az_conf_cred_kind_name(out->kind),
		 where, conn.dev_storage ? " (UseDevelopmentStorage=true)" : "");
out:
	az_conf_conn_clear(&conn);
	return ret;
}

static int cred_sas(struct az_cred *out, const char *sas, const char *where, char *err,
		    size_t errsz)
{
	char serr[160];

	if (*sas == '?')
		sas++;
	if (strlen(sas) >= sizeof(out->sas))
		return seterr(err, errsz, -EINVAL, "SAS token from %s is longer than %d characters",
			      where, AZ_SAS_MAX - 1);
	if (azure_auth_sas_check(sas, serr, sizeof(serr)))
		return seterr(err, errsz, -EINVAL, "%s: %s", where, serr);
	out->kind = AZ_CRED_SAS;
	strcpy(out->sas, sas);
	snprintf(out->source, sizeof(out->source), "SAS token from %s", where);
	return 0;
}

static int cred_bearer(struct az_cred *out, const char *token, const char *where, char *err,
		       size_t errsz)
{
	char hdr[64], berr[160];

	if (strlen(token) >= sizeof(out->token))
		return seterr(err, errsz, -EINVAL, "bearer token from %s is longer than %d characters",
			      where, AZ_TOKEN_MAX - 1);
	/* only the syntax check matters here; the header is built per request */
	if (azure_auth_bearer_header(token, hdr, sizeof(hdr), berr, sizeof(berr)) == -EINVAL)
		return seterr(err, errsz, -EINVAL, "%s: %s", where, berr);
	out->kind = AZ_CRED_BEARER;
	strcpy(out->token, token);
	snprintf(out->source, sizeof(out->source), "bearer token from %s", where);
	return 0;
}

static int cred_key(struct az_cred *out, const char *b64, const char *where, char *err,
		    size_t errsz)
{
	char kerr[160];

	if (azure_auth_key_from_base64(&out->key, b64, kerr, sizeof(kerr)))
		return seterr(err, errsz, -EINVAL, "%s: %s", where, kerr);
	out->kind = AZ_CRED_SHARED_KEY;
	snprintf(out->source, sizeof(out->source), "shared key from %s", where);
	return 0;
}

int az_conf_resolve_credentials(const struct az_cred_opts *o, const char *uri_account,
				az_getenv_fn env, void *env_ctx, struct az_cred *out, char *err,
				size_t errsz)
{
	static const struct az_cred_opts none;
	const char *given[5], *v;
	const char *endpoint_from = NULL;
	char desc[AZ_SOURCE_MAX];
	int ngiven = 0, ret = 0;

	memset(out, 0, sizeof(*out));
	if (!o)
		o = &none;
	if (empty(uri_account))
		return seterr(err, errsz, -EINVAL, "no storage account to resolve credentials for");
	if (strlen(uri_account) >= sizeof(out->account))
		return seterr(err, errsz, -EINVAL, "storage account name is too long");
	strcpy(out->account, uri_account);

	if (!empty(o->connection_string))
		given[ngiven++] = "connection string";
	if (!empty(o->account_key))
		given[ngiven++] = "account key";
	if (!empty(o->sas_token))
		given[ngiven++] = "SAS token";
	if (!empty(o->bearer_token))
		given[ngiven++] = "bearer token";
	if (o->anonymous)
		given[ngiven++] = "anonymous";
	if (ngiven > 1)
		return seterr(err, errsz, -EINVAL,
			      "conflicting credential options: %s and %s; give only one", given[0],
			      given[1]);

	if (!empty(o->connection_string)) {
		ret = cred_from_conn(out, o->connection_string, "the connection string option",
				     uri_account, err, errsz);
		endpoint_from = "the connection string option";
	} else if (!empty(o->account_key)) {
		ret = cred_key(out, o->account_key, "the account key option", err, errsz);
	} else if (!empty(o->sas_token)) {
		ret = cred_sas(out, o->sas_token, "the SAS token option", err, errsz);
	} else if (!empty(o->bearer_token)) {
		ret = cred_bearer(out, o->bearer_token, "the bearer token option", err, errsz);
	} else if (o->anonymous) {
		out->kind = AZ_CRED_ANONYMOUS;
		snprintf(out->source, sizeof(out->source), "anonymous (requested by option)");
	} else if ((v = env_get(env, env_ctx, "AZURE_STORAGE_CONNECTION_STRING"))) {
		ret = cred_from_conn(out, v, "AZURE_STORAGE_CONNECTION_STRING", uri_account, err,
				     errsz);
		endpoint_from = "AZURE_STORAGE_CONNECTION_STRING";
	} else if ((v = env_get(env, env_ctx, "AZURE_STORAGE_KEY"))) {
		const char *acct = env_get(env, env_ctx, "AZURE_STORAGE_ACCOUNT");

		if (acct && strcmp(acct, uri_account) != 0)
			ret = seterr(err, errsz, -EINVAL,
				     "AZURE_STORAGE_ACCOUNT is '%.*s' but the az:// URI names '%s'; "
				     "AZURE_STORAGE_KEY is for another account",
				     SHOWN(strlen(acct)), acct, uri_account);
		else
			ret = cred_key(out, v, "AZURE_STORAGE_KEY", err, errsz);
	} else if ((v = env_get(env, env_ctx, "AZURE_STORAGE_SAS_TOKEN"))) {
		ret = cred_sas(out, v, "AZURE_STORAGE_SAS_TOKEN", err, errsz);
	} else if ((v = env_get(env, env_ctx, "AZURE_STORAGE_BEARER_TOKEN"))) {
		ret = cred_bearer(out, v, "AZURE_STORAGE_BEARER_TOKEN", err, errsz);
	} else {
		out->kind = AZ_CRED_ANONYMOUS;
		snprintf(out->source, sizeof(out->source),
			 "anonymous (no credentials in options or environment)");
	}
	if (ret)
		goto fail;

	if (!empty(o->endpoint)) {
		char eerr[200];

		if (az_conf_normalize_endpoint(o->endpoint, out->endpoint, sizeof(out->endpoint),
					       eerr, sizeof(eerr)) < 0) {
			ret = seterr(err, errsz, -EINVAL, "endpoint option: %s", eerr);
			goto fail;
		}
		endpoint_from = "the endpoint option";
	} else if (!endpoint_from) {
		snprintf(out->endpoint, sizeof(out->endpoint), "https://%s.blob.core.windows.net",
			 uri_account);
		endpoint_from = "the default for the account";
	}
	/* a long endpoint may cut the description short; it stays a terminated string */
	if (snprintf(desc, sizeof(desc), "%s; endpoint %s from %s", out->source, out->endpoint,
		     endpoint_from) < 0)
		desc[0] = '\0';
	strcpy(out->source, desc);
	return 0;
fail:
	az_conf_cred_clear(out);
	return ret;
}
