/* fuzz_decode.c - what turns a request target into values: percent-decoding
 * (src/core/ids.c) and route matching (src/http/route.c). A decoded value
 * is never longer than its text and never holds a NUL; a match's
 * parameters are non-empty pieces of the path without '/'. */
#include "fuzz.h"
#include "core/ids.h"
#include "http/route.h"

static const char *const patterns[] = {
	"/v1/targets/{id}",
	"/v1/segments/{id}/members/{target}",
	"/targets/{id}/segments/{segment}",
	"/api3/notification/{id}",
	"/healthz",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size);
	size_t n = strlen(s);
	char *out = malloc(n + 1);
	if (!out)
		abort();
	for (int plus = 0; plus < 2; plus++) {
		long got = nd_pct_decode(s, n, out, plus);
		if (got >= 0) {
			FUZZ_ASSERT((size_t)got <= n);
			FUZZ_ASSERT(memchr(out, '\0', (size_t)got) == NULL);
		}
	}
	for (size_t i = 0; i < sizeof patterns / sizeof *patterns; i++) {
		struct nd_route_match m;
		if (!nd_route_path_match(patterns[i], s, &m))
			continue;
		FUZZ_ASSERT(m.nparams <= ND_ROUTE_MAX_PARAMS);
		for (size_t p = 0; p < m.nparams; p++) {
			FUZZ_ASSERT(m.param_len[p] > 0);
			FUZZ_ASSERT(memchr(m.param_raw[p], '/', m.param_len[p]) == NULL);
			FUZZ_ASSERT(m.param_raw[p] >= s && m.param_raw[p] + m.param_len[p] <= s + n);
		}
	}
	free(out);
	free(s);
	return 0;
}
