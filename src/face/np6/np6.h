/* np6.h - the NP6-compatible face (NP6 API 8.1.0, targets). */
#ifndef ND_FACE_NP6_H
#define ND_FACE_NP6_H

#include "http/server.h"

extern const struct nd_face nd_face_np6;

/* Path parameter @name as a target id (400 when it cannot be one). */
enum nd_err np6_target_param(struct nd_req *r, const char *name, const char **out);

enum nd_err np6_notifications(struct nd_req *r);
enum nd_err np6_segments(struct nd_req *r);
enum nd_err np6_segment_add(struct nd_req *r);
enum nd_err np6_segment_remove(struct nd_req *r);

#endif
