/* fuzz_time.c - the date parsers (src/util/time.c): whatever they accept is
 * in range and prints as a time that parses back to the same instant. */
#include "fuzz.h"
#include "util/time.h"

static void round_trip(int64_t ms)
{
	FUZZ_ASSERT(ms >= ND_TIME_MIN && ms <= ND_TIME_MAX);
	char out[ND_TIME_BUFSZ];
	nd_time_format(ms, out);
	int64_t back = 0;
	FUZZ_ASSERT(nd_time_parse_iso(out, &back));
	FUZZ_ASSERT(back == ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size);
	int64_t ms;
	if (nd_time_parse_iso(s, &ms))
		round_trip(ms);
	if (nd_time_parse_param(s, &ms))
		round_trip(ms);
	free(s);
	return 0;
}
