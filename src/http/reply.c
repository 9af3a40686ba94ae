/* reply.c - the only place where an error becomes bytes.
 *
 * Each face has an error style; the status always comes from the registry
 * in core/err.c, so a face can change the body but never the status. */
#include <stdio.h>
#include <string.h>

#include "http/server.h"
#include "util/xml.h"

static void write_problem(struct nd_req *r, const struct nd_err_info *info)
{
	struct nd_buf *b = &r->out;
	nd_buf_reset(b);
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

static void write_np6(struct nd_req *r, const struct nd_err_info *info)
{
	struct nd_buf *b = &r->out;
	nd_buf_reset(b);
	nd_buf_printf(b, "{\"code\":%u,\"message\":", info->status);
	nd_buf_json_str(b, r->err.detail[0] ? r->err.detail : info->title);
	nd_buf_putc(b, '}');
	r->content_type = "application/json";
}

/* API3 answers every missing object, whoever's it is, with one message. */
static const char api3_not_found[] = "Invalid object ID or you don't have access to this object";

static void write_api3(struct nd_req *r, const struct nd_err_info *info)
{
	struct nd_buf *b = &r->out;
	const char *msg = r->err.code == ND_ERR_NOT_FOUND ? api3_not_found
			  : r->err.detail[0]		  ? r->err.detail
							  : info->title;
	nd_buf_reset(b);
	/* Errors found before the handler ran (key, role, method) still
	 * answer in the format the request asked for. */
	if (!r->xml) {
		bool broken = false;
		const char *f = nd_req_query(r, "format", &broken);
		r->xml = f && strcmp(f, "xml") == 0;
	}
	if (r->xml) {
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

void nd_reply_error(struct nd_req *r)
{
	const struct nd_err_info *info = nd_err_info(r->err.code);
	r->status = info->status;
	enum nd_err_style style = r->face ? r->face->style : ND_STYLE_PROBLEM;
	switch (style) {
	case ND_STYLE_PROBLEM:
		write_problem(r, info);
		break;
	case ND_STYLE_NP6:
		write_np6(r, info);
		break;
	case ND_STYLE_API3:
		write_api3(r, info);
		break;
	}
}
