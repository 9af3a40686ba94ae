/* fixture.c - the backend under test and a fresh database per test, for
 * the store test programs (see fixture.h). */
#include "fixture.h"

#include <errno.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"

struct nd_error E;

static enum fx_backend backend = FX_SQLITE;
static char tmpdir[] = "/tmp/nd_test_store_XXXXXX";
static bool have_tmpdir;
static unsigned db_counter;
static PGconn *admin; /* PostgreSQL: creates and drops the tests' databases */

static void skip_loudly(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void skip_loudly(const char *fmt, ...)
{
	char reason[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	static const char bar[] =
	    "****************************************************************";
	/* Both streams: meson's log keeps stdout, a terminal shows stderr. */
	printf("%s\nSTORE CONFORMANCE SUITE SKIPPED ON POSTGRESQL: %s\n%s\n", bar, reason, bar);
	fflush(stdout);
	fprintf(stderr, "%s\nSTORE CONFORMANCE SUITE SKIPPED ON POSTGRESQL: %s\n%s\n", bar, reason,
		bar);
	exit(77);
}

/* --- PostgreSQL conninfo --- */

static void put_value(char *out, size_t n, const char *v)
{
	size_t len = strlen(out);
	bool quote = *v == '\0' || strpbrk(v, " \t\n'\\") != NULL;
	if (!quote) {
		snprintf(out + len, n - len, "%s", v);
		return;
	}
	if (len + 1 < n)
		out[len++] = '\'';
	for (; *v && len + 3 < n; v++) {
		if (*v == '\'' || *v == '\\')
			out[len++] = '\\';
		out[len++] = *v;
	}
	if (len + 1 < n)
		out[len++] = '\'';
	out[len] = '\0';
}

/* NOTIFD_TEST_PG (keywords or a URI) rewritten as keywords for database
 * @dbname (NULL: the one it names). dbname comes first, so that
 * nd_store_is_postgres() recognises the string; a connect timeout is added
 * when it sets none, so an unreachable host fails instead of hanging. */
static bool pg_conninfo(const char *dbname, char *out, size_t n, char *why, size_t nwhy)
{
	const char *env = getenv("NOTIFD_TEST_PG");
	char *msg = NULL;
	PQconninfoOption *opts = PQconninfoParse(env, &msg);
	if (!opts) {
		snprintf(why, nwhy, "NOTIFD_TEST_PG is not a valid conninfo: %s",
			 msg ? msg : "out of memory");
		PQfreemem(msg);
		return false;
	}
	const char *db = dbname;
	bool timeout = false;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!db && strcmp(o->keyword, "dbname") == 0 && o->val)
			db = o->val;
		if (strcmp(o->keyword, "connect_timeout") == 0 && o->val)
			timeout = true;
	}
	snprintf(out, n, "dbname=");
	put_value(out, n, db ? db : "postgres");
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val || strcmp(o->keyword, "dbname") == 0)
			continue;
		size_t len = strlen(out);
		snprintf(out + len, n - len, " %s=", o->keyword);
		put_value(out, n, o->val);
	}
	if (!timeout) {
		size_t len = strlen(out);
		snprintf(out + len, n - len, " connect_timeout=10");
	}
	PQconninfoFree(opts);
	return true;
}

static void quiet_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static void pg_init(void)
{
	const char *env = getenv("NOTIFD_TEST_PG");
	if (!env || !*env)
		skip_loudly(
		    "NOTIFD_TEST_PG is not set (run the suite through tests/pg/pg_server.py, "
		    "or set it to an admin conninfo such as \"host=/tmp/x user=notifd "
		    "dbname=postgres\")");
	char info[FX_URI_MAX], why[512];
	if (!pg_conninfo(NULL, info, sizeof info, why, sizeof why))
		skip_loudly("%s", why);
	admin = PQconnectdb(info);
	if (PQstatus(admin) != CONNECTION_OK) {
		snprintf(why, sizeof why, "%s", PQerrorMessage(admin));
		why[strcspn(why, "\n")] = '\0';
		PQfinish(admin);
		admin = NULL;
		skip_loudly("cannot reach the server of NOTIFD_TEST_PG: %s", why);
	}
	PQsetNoticeProcessor(admin, quiet_notice, NULL);
}

static bool pg_exec(const char *sql, char *why, size_t nwhy)
{
	PGresult *r = PQexec(admin, sql);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok && why)
		snprintf(why, nwhy, "%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	return ok;
}

/* Drops @dbname. The store must have closed every connection by now: a
 * plain DROP waits a few seconds for sessions to end, then fails; that is
 * reported (a connection leak) and the database is dropped by force. */
static int pg_drop(const char *dbname)
{
	char sql[128], why[512];
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", dbname);
	if (pg_exec(sql, why, sizeof why))
		return 0;
	fprintf(stderr, "teardown: %s", why);
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", dbname);
	if (!pg_exec(sql, why, sizeof why))
		fprintf(stderr, "teardown: %s", why);
	return -1;
}

/* --- backend choice --- */

void fx_init(const char *forced)
{
	const char *name = forced ? forced : getenv("NOTIFD_TEST_BACKEND");
	if (!name || !*name || strcmp(name, "sqlite") == 0) {
		backend = FX_SQLITE;
	} else if (strcmp(name, "postgres") == 0) {
		backend = FX_POSTGRES;
		pg_init();
	} else {
		fprintf(stderr, "NOTIFD_TEST_BACKEND=%s: expected sqlite or postgres\n", name);
		exit(1);
	}
	printf("store tests on %s\n", fx_backend_name());
}

enum fx_backend fx_backend(void)
{
	return backend;
}

const char *fx_backend_name(void)
{
	return backend == FX_POSTGRES ? "postgres" : "sqlite";
}

const char *fx_tmpdir(void)
{
	return tmpdir;
}

int fx_group_setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	/* The SQLite run's files; PostgreSQL tests use it for unusable paths. */
	if (!mkdtemp(tmpdir)) {
		fprintf(stderr, "mkdtemp %s: %s\n", tmpdir, strerror(errno));
		return -1;
	}
	have_tmpdir = true;
	return 0;
}

int fx_group_teardown(void **state)
{
	(void)state;
	int ret = 0;
	if (have_tmpdir) {
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
		ret = system(cmd) == 0 ? 0 : -1;
	}
	if (admin)
		PQfinish(admin);
	admin = NULL;
	return ret;
}

/* --- a database per test --- */

void fx_sqlite_path(char *out, size_t n)
{
	snprintf(out, n, "%s/db%u.sqlite", tmpdir, ++db_counter);
}

static bool new_database(struct fx *f)
{
	if (backend == FX_SQLITE) {
		fx_sqlite_path(f->uri, sizeof f->uri);
		return true;
	}
	char sql[128], why[512];
	snprintf(f->dbname, sizeof f->dbname, "nd_store_%ld_%u", (long)getpid(), ++db_counter);
	snprintf(sql, sizeof sql, "CREATE DATABASE %s", f->dbname);
	if (!pg_exec(sql, why, sizeof why)) {
		fprintf(stderr, "setup: %s", why);
		f->dbname[0] = '\0';
		return false;
	}
	return pg_conninfo(f->dbname, f->uri, sizeof f->uri, why, sizeof why);
}

int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	*state = f;
	if (!new_database(f))
		goto out_teardown;
	struct nd_error err = {0};
	struct nd_store_opts opts = {
	    .sqlite = {.sync_full = false, .mmap_size = ND_MMAP_SIZE_DEFAULT}};
	if (nd_store_open(f->uri, &opts, &f->s, &err) != ND_OK) {
		fprintf(stderr, "setup: cannot open the %s store: %s\n", fx_backend_name(),
			err.detail);
		f->s = NULL;
		goto out_teardown;
	}
	if (nd_store_conn(f->s, &f->c, &err) ||
	    nd_store_tenant_ensure(f->c, "default", &f->t, &err) ||
	    nd_store_tenant_ensure(f->c, "other", &f->t2, &err)) {
		fprintf(stderr, "setup: %s\n", err.detail);
		goto out_teardown;
	}
	return 0;

out_teardown:
	/* cmocka runs no teardown after a failed setup. */
	fx_teardown(state);
	return -1;
}

int fx_teardown(void **state)
{
	struct fx *f = *state;
	if (!f)
		return 0;
	for (size_t i = 0; i < FX_EXTRA_MAX; i++)
		nd_store_free(f->extra[i]);
	nd_store_free(f->s);
	int ret = 0;
	if (backend == FX_POSTGRES && f->dbname[0])
		ret = pg_drop(f->dbname);
	free(f);
	*state = NULL;
	return ret;
}

void fx_reopen(struct fx *f, const struct nd_store_opts *opts)
{
	nd_store_free(f->s);
	f->s = NULL;
	f->c = NULL;
	OK(nd_store_open(f->uri, opts, &f->s, &E));
	OK(nd_store_conn(f->s, &f->c, &E));
}

struct nd_store *fx_open_extra(struct fx *f)
{
	size_t i = 0;
	while (i < FX_EXTRA_MAX && f->extra[i])
		i++;
	assert_true(i < FX_EXTRA_MAX);
	struct nd_store_opts opts = {
	    .sqlite = {.sync_full = false, .mmap_size = ND_MMAP_SIZE_DEFAULT}};
	OK(nd_store_open(f->uri, &opts, &f->extra[i], &E));
	return f->extra[i];
}

static const char the_secret[] = "s3cret-Pa55word";

static void set_case(struct fx_unusable *u, const char *uri, const char *name, const char *alt)
{
	snprintf(u->uri, sizeof u->uri, "%s", uri);
	snprintf(u->names[0], sizeof u->names[0], "%s", name);
	snprintf(u->names[1], sizeof u->names[1], "%s", alt ? alt : "");
	u->secret = strstr(uri, the_secret) ? the_secret : NULL;
}

size_t fx_unusable_uris(struct fx_unusable *out, size_t max)
{
	char uri[FX_URI_MAX];
	assert_true(max >= FX_CASES_MAX);
	if (backend == FX_SQLITE) {
		snprintf(uri, sizeof uri, "%s/no/such/dir/notifd.db", tmpdir);
		set_case(&out[0], uri, uri, NULL);
		return 1;
	}
	/* libpq cannot parse it: nothing to name but the failure, since
	 * libpq's complaint may quote a piece of the string... */
	snprintf(uri, sizeof uri, "host=/tmp dbname=nd_nowhere password=%s no_such_keyword=1",
		 the_secret);
	set_case(&out[0], uri, "", NULL);
	set_case(&out[1], "postgresql://notifd@/nd_nowhere?no_such_keyword=1", "", NULL);
	/* ... unless the string holds no password at all. */
	set_case(&out[2], "host=/tmp dbname=nd_nowhere no_such_keyword=1", "no_such_keyword",
		 NULL);
	return 3;
}

size_t fx_unreachable_uris(struct fx_unusable *out, size_t max)
{
	char uri[FX_URI_MAX], why[512];
	assert_true(max >= FX_CASES_MAX);
	if (backend == FX_SQLITE)
		return 0; /* a file is always there to open */
	/* No server listens in a directory that does not exist, nor on port 1. */
	snprintf(uri, sizeof uri,
		 "host=%s/no-server port=5 dbname=nd_nowhere user=notifd password=%s", tmpdir,
		 the_secret);
	char host[FX_URI_MAX];
	snprintf(host, sizeof host, "%s/no-server", tmpdir);
	set_case(&out[0], uri, "nd_nowhere", host);
	snprintf(uri, sizeof uri, "postgresql://notifd:%s@127.0.0.1:1/nd_nowhere", the_secret);
	set_case(&out[1], uri, "nd_nowhere", "127.0.0.1");
	/* The test server, but a database that does not exist. */
	if (!pg_conninfo("nd_no_such_database", uri, sizeof uri - 64, why, sizeof why))
		fail_msg("%s", why);
	size_t len = strlen(uri);
	snprintf(uri + len, sizeof uri - len, " password=%s", the_secret);
	set_case(&out[2], uri, "nd_no_such_database", NULL);
	/* An empty setting is libpq's default, and named as none. */
	snprintf(uri, sizeof uri,
		 "host=%s/no-server port=5 dbname=nd_nowhere user='' password=%s", tmpdir,
		 the_secret);
	set_case(&out[3], uri, "nd_nowhere", host);
	return 4;
}

/* --- checks and builders --- */

static void check_code(const struct nd_error *err, enum nd_err want, const char *what)
{
	if (err->code != want)
		fail_msg("%s: error code %d recorded, returned %d", what, (int)err->code,
			 (int)want);
	if (err->detail[0] == '\0')
		fail_msg("%s: the error has no detail", what);
}

void fx_check_error(const struct nd_error *err, enum nd_err want, const char *what)
{
	check_code(err, want, what);
	if (err->field[0] != '\0')
		fail_msg("%s: the error names field \"%s\" (store errors name none)", what,
			 err->field);
}

void fx_open_fails(const char *uri, const char *name, const char *alt, const char *secret,
		   struct nd_error *out)
{
	struct nd_store *s = (struct nd_store *)0x1;
	struct nd_error err = {0};
	enum nd_err e = nd_store_open(uri, NULL, &s, &err);
	if (e == ND_OK)
		fail_msg("opened \"%s\"", uri);
	assert_ptr_equal(s, (struct nd_store *)0x1);
	check_code(&err, e, uri);
	if (*name && !strstr(err.detail, name) && !(alt && strstr(err.detail, alt)))
		fail_msg("detail \"%s\" does not name %s", err.detail, name);
	if (secret && strstr(err.detail, secret))
		fail_msg("detail \"%s\" shows the password", err.detail);
	if (out)
		*out = err;
}

int fx_count_item(void *arg, const struct nd_item *it)
{
	(void)it;
	(*(size_t *)arg)++;
	return 0;
}

void fx_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

void fx_hash(const char *key, unsigned char h[ND_KEY_HASH_LEN])
{
	nd_key_hash(key, strlen(key), h);
}

struct nd_notification fx_notif(const char *libelle)
{
	struct nd_notification n;
	memset(&n, 0, sizeof n);
	n.libelle = libelle;
	n.date_started = 1000; /* the store routes deliveries at it */
	n.date_due = ND_NO_TIME;
	return n;
}

struct nd_list_query fx_lq(void)
{
	struct nd_list_query q;
	memset(&q, 0, sizeof q);
	q.started_from = q.completed_from = ND_NO_TIME;
	q.with_member = true;
	return q;
}

void fx_make_list(struct fx *f, int32_t keys[6])
{
	struct nd_campaign c1 = {.id = "c1", .name = "one"}, c2 = {.id = "c2", .name = "two"};
	bool created;
	OK(nd_store_campaign_put(f->c, f->t, &c1, &created, &E));
	OK(nd_store_campaign_put(f->c, f->t, &c2, &created, &E));
	static const char *const ab[] = {"a", "b"}, *const abc[] = {"a", "b", "c"},
				 *const c[] = {"c"};
	static const struct {
		const char *title, *type, *campaign;
		const char *const *to;
		size_t nto;
	} spec[6] = {
	    {"delta", "like", "c1", ab, 2},     {"alpha", "comment", "c1", abc, 3},
	    {"echo", "like", NULL, c, 1},       {"bravo", "mention", "c2", ab, 2},
	    {"charlie", "comment", "c2", c, 1}, {"alpha", "like", NULL, abc, 3},
	};
	for (int i = 0; i < 6; i++) {
		struct nd_notification n = fx_notif(spec[i].title);
		n.type = spec[i].type;
		n.campaign_id = spec[i].campaign;
		struct nd_recipients to = {spec[i].to, spec[i].nto, NULL, 0};
		struct nd_missing_ref miss = {ND_REF_NONE, 0};
		int64_t d;
		n.date_started = KEY_TIME + i * 60000;
		OK(nd_store_notification_create(f->c, f->t, &n, &to, &d, &miss, &E));
		keys[i] = n.key;
	}
}
