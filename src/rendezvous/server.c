/* server.c: see server.h. */
#include "rendezvous/server.h"

#include <stdlib.h>
#include <string.h>

#include "util/metrics.h"

#include "p2p/lp.h"
#include "util/err.h"

/* One per open rendezvous stream. A request in flight in an asynchronous store keeps it alive
 * after the stream closes (orphaned), so the store's callback never touches freed memory. */
struct rz_stream {
    struct rdv_rendezvous_server *srv;
    const struct rdv_rendezvous_dialect *rd;
    struct rdv_stream *st;  /* NULL once the stream has closed */
    bool busy;              /* a request is in the store */
    bool in_pump;
    bool answered;          /* the request in the store was answered E_UNAVAILABLE at shutdown */
    enum rdv_req_type type; /* of the request in the store */
    double started;         /* rdv_metrics_now() when the request in the store began */
};

static void rz_pump(struct rz_stream *z);

static void rz_want_key(struct rdv_rendezvous_server *srv);

/* The store's secret arrived (or not): cookie dialects can answer DISCOVER once it is known. */
static void key_done(void *arg, enum rdv_store_status st, const uint8_t *key)
{
    struct rdv_rendezvous_server *srv = arg;
    srv->fetching_key = false;
    if (st != RDV_STORE_OK || !key) {
        rdv_warn(srv->log, "rendezvous: store secret for cookies not available (%s): cookie DISCOVERs answer "
                 "E_UNAVAILABLE until it is", rdv_store_status_name(st));
        return;
    }
    memcpy(srv->cookie_key, key, RDV_COOKIE_KEY_LEN);
    srv->have_key = true;
    for (int i = 0; i < RDV_DIALECT_COUNT; i++)
        srv->dialects[i].cfg.cookie_key = srv->cookie_key;
}

static void rz_want_key(struct rdv_rendezvous_server *srv)
{
    if (srv->have_key || srv->fetching_key || !srv->store)
        return;
    srv->fetching_key = true;
    rdv_store_secret(srv->store, key_done, srv);
}

/* Counts an answer problem and says so in the log, at most once per RDV_HOST_LOG_EVERY seconds:
 * a peer can cause them (a namespace it filled, a connection it does not read). */
static void answer_problem(struct rdv_rendezvous_server *srv, const struct rdv_dialect *d, enum rdv_answer_problem p,
                           size_t bytes, int err)
{
    if (srv->observer.answer_problem)
        srv->observer.answer_problem(srv->observer.ctx, d, p);
    uint64_t held;
    if (!rdv_ratelog_allow(&srv->answer_log, rdv_metrics_now(), &held))
        return;
    if (p == RDV_ANSWER_TRUNCATED)
        rdv_info(srv->log, "rendezvous %s: a DISCOVER sample was cut to fit %u bytes (%llu similar held back)",
                 d->protocol, (unsigned)RDV_MAX_RESPONSE, (unsigned long long)held);
    else
        rdv_warn(srv->log, "rendezvous %s: an answer of %zu bytes could not be queued (%s: the connection or the "
                 "server is over its output budget): stream reset (%llu similar held back)", d->protocol, bytes,
                 rdv_strerror(err), (unsigned long long)held);
}

static void rz_done(void *arg, struct rdv_service_request *r)
{
    struct rz_stream *z = arg;
    struct rdv_rendezvous_server *srv = z->srv;
    const struct rdv_dialect *d = z->rd->cfg.dialect;
    z->busy = false;
    if (z->answered) { /* rz_shutdown answered for it: the store's answer comes too late */
        if (!z->st && !z->in_pump)
            free(z);
        return;
    }
    if (srv->observer.request)
        srv->observer.request(srv->observer.ctx, d, r->type, r->status, rdv_metrics_now() - z->started);
    if (r->status != RDV_STATUS_OK)
        rdv_debug(srv->log, "rendezvous %s %s -> %s: %s", d->protocol, rdv_req_type_name(r->type),
                  rdv_status_name(r->status), r->detail ? r->detail : "");
    if (r->status == RDV_STATUS_E_UNAVAILABLE && d->cookies)
        rz_want_key(srv); /* the secret may be what was missing */
    if (r->truncated)
        answer_problem(srv, d, RDV_ANSWER_TRUNCATED, r->response.len, RDV_OK);
    if (!z->st) { /* the stream went away while the store worked */
        if (!z->in_pump)
            free(z);
        return;
    }
    if (r->silent) { /* UNREGISTER: nothing to send; go on with the next request */
        if (!z->in_pump)
            rz_pump(z);
        return;
    }
    struct rdv_buf framed;
    rdv_buf_init(&framed, 0);
    int err = rdv_lp_append(&framed, rdv_buf_head(&r->response), r->response.len);
    if (!err)
        err = rdv_stream_write(z->st, rdv_buf_head(&framed), framed.len);
    rdv_buf_free(&framed);
    if (err) {
        answer_problem(srv, d, RDV_ANSWER_DROPPED, r->response.len, err);
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
    while (z->st && !z->busy && !z->answered) {
        struct rdv_buf *in = rdv_stream_input(z->st);
        const uint8_t *msg;
        size_t len, total;
        int rc = rdv_lp_peek(rdv_buf_head(in), in->len, z->srv->max_message, &msg, &len, &total);
        if (rc == 0)
            break;
        int err = rc < 0 ? rc : RDV_OK;
        if (!err && rdv_stream_output_wait(z->st))
            break; /* the connection holds its output budget: on_data comes again once it drains */
        if (!err && !rdv_stream_admit_request(z->st)) { /* over per-address-request-rate */
            rdv_stream_reset(z->st);
            break;
        }
        if (!err) {
            z->busy = true;
            z->started = rdv_metrics_now();
            err = rdv_service_handle(&z->rd->cfg, z->srv->store, rdv_conn_remote_peer(rdv_stream_conn(z->st)),
                                     msg, len, rz_done, z, &z->type);
            if (err)
                z->busy = false;
            else if (z->st)
                rdv_buf_consume(in, total);
        }
        if (err) {
            struct rdv_rendezvous_server *srv = z->srv;
            if (srv->observer.malformed)
                srv->observer.malformed(srv->observer.ctx, z->rd->cfg.dialect);
            rdv_debug(srv->log, "rendezvous %s: bad request (%s): stream reset", z->rd->cfg.dialect->protocol,
                      rdv_strerror(err));
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
    z->rd = rdv_stream_handler_ctx(st);
    z->srv = z->rd->srv;
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

/* The host's shutdown grace is over: a request still waiting on the store gets E_UNAVAILABLE ("shutting
 * down") rather than the bare end of the stream, so the peer knows to ask elsewhere. */
static void rz_shutdown(struct rdv_stream *st)
{
    struct rz_stream *z = rdv_stream_get_user(st);
    if (!z || !z->busy || z->answered)
        return;
    z->answered = true;
    struct rdv_rendezvous_server *srv = z->srv;
    if (srv->observer.request)
        srv->observer.request(srv->observer.ctx, z->rd->cfg.dialect, z->type, RDV_STATUS_E_UNAVAILABLE,
                              rdv_metrics_now() - z->started);
    struct rdv_buf body, framed;
    rdv_buf_init(&body, 0);
    rdv_buf_init(&framed, 0);
    int err = rdv_service_unavailable(&z->rd->cfg, z->type, &body);
    if (!err && body.len)
        err = rdv_lp_append(&framed, rdv_buf_head(&body), body.len);
    if (!err && framed.len)
        err = rdv_stream_write(st, rdv_buf_head(&framed), framed.len);
    rdv_buf_free(&body);
    rdv_buf_free(&framed);
    if (err)
        rdv_stream_reset(st);
    else
        rdv_stream_close(st);
}

static const struct rdv_stream_handler rz_handler = {
    .on_open = rz_open, .on_data = rz_data, .on_eof = rz_eof, .on_close = rz_close, .on_shutdown = rz_shutdown};

void rdv_rendezvous_server_enable(struct rdv_rendezvous_server *srv, const struct rdv_dialect *d,
                                  const struct rdv_service_config *cfg)
{
    struct rdv_rendezvous_dialect *rd = &srv->dialects[d->id];
    rd->srv = srv;
    rd->cfg = *cfg;
    rd->cfg.dialect = d;
    rd->cfg.cookie_key = srv->have_key ? srv->cookie_key : NULL;
}

int rdv_rendezvous_server_register(struct rdv_host *h, struct rdv_rendezvous_server *srv)
{
    bool cookies = false;
    rdv_ratelog_init(&srv->answer_log, RDV_HOST_LOG_EVERY);
    for (int i = 0; i < RDV_DIALECT_COUNT; i++) {
        struct rdv_rendezvous_dialect *rd = &srv->dialects[i];
        if (!rd->cfg.dialect)
            continue;
        rd->srv = srv;
        int err = rdv_host_handle(h, rd->cfg.dialect->protocol, &rz_handler, rd);
        if (err)
            return err;
        cookies = cookies || rd->cfg.dialect->cookies;
    }
    if (cookies)
        rz_want_key(srv);
    return RDV_OK;
}
