/* rendezvous-bench: a load generator for one rendezvous server on this machine (not a test).
 *
 * Opens --connections libp2p connections to --server (loopback only), each from its own fresh
 * ed25519 identity (so every connection is a distinct peer, as in real use), one new stream per
 * request as libp2p clients do, in the dialect --dialect (waku0, std, waku1; the client codec of
 * rendezvous/wire.h). Workloads (--op):
 *   register        each peer re-sends its one envelope (the steady state of js-libp2p and nwaku)
 *   register-fresh  a new seq, so a new signature, every time (the server verifies each one)
 *   discover        a random one of --namespaces namespaces, --limit records
 *   mixed           6 REGISTER (same envelope) to 1 DISCOVER: a Waku peer's 10 s / 60 s cadence
 *   churn           new connection (TCP + Noise + yamux) + one REGISTER + close, per operation
 * Closed loop (--depth operations in flight per connection) or open loop (--rate R operations a
 * second in total, latency counted from when each was due, so a slow server cannot hide its queue).
 * Bounded by --seconds and --requests (whichever first); a progress line on stderr each second
 * unless --quiet; then one summary line (ops/s, p50/p90/p99/max, refusals by status, transport
 * errors), or a JSON object with --json. Everything runs on one libev loop, like the server. */
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
#include "p2p/record_kind.h"
#include "rendezvous/server.h"
#include "util/err.h"

#define PROG "rendezvous-bench"
#define MAX_CONNECTIONS 4096
#define MAX_DEPTH 64
#define MAX_SAMPLES (1u << 22) /* latencies kept for percentiles */
#define DRAIN_GRACE_S 10.0
#define TICK_S 0.001           /* open loop: how often due operations are started */

enum bench_op { OP_REGISTER, OP_REGISTER_FRESH, OP_DISCOVER, OP_MIXED, OP_CHURN };
static const char *const op_names[] = {"register", "register-fresh", "discover", "mixed", "churn"};

struct bench_opts {
    const char *server;
    const struct rdv_dialect *dialect;
    unsigned connections, depth, namespaces, limit, ttl;
    double seconds, rate, connect_timeout;
    uint64_t requests; /* 0: no bound but time */
    bool json, quiet;
    enum bench_op op;
};

struct bench;

struct worker {
    struct bench *b;
    unsigned idx;
    struct rdv_privkey key;
    struct rdv_host *host;
    struct rdv_conn *conn;   /* the long-lived connection (not in churn) */
    struct rdv_buf envelope; /* our signed record, sealed once (re-sealed per request in register-fresh) */
    struct rdv_buf local_ma;
    uint64_t seq;
    unsigned next_ns, nops;
    unsigned inflight;
};

struct bench {
    struct bench_opts o;
    struct ev_loop *loop;
    struct rdv_log log;
    struct rdv_buf server_ma;
    struct worker *w;
    unsigned connected, dial_failed, next_worker;
    bool running, stopping;
    ev_tstamp started, ended;
    ev_timer timer, progress, tick;
    double owed;             /* open loop: operations due but not started */
    ev_tstamp last_tick;     /* open loop: when owed was last brought up to date */
    uint64_t started_ops, ok, refused, transport_errors, overflow, records, last_ok;
    uint64_t by_status[RDV_STATUS_COUNT + 1]; /* rdv_status_index; the last: any other value */
    double *lat;
    size_t nlat;
};

/* ---- operations ------------------------------------------------------------------------------- */

struct req {
    struct worker *w;
    ev_tstamp t0;
    struct rdv_conn *conn; /* churn: the connection of this operation */
};

static void issue(struct worker *w, ev_tstamp due);

static bool budget_left(const struct bench *b)
{
    return b->running && (!b->o.requests || b->started_ops < b->o.requests);
}

static void maybe_end(struct bench *b)
{
    if (b->running && b->o.requests && b->ok + b->refused + b->transport_errors >= b->o.requests) {
        b->running = false;
        b->stopping = true;
        b->ended = ev_time();
    }
    if (!b->stopping)
        return;
    unsigned left = 0;
    for (unsigned i = 0; i < b->o.connections; i++)
        left += b->w[i].inflight;
    if (left == 0)
        ev_break(b->loop, EVBREAK_ALL);
}

static void finish_request(struct req *r, int err, enum rdv_status st, size_t nrecords)
{
    struct worker *w = r->w;
    struct bench *b = w->b;
    w->inflight--;
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
    if (r->conn)
        rdv_conn_close(r->conn);
    free(r);
    if (b->o.rate == 0 && budget_left(b))
        issue(w, ev_time());
    maybe_end(b);
}

static void on_answer(void *arg, const struct rdv_rpc_answer *a)
{
    finish_request(arg, a->err, a->status, a->nregs);
}

/* Seals seq and our local address as the dialect's record kind (peer record or WakuPeerRecord). */
static int seal_record(struct worker *w)
{
    struct rdv_record_summary in;
    memset(&in, 0, sizeof(in));
    in.seq = ++w->seq;
    in.naddrs = 1;
    in.addrs[0] = (struct rdv_record_addr){rdv_buf_head(&w->local_ma), w->local_ma.len};
    in.mix_key = w->b->o.dialect->record->id == RDV_RECORD_WAKU ? (const uint8_t *)"" : NULL;
    rdv_buf_reset(&w->envelope);
    return rdv_record_seal(w->b->o.dialect->record, &w->key, &in, &w->envelope);
}

static int send_one(struct req *r, struct rdv_conn *c)
{
    struct worker *w = r->w;
    struct bench *b = w->b;
    enum bench_op op = b->o.op;
    bool reg = op == OP_REGISTER || op == OP_REGISTER_FRESH || op == OP_CHURN || (op == OP_MIXED && w->nops % 7 != 6);
    w->nops++;
    if (op == OP_REGISTER_FRESH && seal_record(w))
        return RDV_ERR_INTERNAL;
    char ns[32];
    unsigned j = reg ? w->next_ns++ % b->o.namespaces : randombytes_uniform(b->o.namespaces);
    snprintf(ns, sizeof(ns), "bench/%u", j);
    struct rdv_rpc_request q = {.type = reg ? RDV_REQ_REGISTER : RDV_REQ_DISCOVER, .ns = ns,
                                .envelope = rdv_buf_head(&w->envelope), .envelope_len = w->envelope.len,
                                .ttl = b->o.ttl, .limit = b->o.limit};
    return rdv_rpc_send(c, b->o.dialect, &q, on_answer, r);
}

static void on_churn_connected(void *arg, struct rdv_conn *c, int err)
{
    struct req *r = arg;
    r->conn = c;
    if (err || (err = send_one(r, c)) != RDV_OK)
        finish_request(r, err ? err : RDV_ERR_INTERNAL, RDV_STATUS_OK, 0);
}

/* Starts one operation on w; due: when it should have started (open loop), for its latency. */
static void issue(struct worker *w, ev_tstamp due)
{
    struct bench *b = w->b;
    if (w->inflight >= MAX_DEPTH) { /* open loop faster than the server: counted, not queued */
        b->overflow++;
        return;
    }
    struct req *r = calloc(1, sizeof(*r));
    if (!r) {
        b->transport_errors++;
        return;
    }
    r->w = w;
    r->t0 = due;
    w->inflight++;
    b->started_ops++;
    int err = b->o.op == OP_CHURN
                  ? rdv_host_dial(w->host, rdv_buf_head(&b->server_ma), b->server_ma.len, NULL, on_churn_connected, r)
                  : send_one(r, w->conn);
    if (err)
        finish_request(r, err, RDV_STATUS_OK, 0);
}

/* Open loop: start every operation due by now, round robin over the workers. */
static void on_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct bench *b = t->data;
    /* by the time elapsed, not the tick's nominal length: a tick that fires late (a busy loop)
     * must not lower the offered rate, which is what an open loop promises to hold */
    ev_tstamp now = ev_time();
    b->owed += b->o.rate * (now - b->last_tick);
    b->last_tick = now;
    while (b->owed >= 1 && budget_left(b)) {
        b->owed -= 1;
        issue(&b->w[b->next_worker++ % b->o.connections], now);
    }
}

/* ---- connecting -------------------------------------------------------------------------------- */

static void start_run(struct bench *b)
{
    b->running = true;
    b->started = ev_time();
    ev_timer_stop(b->loop, &b->timer);
    ev_timer_set(&b->timer, b->o.seconds, 0.);
    ev_timer_start(b->loop, &b->timer);
    if (!b->o.quiet)
        ev_timer_start(b->loop, &b->progress);
    if (b->o.rate > 0) {
        b->last_tick = ev_time();
        ev_timer_start(b->loop, &b->tick);
        return;
    }
    for (unsigned k = 0; k < b->o.depth; k++)
        for (unsigned i = 0; i < b->o.connections && budget_left(b); i++)
            issue(&b->w[i], ev_time());
}

static void on_connected(void *arg, struct rdv_conn *c, int err)
{
    struct worker *w = arg;
    struct bench *b = w->b;
    if (!err && !(err = rdv_ma_from_text(rdv_conn_local_addr(c), &w->local_ma)))
        err = seal_record(w);
    if (err) {
        fprintf(stderr, PROG ": connection %u: %s\n", w->idx, rdv_strerror(err));
        b->dial_failed++;
    } else {
        b->connected++;
    }
    if (b->o.op == OP_CHURN && c)
        rdv_conn_close(c); /* only wanted our address; every operation dials anew */
    else
        w->conn = c;
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
        ev_timer_stop(loop, &b->tick);
        ev_timer_set(t, DRAIN_GRACE_S, 0.);
        ev_timer_start(loop, t);
        maybe_end(b);
    } else {
        ev_break(loop, EVBREAK_ALL);
    }
}

static void on_progress(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct bench *b = t->data;
    fprintf(stderr, "\r%s: %.0f s, %" PRIu64 " ok (%" PRIu64 "/s), %" PRIu64 " refused, %" PRIu64 " errors   ",
            op_names[b->o.op], ev_time() - b->started, b->ok, b->ok - b->last_ok, b->refused, b->transport_errors);
    b->last_ok = b->ok;
}

static int start_workers(struct bench *b)
{
    struct rdv_host_limits lim;
    rdv_host_limits_defaults(&lim);
    lim.max_streams = MAX_DEPTH * 2;
    lim.max_connections = MAX_DEPTH * 2;
    lim.max_stream_input = RDV_MAX_RESPONSE + 16; /* a DISCOVER answer may hold 4 MiB, not the 64 KiB of a request */
    for (unsigned i = 0; i < b->o.connections; i++) {
        struct worker *w = &b->w[i];
        w->b = b;
        w->idx = i;
        w->seq = (uint64_t)(ev_time() * 1000.0);
        rdv_buf_init(&w->envelope, 0);
        rdv_buf_init(&w->local_ma, RDV_MA_MAX_BINARY);
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

static void report_text(const struct bench *b, double secs)
{
    /* "OP: N ok in" first: scripts and tests (tests/pg/frontends.mjs) read the line from its start */
    printf("%s: %" PRIu64 " ok in %.1f s = %.0f ops/s; latency ms p50 %.2f p90 %.2f p99 %.2f max %.2f; dialect %s; ",
           op_names[b->o.op], b->ok, secs, secs > 0 ? (double)b->ok / secs : 0,
           percentile(b, 0.50), percentile(b, 0.90), percentile(b, 0.99), percentile(b, 1.0), b->o.dialect->name);
    if (b->o.rate > 0)
        printf("open loop %.0f/s over %u connections", b->o.rate, b->o.connections);
    else
        printf("%u connections x %u in flight", b->o.connections, b->o.depth);
    if (b->o.op == OP_DISCOVER)
        printf("; %.1f records per answer", b->ok ? (double)b->records / (double)b->ok : 0);
    printf("; refused %" PRIu64, b->refused);
    for (int i = 0; i <= RDV_STATUS_COUNT; i++)
        if (b->by_status[i])
            printf(" %s=%" PRIu64, i < RDV_STATUS_COUNT ? rdv_status_name(rdv_status_at(i)) : "other", b->by_status[i]);
    printf("; transport errors %" PRIu64 "; not started (over %d in flight) %" PRIu64 "\n", b->transport_errors,
           MAX_DEPTH, b->overflow);
}

static void report_json(const struct bench *b, double secs)
{
    printf("{\"op\":\"%s\",\"dialect\":\"%s\",\"ok\":%" PRIu64 ",\"seconds\":%.3f,\"ops_per_s\":%.1f,"
           "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"connections\":%u,\"depth\":%u,"
           "\"rate\":%.0f,\"records_per_answer\":%.2f,\"refused\":%" PRIu64 ",\"transport_errors\":%" PRIu64
           ",\"not_started\":%" PRIu64 ",\"by_status\":{",
           op_names[b->o.op], b->o.dialect->name, b->ok, secs, secs > 0 ? (double)b->ok / secs : 0,
           percentile(b, 0.50), percentile(b, 0.90), percentile(b, 0.99), percentile(b, 1.0), b->o.connections,
           b->o.depth, b->o.rate, b->ok ? (double)b->records / (double)b->ok : 0, b->refused, b->transport_errors,
           b->overflow);
    const char *sep = "";
    for (int i = 0; i <= RDV_STATUS_COUNT; i++)
        if (b->by_status[i]) {
            printf("%s\"%s\":%" PRIu64, sep, i < RDV_STATUS_COUNT ? rdv_status_name(rdv_status_at(i)) : "other",
                   b->by_status[i]);
            sep = ",";
        }
    printf("}}\n");
}

static void report(struct bench *b)
{
    if (!b->o.quiet)
        fprintf(stderr, "\n");
    double secs = (b->ended ? b->ended : ev_time()) - b->started;
    qsort(b->lat, b->nlat, sizeof(double), cmp_double);
    if (b->o.json)
        report_json(b, secs);
    else
        report_text(b, secs);
    fflush(stdout);
}

/* ---- options ----------------------------------------------------------------------------------- */

static int usage(FILE *out)
{
    fprintf(out, "usage: " PROG " --server MULTIADDR/p2p/ID [--op register|register-fresh|discover|mixed|churn]\n"
                 "       [--dialect waku0|std|waku1] [--connections N] [--depth N] [--rate OPS_PER_S]\n"
                 "       [--seconds S] [--requests N] [--namespaces N] [--limit N] [--ttl S] [--json] [--quiet]\n"
                 "defaults: register, waku0, 16 connections, 4 in flight each (closed loop), 10 s, 10 namespaces,\n"
                 "limit 10, ttl 20 (the dialect's largest TTL if smaller). The server must be on this machine.\n");
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

static int parse_op(const char *s, enum bench_op *op)
{
    for (int i = 0; i < (int)(sizeof(op_names) / sizeof(op_names[0])); i++)
        if (strcmp(s, op_names[i]) == 0) {
            *op = (enum bench_op)i;
            return 0;
        }
    return -1;
}

/* A load generator must not be aimed at someone else's server. */
static bool loopback(const char *ma)
{
    return strncmp(ma, "/ip4/127.", 9) == 0 || strncmp(ma, "/ip6/::1/", 9) == 0 || strncmp(ma, "/dns4/localhost/", 16) == 0;
}

static int parse_opts(int argc, char **argv, struct bench_opts *o)
{
    static const struct option opts[] = {
        {"server", required_argument, NULL, 's'}, {"op", required_argument, NULL, 'o'},
        {"connections", required_argument, NULL, 'c'}, {"depth", required_argument, NULL, 'd'},
        {"seconds", required_argument, NULL, 't'}, {"namespaces", required_argument, NULL, 'n'},
        {"limit", required_argument, NULL, 'l'}, {"ttl", required_argument, NULL, 'T'},
        {"rate", required_argument, NULL, 'r'}, {"requests", required_argument, NULL, 'N'},
        {"dialect", required_argument, NULL, 'D'}, {"json", no_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    *o = (struct bench_opts){.connections = 16, .depth = 4, .seconds = 10, .namespaces = 10, .limit = 10,
                             .ttl = 20, .connect_timeout = 30, .op = OP_REGISTER,
                             .dialect = rdv_dialect_get(RDV_DIALECT_WAKU0)};
    unsigned secs = 10, rate = 0, reqs = 0, ttl = 0;
    int li = 0;
    for (int c; (c = getopt_long(argc, argv, "", opts, &li)) != -1;) {
        int bad = 0;
        switch (c) {
        case 's': o->server = optarg; break;
        case 'o': bad = parse_op(optarg, &o->op); break;
        case 'D': bad = !(o->dialect = rdv_dialect_find(optarg)); break;
        case 'c': bad = parse_uint(optarg, 1, MAX_CONNECTIONS, &o->connections); break;
        case 'd': bad = parse_uint(optarg, 1, MAX_DEPTH, &o->depth); break;
        case 't': bad = parse_uint(optarg, 1, 3600, &secs); break;
        case 'n': bad = parse_uint(optarg, 1, 100000, &o->namespaces); break;
        case 'l': bad = parse_uint(optarg, 0, 100000, &o->limit); break;
        case 'T': bad = parse_uint(optarg, 1, 86400 * 3, &ttl); break;
        case 'r': bad = parse_uint(optarg, 1, 10000000, &rate); break;
        case 'N': bad = parse_uint(optarg, 1, 1000000000, &reqs); break;
        case 'j': o->json = true; break;
        case 'q': o->quiet = true; break;
        case 'h': return usage(stdout);
        default: return usage(stderr);
        }
        if (bad) {
            fprintf(stderr, PROG ": bad value '%s' for --%s\n", optarg, opts[li].name);
            return 2;
        }
    }
    o->seconds = secs;
    o->rate = rate;
    o->requests = reqs;
    o->ttl = ttl ? ttl : o->ttl < o->dialect->defaults.max_ttl_s ? o->ttl : o->dialect->defaults.max_ttl_s;
    if (o->ttl < o->dialect->defaults.min_ttl_s)
        o->ttl = o->dialect->defaults.min_ttl_s;
    if (o->server && !loopback(o->server)) {
        fprintf(stderr, PROG ": --server must be a loopback address (/ip4/127.x or /ip6/::1)\n");
        return 2;
    }
    return o->server && optind == argc ? 0 : usage(stderr);
}

static void bench_free(struct bench *b)
{
    for (unsigned i = 0; b->w && i < b->o.connections; i++) {
        rdv_host_free(b->w[i].host);
        rdv_privkey_clear(&b->w[i].key);
        rdv_buf_free(&b->w[i].envelope);
        rdv_buf_free(&b->w[i].local_ma);
    }
    free(b->w);
    free(b->lat);
    rdv_buf_free(&b->server_ma);
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
        bench_free(&b);
        return 1;
    }
    ev_timer_init(&b.timer, on_timer, b.o.connect_timeout, 0.);
    ev_timer_init(&b.progress, on_progress, 1., 1.);
    ev_timer_init(&b.tick, on_tick, TICK_S, TICK_S);
    b.timer.data = b.progress.data = b.tick.data = &b;
    ev_timer_start(b.loop, &b.timer);
    rc = start_workers(&b);
    if (rc == 0) {
        ev_run(b.loop, 0);
        rc = b.dial_failed ? 1 : 0;
        if (rc == 0)
            report(&b);
    }
    bench_free(&b);
    return rc;
}
