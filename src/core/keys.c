/* keys.c - API keys: generation, hashing, ids. */
#include "core/keys.h"

#include <ctype.h>
#include <math.h>
#include <sodium.h>
#include <string.h>

/* Domain separation: the same bytes hashed elsewhere never collide with a key hash. */
static const unsigned char hash_ctx[] = "notifd api key v1";

const char *nd_role_name(enum nd_role r)
{
	return r == ND_ROLE_ADMIN ? "admin" : "member";
}

bool nd_role_parse(const char *s, enum nd_role *out)
{
	if (strcmp(s, "admin") == 0)
		*out = ND_ROLE_ADMIN;
	else if (strcmp(s, "member") == 0)
		*out = ND_ROLE_MEMBER;
	else
		return false;
	return true;
}

void nd_key_generate(char out[ND_KEY_GEN_LEN + 1])
{
	unsigned char raw[32];
	randombytes_buf(raw, sizeof raw);
	memcpy(out, "ndk_", 4);
	sodium_bin2base64(out + 4, ND_KEY_GEN_LEN + 1 - 4, raw, sizeof raw,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
}

void nd_key_hash(const char *key, size_t len, unsigned char out[ND_KEY_HASH_LEN])
{
	crypto_generichash(out, ND_KEY_HASH_LEN, (const unsigned char *)key, len, hash_ctx,
			   sizeof hash_ctx - 1);
}

void nd_key_id(const unsigned char hash[ND_KEY_HASH_LEN], char out[ND_KEY_ID_LEN + 1])
{
	sodium_bin2hex(out, ND_KEY_ID_LEN + 1, hash, ND_KEY_ID_LEN / 2);
}

double nd_key_strength_bits(const char *key)
{
	bool lower = false, upper = false, digit = false, other = false, seen[128] = {false};
	unsigned distinct = 0, counted = 0;
	for (size_t i = 0; key[i]; i++) {
		unsigned char c = (unsigned char)key[i];
		lower |= c >= 'a' && c <= 'z';
		upper |= c >= 'A' && c <= 'Z';
		digit |= c >= '0' && c <= '9';
		other |= !isalnum(c);
		if (c < 128 && !seen[c]) {
			seen[c] = true;
			distinct++;
		}
		int step = i ? (int)c - (unsigned char)key[i - 1] : 2;
		if (step > 1 || step < -1)
			counted++;
	}
	unsigned alphabet = (lower ? 26 : 0) + (upper ? 26 : 0) + (digit ? 10 : 0) + (other ? 32 : 0);
	if (counted > distinct + distinct / 2)
		counted = distinct + distinct / 2;
	return alphabet > 1 ? counted * log2(alphabet) : 0;
}

bool nd_key_acceptable(const char *key)
{
	size_t n = strlen(key);
	if (n < ND_KEY_MIN || n > ND_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)key[i] < 0x21 || (unsigned char)key[i] > 0x7E)
			return false;
	return nd_key_strength_bits(key) >= ND_KEY_MIN_BITS;
}
