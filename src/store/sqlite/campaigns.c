/* campaigns.c - SQLite queries for campaigns. */
#include "store/sqlite/sq.h"

#include "util/time.h"

struct campaign_put_arg {
	int64_t tenant_id;
	struct nd_campaign *cp;
	bool created;
};

static enum nd_err campaign_put_tx(struct sq_conn *c, void *arg, struct nd_error *err)
{
	static const char sel[] = "SELECT created_at FROM campaigns WHERE tenant_id = ?1 AND id = ?2";
	static const char upsert[] = "INSERT INTO campaigns (tenant_id, id, name, created_at, updated_at)"
				     " VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (tenant_id, id)"
				     " DO UPDATE SET name = ?3, updated_at = ?4";
	struct campaign_put_arg *a = arg;
	sqlite3_stmt *st = sq_prep(c, sel, err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, a->tenant_id);
	sqlite3_bind_text(st, 2, a->cp->id, -1, SQLITE_STATIC);
	int rc = sq_step(st);
	int64_t now = nd_time_now_ms();
	a->created = rc == SQLITE_DONE;
	a->cp->created_at = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : now;
	a->cp->updated_at = now;
	sq_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(c, rc, "campaign lookup", err);
	if (!(st = sq_prep(c, upsert, err)))
		return err->code;
	sqlite3_bind_int64(st, 1, a->tenant_id);
	sqlite3_bind_text(st, 2, a->cp->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->cp->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	return sq_exec_stmt(c, st, "campaign upsert", err);
}

enum nd_err sq_op_campaign_put(struct nd_store_conn *base, int64_t tenant_id,
				  struct nd_campaign *cp, bool *created, struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	struct campaign_put_arg a = {tenant_id, cp, false};
	enum nd_err e = sq_tx(c, campaign_put_tx, &a, err);
	if (!e)
		*created = a.created;
	return e;
}

enum nd_err sq_campaign_exists(struct sq_conn *c, int64_t tenant_id, const char *id,
			       struct nd_error *err)
{
	static const char sql[] = "SELECT 1 FROM campaigns WHERE tenant_id = ?1 AND id = ?2";
	sqlite3_stmt *st = sq_prep(c, sql, err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, tenant_id);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	enum nd_err e = sq_row(c, st, "campaign lookup", "campaign not found", err);
	if (!e)
		sq_done(st);
	return e;
}

enum nd_err sq_op_campaign_get(struct nd_store_conn *base, int64_t tenant_id, const char *id,
				  nd_campaign_cb cb, void *arg, struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	static const char sql[] = "SELECT id, name, created_at, updated_at FROM campaigns"
				  " WHERE tenant_id = ?1 AND id = ?2";
	sqlite3_stmt *st = sq_prep(c, sql, err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, tenant_id);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	enum nd_err e = sq_row(c, st, "campaign get", "campaign not found", err);
	if (e)
		return e;
	struct nd_campaign cp = {
		.id = sq_col_text(st, 0),
		.name = sq_col_text(st, 1),
		.created_at = sqlite3_column_int64(st, 2),
		.updated_at = sqlite3_column_int64(st, 3),
	};
	int ret = cb(arg, &cp);
	sq_done(st);
	return (enum nd_err)ret;
}
