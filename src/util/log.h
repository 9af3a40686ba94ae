/* log.h - JSON-lines logging on stderr.
 *
 * Records never interleave. While serving (between nd_log_start() and
 * nd_log_stop()) they go through a buffer that one thread writes out, so a
 * slow reader of stderr (a stalled journal, a full pipe) never blocks a
 * request: if the buffer fills, records are dropped and counted, and the
 * count is logged once the writer catches up. Otherwise each record is one
 * write(2) of its own. */
#ifndef ND_UTIL_LOG_H
#define ND_UTIL_LOG_H

#include "util/buf.h"

/* Starts a record: {"ts":"...","level":"<level>" — the caller appends
 * ,"key":value pairs and finishes with nd_log_emit(). */
void nd_log_begin(struct nd_buf *b, const char *level);
void nd_log_emit(struct nd_buf *b);

/* Starts and stops the writer thread (nd_log_stop() writes out what is
 * buffered first). */
void nd_log_start(void);
void nd_log_stop(void);

/* One-call form for operational messages: {"ts","level","event","msg"}. */
void nd_log(const char *level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
