/* peer.c: a small peer that finds the other members of a topic through rendezvous points, the
 * way a pubsub router (gossipsub) uses rendezvous for peer discovery: advertise ourselves under
 * the topic's namespace, look for peers under it every few seconds, and keep a set of known
 * peers: "found" when one appears, "lost" when its record is gone. A real router would dial the
 * found peers and graft them into its mesh; this one prints them.
 *
 * Uses only the installed library:
 *   cc -o peer peer.c $(pkg-config --cflags --libs rendezvous)
 *   ./peer --server /ip4/127.0.0.1/tcp/4040/p2p/12D3KooW... --topic my-topic --listen /ip4/192.0.2.7/tcp/60000
 *
 * Output, one line per event:
 *   self <our peer id>
 *   advertised <point> ttl=<granted seconds>   (or: advertise-failed <point> <why>)
 *   found <peer id> <multiaddr>...
 *   lost <peer id>
 * It runs until SIGINT or SIGTERM, then stops advertising, frees everything and prints "bye". */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <ev.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rendezvous/client.h>

#define MAX_KNOWN 256

struct router {
    struct rendezvous_client *client;
    struct rendezvous_advert *advert;
    struct rendezvous_find *query; /* the find in flight, if any */
    const char *topic;
    char *known[MAX_KNOWN];        /* peer ids we have announced */
    size_t nknown;
    ev_timer tick;
};

static void on_advert(void *arg, const struct rendezvous_advert_event *ev)
{
    (void)arg;
    if (ev->err == 0)
        printf("advertised %s ttl=%lld\n", ev->point, (long long)ev->ttl);
    else
        printf("advertise-failed %s %s\n", ev->point, rendezvous_strerror(ev->err));
    fflush(stdout);
}

static bool in_answer(const char *id, const struct rendezvous_peer *peers, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(peers[i].peer_id, id) == 0)
            return true;
    return false;
}

static bool known(const struct router *r, const char *id)
{
    for (size_t i = 0; i < r->nknown; i++)
        if (strcmp(r->known[i], id) == 0)
            return true;
    return false;
}

/* A find's answer: the peers currently registered under the topic, verified. */
static void on_peers(void *arg, int err, const struct rendezvous_peer *peers, size_t n)
{
    struct router *r = arg;
    r->query = NULL;
    if (err) {
        fprintf(stderr, "peer: find: %s\n", rendezvous_strerror(err));
        return; /* keep what we know: the points may be back next time */
    }
    for (size_t i = 0; i < r->nknown;) {
        if (in_answer(r->known[i], peers, n)) {
            i++;
            continue;
        }
        printf("lost %s\n", r->known[i]);
        free(r->known[i]);
        r->known[i] = r->known[--r->nknown];
    }
    for (size_t i = 0; i < n && r->nknown < MAX_KNOWN; i++) {
        char *dup;
        if (known(r, peers[i].peer_id) || !(dup = strdup(peers[i].peer_id)))
            continue;
        r->known[r->nknown++] = dup;
        printf("found %s", peers[i].peer_id);
        for (size_t j = 0; j < peers[i].naddrs; j++)
            printf(" %s", peers[i].addrs[j]);
        printf("\n");
    }
    fflush(stdout);
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct router *r = w->data;
    if (r->query)
        return; /* the last one has not answered yet */
    int err = rendezvous_find_peers(r->client, r->topic, 0, on_peers, r, &r->query);
    if (err)
        fprintf(stderr, "peer: find: %s\n", rendezvous_strerror(err));
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static int usage(void)
{
    fprintf(stderr, "usage: peer --server MULTIADDR/p2p/ID [--server ...] --topic NS --listen MULTIADDR [--listen ...]\n"
                    "            [--interval SECONDS] [--ttl SECONDS] [--key FILE]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *points[RENDEZVOUS_MAX_POINTS], *addrs[RENDEZVOUS_MAX_ADDRS];
    struct rendezvous_config cfg;
    rendezvous_config_init(&cfg);
    cfg.points = points;
    cfg.addrs = addrs;
    struct router r = {.topic = NULL};
    double interval = 2;
    long ttl = 0;
    static const struct option opts[] = {{"server", required_argument, NULL, 's'}, {"topic", required_argument, NULL, 't'},
                                         {"listen", required_argument, NULL, 'l'}, {"interval", required_argument, NULL, 'i'},
                                         {"ttl", required_argument, NULL, 'T'}, {"key", required_argument, NULL, 'k'},
                                         {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        if (c == 's' && cfg.npoints < RENDEZVOUS_MAX_POINTS)
            points[cfg.npoints++] = optarg;
        else if (c == 'l' && cfg.naddrs < RENDEZVOUS_MAX_ADDRS)
            addrs[cfg.naddrs++] = optarg;
        else if (c == 't')
            r.topic = optarg;
        else if (c == 'i')
            interval = atof(optarg);
        else if (c == 'T')
            ttl = atol(optarg);
        else if (c == 'k')
            cfg.key_file = optarg;
        else
            return usage();
    }
    if (!r.topic || cfg.npoints == 0 || interval <= 0 || ttl < 0 || optind != argc)
        return usage();
    cfg.log_file = stderr;
    cfg.log_level = 1; /* warnings */

    struct ev_loop *loop = EV_DEFAULT;
    int err = rendezvous_client_new(loop, &cfg, &r.client);
    if (!err)
        err = rendezvous_advertise(r.client, r.topic, ttl, on_advert, &r, &r.advert);
    if (err) {
        fprintf(stderr, "peer: %s\n", rendezvous_strerror(err));
        rendezvous_client_free(r.client);
        return 1;
    }
    char id[128];
    rendezvous_client_peer_id(r.client, id, sizeof(id));
    printf("self %s\n", id);
    fflush(stdout);

    ev_timer_init(&r.tick, on_tick, 0, interval);
    r.tick.data = &r;
    ev_timer_start(loop, &r.tick);
    ev_signal sigint, sigterm;
    ev_signal_init(&sigint, on_signal, SIGINT);
    ev_signal_init(&sigterm, on_signal, SIGTERM);
    ev_signal_start(loop, &sigint);
    ev_signal_start(loop, &sigterm);
    ev_run(loop, 0);

    ev_timer_stop(loop, &r.tick);
    ev_signal_stop(loop, &sigint);
    ev_signal_stop(loop, &sigterm);
    rendezvous_advert_stop(r.advert);
    rendezvous_client_free(r.client); /* also cancels r.query */
    for (size_t i = 0; i < r.nknown; i++)
        free(r.known[i]);
    printf("bye\n");
    return 0;
}
