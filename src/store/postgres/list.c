/* list.c - PostgreSQL queries behind listing a tenant's deliveries (API3),
 * and soft-deleting one.
 *
 * The filters, orders, tie-breaks and counting strategy come from
 * store/listsql.c, shared with SQLite, so both return the same pages and
 * totals; PostgreSQL spells out where NULL sorts (SQLite's default). Every
 * parameter is bound, typed, whether the text uses it or not. Each
 * single-key order has an index whose columns follow the tie-break
 * (migrations/0001_initial.sql), so a page is read from the index in order. */
#include "store/listsql.h"
#include "store/postgres/pg.h"

#include "util/time.h"

#define OID_INT8 20
#define OID_INT4 23
#define OID_TEXT 25
#define OID_UUID 2950

static const Oid types[ND_LP__COUNT] = {
	OID_INT8, OID_UUID, OID_INT4, OID_INT8, OID_INT8, OID_INT8,
	OID_INT8, OID_TEXT, OID_TEXT, OID_TEXT, OID_INT8, OID_INT8,
};

static const struct nd_listsql_dialect dialect = {
	.mark = '$',
	.spell_nulls = true,
	/* PostgreSQL keeps no order from the inner side of a join: a page walks
	 * the deliveries' own routed_at index. */
	.notification_time = false,
	.type_order = "n.type",
	.type_filter = " AND n.type = $10",
	.tenant_total = "SELECT deliveries FROM tenant_counters WHERE tenant_id = $1",
	.member_total = "SELECT deliveries FROM targets WHERE tenant_id = $1 AND ext_id = $9",
};

#define PAGE_FROM                                                                  \
	" FROM deliveries d JOIN notifications n"                                  \
	" ON n.tenant_id = d.tenant_id AND n.nkey = d.nkey"
/* A page's rows: what a listing shows of a delivery (LISTED_COLS: model.h
 * says which) and its notification; the member's columns and their join
 * only when the listing shows members. */
#define LISTED_COLS  "d.routed_at, d.guid, d.read_at, " PG_NOTIFICATION_COLS
#define LISTED_NCOLS (3 + PG_NOTIFICATION_NCOLS)
static const char *const page_select[2] = {
	"SELECT " LISTED_COLS PAGE_FROM,
	"SELECT " LISTED_COLS ", " PG_MEMBER_COLS PAGE_FROM
	" JOIN targets t ON t.tenant_id = d.tenant_id AND t.tid = d.tid",
};

/* Every parameter, whether the SQL uses it or not. */
static void bind(struct pg_params *p, int64_t tenant_id, const struct nd_list_query *q)
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
	pg_p_text(p, q->member);
	pg_p_text(p, q->type);
	if (q->limit)
		pg_p_int(p, (int64_t)q->limit);
	else
		pg_p_text(p, NULL); /* LIMIT NULL: all */
	pg_p_int(p, (int64_t)q->offset);
}

static int count_row(void *arg, PGresult *r, int row)
{
	*(int64_t *)arg = pg_int(r, row, 0);
	return 0;
}

/* Counts the matches (see nd_listsql_count). */
static enum nd_err count(struct pg_conn *c, int64_t tenant_id, const struct nd_list_query *q,
			 int64_t *total, struct nd_error *err)
{
	struct nd_buf sql = ND_BUF_INIT;
	nd_listsql_count(&sql, &dialect, q);
	struct pg_params p = PG_PARAMS_INIT;
	bind(&p, tenant_id, q);
	*total = 0;
	enum nd_err e =
		pg_stream(c, nd_buf_str(&sql), types, &p, 1, count_row, total, "list count", err);
	nd_buf_release(&sql);
	return e;
}

struct page_arg {
	nd_item_cb cb;
	void *arg;
	bool with_member;
};

static int page_row(void *arg, PGresult *r, int row)
{
	struct page_arg *a = arg;
	struct nd_notification n;
	struct nd_delivery d;
	struct nd_target t;
	d.routed_at = pg_int(r, row, 0);
	pg_guid(r, row, 1, d.guid);
	for (int i = 0; i < ND_EV__COUNT; i++)
		d.at[i] = ND_NO_TIME;
	d.at[ND_EV_READ] = pg_time(r, row, 2);
	pg_read_notification(r, row, 3, &n);
	d.n = &n;
	d.target = NULL;
	if (a->with_member) {
		pg_read_member(r, row, LISTED_NCOLS, &t);
		d.target = t.id;
	}
	struct nd_item it = {.d = &d, .member = a->with_member ? &t : NULL};
	return a->cb(a->arg, &it);
}

enum nd_err pg_list(struct nd_store_conn *c, int64_t tenant_id, const struct nd_list_query *q,
		    nd_item_cb cb, void *arg, int64_t *total, struct nd_error *err)
{
	struct pg_conn *pc = pg_conn_of(c);
	enum nd_err e;
	if (total)
		*total = 0;
	if (total && (e = count(pc, tenant_id, q, total, err)))
		return e;
	if (total && q->offset >= (uint64_t)*total && q->offset > 0)
		return ND_OK; /* past the last page: nothing to read */
	struct nd_buf sql = ND_BUF_INIT;
	nd_listsql_page(&sql, &dialect, q, page_select[q->with_member]);
	struct pg_params p = PG_PARAMS_INIT;
	bind(&p, tenant_id, q);
	struct page_arg a = {cb, arg, q->with_member};
	e = pg_stream(pc, nd_buf_str(&sql), types, &p, q->limit, page_row, &a, "list", err);
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
	struct nd_buf sql = ND_BUF_INIT;
	nd_buf_puts(&sql, "EXPLAIN ");
	nd_listsql_page(&sql, &dialect, q, page_select[q->with_member]);
	struct pg_params p = PG_PARAMS_INIT;
	bind(&p, tenant_id, q);
	struct plan_arg a = {cb, arg};
	enum nd_err e = pg_stream(pc, nd_buf_str(&sql), types, &p, 0, plan_row, &a, "list plan", err);
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
