/* csprng.c: see csprng.h. */
#include "util/csprng.h"

#include <sodium.h>
#include <string.h>

static void refill(struct rdv_csprng *g)
{
    uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
    for (size_t i = 0; i < sizeof(nonce); i++)
        nonce[i] = (uint8_t)(g->block >> (8 * i));
    g->block++;
    crypto_stream_chacha20(g->buf, sizeof(g->buf), nonce, g->key);
    g->pos = 0;
}

void rdv_csprng_init_seed(struct rdv_csprng *g, const uint8_t seed[RDV_CSPRNG_SEEDBYTES])
{
    memcpy(g->key, seed, RDV_CSPRNG_SEEDBYTES);
    g->block = 0;
    g->pos = sizeof(g->buf); /* empty: the first draw refills */
}

void rdv_csprng_init(struct rdv_csprng *g)
{
    uint8_t seed[RDV_CSPRNG_SEEDBYTES];
    randombytes_buf(seed, sizeof(seed));
    rdv_csprng_init_seed(g, seed);
    sodium_memzero(seed, sizeof(seed));
}

uint32_t rdv_csprng_u32(struct rdv_csprng *g)
{
    if (g->pos + 4 > sizeof(g->buf))
        refill(g);
    const uint8_t *p = g->buf + g->pos;
    g->pos += 4;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* As libsodium's randombytes_uniform: reject the 2^32 mod upper lowest values, so every residue
 * is equally likely; at most one draw in two is rejected, usually far fewer. */
uint32_t rdv_csprng_uniform(struct rdv_csprng *g, uint32_t upper)
{
    if (upper < 2)
        return 0;
    uint32_t min = (1U + ~upper) % upper; /* 2^32 mod upper */
    uint32_t r;
    do
        r = rdv_csprng_u32(g);
    while (r < min);
    return r % upper;
}

void rdv_csprng_clear(struct rdv_csprng *g)
{
    sodium_memzero(g, sizeof(*g));
}
