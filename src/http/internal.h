/* internal.h - what the HTTP layer's files share: the server's state and
 * the entry points between listening, dispatch and streaming. */
#ifndef ND_HTTP_INTERNAL_H
#define ND_HTTP_INTERNAL_H

#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>

#include "http/conns.h"
#include "http/ratelimit.h"
#include "http/server.h"
#include "http/throttle.h"

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
	atomic_size_t body_bytes; /* held by the bodies being received */
	size_t body_budget;       /* their most */
	struct nd_throttle *throttle; /* failed keys per client address, or NULL */
	struct nd_conns *conns;       /* admission and deadlines */
	struct nd_ratelimit *rate;    /* requests per key, or NULL */
	const atomic_bool *ready;     /* nd_server_opts.ready */
};

/* listen.c: binds s->listen_fd to "ADDR:PORT" and fills s->addr. */
enum nd_err nd_http_bind(struct nd_server *s, const char *listen_spec, struct nd_error *err);
/* listen.c: the acceptor thread; hands each connection to MHD until
 * s->wake_fd is signalled. */
void *nd_http_accept_loop(void *arg);

/* dispatch.c: MHD's access handler. */
enum MHD_Result nd_http_on_request(void *cls, struct MHD_Connection *conn, const char *url,
				   const char *method, const char *version,
				   const char *upload_data, size_t *upload_data_size,
				   void **con_cls);

/* conns.c: the 16-byte form of an IPv4 or IPv6 address (IPv4 as
 * ::ffff:a.b.c.d); false, and zeros, for anything else. */
bool nd_http_addr16(const struct sockaddr *sa, unsigned char out[16]);

/* server.c: frees what @r holds of its body and gives it back to the
 * server's budget. */
void nd_http_drop_body(struct nd_req *r);

/* Counts r->query's parameters into r->nargs and splits its "name=value"
 * ones into r->args (reply.c). */
void nd_req_split_query(struct nd_req *r);

/* stream.c: a response that pulls r->stream (taken over) for its body. */
struct MHD_Response *nd_http_stream_response(struct nd_req *r);

#endif
