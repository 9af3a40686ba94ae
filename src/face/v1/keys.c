/* keys.c - native key routes. */

#include "face/v1/v1.h"

static const struct nd_field_spec key_spec[] = {
	{"role", ND_F_STRING, true, 1, 16, 0},
	{"target", ND_F_ID, false, 0, 0, 0},
};

enum nd_err v1_key_create(struct nd_req *r)
{
	json_t *body;
	enum nd_err e = v1_body(r, key_spec, sizeof key_spec / sizeof key_spec[0], &body);
	if (e)
		return e;
	enum nd_role role;
	struct nd_call c = nd_req_call(r);
	const char *target = nd_json_str(body, "target");
	struct nd_new_key k;
	if (!nd_role_parse(nd_json_str(body, "role"), &role))
		e = nd_fail(&r->err, ND_ERR_INVALID_FIELD, "role", "role must be admin or member");
	else
		e = nd_svc_key_create(&c, role, target, &k);
	if (!e) {
		struct nd_buf *b = &r->out;
		nd_buf_printf(b, "{\"id\":\"%s\",\"key\":\"%s\",\"role\":\"%s\",\"target\":", k.id,
			      k.key, nd_role_name(role));
		nd_buf_json_str_or_null(b, target);
		nd_buf_puts(b, ",\"created_at\":");
		nd_buf_json_time(b, k.created_at);
		nd_buf_putc(b, '}');
		nd_reply_json(r, 201);
	}
	json_decref(body);
	return e;
}

static int key_row(void *arg, const struct nd_key_row *k)
{
	struct nd_buf *b = arg;
	nd_buf_json_next(b);
	nd_buf_printf(b, "{\"id\":\"%s\",\"role\":\"%s\",\"target\":", k->id, nd_role_name(k->role));
	nd_buf_json_str_or_null(b, k->target);
	nd_buf_puts(b, ",\"created_at\":");
	nd_buf_json_time(b, k->created_at);
	nd_buf_puts(b, ",\"revoked_at\":");
	nd_buf_json_time(b, k->revoked_at);
	nd_buf_putc(b, '}');
	return 0;
}

enum nd_err v1_key_list(struct nd_req *r)
{
	nd_buf_puts(&r->out, "{\"keys\":[");
	struct nd_call c = nd_req_call(r);
	enum nd_err e = nd_svc_key_list(&c, key_row, &r->out);
	if (e)
		return e;
	nd_buf_puts(&r->out, "]}");
	return nd_reply_json(r, 200);
}

enum nd_err v1_key_revoke(struct nd_req *r)
{
	struct nd_call c = nd_req_call(r);
	enum nd_err e = nd_svc_key_revoke(&c, nd_req_param(r, "id"));
	if (e)
		return e;
	return nd_reply_empty(r, 204);
}
