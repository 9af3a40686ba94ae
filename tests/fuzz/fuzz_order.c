/* fuzz_order.c - the SQL-style order parser (src/core/order.c): it returns
 * only allowlisted keys, never more than ND_ORDER_MAX, never one twice. */
#include "fuzz.h"
#include "core/order.h"

static const struct nd_order_name names[] = {
	{"date_started", ND_ORDER_STARTED, true},
	{"title", ND_ORDER_TITLE, true},
	{"notification_type", ND_ORDER_TYPE, true},
	{"member_name", ND_ORDER_STARTED, false},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size);
	struct nd_order_term out[ND_ORDER_MAX];
	size_t n = 0;
	struct nd_error err = {0};
	if (nd_order_parse(s, names, sizeof names / sizeof *names, out, &n, &err) == ND_OK) {
		FUZZ_ASSERT(n >= 1 && n <= ND_ORDER_MAX);
		for (size_t i = 0; i < n; i++) {
			FUZZ_ASSERT(out[i].key == ND_ORDER_STARTED || out[i].key == ND_ORDER_TITLE ||
				    out[i].key == ND_ORDER_TYPE);
			for (size_t j = 0; j < i; j++)
				FUZZ_ASSERT(out[i].key != out[j].key);
		}
	} else {
		FUZZ_ASSERT(strcmp(err.field, "order") == 0);
	}
	free(s);
	return 0;
}
