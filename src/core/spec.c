/* spec.c - JSON body parsing and field checks. */
#include "core/spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "util/time.h"

enum nd_err nd_json_parse_object(const char *data, size_t len, json_t **out,
				 struct nd_error *err)
{
	json_error_t jerr;
	if (len == 0)
		return nd_fail(err, ND_ERR_MALFORMED_JSON, NULL, "request body is empty");
	json_t *v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v && json_error_code(&jerr) == json_error_duplicate_key) {
		/* jansson says: duplicate object key near '"name"' */
		char key[ND_FIELD_MAX] = "";
		const char *q = strstr(jerr.text, "'\"");
		if (q) {
			q += 2;
			size_t n = strcspn(q, "\"");
			snprintf(key, sizeof key, "%.*s", (int)n, q);
		}
		return nd_fail(err, ND_ERR_MALFORMED_JSON, key[0] ? key : NULL,
			       "duplicate key \"%s\" at line %d, column %d", key, jerr.line,
			       jerr.column);
	}
	if (!v)
		return nd_fail(err, ND_ERR_MALFORMED_JSON, NULL,
			       "malformed JSON at line %d, column %d: %s", jerr.line,
			       jerr.column, jerr.text);
	if (!json_is_object(v)) {
		json_decref(v);
		return nd_fail(err, ND_ERR_MALFORMED_JSON, NULL,
			       "request body must be a JSON object");
	}
	*out = v;
	return ND_OK;
}

size_t nd_utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static bool is_int32(const json_t *v)
{
	if (!json_is_integer(v))
		return false;
	json_int_t i = json_integer_value(v);
	return i >= INT32_MIN && i <= INT32_MAX;
}

static enum nd_err check_field(const json_t *v, const struct nd_field_spec *f,
			       struct nd_error *err)
{
	const char *name = f->name;
	switch (f->type) {
	case ND_F_STRING: {
		if (!json_is_string(v))
			return nd_fail(err, ND_ERR_INVALID_FIELD, name, "%s must be a string", name);
		size_t n = nd_utf8_len(json_string_value(v));
		if (n < f->min)
			return nd_fail(err, ND_ERR_INVALID_FIELD, name,
				       "%s must have at least %zu characters", name, f->min);
		if (f->max && n > f->max)
			return nd_fail(err, ND_ERR_INVALID_FIELD, name,
				       "%s is longer than %zu characters", name, f->max);
		if (strlen(json_string_value(v)) != json_string_length(v))
			return nd_fail(err, ND_ERR_INVALID_FIELD, name,
				       "%s must not contain NUL characters", name);
		return ND_OK;
	}
	case ND_F_ID:
		if (!json_is_string(v) || !nd_id_valid(json_string_value(v)) ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return nd_fail(err, ND_ERR_INVALID_FIELD, name,
				       "%s must be 1..%d visible ASCII characters", name, ND_ID_MAX);
		return ND_OK;
	case ND_F_TIME: {
		int64_t ms;
		if (!json_is_string(v) || !nd_time_parse_iso(json_string_value(v), &ms))
			return nd_fail(err, ND_ERR_INVALID_FIELD, name,
				       "%s must be an ISO-8601 date-time with a zone, in years 0000..9999",
				       name);
		return ND_OK;
	}
	case ND_F_INT32:
		if (!is_int32(v))
			return nd_fail(err, ND_ERR_INVALID_FIELD, name, "%s must be an int32", name);
		return ND_OK;
	case ND_F_OBJECT: {
		if (!json_is_object(v))
			return nd_fail(err, ND_ERR_INVALID_FIELD, name, "%s must be an object", name);
		if (f->max) {
			char *text = json_dumps(v, JSON_COMPACT);
			size_t n = text ? strlen(text) : 0;
			free(text);
			if (n > f->max)
				return nd_fail(err, ND_ERR_INVALID_FIELD, name,
					       "%s is larger than %zu bytes", name, f->max);
		}
		return ND_OK;
	}
	case ND_F_STRINGS:
	case ND_F_IDS:
	case ND_F_INT32S: {
		if (!json_is_array(v))
			return nd_fail(err, ND_ERR_INVALID_FIELD, name, "%s must be an array", name);
		if (f->max && json_array_size(v) > f->max)
			return nd_fail(err, ND_ERR_INVALID_FIELD, name,
				       "%s has more than %zu entries", name, f->max);
		size_t i;
		json_t *item;
		json_array_foreach(v, i, item) {
			bool ok;
			if (f->type == ND_F_INT32S)
				ok = is_int32(item);
			else if (f->type == ND_F_IDS)
				ok = json_is_string(item) && nd_id_valid(json_string_value(item)) &&
				     strlen(json_string_value(item)) == json_string_length(item);
			else
				ok = json_is_string(item) &&
				     (!f->item_max ||
				      nd_utf8_len(json_string_value(item)) <= f->item_max) &&
				     strlen(json_string_value(item)) == json_string_length(item);
			if (!ok)
				return nd_fail(err, ND_ERR_INVALID_FIELD, name,
					       "%s[%zu] is not a valid %s", name, i,
					       f->type == ND_F_INT32S ? "int32"
					       : f->type == ND_F_IDS  ? "id"
								      : "string");
		}
		return ND_OK;
	}
	}
	return nd_fail(err, ND_ERR_INTERNAL, NULL, "unknown field type");
}

enum nd_err nd_spec_check(const json_t *obj, const struct nd_field_spec *specs, size_t n,
			  bool strict, struct nd_error *err)
{
	if (strict) {
		const char *key;
		json_t *v;
		json_object_foreach((json_t *)obj, key, v) {
			size_t i = 0;
			while (i < n && strcmp(specs[i].name, key) != 0)
				i++;
			if (i == n)
				return nd_fail(err, ND_ERR_UNKNOWN_FIELD, key, "unknown field \"%.100s\"",
					       key);
		}
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_object_get(obj, specs[i].name);
		if (!v || json_is_null(v)) {
			if (specs[i].required)
				return nd_fail(err, ND_ERR_MISSING_FIELD, specs[i].name,
					       "%s is required", specs[i].name);
			continue;
		}
		enum nd_err e = check_field(v, &specs[i], err);
		if (e)
			return e;
	}
	return ND_OK;
}

const char *nd_json_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

bool nd_json_int32(const json_t *obj, const char *key, int32_t *out)
{
	const json_t *v = json_object_get(obj, key);
	if (!is_int32(v))
		return false;
	*out = (int32_t)json_integer_value(v);
	return true;
}
