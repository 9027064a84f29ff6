/* Exercises the Azure signing code against a real Blob service (Azurite or Azure) with libcurl:
 * container create, Put Blob, ranged Get Blob, Put Block + Put Block List, List Blobs, Delete,
 * with Shared Key and with service/account SAS generated here, and the failures that must be
 * failures (wrong key, tampered or read-only SAS, anonymous, missing blob).
 *
 *   eval "$(scripts/azurite env)"; build/azure-smoke [az://devstoreaccount1/<container>]
 *
 * Credentials come from the usual sources (AZURE_STORAGE_CONNECTION_STRING, ...) and must be a
 * shared key, since the SAS tests sign with it. Exit 0: all passed; 1: a check failed;
 * 77: no server answered (skip). Secrets are never printed. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "lib/az_blob.h"
#include "lib/az_conf.h"
#include "lib/azure_auth.h"

#define BODY_MAX (16u << 20)
/* a bad signature: Azure says AuthenticationFailed, Azurite AuthorizationFailure */
#define AUTH_FAILED "AuthenticationFailed|AuthorizationFailure"

struct resp {
	long status;
	char *body;
	size_t len;
	char error_code[128];
	bool overflow;
};

enum auth_mode { AUTH_KEY, AUTH_SAS, AUTH_NONE };

struct ctx {
	CURL *curl;
	struct az_cred cred;
	struct azure_key wrong_key;
	const char *container;
	int failures;
	int checks;
};

static size_t on_body(char *p, size_t size, size_t n, void *userdata)
{
	struct resp *r = userdata;
	size_t add = size * n;
	char *nb;

	if (r->len + add > BODY_MAX) {
		r->overflow = true;
		return 0;
	}
	nb = realloc(r->body, r->len + add + 1);
	if (!nb)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, p, add);
	r->len += add;
	r->body[r->len] = '\0';
	return add;
}

static size_t on_header(char *p, size_t size, size_t n, void *userdata)
{
	struct resp *r = userdata;
	size_t len = size * n;
	static const char name[] = "x-ms-error-code:";

	if (len > sizeof(name) && strncasecmp(p, name, sizeof(name) - 1) == 0) {
		size_t v = sizeof(name) - 1, e = len;

		while (v < e && p[v] == ' ')
			v++;
		while (e > v && (p[e - 1] == '\r' || p[e - 1] == '\n'))
			e--;
		snprintf(r->error_code, sizeof(r->error_code), "%.*s", (int)(e - v), p + v);
	}
	return len;
}

/* One request; extra headers are "Name: value" strings that are both signed and sent. */
static int request(struct ctx *c, const char *method, const char *blob, const char *query,
		   enum auth_mode mode, const struct azure_key *key, const char *sas,
		   const char *const *extra, size_t nextra, const void *body, size_t bodylen,
		   struct resp *r)
{
	struct azure_header hdrs[16];
	char names[16][64], date[AZURE_DATE_SIZE], lenbuf[32], url[4096], signed_url[6144];
	char auth[512], line[1024], err[256];
	struct curl_slist *list = NULL;
	size_t nh = 0;
	bool has_body = strcmp(method, "PUT") == 0;
	CURLcode cc;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	/* no container: an account-level request such as List Containers */
	if (!c->container) {
		if ((size_t)snprintf(url, sizeof(url), "%s?%s", c->cred.endpoint, query) >=
		    sizeof(url))
			return -1;
	} else if (az_blob_url(c->cred.endpoint, c->container, blob, query, url, sizeof(url)) < 0) {
		fprintf(stderr, "URL too long\n");
		return -1;
	}
	azure_auth_date(time(NULL), date, sizeof(date));
	hdrs[nh++] = (struct azure_header){ "x-ms-date", date };
	hdrs[nh++] = (struct azure_header){ "x-ms-version", AZURE_API_VERSION };
	if (has_body) {
		snprintf(lenbuf, sizeof(lenbuf), "%zu", bodylen);
		hdrs[nh++] = (struct azure_header){ "Content-Length", lenbuf };
		hdrs[nh++] = (struct azure_header){ "Content-Type", "application/octet-stream" };
	}
	for (size_t i = 0; i < nextra && nh < 16; i++) {
		const char *colon = strchr(extra[i], ':');

		snprintf(names[nh], sizeof(names[nh]), "%.*s", (int)(colon - extra[i]), extra[i]);
		hdrs[nh] = (struct azure_header){ names[nh], colon + 1 + strspn(colon + 1, " ") };
		nh++;
	}
	for (size_t i = 0; i < nh; i++) {
		snprintf(line, sizeof(line), "%s: %s", hdrs[i].name, hdrs[i].value);
		list = curl_slist_append(list, line);
	}
	/* curl would add "Expect: 100-continue" and wait for it on larger bodies */
	list = curl_slist_append(list, "Expect:");
	snprintf(signed_url, sizeof(signed_url), "%s", url);
	if (mode == AUTH_KEY) {
		if (azure_auth_shared_key_header(method, url, hdrs, nh, c->cred.account, key, auth,
						 sizeof(auth), err, sizeof(err)) < 0) {
			fprintf(stderr, "signing failed: %s\n", err);
			goto out;
		}
		list = curl_slist_append(list, auth);
	} else if (mode == AUTH_SAS) {
		if (azure_auth_sas_append(url, sas, signed_url, sizeof(signed_url), err,
					  sizeof(err)) < 0) {
			fprintf(stderr, "SAS: %s\n", err);
			goto out;
		}
	}

	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_URL, signed_url);
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 30L);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
	if (has_body) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)bodylen);
	}
	cc = curl_easy_perform(c->curl);
	if (cc != CURLE_OK) {
		fprintf(stderr, "%s %s: %s\n", method, url, curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
	ret = 0;
out:
	curl_slist_free_all(list);
	return ret;
}

static void check(struct ctx *c, bool ok, const char *fmt, ...)
{
	va_list ap;

	c->checks++;
	if (!ok)
		c->failures++;
	printf("%s  ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* error_code may list alternatives, "A|B": Azurite and Azure name some failures differently. */
static bool code_matches(const char *got, const char *want)
{
	size_t n = strlen(got);

	for (const char *p = want; *p;) {
		size_t len = strcspn(p, "|");

		if (len == n && strncmp(p, got, n) == 0)
			return true;
		p += len;
		if (*p)
			p++;
	}
	return false;
}

static void expect(struct ctx *c, const char *what, struct resp *r, long status,
		   const char *error_code)
{
	bool ok = r->status == status && (!error_code || code_matches(r->error_code, error_code));

	check(c, ok, "%-44s -> %ld%s%s (want %ld%s%s)", what, r->status,
	      r->error_code[0] ? " " : "", r->error_code, status, error_code ? " " : "",
	      error_code ? error_code : "");
}

static void iso8601(time_t t, char *out, size_t outsz)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int main(int argc, char **argv)
{
	static const char blob_name[] = "smoke/dir one/hello+world é.bin";
	static const char block_blob[] = "smoke/blocks.bin";
	struct ctx c = { 0 };
	struct az_uri uri;
	struct resp r = { 0 };
	char err[512], container[64], uri_buf[128], sas[2048], bad_sas[2048], q[128];
	char start[32], expiry[32];
	unsigned char *data = NULL;
	size_t datalen = 1u << 20;
	const char *blob_type[] = { "x-ms-blob-type: BlockBlob" };
	const char *range[] = { "x-ms-range: bytes=1000-1999" };
	char *xml = NULL;
	int rc = 1;

	snprintf(uri_buf, sizeof(uri_buf), "az://devstoreaccount1/fiodlio-smoke-%ld",
		 (long)getpid());
	if (az_conf_parse_uri(argc > 1 ? argv[1] : uri_buf, &uri, err, sizeof(err))) {
		fprintf(stderr, "azure-smoke: %s\n", err);
		return 2;
	}
	snprintf(container, sizeof(container), "%s", uri.container);
	c.container = container;
	if (az_conf_resolve_credentials(NULL, uri.account, az_conf_process_env, NULL, &c.cred, err,
					sizeof(err))) {
		fprintf(stderr, "azure-smoke: %s\n", err);
		return 2;
	}
	printf("credentials: %s\n", c.cred.source);
	if (c.cred.kind != AZ_CRED_SHARED_KEY) {
		fprintf(stderr, "azure-smoke: needs a shared key (eval \"$(scripts/azurite env)\")\n");
		goto out;
	}
	azure_auth_key_from_base64(&c.wrong_key, "bm90IGEgcmVhbCBrZXksIG9ubHkgZm9yIHRlc3RzISE=",
				   NULL, 0);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c.curl = curl_easy_init();
	data = malloc(datalen);
	if (!c.curl || !data)
		goto out;
	for (size_t i = 0; i < datalen; i++)
		data[i] = (unsigned char)(i * 131 + (i >> 8));

	if (request(&c, "PUT", NULL, "restype=container", AUTH_KEY, &c.cred.key, NULL, NULL, 0,
		    NULL, 0, &r)) {
		fprintf(stderr, "azure-smoke: no server at %s (start one: scripts/azurite start)\n",
			c.cred.endpoint);
		rc = 77;
		goto out;
	}
	expect(&c, "shared key: create container", &r, 201, NULL);
	free(r.body);

	request(&c, "PUT", blob_name, NULL, AUTH_KEY, &c.cred.key, NULL, blob_type, 1, data,
		datalen, &r);
	expect(&c, "shared key: Put Blob 1 MiB (name needs escaping)", &r, 201, NULL);
	free(r.body);

	request(&c, "GET", blob_name, NULL, AUTH_KEY, &c.cred.key, NULL, range, 1, NULL, 0, &r);
	expect(&c, "shared key: Get Blob x-ms-range 1000-1999", &r, 206, NULL);
	check(&c, r.len == 1000 && memcmp(r.body, data + 1000, 1000) == 0,
	      "ranged read returns the bytes written (%zu bytes)", r.len);
	free(r.body);

	request(&c, "GET", blob_name, NULL, AUTH_KEY, &c.wrong_key, NULL, range, 1, NULL, 0, &r);
	expect(&c, "wrong key: Get Blob", &r, 403, AUTH_FAILED);
	free(r.body);

	request(&c, "GET", blob_name, NULL, AUTH_NONE, NULL, NULL, NULL, 0, NULL, 0, &r);
	check(&c, r.status == 403 || r.status == 404,
	      "%-44s -> %ld %s (want 403 or 404)", "anonymous: Get Blob of a private container",
	      r.status, r.error_code);
	free(r.body);

	request(&c, "GET", "smoke/missing", NULL, AUTH_KEY, &c.cred.key, NULL, NULL, 0, NULL, 0,
		&r);
	expect(&c, "shared key: Get Blob of a missing blob", &r, 404, "BlobNotFound");
	free(r.body);

	for (uint64_t i = 0; i < 3; i++) {
		az_blob_put_block_query(i, q, sizeof(q));
		request(&c, "PUT", block_blob, q, AUTH_KEY, &c.cred.key, NULL, NULL, 0,
			data + i * 65536, 65536, &r);
		expect(&c, "shared key: Put Block", &r, 201, NULL);
		free(r.body);
	}
	xml = malloc(az_blob_block_list_size(3));
	az_blob_block_list_xml(3, xml, az_blob_block_list_size(3));
	request(&c, "PUT", block_blob, "comp=blocklist", AUTH_KEY, &c.cred.key, NULL, NULL, 0, xml,
		strlen(xml), &r);
	expect(&c, "shared key: Put Block List (3 blocks)", &r, 201, NULL);
	free(r.body);
	request(&c, "GET", block_blob, NULL, AUTH_KEY, &c.cred.key, NULL, NULL, 0, NULL, 0, &r);
	check(&c, r.status == 200 && r.len == 3 * 65536 && memcmp(r.body, data, r.len) == 0,
	      "%-44s -> %ld, %zu bytes match", "shared key: Get the block blob", r.status, r.len);
	free(r.body);

	c.container = NULL;
	request(&c, "GET", NULL, "comp=list&prefix=fiodlio-smoke", AUTH_KEY, &c.cred.key, NULL,
		NULL, 0, NULL, 0, &r);
	c.container = container;
	expect(&c, "shared key: List Containers (account root)", &r, 200, NULL);
	check(&c, r.body && strstr(r.body, container), "listing shows the container");
	free(r.body);

	request(&c, "GET", NULL, "restype=container&comp=list&prefix=smoke%2Fdir%20one%2F",
		AUTH_KEY, &c.cred.key, NULL, NULL, 0, NULL, 0, &r);
	expect(&c, "shared key: List Blobs with prefix", &r, 200, NULL);
	check(&c, r.body && strstr(r.body, "hello+world") && !strstr(r.body, "blocks.bin"),
	      "listing shows the prefix's blob only");
	free(r.body);

	iso8601(time(NULL) - 300, start, sizeof(start));
	iso8601(time(NULL) + 3600, expiry, sizeof(expiry));
	{
		struct azure_sas_service p = { .permissions = "r",
					       .start = start,
					       .expiry = expiry,
					       .container = container,
					       .blob = blob_name };

		if (azure_auth_sas_service(c.cred.account, &c.cred.key, &p, sas, sizeof(sas), err,
					   sizeof(err)) < 0) {
			check(&c, false, "generate service SAS: %s", err);
			goto out;
		}
	}
	request(&c, "GET", blob_name, NULL, AUTH_SAS, NULL, sas, range, 1, NULL, 0, &r);
	expect(&c, "service SAS (blob, r): Get Blob x-ms-range", &r, 206, NULL);
	check(&c, r.len == 1000 && memcmp(r.body, data + 1000, 1000) == 0,
	      "ranged read through SAS returns the bytes written");
	free(r.body);

	request(&c, "PUT", blob_name, NULL, AUTH_SAS, NULL, sas, blob_type, 1, data, 10, &r);
	expect(&c, "service SAS (blob, r): Put Blob", &r, 403, NULL);
	free(r.body);

	/* flip one character of the signature */
	snprintf(bad_sas, sizeof(bad_sas), "%s", sas);
	{
		char *s = strstr(bad_sas, "sig=") + 4;

		*s = *s == 'A' ? 'B' : 'A';
	}
	request(&c, "GET", blob_name, NULL, AUTH_SAS, NULL, bad_sas, NULL, 0, NULL, 0, &r);
	expect(&c, "tampered service SAS: Get Blob", &r, 403, AUTH_FAILED);
	free(r.body);

	request(&c, "GET", block_blob, NULL, AUTH_SAS, NULL, sas, NULL, 0, NULL, 0, &r);
	expect(&c, "service SAS for another blob: Get Blob", &r, 403, AUTH_FAILED);
	free(r.body);

	{
		struct azure_sas_service p = { .permissions = "rl",
					       .expiry = expiry,
					       .container = container };

		azure_auth_sas_service(c.cred.account, &c.cred.key, &p, sas, sizeof(sas), err,
				       sizeof(err));
	}
	request(&c, "GET", NULL, "restype=container&comp=list", AUTH_SAS, NULL, sas, NULL, 0, NULL,
		0, &r);
	expect(&c, "service SAS (container, rl): List Blobs", &r, 200, NULL);
	free(r.body);

	{
		struct azure_sas_account p = { .permissions = "rwdlac", .expiry = expiry };

		if (azure_auth_sas_account(c.cred.account, &c.cred.key, &p, sas, sizeof(sas), err,
					   sizeof(err)) < 0) {
			check(&c, false, "generate account SAS: %s", err);
			goto out;
		}
	}
	request(&c, "PUT", "smoke/by-account-sas", NULL, AUTH_SAS, NULL, sas, blob_type, 1, data,
		4096, &r);
	expect(&c, "account SAS: Put Blob", &r, 201, NULL);
	free(r.body);
	request(&c, "GET", "smoke/by-account-sas", NULL, AUTH_SAS, NULL, sas, NULL, 0, NULL, 0, &r);
	check(&c, r.status == 200 && r.len == 4096 && memcmp(r.body, data, 4096) == 0,
	      "%-44s -> %ld, %zu bytes match", "account SAS: Get Blob", r.status, r.len);
	free(r.body);
	request(&c, "DELETE", "smoke/by-account-sas", NULL, AUTH_SAS, NULL, sas, NULL, 0, NULL, 0,
		&r);
	expect(&c, "account SAS: Delete Blob", &r, 202, NULL);
	free(r.body);

	request(&c, "DELETE", blob_name, NULL, AUTH_KEY, &c.cred.key, NULL, NULL, 0, NULL, 0, &r);
	expect(&c, "shared key: Delete Blob", &r, 202, NULL);
	free(r.body);
	request(&c, "DELETE", NULL, "restype=container", AUTH_KEY, &c.cred.key, NULL, NULL, 0, NULL,
		0, &r);
	expect(&c, "shared key: Delete Container", &r, 202, NULL);
	free(r.body);
	r.body = NULL;

	printf("%d of %d checks passed\n", c.checks - c.failures, c.checks);
	rc = c.failures ? 1 : 0;
out:
	free(r.body);
	free(xml);
	free(data);
	if (c.curl)
		curl_easy_cleanup(c.curl);
	az_conf_cred_clear(&c.cred);
	azure_auth_key_clear(&c.wrong_key);
	return rc;
}
