/* test_ids.c - unit tests for src/core/ids.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <sodium.h>
#include <string.h>
#include <uuid/uuid.h>

#include "core/ids.h"

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

static void test_id_valid(void **state)
{
	(void)state;
	char s[ND_ID_MAX + 2];
	assert_true(nd_id_valid("a"));
	assert_true(nd_id_valid("user-42"));
	assert_true(nd_id_valid("!~"));
	assert_true(nd_id_valid("a/b%2F{}\"'\\"));

	memset(s, 'x', ND_ID_MAX);
	s[ND_ID_MAX] = '\0';
	assert_true(nd_id_valid(s)); /* 128 */
	s[ND_ID_MAX] = 'x';
	s[ND_ID_MAX + 1] = '\0';
	assert_false(nd_id_valid(s)); /* 129 */

	assert_false(nd_id_valid(""));
	assert_false(nd_id_valid(" "));
	assert_false(nd_id_valid("a b"));
	assert_false(nd_id_valid("ab "));
	assert_false(nd_id_valid("a\tb"));
	assert_false(nd_id_valid("a\nb"));
	assert_false(nd_id_valid("\x01"));
	assert_false(nd_id_valid("a\x7f"));
	assert_false(nd_id_valid("caf\xc3\xa9"));
	assert_false(nd_id_valid("\xff"));
	assert_false(nd_id_valid("\x80"));
}

static void test_guid(void **state)
{
	(void)state;
	unsigned char bin[16], back[16];
	char out[ND_GUID_LEN + 1];
	memset(out, '#', sizeof out);
	nd_guid_new(bin, out);
	assert_int_equal(strlen(out), ND_GUID_LEN);
	for (int i = 0; i < ND_GUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(out[i], '-');
		else
			assert_true(isxdigit((unsigned char)out[i]) &&
				    !islower((unsigned char)out[i]));
	}
	assert_int_equal(out[14], '7');           /* version 7 */
	assert_non_null(strchr("89AB", out[19])); /* RFC 9562 variant */
	assert_true(nd_guid_parse(out, back));
	assert_memory_equal(bin, back, 16);

	unsigned char bin2[16];
	char out2[ND_GUID_LEN + 1];
	nd_guid_new(bin2, out2);
	assert_string_not_equal(out, out2);
}

static void test_guid_v7(void **state)
{
	(void)state;
	/* 48 bits of milliseconds, big-endian, then version and variant */
	unsigned char a[16], b[16];
	nd_guid_v7(a, INT64_C(0x0123456789AB));
	assert_memory_equal(a, "\x01\x23\x45\x67\x89\xAB", 6);
	assert_int_equal(a[6] >> 4, 7);
	assert_int_equal(a[8] >> 6, 2);
	/* later ids sort later; same-millisecond ids still differ */
	nd_guid_v7(b, INT64_C(0x0123456789AC));
	assert_true(memcmp(a, b, 16) < 0);
	nd_guid_v7(b, INT64_C(0x0123456789AB));
	assert_memory_not_equal(a, b, 16);
}

static void test_guid_format_parse(void **state)
{
	(void)state;
	const unsigned char bin[16] = {0x3d, 0xa2, 0x86, 0x00, 0x9b, 0xa5, 0x47, 0x50,
				       0xa8, 0xee, 0x0d, 0x2d, 0x16, 0xf3, 0xd5, 0xed};
	char out[ND_GUID_LEN + 1];
	nd_guid_format(bin, out);
	assert_string_equal(out, "3DA28600-9BA5-4750-A8EE-0D2D16F3D5ED");

	unsigned char back[16];
	assert_true(nd_guid_parse("3DA28600-9BA5-4750-A8EE-0D2D16F3D5ED", back));
	assert_memory_equal(bin, back, 16);
	memset(back, 0, sizeof back);
	assert_true(nd_guid_parse("3da28600-9ba5-4750-a8ee-0d2d16f3d5ed", back));
	assert_memory_equal(bin, back, 16);

	/* the same text as libuuid's, for any value */
	for (int n = 0; n < 1000; n++) {
		unsigned char any[16];
		char want[ND_GUID_LEN + 1];
		randombytes_buf(any, sizeof any);
		uuid_unparse_upper(any, want);
		nd_guid_format(any, out);
		assert_string_equal(out, want);
	}

	/* parsed as libuuid parses, for any value and any single change of its
	 * text (a byte of another kind, a byte more or less) */
	for (int n = 0; n < 2000; n++) {
		unsigned char any[16], want[16];
		char text[ND_GUID_LEN + 2];
		randombytes_buf(any, sizeof any);
		nd_guid_format(any, text);
		if (n % 2)
			for (char *p = text; *p; p++)
				*p = (char)tolower((unsigned char)*p);
		if (n >= 1000) {
			static const char odd[] = "-gG :\x7f" "0aF";
			size_t at = randombytes_uniform(ND_GUID_LEN + 1);
			if (n % 5 == 0)
				text[at] = '\0';
			else if (n % 5 == 1 && at == ND_GUID_LEN)
				text[at] = 'A', text[at + 1] = '\0';
			else if (at < ND_GUID_LEN)
				text[at] = odd[randombytes_uniform(sizeof odd - 1)];
		}
		bool ours = nd_guid_parse(text, back);
		bool theirs = strlen(text) == ND_GUID_LEN && uuid_parse(text, want) == 0;
		assert_int_equal(ours, theirs);
		if (ours)
			assert_memory_equal(back, want, 16);
	}

	assert_false(nd_guid_parse("", back));
	assert_false(nd_guid_parse("3DA28600-9BA5-4750-A8EE-0D2D16F3D5E", back));
	assert_false(nd_guid_parse("3DA28600-9BA5-4750-A8EE-0D2D16F3D5EDA", back));
	assert_false(nd_guid_parse("3DA28600-9BA5-4750-A8EE-0D2D16F3D5ED ", back));
	assert_false(nd_guid_parse(" 3DA28600-9BA5-4750-A8EE-0D2D16F3D5E", back));
	assert_false(nd_guid_parse("3DA28600 9BA5-4750-A8EE-0D2D16F3D5ED", back));
	assert_false(nd_guid_parse("3DA28600-9BA5-4750-A8EE-0D2D16F3D5EG", back));
	assert_false(nd_guid_parse("3DA286009BA54750A8EE0D2D16F3D5ED", back));
	assert_false(nd_guid_parse("{3DA28600-9BA5-4750-A8EE-0D2D16F3D5E}", back));
}

static void int_ok(const char *s, int32_t want)
{
	int32_t v = 7;
	if (!nd_int32_parse(s, &v))
		fail_msg("nd_int32_parse rejected \"%s\"", s);
	assert_int_equal(v, want);
}

static void int_bad(const char *s)
{
	int32_t v = 7;
	if (nd_int32_parse(s, &v))
		fail_msg("nd_int32_parse accepted \"%s\" as %d", s, (int)v);
	assert_int_equal(v, 7);
}

static void test_int32_parse(void **state)
{
	(void)state;
	int_ok("0", 0);
	int_ok("1", 1);
	int_ok("-1", -1);
	int_ok("42", 42);
	int_ok("2147483647", INT32_MAX);
	int_ok("-2147483648", INT32_MIN);
	int_ok("-0", 0);
	int_ok("007", 7);
	int_bad("2147483648");
	int_bad("-2147483649");
	int_bad("9999999999");
	int_bad("99999999999"); /* the most digits read */
	int_bad("-99999999999");
	int_bad("99999999999999999999999");
	int_bad("+1");
	int_bad(" 1");
	int_bad("1 ");
	int_bad("1a");
	int_bad("a1");
	int_bad("");
	int_bad("-");
	int_bad("--1");
	int_bad("1.0");
	int_bad("0x10");
	int_bad("1e3");
}

static void test_request_id_sane(void **state)
{
	(void)state;
	char s[ND_REQUEST_ID_MAX + 2];
	assert_true(nd_request_id_sane("a"));
	assert_true(nd_request_id_sane("req-1.2_3:4"));
	assert_true(nd_request_id_sane("ABCxyz0189"));
	memset(s, 'r', ND_REQUEST_ID_MAX);
	s[ND_REQUEST_ID_MAX] = '\0';
	assert_true(nd_request_id_sane(s));
	s[ND_REQUEST_ID_MAX] = 'r';
	s[ND_REQUEST_ID_MAX + 1] = '\0';
	assert_false(nd_request_id_sane(s));
	assert_false(nd_request_id_sane(""));
	assert_false(nd_request_id_sane("a b"));
	assert_false(nd_request_id_sane("a/b"));
	assert_false(nd_request_id_sane("a\"b"));
	assert_false(nd_request_id_sane("a\nb"));
	assert_false(nd_request_id_sane("a\r\nX-Injected: 1"));
	assert_false(nd_request_id_sane("caf\xc3\xa9"));
}

static void test_request_id_new(void **state)
{
	(void)state;
	char a[33], b[33];
	memset(a, '#', sizeof a);
	nd_request_id_new(a);
	nd_request_id_new(b);
	assert_int_equal(strlen(a), 32);
	assert_int_equal(strspn(a, "0123456789abcdef"), 32);
	assert_int_equal(strspn(b, "0123456789abcdef"), 32);
	assert_string_not_equal(a, b);
	assert_true(nd_request_id_sane(a));
}

static long dec(const char *in, bool plus, char *out)
{
	return nd_pct_decode(in, strlen(in), out, plus);
}

static void test_pct_decode(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(dec("abc", false, out), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(dec("", false, out), 0);
	assert_string_equal(out, "");
	assert_int_equal(dec("a%2Fb", false, out), 3);
	assert_string_equal(out, "a/b");
	assert_int_equal(dec("a%2fb", false, out), 3);
	assert_string_equal(out, "a/b");
	assert_int_equal(dec("%41%42%43", false, out), 3);
	assert_string_equal(out, "ABC");
	assert_int_equal(dec("%C3%A9", false, out), 2);
	assert_string_equal(out, "\xc3\xa9");
	assert_int_equal(dec("%25", false, out), 1);
	assert_string_equal(out, "%");
	assert_int_equal(dec("%2525", false, out), 3);
	assert_string_equal(out, "%25");

	assert_int_equal(dec("a+b", true, out), 3);
	assert_string_equal(out, "a b");
	assert_int_equal(dec("a+b", false, out), 3);
	assert_string_equal(out, "a+b");
	assert_int_equal(dec("a%2Bb", true, out), 3);
	assert_string_equal(out, "a+b");
	assert_int_equal(dec("a%20b", false, out), 3);
	assert_string_equal(out, "a b");

	assert_int_equal(dec("%", false, out), -1);
	assert_int_equal(dec("%4", false, out), -1);
	assert_int_equal(dec("a%4", false, out), -1);
	assert_int_equal(dec("%zz", false, out), -1);
	assert_int_equal(dec("%4z", false, out), -1);
	assert_int_equal(dec("%z4", false, out), -1);
	assert_int_equal(dec("%00", false, out), -1);
	assert_int_equal(dec("a%00b", true, out), -1);
	assert_int_equal(dec("ok%", false, out), -1);

	/* @n bounds the input: bytes past it are not read. */
	assert_int_equal(nd_pct_decode("abcdef", 3, out, false), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(nd_pct_decode("%41%42", 3, out, false), 1);
	assert_string_equal(out, "A");
	assert_int_equal(nd_pct_decode("%41%42", 4, out, false), -1);
	/* a NUL byte inside the @n bytes is refused like an encoded one */
	assert_int_equal(nd_pct_decode("ab\0cd", 5, out, false), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_id_valid),          cmocka_unit_test(test_guid),
	    cmocka_unit_test(test_guid_format_parse), cmocka_unit_test(test_int32_parse),
	    cmocka_unit_test(test_request_id_sane),   cmocka_unit_test(test_request_id_new),
	    cmocka_unit_test(test_pct_decode),        cmocka_unit_test(test_guid_v7),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
