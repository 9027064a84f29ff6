#include "lib/codec.h"

#include <errno.h>
#include <stdint.h>

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int codec_base64_encode(const void *in, size_t n, char *out, size_t outsz)
{
	const unsigned char *p = in;
	size_t need, o = 0, i;

	if (n > (SIZE_MAX - 1) / 4 * 3 - 2)
		return -ENOSPC;
	need = CODEC_BASE64_SIZE(n);
	if (need > outsz || need - 1 > INT32_MAX)
		return -ENOSPC;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = b64_alphabet[v >> 6 & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64_alphabet[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return (int)o;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int codec_base64_decode(const char *in, size_t n, void *out, size_t outsz)
{
	unsigned char *o = out;
	size_t len = 0, i;

	if (n % 4 != 0)
		return -EINVAL;
	if (n / 4 * 3 > INT32_MAX)
		return -ENOSPC;
	for (i = 0; i < n; i += 4) {
		int v[4], pad = 0, k;
		uint32_t w;

		for (k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			/* data after a pad character, as in "AB=C" */
			if (pad)
				return -EINVAL;
			v[k] = b64_value(in[i + k]);
			if (v[k] < 0)
				return -EINVAL;
		}
		w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		if (len + 3 - (size_t)pad > outsz)
			return -ENOSPC;
		o[len++] = w >> 16 & 0xff;
		if (pad < 2)
			o[len++] = w >> 8 & 0xff;
		if (pad < 1)
			o[len++] = w & 0xff;
	}
	return (int)len;
}

int codec_hex_encode(const void *in, size_t n, char *out, size_t outsz)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = in;
	size_t i;

	if (n > (SIZE_MAX - 1) / 2 || 2 * n + 1 > outsz || 2 * n > INT32_MAX)
		return -ENOSPC;
	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
	return (int)(2 * n);
}

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

int codec_url_encode(const char *in, size_t n, unsigned flags, char *out, size_t outsz)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t o = 0, i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (unreserved(c) || (c == '/' && (flags & CODEC_URL_KEEP_SLASH))) {
			if (o + 1 >= outsz)
				return -ENOSPC;
			out[o++] = (char)c;
		} else {
			if (o + 3 >= outsz)
				return -ENOSPC;
			out[o++] = '%';
			out[o++] = digits[c >> 4];
			out[o++] = digits[c & 15];
		}
	}
	if (o >= outsz || o > INT32_MAX)
		return -ENOSPC;
	out[o] = '\0';
	return (int)o;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int codec_url_decode(const char *in, size_t n, unsigned flags, char *out, size_t outsz)
{
	size_t o = 0, i;

	for (i = 0; i < n; i++) {
		char c = in[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -EINVAL;
			hi = hex_value(in[i + 1]);
			lo = hex_value(in[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && (flags & CODEC_URL_PLUS_SPACE)) {
			c = ' ';
		}
		if (o + 1 >= outsz)
			return -ENOSPC;
		out[o++] = c;
	}
	if (o >= outsz || o > INT32_MAX)
		return -ENOSPC;
	out[o] = '\0';
	return (int)o;
}
