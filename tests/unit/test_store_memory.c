/* test_store_memory.c: the in-memory store against an injected clock.
 *
 * Covers upsert/refresh/stale, expiry exactly at the boundary, ttl_left_ms, expire() and stats
 * counts, the per-peer cap, uniform random sampling, namespace clean-up, bad parameters, 10^5
 * records (also browsed page by page), and a randomized run checked against a brute-force model of
 * the same operations, browsing included. The store contract (store_contract.c) runs separately. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/memory.h"
#include "p2p/envelope.h"
#include "tap.h"

struct tclock { int64_t now; };

static int64_t tclock_now(void *ctx) { return ((struct tclock *)ctx)->now; }

#define T0 1700000000000LL
#define MAXREC 64

struct got_rec {
    struct rdv_peerid peer;
    uint64_t seq;
    uint8_t env[64];
    size_t env_len;
    int64_t ttl_left_ms;
    int64_t registered_at_ms;
};

/* What the last callback reported. */
struct result {
    int calls;
    enum rdv_store_status st;
    size_t n;
    struct got_rec recs[MAXREC];
    uint64_t count;
    struct rdv_store_stats stats;
};

static struct result R;

static void put_cb(void *arg, enum rdv_store_status st)
{
    (void)arg;
    R.calls++;
    R.st = st;
}

static void disc_cb(void *arg, enum rdv_store_status st, const struct rdv_store_record *recs, size_t n)
{
    (void)arg;
    R.calls++;
    R.st = st;
    R.n = n;
    for (size_t i = 0; i < n && i < MAXREC; i++) {
        struct got_rec *g = &R.recs[i];
        g->peer = recs[i].peer;
        g->seq = recs[i].seq;
        g->env_len = recs[i].envelope_len < sizeof(g->env) ? recs[i].envelope_len : sizeof(g->env);
        memcpy(g->env, recs[i].envelope, g->env_len);
        g->ttl_left_ms = recs[i].ttl_left_ms;
        g->registered_at_ms = recs[i].registered_at_ms;
    }
}

static void count_cb(void *arg, enum rdv_store_status st, uint64_t count)
{
    (void)arg;
    R.calls++;
    R.st = st;
    R.count = count;
}

static void stats_cb(void *arg, enum rdv_store_status st, const struct rdv_store_stats *s)
{
    (void)arg;
    R.calls++;
    R.st = st;
    R.stats = *s;
}

/* What the last browse callback reported (names are copied: they die with the callback). */
struct browse {
    size_t n;
    int more;
    char names[1000][16];
    uint64_t counts[1000];
    int64_t soonest[1000], latest[1000];
    struct rdv_peerid peers[1000];
    uint64_t seqs[1000];
};

static struct browse B;

static void ns_cb(void *arg, enum rdv_store_status st, const struct rdv_store_ns_info *items, size_t n, int more)
{
    (void)arg;
    R.calls++;
    R.st = st;
    B.n = n;
    B.more = more;
    for (size_t i = 0; i < n && i < 1000; i++) {
        size_t l = items[i].ns_len < 15 ? items[i].ns_len : 15;
        memcpy(B.names[i], items[i].ns, l);
        B.names[i][l] = 0;
        B.counts[i] = items[i].count;
        B.soonest[i] = items[i].soonest_expiry_ms;
        B.latest[i] = items[i].latest_expiry_ms;
    }
}

static void regs_cb(void *arg, enum rdv_store_status st, const struct rdv_store_record *recs, size_t n, int more)
{
    (void)arg;
    R.calls++;
    R.st = st;
    B.n = n;
    B.more = more;
    for (size_t i = 0; i < n && i < 1000; i++) {
        B.peers[i] = recs[i].peer;
        B.seqs[i] = recs[i].seq;
    }
}

/* A peer id shaped like an identity multihash; the store only compares bytes. */
static struct rdv_peerid mkpeer(unsigned i)
{
    struct rdv_peerid p;
    memset(&p, 0, sizeof(p));
    p.len = 38;
    p.bytes[0] = 0x00;
    p.bytes[1] = 0x24;
    p.bytes[2] = (uint8_t)(i >> 24);
    p.bytes[3] = (uint8_t)(i >> 16);
    p.bytes[4] = (uint8_t)(i >> 8);
    p.bytes[5] = (uint8_t)i;
    return p;
}

static enum rdv_store_status put_full(struct rdv_store *s, const char *ns, unsigned peer, uint64_t seq,
                                      const char *env, uint32_t ttl, uint32_t max_per_peer)
{
    struct rdv_peerid id = mkpeer(peer);
    struct rdv_store_put p = {
        .ns = ns, .ns_len = strlen(ns), .peer = &id, .seq = seq,
        .envelope = (const uint8_t *)env, .envelope_len = strlen(env), .ttl_s = ttl, .max_per_peer = max_per_peer,
    };
    R.calls = 0;
    rdv_store_put(s, &p, put_cb, NULL);
    if (R.calls != 1)
        diag("put callback called %d times", R.calls);
    return R.st;
}

static enum rdv_store_status put(struct rdv_store *s, const char *ns, unsigned peer, uint64_t seq,
                                 const char *env, uint32_t ttl)
{
    return put_full(s, ns, peer, seq, env, ttl, 0);
}

static size_t discover(struct rdv_store *s, const char *ns, uint32_t limit)
{
    R.calls = 0;
    R.n = 0;
    rdv_store_discover(s, ns, strlen(ns), limit, disc_cb, NULL);
    if (R.calls != 1 || R.st != RDV_STORE_OK)
        diag("discover: %d calls, status %s", R.calls, rdv_store_status_name(R.st));
    return R.n;
}

static uint64_t expire(struct rdv_store *s)
{
    R.calls = 0;
    rdv_store_expire(s, count_cb, NULL);
    return R.count;
}

static struct rdv_store_stats stats(struct rdv_store *s)
{
    R.calls = 0;
    rdv_store_stats(s, stats_cb, NULL);
    return R.stats;
}

static bool peer_is(const struct rdv_peerid *p, unsigned i)
{
    struct rdv_peerid want = mkpeer(i);
    return p->len == want.len && memcmp(p->bytes, want.bytes, want.len) == 0;
}

static void test_basic(void)
{
    struct tclock c = { T0 };
    struct rdv_clock clk = { tclock_now, &c };
    struct rdv_store *s = rdv_store_memory_new(&clk);
    ok(s != NULL, "memory store created");
    is_str(s->ops->kind, "memory", "kind is memory");
    struct rdv_store_stats st = stats(s);
    is_int(st.registrations, 0, "empty store: 0 registrations");
    is_int(st.namespaces, 0, "empty store: 0 namespaces");
    is_int(discover(s, "nothing", 10), 0, "discover on unknown namespace: no records");

    is_int(put(s, "ns1", 1, 5, "env-one", 20), RDV_STORE_OK, "put OK");
    is_int(discover(s, "ns1", 0), 1, "discover finds 1 record");
    ok(peer_is(&R.recs[0].peer, 1), "peer id reported");
    is_int(R.recs[0].seq, 5, "seq reported");
    is_mem(R.recs[0].env, R.recs[0].env_len, "env-one", 7, "envelope bytes verbatim");
    is_int(R.recs[0].ttl_left_ms, 20000, "ttl_left_ms = full TTL at t0");
    is_int(R.recs[0].registered_at_ms, T0, "registered_at_ms = put time");
    is_int(discover(s, "ns", 0), 0, "prefix of a namespace is another namespace");
    is_int(discover(s, "ns1x", 0), 0, "extension of a namespace is another namespace");

    c.now += 3000;
    is_int(discover(s, "ns1", 0), 1, "still live after 3 s");
    is_int(R.recs[0].ttl_left_ms, 17000, "ttl_left_ms counts down");

    is_int(put(s, "ns1", 1, 7, "env-seven-longer", 20), RDV_STORE_OK, "upsert with higher seq OK");
    is_int(discover(s, "ns1", 0), 1, "upsert keeps one record per (ns, peer)");
    is_int(R.recs[0].seq, 7, "upsert: new seq");
    is_mem(R.recs[0].env, R.recs[0].env_len, "env-seven-longer", 16, "upsert: new envelope");
    is_int(R.recs[0].ttl_left_ms, 20000, "upsert: TTL restarted");
    is_int(R.recs[0].registered_at_ms, T0 + 3000, "upsert: registered_at updated");

    c.now += 5000;
    is_int(put(s, "ns1", 1, 7, "env-7b", 10), RDV_STORE_OK, "equal seq is a refresh: OK");
    is_int(discover(s, "ns1", 0), 1, "refresh: one record");
    is_mem(R.recs[0].env, R.recs[0].env_len, "env-7b", 6, "refresh replaces the envelope");
    is_int(R.recs[0].ttl_left_ms, 10000, "refresh: new (shorter) TTL applies");

    is_int(put(s, "ns1", 1, 6, "env-six", 20), RDV_STORE_STALE, "lower seq is STALE");
    is_int(discover(s, "ns1", 0), 1, "stale: still one record");
    is_int(R.recs[0].seq, 7, "stale: seq unchanged");
    is_mem(R.recs[0].env, R.recs[0].env_len, "env-7b", 6, "stale: envelope unchanged");
    is_int(R.recs[0].ttl_left_ms, 10000, "stale: TTL not refreshed");

    /* The refresh moved the expiry earlier (t0+8 s+10 s): the heap must have followed. */
    c.now = T0 + 8000 + 9999;
    is_int(discover(s, "ns1", 0), 1, "shortened record live 1 ms before its new expiry");
    is_int(R.recs[0].ttl_left_ms, 1, "ttl_left_ms = 1");
    c.now += 1;
    is_int(discover(s, "ns1", 0), 0, "shortened record gone at its new expiry");
    st = stats(s);
    is_int(st.registrations, 0, "no registrations left");
    is_int(st.namespaces, 0, "namespace removed with its last record");
    rdv_store_close(s);
}

static void test_boundary(void)
{
    struct tclock c = { T0 };
    struct rdv_clock clk = { tclock_now, &c };
    struct rdv_store *s = rdv_store_memory_new(&clk);
    put(s, "b", 1, 1, "e1", 20);
    c.now = T0 + 19999;
    is_int(discover(s, "b", 0), 1, "ttl 20 s: live at t+19999 ms");
    is_int(R.recs[0].ttl_left_ms, 1, "ttl_left_ms 1 at t+19999");
    c.now = T0 + 20000;
    is_int(discover(s, "b", 0), 0, "ttl 20 s: gone at t+20000 ms");
    is_int(expire(s), 0, "expire after discover purged: 0 more");

    /* expire() alone must also honour the boundary */
    put(s, "b", 2, 1, "e2", 1);
    c.now += 999;
    is_int(expire(s), 0, "expire at t+999 ms of a 1 s TTL: nothing");
    c.now += 1;
    is_int(expire(s), 1, "expire at t+1000 ms: 1");
    rdv_store_close(s);
}

static void test_expire_stats(void)
{
    struct tclock c = { T0 };
    struct rdv_clock clk = { tclock_now, &c };
    struct rdv_store *s = rdv_store_memory_new(&clk);
    put(s, "a", 1, 1, "x", 10);
    put(s, "a", 2, 1, "x", 10);
    put(s, "b", 1, 1, "x", 10);
    put(s, "b", 2, 1, "x", 30);
    put(s, "c", 3, 1, "x", 30);
    struct rdv_store_stats st = stats(s);
    is_int(st.registrations, 5, "stats: 5 registrations");
    is_int(st.namespaces, 3, "stats: 3 namespaces");
    c.now += 9999;
    is_int(expire(s), 0, "expire before any deadline: 0");
    c.now += 1;
    is_int(expire(s), 3, "expire at 10 s: 3 records");
    is_int(expire(s), 0, "expire again: 0");
    st = stats(s);
    is_int(st.registrations, 2, "stats after expiry: 2 registrations");
    is_int(st.namespaces, 2, "stats after expiry: namespace a removed, b and c left");
    is_int(discover(s, "a", 0), 0, "namespace a is empty");
    is_int(discover(s, "b", 0), 1, "namespace b keeps its 30 s record");
    ok(peer_is(&R.recs[0].peer, 2), "the right record survived in b");
    c.now = T0 + 30000;
    st = stats(s);
    is_int(st.registrations, 0, "stats purge first: 0 registrations at 30 s");
    is_int(st.namespaces, 0, "stats purge first: 0 namespaces");
    is_int(expire(s), 0, "expire after stats purged: 0");

    /* A record re-put after its namespace vanished recreates it. */
    is_int(put(s, "a", 1, 1, "again", 5), RDV_STORE_OK, "namespace recreated after cleanup");
    is_int(discover(s, "a", 0), 1, "recreated namespace holds the record");
    rdv_store_close(s);
}

static void test_per_peer_cap(void)
{
    struct tclock c = { T0 };
    struct rdv_clock clk = { tclock_now, &c };
    struct rdv_store *s = rdv_store_memory_new(&clk);
    is_int(put_full(s, "n1", 7, 1, "x", 5, 3), RDV_STORE_OK, "cap 3: 1st namespace");
    is_int(put_full(s, "n2", 7, 1, "x", 20, 3), RDV_STORE_OK, "cap 3: 2nd namespace");
    is_int(put_full(s, "n3", 7, 1, "x", 20, 3), RDV_STORE_OK, "cap 3: 3rd namespace");
    is_int(put_full(s, "n4", 7, 1, "x", 20, 3), RDV_STORE_LIMIT, "cap 3: 4th namespace is LIMIT");
    is_int(discover(s, "n4", 0), 0, "LIMIT stored nothing");
    is_int(stats(s).namespaces, 3, "LIMIT left no empty namespace behind");
    is_int(put_full(s, "n1", 7, 2, "y", 5, 3), RDV_STORE_OK, "re-register in a held namespace: OK at the cap");
    is_int(put_full(s, "n2", 7, 1, "y", 20, 3), RDV_STORE_OK, "refresh at the cap: OK");
    is_int(put_full(s, "n4", 8, 1, "x", 20, 3), RDV_STORE_OK, "another peer is not affected");
    is_int(put_full(s, "n4", 7, 1, "x", 20, 0), RDV_STORE_OK, "cap 0 means no cap");
    is_int(put_full(s, "n5", 7, 1, "x", 20, 4), RDV_STORE_LIMIT, "4 live registrations with cap 4: LIMIT");
    c.now += 5000; /* n1's record expires: the count only holds live records */
    is_int(put_full(s, "n5", 7, 1, "x", 20, 4), RDV_STORE_OK, "after one expiry the peer is under the cap");
    is_int(put_full(s, "n6", 7, 1, "x", 20, 4), RDV_STORE_LIMIT, "and at it again");

    /* Counts survive partial expiry: 2 -> 1 live must still count the one left. */
    is_int(put_full(s, "q1", 9, 1, "x", 1, 2), RDV_STORE_OK, "cap 2: peer 9 in q1 (1 s)");
    is_int(put_full(s, "q2", 9, 1, "x", 60, 2), RDV_STORE_OK, "cap 2: peer 9 in q2 (60 s)");
    c.now += 1000;
    is_int(put_full(s, "q3", 9, 1, "x", 60, 2), RDV_STORE_OK, "q1 expired: q3 fits");
    is_int(put_full(s, "q4", 9, 1, "x", 60, 2), RDV_STORE_LIMIT, "q2 + q3 live: q4 is LIMIT");
    rdv_store_close(s);
}

static void test_bad_params(void)
{
    struct tclock c = { T0 };
    struct rdv_clock clk = { tclock_now, &c };
    struct rdv_store *s = rdv_store_memory_new(&clk);
    struct rdv_peerid id = mkpeer(1);
    char ns[RDV_NS_MAX + 2];
    memset(ns, 'n', sizeof(ns));
    static uint8_t env[RDV_ENVELOPE_MAX + 1];
    struct rdv_store_put p = { .ns = ns, .ns_len = RDV_NS_MAX, .peer = &id, .seq = 1,
                               .envelope = env, .envelope_len = RDV_ENVELOPE_MAX, .ttl_s = 20 };
    rdv_store_put(s, &p, put_cb, NULL);
    is_int(R.st, RDV_STORE_OK, "namespace of RDV_NS_MAX bytes and envelope of RDV_ENVELOPE_MAX: OK");
    p.ns_len = RDV_NS_MAX + 1;
    rdv_store_put(s, &p, put_cb, NULL);
    is_int(R.st, RDV_STORE_ERROR, "namespace over RDV_NS_MAX: ERROR");
    p.ns_len = 0;
    rdv_store_put(s, &p, put_cb, NULL);
    is_int(R.st, RDV_STORE_ERROR, "empty namespace: ERROR");
    p.ns_len = 3;
    p.envelope_len = RDV_ENVELOPE_MAX + 1;
    rdv_store_put(s, &p, put_cb, NULL);
    is_int(R.st, RDV_STORE_ERROR, "envelope over RDV_ENVELOPE_MAX: ERROR");
    p.envelope_len = 0;
    rdv_store_put(s, &p, put_cb, NULL);
    is_int(R.st, RDV_STORE_ERROR, "empty envelope: ERROR");
    p.envelope_len = 4;
    p.ttl_s = 0;
    rdv_store_put(s, &p, put_cb, NULL);
    is_int(R.st, RDV_STORE_ERROR, "ttl 0: ERROR");
    p.ttl_s = 20;
    id.len = 0;
    rdv_store_put(s, &p, put_cb, NULL);
    is_int(R.st, RDV_STORE_ERROR, "empty peer id: ERROR");
    is_int(stats(s).registrations, 1, "only the valid put stored");
    R.calls = 0;
    rdv_store_discover(s, ns, RDV_NS_MAX + 1, 0, disc_cb, NULL);
    is_int(R.st, RDV_STORE_ERROR, "discover with an over-long namespace: ERROR");
    rdv_store_discover(s, ns, RDV_NS_MAX, 0, disc_cb, NULL);
    is_int(R.n, 1, "discover of the RDV_NS_MAX-byte namespace finds it");
    is_int(R.recs[0].ttl_left_ms, 20000, "its ttl");
    rdv_store_close(s);
}

static void test_sample(void)
{
    struct tclock c = { T0 };
    struct rdv_clock clk = { tclock_now, &c };
    struct rdv_store *s = rdv_store_memory_new(&clk);
    for (unsigned i = 0; i < 10; i++)
        put(s, "sample", i, 1, "e", 60);
    is_int(discover(s, "sample", 0), 10, "limit 0: all 10 records");
    is_int(discover(s, "sample", 10), 10, "limit 10: all 10");
    is_int(discover(s, "sample", 1000), 10, "limit 1000: all 10");
    unsigned seen[10] = { 0 };
    bool exact = true, distinct = true;
    for (int run = 0; run < 1000; run++) {
        if (discover(s, "sample", 5) != 5)
            exact = false;
        unsigned mask = 0;
        for (size_t k = 0; k < R.n; k++) {
            unsigned idx = R.recs[k].peer.bytes[5];
            if (idx >= 10 || (mask & (1u << idx)))
                distinct = false;
            else
                seen[idx]++;
            mask |= idx < 10 ? 1u << idx : 0;
        }
    }
    ok(exact, "1000 runs of limit 5 of 10: exactly 5 records each");
    ok(distinct, "sampled records are distinct");
    unsigned lo = 1000, hi = 0;
    for (int i = 0; i < 10; i++) {
        lo = seen[i] < lo ? seen[i] : lo;
        hi = seen[i] > hi ? seen[i] : hi;
    }
    /* Each record is in a sample with p = 1/2: mean 500, sd ~16; 300 is > 12 sd away. */
    ok(lo > 300 && hi < 700, "every record sampled between 300 and 700 times of 1000 (min %u, max %u)", lo, hi);
    is_int(discover(s, "sample", 0), 10, "sampling lost nothing");
    unsigned mask = 0;
    for (size_t k = 0; k < R.n; k++)
        mask |= 1u << R.recs[k].peer.bytes[5];
    is_int(mask, 0x3ff, "all 10 peers still present after 1000 samples");
    rdv_store_close(s);
}

static void test_bulk(void)
{
    struct tclock c = { T0 };
    struct rdv_clock clk = { tclock_now, &c };
    struct rdv_store *s = rdv_store_memory_new(&clk);
    bool all_ok = true;
    char ns[16];
    /* 10^5 records over 100 namespaces; record i expires at (1 + i % 100) s. */
    for (unsigned i = 0; i < 100000; i++) {
        snprintf(ns, sizeof(ns), "bulk/%u", i / 1000);
        if (put(s, ns, i, 1, "bulk", 1 + i % 100) != RDV_STORE_OK)
            all_ok = false;
    }
    ok(all_ok, "10^5 puts OK");
    struct rdv_store_stats st = stats(s);
    is_int(st.registrations, 100000, "10^5 registrations");
    is_int(st.namespaces, 100, "100 namespaces");
    bool counts_ok = true;
    for (int sec = 1; sec <= 100; sec++) {
        c.now = T0 + (int64_t)sec * 1000;
        if (expire(s) != 1000)
            counts_ok = false;
        if (sec == 50) {
            /* bulk/7 holds 1000 records, 10 per TTL value 1..100 s: 500 remain. */
            is_int(discover(s, "bulk/7", 0), 500, "at 50 s half of a namespace is live");
            bool live = true;
            for (size_t k = 0; k < R.n && k < MAXREC; k++)
                live = live && R.recs[k].ttl_left_ms > 0 && R.recs[k].ttl_left_ms <= 50000;
            ok(live, "every reported ttl_left_ms in (0, 50000]");
        }
    }
    ok(counts_ok, "each second expires exactly 1000 records");
    st = stats(s);
    is_int(st.registrations, 0, "all expired");
    is_int(st.namespaces, 0, "all namespaces cleaned up");
    rdv_store_close(s);
}

/* 10^5 records in 10^4 namespaces, browsed to the end in pages of 1000 / 500. */
static void test_browse_bulk(void)
{
    struct tclock c = { T0 };
    struct rdv_clock clk = { tclock_now, &c };
    struct rdv_store *s = rdv_store_memory_new(&clk);
    char ns[16];
    for (unsigned i = 0; i < 100000; i++) {
        snprintf(ns, sizeof(ns), "b%05u", i % 10000);
        put(s, ns, i, 1, "x", 60 + i % 7);
    }
    snprintf(ns, sizeof(ns), "b%05u", 1234u);
    put(s, ns, 99, 1, "x", 600); /* one later expiry */
    char cursor[16] = "";
    unsigned seen = 0, pages = 0;
    bool order = true, counts = true;
    do {
        rdv_store_list_namespaces(s, NULL, 0, cursor, strlen(cursor), 1000, ns_cb, NULL);
        for (size_t i = 0; i < B.n; i++) {
            char want[16];
            snprintf(want, sizeof(want), "b%05u", seen++);
            order = order && strcmp(B.names[i], want) == 0;
            counts = counts && B.counts[i] == 10u + (seen - 1 == 1234);
        }
        if (B.n)
            snprintf(cursor, sizeof(cursor), "%s", B.names[B.n - 1]);
        pages++;
    } while (B.more && pages < 20);
    ok(order && seen == 10000 && pages == 10, "10^4 namespaces in 10 pages of 1000, each once, in order");
    ok(counts, "each with its count");
    rdv_store_list_namespaces(s, "b0123", 5, NULL, 0, 100, ns_cb, NULL);
    ok(B.n == 10 && strcmp(B.names[4], "b01234") == 0 && B.latest[4] == T0 + 600000 && B.soonest[4] == T0 + 60000,
       "prefix b0123: 10 namespaces; b01234's expiry range is 60..600 s");

    /* One namespace of 10^4 records, paged by 500. */
    for (unsigned i = 0; i < 10000; i++)
        put(s, "big", i, 1, "x", 60);
    struct rdv_peerid cur;
    const struct rdv_peerid *cp = NULL;
    unsigned got = 0;
    order = true;
    do {
        rdv_store_list_registrations(s, 0, "big", 3, cp, 500, regs_cb, NULL);
        for (size_t i = 0; i < B.n; i++)
            order = order && peer_is(&B.peers[i], got++);
        if (B.n) {
            cur = B.peers[B.n - 1];
            cp = &cur;
        }
    } while (B.more && got < 20000);
    ok(order && got == 10000, "10^4 registrations of one namespace paged by 500, in peer id order");
    rdv_store_close(s);
}

/* ---- randomized run against a brute-force model --------------------------------------- */

#define M_NS 8
#define M_PEERS 24

struct model_rec { bool live; uint64_t seq; int64_t expires; uint8_t env; };

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rng(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

/* Browsing agrees with the model: namespaces m0..m7 (byte order = index order) in pages of 3,
 * with counts and expiry ranges; each namespace's peers (byte order = index order) in pages of 5. */
static bool model_browse(struct rdv_store *s, struct model_rec m[M_NS][M_PEERS], int64_t now)
{
    char cursor[16] = "";
    int next = 0; /* the next live namespace expected */
    for (;;) {
        rdv_store_list_namespaces(s, "m", 1, cursor, strlen(cursor), 3, ns_cb, NULL);
        for (size_t i = 0; i < B.n; i++) {
            size_t live = 0;
            int64_t lo = INT64_MAX, hi = INT64_MIN;
            while (next < M_NS && !live) {
                for (int p = 0; p < M_PEERS; p++)
                    if (m[next][p].live && m[next][p].expires > now) {
                        live++;
                        lo = m[next][p].expires < lo ? m[next][p].expires : lo;
                        hi = m[next][p].expires > hi ? m[next][p].expires : hi;
                    }
                next += !live;
            }
            char want[16];
            snprintf(want, sizeof(want), "m%d", next++);
            if (!live || strcmp(B.names[i], want) != 0 || B.counts[i] != live || B.soonest[i] != lo ||
                B.latest[i] != hi)
                return false;
        }
        if (!B.more)
            break;
        snprintf(cursor, sizeof(cursor), "%s", B.names[B.n - 1]);
    }
    for (; next < M_NS; next++) /* no live namespace may be left unlisted */
        for (int p = 0; p < M_PEERS; p++)
            if (m[next][p].live && m[next][p].expires > now)
                return false;
    for (int n = 0; n < M_NS; n++) {
        char ns[16];
        snprintf(ns, sizeof(ns), "m%d", n);
        int p = 0;
        struct rdv_peerid cur;
        const struct rdv_peerid *cp = NULL;
        do {
            rdv_store_list_registrations(s, 0, ns, strlen(ns), cp, 5, regs_cb, NULL);
            for (size_t i = 0; i < B.n; i++) {
                while (p < M_PEERS && !(m[n][p].live && m[n][p].expires > now))
                    p++;
                if (p == M_PEERS || !peer_is(&B.peers[i], (unsigned)p) || B.seqs[i] != m[n][p].seq)
                    return false;
                p++;
            }
            if (B.n) {
                cur = B.peers[B.n - 1];
                cp = &cur;
            }
        } while (B.more);
        while (p < M_PEERS && !(m[n][p].live && m[n][p].expires > now))
            p++;
        if (p != M_PEERS)
            return false; /* a live record was never listed */
    }
    return true;
}

static bool model_check(struct rdv_store *s, struct model_rec m[M_NS][M_PEERS], int64_t now)
{
    uint64_t total = 0, spaces = 0;
    for (int n = 0; n < M_NS; n++) {
        char ns[16];
        snprintf(ns, sizeof(ns), "m%d", n);
        size_t live = 0;
        for (int p = 0; p < M_PEERS; p++) {
            if (m[n][p].live && m[n][p].expires <= now)
                m[n][p].live = false;
            live += m[n][p].live;
        }
        total += live;
        spaces += live > 0;
        if (discover(s, ns, 0) != live)
            return false;
        for (size_t k = 0; k < R.n; k++) {
            unsigned p = R.recs[k].peer.bytes[5];
            if (p >= M_PEERS || !m[n][p].live || m[n][p].seq != R.recs[k].seq ||
                m[n][p].expires - now != R.recs[k].ttl_left_ms || R.recs[k].env_len != 1 ||
                R.recs[k].env[0] != m[n][p].env)
                return false;
        }
    }
    struct rdv_store_stats st = stats(s);
    return st.registrations == total && st.namespaces == spaces && model_browse(s, m, now);
}

static void test_model(void)
{
    struct tclock c = { T0 };
    struct rdv_clock clk = { tclock_now, &c };
    struct rdv_store *s = rdv_store_memory_new(&clk);
    static struct model_rec m[M_NS][M_PEERS];
    bool good = true;
    int step;
    for (step = 0; step < 20000 && good; step++) {
        c.now += rng(400);
        unsigned n = rng(M_NS), p = rng(M_PEERS);
        uint64_t seq = rng(6);
        uint32_t ttl = 1 + rng(20);
        char ns[16], env[2] = { (char)('a' + rng(26)), 0 };
        snprintf(ns, sizeof(ns), "m%u", n);
        struct model_rec *mr = &m[n][p];
        if (mr->live && mr->expires <= c.now)
            mr->live = false;
        enum rdv_store_status want = mr->live && seq < mr->seq ? RDV_STORE_STALE : RDV_STORE_OK;
        if (put(s, ns, p, seq, env, ttl) != want) {
            good = false;
            break;
        }
        if (want == RDV_STORE_OK)
            *mr = (struct model_rec){ true, seq, c.now + (int64_t)ttl * 1000, (uint8_t)env[0] };
        if (step % 97 == 0)
            good = model_check(s, m, c.now);
    }
    ok(good, "20000 random puts/refreshes/stales agree with a brute-force model (stopped at %d)", step);
    c.now += 21000;
    ok(model_check(s, m, c.now), "everything expired in the end");
    rdv_store_close(s);
}

static void test_system_clock(void)
{
    struct rdv_store *s = rdv_store_memory_new(NULL);
    ok(s != NULL, "store with the system clock");
    is_int(put(s, "sys", 1, 1, "e", 20), RDV_STORE_OK, "put on the system clock");
    is_int(discover(s, "sys", 0), 1, "discover on the system clock");
    ok(R.recs[0].ttl_left_ms > 19000 && R.recs[0].ttl_left_ms <= 20000, "ttl_left_ms near 20 s");
    rdv_store_close(s);
    rdv_store_close(NULL);
    ok(1, "closing NULL is a no-op");
}

int main(void)
{
    test_basic();
    test_boundary();
    test_expire_stats();
    test_per_peer_cap();
    test_bad_params();
    test_sample();
    test_bulk();
    test_browse_bulk();
    test_model();
    test_system_clock();
    return tap_done();
}
