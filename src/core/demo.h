/* demo.h - the demo tenant that `make run` starts with. */
#ifndef ND_CORE_DEMO_H
#define ND_CORE_DEMO_H

#include "store/store.h"

/* Seeds tenant "default" with a few targets, a segment, a campaign and
 * notifications, once: *@seeded is false when the demo data was there. */
enum nd_err nd_demo_seed(struct nd_store_conn *c, bool *seeded, struct nd_error *err);

#endif
