/* log.h - JSON-lines logging on stderr.
 *
 * Each record is one line written with a single write(2), so lines from
 * concurrent worker threads never interleave. */
#ifndef ND_UTIL_LOG_H
#define ND_UTIL_LOG_H

#include "util/buf.h"

/* Starts a record: {"ts":"...","level":"<level>" — the caller appends
 * ,"key":value pairs and finishes with nd_log_emit(). */
void nd_log_begin(struct nd_buf *b, const char *level);
void nd_log_emit(struct nd_buf *b);

/* One-call form for operational messages: {"ts","level","event","msg"}. */
void nd_log(const char *level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
