/* test_spec.c - unit tests for src/core/spec.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/spec.h"

#define NSPEC(a) (sizeof(a) / sizeof((a)[0]))

/* Parses literal JSON text (single quotes become double quotes). */
static json_t *J(const char *text)
{
	char *s = strdup(text);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_error_t jerr;
	json_t *v = json_loads(s, JSON_ALLOW_NUL, &jerr);
	if (!v)
		fail_msg("bad test JSON %s: %s", s, jerr.text);
	free(s);
	return v;
}

static void expect_parse_fail_n(const char *text, size_t len)
{
	struct nd_error err = {0};
	json_t *out = (json_t *)0x1;
	enum nd_err e = nd_json_parse_object(text, len, &out, &err);
	if (e != ND_ERR_MALFORMED_JSON)
		fail_msg("nd_json_parse_object(\"%.*s\") = %d, want malformed", (int)len, text, e);
	assert_int_equal(err.code, ND_ERR_MALFORMED_JSON);
	assert_true(strlen(err.detail) > 0);
}

static void expect_parse_fail(const char *text)
{
	expect_parse_fail_n(text, strlen(text));
}

static void test_parse_object(void **state)
{
	(void)state;
	struct nd_error err = {0};
	json_t *out = NULL;
	const char *ok = "{\"a\": 1, \"b\": \"x\"}";
	assert_int_equal(nd_json_parse_object(ok, strlen(ok), &out, &err), ND_OK);
	assert_non_null(out);
	assert_true(json_is_object(out));
	assert_int_equal(json_object_size(out), 2);
	json_decref(out);

	out = NULL;
	assert_int_equal(nd_json_parse_object("{}", 2, &out, &err), ND_OK);
	assert_int_equal(json_object_size(out), 0);
	json_decref(out);

	/* Only @len bytes are parsed. */
	out = NULL;
	assert_int_equal(nd_json_parse_object("{}garbage", 2, &out, &err), ND_OK);
	json_decref(out);

	expect_parse_fail("");
	expect_parse_fail_n("{}", 0);
	expect_parse_fail("[]");
	expect_parse_fail("[1,2]");
	expect_parse_fail("\"str\"");
	expect_parse_fail("42");
	expect_parse_fail("null");
	expect_parse_fail("true");
	expect_parse_fail("{");
	expect_parse_fail("{\"a\":}");
	expect_parse_fail("{\"a\":1,}");
	expect_parse_fail("{'a':1}");
	expect_parse_fail("{} {}");
	expect_parse_fail("{\"a\":1,\"a\":2}");
	expect_parse_fail("{\"a\":1,\"b\":{\"c\":1,\"c\":1}}");
	expect_parse_fail("{\"a\":\"\xff\"}");
}

/* One spec of each type, all optional. */
static const struct nd_field_spec all_specs[] = {
    {"s", ND_F_STRING, false, 2, 5, 0}, {"id", ND_F_ID, false, 0, 0, 0},
    {"t", ND_F_TIME, false, 0, 0, 0},   {"i", ND_F_INT32, false, 0, 0, 0},
    {"o", ND_F_OBJECT, false, 0, 7, 0}, {"ss", ND_F_STRINGS, false, 0, 3, 4},
    {"ids", ND_F_IDS, false, 0, 2, 0},  {"is", ND_F_INT32S, false, 0, 3, 0},
};

static enum nd_err check(const char *text, const struct nd_field_spec *specs, size_t n, bool strict,
			 struct nd_error *err)
{
	json_t *v = J(text);
	memset(err, 0, sizeof *err);
	enum nd_err e = nd_spec_check(v, specs, n, strict, err);
	json_decref(v);
	return e;
}

static void ok_all(const char *text)
{
	struct nd_error err;
	enum nd_err e = check(text, all_specs, NSPEC(all_specs), true, &err);
	if (e != ND_OK)
		fail_msg("%s rejected: %d %s (%s)", text, e, err.detail, err.field);
}

static void bad_all(const char *text, const char *field)
{
	struct nd_error err;
	enum nd_err e = check(text, all_specs, NSPEC(all_specs), true, &err);
	if (e != ND_ERR_INVALID_FIELD)
		fail_msg("%s: got %d, want invalid field", text, e);
	assert_int_equal(err.code, ND_ERR_INVALID_FIELD);
	assert_string_equal(err.field, field);
	assert_non_null(strstr(err.detail, field));
}

static void test_all_absent_or_null(void **state)
{
	(void)state;
	ok_all("{}");
	ok_all("{'s':null,'id':null,'t':null,'i':null,'o':null,'ss':null,'ids':null,'is':null}");
	ok_all("{'s':'abc','id':'u-1','t':'2019-08-24T14:15:22Z','i':5,'o':{'a':1},"
	       "'ss':['a','b'],'ids':['x','y'],'is':[1,2,3]}");
}

static void test_string(void **state)
{
	(void)state;
	ok_all("{'s':'ab'}");
	ok_all("{'s':'abcde'}");
	bad_all("{'s':'a'}", "s"); /* below min */
	bad_all("{'s':''}", "s");
	bad_all("{'s':'abcdef'}", "s"); /* above max */
	bad_all("{'s':5}", "s");
	bad_all("{'s':true}", "s");
	bad_all("{'s':['ab']}", "s");
	bad_all("{'s':{}}", "s");
	/* Characters, not bytes: 5 two-byte characters fit, 6 do not. */
	ok_all("{'s':'\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9'}");
	bad_all("{'s':'\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9'}", "s");
	ok_all("{'s':'\xf0\x9f\x98\x80\xf0\x9f\x98\x80'}"); /* 2 emoji = 2 characters */
	/* An embedded NUL is refused. */
	bad_all("{'s':'ab\\u0000c'}", "s");
}

static void test_string_200_eacute(void **state)
{
	(void)state;
	static const struct nd_field_spec specs[] = {{"name", ND_F_STRING, true, 1, 200, 0}};
	char text[1024];
	strcpy(text, "{\"name\":\"");
	for (int i = 0; i < 200; i++)
		strcat(text, "\xc3\xa9");
	strcat(text, "\"}");
	struct nd_error err;
	assert_int_equal(check(text, specs, 1, true, &err), ND_OK);

	strcpy(text, "{\"name\":\"");
	for (int i = 0; i < 201; i++)
		strcat(text, "\xc3\xa9");
	strcat(text, "\"}");
	assert_int_equal(check(text, specs, 1, true, &err), ND_ERR_INVALID_FIELD);
	assert_string_equal(err.field, "name");
}

static void test_id(void **state)
{
	(void)state;
	ok_all("{'id':'a'}");
	ok_all("{'id':'user/42%'}");
	bad_all("{'id':''}", "id");
	bad_all("{'id':'a b'}", "id");
	bad_all("{'id':'caf\xc3\xa9'}", "id");
	bad_all("{'id':42}", "id");
	bad_all("{'id':['a']}", "id");
	bad_all("{'id':'a\\u0000b'}", "id");
	char text[400];
	strcpy(text, "{'id':'");
	size_t n = strlen(text);
	memset(text + n, 'x', 128);
	strcpy(text + n + 128, "'}");
	ok_all(text);
	memset(text + n, 'x', 129);
	strcpy(text + n + 129, "'}");
	bad_all(text, "id");
}

static void test_time(void **state)
{
	(void)state;
	ok_all("{'t':'2019-08-24T14:15:22Z'}");
	ok_all("{'t':'2019-08-24T14:15:22.5+02:00'}");
	bad_all("{'t':'2019-08-24T14:15:22'}", "t");
	bad_all("{'t':'2019-02-30T00:00:00Z'}", "t");
	bad_all("{'t':'yesterday'}", "t");
	bad_all("{'t':''}", "t");
	bad_all("{'t':1566656122}", "t");
}

static void test_int32(void **state)
{
	(void)state;
	ok_all("{'i':0}");
	ok_all("{'i':-1}");
	ok_all("{'i':2147483647}");
	ok_all("{'i':-2147483648}");
	bad_all("{'i':2147483648}", "i");
	bad_all("{'i':-2147483649}", "i");
	bad_all("{'i':1.5}", "i");
	bad_all("{'i':1.0}", "i");
	bad_all("{'i':'1'}", "i");
	bad_all("{'i':true}", "i");
	bad_all("{'i':[1]}", "i");
}

static void test_object(void **state)
{
	(void)state;
	ok_all("{'o':{}}");
	ok_all("{'o':{'a':1}}"); /* {"a":1} is 7 bytes */
	bad_all("{'o':{'a':10}}", "o");
	bad_all("{'o':[]}", "o");
	bad_all("{'o':'{}'}", "o");
	bad_all("{'o':1}", "o");
	static const struct nd_field_spec unlimited[] = {{"o", ND_F_OBJECT, true, 0, 0, 0}};
	struct nd_error err;
	assert_int_equal(check("{'o':{'a':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}}",
			       unlimited, 1, true, &err),
			 ND_OK);
}

static void test_strings(void **state)
{
	(void)state;
	ok_all("{'ss':[]}");
	ok_all("{'ss':['abcd','','x']}");
	ok_all("{'ss':['\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9']}"); /* 4 characters */
	bad_all("{'ss':['a','b','c','d']}", "ss");             /* 4 entries > 3 */
	bad_all("{'ss':['abcde']}", "ss");                     /* item too long */
	bad_all("{'ss':['\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9']}", "ss");
	bad_all("{'ss':['a',1]}", "ss");
	bad_all("{'ss':[null]}", "ss");
	bad_all("{'ss':'a'}", "ss");
	bad_all("{'ss':{}}", "ss");
	bad_all("{'ss':['a\\u0000']}", "ss");
	struct nd_error err;
	check("{'ss':['ok','toolong']}", all_specs, NSPEC(all_specs), true, &err);
	assert_non_null(strstr(err.detail, "ss[1]"));
}

static void test_ids(void **state)
{
	(void)state;
	ok_all("{'ids':[]}");
	ok_all("{'ids':['a','b']}");
	bad_all("{'ids':['a','b','c']}", "ids");
	bad_all("{'ids':['a b']}", "ids");
	bad_all("{'ids':['']}", "ids");
	bad_all("{'ids':[1]}", "ids");
	bad_all("{'ids':'a'}", "ids");
	struct nd_error err;
	check("{'ids':['ok','not ok']}", all_specs, NSPEC(all_specs), true, &err);
	assert_non_null(strstr(err.detail, "ids[1]"));
}

static void test_int32s(void **state)
{
	(void)state;
	ok_all("{'is':[]}");
	ok_all("{'is':[2147483647,-2147483648,0]}");
	bad_all("{'is':[1,2,3,4]}", "is");
	bad_all("{'is':[2147483648]}", "is");
	bad_all("{'is':[1.5]}", "is");
	bad_all("{'is':['1']}", "is");
	bad_all("{'is':1}", "is");
	struct nd_error err;
	check("{'is':[1,2,'x']}", all_specs, NSPEC(all_specs), true, &err);
	assert_non_null(strstr(err.detail, "is[2]"));
}

static void test_required(void **state)
{
	(void)state;
	static const struct nd_field_spec specs[] = {
	    {"opt", ND_F_STRING, false, 0, 0, 0},
	    {"libelle", ND_F_STRING, true, 1, 0, 0},
	    {"to", ND_F_IDS, true, 0, 0, 0},
	};
	struct nd_error err;
	assert_int_equal(check("{'libelle':'x','to':[]}", specs, 3, true, &err), ND_OK);
	assert_int_equal(check("{'to':['a']}", specs, 3, true, &err), ND_ERR_MISSING_FIELD);
	assert_int_equal(err.code, ND_ERR_MISSING_FIELD);
	assert_string_equal(err.field, "libelle");
	assert_non_null(strstr(err.detail, "libelle"));
	assert_int_equal(check("{'libelle':null,'to':['a']}", specs, 3, true, &err),
			 ND_ERR_MISSING_FIELD);
	assert_string_equal(err.field, "libelle");
	assert_int_equal(check("{'libelle':'x'}", specs, 3, false, &err), ND_ERR_MISSING_FIELD);
	assert_string_equal(err.field, "to");
	/* Present but wrong is invalid, not missing. */
	assert_int_equal(check("{'libelle':'','to':[]}", specs, 3, true, &err),
			 ND_ERR_INVALID_FIELD);
	assert_string_equal(err.field, "libelle");
	/* Each type, when required and absent. */
	for (size_t i = 0; i < NSPEC(all_specs); i++) {
		struct nd_field_spec one = all_specs[i];
		one.required = true;
		assert_int_equal(check("{}", &one, 1, true, &err), ND_ERR_MISSING_FIELD);
		assert_string_equal(err.field, one.name);
		assert_int_equal(check("{'x':1}", &one, 1, false, &err), ND_ERR_MISSING_FIELD);
		assert_string_equal(err.field, one.name);
	}
}

static void test_unknown_fields(void **state)
{
	(void)state;
	struct nd_error err;
	assert_int_equal(check("{'s':'abc','bogus':1}", all_specs, NSPEC(all_specs), true, &err),
			 ND_ERR_UNKNOWN_FIELD);
	assert_int_equal(err.code, ND_ERR_UNKNOWN_FIELD);
	assert_string_equal(err.field, "bogus");
	assert_non_null(strstr(err.detail, "bogus"));
	assert_int_equal(check("{'s':'abc','bogus':1}", all_specs, NSPEC(all_specs), false, &err),
			 ND_OK);
	assert_int_equal(check("{'bogus':null}", all_specs, NSPEC(all_specs), true, &err),
			 ND_ERR_UNKNOWN_FIELD);
	assert_string_equal(err.field, "bogus");
	/* Non-strict still checks the known fields. */
	assert_int_equal(check("{'s':'a','bogus':1}", all_specs, NSPEC(all_specs), false, &err),
			 ND_ERR_INVALID_FIELD);
	assert_string_equal(err.field, "s");
	/* Field names match exactly. */
	assert_int_equal(check("{'S':'abc'}", all_specs, NSPEC(all_specs), true, &err),
			 ND_ERR_UNKNOWN_FIELD);
	assert_string_equal(err.field, "S");
	/* A very long unknown key is reported without overflowing. */
	char text[600];
	strcpy(text, "{'");
	memset(text + 2, 'k', 500);
	strcpy(text + 502, "':1}");
	assert_int_equal(check(text, all_specs, NSPEC(all_specs), true, &err),
			 ND_ERR_UNKNOWN_FIELD);
	assert_true(strlen(err.field) < ND_FIELD_MAX);
	assert_true(strlen(err.detail) < ND_DETAIL_MAX);
	assert_int_equal(strspn(err.field, "k"), strlen(err.field));
	/* No specs at all: any key is unknown in strict mode. */
	assert_int_equal(check("{'a':1}", NULL, 0, true, &err), ND_ERR_UNKNOWN_FIELD);
	assert_int_equal(check("{}", NULL, 0, true, &err), ND_OK);
}

static void test_accessors(void **state)
{
	(void)state;
	json_t *v = J("{'s':'abc','n':null,'i':7,'big':2147483648,'f':1.5,'neg':-2147483648}");
	assert_string_equal(nd_json_str(v, "s"), "abc");
	assert_null(nd_json_str(v, "n"));
	assert_null(nd_json_str(v, "absent"));
	assert_null(nd_json_str(v, "i"));
	assert_null(nd_json_str(NULL, "s"));
	int32_t i = 99;
	assert_true(nd_json_int32(v, "i", &i));
	assert_int_equal(i, 7);
	assert_true(nd_json_int32(v, "neg", &i));
	assert_int_equal(i, INT32_MIN);
	i = 99;
	assert_false(nd_json_int32(v, "big", &i));
	assert_false(nd_json_int32(v, "f", &i));
	assert_false(nd_json_int32(v, "n", &i));
	assert_false(nd_json_int32(v, "absent", &i));
	assert_false(nd_json_int32(v, "s", &i));
	assert_false(nd_json_int32(NULL, "i", &i));
	assert_int_equal(i, 99);
	json_decref(v);
}

static void test_utf8_len(void **state)
{
	(void)state;
	assert_int_equal(nd_utf8_len(""), 0);
	assert_int_equal(nd_utf8_len("abc"), 3);
	assert_int_equal(nd_utf8_len("\xc3\xa9"), 1);
	assert_int_equal(nd_utf8_len("caf\xc3\xa9"), 4);
	assert_int_equal(nd_utf8_len("\xe2\x82\xac"), 1);     /* euro sign */
	assert_int_equal(nd_utf8_len("\xf0\x9f\x98\x80"), 1); /* emoji */
	assert_int_equal(nd_utf8_len("a\xe2\x82\xac\xf0\x9f\x98\x80z"), 4);
	char s[401];
	for (int i = 0; i < 200; i++)
		memcpy(s + 2 * i, "\xc3\xa9", 2);
	s[400] = '\0';
	assert_int_equal(nd_utf8_len(s), 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_object),
	    cmocka_unit_test(test_all_absent_or_null),
	    cmocka_unit_test(test_string),
	    cmocka_unit_test(test_string_200_eacute),
	    cmocka_unit_test(test_id),
	    cmocka_unit_test(test_time),
	    cmocka_unit_test(test_int32),
	    cmocka_unit_test(test_object),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_ids),
	    cmocka_unit_test(test_int32s),
	    cmocka_unit_test(test_required),
	    cmocka_unit_test(test_unknown_fields),
	    cmocka_unit_test(test_accessors),
	    cmocka_unit_test(test_utf8_len),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
