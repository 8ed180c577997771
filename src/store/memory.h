/* memory.h: the embedded in-memory store (the default, "memory:").
 *
 * Namespaces in a hash table; each namespace keeps its records in an array (for O(limit) random
 * sampling) indexed by a hash of peer id (O(1) upsert); one min-heap of expiry times across all
 * records lets expire() and every operation drop the dead in O(log n) each. A per-peer count
 * enforces max_per_peer. Completes every callback before returning. */
#ifndef RDV_STORE_MEMORY_H
#define RDV_STORE_MEMORY_H

#include "store/store.h"

/* clock may be NULL for the system clock. Returns NULL on allocation failure. */
struct rdv_store *rdv_store_memory_new(const struct rdv_clock *clock);

#endif
