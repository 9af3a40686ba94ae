/* targets.c - SQLite queries for targets. */
#include "store/sqlite/sq.h"

#include "util/time.h"

struct target_put_arg {
	int64_t tenant_id;
	struct nd_target *t;
	bool created;
};

static enum nd_err target_put_tx(struct sq_conn *c, void *arg, struct nd_error *err)
{
	static const char sel[] = "SELECT created_at FROM targets WHERE tenant_id = ?1 AND ext_id = ?2";
	static const char upsert[] =
		"INSERT INTO targets (tenant_id, ext_id, name, email, profile, attributes,"
		" created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)"
		" ON CONFLICT (tenant_id, ext_id) DO UPDATE SET name = ?3, email = ?4,"
		" profile = ?5, attributes = ?6, updated_at = ?7";
	struct target_put_arg *a = arg;
	struct nd_target *t = a->t;
	sqlite3_stmt *st = sq_prep(c, sel, err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, a->tenant_id);
	sqlite3_bind_text(st, 2, t->id, -1, SQLITE_STATIC);
	int rc = sq_step(st);
	int64_t now = nd_time_now_ms();
	a->created = rc == SQLITE_DONE;
	t->created_at = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : now;
	t->updated_at = now;
	sq_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(c, rc, "target lookup", err);
	if (!(st = sq_prep(c, upsert, err)))
		return err->code;
	sqlite3_bind_int64(st, 1, a->tenant_id);
	sqlite3_bind_text(st, 2, t->id, -1, SQLITE_STATIC);
	sq_bind_text(st, 3, t->name);
	sq_bind_text(st, 4, t->email);
	sq_bind_text(st, 5, t->profile);
	sqlite3_bind_text(st, 6, t->attributes ? t->attributes : "{}", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, now);
	return sq_exec_stmt(c, st, "target upsert", err);
}

enum nd_err sq_op_target_put(struct nd_store_conn *base, int64_t tenant_id,
				struct nd_target *t, bool *created, struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	struct target_put_arg a = {tenant_id, t, false};
	enum nd_err e = sq_tx(c, target_put_tx, &a, err);
	if (!e)
		*created = a.created;
	return e;
}

enum nd_err sq_op_target_get(struct nd_store_conn *base, int64_t tenant_id, const char *id,
				nd_target_cb cb, void *arg, struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	static const char sql[] = "SELECT " SQ_TARGET_COLS " FROM targets t"
				  " WHERE t.tenant_id = ?1 AND t.ext_id = ?2";
	sqlite3_stmt *st = sq_prep(c, sql, err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, tenant_id);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	enum nd_err e = sq_row(c, st, "target get", "target not found", err);
	if (e)
		return e;
	struct nd_target t;
	sq_read_target(st, 0, &t);
	int ret = cb(arg, &t);
	sq_done(st);
	return (enum nd_err)ret;
}

struct target_ref {
	int64_t tenant_id;
	const char *id;
};

static enum nd_err target_delete_tx(struct sq_conn *c, void *arg, struct nd_error *err)
{
	/* The live counters lose this target's deliveries and memberships first. */
	static const char *const sqls[] = {
		"UPDATE tenants SET deliveries = deliveries -"
		" (SELECT deliveries FROM targets WHERE tid = ?2) WHERE id = ?1",
		"UPDATE notifications SET deliveries = deliveries - 1 WHERE tenant_id = ?1 AND nkey IN"
		" (SELECT nkey FROM deliveries WHERE tenant_id = ?1 AND tid = ?2"
		" AND deleted_at IS NULL)",
		"UPDATE segments SET members = members - 1 WHERE tenant_id = ?1 AND id IN"
		" (SELECT segment_id FROM memberships WHERE tid = ?2)",
		"DELETE FROM deliveries WHERE tenant_id = ?1 AND tid = ?2",
		"DELETE FROM memberships WHERE tid = ?2",
		"DELETE FROM targets WHERE tid = ?2",
	};
	struct target_ref *a = arg;
	int64_t tid;
	enum nd_err e = sq_target_tid(c, a->tenant_id, a->id, false, &tid, err);
	for (size_t i = 0; !e && i < sizeof sqls / sizeof sqls[0]; i++) {
		sqlite3_stmt *st = sq_prep(c, sqls[i], err);
		if (!st)
			return err->code;
		sqlite3_bind_int64(st, 1, a->tenant_id);
		sqlite3_bind_int64(st, 2, tid);
		e = sq_exec_stmt(c, st, "target delete", err);
	}
	return e;
}

enum nd_err sq_op_target_delete(struct nd_store_conn *base, int64_t tenant_id, const char *id,
				   struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	struct target_ref a = {tenant_id, id};
	return sq_tx(c, target_delete_tx, &a, err);
}
