#include "lib/az_blob.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/codec.h"

static const char block_list_head[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
static const char block_list_tail[] = "</BlockList>";
#define LATEST_OPEN "<Latest>"
#define LATEST_CLOSE "</Latest>"

static int append(char *out, size_t outsz, size_t *len, const char *s, size_t n)
{
	if (n >= outsz - *len)
		return -ENOSPC;
	memcpy(out + *len, s, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

int az_blob_url(const char *endpoint, const char *container, const char *blob, const char *query,
		char *out, size_t outsz)
{
	size_t len = 0;
	int n;

	if (!endpoint || !*endpoint || !container || !*container || !outsz)
		return -EINVAL;
	if (append(out, outsz, &len, endpoint, strlen(endpoint)) ||
	    append(out, outsz, &len, "/", 1) ||
	    append(out, outsz, &len, container, strlen(container)))
		return -ENOSPC;
	if (blob && *blob) {
		if (append(out, outsz, &len, "/", 1))
			return -ENOSPC;
		n = codec_url_encode(blob, strlen(blob), CODEC_URL_KEEP_SLASH, out + len,
				     outsz - len);
		if (n < 0)
			return n;
		len += (size_t)n;
	}
	if (query && *query &&
	    (append(out, outsz, &len, "?", 1) || append(out, outsz, &len, query, strlen(query))))
		return -ENOSPC;
	return (int)len;
}

int az_blob_join(const char *prefix, const char *name, char *out, size_t outsz)
{
	size_t plen = prefix ? strlen(prefix) : 0, len = 0;

	if (!name || !outsz)
		return -EINVAL;
	while (*name == '/')
		name++;
	out[0] = '\0';
	if (append(out, outsz, &len, prefix ? prefix : "", plen))
		return -ENOSPC;
	if (plen && prefix[plen - 1] != '/' && append(out, outsz, &len, "/", 1))
		return -ENOSPC;
	if (append(out, outsz, &len, name, strlen(name)))
		return -ENOSPC;
	return (int)len;
}

int az_blob_block_id(uint64_t index, char *out, size_t outsz)
{
	char raw[25];

	/* 8 + 16 = 24 bytes: a multiple of 3, so the base64 form has no '=' to encode */
	snprintf(raw, sizeof(raw), "fiodlio-%016" PRIx64, index);
	return codec_base64_encode(raw, 24, out, outsz);
}

int az_blob_put_block_query(uint64_t index, char *out, size_t outsz)
{
	static const char head[] = "comp=block&blockid=";
	char id[AZ_BLOB_BLOCK_ID_SIZE];
	int n;

	n = az_blob_block_id(index, id, sizeof(id));
	if (n < 0)
		return n;
	if (outsz < sizeof(head))
		return -ENOSPC;
	memcpy(out, head, sizeof(head));
	n = codec_url_encode(id, (size_t)n, 0, out + sizeof(head) - 1, outsz - (sizeof(head) - 1));
	return n < 0 ? n : n + (int)sizeof(head) - 1;
}

size_t az_blob_block_list_size(uint64_t nblocks)
{
	size_t per = sizeof(LATEST_OPEN) - 1 + AZ_BLOB_BLOCK_ID_SIZE - 1 + sizeof(LATEST_CLOSE) - 1;

	if (nblocks > AZ_BLOB_MAX_BLOCKS)
		return 0;
	return sizeof(block_list_head) - 1 + (size_t)nblocks * per + sizeof(block_list_tail);
}

int az_blob_block_list_xml(uint64_t nblocks, char *out, size_t outsz)
{
	size_t len = 0;

	if (nblocks == 0 || nblocks > AZ_BLOB_MAX_BLOCKS)
		return -EINVAL;
	if (outsz < az_blob_block_list_size(nblocks))
		return -ENOSPC;
	append(out, outsz, &len, block_list_head, sizeof(block_list_head) - 1);
	for (uint64_t i = 0; i < nblocks; i++) {
		char id[AZ_BLOB_BLOCK_ID_SIZE];
		int n = az_blob_block_id(i, id, sizeof(id));

		if (n < 0 || append(out, outsz, &len, LATEST_OPEN, sizeof(LATEST_OPEN) - 1) ||
		    append(out, outsz, &len, id, (size_t)n) ||
		    append(out, outsz, &len, LATEST_CLOSE, sizeof(LATEST_CLOSE) - 1))
			return -ENOSPC;
	}
	if (append(out, outsz, &len, block_list_tail, sizeof(block_list_tail) - 1))
		return -ENOSPC;
	return (int)len;
}

int az_blob_block_list_xml_ids(const uint64_t *ids, size_t n, char *out, size_t outsz)
{
	size_t len = 0;

	if (n == 0 || n > AZ_BLOB_MAX_BLOCKS)
		return -EINVAL;
	if (outsz < az_blob_block_list_size(n))
		return -ENOSPC;
	append(out, outsz, &len, block_list_head, sizeof(block_list_head) - 1);
	for (size_t i = 0; i < n; i++) {
		char id[AZ_BLOB_BLOCK_ID_SIZE];
		int k = az_blob_block_id(ids[i], id, sizeof(id));

		if (k < 0 || append(out, outsz, &len, LATEST_OPEN, sizeof(LATEST_OPEN) - 1) ||
		    append(out, outsz, &len, id, (size_t)k) ||
		    append(out, outsz, &len, LATEST_CLOSE, sizeof(LATEST_CLOSE) - 1))
			return -ENOSPC;
	}
	if (append(out, outsz, &len, block_list_tail, sizeof(block_list_tail) - 1))
		return -ENOSPC;
	return (int)len;
}

static const char *find(const char *s, const char *end, const char *needle)
{
	size_t n = strlen(needle);

	for (; s && (size_t)(end - s) >= n; s++) {
		s = memchr(s, needle[0], (size_t)(end - s));
		if (!s || (size_t)(end - s) < n)
			return NULL;
		if (!memcmp(s, needle, n))
			return s;
	}
	return NULL;
}

/* Decodes the five predefined entities and numeric references (as UTF-8); a truncated result
 * is still terminated. Returns the length, or -EINVAL on a malformed reference. */
static int xml_decode(const char *s, size_t n, char *out, size_t outsz, bool *truncated)
{
	static const struct {
		const char *name;
		char c;
	} ent[] = { { "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' },
		    { "apos;", '\'' } };
	size_t len = 0;

	*truncated = false;
	for (size_t i = 0; i < n;) {
		char buf[4];
		size_t blen = 1;

		buf[0] = s[i];
		if (s[i] == '&') {
			const char *semi = memchr(s + i, ';', n - i);
			size_t k;

			if (!semi)
				return -EINVAL;
			for (k = 0; k < sizeof(ent) / sizeof(ent[0]); k++)
				if ((size_t)(semi - s - i) == strlen(ent[k].name) &&
				    !memcmp(s + i + 1, ent[k].name, strlen(ent[k].name)))
					break;
			if (k < sizeof(ent) / sizeof(ent[0])) {
				buf[0] = ent[k].c;
			} else if (s[i + 1] == '#') {
				bool hex = s[i + 2] == 'x' || s[i + 2] == 'X';
				char *endp;
				unsigned long cp = strtoul(s + i + 2 + hex, &endp, hex ? 16 : 10);

				if (endp != semi || endp == s + i + 2 + hex || cp == 0 ||
				    cp > 0x10FFFF)
					return -EINVAL;
				if (cp < 0x80) {
					buf[0] = (char)cp;
				} else if (cp < 0x800) {
					buf[0] = (char)(0xC0 | (cp >> 6));
					buf[1] = (char)(0x80 | (cp & 0x3F));
					blen = 2;
				} else if (cp < 0x10000) {
					buf[0] = (char)(0xE0 | (cp >> 12));
					buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
					buf[2] = (char)(0x80 | (cp & 0x3F));
					blen = 3;
				} else {
					buf[0] = (char)(0xF0 | (cp >> 18));
					buf[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
					buf[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
					buf[3] = (char)(0x80 | (cp & 0x3F));
					blen = 4;
				}
			} else {
				return -EINVAL;
			}
			i = (size_t)(semi - s) + 1;
		} else {
			i++;
		}
		if (blen >= outsz - len) {
			*truncated = true;
			break;
		}
		memcpy(out + len, buf, blen);
		len += blen;
	}
	out[len] = '\0';
	return (int)len;
}

/* The content of the first <tag> (or empty <tag/>) in [s, end); *next is after its end. */
static int element(const char *s, const char *end, const char *tag, const char **text,
		   size_t *tlen, const char **next)
{
	char open[64], close[64], empty1[64], empty2[64];
	const char *a, *b, *e1, *e2;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	snprintf(empty1, sizeof(empty1), "<%s/>", tag);
	snprintf(empty2, sizeof(empty2), "<%s />", tag);
	a = find(s, end, open);
	e1 = find(s, end, empty1);
	e2 = find(s, end, empty2);
	if (e2 && (!e1 || e2 < e1))
		e1 = e2;
	if (e1 && (!a || e1 < a)) {
		*text = e1;
		*tlen = 0;
		*next = e1 + (e1 == e2 ? strlen(empty2) : strlen(empty1));
		return 0;
	}
	if (!a)
		return -ENOENT;
	a += strlen(open);
	b = find(a, end, close);
	if (!b)
		return -EINVAL;
	*text = a;
	*tlen = (size_t)(b - a);
	*next = b + strlen(close);
	return 0;
}

int az_blob_xml_text(const char *xml, size_t len, const char *tag, char *out, size_t outsz)
{
	const char *text, *next;
	size_t tlen;
	bool truncated;
	int ret;

	if (!outsz || strlen(tag) > 40)
		return -EINVAL;
	ret = element(xml, xml + len, tag, &text, &tlen, &next);
	if (ret)
		return -ENOENT;
	return xml_decode(text, tlen, out, outsz, &truncated);
}

int az_blob_parse_list(const char *xml, size_t len, az_blob_list_fn fn, void *arg, char *marker,
		       size_t markersz)
{
	const char *end = xml + len, *p, *text, *next, *blobs_end;
	/* 1024 characters of UTF-8 */
	char name[4097];
	size_t tlen;
	bool truncated;
	int count = 0, ret;

	if (!markersz)
		return -EINVAL;
	marker[0] = '\0';
	if (!find(xml, end, "<EnumerationResults"))
		return -EINVAL;
	/* <Blobs/> when the page is empty */
	ret = element(xml, end, "Blobs", &text, &tlen, &next);
	if (ret)
		return -EINVAL;
	p = text;
	blobs_end = text + tlen;
	while (p < blobs_end) {
		const char *btext, *bnext, *f, *fnext;
		size_t blen, flen;
		char num[32];
		char *endp;
		uint64_t size;

		if (element(p, blobs_end, "Blob", &btext, &blen, &bnext))
			break;
		if (element(btext, btext + blen, "Name", &f, &flen, &fnext) || !flen)
			return -EINVAL;
		ret = xml_decode(f, flen, name, sizeof(name), &truncated);
		if (ret < 0)
			return ret;
		if (truncated)
			return -ENAMETOOLONG;
		if (element(btext, btext + blen, "Content-Length", &f, &flen, &fnext) || !flen ||
		    flen >= sizeof(num))
			return -EINVAL;
		memcpy(num, f, flen);
		num[flen] = '\0';
		size = strtoull(num, &endp, 10);
		if (*endp || num[0] == '-')
			return -EINVAL;
		ret = fn(arg, name, size);
		if (ret)
			return ret;
		count++;
		p = bnext;
	}
	if (element(blobs_end, end, "NextMarker", &text, &tlen, &next) == 0 && tlen) {
		ret = xml_decode(text, tlen, marker, markersz, &truncated);
		if (ret < 0)
			return ret;
		if (truncated)
			return -ENAMETOOLONG;
	}
	return count;
}
