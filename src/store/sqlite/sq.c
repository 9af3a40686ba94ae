/* sq.c - SQLite backend: connections, statement cache, transactions. */
#include "store/sqlite/sq.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/fault.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#define BUSY_TIMEOUT_MS 5000
#define TX_ATTEMPTS 5

static atomic_uint_fast64_t store_serial;
static const struct nd_store_ops sq_ops;
static void op_free(struct nd_store *base);

/* The calling thread's connection and the serial of the store it belongs
 * to; the serial is compared first so a freed store is never dereferenced. */
static __thread uint64_t tls_serial;
static __thread struct sq_conn *tls_conn;

enum nd_err sq_fail(struct sq_conn *c, int rc, const char *what, struct nd_error *err)
{
	int primary = rc & 0xFF;
	if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
		return nd_fail(err, ND_ERR_BUSY, NULL, "the database is busy, try again");
	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return nd_fail(err, ND_ERR_CONFLICT, NULL, "%s: a row with this key exists", what);
	/* Out of space: SQLite says so for a short write; a write refused
	 * outright (no space, a quota, the file size limit) is an I/O error
	 * whose errno says the same. The transaction is rolled back, reads go
	 * on, and writes work again as soon as there is room. */
	int sys = c && c->db ? sqlite3_system_errno(c->db) : 0;
	if (primary == SQLITE_FULL ||
	    (primary == SQLITE_IOERR && (sys == ENOSPC || sys == EDQUOT || sys == EFBIG))) {
		nd_log("error", "store", "%s: the database or its disk is full", what);
		return nd_fail(err, ND_ERR_STORAGE_FULL, NULL,
			       "the database is out of space; nothing was written");
	}
	nd_log("error", "store", "%s: %s (%d, errno %d)", what,
	       c && c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc), rc, sys);
	return nd_fail(err, ND_ERR_INTERNAL, NULL, "internal storage error");
}

/* SQL function notifd_guid(): a new GUID (see nd_guid_new) as a 16-byte
 * blob, so fan-out to a segment is one INSERT .. SELECT. */
static void fn_guid(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	unsigned char g[16];
	nd_guid_v7(g, nd_time_now_ms());
	sqlite3_result_blob(ctx, g, sizeof g, SQLITE_TRANSIENT);
}

static enum nd_err exec_sql(struct sq_conn *c, const char *sql, struct nd_error *err)
{
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? ND_OK : sq_fail(c, rc, sql, err);
}

/* SQL function notifd_total(counter, tid): @tid, keeping @counter as the
 * connection's noted total, so that a member's page learns its total from
 * the lookup that finds the member (store/sqlite/list.c). The lookup is an
 * uncorrelated subquery: SQLite runs it once a statement. */
static void fn_total(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	struct sq_conn *c = sqlite3_user_data(ctx);
	c->noted = true;
	c->noted_total = sqlite3_value_int64(argv[0]);
	sqlite3_result_value(ctx, argv[1]);
}

static enum nd_err conn_open(struct sq_store *s, struct sq_conn **out, struct nd_error *err)
{
	struct sq_conn *c = nd_xcalloc(1, sizeof *c);
	c->base.ops = s->base.ops;
	c->store = s;
	int rc = sqlite3_open_v2(s->path, &c->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				 NULL);
	if (rc != SQLITE_OK) {
		nd_fail(err, ND_ERR_INVALID_PARAM, NULL, "cannot open database %s: %s", s->path,
			c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		goto out_close;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
	/* A 16 MiB page cache per connection (SQLite's default is 2 MiB): a
	 * fan-out to a big segment otherwise re-reads index pages through
	 * pread() for every row. The memory map serves the database file's
	 * pages from the kernel's page cache without a system call or a copy
	 * each (docs/design.md, "Storage"). */
	char pragmas[320];
	snprintf(pragmas, sizeof pragmas,
		 "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=OFF;"
		 "PRAGMA journal_size_limit=67108864; PRAGMA temp_store=FILE;"
		 "PRAGMA cache_size=-16384; PRAGMA mmap_size=%zu;",
		 s->sync_full ? "FULL" : "NORMAL", s->mmap_size);
	rc = sqlite3_exec(c->db, pragmas, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		nd_fail(err, ND_ERR_INVALID_PARAM, NULL, "cannot open database %s: %s", s->path,
			sqlite3_errmsg(c->db));
		goto out_close;
	}
	sqlite3_create_function(c->db, "notifd_guid", 0, SQLITE_UTF8, NULL, fn_guid, NULL, NULL);
	sqlite3_create_function(c->db, "notifd_total", 2, SQLITE_UTF8, c, fn_total, NULL, NULL);
	pthread_mutex_lock(&s->mu);
	c->next = s->conns;
	s->conns = c;
	pthread_mutex_unlock(&s->mu);
	*out = c;
	return ND_OK;

out_close:
	sqlite3_close_v2(c->db);
	free(c);
	return err ? err->code : ND_ERR_INTERNAL;
}

static void conn_close(struct sq_conn *c)
{
	for (size_t i = 0; i < SQ_STMT_CACHE; i++)
		sqlite3_finalize(c->cache[i].stmt);
	for (size_t i = 0; i < SQ_DYN_CACHE; i++) {
		sqlite3_finalize(c->dyn[i].stmt);
	}
	free(c->load_tenant_name);
	nd_ncache_clear(&c->notifications);
	sqlite3_close_v2(c->db);
	free(c);
}

/* The calling thread's connection, opened on first use. */
static enum nd_err thread_conn(struct sq_store *s, struct sq_conn **out,
			       struct nd_error *err)
{
	if (tls_conn && tls_serial == s->serial) {
		*out = tls_conn;
		return ND_OK;
	}
	enum nd_err e = conn_open(s, out, err);
	if (e)
		return e;
	tls_conn = *out;
	tls_serial = s->serial;
	return ND_OK;
}

static enum nd_err op_conn(struct nd_store *base, struct nd_store_conn **out,
			   struct nd_error *err)
{
	struct nd_error why = {0};
	struct sq_conn *c;
	if (thread_conn((struct sq_store *)base, &c, &why) == ND_OK) {
		*out = &c->base;
		return ND_OK;
	}
	/* The store opened fine at start, so this is a transient shortage (file
	 * descriptors, a lock): the log gets the reason, the client a 503
	 * without paths. */
	nd_log("error", "store", "%s", why.detail);
	return nd_fail(err, ND_ERR_BUSY, NULL, "the database is unavailable, try again");
}

/* Process-wide settings, before SQLite initialises: no allocation
 * statistics, whose global mutex every allocation of every connection took
 * (notifd reads no statistic and sets no heap limit). */
static void configure(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
#ifdef ND_FAULT_INJECTION
	sq_fault_install();
#endif
}

enum nd_err nd_sqlite_open(const char *path, const struct nd_store_opts *opts,
			   struct nd_store **out, struct nd_error *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, configure);
	struct sq_store *s = nd_xcalloc(1, sizeof *s);
	s->base.ops = &sq_ops;
	s->path = nd_xstrdup(path);
	s->sync_full = opts->sqlite.sync_full;
	s->mmap_size = opts->sqlite.mmap_size;
	s->serial = atomic_fetch_add(&store_serial, 1) + 1;
	pthread_mutex_init(&s->mu, NULL);
	struct sq_conn *c;
	enum nd_err e = thread_conn(s, &c, err);
	if (!e)
		e = sq_migrate(c, err);
	if (e) {
		if (e == ND_ERR_INTERNAL || e == ND_ERR_BUSY)
			nd_fail(err, e, NULL, "cannot prepare database %s: see the log above", path);
		op_free(&s->base);
		return e;
	}
	*out = &s->base;
	return ND_OK;
}

static void op_free(struct nd_store *base)
{
	struct sq_store *s = (struct sq_store *)base;
	if (tls_serial == s->serial) {
		tls_conn = NULL;
		tls_serial = 0;
	}
	struct sq_conn *c = s->conns;
	while (c) {
		struct sq_conn *next = c->next;
		conn_close(c);
		c = next;
	}
	pthread_mutex_destroy(&s->mu);
	free(s->path);
	free(s);
}

static bool op_abandon_tx(struct nd_store_conn *base)
{
	struct sq_conn *c = sq_conn_of(base);
	c->reading = false;
	c->trusting = false;
	if (sqlite3_get_autocommit(c->db))
		return false;
	/* An abandoned load is an open transaction too. */
	sq_load_reset(c);
	sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return true;
}

/* A read transaction costs SQLite a WAL read lock taken and given back (two
 * fcntl() calls) and a check of the database's size (fstat()): ~1 µs, once
 * a request rather than once a statement. "BEGIN" alone takes no lock until
 * the first read. */
static enum nd_err op_read_begin(struct nd_store_conn *base, struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	sqlite3_stmt *st = sq_prep(c, "BEGIN", err);
	if (!st)
		return err->code;
	int rc = sq_step(st);
	sq_done(st);
	if (rc != SQLITE_DONE)
		return sq_fail(c, rc, "read transaction", err);
	c->reading = true;
	c->trusting = false;
	return ND_OK;
}

static enum nd_err op_read_end(struct nd_store_conn *base, bool *stale, struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	c->reading = false;
	enum nd_err e = sq_key_settle(c, stale, err);
	if (sqlite3_get_autocommit(c->db))
		return e;
	struct nd_error commit_err;
	sqlite3_stmt *st = sq_prep(c, "COMMIT", &commit_err);
	int rc = st ? sq_step(st) : SQLITE_NOMEM;
	if (st)
		sq_done(st);
	/* Nothing was written, so there is nothing to lose: a COMMIT that
	 * failed (it could not be prepared) is a ROLLBACK. */
	if (rc != SQLITE_DONE)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return e;
}

/* A statement kept for the connection's life; the failure fault injection
 * asks for (util/fault.h) is SQLite's own when it cannot allocate. */
static int prepare(struct sq_conn *c, const char *sql, sqlite3_stmt **out)
{
	if (nd_fault(ND_FAULT_PREPARE)) {
		*out = NULL;
		return SQLITE_NOMEM;
	}
	return sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
}

sqlite3_stmt *sq_prep(struct sq_conn *c, const char *sql, struct nd_error *err)
{
	size_t h = ((uintptr_t)sql >> 3) % SQ_STMT_CACHE;
	for (size_t i = 0; i < SQ_STMT_CACHE; i++) {
		struct sq_stmt_slot *slot = &c->cache[(h + i) % SQ_STMT_CACHE];
		if (slot->sql == sql)
			return slot->stmt;
		if (slot->sql)
			continue;
		int rc = prepare(c, sql, &slot->stmt);
		if (rc != SQLITE_OK) {
			sq_fail(c, rc, "prepare", err);
			slot->stmt = NULL;
			return NULL;
		}
		slot->sql = sql;
		return slot->stmt;
	}
	/* More distinct statements than slots is a programming error. */
	nd_log("error", "store", "statement cache full");
	nd_fail(err, ND_ERR_INTERNAL, NULL, "internal storage error");
	return NULL;
}

sqlite3_stmt *sq_prep_kept(struct sq_conn *c, uint64_t shape)
{
	c->dyn_uses++;
	for (size_t i = 0; i < SQ_DYN_CACHE; i++) {
		struct sq_dyn_slot *slot = &c->dyn[i];
		if (slot->stmt && slot->shape == shape) {
			slot->used = c->dyn_uses;
			return slot->stmt;
		}
	}
	return NULL;
}

sqlite3_stmt *sq_prep_shape(struct sq_conn *c, uint64_t shape, const char *sql,
			    struct nd_error *err)
{
	struct sq_dyn_slot *lru = &c->dyn[0];
	for (size_t i = 1; i < SQ_DYN_CACHE; i++)
		if (c->dyn[i].used < lru->used)
			lru = &c->dyn[i];
	sqlite3_stmt *st;
	int rc = prepare(c, sql, &st);
	if (rc != SQLITE_OK) {
		sq_fail(c, rc, "prepare", err);
		return NULL;
	}
	sqlite3_finalize(lru->stmt);
	*lru = (struct sq_dyn_slot){shape, st, c->dyn_uses};
	return st;
}

void sq_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

enum nd_err sq_row(struct sq_conn *c, sqlite3_stmt *st, const char *what,
		   const char *missing, struct nd_error *err)
{
	int rc = sq_step(st);
	if (rc == SQLITE_ROW)
		return ND_OK;
	sq_done(st);
	if (rc == SQLITE_DONE)
		return nd_fail(err, ND_ERR_NOT_FOUND, NULL, "%s", missing);
	return sq_fail(c, rc, what, err);
}

enum nd_err sq_exec_stmt(struct sq_conn *c, sqlite3_stmt *st, const char *what,
			 struct nd_error *err)
{
	int rc = sq_step(st);
	sq_done(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? ND_OK : sq_fail(c, rc, what, err);
}

void sq_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

void sq_bind_time(sqlite3_stmt *st, int i, int64_t ms)
{
	if (ms == ND_NO_TIME)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, ms);
}

const char *sq_col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

int64_t sq_col_time(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? ND_NO_TIME : sqlite3_column_int64(st, i);
}

enum nd_err sq_tx(struct sq_conn *c, sq_tx_fn fn, void *arg, struct nd_error *err)
{
	enum nd_err e = ND_ERR_BUSY;
	for (int attempt = 0; attempt < TX_ATTEMPTS; attempt++) {
		if (attempt > 0) {
			/* Back off 1, 2, 4, 8 ms before running it again. */
			struct timespec ts = {0, 1000000L << (attempt - 1)};
			nanosleep(&ts, NULL);
		}
		/* BEGIN IMMEDIATE waits the whole busy timeout for the write
		 * lock by itself: waiting that again, attempt after attempt,
		 * held a request (and start-up) 25 s while another process kept
		 * the database locked. Only a transaction that began is retried. */
		e = exec_sql(c, "BEGIN IMMEDIATE", err);
		if (e)
			return e;
		e = fn(c, arg, err);
		if (!e)
			e = exec_sql(c, "COMMIT", err);
		if (!e)
			return ND_OK;
		if (!sqlite3_get_autocommit(c->db))
			sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
		if (e != ND_ERR_BUSY)
			return e;
	}
	return e;
}

/* The file answers, with a schema this notifd knows; a newer one is logged
 * once (the health check asks often). */
static enum nd_err op_ping(struct nd_store_conn *base, struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	enum nd_err e = sq_schema_check(c, err);
	if (e == ND_ERR_INVALID_PARAM && !atomic_exchange(&c->store->newer_logged, true))
		nd_log("error", "store", "%s", err->detail);
	return e;
}

enum nd_err sq_target_tid(struct sq_conn *c, int64_t tenant_id, const char *ext,
			  bool create, int64_t *tid, struct nd_error *err)
{
	static const char sel[] = "SELECT tid FROM targets WHERE tenant_id = ?1 AND ext_id = ?2";
	static const char ins[] = "INSERT INTO targets (tenant_id, ext_id, created_at, updated_at)"
				  " VALUES (?1, ?2, ?3, ?3) RETURNING tid";
	sqlite3_stmt *st = sq_prep(c, sel, err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, tenant_id);
	sqlite3_bind_text(st, 2, ext, -1, SQLITE_STATIC);
	enum nd_err e = sq_row(c, st, "target lookup", "target not found", err);
	if (!e) {
		*tid = sqlite3_column_int64(st, 0);
		sq_done(st);
		return ND_OK;
	}
	if (e != ND_ERR_NOT_FOUND || !create)
		return e;
	st = sq_prep(c, ins, err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, tenant_id);
	sqlite3_bind_text(st, 2, ext, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, nd_time_now_ms());
	int rc = sq_step(st);
	if (rc == SQLITE_ROW)
		*tid = sqlite3_column_int64(st, 0);
	sq_done(st);
	return rc == SQLITE_ROW ? ND_OK : sq_fail(c, rc, "target insert", err);
}

void sq_col_guid(sqlite3_stmt *st, int i, char out[ND_GUID_LEN + 1])
{
	const void *g = sqlite3_column_blob(st, i);
	if (g && sqlite3_column_bytes(st, i) == 16)
		nd_guid_format(g, out);
	else
		out[0] = '\0';
}

void sq_read_member(sqlite3_stmt *st, int base, struct nd_target *t)
{
	t->id = sq_col_text(st, base);
	t->name = sq_col_text(st, base + 1);
	t->email = sq_col_text(st, base + 2);
	t->profile = sq_col_text(st, base + 3);
	t->attributes = NULL;
	t->created_at = t->updated_at = ND_NO_TIME;
}

void sq_read_target(sqlite3_stmt *st, int base, struct nd_target *t)
{
	sq_read_member(st, base, t);
	t->attributes = sq_col_text(st, base + 4);
	t->created_at = sqlite3_column_int64(st, base + 5);
	t->updated_at = sqlite3_column_int64(st, base + 6);
}

void sq_read_notification(sqlite3_stmt *st, int base, struct nd_notification *n)
{
	n->key = sqlite3_column_int(st, base);
	sq_col_guid(st, base + 1, n->guid);
	n->libelle = sq_col_text(st, base + 2);
	n->body = sq_col_text(st, base + 3);
	n->url = sq_col_text(st, base + 4);
	n->type = sq_col_text(st, base + 5);
	n->action_type = sqlite3_column_int(st, base + 6);
	n->campaign_id = sq_col_text(st, base + 7);
	n->profile = sq_col_text(st, base + 8);
	n->screen_names = sq_col_text(st, base + 9);
	n->batch = sq_col_text(st, base + 10);
	n->date_started = sq_col_time(st, base + 11);
	n->date_due = sq_col_time(st, base + 12);
	n->created_at = sqlite3_column_int64(st, base + 13);
	n->deliveries = 0;
}

const char sq_notification_insert[] =
	"INSERT INTO notifications (tenant_id, nkey, guid, libelle, body, url, type,"
	" action_type, campaign_id, profile, screen_names, batch, date_started, date_due,"
	" created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";

void sq_bind_notification(sqlite3_stmt *st, int64_t tenant_id, const struct nd_notification *n,
			  const unsigned char guid[16])
{
	sqlite3_bind_int64(st, 1, tenant_id);
	sqlite3_bind_int(st, 2, n->key);
	sqlite3_bind_blob(st, 3, guid, 16, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, n->libelle, -1, SQLITE_STATIC);
	sq_bind_text(st, 5, n->body);
	sq_bind_text(st, 6, n->url);
	sq_bind_text(st, 7, n->type);
	sqlite3_bind_int(st, 8, n->action_type);
	sq_bind_text(st, 9, n->campaign_id);
	sq_bind_text(st, 10, n->profile);
	sqlite3_bind_text(st, 11, n->screen_names ? n->screen_names : "[]", -1, SQLITE_STATIC);
	sq_bind_text(st, 12, n->batch);
	sq_bind_time(st, 13, n->date_started);
	sq_bind_time(st, 14, n->date_due);
	sqlite3_bind_int64(st, 15, n->created_at);
}

void sq_read_delivery_own(sqlite3_stmt *st, int base, struct nd_delivery *d)
{
	d->routed_at = sqlite3_column_int64(st, base);
	sq_col_guid(st, base + 1, d->guid);
	for (int i = 0; i < ND_EV__COUNT; i++)
		d->at[i] = sq_col_time(st, base + 2 + i);
}

void sq_read_delivery(sqlite3_stmt *st, int base, struct nd_delivery *d, struct nd_notification *n)
{
	d->n = n;
	sq_read_delivery_own(st, base, d);
	sq_read_notification(st, base + SQ_DELIVERY_OWN_NCOLS, n);
}

static const struct nd_store_ops sq_ops = {
	.name = "sqlite",
	.free = op_free,
	.conn = op_conn,
	.abandon_tx = op_abandon_tx,
	.read_begin = op_read_begin,
	.read_end = op_read_end,
	.ping = op_ping,
	.tenant_ensure = sq_op_tenant_ensure,
	.tenant_find = sq_op_tenant_find,
	.tenant_get = sq_op_tenant_get,
	.tenant_set_zone = sq_op_tenant_set_zone,
	.key_put = sq_op_key_put,
	.key_auth = sq_op_key_auth,
	.key_list = sq_op_key_list,
	.key_revoke = sq_op_key_revoke,
	.target_put = sq_op_target_put,
	.target_get = sq_op_target_get,
	.target_delete = sq_op_target_delete,
	.segment_create = sq_op_segment_create,
	.segment_list = sq_op_segment_list,
	.segment_get = sq_op_segment_get,
	.segment_delete = sq_op_segment_delete,
	.member_put = sq_op_member_put,
	.member_delete = sq_op_member_delete,
	.target_segments = sq_op_target_segments,
	.campaign_put = sq_op_campaign_put,
	.campaign_get = sq_op_campaign_get,
	.notification_create = sq_op_notification_create,
	.notification_get = sq_op_notification_get,
	.feed = sq_op_feed,
	.list = sq_op_list,
	.list_plan = sq_op_list_plan,
	.delivery_delete = sq_op_delivery_delete,
	.event_record = sq_op_event_record,
	.dump = sq_op_dump,
	.load_begin = sq_op_load_begin,
	.load = sq_op_load,
	.load_end = sq_op_load_end,
};
