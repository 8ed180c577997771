/* store_contract.h: the behaviour every struct rdv_store backend must show, as one TAP suite.
 *
 * A backend's test program calls rdv_store_contract_run() once per configuration. The suite asks
 * the factory for fresh, empty stores, drives every operation of store.h through them and checks
 * the results: upsert / equal-seq refresh / stale seq, the per-peer cap, expiry (nothing expired is
 * ever returned, ttl_left_ms > 0, expire() counts), stats, random sampling, namespace and
 * registration browsing (ordering by bytes, prefix filter, cursors, `more`, pages that stay stable
 * while records come and go), health, and namespaces holding bytes >= 0x80. Then the dialect
 * contract: record kinds as part of the key (sampling, listing and the per-peer cap per kind),
 * dialects stored, reported, moved by a refresh and counted in stats and namespace rows, the
 * store-wide registration counter, ordered discover (counter order, paging by `after` while records
 * are added, refreshed, unregistered and expire; ns_len 0; limit), unregister, the secret, and
 * namespace rows per (name, kind) with cursors with and without the kind suffix. Last the global
 * budgets (registrations, names, bytes: FULL for a new one, refreshes admitted, expiry frees room),
 * unless the flags say the store keeps none.
 *
 * Synchronous stores (memory, leveldb) complete callbacks before returning; pass loop = NULL.
 * Asynchronous stores (postgres) pass the loop their callbacks run on: after issuing each operation
 * the suite runs ev_run(loop, EVRUN_ONCE) until the callback fired, or gives up after
 * RDV_CONTRACT_OP_TIMEOUT_MS and stops the suite (a later callback then only writes into the
 * suite's own state, which stays valid until the store is closed).
 *
 * Clock: by default the factory receives a clock the suite controls, and expiry tests step it to
 * the exact millisecond. A store that keeps time elsewhere (PostgreSQL's now()) sets
 * RDV_CONTRACT_REAL_CLOCK: the factory then gets rdv_clock_system (it may ignore it), expiry tests
 * use 1 s TTLs and real waits of about 1.3 s, and exact-time checks become range checks.
 *
 * TAP: tap.h keeps one counter per translation unit, so the suite reports through the caller's
 * ok(); define in the test program
 *     static bool contract_ok(bool cond, const char *name) { return ok(cond, "%s", name); }
 * and pass it. Every test point's name starts with the label. */
#ifndef RDV_STORE_CONTRACT_H
#define RDV_STORE_CONTRACT_H

#include <stdbool.h>

#include "store/store.h"

#define RDV_CONTRACT_REAL_CLOCK 0x1u   /* the store ignores the injected clock */
#define RDV_CONTRACT_NO_BUDGET 0x2u    /* budgets are checked against figures refreshed about every second,
                                        * not exactly per put (PostgreSQL: test_store_pg.c test_budget) */
#define RDV_CONTRACT_OP_TIMEOUT_MS 10000 /* an asynchronous operation must complete within this */

struct ev_loop;

struct rdv_store_contract {
    /* Returns a new, empty store (nothing from earlier stores visible) or NULL. The suite closes
     * every store it gets. clock: see above. */
    struct rdv_store *(*make)(void *ctx, const struct rdv_clock *clock);
    void *ctx;
    struct ev_loop *loop; /* NULL: callbacks complete before the operation returns */
    unsigned flags;       /* RDV_CONTRACT_* */
    bool (*ok)(bool cond, const char *name); /* one TAP test point */
};

/* Runs the whole contract; returns the number of failed test points (0: the store conforms). */
int rdv_store_contract_run(const char *label, const struct rdv_store_contract *c);

#endif
