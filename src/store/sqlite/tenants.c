/* tenants.c - SQLite queries for tenants and API keys. */
#include "store/sqlite/sq.h"

#include <string.h>

#include "util/mem.h"
#include "util/time.h"

struct tenant_arg {
	const char *name;
	int64_t id;
};

static enum nd_err find(struct sq_conn *c, const char *name, int64_t *id, struct nd_error *err)
{
	static const char sql[] = "SELECT id FROM tenants WHERE name = ?1";
	sqlite3_stmt *st = sq_prep(c, sql, err);
	if (!st)
		return err->code;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	enum nd_err e = sq_row(c, st, "tenant lookup", "tenant not found", err);
	if (e)
		return e;
	*id = sqlite3_column_int64(st, 0);
	sq_done(st);
	return ND_OK;
}

static enum nd_err tenant_ensure_tx(struct sq_conn *c, void *arg, struct nd_error *err)
{
	static const char ins[] = "INSERT INTO tenants (name, created_at) VALUES (?1, ?2)"
				  " ON CONFLICT (name) DO NOTHING";
	struct tenant_arg *a = arg;
	sqlite3_stmt *st = sq_prep(c, ins, err);
	if (!st)
		return err->code;
	sqlite3_bind_text(st, 1, a->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, nd_time_now_ms());
	enum nd_err e = sq_exec_stmt(c, st, "tenant insert", err);
	if (e)
		return e;
	/* The row is there now: inserted above, or already. */
	return find(c, a->name, &a->id, err);
}

enum nd_err sq_op_tenant_ensure(struct nd_store_conn *base, const char *name,
				   int64_t *tenant_id, struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	struct tenant_arg a = {name, 0};
	enum nd_err e = sq_tx(c, tenant_ensure_tx, &a, err);
	if (!e)
		*tenant_id = a.id;
	return e;
}

enum nd_err sq_op_tenant_find(struct nd_store_conn *base, const char *name, int64_t *tenant_id,
			      struct nd_error *err)
{
	return find(sq_conn_of(base), name, tenant_id, err);
}

enum nd_err sq_op_tenant_get(struct nd_store_conn *base, int64_t tenant_id, nd_tenant_cb cb,
				void *arg, struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	static const char sql[] = "SELECT name, time_zone, deliveries FROM tenants WHERE id = ?1";
	sqlite3_stmt *st = sq_prep(c, sql, err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, tenant_id);
	enum nd_err e = sq_row(c, st, "tenant get", "tenant not found", err);
	if (e)
		return e;
	struct nd_tenant t = {
		.name = sq_col_text(st, 0),
		.time_zone = sq_col_text(st, 1),
		.deliveries = sqlite3_column_int64(st, 2),
	};
	int ret = cb(arg, &t);
	sq_done(st);
	return (enum nd_err)ret;
}

struct zone_arg {
	int64_t tenant_id;
	const char *zone;
};

static enum nd_err set_zone_tx(struct sq_conn *c, void *arg, struct nd_error *err)
{
	static const char sql[] = "UPDATE tenants SET time_zone = ?2 WHERE id = ?1";
	struct zone_arg *a = arg;
	sqlite3_stmt *st = sq_prep(c, sql, err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, a->tenant_id);
	sqlite3_bind_text(st, 2, a->zone, -1, SQLITE_STATIC);
	return sq_exec_stmt(c, st, "tenant zone", err);
}

enum nd_err sq_op_tenant_set_zone(struct nd_store_conn *base, int64_t tenant_id,
				     const char *zone, struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	struct zone_arg a = {tenant_id, zone};
	return sq_tx(c, set_zone_tx, &a, err);
}

struct key_arg {
	int64_t tenant_id;
	const unsigned char *hash;
	enum nd_role role;
	const char *target;
	int64_t created_at;
	bool ensure;
};

static enum nd_err key_put_tx(struct sq_conn *c, void *arg, struct nd_error *err)
{
	static const char sel[] = "SELECT tenant_id, role, revoked_at IS NOT NULL FROM api_keys"
				  " WHERE hash = ?1";
	static const char ins[] = "INSERT INTO api_keys (hash, id, tenant_id, role, target, created_at)"
				  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
	struct key_arg *a = arg;
	sqlite3_stmt *st = sq_prep(c, sel, err);
	if (!st)
		return err->code;
	sqlite3_bind_blob(st, 1, a->hash, ND_KEY_HASH_LEN, SQLITE_STATIC);
	int rc = sq_step(st);
	bool same = rc == SQLITE_ROW && sqlite3_column_int64(st, 0) == a->tenant_id &&
		    strcmp(sq_col_text(st, 1), nd_role_name(a->role)) == 0;
	bool revoked = rc == SQLITE_ROW && sqlite3_column_int(st, 2);
	sq_done(st);
	if (rc == SQLITE_ROW)
		return nd_key_existing(a->ensure && same, revoked, err);
	if (rc != SQLITE_DONE)
		return sq_fail(c, rc, "key lookup", err);
	char id[ND_KEY_ID_LEN + 1];
	nd_key_id(a->hash, id);
	if (!(st = sq_prep(c, ins, err)))
		return err->code;
	sqlite3_bind_blob(st, 1, a->hash, ND_KEY_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, a->tenant_id);
	sqlite3_bind_text(st, 4, nd_role_name(a->role), -1, SQLITE_STATIC);
	sq_bind_text(st, 5, a->target);
	sqlite3_bind_int64(st, 6, a->created_at);
	return sq_exec_stmt(c, st, "key insert", err);
}

enum nd_err sq_op_key_put(struct nd_store_conn *base, int64_t tenant_id,
			     const unsigned char hash[ND_KEY_HASH_LEN], enum nd_role role,
			     const char *target, int64_t created_at, bool ensure,
			     struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	struct key_arg a = {tenant_id, hash, role, target, created_at, ensure};
	return sq_tx(c, key_put_tx, &a, err);
}

static struct sq_key_memo *memo_of(struct sq_conn *c, const unsigned char *hash)
{
	return &c->keys[hash[0] % SQ_KEY_MEMO]; /* a hash's bytes are uniform */
}

/* The data version of the snapshot the connection read last. */
static unsigned data_version(struct sq_conn *c)
{
	unsigned v = 0;
	sqlite3_file_control(c->db, "main", SQLITE_FCNTL_DATA_VERSION, &v);
	return v;
}

static enum nd_err key_lookup(struct sq_conn *c, const unsigned char hash[ND_KEY_HASH_LEN],
			      struct nd_principal *out, struct nd_error *err)
{
	static const char sql[] = "SELECT k.tenant_id, k.role, k.target, k.id, t.time_zone"
				  " FROM api_keys k JOIN tenants t ON t.id = k.tenant_id"
				  " WHERE k.hash = ?1 AND k.revoked_at IS NULL";
	sqlite3_stmt *st = sq_prep(c, sql, err);
	if (!st)
		return err->code;
	sqlite3_bind_blob(st, 1, hash, ND_KEY_HASH_LEN, SQLITE_STATIC);
	int rc = sq_step(st);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof *out);
		out->tenant_id = sqlite3_column_int64(st, 0);
		nd_role_parse(sq_col_text(st, 1), &out->role);
		nd_copy_str(out->target, sizeof out->target, sq_col_text(st, 2));
		nd_copy_str(out->key_id, sizeof out->key_id, sq_col_text(st, 3));
		nd_copy_str(out->time_zone, sizeof out->time_zone, sq_col_text(st, 4));
	}
	sq_done(st);
	if (rc == SQLITE_ROW)
		return ND_OK;
	if (rc == SQLITE_DONE)
		return nd_fail(err, ND_ERR_NOT_FOUND, NULL, "no valid key with this hash");
	return sq_fail(c, rc, "key lookup", err);
}

/* Remembers @who as the principal of @hash, read at the data version of the
 * connection's last snapshot. */
static void remember(struct sq_conn *c, const unsigned char hash[ND_KEY_HASH_LEN],
		     const struct nd_principal *who)
{
	struct sq_key_memo *m = memo_of(c, hash);
	*m = (struct sq_key_memo){.used = true, .version = data_version(c), .who = *who};
	memcpy(m->hash, hash, ND_KEY_HASH_LEN);
}

static void forget(struct sq_conn *c, const unsigned char hash[ND_KEY_HASH_LEN])
{
	struct sq_key_memo *m = memo_of(c, hash);
	if (m->used && memcmp(m->hash, hash, ND_KEY_HASH_LEN) == 0)
		m->used = false;
}

/* The key's lookup, its outcome remembered for later reads (or the key
 * forgotten when it is no longer valid). */
static enum nd_err lookup_noted(struct sq_conn *c, const unsigned char hash[ND_KEY_HASH_LEN],
				struct nd_principal *out, struct nd_error *err)
{
	enum nd_err e = key_lookup(c, hash, out, err);
	if (e == ND_ERR_NOT_FOUND)
		forget(c, hash);
	else if (!e)
		remember(c, hash, out);
	return e;
}

enum nd_err sq_op_key_auth(struct nd_store_conn *base, const unsigned char hash[ND_KEY_HASH_LEN],
			      struct nd_principal *out, struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	struct sq_key_memo *m = memo_of(c, hash);
	if (c->reading && !c->trusting && m->used && memcmp(m->hash, hash, ND_KEY_HASH_LEN) == 0) {
		*out = m->who;
		c->trusted = *m;
		c->trusting = true;
		return ND_OK;
	}
	return lookup_noted(c, hash, out, err);
}

enum nd_err sq_key_settle(struct sq_conn *c, bool *stale, struct nd_error *err)
{
	if (!c->trusting)
		return ND_OK;
	c->trusting = false;
	const struct sq_key_memo *t = &c->trusted;
	/* A read that has read nothing has no snapshot yet: the lookup takes
	 * one. */
	if (sqlite3_txn_state(c->db, "main") != SQLITE_TXN_NONE && data_version(c) == t->version)
		return ND_OK;
	struct nd_principal now;
	enum nd_err e = lookup_noted(c, t->hash, &now, err);
	if (e)
		return e;
	if (!nd_principal_same(&now, &t->who))
		*stale = true;
	return ND_OK;
}

enum nd_err sq_op_key_list(struct nd_store_conn *base, int64_t tenant_id, nd_key_cb cb,
			      void *arg, struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	static const char sql[] = "SELECT id, role, target, created_at, revoked_at FROM api_keys"
				  " WHERE tenant_id = ?1 ORDER BY created_at, id";
	sqlite3_stmt *st = sq_prep(c, sql, err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, tenant_id);
	int rc, stop = 0;
	while (!stop && (rc = sq_step(st)) == SQLITE_ROW) {
		struct nd_key_row row = {
			.id = sq_col_text(st, 0),
			.target = sq_col_text(st, 2),
			.created_at = sqlite3_column_int64(st, 3),
			.revoked_at = sq_col_time(st, 4),
		};
		nd_role_parse(sq_col_text(st, 1), &row.role);
		stop = cb(arg, &row);
	}
	sq_done(st);
	if (stop)
		return (enum nd_err)stop;
	return rc == SQLITE_DONE ? ND_OK : sq_fail(c, rc, "key list", err);
}

struct revoke_arg {
	int64_t tenant_id;
	const char *id;
};

static enum nd_err key_revoke_tx(struct sq_conn *c, void *arg, struct nd_error *err)
{
	static const char sql[] = "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?3)"
				  " WHERE tenant_id = ?1 AND id = ?2";
	struct revoke_arg *a = arg;
	sqlite3_stmt *st = sq_prep(c, sql, err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, a->tenant_id);
	sqlite3_bind_text(st, 2, a->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, nd_time_now_ms());
	enum nd_err e = sq_exec_stmt(c, st, "key revoke", err);
	if (!e && sqlite3_changes(c->db) == 0)
		return nd_fail(err, ND_ERR_NOT_FOUND, NULL, "key not found");
	return e;
}

enum nd_err sq_op_key_revoke(struct nd_store_conn *base, int64_t tenant_id, const char *id,
				struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	struct revoke_arg a = {tenant_id, id};
	return sq_tx(c, key_revoke_tx, &a, err);
}
