/* listen.c - the listening socket and the thread that accepts on it.
 *
 * notifd accepts connections itself, in one thread, and hands them to MHD
 * with MHD_add_connection(). That makes "stop accepting" a matter of closing
 * our own socket: MHD 0.9.75's MHD_quiesce_daemon() races with its epoll
 * workers over the listening socket and can abort the process. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/internal.h"
#include "util/log.h"

enum nd_err nd_http_bind(struct nd_server *s, const char *listen_spec, struct nd_error *err)
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

/* A pause before trying again, when the system is short of something. */
static void back_off(void)
{
	struct timespec ts = {0, 50 * 1000000L};
	nanosleep(&ts, NULL);
}

void *nd_http_accept_loop(void *arg)
{
	struct nd_server *s = arg;
	struct pollfd p[2] = {{.fd = s->listen_fd, .events = POLLIN},
			      {.fd = s->wake_fd, .events = POLLIN}};
	bool failing = false; /* poll() failed last time round: said once */
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			/* ENOMEM is the kernel short of memory for a moment: back off
			 * and try again rather than stop accepting for good. */
			if (errno != EINTR) {
				if (!failing)
					nd_log("error", "http", "poll on the listening socket: %s",
					       strerror(errno));
				failing = true;
				back_off();
			}
			continue;
		}
		failing = false;
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
				back_off();
			}
			continue;
		}
		struct nd_conn *k = nd_conns_admit(s->conns, fd, (struct sockaddr *)&ss);
		if (!k)
			continue; /* answered 503 and closed */
		/* On failure (no memory) MHD closes the socket. */
		if (MHD_add_connection(s->mhd, fd, (struct sockaddr *)&ss, sl) != MHD_YES)
			nd_conns_forget(s->conns, k);
	}
}
