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
	e = nd_store_segment_create(r->db, r->who.tenant_id, s.name, &s.id, &r->err);
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
	enum nd_err e = nd_store_segment_list(r->db, r->who.tenant_id, segment_list_row, &r->out,
					      &r->err);
	if (e)
		return e;
	nd_buf_puts(&r->out, "]}");
	return nd_reply_json(r, 200);
}

enum nd_err v1_segment_get(struct nd_req *r)
{
	int32_t id;
	enum nd_err e = v1_int32_param(r, "id", &id);
	if (e || (e = nd_store_segment_get(r->db, r->who.tenant_id, id, segment_row, &r->out,
					   &r->err)))
		return e;
	return nd_reply_json(r, 200);
}

enum nd_err v1_segment_delete(struct nd_req *r)
{
	int32_t id;
	enum nd_err e = v1_int32_param(r, "id", &id);
	if (e || (e = nd_store_segment_delete(r->db, r->who.tenant_id, id, &r->err)))
		return e;
	return nd_reply_empty(r, 204);
}

enum nd_err v1_member_put(struct nd_req *r)
{
	int32_t id;
	const char *target;
	enum nd_err e = v1_int32_param(r, "id", &id);
	if (e || (e = v1_id_param(r, "target", &target)) ||
	    (e = nd_store_member_put(r->db, r->who.tenant_id, id, target, &r->err)))
		return e;
	return nd_reply_empty(r, 204);
}

enum nd_err v1_member_delete(struct nd_req *r)
{
	int32_t id;
	const char *target;
	enum nd_err e = v1_int32_param(r, "id", &id);
	if (e || (e = v1_id_param(r, "target", &target)) ||
	    (e = nd_store_member_delete(r->db, r->who.tenant_id, id, target, &r->err)))
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
	nd_buf_json_time(b, c->created_at, true);
	nd_buf_puts(b, ",\"updated_at\":");
	nd_buf_json_time(b, c->updated_at, true);
	nd_buf_putc(b, '}');
}

static int campaign_row(void *arg, const struct nd_campaign *c)
{
	write_campaign(arg, c);
	return 0;
}

enum nd_err v1_campaign_put(struct nd_req *r)
{
	struct nd_campaign c = {0};
	json_t *body;
	enum nd_err e = v1_id_param(r, "id", &c.id);
	if (e || (e = v1_body(r, name_spec, 1, &body)))
		return e;
	c.name = nd_json_str(body, "name");
	bool created;
	e = nd_store_campaign_put(r->db, r->who.tenant_id, &c, &created, &r->err);
	if (!e) {
		write_campaign(&r->out, &c);
		nd_reply_json(r, created ? 201 : 200);
	}
	json_decref(body);
	return e;
}

enum nd_err v1_campaign_get(struct nd_req *r)
{
	const char *id;
	enum nd_err e = v1_id_param(r, "id", &id);
	if (e || (e = nd_store_campaign_get(r->db, r->who.tenant_id, id, campaign_row, &r->out,
					    &r->err)))
		return e;
	return nd_reply_json(r, 200);
}
