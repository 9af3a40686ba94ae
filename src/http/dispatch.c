/* dispatch.c - from a request's head and body to its answer: routing
 * through the faces' tables, the key, the handler, the reply.
 *
 * A request is answered only once MHD has handed over the whole body (the
 * call where *upload_data_size is 0): queueing a response earlier makes MHD
 * close the connection, which turns keep-alive off and costs an order of
 * magnitude in throughput. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "http/internal.h"
#include "store/store.h"
#include "util/mem.h"

/* A body over the cap is read and thrown away up to this many bytes, so the
 * client can read our 413 on a healthy connection. A declared body past it
 * is answered 413 before it is read; a chunked one that grows past it is
 * cut off without an answer, since libmicrohttpd takes none mid-body. */
#define DISCARD_MAX (16u << 20)

/* An answer's buffer is first made as large as the worker's last answer
 * made in one buffer, since the next is likely alike: grown by doubling from
 * 1 KiB instead, a listing of 20 in XML was copied four times on the way to
 * 16 KiB (~2% of its time). Bounded, and a buffer four times larger than its
 * answer is cut to size before it waits on the client. */
#define ANSWER_MIN ((size_t)1024)
#define ANSWER_MAX ((size_t)64 * 1024)
static _Thread_local size_t last_answer = ANSWER_MIN;

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
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *peer = ci ? ci->client_addr : NULL;
	unsigned wait;
	if (nd_throttle_blocked(r->srv->throttle, peer, &wait)) {
		char secs[16];
		snprintf(secs, sizeof secs, "%u", wait);
		nd_req_add_header(r, "Retry-After", secs);
		return nd_fail(&r->err, ND_ERR_TOO_MANY, NULL,
			       "too many failed authentications from this address; retry in %u s",
			       wait);
	}
	const char *key = request_key(r->conn);
	enum nd_err e = nd_svc_authenticate(r->db, key, key ? strlen(key) : 0, &r->who, &r->err);
	if (e == ND_ERR_UNAUTHORIZED && key) /* a wrong key is a guess; none is not */
		nd_throttle_failed(r->srv->throttle, peer);
	if (e)
		return e;
	r->authed = true;
	if (!nd_ratelimit_take(r->srv->rate, r->who.key_id, &wait)) {
		char limit[16], secs[16];
		snprintf(limit, sizeof limit, "%u", nd_ratelimit_per_minute(r->srv->rate));
		snprintf(secs, sizeof secs, "%u", wait);
		nd_req_add_header(r, "Retry-After", secs);
		nd_req_add_header(r, "RateLimit-Limit", limit);
		nd_req_add_header(r, "RateLimit-Remaining", "0");
		nd_req_add_header(r, "RateLimit-Reset", secs);
		return nd_fail(&r->err, ND_ERR_TOO_MANY, NULL,
			       "this key is over its %s requests a minute; retry in %u s", limit,
			       wait);
	}
	/* The service checks access again on every call; checking here too
	 * answers 403 before a body is parsed. */
	unsigned flags = r->match.route->flags;
	enum nd_access access = (flags & ND_ROUTE_MEMBER_ANY)    ? ND_ACCESS_MEMBER_ANY
				: (flags & ND_ROUTE_MEMBER_SELF) ? ND_ACCESS_MEMBER_SELF
								 : ND_ACCESS_ADMIN;
	return nd_svc_authorize(&r->who, access, nd_req_param(r, "id"), &r->err);
}

struct header_scan {
	unsigned content_length, transfer_encoding, host;
	const char *cl, *te;
	bool nul; /* a NUL inside a value */
};

/* libmicrohttpd parses the head in place and measures a value with strlen(),
 * so a NUL inside it cuts it short unseen ("X-Key: K\0junk" is "K"). Where
 * a line really ended, the byte after the terminator is the '\0' it wrote
 * over the LF of CRLF; anything else there is the rest of a value cut by a
 * NUL (or a line ended by LF alone, which notifd does not take either). */
static bool value_cut(const char *value)
{
	return value && value[strlen(value) + 1] != '\0';
}

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
				   size_t key_size, const char *value, size_t value_size)
{
	struct header_scan *h = cls;
	if (value_cut(value))
		h->nul = true;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		h->content_length++;
		h->cl = value;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		h->transfer_encoding++;
		h->te = value;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0) {
		h->host++;
	}
	return MHD_YES;
}

/* What libmicrohttpd 0.9.75 lets through about a request's framing, and a
 * server in front of a proxy must not: each is a way to make notifd and the
 * proxy disagree on where a request ends (request smuggling), or on what a
 * header says. Refused before anything else, and the connection closed. */
static enum nd_err framing(struct nd_req *r, const char *version)
{
	struct header_scan h = {0};
	MHD_get_connection_values_n(r->conn, MHD_HEADER_KIND, scan_header, &h);
	if (h.nul)
		return nd_fail(&r->err, ND_ERR_BAD_REQUEST, NULL,
			       "a header holds a NUL byte, or a line does not end in CRLF");
	if (h.host > 1 || (h.host == 0 && strcmp(version, MHD_HTTP_VERSION_1_1) == 0))
		return nd_fail(&r->err, ND_ERR_BAD_REQUEST, NULL,
			       "an HTTP/1.1 request needs exactly one Host header");
	if (h.content_length > 1)
		return nd_fail(&r->err, ND_ERR_BAD_REQUEST, NULL, "more than one Content-Length");
	if (h.content_length && h.transfer_encoding)
		return nd_fail(&r->err, ND_ERR_BAD_REQUEST, NULL,
			       "Content-Length and Transfer-Encoding together");
	if (h.cl && (!*h.cl || strspn(h.cl, "0123456789") != strlen(h.cl)))
		return nd_fail(&r->err, ND_ERR_BAD_REQUEST, NULL, "Content-Length is not a number");
	if (h.transfer_encoding > 1 || (h.te && strcasecmp(h.te, "chunked") != 0))
		return nd_fail(&r->err, ND_ERR_NOT_IMPLEMENTED, NULL,
			       "the only transfer coding notifd takes is chunked, alone");
	return ND_OK;
}

/* Everything the request's head decides, before any body byte is read:
 * its framing, the route, its parameters, the store connection and, when a
 * body follows, the key and its access. A refusal here is answered at once
 * when a body follows, so an unauthenticated client never makes notifd hold
 * its body; bad framing is answered at once in any case (*@close). A
 * request without a body has its key checked with its answer (answer()). */
static enum nd_err admit(struct nd_req *r, const char *version, bool *close)
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
	enum nd_err e = framing(r, version);
	if (e) {
		*close = true;
		return e;
	}
	if (r->uri_len > ND_URI_MAX)
		return nd_fail(&r->err, ND_ERR_URI_TOO_LONG, NULL,
			       "request target is longer than %d bytes", ND_URI_MAX);
	if (r->nargs > ND_QUERY_ARGS_MAX)
		return nd_fail(&r->err, ND_ERR_URI_TOO_LONG, NULL,
			       "request target has more than %d query parameters", ND_QUERY_ARGS_MAX);
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
	/* A public route (the health check) runs without a connection too,
	 * and tells the client so in its own words. */
	e = nd_store_conn(r->srv->store, &r->db, &r->err);
	if (e && !(r->match.route->flags & ND_ROUTE_PUBLIC))
		return e;
	if (r->match.route->flags & ND_ROUTE_PUBLIC)
		return ND_OK;
	/* Until then, no key can be judged: the admin key may not be made. */
	if (r->srv->ready && !atomic_load_explicit(r->srv->ready, memory_order_acquire))
		return nd_fail(&r->err, ND_ERR_BUSY, NULL, "the database is not ready yet, try again");
	if (r->has_body)
		return authenticate(r);
	r->key_pending = true;
	return ND_OK;
}

static enum MHD_Result send_reply(struct nd_req *r)
{
	struct MHD_Response *resp;
	if (r->stream) {
		resp = nd_http_stream_response(r);
	} else {
		size_t len, cap = r->out.cap;
		char *body = nd_buf_steal(&r->out, &len);
		last_answer = len < ANSWER_MIN ? ANSWER_MIN : len < ANSWER_MAX ? len + 1 : ANSWER_MAX;
		if (cap / 4 > len + 1 && cap > ANSWER_MIN)
			body = nd_xrealloc(body, len + 1);
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
	enum nd_err e = r->refused;
	if (!e && r->too_large)
		e = nd_fail(&r->err, ND_ERR_TOO_LARGE, NULL, "request body is larger than %zu bytes",
			    r->srv->max_body);
	if (!e && r->over_budget) {
		nd_req_add_header(r, "Retry-After", "1");
		e = nd_fail(&r->err, ND_ERR_BUSY, NULL,
			    "too many request bodies are being received; retry");
	}
	nd_buf_reserve(&r->out, last_answer - 1);
	/* A GET's key and its reads are one store read (nd_store_read_begin);
	 * the answer stands only once its end confirms the key. Made with a
	 * principal that changed meanwhile, it is made once more. */
	for (int round = 0; !e && r->key_pending; round++) {
		bool read = strcmp(r->method, MHD_HTTP_METHOD_GET) == 0, stale = false;
		if (read && (e = nd_store_read_begin(r->db, &r->err)))
			break;
		e = authenticate(r);
		if (!e)
			e = r->match.route->handler(r);
		if (!read)
			break;
		struct nd_error end_err = {0};
		enum nd_err end = nd_svc_read_end(r->db, &stale, &end_err);
		if (!end && !stale)
			break;
		nd_reply_reset(r);
		if (!end && round == 0) {
			e = ND_OK;
			continue;
		}
		r->err = end_err;
		e = end ? end
			: nd_fail(&r->err, ND_ERR_BUSY, NULL, "the key changed during the request; retry");
		break;
	}
	if (!e && !r->key_pending)
		e = r->match.route->handler(r);
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
		nd_copy_str(r->request_id, sizeof r->request_id, rid);
	else
		nd_request_id_new(r->request_id);
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long declared = cl ? strtoull(cl, NULL, 10) : 0;
	if (declared > r->srv->max_body) {
		r->too_large = true;
		r->discarded = declared > DISCARD_MAX ? DISCARD_MAX : 0;
	}
	r->has_body = declared > 0 || MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
								   MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

/* Takes @n more body bytes into the request, within the server's budget
 * for bodies being received; past it the request is refused (503) and
 * what it held given back. */
static void take_body(struct nd_req *r, const char *data, size_t n)
{
	struct nd_server *s = r->srv;
	if (atomic_fetch_add(&s->body_bytes, n) + n > s->body_budget) {
		atomic_fetch_sub(&s->body_bytes, n);
		nd_http_drop_body(r);
		r->over_budget = true;
		return;
	}
	r->body_held += n;
	nd_buf_add(&r->body, data, n);
}

enum MHD_Result nd_http_on_request(void *cls, struct MHD_Connection *conn, const char *url,
				   const char *method, const char *version,
				   const char *upload_data, size_t *upload_data_size,
				   void **con_cls)
{
	struct nd_req *r = *con_cls;
	if (!r->seen) {
		start_request(r, conn, url, method);
		nd_conn_head_done(r->track, r->has_body);
		bool close = false;
		r->refused = admit(r, version, &close);
		/* Bad framing, a refused request with a body, or a declared body
		 * far beyond the cap is answered before the body is read; MHD
		 * then closes the connection. Otherwise the answer waits for the
		 * usual call, which keeps the connection alive. */
		if (close || (r->refused && r->has_body) ||
		    (r->too_large && r->discarded >= DISCARD_MAX)) {
			answer(r);
			return send_reply(r);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		nd_conn_body_bytes(r->track, n);
		if (r->status)
			return MHD_YES; /* answered; MHD drops the rest */
		if (!r->too_large && r->body.len + n > r->srv->max_body) {
			r->too_large = true;
			nd_http_drop_body(r);
		}
		/* Past the budget the rest is read and dropped like an
		 * oversized body's, and the 503 goes out at the end: MHD takes
		 * no answer while a body is coming in. */
		if (r->over_budget)
			return MHD_YES;
		if (!r->too_large) {
			take_body(r, upload_data, n);
			return MHD_YES;
		}
		r->discarded += n;
		if (r->discarded >= DISCARD_MAX) {
			answer(r);
			return send_reply(r);
		}
		return MHD_YES;
	}
	if (r->deferred)
		return send_reply(r);
	if (r->status)
		return MHD_YES; /* already answered while discarding */
	answer(r);
	/* The answer leaves on the event loop's next pass, after every other
	 * connection ready in this one has been answered: MHD keeps a
	 * connection whose final call queued no response in its list of ready
	 * ones and calls the handler again on the next pass (which then polls
	 * without waiting), where this function sends it. The pass's answers
	 * then go out back to back, and a client asleep between them is woken
	 * once per pass, not once per answer (docs/design.md, "HTTP", has the
	 * measurements). */
	r->deferred = true;
	return MHD_YES;
}
