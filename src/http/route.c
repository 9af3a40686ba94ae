/* route.c - route matching. */
#include "http/route.h"

#include <string.h>

/* Length of the segment starting at @s (up to the next '/' or the end). */
static size_t seg_len(const char *s)
{
	return (size_t)(strchrnul(s, '/') - s);
}

/* One pass over both strings, so a route whose first bytes differ from the
 * path (most of them, for any request) is left after a byte or two. */
bool nd_route_path_match(const char *pattern, const char *path, struct nd_route_match *m)
{
	const char *p = pattern, *u = path;
	m->nparams = 0;
	for (;;) {
		if (*p != '/' || *u != '/')
			return *p == '\0' && *u == '\0';
		p++;
		u++;
		size_t pl = *p == '{' ? seg_len(p) : 0;
		if (pl >= 2 && p[pl - 1] == '}') {
			size_t ul = seg_len(u);
			if (ul == 0 || m->nparams == ND_ROUTE_MAX_PARAMS)
				return false;
			m->param_raw[m->nparams] = u;
			m->param_len[m->nparams] = ul;
			m->param_name[m->nparams] = p + 1;
			m->nparams++;
			p += pl;
			u += ul;
			continue;
		}
		while (*p && *p != '/' && *p == *u)
			p++, u++;
		if ((*p && *p != '/') || (*u && *u != '/'))
			return false; /* the segments differ */
	}
}

const struct nd_route *nd_route_find(const struct nd_route *routes, size_t n, const char *method,
				     const char *path, struct nd_route_match *m, bool *path_known,
				     char *allow, size_t allow_len)
{
	*path_known = false;
	if (allow && allow_len)
		allow[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		/* Most routes part from the path at its first byte past '/'. */
		const char *pat = routes[i].pattern;
		if (path[0] == '/' && pat[0] == '/' && pat[1] != '{' && pat[1] != path[1])
			continue;
		struct nd_route_match tmp;
		if (!nd_route_path_match(pat, path, &tmp))
			continue;
		if (strcmp(routes[i].method, method) == 0) {
			*m = tmp;
			m->route = &routes[i];
			return &routes[i];
		}
		*path_known = true;
		if (allow && allow_len && !strstr(allow, routes[i].method)) {
			size_t used = strlen(allow);
			size_t need = strlen(routes[i].method) + (used ? 2 : 0);
			if (used + need < allow_len) {
				if (used)
					strcat(allow, ", ");
				strcat(allow, routes[i].method);
			}
		}
	}
	return NULL;
}
