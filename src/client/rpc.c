/* rpc.c: see rpc.h. Messages go through the dialect's wire layout (rendezvous/wire.h), the same
 * codec the server uses, so client and server cannot disagree on a dialect. */
#include "client/rpc.h"

#include <stdlib.h>
#include <string.h>

#include "p2p/lp.h"
#include "util/err.h"

#define RPC_MAX_RESPONSE RDV_MAX_RESPONSE

struct rpc {
    const struct rdv_dialect *d;
    enum rdv_req_type type;
    bool answered;
    rdv_rpc_cb cb;
    void *arg;
    struct rdv_buf request; /* framed, sent on open */
};

static struct rdv_wire_slice opt_slice(const void *p, size_t n)
{
    return (struct rdv_wire_slice){p, p ? n : 0};
}

int rdv_rpc_encode(const struct rdv_dialect *d, const struct rdv_rpc_request *q, struct rdv_buf *out)
{
    if (!d || !q || (q->type == RDV_REQ_UNREGISTER && !d->unregister))
        return RDV_ERR_UNSUPPORTED;
    struct rdv_wire_request w = {.type = q->type};
    if (q->ns && *q->ns)
        w.ns = opt_slice(q->ns, strlen(q->ns));
    if (q->type == RDV_REQ_REGISTER) {
        w.record = opt_slice(q->envelope ? q->envelope : (const uint8_t *)"", q->envelope_len);
        /* a negative value goes out as protobuf writes an int64 (a server must refuse it) */
        w.has_ttl = q->ttl != 0;
        w.ttl = (uint64_t)q->ttl;
    } else if (q->type == RDV_REQ_DISCOVER) {
        w.has_limit = q->limit != 0;
        w.limit = (uint64_t)q->limit;
        if (d->cookies && q->cookie && q->cookie_len)
            w.cookie = opt_slice(q->cookie, q->cookie_len);
    }
    return rdv_wire_encode_request(d->wire, &w, out);
}

static void rpc_report(struct rpc *r, const struct rdv_rpc_answer *a)
{
    if (r->answered)
        return;
    r->answered = true;
    r->cb(r->arg, a);
}

static void rpc_fail(struct rpc *r, int err)
{
    struct rdv_rpc_answer a = {.err = err, .status = RDV_STATUS_E_INTERNAL_ERROR, .text = ""};
    rpc_report(r, &a);
}

/* A TTL as the layout means it: int64 layouts say "negative" with values above INT64_MAX. */
static int64_t wire_ttl(const struct rdv_wire_layout *l, uint64_t v)
{
    if (v > INT64_MAX)
        return l->signed_ints ? 0 : INT64_MAX;
    return (int64_t)v;
}

/* Collects the registrations of a decoded DiscoverResponse into a fresh array (*out; n in *n). */
static int collect_registrations(const struct rpc *r, const struct rdv_wire_response *w,
                                 struct rdv_rpc_registration **out, size_t *n)
{
    struct rdv_wire_registration g;
    struct rdv_wire_reg_iter pos = {0};
    size_t count = 0;
    int rc;
    while ((rc = rdv_wire_next_registration(w, &pos, &g)) == 1)
        count++;
    if (rc < 0)
        return RDV_ERR_PROTOCOL;
    struct rdv_rpc_registration *regs = calloc(count ? count : 1, sizeof(*regs));
    if (!regs)
        return RDV_ERR_NOMEM;
    pos = (struct rdv_wire_reg_iter){0};
    for (size_t i = 0; i < count && rdv_wire_next_registration(w, &pos, &g) == 1; i++)
        regs[i] = (struct rdv_rpc_registration){g.ns.p, g.ns.len, g.record.p, g.record.len,
                                                wire_ttl(r->d->wire, g.ttl)};
    *out = regs;
    *n = count;
    return RDV_OK;
}

static void rpc_answer(struct rpc *r, const uint8_t *msg, size_t len)
{
    struct rdv_wire_response w;
    if (rdv_wire_decode_response(r->d->wire, msg, len, &w) != RDV_OK || w.type != r->type) {
        rpc_fail(r, RDV_ERR_PROTOCOL);
        return;
    }
    char text[RDV_RPC_TEXT_MAX];
    size_t tn = w.text.len < sizeof(text) - 1 ? w.text.len : sizeof(text) - 1;
    if (tn)
        memcpy(text, w.text.p, tn);
    text[tn] = '\0';
    struct rdv_rpc_answer a = {.status = (enum rdv_status)w.status, .text = text, .ttl = wire_ttl(r->d->wire, w.ttl)};
    struct rdv_rpc_registration *regs = NULL;
    if (r->type == RDV_REQ_DISCOVER) {
        int err = collect_registrations(r, &w, &regs, &a.nregs);
        if (err) {
            rpc_fail(r, err);
            return;
        }
        a.regs = regs;
        if (w.cookie.p && w.cookie.len) {
            a.cookie = w.cookie.p;
            a.cookie_len = w.cookie.len;
        }
    }
    rpc_report(r, &a);
    free(regs);
}

/* The request went out with the proposal (lazy multistream): nothing to write once agreed. */
static void rpc_open(struct rdv_stream *st)
{
    struct rpc *r = rdv_stream_get_user(st);
    if (r->type == RDV_REQ_UNREGISTER)
        rdv_stream_close(st); /* nothing comes back: our FIN after the request ends the exchange */
}

static void rpc_data(struct rdv_stream *st)
{
    struct rpc *r = rdv_stream_get_user(st);
    struct rdv_buf *in = rdv_stream_input(st);
    if (r->type == RDV_REQ_UNREGISTER) {
        rdv_buf_reset(in); /* an answer the protocol does not have: ignored */
        return;
    }
    const uint8_t *msg;
    size_t len, total;
    int rc = rdv_lp_peek(rdv_buf_head(in), in->len, RPC_MAX_RESPONSE, &msg, &len, &total);
    if (rc == 0)
        return;
    if (rc < 0)
        rpc_fail(r, rc);
    else
        rpc_answer(r, msg, len);
    rdv_buf_reset(in);
    rdv_stream_close(st);
}

static void rpc_close(struct rdv_stream *st, int err)
{
    struct rpc *r = rdv_stream_get_user(st);
    if (!r)
        return;
    if (r->type == RDV_REQ_UNREGISTER && !err) {
        struct rdv_rpc_answer a = {.status = RDV_STATUS_OK, .text = ""};
        rpc_report(r, &a);
    }
    rpc_fail(r, err ? err : RDV_ERR_CLOSED);
    rdv_buf_free(&r->request);
    free(r);
}

static const struct rdv_stream_handler rpc_handler = {.on_open = rpc_open, .on_data = rpc_data, .on_close = rpc_close};

int rdv_rpc_send(struct rdv_conn *c, const struct rdv_dialect *d, const struct rdv_rpc_request *q, rdv_rpc_cb cb,
                 void *arg)
{
    if (!c || !d || !q || !cb || q->type >= RDV_REQ_TYPE_COUNT)
        return RDV_ERR_INVALID;
    struct rpc *r = calloc(1, sizeof(*r));
    if (!r)
        return RDV_ERR_NOMEM;
    *r = (struct rpc){.d = d, .type = q->type, .cb = cb, .arg = arg};
    struct rdv_buf msg;
    rdv_buf_init(&msg, 0);
    rdv_buf_init(&r->request, 0);
    int err = rdv_rpc_encode(d, q, &msg);
    if (!err)
        err = rdv_lp_append(&r->request, rdv_buf_head(&msg), msg.len);
    rdv_buf_free(&msg);
    struct rdv_stream *st;
    if (!err)
        err = rdv_conn_open_stream_lazy(c, d->protocol, &rpc_handler, NULL, rdv_buf_head(&r->request), r->request.len,
                                        &st);
    if (err) {
        rdv_buf_free(&r->request);
        free(r);
        return err;
    }
    rdv_stream_set_user(st, r);
    return RDV_OK;
}
