/* test_keys.c - unit tests for src/core/keys.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/keys.h"

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

static void test_generate_format(void **state)
{
	(void)state;
	char k[ND_KEY_GEN_LEN + 1];
	memset(k, '#', sizeof k);
	nd_key_generate(k);
	assert_int_equal(ND_KEY_GEN_LEN, 4 + 43);
	assert_int_equal(strlen(k), ND_KEY_GEN_LEN);
	assert_memory_equal(k, "ndk_", 4);
	assert_int_equal(strspn(k + 4, B64URL), 43);
	/* 256 bits in 43 characters: the last one carries 4 bits, low 2 zero. */
	assert_non_null(strchr("AEIMQUYcgkosw048", k[46]));
	assert_true(nd_key_acceptable(k));
}

static void test_generate_unique(void **state)
{
	(void)state;
	enum { N = 200 };
	static char keys[N][ND_KEY_GEN_LEN + 1];
	for (int i = 0; i < N; i++) {
		nd_key_generate(keys[i]);
		assert_int_equal(strlen(keys[i]), ND_KEY_GEN_LEN);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(keys[i], keys[j]);
	}
}

static void test_hash(void **state)
{
	(void)state;
	unsigned char h1[ND_KEY_HASH_LEN], h2[ND_KEY_HASH_LEN], h3[ND_KEY_HASH_LEN];
	unsigned char zero[ND_KEY_HASH_LEN] = {0};
	const char *k = "ndk_example_key_0123456789";
	nd_key_hash(k, strlen(k), h1);
	nd_key_hash(k, strlen(k), h2);
	assert_memory_equal(h1, h2, ND_KEY_HASH_LEN);
	assert_memory_not_equal(h1, zero, ND_KEY_HASH_LEN);

	const char *k2 = "ndk_example_key_0123456788";
	nd_key_hash(k2, strlen(k2), h3);
	assert_memory_not_equal(h1, h3, ND_KEY_HASH_LEN);

	/* Only @len bytes count. */
	nd_key_hash("abcdef", 3, h2);
	nd_key_hash("abc", 3, h3);
	assert_memory_equal(h2, h3, ND_KEY_HASH_LEN);
	nd_key_hash("abcd", 4, h3);
	assert_memory_not_equal(h2, h3, ND_KEY_HASH_LEN);

	/* Many generated keys, many distinct hashes. */
	unsigned char prev[ND_KEY_HASH_LEN] = {0};
	for (int i = 0; i < 100; i++) {
		char g[ND_KEY_GEN_LEN + 1];
		unsigned char h[ND_KEY_HASH_LEN];
		nd_key_generate(g);
		nd_key_hash(g, strlen(g), h);
		assert_memory_not_equal(h, prev, ND_KEY_HASH_LEN);
		memcpy(prev, h, sizeof h);
	}
}

static void test_key_id(void **state)
{
	(void)state;
	unsigned char h[ND_KEY_HASH_LEN];
	for (int i = 0; i < ND_KEY_HASH_LEN; i++)
		h[i] = (unsigned char)(0xA0 + i * 7);
	char id[ND_KEY_ID_LEN + 1];
	memset(id, '#', sizeof id);
	nd_key_id(h, id);
	assert_string_equal(id, "a0a7aeb5bcc3cad1");

	const char *k = "some-operator-key-0001";
	nd_key_hash(k, strlen(k), h);
	nd_key_id(h, id);
	assert_int_equal(strlen(id), ND_KEY_ID_LEN);
	assert_int_equal(strspn(id, "0123456789abcdef"), ND_KEY_ID_LEN);
	char want[ND_KEY_ID_LEN + 1];
	for (int i = 0; i < ND_KEY_ID_LEN / 2; i++)
		snprintf(want + 2 * i, 3, "%02x", h[i]);
	assert_string_equal(id, want);

	/* Derivable again from the same key. */
	unsigned char h2[ND_KEY_HASH_LEN];
	char id2[ND_KEY_ID_LEN + 1];
	nd_key_hash(k, strlen(k), h2);
	nd_key_id(h2, id2);
	assert_string_equal(id, id2);
}

/* @n visible characters that look random (a fixed LCG), then a NUL. */
static void strong_chars(char *out, size_t n)
{
	uint32_t x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		out[i] = (char)(0x21 + (x >> 16) % 94);
	}
	out[n] = '\0';
}

static void test_acceptable(void **state)
{
	(void)state;
	char k[ND_KEY_MAX + 2];
	strong_chars(k, 15);
	assert_false(nd_key_acceptable(k));
	strong_chars(k, 16);
	assert_true(nd_key_acceptable(k));
	strong_chars(k, 256);
	assert_true(nd_key_acceptable(k));
	strong_chars(k, 257);
	assert_false(nd_key_acceptable(k));

	assert_false(nd_key_acceptable(""));
	assert_true(nd_key_acceptable("7f!Qz0#kP2$wLx9&"));
	assert_false(nd_key_acceptable("0123456789 abcdef"));
	assert_false(nd_key_acceptable(" Xq93kfJ1pzR0vb7T"));
	assert_false(nd_key_acceptable("Xq93kfJ1pzR0vb7T "));
	assert_false(nd_key_acceptable("Xq93kfJ1\tpzR0vb7T"));
	assert_false(nd_key_acceptable("Xq93kfJ1\npzR0vb7T"));
	assert_false(nd_key_acceptable("Xq93kfJ1\x7f"
				       "pzR0vb7T"));
	assert_false(nd_key_acceptable("Xq93kfJ1pzR0vb7\xc3\xa9"));
}

/* Guessable keys are refused however long; random ones and passphrases
 * pass. The estimate is pessimistic on purpose (keys.h). */
static void test_strength(void **state)
{
	(void)state;
	static const char *weak[] = {
	    "aaaaaaaaaaaaaaaa", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
	    "0123456789abcdef", "abcdefghijklmnopqrstuvwxyz", "9876543210zyxwvu",
	    "ab12ab12ab12ab12", "passwordpassword", "Password12345678",
	    "!\"#$%&'()*+,-./0123~", "adminadminadminadminadmin",
	};
	for (size_t i = 0; i < sizeof weak / sizeof *weak; i++) {
		if (nd_key_acceptable(weak[i]))
			fail_msg("\"%s\" accepted (%.1f bits)", weak[i],
				 nd_key_strength_bits(weak[i]));
	}
	static const char *strong[] = {
	    "correcthorsebatterystaple", "my-notifd-admin-key-2024",
	    "e2e_admin_6b3f0c2a9d4e8f17a5c3b2d1e0f9a8b7c6d5e4f3a2b1c0d9",
	    "bench-admin-key-0123456789abcdef",
	};
	for (size_t i = 0; i < sizeof strong / sizeof *strong; i++) {
		if (!nd_key_acceptable(strong[i]))
			fail_msg("\"%s\" refused (%.1f bits)", strong[i],
				 nd_key_strength_bits(strong[i]));
	}
	/* nothing earns nothing; bytes beyond ASCII earn nothing either */
	assert_true(nd_key_strength_bits("") == 0);
	assert_true(nd_key_strength_bits("\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91") == 0);
	/* every generated key is far above the bar */
	for (int i = 0; i < 100; i++) {
		char g[ND_KEY_GEN_LEN + 1];
		nd_key_generate(g);
		assert_true(nd_key_strength_bits(g) >= 2 * ND_KEY_MIN_BITS);
	}
}

static void test_roles(void **state)
{
	(void)state;
	enum nd_role r = ND_ROLE_MEMBER;
	assert_string_equal(nd_role_name(ND_ROLE_ADMIN), "admin");
	assert_string_equal(nd_role_name(ND_ROLE_MEMBER), "member");
	assert_true(nd_role_parse("admin", &r));
	assert_int_equal(r, ND_ROLE_ADMIN);
	assert_true(nd_role_parse("member", &r));
	assert_int_equal(r, ND_ROLE_MEMBER);
	r = ND_ROLE_ADMIN;
	assert_false(nd_role_parse("Admin", &r));
	assert_false(nd_role_parse("ADMIN", &r));
	assert_false(nd_role_parse("", &r));
	assert_false(nd_role_parse("admin ", &r));
	assert_false(nd_role_parse("members", &r));
	assert_false(nd_role_parse("root", &r));
	assert_int_equal(r, ND_ROLE_ADMIN);
	/* name and parse agree */
	assert_true(nd_role_parse(nd_role_name(ND_ROLE_MEMBER), &r));
	assert_int_equal(r, ND_ROLE_MEMBER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_generate_format),
	    cmocka_unit_test(test_generate_unique),
	    cmocka_unit_test(test_hash),
	    cmocka_unit_test(test_key_id),
	    cmocka_unit_test(test_acceptable),
	    cmocka_unit_test(test_strength),
	    cmocka_unit_test(test_roles),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
