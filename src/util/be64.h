/* be64.h: 64-bit big-endian integers in byte arrays (on-disk keys and values, cookies), without
 * alignment or host byte-order assumptions. */
#ifndef RDV_BE64_H
#define RDV_BE64_H

#include <stdint.h>

static inline void rdv_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static inline uint64_t rdv_get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

#endif
