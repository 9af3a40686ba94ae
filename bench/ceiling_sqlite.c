/* ceiling_sqlite.c - the raw SQLite ceiling notifd's hot paths are measured
 * against.
 *
 * The store work of three hot paths done directly on SQLite, with nothing else
 * (no HTTP, no JSON, no notifd code), so that a benchmark can say how close
 * notifd comes to what the database allows:
 *
 *   read DB_FILE SECONDS LIMIT   the NP6 feed: a random target's tid from its
 *                                ext_id, then its newest LIMIT deliveries
 *                                (their own columns: notifd takes each row's
 *                                notification from its cache)
 *   list DB_FILE SECONDS LIMIT   the API3 member LIST: a random target's tid,
 *                                its live-delivery counter, then its newest
 *                                LIMIT deliveries with every column of the
 *                                delivery, its notification and the target
 *   insert DB_FILE ROWS BATCH [clustered]
 *                                fan-out: ROWS deliveries into notifd's
 *                                deliveries table, BATCH per transaction;
 *                                "clustered" leaves out the secondary indexes
 *                                (the primary key alone orders the table)
 *
 * Connections get the pragmas notifd's get (src/store/sqlite/sq.c), with
 * synchronous=FULL as the benchmark runs notifd. Prints one line of JSON.
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
	"PRAGMA cache_size=-16384;"

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
	"CREATE INDEX deliveries_notification ON deliveries (tenant_id, nkey, tid);"
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

static void open_db(const char *path, int flags)
{
	if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		die("cannot open %s", path);
	if (sqlite3_busy_timeout(db, 5000) != SQLITE_OK ||
	    sqlite3_exec(db, PRAGMAS, NULL, NULL, NULL) != SQLITE_OK)
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

/* Every value of the row @st into the sink. */
static void consume(sqlite3_stmt *st)
{
	uint64_t h = 0;
	for (int i = 0, n = sqlite3_column_count(st); i < n; i++) {
		if (sqlite3_column_type(st, i) == SQLITE_INTEGER) {
			h += (uint64_t)sqlite3_column_int64(st, i);
		} else {
			const unsigned char *v = sqlite3_column_text(st, i);
			int bytes = sqlite3_column_bytes(st, i);
			if (v && bytes)
				h += v[0] + v[bytes - 1] + (uint64_t)bytes;
		}
	}
	sink += h;
}

/* Runs @work on random targets of tenant 1 of the open database for
 * @seconds, each given its tid after a lookup by ext_id (what notifd does
 * first), and prints the latencies of the whole; @work returns the rows it
 * read. */
static int drive(long seconds, uint64_t (*work)(int64_t tid))
{
	int64_t ntargets = scalar("SELECT count(*) FROM targets WHERE tenant_id = 1");
	if (ntargets <= 0)
		die("tenant 1 has no targets");
	sqlite3_stmt *find =
	    prepare("SELECT tid FROM targets WHERE tenant_id = ?1 AND ext_id = ?2");
	struct latencies lat = {0};
	uint64_t seed = 7, rows = 0;
	double start = now(CLOCK_MONOTONIC), t = start, end = start + seconds;
	while (t < end) {
		char ext[24];
		int len = snprintf(ext, sizeof ext, "t%" PRIu64, rnd(&seed) % (uint64_t)ntargets);
		double t0 = t;
		if (sqlite3_bind_int64(find, 1, 1) ||
		    sqlite3_bind_text(find, 2, ext, len, SQLITE_STATIC))
			die("cannot bind the target");
		if (sqlite3_step(find) != SQLITE_ROW)
			die("target %s not found", ext);
		int64_t tid = sqlite3_column_int64(find, 0);
		if (sqlite3_reset(find) != SQLITE_OK)
			die("target lookup failed");
		rows += work(tid);
		t = now(CLOCK_MONOTONIC);
		lat_add(&lat, (t - t0) * 1e6);
	}
	lat_report(&lat, t - start, rows);
	if (sqlite3_finalize(find) != SQLITE_OK)
		die("finalize failed");
	return 0;
}

static sqlite3_stmt *total_st, *rows_st;
static long row_limit;
static bool ints_only; /* every column an integer: read them as such */

/* Runs @st on (tenant 1, @tid, LIMIT) and consumes its rows: their number. */
static uint64_t run(sqlite3_stmt *st, int64_t tid)
{
	if (sqlite3_bind_int64(st, 1, 1) || sqlite3_bind_int64(st, 2, tid) ||
	    (sqlite3_bind_parameter_count(st) >= 3 && sqlite3_bind_int64(st, 3, row_limit)))
		die("cannot bind");
	uint64_t n = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (ints_only) {
			uint64_t h = 0;
			for (int i = 0, nc = sqlite3_column_count(st); i < nc; i++)
				h += (uint64_t)sqlite3_column_int64(st, i);
			sink += h;
		} else {
			consume(st);
		}
		n++;
	}
	if (rc != SQLITE_DONE || sqlite3_reset(st) != SQLITE_OK)
		die("read failed");
	return n;
}

static uint64_t list_work(int64_t tid)
{
	run(total_st, tid);
	return run(rows_st, tid);
}

static uint64_t read_work(int64_t tid)
{
	return run(rows_st, tid);
}

static int finish(int rc)
{
	if (sqlite3_finalize(total_st) != SQLITE_OK || sqlite3_finalize(rows_st) != SQLITE_OK)
		die("finalize failed");
	return rc;
}

/* The member LIST: the target, its counter (the total), its page. */
static int list_mode(const char *path, long seconds, long limit)
{
	open_db(path, SQLITE_OPEN_READONLY);
	row_limit = limit;
	total_st = prepare("SELECT deliveries FROM targets WHERE tenant_id = ?1 AND tid = ?2");
	rows_st = prepare(
	    "SELECT " LIST_COLS " FROM deliveries d JOIN notifications n ON n.tenant_id = d.tenant_id"
	    " AND n.nkey = d.nkey JOIN targets t ON t.tid = d.tid"
	    " WHERE d.tenant_id = ?1 AND d.deleted_at IS NULL AND d.tid = ?2"
	    " ORDER BY d.routed_at DESC, d.nkey DESC LIMIT ?3 OFFSET 0");
	return finish(drive(seconds, list_work));
}

/* The NP6 feed: the target's newest deliveries, their own columns. */
static int read_mode(const char *path, long seconds, long limit)
{
	open_db(path, SQLITE_OPEN_READONLY);
	row_limit = limit;
	ints_only = true;
	rows_st = prepare("SELECT d.routed_at, d.nkey, d.impression, d.activation, d.redirection,"
			  " d.dismiss FROM deliveries d"
			  " WHERE d.tenant_id = ?1 AND d.tid = ?2 AND d.deleted_at IS NULL"
			  " ORDER BY d.routed_at DESC, d.nkey DESC LIMIT ?3");
	return finish(drive(seconds, read_work));
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
	if (argc == 5 && !strcmp(argv[1], "read"))
		rc = read_mode(argv[2], arg_num(argv[3], "SECONDS"), arg_num(argv[4], "LIMIT"));
	else if (argc == 5 && !strcmp(argv[1], "list"))
		rc = list_mode(argv[2], arg_num(argv[3], "SECONDS"), arg_num(argv[4], "LIMIT"));
	else if ((argc == 5 || (argc == 6 && !strcmp(argv[5], "clustered"))) &&
		 !strcmp(argv[1], "insert"))
		rc = insert_mode(argv[2], arg_num(argv[3], "ROWS"), arg_num(argv[4], "BATCH"),
				 argc == 5);
	else {
		fputs("usage: ceiling_sqlite read DB_FILE SECONDS LIMIT\n"
		      "       ceiling_sqlite list DB_FILE SECONDS LIMIT\n"
		      "       ceiling_sqlite insert DB_FILE ROWS BATCH [clustered]\n",
		      stderr);
		return 2;
	}
	if (sqlite3_close(db) != SQLITE_OK)
		die("cannot close the database");
	db = NULL;
	return rc;
}
