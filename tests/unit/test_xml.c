/* test_xml.c - JSON trees rendered as XML (src/util/xml.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "util/xml.h"

static char *render(const char *root, const char *json)
{
	json_t *v = json_loads(json, 0, NULL);
	assert_non_null(v);
	struct nd_buf b = ND_BUF_INIT;
	nd_xml_document(&b, root, v);
	json_decref(v);
	return nd_buf_steal(&b, NULL);
}

static void expect(const char *root, const char *json, const char *want)
{
	char *got = render(root, json);
	const char *decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
	assert_memory_equal(got, decl, strlen(decl));
	assert_string_equal(got + strlen(decl), want);
	free(got);
}

static void test_tree(void **state)
{
	(void)state;
	expect("response",
	       "{\"notification_list\":[{\"id\":\"A\",\"screen_name\":[\"x\",\"y\"],\"read\":false},"
	       "{\"id\":\"B\",\"screen_name\":[],\"read\":true}],"
	       "\"stats\":{\"total\":\"2\",\"page_count\":1,\"n\":null}}",
	       "<response><notification_list><id>A</id><screen_name>x</screen_name>"
	       "<screen_name>y</screen_name><read>false</read></notification_list>"
	       "<notification_list><id>B</id><read>true</read></notification_list>"
	       "<stats><total>2</total><page_count>1</page_count><n/></stats></response>\n");
	expect("response", "{\"a\":\"\",\"b\":-7,\"c\":1.5}",
	       "<response><a></a><b>-7</b><c>1.5</c></response>\n");
}

static void test_escaping(void **state)
{
	(void)state;
	expect("r", "{\"t\":\"<b>&amp; \\\"q\\\" 'a'\"}",
	       "<r><t>&lt;b&gt;&amp;amp; &quot;q&quot; &apos;a&apos;</t></r>\n");
	/* control characters XML cannot carry become U+FFFD; tab and LF stay,
	 * CR is a character reference so readers do not turn it into LF */
	expect("r", "{\"t\":\"a\\u0001b\\u001fc\\td\\ne\\rf\"}",
	       "<r><t>a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\td\ne&#13;f</t></r>\n");
	/* U+FFFE and U+FFFF are not XML characters; emoji are */
	expect("r", "{\"t\":\"\\ufffe\\uffff\\ud83d\\ude00\"}",
	       "<r><t>\xEF\xBF\xBD\xEF\xBF\xBD\xF0\x9F\x98\x80</t></r>\n");
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

static void test_names(void **state)
{
	(void)state;
	/* keys are the faces' own, but a bad one still yields a legal name */
	expect("r", "{\"1st\":1,\"a b\":2,\"\":3}",
	       "<r><_1st>1</_1st><a_b>2</a_b><_>3</_></r>\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tree),
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_broken_utf8),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
