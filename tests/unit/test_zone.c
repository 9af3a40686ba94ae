/* test_zone.c - time zones (src/core/zone.c) and human dates (src/core/human.c),
 * with a fixed clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "core/human.h"
#include "util/time.h"
#include "core/zone.h"

static int64_t iso(const char *s)
{
	int64_t ms;
	assert_true(nd_time_parse_iso(s, &ms));
	return ms;
}

static void expect_day(const char *zone, int y, int m, int d, const char *from, const char *to)
{
	struct nd_zone *z = nd_zone_open(zone);
	assert_non_null(z);
	int64_t a, b;
	assert_int_equal(nd_zone_day(z, y, m, d, &a, &b), ND_OK);
	assert_int_equal(a, iso(from));
	assert_int_equal(b, iso(to));
	nd_zone_free(z);
}

static void test_days(void **state)
{
	(void)state;
	expect_day("America/New_York", 2009, 12, 6, "2009-12-06T05:00:00Z", "2009-12-07T05:00:00Z");
	expect_day("America/New_York", 2013, 7, 1, "2013-07-01T04:00:00Z", "2013-07-02T04:00:00Z");
	/* DST ends: a 25-hour day; DST starts: a 23-hour day */
	expect_day("America/New_York", 2013, 11, 3, "2013-11-03T04:00:00Z", "2013-11-04T05:00:00Z");
	expect_day("America/New_York", 2013, 3, 10, "2013-03-10T05:00:00Z", "2013-03-11T04:00:00Z");
	/* month and year ends roll over */
	expect_day("America/New_York", 2013, 12, 31, "2013-12-31T05:00:00Z", "2014-01-01T05:00:00Z");
	expect_day("UTC", 2016, 2, 29, "2016-02-29T00:00:00Z", "2016-03-01T00:00:00Z");
	expect_day("Asia/Tokyo", 2013, 11, 3, "2013-11-02T15:00:00Z", "2013-11-03T15:00:00Z");
	expect_day("Asia/Kolkata", 2020, 1, 1, "2019-12-31T18:30:00Z", "2020-01-01T18:30:00Z");
}

static void test_valid(void **state)
{
	(void)state;
	assert_true(nd_zone_valid("America/New_York"));
	assert_true(nd_zone_valid("Europe/Paris"));
	assert_true(nd_zone_valid("UTC"));
	assert_false(nd_zone_valid("Mars/Olympus_Mons"));
	assert_false(nd_zone_valid("America/New York"));
	assert_false(nd_zone_valid(""));
	char longname[200];
	memset(longname, 'A', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	assert_false(nd_zone_valid(longname));
}

static void test_civil(void **state)
{
	(void)state;
	struct nd_zone *z = nd_zone_open("America/New_York");
	int y, m, d;
	/* 04:59Z is still the previous evening in New York */
	nd_zone_civil(z, iso("2013-11-22T04:59:59Z"), &y, &m, &d);
	assert_int_equal(y * 10000 + m * 100 + d, 20131121);
	nd_zone_civil(z, iso("2013-11-22T05:00:00Z"), &y, &m, &d);
	assert_int_equal(y * 10000 + m * 100 + d, 20131122);
	nd_zone_free(z);
}

/* The local date given for an instant is the day whose midnights enclose
 * it, in any order of asking (dates are remembered per zone), around DST
 * changes at midnight, half-hour changes and a day a zone skipped. */
static void test_civil_many(void **state)
{
	(void)state;
	static const char *const zones[] = {"America/New_York", "America/Sao_Paulo",
					    "Australia/Lord_Howe", "Pacific/Apia",
					    "Asia/Kathmandu"};
	const int64_t start = iso("2011-01-01T00:00:00Z");
	const int64_t step = (17 * 60 + 37) * 1000; /* never a whole hour */
	const int64_t n = 2 * 366 * 86400000LL / step;
	for (size_t zi = 0; zi < sizeof zones / sizeof zones[0]; zi++) {
		struct nd_zone *z = nd_zone_open(zones[zi]);
		struct nd_zone *check = nd_zone_open(zones[zi]);
		assert_non_null(z);
		for (int64_t i = 0; i < n; i++) {
			int64_t ms = start + (i * 7919 % n) * step; /* hops about */
			int y, m, d;
			int64_t from, to;
			nd_zone_civil(z, ms, &y, &m, &d);
			assert_int_equal(nd_zone_day(check, y, m, d, &from, &to), ND_OK);
			if (ms < from || ms >= to)
				fail_msg("%s: instant %lld given %04d-%02d-%02d", zones[zi],
					 (long long)ms, y, m, d);
		}
		nd_zone_free(check);
		nd_zone_free(z);
	}
}

static void age(int64_t now, int64_t then, const char *want)
{
	struct nd_zone *z = nd_zone_open("America/New_York");
	char out[ND_HUMAN_MAX];
	nd_human_age(now, then, z, out);
	assert_string_equal(out, want);
	nd_zone_free(z);
}

static void test_ages(void **state)
{
	(void)state;
	const int64_t now = iso("2013-12-19T20:00:00Z"), s = 1000, min = 60 * s, h = 60 * min,
		      day = 24 * h, week = 7 * day;
	age(now, now, "just now");
	age(now, now - 59 * s, "just now");
	age(now, now - 60 * s, "1 minute ago");
	age(now, now - 119 * s, "1 minute ago");
	age(now, now - 2 * min, "2 minutes ago");
	age(now, now - 59 * min - 59 * s, "59 minutes ago");
	age(now, now - h, "1 hour ago");
	age(now, now - 23 * h, "23 hours ago");
	age(now, now - day, "1 day ago");
	age(now, now - 6 * day, "6 days ago");
	age(now, now - week, "1 week ago");
	age(now, now - 3 * week, "3 weeks ago");
	age(now, now - 5 * week + s, "4 weeks ago");
	/* five weeks and older: the local date */
	age(now, now - 5 * week, "Nov 14 2013");
	age(now, iso("2013-11-01T16:47:36Z"), "Nov 1 2013");
	/* the local date: 04:59Z is the evening before in New York */
	age(now, iso("2013-11-02T03:59:00Z"), "Nov 1 2013");
	/* the future (scheduled) shows its date too */
	age(now, now + day, "Dec 20 2013");
	age(now, iso("1969-07-20T20:17:00Z"), "Jul 20 1969");
}

static void test_dates(void **state)
{
	(void)state;
	struct nd_zone *z = nd_zone_open("America/New_York");
	char out[ND_HUMAN_MAX];
	nd_human_date(iso("2013-11-29T12:00:00Z"), z, out);
	assert_string_equal(out, "Nov 29 2013");
	nd_human_date(iso("2014-01-01T04:00:00Z"), z, out);
	assert_string_equal(out, "Dec 31 2013");
	nd_zone_free(z);
	z = nd_zone_open("Asia/Tokyo");
	nd_human_date(iso("2014-01-01T04:00:00Z"), z, out);
	assert_string_equal(out, "Jan 1 2014");
	nd_zone_free(z);
	/* one- and two-digit days, years of other lengths than four */
	z = nd_zone_open("UTC");
	static const struct {
		int64_t ms;
		const char *want;
	} cases[] = {
	    {-30610224000000, "Jan 1 1000"}, /* 1000-01-01 */
	    {-30610224000001, "Dec 31 999"}, /* a millisecond before */
	    {253402300799999, "Dec 31 9999"}, /* 9999-12-31T23:59:59.999 */
	    {253402300800000, "Jan 1 10000"}, /* a millisecond later */
	    {1381363200000, "Oct 10 2013"},
	    {1380931200000, "Oct 5 2013"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		nd_human_date(cases[i].ms, z, out);
		assert_string_equal(out, cases[i].want);
	}
	nd_zone_free(z);
}

/* A day's text is kept with the day in the zone's cache: asked again, and
 * after another day took its place there (64 days later), each day reads
 * as its own. */
static void test_dates_kept(void **state)
{
	(void)state;
	struct nd_zone *z = nd_zone_open("Europe/Paris");
	const int64_t day = 86400000;
	const int64_t a = iso("2013-11-29T12:00:00Z"), b = a + 64 * day, c = a + 65 * day;
	static const struct {
		size_t which; /* of at[] */
		const char *want;
	} asks[] = {
	    {0, "Nov 29 2013"}, {0, "Nov 29 2013"}, {1, "Feb 1 2014"},
	    {0, "Nov 29 2013"}, {2, "Feb 2 2014"},  {1, "Feb 1 2014"},
	};
	const int64_t at[] = {a, b, c};
	for (size_t i = 0; i < sizeof asks / sizeof asks[0]; i++) {
		char out[ND_HUMAN_MAX];
		nd_human_date(at[asks[i].which], z, out);
		assert_string_equal(out, asks[i].want);
		/* the same instant's day through the calendar, not the cache */
		struct nd_zone *fresh = nd_zone_open("Europe/Paris");
		char again[ND_HUMAN_MAX];
		nd_human_date(at[asks[i].which], fresh, again);
		assert_string_equal(out, again);
		nd_zone_free(fresh);
	}
	nd_zone_free(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_days),   cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_civil),  cmocka_unit_test(test_civil_many),
	    cmocka_unit_test(test_ages),
	    cmocka_unit_test(test_dates),  cmocka_unit_test(test_dates_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
