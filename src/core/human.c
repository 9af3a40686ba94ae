/* human.c - dates for people, as the API3 face shows them. */
#include "core/human.h"

#include <stdio.h>

void nd_human_date(int64_t ms, struct nd_zone *z, char out[ND_HUMAN_MAX])
{
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	int y, m, d;
	nd_zone_civil(z, ms, &y, &m, &d);
	snprintf(out, ND_HUMAN_MAX, "%s %d %d", months[(m - 1) % 12], d % 32, y % 100000);
}

void nd_human_age(int64_t now_ms, int64_t ms, struct nd_zone *z, char out[ND_HUMAN_MAX])
{
	static const struct {
		int64_t below; /* seconds */
		int64_t unit;
		const char *name;
	} steps[] = {
		{3600, 60, "minute"},
		{86400, 3600, "hour"},
		{7 * 86400, 86400, "day"},
		{35 * 86400, 7 * 86400, "week"},
	};
	int64_t age = (now_ms - ms) / 1000;
	if (age < 0) {
		nd_human_date(ms, z, out);
		return;
	}
	if (age < 60) {
		snprintf(out, ND_HUMAN_MAX, "just now");
		return;
	}
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		if (age < steps[i].below) {
			long long n = age / steps[i].unit;
			snprintf(out, ND_HUMAN_MAX, "%lld %s%s ago", n, steps[i].name, n == 1 ? "" : "s");
			return;
		}
	}
	nd_human_date(ms, z, out);
}
