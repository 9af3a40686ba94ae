/* test_order.c - the SQL-style order list parser (src/core/order.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "core/order.h"

static const struct nd_order_name names[] = {
	{"date_started", ND_ORDER_STARTED, true},
	{"title", ND_ORDER_TITLE, true},
	{"read", ND_ORDER_READ, true},
	{"id", ND_ORDER_ID, true},
	{"notification_type", ND_ORDER_TYPE, true},
	{"score", ND_ORDER_ID, false},
};

static enum nd_err parse(const char *text, struct nd_order_term *t, size_t *n,
			 struct nd_error *err)
{
	memset(err, 0, sizeof *err);
	return nd_order_parse(text, names, sizeof names / sizeof names[0], t, n, err);
}

static void test_valid(void **state)
{
	(void)state;
	struct nd_order_term t[ND_ORDER_MAX];
	size_t n;
	struct nd_error err;
	assert_int_equal(parse("date_started", t, &n, &err), ND_OK);
	assert_int_equal(n, 1);
	assert_int_equal(t[0].key, ND_ORDER_STARTED);
	assert_false(t[0].desc);

	assert_int_equal(parse("date_started ASC, notification_type DESC", t, &n, &err), ND_OK);
	assert_int_equal(n, 2);
	assert_int_equal(t[1].key, ND_ORDER_TYPE);
	assert_true(t[1].desc);
	assert_false(t[0].desc);

	assert_int_equal(parse("  TITLE desc ,read\tasc,Id  ", t, &n, &err), ND_OK);
	assert_int_equal(n, 3);
	assert_int_equal(t[0].key, ND_ORDER_TITLE);
	assert_true(t[0].desc);
	assert_int_equal(t[1].key, ND_ORDER_READ);
	assert_int_equal(t[2].key, ND_ORDER_ID);

	assert_int_equal(parse("id,title,read,date_started", t, &n, &err), ND_OK);
	assert_int_equal(n, 4);
}

static void test_rejected(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		" ",
		",",
		"date_started,",
		",date_started",
		"date_started ASC DESC",
		"date_started UP",
		"date_started; DROP TABLE deliveries",
		"date_started DESC--",
		"(select 1)",
		"'title'",
		"\"title\"",
		"1",
		"title1",
		"foo",
		"score",
		"title, title DESC",
		"id, title, read, date_started, notification_type",
		"date_started ASC,, title",
		"date-started",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct nd_order_term t[ND_ORDER_MAX];
		size_t n = 99;
		struct nd_error err;
		enum nd_err e = parse(bad[i], t, &n, &err);
		if (e != ND_ERR_INVALID_PARAM)
			fail_msg("\"%s\" gave %d", bad[i], (int)e);
		assert_string_equal(err.field, "order");
		assert_true(strlen(err.detail) > 0);
	}
}

static void test_messages(void **state)
{
	(void)state;
	struct nd_order_term t[ND_ORDER_MAX];
	size_t n;
	struct nd_error err;
	parse("score DESC", t, &n, &err);
	assert_non_null(strstr(err.detail, "\"score\" is not supported"));
	parse("title, title", t, &n, &err);
	assert_non_null(strstr(err.detail, "twice"));
	/* a long unknown name is cut in the message */
	char longname[300];
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	parse(longname, t, &n, &err);
	assert_true(strlen(err.detail) < 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_rejected),
	    cmocka_unit_test(test_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
