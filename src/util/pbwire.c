/* pbwire.c: see pbwire.h. */
#include "util/pbwire.h"

#include "util/err.h"

#define PB_VARINT_MAX 10

size_t rdv_pb_varint(const uint8_t *p, size_t n, uint64_t *v)
{
    uint64_t r = 0;
    for (size_t i = 0; i < n && i < PB_VARINT_MAX; i++) {
        if (i == PB_VARINT_MAX - 1 && p[i] > 1)
            return 0; /* bits past 64 */
        r |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = r;
            return i + 1;
        }
    }
    return 0;
}

static int malformed(struct rdv_pb_reader *r)
{
    r->pos = r->n;
    return -1;
}

static uint64_t le_value(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

int rdv_pb_next(struct rdv_pb_reader *r, struct rdv_pb_field *f)
{
    uint64_t key, v;
    if (r->pos >= r->n)
        return 0;
    size_t k = rdv_pb_varint(r->p + r->pos, r->n - r->pos, &key);
    if (k == 0 || (key >> 3) == 0 || (key >> 3) > UINT32_MAX)
        return malformed(r);
    r->pos += k;
    f->num = (uint32_t)(key >> 3);
    f->wire = (enum rdv_pb_wire)(key & 7);
    f->data = NULL;
    f->len = 0;
    f->varint = 0;
    switch (f->wire) {
    case RDV_PB_VARINT:
        k = rdv_pb_varint(r->p + r->pos, r->n - r->pos, &f->varint);
        if (k == 0)
            return malformed(r);
        r->pos += k;
        return 1;
    case RDV_PB_I64:
    case RDV_PB_I32:
        v = f->wire == RDV_PB_I64 ? 8 : 4;
        if (v > r->n - r->pos)
            return malformed(r);
        f->varint = le_value(r->p + r->pos, (size_t)v);
        r->pos += (size_t)v;
        return 1;
    case RDV_PB_LEN:
        k = rdv_pb_varint(r->p + r->pos, r->n - r->pos, &v);
        if (k == 0 || v > r->n - r->pos - k)
            return malformed(r);
        r->pos += k;
        f->data = r->p + r->pos;
        f->len = (size_t)v;
        r->pos += f->len;
        return 1;
    }
    return malformed(r); /* groups and the reserved wire types 6, 7 */
}

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t rdv_pb_size_varint(uint32_t num, uint64_t v)
{
    return varint_size((uint64_t)num << 3) + varint_size(v);
}

size_t rdv_pb_size_len(uint32_t num, size_t len)
{
    return varint_size((uint64_t)num << 3 | RDV_PB_LEN) + varint_size(len) + len;
}

size_t rdv_pb_encode_varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    do {
        out[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            out[n] |= 0x80;
        n++;
    } while (v);
    return n;
}

static int put_raw_varint(struct rdv_buf *b, uint64_t v)
{
    uint8_t tmp[PB_VARINT_MAX];
    return rdv_buf_append(b, tmp, rdv_pb_encode_varint(tmp, v));
}

int rdv_pb_put_varint(struct rdv_buf *b, uint32_t num, uint64_t v)
{
    int rc = put_raw_varint(b, (uint64_t)num << 3 | RDV_PB_VARINT);
    return rc ? rc : put_raw_varint(b, v);
}

int rdv_pb_put_len_header(struct rdv_buf *b, uint32_t num, size_t len)
{
    int rc = put_raw_varint(b, (uint64_t)num << 3 | RDV_PB_LEN);
    return rc ? rc : put_raw_varint(b, len);
}

int rdv_pb_put_len(struct rdv_buf *b, uint32_t num, const void *p, size_t len)
{
    int rc = rdv_pb_put_len_header(b, num, len);
    return rc || !len ? rc : rdv_buf_append(b, p, len);
}
