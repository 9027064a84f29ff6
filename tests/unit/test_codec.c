#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/codec.h"

/* RFC 4648 section 10 test vectors. */
static const struct {
	const char *plain, *b64, *hex;
} rfc4648[] = {
	{ "", "", "" },
	{ "f", "Zg==", "66" },
	{ "fo", "Zm8=", "666f" },
	{ "foo", "Zm9v", "666f6f" },
	{ "foob", "Zm9vYg==", "666f6f62" },
	{ "fooba", "Zm9vYmE=", "666f6f6261" },
	{ "foobar", "Zm9vYmFy", "666f6f626172" },
};

static void test_base64_rfc4648(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		char enc[16], dec[16];
		size_t n = strlen(rfc4648[i].plain);

		assert_int_equal(codec_base64_encode(rfc4648[i].plain, n, enc, sizeof(enc)),
				 (int)strlen(rfc4648[i].b64));
		assert_string_equal(enc, rfc4648[i].b64);
		assert_int_equal(codec_base64_decode(enc, strlen(enc), dec, sizeof(dec)), (int)n);
		assert_memory_equal(dec, rfc4648[i].plain, n);
	}
}

static void test_base64_binary_alphabet(void **state)
{
	/* 0xfb 0xff 0xbf exercises '+' and '/' (62, 63). */
	const unsigned char bin[] = { 0xfb, 0xff, 0xbf, 0x00 };
	unsigned char back[8];
	char enc[16];

	(void)state;
	assert_int_equal(codec_base64_encode(bin, 4, enc, sizeof(enc)), 8);
	assert_string_equal(enc, "+/+/AA==");
	assert_int_equal(codec_base64_decode(enc, 8, back, sizeof(back)), 4);
	assert_memory_equal(back, bin, 4);
}

static void test_base64_errors(void **state)
{
	unsigned char out[16];
	char small[8];

	(void)state;
	assert_int_equal(codec_base64_decode("Zm9", 3, out, sizeof(out)), -EINVAL);
	assert_int_equal(codec_base64_decode("Zm9*", 4, out, sizeof(out)), -EINVAL);
	assert_int_equal(codec_base64_decode("Z===", 4, out, sizeof(out)), -EINVAL);
	assert_int_equal(codec_base64_decode("Zg=a", 4, out, sizeof(out)), -EINVAL);
	assert_int_equal(codec_base64_decode("Zg==Zg==", 8, out, sizeof(out)), -EINVAL);
	assert_int_equal(codec_base64_decode("Zm 9", 4, out, sizeof(out)), -EINVAL);
	assert_int_equal(codec_base64_decode("Zm9vYmFy", 8, out, 5), -ENOSPC);
	/* "foobar" needs 9 bytes with the NUL */
	assert_int_equal(codec_base64_encode("foobar", 6, small, sizeof(small)), -ENOSPC);
	assert_int_equal(CODEC_BASE64_SIZE(6), 9);
	assert_int_equal(CODEC_BASE64_SIZE(64), 89);
}

static void test_hex(void **state)
{
	const unsigned char bin[] = { 0x00, 0x0f, 0xa5, 0xff };
	char out[9];

	(void)state;
	assert_int_equal(codec_hex_encode(bin, 4, out, sizeof(out)), 8);
	assert_string_equal(out, "000fa5ff");
	assert_int_equal(codec_hex_encode(bin, 4, out, 8), -ENOSPC);
	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		char h[16];

		codec_hex_encode(rfc4648[i].plain, strlen(rfc4648[i].plain), h, sizeof(h));
		assert_string_equal(h, rfc4648[i].hex);
	}
}

static void test_url_encode(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(codec_url_encode("AZaz09-._~", 10, 0, out, sizeof(out)), 10);
	assert_string_equal(out, "AZaz09-._~");
	codec_url_encode("a b/c+d=e&f%", 12, 0, out, sizeof(out));
	assert_string_equal(out, "a%20b%2Fc%2Bd%3De%26f%25");
	codec_url_encode("a b/c+d", 7, CODEC_URL_KEEP_SLASH, out, sizeof(out));
	assert_string_equal(out, "a%20b/c%2Bd");
	/* UTF-8 bytes are encoded one by one, uppercase hex: "é" */
	codec_url_encode("\xc3\xa9", 2, 0, out, sizeof(out));
	assert_string_equal(out, "%C3%A9");
	assert_int_equal(codec_url_encode("abc", 3, 0, out, 3), -ENOSPC);
	assert_int_equal(codec_url_encode(" ", 1, 0, out, 3), -ENOSPC);
	assert_int_equal(codec_url_encode(" ", 1, 0, out, 4), 3);
}

static void test_url_decode(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(codec_url_decode("2019-04-29T22%3A18%3A26Z", 24, 0, out, sizeof(out)), 20);
	assert_string_equal(out, "2019-04-29T22:18:26Z");
	codec_url_decode("Z%2FRH%2b%3d", 12, 0, out, sizeof(out));
	assert_string_equal(out, "Z/RH+=");
	codec_url_decode("a+b", 3, 0, out, sizeof(out));
	assert_string_equal(out, "a+b");
	codec_url_decode("a+b", 3, CODEC_URL_PLUS_SPACE, out, sizeof(out));
	assert_string_equal(out, "a b");
	assert_int_equal(codec_url_decode("%4", 2, 0, out, sizeof(out)), -EINVAL);
	assert_int_equal(codec_url_decode("%", 1, 0, out, sizeof(out)), -EINVAL);
	assert_int_equal(codec_url_decode("%zz", 3, 0, out, sizeof(out)), -EINVAL);
	assert_int_equal(codec_url_decode("abcd", 4, 0, out, 4), -ENOSPC);
	assert_int_equal(codec_url_decode("a%00b", 5, 0, out, sizeof(out)), 3);
	assert_memory_equal(out, "a\0b", 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_rfc4648), cmocka_unit_test(test_base64_binary_alphabet),
		cmocka_unit_test(test_base64_errors),  cmocka_unit_test(test_hex),
		cmocka_unit_test(test_url_encode),     cmocka_unit_test(test_url_decode),
	};

	return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
