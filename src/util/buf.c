/* buf.c: see buf.h. */
#include "util/buf.h"

#include <stdlib.h>
#include <string.h>

#include "p2p/varint.h"
#include "util/err.h"

void rdv_buf_init(struct rdv_buf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max ? max : SIZE_MAX;
}

void rdv_buf_free(struct rdv_buf *b)
{
    free(b->data);
    size_t max = b->max;
    memset(b, 0, sizeof(*b));
    b->max = max;
}

void rdv_buf_reset(struct rdv_buf *b)
{
    b->off = 0;
    b->len = 0;
}

int rdv_buf_reserve(struct rdv_buf *b, size_t extra)
{
    size_t max = b->max ? b->max : SIZE_MAX; /* a zeroed struct means "no cap", as buf.h says */
    if (extra > max || b->len > max - extra)
        return RDV_ERR_TOO_LARGE;
    size_t need = b->len + extra;
    if (need <= b->cap - b->off) /* written so that off + need cannot wrap around */
        return RDV_OK;
    if (b->off > 0) { /* reclaim consumed space before growing */
        memmove(b->data, b->data + b->off, b->len);
        b->off = 0;
        if (need <= b->cap)
            return RDV_OK;
    }
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > max) /* the allocation never exceeds the cap either */
        ncap = max;
    uint8_t *p = realloc(b->data, ncap);
    if (!p)
        return RDV_ERR_NOMEM;
    b->data = p;
    b->cap = ncap;
    return RDV_OK;
}

int rdv_buf_append(struct rdv_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return RDV_OK;
    int rc = rdv_buf_reserve(b, n);
    if (rc)
        return rc;
    memcpy(rdv_buf_tail(b), p, n);
    b->len += n;
    return RDV_OK;
}

int rdv_buf_append_byte(struct rdv_buf *b, uint8_t c)
{
    return rdv_buf_append(b, &c, 1);
}

int rdv_buf_append_uvarint(struct rdv_buf *b, uint64_t v)
{
    uint8_t tmp[RDV_UVARINT_MAX_LEN];
    size_t n = rdv_uvarint_encode(v, tmp);
    return rdv_buf_append(b, tmp, n);
}

void rdv_buf_consume(struct rdv_buf *b, size_t n)
{
    if (n >= b->len) {
        b->off = 0;
        b->len = 0;
        return;
    }
    b->off += n;
    b->len -= n;
}
