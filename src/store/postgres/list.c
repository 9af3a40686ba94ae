/* list.c - PostgreSQL queries behind listing a tenant's deliveries (API3),
 * and soft-deleting one.
 *
 * The filters, orders, tie-breaks and counting strategy are those of the
 * SQLite backend (src/store/sqlite/list.c), so both return the same pages
 * and totals. The page query is assembled from constant fragments and run
 * with every parameter bound (the numbering is fixed, the types are given,
 * so unused numbers are harmless). Each single-key order has an index whose
 * columns follow the tie-break (migrations/0001_initial.sql), so a page is
 * read from the index in order. SQLite sorts NULL first ascending and last
 * descending; the nullable keys say so explicitly here. */
#include "store/postgres/pg.h"

#include "util/time.h"

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
	P__COUNT = P_OFFSET
};

#define OID_INT8 20
#define OID_INT4 23
#define OID_TEXT 25
#define OID_UUID 2950

static const Oid types[P__COUNT] = {
	OID_INT8, OID_UUID, OID_INT4, OID_INT8, OID_INT8, OID_INT8,
	OID_INT8, OID_TEXT, OID_INT8, OID_TEXT, OID_INT8, OID_INT8,
};

static const struct {
	const char *expr;
	bool nullable;
	const char *const tie[3]; /* the index's remaining columns */
} orders[ND_ORDER__COUNT] = {
	[ND_ORDER_STARTED] = {"d.routed_at", false, {"d.tid", "d.nkey"}},
	[ND_ORDER_COMPLETED] = {"d.completed_at", true, {"d.tid", "d.routed_at", "d.nkey"}},
	[ND_ORDER_CREATED] = {"n.created_at", false, {"n.nkey", "d.tid"}},
	[ND_ORDER_MODIFIED] = {"d.updated_at", false, {"d.tid", "d.routed_at", "d.nkey"}},
	[ND_ORDER_TYPE] = {"n.type", true, {"n.nkey", "d.tid"}},
	[ND_ORDER_TITLE] = {"n.libelle", false, {"n.nkey", "d.tid"}},
	[ND_ORDER_READ] = {"(d.read_at IS NOT NULL)", false, {"d.routed_at", "d.tid", "d.nkey"}},
	[ND_ORDER_ID] = {"d.guid", false, {NULL}},
	[ND_ORDER_KEY] = {"d.nkey", false, {"d.tid"}},
};

static const struct nd_order_term default_order = {ND_ORDER_STARTED, true};

static bool notification_filter(const struct nd_list_query *q)
{
	return q->campaign_id || q->type;
}

static void add_where(struct nd_buf *b, const struct nd_list_query *q, bool by_tid)
{
	nd_buf_puts(b, " WHERE d.tenant_id = $1 AND d.deleted_at IS NULL");
	if (q->by_guid)
		nd_buf_puts(b, " AND d.guid = $2");
	if (q->by_key)
		nd_buf_puts(b, " AND d.nkey = $3");
	if (q->started_from != ND_NO_TIME)
		nd_buf_puts(b, " AND d.routed_at >= $4 AND d.routed_at < $5");
	if (q->completed_from != ND_NO_TIME)
		nd_buf_puts(b, " AND d.completed_at >= $6 AND d.completed_at < $7");
	if (q->campaign_id)
		nd_buf_puts(b, " AND n.campaign_id = $8");
	if (by_tid)
		nd_buf_puts(b, " AND d.tid = $9");
	if (q->type)
		nd_buf_puts(b, " AND n.type = $10");
}

static void add_order(struct nd_buf *b, const struct nd_list_query *q)
{
	const struct nd_order_term *terms = q->norder ? q->order : &default_order;
	size_t n = q->norder ? q->norder : 1;
	nd_buf_puts(b, " ORDER BY ");
	for (size_t i = 0; i < n; i++) {
		bool desc = terms[i].desc;
		const char *nulls = "";
		if (orders[terms[i].key].nullable)
			nulls = desc ? " NULLS LAST" : " NULLS FIRST";
		nd_buf_printf(b, "%s%s %s%s", i ? ", " : "", orders[terms[i].key].expr,
			      desc ? "DESC" : "ASC", nulls);
	}
	/* The tie-break continues the last key's index in the same direction;
	 * every key's columns plus its tie-break identify one delivery, so
	 * pages never overlap or skip. Its columns are never NULL. */
	const struct nd_order_term *last = &terms[n - 1];
	for (size_t i = 0; i < 3 && orders[last->key].tie[i]; i++)
		nd_buf_printf(b, ", %s %s", orders[last->key].tie[i], last->desc ? "DESC" : "ASC");
}

#define ITEM_COLS PG_DELIVERY_COLS ", d.updated_at, " PG_TARGET_COLS

static void page_sql(struct nd_buf *b, const struct nd_list_query *q, bool by_tid)
{
	nd_buf_puts(b, "SELECT " ITEM_COLS " FROM deliveries d JOIN notifications n"
		       " ON n.tenant_id = d.tenant_id AND n.nkey = d.nkey"
		       " JOIN targets t ON t.tenant_id = d.tenant_id AND t.tid = d.tid");
	add_where(b, q, by_tid);
	add_order(b, q);
	nd_buf_puts(b, " LIMIT $11 OFFSET $12");
}

/* Every parameter, whether the SQL uses it or not. */
static void bind(struct pg_params *p, int64_t tenant_id, const struct nd_list_query *q, int64_t tid)
{
	pg_p_int(p, tenant_id);
	if (q->by_guid)
		pg_p_bin(p, q->guid, 16);
	else
		pg_p_text(p, NULL);
	pg_p_int(p, q->key);
	pg_p_time(p, q->started_from);
	pg_p_time(p, q->started_to);
	pg_p_time(p, q->completed_from);
	pg_p_time(p, q->completed_to);
	pg_p_text(p, q->campaign_id);
	pg_p_int(p, tid);
	pg_p_text(p, q->type);
	if (q->limit)
		pg_p_int(p, (int64_t)q->limit);
	else
		pg_p_text(p, NULL); /* LIMIT NULL: all */
	pg_p_int(p, (int64_t)q->offset);
}

/* Resolves the member filter; *@none when the member does not exist. */
static enum nd_err member_tid(struct pg_conn *c, int64_t tenant_id, const struct nd_list_query *q,
			      int64_t *tid, bool *none, struct nd_error *err)
{
	*tid = 0;
	*none = false;
	if (!q->member)
		return ND_OK;
	enum nd_err e = pg_target_tid(c, tenant_id, q->member, PG_TARGET_FIND, tid, err);
	if (e == ND_ERR_NOT_FOUND) {
		*none = true;
		return ND_OK;
	}
	return e;
}

static int count_row(void *arg, PGresult *r, int row)
{
	*(int64_t *)arg = pg_int(r, row, 0);
	return 0;
}

/* Counts the matches. The live counters answer the common shapes at once:
 * no filter (the tenant's), only a member (the target's), and only
 * notification-level filters (a sum over matching notifications, read from
 * their indexes). Anything else counts the rows its filters' index yields. */
static enum nd_err count(struct pg_conn *c, int64_t tenant_id, const struct nd_list_query *q,
			 int64_t tid, int64_t *total, struct nd_error *err)
{
	bool windows = q->started_from != ND_NO_TIME || q->completed_from != ND_NO_TIME;
	struct nd_buf sql = ND_BUF_INIT;
	if (!windows && !q->by_guid && !q->member && !q->by_key && !notification_filter(q)) {
		nd_buf_puts(&sql, "SELECT deliveries FROM tenant_counters WHERE tenant_id = $1");
	} else if (!windows && !q->by_guid && q->member && !q->by_key && !notification_filter(q)) {
		nd_buf_puts(&sql,
			    "SELECT deliveries FROM targets WHERE tenant_id = $1 AND tid = $9");
	} else if (!windows && !q->by_guid && !q->member) {
		nd_buf_puts(&sql, "SELECT coalesce(sum(n.deliveries), 0) FROM notifications n"
				  " WHERE n.tenant_id = $1");
		if (q->by_key)
			nd_buf_puts(&sql, " AND n.nkey = $3");
		if (q->campaign_id)
			nd_buf_puts(&sql, " AND n.campaign_id = $8");
		if (q->type)
			nd_buf_puts(&sql, " AND n.type = $10");
	} else {
		nd_buf_puts(&sql, "SELECT count(*) FROM deliveries d");
		if (notification_filter(q))
			nd_buf_puts(&sql, " JOIN notifications n ON n.tenant_id = d.tenant_id"
					  " AND n.nkey = d.nkey");
		add_where(&sql, q, q->member != NULL);
	}
	struct pg_params p = PG_PARAMS_INIT;
	bind(&p, tenant_id, q, tid);
	*total = 0;
	enum nd_err e =
		pg_stream(c, nd_buf_str(&sql), types, &p, count_row, total, "list count", err);
	nd_buf_release(&sql);
	return e;
}

struct page_arg {
	nd_item_cb cb;
	void *arg;
};

static int page_row(void *arg, PGresult *r, int row)
{
	struct page_arg *a = arg;
	struct nd_notification n;
	struct nd_delivery d;
	struct nd_target t;
	pg_read_delivery(r, row, 0, &d, &n);
	pg_read_target(r, row, PG_DELIVERY_NCOLS + 1, &t);
	d.target = t.id;
	struct nd_item it = {
		.d = &d,
		.member = &t,
		.updated_at = pg_time(r, row, PG_DELIVERY_NCOLS),
	};
	return a->cb(a->arg, &it);
}

enum nd_err pg_list(struct nd_store_conn *c, int64_t tenant_id, const struct nd_list_query *q,
		    nd_item_cb cb, void *arg, int64_t *total, struct nd_error *err)
{
	struct pg_conn *pc = pg_conn_of(c);
	int64_t tid;
	bool none;
	if (total)
		*total = 0;
	enum nd_err e = member_tid(pc, tenant_id, q, &tid, &none, err);
	if (e || none)
		return e;
	if (total && (e = count(pc, tenant_id, q, tid, total, err)))
		return e;
	if (total && q->offset >= (uint64_t)*total && q->offset > 0)
		return ND_OK; /* past the last page: nothing to read */
	struct nd_buf sql = ND_BUF_INIT;
	page_sql(&sql, q, q->member != NULL);
	struct pg_params p = PG_PARAMS_INIT;
	bind(&p, tenant_id, q, tid);
	struct page_arg a = {cb, arg};
	e = pg_stream(pc, nd_buf_str(&sql), types, &p, page_row, &a, "list", err);
	nd_buf_release(&sql);
	return e;
}

struct plan_arg {
	nd_plan_cb cb;
	void *arg;
};

static int plan_row(void *arg, PGresult *r, int row)
{
	struct plan_arg *a = arg;
	return a->cb(a->arg, PQgetvalue(r, row, 0));
}

enum nd_err pg_list_plan(struct nd_store_conn *c, int64_t tenant_id, const struct nd_list_query *q,
			 nd_plan_cb cb, void *arg, struct nd_error *err)
{
	struct pg_conn *pc = pg_conn_of(c);
	int64_t tid;
	bool none;
	enum nd_err e = member_tid(pc, tenant_id, q, &tid, &none, err);
	if (e || none)
		return e;
	struct nd_buf sql = ND_BUF_INIT;
	nd_buf_puts(&sql, "EXPLAIN ");
	page_sql(&sql, q, q->member != NULL);
	struct pg_params p = PG_PARAMS_INIT;
	bind(&p, tenant_id, q, tid);
	struct plan_arg a = {cb, arg};
	e = pg_stream(pc, nd_buf_str(&sql), types, &p, plan_row, &a, "list plan", err);
	nd_buf_release(&sql);
	return e;
}

struct delete_arg {
	int64_t tenant_id;
	const unsigned char *guid;
	const char *owner;
};

static enum nd_err delete_tx(struct pg_conn *c, void *arg, struct nd_error *err)
{
	/* The owner check is part of the update: another target's delivery is
	 * not found, exactly like a missing one. */
	static const char del[] =
		"UPDATE deliveries d SET deleted_at = $3, updated_at = $3 FROM targets t"
		" WHERE d.tenant_id = $1 AND d.guid = $2 AND d.deleted_at IS NULL"
		" AND t.tenant_id = d.tenant_id AND t.tid = d.tid"
		" AND ($4::text IS NULL OR t.ext_id = $4::text) RETURNING d.tid, d.nkey";
	static const char counters[] =
		"WITH t AS (UPDATE targets SET deliveries = deliveries - 1"
		"  WHERE tenant_id = $1 AND tid = $2),"
		" n AS (UPDATE notifications SET deliveries = deliveries - 1"
		"  WHERE tenant_id = $1 AND nkey = $3)"
		" UPDATE tenant_counters SET deliveries = deliveries - 1 WHERE tenant_id = $1";
	struct delete_arg *a = arg;
	/* The tenant lock first, as every writer of its delivery counter takes
	 * it, so that target_delete and this never wait for each other. */
	enum nd_err e = pg_lock_tenant(c, a->tenant_id, "no such delivery", err);
	if (e)
		return e;
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, a->tenant_id);
	pg_p_bin(&p, a->guid, 16);
	pg_p_int(&p, nd_time_now_ms());
	pg_p_text(&p, a->owner);
	PGresult *r;
	if ((e = pg_row(c, del, &p, "delivery delete", "no such delivery", &r, err)))
		return e;
	int64_t tid = pg_int(r, 0, 0), key = pg_int(r, 0, 1);
	PQclear(r);
	p = (struct pg_params)PG_PARAMS_INIT;
	pg_p_int(&p, a->tenant_id);
	pg_p_int(&p, tid);
	pg_p_int(&p, key);
	return pg_exec(c, counters, &p, "delivery counters", NULL, err);
}

enum nd_err pg_delivery_delete(struct nd_store_conn *c, int64_t tenant_id,
			       const unsigned char guid[16], const char *owner,
			       struct nd_error *err)
{
	struct delete_arg a = {tenant_id, guid, owner};
	return pg_tx(pg_conn_of(c), delete_tx, &a, err);
}
