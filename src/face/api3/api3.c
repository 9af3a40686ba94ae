/* api3.c - the API3-compatible face: routes and the notification object.
 *
 * Each delivery is one API3 notification object; its id is the delivery's
 * GUID. docs/compat.md records every status and errorCode. */
#include "face/api3/api3.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/human.h"
#include "core/ids.h"
#include "core/order.h"
#include "util/time.h"
#include "util/mem.h"
#include "util/memo.h"
#include "util/xml.h"

/* API3 answers every missing object, whoever's it is, with one message. */
static const char api3_not_found[] = "Invalid object ID or you don't have access to this object";

/* format=xml, valid or not in the rest of the request. */
static bool wants_xml(struct nd_req *r)
{
	bool broken = false;
	const char *f = nd_req_query(r, "format", &broken);
	return f && strcmp(f, "xml") == 0;
}

static void api3_render_error(struct nd_req *r, const struct nd_err_info *info)
{
	struct nd_buf *b = &r->out;
	const char *msg = r->err.code == ND_ERR_NOT_FOUND ? api3_not_found
			  : r->err.detail[0]		  ? r->err.detail
							  : info->title;
	/* Every error, found before the handler ran (key, role, method) or
	 * by it, answers in the format the request asked for. */
	if (wants_xml(r)) {
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

/* The answer, written straight into the reply buffer as JSON or XML (no
 * tree per response): members in a fixed order, named; XML repeats an
 * array's element under the array's own name, as the reference does. */
#define DOC_DEPTH 4

struct doc {
	struct nd_buf *b;
	bool xml;
	int depth;
	bool first[DOC_DEPTH]; /* JSON: no comma before the next member */
};

/* Per-request rendering context. */
struct view {
	int64_t tenant_id;
	struct nd_zone *zone; /* the thread's, borrowed */
	int64_t now;
	bool with_member;
	bool xml; /* format=xml */
	struct doc doc;
	const char *item; /* what an object is called: "notification", "notification_list" */
	bool listing;     /* objects are elements of the array called item */
	size_t items;
};

static enum nd_err bad(struct nd_req *r, const char *field, const char *msg)
{
	return nd_fail(&r->err, ND_ERR_INVALID_PARAM, field, "%s", msg);
}

/* format=json|xml; anything else is a 400 (rendered as JSON). */
static enum nd_err read_format(struct nd_req *r, bool *xml)
{
	bool broken = false;
	const char *f = nd_req_query(r, "format", &broken);
	if (broken || (f && strcmp(f, "json") != 0 && strcmp(f, "xml") != 0))
		return bad(r, "format", "format must be json or xml");
	*xml = f && strcmp(f, "xml") == 0;
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
	v->tenant_id = r->who.tenant_id;
	enum nd_err e = read_format(r, &v->xml);
	if (!e)
		e = read_with(r, &v->with_member);
	if (e)
		return e;
	v->zone = nd_zone_get(r->who.time_zone);
	if (!v->zone)
		v->zone = nd_zone_get(ND_DEFAULT_ZONE);
	if (!v->zone)
		return nd_fail(&r->err, ND_ERR_INTERNAL, NULL, "time zone data is unavailable");
	return ND_OK;
}

static void doc_sep(struct doc *d)
{
	if (!d->first[d->depth])
		nd_buf_putc(d->b, ',');
	d->first[d->depth] = false;
}

#define ADD_LIT(b, s) nd_buf_add((b), (s), sizeof(s) - 1)

/* The XML tag <@key>, or </@key> when @closing (@key needs no escaping):
 * each member of each row goes through here, so no printf, and only the
 * name is measured. */
static void doc_tag(struct doc *d, bool closing, const char *key)
{
	if (closing)
		ADD_LIT(d->b, "</");
	else
		nd_buf_putc(d->b, '<');
	nd_buf_puts(d->b, key);
	nd_buf_putc(d->b, '>');
}

/* A member's name: 15 a row, so one reservation and one copy each. */
static void doc_key(struct doc *d, const char *key)
{
	if (d->xml) {
		doc_tag(d, false, key);
		return;
	}
	size_t n = strlen(key);
	nd_buf_reserve(d->b, n + 4);
	char *p = d->b->data + d->b->len;
	if (!d->first[d->depth])
		*p++ = ',';
	d->first[d->depth] = false;
	*p++ = '"';
	memcpy(p, key, n);
	p += n;
	*p++ = '"';
	*p++ = ':';
	*p = '\0';
	d->b->len = (size_t)(p - d->b->data);
}

static void doc_end(struct doc *d, const char *key)
{
	if (d->xml)
		doc_tag(d, true, key);
}

static void doc_str(struct doc *d, const char *key, const char *s)
{
	doc_key(d, key);
	if (!s)
		s = "";
	if (d->xml)
		nd_xml_text(d->b, s, strlen(s));
	else
		nd_buf_json_str(d->b, s);
	doc_end(d, key);
}

static void doc_int(struct doc *d, const char *key, int64_t v)
{
	doc_key(d, key);
	nd_buf_json_int(d->b, v);
	doc_end(d, key);
}

/* An object: a member called @key, or (@item) one element of the array
 * called @key. */
static void doc_open(struct doc *d, const char *key, bool item)
{
	if (d->xml)
		doc_tag(d, false, key);
	else if (item)
		doc_sep(d);
	else
		doc_key(d, key);
	if (!d->xml)
		nd_buf_putc(d->b, '{');
	d->first[++d->depth] = true;
}

static void doc_close(struct doc *d, const char *key)
{
	d->depth--;
	if (d->xml)
		doc_tag(d, true, key);
	else
		nd_buf_putc(d->b, '}');
}

/* An array member; its elements are written between these. */
static void doc_array(struct doc *d, const char *key)
{
	if (d->xml)
		return;
	doc_key(d, key);
	nd_buf_putc(d->b, '[');
	d->first[++d->depth] = true;
}

static void doc_array_end(struct doc *d)
{
	if (d->xml)
		return;
	d->depth--;
	nd_buf_putc(d->b, ']');
}

/* The document around the members: {...} or <?xml ...?><response>...</response>. */
static void doc_begin(struct doc *d, struct nd_req *r, bool xml)
{
	*d = (struct doc){.b = &r->out, .xml = xml};
	d->first[0] = true;
	nd_buf_puts(d->b, d->xml ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>" : "{");
}

static enum nd_err doc_finish(struct doc *d, struct nd_req *r)
{
	nd_buf_puts(d->b, d->xml ? "</response>\n" : "}");
	r->status = 200;
	r->content_type = d->xml ? "application/xml" : "application/json";
	return ND_OK;
}

/* screen_name: stored as the JSON array text jansson wrote on the way in;
 * in XML, one element per name. */
static void doc_names(struct doc *d, const char *names)
{
	if (!d->xml) {
		doc_key(d, "screen_name");
		nd_buf_puts(d->b, names ? names : "[]");
		return;
	}
	json_t *list = names ? json_loads(names, 0, NULL) : NULL;
	size_t i;
	json_t *name;
	json_array_foreach(list, i, name)
		if (json_is_string(name))
			doc_str(d, "screen_name", json_string_value(name));
	json_decref(list);
}

struct notification_doc {
	struct doc *d;
	const struct nd_notification *n;
};

static void write_notification(void *arg)
{
	struct notification_doc *nd = arg;
	struct doc *d = nd->d;
	const struct nd_notification *n = nd->n;
	doc_str(d, "name", n->libelle);
	doc_str(d, "tweet", n->body);
	doc_int(d, "action_type", n->action_type);
	doc_str(d, "url", n->url);
	doc_str(d, "profile", n->profile);
	doc_names(d, n->screen_names);
	doc_str(d, "batch", n->batch);
}

/* The members a notification decides, from name to batch: the same bytes
 * for each of its deliveries, so written once per worker and format, then
 * copied (util/memo.h). They follow the delivery's id, so in JSON they
 * start with a comma. */
static void doc_notification(struct doc *d, int64_t tenant_id, const struct nd_notification *n)
{
	struct notification_doc nd = {d, n};
	nd_memo_write(d->b, d->xml ? ND_MEMO_API3_XML : ND_MEMO_API3_JSON, tenant_id, n->guid,
		      write_notification, &nd);
}

/* @s, @n bytes that need no escaping in JSON or XML, as the value of the
 * member @name (a string literal); in JSON never an object's first member,
 * since the comma before it is written too. An item's members besides its
 * notification's go through here and write_tail(): their names are fixed
 * and their values plain, so each is copied with its length known at
 * compile time, where the doc_ functions measured every name (a JSON row
 * took ~1,950 instructions that way, ~1,260 this way). */
#define DOC_PLAIN(d, name, s, n)                                                                   \
	do {                                                                                       \
		if ((d)->xml) {                                                                    \
			ADD_LIT((d)->b, "<" name ">");                                             \
			nd_buf_add((d)->b, (s), (n));                                              \
			ADD_LIT((d)->b, "</" name ">");                                            \
		} else {                                                                           \
			ADD_LIT((d)->b, ",\"" name "\":\"");                                        \
			nd_buf_add((d)->b, (s), (n));                                              \
			nd_buf_putc((d)->b, '"');                                                  \
		}                                                                                  \
	} while (0)

/* The members after the notification's: date to read. */
static void write_tail(struct doc *d, const char *age, const char *due, int64_t timestamp,
		       bool read)
{
	struct nd_buf *b = d->b;
	DOC_PLAIN(d, "date", age, strlen(age));
	DOC_PLAIN(d, "date_due", due, strlen(due));
	if (d->xml)
		ADD_LIT(b, "<timestamp>");
	else
		ADD_LIT(b, ",\"timestamp\":");
	nd_buf_json_int(b, timestamp);
	if (d->xml && read)
		ADD_LIT(b, "</timestamp><status_class>notifcation-item-read</status_class>"
			   "<read>true</read>");
	else if (d->xml)
		ADD_LIT(b, "</timestamp><status_class>notifcation-item-unread</status_class>"
			   "<read>false</read>");
	else if (read)
		ADD_LIT(b, ",\"status_class\":\"notifcation-item-read\",\"read\":true");
	else
		ADD_LIT(b, ",\"status_class\":\"notifcation-item-unread\",\"read\":false");
}

/* One delivery as an API3 notification object. */
static int write_item(void *arg, const struct nd_item *it)
{
	struct view *v = arg;
	struct doc *d = &v->doc;
	const struct nd_delivery *dl = it->d;
	const struct nd_notification *n = dl->n;
	char age[ND_HUMAN_MAX], due[ND_HUMAN_MAX] = "";
	nd_human_age(v->now, dl->routed_at, v->zone, age);
	if (n->date_due != ND_NO_TIME)
		nd_human_date(n->date_due, v->zone, due);
	v->items++;
	/* An element of a listing in XML, the item written most: its tag's
	 * length known at compile time (doc_tag() measures the name). */
	if (d->xml && v->listing) {
		ADD_LIT(d->b, "<notification_list>");
		d->first[++d->depth] = true;
	} else {
		doc_open(d, v->item, v->listing);
	}
	/* The first member: no comma before it in JSON. A delivery's GUID is
	 * its whole text, or "" when its stored value is not one (sq_col_guid(),
	 * pg_guid()). */
	if (d->xml)
		ADD_LIT(d->b, "<id>");
	else
		ADD_LIT(d->b, "\"id\":\"");
	if (dl->guid[0])
		nd_buf_add(d->b, dl->guid, ND_GUID_LEN);
	if (d->xml)
		ADD_LIT(d->b, "</id>");
	else
		nd_buf_putc(d->b, '"');
	d->first[d->depth] = false;
	doc_notification(d, v->tenant_id, n);
	write_tail(d, age, due, nd_floor_div(dl->routed_at, 1000),
		   dl->at[ND_EV_READ] != ND_NO_TIME);
	if (v->with_member) {
		const struct nd_target *t = it->member;
		doc_open(d, "member", false);
		doc_str(d, "id", t->id);
		doc_str(d, "screen_name", t->name ? t->name : t->id);
		doc_str(d, "email", t->email);
		doc_str(d, "profile", t->profile);
		doc_close(d, "member");
	}
	if (d->xml && v->listing) {
		d->depth--;
		ADD_LIT(d->b, "</notification_list>");
	} else {
		doc_close(d, v->item);
	}
	return 0;
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
		return e;
	struct nd_list_query q = {.by_guid = true, .started_from = ND_NO_TIME,
				  .completed_from = ND_NO_TIME, .limit = 1,
				  .with_member = v.with_member};
	if (!nd_guid_parse(nd_req_param(r, "id"), q.guid))
		return not_found(r);
	v.item = "notification";
	doc_begin(&v.doc, r, v.xml);
	struct nd_call c = nd_req_call(r);
	e = nd_svc_list(&c, &q, write_item, &v, NULL);
	if (!e && v.items == 0)
		e = not_found(r);
	return e ? e : doc_finish(&v.doc, r);
}

enum nd_err api3_delete(struct nd_req *r)
{
	bool xml;
	enum nd_err e = read_format(r, &xml);
	unsigned char guid[16];
	if (e)
		return e;
	if (!nd_guid_parse(nd_req_param(r, "id"), guid))
		return not_found(r);
	struct nd_call c = nd_req_call(r);
	if ((e = nd_svc_delivery_delete(&c, guid)))
		return e;
	struct doc d;
	doc_begin(&d, r, xml);
	doc_str(&d, "message", "success");
	doc_int(&d, "code", 200);
	return doc_finish(&d, r);
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
		return nd_fail(&r->err, ND_ERR_INVALID_PARAM, name, "%s must be 1..%d bytes of UTF-8",
			       name, ND_ID_MAX);
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
		return e;
	q.with_member = v.with_member;
	v.item = "notification_list";
	v.listing = true;
	doc_begin(&v.doc, r, v.xml);
	doc_array(&v.doc, "notification_list");
	struct nd_call c = nd_req_call(r);
	if ((e = nd_svc_list(&c, &q, write_item, &v, &total)))
		return e;
	doc_array_end(&v.doc);
	char total_text[24];
	snprintf(total_text, sizeof total_text, "%lld", (long long)total);
	doc_open(&v.doc, "stats", false);
	doc_str(&v.doc, "total", total_text);
	doc_int(&v.doc, "page_count", (total + page_size - 1) / page_size);
	doc_int(&v.doc, "current_page", page);
	doc_close(&v.doc, "stats");
	return doc_finish(&v.doc, r);
}
