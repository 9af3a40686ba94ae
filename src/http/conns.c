/* conns.c - admission and deadlines of the server's connections (conns.h).
 *
 * The list changes only when a connection comes or goes, under one mutex;
 * a request's progress is written into its record with relaxed atomics, so
 * the request path takes no lock. A record's descriptor is cut (shutdown(),
 * never close()) only while the record is on the list and libmicrohttpd
 * has announced the connection: it reports a connection closed before it
 * closes the descriptor, and that report waits for the same mutex, so the
 * descriptor cut is always the connection's own. libmicrohttpd then sees the
 * end of the stream and closes the connection itself. */
#include "http/conns.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/internal.h"
#include "util/fault.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#define BODY_GRACE_MS 10000 /* before a body's rate counts */
#define REPORT_MS 10000     /* at most one log line of counts per this */
#define STARTED_WITHIN_MS 10000 /* libmicrohttpd announces an accepted connection */

struct nd_conn {
	struct nd_conn *prev, *next;
	int fd;
	unsigned char addr[16];
	bool started;           /* libmicrohttpd announced it: safe to cut */
	int64_t admitted_ms;
	atomic_int_fast64_t ready_ms; /* waiting for a request head since; 0: head in */
	atomic_int_fast64_t body_ms;  /* receiving a body since; 0: none */
	atomic_uint_fast64_t body_bytes;
};

struct nd_conns {
	struct nd_conns_opts o;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	pthread_t reaper;
	struct nd_conn *head;
	unsigned n;
	/* counts since the last report */
	unsigned refused_total, refused_addr, cut_head, cut_body;
	int64_t reported_ms;
};

bool nd_http_addr16(const struct sockaddr *sa, unsigned char out[16])
{
	if (sa && sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		return true;
	}
	if (sa && sa->sa_family == AF_INET) {
		static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		memcpy(out, v4mapped, 12);
		memcpy(out + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return true;
	}
	memset(out, 0, 16);
	return false;
}

/* One log line of what was refused and cut since the last one, at most
 * every REPORT_MS. Under c->mu. */
static void report(struct nd_conns *c, int64_t now, bool force)
{
	if (!c->refused_total && !c->refused_addr && !c->cut_head && !c->cut_body)
		return;
	if (!force && now - c->reported_ms < REPORT_MS)
		return;
	nd_log("warn", "http",
	       "in the last %lld s: %u connections refused at the connection limit, %u at the "
	       "per-address limit; %u cut for a request head not sent within %u s, %u for a "
	       "body slower than %u bytes/s",
	       (long long)((now - c->reported_ms + 999) / 1000), c->refused_total, c->refused_addr,
	       c->cut_head, c->o.head_timeout, c->cut_body, c->o.min_body_rate);
	c->refused_total = c->refused_addr = c->cut_head = c->cut_body = 0;
	c->reported_ms = now;
}

static void unlink_conn(struct nd_conns *c, struct nd_conn *k);

/* Under c->mu: cuts what is past its deadline. */
static void reap(struct nd_conns *c, int64_t now)
{
	for (struct nd_conn *k = c->head, *next; k; k = next) {
		next = k->next;
		if (!k->started) {
			/* Handed to libmicrohttpd, never announced: it gave up on the
			 * connection (and closed it) without a word. Its descriptor
			 * may be another's by now, so the record goes untouched. */
			if (now - k->admitted_ms > STARTED_WITHIN_MS)
				unlink_conn(c, k);
			continue;
		}
		int64_t ready = atomic_load_explicit(&k->ready_ms, memory_order_relaxed);
		int64_t body = atomic_load_explicit(&k->body_ms, memory_order_relaxed);
		bool cut = false;
		if (ready && now - ready > (int64_t)c->o.head_timeout * 1000) {
			c->cut_head++;
			cut = true;
		} else if (body && c->o.min_body_rate && now - body > BODY_GRACE_MS) {
			uint64_t got = atomic_load_explicit(&k->body_bytes, memory_order_relaxed);
			if (got < (uint64_t)c->o.min_body_rate * (uint64_t)(now - body) / 1000) {
				c->cut_body++;
				cut = true;
			}
		}
		if (cut) {
			shutdown(k->fd, SHUT_RDWR);
			/* once: libmicrohttpd closes it soon, and it must not count twice */
			atomic_store_explicit(&k->ready_ms, 0, memory_order_relaxed);
			atomic_store_explicit(&k->body_ms, 0, memory_order_relaxed);
		}
	}
}

static void *reaper_run(void *arg)
{
	struct nd_conns *c = arg;
	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&c->cv, &c->mu, &until);
		if (c->stop)
			break;
		int64_t now = nd_time_mono_ms();
		reap(c, now);
		report(c, now, false);
	}
	report(c, nd_time_mono_ms(), true);
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

struct nd_conns *nd_conns_new(const struct nd_conns_opts *o)
{
	struct nd_conns *c = nd_xcalloc(1, sizeof *c);
	c->o = *o;
	c->reported_ms = nd_time_mono_ms();
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if (nd_thread_create(&c->reaper, reaper_run, c) != 0) {
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		free(c);
		return NULL;
	}
	return c;
}

void nd_conns_free(struct nd_conns *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->reaper, NULL);
	while (c->head) {
		struct nd_conn *k = c->head;
		c->head = k->next;
		free(k);
	}
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* The answer to a connection refused at admission, sent without reading
 * anything (best effort: the socket is new, so its buffer has room). */
static void refuse(int fd, const char *detail)
{
	char body[256], resp[512];
	int bn = snprintf(body, sizeof body,
			  "{\"type\":\"urn:notifd:problem:unavailable\",\"title\":\"service "
			  "unavailable\",\"status\":503,\"detail\":\"%s\"}",
			  detail);
	int rn = snprintf(resp, sizeof resp,
			  "HTTP/1.1 503 Service Unavailable\r\nContent-Type: "
			  "application/problem+json\r\nRetry-After: 1\r\nConnection: close\r\n"
			  "Content-Length: %d\r\n\r\n%s",
			  bn, body);
	if (rn > 0 && (size_t)rn < sizeof resp) {
		ssize_t w;
		do
			w = send(fd, resp, (size_t)rn, MSG_NOSIGNAL | MSG_DONTWAIT);
		while (w < 0 && errno == EINTR);
	}
	close(fd);
}

struct nd_conn *nd_conns_admit(struct nd_conns *c, int fd, const struct sockaddr *addr)
{
	unsigned char a[16];
	bool known = nd_http_addr16(addr, a);
	pthread_mutex_lock(&c->mu);
	const char *why = NULL;
	if (c->n >= c->o.limit) {
		c->refused_total++;
		why = "the server is at its connection limit; retry";
	} else if (known && c->o.per_ip) {
		unsigned same = 0;
		for (struct nd_conn *k = c->head; k && same < c->o.per_ip; k = k->next)
			same += memcmp(k->addr, a, 16) == 0;
		if (same >= c->o.per_ip) {
			c->refused_addr++;
			why = "too many connections from this address; retry";
		}
	}
	struct nd_conn *k = NULL;
	if (!why) {
		k = nd_xcalloc(1, sizeof *k);
		k->fd = fd;
		memcpy(k->addr, a, 16);
		k->admitted_ms = nd_time_mono_ms();
		k->next = c->head;
		if (c->head)
			c->head->prev = k;
		c->head = k;
		c->n++;
	}
	pthread_mutex_unlock(&c->mu);
	if (why)
		refuse(fd, why);
	return k;
}

static void unlink_conn(struct nd_conns *c, struct nd_conn *k)
{
	if (k->prev)
		k->prev->next = k->next;
	else
		c->head = k->next;
	if (k->next)
		k->next->prev = k->prev;
	c->n--;
	free(k);
}

void nd_conns_forget(struct nd_conns *c, struct nd_conn *k)
{
	pthread_mutex_lock(&c->mu);
	unlink_conn(c, k);
	pthread_mutex_unlock(&c->mu);
}

struct nd_conn *nd_conns_started(struct nd_conns *c, int fd)
{
	pthread_mutex_lock(&c->mu);
	struct nd_conn *k = c->head;
	while (k && (k->started || k->fd != fd))
		k = k->next;
	if (k) {
		k->started = true;
		atomic_store_explicit(&k->ready_ms, nd_time_mono_ms(), memory_order_relaxed);
	}
	pthread_mutex_unlock(&c->mu);
	return k;
}

void nd_conns_closed(struct nd_conns *c, struct nd_conn *k)
{
	if (k)
		nd_conns_forget(c, k);
}

void nd_conn_head_done(struct nd_conn *k, bool body)
{
	if (!k)
		return;
	atomic_store_explicit(&k->ready_ms, 0, memory_order_relaxed);
	atomic_store_explicit(&k->body_bytes, 0, memory_order_relaxed);
	atomic_store_explicit(&k->body_ms, body ? nd_time_mono_ms() : 0, memory_order_relaxed);
}

void nd_conn_body_bytes(struct nd_conn *k, uint64_t n)
{
	if (k)
		atomic_fetch_add_explicit(&k->body_bytes, n, memory_order_relaxed);
}

void nd_conn_request_done(struct nd_conn *k)
{
	if (!k)
		return;
	atomic_store_explicit(&k->body_ms, 0, memory_order_relaxed);
	atomic_store_explicit(&k->ready_ms, nd_time_mono_ms(), memory_order_relaxed);
}

void nd_conn_cut(struct nd_conn *k)
{
	if (k)
		shutdown(k->fd, SHUT_RDWR);
}
