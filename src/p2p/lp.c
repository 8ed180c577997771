/* lp.c: see lp.h. */
#include "p2p/lp.h"

#include "p2p/varint.h"
#include "util/err.h"

int rdv_lp_peek(const uint8_t *in, size_t len, size_t max, const uint8_t **msg, size_t *msglen, size_t *total)
{
    uint64_t n;
    int hdr = rdv_uvarint_decode(in, len, &n);
    if (hdr == RDV_ERR_TRUNCATED)
        return 0;
    if (hdr < 0)
        return RDV_ERR_INVALID;
    if (n > max)
        return RDV_ERR_TOO_LARGE;
    if (len - (size_t)hdr < n)
        return 0;
    *msg = in + hdr;
    *msglen = (size_t)n;
    *total = (size_t)hdr + (size_t)n;
    return 1;
}

int rdv_lp_append(struct rdv_buf *out, const uint8_t *p, size_t n)
{
    int err = rdv_buf_append_uvarint(out, n);
    return err ? err : rdv_buf_append(out, p, n);
}
