/* cli_client.c: rendezvous-cli's library commands, built on librendezvous's public API
 * (include/rendezvous/client.h, blocking.h) exactly as an application would use it:
 *
 *   advertise --server MA/p2p/ID [--server ...] --ns NS [--ttl S] [--key FILE] [--addr MA]...
 *             [--protocol ID] [--mix-key TEXT]
 *       registers at every point and keeps the registration alive until SIGINT/SIGTERM; prints one
 *       JSON line per registration attempt ({"event": "registered"|"refused"|"unreachable", ...}).
 *       On the signal, std and waku1 unregister before exiting.
 *   find --server MA/p2p/ID [--server ...] --ns NS [--limit N] [--timeout S] [--protocol ID]
 *       one JSON line per verified peer: {"peer_id": ..., "addrs": [...], "ttl": S}; exit 0 if
 *       at least one point answered (even with no peers), 1 if none did.
 * --protocol (-p) is rendezvous_config.protocol: waku0 (the default), std, waku1 or a protocol id. */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "rendezvous/blocking.h"
#include "rendezvous/client.h"

#define CLI_MAX_ADDRS 16

struct lib_opts {
    const char *points[RENDEZVOUS_MAX_POINTS];
    size_t npoints;
    const char *addrs[CLI_MAX_ADDRS];
    size_t naddrs;
    const char *ns, *keyfile, *protocol, *mix_key;
    int64_t ttl, limit;
    double timeout;
};

static const char *const advertise_usage =
    "[--ttl S] [--key FILE] [--addr MULTIADDR]... [-p|--protocol ID] [--mix-key TEXT] [--timeout S]\n"
    "  Registers at every point and stays registered until SIGINT/SIGTERM; one JSON event per attempt.\n"
    "  std and waku1 send UNREGISTER on the way out. --mix-key: our WakuPeerRecord's mixKey (waku1).\n";
static const char *const find_usage =
    "[--limit N] [-p|--protocol ID] [--timeout S]\n"
    "  One JSON line per verified peer: {\"peer_id\", \"addrs\", \"ttl\"}.\n";
#define LIB_PROTOCOL_HELP                                                                                              \
    "  --protocol ID, -p ID   the dialect: waku0 (/vac/waku/rendezvous/0.0.1, the default), std\n"                      \
    "                         (/rendezvous/1.0.0) or waku1 (/vac/waku/rendezvous/1.0.0), by name or protocol id\n"

static int lib_usage(const char *cmd, FILE *out)
{
    fprintf(out, "usage: rendezvous-cli %s --server MULTIADDR/p2p/ID [--server ...] --ns NS %s%s", cmd,
            strcmp(cmd, "find") == 0 ? find_usage : advertise_usage, LIB_PROTOCOL_HELP);
    return out == stdout ? -1 : 1;
}

static int parse_whole(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < 0)
        return -1;
    *out = v;
    return 0;
}

/* One option; 0 to go on, else the exit status (-1: exit 0, after --help). */
static int lib_opt(const char *cmd, int c, struct lib_opts *o)
{
    if (c == 's' && o->npoints < RENDEZVOUS_MAX_POINTS)
        o->points[o->npoints++] = optarg;
    else if (c == 's')
        return cli_fail("%s: at most %d --server", cmd, RENDEZVOUS_MAX_POINTS);
    else if (c == 'a' && o->naddrs < CLI_MAX_ADDRS)
        o->addrs[o->naddrs++] = optarg;
    else if (c == 'a')
        return cli_fail("%s: at most %d --addr", cmd, CLI_MAX_ADDRS);
    else if (c == 'n')
        o->ns = optarg;
    else if (c == 'k')
        o->keyfile = optarg;
    else if (c == 'p')
        o->protocol = optarg;
    else if (c == 'm')
        o->mix_key = optarg;
    else if (c == 'h')
        return lib_usage(cmd, stdout);
    else if (c == 't' && parse_whole(optarg, &o->ttl))
        return cli_fail("%s: --ttl needs a whole number of seconds, not '%s'", cmd, optarg);
    else if (c == 'l' && parse_whole(optarg, &o->limit))
        return cli_fail("%s: --limit needs a whole number, not '%s'", cmd, optarg);
    else if (c == 'T' && !((o->timeout = atof(optarg)) > 0))
        return cli_fail("%s: --timeout needs a positive number of seconds", cmd);
    else if (c == '?')
        return 2;
    return 0;
}

static int parse_lib_opts(const char *cmd, int argc, char **argv, struct lib_opts *o)
{
    static const struct option opts[] = {
        {"server", required_argument, NULL, 's'}, {"ns", required_argument, NULL, 'n'},
        {"ttl", required_argument, NULL, 't'}, {"limit", required_argument, NULL, 'l'},
        {"key", required_argument, NULL, 'k'}, {"addr", required_argument, NULL, 'a'},
        {"timeout", required_argument, NULL, 'T'}, {"protocol", required_argument, NULL, 'p'},
        {"mix-key", required_argument, NULL, 'm'}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1;) {
        int rc = lib_opt(cmd, c, o);
        if (rc)
            return rc;
    }
    if (o->npoints == 0 || !o->ns || optind != argc)
        return lib_usage(cmd, stderr);
    return 0;
}

static int new_client(struct ev_loop *loop, const struct lib_opts *o, struct rendezvous_client **out)
{
    struct rendezvous_config cfg;
    rendezvous_config_init(&cfg);
    cfg.points = o->points;
    cfg.npoints = o->npoints;
    cfg.addrs = o->addrs;
    cfg.naddrs = o->naddrs;
    cfg.key_file = o->keyfile;
    cfg.request_timeout = o->timeout;
    cfg.log_file = stderr;
    cfg.log_level = getenv("RDV_CLI_DEBUG") ? 3 : 1;
    cfg.protocol = o->protocol;
    cfg.mix_key = (const uint8_t *)o->mix_key;
    cfg.mix_key_len = o->mix_key ? strlen(o->mix_key) : 0;
    int err = rendezvous_client_new(loop, &cfg, out);
    if (err)
        return cli_fail("cannot start the client: %s", rendezvous_strerror(err));
    return 0;
}

static void print_json(json_t *j)
{
    char *txt = j ? json_dumps(j, JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;
    if (txt)
        printf("%s\n", txt);
    fflush(stdout);
    free(txt);
    json_decref(j);
}

/* ---- advertise ------------------------------------------------------------------------------------ */

static void on_advert(void *arg, const struct rendezvous_advert_event *ev)
{
    (void)arg;
    const char *what = ev->err == 0 ? "registered" : ev->err == RENDEZVOUS_ERR_REFUSED ? "refused" : "unreachable";
    json_t *j = json_pack("{s:s, s:s, s:s}", "event", what, "ns", ev->ns, "point", ev->point);
    if (j && ev->err == 0)
        json_object_set_new(j, "ttl", json_integer(ev->ttl));
    if (j && ev->err == RENDEZVOUS_ERR_REFUSED) {
        json_object_set_new(j, "status", json_integer(ev->status));
        json_object_set_new(j, "status_text", json_string(ev->status_text));
    } else if (j && ev->err) {
        json_object_set_new(j, "error", json_string(rendezvous_strerror(ev->err)));
    }
    if (j)
        json_object_set_new(j, "next_in", json_real(ev->next_in));
    print_json(j);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    (void)w;
    ev_break(loop, EVBREAK_ALL);
}

int cli_cmd_advertise(int argc, char **argv)
{
    struct lib_opts o;
    memset(&o, 0, sizeof(o));
    int rc = parse_lib_opts("advertise", argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    if (!loop)
        return cli_fail("advertise: no event loop");
    struct rendezvous_client *c = NULL;
    struct rendezvous_advert *ad = NULL;
    if ((rc = new_client(loop, &o, &c)) == 0) {
        char id[128];
        rendezvous_client_peer_id(c, id, sizeof(id));
        print_json(json_pack("{s:s, s:s}", "event", "started", "peer_id", id));
        int err = rendezvous_advertise(c, o.ns, o.ttl, on_advert, NULL, &ad);
        if (err)
            rc = cli_fail("advertise: %s", rendezvous_strerror(err));
    }
    if (rc == 0) {
        ev_signal sigint, sigterm;
        ev_signal_init(&sigint, on_signal, SIGINT);
        ev_signal_init(&sigterm, on_signal, SIGTERM);
        ev_signal_start(loop, &sigint);
        ev_signal_start(loop, &sigterm);
        ev_run(loop, 0);
        ev_signal_stop(loop, &sigint);
        ev_signal_stop(loop, &sigterm);
        rendezvous_advert_stop(ad);
        /* std, waku1: the UNREGISTERs the stop sent go out before the connections close */
        rendezvous_client_flush(c, 2.0);
        print_json(json_pack("{s:s}", "event", "stopped"));
    }
    rendezvous_client_free(c);
    ev_loop_destroy(loop);
    return rc;
}

/* ---- find ----------------------------------------------------------------------------------------- */

static void print_peer(const struct rendezvous_peer *p)
{
    json_t *addrs = json_array();
    for (size_t i = 0; i < p->naddrs; i++)
        json_array_append_new(addrs, json_string(p->addrs[i]));
    print_json(json_pack("{s:s, s:o, s:I}", "peer_id", p->peer_id, "addrs", addrs, "ttl", (json_int_t)(p->ttl + 0.5)));
}

int cli_cmd_find(int argc, char **argv)
{
    struct lib_opts o;
    memset(&o, 0, sizeof(o));
    int rc = parse_lib_opts("find", argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    struct rendezvous_client *c = NULL;
    if ((rc = new_client(NULL, &o, &c)) != 0)
        return rc;
    struct rendezvous_peer_list *peers = NULL;
    int err = rendezvous_find_peers_wait(c, o.ns, o.limit, &peers);
    if (err) {
        rc = cli_fail("find: %s", rendezvous_strerror(err));
    } else {
        for (size_t i = 0; i < peers->n; i++)
            print_peer(&peers->peers[i]);
    }
    rendezvous_peer_list_free(peers);
    rendezvous_client_free(c);
    return rc;
}
