/* api3.c - the API3-compatible face: routes and the notification object.
 *
 * Each delivery is one API3 notification object; its id is the delivery's
 * GUID. docs/compat.md records every status and errorCode. */
#include "face/api3/api3.h"

#include <stdlib.h>
#include <string.h>

#include "core/human.h"
#include "core/ids.h"
#include "core/order.h"
#include "util/time.h"
#include "util/mem.h"
#include "util/xml.h"

/* API3 answers every missing object, whoever's it is, with one message. */
static const char api3_not_found[] = "Invalid object ID or you don't have access to this object";

static void api3_render_error(struct nd_req *r, const struct nd_err_info *info)
{
	struct nd_buf *b = &r->out;
	const char *msg = r->err.code == ND_ERR_NOT_FOUND ? api3_not_found
			  : r->err.detail[0]		  ? r->err.detail
							  : info->title;
	/* Errors found before the handler ran (key, role, method) still
	 * answer in the format the request asked for. */
	if (!r->xml) {
		bool broken = false;
		const char *f = nd_req_query(r, "format", &broken);
		r->xml = f && strcmp(f, "xml") == 0;
	}
	if (r->xml) {
		nd_buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
				 "<response><errorCode>%u</errorCode><message>",
			      info->status);
		nd_xml_text(b, msg, strlen(msg));
		nd_buf_puts(b, "</message></response>\n");
		r->content_type = "application/xml";
		return;
	}
	nd_buf_printf(b, "{\"errorCode\":%u,\"message\":", info->status);
	nd_buf_json_str(b, msg);
	nd_buf_putc(b, '}');
	r->content_type = "application/json";
}

static const struct nd_route routes[] = {
	{"GET", "/api3/notification", api3_list, 0},
	{"GET", "/api3/notification/{id}", api3_get, 0},
	{"DELETE", "/api3/notification/{id}", api3_delete, ND_ROUTE_MEMBER_ANY},
};

const struct nd_face nd_face_api3 = {
	.name = "api3",
	.prefix = "/api3/",
	.routes = routes,
	.nroutes = sizeof routes / sizeof routes[0],
	.render_error = api3_render_error,
};

#define PAGE_SIZE_DEFAULT 20
#define PAGE_SIZE_MAX 100
#define PAGE_MAX INT32_MAX

/* Per-request rendering context. */
struct view {
	struct nd_zone *zone;
	int64_t now;
	bool with_member;
	json_t *list;
};

static enum nd_err bad(struct nd_req *r, const char *field, const char *msg)
{
	return nd_fail(&r->err, ND_ERR_INVALID_PARAM, field, "%s", msg);
}

/* format=json|xml; anything else is a 400 (rendered as JSON). */
static enum nd_err read_format(struct nd_req *r)
{
	bool broken = false;
	const char *f = nd_req_query(r, "format", &broken);
	if (broken || (f && strcmp(f, "json") != 0 && strcmp(f, "xml") != 0))
		return bad(r, "format", "format must be json or xml");
	r->xml = f && strcmp(f, "xml") == 0;
	return ND_OK;
}

static enum nd_err read_with(struct nd_req *r, bool *member)
{
	bool broken = false;
	const char *w = nd_req_query(r, "with", &broken);
	if (broken || (w && strcmp(w, "member") != 0))
		return bad(r, "with", "with must be member");
	*member = w != NULL;
	return ND_OK;
}

static enum nd_err open_view(struct nd_req *r, struct view *v)
{
	memset(v, 0, sizeof *v);
	v->now = nd_time_now_ms();
	enum nd_err e = read_format(r);
	if (!e)
		e = read_with(r, &v->with_member);
	if (e)
		return e;
	v->zone = nd_zone_open(r->who.time_zone);
	if (!v->zone)
		v->zone = nd_zone_open(ND_DEFAULT_ZONE);
	if (!v->zone)
		return nd_fail(&r->err, ND_ERR_INTERNAL, NULL, "time zone data is unavailable");
	return ND_OK;
}

static void close_view(struct view *v)
{
	nd_zone_free(v->zone);
	json_decref(v->list);
}

static json_t *str_or_empty(const char *s)
{
	return json_string(s ? s : "");
}

static json_t *object(const struct view *v, const struct nd_item *it)
{
	const struct nd_delivery *d = it->d;
	const struct nd_notification *n = d->n;
	char age[ND_HUMAN_MAX], due[ND_HUMAN_MAX] = "";
	nd_human_age(v->now, d->routed_at, v->zone, age);
	if (n->date_due != ND_NO_TIME)
		nd_human_date(n->date_due, v->zone, due);
	bool read = d->at[ND_EV_READ] != ND_NO_TIME;
	json_t *names = n->screen_names ? json_loads(n->screen_names, 0, NULL) : NULL;
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(d->guid));
	json_object_set_new(o, "name", str_or_empty(n->libelle));
	json_object_set_new(o, "tweet", str_or_empty(n->body));
	json_object_set_new(o, "action_type", json_integer(n->action_type));
	json_object_set_new(o, "url", str_or_empty(n->url));
	json_object_set_new(o, "profile", str_or_empty(n->profile));
	json_object_set_new(o, "screen_name", json_is_array(names) ? names : json_array());
	if (names && !json_is_array(names))
		json_decref(names);
	json_object_set_new(o, "batch", str_or_empty(n->batch));
	json_object_set_new(o, "date", json_string(age));
	json_object_set_new(o, "date_due", json_string(due));
	/* floor division: routing times before 1970 stay consistent */
	int64_t secs = d->routed_at / 1000 - (d->routed_at % 1000 < 0);
	json_object_set_new(o, "timestamp", json_integer(secs));
	json_object_set_new(o, "status_class", json_string(read ? "notifcation-item-read"
								 : "notifcation-item-unread"));
	json_object_set_new(o, "read", json_boolean(read));
	if (v->with_member) {
		const struct nd_target *t = it->member;
		json_t *m = json_object();
		json_object_set_new(m, "id", json_string(t->id));
		json_object_set_new(m, "screen_name", json_string(t->name ? t->name : t->id));
		json_object_set_new(m, "email", str_or_empty(t->email));
		json_object_set_new(m, "profile", str_or_empty(t->profile));
		json_object_set_new(o, "member", m);
	}
	return o;
}

static int collect(void *arg, const struct nd_item *it)
{
	struct view *v = arg;
	json_array_append_new(v->list, object(v, it));
	return 0;
}

/* Writes @tree (stolen) as JSON or XML, as the request asked. */
static enum nd_err reply_tree(struct nd_req *r, json_t *tree)
{
	if (r->xml) {
		nd_xml_document(&r->out, "response", tree);
		json_decref(tree);
		r->status = 200;
		r->content_type = "application/xml";
		return ND_OK;
	}
	char *text = json_dumps(tree, JSON_COMPACT);
	json_decref(tree);
	nd_buf_puts(&r->out, text);
	free(text);
	return nd_reply_json(r, 200);
}

/* A path id that cannot name one of the caller's deliveries. */
static enum nd_err not_found(struct nd_req *r)
{
	return nd_fail(&r->err, ND_ERR_NOT_FOUND, NULL, "no such notification");
}

enum nd_err api3_get(struct nd_req *r)
{
	struct view v;
	enum nd_err e = open_view(r, &v);
	if (e)
		goto out;
	struct nd_list_query q = {.by_guid = true, .started_from = ND_NO_TIME,
				  .completed_from = ND_NO_TIME, .limit = 1};
	if (!nd_guid_parse(nd_req_param(r, "id"), q.guid)) {
		e = not_found(r);
		goto out;
	}
	v.list = json_array();
	struct nd_call c = nd_req_call(r);
	e = nd_svc_list(&c, &q, collect, &v, NULL);
	if (!e && json_array_size(v.list) == 0)
		e = not_found(r);
	if (!e)
		e = reply_tree(r, json_pack("{sO}", "notification", json_array_get(v.list, 0)));
out:
	close_view(&v);
	return e;
}

enum nd_err api3_delete(struct nd_req *r)
{
	enum nd_err e = read_format(r);
	unsigned char guid[16];
	if (e)
		return e;
	if (!nd_guid_parse(nd_req_param(r, "id"), guid))
		return not_found(r);
	struct nd_call c = nd_req_call(r);
	e = nd_svc_delivery_delete(&c, guid);
	if (e)
		return e;
	return reply_tree(r, json_pack("{sssi}", "message", "success", "code", 200));
}

/* --- LIST --- */

static const struct nd_order_name order_names[] = {
	{"date_started", ND_ORDER_STARTED, true},
	{"timestamp", ND_ORDER_STARTED, true},
	{"date_completed", ND_ORDER_COMPLETED, true},
	{"date_created", ND_ORDER_CREATED, true},
	{"date_modified", ND_ORDER_MODIFIED, true},
	{"notification_type", ND_ORDER_TYPE, true},
	{"notification_code", ND_ORDER_TYPE, true},
	{"title", ND_ORDER_TITLE, true},
	{"name", ND_ORDER_TITLE, true},
	{"read", ND_ORDER_READ, true},
	{"id", ND_ORDER_ID, true},
	{"notification_key", ND_ORDER_KEY, true},
	/* The vendor lists these for other objects; a notification has none. */
	{"visible", ND_ORDER_ID, false},
	{"anonymous", ND_ORDER_ID, false},
	{"score", ND_ORDER_ID, false},
};

/* An integer query parameter within [min, max], or @def when absent. */
static enum nd_err int_param(struct nd_req *r, const char *name, int32_t min, int32_t max,
			     int32_t def, int32_t *out)
{
	bool broken = false;
	const char *s = nd_req_query(r, name, &broken);
	*out = def;
	if (!s && !broken)
		return ND_OK;
	if (broken || !nd_int32_parse(s, out) || *out < min || *out > max)
		return nd_fail(&r->err, ND_ERR_INVALID_PARAM, name,
			       "%s must be a whole number from %d to %d", name, min, max);
	return ND_OK;
}

/* MM/DD/YYYY: the 24 hours of that local day in the tenant's zone. */
static enum nd_err day_param(struct nd_req *r, struct nd_zone *z, const char *name,
			     int64_t *from, int64_t *to)
{
	bool broken = false;
	const char *s = nd_req_query(r, name, &broken);
	*from = *to = ND_NO_TIME;
	if (!s && !broken)
		return ND_OK;
	unsigned m, d, y;
	int used = 0;
	if (!broken && strlen(s) <= 10 && strspn(s, "0123456789/") == strlen(s) &&
	    sscanf(s, "%2u/%2u/%4u%n", &m, &d, &y, &used) == 3 && (size_t)used == strlen(s) &&
	    y >= 1000 && m >= 1 && m <= 12 && d >= 1) {
		int64_t check;
		char iso[16];
		snprintf(iso, sizeof iso, "%04u-%02u-%02u", y % 10000, m % 100, d % 100);
		if (nd_time_parse_iso(iso, &check) &&
		    nd_zone_day(z, (int)y, (int)m, (int)d, from, to) == ND_OK)
			return ND_OK;
	}
	return nd_fail(&r->err, ND_ERR_INVALID_PARAM, name, "%s must be a date as MM/DD/YYYY",
		       name);
}

static enum nd_err id_filter(struct nd_req *r, struct nd_list_query *q)
{
	bool broken = false;
	const char *s = nd_req_query(r, "id", &broken);
	if (!s && !broken)
		return ND_OK;
	if (!broken && nd_guid_parse(s, q->guid))
		q->by_guid = true;
	else if (!broken && nd_int32_parse(s, &q->key))
		q->by_key = true;
	else
		return bad(r, "id", "id must be a notification GUID or a notification_key");
	return ND_OK;
}

static enum nd_err text_filter(struct nd_req *r, const char *name, bool is_id, const char **out)
{
	bool broken = false;
	*out = nd_req_query(r, name, &broken);
	if (is_id && (broken || (*out && !nd_id_valid(*out))))
		return nd_fail(&r->err, ND_ERR_INVALID_PARAM, name,
			       "%s must be 1..%d visible ASCII characters", name, ND_ID_MAX);
	if (!is_id && (broken || (*out && (!**out || strlen(*out) > ND_ID_MAX))))
		return nd_fail(&r->err, ND_ERR_INVALID_PARAM, name, "%s must be 1..%d bytes", name,
			       ND_ID_MAX);
	return ND_OK;
}

static enum nd_err read_query(struct nd_req *r, struct view *v, struct nd_list_query *q,
			      int32_t *page, int32_t *page_size)
{
	bool broken = false;
	enum nd_err e;
	if ((e = int_param(r, "page_size", 1, PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT, page_size)) ||
	    (e = int_param(r, "page", 1, PAGE_MAX, 1, page)) || (e = id_filter(r, q)) ||
	    (e = day_param(r, v->zone, "date_started", &q->started_from, &q->started_to)) ||
	    (e = day_param(r, v->zone, "date_completed", &q->completed_from, &q->completed_to)) ||
	    (e = text_filter(r, "campaign_id", true, &q->campaign_id)) ||
	    (e = text_filter(r, "member_id", true, &q->member)) ||
	    (e = text_filter(r, "notification_type", false, &q->type)))
		return e;
	const char *order = nd_req_query(r, "order", &broken);
	if (broken)
		return bad(r, "order", "order is not valid");
	if (order && (e = nd_order_parse(order, order_names,
					 sizeof order_names / sizeof order_names[0], q->order,
					 &q->norder, &r->err)))
		return e;
	q->limit = (size_t)*page_size;
	q->offset = (size_t)(*page - 1) * (size_t)*page_size;
	return ND_OK;
}

enum nd_err api3_list(struct nd_req *r)
{
	struct view v;
	struct nd_list_query q = {.started_from = ND_NO_TIME, .completed_from = ND_NO_TIME};
	int32_t page, page_size;
	int64_t total = 0;
	enum nd_err e = open_view(r, &v);
	if (!e)
		e = read_query(r, &v, &q, &page, &page_size);
	if (e)
		goto out;
	v.list = json_array();
	struct nd_call c = nd_req_call(r);
	e = nd_svc_list(&c, &q, collect, &v, &total);
	if (e)
		goto out;
	char total_text[24];
	snprintf(total_text, sizeof total_text, "%lld", (long long)total);
	json_t *stats = json_pack("{sssIsi}", "total", total_text, "page_count",
				  (json_int_t)((total + page_size - 1) / page_size), "current_page",
				  page);
	e = reply_tree(r, json_pack("{sOso}", "notification_list", v.list, "stats", stats));
out:
	close_view(&v);
	return e;
}
