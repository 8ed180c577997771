/* stream.c: streams over a connection's yamux session: each negotiates its protocol with
 * multistream-select (listener side: the host's table; dialer side: one proposal), then hands
 * its bytes to the protocol's handler (struct rdv_stream_handler). A stream's memory is released
 * by the host's reaper, so handlers may reset or close streams from inside their callbacks. */
#include "p2p/host_internal.h"

#include <stdlib.h>

#include "util/err.h"

/* ---- streams (yamux callbacks) ------------------------------------------------------------------ */

static struct rdv_stream *stream_new(struct rdv_conn *c, struct rdv_yamux_stream *ys)
{
    struct rdv_stream *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    st->conn = c;
    st->ys = ys;
    rdv_buf_init(&st->in, c->host->limits.max_stream_input);
    rdv_buf_init(&st->early_out, c->host->limits.max_stream_input);
    rdv_list_init(&st->held_link);
    rdv_yamux_stream_set_user(ys, st);
    c->host->stats.streams_opened++;
    rdv_lifetime_stream_added(st);
    return st;
}

static int mux_on_stream_open(void *user, struct rdv_yamux_stream *ys)
{
    struct rdv_conn *c = user;
    if (c->state != CONN_OPEN || c->host->nprotos == 0)
        return -1;
    struct rdv_stream *st = stream_new(c, ys);
    if (!st)
        return -1;
    rdv_mss_listener_init(&st->mss, c->host->proto_ids, c->host->nprotos);
    return 0;
}

static void stream_deliver(struct rdv_stream *st, const uint8_t *p, size_t n)
{
    if (n == 0 || !st->ys)
        return;
    if (rdv_buf_append(&st->in, p, n) != RDV_OK) {
        rdv_debug(st->conn->host->log, "stream %s: input over its cap, reset", rdv_stream_protocol(st));
        rdv_stream_reset(st);
        return;
    }
    rdv_lifetime_stream_touch(st);
    if (st->handler->on_data)
        st->handler->on_data(st);
}

/* The stream agreed on a protocol: bind the handler and hand over the bytes that followed. */
static void stream_negotiated(struct rdv_stream *st, const uint8_t *rest, size_t n)
{
    st->negotiated = true;
    if (!st->outbound) {
        const struct proto_entry *pe = rdv_host_find_proto(st->conn->host, rdv_mss_protocol(&st->mss));
        st->handler = pe->handler;
        st->ctx = pe->ctx;
    }
    if (st->early_out.len) {
        int err = rdv_yamux_stream_write(st->ys, rdv_buf_head(&st->early_out), st->early_out.len);
        rdv_buf_free(&st->early_out);
        if (err) {
            rdv_stream_reset(st);
            return;
        }
    }
    if (st->handler->on_open)
        st->handler->on_open(st);
    if (st->ys)
        stream_deliver(st, rest, n);
}

static void mux_on_stream_data(void *user, struct rdv_yamux_stream *ys, const uint8_t *p, size_t n)
{
    (void)user;
    struct rdv_stream *st = rdv_yamux_stream_get_user(ys);
    if (!st)
        return;
    if (st->negotiated) {
        stream_deliver(st, p, n);
        return;
    }
    struct rdv_buf out;
    rdv_buf_init(&out, RDV_MSS_MAX_MSG * 4);
    size_t used = 0;
    int err = rdv_mss_recv(&st->mss, p, n, &used, &out);
    if (!err && out.len)
        err = rdv_yamux_stream_write(ys, rdv_buf_head(&out), out.len);
    rdv_buf_free(&out);
    if (err) {
        rdv_debug(st->conn->host->log, "stream negotiation failed: %s", rdv_strerror(err));
        rdv_yamux_stream_reset(ys);
        return;
    }
    if (rdv_mss_done(&st->mss))
        stream_negotiated(st, p + used, n - used);
}

static void mux_on_stream_fin(void *user, struct rdv_yamux_stream *ys)
{
    (void)user;
    struct rdv_stream *st = rdv_yamux_stream_get_user(ys);
    if (!st)
        return;
    st->eof = true;
    if (!st->negotiated)
        rdv_yamux_stream_reset(ys);
    else if (st->handler->on_eof)
        st->handler->on_eof(st);
}

static void mux_on_stream_closed(void *user, struct rdv_yamux_stream *ys)
{
    (void)user;
    struct rdv_stream *st = rdv_yamux_stream_get_user(ys);
    if (!st)
        return;
    rdv_yamux_stream_set_user(ys, NULL);
    st->ys = NULL;
    rdv_lifetime_stream_gone(st);
    rdv_output_stream_gone(st);
    if (st->handler && st->handler->on_close && (st->negotiated || st->outbound))
        st->handler->on_close(st, st->negotiated ? 0 : RDV_ERR_NOT_FOUND);
    rdv_buf_free(&st->in);
    rdv_buf_free(&st->early_out);
    /* callers up the stack may still hold st: free it from the reaper */
    struct rdv_host *h = st->conn->host;
    st->next_dead = h->dead_streams;
    h->dead_streams = st;
}

static void mux_on_goaway(void *user, uint32_t code)
{
    struct rdv_conn *c = user;
    c->host->stats.goaways_received++;
    rdv_debug(c->host->log, "conn %s: go away (%u)", c->addr_text, code);
}

const struct rdv_yamux_callbacks rdv_stream_mux_callbacks = {
    .on_stream_open = mux_on_stream_open,
    .on_stream_data = mux_on_stream_data,
    .on_stream_fin = mux_on_stream_fin,
    .on_stream_closed = mux_on_stream_closed,
    .on_goaway = mux_on_goaway,
};

struct rdv_buf *rdv_stream_input(struct rdv_stream *st) { return &st->in; }
struct rdv_conn *rdv_stream_conn(const struct rdv_stream *st) { return st->conn; }
void *rdv_stream_handler_ctx(const struct rdv_stream *st) { return st->ctx; }
void *rdv_stream_get_user(const struct rdv_stream *st) { return st->user; }
void rdv_stream_set_user(struct rdv_stream *st, void *user) { st->user = user; }

const char *rdv_stream_protocol(const struct rdv_stream *st)
{
    return st->outbound ? st->dial_proto : (rdv_mss_protocol(&st->mss) ? rdv_mss_protocol(&st->mss) : "?");
}

/* After a stream operation outside conn_process, push its frames out now. */
static void stream_kick(struct rdv_stream *st)
{
    if (st->conn && !st->conn->in_process)
        rdv_conn_flush(st->conn);
}

int rdv_stream_write(struct rdv_stream *st, const void *p, size_t n)
{
    if (!st->ys || st->conn->state == CONN_DEAD)
        return RDV_ERR_CLOSED;
    if (!st->negotiated)
        return rdv_buf_append(&st->early_out, p, n);
    if (!rdv_output_may_write(st->conn, n))
        return RDV_ERR_LIMIT;
    int err = rdv_yamux_stream_write(st->ys, p, n);
    rdv_lifetime_stream_touch(st);
    stream_kick(st);
    return err;
}

int rdv_stream_close(struct rdv_stream *st)
{
    if (!st->ys || st->conn->state == CONN_DEAD)
        return RDV_ERR_CLOSED;
    int err = rdv_yamux_stream_close(st->ys);
    stream_kick(st);
    return err;
}

void rdv_stream_reset(struct rdv_stream *st)
{
    if (!st->ys)
        return;
    struct rdv_conn *c = st->conn;
    rdv_yamux_stream_reset(st->ys); /* may free st via on_stream_closed (deferred to outer call) */
    if (!c->in_process && c->state != CONN_DEAD)
        rdv_conn_flush(c);
}

int rdv_conn_open_stream(struct rdv_conn *c, const char *protocol, const struct rdv_stream_handler *handler,
                         void *ctx, struct rdv_stream **out)
{
    return rdv_conn_open_stream_lazy(c, protocol, handler, ctx, NULL, 0, out);
}

int rdv_conn_open_stream_lazy(struct rdv_conn *c, const char *protocol, const struct rdv_stream_handler *handler,
                              void *ctx, const void *first, size_t n, struct rdv_stream **out)
{
    if (c->state != CONN_OPEN)
        return RDV_ERR_CLOSED;
    struct rdv_yamux_stream *ys;
    int err = rdv_yamux_open_stream(c->mux, &ys);
    if (err)
        return err;
    struct rdv_stream *st = stream_new(c, ys);
    if (!st) {
        rdv_yamux_stream_reset(ys);
        return RDV_ERR_NOMEM;
    }
    st->outbound = true;
    st->dial_proto = protocol;
    st->handler = handler;
    st->ctx = ctx;
    struct rdv_buf hello;
    rdv_buf_init(&hello, 0);
    err = rdv_mss_dialer_init(&st->mss, protocol, &hello);
    if (!err && n)
        err = rdv_buf_append(&hello, first, n); /* one write: one yamux frame, one Noise frame */
    if (!err)
        err = rdv_yamux_stream_write(ys, rdv_buf_head(&hello), hello.len);
    rdv_buf_free(&hello);
    if (err) {
        st->handler = NULL; /* failed before the caller got it: no callbacks */
        rdv_yamux_stream_reset(ys);
        return err;
    }
    if (!c->in_process)
        rdv_conn_flush(c);
    *out = st;
    return RDV_OK;
}
