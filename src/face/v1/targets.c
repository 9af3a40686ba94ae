/* targets.c - native target routes. */
#include <stdlib.h>

#include "face/v1/v1.h"

static const struct nd_field_spec target_spec[] = {
	{"name", ND_F_STRING, false, 0, 200, 0},
	{"email", ND_F_STRING, false, 0, 254, 0},
	{"profile", ND_F_STRING, false, 0, 2048, 0},
	{"attributes", ND_F_OBJECT, false, 0, 16384, 0},
};

static void write_target(struct nd_buf *b, const struct nd_target *t)
{
	nd_buf_puts(b, "{\"id\":");
	nd_buf_json_str(b, t->id);
	nd_buf_puts(b, ",\"name\":");
	nd_buf_json_str_or_null(b, t->name);
	nd_buf_puts(b, ",\"email\":");
	nd_buf_json_str_or_null(b, t->email);
	nd_buf_puts(b, ",\"profile\":");
	nd_buf_json_str_or_null(b, t->profile);
	/* attributes were serialized by jansson on the way in: valid JSON. */
	nd_buf_puts(b, ",\"attributes\":");
	nd_buf_puts(b, t->attributes ? t->attributes : "{}");
	nd_buf_puts(b, ",\"created_at\":");
	nd_buf_json_time(b, t->created_at);
	nd_buf_puts(b, ",\"updated_at\":");
	nd_buf_json_time(b, t->updated_at);
	nd_buf_putc(b, '}');
}

static int target_row(void *arg, const struct nd_target *t)
{
	write_target(arg, t);
	return 0;
}

enum nd_err v1_target_put(struct nd_req *r)
{
	const char *id;
	json_t *body;
	enum nd_err e = v1_id_param(r, "id", &id);
	if (e || (e = v1_body(r, target_spec, sizeof target_spec / sizeof target_spec[0], &body)))
		return e;
	const json_t *attrs = json_object_get(body, "attributes");
	char *attr_text = json_is_object(attrs) ? json_dumps(attrs, JSON_COMPACT | JSON_PRESERVE_ORDER)
						: NULL;
	struct nd_target t = {
		.id = id,
		.name = nd_json_str(body, "name"),
		.email = nd_json_str(body, "email"),
		.profile = nd_json_str(body, "profile"),
		.attributes = attr_text,
	};
	bool created;
	struct nd_call c = nd_req_call(r);
	e = nd_svc_target_put(&c, &t, &created);
	if (!e) {
		write_target(&r->out, &t);
		nd_reply_json(r, created ? 201 : 200);
	}
	free(attr_text);
	json_decref(body);
	return e;
}

enum nd_err v1_target_get(struct nd_req *r)
{
	const char *id;
	struct nd_call c = nd_req_call(r);
	enum nd_err e = v1_id_param(r, "id", &id);
	if (e || (e = nd_svc_target_get(&c, id, target_row, &r->out)))
		return e;
	return nd_reply_json(r, 200);
}

enum nd_err v1_target_delete(struct nd_req *r)
{
	const char *id;
	struct nd_call c = nd_req_call(r);
	enum nd_err e = v1_id_param(r, "id", &id);
	if (e || (e = nd_svc_target_delete(&c, id)))
		return e;
	return nd_reply_empty(r, 204);
}
