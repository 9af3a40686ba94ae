/* store.h - the storage interface.
 *
 * One interface, one implementation per backend (sqlite/ today); store.c
 * picks the backend from the URI. All SQL lives under src/store/.
 *
 * Connections are per thread: nd_store_conn() hands each thread its own,
 * opened on first use and closed by nd_store_free(). Every write operation is
 * one transaction, retried a bounded number of times when the backend reports
 * contention; callers see ND_ERR_BUSY only when all retries failed.
 *
 * Rows stream to callbacks rather than coming back as arrays, so a large
 * result never sits in memory. Pointers inside a row are valid only during
 * the callback. A callback returning non-zero stops the iteration, and the
 * operation returns that value. */
#ifndef ND_STORE_STORE_H
#define ND_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/ids.h"
#include "core/keys.h"
#include "core/zone.h"

/* Absent timestamp. */
#define ND_NO_TIME INT64_MIN

struct nd_store;
struct nd_store_conn;

struct nd_store_opts {
	bool sync_full; /* durable against power loss (SQLite synchronous=FULL) */
};

/* Opens the store at @uri (a file path for SQLite), creating and migrating
 * its schema. Fails with a message naming the path on an unusable location. */
enum nd_err nd_store_open(const char *uri, const struct nd_store_opts *opts,
			  struct nd_store **out, struct nd_error *err);
void nd_store_free(struct nd_store *s);
/* The calling thread's connection. */
enum nd_err nd_store_conn(struct nd_store *s, struct nd_store_conn **out, struct nd_error *err);
/* Called at the end of every request: rolls back a transaction left open
 * (a bug) and returns true when there was one. */
bool nd_store_abandon_tx(struct nd_store_conn *c);
enum nd_err nd_store_ping(struct nd_store_conn *c, struct nd_error *err);

/* --- tenants and keys --- */

struct nd_principal {
	int64_t tenant_id;
	char time_zone[ND_ZONE_MAX]; /* the tenant's IANA zone, for local dates */
	enum nd_role role;
	char key_id[ND_KEY_ID_LEN + 1];
	char target[ND_ID_MAX + 1]; /* member keys only */
};

struct nd_key_row {
	const char *id;
	enum nd_role role;
	const char *target; /* NULL for admin keys */
	int64_t created_at;
	int64_t revoked_at; /* ND_NO_TIME while valid */
};

typedef int (*nd_key_cb)(void *arg, const struct nd_key_row *row);

enum nd_err nd_store_tenant_ensure(struct nd_store_conn *c, const char *name,
				   int64_t *tenant_id, struct nd_error *err);

struct nd_tenant {
	const char *name;
	const char *time_zone;
	int64_t deliveries; /* live (not deleted) deliveries */
};

typedef int (*nd_tenant_cb)(void *arg, const struct nd_tenant *row);

enum nd_err nd_store_tenant_get(struct nd_store_conn *c, int64_t tenant_id, nd_tenant_cb cb,
				void *arg, struct nd_error *err);
/* The caller has checked that @zone is a valid IANA zone. */
enum nd_err nd_store_tenant_set_zone(struct nd_store_conn *c, int64_t tenant_id,
				     const char *zone, struct nd_error *err);
/* Inserts a key of @role (@target for member keys, else NULL). When
 * @reinstate, an existing identical key is made valid again instead of
 * failing (used for the operator's --admin-key). A hash that already belongs
 * to another tenant or role is an ND_ERR_INVALID_PARAM. */
enum nd_err nd_store_key_put(struct nd_store_conn *c, int64_t tenant_id,
			     const unsigned char hash[ND_KEY_HASH_LEN], enum nd_role role,
			     const char *target, int64_t created_at, bool reinstate,
			     struct nd_error *err);
/* Resolves a key hash to its principal; ND_ERR_UNAUTHORIZED when unknown or revoked. */
enum nd_err nd_store_key_auth(struct nd_store_conn *c, const unsigned char hash[ND_KEY_HASH_LEN],
			      struct nd_principal *out, struct nd_error *err);
enum nd_err nd_store_key_list(struct nd_store_conn *c, int64_t tenant_id, nd_key_cb cb,
			      void *arg, struct nd_error *err);
/* ND_ERR_NOT_FOUND when the tenant has no such key; revoking twice is fine. */
enum nd_err nd_store_key_revoke(struct nd_store_conn *c, int64_t tenant_id, const char *id,
				struct nd_error *err);

/* --- targets --- */

struct nd_target {
	const char *id;
	const char *name, *email, *profile; /* NULL when unset */
	const char *attributes;             /* JSON object text */
	int64_t created_at, updated_at;
};

typedef int (*nd_target_cb)(void *arg, const struct nd_target *row);

/* Creates or replaces @t (attributes NULL means {}); *@created tells which,
 * and @t's created_at/updated_at are set to the stored values. */
enum nd_err nd_store_target_put(struct nd_store_conn *c, int64_t tenant_id,
				struct nd_target *t, bool *created, struct nd_error *err);
enum nd_err nd_store_target_get(struct nd_store_conn *c, int64_t tenant_id, const char *id,
				nd_target_cb cb, void *arg, struct nd_error *err);
/* Removes the target with its deliveries and memberships. */
enum nd_err nd_store_target_delete(struct nd_store_conn *c, int64_t tenant_id, const char *id,
				   struct nd_error *err);

/* --- segments --- */

struct nd_segment {
	int32_t id;
	const char *name;
	int64_t members;
};

typedef int (*nd_segment_cb)(void *arg, const struct nd_segment *row);

enum nd_err nd_store_segment_create(struct nd_store_conn *c, int64_t tenant_id,
				    const char *name, int32_t *id, struct nd_error *err);
enum nd_err nd_store_segment_list(struct nd_store_conn *c, int64_t tenant_id, nd_segment_cb cb,
				  void *arg, struct nd_error *err);
enum nd_err nd_store_segment_get(struct nd_store_conn *c, int64_t tenant_id, int32_t id,
				 nd_segment_cb cb, void *arg, struct nd_error *err);
enum nd_err nd_store_segment_delete(struct nd_store_conn *c, int64_t tenant_id, int32_t id,
				    struct nd_error *err);
/* Adds (creating the target if needed) or removes a membership; both are
 * idempotent; ND_ERR_NOT_FOUND when the segment does not exist. */
enum nd_err nd_store_member_put(struct nd_store_conn *c, int64_t tenant_id, int32_t segment,
				const char *target, struct nd_error *err);
enum nd_err nd_store_member_delete(struct nd_store_conn *c, int64_t tenant_id, int32_t segment,
				   const char *target, struct nd_error *err);

typedef int (*nd_segment_id_cb)(void *arg, int32_t segment_id);

/* The ids of the segments @target belongs to, ascending. An unknown target
 * belongs to none. */
enum nd_err nd_store_target_segments(struct nd_store_conn *c, int64_t tenant_id,
				     const char *target, nd_segment_id_cb cb, void *arg,
				     struct nd_error *err);

/* --- campaigns --- */

struct nd_campaign {
	const char *id;
	const char *name;
	int64_t created_at, updated_at;
};

typedef int (*nd_campaign_cb)(void *arg, const struct nd_campaign *row);

/* Creates or replaces @cp; sets its created_at/updated_at like target_put. */
enum nd_err nd_store_campaign_put(struct nd_store_conn *c, int64_t tenant_id,
				  struct nd_campaign *cp, bool *created, struct nd_error *err);
enum nd_err nd_store_campaign_get(struct nd_store_conn *c, int64_t tenant_id, const char *id,
				  nd_campaign_cb cb, void *arg, struct nd_error *err);

/* --- notifications and deliveries --- */

enum nd_event {
	ND_EV_IMPRESSION,
	ND_EV_ACTIVATION,
	ND_EV_REDIRECTION,
	ND_EV_DISMISS,
	ND_EV_READ,
	ND_EV_COMPLETE,
	ND_EV__COUNT
};

struct nd_notification {
	int32_t key;
	char guid[ND_GUID_LEN + 1];
	const char *libelle, *body, *url, *type;
	int32_t action_type;
	const char *campaign_id, *profile;
	const char *screen_names; /* JSON array text */
	const char *batch;
	int64_t date_started, date_due; /* ND_NO_TIME when unset */
	int64_t created_at;
	int64_t deliveries; /* rows not deleted (reads only) */
};

typedef int (*nd_notification_cb)(void *arg, const struct nd_notification *row);

struct nd_recipients {
	const char *const *targets; /* valid target ids, may repeat */
	size_t ntargets;
	const int32_t *segments;
	size_t nsegments;
};

/* Creates @n (its key, guid and created_at are assigned and written back)
 * and one delivery per distinct recipient, routed at @routed_at, in one
 * transaction. Unknown targets are created; an unknown segment or campaign
 * is ND_ERR_UNKNOWN_REF and nothing is written. */
enum nd_err nd_store_notification_create(struct nd_store_conn *c, int64_t tenant_id,
					 struct nd_notification *n,
					 const struct nd_recipients *to, int64_t routed_at,
					 int64_t *deliveries, struct nd_error *err);
enum nd_err nd_store_notification_get(struct nd_store_conn *c, int64_t tenant_id, int32_t key,
				      nd_notification_cb cb, void *arg, struct nd_error *err);

struct nd_delivery {
	const struct nd_notification *n; /* libelle, body, url, type, ... */
	char guid[ND_GUID_LEN + 1];
	const char *target;
	int64_t routed_at;
	int64_t at[ND_EV__COUNT]; /* ND_NO_TIME when not recorded */
};

typedef int (*nd_delivery_cb)(void *arg, const struct nd_delivery *row);

/* A window over one target's deliveries, by routing time. */
struct nd_feed_query {
	const char *target;
	int64_t start, end; /* [start, end); ND_NO_TIME = open */
	bool ascending;
	/* Keyset cursor: rows strictly after (after_at, after_key) in the
	 * order asked for; after_at == ND_NO_TIME starts at the beginning. */
	int64_t after_at;
	int32_t after_key;
	size_t limit; /* 0 = no limit */
};

/* Streams the target's non-deleted deliveries, ordered by routing time then
 * notification_key. An unknown target yields no rows. */
enum nd_err nd_store_feed(struct nd_store_conn *c, int64_t tenant_id,
			  const struct nd_feed_query *q, nd_delivery_cb cb, void *arg,
			  struct nd_error *err);

/* --- listing a tenant's deliveries --- */

enum nd_order_key {
	ND_ORDER_STARTED,   /* routing time */
	ND_ORDER_COMPLETED, /* completion time (unset first) */
	ND_ORDER_CREATED,   /* the notification's creation */
	ND_ORDER_MODIFIED,  /* the delivery's last change */
	ND_ORDER_TYPE,
	ND_ORDER_TITLE,
	ND_ORDER_READ,      /* unread before read */
	ND_ORDER_ID,        /* delivery GUID */
	ND_ORDER_KEY,       /* notification_key */
	ND_ORDER__COUNT
};

struct nd_order_term {
	enum nd_order_key key;
	bool desc;
};

#define ND_ORDER_MAX 4

/* Filters combine with AND; an unset filter is NULL / ND_NO_TIME / false. */
struct nd_list_query {
	bool by_guid;
	unsigned char guid[16];
	bool by_key;
	int32_t key;
	int64_t started_from, started_to;     /* [from, to) on routing time */
	int64_t completed_from, completed_to; /* [from, to) on completion time */
	const char *campaign_id;
	const char *member; /* target id */
	const char *type;
	struct nd_order_term order[ND_ORDER_MAX]; /* none: routing time, newest first */
	size_t norder;
	size_t offset, limit; /* limit 0 = no limit */
};

struct nd_item {
	const struct nd_delivery *d;
	const struct nd_target *member; /* the recipient (id, name, email, ...) */
	int64_t updated_at;
};

typedef int (*nd_item_cb)(void *arg, const struct nd_item *it);

/* Streams one page of the tenant's live deliveries matching @q, in @q's
 * order with a unique tie-break, and when @total is not NULL counts every
 * match (from the live counters when the filters allow it). */
enum nd_err nd_store_list(struct nd_store_conn *c, int64_t tenant_id,
			  const struct nd_list_query *q, nd_item_cb cb, void *arg, int64_t *total,
			  struct nd_error *err);

/* The engine's plan for nd_store_list's page query, one line per step, for
 * tests and benchmarks that show which index serves a query. */
typedef int (*nd_plan_cb)(void *arg, const char *line);
enum nd_err nd_store_list_plan(struct nd_store_conn *c, int64_t tenant_id,
			       const struct nd_list_query *q, nd_plan_cb cb, void *arg,
			       struct nd_error *err);

/* Marks delivery @guid deleted: it leaves every listing and feed. With
 * @owner, only that target's delivery qualifies. ND_ERR_NOT_FOUND when
 * there is no such live delivery for the caller. */
enum nd_err nd_store_delivery_delete(struct nd_store_conn *c, int64_t tenant_id,
				     const unsigned char guid[16], const char *owner,
				     struct nd_error *err);

/* Records the first @ev at @at on the delivery of notification @key to
 * @target; ND_ERR_NOT_FOUND when there is no such (non-deleted) delivery. */
enum nd_err nd_store_event_record(struct nd_store_conn *c, int64_t tenant_id,
				  const char *target, int32_t key, enum nd_event ev, int64_t at,
				  struct nd_error *err);

#endif
