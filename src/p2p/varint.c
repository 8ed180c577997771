/* varint.c: see varint.h. The spec (multiformats/unsigned-varint) requires minimal encodings
 * and caps the practical size at 9 bytes; both are enforced so that one value has one encoding. */
#include "p2p/varint.h"

#include "util/err.h"

#define UVARINT_DECODE_MAX 9

size_t rdv_uvarint_encode(uint64_t v, uint8_t out[RDV_UVARINT_MAX_LEN])
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

size_t rdv_uvarint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

int rdv_uvarint_decode(const uint8_t *p, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < UVARINT_DECODE_MAX; i++) {
        if (i >= len)
            return RDV_ERR_TRUNCATED;
        uint8_t b = p[i];
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            if (b == 0 && i > 0) /* trailing zero group: not minimal */
                return RDV_ERR_INVALID;
            *out = v;
            return (int)(i + 1);
        }
    }
    return RDV_ERR_INVALID;
}
