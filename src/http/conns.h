/* conns.h - the server's own view of its connections: admission against
 * the connection limits, and deadlines libmicrohttpd does not keep.
 *
 * libmicrohttpd's timeout counts idle time only, so a client that trickles
 * a byte every few seconds holds a connection for ever. Here every
 * connection is on a list the reaper thread walks once a second, cutting
 *   - one that has not sent a whole request head within head_timeout of
 *     being ready for one (opened, or its previous response done: an idle
 *     keep-alive connection ends then too);
 *   - one whose body, after its first ten seconds, arrives slower than
 *     min_body_rate bytes a second.
 * A connection past the total or per-address limit is answered 503 at
 * once and closed, before libmicrohttpd sees it. What was cut or refused is
 * logged once per interval, as counts, never once per connection. */
#ifndef ND_HTTP_CONNS_H
#define ND_HTTP_CONNS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct nd_conns;
struct nd_conn;

struct nd_conns_opts {
	unsigned limit;         /* open connections at most */
	unsigned per_ip;        /* per client address, 0 = no limit */
	unsigned head_timeout;  /* seconds */
	unsigned min_body_rate; /* bytes a second, 0 = no minimum */
};

/* Starts the reaper thread; NULL when it cannot. */
struct nd_conns *nd_conns_new(const struct nd_conns_opts *o);
/* Stops the reaper and frees everything (the connections are gone). */
void nd_conns_free(struct nd_conns *c);

/* A connection just accepted: its record, or NULL when a limit refuses it
 * (then @fd was answered 503 and closed). */
struct nd_conn *nd_conns_admit(struct nd_conns *c, int fd, const struct sockaddr *addr);
/* libmicrohttpd refused an admitted connection (it closed @fd). */
void nd_conns_forget(struct nd_conns *c, struct nd_conn *k);
/* libmicrohttpd's connection notifications: started (the record of @fd,
 * from now on safe to cut) and closed (the record goes). */
struct nd_conn *nd_conns_started(struct nd_conns *c, int fd);
void nd_conns_closed(struct nd_conns *c, struct nd_conn *k);

/* A request's head is in; @body: a body follows. */
void nd_conn_head_done(struct nd_conn *k, bool body);
void nd_conn_body_bytes(struct nd_conn *k, uint64_t n);
/* The response is done: the connection waits for its next request. */
void nd_conn_request_done(struct nd_conn *k);
/* Cuts the connection now (shutdown(), libmicrohttpd then closes it): for
 * a streamed answer that failed half-way, which libmicrohttpd 0.9.75 would
 * otherwise leave open, the client waiting for the rest, until it gives
 * up. NULL: nothing. */
void nd_conn_cut(struct nd_conn *k);

#endif
