/* segments.c - NP6 target segment routes. */
#include "core/ids.h"
#include "face/np6/np6.h"

static int segment_id_row(void *arg, int32_t id)
{
	struct nd_buf *b = arg;
	nd_buf_json_next(b);
	nd_buf_json_int(b, id);
	return 0;
}

enum nd_err np6_segments(struct nd_req *r)
{
	const char *id;
	enum nd_err e = np6_target_param(r, "id", &id);
	if (e)
		return e;
	nd_buf_putc(&r->out, '[');
	struct nd_call c = nd_req_call(r);
	e = nd_svc_target_segments(&c, id, segment_id_row, &r->out);
	if (e)
		return e;
	nd_buf_putc(&r->out, ']');
	return nd_reply_json(r, 200);
}

static enum nd_err membership_params(struct nd_req *r, const char **target, int32_t *segment)
{
	enum nd_err e = np6_target_param(r, "id", target);
	if (e)
		return e;
	if (!nd_int32_parse(nd_req_param(r, "segment"), segment))
		return nd_fail(&r->err, ND_ERR_INVALID_PARAM, "segmentId",
			       "segmentId must be an int32");
	return ND_OK;
}

enum nd_err np6_segment_add(struct nd_req *r)
{
	const char *target;
	int32_t segment;
	struct nd_call c = nd_req_call(r);
	enum nd_err e = membership_params(r, &target, &segment);
	if (e || (e = nd_svc_member_put(&c, segment, target)))
		return e;
	return nd_reply_empty(r, 204);
}

enum nd_err np6_segment_remove(struct nd_req *r)
{
	const char *target;
	int32_t segment;
	struct nd_call c = nd_req_call(r);
	enum nd_err e = membership_params(r, &target, &segment);
	if (e || (e = nd_svc_member_delete(&c, segment, target)))
		return e;
	return nd_reply_empty(r, 204);
}
