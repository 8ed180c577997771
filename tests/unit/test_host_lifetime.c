/* test_host_lifetime: the deadlines and caps of src/p2p/lifetime.c on a real server host, driven
 * by a real client host (and raw sockets) over loopback on one loop:
 *   1. a stream that never negotiates its protocol is reset at stream-negotiate-timeout;
 *   2. a negotiated stream that stays silent is reset at stream-idle-timeout;
 *   3. a connection whose only stream is silent is closed at idle-timeout (the stream no longer
 *      keeps it alive);
 *   4. past max-handshakes a newcomer evicts the oldest connection still in its handshake;
 *   5. a source over per-address-connections is refused; a socket closed mid-handshake is counted.
 * The loop is turned until the counters move (bounded); no timing is asserted. */
#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "p2p/builtin.h"
#include "p2p/host_internal.h"
#include "p2p/multiaddr.h"
#include "util/err.h"
#include "host_fixture.h"
#include "tap.h"

struct pair {
    struct ev_loop *loop;
    struct rdv_host *server, *client;
    struct rdv_conn *dialed;
    int dial_err;
    bool stream_closed;
};

static void on_dial(void *arg, struct rdv_conn *c, int err)
{
    struct pair *p = arg;
    p->dialed = c;
    p->dial_err = err;
}

static void silent_close(struct rdv_stream *st, int err)
{
    (void)err;
    struct pair *p = rdv_stream_handler_ctx(st);
    p->stream_closed = true;
}

static const struct rdv_stream_handler silent = {.on_close = silent_close};

static struct rdv_host *make_host(struct ev_loop *loop, const struct rdv_host_limits *lim, bool listen)
{
    return rdv_test_host(loop, lim, NULL, listen);
}

static bool connect_pair(struct pair *p)
{
    p->dialed = NULL;
    struct rdv_host *s = p->server;
    uint64_t ok_before = s->stats.handshakes_ok;
    int err = rdv_host_dial(p->client, s->listeners[0].ma, s->listeners[0].ma_len, &s->self, on_dial, p);
    for (int i = 0; i < 5000 && !err && (!p->dialed || s->stats.handshakes_ok == ok_before); i++)
        ev_run(p->loop, EVRUN_ONCE);
    return !err && p->dialed && s->stats.handshakes_ok > ok_before;
}

static void test_stream_deadlines(struct pair *p)
{
    ok(connect_pair(p), "streams: connected");
    struct rdv_host *s = p->server;
    struct rdv_yamux_stream *ys; /* a bare yamux stream: SYN, then never a multistream byte */
    ok(rdv_yamux_open_stream(p->dialed->mux, &ys) == RDV_OK, "negotiation: a stream opened that says nothing");
    rdv_conn_flush(p->dialed);
    rdv_test_turn_while(p->loop, &s->stats.timeouts_stream_negotiation, 0);
    ok(s->stats.timeouts_stream_negotiation == 1, "negotiation: the server reset it at the deadline");
    ok(s->stats.connections == 1, "negotiation: the connection stays");

    struct rdv_stream *st;
    p->stream_closed = false;
    ok(rdv_conn_open_stream(p->dialed, RDV_PING_PROTOCOL, &silent, p, &st) == RDV_OK,
       "stream idle: a ping stream negotiated, then silent");
    rdv_test_turn_while(p->loop, &s->stats.timeouts_stream_idle, 0);
    ok(s->stats.timeouts_stream_idle == 1, "stream idle: the server reset it");
    for (int i = 0; i < 1000 && !p->stream_closed; i++)
        ev_run(p->loop, EVRUN_ONCE);
    ok(p->stream_closed, "stream idle: the client saw its stream end");
    ok(s->stats.connections == 1 && s->stats.timeouts_idle == 0, "stream idle: the connection stays");

    /* now a silent stream outlives the connection's idle timeout: the connection goes anyway */
    s->limits.stream_idle_timeout = 1000;
    s->limits.idle_timeout = 0.5;
    ok(rdv_conn_open_stream(p->dialed, RDV_PING_PROTOCOL, &silent, p, &st) == RDV_OK,
       "idle: another silent ping stream");
    rdv_test_turn_while(p->loop, &s->stats.timeouts_idle, 0);
    ok(s->stats.timeouts_idle == 1, "idle: the connection with only a silent stream open is closed as idle");
    rdv_test_turn_while(p->loop, &p->client->stats.connections, 1);
    ok(s->stats.connections == 0 && p->client->stats.connections == 0, "idle: both ends closed");
    s->limits.idle_timeout = 30;
}

static int raw_connect(const struct rdv_host *s)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || rdv_ma_tcp_sockaddr(s->listeners[0].ma, s->listeners[0].ma_len, &ss, &sl) != RDV_OK ||
        connect(fd, (struct sockaddr *)&ss, sl) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    struct timeval tv = {.tv_sec = 5}; /* a test that fails must not hang in recv */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Turns the loop until the server has seen n more connections (accepted or refused). */
static void turn_accepts(struct pair *p, uint64_t seen_before, uint64_t n)
{
    const struct rdv_host_stats *st = &p->server->stats;
    for (int i = 0; i < 5000; i++) {
        uint64_t seen = st->handshaking + st->evicted_handshaking + st->rejected_per_address_connections +
                        st->handshakes_aborted;
        if (seen >= seen_before + n)
            break;
        ev_run(p->loop, EVRUN_ONCE);
    }
}

static bool closed_by_peer(int fd)
{
    char b[64];
    ssize_t n;
    while ((n = recv(fd, b, sizeof(b), 0)) > 0) /* the server's multistream header, if it came */
        ;
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

static void test_handshake_cap(struct pair *p)
{
    struct rdv_host *s = p->server;
    s->limits.max_handshakes = 2;
    int fd[3];
    for (int i = 0; i < 3; i++) {
        fd[i] = raw_connect(s);
        turn_accepts(p, 0, (uint64_t)i + 1);
    }
    ok(fd[0] >= 0 && fd[1] >= 0 && fd[2] >= 0, "handshake cap: three raw connections that never speak");
    ok(s->stats.evicted_handshaking == 1 && s->stats.handshaking == 2,
       "handshake cap: the third evicted the oldest (evicted %llu, in handshake %llu)",
       (unsigned long long)s->stats.evicted_handshaking, (unsigned long long)s->stats.handshaking);
    ok(closed_by_peer(fd[0]), "handshake cap: the oldest one was closed");
    uint64_t seen = s->stats.handshaking + s->stats.evicted_handshaking;
    close(fd[1]);
    rdv_test_turn_while(p->loop, &s->stats.handshakes_aborted, 0);
    ok(s->stats.handshakes_aborted == 1 && s->stats.handshaking == 1, "aborted: a peer closing mid-handshake is counted");
    (void)seen;
    close(fd[0]);
    close(fd[2]);
    rdv_test_turn_while(p->loop, &s->stats.handshaking, 1);
    ok(s->stats.handshaking == 0 && s->stats.connections == 0, "handshake cap: all gone");
    s->limits.max_handshakes = 512;
}

static void test_per_address(struct pair *p)
{
    struct rdv_host *s = p->server;
    struct rdv_addr_limits l = s->limits.per_address;
    l.max_connections = 2;
    rdv_addr_table_set_limits(&s->sources, &l);
    int fd[3];
    for (int i = 0; i < 3; i++)
        fd[i] = raw_connect(s);
    rdv_test_turn_while(p->loop, &s->stats.rejected_per_address_connections, 0);
    ok(s->stats.rejected_per_address_connections == 1 && s->stats.handshaking == 2,
       "per address: the third connection of 127.0.0.1 is refused (cap 2)");
    ok(closed_by_peer(fd[2]), "per address: it was closed at once");
    for (int i = 0; i < 3; i++)
        close(fd[i]);
    rdv_test_turn_while(p->loop, &s->stats.handshaking, 2);
    rdv_test_turn_while(p->loop, &s->stats.handshaking, 1);
    ok(s->stats.connections == 0, "per address: all gone");
    l.max_connections = 256;
    rdv_addr_table_set_limits(&s->sources, &l);
    int again = raw_connect(s);
    rdv_test_turn_while(p->loop, &s->stats.handshaking, 0);
    ok(s->stats.handshaking == 1, "per address: the source's slots are free again");
    close(again);
    rdv_test_turn_while(p->loop, &s->stats.handshaking, 1);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    struct pair p = {.loop = ev_default_loop(0)};
    struct rdv_host_limits lim;
    rdv_host_limits_defaults(&lim);
    lim.stream_negotiate_timeout = 0.2;
    lim.stream_idle_timeout = 0.4;
    lim.idle_timeout = 30;
    p.server = make_host(p.loop, &lim, true);
    p.client = make_host(p.loop, NULL, false);
    if (!ok(p.server && p.client, "two hosts"))
        return tap_done();
    test_stream_deadlines(&p);
    test_handshake_cap(&p);
    test_per_address(&p);
    rdv_host_free(p.client);
    rdv_host_free(p.server);
    ev_loop_destroy(p.loop);
    return tap_done();
}
