/* test_buf.c - unit tests for src/util/buf.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/mem.h"
#include "util/time.h"

static void test_empty(void **state)
{
	(void)state;
	struct nd_buf b = ND_BUF_INIT;
	assert_int_equal(b.len, 0);
	const char *s = nd_buf_str(&b);
	assert_non_null(s);
	assert_string_equal(s, "");
	nd_buf_release(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	nd_buf_release(&b); /* twice is fine */

	size_t len = 99;
	char *p = nd_buf_steal(&b, &len);
	assert_non_null(p);
	assert_int_equal(len, 0);
	assert_int_equal(p[0], '\0'); /* NUL-terminated even when never written */
	free(p);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
}

static void test_steal(void **state)
{
	(void)state;
	struct nd_buf b = ND_BUF_INIT;
	nd_buf_puts(&b, "contents");
	size_t len = 0;
	char *p = nd_buf_steal(&b, &len);
	assert_int_equal(len, 8);
	assert_string_equal(p, "contents");
	free(p);
	assert_null(b.data);
	assert_int_equal(b.len, 0);

	/* After a reset the stolen string is empty, not the old contents. */
	nd_buf_puts(&b, "old contents");
	nd_buf_reset(&b);
	p = nd_buf_steal(&b, &len);
	assert_int_equal(len, 0);
	if (p[0] != '\0')
		fail_msg("stolen after reset: \"%.20s\", want \"\"", p);
	free(p);

	/* @len may be NULL. */
	nd_buf_printf(&b, "%d", 12345);
	p = nd_buf_steal(&b, NULL);
	assert_string_equal(p, "12345");
	free(p);
	nd_buf_release(&b);
}

static void test_append(void **state)
{
	(void)state;
	struct nd_buf b = ND_BUF_INIT;
	nd_buf_puts(&b, "hello");
	nd_buf_putc(&b, ',');
	nd_buf_putc(&b, ' ');
	nd_buf_add(&b, "world!!!", 5);
	assert_int_equal(b.len, 12);
	assert_string_equal(nd_buf_str(&b), "hello, world");
	assert_true(b.cap > b.len);
	nd_buf_printf(&b, " %d-%s", 42, "x");
	assert_string_equal(nd_buf_str(&b), "hello, world 42-x");
	nd_buf_printf(&b, "%s", ""); /* nothing */
	assert_int_equal(b.len, strlen("hello, world 42-x"));
	nd_buf_add(&b, "", 0);
	assert_string_equal(nd_buf_str(&b), "hello, world 42-x");

	nd_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(nd_buf_str(&b), "");
	nd_buf_puts(&b, "again");
	assert_string_equal(nd_buf_str(&b), "again");

	/* Binary data with NUL bytes is kept by length. */
	nd_buf_reset(&b);
	nd_buf_add(&b, "a\0b", 3);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 3);
	nd_buf_release(&b);
}

/* Growing for what already fits moves nothing; a copy into no room
 * writes nothing; a copy is cut to fit and always terminated. */
static void test_room_and_copies(void **state)
{
	(void)state;
	struct nd_buf b = ND_BUF_INIT;
	nd_buf_puts(&b, "abc");
	char *data = b.data;
	size_t cap = b.cap;
	nd_buf_grow(&b, cap - b.len - 1);
	assert_ptr_equal(b.data, data);
	assert_int_equal(b.cap, cap);
	nd_buf_grow(&b, cap);
	assert_true(b.cap > 2 * cap - 1);
	assert_string_equal(nd_buf_str(&b), "abc");
	nd_buf_release(&b);
	char out[4] = "xyz";
	nd_copy_str(out, 0, "long");
	assert_string_equal(out, "xyz");
	nd_copy_str(out, sizeof out, "long");
	assert_string_equal(out, "lon");
	nd_copy_str(out, sizeof out, NULL);
	assert_string_equal(out, "");
}

static void test_growth(void **state)
{
	(void)state;
	struct nd_buf b = ND_BUF_INIT;
	/* Grow to 200 KiB with a mix of calls, checking contents all the way. */
	size_t expect = 0;
	for (int i = 0; i < 20000; i++) {
		switch (i % 4) {
		case 0:
			nd_buf_puts(&b, "0123456789");
			break;
		case 1:
			nd_buf_printf(&b, "%010d", i);
			break;
		case 2:
			nd_buf_add(&b, "abcdefghij", 10);
			break;
		default:
			for (int k = 0; k < 10; k++)
				nd_buf_putc(&b, (char)('A' + k));
		}
		expect += 10;
		assert_int_equal(b.len, expect);
		assert_true(b.cap > b.len);
	}
	const char *s = nd_buf_str(&b);
	assert_int_equal(strlen(s), 200000);
	for (int i = 0; i < 20000; i++) {
		char want[11];
		switch (i % 4) {
		case 0:
			memcpy(want, "0123456789", 10);
			break;
		case 1:
			snprintf(want, sizeof want, "%010d", i);
			break;
		case 2:
			memcpy(want, "abcdefghij", 10);
			break;
		default:
			memcpy(want, "ABCDEFGHIJ", 10);
		}
		assert_memory_equal(s + (size_t)i * 10, want, 10);
	}

	/* A single large printf. */
	char *big = malloc(70000);
	memset(big, 'q', 69999);
	big[69999] = '\0';
	nd_buf_reset(&b);
	nd_buf_printf(&b, "<%s>", big);
	assert_int_equal(b.len, 70001);
	assert_int_equal(nd_buf_str(&b)[0], '<');
	assert_int_equal(nd_buf_str(&b)[70000], '>');
	assert_int_equal(strlen(nd_buf_str(&b)), 70001);

	/* And a large add after reserve. */
	nd_buf_reset(&b);
	nd_buf_reserve(&b, 100000);
	assert_true(b.cap >= 100001);
	nd_buf_add(&b, big, 69999);
	nd_buf_add(&b, big, 69999);
	assert_int_equal(b.len, 139998);
	assert_int_equal(strlen(nd_buf_str(&b)), 139998);
	free(big);

	size_t len = 0;
	char *p = nd_buf_steal(&b, &len);
	assert_int_equal(len, 139998);
	assert_int_equal(strlen(p), 139998);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	free(p);
	nd_buf_puts(&b, "reuse after steal");
	assert_string_equal(nd_buf_str(&b), "reuse after steal");
	nd_buf_release(&b);
}

/* Writes @s with nd_buf_json_strn and checks the exact output, and that
 * jansson parses it back to a string. */
static void json_is(const char *s, size_t n, const char *want)
{
	struct nd_buf b = ND_BUF_INIT;
	nd_buf_json_strn(&b, s, n);
	const char *got = nd_buf_str(&b);
	if (strcmp(got, want) != 0)
		fail_msg("json of %zu bytes: got %s, want %s", n, got, want);
	json_error_t jerr;
	json_t *v = json_loads(got, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (!v)
		fail_msg("jansson rejects %s: %s", got, jerr.text);
	assert_true(json_is_string(v));
	json_decref(v);
	nd_buf_release(&b);
}

#define JS(lit, want) json_is(lit, sizeof(lit) - 1, want)

static void test_json_escaping(void **state)
{
	(void)state;
	JS("", "\"\"");
	JS("plain text", "\"plain text\"");
	JS("say \"hi\"", "\"say \\\"hi\\\"\"");
	JS("back\\slash", "\"back\\\\slash\"");
	JS("a/b", "\"a/b\"");
	JS("line\nbreak\r\ttab", "\"line\\nbreak\\r\\ttab\"");
	JS("\x01", "\"\\u0001\"");
	JS("\x1f", "\"\\u001f\"");
	JS("\b\f", "\"\\u0008\\u000c\"");
	JS("nul\0byte", "\"nul\\u0000byte\"");
	JS("\x7f", "\"\x7f\"");
	/* Valid UTF-8 is kept as is. */
	JS("caf\xc3\xa9", "\"caf\xc3\xa9\"");
	JS("\xe2\x82\xac", "\"\xe2\x82\xac\"");
	JS("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");
	JS("\xef\xbf\xbf", "\"\xef\xbf\xbf\"");
	JS("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""); /* U+10FFFF */
	JS("\xed\x9f\xbf", "\"\xed\x9f\xbf\"");         /* U+D7FF */
	JS("\xee\x80\x80", "\"\xee\x80\x80\"");         /* U+E000 */
}

static void test_json_invalid_utf8(void **state)
{
	(void)state;
	JS("\xc3", "\"\\ufffd\"");
	JS("a\xc3", "\"a\\ufffd\"");
	JS("\xc3z", "\"\\ufffdz\"");
	JS("\xff", "\"\\ufffd\"");
	JS("\xfe\xff", "\"\\ufffd\\ufffd\"");
	JS("\x80", "\"\\ufffd\"");
	JS("\xc0\xaf", "\"\\ufffd\\ufffd\"");                       /* overlong '/' */
	JS("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");            /* overlong */
	JS("\xf0\x80\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* overlong */
	JS("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");            /* surrogate D800 */
	JS("\xed\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\"");            /* surrogate DFFF */
	JS("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* > U+10FFFF */
	JS("\xf5\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	JS("\xe2\x82", "\"\\ufffd\\ufffd\""); /* truncated */
	JS("ok\xe2\x82"
	   "ok",
	   "\"ok\\ufffd\\ufffdok\"");
	JS("\xc3\xa9\xc3", "\"\xc3\xa9\\ufffd\"");
}

static void test_json_strn_bounds(void **state)
{
	(void)state;
	/* A multi-byte sequence cut by @n is invalid, not read past @n. */
	json_is("\xc3\xa9", 1, "\"\\ufffd\"");
	json_is("abc\"def", 3, "\"abc\"");
	struct nd_buf b = ND_BUF_INIT;
	nd_buf_puts(&b, "x=");
	nd_buf_json_str(&b, "q\"");
	nd_buf_putc(&b, ';');
	assert_string_equal(nd_buf_str(&b), "x=\"q\\\"\";");
	nd_buf_release(&b);
}

/* Each byte that needs care, at every offset of a longer plain string: the
 * output is the plain bytes with that one byte escaped (or, for UTF-8,
 * kept), whatever eight-byte block it falls in. */
static void test_json_escape_every_offset(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"\"", "\\\""}, {"\\", "\\\\"}, {"\n", "\\n"},	 {"\x01", "\\u0001"},
	    {"\x1f", "\\u001f"}, {"\xc3\xa9", "\xc3\xa9"}, {"\x80", "\\ufffd"}, {" ", " "},
	    {"\x7f", "\x7f"},
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		for (size_t at = 0; at <= 24; at++) {
			char in[64], want[96];
			memset(in, 'a', 32);
			size_t len = strlen(cases[c].in);
			memcpy(in + at, cases[c].in, len);
			snprintf(want, sizeof want, "\"%.*s%s%.*s\"", (int)at, in, cases[c].out,
				 (int)(32 - at - len), in + at + len);
			struct nd_buf b = ND_BUF_INIT;
			nd_buf_json_strn(&b, in, 32);
			if (strcmp(nd_buf_str(&b), want) != 0)
				fail_msg("case %zu at %zu: got %s, want %s", c, at, nd_buf_str(&b), want);
			nd_buf_release(&b);
		}
	}
}

static void test_json_all_bytes_parse(void **state)
{
	(void)state;
	/* Every single byte, every byte pair, and random junk always yield
	 * valid JSON that jansson accepts. */
	unsigned char s[64];
	for (int c = 0; c < 256; c++) {
		for (int d = 0; d < 256; d += 3) {
			s[0] = (unsigned char)c;
			s[1] = (unsigned char)d;
			s[2] = (unsigned char)(c ^ d);
			struct nd_buf b = ND_BUF_INIT;
			nd_buf_json_strn(&b, (const char *)s, 3);
			json_error_t jerr;
			json_t *v =
			    json_loads(nd_buf_str(&b), JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
			if (!v)
				fail_msg("bytes %02x %02x: %s rejected: %s", c, d, nd_buf_str(&b),
					 jerr.text);
			json_decref(v);
			nd_buf_release(&b);
		}
	}
	uint32_t x = 12345;
	struct nd_buf b = ND_BUF_INIT;
	for (int i = 0; i < 2000; i++) {
		for (size_t k = 0; k < sizeof s; k++) {
			x = x * 1103515245u + 12345u;
			s[k] = (unsigned char)(x >> 16);
		}
		nd_buf_reset(&b);
		nd_buf_puts(&b, "{\"k\":");
		nd_buf_json_strn(&b, (const char *)s, sizeof s);
		nd_buf_putc(&b, '}');
		json_error_t jerr;
		json_t *v = json_loads(nd_buf_str(&b), JSON_ALLOW_NUL, &jerr);
		if (!v)
			fail_msg("random input %d rejected: %s", i, jerr.text);
		json_decref(v);
	}
	nd_buf_release(&b);
}

static void test_json_round_trip_valid(void **state)
{
	(void)state;
	const char *s = "Ünïcödé \"quotes\" \\ / \t\n\x01 \xe2\x82\xac \xf0\x9f\x98\x80 end";
	struct nd_buf b = ND_BUF_INIT;
	nd_buf_json_str(&b, s);
	json_error_t jerr;
	json_t *v = json_loads(nd_buf_str(&b), JSON_DECODE_ANY, &jerr);
	assert_non_null(v);
	assert_string_equal(json_string_value(v), s);
	json_decref(v);
	nd_buf_release(&b);
}

static void test_json_misc(void **state)
{
	(void)state;
	struct nd_buf b = ND_BUF_INIT;
	nd_buf_json_str_or_null(&b, NULL);
	nd_buf_putc(&b, ',');
	nd_buf_json_str_or_null(&b, "x");
	nd_buf_putc(&b, ',');
	nd_buf_json_int(&b, 0);
	nd_buf_putc(&b, ',');
	nd_buf_json_int(&b, -42);
	nd_buf_putc(&b, ',');
	nd_buf_json_int(&b, INT64_MAX);
	nd_buf_putc(&b, ',');
	nd_buf_json_int(&b, INT64_MIN);
	assert_string_equal(nd_buf_str(&b),
			    "null,\"x\",0,-42,9223372036854775807,-9223372036854775808");
	nd_buf_release(&b);
}

/* Every digit count and both signs, around each power of ten, as printf
 * writes them. */
static void test_int_digits(void **state)
{
	(void)state;
	int64_t values[200];
	size_t n = 0;
	values[n++] = INT64_MIN;
	values[n++] = INT64_MAX;
	for (int64_t p = 1;; p *= 10) {
		for (int64_t d = -1; d <= 1; d++) {
			values[n++] = p + d;
			values[n++] = -(p + d);
		}
		if (p > INT64_MAX / 10)
			break;
	}
	for (size_t i = 0; i < n; i++) {
		char want[32], tmp[ND_INT_DIGITS_MAX];
		snprintf(want, sizeof want, "%lld", (long long)values[i]);
		char *p = nd_int_digits(values[i], tmp + sizeof tmp);
		assert_int_equal((size_t)(tmp + sizeof tmp - p), strlen(want));
		assert_memory_equal(p, want, strlen(want));
		struct nd_buf b = ND_BUF_INIT;
		nd_buf_json_int(&b, values[i]);
		assert_string_equal(nd_buf_str(&b), want);
		nd_buf_release(&b);
	}
}

static void test_json_time(void **state)
{
	(void)state;
	struct nd_buf b = ND_BUF_INIT;
	nd_buf_json_time(&b, ND_NO_TIME);
	assert_string_equal(nd_buf_str(&b), "null");
	nd_buf_reset(&b);
	nd_buf_json_time(&b, 1566656122000);
	assert_string_equal(nd_buf_str(&b), "\"2019-08-24T14:15:22Z\"");
	nd_buf_reset(&b);
	nd_buf_json_time(&b, 1566656122250);
	assert_string_equal(nd_buf_str(&b), "\"2019-08-24T14:15:22.250Z\"");
	nd_buf_reset(&b);
	nd_buf_json_time(&b, 0);
	assert_string_equal(nd_buf_str(&b), "\"1970-01-01T00:00:00Z\"");
	nd_buf_reset(&b);
	nd_buf_json_time(&b, -1);
	assert_string_equal(nd_buf_str(&b), "\"1969-12-31T23:59:59.999Z\"");
	nd_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_steal),
	    cmocka_unit_test(test_append),
	    cmocka_unit_test(test_growth),
	    cmocka_unit_test(test_room_and_copies),
	    cmocka_unit_test(test_json_escaping),
	    cmocka_unit_test(test_json_invalid_utf8),
	    cmocka_unit_test(test_json_strn_bounds),
	    cmocka_unit_test(test_json_escape_every_offset),
	    cmocka_unit_test(test_json_all_bytes_parse),
	    cmocka_unit_test(test_json_round_trip_valid),
	    cmocka_unit_test(test_json_misc),
	    cmocka_unit_test(test_int_digits),
	    cmocka_unit_test(test_json_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
