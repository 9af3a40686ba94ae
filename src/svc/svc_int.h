/* svc_int.h - helpers shared by the service layer's files. */
#ifndef ND_SVC_INT_H
#define ND_SVC_INT_H

#include "store/store.h"
#include "svc/svc.h"

/* The caller's tenant. */
static inline int64_t svc_tenant(const struct nd_call *c)
{
	return c->who->tenant_id;
}

/* nd_svc_authorize for the caller of @c. */
static inline enum nd_err svc_may(const struct nd_call *c, enum nd_access access,
				  const char *target)
{
	return nd_svc_authorize(c->who, access, target, c->err);
}

#endif
