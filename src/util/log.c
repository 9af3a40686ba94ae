/* log.c - JSON-lines logging on stderr. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "util/time.h"

void nd_log_begin(struct nd_buf *b, const char *level)
{
	nd_buf_puts(b, "{\"ts\":");
	nd_buf_json_time(b, nd_time_now_ms());
	nd_buf_puts(b, ",\"level\":");
	nd_buf_json_str(b, level);
}

void nd_log_emit(struct nd_buf *b)
{
	nd_buf_puts(b, "}\n");
	const char *p = b->data;
	size_t left = b->len;
	while (left > 0) {
		ssize_t n = write(STDERR_FILENO, p, left);
		if (n <= 0)
			break;
		p += n;
		left -= (size_t)n;
	}
	nd_buf_release(b);
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
