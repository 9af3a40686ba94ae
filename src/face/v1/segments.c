/* segments.c - native segment, membership and campaign routes. */
#include "face/v1/v1.h"

static const struct nd_field_spec name_spec[] = {
	{"name", ND_F_STRING, true, 1, 200, 0},
};

static void write_segment(struct nd_buf *b, const struct nd_segment *s)
{
	nd_buf_printf(b, "{\"id\":%d,\"name\":", s->id);
	nd_buf_json_str(b, s->name);
	nd_buf_printf(b, ",\"members\":%lld}", (long long)s->members);
}

static int segment_row(void *arg, const struct nd_segment *s)
{
	write_segment(arg, s);
	return 0;
}

static int segment_list_row(void *arg, const struct nd_segment *s)
{
	struct nd_buf *b = arg;
	nd_buf_json_next(b);
	write_segment(b, s);
	return 0;
}

enum nd_err v1_segment_create(struct nd_req *r)
{
	json_t *body;
	enum nd_err e = v1_body(r, name_spec, 1, &body);
	if (e)
		return e;
	struct nd_segment s = {.name = nd_json_str(body, "name")};
	struct nd_call c = nd_req_call(r);
	e = nd_svc_segment_create(&c, s.name, &s.id);
	if (!e) {
		nd_buf_printf(&r->out, "{\"id\":%d,\"name\":", s.id);
		nd_buf_json_str(&r->out, s.name);
		nd_buf_putc(&r->out, '}');
		nd_reply_json(r, 201);
	}
	json_decref(body);
	return e;
}

enum nd_err v1_segment_list(struct nd_req *r)
{
	nd_buf_puts(&r->out, "{\"segments\":[");
	struct nd_call c = nd_req_call(r);
	enum nd_err e = nd_svc_segment_list(&c, segment_list_row, &r->out);
	if (e)
		return e;
	nd_buf_puts(&r->out, "]}");
	return nd_reply_json(r, 200);
}

enum nd_err v1_segment_get(struct nd_req *r)
{
	int32_t id;
	struct nd_call c = nd_req_call(r);
	enum nd_err e = v1_int32_param(r, "id", &id);
	if (e || (e = nd_svc_segment_get(&c, id, segment_row, &r->out)))
		return e;
	return nd_reply_json(r, 200);
}

enum nd_err v1_segment_delete(struct nd_req *r)
{
	int32_t id;
	struct nd_call c = nd_req_call(r);
	enum nd_err e = v1_int32_param(r, "id", &id);
	if (e || (e = nd_svc_segment_delete(&c, id)))
		return e;
	return nd_reply_empty(r, 204);
}

enum nd_err v1_member_put(struct nd_req *r)
{
	int32_t id;
	const char *target;
	struct nd_call c = nd_req_call(r);
	enum nd_err e = v1_int32_param(r, "id", &id);
	if (e || (e = v1_id_param(r, "target", &target)) || (e = nd_svc_member_put(&c, id, target)))
		return e;
	return nd_reply_empty(r, 204);
}

enum nd_err v1_member_delete(struct nd_req *r)
{
	int32_t id;
	const char *target;
	struct nd_call c = nd_req_call(r);
	enum nd_err e = v1_int32_param(r, "id", &id);
	if (e || (e = v1_id_param(r, "target", &target)) ||
	    (e = nd_svc_member_delete(&c, id, target)))
		return e;
	return nd_reply_empty(r, 204);
}

static void write_campaign(struct nd_buf *b, const struct nd_campaign *c)
{
	nd_buf_puts(b, "{\"id\":");
	nd_buf_json_str(b, c->id);
	nd_buf_puts(b, ",\"name\":");
	nd_buf_json_str(b, c->name);
	nd_buf_puts(b, ",\"created_at\":");
	nd_buf_json_time(b, c->created_at);
	nd_buf_puts(b, ",\"updated_at\":");
	nd_buf_json_time(b, c->updated_at);
	nd_buf_putc(b, '}');
}

static int campaign_row(void *arg, const struct nd_campaign *c)
{
	write_campaign(arg, c);
	return 0;
}

enum nd_err v1_campaign_put(struct nd_req *r)
{
	struct nd_campaign cp = {0};
	json_t *body;
	enum nd_err e = v1_id_param(r, "id", &cp.id);
	if (e || (e = v1_body(r, name_spec, 1, &body)))
		return e;
	cp.name = nd_json_str(body, "name");
	bool created;
	struct nd_call c = nd_req_call(r);
	e = nd_svc_campaign_put(&c, &cp, &created);
	if (!e) {
		write_campaign(&r->out, &cp);
		nd_reply_json(r, created ? 201 : 200);
	}
	json_decref(body);
	return e;
}

enum nd_err v1_campaign_get(struct nd_req *r)
{
	const char *id;
	struct nd_call c = nd_req_call(r);
	enum nd_err e = v1_id_param(r, "id", &id);
	if (e || (e = nd_svc_campaign_get(&c, id, campaign_row, &r->out)))
		return e;
	return nd_reply_json(r, 200);
}
