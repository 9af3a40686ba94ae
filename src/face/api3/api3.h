/* api3.h - the Brightidea API3-compatible face (notification object). */
#ifndef ND_FACE_API3_H
#define ND_FACE_API3_H

#include "http/server.h"

extern const struct nd_face nd_face_api3;

enum nd_err api3_get(struct nd_req *r);
enum nd_err api3_list(struct nd_req *r);
enum nd_err api3_delete(struct nd_req *r);

#endif
