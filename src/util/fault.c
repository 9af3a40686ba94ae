/* fault.c - failures injected on purpose (see fault.h). */
#include "util/fault.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

static const char *const names[ND_FAULT__COUNT] = {
	[ND_FAULT_ALLOC] = "alloc",
	[ND_FAULT_OOM] = "oom",
	[ND_FAULT_THREAD] = "thread",
	[ND_FAULT_IO] = "io",
	[ND_FAULT_PREPARE] = "prepare",
	[ND_FAULT_QUERY] = "query",
	[ND_FAULT_SERIALIZATION] = "serialization",
	[ND_FAULT_DISK_FULL] = "diskfull",
	[ND_FAULT_DISCONNECT] = "disconnect",
	[ND_FAULT_STEP] = "step",
};

static int chosen = -1; /* the kind NOTIFD_FAULT names; -1: none */
static unsigned long every, first;
static atomic_bool armed;
static atomic_ulong calls;

static bool number(const char *s, char **end, unsigned long *out)
{
	if (*s < '1' || *s > '9')
		return false;
	*out = strtoul(s, end, 10);
	return *out > 0 && *out < 1000000000UL;
}

bool nd_fault_setup(void)
{
	const char *spec = getenv("NOTIFD_FAULT");
	if (!spec || !*spec)
		return true;
	const char *colon = strchr(spec, ':');
	for (int k = 0; colon && k < ND_FAULT__COUNT; k++)
		if ((size_t)(colon - spec) == strlen(names[k]) &&
		    !memcmp(spec, names[k], (size_t)(colon - spec)))
			chosen = k;
	char *end = NULL;
	bool ok = chosen >= 0 && number(colon + 1, &end, &every);
	first = every;
	if (ok && *end == ':' && strcmp(end, ":start"))
		ok = number(end + 1, &end, &first);
	bool from_start = ok && !strcmp(end, ":start");
	if (!ok || (*end && !from_start)) {
		fprintf(stderr, "notifd: NOTIFD_FAULT must be KIND:EVERY[:FIRST][:start] with KIND one of");
		for (int k = 0; k < ND_FAULT__COUNT; k++)
			fprintf(stderr, "%s %s", k ? "," : "", names[k]);
		fputc('\n', stderr);
		chosen = -1;
		return false;
	}
	atomic_store(&armed, from_start);
	return true;
}

void nd_fault_arm(void)
{
	atomic_store(&armed, chosen >= 0);
}

bool nd_fault(enum nd_fault_kind kind)
{
	if ((int)kind != chosen || !atomic_load_explicit(&armed, memory_order_relaxed))
		return false;
	unsigned long n = atomic_fetch_add(&calls, 1) + 1;
	if (n < first || (n - first) % every)
		return false;
	/* Logged without allocating through SQLite (this may run inside
	 * its allocator). */
	nd_log("info", "fault", "fault injected: %s call %lu", names[kind], n);
	return true;
}

void nd_fault_report(void)
{
	if (chosen >= 0)
		nd_log("info", "fault", "%s calls: %lu", names[chosen],
		       atomic_load(&calls));
}
