/* index.c: the in-memory registration index (see index.h).
 *
 * Three hash tables share one small open-addressing implementation (linear probing, load <= 1/2,
 * backward-shift deletion so no tombstones pile up): namespaces by name, each namespace's records
 * by peer id, and per-peer registration counts by peer id. Hashes are SipHash (libsodium's
 * crypto_shorthash) under a random key drawn per index, so a peer choosing namespace names or
 * keys cannot aim them all at one bucket.
 *
 * Every record also sits in one min-heap ordered by expiry and knows its heap index, so a refresh
 * moves it in O(log n). Each namespace keeps its records in a dense array too: O(1) removal by
 * swapping with the last, and O(k) random sampling by a partial Fisher-Yates shuffle in place.
 *
 * A namespace here is a (record kind, name) pair: its hash key is the kind byte followed by the
 * name, so kinds never mix and sampling one kind costs nothing extra. For ordered discovery
 * (cookies) every record also sits in two ordered logs by its counter (util/olog.h): its
 * namespace's and its kind's (all namespaces).
 *
 * Insertion never fails half-way: it reserves every array and table slot it will need before
 * linking anything, so an allocation failure leaves the index as it was. */
#include "store/index.h"

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/csprng.h"
#include "util/htab.h"
#include "util/olog.h"

/* ---- index objects --------------------------------------------------------------------- */

typedef struct rdv_htab htab;
typedef struct rdv_index_rec rec_t;
typedef struct rdv_index_ns ns_t;

typedef struct rdv_index_peer peer_t;

struct rdv_index {
    uint8_t hkey[crypto_shorthash_KEYBYTES];
    htab spaces;  /* ns_t by kind byte + name */
    htab peers;   /* peer_t by peer id */
    rec_t **heap; /* min-heap on expires_ms */
    size_t heap_n, heap_cap;
    size_t names; /* distinct names over all kinds */
    uint64_t bytes; /* the byte budget's count: RDV_STORE_REG_OVERHEAD + envelope length per record */
    uint64_t counter; /* the highest counter handed out or seen */
    uint64_t by_dialect[RDV_STORE_DIALECTS];
    struct rdv_olog by_kind[RDV_STORE_KINDS]; /* every record of a kind, by counter */
    struct rdv_csprng rng; /* DISCOVER sampling: seeded once, no system call per record */
};

static void ns_key(const void *item, const uint8_t **k, size_t *n)
{
    const ns_t *ns = item;
    *k = ns->key;
    *n = ns->len + 1;
}

/* The hash key of (kind, name): the kind byte then the name. */
static size_t ns_key_make(uint8_t kind, const void *name, size_t len, uint8_t *out)
{
    out[0] = kind;
    if (len)
        memcpy(out + 1, name, len);
    return len + 1;
}

static void rec_key(const void *item, const uint8_t **k, size_t *n)
{
    const rec_t *r = item;
    *k = r->peer->id.bytes;
    *n = r->peer->id.len;
}

static void peer_key(const void *item, const uint8_t **k, size_t *n)
{
    const peer_t *p = item;
    *k = p->id.bytes;
    *n = p->id.len;
}

static uint64_t ix_hash(const struct rdv_index *ix, const void *p, size_t n)
{
    uint8_t out[crypto_shorthash_BYTES];
    crypto_shorthash(out, p, n, ix->hkey);
    uint64_t h;
    memcpy(&h, out, sizeof(h));
    return h;
}

/* Grows a record-pointer array (a namespace's records, the heap) to hold `need` elements. */
static int rec_array_reserve(rec_t ***arr, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 4;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / sizeof(**arr))
            return -1;
        ncap *= 2;
    }
    rec_t **p = realloc(*arr, ncap * sizeof(**arr));
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

int rdv_index_bytes_cmp(const void *a, size_t an, const void *b, size_t bn)
{
    size_t m = an < bn ? an : bn;
    int c = m ? memcmp(a, b, m) : 0;
    if (c)
        return c;
    return (an > bn) - (an < bn);
}

/* ---- expiry heap ----------------------------------------------------------------------- */

static void heap_set(struct rdv_index *ix, size_t i, rec_t *r)
{
    ix->heap[i] = r;
    r->heap_idx = (uint32_t)i; /* < UINT32_MAX: insert refuses more records */
}

static void heap_up(struct rdv_index *ix, size_t i)
{
    rec_t *r = ix->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (ix->heap[parent]->expires_ms <= r->expires_ms)
            break;
        heap_set(ix, i, ix->heap[parent]);
        i = parent;
    }
    heap_set(ix, i, r);
}

static void heap_down(struct rdv_index *ix, size_t i)
{
    rec_t *r = ix->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= ix->heap_n)
            break;
        if (c + 1 < ix->heap_n && ix->heap[c + 1]->expires_ms < ix->heap[c]->expires_ms)
            c++;
        if (r->expires_ms <= ix->heap[c]->expires_ms)
            break;
        heap_set(ix, i, ix->heap[c]);
        i = c;
    }
    heap_set(ix, i, r);
}

static void heap_remove(struct rdv_index *ix, size_t i)
{
    rec_t *last = ix->heap[--ix->heap_n];
    if (i == ix->heap_n)
        return;
    heap_set(ix, i, last);
    heap_up(ix, i);
    heap_down(ix, last->heap_idx);
}

/* ---- namespaces and peer counts -------------------------------------------------------- */

static ns_t *ns_find(const struct rdv_index *ix, uint64_t h, const void *key, size_t key_len)
{
    return rdv_htab_get(&ix->spaces, h, key, key_len);
}

/* The namespace (kind, name), or NULL. */
static ns_t *ns_lookup(const struct rdv_index *ix, uint8_t kind, const void *name, size_t len)
{
    uint8_t key[RDV_NS_MAX + 1];
    if (kind >= RDV_STORE_KINDS || len == 0 || len > RDV_NS_MAX || !name)
        return NULL;
    size_t kl = ns_key_make(kind, name, len, key);
    return ns_find(ix, ix_hash(ix, key, kl), key, kl);
}

/* Whether another kind holds a namespace of this name (for the distinct-name count). */
static bool name_held_elsewhere(const struct rdv_index *ix, const ns_t *ns)
{
    for (uint8_t k = 0; k < RDV_STORE_KINDS; k++)
        if (k != ns->kind && ns_lookup(ix, k, ns->name, ns->len))
            return true;
    return false;
}

/* Whether any kind holds the name (the namespace budget counts names, as stats do). */
static bool name_known(const struct rdv_index *ix, const void *name, size_t len)
{
    for (uint8_t k = 0; k < RDV_STORE_KINDS; k++)
        if (ns_lookup(ix, k, name, len))
            return true;
    return false;
}

static void rec_free(rec_t *r)
{
    free(r->data);
    free(r);
}

static void ns_free(ns_t *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        rec_free(ns->recs[i]);
    free(ns->recs);
    free(ns->by_peer.slots);
    rdv_olog_free(&ns->log);
    free(ns->key);
    free(ns);
}

static ns_t *ns_create(struct rdv_index *ix, uint64_t h, uint8_t kind, const void *name, size_t len)
{
    if (rdv_htab_reserve(&ix->spaces, ix->spaces.n + 1))
        return NULL;
    ns_t *ns = calloc(1, sizeof(*ns));
    if (!ns)
        return NULL;
    ns->key = malloc(len + 1);
    if (!ns->key) {
        free(ns);
        return NULL;
    }
    ns_key_make(kind, name, len, ns->key);
    ns->name = ns->key + 1;
    ns->len = len;
    ns->kind = kind;
    ns->hash = h;
    ns->by_peer.key = rec_key;
    rdv_olog_init(&ns->log, offsetof(rec_t, ns_log_pos));
    rdv_htab_insert(&ix->spaces, h, ns);
    if (!name_held_elsewhere(ix, ns))
        ix->names++;
    return ns;
}

/* Removes an empty namespace. */
static void ns_remove(struct rdv_index *ix, ns_t *ns)
{
    rdv_htab_delete(&ix->spaces, ns->hash, ns->key, ns->len + 1);
    if (!name_held_elsewhere(ix, ns))
        ix->names--;
    ns_free(ns);
}

static peer_t *peer_find(const struct rdv_index *ix, uint64_t h, const struct rdv_peerid *id)
{
    return rdv_htab_get(&ix->peers, h, id->bytes, id->len);
}

static void peer_release(struct rdv_index *ix, rec_t *r)
{
    size_t i = rdv_htab_find(&ix->peers, r->peer->hash, r->peer->id.bytes, r->peer->id.len);
    if (i == SIZE_MAX)
        return;
    peer_t *p = ix->peers.slots[i].item;
    rdv_list_remove(&r->peer_link);
    if (--p->count == 0) {
        rdv_htab_delete_at(&ix->peers, i);
        free(p);
    }
}

/* ---- records --------------------------------------------------------------------------- */

struct rdv_index *rdv_index_new(void)
{
    if (sodium_init() < 0)
        return NULL;
    struct rdv_index *ix = calloc(1, sizeof(*ix));
    if (!ix)
        return NULL;
    randombytes_buf(ix->hkey, sizeof(ix->hkey));
    rdv_csprng_init(&ix->rng);
    ix->spaces.key = ns_key;
    ix->peers.key = peer_key;
    for (int k = 0; k < RDV_STORE_KINDS; k++)
        rdv_olog_init(&ix->by_kind[k], offsetof(rec_t, kind_log_pos));
    return ix;
}

void rdv_index_seed_sampling(struct rdv_index *ix, const uint8_t *seed)
{
    rdv_csprng_init_seed(&ix->rng, seed);
}

void rdv_index_free(struct rdv_index *ix)
{
    if (!ix)
        return;
    for (size_t i = 0; i < ix->spaces.cap; i++)
        if (ix->spaces.slots[i].item)
            ns_free(ix->spaces.slots[i].item);
    for (size_t i = 0; i < ix->peers.cap; i++)
        free(ix->peers.slots[i].item);
    free(ix->spaces.slots);
    free(ix->peers.slots);
    free(ix->heap);
    for (int k = 0; k < RDV_STORE_KINDS; k++)
        rdv_olog_free(&ix->by_kind[k]);
    sodium_memzero(ix->hkey, sizeof(ix->hkey));
    rdv_csprng_clear(&ix->rng);
    free(ix);
}

rec_t *rdv_index_find(struct rdv_index *ix, uint8_t kind, const void *ns, size_t ns_len,
                      const struct rdv_peerid *peer)
{
    ns_t *n = ns_lookup(ix, kind, ns, ns_len);
    return n ? rdv_htab_get(&n->by_peer, ix_hash(ix, peer->bytes, peer->len), peer->bytes, peer->len) : NULL;
}

uint64_t rdv_index_next_counter(struct rdv_index *ix)
{
    return ++ix->counter;
}

uint64_t rdv_index_counter(const struct rdv_index *ix)
{
    return ix->counter;
}

void rdv_index_raise_counter(struct rdv_index *ix, uint64_t c)
{
    if (c > ix->counter)
        ix->counter = c;
}

enum rdv_store_status rdv_index_admit(struct rdv_index *ix, const struct rdv_store_put *p, rec_t **existing)
{
    *existing = rdv_index_find(ix, p->kind, p->ns, p->ns_len, p->peer);
    struct rdv_store_usage used = rdv_index_usage(ix);
    if (*existing)
        return p->seq < (*existing)->seq ? RDV_STORE_STALE
                                         : rdv_store_budget_admit(&p->budget, &used, p, 1, (*existing)->env_len, 0);
    if (p->max_per_peer) {
        const peer_t *pc = peer_find(ix, ix_hash(ix, p->peer->bytes, p->peer->len), p->peer);
        if (pc && pc->count >= p->max_per_peer)
            return RDV_STORE_LIMIT;
    }
    return rdv_store_budget_admit(&p->budget, &used, p, 0, 0, !name_known(ix, p->ns, p->ns_len));
}

struct rdv_store_usage rdv_index_usage(const struct rdv_index *ix)
{
    return (struct rdv_store_usage){.registrations = ix->heap_n, .namespaces = ix->names, .bytes = ix->bytes};
}

/* The byte count follows every record's envelope length (clamped: a caller's bug must not wrap it). */
static void bytes_set(struct rdv_index *ix, rec_t *r, uint32_t envelope_len)
{
    ix->bytes -= rdv_store_reg_cost(r->env_len);
    r->env_len = (uint16_t)(envelope_len < RDV_STORE_ENVELOPE_MAX ? envelope_len : RDV_STORE_ENVELOPE_MAX);
    ix->bytes += rdv_store_reg_cost(r->env_len);
}

/* Reserves every slot a new record needs, so the linking step cannot fail. */
static int rec_reserve(struct rdv_index *ix, ns_t *ns, bool new_peer)
{
    if (rec_array_reserve(&ns->recs, &ns->cap, ns->n + 1) || rdv_htab_reserve(&ns->by_peer, ns->n + 1) ||
        rec_array_reserve(&ix->heap, &ix->heap_cap, ix->heap_n + 1) || rdv_olog_reserve(&ns->log) ||
        rdv_olog_reserve(&ix->by_kind[ns->kind]))
        return -1;
    return new_peer ? rdv_htab_reserve(&ix->peers, ix->peers.n + 1) : 0;
}

/* Appends r to its two ordered logs under its counter (room reserved), keeping the index's counter
 * the highest one seen (LevelDB reloads records with the counters they had). */
static void rec_log(struct rdv_index *ix, rec_t *r)
{
    rdv_olog_append(&r->ns->log, r->counter, r);
    rdv_olog_append(&ix->by_kind[r->ns->kind], r->counter, r);
    if (r->counter > ix->counter)
        ix->counter = r->counter;
}

static void rec_unlog(struct rdv_index *ix, rec_t *r)
{
    rdv_olog_remove(&r->ns->log, r);
    rdv_olog_remove(&ix->by_kind[r->ns->kind], r);
}

static void dialect_count(struct rdv_index *ix, rec_t *r, int delta)
{
    ix->by_dialect[r->dialect] += (uint64_t)(int64_t)delta;
    r->ns->by_dialect[r->dialect] += (uint64_t)(int64_t)delta;
}

static void rec_link(struct rdv_index *ix, ns_t *ns, rec_t *r, peer_t *pc, peer_t *npc)
{
    r->ns = ns;
    r->ns_idx = (uint32_t)ns->n;
    ns->recs[ns->n++] = r;
    rec_log(ix, r);
    dialect_count(ix, r, +1);
    if (!pc) {
        rdv_list_init(&npc->recs);
        rdv_htab_insert(&ix->peers, npc->hash, npc);
        pc = npc;
    }
    pc->count++;
    rdv_list_push_back(&pc->recs, &r->peer_link);
    r->peer = pc;
    rdv_htab_insert(&ns->by_peer, pc->hash, r);
    heap_set(ix, ix->heap_n++, r);
    heap_up(ix, r->heap_idx);
}

int rdv_index_insert(struct rdv_index *ix, const struct rdv_index_key *key, const struct rdv_index_meta *m,
                     rec_t **out)
{
    uint8_t nkey[RDV_NS_MAX + 1];
    if (key->kind >= RDV_STORE_KINDS || m->dialect >= RDV_STORE_DIALECTS || key->ns_len == 0 ||
        key->ns_len > RDV_NS_MAX || !key->ns)
        return RDV_ERR_INVALID;
    const struct rdv_peerid *peer = key->peer;
    size_t kl = ns_key_make(key->kind, key->ns, key->ns_len, nkey);
    uint64_t nh = ix_hash(ix, nkey, kl), ph = ix_hash(ix, peer->bytes, peer->len);
    ns_t *ns = ns_find(ix, nh, nkey, kl);
    bool new_ns = ns == NULL;
    if (new_ns && !(ns = ns_create(ix, nh, key->kind, key->ns, key->ns_len)))
        return RDV_ERR_NOMEM;
    peer_t *pc = peer_find(ix, ph, peer);
    rec_t *r = calloc(1, sizeof(*r));
    peer_t *npc = pc ? NULL : calloc(1, sizeof(*npc));
    if (!r || (!pc && !npc) || ix->heap_n >= UINT32_MAX || rec_reserve(ix, ns, !pc)) {
        free(r);
        free(npc);
        if (new_ns)
            ns_remove(ix, ns);
        return RDV_ERR_NOMEM;
    }
    if (npc) {
        npc->id = *peer;
        npc->hash = ph;
    }
    r->seq = m->seq;
    r->counter = m->counter;
    r->dialect = m->dialect;
    r->registered_ms = m->registered_ms;
    r->expires_ms = m->expires_ms;
    ix->bytes += rdv_store_reg_cost(0); /* bytes_set moves it to the real length */
    bytes_set(ix, r, m->envelope_len);
    rec_link(ix, ns, r, pc, npc);
    if (out)
        *out = r;
    return RDV_OK;
}

int rdv_index_update(struct rdv_index *ix, rec_t *r, const struct rdv_index_meta *m)
{
    if (m->dialect >= RDV_STORE_DIALECTS)
        return RDV_ERR_INVALID;
    if (m->counter != r->counter) {
        /* Moving to the end of both logs. The removal leaves a hole (or frees the last slot), so the
         * reserve finds room by compacting at worst and never allocates: this cannot fail. */
        rec_unlog(ix, r);
        (void)rdv_olog_reserve(&r->ns->log);
        (void)rdv_olog_reserve(&ix->by_kind[r->ns->kind]);
        r->counter = m->counter;
        rec_log(ix, r);
    }
    dialect_count(ix, r, -1);
    r->dialect = m->dialect;
    dialect_count(ix, r, +1);
    r->seq = m->seq;
    r->registered_ms = m->registered_ms;
    r->expires_ms = m->expires_ms;
    bytes_set(ix, r, m->envelope_len);
    heap_up(ix, r->heap_idx);
    heap_down(ix, r->heap_idx);
    return RDV_OK;
}

void rdv_index_remove(struct rdv_index *ix, rec_t *r)
{
    ns_t *ns = r->ns;
    heap_remove(ix, r->heap_idx);
    rec_unlog(ix, r);
    dialect_count(ix, r, -1);
    rec_t *last = ns->recs[--ns->n];
    ns->recs[r->ns_idx] = last;
    last->ns_idx = r->ns_idx;
    rdv_htab_delete(&ns->by_peer, r->peer->hash, r->peer->id.bytes, r->peer->id.len);
    peer_release(ix, r); /* last: it may free r->peer */
    ix->bytes -= rdv_store_reg_cost(r->env_len);
    rec_free(r);
    if (ns->n == 0)
        ns_remove(ix, ns);
}

rec_t *rdv_index_soonest(const struct rdv_index *ix)
{
    return ix->heap_n ? ix->heap[0] : NULL;
}

size_t rdv_index_records(const struct rdv_index *ix) { return ix->heap_n; }
size_t rdv_index_namespaces(const struct rdv_index *ix) { return ix->names; }

/* ---- sampling -------------------------------------------------------------------------- */

/* Partial Fisher-Yates in place: afterwards recs[0..k) is a uniform random k-subset. Order in
 * the namespace array carries no meaning, so shuffling it costs O(k) and no allocation. */
static void ns_sample_front(struct rdv_csprng *rng, ns_t *ns, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        size_t left = ns->n - i;
        /* draws are 32 bits; no namespace holds 2^32 records. */
        size_t j = i + rdv_csprng_uniform(rng, left > UINT32_MAX ? UINT32_MAX : (uint32_t)left);
        rec_t *a = ns->recs[i], *b = ns->recs[j];
        ns->recs[i] = b;
        b->ns_idx = (uint32_t)i;
        ns->recs[j] = a;
        a->ns_idx = (uint32_t)j;
    }
}

void rdv_index_sample(struct rdv_index *ix, uint8_t kind, const void *name, size_t len, uint32_t limit,
                      rec_t *const **recs, size_t *k)
{
    ns_t *ns = ns_lookup(ix, kind, name, len);
    *recs = NULL;
    *k = 0;
    if (!ns)
        return;
    *k = limit && limit < ns->n ? limit : ns->n;
    if (*k < ns->n)
        ns_sample_front(&ix->rng, ns, *k);
    *recs = ns->recs;
}

/* ---- browsing: the `limit` smallest items after a cursor --------------------------------
 * A bounded max-heap keeps the limit+1 smallest candidates seen so far (the extra one answers
 * `more`), so a page costs O(m log limit) over m candidates and no full sort. */

typedef int (*item_cmp_fn)(const void *a, const void *b);

struct topk {
    const void **h;
    size_t n, cap;
    item_cmp_fn cmp;
};

static void topk_sift_down(struct topk *t, size_t i)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= t->n)
            return;
        if (c + 1 < t->n && t->cmp(t->h[c + 1], t->h[c]) > 0)
            c++;
        if (t->cmp(t->h[i], t->h[c]) >= 0)
            return;
        const void *tmp = t->h[i];
        t->h[i] = t->h[c];
        t->h[c] = tmp;
        i = c;
    }
}

static void topk_offer(struct topk *t, const void *item)
{
    if (t->n < t->cap) {
        size_t i = t->n++;
        t->h[i] = item;
        while (i > 0 && t->cmp(t->h[(i - 1) / 2], t->h[i]) < 0) {
            const void *tmp = t->h[i];
            t->h[i] = t->h[(i - 1) / 2];
            t->h[(i - 1) / 2] = tmp;
            i = (i - 1) / 2;
        }
    } else if (t->cmp(item, t->h[0]) < 0) {
        t->h[0] = item;
        topk_sift_down(t, 0);
    }
}

static int ns_cmp(const void *a, const void *b)
{
    const ns_t *x = a, *y = b;
    int c = rdv_index_bytes_cmp(x->name, x->len, y->name, y->len);
    return c ? c : (int)x->kind - (int)y->kind;
}

static int rec_cmp(const void *a, const void *b)
{
    const rec_t *x = a, *y = b;
    return rdv_index_bytes_cmp(x->peer->id.bytes, x->peer->id.len, y->peer->id.bytes, y->peer->id.len);
}

static int qsort_adapter_ns(const void *a, const void *b)
{
    return ns_cmp(*(const void *const *)a, *(const void *const *)b);
}

static int qsort_adapter_rec(const void *a, const void *b)
{
    return rec_cmp(*(const void *const *)a, *(const void *const *)b);
}

/* Sets up a top-k of min(limit, m) + 1 slots for m candidates. */
static int topk_init(struct topk *t, uint32_t limit, size_t m, item_cmp_fn cmp)
{
    t->cap = (limit < m ? limit : m) + 1;
    t->n = 0;
    t->cmp = cmp;
    t->h = malloc(t->cap * sizeof(*t->h));
    return t->h ? 0 : RDV_ERR_NOMEM;
}

/* Sorts the kept items, reports whether one beyond limit was seen, and drops it. */
static size_t topk_finish(struct topk *t, uint32_t limit, int (*qcmp)(const void *, const void *), int *more)
{
    qsort(t->h, t->n, sizeof(*t->h), qcmp);
    *more = t->n > limit;
    return t->n > limit ? limit : t->n;
}

static void ns_expiry_range(const ns_t *ns, int64_t *lo, int64_t *hi)
{
    *lo = INT64_MAX;
    *hi = INT64_MIN;
    for (size_t i = 0; i < ns->n; i++) {
        int64_t e = ns->recs[i]->expires_ms;
        *lo = e < *lo ? e : *lo;
        *hi = e > *hi ? e : *hi;
    }
}

/* A namespace cursor: a name, then optionally 0x00 and a kind (see store.h). */
struct ns_cursor {
    const uint8_t *name;
    size_t len;
    int kind; /* -1: after every kind of name */
};

static struct ns_cursor ns_cursor_parse(const void *cursor, size_t clen)
{
    const uint8_t *c = cursor;
    struct ns_cursor nc = {c, clen, -1};
    if (clen >= 2 && c[clen - 2] == 0) {
        nc.len = clen - 2;
        nc.kind = c[clen - 1];
    }
    return nc;
}

static bool ns_selected(const ns_t *ns, const void *prefix, size_t plen, const struct ns_cursor *c)
{
    if (plen && (ns->len < plen || memcmp(ns->name, prefix, plen) != 0))
        return false;
    if (!c->len && c->kind < 0)
        return true;
    int cmp = rdv_index_bytes_cmp(ns->name, ns->len, c->name, c->len);
    return cmp > 0 || (cmp == 0 && c->kind >= 0 && ns->kind > c->kind);
}

int rdv_index_list_namespaces(struct rdv_index *ix, const void *prefix, size_t prefix_len,
                              const void *cursor, size_t cursor_len, uint32_t limit,
                              struct rdv_store_ns_info **items, size_t *n, int *more)
{
    *items = NULL;
    *n = 0;
    *more = 0;
    struct topk t;
    struct ns_cursor c = ns_cursor_parse(cursor, cursor ? cursor_len : 0);
    if (topk_init(&t, limit, ix->spaces.n, ns_cmp))
        return RDV_ERR_NOMEM;
    for (size_t i = 0; i < ix->spaces.cap; i++) {
        const ns_t *ns = ix->spaces.slots[i].item;
        if (ns && ns_selected(ns, prefix, prefix ? prefix_len : 0, &c))
            topk_offer(&t, ns);
    }
    size_t k = topk_finish(&t, limit, qsort_adapter_ns, more);
    struct rdv_store_ns_info *out = k ? malloc(k * sizeof(*out)) : NULL;
    if (k && !out) {
        free(t.h);
        *more = 0;
        return RDV_ERR_NOMEM;
    }
    for (size_t i = 0; i < k; i++) {
        const ns_t *ns = t.h[i];
        out[i] = (struct rdv_store_ns_info){ .ns = (const char *)ns->name, .ns_len = ns->len, .kind = ns->kind,
                                             .count = ns->n };
        memcpy(out[i].by_dialect, ns->by_dialect, sizeof(out[i].by_dialect));
        ns_expiry_range(ns, &out[i].soonest_expiry_ms, &out[i].latest_expiry_ms);
    }
    free(t.h);
    *items = out;
    *n = k;
    return RDV_OK;
}

int rdv_index_list_registrations(struct rdv_index *ix, uint8_t kind, const void *name, size_t len,
                                 const struct rdv_peerid *cursor, uint32_t limit,
                                 rec_t ***recs, size_t *n, int *more)
{
    *recs = NULL;
    *n = 0;
    *more = 0;
    if ((!name && len) || len > RDV_NS_MAX || kind >= RDV_STORE_KINDS)
        return RDV_ERR_INVALID;
    ns_t *ns = ns_lookup(ix, kind, name, len);
    if (!ns)
        return RDV_OK;
    struct topk t;
    if (topk_init(&t, limit, ns->n, rec_cmp))
        return RDV_ERR_NOMEM;
    for (size_t i = 0; i < ns->n; i++) {
        const rec_t *r = ns->recs[i];
        if (!cursor || rdv_index_bytes_cmp(r->peer->id.bytes, r->peer->id.len, cursor->bytes, cursor->len) > 0)
            topk_offer(&t, r);
    }
    size_t k = topk_finish(&t, limit, qsort_adapter_rec, more);
    rec_t **out = k ? malloc(k * sizeof(*out)) : NULL;
    if (k && !out) {
        free(t.h);
        *more = 0;
        return RDV_ERR_NOMEM;
    }
    for (size_t i = 0; i < k; i++)
        out[i] = (rec_t *)t.h[i]; /* the index's own records, kept const only while ranked */
    free(t.h);
    *recs = out;
    *n = k;
    return RDV_OK;
}

void rdv_index_answer_namespaces(struct rdv_index *ix, const char *prefix, size_t prefix_len, const char *cursor,
                                 size_t cursor_len, uint32_t limit, rdv_store_ns_list_cb cb, void *arg)
{
    struct rdv_store_ns_info *items;
    size_t n;
    int more;
    if ((!prefix && prefix_len) || (!cursor && cursor_len) ||
        rdv_index_list_namespaces(ix, prefix, prefix_len, cursor, cursor_len, limit, &items, &n, &more)) {
        cb(arg, RDV_STORE_ERROR, NULL, 0, 0);
        return;
    }
    cb(arg, RDV_STORE_OK, items, n, more);
    free(items);
}

void rdv_index_answer_stats(struct rdv_index *ix, rdv_store_stats_cb cb, void *arg)
{
    struct rdv_store_stats st = {.registrations = rdv_index_records(ix), .namespaces = rdv_index_namespaces(ix),
                                 .bytes = ix->bytes, .budgeted = 1, .reaper = 1};
    memcpy(st.by_dialect, ix->by_dialect, sizeof(st.by_dialect));
    cb(arg, RDV_STORE_OK, &st);
}

/* ---- ordered pages (cookies) ----------------------------------------------------------- */

int rdv_index_page(struct rdv_index *ix, const struct rdv_store_query *q, rec_t ***recs, size_t *n)
{
    *recs = NULL;
    *n = 0;
    if (!rdv_store_query_valid(q))
        return RDV_ERR_INVALID;
    const struct rdv_olog *log;
    if (q->ns_len) {
        ns_t *ns = ns_lookup(ix, q->kind, q->ns, q->ns_len);
        if (!ns)
            return RDV_OK;
        log = &ns->log;
    } else {
        log = &ix->by_kind[q->kind];
    }
    size_t cap = q->limit && q->limit < log->live ? q->limit : log->live;
    if (cap == 0)
        return RDV_OK;
    rec_t **out = malloc(cap * sizeof(*out));
    if (!out)
        return RDV_ERR_NOMEM;
    size_t pos = rdv_olog_seek(log, q->after), k = 0;
    rec_t *r;
    while (k < cap && (r = rdv_olog_next(log, &pos)))
        out[k++] = r;
    *recs = out;
    *n = k;
    return RDV_OK;
}

int rdv_index_query(struct rdv_index *ix, const struct rdv_store_query *q, rec_t ***recs, size_t *n)
{
    *recs = NULL;
    *n = 0;
    if (!rdv_store_query_valid(q))
        return RDV_ERR_INVALID;
    if (q->ordered)
        return rdv_index_page(ix, q, recs, n);
    rec_t *const *sample;
    size_t k;
    rdv_index_sample(ix, q->kind, q->ns, q->ns_len, q->limit, &sample, &k);
    if (k == 0)
        return RDV_OK;
    rec_t **out = malloc(k * sizeof(*out));
    if (!out)
        return RDV_ERR_NOMEM;
    memcpy(out, sample, k * sizeof(*out));
    *recs = out;
    *n = k;
    return RDV_OK;
}

static int peer_rec_cmp(const void *a, const void *b)
{
    const rec_t *x = *(rec_t *const *)a, *y = *(rec_t *const *)b;
    int c = rdv_index_bytes_cmp(x->ns->name, x->ns->len, y->ns->name, y->ns->len);
    return c ? c : (int)x->ns->kind - (int)y->ns->kind;
}

int rdv_index_list_peer(struct rdv_index *ix, const struct rdv_peerid *peer, uint32_t limit, rec_t ***recs,
                        size_t *n, int *more)
{
    *recs = NULL;
    *n = 0;
    *more = 0;
    peer_t *pc = peer_find(ix, ix_hash(ix, peer->bytes, peer->len), peer);
    if (!pc)
        return RDV_OK;
    if (!(*recs = malloc(pc->count * sizeof(**recs))))
        return RDV_ERR_NOMEM;
    for (struct rdv_list_node *i = rdv_list_first(&pc->recs); i; i = rdv_list_next(&pc->recs, i))
        (*recs)[(*n)++] = rdv_list_entry(i, rec_t, peer_link);
    qsort(*recs, *n, sizeof(**recs), peer_rec_cmp);
    if (limit && *n > limit) {
        *n = limit;
        *more = 1;
    }
    return RDV_OK;
}

/* ---- answers of the stores that keep each envelope as its record's data (memory, kv) ---- */

struct rdv_store_record rdv_index_record(const rec_t *r, int64_t now)
{
    return (struct rdv_store_record){
        .ns = (const char *)r->ns->name, .ns_len = r->ns->len, .kind = r->ns->kind, .dialect = r->dialect,
        .counter = r->counter, .peer = r->peer->id, .seq = r->seq, .envelope = r->data, .envelope_len = r->data_len,
        .ttl_left_ms = r->expires_ms - now, .registered_at_ms = r->registered_ms,
    };
}

/* recs[0..n) as store records (malloc'd; NULL when n is 0 or out of memory: *ok says which). */
static struct rdv_store_record *records_of(rec_t *const *recs, size_t n, int64_t now, bool *ok)
{
    struct rdv_store_record *out = n ? malloc(n * sizeof(*out)) : NULL;
    *ok = !n || out;
    for (size_t i = 0; out && i < n; i++)
        out[i] = rdv_index_record(recs[i], now);
    return out;
}

void rdv_index_answer_discover(int rc, rec_t **recs, size_t n, int64_t now, rdv_store_discover_cb cb, void *arg)
{
    bool ok = false;
    struct rdv_store_record *out = rc ? NULL : records_of(recs, n, now, &ok);
    free(recs);
    if (rc || !ok)
        cb(arg, RDV_STORE_ERROR, NULL, 0);
    else
        cb(arg, RDV_STORE_OK, out, n);
    free(out);
}

void rdv_index_answer_list(int rc, rec_t **recs, size_t n, int more, int64_t now, rdv_store_reg_list_cb cb,
                           void *arg)
{
    bool ok = false;
    struct rdv_store_record *out = rc ? NULL : records_of(recs, n, now, &ok);
    free(recs);
    if (rc || !ok)
        cb(arg, RDV_STORE_ERROR, NULL, 0, 0);
    else
        cb(arg, RDV_STORE_OK, out, n, more);
    free(out);
}
