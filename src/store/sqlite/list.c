/* list.c - SQLite queries behind listing a tenant's deliveries (API3).
 *
 * The page query is assembled from constant fragments: which filters are
 * present picks the WHERE terms, the order terms pick ORDER BY expressions
 * from a fixed table. Nothing a client sends is ever spliced into SQL; its
 * values are bound. Every order key has an index whose column order the
 * tie-break follows, so a single-key order is read from the index without
 * a sort (see the plans in tests/unit/test_store.c and bench/README.md). */
#include <stdio.h>
#include <string.h>

#include "store/sqlite/sq.h"
#include "util/time.h"
#include "util/buf.h"

/* Parameter numbers, fixed whatever the filters. */
enum {
	P_TENANT = 1,
	P_GUID,
	P_KEY,
	P_STARTED_FROM,
	P_STARTED_TO,
	P_COMPLETED_FROM,
	P_COMPLETED_TO,
	P_CAMPAIGN,
	P_TID,
	P_TYPE,
	P_LIMIT,
	P_OFFSET,
};

static const struct {
	const char *expr;
	const char *const tie[3]; /* the index's remaining columns */
} orders[ND_ORDER__COUNT] = {
	[ND_ORDER_STARTED] = {"d.routed_at", {"d.tid", "d.nkey"}},
	[ND_ORDER_COMPLETED] = {"d.completed_at", {"d.tid", "d.routed_at", "d.nkey"}},
	[ND_ORDER_CREATED] = {"n.created_at", {"n.nkey", "d.tid"}},
	[ND_ORDER_MODIFIED] = {"d.updated_at", {"d.tid", "d.routed_at", "d.nkey"}},
	[ND_ORDER_TYPE] = {"n.type", {"n.nkey", "d.tid"}},
	[ND_ORDER_TITLE] = {"n.libelle", {"n.nkey", "d.tid"}},
	[ND_ORDER_READ] = {"(d.read_at IS NOT NULL)", {"d.routed_at", "d.tid", "d.nkey"}},
	[ND_ORDER_ID] = {"d.guid", {NULL}},
	[ND_ORDER_KEY] = {"d.nkey", {"d.tid"}},
};

static const struct nd_order_term default_order = {ND_ORDER_STARTED, true};

static bool notification_filter(const struct nd_list_query *q)
{
	return q->campaign_id || q->type;
}

static void add_where(struct nd_buf *b, const struct nd_list_query *q, bool by_tid)
{
	nd_buf_puts(b, " WHERE d.tenant_id = ?1 AND d.deleted_at IS NULL");
	if (q->by_guid)
		nd_buf_puts(b, " AND d.guid = ?2");
	if (q->by_key)
		nd_buf_puts(b, " AND d.nkey = ?3");
	if (q->started_from != ND_NO_TIME)
		nd_buf_puts(b, " AND d.routed_at >= ?4 AND d.routed_at < ?5");
	if (q->completed_from != ND_NO_TIME)
		nd_buf_puts(b, " AND d.completed_at >= ?6 AND d.completed_at < ?7");
	if (q->campaign_id)
		nd_buf_puts(b, " AND n.campaign_id = ?8");
	if (by_tid)
		nd_buf_puts(b, " AND d.tid = ?9");
	if (q->type)
		nd_buf_puts(b, " AND n.type = ?10");
}

static void add_order(struct nd_buf *b, const struct nd_list_query *q)
{
	const struct nd_order_term *terms = q->norder ? q->order : &default_order;
	size_t n = q->norder ? q->norder : 1;
	nd_buf_puts(b, " ORDER BY ");
	for (size_t i = 0; i < n; i++)
		nd_buf_printf(b, "%s%s %s", i ? ", " : "", orders[terms[i].key].expr,
			      terms[i].desc ? "DESC" : "ASC");
	/* The tie-break continues the last key's index in the same direction;
	 * every key's columns plus its tie-break identify one delivery, so
	 * pages never overlap or skip. */
	const struct nd_order_term *last = &terms[n - 1];
	for (size_t i = 0; i < 3 && orders[last->key].tie[i]; i++)
		nd_buf_printf(b, ", %s %s", orders[last->key].tie[i], last->desc ? "DESC" : "ASC");
}

#define ITEM_COLS SQ_DELIVERY_COLS ", d.updated_at, " SQ_TARGET_COLS

static void page_sql(struct nd_buf *b, const struct nd_list_query *q, bool by_tid)
{
	nd_buf_puts(b, "SELECT " ITEM_COLS " FROM deliveries d JOIN notifications n"
		       " ON n.tenant_id = d.tenant_id AND n.nkey = d.nkey"
		       " JOIN targets t ON t.tid = d.tid");
	add_where(b, q, by_tid);
	add_order(b, q);
	nd_buf_puts(b, " LIMIT ?11 OFFSET ?12");
}

static enum nd_err prepare(struct sq_conn *c, const char *sql, int64_t tenant_id,
			   const struct nd_list_query *q, int64_t tid, sqlite3_stmt **out,
			   struct nd_error *err)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(c, rc, "list prepare", err);
	int n = sqlite3_bind_parameter_count(st);
	/* Every number a fragment may use is bound; unused ones are ignored. */
	if (n >= P_TENANT)
		sqlite3_bind_int64(st, P_TENANT, tenant_id);
	if (n >= P_GUID && q->by_guid)
		sqlite3_bind_blob(st, P_GUID, q->guid, 16, SQLITE_STATIC);
	if (n >= P_KEY)
		sqlite3_bind_int(st, P_KEY, q->key);
	if (n >= P_STARTED_TO) {
		sqlite3_bind_int64(st, P_STARTED_FROM, q->started_from);
		sqlite3_bind_int64(st, P_STARTED_TO, q->started_to);
	}
	if (n >= P_COMPLETED_TO) {
		sqlite3_bind_int64(st, P_COMPLETED_FROM, q->completed_from);
		sqlite3_bind_int64(st, P_COMPLETED_TO, q->completed_to);
	}
	if (n >= P_CAMPAIGN)
		sq_bind_text(st, P_CAMPAIGN, q->campaign_id);
	if (n >= P_TID)
		sqlite3_bind_int64(st, P_TID, tid);
	if (n >= P_TYPE)
		sq_bind_text(st, P_TYPE, q->type);
	if (n >= P_OFFSET) {
		sqlite3_bind_int64(st, P_LIMIT, q->limit ? (int64_t)q->limit : -1);
		sqlite3_bind_int64(st, P_OFFSET, (int64_t)q->offset);
	}
	*out = st;
	return ND_OK;
}

/* Resolves the member filter; *@none when the member does not exist. */
static enum nd_err member_tid(struct sq_conn *c, int64_t tenant_id,
			      const struct nd_list_query *q, int64_t *tid, bool *none,
			      struct nd_error *err)
{
	*tid = 0;
	*none = false;
	if (!q->member)
		return ND_OK;
	enum nd_err e = sq_target_tid(c, tenant_id, q->member, false, tid, err);
	if (e == ND_ERR_NOT_FOUND) {
		*none = true;
		return ND_OK;
	}
	return e;
}

/* Counts the matches. The live counters answer the common shapes at once:
 * no filter (the tenant's), only a member (the target's), and only
 * notification-level filters (a sum over matching notifications, read from
 * their indexes). Anything else counts the rows its filters' index yields. */
static enum nd_err count(struct sq_conn *c, int64_t tenant_id,
			 const struct nd_list_query *q, int64_t tid, int64_t *total,
			 struct nd_error *err)
{
	bool windows = q->started_from != ND_NO_TIME || q->completed_from != ND_NO_TIME;
	struct nd_buf sql = ND_BUF_INIT;
	if (!windows && !q->by_guid && !q->member && !q->by_key && !notification_filter(q)) {
		nd_buf_puts(&sql, "SELECT deliveries FROM tenants WHERE id = ?1");
	} else if (!windows && !q->by_guid && q->member && !q->by_key && !notification_filter(q)) {
		nd_buf_puts(&sql, "SELECT deliveries FROM targets WHERE tid = ?9");
	} else if (!windows && !q->by_guid && !q->member) {
		nd_buf_puts(&sql, "SELECT coalesce(sum(n.deliveries), 0) FROM notifications n"
				  " WHERE n.tenant_id = ?1");
		if (q->by_key)
			nd_buf_puts(&sql, " AND n.nkey = ?3");
		if (q->campaign_id)
			nd_buf_puts(&sql, " AND n.campaign_id = ?8");
		if (q->type)
			nd_buf_puts(&sql, " AND n.type = ?10");
	} else {
		nd_buf_puts(&sql, "SELECT count(*) FROM deliveries d");
		if (notification_filter(q))
			nd_buf_puts(&sql, " JOIN notifications n ON n.tenant_id = d.tenant_id"
					  " AND n.nkey = d.nkey");
		add_where(&sql, q, q->member != NULL);
	}
	sqlite3_stmt *st;
	enum nd_err e = prepare(c, nd_buf_str(&sql), tenant_id, q, tid, &st, err);
	nd_buf_release(&sql);
	if (e)
		return e;
	int rc = sqlite3_step(st);
	*total = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ND_OK : sq_fail(c, rc, "list count", err);
}

/* Prepares the page query (or its EXPLAIN QUERY PLAN); *@st is NULL when
 * the member filter names no target, so nothing can match. */
static enum nd_err page_stmt(struct sq_conn *c, int64_t tenant_id,
			     const struct nd_list_query *q, bool explain, int64_t *tid,
			     sqlite3_stmt **st, struct nd_error *err)
{
	bool none;
	*st = NULL;
	enum nd_err e = member_tid(c, tenant_id, q, tid, &none, err);
	if (e || none)
		return e;
	struct nd_buf sql = ND_BUF_INIT;
	if (explain)
		nd_buf_puts(&sql, "EXPLAIN QUERY PLAN ");
	page_sql(&sql, q, q->member != NULL);
	e = prepare(c, nd_buf_str(&sql), tenant_id, q, *tid, st, err);
	nd_buf_release(&sql);
	return e;
}

enum nd_err sq_op_list(struct nd_store_conn *base, int64_t tenant_id,
			  const struct nd_list_query *q, nd_item_cb cb, void *arg, int64_t *total,
			  struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	int64_t tid;
	sqlite3_stmt *st;
	if (total)
		*total = 0;
	enum nd_err e = page_stmt(c, tenant_id, q, false, &tid, &st, err);
	if (e || !st)
		return e;
	if (total && (e = count(c, tenant_id, q, tid, total, err)))
		goto out;
	if (total && q->offset >= (uint64_t)*total && q->offset > 0)
		goto out; /* past the last page: nothing to read */
	int rc, stop = 0;
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct nd_notification n;
		struct nd_delivery d;
		struct nd_target t;
		sq_read_delivery(st, 0, &d, &n);
		sq_read_target(st, SQ_DELIVERY_NCOLS + 1, &t);
		d.target = t.id;
		struct nd_item it = {.d = &d, .member = &t,
				     .updated_at = sq_col_time(st, SQ_DELIVERY_NCOLS)};
		stop = cb(arg, &it);
	}
	if (stop)
		e = (enum nd_err)stop;
	else if (rc != SQLITE_DONE)
		e = sq_fail(c, rc, "list", err);
out:
	sqlite3_finalize(st);
	return e;
}

enum nd_err sq_op_list_plan(struct nd_store_conn *base, int64_t tenant_id,
			       const struct nd_list_query *q, nd_plan_cb cb, void *arg,
			       struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	int64_t tid;
	sqlite3_stmt *st;
	enum nd_err e = page_stmt(c, tenant_id, q, true, &tid, &st, err);
	if (e || !st)
		return e;
	int rc, stop = 0;
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW)
		stop = cb(arg, sq_col_text(st, 3));
	sqlite3_finalize(st);
	if (stop)
		return (enum nd_err)stop;
	return rc == SQLITE_DONE ? ND_OK : sq_fail(c, rc, "list plan", err);
}

struct delete_arg {
	int64_t tenant_id;
	const unsigned char *guid;
	const char *owner;
};

static enum nd_err delete_tx(struct sq_conn *c, void *arg, struct nd_error *err)
{
	static const char sel[] = "SELECT d.tid, d.nkey, t.ext_id FROM deliveries d"
				  " JOIN targets t ON t.tid = d.tid"
				  " WHERE d.guid = ?1 AND d.tenant_id = ?2 AND d.deleted_at IS NULL";
	static const char *const sqls[] = {
		"UPDATE deliveries SET deleted_at = ?4, updated_at = ?4"
		" WHERE tenant_id = ?1 AND tid = ?2 AND nkey = ?3 AND deleted_at IS NULL",
		"UPDATE tenants SET deliveries = deliveries - 1 WHERE id = ?1",
		"UPDATE targets SET deliveries = deliveries - 1 WHERE tid = ?2",
		"UPDATE notifications SET deliveries = deliveries - 1 WHERE tenant_id = ?1 AND nkey = ?3",
	};
	static const char missing[] = "no such delivery";
	struct delete_arg *a = arg;
	sqlite3_stmt *st = sq_prep(c, sel, err);
	if (!st)
		return err->code;
	sqlite3_bind_blob(st, 1, a->guid, 16, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, a->tenant_id);
	enum nd_err e = sq_row(c, st, "delivery lookup", missing, err);
	if (e)
		return e;
	int64_t tid = sqlite3_column_int64(st, 0);
	int32_t key = sqlite3_column_int(st, 1);
	bool mine = !a->owner || strcmp(a->owner, sq_col_text(st, 2)) == 0;
	sq_done(st);
	if (!mine)
		return nd_fail(err, ND_ERR_NOT_FOUND, NULL, missing);
	int64_t now = nd_time_now_ms();
	for (size_t i = 0; !e && i < sizeof sqls / sizeof sqls[0]; i++) {
		if (!(st = sq_prep(c, sqls[i], err)))
			return err->code;
		sqlite3_bind_int64(st, 1, a->tenant_id);
		sqlite3_bind_int64(st, 2, tid);
		sqlite3_bind_int(st, 3, key);
		sqlite3_bind_int64(st, 4, now);
		e = sq_exec_stmt(c, st, "delivery delete", err);
	}
	return e;
}

enum nd_err sq_op_delivery_delete(struct nd_store_conn *base, int64_t tenant_id,
				     const unsigned char guid[16], const char *owner,
				     struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	struct delete_arg a = {tenant_id, guid, owner};
	return sq_tx(c, delete_tx, &a, err);
}
