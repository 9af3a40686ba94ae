/* directory.c - targets, segments and their members, campaigns. */
#include "svc/svc_int.h"

enum nd_err nd_svc_target_put(const struct nd_call *c, struct nd_target *t, bool *created)
{
	enum nd_err e = svc_may(c, ND_ACCESS_ADMIN, NULL);
	return e ? e : nd_store_target_put(c->db, svc_tenant(c), t, created, c->err);
}

enum nd_err nd_svc_target_get(const struct nd_call *c, const char *id, nd_target_cb cb,
			      void *arg)
{
	enum nd_err e = svc_may(c, ND_ACCESS_ADMIN, NULL);
	return e ? e : nd_store_target_get(c->db, svc_tenant(c), id, cb, arg, c->err);
}

enum nd_err nd_svc_target_delete(const struct nd_call *c, const char *id)
{
	enum nd_err e = svc_may(c, ND_ACCESS_ADMIN, NULL);
	return e ? e : nd_store_target_delete(c->db, svc_tenant(c), id, c->err);
}

enum nd_err nd_svc_segment_create(const struct nd_call *c, const char *name, int32_t *id)
{
	enum nd_err e = svc_may(c, ND_ACCESS_ADMIN, NULL);
	if (!e)
		e = nd_store_segment_create(c->db, svc_tenant(c), name, id, c->err);
	if (e == ND_ERR_CONFLICT)
		return nd_fail(c->err, ND_ERR_INVALID_FIELD, NULL,
			       "this tenant has used every segment id");
	return e;
}

enum nd_err nd_svc_segment_list(const struct nd_call *c, nd_segment_cb cb, void *arg)
{
	enum nd_err e = svc_may(c, ND_ACCESS_ADMIN, NULL);
	return e ? e : nd_store_segment_list(c->db, svc_tenant(c), cb, arg, c->err);
}

enum nd_err nd_svc_segment_get(const struct nd_call *c, int32_t id, nd_segment_cb cb, void *arg)
{
	enum nd_err e = svc_may(c, ND_ACCESS_ADMIN, NULL);
	return e ? e : nd_store_segment_get(c->db, svc_tenant(c), id, cb, arg, c->err);
}

enum nd_err nd_svc_segment_delete(const struct nd_call *c, int32_t id)
{
	enum nd_err e = svc_may(c, ND_ACCESS_ADMIN, NULL);
	return e ? e : nd_store_segment_delete(c->db, svc_tenant(c), id, c->err);
}

enum nd_err nd_svc_member_put(const struct nd_call *c, int32_t segment, const char *target)
{
	enum nd_err e = svc_may(c, ND_ACCESS_ADMIN, NULL);
	return e ? e : nd_store_member_put(c->db, svc_tenant(c), segment, target, c->err);
}

enum nd_err nd_svc_member_delete(const struct nd_call *c, int32_t segment, const char *target)
{
	enum nd_err e = svc_may(c, ND_ACCESS_ADMIN, NULL);
	return e ? e : nd_store_member_delete(c->db, svc_tenant(c), segment, target, c->err);
}

enum nd_err nd_svc_target_segments(const struct nd_call *c, const char *target,
				   nd_segment_id_cb cb, void *arg)
{
	enum nd_err e = svc_may(c, ND_ACCESS_MEMBER_SELF, target);
	return e ? e : nd_store_target_segments(c->db, svc_tenant(c), target, cb, arg, c->err);
}

enum nd_err nd_svc_campaign_put(const struct nd_call *c, struct nd_campaign *cp, bool *created)
{
	enum nd_err e = svc_may(c, ND_ACCESS_ADMIN, NULL);
	return e ? e : nd_store_campaign_put(c->db, svc_tenant(c), cp, created, c->err);
}

enum nd_err nd_svc_campaign_get(const struct nd_call *c, const char *id, nd_campaign_cb cb,
				void *arg)
{
	enum nd_err e = svc_may(c, ND_ACCESS_ADMIN, NULL);
	return e ? e : nd_store_campaign_get(c->db, svc_tenant(c), id, cb, arg, c->err);
}
