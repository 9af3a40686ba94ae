/* ratelimit.h - requests per API key: a token bucket each.
 *
 * A key may make --rate-limit requests a minute, in bursts of up to
 * --rate-burst; past that a request is a 429 with Retry-After and the
 * RateLimit-Limit, -Remaining and -Reset headers. Buckets live in a bounded
 * table in each process's memory: with N instances on one PostgreSQL
 * database a key gets up to N times the limit, and a key pushed out of the
 * table by others starts again with a full bucket (docs/reliability.md). */
#ifndef ND_HTTP_RATELIMIT_H
#define ND_HTTP_RATELIMIT_H

#include <stdbool.h>

struct nd_ratelimit;

/* NULL (no limit) when @per_minute is 0; @burst 0 means one minute's worth. */
struct nd_ratelimit *nd_ratelimit_new(unsigned per_minute, unsigned burst);
void nd_ratelimit_free(struct nd_ratelimit *rl);
/* Takes a request's token from @key_id's bucket. False when there is none:
 * *@retry_after is then the seconds until there is. */
bool nd_ratelimit_take(struct nd_ratelimit *rl, const char *key_id, unsigned *retry_after);
unsigned nd_ratelimit_per_minute(const struct nd_ratelimit *rl);

#endif
