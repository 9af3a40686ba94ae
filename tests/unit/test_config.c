/* test_config.c - unit tests for src/core/config.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"

static char tmpdir[] = "/tmp/nd_test_config_XXXXXX";

static int group_setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *const env_names[] = {
    "NOTIFD_LISTEN",       "NOTIFD_DB",       "NOTIFD_CONFIG",      "NOTIFD_ADMIN_KEY",
    "NOTIFD_THREADS",      "NOTIFD_MAX_BODY", "NOTIFD_SYNCHRONOUS", "NOTIFD_CONNECTION_LIMIT",
    "NOTIFD_PER_IP_LIMIT", "NOTIFD_TIMEOUT",
};

static void clear_env(void)
{
	for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++)
		unsetenv(env_names[i]);
}

static int test_setup(void **state)
{
	(void)state;
	clear_env();
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_defaults(void **state)
{
	(void)state;
	struct nd_config c;
	memset(&c, 0x5A, sizeof c);
	nd_config_init(&c);
	assert_string_equal(c.listen, "127.0.0.1:8080");
	assert_string_equal(c.db, "var/notifd.db");
	assert_null(c.config);
	assert_null(c.admin_key);
	assert_int_equal(c.threads, 0);
	assert_int_equal(c.max_body, 1048576);
	assert_true(c.sync_full);
	assert_int_equal(c.mmap_size, 1073741824);
	assert_int_equal(c.connection_limit, 1024);
	assert_int_equal(c.per_ip_limit, 256);
	assert_int_equal(c.timeout, 60);
	nd_config_release(&c);
	assert_null(c.listen);
	assert_null(c.db);
}

static void test_settings_table(void **state)
{
	(void)state;
	static const char *const want[] = {
	    "listen",	    "db",	    "config",	     "admin_key",     "admin_key_file",
	    "threads",	    "max_body",	    "body_memory",   "synchronous",   "mmap_size",
	    "connection_limit", "per_ip_limit", "timeout", "head_timeout", "min_body_rate",
	    "rate_limit",   "rate_burst",   "auth_failures"};
	size_t n = 0;
	for (const struct nd_setting *s = nd_settings; s->name; s++, n++) {
		assert_true(n < sizeof want / sizeof want[0]);
		assert_string_equal(s->name, want[n]);
		assert_non_null(s->help);
		assert_true(strlen(s->help) > 0);
	}
	assert_int_equal(n, sizeof want / sizeof want[0]);
}

static void set_ok(struct nd_config *c, const char *name, const char *value)
{
	struct nd_error err = {0};
	enum nd_err e = nd_config_set(c, name, value, &err);
	if (e != ND_OK)
		fail_msg("%s = \"%s\" rejected: %s", name, value, err.detail);
}

static void set_bad(struct nd_config *c, const char *name, const char *value)
{
	struct nd_error err = {0};
	enum nd_err e = nd_config_set(c, name, value, &err);
	if (e == ND_OK)
		fail_msg("%s = \"%s\" accepted", name, value);
	assert_int_equal(e, ND_ERR_INVALID_PARAM);
	assert_int_equal(err.code, ND_ERR_INVALID_PARAM);
	assert_string_equal(err.field, name);
	assert_true(strlen(err.detail) > 0);
}

static void test_set_listen_db_strings(void **state)
{
	(void)state;
	struct nd_config c;
	nd_config_init(&c);
	set_ok(&c, "listen", "0.0.0.0:9000");
	assert_string_equal(c.listen, "0.0.0.0:9000");
	set_ok(&c, "listen", "[::1]:0");
	assert_string_equal(c.listen, "[::1]:0");
	set_bad(&c, "listen", "nonsense");
	set_bad(&c, "listen", "");
	assert_string_equal(c.listen, "[::1]:0"); /* unchanged by a bad value */
	struct nd_error err;
	nd_config_set(&c, "listen", "nonsense", &err);
	assert_non_null(strstr(err.detail, "nonsense"));

	set_ok(&c, "db", "/tmp/x.db");
	assert_string_equal(c.db, "/tmp/x.db");
	set_bad(&c, "db", "");
	assert_string_equal(c.db, "/tmp/x.db");

	set_ok(&c, "admin_key", "0123456789abcdef");
	assert_string_equal(c.admin_key, "0123456789abcdef");
	set_ok(&c, "admin_key", "fedcba9876543210");
	assert_string_equal(c.admin_key, "fedcba9876543210");
	set_ok(&c, "config", "/etc/notifd.conf");
	assert_string_equal(c.config, "/etc/notifd.conf");
	nd_config_release(&c);
}

static void test_set_numbers(void **state)
{
	(void)state;
	struct nd_config c;
	nd_config_init(&c);

	set_ok(&c, "threads", "0");
	assert_int_equal(c.threads, 0);
	set_ok(&c, "threads", "256");
	assert_int_equal(c.threads, 256);
	set_ok(&c, "threads", "4");
	assert_int_equal(c.threads, 4);
	set_bad(&c, "threads", "257");
	set_bad(&c, "threads", "-1");
	set_bad(&c, "threads", "");
	set_bad(&c, "threads", "four");
	set_bad(&c, "threads", "4 ");
	set_bad(&c, "threads", " 4");
	set_bad(&c, "threads", "+4");
	set_bad(&c, "threads", "4.0");
	set_bad(&c, "threads", "99999999999999999999999");
	assert_int_equal(c.threads, 4);

	/* Small caps are allowed (the e2e suite runs with 100 and 1000). */
	set_ok(&c, "max_body", "1");
	assert_int_equal(c.max_body, 1);
	set_ok(&c, "max_body", "1000");
	assert_int_equal(c.max_body, 1000);
	set_ok(&c, "max_body", "65536");
	assert_int_equal(c.max_body, 65536);
	set_ok(&c, "max_body", "1073741824");
	assert_int_equal(c.max_body, 1073741824);
	set_bad(&c, "max_body", "0");
	set_bad(&c, "max_body", "1073741825");
	set_bad(&c, "max_body", "18446744073709551616");
	set_bad(&c, "max_body", "1k");
	set_bad(&c, "max_body", "-1");
	set_bad(&c, "max_body", "");
	assert_int_equal(c.max_body, 1073741824);

	set_ok(&c, "mmap_size", "0");
	assert_int_equal(c.mmap_size, 0);
	set_ok(&c, "mmap_size", "1099511627776");
	assert_int_equal(c.mmap_size, 1099511627776ull);
	set_bad(&c, "mmap_size", "1099511627777");
	set_bad(&c, "mmap_size", "1G");

	set_ok(&c, "connection_limit", "1");
	assert_int_equal(c.connection_limit, 1);
	set_ok(&c, "connection_limit", "1000000");
	assert_int_equal(c.connection_limit, 1000000);
	set_bad(&c, "connection_limit", "0");
	set_bad(&c, "connection_limit", "1000001");

	set_ok(&c, "per_ip_limit", "0");
	assert_int_equal(c.per_ip_limit, 0);
	set_ok(&c, "per_ip_limit", "1000000");
	assert_int_equal(c.per_ip_limit, 1000000);
	set_bad(&c, "per_ip_limit", "1000001");
	set_bad(&c, "per_ip_limit", "-5");

	set_ok(&c, "timeout", "1");
	assert_int_equal(c.timeout, 1);
	set_ok(&c, "timeout", "86400");
	assert_int_equal(c.timeout, 86400);
	set_bad(&c, "timeout", "0");
	set_bad(&c, "timeout", "86401");
	set_bad(&c, "timeout", "60s");
	assert_int_equal(c.timeout, 86400);
	nd_config_release(&c);
}

static void test_set_synchronous_and_unknown(void **state)
{
	(void)state;
	struct nd_config c;
	nd_config_init(&c);
	set_ok(&c, "synchronous", "normal");
	assert_false(c.sync_full);
	set_ok(&c, "synchronous", "full");
	assert_true(c.sync_full);
	set_ok(&c, "synchronous", "normal");
	set_bad(&c, "synchronous", "maybe");
	set_bad(&c, "synchronous", "FULL");
	set_bad(&c, "synchronous", "");
	assert_false(c.sync_full);

	set_bad(&c, "bogus", "1");
	set_bad(&c, "Threads", "1");
	set_bad(&c, "admin-key", "x");
	struct nd_error err;
	nd_config_set(&c, "bogus", "1", &err);
	assert_non_null(strstr(err.detail, "bogus"));
	nd_config_release(&c);
}

static void test_load_file(void **state)
{
	(void)state;
	char path[256];
	snprintf(path, sizeof path, "%s/good.conf", tmpdir);
	write_file(path, "# notifd settings\n"
			 "\n"
			 "listen = 0.0.0.0:9999\n"
			 "   threads=8   \n"
			 "\t\n"
			 "max_body = 2048 # trailing comment\n"
			 "synchronous = normal\n"
			 "db = /var/lib/notifd/db.sqlite\n"
			 "   # indented comment\n"
			 "per_ip_limit = 5\r\n" /* CRLF */
			 "timeout = 30");       /* no final newline */
	struct nd_config c;
	nd_config_init(&c);
	struct nd_error err = {0};
	assert_int_equal(nd_config_load_file(&c, path, &err), ND_OK);
	assert_string_equal(c.listen, "0.0.0.0:9999");
	assert_int_equal(c.threads, 8);
	assert_int_equal(c.max_body, 2048);
	assert_false(c.sync_full);
	assert_string_equal(c.db, "/var/lib/notifd/db.sqlite");
	assert_int_equal(c.timeout, 30);
	assert_int_equal(c.per_ip_limit, 5);
	assert_int_equal(c.connection_limit, 1024); /* untouched */
	nd_config_release(&c);
}

static void test_load_file_long_comment(void **state)
{
	(void)state;
	/* A comment line is ignored whatever its length. */
	char path[256];
	snprintf(path, sizeof path, "%s/longcomment.conf", tmpdir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("# ", fp);
	for (int i = 0; i < 10000; i++)
		fputc('x', fp);
	fputs("\nthreads = 2\n", fp);
	fclose(fp);
	struct nd_config c;
	nd_config_init(&c);
	struct nd_error err = {0};
	enum nd_err e = nd_config_load_file(&c, path, &err);
	if (e != ND_OK)
		fail_msg("long comment line rejected: %s", err.detail);
	assert_int_equal(c.threads, 2);
	nd_config_release(&c);
}

static void test_load_file_empty(void **state)
{
	(void)state;
	char path[256];
	snprintf(path, sizeof path, "%s/empty.conf", tmpdir);
	write_file(path, "");
	struct nd_config c;
	nd_config_init(&c);
	struct nd_error err = {0};
	assert_int_equal(nd_config_load_file(&c, path, &err), ND_OK);
	assert_string_equal(c.listen, "127.0.0.1:8080");
	nd_config_release(&c);
}

static void test_load_file_errors(void **state)
{
	(void)state;
	char path[256];
	struct nd_config c;
	struct nd_error err;
	nd_config_init(&c);

	/* A line without '=' */
	snprintf(path, sizeof path, "%s/noeq.conf", tmpdir);
	write_file(path, "# ok\nthreads = 2\n\njust some words\nthreads = 3\n");
	memset(&err, 0, sizeof err);
	assert_int_equal(nd_config_load_file(&c, path, &err), ND_ERR_INVALID_PARAM);
	assert_non_null(strstr(err.detail, path));
	assert_non_null(strstr(err.detail, ":4"));
	assert_int_equal(c.threads, 2); /* stopped at the bad line */

	/* A bad value */
	snprintf(path, sizeof path, "%s/badval.conf", tmpdir);
	write_file(path, "listen = 1.2.3.4:5\n# comment\nthreads = 257\n");
	memset(&err, 0, sizeof err);
	assert_int_equal(nd_config_load_file(&c, path, &err), ND_ERR_INVALID_PARAM);
	assert_non_null(strstr(err.detail, path));
	assert_non_null(strstr(err.detail, ":3"));
	assert_non_null(strstr(err.detail, "threads"));

	/* An unknown setting */
	snprintf(path, sizeof path, "%s/unknown.conf", tmpdir);
	write_file(path, "colour = blue\n");
	memset(&err, 0, sizeof err);
	assert_int_equal(nd_config_load_file(&c, path, &err), ND_ERR_INVALID_PARAM);
	assert_non_null(strstr(err.detail, path));
	assert_non_null(strstr(err.detail, ":1"));
	assert_non_null(strstr(err.detail, "colour"));

	/* A config file naming another */
	snprintf(path, sizeof path, "%s/nested.conf", tmpdir);
	write_file(path, "threads = 1\nconfig = /etc/other.conf\n");
	memset(&err, 0, sizeof err);
	assert_int_equal(nd_config_load_file(&c, path, &err), ND_ERR_INVALID_PARAM);
	assert_non_null(strstr(err.detail, ":2"));

	/* A missing file */
	snprintf(path, sizeof path, "%s/does-not-exist.conf", tmpdir);
	memset(&err, 0, sizeof err);
	assert_int_equal(nd_config_load_file(&c, path, &err), ND_ERR_INVALID_PARAM);
	assert_non_null(strstr(err.detail, path));
	nd_config_release(&c);
}

static void test_load_env(void **state)
{
	(void)state;
	struct nd_config c;
	struct nd_error err = {0};
	nd_config_init(&c);
	assert_int_equal(nd_config_load_env(&c, &err), ND_OK); /* nothing set */
	assert_string_equal(c.listen, "127.0.0.1:8080");

	setenv("NOTIFD_LISTEN", "127.0.0.1:0", 1);
	setenv("NOTIFD_THREADS", "3", 1);
	setenv("NOTIFD_ADMIN_KEY", "env-admin-key-0123", 1);
	setenv("NOTIFD_SYNCHRONOUS", "normal", 1);
	setenv("NOTIFD_MAX_BODY", "4096", 1);
	setenv("NOTIFD_PER_IP_LIMIT", "7", 1);
	setenv("NOTIFD_CONNECTION_LIMIT", "9", 1);
	setenv("NOTIFD_TIMEOUT", "11", 1);
	setenv("NOTIFD_DB", "/tmp/env.db", 1);
	setenv("notifd_threads", "99", 1); /* lower case: not ours */
	assert_int_equal(nd_config_load_env(&c, &err), ND_OK);
	unsetenv("notifd_threads");
	assert_string_equal(c.listen, "127.0.0.1:0");
	assert_int_equal(c.threads, 3);
	assert_string_equal(c.admin_key, "env-admin-key-0123");
	assert_false(c.sync_full);
	assert_int_equal(c.max_body, 4096);
	assert_int_equal(c.per_ip_limit, 7);
	assert_int_equal(c.connection_limit, 9);
	assert_int_equal(c.timeout, 11);
	assert_string_equal(c.db, "/tmp/env.db");

	setenv("NOTIFD_THREADS", "257", 1);
	memset(&err, 0, sizeof err);
	assert_int_equal(nd_config_load_env(&c, &err), ND_ERR_INVALID_PARAM);
	assert_non_null(strstr(err.detail, "NOTIFD_THREADS"));
	assert_string_equal(err.field, "threads");
	clear_env();

	setenv("NOTIFD_SYNCHRONOUS", "maybe", 1);
	memset(&err, 0, sizeof err);
	assert_int_equal(nd_config_load_env(&c, &err), ND_ERR_INVALID_PARAM);
	assert_non_null(strstr(err.detail, "NOTIFD_SYNCHRONOUS"));
	clear_env();
	nd_config_release(&c);
}

/* A NUL byte in a line is refused: it would cut a value short unseen. */
static void test_load_file_nul(void **state)
{
	(void)state;
	char path[256];
	snprintf(path, sizeof path, "%s/nul.conf", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	static const char text[] = "threads = 2\nadmin_key = Xq93kfJ1pz\0R0vb7T\n";
	assert_int_equal(fwrite(text, 1, sizeof text - 1, f), sizeof text - 1);
	fclose(f);
	struct nd_config c;
	nd_config_init(&c);
	struct nd_error err = {0};
	assert_int_equal(nd_config_load_file(&c, path, &err), ND_ERR_INVALID_PARAM);
	assert_non_null(strstr(err.detail, ":2: a NUL byte"));
	assert_null(c.admin_key);
	nd_config_release(&c);
}

/* --admin-key-file: the first line is the key; a file every user may read,
 * a missing one, an empty one or an over-long key is refused. */
static void test_admin_key_file(void **state)
{
	(void)state;
	struct nd_config c;
	nd_config_init(&c);
	char path[256];
	snprintf(path, sizeof path, "%s/admin.key", tmpdir);
	write_file(path, "Xq93kfJ1pzR0vb7T\n");
	assert_int_equal(chmod(path, 0600), 0);
	set_ok(&c, "admin_key_file", path);
	assert_string_equal(c.admin_key, "Xq93kfJ1pzR0vb7T");
	write_file(path, "Zq93kfJ1pzR0vb7T\r\nsecond line ignored\n");
	assert_int_equal(chmod(path, 0640), 0);
	set_ok(&c, "admin_key_file", path);
	assert_string_equal(c.admin_key, "Zq93kfJ1pzR0vb7T");
	write_file(path, "Wq93kfJ1pzR0vb7T"); /* no line end, as printf %s writes it */
	set_ok(&c, "admin_key_file", path);
	assert_string_equal(c.admin_key, "Wq93kfJ1pzR0vb7T");

	struct nd_error err = {0};
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(nd_config_set(&c, "admin_key_file", path, &err), ND_ERR_INVALID_PARAM);
	assert_non_null(strstr(err.detail, "readable by every user"));
	assert_string_equal(err.field, "admin_key_file");
	assert_string_equal(c.admin_key, "Wq93kfJ1pzR0vb7T");
	write_file(path, "");
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(nd_config_set(&c, "admin_key_file", path, &err), ND_ERR_INVALID_PARAM);
	assert_non_null(strstr(err.detail, "empty"));
	char big[400];
	memset(big, 'k', sizeof big - 2);
	big[sizeof big - 2] = '\n';
	big[sizeof big - 1] = '\0';
	write_file(path, big);
	assert_int_equal(nd_config_set(&c, "admin_key_file", path, &err), ND_ERR_INVALID_PARAM);
	assert_non_null(strstr(err.detail, "longer than"));
	snprintf(path, sizeof path, "%s/none.key", tmpdir);
	assert_int_equal(nd_config_set(&c, "admin_key_file", path, &err), ND_ERR_INVALID_PARAM);
	assert_non_null(strstr(err.detail, "cannot read"));
	assert_int_equal(nd_config_set(&c, "admin_key_file", tmpdir, &err), ND_ERR_INVALID_PARAM);
	nd_config_release(&c);
}

static void test_flag_name(void **state)
{
	(void)state;
	char buf[64];
	const char *n = nd_config_flag_name("--admin-key", buf, sizeof buf);
	assert_non_null(n);
	assert_string_equal(n, "admin_key");
	assert_string_equal(nd_config_flag_name("--listen", buf, sizeof buf), "listen");
	assert_string_equal(nd_config_flag_name("--max-body", buf, sizeof buf), "max_body");
	assert_string_equal(nd_config_flag_name("--per-ip-limit", buf, sizeof buf), "per_ip_limit");
	assert_string_equal(nd_config_flag_name("--connection-limit", buf, sizeof buf),
			    "connection_limit");
	assert_string_equal(nd_config_flag_name("--threads=4", buf, sizeof buf), "threads");
	/* Every setting has a flag. */
	for (const struct nd_setting *s = nd_settings; s->name; s++) {
		char flag[80] = "--";
		size_t i = 2;
		for (const char *p = s->name; *p; p++)
			flag[i++] = *p == '_' ? '-' : *p;
		flag[i] = '\0';
		const char *got = nd_config_flag_name(flag, buf, sizeof buf);
		assert_non_null(got);
		assert_string_equal(got, s->name);
	}
	assert_null(nd_config_flag_name("--bogus", buf, sizeof buf));
	assert_null(nd_config_flag_name("--", buf, sizeof buf));
	assert_null(nd_config_flag_name("-listen", buf, sizeof buf));
	assert_null(nd_config_flag_name("listen", buf, sizeof buf));
	assert_null(nd_config_flag_name("", buf, sizeof buf));
	assert_null(nd_config_flag_name("--admin-keys", buf, sizeof buf));
	assert_null(nd_config_flag_name("--Admin-Key", buf, sizeof buf));
	/* A buffer too small to hold the name is not overrun. */
	char small[5];
	memset(small, 'z', sizeof small);
	assert_null(nd_config_flag_name("--admin-key", small, sizeof small));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_defaults, test_setup),
	    cmocka_unit_test_setup(test_settings_table, test_setup),
	    cmocka_unit_test_setup(test_set_listen_db_strings, test_setup),
	    cmocka_unit_test_setup(test_set_numbers, test_setup),
	    cmocka_unit_test_setup(test_set_synchronous_and_unknown, test_setup),
	    cmocka_unit_test_setup(test_load_file, test_setup),
	    cmocka_unit_test_setup(test_load_file_long_comment, test_setup),
	    cmocka_unit_test_setup(test_load_file_empty, test_setup),
	    cmocka_unit_test_setup(test_load_file_errors, test_setup),
	    cmocka_unit_test_setup(test_load_env, test_setup),
	    cmocka_unit_test_setup(test_load_file_nul, test_setup),
	    cmocka_unit_test_setup(test_admin_key_file, test_setup),
	    cmocka_unit_test_setup(test_flag_name, test_setup),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
