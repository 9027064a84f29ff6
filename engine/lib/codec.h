/* Byte/text encodings shared by the cloud backends: base64, hex, URL (percent) encoding.
 *
 * Every function writes into a caller-provided buffer, always NUL-terminates on success and
 * returns the number of characters/bytes written (without the NUL), or -ENOSPC when the output
 * does not fit, or -EINVAL on malformed input. Nothing here allocates. */
#ifndef FIODLIO_CODEC_H
#define FIODLIO_CODEC_H

#include <stddef.h>

/* Characters needed to base64-encode n bytes, including the terminating NUL. */
#define CODEC_BASE64_SIZE(n) ((((n) + 2) / 3) * 4 + 1)

/* Standard alphabet (RFC 4648 section 4) with '=' padding. */
int codec_base64_encode(const void *in, size_t n, char *out, size_t outsz);

/* Decodes the standard alphabet; padding is required (as Azure keys and block ids have it) and
 * whitespace is rejected. out is not NUL-terminated (it is binary); returns the byte count. */
int codec_base64_decode(const char *in, size_t n, void *out, size_t outsz);

/* Lowercase hex, 2n characters plus NUL. */
int codec_hex_encode(const void *in, size_t n, char *out, size_t outsz);

/* Keep '/' unencoded (for URL paths) in codec_url_encode. */
#define CODEC_URL_KEEP_SLASH 0x1
/* Decode '+' as a space (application/x-www-form-urlencoded, as servers decode query values). */
#define CODEC_URL_PLUS_SPACE 0x2

/* Percent-encodes everything but RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~), using
 * uppercase hex digits, as both SigV4 and Azure require. */
int codec_url_encode(const char *in, size_t n, unsigned flags, char *out, size_t outsz);

/* Decodes %XX sequences (a malformed escape is -EINVAL). The result is NUL-terminated; it may
 * contain NUL bytes from %00, so use the returned length. */
int codec_url_decode(const char *in, size_t n, unsigned flags, char *out, size_t outsz);

#endif
