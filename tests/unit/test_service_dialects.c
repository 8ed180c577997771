/* test_service_dialects.c: the one service core under /rendezvous/1.0.0 (std) and
 * /vac/waku/rendezvous/1.0.0 (waku1), next to /vac/waku/rendezvous/0.0.1 (waku0), over one memory
 * store, end to end over real bytes: requests encoded by protobuf-c (proto/rendezvous_std.proto,
 * proto/rendezvous.proto) carrying real signed records (libp2p peer records and WakuPeerRecords),
 * responses decoded by protobuf-c. One check per rule of the service.c / dialect.c comments. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/keys.h"
#include "p2p/peer_record.h"
#include "p2p/peerid.h"
#include "p2p/record_kind.h"
#include "rendezvous.pb-c.h"
#include "rendezvous_std.pb-c.h"
#include "rendezvous/dialect.h"
#include "rendezvous/service.h"
#include "store/memory.h"
#include "tap.h"
#include "util/err.h"

#define T0 1700000000000LL
#define NOTTL (-1)   /* leave Register.ttl out */
#define NOLIMIT (-1) /* leave Discover.limit out */

struct tclock { int64_t now; };
static int64_t tclock_now(void *ctx) { return ((struct tclock *)ctx)->now; }

struct ident {
    struct rdv_privkey key;
    struct rdv_peerid id;
};

static void ident_new(struct ident *p)
{
    if (rdv_privkey_generate(RDV_KEY_ED25519, &p->key) || rdv_peerid_from_pubkey(&p->key.pub, &p->id)) {
        printf("Bail out! cannot make a key\n");
        exit(1);
    }
}

static const uint8_t ADDR_TCP[] = {0x04, 1, 2, 3, 4, 0x06, 0x0f, 0xa1};

static struct rdv_buf peer_rec(const struct ident *p, uint64_t seq)
{
    struct rdv_peer_record rec;
    memset(&rec, 0, sizeof(rec));
    rec.peer_id = p->id;
    rec.seq = seq;
    rdv_peer_record_add_addr(&rec, ADDR_TCP, sizeof(ADDR_TCP));
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    if (rdv_signed_peer_record_seal(&p->key, &rec, &b) != RDV_OK)
        diag("peer record seal failed");
    rdv_peer_record_free(&rec);
    return b;
}

static struct rdv_record_summary SUM;

static struct rdv_buf waku_rec(const struct ident *p, uint64_t seq)
{
    memset(&SUM, 0, sizeof(SUM));
    SUM.seq = seq;
    SUM.naddrs = 1;
    SUM.addrs[0] = (struct rdv_record_addr){ADDR_TCP, sizeof(ADDR_TCP)};
    SUM.mix_key = (const uint8_t *)"0xabcdef";
    SUM.mix_key_len = 8;
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    if (rdv_record_seal(&rdv_record_kind_waku, &p->key, &SUM, &b) != RDV_OK)
        diag("waku record seal failed");
    return b;
}

/* ---- requests -------------------------------------------------------------------------- */

static struct rdv_buf pack_std(const Rendezvous__Std__Message *m)
{
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    rdv_buf_reserve(&b, rendezvous__std__message__get_packed_size(m) + 1);
    rdv_buf_commit(&b, rendezvous__std__message__pack(m, rdv_buf_tail(&b)));
    return b;
}

static struct rdv_buf std_register(const char *ns, const struct rdv_buf *rec, int64_t ttl)
{
    Rendezvous__Std__Message__Register r = RENDEZVOUS__STD__MESSAGE__REGISTER__INIT;
    r.ns = (char *)ns;
    if (rec) {
        r.has_signedpeerrecord = 1;
        r.signedpeerrecord.data = rdv_buf_head(rec);
        r.signedpeerrecord.len = rec->len;
    }
    r.has_ttl = ttl != NOTTL;
    r.ttl = ttl == NOTTL ? 0 : (uint64_t)ttl;
    Rendezvous__Std__Message m = RENDEZVOUS__STD__MESSAGE__INIT;
    m.has_type = 1;
    m.type = RENDEZVOUS__STD__MESSAGE__MESSAGE_TYPE__REGISTER;
    m.register_ = &r;
    return pack_std(&m);
}

static struct rdv_buf std_discover(const char *ns, int64_t limit, const uint8_t *cookie, size_t cookie_len)
{
    Rendezvous__Std__Message__Discover d = RENDEZVOUS__STD__MESSAGE__DISCOVER__INIT;
    d.ns = (char *)ns;
    d.has_limit = limit != NOLIMIT;
    d.limit = limit == NOLIMIT ? 0 : (uint64_t)limit;
    d.has_cookie = cookie != NULL;
    d.cookie.data = (uint8_t *)cookie;
    d.cookie.len = cookie_len;
    Rendezvous__Std__Message m = RENDEZVOUS__STD__MESSAGE__INIT;
    m.has_type = 1;
    m.type = RENDEZVOUS__STD__MESSAGE__MESSAGE_TYPE__DISCOVER;
    m.discover = &d;
    return pack_std(&m);
}

static struct rdv_buf std_unregister(const char *ns)
{
    Rendezvous__Std__Message__Unregister u = RENDEZVOUS__STD__MESSAGE__UNREGISTER__INIT;
    u.ns = (char *)ns;
    Rendezvous__Std__Message m = RENDEZVOUS__STD__MESSAGE__INIT;
    m.has_type = 1;
    m.type = RENDEZVOUS__STD__MESSAGE__MESSAGE_TYPE__UNREGISTER;
    m.unregister = &u;
    return pack_std(&m);
}

static struct rdv_buf w0_pack(const Rendezvous__Pb__Message *m)
{
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    rdv_buf_reserve(&b, rendezvous__pb__message__get_packed_size(m) + 1);
    rdv_buf_commit(&b, rendezvous__pb__message__pack(m, rdv_buf_tail(&b)));
    return b;
}

static struct rdv_buf w0_register(const char *ns, const struct rdv_buf *rec, int64_t ttl)
{
    Rendezvous__Pb__Message__Register r = RENDEZVOUS__PB__MESSAGE__REGISTER__INIT;
    r.ns = (char *)ns;
    r.signedpeerrecord.data = rdv_buf_head(rec);
    r.signedpeerrecord.len = rec->len;
    r.ttl = ttl;
    Rendezvous__Pb__Message m = RENDEZVOUS__PB__MESSAGE__INIT;
    m.register_ = &r;
    return w0_pack(&m);
}

static struct rdv_buf w0_discover(const char *ns, int64_t limit)
{
    Rendezvous__Pb__Message__Discover d = RENDEZVOUS__PB__MESSAGE__DISCOVER__INIT;
    d.ns = (char *)ns;
    d.limit = limit;
    Rendezvous__Pb__Message m = RENDEZVOUS__PB__MESSAGE__INIT;
    m.type = RENDEZVOUS__PB__MESSAGE__MESSAGE_TYPE__DISCOVER;
    m.discover = &d;
    return w0_pack(&m);
}

/* ---- running --------------------------------------------------------------------------- */

#define MAXREGS 64
struct outcome {
    int rc, calls;
    bool silent;
    size_t response_len;
    enum rdv_status req_status;
    bool decoded, has_status;
    uint32_t status;
    bool has_ttl;
    uint64_t ttl;
    char text[64];
    size_t nregs;
    struct rdv_buf regs[MAXREGS]; /* envelopes, in answer order */
    char reg_ns[MAXREGS][300];
    uint64_t reg_ttl[MAXREGS];
    bool has_cookie;
    uint8_t cookie[64];
    size_t cookie_len;
};
static struct outcome O;

static void outcome_reset(void)
{
    for (size_t i = 0; i < O.nregs; i++)
        rdv_buf_free(&O.regs[i]);
    memset(&O, 0, sizeof(O));
}

static void keep_reg(const char *ns, const uint8_t *rec, size_t len, uint64_t ttl)
{
    if (O.nregs >= MAXREGS)
        return;
    rdv_buf_init(&O.regs[O.nregs], 0);
    rdv_buf_append(&O.regs[O.nregs], rec, len);
    snprintf(O.reg_ns[O.nregs], sizeof(O.reg_ns[0]), "%s", ns ? ns : "");
    O.reg_ttl[O.nregs] = ttl;
    O.nregs++;
}

static void done_std(struct rdv_service_request *r)
{
    Rendezvous__Std__Message *m = rendezvous__std__message__unpack(NULL, r->response.len, rdv_buf_head(&r->response));
    if (!m)
        return;
    O.decoded = true;
    if (m->registerresponse) {
        O.has_status = m->registerresponse->has_status;
        O.status = m->registerresponse->status;
        O.has_ttl = m->registerresponse->has_ttl;
        O.ttl = m->registerresponse->ttl;
        snprintf(O.text, sizeof(O.text), "%s", m->registerresponse->statustext ? m->registerresponse->statustext : "");
    } else if (m->discoverresponse) {
        const Rendezvous__Std__Message__DiscoverResponse *d = m->discoverresponse;
        O.has_status = d->has_status;
        O.status = d->status;
        snprintf(O.text, sizeof(O.text), "%s", d->statustext ? d->statustext : "");
        for (size_t i = 0; i < d->n_registrations; i++)
            keep_reg(d->registrations[i]->ns, d->registrations[i]->signedpeerrecord.data,
                     d->registrations[i]->signedpeerrecord.len, d->registrations[i]->ttl);
        O.has_cookie = d->has_cookie && d->cookie.len <= sizeof(O.cookie);
        if (O.has_cookie) {
            memcpy(O.cookie, d->cookie.data, d->cookie.len);
            O.cookie_len = d->cookie.len;
        }
    }
    rendezvous__std__message__free_unpacked(m, NULL);
}

static void done_w0(struct rdv_service_request *r)
{
    Rendezvous__Pb__Message *m = rendezvous__pb__message__unpack(NULL, r->response.len, rdv_buf_head(&r->response));
    if (!m)
        return;
    O.decoded = true;
    if (m->registerresponse) {
        O.status = m->registerresponse->status;
        O.ttl = (uint64_t)m->registerresponse->ttl;
    } else if (m->discoverresponse) {
        O.status = m->discoverresponse->status;
        for (size_t i = 0; i < m->discoverresponse->n_registrations; i++)
            keep_reg(m->discoverresponse->registrations[i]->ns, m->discoverresponse->registrations[i]->signedpeerrecord.data,
                     m->discoverresponse->registrations[i]->signedpeerrecord.len,
                     (uint64_t)m->discoverresponse->registrations[i]->ttl);
    }
    rendezvous__pb__message__free_unpacked(m, NULL);
}

static void done_cb(void *arg, struct rdv_service_request *r)
{
    (void)arg;
    O.calls++;
    O.silent = r->silent;
    O.response_len = r->response.len;
    O.req_status = r->status;
    if (r->response.len == 0)
        return;
    if (r->dialect->wire == &rdv_wire_layout_std)
        done_std(r);
    else
        done_w0(r);
}

struct env {
    struct tclock clock;
    struct rdv_clock clk;
    struct rdv_store *store;
    struct rdv_service_config c0, cs, cw; /* waku0, std, waku1 */
    uint8_t key[RDV_COOKIE_KEY_LEN];
};

static void env_init(struct env *e)
{
    e->clock.now = T0;
    e->clk = (struct rdv_clock){tclock_now, &e->clock};
    e->store = rdv_store_memory_new(&e->clk);
    for (int i = 0; i < RDV_COOKIE_KEY_LEN; i++)
        e->key[i] = (uint8_t)(0xa0 + i);
    rdv_service_config_for(&e->c0, rdv_dialect_get(RDV_DIALECT_WAKU0));
    rdv_service_config_for(&e->cs, rdv_dialect_get(RDV_DIALECT_STD));
    rdv_service_config_for(&e->cw, rdv_dialect_get(RDV_DIALECT_WAKU1));
    e->cs.cookie_key = e->key;
    e->cw.cookie_key = e->key;
}

static void env_free(struct env *e)
{
    rdv_store_close(e->store);
    outcome_reset();
}

/* Runs one request; returns the response status (-1: none decoded, -2: silent). */
static int run(struct env *e, const struct rdv_service_config *cfg, const struct rdv_peerid *remote, struct rdv_buf b)
{
    (void)e;
    outcome_reset();
    O.rc = rdv_service_handle(cfg, e->store, remote, rdv_buf_head(&b), b.len, done_cb, NULL, NULL);
    rdv_buf_free(&b);
    if (O.rc != RDV_OK || O.calls != 1)
        return -1;
    if (O.silent)
        return -2;
    return O.decoded ? (int)O.status : -1;
}

static bool got(size_t i, const struct rdv_buf *rec)
{
    return i < O.nregs && O.regs[i].len == rec->len && memcmp(rdv_buf_head(&O.regs[i]), rdv_buf_head(rec), rec->len) == 0;
}

static bool got_any(const struct rdv_buf *rec)
{
    for (size_t i = 0; i < O.nregs; i++)
        if (got(i, rec))
            return true;
    return false;
}

/* ---- REGISTER ---------------------------------------------------------------------------- */

static void test_register_rules(void)
{
    struct env e;
    env_init(&e);
    struct ident a, b;
    ident_new(&a);
    ident_new(&b);
    struct rdv_buf pa = peer_rec(&a, 1), wa = waku_rec(&a, 1), pb = peer_rec(&b, 1);
    struct { const char *name; struct rdv_service_config *cfg; struct rdv_buf *rec; uint32_t def, min; } D[] = {
        {"std", &e.cs, &pa, 7200, 1}, {"waku1", &e.cw, &wa, 60, 60}};
    char ns255[256], ns256[257];
    memset(ns255, 'n', 255);
    ns255[255] = 0;
    memset(ns256, 'n', 256);
    ns256[256] = 0;
    for (int d = 0; d < 2; d++) {
        const char *n = D[d].name;
        struct rdv_service_config *c = D[d].cfg;
        is_int(run(&e, c, &a.id, std_register("", D[d].rec, 120)), RDV_STATUS_E_INVALID_NAMESPACE, "%s: REGISTER ns \"\": 100", n);
        is_str(O.text, "unspecified namespace", "%s:   'unspecified namespace'", n);
        is_int(run(&e, c, &a.id, std_register(NULL, D[d].rec, 120)), RDV_STATUS_E_INVALID_NAMESPACE, "%s: REGISTER ns absent: 100", n);
        ok(O.has_status && O.has_ttl && O.ttl == 0, "%s:   status and ttl 0 written explicitly (proto2)", n);
        is_int(run(&e, c, &a.id, std_register(ns255, D[d].rec, 120)), RDV_STATUS_OK, "%s: ns of 255 bytes: OK", n);
        is_int(run(&e, c, &a.id, std_register(ns256, D[d].rec, 120)), RDV_STATUS_E_INVALID_NAMESPACE, "%s: ns of 256 bytes: 100", n);
        is_str(O.text, "namespace too long", "%s:   'namespace too long'", n);
        is_int(run(&e, c, &a.id, std_register("t", D[d].rec, NOTTL)), RDV_STATUS_OK, "%s: ttl absent: OK", n);
        is_int(O.ttl, D[d].def, "%s:   granted the default %u s", n, D[d].def);
        ok(O.has_status && O.status == 0, "%s:   status OK written explicitly", n);
        is_int(run(&e, c, &a.id, std_register("t", D[d].rec, 0)), RDV_STATUS_OK, "%s: ttl 0: OK", n);
        is_int(O.ttl, D[d].def, "%s:   granted the default %u s", n, D[d].def);
        is_int(run(&e, c, &a.id, std_register("t", D[d].rec, 72 * 3600)), RDV_STATUS_OK, "%s: ttl 72 h (max): OK", n);
        is_int(O.ttl, 72 * 3600, "%s:   granted 259200", n);
        is_int(run(&e, c, &a.id, std_register("t", D[d].rec, 72 * 3600 + 1)), RDV_STATUS_E_INVALID_TTL, "%s: ttl 72 h + 1 s: 102", n);
        is_str(O.text, "bad ttl", "%s:   'bad ttl'", n);
        is_int(run(&e, c, &a.id, std_register("t", D[d].rec, INT64_MAX)), RDV_STATUS_E_INVALID_TTL, "%s: ttl 2^63-1: 102", n);
        is_int(run(&e, c, &a.id, std_register("t", D[d].rec, D[d].min)), RDV_STATUS_OK, "%s: ttl %u (min): OK", n, D[d].min);
        is_int(run(&e, c, &b.id, std_register("t", D[d].rec, 120)), RDV_STATUS_E_INVALID_PEER_INFO,
               "%s: another peer's record: 101", n);
        is_str(O.text, "peer id mismatch", "%s:   'peer id mismatch'", n);
        is_int(run(&e, c, &a.id, std_register("t", NULL, 120)), RDV_STATUS_E_INVALID_PEER_INFO, "%s: no record: 101", n);
    }
    is_int(run(&e, &e.cw, &a.id, std_register("t", &wa, 59)), RDV_STATUS_E_INVALID_TTL, "waku1: ttl 59 (< 60): 102");
    is_int(run(&e, &e.cw, &a.id, std_register("t", &wa, 1)), RDV_STATUS_E_INVALID_TTL, "waku1: ttl 1: 102");
    is_int(run(&e, &e.cs, &a.id, std_register("t", &pa, 1)), RDV_STATUS_OK, "std: ttl 1: OK (min 1)");
    is_int(run(&e, &e.cw, &a.id, std_register("t", &pa, 120)), RDV_STATUS_E_INVALID_PEER_INFO,
           "waku1: a libp2p peer record (wrong kind): 101");
    is_str(O.text, "invalid peer record", "  'invalid peer record'");
    is_int(run(&e, &e.cs, &a.id, std_register("t", &wa, 120)), RDV_STATUS_E_INVALID_PEER_INFO,
           "std: a WakuPeerRecord (wrong kind): 101");
    is_int(run(&e, &e.c0, &a.id, w0_register("t", &wa, 10)), RDV_STATUS_E_INVALID_PEER_INFO,
           "waku0: a WakuPeerRecord (wrong kind): 101");
    is_int(run(&e, &e.c0, &a.id, w0_register("t", &pa, 10)), RDV_STATUS_OK, "waku0: the peer record: OK");
    is_int(run(&e, &e.c0, &a.id, w0_register("t", &pa, 21)), RDV_STATUS_E_INVALID_TTL, "waku0: ttl 21: 102");
    /* a stale record (lower seq) after a newer one */
    struct rdv_buf pa2 = peer_rec(&a, 2);
    is_int(run(&e, &e.cs, &a.id, std_register("s", &pa2, 120)), RDV_STATUS_OK, "std: seq 2: OK");
    is_int(run(&e, &e.cs, &a.id, std_register("s", &pa, 120)), RDV_STATUS_E_INVALID_PEER_INFO, "std: then seq 1: 101 (stale)");
    rdv_buf_free(&pa2);
    /* responses to garbage: none (the caller resets) */
    static const uint8_t resp[] = {0x08, 0x01};
    struct rdv_buf g;
    rdv_buf_init(&g, 0);
    rdv_buf_append(&g, resp, 2);
    is_int(run(&e, &e.cs, &a.id, g), -1, "std: a REGISTER_RESPONSE is not answered");
    is_int(O.rc, RDV_ERR_INVALID, "  RDV_ERR_INVALID: reset");
    rdv_buf_free(&pa);
    rdv_buf_free(&wa);
    rdv_buf_free(&pb);
    env_free(&e);
}

/* ---- DISCOVER -------------------------------------------------------------------------- */

static void test_discover_rules(void)
{
    struct env e;
    env_init(&e);
    struct ident p[6];
    struct rdv_buf rec[6];
    static const char *nss[] = {"ns/a", "ns/b", "ns/c"};
    for (int i = 0; i < 6; i++) {
        ident_new(&p[i]);
        rec[i] = peer_rec(&p[i], 1);
        run(&e, &e.cs, &p[i].id, std_register(nss[i % 3], &rec[i], 600));
    }
    is_int(run(&e, &e.cs, &p[0].id, std_discover(NULL, NOLIMIT, NULL, 0)), RDV_STATUS_OK, "std: DISCOVER ns absent: OK");
    is_int(O.nregs, 6, "  every namespace: 6 records");
    bool order = true;
    for (int i = 0; i < 6; i++)
        order = order && got((size_t)i, &rec[i]) && strcmp(O.reg_ns[i], nss[i % 3]) == 0;
    ok(order, "  in registration order, each under its own namespace");
    ok(O.has_cookie && O.cookie_len == RDV_COOKIE_LEN, "  with a 26-byte cookie");
    ok(O.reg_ttl[0] == 600, "  remaining ttl 600");
    is_int(run(&e, &e.cs, &p[0].id, std_discover("", NOLIMIT, NULL, 0)), RDV_STATUS_OK, "std: DISCOVER ns \"\": OK");
    is_int(O.nregs, 6, "  every namespace");
    is_int(run(&e, &e.cs, &p[0].id, std_discover("ns/b", NOLIMIT, NULL, 0)), RDV_STATUS_OK, "std: DISCOVER ns/b");
    ok(O.nregs == 2 && got(0, &rec[1]) && got(1, &rec[4]), "  its 2 records, in order");
    is_int(run(&e, &e.cs, &p[0].id, std_discover("none", NOLIMIT, NULL, 0)), RDV_STATUS_OK, "std: unknown namespace: OK");
    is_int(O.nregs, 0, "  no records");
    is_int(run(&e, &e.cs, &p[0].id, std_discover(NULL, 4, NULL, 0)), RDV_STATUS_OK, "std: limit 4");
    is_int(O.nregs, 4, "  4 records");
    is_int(run(&e, &e.cs, &p[0].id, std_discover(NULL, 0, NULL, 0)), RDV_STATUS_OK, "std: limit 0 (= default)");
    is_int(O.nregs, 6, "  all 6");
    e.cs.max_discover_limit = 3;
    e.cs.default_discover_limit = 2;
    is_int(run(&e, &e.cs, &p[0].id, std_discover(NULL, 1000, NULL, 0)), RDV_STATUS_OK, "std: limit 1000 with max 3");
    is_int(O.nregs, 3, "  capped to 3");
    is_int(run(&e, &e.cs, &p[0].id, std_discover(NULL, NOLIMIT, NULL, 0)), RDV_STATUS_OK, "std: limit absent with default 2");
    is_int(O.nregs, 2, "  the default 2");
    is_int(run(&e, &e.cs, &p[0].id, std_discover(NULL, (int64_t)UINT32_MAX + 5, NULL, 0)), RDV_STATUS_OK, "std: limit 2^32+4");
    is_int(O.nregs, 3, "  capped to 3 (no truncation to 4)");
    e.cs.max_discover_limit = 1000;
    e.cs.default_discover_limit = 1000;
    char ns256[257];
    memset(ns256, 'n', 256);
    ns256[256] = 0;
    is_int(run(&e, &e.cs, &p[0].id, std_discover(ns256, NOLIMIT, NULL, 0)), RDV_STATUS_E_INVALID_NAMESPACE,
           "std: DISCOVER ns of 256 bytes: 100");
    ok(O.has_status && !O.has_cookie && O.nregs == 0, "  no cookie, no records");
    /* waku1 shares nothing with std (another kind); waku0 shares it all */
    is_int(run(&e, &e.cw, &p[0].id, std_discover(NULL, NOLIMIT, NULL, 0)), RDV_STATUS_OK, "waku1: DISCOVER all: OK");
    is_int(O.nregs, 0, "  no peer records through waku1");
    is_int(run(&e, &e.c0, &p[0].id, w0_discover("ns/a", 0)), RDV_STATUS_OK, "waku0: DISCOVER ns/a");
    ok(O.nregs == 2 && got_any(&rec[0]) && got_any(&rec[3]), "  the 2 std registrations of ns/a");
    is_int(run(&e, &e.c0, &p[0].id, w0_discover("", 0)), RDV_STATUS_E_INVALID_NAMESPACE, "waku0: DISCOVER ns \"\": 100 (no 'all')");
    for (int i = 0; i < 6; i++)
        rdv_buf_free(&rec[i]);
    env_free(&e);
}

static void test_cookies(void)
{
    struct env e;
    env_init(&e);
    enum { N = 25 };
    struct ident p[N + 1];
    struct rdv_buf rec[N + 1];
    for (int i = 0; i <= N; i++) {
        ident_new(&p[i]);
        rec[i] = peer_rec(&p[i], 1);
    }
    for (int i = 0; i < N; i++) {
        e.clock.now = T0 + i; /* any clock: order is by registration, not time */
        run(&e, &e.cs, &p[i].id, std_register("page", &rec[i], 3600));
    }
    int seen[N + 1] = {0}, pages = 0, inorder = 1, total = 0;
    uint8_t cookie[64];
    size_t clen = 0;
    int next = 0;
    uint8_t first_cookie[64];
    size_t first_len = 0;
    for (;;) {
        int st = run(&e, &e.cs, &p[0].id, std_discover("page", 10, clen ? cookie : NULL, clen));
        if (st != RDV_STATUS_OK || !O.has_cookie)
            break;
        pages++;
        for (size_t i = 0; i < O.nregs; i++) {
            for (int k = 0; k <= N; k++)
                if (got(i, &rec[k]))
                    seen[k]++;
            if (!got(i, &rec[next]))
                inorder = 0;
            next++;
        }
        total += (int)O.nregs;
        memcpy(cookie, O.cookie, O.cookie_len);
        clen = O.cookie_len;
        if (pages == 1) {
            memcpy(first_cookie, cookie, clen);
            first_len = clen;
        }
        if (O.nregs == 0 || pages > 5)
            break;
    }
    is_int(pages, 4, "25 records, limit 10: pages of 10, 10, 5, then 0");
    is_int(total, 25, "  25 records in all");
    int once = 1;
    for (int k = 0; k < N; k++)
        once = once && seen[k] == 1;
    ok(once, "  each exactly once");
    ok(inorder, "  in registration order");
    is_int(run(&e, &e.cs, &p[0].id, std_discover("page", 10, cookie, clen)), RDV_STATUS_OK, "the last cookie again");
    ok(O.nregs == 0 && O.cookie_len == clen && memcmp(O.cookie, cookie, clen) == 0, "  nothing new; the same cookie back");

    /* a new registration and a refresh after the first page */
    run(&e, &e.cs, &p[N].id, std_register("page", &rec[N], 3600));
    run(&e, &e.cs, &p[3].id, std_register("page", &rec[3], 3600));
    is_int(run(&e, &e.cs, &p[0].id, std_discover("page", 100, cookie, clen)), RDV_STATUS_OK, "after the last page: new + refreshed");
    ok(O.nregs == 2 && got(0, &rec[N]) && got(1, &rec[3]), "  the new registration, then the refreshed one re-appears");
    is_int(run(&e, &e.cs, &p[0].id, std_discover("page", 10, first_cookie, first_len)), RDV_STATUS_OK, "the first page's cookie");
    ok(O.nregs == 10 && got(0, &rec[10]), "  resumes at record 10");
    run(&e, &e.cs, &p[0].id, std_discover("page", 100, first_cookie, first_len));
    bool three_last = O.nregs == 17 && got(15, &rec[N]) && got(16, &rec[3]);
    ok(three_last, "  10..24, the new one, then the refreshed record 3 (17 records after page 1)");

    /* refused cookies */
    uint8_t bad[64];
    for (size_t i = 0; i < clen; i++) {
        memcpy(bad, cookie, clen);
        bad[i] ^= 0x40;
        int st = run(&e, &e.cs, &p[0].id, std_discover("page", 10, bad, clen));
        if (st != RDV_STATUS_E_INVALID_COOKIE) {
            ok(0, "tampered cookie byte %zu: 103 (got %d)", i, st);
            break;
        }
        if (i == clen - 1)
            ok(1, "a cookie tampered in any of its 26 bytes: 103");
    }
    is_int(run(&e, &e.cs, &p[0].id, std_discover("page", 10, cookie, clen - 1)), RDV_STATUS_E_INVALID_COOKIE, "a cut cookie: 103");
    is_str(O.text, "invalid cookie", "  'invalid cookie'");
    ok(!O.has_cookie && O.nregs == 0, "  no cookie, no records");
    is_int(run(&e, &e.cs, &p[0].id, std_discover("other", 10, cookie, clen)), RDV_STATUS_E_INVALID_COOKIE,
           "a cookie of another namespace: 103");
    is_int(run(&e, &e.cs, &p[0].id, std_discover(NULL, 10, cookie, clen)), RDV_STATUS_E_INVALID_COOKIE,
           "a namespace's cookie for all namespaces: 103");
    run(&e, &e.cs, &p[0].id, std_discover(NULL, 3, NULL, 0));
    uint8_t all_cookie[64];
    size_t all_len = O.cookie_len;
    memcpy(all_cookie, O.cookie, all_len);
    is_int(run(&e, &e.cs, &p[0].id, std_discover(NULL, 3, all_cookie, all_len)), RDV_STATUS_OK, "an all-namespaces cookie pages on");
    ok(O.nregs == 3 && got(0, &rec[3]) == false, "  3 more records");
    is_int(run(&e, &e.cs, &p[0].id, std_discover("page", 3, all_cookie, all_len)), RDV_STATUS_E_INVALID_COOKIE,
           "an all-namespaces cookie for one namespace: 103");
    /* another kind: a waku1 cookie in std */
    struct rdv_buf w = waku_rec(&p[0], 1);
    run(&e, &e.cw, &p[0].id, std_register("page", &w, 120));
    is_int(run(&e, &e.cw, &p[0].id, std_discover("page", 10, NULL, 0)), RDV_STATUS_OK, "waku1: DISCOVER page");
    ok(O.nregs == 1 && got(0, &w) && O.has_cookie, "  its WakuPeerRecord and a cookie");
    uint8_t wcookie[64];
    size_t wlen = O.cookie_len;
    memcpy(wcookie, O.cookie, wlen);
    is_int(run(&e, &e.cs, &p[0].id, std_discover("page", 10, wcookie, wlen)), RDV_STATUS_E_INVALID_COOKIE,
           "a waku1 cookie (other record kind) in std: 103");
    is_int(run(&e, &e.cw, &p[0].id, std_discover("page", 10, cookie, clen)), RDV_STATUS_E_INVALID_COOKIE,
           "a std cookie in waku1: 103");
    is_int(run(&e, &e.cw, &p[0].id, std_discover("page", 10, wcookie, wlen)), RDV_STATUS_OK, "the waku1 cookie in waku1: OK");
    is_int(O.nregs, 0, "  nothing after it");
    /* another store's key */
    struct rdv_service_config other = e.cs;
    uint8_t key2[RDV_COOKIE_KEY_LEN] = {1};
    other.cookie_key = key2;
    is_int(run(&e, &other, &p[0].id, std_discover("page", 10, cookie, clen)), RDV_STATUS_E_INVALID_COOKIE,
           "a cookie under another key: 103");
    /* an empty cookie is none */
    is_int(run(&e, &e.cs, &p[0].id, std_discover("page", 5, (const uint8_t *)"", 0)), RDV_STATUS_OK, "an empty cookie: from the start");
    ok(O.nregs == 5 && got(0, &rec[0]), "  first 5 records");
    /* no cookie key: 400 */
    other.cookie_key = NULL;
    is_int(run(&e, &other, &p[0].id, std_discover("page", 10, NULL, 0)), RDV_STATUS_E_UNAVAILABLE, "std without a cookie key: 400");
    is_int(run(&e, &other, &p[0].id, std_discover("page", 10, cookie, clen)), RDV_STATUS_E_UNAVAILABLE,
           "  with a cookie too: 400");
    struct rdv_service_config wk = e.cw;
    wk.cookie_key = NULL;
    is_int(run(&e, &wk, &p[0].id, std_discover(NULL, 10, NULL, 0)), RDV_STATUS_E_UNAVAILABLE, "waku1 without a cookie key: 400");
    is_int(run(&e, &other, &p[1].id, std_register("page", &rec[1], 3600)), RDV_STATUS_OK, "  REGISTER needs no cookie key");
    /* expiry: expired records never come back, the cookie still works */
    /* record i was registered at T0 + i ms for an hour; 3, N and 1 were put again at T0 + 24 */
    e.clock.now = T0 + 3600 * 1000LL + 20;
    is_int(run(&e, &e.cs, &p[0].id, std_discover("page", 100, first_cookie, first_len)), RDV_STATUS_OK,
           "an hour later: the first page's cookie");
    ok(O.nregs == 7 && got(0, &rec[21]) && got(3, &rec[24]) && got(4, &rec[N]) && got(5, &rec[3]) && got(6, &rec[1]),
       "  only the live ones: 21..24, N, 3, 1 (got %zu)", O.nregs);
    e.clock.now = T0 + 3600 * 1000LL + 24;
    is_int(run(&e, &e.cs, &p[0].id, std_discover("page", 100, NULL, 0)), RDV_STATUS_OK, "when all have expired");
    ok(O.nregs == 0 && O.has_cookie, "  no records, still a cookie");
    rdv_buf_free(&w);
    for (int i = 0; i <= N; i++)
        rdv_buf_free(&rec[i]);
    env_free(&e);
}

/* ---- UNREGISTER and the cross-dialect rule ----------------------------------------------- */

static void test_unregister(void)
{
    struct env e;
    env_init(&e);
    struct ident a, b;
    ident_new(&a);
    ident_new(&b);
    struct rdv_buf pa = peer_rec(&a, 1), pb = peer_rec(&b, 1), wa = waku_rec(&a, 1);
    run(&e, &e.cs, &a.id, std_register("u1", &pa, 600));
    run(&e, &e.cs, &a.id, std_register("u2", &pa, 600));
    run(&e, &e.cs, &b.id, std_register("u1", &pb, 600));
    run(&e, &e.cw, &a.id, std_register("u1", &wa, 600));
    is_int(run(&e, &e.cs, &a.id, std_unregister("u1")), -2, "std UNREGISTER: silent");
    ok(O.response_len == 0 && O.req_status == RDV_STATUS_OK, "  no response bytes; counted OK");
    run(&e, &e.cs, &a.id, std_discover("u1", NOLIMIT, NULL, 0));
    ok(O.nregs == 1 && got(0, &pb), "std u1: only b's record is left");
    run(&e, &e.cs, &a.id, std_discover("u2", NOLIMIT, NULL, 0));
    ok(O.nregs == 1 && got(0, &pa), "std u2: a's other namespace untouched");
    run(&e, &e.cw, &a.id, std_discover("u1", NOLIMIT, NULL, 0));
    ok(O.nregs == 1 && got(0, &wa), "waku1 u1: a's WakuPeerRecord untouched (another kind)");
    is_int(run(&e, &e.cs, &a.id, std_unregister("never")), -2, "UNREGISTER of a namespace not held: silent no-op");
    is_int(run(&e, &e.cs, &a.id, std_unregister("")), -2, "UNREGISTER ns \"\": silent");
    is_int(O.req_status, RDV_STATUS_E_INVALID_NAMESPACE, "  counted as 100");
    is_int(run(&e, &e.cw, &a.id, std_unregister("u1")), -2, "waku1 UNREGISTER: silent");
    run(&e, &e.cw, &a.id, std_discover("u1", NOLIMIT, NULL, 0));
    is_int(O.nregs, 0, "  removes the WakuPeerRecord");
    run(&e, &e.cs, &a.id, std_discover("u1", NOLIMIT, NULL, 0));
    ok(O.nregs == 1 && got(0, &pb), "  and nothing of std");
    is_int(run(&e, &e.cs, &b.id, std_unregister("u2")), -2, "b unregisters u2, where only a is");
    run(&e, &e.cs, &a.id, std_discover("u2", NOLIMIT, NULL, 0));
    ok(O.nregs == 1 && got(0, &pa), "  a stays (only the sender's registration goes)");
    rdv_buf_free(&pa);
    rdv_buf_free(&pb);
    rdv_buf_free(&wa);
    env_free(&e);
}

static void test_cross_dialect(void)
{
    struct env e;
    env_init(&e);
    struct ident a, b;
    ident_new(&a);
    ident_new(&b);
    struct rdv_buf pa = peer_rec(&a, 1), wb = waku_rec(&b, 1);
    is_int(run(&e, &e.c0, &a.id, w0_register("x", &pa, 20)), RDV_STATUS_OK, "waku0 REGISTER of a peer record");
    is_int(run(&e, &e.cw, &b.id, std_register("x", &wb, 120)), RDV_STATUS_OK, "waku1 REGISTER of a WakuPeerRecord");
    run(&e, &e.cs, &a.id, std_discover("x", NOLIMIT, NULL, 0));
    ok(O.nregs == 1 && got(0, &pa), "std DISCOVER x: the waku0 registration, not the WakuPeerRecord");
    is_int(O.reg_ttl[0], 20, "  with its 20 s ttl");
    run(&e, &e.cw, &a.id, std_discover("x", NOLIMIT, NULL, 0));
    ok(O.nregs == 1 && got(0, &wb), "waku1 DISCOVER x: the WakuPeerRecord only");
    run(&e, &e.c0, &a.id, w0_discover("x", 0));
    ok(O.nregs == 1 && got(0, &pa), "waku0 DISCOVER x: the peer record only");
    run(&e, &e.cw, &a.id, std_discover(NULL, NOLIMIT, NULL, 0));
    ok(O.nregs == 1 && got(0, &wb), "waku1 DISCOVER all: the WakuPeerRecord only");
    run(&e, &e.cs, &a.id, std_discover(NULL, NOLIMIT, NULL, 0));
    ok(O.nregs == 1 && got(0, &pa), "std DISCOVER all: the peer record only");
    /* the same peer under both kinds: two registrations, neither replaces the other */
    struct rdv_buf wa = waku_rec(&a, 1);
    is_int(run(&e, &e.cw, &a.id, std_register("x", &wa, 120)), RDV_STATUS_OK, "waku1: a registers a WakuPeerRecord in x too");
    run(&e, &e.cs, &a.id, std_discover("x", NOLIMIT, NULL, 0));
    ok(O.nregs == 1 && got(0, &pa), "  std still returns a's peer record");
    run(&e, &e.cw, &a.id, std_discover("x", NOLIMIT, NULL, 0));
    ok(O.nregs == 2 && got_any(&wa) && got_any(&wb), "  waku1 returns both WakuPeerRecords");
    /* std re-registers a's peer record: waku0 sees the refresh */
    is_int(run(&e, &e.cs, &a.id, std_register("x", &pa, 7200)), RDV_STATUS_OK, "std refresh of a's record, ttl 7200");
    run(&e, &e.c0, &a.id, w0_discover("x", 0));
    ok(O.nregs == 1 && got(0, &pa) && O.reg_ttl[0] == 7200, "  waku0 returns it with ttl 7200 (one registration per kind)");
    rdv_buf_free(&pa);
    rdv_buf_free(&wa);
    rdv_buf_free(&wb);
    env_free(&e);
}

int main(void)
{
    test_register_rules();
    test_discover_rules();
    test_cookies();
    test_unregister();
    test_cross_dialect();
    return tap_done();
}
