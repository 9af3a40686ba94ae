/* listsql.c - the text of the tenant-wide listing, for the SQL backends. */
#include "store/listsql.h"

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

/* One " AND <term>" per present filter; %c takes the dialect's mark. */
static void add_where(struct nd_buf *b, char m, const struct nd_list_query *q, bool by_tid)
{
	nd_buf_printf(b, " WHERE d.tenant_id = %c1 AND d.deleted_at IS NULL", m);
	if (q->by_guid)
		nd_buf_printf(b, " AND d.guid = %c2", m);
	if (q->by_key)
		nd_buf_printf(b, " AND d.nkey = %c3", m);
	if (q->started_from != ND_NO_TIME)
		nd_buf_printf(b, " AND d.routed_at >= %c4 AND d.routed_at < %c5", m, m);
	if (q->completed_from != ND_NO_TIME)
		nd_buf_printf(b, " AND d.completed_at >= %c6 AND d.completed_at < %c7", m, m);
	if (q->campaign_id)
		nd_buf_printf(b, " AND n.campaign_id = %c8", m);
	if (by_tid)
		nd_buf_printf(b, " AND d.tid = %c9", m);
	if (q->type)
		nd_buf_printf(b, " AND n.type = %c10", m);
}

static void add_order(struct nd_buf *b, const struct nd_listsql_dialect *d,
		      const struct nd_list_query *q)
{
	const struct nd_order_term *terms = q->norder ? q->order : &default_order;
	size_t n = q->norder ? q->norder : 1;
	nd_buf_puts(b, " ORDER BY ");
	for (size_t i = 0; i < n; i++) {
		bool desc = terms[i].desc;
		/* Unset sorts lowest: first ascending, last descending. */
		const char *nulls = "";
		if (d->spell_nulls && orders[terms[i].key].nullable)
			nulls = desc ? " NULLS LAST" : " NULLS FIRST";
		nd_buf_printf(b, "%s%s %s%s", i ? ", " : "", orders[terms[i].key].expr,
			      desc ? "DESC" : "ASC", nulls);
	}
	/* The tie-break continues the last key's index in the same direction;
	 * every key's columns plus its tie-break identify one delivery, and
	 * the tie-break columns are never NULL. */
	const struct nd_order_term *last = &terms[n - 1];
	for (size_t i = 0; i < 3 && orders[last->key].tie[i]; i++)
		nd_buf_printf(b, ", %s %s", orders[last->key].tie[i], last->desc ? "DESC" : "ASC");
}

void nd_listsql_page(struct nd_buf *b, const struct nd_listsql_dialect *d,
		     const struct nd_list_query *q, const char *select_from, bool by_tid)
{
	nd_buf_puts(b, select_from);
	add_where(b, d->mark, q, by_tid);
	add_order(b, d, q);
	nd_buf_printf(b, " LIMIT %c11 OFFSET %c12", d->mark, d->mark);
}

void nd_listsql_count(struct nd_buf *b, const struct nd_listsql_dialect *d,
		      const struct nd_list_query *q)
{
	char m = d->mark;
	bool windows = q->started_from != ND_NO_TIME || q->completed_from != ND_NO_TIME;
	bool rows_only = windows || q->by_guid;
	if (!rows_only && !q->member && !q->by_key && !notification_filter(q)) {
		nd_buf_puts(b, d->tenant_total);
	} else if (!rows_only && q->member && !q->by_key && !notification_filter(q)) {
		nd_buf_puts(b, d->member_total);
	} else if (!rows_only && !q->member) {
		/* A sum over the matching notifications, read from their indexes. */
		nd_buf_printf(b, "SELECT coalesce(sum(n.deliveries), 0) FROM notifications n"
				 " WHERE n.tenant_id = %c1", m);
		if (q->by_key)
			nd_buf_printf(b, " AND n.nkey = %c3", m);
		if (q->campaign_id)
			nd_buf_printf(b, " AND n.campaign_id = %c8", m);
		if (q->type)
			nd_buf_printf(b, " AND n.type = %c10", m);
	} else {
		nd_buf_puts(b, "SELECT count(*) FROM deliveries d");
		if (notification_filter(q))
			nd_buf_puts(b, " JOIN notifications n ON n.tenant_id = d.tenant_id"
				       " AND n.nkey = d.nkey");
		add_where(b, m, q, q->member != NULL);
	}
}
