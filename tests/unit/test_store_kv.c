/* test_store_kv.c: the store contract (store_contract.h) against the key-value adapter (store/kv.c)
 * over a small ordered map kept here, the way an application brings its own KV; then what the
 * adapter adds: everything survives a reopen on the same map (records, the counter, the secret),
 * expired records are dropped at load, and a KV that fails leaves the store as it was. */
#include <stdlib.h>
#include <string.h>

#include "p2p/keys.h"
#include "store/kv.h"
#include "store_contract.h"
#include "tap.h"
#include "util/err.h"

/* ---- an ordered map: a sorted array of pairs -------------------------------------------------- */

struct pair {
    uint8_t *k, *v;
    size_t kl, vl;
};

struct map {
    struct pair *p;
    size_t n, cap;
    bool fail;       /* every put and del fails */
    unsigned closed;
};

static int cmp(const void *a, size_t an, const void *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : an < bn ? -1 : an > bn;
}

/* The index of the first pair >= key. */
static size_t lower(const struct map *m, const void *k, size_t kl)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cmp(m->p[mid].k, m->p[mid].kl, k, kl) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int map_del(void *ctx, const void *k, size_t kl)
{
    struct map *m = ctx;
    if (m->fail)
        return -1;
    size_t i = lower(m, k, kl);
    if (i < m->n && cmp(m->p[i].k, m->p[i].kl, k, kl) == 0) {
        free(m->p[i].k);
        free(m->p[i].v);
        memmove(&m->p[i], &m->p[i + 1], (m->n - i - 1) * sizeof(*m->p));
        m->n--;
    }
    return 0;
}

static int map_put(void *ctx, const void *k, size_t kl, const void *v, size_t vl)
{
    struct map *m = ctx;
    if (m->fail)
        return -1;
    map_del(m, k, kl);
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 16;
        m->p = realloc(m->p, m->cap * sizeof(*m->p));
    }
    size_t i = lower(m, k, kl);
    memmove(&m->p[i + 1], &m->p[i], (m->n - i) * sizeof(*m->p));
    m->p[i] = (struct pair){malloc(kl), malloc(vl ? vl : 1), kl, vl};
    memcpy(m->p[i].k, k, kl);
    memcpy(m->p[i].v, v, vl);
    m->n++;
    return 0;
}

static int map_iterate(void *ctx, const void *prefix, size_t pl, rendezvous_kv_visit_fn visit, void *arg)
{
    struct map *m = ctx;
    for (size_t i = lower(m, prefix, pl); i < m->n; i++) {
        if (m->p[i].kl < pl || memcmp(m->p[i].k, prefix, pl) != 0)
            break;
        if (visit(arg, m->p[i].k, m->p[i].kl, m->p[i].v, m->p[i].vl))
            break;
    }
    return 0;
}

static void map_close(void *ctx) { ((struct map *)ctx)->closed++; }

static void map_free(struct map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->p[i].k);
        free(m->p[i].v);
    }
    free(m->p);
    memset(m, 0, sizeof(*m));
}

static struct rendezvous_kv kv_of(struct map *m)
{
    return (struct rendezvous_kv){.size = sizeof(struct rendezvous_kv), .ctx = m, .put = map_put, .del = map_del,
                                  .iterate = map_iterate, .close = map_close};
}

/* ---- the contract ------------------------------------------------------------------------------ */

static bool contract_ok(bool cond, const char *name) { return ok(cond, "%s", name); }

/* Each store gets a map of its own; the maps are freed at the end. */
static struct map maps[64];
static size_t nmaps;

static struct rdv_store *make_kv(void *ctx, const struct rdv_clock *clock)
{
    (void)ctx;
    if (nmaps == 64)
        return NULL;
    struct rendezvous_kv kv = kv_of(&maps[nmaps++]);
    struct rdv_store *s = NULL;
    return rdv_store_kv_open(&kv, clock, NULL, &s) == RDV_OK ? s : NULL;
}

/* ---- reopening --------------------------------------------------------------------------------- */

static int64_t fake_now;
static int64_t fake_clock(void *ctx) { (void)ctx; return fake_now; }

static void put_done(void *arg, enum rdv_store_status st) { *(enum rdv_store_status *)arg = st; }
static void secret_done(void *arg, enum rdv_store_status st, const uint8_t *key)
{
    if (st == RDV_STORE_OK)
        memcpy(arg, key, RDV_STORE_SECRET_LEN);
}

struct found {
    size_t n;
    uint64_t counter[8];
};

static void discover_done(void *arg, enum rdv_store_status st, const struct rdv_store_record *recs, size_t n)
{
    struct found *f = arg;
    f->n = st == RDV_STORE_OK ? n : 0;
    for (size_t i = 0; i < n && i < 8; i++)
        f->counter[i] = recs[i].counter;
}

static enum rdv_store_status put_one(struct rdv_store *s, const char *ns, const struct rdv_peerid *peer, uint32_t ttl)
{
    enum rdv_store_status st = RDV_STORE_ERROR;
    struct rdv_store_put p = {.ns = ns, .ns_len = strlen(ns), .peer = peer, .seq = 1,
                              .envelope = (const uint8_t *)"env", .envelope_len = 3, .ttl_s = ttl};
    rdv_store_put(s, &p, put_done, &st);
    return st;
}

static void test_reopen(void)
{
    struct map m = {0};
    struct rendezvous_kv kv = kv_of(&m);
    struct rdv_clock clock = {fake_clock, NULL};
    fake_now = 1000000;
    struct rdv_store *s = NULL;
    is_int(rdv_store_kv_open(&kv, &clock, NULL, &s), RDV_OK, "open on an empty map");
    struct rdv_peerid a, b;
    struct rdv_privkey k;
    rdv_privkey_generate(RDV_KEY_ED25519, &k);
    rdv_peerid_from_pubkey(&k.pub, &a);
    rdv_privkey_generate(RDV_KEY_ED25519, &k);
    rdv_peerid_from_pubkey(&k.pub, &b);
    is_int(put_one(s, "ns", &a, 100), RDV_STORE_OK, "a put");
    is_int(put_one(s, "ns", &b, 5), RDV_STORE_OK, "a second, short-lived");
    uint8_t key1[RDV_STORE_SECRET_LEN] = {0}, key2[RDV_STORE_SECRET_LEN] = {1};
    rdv_store_secret(s, secret_done, key1);
    m.fail = true;
    is_int(put_one(s, "other", &a, 100), RDV_STORE_ERROR, "a put the KV refuses fails");
    struct found f = {0};
    struct rdv_store_query q = {.kind = 0, .ns = "other", .ns_len = 5};
    rdv_store_query(s, &q, discover_done, &f);
    is_int((int)f.n, 0, "and is not in the index");
    m.fail = false;
    rdv_store_close(s);
    is_int((int)m.closed, 1, "close closes the KV");
    fake_now += 10000; /* b has expired meanwhile */
    is_int(rdv_store_kv_open(&kv, &clock, NULL, &s), RDV_OK, "reopen on the same map");
    q = (struct rdv_store_query){.kind = 0, .ns = "ns", .ns_len = 2, .ordered = 1};
    rdv_store_query(s, &q, discover_done, &f);
    ok(f.n == 1 && f.counter[0] == 1, "the live record is back with its counter (%zu)", f.n);
    rdv_store_secret(s, secret_done, key2);
    ok(memcmp(key1, key2, sizeof(key1)) == 0, "the same cookie secret");
    is_int(put_one(s, "ns", &b, 100), RDV_STORE_OK, "a new put after reopening");
    rdv_store_query(s, &q, discover_done, &f);
    ok(f.n == 2 && f.counter[1] > 2, "its counter follows every one handed out before (%llu)",
       (unsigned long long)f.counter[1]);
    rdv_store_close(s);
    struct rendezvous_kv bad = kv;
    bad.iterate = NULL;
    is_int(rdv_store_kv_open(&bad, &clock, NULL, &s), RDV_ERR_INVALID, "a KV without iterate is refused");
    rdv_privkey_clear(&k);
    map_free(&m);
}

int main(void)
{
    struct rdv_store_contract c = {.make = make_kv, .ok = contract_ok};
    rdv_store_contract_run("kv", &c);
    test_reopen();
    for (size_t i = 0; i < nmaps; i++)
        map_free(&maps[i]);
    return tap_done();
}
