/* service.c: the /vac/waku/rendezvous/0.0.1 request handler (see service.h).
 *
 * REGISTER is validated in the order of the Go reference (go-waku-rendezvous svc.go
 * handleRegister), with the same statuses and, where it has one, the same statusText: namespace
 * (empty, > 256 bytes, and here also not UTF-8 or holding NUL), signed peer record (missing, does
 * not open, peer id != the stream's remote peer, no addresses, > 2048 address bytes), TTL, then
 * our policy hook. Unlike the reference, a store failure is answered with a generic statusText
 * (the detail goes to out->detail for the log), and DISCOVER reports the time left rather than
 * the TTL granted at registration.
 *
 * A request type decides which submessage is read, as in the reference: a REGISTER without its
 * register submessage reads as an empty one (proto3 has no presence; Go's getters return zero
 * values), so it is answered E_INVALID_NAMESPACE "unspecified namespace", not reset. Response
 * types and unknown types are not requests: RDV_ERR_INVALID, and the caller resets the stream. */
#include "rendezvous/service.h"

#include <stdlib.h>
#include <string.h>

#include "p2p/envelope.h"
#include "p2p/peer_record.h"
#include "rendezvous.pb-c.h"
#include "util/err.h"
#include "util/utf8.h"

typedef Rendezvous__Pb__Message PbMessage;
typedef Rendezvous__Pb__Message__Register PbRegister;
typedef Rendezvous__Pb__Message__Discover PbDiscover;

/* The Message field numbers holding the register / discover submessages, and ns inside both. */
#define PB_FIELD_REGISTER 2
#define PB_FIELD_DISCOVER 4
#define PB_FIELD_NS 1

/* A decision that ends a request before the store: status, text for the peer, detail for the log. */
struct verdict {
    enum rdv_status status;
    const char *text;
    const char *detail;
};

static const struct verdict V_OK = { RDV_STATUS_OK, NULL, NULL };

const char *rdv_status_name(enum rdv_status st)
{
    switch (st) {
    case RDV_STATUS_OK: return "OK";
    case RDV_STATUS_E_INVALID_NAMESPACE: return "E_INVALID_NAMESPACE";
    case RDV_STATUS_E_INVALID_PEER_INFO: return "E_INVALID_PEER_INFO";
    case RDV_STATUS_E_INVALID_TTL: return "E_INVALID_TTL";
    case RDV_STATUS_E_NOT_AUTHORIZED: return "E_NOT_AUTHORIZED";
    case RDV_STATUS_E_INTERNAL_ERROR: return "E_INTERNAL_ERROR";
    case RDV_STATUS_E_UNAVAILABLE: return "E_UNAVAILABLE";
    }
    return "UNKNOWN";
}

void rdv_service_config_defaults(struct rdv_service_config *c)
{
    memset(c, 0, sizeof(*c));
    c->default_ttl_s = RDV_DEFAULT_TTL_S;
    c->min_ttl_s = RDV_DEFAULT_MIN_TTL_S;
    c->max_ttl_s = RDV_DEFAULT_MAX_TTL_S;
    c->default_discover_limit = RDV_DEFAULT_DISCOVER_LIMIT;
    c->max_discover_limit = RDV_DEFAULT_MAX_DISCOVER_LIMIT;
    c->max_per_peer = RDV_DEFAULT_MAX_PER_PEER;
}

/* ---- a minimal protobuf wire walker, only to see NULs protobuf-c hides --------------------
 * protobuf-c hands strings back NUL-terminated without their length, so "a\0b" would silently
 * become "a". It has already accepted the bytes; this walk only looks at the ns fields' raw
 * lengths and contents. */

struct pb_field {
    uint64_t num;
    unsigned wire;
    const uint8_t *data; /* wire type 2: the value */
    size_t len;
};

static size_t pb_varint(const uint8_t *p, size_t n, uint64_t *v)
{
    uint64_t r = 0;
    for (size_t i = 0; i < n && i < 10; i++) {
        r |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = r;
            return i + 1;
        }
    }
    return 0;
}

/* Next field at *pos: 1 and f filled, 0 at the end, -1 on bytes it cannot walk. */
static int pb_next(const uint8_t *p, size_t n, size_t *pos, struct pb_field *f)
{
    uint64_t key, v;
    if (*pos >= n)
        return 0;
    size_t k = pb_varint(p + *pos, n - *pos, &key);
    if (k == 0)
        return -1;
    *pos += k;
    f->num = key >> 3;
    f->wire = key & 7;
    if (f->wire == 0) {
        k = pb_varint(p + *pos, n - *pos, &v);
        *pos += k;
        return k ? 1 : -1;
    }
    if (f->wire == 1 || f->wire == 5) {
        v = f->wire == 1 ? 8 : 4;
    } else if (f->wire == 2) {
        k = pb_varint(p + *pos, n - *pos, &v);
        if (k == 0)
            return -1;
        *pos += k;
    } else {
        return -1; /* groups: protobuf-c refuses them anyway */
    }
    if (v > n - *pos)
        return -1;
    f->data = p + *pos;
    f->len = (size_t)v;
    *pos += f->len;
    return 1;
}

/* true if some ns field inside a `sub` submessage of the Message holds a NUL byte (or the walk
 * fails, which protobuf-c's acceptance makes impossible; refusing is the safe side). */
static bool ns_has_nul(const uint8_t *req, size_t n, uint64_t sub)
{
    size_t pos = 0, ipos;
    struct pb_field f, g;
    int rc, irc;
    while ((rc = pb_next(req, n, &pos, &f)) == 1) {
        if (f.num != sub || f.wire != 2)
            continue;
        for (ipos = 0; (irc = pb_next(f.data, f.len, &ipos, &g)) == 1;)
            if (g.num == PB_FIELD_NS && g.wire == 2 && memchr(g.data, 0, g.len))
                return true;
        if (irc < 0)
            return true;
    }
    return rc < 0;
}

/* ---- responses ------------------------------------------------------------------------- */

static int pack_message(struct rdv_service_request *r, const PbMessage *m)
{
    size_t sz = rendezvous__pb__message__get_packed_size(m);
    rdv_buf_reset(&r->response);
    int rc = rdv_buf_reserve(&r->response, sz);
    if (rc)
        return rc;
    rdv_buf_commit(&r->response, rendezvous__pb__message__pack(m, rdv_buf_tail(&r->response)));
    return RDV_OK;
}

static int respond_register(struct rdv_service_request *r, struct verdict v, int64_t ttl)
{
    Rendezvous__Pb__Message__RegisterResponse rr = RENDEZVOUS__PB__MESSAGE__REGISTER_RESPONSE__INIT;
    rr.status = (Rendezvous__Pb__Message__ResponseStatus)v.status;
    if (v.text)
        rr.statustext = (char *)v.text;
    rr.ttl = ttl;
    PbMessage m = RENDEZVOUS__PB__MESSAGE__INIT;
    m.type = RENDEZVOUS__PB__MESSAGE__MESSAGE_TYPE__REGISTER_RESPONSE;
    m.registerresponse = &rr;
    r->status = v.status;
    r->detail = v.detail;
    return pack_message(r, &m);
}

static int respond_discover(struct rdv_service_request *r, struct verdict v,
                            Rendezvous__Pb__Message__Register **regs, size_t n)
{
    Rendezvous__Pb__Message__DiscoverResponse dr = RENDEZVOUS__PB__MESSAGE__DISCOVER_RESPONSE__INIT;
    dr.status = (Rendezvous__Pb__Message__ResponseStatus)v.status;
    if (v.text)
        dr.statustext = (char *)v.text;
    dr.n_registrations = n;
    dr.registrations = regs;
    PbMessage m = RENDEZVOUS__PB__MESSAGE__INIT;
    m.type = RENDEZVOUS__PB__MESSAGE__MESSAGE_TYPE__DISCOVER_RESPONSE;
    m.discoverresponse = &dr;
    r->status = v.status;
    r->detail = v.detail;
    return pack_message(r, &m);
}

/* A final answer from begin: the request goes no further. */
static int reject(struct rdv_service_request *r, struct verdict v)
{
    r->op = RDV_OP_NONE;
    if (r->type == RDV_MSG_REGISTER)
        return respond_register(r, v, 0);
    return respond_discover(r, v, NULL, 0);
}

/* ---- validation ------------------------------------------------------------------------ */

static struct verdict check_ns(const char *ns, size_t len, bool has_nul)
{
    if (has_nul)
        return (struct verdict){ RDV_STATUS_E_INVALID_NAMESPACE, "invalid namespace", "namespace holds NUL" };
    if (len == 0)
        return (struct verdict){ RDV_STATUS_E_INVALID_NAMESPACE, "unspecified namespace", "empty namespace" };
    if (len > RDV_NS_MAX)
        return (struct verdict){ RDV_STATUS_E_INVALID_NAMESPACE, "namespace too long", "namespace too long" };
    if (!rdv_utf8_valid((const uint8_t *)ns, len))
        return (struct verdict){ RDV_STATUS_E_INVALID_NAMESPACE, "invalid namespace", "namespace not UTF-8" };
    return V_OK;
}

/* The opened record against the stream's remote peer and our address bounds. */
static struct verdict check_record(const struct rdv_peer_record *rec, const struct rdv_peerid *remote)
{
    if (!rdv_peerid_equal(&rec->peer_id, remote))
        return (struct verdict){ RDV_STATUS_E_INVALID_PEER_INFO, "peer id mismatch",
                                 "record peer id is not the remote peer" };
    if (rec->naddrs == 0)
        return (struct verdict){ RDV_STATUS_E_INVALID_PEER_INFO, "missing peer addresses", "record has no addresses" };
    if (rec->addrs_total_len > RDV_MAX_ADDRS_BYTES)
        return (struct verdict){ RDV_STATUS_E_INVALID_PEER_INFO, "peer info too long", "addresses exceed 2048 bytes" };
    return V_OK;
}

static struct verdict check_ttl(const struct rdv_service_config *cfg, int64_t ttl, uint32_t *granted)
{
    if (ttl < 0 || ttl > (int64_t)cfg->max_ttl_s || (ttl != 0 && ttl < (int64_t)cfg->min_ttl_s))
        return (struct verdict){ RDV_STATUS_E_INVALID_TTL, "bad ttl", "ttl out of range" };
    *granted = ttl ? (uint32_t)ttl : cfg->default_ttl_s ? cfg->default_ttl_s : RDV_DEFAULT_TTL_S;
    return V_OK;
}

static int copy_ns(struct rdv_service_request *r, const char *ns, size_t len)
{
    r->ns = malloc(len + 1);
    if (!r->ns)
        return RDV_ERR_NOMEM;
    memcpy(r->ns, ns, len + 1);
    r->ns_len = len;
    return RDV_OK;
}

/* Opens the signed peer record; a verdict for the peer, or *err set on allocation failure. */
static struct verdict open_record(const ProtobufCBinaryData *spr, const struct rdv_peerid *remote,
                                  struct rdv_peer_record *rec, int *err)
{
    *err = RDV_OK;
    if (spr->len == 0)
        return (struct verdict){ RDV_STATUS_E_INVALID_PEER_INFO, "missing signed peer record", "no signed peer record" };
    if (spr->len > RDV_ENVELOPE_MAX)
        return (struct verdict){ RDV_STATUS_E_INVALID_PEER_INFO, "invalid peer record", "envelope too large" };
    int rc = rdv_signed_peer_record_open(spr->data, spr->len, rec);
    if (rc == RDV_ERR_NOMEM)
        *err = rc;
    if (rc)
        return (struct verdict){ RDV_STATUS_E_INVALID_PEER_INFO, "invalid peer record", rdv_strerror(rc) };
    struct verdict v = check_record(rec, remote);
    if (v.status != RDV_STATUS_OK)
        rdv_peer_record_free(rec);
    return v;
}

static int accept_register(const struct rdv_service_config *cfg, const PbRegister *reg,
                           const struct rdv_peer_record *rec, uint32_t ttl, struct rdv_service_request *r)
{
    const ProtobufCBinaryData *spr = &reg->signedpeerrecord;
    if (copy_ns(r, reg->ns, strlen(reg->ns)))
        return RDV_ERR_NOMEM;
    r->envelope = malloc(spr->len);
    if (!r->envelope)
        return RDV_ERR_NOMEM;
    memcpy(r->envelope, spr->data, spr->len);
    r->envelope_len = spr->len;
    r->peer = rec->peer_id;
    r->seq = rec->seq;
    r->ttl_s = ttl;
    r->op = RDV_OP_PUT;
    r->put = (struct rdv_store_put){
        .ns = r->ns, .ns_len = r->ns_len, .peer = &r->peer, .seq = r->seq, .envelope = r->envelope,
        .envelope_len = r->envelope_len, .ttl_s = ttl, .max_per_peer = cfg->max_per_peer,
    };
    return RDV_OK;
}

static int begin_register(const struct rdv_service_config *cfg, const struct rdv_peerid *remote,
                          const PbRegister *reg, bool ns_nul, struct rdv_service_request *r)
{
    static const PbRegister empty = RENDEZVOUS__PB__MESSAGE__REGISTER__INIT;
    if (!reg || !reg->ns)
        reg = &empty;
    struct verdict v = check_ns(reg->ns, strlen(reg->ns), ns_nul);
    if (v.status != RDV_STATUS_OK)
        return reject(r, v);
    struct rdv_peer_record rec;
    int err;
    v = open_record(&reg->signedpeerrecord, remote, &rec, &err);
    if (err)
        return err;
    if (v.status != RDV_STATUS_OK)
        return reject(r, v);
    uint32_t ttl = 0;
    v = check_ttl(cfg, reg->ttl, &ttl);
    if (v.status == RDV_STATUS_OK && cfg->policy &&
        cfg->policy(cfg->policy_ctx, remote, reg->ns, strlen(reg->ns)) != 0)
        v = (struct verdict){ RDV_STATUS_E_NOT_AUTHORIZED, "not authorized", "refused by policy" };
    int rc = v.status != RDV_STATUS_OK ? reject(r, v) : accept_register(cfg, reg, &rec, ttl, r);
    rdv_peer_record_free(&rec);
    return rc;
}

/* Limits: the Go reference never rejects one; any value <= 0 means "no preference" (its max,
 * which is also its default). We keep that reading, negative included, with our default: a
 * negative count has no other sensible meaning and refusing it would gain nothing. */
static uint32_t discover_limit(const struct rdv_service_config *cfg, int64_t asked)
{
    uint32_t max = cfg->max_discover_limit ? cfg->max_discover_limit : RDV_DEFAULT_MAX_DISCOVER_LIMIT;
    uint32_t def = cfg->default_discover_limit ? cfg->default_discover_limit : max;
    if (asked <= 0)
        return def < max ? def : max;
    return asked < (int64_t)max ? (uint32_t)asked : max;
}

static int begin_discover(const struct rdv_service_config *cfg, const PbDiscover *d, bool ns_nul,
                          struct rdv_service_request *r)
{
    static const PbDiscover empty = RENDEZVOUS__PB__MESSAGE__DISCOVER__INIT;
    if (!d || !d->ns)
        d = &empty;
    size_t len = strlen(d->ns);
    struct verdict v = check_ns(d->ns, len, ns_nul);
    if (v.status != RDV_STATUS_OK)
        return reject(r, v);
    if (copy_ns(r, d->ns, len))
        return RDV_ERR_NOMEM;
    r->limit = discover_limit(cfg, d->limit);
    r->op = RDV_OP_DISCOVER;
    return RDV_OK;
}

static void request_init(struct rdv_service_request *r)
{
    memset(r, 0, sizeof(*r));
    rdv_buf_init(&r->response, RDV_MAX_RESPONSE);
}

int rdv_service_begin(const struct rdv_service_config *cfg, const struct rdv_peerid *remote,
                      const uint8_t *req, size_t n, struct rdv_service_request *out)
{
    struct rdv_service_config defaults;
    request_init(out);
    if (!cfg) {
        rdv_service_config_defaults(&defaults);
        cfg = &defaults;
    }
    if (!remote)
        return RDV_ERR_INTERNAL;
    if (n > RDV_MAX_MESSAGE)
        return RDV_ERR_TOO_LARGE;
    if (!req && n)
        return RDV_ERR_INVALID;
    PbMessage *m = rendezvous__pb__message__unpack(NULL, n, req);
    if (!m)
        return RDV_ERR_INVALID; /* protobuf-c does not tell a malformed message from a failed malloc */
    int rc;
    switch (m->type) {
    case RENDEZVOUS__PB__MESSAGE__MESSAGE_TYPE__REGISTER:
        out->type = RDV_MSG_REGISTER;
        rc = begin_register(cfg, remote, m->register_, ns_has_nul(req, n, PB_FIELD_REGISTER), out);
        break;
    case RENDEZVOUS__PB__MESSAGE__MESSAGE_TYPE__DISCOVER:
        out->type = RDV_MSG_DISCOVER;
        rc = begin_discover(cfg, m->discover, ns_has_nul(req, n, PB_FIELD_DISCOVER), out);
        break;
    default:
        rc = RDV_ERR_INVALID;
        break;
    }
    rendezvous__pb__message__free_unpacked(m, NULL);
    if (rc) {
        rdv_service_request_free(out);
        request_init(out);
    }
    return rc;
}

/* ---- finishing ------------------------------------------------------------------------- */

static struct verdict store_failure(enum rdv_store_status st)
{
    switch (st) {
    case RDV_STORE_STALE:
        return (struct verdict){ RDV_STATUS_E_INVALID_PEER_INFO, "stale peer record (lower seq than registered)",
                                 "stale peer record" };
    case RDV_STORE_LIMIT:
        return (struct verdict){ RDV_STATUS_E_NOT_AUTHORIZED, "too many registrations for this peer",
                                 "per-peer registration cap reached" };
    case RDV_STORE_UNAVAILABLE:
        return (struct verdict){ RDV_STATUS_E_UNAVAILABLE, "service unavailable", "store unavailable" };
    case RDV_STORE_OK:
    case RDV_STORE_ERROR:
        break;
    }
    return (struct verdict){ RDV_STATUS_E_INTERNAL_ERROR, "internal error", "store error" };
}

int rdv_service_finish_put(struct rdv_service_request *r, enum rdv_store_status st)
{
    int rc = st == RDV_STORE_OK ? respond_register(r, V_OK, r->ttl_s) : respond_register(r, store_failure(st), 0);
    if (rc)
        rdv_buf_reset(&r->response);
    return rc;
}

/* Remaining seconds, rounded up: a live record never reads as TTL 0. */
static int64_t ttl_left_s(int64_t ms)
{
    return ms / 1000 + (ms % 1000 != 0);
}

static bool record_usable(const struct rdv_store_record *rec)
{
    return rec->ttl_left_ms > 0 && rec->envelope && rec->envelope_len > 0 && rec->envelope_len <= RDV_ENVELOPE_MAX;
}

static int build_discover(struct rdv_service_request *r, const struct rdv_store_record *recs, size_t n)
{
    size_t k = n < r->limit ? n : r->limit, used = 0, bytes = 0;
    Rendezvous__Pb__Message__Register *regs = calloc(k ? k : 1, sizeof(*regs));
    Rendezvous__Pb__Message__Register **ptrs = calloc(k ? k : 1, sizeof(*ptrs));
    int rc = RDV_ERR_NOMEM;
    if (regs && ptrs) {
        for (size_t i = 0; i < n && used < k; i++) {
            if (!record_usable(&recs[i]))
                continue; /* a backend bug must not reach a client */
            size_t est = recs[i].envelope_len + r->ns_len + 32; /* field tags, lengths, ttl */
            if (bytes + est > RDV_MAX_RESPONSE - 64)
                break;
            bytes += est;
            Rendezvous__Pb__Message__Register *g = &regs[used];
            rendezvous__pb__message__register__init(g);
            g->ns = r->ns;
            g->signedpeerrecord.data = (uint8_t *)recs[i].envelope;
            g->signedpeerrecord.len = recs[i].envelope_len;
            g->ttl = ttl_left_s(recs[i].ttl_left_ms);
            ptrs[used++] = g;
        }
        rc = respond_discover(r, V_OK, ptrs, used);
    }
    free(regs);
    free(ptrs);
    return rc;
}

int rdv_service_finish_discover(struct rdv_service_request *r, enum rdv_store_status st,
                                const struct rdv_store_record *recs, size_t n)
{
    int rc;
    if (st == RDV_STORE_OK && (recs || n == 0))
        rc = build_discover(r, recs, n);
    else
        rc = respond_discover(r, store_failure(st == RDV_STORE_OK ? RDV_STORE_ERROR : st), NULL, 0);
    if (rc && st == RDV_STORE_OK) {
        struct verdict v = store_failure(RDV_STORE_ERROR);
        v.detail = "cannot build discover response";
        rc = respond_discover(r, v, NULL, 0);
    }
    if (rc)
        rdv_buf_reset(&r->response);
    return rc;
}

void rdv_service_request_free(struct rdv_service_request *r)
{
    if (!r)
        return;
    free(r->ns);
    free(r->envelope);
    rdv_buf_free(&r->response);
    r->ns = NULL;
    r->envelope = NULL;
    r->ns_len = r->envelope_len = 0;
}

/* ---- begin + store + finish ------------------------------------------------------------ */

/* Lives on the heap until the store answers, which may be after rdv_service_handle returns. */
struct handle_ctx {
    struct rdv_service_request req;
    rdv_service_done_cb done;
    void *arg;
};

static void handle_complete(struct handle_ctx *h)
{
    h->done(h->arg, &h->req);
    rdv_service_request_free(&h->req);
    free(h);
}

static void handle_put_cb(void *arg, enum rdv_store_status st)
{
    struct handle_ctx *h = arg;
    (void)rdv_service_finish_put(&h->req, st);
    handle_complete(h);
}

static void handle_discover_cb(void *arg, enum rdv_store_status st, const struct rdv_store_record *recs, size_t n)
{
    struct handle_ctx *h = arg;
    (void)rdv_service_finish_discover(&h->req, st, recs, n);
    handle_complete(h);
}

int rdv_service_handle(const struct rdv_service_config *cfg, struct rdv_store *store,
                       const struct rdv_peerid *remote, const uint8_t *req, size_t n,
                       rdv_service_done_cb done, void *arg)
{
    struct handle_ctx *h = malloc(sizeof(*h));
    if (!h)
        return RDV_ERR_NOMEM;
    int rc = rdv_service_begin(cfg, remote, req, n, &h->req);
    if (rc) {
        free(h);
        return rc;
    }
    h->done = done;
    h->arg = arg;
    switch (h->req.op) {
    case RDV_OP_PUT:
        if (store)
            rdv_store_put(store, &h->req.put, handle_put_cb, h);
        else
            handle_put_cb(h, RDV_STORE_UNAVAILABLE);
        break;
    case RDV_OP_DISCOVER:
        if (store)
            rdv_store_discover(store, h->req.ns, h->req.ns_len, h->req.limit, handle_discover_cb, h);
        else
            handle_discover_cb(h, RDV_STORE_UNAVAILABLE, NULL, 0);
        break;
    case RDV_OP_NONE:
        handle_complete(h);
        break;
    }
    return RDV_OK;
}
