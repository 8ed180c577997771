/* test_client.c: librendezvous's public API on real sockets: argument checking, an unreachable
 * point (fails fast, then skipped while in backoff; adverts keep retrying), and a rendezvous point
 * served in this process (src/rendezvous/server.c on the memory store, loopback TCP): advertise,
 * find with and without the cache (the server's DISCOVER count tells whether it was asked), a new
 * record replacing the old after set_addrs, our own record left out, the keepalive, and freeing a
 * client from inside its callback or with requests in flight (ASan's leak check watches). The
 * point serves all three dialects over one store: std and waku1 clients are checked for cookies
 * (a second find gets only newer records; a refused cookie is dropped and the find retried),
 * UNREGISTER on advert stop, and which dialects see whose registrations. */
#include "config.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "client/internal.h"
#include "p2p/builtin.h"
#include "p2p/multiaddr.h"
#include "p2p/peer_record.h"
#include "rendezvous/server.h"
#include "store/memory.h"
#include "tap.h"
#include "util/err.h"

/* ---- helpers ------------------------------------------------------------------------------------- */

struct until {
    bool expired;
    ev_timer t;
};

static void until_expired(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    ((struct until *)w->data)->expired = true;
}

/* Runs loop until *flag (if given) or `seconds` pass. Returns whether *flag came true. */
static bool run_until(struct ev_loop *loop, const bool *flag, double seconds)
{
    struct until u = {.expired = false};
    ev_timer_init(&u.t, until_expired, seconds, 0);
    u.t.data = &u;
    ev_timer_start(loop, &u.t);
    while (!(flag && *flag) && !u.expired)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &u.t);
    return flag && *flag;
}

/* A loopback port nobody listens on (bound, then released). */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    close(fd);
    return ntohs(sa.sin_port);
}

static void some_peer_id(char *out, size_t cap)
{
    struct rdv_privkey k;
    struct rdv_peerid id;
    rdv_privkey_generate(RDV_KEY_ED25519, &k);
    rdv_peerid_from_pubkey(&k.pub, &id);
    rdv_peerid_to_text(&id, out, cap);
    rdv_privkey_clear(&k);
}

/* ---- a rendezvous point in this process --------------------------------------------------------- */

/* How the point answers /ipfs/ping/1.0.0: as go-libp2p and rendezvousd do (echo for as long as
 * the stream lives), as nim-libp2p does (one echo, then close), or not at all. */
enum ping_mode { PING_STREAM, PING_ONCE, PING_NONE };

struct point_srv {
    enum ping_mode ping;
    unsigned ping_streams, pings;
    struct rdv_privkey key;
    struct rdv_host *host;
    struct rdv_store *store;
    struct rdv_service_config cfg;
    struct rdv_rendezvous_server srv;
    uint64_t discovers_ok; /* pushed by the server's observer */
    uint64_t bad_cookies;  /* DISCOVERs answered E_INVALID_COOKIE */
    uint64_t unregisters;
    char addr[RDV_MA_MAX_TEXT + RDV_PEERID_TEXT_MAX + 8];
};

static void count_request(void *ctx, const struct rdv_dialect *d, enum rdv_req_type type, enum rdv_status st,
                          double seconds)
{
    (void)d, (void)seconds;
    struct point_srv *p = ctx;
    if (type == RDV_REQ_DISCOVER && st == RDV_STATUS_OK)
        p->discovers_ok++;
    if (type == RDV_REQ_DISCOVER && st == RDV_STATUS_E_INVALID_COOKIE)
        p->bad_cookies++;
    if (type == RDV_REQ_UNREGISTER)
        p->unregisters++;
}

static void once_open(struct rdv_stream *st)
{
    ((struct point_srv *)rdv_stream_handler_ctx(st))->ping_streams++;
}

static void once_data(struct rdv_stream *st)
{
    struct point_srv *p = rdv_stream_handler_ctx(st);
    struct rdv_buf *in = rdv_stream_input(st);
    if (in->len < RDV_PING_SIZE)
        return;
    rdv_stream_write(st, rdv_buf_head(in), RDV_PING_SIZE);
    rdv_buf_reset(in);
    p->pings++;
    rdv_stream_close(st);
}

static void once_close(struct rdv_stream *st, int err)
{
    (void)st;
    (void)err;
}

static const struct rdv_stream_handler ping_once = {.on_open = once_open, .on_data = once_data, .on_close = once_close};

static int point_start(struct ev_loop *loop, struct point_srv *p, enum ping_mode ping)
{
    memset(p, 0, sizeof(*p));
    p->ping = ping;
    rdv_service_config_defaults(&p->cfg);
    struct rdv_buf ma, addrs[4];
    rdv_buf_init(&ma, 0);
    int err = rdv_privkey_generate(RDV_KEY_ED25519, &p->key);
    if (!err && !(p->store = rdv_store_memory_new(NULL)))
        err = RDV_ERR_NOMEM;
    if (!err)
        err = rdv_host_new(loop, &p->key, NULL, NULL, &p->host);
    memset(&p->srv, 0, sizeof(p->srv));
    p->srv.store = p->store;
    p->srv.max_message = RDV_MAX_MESSAGE;
    p->srv.observer = (struct rdv_rendezvous_observer){.request = count_request, .ctx = p};
    rdv_rendezvous_server_enable(&p->srv, rdv_dialect_get(RDV_DIALECT_WAKU0), &p->cfg);
    for (unsigned d = RDV_DIALECT_STD; d <= RDV_DIALECT_WAKU1; d++) {
        struct rdv_service_config dc;
        rdv_service_config_for(&dc, rdv_dialect_get(d));
        rdv_rendezvous_server_enable(&p->srv, rdv_dialect_get(d), &dc);
    }
    if (!err && ping == PING_STREAM)
        err = rdv_builtin_register(p->host);
    if (!err && ping == PING_ONCE)
        err = rdv_host_handle(p->host, RDV_PING_PROTOCOL, &ping_once, p);
    if (!err)
        err = rdv_rendezvous_server_register(p->host, &p->srv);
    if (!err)
        err = rdv_ma_from_text("/ip4/127.0.0.1/tcp/0", &ma);
    if (!err)
        err = rdv_host_listen(p->host, rdv_buf_head(&ma), ma.len);
    rdv_buf_free(&ma);
    if (err)
        return err;
    size_t n = rdv_host_listen_addrs(p->host, addrs, 4);
    char text[RDV_MA_MAX_TEXT], id[RDV_PEERID_TEXT_MAX];
    rdv_ma_to_text(rdv_buf_head(&addrs[0]), addrs[0].len, text, sizeof(text));
    rdv_peerid_to_text(rdv_host_peer_id(p->host), id, sizeof(id));
    snprintf(p->addr, sizeof(p->addr), "%s/p2p/%s", text, id);
    for (size_t i = 0; i < n; i++)
        rdv_buf_free(&addrs[i]);
    return RDV_OK;
}

static void point_stop(struct point_srv *p)
{
    rdv_host_free(p->host);
    rdv_store_close(p->store);
    rdv_privkey_clear(&p->key);
}

static uint64_t discovers(const struct point_srv *p) { return p->discovers_ok; }

static void put_done(void *arg, enum rdv_store_status st) { *(int *)arg += st == RDV_STORE_OK; }

/* Stores n signed records of made-up peers under ns straight into the point's store. */
/* n records in ns, each with `extra` long dns addresses besides its ip4 one (extra 20: ~1 KiB each) */
static int fill(struct point_srv *p, const char *ns, int n, int extra)
{
    int stored = 0;
    for (int i = 0; i < n; i++) {
        struct rdv_privkey k;
        struct rdv_peer_record r;
        struct rdv_buf env, ma;
        memset(&r, 0, sizeof(r));
        rdv_buf_init(&env, 0);
        rdv_buf_init(&ma, 0);
        rdv_privkey_generate(RDV_KEY_ED25519, &k);
        rdv_peerid_from_pubkey(&k.pub, &r.peer_id);
        r.seq = 1;
        char text[64];
        snprintf(text, sizeof(text), "/ip4/10.1.%d.%d/tcp/%d", i / 250, i % 250, 1000 + i);
        rdv_ma_from_text(text, &ma);
        rdv_peer_record_add_addr(&r, rdv_buf_head(&ma), ma.len);
        for (int j = 0; j < extra; j++) {
            rdv_buf_reset(&ma);
            snprintf(text, sizeof(text), "/dns4/n%d-a%d.peers.example.org/tcp/443/wss", i, j);
            rdv_ma_from_text(text, &ma);
            rdv_peer_record_add_addr(&r, rdv_buf_head(&ma), ma.len);
        }
        rdv_signed_peer_record_seal(&k, &r, &env);
        struct rdv_store_put put = {.ns = ns, .ns_len = strlen(ns), .peer = &r.peer_id, .seq = 1,
                                    .envelope = rdv_buf_head(&env), .envelope_len = env.len, .ttl_s = 60};
        rdv_store_put(p->store, &put, put_done, &stored);
        rdv_peer_record_free(&r);
        rdv_buf_free(&env);
        rdv_buf_free(&ma);
        rdv_privkey_clear(&k);
    }
    return stored;
}

/* ---- argument checks ---------------------------------------------------------------------------- */

static void test_config_errors(void)
{
    struct rendezvous_config cfg;
    struct rendezvous_client *c = NULL;
    char id[RDV_PEERID_TEXT_MAX], good[300], text[400];
    some_peer_id(id, sizeof(id));
    snprintf(good, sizeof(good), "/ip4/127.0.0.1/tcp/%d/p2p/%s", closed_port(), id);
    const char *points[1] = {good};

    rendezvous_config_init(&cfg);
    is_int(rendezvous_client_new(NULL, NULL, &c), RENDEZVOUS_ERR_INVALID, "no config");
    cfg.size = 0;
    is_int(rendezvous_client_new(NULL, &cfg, &c), RENDEZVOUS_ERR_INVALID, "a config without its size");
    rendezvous_config_init(&cfg);
    cfg.npoints = 1;
    is_int(rendezvous_client_new(NULL, &cfg, &c), RENDEZVOUS_ERR_INVALID, "npoints without points");
    cfg.npoints = 0;
    const char *no_p2p[1] = {"/ip4/127.0.0.1/tcp/4040"};
    cfg.points = no_p2p;
    cfg.npoints = 1;
    is_int(rendezvous_client_new(NULL, &cfg, &c), RENDEZVOUS_ERR_NOT_FOUND, "a point without /p2p/");
    snprintf(text, sizeof(text), "/dns4/example.org/tcp/4040/p2p/%s", id);
    const char *dns[1] = {text};
    cfg.points = dns;
    is_int(rendezvous_client_new(NULL, &cfg, &c), RENDEZVOUS_ERR_UNSUPPORTED, "a /dns4 point (not dialable here)");
    const char *junk[1] = {"not a multiaddr"};
    cfg.points = junk;
    is_int(rendezvous_client_new(NULL, &cfg, &c), RENDEZVOUS_ERR_INVALID, "junk");
    cfg.points = points;
    cfg.npoints = RENDEZVOUS_MAX_POINTS + 1;
    is_int(rendezvous_client_new(NULL, &cfg, &c), RENDEZVOUS_ERR_INVALID, "too many points");
    cfg.npoints = 1;
    const char *bad_addr[1] = {"/ip4/1.2.3.4/tcp/99999"};
    cfg.addrs = bad_addr;
    cfg.naddrs = 1;
    is_int(rendezvous_client_new(NULL, &cfg, &c), RENDEZVOUS_ERR_INVALID, "a bad listen address");
    cfg.addrs = NULL;
    cfg.naddrs = 0;
    cfg.private_key = (const uint8_t *)"\x08\x01\x12\x01x";
    cfg.private_key_len = 5;
    is_int(rendezvous_client_new(NULL, &cfg, &c), RENDEZVOUS_ERR_INVALID, "a bad private key");
    cfg.private_key = NULL;
    cfg.key_file = "/nonexistent/key";
    is_int(rendezvous_client_new(NULL, &cfg, &c), RENDEZVOUS_ERR_IO, "an unreadable key file");
    cfg.key_file = NULL;
    cfg.request_timeout = -1;
    is_int(rendezvous_client_new(NULL, &cfg, &c), RENDEZVOUS_ERR_INVALID, "a negative timeout");
    ok(c == NULL, "no client came out of the failures");

    /* a given key is our identity */
    struct rdv_privkey k;
    struct rdv_buf kb;
    struct rdv_peerid kid;
    char want[RDV_PEERID_TEXT_MAX], got[RDV_PEERID_TEXT_MAX];
    rdv_buf_init(&kb, 0);
    rdv_privkey_generate(RDV_KEY_SECP256K1, &k);
    rdv_privkey_marshal(&k, &kb);
    rdv_peerid_from_pubkey(&k.pub, &kid);
    rdv_peerid_to_text(&kid, want, sizeof(want));
    rendezvous_config_init(&cfg);
    cfg.points = points;
    cfg.npoints = 1;
    cfg.private_key = rdv_buf_head(&kb);
    cfg.private_key_len = kb.len;
    is_int(rendezvous_client_new(NULL, &cfg, &c), RENDEZVOUS_OK, "a client with a secp256k1 key");
    is_int(rendezvous_client_peer_id(c, got, sizeof(got)), (int)strlen(want), "peer id length");
    is_str(got, want, "its peer id is the key's");
    is_int(rendezvous_client_peer_id(c, got, 8), RENDEZVOUS_ERR_TOO_LARGE, "peer id into a small buffer");
    struct rendezvous_advert *ad;
    is_int(rendezvous_advertise(c, "", 0, NULL, NULL, &ad), RENDEZVOUS_ERR_INVALID, "advertise: empty namespace");
    char big[RENDEZVOUS_NS_MAX + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    is_int(rendezvous_advertise(c, big, 0, NULL, NULL, &ad), RENDEZVOUS_ERR_INVALID, "advertise: 257-byte namespace");
    big[RENDEZVOUS_NS_MAX] = '\0';
    is_int(rendezvous_advertise(c, "t", -1, NULL, NULL, &ad), RENDEZVOUS_ERR_INVALID, "advertise: negative ttl");
    is_int(rendezvous_find_peers(c, "t", 5, NULL, NULL, NULL), RENDEZVOUS_ERR_INVALID, "find: no callback");
    const char *bad_set[1] = {"/ip4/1.2.3"};
    is_int(rendezvous_client_set_addrs(c, bad_set, 1), RENDEZVOUS_ERR_INVALID, "set_addrs: refuses a bad address");
    ok(c->naddrs == 0 && c->envelope.len == 0, "and keeps what it had");
    rendezvous_client_free(c);
    rdv_buf_free(&kb);
    rdv_privkey_clear(&k);
    is_str(rendezvous_strerror(RENDEZVOUS_ERR_REFUSED), "refused by the rendezvous point", "strerror(REFUSED)");
    ok(rendezvous_strerror(RENDEZVOUS_ERR_UNAVAILABLE) && *rendezvous_strerror(-77), "strerror never NULL");
    is_str(rendezvous_version(), PACKAGE_VERSION, "version");
}

/* ---- an unreachable point ----------------------------------------------------------------------- */

struct events {
    int n, errors;
    double min_next, max_next;
    bool enough;
};

static void count_event(void *arg, const struct rendezvous_advert_event *ev)
{
    struct events *e = arg;
    e->n++;
    e->errors += ev->err != 0;
    if (e->n == 1 || ev->next_in < e->min_next)
        e->min_next = ev->next_in;
    if (ev->next_in > e->max_next)
        e->max_next = ev->next_in;
    e->enough = e->n >= 3;
}

static void test_unreachable(void)
{
    char id[RDV_PEERID_TEXT_MAX], addr[300];
    some_peer_id(id, sizeof(id));
    snprintf(addr, sizeof(addr), "/ip4/127.0.0.1/tcp/%d/p2p/%s", closed_port(), id);
    const char *points[1] = {addr};
    struct rendezvous_config cfg;
    rendezvous_config_init(&cfg);
    cfg.points = points;
    cfg.npoints = 1;
    cfg.backoff_min = 30; /* the second find falls in the backoff */
    cfg.request_timeout = 2;
    struct rendezvous_client *c;
    is_int(rendezvous_client_new(NULL, &cfg, &c), RENDEZVOUS_OK, "a client of a closed port");
    struct rendezvous_peer_list *l = (void *)1;
    is_int(rendezvous_find_peers_wait(c, "t", 0, &l), RENDEZVOUS_ERR_UNAVAILABLE, "find: unavailable");
    ok(l == NULL, "no list on error");
    ok(c->points[0].state == POINT_BACKOFF && c->points[0].failures == 1, "the point is in backoff");
    is_int(rendezvous_find_peers_wait(c, "t", 0, &l), RENDEZVOUS_ERR_UNAVAILABLE, "find again: unavailable at once");
    is_int(c->points[0].failures, 1, "without another dial");
    struct rendezvous_advert *ad;
    int64_t ttl = -1;
    is_int(rendezvous_advertise_wait(c, "t", 0, &ad, &ttl), RENDEZVOUS_ERR_UNAVAILABLE, "advertise_wait: unavailable");
    ok(ad != NULL && ttl == 0, "the advert exists, nothing granted");
    ok(ad->slots[0].state == SLOT_WAITING, "it waits for the point to come back");
    rendezvous_client_free(c); /* with the advert still on */

    /* adverts keep trying, each attempt reported with its retry delay */
    cfg.backoff_min = 0.1;
    cfg.backoff_max = 0.2;
    struct ev_loop *loop = ev_loop_new(0);
    is_int(rendezvous_client_new(loop, &cfg, &c), RENDEZVOUS_OK, "a client on our loop");
    struct events e = {0};
    is_int(rendezvous_advertise(c, "t", 0, count_event, &e, &ad), RENDEZVOUS_OK, "advertise");
    ok(run_until(loop, &e.enough, 10), "three attempts reported");
    is_int(e.errors, e.n, "each one an error");
    ok(e.min_next >= 0.05 && e.max_next <= 0.2, "retry delays within [min/2, max] (%.3f..%.3f)", e.min_next, e.max_next);
    ok(rendezvous_advert_ttl(ad) == 0, "no TTL granted");
    rendezvous_advert_stop(ad);
    int before = e.n;
    run_until(loop, NULL, 0.5);
    is_int(e.n, before, "no events after stop");
    rendezvous_client_free(c);
    ev_loop_destroy(loop);
}

/* ---- against a point in this process ------------------------------------------------------------ */

static struct rendezvous_client *client_in(struct ev_loop *loop, const char *point, const char *addr,
                                           const char *protocol, const char *mix_key)
{
    const char *points[1] = {point};
    const char *addrs[1] = {addr};
    struct rendezvous_config cfg;
    rendezvous_config_init(&cfg);
    cfg.points = points;
    cfg.npoints = 1;
    cfg.addrs = addrs;
    cfg.naddrs = addr ? 1 : 0;
    cfg.protocol = protocol;
    cfg.mix_key = (const uint8_t *)mix_key;
    cfg.mix_key_len = mix_key ? strlen(mix_key) : 0;
    struct rendezvous_client *c = NULL;
    return rendezvous_client_new(loop, &cfg, &c) == RENDEZVOUS_OK ? c : NULL;
}

static struct rendezvous_client *client_of(struct ev_loop *loop, const char *point, const char *addr, double keepalive)
{
    const char *points[1] = {point};
    const char *addrs[1] = {addr};
    struct rendezvous_config cfg;
    rendezvous_config_init(&cfg);
    cfg.points = points;
    cfg.npoints = 1;
    cfg.addrs = addrs;
    cfg.naddrs = addr ? 1 : 0;
    cfg.keepalive_interval = keepalive;
    struct rendezvous_client *c = NULL;
    return rendezvous_client_new(loop, &cfg, &c) == RENDEZVOUS_OK ? c : NULL;
}

struct answer {
    bool done;
    int err;
    size_t n;
    struct rendezvous_client *free_me;
};

static void freeing_cb(void *arg, int err, const struct rendezvous_peer *peers, size_t n)
{
    (void)peers;
    struct answer *a = arg;
    a->done = true;
    a->err = err;
    a->n = n;
    rendezvous_client_free(a->free_me); /* from inside: must be deferred */
}

static void test_point(void)
{
    struct ev_loop *loop = ev_loop_new(0);
    struct point_srv p;
    if (!ok(point_start(loop, &p, PING_STREAM) == RDV_OK, "a rendezvous point in this process")) {
        ev_loop_destroy(loop);
        return;
    }
    struct rendezvous_client *a = client_of(loop, p.addr, "/ip4/10.0.0.1/tcp/1", 0);
    struct rendezvous_client *b = client_of(loop, p.addr, NULL, 0);
    ok(a && b, "two clients");
    char aid[RDV_PEERID_TEXT_MAX];
    rendezvous_client_peer_id(a, aid, sizeof(aid));
    struct rendezvous_advert *ad;
    int64_t ttl = 0;
    is_int(rendezvous_advertise_wait(a, "topic", 0, &ad, &ttl), RENDEZVOUS_OK, "a advertises");
    is_int(ttl, RDV_DEFAULT_TTL_S, "granted the default TTL");
    is_int(rendezvous_advert_ttl(ad), RDV_DEFAULT_TTL_S, "advert_ttl agrees");
    ok(a->points[0].state == POINT_OPEN && a->points[0].ka, "connected, keepalive stream open");

    struct rendezvous_peer_list *l = NULL;
    is_int(rendezvous_find_peers_wait(b, "topic", 0, &l), RENDEZVOUS_OK, "b finds (limit 0)");
    ok(l && l->n == 1 && strcmp(l->peers[0].peer_id, aid) == 0, "a's record");
    ok(l && l->n == 1 && l->peers[0].naddrs == 1 && strcmp(l->peers[0].addrs[0], "/ip4/10.0.0.1/tcp/1") == 0, "with a's address");
    ok(l && l->n == 1 && l->peers[0].ttl > 18 && l->peers[0].ttl <= 20, "and its remaining TTL (%.2f)", l && l->n ? l->peers[0].ttl : -1);
    uint64_t seq1 = l && l->n ? l->peers[0].seq : 0;
    rendezvous_peer_list_free(l);
    is_int(discovers(&p), 1, "the point was asked once");
    is_int(rendezvous_find_peers_wait(b, "topic", 1, &l), RENDEZVOUS_OK, "b finds again, limit 1");
    ok(l && l->n == 1, "one peer");
    rendezvous_peer_list_free(l);
    is_int(discovers(&p), 1, "answered from the cache: the point was not asked");
    is_int(rendezvous_find_peers_wait(b, "topic", 2, &l), RENDEZVOUS_OK, "limit 2, more than cached");
    rendezvous_peer_list_free(l);
    is_int(discovers(&p), 2, "asks the point");
    is_int(rendezvous_find_peers_wait(a, "topic", 0, &l), RENDEZVOUS_OK, "a finds");
    ok(l && l->n == 0, "not itself");
    rendezvous_peer_list_free(l);

    const char *next[2] = {"/ip4/10.0.0.2/tcp/2", "/ip6/::1/tcp/3"};
    is_int(rendezvous_client_set_addrs(a, next, 2), RENDEZVOUS_OK, "a moves");
    run_until(loop, NULL, 0.3);
    is_int(rendezvous_find_peers_wait(b, "topic", 0, &l), RENDEZVOUS_OK, "b finds");
    ok(l && l->n == 1 && l->peers[0].naddrs == 2 && strcmp(l->peers[0].addrs[1], "/ip6/::1/tcp/3") == 0,
       "the new record replaced the old one in b's cache");
    ok(l && l->n == 1 && l->peers[0].seq > seq1, "with a higher seq");
    rendezvous_peer_list_free(l);

    /* a large answer: 700 records, well over 64 KiB */
    is_int(fill(&p, "crowd", 700, 0), 700, "700 registrations in the point's store");
    is_int(rendezvous_find_peers_wait(b, "crowd", 0, &l), RENDEZVOUS_OK, "b finds them");
    ok(l && l->n == 700, "all 700 (%zu)", l ? l->n : 0);
    rendezvous_peer_list_free(l);
    is_int(rendezvous_find_peers_wait(b, "crowd", 10, &l), RENDEZVOUS_OK, "limit 10");
    ok(l && l->n == 10, "from the cache: 10");
    rendezvous_peer_list_free(l);
    /* an answer bigger than the yamux window and the host's output soft mark (~1 MiB): it must
     * arrive whole through several window updates and output pulls */
    is_int(fill(&p, "fat", 900, 20), 900, "900 registrations of ~1 KiB each");
    is_int(rendezvous_find_peers_wait(b, "fat", 0, &l), RENDEZVOUS_OK, "b finds them");
    ok(l && l->n == 900 && l->peers[0].naddrs == 21, "all 900, each with its 21 addresses (%zu)", l ? l->n : 0);
    rendezvous_peer_list_free(l);

    /* the keepalive: pings every 50 ms, all echoed, the connection stays */
    struct rendezvous_client *k = client_of(loop, p.addr, NULL, 0.05);
    is_int(rendezvous_find_peers_wait(k, "topic", 0, &l), RENDEZVOUS_OK, "a third client connects");
    rendezvous_peer_list_free(l);
    run_until(loop, NULL, 0.5);
    ok(k->points[0].state == POINT_OPEN && k->points[0].healthy && k->points[0].ka && k->points[0].failures == 0,
       "after ten keepalive intervals: still connected and healthy");
    rendezvous_client_free(k);

    /* freed from inside its own callback */
    struct rendezvous_client *f = client_of(loop, p.addr, NULL, 0);
    struct answer ans = {.free_me = f};
    is_int(rendezvous_find_peers(f, "topic", 0, freeing_cb, &ans, NULL), RENDEZVOUS_OK, "a find");
    ok(run_until(loop, &ans.done, 5) && ans.err == 0 && ans.n == 1, "answered; the callback frees the client");
    run_until(loop, NULL, 0.1); /* the deferred free runs */

    /* freed with a REGISTER in flight */
    struct rendezvous_advert *ad2;
    is_int(rendezvous_advertise(a, "topic-2", 5, NULL, NULL, &ad2), RENDEZVOUS_OK, "another advert");
    ok(a->points[0].inflight == 1, "its REGISTER is out");
    rendezvous_advert_stop(ad);
    rendezvous_client_free(a);
    rendezvous_client_free(b);
    run_until(loop, NULL, 0.1);
    point_stop(&p);
    ev_loop_destroy(loop);
}

/* Keepalive against points whose ping streams end after one echo, or that do not answer ping. */
static void test_ping_variants(void)
{
    struct ev_loop *loop = ev_loop_new(0);
    struct point_srv p;
    if (!ok(point_start(loop, &p, PING_ONCE) == RDV_OK, "a point answering one ping per stream")) {
        ev_loop_destroy(loop);
        return;
    }
    struct rendezvous_client *c = client_of(loop, p.addr, NULL, 0.05);
    struct rendezvous_peer_list *l = NULL;
    is_int(rendezvous_find_peers_wait(c, "t", 0, &l), RENDEZVOUS_OK, "find");
    rendezvous_peer_list_free(l);
    run_until(loop, NULL, 0.6);
    ok(p.pings >= 5 && p.ping_streams >= p.pings, "pinged on fresh streams (%u pings, %u streams)", p.pings, p.ping_streams);
    ok(c->points[0].state == POINT_OPEN && c->points[0].healthy && c->points[0].failures == 0 && c->points[0].ka,
       "the connection stays, healthy");
    rendezvous_client_free(c);
    run_until(loop, NULL, 0.05);
    point_stop(&p);

    if (!ok(point_start(loop, &p, PING_NONE) == RDV_OK, "a point without ping")) {
        ev_loop_destroy(loop);
        return;
    }
    c = client_of(loop, p.addr, "/ip4/10.0.0.5/tcp/5", 0.05);
    struct rendezvous_advert *ad;
    int64_t ttl;
    is_int(rendezvous_advertise_wait(c, "t", 0, &ad, &ttl), RENDEZVOUS_OK, "advertise works");
    run_until(loop, NULL, 0.2);
    ok(c->points[0].no_keepalive || c->points[0].state == POINT_IDLE, "no keepalive");
    ok(c->points[0].state == POINT_IDLE && c->points[0].failures == 0 && !c->points[0].conn,
       "once idle the connection is let go, without counting a failure");
    is_int(rendezvous_find_peers_wait(c, "t", 0, &l), RENDEZVOUS_OK, "find dials again");
    ok(l && l->n == 0, "(only ourselves registered)");
    rendezvous_peer_list_free(l);
    is_int(discovers(&p), 1, "the point answered");
    rendezvous_client_free(c);
    run_until(loop, NULL, 0.05);
    point_stop(&p);
    ev_loop_destroy(loop);
}

/* Whether l holds exactly the peers ids[0..n-1] (in any order). */
static bool peers_are(const struct rendezvous_peer_list *l, const char *const *ids, size_t n)
{
    if (!l || l->n != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t j = 0; j < l->n && !found; j++)
            found = strcmp(l->peers[j].peer_id, ids[i]) == 0;
        if (!found)
            return false;
    }
    return true;
}

/* Finds ns with c and checks the answer is exactly ids. */
static void find_is(struct rendezvous_client *c, const char *ns, const char *const *ids, size_t n, const char *what)
{
    struct rendezvous_peer_list *l = NULL;
    int err = rendezvous_find_peers_wait(c, ns, 0, &l);
    ok(err == RENDEZVOUS_OK && peers_are(l, ids, n), "%s (err %d, %zu peers)", what, err, l ? l->n : 0);
    rendezvous_peer_list_free(l);
}

/* The client forgets every record it learnt (its cookies stay): its next answer is the point's. */
static void forget(struct rendezvous_client *c)
{
    rdv_cache_free(rdv_client_cache(c, c->dialect));
    rdv_cache_init(rdv_client_cache(c, c->dialect), 0);
}

static struct rendezvous_advert *advertise_ok(struct rendezvous_client *c, const char *ns, int64_t want_ttl,
                                              const char *what)
{
    struct rendezvous_advert *ad = NULL;
    int64_t ttl = 0;
    int err = rendezvous_advertise_wait(c, ns, 0, &ad, &ttl);
    ok(err == RENDEZVOUS_OK && ttl == want_ttl, "%s (err %d, ttl %lld)", what, err, (long long)ttl);
    return ad;
}

/* /rendezvous/1.0.0: cookies, E_INVALID_COOKIE, UNREGISTER, and the registrations waku0 shares. */
static void test_std(struct ev_loop *loop, struct point_srv *p)
{
    struct rendezvous_client *a = client_in(loop, p->addr, "/ip4/10.0.0.1/tcp/1", "std", NULL);
    struct rendezvous_client *c = client_in(loop, p->addr, "/ip4/10.0.0.3/tcp/3", RENDEZVOUS_PROTOCOL_STD, NULL);
    struct rendezvous_client *d = client_in(loop, p->addr, "/ip4/10.0.0.4/tcp/4", "std", NULL);
    struct rendezvous_client *b = client_in(loop, p->addr, NULL, "std", NULL);
    if (!ok(a && b && c && d, "std clients"))
        return;
    char id[3][RDV_PEERID_TEXT_MAX];
    rendezvous_client_peer_id(a, id[0], sizeof(id[0]));
    rendezvous_client_peer_id(c, id[1], sizeof(id[1]));
    rendezvous_client_peer_id(d, id[2], sizeof(id[2]));
    const char *ids[3] = {id[0], id[1], id[2]};
    struct rendezvous_advert *ad = advertise_ok(a, "s", 7200, "std: a advertises, granted the std default TTL");
    find_is(b, "s", ids, 1, "std: b finds a");
    ok(b->points[0].cookies && b->points[0].cookies->len == RDV_COOKIE_LEN, "the point's cookie is kept");
    advertise_ok(c, "s", 7200, "std: c advertises");
    find_is(b, "s", ids, 2, "b finds a and c: c from the point, a from the cache");
    advertise_ok(d, "s", 7200, "std: d advertises");
    forget(b);
    find_is(b, "s", ids + 2, 1, "with its cookie, b is sent only d, the one registered since");
    uint64_t asked = p->discovers_ok;
    b->points[0].cookies->bytes[RDV_COOKIE_LEN - 1] ^= 1;
    forget(b);
    find_is(b, "s", ids, 3, "a damaged cookie: refused, dropped, asked again without: all three");
    ok(p->bad_cookies == 1 && p->discovers_ok == asked + 1, "one E_INVALID_COOKIE, then one answer");

    uint64_t unreg = p->unregisters;
    rendezvous_advert_stop(ad);
    is_int(rendezvous_client_flush(a, 2), RENDEZVOUS_OK, "a stops advertising: its UNREGISTER goes out");
    ok(p->unregisters == unreg + 1, "the point handled one UNREGISTER");
    struct rendezvous_client *e = client_in(loop, p->addr, NULL, "std", NULL);
    find_is(e, "s", ids + 1, 2, "at once a is gone: a new finder sees c and d");
    struct rendezvous_client *w0 = client_in(loop, p->addr, NULL, NULL, NULL);
    find_is(w0, "s", ids + 1, 2, "a waku0 finder sees the std registrations too");
    rendezvous_client_free(w0);
    rendezvous_client_free(e);
    rendezvous_client_free(a);
    rendezvous_client_free(b);
    rendezvous_client_free(c);
    rendezvous_client_free(d);
}

/* /vac/waku/rendezvous/1.0.0: WakuPeerRecords with our mix key, apart from the other dialects. */
static void test_waku1(struct ev_loop *loop, struct point_srv *p)
{
    struct rendezvous_client *w = client_in(loop, p->addr, "/ip4/10.0.0.7/tcp/7", "waku1", "mixkey-7");
    struct rendezvous_client *f = client_in(loop, p->addr, NULL, RENDEZVOUS_PROTOCOL_WAKU1, NULL);
    struct rendezvous_client *s = client_in(loop, p->addr, NULL, "std", NULL);
    struct rendezvous_client *v = client_in(loop, p->addr, "/ip4/10.0.0.8/tcp/8", "waku1", NULL);
    if (!ok(w && f && s && v, "waku1 clients"))
        return;
    struct rdv_record_summary rec;
    ok(rdv_record_open(&rdv_record_kind_waku, rdv_buf_head(&w->envelope), w->envelope.len, &rec) == RDV_OK &&
           rec.mix_key_len == 8 && memcmp(rec.mix_key, "mixkey-7", 8) == 0,
       "waku1: our record is a WakuPeerRecord with the configured mix key");
    char id[2][RDV_PEERID_TEXT_MAX];
    rendezvous_client_peer_id(w, id[0], sizeof(id[0]));
    rendezvous_client_peer_id(v, id[1], sizeof(id[1]));
    const char *ids[2] = {id[0], id[1]};
    struct rendezvous_advert *ad = advertise_ok(w, "wt", 60, "waku1: w advertises, granted the waku1 default TTL");
    find_is(f, "wt", ids, 1, "waku1: f finds w");
    find_is(s, "wt", ids, 0, "a std finder does not see WakuPeerRecords");
    find_is(f, "s", ids, 0, "nor a waku1 finder the std registrations");
    advertise_ok(v, "wt", 60, "waku1: v advertises");
    forget(f);
    find_is(f, "wt", ids + 1, 1, "waku1 cookies: f is sent only v");
    rendezvous_advert_stop(ad);
    is_int(rendezvous_client_flush(w, 2), RENDEZVOUS_OK, "w stops: UNREGISTER");
    struct rendezvous_client *g = client_in(loop, p->addr, NULL, "waku1", NULL);
    find_is(g, "wt", ids + 1, 1, "w is gone at once");
    rendezvous_client_free(g);
    rendezvous_client_free(w);
    rendezvous_client_free(f);
    rendezvous_client_free(s);
    rendezvous_client_free(v);
}

static void test_dialects(void)
{
    struct ev_loop *loop = ev_loop_new(0);
    struct point_srv p;
    if (!ok(point_start(loop, &p, PING_STREAM) == RDV_OK, "a point serving waku0, std and waku1")) {
        ev_loop_destroy(loop);
        return;
    }
    const char *points[1] = {p.addr};
    struct rendezvous_config cfg;
    rendezvous_config_init(&cfg);
    cfg.points = points;
    cfg.npoints = 1;
    cfg.protocol = "/rendezvous/9.9.9";
    struct rendezvous_client *x = NULL;
    is_int(rendezvous_client_new(loop, &cfg, &x), RENDEZVOUS_ERR_UNSUPPORTED, "an unknown protocol");
    cfg.protocol = "waku1";
    uint8_t big[RENDEZVOUS_MIX_KEY_MAX + 1] = {0};
    cfg.mix_key = big;
    cfg.mix_key_len = sizeof(big);
    is_int(rendezvous_client_new(loop, &cfg, &x), RENDEZVOUS_ERR_INVALID, "an oversize mix key");
    test_std(loop, &p);
    test_waku1(loop, &p);
    run_until(loop, NULL, 0.1);
    point_stop(&p);
    ev_loop_destroy(loop);
}


/* ---- deadlines: a point that accepts TCP and never speaks ----------------------------------------- */

/* A loopback listener that never accepts nor speaks (the kernel completes the TCP handshake). */
static int silent_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16) ||
        getsockname(fd, (struct sockaddr *)&sa, &sl))
        return -1;
    *port = ntohs(sa.sin_port);
    return fd;
}

struct timed_answer {
    bool done;
    int err;
    size_t n;
    double at;
};

static void timed_cb(void *arg, int err, const struct rendezvous_peer *peers, size_t n)
{
    (void)peers;
    struct timed_answer *t = arg;
    t->done = true;
    t->err = err;
    t->n = n;
    t->at = ev_time();
}

/* One find with options o; returns the seconds it took (or -1 when no answer came in 15 s). */
static double timed_find(struct ev_loop *loop, struct rendezvous_client *c, const char *ns,
                         const struct rendezvous_find_options *o, struct timed_answer *t)
{
    memset(t, 0, sizeof(*t));
    double t0 = ev_time();
    if (rendezvous_find_peers_with(c, ns, o, timed_cb, t, NULL) != RENDEZVOUS_OK)
        return -1;
    return run_until(loop, &t->done, 15) ? t->at - t0 : -1;
}

static void test_silent_point(void)
{
    struct ev_loop *loop = ev_loop_new(0);
    struct point_srv p;
    int port = 0, silent = silent_listener(&port);
    if (!ok(silent >= 0 && point_start(loop, &p, PING_STREAM) == RDV_OK, "a live point and a silent listener")) {
        ev_loop_destroy(loop);
        return;
    }
    char id[RDV_PEERID_TEXT_MAX], mute[300];
    some_peer_id(id, sizeof(id));
    snprintf(mute, sizeof(mute), "/ip4/127.0.0.1/tcp/%d/p2p/%s", port, id);
    struct rendezvous_client *a = client_of(loop, p.addr, "/ip4/10.0.0.1/tcp/1", 0);
    struct rendezvous_advert *ad = advertise_ok(a, "quiet", RDV_DEFAULT_TTL_S, "a advertises at the live point");
    const char *points[2] = {mute, p.addr};
    struct rendezvous_config cfg;
    rendezvous_config_init(&cfg);
    cfg.points = points;
    cfg.npoints = 2;
    struct rendezvous_client *b = NULL;
    is_int(rendezvous_client_new(loop, &cfg, &b), RENDEZVOUS_OK, "b asks the silent point and the live one");
    struct timed_answer t;
    double dt = timed_find(loop, b, "quiet", NULL, &t);
    diag("find with a silent point (default deadline %.1f s): answered in %.3f s, %zu peers", RDV_CLIENT_DEFAULT_DEADLINE,
         dt, t.n);
    ok(dt >= 0 && dt < 6.0, "the find answers within the deadline, not the 10 s handshake (%.3f s)", dt);
    ok(t.err == RENDEZVOUS_OK && t.n == 1, "with the live point's answer (err %d, %zu peers)", t.err, t.n);
    struct rendezvous_find_options o;
    rendezvous_find_options_init(&o);
    o.replies = 1;
    forget(b);
    dt = timed_find(loop, b, "quiet", &o, &t);
    diag("find with replies = 1: answered in %.3f s", dt);
    ok(dt >= 0 && dt < 6.0 && t.err == RENDEZVOUS_OK && t.n == 1, "replies = 1: the first answer is enough (%.3f s)", dt);
    rendezvous_find_options_init(&o);
    o.deadline = 0.3;
    const char *only_mute[1] = {mute};
    cfg.points = only_mute;
    cfg.npoints = 1;
    struct rendezvous_client *m = NULL;
    rendezvous_client_new(loop, &cfg, &m);
    dt = timed_find(loop, m, "quiet", &o, &t);
    diag("find at the silent point alone, deadline 0.3 s: answered in %.3f s", dt);
    ok(dt >= 0 && dt < 5.0 && t.err == RENDEZVOUS_ERR_TIMEOUT, "alone it times out at its deadline (err %d)", t.err);
    o.deadline = -1;
    is_int(rendezvous_find_peers_with(b, "quiet", &o, timed_cb, &t, NULL), RENDEZVOUS_ERR_INVALID, "a negative deadline");
    rendezvous_find_options_init(&o);
    o.protocol = "nope";
    is_int(rendezvous_find_peers_with(b, "quiet", &o, timed_cb, &t, NULL), RENDEZVOUS_ERR_UNSUPPORTED,
           "an unknown per-call protocol");
    o.protocol = "std";
    dt = timed_find(loop, b, "quiet", &o, &t);
    ok(t.err == RENDEZVOUS_OK && t.n == 1, "a std find from a waku0 client sees the same registration (%zu)", t.n);
    rendezvous_advert_stop(ad);
    rendezvous_client_free(m);
    rendezvous_client_free(b);
    rendezvous_client_free(a);
    close(silent);
    run_until(loop, NULL, 0.1);
    point_stop(&p);
    ev_loop_destroy(loop);
}

/* ---- points added and removed while advertising ------------------------------------------------- */

struct advert_log {
    unsigned registered;
};

static void log_event(void *arg, const struct rendezvous_advert_event *ev)
{
    ((struct advert_log *)arg)->registered += ev->err == 0;
}

static bool registered_at_least(struct ev_loop *loop, const struct advert_log *l, unsigned n)
{
    for (int i = 0; i < 100 && l->registered < n; i++)
        run_until(loop, NULL, 0.05);
    return l->registered >= n;
}

static void test_points_at_run_time(void)
{
    struct ev_loop *loop = ev_loop_new(0);
    struct point_srv p, q;
    if (!ok(point_start(loop, &p, PING_STREAM) == RDV_OK && point_start(loop, &q, PING_STREAM) == RDV_OK,
            "two points")) {
        ev_loop_destroy(loop);
        return;
    }
    const char *addrs[1] = {"/ip4/10.0.0.9/tcp/9"};
    struct rendezvous_config cfg;
    rendezvous_config_init(&cfg);
    cfg.addrs = addrs;
    cfg.naddrs = 1;
    cfg.protocol = "std";
    struct rendezvous_client *a = NULL;
    is_int(rendezvous_client_new(loop, &cfg, &a), RENDEZVOUS_OK, "a client with no point yet");
    char aid[RDV_PEERID_TEXT_MAX];
    rendezvous_client_peer_id(a, aid, sizeof(aid));
    const char *want[1] = {aid};
    struct advert_log log = {0};
    struct rendezvous_advert *ad;
    is_int(rendezvous_advertise(a, "rt", 0, log_event, &log, &ad), RENDEZVOUS_OK, "advertising with no point");
    is_int(rendezvous_client_add_point(a, p.addr), RENDEZVOUS_OK, "point p added");
    is_int(rendezvous_client_add_point(a, p.addr), RENDEZVOUS_ERR_INVALID, "p again: refused");
    is_int(rendezvous_client_add_point(a, "junk"), RENDEZVOUS_ERR_INVALID, "junk: refused");
    ok(registered_at_least(loop, &log, 1), "the running advert registered at p");
    struct rendezvous_client *bp = client_in(loop, p.addr, NULL, "std", NULL);
    struct rendezvous_client *bq = client_in(loop, q.addr, NULL, "std", NULL);
    find_is(bp, "rt", want, 1, "p knows a");
    is_int(rendezvous_client_add_point(a, q.addr), RENDEZVOUS_OK, "point q added");
    ok(registered_at_least(loop, &log, 2), "the advert registered at q too");
    find_is(bq, "rt", want, 1, "q knows a");
    is_int((int)rendezvous_client_npoints(a), 2, "two points");
    is_int(rendezvous_client_remove_point(a, p.addr), RENDEZVOUS_OK, "p removed while advertising");
    is_int(rendezvous_client_remove_point(a, p.addr), RENDEZVOUS_ERR_NOT_FOUND, "p again: not found");
    run_until(loop, NULL, 0.3);
    forget(bp);
    find_is(bp, "rt", NULL, 0, "p no longer holds a (UNREGISTER on removal)");
    is_int((int)rendezvous_client_npoints(a), 1, "one point");
    find_is(bq, "rt", want, 1, "q still knows a");
    is_int(rendezvous_client_add_point(a, p.addr), RENDEZVOUS_OK, "p added back");
    ok(registered_at_least(loop, &log, 3), "the advert registered at p again");
    forget(bp);
    find_is(bp, "rt", want, 1, "p knows a again");
    struct timed_answer t;
    double dt = timed_find(loop, a, "rt", NULL, &t);
    ok(dt >= 0 && t.err == RENDEZVOUS_OK, "a's own find asks both points (err %d)", t.err);
    rendezvous_advert_stop(ad);
    rendezvous_client_flush(a, 2);
    rendezvous_client_free(a);
    rendezvous_client_free(bp);
    rendezvous_client_free(bq);
    run_until(loop, NULL, 0.1);
    point_stop(&p);
    point_stop(&q);
    ev_loop_destroy(loop);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_config_errors();
    test_unreachable();
    test_point();
    test_ping_variants();
    test_dialects();
    test_silent_point();
    test_points_at_run_time();
    return tap_done();
}
