/* model.h - the vocabulary the service layer and the store share: who is
 * calling, the rows notifd keeps, and the queries over them.
 *
 * Nothing here knows a backend or a wire format. Pointers inside a row are
 * valid only for the duration of the callback that receives it; a callback
 * returning non-zero stops an iteration, and the operation returns that
 * value. */
#ifndef ND_CORE_MODEL_H
#define ND_CORE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/err.h"
#include "core/ids.h"
#include "core/keys.h"
#include "core/zone.h"
#include "util/time.h" /* ND_NO_TIME */

/* --- tenants and keys --- */

/* The caller of a request, as its key resolved. */
struct nd_principal {
	int64_t tenant_id;
	char time_zone[ND_ZONE_MAX]; /* the tenant's IANA zone, for local dates */
	enum nd_role role;
	char key_id[ND_KEY_ID_LEN + 1];
	char target[ND_ID_MAX + 1]; /* member keys only */
};

/* Whether @a and @b agree in every field: a key remembered with @a still
 * answers as it did. */
static inline bool nd_principal_same(const struct nd_principal *a, const struct nd_principal *b)
{
	return a->tenant_id == b->tenant_id && a->role == b->role &&
	       strcmp(a->target, b->target) == 0 && strcmp(a->key_id, b->key_id) == 0 &&
	       strcmp(a->time_zone, b->time_zone) == 0;
}

struct nd_key_row {
	const char *id;
	enum nd_role role;
	const char *target; /* NULL for admin keys */
	int64_t created_at;
	int64_t revoked_at; /* ND_NO_TIME while valid */
};

typedef int (*nd_key_cb)(void *arg, const struct nd_key_row *row);

struct nd_tenant {
	const char *name;
	const char *time_zone;
	int64_t deliveries; /* live (not deleted) deliveries */
};

typedef int (*nd_tenant_cb)(void *arg, const struct nd_tenant *row);

/* --- targets, segments, campaigns --- */

struct nd_target {
	const char *id;
	const char *name, *email, *profile; /* NULL when unset */
	const char *attributes;             /* JSON object text */
	int64_t created_at, updated_at;
};

typedef int (*nd_target_cb)(void *arg, const struct nd_target *row);

struct nd_segment {
	int32_t id;
	const char *name;
	int64_t members;
};

typedef int (*nd_segment_cb)(void *arg, const struct nd_segment *row);
typedef int (*nd_segment_id_cb)(void *arg, int32_t segment_id);

struct nd_campaign {
	const char *id;
	const char *name;
	int64_t created_at, updated_at;
};

typedef int (*nd_campaign_cb)(void *arg, const struct nd_campaign *row);

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

/* Which reference a write found missing. */
enum nd_ref_kind { ND_REF_NONE, ND_REF_CAMPAIGN, ND_REF_SEGMENT };

struct nd_missing_ref {
	enum nd_ref_kind kind;
	int32_t segment; /* ND_REF_SEGMENT: which one */
};

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
	/* Windows [from, to): a window is on when its from is set, and then
	 * both bounds are (the faces' filters are whole days). */
	int64_t started_from, started_to;     /* on routing time */
	int64_t completed_from, completed_to; /* on completion time */
	const char *campaign_id;
	const char *member; /* target id */
	const char *type;
	struct nd_order_term order[ND_ORDER_MAX]; /* none: routing time, newest first */
	size_t norder;
	size_t offset, limit; /* limit 0 = no limit */
	bool with_member;     /* items carry their member (else none is read) */
};

/* A delivery as a listing shows it (API3): its GUID, routing time, read
 * time (d->at[ND_EV_READ]) and notification. Its other event times are
 * ND_NO_TIME, whatever was recorded: a listing filters and orders by them
 * but shows none, and reading them would cost every row. */
struct nd_item {
	const struct nd_delivery *d; /* d->target is the member's id, or NULL */
	/* With q->with_member, the recipient as a listing shows it: id, name,
	 * email and profile; no attributes (NULL) and no times (ND_NO_TIME).
	 * Else NULL. */
	const struct nd_target *member;
};

typedef int (*nd_item_cb)(void *arg, const struct nd_item *it);

/* --- moving a tenant between stores --- */

/* One row of an export, in store terms. Records come tenant by tenant, each
 * tenant first and then its keys, targets, segments, memberships,
 * campaigns, notifications and deliveries, so a load can resolve every
 * reference from what it has already seen. Counters (live deliveries,
 * segment members) are not records: a load recomputes them. */
enum nd_record_kind {
	ND_REC_TENANT,
	ND_REC_KEY,
	ND_REC_TARGET,
	ND_REC_SEGMENT,
	ND_REC_MEMBERSHIP,
	ND_REC_CAMPAIGN,
	ND_REC_NOTIFICATION,
	ND_REC_DELIVERY,
	ND_REC__COUNT
};

struct nd_record {
	enum nd_record_kind kind;
	const char *tenant; /* the tenant's name, on every record */
	union {
		struct {
			const char *time_zone;
			int64_t next_notification_key, next_segment_id, created_at;
		} tenant;
		struct {
			unsigned char hash[ND_KEY_HASH_LEN];
			enum nd_role role;
			const char *target;
			int64_t created_at, revoked_at;
		} key;
		struct nd_target target;
		struct {
			int32_t id;
			const char *name;
			int64_t created_at;
		} segment;
		struct {
			int32_t segment;
			const char *target;
			int64_t created_at;
		} membership;
		struct nd_campaign campaign;
		struct nd_notification notification;
		struct {
			const char *target;
			int32_t key;
			unsigned char guid[16];
			int64_t routed_at, updated_at, deleted_at;
			int64_t at[ND_EV__COUNT];
		} delivery;
	} u;
};

typedef int (*nd_record_cb)(void *arg, const struct nd_record *rec);

#endif
