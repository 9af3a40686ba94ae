/* tenant.c - native routes for the caller's own tenant. */
#include "core/zone.h"
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
	enum nd_err e = nd_store_tenant_get(r->db, r->who.tenant_id, tenant_row, &r->out, &r->err);
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
	const char *zone = nd_json_str(body, "time_zone");
	if (!nd_zone_valid(zone))
		e = nd_fail(&r->err, ND_ERR_INVALID_FIELD, "time_zone",
			    "time_zone must be an IANA time zone such as America/New_York");
	else
		e = nd_store_tenant_set_zone(r->db, r->who.tenant_id, zone, &r->err);
	json_decref(body);
	if (e)
		return e;
	return v1_tenant_get(r);
}
