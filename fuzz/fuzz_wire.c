/* fuzz_wire.c: the rendezvous wire (rendezvous/wire.c over util/pbwire.c), both layouts, both
 * directions. Byte 0 picks the layout (bit 0: waku0 / std) and the direction (bit 1: a request
 * as the server reads it / a response as a client reads it); the rest is the Message.
 * A decoded request re-encodes and decodes to the same fields; a decoded response's registrations
 * iterate to the end without reading outside the input, and re-encode to the same fields. */
#include <string.h>

#include "fuzz.h"
#include "rendezvous/wire.h"
#include "util/buf.h"
#include "util/err.h"

static int same_slice(struct rdv_wire_slice a, struct rdv_wire_slice b)
{
    if (!a.p != !b.p || a.len != b.len)
        return 0;
    return a.len == 0 || memcmp(a.p, b.p, a.len) == 0;
}

static int inside(struct rdv_wire_slice s, const uint8_t *p, size_t n)
{
    return !s.p || s.len == 0 || (s.p >= p && s.p + s.len <= p + n);
}

static void request(const struct rdv_wire_layout *l, const uint8_t *p, size_t n)
{
    struct rdv_wire_request a, b;
    if (rdv_wire_decode_request(l, p, n, &a) != RDV_OK)
        return;
    FUZZ_ASSERT(a.type < RDV_REQ_TYPE_COUNT);
    FUZZ_ASSERT(l->t_unregister != RDV_WIRE_NO_TYPE || a.type != RDV_REQ_UNREGISTER);
    FUZZ_ASSERT(inside(a.ns, p, n) && inside(a.record, p, n) && inside(a.cookie, p, n));
    FUZZ_ASSERT(l->has_cookies || !a.cookie.p);
    struct rdv_buf out;
    rdv_buf_init(&out, 0);
    FUZZ_ASSERT(rdv_wire_encode_request(l, &a, &out) == RDV_OK);
    FUZZ_ASSERT(rdv_wire_decode_request(l, rdv_buf_head(&out), out.len, &b) == RDV_OK);
    FUZZ_ASSERT(a.type == b.type && same_slice(a.ns, b.ns) && same_slice(a.record, b.record) &&
                same_slice(a.cookie, b.cookie));
    FUZZ_ASSERT(a.has_ttl == b.has_ttl && a.ttl == b.ttl && a.has_limit == b.has_limit && a.limit == b.limit);
    rdv_buf_free(&out);
}

#define MAXR 64

static void response(const struct rdv_wire_layout *l, const uint8_t *p, size_t n)
{
    struct rdv_wire_response a, b;
    struct rdv_wire_registration regs[MAXR], g;
    if (rdv_wire_decode_response(l, p, n, &a) != RDV_OK)
        return;
    FUZZ_ASSERT(a.type == RDV_REQ_REGISTER || a.type == RDV_REQ_DISCOVER);
    FUZZ_ASSERT(inside(a.text, p, n) && inside(a.cookie, p, n));
    struct rdv_wire_reg_iter it = {0, 0, 0};
    size_t k = 0, steps = 0;
    int rc;
    while ((rc = rdv_wire_next_registration(&a, &it, &g)) == 1) {
        FUZZ_ASSERT(inside(g.ns, p, n) && inside(g.record, p, n));
        if (k < MAXR)
            regs[k] = g;
        k++;
        FUZZ_ASSERT(++steps <= n); /* each registration takes at least one byte */
    }
    if (rc == 0)
        FUZZ_ASSERT(rdv_wire_next_registration(&a, &it, &g) == 0); /* stays at the end */
    if (rc < 0 || k > MAXR)
        return;
    a.regs = regs;
    a.nregs = a.type == RDV_REQ_DISCOVER ? k : 0;
    struct rdv_buf out;
    rdv_buf_init(&out, 0);
    FUZZ_ASSERT(rdv_wire_encode_response(l, &a, &out) == RDV_OK);
    FUZZ_ASSERT(rdv_wire_decode_response(l, rdv_buf_head(&out), out.len, &b) == RDV_OK);
    FUZZ_ASSERT(a.type == b.type && a.status == b.status && a.text.len == b.text.len);
    FUZZ_ASSERT(a.text.len == 0 || memcmp(a.text.p, b.text.p, a.text.len) == 0);
    if (a.type == RDV_REQ_REGISTER) {
        FUZZ_ASSERT(a.ttl == b.ttl);
    } else {
        size_t want_cookie = l->has_cookies ? a.cookie.len : 0;
        FUZZ_ASSERT(b.cookie.len == want_cookie);
        FUZZ_ASSERT(want_cookie == 0 || memcmp(a.cookie.p, b.cookie.p, want_cookie) == 0);
        struct rdv_wire_reg_iter jt = {0, 0, 0};
        size_t m = 0;
        while (rdv_wire_next_registration(&b, &jt, &g) == 1) {
            FUZZ_ASSERT(m < k);
            FUZZ_ASSERT(g.ttl == regs[m].ttl && g.ns.len == regs[m].ns.len && g.record.len == regs[m].record.len);
            FUZZ_ASSERT(g.ns.len == 0 || memcmp(g.ns.p, regs[m].ns.p, g.ns.len) == 0);
            FUZZ_ASSERT(g.record.len == 0 || memcmp(g.record.p, regs[m].record.p, g.record.len) == 0);
            m++;
        }
        FUZZ_ASSERT(m == k);
    }
    rdv_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const struct rdv_wire_layout *l = data[0] & 1 ? &rdv_wire_layout_std : &rdv_wire_layout_waku0;
    if (data[0] & 2)
        response(l, data + 1, size - 1);
    else
        request(l, data + 1, size - 1);
    return 0;
}
