/* conn.c: one libp2p connection: its socket, buffers and timers on libev, and the upgrade
 * multistream-select -> Noise -> multistream-select -> yamux as one explicit state machine
 * (enum conn_state, driven by conn_step) over the pure modules multistream.c, noise.c, yamux.c.
 *
 * Byte path:
 *   socket -> rbuf -> [MSS "/noise"] -> noise_recv -> plain_in -> [MSS "/yamux/1.0.0"] -> yamux_recv
 *   yamux output / MSS answers -> noise_send -> wbuf -> socket
 * What a peer can make us hold is capped: rbuf by one Noise frame plus one read, plain_in by four
 * frames of plaintext, wbuf by a soft mark for yamux output (backpressure) and a hard cap. */
#include "p2p/host_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/err.h"

#define NOISE_PROTOCOL "/noise"
#define READ_CHUNK 65536
#define RBUF_MAX (2 + RDV_NOISE_MSG_MAX + READ_CHUNK)
#define PLAIN_IN_MAX (4 * RDV_NOISE_MSG_MAX)
#define WBUF_SOFT (256 * 1024) /* stop pulling from yamux past this much unsent output */
#define WBUF_FLOOR (4u << 20)   /* the encrypted output's hard cap is never below this */
#define DRAIN_SECONDS 2.0      /* how long a half-closed connection waits for the peer's FIN */

/* multistream keeps pointers to these: they must live as long as the program */
static const char *const security_protocols[] = {NOISE_PROTOCOL};
static const char *const muxer_protocols[] = {RDV_YAMUX_PROTOCOL_ID};

static void conn_process(struct rdv_conn *c);

/* ---- sockets ----------------------------------------------------------------------------------- */

/* "/ip4/A/tcp/P" or "/ip6/A/tcp/P": for logs, identify's observed address and our listen list. */
void rdv_sockaddr_text(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        port = ntohs(s4->sin_port);
        snprintf(out, cap, "/ip4/%s/tcp/%u", ip, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        port = ntohs(s6->sin6_port);
        snprintf(out, cap, "/ip6/%s/tcp/%u", ip, port);
    } else {
        snprintf(out, cap, "?");
    }
}

/* ---- connections ------------------------------------------------------------------------------- */

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

static struct rdv_conn *conn_new(struct rdv_host *h, int fd, bool outbound)
{
    struct rdv_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->host = h;
    c->fd = fd;
    c->outbound = outbound;
    rdv_buf_init(&c->rbuf, RBUF_MAX);
    /* a safety net only: output.c budgets what is queued; the handshake and one pull from yamux
     * must always fit, whatever budget the embedding application chose */
    size_t wmax = h->limits.max_conn_output > WBUF_FLOOR ? h->limits.max_conn_output : WBUF_FLOOR;
    rdv_buf_init(&c->wbuf, wmax);
    rdv_buf_init(&c->plain_in, PLAIN_IN_MAX);
    rdv_buf_init(&c->plain_out, 0);
    ev_io_init(&c->rio, conn_io_cb, fd, EV_READ);
    ev_io_init(&c->wio, conn_io_cb, fd, EV_WRITE);
    c->rio.data = c->wio.data = c;
    ev_timer_init(&c->timer, conn_timer_cb, h->limits.handshake_timeout, 0);
    c->timer.data = c;
    c->last_activity = ev_now(h->loop);
    rdv_lifetime_conn_init(c);
    rdv_output_conn_init(c);
    rdv_list_push_front(&h->conns, &c->link);
    h->stats.connections++;
    ev_timer_start(h->loop, &c->timer);
    return c;
}

static void conn_unlink(struct rdv_conn *c)
{
    struct rdv_host *h = c->host;
    rdv_list_remove(&c->link);
    h->stats.connections--;
}

/* Step one of closing: stop all I/O, report, and hand the memory to the reaper. */
void rdv_conn_fail(struct rdv_conn *c, int err, const char *why)
{
    struct rdv_host *h = c->host;
    if (c->state == CONN_DEAD)
        return;
    bool was_setting_up = c->state < CONN_OPEN;
    if (why)
        rdv_debug(h->log, "conn %s: closed: %s (%s)", c->addr_text, why, rdv_strerror(err));
    if (was_setting_up && err != RDV_ERR_CLOSED)
        h->stats.handshakes_failed++;
    c->state = CONN_DEAD;
    rdv_lifetime_conn_gone(c);
    rdv_output_conn_gone(c);
    ev_io_stop(h->loop, &c->rio);
    ev_io_stop(h->loop, &c->wio);
    ev_timer_stop(h->loop, &c->timer);
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    conn_unlink(c);
    rdv_list_push_back(&h->dead, &c->link);
    if (c->dial_cb) {
        rdv_dial_cb cb = c->dial_cb;
        c->dial_cb = NULL;
        cb(c->dial_arg, NULL, err ? err : RDV_ERR_CLOSED);
    }
}

void rdv_conn_free(struct rdv_conn *c)
{
    /* yamux fires on_stream_closed for each stream: handlers see the conn dead and let go */
    if (c->mux)
        rdv_yamux_free(c->mux);
    rdv_noise_session_free(c->noise);
    rdv_buf_free(&c->rbuf);
    rdv_buf_free(&c->wbuf);
    rdv_buf_free(&c->plain_in);
    rdv_buf_free(&c->plain_out);
    free(c);
}

void rdv_conn_close(struct rdv_conn *c)
{
    rdv_conn_fail(c, RDV_ERR_CLOSED, "closed locally");
}

const struct rdv_peerid *rdv_conn_remote_peer(const struct rdv_conn *c)
{
    return c->noise ? rdv_noise_remote_peer(c->noise) : NULL;
}

const char *rdv_conn_remote_addr(const struct rdv_conn *c) { return c->addr_text; }
const char *rdv_conn_local_addr(const struct rdv_conn *c) { return c->local_text; }

static void conn_note_local_addr(struct rdv_conn *c)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) == 0)
        rdv_sockaddr_text(&ss, c->local_text, sizeof(c->local_text));
}

/* The last step of a polite close: everything we had to say is in the kernel; half-close, so the
 * peer reads it to the end, and wait (briefly, whatever the peer sends) for its FIN. Closing at
 * once would be worse: close(2) with the peer's input still unread sends a RST straight away and
 * drops what our send queue still holds — the last answer, or the GoAway that says why. */
static void conn_drain(struct rdv_conn *c, double within)
{
    struct ev_loop *loop = c->host->loop;
    c->state = CONN_DRAINING;
    ev_io_stop(loop, &c->wio);
    if (shutdown(c->fd, SHUT_WR) < 0) {
        rdv_conn_fail(c, RDV_ERR_CLOSED, "shut down");
        return;
    }
    ev_timer_stop(loop, &c->timer);
    ev_timer_set(&c->timer, within, 0);
    ev_timer_start(loop, &c->timer);
    ev_io_start(loop, &c->rio);
}

/* Writes what the socket takes; arms the write watcher for the rest. */
static void conn_write_socket(struct rdv_conn *c)
{
    while (c->wbuf.len > 0) {
        ssize_t n = send(c->fd, rdv_buf_head(&c->wbuf), c->wbuf.len, MSG_NOSIGNAL);
        if (n > 0) {
            rdv_buf_consume(&c->wbuf, (size_t)n);
            rdv_output_sent(c);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            ev_io_start(c->host->loop, &c->wio);
            return;
        }
        rdv_conn_fail(c, RDV_ERR_IO, strerror(errno));
        return;
    }
    ev_io_stop(c->host->loop, &c->wio);
    if (c->state == CONN_CLOSING && (!c->mux || rdv_yamux_stream_count(c->mux) == 0))
        conn_drain(c, DRAIN_SECONDS);
}

/* Encrypts plaintext for the secure channel. */
static int conn_send_plain(struct rdv_conn *c, const uint8_t *p, size_t n)
{
    return rdv_noise_send(c->noise, p, n, &c->wbuf);
}

/* Moves yamux output through Noise into wbuf while wbuf is under its soft mark, so a peer that
 * reads slowly holds back yamux (its streams queue, then refuse writes) instead of growing wbuf
 * towards max_conn_output. */
static int conn_pull_mux(struct rdv_conn *c)
{
    while (c->mux && c->wbuf.len < WBUF_SOFT) {
        struct rdv_buf *out = rdv_yamux_output(c->mux);
        if (out->len == 0) {
            int err = rdv_yamux_flush(c->mux); /* queued stream data the windows now allow */
            if (err)
                return err;
            if (out->len == 0)
                break;
        }
        int err = conn_send_plain(c, rdv_buf_head(out), out->len);
        if (err)
            return err;
        rdv_buf_consume(out, out->len);
    }
    return RDV_OK;
}

/* Pulls from yamux and writes to the socket until the socket is full or nothing is left. */
static void conn_flush_out(struct rdv_conn *c)
{
    while (c->state != CONN_DEAD && c->state != CONN_DRAINING) {
        int err = conn_pull_mux(c);
        if (err) {
            rdv_conn_fail(c, err, "output");
            return;
        }
        size_t pulled = c->wbuf.len;
        conn_write_socket(c);
        if (c->state == CONN_DEAD || c->wbuf.len > 0 || pulled < WBUF_SOFT)
            return; /* socket full (the write watcher resumes us), or everything went */
    }
}

void rdv_conn_flush(struct rdv_conn *c)
{
    conn_flush_out(c);
    if (c->state != CONN_DEAD)
        rdv_output_account(c);
}

struct rdv_conn *rdv_conn_accepted(struct rdv_host *h, int fd, const struct sockaddr_storage *ss)
{
    struct rdv_conn *c = conn_new(h, fd, false);
    if (!c)
        return NULL;
    rdv_sockaddr_text(ss, c->addr_text, sizeof(c->addr_text));
    conn_note_local_addr(c);
    c->state = CONN_MSS_SECURITY;
    rdv_mss_listener_init(&c->mss, security_protocols, 1);
    ev_io_start(h->loop, &c->rio);
    rdv_debug(h->log, "conn %s: accepted", c->addr_text);
    return c;
}

struct rdv_conn *rdv_conn_dialing(struct rdv_host *h, int fd, const struct sockaddr_storage *ss,
                                  const struct rdv_peerid *expected, rdv_dial_cb cb, void *arg)
{
    struct rdv_conn *c = conn_new(h, fd, true);
    if (!c)
        return NULL;
    rdv_sockaddr_text(ss, c->addr_text, sizeof(c->addr_text));
    if (expected) {
        c->expected = *expected;
        c->has_expected = true;
    }
    c->dial_cb = cb;
    c->dial_arg = arg;
    c->state = CONN_CONNECTING;
    ev_io_start(h->loop, &c->wio);
    return c;
}

/* ---- the upgrade: security, muxer ------------------------------------------------------------- */

static void conn_open_done(struct rdv_conn *c)
{
    struct rdv_host *h = c->host;
    c->state = CONN_OPEN;
    h->stats.handshakes_ok++;
    rdv_lifetime_conn_open(c); /* leaves the handshake cap, arms the idle and stream deadlines */
    char id[RDV_PEERID_TEXT_MAX];
    rdv_peerid_to_text(rdv_noise_remote_peer(c->noise), id, sizeof(id));
    rdv_debug(h->log, "conn %s: open, peer %s", c->addr_text, id);
    if (c->dial_cb) {
        rdv_dial_cb cb = c->dial_cb;
        c->dial_cb = NULL;
        cb(c->dial_arg, c, RDV_OK);
    }
}

static int conn_start_mux(struct rdv_conn *c)
{
    const struct rdv_host_limits *l = &c->host->limits;
    struct rdv_yamux_limits yl = {.max_streams = l->max_streams, .max_stream_queue = l->max_conn_output};
    c->mux = rdv_yamux_new(c->outbound ? RDV_YAMUX_CLIENT : RDV_YAMUX_SERVER, &yl, &rdv_stream_mux_callbacks, c);
    return c->mux ? RDV_OK : RDV_ERR_NOMEM;
}

/* Plaintext from Noise: muxer negotiation, then yamux frames. */
static int conn_process_plain(struct rdv_conn *c)
{
    if (c->state == CONN_MSS_MUXER && c->plain_in.len) {
        size_t used = 0;
        rdv_buf_reset(&c->plain_out);
        int err = rdv_mss_recv(&c->mss, rdv_buf_head(&c->plain_in), c->plain_in.len, &used, &c->plain_out);
        rdv_buf_consume(&c->plain_in, used);
        if (!err && c->plain_out.len)
            err = conn_send_plain(c, rdv_buf_head(&c->plain_out), c->plain_out.len);
        if (err)
            return err;
        if (rdv_mss_done(&c->mss)) {
            if ((err = conn_start_mux(c)))
                return err;
            conn_open_done(c);
        }
    }
    if ((c->state == CONN_OPEN || c->state == CONN_CLOSING) && c->plain_in.len) {
        size_t used = 0;
        int err = rdv_yamux_recv(c->mux, rdv_buf_head(&c->plain_in), c->plain_in.len, &used);
        rdv_buf_consume(&c->plain_in, used);
        if (err)
            return err;
    }
    return RDV_OK;
}

static int conn_noise_ready(struct rdv_conn *c)
{
    c->state = CONN_MSS_MUXER;
    if (!c->outbound) {
        rdv_mss_listener_init(&c->mss, muxer_protocols, 1);
        return RDV_OK;
    }
    rdv_buf_reset(&c->plain_out);
    int err = rdv_mss_dialer_init(&c->mss, RDV_YAMUX_PROTOCOL_ID, &c->plain_out);
    return err ? err : conn_send_plain(c, rdv_buf_head(&c->plain_out), c->plain_out.len);
}

static int conn_new_noise(struct rdv_conn *c)
{
    int err = rdv_noise_session_new_with(c->outbound ? RDV_NOISE_INITIATOR : RDV_NOISE_RESPONDER, &c->host->noise_id,
                                        c->has_expected ? &c->expected : NULL, &c->noise);
    return err ? err : rdv_noise_start(c->noise, &c->wbuf);
}

/* As responder the session (its ephemeral key) is made only once the initiator's first message is
 * here (conn_step): a client that negotiates /noise and sends nothing costs us no key work. */
static int conn_start_noise(struct rdv_conn *c)
{
    c->state = CONN_NOISE;
    return c->outbound ? conn_new_noise(c) : RDV_OK;
}

/* One pass over rbuf; returns RDV_OK when no further progress is possible. */
static int conn_step(struct rdv_conn *c, bool *progress)
{
    size_t used = 0;
    int err = RDV_OK;
    *progress = false;
    if (c->state == CONN_MSS_SECURITY) {
        err = rdv_mss_recv(&c->mss, rdv_buf_head(&c->rbuf), c->rbuf.len, &used, &c->wbuf);
        rdv_buf_consume(&c->rbuf, used);
        if (!err && rdv_mss_done(&c->mss)) {
            err = conn_start_noise(c);
            *progress = true;
        }
        return err;
    }
    if (!c->noise && (c->rbuf.len == 0 || (err = conn_new_noise(c))))
        return err;
    bool was_ready = rdv_noise_ready(c->noise);
    err = rdv_noise_recv(c->noise, rdv_buf_head(&c->rbuf), c->rbuf.len, &used, &c->wbuf, &c->plain_in);
    rdv_buf_consume(&c->rbuf, used);
    if (!err && !was_ready && rdv_noise_ready(c->noise))
        err = conn_noise_ready(c);
    size_t plain_before = c->plain_in.len;
    if (!err)
        err = conn_process_plain(c);
    /* draining plain_in may let Noise decrypt frames it had to leave in rbuf: go round again */
    *progress = used > 0 || c->plain_in.len < plain_before;
    return err;
}

/* Sends what is queued if the socket takes all of it now; no waiting on a peer that broke the rules. */
static bool conn_send_now(struct rdv_conn *c)
{
    while (c->wbuf.len > 0) {
        ssize_t n = send(c->fd, rdv_buf_head(&c->wbuf), c->wbuf.len, MSG_NOSIGNAL);
        if (n > 0)
            rdv_buf_consume(&c->wbuf, (size_t)n);
        else if (!(n < 0 && errno == EINTR))
            return false;
    }
    return true;
}

/* A protocol error ends the connection. Past the upgrade, yamux has queued a GoAway that says so:
 * it goes out (with whatever else was queued) if the socket takes it at once, then the half-close,
 * so the peer learns why rather than seeing a reset. */
static void conn_fail_telling(struct rdv_conn *c, int err)
{
    if (c->state != CONN_OPEN && c->state != CONN_CLOSING) {
        rdv_conn_fail(c, err, "protocol error");
        return;
    }
    struct rdv_buf *out = rdv_yamux_output(c->mux);
    if (conn_send_plain(c, rdv_buf_head(out), out->len) != RDV_OK || !conn_send_now(c)) {
        rdv_conn_fail(c, err, "protocol error");
        return;
    }
    rdv_buf_consume(out, out->len);
    rdv_debug(c->host->log, "conn %s: protocol error (%s): GoAway sent, closing", c->addr_text, rdv_strerror(err));
    c->host->stats.protocol_errors++;
    conn_drain(c, DRAIN_SECONDS);
}

static void conn_process(struct rdv_conn *c)
{
    c->in_process = true;
    bool progress = true;
    int err = RDV_OK;
    while (!err && progress && c->state != CONN_DEAD)
        err = conn_step(c, &progress);
    c->in_process = false;
    if (c->state == CONN_DEAD)
        return;
    if (err) {
        conn_fail_telling(c, err);
        return;
    }
    rdv_conn_flush(c);
}

/* Half-closed, we only wait for the peer's FIN: what it still sends is read and dropped, so the
 * final close finds nothing unread (no RST). */
static void conn_read_draining(struct rdv_conn *c)
{
    uint8_t sink[4096];
    ssize_t n = recv(c->fd, sink, sizeof(sink), 0);
    if (n == 0)
        rdv_conn_fail(c, RDV_ERR_CLOSED, "closed");
    else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        rdv_conn_fail(c, RDV_ERR_CLOSED, strerror(errno));
}

static void conn_read(struct rdv_conn *c)
{
    if (c->state == CONN_DRAINING) {
        conn_read_draining(c);
        return;
    }
    int err = rdv_buf_reserve(&c->rbuf, READ_CHUNK);
    if (err) {
        rdv_conn_fail(c, err, "input over its cap");
        return;
    }
    ssize_t n = recv(c->fd, rdv_buf_tail(&c->rbuf), READ_CHUNK, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        rdv_lifetime_aborted(c); /* counts a peer that gave up during its handshake */
        if (n == 0)
            rdv_conn_fail(c, RDV_ERR_CLOSED, "remote closed");
        else
            rdv_conn_fail(c, RDV_ERR_IO, strerror(errno));
        return;
    }
    if (n < 0)
        return;
    rdv_buf_commit(&c->rbuf, (size_t)n); /* last_activity: stream data only (lifetime.c) */
    conn_process(c);
}

static void conn_connected(struct rdv_conn *c)
{
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr) {
        rdv_conn_fail(c, RDV_ERR_IO, strerror(soerr ? soerr : errno));
        return;
    }
    ev_io_stop(c->host->loop, &c->wio);
    ev_io_start(c->host->loop, &c->rio);
    conn_note_local_addr(c);
    c->state = CONN_MSS_SECURITY;
    int err = rdv_mss_dialer_init(&c->mss, NOISE_PROTOCOL, &c->wbuf);
    if (err)
        rdv_conn_fail(c, err, "multistream");
    else
        conn_write_socket(c);
}

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    struct rdv_conn *c = w->data;
    if (c->state == CONN_CONNECTING) {
        conn_connected(c);
        return;
    }
    if ((revents & EV_READ) && c->state != CONN_DEAD)
        conn_read(c);
    if ((revents & EV_WRITE) && c->state != CONN_DEAD)
        rdv_conn_flush(c);
}

/* Lingering: the peer may still be asking us something (js-libp2p identifies every peer that
 * connects, often after our request is answered). Say goodbye only when it has no stream open
 * and has been quiet for linger_quiet seconds; the host's grace timer bounds the wait. */
static void conn_linger_check(struct rdv_conn *c, ev_tstamp idle_for)
{
    struct ev_loop *loop = c->host->loop;
    bool quiet = idle_for >= c->linger_quiet && rdv_yamux_stream_count(c->mux) == 0 && c->wbuf.len == 0;
    if (quiet) {
        rdv_yamux_goaway(c->mux, RDV_YAMUX_GOAWAY_NORMAL);
        c->state = CONN_CLOSING;
        rdv_conn_flush(c); /* ends in conn_drain once the GoAway is out */
        return;
    }
    double wait = idle_for >= c->linger_quiet ? c->linger_quiet : c->linger_quiet - idle_for;
    ev_timer_set(&c->timer, wait, 0);
    ev_timer_start(loop, &c->timer);
}

void rdv_conn_linger(struct rdv_conn *c, double quiet)
{
    struct ev_loop *loop = c->host->loop;
    c->linger_quiet = quiet;
    ev_timer_stop(loop, &c->timer);
    ev_timer_set(&c->timer, 0, 0);
    ev_timer_start(loop, &c->timer);
}

static void conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct rdv_conn *c = w->data;
    if (c->state < CONN_OPEN) {
        c->host->stats.timeouts_handshake++;
        rdv_conn_fail(c, RDV_ERR_TIMEOUT, "handshake timeout");
        return;
    }
    if (c->state == CONN_DRAINING) {
        rdv_conn_fail(c, RDV_ERR_CLOSED, "peer did not close after ours");
        return;
    }
    ev_tstamp idle_for = ev_now(loop) - c->last_activity;
    if (c->linger_quiet > 0 && c->state == CONN_OPEN) {
        conn_linger_check(c, idle_for);
        return;
    }
    rdv_lifetime_check(c);
}
