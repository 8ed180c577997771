/* test_service.c: the /vac/waku/rendezvous/0.0.1 request handler, end to end over real bytes.
 *
 * Requests are real protobuf Messages built with protobuf-c and carrying real signed peer records
 * (sealed here with fresh keys, or the js-libp2p vectors of $RDV_VECTORS_DIR/peer-records.json);
 * responses are decoded and their status, statusText and TTL checked. The store is the memory
 * store on an injected clock, or small test doubles for a failing and an asynchronous backend.
 * Ends with 2 x 10^4 random and mutated requests that must neither crash nor leak (run under ASan). */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/envelope.h"
#include "p2p/keys.h"
#include "p2p/peer_record.h"
#include "p2p/peerid.h"
#include "rendezvous.pb-c.h"
#include "rendezvous/service.h"
#include "util/utf8.h"
#include "store/memory.h"
#include "tap.h"
#include "testutil.h"
#include "util/err.h"

typedef Rendezvous__Pb__Message PbMessage;

#define T0 1700000000000LL
#define S_OK RDV_STATUS_OK

struct tclock { int64_t now; };
static int64_t tclock_now(void *ctx) { return ((struct tclock *)ctx)->now; }

/* ---- identities and records ------------------------------------------------------------ */

struct ident {
    struct rdv_privkey key;
    struct rdv_peerid id;
};

static void ident_new(struct ident *p, enum rdv_key_type t)
{
    if (rdv_privkey_generate(t, &p->key) || rdv_peerid_from_pubkey(&p->key.pub, &p->id)) {
        printf("Bail out! cannot make a %s key\n", rdv_key_type_name(t));
        exit(1);
    }
}

static const uint8_t ADDR_TCP[] = { 0x04, 1, 2, 3, 4, 0x06, 0x0f, 0xa1 }; /* /ip4/1.2.3.4/tcp/4001 */

/* /dns4/<name of len n>/tcp/443: 1 + 2 + n + 3 bytes for 128 <= n < 16384. */
static size_t dns_addr(uint8_t *out, size_t n, char fill)
{
    size_t k = 0;
    out[k++] = 0x36;
    out[k++] = (uint8_t)(0x80 | (n & 0x7f));
    out[k++] = (uint8_t)(n >> 7);
    memset(out + k, fill, n);
    k += n;
    out[k++] = 0x06;
    out[k++] = 0x01;
    out[k++] = 0xbb;
    return k;
}

/* Seals a record for p with seq and naddr copies of ADDR_TCP (0: no address). */
static struct rdv_buf seal(const struct ident *p, uint64_t seq, size_t naddr)
{
    struct rdv_peer_record rec;
    memset(&rec, 0, sizeof(rec));
    rec.peer_id = p->id;
    rec.seq = seq;
    for (size_t i = 0; i < naddr; i++)
        rdv_peer_record_add_addr(&rec, ADDR_TCP, sizeof(ADDR_TCP));
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    if (rdv_signed_peer_record_seal(&p->key, &rec, &b) != RDV_OK)
        diag("seal failed");
    rdv_peer_record_free(&rec);
    return b;
}

/* ---- requests -------------------------------------------------------------------------- */

static struct rdv_buf pack(const PbMessage *m)
{
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    size_t n = rendezvous__pb__message__get_packed_size(m);
    rdv_buf_reserve(&b, n);
    rdv_buf_commit(&b, rendezvous__pb__message__pack(m, rdv_buf_tail(&b)));
    return b;
}

static struct rdv_buf enc_register(const char *ns, const uint8_t *env, size_t env_len, int64_t ttl)
{
    Rendezvous__Pb__Message__Register r = RENDEZVOUS__PB__MESSAGE__REGISTER__INIT;
    r.ns = (char *)ns;
    r.signedpeerrecord.data = (uint8_t *)env;
    r.signedpeerrecord.len = env_len;
    r.ttl = ttl;
    PbMessage m = RENDEZVOUS__PB__MESSAGE__INIT;
    m.type = RENDEZVOUS__PB__MESSAGE__MESSAGE_TYPE__REGISTER;
    m.register_ = &r;
    return pack(&m);
}

static struct rdv_buf enc_discover(const char *ns, int64_t limit)
{
    Rendezvous__Pb__Message__Discover d = RENDEZVOUS__PB__MESSAGE__DISCOVER__INIT;
    d.ns = (char *)ns;
    d.limit = limit;
    PbMessage m = RENDEZVOUS__PB__MESSAGE__INIT;
    m.type = RENDEZVOUS__PB__MESSAGE__MESSAGE_TYPE__DISCOVER;
    m.discover = &d;
    return pack(&m);
}

/* ---- running requests ------------------------------------------------------------------ */

/* What the last done callback saw, with the response decoded. */
struct outcome {
    int calls;
    int rc;
    enum rdv_status status;
    const char *detail;
    size_t response_len;
    PbMessage *msg;
    const Rendezvous__Pb__Message__RegisterResponse *rr;
    const Rendezvous__Pb__Message__DiscoverResponse *dr;
};

static struct outcome O;

static void outcome_reset(void)
{
    if (O.msg)
        rendezvous__pb__message__free_unpacked(O.msg, NULL);
    memset(&O, 0, sizeof(O));
}

static void done_cb(void *arg, struct rdv_service_request *r)
{
    (void)arg;
    O.calls++;
    O.status = r->status;
    O.detail = r->detail;
    O.response_len = r->response.len;
    if (O.msg)
        rendezvous__pb__message__free_unpacked(O.msg, NULL);
    O.msg = rendezvous__pb__message__unpack(NULL, r->response.len, rdv_buf_head(&r->response));
    O.rr = NULL;
    O.dr = NULL;
    if (O.msg && O.msg->type == RENDEZVOUS__PB__MESSAGE__MESSAGE_TYPE__REGISTER_RESPONSE)
        O.rr = O.msg->registerresponse;
    if (O.msg && O.msg->type == RENDEZVOUS__PB__MESSAGE__MESSAGE_TYPE__DISCOVER_RESPONSE)
        O.dr = O.msg->discoverresponse;
}

/* The environment of most tests: defaults, a memory store on a test clock. */
struct env {
    struct rdv_service_config cfg;
    struct tclock clock;
    struct rdv_clock clk;
    struct rdv_store *store;
};

static void env_init(struct env *e)
{
    rdv_service_config_defaults(&e->cfg);
    e->clock.now = T0;
    e->clk = (struct rdv_clock){ tclock_now, &e->clock };
    e->store = rdv_store_memory_new(&e->clk);
}

static void env_free(struct env *e)
{
    rdv_store_close(e->store);
}

static int run(struct env *e, const struct rdv_peerid *remote, struct rdv_buf b)
{
    outcome_reset();
    O.rc = rdv_service_handle(&e->cfg, e->store, remote, rdv_buf_head(&b), b.len, done_cb, NULL, NULL);
    rdv_buf_free(&b);
    return O.rc;
}

/* REGISTER from remote; returns the RegisterResponse status (-1 if none came back). */
static int reg(struct env *e, const struct rdv_peerid *remote, const char *ns, const uint8_t *env, size_t len, int64_t ttl)
{
    run(e, remote, enc_register(ns, env, len, ttl));
    if (O.rc != RDV_OK || O.calls != 1 || !O.rr)
        return -1;
    return O.rr->status;
}

static int reg_rec(struct env *e, const struct ident *p, const char *ns, uint64_t seq, int64_t ttl)
{
    struct rdv_buf b = seal(p, seq, 1);
    int st = reg(e, &p->id, ns, rdv_buf_head(&b), b.len, ttl);
    rdv_buf_free(&b);
    return st;
}

/* DISCOVER; returns the number of registrations (-1 if no DiscoverResponse came back). */
static int disc(struct env *e, const struct rdv_peerid *remote, const char *ns, int64_t limit)
{
    run(e, remote, enc_discover(ns, limit));
    if (O.rc != RDV_OK || O.calls != 1 || !O.dr)
        return -1;
    return (int)O.dr->n_registrations;
}

static const char *rtext(void) { return O.rr ? O.rr->statustext : O.dr ? O.dr->statustext : "(none)"; }

/* ---- tests ----------------------------------------------------------------------------- */

static void test_utf8(void)
{
    static const struct { const char *s; bool valid; const char *what; } cases[] = {
        { "plain/ascii-0.1", true, "ASCII" },
        { "\xc3\xa9", true, "2-byte U+00E9" },
        { "\xe2\x82\xac", true, "3-byte U+20AC" },
        { "\xef\xbf\xbf", true, "U+FFFF" },
        { "\xf0\x9f\x9a\x80", true, "4-byte U+1F680" },
        { "\xf4\x8f\xbf\xbf", true, "U+10FFFF, the last code point" },
        { "\xc0\xaf", false, "overlong 2-byte '/'" },
        { "\xc1\xbf", false, "overlong C1" },
        { "\xe0\x80\xaf", false, "overlong 3-byte" },
        { "\xe0\x9f\xbf", false, "overlong 3-byte U+07FF" },
        { "\xf0\x80\x80\xaf", false, "overlong 4-byte" },
        { "\xf0\x8f\xbf\xbf", false, "overlong 4-byte U+FFFF" },
        { "\xed\xa0\x80", false, "surrogate U+D800" },
        { "\xed\xbf\xbf", false, "surrogate U+DFFF" },
        { "\xf4\x90\x80\x80", false, "U+110000" },
        { "\xf5\x80\x80\x80", false, "F5 lead byte" },
        { "\xff", false, "FF" },
        { "\x80", false, "lone continuation" },
        { "a\xc3", false, "truncated 2-byte" },
        { "\xe2\x82", false, "truncated 3-byte" },
        { "\xf0\x9f\x9a", false, "truncated 4-byte" },
        { "\xe2\x28\xa1", false, "bad continuation" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        is_int(rdv_utf8_valid((const uint8_t *)cases[i].s, strlen(cases[i].s)), cases[i].valid,
               "utf8: %s is %s", cases[i].what, cases[i].valid ? "valid" : "invalid");
    ok(rdv_utf8_valid(NULL, 0), "utf8: empty is valid");
}

static void test_register_ok_and_discover(void)
{
    struct env e;
    env_init(&e);
    struct ident a, b;
    ident_new(&a, RDV_KEY_ED25519);
    ident_new(&b, RDV_KEY_SECP256K1);
    struct rdv_buf ea = seal(&a, 100, 2);
    is_int(reg(&e, &a.id, "waku/test", rdv_buf_head(&ea), ea.len, 0), S_OK, "ed25519 REGISTER, ttl 0: OK");
    is_int(O.rr->ttl, 20, "ttl 0 granted the default 20 s");
    is_str(O.rr->statustext, "", "OK carries no statusText");
    is_int(O.status, S_OK, "request status OK");
    ok(O.detail == NULL, "no detail for OK");
    is_int(O.msg->type, RENDEZVOUS__PB__MESSAGE__MESSAGE_TYPE__REGISTER_RESPONSE, "response type REGISTER_RESPONSE");
    is_int(reg_rec(&e, &b, "waku/test", 7, 10), S_OK, "secp256k1 REGISTER, ttl 10: OK");
    is_int(O.rr->ttl, 10, "ttl 10 granted");

    is_int(disc(&e, &a.id, "waku/test", 0), 2, "DISCOVER finds both");
    is_int(O.msg->type, RENDEZVOUS__PB__MESSAGE__MESSAGE_TYPE__DISCOVER_RESPONSE, "response type DISCOVER_RESPONSE");
    is_int(O.dr->status, S_OK, "DISCOVER status OK");
    bool found = false;
    for (size_t i = 0; i < O.dr->n_registrations; i++) {
        const Rendezvous__Pb__Message__Register *g = O.dr->registrations[i];
        is_str(g->ns, "waku/test", "registration %zu carries the namespace", i);
        if (g->signedpeerrecord.len == ea.len && memcmp(g->signedpeerrecord.data, rdv_buf_head(&ea), ea.len) == 0) {
            found = true;
            is_int(g->ttl, 20, "ed25519 record: ttl 20 at t0");
        } else {
            is_int(g->ttl, 10, "secp256k1 record: ttl 10 at t0");
        }
    }
    ok(found, "DISCOVER returns the registered envelope bytes verbatim");

    /* The remaining TTL counts down and is rounded up. */
    e.clock.now = T0 + 5500;
    is_int(disc(&e, &a.id, "waku/test", 0), 2, "both live at 5.5 s");
    for (size_t i = 0; i < O.dr->n_registrations; i++) {
        int64_t t = O.dr->registrations[i]->ttl;
        ok(t == 15 || t == 5, "ttl at 5.5 s is 15 or 5 (rounded up), got %" PRId64, t);
    }
    e.clock.now = T0 + 9999;
    is_int(disc(&e, &a.id, "waku/test", 0), 2, "secp256k1 record live 1 ms before expiry");
    int64_t tmin = 99;
    for (size_t i = 0; i < O.dr->n_registrations; i++)
        tmin = O.dr->registrations[i]->ttl < tmin ? O.dr->registrations[i]->ttl : tmin;
    is_int(tmin, 1, "1 ms left reads as ttl 1, never 0");
    e.clock.now = T0 + 10000;
    is_int(disc(&e, &a.id, "waku/test", 0), 1, "secp256k1 record gone at 10 s");
    is_int(O.dr->registrations[0]->ttl, 10, "the other has 10 s left");
    e.clock.now = T0 + 20000;
    is_int(disc(&e, &a.id, "waku/test", 0), 0, "DISCOVER never returns an expired record");
    is_int(O.dr->status, S_OK, "empty DISCOVER is OK");
    is_int(disc(&e, &a.id, "never/registered", 0), 0, "unknown namespace: OK, no records");
    is_int(O.dr->status, S_OK, "unknown namespace status OK");
    rdv_buf_free(&ea);
    env_free(&e);
}

static void test_ttl(void)
{
    struct env e;
    env_init(&e);
    struct ident a;
    ident_new(&a, RDV_KEY_ED25519);
    is_int(reg_rec(&e, &a, "t", 1, -1), RDV_STATUS_E_INVALID_TTL, "ttl -1: E_INVALID_TTL");
    is_str(rtext(), "bad ttl", "statusText 'bad ttl'");
    is_int(O.rr->ttl, 0, "no ttl granted on error");
    is_int(reg_rec(&e, &a, "t", 1, INT64_MIN), RDV_STATUS_E_INVALID_TTL, "ttl INT64_MIN: E_INVALID_TTL");
    is_int(reg_rec(&e, &a, "t", 1, 21), RDV_STATUS_E_INVALID_TTL, "ttl 21 > max 20: E_INVALID_TTL");
    is_int(reg_rec(&e, &a, "t", 1, INT64_MAX), RDV_STATUS_E_INVALID_TTL, "ttl INT64_MAX: E_INVALID_TTL");
    is_int(reg_rec(&e, &a, "t", 1, 20), S_OK, "ttl 20 = max: OK");
    is_int(O.rr->ttl, 20, "granted 20");
    is_int(reg_rec(&e, &a, "t", 1, 1), S_OK, "ttl 1 = min: OK");
    is_int(O.rr->ttl, 1, "granted 1");
    e.cfg.min_ttl_s = 5;
    e.cfg.max_ttl_s = 120;
    e.cfg.default_ttl_s = 60;
    is_int(reg_rec(&e, &a, "t", 1, 4), RDV_STATUS_E_INVALID_TTL, "min 5: ttl 4 is E_INVALID_TTL");
    is_int(reg_rec(&e, &a, "t", 1, 5), S_OK, "min 5: ttl 5 OK");
    is_int(reg_rec(&e, &a, "t", 1, 120), S_OK, "max 120: ttl 120 OK (go-waku clients ask for it)");
    is_int(O.rr->ttl, 120, "granted 120");
    is_int(reg_rec(&e, &a, "t", 1, 0), S_OK, "ttl 0 with default 60: OK");
    is_int(O.rr->ttl, 60, "granted the configured default");
    is_int(disc(&e, &a.id, "t", 0), 1, "one record");
    is_int(O.dr->registrations[0]->ttl, 60, "stored with the granted TTL");
    env_free(&e);
}

static void test_namespace(void)
{
    struct env e;
    env_init(&e);
    struct ident a;
    ident_new(&a, RDV_KEY_ED25519);
    char ns[RDV_NS_MAX + 2];
    is_int(reg_rec(&e, &a, "", 1, 0), RDV_STATUS_E_INVALID_NAMESPACE, "empty namespace: E_INVALID_NAMESPACE");
    is_str(rtext(), "unspecified namespace", "statusText 'unspecified namespace'");
    memset(ns, 'x', RDV_NS_MAX + 1);
    ns[RDV_NS_MAX + 1] = 0;
    is_int(reg_rec(&e, &a, ns, 1, 0), RDV_STATUS_E_INVALID_NAMESPACE, "257-byte namespace: E_INVALID_NAMESPACE");
    is_str(rtext(), "namespace too long", "statusText 'namespace too long'");
    ns[RDV_NS_MAX] = 0;
    is_int(reg_rec(&e, &a, ns, 1, 0), S_OK, "256-byte namespace: OK");
    is_int(disc(&e, &a.id, ns, 0), 1, "256-byte namespace discoverable");
    is_int(reg_rec(&e, &a, "\xff", 1, 0), RDV_STATUS_E_INVALID_NAMESPACE, "namespace FF: E_INVALID_NAMESPACE");
    is_str(rtext(), "invalid namespace", "statusText 'invalid namespace'");
    is_int(reg_rec(&e, &a, "a\xc0\xaf", 1, 0), RDV_STATUS_E_INVALID_NAMESPACE, "overlong UTF-8 namespace: refused");
    is_int(reg_rec(&e, &a, "\xed\xa0\x80", 1, 0), RDV_STATUS_E_INVALID_NAMESPACE, "surrogate namespace: refused");
    is_int(reg_rec(&e, &a, "r\xc3\xa9seau/\xf0\x9f\x9a\x80", 1, 0), S_OK, "multi-byte UTF-8 namespace: OK");

    /* ns = "a\0b", written by hand: protobuf-c would stop at the NUL. */
    static const uint8_t nul_reg[] = { 0x08, 0x00, 0x12, 0x07, 0x0a, 0x03, 'a', 0x00, 'b', 0x18, 0x05 };
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    rdv_buf_append(&b, nul_reg, sizeof(nul_reg));
    run(&e, &a.id, b);
    ok(O.rr && (int)O.rr->status == RDV_STATUS_E_INVALID_NAMESPACE, "namespace with NUL: E_INVALID_NAMESPACE, not cut at NUL");
    static const uint8_t nul_disc[] = { 0x08, 0x02, 0x22, 0x05, 0x0a, 0x03, 'a', 0x00, 'b' };
    rdv_buf_init(&b, 0);
    rdv_buf_append(&b, nul_disc, sizeof(nul_disc));
    run(&e, &a.id, b);
    ok(O.dr && (int)O.dr->status == RDV_STATUS_E_INVALID_NAMESPACE, "DISCOVER namespace with NUL: E_INVALID_NAMESPACE");

    is_int(disc(&e, &a.id, "", 0), 0, "DISCOVER empty namespace: no registrations");
    is_int(O.dr->status, RDV_STATUS_E_INVALID_NAMESPACE, "DISCOVER empty namespace: E_INVALID_NAMESPACE");
    memset(ns, 'x', RDV_NS_MAX + 1);
    ns[RDV_NS_MAX + 1] = 0;
    disc(&e, &a.id, ns, 0);
    is_int(O.dr->status, RDV_STATUS_E_INVALID_NAMESPACE, "DISCOVER 257-byte namespace: E_INVALID_NAMESPACE");
    is_str(rtext(), "namespace too long", "DISCOVER statusText 'namespace too long'");
    disc(&e, &a.id, "\xc3", 0);
    is_int(O.dr->status, RDV_STATUS_E_INVALID_NAMESPACE, "DISCOVER truncated UTF-8: E_INVALID_NAMESPACE");
    env_free(&e);
}

static void test_peer_record(void)
{
    struct env e;
    env_init(&e);
    struct ident a, b;
    ident_new(&a, RDV_KEY_ED25519);
    ident_new(&b, RDV_KEY_SECP256K1);
    is_int(reg(&e, &a.id, "p", NULL, 0, 0), RDV_STATUS_E_INVALID_PEER_INFO, "no signed peer record: E_INVALID_PEER_INFO");
    is_str(rtext(), "missing signed peer record", "statusText 'missing signed peer record'");
    static const uint8_t junk[] = { 0x0a, 0x02, 0x08 };
    is_int(reg(&e, &a.id, "p", junk, sizeof(junk), 0), RDV_STATUS_E_INVALID_PEER_INFO, "junk envelope: E_INVALID_PEER_INFO");
    is_str(rtext(), "invalid peer record", "statusText 'invalid peer record'");
    ok(O.detail && strcmp(O.detail, "invalid peer record") != 0, "detail for the log says more: %s", O.detail ? O.detail : "");

    struct rdv_buf eb = seal(&b, 1, 1);
    is_int(reg(&e, &a.id, "p", rdv_buf_head(&eb), eb.len, 0), RDV_STATUS_E_INVALID_PEER_INFO,
           "record of another key than the remote: E_INVALID_PEER_INFO");
    is_str(rtext(), "peer id mismatch", "statusText 'peer id mismatch'");
    rdv_buf_free(&eb);

    struct rdv_buf none = seal(&a, 1, 0);
    is_int(reg(&e, &a.id, "p", rdv_buf_head(&none), none.len, 0), RDV_STATUS_E_INVALID_PEER_INFO,
           "record without addresses: E_INVALID_PEER_INFO");
    is_str(rtext(), "missing peer addresses", "statusText 'missing peer addresses'");
    rdv_buf_free(&none);

    static uint8_t big[RDV_ENVELOPE_MAX + 1];
    memset(big, 0x0a, sizeof(big));
    is_int(reg(&e, &a.id, "p", big, sizeof(big), 0), RDV_STATUS_E_INVALID_PEER_INFO, "envelope over RDV_ENVELOPE_MAX: E_INVALID_PEER_INFO");

    /* Checks come in the reference's order. */
    is_int(reg(&e, &a.id, "", junk, sizeof(junk), -5), RDV_STATUS_E_INVALID_NAMESPACE, "bad ns + bad record + bad ttl: namespace first");
    is_int(reg(&e, &a.id, "p", junk, sizeof(junk), -5), RDV_STATUS_E_INVALID_PEER_INFO, "bad record + bad ttl: record first");
    is_int(disc(&e, &a.id, "p", 0), 0, "no failed REGISTER stored anything");
    env_free(&e);
}

static void test_addr_bytes(void)
{
    struct env e;
    env_init(&e);
    struct ident a;
    ident_new(&a, RDV_KEY_ED25519);
    uint8_t ma[512];
    for (int extra = 0; extra <= 1; extra++) {
        struct rdv_peer_record rec;
        memset(&rec, 0, sizeof(rec));
        rec.peer_id = a.id;
        rec.seq = 1 + (uint64_t)extra;
        size_t nadd = 8 + (size_t)extra, total = 0;
        for (size_t i = 0; i < nadd; i++) {
            size_t k = dns_addr(ma, 250, (char)('a' + i));
            total += k;
            if (rdv_peer_record_add_addr(&rec, ma, k))
                diag("add_addr failed");
        }
        struct rdv_buf env;
        rdv_buf_init(&env, 0);
        int rc = rdv_signed_peer_record_seal(&a.key, &rec, &env);
        rdv_peer_record_free(&rec);
        if (extra == 0) {
            is_int(total, 2048, "8 dns4 addresses of 256 bytes: exactly 2048 address bytes");
            is_int(reg(&e, &a.id, "addrs", rdv_buf_head(&env), env.len, 0), S_OK, "2048 address bytes: OK");
        } else {
            is_int(total, 2304, "9 such addresses: 2304 bytes");
            is_int(reg(&e, &a.id, "addrs", rdv_buf_head(&env), env.len, 0), RDV_STATUS_E_INVALID_PEER_INFO,
                   "more than 2048 address bytes: E_INVALID_PEER_INFO");
            is_str(rtext(), "peer info too long", "statusText 'peer info too long'");
        }
        (void)rc;
        if (extra == 0) { /* max-envelope-bytes: one byte below this envelope refuses it, its size admits it */
            e.cfg.max_envelope = (uint32_t)env.len - 1;
            is_int(reg(&e, &a.id, "small-cap", rdv_buf_head(&env), env.len, 0), RDV_STATUS_E_INVALID_PEER_INFO,
                   "an envelope over max_envelope: E_INVALID_PEER_INFO");
            e.cfg.max_envelope = (uint32_t)env.len;
            is_int(reg(&e, &a.id, "small-cap", rdv_buf_head(&env), env.len, 0), S_OK, "at max_envelope: OK");
            e.cfg.max_envelope = 0;
        }
        rdv_buf_free(&env);
    }
    env_free(&e);
}

static void test_vectors(void)
{
    struct env e;
    env_init(&e);
    json_t *j = tu_load_vectors("peer-records.json");
    json_t *vecs = json_object_get(j, "vectors"), *v;
    size_t i;
    struct ident other;
    ident_new(&other, RDV_KEY_ED25519);
    int nvalid = 0, nbad = 0;
    json_array_foreach(vecs, i, v) {
        const char *name = json_string_value(json_object_get(v, "name"));
        const char *hex = json_string_value(json_object_get(v, "envelope_hex"));
        bool valid = json_is_true(json_object_get(v, "valid"));
        size_t len = 0;
        uint8_t *env = tu_unhex(hex, &len);
        struct rdv_peerid remote = other.id;
        const char *pid = json_string_value(json_object_get(v, "peer_id"));
        if (pid && rdv_peerid_parse(pid, &remote) != RDV_OK)
            diag("cannot parse %s", pid);
        size_t naddrs = json_array_size(json_object_get(v, "addrs"));
        if (valid && naddrs > 0) {
            nvalid++;
            is_int(reg(&e, &remote, "vectors", env, len, 0), S_OK, "%s from its own peer: OK", name);
            is_int(disc(&e, &remote, "vectors", 0), nvalid, "%s: discoverable", name);
            bool same = false;
            for (size_t k = 0; O.dr && k < O.dr->n_registrations; k++)
                same = same || (O.dr->registrations[k]->signedpeerrecord.len == len &&
                                memcmp(O.dr->registrations[k]->signedpeerrecord.data, env, len) == 0);
            ok(same, "%s: the js-libp2p envelope comes back byte for byte", name);
            is_int(reg(&e, &other.id, "vectors", env, len, 0), RDV_STATUS_E_INVALID_PEER_INFO,
                   "%s from another peer: E_INVALID_PEER_INFO", name);
            is_str(rtext(), "peer id mismatch", "%s from another peer: 'peer id mismatch'", name);
        } else if (valid) {
            is_int(reg(&e, &remote, "vectors", env, len, 0), RDV_STATUS_E_INVALID_PEER_INFO, "%s: E_INVALID_PEER_INFO", name);
            is_str(rtext(), "missing peer addresses", "%s: 'missing peer addresses'", name);
        } else {
            nbad++;
            is_int(reg(&e, &remote, "vectors", env, len, 0), RDV_STATUS_E_INVALID_PEER_INFO, "%s: E_INVALID_PEER_INFO", name);
            ok(strcmp(rtext(), "invalid peer record") == 0 || strcmp(rtext(), "missing signed peer record") == 0,
               "%s: statusText '%s'", name, rtext());
        }
        free(env);
    }
    ok(nvalid >= 6 && nbad >= 7, "vectors used: %d valid with addresses, %d invalid", nvalid, nbad);
    json_decref(j);
    env_free(&e);
}

struct policy_state { int calls; char last_ns[64]; bool refuse; };

static int policy(void *ctx, const struct rdv_peerid *remote, const char *ns, size_t ns_len)
{
    struct policy_state *p = ctx;
    (void)remote;
    p->calls++;
    snprintf(p->last_ns, sizeof(p->last_ns), "%.*s", (int)ns_len, ns);
    return p->refuse;
}

static void test_policy_and_cap(void)
{
    struct env e;
    env_init(&e);
    struct ident a, b;
    ident_new(&a, RDV_KEY_ED25519);
    ident_new(&b, RDV_KEY_ED25519);
    struct policy_state ps = { 0, "", true };
    e.cfg.policy = policy;
    e.cfg.policy_ctx = &ps;
    is_int(reg_rec(&e, &a, "private", 1, 0), RDV_STATUS_E_NOT_AUTHORIZED, "policy refuses: E_NOT_AUTHORIZED");
    is_str(rtext(), "not authorized", "statusText 'not authorized'");
    is_int(ps.calls, 1, "policy consulted once");
    is_str(ps.last_ns, "private", "policy saw the namespace");
    is_int(reg_rec(&e, &a, "private", 1, 99), RDV_STATUS_E_INVALID_TTL, "bad ttl is reported before the policy");
    is_int(ps.calls, 1, "policy not consulted for an invalid request");
    is_int(disc(&e, &a.id, "private", 0), 0, "refused registration not stored");
    ps.refuse = false;
    is_int(reg_rec(&e, &a, "private", 1, 0), S_OK, "policy allows: OK");
    e.cfg.policy = NULL;

    e.cfg.max_per_peer = 2;
    is_int(reg_rec(&e, &b, "c1", 1, 0), S_OK, "cap 2: first namespace");
    is_int(reg_rec(&e, &b, "c2", 1, 0), S_OK, "cap 2: second namespace");
    is_int(reg_rec(&e, &b, "c3", 1, 0), RDV_STATUS_E_NOT_AUTHORIZED, "cap 2: third is E_NOT_AUTHORIZED");
    is_str(rtext(), "too many registrations for this peer", "statusText for the cap");
    is_int(reg_rec(&e, &b, "c1", 2, 0), S_OK, "re-register under the cap: OK");

    is_int(reg_rec(&e, &b, "c1", 1, 0), RDV_STATUS_E_INVALID_PEER_INFO, "lower seq than registered: E_INVALID_PEER_INFO");
    is_str(rtext(), "stale peer record (lower seq than registered)", "statusText for a stale record");
    is_int(reg_rec(&e, &b, "c1", 2, 0), S_OK, "equal seq: a refresh, OK");
    env_free(&e);
}

static void test_discover_limits(void)
{
    struct env e;
    env_init(&e);
    struct ident p[12];
    for (int i = 0; i < 12; i++) {
        ident_new(&p[i], RDV_KEY_ED25519);
        reg_rec(&e, &p[i], "many", 1, 0);
    }
    is_int(disc(&e, &p[0].id, "many", 0), 12, "limit 0: default (1000), all 12");
    is_int(disc(&e, &p[0].id, "many", 5), 5, "limit 5: 5");
    is_int(disc(&e, &p[0].id, "many", 1), 1, "limit 1: 1");
    is_int(disc(&e, &p[0].id, "many", -3), 12, "negative limit reads as the default");
    is_int(disc(&e, &p[0].id, "many", INT64_MIN), 12, "INT64_MIN limit reads as the default");
    is_int(disc(&e, &p[0].id, "many", (int64_t)1 << 40), 12, "huge limit: capped, all 12");
    e.cfg.max_discover_limit = 3;
    is_int(disc(&e, &p[0].id, "many", 0), 3, "max 3: limit 0 gives 3");
    is_int(disc(&e, &p[0].id, "many", 10), 3, "max 3: limit 10 gives 3");
    is_int(disc(&e, &p[0].id, "many", 2), 2, "max 3: limit 2 gives 2");
    e.cfg.max_discover_limit = 10;
    e.cfg.default_discover_limit = 2;
    is_int(disc(&e, &p[0].id, "many", 0), 2, "default 2: limit 0 gives 2");
    is_int(disc(&e, &p[0].id, "many", -1), 2, "default 2: limit -1 gives 2");
    is_int(disc(&e, &p[0].id, "many", 11), 10, "max 10: limit 11 gives 10");
    env_free(&e);
}

/* Begins a DISCOVER of ns from a fresh peer with the default config (NULL cfg), asserting it starts. */
static void begin_discover(struct rdv_service_request *r, const char *ns, int64_t limit, const char *what)
{
    struct ident a;
    ident_new(&a, RDV_KEY_ED25519);
    struct rdv_buf q = enc_discover(ns, limit);
    is_int(rdv_service_begin(NULL, &a.id, rdv_buf_head(&q), q.len, r), RDV_OK, "%s", what);
    rdv_buf_free(&q);
}

/* finish_discover against records a backend might hand over: more than the limit, dead ones. */
static void test_finish_discover(void)
{
    struct rdv_service_request r;
    begin_discover(&r, "fd", 3, "begin DISCOVER (NULL cfg = defaults)");
    is_int(r.op, RDV_OP_DISCOVER, "op DISCOVER");
    is_int(r.type, RDV_REQ_DISCOVER, "type DISCOVER");
    is_int(r.limit, 3, "limit 3");
    is_mem(r.ns, r.ns_len, "fd", 2, "namespace copied");
    static const uint8_t env[] = "envelope";
    struct rdv_store_record recs[6];
    static const int64_t left[] = { 0, 1, -5, 1000, 1001, 999999 };
    for (int i = 0; i < 6; i++)
        recs[i] = (struct rdv_store_record){ .envelope = env, .envelope_len = 8, .ttl_left_ms = left[i] };
    is_int(rdv_service_finish_discover(&r, RDV_STORE_OK, recs, 6), RDV_OK, "finish_discover OK");
    PbMessage *m = rendezvous__pb__message__unpack(NULL, r.response.len, rdv_buf_head(&r.response));
    ok(m && m->discoverresponse, "response decodes");
    if (m && m->discoverresponse) {
        const Rendezvous__Pb__Message__DiscoverResponse *d = m->discoverresponse;
        is_int(d->n_registrations, 3, "dead records skipped, trimmed to the limit");
        ok(!r.truncated, "a small answer is not marked truncated");
        if (d->n_registrations == 3) {
            is_int(d->registrations[0]->ttl, 1, "1 ms left: ttl 1");
            is_int(d->registrations[1]->ttl, 1, "1000 ms left: ttl 1");
            is_int(d->registrations[2]->ttl, 2, "1001 ms left: ttl 2");
        }
    }
    if (m)
        rendezvous__pb__message__free_unpacked(m, NULL);
    rdv_service_request_free(&r);
}

/* A sample too big for one message (1000 envelopes of 8000 bytes: 8 MB) is cut to fit 4 MiB, whole
 * and decodable, and marked truncated so the server counts it. */
static void test_discover_cut(void)
{
    struct rdv_service_request r;
    begin_discover(&r, "big", 1000, "begin DISCOVER limit 1000");
    size_t n = 1000, len = 8000;
    uint8_t *env = calloc(1, len);
    struct rdv_store_record *recs = calloc(n, sizeof(*recs));
    for (size_t i = 0; i < n; i++)
        recs[i] = (struct rdv_store_record){ .envelope = env, .envelope_len = len, .ttl_left_ms = 5000 };
    is_int(rdv_service_finish_discover(&r, RDV_STORE_OK, recs, n), RDV_OK, "finish_discover of 8 MB of records");
    ok(r.truncated, "marked truncated");
    ok(r.response.len <= RDV_MAX_RESPONSE, "the answer fits 4 MiB (%zu bytes)", r.response.len);
    PbMessage *m = rendezvous__pb__message__unpack(NULL, r.response.len, rdv_buf_head(&r.response));
    ok(m && m->discoverresponse && m->discoverresponse->n_registrations > 500 && m->discoverresponse->n_registrations < 1000,
       "it decodes, with as many records as fit (%zu)", m && m->discoverresponse ? m->discoverresponse->n_registrations : 0);
    if (m)
        rendezvous__pb__message__free_unpacked(m, NULL);
    rdv_service_request_free(&r);
    free(recs);
    free(env);
}

/* A store double that fails every operation with a fixed status. */
struct fail_store {
    struct rdv_store base;
    enum rdv_store_status st;
};

static void fail_put(struct rdv_store *s, const struct rdv_store_put *p, rdv_store_put_cb cb, void *arg)
{
    (void)p;
    cb(arg, ((struct fail_store *)s)->st);
}

static void fail_discover(struct rdv_store *s, const struct rdv_store_query *q, rdv_store_discover_cb cb, void *arg)
{
    (void)q;
    cb(arg, ((struct fail_store *)s)->st, NULL, 0);
}

static void fail_expire(struct rdv_store *s, rdv_store_count_cb cb, void *arg) { cb(arg, ((struct fail_store *)s)->st, 0); }
static void fail_stats(struct rdv_store *s, rdv_store_stats_cb cb, void *arg) { cb(arg, ((struct fail_store *)s)->st, NULL); }
static void fail_close(struct rdv_store *s) { (void)s; }

static const struct rdv_store_ops fail_ops = {
    .kind = "fail", .put = fail_put, .discover = fail_discover, .expire = fail_expire, .stats = fail_stats, .close = fail_close};

static void test_store_failures(void)
{
    struct env e;
    env_init(&e);
    rdv_store_close(e.store);
    struct fail_store fs = { { &fail_ops }, RDV_STORE_ERROR };
    e.store = &fs.base;
    struct ident a;
    ident_new(&a, RDV_KEY_ED25519);
    is_int(reg_rec(&e, &a, "f", 1, 0), RDV_STATUS_E_INTERNAL_ERROR, "store error on REGISTER: E_INTERNAL_ERROR");
    is_str(rtext(), "internal error", "generic statusText 'internal error'");
    ok(O.detail && strstr(O.rr->statustext, O.detail) == NULL, "the detail stays out of the response (%s)", O.detail ? O.detail : "");
    is_int(disc(&e, &a.id, "f", 0), 0, "store error on DISCOVER: no registrations");
    is_int(O.dr->status, RDV_STATUS_E_INTERNAL_ERROR, "store error on DISCOVER: E_INTERNAL_ERROR");
    is_str(rtext(), "internal error", "DISCOVER generic statusText");
    fs.st = RDV_STORE_UNAVAILABLE;
    is_int(reg_rec(&e, &a, "f", 1, 0), RDV_STATUS_E_UNAVAILABLE, "store unavailable on REGISTER: E_UNAVAILABLE");
    is_str(rtext(), "service unavailable", "statusText 'service unavailable'");
    is_int(disc(&e, &a.id, "f", 0), 0, "store unavailable on DISCOVER: nothing");
    is_int(O.dr->status, RDV_STATUS_E_UNAVAILABLE, "store unavailable on DISCOVER: E_UNAVAILABLE");
    e.store = NULL;
    is_int(reg_rec(&e, &a, "f", 1, 0), RDV_STATUS_E_UNAVAILABLE, "no store at all: E_UNAVAILABLE");
    is_int(disc(&e, &a.id, "f", 0), 0, "no store, DISCOVER: nothing");
    is_int(O.dr->status, RDV_STATUS_E_UNAVAILABLE, "no store, DISCOVER: E_UNAVAILABLE");
}

/* A store double that answers later, as PostgreSQL would: wraps a memory store and queues. */
struct async_store {
    struct rdv_store base;
    struct rdv_store *inner;
    int kind; /* 0 none pending, 1 put, 2 discover */
    struct rdv_store_put put;
    struct rdv_peerid peer;
    uint8_t *env;
    char ns[RDV_NS_MAX + 1];
    size_t ns_len;
    uint32_t limit;
    rdv_store_put_cb put_cb;
    rdv_store_discover_cb disc_cb;
    void *arg;
};

static void async_put(struct rdv_store *s, const struct rdv_store_put *p, rdv_store_put_cb cb, void *arg)
{
    struct async_store *a = (struct async_store *)s;
    a->kind = 1;
    a->put = *p;
    a->peer = *p->peer;
    a->put.peer = &a->peer;
    a->env = malloc(p->envelope_len);
    memcpy(a->env, p->envelope, p->envelope_len);
    a->put.envelope = a->env;
    memcpy(a->ns, p->ns, p->ns_len);
    a->put.ns = a->ns;
    a->put_cb = cb;
    a->arg = arg;
}

static void async_discover(struct rdv_store *s, const struct rdv_store_query *q, rdv_store_discover_cb cb, void *arg)
{
    struct async_store *a = (struct async_store *)s;
    a->kind = 2;
    memcpy(a->ns, q->ns, q->ns_len);
    a->ns_len = q->ns_len;
    a->limit = q->limit;
    a->disc_cb = cb;
    a->arg = arg;
}

static void async_run(struct async_store *a)
{
    int kind = a->kind;
    a->kind = 0;
    if (kind == 1) {
        rdv_store_put(a->inner, &a->put, a->put_cb, a->arg);
        free(a->env);
        a->env = NULL;
    } else if (kind == 2) {
        rdv_store_discover(a->inner, a->ns, a->ns_len, a->limit, a->disc_cb, a->arg);
    }
}

static const struct rdv_store_ops async_ops = {
    .kind = "async", .put = async_put, .discover = async_discover, .expire = fail_expire, .stats = fail_stats, .close = fail_close};

static void test_async_store(void)
{
    struct env e;
    env_init(&e);
    struct async_store as;
    memset(&as, 0, sizeof(as));
    as.base.ops = &async_ops;
    as.inner = e.store;
    e.store = &as.base;
    struct ident a;
    ident_new(&a, RDV_KEY_ED25519);
    struct rdv_buf env = seal(&a, 3, 1);
    struct rdv_buf q = enc_register("async", rdv_buf_head(&env), env.len, 0);
    outcome_reset();
    /* The request bytes are freed before the store answers: the service must hold its own copies. */
    int rc = rdv_service_handle(&e.cfg, e.store, &a.id, rdv_buf_head(&q), q.len, done_cb, NULL, NULL);
    rdv_buf_free(&q);
    is_int(rc, RDV_OK, "async REGISTER accepted");
    is_int(O.calls, 0, "done not called before the store answers");
    async_run(&as);
    is_int(O.calls, 1, "done called once the store answers");
    ok(O.rr && (int)O.rr->status == S_OK && O.rr->ttl == 20, "async REGISTER: OK, ttl 20");
    q = enc_discover("async", 0);
    outcome_reset();
    rc = rdv_service_handle(&e.cfg, e.store, &a.id, rdv_buf_head(&q), q.len, done_cb, NULL, NULL);
    rdv_buf_free(&q);
    is_int(O.calls, 0, "async DISCOVER pending");
    async_run(&as);
    ok(O.calls == 1 && O.dr && O.dr->n_registrations == 1, "async DISCOVER answered with the record");
    ok(O.dr && O.dr->n_registrations == 1 && O.dr->registrations[0]->signedpeerrecord.len == env.len &&
       memcmp(O.dr->registrations[0]->signedpeerrecord.data, rdv_buf_head(&env), env.len) == 0,
       "async DISCOVER returns the envelope verbatim");
    rdv_buf_free(&env);
    rdv_store_close(as.inner);
}

static void test_not_requests(void)
{
    struct env e;
    env_init(&e);
    struct ident a;
    ident_new(&a, RDV_KEY_ED25519);
    struct rdv_service_request r;
    PbMessage m = RENDEZVOUS__PB__MESSAGE__INIT;
    Rendezvous__Pb__Message__RegisterResponse rr = RENDEZVOUS__PB__MESSAGE__REGISTER_RESPONSE__INIT;
    m.type = RENDEZVOUS__PB__MESSAGE__MESSAGE_TYPE__REGISTER_RESPONSE;
    m.registerresponse = &rr;
    is_int(run(&e, &a.id, pack(&m)), RDV_ERR_INVALID, "REGISTER_RESPONSE as a request: RDV_ERR_INVALID");
    is_int(O.calls, 0, "done not called when begin fails");
    Rendezvous__Pb__Message__DiscoverResponse dr = RENDEZVOUS__PB__MESSAGE__DISCOVER_RESPONSE__INIT;
    m = (PbMessage)RENDEZVOUS__PB__MESSAGE__INIT;
    m.type = RENDEZVOUS__PB__MESSAGE__MESSAGE_TYPE__DISCOVER_RESPONSE;
    m.discoverresponse = &dr;
    is_int(run(&e, &a.id, pack(&m)), RDV_ERR_INVALID, "DISCOVER_RESPONSE as a request: RDV_ERR_INVALID");
    static const uint8_t type7[] = { 0x08, 0x07 };
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    rdv_buf_append(&b, type7, sizeof(type7));
    is_int(run(&e, &a.id, b), RDV_ERR_INVALID, "unknown type 7: RDV_ERR_INVALID");
    static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff };
    rdv_buf_init(&b, 0);
    rdv_buf_append(&b, garbage, sizeof(garbage));
    is_int(run(&e, &a.id, b), RDV_ERR_INVALID, "undecodable bytes: RDV_ERR_INVALID");
    static const uint8_t trunc[] = { 0x08, 0x02, 0x22, 0x05, 0x0a, 0x03, 'a' };
    rdv_buf_init(&b, 0);
    rdv_buf_append(&b, trunc, sizeof(trunc));
    is_int(run(&e, &a.id, b), RDV_ERR_INVALID, "truncated submessage: RDV_ERR_INVALID");

    static uint8_t huge[RDV_MAX_MESSAGE + 1];
    is_int(rdv_service_begin(&e.cfg, &a.id, huge, sizeof(huge), &r), RDV_ERR_TOO_LARGE, "request over RDV_MAX_MESSAGE: RDV_ERR_TOO_LARGE");
    rdv_service_request_free(&r);
    is_int(rdv_service_begin(&e.cfg, NULL, huge, 2, &r), RDV_ERR_INTERNAL, "no remote peer: RDV_ERR_INTERNAL");
    rdv_service_request_free(&r);

    /* The request type decides; an absent submessage reads as an empty one (as in Go). */
    rdv_buf_init(&b, 0);
    is_int(run(&e, &a.id, b), RDV_OK, "empty message: a REGISTER with nothing in it");
    ok(O.rr && (int)O.rr->status == RDV_STATUS_E_INVALID_NAMESPACE, "empty message: E_INVALID_NAMESPACE");
    Rendezvous__Pb__Message__Discover d = RENDEZVOUS__PB__MESSAGE__DISCOVER__INIT;
    d.ns = "x";
    m = (PbMessage)RENDEZVOUS__PB__MESSAGE__INIT;
    m.type = RENDEZVOUS__PB__MESSAGE__MESSAGE_TYPE__REGISTER;
    m.discover = &d;
    is_int(run(&e, &a.id, pack(&m)), RDV_OK, "type REGISTER with only a discover field: answered");
    ok(O.rr && (int)O.rr->status == RDV_STATUS_E_INVALID_NAMESPACE, "  with E_INVALID_NAMESPACE 'unspecified namespace'");
    m.type = RENDEZVOUS__PB__MESSAGE__MESSAGE_TYPE__DISCOVER;
    m.discover = NULL;
    is_int(run(&e, &a.id, pack(&m)), RDV_OK, "type DISCOVER without discover field: answered");
    ok(O.dr && (int)O.dr->status == RDV_STATUS_E_INVALID_NAMESPACE, "  with DiscoverResponse E_INVALID_NAMESPACE");
    env_free(&e);
}

/* Several requests one after another, as on one stream. */
static void test_sequence(void)
{
    struct env e;
    env_init(&e);
    struct ident a, b;
    ident_new(&a, RDV_KEY_ED25519);
    ident_new(&b, RDV_KEY_SECP256K1);
    int okc = 0;
    okc += reg_rec(&e, &a, "seq/1", 1, 0) == S_OK;
    okc += reg_rec(&e, &a, "seq/2", 1, 0) == S_OK;
    okc += reg_rec(&e, &b, "seq/1", 1, 0) == S_OK;
    okc += disc(&e, &a.id, "seq/1", 0) == 2;
    okc += reg_rec(&e, &a, "seq/1", 2, 5) == S_OK;
    e.clock.now += 5000;
    okc += disc(&e, &b.id, "seq/1", 0) == 1;
    okc += disc(&e, &b.id, "seq/2", 0) == 1;
    okc += reg_rec(&e, &a, "", 1, 0) == RDV_STATUS_E_INVALID_NAMESPACE;
    okc += disc(&e, &b.id, "seq/2", 10) == 1;
    is_int(okc, 9, "a sequence of 9 requests, each answered as expected");
    env_free(&e);
}

/* ---- fuzz-ish -------------------------------------------------------------------------- */

static uint64_t rng_s = 0x2545f4914f6cdd1dULL;

static uint32_t rng(uint32_t n)
{
    rng_s ^= rng_s << 13;
    rng_s ^= rng_s >> 7;
    rng_s ^= rng_s << 17;
    return n ? (uint32_t)(rng_s % n) : 0;
}

/* begin + finish on arbitrary bytes: either refused, or a response of the right type decodes. */
static bool fuzz_one(struct env *e, const struct rdv_peerid *remote, const uint8_t *p, size_t n)
{
    O.calls = 0;
    int rc = rdv_service_handle(&e->cfg, e->store, remote, p, n, done_cb, NULL, NULL);
    if (rc == RDV_ERR_INVALID)
        return O.calls == 0;
    if (rc != RDV_OK || O.calls != 1 || !O.msg)
        return false;
    return (O.rr != NULL) != (O.dr != NULL);
}

static void test_fuzz(void)
{
    struct env e;
    env_init(&e);
    struct ident a;
    ident_new(&a, RDV_KEY_ED25519);
    uint8_t buf[1024];
    bool good = true;
    for (int i = 0; i < 10000 && good; i++) {
        size_t n = rng(300);
        for (size_t k = 0; k < n; k++)
            buf[k] = (uint8_t)rng(256);
        if (rng(2)) /* a plausible start makes it past the first field more often */
            buf[0] = 0x08;
        good = fuzz_one(&e, &a.id, buf, n);
    }
    ok(good, "10^4 random byte strings: refused or answered, no crash");

    struct rdv_buf env = seal(&a, 1, 2);
    struct rdv_buf seeds[3] = { enc_register("fuzz/ns", rdv_buf_head(&env), env.len, 10), enc_discover("fuzz/ns", 7),
                                enc_register("fuzz/ns", rdv_buf_head(&env), env.len, 0) };
    int answered = 0;
    good = true;
    for (int i = 0; i < 10000 && good; i++) {
        const struct rdv_buf *s = &seeds[rng(3)];
        size_t n = s->len < sizeof(buf) ? s->len : sizeof(buf);
        memcpy(buf, rdv_buf_head(s), n);
        int muts = 1 + (int)rng(4);
        for (int k = 0; k < muts; k++) {
            switch (rng(4)) {
            case 0: buf[rng((uint32_t)n)] ^= (uint8_t)(1u << rng(8)); break;
            case 1: buf[rng((uint32_t)n)] = (uint8_t)rng(256); break;
            case 2: n = rng((uint32_t)n + 1); break; /* truncate */
            default:
                if (n < sizeof(buf)) {
                    size_t at = rng((uint32_t)n + 1);
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = (uint8_t)rng(256);
                    n++;
                }
            }
            if (n == 0)
                break;
        }
        e.clock.now += rng(3000);
        good = fuzz_one(&e, &a.id, buf, n);
        answered += O.calls;
    }
    ok(good, "10^4 mutated valid requests: refused or answered, no crash");
    ok(answered > 1000, "mutations still reach the handlers (%d answered)", answered);

    /* Every truncation of a valid REGISTER. */
    good = true;
    for (size_t n = 0; n < seeds[0].len && good; n++)
        good = fuzz_one(&e, &a.id, rdv_buf_head(&seeds[0]), n);
    ok(good, "every truncation of a valid REGISTER: refused or answered");
    for (int i = 0; i < 3; i++)
        rdv_buf_free(&seeds[i]);
    rdv_buf_free(&env);
    env_free(&e);
}

static void test_names(void)
{
    is_str(rdv_status_name(RDV_STATUS_E_INVALID_PEER_INFO), "E_INVALID_PEER_INFO", "rdv_status_name");
    is_str(rdv_status_name((enum rdv_status)7), "UNKNOWN", "rdv_status_name of an unknown code");
    struct rdv_service_config c;
    rdv_service_config_defaults(&c);
    ok(c.default_ttl_s == 20 && c.max_ttl_s == 20 && c.max_discover_limit == 1000 && c.policy == NULL,
       "defaults: TTL 20/20, discover limit 1000, no policy");
}

int main(void)
{
    test_utf8();
    test_names();
    test_register_ok_and_discover();
    test_ttl();
    test_namespace();
    test_peer_record();
    test_addr_bytes();
    test_vectors();
    test_policy_and_cap();
    test_discover_limits();
    test_finish_discover();
    test_discover_cut();
    test_store_failures();
    test_async_store();
    test_not_requests();
    test_sequence();
    test_fuzz();
    outcome_reset();
    return tap_done();
}
