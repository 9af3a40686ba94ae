/* stream.c - streamed response bodies (chunked): a face's struct
 * nd_stream produces the body piece by piece on the connection's worker
 * thread, e.g. a feed read from the database in batches. */
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"
#include "store/store.h"
#include "util/log.h"
#include "util/mem.h"

/* The body of a streamed reply: the face's stream plus the bytes produced
 * but not yet taken by MHD. */
struct stream_body {
	struct nd_stream *s;
	struct nd_store *store;
	struct nd_conn *track; /* the connection's record, to cut it on failure */
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
	if (done)
		s->release(s); /* everything fit in the first piece: a plain reply */
	else
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
			nd_conn_cut(sb->track);
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

#define STREAM_BLOCK (64 * 1024)

struct MHD_Response *nd_http_stream_response(struct nd_req *r)
{
	struct stream_body *sb = nd_xcalloc(1, sizeof *sb);
	sb->s = r->stream;
	sb->store = r->srv->store;
	sb->track = r->track;
	sb->pending = r->out; /* the first piece, already produced */
	r->out = (struct nd_buf)ND_BUF_INIT;
	r->stream = NULL;
	struct MHD_Response *resp = MHD_create_response_from_callback(
		MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read, sb, stream_free);
	if (!resp)
		stream_free(sb);
	return resp;
}
