/* notifications.c - PostgreSQL queries for notifications, deliveries, feeds
 * and events.
 *
 * A notification and all its deliveries are written in one transaction
 * (READ COMMITTED) that holds the tenant's counters row lock from the key
 * bump on: keys come out unique and consecutive across processes, and
 * target_delete and delivery_delete, which take the same lock, never miss
 * a delivery being added.
 *
 * Deliveries are inserted with set-based statements whatever the number of
 * recipients, two or three per notification: the explicit targets travel
 * as one text[] parameter (unknown ones are inserted first, in the order
 * given, by an INSERT .. SELECT over it), the segments' members are copied
 * by an INSERT .. SELECT, and a recipient reached twice gets one delivery
 * through ON CONFLICT DO NOTHING on the primary key. Measured against COPY
 * into a temporary table and against pipelined per-target statements, the
 * array form was as fast as COPY and about twice as fast as the pipeline,
 * and is the simplest. */
#include "store/postgres/pg.h"

#include "core/ids.h"
#include "util/time.h"

struct create_arg {
	int64_t tenant_id;
	struct nd_notification *n;
	const struct nd_recipients *to;
	int64_t deliveries;
	struct nd_missing_ref *miss;
	const char *targets;  /* text[] literal of to->targets */
	const char *guids;    /* uuid[] literal, a new GUID per target */
	const char *segments; /* integer[] literal of to->segments */
};

static enum nd_err check_campaign(struct pg_conn *c, struct create_arg *a, struct nd_error *err)
{
	/* Campaigns are never deleted: no lock is needed to keep one. */
	static const char sql[] = "SELECT 1 FROM campaigns WHERE tenant_id = $1 AND id = $2";
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, a->tenant_id);
	pg_p_text(&p, a->n->campaign_id);
	PGresult *r;
	enum nd_err e = pg_row(c, sql, &p, "campaign lookup", "campaign not found", &r, err);
	if (!e)
		PQclear(r);
	else if (e == ND_ERR_NOT_FOUND)
		a->miss->kind = ND_REF_CAMPAIGN;
	return e;
}

/* Checks every segment exists and keeps them (FOR KEY SHARE) from being
 * deleted before the fan-out has read their members. */
static enum nd_err check_segments(struct pg_conn *c, struct create_arg *a, struct nd_error *err)
{
	static const char sql[] = "SELECT id FROM segments WHERE tenant_id = $1"
				  " AND id = ANY ($2::integer[]) FOR KEY SHARE";
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, a->tenant_id);
	pg_p_text(&p, a->segments);
	PGresult *r = pg_query(c, sql, &p, "segment lookup", err);
	if (!r)
		return err->code;
	int found = PQntuples(r);
	enum nd_err e = ND_OK;
	for (size_t i = 0; !e && i < a->to->nsegments; i++) {
		int j = 0;
		while (j < found && pg_int(r, j, 0) != a->to->segments[i])
			j++;
		if (j == found) {
			a->miss->kind = ND_REF_SEGMENT;
			a->miss->segment = a->to->segments[i];
			e = nd_fail(err, ND_ERR_NOT_FOUND, NULL, "segment not found");
		}
	}
	PQclear(r);
	return e;
}

static enum nd_err next_key(struct pg_conn *c, struct create_arg *a, struct nd_error *err)
{
	static const char bump[] = "UPDATE tenant_counters SET next_notification_key ="
				   " next_notification_key + 1 WHERE tenant_id = $1"
				   " RETURNING next_notification_key - 1";
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, a->tenant_id);
	PGresult *r;
	enum nd_err e = pg_row(c, bump, &p, "notification key", "", &r, err);
	if (e == ND_ERR_NOT_FOUND) /* callers pass a tenant they resolved */
		return pg_internal(err, "notification key: no tenant %lld",
				   (long long)a->tenant_id);
	if (e)
		return e;
	int64_t key = pg_int(r, 0, 0);
	PQclear(r);
	if (key > INT32_MAX)
		return nd_fail(err, ND_ERR_CONFLICT, NULL, "notification keys used up");
	a->n->key = (int32_t)key;
	a->n->created_at = nd_time_now_ms();
	return ND_OK;
}

/* Each statement inserts deliveries and counts them in their recipients'
 * rows at once: the targets it updates are the rows its INSERT returned
 * (ON CONFLICT DO NOTHING returns none for a recipient already served), so
 * no recipient is counted twice, and they are found through the primary
 * key whatever the size of the tenant. */
#define DELIVER(select)                                                                            \
	"WITH d AS (INSERT INTO deliveries (tenant_id, tid, routed_at, nkey, guid, updated_at) "   \
	select " ON CONFLICT DO NOTHING RETURNING tid),"                                          \
	" t AS (UPDATE targets SET deliveries = deliveries + 1"                                    \
	"  WHERE tenant_id = $1 AND tid = ANY (ARRAY (SELECT tid FROM d)))"                        \
	" SELECT count(*) FROM d"

static enum nd_err deliver_to(struct pg_conn *c, struct create_arg *a, const char *sql,
			      const char *list, const char *guids, const char *what,
			      struct nd_error *err)
{
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, a->tenant_id);
	pg_p_text(&p, list);
	pg_p_int(&p, a->n->date_started);
	pg_p_int(&p, a->n->key);
	pg_p_int(&p, a->n->created_at);
	if (guids)
		pg_p_text(&p, guids);
	PGresult *r;
	enum nd_err e = pg_row(c, sql, &p, what, "no count", &r, err);
	if (e)
		return e;
	a->deliveries += pg_int(r, 0, 0);
	PQclear(r);
	return ND_OK;
}

static enum nd_err deliver(struct pg_conn *c, struct create_arg *a, struct nd_error *err)
{
	/* Unknown targets first, in the order given (their tids then order
	 * them as SQLite's rowids do), by a statement of their own: the next
	 * one's snapshot then includes targets another transaction created
	 * meanwhile, which this INSERT skipped. */
	static const char new_targets[] =
		"INSERT INTO targets (tenant_id, ext_id, created_at, updated_at)"
		" SELECT $1, x.id, $3, $3 FROM unnest($2::text[]) WITH ORDINALITY AS x (id, ord)"
		" WHERE NOT EXISTS (SELECT 1 FROM targets t"
		" WHERE t.tenant_id = $1 AND t.ext_id = x.id)"
		" ORDER BY x.ord ON CONFLICT (tenant_id, ext_id) DO NOTHING";
	/* Explicit targets travel with a GUID each, made here: the server's
	 * notifd_guid() costs ~2 µs a row, ~10% of an ingest to 1,000 targets.
	 * A target named twice gets one delivery (ON CONFLICT DO NOTHING). */
	static const char to_targets[] =
		DELIVER("SELECT $1, t.tid, $3, $4, x.guid, $5"
			" FROM unnest($2::text[], $6::uuid[]) AS x (id, guid)"
			" JOIN targets t ON t.tenant_id = $1 AND t.ext_id = x.id");
	static const char to_segments[] = DELIVER(
		"SELECT $1, m.tid, $3, $4, notifd_guid(), $5 FROM (SELECT DISTINCT tid"
		" FROM memberships WHERE tenant_id = $1 AND segment_id = ANY ($2::integer[])) m");
	enum nd_err e = ND_OK;
	if (a->to->ntargets) {
		struct pg_params p = PG_PARAMS_INIT;
		pg_p_int(&p, a->tenant_id);
		pg_p_text(&p, a->targets);
		pg_p_int(&p, nd_time_now_ms());
		e = pg_exec(c, new_targets, &p, "target insert", NULL, err);
		if (!e)
			e = deliver_to(c, a, to_targets, a->targets, a->guids, "delivery insert",
				       err);
	}
	if (!e && a->to->nsegments)
		e = deliver_to(c, a, to_segments, a->segments, NULL, "segment fan-out", err);
	return e;
}

/* The notification row goes in last, with the number of its deliveries,
 * and the tenant's counter grows by as much. */
static enum nd_err insert_notification(struct pg_conn *c, struct create_arg *a,
				       struct nd_error *err)
{
	static const char ins[] = "WITH t AS (UPDATE tenant_counters SET deliveries = deliveries + $16"
				  "  WHERE tenant_id = $1) " PG_NOTIFICATION_INSERT(", deliveries", ", $16");
	struct nd_notification *n = a->n;
	unsigned char guid[16];
	nd_guid_new(guid, n->guid);
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, a->tenant_id);
	pg_p_notification(&p, n, guid);
	pg_p_int(&p, a->deliveries);
	return pg_exec(c, ins, &p, "notification insert", NULL, err);
}

static enum nd_err create_tx(struct pg_conn *c, void *arg, struct nd_error *err)
{
	struct create_arg *a = arg;
	a->deliveries = 0;
	enum nd_err e = ND_OK;
	if (a->n->campaign_id)
		e = check_campaign(c, a, err);
	if (!e && a->to->nsegments)
		e = check_segments(c, a, err);
	if (!e)
		e = next_key(c, a, err);
	if (!e)
		e = deliver(c, a, err);
	if (!e)
		e = insert_notification(c, a, err);
	return e;
}

enum nd_err pg_notification_create(struct nd_store_conn *c, int64_t tenant_id,
				   struct nd_notification *n, const struct nd_recipients *to,
				   int64_t *deliveries,
				   struct nd_missing_ref *miss, struct nd_error *err)
{
	struct nd_buf targets = ND_BUF_INIT, segments = ND_BUF_INIT, guids = ND_BUF_INIT;
	pg_text_array(&targets, to->targets, to->ntargets);
	nd_buf_reserve(&guids, to->ntargets * (ND_GUID_LEN + 1) + 2);
	nd_buf_putc(&guids, '{');
	for (size_t i = 0; i < to->ntargets; i++) {
		unsigned char bin[16];
		char text[ND_GUID_LEN + 1];
		nd_guid_new(bin, text);
		if (i)
			nd_buf_putc(&guids, ',');
		nd_buf_add(&guids, text, ND_GUID_LEN);
	}
	nd_buf_putc(&guids, '}');
	nd_buf_putc(&segments, '{');
	for (size_t i = 0; i < to->nsegments; i++)
		nd_buf_printf(&segments, "%s%d", i ? "," : "", to->segments[i]);
	nd_buf_putc(&segments, '}');
	struct create_arg a = {
		.tenant_id = tenant_id,
		.n = n,
		.to = to,
		.miss = miss,
		.targets = nd_buf_str(&targets),
		.guids = nd_buf_str(&guids),
		.segments = nd_buf_str(&segments),
	};
	enum nd_err e = pg_tx(pg_conn_of(c), create_tx, &a, err);
	if (!e)
		*deliveries = a.deliveries;
	nd_buf_release(&targets);
	nd_buf_release(&segments);
	nd_buf_release(&guids);
	return e;
}

enum nd_err pg_notification_get(struct nd_store_conn *c, int64_t tenant_id, int32_t key,
				nd_notification_cb cb, void *arg, struct nd_error *err)
{
	static const char sql[] = "SELECT " PG_NOTIFICATION_COLS ", n.deliveries"
				  " FROM notifications n WHERE n.tenant_id = $1 AND n.nkey = $2";
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, tenant_id);
	pg_p_int(&p, key);
	PGresult *r;
	enum nd_err e = pg_row(pg_conn_of(c), sql, &p, "notification get", "notification not found",
			       &r, err);
	if (e)
		return e;
	struct nd_notification n;
	pg_read_notification(r, 0, 0, &n);
	n.deliveries = pg_int(r, 0, PG_NOTIFICATION_NCOLS);
	int ret = cb(arg, &n);
	PQclear(r);
	return (enum nd_err)ret;
}

/* The first rows of a feed read the delivery columns alone and take each
 * row's notification from the connection's cache (store/ncache.h), those
 * missing from it read in one more statement: the newest notifications are
 * the ones every target's feed shows, and each column of the join costs the
 * server an output conversion per row (a 20-row page read ~35,000 times a
 * second alone, ~17,000 joined with every notification column). A continued
 * walk (a stream's later batches) or an unbounded read, which arrives a row
 * at a time, joins them instead. The target's id is looked up inside the
 * statement: an unknown target matches no row, an empty feed. The keyset
 * cursor is a row comparison, which bounds the range of the primary key
 * (tenant_id, tid, routed_at, nkey) directly. */
#define FEED_OWN "SELECT " PG_DELIVERY_OWN_COLS ", d.nkey FROM deliveries d"
#define FEED_JOINED                                                                                \
	"SELECT " PG_DELIVERY_COLS " FROM deliveries d JOIN notifications n"                       \
	" ON n.tenant_id = d.tenant_id AND n.nkey = d.nkey"
#define FEED_WHERE                                                                                 \
	" WHERE d.tenant_id = $1"                                                                  \
	" AND d.tid = (SELECT tid FROM targets WHERE tenant_id = $1 AND ext_id = $2)"              \
	" AND d.deleted_at IS NULL AND d.routed_at >= $3 AND d.routed_at < $4"
#define FEED_ASC                                                                                   \
	FEED_WHERE " AND (d.routed_at, d.nkey) > ($5, $6)"                                         \
		   " ORDER BY d.routed_at, d.nkey LIMIT $7"
#define FEED_DESC                                                                                  \
	FEED_WHERE " AND (d.routed_at, d.nkey) < ($5, $6)"                                         \
		   " ORDER BY d.routed_at DESC, d.nkey DESC LIMIT $7"

struct feed_arg {
	const char *target;
	nd_delivery_cb cb;
	void *arg;
};

static int feed_row(void *arg, PGresult *r, int row)
{
	struct feed_arg *a = arg;
	struct nd_notification n;
	struct nd_delivery d = {.target = a->target};
	pg_read_delivery(r, row, 0, &d, &n);
	return a->cb(a->arg, &d);
}

/* Reads the notifications of @r's rows (their key in column @key_col) that
 * the cache lacks into the cache, all in one statement; *@fetched keeps them
 * (NULL when none was missing) for those the cache could not hold. */
static enum nd_err fetch_missing(struct pg_conn *c, int64_t tenant_id, PGresult *r, int key_col,
				 PGresult **fetched, struct nd_error *err)
{
	static const char sql[] = "SELECT " PG_NOTIFICATION_COLS " FROM notifications n"
				  " WHERE n.tenant_id = $1 AND n.nkey = ANY ($2::integer[])";
	struct nd_buf keys = ND_BUF_INIT;
	int32_t last = 0;
	bool any = false;
	for (int row = 0, n = PQntuples(r); row < n; row++) {
		int32_t key = (int32_t)pg_int(r, row, key_col);
		if ((any && key == last) || nd_ncache_get(&c->notifications, tenant_id, key))
			continue;
		nd_buf_putc(&keys, any ? ',' : '{');
		nd_buf_json_int(&keys, key);
		any = true;
		last = key;
	}
	*fetched = NULL;
	if (!any)
		return ND_OK;
	nd_buf_putc(&keys, '}');
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, tenant_id);
	pg_p_text(&p, nd_buf_str(&keys));
	*fetched = pg_query(c, sql, &p, "notifications", err);
	nd_buf_release(&keys);
	if (!*fetched)
		return err->code;
	for (int row = 0, n = PQntuples(*fetched); row < n; row++) {
		struct nd_notification tmp;
		pg_read_notification(*fetched, row, 0, &tmp);
		nd_ncache_put(&c->notifications, tenant_id, &tmp);
	}
	return ND_OK;
}

/* Notification @key of @tenant_id from the cache, or from @fetched (into
 * @tmp) when the cache could not keep it. */
static enum nd_err cached(struct pg_conn *c, int64_t tenant_id, int32_t key, PGresult *fetched,
			  struct nd_notification *tmp, const struct nd_notification **out,
			  struct nd_error *err)
{
	*out = nd_ncache_get(&c->notifications, tenant_id, key);
	for (int row = 0, n = fetched ? PQntuples(fetched) : 0; !*out && row < n; row++) {
		if (pg_int(fetched, row, 0) != key)
			continue;
		pg_read_notification(fetched, row, 0, tmp);
		*out = nd_ncache_put(&c->notifications, tenant_id, tmp);
		if (!*out)
			*out = tmp;
	}
	return *out ? ND_OK : nd_ncache_missing(tenant_id, key, err);
}

static enum nd_err feed_cached(struct pg_conn *c, int64_t tenant_id, const char *sql,
			       const struct pg_params *p, const char *target, nd_delivery_cb cb,
			       void *arg, struct nd_error *err)
{
	PGresult *r = pg_query(c, sql, p, "feed", err), *fetched = NULL;
	if (!r)
		return err->code;
	enum nd_err e = fetch_missing(c, tenant_id, r, PG_DELIVERY_OWN_NCOLS, &fetched, err);
	for (int row = 0, n = PQntuples(r); !e && row < n; row++) {
		struct nd_delivery d = {.target = target};
		struct nd_notification tmp;
		pg_read_delivery_own(r, row, 0, &d);
		int32_t key = (int32_t)pg_int(r, row, PG_DELIVERY_OWN_NCOLS);
		e = cached(c, tenant_id, key, fetched, &tmp, &d.n, err);
		if (!e)
			e = (enum nd_err)cb(arg, &d);
	}
	PQclear(fetched);
	PQclear(r);
	return e;
}

enum nd_err pg_feed(struct nd_store_conn *c, int64_t tenant_id, const struct nd_feed_query *q,
		    nd_delivery_cb cb, void *arg, struct nd_error *err)
{
	static const char *const sqls[2][2] = {
		{FEED_OWN FEED_DESC, FEED_OWN FEED_ASC},
		{FEED_JOINED FEED_DESC, FEED_JOINED FEED_ASC},
	};
	bool joined = q->after_at != ND_NO_TIME || !q->limit || q->limit > PG_ROWS_AT_ONCE;
	const char *sql = sqls[joined][q->ascending];
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, tenant_id);
	pg_p_text(&p, q->target);
	pg_p_int(&p, q->start == ND_NO_TIME ? INT64_MIN : q->start);
	pg_p_int(&p, q->end == ND_NO_TIME ? INT64_MAX : q->end);
	if (q->after_at == ND_NO_TIME) {
		pg_p_int(&p, q->ascending ? INT64_MIN : INT64_MAX);
		pg_p_int(&p, q->ascending ? INT32_MIN : INT32_MAX);
	} else {
		pg_p_int(&p, q->after_at);
		pg_p_int(&p, q->after_key);
	}
	if (q->limit)
		pg_p_int(&p, (int64_t)q->limit);
	else
		pg_p_text(&p, NULL); /* LIMIT NULL: all */
	if (!joined)
		return feed_cached(pg_conn_of(c), tenant_id, sql, &p, q->target, cb, arg, err);
	struct feed_arg a = {q->target, cb, arg};
	return pg_stream(pg_conn_of(c), sql, NULL, &p, q->limit, feed_row, &a, "feed", err);
}

struct event_arg {
	int64_t tenant_id;
	const char *target;
	int32_t key;
	enum nd_event ev;
	int64_t at;
};

static enum nd_err event_tx(struct pg_conn *c, void *arg, struct nd_error *err)
{
	/* One statement per column: a column name is never spliced into SQL. */
#define EVENT_SQL(col)                                                                             \
	"UPDATE deliveries SET " col " = coalesce(" col ", $4), updated_at = $5"                   \
	" WHERE tenant_id = $1 AND nkey = $2 AND tid = $3 AND deleted_at IS NULL"
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
	int64_t tid, n;
	enum nd_err e = pg_target_tid(c, a->tenant_id, a->target, PG_TARGET_FIND, &tid, err);
	if (e)
		return e;
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_int(&p, a->tenant_id);
	pg_p_int(&p, a->key);
	pg_p_int(&p, tid);
	pg_p_int(&p, a->at);
	pg_p_int(&p, nd_time_now_ms());
	e = pg_exec(c, sqls[a->ev], &p, "event", &n, err);
	if (!e && n == 0)
		return nd_fail(err, ND_ERR_NOT_FOUND, NULL, "delivery not found");
	return e;
}

enum nd_err pg_event_record(struct nd_store_conn *c, int64_t tenant_id, const char *target,
			    int32_t key, enum nd_event ev, int64_t at, struct nd_error *err)
{
	struct event_arg a = {tenant_id, target, key, ev, at};
	return pg_tx(pg_conn_of(c), event_tx, &a, err);
}
