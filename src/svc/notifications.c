/* notifications.c - sending notifications, reading feeds and listings,
 * recording events, deleting deliveries. */
#include <string.h>

#include "svc/svc_int.h"
#include "util/time.h"

static const char *const event_names[ND_EV__COUNT] = {
	[ND_EV_IMPRESSION] = "impression", [ND_EV_ACTIVATION] = "activation",
	[ND_EV_REDIRECTION] = "redirection", [ND_EV_DISMISS] = "dismiss",
	[ND_EV_READ] = "read", [ND_EV_COMPLETE] = "complete",
};

/* A delivery's time of each event, as the native feed and exports name it. */
static const char *const time_fields[ND_EV__COUNT] = {
	[ND_EV_IMPRESSION] = "impression", [ND_EV_ACTIVATION] = "activation",
	[ND_EV_REDIRECTION] = "redirection", [ND_EV_DISMISS] = "dismiss",
	[ND_EV_READ] = "read", [ND_EV_COMPLETE] = "completed",
};

const char *nd_event_time_field(enum nd_event ev)
{
	return time_fields[ev];
}

bool nd_event_parse(const char *s, enum nd_event *out)
{
	for (int i = 0; i < ND_EV__COUNT; i++) {
		if (strcmp(s, event_names[i]) == 0) {
			*out = (enum nd_event)i;
			return true;
		}
	}
	return false;
}

enum nd_err nd_svc_notification_create(const struct nd_call *c, struct nd_notification *n,
				       const struct nd_recipients *to, int64_t *deliveries)
{
	enum nd_err e = svc_may(c, ND_ACCESS_ADMIN, NULL);
	if (e)
		return e;
	if (n->date_started == ND_NO_TIME)
		n->date_started = nd_time_now_ms();
	struct nd_missing_ref miss;
	e = nd_store_notification_create(c->db, svc_tenant(c), n, to, deliveries,
					 &miss, c->err);
	if (e == ND_ERR_NOT_FOUND && miss.kind == ND_REF_CAMPAIGN)
		return nd_fail(c->err, ND_ERR_UNKNOWN_REF, "campaign_id",
			       "unknown campaign \"%.128s\"", n->campaign_id);
	if (e == ND_ERR_NOT_FOUND && miss.kind == ND_REF_SEGMENT)
		return nd_fail(c->err, ND_ERR_UNKNOWN_REF, "segments", "unknown segment %d",
			       miss.segment);
	if (e == ND_ERR_CONFLICT)
		return nd_fail(c->err, ND_ERR_INVALID_FIELD, NULL,
			       "this tenant has used every notification key");
	return e;
}

enum nd_err nd_svc_notification_get(const struct nd_call *c, int32_t key,
				    nd_notification_cb cb, void *arg)
{
	enum nd_err e = svc_may(c, ND_ACCESS_ADMIN, NULL);
	return e ? e : nd_store_notification_get(c->db, svc_tenant(c), key, cb, arg, c->err);
}

enum nd_err nd_svc_feed(const struct nd_call *c, const struct nd_feed_query *q,
			nd_delivery_cb cb, void *arg)
{
	enum nd_err e = svc_may(c, ND_ACCESS_MEMBER_SELF, q->target);
	return e ? e : nd_store_feed(c->db, svc_tenant(c), q, cb, arg, c->err);
}

enum nd_err nd_svc_event_record(const struct nd_call *c, const char *target, int32_t key,
				enum nd_event ev, int64_t at)
{
	enum nd_err e = svc_may(c, ND_ACCESS_MEMBER_SELF, target);
	if (e)
		return e;
	e = nd_store_event_record(c->db, svc_tenant(c), target, key, ev,
				  at == ND_NO_TIME ? nd_time_now_ms() : at, c->err);
	if (e == ND_ERR_NOT_FOUND)
		return nd_fail(c->err, e, NULL, "notification %d was not routed to this target", key);
	return e;
}

enum nd_err nd_svc_list(const struct nd_call *c, const struct nd_list_query *q, nd_item_cb cb,
			void *arg, int64_t *total)
{
	enum nd_err e = svc_may(c, ND_ACCESS_ADMIN, NULL);
	return e ? e : nd_store_list(c->db, svc_tenant(c), q, cb, arg, total, c->err);
}

enum nd_err nd_svc_delivery_delete(const struct nd_call *c, const unsigned char guid[16])
{
	enum nd_err e = svc_may(c, ND_ACCESS_MEMBER_ANY, NULL);
	if (e)
		return e;
	const char *owner = c->who->role == ND_ROLE_MEMBER ? c->who->target : NULL;
	return nd_store_delivery_delete(c->db, svc_tenant(c), guid, owner, c->err);
}
