/* targets.c - PostgreSQL queries for targets. */
#include "store/postgres/pg.h"

#include "util/time.h"

enum nd_err pg_target_tid(struct pg_conn *c, int64_t tenant_id, const char *ext,
			  enum pg_target_mode mode, int64_t *tid, struct nd_error *err)
{
	static const char sel[] = "SELECT tid FROM targets WHERE tenant_id = $1 AND ext_id = $2";
	static const char sel_lock[] =
		"SELECT tid FROM targets WHERE tenant_id = $1 AND ext_id = $2"
		" FOR KEY SHARE";
	static const char ins[] =
		"INSERT INTO targets (tenant_id, ext_id, created_at, updated_at)"
		" VALUES ($1, $2, $3, $3) ON CONFLICT (tenant_id, ext_id) DO NOTHING"
		" RETURNING tid";
	/* Twice at most: an insert that lost a race finds the winner's row. */
	for (int round = 0; round < 2; round++) {
		struct pg_params p = PG_PARAMS_INIT;
		pg_p_int(&p, tenant_id);
		pg_p_text(&p, ext);
		PGresult *r;
		enum nd_err e = pg_row(c, mode == PG_TARGET_FIND ? sel : sel_lock, &p,
				       "target lookup", "target not found", &r, err);
		if (!e) {
			*tid = pg_int(r, 0, 0);
			PQclear(r);
			return ND_OK;
		}
		if (e != ND_ERR_NOT_FOUND || mode != PG_TARGET_CREATE || round > 0)
			return e;
		pg_p_int(&p, nd_time_now_ms());
		if (!(r = pg_query(c, ins, &p, "target insert", err)))
			return err->code;
		bool inserted = PQntuples(r) == 1;
		if (inserted)
			*tid = pg_int(r, 0, 0);
		PQclear(r);
		if (inserted)
			return ND_OK;
	}
	return nd_fail(err, ND_ERR_NOT_FOUND, NULL, "target not found");
}

struct target_put_arg {
	int64_t tenant_id;
	struct nd_target *t;
	bool created;
};

static enum nd_err target_put_tx(struct pg_conn *c, void *arg, struct nd_error *err)
{
	/* One statement decides created-or-replaced atomically: a row version
	 * written by the INSERT has no xmax, one written by the UPDATE arm
	 * carries the updating transaction's. */
	static const char upsert[] =
		"INSERT INTO targets AS t (tenant_id, ext_id, name, email, profile, attributes,"
		" created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
		" ON CONFLICT (tenant_id, ext_id) DO UPDATE SET name = EXCLUDED.name,"
		" email = EXCLUDED.email, profile = EXCLUDED.profile,"
		" attributes = EXCLUDED.attributes, updated_at = EXCLUDED.updated_at"
		" RETURNING t.created_at, t.updated_at, t.xmax = 0";
	struct target_put_arg *a = arg;
	struct nd_target *t = a->t;
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, a->tenant_id);
	pg_p_text(&p, t->id);
	pg_p_text(&p, t->name);
	pg_p_text(&p, t->email);
	pg_p_text(&p, t->profile);
	pg_p_text(&p, t->attributes ? t->attributes : "{}");
	pg_p_int(&p, nd_time_now_ms());
	PGresult *r;
	enum nd_err e = pg_row(c, upsert, &p, "target upsert", "target not found", &r, err);
	if (e)
		return e;
	t->created_at = pg_int(r, 0, 0);
	t->updated_at = pg_int(r, 0, 1);
	a->created = pg_bool(r, 0, 2);
	PQclear(r);
	return ND_OK;
}

enum nd_err pg_target_put(struct nd_store_conn *c, int64_t tenant_id, struct nd_target *t,
			  bool *created, struct nd_error *err)
{
	struct target_put_arg a = {tenant_id, t, false};
	enum nd_err e = pg_tx(pg_conn_of(c), target_put_tx, &a, err);
	if (!e)
		*created = a.created;
	return e;
}

enum nd_err pg_target_get(struct nd_store_conn *c, int64_t tenant_id, const char *id,
			  nd_target_cb cb, void *arg, struct nd_error *err)
{
	static const char sql[] = "SELECT " PG_TARGET_COLS " FROM targets t"
				  " WHERE t.tenant_id = $1 AND t.ext_id = $2";
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, tenant_id);
	pg_p_text(&p, id);
	PGresult *r;
	enum nd_err e = pg_row(pg_conn_of(c), sql, &p, "target get", "target not found", &r, err);
	if (e)
		return e;
	struct nd_target t;
	pg_read_target(r, 0, 0, &t);
	int ret = cb(arg, &t);
	PQclear(r);
	return (enum nd_err)ret;
}

struct target_ref {
	int64_t tenant_id;
	const char *id;
};

static enum nd_err target_delete_tx(struct pg_conn *c, void *arg, struct nd_error *err)
{
	static const char lock[] = "SELECT tid FROM targets WHERE tenant_id = $1 AND ext_id = $2"
				   " FOR UPDATE";
	/* The counters lose exactly the rows this transaction deleted, as the
	 * DELETEs report them. */
	static const char *const sqls[] = {
		"WITH d AS (DELETE FROM deliveries WHERE tenant_id = $1 AND tid = $2"
		"  RETURNING nkey, deleted_at IS NULL AS live),"
		" n AS (UPDATE notifications n SET deliveries = n.deliveries - c.k"
		"  FROM (SELECT nkey, count(*) AS k FROM d WHERE live GROUP BY nkey) c"
		"  WHERE n.tenant_id = $1 AND n.nkey = c.nkey)"
		" UPDATE tenant_counters SET deliveries = deliveries"
		" - (SELECT count(*) FROM d WHERE live) WHERE tenant_id = $1",
		/* The segments before their membership rows, in segment_delete's
		 * order. */
		"SELECT 1 FROM segments WHERE tenant_id = $1 AND id IN (SELECT segment_id"
		" FROM memberships WHERE tenant_id = $1 AND tid = $2)"
		" ORDER BY id FOR NO KEY UPDATE",
		"WITH m AS (DELETE FROM memberships WHERE tenant_id = $1 AND tid = $2"
		"  RETURNING segment_id)"
		" UPDATE segments s SET members = s.members - 1 FROM m"
		" WHERE s.tenant_id = $1 AND s.id = m.segment_id",
		"DELETE FROM targets WHERE tenant_id = $1 AND tid = $2",
	};
	struct target_ref *a = arg;
	/* The tenant lock first: notification_create holds it while it adds
	 * deliveries, so none can be added to this target unseen. Then the
	 * target's own row, which member_put locks before adding a membership. */
	enum nd_err e = pg_lock_tenant(c, a->tenant_id, "target not found", err);
	if (e)
		return e;
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, a->tenant_id);
	pg_p_text(&p, a->id);
	PGresult *r;
	if ((e = pg_row(c, lock, &p, "target lookup", "target not found", &r, err)))
		return e;
	int64_t tid = pg_int(r, 0, 0);
	PQclear(r);
	p = (struct pg_params)PG_PARAMS_INIT;
	pg_p_int(&p, a->tenant_id);
	pg_p_int(&p, tid);
	for (size_t i = 0; !e && i < sizeof sqls / sizeof sqls[0]; i++)
		e = pg_exec(c, sqls[i], &p, "target delete", NULL, err);
	return e;
}

enum nd_err pg_target_delete(struct nd_store_conn *c, int64_t tenant_id, const char *id,
			     struct nd_error *err)
{
	struct target_ref a = {tenant_id, id};
	return pg_tx(pg_conn_of(c), target_delete_tx, &a, err);
}
