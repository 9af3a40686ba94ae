/* test_route.c - unit tests for src/http/route.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "http/route.h"

static void assert_param(const struct nd_route_match *m, size_t i, const char *name,
			 const char *value)
{
	assert_true(i < m->nparams);
	size_t nl = strlen(name);
	/* The name runs up to the closing brace of the placeholder. */
	assert_memory_equal(m->param_name[i], name, nl);
	assert_int_equal(m->param_name[i][nl], '}');
	assert_int_equal(m->param_len[i], strlen(value));
	assert_memory_equal(m->param_raw[i], value, strlen(value));
}

static void test_literals(void **state)
{
	(void)state;
	struct nd_route_match m;
	assert_true(nd_route_path_match("/", "/", &m));
	assert_int_equal(m.nparams, 0);
	assert_true(nd_route_path_match("/v1/targets", "/v1/targets", &m));
	assert_int_equal(m.nparams, 0);
	assert_true(nd_route_path_match("/healthz", "/healthz", &m));
	assert_false(nd_route_path_match("/v1/targets", "/v1/target", &m));
	assert_false(nd_route_path_match("/v1/targets", "/v1/targetsX", &m));
	assert_false(nd_route_path_match("/v1/targets", "/v1/Targets", &m));
	assert_false(nd_route_path_match("/v1/targets", "/v1", &m));
	assert_false(nd_route_path_match("/v1/targets", "/v1/targets/x", &m));
	assert_false(nd_route_path_match("/v1/targets", "/v2/targets", &m));
	assert_false(nd_route_path_match("/v1/targets", "", &m));
	assert_false(nd_route_path_match("/v1/targets", "v1/targets", &m));
	assert_false(nd_route_path_match("/", "/x", &m));
	assert_false(nd_route_path_match("/", "", &m));
}

static void test_trailing_slash(void **state)
{
	(void)state;
	struct nd_route_match m;
	assert_false(nd_route_path_match("/v1/targets", "/v1/targets/", &m));
	assert_false(nd_route_path_match("/v1/targets/", "/v1/targets", &m));
	assert_false(nd_route_path_match("/v1/targets/{id}", "/v1/targets/abc/", &m));
	assert_false(nd_route_path_match("/v1/targets//x", "/v1/targets/x", &m));
	assert_false(nd_route_path_match("/v1/targets", "//v1/targets", &m));
}

static void test_placeholders(void **state)
{
	(void)state;
	struct nd_route_match m;
	assert_true(nd_route_path_match("/v1/targets/{id}", "/v1/targets/abc", &m));
	assert_int_equal(m.nparams, 1);
	assert_param(&m, 0, "id", "abc");

	assert_true(nd_route_path_match("/v1/segments/{seg}/members/{target}",
					"/v1/segments/12/members/user-7", &m));
	assert_int_equal(m.nparams, 2);
	assert_param(&m, 0, "seg", "12");
	assert_param(&m, 1, "target", "user-7");

	assert_true(nd_route_path_match("/v1/targets/{id}/feed", "/v1/targets/x/feed", &m));
	assert_int_equal(m.nparams, 1);
	assert_param(&m, 0, "id", "x");

	/* A placeholder never matches an empty segment... */
	assert_false(nd_route_path_match("/v1/targets/{id}", "/v1/targets/", &m));
	assert_false(nd_route_path_match("/v1/targets/{id}/feed", "/v1/targets//feed", &m));
	assert_false(nd_route_path_match("/v1/targets/{id}", "/v1/targets", &m));
	/* ... nor more than one segment. */
	assert_false(nd_route_path_match("/v1/targets/{id}", "/v1/targets/a/b", &m));
	assert_false(nd_route_path_match("/v1/targets/{id}/feed", "/v1/targets/a/b/feed", &m));
	/* Literal after a placeholder must still match. */
	assert_false(nd_route_path_match("/v1/targets/{id}/feed", "/v1/targets/a/feeds", &m));
	assert_false(nd_route_path_match("/v1/targets/{id}/feed", "/v1/targets/a", &m));
}

static void test_encoded_slash(void **state)
{
	(void)state;
	struct nd_route_match m;
	assert_true(nd_route_path_match("/v1/targets/{id}", "/v1/targets/a%2Fb", &m));
	assert_int_equal(m.nparams, 1);
	assert_param(&m, 0, "id", "a%2Fb");
	assert_true(nd_route_path_match("/v1/targets/{id}/feed", "/v1/targets/a%2fb%2Fc/feed", &m));
	assert_param(&m, 0, "id", "a%2fb%2Fc");
	assert_true(nd_route_path_match("/v1/targets/{id}", "/v1/targets/%7Bid%7D", &m));
	assert_param(&m, 0, "id", "%7Bid%7D");
}

static void test_max_params(void **state)
{
	(void)state;
	struct nd_route_match m;
	assert_true(nd_route_path_match("/{a}/{b}/{c}/{d}", "/1/2/3/4", &m));
	assert_int_equal(m.nparams, 4);
	assert_param(&m, 3, "d", "4");
	/* More placeholders than there is room for never match (or overflow). */
	assert_false(nd_route_path_match("/{a}/{b}/{c}/{d}/{e}", "/1/2/3/4/5", &m));
}

static enum nd_err h_list(struct nd_req *r)
{
	(void)r;
	return ND_OK;
}
static enum nd_err h_get(struct nd_req *r)
{
	(void)r;
	return ND_OK;
}
static enum nd_err h_del(struct nd_req *r)
{
	(void)r;
	return ND_OK;
}
static enum nd_err h_feed(struct nd_req *r)
{
	(void)r;
	return ND_OK;
}

static const struct nd_route routes[] = {
    {"GET", "/v1/health", h_list, ND_ROUTE_PUBLIC},
    {"GET", "/v1/segments", h_list, 0},
    {"POST", "/v1/segments", h_list, 0},
    {"GET", "/v1/targets/{id}", h_get, ND_ROUTE_MEMBER_SELF},
    {"DELETE", "/v1/targets/{id}", h_del, 0},
    {"GET", "/v1/targets/{id}/feed", h_feed, ND_ROUTE_MEMBER_SELF},
};
#define NROUTES (sizeof routes / sizeof routes[0])

static void test_find(void **state)
{
	(void)state;
	struct nd_route_match m;
	bool known = true;
	char allow[64];
	memset(&m, 0, sizeof m);
	const struct nd_route *r = nd_route_find(routes, NROUTES, "GET", "/v1/targets/u1", &m,
						 &known, allow, sizeof allow);
	assert_ptr_equal(r, &routes[3]);
	assert_ptr_equal(m.route, &routes[3]);
	assert_int_equal(m.nparams, 1);
	assert_param(&m, 0, "id", "u1");

	r = nd_route_find(routes, NROUTES, "DELETE", "/v1/targets/u1", &m, &known, allow,
			  sizeof allow);
	assert_ptr_equal(r, &routes[4]);
	assert_true(r->handler == h_del);

	r = nd_route_find(routes, NROUTES, "GET", "/v1/targets/u%2F1/feed", &m, &known, allow,
			  sizeof allow);
	assert_ptr_equal(r, &routes[5]);
	assert_param(&m, 0, "id", "u%2F1");

	r = nd_route_find(routes, NROUTES, "GET", "/v1/health", &m, &known, NULL, 0);
	assert_ptr_equal(r, &routes[0]);
	assert_true(r->flags & ND_ROUTE_PUBLIC);
}

static void test_find_405(void **state)
{
	(void)state;
	struct nd_route_match m;
	bool known = false;
	char allow[64];
	memset(allow, 'x', sizeof allow);
	const struct nd_route *r = nd_route_find(routes, NROUTES, "PUT", "/v1/targets/u1", &m,
						 &known, allow, sizeof allow);
	assert_null(r);
	assert_true(known);
	assert_string_equal(allow, "GET, DELETE");

	known = false;
	r = nd_route_find(routes, NROUTES, "DELETE", "/v1/segments", &m, &known, allow,
			  sizeof allow);
	assert_null(r);
	assert_true(known);
	assert_string_equal(allow, "GET, POST");

	known = false;
	r = nd_route_find(routes, NROUTES, "POST", "/v1/targets/u1/feed", &m, &known, allow,
			  sizeof allow);
	assert_null(r);
	assert_true(known);
	assert_string_equal(allow, "GET");

	/* Method names are case-sensitive. */
	known = false;
	r = nd_route_find(routes, NROUTES, "get", "/v1/health", &m, &known, allow, sizeof allow);
	assert_null(r);
	assert_true(known);
	assert_string_equal(allow, "GET");

	/* Without an allow buffer. */
	known = false;
	r = nd_route_find(routes, NROUTES, "PUT", "/v1/targets/u1", &m, &known, NULL, 0);
	assert_null(r);
	assert_true(known);
}

static void test_find_404(void **state)
{
	(void)state;
	struct nd_route_match m;
	bool known = true;
	char allow[64] = "stale";
	const struct nd_route *r =
	    nd_route_find(routes, NROUTES, "GET", "/v1/nothing", &m, &known, allow, sizeof allow);
	assert_null(r);
	assert_false(known);
	assert_string_equal(allow, "");

	known = true;
	r = nd_route_find(routes, NROUTES, "GET", "/v1/targets/", &m, &known, allow, sizeof allow);
	assert_null(r);
	assert_false(known);

	known = true;
	r = nd_route_find(routes, NROUTES, "GET", "/v1/targets/u1/", &m, &known, allow,
			  sizeof allow);
	assert_null(r);
	assert_false(known);

	known = true;
	r = nd_route_find(routes, 0, "GET", "/v1/health", &m, &known, allow, sizeof allow);
	assert_null(r);
	assert_false(known);
}

/* Routes are left at the path's first byte when it differs from theirs;
 * never one that starts with a placeholder, and never on a path that does
 * not start with '/'. A '{' segment without its '}' is a literal. */
static void test_find_first_byte(void **state)
{
	(void)state;
	static const struct nd_route lead[] = {
	    {"GET", "/v1/y", h_list, 0},
	    {"GET", "/{tenant}/x", h_get, 0},
	    {"GET", "/{x", h_feed, 0},
	};
	struct nd_route_match m;
	bool known;
	const struct nd_route *r = nd_route_find(lead, 3, "GET", "/acme/x", &m, &known, NULL, 0);
	assert_ptr_equal(r, &lead[1]);
	assert_param(&m, 0, "tenant", "acme");
	r = nd_route_find(lead, 3, "GET", "/v1/x", &m, &known, NULL, 0);
	assert_ptr_equal(r, &lead[1]);
	assert_param(&m, 0, "tenant", "v1");
	r = nd_route_find(lead, 3, "GET", "/{x", &m, &known, NULL, 0);
	assert_ptr_equal(r, &lead[2]);
	assert_int_equal(m.nparams, 0);
	assert_false(nd_route_path_match("/{x", "/ab", &m));
	for (size_t i = 0; i < 3; i++) {
		const char *odd[] = {"", "v1/y", "*"};
		known = true;
		assert_null(nd_route_find(lead, 3, "GET", odd[i], &m, &known, NULL, 0));
		assert_false(known);
	}
}

static void test_find_allow_small(void **state)
{
	(void)state;
	struct nd_route_match m;
	bool known = false;
	/* "GET, DELETE" needs 12 bytes; with 8 only what fits is listed. */
	struct {
		char allow[8];
		char guard[8];
	} b;
	memset(&b, 'g', sizeof b);
	const struct nd_route *r = nd_route_find(routes, NROUTES, "PUT", "/v1/targets/u1", &m,
						 &known, b.allow, sizeof b.allow);
	assert_null(r);
	assert_true(known);
	assert_string_equal(b.allow, "GET");
	for (size_t i = 0; i < sizeof b.guard; i++)
		assert_int_equal(b.guard[i], 'g');
	/* a buffer of no length is left alone */
	memcpy(b.allow, "keep", 5);
	r = nd_route_find(routes, NROUTES, "PUT", "/v1/targets/u1", &m, &known, b.allow, 0);
	assert_null(r);
	assert_true(known);
	assert_string_equal(b.allow, "keep");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_literals),         cmocka_unit_test(test_trailing_slash),
	    cmocka_unit_test(test_placeholders),     cmocka_unit_test(test_encoded_slash),
	    cmocka_unit_test(test_max_params),       cmocka_unit_test(test_find),
	    cmocka_unit_test(test_find_405),         cmocka_unit_test(test_find_404),
	    cmocka_unit_test(test_find_allow_small),
	    cmocka_unit_test(test_find_first_byte),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
