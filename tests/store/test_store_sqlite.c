/* test_store_sqlite.c - what only the SQLite backend promises: how it treats
 * paths and files, its schema version, its query plans. The behaviour every
 * backend shares is in test_store.c. */
#include "fixture.h"

#include "store/sqlite/sq.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- paths and files --- */

static void test_open_bad_path(void **state)
{
	(void)state;
	char path[512];
	snprintf(path, sizeof path, "%s/no/such/dir/notifd.db", fx_tmpdir());
	fx_open_fails(path, path, NULL, NULL, NULL);
	/* A directory is not a database file either. */
	fx_open_fails(fx_tmpdir(), fx_tmpdir(), NULL, NULL, NULL);
	fx_open_fails("", "", NULL, NULL, NULL);
	/* Nothing can be created there, not even by root. */
	fx_open_fails("/proc/notifd-test.db", "/proc/notifd-test.db", NULL, NULL, NULL);
	/* A file that is not a database is left alone. */
	snprintf(path, sizeof path, "%s/garbage.db", fx_tmpdir());
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	for (int i = 0; i < 200; i++)
		fputs("this is not a SQLite database\n", fp);
	assert_int_equal(fclose(fp), 0);
	fx_open_fails(path, path, NULL, NULL, NULL);
	fp = fopen(path, "r");
	assert_non_null(fp);
	char line[64];
	assert_non_null(fgets(line, sizeof line, fp));
	assert_string_equal(line, "this is not a SQLite database\n");
	fclose(fp);
}

/* The one-line result of @sql on a separate connection to @path. */
static void query_text(const char *path, const char *sql, char *out, size_t n)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void exec_sql(const char *path, const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
	sqlite3_close(db);
}

static void test_open_creates_file(void **state)
{
	struct fx *f = *state;
	assert_string_equal(nd_store_backend(f->s), "sqlite");
	assert_false(nd_store_is_postgres(f->uri));
	assert_int_equal(access(f->uri, F_OK), 0);
	/* Readers never block the writer. */
	char mode[16];
	query_text(f->uri, "PRAGMA journal_mode", mode, sizeof mode);
	assert_string_equal(mode, "wal");
}

/* --- schema --- */

static void test_schema_too_new(void **state)
{
	struct fx *f = *state;
	nd_store_free(f->s);
	f->s = NULL;
	exec_sql(f->uri, "PRAGMA user_version = 999");
	fx_open_fails(f->uri, f->uri, NULL, NULL, NULL);
	/* The database was left alone. */
	char v[16];
	query_text(f->uri, "PRAGMA user_version", v, sizeof v);
	assert_string_equal(v, "999");

	/* The same for a brand-new file that only carries the version. */
	char path[256];
	fx_sqlite_path(path, sizeof path);
	exec_sql(path, "PRAGMA user_version = 999");
	fx_open_fails(path, path, NULL, NULL, NULL);
}

struct keys_seen {
	int32_t key[8];
	int64_t routed_at[8];
	size_t n;
};

static int key_seen(void *arg, const struct nd_item *it)
{
	struct keys_seen *k = arg;
	assert_true(k->n < 8);
	k->key[k->n] = it->d->n->key;
	k->routed_at[k->n++] = it->d->routed_at;
	return 0;
}

/* Migration 3 rebuilds notifications with date_started NOT NULL: one left
 * unset (possible through an import of schema 2) takes its deliveries'
 * routing time, or with none its creation time, and the listing then walks
 * the notifications in routing order. */
static void test_migration_routes_at_date_started(void **state)
{
	struct fx *f = *state;
	nd_store_free(f->s);
	f->s = NULL;
	char path[256];
	fx_sqlite_path(path, sizeof path);
	for (int v = 1; v <= 2; v++)
		exec_sql(path, sq_migration_sql(v));
	exec_sql(path,
		 "PRAGMA user_version = 2;"
		 "INSERT INTO tenants (id, name, created_at, deliveries) VALUES (7, 'old', 1, 2);"
		 "INSERT INTO targets (tid, tenant_id, ext_id, created_at, updated_at, deliveries)"
		 " VALUES (1, 7, 'a', 1, 1, 2);"
		 "INSERT INTO notifications (tenant_id, nkey, guid, libelle, date_started,"
		 " created_at, deliveries) VALUES"
		 " (7, 1, randomblob(16), 'unset, delivered', NULL, 1000, 1),"
		 " (7, 2, randomblob(16), 'set', 3000, 1000, 1),"
		 " (7, 3, randomblob(16), 'unset, undelivered', NULL, 2000, 0);"
		 "INSERT INTO deliveries (tenant_id, tid, routed_at, nkey, guid, updated_at) VALUES"
		 " (7, 1, 5000, 1, randomblob(16), 5000), (7, 1, 3000, 2, randomblob(16), 3000);");
	snprintf(f->uri, sizeof f->uri, "%s", path);
	fx_reopen(f, NULL);
	char v[64];
	query_text(path, "PRAGMA user_version", v, sizeof v);
	int last = 0;
	while (sq_migration_sql(last + 1))
		last++;
	assert_int_equal(atoi(v), last);
	query_text(path, "SELECT group_concat(date_started) FROM (SELECT date_started"
			 " FROM notifications WHERE tenant_id = 7 ORDER BY nkey)", v, sizeof v);
	assert_string_equal(v, "5000,3000,2000");
	query_text(path, "PRAGMA integrity_check", v, sizeof v);
	assert_string_equal(v, "ok");
	struct nd_list_query q = fx_lq();
	struct keys_seen k = {0};
	int64_t total;
	OK(nd_store_list(f->c, 7, &q, key_seen, &k, &total, &E));
	assert_int_equal(total, 2);
	assert_int_equal(k.n, 2);
	assert_int_equal(k.key[0], 1);
	assert_int_equal(k.routed_at[0], 5000);
	assert_int_equal(k.key[1], 2);
	/* a window's total is the sum over its notifications */
	q.started_from = 4000;
	q.started_to = 6000;
	k.n = 0;
	OK(nd_store_list(f->c, 7, &q, key_seen, &k, &total, &E));
	assert_int_equal(total, 1);
	assert_int_equal(k.n, 1);
	assert_int_equal(k.key[0], 1);
	/* a member's page reads its total from the index migration 5 built
	 * over the counters the old database kept */
	q = fx_lq();
	q.member = "a";
	k.n = 0;
	OK(nd_store_list(f->c, 7, &q, key_seen, &k, &total, &E));
	assert_int_equal(total, 2);
	assert_int_equal(k.n, 2);
}

static int no_target(void *arg, const struct nd_target *t)
{
	(void)arg;
	fail_msg("target %s exists", t->id);
	return 1;
}

/* Id spaces used up: the schema keeps each tenant's next ids in tenants. */
static void test_id_exhaustion(void **state)
{
	struct fx *f = *state;
	nd_store_free(f->s);
	f->s = NULL;
	exec_sql(f->uri, "UPDATE tenants SET next_segment_id = 2147483647,"
			 " next_notification_key = 2147483647 WHERE name = 'default'");
	fx_reopen(f, NULL);

	int32_t id;
	OK(nd_store_segment_create(f->c, f->t, "last", &id, &E));
	assert_int_equal(id, INT32_MAX);
	FAILS(ND_ERR_CONFLICT, nd_store_segment_create(f->c, f->t, "one too many", &id, &E));
	OK(nd_store_segment_create(f->c, f->t2, "other tenant", &id, &E));
	assert_int_equal(id, 1);

	static const char *const tg[] = {"u"}, *const tv[] = {"v"};
	struct nd_recipients to = {tg, 1, NULL, 0}, tov = {tv, 1, NULL, 0};
	struct nd_missing_ref miss = {ND_REF_NONE, 0};
	struct nd_notification n = fx_notif("last");
	int64_t d;
	OK(nd_store_notification_create(f->c, f->t, &n, &to, &d, &miss, &E));
	assert_int_equal(n.key, INT32_MAX);
	n = fx_notif("one too many");
	FAILS(ND_ERR_CONFLICT,
	      nd_store_notification_create(f->c, f->t, &n, &tov, &d, &miss, &E));
	/* Nothing of the refused one was written. */
	struct nd_list_query q = fx_lq();
	int64_t total = -1;
	size_t rows = 0;
	OK(nd_store_list(f->c, f->t, &q, fx_count_item, &rows, &total, &E));
	assert_int_equal(rows, 1);
	assert_int_equal(total, 1);
	FAILS(ND_ERR_NOT_FOUND, nd_store_target_get(f->c, f->t, "v", no_target, NULL, &E));
}

/* --- a broken store --- */

static int no_delivery(void *arg, const struct nd_delivery *d)
{
	(void)arg;
	fail_msg("feed returned a delivery of notification %d", d->n ? d->n->key : -1);
	return 1;
}

/* A delivery whose notification row is gone: the feed fails as internal,
 * telling the client nothing, and the log names the tenant and the key. */
static void test_feed_missing_notification(void **state)
{
	struct fx *f = *state;
	static const char *const tg[] = {"a"};
	struct nd_recipients to = {tg, 1, NULL, 0};
	struct nd_missing_ref miss = {ND_REF_NONE, 0};
	struct nd_notification n = fx_notif("gone");
	int64_t d;
	OK(nd_store_notification_create(f->c, f->t, &n, &to, &d, &miss, &E));
	char sql[128];
	snprintf(sql, sizeof sql, "DELETE FROM notifications WHERE tenant_id = %lld AND nkey = %d",
		 (long long)f->t, (int)n.key);
	exec_sql(f->uri, sql);

	/* The first page reads notifications through the cache, a continued
	 * walk joins them: both notice. */
	for (int continued = 0; continued < 2; continued++) {
		char path[512];
		snprintf(path, sizeof path, "%s/feed-log.txt", fx_tmpdir());
		fflush(stderr);
		int saved = dup(STDERR_FILENO);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		assert_true(saved >= 0 && fd >= 0);
		dup2(fd, STDERR_FILENO);
		close(fd);
		struct nd_feed_query q = {.target = "a",
					  .start = ND_NO_TIME,
					  .end = ND_NO_TIME,
					  .ascending = true,
					  .after_at = continued ? 0 : ND_NO_TIME};
		memset(&E, 0, sizeof E);
		enum nd_err e = nd_store_feed(f->c, f->t, &q, no_delivery, NULL, &E);
		fflush(stderr);
		dup2(saved, STDERR_FILENO);
		close(saved);

		char log[1024] = "";
		FILE *fp = fopen(path, "r");
		assert_non_null(fp);
		size_t len = fread(log, 1, sizeof log - 1, fp);
		log[len] = '\0';
		fclose(fp);
		unlink(path);
		assert_int_equal(e, ND_ERR_INTERNAL);
		fx_check_error(&E, ND_ERR_INTERNAL, "nd_store_feed");
		assert_string_equal(E.detail, "internal storage error");
		char want[64];
		snprintf(want, sizeof want, "tenant %lld", (long long)f->t);
		if (!strstr(log, want))
			fail_msg("log does not name %s: %s", want, log);
		snprintf(want, sizeof want, "notification %d", (int)n.key);
		if (!strstr(log, want))
			fail_msg("log does not name %s: %s", want, log);
		if (strstr(log, "SELECT"))
			fail_msg("log shows SQL: %s", log);
	}
}

/* --- query plans --- */

struct plan {
	char text[4096];
};

static int plan_cb(void *arg, const char *line)
{
	struct plan *p = arg;
	size_t n = strlen(p->text);
	snprintf(p->text + n, sizeof p->text - n, "%s\n", line);
	return 0;
}

/* @uses: the index step the plan must contain (NULL: any). */
static void expect_plan(struct fx *f, struct nd_list_query q, bool sorted_by_index,
			const char *uses)
{
	struct plan p = {""};
	OK(nd_store_list_plan(f->c, f->t, &q, plan_cb, &p, &E));
	if (uses && !strstr(p.text, uses))
		fail_msg("plan does not use %s:\n%s", uses, p.text);
	/* Every table is reached through an index or key, never scanned. */
	if (strstr(p.text, "SCAN "))
		fail_msg("plan scans a table:\n%s", p.text);
	/* ... "FOR RIGHT PART OF ORDER BY" included: a sort per group. */
	if (sorted_by_index && strstr(p.text, "USE TEMP B-TREE FOR"))
		fail_msg("plan sorts instead of reading an index in order:\n%s", p.text);
}

/* A tenant-wide page that walks the notifications reads each one's
 * deliveries from deliveries_notification alone, never the table (schema
 * migration 4). */
static void expect_covering(struct fx *f, struct nd_list_query q)
{
	struct plan p = {""};
	OK(nd_store_list_plan(f->c, f->t, &q, plan_cb, &p, &E));
	if (!strstr(p.text, "SEARCH d USING COVERING INDEX deliveries_notification"))
		fail_msg("plan reads the deliveries table row by row:\n%s", p.text);
}

static void test_list_plans(void **state)
{
	struct fx *f = *state;
	int32_t keys[6];
	fx_make_list(f, keys);
	struct nd_list_query q = fx_lq();
	q.limit = 20;
	/* newest first: notifications by date_started, each one's deliveries */
	expect_plan(f, q, true, "notifications_started (tenant_id=?)");
	/* a member's page of 20: a primary-key range, read in order */
	q.member = "a";
	expect_plan(f, q, true, "SEARCH d USING PRIMARY KEY (tenant_id=? AND tid=?)");
	/* ... which looks the member up once, and with it its counter (the
	 * page's total) from the same index entry (schema migration 5), on its
	 * later pages too */
	static const char member_lookup[] =
		"SCALAR SUBQUERY 1\n"
		"SEARCH targets USING COVERING INDEX targets_counted (tenant_id=? AND ext_id=?)";
	expect_plan(f, q, true, member_lookup);
	q.offset = 20;
	expect_plan(f, q, true, member_lookup);
	q.offset = 0;
	/* each order attribute alone is read from its index */
	static const char *const order_index[ND_ORDER__COUNT] = {
	    [ND_ORDER_STARTED] = "notifications_started",
	    [ND_ORDER_COMPLETED] = "deliveries_completed",
	    [ND_ORDER_CREATED] = "notifications_created",
	    [ND_ORDER_MODIFIED] = "deliveries_modified",
	    [ND_ORDER_TYPE] = "notifications_type",
	    [ND_ORDER_TITLE] = "notifications_title",
	    [ND_ORDER_READ] = "deliveries_read",
	    [ND_ORDER_ID] = "deliveries_tenant_guid",
	    [ND_ORDER_KEY] = "deliveries_notification",
	};
	for (int k = 0; k < ND_ORDER__COUNT; k++) {
		for (int desc = 0; desc < 2; desc++) {
			q = fx_lq();
			q.limit = 20;
			q.norder = 1;
			q.order[0] = (struct nd_order_term){(enum nd_order_key)k, desc};
			expect_plan(f, q, true, order_index[k]);
			if (strncmp(order_index[k], "notifications_", 14) == 0 ||
			    k == ND_ORDER_KEY)
				expect_covering(f, q);
		}
	}
	/* page 3, newest first: the 40 rows skipped are not read either */
	q = fx_lq();
	q.limit = 20;
	q.offset = 40;
	expect_covering(f, q);
	/* each filter alone is served by its own index, newest first without
	 * a sort when the filter is the notification's */
	q = fx_lq();
	q.limit = 20;
	q.campaign_id = "c1";
	expect_plan(f, q, true, "notifications_campaign (tenant_id=? AND campaign_id=?)");
	expect_covering(f, q);
	q.started_from = KEY_TIME;
	q.started_to = KEY_TIME + 86400000;
	expect_plan(f, q, true,
		    "notifications_campaign (tenant_id=? AND campaign_id=? AND date_started>? AND "
		    "date_started<?)");
	q.started_from = ND_NO_TIME;
	q.campaign_id = NULL;
	q.type = "like";
	expect_plan(f, q, true, "notifications_type (tenant_id=? AND type_key=?)");
	q.type = NULL;
	q.by_key = true;
	q.key = keys[0];
	expect_plan(f, q, false, "deliveries_notification (tenant_id=? AND nkey=?)");
	q.by_key = false;
	q.by_guid = true;
	expect_plan(f, q, false,
		    "deliveries_tenant_guid (tenant_id=? AND deleted_at=? AND guid=?)");
	q.by_guid = false;
	q.started_from = KEY_TIME;
	q.started_to = KEY_TIME + 86400000;
	expect_plan(f, q, true,
		    "notifications_started (tenant_id=? AND date_started>? AND date_started<?)");
	q.started_from = ND_NO_TIME;
	q.completed_from = KEY_TIME;
	q.completed_to = KEY_TIME + 86400000;
	expect_plan(f, q, false,
		    "deliveries_completed (tenant_id=? AND deleted_at=? AND completed_at>? AND "
		    "completed_at<?)");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	fx_init("sqlite");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_bad_path),
	    T(test_open_creates_file),
	    T(test_schema_too_new),
	    T(test_id_exhaustion),
	    T(test_feed_missing_notification),
	    T(test_list_plans),
	    T(test_migration_routes_at_date_started),
	};
	return cmocka_run_group_tests(tests, fx_group_setup, fx_group_teardown);
}
