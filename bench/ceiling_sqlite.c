/* ceiling_sqlite.c - the raw SQLite ceiling notifd's hot paths are measured
 * against.
 *
 * The store work of notifd's hot paths done directly on SQLite, with nothing
 * else (no HTTP, no JSON, no notifd code), so that a benchmark can say how
 * close notifd comes to what the database allows:
 *
 *   read DB_FILE SECONDS SHAPE [VALUE...]
 *       the statements of one request shape, as notifd runs them (in one
 *       read transaction, as notifd runs a GET), each time for another
 *       random target or delivery:
 *         feed LIMIT [FROM_MS TO_MS]
 *                            a feed's read of a target's newest LIMIT
 *                            deliveries, routed in [FROM_MS, TO_MS) if given
 *                            (their own columns: notifd takes each row's
 *                            notification from its cache)
 *         member             API3 LIST member_id: its page of 20, the
 *                            member's counter noted by the lookup that finds
 *                            the member: the delivery's columns (notifd
 *                            takes each row's notification from its cache,
 *                            as a feed does, and reads no member)
 *         page3, title       API3 LIST unfiltered page 3, order=title DESC
 *         campaign ID        API3 LIST campaign_id=ID
 *         day FROM_MS TO_MS  API3 LIST date_started, the local day's bounds
 *         get                API3 GET of one delivery by its GUID
 *   insert DB_FILE ROWS BATCH [clustered]
 *       fan-out: ROWS deliveries into notifd's deliveries table, BATCH per
 *       transaction; "clustered" leaves out the secondary indexes (the
 *       primary key alone orders the table)
 *
 * Connections get the pragmas notifd's get (src/store/sqlite/sq.c), with
 * synchronous=FULL as the benchmark runs notifd and its default mmap_size. Prints one line of JSON.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#define PRAGMAS                                                                                    \
	"PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF;"               \
	"PRAGMA journal_size_limit=67108864; PRAGMA temp_store=FILE;"                            \
	"PRAGMA cache_size=-16384; PRAGMA mmap_size=1073741824;"

/* notifd's deliveries table and its five secondary indexes, as the
 * migrations of src/store/sqlite/schema.c leave them. */
static const char deliveries_ddl[] =
	"CREATE TABLE deliveries ("
	"  tenant_id INTEGER NOT NULL,"
	"  tid INTEGER NOT NULL,"
	"  routed_at INTEGER NOT NULL,"
	"  nkey INTEGER NOT NULL,"
	"  guid BLOB NOT NULL,"
	"  impression INTEGER, activation INTEGER, redirection INTEGER,"
	"  dismiss INTEGER, read_at INTEGER, completed_at INTEGER,"
	"  deleted_at INTEGER, updated_at INTEGER,"
	"  PRIMARY KEY (tenant_id, tid, routed_at, nkey)) WITHOUT ROWID;";
static const char indexes_ddl[] =
	"CREATE INDEX deliveries_notification ON deliveries"
	"  (tenant_id, nkey, tid, deleted_at, guid, read_at);"
	"CREATE INDEX deliveries_completed ON deliveries"
	"  (tenant_id, deleted_at, completed_at, routed_at, nkey);"
	"CREATE INDEX deliveries_modified ON deliveries (tenant_id, deleted_at, updated_at);"
	"CREATE INDEX deliveries_read ON deliveries"
	"  (tenant_id, deleted_at, read_at IS NOT NULL, routed_at);"
	"CREATE INDEX deliveries_tenant_guid ON deliveries (tenant_id, deleted_at, guid);";

static sqlite3 *db;
static volatile uint64_t sink; /* every value read goes here */

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ceiling_sqlite: ", stderr);
	vfprintf(stderr, fmt, ap);
	int rc = db ? sqlite3_errcode(db) : SQLITE_OK;
	if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
		fprintf(stderr, ": %s", sqlite3_errmsg(db));
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

#include "ceiling.h"

/* notifd_total(counter, tid): @tid, the counter kept in the sink. */
static void fn_total(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	sink += (uint64_t)sqlite3_value_int64(argv[0]);
	sqlite3_result_value(ctx, argv[1]);
}

static void open_db(const char *path, int flags)
{
	if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		die("cannot open %s", path);
	if (sqlite3_busy_timeout(db, 5000) != SQLITE_OK ||
	    sqlite3_exec(db, PRAGMAS, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function(db, "notifd_total", 2, SQLITE_UTF8, NULL, fn_total, NULL,
				    NULL) != SQLITE_OK)
		die("cannot set up %s", path);
}

static sqlite3_stmt *prepare(const char *sql)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
		die("cannot prepare %s", sql);
	return st;
}

static int64_t scalar(const char *sql)
{
	sqlite3_stmt *st = prepare(sql);
	if (sqlite3_step(st) != SQLITE_ROW)
		die("no row from %s", sql);
	int64_t v = sqlite3_column_int64(st, 0);
	if (sqlite3_finalize(st) != SQLITE_OK)
		die("%s failed", sql);
	return v;
}

/* Every value of the row @st into the sink, each read as what it is. */
static void consume(sqlite3_stmt *st)
{
	uint64_t h = 0;
	for (int i = 0, n = sqlite3_column_count(st); i < n; i++) {
		const unsigned char *v = NULL;
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER:
			h += (uint64_t)sqlite3_column_int64(st, i);
			continue;
		case SQLITE_BLOB:
			v = sqlite3_column_blob(st, i);
			break;
		case SQLITE_TEXT:
			v = sqlite3_column_text(st, i);
			break;
		default:
			continue;
		}
		int bytes = sqlite3_column_bytes(st, i);
		if (v && bytes)
			h += v[0] + v[bytes - 1] + (uint64_t)bytes;
	}
	sink += h;
}

/* The statements of one request shape, as notifd runs them (the text
 * src/store/listsql.c and src/store/sqlite/notifications.c give for it),
 * numbered as there: ?1 tenant, ?2 delivery GUID, ?4/?5 routing window,
 * ?8 campaign, ?9 member ext_id, ?11/?12 limit and offset. */
struct shape {
	const char *name;
	const char *total; /* the page's total, or NULL */
	const char *page;
	bool by_target;    /* a random target's ext_id in ?9 (feed: ?2) */
	bool by_guid;      /* a random live delivery's GUID in ?2 */
	bool feed;         /* the feed's numbering: ?2 ext_id, ?3..?6 window, ?7 limit */
	long limit, offset;
};

/* A page whose conditions and order read no notification column does not
 * join them (PAGE_OWN). */
#define PAGE_OWN                                                                    \
	"SELECT " LIST_OWN_COLS " FROM deliveries d WHERE d.tenant_id = ?1 AND d.deleted_at IS NULL"
#define PAGE_FROM                                                                   \
	"SELECT " LIST_OWN_COLS " FROM deliveries d JOIN notifications n"               \
	" ON n.tenant_id = d.tenant_id AND n.nkey = d.nkey"                             \
	" WHERE d.tenant_id = ?1 AND d.deleted_at IS NULL"
#define NEWEST " ORDER BY n.date_started DESC, n.nkey DESC, d.tid DESC LIMIT ?11 OFFSET ?12"
#define TENANT_TOTAL "SELECT deliveries FROM tenants WHERE id = ?1"

static const struct shape shapes[] = {
	{"feed", NULL,
	 "SELECT d.routed_at, d.guid, d.impression, d.activation, d.redirection, d.dismiss,"
	 " d.read_at, d.completed_at, d.nkey FROM deliveries d"
	 " WHERE d.tenant_id = ?1 AND d.deleted_at IS NULL"
	 " AND d.tid = (SELECT tid FROM targets WHERE tenant_id = ?1 AND ext_id = ?2)"
	 " AND d.routed_at >= ?3 AND d.routed_at < ?4"
	 " AND (d.routed_at < ?5 OR (d.routed_at = ?5 AND d.nkey < ?6))"
	 " ORDER BY d.routed_at DESC, d.nkey DESC LIMIT ?7",
	 .by_target = true, .feed = true},
	/* The member's counter is its total, noted by the lookup that finds
	 * the member (notifd_total(), as notifd's SQLite store has it). */
	{"member", NULL,
	 PAGE_OWN " AND d.tid = (SELECT notifd_total(deliveries, tid) FROM targets"
		   " INDEXED BY targets_counted WHERE tenant_id = ?1 AND ext_id = ?9)"
		   " ORDER BY d.routed_at DESC, d.nkey DESC, d.tid DESC LIMIT ?11 OFFSET ?12",
	 .by_target = true, .limit = 20},
	{"page3", TENANT_TOTAL, PAGE_FROM NEWEST, .limit = 20, .offset = 40},
	{"title", TENANT_TOTAL,
	 PAGE_FROM " ORDER BY n.libelle DESC, n.nkey DESC, d.tid DESC LIMIT ?11 OFFSET ?12",
	 .limit = 20},
	{"campaign",
	 "SELECT coalesce(sum(n.deliveries), 0) FROM notifications n"
	 " WHERE n.tenant_id = ?1 AND n.campaign_id = ?8",
	 PAGE_FROM " AND n.campaign_id = ?8" NEWEST, .limit = 20},
	{"day",
	 "SELECT coalesce(sum(n.deliveries), 0) FROM notifications n"
	 " WHERE n.tenant_id = ?1 AND n.date_started >= ?4 AND n.date_started < ?5",
	 PAGE_FROM " AND n.date_started >= ?4 AND n.date_started < ?5" NEWEST, .limit = 20},
	{"get", NULL, PAGE_OWN " AND d.guid = ?2 LIMIT ?11 OFFSET ?12", .by_guid = true,
	 .limit = 20},
};

/* A request's API key, as notifd's SQLite store takes it (docs/design.md,
 * "Keys"): the principal from the connection's memory, confirmed at the
 * read's end by the database's data version in the read's own snapshot;
 * the key's row is read (the statement of src/store/sqlite/tenants.c,
 * given the hash of the tenant's admin key) only when a commit came since
 * it was last read. */
#define KEY_AUTH                                                                      \
	"SELECT k.tenant_id, k.role, k.target, k.id, t.time_zone"                     \
	" FROM api_keys k JOIN tenants t ON t.id = k.tenant_id"                       \
	" WHERE k.hash = ?1 AND k.revoked_at IS NULL"

static const struct shape *shape;
static sqlite3_stmt *key_st, *total_st, *page_st;
static unsigned char key_hash[32];
static const char *campaign;      /* ?8 */
static int64_t window_from, window_to; /* ?4, ?5 */
static unsigned char (*guids)[16]; /* live deliveries, for by_guid */
static size_t nguids;

/* Binds what @st of the shape uses, @r choosing the random target or GUID. */
static void bind(sqlite3_stmt *st, uint64_t r, int64_t ntargets)
{
	char ext[24];
	int len = snprintf(ext, sizeof ext, "t%" PRIu64, r % (uint64_t)ntargets);
	int n = sqlite3_bind_parameter_count(st), rc = sqlite3_bind_int64(st, 1, 1);
	if (shape->feed && n >= 7) {
		rc |= sqlite3_bind_text(st, 2, ext, len, SQLITE_TRANSIENT);
		rc |= sqlite3_bind_int64(st, 3, window_from) | sqlite3_bind_int64(st, 4, window_to);
		rc |= sqlite3_bind_int64(st, 5, INT64_MAX) | sqlite3_bind_int64(st, 6, INT64_MAX);
		rc |= sqlite3_bind_int64(st, 7, shape->limit);
	} else {
		if (shape->by_guid && n >= 2)
			rc |= sqlite3_bind_blob(st, 2, guids[r % nguids], 16, SQLITE_STATIC);
		if (n >= 5) {
			rc |= sqlite3_bind_int64(st, 4, window_from);
			rc |= sqlite3_bind_int64(st, 5, window_to);
		}
		if (n >= 8)
			rc |= sqlite3_bind_text(st, 8, campaign, -1, SQLITE_STATIC);
		if (n >= 9)
			rc |= sqlite3_bind_text(st, 9, ext, len, SQLITE_TRANSIENT);
		if (n >= 12) {
			rc |= sqlite3_bind_int64(st, 11, shape->limit);
			rc |= sqlite3_bind_int64(st, 12, shape->offset);
		}
	}
	if (rc != SQLITE_OK)
		die("cannot bind");
}

/* Steps @st to its end, every value into the sink: the number of rows. */
static uint64_t run(sqlite3_stmt *st)
{
	uint64_t n = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		consume(st);
		n++;
	}
	if (rc != SQLITE_DONE || sqlite3_reset(st) != SQLITE_OK)
		die("read failed");
	return n;
}

/* Runs the shape's statements for @seconds, each time for another random
 * target or GUID, and prints the latencies of the whole. */
static int drive(long seconds)
{
	int64_t ntargets = scalar("SELECT count(*) FROM targets WHERE tenant_id = 1");
	if (ntargets <= 0)
		die("tenant 1 has no targets");
	struct latencies lat = {0};
	uint64_t seed = 7, rows = 0;
	bool key_read = false;
	unsigned key_version = 0;
	sqlite3_stmt *begin = prepare("BEGIN"), *commit = prepare("COMMIT");
	double start = now(CLOCK_MONOTONIC), t = start, end = start + seconds;
	while (t < end) {
		uint64_t r = rnd(&seed);
		double t0 = t;
		run(begin);
		if (total_st) {
			bind(total_st, r, ntargets);
			run(total_st);
		}
		bind(page_st, r, ntargets);
		rows += run(page_st);
		unsigned version = 0;
		if (sqlite3_file_control(db, "main", SQLITE_FCNTL_DATA_VERSION, &version) != SQLITE_OK)
			die("cannot read the data version");
		if (!key_read || version != key_version) {
			if (run(key_st) != 1)
				die("the admin key is not found");
			key_read = true;
			key_version = version;
		}
		run(commit);
		t = now(CLOCK_MONOTONIC);
		lat_add(&lat, (t - t0) * 1e6);
	}
	if (sqlite3_finalize(begin) != SQLITE_OK || sqlite3_finalize(commit) != SQLITE_OK)
		die("finalize failed");
	lat_report(&lat, t - start, rows);
	return 0;
}

/* A sample of the tenant's live deliveries' GUIDs. */
static void load_guids(void)
{
	sqlite3_stmt *st = prepare("SELECT guid FROM deliveries WHERE tenant_id = 1"
				   " AND deleted_at IS NULL ORDER BY random() LIMIT 1000");
	guids = calloc(1000, sizeof *guids);
	if (!guids)
		die("out of memory");
	while (sqlite3_step(st) == SQLITE_ROW && nguids < 1000)
		if (sqlite3_column_bytes(st, 0) == 16)
			memcpy(guids[nguids++], sqlite3_column_blob(st, 0), 16);
	if (sqlite3_finalize(st) != SQLITE_OK || !nguids)
		die("no live delivery to read");
}

/* One request shape (see usage) on the database at @path. */
static int read_mode(const char *path, long seconds, const char *name, char **values,
		     int nvalues)
{
	static struct shape chosen;
	for (size_t i = 0; i < sizeof shapes / sizeof *shapes && !shape; i++)
		if (!strcmp(shapes[i].name, name))
			chosen = shapes[i], shape = &chosen;
	bool feed = shape && shape->feed;
	bool fits = !shape ? false
		    : feed ? nvalues == 1 || nvalues == 3
		    : !strcmp(name, "campaign") ? nvalues == 1
		    : !strcmp(name, "day") ? nvalues == 2 : nvalues == 0;
	if (!fits)
		die("shape %s: unknown, or the wrong number of values (see usage)", name);
	window_from = INT64_MIN, window_to = INT64_MAX; /* a feed without a window */
	if (feed)
		chosen.limit = arg_num(values[0], "LIMIT");
	if ((feed && nvalues == 3) || !strcmp(name, "day")) {
		window_from = arg_num(values[nvalues - 2], "FROM_MS");
		window_to = arg_num(values[nvalues - 1], "TO_MS");
	}
	if (!strcmp(name, "campaign"))
		campaign = values[0];
	open_db(path, SQLITE_OPEN_READONLY);
	if (shape->by_guid)
		load_guids();
	sqlite3_stmt *hash = prepare("SELECT hash FROM api_keys WHERE tenant_id = 1"
				     " AND role = 'admin' AND revoked_at IS NULL LIMIT 1");
	if (sqlite3_step(hash) != SQLITE_ROW || sqlite3_column_bytes(hash, 0) != sizeof key_hash)
		die("tenant 1 has no admin key");
	memcpy(key_hash, sqlite3_column_blob(hash, 0), sizeof key_hash);
	if (sqlite3_finalize(hash) != SQLITE_OK)
		die("finalize failed");
	key_st = prepare(KEY_AUTH);
	if (sqlite3_bind_blob(key_st, 1, key_hash, sizeof key_hash, SQLITE_STATIC))
		die("cannot bind the key");
	total_st = shape->total ? prepare(shape->total) : NULL;
	page_st = prepare(shape->page);
	int rc = drive(seconds);
	if (sqlite3_finalize(key_st) != SQLITE_OK || sqlite3_finalize(total_st) != SQLITE_OK ||
	    sqlite3_finalize(page_st) != SQLITE_OK)
		die("finalize failed");
	free(guids);
	return rc;
}

static void exec(const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		die("%s failed", sql);
}

static int insert_mode(const char *path, long nrows, long batch, bool indexes)
{
	open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	/* A file of ours holds the deliveries table alone: refuse anything else
	 * (a notifd database given by mistake). */
	if (scalar("SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
		   " AND name <> 'deliveries'"))
		die("%s holds more than a deliveries table: not a file of ours", path);
	if (!scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'deliveries'")) {
		exec(deliveries_ddl);
		if (indexes)
			exec(indexes_ddl);
	}
	/* A reused file: new notifications, so no key collides. */
	int64_t nkey = scalar("SELECT coalesce(max(nkey), 0) + 1 FROM deliveries"
			      " WHERE tenant_id = 1");
	/* notifd's statement, with the GUID made here rather than by its SQL
	 * function notifd_guid(). */
	sqlite3_stmt *ins =
	    prepare("INSERT INTO deliveries (tenant_id, tid, routed_at, nkey, guid, updated_at)"
		    " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING");
	uint64_t seed = 11;
	double start = now(CLOCK_MONOTONIC);
	for (long done = 0; done < nrows; nkey++) {
		int64_t at = (int64_t)(now(CLOCK_REALTIME) * 1000);
		exec("BEGIN IMMEDIATE");
		for (long i = 0; i < batch && done < nrows; i++, done++) {
			/* A version-7 GUID, as nd_guid_v7() makes them. */
			unsigned char g[16];
			uint64_t r1 = rnd(&seed), r2 = rnd(&seed);
			for (int k = 0; k < 6; k++)
				g[k] = (unsigned char)((uint64_t)at >> (40 - 8 * k));
			memcpy(g + 6, &r1, 2);
			memcpy(g + 8, &r2, 8);
			g[6] = (unsigned char)(0x70 | (g[6] & 0x0F));
			g[8] = (unsigned char)(0x80 | (g[8] & 0x3F));
			if (sqlite3_bind_int64(ins, 1, 1) || sqlite3_bind_int64(ins, 2, i + 1) ||
			    sqlite3_bind_int64(ins, 3, at) || sqlite3_bind_int64(ins, 4, nkey) ||
			    sqlite3_bind_blob(ins, 5, g, sizeof g, SQLITE_STATIC) ||
			    sqlite3_bind_int64(ins, 6, at))
				die("cannot bind a delivery");
			if (sqlite3_step(ins) != SQLITE_DONE || sqlite3_reset(ins) != SQLITE_OK)
				die("insert failed");
		}
		exec("COMMIT");
	}
	double elapsed = now(CLOCK_MONOTONIC) - start;
	printf("{\"rows_per_s\": %.0f, \"seconds\": %.3f}\n", nrows / elapsed, elapsed);
	if (sqlite3_finalize(ins) != SQLITE_OK)
		die("finalize failed");
	return 0;
}

int main(int argc, char **argv)
{
	int rc;
	if (argc >= 5 && !strcmp(argv[1], "read"))
		rc = read_mode(argv[2], arg_num(argv[3], "SECONDS"), argv[4], argv + 5, argc - 5);
	else if ((argc == 5 || (argc == 6 && !strcmp(argv[5], "clustered"))) &&
		 !strcmp(argv[1], "insert"))
		rc = insert_mode(argv[2], arg_num(argv[3], "ROWS"), arg_num(argv[4], "BATCH"),
				 argc == 5);
	else {
		fputs("usage: ceiling_sqlite read DB_FILE SECONDS SHAPE [VALUE...]\n"
		      "       ceiling_sqlite insert DB_FILE ROWS BATCH [clustered]\n"
		      "SHAPE: feed LIMIT [FROM_MS TO_MS] | member | page3 | title | campaign ID"
		      " | day FROM_MS TO_MS | get\n",
		      stderr);
		return 2;
	}
	if (sqlite3_close(db) != SQLITE_OK)
		die("cannot close the database");
	db = NULL;
	return rc;
}
