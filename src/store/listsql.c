/* listsql.c - the text of the tenant-wide listing, for the SQL backends. */
#include "store/listsql.h"

#include <string.h>

struct order_sql {
	const char *expr;
	bool nullable;
	const char *const tie[3]; /* the index's remaining columns */
};

static const struct order_sql orders[ND_ORDER__COUNT] = {
	[ND_ORDER_STARTED] = {"d.routed_at", false, {"d.nkey", "d.tid"}},
	[ND_ORDER_COMPLETED] = {"d.completed_at", true, {"d.routed_at", "d.nkey", "d.tid"}},
	[ND_ORDER_CREATED] = {"n.created_at", false, {"n.nkey", "d.tid"}},
	[ND_ORDER_MODIFIED] = {"d.updated_at", false, {"d.tid", "d.routed_at", "d.nkey"}},
	[ND_ORDER_TYPE] = {NULL, true, {"n.date_started", "n.nkey", "d.tid"}}, /* the dialect's */
	[ND_ORDER_TITLE] = {"n.libelle", false, {"n.nkey", "d.tid"}},
	[ND_ORDER_READ] = {"(d.read_at IS NOT NULL)", false, {"d.routed_at", "d.tid", "d.nkey"}},
	[ND_ORDER_ID] = {"d.guid", false, {NULL}},
	[ND_ORDER_KEY] = {"d.nkey", false, {"d.tid"}},
};

/* ND_ORDER_STARTED as the notifications write it: every delivery is routed
 * at its notification's date_started, so this is the same order. */
static const struct order_sql started_by_notification = {"n.date_started", false,
							 {"n.nkey", "d.tid"}};

static const struct nd_order_term default_order = {ND_ORDER_STARTED, true};

static const struct order_sql *order_sql(enum nd_order_key k, bool n_time)
{
	return k == ND_ORDER_STARTED && n_time ? &started_by_notification : &orders[k];
}

static bool notification_filter(const struct nd_list_query *q)
{
	return q->campaign_id || q->type;
}

/* Whether the filters leave a live counter as the total: none, or only a
 * member. */
static bool counted(const struct nd_list_query *q)
{
	return q->started_from == ND_NO_TIME && q->completed_from == ND_NO_TIME && !q->by_guid &&
	       !q->by_key && !notification_filter(q);
}

bool nd_listsql_page_counts(const struct nd_listsql_dialect *d, const struct nd_list_query *q)
{
	return d->member_counted && q->member && counted(q);
}

/* One " AND <term>" per present filter; %c takes the dialect's mark.
 * @n_time: the started window on the notifications' date_started.
 * @counting: the member is looked up with its counter (member_counted). */
static void add_where(struct nd_buf *b, const struct nd_listsql_dialect *d,
		      const struct nd_list_query *q, bool n_time, bool counting)
{
	char m = d->mark;
	nd_buf_printf(b, " WHERE d.tenant_id = %c1 AND d.deleted_at IS NULL", m);
	if (q->by_guid)
		nd_buf_printf(b, " AND d.guid = %c2", m);
	if (q->by_key)
		nd_buf_printf(b, " AND d.nkey = %c3", m);
	const char *routed = n_time ? "n.date_started" : "d.routed_at";
	if (q->started_from != ND_NO_TIME)
		nd_buf_printf(b, " AND %s >= %c4 AND %s < %c5", routed, m, routed, m);
	if (q->completed_from != ND_NO_TIME)
		nd_buf_printf(b, " AND d.completed_at >= %c6 AND d.completed_at < %c7", m, m);
	if (q->campaign_id)
		nd_buf_printf(b, " AND n.campaign_id = %c8", m);
	if (counting) /* its row id looked up in the same statement */
		nd_buf_printf(b, " AND d.tid = (%s)", d->member_counted);
	else if (q->member)
		nd_buf_printf(b, " AND d.tid = (SELECT tid FROM targets WHERE tenant_id = %c1"
				 " AND ext_id = %c9)", m, m);
	if (q->type)
		nd_buf_puts(b, d->type_filter);
}

static void add_order(struct nd_buf *b, const struct nd_listsql_dialect *d,
		      const struct nd_list_query *q, bool n_time)
{
	const struct nd_order_term *terms = q->norder ? q->order : &default_order;
	size_t n = q->norder ? q->norder : 1;
	nd_buf_puts(b, " ORDER BY ");
	for (size_t i = 0; i < n; i++) {
		bool desc = terms[i].desc;
		/* Unset sorts lowest: first ascending, last descending. */
		const char *nulls = "";
		const struct order_sql *o = order_sql(terms[i].key, n_time);
		if (d->spell_nulls && o->nullable)
			nulls = desc ? " NULLS LAST" : " NULLS FIRST";
		nd_buf_printf(b, "%s%s %s%s", i ? ", " : "", o->expr ? o->expr : d->type_order,
			      desc ? "DESC" : "ASC", nulls);
	}
	/* The tie-break continues the last key's index in the same direction;
	 * every key's columns plus its tie-break identify one delivery, and
	 * the tie-break columns are never NULL. */
	const struct nd_order_term *last = &terms[n - 1];
	const struct order_sql *o = order_sql(last->key, n_time);
	for (size_t i = 0; i < 3 && o->tie[i]; i++)
		nd_buf_printf(b, ", %s %s", o->tie[i], last->desc ? "DESC" : "ASC");
}

/* Every field of a shape at a bit offset of its own: kind 2 bits, the seven
 * filters and whether members are read a bit each, the number of order terms
 * 3 bits, each term 5 (key and direction). The top bit is left to the
 * backends. */
_Static_assert(ND_ORDER__COUNT <= 16 && ND_ORDER_MAX <= 7 && 13 + 5 * ND_ORDER_MAX <= 63,
	       "a listing shape no longer fits its bits");

uint64_t nd_listsql_shape(const struct nd_list_query *q, enum nd_listsql_kind kind)
{
	const bool flags[] = {
	    q->by_guid,
	    q->by_key,
	    q->started_from != ND_NO_TIME,
	    q->completed_from != ND_NO_TIME,
	    q->campaign_id != NULL,
	    q->member != NULL,
	    q->type != NULL,
	    q->with_member,
	};
	uint64_t shape = (uint64_t)kind;
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
		shape |= (uint64_t)flags[i] << (2 + i);
	shape |= (uint64_t)q->norder << 10;
	for (size_t i = 0; i < q->norder; i++)
		shape |= ((uint64_t)q->order[i].key << 1 | q->order[i].desc) << (13 + 5 * i);
	return shape;
}

static bool names_notification(const char *sql)
{
	return !sql || strncmp(sql, "n.", 2) == 0; /* NULL: the dialect's type order */
}

bool nd_listsql_reads_notifications(const struct nd_listsql_dialect *d,
				    const struct nd_list_query *q)
{
	bool n_time = d->notification_time && !q->member;
	if (notification_filter(q) || (n_time && q->started_from != ND_NO_TIME))
		return true;
	if (q->by_guid)
		return false; /* no order */
	const struct nd_order_term *terms = q->norder ? q->order : &default_order;
	size_t n = q->norder ? q->norder : 1;
	/* An order over a delivery's columns breaks its ties on delivery
	 * columns too (test_listsql checks every shape's text). */
	for (size_t i = 0; i < n; i++)
		if (names_notification(order_sql(terms[i].key, n_time)->expr))
			return true;
	return false;
}

void nd_listsql_page(struct nd_buf *b, const struct nd_listsql_dialect *d,
		     const struct nd_list_query *q, const char *select_from)
{
	/* A member's deliveries are one range of the primary key, in routing
	 * order: only a tenant-wide page walks the notifications. */
	bool n_time = d->notification_time && !q->member;
	nd_buf_puts(b, select_from);
	add_where(b, d, q, n_time, nd_listsql_page_counts(d, q));
	/* A live delivery's id names one delivery of its tenant: nothing to
	 * order (and no sorter to set up for it). */
	if (!q->by_guid)
		add_order(b, d, q, n_time);
	nd_buf_printf(b, " LIMIT %c11 OFFSET %c12", d->mark, d->mark);
}

void nd_listsql_count(struct nd_buf *b, const struct nd_listsql_dialect *d,
		      const struct nd_list_query *q)
{
	char m = d->mark;
	bool started = q->started_from != ND_NO_TIME;
	bool rows_only = q->completed_from != ND_NO_TIME || q->by_guid;
	if (counted(q)) {
		nd_buf_puts(b, q->member ? d->member_total : d->tenant_total);
	} else if (!rows_only && !q->member) {
		/* A sum over the matching notifications (filters on what a
		 * notification decides, routing time included), read from their
		 * indexes. */
		nd_buf_printf(b, "SELECT coalesce(sum(n.deliveries), 0) FROM notifications n"
				 " WHERE n.tenant_id = %c1", m);
		if (started)
			nd_buf_printf(b, " AND n.date_started >= %c4 AND n.date_started < %c5", m, m);
		if (q->by_key)
			nd_buf_printf(b, " AND n.nkey = %c3", m);
		if (q->campaign_id)
			nd_buf_printf(b, " AND n.campaign_id = %c8", m);
		if (q->type)
			nd_buf_puts(b, d->type_filter);
	} else {
		nd_buf_puts(b, "SELECT count(*) FROM deliveries d");
		if (notification_filter(q))
			nd_buf_puts(b, " JOIN notifications n ON n.tenant_id = d.tenant_id"
				       " AND n.nkey = d.nkey");
		add_where(b, d, q, false, false);
	}
}
