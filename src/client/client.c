/* client.c: the rendezvous client's core: configuration, identity, the libp2p host, and the
 * connection to each rendezvous point (enum point_state in internal.h).
 *
 * A point is dialled when an advert or a query needs it and then kept: a ping every keepalive
 * interval on a long-lived /ipfs/ping/1.0.0 stream both proves the point alive (a point that does
 * not echo within one interval is dropped) and holds the connection open against idle timeouts on
 * either side. When the connection drops we redial after a backoff and every advert registers
 * again, which is what makes a restarted point learn about us at once rather than at our next
 * refresh. A point that refuses ping is used one connection per burst of requests. */
#include "config.h"

#include <poll.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "client/backoff.h"
#include "client/internal.h"
#include "p2p/builtin.h"
#include "p2p/envelope.h"
#include "p2p/multiaddr.h"
#include "util/err.h"

/* The public codes are the internal ones: keep them in step. */
#define SAME_CODE(n) _Static_assert((int)RENDEZVOUS_ERR_##n == (int)RDV_ERR_##n, "RENDEZVOUS_ERR_" #n " drifted")
SAME_CODE(INVALID);
SAME_CODE(TOO_LARGE);
SAME_CODE(UNSUPPORTED);
SAME_CODE(SIGNATURE);
SAME_CODE(PEER_ID_MISMATCH);
SAME_CODE(NOT_FOUND);
SAME_CODE(UNAVAILABLE);
SAME_CODE(TIMEOUT);
SAME_CODE(IO);
SAME_CODE(CLOSED);
SAME_CODE(NOMEM);
SAME_CODE(PROTOCOL);
SAME_CODE(INTERNAL);

const char *rendezvous_strerror(int err)
{
    return err == RENDEZVOUS_ERR_REFUSED ? "refused by the rendezvous point" : rdv_strerror(err);
}

const char *rendezvous_version(void) { return PACKAGE_VERSION; }

void rendezvous_config_init(struct rendezvous_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->size = sizeof(*cfg);
}

struct ev_loop *rendezvous_client_loop(const struct rendezvous_client *c) { return c->loop; }

int rendezvous_client_peer_id(const struct rendezvous_client *c, char *out, size_t cap)
{
    size_t n = strlen(c->self_text);
    if (n + 1 > cap)
        return RDV_ERR_TOO_LARGE;
    memcpy(out, c->self_text, n + 1);
    return (int)n;
}

uint64_t rdv_client_next_seq(struct rendezvous_client *c)
{
    uint64_t now = (uint64_t)(ev_time() * 1000.0);
    c->last_seq = now > c->last_seq ? now : c->last_seq + 1;
    return c->last_seq;
}

int rdv_client_seal(struct rendezvous_client *c, const struct rdv_record_addr *addrs, size_t n, struct rdv_buf *out)
{
    if (n > RDV_RECORD_MAX_ADDRS)
        return RDV_ERR_TOO_LARGE;
    struct rdv_record_summary rec;
    memset(&rec, 0, sizeof(rec));
    rec.seq = rdv_client_next_seq(c);
    rec.naddrs = n;
    for (size_t i = 0; i < n; i++) {
        rec.addrs[i] = addrs[i];
        rec.addrs_bytes += addrs[i].len;
    }
    /* the mix key only means something to a WakuPeerRecord; the other kind ignores it */
    rec.mix_key = c->mix_key;
    rec.mix_key_len = c->mix_key_len;
    return rdv_record_seal(c->dialect->record, &c->key, &rec, out);
}

/* ---- ops: one request in flight ---------------------------------------------------------------- */

static void op_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct op *op = w->data;
    /* rpc.c reports the failure once the closed connection's streams are torn down */
    rdv_client_point_fail(op->pt, RDV_ERR_TIMEOUT, "request timed out");
}

struct op *rdv_client_op_new(struct point *pt)
{
    struct op *op = calloc(1, sizeof(*op));
    if (!op)
        return NULL;
    op->client = pt->client;
    op->pt = pt;
    ev_timer_init(&op->timeout, op_timeout, pt->client->request_timeout, 0);
    op->timeout.data = op;
    ev_timer_start(pt->client->loop, &op->timeout);
    return op;
}

void rdv_client_op_free(struct op *op)
{
    ev_timer_stop(op->client->loop, &op->timeout);
    free(op);
}

/* ---- points: connection state machine ------------------------------------------------------------ */

static bool point_wanted(const struct point *pt)
{
    const struct rendezvous_client *c = pt->client;
    if (!pt->active)
        return false;
    for (const struct rendezvous_advert *ad = c->adverts; ad; ad = ad->next)
        if (!ad->stopped && ad->slots[pt->idx].state == SLOT_WAITING)
            return true;
    for (const struct rendezvous_find *f = c->finds; f; f = f->next)
        if (!f->done && !f->cancelled && f->slots[pt->idx] == FSLOT_WAIT)
            return true;
    return false;
}

/* Each kind of work hears what happened to the point. */
static void tell_parts(struct point *pt, enum rdv_point_event ev)
{
    struct rendezvous_client *c = pt->client;
    for (size_t i = 0; i < c->nparts; i++)
        if (c->parts[i]->on_point)
            c->parts[i]->on_point(pt, ev);
}

void rdv_client_attach(struct rendezvous_client *c, const struct rdv_client_part *part)
{
    for (size_t i = 0; i < c->nparts; i++)
        if (c->parts[i] == part)
            return;
    if (c->nparts < RDV_CLIENT_MAX_PARTS) /* the parts are this library's own: never more than there are */
        c->parts[c->nparts++] = part;
}

static void point_backoff(struct point *pt, int err)
{
    struct rendezvous_client *c = pt->client;
    pt->failures++;
    double delay = rdv_backoff_delay(c->backoff_min, c->backoff_max, pt->failures, rdv_backoff_random());
    pt->state = POINT_BACKOFF;
    ev_timer_stop(c->loop, &pt->timer);
    ev_timer_set(&pt->timer, delay, 0);
    ev_timer_start(c->loop, &pt->timer);
    rdv_warn(c->log, "rendezvous point %s: %s; retry in %.1f s", pt->text, rdv_strerror(err), delay);
    for (size_t i = 0; i < c->nparts; i++)
        if (c->parts[i]->point_down)
            c->parts[i]->point_down(pt, err, delay);
}

static void ka_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct point *pt = w->data;
    if (!pt->ka)
        return;
    if (pt->ka_waiting) {
        rdv_client_point_fail(pt, RDV_ERR_TIMEOUT, "no answer to a keepalive ping");
        return;
    }
    randombytes_buf(pt->ka_payload, sizeof(pt->ka_payload));
    pt->ka_waiting = true;
    if (rdv_stream_write(pt->ka, pt->ka_payload, sizeof(pt->ka_payload)) != RDV_OK)
        rdv_client_point_fail(pt, RDV_ERR_CLOSED, "keepalive stream unwritable");
}

static void ka_data(struct rdv_stream *st)
{
    struct point *pt = rdv_stream_handler_ctx(st);
    struct rdv_buf *in = rdv_stream_input(st);
    if (in->len < sizeof(pt->ka_payload))
        return;
    bool good = pt->ka_waiting && in->len == sizeof(pt->ka_payload) &&
                memcmp(rdv_buf_head(in), pt->ka_payload, sizeof(pt->ka_payload)) == 0;
    rdv_buf_reset(in);
    pt->ka_waiting = false;
    pt->ka_echoes += good;
    if (!good)
        rdv_client_point_fail(pt, RDV_ERR_PROTOCOL, "keepalive: a wrong ping echo");
}

/* The point is done with this stream (nim-libp2p closes after one echo): close ours too, so it
 * ends and ka_close replaces it. */
static void ka_eof(struct rdv_stream *st)
{
    rdv_stream_close(st);
}

static void ka_close(struct rdv_stream *st, int err);
static const struct rdv_stream_handler ka_handler = {.on_data = ka_data, .on_eof = ka_eof, .on_close = ka_close};

/* A new keepalive stream on pt->conn (RDV_ERR_CLOSED if the connection is gone). */
static int ka_open(struct point *pt)
{
    struct rdv_stream *st;
    int err = rdv_conn_open_stream(pt->conn, RDV_PING_PROTOCOL, &ka_handler, pt, &st);
    if (err)
        return err;
    pt->ka = st;
    pt->ka_waiting = false;
    pt->ka_echoes = 0;
    pt->ka_opened = ev_now(pt->client->loop);
    pt->nstreams++;
    return RDV_OK;
}

static void probe_close(struct rdv_stream *st, int err)
{
    (void)st;
    (void)err;
}

static const struct rdv_stream_handler probe_handler = {.on_close = probe_close};

/* Whether conn is still open, asked the only way host.h allows: a stream opens on an open
 * connection only. It is reset at once (a SYN and a RST on the wire, nothing more). */
static bool conn_alive(struct rdv_conn *conn)
{
    struct rdv_stream *st;
    if (rdv_conn_open_stream(conn, RDV_PING_PROTOCOL, &probe_handler, NULL, &st) != RDV_OK)
        return false;
    rdv_stream_reset(st);
    return true;
}

/* Points differ in how long a ping stream lives: go-libp2p keeps it while pings come, js-libp2p
 * aborts it after 10 s, nim-libp2p (nwaku) answers one ping per stream. So a keepalive stream that
 * ends after it served (an echo, or a second of life) is replaced on the same connection; one that
 * ends before, on a connection still open, means the point does no keepalive; and if the
 * connection is gone, so is the point. */
static void ka_close(struct rdv_stream *st, int err)
{
    struct point *pt = rdv_stream_handler_ctx(st);
    struct rendezvous_client *c = pt->client;
    pt->ka = NULL;
    pt->ka_waiting = false;
    if (!c->closing && pt->healthy) {
        bool served = err == RDV_OK && (pt->ka_echoes > 0 || ev_now(c->loop) - pt->ka_opened >= 1.0);
        if (served ? ka_open(pt) != RDV_OK : !conn_alive(pt->conn)) {
            rdv_client_point_fail(pt, RDV_ERR_CLOSED, "connection lost");
        } else if (!served) {
            rdv_debug(c->log, "rendezvous point %s: no keepalive (ping refused)", pt->text);
            pt->no_keepalive = true;
        }
    }
    if (!pt->ka)
        ev_timer_stop(c->loop, &pt->ka_timer);
    rdv_client_stream_closed(pt);
}

static void point_dial_done(void *arg, struct rdv_conn *conn, int err)
{
    struct point *pt = arg;
    struct rendezvous_client *c = pt->client;
    if (c->closing || !pt->active) {
        if (conn && !c->closing)
            rdv_conn_close(conn); /* removed while dialling: we hold no stream, so let go now */
        pt->state = POINT_IDLE;
        return;
    }
    if (!err) {
        pt->conn = conn;
        pt->nstreams = 0;
        if ((err = ka_open(pt)) != RDV_OK) {
            rdv_conn_close(conn); /* holding no stream, we may not keep the pointer */
            pt->conn = NULL;
        }
    }
    if (err) {
        point_backoff(pt, err);
        return;
    }
    rdv_info(c->log, "rendezvous point %s: connected", pt->text);
    pt->state = POINT_OPEN;
    pt->healthy = true;
    pt->answered = false;
    pt->no_keepalive = false;
    ev_timer_set(&pt->ka_timer, c->keepalive, c->keepalive);
    ev_timer_start(c->loop, &pt->ka_timer);
    rdv_client_pump(pt);
}

static void point_dial(struct point *pt)
{
    struct rendezvous_client *c = pt->client;
    pt->state = POINT_DIALING;
    int err = rdv_host_dial(c->host, pt->ma, pt->ma_len, NULL, point_dial_done, pt);
    if (err) {
        /* report from the loop: we may be inside an application call */
        pt->dial_err = err;
        ev_timer_set(&pt->timer, 0, 0);
        ev_timer_start(c->loop, &pt->timer);
    }
}

static void point_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct point *pt = w->data;
    if (!pt->active) {
        pt->state = POINT_IDLE;
        return;
    }
    if (pt->state == POINT_DIALING) {
        point_dial_done(pt, NULL, pt->dial_err);
    } else if (pt->state == POINT_BACKOFF) {
        pt->state = POINT_IDLE;
        rdv_client_pump(pt);
    }
}

void rdv_client_point_fail(struct point *pt, int err, const char *why)
{
    if (pt->state != POINT_OPEN || !pt->conn)
        return;
    if (pt->healthy)
        rdv_info(pt->client->log, "rendezvous point %s: %s (%s): closing the connection", pt->text, why,
                 rdv_strerror(err));
    pt->healthy = false;
    rdv_conn_close(pt->conn); /* every stream closes, each calling rdv_client_stream_closed */
}

void rdv_client_stream_closed(struct point *pt)
{
    if (pt->nstreams == 0 || --pt->nstreams > 0)
        return;
    struct rendezvous_client *c = pt->client;
    struct rdv_conn *conn = pt->conn;
    pt->conn = NULL;
    ev_timer_stop(c->loop, &pt->ka_timer);
    if (c->closing || !pt->active) {
        if (!c->closing)
            rdv_conn_close(conn);
        pt->state = POINT_IDLE;
        return;
    }
    rdv_conn_close(conn); /* nothing if it is dead already */
    /* A point without keepalive that answered is merely idle; anything else is a lost connection. */
    bool lost = !pt->healthy || !pt->no_keepalive || !pt->answered;
    pt->state = POINT_IDLE;
    if (lost) {
        tell_parts(pt, RDV_POINT_LOST);
        point_backoff(pt, RDV_ERR_CLOSED);
    } else {
        pt->failures = 0;
        rdv_client_pump(pt);
    }
}

void rdv_client_pump(struct point *pt)
{
    struct rendezvous_client *c = pt->client;
    if (c->closing)
        return;
    if (!pt->active) { /* removed: its connection goes once the UNREGISTERs are written */
        if (pt->state == POINT_OPEN && pt->conn && pt->inflight == 0)
            rdv_client_point_fail(pt, RDV_ERR_CLOSED, "point removed");
        return;
    }
    if (pt->state == POINT_IDLE && point_wanted(pt))
        point_dial(pt);
    if (pt->state != POINT_OPEN || !pt->healthy)
        return; /* a failing connection: the work waits for the next one */
    /* a send that fails marks the point unhealthy: the rest then waits for the next connection */
    for (size_t i = 0; i < c->nparts && pt->healthy && pt->inflight < RDV_CLIENT_MAX_INFLIGHT; i++)
        if (c->parts[i]->pump)
            c->parts[i]->pump(pt);
}

void rdv_client_pump_all(struct rendezvous_client *c)
{
    for (size_t i = 0; i < c->npoints; i++)
        rdv_client_pump(&c->points[i]);
}

/* ---- configuration ------------------------------------------------------------------------------ */

static int parse_point(struct rendezvous_client *c, size_t i, const char *text)
{
    struct point *pt = &c->points[i];
    pt->client = c;
    pt->idx = i;
    ev_timer_init(&pt->timer, point_timer, 0, 0);
    pt->timer.data = pt;
    ev_timer_init(&pt->ka_timer, ka_tick, 0, 0);
    pt->ka_timer.data = pt;
    if (!text)
        return RDV_ERR_INVALID;
    struct rdv_buf ma;
    rdv_buf_init(&ma, RDV_MA_MAX_BINARY);
    int err = rdv_ma_from_text(text, &ma);
    const uint8_t *mh;
    size_t mhlen;
    struct sockaddr_storage ss;
    socklen_t sl;
    if (!err)
        err = rdv_ma_p2p_peer(rdv_buf_head(&ma), ma.len, &mh, &mhlen);
    if (!err)
        err = rdv_ma_tcp_sockaddr(rdv_buf_head(&ma), ma.len, &ss, &sl);
    if (!err && (!(pt->text = strdup(text)) || !(pt->ma = malloc(ma.len))))
        err = RDV_ERR_NOMEM;
    if (!err) {
        memcpy(pt->ma, rdv_buf_head(&ma), ma.len);
        pt->ma_len = ma.len;
        pt->active = true;
    }
    if (err)
        rdv_error(c->log, "rendezvous point '%s': %s%s", text, rdv_strerror(err),
                  err == RDV_ERR_NOT_FOUND ? " (it must end in /p2p/<peer id>)" : "");
    rdv_buf_free(&ma);
    return err;
}

/* Parses addrs and seals our record for them; on error nothing changes. */
static int set_addrs(struct rendezvous_client *c, const char *const *addrs, size_t n)
{
    if (n > RENDEZVOUS_MAX_ADDRS || (n && !addrs))
        return RDV_ERR_INVALID;
    struct rdv_buf bin[RENDEZVOUS_MAX_ADDRS];
    struct rdv_record_addr ra[RENDEZVOUS_MAX_ADDRS];
    int err = RDV_OK;
    size_t parsed = 0;
    for (; parsed < n && !err; parsed++) {
        rdv_buf_init(&bin[parsed], RDV_MA_MAX_BINARY);
        err = addrs[parsed] ? rdv_ma_from_text(addrs[parsed], &bin[parsed]) : RDV_ERR_INVALID;
        ra[parsed] = (struct rdv_record_addr){rdv_buf_head(&bin[parsed]), bin[parsed].len};
        if (err)
            rdv_error(c->log, "listen address '%s': %s", addrs[parsed] ? addrs[parsed] : "(null)", rdv_strerror(err));
    }
    struct rdv_buf env;
    rdv_buf_init(&env, RDV_ENVELOPE_MAX);
    if (!err && n)
        err = rdv_client_seal(c, ra, n, &env);
    if (err) {
        for (size_t i = 0; i < parsed; i++)
            rdv_buf_free(&bin[i]);
        rdv_buf_free(&env);
        return err;
    }
    for (size_t i = 0; i < c->naddrs; i++)
        rdv_buf_free(&c->addrs[i]);
    memcpy(c->addrs, bin, n * sizeof(bin[0]));
    c->naddrs = n;
    rdv_buf_free(&c->envelope);
    c->envelope = env;
    return RDV_OK;
}

int rendezvous_client_set_addrs(struct rendezvous_client *c, const char *const *addrs, size_t naddrs)
{
    if (c->closing)
        return RDV_ERR_CLOSED;
    int err = set_addrs(c, addrs, naddrs);
    if (err)
        return err;
    for (struct rendezvous_advert *ad = c->adverts; ad; ad = ad->next) {
        for (size_t i = 0; i < c->npoints && !ad->stopped; i++) {
            struct advert_slot *s = &ad->slots[i];
            if (!c->points[i].active)
                continue;
            if (s->state == SLOT_SCHEDULED) {
                ev_timer_stop(c->loop, &s->timer);
                s->state = SLOT_WAITING;
            } else if (s->state == SLOT_INFLIGHT) {
                s->dirty = true;
            }
        }
    }
    rdv_client_pump_all(c);
    return RDV_OK;
}

static int load_key(struct rendezvous_client *c, const struct rendezvous_config *cfg)
{
    int err;
    if (cfg->private_key)
        err = rdv_privkey_unmarshal(cfg->private_key, cfg->private_key_len, &c->key);
    else if (cfg->key_file)
        err = rdv_privkey_load(cfg->key_file, &c->key);
    else
        err = rdv_privkey_generate(RDV_KEY_ED25519, &c->key);
    if (err)
        rdv_error(c->log, "identity key%s%s: %s", cfg->key_file ? " " : "", cfg->key_file ? cfg->key_file : "",
                  rdv_strerror(err));
    if (!err)
        err = rdv_peerid_from_pubkey(&c->key.pub, &c->self);
    if (!err && rdv_peerid_to_text(&c->self, c->self_text, sizeof(c->self_text)) < 0)
        err = RDV_ERR_INTERNAL;
    return err;
}

static double or_default(double v, double def) { return v > 0 ? v : def; }

static void reap(struct ev_loop *loop, ev_prepare *w, int revents);
static void teardown(struct rendezvous_client *c, bool destroy_loop);
static void deferred_free(struct ev_loop *loop, ev_timer *w, int revents);

/* The dialect and, for a WakuPeerRecord, its mix key. */
static int set_dialect(struct rendezvous_client *c, const struct rendezvous_config *cfg)
{
    c->dialect = rdv_dialect_find(cfg->protocol ? cfg->protocol : RENDEZVOUS_PROTOCOL);
    if (!c->dialect) {
        rdv_error(c->log, "protocol '%s': unknown (expected waku0, std, waku1 or their protocol ids)", cfg->protocol);
        return RDV_ERR_UNSUPPORTED;
    }
    if (cfg->mix_key_len > sizeof(c->mix_key) || (cfg->mix_key_len && !cfg->mix_key))
        return RDV_ERR_INVALID;
    if (cfg->mix_key_len)
        memcpy(c->mix_key, cfg->mix_key, cfg->mix_key_len);
    c->mix_key_len = cfg->mix_key_len;
    return RDV_OK;
}

static int client_setup(struct rendezvous_client *c, const struct rendezvous_config *cfg)
{
    int err = set_dialect(c, cfg);
    if (!err)
        err = load_key(c, cfg);
    for (size_t i = 0; i < cfg->npoints && !err; i++, c->npoints++)
        err = parse_point(c, i, cfg->points[i]);
    if (!err)
        err = set_addrs(c, cfg->addrs, cfg->naddrs);
    struct rdv_host_limits limits;
    rdv_host_limits_defaults(&limits);
    limits.handshake_timeout = c->request_timeout;
    /* a DISCOVER answer may be as large as a server makes one (4 MiB), far above the default cap */
    limits.max_stream_input = RDV_MAX_RESPONSE + 16;
    limits.max_connections = 4 * RENDEZVOUS_MAX_POINTS;
    if (!err)
        err = rdv_host_new(c->loop, &c->key, &limits, c->log, &c->host);
    if (!err)
        err = rdv_builtin_register(c->host); /* points identify us, as libp2p peers do */
    return err;
}

/* cfg as this library knows it: the fields beyond the caller's cfg->size are zero (their defaults). */
static int config_read(const struct rendezvous_config *in, struct rendezvous_config *cfg)
{
    rendezvous_config_init(cfg);
    if (!in || in->size < offsetof(struct rendezvous_config, points) + sizeof(in->points))
        return RDV_ERR_INVALID; /* no size: a caller that skipped rendezvous_config_init */
    memcpy(cfg, in, in->size < sizeof(*cfg) ? in->size : sizeof(*cfg));
    cfg->size = sizeof(*cfg);
    if (cfg->npoints > RENDEZVOUS_MAX_POINTS || (cfg->npoints && !cfg->points) || cfg->request_timeout < 0 ||
        cfg->keepalive_interval < 0 || cfg->backoff_min < 0 || cfg->backoff_max < 0 || cfg->find_deadline < 0)
        return RDV_ERR_INVALID;
    return RDV_OK;
}

int rendezvous_client_new(struct ev_loop *loop, const struct rendezvous_config *in, struct rendezvous_client **out)
{
    struct rendezvous_config cfgv, *cfg = &cfgv;
    if (!out || config_read(in, cfg))
        return RDV_ERR_INVALID;
    if (sodium_init() < 0)
        return RDV_ERR_INTERNAL;
    struct rendezvous_client *c = calloc(1, sizeof(*c));
    if (!c)
        return RDV_ERR_NOMEM;
    c->own_loop = !loop;
    c->loop = loop ? loop : ev_loop_new(EVFLAG_AUTO);
    if (!c->loop) {
        free(c);
        return RDV_ERR_NOMEM;
    }
    if (cfg->log_file) {
        c->log_store.out = cfg->log_file;
        c->log_store.level = cfg->log_level < 0 ? RDV_LOG_ERROR : cfg->log_level > 3 ? RDV_LOG_DEBUG
                                                                                     : (enum rdv_log_level)cfg->log_level;
        c->log = &c->log_store;
    }
    c->request_timeout = or_default(cfg->request_timeout, RDV_CLIENT_DEFAULT_TIMEOUT);
    c->keepalive = or_default(cfg->keepalive_interval, RDV_CLIENT_DEFAULT_KEEPALIVE);
    c->backoff_min = or_default(cfg->backoff_min, RDV_CLIENT_DEFAULT_BACKOFF_MIN);
    c->backoff_max = or_default(cfg->backoff_max, RDV_CLIENT_DEFAULT_BACKOFF_MAX);
    c->find_deadline = or_default(cfg->find_deadline, RDV_CLIENT_DEFAULT_DEADLINE);
    if (c->backoff_max < c->backoff_min)
        c->backoff_max = c->backoff_min;
    rdv_buf_init(&c->envelope, RDV_ENVELOPE_MAX);
    for (size_t i = 0; i < RDV_DIALECT_COUNT; i++)
        rdv_cache_init(&c->caches[i], cfg->cache_max_peers);
    ev_prepare_init(&c->reaper, reap);
    c->reaper.data = c;
    ev_prepare_start(c->loop, &c->reaper);
    ev_unref(c->loop); /* the reaper alone must not keep ev_run going */
    ev_timer_init(&c->free_timer, deferred_free, 0, 0);
    c->free_timer.data = c;
    int err = client_setup(c, cfg);
    if (err) {
        teardown(c, true);
        return err;
    }
    *out = c;
    return RDV_OK;
}

/* ---- teardown ----------------------------------------------------------------------------------- */

static void reap(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop;
    (void)revents;
    struct rendezvous_client *c = w->data;
    for (size_t i = 0; i < c->nparts; i++)
        if (c->parts[i]->reap)
            c->parts[i]->reap(c);
}

/* destroy_loop is false when we run inside our own loop's ev_run: it then leaks rather than
 * pulling the loop from under libev. */
static void teardown(struct rendezvous_client *c, bool destroy_loop)
{
    c->closing = true;
    /* fires every pending dial and stream callback now, with errors; they only count down */
    rdv_host_free(c->host);
    c->host = NULL;
    for (size_t i = 0; i < c->nparts; i++)
        if (c->parts[i]->free_all)
            c->parts[i]->free_all(c);
    for (size_t i = 0; i < RENDEZVOUS_MAX_POINTS; i++) {
        struct point *pt = &c->points[i];
        if (pt->client) {
            ev_timer_stop(c->loop, &pt->timer);
            ev_timer_stop(c->loop, &pt->ka_timer);
        }
        free(pt->text);
        free(pt->ma);
        if (pt->client)
            tell_parts(pt, RDV_POINT_RESET);
    }
    for (size_t i = 0; i < c->naddrs; i++)
        rdv_buf_free(&c->addrs[i]);
    rdv_buf_free(&c->envelope);
    for (size_t i = 0; i < RDV_DIALECT_COUNT; i++)
        rdv_cache_free(&c->caches[i]);
    ev_ref(c->loop);
    ev_prepare_stop(c->loop, &c->reaper);
    ev_timer_stop(c->loop, &c->free_timer);
    if (c->own_loop && destroy_loop)
        ev_loop_destroy(c->loop);
    rdv_privkey_clear(&c->key);
    free(c);
}

void rdv_client_teardown(struct rendezvous_client *c) { teardown(c, true); }

static void deferred_free(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct rendezvous_client *c = w->data;
    teardown(c, !c->own_loop);
}

void rendezvous_client_free(struct rendezvous_client *c)
{
    if (!c)
        return;
    if (c->depth == 0 && c->blocking == 0) {
        teardown(c, true);
        return;
    }
    /* Inside one of our callbacks, below host code that still uses its connection, or inside a
     * blocking call that still uses the client: later. */
    if (c->free_requested)
        return;
    c->free_requested = c->closing = true;
    if (c->blocking)
        ev_break(c->loop, EVBREAK_ONE); /* the blocking call frees it once ev_run returns */
    else
        ev_timer_start(c->loop, &c->free_timer);
}

/* ---- points at run time ------------------------------------------------------------------------- */

static struct point *point_named(struct rendezvous_client *c, const char *text)
{
    for (size_t i = 0; i < c->npoints; i++)
        if (c->points[i].active && strcmp(c->points[i].text, text) == 0)
            return &c->points[i];
    return NULL;
}

/* A slot never used, or a removed point's that nothing refers to any more. */
static struct point *point_free_slot(struct rendezvous_client *c)
{
    for (size_t i = 0; i < c->npoints; i++) {
        struct point *pt = &c->points[i];
        if (!pt->active && pt->nstreams == 0 && pt->inflight == 0 && pt->state == POINT_IDLE)
            return pt;
    }
    return c->npoints < RENDEZVOUS_MAX_POINTS ? &c->points[c->npoints] : NULL;
}

int rendezvous_client_add_point(struct rendezvous_client *c, const char *text)
{
    if (!c || !text)
        return RDV_ERR_INVALID;
    if (c->closing)
        return RDV_ERR_CLOSED;
    if (point_named(c, text))
        return RDV_ERR_INVALID;
    struct point *pt = point_free_slot(c);
    if (!pt)
        return RDV_ERR_TOO_LARGE;
    size_t idx = (size_t)(pt - c->points);
    free(pt->text);
    free(pt->ma);
    if (pt->client)
        tell_parts(pt, RDV_POINT_RESET);
    memset(pt, 0, sizeof(*pt));
    int err = parse_point(c, idx, text);
    if (err) {
        free(pt->text);
        free(pt->ma);
        memset(pt, 0, sizeof(*pt));
        return err;
    }
    if (idx == c->npoints)
        c->npoints++;
    tell_parts(pt, RDV_POINT_ADDED);
    rdv_info(c->log, "rendezvous point %s: added", pt->text);
    rdv_client_pump(pt);
    return RDV_OK;
}

int rendezvous_client_remove_point(struct rendezvous_client *c, const char *text)
{
    if (!c || !text)
        return RDV_ERR_INVALID;
    struct point *pt = point_named(c, text);
    if (!pt)
        return RDV_ERR_NOT_FOUND;
    rdv_info(c->log, "rendezvous point %s: removed", pt->text);
    tell_parts(pt, RDV_POINT_REMOVED); /* UNREGISTERs go out while the point is still active */
    tell_parts(pt, RDV_POINT_RESET);
    pt->active = false;
    ev_timer_stop(c->loop, &pt->timer);
    if (pt->state == POINT_BACKOFF || (pt->state == POINT_DIALING && pt->dial_err))
        pt->state = POINT_IDLE;
    rdv_client_pump(pt); /* closes the connection now if nothing is in flight */
    return RDV_OK;
}

size_t rendezvous_client_npoints(const struct rendezvous_client *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->npoints; i++)
        n += c->points[i].active;
    return n;
}

/* ---- driving the loop from outside -------------------------------------------------------------- */

/* The earliest of the client's own timers, in seconds from now, or `cap`. */
static double next_timer(const struct rendezvous_client *c, double cap)
{
    double next = cap;
    for (size_t i = 0; i < c->npoints; i++) {
        const struct point *pt = &c->points[i];
        const ev_timer *ts[2] = {&pt->timer, &pt->ka_timer};
        for (int k = 0; k < 2; k++)
            if (ev_is_active(ts[k])) {
                double left = ev_timer_remaining(c->loop, (ev_timer *)ts[k]);
                next = left < next ? left : next;
            }
    }
    for (size_t i = 0; i < c->nparts; i++)
        if (c->parts[i]->next_timer)
            c->parts[i]->next_timer(c, &next);
    if (ev_is_active(&c->free_timer) || ev_pending_count(c->loop) > 0)
        next = 0;
    return next < 0 ? 0 : next;
}

int rendezvous_client_pollfds(struct rendezvous_client *c, struct pollfd *fds, size_t max, int *timeout_ms)
{
    if (!c || (max && !fds) || !timeout_ms)
        return RDV_ERR_INVALID;
    if (!c->own_loop)
        return RDV_ERR_UNSUPPORTED;
    double next = next_timer(c, RDV_CLIENT_POLL_MAX_MS / 1000.0);
    size_t n = c->host ? rdv_host_pollfds(c->host, fds, max, &next) : 0;
    if (n > max)
        return RDV_ERR_TOO_LARGE;
    /* rounded up: waking a little early would only spin */
    *timeout_ms = next <= 0 ? 0 : (int)(next * 1000.0 + 0.999);
    return (int)n;
}

int rendezvous_client_process(struct rendezvous_client *c)
{
    if (!c)
        return RDV_ERR_INVALID;
    if (!c->own_loop)
        return RDV_ERR_UNSUPPORTED;
    if (c->depth || c->blocking)
        return RDV_ERR_INVALID; /* from a callback: the loop is running already */
    c->blocking++; /* a free from a callback waits for us, as in blocking.c */
    ev_run(c->loop, EVRUN_NOWAIT);
    c->blocking--;
    if (c->free_requested) {
        teardown(c, true);
        return RDV_ERR_CLOSED;
    }
    return RDV_OK;
}
