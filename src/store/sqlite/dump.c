/* dump.c - SQLite side of moving tenants between stores: streaming every
 * row of a tenant out as records, and loading records back in one
 * transaction (see nd_store_dump and nd_store_load in store.h). */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sq.h"
#include "util/mem.h"

struct dump {
	struct sq_conn *c;
	nd_record_cb cb;
	void *arg;
	const char *tenant;
	struct nd_error *err;
};

typedef void (*row_fn)(sqlite3_stmt *st, struct nd_record *rec);

static void key_row(sqlite3_stmt *st, struct nd_record *rec)
{
	const void *h = sqlite3_column_blob(st, 0);
	if (h && sqlite3_column_bytes(st, 0) == ND_KEY_HASH_LEN)
		memcpy(rec->u.key.hash, h, ND_KEY_HASH_LEN);
	nd_role_parse(sq_col_text(st, 1), &rec->u.key.role);
	rec->u.key.target = sq_col_text(st, 2);
	rec->u.key.created_at = sqlite3_column_int64(st, 3);
	rec->u.key.revoked_at = sq_col_time(st, 4);
}

static void target_row(sqlite3_stmt *st, struct nd_record *rec)
{
	sq_read_target(st, 0, &rec->u.target);
}

static void segment_row(sqlite3_stmt *st, struct nd_record *rec)
{
	rec->u.segment.id = sqlite3_column_int(st, 0);
	rec->u.segment.name = sq_col_text(st, 1);
	rec->u.segment.created_at = sqlite3_column_int64(st, 2);
}

static void membership_row(sqlite3_stmt *st, struct nd_record *rec)
{
	rec->u.membership.segment = sqlite3_column_int(st, 0);
	rec->u.membership.target = sq_col_text(st, 1);
	rec->u.membership.created_at = sqlite3_column_int64(st, 2);
}

static void campaign_row(sqlite3_stmt *st, struct nd_record *rec)
{
	rec->u.campaign.id = sq_col_text(st, 0);
	rec->u.campaign.name = sq_col_text(st, 1);
	rec->u.campaign.created_at = sqlite3_column_int64(st, 2);
	rec->u.campaign.updated_at = sqlite3_column_int64(st, 3);
}

static void notification_row(sqlite3_stmt *st, struct nd_record *rec)
{
	sq_read_notification(st, 0, &rec->u.notification);
}

static void delivery_row(sqlite3_stmt *st, struct nd_record *rec)
{
	rec->u.delivery.target = sq_col_text(st, 0);
	rec->u.delivery.key = sqlite3_column_int(st, 1);
	const void *g = sqlite3_column_blob(st, 2);
	if (g && sqlite3_column_bytes(st, 2) == 16)
		memcpy(rec->u.delivery.guid, g, 16);
	rec->u.delivery.routed_at = sqlite3_column_int64(st, 3);
	rec->u.delivery.updated_at = sq_col_time(st, 4);
	rec->u.delivery.deleted_at = sq_col_time(st, 5);
	for (int i = 0; i < ND_EV__COUNT; i++)
		rec->u.delivery.at[i] = sq_col_time(st, 6 + i);
}

/* What each kind of record is read with, in the order a load needs them. */
static const struct {
	enum nd_record_kind kind;
	const char *sql;
	row_fn read;
} parts[] = {
	{ND_REC_KEY,
	 "SELECT hash, role, target, created_at, revoked_at FROM api_keys"
	 " WHERE tenant_id = ?1 ORDER BY created_at, id",
	 key_row},
	{ND_REC_TARGET, "SELECT " SQ_TARGET_COLS " FROM targets t WHERE t.tenant_id = ?1 ORDER BY t.tid",
	 target_row},
	{ND_REC_SEGMENT, "SELECT id, name, created_at FROM segments WHERE tenant_id = ?1 ORDER BY id",
	 segment_row},
	{ND_REC_MEMBERSHIP,
	 "SELECT m.segment_id, t.ext_id, m.created_at FROM memberships m"
	 " JOIN targets t ON t.tid = m.tid WHERE m.tenant_id = ?1 ORDER BY m.segment_id, m.tid",
	 membership_row},
	{ND_REC_CAMPAIGN,
	 "SELECT id, name, created_at, updated_at FROM campaigns WHERE tenant_id = ?1 ORDER BY id",
	 campaign_row},
	{ND_REC_NOTIFICATION,
	 "SELECT " SQ_NOTIFICATION_COLS " FROM notifications n WHERE n.tenant_id = ?1 ORDER BY n.nkey",
	 notification_row},
	{ND_REC_DELIVERY,
	 "SELECT t.ext_id, d.nkey, d.guid, d.routed_at, d.updated_at, d.deleted_at, d.impression,"
	 " d.activation, d.redirection, d.dismiss, d.read_at, d.completed_at FROM deliveries d"
	 " JOIN targets t ON t.tid = d.tid WHERE d.tenant_id = ?1"
	 " ORDER BY d.tid, d.routed_at, d.nkey",
	 delivery_row},
};

static enum nd_err dump_tenant(struct dump *d, int64_t tenant_id)
{
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		sqlite3_stmt *st = sq_prep(d->c, parts[i].sql, d->err);
		if (!st)
			return d->err->code;
		sqlite3_bind_int64(st, 1, tenant_id);
		int rc, stop = 0;
		while (!stop && (rc = sq_step(st)) == SQLITE_ROW) {
			struct nd_record rec = {.kind = parts[i].kind, .tenant = d->tenant};
			parts[i].read(st, &rec);
			stop = d->cb(d->arg, &rec);
		}
		sq_done(st);
		if (stop)
			return (enum nd_err)stop;
		if (rc != SQLITE_DONE)
			return sq_fail(d->c, rc, "dump", d->err);
	}
	return ND_OK;
}

static enum nd_err dump_all(struct dump *d, const char *only)
{
	static const char sql[] = "SELECT id, name, time_zone, next_notification_key,"
				  " next_segment_id, created_at FROM tenants"
				  " WHERE ?1 IS NULL OR name = ?1 ORDER BY id";
	sqlite3_stmt *st = sq_prep(d->c, sql, d->err);
	if (!st)
		return d->err->code;
	sq_bind_text(st, 1, only);
	int rc, stop = 0;
	size_t n = 0;
	enum nd_err e = ND_OK;
	while (!e && !stop && (rc = sq_step(st)) == SQLITE_ROW) {
		struct nd_record rec = {.kind = ND_REC_TENANT, .tenant = sq_col_text(st, 1)};
		rec.u.tenant.time_zone = sq_col_text(st, 2);
		rec.u.tenant.next_notification_key = sqlite3_column_int64(st, 3);
		rec.u.tenant.next_segment_id = sqlite3_column_int64(st, 4);
		rec.u.tenant.created_at = sqlite3_column_int64(st, 5);
		d->tenant = rec.tenant;
		n++;
		stop = d->cb(d->arg, &rec);
		if (!stop)
			e = dump_tenant(d, sqlite3_column_int64(st, 0));
	}
	sq_done(st);
	if (e || stop)
		return e ? e : (enum nd_err)stop;
	if (rc != SQLITE_DONE)
		return sq_fail(d->c, rc, "dump", d->err);
	if (only && n == 0)
		return nd_fail(d->err, ND_ERR_NOT_FOUND, NULL, "tenant not found");
	return ND_OK;
}

enum nd_err sq_op_dump(struct nd_store_conn *base, const char *tenant, nd_record_cb cb,
		       void *arg, struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	struct dump d = {c, cb, arg, NULL, err};
	/* One read transaction: every record comes from the same snapshot. */
	int rc = sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(c, rc, "dump begin", err);
	enum nd_err e = dump_all(&d, tenant);
	sqlite3_exec(c->db, e ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
	return e;
}

/* --- loading --- */

void sq_load_reset(struct sq_conn *c)
{
	c->loading = false;
	c->load_tenant = 0;
	free(c->load_tenant_name);
	c->load_tenant_name = NULL;
}

enum nd_err sq_op_load_begin(struct nd_store_conn *base, struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	sq_load_reset(c);
	int rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(c, rc, "load begin", err);
	c->loading = true;
	return ND_OK;
}

/* Sets the live counters of the tenant being loaded from its rows, and
 * raises its key and id counters past the keys and ids it was given (a
 * dump's counters are taken as they are only when no loaded row already
 * holds the next value; they are never lowered). */
static enum nd_err recount(struct sq_conn *c, struct nd_error *err)
{
	static const char *const sqls[] = {
		/* max() of several values is NULL when one is: hence coalesce. */
		"UPDATE tenants SET deliveries = (SELECT count(*) FROM deliveries"
		" WHERE tenant_id = ?1 AND deleted_at IS NULL),"
		" next_notification_key = max(next_notification_key,"
		" coalesce((SELECT max(nkey) FROM notifications WHERE tenant_id = ?1) + 1,"
		" next_notification_key)),"
		" next_segment_id = max(next_segment_id,"
		" coalesce((SELECT max(id) FROM segments WHERE tenant_id = ?1) + 1, next_segment_id))"
		" WHERE id = ?1",
		"UPDATE targets SET deliveries = (SELECT count(*) FROM deliveries d"
		" WHERE d.tenant_id = ?1 AND d.tid = targets.tid AND d.deleted_at IS NULL)"
		" WHERE tenant_id = ?1",
		"UPDATE notifications SET deliveries = (SELECT count(*) FROM deliveries d"
		" WHERE d.tenant_id = ?1 AND d.nkey = notifications.nkey AND d.deleted_at IS NULL)"
		" WHERE tenant_id = ?1",
		"UPDATE segments SET members = (SELECT count(*) FROM memberships m"
		" WHERE m.tenant_id = ?1 AND m.segment_id = segments.id) WHERE tenant_id = ?1",
	};
	enum nd_err e = ND_OK;
	for (size_t i = 0; !e && c->load_tenant && i < sizeof sqls / sizeof sqls[0]; i++) {
		sqlite3_stmt *st = sq_prep(c, sqls[i], err);
		if (!st)
			return err->code;
		sqlite3_bind_int64(st, 1, c->load_tenant);
		e = sq_exec_stmt(c, st, "load counters", err);
	}
	return e;
}

static enum nd_err load_tenant(struct sq_conn *c, const struct nd_record *rec,
			       struct nd_error *err)
{
	static const char ins[] = "INSERT INTO tenants (name, time_zone, next_notification_key,"
				  " next_segment_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)"
				  " ON CONFLICT (name) DO NOTHING RETURNING id";
	enum nd_err e = recount(c, err);
	if (e)
		return e;
	sqlite3_stmt *st = sq_prep(c, ins, err);
	if (!st)
		return err->code;
	sqlite3_bind_text(st, 1, rec->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rec->u.tenant.time_zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, rec->u.tenant.next_notification_key);
	sqlite3_bind_int64(st, 4, rec->u.tenant.next_segment_id);
	sqlite3_bind_int64(st, 5, rec->u.tenant.created_at);
	e = sq_row(c, st, "load tenant", "tenant already exists", err);
	if (e)
		return e == ND_ERR_NOT_FOUND ? nd_fail(err, ND_ERR_CONFLICT, NULL, "tenant already exists")
					     : e;
	c->load_tenant = sqlite3_column_int64(st, 0);
	sq_done(st);
	free(c->load_tenant_name);
	c->load_tenant_name = nd_xstrdup(rec->tenant);
	return ND_OK;
}

static enum nd_err bind_record(struct sq_conn *c, sqlite3_stmt *st, const struct nd_record *rec,
			       struct nd_error *err)
{
	int64_t tid;
	enum nd_err e;
	const char *target;
	sqlite3_bind_int64(st, 1, c->load_tenant);
	switch (rec->kind) {
	case ND_REC_KEY: {
		char id[ND_KEY_ID_LEN + 1];
		nd_key_id(rec->u.key.hash, id);
		sqlite3_bind_blob(st, 2, rec->u.key.hash, ND_KEY_HASH_LEN, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, nd_role_name(rec->u.key.role), -1, SQLITE_STATIC);
		sq_bind_text(st, 5, rec->u.key.target);
		sqlite3_bind_int64(st, 6, rec->u.key.created_at);
		sq_bind_time(st, 7, rec->u.key.revoked_at);
		return ND_OK;
	}
	case ND_REC_TARGET: {
		const struct nd_target *t = &rec->u.target;
		sqlite3_bind_text(st, 2, t->id, -1, SQLITE_STATIC);
		sq_bind_text(st, 3, t->name);
		sq_bind_text(st, 4, t->email);
		sq_bind_text(st, 5, t->profile);
		sqlite3_bind_text(st, 6, t->attributes ? t->attributes : "{}", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, t->created_at);
		sqlite3_bind_int64(st, 8, t->updated_at);
		return ND_OK;
	}
	case ND_REC_SEGMENT:
		sqlite3_bind_int(st, 2, rec->u.segment.id);
		sqlite3_bind_text(st, 3, rec->u.segment.name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, rec->u.segment.created_at);
		return ND_OK;
	case ND_REC_MEMBERSHIP:
		target = rec->u.membership.target;
		if ((e = sq_target_tid(c, c->load_tenant, target, false, &tid, err)))
			return e;
		sqlite3_bind_int(st, 2, rec->u.membership.segment);
		sqlite3_bind_int64(st, 3, tid);
		sqlite3_bind_int64(st, 4, rec->u.membership.created_at);
		return ND_OK;
	case ND_REC_CAMPAIGN:
		sqlite3_bind_text(st, 2, rec->u.campaign.id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, rec->u.campaign.name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, rec->u.campaign.created_at);
		sqlite3_bind_int64(st, 5, rec->u.campaign.updated_at);
		return ND_OK;
	case ND_REC_NOTIFICATION: {
		const struct nd_notification *n = &rec->u.notification;
		unsigned char guid[16];
		if (!nd_guid_parse(n->guid, guid))
			return nd_fail(err, ND_ERR_INTERNAL, NULL, "notification without a GUID");
		sq_bind_notification(st, c->load_tenant, n, guid);
		return ND_OK;
	}
	case ND_REC_DELIVERY:
		target = rec->u.delivery.target;
		if ((e = sq_target_tid(c, c->load_tenant, target, false, &tid, err)))
			return e;
		sqlite3_bind_int64(st, 2, tid);
		sqlite3_bind_int64(st, 3, rec->u.delivery.routed_at);
		sqlite3_bind_int(st, 4, rec->u.delivery.key);
		sqlite3_bind_blob(st, 5, rec->u.delivery.guid, 16, SQLITE_STATIC);
		sq_bind_time(st, 6, rec->u.delivery.updated_at);
		sq_bind_time(st, 7, rec->u.delivery.deleted_at);
		for (int i = 0; i < ND_EV__COUNT; i++)
			sq_bind_time(st, 8 + i, rec->u.delivery.at[i]);
		return ND_OK;
	default:
		return nd_fail(err, ND_ERR_INTERNAL, NULL, "unknown record kind");
	}
}

static const char *const load_sql[ND_REC__COUNT] = {
	[ND_REC_KEY] = "INSERT INTO api_keys (tenant_id, hash, id, role, target, created_at,"
		       " revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ND_REC_TARGET] = "INSERT INTO targets (tenant_id, ext_id, name, email, profile, attributes,"
			  " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ND_REC_SEGMENT] = "INSERT INTO segments (tenant_id, id, name, created_at)"
			   " VALUES (?1, ?2, ?3, ?4)",
	[ND_REC_MEMBERSHIP] = "INSERT INTO memberships (tenant_id, segment_id, tid, created_at)"
			      " SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM segments"
			      " WHERE tenant_id = ?1 AND id = ?2)",
	[ND_REC_CAMPAIGN] = "INSERT INTO campaigns (tenant_id, id, name, created_at, updated_at)"
			    " VALUES (?1, ?2, ?3, ?4, ?5)",
	[ND_REC_NOTIFICATION] = sq_notification_insert,
	[ND_REC_DELIVERY] =
		"INSERT INTO deliveries (tenant_id, tid, routed_at, nkey, guid, updated_at, deleted_at,"
		" impression, activation, redirection, dismiss, read_at, completed_at)"
		" SELECT ?1, ?2, ?3, ?4, ?5, coalesce(?6, ?3), ?7, ?8, ?9, ?10, ?11, ?12, ?13"
		" WHERE EXISTS (SELECT 1 FROM notifications WHERE tenant_id = ?1 AND nkey = ?4"
		" AND date_started = ?3)",
};

/* A live delivery's GUID names one delivery of its tenant (API3 GET and
 * DELETE find it by that id): a second one is a conflict. */
static enum nd_err live_guid_free(struct sq_conn *c, const struct nd_record *rec,
				  struct nd_error *err)
{
	static const char sql[] = "SELECT 1 FROM deliveries WHERE tenant_id = ?1"
				  " AND deleted_at IS NULL AND guid = ?2";
	if (rec->kind != ND_REC_DELIVERY || rec->u.delivery.deleted_at != ND_NO_TIME)
		return ND_OK;
	sqlite3_stmt *st = sq_prep(c, sql, err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, c->load_tenant);
	sqlite3_bind_blob(st, 2, rec->u.delivery.guid, 16, SQLITE_STATIC);
	enum nd_err e = sq_row(c, st, "load delivery id", "", err);
	if (e == ND_ERR_NOT_FOUND)
		return ND_OK;
	if (!e) {
		sq_done(st);
		e = nd_fail(err, ND_ERR_CONFLICT, NULL, "delivery id already stored");
	}
	return e;
}

enum nd_err sq_op_load(struct nd_store_conn *base, const struct nd_record *rec,
		       struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	if (!c->loading)
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
	sqlite3_stmt *st = sq_prep(c, load_sql[rec->kind], err);
	if (!st)
		return err->code;
	e = bind_record(c, st, rec, err);
	if (e) {
		sq_done(st);
		return e;
	}
	if ((e = sq_exec_stmt(c, st, "load", err)))
		return e; /* a row with the same key is ND_ERR_CONFLICT (sq_fail) */
	if (sqlite3_changes(c->db) == 0) /* the EXISTS guard: a reference is missing */
		return nd_fail(err, ND_ERR_NOT_FOUND, NULL, "record before what it refers to");
	return ND_OK;
}

enum nd_err sq_op_load_end(struct nd_store_conn *base, bool commit, struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	enum nd_err e = commit ? recount(c, err) : ND_OK;
	if (commit && !e) {
		int rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
		/* Before the ROLLBACK below, which would replace the engine's
		 * message about the COMMIT with its own. */
		if (rc != SQLITE_OK)
			e = sq_fail(c, rc, "load commit", err);
	}
	if (!commit || e)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	sq_load_reset(c);
	return e;
}
