/* reply.c - what handlers call to answer: path and query values, JSON and
 * empty replies, extra headers, and errors, which the matched face's
 * renderer turns into bytes. The status always comes from the registry in
 * core/err.c, so a face can change the body but never the status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/ids.h"
#include "http/internal.h"
#include "util/buf.h"
#include "util/mem.h"

const char *nd_req_param(const struct nd_req *r, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < r->match.nparams; i++)
		if (strncmp(r->match.param_name[i], name, n) == 0 &&
		    r->match.param_name[i][n] == '}')
			return r->params[i];
	return NULL;
}

void nd_req_split_query(struct nd_req *r)
{
	/* Offsets fit 16 bits: MHD's 16 KiB pool holds no longer request
	 * target, and one past ND_URI_MAX (or with more than
	 * ND_QUERY_ARGS_MAX parameters) is refused before any lookup. */
	_Static_assert(ND_URI_MAX < UINT16_MAX, "a query's offsets no longer fit");
	const char *q = r->query;
	for (size_t at = 0;; at++) {
		size_t len = strcspn(q + at, "&");
		const char *eq = memchr(q + at, '=', len);
		if (eq && r->nvalued < ND_QUERY_ARGS_MAX && at + len <= UINT16_MAX) {
			size_t name_len = (size_t)(eq - (q + at));
			r->args[r->nvalued++] = (struct nd_query_arg){
			    (uint16_t)at, (uint16_t)name_len, (uint16_t)(at + name_len + 1),
			    (uint16_t)(len - name_len - 1)};
		}
		r->nargs++;
		at += len;
		if (q[at] == '\0')
			return;
	}
}

/* The raw value of the first "@name=value" in the query (names compared
 * without case, as libmicrohttpd compared them), its length in *@n; a name
 * without '=' has no value. */
static const char *query_value(const struct nd_req *r, const char *name, size_t *n)
{
	size_t want = strlen(name);
	for (size_t i = 0; i < r->nvalued; i++) {
		const struct nd_query_arg *a = &r->args[i];
		if (a->name_len == want && strncasecmp(r->query + a->name, name, want) == 0) {
			*n = a->value_len;
			return r->query + a->value;
		}
	}
	return NULL;
}

const char *nd_req_query(struct nd_req *r, const char *name, bool *bad)
{
	size_t n;
	const char *raw = query_value(r, name, &n);
	if (!raw)
		return NULL;
	/* Decoding never lengthens a value. */
	bool inline_space = n < sizeof r->qspace - r->qused;
	char *out = inline_space ? r->qspace + r->qused : nd_xmalloc(n + 1);
	long len = nd_pct_decode(raw, n, out, true);
	/* Text reaches the store and the answers only as valid UTF-8 (a
	 * PostgreSQL database refuses anything else outright). */
	for (long i = 0, step; len >= 0 && i < len; i += step)
		if ((step = (long)nd_utf8_seq((const unsigned char *)out + i, (size_t)(len - i))) == 0)
			len = -1;
	if (len < 0) {
		if (!inline_space)
			free(out);
		*bad = true;
		return NULL;
	}
	if (inline_space) {
		r->qused += (size_t)len + 1;
		return out;
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

void nd_reply_reset(struct nd_req *r)
{
	for (size_t i = 0; i < ND_MAX_EXTRA_HEADERS; i++) {
		free(r->hdr_value[i]);
		r->hdr_value[i] = NULL;
		r->hdr_name[i] = NULL;
	}
	if (r->stream) {
		r->stream->release(r->stream);
		r->stream = NULL;
	}
	nd_buf_reset(&r->out);
	r->status = 0;
	r->content_type = NULL;
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

struct nd_call nd_req_call(struct nd_req *r)
{
	return (struct nd_call){r->db, &r->who, &r->err};
}

void nd_reply_error(struct nd_req *r)
{
	const struct nd_err_info *info = nd_err_info(r->err.code);
	const struct nd_face *f = r->face ? r->face : r->srv->faces[0];
	r->status = info->status;
	nd_buf_reset(&r->out);
	f->render_error(r, info);
}
