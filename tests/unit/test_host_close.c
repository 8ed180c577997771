/* test_host_close: how src/p2p/conn.c ends a connection without losing its last words.
 * 1. A client that is done lingers (rdv_host_linger): a stream the peer opens to it after its own
 *    work is over (as js-libp2p's identify does) is still served; then GoAway, half-close, and the
 *    connection ends at the peer's FIN, well before the grace period.
 * 2. A protocol error: the GoAway (code 1) that says so reaches the peer before the connection
 *    ends, instead of being lost in a close(2).
 * 3. Shutdown with a request still in the store: when the grace is over, the peer gets
 *    E_UNAVAILABLE on its stream (not a bare end), and the store's late answer is dropped safely.
 * Two hosts on one loop over loopback; the loop is turned until the counters move. */
#include <ev.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/builtin.h"
#include "p2p/host_internal.h"
#include "p2p/lp.h"
#include "p2p/multiaddr.h"
#include "rendezvous/server.h"
#include "rendezvous/wire.h"
#include "util/err.h"
#include "host_fixture.h"
#include "tap.h"

struct pair {
    struct ev_loop *loop;
    struct rdv_host *server, *client;
    struct rdv_conn *dialed;
    int dial_err, ping_err;
    bool pinged, lingered;
};

static void turn_until(struct ev_loop *loop, const bool *flag)
{
    for (int i = 0; i < 5000 && !*flag; i++)
        ev_run(loop, EVRUN_ONCE);
}

static void on_dial(void *arg, struct rdv_conn *c, int err)
{
    struct pair *p = arg;
    p->dialed = c;
    p->dial_err = err ? err : 0;
}

static void on_ping(void *arg, double rtt, int err)
{
    (void)rtt;
    struct pair *p = arg;
    p->ping_err = err;
    p->pinged = true;
}

static void on_lingered(void *arg)
{
    struct pair *p = arg;
    p->lingered = true;
    ev_break(p->loop, EVBREAK_ONE); /* called from the host's prepare watcher: do not block after it */
}

static const struct rdv_log test_log = {.level = RDV_LOG_DEBUG};

static struct rdv_host *make_host(struct ev_loop *loop, bool listen)
{
    return rdv_test_host(loop, NULL, getenv("TEST_DEBUG") ? &test_log : NULL, listen);
}

static struct rdv_conn *server_side(struct rdv_host *h)
{
    struct rdv_list_node *n = rdv_list_first(&h->conns);
    return n ? rdv_list_entry(n, struct rdv_conn, link) : NULL;
}

/* The client dials the server; both ends are open when this returns true. */
static bool connect_pair(struct pair *p)
{
    p->dialed = NULL;
    struct rdv_host *s = p->server;
    int err = rdv_host_dial(p->client, s->listeners[0].ma, s->listeners[0].ma_len, &s->self, on_dial, p);
    for (int i = 0; i < 5000 && !err && (!p->dialed || !server_side(s) || server_side(s)->state != CONN_OPEN); i++)
        ev_run(p->loop, EVRUN_ONCE);
    return !err && p->dialed && server_side(s) && server_side(s)->state == CONN_OPEN;
}

static void test_linger(struct pair *p)
{
    ok(connect_pair(p), "linger: connected");
    struct rdv_conn *at_server = server_side(p->server);
    ev_tstamp start = ev_time();
    rdv_host_linger(p->client, 0.05, 20.0, on_lingered, p); /* the client's own work is done */
    ok(rdv_ping_request(at_server, on_ping, p) == RDV_OK, "linger: the peer opens a stream to the client after that");
    turn_until(p->loop, &p->pinged);
    ok(p->pinged && p->ping_err == RDV_OK, "linger: the lingering client still answers it (ping err %d)", p->ping_err);
    turn_until(p->loop, &p->lingered);
    ok(p->lingered, "linger: then the client's connections are all closed");
    double took = ev_time() - start;
    ok(took < 10.0, "linger: at the peer's FIN, not at the end of the grace period (%.3f s)", took);
    ok(p->server->stats.goaways_received == 1, "linger: the peer was told (GoAway) before the close");
    rdv_test_turn_while(p->loop, &p->server->stats.connections, 1);
    ok(p->server->stats.connections == 0, "linger: the server side is closed too");
}

static void test_protocol_error(struct pair *p)
{
    ok(connect_pair(p), "protocol error: connected");
    uint64_t told = p->client->stats.goaways_received;
    /* a yamux frame of version 7: a violation the server must answer with GoAway(1) */
    static const uint8_t bad[12] = {7, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0};
    ok(rdv_buf_append(rdv_yamux_output(p->dialed->mux), bad, sizeof(bad)) == RDV_OK, "protocol error: a bad frame queued");
    rdv_conn_flush(p->dialed);
    rdv_test_turn_while(p->loop, &p->server->stats.protocol_errors, 0);
    ok(p->server->stats.protocol_errors == 1, "protocol error: the server saw it");
    rdv_test_turn_while(p->loop, &p->client->stats.goaways_received, told);
    ok(p->client->stats.goaways_received == told + 1, "protocol error: its GoAway reached the peer before the close");
    rdv_test_turn_while(p->loop, &p->server->stats.connections, 1);
    rdv_test_turn_while(p->loop, &p->client->stats.connections, 1);
    ok(p->server->stats.connections == 0 && p->client->stats.connections == 0, "protocol error: both ends closed");
}

/* A store that never answers on its own: the test answers (late) with the saved callback. */
struct hang_store {
    struct rdv_store base;
    rdv_store_discover_cb cb;
    void *arg;
};

static void hang_discover(struct rdv_store *s, const struct rdv_store_query *q, rdv_store_discover_cb cb, void *arg)
{
    (void)q;
    struct hang_store *h = (struct hang_store *)s;
    h->cb = cb;
    h->arg = arg;
}

struct asker {
    struct rdv_buf got;
    bool closed;
};

static void ask_data(struct rdv_stream *st)
{
    struct asker *a = rdv_stream_handler_ctx(st);
    struct rdv_buf *in = rdv_stream_input(st);
    rdv_buf_append(&a->got, rdv_buf_head(in), in->len);
    rdv_buf_reset(in);
}

static void ask_close(struct rdv_stream *st, int err)
{
    (void)err;
    struct asker *a = rdv_stream_handler_ctx(st);
    a->closed = true;
}

static void on_shut(void *arg)
{
    bool *done = arg;
    *done = true;
}

static void test_shutdown_answers(struct pair *p)
{
    static const struct rdv_store_ops hang_ops = {.kind = "hang", .discover = hang_discover};
    struct hang_store store = {.base = {.ops = &hang_ops}};
    const struct rdv_dialect *d = rdv_dialect_get(RDV_DIALECT_WAKU0);
    struct rdv_rendezvous_server rz;
    memset(&rz, 0, sizeof(rz));
    struct rdv_service_config cfg = {.dialect = d, .default_discover_limit = 10, .max_discover_limit = 100};
    rdv_rendezvous_server_enable(&rz, d, &cfg);
    rz.store = &store.base;
    rz.max_message = 65536;
    ok(rdv_rendezvous_server_register(p->server, &rz) == RDV_OK, "shutdown: rendezvous served by the server host");
    ok(connect_pair(p), "shutdown: connected");
    struct asker a = {.closed = false};
    rdv_buf_init(&a.got, 0);
    static const struct rdv_stream_handler ask = {.on_data = ask_data, .on_close = ask_close};
    struct rdv_wire_request q = {.type = RDV_REQ_DISCOVER, .ns = {(const uint8_t *)"slow", 4}, .limit = 10};
    struct rdv_buf body, framed;
    rdv_buf_init(&body, 0);
    rdv_buf_init(&framed, 0);
    ok(rdv_wire_encode_request(d->wire, &q, &body) == RDV_OK && rdv_lp_append(&framed, rdv_buf_head(&body), body.len) == RDV_OK,
       "shutdown: a DISCOVER encoded");
    struct rdv_stream *st;
    ok(rdv_conn_open_stream_lazy(p->dialed, d->protocol, &ask, &a, rdv_buf_head(&framed), framed.len, &st) == RDV_OK,
       "shutdown: the DISCOVER is sent");
    for (int i = 0; i < 5000 && !store.cb; i++)
        ev_run(p->loop, EVRUN_ONCE);
    ok(store.cb != NULL, "shutdown: the request waits in the store");
    bool shut = false;
    ev_tstamp start = ev_time();
    rdv_host_shutdown(p->server, 0.2, on_shut, &shut);
    for (int i = 0; i < 20000 && !a.closed; i++)
        ev_run(p->loop, EVRUN_ONCE);
    const uint8_t *msg;
    size_t len, total;
    struct rdv_wire_response r;
    bool framed_ok = rdv_lp_peek(rdv_buf_head(&a.got), a.got.len, 65536, &msg, &len, &total) > 0;
    ok(framed_ok && rdv_wire_decode_response(d->wire, msg, len, &r) == RDV_OK && r.type == RDV_REQ_DISCOVER &&
           r.status == RDV_STATUS_E_UNAVAILABLE,
       "shutdown: after the grace the peer got DISCOVER_RESPONSE E_UNAVAILABLE (%zu bytes)", a.got.len);
    ok(ev_time() - start < 5.0, "shutdown: within the grace and its last words");
    for (int i = 0; i < 20000 && !shut; i++)
        ev_run(p->loop, EVRUN_ONCE);
    ok(shut, "shutdown: then every connection closed");
    store.cb(store.arg, RDV_STORE_OK, NULL, 0); /* the store's late answer: dropped, its memory freed */
    ok(true, "shutdown: the store's late answer went nowhere (ASan: no use after free, no leak)");
    rdv_buf_free(&a.got);
    rdv_buf_free(&body);
    rdv_buf_free(&framed);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    struct pair p;
    memset(&p, 0, sizeof(p));
    p.loop = ev_loop_new(EVFLAG_AUTO);
    p.server = make_host(p.loop, true);
    struct rdv_host *plain_client = make_host(p.loop, false);
    ok(p.server && plain_client, "hosts");
    if (!p.server || !plain_client)
        return tap_done();
    p.client = plain_client;
    test_protocol_error(&p);
    rdv_host_free(plain_client);
    p.client = make_host(p.loop, false);
    test_linger(&p);
    rdv_host_free(p.client);
    p.client = make_host(p.loop, false);
    test_shutdown_answers(&p);
    rdv_host_free(p.client);
    rdv_host_free(p.server);
    ev_loop_destroy(p.loop);
    return tap_done();
}
