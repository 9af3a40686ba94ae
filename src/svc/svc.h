/* svc.h - the service layer: notifd's rules, once, for every face.
 *
 * A face parses its wire format into the arguments below, calls one
 * nd_svc_* function and renders the result; the command line does the
 * same. The rules live here and nowhere else: which tenant a call acts on
 * (always the caller's), what a member key may see and do (its own target
 * only), defaults (routing time, event time), reference checks (campaign,
 * segments), and the mapping of store errors to fields and messages.
 *
 * This header deliberately does not include store/store.h: faces hold a
 * store connection only as an opaque handle and cannot reach the store
 * except through these functions. */
#ifndef ND_SVC_SVC_H
#define ND_SVC_SVC_H

#include <stdio.h>

#include "core/model.h"

struct nd_store_conn;

/* One call into the service: the caller's store connection, who is
 * calling (the command line acts as an admin of the tenant it names, see
 * nd_svc_operator) and where a failure is described. Every operation acts
 * on the caller's tenant. */
struct nd_call {
	struct nd_store_conn *db;
	const struct nd_principal *who;
	struct nd_error *err;
};

/* --- who may do what --- */

enum nd_access {
	ND_ACCESS_ADMIN,       /* admin keys only */
	ND_ACCESS_MEMBER_SELF, /* and member keys, for their own target */
	ND_ACCESS_MEMBER_ANY,  /* and member keys; the service scopes what they reach */
};

/* Resolves @key (@len bytes, from a request header) to @who:
 * ND_ERR_UNAUTHORIZED when missing, unknown or revoked. */
enum nd_err nd_svc_authenticate(struct nd_store_conn *db, const char *key, size_t len,
				struct nd_principal *who, struct nd_error *err);
/* Ends a read begun before nd_svc_authenticate (nd_store_read_begin):
 * ND_ERR_UNAUTHORIZED when its key turned out revoked meanwhile; *@stale
 * when the answer was made with a principal that has changed since (see
 * nd_store_read_end). */
enum nd_err nd_svc_read_end(struct nd_store_conn *db, bool *stale, struct nd_error *err);
/* Whether @who may use an operation of @access on @target (NULL when the
 * operation names none): ND_OK or ND_ERR_FORBIDDEN. */
enum nd_err nd_svc_authorize(const struct nd_principal *who, enum nd_access access,
			     const char *target, struct nd_error *err);

/* --- tenant and keys --- */

/* A tenant name: 1..64 characters of [A-Za-z0-9._-]. */
bool nd_tenant_name_valid(const char *name);
/* Finds or creates tenant @name and fills @who as its admin (for the
 * operator's command line). */
enum nd_err nd_svc_operator(struct nd_store_conn *db, const char *name, struct nd_principal *who,
			    struct nd_error *err);

enum nd_err nd_svc_tenant_get(const struct nd_call *c, nd_tenant_cb cb, void *arg);
/* @zone must be an IANA zone name. */
enum nd_err nd_svc_tenant_set_zone(const struct nd_call *c, const char *zone);

struct nd_new_key {
	char key[ND_KEY_GEN_LEN + 1]; /* shown once, never stored */
	char id[ND_KEY_ID_LEN + 1];
	int64_t created_at;
};

/* Creates a key of @role (@target required for members, refused for admins). */
enum nd_err nd_svc_key_create(const struct nd_call *c, enum nd_role role, const char *target,
			      struct nd_new_key *out);
enum nd_err nd_svc_key_list(const struct nd_call *c, nd_key_cb cb, void *arg);
enum nd_err nd_svc_key_revoke(const struct nd_call *c, const char *id);
/* Makes sure the operator's @key is a valid admin key of tenant "default". */
enum nd_err nd_svc_admin_key_ensure(struct nd_store_conn *db, const char *key,
				    struct nd_error *err);

/* --- targets, segments, campaigns --- */

enum nd_err nd_svc_target_put(const struct nd_call *c, struct nd_target *t, bool *created);
enum nd_err nd_svc_target_get(const struct nd_call *c, const char *id, nd_target_cb cb,
			      void *arg);
enum nd_err nd_svc_target_delete(const struct nd_call *c, const char *id);

enum nd_err nd_svc_segment_create(const struct nd_call *c, const char *name, int32_t *id);
enum nd_err nd_svc_segment_list(const struct nd_call *c, nd_segment_cb cb, void *arg);
enum nd_err nd_svc_segment_get(const struct nd_call *c, int32_t id, nd_segment_cb cb, void *arg);
enum nd_err nd_svc_segment_delete(const struct nd_call *c, int32_t id);
enum nd_err nd_svc_member_put(const struct nd_call *c, int32_t segment, const char *target);
enum nd_err nd_svc_member_delete(const struct nd_call *c, int32_t segment, const char *target);
/* The segments @target belongs to, ascending. */
enum nd_err nd_svc_target_segments(const struct nd_call *c, const char *target,
				   nd_segment_id_cb cb, void *arg);

enum nd_err nd_svc_campaign_put(const struct nd_call *c, struct nd_campaign *cp, bool *created);
enum nd_err nd_svc_campaign_get(const struct nd_call *c, const char *id, nd_campaign_cb cb,
				void *arg);

/* --- notifications, feeds, events --- */

/* Creates @n for @to. An unset date_started is now; deliveries are routed
 * at date_started. Fills @n's key, guid and created_at and the number of
 * deliveries made. */
enum nd_err nd_svc_notification_create(const struct nd_call *c, struct nd_notification *n,
				       const struct nd_recipients *to, int64_t *deliveries);
enum nd_err nd_svc_notification_get(const struct nd_call *c, int32_t key,
				    nd_notification_cb cb, void *arg);
/* One target's deliveries (a member key: its own only). */
enum nd_err nd_svc_feed(const struct nd_call *c, const struct nd_feed_query *q,
			nd_delivery_cb cb, void *arg);
/* Records @ev on @target's delivery of notification @key, at @at
 * (ND_NO_TIME: now). */
enum nd_err nd_svc_event_record(const struct nd_call *c, const char *target, int32_t key,
				enum nd_event ev, int64_t at);
/* The tenant's deliveries, filtered, ordered and paged (admin keys). */
enum nd_err nd_svc_list(const struct nd_call *c, const struct nd_list_query *q, nd_item_cb cb,
			void *arg, int64_t *total);
/* Deletes one delivery; a member key reaches only its own, and any other
 * looks absent. */
enum nd_err nd_svc_delivery_delete(const struct nd_call *c, const unsigned char guid[16]);
/* ND_OK when the store answers. */
enum nd_err nd_svc_ping(struct nd_store_conn *db, struct nd_error *err);

bool nd_event_parse(const char *s, enum nd_event *out);
/* The name of the field holding a delivery's time of @ev ("read",
 * "completed", ...), in the native feed and in exports. */
const char *nd_event_time_field(enum nd_event ev);

/* --- moving tenants between stores (svc/dump.c) --- */

/* Writes tenant @tenant (NULL: every tenant) to @out as JSON lines, with
 * constant memory; progress goes to standard error when it is a terminal.
 * *@records counts the lines after the header. */
enum nd_err nd_svc_export(struct nd_store_conn *db, const char *tenant, FILE *out,
			  size_t *records, struct nd_error *err);
/* Loads an export from @in in one transaction: everything or, on the first
 * bad line or clash with existing data, nothing (the error names the line). */
enum nd_err nd_svc_import(struct nd_store_conn *db, FILE *in, size_t *records,
			  struct nd_error *err);

/* Seeds tenant "default" with a few targets, a segment, a campaign and
 * notifications, once: *@seeded is false when the demo data was there. */
enum nd_err nd_svc_demo_seed(struct nd_store_conn *db, bool *seeded, struct nd_error *err);

#endif
