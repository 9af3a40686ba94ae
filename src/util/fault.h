/* fault.h - failures injected on purpose, so that the tests reach the
 * error paths a healthy machine never takes.
 *
 * Only a build configured with -Dfault_injection=true (the sanitizer build
 * of `make check`, and `make coverage`) has them; everywhere else
 * nd_fault() is a constant false the compiler removes. In such a build,
 * NOTIFD_FAULT="KIND:EVERY[:FIRST][:start]" in notifd's environment makes
 * the FIRST-th call of that kind (default EVERY) fail, then every EVERY-th
 * one after it, as SQLite's own test harness fails the N-th allocation or
 * write. Calls are counted from 1 once notifd serves, or once a command
 * such as export has its database open; with ":start", from the start, so
 * that opening and migrating the database fail too. Kinds:
 *
 *   alloc       SQLite's allocator returns NULL (SQLITE_NOMEM)
 *   oom         notifd's own allocation fails (it aborts, util/mem.h)
 *   thread      a thread, or the HTTP server's threads, cannot be started
 *   io          a write, sync or truncate of a SQLite file fails (SQLITE_IOERR)
 *   prepare     a statement's first preparation on a connection fails
 *               (SQLite: SQLITE_NOMEM; PostgreSQL: a server error)
 *   step        a SQLite statement fails as on a read error (SQLITE_IOERR_READ)
 *               instead of running: a read served from SQLite's page cache
 *               neither allocates nor writes, so no other kind fails it
 *   query       a PostgreSQL statement comes back as a server error
 *   serialization  ... as a serialization failure (SQLSTATE 40001)
 *   diskfull    ... as the server's disk being full (SQLSTATE 53100)
 *   disconnect  PostgreSQL's connection is cut before a statement is sent
 *
 * Each injected failure is logged ("fault injected"), so a test can tell
 * that its run reached some. */
#ifndef ND_UTIL_FAULT_H
#define ND_UTIL_FAULT_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>

enum nd_fault_kind {
	ND_FAULT_ALLOC,
	ND_FAULT_OOM,
	ND_FAULT_THREAD,
	ND_FAULT_IO,
	ND_FAULT_PREPARE,
	ND_FAULT_QUERY,
	ND_FAULT_SERIALIZATION,
	ND_FAULT_DISK_FULL,
	ND_FAULT_DISCONNECT,
	ND_FAULT_STEP,
	ND_FAULT__COUNT
};

#ifdef ND_FAULT_INJECTION
/* Reads NOTIFD_FAULT; false (with the reason on stderr) when it is set but
 * malformed. Call once, before any thread starts. */
bool nd_fault_setup(void);
/* Starts counting, unless ":start" did already: the failures fall on
 * serving or on a command's work. */
void nd_fault_arm(void);
/* True when this call of @kind is to fail. Thread-safe. */
bool nd_fault(enum nd_fault_kind kind);
/* Logs how many calls of the chosen kind there were (to choose schedules). */
void nd_fault_report(void);
#else
static inline bool nd_fault_setup(void)
{
	return true;
}
static inline void nd_fault_arm(void)
{
}
static inline bool nd_fault(enum nd_fault_kind kind)
{
	(void)kind;
	return false;
}
static inline void nd_fault_report(void)
{
}
#endif

/* pthread_create() with default attributes, or EAGAIN (as when the system
 * is out of threads) when fault injection says so. */
static inline int nd_thread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
	return nd_fault(ND_FAULT_THREAD) ? EAGAIN : pthread_create(t, NULL, fn, arg);
}

#endif
