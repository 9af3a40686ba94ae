/* svc.h - service rules shared by the faces and the command line. */
#ifndef ND_CORE_SVC_H
#define ND_CORE_SVC_H

#include "core/keys.h"
#include "store/store.h"

struct nd_new_key {
	char key[ND_KEY_GEN_LEN + 1]; /* shown once, never stored */
	char id[ND_KEY_ID_LEN + 1];
	int64_t created_at;
};

/* Creates a key of @role for the tenant (@target required for members,
 * refused for admins). */
enum nd_err nd_svc_key_create(struct nd_store_conn *c, int64_t tenant_id, enum nd_role role,
			      const char *target, struct nd_new_key *out, struct nd_error *err);

/* Makes sure the operator's @key is a valid admin key of tenant "default". */
enum nd_err nd_svc_admin_key_ensure(struct nd_store_conn *c, const char *key,
				    struct nd_error *err);

/* A tenant name: 1..64 characters of [A-Za-z0-9._-]. */
bool nd_tenant_name_valid(const char *name);

const char *nd_event_name(enum nd_event ev);
bool nd_event_parse(const char *s, enum nd_event *out);

#endif
