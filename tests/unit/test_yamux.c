/* test_yamux.c: the yamux session: byte-exact frames (12-byte headers per the spec), two sessions
 * wired back to back (echo, 1 MiB under flow control, FIN/RST/ping/GoAway, limits), peer
 * violations, re-entrant callbacks, splitting at every byte and random input. */
#include <stdlib.h>
#include <string.h>

#include "p2p/yamux.h"
#include "tap.h"
#include "testutil.h"
#include "util/err.h"

/* ------------------------------------------------------------------ harness */

/* Per-stream user state: heap-allocated so that a second on_stream_closed would be a double
 * free (caught by ASan), and a late callback a use-after-free. */
struct sstate {
    int closes;
    size_t got;
};

struct side {
    struct rdv_yamux *s;
    struct rdv_buf rx;           /* every payload byte delivered, all streams */
    int opens, fins, resets, closes, writables, pongs, goaways;
    uint32_t goaway_code, pong;
    int refuse;                  /* on_stream_open result */
    int echo;                    /* write received data back */
    int close_on_fin;            /* half-close our side when the peer does */
    int free_on_fin;             /* rdv_yamux_free from inside on_stream_fin */
    int reset_on_data;           /* reset the stream from inside on_stream_data */
    int write_on_open;           /* write "ok" from inside on_stream_open */
    struct rdv_yamux_stream *last; /* last inbound stream */
};

static int cb_open(void *u, struct rdv_yamux_stream *st)
{
    struct side *x = u;
    x->opens++;
    if (x->refuse)
        return x->refuse;
    rdv_yamux_stream_set_user(st, calloc(1, sizeof(struct sstate)));
    x->last = st;
    if (x->write_on_open)
        rdv_yamux_stream_write(st, "ok", 2);
    return 0;
}

static void cb_data(void *u, struct rdv_yamux_stream *st, const uint8_t *p, size_t n)
{
    struct side *x = u;
    struct sstate *ss = rdv_yamux_stream_get_user(st);
    if (ss)
        ss->got += n;
    rdv_buf_append(&x->rx, p, n);
    if (x->echo)
        rdv_yamux_stream_write(st, p, n);
    if (x->reset_on_data) {
        rdv_yamux_stream_reset(st);
        rdv_yamux_stream_write(st, "late", 4); /* must fail cleanly */
    }
}

static void cb_fin(void *u, struct rdv_yamux_stream *st)
{
    struct side *x = u;
    x->fins++;
    if (x->close_on_fin)
        rdv_yamux_stream_close(st);
    if (x->free_on_fin) {
        x->free_on_fin = 0;
        rdv_yamux_free(x->s);
        x->s = NULL;
    }
}

static void cb_reset(void *u, struct rdv_yamux_stream *st)
{
    (void)st;
    ((struct side *)u)->resets++;
}

static void cb_writable(void *u, struct rdv_yamux_stream *st)
{
    (void)st;
    ((struct side *)u)->writables++;
}

static void cb_closed(void *u, struct rdv_yamux_stream *st)
{
    struct side *x = u;
    struct sstate *ss = rdv_yamux_stream_get_user(st);
    x->closes++;
    if (ss) {
        ss->closes++;
        free(ss);
        rdv_yamux_stream_set_user(st, NULL);
    }
}

static void cb_goaway(void *u, uint32_t code)
{
    struct side *x = u;
    x->goaways++;
    x->goaway_code = code;
}

static void cb_pong(void *u, uint32_t opaque)
{
    struct side *x = u;
    x->pongs++;
    x->pong = opaque;
}

static const struct rdv_yamux_callbacks CBS = {
    cb_open, cb_data, cb_fin, cb_reset, cb_writable, cb_closed, cb_goaway, cb_pong,
};

static void side_init(struct side *x, enum rdv_yamux_role role, const struct rdv_yamux_limits *lim)
{
    memset(x, 0, sizeof(*x));
    rdv_buf_init(&x->rx, 0);
    x->s = rdv_yamux_new(role, lim, &CBS, x);
    if (!x->s)
        abort();
}

static void side_free(struct side *x)
{
    if (x->s)
        rdv_yamux_free(x->s);
    rdv_buf_free(&x->rx);
}

static struct rdv_yamux_stream *open_st(struct side *x)
{
    struct rdv_yamux_stream *st = NULL;
    if (rdv_yamux_open_stream(x->s, &st) == RDV_OK)
        rdv_yamux_stream_set_user(st, calloc(1, sizeof(struct sstate)));
    return st;
}

/* Flow-control watchdog: the test's own reading of every frame crossing the wire. For each
 * direction and stream id < 64, data sent must never exceed 256 KiB + window updates granted. */
struct watch {
    uint64_t sent[2][64], granted[2][64];
    int violations, wus;
};

static void watch_scan(struct watch *w, int dir, const uint8_t *p, size_t n)
{
    while (n >= RDV_YAMUX_HEADER_LEN) {
        uint32_t id = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
        uint32_t len = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
        size_t body = p[1] == RDV_YAMUX_DATA ? len : 0;
        if (id < 64 && p[1] == RDV_YAMUX_DATA) {
            w->sent[dir][id] += len;
            if (w->sent[dir][id] > RDV_YAMUX_INITIAL_WINDOW + w->granted[dir][id])
                w->violations++;
        }
        if (id < 64 && p[1] == RDV_YAMUX_WINDOW_UPDATE) {
            w->granted[!dir][id] += len; /* a grant from this side to the other */
            w->wus += len > 0;
        }
        if (body > n - RDV_YAMUX_HEADER_LEN)
            break;
        p += RDV_YAMUX_HEADER_LEN + body;
        n -= RDV_YAMUX_HEADER_LEN + body;
    }
}

/* Moves output both ways until quiet. Returns the first recv error. `chunk` > 0 feeds that many
 * bytes per recv call. */
static int pump_ex(struct side *a, struct side *b, struct watch *w, size_t chunk)
{
    struct side *x[2] = { a, b };
    for (int round = 0; round < 100000; round++) {
        int moved = 0;
        for (int d = 0; d < 2; d++) {
            struct side *from = x[d], *to = x[!d];
            if (!from->s || !to->s)
                continue;
            struct rdv_buf *o = rdv_yamux_output(from->s);
            if (o->len == 0)
                continue;
            moved = 1;
            if (w)
                watch_scan(w, d, rdv_buf_head(o), o->len);
            size_t len = o->len, off = 0;
            while (off < len) {
                size_t n = chunk && chunk < len - off ? chunk : len - off, used = 0;
                int rc = rdv_yamux_recv(to->s, rdv_buf_head(o) + off, n, &used);
                off += used;
                if (rc != RDV_OK) {
                    rdv_buf_consume(o, len);
                    return rc;
                }
            }
            rdv_buf_consume(o, len);
            rdv_yamux_flush(from->s);
        }
        if (!moved)
            return RDV_OK;
    }
    return RDV_ERR_INTERNAL;
}

static int pump(struct side *a, struct side *b) { return pump_ex(a, b, NULL, 0); }

static void is_out(struct side *x, const char *hex, const char *what)
{
    size_t n;
    unsigned char *want = tu_unhex(hex, &n);
    struct rdv_buf *o = rdv_yamux_output(x->s);
    is_mem(rdv_buf_head(o), o->len, want, n, "%s", what);
    if (o->len != n || (n && memcmp(rdv_buf_head(o), want, n))) {
        char hexbuf[2 * 48 + 1];
        sodium_bin2hex(hexbuf, sizeof(hexbuf), rdv_buf_head(o), o->len < 48 ? o->len : 48);
        diag("  got %s", hexbuf);
    }
    free(want);
    rdv_buf_consume(o, o->len);
}

static int feed_hex(struct side *x, const char *hex)
{
    size_t n, used;
    unsigned char *in = tu_unhex(hex, &n);
    int rc = rdv_yamux_recv(x->s, in, n, &used);
    free(in);
    return rc;
}

/* ------------------------------------------------------------------ tests */

static void test_header(void)
{
    uint8_t h[12];
    rdv_yamux_header_encode(h, RDV_YAMUX_WINDOW_UPDATE, RDV_YAMUX_SYN | RDV_YAMUX_FIN, 0x01020304, 0xa0b0c0d0);
    is_mem(h, 12, "\x00\x01\x00\x05\x01\x02\x03\x04\xa0\xb0\xc0\xd0", 12, "header: big-endian fields, version 0");
}

static void test_frames(void)
{
    struct side c, s;
    side_init(&c, RDV_YAMUX_CLIENT, NULL);
    side_init(&s, RDV_YAMUX_SERVER, NULL);

    struct rdv_yamux_stream *st = open_st(&c);
    ok(st && rdv_yamux_stream_id(st) == 1, "client's first stream is id 1");
    is_out(&c, "000100010000000100000000", "open: window update, SYN, id 1, delta 0");
    struct rdv_yamux_stream *st3 = open_st(&c);
    ok(st3 && rdv_yamux_stream_id(st3) == 3, "client's second stream is id 3 (odd)");
    rdv_yamux_stream_reset(st3);
    is_out(&c, "000100010000000300000000" "000100080000000300000000", "reset: window update with RST");
    is_int(c.closes, 1, "local reset fires on_stream_closed");
    is_int(c.resets, 0, "local reset is not a remote reset");

    is_int(feed_hex(&s, "000100010000000100000000"), RDV_OK, "server takes the SYN");
    is_int(s.opens, 1, "on_stream_open fired");
    is_out(&s, "000100020000000100000000", "server ACKs at once: window update, ACK, delta 0");

    rdv_yamux_stream_write(st, "hi", 2);
    is_out(&c, "00000000000000010000000268" "69", "data frame: type 0, no flags, len 2, payload");
    rdv_yamux_stream_close(st);
    is_out(&c, "000100040000000100000000", "close: window update with FIN");
    is_int(rdv_yamux_stream_write(st, "x", 1), RDV_ERR_CLOSED, "write after close: closed");
    is_int(rdv_yamux_stream_close(st), RDV_ERR_CLOSED, "double close: closed");

    struct rdv_yamux_stream *sst = open_st(&s);
    ok(sst && rdv_yamux_stream_id(sst) == 2, "server's first stream is id 2 (even)");
    is_out(&s, "000100010000000200000000", "server open: SYN id 2");

    uint32_t op = 99;
    rdv_yamux_ping(c.s, &op);
    is_int(op, 0, "first ping opaque is 0");
    rdv_yamux_ping(c.s, &op);
    is_out(&c, "000200010000000000000000" "000200010000000000000001", "ping: type 2, SYN, stream 0, opaque");
    is_int(feed_hex(&s, "000200010000000000000007"), RDV_OK, "server takes a ping");
    is_out(&s, "000200020000000000000007", "ping answered: ACK with the same opaque");
    is_int(feed_hex(&c, "000200020000000000000000"), RDV_OK, "stale pong ignored");
    is_int(c.pongs, 0, "stale pong: no callback");
    is_int(feed_hex(&c, "000200020000000000000001"), RDV_OK, "matching pong");
    ok(c.pongs == 1 && c.pong == 1, "on_pong with the opaque");

    rdv_yamux_goaway(s.s, RDV_YAMUX_GOAWAY_NORMAL);
    is_out(&s, "000300000000000000000000", "go away: type 3, code 0");
    side_free(&c);
    side_free(&s);

    /* Accepting and writing from on_stream_open: the data frame carries the ACK. */
    side_init(&s, RDV_YAMUX_SERVER, NULL);
    s.write_on_open = 1;
    is_int(feed_hex(&s, "000100010000000100000000"), RDV_OK, "SYN");
    is_out(&s, "000000020000000100000002" "6f6b", "first frame of an accepted stream carries ACK");
    side_free(&s);

    /* Refusal. */
    side_init(&s, RDV_YAMUX_SERVER, NULL);
    s.refuse = 1;
    is_int(feed_hex(&s, "000100010000000100000000"), RDV_OK, "refused SYN: ok");
    is_out(&s, "000100080000000100000000", "refused: RST");
    is_int(s.closes, 0, "refused: no closed callback");
    is_int(rdv_yamux_stream_count(s.s), 0, "refused: no stream");
    is_int(feed_hex(&s, "000000000000000100000003616263"), RDV_OK, "data for the refused stream: ignored");
    is_int(s.rx.len, 0, "nothing delivered");
    is_out(&s, "", "nothing sent");
    side_free(&s);

    /* A larger window is announced with the SYN and the ACK. */
    struct rdv_yamux_limits lim = { .window = 1024 * 1024 };
    side_init(&c, RDV_YAMUX_CLIENT, &lim);
    open_st(&c);
    is_out(&c, "000100010000000100" "0c0000", "1 MiB window: SYN carries delta 768 KiB");
    side_free(&c);
    side_init(&s, RDV_YAMUX_SERVER, &lim);
    feed_hex(&s, "000100010000000100000000");
    is_out(&s, "000100020000000100" "0c0000", "1 MiB window: ACK carries delta 768 KiB");
    side_free(&s);
}

static void test_window_update_frame(void)
{
    struct side s;
    side_init(&s, RDV_YAMUX_SERVER, NULL);
    feed_hex(&s, "000100010000000100000000");
    is_out(&s, "000100020000000100000000", "ACK");
    /* 128 KiB - 1 bytes: no update yet; one more byte: update of 128 KiB. */
    size_t n = 128 * 1024;
    uint8_t *frame = calloc(1, 12 + n);
    rdv_yamux_header_encode(frame, RDV_YAMUX_DATA, 0, 1, (uint32_t)(n - 1));
    size_t used;
    is_int(rdv_yamux_recv(s.s, frame, 12 + n - 1, &used), RDV_OK, "128 KiB - 1 received");
    is_out(&s, "", "below half the window: no update");
    rdv_yamux_header_encode(frame, RDV_YAMUX_DATA, 0, 1, 1);
    is_int(rdv_yamux_recv(s.s, frame, 13, &used), RDV_OK, "one more byte");
    is_out(&s, "000100000000000100020000", "window update: delta 128 KiB, no flags");
    is_int(s.rx.len, n, "all delivered");
    free(frame);
    side_free(&s);
}

static void test_echo(void)
{
    struct side c, s;
    side_init(&c, RDV_YAMUX_CLIENT, NULL);
    side_init(&s, RDV_YAMUX_SERVER, NULL);
    s.echo = 1;
    s.close_on_fin = 1;
    struct rdv_yamux_stream *st = open_st(&c);
    rdv_yamux_stream_write(st, "hello", 5);
    is_int(pump(&c, &s), RDV_OK, "echo: pump ok");
    is_mem(s.rx.data, s.rx.len, "hello", 5, "server got hello");
    is_mem(c.rx.data, c.rx.len, "hello", 5, "client got the echo");
    ok(rdv_yamux_stream_session(st) == c.s, "stream knows its session");
    rdv_yamux_stream_write(st, " world", 6);
    rdv_yamux_stream_write(s.last, "!", 1);
    pump(&c, &s);
    /* The server's "!" was queued before the echo of " world". */
    is_mem(c.rx.data, c.rx.len, "hello! world", 12, "both directions, in order");
    rdv_yamux_stream_close(st);
    is_int(pump(&c, &s), RDV_OK, "FIN exchange");
    is_int(s.fins, 1, "server saw FIN");
    is_int(c.fins, 1, "client saw the server's FIN");
    is_int(c.closes, 1, "client stream closed once");
    is_int(s.closes, 1, "server stream closed once");
    ok(rdv_yamux_stream_count(c.s) == 0 && rdv_yamux_stream_count(s.s) == 0, "no streams left");
    side_free(&c);
    side_free(&s);
}

static void test_megabyte(void)
{
    struct side c, s;
    struct watch w;
    memset(&w, 0, sizeof(w));
    side_init(&c, RDV_YAMUX_CLIENT, NULL);
    side_init(&s, RDV_YAMUX_SERVER, NULL);
    s.echo = 1;
    size_t n = 1024 * 1024;
    uint8_t *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (uint8_t)(i * 131 + (i >> 10));
    struct rdv_yamux_stream *st = open_st(&c);
    is_int(rdv_yamux_stream_write(st, big, n), RDV_OK, "1 MiB write accepted");
    ok(rdv_yamux_stream_queued(st) > 0, "part of it waits for the window");
    is_int(rdv_yamux_stream_send_window(st), 0, "the first 256 KiB used the whole window");
    is_int(pump_ex(&c, &s, &w, 0), RDV_OK, "1 MiB: pump ok");
    is_int(s.rx.len, n, "server got 1 MiB");
    is_int(c.rx.len, n, "client got 1 MiB back");
    ok(s.rx.len == n && memcmp(s.rx.data, big, n) == 0, "server's bytes intact");
    ok(c.rx.len == n && memcmp(c.rx.data, big, n) == 0, "echoed bytes intact");
    is_int(w.violations, 0, "nobody ever exceeded the peer's window");
    ok(w.wus >= 6, "window updates flowed (%d)", w.wus);
    is_int(rdv_yamux_stream_queued(st), 0, "queue drained");
    ok(c.writables >= 1, "on_stream_writable fired");
    ok(!rdv_yamux_error(c.s) && !rdv_yamux_error(s.s), "no session error");
    side_free(&c);
    side_free(&s);
    free(big);
}

/* A receiver that does not consume (manual_consume) must stall the sender at exactly one window. */
static void test_backpressure(void)
{
    struct side c, s;
    struct watch w;
    memset(&w, 0, sizeof(w));
    struct rdv_yamux_limits lim = { .manual_consume = true };
    side_init(&c, RDV_YAMUX_CLIENT, NULL);
    side_init(&s, RDV_YAMUX_SERVER, &lim);
    size_t win = RDV_YAMUX_INITIAL_WINDOW, n = 4 * win;
    uint8_t *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (uint8_t)(i ^ (i >> 8));
    struct rdv_yamux_stream *st = open_st(&c);
    rdv_yamux_stream_write(st, big, n);
    int stalls_ok = 1, rc = RDV_OK;
    for (size_t k = 1; k <= 4; k++) {
        rc |= pump_ex(&c, &s, &w, 0);
        if (s.rx.len != k * win || rdv_yamux_stream_queued(st) != n - k * win)
            stalls_ok = 0;
        rc |= rdv_yamux_stream_consumed(s.last, win);
    }
    rc |= pump_ex(&c, &s, &w, 0);
    is_int(rc, RDV_OK, "backpressure: no error");
    ok(stalls_ok, "the sender stops at each 256 KiB until the receiver consumes");
    ok(s.rx.len == n && memcmp(s.rx.data, big, n) == 0, "backpressure: 1 MiB intact");
    is_int(w.violations, 0, "backpressure: window never exceeded");
    free(big);
    side_free(&c);
    side_free(&s);
}

static void test_reset_and_goaway(void)
{
    struct side c, s;
    side_init(&c, RDV_YAMUX_CLIENT, NULL);
    side_init(&s, RDV_YAMUX_SERVER, NULL);
    struct rdv_yamux_stream *st = open_st(&c);
    rdv_yamux_stream_write(st, "abc", 3);
    pump(&c, &s);
    rdv_yamux_stream_reset(st);
    is_int(pump(&c, &s), RDV_OK, "RST: pump ok");
    is_int(s.resets, 1, "server: on_stream_reset");
    is_int(s.closes, 1, "server: closed once");
    is_int(c.closes, 1, "client: closed once");
    is_int(c.resets, 0, "client: no reset callback for its own reset");
    is_int(rdv_yamux_stream_count(s.s), 0, "server: stream gone");

    /* Server resets from inside on_stream_data; its write after that fails cleanly. */
    s.reset_on_data = 1;
    st = open_st(&c);
    rdv_yamux_stream_write(st, "x", 1);
    is_int(pump(&c, &s), RDV_OK, "reset from a callback: ok");
    is_int(c.resets, 1, "client sees the server's RST");
    is_int(c.closes, 2, "client stream closed");
    is_int(s.closes, 2, "server stream closed once");
    s.reset_on_data = 0;

    uint32_t op;
    rdv_yamux_ping(c.s, &op);
    pump(&c, &s);
    ok(c.pongs == 1 && c.pong == op, "ping answered through the peer");

    rdv_yamux_goaway(c.s, RDV_YAMUX_GOAWAY_INTERNAL);
    is_int(pump(&c, &s), RDV_OK, "go away delivered");
    ok(s.goaways == 1 && s.goaway_code == 2, "server: on_goaway(2)");
    struct rdv_yamux_stream *x;
    is_int(rdv_yamux_open_stream(s.s, &x), RDV_ERR_CLOSED, "no opening after the peer's go away");
    is_int(rdv_yamux_open_stream(c.s, &x), RDV_ERR_CLOSED, "no opening after our go away");
    is_int(feed_hex(&c, "000100010000000200000000"), RDV_OK, "SYN after our go away");
    is_out(&c, "000100080000000200000000", "refused with RST");
    side_free(&c);
    side_free(&s);
}

static void test_max_streams(void)
{
    struct side c, s;
    struct rdv_yamux_limits lim = { .max_streams = 2 };
    side_init(&c, RDV_YAMUX_CLIENT, NULL);
    side_init(&s, RDV_YAMUX_SERVER, &lim);
    open_st(&c);
    open_st(&c);
    struct rdv_yamux_stream *third = open_st(&c);
    is_int(pump(&c, &s), RDV_OK, "three SYNs");
    is_int(s.opens, 2, "server accepted two");
    is_int(rdv_yamux_stream_count(s.s), 2, "server holds two");
    is_int(c.resets, 1, "the third was reset");
    ok(third && c.closes == 1, "and closed on the client");
    is_int(rdv_yamux_stream_count(c.s), 2, "client holds two");
    struct rdv_yamux_stream *x;
    is_int(rdv_yamux_open_stream(s.s, &x), RDV_ERR_LIMIT, "local open past max_streams: limit");
    side_free(&c);
    is_int(s.closes, 0, "freeing one side does not touch the other");
    side_free(&s);
}

static void test_write_queue(void)
{
    struct side c, s;
    struct rdv_yamux_limits lim = { .max_stream_queue = 300 * 1024 };
    side_init(&c, RDV_YAMUX_CLIENT, &lim);
    side_init(&s, RDV_YAMUX_SERVER, NULL);
    struct rdv_yamux_stream *st = open_st(&c);
    uint8_t *buf = calloc(1, 300 * 1024);
    is_int(rdv_yamux_stream_write(st, buf, 300 * 1024 + 1), RDV_ERR_LIMIT, "write over the queue cap: limit");
    is_int(rdv_yamux_stream_write(st, buf, 256 * 1024), RDV_OK, "256 KiB: fits the window");
    is_int(rdv_yamux_stream_queued(st), 0, "nothing queued");
    is_int(rdv_yamux_stream_write(st, buf, 300 * 1024), RDV_OK, "300 KiB more: queued");
    is_int(rdv_yamux_stream_queued(st), 300 * 1024, "all queued (window 0)");
    is_int(rdv_yamux_stream_write(st, buf, 1), RDV_ERR_LIMIT, "queue full: limit, nothing taken");
    is_int(rdv_yamux_stream_queued(st), 300 * 1024, "queue unchanged");
    rdv_yamux_stream_close(st);
    is_int(pump(&c, &s), RDV_OK, "peer consumes, window updates flush the queue");
    is_int(s.rx.len, 556 * 1024, "every byte arrived");
    is_int(s.fins, 1, "FIN after the queued data");
    is_int(rdv_yamux_stream_queued(st), 0, "queue empty");
    free(buf);
    side_free(&c);
    side_free(&s);
}

/* The default queue holds one 4 MiB message (the largest js-libp2p, go-libp2p and nim-libp2p read)
 * plus framing, and rdv_yamux_queued counts every stream's queue and the frames not yet taken:
 * the connection's output budget is built on that figure. */
static void test_queue_default_and_total(void)
{
    struct side c, s;
    side_init(&c, RDV_YAMUX_CLIENT, NULL);
    side_init(&s, RDV_YAMUX_SERVER, NULL);
    size_t msg = 4u << 20, framing = 65536;
    uint8_t *buf = calloc(1, msg + framing + 1);
    struct rdv_yamux_stream *a = open_st(&c), *b = open_st(&c);
    size_t syns = rdv_yamux_output(c.s)->len;
    is_int(rdv_yamux_queued(c.s), syns, "only the two SYN frames are held");
    is_int(rdv_yamux_stream_write(a, buf, RDV_YAMUX_INITIAL_WINDOW), RDV_OK, "the first window goes out");
    is_int(rdv_yamux_stream_write(a, buf, msg + framing), RDV_OK, "4 MiB + 64 KiB more: queued by default");
    is_int(rdv_yamux_stream_queued(a), msg + framing, "all of it waits for the window");
    is_int(rdv_yamux_stream_write(a, buf, 1), RDV_ERR_LIMIT, "one byte more: limit");
    is_int(rdv_yamux_stream_write(b, buf, 1000), RDV_OK, "another stream still writes");
    size_t held = rdv_yamux_output(c.s)->len;
    is_int(rdv_yamux_queued(c.s), rdv_yamux_stream_queued(a) + rdv_yamux_stream_queued(b) + held,
           "total = stream queues + frames not yet taken");
    ok(rdv_yamux_queued(c.s) >= msg + framing, "the total holds all of the big write (%zu)", rdv_yamux_queued(c.s));
    size_t before = rdv_yamux_queued(c.s), qa = rdv_yamux_stream_queued(a);
    rdv_yamux_stream_reset(a);
    is_int(rdv_yamux_queued(c.s), before - qa + 12, "a reset drops its queue from the total (RST frame added)");
    is_int(pump(&c, &s), RDV_OK, "the rest flows");
    is_int(rdv_yamux_queued(c.s), 0, "everything sent: total 0");
    free(buf);
    side_free(&c);
    side_free(&s);
}

static void expect_fatal(const char *hex, const char *what, int manual)
{
    struct side s;
    struct rdv_yamux_limits lim = { .manual_consume = manual != 0 };
    side_init(&s, RDV_YAMUX_SERVER, &lim);
    size_t n, used = 0;
    unsigned char *in = tu_unhex(hex, &n);
    int rc = rdv_yamux_recv(s.s, in, n, &used);
    is_int(rc, RDV_ERR_PROTOCOL, "%s: protocol error", what);
    struct rdv_buf *o = rdv_yamux_output(s.s);
    ok(o->len >= 12 && memcmp(rdv_buf_head(o) + o->len - 12, "\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", 12) == 0,
       "%s: GoAway(protocol error) sent", what);
    is_int(rdv_yamux_recv(s.s, in, n, &used), RDV_ERR_PROTOCOL, "%s: sticky", what);
    struct rdv_yamux_stream *st;
    is_int(rdv_yamux_open_stream(s.s, &st), RDV_ERR_PROTOCOL, "%s: session unusable", what);
    free(in);
    side_free(&s);
}

static void test_violations(void)
{
    expect_fatal("010000000000000100000000", "version 1", 0);
    expect_fatal("000400000000000100000000", "type 4", 0);
    expect_fatal("000000000000000000000001ff", "data on stream 0", 0);
    expect_fatal("000100000000000000000001", "window update on stream 0", 0);
    expect_fatal("000200010000000100000000", "ping on stream 1", 0);
    expect_fatal("000300000000000500000000", "go away on stream 5", 0);
    expect_fatal("000200000000000000000000", "ping without SYN or ACK", 0);
    expect_fatal("000100010000000200000000", "SYN with the server's own parity", 0);
    expect_fatal("000100010000000100000000" "000100010000000100000000", "SYN for a live id", 0);
    expect_fatal("000100010000000100000000" "000100000000000100000000" "0001000000000001ffffffff", "send window overflow", 0);
    expect_fatal("000000010000000100040001", "data frame over max_frame", 0);

    /* Window violation with manual consume: 200 KiB + 100 KiB unconsumed > 256 KiB. */
    struct side s;
    struct rdv_yamux_limits lim = { .manual_consume = true };
    side_init(&s, RDV_YAMUX_SERVER, &lim);
    feed_hex(&s, "000100010000000100000000");
    uint8_t *f = calloc(1, 12 + 200 * 1024);
    size_t used;
    rdv_yamux_header_encode(f, RDV_YAMUX_DATA, 0, 1, 200 * 1024);
    is_int(rdv_yamux_recv(s.s, f, 12 + 200 * 1024, &used), RDV_OK, "200 KiB within the window");
    is_int(rdv_yamux_stream_consumed(s.last, 200 * 1024 + 1), RDV_ERR_INVALID, "consume more than delivered: invalid");
    rdv_yamux_header_encode(f, RDV_YAMUX_DATA, 0, 1, 100 * 1024);
    is_int(rdv_yamux_recv(s.s, f, 12, &used), RDV_ERR_PROTOCOL, "next 100 KiB exceeds the window: fatal");
    is_int(used, 12, "stopped right after the offending header");
    is_int(s.rx.len, 200 * 1024, "the excess was never delivered");
    side_free(&s);

    /* Same traffic, but the application consumed: a window update makes room. */
    side_init(&s, RDV_YAMUX_SERVER, &lim);
    feed_hex(&s, "000100010000000100000000");
    rdv_buf_consume(rdv_yamux_output(s.s), 12);
    rdv_yamux_header_encode(f, RDV_YAMUX_DATA, 0, 1, 200 * 1024);
    rdv_yamux_recv(s.s, f, 12 + 200 * 1024, &used);
    is_out(&s, "", "manual: nothing credited before the app consumes");
    is_int(rdv_yamux_stream_consumed(s.last, 200 * 1024), RDV_OK, "app consumed 200 KiB");
    is_out(&s, "000100000000000100032000", "manual: window update of 200 KiB");
    rdv_yamux_header_encode(f, RDV_YAMUX_DATA, 0, 1, 100 * 1024);
    is_int(rdv_yamux_recv(s.s, f, 12 + 100 * 1024, &used), RDV_OK, "now 100 KiB fits");
    side_free(&s);

    /* max_frame above the window: the window check itself trips. */
    struct rdv_yamux_limits big = { .max_frame = 1024 * 1024 };
    side_init(&s, RDV_YAMUX_SERVER, &big);
    feed_hex(&s, "000100010000000100000000");
    rdv_yamux_header_encode(f, RDV_YAMUX_DATA, 0, 1, 256 * 1024 + 1);
    is_int(rdv_yamux_recv(s.s, f, 12, &used), RDV_ERR_PROTOCOL, "one frame of 256 KiB + 1: fatal");
    side_free(&s);
    free(f);

    /* Tolerated: frames for unknown streams, and data after the peer's own FIN resets the stream. */
    side_init(&s, RDV_YAMUX_SERVER, NULL);
    is_int(feed_hex(&s, "000000000000000900000002abcd" "000100000000000b00000010" "000100080000000d00000000"), RDV_OK,
           "data / window update / RST for unknown streams: ignored");
    is_out(&s, "", "nothing answered");
    is_int(feed_hex(&s, "000100050000000100000000"), RDV_OK, "SYN+FIN");
    ok(s.opens == 1 && s.fins == 1, "opened and half-closed by the peer");
    is_out(&s, "000100020000000100000000", "ACK");
    is_int(feed_hex(&s, "00000000000000010000000178"), RDV_OK, "data after FIN: not fatal");
    is_out(&s, "000100080000000100000000", "the stream is reset");
    ok(s.resets == 1 && s.closes == 1, "reset + closed callbacks");
    side_free(&s);
}

/* One server session fed a fixed script cut into two chunks at every offset. */
static void test_split(void)
{
    const char *script =
        "000000010000000100000005" "68656c6c6f"   /* SYN + "hello" */
        "000200010000000000000042"                /* ping 0x42 */
        "000100000000000100000010"                /* window update +16 */
        "000000040000000100000003" "212121"       /* "!!!" + FIN */
        "000100010000000300000000"                /* SYN 3 */
        "000100080000000300000000";               /* RST 3 */
    const char *want_out =
        "000100020000000100000000" "000200020000000000000042" "000100020000000300000000";
    size_t n, wn;
    unsigned char *in = tu_unhex(script, &n);
    unsigned char *want = tu_unhex(want_out, &wn);
    int bad = 0;
    /* cut == n + 1 means byte by byte. */
    for (size_t cut = 0; cut <= n + 1; cut++) {
        struct side s;
        side_init(&s, RDV_YAMUX_SERVER, NULL);
        size_t used, off = 0;
        int rc = RDV_OK;
        while (off < n && rc == RDV_OK) {
            size_t chunk = cut == n + 1 ? 1 : off < cut ? cut - off : n - off;
            rc = rdv_yamux_recv(s.s, in + off, chunk, &used);
            bad += used != chunk;
            off += chunk;
        }
        struct rdv_buf *o = rdv_yamux_output(s.s);
        if (rc || s.rx.len != 8 || memcmp(s.rx.data, "hello!!!", 8) || s.opens != 2 || s.fins != 1 ||
            s.resets != 1 || s.closes != 1 || o->len != wn || memcmp(rdv_buf_head(o), want, wn) != 0) {
            if (!bad)
                diag("first bad cut %zu: rc %d rx %zu opens %d fins %d resets %d closes %d out %zu", cut, rc,
                     s.rx.len, s.opens, s.fins, s.resets, s.closes, o->len);
            bad++;
        }
        side_free(&s);
    }
    is_int(bad, 0, "same events and answers whatever the split (two chunks at every offset, and byte by byte)");
    free(in);
    free(want);
}

static void test_free_in_callback(void)
{
    struct side c, s;
    side_init(&c, RDV_YAMUX_CLIENT, NULL);
    side_init(&s, RDV_YAMUX_SERVER, NULL);
    s.free_on_fin = 1;
    struct rdv_yamux_stream *a = open_st(&c), *b = open_st(&c);
    rdv_yamux_stream_write(a, "1", 1);
    rdv_yamux_stream_write(b, "2", 1);
    rdv_yamux_stream_close(a);
    rdv_yamux_stream_write(b, "more", 4);
    struct rdv_buf *o = rdv_yamux_output(c.s);
    size_t used;
    int rc = rdv_yamux_recv(s.s, rdv_buf_head(o), o->len, &used);
    is_int(rc, RDV_ERR_CLOSED, "session freed inside on_stream_fin: recv says closed");
    ok(used < o->len, "stopped at the callback (%zu of %zu)", used, o->len);
    ok(s.s == NULL && s.closes == 2, "both server streams got on_stream_closed from the free");
    is_int(s.rx.len, 2, "data before the FIN was delivered");
    side_free(&c);
    side_free(&s);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* Random input: mostly plausible headers (to get past the version check) with random fields and
 * payloads, sometimes pure noise. The session must either keep going or fail with a fatal code. */
static void test_random(void)
{
    int bad = 0, fatal_seen = 0, ok_seen = 0;
    uint8_t buf[4096];
    for (int it = 0; it < 10000; it++) {
        struct side s;
        struct rdv_yamux_limits lim = { .max_streams = 1 + rnd() % 8, .manual_consume = rnd() % 2 };
        side_init(&s, it % 2 ? RDV_YAMUX_SERVER : RDV_YAMUX_CLIENT, &lim);
        s.echo = rnd() % 2;
        s.close_on_fin = rnd() % 2;
        s.refuse = rnd() % 4 == 0;
        size_t n = 0, target = 12 + rnd() % (sizeof(buf) - 12 - 64);
        if (rnd() % 2)
            target = 12 + rnd() % 240; /* short scripts survive more often */
        int noise = rnd() % 8 == 0;
        while (n < target) {
            if (noise) {
                buf[n++] = (uint8_t)rnd();
                continue;
            }
            uint32_t plen = rnd() % 16 ? rnd() % 48 : rnd();
            uint8_t type = (uint8_t)(rnd() % 32 ? rnd() % 4 : rnd());
            uint16_t flags = (uint16_t)(rnd() % 8 ? rnd() % 16 : rnd());
            uint32_t id = rnd() % 8 ? (type >= RDV_YAMUX_PING ? 0 : 1 + rnd() % 9) : rnd();
            if (type == RDV_YAMUX_PING && rnd() % 8)
                flags = (uint16_t)(flags | RDV_YAMUX_SYN);
            if ((flags & RDV_YAMUX_SYN) && rnd() % 2)
                flags = (uint16_t)(flags & ~RDV_YAMUX_SYN); /* fewer duplicate SYNs */
            if (type < RDV_YAMUX_PING && (flags & RDV_YAMUX_SYN) && rnd() % 8)
                id = 2 * (rnd() % 5) + (it % 2 ? 1 : 2); /* mostly the peer's parity */
            rdv_yamux_header_encode(buf + n, type, flags, id, plen);
            if (rnd() % 128 == 0)
                buf[n] = (uint8_t)rnd();
            n += 12;
            if (type == RDV_YAMUX_DATA && plen < 64) {
                for (uint32_t k = 0; k < plen; k++)
                    buf[n++] = (uint8_t)rnd();
            }
        }
        size_t off = 0;
        int rc = RDV_OK;
        while (off < n && rc == RDV_OK) {
            size_t chunk = 1 + rnd() % 200, used = 0;
            if (chunk > n - off)
                chunk = n - off;
            rc = rdv_yamux_recv(s.s, buf + off, chunk, &used);
            if (used > chunk)
                bad++;
            off += used;
            if (rc == RDV_OK && used != chunk)
                bad++;
            rdv_buf_consume(rdv_yamux_output(s.s), rdv_yamux_output(s.s)->len);
            if (rc == RDV_OK && rnd() % 4 == 0) {
                struct rdv_yamux_stream *st;
                if (rdv_yamux_open_stream(s.s, &st) == RDV_OK && rnd() % 2)
                    rdv_yamux_stream_write(st, buf, rnd() % 100);
            }
        }
        if (rc != RDV_OK && !rdv_err_is_fatal(rc))
            bad++;
        if (rc != RDV_OK)
            fatal_seen++;
        else
            ok_seen++;
        side_free(&s);
    }
    is_int(bad, 0, "10^4 random inputs: consumed counts sane, only fatal errors");
    ok(fatal_seen > 1000 && ok_seen > 1000, "both outcomes exercised (fatal %d, survived %d)", fatal_seen, ok_seen);
}

int main(void)
{
    test_header();
    test_frames();
    test_window_update_frame();
    test_echo();
    test_megabyte();
    test_backpressure();
    test_reset_and_goaway();
    test_max_streams();
    test_write_queue();
    test_queue_default_and_total();
    test_violations();
    test_split();
    test_free_in_callback();
    test_random();
    return tap_done();
}
