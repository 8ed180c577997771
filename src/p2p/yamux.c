/* yamux.c: the yamux session, see yamux.h for the wire behaviour and the callback contract.
 *
 * Receiving needs no payload buffer: a 12-byte header is assembled across calls, and data frame
 * payloads are handed to on_stream_data piece by piece as they arrive (yamux carries byte
 * streams, so the frame boundaries mean nothing to the application). Window accounting happens
 * on the header, so a peer overrunning its window is caught before any of its bytes are delivered.
 *
 * Re-entrancy: callbacks run inline, so a stream is never unlinked or freed while a session call
 * is on the stack. Closing only marks it; `depth` counts nested public calls and the outermost one
 * reaps closed streams (and performs a deferred rdv_yamux_free) on its way out. Table walks are
 * therefore safe against anything a callback does (new streams are only ever prepended). */
#include "p2p/yamux.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/htab.h"
#include "util/list.h"

#define DEF_MAX_STREAMS 256u
#define DEF_STREAM_QUEUE (4u * 1024u * 1024u + 65536u) /* one 4 MiB message, the most peers read, and framing */
#define DEF_OUT_SOFT (256u * 1024u)
#define DEF_MAX_OUT (16u * 1024u * 1024u)
#define QUEUE_KEEP 16384u /* a drained queue keeps its allocation up to this size */

struct rdv_yamux_stream {
    struct rdv_yamux *s;
    struct rdv_list_node link; /* on s->streams until reaped (closed ones too) */
    uint32_t id;
    uint32_t send_win;    /* bytes the peer lets us send */
    uint32_t recv_avail;  /* bytes the peer may still send us */
    uint32_t recv_credit; /* consumed bytes not yet returned by a window update */
    size_t delivered;     /* manual_consume: delivered, not yet consumed */
    unsigned need_ack : 1, fin_queued : 1, fin_sent : 1, fin_recv : 1, closed : 1;
    unsigned in_writable : 1, writable_again : 1; /* on_stream_writable runs in a loop, not recursively */
    struct rdv_buf queue;
    void *user;
};

struct rdv_yamux {
    enum rdv_yamux_role role;
    struct rdv_yamux_limits lim;
    struct rdv_yamux_callbacks cb;
    void *user;
    struct rdv_buf out;
    rdv_list streams;   /* every stream not yet reaped, in the order they opened */
    struct rdv_htab by_id; /* the live (not closed) ones by id */
    size_t nstreams;   /* live (not closed) streams */
    size_t nclosed;    /* closed streams awaiting reaping */
    size_t queued;     /* bytes in all stream queues (the output budget counts them) */
    uint64_t next_id;
    uint32_t ping_next, ping_sent;
    int err;           /* sticky fatal error */
    unsigned depth;
    bool ping_active, free_pending, local_goaway, remote_goaway;
    /* receive side */
    uint8_t hdr[RDV_YAMUX_HEADER_LEN];
    size_t hdr_len;
    uint32_t body_left;  /* payload bytes of the current data frame still to come */
    uint32_t body_id;    /* its stream, 0 = discard */
    uint16_t body_flags;
};

/* ---------------------------------------------------------------- helpers */

void rdv_yamux_header_encode(uint8_t o[RDV_YAMUX_HEADER_LEN], uint8_t type, uint16_t flags,
                             uint32_t id, uint32_t length)
{
    o[0] = 0;
    o[1] = type;
    o[2] = (uint8_t)(flags >> 8);
    o[3] = (uint8_t)flags;
    for (int i = 0; i < 4; i++) {
        o[4 + i] = (uint8_t)(id >> (24 - 8 * i));
        o[8 + i] = (uint8_t)(length >> (24 - 8 * i));
    }
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* Records the first fatal error; a protocol violation also tells the peer (GoAway 1), even
 * past the output cap, so it learns why the connection ends. */
static void fatal(struct rdv_yamux *s, int err)
{
    if (s->err)
        return;
    s->err = err;
    if (err != RDV_ERR_PROTOCOL)
        return;
    uint8_t h[RDV_YAMUX_HEADER_LEN];
    rdv_yamux_header_encode(h, RDV_YAMUX_GO_AWAY, 0, 0, RDV_YAMUX_GOAWAY_PROTOCOL);
    size_t max = s->out.max;
    s->out.max = SIZE_MAX;
    rdv_buf_append(&s->out, h, sizeof(h));
    s->out.max = max;
    s->local_goaway = true;
}

/* Appends one frame. Past max_out the peer is not reading what it makes us write: fail. */
static int emit(struct rdv_yamux *s, uint8_t type, uint16_t flags, uint32_t id, uint32_t length,
                const uint8_t *payload, size_t plen)
{
    if (s->err)
        return s->err;
    uint8_t h[RDV_YAMUX_HEADER_LEN];
    rdv_yamux_header_encode(h, type, flags, id, length);
    if (rdv_buf_reserve(&s->out, sizeof(h) + plen) != RDV_OK) {
        fatal(s, RDV_ERR_NOMEM);
        return s->err;
    }
    rdv_buf_append(&s->out, h, sizeof(h));
    rdv_buf_append(&s->out, payload, plen);
    return RDV_OK;
}

/* Stream ids come from the peer, but at most max_streams are live at once, so a peer choosing
 * colliding ids can lengthen a probe to max_streams at worst: a multiplicative hash will do. */
static uint64_t id_hash(uint32_t id) { return (uint64_t)id * 0x9e3779b97f4a7c15ull; }

static void id_key(const void *item, const uint8_t **key, size_t *len)
{
    const struct rdv_yamux_stream *st = item;
    *key = (const uint8_t *)&st->id;
    *len = sizeof(st->id);
}

/* The live stream with this id, or NULL. */
static struct rdv_yamux_stream *lookup(const struct rdv_yamux *s, uint32_t id)
{
    return rdv_htab_get(&s->by_id, id_hash(id), &id, sizeof(id));
}

#define FOREACH_STREAM(st, tmp, s) rdv_list_foreach_safe(st, tmp, &(s)->streams, struct rdv_yamux_stream, link)

static struct rdv_yamux_stream *stream_new(struct rdv_yamux *s, uint32_t id)
{
    struct rdv_yamux_stream *st = calloc(1, sizeof(*st));
    if (!st || rdv_htab_reserve(&s->by_id, s->by_id.n + 1)) {
        free(st);
        fatal(s, RDV_ERR_NOMEM);
        return NULL;
    }
    st->s = s;
    st->id = id;
    st->send_win = RDV_YAMUX_INITIAL_WINDOW;
    st->recv_avail = RDV_YAMUX_INITIAL_WINDOW;
    rdv_buf_init(&st->queue, s->lim.max_stream_queue);
    rdv_list_push_back(&s->streams, &st->link);
    rdv_htab_insert(&s->by_id, id_hash(id), st);
    s->nstreams++;
    return st;
}

/* The flags a stream's next frame must carry: ACK on the first frame of an accepted stream. */
static uint16_t take_flags(struct rdv_yamux_stream *st)
{
    uint16_t f = st->need_ack ? RDV_YAMUX_ACK : 0;
    st->need_ack = 0;
    return f;
}

/* Marks a stream gone and fires its last callback; memory goes at the outermost return. */
static void finish(struct rdv_yamux_stream *st, bool notify)
{
    struct rdv_yamux *s = st->s;
    if (st->closed)
        return;
    st->closed = 1;
    rdv_htab_delete(&s->by_id, id_hash(st->id), &st->id, sizeof(st->id));
    s->nstreams--;
    s->nclosed++;
    if (notify && s->cb.on_stream_closed)
        s->cb.on_stream_closed(s->user, st);
}

static void maybe_finish(struct rdv_yamux_stream *st)
{
    if (st->fin_sent && st->fin_recv)
        finish(st, true);
}

/* Empties a stream's queue (reset, or the session going away), keeping the session's total true. */
static void queue_drop(struct rdv_yamux_stream *st)
{
    st->s->queued -= st->queue.len;
    rdv_buf_reset(&st->queue);
}

/* ---------------------------------------------------------------- lifetime */

static void reap(struct rdv_yamux *s)
{
    struct rdv_yamux_stream *st;
    FOREACH_STREAM(st, tmp, s) {
        if (!s->nclosed)
            break;
        if (!st->closed)
            continue;
        rdv_list_remove(&st->link);
        queue_drop(st);
        rdv_buf_free(&st->queue);
        free(st);
        s->nclosed--;
    }
}

static void destroy(struct rdv_yamux *s)
{
    reap(s);
    rdv_buf_free(&s->out);
    rdv_htab_free(&s->by_id);
    free(s);
}

static void enter(struct rdv_yamux *s) { s->depth++; }

/* Leaves a public call; the outermost one reaps and performs a deferred free. */
static int leave(struct rdv_yamux *s, int rc)
{
    if (--s->depth > 0)
        return rc;
    if (s->free_pending)
        destroy(s);
    else if (s->nclosed)
        reap(s);
    return rc;
}

static void apply_defaults(struct rdv_yamux_limits *l)
{
    if (!l->max_streams)
        l->max_streams = DEF_MAX_STREAMS;
    if (l->window < RDV_YAMUX_INITIAL_WINDOW)
        l->window = RDV_YAMUX_INITIAL_WINDOW;
    if (l->max_frame < l->window)
        l->max_frame = l->window;
    if (!l->max_stream_queue)
        l->max_stream_queue = DEF_STREAM_QUEUE;
    if (!l->out_soft)
        l->out_soft = DEF_OUT_SOFT;
    if (!l->max_out)
        l->max_out = DEF_MAX_OUT;
    if (l->max_out < l->out_soft + l->max_frame + RDV_YAMUX_HEADER_LEN)
        l->max_out = l->out_soft + l->max_frame + RDV_YAMUX_HEADER_LEN;
}

struct rdv_yamux *rdv_yamux_new(enum rdv_yamux_role role, const struct rdv_yamux_limits *limits,
                                const struct rdv_yamux_callbacks *cb, void *user)
{
    struct rdv_yamux *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->role = role;
    if (limits)
        s->lim = *limits;
    apply_defaults(&s->lim);
    if (cb)
        s->cb = *cb;
    s->user = user;
    rdv_list_init(&s->streams);
    rdv_htab_init(&s->by_id, id_key);
    rdv_buf_init(&s->out, s->lim.max_out);
    s->next_id = role == RDV_YAMUX_CLIENT ? 1 : 2;
    return s;
}

void rdv_yamux_free(struct rdv_yamux *s)
{
    if (!s || s->free_pending)
        return;
    enter(s);
    s->free_pending = true;
    if (!s->err)
        s->err = RDV_ERR_CLOSED;
    struct rdv_yamux_stream *st;
    FOREACH_STREAM(st, tmp, s)
        finish(st, true);
    leave(s, RDV_OK);
}

struct rdv_buf *rdv_yamux_output(struct rdv_yamux *s) { return &s->out; }
int rdv_yamux_error(const struct rdv_yamux *s) { return s->err; }
size_t rdv_yamux_stream_count(const struct rdv_yamux *s) { return s->nstreams; }
size_t rdv_yamux_queued(const struct rdv_yamux *s) { return s->queued + s->out.len; }

/* ---------------------------------------------------------------- sending */

static void send_wu(struct rdv_yamux_stream *st, uint16_t flags, uint32_t delta)
{
    st->recv_avail += delta;
    emit(st->s, RDV_YAMUX_WINDOW_UPDATE, flags | take_flags(st), st->id, delta, NULL, 0);
}

/* A write from inside on_stream_writable that drains at once must not recurse (a 1-byte writer
 * would overflow the stack): it only asks the running loop for one more round. */
static void notify_writable(struct rdv_yamux_stream *st)
{
    struct rdv_yamux *s = st->s;
    if (st->in_writable) {
        st->writable_again = 1;
        return;
    }
    do {
        st->writable_again = 0;
        st->in_writable = 1;
        s->cb.on_stream_writable(s->user, st);
        st->in_writable = 0;
    } while (st->writable_again && !st->closed && !st->fin_queued && !s->err && st->queue.len == 0);
}

/* Sends queued data as far as the window and out_soft allow, then a pending FIN. */
static void flush_stream(struct rdv_yamux_stream *st)
{
    struct rdv_yamux *s = st->s;
    bool had = st->queue.len > 0;
    while (!s->err && !st->closed && st->queue.len > 0 && st->send_win > 0 && s->out.len < s->lim.out_soft) {
        size_t n = min_sz(min_sz(st->queue.len, st->send_win), s->lim.max_frame);
        if (emit(s, RDV_YAMUX_DATA, take_flags(st), st->id, (uint32_t)n, rdv_buf_head(&st->queue), n))
            return;
        rdv_buf_consume(&st->queue, n);
        s->queued -= n;
        st->send_win -= (uint32_t)n;
    }
    if (s->err || st->closed || st->queue.len > 0)
        return;
    if (st->queue.cap > QUEUE_KEEP)
        rdv_buf_free(&st->queue);
    if (st->fin_queued && !st->fin_sent) {
        st->fin_sent = 1;
        emit(s, RDV_YAMUX_WINDOW_UPDATE, RDV_YAMUX_FIN | take_flags(st), st->id, 0, NULL, 0);
        maybe_finish(st);
    } else if (had && !st->fin_queued && s->cb.on_stream_writable) {
        notify_writable(st);
    }
}

int rdv_yamux_flush(struct rdv_yamux *s)
{
    enter(s);
    struct rdv_yamux_stream *st;
    FOREACH_STREAM(st, tmp, s) {
        if (s->err)
            break;
        if (!st->closed && (st->queue.len > 0 || (st->fin_queued && !st->fin_sent)))
            flush_stream(st);
    }
    return leave(s, s->err);
}

int rdv_yamux_open_stream(struct rdv_yamux *s, struct rdv_yamux_stream **out)
{
    *out = NULL;
    if (s->err)
        return s->err;
    if (s->local_goaway || s->remote_goaway)
        return RDV_ERR_CLOSED;
    if (s->nstreams >= s->lim.max_streams || s->next_id > UINT32_MAX)
        return RDV_ERR_LIMIT;
    struct rdv_yamux_stream *st = stream_new(s, (uint32_t)s->next_id);
    if (!st)
        return s->err;
    s->next_id += 2;
    send_wu(st, RDV_YAMUX_SYN, s->lim.window - RDV_YAMUX_INITIAL_WINDOW);
    *out = st;
    return s->err;
}

static int stream_check(const struct rdv_yamux_stream *st)
{
    if (st->s->err)
        return st->s->err;
    return st->closed || st->fin_queued ? RDV_ERR_CLOSED : RDV_OK;
}

int rdv_yamux_stream_write(struct rdv_yamux_stream *st, const void *p, size_t n)
{
    int rc = stream_check(st);
    if (rc)
        return rc;
    if (n > st->queue.max - st->queue.len)
        return RDV_ERR_LIMIT;
    if (rdv_buf_append(&st->queue, p, n) != RDV_OK)
        return RDV_ERR_NOMEM;
    struct rdv_yamux *s = st->s;
    s->queued += n;
    enter(s);
    flush_stream(st);
    return leave(s, s->err);
}

int rdv_yamux_stream_close(struct rdv_yamux_stream *st)
{
    int rc = stream_check(st);
    if (rc)
        return rc;
    struct rdv_yamux *s = st->s;
    enter(s);
    st->fin_queued = 1;
    flush_stream(st);
    return leave(s, s->err);
}

int rdv_yamux_stream_reset(struct rdv_yamux_stream *st)
{
    struct rdv_yamux *s = st->s;
    if (s->err)
        return s->err;
    if (st->closed)
        return RDV_ERR_CLOSED;
    enter(s);
    emit(s, RDV_YAMUX_WINDOW_UPDATE, RDV_YAMUX_RST, st->id, 0, NULL, 0);
    queue_drop(st);
    finish(st, true);
    return leave(s, s->err);
}

/* Returns consumed bytes to the peer once half a window has built up: fewer, larger updates. */
static void credit(struct rdv_yamux_stream *st, size_t n)
{
    st->recv_credit += (uint32_t)n;
    if (st->fin_recv || st->closed || st->recv_credit < st->s->lim.window / 2)
        return;
    uint32_t d = st->recv_credit;
    st->recv_credit = 0;
    send_wu(st, 0, d);
}

int rdv_yamux_stream_consumed(struct rdv_yamux_stream *st, size_t n)
{
    struct rdv_yamux *s = st->s;
    if (!s->lim.manual_consume)
        return RDV_OK;
    if (s->err)
        return s->err;
    if (n > st->delivered)
        return RDV_ERR_INVALID;
    st->delivered -= n;
    enter(s);
    credit(st, n);
    return leave(s, s->err);
}

int rdv_yamux_ping(struct rdv_yamux *s, uint32_t *opaque)
{
    if (s->err)
        return s->err;
    s->ping_sent = s->ping_next++;
    s->ping_active = true;
    if (opaque)
        *opaque = s->ping_sent;
    return emit(s, RDV_YAMUX_PING, RDV_YAMUX_SYN, 0, s->ping_sent, NULL, 0);
}

int rdv_yamux_goaway(struct rdv_yamux *s, uint32_t code)
{
    if (s->err)
        return s->err;
    s->local_goaway = true;
    return emit(s, RDV_YAMUX_GO_AWAY, 0, 0, code, NULL, 0);
}

/* ---------------------------------------------------------------- receiving */

/* Remote reset (or a peer breaking a stream): tell the application, then the stream is gone. */
static void remote_reset(struct rdv_yamux_stream *st)
{
    struct rdv_yamux *s = st->s;
    st->fin_queued = 1; /* writes from on_stream_reset fail */
    queue_drop(st);
    if (s->cb.on_stream_reset)
        s->cb.on_stream_reset(s->user, st);
    finish(st, true);
}

static void remote_fin(struct rdv_yamux_stream *st)
{
    struct rdv_yamux *s = st->s;
    if (st->fin_recv || st->closed)
        return;
    st->fin_recv = 1;
    if (s->cb.on_stream_fin)
        s->cb.on_stream_fin(s->user, st);
    if (!st->closed)
        maybe_finish(st);
}

/* An inbound SYN. *out = the new stream, or NULL when refused (RST sent). */
static void accept_syn(struct rdv_yamux *s, uint32_t id, struct rdv_yamux_stream **out)
{
    *out = NULL;
    bool ours = (id & 1) == (s->role == RDV_YAMUX_CLIENT);
    if (ours || lookup(s, id)) {
        fatal(s, RDV_ERR_PROTOCOL);
        return;
    }
    if (s->local_goaway || s->nstreams >= s->lim.max_streams) {
        emit(s, RDV_YAMUX_WINDOW_UPDATE, RDV_YAMUX_RST, id, 0, NULL, 0);
        return;
    }
    struct rdv_yamux_stream *st = stream_new(s, id);
    if (!st)
        return;
    st->need_ack = 1;
    if (s->cb.on_stream_open && s->cb.on_stream_open(s->user, st) != 0) {
        if (!st->closed)
            emit(s, RDV_YAMUX_WINDOW_UPDATE, RDV_YAMUX_RST, id, 0, NULL, 0);
        finish(st, false);
        return;
    }
    if (st->closed)
        return;
    uint32_t extra = s->lim.window - RDV_YAMUX_INITIAL_WINDOW;
    if (st->need_ack || extra)
        send_wu(st, 0, extra);
    *out = st;
}

static void on_window_update(struct rdv_yamux_stream *st, uint16_t flags, uint32_t delta)
{
    if (delta > UINT32_MAX - st->send_win) {
        fatal(st->s, RDV_ERR_PROTOCOL);
        return;
    }
    st->send_win += delta;
    if (delta)
        flush_stream(st);
    if (flags & RDV_YAMUX_FIN)
        remote_fin(st);
}

static void on_data_header(struct rdv_yamux *s, struct rdv_yamux_stream *st, uint16_t flags, uint32_t len)
{
    if (len > st->recv_avail) {
        fatal(s, RDV_ERR_PROTOCOL); /* the peer ignored our window */
        return;
    }
    st->recv_avail -= len;
    if (st->fin_recv && len > 0) { /* data after its own FIN: that stream is broken */
        emit(s, RDV_YAMUX_WINDOW_UPDATE, RDV_YAMUX_RST, st->id, 0, NULL, 0);
        remote_reset(st);
        return;
    }
    s->body_id = st->id;
    s->body_flags = flags;
}

static void on_body_end(struct rdv_yamux *s)
{
    struct rdv_yamux_stream *st = s->body_id ? lookup(s, s->body_id) : NULL;
    if (st && (s->body_flags & RDV_YAMUX_FIN))
        remote_fin(st);
    s->body_id = 0;
}

static void on_stream_frame(struct rdv_yamux *s, uint8_t type, uint16_t flags, uint32_t id, uint32_t len)
{
    struct rdv_yamux_stream *st;
    if (type == RDV_YAMUX_DATA && len > s->lim.max_frame) {
        fatal(s, RDV_ERR_PROTOCOL);
        return;
    }
    if (flags & RDV_YAMUX_SYN)
        accept_syn(s, id, &st);
    else
        st = lookup(s, id);
    if (type == RDV_YAMUX_DATA) {
        s->body_left = len;
        s->body_id = 0; /* discard unless on_data_header keeps it */
    }
    if (!st || s->err)
        return; /* unknown stream (e.g. one we reset): ignored, as go-yamux does */
    if (flags & RDV_YAMUX_RST) {
        remote_reset(st);
        return;
    }
    if (type == RDV_YAMUX_WINDOW_UPDATE)
        on_window_update(st, flags, len);
    else
        on_data_header(s, st, flags, len);
}

static void on_ping(struct rdv_yamux *s, uint16_t flags, uint32_t opaque)
{
    if (flags & RDV_YAMUX_SYN) {
        emit(s, RDV_YAMUX_PING, RDV_YAMUX_ACK, 0, opaque, NULL, 0);
    } else if (flags & RDV_YAMUX_ACK) {
        /* Answers to pings we no longer wait for are ignored, as go-yamux does. */
        if (s->ping_active && opaque == s->ping_sent) {
            s->ping_active = false;
            if (s->cb.on_pong)
                s->cb.on_pong(s->user, opaque);
        }
    } else {
        fatal(s, RDV_ERR_PROTOCOL);
    }
}

static void on_header(struct rdv_yamux *s)
{
    const uint8_t *h = s->hdr;
    uint8_t type = h[1];
    uint16_t flags = (uint16_t)(h[2] << 8 | h[3]);
    uint32_t id = be32(h + 4), len = be32(h + 8);
    if (h[0] != 0 || type > RDV_YAMUX_GO_AWAY) {
        fatal(s, RDV_ERR_PROTOCOL);
        return;
    }
    bool session = type == RDV_YAMUX_PING || type == RDV_YAMUX_GO_AWAY;
    if (session != (id == 0)) {
        fatal(s, RDV_ERR_PROTOCOL);
        return;
    }
    if (type == RDV_YAMUX_PING) {
        on_ping(s, flags, len);
    } else if (type == RDV_YAMUX_GO_AWAY) {
        s->remote_goaway = true;
        if (s->cb.on_goaway)
            s->cb.on_goaway(s->user, len);
    } else {
        on_stream_frame(s, type, flags, id, len);
        if (type == RDV_YAMUX_DATA && len == 0 && !s->err)
            on_body_end(s);
    }
}

/* Hands n payload bytes to the stream of the current data frame (if it still lives). */
static void deliver(struct rdv_yamux *s, const uint8_t *p, size_t n)
{
    struct rdv_yamux_stream *st = s->body_id ? lookup(s, s->body_id) : NULL;
    if (!st)
        return;
    if (s->cb.on_stream_data)
        s->cb.on_stream_data(s->user, st, p, n);
    if (s->lim.manual_consume)
        st->delivered += n;
    else
        credit(st, n);
}

int rdv_yamux_recv(struct rdv_yamux *s, const uint8_t *in, size_t len, size_t *consumed)
{
    size_t i = 0;
    enter(s);
    while (!s->err && i < len) {
        if (s->body_left > 0) {
            size_t n = min_sz(s->body_left, len - i);
            s->body_left -= (uint32_t)n;
            i += n;
            deliver(s, in + i - n, n);
            if (s->body_left == 0 && !s->err)
                on_body_end(s);
            continue;
        }
        size_t take = min_sz(RDV_YAMUX_HEADER_LEN - s->hdr_len, len - i);
        memcpy(s->hdr + s->hdr_len, in + i, take);
        s->hdr_len += take;
        i += take;
        if (s->hdr_len == RDV_YAMUX_HEADER_LEN) {
            s->hdr_len = 0;
            on_header(s);
        }
    }
    *consumed = i;
    return leave(s, s->err);
}

/* ---------------------------------------------------------------- accessors */

uint32_t rdv_yamux_stream_id(const struct rdv_yamux_stream *st) { return st->id; }
struct rdv_yamux *rdv_yamux_stream_session(const struct rdv_yamux_stream *st) { return st->s; }
void *rdv_yamux_stream_get_user(const struct rdv_yamux_stream *st) { return st->user; }
void rdv_yamux_stream_set_user(struct rdv_yamux_stream *st, void *user) { st->user = user; }
uint32_t rdv_yamux_stream_send_window(const struct rdv_yamux_stream *st) { return st->send_win; }
size_t rdv_yamux_stream_queued(const struct rdv_yamux_stream *st) { return st->queue.len; }
