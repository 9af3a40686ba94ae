/* list.c - SQLite queries behind listing a tenant's deliveries (API3), and
 * soft-deleting one.
 *
 * The query text comes from store/listsql.c, shared with PostgreSQL. Every
 * order key has an index whose column order the tie-break follows, so a
 * single-key order is read from the index without a sort (the plans are
 * asserted in tests/store/test_store_sqlite.c; figures in bench/README.md). */
#include <stdio.h>
#include <string.h>

#include "store/listsql.h"
#include "store/sqlite/sq.h"
#include "util/time.h"

static const struct nd_listsql_dialect dialect = {
	.mark = '?',
	.spell_nulls = false, /* SQLite's own order: NULL first ascending, last descending */
	.notification_time = true,
	.type_order = "n.type_key", /* NOT NULL: '' for none, then 'T' || type */
	.type_filter = " AND n.type_key = 'T' || ?10",
	.tenant_total = "SELECT deliveries FROM tenants WHERE id = ?1",
	.member_total = "SELECT deliveries FROM targets WHERE tenant_id = ?1 AND ext_id = ?9",
	/* The planner would take the UNIQUE index, which holds no counter. */
	.member_counted = "SELECT notifd_total(deliveries, tid) FROM targets"
			  " INDEXED BY targets_counted WHERE tenant_id = ?1 AND ext_id = ?9",
};

/* A page's rows: what a listing shows of a delivery (LISTED_COLS: model.h
 * says which) and its notification's key, the notification taken from the
 * connection's cache (store/ncache.h) as a feed takes it; or, joined, every
 * column of the notification. SQLite reads each selected column of every
 * row, and each join is a seek a row: so the notifications are joined only
 * when the page's conditions or order read them, and the targets only when
 * the listing shows members (with=member). A date_started page of 20 went
 * from ~36 to ~17 µs raw, a GET of one delivery from ~5.5 to ~5.1 µs; a
 * member's page from ~11.5 to ~9.2 µs once the event times no listing shows
 * were no longer read. A member's later pages join the notification's
 * columns, as a feed's continued walk does: each row there is another,
 * older notification, which the cache would miss. Every other page runs
 * through the newest notifications, or one notification's deliveries after
 * another. */
#define LISTED_COLS  "d.routed_at, d.guid, d.read_at"
#define LISTED_NCOLS 3

static void page_select(struct nd_buf *sql, const struct nd_list_query *q, bool joined)
{
	nd_buf_puts(sql, joined ? "SELECT " LISTED_COLS ", " SQ_NOTIFICATION_COLS
				: "SELECT " LISTED_COLS ", d.nkey");
	if (q->with_member)
		nd_buf_puts(sql, ", " SQ_MEMBER_COLS);
	nd_buf_puts(sql, " FROM deliveries d");
	if (joined || nd_listsql_reads_notifications(&dialect, q))
		nd_buf_puts(sql, " JOIN notifications n"
				 " ON n.tenant_id = d.tenant_id AND n.nkey = d.nkey");
	if (q->with_member)
		nd_buf_puts(sql, " JOIN targets t ON t.tid = d.tid");
}

/* Set in the shape of a joined page's statement, which nd_listsql_shape()
 * leaves free. */
#define JOINED_SHAPE ((uint64_t)1 << 63)

static bool joined_page(const struct nd_list_query *q)
{
	return q->member && q->offset > 0;
}

/* The statement of @kind for @q, bound: kept by its shape, its text
 * assembled only when the connection has none of that shape. */
static enum nd_err prepare(struct sq_conn *c, enum nd_listsql_kind kind, int64_t tenant_id,
			   const struct nd_list_query *q, sqlite3_stmt **out, struct nd_error *err)
{
	bool joined = kind != ND_LS_COUNT && joined_page(q);
	uint64_t shape = nd_listsql_shape(q, kind) | (joined ? JOINED_SHAPE : 0);
	sqlite3_stmt *st = sq_prep_kept(c, shape);
	if (!st) {
		struct nd_buf sql = ND_BUF_INIT;
		if (kind == ND_LS_COUNT) {
			nd_listsql_count(&sql, &dialect, q);
		} else {
			struct nd_buf from = ND_BUF_INIT;
			page_select(&from, q, joined);
			if (kind == ND_LS_PLAN)
				nd_buf_puts(&sql, "EXPLAIN QUERY PLAN ");
			nd_listsql_page(&sql, &dialect, q, nd_buf_str(&from));
			nd_buf_release(&from);
		}
		st = sq_prep_shape(c, shape, nd_buf_str(&sql), err);
		nd_buf_release(&sql);
		if (!st)
			return err->code;
	}
	int n = sqlite3_bind_parameter_count(st);
	/* The numbers a present filter's fragment uses (store/listsql.c);
	 * the others are absent from the text, or NULL, as sq_done() left
	 * them. Binding all twelve each time was ~1% of a member's page. */
	if (n >= ND_LP_TENANT)
		sqlite3_bind_int64(st, ND_LP_TENANT, tenant_id);
	if (n >= ND_LP_GUID && q->by_guid)
		sqlite3_bind_blob(st, ND_LP_GUID, q->guid, 16, SQLITE_STATIC);
	if (n >= ND_LP_KEY && q->by_key)
		sqlite3_bind_int(st, ND_LP_KEY, q->key);
	if (n >= ND_LP_STARTED_TO && q->started_from != ND_NO_TIME) {
		sqlite3_bind_int64(st, ND_LP_STARTED_FROM, q->started_from);
		sqlite3_bind_int64(st, ND_LP_STARTED_TO, q->started_to);
	}
	if (n >= ND_LP_COMPLETED_TO && q->completed_from != ND_NO_TIME) {
		sqlite3_bind_int64(st, ND_LP_COMPLETED_FROM, q->completed_from);
		sqlite3_bind_int64(st, ND_LP_COMPLETED_TO, q->completed_to);
	}
	if (n >= ND_LP_CAMPAIGN && q->campaign_id)
		sq_bind_text(st, ND_LP_CAMPAIGN, q->campaign_id);
	if (n >= ND_LP_MEMBER && q->member)
		sq_bind_text(st, ND_LP_MEMBER, q->member);
	if (n >= ND_LP_TYPE && q->type)
		sq_bind_text(st, ND_LP_TYPE, q->type);
	if (n >= ND_LP_OFFSET) {
		sqlite3_bind_int64(st, ND_LP_LIMIT, q->limit ? (int64_t)q->limit : -1);
		sqlite3_bind_int64(st, ND_LP_OFFSET, (int64_t)q->offset);
	}
	*out = st;
	return ND_OK;
}

/* Counts the matches (see nd_listsql_count). */
static enum nd_err count(struct sq_conn *c, int64_t tenant_id,
			 const struct nd_list_query *q, int64_t *total, struct nd_error *err)
{
	sqlite3_stmt *st;
	enum nd_err e = prepare(c, ND_LS_COUNT, tenant_id, q, &st, err);
	if (e)
		return e;
	int rc = sq_step(st);
	*total = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sq_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ND_OK : sq_fail(c, rc, "list count", err);
}

enum nd_err sq_op_list(struct nd_store_conn *base, int64_t tenant_id,
			  const struct nd_list_query *q, nd_item_cb cb, void *arg, int64_t *total,
			  struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	sqlite3_stmt *st;
	if (total)
		*total = 0;
	enum nd_err e = prepare(c, ND_LS_PAGE, tenant_id, q, &st, err);
	if (e)
		return e;
	/* A member's first page notes the member's counter as it looks the
	 * member up (migration 5): the total then costs no statement of its
	 * own. A later page counts first, so that one past the last reads
	 * nothing (an OFFSET walks the rows it skips). */
	bool counting = total && q->offset == 0 && nd_listsql_page_counts(&dialect, q);
	c->noted = false;
	if (total && !counting && (e = count(c, tenant_id, q, total, err)))
		goto out;
	if (total && !counting && q->offset >= (uint64_t)*total && q->offset > 0)
		goto out; /* past the last page: nothing to read */
	bool joined = joined_page(q);
	/* Where the member's columns are. */
	int member = LISTED_NCOLS + (joined ? SQ_NOTIFICATION_NCOLS : 1);
	int rc = SQLITE_DONE, stop = 0;
	while (!e && !stop && (rc = sq_step(st)) == SQLITE_ROW) {
		struct nd_notification n;
		struct nd_delivery d;
		struct nd_target t;
		sqlite3_stmt *held = NULL;
		d.routed_at = sqlite3_column_int64(st, 0);
		sq_col_guid(st, 1, d.guid);
		for (int i = 0; i < ND_EV__COUNT; i++)
			d.at[i] = ND_NO_TIME;
		d.at[ND_EV_READ] = sq_col_time(st, 2);
		if (joined) {
			sq_read_notification(st, LISTED_NCOLS, &n);
			d.n = &n;
		} else {
			e = sq_notification_cached(c, tenant_id,
						   sqlite3_column_int(st, LISTED_NCOLS), &n, &held,
						   &d.n, err);
		}
		if (!e) {
			d.target = NULL;
			if (q->with_member) {
				sq_read_member(st, member, &t);
				d.target = t.id;
			}
			struct nd_item it = {.d = &d, .member = q->with_member ? &t : NULL};
			stop = cb(arg, &it);
		}
		if (held)
			sq_done(held);
	}
	if (stop)
		e = (enum nd_err)stop;
	else if (!e && rc != SQLITE_DONE)
		e = sq_fail(c, rc, "list", err);
	else if (!e && counting && c->noted)
		*total = c->noted_total;
	else if (!e && counting) /* no member by that id: the count says 0 */
		e = count(c, tenant_id, q, total, err);
out:
	sq_done(st);
	return e;
}

enum nd_err sq_op_list_plan(struct nd_store_conn *base, int64_t tenant_id,
			       const struct nd_list_query *q, nd_plan_cb cb, void *arg,
			       struct nd_error *err)
{
	struct sq_conn *c = sq_conn_of(base);
	sqlite3_stmt *st;
	enum nd_err e = prepare(c, ND_LS_PLAN, tenant_id, q, &st, err);
	if (e)
		return e;
	int rc, stop = 0;
	while (!stop && (rc = sq_step(st)) == SQLITE_ROW)
		stop = cb(arg, sq_col_text(st, 3));
	sq_done(st);
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
