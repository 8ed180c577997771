/* cli_net.c: rendezvous-cli's network commands: register, discover, unregister, identify and ping.
 * Each dials one peer, sends one request, prints the answer as JSON lines and exits. The
 * rendezvous commands speak the dialect of --protocol (waku0 by default): its messages
 * (client/rpc.c over rendezvous/wire.h) and its record kind (p2p/record_kind.h). */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/rpc.h"
#include "cmd/cli.h"
#include "p2p/builtin.h"
#include "p2p/host.h"
#include "p2p/multiaddr.h"
#include "p2p/record_kind.h"
#include "util/err.h"

#define NET_MAX_ADDRS 16
#define NET_COOKIE_MAX 1024

enum net_cmd { NET_REGISTER, NET_DISCOVER, NET_UNREGISTER, NET_IDENTIFY, NET_PING };
static const char *const net_cmd_names[] = {"register", "discover", "unregister", "identify", "ping"};

/* Each command's arguments after --server, and what it does (for usage and --help). */
static const char *const net_usage[] = {
    "--ns NS [--ttl S] [--key FILE] [--addr MA]... [--mix-key TEXT] [--protocol ID] [--timeout S]\n"
    "  Registers a signed record of the dialect's kind (--addr values, else our local address on the\n"
    "  connection) under NS; prints {\"status\", \"code\", \"ttl\", \"peer_id\"}.\n"
    "  --mix-key TEXT   the mixKey of the WakuPeerRecord (waku1 only; default empty)",
    "[--ns NS] [--limit N] [--cookie HEX] [--protocol ID] [--timeout S]\n"
    "  Prints one JSON line per verified registration: {\"peer_id\", \"addrs\", \"ttl\", \"ns\"}.\n"
    "  std and waku1: --ns may be left out (every namespace); --cookie sends the cookie of an earlier\n"
    "  answer (only newer records come back), and the answer's cookie is printed on stdout as the\n"
    "  last line, {\"cookie\": \"<hex>\"} (\"\" if the point gave none).",
    "--ns NS --key FILE [--protocol std|waku1] [--timeout S]\n"
    "  Removes the registrations of the key's peer under NS (no answer comes back: prints\n"
    "  {\"status\": \"sent\", ...} once the request is delivered).",
    "[--timeout S]\n  Asks a libp2p peer who it is: peer id, agent, protocols, signed record (JSON).",
    "[--timeout S]\n  libp2p ping, prints the round trip.",
};

#define PROTOCOL_HELP                                                                                                  \
    "  --protocol ID, -p ID   the dialect: waku0 (/vac/waku/rendezvous/0.0.1, the default), std\n"                      \
    "                         (/rendezvous/1.0.0) or waku1 (/vac/waku/rendezvous/1.0.0), by name or protocol id\n"

struct net_opts {
    const char *server, *ns, *keyfile, *mix_key, *cookie_hex;
    const char *addrs[NET_MAX_ADDRS];
    size_t naddrs;
    int64_t ttl, limit;
    double timeout;
    const struct rdv_dialect *dialect;
    uint8_t cookie[NET_COOKIE_MAX];
    size_t cookie_len;
    enum net_cmd cmd;
};

#define CLI_LINGER_QUIET 0.1 /* seconds of silence before we close an answered connection */
#define CLI_LINGER_MAX 1.0   /* and never longer than this after the answer */

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

static int net_usage_fail(const struct net_opts *o)
{
    return cli_fail("usage: rendezvous-cli %s --server MULTIADDR/p2p/ID %s", net_cmd_names[o->cmd], net_usage[o->cmd]);
}

static int net_help(const struct net_opts *o)
{
    printf("usage: rendezvous-cli %s --server MULTIADDR/p2p/ID %s\n", net_cmd_names[o->cmd], net_usage[o->cmd]);
    if (o->cmd <= NET_UNREGISTER)
        printf("%s", PROTOCOL_HELP);
    return -1; /* done, exit 0 */
}

/* One option of getopt's; 0 to go on, else the exit status (-1: exit 0). */
static int net_opt(int c, struct net_opts *o)
{
    switch (c) {
    case 's': o->server = optarg; break;
    case 'n': o->ns = optarg; break;
    case 'k': o->keyfile = optarg; break;
    case 'm': o->mix_key = optarg; break;
    case 'c': o->cookie_hex = optarg; break;
    case 'h': return net_help(o);
    case 'p':
        if (!(o->dialect = rdv_dialect_find(optarg)))
            return cli_fail("--protocol: unknown '%s' (waku0, std, waku1 or their protocol ids)", optarg);
        break;
    case 't':
        if (parse_i64(optarg, &o->ttl))
            return cli_fail("--ttl needs a whole number of seconds, not '%s'", optarg);
        break;
    case 'l':
        if (parse_i64(optarg, &o->limit))
            return cli_fail("--limit needs a whole number, not '%s'", optarg);
        break;
    case 'a':
        if (o->naddrs >= NET_MAX_ADDRS)
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
    return 0;
}

/* What the dialect allows of the options given. */
static int net_check(struct net_opts *o)
{
    const struct rdv_dialect *d = o->dialect;
    bool rz = o->cmd <= NET_UNREGISTER;
    bool needs_ns = o->cmd == NET_REGISTER || o->cmd == NET_UNREGISTER || (o->cmd == NET_DISCOVER && !d->empty_ns_is_all);
    if (!o->server || (needs_ns && !o->ns) || (o->cmd == NET_UNREGISTER && !o->keyfile))
        return net_usage_fail(o);
    if (o->cmd == NET_UNREGISTER && !d->unregister)
        return cli_fail("unregister: %s has no UNREGISTER (use --protocol std or waku1)", d->protocol);
    if (o->cookie_hex && (o->cmd != NET_DISCOVER || !d->cookies))
        return cli_fail("--cookie: only discover with --protocol std or waku1 takes a cookie");
    if (o->cookie_hex && sodium_hex2bin(o->cookie, sizeof(o->cookie), o->cookie_hex, strlen(o->cookie_hex), NULL,
                                        &o->cookie_len, NULL) != 0)
        return cli_fail("--cookie needs hex bytes, not '%s'", o->cookie_hex);
    if (o->mix_key && (o->cmd != NET_REGISTER || d->record != &rdv_record_kind_waku))
        return cli_fail("--mix-key: only register with --protocol waku1 takes a mix key");
    if (!rz && o->dialect != rdv_dialect_get(RDV_DIALECT_WAKU0))
        return cli_fail("--protocol: %s speaks no rendezvous dialect", net_cmd_names[o->cmd]);
    return 0;
}

static int parse_net_opts(int argc, char **argv, struct net_opts *o)
{
    static const struct option opts[] = {
        {"server", required_argument, NULL, 's'}, {"ns", required_argument, NULL, 'n'},
        {"ttl", required_argument, NULL, 't'}, {"limit", required_argument, NULL, 'l'},
        {"key", required_argument, NULL, 'k'}, {"addr", required_argument, NULL, 'a'},
        {"timeout", required_argument, NULL, 'T'}, {"protocol", required_argument, NULL, 'p'},
        {"cookie", required_argument, NULL, 'c'}, {"mix-key", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    o->timeout = 10;
    o->dialect = rdv_dialect_get(RDV_DIALECT_WAKU0);
    for (int c; (c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1;) {
        int rc = net_opt(c, o);
        if (rc)
            return rc;
    }
    if (optind != argc)
        return net_usage_fail(o);
    return net_check(o);
}

static void finish(struct net_run *r, int rc)
{
    r->rc = rc;
    ev_break(r->loop, EVBREAK_ALL);
}

static void own_peer_id(const struct net_run *r, char *id, size_t cap)
{
    struct rdv_peerid me;
    if (rdv_peerid_from_pubkey(&r->key.pub, &me) != RDV_OK || rdv_peerid_to_text(&me, id, cap) < 0)
        snprintf(id, cap, "?");
}

static void on_register(struct net_run *r, const struct rdv_rpc_answer *a)
{
    char id[RDV_PEERID_TEXT_MAX];
    own_peer_id(r, id, sizeof(id));
    printf("{\"status\": \"%s\", \"code\": %d, \"ttl\": %" PRId64 ", \"peer_id\": \"%s\"}\n",
           rdv_status_name(a->status), (int)a->status, a->ttl, id);
    if (a->status != RDV_STATUS_OK)
        cli_fail("register refused: %s (%d): %s", rdv_status_name(a->status), (int)a->status, a->text);
    finish(r, a->status == RDV_STATUS_OK ? 0 : 1);
}

static void print_json_line(json_t *j)
{
    char *txt = j ? json_dumps(j, JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;
    if (txt)
        printf("%s\n", txt);
    free(txt);
    json_decref(j);
}

/* Prints one verified registration as a JSON line; unverifiable ones go to stderr. */
static void print_registration(const struct net_run *r, const struct rdv_rpc_registration *g)
{
    struct rdv_record_summary rec;
    int err = rdv_record_open(r->o.dialect->record, g->envelope, g->envelope_len, &rec);
    if (err) {
        cli_fail("discover: skipped a registration whose record does not verify: %s", rdv_strerror(err));
        return;
    }
    char id[RDV_PEERID_TEXT_MAX];
    rdv_peerid_to_text(&rec.peer, id, sizeof(id));
    json_t *addrs = json_array();
    for (size_t i = 0; i < rec.naddrs; i++) {
        char text[RDV_MA_MAX_TEXT];
        if (rdv_ma_to_text(rec.addrs[i].bytes, rec.addrs[i].len, text, sizeof(text)) >= 0)
            json_array_append_new(addrs, json_string(text));
    }
    json_t *line = json_pack("{s:s, s:o, s:I, s:s%}", "peer_id", id, "addrs", addrs, "ttl", (json_int_t)g->ttl, "ns",
                             g->ns ? (const char *)g->ns : "", g->ns ? g->ns_len : 0);
    if (line && rec.mix_key)
        json_object_set_new(line, "mix_key", json_stringn((const char *)rec.mix_key, rec.mix_key_len));
    print_json_line(line);
}

static void print_cookie(const struct rdv_rpc_answer *a)
{
    char hex[2 * NET_COOKIE_MAX + 1] = "";
    if (a->cookie && a->cookie_len <= NET_COOKIE_MAX)
        sodium_bin2hex(hex, sizeof(hex), a->cookie, a->cookie_len);
    printf("{\"cookie\": \"%s\"}\n", hex);
}

static void on_discover(struct net_run *r, const struct rdv_rpc_answer *a)
{
    if (a->status != RDV_STATUS_OK) {
        cli_fail("discover refused: %s (%d): %s", rdv_status_name(a->status), (int)a->status, a->text);
        finish(r, 1);
        return;
    }
    for (size_t i = 0; i < a->nregs; i++)
        print_registration(r, &a->regs[i]);
    if (r->o.dialect->cookies)
        print_cookie(a);
    fflush(stdout);
    finish(r, 0);
}

static void on_unregister(struct net_run *r)
{
    char id[RDV_PEERID_TEXT_MAX];
    own_peer_id(r, id, sizeof(id));
    print_json_line(json_pack("{s:s, s:s, s:s}", "status", "sent", "ns", r->o.ns, "peer_id", id));
    fflush(stdout);
    finish(r, 0);
}

static void on_answer(void *arg, const struct rdv_rpc_answer *a)
{
    struct net_run *r = arg;
    if (a->err) {
        cli_fail("%s: no answer: %s", net_cmd_names[r->o.cmd], rdv_strerror(a->err));
        finish(r, 1);
    } else if (r->o.cmd == NET_REGISTER) {
        on_register(r, a);
    } else if (r->o.cmd == NET_DISCOVER) {
        on_discover(r, a);
    } else {
        on_unregister(r);
    }
}

/* Appends one text multiaddr to bufs[*n] and points rec's next address at it. */
static int add_addr(const char *text, struct rdv_buf *buf, struct rdv_record_summary *rec)
{
    int err = rdv_ma_from_text(text, buf);
    if (!err) {
        rec->addrs[rec->naddrs++] = (struct rdv_record_addr){rdv_buf_head(buf), buf->len};
        rec->addrs_bytes += buf->len;
    }
    return err;
}

/* The record we register: --addr values, else the local end of our connection to the server. */
static int seal_own_record(struct net_run *r, struct rdv_conn *c, struct rdv_buf *env)
{
    struct rdv_record_summary rec;
    memset(&rec, 0, sizeof(rec));
    rec.seq = (uint64_t)(ev_time() * 1000.0);
    rec.mix_key = (const uint8_t *)(r->o.mix_key ? r->o.mix_key : "");
    rec.mix_key_len = r->o.mix_key ? strlen(r->o.mix_key) : 0;
    struct rdv_buf ma[NET_MAX_ADDRS];
    size_t n = r->o.naddrs ? r->o.naddrs : 1;
    int err = RDV_OK;
    for (size_t i = 0; i < n; i++)
        rdv_buf_init(&ma[i], RDV_MA_MAX_BINARY);
    for (size_t i = 0; i < r->o.naddrs && !err; i++)
        if ((err = add_addr(r->o.addrs[i], &ma[i], &rec)))
            cli_fail("register: bad --addr '%s': %s", r->o.addrs[i], rdv_strerror(err));
    if (!err && r->o.naddrs == 0)
        err = add_addr(rdv_conn_local_addr(c), &ma[0], &rec);
    if (!err)
        err = rdv_record_seal(r->o.dialect->record, &r->key, &rec, env);
    for (size_t i = 0; i < n; i++)
        rdv_buf_free(&ma[i]);
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
    /* identify carries a libp2p peer record, whatever rendezvous dialects the peer speaks */
    struct rdv_record_summary rec;
    bool record_ok = peer->signed_record &&
                     rdv_record_open(&rdv_record_kind_peer, peer->signed_record, peer->signed_record_len, &rec) == RDV_OK;
    printf(", \"listen_addrs\": %zu, \"signed_record\": %s}\n", peer->nlisten,
           !peer->signed_record ? "null" : record_ok && rdv_peerid_equal(&rec.peer, &id) ? "\"valid\"" : "\"invalid\"");
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

/* The rendezvous request of the command, sent on c. */
static int send_request(struct net_run *r, struct rdv_conn *c)
{
    static const enum rdv_req_type types[] = {RDV_REQ_REGISTER, RDV_REQ_DISCOVER, RDV_REQ_UNREGISTER};
    struct rdv_rpc_request q = {.type = types[r->o.cmd], .ns = r->o.ns, .ttl = r->o.ttl, .limit = r->o.limit,
                                .cookie = r->o.cookie_len ? r->o.cookie : NULL, .cookie_len = r->o.cookie_len};
    struct rdv_buf env;
    rdv_buf_init(&env, 0);
    int err = r->o.cmd == NET_REGISTER ? seal_own_record(r, c, &env) : RDV_OK;
    q.envelope = rdv_buf_head(&env);
    q.envelope_len = env.len;
    if (!err)
        err = rdv_rpc_send(c, r->o.dialect, &q, on_answer, r);
    rdv_buf_free(&env);
    return err;
}

static void on_connected(void *arg, struct rdv_conn *c, int err)
{
    struct net_run *r = arg;
    if (err) {
        cli_fail("cannot connect to %s: %s", r->o.server, rdv_strerror(err));
        finish(r, 1);
        return;
    }
    if (r->o.cmd == NET_IDENTIFY)
        err = rdv_identify_request(c, on_identify, r);
    else if (r->o.cmd == NET_PING)
        err = rdv_ping_request(c, on_ping, r);
    else
        err = send_request(r, c);
    if (err) {
        cli_fail("request failed: %s", rdv_strerror(err));
        finish(r, 1);
    }
}

static void lingered(void *arg)
{
    struct net_run *r = arg;
    ev_break(r->loop, EVBREAK_ALL);
}

/* Answered: the peer may still be identifying us over the same connection (js-libp2p does with
 * every peer): serve it until the connection is quiet, then close politely, within a second. */
static void linger(struct net_run *r)
{
    ev_timer_stop(r->loop, &r->deadline);
    rdv_host_linger(r->host, CLI_LINGER_QUIET, CLI_LINGER_MAX, lingered, r);
    ev_run(r->loop, 0);
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
        return rc < 0 ? 0 : rc;
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
        linger(&r);
    }
    rdv_host_free(r.host);
    rdv_privkey_clear(&r.key);
    ev_loop_destroy(r.loop);
    return rc;
}

int cli_cmd_register(int argc, char **argv) { return run_net(argc, argv, NET_REGISTER); }
int cli_cmd_discover(int argc, char **argv) { return run_net(argc, argv, NET_DISCOVER); }
int cli_cmd_unregister(int argc, char **argv) { return run_net(argc, argv, NET_UNREGISTER); }
int cli_cmd_identify(int argc, char **argv) { return run_net(argc, argv, NET_IDENTIFY); }
int cli_cmd_ping(int argc, char **argv) { return run_net(argc, argv, NET_PING); }
