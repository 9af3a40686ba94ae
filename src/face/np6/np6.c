/* np6.c - the NP6-compatible face: route table and shared helpers.
 *
 * Paths, parameters and bodies are NP6's own, so an NP6 client works
 * unchanged; docs/compat.md says what notifd does where NP6's document is
 * silent. Reading routes accept a member key for its own target. */
#include "face/np6/np6.h"

#include "core/ids.h"

static void np6_render_error(struct nd_req *r, const struct nd_err_info *info)
{
	struct nd_buf *b = &r->out;
	nd_buf_printf(b, "{\"code\":%u,\"message\":", info->status);
	nd_buf_json_str(b, r->err.detail[0] ? r->err.detail : info->title);
	nd_buf_putc(b, '}');
	r->content_type = "application/json";
}

static const struct nd_route routes[] = {
	{"GET", "/targets/{id}/notifications", np6_notifications, ND_ROUTE_MEMBER_SELF},
	{"GET", "/targets/{id}/segments", np6_segments, ND_ROUTE_MEMBER_SELF},
	{"POST", "/targets/{id}/segments/{segment}", np6_segment_add, 0},
	{"DELETE", "/targets/{id}/segments/{segment}", np6_segment_remove, 0},
};

const struct nd_face nd_face_np6 = {
	.name = "np6",
	.prefix = "/targets/",
	.routes = routes,
	.nroutes = sizeof routes / sizeof routes[0],
	.render_error = np6_render_error,
};

enum nd_err np6_target_param(struct nd_req *r, const char *name, const char **out)
{
	const char *v = nd_req_param(r, name);
	if (!nd_id_valid(v))
		return nd_fail(&r->err, ND_ERR_INVALID_PARAM, name,
			       "target id must be 1..%d visible ASCII characters", ND_ID_MAX);
	*out = v;
	return ND_OK;
}
