/* mem.h - allocation wrappers that abort on out-of-memory.
 *
 * A notification service that cannot allocate a few hundred bytes cannot
 * answer anything useful either; aborting keeps NULL checks out of every
 * handler and makes the failure loud instead of a half-written reply. */
#ifndef ND_UTIL_MEM_H
#define ND_UTIL_MEM_H

#include <stddef.h>

void *nd_xmalloc(size_t n);
void *nd_xcalloc(size_t count, size_t n);
void *nd_xrealloc(void *p, size_t n);
char *nd_xstrdup(const char *s);
char *nd_xstrndup(const char *s, size_t n);
/* @src (NULL: "") into @dst of @cap bytes, cut to fit, always terminated:
 * what snprintf(dst, cap, "%s", src) does, without its format parser (a
 * request copies a few of these; the parser cost more than the copies). */
void nd_copy_str(char *dst, size_t cap, const char *src);

#endif
