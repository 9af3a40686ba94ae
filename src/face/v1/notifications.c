/* notifications.c - native notification, feed and event routes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/time.h"
#include "face/v1/v1.h"
#include "util/mem.h"
#include "util/memo.h"

#define MAX_TARGETS 10000
#define MAX_SEGMENTS 1000
#define FEED_DEFAULT 50
#define FEED_MAX 1000

static const struct nd_field_spec notification_spec[] = {
	{"libelle", ND_F_STRING, true, 1, 255, 0},
	{"body", ND_F_STRING, false, 0, 4096, 0},
	{"url", ND_F_STRING, false, 0, 2048, 0},
	{"type", ND_F_STRING, false, 0, 64, 0},
	{"action_type", ND_F_INT32, false, 0, 0, 0},
	{"campaign_id", ND_F_ID, false, 0, 0, 0},
	{"profile", ND_F_STRING, false, 0, 2048, 0},
	{"screen_name", ND_F_STRINGS, false, 0, 50, 128},
	{"batch", ND_F_STRING, false, 0, 200, 0},
	{"date_started", ND_F_TIME, false, 0, 0, 0},
	{"date_due", ND_F_TIME, false, 0, 0, 0},
	{"targets", ND_F_IDS, false, 0, MAX_TARGETS, 0},
	{"segments", ND_F_INT32S, false, 0, MAX_SEGMENTS, 0},
};

/* A checked optional time field, or ND_NO_TIME. */
static int64_t body_time(const json_t *body, const char *name)
{
	int64_t ms;
	const char *s = nd_json_str(body, name);
	return s && nd_time_parse_iso(s, &ms) ? ms : ND_NO_TIME;
}

enum nd_err v1_notification_create(struct nd_req *r)
{
	json_t *body;
	enum nd_err e = v1_body(r, notification_spec,
				sizeof notification_spec / sizeof notification_spec[0], &body);
	if (e)
		return e;
	const json_t *names = json_object_get(body, "screen_name");
	char *names_text = json_is_array(names) ? json_dumps(names, JSON_COMPACT) : NULL;
	struct nd_notification n = {
		.libelle = nd_json_str(body, "libelle"),
		.body = nd_json_str(body, "body"),
		.url = nd_json_str(body, "url"),
		.type = nd_json_str(body, "type"),
		.campaign_id = nd_json_str(body, "campaign_id"),
		.profile = nd_json_str(body, "profile"),
		.screen_names = names_text,
		.batch = nd_json_str(body, "batch"),
		.date_started = body_time(body, "date_started"),
		.date_due = body_time(body, "date_due"),
	};
	nd_json_int32(body, "action_type", &n.action_type);

	const json_t *tj = json_object_get(body, "targets"), *sj = json_object_get(body, "segments");
	struct nd_recipients to = {0};
	const char **targets = NULL;
	int32_t *segments = NULL;
	if (json_is_array(tj) && (to.ntargets = json_array_size(tj))) {
		targets = nd_xmalloc(to.ntargets * sizeof *targets);
		for (size_t i = 0; i < to.ntargets; i++)
			targets[i] = json_string_value(json_array_get(tj, i));
	}
	if (json_is_array(sj) && (to.nsegments = json_array_size(sj))) {
		segments = nd_xmalloc(to.nsegments * sizeof *segments);
		for (size_t i = 0; i < to.nsegments; i++)
			segments[i] = (int32_t)json_integer_value(json_array_get(sj, i));
	}
	to.targets = targets;
	to.segments = segments;

	int64_t deliveries;
	struct nd_call c = nd_req_call(r);
	e = nd_svc_notification_create(&c, &n, &to, &deliveries);
	if (!e) {
		nd_buf_printf(&r->out, "{\"notification_key\":%d,\"id\":\"%s\",\"deliveries\":%lld}",
			      n.key, n.guid, (long long)deliveries);
		nd_reply_json(r, 201);
	}
	free(targets);
	free(segments);
	free(names_text);
	json_decref(body);
	return e;
}

static void write_str_field(struct nd_buf *b, const char *name, const char *value)
{
	nd_buf_json_member(b, name);
	nd_buf_json_str_or_null(b, value);
}

static void write_time_field(struct nd_buf *b, const char *name, int64_t ms)
{
	nd_buf_json_member(b, name);
	nd_buf_json_time(b, ms);
}

/* The notification's own fields, after an opening brace and a first member. */
static void write_notification_fields(struct nd_buf *b, const struct nd_notification *n)
{
	write_str_field(b, "libelle", n->libelle);
	write_str_field(b, "body", n->body);
	write_str_field(b, "url", n->url);
	write_str_field(b, "type", n->type);
	nd_buf_puts(b, ",\"action_type\":");
	nd_buf_json_int(b, n->action_type);
	write_str_field(b, "campaign_id", n->campaign_id);
	write_str_field(b, "profile", n->profile);
	/* screen_names was serialized by jansson on the way in. */
	nd_buf_puts(b, ",\"screen_name\":");
	nd_buf_puts(b, n->screen_names ? n->screen_names : "[]");
	write_str_field(b, "batch", n->batch);
	write_time_field(b, "date_started", n->date_started);
	write_time_field(b, "date_due", n->date_due);
}

struct notification_fields {
	struct nd_buf *b;
	const struct nd_notification *n;
};

static void write_fields(void *arg)
{
	struct notification_fields *nf = arg;
	write_notification_fields(nf->b, nf->n);
}

static int notification_row(void *arg, const struct nd_notification *n)
{
	struct nd_buf *b = arg;
	nd_buf_printf(b, "{\"notification_key\":%d,\"id\":\"%s\"", n->key, n->guid);
	write_notification_fields(b, n);
	write_time_field(b, "created_at", n->created_at);
	nd_buf_printf(b, ",\"deliveries\":%lld}", (long long)n->deliveries);
	return 0;
}

enum nd_err v1_notification_get(struct nd_req *r)
{
	int32_t key;
	struct nd_call c = nd_req_call(r);
	enum nd_err e = v1_int32_param(r, "key", &key);
	if (e || (e = nd_svc_notification_get(&c, key, notification_row, &r->out)))
		return e;
	return nd_reply_json(r, 200);
}

struct feed_state {
	struct nd_buf *b;
	int64_t tenant_id;
	size_t limit, rows;
	bool more;
	int64_t last_at;
	int32_t last_key;
};

static int feed_row(void *arg, const struct nd_delivery *d)
{
	struct feed_state *fs = arg;
	if (fs->rows == fs->limit) {
		fs->more = true; /* the look-ahead row: another page follows */
		return 0;
	}
	struct nd_buf *b = fs->b;
	if (fs->rows++)
		nd_buf_putc(b, ',');
	nd_buf_puts(b, "{\"notification_key\":");
	nd_buf_json_int(b, d->n->key);
	/* GUIDs are hex digits and dashes: nothing to escape. */
	nd_buf_puts(b, ",\"id\":\"");
	nd_buf_puts(b, d->guid);
	nd_buf_puts(b, "\",\"notification_id\":\"");
	nd_buf_puts(b, d->n->guid);
	nd_buf_putc(b, '"');
	/* The same bytes for every delivery of the notification: written once
	 * per worker, then copied (util/memo.h). */
	struct notification_fields nf = {b, d->n};
	nd_memo_write(b, ND_MEMO_V1, fs->tenant_id, d->n->guid, write_fields, &nf);
	write_time_field(b, "routed_at", d->routed_at);
	for (int i = 0; i < ND_EV__COUNT; i++)
		write_time_field(b, nd_event_time_field((enum nd_event)i), d->at[i]);
	nd_buf_putc(b, '}');
	fs->last_at = d->routed_at;
	fs->last_key = d->n->key;
	return 0;
}

/* A cursor is "<routed_at ms>.<notification_key>", as next_cursor gives it:
 * digits (each part may carry a leading '-'), nothing else. */
static enum nd_err parse_cursor(struct nd_req *r, const char *s, struct nd_feed_query *q)
{
	const char *dot = strchr(s, '.');
	char at[24];
	size_t n = dot ? (size_t)(dot - s) : 0;
	const char *digits = s[0] == '-' ? s + 1 : s;
	if (!dot || n == 0 || n >= sizeof at || strspn(digits, "0123456789") != (size_t)(dot - digits))
		goto bad;
	memcpy(at, s, n);
	at[n] = '\0';
	errno = 0;
	long long v = strtoll(at, NULL, 10);
	if (errno || !nd_int32_parse(dot + 1, &q->after_key))
		goto bad;
	q->after_at = v;
	return ND_OK;
bad:
	return nd_fail(&r->err, ND_ERR_INVALID_PARAM, "cursor", "cursor is not valid");
}

enum nd_err v1_feed(struct nd_req *r)
{
	const char *id;
	enum nd_err e = v1_id_param(r, "id", &id);
	if (e)
		return e;
	struct nd_feed_query q = {
		.target = id, .start = ND_NO_TIME, .end = ND_NO_TIME,
		.ascending = false, .after_at = ND_NO_TIME, .limit = FEED_DEFAULT,
	};
	bool bad = false;
	const char *limit = nd_req_query(r, "limit", &bad);
	int32_t lim;
	if (bad || (limit && (!nd_int32_parse(limit, &lim) || lim < 1 || lim > FEED_MAX)))
		return nd_fail(&r->err, ND_ERR_INVALID_PARAM, "limit",
			       "limit must be a number from 1 to %d", FEED_MAX);
	if (limit)
		q.limit = (size_t)lim;
	const char *cursor = nd_req_query(r, "cursor", &bad);
	if (bad || (cursor && parse_cursor(r, cursor, &q)))
		return nd_fail(&r->err, ND_ERR_INVALID_PARAM, "cursor", "cursor is not valid");

	struct feed_state fs = {.b = &r->out, .tenant_id = r->who.tenant_id, .limit = q.limit};
	q.limit++; /* one more row tells whether another page follows */
	nd_buf_puts(&r->out, "{\"notifications\":[");
	struct nd_call c = nd_req_call(r);
	e = nd_svc_feed(&c, &q, feed_row, &fs);
	if (e)
		return e;
	nd_buf_puts(&r->out, "],\"next_cursor\":");
	if (fs.more)
		nd_buf_printf(&r->out, "\"%lld.%d\"}", (long long)fs.last_at, fs.last_key);
	else
		nd_buf_puts(&r->out, "null}");
	return nd_reply_json(r, 200);
}

static const struct nd_field_spec event_spec[] = {
	{"notification_key", ND_F_INT32, true, 0, 0, 0},
	{"type", ND_F_STRING, true, 1, 32, 0},
	{"at", ND_F_TIME, false, 0, 0, 0},
};

enum nd_err v1_event(struct nd_req *r)
{
	const char *id;
	json_t *body;
	enum nd_err e = v1_id_param(r, "id", &id);
	if (e || (e = v1_body(r, event_spec, sizeof event_spec / sizeof event_spec[0], &body)))
		return e;
	enum nd_event ev;
	struct nd_call call = nd_req_call(r);
	int32_t key = 0;
	nd_json_int32(body, "notification_key", &key);
	int64_t at = body_time(body, "at");
	if (!nd_event_parse(nd_json_str(body, "type"), &ev))
		e = nd_fail(&r->err, ND_ERR_INVALID_FIELD, "type",
			    "type must be one of impression, activation, redirection, dismiss, "
			    "read, complete");
	else
		e = nd_svc_event_record(&call, id, key, ev, at);
	json_decref(body);
	if (e)
		return e;
	return nd_reply_empty(r, 204);
}
