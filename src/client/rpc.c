/* rpc.c: see rpc.h. */
#include "client/rpc.h"

#include <stdlib.h>
#include <string.h>

#include "p2p/lp.h"
#include "rendezvous.pb-c.h"
#include "util/err.h"

#define RPC_MAX_RESPONSE RDV_MAX_RESPONSE

struct rpc {
    bool discover;
    bool answered;
    rdv_rpc_register_cb reg_cb;
    rdv_rpc_discover_cb disc_cb;
    void *arg;
    struct rdv_buf request; /* framed, sent on open */
};

static int pack_message(struct rdv_buf *out, const Rendezvous__Pb__Message *m)
{
    size_t n = rendezvous__pb__message__get_packed_size(m);
    int err = rdv_buf_reserve(out, n);
    if (!err)
        rdv_buf_commit(out, rendezvous__pb__message__pack(m, rdv_buf_tail(out)));
    return err;
}

int rdv_rpc_encode_register(struct rdv_buf *out, const char *ns, const uint8_t *envelope, size_t envelope_len, int64_t ttl)
{
    Rendezvous__Pb__Message m = RENDEZVOUS__PB__MESSAGE__INIT;
    Rendezvous__Pb__Message__Register r = RENDEZVOUS__PB__MESSAGE__REGISTER__INIT;
    m.type = RENDEZVOUS__PB__MESSAGE__MESSAGE_TYPE__REGISTER;
    r.ns = (char *)ns;
    r.signedpeerrecord = (ProtobufCBinaryData){envelope_len, (uint8_t *)envelope};
    r.ttl = ttl;
    m.register_ = &r;
    return pack_message(out, &m);
}

int rdv_rpc_encode_discover(struct rdv_buf *out, const char *ns, int64_t limit)
{
    Rendezvous__Pb__Message m = RENDEZVOUS__PB__MESSAGE__INIT;
    Rendezvous__Pb__Message__Discover d = RENDEZVOUS__PB__MESSAGE__DISCOVER__INIT;
    m.type = RENDEZVOUS__PB__MESSAGE__MESSAGE_TYPE__DISCOVER;
    d.ns = (char *)ns;
    d.limit = limit;
    m.discover = &d;
    return pack_message(out, &m);
}

static void rpc_fail(struct rpc *r, int err)
{
    if (r->answered)
        return;
    r->answered = true;
    if (r->discover)
        r->disc_cb(r->arg, err, RDV_STATUS_E_INTERNAL_ERROR, NULL, NULL, 0);
    else
        r->reg_cb(r->arg, err, RDV_STATUS_E_INTERNAL_ERROR, NULL, 0);
}

static void rpc_answer_discover(struct rpc *r, const Rendezvous__Pb__Message__DiscoverResponse *d)
{
    size_t n = d->n_registrations;
    struct rdv_rpc_registration *regs = calloc(n ? n : 1, sizeof(*regs));
    if (!regs) {
        rpc_fail(r, RDV_ERR_NOMEM);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const Rendezvous__Pb__Message__Register *g = d->registrations[i];
        regs[i] = (struct rdv_rpc_registration){g->ns, g->signedpeerrecord.data, g->signedpeerrecord.len, g->ttl};
    }
    r->answered = true;
    r->disc_cb(r->arg, RDV_OK, (enum rdv_status)d->status, d->statustext, regs, n);
    free(regs);
}

static void rpc_answer(struct rpc *r, const uint8_t *msg, size_t len)
{
    Rendezvous__Pb__Message *m = rendezvous__pb__message__unpack(NULL, len, msg);
    if (!m) {
        rpc_fail(r, RDV_ERR_INVALID);
        return;
    }
    if (r->discover && m->type == RENDEZVOUS__PB__MESSAGE__MESSAGE_TYPE__DISCOVER_RESPONSE && m->discoverresponse) {
        rpc_answer_discover(r, m->discoverresponse);
    } else if (!r->discover && m->type == RENDEZVOUS__PB__MESSAGE__MESSAGE_TYPE__REGISTER_RESPONSE && m->registerresponse) {
        const Rendezvous__Pb__Message__RegisterResponse *g = m->registerresponse;
        r->answered = true;
        r->reg_cb(r->arg, RDV_OK, (enum rdv_status)g->status, g->statustext, g->ttl);
    } else {
        rpc_fail(r, RDV_ERR_PROTOCOL);
    }
    rendezvous__pb__message__free_unpacked(m, NULL);
}

static void rpc_open(struct rdv_stream *st)
{
    struct rpc *r = rdv_stream_get_user(st);
    if (rdv_stream_write(st, rdv_buf_head(&r->request), r->request.len) != RDV_OK)
        rdv_stream_reset(st);
}

static void rpc_data(struct rdv_stream *st)
{
    struct rpc *r = rdv_stream_get_user(st);
    struct rdv_buf *in = rdv_stream_input(st);
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
    rpc_fail(r, err ? err : RDV_ERR_CLOSED);
    rdv_buf_free(&r->request);
    free(r);
}

static const struct rdv_stream_handler rpc_handler = {.on_open = rpc_open, .on_data = rpc_data, .on_close = rpc_close};

static int rpc_start(struct rdv_conn *c, struct rpc *r, struct rdv_buf *msg)
{
    rdv_buf_init(&r->request, 0);
    int err = rdv_lp_append(&r->request, rdv_buf_head(msg), msg->len);
    rdv_buf_free(msg);
    struct rdv_stream *st;
    if (!err)
        err = rdv_conn_open_stream(c, RDV_PROTOCOL_WAKU_V001, &rpc_handler, NULL, &st);
    if (err) {
        rdv_buf_free(&r->request);
        free(r);
        return err;
    }
    rdv_stream_set_user(st, r);
    return RDV_OK;
}

int rdv_rpc_register(struct rdv_conn *c, const char *ns, const uint8_t *envelope, size_t envelope_len,
                     int64_t ttl, rdv_rpc_register_cb cb, void *arg)
{
    struct rpc *r = calloc(1, sizeof(*r));
    if (!r)
        return RDV_ERR_NOMEM;
    r->reg_cb = cb;
    r->arg = arg;
    struct rdv_buf msg;
    rdv_buf_init(&msg, 0);
    int err = rdv_rpc_encode_register(&msg, ns, envelope, envelope_len, ttl);
    if (err) {
        rdv_buf_free(&msg);
        free(r);
        return err;
    }
    return rpc_start(c, r, &msg);
}

int rdv_rpc_discover(struct rdv_conn *c, const char *ns, int64_t limit, rdv_rpc_discover_cb cb, void *arg)
{
    struct rpc *r = calloc(1, sizeof(*r));
    if (!r)
        return RDV_ERR_NOMEM;
    r->discover = true;
    r->disc_cb = cb;
    r->arg = arg;
    struct rdv_buf msg;
    rdv_buf_init(&msg, 0);
    int err = rdv_rpc_encode_discover(&msg, ns, limit);
    if (err) {
        rdv_buf_free(&msg);
        free(r);
        return err;
    }
    return rpc_start(c, r, &msg);
}
