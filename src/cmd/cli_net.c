/* cli_net.c: rendezvous-cli's network commands: register, discover, identify and ping. Each
 * dials one peer, sends one request, prints the answer as JSON lines and exits. */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/rpc.h"
#include "cmd/cli.h"
#include "p2p/builtin.h"
#include "p2p/host.h"
#include "p2p/multiaddr.h"
#include "p2p/peer_record.h"
#include "util/err.h"

enum net_cmd { NET_REGISTER, NET_DISCOVER, NET_IDENTIFY, NET_PING };
static const char *const net_cmd_names[] = {"register", "discover", "identify", "ping"};

struct net_opts {
    const char *server, *ns, *keyfile;
    const char *addrs[16];
    size_t naddrs;
    int64_t ttl, limit;
    double timeout;
    enum net_cmd cmd;
};

struct net_run {
    struct net_opts o;
    struct ev_loop *loop;
    struct rdv_log log;
    struct rdv_privkey key;
    struct rdv_host *host;
    ev_timer deadline;
    int rc;
};

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno)
        return -1;
    *out = v;
    return 0;
}

static int parse_net_opts(int argc, char **argv, struct net_opts *o)
{
    static const struct option opts[] = {
        {"server", required_argument, NULL, 's'}, {"ns", required_argument, NULL, 'n'},
        {"ttl", required_argument, NULL, 't'}, {"limit", required_argument, NULL, 'l'},
        {"key", required_argument, NULL, 'k'}, {"addr", required_argument, NULL, 'a'},
        {"timeout", required_argument, NULL, 'T'}, {0, 0, 0, 0}};
    o->timeout = 10;
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (c) {
        case 's': o->server = optarg; break;
        case 'n': o->ns = optarg; break;
        case 'k': o->keyfile = optarg; break;
        case 't':
            if (parse_i64(optarg, &o->ttl))
                return cli_fail("--ttl needs a whole number of seconds, not '%s'", optarg);
            break;
        case 'l':
            if (parse_i64(optarg, &o->limit))
                return cli_fail("--limit needs a whole number, not '%s'", optarg);
            break;
        case 'a':
            if (o->naddrs >= sizeof(o->addrs) / sizeof(o->addrs[0]))
                return cli_fail("too many --addr");
            o->addrs[o->naddrs++] = optarg;
            break;
        case 'T':
            o->timeout = atof(optarg);
            if (o->timeout <= 0)
                return cli_fail("--timeout needs a positive number of seconds");
            break;
        default:
            return 2;
        }
    }
    bool needs_ns = o->cmd == NET_REGISTER || o->cmd == NET_DISCOVER;
    static const char *const extra[] = {"--ns NS [--ttl S] [--key FILE] [--addr MA]...", "--ns NS [--limit N]", "", ""};
    if (!o->server || (needs_ns && !o->ns) || optind != argc)
        return cli_fail("usage: rendezvous-cli %s --server MULTIADDR/p2p/ID %s [--timeout S]", net_cmd_names[o->cmd], extra[o->cmd]);
    return 0;
}

static void finish(struct net_run *r, int rc)
{
    r->rc = rc;
    ev_break(r->loop, EVBREAK_ALL);
}

static void on_register(void *arg, int err, enum rdv_status status, const char *text, int64_t ttl)
{
    struct net_run *r = arg;
    if (err) {
        cli_fail("register: no answer: %s", rdv_strerror(err));
        finish(r, 1);
        return;
    }
    char id[RDV_PEERID_TEXT_MAX];
    struct rdv_peerid me;
    rdv_peerid_from_pubkey(&r->key.pub, &me);
    rdv_peerid_to_text(&me, id, sizeof(id));
    printf("{\"status\": \"%s\", \"code\": %d, \"ttl\": %" PRId64 ", \"peer_id\": \"%s\"}\n",
           rdv_status_name(status), (int)status, ttl, id);
    if (status != RDV_STATUS_OK)
        cli_fail("register refused: %s (%d): %s", rdv_status_name(status), (int)status, text ? text : "");
    finish(r, status == RDV_STATUS_OK ? 0 : 1);
}

/* Prints one verified registration as a JSON line; unverifiable ones go to stderr. */
static void print_registration(const struct rdv_rpc_registration *g)
{
    struct rdv_peer_record rec;
    int err = rdv_signed_peer_record_open(g->envelope, g->envelope_len, &rec);
    if (err) {
        cli_fail("discover: skipped a registration whose record does not verify: %s", rdv_strerror(err));
        return;
    }
    char id[RDV_PEERID_TEXT_MAX];
    rdv_peerid_to_text(&rec.peer_id, id, sizeof(id));
    json_t *addrs = json_array();
    for (size_t i = 0; i < rec.naddrs; i++) {
        char text[RDV_MA_MAX_TEXT];
        if (rdv_ma_to_text(rec.addrs[i].bytes, rec.addrs[i].len, text, sizeof(text)) >= 0)
            json_array_append_new(addrs, json_string(text));
    }
    json_t *line = json_pack("{s:s, s:o, s:I}", "peer_id", id, "addrs", addrs, "ttl", (json_int_t)g->ttl);
    char *txt = json_dumps(line, JSON_PRESERVE_ORDER | JSON_COMPACT);
    printf("%s\n", txt);
    free(txt);
    json_decref(line);
    rdv_peer_record_free(&rec);
}

static void on_discover(void *arg, int err, enum rdv_status status, const char *text,
                        const struct rdv_rpc_registration *regs, size_t n)
{
    struct net_run *r = arg;
    if (err) {
        cli_fail("discover: no answer: %s", rdv_strerror(err));
        finish(r, 1);
        return;
    }
    if (status != RDV_STATUS_OK) {
        cli_fail("discover refused: %s (%d): %s", rdv_status_name(status), (int)status, text ? text : "");
        finish(r, 1);
        return;
    }
    for (size_t i = 0; i < n; i++)
        print_registration(&regs[i]);
    fflush(stdout);
    finish(r, 0);
}

/* The record we register: --addr values, else the local end of our connection to the server. */
static int seal_own_record(struct net_run *r, struct rdv_conn *c, struct rdv_buf *env)
{
    struct rdv_peer_record rec;
    memset(&rec, 0, sizeof(rec));
    rdv_peerid_from_pubkey(&r->key.pub, &rec.peer_id);
    rec.seq = (uint64_t)(ev_time() * 1000.0);
    int err = RDV_OK;
    for (size_t i = 0; i < r->o.naddrs && !err; i++) {
        struct rdv_buf ma;
        rdv_buf_init(&ma, RDV_MA_MAX_BINARY);
        err = rdv_ma_from_text(r->o.addrs[i], &ma);
        if (err)
            cli_fail("register: bad --addr '%s': %s", r->o.addrs[i], rdv_strerror(err));
        else
            err = rdv_peer_record_add_addr(&rec, rdv_buf_head(&ma), ma.len);
        rdv_buf_free(&ma);
    }
    if (!err && r->o.naddrs == 0) {
        struct rdv_buf ma;
        rdv_buf_init(&ma, RDV_MA_MAX_BINARY);
        err = rdv_ma_from_text(rdv_conn_local_addr(c), &ma);
        if (!err)
            err = rdv_peer_record_add_addr(&rec, rdv_buf_head(&ma), ma.len);
        rdv_buf_free(&ma);
    }
    if (!err)
        err = rdv_signed_peer_record_seal(&r->key, &rec, env);
    rdv_peer_record_free(&rec);
    return err;
}

static void print_json_str_array(const char *key, char *const *items, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(items[i]));
    char *txt = json_dumps(arr, JSON_COMPACT);
    printf("\"%s\": %s", key, txt ? txt : "[]");
    free(txt);
    json_decref(arr);
}

static void on_identify(void *arg, const struct rdv_identify_peer *peer, int err)
{
    struct net_run *r = arg;
    if (err) {
        cli_fail("identify failed: %s", rdv_strerror(err));
        finish(r, 1);
        return;
    }
    struct rdv_peerid id;
    char idtext[RDV_PEERID_TEXT_MAX] = "?";
    if (rdv_peerid_from_pubkey(&peer->key, &id) == RDV_OK)
        rdv_peerid_to_text(&id, idtext, sizeof(idtext));
    json_t *agent = json_string(peer->agent_version ? peer->agent_version : "");
    char *agent_txt = json_dumps(agent, JSON_ENCODE_ANY);
    printf("{\"peer_id\": \"%s\", \"agent\": %s, ", idtext, agent_txt ? agent_txt : "\"\"");
    free(agent_txt);
    json_decref(agent);
    print_json_str_array("protocols", peer->protocols, peer->nprotocols);
    struct rdv_peer_record rec;
    bool record_ok = peer->signed_record && rdv_signed_peer_record_open(peer->signed_record, peer->signed_record_len, &rec) == RDV_OK;
    printf(", \"listen_addrs\": %zu, \"signed_record\": %s}\n", peer->nlisten,
           !peer->signed_record ? "null" : record_ok && rdv_peerid_equal(&rec.peer_id, &id) ? "\"valid\"" : "\"invalid\"");
    if (record_ok)
        rdv_peer_record_free(&rec);
    fflush(stdout);
    finish(r, 0);
}

static void on_ping(void *arg, double rtt, int err)
{
    struct net_run *r = arg;
    if (err) {
        cli_fail("ping failed: %s", rdv_strerror(err));
        finish(r, 1);
        return;
    }
    printf("{\"rtt_ms\": %.3f}\n", rtt * 1000.0);
    fflush(stdout);
    finish(r, 0);
}

static void on_connected(void *arg, struct rdv_conn *c, int err)
{
    struct net_run *r = arg;
    if (err) {
        cli_fail("cannot connect to %s: %s", r->o.server, rdv_strerror(err));
        finish(r, 1);
        return;
    }
    if (r->o.cmd == NET_IDENTIFY) {
        err = rdv_identify_request(c, on_identify, r);
    } else if (r->o.cmd == NET_PING) {
        err = rdv_ping_request(c, on_ping, r);
    } else if (r->o.cmd == NET_DISCOVER) {
        err = rdv_rpc_discover(c, r->o.ns, r->o.limit, on_discover, r);
    } else {
        struct rdv_buf env;
        rdv_buf_init(&env, 0);
        err = seal_own_record(r, c, &env);
        if (!err)
            err = rdv_rpc_register(c, r->o.ns, rdv_buf_head(&env), env.len, r->o.ttl, on_register, r);
        rdv_buf_free(&env);
    }
    if (err) {
        cli_fail("request failed: %s", rdv_strerror(err));
        finish(r, 1);
    }
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct net_run *r = w->data;
    cli_fail("timed out after %.1f s", r->o.timeout);
    finish(r, 1);
}

static int net_setup(struct net_run *r)
{
    int err = r->o.keyfile ? rdv_privkey_load(r->o.keyfile, &r->key) : rdv_privkey_generate(RDV_KEY_ED25519, &r->key);
    if (err)
        return cli_fail("key %s: %s", r->o.keyfile ? r->o.keyfile : "(new)", rdv_strerror(err));
    struct rdv_buf ma;
    rdv_buf_init(&ma, RDV_MA_MAX_BINARY);
    err = rdv_ma_from_text(r->o.server, &ma);
    const uint8_t *mh;
    size_t mhlen;
    if (!err && rdv_ma_p2p_peer(rdv_buf_head(&ma), ma.len, &mh, &mhlen) != RDV_OK)
        err = RDV_ERR_NOT_FOUND;
    struct rdv_host_limits lim;
    rdv_host_limits_defaults(&lim);
    lim.max_stream_input = RDV_MAX_RESPONSE + 16; /* a DISCOVER answer may hold 1000 records */
    if (!err)
        err = rdv_host_new(r->loop, &r->key, &lim, &r->log, &r->host);
    if (!err)
        err = rdv_builtin_register(r->host); /* answer the server's identify, as a libp2p peer should */
    if (!err)
        err = rdv_host_dial(r->host, rdv_buf_head(&ma), ma.len, NULL, on_connected, r);
    rdv_buf_free(&ma);
    if (err)
        return cli_fail("--server %s: %s%s", r->o.server, rdv_strerror(err),
                        err == RDV_ERR_NOT_FOUND ? " (it must end in /p2p/<peer id>)" : "");
    return 0;
}

static int run_net(int argc, char **argv, enum net_cmd cmd)
{
    struct net_run r;
    memset(&r, 0, sizeof(r));
    r.o.cmd = cmd;
    int rc = parse_net_opts(argc, argv, &r.o);
    if (rc)
        return rc;
    r.log.level = getenv("RDV_CLI_DEBUG") ? RDV_LOG_DEBUG : RDV_LOG_WARN;
    r.loop = ev_loop_new(EVFLAG_AUTO);
    rc = net_setup(&r);
    if (rc == 0) {
        ev_timer_init(&r.deadline, on_deadline, r.o.timeout, 0);
        r.deadline.data = &r;
        ev_timer_start(r.loop, &r.deadline);
        r.rc = 1;
        ev_run(r.loop, 0);
        rc = r.rc;
    }
    rdv_host_free(r.host);
    rdv_privkey_clear(&r.key);
    ev_loop_destroy(r.loop);
    return rc;
}

int cli_cmd_register(int argc, char **argv) { return run_net(argc, argv, NET_REGISTER); }
int cli_cmd_discover(int argc, char **argv) { return run_net(argc, argv, NET_DISCOVER); }
int cli_cmd_identify(int argc, char **argv) { return run_net(argc, argv, NET_IDENTIFY); }
int cli_cmd_ping(int argc, char **argv) { return run_net(argc, argv, NET_PING); }
