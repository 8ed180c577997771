/* timed.h: a store decorator that measures every operation of the store it wraps.
 *
 * Each operation's time from call to callback goes into a histogram series per operation
 * (label op="put", "discover", ...), and every answer updates an up/down gauge: 0 after
 * RDV_STORE_UNAVAILABLE, 1 after any other answer. The wrapper reports the inner store's kind
 * and owns it: closing the wrapper closes the inner store. Backend-independent, so memory,
 * postgres and leveldb are measured the same way. An operation added to struct rdv_store_ops
 * needs its wrapper here too (the wrapper's vtable lists every one). */
#ifndef RDV_STORE_TIMED_H
#define RDV_STORE_TIMED_H

#include "store/store.h"
#include "util/metrics.h"

/* duration: a histogram family with exactly one label (the operation); up: a gauge (may be NULL).
 * Returns NULL when out of memory (inner is then still the caller's). */
struct rdv_store *rdv_store_timed_new(struct rdv_store *inner, struct rdv_metric_family *duration,
                                      struct rdv_metric *up);

/* More series on a store made by rdv_store_timed_new: errors (a counter family with one label, the
 * operation) counts ERROR and UNAVAILABLE answers; records (a histogram) the records each discover
 * returned; in_flight (a gauge) the calls waiting for an answer. Any may be NULL. */
void rdv_store_timed_watch(struct rdv_store *timed, struct rdv_metric_family *errors, struct rdv_metric *records,
                           struct rdv_metric *in_flight);

#endif
