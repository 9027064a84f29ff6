/*
 * Our SigV4 against a real S3 server (scripts/s3-server check): create a bucket, PUT with a
 * signed and with an unsigned payload, GET, ranged GET, HEAD, ListObjectsV2 with a
 * continuation token, multipart upload, a wrong secret (403), a wrong payload hash (400),
 * then delete everything. Not a unit test: it needs the server. Exit 0 pass, 1 fail, 77 skip.
 *
 * Environment: AWS_ENDPOINT_URL_S3 (http://host:port), AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_REGION.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "lib/sigv4.h"

#define MAX_BODY (16 << 20)

struct resp {
	long status;
	char *body;
	size_t len;
};

static const char *endpoint, *host;
static CURL *curl;
static int failures;

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t add = sz * n;
	char *nb;

	if (r->len + add > MAX_BODY)
		return 0;
	nb = realloc(r->body, r->len + add + 1);
	if (!nb)
		return 0;
	memcpy(nb + r->len, p, add);
	r->body = nb;
	r->len += add;
	r->body[r->len] = '\0';
	return add;
}

/* One signed request; body may be NULL. sign_body: hash the body instead of UNSIGNED-PAYLOAD. */
static int request(struct s3_sigv4_signer *s, const char *method, const char *path,
		   const struct s3_sigv4_param *q, size_t nq, const char *range, const void *body,
		   size_t bodylen, const char *payload_hash, struct resp *r)
{
	char url[4096], enc[2048], qs[2048], err[256], hash[65], line[S3_SIGV4_AUTH_MAX + 64];
	struct s3_sigv4_header h[2] = { { "Host", host }, { "Range", range } };
	struct s3_sigv4_request req = { .method = method, .path = path, .query = q, .nquery = nq,
					.headers = h, .nheaders = range ? 2 : 1,
					.payload_hash = payload_hash };
	struct s3_sigv4_result res;
	struct curl_slist *hl = NULL;
	CURLcode cc;

	memset(r, 0, sizeof(*r));
	if (payload_hash && !strcmp(payload_hash, "sign")) {
		s3_sigv4_sha256_hex(body ? body : "", bodylen, hash);
		req.payload_hash = hash;
	}
	if (s3_sigv4_uri_encode(path, strlen(path), 1, enc, sizeof(enc)) < 0 ||
	    s3_sigv4_query_string(q, nq, qs, sizeof(qs)) < 0)
		return -1;
	snprintf(url, sizeof(url), "%s%s%s%s", endpoint, enc, nq ? "?" : "", qs);
	if (s3_sigv4_sign(s, &req, time(NULL), &res, err, sizeof(err))) {
		fprintf(stderr, "s3-smoke: sign: %s\n", err);
		return -1;
	}
	snprintf(line, sizeof(line), "Authorization: %s", res.authorization);
	hl = curl_slist_append(hl, line);
	snprintf(line, sizeof(line), "x-amz-date: %s", res.amz_date);
	hl = curl_slist_append(hl, line);
	snprintf(line, sizeof(line), "x-amz-content-sha256: %s", res.payload_hash);
	hl = curl_slist_append(hl, line);
	if (range) {
		snprintf(line, sizeof(line), "Range: %s", range);
		hl = curl_slist_append(hl, line);
	}
	hl = curl_slist_append(hl, "Expect:");
	hl = curl_slist_append(hl, "Content-Type:");

	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (body || !strcmp(method, "PUT") || !strcmp(method, "POST")) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)bodylen);
	}
	cc = curl_easy_perform(curl);
	curl_slist_free_all(hl);
	if (cc != CURLE_OK) {
		fprintf(stderr, "s3-smoke: %s %s: %s\n", method, url, curl_easy_strerror(cc));
		return -1;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	return 0;
}

static void check(int ok, const char *what, const struct resp *r)
{
	printf("%s %s (HTTP %ld)\n", ok ? "ok  " : "FAIL", what, r->status);
	if (!ok) {
		failures++;
		if (r->body)
			fprintf(stderr, "  body: %.600s\n", r->body);
	}
}

/* The text of the first <tag>...</tag>, copied to out; "" if absent. */
static const char *xml_text(const struct resp *r, const char *tag, char *out, size_t outsz)
{
	char open[64], close[64];
	const char *a, *b;

	out[0] = '\0';
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	if (!r->body || !(a = strstr(r->body, open)))
		return out;
	a += strlen(open);
	b = strstr(a, close);
	if (b && (size_t)(b - a) < outsz) {
		memcpy(out, a, (size_t)(b - a));
		out[b - a] = '\0';
	}
	return out;
}

/* Our query parameters are raw values: undo the XML escaping of a token. */
static void xml_unescape(char *s)
{
	static const struct {
		const char *ent;
		char c;
	} ents[] = { { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' },
		     { "&apos;", '\'' } };
	char *w = s;

	while (*s) {
		size_t i;

		for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
			size_t n = strlen(ents[i].ent);

			if (!strncmp(s, ents[i].ent, n)) {
				*w++ = ents[i].c;
				s += n;
				break;
			}
		}
		if (i == sizeof(ents) / sizeof(ents[0]))
			*w++ = *s++;
	}
	*w = '\0';
}

static void done(struct resp *r)
{
	free(r->body);
	r->body = NULL;
}

int main(void)
{
	const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
	const char *region = getenv("AWS_REGION") ? getenv("AWS_REGION") : "us-east-1";
	struct s3_sigv4_signer *s = NULL, *bad = NULL;
	char bucket[64], key1[256], key2[256], key3[256], err[256], tok[1024], upload[512],
		etag[256], xml[1024], listed[256];
	static char part[5 << 20];
	const char *data = "0123456789 the quick brown fox";
	struct resp r;
	int n;

	endpoint = getenv("AWS_ENDPOINT_URL_S3");
	if (!endpoint || !ak || !sk || strncmp(endpoint, "http://", 7)) {
		fprintf(stderr, "s3-smoke: skip: set AWS_ENDPOINT_URL_S3=http://..., "
				"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (scripts/s3-server env)\n");
		return 77;
	}
	host = endpoint + 7;
	if (s3_sigv4_signer_new(&s, ak, sk, NULL, region, "s3", err, sizeof(err)) ||
	    s3_sigv4_signer_new(&bad, ak, "not-the-secret", NULL, region, "s3", err, sizeof(err))) {
		fprintf(stderr, "s3-smoke: %s\n", err);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl = curl_easy_init();
	snprintf(bucket, sizeof(bucket), "smoke-%ld-%d", (long)time(NULL), (int)(clock() % 1000));
	snprintf(key1, sizeof(key1), "/%s/dir/my file+1 \xc3\xbc$=&.bin", bucket);
	snprintf(key2, sizeof(key2), "/%s/dir/plain", bucket);
	snprintf(key3, sizeof(key3), "/%s/multi part", bucket);

	n = request(s, "PUT", (snprintf(tok, sizeof(tok), "/%s", bucket), tok), NULL, 0, NULL,
		    NULL, 0, NULL, &r);
	check(!n && r.status == 200, "create bucket", &r);
	done(&r);
	n = request(s, "PUT", key1, NULL, 0, NULL, data, strlen(data), "sign", &r);
	check(!n && r.status == 200, "PUT key with space, '+', UTF-8, '$=&' (signed payload)", &r);
	done(&r);
	n = request(s, "PUT", key2, NULL, 0, NULL, data, 10, NULL, &r);
	check(!n && r.status == 200, "PUT with UNSIGNED-PAYLOAD", &r);
	done(&r);
	n = request(s, "GET", key1, NULL, 0, NULL, NULL, 0, NULL, &r);
	check(!n && r.status == 200 && r.len == strlen(data) && !memcmp(r.body, data, r.len),
	      "GET whole object, same bytes", &r);
	done(&r);
	n = request(s, "GET", key1, NULL, 0, "bytes=3-9", NULL, 0, NULL, &r);
	check(!n && r.status == 206 && r.len == 7 && !memcmp(r.body, data + 3, 7),
	      "GET Range bytes=3-9 (signed Range header)", &r);
	done(&r);
	n = request(s, "HEAD", key2, NULL, 0, NULL, NULL, 0, NULL, &r);
	check(!n && r.status == 200, "HEAD", &r);
	done(&r);

	{
		const struct s3_sigv4_param q1[] = { { "list-type", "2" }, { "max-keys", "1" },
						     { "prefix", "dir/" } };
		struct s3_sigv4_param q2[] = { { "list-type", "2" }, { "max-keys", "1" },
					       { "prefix", "dir/" }, { "continuation-token", tok } };

		n = request(s, "GET", (snprintf(listed, sizeof(listed), "/%s", bucket), listed),
			    q1, 3, NULL, NULL, 0, NULL, &r);
		xml_text(&r, "NextContinuationToken", tok, sizeof(tok));
		xml_unescape(tok);
		check(!n && r.status == 200 && tok[0], "ListObjectsV2 page 1 of 2", &r);
		done(&r);
		n = request(s, "GET", listed, q2, 4, NULL, NULL, 0, NULL, &r);
		xml_text(&r, "Key", xml, sizeof(xml));
		check(!n && r.status == 200 && !strcmp(xml, "dir/plain"),
		      "ListObjectsV2 page 2 via continuation-token", &r);
		done(&r);
	}

	n = request(bad, "GET", key1, NULL, 0, NULL, NULL, 0, NULL, &r);
	check(!n && r.status == 403 && strstr(r.body ? r.body : "", "SignatureDoesNotMatch"),
	      "wrong secret is refused (403 SignatureDoesNotMatch)", &r);
	done(&r);
	n = request(s, "PUT", key2, NULL, 0, NULL, data, 10, S3_SIGV4_EMPTY_SHA256, &r);
	check(!n && r.status == 400, "wrong payload hash is refused (400)", &r);
	done(&r);

	{
		const struct s3_sigv4_param up[] = { { "uploads", NULL } };
		struct s3_sigv4_param pq[] = { { "partNumber", "1" }, { "uploadId", upload } };
		struct s3_sigv4_param cq[] = { { "uploadId", upload } };

		memset(part, 'p', sizeof(part));
		n = request(s, "POST", key3, up, 1, NULL, NULL, 0, NULL, &r);
		xml_text(&r, "UploadId", upload, sizeof(upload));
		check(!n && r.status == 200 && upload[0], "CreateMultipartUpload (?uploads=)", &r);
		done(&r);
		n = request(s, "PUT", key3, pq, 2, NULL, part, sizeof(part), NULL, &r);
		check(!n && r.status == 200, "UploadPart 1 (5 MiB)", &r);
		done(&r);
		pq[0].value = "2";
		n = request(s, "PUT", key3, pq, 2, NULL, "tail!", 5, "sign", &r);
		check(!n && r.status == 200, "UploadPart 2 (last, 5 bytes)", &r);
		done(&r);
		/* ListParts gives the ETags that CompleteMultipartUpload must echo back. */
		n = request(s, "GET", key3, cq, 1, NULL, NULL, 0, NULL, &r);
		{
			const char *p = r.body ? r.body : "";
			char body[2048] = "<CompleteMultipartUpload>";
			int num = 1;

			while ((p = strstr(p, "<ETag>"))) {
				const char *e = strstr(p, "</ETag>");

				if (!e)
					break;
				snprintf(etag, sizeof(etag), "%.*s", (int)(e - p - 6), p + 6);
				snprintf(body + strlen(body), sizeof(body) - strlen(body),
					 "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
					 num++, etag);
				p = e;
			}
			strcat(body, "</CompleteMultipartUpload>");
			check(!n && r.status == 200 && num == 3, "ListParts", &r);
			done(&r);
			n = request(s, "POST", key3, cq, 1, NULL, body, strlen(body), "sign", &r);
			check(!n && r.status == 200 && strstr(r.body ? r.body : "", "ETag"),
			      "CompleteMultipartUpload (signed XML body)", &r);
			done(&r);
		}
		n = request(s, "GET", key3, NULL, 0, "bytes=-5", NULL, 0, NULL, &r);
		check(!n && r.status == 206 && r.len == 5 && !memcmp(r.body, "tail!", 5),
		      "GET suffix range of the multipart object", &r);
		done(&r);
	}

	n = request(s, "DELETE", key1, NULL, 0, NULL, NULL, 0, NULL, &r);
	check(!n && r.status == 204, "DELETE object", &r);
	done(&r);
	n = request(s, "DELETE", key2, NULL, 0, NULL, NULL, 0, NULL, &r);
	done(&r);
	n = request(s, "DELETE", key3, NULL, 0, NULL, NULL, 0, NULL, &r);
	done(&r);
	n = request(s, "GET", key1, NULL, 0, NULL, NULL, 0, NULL, &r);
	check(!n && r.status == 404, "deleted object is gone (404)", &r);
	done(&r);
	n = request(s, "DELETE", (snprintf(tok, sizeof(tok), "/%s", bucket), tok), NULL, 0, NULL,
		    NULL, 0, NULL, &r);
	check(!n && r.status == 204, "DELETE bucket", &r);
	done(&r);

	curl_easy_cleanup(curl);
	curl_global_cleanup();
	s3_sigv4_signer_free(s);
	s3_sigv4_signer_free(bad);
	printf("s3-smoke: %s\n", failures ? "FAILED" : "all passed");
	return failures ? 1 : 0;
}
