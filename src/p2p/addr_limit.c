/* addr_limit.c: see addr_limit.h. */
#include "p2p/addr_limit.h"

#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SWEEP_STEP 4      /* slots the incremental sweep looks at per admission */
#define BURST_SECONDS 2.0 /* a bucket holds this many seconds of its rate */

void rdv_addr_limits_defaults(struct rdv_addr_limits *l)
{
    l->prefix4 = 32;
    l->prefix6 = 64;
    /* generous for one NAT of many honest peers (a campus, a carrier-grade NAT): each peer needs
     * one connection and reconnects rarely; one source still cannot take a large share */
    l->max_connections = 256;
    l->handshake_rate = 100;
    l->request_rate = 256;
    l->max_entries = 65536;
}

static void entry_key(const void *item, const uint8_t **k, size_t *n)
{
    *k = ((const struct rdv_addr_entry *)item)->key;
    *n = sizeof(((const struct rdv_addr_entry *)item)->key);
}

void rdv_addr_table_init(struct rdv_addr_table *t, const struct rdv_addr_limits *l)
{
    memset(t, 0, sizeof(*t));
    t->limits = *l;
    rdv_htab_init(&t->tab, entry_key);
    if (sodium_init() >= 0)
        randombytes_buf(t->hkey, sizeof(t->hkey));
    t->full_swept = -1e9;
}

void rdv_addr_table_free(struct rdv_addr_table *t)
{
    for (size_t i = 0; i < t->tab.cap; i++)
        free(rdv_htab_at(&t->tab, i));
    rdv_htab_free(&t->tab);
}

void rdv_addr_table_set_limits(struct rdv_addr_table *t, const struct rdv_addr_limits *l) { t->limits = *l; }

/* Copies the first `bits` bits of src into dst and zeroes the rest of dst's n bytes. */
static void copy_prefix(uint8_t *dst, const uint8_t *src, size_t n, unsigned bits)
{
    memset(dst, 0, n);
    size_t whole = bits / 8 < n ? bits / 8 : n;
    memcpy(dst, src, whole);
    if (whole < n && bits % 8)
        dst[whole] = (uint8_t)(src[whole] & (0xff << (8 - bits % 8)));
}

bool rdv_addr_key(const struct rdv_addr_table *t, const struct sockaddr_storage *ss, uint8_t key[17])
{
    memset(key, 0, 17);
    const uint8_t *a4 = NULL;
    if (ss->ss_family == AF_INET) {
        a4 = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
    } else if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            a4 = a6->s6_addr + 12;
        } else {
            key[0] = 6;
            copy_prefix(key + 1, a6->s6_addr, 16, t->limits.prefix6);
            return true;
        }
    } else {
        return false;
    }
    key[0] = 4;
    copy_prefix(key + 1, a4, 4, t->limits.prefix4);
    return true;
}

static uint64_t key_hash(const struct rdv_addr_table *t, const uint8_t key[17])
{
    uint8_t out[crypto_shorthash_BYTES];
    crypto_shorthash(out, key, 17, t->hkey);
    uint64_t h;
    memcpy(&h, out, sizeof(h));
    return h;
}

/* Refills b to `now` at rate r (burst BURST_SECONDS * r). */
static void bucket_refill(struct rdv_addr_bucket *b, double rate, double now)
{
    double burst = rate * BURST_SECONDS;
    if (now > b->at)
        b->tokens += (now - b->at) * rate;
    if (b->tokens > burst)
        b->tokens = burst;
    b->at = now;
}

static bool bucket_take(struct rdv_addr_bucket *b, double rate, double now)
{
    bucket_refill(b, rate, now);
    if (b->tokens < 1)
        return false;
    b->tokens -= 1;
    return true;
}

static bool bucket_full(const struct rdv_addr_bucket *b, double rate, double now)
{
    return b->tokens + (now - b->at) * rate >= rate * BURST_SECONDS;
}

static bool entry_spent(const struct rdv_addr_table *t, const struct rdv_addr_entry *e, double now)
{
    return e->conns == 0 && bucket_full(&e->handshakes, t->limits.handshake_rate, now) &&
           bucket_full(&e->requests, t->limits.request_rate, now);
}

/* Looks at up to `slots` slots from the cursor and frees the spent entries there. Deleting shifts
 * a later item back into the slot, so the same slot is looked at again. */
static void sweep_some(struct rdv_addr_table *t, double now, size_t slots)
{
    for (size_t seen = 0; seen < slots && t->tab.cap; seen++) {
        size_t i = t->cursor & (t->tab.cap - 1);
        struct rdv_addr_entry *e = rdv_htab_at(&t->tab, i);
        if (e && entry_spent(t, e, now)) {
            rdv_htab_delete_at(&t->tab, i);
            free(e);
            if (t->tab.cap == 0)
                break;
            continue;
        }
        t->cursor = i + 1;
    }
}

/* A whole pass; a shrinking table is rehashed, so the pass starts again (at most log n times). */
void rdv_addr_sweep(struct rdv_addr_table *t, double now)
{
    for (size_t i = 0; i < t->tab.cap;) {
        struct rdv_addr_entry *e = rdv_htab_at(&t->tab, i);
        if (!e || !entry_spent(t, e, now)) {
            i++;
            continue;
        }
        size_t cap = t->tab.cap;
        rdv_htab_delete_at(&t->tab, i); /* a later item may move into slot i: look again */
        free(e);
        if (t->tab.cap != cap)
            i = 0;
    }
    t->cursor = 0;
}

static struct rdv_addr_entry *entry_new(struct rdv_addr_table *t, const uint8_t key[17], uint64_t h, double now)
{
    if (t->tab.n >= t->limits.max_entries && now - t->full_swept >= 1.0) {
        t->full_swept = now; /* a full table sweeps at most once a second: no O(n) per accept */
        rdv_addr_sweep(t, now);
    }
    if (t->tab.n >= t->limits.max_entries || rdv_htab_reserve(&t->tab, t->tab.n + 1) != 0)
        return NULL;
    struct rdv_addr_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    memcpy(e->key, key, sizeof(e->key));
    e->handshakes = (struct rdv_addr_bucket){t->limits.handshake_rate * BURST_SECONDS, now};
    e->requests = (struct rdv_addr_bucket){t->limits.request_rate * BURST_SECONDS, now};
    rdv_htab_insert(&t->tab, h, e);
    return e;
}

struct rdv_addr_entry *rdv_addr_admit(struct rdv_addr_table *t, const struct sockaddr_storage *ss, double now,
                                      enum rdv_addr_verdict *why)
{
    uint8_t key[17];
    *why = RDV_ADDR_OK;
    if (!rdv_addr_key(t, ss, key)) {
        *why = RDV_ADDR_TABLE_FULL;
        return NULL;
    }
    sweep_some(t, now, SWEEP_STEP);
    uint64_t h = key_hash(t, key);
    struct rdv_addr_entry *e = rdv_htab_get(&t->tab, h, key, sizeof(key));
    if (!e && !(e = entry_new(t, key, h, now))) {
        *why = RDV_ADDR_TABLE_FULL;
        return NULL;
    }
    if (e->conns >= t->limits.max_connections) {
        *why = RDV_ADDR_CONNECTIONS;
        return NULL;
    }
    if (!bucket_take(&e->handshakes, t->limits.handshake_rate, now)) {
        *why = RDV_ADDR_RATE;
        return NULL;
    }
    e->conns++;
    return e;
}

void rdv_addr_release(struct rdv_addr_table *t, struct rdv_addr_entry *e)
{
    (void)t; /* the sweep frees it once its buckets have refilled */
    if (e && e->conns > 0)
        e->conns--;
}

bool rdv_addr_take_request(struct rdv_addr_table *t, struct rdv_addr_entry *e, double now)
{
    return !e || bucket_take(&e->requests, t->limits.request_rate, now);
}
