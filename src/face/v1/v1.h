/* v1.h - the native face: handlers shared across its files. */
#ifndef ND_FACE_V1_H
#define ND_FACE_V1_H

#include <jansson.h>

#include "core/spec.h"
#include "http/server.h"

extern const struct nd_face nd_face_v1;

/* Parses the body as a JSON object and checks it strictly against @specs. */
enum nd_err v1_body(struct nd_req *r, const struct nd_field_spec *specs, size_t n, json_t **out);
/* Parses path parameter @name as an int32 id. */
enum nd_err v1_int32_param(struct nd_req *r, const char *name, int32_t *out);
/* Checks path parameter @name against the target/campaign id rule. */
enum nd_err v1_id_param(struct nd_req *r, const char *name, const char **out);

enum nd_err v1_target_put(struct nd_req *r);
enum nd_err v1_target_get(struct nd_req *r);
enum nd_err v1_target_delete(struct nd_req *r);
enum nd_err v1_segment_create(struct nd_req *r);
enum nd_err v1_segment_list(struct nd_req *r);
enum nd_err v1_segment_get(struct nd_req *r);
enum nd_err v1_segment_delete(struct nd_req *r);
enum nd_err v1_member_put(struct nd_req *r);
enum nd_err v1_member_delete(struct nd_req *r);
enum nd_err v1_campaign_put(struct nd_req *r);
enum nd_err v1_campaign_get(struct nd_req *r);
enum nd_err v1_notification_create(struct nd_req *r);
enum nd_err v1_notification_get(struct nd_req *r);
enum nd_err v1_feed(struct nd_req *r);
enum nd_err v1_event(struct nd_req *r);
enum nd_err v1_tenant_get(struct nd_req *r);
enum nd_err v1_tenant_patch(struct nd_req *r);
enum nd_err v1_key_create(struct nd_req *r);
enum nd_err v1_key_list(struct nd_req *r);
enum nd_err v1_key_revoke(struct nd_req *r);

#endif
