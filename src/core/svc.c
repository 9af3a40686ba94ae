/* svc.c - service rules shared by the faces and the command line. */
#include "core/svc.h"

#include <string.h>

#include "core/time.h"

static const char *const event_names[ND_EV__COUNT] = {
	[ND_EV_IMPRESSION] = "impression", [ND_EV_ACTIVATION] = "activation",
	[ND_EV_REDIRECTION] = "redirection", [ND_EV_DISMISS] = "dismiss",
	[ND_EV_READ] = "read", [ND_EV_COMPLETE] = "complete",
};

const char *nd_event_name(enum nd_event ev)
{
	return (unsigned)ev < ND_EV__COUNT ? event_names[ev] : "unknown";
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

bool nd_tenant_name_valid(const char *name)
{
	size_t n = strlen(name);
	return n >= 1 && n <= 64 &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789._-") == n;
}

enum nd_err nd_svc_key_create(struct nd_store_conn *c, int64_t tenant_id, enum nd_role role,
			      const char *target, struct nd_new_key *out, struct nd_error *err)
{
	if (role == ND_ROLE_MEMBER && (!target || !nd_id_valid(target)))
		return nd_fail(err, target ? ND_ERR_INVALID_FIELD : ND_ERR_MISSING_FIELD, "target",
			       "a member key needs a target id of 1..%d visible ASCII characters",
			       ND_ID_MAX);
	if (role == ND_ROLE_ADMIN && target)
		return nd_fail(err, ND_ERR_INVALID_FIELD, "target",
			       "an admin key is not bound to a target");
	unsigned char hash[ND_KEY_HASH_LEN];
	nd_key_generate(out->key);
	nd_key_hash(out->key, strlen(out->key), hash);
	nd_key_id(hash, out->id);
	out->created_at = nd_time_now_ms();
	return nd_store_key_put(c, tenant_id, hash, role, target, out->created_at, false, err);
}

enum nd_err nd_svc_admin_key_ensure(struct nd_store_conn *c, const char *key,
				    struct nd_error *err)
{
	if (!nd_key_acceptable(key))
		return nd_fail(err, ND_ERR_INVALID_PARAM, "admin_key",
			       "admin key must be %d..%d visible ASCII characters", ND_KEY_MIN,
			       ND_KEY_MAX);
	int64_t tenant;
	enum nd_err e = nd_store_tenant_ensure(c, "default", &tenant, err);
	if (e)
		return e;
	unsigned char hash[ND_KEY_HASH_LEN];
	nd_key_hash(key, strlen(key), hash);
	e = nd_store_key_put(c, tenant, hash, ND_ROLE_ADMIN, NULL, nd_time_now_ms(), true, err);
	if (e == ND_ERR_INVALID_PARAM)
		return nd_fail(err, e, "admin_key",
			       "admin key is already in use as another tenant's or a member key");
	return e;
}
