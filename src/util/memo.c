/* memo.c - a thread's memo of rendered text; see memo.h. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/memo.h"
#include "util/mem.h"

struct slot {
	char *text; /* NULL: the slot is free */
	uint32_t len;
	uint8_t kind;
	int64_t scope;
	char key[ND_MEMO_KEY_MAX];
};

struct memo {
	struct slot slots[ND_MEMO_SLOTS];
	size_t bytes;
};

static pthread_key_t memo_key;
static pthread_once_t memo_once = PTHREAD_ONCE_INIT;

static void memo_free(void *arg)
{
	struct memo *m = arg;
	for (size_t i = 0; i < ND_MEMO_SLOTS; i++)
		free(m->slots[i].text);
	free(m);
}

static void memo_init(void)
{
	pthread_key_create(&memo_key, memo_free);
}

/* The calling thread's memo, allocated on first use. */
static struct memo *thread_memo(void)
{
	pthread_once(&memo_once, memo_init);
	struct memo *m = pthread_getspecific(memo_key);
	if (!m) {
		m = nd_xcalloc(1, sizeof *m);
		pthread_setspecific(memo_key, m);
	}
	return m;
}

/* The slot of a key: its first and last eight bytes (for a GUID, the
 * time it was made and random bits), the kind and scope mixed in; @*len
 * gets the key's length. */
static size_t slot_index(enum nd_memo_kind kind, int64_t scope, const char *key, size_t *len)
{
	size_t n = strlen(key);
	uint64_t head = 0, tail = 0;
	memcpy(&head, key, n < 8 ? n : 8);
	if (n > 8)
		memcpy(&tail, key + n - 8, 8);
	uint64_t h = head ^ tail * 0xff51afd7ed558ccdull;
	h ^= (uint64_t)kind * 0xd6e8feb86659fd93ull + (uint64_t)scope * 0x9E3779B97F4A7C15ull;
	/* every bit of each part moves the slot: keys that differ in one
	 * character, or only in kind or scope, land far apart */
	h = (h ^ h >> 33) * 0xff51afd7ed558ccdull;
	h = (h ^ h >> 33) * 0xc4ceb9fe1a85ec53ull;
	*len = n;
	return (size_t)((h ^ h >> 33) % ND_MEMO_SLOTS);
}

/* Keeps @len bytes at @text in @s, in place of its text, unless too many. */
static void keep(struct memo *m, struct slot *s, enum nd_memo_kind kind, int64_t scope,
		 const char *key, size_t klen, const char *text, size_t len)
{
	if (s->text) {
		m->bytes -= s->len;
		free(s->text);
		s->text = NULL;
	}
	if (len > ND_MEMO_TEXT_MAX || m->bytes + len > ND_MEMO_BYTES)
		return;
	/* Never empty, so that a kept text always has a block. */
	s->text = nd_xmalloc(len ? len : 1);
	memcpy(s->text, text, len);
	s->len = (uint32_t)len;
	s->kind = (uint8_t)kind;
	s->scope = scope;
	memcpy(s->key, key, klen + 1);
	m->bytes += len;
}

void nd_memo_write(struct nd_buf *b, enum nd_memo_kind kind, int64_t scope, const char *key,
		   void (*write)(void *arg), void *arg)
{
	size_t klen;
	size_t i = slot_index(kind, scope, key, &klen);
	if (klen == 0 || klen >= ND_MEMO_KEY_MAX) { /* no key, or one never kept */
		write(arg);
		return;
	}
	struct memo *m = thread_memo();
	struct slot *s = &m->slots[i];
	if (s->text && s->kind == kind && s->scope == scope && memcmp(s->key, key, klen + 1) == 0) {
		nd_buf_add(b, s->text, s->len);
		return;
	}
	size_t start = b->len;
	write(arg);
	keep(m, s, kind, scope, key, klen, b->data + start, b->len - start);
}

void nd_memo_clear(void)
{
	pthread_once(&memo_once, memo_init);
	struct memo *m = pthread_getspecific(memo_key);
	if (!m)
		return;
	pthread_setspecific(memo_key, NULL);
	memo_free(m);
}
