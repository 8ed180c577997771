/* test_olog.c: the ordered log (util/olog.h): appends and the walk in key order, removal from the
 * front, middle and end, seek, compaction moving positions (and telling the items), reserve
 * reclaiming holes rather than growing, and a randomized check against a plain sorted array. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tap.h"
#include "util/olog.h"

struct item {
    uint64_t key;
    uint32_t pos; /* the log's field */
    bool in;    /* the model's view: held by the log */
};

static void log_init(struct rdv_olog *l)
{
    rdv_olog_init(l, offsetof(struct item, pos));
}

static bool append(struct rdv_olog *l, struct item *it, uint64_t key)
{
    if (rdv_olog_reserve(l))
        return false;
    it->key = key;
    it->in = true;
    rdv_olog_append(l, key, it);
    return true;
}

static void drop(struct rdv_olog *l, struct item *it)
{
    rdv_olog_remove(l, it);
    it->in = false;
}

/* The keys walked from the first key after `after`, written to out; how many. */
static size_t walk_keys(const struct rdv_olog *l, uint64_t after, uint64_t *out, size_t cap)
{
    size_t pos = rdv_olog_seek(l, after), n = 0;
    struct item *it;
    while ((it = rdv_olog_next(l, &pos)) && n < cap)
        out[n++] = it->key;
    return n;
}

/* Every held item's position names its own entry. */
static bool positions_hold(const struct rdv_olog *l, const struct item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (items[i].in && (items[i].pos >= l->n || l->ents[items[i].pos].item != &items[i]))
            return false;
    return true;
}

static void test_empty(void)
{
    struct rdv_olog l;
    log_init(&l);
    size_t pos = rdv_olog_seek(&l, 0);
    ok(pos == 0 && rdv_olog_next(&l, &pos) == NULL, "empty: seek 0, nothing to walk");
    is_int(rdv_olog_seek(&l, UINT64_MAX), 0, "empty: seek UINT64_MAX is the end");
    rdv_olog_free(&l);
    rdv_olog_free(&l);
    ok(l.ents == NULL && l.n == 0 && l.live == 0, "free twice is harmless");
}

static void test_append_seek(void)
{
    struct rdv_olog l;
    log_init(&l);
    struct item it[10];
    bool all = true;
    for (int i = 0; i < 10; i++)
        all = append(&l, &it[i], 10 * (uint64_t)(i + 1)) && all;
    ok(all && l.n == 10 && l.live == 10, "10 appends (keys 10..100)");
    uint64_t k[16];
    size_t n = walk_keys(&l, 0, k, 16);
    bool order = n == 10;
    for (size_t i = 0; order && i < n; i++)
        order = k[i] == 10 * (i + 1);
    ok(order, "the walk from 0 gives them in key order");
    is_int(rdv_olog_seek(&l, 0), 0, "seek 0: the first");
    is_int(rdv_olog_seek(&l, 9), 0, "seek 9: the first (key 10 > 9)");
    is_int(rdv_olog_seek(&l, 10), 1, "seek 10: strictly after it");
    is_int(rdv_olog_seek(&l, 55), 5, "seek 55: key 60");
    is_int(rdv_olog_seek(&l, 100), 10, "seek 100 (the last key): the end");
    is_int(rdv_olog_seek(&l, UINT64_MAX), 10, "seek UINT64_MAX: the end");
    n = walk_keys(&l, 70, k, 16);
    ok(n == 3 && k[0] == 80 && k[2] == 100, "the walk after 70: 80, 90, 100");
    ok(positions_hold(&l, it, 10), "each item knows its position");
    rdv_olog_free(&l);
}

static void test_remove(void)
{
    struct rdv_olog l;
    log_init(&l);
    struct item it[10];
    for (int i = 0; i < 10; i++)
        append(&l, &it[i], (uint64_t)i + 1);
    drop(&l, &it[0]);
    drop(&l, &it[5]);
    uint64_t k[16];
    size_t n = walk_keys(&l, 0, k, 16);
    ok(n == 8 && k[0] == 2 && k[4] == 7 && l.live == 8 && l.n == 10, "removing the first and a middle one: holes");
    is_int(rdv_olog_seek(&l, 0), 0, "seek still lands on the hole at the front");
    size_t pos = rdv_olog_seek(&l, 5);
    struct item *next = rdv_olog_next(&l, &pos);
    ok(next == &it[6], "next skips the hole after 5 to key 7");
    drop(&l, &it[9]);
    ok(l.n == 9 && l.live == 7, "removing the last frees its slot");
    drop(&l, &it[8]);
    drop(&l, &it[7]);
    drop(&l, &it[6]);
    ok(l.n == 5 && l.live == 4, "trailing holes are trimmed back to the last live entry (key 5)");
    rdv_olog_remove(&l, &it[6]);
    ok(l.n == 5 && l.live == 4, "removing an item that is not held changes nothing");
    ok(append(&l, &it[6], 50) && rdv_olog_seek(&l, 5) == 5 && l.n == 6, "appending after the trim reuses the room");
    for (int i = 1; i <= 6; i++)
        if (it[i].in)
            drop(&l, &it[i]);
    ok(l.n == 0 && l.live == 0 && walk_keys(&l, 0, k, 16) == 0, "removing everything leaves it empty");
    rdv_olog_free(&l);
}

static void test_compaction(void)
{
    struct rdv_olog l;
    log_init(&l);
    struct item it[100];
    for (int i = 0; i < 100; i++)
        append(&l, &it[i], (uint64_t)i * 2 + 2);
    size_t cap = l.cap;
    /* Keep every 5th (and the last, so no trim hides the holes). */
    bool compacted = false;
    for (int i = 0; i < 99; i++)
        if (i % 5) {
            size_t before = l.n;
            drop(&l, &it[i]);
            compacted = compacted || l.n < before - 1;
        }
    ok(compacted, "holes outnumbering live entries compact the log");
    ok(l.n <= 2 * l.live + 8, "entries stay within twice the live ones (+8): %zu of %zu", l.n, l.live);
    ok(positions_hold(&l, it, 100), "compaction tells every moved item its new position");
    uint64_t k[128];
    size_t n = walk_keys(&l, 0, k, 128);
    bool order = n == l.live && k[0] == 2;
    for (size_t i = 1; order && i < n; i++)
        order = k[i] > k[i - 1] && ((k[i] / 2 - 1) % 5 == 0 || k[i] == 200);
    if (!ok(order, "the walk after compaction: the kept keys, in order"))
        for (size_t i = 0; i < n; i++)
            diag("%zu: %llu", i, (unsigned long long)k[i]);
    is_int(rdv_olog_seek(&l, 100), 10, "seek after compaction: key 102 is the 11th kept");
    drop(&l, &it[50]);
    drop(&l, &it[99]);
    ok(positions_hold(&l, it, 100) && !it[50].in, "removal by a moved position works");
    ok(l.cap <= cap, "the array never grew for removals (%zu -> %zu)", cap, l.cap);
    rdv_olog_free(&l);
}

/* A full array with half holes: reserve reclaims them instead of growing. And after any removal
 * at full capacity reserve succeeds and the append lands. */
static void test_reserve(void)
{
    struct rdv_olog l;
    log_init(&l);
    struct item it[17];
    for (int i = 0; i < 16; i++)
        append(&l, &it[i], (uint64_t)i + 1);
    ok(l.n == l.cap && l.cap == 16, "16 appends fill a 16-entry array");
    for (int i = 0; i < 8; i++)
        drop(&l, &it[i]);
    ok(l.n == 16 && l.live == 8, "8 removals at the front leave 8 holes");
    struct rdv_olog_ent *ents = l.ents;
    is_int(rdv_olog_reserve(&l), 0, "reserve at full capacity with half holes: 0");
    ok(l.cap == 16 && l.n == 8 && l.ents == ents, "it compacted in place instead of growing");
    ok(positions_hold(&l, it, 16), "positions follow the compaction");
    ok(append(&l, &it[16], 100), "and the append lands");
    size_t pos = rdv_olog_seek(&l, 16);
    ok(rdv_olog_next(&l, &pos) == &it[16], "after the others");

    struct rdv_olog f;
    log_init(&f);
    struct item g[8];
    for (int i = 0; i < 8; i++)
        append(&f, &g[i], (uint64_t)i + 1);
    ok(f.n == f.cap, "a full 8-entry log");
    drop(&f, &g[3]);
    is_int(rdv_olog_reserve(&f), 0, "one removal from a full log: reserve 0");
    ok(f.n < f.cap, "with room for the append");
    rdv_olog_free(&f);
    rdv_olog_free(&l);
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

#define POOL 64

/* The model: the held items sorted by key (keys are appended increasing, so the pool order by
 * key of held items is the expected walk). */
static size_t model_walk(const struct item *pool, uint64_t after, uint64_t *out)
{
    size_t n = 0;
    uint64_t last = after;
    for (;;) {
        const struct item *best = NULL;
        for (size_t i = 0; i < POOL; i++)
            if (pool[i].in && pool[i].key > last && (!best || pool[i].key < best->key))
                best = &pool[i];
        if (!best)
            return n;
        out[n++] = best->key;
        last = best->key;
    }
}

/* The positions of the held items but one, summed: changes only when entries move. */
static size_t pos_sum(const struct item *pool, size_t except)
{
    size_t sum = 0;
    for (size_t i = 0; i < POOL; i++)
        if (pool[i].in && i != except)
            sum += pool[i].pos;
    return sum;
}

static void test_model(void)
{
    struct rdv_olog l;
    log_init(&l);
    struct item pool[POOL] = { 0 };
    uint64_t seed = 0x9e3779b97f4a7c15ull, next_key = 1;
    bool walks = true, invariants = true, reserves = true;
    int iters, moves = 0;
    for (iters = 0; iters < 20000 && walks && invariants && reserves; iters++) {
        uint64_t r = xorshift(&seed);
        size_t slot = (size_t)(r >> 8) % POOL;
        if (r % 3 != 0 && !pool[slot].in) {
            next_key += 1 + (r >> 40) % 3;
            reserves = append(&l, &pool[slot], next_key);
        } else if (pool[slot].in) {
            size_t before = pos_sum(pool, slot);
            drop(&l, &pool[slot]);
            moves += pos_sum(pool, slot) != before; /* only compaction moves the others */
        }
        uint64_t after = next_key ? (r >> 20) % (next_key + 2) : 0;
        uint64_t want[POOL], got[POOL];
        size_t nw = model_walk(pool, after, want), ng = walk_keys(&l, after, got, POOL);
        walks = nw == ng && memcmp(want, got, nw * sizeof(*want)) == 0;
        size_t live = 0;
        for (size_t i = 0; i < POOL; i++)
            live += pool[i].in;
        invariants = l.live == live && l.n <= l.cap && l.n <= 2 * l.live + 8 && positions_hold(&l, pool, POOL) &&
                     (l.n == 0 || l.ents[l.n - 1].item != NULL);
    }
    ok(walks, "model: every seek-and-walk matches a sorted array (%d steps)", iters);
    ok(invariants, "model: live count, bounds, positions and no trailing hole hold at every step");
    ok(reserves, "model: every reserve succeeded");
    ok(moves > 10, "model: compactions moved items along the way (%d times)", moves);
    rdv_olog_free(&l);
}

int main(void)
{
    test_empty();
    test_append_seek();
    test_remove();
    test_compaction();
    test_reserve();
    test_model();
    return tap_done();
}
