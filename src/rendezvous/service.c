/* service.c: the rendezvous request handler of every dialect (see service.h).
 *
 * REGISTER is validated in the order of the Go reference (go-waku-rendezvous svc.go
 * handleRegister), with the same statuses and, where it has one, the same statusText, in every
 * dialect: namespace (empty, longer than the dialect allows, and here also not UTF-8 or holding
 * NUL), signed record (missing, does not open as the dialect's record kind, peer id != the stream's
 * remote peer, no addresses, > 2048 address bytes), TTL, then our policy hook. A store failure is
 * answered with a generic statusText (the detail goes to out->detail for the log), and DISCOVER
 * reports the time left rather than the TTL granted at registration.
 *
 * A request type decides which submessage is read: a REGISTER without its register submessage
 * reads as an empty one (proto3 has no presence; Go's getters return zero values), so it is
 * answered E_INVALID_NAMESPACE "unspecified namespace", not reset. Response types and unknown
 * types are not requests: RDV_ERR_INVALID, and the caller resets the stream.
 *
 * Where the dialects differ, the dialect table decides: TTL bounds and what a TTL of 0 means, the
 * namespace length, whether an empty DISCOVER namespace means "all", whether DISCOVER samples at
 * random (waku 0.0.1) or pages in registration order with cookies (the other two). */
#include "rendezvous/service.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/utf8.h"

/* A decision that ends a request before the store: status, text for the peer, detail for the log. */
struct verdict {
    enum rdv_status status;
    const char *text;
    const char *detail;
};

static const struct verdict V_OK = { RDV_STATUS_OK, NULL, NULL };

static const enum rdv_status status_order[RDV_STATUS_COUNT] = {
    RDV_STATUS_OK, RDV_STATUS_E_INVALID_NAMESPACE, RDV_STATUS_E_INVALID_PEER_INFO, RDV_STATUS_E_INVALID_TTL,
    RDV_STATUS_E_INVALID_COOKIE, RDV_STATUS_E_NOT_AUTHORIZED, RDV_STATUS_E_INTERNAL_ERROR, RDV_STATUS_E_UNAVAILABLE};

int rdv_status_index(enum rdv_status st)
{
    for (int i = 0; i < RDV_STATUS_COUNT; i++)
        if (status_order[i] == st)
            return i;
    return -1;
}

enum rdv_status rdv_status_at(int index)
{
    return index >= 0 && index < RDV_STATUS_COUNT ? status_order[index] : RDV_STATUS_E_INTERNAL_ERROR;
}

const char *rdv_status_name(enum rdv_status st)
{
    switch (st) {
    case RDV_STATUS_OK: return "OK";
    case RDV_STATUS_E_INVALID_NAMESPACE: return "E_INVALID_NAMESPACE";
    case RDV_STATUS_E_INVALID_PEER_INFO: return "E_INVALID_PEER_INFO";
    case RDV_STATUS_E_INVALID_TTL: return "E_INVALID_TTL";
    case RDV_STATUS_E_INVALID_COOKIE: return "E_INVALID_COOKIE";
    case RDV_STATUS_E_NOT_AUTHORIZED: return "E_NOT_AUTHORIZED";
    case RDV_STATUS_E_INTERNAL_ERROR: return "E_INTERNAL_ERROR";
    case RDV_STATUS_E_UNAVAILABLE: return "E_UNAVAILABLE";
    }
    return "UNKNOWN";
}

void rdv_service_config_for(struct rdv_service_config *c, const struct rdv_dialect *d)
{
    memset(c, 0, sizeof(*c));
    c->dialect = d;
    c->default_ttl_s = d->defaults.default_ttl_s;
    c->min_ttl_s = d->defaults.min_ttl_s;
    c->max_ttl_s = d->defaults.max_ttl_s;
    c->default_discover_limit = d->defaults.default_limit;
    c->max_discover_limit = d->defaults.max_limit;
    c->max_per_peer = d->defaults.max_per_peer;
    c->budget = (struct rdv_store_budget){.registrations = RDV_DEFAULT_MAX_REGISTRATIONS,
                                          .namespaces = RDV_DEFAULT_MAX_NAMESPACES,
                                          .bytes = (uint64_t)RDV_DEFAULT_MAX_STORE_MB << 20};
    c->ns_max = d->defaults.ns_max;
}

void rdv_service_config_defaults(struct rdv_service_config *c)
{
    rdv_service_config_for(c, rdv_dialect_get(RDV_DIALECT_WAKU0));
}

static const struct rdv_dialect *dialect_of(const struct rdv_service_config *cfg)
{
    return cfg->dialect ? cfg->dialect : rdv_dialect_get(RDV_DIALECT_WAKU0);
}

/* ---- responses ------------------------------------------------------------------------- */

static struct rdv_wire_slice text_slice(const char *t)
{
    return (struct rdv_wire_slice){(const uint8_t *)t, t ? strlen(t) : 0};
}

static int encode(struct rdv_service_request *r, const struct rdv_wire_response *w)
{
    rdv_buf_reset(&r->response);
    return rdv_wire_encode_response(r->dialect->wire, w, &r->response);
}

static int respond_register(struct rdv_service_request *r, struct verdict v, uint64_t ttl)
{
    struct rdv_wire_response w = {.type = RDV_REQ_REGISTER, .status = v.status, .text = text_slice(v.text), .ttl = ttl};
    r->status = v.status;
    r->detail = v.detail;
    return encode(r, &w);
}

static int respond_discover(struct rdv_service_request *r, struct verdict v, const struct rdv_wire_registration *regs,
                            size_t n, const uint8_t *cookie, size_t cookie_len)
{
    struct rdv_wire_response w = {.type = RDV_REQ_DISCOVER, .status = v.status, .text = text_slice(v.text),
                                  .regs = regs, .nregs = n, .cookie = {cookie, cookie_len}};
    r->status = v.status;
    r->detail = v.detail;
    return encode(r, &w);
}

/* A final answer from begin: the request goes no further. */
static int reject(struct rdv_service_request *r, struct verdict v)
{
    r->op = RDV_OP_NONE;
    if (r->type == RDV_REQ_REGISTER)
        return respond_register(r, v, 0);
    if (r->type == RDV_REQ_DISCOVER)
        return respond_discover(r, v, NULL, 0, NULL, 0);
    r->status = v.status; /* UNREGISTER: never answered, only counted */
    r->detail = v.detail;
    r->silent = true;
    return RDV_OK;
}

/* ---- validation ------------------------------------------------------------------------ */

static struct verdict check_ns(const struct rdv_service_config *cfg, struct rdv_wire_slice ns)
{
    uint32_t max = cfg->ns_max ? cfg->ns_max : dialect_of(cfg)->defaults.ns_max;
    if (!ns.p || ns.len == 0)
        return (struct verdict){ RDV_STATUS_E_INVALID_NAMESPACE, "unspecified namespace", "empty namespace" };
    if (memchr(ns.p, 0, ns.len))
        return (struct verdict){ RDV_STATUS_E_INVALID_NAMESPACE, "invalid namespace", "namespace holds NUL" };
    if (ns.len > max || ns.len > RDV_NS_MAX)
        return (struct verdict){ RDV_STATUS_E_INVALID_NAMESPACE, "namespace too long", "namespace too long" };
    if (!rdv_utf8_valid(ns.p, ns.len))
        return (struct verdict){ RDV_STATUS_E_INVALID_NAMESPACE, "invalid namespace", "namespace not UTF-8" };
    return V_OK;
}

/* The opened record against the stream's remote peer and our address bounds. */
static struct verdict check_record(const struct rdv_record_summary *rec, const struct rdv_peerid *remote)
{
    if (!rdv_peerid_equal(&rec->peer, remote))
        return (struct verdict){ RDV_STATUS_E_INVALID_PEER_INFO, "peer id mismatch",
                                 "record peer id is not the remote peer" };
    if (rec->naddrs == 0)
        return (struct verdict){ RDV_STATUS_E_INVALID_PEER_INFO, "missing peer addresses", "record has no addresses" };
    if (rec->addrs_bytes > RDV_MAX_ADDRS_BYTES)
        return (struct verdict){ RDV_STATUS_E_INVALID_PEER_INFO, "peer info too long", "addresses exceed 2048 bytes" };
    return V_OK;
}

/* TTL 0 or absent means the default in every dialect (go-libp2p-rendezvous, go-waku-rendezvous;
 * nim-libp2p would refuse 0, which no client sends). In waku 0.0.1 the field is an int64, so a
 * value past INT64_MAX is negative: E_INVALID_TTL like any other out-of-range value. */
static struct verdict check_ttl(const struct rdv_service_config *cfg, const struct rdv_wire_request *w,
                                uint32_t *granted)
{
    bool negative = dialect_of(cfg)->wire->signed_ints && w->ttl > (uint64_t)INT64_MAX;
    if (negative || w->ttl > cfg->max_ttl_s || (w->ttl != 0 && w->ttl < cfg->min_ttl_s))
        return (struct verdict){ RDV_STATUS_E_INVALID_TTL, "bad ttl", "ttl out of range" };
    *granted = w->ttl ? (uint32_t)w->ttl : cfg->default_ttl_s ? cfg->default_ttl_s : dialect_of(cfg)->defaults.default_ttl_s;
    return V_OK;
}

static int copy_ns(struct rdv_service_request *r, struct rdv_wire_slice ns)
{
    r->ns = malloc(ns.len + 1);
    if (!r->ns)
        return RDV_ERR_NOMEM;
    if (ns.len)
        memcpy(r->ns, ns.p, ns.len);
    r->ns[ns.len] = 0;
    r->ns_len = ns.len;
    return RDV_OK;
}

/* Opens the signed record as the dialect's record kind; a verdict for the peer. */
static struct verdict open_record(const struct rdv_service_config *cfg, struct rdv_wire_slice spr,
                                  const struct rdv_peerid *remote, struct rdv_record_summary *rec)
{
    if (!spr.p || spr.len == 0)
        return (struct verdict){ RDV_STATUS_E_INVALID_PEER_INFO, "missing signed peer record", "no signed peer record" };
    size_t cap = cfg->max_envelope && cfg->max_envelope < RDV_RECORD_ENVELOPE_MAX ? cfg->max_envelope
                                                                                  : RDV_RECORD_ENVELOPE_MAX;
    if (spr.len > cap)
        return (struct verdict){ RDV_STATUS_E_INVALID_PEER_INFO, "invalid peer record", "envelope too large" };
    int rc = rdv_record_opener_open(cfg->opener, dialect_of(cfg)->record, spr.p, spr.len, rec);
    if (rc)
        return (struct verdict){ RDV_STATUS_E_INVALID_PEER_INFO, "invalid peer record", rdv_strerror(rc) };
    return check_record(rec, remote);
}

static int accept_register(const struct rdv_service_config *cfg, const struct rdv_wire_request *w,
                           const struct rdv_record_summary *rec, uint32_t ttl, struct rdv_service_request *r)
{
    if (copy_ns(r, w->ns))
        return RDV_ERR_NOMEM;
    r->envelope = malloc(w->record.len);
    if (!r->envelope)
        return RDV_ERR_NOMEM;
    memcpy(r->envelope, w->record.p, w->record.len);
    r->envelope_len = w->record.len;
    r->peer = rec->peer;
    r->seq = rec->seq;
    r->ttl_s = ttl;
    r->op = RDV_OP_PUT;
    r->put = (struct rdv_store_put){
        .ns = r->ns, .ns_len = r->ns_len, .peer = &r->peer, .seq = r->seq, .envelope = r->envelope,
        .envelope_len = r->envelope_len, .ttl_s = ttl, .max_per_peer = cfg->max_per_peer,
        .kind = (uint8_t)r->dialect->record->id, .dialect = (uint8_t)r->dialect->id,
        .same_envelope = rec->cached, .budget = cfg->budget,
    };
    return RDV_OK;
}

static int begin_register(const struct rdv_service_config *cfg, const struct rdv_peerid *remote,
                          const struct rdv_wire_request *w, struct rdv_service_request *r)
{
    struct verdict v = check_ns(cfg, w->ns);
    if (v.status != RDV_STATUS_OK)
        return reject(r, v);
    struct rdv_record_summary rec;
    v = open_record(cfg, w->record, remote, &rec);
    if (v.status != RDV_STATUS_OK)
        return reject(r, v);
    uint32_t ttl = 0;
    v = check_ttl(cfg, w, &ttl);
    if (v.status == RDV_STATUS_OK && cfg->policy &&
        cfg->policy(cfg->policy_ctx, remote, (const char *)w->ns.p, w->ns.len) != 0)
        v = (struct verdict){ RDV_STATUS_E_NOT_AUTHORIZED, "not authorized", "refused by policy" };
    return v.status != RDV_STATUS_OK ? reject(r, v) : accept_register(cfg, w, &rec, ttl, r);
}

/* UNREGISTER: never answered; a namespace the peer holds nothing in is a no-op (the store says 0). */
static int begin_unregister(const struct rdv_service_config *cfg, const struct rdv_peerid *remote,
                            const struct rdv_wire_request *w, struct rdv_service_request *r)
{
    struct verdict v = check_ns(cfg, w->ns);
    if (v.status != RDV_STATUS_OK)
        return reject(r, v);
    if (copy_ns(r, w->ns))
        return RDV_ERR_NOMEM;
    r->peer = *remote;
    r->silent = true;
    r->op = RDV_OP_UNREGISTER;
    return RDV_OK;
}

/* Limits: the Go reference never rejects one; 0 (and in waku 0.0.1 any negative value) means "no
 * preference": the default; larger than the maximum is capped. */
static uint32_t discover_limit(const struct rdv_service_config *cfg, const struct rdv_wire_request *w)
{
    uint32_t max = cfg->max_discover_limit ? cfg->max_discover_limit : RDV_DEFAULT_MAX_DISCOVER_LIMIT;
    uint32_t def = cfg->default_discover_limit ? cfg->default_discover_limit : max;
    bool none = w->limit == 0 || (dialect_of(cfg)->wire->signed_ints && w->limit > (uint64_t)INT64_MAX);
    if (none)
        return def < max ? def : max;
    return w->limit < max ? (uint32_t)w->limit : max;
}

static struct verdict discover_ns(const struct rdv_service_config *cfg, struct rdv_wire_slice ns)
{
    if ((!ns.p || ns.len == 0) && dialect_of(cfg)->empty_ns_is_all)
        return V_OK;
    return check_ns(cfg, ns);
}

/* The cookie of a cookie dialect's DISCOVER: *after is where the page starts (0: from the start). */
static struct verdict check_cookie(const struct rdv_service_config *cfg, const struct rdv_wire_request *w,
                                   uint64_t *after)
{
    *after = 0;
    if (!cfg->cookie_key) /* every answer carries a cookie, so none can be given without the secret */
        return (struct verdict){ RDV_STATUS_E_UNAVAILABLE, "service unavailable", "store secret not known yet" };
    if (!w->cookie.p || w->cookie.len == 0)
        return V_OK; /* an empty cookie is what proto3 encoders write for none */
    uint8_t kind = (uint8_t)dialect_of(cfg)->record->id;
    const uint8_t *ns = w->ns.p ? w->ns.p : (const uint8_t *)"";
    if (rdv_cookie_parse(cfg->cookie_key, kind, ns, w->ns.len, w->cookie.p, w->cookie.len, after) != RDV_OK)
        return (struct verdict){ RDV_STATUS_E_INVALID_COOKIE, "invalid cookie", "cookie does not verify" };
    return V_OK;
}

static int begin_discover(const struct rdv_service_config *cfg, const struct rdv_wire_request *w,
                          struct rdv_service_request *r)
{
    const struct rdv_dialect *d = dialect_of(cfg);
    uint64_t after = 0;
    struct verdict v = discover_ns(cfg, w->ns);
    if (v.status == RDV_STATUS_OK && d->cookies)
        v = check_cookie(cfg, w, &after);
    if (v.status != RDV_STATUS_OK)
        return reject(r, v);
    if (copy_ns(r, w->ns))
        return RDV_ERR_NOMEM;
    r->limit = discover_limit(cfg, w);
    r->cookies = d->cookies;
    if (d->cookies)
        memcpy(r->cookie_key, cfg->cookie_key, RDV_COOKIE_KEY_LEN);
    r->query = (struct rdv_store_query){.kind = (uint8_t)d->record->id, .ns = r->ns, .ns_len = r->ns_len,
                                        .limit = r->limit, .ordered = d->cookies, .after = after};
    r->op = RDV_OP_DISCOVER;
    return RDV_OK;
}

static void request_init(struct rdv_service_request *r, const struct rdv_dialect *d)
{
    memset(r, 0, sizeof(*r));
    r->dialect = d;
    rdv_buf_init(&r->response, RDV_MAX_RESPONSE);
}

int rdv_service_begin(const struct rdv_service_config *cfg, const struct rdv_peerid *remote,
                      const uint8_t *req, size_t n, struct rdv_service_request *out)
{
    struct rdv_service_config defaults;
    if (!cfg) {
        rdv_service_config_defaults(&defaults);
        cfg = &defaults;
    }
    const struct rdv_dialect *d = dialect_of(cfg);
    request_init(out, d);
    if (!remote)
        return RDV_ERR_INTERNAL;
    if (n > RDV_MAX_MESSAGE)
        return RDV_ERR_TOO_LARGE;
    struct rdv_wire_request w;
    if (rdv_wire_decode_request(d->wire, req, n, &w) != RDV_OK)
        return RDV_ERR_INVALID;
    out->type = w.type;
    int rc;
    switch (w.type) {
    case RDV_REQ_REGISTER: rc = begin_register(cfg, remote, &w, out); break;
    case RDV_REQ_UNREGISTER: rc = begin_unregister(cfg, remote, &w, out); break;
    case RDV_REQ_DISCOVER: rc = begin_discover(cfg, &w, out); break;
    default: rc = RDV_ERR_INVALID; break;
    }
    if (rc) {
        rdv_service_request_free(out);
        request_init(out, d);
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
    case RDV_STORE_FULL: /* the design's "full" signal: come back later or elsewhere */
        return (struct verdict){ RDV_STATUS_E_UNAVAILABLE, "server full", "global registration budget spent" };
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

void rdv_service_finish_unregister(struct rdv_service_request *r, enum rdv_store_status st)
{
    struct verdict v = st == RDV_STORE_OK ? V_OK : store_failure(st);
    r->status = v.status;
    r->detail = v.detail;
    r->silent = true;
}

/* Remaining seconds, rounded up: a live record never reads as TTL 0. */
static uint64_t ttl_left_s(int64_t ms)
{
    return (uint64_t)(ms / 1000 + (ms % 1000 != 0));
}

/* A backend bug must not reach a client: expired, empty, oversized or another kind's records. */
static bool record_usable(const struct rdv_service_request *r, const struct rdv_store_record *rec)
{
    return rec->ttl_left_ms > 0 && rec->envelope && rec->envelope_len > 0 &&
           rec->envelope_len <= RDV_RECORD_ENVELOPE_MAX && rec->kind == r->query.kind &&
           (rec->ns_len == 0 || !r->ns_len || (rec->ns_len == r->ns_len && memcmp(rec->ns, r->ns, r->ns_len) == 0));
}

/* The namespace a record is reported under: its own (all-namespaces pages) or the request's. */
static struct rdv_wire_slice record_ns(const struct rdv_service_request *r, const struct rdv_store_record *rec)
{
    if (rec->ns && rec->ns_len)
        return (struct rdv_wire_slice){(const uint8_t *)rec->ns, rec->ns_len};
    return (struct rdv_wire_slice){(const uint8_t *)r->ns, r->ns_len};
}

static int build_discover(struct rdv_service_request *r, const struct rdv_store_record *recs, size_t n)
{
    size_t k = n < r->limit ? n : r->limit, used = 0, bytes = 64 + RDV_COOKIE_LEN;
    uint64_t last = r->query.after;
    struct rdv_wire_registration *regs = calloc(k ? k : 1, sizeof(*regs));
    if (!regs)
        return RDV_ERR_NOMEM;
    for (size_t i = 0; i < n && used < k; i++) {
        if (!record_usable(r, &recs[i]))
            continue;
        struct rdv_wire_registration g = {record_ns(r, &recs[i]), {recs[i].envelope, recs[i].envelope_len},
                                          ttl_left_s(recs[i].ttl_left_ms)};
        size_t est = rdv_wire_registration_size(g.ns.len, g.record.len, g.ttl);
        if (bytes + est > RDV_MAX_RESPONSE) {
            r->truncated = true; /* cut the sample to what a peer's reader accepts */
            break;
        }
        bytes += est;
        regs[used++] = g;
        if (recs[i].counter > last)
            last = recs[i].counter;
    }
    uint8_t cookie[RDV_COOKIE_LEN];
    int rc = RDV_OK;
    if (r->cookies)
        rc = rdv_cookie_make(r->cookie_key, (uint8_t)r->query.kind, (const uint8_t *)r->ns, r->ns_len, last, cookie);
    if (rc == RDV_OK)
        rc = respond_discover(r, V_OK, regs, used, r->cookies ? cookie : NULL, r->cookies ? sizeof(cookie) : 0);
    free(regs);
    return rc;
}

int rdv_service_finish_discover(struct rdv_service_request *r, enum rdv_store_status st,
                                const struct rdv_store_record *recs, size_t n)
{
    int rc;
    if (st == RDV_STORE_OK && (recs || n == 0))
        rc = build_discover(r, recs, n);
    else
        rc = respond_discover(r, store_failure(st == RDV_STORE_OK ? RDV_STORE_ERROR : st), NULL, 0, NULL, 0);
    if (rc && st == RDV_STORE_OK) {
        struct verdict v = store_failure(RDV_STORE_ERROR);
        v.detail = "cannot build discover response";
        rc = respond_discover(r, v, NULL, 0, NULL, 0);
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
    sodium_memzero(r->cookie_key, sizeof(r->cookie_key));
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

static void handle_unregister_cb(void *arg, enum rdv_store_status st, uint64_t removed)
{
    struct handle_ctx *h = arg;
    (void)removed;
    rdv_service_finish_unregister(&h->req, st);
    handle_complete(h);
}

static void handle_discover_cb(void *arg, enum rdv_store_status st, const struct rdv_store_record *recs, size_t n)
{
    struct handle_ctx *h = arg;
    (void)rdv_service_finish_discover(&h->req, st, recs, n);
    handle_complete(h);
}

static void handle_run(struct handle_ctx *h, struct rdv_store *store)
{
    struct rdv_service_request *r = &h->req;
    switch (r->op) {
    case RDV_OP_PUT:
        if (store)
            rdv_store_put(store, &r->put, handle_put_cb, h);
        else
            handle_put_cb(h, RDV_STORE_UNAVAILABLE);
        break;
    case RDV_OP_UNREGISTER:
        if (store)
            rdv_store_unregister(store, (uint8_t)r->dialect->record->id, r->ns, r->ns_len, &r->peer,
                                 handle_unregister_cb, h);
        else
            handle_unregister_cb(h, RDV_STORE_UNAVAILABLE, 0);
        break;
    case RDV_OP_DISCOVER:
        if (store)
            rdv_store_query(store, &r->query, handle_discover_cb, h);
        else
            handle_discover_cb(h, RDV_STORE_UNAVAILABLE, NULL, 0);
        break;
    case RDV_OP_NONE:
        handle_complete(h);
        break;
    }
}

int rdv_service_handle(const struct rdv_service_config *cfg, struct rdv_store *store,
                       const struct rdv_peerid *remote, const uint8_t *req, size_t n,
                       rdv_service_done_cb done, void *arg, enum rdv_req_type *type)
{
    struct handle_ctx *h = malloc(sizeof(*h));
    if (!h)
        return RDV_ERR_NOMEM;
    int rc = rdv_service_begin(cfg, remote, req, n, &h->req);
    if (rc) {
        rdv_service_request_free(&h->req);
        free(h);
        return rc;
    }
    h->done = done;
    h->arg = arg;
    if (type)
        *type = h->req.type;
    handle_run(h, store);
    return RDV_OK;
}

int rdv_service_unavailable(const struct rdv_service_config *cfg, enum rdv_req_type type, struct rdv_buf *out)
{
    static const struct verdict going = {RDV_STATUS_E_UNAVAILABLE, "shutting down", "the server is shutting down"};
    struct rdv_service_request r = {.dialect = cfg->dialect, .type = type};
    rdv_buf_reset(out);
    if (type != RDV_REQ_REGISTER && type != RDV_REQ_DISCOVER)
        return RDV_OK;
    r.response = *out; /* encode into the caller's buffer */
    int rc = type == RDV_REQ_REGISTER ? respond_register(&r, going, 0) : respond_discover(&r, going, NULL, 0, NULL, 0);
    *out = r.response;
    return rc;
}
