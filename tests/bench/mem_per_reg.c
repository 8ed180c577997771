/* mem_per_reg: what one live registration costs on the memory store, beyond its envelope bytes
 * (issue 12's memory target: 10 M registrations at <= 256 B each). A measurement, not a test.
 *
 *   tests/bench/mem_per_reg PEERS NAMESPACES [ENVELOPE_BYTES]   e.g. 10000 1000: 10 M, several GB
 *   tests/bench/mem_per_reg                                     a TAP smoke run of 200 x 10 (make check)
 *
 * It fills a memory store through the store API (rdv_store_put, as the service does: every peer
 * registers in every namespace, TTL 1 day so nothing expires), then reports the heap in use
 * (mallinfo2: allocated bytes, malloc's own headers included) and the RSS growth, per registration,
 * minus the envelope bytes themselves. The namespace names and peer ids are what Waku uses:
 * "/waku/2/rs/1/N"-like names and 38-byte ed25519 peer ids. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/memory.h"
#include "store/store.h"

static void put_cb(void *arg, enum rdv_store_status st) { *(enum rdv_store_status *)arg = st; }

static long rss_bytes(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = 0;
    fclose(f);
    return rss * sysconf(_SC_PAGESIZE);
}

int main(int argc, char **argv)
{
    int smoke = argc < 3;
    unsigned long peers = smoke ? 200 : strtoul(argv[1], NULL, 10);
    unsigned long nss = smoke ? 10 : strtoul(argv[2], NULL, 10);
    size_t env_len = argc > 3 ? strtoul(argv[3], NULL, 10) : 200;
    if (peers == 0 || nss == 0 || env_len == 0 || env_len > RDV_STORE_ENVELOPE_MAX) {
        fprintf(stderr, "usage: %s [PEERS NAMESPACES [ENVELOPE_BYTES]]\n", argv[0]);
        return 2;
    }
    uint8_t *env = malloc(env_len);
    if (!env)
        return 1;
    memset(env, 0xa5, env_len);
    struct rdv_store *s = rdv_store_memory_new(&rdv_clock_system);
    if (!s)
        return 1;
    struct mallinfo2 m0 = mallinfo2();
    long rss0 = rss_bytes();
    unsigned long failed = 0;
    for (unsigned long p = 0; p < peers; p++) {
        struct rdv_peerid id = { .len = 38 };
        memcpy(id.bytes, "\x00\x24\x08\x01\x12\x20", 6);
        for (size_t i = 6; i < id.len; i++)
            id.bytes[i] = (uint8_t)((p * 2654435761u) >> (i % 24)) ^ (uint8_t)(p >> ((i % 4) * 8)) ^ (uint8_t)i;
        for (unsigned long n = 0; n < nss; n++) {
            char ns[32];
            int len = snprintf(ns, sizeof(ns), "/waku/2/rs/16/%lu", n);
            struct rdv_store_put put = { .ns = ns, .ns_len = (size_t)len, .peer = &id, .seq = 1, .envelope = env,
                                         .envelope_len = env_len, .ttl_s = 86400 };
            enum rdv_store_status st = RDV_STORE_ERROR;
            rdv_store_put(s, &put, put_cb, &st);
            failed += st != RDV_STORE_OK;
        }
    }
    struct mallinfo2 m1 = mallinfo2();
    long rss1 = rss_bytes();
    unsigned long n = peers * nss;
    double heap = (double)(m1.uordblks + m1.hblkhd - m0.uordblks - m0.hblkhd) / (double)n;
    double rss = (double)(rss1 - rss0) / (double)n;
    if (smoke) {
        printf("1..2\n%s 1 - %lu puts OK\n", failed ? "not ok" : "ok", n);
        printf("ok 2 - # %.0f B heap per registration beyond the %zu envelope bytes (smoke size)\n",
               heap - (double)env_len, env_len);
    } else {
        printf("%lu peers x %lu namespaces = %lu registrations (%lu failed), envelope %zu B\n", peers, nss, n, failed,
               env_len);
        printf("heap: %.1f B per registration, %.1f B beyond the envelope; RSS: %.1f B, %.1f B beyond\n", heap,
               heap - (double)env_len, rss, rss - (double)env_len);
    }
    rdv_store_close(s);
    free(env);
    return failed ? 1 : 0;
}
