/* ratelimit.c - a token bucket per API key (ratelimit.h).
 *
 * A fixed table of buckets, the slot chosen by a keyed hash of the key id,
 * one mutex held for a few instructions per request. A slot found holding
 * another key's bucket is taken over: that key starts again full, which is
 * the documented approximation. */
#include "http/ratelimit.h"

#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/keys.h"
#include "util/mem.h"
#include "util/time.h"

#define SLOTS 8192

struct bucket {
	char key_id[ND_KEY_ID_LEN + 1]; /* "": free */
	double tokens;
	int64_t at_ms; /* when tokens was true */
};

struct nd_ratelimit {
	unsigned per_minute;
	double burst, per_ms;
	unsigned char hash_key[crypto_shorthash_KEYBYTES];
	pthread_mutex_t mu;
	struct bucket slots[SLOTS];
};

struct nd_ratelimit *nd_ratelimit_new(unsigned per_minute, unsigned burst)
{
	if (per_minute == 0)
		return NULL;
	struct nd_ratelimit *rl = nd_xcalloc(1, sizeof *rl);
	rl->per_minute = per_minute;
	rl->burst = burst ? burst : per_minute;
	rl->per_ms = per_minute / 60000.0;
	crypto_shorthash_keygen(rl->hash_key);
	pthread_mutex_init(&rl->mu, NULL);
	return rl;
}

void nd_ratelimit_free(struct nd_ratelimit *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->mu);
	free(rl);
}

unsigned nd_ratelimit_per_minute(const struct nd_ratelimit *rl)
{
	return rl ? rl->per_minute : 0;
}

bool nd_ratelimit_take(struct nd_ratelimit *rl, const char *key_id, unsigned *retry_after)
{
	if (!rl)
		return true;
	unsigned char h[crypto_shorthash_BYTES];
	crypto_shorthash(h, (const unsigned char *)key_id, strlen(key_id), rl->hash_key);
	uint64_t v;
	memcpy(&v, h, sizeof v);
	struct bucket *b = &rl->slots[v % SLOTS];
	int64_t now = nd_time_mono_ms();
	bool ok;
	pthread_mutex_lock(&rl->mu);
	if (strcmp(b->key_id, key_id) != 0) {
		snprintf(b->key_id, sizeof b->key_id, "%s", key_id);
		b->tokens = rl->burst;
	} else {
		b->tokens += (double)(now - b->at_ms) * rl->per_ms;
		if (b->tokens > rl->burst)
			b->tokens = rl->burst;
	}
	b->at_ms = now;
	ok = b->tokens >= 1.0;
	if (ok)
		b->tokens -= 1.0;
	else
		*retry_after = (unsigned)((1.0 - b->tokens) / rl->per_ms / 1000.0) + 1;
	pthread_mutex_unlock(&rl->mu);
	return ok;
}
