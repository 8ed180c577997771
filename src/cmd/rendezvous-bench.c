/* rendezvous-bench: a load generator for one rendezvous server (not a test).
 *
 * Opens --connections libp2p connections to --server, each from its own fresh ed25519 identity
 * (so every connection is a distinct peer, as in real use), keeps --depth requests in flight on
 * each (one new stream per request, as libp2p clients do), and runs REGISTER or DISCOVER for
 * --seconds once every connection is up. Each REGISTER refreshes one of the peer's registrations in
 * --namespaces namespaces (round robin); each DISCOVER asks a random one of them for --limit
 * records. Prints one line: completed requests, failures by kind, throughput and latency
 * percentiles. Everything runs on one libev loop, like the server. */
#include "config.h"

#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/rpc.h"
#include "p2p/builtin.h"
#include "p2p/host.h"
#include "p2p/keys.h"
#include "p2p/multiaddr.h"
#include "p2p/peer_record.h"
#include "rendezvous/server.h"
#include "util/err.h"

#define PROG "rendezvous-bench"
#define MAX_CONNECTIONS 4096
#define MAX_DEPTH 64
#define MAX_SAMPLES (1u << 20) /* latencies kept for percentiles */
#define DRAIN_GRACE_S 10.0

enum bench_op { OP_REGISTER, OP_DISCOVER };

struct bench_opts {
    const char *server;
    unsigned connections, depth, namespaces, limit, ttl;
    double seconds, connect_timeout;
    enum bench_op op;
};

struct bench;

struct worker {
    struct bench *b;
    unsigned idx;
    struct rdv_privkey key;
    struct rdv_host *host;
    struct rdv_conn *conn;
    struct rdv_buf envelope; /* our signed peer record, sealed once */
    unsigned next_ns;
    unsigned inflight;
};

struct bench {
    struct bench_opts o;
    struct ev_loop *loop;
    struct rdv_log log;
    struct rdv_buf server_ma;
    struct worker *w;
    unsigned connected, dial_failed;
    bool running, stopping;
    ev_tstamp started, ended;
    ev_timer timer;
    uint64_t ok, refused, transport_errors, records;
    uint64_t by_status[RDV_STATUS_COUNT + 1]; /* rdv_status_index; the last: any other value */
    double *lat;
    size_t nlat;
};

/* ---- requests -------------------------------------------------------------------------------- */

struct req {
    struct worker *w;
    ev_tstamp t0;
};

static void issue(struct worker *w);

static void finish_request(struct req *r, int err, enum rdv_status st, size_t nrecords)
{
    struct worker *w = r->w;
    struct bench *b = w->b;
    w->inflight--;
    if (b->running || b->stopping) {
        if (err) {
            b->transport_errors++;
        } else if (st == RDV_STATUS_OK) {
            b->ok++;
            b->records += nrecords;
            if (b->nlat < MAX_SAMPLES)
                b->lat[b->nlat++] = ev_time() - r->t0;
        } else {
            b->refused++;
            int i = rdv_status_index(st);
            b->by_status[i < 0 ? RDV_STATUS_COUNT : i]++;
        }
    }
    free(r);
    if (b->running)
        issue(w);
    else if (b->stopping) {
        unsigned left = 0;
        for (unsigned i = 0; i < b->o.connections; i++)
            left += b->w[i].inflight;
        if (left == 0)
            ev_break(b->loop, EVBREAK_ALL);
    }
}

static void on_register(void *arg, int err, enum rdv_status st, const char *text, int64_t ttl)
{
    (void)text;
    (void)ttl;
    finish_request(arg, err, st, 0);
}

static void on_discover(void *arg, int err, enum rdv_status st, const char *text,
                        const struct rdv_rpc_registration *regs, size_t n)
{
    (void)text;
    (void)regs;
    finish_request(arg, err, st, n);
}

static void issue(struct worker *w)
{
    struct bench *b = w->b;
    struct req *r = malloc(sizeof(*r));
    if (!r) {
        b->transport_errors++;
        return;
    }
    r->w = w;
    r->t0 = ev_time();
    char ns[32];
    unsigned j = b->o.op == OP_REGISTER ? w->next_ns++ % b->o.namespaces : randombytes_uniform(b->o.namespaces);
    snprintf(ns, sizeof(ns), "bench/%u", j);
    int err = b->o.op == OP_REGISTER
                  ? rdv_rpc_register(w->conn, ns, rdv_buf_head(&w->envelope), w->envelope.len, b->o.ttl, on_register, r)
                  : rdv_rpc_discover(w->conn, ns, b->o.limit, on_discover, r);
    if (err) {
        b->transport_errors++;
        free(r);
        return;
    }
    w->inflight++;
}

/* ---- connecting -------------------------------------------------------------------------------- */

static void start_run(struct bench *b)
{
    b->running = true;
    b->started = ev_time();
    ev_timer_stop(b->loop, &b->timer);
    ev_timer_set(&b->timer, b->o.seconds, 0.);
    ev_timer_start(b->loop, &b->timer);
    for (unsigned i = 0; i < b->o.connections; i++)
        for (unsigned k = 0; k < b->o.depth; k++)
            issue(&b->w[i]);
}

static int seal_record(struct worker *w)
{
    struct rdv_peer_record rec;
    memset(&rec, 0, sizeof(rec));
    rdv_peerid_from_pubkey(&w->key.pub, &rec.peer_id);
    rec.seq = (uint64_t)(ev_time() * 1000.0);
    struct rdv_buf ma;
    rdv_buf_init(&ma, RDV_MA_MAX_BINARY);
    int err = rdv_ma_from_text(rdv_conn_local_addr(w->conn), &ma);
    if (!err)
        err = rdv_peer_record_add_addr(&rec, rdv_buf_head(&ma), ma.len);
    if (!err)
        err = rdv_signed_peer_record_seal(&w->key, &rec, &w->envelope);
    rdv_buf_free(&ma);
    rdv_peer_record_free(&rec);
    return err;
}

static void on_connected(void *arg, struct rdv_conn *c, int err)
{
    struct worker *w = arg;
    struct bench *b = w->b;
    if (!err) {
        w->conn = c;
        err = seal_record(w);
    }
    if (err) {
        fprintf(stderr, PROG ": connection %u: %s\n", w->idx, rdv_strerror(err));
        b->dial_failed++;
    } else {
        b->connected++;
    }
    if (b->connected + b->dial_failed == b->o.connections) {
        if (b->dial_failed)
            ev_break(b->loop, EVBREAK_ALL);
        else
            start_run(b);
    }
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    struct bench *b = t->data;
    if (!b->running && !b->stopping) { /* still connecting */
        fprintf(stderr, PROG ": only %u of %u connections came up within %.0f s\n", b->connected,
                b->o.connections, b->o.connect_timeout);
        b->dial_failed = b->o.connections - b->connected;
        ev_break(loop, EVBREAK_ALL);
    } else if (b->running) { /* the measured time is over: let what is in flight finish */
        b->running = false;
        b->stopping = true;
        b->ended = ev_time();
        ev_timer_set(t, DRAIN_GRACE_S, 0.);
        ev_timer_start(loop, t);
    } else {
        ev_break(loop, EVBREAK_ALL);
    }
}

static int start_workers(struct bench *b)
{
    struct rdv_host_limits lim;
    rdv_host_limits_defaults(&lim);
    lim.max_streams = MAX_DEPTH * 2;
    for (unsigned i = 0; i < b->o.connections; i++) {
        struct worker *w = &b->w[i];
        w->b = b;
        w->idx = i;
        rdv_buf_init(&w->envelope, 0);
        int err = rdv_privkey_generate(RDV_KEY_ED25519, &w->key);
        if (!err)
            err = rdv_host_new(b->loop, &w->key, &lim, &b->log, &w->host);
        if (!err)
            err = rdv_builtin_register(w->host);
        if (!err)
            err = rdv_host_dial(w->host, rdv_buf_head(&b->server_ma), b->server_ma.len, NULL, on_connected, w);
        if (err) {
            fprintf(stderr, PROG ": connection %u: %s\n", i, rdv_strerror(err));
            return 1;
        }
    }
    return 0;
}

/* ---- report ------------------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(const struct bench *b, double p)
{
    if (!b->nlat)
        return 0;
    size_t i = (size_t)(p * (double)(b->nlat - 1));
    return b->lat[i] * 1000.0;
}

static void report(struct bench *b)
{
    double secs = b->ended - b->started;
    qsort(b->lat, b->nlat, sizeof(double), cmp_double);
    printf("%s: %" PRIu64 " ok in %.1f s = %.0f ops/s; latency ms p50 %.2f p90 %.2f p99 %.2f; "
           "%u connections x %u in flight",
           b->o.op == OP_REGISTER ? "register" : "discover", b->ok, secs, secs > 0 ? (double)b->ok / secs : 0,
           percentile(b, 0.50), percentile(b, 0.90), percentile(b, 0.99), b->o.connections, b->o.depth);
    if (b->o.op == OP_DISCOVER)
        printf("; %.1f records per answer", b->ok ? (double)b->records / (double)b->ok : 0);
    printf("; refused %" PRIu64, b->refused);
    for (int i = 0; i <= RDV_STATUS_COUNT; i++)
        if (b->by_status[i])
            printf(" %s=%" PRIu64, i < RDV_STATUS_COUNT ? rdv_status_name(rdv_status_at(i)) : "other", b->by_status[i]);
    printf("; transport errors %" PRIu64 "\n", b->transport_errors);
    fflush(stdout);
}

/* ---- options ----------------------------------------------------------------------------------- */

static int usage(FILE *out)
{
    fprintf(out, "usage: " PROG " --server MULTIADDR/p2p/ID [--op register|discover] [--connections N]\n"
                    "       [--depth N] [--seconds S] [--namespaces N] [--limit N] [--ttl S]\n"
                    "defaults: register, 16 connections, 4 in flight each, 10 s, 10 namespaces, limit 10, ttl 20\n");
    return out == stdout ? -1 : 2;
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || errno || s[0] == '-' || v < min || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int parse_opts(int argc, char **argv, struct bench_opts *o)
{
    static const struct option opts[] = {
        {"server", required_argument, NULL, 's'}, {"op", required_argument, NULL, 'o'},
        {"connections", required_argument, NULL, 'c'}, {"depth", required_argument, NULL, 'd'},
        {"seconds", required_argument, NULL, 't'}, {"namespaces", required_argument, NULL, 'n'},
        {"limit", required_argument, NULL, 'l'}, {"ttl", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    *o = (struct bench_opts){.connections = 16, .depth = 4, .seconds = 10, .namespaces = 10, .limit = 10,
                             .ttl = 20, .connect_timeout = 30, .op = OP_REGISTER};
    unsigned secs = 10;
    int li = 0;
    for (int c; (c = getopt_long(argc, argv, "", opts, &li)) != -1;) {
        int bad = 0;
        switch (c) {
        case 's': o->server = optarg; break;
        case 'o':
            if (strcmp(optarg, "register") == 0)
                o->op = OP_REGISTER;
            else if (strcmp(optarg, "discover") == 0)
                o->op = OP_DISCOVER;
            else
                bad = 1;
            break;
        case 'c': bad = parse_uint(optarg, 1, MAX_CONNECTIONS, &o->connections); break;
        case 'd': bad = parse_uint(optarg, 1, MAX_DEPTH, &o->depth); break;
        case 't': bad = parse_uint(optarg, 1, 3600, &secs); break;
        case 'n': bad = parse_uint(optarg, 1, 100000, &o->namespaces); break;
        case 'l': bad = parse_uint(optarg, 0, 100000, &o->limit); break;
        case 'T': bad = parse_uint(optarg, 1, 86400, &o->ttl); break;
        case 'h': return usage(stdout);
        default: return usage(stderr);
        }
        if (bad) {
            fprintf(stderr, PROG ": bad value '%s' for --%s\n", optarg, opts[li].name);
            return 2;
        }
    }
    o->seconds = secs;
    return o->server && optind == argc ? 0 : usage(stderr);
}

int main(int argc, char **argv)
{
    struct bench b;
    memset(&b, 0, sizeof(b));
    if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
        printf(PROG " %s\n", PACKAGE_VERSION);
        return 0;
    }
    int rc = parse_opts(argc, argv, &b.o);
    if (rc)
        return rc < 0 ? 0 : rc; /* -1: --help */
    if (sodium_init() < 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    b.log.level = getenv("RDV_BENCH_DEBUG") ? RDV_LOG_DEBUG : RDV_LOG_ERROR;
    b.loop = ev_default_loop(EVFLAG_AUTO);
    rdv_buf_init(&b.server_ma, RDV_MA_MAX_BINARY);
    b.w = calloc(b.o.connections, sizeof(*b.w));
    b.lat = malloc(MAX_SAMPLES * sizeof(double));
    if (!b.w || !b.lat || rdv_ma_from_text(b.o.server, &b.server_ma)) {
        fprintf(stderr, PROG ": %s\n", b.w && b.lat ? "bad --server multiaddr" : "out of memory");
        rc = 1;
    } else {
        ev_timer_init(&b.timer, on_timer, b.o.connect_timeout, 0.);
        b.timer.data = &b;
        ev_timer_start(b.loop, &b.timer);
        rc = start_workers(&b);
        if (rc == 0) {
            ev_run(b.loop, 0);
            rc = b.dial_failed ? 1 : 0;
            if (rc == 0)
                report(&b);
        }
    }
    for (unsigned i = 0; b.w && i < b.o.connections; i++) {
        rdv_host_free(b.w[i].host);
        rdv_privkey_clear(&b.w[i].key);
        rdv_buf_free(&b.w[i].envelope);
    }
    free(b.w);
    free(b.lat);
    rdv_buf_free(&b.server_ma);
    return rc;
}
