/* pg.c - PostgreSQL backend: opening, per-thread connections, reconnection
 * with backoff, the prepared-statement cache, streaming, transactions and
 * the table of operations. */
#include "store/postgres/pg.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "util/fault.h"
#include "util/log.h"
#include "util/mem.h"

#define TX_ATTEMPTS    5
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000
/* Seconds libpq may spend reaching the server: a request waits at most this
 * long before it is told to try again. */
#define CONNECT_TIMEOUT_S 3

static const char unavailable[] = "the database is unavailable, try again";

static atomic_uint_fast64_t store_serial;

/* The calling thread's connection and the serial of its store; the serial
 * is compared first so a freed store is never dereferenced. */
static __thread uint64_t tls_serial;
static __thread struct pg_conn *tls_conn;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libpq messages end in a newline and may span lines; a log line wants one. */
static void one_line(const char *msg, char *out, size_t n)
{
	snprintf(out, n, "%s", msg ? msg : "");
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	size_t len = strlen(out);
	while (len > 0 && out[len - 1] == ' ')
		out[--len] = '\0';
}

/* --- health: one outage is logged once, reconnection backs off --- */

/* Whether this thread may try to connect now. While the server is down only
 * one attempt is made per backoff window, by the first thread to ask; the
 * others fail at once. */
static bool health_may_try(struct pg_store *s)
{
	bool ok = true;
	pthread_mutex_lock(&s->mu);
	if (s->down) {
		int64_t now = mono_ms();
		if (now < s->retry_at)
			ok = false;
		else
			s->retry_at = now + s->backoff_ms;
	}
	pthread_mutex_unlock(&s->mu);
	return ok;
}

/* Records that the server could not be reached (@connecting) or that a
 * connection made during outage @epoch broke. A broken connection is
 * retried at once; a failed attempt waits the backoff, which doubles up to
 * its cap. A connection made before the latest outage began was broken by
 * that outage, which is already logged: each outage is logged once, however
 * many connections it breaks. */
static void health_failed(struct pg_store *s, const char *reason, bool connecting, unsigned epoch)
{
	pthread_mutex_lock(&s->mu);
	bool stale = !connecting && epoch != s->outages;
	bool first = !s->down && !stale;
	if (first) {
		s->down = true;
		s->outages++;
		s->backoff_ms = BACKOFF_MIN_MS;
		s->retry_at = 0;
	}
	if (connecting) {
		s->retry_at = mono_ms() + s->backoff_ms;
		s->backoff_ms =
			s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
	}
	pthread_mutex_unlock(&s->mu);
	if (first && connecting)
		nd_log("error", "store", "cannot open database %s: %s", s->where, reason);
	else if (first)
		nd_log("error", "store", "lost the connection to database %s: %s", s->where,
		       reason);
}

/* Records a connection that works; returns the outage it belongs to. */
static unsigned health_ok(struct pg_store *s)
{
	pthread_mutex_lock(&s->mu);
	bool was_down = s->down;
	s->down = false;
	s->backoff_ms = BACKOFF_MIN_MS;
	s->retry_at = 0;
	unsigned epoch = s->outages;
	pthread_mutex_unlock(&s->mu);
	if (was_down)
		nd_log("info", "store", "database %s reachable again", s->where);
	return epoch;
}

/* --- connections --- */

static void quiet_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* A new or closed connection has no prepared statement. */
static void forget_statements(struct pg_conn *c)
{
	c->nstmts = 0;
	memset(c->cache, 0, sizeof c->cache);
	for (size_t i = 0; i < PG_DYN_CACHE; i++)
		free(c->dyn[i].sql);
	memset(c->dyn, 0, sizeof c->dyn);
}

static void conn_drop(struct pg_conn *c)
{
	PQfinish(c->pg);
	c->pg = NULL;
	forget_statements(c);
}

static enum nd_err schema_too_new(struct pg_store *s, struct nd_error *err)
{
	pthread_mutex_lock(&s->schema_mu);
	bool log = !s->too_new_logged;
	s->too_new_logged = true;
	pthread_mutex_unlock(&s->schema_mu);
	if (log)
		nd_log("error", "store",
		       "database %s has schema version %d, newer than this notifd (%d)", s->where,
		       s->schema_found, pg_nmigrations);
	return nd_fail(err, ND_ERR_INTERNAL, NULL, "internal storage error");
}

static enum nd_err ensure_schema(struct pg_conn *c, struct nd_error *err)
{
	struct pg_store *s = c->store;
	enum nd_err e = ND_OK;
	pthread_mutex_lock(&s->schema_mu);
	if (s->schema == PG_SCHEMA_PENDING) {
		e = pg_migrate(c, err);
		if (!e)
			s->schema = PG_SCHEMA_READY;
		else if (e == ND_ERR_CONFLICT)
			s->schema = PG_SCHEMA_TOO_NEW;
	}
	enum pg_schema_state state = s->schema;
	pthread_mutex_unlock(&s->schema_mu);
	if (state == PG_SCHEMA_TOO_NEW)
		return schema_too_new(s, err);
	return e;
}

static enum nd_err conn_connect(struct pg_conn *c, struct nd_error *err)
{
	struct pg_store *s = c->store;
	/* Ours come first so that the operator's string overrides them, except
	 * the timeout (a request must never hang on an unreachable server) and
	 * the encoding the store's text is in. Keepalives notice a server that
	 * vanished without closing; JIT compilation costs more than the short
	 * queries of a request ever save. */
	char timeout[16];
	snprintf(timeout, sizeof timeout, "%d", CONNECT_TIMEOUT_S);
	const char *const params[][2] = {
		{"application_name", "notifd"},
		{"keepalives_idle", "30"},
		{"keepalives_interval", "10"},
		{"keepalives_count", "3"},
		{"tcp_user_timeout", "30000"},
		{"options", "-c jit=off"},
		{"dbname", s->conninfo},
		{"connect_timeout", timeout},
		{"client_encoding", "UTF8"},
	};
	enum { NPARAMS = sizeof params / sizeof params[0] };
	const char *keys[NPARAMS + 1] = {NULL}, *values[NPARAMS + 1] = {NULL};
	for (size_t i = 0; i < NPARAMS; i++) {
		keys[i] = params[i][0];
		values[i] = params[i][1];
	}
	pthread_mutex_lock(&s->schema_mu);
	bool too_new = s->schema == PG_SCHEMA_TOO_NEW;
	pthread_mutex_unlock(&s->schema_mu);
	if (too_new)
		return schema_too_new(s, err);
	if (!health_may_try(s))
		return nd_fail(err, ND_ERR_BUSY, NULL, unavailable);
	PGconn *pg = PQconnectdbParams(keys, values, 1);
	if (PQstatus(pg) != CONNECTION_OK) {
		char why[512];
		one_line(pg ? PQerrorMessage(pg) : "out of memory", why, sizeof why);
		PQfinish(pg);
		health_failed(s, why, true, 0);
		return nd_fail(err, ND_ERR_BUSY, NULL, unavailable);
	}
	PQsetNoticeProcessor(pg, quiet_notice, NULL);
	c->pg = pg;
	forget_statements(c);
	c->epoch = health_ok(s);
	enum nd_err e = ensure_schema(c, err);
	if (e && c->pg)
		conn_drop(c);
	return e;
}

enum nd_err pg_ready(struct pg_conn *c, struct nd_error *err)
{
	if (c->pg)
		return ND_OK;
	/* Reconnecting in the middle of a transaction would run the rest of
	 * it outside any transaction. */
	if (c->in_tx)
		return nd_fail(err, ND_ERR_BUSY, NULL, unavailable);
	return conn_connect(c, err);
}

/* The calling thread's connection, connected when possible. A thread using
 * several stores finds its connection of each in the store's list. */
static enum nd_err thread_conn(struct pg_store *s, struct pg_conn **out, struct nd_error *err)
{
	struct pg_conn *c = NULL;
	if (tls_conn && tls_serial == s->serial) {
		c = tls_conn;
	} else {
		pthread_t self = pthread_self();
		pthread_mutex_lock(&s->mu);
		for (struct pg_conn *i = s->conns; i; i = i->next)
			if (pthread_equal(i->owner, self))
				c = i;
		if (!c) {
			c = nd_xcalloc(1, sizeof *c);
			c->base.ops = s->base.ops;
			c->store = s;
			c->owner = self;
			c->next = s->conns;
			s->conns = c;
		}
		pthread_mutex_unlock(&s->mu);
		tls_conn = c;
		tls_serial = s->serial;
	}
	*out = c;
	return pg_ready(c, err);
}

/* --- errors --- */

static bool state_is(const char *state, const char *want)
{
	return state && strcmp(state, want) == 0;
}

enum nd_err pg_fail(struct pg_conn *c, PGresult *r, const char *what, struct nd_error *err)
{
	/* The SQLSTATE copied out: PQclear() below frees the result. */
	const char *field = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	char code[6];
	if (field)
		nd_copy_str(code, sizeof code, field);
	const char *state = field ? code : NULL;
	char why[512];
	one_line(r && *PQresultErrorMessage(r) ? PQresultErrorMessage(r)
					       : (c->pg ? PQerrorMessage(c->pg) : "no connection"),
		 why, sizeof why);
	bool lost = !c->pg || PQstatus(c->pg) != CONNECTION_OK || !r ||
		    (state && strncmp(state, "08", 2) == 0) || state_is(state, "57P01") ||
		    state_is(state, "57P02") || state_is(state, "57P03");
	PQclear(r);
	c->retry = false;
	if (lost) {
		if (c->pg)
			conn_drop(c);
		health_failed(c->store, why, false, c->epoch);
		return nd_fail(err, ND_ERR_BUSY, NULL, unavailable);
	}
	if (state_is(state, "40001") || state_is(state, "40P01")) {
		c->retry = true;
		return nd_fail(err, ND_ERR_BUSY, NULL, "the database is busy, try again");
	}
	if (state_is(state, "57014") || state_is(state, "55P03") || state_is(state, "53300"))
		return nd_fail(err, ND_ERR_BUSY, NULL, "the database is busy, try again");
	if (state_is(state, "23505"))
		return nd_fail(err, ND_ERR_CONFLICT, NULL, "record already stored");
	if (state_is(state, "53100")) { /* disk_full */
		nd_log("error", "store", "%s: %s", what, why);
		return nd_fail(err, ND_ERR_STORAGE_FULL, NULL,
			       "the database is out of space; nothing was written");
	}
	return pg_internal(err, "%s: %s (%s)", what, why, state ? state : "no sqlstate");
}

enum nd_err pg_internal(struct nd_error *err, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	nd_log("error", "store", "%s", msg);
	return nd_fail(err, ND_ERR_INTERNAL, NULL, "internal storage error");
}

/* --- statements --- */

/* Fault injection (util/fault.h): the connection cut before a statement
 * is sent, or the statement answered by a real server error in its place
 * (which, inside a transaction, aborts it as any failed statement does;
 * in place of COMMIT, the transaction is then rolled back, never
 * committed): an internal error, a serialization failure or a full disk.
 * NULL: the statement goes out as it is. */
#define RAISE(code) "DO $$BEGIN RAISE EXCEPTION 'fault injected' USING ERRCODE = '" code "'; END$$"

static const char *injected(enum nd_fault_kind kind)
{
	if (nd_fault(kind))
		return RAISE("XX000");
	if (nd_fault(ND_FAULT_SERIALIZATION))
		return RAISE("40001");
	if (nd_fault(ND_FAULT_DISK_FULL))
		return RAISE("53100");
	return NULL;
}

static void maybe_disconnect(struct pg_conn *c)
{
	if (nd_fault(ND_FAULT_DISCONNECT))
		shutdown(PQsocket(c->pg), SHUT_RDWR);
}

static PGresult *prepare(struct pg_conn *c, const char *name, const char *sql, int n,
			 const Oid *types)
{
	const char *fail = injected(ND_FAULT_PREPARE);
	return fail ? PQexec(c->pg, fail) : PQprepare(c->pg, name, sql, n, types);
}

/* The name of @sql prepared on @c, preparing it the first time. */
static const char *stmt_name(struct pg_conn *c, const char *sql, char name[16],
			     struct nd_error *err)
{
	size_t h = ((uintptr_t)sql >> 3) % PG_STMT_CACHE;
	for (size_t i = 0; i < PG_STMT_CACHE; i++) {
		struct pg_stmt_slot *slot = &c->cache[(h + i) % PG_STMT_CACHE];
		if (slot->sql == sql) {
			snprintf(name, 16, "nd%u", slot->name);
			return name;
		}
		if (slot->sql)
			continue;
		unsigned id = ++c->nstmts;
		snprintf(name, 16, "nd%u", id);
		PGresult *r = prepare(c, name, sql, 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			pg_fail(c, r, "prepare", err);
			return NULL;
		}
		PQclear(r);
		slot->sql = sql;
		slot->name = id;
		return name;
	}
	/* More distinct statements than slots is a programming error. */
	pg_internal(err, "statement cache full");
	return NULL;
}

/* The name of the assembled statement @sql (of @n parameters of @types)
 * prepared on @c, preparing it the first time: parsing and planning the
 * listing on every request cost more than running it. */
static const char *dyn_name(struct pg_conn *c, const char *sql, const Oid *types, int n,
			    char name[16], struct nd_error *err)
{
	struct pg_dyn_slot *lru = &c->dyn[0];
	c->dyn_uses++;
	for (size_t i = 0; i < PG_DYN_CACHE; i++) {
		struct pg_dyn_slot *slot = &c->dyn[i];
		if (slot->sql && strcmp(slot->sql, sql) == 0) {
			slot->used = c->dyn_uses;
			snprintf(name, 16, "nd%u", slot->name);
			return name;
		}
		if (slot->used < lru->used)
			lru = slot;
	}
	if (lru->sql) {
		char old[32];
		snprintf(old, sizeof old, "DEALLOCATE nd%u", lru->name);
		PGresult *r = PQexec(c->pg, old);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			pg_fail(c, r, "deallocate", err);
			return NULL;
		}
		PQclear(r);
		free(lru->sql);
		lru->sql = NULL;
	}
	unsigned id = ++c->nstmts;
	snprintf(name, 16, "nd%u", id);
	PGresult *r = prepare(c, name, sql, n, types);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		pg_fail(c, r, "prepare", err);
		return NULL;
	}
	PQclear(r);
	*lru = (struct pg_dyn_slot){nd_xstrdup(sql), id, c->dyn_uses};
	return name;
}

static const struct pg_params no_params;

/* --- keys a read takes on trust (struct pg_key_memo) --- */

const char pg_key_sql[] = "SELECT k.tenant_id, k.role, k.target, k.id, t.time_zone"
			  " FROM api_keys k JOIN tenants t ON t.id = k.tenant_id"
			  " WHERE k.hash = $1 AND k.revoked_at IS NULL";

void pg_read_principal(PGresult *r, struct nd_principal *out)
{
	memset(out, 0, sizeof *out);
	out->tenant_id = pg_int(r, 0, 0);
	nd_role_parse(pg_text(r, 0, 1), &out->role);
	nd_copy_str(out->target, sizeof out->target, pg_text(r, 0, 2));
	nd_copy_str(out->key_id, sizeof out->key_id, pg_text(r, 0, 3));
	nd_copy_str(out->time_zone, sizeof out->time_zone, pg_text(r, 0, 4));
}

static struct pg_key_memo *memo_of(struct pg_conn *c, const unsigned char *hash)
{
	return &c->keys[hash[0] % PG_KEY_MEMO]; /* a hash's bytes are uniform */
}

void pg_key_remember(struct pg_conn *c, const unsigned char hash[ND_KEY_HASH_LEN],
		     const struct nd_principal *who)
{
	struct pg_key_memo *m = memo_of(c, hash);
	if (who) {
		m->used = true;
		memcpy(m->hash, hash, ND_KEY_HASH_LEN);
		m->who = *who;
	} else if (m->used && memcmp(m->hash, hash, ND_KEY_HASH_LEN) == 0) {
		m->used = false;
	}
}

bool pg_key_trust(struct pg_conn *c, const unsigned char hash[ND_KEY_HASH_LEN],
		  struct nd_principal *out)
{
	struct pg_key_memo *m = memo_of(c, hash);
	if (!c->reading || c->key_state != PG_KEY_SETTLED || !m->used ||
	    memcmp(m->hash, hash, ND_KEY_HASH_LEN) != 0)
		return false;
	*out = m->who;
	c->key_state = PG_KEY_PENDING;
	c->key_slot = (int)(m - c->keys);
	return true;
}

/* Decides the pending key by @r, the key lookup's result. */
static void judge_key(struct pg_conn *c, PGresult *r)
{
	struct pg_key_memo *m = &c->keys[c->key_slot];
	if (PQntuples(r) == 0) {
		m->used = false;
		c->key_state = PG_KEY_GONE;
		return;
	}
	struct nd_principal now;
	pg_read_principal(r, &now);
	if (nd_principal_same(&now, &m->who)) {
		c->key_state = PG_KEY_SETTLED;
	} else {
		m->who = now;
		c->key_state = PG_KEY_CHANGED;
	}
}

/* What a statement of a read whose key turned out revoked or changed
 * answers: the read ends without it (read_end says why). */
static PGresult *key_failed(struct nd_error *err)
{
	nd_fail(err, ND_ERR_BUSY, NULL, "the key changed during the request; retry");
	return NULL;
}

/* Confirms the pending key in a round trip of its own. */
static enum nd_err settle_key(struct pg_conn *c, struct nd_error *err)
{
	if (c->key_state != PG_KEY_PENDING)
		return ND_OK;
	struct pg_params p = PG_PARAMS_INIT;
	pg_p_bin(&p, c->keys[c->key_slot].hash, ND_KEY_HASH_LEN);
	c->key_state = PG_KEY_SETTLED; /* the lookup itself runs plainly */
	PGresult *r = pg_query(c, pg_key_sql, &p, "key lookup", err);
	c->key_state = PG_KEY_PENDING;
	if (!r)
		return err->code;
	judge_key(c, r);
	PQclear(r);
	return ND_OK;
}

/* ND_OK once the read's key is known good, confirming it now if need be. */
static enum nd_err key_settled(struct pg_conn *c, struct nd_error *err)
{
	if (settle_key(c, err))
		return err->code;
	if (c->key_state != PG_KEY_SETTLED)
		key_failed(err);
	return c->key_state == PG_KEY_SETTLED ? ND_OK : err->code;
}

/* Reads a pipeline's results up to its sync point, the first result of
 * each of its @n statements into @out. False when the connection failed
 * first. */
static bool pipeline_results(struct pg_conn *c, PGresult **out, int n)
{
	int stmt = 0;
	for (int nulls = 0; nulls <= n;) {
		PGresult *r = PQgetResult(c->pg);
		if (!r) {
			if (PQstatus(c->pg) != CONNECTION_OK)
				return false;
			stmt++; /* the end of a statement's results */
			nulls++;
			continue;
		}
		nulls = 0;
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			return true;
		}
		if (stmt < n && !out[stmt])
			out[stmt] = r;
		else
			PQclear(r);
	}
	return false;
}

/* Prepared statement @name sent with the pending key's lookup, in one
 * round trip: the key is judged from the first result, and the statement's
 * result returned (NULL when the pipeline failed). */
static PGresult *with_key(struct pg_conn *c, const char *kname, const char *name,
			  const struct pg_params *p)
{
	const char *kv[1] = {(const char *)c->keys[c->key_slot].hash};
	const int klen[1] = {ND_KEY_HASH_LEN}, kfmt[1] = {1};
	PGresult *res[2] = {NULL, NULL};
	bool ok = PQenterPipelineMode(c->pg) &&
		  PQsendQueryPrepared(c->pg, kname, 1, kv, klen, kfmt, 0) &&
		  PQsendQueryPrepared(c->pg, name, p->n, p->values, p->lengths, p->formats, 0) &&
		  PQpipelineSync(c->pg) && pipeline_results(c, res, 2) &&
		  PQexitPipelineMode(c->pg);
	if (!ok) {
		PQclear(res[0]);
		PQclear(res[1]);
		conn_drop(c); /* in whatever state the pipeline left it */
		return NULL;
	}
	if (PQresultStatus(res[0]) == PGRES_TUPLES_OK)
		judge_key(c, res[0]);
	PQclear(res[0]);
	return res[1];
}

/* Whether a statement that failed may run again on a new connection: the
 * old one broke (a server restart leaves every idle connection broken,
 * which only its next use shows), outside a transaction, where statements
 * only read, and only once. */
static bool rerun(struct pg_conn *c, int attempt, struct nd_error *err)
{
	return attempt == 0 && !c->pg && !c->in_tx && err->code == ND_ERR_BUSY;
}

PGresult *pg_query(struct pg_conn *c, const char *sql, const struct pg_params *p, const char *what,
		   struct nd_error *err)
{
	char name[16];
	if (!p)
		p = &no_params;
	for (int attempt = 0;; attempt++) {
		if (c->key_state > PG_KEY_PENDING)
			return key_failed(err);
		if (pg_ready(c, err))
			return NULL;
		char kname[16];
		bool pending = c->key_state == PG_KEY_PENDING;
		if (stmt_name(c, sql, name, err) && (!pending || stmt_name(c, pg_key_sql, kname, err))) {
			maybe_disconnect(c);
			const char *fail = injected(ND_FAULT_QUERY);
			PGresult *r = fail      ? PQexec(c->pg, fail)
				      : pending ? with_key(c, kname, name, p)
						: PQexecPrepared(c->pg, name, p->n, p->values,
								 p->lengths, p->formats, 0);
			if (c->key_state > PG_KEY_PENDING) {
				PQclear(r);
				return key_failed(err);
			}
			ExecStatusType st = PQresultStatus(r);
			if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
				return r;
			pg_fail(c, r, what, err);
		}
		if (!rerun(c, attempt, err))
			return NULL;
	}
}

enum nd_err pg_exec(struct pg_conn *c, const char *sql, const struct pg_params *p, const char *what,
		    int64_t *changes, struct nd_error *err)
{
	PGresult *r = pg_query(c, sql, p, what, err);
	if (!r)
		return err->code;
	if (changes)
		*changes = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return ND_OK;
}

enum nd_err pg_row(struct pg_conn *c, const char *sql, const struct pg_params *p, const char *what,
		   const char *missing, PGresult **out, struct nd_error *err)
{
	PGresult *r = pg_query(c, sql, p, what, err);
	if (!r)
		return err->code;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return nd_fail(err, ND_ERR_NOT_FOUND, NULL, "%s", missing);
	}
	*out = r;
	return ND_OK;
}

/* Stops the statement running on @c; its rows still arriving are drained
 * by the caller. */
static void cancel(struct pg_conn *c)
{
	char buf[256];
	PGcancel *cn = PQgetCancel(c->pg);
	if (cn) {
		PQcancel(cn, buf, sizeof buf);
		PQfreeCancel(cn);
	}
}

static enum nd_err stream_once(struct pg_conn *c, const char *sql, const Oid *types,
			       const struct pg_params *p, bool at_once, pg_row_fn fn, void *arg,
			       const char *what, bool *rows, struct nd_error *err)
{
	char name[16];
	int sent;
	if (key_settled(c, err) || pg_ready(c, err))
		return err->code;
	if (!(types ? dyn_name(c, sql, types, p->n, name, err) : stmt_name(c, sql, name, err)))
		return err->code;
	maybe_disconnect(c);
	const char *fail = injected(ND_FAULT_QUERY);
	sent = fail ? PQsendQuery(c->pg, fail)
		    : PQsendQueryPrepared(c->pg, name, p->n, p->values, p->lengths, p->formats, 0);
	if (!sent)
		return pg_fail(c, NULL, what, err);
	if (!at_once)
		PQsetSingleRowMode(c->pg);
	int stop = 0;
	bool cancelled = false;
	PGresult *r, *bad = NULL;
	/* Every result is read, even after a stop or an error, so that the
	 * connection is idle again when this returns. */
	while ((r = PQgetResult(c->pg))) {
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_SINGLE_TUPLE) {
			*rows = true;
			if (!stop && !bad && (stop = fn(arg, r, 0))) {
				cancel(c);
				cancelled = true;
			}
		} else if (st == PGRES_TUPLES_OK && at_once) {
			for (int row = 0, n = PQntuples(r); !stop && row < n; row++) {
				*rows = true;
				stop = fn(arg, r, row);
			}
		} else if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && !bad && !stop) {
			bad = r;
			continue;
		}
		PQclear(r);
	}
	if (bad)
		return pg_fail(c, bad, what, err);
	if (cancelled) {
		/* A cancel request reaches the server on its own connection, and
		 * may land after this query ended, on the next statement of this
		 * one: a connection that sent a cancel is not used again. */
		conn_drop(c);
	}
	if (stop)
		return (enum nd_err)stop;
	if (PQstatus(c->pg) != CONNECTION_OK)
		return pg_fail(c, NULL, what, err);
	return ND_OK;
}

enum nd_err pg_stream(struct pg_conn *c, const char *sql, const Oid *types,
		      const struct pg_params *p, size_t limit, pg_row_fn fn, void *arg,
		      const char *what, struct nd_error *err)
{
	if (!p)
		p = &no_params;
	bool rows = false, at_once = limit > 0 && limit <= PG_ROWS_AT_ONCE;
	enum nd_err e = stream_once(c, sql, types, p, at_once, fn, arg, what, &rows, err);
	/* Rows already handed out cannot be taken back. */
	if (e && !rows && rerun(c, 0, err))
		e = stream_once(c, sql, types, p, at_once, fn, arg, what, &rows, err);
	return e;
}

/* --- transactions --- */

PGresult *pg_exec_text(struct pg_conn *c, const char *sql)
{
	maybe_disconnect(c);
	const char *fail = injected(ND_FAULT_QUERY);
	return PQexec(c->pg, fail ? fail : sql);
}

enum nd_err pg_simple(struct pg_conn *c, const char *sql, struct nd_error *err)
{
	PGresult *r = pg_exec_text(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return pg_fail(c, r, sql, err);
	/* COMMIT of a transaction that failed earlier answers ROLLBACK. */
	bool rolled_back = strcmp(sql, "COMMIT") == 0 && strcmp(PQcmdStatus(r), "COMMIT") != 0;
	PQclear(r);
	if (rolled_back)
		return pg_internal(err, "commit: the transaction had failed and was rolled back");
	return ND_OK;
}

static void rollback(struct pg_conn *c)
{
	if (c->pg && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		PQclear(PQexec(c->pg, "ROLLBACK"));
}

/* A few milliseconds, growing and jittered, so that writers that collided
 * do not collide again in step. */
static void tx_backoff(int attempt)
{
	static __thread unsigned seed;
	if (!seed)
		seed = (unsigned)mono_ms() ^ (unsigned)(uintptr_t)&seed;
	long us = 1000L << attempt;
	us += rand_r(&seed) % us;
	struct timespec ts = {0, us * 1000};
	nanosleep(&ts, NULL);
}

enum nd_err pg_tx(struct pg_conn *c, pg_tx_fn fn, void *arg, struct nd_error *err)
{
	enum nd_err e = key_settled(c, err);
	if (e)
		return e;
	e = ND_ERR_BUSY;
	for (int attempt = 0; attempt < TX_ATTEMPTS; attempt++) {
		if (attempt > 0)
			tx_backoff(attempt);
		c->retry = false;
		e = pg_ready(c, err);
		if (!e)
			e = pg_simple(c, "BEGIN", err);
		/* BEGIN on a connection that broke while idle: nothing ran yet,
		 * so a new connection may run it all. */
		if (e && rerun(c, 0, err))
			e = pg_ready(c, err) ? err->code : pg_simple(c, "BEGIN", err);
		if (e)
			return e;
		c->in_tx = true;
		e = fn(c, arg, err);
		/* A COMMIT the connection broke under may or may not have taken
		 * effect: it is reported busy, never retried here. */
		if (!e)
			e = c->pg ? pg_simple(c, "COMMIT", err)
				  : nd_fail(err, ND_ERR_BUSY, NULL, unavailable);
		c->in_tx = false;
		if (!e)
			return ND_OK;
		rollback(c);
		if (!c->retry)
			return e;
	}
	return e;
}

/* --- parameters and columns --- */

static void param(struct pg_params *p, const char *v, int len, int format)
{
	if (p->n >= PG_MAX_PARAMS)
		abort(); /* a statement with more parameters is a programming error */
	p->values[p->n] = v;
	p->lengths[p->n] = len;
	p->formats[p->n] = format;
	p->n++;
}

void pg_p_int(struct pg_params *p, int64_t v)
{
	if (p->n >= PG_MAX_PARAMS)
		abort();
	snprintf(p->num[p->n], sizeof p->num[p->n], "%lld", (long long)v);
	param(p, p->num[p->n], 0, 0);
}

void pg_p_text(struct pg_params *p, const char *s)
{
	param(p, s, 0, 0);
}

void pg_p_time(struct pg_params *p, int64_t ms)
{
	if (ms == ND_NO_TIME)
		param(p, NULL, 0, 0);
	else
		pg_p_int(p, ms);
}

void pg_p_bin(struct pg_params *p, const void *data, int len)
{
	param(p, data, len, 1);
}

const char *pg_text(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

int64_t pg_int(PGresult *r, int row, int col)
{
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

int64_t pg_time(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? ND_NO_TIME : pg_int(r, row, col);
}

bool pg_bool(PGresult *r, int row, int col)
{
	return PQgetvalue(r, row, col)[0] == 't';
}

void pg_guid(PGresult *r, int row, int col, char out[ND_GUID_LEN + 1])
{
	const char *v = PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
	size_t i = 0;
	for (; v[i] && i < ND_GUID_LEN; i++)
		out[i] = (char)toupper((unsigned char)v[i]);
	out[i] = '\0';
}

void pg_text_array(struct nd_buf *b, const char *const *ids, size_t n)
{
	nd_buf_putc(b, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			nd_buf_putc(b, ',');
		nd_buf_putc(b, '"');
		for (const char *s = ids[i]; *s; s++) {
			if (*s == '"' || *s == '\\')
				nd_buf_putc(b, '\\');
			nd_buf_putc(b, *s);
		}
		nd_buf_putc(b, '"');
	}
	nd_buf_putc(b, '}');
}

void pg_read_member(PGresult *r, int row, int base, struct nd_target *t)
{
	t->id = pg_text(r, row, base);
	t->name = pg_text(r, row, base + 1);
	t->email = pg_text(r, row, base + 2);
	t->profile = pg_text(r, row, base + 3);
	t->attributes = NULL;
	t->created_at = t->updated_at = ND_NO_TIME;
}

void pg_read_target(PGresult *r, int row, int base, struct nd_target *t)
{
	pg_read_member(r, row, base, t);
	t->attributes = pg_text(r, row, base + 4);
	t->created_at = pg_int(r, row, base + 5);
	t->updated_at = pg_int(r, row, base + 6);
}

void pg_read_notification(PGresult *r, int row, int base, struct nd_notification *n)
{
	n->key = (int32_t)pg_int(r, row, base);
	pg_guid(r, row, base + 1, n->guid);
	n->libelle = pg_text(r, row, base + 2);
	n->body = pg_text(r, row, base + 3);
	n->url = pg_text(r, row, base + 4);
	n->type = pg_text(r, row, base + 5);
	n->action_type = (int32_t)pg_int(r, row, base + 6);
	n->campaign_id = pg_text(r, row, base + 7);
	n->profile = pg_text(r, row, base + 8);
	n->screen_names = pg_text(r, row, base + 9);
	n->batch = pg_text(r, row, base + 10);
	n->date_started = pg_time(r, row, base + 11);
	n->date_due = pg_time(r, row, base + 12);
	n->created_at = pg_int(r, row, base + 13);
	n->deliveries = 0;
}

void pg_p_notification(struct pg_params *p, const struct nd_notification *n,
		       const unsigned char guid[16])
{
	if (p->n != 1)
		abort(); /* the tenant must be $1: a programming error */
	pg_p_int(p, n->key);
	pg_p_bin(p, guid, 16);
	pg_p_text(p, n->libelle);
	pg_p_text(p, n->body);
	pg_p_text(p, n->url);
	pg_p_text(p, n->type);
	pg_p_int(p, n->action_type);
	pg_p_text(p, n->campaign_id);
	pg_p_text(p, n->profile);
	pg_p_text(p, n->screen_names ? n->screen_names : "[]");
	pg_p_text(p, n->batch);
	pg_p_time(p, n->date_started);
	pg_p_time(p, n->date_due);
	pg_p_int(p, n->created_at);
}

void pg_read_delivery(PGresult *r, int row, int base, struct nd_delivery *d,
		      struct nd_notification *n)
{
	d->n = n;
	pg_read_delivery_own(r, row, base, d);
	pg_read_notification(r, row, base + PG_DELIVERY_OWN_NCOLS, n);
}

void pg_read_delivery_own(PGresult *r, int row, int base, struct nd_delivery *d)
{
	d->routed_at = pg_int(r, row, base);
	pg_guid(r, row, base + 1, d->guid);
	for (int i = 0; i < ND_EV__COUNT; i++)
		d->at[i] = pg_time(r, row, base + 2 + i);
}

/* --- the store --- */

static void store_free(struct nd_store *base)
{
	struct pg_store *s = (struct pg_store *)base;
	if (tls_serial == s->serial) {
		tls_conn = NULL;
		tls_serial = 0;
	}
	struct pg_conn *c = s->conns;
	while (c) {
		struct pg_conn *next = c->next;
		PQfinish(c->pg);
		forget_statements(c);
		free(c->load_tenant_name);
		nd_ncache_clear(&c->notifications);
		free(c);
		c = next;
	}
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->schema_mu);
	free(s->conninfo);
	free(s->where);
	free(s);
}

static enum nd_err store_conn(struct nd_store *base, struct nd_store_conn **out,
			      struct nd_error *err)
{
	struct pg_conn *c;
	enum nd_err e = thread_conn((struct pg_store *)base, &c, err);
	if (!e)
		*out = &c->base;
	return e;
}

static bool abandon_tx(struct nd_store_conn *base)
{
	struct pg_conn *c = pg_conn_of(base);
	/* A load left unfinished ends here too. */
	c->in_tx = false;
	c->load_tenant = 0;
	free(c->load_tenant_name);
	c->load_tenant_name = NULL;
	if (!c->pg)
		return false;
	switch (PQtransactionStatus(c->pg)) {
	case PQTRANS_IDLE:
		return false;
	case PQTRANS_UNKNOWN:
		conn_drop(c);
		return false;
	case PQTRANS_ACTIVE:
		/* A statement still running: nothing of ours leaves one. It is
		 * cancelled and, as in stream_once, the connection is not used
		 * again: the cancel may land late, on its next statement. The
		 * server rolls the transaction back as the connection closes. */
		cancel(c);
		conn_drop(c);
		return true;
	default:
		rollback(c);
		return true;
	}
}

static enum nd_err read_begin(struct nd_store_conn *base, struct nd_error *err)
{
	struct pg_conn *c = pg_conn_of(base);
	c->reading = true;
	c->key_state = PG_KEY_SETTLED;
	return ND_OK;
}

/* The read's key, if taken from the memo and not confirmed by one of its
 * statements, is confirmed now. */
static enum nd_err read_end(struct nd_store_conn *base, bool *stale, struct nd_error *err)
{
	struct pg_conn *c = pg_conn_of(base);
	enum nd_err e = settle_key(c, err);
	enum pg_key_state state = c->key_state;
	c->reading = false;
	c->key_state = PG_KEY_SETTLED;
	if (e)
		return e;
	if (state == PG_KEY_GONE)
		return nd_fail(err, ND_ERR_NOT_FOUND, NULL, "no valid key with this hash");
	*stale = state == PG_KEY_CHANGED;
	return ND_OK;
}

/* The server answers, with a schema this notifd knows: a newer notifd may
 * have migrated the database since this one started. */
static enum nd_err ping(struct nd_store_conn *base, struct nd_error *err)
{
	static const char sql[] = "SELECT coalesce(max(version), 0) FROM notifd_schema";
	struct pg_conn *c = pg_conn_of(base);
	PGresult *r = pg_query(c, sql, NULL, "ping", err);
	if (!r)
		return err->code;
	int64_t version = pg_int(r, 0, 0);
	PQclear(r);
	if (version <= pg_nmigrations)
		return ND_OK;
	pthread_mutex_lock(&c->store->schema_mu);
	c->store->schema_found = (int)version;
	pthread_mutex_unlock(&c->store->schema_mu);
	return schema_too_new(c->store, err);
}

static const struct nd_store_ops pg_ops = {
	.name = "postgres",
	.free = store_free,
	.conn = store_conn,
	.abandon_tx = abandon_tx,
	.read_begin = read_begin,
	.read_end = read_end,
	.ping = ping,
	.tenant_ensure = pg_tenant_ensure,
	.tenant_find = pg_tenant_find,
	.tenant_get = pg_tenant_get,
	.tenant_set_zone = pg_tenant_set_zone,
	.key_put = pg_key_put,
	.key_auth = pg_key_auth,
	.key_list = pg_key_list,
	.key_revoke = pg_key_revoke,
	.target_put = pg_target_put,
	.target_get = pg_target_get,
	.target_delete = pg_target_delete,
	.segment_create = pg_segment_create,
	.segment_list = pg_segment_list,
	.segment_get = pg_segment_get,
	.segment_delete = pg_segment_delete,
	.member_put = pg_member_put,
	.member_delete = pg_member_delete,
	.target_segments = pg_target_segments,
	.campaign_put = pg_campaign_put,
	.campaign_get = pg_campaign_get,
	.notification_create = pg_notification_create,
	.notification_get = pg_notification_get,
	.feed = pg_feed,
	.list = pg_list,
	.list_plan = pg_list_plan,
	.delivery_delete = pg_delivery_delete,
	.event_record = pg_event_record,
	.dump = pg_dump,
	.load_begin = pg_load_begin,
	.load = pg_load,
	.load_end = pg_load_end,
};

/* "host=... port=... dbname=... user=..." from the parsed string: what
 * messages name, without the password or other options. */
static char *describe(const PQconninfoOption *opts)
{
	static const char *const shown[] = {"host", "hostaddr", "port", "dbname", "user"};
	struct nd_buf b = ND_BUF_INIT;
	for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++)
		for (const PQconninfoOption *o = opts; o->keyword; o++)
			if (strcmp(o->keyword, shown[i]) == 0 && o->val && *o->val)
				nd_buf_printf(&b, "%s%s=%s", b.len ? " " : "", o->keyword, o->val);
	if (!b.len)
		nd_buf_puts(&b, "(libpq defaults)");
	return nd_buf_steal(&b, NULL);
}

/* Whether libpq's complaint about @conninfo can be shown: it may quote a
 * piece of the string, which could be part of a password. */
static bool may_quote(const char *conninfo)
{
	return !strcasestr(conninfo, "password") && !strchr(conninfo, '@');
}

enum nd_err nd_postgres_open(const char *conninfo, const struct nd_store_opts *opts,
			     struct nd_store **out, struct nd_error *err)
{
	(void)opts; /* nothing to set yet */
	char *msg = NULL;
	PQconninfoOption *parsed = PQconninfoParse(conninfo, &msg);
	if (!parsed) {
		char why[256];
		one_line(msg ? msg : "out of memory", why, sizeof why);
		PQfreemem(msg);
		if (may_quote(conninfo))
			return nd_fail(
				err, ND_ERR_INVALID_PARAM, NULL,
				"cannot open database: invalid PostgreSQL connection string (%s)",
				why);
		return nd_fail(err, ND_ERR_INVALID_PARAM, NULL,
			       "cannot open database: invalid PostgreSQL connection string");
	}
	struct pg_store *s = nd_xcalloc(1, sizeof *s);
	s->base.ops = &pg_ops;
	s->conninfo = nd_xstrdup(conninfo);
	s->where = describe(parsed);
	PQconninfoFree(parsed);
	s->serial = atomic_fetch_add(&store_serial, 1) + 1;
	s->backoff_ms = BACKOFF_MIN_MS;
	s->schema = PG_SCHEMA_PENDING;
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->schema_mu, NULL);

	/* Connect now when the server is up, so that a database this notifd
	 * cannot use is refused at start. A server that is down is not an
	 * error: the outage is logged, requests are told to try again, and the
	 * schema is migrated on the first connection that succeeds. */
	struct pg_conn *c;
	struct nd_error why = {0};
	enum nd_err e = thread_conn(s, &c, &why);
	if (e && e != ND_ERR_BUSY) {
		if (s->schema == PG_SCHEMA_TOO_NEW)
			nd_fail(err, ND_ERR_INVALID_PARAM, NULL,
				"database %s has schema version %d, newer than this notifd (%d)",
				s->where, s->schema_found, pg_nmigrations);
		else
			nd_fail(err, e, NULL, "cannot prepare database %s: see the log above",
				s->where);
		store_free(&s->base);
		return err ? err->code : e;
	}
	*out = &s->base;
	return ND_OK;
}
