/* test_err.c - unit tests for the error registry (src/core/err.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "core/err.h"

static void test_every_code_has_info(void **state)
{
	(void)state;
	for (int e = ND_OK + 1; e < ND_ERR__COUNT; e++) {
		const struct nd_err_info *info = nd_err_info((enum nd_err)e);
		assert_non_null(info);
		assert_non_null(info->slug);
		assert_non_null(info->title);
		assert_true(strlen(info->slug) > 0);
		assert_true(strlen(info->title) > 0);
		assert_in_range(info->status, 400, 599);
	}
}

static void test_slugs_unique(void **state)
{
	(void)state;
	for (int a = ND_OK + 1; a < ND_ERR__COUNT; a++)
		for (int b = a + 1; b < ND_ERR__COUNT; b++)
			assert_string_not_equal(nd_err_info((enum nd_err)a)->slug,
						nd_err_info((enum nd_err)b)->slug);
}

static void test_known_statuses(void **state)
{
	(void)state;
	assert_int_equal(nd_err_info(ND_ERR_MALFORMED_JSON)->status, 400);
	assert_int_equal(nd_err_info(ND_ERR_INVALID_FIELD)->status, 400);
	assert_int_equal(nd_err_info(ND_ERR_UNAUTHORIZED)->status, 401);
	assert_int_equal(nd_err_info(ND_ERR_FORBIDDEN)->status, 403);
	assert_int_equal(nd_err_info(ND_ERR_NOT_FOUND)->status, 404);
	assert_int_equal(nd_err_info(ND_ERR_METHOD)->status, 405);
	assert_int_equal(nd_err_info(ND_ERR_TOO_LARGE)->status, 413);
	assert_int_equal(nd_err_info(ND_ERR_URI_TOO_LONG)->status, 414);
	assert_int_equal(nd_err_info(ND_ERR_BUSY)->status, 503);
	assert_int_equal(nd_err_info(ND_ERR_INTERNAL)->status, 500);
}

static void test_out_of_range_is_internal(void **state)
{
	(void)state;
	const struct nd_err_info *internal = nd_err_info(ND_ERR_INTERNAL);
	assert_ptr_equal(nd_err_info(ND_ERR__COUNT), internal);
	assert_ptr_equal(nd_err_info((enum nd_err)(ND_ERR__COUNT + 1)), internal);
	assert_ptr_equal(nd_err_info((enum nd_err)1000), internal);
	assert_ptr_equal(nd_err_info((enum nd_err) - 1), internal);
	assert_int_equal(internal->status, 500);
}

static void test_fail_fills(void **state)
{
	(void)state;
	struct nd_error err;
	memset(&err, 'x', sizeof err);
	enum nd_err r = nd_fail(&err, ND_ERR_INVALID_FIELD, "name", "name must be %d..%d", 1, 5);
	assert_int_equal(r, ND_ERR_INVALID_FIELD);
	assert_int_equal(err.code, ND_ERR_INVALID_FIELD);
	assert_string_equal(err.detail, "name must be 1..5");
	assert_string_equal(err.field, "name");
}

static void test_fail_null_field(void **state)
{
	(void)state;
	struct nd_error err;
	nd_fail(&err, ND_ERR_INVALID_FIELD, "previous", "x");
	enum nd_err r = nd_fail(&err, ND_ERR_NOT_FOUND, NULL, "target %s not found", "abc");
	assert_int_equal(r, ND_ERR_NOT_FOUND);
	assert_int_equal(err.code, ND_ERR_NOT_FOUND);
	assert_string_equal(err.detail, "target abc not found");
	assert_string_equal(err.field, "");
}

static void test_fail_null_err(void **state)
{
	(void)state;
	assert_int_equal(nd_fail(NULL, ND_ERR_BUSY, "f", "detail"), ND_ERR_BUSY);
}

static void test_fail_truncates(void **state)
{
	(void)state;
	char longtext[2000];
	memset(longtext, 'd', sizeof longtext - 1);
	longtext[sizeof longtext - 1] = '\0';
	char longfield[500];
	memset(longfield, 'f', sizeof longfield - 1);
	longfield[sizeof longfield - 1] = '\0';

	/* Guard bytes around the struct catch overruns. */
	struct {
		char before[64];
		struct nd_error err;
		char after[64];
	} s;
	memset(&s, 0x5A, sizeof s);
	enum nd_err r = nd_fail(&s.err, ND_ERR_INVALID_PARAM, longfield, "%s", longtext);
	assert_int_equal(r, ND_ERR_INVALID_PARAM);
	assert_int_equal(strlen(s.err.detail), ND_DETAIL_MAX - 1);
	assert_int_equal(strlen(s.err.field), ND_FIELD_MAX - 1);
	assert_memory_equal(s.err.detail, longtext, ND_DETAIL_MAX - 1);
	for (size_t i = 0; i < sizeof s.before; i++) {
		assert_int_equal((unsigned char)s.before[i], 0x5A);
		assert_int_equal((unsigned char)s.after[i], 0x5A);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_code_has_info),
	    cmocka_unit_test(test_slugs_unique),
	    cmocka_unit_test(test_known_statuses),
	    cmocka_unit_test(test_out_of_range_is_internal),
	    cmocka_unit_test(test_fail_fills),
	    cmocka_unit_test(test_fail_null_field),
	    cmocka_unit_test(test_fail_null_err),
	    cmocka_unit_test(test_fail_truncates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
