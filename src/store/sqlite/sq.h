/* sq.h - SQLite backend internals shared by its query files.
 *
 * Each thread owns one connection with its own cache of prepared
 * statements, keyed by the address of the static SQL text. */
#ifndef ND_STORE_SQ_H
#define ND_STORE_SQ_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include "store/backend.h"
#include "store/ncache.h"
#include "util/fault.h"

#define SQ_STMT_CACHE 128

struct sq_conn;

struct sq_store {
	struct nd_store base;
	char *path;
	bool sync_full;
	size_t mmap_size;
	uint64_t serial; /* tells stores apart in thread-local slots */
	atomic_bool newer_logged; /* a ping found the schema newer, and said so */
	pthread_mutex_t mu;
	struct sq_conn *conns; /* every thread's connection, for closing */
};

struct sq_stmt_slot {
	const char *sql;
	sqlite3_stmt *stmt;
};

/* A statement whose SQL is assembled per request (the listing): kept by
 * its shape (nd_listsql_shape), least recently used first out. */
#define SQ_DYN_CACHE 32

struct sq_dyn_slot {
	uint64_t shape;
	sqlite3_stmt *stmt; /* NULL: a free slot */
	uint64_t used;      /* the connection's use counter at its last use */
};

/* Keys a connection has seen valid, by hash, each with the data version
 * of the database (SQLITE_FCNTL_DATA_VERSION, which moves with every
 * commit, from any connection or process) it was read at. A read (between
 * read_begin and read_end) may take a key's principal from here without
 * its lookup; the read's end confirms it in the read's own snapshot: at
 * once when that snapshot's data version is the remembered one (nothing
 * was committed since), else by the lookup. The answer stands only if the
 * key still holds (docs/design.md, "Keys"). */
#define SQ_KEY_MEMO 16
struct sq_key_memo {
	bool used;
	unsigned char hash[ND_KEY_HASH_LEN];
	unsigned version;
	struct nd_principal who;
};

struct sq_conn {
	struct nd_store_conn base;
	struct sq_store *store;
	sqlite3 *db;
	struct sq_stmt_slot cache[SQ_STMT_CACHE];
	struct sq_dyn_slot dyn[SQ_DYN_CACHE];
	uint64_t dyn_uses;
	struct nd_ncache notifications; /* feed rows take theirs from here */
	bool reading;                   /* between read_begin and read_end */
	bool trusting;                  /* the read took the key in trusted */
	struct sq_key_memo trusted;     /* a copy of the keys[] entry it took */
	struct sq_key_memo keys[SQ_KEY_MEMO];
	/* What notifd_total() kept from the statement running now. */
	bool noted;
	int64_t noted_total;
	struct sq_conn *next;
	/* While loading (dump.c): the tenant whose records are arriving. */
	bool loading;
	int64_t load_tenant;
	char *load_tenant_name;
};

/* sqlite3_step(): every statement of the store steps through here, so that
 * fault injection ("step", util/fault.h) reaches each one's failure path. */
static inline int sq_step(sqlite3_stmt *st)
{
	return nd_fault(ND_FAULT_STEP) ? SQLITE_IOERR_READ : sqlite3_step(st);
}

static inline struct sq_conn *sq_conn_of(struct nd_store_conn *base)
{
	return (struct sq_conn *)base;
}

/* Confirms the key the current read took on trust (struct sq_key_memo), in
 * the read's snapshot: ND_ERR_NOT_FOUND when it is no longer valid, *@stale
 * when it is valid with another principal. */
enum nd_err sq_key_settle(struct sq_conn *c, bool *stale, struct nd_error *err);

/* Applies the numbered schema files up to the newest; see schema.c. */
enum nd_err sq_migrate(struct sq_conn *c, struct nd_error *err);
/* An error unless the database's schema is one this notifd knows: another
 * process may migrate the file after this one opened it. */
enum nd_err sq_schema_check(struct sq_conn *c, struct nd_error *err);
/* The SQL of migration @version (from 1), NULL past the last: the tests
 * build a database of an older schema with it. */
const char *sq_migration_sql(int version);

/* Maps a SQLite result code to ND_ERR_BUSY (retryable), ND_ERR_CONFLICT (a
 * unique or primary key already holds the value) or ND_ERR_INTERNAL, which
 * logs the engine's message; the client never sees it. */
enum nd_err sq_fail(struct sq_conn *c, int rc, const char *what, struct nd_error *err);
/* Fault injection's allocator and VFS (fault.c; util/fault.h), installed
 * before SQLite initialises. */
void sq_fault_install(void);

/* The cached statement for @sql, reset and unbound; NULL (with @err set)
 * only when the SQL does not compile. */
sqlite3_stmt *sq_prep(struct sq_conn *c, const char *sql, struct nd_error *err);
/* The statement kept for an assembled query of @shape (at most
 * SQ_DYN_CACHE per connection), or NULL: then assemble its text and give it
 * to sq_prep_shape(), which prepares and keeps it. Either is reset and
 * unbound; release it with sq_done(), never finalize it. */
sqlite3_stmt *sq_prep_kept(struct sq_conn *c, uint64_t shape);
sqlite3_stmt *sq_prep_shape(struct sq_conn *c, uint64_t shape, const char *sql,
			    struct nd_error *err);
/* Resets @st after use so it holds no read snapshot. */
void sq_done(sqlite3_stmt *st);
/* Steps @st to its first row. ND_OK leaves @st on the row for the caller to
 * read and then sq_done(); no row is ND_ERR_NOT_FOUND with @missing as the
 * detail, and @st is already reset. */
enum nd_err sq_row(struct sq_conn *c, sqlite3_stmt *st, const char *what,
		   const char *missing, struct nd_error *err);
/* Runs @st that returns no rows. */
enum nd_err sq_exec_stmt(struct sq_conn *c, sqlite3_stmt *st, const char *what,
			 struct nd_error *err);

void sq_bind_text(sqlite3_stmt *st, int i, const char *s);
void sq_bind_time(sqlite3_stmt *st, int i, int64_t ms);
const char *sq_col_text(sqlite3_stmt *st, int i);
int64_t sq_col_time(sqlite3_stmt *st, int i);

typedef enum nd_err (*sq_tx_fn)(struct sq_conn *c, void *arg, struct nd_error *err);
/* Runs @fn inside BEGIN IMMEDIATE .. COMMIT, rolling back on any error and
 * retrying the whole transaction a bounded number of times while the
 * database is busy. */
enum nd_err sq_tx(struct sq_conn *c, sq_tx_fn fn, void *arg, struct nd_error *err);

/* The internal row id of target @ext in @tenant_id. With @create, a missing
 * target is inserted (inside the caller's transaction); otherwise a missing
 * target is ND_ERR_NOT_FOUND. */
enum nd_err sq_target_tid(struct sq_conn *c, int64_t tenant_id, const char *ext,
			  bool create, int64_t *tid, struct nd_error *err);

/* ND_OK when the object exists in the tenant, else ND_ERR_NOT_FOUND. */
enum nd_err sq_segment_exists(struct sq_conn *c, int64_t tenant_id, int32_t id,
			      struct nd_error *err);
enum nd_err sq_campaign_exists(struct sq_conn *c, int64_t tenant_id, const char *id,
			       struct nd_error *err);

/* Columns of a notification (table alias n), as sq_read_notification()
 * reads them starting at a given column. */
#define SQ_NOTIFICATION_COLS                                                       \
	"n.nkey, n.guid, n.libelle, n.body, n.url, n.type, n.action_type,"         \
	" n.campaign_id, n.profile, n.screen_names, n.batch, n.date_started,"      \
	" n.date_due, n.created_at"
#define SQ_NOTIFICATION_NCOLS 14
/* A delivery's own columns (alias d), then with its notification (alias n). */
#define SQ_DELIVERY_OWN_COLS                                                       \
	"d.routed_at, d.guid, d.impression, d.activation, d.redirection,"          \
	" d.dismiss, d.read_at, d.completed_at"
#define SQ_DELIVERY_OWN_NCOLS 8
#define SQ_DELIVERY_COLS SQ_DELIVERY_OWN_COLS ", " SQ_NOTIFICATION_COLS
#define SQ_DELIVERY_NCOLS (SQ_DELIVERY_OWN_NCOLS + SQ_NOTIFICATION_NCOLS)

/* Columns of a target (alias t), as sq_read_target() reads them; the first
 * of them are a listing's member (struct nd_item), as sq_read_member() reads
 * them: each column costs SQLite a read on every row. */
#define SQ_MEMBER_COLS "t.ext_id, t.name, t.email, t.profile"
#define SQ_TARGET_COLS SQ_MEMBER_COLS ", t.attributes, t.created_at, t.updated_at"

void sq_read_target(sqlite3_stmt *st, int base, struct nd_target *t);
void sq_read_member(sqlite3_stmt *st, int base, struct nd_target *t);
void sq_read_notification(sqlite3_stmt *st, int base, struct nd_notification *n);

/* The INSERT of a notification row (creation and load share it, and so its
 * cached statement); sq_bind_notification() binds its 15 parameters: the
 * tenant, @n's columns and @guid, its GUID as 16 bytes. */
extern const char sq_notification_insert[];
void sq_bind_notification(sqlite3_stmt *st, int64_t tenant_id, const struct nd_notification *n,
			  const unsigned char guid[16]);
/* Reads SQ_DELIVERY_OWN_COLS into @d. */
void sq_read_delivery_own(sqlite3_stmt *st, int base, struct nd_delivery *d);
/* Reads SQ_DELIVERY_COLS into @d, pointing d->n at @n. */
void sq_read_delivery(sqlite3_stmt *st, int base, struct nd_delivery *d, struct nd_notification *n);

/* Notification @key of @tenant_id from the connection's cache
 * (store/ncache.h), else read and kept there. When it is too big to keep,
 * it is read into @tmp and *@st stays on its row until sq_done(*@st) after
 * use. A delivery whose notification is missing is an internal error. */
enum nd_err sq_notification_cached(struct sq_conn *c, int64_t tenant_id, int32_t key,
				   struct nd_notification *tmp, sqlite3_stmt **st,
				   const struct nd_notification **out, struct nd_error *err);
/* A 16-byte GUID column as text, "" when it is not one. */
void sq_col_guid(sqlite3_stmt *st, int i, char out[ND_GUID_LEN + 1]);

/* Ends a load's state (dump.c), after it ends or is abandoned. */
void sq_load_reset(struct sq_conn *c);

/* The operations (store.h has their contracts), one file per query group. */
enum nd_err sq_op_tenant_ensure(struct nd_store_conn *base, const char *name,
				   int64_t *tenant_id, struct nd_error *err);
enum nd_err sq_op_tenant_find(struct nd_store_conn *base, const char *name, int64_t *tenant_id,
			      struct nd_error *err);
enum nd_err sq_op_tenant_get(struct nd_store_conn *base, int64_t tenant_id, nd_tenant_cb cb,
				void *arg, struct nd_error *err);
enum nd_err sq_op_tenant_set_zone(struct nd_store_conn *base, int64_t tenant_id,
				     const char *zone, struct nd_error *err);
enum nd_err sq_op_key_put(struct nd_store_conn *base, int64_t tenant_id,
			     const unsigned char hash[ND_KEY_HASH_LEN], enum nd_role role,
			     const char *target, int64_t created_at, bool ensure,
			     struct nd_error *err);
enum nd_err sq_op_key_auth(struct nd_store_conn *base, const unsigned char hash[ND_KEY_HASH_LEN],
			      struct nd_principal *out, struct nd_error *err);
enum nd_err sq_op_key_list(struct nd_store_conn *base, int64_t tenant_id, nd_key_cb cb,
			      void *arg, struct nd_error *err);
enum nd_err sq_op_key_revoke(struct nd_store_conn *base, int64_t tenant_id, const char *id,
				struct nd_error *err);
enum nd_err sq_op_target_put(struct nd_store_conn *base, int64_t tenant_id,
				struct nd_target *t, bool *created, struct nd_error *err);
enum nd_err sq_op_target_get(struct nd_store_conn *base, int64_t tenant_id, const char *id,
				nd_target_cb cb, void *arg, struct nd_error *err);
enum nd_err sq_op_target_delete(struct nd_store_conn *base, int64_t tenant_id, const char *id,
				   struct nd_error *err);
enum nd_err sq_op_segment_create(struct nd_store_conn *base, int64_t tenant_id,
				    const char *name, int32_t *id, struct nd_error *err);
enum nd_err sq_op_segment_list(struct nd_store_conn *base, int64_t tenant_id, nd_segment_cb cb,
				  void *arg, struct nd_error *err);
enum nd_err sq_op_segment_get(struct nd_store_conn *base, int64_t tenant_id, int32_t id,
				 nd_segment_cb cb, void *arg, struct nd_error *err);
enum nd_err sq_op_segment_delete(struct nd_store_conn *base, int64_t tenant_id, int32_t id,
				    struct nd_error *err);
enum nd_err sq_op_member_put(struct nd_store_conn *base, int64_t tenant_id, int32_t segment,
				const char *target, struct nd_error *err);
enum nd_err sq_op_member_delete(struct nd_store_conn *base, int64_t tenant_id, int32_t segment,
				   const char *target, struct nd_error *err);
enum nd_err sq_op_target_segments(struct nd_store_conn *base, int64_t tenant_id,
				     const char *target, nd_segment_id_cb cb, void *arg,
				     struct nd_error *err);
enum nd_err sq_op_campaign_put(struct nd_store_conn *base, int64_t tenant_id,
				  struct nd_campaign *cp, bool *created, struct nd_error *err);
enum nd_err sq_op_campaign_get(struct nd_store_conn *base, int64_t tenant_id, const char *id,
				  nd_campaign_cb cb, void *arg, struct nd_error *err);
enum nd_err sq_op_notification_create(struct nd_store_conn *base, int64_t tenant_id,
					 struct nd_notification *n,
					 const struct nd_recipients *to,
					 int64_t *deliveries, struct nd_missing_ref *miss,
					 struct nd_error *err);
enum nd_err sq_op_notification_get(struct nd_store_conn *base, int64_t tenant_id, int32_t key,
				      nd_notification_cb cb, void *arg, struct nd_error *err);
enum nd_err sq_op_feed(struct nd_store_conn *base, int64_t tenant_id,
			  const struct nd_feed_query *q, nd_delivery_cb cb, void *arg,
			  struct nd_error *err);
enum nd_err sq_op_event_record(struct nd_store_conn *base, int64_t tenant_id,
				  const char *target, int32_t key, enum nd_event ev, int64_t at,
				  struct nd_error *err);
enum nd_err sq_op_list(struct nd_store_conn *base, int64_t tenant_id,
			  const struct nd_list_query *q, nd_item_cb cb, void *arg, int64_t *total,
			  struct nd_error *err);
enum nd_err sq_op_list_plan(struct nd_store_conn *base, int64_t tenant_id,
			       const struct nd_list_query *q, nd_plan_cb cb, void *arg,
			       struct nd_error *err);
enum nd_err sq_op_delivery_delete(struct nd_store_conn *base, int64_t tenant_id,
				     const unsigned char guid[16], const char *owner,
				     struct nd_error *err);
enum nd_err sq_op_dump(struct nd_store_conn *base, const char *tenant, nd_record_cb cb,
		       void *arg, struct nd_error *err);
enum nd_err sq_op_load_begin(struct nd_store_conn *base, struct nd_error *err);
enum nd_err sq_op_load(struct nd_store_conn *base, const struct nd_record *rec,
		       struct nd_error *err);
enum nd_err sq_op_load_end(struct nd_store_conn *base, bool commit, struct nd_error *err);

#endif
