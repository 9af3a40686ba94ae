/* keys.h - API keys: generation, hashing, ids.
 *
 * A generated key is "ndk_" followed by 43 base64url characters (256 random
 * bits). Only BLAKE2b-256(key) is stored: the keys are random and long, so a
 * fast hash is enough and keeps the per-request lookup cheap; a slow
 * password hash would cost milliseconds on every request. A key's id is the
 * first 8 bytes of its hash in hex: stable, harmless to log, and derivable
 * again from an operator-supplied key at every start. */
#ifndef ND_CORE_KEYS_H
#define ND_CORE_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#define ND_KEY_HASH_LEN 32
#define ND_KEY_ID_LEN 16
#define ND_KEY_MIN 16   /* shortest operator-supplied key */
#define ND_KEY_MAX 256  /* longest key accepted anywhere */
#define ND_KEY_GEN_LEN 47

enum nd_role { ND_ROLE_ADMIN, ND_ROLE_MEMBER };

const char *nd_role_name(enum nd_role r);
bool nd_role_parse(const char *s, enum nd_role *out);

/* Fills @out (ND_KEY_GEN_LEN + 1 bytes) with a new random key. */
void nd_key_generate(char out[ND_KEY_GEN_LEN + 1]);
void nd_key_hash(const char *key, size_t len, unsigned char out[ND_KEY_HASH_LEN]);
void nd_key_id(const unsigned char hash[ND_KEY_HASH_LEN], char out[ND_KEY_ID_LEN + 1]);
/* The guessing work a key costs, in bits, estimated the way password
 * checkers do it, pessimistically: log2 of the alphabet its character
 * classes span (lower case, upper case, digits, the rest), times the
 * characters that are not a repeat or the next step of a run of the one
 * before ("aaaa", "abcd", "4321" count once), and never more than one and
 * a half times its distinct characters ("ab12ab12ab12" counts 6). */
double nd_key_strength_bits(const char *key);
#define ND_KEY_MIN_BITS 64
/* An operator-supplied key: ND_KEY_MIN..ND_KEY_MAX visible ASCII characters
 * worth at least ND_KEY_MIN_BITS. */
bool nd_key_acceptable(const char *key);

#endif
