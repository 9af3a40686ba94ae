/* backend.h - what a storage backend provides: a table of operations.
 *
 * A backend embeds struct nd_store as the first member of its own store and
 * struct nd_store_conn as the first member of its own connection, pointing
 * both at its ops table; store.c dispatches every nd_store_* call through
 * it. Each operation has the contract of the nd_store_* function of the same
 * name in store.h. An optional operation may be NULL. */
#ifndef ND_STORE_BACKEND_H
#define ND_STORE_BACKEND_H

#include "store/store.h"

struct nd_store_ops {
	const char *name; /* "sqlite", "postgres" */

	void (*free)(struct nd_store *s);
	enum nd_err (*conn)(struct nd_store *s, struct nd_store_conn **out, struct nd_error *err);
	bool (*abandon_tx)(struct nd_store_conn *c);
	/* Optional (NULL: the backend gains nothing from it; see store.h). */
	enum nd_err (*read_begin)(struct nd_store_conn *c, struct nd_error *err);
	enum nd_err (*read_end)(struct nd_store_conn *c, bool *stale, struct nd_error *err);
	enum nd_err (*ping)(struct nd_store_conn *c, struct nd_error *err);

	enum nd_err (*tenant_ensure)(struct nd_store_conn *c, const char *name, int64_t *tenant_id,
				     struct nd_error *err);
	enum nd_err (*tenant_find)(struct nd_store_conn *c, const char *name, int64_t *tenant_id,
				   struct nd_error *err);
	enum nd_err (*tenant_get)(struct nd_store_conn *c, int64_t tenant_id, nd_tenant_cb cb,
				  void *arg, struct nd_error *err);
	enum nd_err (*tenant_set_zone)(struct nd_store_conn *c, int64_t tenant_id, const char *zone,
				       struct nd_error *err);
	enum nd_err (*key_put)(struct nd_store_conn *c, int64_t tenant_id,
			       const unsigned char hash[ND_KEY_HASH_LEN], enum nd_role role,
			       const char *target, int64_t created_at, bool ensure,
			       struct nd_error *err);
	enum nd_err (*key_auth)(struct nd_store_conn *c, const unsigned char hash[ND_KEY_HASH_LEN],
				struct nd_principal *out, struct nd_error *err);
	enum nd_err (*key_list)(struct nd_store_conn *c, int64_t tenant_id, nd_key_cb cb, void *arg,
				struct nd_error *err);
	enum nd_err (*key_revoke)(struct nd_store_conn *c, int64_t tenant_id, const char *id,
				  struct nd_error *err);

	enum nd_err (*target_put)(struct nd_store_conn *c, int64_t tenant_id, struct nd_target *t,
				  bool *created, struct nd_error *err);
	enum nd_err (*target_get)(struct nd_store_conn *c, int64_t tenant_id, const char *id,
				  nd_target_cb cb, void *arg, struct nd_error *err);
	enum nd_err (*target_delete)(struct nd_store_conn *c, int64_t tenant_id, const char *id,
				     struct nd_error *err);

	enum nd_err (*segment_create)(struct nd_store_conn *c, int64_t tenant_id, const char *name,
				      int32_t *id, struct nd_error *err);
	enum nd_err (*segment_list)(struct nd_store_conn *c, int64_t tenant_id, nd_segment_cb cb,
				    void *arg, struct nd_error *err);
	enum nd_err (*segment_get)(struct nd_store_conn *c, int64_t tenant_id, int32_t id,
				   nd_segment_cb cb, void *arg, struct nd_error *err);
	enum nd_err (*segment_delete)(struct nd_store_conn *c, int64_t tenant_id, int32_t id,
				      struct nd_error *err);
	enum nd_err (*member_put)(struct nd_store_conn *c, int64_t tenant_id, int32_t segment,
				  const char *target, struct nd_error *err);
	enum nd_err (*member_delete)(struct nd_store_conn *c, int64_t tenant_id, int32_t segment,
				     const char *target, struct nd_error *err);
	enum nd_err (*target_segments)(struct nd_store_conn *c, int64_t tenant_id,
				       const char *target, nd_segment_id_cb cb, void *arg,
				       struct nd_error *err);

	enum nd_err (*campaign_put)(struct nd_store_conn *c, int64_t tenant_id,
				    struct nd_campaign *cp, bool *created, struct nd_error *err);
	enum nd_err (*campaign_get)(struct nd_store_conn *c, int64_t tenant_id, const char *id,
				    nd_campaign_cb cb, void *arg, struct nd_error *err);

	enum nd_err (*notification_create)(struct nd_store_conn *c, int64_t tenant_id,
					   struct nd_notification *n,
					   const struct nd_recipients *to,
					   int64_t *deliveries, struct nd_missing_ref *miss,
					   struct nd_error *err);
	enum nd_err (*notification_get)(struct nd_store_conn *c, int64_t tenant_id, int32_t key,
					nd_notification_cb cb, void *arg, struct nd_error *err);
	enum nd_err (*feed)(struct nd_store_conn *c, int64_t tenant_id,
			    const struct nd_feed_query *q, nd_delivery_cb cb, void *arg,
			    struct nd_error *err);
	enum nd_err (*list)(struct nd_store_conn *c, int64_t tenant_id,
			    const struct nd_list_query *q, nd_item_cb cb, void *arg, int64_t *total,
			    struct nd_error *err);
	/* optional */
	enum nd_err (*list_plan)(struct nd_store_conn *c, int64_t tenant_id,
				 const struct nd_list_query *q, nd_plan_cb cb, void *arg,
				 struct nd_error *err);
	enum nd_err (*delivery_delete)(struct nd_store_conn *c, int64_t tenant_id,
				       const unsigned char guid[16], const char *owner,
				       struct nd_error *err);
	enum nd_err (*event_record)(struct nd_store_conn *c, int64_t tenant_id, const char *target,
				    int32_t key, enum nd_event ev, int64_t at, struct nd_error *err);

	enum nd_err (*dump)(struct nd_store_conn *c, const char *tenant, nd_record_cb cb, void *arg,
			    struct nd_error *err);
	enum nd_err (*load_begin)(struct nd_store_conn *c, struct nd_error *err);
	enum nd_err (*load)(struct nd_store_conn *c, const struct nd_record *rec,
			    struct nd_error *err);
	enum nd_err (*load_end)(struct nd_store_conn *c, bool commit, struct nd_error *err);
};

struct nd_store {
	const struct nd_store_ops *ops;
};

struct nd_store_conn {
	const struct nd_store_ops *ops;
};

/* What key_put answers for a hash already stored: @same_ok when the caller
 * ensures this very key (same tenant and role), @revoked when it was
 * revoked. One rule for both backends. */
enum nd_err nd_key_existing(bool same_ok, bool revoked, struct nd_error *err);

/* The backends' constructors; store.c chooses between them. */
enum nd_err nd_sqlite_open(const char *path, const struct nd_store_opts *opts,
			   struct nd_store **out, struct nd_error *err);
enum nd_err nd_postgres_open(const char *conninfo, const struct nd_store_opts *opts,
			     struct nd_store **out, struct nd_error *err);

#endif
