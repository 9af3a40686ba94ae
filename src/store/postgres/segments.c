/* segments.c - PostgreSQL queries for segments and their memberships.
 *
 * segments.members counts the segment's membership rows. Every writer of
 * memberships locks the segment's row, so the rows it counts are the rows
 * it changed, and a segment being deleted gains no member meanwhile. Locks
 * are taken target first, then segment, as target_delete takes them. */
#include "store/postgres/pg.h"

#include "util/time.h"

struct segment_arg {
	int64_t tenant_id;
	int32_t id;
	const char *name;   /* create */
	const char *target; /* membership */
};

static enum nd_err segment_create_tx(struct pg_conn *c, void *arg, struct nd_error *err)
{
	/* The counters row's lock makes ids consecutive across processes. */
	static const char bump[] =
		"UPDATE tenant_counters SET next_segment_id = next_segment_id + 1"
		" WHERE tenant_id = $1 RETURNING next_segment_id - 1";
	static const char ins[] = "INSERT INTO segments (tenant_id, id, name, created_at)"
				  " VALUES ($1, $2, $3, $4)";
	struct segment_arg *a = arg;
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, a->tenant_id);
	PGresult *r;
	enum nd_err e = pg_row(c, bump, &p, "segment id", "", &r, err);
	if (e == ND_ERR_NOT_FOUND) /* callers pass a tenant they resolved */
		return pg_internal(err, "segment id: no tenant %lld", (long long)a->tenant_id);
	if (e)
		return e;
	int64_t id = pg_int(r, 0, 0);
	PQclear(r);
	if (id > INT32_MAX)
		return nd_fail(err, ND_ERR_CONFLICT, NULL, "segment ids used up");
	a->id = (int32_t)id;
	pg_p_int(&p, a->id);
	pg_p_text(&p, a->name);
	pg_p_int(&p, nd_time_now_ms());
	return pg_exec(c, ins, &p, "segment insert", NULL, err);
}

enum nd_err pg_segment_create(struct nd_store_conn *c, int64_t tenant_id, const char *name,
			      int32_t *id, struct nd_error *err)
{
	struct segment_arg a = {.tenant_id = tenant_id, .name = name};
	enum nd_err e = pg_tx(pg_conn_of(c), segment_create_tx, &a, err);
	if (!e)
		*id = a.id;
	return e;
}

#define SEGMENT_SELECT "SELECT s.id, s.name, s.members FROM segments s"

struct segment_rows {
	nd_segment_cb cb;
	void *arg;
};

static int segment_row(void *arg, PGresult *r, int row)
{
	struct segment_rows *a = arg;
	struct nd_segment s = {
		.id = (int32_t)pg_int(r, row, 0),
		.name = pg_text(r, row, 1),
		.members = pg_int(r, row, 2),
	};
	return a->cb(a->arg, &s);
}

enum nd_err pg_segment_list(struct nd_store_conn *c, int64_t tenant_id, nd_segment_cb cb, void *arg,
			    struct nd_error *err)
{
	static const char sql[] = SEGMENT_SELECT " WHERE s.tenant_id = $1 ORDER BY s.id";
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, tenant_id);
	struct segment_rows a = {cb, arg};
	return pg_stream(pg_conn_of(c), sql, NULL, &p, 0, segment_row, &a, "segment list", err);
}

enum nd_err pg_segment_get(struct nd_store_conn *c, int64_t tenant_id, int32_t id, nd_segment_cb cb,
			   void *arg, struct nd_error *err)
{
	static const char sql[] = SEGMENT_SELECT " WHERE s.tenant_id = $1 AND s.id = $2";
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, tenant_id);
	pg_p_int(&p, id);
	PGresult *r;
	enum nd_err e = pg_row(pg_conn_of(c), sql, &p, "segment get", "segment not found", &r, err);
	if (e)
		return e;
	struct segment_rows a = {cb, arg};
	int ret = segment_row(&a, r, 0);
	PQclear(r);
	return (enum nd_err)ret;
}

/* Checks that the segment exists and locks its row: FOR UPDATE to delete
 * it, FOR NO KEY UPDATE to change its memberships (and so its counter). */
static enum nd_err lock_segment(struct pg_conn *c, const struct segment_arg *a, bool deleting,
				struct nd_error *err)
{
	static const char upd[] = "SELECT 1 FROM segments WHERE tenant_id = $1 AND id = $2"
				  " FOR NO KEY UPDATE";
	static const char del[] = "SELECT 1 FROM segments WHERE tenant_id = $1 AND id = $2"
				  " FOR UPDATE";
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, a->tenant_id);
	pg_p_int(&p, a->id);
	PGresult *r;
	enum nd_err e =
		pg_row(c, deleting ? del : upd, &p, "segment lookup", "segment not found", &r, err);
	if (!e)
		PQclear(r);
	return e;
}

static enum nd_err segment_delete_tx(struct pg_conn *c, void *arg, struct nd_error *err)
{
	static const char *const sqls[] = {
		"DELETE FROM memberships WHERE tenant_id = $1 AND segment_id = $2",
		"DELETE FROM segments WHERE tenant_id = $1 AND id = $2",
	};
	struct segment_arg *a = arg;
	enum nd_err e = lock_segment(c, a, true, err);
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, a->tenant_id);
	pg_p_int(&p, a->id);
	for (size_t i = 0; !e && i < sizeof sqls / sizeof sqls[0]; i++)
		e = pg_exec(c, sqls[i], &p, "segment delete", NULL, err);
	return e;
}

enum nd_err pg_segment_delete(struct nd_store_conn *c, int64_t tenant_id, int32_t id,
			      struct nd_error *err)
{
	struct segment_arg a = {.tenant_id = tenant_id, .id = id};
	return pg_tx(pg_conn_of(c), segment_delete_tx, &a, err);
}

static enum nd_err count_members(struct pg_conn *c, const struct segment_arg *a, int64_t delta,
				 struct nd_error *err)
{
	static const char sql[] = "UPDATE segments SET members = members + $3"
				  " WHERE tenant_id = $1 AND id = $2";
	if (delta == 0)
		return ND_OK;
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, a->tenant_id);
	pg_p_int(&p, a->id);
	pg_p_int(&p, delta);
	return pg_exec(c, sql, &p, "segment members", NULL, err);
}

static enum nd_err member_put_tx(struct pg_conn *c, void *arg, struct nd_error *err)
{
	static const char sql[] = "INSERT INTO memberships (tenant_id, segment_id, tid, created_at)"
				  " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
	struct segment_arg *a = arg;
	int64_t tid, n;
	/* The target before the segment, in the order target_delete locks
	 * them, so that the two never wait for each other in a cycle. */
	enum nd_err e = pg_target_tid(c, a->tenant_id, a->target, PG_TARGET_CREATE, &tid, err);
	if (!e)
		e = lock_segment(c, a, false, err);
	if (e)
		return e;
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, a->tenant_id);
	pg_p_int(&p, a->id);
	pg_p_int(&p, tid);
	pg_p_int(&p, nd_time_now_ms());
	e = pg_exec(c, sql, &p, "membership insert", &n, err);
	return e ? e : count_members(c, a, n, err);
}

enum nd_err pg_member_put(struct nd_store_conn *c, int64_t tenant_id, int32_t segment,
			  const char *target, struct nd_error *err)
{
	struct segment_arg a = {.tenant_id = tenant_id, .id = segment, .target = target};
	return pg_tx(pg_conn_of(c), member_put_tx, &a, err);
}

static enum nd_err member_delete_tx(struct pg_conn *c, void *arg, struct nd_error *err)
{
	static const char sql[] = "DELETE FROM memberships WHERE tenant_id = $1 AND segment_id = $2"
				  " AND tid = $3";
	struct segment_arg *a = arg;
	int64_t tid, n;
	/* Locked in member_put's order. */
	enum nd_err found = pg_target_tid(c, a->tenant_id, a->target, PG_TARGET_LOCK, &tid, err);
	if (found && found != ND_ERR_NOT_FOUND)
		return found;
	enum nd_err e = lock_segment(c, a, false, err);
	if (e)
		return e;
	if (found)
		return ND_OK; /* not a member: already the wanted state */
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, a->tenant_id);
	pg_p_int(&p, a->id);
	pg_p_int(&p, tid);
	e = pg_exec(c, sql, &p, "membership delete", &n, err);
	return e ? e : count_members(c, a, -n, err);
}

enum nd_err pg_member_delete(struct nd_store_conn *c, int64_t tenant_id, int32_t segment,
			     const char *target, struct nd_error *err)
{
	struct segment_arg a = {.tenant_id = tenant_id, .id = segment, .target = target};
	return pg_tx(pg_conn_of(c), member_delete_tx, &a, err);
}

struct segment_id_rows {
	nd_segment_id_cb cb;
	void *arg;
};

static int segment_id_row(void *arg, PGresult *r, int row)
{
	struct segment_id_rows *a = arg;
	return a->cb(a->arg, (int32_t)pg_int(r, row, 0));
}

enum nd_err pg_target_segments(struct nd_store_conn *c, int64_t tenant_id, const char *target,
			       nd_segment_id_cb cb, void *arg, struct nd_error *err)
{
	/* An unknown target joins nothing and belongs to no segment. */
	static const char sql[] = "SELECT m.segment_id FROM targets t JOIN memberships m"
				  " ON m.tenant_id = t.tenant_id AND m.tid = t.tid"
				  " WHERE t.tenant_id = $1 AND t.ext_id = $2 ORDER BY m.segment_id";
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, tenant_id);
	pg_p_text(&p, target);
	struct segment_id_rows a = {cb, arg};
	return pg_stream(pg_conn_of(c), sql, NULL, &p, 0, segment_id_row, &a, "target segments",
			 err);
}
