/* store.h - the storage interface, the same for every backend.
 *
 * store.c picks a backend from the database setting (a PostgreSQL URI or
 * keyword string, else a SQLite path) and every nd_store_* call below
 * dispatches to that backend's table of operations (store/backend.h). All
 * SQL lives under src/store/<backend>/. Only the service layer (src/svc/)
 * calls these; faces reach the store through it.
 *
 * Connections are per thread: nd_store_conn() hands each thread its own,
 * opened on first use and closed by nd_store_free(). Every write operation is
 * one transaction, retried a bounded number of times when the backend reports
 * contention (a busy lock, a serialization failure, a deadlock).
 *
 * Errors are in store terms, never in wire terms: ND_ERR_NOT_FOUND (the
 * named row does not exist), ND_ERR_CONFLICT (existing data forbids the
 * change: a key hash taken, an id space used up), ND_ERR_BUSY (contention
 * outlasted the retries, or the backend is unreachable: try again) and
 * ND_ERR_INTERNAL (logged; the detail says nothing more). The detail names
 * what failed ("segment not found"); no field is set. The service layer
 * maps them to fields and messages.
 *
 * Rows stream to callbacks (core/model.h) rather than coming back as
 * arrays, so a large result never sits in memory. */
#ifndef ND_STORE_STORE_H
#define ND_STORE_STORE_H

#include "core/model.h"

struct nd_store;
struct nd_store_conn;

/* Backend options: each backend reads its own and ignores the others. */
struct nd_store_opts {
	struct {
		bool sync_full; /* synchronous=FULL: durable against power loss */
		size_t mmap_size; /* PRAGMA mmap_size */
	} sqlite;
};

/* True when @uri names a PostgreSQL database: "postgres://...",
 * "postgresql://..." or a libpq keyword string ("host=... dbname=..."). */
bool nd_store_is_postgres(const char *uri);

/* Copies @uri into @out (@n bytes) with any password replaced by "***",
 * for logs and messages. */
void nd_store_redact(const char *uri, char *out, size_t n);

/* Opens the store at @uri, creating and migrating its schema: a SQLite
 * file at once; a PostgreSQL database on the first connection that
 * reaches it, so a server that is down or still starting is not an error
 * here (connections report ND_ERR_BUSY until it answers). An unusable
 * location (a path that cannot be a database, a malformed connection
 * string, a schema newer than this notifd) is ND_ERR_INVALID_PARAM with a
 * message naming it, never its password, and no field. */
enum nd_err nd_store_open(const char *uri, const struct nd_store_opts *opts,
			  struct nd_store **out, struct nd_error *err);
void nd_store_free(struct nd_store *s);
/* "sqlite" or "postgres". */
const char *nd_store_backend(const struct nd_store *s);
/* The calling thread's connection; ND_ERR_BUSY when the backend cannot be
 * reached now (the reason is logged). */
enum nd_err nd_store_conn(struct nd_store *s, struct nd_store_conn **out, struct nd_error *err);
/* Called at the end of every request: rolls back a transaction left open
 * (a bug) and returns true when there was one. */
bool nd_store_abandon_tx(struct nd_store_conn *c);
/* A read: a request's key and its reads, between these two. Only reads may
 * run inside. On SQLite they are one read transaction, one snapshot (a
 * statement still stepping at the end, a streamed answer, keeps its
 * snapshot until it is done). The key may be taken from the connection's
 * memory of keys it has seen valid, and is then confirmed (on PostgreSQL
 * in the round trip of the read's first statement, on SQLite by the data
 * version of the read's snapshot) or by nd_store_read_end: which fails
 * with ND_ERR_NOT_FOUND when the key is no longer valid, and sets *@stale
 * when it is valid with another principal (its tenant's time zone
 * changed): the answer made with the old one must be made again. Any
 * other failure there (ND_ERR_BUSY) leaves the key unconfirmed: the answer
 * must not be sent. */
enum nd_err nd_store_read_begin(struct nd_store_conn *c, struct nd_error *err);
enum nd_err nd_store_read_end(struct nd_store_conn *c, bool *stale, struct nd_error *err);
enum nd_err nd_store_ping(struct nd_store_conn *c, struct nd_error *err);

/* --- tenants and keys --- */

enum nd_err nd_store_tenant_ensure(struct nd_store_conn *c, const char *name,
				   int64_t *tenant_id, struct nd_error *err);
/* ND_ERR_NOT_FOUND when there is no tenant called @name. */
enum nd_err nd_store_tenant_find(struct nd_store_conn *c, const char *name, int64_t *tenant_id,
				 struct nd_error *err);
enum nd_err nd_store_tenant_get(struct nd_store_conn *c, int64_t tenant_id, nd_tenant_cb cb,
				void *arg, struct nd_error *err);
/* The caller has checked that @zone is a valid IANA zone. */
enum nd_err nd_store_tenant_set_zone(struct nd_store_conn *c, int64_t tenant_id,
				     const char *zone, struct nd_error *err);
/* Inserts a key of @role (@target for member keys, else NULL). A hash
 * that already exists is ND_ERR_CONFLICT, except with @ensure when it is
 * the same key (same tenant and role): then a success while the key is
 * valid, and ND_ERR_FORBIDDEN once it was revoked, since a revoked key
 * stays revoked. */
enum nd_err nd_store_key_put(struct nd_store_conn *c, int64_t tenant_id,
			     const unsigned char hash[ND_KEY_HASH_LEN], enum nd_role role,
			     const char *target, int64_t created_at, bool ensure,
			     struct nd_error *err);
/* Resolves a key hash to its principal; ND_ERR_NOT_FOUND when unknown or
 * revoked. */
enum nd_err nd_store_key_auth(struct nd_store_conn *c, const unsigned char hash[ND_KEY_HASH_LEN],
			      struct nd_principal *out, struct nd_error *err);
enum nd_err nd_store_key_list(struct nd_store_conn *c, int64_t tenant_id, nd_key_cb cb,
			      void *arg, struct nd_error *err);
/* ND_ERR_NOT_FOUND when the tenant has no such key; revoking twice is fine. */
enum nd_err nd_store_key_revoke(struct nd_store_conn *c, int64_t tenant_id, const char *id,
				struct nd_error *err);

/* --- targets --- */

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

/* ND_ERR_CONFLICT when the tenant has used every int32 segment id. */
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
/* The ids of the segments @target belongs to, ascending. An unknown target
 * belongs to none. */
enum nd_err nd_store_target_segments(struct nd_store_conn *c, int64_t tenant_id,
				     const char *target, nd_segment_id_cb cb, void *arg,
				     struct nd_error *err);

/* --- campaigns --- */

/* Creates or replaces @cp; sets its created_at/updated_at like target_put. */
enum nd_err nd_store_campaign_put(struct nd_store_conn *c, int64_t tenant_id,
				  struct nd_campaign *cp, bool *created, struct nd_error *err);
enum nd_err nd_store_campaign_get(struct nd_store_conn *c, int64_t tenant_id, const char *id,
				  nd_campaign_cb cb, void *arg, struct nd_error *err);

/* --- notifications and deliveries --- */

/* Creates @n (its key, guid and created_at are assigned and written back)
 * and one delivery per distinct recipient in one transaction. Every
 * delivery is routed at the notification's date_started, which must be set:
 * listings order and window deliveries by either (src/store/listsql.c). Unknown targets are created. An unknown campaign or segment
 * is ND_ERR_NOT_FOUND with @miss telling which, and nothing is written; a
 * tenant out of int32 notification keys is ND_ERR_CONFLICT. */
enum nd_err nd_store_notification_create(struct nd_store_conn *c, int64_t tenant_id,
					 struct nd_notification *n,
					 const struct nd_recipients *to,
					 int64_t *deliveries, struct nd_missing_ref *miss,
					 struct nd_error *err);
enum nd_err nd_store_notification_get(struct nd_store_conn *c, int64_t tenant_id, int32_t key,
				      nd_notification_cb cb, void *arg, struct nd_error *err);

/* Streams the target's non-deleted deliveries, ordered by routing time then
 * notification_key. An unknown target yields no rows. */
enum nd_err nd_store_feed(struct nd_store_conn *c, int64_t tenant_id,
			  const struct nd_feed_query *q, nd_delivery_cb cb, void *arg,
			  struct nd_error *err);

/* Streams one page of the tenant's live deliveries matching @q, in @q's
 * order with a unique tie-break, as items (core/model.h: what a listing
 * shows of each), and when @total is not NULL counts every match (from the
 * live counters when the filters allow it). */
enum nd_err nd_store_list(struct nd_store_conn *c, int64_t tenant_id,
			  const struct nd_list_query *q, nd_item_cb cb, void *arg, int64_t *total,
			  struct nd_error *err);

/* Optional: the engine's plan for nd_store_list's page query, one line per
 * step, for tests and benchmarks that show which index serves a query.
 * ND_ERR_NOT_FOUND when the backend does not offer plans. */
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
 * @target; ND_ERR_NOT_FOUND when there is no such (non-deleted) delivery.
 * An @ev outside enum nd_event is ND_ERR_INTERNAL (a caller's bug). */
enum nd_err nd_store_event_record(struct nd_store_conn *c, int64_t tenant_id,
				  const char *target, int32_t key, enum nd_event ev, int64_t at,
				  struct nd_error *err);

/* --- moving tenants between stores --- */

/* Streams every record (core/model.h) of tenant @tenant, or of every
 * tenant when NULL, from one consistent snapshot, with constant memory.
 * ND_ERR_NOT_FOUND when @tenant does not exist. */
enum nd_err nd_store_dump(struct nd_store_conn *c, const char *tenant, nd_record_cb cb,
			  void *arg, struct nd_error *err);
/* Loads records in one transaction: load_begin, then load for each record
 * in the order dump produces them, then load_end, which recomputes the
 * loaded tenants' counters and commits (or, with !@commit, rolls back).
 * A tenant that already exists, or a key hash already stored, is
 * ND_ERR_CONFLICT; a record whose tenant, target, segment or notification
 * was not loaded before it is ND_ERR_NOT_FOUND. After an error only
 * load_end(c, false) is valid. */
enum nd_err nd_store_load_begin(struct nd_store_conn *c, struct nd_error *err);
enum nd_err nd_store_load(struct nd_store_conn *c, const struct nd_record *rec,
			  struct nd_error *err);
enum nd_err nd_store_load_end(struct nd_store_conn *c, bool commit, struct nd_error *err);

#endif
