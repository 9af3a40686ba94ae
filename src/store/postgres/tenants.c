/* tenants.c - PostgreSQL queries for tenants and API keys. */
#include "store/postgres/pg.h"

#include <string.h>

#include "util/mem.h"
#include "util/time.h"

enum nd_err pg_lock_tenant(struct pg_conn *c, int64_t tenant_id, const char *missing,
			   struct nd_error *err)
{
	static const char sql[] = "SELECT 1 FROM tenant_counters WHERE tenant_id = $1"
				  " FOR NO KEY UPDATE";
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, tenant_id);
	PGresult *r;
	enum nd_err e = pg_row(c, sql, &p, "tenant lock", missing, &r, err);
	if (!e)
		PQclear(r);
	return e;
}

struct tenant_arg {
	const char *name;
	int64_t id;
};

static enum nd_err find(struct pg_conn *c, const char *name, int64_t *id, struct nd_error *err)
{
	static const char sql[] = "SELECT id FROM tenants WHERE name = $1";
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_text(&p, name);
	PGresult *r;
	enum nd_err e = pg_row(c, sql, &p, "tenant lookup", "tenant not found", &r, err);
	if (!e) {
		*id = pg_int(r, 0, 0);
		PQclear(r);
	}
	return e;
}

static enum nd_err tenant_ensure_tx(struct pg_conn *c, void *arg, struct nd_error *err)
{
	/* Looking first keeps the id sequence from advancing on every call
	 * for an existing tenant. */
	static const char ins[] = "INSERT INTO tenants (name, created_at) VALUES ($1, $2)"
				  " ON CONFLICT (name) DO NOTHING RETURNING id";
	static const char counters[] = "INSERT INTO tenant_counters (tenant_id) VALUES ($1)";
	struct tenant_arg *a = arg;
	enum nd_err e = find(c, a->name, &a->id, err);
	if (e != ND_ERR_NOT_FOUND)
		return e;
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_text(&p, a->name);
	pg_p_int(&p, nd_time_now_ms());
	PGresult *r = pg_query(c, ins, &p, "tenant insert", err);
	if (!r)
		return err->code;
	bool inserted = PQntuples(r) == 1;
	if (inserted)
		a->id = pg_int(r, 0, 0);
	PQclear(r);
	/* Not inserted: another transaction committed it meanwhile, and this
	 * statement's snapshot is taken after that. */
	if (!inserted)
		return find(c, a->name, &a->id, err);
	p = (struct pg_params)PG_PARAMS_INIT;
	pg_p_int(&p, a->id);
	return pg_exec(c, counters, &p, "tenant insert", NULL, err);
}

enum nd_err pg_tenant_ensure(struct nd_store_conn *c, const char *name, int64_t *tenant_id,
			     struct nd_error *err)
{
	struct tenant_arg a = {name, 0};
	enum nd_err e = pg_tx(pg_conn_of(c), tenant_ensure_tx, &a, err);
	if (!e)
		*tenant_id = a.id;
	return e;
}

enum nd_err pg_tenant_find(struct nd_store_conn *c, const char *name, int64_t *tenant_id,
			   struct nd_error *err)
{
	int64_t id;
	enum nd_err e = find(pg_conn_of(c), name, &id, err);
	if (!e)
		*tenant_id = id;
	return e;
}

enum nd_err pg_tenant_get(struct nd_store_conn *c, int64_t tenant_id, nd_tenant_cb cb, void *arg,
			  struct nd_error *err)
{
	static const char sql[] = "SELECT t.name, t.time_zone, c.deliveries FROM tenants t"
				  " JOIN tenant_counters c ON c.tenant_id = t.id WHERE t.id = $1";
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, tenant_id);
	PGresult *r;
	enum nd_err e = pg_row(pg_conn_of(c), sql, &p, "tenant get", "tenant not found", &r, err);
	if (e)
		return e;
	struct nd_tenant t = {
		.name = pg_text(r, 0, 0),
		.time_zone = pg_text(r, 0, 1),
		.deliveries = pg_int(r, 0, 2),
	};
	int ret = cb(arg, &t);
	PQclear(r);
	return (enum nd_err)ret;
}

struct zone_arg {
	int64_t tenant_id;
	const char *zone;
};

static enum nd_err set_zone_tx(struct pg_conn *c, void *arg, struct nd_error *err)
{
	static const char sql[] = "UPDATE tenants SET time_zone = $2 WHERE id = $1";
	struct zone_arg *a = arg;
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, a->tenant_id);
	pg_p_text(&p, a->zone);
	return pg_exec(c, sql, &p, "tenant zone", NULL, err);
}

enum nd_err pg_tenant_set_zone(struct nd_store_conn *c, int64_t tenant_id, const char *zone,
			       struct nd_error *err)
{
	struct zone_arg a = {tenant_id, zone};
	return pg_tx(pg_conn_of(c), set_zone_tx, &a, err);
}

struct key_arg {
	int64_t tenant_id;
	const unsigned char *hash;
	enum nd_role role;
	const char *target;
	int64_t created_at;
	bool ensure;
};

static enum nd_err key_put_tx(struct pg_conn *c, void *arg, struct nd_error *err)
{
	static const char sel[] = "SELECT tenant_id, role, revoked_at IS NOT NULL FROM api_keys"
				  " WHERE hash = $1";
	static const char ins[] =
		"INSERT INTO api_keys (hash, id, tenant_id, role, target,"
		" created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";
	static const char taken[] = "key hash already stored";
	struct key_arg *a = arg;
	char id[ND_KEY_ID_LEN + 1];
	nd_key_id(a->hash, id);
	/* Twice at most: an insert that lost a race against the same key is
	 * then decided like a key that was there before. */
	for (int round = 0; round < 2; round++) {
		struct pg_params p = PG_PARAMS_INIT;
		pg_p_bin(&p, a->hash, ND_KEY_HASH_LEN);
		PGresult *r;
		enum nd_err e = pg_row(c, sel, &p, "key lookup", "", &r, err);
		if (!e) {
			bool same = pg_int(r, 0, 0) == a->tenant_id &&
				    strcmp(pg_text(r, 0, 1), nd_role_name(a->role)) == 0;
			bool revoked = pg_bool(r, 0, 2);
			PQclear(r);
			return nd_key_existing(a->ensure && same, revoked, err);
		}
		if (e != ND_ERR_NOT_FOUND)
			return e;
		if (round > 0)
			break; /* another key has the same id */
		pg_p_text(&p, id);
		pg_p_int(&p, a->tenant_id);
		pg_p_text(&p, nd_role_name(a->role));
		pg_p_text(&p, a->target);
		pg_p_int(&p, a->created_at);
		int64_t n;
		if ((e = pg_exec(c, ins, &p, "key insert", &n, err)))
			return e;
		if (n == 1)
			return ND_OK;
	}
	return nd_fail(err, ND_ERR_CONFLICT, NULL, taken);
}

enum nd_err pg_key_put(struct nd_store_conn *c, int64_t tenant_id,
		       const unsigned char hash[ND_KEY_HASH_LEN], enum nd_role role,
		       const char *target, int64_t created_at, bool ensure, struct nd_error *err)
{
	struct key_arg a = {tenant_id, hash, role, target, created_at, ensure};
	return pg_tx(pg_conn_of(c), key_put_tx, &a, err);
}

enum nd_err pg_key_auth(struct nd_store_conn *c, const unsigned char hash[ND_KEY_HASH_LEN],
			struct nd_principal *out, struct nd_error *err)
{
	struct pg_conn *pc = pg_conn_of(c);
	if (pg_key_trust(pc, hash, out))
		return ND_OK;
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_bin(&p, hash, ND_KEY_HASH_LEN);
	PGresult *r;
	enum nd_err e = pg_row(pc, pg_key_sql, &p, "key lookup", "no valid key with this hash", &r,
			       err);
	if (e == ND_ERR_NOT_FOUND)
		pg_key_remember(pc, hash, NULL);
	if (e)
		return e;
	pg_read_principal(r, out);
	PQclear(r);
	pg_key_remember(pc, hash, out);
	return ND_OK;
}

struct key_list_arg {
	nd_key_cb cb;
	void *arg;
};

static int key_row(void *arg, PGresult *r, int row)
{
	struct key_list_arg *a = arg;
	struct nd_key_row k = {
		.id = pg_text(r, row, 0),
		.target = pg_text(r, row, 2),
		.created_at = pg_int(r, row, 3),
		.revoked_at = pg_time(r, row, 4),
	};
	nd_role_parse(pg_text(r, row, 1), &k.role);
	return a->cb(a->arg, &k);
}

enum nd_err pg_key_list(struct nd_store_conn *c, int64_t tenant_id, nd_key_cb cb, void *arg,
			struct nd_error *err)
{
	static const char sql[] = "SELECT id, role, target, created_at, revoked_at FROM api_keys"
				  " WHERE tenant_id = $1 ORDER BY created_at, id";
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, tenant_id);
	struct key_list_arg a = {cb, arg};
	return pg_stream(pg_conn_of(c), sql, NULL, &p, 0, key_row, &a, "key list", err);
}

struct revoke_arg {
	int64_t tenant_id;
	const char *id;
};

static enum nd_err key_revoke_tx(struct pg_conn *c, void *arg, struct nd_error *err)
{
	static const char sql[] = "UPDATE api_keys SET revoked_at = coalesce(revoked_at, $3)"
				  " WHERE tenant_id = $1 AND id = $2";
	struct revoke_arg *a = arg;
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, a->tenant_id);
	pg_p_text(&p, a->id);
	pg_p_int(&p, nd_time_now_ms());
	int64_t n;
	enum nd_err e = pg_exec(c, sql, &p, "key revoke", &n, err);
	if (!e && n == 0)
		return nd_fail(err, ND_ERR_NOT_FOUND, NULL, "key not found");
	return e;
}

enum nd_err pg_key_revoke(struct nd_store_conn *c, int64_t tenant_id, const char *id,
			  struct nd_error *err)
{
	struct revoke_arg a = {tenant_id, id};
	return pg_tx(pg_conn_of(c), key_revoke_tx, &a, err);
}
