/* err.h - the one error registry.
 *
 * Every failure a request can meet is an enum nd_err. The registry maps each
 * to its HTTP status and to what each face shows; only the reply layer turns
 * an error into bytes. A failing call also fills a struct nd_error with a
 * human detail (lower-case, naming what failed) and, when one field or
 * parameter is at fault, its name. Details never carry SQL, keys or
 * internal paths: those go to the log. */
#ifndef ND_CORE_ERR_H
#define ND_CORE_ERR_H

#include <stddef.h>

enum nd_err {
	ND_OK = 0,
	ND_ERR_BAD_REQUEST, /* HTTP framing notifd will not guess at */
	ND_ERR_MALFORMED_JSON,
	ND_ERR_INVALID_FIELD,
	ND_ERR_MISSING_FIELD,
	ND_ERR_UNKNOWN_FIELD,
	ND_ERR_INVALID_PARAM,
	ND_ERR_UNKNOWN_REF,
	ND_ERR_UNAUTHORIZED,
	ND_ERR_FORBIDDEN,
	ND_ERR_NOT_FOUND,
	ND_ERR_CONFLICT, /* store: existing data forbids the change */
	ND_ERR_METHOD,
	ND_ERR_TOO_LARGE,
	ND_ERR_URI_TOO_LONG,
	ND_ERR_TOO_MANY, /* too many requests (or failed keys) from one client */
	ND_ERR_BUSY,
	ND_ERR_STORAGE_FULL, /* the database is out of space: nothing was written */
	ND_ERR_NOT_IMPLEMENTED, /* a transfer coding notifd does not know */
	ND_ERR_INTERNAL,
	ND_ERR__COUNT
};

struct nd_err_info {
	unsigned status;   /* HTTP status */
	const char *slug;  /* native problem type suffix */
	const char *title; /* native problem title */
};

/* Never NULL; out-of-range codes map to ND_ERR_INTERNAL. */
const struct nd_err_info *nd_err_info(enum nd_err e);

#define ND_DETAIL_MAX 256
#define ND_FIELD_MAX 64

struct nd_error {
	enum nd_err code;
	char detail[ND_DETAIL_MAX];
	char field[ND_FIELD_MAX];
};

/* Records @code with a printf-style detail and returns @code, so callers
 * can write `return nd_fail(err, ND_ERR_X, NULL, "...")`. @field may be NULL. */
enum nd_err nd_fail(struct nd_error *err, enum nd_err code, const char *field,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
