/* ids.h - identifiers: target/campaign ids, GUIDs, int32 ids, request ids,
 * and percent-decoding of path segments and query values. */
#ifndef ND_CORE_IDS_H
#define ND_CORE_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ND_ID_MAX 128   /* longest target or campaign id, in bytes */
#define ND_GUID_LEN 36  /* "3DA28600-9BA5-4750-A8EE-0D2D16F3D5ED" */
#define ND_REQUEST_ID_MAX 128

/* A target or campaign id: 1..128 visible ASCII characters ('!'..'~'). */
bool nd_id_valid(const char *s);

/* A new GUID, upper-case; @out holds ND_GUID_LEN + 1. It is a version 7
 * UUID (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. Ids
 * made later sort later, so an index on them grows at its end instead of
 * taking inserts at random pages, and they stay unguessable. */
void nd_guid_new(unsigned char bin[16], char out[ND_GUID_LEN + 1]);
void nd_guid_v7(unsigned char bin[16], int64_t ms);
void nd_guid_format(const unsigned char bin[16], char out[ND_GUID_LEN + 1]);
/* Accepts either case; false unless @s is exactly one GUID. */
bool nd_guid_parse(const char *s, unsigned char bin[16]);

/* Strict decimal int32: optional '-', digits, no spaces, no overflow. */
bool nd_int32_parse(const char *s, int32_t *out);

/* A client's X-Request-Id is kept when 1..128 chars of [A-Za-z0-9._:-]. */
bool nd_request_id_sane(const char *s);
/* 32 random lower-case hex digits. */
void nd_request_id_new(char out[33]);

/* Percent-decodes @n bytes of @in into @out (room for @n + 1 bytes);
 * with @plus_is_space, '+' becomes ' ' (form encoding, query strings only).
 * Returns the decoded length, or -1 for a broken escape or an encoded NUL. */
long nd_pct_decode(const char *in, size_t n, char *out, bool plus_is_space);

#endif
