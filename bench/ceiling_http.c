/* ceiling_http.c - the HTTP library's ceiling notifd's hot paths are
 * measured against.
 *
 *   ceiling_http PORT FILE CONTENT_TYPE
 *
 * Answers every request on 127.0.0.1:PORT with the bytes of FILE, through
 * libmicrohttpd configured as notifd configures it (src/http/server.c: one
 * epoll thread, turbo, 16 KiB of connection memory), queuing the answer once
 * the whole request is seen, as notifd does, and nothing else: no routing,
 * no authentication, no store. notifd answers through the same library, so
 * it cannot answer a request faster than this program answers the same
 * bytes. Runs until SIGINT or SIGTERM. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *body, *content_type;
static size_t body_len;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **state)
{
	(void)cls, (void)url, (void)method, (void)version, (void)upload;
	if (!*state) { /* the head: answer on a later call, once the request is whole */
		*state = conn;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(body_len, (void *)body,
								 MHD_RESPMEM_PERSISTENT);
	if (!r || MHD_add_response_header(r, "Content-Type", content_type) != MHD_YES)
		return MHD_NO;
	enum MHD_Result ok = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ok;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *data = NULL;
	long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
	if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)n + 1)) &&
	    fread(data, 1, (size_t)n, f) != (size_t)n) {
		free(data);
		data = NULL;
	}
	fclose(f);
	*len = n > 0 ? (size_t)n : 0;
	return data;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: ceiling_http PORT FILE CONTENT_TYPE\n");
		return 2;
	}
	int port = atoi(argv[1]);
	char *data = slurp(argv[2], &body_len);
	if (port <= 0 || port > 65535 || !data) {
		fprintf(stderr, "ceiling_http: bad port, or cannot read %s\n", argv[2]);
		return 2;
	}
	body = data;
	content_type = argv[3];
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL); /* the daemon's thread inherits the mask */
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO, 0, NULL, NULL, on_request, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
		MHD_OPTION_CONNECTION_LIMIT, 4096u,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(16 * 1024),
		MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "ceiling_http: cannot listen on port %d\n", port);
		return 1;
	}
	int sig;
	sigwait(&stop, &sig);
	MHD_stop_daemon(d);
	free(data);
	return 0;
}
