/* memory.h: the embedded in-memory store (the default, "memory:").
 *
 * The registration index of index.h (namespaces in a hash table, each keeping its records in an
 * array for O(limit) random sampling and indexed by peer id for O(1) upsert; one min-heap of expiry
 * times lets expire() and every operation drop the dead in O(log n) each; per-peer counts enforce
 * max_per_peer) with the envelopes attached. Completes every callback before returning. */
#ifndef RDV_STORE_MEMORY_H
#define RDV_STORE_MEMORY_H

#include "store/store.h"

/* clock may be NULL for the system clock. Returns NULL on allocation failure. */
struct rdv_store *rdv_store_memory_new(const struct rdv_clock *clock);

#endif
