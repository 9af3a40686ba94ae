/* pg.h - PostgreSQL backend internals shared by its query files.
 *
 * Each thread owns one libpq connection with its own set of prepared
 * statements, named after the address of their static SQL text. A
 * connection that breaks is closed at once; the next call reconnects, with
 * a store-wide backoff while the server stays unreachable (pg.c). The
 * schema is migrated on the first connection that succeeds (schema.c). */
#ifndef ND_STORE_PG_H
#define ND_STORE_PG_H

#include <libpq-fe.h>
#include <pthread.h>

#include "store/backend.h"
#include "store/ncache.h"
#include "util/buf.h"

#define PG_STMT_CACHE 128
#define PG_DYN_CACHE  32
#define PG_MAX_PARAMS 16

enum pg_schema_state { PG_SCHEMA_PENDING, PG_SCHEMA_READY, PG_SCHEMA_TOO_NEW };

struct pg_store {
	struct nd_store base;
	char *conninfo;
	char *where;     /* host, port, dbname, user: for messages, never a password */
	uint64_t serial; /* tells stores apart in thread-local slots */

	pthread_mutex_t mu; /* conns and the health fields below */
	struct pg_conn *conns;
	bool down;        /* the server was unreachable at the last attempt */
	unsigned outages; /* how many began: tells a new outage from an old one's */
	int backoff_ms;   /* the next wait after a failed connection attempt */
	int64_t retry_at; /* monotonic ms before which no thread tries to connect */

	pthread_mutex_t schema_mu;
	enum pg_schema_state schema;
	int schema_found; /* a version newer than notifd's, found at start or by a ping */
	bool too_new_logged;
};

struct pg_stmt_slot {
	const char *sql;
	unsigned name; /* prepared as "nd<name>" */
};

/* A statement whose text is assembled per request (the tenant-wide
 * listing): prepared on first use and kept by its text, the least recently
 * used given back when the slots are full. */
struct pg_dyn_slot {
	char *sql;
	unsigned name;
	uint64_t used;
};

/* Keys a connection has seen valid, by hash. A read (between read_begin and
 * read_end) may take its principal from here without a round trip; the key
 * is then confirmed by the database in the round trip of the read's first
 * statement (libpq's pipeline mode), or at the read's end, and the answer
 * stands only if it still holds. */
#define PG_KEY_MEMO 16
struct pg_key_memo {
	bool used;
	unsigned char hash[ND_KEY_HASH_LEN];
	struct nd_principal who;
};

enum pg_key_state {
	PG_KEY_SETTLED, /* nothing taken from the memo awaits confirmation */
	PG_KEY_PENDING, /* the read took keys[key_slot], not yet confirmed */
	PG_KEY_GONE,    /* ... which the database holds revoked or unknown */
	PG_KEY_CHANGED, /* ... which is valid with another principal */
};

struct pg_conn {
	struct nd_store_conn base;
	struct pg_store *store;
	pthread_t owner;
	PGconn *pg;     /* NULL while disconnected */
	unsigned epoch; /* s->outages when this connection was made */
	bool retry;     /* the last failure was a serialization failure or deadlock */
	bool in_tx;     /* in pg_tx, a dump or a load: no silent reconnection */
	unsigned nstmts;
	struct pg_stmt_slot cache[PG_STMT_CACHE];
	struct pg_dyn_slot dyn[PG_DYN_CACHE];
	uint64_t dyn_uses;
	struct nd_ncache notifications; /* a feed's first rows take theirs from here */
	bool reading; /* between read_begin and read_end */
	enum pg_key_state key_state;
	int key_slot;
	struct pg_key_memo keys[PG_KEY_MEMO];
	struct pg_conn *next;
	/* While loading (dump.c): the tenant whose records are arriving. */
	int64_t load_tenant;
	char *load_tenant_name;
};

/* Parameters of one statement, in text format except binary blobs. */
struct pg_params {
	int n;
	const char *values[PG_MAX_PARAMS];
	int lengths[PG_MAX_PARAMS];
	int formats[PG_MAX_PARAMS];
	char num[PG_MAX_PARAMS][24];
};

#define PG_PARAMS_INIT {0}

void pg_p_int(struct pg_params *p, int64_t v);
/* NULL is SQL NULL. */
void pg_p_text(struct pg_params *p, const char *s);
/* ND_NO_TIME is SQL NULL. */
void pg_p_time(struct pg_params *p, int64_t ms);
/* A bytea or uuid parameter, sent in binary. */
void pg_p_bin(struct pg_params *p, const void *data, int len);

/* schema.c: brings the database to the newest schema this build knows;
 * ND_ERR_CONFLICT when the database is newer (s->schema_found says which
 * version). */
enum nd_err pg_migrate(struct pg_conn *c, struct nd_error *err);

struct pg_migration {
	int version;
	const char *name;
	const char *sql;
};

/* Generated from migrations/NNNN_name.sql by scripts/embed_sql.py. */
extern const struct pg_migration pg_migrations[];
extern const int pg_nmigrations;

/* Makes sure @c has a live connection on a migrated schema, connecting if
 * needed; ND_ERR_BUSY while the server is unreachable. */
enum nd_err pg_ready(struct pg_conn *c, struct nd_error *err);

/* Maps a failed result (NULL: no result at all) to an error: a lost
 * connection or an unavailable server is ND_ERR_BUSY (the connection is
 * closed and the outage logged once), a serialization failure or deadlock
 * is ND_ERR_BUSY with c->retry set, a unique key already taken is
 * ND_ERR_CONFLICT, anything else is logged with @what and is
 * ND_ERR_INTERNAL. Clears @r. */
enum nd_err pg_fail(struct pg_conn *c, PGresult *r, const char *what, struct nd_error *err);

/* The key lookup: the principal of a valid key, by its hash ($1). */
extern const char pg_key_sql[];
void pg_read_principal(PGresult *r, struct nd_principal *out);
/* Inside a read, the principal @c remembers for @hash, taken on trust until
 * the database confirms it (see struct pg_key_memo): false when there is
 * none, or outside a read. */
bool pg_key_trust(struct pg_conn *c, const unsigned char hash[ND_KEY_HASH_LEN],
		  struct nd_principal *out);
/* Remembers @who as the principal of @hash; NULL forgets @hash. */
void pg_key_remember(struct pg_conn *c, const unsigned char hash[ND_KEY_HASH_LEN],
		     const struct nd_principal *who);

/* Logs @fmt and fails with ND_ERR_INTERNAL, whose detail says no more. */
enum nd_err pg_internal(struct nd_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Runs the cached prepared statement for @sql (static storage: its address
 * is the cache key). Returns the result of a statement that succeeded, for
 * the caller to PQclear(), or NULL with @err set. */
PGresult *pg_query(struct pg_conn *c, const char *sql, const struct pg_params *p, const char *what,
		   struct nd_error *err);
/* Runs a statement that returns no rows or whose rows are not needed;
 * @changes (may be NULL) receives the number of rows it touched. */
enum nd_err pg_exec(struct pg_conn *c, const char *sql, const struct pg_params *p, const char *what,
		    int64_t *changes, struct nd_error *err);
/* Runs a statement expected to return one row: ND_OK with *@out to
 * PQclear(), or ND_ERR_NOT_FOUND with @missing as the detail. */
enum nd_err pg_row(struct pg_conn *c, const char *sql, const struct pg_params *p, const char *what,
		   const char *missing, PGresult **out, struct nd_error *err);

/* Hands each row of a result to the callback; non-zero stops. */
typedef int (*pg_row_fn)(void *arg, PGresult *r, int row);
/* Hands each row of @sql to @fn. @limit is the statement's LIMIT (0: none):
 * a result of at most PG_ROWS_AT_ONCE rows arrives whole, a larger or
 * unbounded one a row at a time (libpq single-row mode, a result object per
 * row), so that a large result never sits in memory. @sql is prepared once
 * per connection, kept by its address when @types is NULL, else by its text
 * (an assembled statement, with those parameter types). A callback's
 * non-zero return stops and is returned. */
#define PG_ROWS_AT_ONCE 1000
enum nd_err pg_stream(struct pg_conn *c, const char *sql, const Oid *types,
		      const struct pg_params *p, size_t limit, pg_row_fn fn, void *arg,
		      const char *what, struct nd_error *err);

typedef enum nd_err (*pg_tx_fn)(struct pg_conn *c, void *arg, struct nd_error *err);
/* Runs @fn inside BEGIN .. COMMIT (READ COMMITTED), rolling back on any
 * error and running it again, a bounded number of times with a short
 * backoff, after a serialization failure or a deadlock. */
enum nd_err pg_tx(struct pg_conn *c, pg_tx_fn fn, void *arg, struct nd_error *err);
/* PQexec(@sql) on @c, where fault injection (util/fault.h) may cut the
 * connection first or answer a server error instead. */
PGresult *pg_exec_text(struct pg_conn *c, const char *sql);
/* Runs @sql, a statement without rows (BEGIN, COMMIT, ...), with the simple
 * protocol. A COMMIT that the server answers with ROLLBACK (the transaction
 * had failed) is an error. */
enum nd_err pg_simple(struct pg_conn *c, const char *sql, struct nd_error *err);

/* Column readers over a text-format result. A NULL column is NULL /
 * ND_NO_TIME. */
const char *pg_text(PGresult *r, int row, int col);
int64_t pg_int(PGresult *r, int row, int col);
int64_t pg_time(PGresult *r, int row, int col);
bool pg_bool(PGresult *r, int row, int col);
/* A uuid column as an upper-case GUID, "" when NULL. */
void pg_guid(PGresult *r, int row, int col, char out[ND_GUID_LEN + 1]);

/* Appends @ids as a text[] literal, every element quoted. */
void pg_text_array(struct nd_buf *b, const char *const *ids, size_t n);

/* Locks the tenant's tenant_counters row: the writers that change a
 * tenant's delivery counter hold it, so they run one at a time per tenant
 * and each sees the others' committed rows. An unknown tenant holds
 * nothing: ND_ERR_NOT_FOUND with @missing as the detail. */
enum nd_err pg_lock_tenant(struct pg_conn *c, int64_t tenant_id, const char *missing,
			   struct nd_error *err);

enum pg_target_mode {
	PG_TARGET_FIND,   /* a missing target is ND_ERR_NOT_FOUND */
	PG_TARGET_LOCK,   /* the same, and the row is locked against deletion */
	PG_TARGET_CREATE, /* a missing target is inserted; the row is locked */
};

/* The internal id of target @ext. The lock (FOR KEY SHARE, held until the
 * transaction ends) is taken by whoever attaches rows to a target or
 * removes them, so that target_delete, which locks the row FOR UPDATE
 * first, never leaves rows of a deleted target behind. */
enum nd_err pg_target_tid(struct pg_conn *c, int64_t tenant_id, const char *ext,
			  enum pg_target_mode mode, int64_t *tid, struct nd_error *err);

/* Columns of a notification (alias n), as pg_read_notification() reads them
 * starting at a given column. */
#define PG_NOTIFICATION_COLS                                                                       \
	"n.nkey, n.guid, n.libelle, n.body, n.url, n.type, n.action_type,"                         \
	" n.campaign_id, n.profile, n.screen_names, n.batch, n.date_started,"                      \
	" n.date_due, n.created_at"
#define PG_NOTIFICATION_NCOLS 14
/* A delivery's own columns (alias d), and with its notification (alias n). */
#define PG_DELIVERY_OWN_COLS                                                                       \
	"d.routed_at, d.guid, d.impression, d.activation, d.redirection,"                          \
	" d.dismiss, d.read_at, d.completed_at"
#define PG_DELIVERY_OWN_NCOLS 8
#define PG_DELIVERY_COLS  PG_DELIVERY_OWN_COLS ", " PG_NOTIFICATION_COLS
/* A target (alias t), as pg_read_target() reads it. */
/* The first of a target's columns are a listing's member (struct nd_item),
 * as pg_read_member() reads them. */
#define PG_MEMBER_COLS "t.ext_id, t.name, t.email, t.profile"
#define PG_TARGET_COLS PG_MEMBER_COLS ", t.attributes, t.created_at, t.updated_at"

void pg_read_target(PGresult *r, int row, int base, struct nd_target *t);
void pg_read_member(PGresult *r, int row, int base, struct nd_target *t);
void pg_read_notification(PGresult *r, int row, int base, struct nd_notification *n);

/* The INSERT of a notification row (creation and load share it): the
 * tenant ($1) and the 14 columns pg_p_notification() fills ($2..$15), then
 * @more_cols, more columns (", name, ..." or ""), with @more_values, their
 * values. */
#define PG_NOTIFICATION_INSERT(more_cols, more_values)                                             \
	"INSERT INTO notifications (tenant_id, nkey, guid, libelle, body, url, type,"              \
	" action_type, campaign_id, profile, screen_names, batch, date_started, date_due,"         \
	" created_at" more_cols ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"     \
	" $13, $14, $15" more_values ")"
/* Adds $2..$15 of PG_NOTIFICATION_INSERT to @p, which holds the tenant as
 * $1 (and nothing else): @n's columns and @guid, its GUID as 16 bytes,
 * which @p points to (it must outlive the query). */
void pg_p_notification(struct pg_params *p, const struct nd_notification *n,
		       const unsigned char guid[16]);
/* Reads PG_DELIVERY_COLS into @d, pointing d->n at @n. */
void pg_read_delivery(PGresult *r, int row, int base, struct nd_delivery *d,
		      struct nd_notification *n);
/* Reads PG_DELIVERY_OWN_COLS into @d, leaving d->n alone. */
void pg_read_delivery_own(PGresult *r, int row, int base, struct nd_delivery *d);

/* The operations, one group per file. */
enum nd_err pg_tenant_ensure(struct nd_store_conn *c, const char *name, int64_t *tenant_id,
			     struct nd_error *err);
enum nd_err pg_tenant_find(struct nd_store_conn *c, const char *name, int64_t *tenant_id,
			   struct nd_error *err);
enum nd_err pg_tenant_get(struct nd_store_conn *c, int64_t tenant_id, nd_tenant_cb cb, void *arg,
			  struct nd_error *err);
enum nd_err pg_tenant_set_zone(struct nd_store_conn *c, int64_t tenant_id, const char *zone,
			       struct nd_error *err);
enum nd_err pg_key_put(struct nd_store_conn *c, int64_t tenant_id,
		       const unsigned char hash[ND_KEY_HASH_LEN], enum nd_role role,
		       const char *target, int64_t created_at, bool ensure,
		       struct nd_error *err);
enum nd_err pg_key_auth(struct nd_store_conn *c, const unsigned char hash[ND_KEY_HASH_LEN],
			struct nd_principal *out, struct nd_error *err);
enum nd_err pg_key_list(struct nd_store_conn *c, int64_t tenant_id, nd_key_cb cb, void *arg,
			struct nd_error *err);
enum nd_err pg_key_revoke(struct nd_store_conn *c, int64_t tenant_id, const char *id,
			  struct nd_error *err);

enum nd_err pg_target_put(struct nd_store_conn *c, int64_t tenant_id, struct nd_target *t,
			  bool *created, struct nd_error *err);
enum nd_err pg_target_get(struct nd_store_conn *c, int64_t tenant_id, const char *id,
			  nd_target_cb cb, void *arg, struct nd_error *err);
enum nd_err pg_target_delete(struct nd_store_conn *c, int64_t tenant_id, const char *id,
			     struct nd_error *err);

enum nd_err pg_segment_create(struct nd_store_conn *c, int64_t tenant_id, const char *name,
			      int32_t *id, struct nd_error *err);
enum nd_err pg_segment_list(struct nd_store_conn *c, int64_t tenant_id, nd_segment_cb cb, void *arg,
			    struct nd_error *err);
enum nd_err pg_segment_get(struct nd_store_conn *c, int64_t tenant_id, int32_t id, nd_segment_cb cb,
			   void *arg, struct nd_error *err);
enum nd_err pg_segment_delete(struct nd_store_conn *c, int64_t tenant_id, int32_t id,
			      struct nd_error *err);
enum nd_err pg_member_put(struct nd_store_conn *c, int64_t tenant_id, int32_t segment,
			  const char *target, struct nd_error *err);
enum nd_err pg_member_delete(struct nd_store_conn *c, int64_t tenant_id, int32_t segment,
			     const char *target, struct nd_error *err);
enum nd_err pg_target_segments(struct nd_store_conn *c, int64_t tenant_id, const char *target,
			       nd_segment_id_cb cb, void *arg, struct nd_error *err);

enum nd_err pg_campaign_put(struct nd_store_conn *c, int64_t tenant_id, struct nd_campaign *cp,
			    bool *created, struct nd_error *err);
enum nd_err pg_campaign_get(struct nd_store_conn *c, int64_t tenant_id, const char *id,
			    nd_campaign_cb cb, void *arg, struct nd_error *err);

enum nd_err pg_notification_create(struct nd_store_conn *c, int64_t tenant_id,
				   struct nd_notification *n, const struct nd_recipients *to,
				   int64_t *deliveries,
				   struct nd_missing_ref *miss, struct nd_error *err);
enum nd_err pg_notification_get(struct nd_store_conn *c, int64_t tenant_id, int32_t key,
				nd_notification_cb cb, void *arg, struct nd_error *err);
enum nd_err pg_feed(struct nd_store_conn *c, int64_t tenant_id, const struct nd_feed_query *q,
		    nd_delivery_cb cb, void *arg, struct nd_error *err);
enum nd_err pg_event_record(struct nd_store_conn *c, int64_t tenant_id, const char *target,
			    int32_t key, enum nd_event ev, int64_t at, struct nd_error *err);

enum nd_err pg_list(struct nd_store_conn *c, int64_t tenant_id, const struct nd_list_query *q,
		    nd_item_cb cb, void *arg, int64_t *total, struct nd_error *err);
enum nd_err pg_list_plan(struct nd_store_conn *c, int64_t tenant_id, const struct nd_list_query *q,
			 nd_plan_cb cb, void *arg, struct nd_error *err);
enum nd_err pg_delivery_delete(struct nd_store_conn *c, int64_t tenant_id,
			       const unsigned char guid[16], const char *owner,
			       struct nd_error *err);

enum nd_err pg_dump(struct nd_store_conn *c, const char *tenant, nd_record_cb cb, void *arg,
		    struct nd_error *err);
enum nd_err pg_load_begin(struct nd_store_conn *c, struct nd_error *err);
enum nd_err pg_load(struct nd_store_conn *c, const struct nd_record *rec, struct nd_error *err);
enum nd_err pg_load_end(struct nd_store_conn *c, bool commit, struct nd_error *err);

/* The backend's connection behind the interface's handle. */
static inline struct pg_conn *pg_conn_of(struct nd_store_conn *c)
{
	return (struct pg_conn *)c;
}

#endif
