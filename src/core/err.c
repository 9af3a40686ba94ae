/* err.c - the error registry. */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct nd_err_info registry[ND_ERR__COUNT] = {
	[ND_OK] = {200, "ok", "ok"},
	[ND_ERR_BAD_REQUEST] = {400, "bad-request", "bad request"},
	[ND_ERR_MALFORMED_JSON] = {400, "malformed-json", "malformed JSON"},
	[ND_ERR_INVALID_FIELD] = {400, "invalid-field", "invalid field"},
	[ND_ERR_MISSING_FIELD] = {400, "missing-field", "missing field"},
	[ND_ERR_UNKNOWN_FIELD] = {400, "unknown-field", "unknown field"},
	[ND_ERR_INVALID_PARAM] = {400, "invalid-parameter", "invalid parameter"},
	[ND_ERR_UNKNOWN_REF] = {400, "unknown-reference", "unknown reference"},
	[ND_ERR_UNAUTHORIZED] = {401, "unauthorized", "unauthorized"},
	[ND_ERR_FORBIDDEN] = {403, "forbidden", "forbidden"},
	[ND_ERR_NOT_FOUND] = {404, "not-found", "not found"},
	[ND_ERR_CONFLICT] = {409, "conflict", "conflict"},
	[ND_ERR_METHOD] = {405, "method-not-allowed", "method not allowed"},
	[ND_ERR_TOO_LARGE] = {413, "payload-too-large", "payload too large"},
	[ND_ERR_URI_TOO_LONG] = {414, "uri-too-long", "URI too long"},
	[ND_ERR_TOO_MANY] = {429, "too-many-requests", "too many requests"},
	[ND_ERR_BUSY] = {503, "unavailable", "service unavailable"},
	[ND_ERR_STORAGE_FULL] = {507, "insufficient-storage", "insufficient storage"},
	[ND_ERR_NOT_IMPLEMENTED] = {501, "not-implemented", "not implemented"},
	[ND_ERR_INTERNAL] = {500, "internal", "internal error"},
};

const struct nd_err_info *nd_err_info(enum nd_err e)
{
	if ((unsigned)e >= ND_ERR__COUNT || !registry[e].slug)
		return &registry[ND_ERR_INTERNAL];
	return &registry[e];
}

enum nd_err nd_fail(struct nd_error *err, enum nd_err code, const char *field,
		    const char *fmt, ...)
{
	if (!err)
		return code;
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof err->detail, fmt, ap);
	va_end(ap);
	snprintf(err->field, sizeof err->field, "%s", field ? field : "");
	return code;
}
