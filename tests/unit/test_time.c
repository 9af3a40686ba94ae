/* test_time.c - unit tests for src/core/time.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "util/time.h"

#define T_20190824_141522 INT64_C(1566656122000)
#define T_20190824        INT64_C(1566604800000)
#define T_0001            INT64_C(-62135596800000) /* 0001-01-01T00:00:00Z */
#define T_9999_END        INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */

static int64_t parse_ok(const char *s)
{
	int64_t ms = 42;
	if (!nd_time_parse_iso(s, &ms))
		fail_msg("nd_time_parse_iso rejected \"%s\"", s);
	return ms;
}

static void parse_bad(const char *s)
{
	int64_t ms = 42;
	if (nd_time_parse_iso(s, &ms))
		fail_msg("nd_time_parse_iso accepted \"%s\" as %lld", s, (long long)ms);
}

static void test_parse_basic(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2019-08-24T14:15:22Z"), T_20190824_141522);
	assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(parse_ok("1969-12-31T23:59:59Z"), -1000);
	assert_int_equal(parse_ok("2019-08-24T14:15Z"), T_20190824_141522 - 22000);
	assert_int_equal(parse_ok("0001-01-01T00:00:00Z"), T_0001);
	assert_int_equal(parse_ok("9999-12-31T23:59:59.999Z"), T_9999_END);
}

static void test_parse_fraction(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2019-08-24T14:15:22.5Z"), T_20190824_141522 + 500);
	assert_int_equal(parse_ok("2019-08-24T14:15:22.05Z"), T_20190824_141522 + 50);
	assert_int_equal(parse_ok("2019-08-24T14:15:22.250Z"), T_20190824_141522 + 250);
	assert_int_equal(parse_ok("2019-08-24T14:15:22.123456Z"), T_20190824_141522 + 123);
	assert_int_equal(parse_ok("2019-08-24T14:15:22.999999999Z"), T_20190824_141522 + 999);
	assert_int_equal(parse_ok("2019-08-24T14:15:22.000Z"), T_20190824_141522);
	assert_int_equal(parse_ok("1969-12-31T23:59:59.5Z"), -500);
	parse_bad("2019-08-24T14:15:22.Z");
}

static void test_parse_offsets(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2019-08-24T16:15:22+02:00"), T_20190824_141522);
	assert_int_equal(parse_ok("2019-08-24T14:15:22+02:00"), T_20190824_141522 - 7200000);
	assert_int_equal(parse_ok("2019-08-24T14:15:22-0530"),
			 T_20190824_141522 + (5 * 3600 + 30 * 60) * INT64_C(1000));
	assert_int_equal(parse_ok("2019-08-24T14:15:22+05"), T_20190824_141522 - 5 * 3600000);
	assert_int_equal(parse_ok("2019-08-24T14:15:22-05"), T_20190824_141522 + 5 * 3600000);
	assert_int_equal(parse_ok("2019-08-24T14:15:22+00:00"), T_20190824_141522);
	assert_int_equal(parse_ok("2019-08-24T14:15:22-00:00"), T_20190824_141522);
	assert_int_equal(parse_ok("2019-08-24T14:15:22.5+01:00"),
			 T_20190824_141522 - 3600000 + 500);
	/* An offset can move the instant across a day boundary. */
	assert_int_equal(parse_ok("2019-08-25T01:00:00+02:00"), parse_ok("2019-08-24T23:00:00Z"));
	parse_bad("2019-08-24T14:15:22+2");
	parse_bad("2019-08-24T14:15:22+02:0");
	parse_bad("2019-08-24T14:15:22+020");
	parse_bad("2019-08-24T14:15:22+24:00");
	parse_bad("2019-08-24T14:15:22+02:60");
	parse_bad("2019-08-24T14:15:22+");
}

static void test_parse_date_only_and_case(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2019-08-24"), T_20190824);
	assert_int_equal(parse_ok("1970-01-01"), 0);
	assert_int_equal(parse_ok("2019-08-24t14:15:22z"), T_20190824_141522);
	assert_int_equal(parse_ok("2019-08-24t14:15:22Z"), T_20190824_141522);
	assert_int_equal(parse_ok("2019-08-24T14:15:22z"), T_20190824_141522);
}

static void test_parse_calendar(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2020-02-29"), INT64_C(18321) * 86400000);
	assert_int_equal(parse_ok("2000-02-29T00:00:00Z"), parse_ok("2000-03-01") - 86400000);
	parse_bad("2019-02-29");
	parse_bad("2019-02-29T00:00:00Z");
	parse_bad("1900-02-29");
	parse_bad("2100-02-29");
	assert_int_equal(parse_ok("2400-02-29"), parse_ok("2400-03-01") - 86400000);
	parse_bad("2019-02-30");
	parse_bad("2020-02-30T00:00:00Z");
	parse_bad("2019-04-31");
	parse_bad("2019-13-01");
	parse_bad("2019-00-10");
	parse_bad("2019-08-00");
	parse_bad("2019-08-32");
	assert_int_equal(parse_ok("2019-12-31"), parse_ok("2020-01-01") - 86400000);
}

static void test_parse_rejects(void **state)
{
	(void)state;
	parse_bad("");
	parse_bad("2019-08-24T14:15:22");   /* no zone */
	parse_bad("2019-08-24T14:15");      /* no zone */
	parse_bad("2019-08-24T14:15:22.5"); /* no zone */
	parse_bad("2019-08-24T24:00:00Z");  /* hour 24 */
	parse_bad("2019-08-24T23:60:00Z");
	parse_bad("2019-08-24T23:59:60Z");
	parse_bad("2019-08-24T14:15:22Zjunk");
	parse_bad("2019-08-24T14:15:22Z ");
	parse_bad("2019-08-24T14:15:22+02:00x");
	parse_bad("2019-08-24x");
	parse_bad("2019-08-24 ");
	parse_bad(" 2019-08-24");
	parse_bad("2019-08-24T");
	parse_bad("2019-08-24T14");
	parse_bad("2019-08-24T14Z");
	parse_bad("2019-8-24");
	parse_bad("19-08-24");
	parse_bad("2019/08/24");
	parse_bad("2019-08-24T14:15:2Z");
	parse_bad("abcd-ef-gh");
	parse_bad("2019");
	parse_bad("2019-08");
}

static void test_parse_param(void **state)
{
	(void)state;
	int64_t ms = 0;
	assert_true(nd_time_parse_param("1566656122", &ms)); /* 10 digits: seconds */
	assert_int_equal(ms, T_20190824_141522);
	assert_true(nd_time_parse_param("1566656122000", &ms)); /* 13 digits: ms */
	assert_int_equal(ms, T_20190824_141522);
	assert_true(nd_time_parse_param("156665612200", &ms)); /* 12 digits: ms */
	assert_int_equal(ms, INT64_C(156665612200));
	assert_true(nd_time_parse_param("15666561220", &ms)); /* 11 digits: seconds */
	assert_int_equal(ms, INT64_C(15666561220000));
	assert_true(nd_time_parse_param("0", &ms));
	assert_int_equal(ms, 0);
	assert_true(nd_time_parse_param("5", &ms));
	assert_int_equal(ms, 5000);
	assert_true(nd_time_parse_param("9999999999999", &ms));
	assert_int_equal(ms, INT64_C(9999999999999));
	assert_true(nd_time_parse_param("2019-08-24T14:15:22Z", &ms));
	assert_int_equal(ms, T_20190824_141522);
	assert_true(nd_time_parse_param("2019-08-24", &ms));
	assert_int_equal(ms, T_20190824);

	ms = 42;
	assert_false(nd_time_parse_param("15666561220000", &ms)); /* 14 digits */
	assert_false(nd_time_parse_param("99999999999999999999999", &ms));
	assert_false(nd_time_parse_param("", &ms));
	assert_false(nd_time_parse_param("-1", &ms));
	assert_false(nd_time_parse_param("+1566656122", &ms));
	assert_false(nd_time_parse_param("1566656122 ", &ms));
	assert_false(nd_time_parse_param("1566656122.5", &ms));
	assert_false(nd_time_parse_param("12a", &ms));
	assert_false(nd_time_parse_param("2019-08-24T14:15:22", &ms));
	assert_int_equal(ms, 42);
}

static void fmt_is(int64_t ms, const char *want)
{
	char out[ND_TIME_BUFSZ];
	memset(out, '#', sizeof out);
	nd_time_format(ms, out);
	if (strcmp(out, want) != 0)
		fail_msg("nd_time_format(%lld) = \"%s\", want \"%s\"", (long long)ms, out, want);
}

static void test_format(void **state)
{
	(void)state;
	fmt_is(0, "1970-01-01T00:00:00Z");
	fmt_is(T_20190824_141522, "2019-08-24T14:15:22Z");
	fmt_is(T_20190824_141522 + 250, "2019-08-24T14:15:22.250Z");
	fmt_is(T_20190824_141522 + 1, "2019-08-24T14:15:22.001Z");
	fmt_is(T_20190824_141522 + 999, "2019-08-24T14:15:22.999Z");
	fmt_is(T_20190824, "2019-08-24T00:00:00Z");
	fmt_is(1, "1970-01-01T00:00:00.001Z");
	fmt_is(INT64_C(18321) * 86400000, "2020-02-29T00:00:00Z");
	fmt_is(T_9999_END, "9999-12-31T23:59:59.999Z");
	fmt_is(T_0001, "0001-01-01T00:00:00Z");
}

static void test_format_negative(void **state)
{
	(void)state;
	fmt_is(-1, "1969-12-31T23:59:59.999Z");
	fmt_is(-1000, "1969-12-31T23:59:59Z");
	fmt_is(-500, "1969-12-31T23:59:59.500Z");
	fmt_is(-86400000, "1969-12-31T00:00:00Z");
	fmt_is(-86400001, "1969-12-30T23:59:59.999Z");
	fmt_is(INT64_C(-2208988800000), "1900-01-01T00:00:00Z");
	fmt_is(INT64_C(-2208988800000) - 1, "1899-12-31T23:59:59.999Z");
}

static void test_round_trip(void **state)
{
	(void)state;
	/* Deterministic pseudo-random values over years 0001..9999. */
	uint64_t x = 0x9E3779B97F4A7C15u;
	const uint64_t span = (uint64_t)(T_9999_END - T_0001) + 1;
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int64_t ms = T_0001 + (int64_t)(x % span);
		if (i % 3 == 0)
			ms -= ms % 1000; /* whole seconds too */
		char out[ND_TIME_BUFSZ];
		nd_time_format(ms, out);
		int64_t back = 0;
		if (!nd_time_parse_iso(out, &back))
			fail_msg("could not parse formatted \"%s\" (%lld)", out, (long long)ms);
		if (back != ms)
			fail_msg("round trip %lld -> \"%s\" -> %lld", (long long)ms, out,
				 (long long)back);
		assert_int_equal(strlen(out), ms % 1000 ? 24 : 20);
	}
	/* And every millisecond around the epoch and a leap day. */
	for (int64_t ms = -3000; ms <= 3000; ms++) {
		char out[ND_TIME_BUFSZ];
		nd_time_format(ms, out);
		int64_t back;
		assert_true(nd_time_parse_iso(out, &back));
		assert_int_equal(back, ms);
	}
	for (int64_t ms = INT64_C(18321) * 86400000 - 2000; ms <= INT64_C(18322) * 86400000 + 2000;
	     ms += 997) {
		char out[ND_TIME_BUFSZ];
		nd_time_format(ms, out);
		int64_t back;
		assert_true(nd_time_parse_iso(out, &back));
		assert_int_equal(back, ms);
	}
}

/* Parse and print agree on one range: years 0000..9999 after the offset. */
static void test_range(void **state)
{
	(void)state;
	int64_t ms;
	fmt_is(ND_TIME_MIN, "0000-01-01T00:00:00Z");
	fmt_is(ND_TIME_MAX, "9999-12-31T23:59:59.999Z");
	assert_true(nd_time_parse_iso("0000-01-01T00:00:00Z", &ms));
	assert_int_equal(ms, ND_TIME_MIN);
	assert_true(nd_time_parse_iso("9999-12-31T23:59:59.999Z", &ms));
	assert_int_equal(ms, ND_TIME_MAX);
	/* an offset that pushes the instant out of range */
	assert_false(nd_time_parse_iso("9999-12-31T23:59:59-23:59", &ms));
	assert_false(nd_time_parse_iso("9999-12-31T23:59:59.999-00:01", &ms));
	assert_false(nd_time_parse_iso("0000-01-01T00:00:00+23:59", &ms));
	assert_false(nd_time_parse_iso("0000-01-01T00:00:00.000+00:01", &ms));
	/* just inside: printed as the same instant, never another one */
	assert_true(nd_time_parse_iso("0001-01-01T00:00:00+23:59", &ms));
	fmt_is(ms, "0000-12-31T00:01:00Z");
	assert_true(nd_time_parse_iso("0000-01-01T23:59:00+23:59", &ms));
	fmt_is(ms, "0000-01-01T00:00:00Z");
	assert_true(nd_time_parse_iso("9999-12-31T00:00:00-23:59", &ms));
	fmt_is(ms, "9999-12-31T23:59:00Z");
	/* distinct inputs near the edges print distinctly and parse back */
	const char *edges[] = {"0000-01-01T00:00:00Z", "0000-01-01T00:00:00.001Z",
			       "0001-01-01T00:00:00Z", "9998-12-31T23:59:59Z",
			       "9999-12-31T23:59:58.999Z", "9999-12-31T23:59:59.999Z"};
	for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
		char out[ND_TIME_BUFSZ];
		assert_true(nd_time_parse_iso(edges[i], &ms));
		nd_time_format(ms, out);
		assert_string_equal(out, edges[i]);
	}
	/* out-of-range values (nothing parsed is one) print as the nearer end */
	fmt_is(ND_TIME_MIN - 1, "0000-01-01T00:00:00Z");
	fmt_is(INT64_MIN + 1, "0000-01-01T00:00:00Z");
	fmt_is(ND_TIME_MAX + 1, "9999-12-31T23:59:59.999Z");
	fmt_is(INT64_MAX, "9999-12-31T23:59:59.999Z");
}

static void test_days_from_civil(void **state)
{
	(void)state;
	assert_int_equal(nd_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(nd_days_from_civil(1970, 1, 2), 1);
	assert_int_equal(nd_days_from_civil(1969, 12, 31), -1);
	assert_int_equal(nd_days_from_civil(2000, 1, 1), 10957);
	assert_int_equal(nd_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(nd_days_from_civil(2019, 8, 24), 18132);
	assert_int_equal(nd_days_from_civil(2020, 2, 29), 18321);
	assert_int_equal(nd_days_from_civil(1900, 3, 1), -25508);
	assert_int_equal(nd_days_from_civil(1600, 1, 1), -135140);
	assert_int_equal(nd_days_from_civil(1, 1, 1), -719162);
	assert_int_equal(nd_days_from_civil(9999, 12, 31), 2932896);
	/* Consecutive dates are consecutive days across month/year ends. */
	assert_int_equal(nd_days_from_civil(2019, 3, 1) - nd_days_from_civil(2019, 2, 28), 1);
	assert_int_equal(nd_days_from_civil(2020, 3, 1) - nd_days_from_civil(2020, 2, 29), 1);
	assert_int_equal(nd_days_from_civil(2020, 1, 1) - nd_days_from_civil(2019, 12, 31), 1);
	assert_int_equal(nd_days_from_civil(2021, 1, 1) - nd_days_from_civil(2020, 1, 1), 366);
	assert_int_equal(nd_days_from_civil(2020, 1, 1) - nd_days_from_civil(2019, 1, 1), 365);
}

static void test_now(void **state)
{
	(void)state;
	int64_t a = nd_time_now_ms();
	int64_t b = nd_time_now_ms();
	assert_true(a > INT64_C(1577836800000)); /* after 2020-01-01 */
	assert_true(a < T_9999_END);
	assert_true(b >= a - 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_basic),     cmocka_unit_test(test_parse_fraction),
	    cmocka_unit_test(test_parse_offsets),   cmocka_unit_test(test_parse_date_only_and_case),
	    cmocka_unit_test(test_parse_calendar),  cmocka_unit_test(test_parse_rejects),
	    cmocka_unit_test(test_parse_param),     cmocka_unit_test(test_format),
	    cmocka_unit_test(test_format_negative), cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_range),
	    cmocka_unit_test(test_days_from_civil), cmocka_unit_test(test_now),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
