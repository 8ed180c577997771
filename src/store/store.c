/* store.c: what all backends share: status names, the system clock and the argument checks.
 * Opening a backend by URL is open.c, above the backends, so that they stand on this file alone. */

#include "config.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/err.h"

const char *rdv_store_status_name(enum rdv_store_status st)
{
    switch (st) {
    case RDV_STORE_OK: return "ok";
    case RDV_STORE_STALE: return "stale";
    case RDV_STORE_LIMIT: return "limit";
    case RDV_STORE_ERROR: return "error";
    case RDV_STORE_UNAVAILABLE: return "unavailable";
    case RDV_STORE_FULL: return "full";
    }
    return "unknown";
}

static int64_t system_now_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const struct rdv_clock rdv_clock_system = { system_now_ms, NULL };

/* ---- the argument checks of every backend ---------------------------------------------- */

static bool ns_ok(const char *ns, size_t len, bool may_be_empty)
{
    if (len == 0)
        return may_be_empty;
    return ns && len <= RDV_NS_MAX;
}

static bool peer_ok(const struct rdv_peerid *peer)
{
    return peer && peer->len > 0 && peer->len <= RDV_PEERID_MAX;
}

int rdv_store_put_valid(const struct rdv_store_put *p)
{
    return p && ns_ok(p->ns, p->ns_len, false) && peer_ok(p->peer) && p->envelope && p->envelope_len > 0 &&
           p->envelope_len <= RDV_STORE_ENVELOPE_MAX && p->ttl_s > 0 && p->kind < RDV_STORE_KINDS &&
           p->dialect < RDV_STORE_DIALECTS;
}

int rdv_store_query_valid(const struct rdv_store_query *q)
{
    return q && q->kind < RDV_STORE_KINDS && ns_ok(q->ns, q->ns_len, q->ordered);
}

int rdv_store_key_valid(uint8_t kind, const char *ns, size_t ns_len, const struct rdv_peerid *peer)
{
    return kind < RDV_STORE_KINDS && ns_ok(ns, ns_len, false) && peer_ok(peer);
}

/* ---- global budgets ---------------------------------------------------------------------- */

static bool over(uint64_t limit, uint64_t want)
{
    return limit && want > limit;
}

enum rdv_store_status rdv_store_budget_admit(const struct rdv_store_budget *b, const struct rdv_store_usage *used,
                                             const struct rdv_store_put *p, int held, size_t old_len, int new_name)
{
    uint64_t cost = rdv_store_reg_cost(p->envelope_len);
    if (held) {
        /* a refresh keeps its place; only growth is bounded, with one record's slack (store.h) */
        uint64_t old = rdv_store_reg_cost(old_len);
        uint64_t after = used->bytes - (old < used->bytes ? old : used->bytes) + cost;
        return cost > old && b->bytes && after > b->bytes + RDV_STORE_REG_COST_MAX ? RDV_STORE_FULL : RDV_STORE_OK;
    }
    if (over(b->registrations, used->registrations + 1) || (new_name && over(b->namespaces, used->namespaces + 1)) ||
        over(b->bytes, used->bytes + cost))
        return RDV_STORE_FULL;
    return RDV_STORE_OK;
}
