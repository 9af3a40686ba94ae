/* zone.c - IANA time zones through ICU's C calendar API. */
#include "core/zone.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include "util/mem.h"
#include "util/time.h"

/* A local calendar day already worked out: [from, to) is its instants. */
struct zone_day {
	int64_t from, to;
	int y, m, d;
	char note[ND_ZONE_NOTE]; /* see nd_zone_civil() */
};

/* By UTC day number: a page of rows spans a few days, and lookups by id
 * (API3 GET) land on any recent day, so two months of days stay. */
#define ZONE_DAYS 64

struct nd_zone {
	UCalendar *cal;
	/* Asking ICU for a date costs more than writing a whole row, and the
	 * rows of one response mostly fall on a few days. */
	struct zone_day days[ZONE_DAYS];
};

struct nd_zone *nd_zone_open(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= ND_ZONE_MAX)
		return NULL;
	UChar id[ND_ZONE_MAX];
	u_uastrncpy(id, name, ND_ZONE_MAX);
	/* ICU quietly falls back to GMT for unknown ids: ask for the
	 * canonical id first so a typo is refused, not silently UTC. */
	UChar canon[ND_ZONE_MAX];
	UBool system = 0;
	UErrorCode st = U_ZERO_ERROR;
	ucal_getCanonicalTimeZoneID(id, -1, canon, ND_ZONE_MAX, &system, &st);
	if (U_FAILURE(st) || !system)
		return NULL;
	st = U_ZERO_ERROR;
	UCalendar *cal = ucal_open(id, -1, "en_US_POSIX", UCAL_GREGORIAN, &st);
	if (U_FAILURE(st))
		return NULL;
	/* Proleptic Gregorian throughout, like every other date in notifd. */
	ucal_setGregorianChange(cal, -8.64e15, &st);
	struct nd_zone *z = nd_xcalloc(1, sizeof *z); /* empty days match nothing */
	z->cal = cal;
	return z;
}

void nd_zone_free(struct nd_zone *z)
{
	if (!z)
		return;
	ucal_close(z->cal);
	free(z);
}

/* Opening a calendar costs more than a request's whole rendering, and a
 * calendar is not shareable between threads: each thread keeps the few it
 * uses, freed when the thread ends. */
#define THREAD_ZONES 4

struct thread_zones {
	char name[THREAD_ZONES][ND_ZONE_MAX];
	struct nd_zone *zone[THREAD_ZONES];
	unsigned next; /* the slot to replace when all are taken */
};

static pthread_key_t zones_key;
static pthread_once_t zones_once = PTHREAD_ONCE_INIT;

static void zones_free(void *arg)
{
	struct thread_zones *tz = arg;
	for (size_t i = 0; i < THREAD_ZONES; i++)
		nd_zone_free(tz->zone[i]);
	free(tz);
}

static void zones_init(void)
{
	pthread_key_create(&zones_key, zones_free);
}

struct nd_zone *nd_zone_get(const char *name)
{
	pthread_once(&zones_once, zones_init);
	struct thread_zones *tz = pthread_getspecific(zones_key);
	if (!tz) {
		tz = nd_xcalloc(1, sizeof *tz);
		pthread_setspecific(zones_key, tz);
	}
	for (size_t i = 0; i < THREAD_ZONES; i++)
		if (tz->zone[i] && strcmp(tz->name[i], name) == 0)
			return tz->zone[i];
	struct nd_zone *z = nd_zone_open(name);
	if (!z)
		return NULL;
	unsigned slot = tz->next++ % THREAD_ZONES;
	nd_zone_free(tz->zone[slot]);
	tz->zone[slot] = z;
	snprintf(tz->name[slot], ND_ZONE_MAX, "%s", name);
	return z;
}

bool nd_zone_valid(const char *name)
{
	struct nd_zone *z = nd_zone_open(name);
	nd_zone_free(z);
	return z != NULL;
}

static int64_t local_midnight(struct nd_zone *z, int y, int m, int d, UErrorCode *st)
{
	ucal_clear(z->cal);
	ucal_setDateTime(z->cal, y, m - 1, d, 0, 0, 0, st);
	return (int64_t)ucal_getMillis(z->cal, st);
}

enum nd_err nd_zone_day(struct nd_zone *z, int y, int m, int d, int64_t *from, int64_t *to)
{
	UErrorCode st = U_ZERO_ERROR;
	/* The calendar is lenient: day 32 of a month rolls into the next, which
	 * is exactly the "next midnight" wanted here. */
	*from = local_midnight(z, y, m, d, &st);
	*to = local_midnight(z, y, m, d + 1, &st);
	return U_FAILURE(st) ? ND_ERR_INTERNAL : ND_OK;
}

/* The slot of the local day starting at @from: by the UTC day of its start. */
static struct zone_day *day_slot(struct nd_zone *z, int64_t from)
{
	return &z->days[(uint64_t)nd_floor_div(from, 86400000) % ZONE_DAYS];
}

char *nd_zone_civil(struct nd_zone *z, int64_t ms, int *y, int *m, int *d)
{
	/* A local day lasts at most 25 hours, so the one holding @ms started
	 * on the UTC day of @ms or on one of the two before. */
	struct zone_day *c = NULL;
	for (int64_t back = 0; back < 3 && !c; back++) {
		struct zone_day *k = day_slot(z, ms - back * 86400000);
		if (ms >= k->from && ms < k->to)
			c = k;
	}
	if (!c) {
		struct zone_day day;
		UErrorCode st = U_ZERO_ERROR;
		ucal_setMillis(z->cal, (UDate)ms, &st);
		day.y = ucal_get(z->cal, UCAL_EXTENDED_YEAR, &st);
		day.m = ucal_get(z->cal, UCAL_MONTH, &st) + 1;
		day.d = ucal_get(z->cal, UCAL_DATE, &st);
		bool ok = !U_FAILURE(st) && !nd_zone_day(z, day.y, day.m, day.d, &day.from, &day.to) &&
			  ms >= day.from && ms < day.to;
		if (!ok) {
			*y = day.y, *m = day.m, *d = day.d; /* answer, but keep nothing */
			return NULL;
		}
		day.note[0] = '\0';
		c = day_slot(z, day.from);
		*c = day;
	}
	*y = c->y;
	*m = c->m;
	*d = c->d;
	return c->note;
}
