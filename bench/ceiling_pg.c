/* ceiling_pg.c - the raw PostgreSQL (libpq) ceiling notifd's hot paths are
 * measured against.
 *
 * The store work of two hot paths done directly on libpq over one
 * connection, with nothing else (no HTTP, no JSON, no notifd code), so that a
 * benchmark can say how close notifd comes to what the database allows:
 *
 *   read CONNINFO SECONDS LIMIT   the NP6 feed: a random target's tid from
 *                                 its ext_id, then its newest LIMIT
 *                                 deliveries' own columns, as notifd reads
 *                                 a feed's first batch (it takes their
 *                                 notifications from its cache); prepared
 *                                 once, text results
 *   list CONNINFO SECONDS LIMIT   the API3 member LIST: a random target's
 *                                 tid, its live-delivery counter, then its
 *                                 newest LIMIT deliveries with every column
 *                                 of the delivery, its notification and the
 *                                 target
 *   insert CONNINFO ROWS BATCH    fan-out: ROWS deliveries, BATCH per
 *                                 transaction, into a fresh copy of notifd's
 *                                 deliveries table (schema notifd_ceiling,
 *                                 dropped at the end)
 *
 * Prints one line of JSON.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

/* notifd's deliveries table and its six secondary indexes, as
 * src/store/postgres/migrations/ leave them, in a schema of their own
 * so that nothing of notifd's is touched. */
static const char deliveries_ddl[] =
	"SET client_min_messages = warning;"
	"DROP SCHEMA IF EXISTS notifd_ceiling CASCADE;"
	"CREATE SCHEMA notifd_ceiling;"
	"SET search_path = notifd_ceiling;"
	"CREATE TABLE deliveries ("
	"  tenant_id bigint NOT NULL,"
	"  tid bigint NOT NULL,"
	"  routed_at bigint NOT NULL,"
	"  nkey integer NOT NULL,"
	"  guid uuid NOT NULL,"
	"  impression bigint,"
	"  activation bigint,"
	"  redirection bigint,"
	"  dismiss bigint,"
	"  read_at bigint,"
	"  completed_at bigint,"
	"  deleted_at bigint,"
	"  updated_at bigint NOT NULL,"
	"  PRIMARY KEY (tenant_id, tid, routed_at, nkey)"
	");"
	"CREATE INDEX deliveries_notification ON deliveries (tenant_id, nkey, tid);"
	"CREATE INDEX deliveries_routed ON deliveries (tenant_id, routed_at, nkey, tid)"
	"  WHERE deleted_at IS NULL;"
	"CREATE INDEX deliveries_completed ON deliveries"
	"  (tenant_id, completed_at NULLS FIRST, routed_at, nkey, tid) WHERE deleted_at IS NULL;"
	"CREATE INDEX deliveries_modified ON deliveries"
	"  (tenant_id, updated_at, tid, routed_at, nkey) WHERE deleted_at IS NULL;"
	"CREATE INDEX deliveries_read ON deliveries"
	"  (tenant_id, (read_at IS NOT NULL), routed_at, tid, nkey) WHERE deleted_at IS NULL;"
	"CREATE INDEX deliveries_tenant_guid ON deliveries (tenant_id, guid)"
	"  WHERE deleted_at IS NULL;";

static PGconn *pg;
static volatile uint64_t sink; /* every value read goes here */

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ceiling_pg: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (pg && *PQerrorMessage(pg))
		fprintf(stderr, ": %s", PQerrorMessage(pg));
	else
		fputc('\n', stderr);
	exit(1);
}

#include "ceiling.h"

static void connect_to(const char *conninfo)
{
	pg = PQconnectdb(conninfo);
	if (!pg)
		die("out of memory");
	if (PQstatus(pg) != CONNECTION_OK)
		die("cannot connect");
}

/* Checks a result's status and clears it unless @keep. */
static PGresult *check(PGresult *r, ExecStatusType want, const char *what, int keep)
{
	if (PQresultStatus(r) != want) {
		PQclear(r);
		die("%s failed", what);
	}
	if (keep)
		return r;
	PQclear(r);
	return NULL;
}

static void exec(const char *sql)
{
	check(PQexec(pg, sql), PGRES_COMMAND_OK, sql, 0);
}

/* Every value of @r into the sink. */
static void consume(PGresult *r)
{
	int nt = PQntuples(r), nf = PQnfields(r);
	for (int row = 0; row < nt; row++) {
		uint64_t h = 0;
		for (int i = 0; i < nf; i++) {
			int bytes = PQgetlength(r, row, i);
			const char *v = PQgetvalue(r, row, i);
			if (bytes)
				h += (unsigned char)v[0] + (unsigned char)v[bytes - 1] + (uint64_t)bytes;
		}
		sink += h;
	}
}

/* Runs @work on random targets of tenant 1 for @seconds, each given its
 * tid as text after a lookup by ext_id (what notifd does first), and prints
 * the latencies of the whole; @work returns the rows it read. Connected
 * first. */
static int drive(long seconds, uint64_t (*work)(const char *tid))
{
	PGresult *r = check(PQexec(pg, "SELECT count(*) FROM targets WHERE tenant_id = 1"),
			    PGRES_TUPLES_OK, "counting targets", 1);
	int64_t ntargets = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	if (ntargets <= 0)
		die("tenant 1 has no targets");
	check(PQprepare(pg, "find", "SELECT tid FROM targets WHERE tenant_id = $1 AND ext_id = $2",
			0, NULL),
	      PGRES_COMMAND_OK, "preparing find", 0);
	struct latencies lat = {0};
	uint64_t seed = 7, rows = 0;
	double start = now(CLOCK_MONOTONIC), t = start, end = start + seconds;
	while (t < end) {
		char ext[24];
		snprintf(ext, sizeof ext, "t%" PRIu64, rnd(&seed) % (uint64_t)ntargets);
		double t0 = t;
		const char *fp[2] = {"1", ext};
		r = check(PQexecPrepared(pg, "find", 2, fp, NULL, NULL, 0), PGRES_TUPLES_OK,
			  "target lookup", 1);
		if (PQntuples(r) != 1)
			die("target %s not found", ext);
		char tid[24];
		snprintf(tid, sizeof tid, "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
		rows += work(tid);
		t = now(CLOCK_MONOTONIC);
		lat_add(&lat, (t - t0) * 1e6);
	}
	lat_report(&lat, t - start, rows);
	return 0;
}

static char limit_s[24];

/* Runs prepared statement @name on (tenant 1, @tid, LIMIT) and consumes its
 * rows: their number. */
static uint64_t run(const char *name, const char *tid, int nparams)
{
	const char *p[3] = {"1", tid, limit_s};
	PGresult *r = check(PQexecPrepared(pg, name, nparams, p, NULL, NULL, 0), PGRES_TUPLES_OK,
			    name, 1);
	consume(r);
	uint64_t n = (uint64_t)PQntuples(r);
	PQclear(r);
	return n;
}

static uint64_t list_work(const char *tid)
{
	run("total", tid, 2);
	return run("page", tid, 3);
}

static uint64_t read_work(const char *tid)
{
	return run("feed", tid, 3);
}

static void prepare(const char *name, const char *sql)
{
	check(PQprepare(pg, name, sql, 0, NULL), PGRES_COMMAND_OK, name, 0);
}

/* The member LIST: the target, its counter (the total), its page. */
static int list_mode(const char *conninfo, long seconds, long limit)
{
	snprintf(limit_s, sizeof limit_s, "%ld", limit);
	connect_to(conninfo);
	prepare("total", "SELECT deliveries FROM targets WHERE tenant_id = $1 AND tid = $2");
	prepare("page", "SELECT " LIST_COLS " FROM deliveries d JOIN notifications n"
			" ON n.tenant_id = d.tenant_id AND n.nkey = d.nkey"
			" WHERE d.tenant_id = $1 AND d.deleted_at IS NULL AND d.tid = $2"
			" ORDER BY d.routed_at DESC, d.nkey DESC LIMIT $3 OFFSET 0");
	return drive(seconds, list_work);
}

/* The NP6 feed: the target's newest deliveries, the columns notifd reads
 * (src/store/postgres/notifications.c, FEED_OWN). */
static int read_mode(const char *conninfo, long seconds, long limit)
{
	snprintf(limit_s, sizeof limit_s, "%ld", limit);
	connect_to(conninfo);
	prepare("feed", "SELECT d.routed_at, d.guid, d.impression, d.activation, d.redirection,"
			" d.dismiss, d.read_at, d.completed_at, d.nkey FROM deliveries d"
			" WHERE d.tenant_id = $1 AND d.tid = $2 AND d.deleted_at IS NULL"
			" ORDER BY d.routed_at DESC, d.nkey DESC LIMIT $3");
	return drive(seconds, read_work);
}

/* A version-7 GUID in text, as nd_guid_v7() makes them. */
static int guid_text(char *out, int64_t ms, uint64_t *seed)
{
	uint64_t r1 = rnd(seed), r2 = rnd(seed);
	return sprintf(out, "%08" PRIx64 "-%04" PRIx64 "-7%03" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
		       (uint64_t)ms >> 16 & 0xFFFFFFFF, (uint64_t)ms & 0xFFFF, r1 & 0xFFF,
		       0x8000 | (r2 >> 48 & 0x3FFF), r2 & UINT64_C(0xFFFFFFFFFFFF));
}

/* One COPY (text) per batch: of the two plain ways, the faster one measured
 * here, 61,000-80,000 rows/s against 53,000-68,000 for one INSERT ... SELECT
 * FROM unnest($2::bigint[], $6::uuid[]) per batch (1,000 rows a batch). */
static int insert_mode(const char *conninfo, long nrows, long batch)
{
	connect_to(conninfo);
	exec(deliveries_ddl);
	/* A batch as COPY text: one line of 6 columns per row. */
	char *buf = malloc((size_t)batch * 128);
	if (!buf)
		die("out of memory");
	uint64_t seed = 11;
	int nkey = 1;
	double start = now(CLOCK_MONOTONIC);
	for (long done = 0; done < nrows; nkey++) {
		int64_t at = (int64_t)(now(CLOCK_REALTIME) * 1000);
		size_t len = 0;
		for (long i = 0; i < batch && done < nrows; i++, done++) {
			len += (size_t)sprintf(buf + len, "1\t%ld\t%" PRId64 "\t%d\t", i + 1, at,
					       nkey);
			len += (size_t)guid_text(buf + len, at, &seed);
			len += (size_t)sprintf(buf + len, "\t%" PRId64 "\n", at);
		}
		/* COPY outside BEGIN is a transaction of its own. */
		check(PQexec(pg,
			     "COPY deliveries (tenant_id, tid, routed_at, nkey, guid, updated_at)"
			     " FROM STDIN"),
		      PGRES_COPY_IN, "starting COPY", 0);
		if (PQputCopyData(pg, buf, (int)len) != 1 || PQputCopyEnd(pg, NULL) != 1)
			die("sending a batch failed");
		check(PQgetResult(pg), PGRES_COMMAND_OK, "COPY", 0);
		if (PQgetResult(pg))
			die("COPY left a result behind");
	}
	double elapsed = now(CLOCK_MONOTONIC) - start;
	printf("{\"rows_per_s\": %.0f, \"seconds\": %.3f}\n", nrows / elapsed, elapsed);
	free(buf);
	exec("DROP SCHEMA notifd_ceiling CASCADE");
	return 0;
}

int main(int argc, char **argv)
{
	int rc;
	if (argc == 5 && !strcmp(argv[1], "read"))
		rc = read_mode(argv[2], arg_num(argv[3], "SECONDS"), arg_num(argv[4], "LIMIT"));
	else if (argc == 5 && !strcmp(argv[1], "list"))
		rc = list_mode(argv[2], arg_num(argv[3], "SECONDS"), arg_num(argv[4], "LIMIT"));
	else if (argc == 5 && !strcmp(argv[1], "insert"))
		rc = insert_mode(argv[2], arg_num(argv[3], "ROWS"), arg_num(argv[4], "BATCH"));
	else {
		fputs("usage: ceiling_pg read CONNINFO SECONDS LIMIT\n"
		      "       ceiling_pg list CONNINFO SECONDS LIMIT\n"
		      "       ceiling_pg insert CONNINFO ROWS BATCH\n",
		      stderr);
		return 2;
	}
	PQfinish(pg);
	return rc;
}
