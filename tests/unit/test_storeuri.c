/* test_storeuri.c - choosing a backend from the database setting, and
 * keeping passwords out of logs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "store/store.h"

static void test_is_postgres(void **state)
{
	assert_true(nd_store_is_postgres("postgres://u@h/db"));
	assert_true(nd_store_is_postgres("postgresql://h/db"));
	assert_true(nd_store_is_postgres("host=/tmp/x dbname=n"));
	assert_true(nd_store_is_postgres("  dbname=n"));
	assert_true(nd_store_is_postgres("service=notifd"));
	assert_false(nd_store_is_postgres("var/notifd.db"));
	assert_false(nd_store_is_postgres("/data/a=b.db"));
	assert_false(nd_store_is_postgres("postgres.db"));
	assert_false(nd_store_is_postgres("mysql://h/db"));
	assert_false(nd_store_is_postgres(""));
	/* Any keyword string, not only the common keywords: a password must
	 * never end up as a file name. */
	assert_true(nd_store_is_postgres("channel_binding=disable host=h password=pw"));
	assert_true(nd_store_is_postgres("sslcert = /x host=h"));
	assert_false(nd_store_is_postgres("data/notifd.db"));
	/* A file whose name starts like a keyword is written as a path. */
	assert_true(nd_store_is_postgres("notifd=1.db"));
	assert_false(nd_store_is_postgres("./notifd=1.db"));
}

static void redacts(const char *in, const char *want)
{
	char out[256];
	nd_store_redact(in, out, sizeof out);
	assert_string_equal(out, want);
}

static void test_redact(void **state)
{
	redacts("var/notifd.db", "var/notifd.db");
	redacts("/tmp/password=x.db", "/tmp/password=x.db"); /* a path, not a conninfo */
	redacts("postgres://notifd:s3cret@db.example/notifd", "postgres://notifd:***@db.example/notifd");
	redacts("postgresql://notifd:a@h:5432/n?sslmode=require",
		"postgresql://notifd:***@h:5432/n?sslmode=require");
	redacts("postgres://notifd@h/n", "postgres://notifd@h/n");
	redacts("postgres://h/n?password=abc&sslmode=require",
		"postgres://h/n?password=***&sslmode=require");
	redacts("host=h password=abc dbname=n", "host=h password=*** dbname=n");
	redacts("host=h password='a b c' dbname=n", "host=h password=*** dbname=n");
	redacts("host=h password=x", "host=h password=***");
	redacts("host=h password='unterminated", "host=h password=***");
	/* libpq also takes escaped quotes and spaces around '=' */
	redacts("host=db password='it\\'s3cret' dbname=n", "host=db password=*** dbname=n");
	redacts("host=db password = s3cret dbname=n", "host=db password = *** dbname=n");
	redacts("postgres://notifd:s3cret@/notifd?host=/run/pg", "postgres://notifd:***@/notifd?host=/run/pg");
	redacts("postgresql://db/n?user=u&password=s3cret", "postgresql://db/n?user=u&password=***");
	redacts("postgresql://db/n?password=s3cret#frag", "postgresql://db/n?password=***#frag");
	redacts("postgres://u:p/ss@h/db", "postgres://u:***@h/db");
	redacts("postgres://u:p@ss@h/db", "postgres://u:***@h/db");
	redacts("postgres://h/db?%70assword=secret&x=1", "postgres://h/db?%70assword=***&x=1");
	redacts("postgres://h/db?PASSWORD=secret", "postgres://h/db?PASSWORD=***");
	redacts("postgres://h/db?passwordx=1", "postgres://h/db?passwordx=1");
	/* a key longer than any escaping of "password", and words that are no
	 * keyword string after the first pair: kept as they are */
	redacts("postgres://h/db?%70%61%73%73%77%6f%72%64%20=x",
		"postgres://h/db?%70%61%73%73%77%6f%72%64%20=x");
	redacts("host=h sslmode", "host=h sslmode");
	redacts("host=h password=pw and more", "host=h password=*** and more");
	redacts("sslcert=/x host=h password=hunter2", "sslcert=/x host=h password=***");
	/* keywords and query keys of eight letters that are not "password", a
	 * query key without a value, and a quoted value that ends in an escape */
	redacts("hostaddr=10.0.0.1 password=pw", "hostaddr=10.0.0.1 password=***");
	redacts("postgres://h/db?hostaddr=10.0.0.1&sslmode&password=pw",
		"postgres://h/db?hostaddr=10.0.0.1&sslmode&password=***");
	redacts("host=h password='ends in \\", "host=h password=***");
}

/* A buffer too short for the redacted text truncates it, never overruns,
 * and never shows a piece of the password: not even when it ends where the
 * password stood in the input. */
static void test_redact_truncated(void **state)
{
	static const struct {
		const char *in, *password;
	} cases[] = {
		{"host=h password=Xq7Zk9wR dbname=n", "Xq7Zk9wR"},
		{"host=h password='Xq7 Zk9wR'", "Xq7 Zk9wR"},
		{"postgres://notifd:Xq7Zk9wR@db.example/n", "Xq7Zk9wR"},
		{"postgresql://db/n?user=u&password=Xq7Zk9wR&sslmode=require", "Xq7Zk9wR"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *in = cases[i].in, *pw = cases[i].password;
		char full[256];
		nd_store_redact(in, full, sizeof full);
		size_t full_len = strlen(full);
		assert_null(strstr(full, pw));
		assert_non_null(strstr(in, pw));
		size_t pw_len = strlen(pw);
		/* Every size up to the whole input: among them each one that
		 * ends inside the password's place in the input, and each one
		 * that ends inside the "***" replacing it. */
		for (size_t n = 1; n <= strlen(in) + 1; n++) {
			char out[256 + 8];
			memset(out, 'Z', sizeof out);
			nd_store_redact(in, out, n);
			size_t want = full_len < n - 1 ? full_len : n - 1;
			assert_int_equal(strlen(out), want);
			assert_memory_equal(out, full, want);
			assert_int_equal(out[n], 'Z'); /* nothing written past n bytes */
			for (size_t k = 2; k <= pw_len; k++) {
				char piece[64];
				memcpy(piece, pw, k);
				piece[k] = '\0';
				if (strstr(out, piece))
					fail_msg("redact(\"%s\", %zu) = \"%s\" shows \"%s\"", in, n, out,
						 piece);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_postgres),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_redact_truncated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
