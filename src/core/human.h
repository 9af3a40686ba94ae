/* human.h - dates for people, as the API3 face shows them.
 *
 * Rules (all ages from the same clock reading):
 *   less than a minute ago     "just now"
 *   less than an hour          "1 minute ago", "N minutes ago"
 *   less than a day            "1 hour ago", "N hours ago"
 *   less than a week           "1 day ago", "N days ago"
 *   less than 5 weeks          "1 week ago", "N weeks ago"
 *   older, or in the future    "Nov 21 2013" (the local date in the zone)
 * Counts are whole units, rounded down. */
#ifndef ND_CORE_HUMAN_H
#define ND_CORE_HUMAN_H

#include <stdint.h>

#include "core/zone.h"

#define ND_HUMAN_MAX 32

void nd_human_age(int64_t now_ms, int64_t ms, struct nd_zone *z, char out[ND_HUMAN_MAX]);
/* "Nov 29 2013": the local date of @ms in @z. */
void nd_human_date(int64_t ms, struct nd_zone *z, char out[ND_HUMAN_MAX]);

#endif
