/* listsql.h - the text of the tenant-wide listing (API3 LIST) for the SQL
 * backends.
 *
 * Both backends must return the same pages and totals, so the parts that
 * decide them are written once: which WHERE terms the filters give, the
 * ORDER BY of each order key with its tie-break (the remaining columns of
 * the index that serves it, ending on a unique key, so OFFSET pages never
 * overlap or skip), and where a total comes from. A backend supplies only
 * its dialect and the SELECT ... FROM of its page query. Nothing a client
 * sends is spliced in: the text is assembled from constant fragments and
 * every value is a numbered parameter. */
#ifndef ND_STORE_LISTSQL_H
#define ND_STORE_LISTSQL_H

#include "core/model.h"
#include "util/buf.h"

/* Parameter numbers, the same whatever the filters: a backend binds them
 * all (unused numbers are harmless). */
enum nd_listsql_param {
	ND_LP_TENANT = 1,
	ND_LP_GUID,
	ND_LP_KEY,
	ND_LP_STARTED_FROM,
	ND_LP_STARTED_TO,
	ND_LP_COMPLETED_FROM,
	ND_LP_COMPLETED_TO,
	ND_LP_CAMPAIGN,
	ND_LP_MEMBER, /* the member filter's target id */
	ND_LP_TYPE,
	ND_LP_LIMIT,
	ND_LP_OFFSET,
	ND_LP__COUNT = ND_LP_OFFSET /* numbering starts at 1: the last is the count */
};

struct nd_listsql_dialect {
	char mark;        /* before a parameter number: '?' (SQLite) or '$' (PostgreSQL) */
	bool spell_nulls; /* write NULLS FIRST/LAST (SQLite's default order) on nullable keys */
	/* A tenant-wide page orders and windows the routing time by the
	 * notifications' date_started (the same order: each delivery is routed
	 * at it), so the plan walks notifications in that order and each one's
	 * deliveries by target; else by the deliveries' routed_at index. */
	bool notification_time;
	/* The type order's expression, never NULL where the engine needs that
	 * to read an index in order, and the type filter on it ($10). */
	const char *type_order, *type_filter;
	/* SELECT of the tenant's live deliveries ($1) and the member's ($1, $9):
	 * no row when the member does not exist. */
	const char *tenant_total, *member_total;
	/* The member's row id ($1, $9) for a page whose total is the member's
	 * counter, looked up so that the backend learns the counter in the
	 * same step (SQLite: notifd_total(), store/sqlite/list.c); NULL: the
	 * plain lookup, and the total from member_total. */
	const char *member_counted;
};

/* What decides the text of a listing query: its kind, which filters are
 * present, the order terms. Queries of one shape have the same text (for a
 * dialect), so a backend can keep its prepared statements by shape and
 * assemble the text only when it has none. */
enum nd_listsql_kind { ND_LS_PAGE, ND_LS_COUNT, ND_LS_PLAN };
uint64_t nd_listsql_shape(const struct nd_list_query *q, enum nd_listsql_kind kind);

/* Whether the page's conditions or order name a notification's column, so
 * that its @select_from must join the notifications as n. */
bool nd_listsql_reads_notifications(const struct nd_listsql_dialect *d,
				    const struct nd_list_query *q);
/* @select_from is "SELECT <columns> FROM deliveries d JOIN notifications n
 * ... JOIN targets t ..." (aliases d, n, t). */
void nd_listsql_page(struct nd_buf *b, const struct nd_listsql_dialect *d,
		     const struct nd_list_query *q, const char *select_from);
/* Whether @q's page learns its total from its own member lookup
 * (member_counted), so that no count runs while the member exists. */
bool nd_listsql_page_counts(const struct nd_listsql_dialect *d, const struct nd_list_query *q);

/* The query whose one row is the number of matches: a live counter when the
 * filters allow it (none, only a member, only what a notification decides:
 * key, campaign, type, routing time), else a count over the filters' index. */
void nd_listsql_count(struct nd_buf *b, const struct nd_listsql_dialect *d,
		      const struct nd_list_query *q);

#endif
