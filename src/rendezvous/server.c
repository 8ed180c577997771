/* server.c: see server.h. */
#include "rendezvous/server.h"

#include <stdlib.h>

#include "p2p/lp.h"
#include "util/err.h"

/* One per open rendezvous stream. A request in flight in an asynchronous store keeps it alive
 * after the stream closes (orphaned), so the store's callback never touches freed memory. */
struct rz_stream {
    struct rdv_rendezvous_server *srv;
    struct rdv_stream *st;  /* NULL once the stream has closed */
    bool busy;              /* a request is in the store */
    bool in_pump;
    double started;         /* rdv_metrics_now() when the request in the store began */
};

static void rz_pump(struct rz_stream *z);

int rdv_rendezvous_status_index(enum rdv_status st)
{
    static const enum rdv_status order[] = {
        RDV_STATUS_OK, RDV_STATUS_E_INVALID_NAMESPACE, RDV_STATUS_E_INVALID_PEER_INFO, RDV_STATUS_E_INVALID_TTL,
        RDV_STATUS_E_NOT_AUTHORIZED, RDV_STATUS_E_INTERNAL_ERROR, RDV_STATUS_E_UNAVAILABLE};
    for (int i = 0; i < 7; i++)
        if (order[i] == st)
            return i;
    return 7;
}

static void rz_done(void *arg, struct rdv_service_request *r)
{
    struct rz_stream *z = arg;
    struct rdv_rendezvous_server *srv = z->srv;
    z->busy = false;
    srv->counters.requests[r->type == RDV_MSG_DISCOVER][rdv_rendezvous_status_index(r->status)]++;
    rdv_metric_observe(srv->request_seconds[r->type == RDV_MSG_DISCOVER], rdv_metrics_now() - z->started);
    if (r->status != RDV_STATUS_OK)
        rdv_debug(srv->log, "rendezvous %s -> %s: %s", r->type == RDV_MSG_DISCOVER ? "DISCOVER" : "REGISTER",
                  rdv_status_name(r->status), r->detail ? r->detail : "");
    if (!z->st) { /* the stream went away while the store worked */
        if (!z->in_pump)
            free(z);
        return;
    }
    struct rdv_buf framed;
    rdv_buf_init(&framed, 0);
    int err = rdv_lp_append(&framed, rdv_buf_head(&r->response), r->response.len);
    if (!err)
        err = rdv_stream_write(z->st, rdv_buf_head(&framed), framed.len);
    rdv_buf_free(&framed);
    if (err) {
        rdv_stream_reset(z->st);
        return;
    }
    if (!z->in_pump)
        rz_pump(z);
}

/* Runs every complete request waiting in the stream's input, one at a time. */
static void rz_pump(struct rz_stream *z)
{
    z->in_pump = true;
    while (z->st && !z->busy) {
        struct rdv_buf *in = rdv_stream_input(z->st);
        const uint8_t *msg;
        size_t len, total;
        int rc = rdv_lp_peek(rdv_buf_head(in), in->len, z->srv->max_message, &msg, &len, &total);
        if (rc == 0)
            break;
        int err = rc < 0 ? rc : RDV_OK;
        if (!err) {
            z->busy = true;
            z->started = rdv_metrics_now();
            err = rdv_service_handle(z->srv->cfg, z->srv->store, rdv_conn_remote_peer(rdv_stream_conn(z->st)),
                                     msg, len, rz_done, z);
            if (err)
                z->busy = false;
            else if (z->st)
                rdv_buf_consume(in, total);
        }
        if (err) {
            z->srv->counters.bad_messages++;
            rdv_debug(z->srv->log, "rendezvous: bad request (%s): stream reset", rdv_strerror(err));
            rdv_stream_reset(z->st);
            break;
        }
    }
    z->in_pump = false;
    if (!z->st && !z->busy) /* closed under our feet: rz_close left the freeing to us */
        free(z);
}

static void rz_open(struct rdv_stream *st)
{
    struct rz_stream *z = calloc(1, sizeof(*z));
    if (!z) {
        rdv_stream_reset(st);
        return;
    }
    z->srv = rdv_stream_handler_ctx(st);
    z->st = st;
    rdv_stream_set_user(st, z);
}

static void rz_data(struct rdv_stream *st)
{
    struct rz_stream *z = rdv_stream_get_user(st);
    if (z)
        rz_pump(z);
}

static void rz_eof(struct rdv_stream *st)
{
    struct rz_stream *z = rdv_stream_get_user(st);
    if (z && !z->busy)
        rdv_stream_close(st); /* the client is done asking */
}

static void rz_close(struct rdv_stream *st, int err)
{
    (void)err;
    struct rz_stream *z = rdv_stream_get_user(st);
    if (!z)
        return;
    rdv_stream_set_user(st, NULL);
    z->st = NULL;
    if (!z->busy && !z->in_pump)
        free(z);
}

static const struct rdv_stream_handler rz_handler = {
    .on_open = rz_open, .on_data = rz_data, .on_eof = rz_eof, .on_close = rz_close};

int rdv_rendezvous_server_register(struct rdv_host *h, struct rdv_rendezvous_server *srv)
{
    return rdv_host_handle(h, RDV_PROTOCOL_WAKU_V001, &rz_handler, srv);
}
