/* memory.c: the embedded in-memory store (see memory.h).
 *
 * All structure lives in the shared registration index (index.c: hash tables, one expiry
 * min-heap, dense per-namespace arrays); this file adds the envelope bytes, kept as each index
 * record's data, and the clock. Every operation first drops the records whose expiry is <= now:
 * nothing expired is ever reported, and ttl_left_ms is always > 0.
 *
 * Operations never fail half-way: a put allocates the envelope copy before it touches the index,
 * and an index insertion either links everything or nothing, so an allocation failure leaves the
 * store as it was (RDV_STORE_ERROR).
 *
 * Browsing cost (admin API): a page of namespaces is O(m log limit) over the m namespaces plus a
 * scan of the listed namespaces' records for their expiry range; a page of registrations is
 * O(r log limit) over the namespace's r records. Nothing is kept sorted for it. */
#include "store/memory.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store/index.h"
#include "util/err.h"

struct mem_store {
    struct rdv_store base; /* first: the vtable */
    struct rdv_clock clock;
    struct rdv_index *ix;
    uint8_t secret[RDV_STORE_SECRET_LEN]; /* drawn at creation: cookies die with the process */
};

static int64_t mem_now(const struct mem_store *s)
{
    return s->clock.now_ms(s->clock.ctx);
}

static uint64_t mem_purge(struct mem_store *s, int64_t now)
{
    uint64_t k = 0;
    struct rdv_index_rec *r;
    while ((r = rdv_index_soonest(s->ix)) && r->expires_ms <= now) {
        rdv_index_remove(s->ix, r);
        k++;
    }
    return k;
}

/* Purges, then returns now. Every operation starts here. */
static int64_t mem_begin(struct mem_store *s)
{
    int64_t now = mem_now(s);
    mem_purge(s, now);
    return now;
}

/* ---- put ------------------------------------------------------------------------------- */

static enum rdv_store_status put_apply(struct mem_store *s, const struct rdv_store_put *p, int64_t now)
{
    if (!rdv_store_put_valid(p))
        return RDV_STORE_ERROR;
    struct rdv_index_rec *r;
    enum rdv_store_status st = rdv_index_admit(s->ix, p, &r);
    if (st != RDV_STORE_OK)
        return st;
    uint8_t *env = malloc(p->envelope_len);
    if (!env)
        return RDV_STORE_ERROR;
    memcpy(env, p->envelope, p->envelope_len);
    struct rdv_index_meta m = {.envelope_len = (uint32_t)p->envelope_len, .seq = p->seq,
                               .counter = rdv_index_next_counter(s->ix), .dialect = p->dialect,
                               .registered_ms = now, .expires_ms = now + (int64_t)p->ttl_s * 1000};
    struct rdv_index_key key = {.kind = p->kind, .ns = p->ns, .ns_len = p->ns_len, .peer = p->peer};
    if (r) {
        free(r->data);
        (void)rdv_index_update(s->ix, r, &m); /* the dialect was checked above */
    } else if (rdv_index_insert(s->ix, &key, &m, &r)) {
        free(env);
        return RDV_STORE_ERROR;
    }
    r->data = env;
    r->data_len = (uint32_t)p->envelope_len; /* <= RDV_STORE_ENVELOPE_MAX (put_valid) */
    return RDV_STORE_OK;
}

static void mem_put(struct rdv_store *base, const struct rdv_store_put *p, rdv_store_put_cb cb, void *arg)
{
    struct mem_store *s = (struct mem_store *)base;
    int64_t now = mem_begin(s);
    cb(arg, put_apply(s, p, now));
}

/* ---- discover -------------------------------------------------------------------------- */

static void mem_discover(struct rdv_store *base, const struct rdv_store_query *q, rdv_store_discover_cb cb,
                         void *arg)
{
    struct mem_store *s = (struct mem_store *)base;
    int64_t now = mem_begin(s);
    struct rdv_index_rec **recs;
    size_t n;
    int rc = rdv_index_query(s->ix, q, &recs, &n);
    rdv_index_answer_discover(rc, recs, n, now, cb, arg);
}

/* ---- unregister ------------------------------------------------------------------------ */

static void mem_unregister(struct rdv_store *base, uint8_t kind, const char *ns, size_t ns_len,
                           const struct rdv_peerid *peer, rdv_store_count_cb cb, void *arg)
{
    struct mem_store *s = (struct mem_store *)base;
    mem_begin(s);
    if (!rdv_store_key_valid(kind, ns, ns_len, peer)) {
        cb(arg, RDV_STORE_ERROR, 0);
        return;
    }
    struct rdv_index_rec *r = rdv_index_find(s->ix, kind, ns, ns_len, peer);
    if (r)
        rdv_index_remove(s->ix, r);
    cb(arg, RDV_STORE_OK, r ? 1 : 0);
}

/* ---- browsing -------------------------------------------------------------------------- */

static void mem_list_namespaces(struct rdv_store *base, const char *prefix, size_t prefix_len, const char *cursor,
                                size_t cursor_len, uint32_t limit, rdv_store_ns_list_cb cb, void *arg)
{
    struct mem_store *s = (struct mem_store *)base;
    mem_begin(s);
    rdv_index_answer_namespaces(s->ix, prefix, prefix_len, cursor, cursor_len, limit, cb, arg);
}

static void mem_list_registrations(struct rdv_store *base, uint8_t kind, const char *name, size_t len,
                                   const struct rdv_peerid *cursor, uint32_t limit, rdv_store_reg_list_cb cb,
                                   void *arg)
{
    struct mem_store *s = (struct mem_store *)base;
    int64_t now = mem_begin(s);
    struct rdv_index_rec **recs;
    size_t n;
    int more;
    int rc = rdv_index_list_registrations(s->ix, kind, name, len, cursor, limit, &recs, &n, &more);
    rdv_index_answer_list(rc, recs, n, more, now, cb, arg);
}

/* The search by peer id: the index keeps a list per peer. */
static void mem_list_peer(struct rdv_store *base, const struct rdv_peerid *peer, uint32_t limit, rdv_store_reg_list_cb cb,
                          void *arg)
{
    struct mem_store *s = (struct mem_store *)base;
    int64_t now = mem_begin(s);
    struct rdv_index_rec **recs = NULL;
    size_t n = 0;
    int more = 0;
    int rc = peer ? rdv_index_list_peer(s->ix, peer, limit, &recs, &n, &more) : RDV_ERR_INVALID;
    rdv_index_answer_list(rc, recs, n, more, now, cb, arg);
}

/* ---- expire, stats, health, close ------------------------------------------------------ */

static void mem_expire(struct rdv_store *base, rdv_store_count_cb cb, void *arg)
{
    struct mem_store *s = (struct mem_store *)base;
    uint64_t k = mem_purge(s, mem_now(s));
    cb(arg, RDV_STORE_OK, k);
}

static void mem_stats(struct rdv_store *base, rdv_store_stats_cb cb, void *arg)
{
    struct mem_store *s = (struct mem_store *)base;
    mem_begin(s);
    rdv_index_answer_stats(s->ix, cb, arg);
}

/* Memory is always there. */
static void mem_health(struct rdv_store *base, rdv_store_health_cb cb, void *arg)
{
    (void)base;
    cb(arg, RDV_STORE_OK);
}

static void mem_secret(struct rdv_store *base, rdv_store_secret_cb cb, void *arg)
{
    struct mem_store *s = (struct mem_store *)base;
    cb(arg, RDV_STORE_OK, s->secret);
}

static void mem_close(struct rdv_store *base)
{
    struct mem_store *s = (struct mem_store *)base;
    rdv_index_free(s->ix);
    sodium_memzero(s->secret, sizeof(s->secret));
    free(s);
}

static const struct rdv_store_ops mem_ops = {
    .kind = "memory",
    .put = mem_put,
    .unregister = mem_unregister,
    .discover = mem_discover,
    .expire = mem_expire,
    .stats = mem_stats,
    .list_namespaces = mem_list_namespaces,
    .list_registrations = mem_list_registrations,
    .list_peer = mem_list_peer,
    .health = mem_health,
    .secret = mem_secret,
    .close = mem_close,
};

struct rdv_store *rdv_store_memory_new(const struct rdv_clock *clock)
{
    struct mem_store *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->ix = rdv_index_new();
    if (!s->ix) {
        free(s);
        return NULL;
    }
    randombytes_buf(s->secret, sizeof(s->secret)); /* rdv_index_new started libsodium */
    s->base.ops = &mem_ops;
    s->clock = clock && clock->now_ms ? *clock : rdv_clock_system;
    return &s->base;
}
