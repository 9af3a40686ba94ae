/* spec.h - JSON request bodies: parsing under the body cap and checking
 * fields against a small spec table, so every face validates alike. */
#ifndef ND_CORE_SPEC_H
#define ND_CORE_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum nd_ftype {
	ND_F_STRING,     /* string, min..max characters */
	ND_F_ID,         /* target/campaign id (see nd_id_valid) */
	ND_F_TIME,       /* ISO-8601 date-time string */
	ND_F_INT32,      /* integer within int32 */
	ND_F_OBJECT,     /* object; max = serialized bytes */
	ND_F_STRINGS,    /* array of strings: max entries, item_max characters each */
	ND_F_IDS,        /* array of ids: max entries */
	ND_F_INT32S,     /* array of int32: max entries */
};

struct nd_field_spec {
	const char *name;
	enum nd_ftype type;
	bool required;
	size_t min;       /* ND_F_STRING: fewest characters */
	size_t max;       /* see enum nd_ftype; 0 = no limit */
	size_t item_max;  /* ND_F_STRINGS */
};

/* Parses @len bytes as one JSON object, rejecting duplicate keys. */
enum nd_err nd_json_parse_object(const char *data, size_t len, json_t **out,
				 struct nd_error *err);

/* Checks @obj against @specs. With @strict, a key not in @specs is an
 * unknown-field error. Optional fields may be null (meaning absent). */
enum nd_err nd_spec_check(const json_t *obj, const struct nd_field_spec *specs, size_t n,
			  bool strict, struct nd_error *err);

/* Accessors for checked objects: NULL/absent and null read as "not given". */
const char *nd_json_str(const json_t *obj, const char *key);
bool nd_json_int32(const json_t *obj, const char *key, int32_t *out);
/* Number of Unicode code points in valid UTF-8 @s. */
size_t nd_utf8_len(const char *s);

#endif
