/* access.c - who the caller is, what it may do, its tenant and its keys. */
#include <stdio.h>
#include <string.h>

#include "svc/svc_int.h"
#include "util/time.h"

/* A key the store does not hold valid: its answer. */
static enum nd_err no_key(enum nd_err e, struct nd_error *err)
{
	if (e == ND_ERR_NOT_FOUND)
		return nd_fail(err, ND_ERR_UNAUTHORIZED, NULL, "unknown or revoked key");
	return e;
}

enum nd_err nd_svc_authenticate(struct nd_store_conn *db, const char *key, size_t len,
				struct nd_principal *who, struct nd_error *err)
{
	if (!key || len == 0)
		return nd_fail(err, ND_ERR_UNAUTHORIZED, NULL,
			       "an API key is required (X-Key or Authorization: Bearer)");
	if (len > ND_KEY_MAX)
		return nd_fail(err, ND_ERR_UNAUTHORIZED, NULL, "unknown or revoked key");
	unsigned char hash[ND_KEY_HASH_LEN];
	nd_key_hash(key, len, hash);
	return no_key(nd_store_key_auth(db, hash, who, err), err);
}

enum nd_err nd_svc_read_end(struct nd_store_conn *db, bool *stale, struct nd_error *err)
{
	return no_key(nd_store_read_end(db, stale, err), err);
}

enum nd_err nd_svc_authorize(const struct nd_principal *who, enum nd_access access,
			     const char *target, struct nd_error *err)
{
	if (who->role == ND_ROLE_ADMIN || access == ND_ACCESS_MEMBER_ANY)
		return ND_OK;
	if (access == ND_ACCESS_MEMBER_SELF) {
		if (target && strcmp(target, who->target) == 0)
			return ND_OK;
		return nd_fail(err, ND_ERR_FORBIDDEN, NULL,
			       "a member key may only act on its own target");
	}
	return nd_fail(err, ND_ERR_FORBIDDEN, NULL, "this route needs an admin key");
}

bool nd_tenant_name_valid(const char *name)
{
	size_t n = strlen(name);
	return n >= 1 && n <= 64 &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789._-") == n;
}

enum nd_err nd_svc_operator(struct nd_store_conn *db, const char *name, struct nd_principal *who,
			    struct nd_error *err)
{
	if (!nd_tenant_name_valid(name))
		return nd_fail(err, ND_ERR_INVALID_PARAM, "tenant",
			       "invalid tenant name \"%.64s\": use 1..64 of A-Z a-z 0-9 . _ -", name);
	memset(who, 0, sizeof *who);
	who->role = ND_ROLE_ADMIN;
	snprintf(who->key_id, sizeof who->key_id, "operator");
	return nd_store_tenant_ensure(db, name, &who->tenant_id, err);
}

enum nd_err nd_svc_tenant_get(const struct nd_call *c, nd_tenant_cb cb, void *arg)
{
	enum nd_err e = svc_may(c, ND_ACCESS_ADMIN, NULL);
	return e ? e : nd_store_tenant_get(c->db, svc_tenant(c), cb, arg, c->err);
}

enum nd_err nd_svc_tenant_set_zone(const struct nd_call *c, const char *zone)
{
	enum nd_err e = svc_may(c, ND_ACCESS_ADMIN, NULL);
	if (e)
		return e;
	if (!nd_zone_valid(zone))
		return nd_fail(c->err, ND_ERR_INVALID_FIELD, "time_zone",
			       "time_zone must be an IANA time zone such as America/New_York");
	return nd_store_tenant_set_zone(c->db, svc_tenant(c), zone, c->err);
}

enum nd_err nd_svc_key_create(const struct nd_call *c, enum nd_role role, const char *target,
			      struct nd_new_key *out)
{
	enum nd_err e = svc_may(c, ND_ACCESS_ADMIN, NULL);
	if (e)
		return e;
	if (role == ND_ROLE_MEMBER && (!target || !nd_id_valid(target)))
		return nd_fail(c->err, target ? ND_ERR_INVALID_FIELD : ND_ERR_MISSING_FIELD, "target",
			       "a member key needs a target id of 1..%d visible ASCII characters",
			       ND_ID_MAX);
	if (role == ND_ROLE_ADMIN && target)
		return nd_fail(c->err, ND_ERR_INVALID_FIELD, "target",
			       "an admin key is not bound to a target");
	unsigned char hash[ND_KEY_HASH_LEN];
	nd_key_generate(out->key);
	nd_key_hash(out->key, strlen(out->key), hash);
	nd_key_id(hash, out->id);
	out->created_at = nd_time_now_ms();
	e = nd_store_key_put(c->db, svc_tenant(c), hash, role, target, out->created_at, false,
			     c->err);
	if (e == ND_ERR_CONFLICT) /* 256 random bits: only a broken generator gets here */
		return nd_fail(c->err, ND_ERR_INTERNAL, NULL, "cannot make a unique key");
	return e;
}

enum nd_err nd_svc_key_list(const struct nd_call *c, nd_key_cb cb, void *arg)
{
	enum nd_err e = svc_may(c, ND_ACCESS_ADMIN, NULL);
	return e ? e : nd_store_key_list(c->db, svc_tenant(c), cb, arg, c->err);
}

enum nd_err nd_svc_key_revoke(const struct nd_call *c, const char *id)
{
	enum nd_err e = svc_may(c, ND_ACCESS_ADMIN, NULL);
	if (e)
		return e;
	/* Key ids are 16 lower-case hex digits; anything else names no key. */
	if (strlen(id) != ND_KEY_ID_LEN || strspn(id, "0123456789abcdef") != ND_KEY_ID_LEN)
		return nd_fail(c->err, ND_ERR_NOT_FOUND, NULL, "key not found");
	return nd_store_key_revoke(c->db, svc_tenant(c), id, c->err);
}

enum nd_err nd_svc_admin_key_ensure(struct nd_store_conn *db, const char *key,
				    struct nd_error *err)
{
	if (!nd_key_acceptable(key))
		return nd_fail(err, ND_ERR_INVALID_PARAM, "admin_key",
			       "admin key must be %d..%d visible ASCII characters and hard to guess "
			       "(about %d bits: random characters, not a word, a run or a repeat)",
			       ND_KEY_MIN, ND_KEY_MAX, ND_KEY_MIN_BITS);
	int64_t tenant;
	enum nd_err e = nd_store_tenant_ensure(db, "default", &tenant, err);
	if (e)
		return e;
	unsigned char hash[ND_KEY_HASH_LEN];
	nd_key_hash(key, strlen(key), hash);
	e = nd_store_key_put(db, tenant, hash, ND_ROLE_ADMIN, NULL, nd_time_now_ms(), true, err);
	if (e == ND_ERR_CONFLICT)
		return nd_fail(err, ND_ERR_INVALID_PARAM, "admin_key",
			       "admin key is already in use as another tenant's or a member key");
	if (e == ND_ERR_FORBIDDEN) {
		/* A revoked key stays revoked: whoever revoked it meant it, and
		 * a restart must not quietly undo that. */
		char id[ND_KEY_ID_LEN + 1];
		nd_key_id(hash, id);
		return nd_fail(err, ND_ERR_INVALID_PARAM, "admin_key",
			       "admin key %s was revoked and stays revoked; start with another key",
			       id);
	}
	return e;
}

enum nd_err nd_svc_ping(struct nd_store_conn *db, struct nd_error *err)
{
	return nd_store_ping(db, err);
}
