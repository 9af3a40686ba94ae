/* dump.c - PostgreSQL side of moving tenants between stores: streaming
 * every row of a tenant out as records, and loading records back in one
 * transaction (see nd_store_dump and nd_store_load in store.h). Records are
 * those of the SQLite backend (src/store/sqlite/dump.c), in the same order,
 * so a tenant moves between the two backends either way. */
#include "store/postgres/pg.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

struct dump {
	nd_record_cb cb;
	void *arg;
	const char *tenant;
};

static void key_row(PGresult *r, int row, struct nd_record *rec)
{
	size_t n = 0;
	unsigned char *h = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, 0), &n);
	if (h && n == ND_KEY_HASH_LEN)
		memcpy(rec->u.key.hash, h, ND_KEY_HASH_LEN);
	PQfreemem(h);
	nd_role_parse(pg_text(r, row, 1), &rec->u.key.role);
	rec->u.key.target = pg_text(r, row, 2);
	rec->u.key.created_at = pg_int(r, row, 3);
	rec->u.key.revoked_at = pg_time(r, row, 4);
}

static void target_row(PGresult *r, int row, struct nd_record *rec)
{
	pg_read_target(r, row, 0, &rec->u.target);
}

static void segment_row(PGresult *r, int row, struct nd_record *rec)
{
	rec->u.segment.id = (int32_t)pg_int(r, row, 0);
	rec->u.segment.name = pg_text(r, row, 1);
	rec->u.segment.created_at = pg_int(r, row, 2);
}

static void membership_row(PGresult *r, int row, struct nd_record *rec)
{
	rec->u.membership.segment = (int32_t)pg_int(r, row, 0);
	rec->u.membership.target = pg_text(r, row, 1);
	rec->u.membership.created_at = pg_int(r, row, 2);
}

static void campaign_row(PGresult *r, int row, struct nd_record *rec)
{
	rec->u.campaign.id = pg_text(r, row, 0);
	rec->u.campaign.name = pg_text(r, row, 1);
	rec->u.campaign.created_at = pg_int(r, row, 2);
	rec->u.campaign.updated_at = pg_int(r, row, 3);
}

static void notification_row(PGresult *r, int row, struct nd_record *rec)
{
	pg_read_notification(r, row, 0, &rec->u.notification);
}

static void delivery_row(PGresult *r, int row, struct nd_record *rec)
{
	rec->u.delivery.target = pg_text(r, row, 0);
	rec->u.delivery.key = (int32_t)pg_int(r, row, 1);
	/* The uuid's text (NULL reads as ""), in either case. */
	if (!nd_guid_parse(PQgetvalue(r, row, 2), rec->u.delivery.guid))
		memset(rec->u.delivery.guid, 0, sizeof rec->u.delivery.guid);
	rec->u.delivery.routed_at = pg_int(r, row, 3);
	rec->u.delivery.updated_at = pg_time(r, row, 4);
	rec->u.delivery.deleted_at = pg_time(r, row, 5);
	for (int i = 0; i < ND_EV__COUNT; i++)
		rec->u.delivery.at[i] = pg_time(r, row, 6 + i);
}

typedef void (*read_fn)(PGresult *r, int row, struct nd_record *rec);

/* What each kind of record is read with, in the order a load needs them. */
static const struct {
	enum nd_record_kind kind;
	const char *sql;
	read_fn read;
} parts[] = {
	{ND_REC_KEY,
	 "SELECT hash, role, target, created_at, revoked_at FROM api_keys"
	 " WHERE tenant_id = $1 ORDER BY created_at, id",
	 key_row},
	{ND_REC_TARGET,
	 "SELECT " PG_TARGET_COLS " FROM targets t WHERE t.tenant_id = $1 ORDER BY t.tid",
	 target_row},
	{ND_REC_SEGMENT,
	 "SELECT id, name, created_at FROM segments WHERE tenant_id = $1 ORDER BY id", segment_row},
	{ND_REC_MEMBERSHIP,
	 "SELECT m.segment_id, t.ext_id, m.created_at FROM memberships m"
	 " JOIN targets t ON t.tenant_id = m.tenant_id AND t.tid = m.tid"
	 " WHERE m.tenant_id = $1 ORDER BY m.segment_id, m.tid",
	 membership_row},
	{ND_REC_CAMPAIGN,
	 "SELECT id, name, created_at, updated_at FROM campaigns WHERE tenant_id = $1 ORDER BY id",
	 campaign_row},
	{ND_REC_NOTIFICATION,
	 "SELECT " PG_NOTIFICATION_COLS
	 " FROM notifications n WHERE n.tenant_id = $1 ORDER BY n.nkey",
	 notification_row},
	{ND_REC_DELIVERY,
	 "SELECT t.ext_id, d.nkey, d.guid, d.routed_at, d.updated_at, d.deleted_at, d.impression,"
	 " d.activation, d.redirection, d.dismiss, d.read_at, d.completed_at FROM deliveries d"
	 " JOIN targets t ON t.tenant_id = d.tenant_id AND t.tid = d.tid WHERE d.tenant_id = $1"
	 " ORDER BY d.tid, d.routed_at, d.nkey",
	 delivery_row},
};

struct part_arg {
	struct dump *d;
	read_fn read;
	enum nd_record_kind kind;
};

static int part_row(void *arg, PGresult *r, int row)
{
	struct part_arg *a = arg;
	struct nd_record rec = {.kind = a->kind, .tenant = a->d->tenant};
	a->read(r, row, &rec);
	return a->d->cb(a->d->arg, &rec);
}

static enum nd_err dump_tenant(struct pg_conn *c, struct dump *d, int64_t tenant_id,
			       struct nd_error *err)
{
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		struct pg_params p = PG_PARAMS_INIT;
		pg_p_int(&p, tenant_id);
		struct part_arg a = {d, parts[i].read, parts[i].kind};
		enum nd_err e = pg_stream(c, parts[i].sql, NULL, &p, 0, part_row, &a, "dump", err);
		if (e)
			return e;
	}
	return ND_OK;
}

/* A tenant's key and segment counters, read by its id alone: under Citus
 * tenant_counters is distributed, and a join from tenants would ask every
 * shard. */
static enum nd_err read_counters(struct pg_conn *c, int64_t tenant_id, struct nd_record *rec,
				 struct nd_error *err)
{
	static const char sql[] = "SELECT next_notification_key, next_segment_id"
				  " FROM tenant_counters WHERE tenant_id = $1";
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, tenant_id);
	PGresult *r = pg_query(c, sql, &p, "dump", err);
	if (!r)
		return err->code;
	enum nd_err e = ND_OK;
	if (PQntuples(r) == 1) {
		rec->u.tenant.next_notification_key = pg_int(r, 0, 0);
		rec->u.tenant.next_segment_id = pg_int(r, 0, 1);
	} else {
		e = pg_internal(err, "dump: tenant %lld has no counters", (long long)tenant_id);
	}
	PQclear(r);
	return e;
}

static enum nd_err dump_all(struct pg_conn *c, struct dump *d, const char *only,
			    struct nd_error *err)
{
	/* The tenants are few (a reference table under Citus): read at once,
	 * so that each one's rows can then stream on the same connection. */
	static const char sql[] = "SELECT id, name, time_zone, created_at FROM tenants"
				  " WHERE $1::text IS NULL OR name = $1::text ORDER BY id";
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_text(&p, only);
	PGresult *r = pg_query(c, sql, &p, "dump", err);
	if (!r)
		return err->code;
	enum nd_err e = ND_OK;
	int n = PQntuples(r);
	for (int i = 0; !e && i < n; i++) {
		struct nd_record rec = {.kind = ND_REC_TENANT, .tenant = pg_text(r, i, 1)};
		rec.u.tenant.time_zone = pg_text(r, i, 2);
		rec.u.tenant.created_at = pg_int(r, i, 3);
		d->tenant = rec.tenant;
		e = read_counters(c, pg_int(r, i, 0), &rec, err);
		if (!e)
			e = (enum nd_err)d->cb(d->arg, &rec);
		if (!e)
			e = dump_tenant(c, d, pg_int(r, i, 0), err);
	}
	PQclear(r);
	if (!e && only && n == 0)
		return nd_fail(err, ND_ERR_NOT_FOUND, NULL, "tenant not found");
	return e;
}

enum nd_err pg_dump(struct nd_store_conn *base, const char *tenant, nd_record_cb cb, void *arg,
		    struct nd_error *err)
{
	struct pg_conn *c = pg_conn_of(base);
	struct dump d = {cb, arg, NULL};
	/* One snapshot for every record, and no reconnection in the middle. */
	enum nd_err e = pg_ready(c, err);
	if (!e)
		e = pg_simple(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
	if (e)
		return e;
	c->in_tx = true;
	e = dump_all(c, &d, tenant, err);
	c->in_tx = false;
	if (c->pg)
		PQclear(PQexec(c->pg, e ? "ROLLBACK" : "COMMIT"));
	return e;
}

/* --- loading --- */

static void load_reset(struct pg_conn *c)
{
	c->load_tenant = 0;
	free(c->load_tenant_name);
	c->load_tenant_name = NULL;
}

enum nd_err pg_load_begin(struct nd_store_conn *base, struct nd_error *err)
{
	struct pg_conn *c = pg_conn_of(base);
	load_reset(c);
	enum nd_err e = pg_ready(c, err);
	if (!e)
		e = pg_simple(c, "BEGIN", err);
	if (!e)
		c->in_tx = true;
	return e;
}

/* Sets the live counters of the tenant being loaded from its rows, and
 * raises its key and id counters past the keys and ids it was given (a
 * dump's counters are taken as they are only when no loaded row already
 * holds the next value; they are never lowered). */
static enum nd_err recount(struct pg_conn *c, struct nd_error *err)
{
	static const char *const sqls[] = {
		"UPDATE tenant_counters SET deliveries = (SELECT count(*) FROM deliveries"
		" WHERE tenant_id = $1 AND deleted_at IS NULL),"
		" next_notification_key = greatest(next_notification_key,"
		" (SELECT max(nkey)::bigint + 1 FROM notifications WHERE tenant_id = $1)),"
		" next_segment_id = greatest(next_segment_id,"
		" (SELECT max(id)::bigint + 1 FROM segments WHERE tenant_id = $1))"
		" WHERE tenant_id = $1",
		"UPDATE targets t SET deliveries = (SELECT count(*) FROM deliveries d"
		" WHERE d.tenant_id = $1 AND d.tid = t.tid AND d.deleted_at IS NULL)"
		" WHERE t.tenant_id = $1",
		"UPDATE notifications n SET deliveries = (SELECT count(*) FROM deliveries d"
		" WHERE d.tenant_id = $1 AND d.nkey = n.nkey AND d.deleted_at IS NULL)"
		" WHERE n.tenant_id = $1",
		"UPDATE segments s SET members = (SELECT count(*) FROM memberships m"
		" WHERE m.tenant_id = $1 AND m.segment_id = s.id) WHERE s.tenant_id = $1",
	};
	enum nd_err e = ND_OK;
	for (size_t i = 0; !e && c->load_tenant && i < sizeof sqls / sizeof sqls[0]; i++) {
		struct pg_params p = PG_PARAMS_INIT;
		pg_p_int(&p, c->load_tenant);
		e = pg_exec(c, sqls[i], &p, "load counters", NULL, err);
	}
	return e;
}

static enum nd_err load_tenant(struct pg_conn *c, const struct nd_record *rec, struct nd_error *err)
{
	static const char ins[] = "INSERT INTO tenants (name, time_zone, created_at)"
				  " VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING id";
	static const char counters[] =
		"INSERT INTO tenant_counters (tenant_id,"
		" next_notification_key, next_segment_id) VALUES ($1, $2, $3)";
	enum nd_err e = recount(c, err);
	if (e)
		return e;
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_text(&p, rec->tenant);
	pg_p_text(&p, rec->u.tenant.time_zone);
	pg_p_int(&p, rec->u.tenant.created_at);
	PGresult *r;
	e = pg_row(c, ins, &p, "load tenant", "tenant already exists", &r, err);
	if (e)
		return e == ND_ERR_NOT_FOUND
			       ? nd_fail(err, ND_ERR_CONFLICT, NULL, "tenant already exists")
			       : e;
	c->load_tenant = pg_int(r, 0, 0);
	PQclear(r);
	p = (struct pg_params)PG_PARAMS_INIT;
	pg_p_int(&p, c->load_tenant);
	pg_p_int(&p, rec->u.tenant.next_notification_key);
	pg_p_int(&p, rec->u.tenant.next_segment_id);
	if ((e = pg_exec(c, counters, &p, "load tenant", NULL, err)))
		return e;
	free(c->load_tenant_name);
	c->load_tenant_name = nd_xstrdup(rec->tenant);
	return ND_OK;
}

static const char *const load_sql[ND_REC__COUNT] = {
	[ND_REC_KEY] = "INSERT INTO api_keys (tenant_id, hash, id, role, target, created_at,"
		       " revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
	[ND_REC_TARGET] =
		"INSERT INTO targets (tenant_id, ext_id, name, email, profile, attributes,"
		" created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
	[ND_REC_SEGMENT] = "INSERT INTO segments (tenant_id, id, name, created_at)"
			   " VALUES ($1, $2, $3, $4)",
	[ND_REC_MEMBERSHIP] = "INSERT INTO memberships (tenant_id, segment_id, tid, created_at)"
			      " SELECT $1, $2::integer, $3, $4 WHERE EXISTS (SELECT 1 FROM segments"
			      " WHERE tenant_id = $1 AND id = $2::integer)",
	[ND_REC_CAMPAIGN] = "INSERT INTO campaigns (tenant_id, id, name, created_at, updated_at)"
			    " VALUES ($1, $2, $3, $4, $5)",
	[ND_REC_NOTIFICATION] = PG_NOTIFICATION_INSERT("", ""),
	[ND_REC_DELIVERY] =
		"INSERT INTO deliveries (tenant_id, tid, routed_at, nkey, guid, updated_at,"
		" deleted_at, impression, activation, redirection, dismiss, read_at, completed_at)"
		" SELECT $1, $2::bigint, $3::bigint, $4::integer, $5::uuid, coalesce($6::bigint,"
		" $3::bigint), $7::bigint, $8::bigint, $9::bigint, $10::bigint, $11::bigint,"
		" $12::bigint, $13::bigint"
		" WHERE EXISTS (SELECT 1 FROM notifications"
		" WHERE tenant_id = $1 AND nkey = $4::integer AND date_started = $3::bigint)",
};

/* Fills @p for @rec's statement; a target it names must be loaded. */
static enum nd_err bind_record(struct pg_conn *c, struct pg_params *p, const struct nd_record *rec,
			       unsigned char guid[16], char id[ND_KEY_ID_LEN + 1],
			       struct nd_error *err)
{
	int64_t tid;
	enum nd_err e;
	pg_p_int(p, c->load_tenant);
	switch (rec->kind) {
	case ND_REC_KEY:
		nd_key_id(rec->u.key.hash, id);
		pg_p_bin(p, rec->u.key.hash, ND_KEY_HASH_LEN);
		pg_p_text(p, id);
		pg_p_text(p, nd_role_name(rec->u.key.role));
		pg_p_text(p, rec->u.key.target);
		pg_p_int(p, rec->u.key.created_at);
		pg_p_time(p, rec->u.key.revoked_at);
		return ND_OK;
	case ND_REC_TARGET: {
		const struct nd_target *t = &rec->u.target;
		pg_p_text(p, t->id);
		pg_p_text(p, t->name);
		pg_p_text(p, t->email);
		pg_p_text(p, t->profile);
		pg_p_text(p, t->attributes ? t->attributes : "{}");
		pg_p_int(p, t->created_at);
		pg_p_int(p, t->updated_at);
		return ND_OK;
	}
	case ND_REC_SEGMENT:
		pg_p_int(p, rec->u.segment.id);
		pg_p_text(p, rec->u.segment.name);
		pg_p_int(p, rec->u.segment.created_at);
		return ND_OK;
	case ND_REC_MEMBERSHIP:
		e = pg_target_tid(c, c->load_tenant, rec->u.membership.target, PG_TARGET_FIND, &tid,
				  err);
		if (e)
			return e;
		pg_p_int(p, rec->u.membership.segment);
		pg_p_int(p, tid);
		pg_p_int(p, rec->u.membership.created_at);
		return ND_OK;
	case ND_REC_CAMPAIGN:
		pg_p_text(p, rec->u.campaign.id);
		pg_p_text(p, rec->u.campaign.name);
		pg_p_int(p, rec->u.campaign.created_at);
		pg_p_int(p, rec->u.campaign.updated_at);
		return ND_OK;
	case ND_REC_NOTIFICATION: {
		const struct nd_notification *n = &rec->u.notification;
		if (!nd_guid_parse(n->guid, guid))
			return nd_fail(err, ND_ERR_INTERNAL, NULL, "notification without a GUID");
		pg_p_notification(p, n, guid);
		return ND_OK;
	}
	case ND_REC_DELIVERY:
		e = pg_target_tid(c, c->load_tenant, rec->u.delivery.target, PG_TARGET_FIND, &tid,
				  err);
		if (e)
			return e;
		pg_p_int(p, tid);
		pg_p_int(p, rec->u.delivery.routed_at);
		pg_p_int(p, rec->u.delivery.key);
		pg_p_bin(p, rec->u.delivery.guid, 16);
		pg_p_time(p, rec->u.delivery.updated_at);
		pg_p_time(p, rec->u.delivery.deleted_at);
		for (int i = 0; i < ND_EV__COUNT; i++)
			pg_p_time(p, rec->u.delivery.at[i]);
		return ND_OK;
	default:
		return nd_fail(err, ND_ERR_INTERNAL, NULL, "unknown record kind");
	}
}

/* A live delivery's GUID names one delivery of its tenant (API3 GET and
 * DELETE find it by that id): a second one is a conflict. */
static enum nd_err live_guid_free(struct pg_conn *c, const struct nd_record *rec,
				  struct nd_error *err)
{
	static const char sql[] = "SELECT 1 FROM deliveries WHERE tenant_id = $1 AND guid = $2"
				  " AND deleted_at IS NULL";
	if (rec->kind != ND_REC_DELIVERY || rec->u.delivery.deleted_at != ND_NO_TIME)
		return ND_OK;
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, c->load_tenant);
	pg_p_bin(&p, rec->u.delivery.guid, 16);
	PGresult *r;
	enum nd_err e = pg_row(c, sql, &p, "load delivery id", "", &r, err);
	if (e == ND_ERR_NOT_FOUND)
		return ND_OK;
	if (!e) {
		PQclear(r);
		e = nd_fail(err, ND_ERR_CONFLICT, NULL, "delivery id already stored");
	}
	return e;
}

enum nd_err pg_load(struct nd_store_conn *base, const struct nd_record *rec, struct nd_error *err)
{
	struct pg_conn *c = pg_conn_of(base);
	if (!c->in_tx)
		return nd_fail(err, ND_ERR_INTERNAL, NULL, "load without load_begin");
	if (rec->kind == ND_REC_TENANT)
		return load_tenant(c, rec, err);
	if ((unsigned)rec->kind >= ND_REC__COUNT || !load_sql[rec->kind])
		return nd_fail(err, ND_ERR_INTERNAL, NULL, "unknown record kind");
	if (!c->load_tenant_name || strcmp(rec->tenant, c->load_tenant_name) != 0)
		return nd_fail(err, ND_ERR_NOT_FOUND, NULL, "record before its tenant");
	enum nd_err e = live_guid_free(c, rec, err);
	if (e)
		return e;
	struct pg_params p = PG_PARAMS_INIT;
	unsigned char guid[16];
	char id[ND_KEY_ID_LEN + 1];
	int64_t n;
	e = bind_record(c, &p, rec, guid, id, err);
	if (!e)
		e = pg_exec(c, load_sql[rec->kind], &p, "load", &n, err);
	if (!e && n == 0) /* the EXISTS guard: a reference is missing */
		return nd_fail(err, ND_ERR_NOT_FOUND, NULL, "record before what it refers to");
	return e;
}

enum nd_err pg_load_end(struct nd_store_conn *base, bool commit, struct nd_error *err)
{
	struct pg_conn *c = pg_conn_of(base);
	enum nd_err e = ND_OK;
	if (!c->pg)
		e = commit ? nd_fail(err, ND_ERR_BUSY, NULL,
				     "the database is unavailable, try again")
			   : ND_OK;
	else if (commit && !(e = recount(c, err)))
		e = pg_simple(c, "COMMIT", err);
	if (c->pg && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		PQclear(PQexec(c->pg, "ROLLBACK"));
	c->in_tx = false;
	load_reset(c);
	return e;
}
