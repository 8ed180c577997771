/* test_host_accept: the accept path of src/p2p/host.c when the process is out of descriptors.
 * The pending connection must be accepted and closed through the spare descriptor (the peer sees
 * a close, the listener stops being readable), counted, and the next connection served once
 * descriptors are free again. No timing: the loop is turned until the counters move. */
#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "p2p/host_internal.h"
#include "p2p/multiaddr.h"
#include "util/err.h"
#include "tap.h"

static int connect_to(int fd, unsigned port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return connect(fd, (struct sockaddr *)&sa, sizeof(sa));
}

static void turn(struct ev_loop *loop, const uint64_t *counter, uint64_t want)
{
    for (int i = 0; i < 1000 && *counter < want; i++)
        ev_run(loop, EVRUN_ONCE);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct rdv_privkey key;
    struct rdv_host *h = NULL;
    struct rdv_buf ma;
    rdv_buf_init(&ma, RDV_MA_MAX_BINARY);
    ok(rdv_privkey_generate(RDV_KEY_ED25519, &key) == RDV_OK && rdv_host_new(loop, &key, NULL, NULL, &h) == RDV_OK,
       "host");
    ok(rdv_ma_from_text("/ip4/127.0.0.1/tcp/0", &ma) == RDV_OK && rdv_host_listen(h, rdv_buf_head(&ma), ma.len) == RDV_OK,
       "listening");
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    getsockname(h->listeners[0].fd, (struct sockaddr *)&sa, &sl);
    unsigned port = ntohs(sa.sin_port);

    int c1 = socket(AF_INET, SOCK_STREAM, 0), c2 = socket(AF_INET, SOCK_STREAM, 0);
    struct rlimit old, low;
    getrlimit(RLIMIT_NOFILE, &old);
    low = old;
    low.rlim_cur = (rlim_t)c2 + 32;
    setrlimit(RLIMIT_NOFILE, &low);
    int fill[64], nfill = 0;
    while (nfill < 64 && (fill[nfill] = open("/dev/null", O_RDONLY)) >= 0)
        nfill++;
    ok(nfill < 64 && errno == EMFILE, "out of descriptors (%d opened)", nfill);

    ok(connect_to(c1, port) == 0, "a peer connects while the server has no descriptor");
    turn(loop, &rdv_host_stats(h)->rejected_no_fds, 1);
    ok(rdv_host_stats(h)->rejected_no_fds == 1, "counted as rejected for lack of descriptors");
    ok(rdv_host_stats(h)->accept_errors >= 1, "and as an accept error");
    char b;
    ssize_t n = read(c1, &b, 1);
    ok(n == 0 || (n < 0 && errno == ECONNRESET), "the peer sees its connection closed, not left in the backlog");
    ok(h->spare_fd >= 0, "the spare descriptor is taken again");

    for (int i = 0; i < nfill; i++)
        close(fill[i]);
    setrlimit(RLIMIT_NOFILE, &old);
    ok(connect_to(c2, port) == 0, "descriptors free again: the next peer connects");
    turn(loop, &rdv_host_stats(h)->connections, 1);
    ok(rdv_host_stats(h)->connections == 1, "and is served (accepted as a connection)");

    close(c1);
    close(c2);
    rdv_host_free(h);
    rdv_buf_free(&ma);
    rdv_privkey_clear(&key);
    ev_loop_destroy(loop);
    return tap_done();
}
