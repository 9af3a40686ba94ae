/* ncache.c - a connection's cache of notification rows; see ncache.h. */
#include <stdlib.h>
#include <string.h>

#include "store/ncache.h"
#include "util/log.h"
#include "util/mem.h"

/* Keys are consecutive per tenant, so the low bits spread them evenly; the
 * tenant is mixed in so that tenants do not share a slot per key. */
static struct nd_ncache_slot *slot_of(struct nd_ncache *c, int64_t tenant_id, int32_t key)
{
	uint64_t h = (uint64_t)(uint32_t)key + (uint64_t)tenant_id * 0x9E3779B97F4A7C15ull;
	return &c->slots[h % ND_NCACHE_SLOTS];
}

static void slot_drop(struct nd_ncache *c, struct nd_ncache_slot *s)
{
	c->bytes -= s->bytes;
	free(s->block);
	memset(s, 0, sizeof *s);
}

const struct nd_notification *nd_ncache_get(struct nd_ncache *c, int64_t tenant_id,
					    int32_t key)
{
	if (!c->slots)
		return NULL;
	struct nd_ncache_slot *s = slot_of(c, tenant_id, key);
	if (!s->block || s->tenant_id != tenant_id || s->n.key != key)
		return NULL;
	return &s->n;
}

static size_t size_of(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

/* Copies @src to @*at, advancing it; NULL stays NULL. */
static const char *copy_str(char **at, const char *src)
{
	if (!src)
		return NULL;
	size_t n = strlen(src) + 1;
	char *dst = *at;
	memcpy(dst, src, n);
	*at += n;
	return dst;
}

const struct nd_notification *nd_ncache_put(struct nd_ncache *c, int64_t tenant_id,
					    const struct nd_notification *n)
{
	size_t bytes = size_of(n->libelle) + size_of(n->body) + size_of(n->url) +
		       size_of(n->type) + size_of(n->campaign_id) + size_of(n->profile) +
		       size_of(n->screen_names) + size_of(n->batch);
	if (!c->slots)
		c->slots = nd_xcalloc(ND_NCACHE_SLOTS, sizeof *c->slots);
	struct nd_ncache_slot *s = slot_of(c, tenant_id, n->key);
	if (s->block)
		slot_drop(c, s);
	if (c->bytes + bytes > ND_NCACHE_BYTES)
		return NULL;
	/* One block for all the strings; never empty, so a used slot always
	 * has one. */
	char *at = s->block = nd_xmalloc(bytes ? bytes : 1);
	s->bytes = bytes;
	s->tenant_id = tenant_id;
	s->n = *n;
	s->n.deliveries = 0;
	s->n.libelle = copy_str(&at, n->libelle);
	s->n.body = copy_str(&at, n->body);
	s->n.url = copy_str(&at, n->url);
	s->n.type = copy_str(&at, n->type);
	s->n.campaign_id = copy_str(&at, n->campaign_id);
	s->n.profile = copy_str(&at, n->profile);
	s->n.screen_names = copy_str(&at, n->screen_names);
	s->n.batch = copy_str(&at, n->batch);
	c->bytes += bytes;
	return &s->n;
}

void nd_ncache_clear(struct nd_ncache *c)
{
	if (c->slots)
		for (size_t i = 0; i < ND_NCACHE_SLOTS; i++)
			if (c->slots[i].block)
				slot_drop(c, &c->slots[i]);
	free(c->slots);
	c->slots = NULL;
}

enum nd_err nd_ncache_missing(int64_t tenant_id, int32_t key, struct nd_error *err)
{
	nd_log("error", "store", "feed: tenant %lld has a delivery of notification %d,"
	       " which is missing", (long long)tenant_id, (int)key);
	return nd_fail(err, ND_ERR_INTERNAL, NULL, "internal storage error");
}
