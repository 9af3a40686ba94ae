/* ceiling.h - what the raw store ceilings (ceiling_sqlite.c, ceiling_pg.c)
 * share: the listing's columns, clocks, a deterministic random source,
 * arguments, percentiles.
 * Included once by each program, after it defines its die(). */
#ifndef ND_BENCH_CEILING_H
#define ND_BENCH_CEILING_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* The columns the API3 listing reads without with=member (none of the
 * benchmark's listings asks for members, so none joins the targets): the
 * delivery's and its notification's (PostgreSQL, src/store/postgres/list.c).
 * SQLite (src/store/sqlite/list.c) leaves the notification's to the
 * connection's cache of notification rows: LIST_OWN_COLS. */
#define LIST_COLS                                                                  \
	"d.routed_at, d.guid, d.read_at, n.nkey, n.guid, n.libelle, n.body, n.url,"    \
	" n.type, n.action_type, n.campaign_id, n.profile, n.screen_names, n.batch,"  \
	" n.date_started, n.date_due, n.created_at"
#define LIST_OWN_COLS "d.routed_at, d.guid, d.read_at, d.nkey"

/* Seconds on @id: CLOCK_MONOTONIC to time, CLOCK_REALTIME to date rows. */
static double now(clockid_t id)
{
	struct timespec ts;
	if (clock_gettime(id, &ts))
		die("clock_gettime failed");
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* splitmix64: deterministic and cheaper than any call into libc. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static long arg_num(const char *s, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v <= 0)
		die("%s must be a positive integer, not '%s'", what, s);
	return v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Per-query latencies in microseconds. */
struct latencies {
	double *us;
	size_t n, cap;
};

static void lat_add(struct latencies *l, double us)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1 << 16;
		l->us = realloc(l->us, l->cap * sizeof *l->us);
		if (!l->us)
			die("out of memory");
	}
	l->us[l->n++] = us;
}

/* The read modes' JSON line; frees @l. */
static void lat_report(struct latencies *l, double elapsed, uint64_t rows)
{
	if (!l->n)
		die("no query finished");
	qsort(l->us, l->n, sizeof *l->us, cmp_double);
	printf("{\"queries_per_s\": %.0f, \"rows_per_s\": %.0f, \"p50_us\": %.1f,"
	       " \"p99_us\": %.1f}\n",
	       l->n / elapsed, rows / elapsed, l->us[(l->n - 1) / 2],
	       l->us[(l->n * 99 - 1) / 100]);
	free(l->us);
}

#endif
