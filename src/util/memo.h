/* memo.h - a thread's memo of rendered text, by key.
 *
 * What a face writes for an object that never changes is the same bytes
 * every time it writes it. A notification's content is fixed once created,
 * and a page of deliveries mostly shows notifications the worker has written
 * before (a notification sent to a segment is one delivery per member), so a
 * face keeps a notification's rendered fields here and copies them instead
 * of escaping the same strings for every delivery.
 *
 * Direct-mapped by (kind, scope, key) and bounded in bytes: a text longer
 * than ND_MEMO_TEXT_MAX is not kept, and a thread keeps ND_MEMO_BYTES at
 * most. One memo per thread, never locked, freed when the thread ends. */
#ifndef ND_UTIL_MEMO_H
#define ND_UTIL_MEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define ND_MEMO_SLOTS 1024
#define ND_MEMO_KEY_MAX 48 /* a key's bytes, its NUL included; a longer key is never kept */
#define ND_MEMO_TEXT_MAX 2048
#define ND_MEMO_BYTES ((size_t)1 << 20) /* texts, per thread */

/* What a text is: the same key has one text per kind. */
enum nd_memo_kind {
	ND_MEMO_API3_JSON, /* an API3 notification's fields, in JSON */
	ND_MEMO_API3_XML,  /* the same, in XML */
	ND_MEMO_V1,        /* a native notification's fields */
	ND_MEMO__COUNT
};

/* Appends to @b the text for (@kind, @scope, @key): the one kept, or else
 * what @write(@arg) appends to @b, which is then kept unless the text or
 * the key is too long or the thread's bound would be passed. @write must
 * append the same bytes for a key whenever it is called. */
void nd_memo_write(struct nd_buf *b, enum nd_memo_kind kind, int64_t scope, const char *key,
		   void (*write)(void *arg), void *arg);

/* Forgets the calling thread's texts (the memo frees itself when its thread
 * ends; tests call this to start afresh). */
void nd_memo_clear(void);

#endif
