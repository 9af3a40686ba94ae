/* ncache.h - a connection's cache of notification rows.
 *
 * A notification's content never changes once it is created (only its
 * delivery counter does, which the cache does not keep), so a row read once
 * answers for every later delivery of it: a feed reads the delivery columns
 * alone and takes each notification from here instead of joining it on every
 * row. An operation that ever changes a notification's content must drop it
 * with nd_ncache_clear() on every connection.
 *
 * Direct-mapped by (tenant, key) and bounded in bytes; one per connection,
 * hence one per thread and never locked. */
#ifndef ND_STORE_NCACHE_H
#define ND_STORE_NCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/model.h"

#define ND_NCACHE_SLOTS 1024
#define ND_NCACHE_BYTES ((size_t)4 << 20) /* strings, per connection */

struct nd_ncache_slot {
	int64_t tenant_id;
	struct nd_notification n; /* strings point into @block */
	char *block;
	size_t bytes;
};

struct nd_ncache {
	struct nd_ncache_slot *slots; /* allocated on first use */
	size_t bytes;
};

/* The cached notification @key of @tenant_id, or NULL. Valid until the next
 * nd_ncache_put() or nd_ncache_clear() on @c. */
const struct nd_notification *nd_ncache_get(struct nd_ncache *c, int64_t tenant_id,
					    int32_t key);
/* Keeps a copy of @n (its strings included; n->deliveries is not kept) and
 * returns it, or NULL when it would not fit in the byte bound: the caller
 * then goes on with @n itself. */
const struct nd_notification *nd_ncache_put(struct nd_ncache *c, int64_t tenant_id,
					    const struct nd_notification *n);
void nd_ncache_clear(struct nd_ncache *c);

/* A delivery whose notification is missing is a broken store: logged like
 * any internal error, the client told no more. */
enum nd_err nd_ncache_missing(int64_t tenant_id, int32_t key, struct nd_error *err);

#endif
