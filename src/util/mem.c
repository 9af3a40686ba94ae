/* mem.c - allocation wrappers that abort on out-of-memory. */
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fault.h"

#ifdef ND_COVERAGE
void __gcov_dump(void); /* libgcov's: writes the coverage counters now */
#endif

static void oom(size_t n)
{
	fprintf(stderr, "notifd: out of memory allocating %zu bytes\n", n);
#ifdef ND_COVERAGE
	__gcov_dump(); /* an aborting process writes no coverage data otherwise */
#endif
	abort();
}

void *nd_xmalloc(size_t n)
{
	void *p = nd_fault(ND_FAULT_OOM) ? NULL : malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *nd_xcalloc(size_t count, size_t n)
{
	void *p = nd_fault(ND_FAULT_OOM) ? NULL : calloc(count ? count : 1, n ? n : 1);
	if (!p)
		oom(count * n);
	return p;
}

void *nd_xrealloc(void *p, size_t n)
{
	void *q = nd_fault(ND_FAULT_OOM) ? NULL : realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *nd_xstrdup(const char *s)
{
	return nd_xstrndup(s, strlen(s));
}

char *nd_xstrndup(const char *s, size_t n)
{
	char *p = nd_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void nd_copy_str(char *dst, size_t cap, const char *src)
{
	if (cap == 0)
		return;
	size_t n = src ? strnlen(src, cap - 1) : 0;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}
