#include "lib/az_blob.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
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
