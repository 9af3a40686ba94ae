/* zone.h - IANA time zones, through ICU's calendar (libicu).
 *
 * glibc only offers the process-wide TZ variable, which worker threads
 * cannot switch safely; an ICU calendar is a per-call object that knows the
 * full tz database, DST rules included. */
#ifndef ND_CORE_ZONE_H
#define ND_CORE_ZONE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

#define ND_ZONE_MAX 64 /* longest zone name, e.g. "America/Argentina/ComodRivadavia" */
#define ND_DEFAULT_ZONE "America/New_York"

struct nd_zone;

/* Opens @name ("Europe/Paris", "UTC"); NULL when ICU does not know it. */
struct nd_zone *nd_zone_open(const char *name);
void nd_zone_free(struct nd_zone *z);
/* The calling thread's calendar for @name, opened on first use and kept
 * for the thread's life (a few per thread at most): a request borrows it
 * and never frees it. NULL like nd_zone_open. */
struct nd_zone *nd_zone_get(const char *name);
bool nd_zone_valid(const char *name);

/* The instants [*from, *to) of the local calendar day @y-@m-@d in @z: from
 * local midnight to the next local midnight, 23 or 25 hours on DST days. */
enum nd_err nd_zone_day(struct nd_zone *z, int y, int m, int d, int64_t *from, int64_t *to);

/* The local calendar date of instant @ms in @z. Returns that day's note:
 * ND_ZONE_NOTE bytes kept with the day for the caller (core/human.c keeps
 * the date's text for people there), NUL-terminated and empty until
 * written; NULL when the day is not kept. Valid until the next call on @z. */
#define ND_ZONE_NOTE 16
char *nd_zone_civil(struct nd_zone *z, int64_t ms, int *y, int *m, int *d);

#endif
