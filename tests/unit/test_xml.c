/* test_xml.c - XML character data (src/util/xml.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "util/xml.h"

static void expect(const char *text, const char *want)
{
	struct nd_buf b = ND_BUF_INIT;
	nd_xml_text(&b, text, strlen(text));
	assert_string_equal(nd_buf_str(&b), want);
	nd_buf_release(&b);
}

static void test_escaping(void **state)
{
	(void)state;
	expect("<b>&amp; \"q\" 'a'", "&lt;b&gt;&amp;amp; &quot;q&quot; &apos;a&apos;");
	/* control characters XML cannot carry become U+FFFD; tab and LF stay,
	 * CR is a character reference so readers do not turn it into LF */
	expect("a\x01" "b\x1f" "c\td\ne\rf", "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\td\ne&#13;f");
	/* U+FFFE and U+FFFF are not XML characters; emoji are */
	expect("\xEF\xBF\xBE\xEF\xBF\xBF\xF0\x9F\x98\x80",
	       "\xEF\xBF\xBD\xEF\xBF\xBD\xF0\x9F\x98\x80");
}

static void test_broken_utf8(void **state)
{
	(void)state;
	struct nd_buf b = ND_BUF_INIT;
	nd_xml_text(&b, "a\xC3z\xFF\xED\xA0\x80", 7);
	assert_string_equal(nd_buf_str(&b),
			    "a\xEF\xBF\xBDz\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	nd_buf_release(&b);
}

/* Each ASCII byte alone and inside runs of plain text on both sides, against
 * the rules spelled out one byte at a time. */
static void test_every_ascii_byte(void **state)
{
	(void)state;
	for (int c = 1; c < 0x80; c++) {
		const char *want;
		char one[2] = {(char)c, 0};
		switch (c) {
		case '&': want = "&amp;"; break;
		case '<': want = "&lt;"; break;
		case '>': want = "&gt;"; break;
		case '"': want = "&quot;"; break;
		case '\'': want = "&apos;"; break;
		case '\r': want = "&#13;"; break;
		default: want = c < 0x20 && c != '\t' && c != '\n' ? "\xEF\xBF\xBD" : one;
		}
		char text[64], expected[64];
		snprintf(text, sizeof text, "%c", c);
		expect(text, want);
		snprintf(text, sizeof text, "plain text%cmore plain text%c", c, c);
		snprintf(expected, sizeof expected, "plain text%smore plain text%s", want, want);
		expect(text, expected);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_broken_utf8),
	    cmocka_unit_test(test_every_ascii_byte),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
