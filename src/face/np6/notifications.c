/* notifications.c - NP6 GET /targets/{id}/notifications, streamed.
 *
 * The array is produced in batches read by keyset (routing time, key), each
 * batch a short query, so a target with millions of deliveries streams with
 * constant memory and the first bytes leave after the first batch. */
#include <stdlib.h>
#include <string.h>

#include "util/time.h"
#include "face/np6/np6.h"
#include "util/mem.h"

#define BATCH 512

struct np6_feed {
	struct nd_stream base;
	struct nd_principal who; /* each batch is a service call of its own */
	char *target;
	struct nd_feed_query q;
	bool opened;
	size_t rows;       /* written so far */
	size_t batch_rows; /* in the current batch */
	struct nd_buf *out;
};

static int feed_row(void *arg, const struct nd_delivery *d)
{
	struct np6_feed *f = arg;
	struct nd_buf *b = f->out;
	if (f->rows++)
		nd_buf_putc(b, ',');
	f->batch_rows++;
	nd_buf_puts(b, "{\"notification_key\":");
	nd_buf_json_int(b, d->n->key);
	nd_buf_puts(b, ",\"target\":");
	nd_buf_json_str(b, d->target);
	nd_buf_puts(b, ",\"libelle\":");
	nd_buf_json_str(b, d->n->libelle ? d->n->libelle : "");
	nd_buf_puts(b, ",\"dismiss\":");
	nd_buf_json_time(b, d->at[ND_EV_DISMISS]);
	nd_buf_puts(b, ",\"activation\":");
	nd_buf_json_time(b, d->at[ND_EV_ACTIVATION]);
	nd_buf_puts(b, ",\"redirection\":");
	nd_buf_json_time(b, d->at[ND_EV_REDIRECTION]);
	nd_buf_puts(b, ",\"impression\":");
	nd_buf_json_time(b, d->at[ND_EV_IMPRESSION]);
	nd_buf_putc(b, '}');
	f->q.after_at = d->routed_at;
	f->q.after_key = d->n->key;
	return 0;
}

static enum nd_err feed_next(struct nd_stream *s, struct nd_store_conn *db, struct nd_buf *out,
			     bool *done, struct nd_error *err)
{
	struct np6_feed *f = (struct np6_feed *)s;
	if (!f->opened) {
		nd_buf_putc(out, '[');
		f->opened = true;
	}
	f->out = out;
	f->batch_rows = 0;
	const struct nd_call c = {db, &f->who, err};
	enum nd_err e = nd_svc_feed(&c, &f->q, feed_row, f);
	if (e)
		return e;
	if (f->batch_rows < BATCH) {
		nd_buf_putc(out, ']');
		*done = true;
	}
	return ND_OK;
}

static void feed_release(struct nd_stream *s)
{
	struct np6_feed *f = (struct np6_feed *)s;
	free(f->target);
	free(f);
}

/* A start/end parameter: ISO-8601 or a numeric timestamp. An unencoded '+'
 * of an offset reaches us as a space (form decoding); no valid value holds
 * a space, so it is read back as the '+' the client meant. */
static enum nd_err time_param(struct nd_req *r, const char *name, int64_t *out)
{
	bool bad = false;
	const char *v = nd_req_query(r, name, &bad);
	*out = ND_NO_TIME;
	if (!v && !bad)
		return ND_OK;
	char tmp[64];
	size_t n = bad ? sizeof tmp : strlen(v);
	if (n < sizeof tmp) {
		memcpy(tmp, v, n + 1);
		for (char *p = tmp; *p; p++)
			if (*p == ' ')
				*p = '+';
		if (nd_time_parse_param(tmp, out))
			return ND_OK;
	}
	return nd_fail(&r->err, ND_ERR_INVALID_PARAM, name,
		       "%s must be an ISO-8601 date-time (with Z or an offset) or a date, in years "
		       "0000..9999, or a Unix timestamp in seconds or milliseconds",
		       name);
}

enum nd_err np6_notifications(struct nd_req *r)
{
	const char *id;
	int64_t start, end;
	enum nd_err e = np6_target_param(r, "id", &id);
	if (e || (e = time_param(r, "start", &start)) || (e = time_param(r, "end", &end)))
		return e;
	bool bad = false;
	const char *sort = nd_req_query(r, "sort", &bad);
	if (bad || (sort && strcmp(sort, "asc") != 0 && strcmp(sort, "desc") != 0))
		return nd_fail(&r->err, ND_ERR_INVALID_PARAM, "sort", "sort must be asc or desc");

	struct np6_feed *f = nd_xcalloc(1, sizeof *f);
	f->base.next = feed_next;
	f->base.release = feed_release;
	f->who = r->who;
	f->target = nd_xstrdup(id);
	f->q = (struct nd_feed_query){
		.target = f->target,
		.start = start,
		.end = end,
		/* Without sort NP6 promises no order; notifd still gives a stable one. */
		.ascending = !sort || strcmp(sort, "asc") == 0,
		.after_at = ND_NO_TIME,
		.limit = BATCH,
	};
	return nd_reply_stream(r, 200, "application/json", &f->base);
}
