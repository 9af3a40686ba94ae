/* order.c - parsing an SQL-style order list against an allowlist. */
#include "core/order.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static const char *skip_spaces(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static size_t word_len(const char *p)
{
	size_t n = 0;
	while (isalpha((unsigned char)p[n]) || p[n] == '_')
		n++;
	return n;
}

enum nd_err nd_order_parse(const char *text, const struct nd_order_name *names, size_t nnames,
			   struct nd_order_term out[ND_ORDER_MAX], size_t *n,
			   struct nd_error *err)
{
	const char *p = text;
	*n = 0;
	for (;;) {
		p = skip_spaces(p);
		size_t len = word_len(p);
		if (len == 0)
			return nd_fail(err, ND_ERR_INVALID_PARAM, "order",
				       "order must be a list of \"attribute [ASC|DESC]\" separated by "
				       "commas");
		const struct nd_order_name *hit = NULL;
		for (size_t i = 0; i < nnames && !hit; i++)
			if (strlen(names[i].name) == len && strncasecmp(names[i].name, p, len) == 0)
				hit = &names[i];
		if (!hit || !hit->supported)
			return nd_fail(err, ND_ERR_INVALID_PARAM, "order",
				       "order attribute \"%.*s\" is not supported", (int)(len > 40 ? 40 : len), p);
		if (*n == ND_ORDER_MAX)
			return nd_fail(err, ND_ERR_INVALID_PARAM, "order",
				       "order has more than %d attributes", ND_ORDER_MAX);
		for (size_t i = 0; i < *n; i++)
			if (out[i].key == hit->key)
				return nd_fail(err, ND_ERR_INVALID_PARAM, "order",
					       "order names \"%s\" twice", hit->name);
		struct nd_order_term *t = &out[(*n)++];
		t->key = hit->key;
		t->desc = false;
		p = skip_spaces(p + len);
		size_t dl = word_len(p);
		if (dl == 4 && strncasecmp(p, "DESC", 4) == 0)
			t->desc = true;
		else if (dl && !(dl == 3 && strncasecmp(p, "ASC", 3) == 0))
			return nd_fail(err, ND_ERR_INVALID_PARAM, "order",
				       "order direction must be ASC or DESC");
		p = skip_spaces(p + dl);
		if (*p == '\0')
			return ND_OK;
		if (*p++ != ',')
			return nd_fail(err, ND_ERR_INVALID_PARAM, "order",
				       "order must be a list of \"attribute [ASC|DESC]\" separated by "
				       "commas");
	}
}
