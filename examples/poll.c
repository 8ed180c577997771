/* poll.c: librendezvous driven from a plain poll(2) loop instead of libev, as a program with an
 * event loop of its own (glib, a game loop, a router's select) would: the client owns its libev
 * loop, and each turn of our loop asks it which descriptors to watch and for how long
 * (rendezvous_client_pollfds), polls them together with our own (here stdin), then lets it work
 * (rendezvous_client_process). No libev call appears in this file.
 *
 *   cc -o poll poll.c $(pkg-config --cflags --libs rendezvous)
 *   ./poll --server /ip4/127.0.0.1/tcp/4040/p2p/12D3KooW... --ns chat [--protocol std] [--tries 10]
 *
 * It finds peers under ns until one answers with at least one peer, or --tries finds came back
 * empty; a line on stdin makes it look again at once. Output:
 *   found <peer id> <multiaddr>
 *   answer err=0 peers=N after=0.012s
 * Exit 0 when a peer was found, 1 otherwise. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rendezvous/client.h>

struct state {
    struct rendezvous_client *client;
    const char *ns;
    bool asking, found;
    bool stdin_open;   /* until EOF: then it is no longer polled */
    int answers;
    double asked_at;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_peers(void *arg, int err, const struct rendezvous_peer *peers, size_t n)
{
    struct state *st = arg;
    for (size_t i = 0; i < n; i++)
        printf("found %s %s\n", peers[i].peer_id, peers[i].naddrs ? peers[i].addrs[0] : "");
    printf("answer err=%d peers=%zu after=%.3fs\n", err, n, now_s() - st->asked_at);
    fflush(stdout);
    st->asking = false;
    st->found = st->found || n > 0;
    st->answers++;
}

static int ask(struct state *st)
{
    st->asking = true;
    st->asked_at = now_s();
    return rendezvous_find_peers(st->client, st->ns, 20, on_peers, st, NULL);
}

/* One turn: poll the client's descriptors and stdin, then let the client work. */
static int turn(struct state *st, bool *stdin_line)
{
    struct pollfd fds[RENDEZVOUS_MAX_POLLFDS + 1];
    int timeout, n = rendezvous_client_pollfds(st->client, fds, RENDEZVOUS_MAX_POLLFDS, &timeout);
    if (n < 0)
        return n;
    fds[n] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
    if (poll(fds, (nfds_t)n + st->stdin_open, timeout) < 0)
        return RENDEZVOUS_ERR_IO;
    if (st->stdin_open && (fds[n].revents & (POLLIN | POLLHUP))) {
        char line[256];
        *stdin_line = read(STDIN_FILENO, line, sizeof(line)) > 0;
        st->stdin_open = *stdin_line;
    }
    return rendezvous_client_process(st->client);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"server", required_argument, NULL, 's'}, {"ns", required_argument, NULL, 'n'},
                                         {"protocol", required_argument, NULL, 'p'},
                                         {"tries", required_argument, NULL, 't'}, {NULL, 0, NULL, 0}};
    const char *points[RENDEZVOUS_MAX_POINTS];
    struct rendezvous_config cfg;
    rendezvous_config_init(&cfg);
    cfg.points = points;
    struct state st = {.ns = "chat", .stdin_open = true};
    int tries = 10, c;
    while ((c = getopt_long(argc, argv, "s:n:p:t:", opts, NULL)) != -1) {
        if (c == 's' && cfg.npoints < RENDEZVOUS_MAX_POINTS)
            points[cfg.npoints++] = optarg;
        else if (c == 'n')
            st.ns = optarg;
        else if (c == 'p')
            cfg.protocol = optarg;
        else if (c == 't')
            tries = atoi(optarg);
        else
            return 2;
    }
    int err = rendezvous_client_new(NULL, &cfg, &st.client); /* NULL: the client owns its loop */
    if (!err)
        err = ask(&st);
    while (!err && !st.found && st.answers < tries) {
        bool line = false;
        err = turn(&st, &line);
        if (!err && !st.asking && !st.found && (line || st.answers < tries))
            err = ask(&st);
    }
    if (err)
        fprintf(stderr, "poll: %s\n", rendezvous_strerror(err));
    rendezvous_client_free(st.client);
    return st.found ? 0 : 1;
}
