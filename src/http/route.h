/* route.h - routes as data: {method, pattern, handler, flags}.
 *
 * A pattern is a path of literal segments and {name} placeholders, each
 * placeholder matching exactly one non-empty segment. Matching runs on the
 * raw (still percent-encoded) path, so an encoded '/' inside an id never
 * splits a segment; captured values are decoded afterwards. */
#ifndef ND_HTTP_ROUTE_H
#define ND_HTTP_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

struct nd_req;

typedef enum nd_err (*nd_handler)(struct nd_req *r);

enum nd_route_flags {
	ND_ROUTE_PUBLIC = 1 << 0,      /* no key needed */
	ND_ROUTE_MEMBER_SELF = 1 << 1, /* member keys allowed when {id} is their target */
	ND_ROUTE_MEMBER_ANY = 1 << 2,  /* member keys allowed; the handler scopes them */
};

struct nd_route {
	const char *method;
	const char *pattern;
	nd_handler handler;
	unsigned flags;
};

#define ND_ROUTE_MAX_PARAMS 4

struct nd_route_match {
	const struct nd_route *route;
	/* Raw captured segments: pointers into the path with their lengths. */
	const char *param_raw[ND_ROUTE_MAX_PARAMS];
	size_t param_len[ND_ROUTE_MAX_PARAMS];
	const char *param_name[ND_ROUTE_MAX_PARAMS];
	size_t nparams;
};

/* True when @pattern matches @path; fills @m's params (not its route). */
bool nd_route_path_match(const char *pattern, const char *path, struct nd_route_match *m);

/* Finds the route for @method and @path among @n @routes. Returns the route,
 * or NULL; then *@path_known tells whether another method would match
 * (405 rather than 404), and @allow (if not NULL) lists those methods,
 * comma-separated, within @allow_len bytes. */
const struct nd_route *nd_route_find(const struct nd_route *routes, size_t n, const char *method,
				     const char *path, struct nd_route_match *m, bool *path_known,
				     char *allow, size_t allow_len);

#endif
