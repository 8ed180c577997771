/* test_csprng.c: the sampling PRNG (util/csprng.h) and DISCOVER sampling through it: the same
 * seed gives the same stream, uniform draws stay in range and are roughly uniform (a bounded smoke
 * test with a fixed seed, so it cannot flake), and the index's sample is a uniform k-subset. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "store/index.h"
#include "tap.h"
#include "util/csprng.h"
#include "util/err.h"

static const uint8_t SEED[RDV_CSPRNG_SEEDBYTES] = "rendezvous sampling test seed!!";

static void test_stream(void)
{
    struct rdv_csprng a, b;
    rdv_csprng_init_seed(&a, SEED);
    rdv_csprng_init_seed(&b, SEED);
    bool same = true;
    for (int i = 0; i < 1000; i++) /* crosses several refills */
        same &= rdv_csprng_u32(&a) == rdv_csprng_u32(&b);
    ok(same, "same seed, same stream over 1000 draws");
    rdv_csprng_init(&b);
    int equal = 0;
    for (int i = 0; i < 100; i++)
        equal += rdv_csprng_u32(&a) == rdv_csprng_u32(&b);
    ok(equal < 3, "an OS seed gives another stream");
    is_int((int)rdv_csprng_uniform(&a, 0), 0, "uniform(0) is 0");
    is_int((int)rdv_csprng_uniform(&a, 1), 0, "uniform(1) is 0");
}

/* Chi-square over 10 buckets, 100 000 draws: 9 degrees of freedom, p = 0.001 at 27.9. */
static void test_uniform(void)
{
    struct rdv_csprng g;
    rdv_csprng_init_seed(&g, SEED);
    enum { B = 10, N = 100000 };
    unsigned hist[B] = {0};
    bool in_range = true;
    for (int i = 0; i < N; i++) {
        uint32_t v = rdv_csprng_uniform(&g, B);
        in_range &= v < B;
        hist[v < B ? v : 0]++;
    }
    double chi = 0;
    for (int i = 0; i < B; i++)
        chi += (hist[i] - N / (double)B) * (hist[i] - N / (double)B) / (N / (double)B);
    ok(in_range, "uniform(10) stays below 10");
    ok(chi < 27.9, "uniform(10) chi-square %.2f < 27.9 (9 df)", chi);
    uint32_t big = 3000000000u, max = 0;
    for (int i = 0; i < 1000; i++) {
        uint32_t v = rdv_csprng_uniform(&g, big);
        max = v > max ? v : max;
    }
    ok(max < big && max > big / 2, "uniform(3e9) in range, reaches the upper half");
}

/* 20 records, samples of 5, 20 000 times: each record is picked 5000 times on average. */
static void test_index_sampling(void)
{
    struct rdv_index *ix = rdv_index_new();
    rdv_index_seed_sampling(ix, SEED);
    enum { R = 20, K = 5, ROUNDS = 20000 };
    struct rdv_peerid peers[R];
    for (int i = 0; i < R; i++) {
        memset(&peers[i], 0, sizeof(peers[i]));
        peers[i].len = 8;
        peers[i].bytes[0] = (uint8_t)i;
        struct rdv_index_key key = {.kind = 0, .ns = "ns", .ns_len = 2, .peer = &peers[i]};
        struct rdv_index_meta m = {.seq = 1, .counter = (uint64_t)i + 1, .expires_ms = 1000};
        rdv_index_insert(ix, &key, &m, NULL);
    }
    unsigned hits[R] = {0};
    bool distinct = true;
    for (int r = 0; r < ROUNDS; r++) {
        struct rdv_index_rec *const *recs;
        size_t k;
        rdv_index_sample(ix, 0, "ns", 2, K, &recs, &k);
        unsigned seen = 0;
        for (size_t i = 0; i < k; i++) {
            unsigned id = recs[i]->peer->id.bytes[0];
            distinct &= !(seen & (1u << id));
            seen |= 1u << id;
            hits[id]++;
        }
        distinct &= k == K;
    }
    double exp = ROUNDS * K / (double)R, chi = 0;
    for (int i = 0; i < R; i++)
        chi += (hits[i] - exp) * (hits[i] - exp) / exp;
    ok(distinct, "every sample holds %d distinct records", K);
    ok(chi < 43.8, "records picked uniformly: chi-square %.2f < 43.8 (19 df, p = 0.001)", chi); /* fixed seed */
    rdv_index_free(ix);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_stream();
    test_uniform();
    test_index_sampling();
    return tap_done();
}
