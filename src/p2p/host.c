/* host.c: see host.h. The host: our identity, the protocol table, listeners, dialing, our
 * signed peer record, graceful shutdown, and the reaper that frees closed connections and
 * streams outside any callback. One connection is conn.c; streams are stream.c. */
#include "p2p/host_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "p2p/peer_record.h"
#include "util/err.h"

/* ---- host ------------------------------------------------------------------------------------ */

void rdv_host_limits_defaults(struct rdv_host_limits *l)
{
    l->max_connections = 4096;
    l->max_streams = 64;
    l->max_stream_input = 65536 + 16;
    l->max_conn_output = 8u << 20;
    l->handshake_timeout = 10;
    l->idle_timeout = 120;
    l->max_handshakes = 512;
    l->stream_negotiate_timeout = 10;
    l->stream_idle_timeout = 60;
    rdv_addr_limits_defaults(&l->per_address);
    l->max_output = 512u << 20;
    l->output_stall_timeout = 30;
}

static void reap_dead(struct ev_loop *loop, ev_prepare *w, int revents);

int rdv_host_new(struct ev_loop *loop, const struct rdv_privkey *key, const struct rdv_host_limits *limits,
                 const struct rdv_log *log, struct rdv_host **out)
{
    struct rdv_host *h = calloc(1, sizeof(*h));
    if (!h)
        return RDV_ERR_NOMEM;
    h->loop = loop;
    h->key = *key;
    h->log = log;
    if (limits)
        h->limits = *limits;
    else
        rdv_host_limits_defaults(&h->limits);
    rdv_buf_init(&h->record, 0);
    int err = rdv_peerid_from_pubkey(&key->pub, &h->self);
    if (!err) /* one static Noise key and signed payload for every connection (noise.h) */
        err = rdv_noise_identity_init(&h->noise_id, key);
    if (err) {
        rdv_privkey_clear(&h->key);
        free(h);
        return err;
    }
    rdv_list_init(&h->conns);
    rdv_list_init(&h->dead);
    rdv_lifetime_host_init(h);
    rdv_output_host_init(h);
    h->spare_fd = -1;
    rdv_ratelog_init(&h->refused_log, RDV_HOST_LOG_EVERY);
    rdv_ratelog_init(&h->evicted_log, RDV_HOST_LOG_EVERY);
    rdv_ratelog_init(&h->stalled_log, RDV_HOST_LOG_EVERY);
    ev_prepare_init(&h->reaper, reap_dead);
    h->reaper.data = h;
    ev_prepare_start(loop, &h->reaper);
    ev_unref(loop); /* the reaper alone must not keep the loop alive */
    *out = h;
    return RDV_OK;
}

const struct rdv_peerid *rdv_host_peer_id(const struct rdv_host *h) { return &h->self; }
const struct rdv_privkey *rdv_host_key(const struct rdv_host *h) { return &h->key; }
const struct rdv_log *rdv_host_log(const struct rdv_host *h) { return h->log; }
struct ev_loop *rdv_host_loop(const struct rdv_host *h) { return h->loop; }
const struct rdv_host_stats *rdv_host_stats(const struct rdv_host *h) { return &h->stats; }
const struct rdv_host_limits *rdv_host_limits(const struct rdv_host *h) { return &h->limits; }

void rdv_host_reload_limits(struct rdv_host *h, const struct rdv_host_limits *n)
{
    struct rdv_host_limits *l = &h->limits;
    l->handshake_timeout = n->handshake_timeout;
    l->idle_timeout = n->idle_timeout;
    l->max_handshakes = n->max_handshakes;
    l->stream_negotiate_timeout = n->stream_negotiate_timeout;
    l->stream_idle_timeout = n->stream_idle_timeout;
    l->per_address.max_connections = n->per_address.max_connections;
    l->per_address.handshake_rate = n->per_address.handshake_rate;
    l->per_address.request_rate = n->per_address.request_rate;
    rdv_addr_table_set_limits(&h->sources, &l->per_address); /* buckets over the new burst are cut to it */
    l->max_conn_output = n->max_conn_output;
    l->max_output = n->max_output;
    l->output_stall_timeout = n->output_stall_timeout;
    rdv_output_limits_changed(h);
}

int rdv_host_handle(struct rdv_host *h, const char *protocol, const struct rdv_stream_handler *handler, void *ctx)
{
    if (h->nprotos >= RDV_HOST_MAX_PROTOCOLS)
        return RDV_ERR_LIMIT;
    char *id = strdup(protocol);
    if (!id)
        return RDV_ERR_NOMEM;
    h->protos[h->nprotos] = (struct proto_entry){id, handler, ctx};
    h->proto_ids[h->nprotos] = id;
    h->nprotos++;
    return RDV_OK;
}

size_t rdv_host_protocols(const struct rdv_host *h, const char *const **out)
{
    *out = h->proto_ids;
    return h->nprotos;
}

const struct proto_entry *rdv_host_find_proto(const struct rdv_host *h, const char *id)
{
    for (size_t i = 0; i < h->nprotos; i++)
        if (strcmp(h->protos[i].id, id) == 0)
            return &h->protos[i];
    return NULL;
}

static struct rdv_conn *first_conn(const rdv_list *l)
{
    struct rdv_list_node *n = rdv_list_first(l);
    return n ? rdv_list_entry(n, struct rdv_conn, link) : NULL;
}

static void free_dead_conns(struct rdv_host *h)
{
    struct rdv_conn *c;
    while ((c = first_conn(&h->dead))) {
        rdv_list_remove(&c->link);
        rdv_conn_free(c);
    }
}

static void fail_all(struct rdv_host *h)
{
    struct rdv_conn *c;
    while ((c = first_conn(&h->conns)))
        rdv_conn_fail(c, RDV_ERR_CLOSED, NULL);
}

static void reap_dead(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop;
    (void)revents;
    struct rdv_host *h = w->data;
    while (h->dead_streams) {
        struct rdv_stream *st = h->dead_streams;
        h->dead_streams = st->next_dead;
        free(st);
    }
    free_dead_conns(h);
    if (h->shutting_down && rdv_list_empty(&h->conns) && h->shutdown_done) {
        void (*done)(void *) = h->shutdown_done;
        h->shutdown_done = NULL;
        ev_timer_stop(h->loop, &h->shutdown_timer);
        done(h->shutdown_arg);
    }
}

static void stop_listeners(struct rdv_host *h)
{
    for (size_t i = 0; i < h->nlisteners; i++) {
        if (h->listeners[i].fd >= 0) {
            ev_io_stop(h->loop, &h->listeners[i].io);
            close(h->listeners[i].fd);
            h->listeners[i].fd = -1;
        }
    }
}

void rdv_host_free(struct rdv_host *h)
{
    if (!h)
        return;
    stop_listeners(h);
    fail_all(h);
    free_dead_conns(h);
    reap_dead(h->loop, &h->reaper, 0);
    ev_ref(h->loop);
    ev_prepare_stop(h->loop, &h->reaper);
    ev_timer_stop(h->loop, &h->shutdown_timer);
    for (size_t i = 0; i < h->nprotos; i++)
        free(h->protos[i].id);
    rdv_buf_free(&h->record);
    rdv_privkey_clear(&h->key);
    rdv_noise_identity_clear(&h->noise_id);
    rdv_lifetime_host_free(h);
    rdv_output_host_free(h);
    if (h->spare_fd >= 0)
        close(h->spare_fd);
    free(h);
}

/* Tells every negotiated stream whose handler wants it that the end has come (on_shutdown) and
 * pushes out what they answer; true if any handler was told. */
static bool last_words(struct rdv_host *h)
{
    bool told = false;
    struct rdv_conn *c;
    rdv_list_foreach_safe(c, ctmp, &h->conns, struct rdv_conn, link) {
        c->in_process = true; /* one flush per connection, after all its streams */
        struct rdv_stream *st;
        rdv_list_foreach_safe(st, stmp, &c->streams, struct rdv_stream, conn_link) {
            if (st->ys && st->negotiated && st->handler && st->handler->on_shutdown && c->state != CONN_DEAD) {
                st->handler->on_shutdown(st);
                told = true;
            }
        }
        c->in_process = false;
        if (c->state != CONN_DEAD)
            rdv_conn_flush(c);
    }
    return told;
}

/* The grace is over: last words first (RDV_HOST_LAST_WORDS to go out), then every connection closes. */
static void shutdown_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct rdv_host *h = w->data;
    if (!h->last_words_said) {
        h->last_words_said = true;
        if (last_words(h)) {
            ev_timer_set(w, RDV_HOST_LAST_WORDS, 0);
            ev_timer_start(loop, w);
            return;
        }
    }
    fail_all(h);
}

static void begin_shutdown(struct rdv_host *h, double grace, void (*done)(void *arg), void *arg)
{
    h->shutting_down = true;
    h->shutdown_done = done;
    h->shutdown_arg = arg;
    stop_listeners(h);
    ev_timer_init(&h->shutdown_timer, shutdown_timeout, grace, 0);
    h->shutdown_timer.data = h;
    ev_timer_start(h->loop, &h->shutdown_timer);
}

void rdv_host_linger(struct rdv_host *h, double quiet, double grace, void (*done)(void *arg), void *arg)
{
    begin_shutdown(h, grace, done, arg);
    struct rdv_conn *c;
    rdv_list_foreach_safe(c, next, &h->conns, struct rdv_conn, link) {
        if (c->state == CONN_OPEN)
            rdv_conn_linger(c, quiet);
        else if (c->state < CONN_OPEN)
            rdv_conn_fail(c, RDV_ERR_CLOSED, NULL);
    }
}

void rdv_host_shutdown(struct rdv_host *h, double grace, void (*done)(void *arg), void *arg)
{
    begin_shutdown(h, grace, done, arg);
    struct rdv_conn *c;
    rdv_list_foreach_safe(c, next, &h->conns, struct rdv_conn, link) {
        if (c->state == CONN_OPEN) {
            rdv_yamux_goaway(c->mux, RDV_YAMUX_GOAWAY_NORMAL);
            c->state = CONN_CLOSING;
            rdv_conn_flush(c);
        } else {
            rdv_conn_fail(c, RDV_ERR_CLOSED, NULL);
        }
    }
}

/* ---- accept / listen / dial ------------------------------------------------------------------- */

static int set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -1 : 0;
}

/* Refusals and evictions come in floods (a full table, no descriptors, one source flooding): one
 * line per RDV_HOST_LOG_EVERY seconds per kind that counts the ones in between (util/ratelog.h). */
void rdv_host_log_limited(struct rdv_host *h, struct rdv_ratelog *r, const char *what, const char *why)
{
    uint64_t held;
    if (rdv_ratelog_allow(r, ev_now(h->loop), &held))
        rdv_warn(h->log, "connection %s: %s (%llu similar messages suppressed)", what, why, (unsigned long long)held);
}

static void log_refused(struct rdv_host *h, const char *why)
{
    rdv_host_log_limited(h, &h->refused_log, "refused", why);
}

/* Out of descriptors, the pending connection would stay in the backlog and keep the listener
 * readable: libev would call us again at once, forever. Giving up the spare descriptor lets us
 * accept it and close it, so the peer sees a clean close and the loop goes on serving the others. */
static void accept_and_drop(struct rdv_host *h, struct listener *l)
{
    if (h->spare_fd < 0)
        return;
    close(h->spare_fd);
    int fd = accept(l->fd, NULL, NULL);
    if (fd >= 0)
        close(fd);
    h->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void accept_failed(struct rdv_host *h, struct listener *l)
{
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED)
        return;
    h->stats.accept_errors++;
    if (errno == EMFILE || errno == ENFILE) {
        h->stats.rejected_no_fds++;
        accept_and_drop(h, l);
        log_refused(h, "out of file descriptors (raise LimitNOFILE= / ulimit -n or lower max-connections)");
        return;
    }
    rdv_warn(h->log, "accept: %s", strerror(errno));
}

/* Admits (lifetime.c: per-source limits, room at the caps) and starts one accepted connection. */
static void accept_one(struct rdv_host *h, int fd, const struct sockaddr_storage *ss)
{
    const char *why = "";
    struct rdv_addr_entry *src = rdv_lifetime_admit(h, ss, &why);
    if (!src) {
        log_refused(h, why);
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct rdv_conn *c = rdv_conn_accepted(h, fd, ss);
    if (!c) {
        rdv_lifetime_refused(h, src);
        close(fd);
        return;
    }
    rdv_lifetime_accepted(c, src);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct listener *l = w->data;
    struct rdv_host *h = l->host;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            accept_failed(h, l);
            return;
        }
        if (h->shutting_down) {
            h->stats.rejected_shutting_down++;
            close(fd);
            continue;
        }
        accept_one(h, fd, &ss);
    }
}

int rdv_host_listen(struct rdv_host *h, const uint8_t *ma, size_t len)
{
    if (h->nlisteners >= RDV_HOST_MAX_LISTENERS)
        return RDV_ERR_LIMIT;
    if (h->spare_fd < 0)
        h->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct sockaddr_storage ss;
    socklen_t sl;
    int err = rdv_ma_tcp_sockaddr(ma, len, &ss, &sl);
    if (err)
        return err;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return RDV_ERR_IO;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 511) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return RDV_ERR_IO;
    }
    struct listener *l = &h->listeners[h->nlisteners];
    char text[RDV_MA_MAX_TEXT];
    rdv_sockaddr_text(&ss, text, sizeof(text));
    struct rdv_buf bin;
    rdv_buf_init(&bin, sizeof(l->ma));
    err = rdv_ma_from_text(text, &bin);
    if (!err) {
        memcpy(l->ma, rdv_buf_head(&bin), bin.len);
        l->ma_len = bin.len;
    }
    rdv_buf_free(&bin);
    if (err) {
        close(fd);
        return err;
    }
    l->fd = fd;
    l->host = h;
    ev_io_init(&l->io, accept_cb, fd, EV_READ);
    l->io.data = l;
    ev_io_start(h->loop, &l->io);
    h->nlisteners++;
    return RDV_OK;
}

/* Appends `/ipX/<addr>/tcp/<port>` for each interface address of the family (unspecified listeners). */
static size_t expand_unspecified(int family, unsigned port, struct rdv_buf *addrs, size_t n, size_t max)
{
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) < 0)
        return n;
    for (struct ifaddrs *i = ifs; i && n < max; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != family)
            continue;
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        memcpy(&ss, i->ifa_addr, family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
        if (family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)&ss)->sin6_addr))
            continue;
        if (family == AF_INET)
            ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
        else
            ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
        char text[RDV_MA_MAX_TEXT];
        rdv_sockaddr_text(&ss, text, sizeof(text));
        rdv_buf_init(&addrs[n], RDV_MA_MAX_BINARY);
        if (rdv_ma_from_text(text, &addrs[n]) == RDV_OK)
            n++;
        else
            rdv_buf_free(&addrs[n]);
    }
    freeifaddrs(ifs);
    return n;
}

size_t rdv_host_listen_addrs(const struct rdv_host *h, struct rdv_buf *addrs, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < h->nlisteners && n < max; i++) {
        const struct listener *l = &h->listeners[i];
        struct sockaddr_storage ss;
        socklen_t sl;
        if (rdv_ma_tcp_sockaddr(l->ma, l->ma_len, &ss, &sl) == RDV_OK) {
            bool any4 = ss.ss_family == AF_INET && ((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY);
            bool any6 = ss.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr);
            unsigned port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                                          : ((struct sockaddr_in6 *)&ss)->sin6_port);
            if (any4 || any6) {
                n = expand_unspecified(ss.ss_family, port, addrs, n, max);
                continue;
            }
        }
        rdv_buf_init(&addrs[n], RDV_MA_MAX_BINARY);
        if (rdv_buf_append(&addrs[n], l->ma, l->ma_len) == RDV_OK)
            n++;
    }
    return n;
}

int rdv_host_update_record(struct rdv_host *h)
{
    struct rdv_buf addrs[RDV_PEER_RECORD_MAX_ADDRS];
    size_t n = rdv_host_listen_addrs(h, addrs, RDV_PEER_RECORD_MAX_ADDRS);
    struct rdv_peer_record r;
    memset(&r, 0, sizeof(r));
    r.peer_id = h->self;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    r.seq = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    int err = RDV_OK;
    for (size_t i = 0; i < n; i++) {
        if (!err)
            err = rdv_peer_record_add_addr(&r, rdv_buf_head(&addrs[i]), addrs[i].len);
        rdv_buf_free(&addrs[i]);
    }
    rdv_buf_reset(&h->record);
    if (!err)
        err = rdv_signed_peer_record_seal(&h->key, &r, &h->record);
    rdv_peer_record_free(&r);
    return err;
}

void rdv_host_signed_record(const struct rdv_host *h, const uint8_t **p, size_t *len)
{
    *p = h->record.data ? rdv_buf_head(&h->record) : NULL; /* none before rdv_host_update_record */
    *len = h->record.len;
}

int rdv_host_dial(struct rdv_host *h, const uint8_t *ma, size_t len, const struct rdv_peerid *expected,
                  rdv_dial_cb cb, void *arg)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int err = rdv_ma_tcp_sockaddr(ma, len, &ss, &sl);
    if (err)
        return err;
    struct rdv_peerid from_ma;
    const uint8_t *mh;
    size_t mhlen;
    if (!expected && rdv_ma_p2p_peer(ma, len, &mh, &mhlen) == RDV_OK) {
        if ((err = rdv_peerid_from_bytes(mh, mhlen, &from_ma)))
            return err;
        expected = &from_ma;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || set_nonblocking(fd) < 0) {
        if (fd >= 0)
            close(fd);
        return RDV_ERR_IO;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
        int saved = errno;
        close(fd);
        errno = saved;
        return RDV_ERR_IO;
    }
    if (!rdv_conn_dialing(h, fd, &ss, expected, cb, arg)) {
        close(fd);
        return RDV_ERR_NOMEM;
    }
    return RDV_OK;
}

/* ---- polling from outside ------------------------------------------------------------------- */

static void pollfd_put(struct pollfd *fds, size_t max, size_t i, int fd, short events)
{
    if (i < max)
        fds[i] = (struct pollfd){.fd = fd, .events = events};
}

size_t rdv_host_pollfds(const struct rdv_host *h, struct pollfd *fds, size_t max, double *next)
{
    size_t n = 0;
    for (size_t i = 0; i < h->nlisteners; i++)
        pollfd_put(fds, max, n++, h->listeners[i].fd, POLLIN);
    for (struct rdv_list_node *it = rdv_list_first(&h->conns); it; it = rdv_list_next(&h->conns, it)) {
        const struct rdv_conn *c = rdv_list_entry(it, struct rdv_conn, link);
        if (c->fd < 0)
            continue;
        pollfd_put(fds, max, n++, c->fd, (short)(POLLIN | (ev_is_active(&c->wio) ? POLLOUT : 0)));
        if (ev_is_active(&c->timer)) {
            double left = ev_timer_remaining(h->loop, (ev_timer *)&c->timer);
            if (left < *next)
                *next = left;
        }
    }
    if (!rdv_list_empty(&h->dead) || h->dead_streams)
        *next = 0; /* the reaper has work for the next iteration */
    return n;
}
