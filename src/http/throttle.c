/* throttle.c - failed authentications per client address (throttle.h).
 *
 * A fixed table of slots, the slot chosen by a keyed hash of the address
 * (an attacker cannot aim at another address's slot), one mutex. A request
 * looks at the table only when some address failed within the window: until
 * then no address can be refused, and the check is one atomic load (the
 * hash and the lock on every request had been ~0.4% of an API3 LIST, and
 * the lock the one every worker took). */
#include "http/throttle.h"

#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"
#include "util/mem.h"
#include "util/time.h"

#define SLOTS 4096
#define WINDOW_S 60

struct slot {
	unsigned char addr[16]; /* IPv4 as ::ffff:a.b.c.d */
	int64_t window_start;   /* monotonic seconds; 0: free */
	unsigned failures;
};

struct nd_throttle {
	unsigned limit;
	unsigned char hash_key[crypto_shorthash_KEYBYTES];
	pthread_mutex_t mu;
	_Atomic int64_t last_failure; /* monotonic seconds; 0: none yet */
	struct slot slots[SLOTS];
};

static int64_t now_s(void)
{
	return nd_time_mono_ms() / 1000 + 1; /* never 0, which marks a free slot */
}

static struct slot *slot_of(struct nd_throttle *t, const unsigned char addr[16])
{
	unsigned char h[crypto_shorthash_BYTES];
	crypto_shorthash(h, addr, 16, t->hash_key);
	uint64_t v;
	memcpy(&v, h, sizeof v);
	return &t->slots[v % SLOTS];
}

struct nd_throttle *nd_throttle_new(unsigned limit)
{
	if (limit == 0)
		return NULL;
	struct nd_throttle *t = nd_xcalloc(1, sizeof *t);
	t->limit = limit;
	crypto_shorthash_keygen(t->hash_key);
	pthread_mutex_init(&t->mu, NULL);
	return t;
}

void nd_throttle_free(struct nd_throttle *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->mu);
	free(t);
}

bool nd_throttle_blocked(struct nd_throttle *t, const struct sockaddr *addr,
			 unsigned *retry_after)
{
	unsigned char a[16];
	if (!t)
		return false;
	int64_t last = atomic_load_explicit(&t->last_failure, memory_order_acquire);
	int64_t now = now_s();
	if (!last || now - last >= WINDOW_S || !nd_http_addr16(addr, a))
		return false;
	struct slot *s = slot_of(t, a);
	bool blocked = false;
	pthread_mutex_lock(&t->mu);
	if (s->window_start && memcmp(s->addr, a, 16) == 0 && now - s->window_start < WINDOW_S &&
	    s->failures >= t->limit) {
		blocked = true;
		*retry_after = (unsigned)(WINDOW_S - (now - s->window_start));
	}
	pthread_mutex_unlock(&t->mu);
	return blocked;
}

void nd_throttle_failed(struct nd_throttle *t, const struct sockaddr *addr)
{
	unsigned char a[16];
	if (!t || !nd_http_addr16(addr, a))
		return;
	struct slot *s = slot_of(t, a);
	int64_t now = now_s();
	pthread_mutex_lock(&t->mu);
	/* Another address in the slot, or a window that ended: start over. A
	 * collision can only make an address forget its count early. */
	if (!s->window_start || memcmp(s->addr, a, 16) != 0 || now - s->window_start >= WINDOW_S) {
		memcpy(s->addr, a, 16);
		s->window_start = now;
		s->failures = 0;
	}
	s->failures++;
	/* Stored under the lock, never backwards (another failure's clock may
	 * have been read later but locked sooner). */
	if (now > atomic_load_explicit(&t->last_failure, memory_order_relaxed))
		atomic_store_explicit(&t->last_failure, now, memory_order_release);
	pthread_mutex_unlock(&t->mu);
}
