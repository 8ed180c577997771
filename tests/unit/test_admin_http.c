/* test_admin_http.c: the admin endpoint (src/admin/) over real loopback HTTP on its own libev
 * loop, with libmicrohttpd in external epoll mode as in the daemon.
 *
 * The store is the real memory store behind a gate that holds every call until the test opens
 * it, the way the postgres store answers later: so the suspend/resume path is tested without a
 * database, deterministically (a held request gets no bytes however long the loop runs; opening
 * the gate makes the answer arrive). Also: a request orphaned by rdv_admin_stop while its store
 * call is held (ASan checks nothing is touched after free or leaked), keep-alive, the token,
 * error statuses, hostile paths and headers, and the connection limit. The black-box API tests
 * with real registrations are tests/admin/api.mjs. */
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin/admin.h"
#include "p2p/keys.h"
#include "p2p/multiaddr.h"
#include "p2p/peer_record.h"
#include "store/memory.h"
#include "tap.h"
#include "util/err.h"

/* ---- the gated store: holds calls until gate_open() --------------------------------------- */

enum held_kind { H_HEALTH, H_STATS, H_LIST_NS, H_LIST_REGS };

struct held {
    enum held_kind kind;
    void *cb;
    void *arg;
    char ns[RDV_NS_MAX];
    size_t ns_len;
    uint32_t limit;
    struct held *next;
};

struct gate {
    struct rdv_store base;
    struct rdv_store *inner;
    bool closed;           /* hold calls */
    struct held *held;
    int nheld;
};

static void gate_hold(struct gate *g, enum held_kind kind, void *cb, void *arg, const char *ns, size_t ns_len,
                      uint32_t limit)
{
    struct held *h = calloc(1, sizeof(*h));
    *h = (struct held){.kind = kind, .cb = cb, .arg = arg, .ns_len = ns_len, .limit = limit, .next = g->held};
    if (ns_len)
        memcpy(h->ns, ns, ns_len);
    g->held = h;
    g->nheld++;
}

static void gate_run(struct gate *g, struct held *h)
{
    switch (h->kind) {
    case H_HEALTH: rdv_store_health(g->inner, (rdv_store_health_cb)h->cb, h->arg); break;
    case H_STATS: rdv_store_stats(g->inner, (rdv_store_stats_cb)h->cb, h->arg); break;
    case H_LIST_NS:
        rdv_store_list_namespaces(g->inner, NULL, 0, NULL, 0, h->limit, (rdv_store_ns_list_cb)h->cb, h->arg);
        break;
    case H_LIST_REGS:
        rdv_store_list_registrations(g->inner, 0, h->ns, h->ns_len, NULL, h->limit, (rdv_store_reg_list_cb)h->cb, h->arg);
        break;
    }
}

/* Answers everything held so far (calls made while answering are held again if still closed). */
static void gate_release(struct gate *g)
{
    struct held *list = g->held;
    g->held = NULL;
    g->nheld = 0;
    while (list) {
        struct held *h = list;
        list = h->next;
        gate_run(g, h);
        free(h);
    }
}

#define GATE(s) ((struct gate *)(s))
static void g_health(struct rdv_store *s, rdv_store_health_cb cb, void *arg)
{
    if (GATE(s)->closed)
        gate_hold(GATE(s), H_HEALTH, (void *)cb, arg, NULL, 0, 0);
    else
        rdv_store_health(GATE(s)->inner, cb, arg);
}
static void g_stats(struct rdv_store *s, rdv_store_stats_cb cb, void *arg)
{
    if (GATE(s)->closed)
        gate_hold(GATE(s), H_STATS, (void *)cb, arg, NULL, 0, 0);
    else
        rdv_store_stats(GATE(s)->inner, cb, arg);
}
static void g_list_ns(struct rdv_store *s, const char *prefix, size_t prefix_len, const char *cursor, size_t cursor_len,
                      uint32_t limit, rdv_store_ns_list_cb cb, void *arg)
{
    if (GATE(s)->closed && !prefix_len && !cursor_len)
        gate_hold(GATE(s), H_LIST_NS, (void *)cb, arg, NULL, 0, limit);
    else
        rdv_store_list_namespaces(GATE(s)->inner, prefix, prefix_len, cursor, cursor_len, limit, cb, arg);
}
static void g_list_regs(struct rdv_store *s, uint8_t kind, const char *ns, size_t ns_len, const struct rdv_peerid *cursor,
                        uint32_t limit, rdv_store_reg_list_cb cb, void *arg)
{
    if (GATE(s)->closed && !cursor)
        gate_hold(GATE(s), H_LIST_REGS, (void *)cb, arg, ns, ns_len, limit);
    else
        rdv_store_list_registrations(GATE(s)->inner, kind, ns, ns_len, cursor, limit, cb, arg);
}
static void g_close(struct rdv_store *s) { (void)s; }
static const struct rdv_store_ops gate_ops = {.kind = "gated", .health = g_health, .stats = g_stats,
                                              .list_namespaces = g_list_ns, .list_registrations = g_list_regs,
                                              .close = g_close};

/* ---- fixture: loop, store, telemetry, admin ---------------------------------------------- */

struct fixture {
    struct ev_loop *loop;
    struct gate gate;
    struct rdv_telemetry tm;
    struct rdv_admin *admin;
    int port;
    struct rdv_log log;
};

struct guard_cfg {
    unsigned max_connections, request_timeout_s, max_per_ip; /* 0: the default */
};

static int fixture_start_guard(struct fixture *f, const char *token, struct guard_cfg g)
{
    memset(f, 0, sizeof(*f));
    f->log.level = RDV_LOG_ERROR;
    f->loop = ev_loop_new(EVFLAG_AUTO);
    f->gate = (struct gate){.base = {.ops = &gate_ops}, .inner = rdv_store_memory_new(NULL)};
    if (rdv_telemetry_init(&f->tm, "9.9.9-test"))
        return -1;
    struct rdv_admin_config cfg;
    rdv_admin_config_defaults(&cfg);
    cfg.listen = "127.0.0.1:0";
    cfg.token = token;
    if (g.max_connections)
        cfg.max_connections = g.max_connections;
    if (g.request_timeout_s)
        cfg.request_timeout_s = g.request_timeout_s;
    if (g.max_per_ip)
        cfg.max_per_ip = g.max_per_ip;
    struct rdv_admin_sources src = {.store = &f->gate.base, .telemetry = &f->tm, .version = "9.9.9-test"};
    char err[256];
    if (rdv_admin_start(f->loop, &cfg, &src, &f->log, &f->admin, err, sizeof(err))) {
        diag("admin start: %s", err);
        return -1;
    }
    const char *colon = strrchr(rdv_admin_address(f->admin), ':');
    f->port = colon ? atoi(colon + 1) : 0;
    return f->port > 0 ? 0 : -1;
}

static int fixture_start(struct fixture *f, const char *token, unsigned max_connections)
{
    return fixture_start_guard(f, token, (struct guard_cfg){.max_connections = max_connections});
}

static void fixture_stop(struct fixture *f)
{
    rdv_admin_stop(f->admin);
    f->admin = NULL;
    f->gate.closed = false;
    gate_release(&f->gate); /* orphaned requests are freed by their callbacks */
    rdv_store_close(f->gate.inner);
    rdv_telemetry_free(&f->tm);
    ev_loop_destroy(f->loop);
}

/* ---- a tiny blocking HTTP client driven alongside the loop --------------------------------- */

static int client_connect(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void client_send(int fd, const char *text)
{
    size_t n = strlen(text), off = 0;
    while (off < n) {
        ssize_t w = send(fd, text + off, n - off, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        off += (size_t)w;
    }
}

struct reply {
    char data[1 << 17];
    size_t len;
    bool eof;
};

/* Runs the loop and reads fd for `spins` rounds (~10 ms each) or until want(r) holds. */
static void client_pump(struct fixture *f, int fd, struct reply *r, int spins, bool (*want)(const struct reply *))
{
    for (int i = 0; i < spins && !r->eof && !(want && want(r)); i++) {
        ev_run(f->loop, EVRUN_NOWAIT);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10) <= 0)
            continue;
        ssize_t n = recv(fd, r->data + r->len, sizeof(r->data) - 1 - r->len, 0);
        if (n <= 0)
            r->eof = true;
        else
            r->len += (size_t)n;
        r->data[r->len] = '\0';
    }
}

/* A complete response: headers plus Content-Length bytes of body. */
static bool complete(const struct reply *r)
{
    const char *end = strstr(r->data, "\r\n\r\n");
    const char *cl = strstr(r->data, "Content-Length: ");
    return end && cl && r->len >= (size_t)(end + 4 - r->data) + strtoul(cl + 16, NULL, 10);
}

static int status_of(const struct reply *r)
{
    return strncmp(r->data, "HTTP/1.1 ", 9) == 0 ? atoi(r->data + 9) : 0;
}

static const char *body_of(const struct reply *r)
{
    const char *end = strstr(r->data, "\r\n\r\n");
    return end ? end + 4 : "";
}

/* One request on a fresh connection, answered with the gate as it is. */
static int get(struct fixture *f, const char *request, struct reply *r)
{
    memset(r, 0, sizeof(*r));
    int fd = client_connect(f->port);
    if (fd < 0)
        return 0;
    client_send(fd, request);
    client_pump(f, fd, r, 500, complete);
    close(fd);
    return status_of(r);
}

#define REQ(path) "GET " path " HTTP/1.1\r\nHost: t\r\n\r\n"

/* ---- tests ----------------------------------------------------------------------------------- */

static void put_done(void *arg, enum rdv_store_status st)
{
    (void)arg;
    if (st != RDV_STORE_OK)
        diag("put: %s", rdv_store_status_name(st));
}

static void put_record(struct fixture *f, const char *ns, struct rdv_privkey *key)
{
    struct rdv_peer_record rec = {.seq = 7};
    struct rdv_buf ma, env;
    rdv_buf_init(&ma, 0);
    rdv_buf_init(&env, 0);
    rdv_privkey_generate(RDV_KEY_ED25519, key);
    rdv_peerid_from_pubkey(&key->pub, &rec.peer_id);
    rdv_ma_from_text("/ip4/10.1.2.3/tcp/4000", &ma);
    rdv_peer_record_add_addr(&rec, rdv_buf_head(&ma), ma.len);
    rdv_signed_peer_record_seal(key, &rec, &env);
    struct rdv_store_put p = {.ns = ns, .ns_len = strlen(ns), .peer = &rec.peer_id, .seq = 7,
                              .envelope = rdv_buf_head(&env), .envelope_len = env.len, .ttl_s = 60};
    rdv_store_put(f->gate.inner, &p, put_done, NULL);
    rdv_peer_record_free(&rec);
    rdv_buf_free(&ma);
    rdv_buf_free(&env);
}

static void test_held_request_is_suspended_then_answered(void)
{
    struct fixture f;
    if (!ok(fixture_start(&f, NULL, 0) == 0, "admin starts on 127.0.0.1:0"))
        return;
    f.gate.closed = true;
    int fd = client_connect(f.port);
    client_send(fd, REQ("/api/v1/stats"));
    struct reply r = {0};
    client_pump(&f, fd, &r, 30, NULL);
    ok(r.len == 0 && !r.eof && f.gate.nheld == 1, "while the store holds the call: no bytes, connection open");
    gate_release(&f.gate); /* health answers; stats is the next call, held again */
    client_pump(&f, fd, &r, 30, NULL);
    ok(r.len == 0 && f.gate.nheld == 1, "the chained stats call is held in turn");
    f.gate.closed = false;
    gate_release(&f.gate);
    client_pump(&f, fd, &r, 500, complete);
    is_int(status_of(&r), 200, "answered once the store answers");
    ok(strstr(body_of(&r), "\"kind\":\"gated\"") && strstr(body_of(&r), "\"healthy\":true"), "with the store's kind and health");
    /* keep-alive: a second request on the same connection */
    memset(&r, 0, sizeof(r));
    client_send(fd, REQ("/healthz"));
    client_pump(&f, fd, &r, 500, complete);
    is_int(status_of(&r), 200, "the connection is kept alive for the next request");
    close(fd);
    fixture_stop(&f);
}

static void test_stop_with_held_request(void)
{
    struct fixture f;
    if (!ok(fixture_start(&f, NULL, 0) == 0, "admin starts"))
        return;
    f.gate.closed = true;
    int fd = client_connect(f.port), fd2 = client_connect(f.port);
    client_send(fd, REQ("/api/v1/namespaces"));
    client_send(fd2, REQ("/readyz"));
    struct reply r = {0}, r2 = {0};
    client_pump(&f, fd, &r, 20, NULL);
    client_pump(&f, fd2, &r2, 20, NULL);
    is_int(f.gate.nheld, 2, "two requests wait for the store");
    close(fd2); /* this client gives up while its request is held */
    client_pump(&f, fd, &r, 5, NULL);
    rdv_admin_stop(f.admin);
    f.admin = NULL;
    client_pump(&f, fd, &r, 50, NULL);
    ok(r.eof, "stopping closes the waiting connection");
    close(fd);
    fixture_stop(&f); /* releases the held calls: their requests are orphans now */
    ok(1, "late store answers for closed requests are harmless (ASan watches)");
}

static void test_data_endpoints(void)
{
    struct fixture f;
    if (!ok(fixture_start(&f, NULL, 0) == 0, "admin starts"))
        return;
    struct rdv_privkey k1, k2;
    put_record(&f, "a/b", &k1);
    put_record(&f, "a/b", &k2);
    put_record(&f, "zz", &k2);
    struct reply r;
    is_int(get(&f, REQ("/api/v1/namespaces?limit=1"), &r), 200, "namespaces page 1");
    ok(strstr(body_of(&r), "{\"name\":\"a/b\",\"record_kind\":\"libp2p-peer-record\",\"registrations\":2,") &&
           strstr(body_of(&r), "\"by_protocol\":{\"/vac/waku/rendezvous/0.0.1\":2}") &&
           strstr(body_of(&r), "\"next_cursor\":\"bmEvYgAA\""),
       "a/b with 2 registrations of kind 0 by waku 0.0.1, cursor = base64url(n a/b 0x00 kind 0)");
    is_int(get(&f, REQ("/api/v1/namespaces?limit=1&cursor=bmEvYgAA"), &r), 200, "namespaces page 2");
    ok(strstr(body_of(&r), "\"name\":\"zz\"") && strstr(body_of(&r), "\"next_cursor\":null"), "zz, last page");
    is_int(get(&f, REQ("/api/v1/namespaces?prefix=z"), &r), 200, "prefix filter");
    ok(strstr(body_of(&r), "\"zz\"") && !strstr(body_of(&r), "a/b"), "only zz");
    is_int(get(&f, REQ("/api/v1/namespaces/a%2Fb/registrations?limit=1"), &r), 200, "registrations of a/b");
    ok(strstr(body_of(&r), "\"addrs\":[\"/ip4/10.1.2.3/tcp/4000\"]") && strstr(body_of(&r), "\"seq\":\"7\"") &&
           strstr(body_of(&r), "\"namespace\":\"a/b\"") && !strstr(body_of(&r), "\"next_cursor\":null"),
       "addresses as text, seq as text, a cursor to page 2");
    char path[1024], cursor[128];
    const char *c = strstr(body_of(&r), "\"next_cursor\":\"");
    snprintf(cursor, sizeof(cursor), "%s", c ? c + 15 : "");
    *strchrnul(cursor, '"') = '\0';
    snprintf(path, sizeof(path), "GET /api/v1/namespaces/a/b/registrations?cursor=%s HTTP/1.1\r\nHost: t\r\n\r\n", cursor);
    is_int(get(&f, path, &r), 200, "page 2 with an unencoded '/' in the namespace");
    ok(strstr(body_of(&r), "\"next_cursor\":null") && strstr(body_of(&r), "\"peer_id\":\"12D3KooW"), "the other peer");
    is_int(get(&f, REQ("/api/v1/namespaces/none%00x/registrations"), &r), 200, "a namespace with a NUL byte");
    ok(strstr(body_of(&r), "\"namespace\":\"none\\u0000x\"") && strstr(body_of(&r), "\"registrations\":[]"),
       "is data, escaped in JSON, and empty");
    is_int(get(&f, REQ("/metrics"), &r), 200, "/metrics");
    ok(strstr(body_of(&r), "rendezvous_registrations 3\n") && strstr(body_of(&r), "rendezvous_namespaces 2\n") &&
           strstr(body_of(&r), "rendezvous_build_info{version=\"9.9.9-test\"} 1\n") &&
           strstr(r.data, "Content-Type: text/plain; version=0.0.4"),
       "gauges from the store, build info, text format 0.0.4");
    is_int(get(&f, REQ("/"), &r), 200, "the page at /");
    ok(strstr(r.data, "Content-Type: text/html") && strstr(body_of(&r), "<html"), "is HTML");
    is_int(get(&f, REQ("/admin.js"), &r), 200, "its script");
    fixture_stop(&f);
    rdv_privkey_clear(&k1);
    rdv_privkey_clear(&k2);
}

static void test_errors(void)
{
    struct fixture f;
    if (!ok(fixture_start(&f, NULL, 0) == 0, "admin starts"))
        return;
    struct reply r;
    static const struct { const char *req; int status; const char *what; } cases[] = {
        {REQ("/nope"), 404, "unknown path"},
        {REQ("/api/v1/namespaces/x"), 404, "namespace without /registrations"},
        {REQ("/api/v1/namespaces//registrations"), 400, "empty namespace"},
        {REQ("/api/v1/namespaces/%zz/registrations"), 400, "bad escape in the namespace"},
        {REQ("/api/v1/namespaces?limit=0"), 400, "limit 0"},
        {REQ("/api/v1/namespaces?limit=1001"), 400, "limit over the cap"},
        {REQ("/api/v1/namespaces?limit=ten"), 400, "limit not a number"},
        {REQ("/api/v1/namespaces?cursor=!!"), 400, "cursor not base64url"},
        {REQ("/api/v1/namespaces?prefix=%"), 400, "bad escape in a query value"},
        {REQ("/api/v1/namespaces?limit=1&limit=2"), 400, "a parameter twice"},
        {REQ("/api/v1/namespaces?sort=name"), 400, "an unknown parameter"},
        {REQ("/api/v1/namespaces/a/registrations?cursor=YWFh"), 400, "a cursor that is no peer id"},
        {REQ("/api/v1/stats?x=1"), 400, "stats takes no parameters"},
        {"POST /api/v1/stats HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", 405, "POST"},
        {"DELETE /nope HTTP/1.1\r\nHost: t\r\n\r\n", 404, "DELETE of an unknown path"},
        {"GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello", 413, "a body"},
        {"HEAD /api/v1/stats HTTP/1.1\r\nHost: t\r\n\r\n", 200, "HEAD"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        is_int(get(&f, cases[i].req, &r), cases[i].status, "%s -> %d", cases[i].what, cases[i].status);
        if (cases[i].status >= 400)
            ok(strstr(body_of(&r), "{\"error\":\"") != NULL, "%s: the error is JSON", cases[i].what);
    }
    get(&f, "POST /healthz HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    ok(strstr(r.data, "Allow: GET, HEAD") != NULL, "405 names the allowed methods");
    /* a header block over the limit: our JSON 431 (MHD's own, for blocks beyond its memory, is HTML) */
    size_t big = RDV_ADMIN_HEADERS_MAX + 1024;
    char *req = malloc(big + 64);
    int n = snprintf(req, big + 64, "GET /healthz HTTP/1.1\r\nX-Big: ");
    memset(req + n, 'a', big);
    strcpy(req + n + big, "\r\n\r\n");
    int st = get(&f, req, &r);
    is_int(st, 431, "an oversize request is refused with 431");
    ok(strstr(body_of(&r), "{\"error\":\"request line and headers exceed") != NULL, "431: the error is JSON");
    free(req);
    is_int(get(&f, REQ("/healthz"), &r), 200, "and the server still answers");
    fixture_stop(&f);
}

static void test_token(void)
{
    struct fixture f;
    if (!ok(fixture_start(&f, "tok-123", 0) == 0, "admin starts with a token"))
        return;
    struct reply r;
    is_int(get(&f, REQ("/healthz"), &r), 200, "/healthz needs no token");
    static const char *const closed[] = {"/", "/admin.js", "/readyz", "/metrics", "/api/v1/stats", "/api/v1/namespaces",
                                         "/api/v1/namespaces/x/registrations", "/nope"};
    for (size_t i = 0; i < sizeof(closed) / sizeof(closed[0]); i++) {
        char req[256];
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", closed[i]);
        is_int(get(&f, req, &r), 401, "%s without the token: 401", closed[i]);
    }
    ok(strstr(r.data, "WWW-Authenticate: Bearer") && strstr(r.data, "WWW-Authenticate: Basic"),
       "401 offers Bearer and Basic");
    is_int(get(&f, "GET /api/v1/stats HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer tok-124\r\n\r\n", &r), 401,
           "a wrong token: 401");
    is_int(get(&f, "GET /api/v1/stats HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer tok-123\r\n\r\n", &r), 200,
           "the token: 200");
    /* "u:tok-123" */
    is_int(get(&f, "GET / HTTP/1.1\r\nHost: t\r\nAuthorization: Basic dTp0b2stMTIz\r\n\r\n", &r), 200,
           "Basic with the token as password: 200");
    fixture_stop(&f);
}

/* guard.c: at the cap a new client evicts the oldest connection not being answered, so a probe is
 * always served however many idle or slow clients hold the slots. */
static void test_connection_limit(void)
{
    struct fixture f;
    if (!ok(fixture_start(&f, NULL, 2) == 0, "admin starts with 2 connections at most"))
        return;
    int a = client_connect(f.port), b = client_connect(f.port);
    struct reply ra = {0}, rb = {0}, rc = {0};
    client_pump(&f, a, &ra, 5, NULL);
    client_send(b, "GET /healthz HTTP/1.1\r\nHost: t\r\n"); /* b is half-way through its headers */
    client_pump(&f, b, &rb, 5, NULL);
    int c = client_connect(f.port);
    client_send(c, REQ("/healthz"));
    client_pump(&f, c, &rc, 500, complete);
    is_int(status_of(&rc), 200, "a third connection is served at once");
    client_pump(&f, a, &ra, 200, NULL);
    ok(ra.eof && ra.len == 0, "the oldest idle one made room: closed unanswered");
    is_int((int)rdv_metric_value(f.tm.admin_cut_evicted), 1, "counted as evicted");
    client_send(b, "\r\n");
    client_pump(&f, b, &rb, 500, complete);
    is_int(status_of(&rb), 200, "the second, still in the slots, is served");
    close(a);
    close(b);
    close(c);
    fixture_stop(&f);
}

/* The deadline is absolute: a client trickling header bytes faster than any idle timeout is cut. */
static void test_request_deadline(void)
{
    struct fixture f;
    if (!ok(fixture_start_guard(&f, NULL, (struct guard_cfg){.request_timeout_s = 1}) == 0,
            "admin starts with a 1 s request deadline"))
        return;
    int a = client_connect(f.port);
    struct reply ra = {0};
    const char *trickle = "GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    for (size_t i = 0; trickle[i] && !ra.eof; i++) {
        char one[2] = {trickle[i], 0};
        client_send(a, one);
        client_pump(&f, a, &ra, 5, NULL); /* ~50 ms a byte: ~2.5 s in all, were it not cut */
    }
    ok(ra.eof && ra.len == 0, "a trickling client is cut by the deadline, unanswered");
    is_int((int)rdv_metric_value(f.tm.admin_cut_deadline), 1, "counted as past the deadline");
    int b = client_connect(f.port);
    struct reply rb = {0};
    client_send(b, REQ("/healthz"));
    client_pump(&f, b, &rb, 500, complete);
    is_int(status_of(&rb), 200, "a prompt client is served");
    client_pump(&f, b, &rb, 50, NULL);
    client_send(b, REQ("/healthz")); /* keep-alive: the deadline starts again after an answer */
    memset(&rb, 0, sizeof(rb));
    client_pump(&f, b, &rb, 500, complete);
    is_int(status_of(&rb), 200, "and its next request on the same connection too");
    close(a);
    close(b);
    fixture_stop(&f);
}

static void test_per_ip(void)
{
    struct fixture f;
    if (!ok(fixture_start_guard(&f, NULL, (struct guard_cfg){.max_per_ip = 2}) == 0,
            "admin starts with 2 connections per address"))
        return;
    int a = client_connect(f.port), b = client_connect(f.port);
    struct reply ra = {0}, rb = {0}, rc = {0};
    client_pump(&f, a, &ra, 5, NULL);
    client_pump(&f, b, &rb, 5, NULL);
    int c = client_connect(f.port);
    client_send(c, REQ("/healthz"));
    client_pump(&f, c, &rc, 200, complete);
    ok(rc.eof && rc.len == 0, "a third from the same address is refused");
    is_int((int)rdv_metric_value(f.tm.admin_refused_per_ip), 1, "counted as refused per address");
    client_send(a, REQ("/healthz"));
    client_pump(&f, a, &ra, 500, complete);
    is_int(status_of(&ra), 200, "the first two are served");
    close(a);
    close(b);
    close(c);
    fixture_stop(&f);
}

static void test_start_errors(void)
{
    struct fixture f;
    if (fixture_start(&f, NULL, 0))
        return;
    struct rdv_admin_config cfg;
    rdv_admin_config_defaults(&cfg);
    struct rdv_admin_sources src = {.store = &f.gate.base, .telemetry = &f.tm, .version = "x"};
    struct rdv_admin *a = NULL;
    char err[256], addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", f.port);
    cfg.listen = addr;
    is_int(rdv_admin_start(f.loop, &cfg, &src, &f.log, &a, err, sizeof(err)), RDV_ERR_IO, "a port in use");
    ok(strstr(err, "Address already in use") != NULL, "is reported with its reason: %s", err);
    cfg.listen = "localhost:1";
    is_int(rdv_admin_start(f.loop, &cfg, &src, &f.log, &a, err, sizeof(err)), RDV_ERR_INVALID, "a host name");
    fixture_stop(&f);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_held_request_is_suspended_then_answered();
    test_stop_with_held_request();
    test_data_endpoints();
    test_errors();
    test_token();
    test_connection_limit();
    test_request_deadline();
    test_per_ip();
    test_start_errors();
    return tap_done();
}
