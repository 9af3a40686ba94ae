/* notifications.c - SQLite queries for notifications, deliveries and events. */
#include "store/sqlite/sq.h"

#include <string.h>

#include "util/time.h"

struct create_arg {
	int64_t tenant_id;
	struct nd_notification *n;
	const struct nd_recipients *to;
	int64_t deliveries;
	struct nd_missing_ref *miss;
};

static enum nd_err check_refs(struct sq_conn *c, const struct create_arg *a,
			      struct nd_error *err)
{
	enum nd_err e = ND_OK;
	if (a->n->campaign_id) {
		e = sq_campaign_exists(c, a->tenant_id, a->n->campaign_id, err);
		if (e == ND_ERR_NOT_FOUND)
			a->miss->kind = ND_REF_CAMPAIGN;
	}
	for (size_t i = 0; !e && i < a->to->nsegments; i++) {
		e = sq_segment_exists(c, a->tenant_id, a->to->segments[i], err);
		if (e == ND_ERR_NOT_FOUND)
			*a->miss = (struct nd_missing_ref){ND_REF_SEGMENT, a->to->segments[i]};
	}
	return e;
}

static enum nd_err insert_notification(struct sq_conn *c, struct create_arg *a,
				       struct nd_error *err)
{
	static const char bump[] = "UPDATE tenants SET next_notification_key = next_notification_key + 1"
				   " WHERE id = ?1 RETURNING next_notification_key - 1";
	struct nd_notification *n = a->n;
	sqlite3_stmt *st = sq_prep(c, bump, err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, a->tenant_id);
	int rc = sq_step(st);
	int64_t key = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sq_done(st);
	if (rc != SQLITE_ROW)
		return sq_fail(c, rc, "notification key", err);
	if (key > INT32_MAX)
		return nd_fail(err, ND_ERR_CONFLICT, NULL, "notification keys used up");
	n->key = (int32_t)key;
	unsigned char guid[16];
	nd_guid_new(guid, n->guid);
	n->created_at = nd_time_now_ms();
	if (!(st = sq_prep(c, sq_notification_insert, err)))
		return err->code;
	sq_bind_notification(st, a->tenant_id, n, guid);
	return sq_exec_stmt(c, st, "notification insert", err);
}

/* Adds the new notification's deliveries to the live counters of the
 * tenant, the notification and each recipient. */
static enum nd_err count_new_deliveries(struct sq_conn *c, const struct create_arg *a,
					struct nd_error *err)
{
	static const char *const sqls[] = {
		"UPDATE tenants SET deliveries = deliveries + ?3 WHERE id = ?1",
		"UPDATE notifications SET deliveries = ?3 WHERE tenant_id = ?1 AND nkey = ?2",
		"UPDATE targets SET deliveries = deliveries + 1 WHERE tid IN"
		" (SELECT tid FROM deliveries WHERE tenant_id = ?1 AND nkey = ?2)",
	};
	enum nd_err e = ND_OK;
	for (size_t i = 0; !e && i < sizeof sqls / sizeof sqls[0]; i++) {
		sqlite3_stmt *st = sq_prep(c, sqls[i], err);
		if (!st)
			return err->code;
		sqlite3_bind_int64(st, 1, a->tenant_id);
		sqlite3_bind_int(st, 2, a->n->key);
		sqlite3_bind_int64(st, 3, a->deliveries);
		e = sq_exec_stmt(c, st, "delivery counters", err);
	}
	return e;
}

static enum nd_err create_tx(struct sq_conn *c, void *arg, struct nd_error *err)
{
	/* ON CONFLICT DO NOTHING makes a recipient named twice (or reached
	 * through two segments) receive one delivery. */
	static const char one[] = "INSERT INTO deliveries (tenant_id, tid, routed_at, nkey, guid,"
				  " updated_at) VALUES (?1, ?2, ?3, ?4, notifd_guid(), ?5)"
				  " ON CONFLICT DO NOTHING";
	static const char seg[] = "INSERT INTO deliveries (tenant_id, tid, routed_at, nkey, guid,"
				  " updated_at) SELECT ?1, m.tid, ?3, ?4, notifd_guid(), ?5"
				  " FROM memberships m WHERE m.tenant_id = ?1 AND m.segment_id = ?2"
				  " ON CONFLICT DO NOTHING";
	struct create_arg *a = arg;
	a->deliveries = 0;
	enum nd_err e = check_refs(c, a, err);
	if (!e)
		e = insert_notification(c, a, err);
	for (size_t i = 0; !e && i < a->to->ntargets; i++) {
		int64_t tid;
		e = sq_target_tid(c, a->tenant_id, a->to->targets[i], true, &tid, err);
		if (e)
			break;
		sqlite3_stmt *st = sq_prep(c, one, err);
		if (!st)
			return err->code;
		sqlite3_bind_int64(st, 1, a->tenant_id);
		sqlite3_bind_int64(st, 2, tid);
		sqlite3_bind_int64(st, 3, a->n->date_started);
		sqlite3_bind_int(st, 4, a->n->key);
		sqlite3_bind_int64(st, 5, a->n->created_at);
		e = sq_exec_stmt(c, st, "delivery insert", err);
		a->deliveries += sqlite3_changes(c->db);
	}
	for (size_t i = 0; !e && i < a->to->nsegments; i++) {
		sqlite3_stmt *st = sq_prep(c, seg, err);
		if (!st)
			return err->code;
		sqlite3_bind_int64(st, 1, a->tenant_id);
		sqlite3_bind_int(st, 2, a->to->segments[i]);
		sqlite3_bind_int64(st, 3, a->n->date_started);
		sqlite3_bind_int(st, 4, a->n->key);
		sqlite3_bind_int64(st, 5, a->n->created_at);
		e = sq_exec_stmt(c, st, "segment fan-out", err);
		a->deliveries += sqlite3_changes(c->db);
	}
	if (!e)
		e = count_new_deliveries(c, a, err);
	return e;
}

enum nd_err sq_op_notification_create(struct nd_store_conn *base, int64_t tenant_id,
					 struct nd_notification *n,
					 const struct nd_recipients *to,
					 int64_t *deliveries, struct nd_missing_ref *miss,
					 struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	struct create_arg a = {tenant_id, n, to, 0, miss};
	enum nd_err e = sq_tx(c, create_tx, &a, err);
	if (!e)
		*deliveries = a.deliveries;
	return e;
}

enum nd_err sq_op_notification_get(struct nd_store_conn *base, int64_t tenant_id, int32_t key,
				      nd_notification_cb cb, void *arg, struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	static const char sql[] =
		"SELECT " SQ_NOTIFICATION_COLS ", n.deliveries"
		" FROM notifications n WHERE n.tenant_id = ?1 AND n.nkey = ?2";
	sqlite3_stmt *st = sq_prep(c, sql, err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, tenant_id);
	sqlite3_bind_int(st, 2, key);
	enum nd_err e = sq_row(c, st, "notification get", "notification not found", err);
	if (e)
		return e;
	struct nd_notification n;
	sq_read_notification(st, 0, &n);
	n.deliveries = sqlite3_column_int64(st, SQ_NOTIFICATION_NCOLS);
	int ret = cb(arg, &n);
	sq_done(st);
	return (enum nd_err)ret;
}

enum nd_err sq_notification_cached(struct sq_conn *c, int64_t tenant_id, int32_t key,
				   struct nd_notification *tmp, sqlite3_stmt **st,
				   const struct nd_notification **out, struct nd_error *err)
{
	static const char sql[] = "SELECT " SQ_NOTIFICATION_COLS
				  " FROM notifications n WHERE n.tenant_id = ?1 AND n.nkey = ?2";
	*out = nd_ncache_get(&c->notifications, tenant_id, key);
	if (*out)
		return ND_OK;
	*st = sq_prep(c, sql, err);
	if (!*st)
		return err->code;
	sqlite3_bind_int64(*st, 1, tenant_id);
	sqlite3_bind_int(*st, 2, key);
	enum nd_err e = sq_row(c, *st, "notification", "notification not found", err);
	if (e) {
		*st = NULL;
		return e == ND_ERR_NOT_FOUND ? nd_ncache_missing(tenant_id, key, err) : e;
	}
	sq_read_notification(*st, 0, tmp);
	*out = nd_ncache_put(&c->notifications, tenant_id, tmp);
	if (*out) {
		sq_done(*st);
		*st = NULL;
	} else {
		*out = tmp;
	}
	return ND_OK;
}

/* The first rows of a feed read the delivery columns alone and take each
 * row's notification from the connection's cache (store/ncache.h): the
 * newest notifications are the ones every target's feed shows. A continued
 * walk (a stream's later batches, a later page) joins them instead: a target
 * holds each notification once, so past the newest rows the cache misses on
 * almost every row, and the join's seek costs a third of a lookup of its own.
 * The target's row id is looked up inside the statement; both end on d.nkey.
 * The keyset condition is spelt out rather than as a row value so that the
 * planner bounds the primary-key range with it. */
#define FEED_OWN "SELECT " SQ_DELIVERY_OWN_COLS ", d.nkey FROM deliveries d"
#define FEED_JOINED                                                                \
	"SELECT " SQ_DELIVERY_COLS ", d.nkey FROM deliveries d LEFT JOIN notifications n" \
	" ON n.tenant_id = d.tenant_id AND n.nkey = d.nkey"
#define FEED_WHERE                                                                 \
	" WHERE d.tenant_id = ?1 AND d.deleted_at IS NULL"                         \
	" AND d.tid = (SELECT tid FROM targets WHERE tenant_id = ?1 AND ext_id = ?2)" \
	" AND d.routed_at >= ?3 AND d.routed_at < ?4"
#define FEED_ASC                                                                   \
	FEED_WHERE " AND (d.routed_at > ?5 OR (d.routed_at = ?5 AND d.nkey > ?6))" \
		   " ORDER BY d.routed_at, d.nkey LIMIT ?7"
#define FEED_DESC                                                                  \
	FEED_WHERE " AND (d.routed_at < ?5 OR (d.routed_at = ?5 AND d.nkey < ?6))" \
		   " ORDER BY d.routed_at DESC, d.nkey DESC LIMIT ?7"

enum nd_err sq_op_feed(struct nd_store_conn *base, int64_t tenant_id,
			  const struct nd_feed_query *q, nd_delivery_cb cb, void *arg,
			  struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	static const char *const sqls[2][2] = {
		{FEED_OWN FEED_DESC, FEED_OWN FEED_ASC},
		{FEED_JOINED FEED_DESC, FEED_JOINED FEED_ASC},
	};
	bool joined = q->after_at != ND_NO_TIME;
	int key_col = joined ? SQ_DELIVERY_NCOLS : SQ_DELIVERY_OWN_NCOLS;
	sqlite3_stmt *st = sq_prep(c, sqls[joined][q->ascending], err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, tenant_id);
	sqlite3_bind_int64(st, 3, q->start == ND_NO_TIME ? INT64_MIN : q->start);
	sqlite3_bind_int64(st, 4, q->end == ND_NO_TIME ? INT64_MAX : q->end);
	if (q->after_at == ND_NO_TIME) {
		sqlite3_bind_int64(st, 5, q->ascending ? INT64_MIN : INT64_MAX);
		sqlite3_bind_int(st, 6, q->ascending ? INT32_MIN : INT32_MAX);
	} else {
		sqlite3_bind_int64(st, 5, q->after_at);
		sqlite3_bind_int(st, 6, q->after_key);
	}
	sqlite3_bind_int64(st, 7, q->limit ? (int64_t)q->limit : -1);
	sq_bind_text(st, 2, q->target);
	int rc = SQLITE_DONE;
	enum nd_err e = ND_OK;
	while (!e && (rc = sq_step(st)) == SQLITE_ROW) {
		struct nd_delivery d = {.target = q->target};
		struct nd_notification tmp;
		sqlite3_stmt *held = NULL;
		int32_t key = sqlite3_column_int(st, key_col);
		if (!joined) {
			sq_read_delivery_own(st, 0, &d);
			e = sq_notification_cached(c, tenant_id, key, &tmp, &held, &d.n, err);
		} else if (sqlite3_column_type(st, SQ_DELIVERY_OWN_NCOLS) == SQLITE_NULL) {
			e = nd_ncache_missing(tenant_id, key, err);
		} else {
			sq_read_delivery(st, 0, &d, &tmp);
		}
		if (!e)
			e = (enum nd_err)cb(arg, &d);
		if (held)
			sq_done(held);
	}
	sq_done(st);
	if (e)
		return e;
	return rc == SQLITE_DONE ? ND_OK : sq_fail(c, rc, "feed", err);
}

struct event_arg {
	int64_t tenant_id;
	const char *target;
	int32_t key;
	enum nd_event ev;
	int64_t at;
};

static enum nd_err event_tx(struct sq_conn *c, void *arg, struct nd_error *err)
{
	/* One statement per column: a column name is never spliced into SQL. */
#define EVENT_SQL(col)                                                             \
	"UPDATE deliveries SET " col " = coalesce(" col ", ?4), updated_at = ?5"   \
	" WHERE tenant_id = ?1 AND nkey = ?2 AND tid = ?3 AND deleted_at IS NULL"
	static const char *const sqls[ND_EV__COUNT] = {
		[ND_EV_IMPRESSION] = EVENT_SQL("impression"),
		[ND_EV_ACTIVATION] = EVENT_SQL("activation"),
		[ND_EV_REDIRECTION] = EVENT_SQL("redirection"),
		[ND_EV_DISMISS] = EVENT_SQL("dismiss"),
		[ND_EV_READ] = EVENT_SQL("read_at"),
		[ND_EV_COMPLETE] = EVENT_SQL("completed_at"),
	};
#undef EVENT_SQL
	struct event_arg *a = arg;
	int64_t tid;
	enum nd_err e = sq_target_tid(c, a->tenant_id, a->target, false, &tid, err);
	if (e)
		return e;
	sqlite3_stmt *st = sq_prep(c, sqls[a->ev], err);
	if (!st)
		return err->code;
	sqlite3_bind_int64(st, 1, a->tenant_id);
	sqlite3_bind_int(st, 2, a->key);
	sqlite3_bind_int64(st, 3, tid);
	sqlite3_bind_int64(st, 4, a->at);
	sqlite3_bind_int64(st, 5, nd_time_now_ms());
	e = sq_exec_stmt(c, st, "event", err);
	if (!e && sqlite3_changes(c->db) == 0)
		return nd_fail(err, ND_ERR_NOT_FOUND, NULL, "delivery not found");
	return e;
}

enum nd_err sq_op_event_record(struct nd_store_conn *base, int64_t tenant_id,
				  const char *target, int32_t key, enum nd_event ev, int64_t at,
				  struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	struct event_arg a = {tenant_id, target, key, ev, at};
	return sq_tx(c, event_tx, &a, err);
}
