/* zone.c - IANA time zones through ICU's C calendar API. */
#include "core/zone.h"

#include <stdlib.h>
#include <string.h>
#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include "util/mem.h"

struct nd_zone {
	UCalendar *cal;
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
	struct nd_zone *z = nd_xmalloc(sizeof *z);
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

void nd_zone_civil(struct nd_zone *z, int64_t ms, int *y, int *m, int *d)
{
	UErrorCode st = U_ZERO_ERROR;
	ucal_setMillis(z->cal, (UDate)ms, &st);
	*y = ucal_get(z->cal, UCAL_EXTENDED_YEAR, &st);
	*m = ucal_get(z->cal, UCAL_MONTH, &st) + 1;
	*d = ucal_get(z->cal, UCAL_DATE, &st);
}
