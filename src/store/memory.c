/* memory.c: the embedded in-memory store (see memory.h).
 *
 * Three hash tables share one small open-addressing implementation (linear probing, load <= 1/2,
 * backward-shift deletion so no tombstones pile up): namespaces by name, each namespace's records
 * by peer id, and per-peer registration counts by peer id. Hashes are SipHash (libsodium's
 * crypto_shorthash) under a random key drawn per store, so a peer choosing namespace names or
 * keys cannot aim them all at one bucket.
 *
 * Every record also sits in one min-heap ordered by expiry and knows its heap index, so a refresh
 * moves it in O(log n). Every operation first pops the records whose expiry is <= now: nothing
 * expired is ever reported, and ttl_left_ms is always > 0.
 *
 * Operations never fail half-way: a put reserves every array and table slot it will need before
 * linking anything, so an allocation failure leaves the store as it was (RDV_STORE_ERROR). */
#include "store/memory.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/envelope.h"

/* ---- a small open-addressing hash table of item pointers -------------------------------- */

struct hslot {
    uint64_t hash;
    void *item; /* NULL: empty slot */
};

/* Returns the key bytes of an item stored in the table. */
typedef void (*hkey_fn)(const void *item, const uint8_t **key, size_t *len);

struct htab {
    struct hslot *slots;
    size_t cap; /* 0 or a power of two */
    size_t n;
    hkey_fn key;
};

#define HTAB_MIN_CAP 8

static bool htab_match(const struct htab *t, const struct hslot *sl, uint64_t h,
                       const uint8_t *k, size_t n)
{
    if (sl->hash != h)
        return false;
    const uint8_t *ik;
    size_t in;
    t->key(sl->item, &ik, &in);
    return in == n && memcmp(ik, k, n) == 0;
}

/* Slot index of the item with key k, or SIZE_MAX. Terminates: the load factor keeps a free slot. */
static size_t htab_find(const struct htab *t, uint64_t h, const uint8_t *k, size_t n)
{
    if (t->cap == 0)
        return SIZE_MAX;
    size_t mask = t->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        if (!t->slots[i].item)
            return SIZE_MAX;
        if (htab_match(t, &t->slots[i], h, k, n))
            return i;
    }
}

static void *htab_get(const struct htab *t, uint64_t h, const uint8_t *k, size_t n)
{
    size_t i = htab_find(t, h, k, n);
    return i == SIZE_MAX ? NULL : t->slots[i].item;
}

static void htab_place(struct hslot *slots, size_t cap, uint64_t h, void *item)
{
    size_t mask = cap - 1, i = h & mask;
    while (slots[i].item)
        i = (i + 1) & mask;
    slots[i].hash = h;
    slots[i].item = item;
}

static int htab_resize(struct htab *t, size_t ncap)
{
    struct hslot *ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return -1;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].item)
            htab_place(ns, ncap, t->slots[i].hash, t->slots[i].item);
    free(t->slots);
    t->slots = ns;
    t->cap = ncap;
    return 0;
}

/* Makes room for `total` items so that inserting up to that many cannot fail. */
static int htab_reserve(struct htab *t, size_t total)
{
    if (total <= t->cap / 2)
        return 0;
    if (total > SIZE_MAX / 4 / sizeof(struct hslot))
        return -1;
    size_t ncap = t->cap ? t->cap : HTAB_MIN_CAP;
    while (ncap / 2 < total)
        ncap *= 2;
    return htab_resize(t, ncap);
}

/* Inserts an item whose key is absent; the caller reserved room first. */
static void htab_insert(struct htab *t, uint64_t h, void *item)
{
    htab_place(t->slots, t->cap, h, item);
    t->n++;
}

/* Backward-shift deletion: pull later members of the probe run into the hole when their home
 * slot is not cyclically inside (hole, j], so lookups never need tombstones. */
static void htab_delete_at(struct htab *t, size_t i)
{
    size_t mask = t->cap - 1;
    for (size_t j = (i + 1) & mask; t->slots[j].item; j = (j + 1) & mask) {
        size_t home = t->slots[j].hash & mask;
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i].item = NULL;
    t->slots[i].hash = 0;
    t->n--;
    /* Give memory back after a burst; a failed shrink just keeps the bigger table. */
    if (t->cap > HTAB_MIN_CAP && t->n < t->cap / 8)
        (void)htab_resize(t, t->cap / 2);
}

static void htab_delete(struct htab *t, uint64_t h, const uint8_t *k, size_t n)
{
    size_t i = htab_find(t, h, k, n);
    if (i != SIZE_MAX)
        htab_delete_at(t, i);
}

/* ---- store objects --------------------------------------------------------------------- */

struct mem_ns;

struct mem_rec {
    struct mem_ns *ns;
    struct rdv_peerid peer;
    uint64_t peer_hash;
    uint64_t seq;
    uint8_t *envelope;
    size_t envelope_len;
    int64_t expires_ms;    /* live while now < expires_ms */
    int64_t registered_ms;
    size_t heap_idx;       /* position in mem_store.heap */
    size_t ns_idx;         /* position in mem_ns.recs */
};

struct mem_ns {
    uint8_t *name;
    size_t len;
    uint64_t hash;
    struct mem_rec **recs; /* dense array: O(1) removal by swap, O(limit) sampling */
    size_t n, cap;
    struct htab by_peer;   /* mem_rec by peer id */
};

struct mem_peer {
    struct rdv_peerid peer;
    uint32_t count;        /* live registrations of this peer across namespaces */
};

struct mem_store {
    struct rdv_store base; /* first: the vtable */
    struct rdv_clock clock;
    uint8_t hkey[crypto_shorthash_KEYBYTES];
    struct htab spaces;    /* mem_ns by name */
    struct htab peers;     /* mem_peer by peer id */
    struct mem_rec **heap; /* min-heap on expires_ms */
    size_t heap_n, heap_cap;
};

static void ns_key(const void *item, const uint8_t **k, size_t *n)
{
    const struct mem_ns *ns = item;
    *k = ns->name;
    *n = ns->len;
}

static void rec_key(const void *item, const uint8_t **k, size_t *n)
{
    const struct mem_rec *r = item;
    *k = r->peer.bytes;
    *n = r->peer.len;
}

static void peer_key(const void *item, const uint8_t **k, size_t *n)
{
    const struct mem_peer *p = item;
    *k = p->peer.bytes;
    *n = p->peer.len;
}

static uint64_t mem_hash(const struct mem_store *s, const void *p, size_t n)
{
    uint8_t out[crypto_shorthash_BYTES];
    crypto_shorthash(out, p, n, s->hkey);
    uint64_t h;
    memcpy(&h, out, sizeof(h));
    return h;
}

/* Grows a record-pointer array (a namespace's records, the heap) to hold `need` elements. */
static int rec_array_reserve(struct mem_rec ***arr, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 4;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / sizeof(**arr))
            return -1;
        ncap *= 2;
    }
    struct mem_rec **p = realloc(*arr, ncap * sizeof(**arr));
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* ---- expiry heap ----------------------------------------------------------------------- */

static void heap_set(struct mem_store *s, size_t i, struct mem_rec *r)
{
    s->heap[i] = r;
    r->heap_idx = i;
}

static void heap_up(struct mem_store *s, size_t i)
{
    struct mem_rec *r = s->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (s->heap[parent]->expires_ms <= r->expires_ms)
            break;
        heap_set(s, i, s->heap[parent]);
        i = parent;
    }
    heap_set(s, i, r);
}

static void heap_down(struct mem_store *s, size_t i)
{
    struct mem_rec *r = s->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->heap_n)
            break;
        if (c + 1 < s->heap_n && s->heap[c + 1]->expires_ms < s->heap[c]->expires_ms)
            c++;
        if (r->expires_ms <= s->heap[c]->expires_ms)
            break;
        heap_set(s, i, s->heap[c]);
        i = c;
    }
    heap_set(s, i, r);
}

/* Restores heap order after r's expiry changed (either direction). */
static void heap_fix(struct mem_store *s, struct mem_rec *r)
{
    heap_up(s, r->heap_idx);
    heap_down(s, r->heap_idx);
}

static void heap_remove(struct mem_store *s, size_t i)
{
    struct mem_rec *last = s->heap[--s->heap_n];
    if (i == s->heap_n)
        return;
    heap_set(s, i, last);
    heap_up(s, i);
    heap_down(s, last->heap_idx);
}

/* ---- namespaces, records, peer counts --------------------------------------------------- */

static struct mem_ns *ns_find(const struct mem_store *s, uint64_t h, const void *name, size_t len)
{
    return htab_get(&s->spaces, h, name, len);
}

static void ns_free(struct mem_ns *ns)
{
    for (size_t i = 0; i < ns->n; i++) {
        free(ns->recs[i]->envelope);
        free(ns->recs[i]);
    }
    free(ns->recs);
    free(ns->by_peer.slots);
    free(ns->name);
    free(ns);
}

static struct mem_ns *ns_create(struct mem_store *s, uint64_t h, const char *name, size_t len)
{
    if (htab_reserve(&s->spaces, s->spaces.n + 1))
        return NULL;
    struct mem_ns *ns = calloc(1, sizeof(*ns));
    if (!ns)
        return NULL;
    ns->name = malloc(len);
    if (!ns->name) {
        free(ns);
        return NULL;
    }
    memcpy(ns->name, name, len);
    ns->len = len;
    ns->hash = h;
    ns->by_peer.key = rec_key;
    htab_insert(&s->spaces, h, ns);
    return ns;
}

/* Removes an empty namespace. */
static void ns_remove(struct mem_store *s, struct mem_ns *ns)
{
    htab_delete(&s->spaces, ns->hash, ns->name, ns->len);
    ns_free(ns);
}

static struct mem_peer *peer_find(const struct mem_store *s, uint64_t h, const struct rdv_peerid *id)
{
    return htab_get(&s->peers, h, id->bytes, id->len);
}

static void peer_release(struct mem_store *s, const struct mem_rec *r)
{
    size_t i = htab_find(&s->peers, r->peer_hash, r->peer.bytes, r->peer.len);
    if (i == SIZE_MAX)
        return;
    struct mem_peer *p = s->peers.slots[i].item;
    if (--p->count == 0) {
        htab_delete_at(&s->peers, i);
        free(p);
    }
}

/* Unlinks a record from everything and frees it; drops its namespace when it was the last. */
static void rec_remove(struct mem_store *s, struct mem_rec *r)
{
    struct mem_ns *ns = r->ns;
    heap_remove(s, r->heap_idx);
    struct mem_rec *last = ns->recs[--ns->n];
    ns->recs[r->ns_idx] = last;
    last->ns_idx = r->ns_idx;
    htab_delete(&ns->by_peer, r->peer_hash, r->peer.bytes, r->peer.len);
    peer_release(s, r);
    free(r->envelope);
    free(r);
    if (ns->n == 0)
        ns_remove(s, ns);
}

static uint64_t mem_purge(struct mem_store *s, int64_t now)
{
    uint64_t k = 0;
    while (s->heap_n > 0 && s->heap[0]->expires_ms <= now) {
        rec_remove(s, s->heap[0]);
        k++;
    }
    return k;
}

static int64_t mem_now(const struct mem_store *s)
{
    return s->clock.now_ms(s->clock.ctx);
}

/* ---- put ------------------------------------------------------------------------------- */

static bool put_valid(const struct rdv_store_put *p)
{
    return p->ns && p->ns_len > 0 && p->ns_len <= RDV_NS_MAX && p->peer && p->peer->len > 0 &&
           p->peer->len <= RDV_PEERID_MAX && p->envelope && p->envelope_len > 0 &&
           p->envelope_len <= RDV_ENVELOPE_MAX && p->ttl_s > 0;
}

static void rec_stamp(struct mem_rec *r, const struct rdv_store_put *p, int64_t now)
{
    r->seq = p->seq;
    r->registered_ms = now;
    r->expires_ms = now + (int64_t)p->ttl_s * 1000;
}

/* Same (ns, peer) again: equal or higher seq replaces the envelope and restarts the TTL. */
static enum rdv_store_status rec_refresh(struct mem_store *s, struct mem_rec *r,
                                         const struct rdv_store_put *p, int64_t now)
{
    if (p->seq < r->seq)
        return RDV_STORE_STALE;
    if (p->envelope_len != r->envelope_len) {
        uint8_t *env = malloc(p->envelope_len);
        if (!env)
            return RDV_STORE_ERROR;
        free(r->envelope);
        r->envelope = env;
        r->envelope_len = p->envelope_len;
    }
    memcpy(r->envelope, p->envelope, p->envelope_len);
    rec_stamp(r, p, now);
    heap_fix(s, r);
    return RDV_STORE_OK;
}

/* Reserves every slot a new record needs, so the linking step below cannot fail. */
static int rec_reserve(struct mem_store *s, struct mem_ns *ns, bool new_peer)
{
    if (rec_array_reserve(&ns->recs, &ns->cap, ns->n + 1) || htab_reserve(&ns->by_peer, ns->n + 1) ||
        rec_array_reserve(&s->heap, &s->heap_cap, s->heap_n + 1))
        return -1;
    return new_peer ? htab_reserve(&s->peers, s->peers.n + 1) : 0;
}

static enum rdv_store_status rec_insert(struct mem_store *s, struct mem_ns *ns, uint64_t nh,
                                        uint64_t ph, const struct rdv_store_put *p, int64_t now)
{
    struct mem_peer *pc = peer_find(s, ph, p->peer);
    if (p->max_per_peer && pc && pc->count >= p->max_per_peer)
        return RDV_STORE_LIMIT;
    bool new_ns = ns == NULL;
    if (new_ns && !(ns = ns_create(s, nh, p->ns, p->ns_len)))
        return RDV_STORE_ERROR;
    struct mem_rec *r = calloc(1, sizeof(*r));
    uint8_t *env = malloc(p->envelope_len);
    struct mem_peer *npc = pc ? NULL : calloc(1, sizeof(*npc));
    if (!r || !env || (!pc && !npc) || rec_reserve(s, ns, !pc)) {
        free(r);
        free(env);
        free(npc);
        if (new_ns)
            ns_remove(s, ns);
        return RDV_STORE_ERROR;
    }
    memcpy(env, p->envelope, p->envelope_len);
    r->ns = ns;
    r->peer = *p->peer;
    r->peer_hash = ph;
    r->envelope = env;
    r->envelope_len = p->envelope_len;
    rec_stamp(r, p, now);
    r->ns_idx = ns->n;
    ns->recs[ns->n++] = r;
    htab_insert(&ns->by_peer, ph, r);
    heap_set(s, s->heap_n++, r);
    heap_up(s, r->heap_idx);
    if (!pc) {
        npc->peer = *p->peer;
        htab_insert(&s->peers, ph, npc);
        pc = npc;
    }
    pc->count++;
    return RDV_STORE_OK;
}

static enum rdv_store_status put_apply(struct mem_store *s, const struct rdv_store_put *p, int64_t now)
{
    if (!put_valid(p))
        return RDV_STORE_ERROR;
    uint64_t nh = mem_hash(s, p->ns, p->ns_len);
    uint64_t ph = mem_hash(s, p->peer->bytes, p->peer->len);
    struct mem_ns *ns = ns_find(s, nh, p->ns, p->ns_len);
    struct mem_rec *r = ns ? htab_get(&ns->by_peer, ph, p->peer->bytes, p->peer->len) : NULL;
    if (r)
        return rec_refresh(s, r, p, now);
    return rec_insert(s, ns, nh, ph, p, now);
}

static void mem_put(struct rdv_store *base, const struct rdv_store_put *p, rdv_store_put_cb cb, void *arg)
{
    struct mem_store *s = (struct mem_store *)base;
    int64_t now = mem_now(s);
    mem_purge(s, now);
    cb(arg, put_apply(s, p, now));
}

/* ---- discover -------------------------------------------------------------------------- */

/* Partial Fisher-Yates in place: afterwards recs[0..k) is a uniform random k-subset. Order in
 * the namespace array carries no meaning, so shuffling it costs O(k) and no allocation. */
static void ns_sample_front(struct mem_ns *ns, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        size_t left = ns->n - i;
        /* randombytes_uniform takes 32 bits; no namespace holds 2^32 records. */
        size_t j = i + randombytes_uniform(left > UINT32_MAX ? UINT32_MAX : (uint32_t)left);
        struct mem_rec *a = ns->recs[i], *b = ns->recs[j];
        ns->recs[i] = b;
        b->ns_idx = i;
        ns->recs[j] = a;
        a->ns_idx = j;
    }
}

static void mem_discover(struct rdv_store *base, const char *name, size_t len, uint32_t limit,
                         rdv_store_discover_cb cb, void *arg)
{
    struct mem_store *s = (struct mem_store *)base;
    int64_t now = mem_now(s);
    mem_purge(s, now);
    if ((!name && len) || len > RDV_NS_MAX) {
        cb(arg, RDV_STORE_ERROR, NULL, 0);
        return;
    }
    struct mem_ns *ns = len ? ns_find(s, mem_hash(s, name, len), name, len) : NULL;
    if (!ns) {
        cb(arg, RDV_STORE_OK, NULL, 0);
        return;
    }
    size_t k = limit && limit < ns->n ? limit : ns->n;
    if (k < ns->n)
        ns_sample_front(ns, k);
    struct rdv_store_record *out = malloc(k * sizeof(*out));
    if (!out) {
        cb(arg, RDV_STORE_ERROR, NULL, 0);
        return;
    }
    for (size_t i = 0; i < k; i++) {
        const struct mem_rec *r = ns->recs[i];
        out[i] = (struct rdv_store_record){
            .peer = r->peer, .seq = r->seq, .envelope = r->envelope, .envelope_len = r->envelope_len,
            .ttl_left_ms = r->expires_ms - now, .registered_at_ms = r->registered_ms,
        };
    }
    cb(arg, RDV_STORE_OK, out, k);
    free(out);
}

/* ---- expire, stats, close -------------------------------------------------------------- */

static void mem_expire(struct rdv_store *base, rdv_store_count_cb cb, void *arg)
{
    struct mem_store *s = (struct mem_store *)base;
    uint64_t k = mem_purge(s, mem_now(s));
    cb(arg, RDV_STORE_OK, k);
}

static void mem_stats(struct rdv_store *base, rdv_store_stats_cb cb, void *arg)
{
    struct mem_store *s = (struct mem_store *)base;
    mem_purge(s, mem_now(s));
    struct rdv_store_stats st = { .registrations = s->heap_n, .namespaces = s->spaces.n };
    cb(arg, RDV_STORE_OK, &st);
}

static void mem_close(struct rdv_store *base)
{
    struct mem_store *s = (struct mem_store *)base;
    for (size_t i = 0; i < s->spaces.cap; i++)
        if (s->spaces.slots[i].item)
            ns_free(s->spaces.slots[i].item);
    for (size_t i = 0; i < s->peers.cap; i++)
        free(s->peers.slots[i].item);
    free(s->spaces.slots);
    free(s->peers.slots);
    free(s->heap);
    sodium_memzero(s->hkey, sizeof(s->hkey));
    free(s);
}

static const struct rdv_store_ops mem_ops = {
    .kind = "memory",
    .put = mem_put,
    .discover = mem_discover,
    .expire = mem_expire,
    .stats = mem_stats,
    .close = mem_close,
};

struct rdv_store *rdv_store_memory_new(const struct rdv_clock *clock)
{
    if (sodium_init() < 0)
        return NULL;
    struct mem_store *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->base.ops = &mem_ops;
    s->clock = clock && clock->now_ms ? *clock : rdv_clock_system;
    randombytes_buf(s->hkey, sizeof(s->hkey));
    s->spaces.key = ns_key;
    s->peers.key = peer_key;
    return &s->base;
}
