/* store.c - picks the storage backend from the database URI.
 *
 * "postgres://" and "postgresql://" name a PostgreSQL server, anything else
 * is a SQLite file path. Only SQLite is built in today; asking for
 * PostgreSQL fails at start with a clear message rather than later. */
#include "store/store.h"

#include <string.h>

#include "store/sqlite/sq.h"

enum nd_err nd_store_open(const char *uri, const struct nd_store_opts *opts,
			  struct nd_store **out, struct nd_error *err)
{
	if (strncmp(uri, "postgres://", 11) == 0 || strncmp(uri, "postgresql://", 13) == 0)
		return nd_fail(err, ND_ERR_INVALID_PARAM, "db",
			       "cannot open database: this notifd is built without PostgreSQL support");
	if (uri[0] == '\0')
		return nd_fail(err, ND_ERR_INVALID_PARAM, "db", "cannot open database: empty path");
	return nd_sq_open(uri, opts, out, err);
}
