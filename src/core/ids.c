/* ids.c - identifiers and percent-decoding. */
#include "core/ids.h"

#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "util/time.h"

bool nd_id_valid(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];
		if (c < 0x21 || c > 0x7E || n >= ND_ID_MAX)
			return false;
	}
	return n > 0;
}

/* Random bytes for GUIDs and request ids (never for keys), drawn from the
 * kernel a page at a time and each handed out once: a fan-out makes a GUID
 * per delivery, and a getrandom() call for each cost ~3% of an ingest. Per
 * thread, so never locked. */
static void pooled_random(unsigned char *out, size_t n)
{
	static __thread unsigned char pool[4096];
	static __thread size_t left;
	if (left < n) {
		randombytes_buf(pool, sizeof pool);
		left = sizeof pool;
	}
	unsigned char *from = pool + sizeof pool - left;
	memcpy(out, from, n);
	sodium_memzero(from, n);
	left -= n;
}

void nd_guid_v7(unsigned char bin[16], int64_t ms)
{
	pooled_random(bin + 6, 10);
	for (int i = 0; i < 6; i++)
		bin[i] = (unsigned char)((uint64_t)ms >> (40 - 8 * i));
	bin[6] = (unsigned char)(0x70 | (bin[6] & 0x0F)); /* version 7 */
	bin[8] = (unsigned char)(0x80 | (bin[8] & 0x3F)); /* RFC 9562 variant */
}

void nd_guid_new(unsigned char bin[16], char out[ND_GUID_LEN + 1])
{
	nd_guid_v7(bin, nd_time_now_ms());
	nd_guid_format(bin, out);
}

/* By hand: libuuid's uuid_unparse_upper() goes through printf, and a feed or
 * listing formats a GUID per row (4% of a feed's instructions). Two digits a
 * byte from a table: a digit at a time took ~220 instructions a GUID. */
static const char hex_pairs[512] =
	"000102030405060708090A0B0C0D0E0F"
	"101112131415161718191A1B1C1D1E1F"
	"202122232425262728292A2B2C2D2E2F"
	"303132333435363738393A3B3C3D3E3F"
	"404142434445464748494A4B4C4D4E4F"
	"505152535455565758595A5B5C5D5E5F"
	"606162636465666768696A6B6C6D6E6F"
	"707172737475767778797A7B7C7D7E7F"
	"808182838485868788898A8B8C8D8E8F"
	"909192939495969798999A9B9C9D9E9F"
	"A0A1A2A3A4A5A6A7A8A9AAABACADAEAF"
	"B0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF"
	"C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF"
	"D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
	"E0E1E2E3E4E5E6E7E8E9EAEBECEDEEEF"
	"F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF";

/* @n bytes of @bin as hex digits at @p: the end of what was written. */
static char *put_hex(char *p, const unsigned char *bin, int n)
{
	for (int i = 0; i < n; i++, p += 2)
		memcpy(p, hex_pairs + 2 * bin[i], 2);
	return p;
}

void nd_guid_format(const unsigned char bin[16], char out[ND_GUID_LEN + 1])
{
	/* 8-4-4-4-12 digits */
	char *p = put_hex(out, bin, 4);
	*p++ = '-';
	p = put_hex(p, bin + 4, 2);
	*p++ = '-';
	p = put_hex(p, bin + 6, 2);
	*p++ = '-';
	p = put_hex(p, bin + 8, 2);
	*p++ = '-';
	p = put_hex(p, bin + 10, 6);
	*p = '\0';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20); /* either case */
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* By hand for the same reason as nd_guid_format: uuid_parse() goes through
 * strtoul per byte (3% of an API3 GET). Either case; nothing else around. */
bool nd_guid_parse(const char *s, unsigned char bin[16])
{
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10) {
			if (*s++ != '-')
				return false;
		}
		int hi = hex_digit(s[0]), lo = hi < 0 ? -1 : hex_digit(s[1]);
		if (lo < 0)
			return false;
		bin[i] = (unsigned char)(hi << 4 | lo);
		s += 2;
	}
	return *s == '\0';
}

bool nd_int32_parse(const char *s, int32_t *out)
{
	const char *p = s[0] == '-' ? s + 1 : s;
	if (*p < '0' || *p > '9' || strlen(p) > 11)
		return false;
	if (strspn(p, "0123456789") != strlen(p))
		return false;
	/* At most 11 digits: strtoll cannot overflow. */
	long long v = strtoll(s, NULL, 10);
	if (v < INT32_MIN || v > INT32_MAX)
		return false;
	*out = (int32_t)v;
	return true;
}

bool nd_request_id_sane(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > ND_REQUEST_ID_MAX)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789._:-") == n;
}

void nd_request_id_new(char out[33])
{
	/* Not a secret, so not through sodium_bin2hex(): its constant-time
	 * loop cost four times as much, on every request. */
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[16];
	pooled_random(raw, sizeof raw);
	for (size_t i = 0; i < sizeof raw; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 0x0F];
	}
	out[2 * sizeof raw] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long nd_pct_decode(const char *in, size_t n, char *out, bool plus_is_space)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			out[o++] = ' ';
		} else if (c == '\0') {
			return -1;
		} else {
			out[o++] = c;
		}
	}
	out[o] = '\0';
	return (long)o;
}
