/* test_addr.c - a peer's address as 16 bytes (nd_http_addr16 in
 * src/http/conns.c): what the per-address connection limit and the
 * wrong-key throttle count by. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>
#include <sys/un.h>

#include "http/internal.h"

static void test_addr16(void **state)
{
	(void)state;
	unsigned char out[16];
	static const unsigned char mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0,
						 0, 0, 0xff, 0xff, 192, 0, 2, 7};
	struct sockaddr_in v4 = {.sin_family = AF_INET};
	assert_int_equal(inet_pton(AF_INET, "192.0.2.7", &v4.sin_addr), 1);
	assert_true(nd_http_addr16((const struct sockaddr *)&v4, out));
	assert_memory_equal(out, mapped, 16);
	struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", &v6.sin6_addr), 1);
	assert_true(nd_http_addr16((const struct sockaddr *)&v6, out));
	assert_memory_equal(out, &v6.sin6_addr, 16);
	/* an IPv4 peer and its IPv6-mapped form are one peer */
	assert_int_equal(inet_pton(AF_INET6, "::ffff:192.0.2.7", &v6.sin6_addr), 1);
	assert_true(nd_http_addr16((const struct sockaddr *)&v6, out));
	assert_memory_equal(out, mapped, 16);
	/* anything else is no peer to count by: false, and all zero */
	static const unsigned char zero[16];
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	memset(out, 0xaa, sizeof out);
	assert_false(nd_http_addr16((const struct sockaddr *)&un, out));
	assert_memory_equal(out, zero, 16);
	memset(out, 0xaa, sizeof out);
	assert_false(nd_http_addr16(NULL, out));
	assert_memory_equal(out, zero, 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr16),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
