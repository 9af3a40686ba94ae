/* time.c - wall-clock time, ISO-8601 parsing and RFC 3339 formatting. */
#include "util/time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t nd_time_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t nd_time_mono_ms(void)
{
	return nd_time_mono_ns() / 1000000;
}

int64_t nd_time_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Howard Hinnant's public-domain civil calendar algorithms. */
int64_t nd_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Writes @v as exactly @width decimal digits at @p; returns the end. */
static char *fixed_digits(char *p, unsigned v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

void nd_time_format(int64_t ms, char out[ND_TIME_BUFSZ])
{
	ms = ms < ND_TIME_MIN ? ND_TIME_MIN : ms > ND_TIME_MAX ? ND_TIME_MAX : ms;
	int64_t days = nd_floor_div(ms, 86400000);
	int64_t rem = ms - days * 86400000;
	int64_t y;
	unsigned mo, d;
	civil_from_days(days, &y, &mo, &d);
	/* The modulo bounds tell the compiler each field's width. */
	unsigned hh = (unsigned)(rem / 3600000) % 24, mi = (unsigned)(rem / 60000 % 60),
		 ss = (unsigned)(rem / 1000 % 60), frac = (unsigned)(rem % 1000);
	unsigned year = (unsigned)y % 10000; /* 0..9999 in range; the bound is for the compiler */
	mo %= 13;
	d %= 32;
	/* Written digit by digit: feeds format a dozen times per row, and
	 * snprintf's format parsing cost more than the rest of a row. */
	char *p = out;
	p = fixed_digits(p, year, 4);
	*p++ = '-';
	p = fixed_digits(p, mo, 2);
	*p++ = '-';
	p = fixed_digits(p, d, 2);
	*p++ = 'T';
	p = fixed_digits(p, hh, 2);
	*p++ = ':';
	p = fixed_digits(p, mi, 2);
	*p++ = ':';
	p = fixed_digits(p, ss, 2);
	if (frac) {
		*p++ = '.';
		p = fixed_digits(p, frac, 3);
	}
	*p++ = 'Z';
	*p = '\0';
}

/* Reads exactly @n digits at *@p, advancing it. */
static bool digits(const char **p, int n, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (unsigned)(c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
	static const unsigned char dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dim[m - 1];
}

bool nd_time_parse_iso(const char *s, int64_t *ms)
{
	const char *p = s;
	unsigned y, mo, d, hh = 0, mi = 0, ss = 0, frac = 0;
	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return false;
	int64_t offset_min = 0;
	if (*p == '\0')
		goto done;
	if (*p != 'T' && *p != 't')
		return false;
	p++;
	if (!digits(&p, 2, &hh) || *p++ != ':' || !digits(&p, 2, &mi))
		return false;
	if (*p == ':') {
		p++;
		if (!digits(&p, 2, &ss))
			return false;
		if (*p == '.' || *p == ',') {
			p++;
			int n = 0;
			while (*p >= '0' && *p <= '9') {
				if (n < 3)
					frac = frac * 10 + (unsigned)(*p - '0');
				n++;
				p++;
			}
			if (n == 0)
				return false;
			for (; n < 3; n++)
				frac *= 10;
		}
	}
	if (hh > 23 || mi > 59 || ss > 59)
		return false;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		unsigned oh, om = 0;
		p++;
		if (!digits(&p, 2, &oh))
			return false;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, &om))
				return false;
		} else if (*p >= '0' && *p <= '9') {
			if (!digits(&p, 2, &om))
				return false;
		}
		if (oh > 23 || om > 59)
			return false;
		offset_min = sign * (int64_t)(oh * 60 + om);
	} else {
		return false;
	}
	if (*p != '\0')
		return false;
done:;
	int64_t days = nd_days_from_civil(y, mo, d);
	int64_t secs = days * 86400 + hh * 3600 + mi * 60 + ss - offset_min * 60;
	int64_t v = secs * 1000 + frac;
	if (v < ND_TIME_MIN || v > ND_TIME_MAX)
		return false;
	*ms = v;
	return true;
}

bool nd_time_parse_param(const char *s, int64_t *ms)
{
	size_t n = strspn(s, "0123456789");
	if (n == 0 || s[n] != '\0')
		return nd_time_parse_iso(s, ms);
	if (n > 13)
		return false;
	int64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	*ms = n <= 11 ? v * 1000 : v;
	return true;
}
