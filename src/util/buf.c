/* buf.c - growable byte buffer and JSON writing helpers. */
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/time.h"
#include "util/mem.h"

void nd_buf_release(struct nd_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void nd_buf_reset(struct nd_buf *b)
{
	b->len = 0;
}

void nd_buf_grow(struct nd_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	b->data = nd_xrealloc(b->data, cap);
	b->cap = cap;
}

void nd_buf_printf(struct nd_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	nd_buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *nd_buf_steal(struct nd_buf *b, size_t *len)
{
	nd_buf_reserve(b, 0);
	b->data[b->len] = '\0';
	char *p = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

const char *nd_buf_str(struct nd_buf *b)
{
	nd_buf_reserve(b, 0);
	b->data[b->len] = '\0';
	return b->data;
}

size_t nd_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return len;
}

/* The bytes a JSON string carries as they are: printable ASCII but the
 * quote (0x22) and the backslash (0x5C). */
static const unsigned char json_plain[256] = {
	[0x20 ... 0x21] = 1,
	[0x23 ... 0x5B] = 1,
	[0x5D ... 0x7F] = 1,
};

/* Whether the 8 bytes of @x are all json_plain, tested at once: no byte
 * below 0x20, none at or above 0x80, no quote, no backslash. The zero-byte
 * tests can flag a byte next to a real match, never miss one, so "false"
 * only sends the bytes to the byte-wise loop. */
static inline bool plain8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
	uint64_t quote = x ^ (ones * '"'), slash = x ^ (ones * '\\');
	uint64_t below = (x - ones * 0x20) & ~x;
	quote = (quote - ones) & ~quote;
	slash = (slash - ones) & ~slash;
	return !((below | quote | slash | x) & high);
}

void nd_buf_json_strn(struct nd_buf *b, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	nd_buf_reserve(b, n + 2);
	nd_buf_putc(b, '"');
	size_t i = 0;
	while (i < n) {
		size_t run = i;
		/* Copy the longest run that needs no escaping in one go, found
		 * eight bytes at a time while it lasts (a native feed page's
		 * escaping: ~90,000 instructions a byte at a time, ~71,000). */
		for (uint64_t x; run + 8 <= n; run += 8) {
			memcpy(&x, s + run, 8);
			if (!plain8(x))
				break;
		}
		while (run < n && json_plain[s[run]])
			run++;
		if (run > i) {
			nd_buf_add(b, s + i, run - i);
			i = run;
			continue;
		}
		unsigned char c = s[i];
		if (c >= 0x80) {
			size_t len = nd_utf8_seq(s + i, n - i);
			if (len) {
				nd_buf_add(b, s + i, len);
				i += len;
			} else {
				nd_buf_puts(b, "\\ufffd");
				i++;
			}
			continue;
		}
		switch (c) {
		case '"': nd_buf_puts(b, "\\\""); break;
		case '\\': nd_buf_puts(b, "\\\\"); break;
		case '\n': nd_buf_puts(b, "\\n"); break;
		case '\r': nd_buf_puts(b, "\\r"); break;
		case '\t': nd_buf_puts(b, "\\t"); break;
		default: {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			nd_buf_add(b, e, sizeof e);
		}
		}
		i++;
	}
	nd_buf_putc(b, '"');
}

void nd_buf_json_next(struct nd_buf *b)
{
	if (b->len && b->data[b->len - 1] != '[')
		nd_buf_putc(b, ',');
}

void nd_buf_json_str(struct nd_buf *b, const char *s)
{
	nd_buf_json_strn(b, s, strlen(s));
}

void nd_buf_json_str_or_null(struct nd_buf *b, const char *s)
{
	if (s)
		nd_buf_json_str(b, s);
	else
		nd_buf_puts(b, "null");
}

/* Two digits at a time from a table: a number a row in every listing (its
 * timestamp), and one division by 100 costs what one by 10 does. */
static const char digit_pairs[200] =
	"00010203040506070809"
	"10111213141516171819"
	"20212223242526272829"
	"30313233343536373839"
	"40414243444546474849"
	"50515253545556575859"
	"60616263646566676869"
	"70717273747576777879"
	"80818283848586878889"
	"90919293949596979899";

char *nd_int_digits(int64_t v, char *end)
{
	/* On the magnitude as unsigned, so INT64_MIN works. */
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	char *p = end;
	for (; u >= 100; u /= 100) {
		p -= 2;
		memcpy(p, digit_pairs + 2 * (u % 100), 2);
	}
	if (u >= 10) {
		p -= 2;
		memcpy(p, digit_pairs + 2 * u, 2);
	} else {
		*--p = (char)('0' + u);
	}
	if (v < 0)
		*--p = '-';
	return p;
}

void nd_buf_json_int(struct nd_buf *b, int64_t v)
{
	char tmp[ND_INT_DIGITS_MAX];
	char *p = nd_int_digits(v, tmp + sizeof tmp);
	nd_buf_add(b, p, (size_t)(tmp + sizeof tmp - p));
}

void nd_buf_json_time(struct nd_buf *b, int64_t ms)
{
	if (ms == ND_NO_TIME) {
		nd_buf_puts(b, "null");
		return;
	}
	char tmp[ND_TIME_BUFSZ];
	nd_time_format(ms, tmp);
	nd_buf_putc(b, '"');
	nd_buf_puts(b, tmp);
	nd_buf_putc(b, '"');
}
