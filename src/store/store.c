/* store.c: what all backends share: status names, the system clock, and opening a backend
 * by URL (memory:, postgres://..., leveldb:/path). */

#include "config.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/memory.h"
#include "store/postgres.h"
#ifdef HAVE_LEVELDB
#include "store/leveldb.h"
#endif
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

/* PostgreSQL URIs, and key=value connection strings ("host=db dbname=rdv"): anything with an
 * '=' that names no other backend. libpq's parser then decides whether it is valid. */
static bool is_postgres_url(const char *url)
{
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
        return true;
    return strchr(url, '=') && strncmp(url, "memory", 6) != 0 && strncmp(url, "leveldb:", 8) != 0;
}

static bool is_schemaless_url(const char *url)
{
    return strcmp(url, "memory:") == 0 || strcmp(url, "memory") == 0 || strncmp(url, "leveldb:", 8) == 0;
}

/* Only the scheme is echoed: a mistyped URL may still hold a password. */
static void unknown_kind(const char *url, char *err, size_t errlen)
{
    snprintf(err, errlen, "store '%.*s...': unknown kind (memory:, postgres://..., key=value conninfo, leveldb:/path)",
             (int)strcspn(url, ":@/ "), url);
}

int rdv_store_open_with(const char *url, const struct rdv_store_options *opt, struct ev_loop *loop,
                        const struct rdv_log *log, struct rdv_store **out, char *err, size_t errlen)
{
    if (is_postgres_url(url))
        return rdv_store_postgres_open_with(url, opt, loop, log, out, err, errlen);
    return rdv_store_open(url, loop, log, out, err, errlen);
}

int rdv_store_init(const char *url, char *err, size_t errlen)
{
    if (is_postgres_url(url))
        return rdv_store_postgres_init(url, err, errlen);
    if (is_schemaless_url(url))
        return RDV_OK;
    /* a URL no backend takes must not pass for a database whose schema is in place */
    unknown_kind(url, err, errlen);
    return RDV_ERR_INVALID;
}

int rdv_store_open(const char *url, struct ev_loop *loop, const struct rdv_log *log, struct rdv_store **out,
                   char *err, size_t errlen)
{
    if (is_postgres_url(url))
        return rdv_store_postgres_open(url, 0, 0, loop, log, out, err, errlen);
    if (strcmp(url, "memory:") == 0 || strcmp(url, "memory") == 0) {
        *out = rdv_store_memory_new(NULL);
        if (!*out) {
            snprintf(err, errlen, "out of memory");
            return RDV_ERR_NOMEM;
        }
        return RDV_OK;
    }
    if (strncmp(url, "leveldb:", 8) == 0) {
#ifdef HAVE_LEVELDB
        return rdv_store_leveldb_open(url + 8, NULL, log, out, err, errlen);
#else
        snprintf(err, errlen, "store '%s': this rendezvousd was built without LevelDB (install libleveldb-dev and rebuild)", url);
        return RDV_ERR_UNSUPPORTED;
#endif
    }
    unknown_kind(url, err, errlen);
    return RDV_ERR_INVALID;
}

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
