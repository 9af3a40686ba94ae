/* test_ncache.c - the connection's cache of notification rows
 * (src/store/ncache.c): copies, tenants kept apart, slot reuse, the byte
 * bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "store/ncache.h"

static struct nd_notification note(int32_t key, char *libelle, const char *body)
{
	struct nd_notification n = {
		.key = key, .libelle = libelle, .body = body, .screen_names = "[]",
		.date_started = ND_NO_TIME, .date_due = 42, .created_at = 7, .deliveries = 9,
	};
	snprintf(n.guid, sizeof n.guid, "%032d", key);
	return n;
}

static void test_copy(void **state)
{
	(void)state;
	struct nd_ncache c = {0};
	char title[] = "hello";
	struct nd_notification n = note(3, title, NULL);
	assert_null(nd_ncache_get(&c, 1, 3));
	const struct nd_notification *got = nd_ncache_put(&c, 1, &n);
	assert_non_null(got);
	title[0] = 'j'; /* the cache holds its own copy */
	got = nd_ncache_get(&c, 1, 3);
	assert_non_null(got);
	assert_string_equal(got->libelle, "hello");
	assert_null(got->body);
	assert_string_equal(got->screen_names, "[]");
	assert_string_equal(got->guid, n.guid);
	assert_int_equal(got->date_due, 42);
	assert_int_equal(got->deliveries, 0); /* a counter is never cached */
	assert_null(nd_ncache_get(&c, 2, 3)); /* another tenant's key 3 */
	assert_null(nd_ncache_get(&c, 1, 4));
	nd_ncache_clear(&c);
	assert_null(nd_ncache_get(&c, 1, 3));
}

/* More keys than slots: each answer is the right row or none. */
static void test_many(void **state)
{
	(void)state;
	struct nd_ncache c = {0};
	char title[32];
	for (int32_t k = 0; k < 3 * ND_NCACHE_SLOTS; k++) {
		snprintf(title, sizeof title, "n%d", k);
		struct nd_notification n = note(k, title, "b");
		assert_non_null(nd_ncache_put(&c, 1 + k % 3, &n));
	}
	size_t hits = 0;
	for (int32_t k = 0; k < 3 * ND_NCACHE_SLOTS; k++) {
		const struct nd_notification *got = nd_ncache_get(&c, 1 + k % 3, k);
		if (!got)
			continue;
		hits++;
		snprintf(title, sizeof title, "n%d", k);
		assert_string_equal(got->libelle, title);
		assert_int_equal(got->key, k);
	}
	assert_true(hits > 0 && hits <= ND_NCACHE_SLOTS);
	nd_ncache_clear(&c);
}

/* Past the byte bound a row is refused, not kept, and a dropped slot gives
 * its bytes back. */
static void test_bound(void **state)
{
	(void)state;
	struct nd_ncache c = {0};
	static char big[300 * 1024];
	memset(big, 'x', sizeof big - 1);
	int32_t kept = 0, k;
	for (k = 0; k < 100; k++) {
		struct nd_notification n = note(k, "t", big);
		if (!nd_ncache_put(&c, 1, &n))
			break;
		kept++;
	}
	assert_true(kept > 0 && kept < 100);
	assert_true(c.bytes <= ND_NCACHE_BYTES);
	assert_null(nd_ncache_get(&c, 1, k));
	/* a small row still fits where it would replace nothing big */
	struct nd_notification small = note(k + 1, "small", NULL);
	const struct nd_notification *got = nd_ncache_put(&c, 1, &small);
	assert_non_null(got);
	assert_string_equal(got->libelle, "small");
	/* replacing a kept big row frees its bytes */
	size_t before = c.bytes;
	struct nd_notification again = note(0, "t", big);
	assert_non_null(nd_ncache_put(&c, 1, &again));
	assert_int_equal(c.bytes, before);
	nd_ncache_clear(&c);
	assert_int_equal(c.bytes, 0);
}

/* A delivery whose notification is missing is a broken store: an internal
 * error that tells the client nothing of it (the log says which). */
static void test_missing(void **state)
{
	(void)state;
	struct nd_error err = {0};
	assert_int_equal(nd_ncache_missing(3, 77, &err), ND_ERR_INTERNAL);
	assert_int_equal(err.code, ND_ERR_INTERNAL);
	assert_string_equal(err.detail, "internal storage error");
	assert_string_equal(err.field, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_copy),
	    cmocka_unit_test(test_many),
	    cmocka_unit_test(test_bound),
	    cmocka_unit_test(test_missing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
