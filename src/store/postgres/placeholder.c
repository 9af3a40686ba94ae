/* placeholder.c - TEMPORARY: stands in for nd_postgres_open until the
 * PostgreSQL backend (pg.c) defines it. Delete this file and its meson line
 * when pg.c lands. */
#include "store/backend.h"

enum nd_err nd_postgres_open(const char *conninfo, const struct nd_store_opts *opts,
			     struct nd_store **out, struct nd_error *err)
{
	return nd_fail(err, ND_ERR_INVALID_PARAM, "db",
		       "cannot open database: this notifd is built without PostgreSQL support");
}
