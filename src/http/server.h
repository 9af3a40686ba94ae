/* server.h - the HTTP layer on libmicrohttpd.
 *
 * Owns listening, per-request state, limits, request ids, the auth header,
 * dispatch through each face's route table and the access log. Faces see a
 * struct nd_req: its principal, decoded path parameters, the body and an
 * output buffer; they call the service layer (svc/svc.h) with
 * nd_req_call(r) and answer by filling the output and returning ND_OK, or
 * by returning an error that their face's renderer turns into bytes.
 *
 * The layer knows no face by name: a face is a descriptor (routes, the path
 * prefix it claims, its error renderer) in the list notifd.c passes to
 * nd_server_start(). */
#ifndef ND_HTTP_SERVER_H
#define ND_HTTP_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/model.h"
#include "http/route.h"
#include "svc/svc.h"
#include "util/buf.h"

struct nd_req;
struct nd_store;
struct nd_store_conn;

struct nd_face {
	const char *name;
	const char *prefix; /* paths whose errors this face renders, or NULL */
	const struct nd_route *routes;
	size_t nroutes;
	/* Writes r->err (status and texts from @info) into r->out in the
	 * face's wire format and sets r->content_type. The first face of the
	 * server's list also renders errors on paths no face claims. */
	void (*render_error)(struct nd_req *r, const struct nd_err_info *info);
};

struct nd_server_opts {
	const char *listen;   /* "ADDR:PORT", "[V6]:PORT"; port 0 picks a free one */
	unsigned threads;     /* worker threads, 0 = one per core */
	size_t max_body;      /* request body cap in bytes */
	size_t body_memory;   /* all bodies being received at once, in bytes (>= max_body) */
	unsigned conn_limit;  /* open connections, whole server */
	unsigned per_ip_limit;
	unsigned timeout_s;   /* idle connection timeout */
	unsigned auth_failures; /* per client address and minute, then 429; 0 = no limit */
	unsigned head_timeout;  /* seconds to send a request head, once ready for one */
	unsigned rate_limit;    /* requests per key and minute, 0 = no limit */
	unsigned rate_burst;    /* of them at once, 0 = a minute's worth */
	unsigned min_body_rate; /* bytes a second a body must keep up after 10 s; 0 = none */
	/* NULL, or false until the database is ready (the admin key made,
	 * the schema current): until then every keyed request is a 503. */
	const atomic_bool *ready;
};

#define ND_URI_MAX 8192
#define ND_QUERY_ARGS_MAX 64 /* query parameters in one request target */
#define ND_MAX_EXTRA_HEADERS 5

struct nd_server;

/* A response body produced piece by piece after the headers went out
 * (chunked transfer encoding), e.g. a feed streamed from a database cursor.
 * A face embeds this as the first member of its own state. */
struct nd_stream {
	/* Appends the next piece to @out; sets *@done after the last one. Runs
	 * on the connection's worker thread with that thread's store connection.
	 * An error after the first piece can only cut the stream short. */
	enum nd_err (*next)(struct nd_stream *s, struct nd_store_conn *db, struct nd_buf *out,
			    bool *done, struct nd_error *err);
	/* Frees the face's state (the whole struct). */
	void (*release)(struct nd_stream *s);
};

struct nd_req {
	struct nd_server *srv;
	struct MHD_Connection *conn;
	const struct nd_face *face;
	const char *method;
	char *path;
	size_t uri_len; /* whole request target, query included */
	char *query;    /* the raw query (after '?'), or NULL */
	size_t nargs;   /* its parameters, counted by '&' */
	/* Its "name=value" parameters (the first ND_QUERY_ARGS_MAX), as
	 * offsets into @query, split once for every lookup. */
	struct nd_query_arg {
		uint16_t name, name_len, value, value_len;
	} args[ND_QUERY_ARGS_MAX];
	size_t nvalued;
	char request_id[ND_REQUEST_ID_MAX + 1];
	int64_t started_ns;
	bool seen;      /* the access handler has been called once */
	bool too_large; /* body went over the cap; the rest is discarded */
	size_t discarded;
	bool has_body;        /* the head announces one (Content-Length > 0 or chunked) */
	enum nd_err refused;  /* what the head alone decided against the request */
	bool over_budget;     /* the server held too much body already: 503 */
	size_t body_held;     /* bytes of body counted in the server's budget */
	struct nd_conn *track; /* its connection's record (conns.h), or NULL */
	struct nd_buf body;

	/* Routing and authentication. */
	struct nd_route_match match;
	char *params[ND_ROUTE_MAX_PARAMS]; /* decoded, NUL-terminated */
	bool key_pending; /* no body: the key is checked with the answer */
	bool authed;
	struct nd_principal who;
	struct nd_store_conn *db; /* NULL on a public route when the store is unreachable */

	/* The answer. */
	unsigned status;
	const char *content_type;
	struct nd_buf out;
	const char *hdr_name[ND_MAX_EXTRA_HEADERS];
	char *hdr_value[ND_MAX_EXTRA_HEADERS];
	struct nd_error err;
	struct nd_stream *stream; /* set by nd_reply_stream() */
	bool deferred; /* answered, sent on the event loop's next pass */
	/* Decoded query values: in @qspace while they fit (a request's few
	 * short values, without an allocation each), else in @owned, freed
	 * with the request. */
	char qspace[256];
	size_t qused;
	char **owned;
	size_t nowned;
};

/* Binds and starts serving @faces (tried in order). Fails with a message
 * naming the address. */
enum nd_err nd_server_start(const struct nd_server_opts *opts, struct nd_store *store,
			    const struct nd_face *const *faces, size_t nfaces,
			    struct nd_server **out, struct nd_error *err);
/* The bound address, "127.0.0.1:41234". */
const char *nd_server_addr(const struct nd_server *s);
/* Stops accepting, lets in-flight requests finish (up to @grace_ms), then
 * closes every connection and frees @s. */
void nd_server_stop(struct nd_server *s, unsigned grace_ms);

/* For handlers. */
/* Decoded path parameter by placeholder name (without braces); never NULL
 * for a name the route's pattern has. */
const char *nd_req_param(const struct nd_req *r, const char *name);
/* Decoded query parameter, or NULL when absent. Sets @bad when present but
 * not decodable, or not valid UTF-8 once decoded. The result lives as long
 * as the request. */
const char *nd_req_query(struct nd_req *r, const char *name, bool *bad);
/* Answer with a JSON body already written into r->out. */
enum nd_err nd_reply_json(struct nd_req *r, unsigned status);
/* Answer with a streamed body. The first piece is produced now, so an
 * error before any byte is sent still becomes a normal error reply; on
 * error @s is released and the error returned. On success the reply owns @s. */
enum nd_err nd_reply_stream(struct nd_req *r, unsigned status, const char *content_type,
			    struct nd_stream *s);
/* Answer with no body. */
enum nd_err nd_reply_empty(struct nd_req *r, unsigned status);
void nd_req_add_header(struct nd_req *r, const char *name, const char *value);
/* Forgets the answer made so far (body, status, headers, stream). */
void nd_reply_reset(struct nd_req *r);

/* The service call of this request: its store connection, principal and
 * error slot. */
struct nd_call nd_req_call(struct nd_req *r);

/* Renders r->err with the renderer of r->face (the first face's when no
 * face matched) into r->out, setting status and content type. */
void nd_reply_error(struct nd_req *r);

#endif
