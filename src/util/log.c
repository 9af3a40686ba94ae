/* log.c - JSON-lines logging on stderr. */
#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/fault.h"
#include "util/mem.h"
#include "util/time.h"

void nd_log_begin(struct nd_buf *b, const char *level)
{
	/* A busy worker writes many lines within a millisecond (an access
	 * line a request): the time's text is kept for the millisecond. */
	static _Thread_local int64_t last_ms = ND_NO_TIME;
	static _Thread_local char last_ts[ND_TIME_BUFSZ];
	int64_t ms = nd_time_now_ms();
	if (ms != last_ms) {
		nd_time_format(ms, last_ts);
		last_ms = ms;
	}
	nd_buf_puts(b, "{\"ts\":\"");
	nd_buf_puts(b, last_ts);
	nd_buf_puts(b, "\",\"level\":");
	nd_buf_json_str(b, level);
}

#define LOG_BUFFER (1u << 20)
/* After the first record of a batch, the writer gathers more for this long
 * before writing: waking it for every record cost a context switch per
 * request (a quarter of a small request's time on one core). */
#define BATCH_NS 10000000L

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *buf; /* lines waiting for the writer */
	size_t len;
	unsigned long dropped;
	bool running, stop;
	bool idle;     /* the writer waits for a first record */
	bool batching; /* the writer waits for more */
	pthread_t writer;
} lg = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void write_all(const char *p, size_t left)
{
	while (left > 0) {
		ssize_t n = write(STDERR_FILENO, p, left);
		if (n <= 0)
			break;
		p += n;
		left -= (size_t)n;
	}
}

void nd_log_emit(struct nd_buf *b)
{
	nd_buf_puts(b, "}\n");
	pthread_mutex_lock(&lg.mu);
	if (!lg.running) {
		pthread_mutex_unlock(&lg.mu);
		write_all(b->data, b->len);
	} else {
		if (lg.len + b->len <= LOG_BUFFER) {
			memcpy(lg.buf + lg.len, b->data, b->len);
			lg.len += b->len;
			if (lg.idle || (lg.batching && lg.len >= LOG_BUFFER / 2))
				pthread_cond_signal(&lg.cv);
		} else {
			lg.dropped++;
		}
		pthread_mutex_unlock(&lg.mu);
	}
	nd_buf_release(b);
}

static void *writer_run(void *arg)
{
	char *out = nd_xmalloc(LOG_BUFFER);
	pthread_mutex_lock(&lg.mu);
	for (;;) {
		while (!lg.len && !lg.dropped && !lg.stop) {
			lg.idle = true;
			pthread_cond_wait(&lg.cv, &lg.mu);
			lg.idle = false;
		}
		if (!lg.len && !lg.dropped)
			break; /* stopping, and nothing is left */
		if (!lg.stop) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += BATCH_NS;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			lg.batching = true;
			while (!lg.stop && lg.len < LOG_BUFFER / 2 &&
			       pthread_cond_timedwait(&lg.cv, &lg.mu, &until) == 0)
				;
			lg.batching = false;
		}
		size_t n = lg.len;
		unsigned long dropped = lg.dropped;
		memcpy(out, lg.buf, n);
		lg.len = 0;
		lg.dropped = 0;
		pthread_mutex_unlock(&lg.mu);
		write_all(out, n);
		if (dropped) {
			char line[160];
			struct nd_buf b = ND_BUF_INIT;
			snprintf(line, sizeof line, "%lu log records dropped: standard error did not "
						    "keep up", dropped);
			nd_log_begin(&b, "warn");
			nd_buf_puts(&b, ",\"event\":\"log\",\"msg\":");
			nd_buf_json_str(&b, line);
			nd_buf_puts(&b, "}\n");
			write_all(b.data, b.len);
			nd_buf_release(&b);
		}
		pthread_mutex_lock(&lg.mu);
	}
	pthread_mutex_unlock(&lg.mu);
	free(out);
	return NULL;
}

void nd_log_start(void)
{
	pthread_mutex_lock(&lg.mu);
	bool start = !lg.running && !lg.buf;
	if (start) {
		lg.buf = nd_xmalloc(LOG_BUFFER);
		lg.stop = false;
	}
	pthread_mutex_unlock(&lg.mu);
	if (!start)
		return;
	/* Started without the lock held: whatever logs meanwhile (a failure
	 * to start it included) is written directly. */
	pthread_t writer;
	bool started = nd_thread_create(&writer, writer_run, NULL) == 0;
	pthread_mutex_lock(&lg.mu);
	if (started) {
		lg.writer = writer;
		lg.running = true;
	} else {
		free(lg.buf);
		lg.buf = NULL;
	}
	pthread_mutex_unlock(&lg.mu);
}

void nd_log_stop(void)
{
	pthread_mutex_lock(&lg.mu);
	bool running = lg.running;
	lg.stop = true;
	pthread_cond_broadcast(&lg.cv);
	pthread_mutex_unlock(&lg.mu);
	if (!running)
		return;
	pthread_join(lg.writer, NULL);
	pthread_mutex_lock(&lg.mu);
	lg.running = false;
	free(lg.buf);
	lg.buf = NULL;
	pthread_mutex_unlock(&lg.mu);
}

void nd_log(const char *level, const char *event, const char *fmt, ...)
{
	struct nd_buf b = ND_BUF_INIT;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	nd_log_begin(&b, level);
	nd_buf_puts(&b, ",\"event\":");
	nd_buf_json_str(&b, event);
	if (msg[0]) {
		nd_buf_puts(&b, ",\"msg\":");
		nd_buf_json_str(&b, msg);
	}
	nd_log_emit(&b);
}
