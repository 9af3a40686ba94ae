/* segments.c - SQLite queries for segments and their memberships. */
#include "store/sqlite/sq.h"

#include "util/time.h"

struct segment_arg {
	int64_t tenant_id;
	int32_t id;
	const char *name;   /* create */
	const char *target; /* membership */
};

static enum nd_err segment_create_tx(struct sq_conn *c, void *arg, struct nd_error *err)
{
	static const char bump[] = "UPDATE tenants SET next_segment_id = next_segment_id + 1"
				   " WHERE id = ?1 RETURNING next_segment_id - 1";
	static const char ins[] = "INSERT INTO segments (tenant_id, id, name, created_at)"
				  " VALUES (?1, ?2, ?3, ?4)";
	struct segment_arg *a = arg;
	sqlite3_stmt *st = sq_prep(c, bump, err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, a->tenant_id);
	int rc = sq_step(st);
	int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sq_done(st);
	if (rc != SQLITE_ROW)
		return sq_fail(c, rc, "segment id", err);
	if (id > INT32_MAX)
		return nd_fail(err, ND_ERR_CONFLICT, NULL, "segment ids used up");
	a->id = (int32_t)id;
	if (!(st = sq_prep(c, ins, err)))
		return err->code;
	sqlite3_bind_int64(st, 1, a->tenant_id);
	sqlite3_bind_int(st, 2, a->id);
	sqlite3_bind_text(st, 3, a->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, nd_time_now_ms());
	return sq_exec_stmt(c, st, "segment insert", err);
}

enum nd_err sq_op_segment_create(struct nd_store_conn *base, int64_t tenant_id,
				    const char *name, int32_t *id, struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	struct segment_arg a = {.tenant_id = tenant_id, .name = name};
	enum nd_err e = sq_tx(c, segment_create_tx, &a, err);
	if (!e)
		*id = a.id;
	return e;
}

#define SEGMENT_SELECT "SELECT s.id, s.name, s.members FROM segments s"

static enum nd_err segment_rows(struct sq_conn *c, sqlite3_stmt *st, nd_segment_cb cb,
				void *arg, bool one, struct nd_error *err)
{
	int rc, stop = 0;
	size_t n = 0;
	while (!stop && (rc = sq_step(st)) == SQLITE_ROW) {
		struct nd_segment s = {
			.id = sqlite3_column_int(st, 0),
			.name = sq_col_text(st, 1),
			.members = sqlite3_column_int64(st, 2),
		};
		stop = cb(arg, &s);
		n++;
	}
	sq_done(st);
	if (stop)
		return (enum nd_err)stop;
	if (rc != SQLITE_DONE)
		return sq_fail(c, rc, "segment read", err);
	if (one && n == 0)
		return nd_fail(err, ND_ERR_NOT_FOUND, NULL, "segment not found");
	return ND_OK;
}

enum nd_err sq_op_segment_list(struct nd_store_conn *base, int64_t tenant_id, nd_segment_cb cb,
				  void *arg, struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	static const char sql[] = SEGMENT_SELECT " WHERE s.tenant_id = ?1 ORDER BY s.id";
	sqlite3_stmt *st = sq_prep(c, sql, err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, tenant_id);
	return segment_rows(c, st, cb, arg, false, err);
}

enum nd_err sq_op_segment_get(struct nd_store_conn *base, int64_t tenant_id, int32_t id,
				 nd_segment_cb cb, void *arg, struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	static const char sql[] = SEGMENT_SELECT " WHERE s.tenant_id = ?1 AND s.id = ?2";
	sqlite3_stmt *st = sq_prep(c, sql, err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, tenant_id);
	sqlite3_bind_int(st, 2, id);
	return segment_rows(c, st, cb, arg, true, err);
}

enum nd_err sq_segment_exists(struct sq_conn *c, int64_t tenant_id, int32_t id,
			      struct nd_error *err)
{
	static const char sql[] = "SELECT 1 FROM segments WHERE tenant_id = ?1 AND id = ?2";
	sqlite3_stmt *st = sq_prep(c, sql, err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, tenant_id);
	sqlite3_bind_int(st, 2, id);
	enum nd_err e = sq_row(c, st, "segment lookup", "segment not found", err);
	if (!e)
		sq_done(st);
	return e;
}

static enum nd_err segment_delete_tx(struct sq_conn *c, void *arg, struct nd_error *err)
{
	static const char *const sqls[] = {
		"DELETE FROM memberships WHERE tenant_id = ?1 AND segment_id = ?2",
		"DELETE FROM segments WHERE tenant_id = ?1 AND id = ?2",
	};
	struct segment_arg *a = arg;
	enum nd_err e = sq_segment_exists(c, a->tenant_id, a->id, err);
	for (size_t i = 0; !e && i < sizeof sqls / sizeof sqls[0]; i++) {
		sqlite3_stmt *st = sq_prep(c, sqls[i], err);
		if (!st)
			return err->code;
		sqlite3_bind_int64(st, 1, a->tenant_id);
		sqlite3_bind_int(st, 2, a->id);
		e = sq_exec_stmt(c, st, "segment delete", err);
	}
	return e;
}

enum nd_err sq_op_segment_delete(struct nd_store_conn *base, int64_t tenant_id, int32_t id,
				    struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	struct segment_arg a = {.tenant_id = tenant_id, .id = id};
	return sq_tx(c, segment_delete_tx, &a, err);
}

/* Keeps segments.members equal to the segment's membership rows. */
static enum nd_err count_members(struct sq_conn *c, const struct segment_arg *a,
				 int delta, struct nd_error *err)
{
	static const char sql[] = "UPDATE segments SET members = members + ?3"
				  " WHERE tenant_id = ?1 AND id = ?2";
	if (delta == 0)
		return ND_OK;
	sqlite3_stmt *st = sq_prep(c, sql, err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, a->tenant_id);
	sqlite3_bind_int(st, 2, a->id);
	sqlite3_bind_int(st, 3, delta);
	return sq_exec_stmt(c, st, "segment members", err);
}

static enum nd_err member_put_tx(struct sq_conn *c, void *arg, struct nd_error *err)
{
	static const char sql[] = "INSERT INTO memberships (tenant_id, segment_id, tid, created_at)"
				  " VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING";
	struct segment_arg *a = arg;
	int64_t tid;
	enum nd_err e = sq_segment_exists(c, a->tenant_id, a->id, err);
	if (!e)
		e = sq_target_tid(c, a->tenant_id, a->target, true, &tid, err);
	if (e)
		return e;
	sqlite3_stmt *st = sq_prep(c, sql, err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, a->tenant_id);
	sqlite3_bind_int(st, 2, a->id);
	sqlite3_bind_int64(st, 3, tid);
	sqlite3_bind_int64(st, 4, nd_time_now_ms());
	e = sq_exec_stmt(c, st, "membership insert", err);
	return e ? e : count_members(c, a, sqlite3_changes(c->db), err);
}

enum nd_err sq_op_member_put(struct nd_store_conn *base, int64_t tenant_id, int32_t segment,
				const char *target, struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	struct segment_arg a = {.tenant_id = tenant_id, .id = segment, .target = target};
	return sq_tx(c, member_put_tx, &a, err);
}

static enum nd_err member_delete_tx(struct sq_conn *c, void *arg, struct nd_error *err)
{
	static const char sql[] = "DELETE FROM memberships WHERE tenant_id = ?1 AND segment_id = ?2"
				  " AND tid = ?3";
	struct segment_arg *a = arg;
	int64_t tid;
	enum nd_err e = sq_segment_exists(c, a->tenant_id, a->id, err);
	if (e)
		return e;
	e = sq_target_tid(c, a->tenant_id, a->target, false, &tid, err);
	if (e == ND_ERR_NOT_FOUND)
		return ND_OK; /* not a member: already the wanted state */
	if (e)
		return e;
	sqlite3_stmt *st = sq_prep(c, sql, err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, a->tenant_id);
	sqlite3_bind_int(st, 2, a->id);
	sqlite3_bind_int64(st, 3, tid);
	e = sq_exec_stmt(c, st, "membership delete", err);
	return e ? e : count_members(c, a, -sqlite3_changes(c->db), err);
}

enum nd_err sq_op_member_delete(struct nd_store_conn *base, int64_t tenant_id, int32_t segment,
				   const char *target, struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	struct segment_arg a = {.tenant_id = tenant_id, .id = segment, .target = target};
	return sq_tx(c, member_delete_tx, &a, err);
}

enum nd_err sq_op_target_segments(struct nd_store_conn *base, int64_t tenant_id,
				     const char *target, nd_segment_id_cb cb, void *arg,
				     struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	static const char sql[] = "SELECT segment_id FROM memberships WHERE tid = ?1"
				  " ORDER BY segment_id";
	int64_t tid;
	enum nd_err e = sq_target_tid(c, tenant_id, target, false, &tid, err);
	if (e == ND_ERR_NOT_FOUND)
		return ND_OK;
	if (e)
		return e;
	sqlite3_stmt *st = sq_prep(c, sql, err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, tid);
	int rc, stop = 0;
	while (!stop && (rc = sq_step(st)) == SQLITE_ROW)
		stop = cb(arg, sqlite3_column_int(st, 0));
	sq_done(st);
	if (stop)
		return (enum nd_err)stop;
	return rc == SQLITE_DONE ? ND_OK : sq_fail(c, rc, "target segments", err);
}
