/* record_cache.c: see record_cache.h.
 *
 * A chained hash table on the first 8 bytes of the keyed hash (already uniform and secret, so no
 * second hash) and an intrusive doubly linked LRU list. Each entry is one allocation sized to its
 * address count. The table doubles when entries exceed its buckets and never shrinks. */
#include "p2p/record_cache.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

#define HASH_LEN 32
#define MIN_BUCKETS 1024

struct span {
    uint16_t off, len; /* envelopes are at most RDV_RECORD_ENVELOPE_MAX (8 KiB) */
};

struct entry {
    struct entry *chain;            /* next in bucket */
    struct entry *prev, *next;      /* LRU: head is most recent */
    uint8_t hash[HASH_LEN];
    struct rdv_peerid peer;
    uint64_t seq;
    uint32_t addrs_bytes;
    uint16_t env_len;               /* implied by the hash; kept so a hit can never index past the buffer */
    uint16_t naddrs;
    uint8_t has_mix;
    struct span mix;
    struct span addrs[];
};

struct rdv_record_cache {
    uint8_t key[crypto_generichash_KEYBYTES];
    struct rdv_record_opener inner;
    struct entry **buckets;
    size_t nbuckets;                /* power of two */
    struct entry *head, *tail;
    size_t max_entries, max_bytes;
    struct rdv_record_cache_stats st;
};

static size_t entry_size(size_t naddrs)
{
    return sizeof(struct entry) + naddrs * sizeof(struct span);
}

static size_t bucket_of(const struct rdv_record_cache *c, const uint8_t *hash)
{
    uint64_t h;
    memcpy(&h, hash, sizeof(h));
    return (size_t)h & (c->nbuckets - 1);
}

/* (kind, bytes) under the cache's key: a kind byte first, so one buffer opened as two kinds
 * (different domains, so at most one verifies) never shares an entry. */
static void hash_envelope(const struct rdv_record_cache *c, uint8_t kind, const uint8_t *env, size_t n,
                          uint8_t out[HASH_LEN])
{
    crypto_generichash_state s;
    crypto_generichash_init(&s, c->key, sizeof(c->key), HASH_LEN);
    crypto_generichash_update(&s, &kind, 1);
    crypto_generichash_update(&s, env, n);
    crypto_generichash_final(&s, out, HASH_LEN);
}

static void lru_unlink(struct rdv_record_cache *c, struct entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push(struct rdv_record_cache *c, struct entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

static struct entry **chain_slot(struct rdv_record_cache *c, const uint8_t *hash)
{
    struct entry **p = &c->buckets[bucket_of(c, hash)];
    while (*p && sodium_memcmp((*p)->hash, hash, HASH_LEN) != 0)
        p = &(*p)->chain;
    return p;
}

static void entry_drop(struct rdv_record_cache *c, struct entry *e)
{
    struct entry **p = chain_slot(c, e->hash);
    *p = e->chain;
    lru_unlink(c, e);
    c->st.entries--;
    c->st.bytes -= entry_size(e->naddrs);
    free(e);
}

static void evict(struct rdv_record_cache *c)
{
    while (c->tail && (c->st.entries > c->max_entries || c->st.bytes > c->max_bytes)) {
        entry_drop(c, c->tail);
        c->st.evictions++;
    }
}

/* Doubling keeps chains short; when it cannot allocate, chains just grow longer. */
static void maybe_grow(struct rdv_record_cache *c)
{
    if (c->st.entries <= c->nbuckets)
        return;
    size_t n = c->nbuckets * 2;
    struct entry **b = calloc(n, sizeof(*b));
    if (!b)
        return;
    for (size_t i = 0; i < c->nbuckets; i++) {
        for (struct entry *e = c->buckets[i], *next; e; e = next) {
            next = e->chain;
            uint64_t h;
            memcpy(&h, e->hash, sizeof(h));
            size_t j = (size_t)h & (n - 1);
            e->chain = b[j];
            b[j] = e;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = n;
}

/* A slice of the summary as an offset into env; false if it is not inside env. */
static bool to_span(const uint8_t *env, size_t n, const uint8_t *p, size_t len, struct span *out)
{
    if (!p || p < env || len > n || (size_t)(p - env) > n - len)
        return false;
    out->off = (uint16_t)(p - env);
    out->len = (uint16_t)len;
    return true;
}

static struct entry *entry_make(const uint8_t *hash, const uint8_t *env, size_t n,
                                const struct rdv_record_summary *s)
{
    if (n > RDV_RECORD_ENVELOPE_MAX || s->naddrs > RDV_RECORD_MAX_ADDRS)
        return NULL;
    struct entry *e = calloc(1, entry_size(s->naddrs));
    if (!e)
        return NULL;
    memcpy(e->hash, hash, HASH_LEN);
    e->peer = s->peer;
    e->seq = s->seq;
    e->env_len = (uint16_t)n;
    e->addrs_bytes = (uint32_t)s->addrs_bytes;
    e->naddrs = (uint16_t)s->naddrs;
    bool ok = true;
    for (size_t i = 0; i < s->naddrs && ok; i++)
        ok = to_span(env, n, s->addrs[i].bytes, s->addrs[i].len, &e->addrs[i]);
    e->has_mix = s->mix_key != NULL;
    if (ok && s->mix_key)
        ok = s->mix_key_len == 0 ? to_span(env, n, env, 0, &e->mix)
                                 : to_span(env, n, s->mix_key, s->mix_key_len, &e->mix);
    if (!ok) { /* an inner opener that points elsewhere: do not cache what cannot be re-pointed */
        free(e);
        return NULL;
    }
    return e;
}

static void remember(struct rdv_record_cache *c, const uint8_t *hash, const uint8_t *env, size_t n,
                     const struct rdv_record_summary *s)
{
    if (entry_size(s->naddrs) > c->max_bytes)
        return;
    struct entry *e = entry_make(hash, env, n, s);
    if (!e)
        return;
    struct entry **slot = &c->buckets[bucket_of(c, hash)];
    e->chain = *slot;
    *slot = e;
    lru_push(c, e);
    c->st.entries++;
    c->st.bytes += entry_size(e->naddrs);
    evict(c);
    maybe_grow(c);
}

/* The summary the entry stands for, pointing into env (the same bytes as verified). */
static void recall(const struct entry *e, const uint8_t *env, struct rdv_record_summary *out)
{
    out->peer = e->peer;
    out->seq = e->seq;
    out->naddrs = e->naddrs;
    out->addrs_bytes = e->addrs_bytes;
    for (size_t i = 0; i < e->naddrs; i++)
        out->addrs[i] = (struct rdv_record_addr){env + e->addrs[i].off, e->addrs[i].len};
    out->mix_key = e->has_mix ? env + e->mix.off : NULL;
    out->mix_key_len = e->has_mix ? e->mix.len : 0;
}

static int cache_open(void *ctx, const struct rdv_record_kind *k, const uint8_t *env, size_t n,
                      struct rdv_record_summary *out)
{
    struct rdv_record_cache *c = ctx;
    if (!k || !env || n == 0 || n > RDV_RECORD_ENVELOPE_MAX)
        return rdv_record_opener_open(&c->inner, k, env, n, out);
    uint8_t hash[HASH_LEN];
    hash_envelope(c, (uint8_t)k->id, env, n, hash);
    struct entry *e = *chain_slot(c, hash);
    if (e && e->env_len == n) {
        c->st.hits++;
        lru_unlink(c, e);
        lru_push(c, e);
        recall(e, env, out);
        out->cached = 1;
        return RDV_OK;
    }
    c->st.misses++;
    int rc = rdv_record_opener_open(&c->inner, k, env, n, out);
    if (rc == RDV_OK && !e)
        remember(c, hash, env, n, out);
    return rc;
}

struct rdv_record_cache *rdv_record_cache_new(size_t max_entries, size_t max_bytes,
                                              const struct rdv_record_opener *inner)
{
    if (sodium_init() < 0)
        return NULL;
    struct rdv_record_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->nbuckets = MIN_BUCKETS;
    if (!(c->buckets = calloc(c->nbuckets, sizeof(*c->buckets)))) {
        free(c);
        return NULL;
    }
    crypto_generichash_keygen(c->key);
    c->max_entries = max_entries ? max_entries : RDV_RECORD_CACHE_DEFAULT_ENTRIES;
    c->max_bytes = max_bytes ? max_bytes : RDV_RECORD_CACHE_DEFAULT_BYTES;
    if (inner)
        c->inner = *inner;
    return c;
}

void rdv_record_cache_free(struct rdv_record_cache *c)
{
    if (!c)
        return;
    for (struct entry *e = c->head, *next; e; e = next) {
        next = e->next;
        free(e);
    }
    free(c->buckets);
    sodium_memzero(c->key, sizeof(c->key));
    free(c);
}

struct rdv_record_opener rdv_record_cache_opener(struct rdv_record_cache *c)
{
    return (struct rdv_record_opener){cache_open, c};
}

void rdv_record_cache_stats(const struct rdv_record_cache *c, struct rdv_record_cache_stats *out)
{
    *out = c->st;
}
