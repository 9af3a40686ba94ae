/* v1.c - the native face: route table, health check, shared helpers. */
#include "face/v1/v1.h"

#include <stdlib.h>
#include <string.h>

#include "core/ids.h"

static enum nd_err v1_healthz(struct nd_req *r)
{
	struct nd_error err;
	enum nd_err e = r->db ? nd_svc_ping(r->db, &err) : ND_ERR_BUSY;
	nd_buf_puts(&r->out, e ? "{\"status\":\"unavailable\"}" : "{\"status\":\"ok\"}");
	return nd_reply_json(r, e ? 503 : 200);
}

static void v1_render_error(struct nd_req *r, const struct nd_err_info *info)
{
	struct nd_buf *b = &r->out;
	nd_buf_puts(b, "{\"type\":\"urn:notifd:problem:");
	nd_buf_puts(b, info->slug);
	nd_buf_puts(b, "\",\"title\":");
	nd_buf_json_str(b, info->title);
	nd_buf_printf(b, ",\"status\":%u,\"detail\":", info->status);
	nd_buf_json_str(b, r->err.detail[0] ? r->err.detail : info->title);
	if (r->err.field[0]) {
		nd_buf_puts(b, ",\"field\":");
		nd_buf_json_str(b, r->err.field);
	}
	nd_buf_puts(b, ",\"request_id\":");
	nd_buf_json_str(b, r->request_id);
	nd_buf_putc(b, '}');
	r->content_type = "application/problem+json";
}

static const struct nd_route routes[] = {
	{"GET", "/healthz", v1_healthz, ND_ROUTE_PUBLIC},
	{"PUT", "/v1/targets/{id}", v1_target_put, 0},
	{"GET", "/v1/targets/{id}", v1_target_get, 0},
	{"DELETE", "/v1/targets/{id}", v1_target_delete, 0},
	{"GET", "/v1/targets/{id}/notifications", v1_feed, ND_ROUTE_MEMBER_SELF},
	{"POST", "/v1/targets/{id}/events", v1_event, ND_ROUTE_MEMBER_SELF},
	{"POST", "/v1/segments", v1_segment_create, 0},
	{"GET", "/v1/segments", v1_segment_list, 0},
	{"GET", "/v1/segments/{id}", v1_segment_get, 0},
	{"DELETE", "/v1/segments/{id}", v1_segment_delete, 0},
	{"PUT", "/v1/segments/{id}/members/{target}", v1_member_put, 0},
	{"DELETE", "/v1/segments/{id}/members/{target}", v1_member_delete, 0},
	{"PUT", "/v1/campaigns/{id}", v1_campaign_put, 0},
	{"GET", "/v1/campaigns/{id}", v1_campaign_get, 0},
	{"POST", "/v1/notifications", v1_notification_create, 0},
	{"GET", "/v1/notifications/{key}", v1_notification_get, 0},
	{"GET", "/v1/tenant", v1_tenant_get, 0},
	{"PATCH", "/v1/tenant", v1_tenant_patch, 0},
	{"POST", "/v1/keys", v1_key_create, 0},
	{"GET", "/v1/keys", v1_key_list, 0},
	{"DELETE", "/v1/keys/{id}", v1_key_revoke, 0},
};

const struct nd_face nd_face_v1 = {
	.name = "v1",
	.prefix = "/v1/",
	.routes = routes,
	.nroutes = sizeof routes / sizeof routes[0],
	.render_error = v1_render_error,
};

enum nd_err v1_body(struct nd_req *r, const struct nd_field_spec *specs, size_t n, json_t **out)
{
	json_t *obj;
	enum nd_err e = nd_json_parse_object(r->body.data ? r->body.data : "", r->body.len, &obj,
					     &r->err);
	if (e)
		return e;
	e = nd_spec_check(obj, specs, n, true, &r->err);
	if (e) {
		json_decref(obj);
		return e;
	}
	*out = obj;
	return ND_OK;
}

enum nd_err v1_int32_param(struct nd_req *r, const char *name, int32_t *out)
{
	if (!nd_int32_parse(nd_req_param(r, name), out))
		return nd_fail(&r->err, ND_ERR_INVALID_PARAM, name, "%s must be an int32", name);
	return ND_OK;
}

enum nd_err v1_id_param(struct nd_req *r, const char *name, const char **out)
{
	const char *v = nd_req_param(r, name);
	if (!nd_id_valid(v))
		return nd_fail(&r->err, ND_ERR_INVALID_PARAM, name,
			       "%s must be 1..%d visible ASCII characters", name, ND_ID_MAX);
	*out = v;
	return ND_OK;
}
