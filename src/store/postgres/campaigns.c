/* campaigns.c - PostgreSQL queries for campaigns. */
#include "store/postgres/pg.h"

#include "util/time.h"

struct campaign_put_arg {
	int64_t tenant_id;
	struct nd_campaign *cp;
	bool created;
};

static enum nd_err campaign_put_tx(struct pg_conn *c, void *arg, struct nd_error *err)
{
	/* Created or replaced is decided as in target_put (targets.c). */
	static const char upsert[] =
		"INSERT INTO campaigns AS cp (tenant_id, id, name, created_at, updated_at)"
		" VALUES ($1, $2, $3, $4, $4) ON CONFLICT (tenant_id, id)"
		" DO UPDATE SET name = EXCLUDED.name, updated_at = EXCLUDED.updated_at"
		" RETURNING cp.created_at, cp.updated_at, cp.xmax = 0";
	struct campaign_put_arg *a = arg;
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, a->tenant_id);
	pg_p_text(&p, a->cp->id);
	pg_p_text(&p, a->cp->name);
	pg_p_int(&p, nd_time_now_ms());
	PGresult *r;
	enum nd_err e = pg_row(c, upsert, &p, "campaign upsert", "campaign not found", &r, err);
	if (e)
		return e;
	a->cp->created_at = pg_int(r, 0, 0);
	a->cp->updated_at = pg_int(r, 0, 1);
	a->created = pg_bool(r, 0, 2);
	PQclear(r);
	return ND_OK;
}

enum nd_err pg_campaign_put(struct nd_store_conn *c, int64_t tenant_id, struct nd_campaign *cp,
			    bool *created, struct nd_error *err)
{
	struct campaign_put_arg a = {tenant_id, cp, false};
	enum nd_err e = pg_tx(pg_conn_of(c), campaign_put_tx, &a, err);
	if (!e)
		*created = a.created;
	return e;
}

enum nd_err pg_campaign_get(struct nd_store_conn *c, int64_t tenant_id, const char *id,
			    nd_campaign_cb cb, void *arg, struct nd_error *err)
{
	static const char sql[] = "SELECT id, name, created_at, updated_at FROM campaigns"
				  " WHERE tenant_id = $1 AND id = $2";
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, tenant_id);
	pg_p_text(&p, id);
	PGresult *r;
	enum nd_err e =
		pg_row(pg_conn_of(c), sql, &p, "campaign get", "campaign not found", &r, err);
	if (e)
		return e;
	struct nd_campaign cp = {
		.id = pg_text(r, 0, 0),
		.name = pg_text(r, 0, 1),
		.created_at = pg_int(r, 0, 2),
		.updated_at = pg_int(r, 0, 3),
	};
	int ret = cb(arg, &cp);
	PQclear(r);
	return (enum nd_err)ret;
}
