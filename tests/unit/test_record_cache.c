/* test_record_cache.c: the verified-envelope cache (p2p/record_cache.h) in front of a counting
 * opener: a hit skips verification and re-points the summary into the new buffer, different bytes
 * or another kind miss, another peer's cached record is still refused by the service, eviction by
 * entries and by bytes, and the counters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "p2p/record_cache.h"
#include "p2p/record_kind.h"
#include "rendezvous.pb-c.h"
#include "rendezvous/service.h"
#include "tap.h"
#include "util/err.h"

static const uint8_t ADDR_A[] = {0x04, 1, 2, 3, 4, 0x06, 0x0f, 0xa1};    /* /ip4/1.2.3.4/tcp/4001 */
static const uint8_t ADDR_B[] = {0x04, 10, 0, 0, 9, 0x06, 0x1f, 0x90};   /* /ip4/10.0.0.9/tcp/8080 */

struct counting { int calls; };

static int counting_open(void *ctx, const struct rdv_record_kind *k, const uint8_t *env, size_t n,
                         struct rdv_record_summary *out)
{
    ((struct counting *)ctx)->calls++;
    return rdv_record_open(k, env, n, out);
}

static struct rdv_privkey new_key(void)
{
    struct rdv_privkey k;
    if (rdv_privkey_generate(RDV_KEY_ED25519, &k) != RDV_OK) {
        printf("Bail out! keygen\n");
        exit(1);
    }
    return k;
}

static struct rdv_buf seal(const struct rdv_record_kind *kind, const struct rdv_privkey *key, uint64_t seq,
                           size_t naddrs, const char *mix)
{
    struct rdv_record_summary in;
    memset(&in, 0, sizeof(in));
    in.seq = seq;
    in.naddrs = naddrs;
    for (size_t i = 0; i < naddrs; i++)
        in.addrs[i] = (struct rdv_record_addr){i % 2 ? ADDR_B : ADDR_A, sizeof(ADDR_A)};
    in.mix_key = (const uint8_t *)mix;
    in.mix_key_len = mix ? strlen(mix) : 0;
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    if (rdv_record_seal(kind, key, &in, &b) != RDV_OK)
        printf("Bail out! seal\n");
    return b;
}

static struct rdv_record_cache_stats stats(const struct rdv_record_cache *c)
{
    struct rdv_record_cache_stats s;
    rdv_record_cache_stats(c, &s);
    return s;
}

/* Whether every address of s points into [p, p+n) and reads as want's. */
static bool points_into(const struct rdv_record_summary *s, const struct rdv_record_summary *want, const uint8_t *p,
                        size_t n)
{
    if (s->naddrs != want->naddrs || s->seq != want->seq || !rdv_peerid_equal(&s->peer, &want->peer) ||
        s->addrs_bytes != want->addrs_bytes)
        return false;
    for (size_t i = 0; i < s->naddrs; i++)
        if (s->addrs[i].bytes < p || s->addrs[i].bytes + s->addrs[i].len > p + n || s->addrs[i].len != want->addrs[i].len ||
            memcmp(s->addrs[i].bytes, want->addrs[i].bytes, s->addrs[i].len) != 0)
            return false;
    return true;
}

static void test_hit_and_miss(void)
{
    struct counting cnt = {0};
    struct rdv_record_opener inner = {counting_open, &cnt};
    struct rdv_record_cache *c = rdv_record_cache_new(0, 0, &inner);
    struct rdv_record_opener o = rdv_record_cache_opener(c);
    const struct rdv_record_kind *k = &rdv_record_kind_peer;
    struct rdv_privkey key = new_key();
    struct rdv_buf env = seal(k, &key, 7, 3, NULL);
    struct rdv_record_summary want, got;
    is_int(rdv_record_open(k, rdv_buf_head(&env), env.len, &want), RDV_OK, "record opens");
    is_int(rdv_record_opener_open(&o, k, rdv_buf_head(&env), env.len, &got), RDV_OK, "first open through the cache");
    is_int(cnt.calls, 1, "first open verifies");
    uint8_t *copy = malloc(env.len);
    memcpy(copy, rdv_buf_head(&env), env.len);
    memset(&got, 0xa5, sizeof(got));
    is_int(rdv_record_opener_open(&o, k, copy, env.len, &got), RDV_OK, "same bytes, another buffer: opens");
    is_int(cnt.calls, 1, "a hit skips verification");
    ok(points_into(&got, &want, copy, env.len), "a hit's summary points into the new buffer, same contents");
    ok(got.mix_key == NULL, "no mix key for a libp2p peer record");

    copy[env.len - 1] ^= 1; /* a signature bit */
    is_int(rdv_record_opener_open(&o, k, copy, env.len, &got), RDV_ERR_SIGNATURE, "one bit flipped: refused");
    is_int(cnt.calls, 2, "different bytes miss and are verified");
    is_int(rdv_record_opener_open(&o, k, copy, env.len, &got), RDV_ERR_SIGNATURE, "refused again: failures not cached");
    is_int(cnt.calls, 3, "a failure is verified each time");
    is_int(rdv_record_opener_open(&o, k, copy, env.len - 1, &got), RDV_ERR_INVALID, "a prefix of the bytes misses");
    is_int(rdv_record_opener_open(&o, &rdv_record_kind_waku, rdv_buf_head(&env), env.len, &got), RDV_ERR_PAYLOAD_TYPE,
           "the same bytes opened as another kind miss and are refused");
    struct rdv_record_cache_stats s = stats(c);
    ok(s.hits == 1 && s.misses == 5 && s.entries == 1 && s.evictions == 0 && s.bytes > 0,
       "counters: 1 hit, 5 misses, 1 entry (%llu/%llu/%zu)", (unsigned long long)s.hits,
       (unsigned long long)s.misses, s.entries);
    free(copy);
    rdv_buf_free(&env);
    rdv_record_cache_free(c);
}

static void test_mix_key(void)
{
    struct counting cnt = {0};
    struct rdv_record_opener inner = {counting_open, &cnt};
    struct rdv_record_cache *c = rdv_record_cache_new(0, 0, &inner);
    struct rdv_record_opener o = rdv_record_cache_opener(c);
    struct rdv_privkey key = new_key();
    struct rdv_buf env = seal(&rdv_record_kind_waku, &key, 1, 2, "mix-key-text");
    struct rdv_record_summary got;
    uint8_t *copy = malloc(env.len);
    memcpy(copy, rdv_buf_head(&env), env.len);
    rdv_record_opener_open(&o, &rdv_record_kind_waku, rdv_buf_head(&env), env.len, &got);
    is_int(rdv_record_opener_open(&o, &rdv_record_kind_waku, copy, env.len, &got), RDV_OK, "waku record: hit");
    is_int(cnt.calls, 1, "waku record: verified once");
    ok(got.mix_key >= copy && got.mix_key < copy + env.len && got.mix_key_len == 12 &&
           memcmp(got.mix_key, "mix-key-text", 12) == 0, "the mix key is re-pointed into the new buffer");
    free(copy);
    rdv_buf_free(&env);
    rdv_record_cache_free(c);
}

static struct rdv_buf enc_register(const char *ns, const uint8_t *env, size_t n)
{
    Rendezvous__Pb__Message__Register r = RENDEZVOUS__PB__MESSAGE__REGISTER__INIT;
    r.ns = (char *)ns;
    r.signedpeerrecord.data = (uint8_t *)env;
    r.signedpeerrecord.len = n;
    Rendezvous__Pb__Message m = RENDEZVOUS__PB__MESSAGE__INIT;
    m.type = RENDEZVOUS__PB__MESSAGE__MESSAGE_TYPE__REGISTER;
    m.register_ = &r;
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    rdv_buf_reserve(&b, rendezvous__pb__message__get_packed_size(&m));
    rdv_buf_commit(&b, rendezvous__pb__message__pack(&m, rdv_buf_tail(&b)));
    return b;
}

/* A cached record replayed by another connection: the service still compares the peer. */
static void test_other_peer_refused(void)
{
    struct counting cnt = {0};
    struct rdv_record_opener inner = {counting_open, &cnt};
    struct rdv_record_cache *c = rdv_record_cache_new(0, 0, &inner);
    struct rdv_record_opener o = rdv_record_cache_opener(c);
    struct rdv_service_config cfg;
    rdv_service_config_defaults(&cfg);
    cfg.opener = &o;
    struct rdv_privkey a = new_key(), b = new_key();
    struct rdv_peerid ida, idb;
    rdv_peerid_from_pubkey(&a.pub, &ida);
    rdv_peerid_from_pubkey(&b.pub, &idb);
    struct rdv_buf env = seal(&rdv_record_kind_peer, &a, 1, 1, NULL);
    struct rdv_buf req = enc_register("ns", rdv_buf_head(&env), env.len);
    struct rdv_service_request r;
    is_int(rdv_service_begin(&cfg, &ida, rdv_buf_head(&req), req.len, &r), RDV_OK, "A registers its record");
    is_int(r.op, RDV_OP_PUT, "A's REGISTER goes to the store");
    rdv_service_request_free(&r);
    is_int(rdv_service_begin(&cfg, &idb, rdv_buf_head(&req), req.len, &r), RDV_OK, "B replays A's record");
    ok(r.op == RDV_OP_NONE && r.status == RDV_STATUS_E_INVALID_PEER_INFO, "B is refused: E_INVALID_PEER_INFO");
    rdv_service_request_free(&r);
    is_int(cnt.calls, 1, "the replay was a cache hit, refused all the same");
    ok(stats(c).hits == 1, "one hit counted");
    rdv_buf_free(&req);
    rdv_buf_free(&env);
    rdv_record_cache_free(c);
}

static void open_n(struct rdv_record_opener *o, struct rdv_buf *envs, size_t from, size_t to)
{
    struct rdv_record_summary s;
    for (size_t i = from; i < to; i++)
        rdv_record_opener_open(o, &rdv_record_kind_peer, rdv_buf_head(&envs[i]), envs[i].len, &s);
}

static void test_eviction(void)
{
    struct counting cnt = {0};
    struct rdv_record_opener inner = {counting_open, &cnt};
    struct rdv_privkey key = new_key();
    struct rdv_buf envs[4];
    for (int i = 0; i < 4; i++)
        envs[i] = seal(&rdv_record_kind_peer, &key, (uint64_t)i + 1, 2, NULL);

    struct rdv_record_cache *c = rdv_record_cache_new(2, 0, &inner);
    struct rdv_record_opener o = rdv_record_cache_opener(c);
    open_n(&o, envs, 0, 2);
    open_n(&o, envs, 0, 1); /* 0 is now the most recent: 1 goes first */
    open_n(&o, envs, 2, 3);
    struct rdv_record_cache_stats s = stats(c);
    ok(s.entries == 2 && s.evictions == 1, "entry bound: 2 entries, 1 eviction");
    cnt.calls = 0;
    open_n(&o, envs, 0, 1);
    is_int(cnt.calls, 0, "the recently used entry stayed");
    open_n(&o, envs, 1, 2);
    is_int(cnt.calls, 1, "the least recently used was evicted");
    size_t one = stats(c).bytes / stats(c).entries;
    rdv_record_cache_free(c);

    c = rdv_record_cache_new(100, 3 * one, &inner);
    o = rdv_record_cache_opener(c);
    open_n(&o, envs, 0, 4);
    s = stats(c);
    ok(s.entries == 3 && s.evictions == 1 && s.bytes <= 3 * one, "byte bound: %zu bytes in %zu entries", s.bytes,
       s.entries);
    rdv_record_cache_free(c);
    c = rdv_record_cache_new(100, one - 1, &inner);
    o = rdv_record_cache_opener(c);
    open_n(&o, envs, 0, 1);
    ok(stats(c).entries == 0 && stats(c).bytes == 0, "an entry larger than the bound is not kept");
    rdv_record_cache_free(c);
    for (int i = 0; i < 4; i++)
        rdv_buf_free(&envs[i]);
}

/* Many entries: the table grows, every one is still found. */
static void test_growth(void)
{
    struct counting cnt = {0};
    struct rdv_record_opener inner = {counting_open, &cnt};
    struct rdv_record_cache *c = rdv_record_cache_new(5000, 0, &inner);
    struct rdv_record_opener o = rdv_record_cache_opener(c);
    struct rdv_privkey key = new_key();
    enum { N = 3000 };
    struct rdv_buf *envs = calloc(N, sizeof(*envs));
    for (size_t i = 0; i < N; i++)
        envs[i] = seal(&rdv_record_kind_peer, &key, i + 1, 1, NULL);
    open_n(&o, envs, 0, N);
    cnt.calls = 0;
    open_n(&o, envs, 0, N);
    ok(cnt.calls == 0 && stats(c).entries == N, "3000 entries across table growth: all hits");
    for (size_t i = 0; i < N; i++)
        rdv_buf_free(&envs[i]);
    free(envs);
    rdv_record_cache_free(c);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_hit_and_miss();
    test_mix_key();
    test_other_peer_refused();
    test_eviction();
    test_growth();
    return tap_done();
}
