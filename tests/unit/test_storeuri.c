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
	redacts("sslcert=/x host=h password=hunter2", "sslcert=/x host=h password=***");
	/* A short buffer truncates, never overruns. */
	char small[8];
	nd_store_redact("host=h password=abcdef", small, sizeof small);
	assert_int_equal(strlen(small), sizeof small - 1);
	assert_null(strstr(small, "abc"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_postgres),
		cmocka_unit_test(test_redact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
