/* wire.c: see wire.h. Field numbers inside the submessages, shared by every layout:
 *   Register { ns = 1; signedPeerRecord = 2; ttl = 3 }   RegisterResponse { status = 1; statusText = 2; ttl = 3 }
 *   Unregister { ns = 1 }   Discover { ns = 1; limit = 2; cookie = 3 }
 *   DiscoverResponse { registrations = 1; cookie = 2; status = 3; statusText = 4 }
 * and Message.type = 1 in both. */
#include "rendezvous/wire.h"

#include <string.h>

#include "util/err.h"
#include "util/pbwire.h"

enum { F_TYPE = 1 };
enum { REG_NS = 1, REG_RECORD = 2, REG_TTL = 3 };
enum { RR_STATUS = 1, RR_TEXT = 2, RR_TTL = 3 };
enum { DISC_NS = 1, DISC_LIMIT = 2, DISC_COOKIE = 3 };
enum { DR_REGS = 1, DR_COOKIE = 2, DR_STATUS = 3, DR_TEXT = 4 };

/* go-waku-rendezvous pb/rendezvous.proto */
const struct rdv_wire_layout rdv_wire_layout_waku0 = {
    .f_register = 2, .f_register_response = 3, .f_unregister = RDV_WIRE_NO_FIELD, .f_discover = 4,
    .f_discover_response = 5,
    .t_register = 0, .t_register_response = 1, .t_unregister = RDV_WIRE_NO_TYPE, .t_discover = 2,
    .t_discover_response = 3,
    .has_cookies = false, .explicit_defaults = false, .signed_ints = true,
};

/* libp2p/specs rendezvous/README.md */
const struct rdv_wire_layout rdv_wire_layout_std = {
    .f_register = 2, .f_register_response = 3, .f_unregister = 4, .f_discover = 5, .f_discover_response = 6,
    .t_register = 0, .t_register_response = 1, .t_unregister = 2, .t_discover = 3, .t_discover_response = 4,
    .has_cookies = true, .explicit_defaults = true, .signed_ints = false,
};

const char *rdv_req_type_name(enum rdv_req_type t)
{
    switch (t) {
    case RDV_REQ_REGISTER: return "register";
    case RDV_REQ_UNREGISTER: return "unregister";
    case RDV_REQ_DISCOVER: return "discover";
    case RDV_REQ_TYPE_COUNT: break;
    }
    return "unknown";
}

static struct rdv_wire_slice slice(const struct rdv_pb_field *f)
{
    return (struct rdv_wire_slice){f->data ? f->data : (const uint8_t *)"", f->len};
}

/* ---- requests -------------------------------------------------------------------------- */

/* The fields of one Register / Unregister / Discover occurrence, merged into out. */
static int read_request_body(const struct rdv_wire_layout *l, uint32_t which, const uint8_t *p, size_t n,
                             struct rdv_wire_request *out)
{
    struct rdv_pb_reader r;
    struct rdv_pb_field f;
    int rc;
    rdv_pb_reader_init(&r, p, n);
    while ((rc = rdv_pb_next(&r, &f)) == 1) {
        bool len = f.wire == RDV_PB_LEN, var = f.wire == RDV_PB_VARINT;
        if (f.num == 1) { /* ns, in all three */
            if (!len)
                return RDV_ERR_INVALID;
            out->ns = slice(&f);
        } else if (which == l->f_register && f.num == REG_RECORD) {
            if (!len)
                return RDV_ERR_INVALID;
            out->record = slice(&f);
        } else if (which == l->f_register && f.num == REG_TTL) {
            if (!var)
                return RDV_ERR_INVALID;
            out->has_ttl = true;
            out->ttl = f.varint;
        } else if (which == l->f_discover && f.num == DISC_LIMIT) {
            if (!var)
                return RDV_ERR_INVALID;
            out->has_limit = true;
            out->limit = f.varint;
        } else if (which == l->f_discover && f.num == DISC_COOKIE && l->has_cookies) {
            if (!len)
                return RDV_ERR_INVALID;
            out->cookie = slice(&f);
        }
    }
    return rc < 0 ? RDV_ERR_INVALID : RDV_OK;
}

static int type_of(const struct rdv_wire_layout *l, uint64_t v, enum rdv_req_type *t)
{
    if (v == (uint64_t)l->t_register)
        *t = RDV_REQ_REGISTER;
    else if (l->t_unregister != RDV_WIRE_NO_TYPE && v == (uint64_t)l->t_unregister)
        *t = RDV_REQ_UNREGISTER;
    else if (v == (uint64_t)l->t_discover)
        *t = RDV_REQ_DISCOVER;
    else
        return RDV_ERR_INVALID; /* a response, or a type this layout does not know */
    return RDV_OK;
}

static uint32_t body_field(const struct rdv_wire_layout *l, enum rdv_req_type t)
{
    return t == RDV_REQ_REGISTER ? l->f_register : t == RDV_REQ_UNREGISTER ? l->f_unregister : l->f_discover;
}

int rdv_wire_decode_request(const struct rdv_wire_layout *l, const uint8_t *msg, size_t n,
                            struct rdv_wire_request *out)
{
    struct rdv_pb_reader r;
    struct rdv_pb_field f;
    uint64_t type = (uint64_t)l->t_register; /* absent: the enum's zero value, REGISTER */
    int rc;
    memset(out, 0, sizeof(*out));
    if (!msg && n)
        return RDV_ERR_INVALID;
    rdv_pb_reader_init(&r, msg, n);
    while ((rc = rdv_pb_next(&r, &f)) == 1)
        if (f.num == F_TYPE) {
            if (f.wire != RDV_PB_VARINT)
                return RDV_ERR_INVALID;
            type = f.varint;
        }
    if (rc < 0 || type_of(l, type, &out->type))
        return RDV_ERR_INVALID;
    uint32_t want = body_field(l, out->type);
    rdv_pb_reader_init(&r, msg, n);
    while (rdv_pb_next(&r, &f) == 1) {
        if (f.num != want)
            continue; /* other submessages than the type's are ignored, as protobuf readers do */
        if (f.wire != RDV_PB_LEN || read_request_body(l, want, f.data, f.len, out))
            return RDV_ERR_INVALID;
    }
    return RDV_OK;
}

static size_t request_body_size(const struct rdv_wire_layout *l, const struct rdv_wire_request *r)
{
    size_t n = r->ns.p ? rdv_pb_size_len(1, r->ns.len) : 0;
    if (r->type == RDV_REQ_REGISTER) {
        n += r->record.p ? rdv_pb_size_len(REG_RECORD, r->record.len) : 0;
        n += r->has_ttl ? rdv_pb_size_varint(REG_TTL, r->ttl) : 0;
    } else if (r->type == RDV_REQ_DISCOVER) {
        n += r->has_limit ? rdv_pb_size_varint(DISC_LIMIT, r->limit) : 0;
        n += l->has_cookies && r->cookie.p ? rdv_pb_size_len(DISC_COOKIE, r->cookie.len) : 0;
    }
    return n;
}

int rdv_wire_encode_request(const struct rdv_wire_layout *l, const struct rdv_wire_request *r, struct rdv_buf *out)
{
    int32_t type = r->type == RDV_REQ_REGISTER ? l->t_register : r->type == RDV_REQ_UNREGISTER ? l->t_unregister
                                                                                               : l->t_discover;
    if (type == RDV_WIRE_NO_TYPE || r->type >= RDV_REQ_TYPE_COUNT)
        return RDV_ERR_UNSUPPORTED;
    int rc = type || l->explicit_defaults ? rdv_pb_put_varint(out, F_TYPE, (uint64_t)type) : RDV_OK;
    if (rc == RDV_OK)
        rc = rdv_pb_put_len_header(out, body_field(l, r->type), request_body_size(l, r));
    if (rc == RDV_OK && r->ns.p)
        rc = rdv_pb_put_len(out, 1, r->ns.p, r->ns.len);
    if (r->type == RDV_REQ_REGISTER) {
        if (rc == RDV_OK && r->record.p)
            rc = rdv_pb_put_len(out, REG_RECORD, r->record.p, r->record.len);
        if (rc == RDV_OK && r->has_ttl)
            rc = rdv_pb_put_varint(out, REG_TTL, r->ttl);
    } else if (r->type == RDV_REQ_DISCOVER) {
        if (rc == RDV_OK && r->has_limit)
            rc = rdv_pb_put_varint(out, DISC_LIMIT, r->limit);
        if (rc == RDV_OK && l->has_cookies && r->cookie.p)
            rc = rdv_pb_put_len(out, DISC_COOKIE, r->cookie.p, r->cookie.len);
    }
    return rc;
}

/* ---- responses ------------------------------------------------------------------------- */

static size_t reg_body_size(size_t ns_len, size_t record_len, uint64_t ttl, bool explicit_defaults)
{
    return rdv_pb_size_len(REG_NS, ns_len) + rdv_pb_size_len(REG_RECORD, record_len) +
           (ttl || explicit_defaults ? rdv_pb_size_varint(REG_TTL, ttl) : 0);
}

size_t rdv_wire_registration_size(size_t ns_len, size_t record_len, uint64_t ttl)
{
    return rdv_pb_size_len(DR_REGS, reg_body_size(ns_len, record_len, ttl, true));
}

static size_t opt_len_size(uint32_t num, struct rdv_wire_slice s) { return s.p && s.len ? rdv_pb_size_len(num, s.len) : 0; }

static size_t status_size(uint32_t num, uint32_t status, bool explicit_defaults)
{
    return status || explicit_defaults ? rdv_pb_size_varint(num, status) : 0;
}

static int put_status(struct rdv_buf *b, uint32_t num, uint32_t status, bool explicit_defaults)
{
    return status || explicit_defaults ? rdv_pb_put_varint(b, num, status) : RDV_OK;
}

static int put_opt_len(struct rdv_buf *b, uint32_t num, struct rdv_wire_slice s)
{
    return s.p && s.len ? rdv_pb_put_len(b, num, s.p, s.len) : RDV_OK;
}

static int encode_register_response(const struct rdv_wire_layout *l, const struct rdv_wire_response *r,
                                    struct rdv_buf *out)
{
    bool x = l->explicit_defaults;
    size_t body = status_size(RR_STATUS, r->status, x) + opt_len_size(RR_TEXT, r->text) +
                  (r->ttl || x ? rdv_pb_size_varint(RR_TTL, r->ttl) : 0);
    int rc = rdv_pb_put_varint(out, F_TYPE, (uint64_t)l->t_register_response);
    if (rc == RDV_OK)
        rc = rdv_pb_put_len_header(out, l->f_register_response, body);
    if (rc == RDV_OK)
        rc = put_status(out, RR_STATUS, r->status, x);
    if (rc == RDV_OK)
        rc = put_opt_len(out, RR_TEXT, r->text);
    if (rc == RDV_OK && (r->ttl || x))
        rc = rdv_pb_put_varint(out, RR_TTL, r->ttl);
    return rc;
}

static size_t raw_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    do {
        p[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            p[n] |= 0x80;
        n++;
    } while (v);
    return n;
}

static size_t raw_len(uint8_t *p, uint32_t num, const uint8_t *data, size_t len)
{
    size_t n = raw_varint(p, (uint64_t)num << 3 | RDV_PB_LEN);
    n += raw_varint(p + n, len);
    if (len)
        memcpy(p + n, data, len);
    return n + len;
}

/* One Registration, written in place: a DISCOVER answer holds up to 1000 of them, so the generic
 * per-field appends (a bounds check and call each) cost more than the copy of the record. */
static int put_registration(struct rdv_buf *b, const struct rdv_wire_registration *g, bool x)
{
    size_t body = reg_body_size(g->ns.len, g->record.len, g->ttl, x), total = rdv_pb_size_len(DR_REGS, body);
    int rc = rdv_buf_reserve(b, total); /* a no-op after the whole answer's reservation */
    if (rc)
        return rc;
    uint8_t *p = rdv_buf_tail(b);
    size_t n = raw_varint(p, (uint64_t)DR_REGS << 3 | RDV_PB_LEN);
    n += raw_varint(p + n, body);
    n += raw_len(p + n, REG_NS, g->ns.p, g->ns.len);
    n += raw_len(p + n, REG_RECORD, g->record.p, g->record.len);
    if (g->ttl || x) {
        n += raw_varint(p + n, (uint64_t)REG_TTL << 3 | RDV_PB_VARINT);
        n += raw_varint(p + n, g->ttl);
    }
    rdv_buf_commit(b, n);
    return n == total ? RDV_OK : RDV_ERR_INTERNAL;
}

static int encode_discover_response(const struct rdv_wire_layout *l, const struct rdv_wire_response *r,
                                    struct rdv_buf *out)
{
    bool x = l->explicit_defaults;
    size_t body = status_size(DR_STATUS, r->status, x) + opt_len_size(DR_TEXT, r->text);
    struct rdv_wire_slice cookie = l->has_cookies ? r->cookie : (struct rdv_wire_slice){NULL, 0};
    body += opt_len_size(DR_COOKIE, cookie);
    for (size_t i = 0; i < r->nregs; i++)
        body += rdv_pb_size_len(DR_REGS, reg_body_size(r->regs[i].ns.len, r->regs[i].record.len, r->regs[i].ttl, x));
    int rc = rdv_pb_put_varint(out, F_TYPE, (uint64_t)l->t_discover_response);
    if (rc == RDV_OK)
        rc = rdv_buf_reserve(out, body + 8); /* one allocation for the whole answer */
    if (rc == RDV_OK)
        rc = rdv_pb_put_len_header(out, l->f_discover_response, body);
    for (size_t i = 0; i < r->nregs && rc == RDV_OK; i++)
        rc = put_registration(out, &r->regs[i], x);
    if (rc == RDV_OK)
        rc = put_opt_len(out, DR_COOKIE, cookie);
    if (rc == RDV_OK)
        rc = put_status(out, DR_STATUS, r->status, x);
    if (rc == RDV_OK)
        rc = put_opt_len(out, DR_TEXT, r->text);
    return rc;
}

int rdv_wire_encode_response(const struct rdv_wire_layout *l, const struct rdv_wire_response *r, struct rdv_buf *out)
{
    if (r->type == RDV_REQ_REGISTER)
        return encode_register_response(l, r, out);
    if (r->type == RDV_REQ_DISCOVER)
        return encode_discover_response(l, r, out);
    return RDV_ERR_UNSUPPORTED; /* UNREGISTER has no response */
}

static int read_response_body(bool discover, bool cookies, const uint8_t *p, size_t n, struct rdv_wire_response *out)
{
    struct rdv_pb_reader r;
    struct rdv_pb_field f;
    int rc;
    uint32_t f_status = discover ? DR_STATUS : RR_STATUS, f_text = discover ? DR_TEXT : RR_TEXT;
    rdv_pb_reader_init(&r, p, n);
    while ((rc = rdv_pb_next(&r, &f)) == 1) {
        if (f.num == f_status && f.wire == RDV_PB_VARINT)
            out->status = f.varint > UINT32_MAX ? UINT32_MAX : (uint32_t)f.varint;
        else if (f.num == f_text && f.wire == RDV_PB_LEN)
            out->text = slice(&f);
        else if (!discover && f.num == RR_TTL && f.wire == RDV_PB_VARINT)
            out->ttl = f.varint;
        else if (discover && cookies && f.num == DR_COOKIE && f.wire == RDV_PB_LEN)
            out->cookie = slice(&f);
    }
    return rc < 0 ? RDV_ERR_INVALID : RDV_OK;
}

int rdv_wire_decode_response(const struct rdv_wire_layout *l, const uint8_t *msg, size_t n,
                             struct rdv_wire_response *out)
{
    struct rdv_pb_reader r;
    struct rdv_pb_field f;
    uint64_t type = 0;
    int rc;
    memset(out, 0, sizeof(*out));
    rdv_pb_reader_init(&r, msg, n);
    while ((rc = rdv_pb_next(&r, &f)) == 1)
        if (f.num == F_TYPE && f.wire == RDV_PB_VARINT)
            type = f.varint;
    if (rc < 0)
        return RDV_ERR_INVALID;
    bool discover = type == (uint64_t)l->t_discover_response;
    if (!discover && type != (uint64_t)l->t_register_response)
        return RDV_ERR_INVALID;
    out->type = discover ? RDV_REQ_DISCOVER : RDV_REQ_REGISTER;
    uint32_t want = discover ? l->f_discover_response : l->f_register_response;
    rdv_pb_reader_init(&r, msg, n);
    while (rdv_pb_next(&r, &f) == 1) {
        if (f.num != want)
            continue;
        if (f.wire != RDV_PB_LEN || read_response_body(discover, l->has_cookies, f.data, f.len, out))
            return RDV_ERR_INVALID;
    }
    if (discover) { /* the registrations of every occurrence, read by rdv_wire_next_registration */
        out->body = (struct rdv_wire_slice){msg ? msg : (const uint8_t *)"", n};
        out->body_field = want;
    }
    return RDV_OK;
}

int rdv_wire_next_registration(const struct rdv_wire_response *r, struct rdv_wire_reg_iter *it,
                               struct rdv_wire_registration *reg)
{
    struct rdv_pb_reader rd;
    struct rdv_pb_field f, g;
    const size_t n = r->body.p ? r->body.len : 0;
    for (;;) {
        if (it->inner < it->end && it->end <= n) { /* the rest of one DiscoverResponse */
            rdv_pb_reader_init(&rd, r->body.p, it->end);
            rd.pos = it->inner;
            int rc = rdv_pb_next(&rd, &f);
            it->inner = rd.pos;
            if (rc < 0) {
                it->outer = it->inner = it->end = n;
                return -1;
            }
            if (rc == 0 || f.num != DR_REGS || f.wire != RDV_PB_LEN)
                continue;
            struct rdv_pb_reader in;
            memset(reg, 0, sizeof(*reg));
            rdv_pb_reader_init(&in, f.data, f.len);
            while ((rc = rdv_pb_next(&in, &g)) == 1) {
                if (g.num == REG_NS && g.wire == RDV_PB_LEN)
                    reg->ns = slice(&g);
                else if (g.num == REG_RECORD && g.wire == RDV_PB_LEN)
                    reg->record = slice(&g);
                else if (g.num == REG_TTL && g.wire == RDV_PB_VARINT)
                    reg->ttl = g.varint;
            }
            return rc < 0 ? -1 : 1;
        }
        /* the next DiscoverResponse occurrence at the top level */
        if (it->outer >= n || !r->body_field)
            return 0;
        rdv_pb_reader_init(&rd, r->body.p, n);
        rd.pos = it->outer;
        int rc = rdv_pb_next(&rd, &f);
        it->outer = rd.pos;
        if (rc <= 0)
            return rc;
        if (f.num == r->body_field && f.wire == RDV_PB_LEN) {
            it->inner = (size_t)(f.data - r->body.p);
            it->end = it->inner + f.len;
        }
    }
}
