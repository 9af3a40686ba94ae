/* time.h - wall-clock time in Unix milliseconds, ISO-8601 parsing and
 * RFC 3339 formatting.
 *
 * Every time notifd stores or compares is an int64 count of milliseconds
 * since 1970-01-01T00:00:00Z; text forms exist only at the edges. */
#ifndef ND_UTIL_TIME_H
#define ND_UTIL_TIME_H

#include <stdbool.h>
#include <stdint.h>

/* Absent timestamp. */
#define ND_NO_TIME INT64_MIN

/* a / b rounded toward minus infinity (b > 0): times before 1970 too.
 * Inline, so that a constant divisor (a day, a second) becomes a multiply. */
static inline int64_t nd_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The instants notifd accepts and prints: 0000-01-01T00:00:00Z through
 * 9999-12-31T23:59:59.999Z, the four-digit years of RFC 3339. Parsing
 * refuses anything outside; formatting never meets it. */
#define ND_TIME_MIN INT64_C(-62167219200000)
#define ND_TIME_MAX INT64_C(253402300799999)

/* Enough for "YYYY-MM-DDTHH:MM:SS.mmmZ" and a NUL. */
#define ND_TIME_BUFSZ 32

int64_t nd_time_now_ms(void);
/* Monotonic milliseconds (an arbitrary origin): for durations and deadlines,
 * which the wall clock's steps must not move. */
int64_t nd_time_mono_ms(void);
/* The same in nanoseconds. */
int64_t nd_time_mono_ns(void);

/* Formats @ms as RFC 3339 UTC: "2019-08-24T14:15:22Z", with ".mmm" only when
 * the milliseconds are not zero. A value outside ND_TIME_MIN..ND_TIME_MAX
 * (which nothing parsed can be) prints as the nearer end. */
void nd_time_format(int64_t ms, char out[ND_TIME_BUFSZ]);

/* Parses an ISO-8601 date-time: YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS[.f...]]
 * followed by Z or an offset (+hh:mm, +hhmm, +hh). A bare date is midnight
 * UTC; a date-time without zone is rejected, since guessing a zone silently
 * shifts data. Fractions beyond milliseconds are truncated. An instant
 * outside ND_TIME_MIN..ND_TIME_MAX once its offset is applied is refused
 * ("9999-12-31T23:59-01:00" is in year 10000). */
bool nd_time_parse_iso(const char *s, int64_t *ms);

/* Parses a query-parameter time: the ISO-8601 forms above, or a Unix
 * timestamp of digits only — up to 11 digits are seconds, 12 or 13 are
 * milliseconds. */
bool nd_time_parse_param(const char *s, int64_t *ms);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
int64_t nd_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
