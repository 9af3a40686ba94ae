/* fuzz_json.c - request bodies (src/core/spec.c): parsing one JSON object
 * under duplicate-key refusal, then checking it against a table with a
 * field of every type, strictly and not. A body either passes or fails
 * with a field named; what passes reads back through the accessors. */
#include "fuzz.h"
#include "core/spec.h"

static const struct nd_field_spec specs[] = {
	{"name", ND_F_STRING, false, 1, 200, 0},
	{"id", ND_F_ID, false, 0, 0, 0},
	{"at", ND_F_TIME, false, 0, 0, 0},
	{"n", ND_F_INT32, false, 0, 0, 0},
	{"attributes", ND_F_OBJECT, false, 0, 1024, 0},
	{"names", ND_F_STRINGS, false, 0, 8, 32},
	{"targets", ND_F_IDS, false, 0, 8, 0},
	{"segments", ND_F_INT32S, false, 0, 8, 0},
	{"must", ND_F_STRING, true, 0, 16, 0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *obj = NULL;
	struct nd_error err = {0};
	if (nd_json_parse_object((const char *)data, size, &obj, &err) != ND_OK) {
		FUZZ_ASSERT(obj == NULL);
		return 0;
	}
	FUZZ_ASSERT(json_is_object(obj));
	for (int strict = 0; strict < 2; strict++) {
		memset(&err, 0, sizeof err);
		enum nd_err e = nd_spec_check(obj, specs, sizeof specs / sizeof *specs, strict, &err);
		if (e == ND_OK) {
			const char *name = nd_json_str(obj, "name");
			FUZZ_ASSERT(!name || (nd_utf8_len(name) >= 1 && nd_utf8_len(name) <= 200));
			FUZZ_ASSERT(nd_json_str(obj, "must") != NULL);
			int32_t n;
			(void)nd_json_int32(obj, "n", &n);
		} else {
			/* the field at fault is named; "" only when that is its name */
			FUZZ_ASSERT(err.detail[0] != '\0');
			FUZZ_ASSERT(err.field[0] != '\0' || json_object_get(obj, "") != NULL);
		}
	}
	json_decref(obj);
	return 0;
}
