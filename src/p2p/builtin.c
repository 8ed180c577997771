/* builtin.c: see builtin.h. */
#include "config.h"

#include "p2p/builtin.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/lp.h"
#include "p2p/multiaddr.h"
#include "p2p/peer_record.h"
#include "util/err.h"

#define MAX_LISTEN_ADDRS 32

/* ---- identify, answering side ----------------------------------------------------------------- */

static void identify_serve(struct rdv_stream *st)
{
    struct rdv_host *h = rdv_stream_handler_ctx(st);
    struct rdv_buf addrs[MAX_LISTEN_ADDRS], observed, msg, framed;
    struct rdv_bytes listen[MAX_LISTEN_ADDRS];
    size_t n = rdv_host_listen_addrs(h, addrs, MAX_LISTEN_ADDRS);
    for (size_t i = 0; i < n; i++)
        listen[i] = (struct rdv_bytes){rdv_buf_head(&addrs[i]), addrs[i].len};
    rdv_buf_init(&observed, RDV_MA_MAX_BINARY);
    rdv_buf_init(&msg, RDV_IDENTIFY_MAX);
    rdv_buf_init(&framed, 0);
    const char *const *protos;
    struct rdv_identify_out out = {.key = &rdv_host_key(h)->pub, .listen_addrs = listen, .nlisten = n,
                                   .agent_version = "rendezvousd/" PACKAGE_VERSION};
    out.nprotocols = rdv_host_protocols(h, &protos);
    out.protocols = protos;
    if (rdv_ma_from_text(rdv_conn_remote_addr(rdv_stream_conn(st)), &observed) == RDV_OK)
        out.observed_addr = (struct rdv_bytes){rdv_buf_head(&observed), observed.len};
    rdv_host_signed_record(h, &out.signed_record.p, &out.signed_record.len);
    int err = rdv_identify_encode(&out, &msg);
    if (!err)
        err = rdv_lp_append(&framed, rdv_buf_head(&msg), msg.len);
    if (!err)
        err = rdv_stream_write(st, rdv_buf_head(&framed), framed.len);
    if (!err)
        rdv_stream_close(st);
    else
        rdv_stream_reset(st);
    for (size_t i = 0; i < n; i++)
        rdv_buf_free(&addrs[i]);
    rdv_buf_free(&observed);
    rdv_buf_free(&msg);
    rdv_buf_free(&framed);
}

static void discard_input(struct rdv_stream *st)
{
    rdv_buf_reset(rdv_stream_input(st));
}

static void nothing_on_close(struct rdv_stream *st, int err)
{
    (void)st;
    (void)err;
}

static const struct rdv_stream_handler identify_server = {
    .on_open = identify_serve, .on_data = discard_input, .on_close = nothing_on_close};

/* ---- ping, answering side --------------------------------------------------------------------- */

static void ping_echo(struct rdv_stream *st)
{
    struct rdv_buf *in = rdv_stream_input(st);
    while (in->len >= RDV_PING_SIZE && !rdv_stream_output_wait(st)) { /* a pinger that reads nothing waits */
        if (rdv_stream_write(st, rdv_buf_head(in), RDV_PING_SIZE) != RDV_OK) {
            rdv_stream_reset(st);
            return;
        }
        rdv_buf_consume(in, RDV_PING_SIZE);
    }
}

static void ping_eof(struct rdv_stream *st)
{
    rdv_stream_close(st);
}

static const struct rdv_stream_handler ping_server = {
    .on_data = ping_echo, .on_eof = ping_eof, .on_close = nothing_on_close};

int rdv_builtin_register(struct rdv_host *h)
{
    int err = rdv_host_handle(h, RDV_IDENTIFY_PROTOCOL, &identify_server, h);
    return err ? err : rdv_host_handle(h, RDV_PING_PROTOCOL, &ping_server, h);
}

/* ---- identify, asking side -------------------------------------------------------------------- */

struct identify_req {
    rdv_identify_cb cb;
    void *arg;
    bool answered;
};

static void identify_req_finish(struct rdv_stream *st, const struct rdv_identify_peer *peer, int err)
{
    struct identify_req *r = rdv_stream_get_user(st);
    if (!r || r->answered)
        return;
    r->answered = true;
    r->cb(r->arg, peer, err);
}

/* The answer is complete at EOF: one length-prefixed Identify message. */
static void identify_req_eof(struct rdv_stream *st)
{
    struct rdv_buf *in = rdv_stream_input(st);
    const uint8_t *msg;
    size_t len, total;
    int rc = rdv_lp_peek(rdv_buf_head(in), in->len, RDV_IDENTIFY_MAX, &msg, &len, &total);
    struct rdv_identify_peer peer;
    int err = rc == 1 ? rdv_identify_decode(msg, len, &peer) : (rc < 0 ? rc : RDV_ERR_TRUNCATED);
    if (!err) {
        const struct rdv_peerid *remote = rdv_conn_remote_peer(rdv_stream_conn(st));
        struct rdv_peerid from_key;
        if (!peer.has_key || rdv_peerid_from_pubkey(&peer.key, &from_key) || !rdv_peerid_equal(&from_key, remote))
            err = RDV_ERR_PEER_ID_MISMATCH;
        identify_req_finish(st, err ? NULL : &peer, err);
        rdv_identify_peer_free(&peer);
    } else {
        identify_req_finish(st, NULL, err);
    }
    rdv_stream_close(st);
}

static void identify_req_close(struct rdv_stream *st, int err)
{
    identify_req_finish(st, NULL, err ? err : RDV_ERR_CLOSED);
    free(rdv_stream_get_user(st));
}

static void identify_req_open(struct rdv_stream *st)
{
    rdv_stream_close(st); /* we send nothing: the answer comes and the remote closes */
}

static const struct rdv_stream_handler identify_client = {
    .on_open = identify_req_open, .on_eof = identify_req_eof, .on_close = identify_req_close};

int rdv_identify_request(struct rdv_conn *c, rdv_identify_cb cb, void *arg)
{
    struct identify_req *r = calloc(1, sizeof(*r));
    if (!r)
        return RDV_ERR_NOMEM;
    r->cb = cb;
    r->arg = arg;
    struct rdv_stream *st;
    int err = rdv_conn_open_stream(c, RDV_IDENTIFY_PROTOCOL, &identify_client, NULL, &st);
    if (err) {
        free(r);
        return err;
    }
    rdv_stream_set_user(st, r);
    return RDV_OK;
}

/* ---- ping, asking side ------------------------------------------------------------------------ */

struct ping_req {
    rdv_ping_cb cb;
    void *arg;
    uint8_t payload[RDV_PING_SIZE];
    ev_tstamp sent;
    bool answered;
};

static void ping_req_finish(struct rdv_stream *st, double rtt, int err)
{
    struct ping_req *r = rdv_stream_get_user(st);
    if (r->answered)
        return;
    r->answered = true;
    r->cb(r->arg, rtt, err);
}

static void ping_req_open(struct rdv_stream *st)
{
    struct ping_req *r = rdv_stream_get_user(st);
    randombytes_buf(r->payload, sizeof(r->payload));
    r->sent = ev_time();
    if (rdv_stream_write(st, r->payload, sizeof(r->payload)) != RDV_OK)
        rdv_stream_reset(st);
}

static void ping_req_data(struct rdv_stream *st)
{
    struct ping_req *r = rdv_stream_get_user(st);
    struct rdv_buf *in = rdv_stream_input(st);
    if (in->len < RDV_PING_SIZE)
        return;
    bool same = memcmp(rdv_buf_head(in), r->payload, RDV_PING_SIZE) == 0;
    ping_req_finish(st, ev_time() - r->sent, same ? RDV_OK : RDV_ERR_PROTOCOL);
    rdv_buf_reset(in);
    rdv_stream_close(st);
}

static void ping_req_close(struct rdv_stream *st, int err)
{
    ping_req_finish(st, 0, err ? err : RDV_ERR_CLOSED);
    free(rdv_stream_get_user(st));
}

static const struct rdv_stream_handler ping_client = {
    .on_open = ping_req_open, .on_data = ping_req_data, .on_close = ping_req_close};

int rdv_ping_request(struct rdv_conn *c, rdv_ping_cb cb, void *arg)
{
    struct ping_req *r = calloc(1, sizeof(*r));
    if (!r)
        return RDV_ERR_NOMEM;
    r->cb = cb;
    r->arg = arg;
    struct rdv_stream *st;
    int err = rdv_conn_open_stream(c, RDV_PING_PROTOCOL, &ping_client, NULL, &st);
    if (err) {
        free(r);
        return err;
    }
    rdv_stream_set_user(st, r);
    return RDV_OK;
}
