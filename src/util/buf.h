/* buf.h - growable byte buffer and JSON writing helpers.
 *
 * Hot paths (feeds, access log) write JSON straight into a buffer instead of
 * building a jansson tree per row. Strings are escaped per RFC 8259; invalid
 * UTF-8 is replaced by U+FFFD so any stored text yields valid JSON. */
#ifndef ND_UTIL_BUF_H
#define ND_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct nd_buf {
	char *data;
	size_t len;
	size_t cap;
};

#define ND_BUF_INIT {NULL, 0, 0}

void nd_buf_release(struct nd_buf *b);
void nd_buf_reset(struct nd_buf *b);
/* Makes room for @extra more bytes and a NUL. */
void nd_buf_grow(struct nd_buf *b, size_t extra);

/* The appends are inline: the feeds call them several times per row, and
 * with a literal argument the compiler folds strlen away. The contents stay
 * NUL-terminated. */
static inline void nd_buf_reserve(struct nd_buf *b, size_t extra)
{
	if (b->len + extra + 1 > b->cap)
		nd_buf_grow(b, extra);
}

static inline void nd_buf_add(struct nd_buf *b, const void *data, size_t n)
{
	nd_buf_reserve(b, n);
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static inline void nd_buf_puts(struct nd_buf *b, const char *s)
{
	nd_buf_add(b, s, strlen(s));
}

static inline void nd_buf_putc(struct nd_buf *b, char c)
{
	nd_buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void nd_buf_printf(struct nd_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Hands the NUL-terminated contents to the caller and empties @b. */
char *nd_buf_steal(struct nd_buf *b, size_t *len);
/* NUL-terminated view of the contents (never NULL). */
const char *nd_buf_str(struct nd_buf *b);

/* Length of the valid UTF-8 sequence at @s (at most @n bytes), 0 if invalid
 * (overlong forms, surrogates and code points above U+10FFFF included). */
size_t nd_utf8_seq(const unsigned char *s, size_t n);

/* JSON value writers. */
/* Starts the next array element: a comma unless the array was just opened. */
void nd_buf_json_next(struct nd_buf *b);
/* "name": for a member name that needs no escaping (one of notifd's own);
 * rows write a dozen each, so it is inline and printf-free. */
static inline void nd_buf_json_key(struct nd_buf *b, const char *name)
{
	nd_buf_putc(b, '"');
	nd_buf_puts(b, name);
	nd_buf_add(b, "\":", 2);
}
/* ,"name": - a member after an object's first. */
static inline void nd_buf_json_member(struct nd_buf *b, const char *name)
{
	nd_buf_putc(b, ',');
	nd_buf_json_key(b, name);
}
void nd_buf_json_str(struct nd_buf *b, const char *s);
void nd_buf_json_strn(struct nd_buf *b, const char *s, size_t n);
/* Writes null when @s is NULL. */
void nd_buf_json_str_or_null(struct nd_buf *b, const char *s);
void nd_buf_json_int(struct nd_buf *b, int64_t v);
/* @v in decimal, written to end just before @end; returns where it starts,
 * at most ND_INT_DIGITS_MAX bytes before @end. No NUL. */
#define ND_INT_DIGITS_MAX 20
char *nd_int_digits(int64_t v, char *end);
/* RFC 3339 UTC time from Unix milliseconds, or null for ND_NO_TIME
 * (util/time.h). */
void nd_buf_json_time(struct nd_buf *b, int64_t ms);

#endif
