/* throttle.h - failed authentications counted per client address, so that
 * guessing keys from one address stops after a few tries.
 *
 * An address whose keys failed @limit times within one minute is refused (429
 * with Retry-After) on every route that needs a key until that minute is
 * over; routes without a key are not affected, nor are other addresses.
 * The table is per process and bounded: several notifd instances each
 * count on their own, and behind a proxy every client shares the proxy's
 * address (docs/reliability.md). */
#ifndef ND_HTTP_THROTTLE_H
#define ND_HTTP_THROTTLE_H

#include <stdbool.h>
#include <sys/socket.h>

struct nd_throttle;

/* NULL (no throttling) when @limit is 0. */
struct nd_throttle *nd_throttle_new(unsigned limit);
void nd_throttle_free(struct nd_throttle *t);
/* True when @addr is refused now; *@retry_after is then the seconds left. */
bool nd_throttle_blocked(struct nd_throttle *t, const struct sockaddr *addr,
			 unsigned *retry_after);
/* Counts one failed authentication of @addr. */
void nd_throttle_failed(struct nd_throttle *t, const struct sockaddr *addr);

#endif
