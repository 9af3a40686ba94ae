/* order.h - parsing an SQL-style order list, "date_started ASC, title DESC",
 * against a face's allowlist of attribute names. The text is only ever
 * compared with the allowlist; it never reaches SQL. */
#ifndef ND_CORE_ORDER_H
#define ND_CORE_ORDER_H

#include <stddef.h>

#include "core/err.h"
#include "core/model.h"

struct nd_order_name {
	const char *name;
	enum nd_order_key key;
	bool supported; /* false: a vendor name with no meaning here (400) */
};

/* Parses @text into at most ND_ORDER_MAX terms. Names and directions are
 * case-insensitive; a term without direction is ascending. An empty list,
 * an unknown or unsupported name, a repeated attribute, or anything that is
 * not "name [ASC|DESC]" is an ND_ERR_INVALID_PARAM naming "order". */
enum nd_err nd_order_parse(const char *text, const struct nd_order_name *names, size_t nnames,
			   struct nd_order_term out[ND_ORDER_MAX], size_t *n,
			   struct nd_error *err);

#endif
