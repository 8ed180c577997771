/* host.c: see host.h. The I/O half of the libp2p stack: sockets, timers and buffers on libev,
 * driving the pure state machines of multistream.c, noise.c and yamux.c.
 *
 * Byte path of one connection:
 *   socket -> rbuf -> [MSS "/noise"] -> noise_recv -> plain_in -> [MSS "/yamux/1.0.0"] -> yamux_recv
 *   yamux output / MSS answers -> noise_send -> wbuf -> socket
 * Everything a peer can make us hold is capped: rbuf by one Noise frame, plain_in by two frames
 * of plaintext, wbuf by limits.max_conn_output, each stream's input by limits.max_stream_input. */
#include "p2p/host.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "p2p/multiaddr.h"
#include "p2p/multistream.h"
#include "p2p/noise.h"
#include "p2p/peer_record.h"
#include "p2p/yamux.h"
#include "util/err.h"

#define NOISE_PROTOCOL "/noise"
#define READ_CHUNK 65536
#define RBUF_MAX (2 + RDV_NOISE_MSG_MAX + READ_CHUNK)
#define PLAIN_IN_MAX (4 * RDV_NOISE_MSG_MAX)
#define WBUF_SOFT (256 * 1024) /* stop pulling from yamux past this much unsent output */

/* multistream keeps pointers to these: they must live as long as the program */
static const char *const security_protocols[] = {NOISE_PROTOCOL};
static const char *const muxer_protocols[] = {RDV_YAMUX_PROTOCOL_ID};

enum conn_state {
    CONN_CONNECTING,   /* outbound TCP connect in progress */
    CONN_MSS_SECURITY, /* negotiating /noise in the clear */
    CONN_NOISE,        /* Noise handshake */
    CONN_MSS_MUXER,    /* negotiating /yamux/1.0.0 inside Noise */
    CONN_OPEN,         /* yamux session up: streams flow */
    CONN_CLOSING,      /* flushing output before close (shutdown) */
    CONN_DEAD,         /* on the host's dead list, freed from the prepare watcher */
};

struct proto_entry {
    char *id;
    const struct rdv_stream_handler *handler;
    void *ctx;
};

struct listener {
    ev_io io;
    struct rdv_host *host;
    int fd;
    uint8_t ma[64];
    size_t ma_len;
};

struct rdv_host {
    struct ev_loop *loop;
    struct rdv_privkey key;
    struct rdv_peerid self;
    struct rdv_host_limits limits;
    const struct rdv_log *log;
    struct listener listeners[RDV_HOST_MAX_LISTENERS];
    size_t nlisteners;
    struct proto_entry protos[RDV_HOST_MAX_PROTOCOLS];
    const char *proto_ids[RDV_HOST_MAX_PROTOCOLS];
    size_t nprotos;
    struct rdv_conn *conns;     /* live, doubly linked */
    struct rdv_conn *dead;      /* closed, freed by `reaper` */
    struct rdv_stream *dead_streams; /* closed, freed by `reaper` */
    ev_prepare reaper;
    struct rdv_host_stats stats;
    struct rdv_buf record;      /* our signed peer record */
    bool shutting_down;
    void (*shutdown_done)(void *arg);
    void *shutdown_arg;
    ev_timer shutdown_timer;
};

struct rdv_conn {
    struct rdv_host *host;
    struct rdv_conn *prev, *next;
    enum conn_state state;
    bool outbound;
    bool in_process;           /* inside conn_process: flushes happen at its end */
    int fd;
    ev_io rio, wio;
    ev_timer timer;            /* handshake deadline, then idle checks */
    ev_tstamp last_activity;
    struct rdv_buf rbuf, wbuf, plain_in, plain_out;
    struct rdv_mss mss;
    struct rdv_noise_session *noise;
    struct rdv_yamux *mux;
    struct rdv_peerid expected;
    bool has_expected;
    rdv_dial_cb dial_cb;
    void *dial_arg;
    char addr_text[RDV_MA_MAX_TEXT];
    char local_text[RDV_MA_MAX_TEXT];
};

struct rdv_stream {
    struct rdv_conn *conn;
    struct rdv_yamux_stream *ys;
    struct rdv_mss mss;
    const char *dial_proto;     /* outbound: the protocol proposed */
    const struct rdv_stream_handler *handler;
    void *ctx, *user;
    bool negotiated, outbound, eof;
    struct rdv_buf in;          /* negotiated bytes for the handler */
    struct rdv_buf early_out;   /* outbound writes queued until negotiated */
    struct rdv_stream *next_dead;
};

static void conn_process(struct rdv_conn *c);
static void conn_fail(struct rdv_conn *c, int err, const char *why);
static void conn_flush(struct rdv_conn *c);

/* ---- host ------------------------------------------------------------------------------------ */

void rdv_host_limits_defaults(struct rdv_host_limits *l)
{
    l->max_connections = 4096;
    l->max_streams = 64;
    l->max_stream_input = 65536 + 16;
    l->max_conn_output = 4u << 20;
    l->handshake_timeout = 10;
    l->idle_timeout = 120;
}

static void reap_dead(struct ev_loop *loop, ev_prepare *w, int revents);

int rdv_host_new(struct ev_loop *loop, const struct rdv_privkey *key, const struct rdv_host_limits *limits,
                 const struct rdv_log *log, struct rdv_host **out)
{
    struct rdv_host *h = calloc(1, sizeof(*h));
    if (!h)
        return RDV_ERR_NOMEM;
    h->loop = loop;
    h->key = *key;
    h->log = log;
    if (limits)
        h->limits = *limits;
    else
        rdv_host_limits_defaults(&h->limits);
    rdv_buf_init(&h->record, 0);
    int err = rdv_peerid_from_pubkey(&key->pub, &h->self);
    if (err) {
        free(h);
        return err;
    }
    ev_prepare_init(&h->reaper, reap_dead);
    h->reaper.data = h;
    ev_prepare_start(loop, &h->reaper);
    ev_unref(loop); /* the reaper alone must not keep the loop alive */
    *out = h;
    return RDV_OK;
}

const struct rdv_peerid *rdv_host_peer_id(const struct rdv_host *h) { return &h->self; }
const struct rdv_privkey *rdv_host_key(const struct rdv_host *h) { return &h->key; }
const struct rdv_log *rdv_host_log(const struct rdv_host *h) { return h->log; }
struct ev_loop *rdv_host_loop(const struct rdv_host *h) { return h->loop; }
const struct rdv_host_stats *rdv_host_stats(const struct rdv_host *h) { return &h->stats; }

int rdv_host_handle(struct rdv_host *h, const char *protocol, const struct rdv_stream_handler *handler, void *ctx)
{
    if (h->nprotos >= RDV_HOST_MAX_PROTOCOLS)
        return RDV_ERR_LIMIT;
    char *id = strdup(protocol);
    if (!id)
        return RDV_ERR_NOMEM;
    h->protos[h->nprotos] = (struct proto_entry){id, handler, ctx};
    h->proto_ids[h->nprotos] = id;
    h->nprotos++;
    return RDV_OK;
}

size_t rdv_host_protocols(const struct rdv_host *h, const char *const **out)
{
    *out = h->proto_ids;
    return h->nprotos;
}

static const struct proto_entry *find_proto(const struct rdv_host *h, const char *id)
{
    for (size_t i = 0; i < h->nprotos; i++)
        if (strcmp(h->protos[i].id, id) == 0)
            return &h->protos[i];
    return NULL;
}

static void conn_free(struct rdv_conn *c);

static void reap_dead(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop;
    (void)revents;
    struct rdv_host *h = w->data;
    while (h->dead_streams) {
        struct rdv_stream *st = h->dead_streams;
        h->dead_streams = st->next_dead;
        free(st);
    }
    while (h->dead) {
        struct rdv_conn *c = h->dead;
        h->dead = c->next;
        conn_free(c);
    }
    if (h->shutting_down && !h->conns && h->shutdown_done) {
        void (*done)(void *) = h->shutdown_done;
        h->shutdown_done = NULL;
        ev_timer_stop(h->loop, &h->shutdown_timer);
        done(h->shutdown_arg);
    }
}

static void stop_listeners(struct rdv_host *h)
{
    for (size_t i = 0; i < h->nlisteners; i++) {
        if (h->listeners[i].fd >= 0) {
            ev_io_stop(h->loop, &h->listeners[i].io);
            close(h->listeners[i].fd);
            h->listeners[i].fd = -1;
        }
    }
}

void rdv_host_free(struct rdv_host *h)
{
    if (!h)
        return;
    stop_listeners(h);
    while (h->conns)
        conn_fail(h->conns, RDV_ERR_CLOSED, NULL);
    while (h->dead) {
        struct rdv_conn *c = h->dead;
        h->dead = c->next;
        conn_free(c);
    }
    reap_dead(h->loop, &h->reaper, 0);
    ev_ref(h->loop);
    ev_prepare_stop(h->loop, &h->reaper);
    ev_timer_stop(h->loop, &h->shutdown_timer);
    for (size_t i = 0; i < h->nprotos; i++)
        free(h->protos[i].id);
    rdv_buf_free(&h->record);
    rdv_privkey_clear(&h->key);
    free(h);
}

static void shutdown_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct rdv_host *h = w->data;
    while (h->conns)
        conn_fail(h->conns, RDV_ERR_CLOSED, NULL);
}

void rdv_host_shutdown(struct rdv_host *h, double grace, void (*done)(void *arg), void *arg)
{
    h->shutting_down = true;
    h->shutdown_done = done;
    h->shutdown_arg = arg;
    stop_listeners(h);
    for (struct rdv_conn *c = h->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == CONN_OPEN) {
            rdv_yamux_goaway(c->mux, RDV_YAMUX_GOAWAY_NORMAL);
            c->state = CONN_CLOSING;
            conn_flush(c);
        } else {
            conn_fail(c, RDV_ERR_CLOSED, NULL);
        }
    }
    ev_timer_init(&h->shutdown_timer, shutdown_timeout, grace, 0);
    h->shutdown_timer.data = h;
    ev_timer_start(h->loop, &h->shutdown_timer);
}

/* ---- sockets ----------------------------------------------------------------------------------- */

static int set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -1 : 0;
}

static void sockaddr_text(const struct sockaddr_storage *ss, char *out, size_t cap)
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
    rdv_buf_init(&c->wbuf, h->limits.max_conn_output);
    rdv_buf_init(&c->plain_in, PLAIN_IN_MAX);
    rdv_buf_init(&c->plain_out, 0);
    ev_io_init(&c->rio, conn_io_cb, fd, EV_READ);
    ev_io_init(&c->wio, conn_io_cb, fd, EV_WRITE);
    c->rio.data = c->wio.data = c;
    ev_timer_init(&c->timer, conn_timer_cb, h->limits.handshake_timeout, 0);
    c->timer.data = c;
    c->last_activity = ev_now(h->loop);
    c->next = h->conns;
    if (h->conns)
        h->conns->prev = c;
    h->conns = c;
    h->stats.connections++;
    ev_timer_start(h->loop, &c->timer);
    return c;
}

static void conn_unlink(struct rdv_conn *c)
{
    struct rdv_host *h = c->host;
    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    h->stats.connections--;
}

/* Step one of closing: stop all I/O, report, and hand the memory to the reaper. */
static void conn_fail(struct rdv_conn *c, int err, const char *why)
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
    ev_io_stop(h->loop, &c->rio);
    ev_io_stop(h->loop, &c->wio);
    ev_timer_stop(h->loop, &c->timer);
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    conn_unlink(c);
    c->next = h->dead;
    h->dead = c;
    if (c->dial_cb) {
        rdv_dial_cb cb = c->dial_cb;
        c->dial_cb = NULL;
        cb(c->dial_arg, NULL, err ? err : RDV_ERR_CLOSED);
    }
}

static void conn_free(struct rdv_conn *c)
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
    conn_fail(c, RDV_ERR_CLOSED, "closed locally");
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
        sockaddr_text(&ss, c->local_text, sizeof(c->local_text));
}

/* Writes what the socket takes; arms the write watcher for the rest. */
static void conn_write_socket(struct rdv_conn *c)
{
    while (c->wbuf.len > 0) {
        ssize_t n = send(c->fd, rdv_buf_head(&c->wbuf), c->wbuf.len, MSG_NOSIGNAL);
        if (n > 0) {
            rdv_buf_consume(&c->wbuf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            ev_io_start(c->host->loop, &c->wio);
            return;
        }
        conn_fail(c, RDV_ERR_IO, strerror(errno));
        return;
    }
    ev_io_stop(c->host->loop, &c->wio);
    if (c->state == CONN_CLOSING && (!c->mux || rdv_yamux_stream_count(c->mux) == 0))
        conn_fail(c, RDV_ERR_CLOSED, "shut down");
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
static void conn_flush(struct rdv_conn *c)
{
    while (c->state != CONN_DEAD) {
        int err = conn_pull_mux(c);
        if (err) {
            conn_fail(c, err, "output");
            return;
        }
        size_t pulled = c->wbuf.len;
        conn_write_socket(c);
        if (c->state == CONN_DEAD || c->wbuf.len > 0 || pulled < WBUF_SOFT)
            return; /* socket full (the write watcher resumes us), or everything went */
    }
}

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
    rdv_yamux_stream_set_user(ys, st);
    c->host->stats.streams_opened++;
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
    if (st->handler->on_data)
        st->handler->on_data(st);
}

/* The stream agreed on a protocol: bind the handler and hand over the bytes that followed. */
static void stream_negotiated(struct rdv_stream *st, const uint8_t *rest, size_t n)
{
    st->negotiated = true;
    if (!st->outbound) {
        const struct proto_entry *pe = find_proto(st->conn->host, rdv_mss_protocol(&st->mss));
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
    rdv_debug(c->host->log, "conn %s: go away (%u)", c->addr_text, code);
}

static const struct rdv_yamux_callbacks mux_callbacks = {
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
        conn_flush(st->conn);
}

int rdv_stream_write(struct rdv_stream *st, const void *p, size_t n)
{
    if (!st->ys || st->conn->state == CONN_DEAD)
        return RDV_ERR_CLOSED;
    if (!st->negotiated)
        return rdv_buf_append(&st->early_out, p, n);
    int err = rdv_yamux_stream_write(st->ys, p, n);
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
        conn_flush(c);
}

int rdv_conn_open_stream(struct rdv_conn *c, const char *protocol, const struct rdv_stream_handler *handler,
                         void *ctx, struct rdv_stream **out)
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
    if (!err)
        err = rdv_yamux_stream_write(ys, rdv_buf_head(&hello), hello.len);
    rdv_buf_free(&hello);
    if (err) {
        st->handler = NULL; /* failed before the caller got it: no callbacks */
        rdv_yamux_stream_reset(ys);
        return err;
    }
    if (!c->in_process)
        conn_flush(c);
    *out = st;
    return RDV_OK;
}

/* ---- the upgrade: security, muxer ------------------------------------------------------------- */

static void conn_open_done(struct rdv_conn *c)
{
    struct rdv_host *h = c->host;
    c->state = CONN_OPEN;
    h->stats.handshakes_ok++;
    ev_timer_stop(h->loop, &c->timer);
    ev_timer_set(&c->timer, h->limits.idle_timeout, 0);
    ev_timer_start(h->loop, &c->timer);
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
    struct rdv_yamux_limits yl = {.max_streams = c->host->limits.max_streams};
    c->mux = rdv_yamux_new(c->outbound ? RDV_YAMUX_CLIENT : RDV_YAMUX_SERVER, &yl, &mux_callbacks, c);
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

static int conn_start_noise(struct rdv_conn *c)
{
    c->state = CONN_NOISE;
    int err = rdv_noise_session_new(c->outbound ? RDV_NOISE_INITIATOR : RDV_NOISE_RESPONDER, &c->host->key,
                                    c->has_expected ? &c->expected : NULL, &c->noise);
    return err ? err : rdv_noise_start(c->noise, &c->wbuf);
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
        conn_fail(c, err, "protocol error");
        return;
    }
    conn_flush(c);
}

static void conn_read(struct rdv_conn *c)
{
    int err = rdv_buf_reserve(&c->rbuf, READ_CHUNK);
    if (err) {
        conn_fail(c, err, "input over its cap");
        return;
    }
    ssize_t n = recv(c->fd, rdv_buf_tail(&c->rbuf), READ_CHUNK, 0);
    if (n == 0) {
        conn_fail(c, RDV_ERR_CLOSED, "remote closed");
        return;
    }
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            conn_fail(c, RDV_ERR_IO, strerror(errno));
        return;
    }
    rdv_buf_commit(&c->rbuf, (size_t)n);
    c->last_activity = ev_now(c->host->loop);
    conn_process(c);
}

static void conn_connected(struct rdv_conn *c)
{
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr) {
        conn_fail(c, RDV_ERR_IO, strerror(soerr ? soerr : errno));
        return;
    }
    ev_io_stop(c->host->loop, &c->wio);
    ev_io_start(c->host->loop, &c->rio);
    conn_note_local_addr(c);
    c->state = CONN_MSS_SECURITY;
    int err = rdv_mss_dialer_init(&c->mss, NOISE_PROTOCOL, &c->wbuf);
    if (err)
        conn_fail(c, err, "multistream");
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
        conn_flush(c);
}

static void conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct rdv_conn *c = w->data;
    if (c->state < CONN_OPEN) {
        conn_fail(c, RDV_ERR_TIMEOUT, "handshake timeout");
        return;
    }
    ev_tstamp idle_for = ev_now(loop) - c->last_activity;
    double limit = c->host->limits.idle_timeout;
    if (idle_for >= limit && rdv_yamux_stream_count(c->mux) == 0) {
        conn_fail(c, RDV_ERR_TIMEOUT, "idle");
        return;
    }
    ev_timer_set(w, idle_for >= limit ? limit : limit - idle_for, 0);
    ev_timer_start(loop, w);
}

/* ---- accept / listen / dial ------------------------------------------------------------------- */

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct listener *l = w->data;
    struct rdv_host *h = l->host;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                rdv_warn(h->log, "accept: %s", strerror(errno));
            return;
        }
        if (h->stats.connections >= h->limits.max_connections || h->shutting_down) {
            rdv_warn(h->log, "connection refused: %u connections open (max-connections)", h->limits.max_connections);
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct rdv_conn *c = conn_new(h, fd, false);
        if (!c) {
            close(fd);
            continue;
        }
        sockaddr_text(&ss, c->addr_text, sizeof(c->addr_text));
        conn_note_local_addr(c);
        c->state = CONN_MSS_SECURITY;
        rdv_mss_listener_init(&c->mss, security_protocols, 1);
        ev_io_start(h->loop, &c->rio);
        rdv_debug(h->log, "conn %s: accepted", c->addr_text);
    }
}

int rdv_host_listen(struct rdv_host *h, const uint8_t *ma, size_t len)
{
    if (h->nlisteners >= RDV_HOST_MAX_LISTENERS)
        return RDV_ERR_LIMIT;
    struct sockaddr_storage ss;
    socklen_t sl;
    int err = rdv_ma_tcp_sockaddr(ma, len, &ss, &sl);
    if (err)
        return err;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return RDV_ERR_IO;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 511) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return RDV_ERR_IO;
    }
    struct listener *l = &h->listeners[h->nlisteners];
    char text[RDV_MA_MAX_TEXT];
    sockaddr_text(&ss, text, sizeof(text));
    struct rdv_buf bin;
    rdv_buf_init(&bin, sizeof(l->ma));
    err = rdv_ma_from_text(text, &bin);
    if (!err) {
        memcpy(l->ma, rdv_buf_head(&bin), bin.len);
        l->ma_len = bin.len;
    }
    rdv_buf_free(&bin);
    if (err) {
        close(fd);
        return err;
    }
    l->fd = fd;
    l->host = h;
    ev_io_init(&l->io, accept_cb, fd, EV_READ);
    l->io.data = l;
    ev_io_start(h->loop, &l->io);
    h->nlisteners++;
    return RDV_OK;
}

/* Appends `/ipX/<addr>/tcp/<port>` for each interface address of the family (unspecified listeners). */
static size_t expand_unspecified(int family, unsigned port, struct rdv_buf *addrs, size_t n, size_t max)
{
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) < 0)
        return n;
    for (struct ifaddrs *i = ifs; i && n < max; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != family)
            continue;
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        memcpy(&ss, i->ifa_addr, family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
        if (family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)&ss)->sin6_addr))
            continue;
        if (family == AF_INET)
            ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
        else
            ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
        char text[RDV_MA_MAX_TEXT];
        sockaddr_text(&ss, text, sizeof(text));
        rdv_buf_init(&addrs[n], RDV_MA_MAX_BINARY);
        if (rdv_ma_from_text(text, &addrs[n]) == RDV_OK)
            n++;
        else
            rdv_buf_free(&addrs[n]);
    }
    freeifaddrs(ifs);
    return n;
}

size_t rdv_host_listen_addrs(const struct rdv_host *h, struct rdv_buf *addrs, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < h->nlisteners && n < max; i++) {
        const struct listener *l = &h->listeners[i];
        struct sockaddr_storage ss;
        socklen_t sl;
        if (rdv_ma_tcp_sockaddr(l->ma, l->ma_len, &ss, &sl) == RDV_OK) {
            bool any4 = ss.ss_family == AF_INET && ((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY);
            bool any6 = ss.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr);
            unsigned port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                                          : ((struct sockaddr_in6 *)&ss)->sin6_port);
            if (any4 || any6) {
                n = expand_unspecified(ss.ss_family, port, addrs, n, max);
                continue;
            }
        }
        rdv_buf_init(&addrs[n], RDV_MA_MAX_BINARY);
        if (rdv_buf_append(&addrs[n], l->ma, l->ma_len) == RDV_OK)
            n++;
    }
    return n;
}

int rdv_host_update_record(struct rdv_host *h)
{
    struct rdv_buf addrs[RDV_PEER_RECORD_MAX_ADDRS];
    size_t n = rdv_host_listen_addrs(h, addrs, RDV_PEER_RECORD_MAX_ADDRS);
    struct rdv_peer_record r;
    memset(&r, 0, sizeof(r));
    r.peer_id = h->self;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    r.seq = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    int err = RDV_OK;
    for (size_t i = 0; i < n; i++) {
        if (!err)
            err = rdv_peer_record_add_addr(&r, rdv_buf_head(&addrs[i]), addrs[i].len);
        rdv_buf_free(&addrs[i]);
    }
    rdv_buf_reset(&h->record);
    if (!err)
        err = rdv_signed_peer_record_seal(&h->key, &r, &h->record);
    rdv_peer_record_free(&r);
    return err;
}

void rdv_host_signed_record(const struct rdv_host *h, const uint8_t **p, size_t *len)
{
    *p = rdv_buf_head(&h->record);
    *len = h->record.len;
}

int rdv_host_dial(struct rdv_host *h, const uint8_t *ma, size_t len, const struct rdv_peerid *expected,
                  rdv_dial_cb cb, void *arg)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int err = rdv_ma_tcp_sockaddr(ma, len, &ss, &sl);
    if (err)
        return err;
    struct rdv_peerid from_ma;
    const uint8_t *mh;
    size_t mhlen;
    if (!expected && rdv_ma_p2p_peer(ma, len, &mh, &mhlen) == RDV_OK) {
        if ((err = rdv_peerid_from_bytes(mh, mhlen, &from_ma)))
            return err;
        expected = &from_ma;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || set_nonblocking(fd) < 0) {
        if (fd >= 0)
            close(fd);
        return RDV_ERR_IO;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
        int saved = errno;
        close(fd);
        errno = saved;
        return RDV_ERR_IO;
    }
    struct rdv_conn *c = conn_new(h, fd, true);
    if (!c) {
        close(fd);
        return RDV_ERR_NOMEM;
    }
    sockaddr_text(&ss, c->addr_text, sizeof(c->addr_text));
    if (expected) {
        c->expected = *expected;
        c->has_expected = true;
    }
    c->dial_cb = cb;
    c->dial_arg = arg;
    c->state = CONN_CONNECTING;
    ev_io_start(h->loop, &c->wio);
    return RDV_OK;
}
