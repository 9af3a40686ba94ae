/* tenant.c - native routes for the caller's own tenant. */
#include "face/v1/v1.h"

static int tenant_row(void *arg, const struct nd_tenant *t)
{
	struct nd_buf *b = arg;
	nd_buf_puts(b, "{\"name\":");
	nd_buf_json_str(b, t->name);
	nd_buf_puts(b, ",\"time_zone\":");
	nd_buf_json_str(b, t->time_zone);
	nd_buf_printf(b, ",\"deliveries\":%lld}", (long long)t->deliveries);
	return 0;
}

enum nd_err v1_tenant_get(struct nd_req *r)
{
	struct nd_call c = nd_req_call(r);
	enum nd_err e = nd_svc_tenant_get(&c, tenant_row, &r->out);
	return e ? e : nd_reply_json(r, 200);
}

static const struct nd_field_spec tenant_spec[] = {
	{"time_zone", ND_F_STRING, true, 1, ND_ZONE_MAX - 1, 0},
};

enum nd_err v1_tenant_patch(struct nd_req *r)
{
	json_t *body;
	enum nd_err e = v1_body(r, tenant_spec, 1, &body);
	if (e)
		return e;
	struct nd_call c = nd_req_call(r);
	e = nd_svc_tenant_set_zone(&c, nd_json_str(body, "time_zone"));
	json_decref(body);
	if (e)
		return e;
	return v1_tenant_get(r);
}
