/*
 * The little XML S3 speaks: error answers, ListObjectsV2 pages, the upload id of a new
 * multipart upload, and the CompleteMultipartUpload body.  S3's answers are flat and
 * machine-written (no CDATA, no comments inside elements), so a tag scanner with entity
 * decoding is enough, and it never reads past the length it is given.
 */
#include "lib/s3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *find(const char *s, const char *end, const char *needle)
{
	size_t n = strlen(needle);

	for (; s + n <= end; s++) {
		s = memchr(s, needle[0], (size_t)(end - s));
		if (!s || s + n > end)
			return NULL;
		if (!memcmp(s, needle, n))
			return s;
	}
	return NULL;
}

/* Element text of <tag>…</tag> within [s, end): *a and *b bound it. */
static bool element(const char *s, const char *end, const char *tag, const char **a,
		    const char **b)
{
	char open[64], close[64];
	const char *p;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	p = find(s, end, open);
	if (!p)
		return false;
	*a = p + strlen(open);
	*b = find(*a, end, close);
	return *b != NULL;
}

static int put_utf8(unsigned long cp, char *out, size_t *o, size_t cap)
{
	char buf[4];
	size_t n;

	if (cp < 0x80) {
		buf[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		buf[0] = (char)(0xc0 | (cp >> 6));
		buf[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		buf[0] = (char)(0xe0 | (cp >> 12));
		buf[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		buf[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else if (cp < 0x110000) {
		buf[0] = (char)(0xf0 | (cp >> 18));
		buf[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		buf[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		buf[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	} else {
		return -EINVAL;
	}
	if (*o + n >= cap)
		return -ENOSPC;
	memcpy(out + *o, buf, n);
	*o += n;
	return 0;
}

/* Decodes the five predefined entities and numeric references; NUL-terminates. */
static int unescape(const char *a, const char *b, char *out, size_t cap)
{
	static const struct {
		const char *name;
		char c;
	} ents[] = { { "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' },
		     { "apos;", '\'' } };
	size_t o = 0;

	if (!cap)
		return -ENOSPC;
	while (a < b) {
		if (*a != '&') {
			if (o + 1 >= cap)
				return -ENOSPC;
			out[o++] = *a++;
			continue;
		}
		a++;
		if (a < b && *a == '#') {
			const char *semi = memchr(a, ';', (size_t)(b - a));
			char num[16];
			unsigned long cp;
			char *endp;
			size_t n;

			if (!semi || (n = (size_t)(semi - a - 1)) == 0 || n >= sizeof(num))
				return -EINVAL;
			memcpy(num, a + 1, n);
			num[n] = '\0';
			if (num[0] == 'x' || num[0] == 'X')
				cp = strtoul(num + 1, &endp, 16);
			else
				cp = strtoul(num, &endp, 10);
			if (*endp || put_utf8(cp, out, &o, cap))
				return -EINVAL;
			a = semi + 1;
			continue;
		}
		for (size_t i = 0;; i++) {
			size_t n;

			if (i == sizeof(ents) / sizeof(ents[0]))
				return -EINVAL;
			n = strlen(ents[i].name);
			if ((size_t)(b - a) >= n && !memcmp(a, ents[i].name, n)) {
				if (o + 1 >= cap)
					return -ENOSPC;
				out[o++] = ents[i].c;
				a += n;
				break;
			}
		}
	}
	out[o] = '\0';
	return (int)o;
}

int s3_xml_tag(const char *body, size_t len, const char *tag, char *out, size_t outsz)
{
	const char *a, *b;
	int n;

	if (outsz)
		out[0] = '\0';
	if (!body || !element(body, body + len, tag, &a, &b))
		return -ENOENT;
	n = unescape(a, b, out, outsz);
	return n < 0 ? n : 0;
}

void s3_xml_error(const char *body, size_t len, char *code, size_t codesz, char *msg,
		  size_t msgsz)
{
	/* error bodies are small; a long message is still worth its first part */
	char tmp[4096];

	if (s3_xml_tag(body, len, "Code", code, codesz) && codesz)
		code[0] = '\0';
	if (!msgsz)
		return;
	msg[0] = '\0';
	if (!s3_xml_tag(body, len, "Message", tmp, sizeof(tmp)))
		snprintf(msg, msgsz, "%s", tmp);
}

int s3_xml_list(const char *body, size_t len, s3_list_item_fn fn, void *arg, bool *truncated,
		char *next_token, size_t tokensz, char *err, size_t errlen)
{
	const char *end = body + len, *p = body, *a, *b;
	char key[S3_KEY_MAX + 1], num[32];
	int ret;

	*truncated = false;
	if (tokensz)
		next_token[0] = '\0';
	if (!find(body, end, "<ListBucketResult")) {
		snprintf(err, errlen, "not a ListObjectsV2 answer: %.120s", body);
		return -EPROTO;
	}
	while (element(p, end, "Contents", &a, &b)) {
		const char *ka, *kb, *sa, *sb;
		char *endp;
		uint64_t size;

		p = b + strlen("</Contents>");
		if (!element(a, b, "Key", &ka, &kb) || !element(a, b, "Size", &sa, &sb) ||
		    (size_t)(sb - sa) >= sizeof(num)) {
			snprintf(err, errlen, "ListObjectsV2 entry without Key or Size: %.120s", a);
			return -EPROTO;
		}
		if (unescape(ka, kb, key, sizeof(key)) < 0) {
			snprintf(err, errlen, "ListObjectsV2: undecodable key %.120s", ka);
			return -EPROTO;
		}
		memcpy(num, sa, (size_t)(sb - sa));
		num[sb - sa] = '\0';
		size = strtoull(num, &endp, 10);
		if (*endp || !num[0]) {
			snprintf(err, errlen, "ListObjectsV2: size '%s' of %s", num, key);
			return -EPROTO;
		}
		ret = fn(arg, key, size);
		if (ret)
			return ret;
	}
	if (element(body, end, "IsTruncated", &a, &b))
		*truncated = (size_t)(b - a) == 4 && !memcmp(a, "true", 4);
	if (*truncated) {
		if (!element(body, end, "NextContinuationToken", &a, &b) ||
		    unescape(a, b, next_token, tokensz) <= 0) {
			snprintf(err, errlen,
				 "ListObjectsV2: truncated answer without a usable "
				 "NextContinuationToken");
			return -EPROTO;
		}
	}
	return 0;
}

/* ETags are quoted hex; escape anyway, a store may put anything there. */
static size_t escape(const char *s, char *out)
{
	size_t o = 0;

	for (; *s; s++) {
		const char *e = NULL;

		switch (*s) {
		case '&':
			e = "&amp;";
			break;
		case '<':
			e = "&lt;";
			break;
		case '>':
			e = "&gt;";
			break;
		case '"':
			e = "&quot;";
			break;
		}
		if (e) {
			memcpy(out + o, e, strlen(e));
			o += strlen(e);
		} else {
			out[o++] = *s;
		}
	}
	return o;
}

char *s3_xml_complete_body(const char *const *etags, uint32_t n, size_t *len)
{
	static const char head[] = "<CompleteMultipartUpload>";
	static const char tail[] = "</CompleteMultipartUpload>";
	size_t cap = sizeof(head) + sizeof(tail) + 1, o = 0;
	char *out;

	for (uint32_t i = 0; i < n; i++)
		cap += 64 + 6 * strlen(etags[i]);
	out = malloc(cap);
	if (!out)
		return NULL;
	memcpy(out, head, sizeof(head) - 1);
	o = sizeof(head) - 1;
	for (uint32_t i = 0; i < n; i++) {
		o += (size_t)sprintf(out + o, "<Part><PartNumber>%u</PartNumber><ETag>", i + 1);
		o += escape(etags[i], out + o);
		memcpy(out + o, "</ETag></Part>", 14);
		o += 14;
	}
	memcpy(out + o, tail, sizeof(tail));
	o += sizeof(tail) - 1;
	*len = o;
	return out;
}
