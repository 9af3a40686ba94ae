/* test_memo.c - a thread's memo of rendered text (src/util/memo.c): a kept
 * text is copied instead of written again; kinds, scopes and keys kept
 * apart; slot reuse; what is too long; the byte bound; freed with its
 * thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "util/memo.h"

/* What a caller writes for a key: @text, counting the calls. */
struct writer {
	struct nd_buf *b;
	const char *text;
	size_t len;
	int calls;
};

static void write_text(void *arg)
{
	struct writer *w = arg;
	nd_buf_add(w->b, w->text, w->len);
	w->calls++;
}

/* The memo's text for the key, after a first byte, into a fresh buffer: it
 * must be @text whether kept or written. Returns how often it was written. */
static int put(enum nd_memo_kind kind, int64_t scope, const char *key, const char *text,
	       size_t len)
{
	struct nd_buf b = ND_BUF_INIT;
	nd_buf_puts(&b, "<");
	struct writer w = {&b, text, len, 0};
	nd_memo_write(&b, kind, scope, key, write_text, &w);
	assert_int_equal(b.len, len + 1);
	assert_memory_equal(b.data + 1, text, len);
	assert_int_equal(b.data[0], '<');
	nd_buf_release(&b);
	return w.calls;
}

static int put_str(enum nd_memo_kind kind, int64_t scope, const char *key, const char *text)
{
	return put(kind, scope, key, text, strlen(text));
}

static void test_kept_and_copied(void **state)
{
	(void)state;
	nd_memo_clear();
	const char *g = "0190A3C2-7E1B-7D4A-9F3E-1C2B3A4D5E6F";
	assert_int_equal(put_str(ND_MEMO_API3_JSON, 1, g, ",\"name\":\"x\""), 1);
	/* the second time, the kept text (the writer would now write another) */
	struct nd_buf b = ND_BUF_INIT;
	struct writer w = {&b, "other", 5, 0};
	nd_memo_write(&b, ND_MEMO_API3_JSON, 1, g, write_text, &w);
	assert_int_equal(w.calls, 0);
	assert_string_equal(b.data, ",\"name\":\"x\"");
	nd_buf_release(&b);
	/* another kind, scope or key is another text */
	assert_int_equal(put_str(ND_MEMO_API3_XML, 1, g, "<name>x</name>"), 1);
	assert_int_equal(put_str(ND_MEMO_API3_JSON, 2, g, "two"), 1);
	assert_int_equal(put_str(ND_MEMO_API3_JSON, 1, "0190A3C2-7E1B-7D4A-9F3E-1C2B3A4D5E60",
				 "neighbour"), 1);
	assert_int_equal(put_str(ND_MEMO_API3_JSON, 1, g, ",\"name\":\"x\""), 0);
	assert_int_equal(put_str(ND_MEMO_API3_XML, 1, g, "<name>x</name>"), 0);
	assert_int_equal(put_str(ND_MEMO_API3_JSON, 2, g, "two"), 0);
	/* an empty text is kept too, and text with NUL bytes whole */
	assert_int_equal(put(ND_MEMO_V1, 1, "empty", "", 0), 1);
	assert_int_equal(put(ND_MEMO_V1, 1, "empty", "", 0), 0);
	assert_int_equal(put(ND_MEMO_V1, 1, "nul", "a\0b", 3), 1);
	assert_int_equal(put(ND_MEMO_V1, 1, "nul", "a\0b", 3), 0);
	/* a key that is a prefix of another, and short keys, stay apart */
	assert_int_equal(put_str(ND_MEMO_V1, 1, "ab", "short"), 1);
	assert_int_equal(put_str(ND_MEMO_V1, 1, "abc", "longer"), 1);
	assert_int_equal(put_str(ND_MEMO_V1, 1, "ab", "short"), 0);
	assert_int_equal(put_str(ND_MEMO_V1, 1, "abc", "longer"), 0);
	nd_memo_clear();
	assert_int_equal(put_str(ND_MEMO_API3_JSON, 1, g, ",\"name\":\"x\""), 1);
	nd_memo_clear();
}

/* No key, a key too long, a text too long: written every time. */
static void test_never_kept(void **state)
{
	(void)state;
	char key[ND_MEMO_KEY_MAX + 1];
	memset(key, 'k', ND_MEMO_KEY_MAX);
	key[ND_MEMO_KEY_MAX] = '\0';
	static char big[ND_MEMO_TEXT_MAX + 1];
	memset(big, 'x', sizeof big);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(put_str(ND_MEMO_V1, 1, "", "no key"), 1);
		assert_int_equal(put_str(ND_MEMO_V1, 1, key, "long key"), 1);
		assert_int_equal(put(ND_MEMO_V1, 1, "big", big, sizeof big), 1);
	}
	/* the longest key and text that are kept */
	key[ND_MEMO_KEY_MAX - 1] = '\0';
	assert_int_equal(put(ND_MEMO_V1, 1, key, big, ND_MEMO_TEXT_MAX), 1);
	assert_int_equal(put(ND_MEMO_V1, 1, key, big, ND_MEMO_TEXT_MAX), 0);
	nd_memo_clear();
}

/* More keys than slots, each under every kind and two scopes with a text
 * of its own: every answer is that text (kept or written again), never the
 * text of another key, kind or scope that shared its slot. */
static void test_many_keys(void **state)
{
	(void)state;
	char key[40], text[64];
	int written = 0, n = 6 * ND_MEMO_SLOTS;
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < n; i++) {
			int k = i / (2 * ND_MEMO__COUNT), scope = i / ND_MEMO__COUNT % 2;
			enum nd_memo_kind kind = (enum nd_memo_kind)(i % ND_MEMO__COUNT);
			snprintf(key, sizeof key, "0190A3C2-7E1B-7D4A-9F3E-%012d", k);
			snprintf(text, sizeof text, "text of %d, kind %d, scope %d", k, (int)kind,
				 scope);
			written += put_str(kind, scope, key, text);
		}
	/* each round writes every text that lost its slot: some, not all */
	assert_true(written > n);
	assert_true(written < 2 * n);
	nd_memo_clear();
}

/* A thread keeps ND_MEMO_BYTES at most: past it, texts are written again
 * until a slot's text is replaced. */
static void test_byte_bound(void **state)
{
	(void)state;
	static char big[ND_MEMO_TEXT_MAX];
	memset(big, 'y', sizeof big);
	size_t fit = ND_MEMO_BYTES / ND_MEMO_TEXT_MAX;
	assert_true(fit < ND_MEMO_SLOTS);
	char key[40];
	int kept = 0;
	for (size_t i = 0; i < ND_MEMO_SLOTS; i++) {
		snprintf(key, sizeof key, "key-%zu-0190A3C2-7E1B", i);
		put(ND_MEMO_V1, 1, key, big, sizeof big);
	}
	for (size_t i = 0; i < ND_MEMO_SLOTS; i++) {
		snprintf(key, sizeof key, "key-%zu-0190A3C2-7E1B", i);
		kept += put(ND_MEMO_V1, 1, key, big, sizeof big) == 0;
	}
	assert_true(kept > 0);
	assert_true((size_t)kept <= fit);
	nd_memo_clear();
}

static void *in_thread(void *arg)
{
	(void)arg;
	/* a memo of its own: what the main thread kept is written here */
	int calls = put_str(ND_MEMO_V1, 7, "shared-key", "text");
	calls += put_str(ND_MEMO_V1, 7, "shared-key", "text");
	return (void *)(intptr_t)calls; /* its memo freed as it ends (ASan's leak check) */
}

static void test_per_thread(void **state)
{
	(void)state;
	assert_int_equal(put_str(ND_MEMO_V1, 7, "shared-key", "text"), 1);
	pthread_t t;
	void *calls;
	assert_int_equal(pthread_create(&t, NULL, in_thread, NULL), 0);
	assert_int_equal(pthread_join(t, &calls), 0);
	assert_int_equal((intptr_t)calls, 1);
	assert_int_equal(put_str(ND_MEMO_V1, 7, "shared-key", "text"), 0);
	nd_memo_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_and_copied),
		cmocka_unit_test(test_never_kept),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_byte_bound),
		cmocka_unit_test(test_per_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
