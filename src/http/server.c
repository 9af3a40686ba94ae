/* server.c - the HTTP server on libmicrohttpd: starting and stopping it,
 * and the life of a request's state from its first line to its end.
 *
 * MHD runs an epoll thread pool over connections that listen.c accepts;
 * dispatch.c answers requests. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "http/internal.h"
#include "store/store.h"
#include "util/fault.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

/* MHD calls this first with the full request target (query included):
 * the per-request state is born here and returned as the connection's
 * request pointer.
 *
 * The query is kept here and parsed by nd_req_query(), never by MHD.
 * libmicrohttpd 0.9.75 records each query argument in the connection's
 * small memory pool right after this call, before anything can refuse the
 * request; when they do not fit (a few hundred "&a" are enough) it queues a
 * 431, loses it, and holds the connection without an answer while the
 * request never completes. So MHD's copy of the query is ended at the '?'
 * before it parses it: that copy is MHD's own read buffer, which it rewrites
 * itself the moment this returns (it ends the path there too). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct nd_server *s = cls;
	struct nd_req *r = nd_xcalloc(1, sizeof *r);
	r->srv = s;
	r->conn = conn;
	r->uri_len = strlen(uri);
	r->started_ns = nd_time_mono_ns();
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	r->track = ci ? ci->socket_context : NULL;
	char *q = strchr(uri, '?');
	if (q) {
		r->query = nd_xstrdup(q + 1);
		nd_req_split_query(r);
		q[1] = '\0';
	}
	atomic_fetch_add(&s->inflight, 1);
	return r;
}

void nd_http_drop_body(struct nd_req *r)
{
	atomic_fetch_sub(&r->srv->body_bytes, r->body_held);
	r->body_held = 0;
	nd_buf_release(&r->body);
}

static void req_free(struct nd_req *r)
{
	nd_http_drop_body(r);
	for (size_t i = 0; i < ND_ROUTE_MAX_PARAMS; i++)
		free(r->params[i]);
	for (size_t i = 0; i < ND_MAX_EXTRA_HEADERS; i++)
		free(r->hdr_value[i]);
	if (r->stream)
		r->stream->release(r->stream);
	for (size_t i = 0; i < r->nowned; i++)
		free(r->owned[i]);
	free(r->owned);
	nd_buf_release(&r->out);
	free(r->path);
	free(r->query);
	free(r);
}

static void access_log(const struct nd_req *r)
{
	struct nd_buf b = ND_BUF_INIT;
	nd_buf_reserve(&b, 511); /* a line's usual size, in one allocation */
	nd_log_begin(&b, "info");
	/* A request id is made of [A-Za-z0-9._:-] (nd_request_id_sane()),
	 * or is notifd's own hex: nothing to escape. */
	nd_buf_puts(&b, ",\"event\":\"request\",\"request_id\":\"");
	nd_buf_puts(&b, r->request_id);
	nd_buf_putc(&b, '"');
	nd_buf_puts(&b, ",\"method\":");
	nd_buf_json_str(&b, r->method ? r->method : "");
	nd_buf_puts(&b, ",\"path\":");
	nd_buf_json_str(&b, r->path ? r->path : "");
	nd_buf_puts(&b, ",\"status\":");
	nd_buf_json_int(&b, r->status);
	/* Milliseconds with three decimals, written without printf: this line
	 * is written for every request, and formatting a double through
	 * printf cost more than the rest of it. */
	int64_t ns = nd_time_mono_ns() - r->started_ns;
	uint64_t us = ns > 0 ? (uint64_t)ns / 1000 : 0;
	char frac[5] = {'.', (char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10),
			(char)('0' + us % 10), '\0'};
	nd_buf_puts(&b, ",\"duration_ms\":");
	nd_buf_json_int(&b, (int64_t)(us / 1000));
	nd_buf_puts(&b, frac);
	nd_buf_puts(&b, ",\"key_id\":");
	nd_buf_json_str_or_null(&b, r->authed ? r->who.key_id : NULL);
	nd_log_emit(&b);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct nd_server *s = cls;
	struct nd_req *r = *con_cls;
	if (!r)
		return;
	if (r->seen) {
		if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && r->status == 0)
			r->status = 499; /* client went away before an answer */
		access_log(r);
	}
	nd_conn_request_done(r->track);
	/* A transaction left open would hold the write lock for every other
	 * request: report the bug loudly and release the lock. */
	if (r->db && nd_store_abandon_tx(r->db))
		nd_log("error", "store", "transaction left open by %s %s", r->method, r->path);
	req_free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&s->inflight, 1);
}

/* A connection's record (conns.h) rides as its socket context. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct nd_server *s = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		*socket_context = ci ? nd_conns_started(s->conns, ci->connect_fd) : NULL;
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		nd_conns_closed(s->conns, *socket_context);
		*socket_context = NULL;
	}
}

/* Paths are matched raw and decoded per segment by the router, and query
 * values by nd_req_query(): MHD must leave the bytes alone. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	return strlen(s);
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt,
								va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	nd_log("warn", "http", "%s", msg);
}

enum nd_err nd_server_start(const struct nd_server_opts *opts, struct nd_store *store,
			    const struct nd_face *const *faces, size_t nfaces,
			    struct nd_server **out, struct nd_error *err)
{
	struct nd_server *s = nd_xcalloc(1, sizeof *s);
	s->store = store;
	s->faces = faces;
	s->nfaces = nfaces;
	s->max_body = opts->max_body;
	s->body_budget = opts->body_memory;
	s->listen_fd = -1;
	enum nd_err e = nd_http_bind(s, opts->listen, err);
	if (e) {
		free(s);
		return e;
	}
	struct nd_conns_opts co = {.limit = opts->conn_limit,
				   .per_ip = opts->per_ip_limit,
				   .head_timeout = opts->head_timeout,
				   .min_body_rate = opts->min_body_rate};
	s->conns = nd_conns_new(&co);
	if (!s->conns) {
		close(s->listen_fd);
		free(s);
		return nd_fail(err, ND_ERR_INTERNAL, "listen", "cannot start the connection reaper");
	}
	s->throttle = nd_throttle_new(opts->auth_failures);
	s->rate = nd_ratelimit_new(opts->rate_limit, opts->rate_burst);
	s->ready = opts->ready;
	unsigned threads = opts->threads;
	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n > 0 ? (unsigned)n : 1;
	}
	/* One worker is MHD's own thread, without a pool: given a pool of
	 * one, MHD says so in a warning at every start. */
	struct MHD_OptionItem pool[] = {
	    {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, NULL},
	    {MHD_OPTION_END, 0, NULL},
	};
	/* MHD_USE_ITC: the acceptor thread hands connections over with
	 * MHD_add_connection(), which wakes the worker through it. */
	s->mhd = nd_fault(ND_FAULT_THREAD) ? NULL : MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_TURBO | MHD_USE_ERROR_LOG |
			MHD_USE_NO_LISTEN_SOCKET,
		0, NULL, NULL, nd_http_on_request, s,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
		MHD_OPTION_ARRAY, pool,
		/* The limits are kept by conns.c, which answers what they refuse;
		 * MHD's own stay out of its way. */
		MHD_OPTION_CONNECTION_LIMIT, opts->conn_limit + 64,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
		MHD_OPTION_CONNECTION_TIMEOUT, opts->timeout_s,
		/* The request head lives in this pool (ND_URI_MAX of request
		 * target plus headers fit), which MHD zeroes after every
		 * request: 64 KiB of it cost ~5% of a small read. */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(16 * 1024),
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
		MHD_OPTION_END);
	s->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (!s->mhd || s->wake_fd < 0 || nd_thread_create(&s->acceptor, nd_http_accept_loop, s) != 0) {
		if (s->mhd)
			MHD_stop_daemon(s->mhd);
		if (s->wake_fd >= 0)
			close(s->wake_fd);
		close(s->listen_fd);
		nd_throttle_free(s->throttle);
		nd_ratelimit_free(s->rate);
		nd_conns_free(s->conns);
		free(s);
		return nd_fail(err, ND_ERR_INTERNAL, "listen", "cannot start the HTTP server on %s",
			       opts->listen);
	}
	*out = s;
	return ND_OK;
}

const char *nd_server_addr(const struct nd_server *s)
{
	return s->addr;
}

void nd_server_stop(struct nd_server *s, unsigned grace_ms)
{
	if (!s)
		return;
	/* Stop accepting: end the acceptor, then close the listening socket so
	 * new connections are refused rather than left in the backlog. */
	uint64_t one = 1;
	if (write(s->wake_fd, &one, sizeof one) != sizeof one)
		nd_log("error", "http", "cannot wake the acceptor: %s", strerror(errno));
	pthread_join(s->acceptor, NULL);
	close(s->listen_fd);
	close(s->wake_fd);
	for (unsigned waited = 0; atomic_load(&s->inflight) > 0 && waited < grace_ms; waited += 10) {
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(s->mhd);
	nd_throttle_free(s->throttle);
	nd_ratelimit_free(s->rate);
	nd_conns_free(s->conns);
	free(s);
}
