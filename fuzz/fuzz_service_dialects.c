/* fuzz_service_dialects.c: a STATEFUL run of the one service core, all three dialects over one
 * memory store. The input is a sequence of chunks, each `tag len bytes[len]`:
 *   tag bits 0-1: dialect (0 waku0, 1 std, 2 waku1, 3 std again), bit 2: which of 2 remote peers,
 *   bits 3-4: what the chunk is: 0/1 the raw request bytes; 2 a valid REGISTER built here from
 *   fixed keys (namespace bytes[0] % 4, ttl 0 = the default), so the fuzzer gets past the
 *   signature check; 3 a DISCOVER of namespace bytes[0] % 5 (4: all) carrying the cookie of the
 *   last answer to that (dialect, namespace), limit bytes[1];
 *   bits 5-7: the clock moves on by that many seconds first.
 * Every answered request must have a response (or be silent by design), decode as the response
 * of its type, a built REGISTER must be accepted, and a cookie from an earlier answer must be. */
#include <sodium.h>
#include <string.h>

#include "fuzz.h"
#include "p2p/keys.h"
#include "p2p/peer_record.h"
#include "p2p/peerid.h"
#include "p2p/record_kind.h"
#include "rendezvous/service.h"
#include "store/memory.h"
#include "util/err.h"

#define NPEERS 2
#define NNS 5 /* 4 namespaces + all */
static const char *const NSS[NNS] = {"a", "rs/1/mix", "waku/x", "\xc3\xa9t\xc3\xa9", ""};

static int inited;
static struct rdv_peerid ids[NPEERS];
static struct rdv_buf peer_recs[NPEERS], waku_recs[NPEERS];
static struct rdv_service_config cfgs[RDV_DIALECT_COUNT];
static uint8_t cookie_key[RDV_COOKIE_KEY_LEN];

static void init(void)
{
    static const uint8_t ma[] = {0x04, 127, 0, 0, 1, 0x06, 0x10, 0x00};
    for (int i = 0; i < NPEERS; i++) {
        uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES], seed[crypto_sign_SEEDBYTES];
        uint8_t proto[4 + crypto_sign_SECRETKEYBYTES] = {0x08, 0x01, 0x12, crypto_sign_SECRETKEYBYTES};
        struct rdv_privkey key;
        memset(seed, 0x11 * (i + 1), sizeof(seed));
        FUZZ_ASSERT(sodium_init() >= 0 && crypto_sign_seed_keypair(pk, sk, seed) == 0);
        memcpy(proto + 4, sk, sizeof(sk));
        FUZZ_ASSERT(rdv_privkey_unmarshal(proto, sizeof(proto), &key) == RDV_OK);
        FUZZ_ASSERT(rdv_peerid_from_pubkey(&key.pub, &ids[i]) == RDV_OK);
        struct rdv_record_summary s;
        memset(&s, 0, sizeof(s));
        s.seq = 1;
        s.naddrs = 1;
        s.addrs[0] = (struct rdv_record_addr){ma, sizeof(ma)};
        s.mix_key = (const uint8_t *)"0x00";
        s.mix_key_len = 4;
        rdv_buf_init(&peer_recs[i], 0);
        rdv_buf_init(&waku_recs[i], 0);
        FUZZ_ASSERT(rdv_record_seal(&rdv_record_kind_peer, &key, &s, &peer_recs[i]) == RDV_OK);
        FUZZ_ASSERT(rdv_record_seal(&rdv_record_kind_waku, &key, &s, &waku_recs[i]) == RDV_OK);
        rdv_privkey_clear(&key);
    }
    memset(cookie_key, 0xc0, sizeof(cookie_key));
    for (unsigned d = 0; d < RDV_DIALECT_COUNT; d++) {
        rdv_service_config_for(&cfgs[d], rdv_dialect_get(d));
        cfgs[d].cookie_key = cookie_key;
    }
    inited = 1;
}

static int64_t now_ms;
static int64_t clock_now(void *ctx)
{
    (void)ctx;
    return now_ms;
}

/* What the last done callback saw. */
static struct {
    int calls;
    int silent;
    enum rdv_req_type type;
    const struct rdv_dialect *dialect;
    int decoded;
    uint32_t status;
    uint8_t cookie[64];
    size_t cookie_len;
} R;

static void done(void *arg, struct rdv_service_request *r)
{
    (void)arg;
    R.calls++;
    R.silent = r->silent;
    R.type = r->type;
    R.dialect = r->dialect;
    R.decoded = 0;
    R.cookie_len = 0;
    if (r->silent) {
        FUZZ_ASSERT(r->response.len == 0 && r->type == RDV_REQ_UNREGISTER);
        return;
    }
    FUZZ_ASSERT(r->response.len > 0);
    struct rdv_wire_response w;
    FUZZ_ASSERT(rdv_wire_decode_response(r->dialect->wire, rdv_buf_head(&r->response), r->response.len, &w) == RDV_OK);
    FUZZ_ASSERT(w.type == r->type && w.status == (uint32_t)r->status);
    R.decoded = 1;
    R.status = w.status;
    if (w.type == RDV_REQ_DISCOVER && w.status == RDV_STATUS_OK) {
        FUZZ_ASSERT(r->dialect->cookies == (w.cookie.len == RDV_COOKIE_LEN));
        if (w.cookie.len && w.cookie.len <= sizeof(R.cookie)) {
            memcpy(R.cookie, w.cookie.p, w.cookie.len);
            R.cookie_len = w.cookie.len;
        }
        struct rdv_wire_reg_iter it = {0, 0, 0};
        struct rdv_wire_registration g;
        struct rdv_record_summary s;
        int rc;
        size_t n = 0;
        while ((rc = rdv_wire_next_registration(&w, &it, &g)) == 1) {
            /* only records of the dialect's kind, and only ones the core accepted */
            FUZZ_ASSERT(rdv_record_open(r->dialect->record, g.record.p, g.record.len, &s) == RDV_OK);
            FUZZ_ASSERT(g.ttl > 0);
            n++;
        }
        FUZZ_ASSERT(rc == 0 && n <= r->limit);
    }
}

static struct rdv_buf build_register(const struct rdv_dialect *d, int peer, const char *ns)
{
    const struct rdv_buf *rec = d->record->id == RDV_RECORD_WAKU ? &waku_recs[peer] : &peer_recs[peer];
    struct rdv_wire_request q = {.type = RDV_REQ_REGISTER, .ns = {(const uint8_t *)ns, strlen(ns)},
                                 .record = {rdv_buf_head(rec), rec->len}};
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    FUZZ_ASSERT(rdv_wire_encode_request(d->wire, &q, &b) == RDV_OK);
    return b;
}

static struct rdv_buf build_discover(const struct rdv_dialect *d, const char *ns, uint8_t limit,
                                     const uint8_t *cookie, size_t cookie_len)
{
    struct rdv_wire_request q = {.type = RDV_REQ_DISCOVER, .ns = {(const uint8_t *)ns, strlen(ns)},
                                 .has_limit = true, .limit = limit, .cookie = {cookie, cookie_len}};
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    FUZZ_ASSERT(rdv_wire_encode_request(d->wire, &q, &b) == RDV_OK);
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!inited)
        init();
    now_ms = 1700000000000;
    const struct rdv_clock clock = {clock_now, NULL};
    struct rdv_store *store = rdv_store_memory_new(&clock);
    FUZZ_ASSERT(store);
    /* the last cookie answered per (dialect, namespace) */
    static uint8_t cookies[RDV_DIALECT_COUNT][NNS][RDV_COOKIE_LEN];
    static size_t cookie_lens[RDV_DIALECT_COUNT][NNS];
    memset(cookie_lens, 0, sizeof(cookie_lens));
    size_t pos = 0;
    while (pos + 2 <= size) {
        uint8_t tag = data[pos], len = data[pos + 1];
        pos += 2;
        if (len > size - pos)
            len = (uint8_t)(size - pos);
        const uint8_t *chunk = data + pos;
        pos += len;
        unsigned di = (tag & 3) == 3 ? RDV_DIALECT_STD : (tag & 3);
        const struct rdv_dialect *d = rdv_dialect_get(di);
        int peer = (tag >> 2) & 1, what = (tag >> 3) & 3;
        now_ms += (int64_t)(tag >> 5) * 1000;
        struct rdv_buf b;
        int expect_ok = 0, nsi = -1;
        if (what == 2) {
            nsi = len ? chunk[0] % 4 : 0;
            b = build_register(d, peer, NSS[nsi]);
            expect_ok = 1;
        } else if (what == 3) {
            nsi = len ? chunk[0] % NNS : 0;
            if (nsi == 4 && !d->empty_ns_is_all)
                nsi = 0;
            b = build_discover(d, NSS[nsi], len > 1 ? chunk[1] : 0, cookies[di][nsi], cookie_lens[di][nsi]);
            expect_ok = 1;
        } else {
            rdv_buf_init(&b, 0);
            FUZZ_ASSERT(rdv_buf_append(&b, chunk, len) == RDV_OK);
        }
        memset(&R, 0, sizeof(R));
        const uint8_t *req = b.data ? rdv_buf_head(&b) : (const uint8_t *)""; /* an empty chunk */
        int rc = rdv_service_handle(&cfgs[di], store, &ids[peer], req, b.len, done, NULL, NULL);
        rdv_buf_free(&b);
        FUZZ_ASSERT(R.calls == (rc == RDV_OK ? 1 : 0));
        if (expect_ok) {
            FUZZ_ASSERT(rc == RDV_OK && R.decoded && R.status == RDV_STATUS_OK);
        }
        if (rc == RDV_OK && R.decoded && what == 3 && R.cookie_len == RDV_COOKIE_LEN) {
            memcpy(cookies[di][nsi], R.cookie, RDV_COOKIE_LEN);
            cookie_lens[di][nsi] = RDV_COOKIE_LEN;
        }
    }
    rdv_store_close(store);
    return 0;
}
