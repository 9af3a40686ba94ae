/* server.c - the HTTP layer on libmicrohttpd.
 *
 * MHD runs an epoll thread pool. A request is answered only once MHD has
 * handed over the whole body (the call where *upload_data_size is 0):
 * queueing a response earlier makes MHD close the connection, which turns
 * keep-alive off and costs an order of magnitude in throughput.
 *
 * notifd accepts connections itself, in one thread, and hands them to MHD
 * with MHD_add_connection(). That makes "stop accepting" a matter of closing
 * our own socket: MHD 0.9.75's MHD_quiesce_daemon() races with its epoll
 * workers over the listening socket and can abort the process. */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/ids.h"
#include "core/keys.h"
#include "util/log.h"
#include "util/mem.h"

/* A body over the cap is read and thrown away up to this many bytes, so the
 * client can read our 413 on a healthy connection; past it the connection
 * is answered and closed at once. */
#define DISCARD_MAX (16u << 20)

struct nd_server {
	struct MHD_Daemon *mhd;
	struct nd_store *store;
	const struct nd_face *const *faces;
	size_t nfaces;
	size_t max_body;
	int listen_fd;
	int wake_fd; /* eventfd that tells the acceptor to stop */
	pthread_t acceptor;
	char addr[INET6_ADDRSTRLEN + 8];
	atomic_int inflight;
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---------- request lifecycle ---------- */

/* MHD calls this first with the full request target (query included):
 * the per-request state is born here and returned as the connection's
 * request pointer. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct nd_server *s = cls;
	struct nd_req *r = nd_xcalloc(1, sizeof *r);
	r->srv = s;
	r->conn = conn;
	r->uri_len = strlen(uri);
	r->started_ns = mono_ns();
	atomic_fetch_add(&s->inflight, 1);
	return r;
}

static void req_free(struct nd_req *r)
{
	for (size_t i = 0; i < ND_ROUTE_MAX_PARAMS; i++)
		free(r->params[i]);
	for (size_t i = 0; i < ND_MAX_EXTRA_HEADERS; i++)
		free(r->hdr_value[i]);
	if (r->stream)
		r->stream->release(r->stream);
	for (size_t i = 0; i < r->nowned; i++)
		free(r->owned[i]);
	free(r->owned);
	nd_buf_release(&r->body);
	nd_buf_release(&r->out);
	free(r->path);
	free(r);
}

static void access_log(const struct nd_req *r)
{
	struct nd_buf b = ND_BUF_INIT;
	nd_log_begin(&b, "info");
	nd_buf_puts(&b, ",\"event\":\"request\",\"request_id\":");
	nd_buf_json_str(&b, r->request_id);
	nd_buf_puts(&b, ",\"method\":");
	nd_buf_json_str(&b, r->method ? r->method : "");
	nd_buf_puts(&b, ",\"path\":");
	nd_buf_json_str(&b, r->path ? r->path : "");
	nd_buf_printf(&b, ",\"status\":%u,\"duration_ms\":%.3f,\"key_id\":", r->status,
		      (double)(mono_ns() - r->started_ns) / 1e6);
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
	/* A transaction left open would hold the write lock for every other
	 * request: report the bug loudly and release the lock. */
	if (r->db && nd_store_abandon_tx(r->db))
		nd_log("error", "store", "transaction left open by %s %s", r->method, r->path);
	req_free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&s->inflight, 1);
}

/* ---------- helpers for handlers ---------- */

const char *nd_req_param(const struct nd_req *r, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < r->match.nparams; i++)
		if (strncmp(r->match.param_name[i], name, n) == 0 &&
		    r->match.param_name[i][n] == '}')
			return r->params[i];
	return NULL;
}

const char *nd_req_query(struct nd_req *r, const char *name, bool *bad)
{
	const char *raw = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
	if (!raw)
		return NULL;
	size_t n = strlen(raw);
	char *out = nd_xmalloc(n + 1);
	if (nd_pct_decode(raw, n, out, true) < 0) {
		free(out);
		*bad = true;
		return NULL;
	}
	r->owned = nd_xrealloc(r->owned, (r->nowned + 1) * sizeof *r->owned);
	r->owned[r->nowned++] = out;
	return out;
}

enum nd_err nd_reply_json(struct nd_req *r, unsigned status)
{
	r->status = status;
	r->content_type = "application/json";
	return ND_OK;
}

enum nd_err nd_reply_empty(struct nd_req *r, unsigned status)
{
	r->status = status;
	r->content_type = NULL;
	nd_buf_reset(&r->out);
	return ND_OK;
}

/* The body of a streamed reply: the face's stream plus the bytes produced
 * but not yet taken by MHD. */
struct stream_body {
	struct nd_stream *s;
	struct nd_store *store;
	struct nd_buf pending;
	size_t off;
	bool done;
};

enum nd_err nd_reply_stream(struct nd_req *r, unsigned status, const char *content_type,
			    struct nd_stream *s)
{
	bool done = false;
	nd_buf_reset(&r->out);
	enum nd_err e = s->next(s, r->db, &r->out, &done, &r->err);
	if (e) {
		s->release(s);
		return e;
	}
	if (done) {
		/* Everything fit in the first piece: a plain reply is cheaper. */
		s->release(s);
		r->status = status;
		r->content_type = content_type;
		return ND_OK;
	}
	r->stream = s;
	r->status = status;
	r->content_type = content_type;
	return ND_OK;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream_body *sb = cls;
	/* Produce until there is something to hand over: returning 0 would make
	 * MHD poll again at once, a busy loop. */
	while (sb->off == sb->pending.len) {
		if (sb->done)
			return MHD_CONTENT_READER_END_OF_STREAM;
		nd_buf_reset(&sb->pending);
		sb->off = 0;
		struct nd_store_conn *db;
		struct nd_error err = {0};
		enum nd_err e = nd_store_conn(sb->store, &db, &err);
		if (!e)
			e = sb->s->next(sb->s, db, &sb->pending, &sb->done, &err);
		if (e) {
			nd_log("error", "stream", "response stream cut short: %s", err.detail);
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
	}
	size_t n = sb->pending.len - sb->off;
	if (n > max)
		n = max;
	memcpy(buf, sb->pending.data + sb->off, n);
	sb->off += n;
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	struct stream_body *sb = cls;
	sb->s->release(sb->s);
	nd_buf_release(&sb->pending);
	free(sb);
}

void nd_req_add_header(struct nd_req *r, const char *name, const char *value)
{
	for (size_t i = 0; i < ND_MAX_EXTRA_HEADERS; i++) {
		if (!r->hdr_name[i]) {
			r->hdr_name[i] = name;
			r->hdr_value[i] = nd_xstrdup(value);
			return;
		}
	}
}

/* ---------- dispatch ---------- */

/* The key from X-Key, else from "Authorization: Bearer K". */
static const char *request_key(struct MHD_Connection *conn)
{
	const char *k = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Key");
	if (k)
		return k;
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
		auth += 7;
		while (*auth == ' ')
			auth++;
		return auth;
	}
	return NULL;
}

static enum nd_err authenticate(struct nd_req *r)
{
	const char *key = request_key(r->conn);
	if (!key || !*key)
		return nd_fail(&r->err, ND_ERR_UNAUTHORIZED, NULL,
			       "an API key is required (X-Key or Authorization: Bearer)");
	size_t n = strlen(key);
	if (n > ND_KEY_MAX)
		return nd_fail(&r->err, ND_ERR_UNAUTHORIZED, NULL, "unknown or revoked key");
	unsigned char hash[ND_KEY_HASH_LEN];
	nd_key_hash(key, n, hash);
	enum nd_err e = nd_store_key_auth(r->db, hash, &r->who, &r->err);
	if (e)
		return e;
	r->authed = true;
	unsigned flags = r->match.route->flags;
	if (r->who.role == ND_ROLE_ADMIN || (flags & ND_ROUTE_MEMBER_ANY))
		return ND_OK;
	if (flags & ND_ROUTE_MEMBER_SELF) {
		const char *id = nd_req_param(r, "id");
		if (id && strcmp(id, r->who.target) == 0)
			return ND_OK;
		return nd_fail(&r->err, ND_ERR_FORBIDDEN, NULL,
			       "a member key may only act on its own target");
	}
	return nd_fail(&r->err, ND_ERR_FORBIDDEN, NULL, "this route needs an admin key");
}

static enum nd_err route(struct nd_req *r)
{
	char allow[64];
	bool known = false;
	for (size_t i = 0; i < r->srv->nfaces; i++) {
		const struct nd_face *f = r->srv->faces[i];
		bool k = false;
		if (nd_route_find(f->routes, f->nroutes, r->method, r->path, &r->match, &k, allow,
				  sizeof allow)) {
			r->face = f;
			break;
		}
		if (k && !known) {
			known = true;
			r->face = f;
			nd_req_add_header(r, "Allow", allow);
		}
		/* Errors under a face's own prefix speak that face's dialect. */
		if (!r->face && f->prefix && strncmp(r->path, f->prefix, strlen(f->prefix)) == 0)
			r->face = f;
	}
	if (r->uri_len > ND_URI_MAX)
		return nd_fail(&r->err, ND_ERR_URI_TOO_LONG, NULL,
			       "request target is longer than %d bytes", ND_URI_MAX);
	if (!r->match.route) {
		if (known)
			return nd_fail(&r->err, ND_ERR_METHOD, NULL, "%s is not allowed on %s",
				       r->method, r->path);
		return nd_fail(&r->err, ND_ERR_NOT_FOUND, NULL, "no route for %s %s", r->method,
			       r->path);
	}
	for (size_t i = 0; i < r->match.nparams; i++) {
		size_t n = r->match.param_len[i];
		r->params[i] = nd_xmalloc(n + 1);
		if (nd_pct_decode(r->match.param_raw[i], n, r->params[i], false) < 0)
			return nd_fail(&r->err, ND_ERR_INVALID_PARAM, NULL,
				       "path segment %zu has a broken percent-encoding", i + 1);
	}
	enum nd_err e = nd_store_conn(r->srv->store, &r->db, &r->err);
	if (e)
		return e;
	if (r->too_large)
		return nd_fail(&r->err, ND_ERR_TOO_LARGE, NULL,
			       "request body is larger than %zu bytes", r->srv->max_body);
	if (!(r->match.route->flags & ND_ROUTE_PUBLIC) && (e = authenticate(r)))
		return e;
	return r->match.route->handler(r);
}

#define STREAM_BLOCK (64 * 1024)

static struct MHD_Response *stream_response(struct nd_req *r)
{
	struct stream_body *sb = nd_xcalloc(1, sizeof *sb);
	sb->s = r->stream;
	sb->store = r->srv->store;
	sb->pending = r->out; /* the first piece, already produced */
	r->out = (struct nd_buf)ND_BUF_INIT;
	r->stream = NULL;
	struct MHD_Response *resp = MHD_create_response_from_callback(
		MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read, sb, stream_free);
	if (!resp)
		stream_free(sb);
	return resp;
}

static enum MHD_Result send_reply(struct nd_req *r)
{
	struct MHD_Response *resp;
	if (r->stream) {
		resp = stream_response(r);
	} else {
		size_t len;
		char *body = nd_buf_steal(&r->out, &len);
		resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
		if (!resp)
			free(body);
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	if (r->content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
	for (size_t i = 0; i < ND_MAX_EXTRA_HEADERS && r->hdr_name[i]; i++)
		MHD_add_response_header(resp, r->hdr_name[i], r->hdr_value[i]);
	enum MHD_Result ret = MHD_queue_response(r->conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void answer(struct nd_req *r)
{
	enum nd_err e = route(r);
	if (e) {
		if (r->err.code != e)
			nd_fail(&r->err, e, NULL, "%s", nd_err_info(e)->title);
		nd_reply_error(r);
	}
}

static void start_request(struct nd_req *r, struct MHD_Connection *conn, const char *url,
			  const char *method)
{
	r->seen = true;
	r->method = method;
	r->path = nd_xstrdup(url);
	const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
	if (rid && nd_request_id_sane(rid))
		snprintf(r->request_id, sizeof r->request_id, "%s", rid);
	else
		nd_request_id_new(r->request_id);
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > r->srv->max_body) {
		r->too_large = true;
		r->discarded = strtoull(cl, NULL, 10) > DISCARD_MAX ? DISCARD_MAX : 0;
	}
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct nd_req *r = *con_cls;
	if (!r->seen) {
		start_request(r, conn, url, method);
		/* A declared body far beyond the cap is refused before it is read;
		 * MHD then closes the connection. */
		if (r->too_large && r->discarded >= DISCARD_MAX) {
			answer(r);
			return send_reply(r);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (!r->too_large && r->body.len + n > r->srv->max_body) {
			r->too_large = true;
			nd_buf_release(&r->body);
		}
		if (!r->too_large) {
			nd_buf_add(&r->body, upload_data, n);
			return MHD_YES;
		}
		r->discarded += n;
		if (r->discarded >= DISCARD_MAX && r->status == 0) {
			answer(r);
			return send_reply(r);
		}
		return MHD_YES;
	}
	if (r->status)
		return MHD_YES; /* already answered while discarding */
	answer(r);
	return send_reply(r);
}

/* Paths are matched raw and decoded per segment by the router, and query
 * values by nd_req_query(): MHD must leave the bytes alone. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	return strlen(s);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	nd_log("warn", "http", "%s", msg);
}

/* ---------- start and stop ---------- */

static enum nd_err bind_listen(struct nd_server *s, const char *listen_spec, struct nd_error *err)
{
	char host[256];
	const char *colon = strrchr(listen_spec, ':');
	if (!colon || colon == listen_spec || !colon[1] ||
	    (size_t)(colon - listen_spec) >= sizeof host)
		return nd_fail(err, ND_ERR_INVALID_PARAM, "listen",
			       "invalid listen address \"%.100s\": expected ADDR:PORT", listen_spec);
	memcpy(host, listen_spec, (size_t)(colon - listen_spec));
	host[colon - listen_spec] = '\0';
	char *h = host;
	size_t hl = strlen(h);
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
		h[hl - 1] = '\0';
		h++;
	}
	const char *port = colon + 1;
	if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 || atoi(port) > 65535)
		return nd_fail(err, ND_ERR_INVALID_PARAM, "listen",
			       "invalid listen port in \"%.100s\"", listen_spec);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(h, port, &hints, &ai);
	if (rc != 0 || !ai)
		return nd_fail(err, ND_ERR_INVALID_PARAM, "listen",
			       "invalid listen address \"%.100s\": %s", listen_spec, gai_strerror(rc));
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
		int saved = errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return nd_fail(err, ND_ERR_INVALID_PARAM, "listen", "cannot listen on %.100s: %s",
			       listen_spec, strerror(saved));
	}
	freeaddrinfo(ai);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	char ip[INET6_ADDRSTRLEN] = "";
	unsigned p = 0;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
		p = ntohs(a->sin6_port);
		snprintf(s->addr, sizeof s->addr, "[%s]:%u", ip, p);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
		p = ntohs(a->sin_port);
		snprintf(s->addr, sizeof s->addr, "%s:%u", ip, p);
	}
	s->listen_fd = fd;
	return ND_OK;
}

static void *accept_loop(void *arg)
{
	struct nd_server *s = arg;
	struct pollfd p[2] = {{.fd = s->listen_fd, .events = POLLIN},
			      {.fd = s->wake_fd, .events = POLLIN}};
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			nd_log("error", "http", "poll on the listening socket: %s", strerror(errno));
			return NULL;
		}
		if (p[1].revents)
			return NULL;
		if (!(p[0].revents & POLLIN))
			continue;
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &sl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* Out of descriptors: back off instead of spinning;
				 * waiting clients stay in the backlog. */
				nd_log("warn", "http", "cannot accept a connection: %s", strerror(errno));
				struct timespec ts = {0, 50 * 1000000L};
				nanosleep(&ts, NULL);
			}
			continue;
		}
		/* On failure (a connection limit, no memory) MHD closes the socket. */
		MHD_add_connection(s->mhd, fd, (struct sockaddr *)&ss, sl);
	}
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
	s->listen_fd = -1;
	enum nd_err e = bind_listen(s, opts->listen, err);
	if (e) {
		free(s);
		return e;
	}
	unsigned threads = opts->threads;
	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n > 0 ? (unsigned)n : 1;
	}
	s->mhd = MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_TURBO | MHD_USE_ERROR_LOG |
			MHD_USE_NO_LISTEN_SOCKET,
		0, NULL, NULL, on_request, s,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
		MHD_OPTION_THREAD_POOL_SIZE, threads,
		MHD_OPTION_CONNECTION_LIMIT, opts->conn_limit,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, opts->per_ip_limit,
		MHD_OPTION_CONNECTION_TIMEOUT, opts->timeout_s,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
		MHD_OPTION_END);
	s->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (!s->mhd || s->wake_fd < 0 || pthread_create(&s->acceptor, NULL, accept_loop, s) != 0) {
		if (s->mhd)
			MHD_stop_daemon(s->mhd);
		if (s->wake_fd >= 0)
			close(s->wake_fd);
		close(s->listen_fd);
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
	free(s);
}
