/* sq.h - SQLite backend internals shared by its query files.
 *
 * Each thread owns one connection with its own cache of prepared
 * statements, keyed by the address of the static SQL text. */
#ifndef ND_STORE_SQ_H
#define ND_STORE_SQ_H

#include <pthread.h>
#include <sqlite3.h>

#include "store/store.h"

#define SQ_STMT_CACHE 64

struct nd_store {
	char *path;
	bool sync_full;
	uint64_t serial; /* tells stores apart in thread-local slots */
	pthread_mutex_t mu;
	struct nd_store_conn *conns; /* every thread's connection, for closing */
};

struct sq_stmt_slot {
	const char *sql;
	sqlite3_stmt *stmt;
};

struct nd_store_conn {
	struct nd_store *store;
	sqlite3 *db;
	struct sq_stmt_slot cache[SQ_STMT_CACHE];
	struct nd_store_conn *next;
};

enum nd_err nd_sq_open(const char *path, const struct nd_store_opts *opts,
		       struct nd_store **out, struct nd_error *err);
/* Applies the numbered schema files up to the newest; see schema.c. */
enum nd_err sq_migrate(struct nd_store_conn *c, struct nd_error *err);

/* Maps a SQLite result code to ND_ERR_BUSY (retryable) or ND_ERR_INTERNAL,
 * logging the engine's message; the client never sees it. */
enum nd_err sq_fail(struct nd_store_conn *c, int rc, const char *what, struct nd_error *err);

/* The cached statement for @sql, reset and unbound; NULL (with @err set)
 * only when the SQL does not compile. */
sqlite3_stmt *sq_prep(struct nd_store_conn *c, const char *sql, struct nd_error *err);
/* Resets @st after use so it holds no read snapshot. */
void sq_done(sqlite3_stmt *st);
/* Steps @st to its first row. ND_OK leaves @st on the row for the caller to
 * read and then sq_done(); no row is ND_ERR_NOT_FOUND with @missing as the
 * detail, and @st is already reset. */
enum nd_err sq_row(struct nd_store_conn *c, sqlite3_stmt *st, const char *what,
		   const char *missing, struct nd_error *err);
/* Runs @st that returns no rows. */
enum nd_err sq_exec_stmt(struct nd_store_conn *c, sqlite3_stmt *st, const char *what,
			 struct nd_error *err);

void sq_bind_text(sqlite3_stmt *st, int i, const char *s);
void sq_bind_time(sqlite3_stmt *st, int i, int64_t ms);
const char *sq_col_text(sqlite3_stmt *st, int i);
int64_t sq_col_time(sqlite3_stmt *st, int i);

typedef enum nd_err (*sq_tx_fn)(struct nd_store_conn *c, void *arg, struct nd_error *err);
/* Runs @fn inside BEGIN IMMEDIATE .. COMMIT, rolling back on any error and
 * retrying the whole transaction a bounded number of times while the
 * database is busy. */
enum nd_err sq_tx(struct nd_store_conn *c, sq_tx_fn fn, void *arg, struct nd_error *err);

/* The internal row id of target @ext in @tenant_id. With @create, a missing
 * target is inserted (inside the caller's transaction); otherwise a missing
 * target is ND_ERR_NOT_FOUND. */
enum nd_err sq_target_tid(struct nd_store_conn *c, int64_t tenant_id, const char *ext,
			  bool create, int64_t *tid, struct nd_error *err);

/* ND_OK when the object exists in the tenant, else ND_ERR_NOT_FOUND. */
enum nd_err sq_segment_exists(struct nd_store_conn *c, int64_t tenant_id, int32_t id,
			      struct nd_error *err);
enum nd_err sq_campaign_exists(struct nd_store_conn *c, int64_t tenant_id, const char *id,
			       struct nd_error *err);

/* Columns of a notification (table alias n), as sq_read_notification()
 * reads them starting at a given column. */
#define SQ_NOTIFICATION_COLS                                                       \
	"n.nkey, n.guid, n.libelle, n.body, n.url, n.type, n.action_type,"         \
	" n.campaign_id, n.profile, n.screen_names, n.batch, n.date_started,"      \
	" n.date_due, n.created_at"
#define SQ_NOTIFICATION_NCOLS 14
/* A delivery (alias d) with its notification (alias n). */
#define SQ_DELIVERY_COLS                                                           \
	"d.routed_at, d.guid, d.impression, d.activation, d.redirection,"          \
	" d.dismiss, d.read_at, d.completed_at, " SQ_NOTIFICATION_COLS
#define SQ_DELIVERY_NCOLS (8 + SQ_NOTIFICATION_NCOLS)

/* Columns of a target (alias t), as sq_read_target() reads them. */
#define SQ_TARGET_COLS                                                             \
	"t.ext_id, t.name, t.email, t.profile, t.attributes, t.created_at, t.updated_at"

void sq_read_target(sqlite3_stmt *st, int base, struct nd_target *t);
void sq_read_notification(sqlite3_stmt *st, int base, struct nd_notification *n);
/* Reads SQ_DELIVERY_COLS into @d, pointing d->n at @n. */
void sq_read_delivery(sqlite3_stmt *st, int base, struct nd_delivery *d, struct nd_notification *n);
/* A 16-byte GUID column as text, "" when it is not one. */
void sq_col_guid(sqlite3_stmt *st, int i, char out[ND_GUID_LEN + 1]);

#endif
