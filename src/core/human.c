/* human.c - dates for people, as the API3 face shows them.
 *
 * Written by hand rather than with snprintf: a listing writes two of these
 * per row, and the format parser cost more than the rest of the date. */
#include "core/human.h"

#include <string.h>

#include "util/buf.h"

/* @v in decimal at @p: the end of what was written. */
static char *put_num(char *p, long long v)
{
	char tmp[ND_INT_DIGITS_MAX], *t = nd_int_digits(v, tmp + sizeof tmp);
	size_t n = (size_t)(tmp + sizeof tmp - t);
	memcpy(p, t, n);
	return p + n;
}

static char *put_str(char *p, const char *s)
{
	size_t n = strlen(s);
	memcpy(p, s, n);
	return p + n;
}

void nd_human_date(int64_t ms, struct nd_zone *z, char out[ND_HUMAN_MAX])
{
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	int y, m, d;
	/* Kept with the day once written: a listing writes a date a row,
	 * mostly of days written before (~2% of an API3 LIST's time). */
	char *note = nd_zone_civil(z, ms, &y, &m, &d);
	if (note && note[0]) {
		memcpy(out, note, ND_ZONE_NOTE);
		return;
	}
	/* At most 3 + 1 + 3 + 1 + 6 + 1 bytes, well inside ND_HUMAN_MAX. */
	memcpy(out, months[(m - 1) % 12], 3);
	char *p = out + 3;
	*p++ = ' ';
	d %= 32;
	if (d >= 10)
		*p++ = (char)('0' + d / 10);
	*p++ = (char)('0' + d % 10);
	*p++ = ' ';
	/* Four-digit years without the general conversion: a listing writes a
	 * date a row. */
	if (y >= 1000 && y <= 9999) {
		p[0] = (char)('0' + y / 1000);
		p[1] = (char)('0' + y / 100 % 10);
		p[2] = (char)('0' + y / 10 % 10);
		p[3] = (char)('0' + y % 10);
		p += 4;
	} else {
		p = put_num(p, y % 100000);
	}
	*p = '\0';
	if (note && (size_t)(p - out) < ND_ZONE_NOTE)
		memcpy(note, out, (size_t)(p - out) + 1);
}

void nd_human_age(int64_t now_ms, int64_t ms, struct nd_zone *z, char out[ND_HUMAN_MAX])
{
	static const struct {
		int64_t below; /* seconds */
		int64_t unit;
		const char *name;
	} steps[] = {
		{3600, 60, " minute"},
		{86400, 3600, " hour"},
		{7 * 86400, 86400, " day"},
		{35 * 86400, 7 * 86400, " week"},
	};
	int64_t age = (now_ms - ms) / 1000;
	if (age < 0) {
		nd_human_date(ms, z, out);
		return;
	}
	if (age < 60) {
		put_str(out, "just now")[0] = '\0';
		return;
	}
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		if (age < steps[i].below) {
			long long n = age / steps[i].unit;
			char *p = put_str(put_num(out, n), steps[i].name);
			p = put_str(p, n == 1 ? " ago" : "s ago");
			*p = '\0';
			return;
		}
	}
	nd_human_date(ms, z, out);
}
