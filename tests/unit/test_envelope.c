/* test_envelope.c: signed envelopes and peer records.
 *
 * Every entry of the shared peer-records.json (made by js-libp2p) is opened: valid ones must give
 * exactly the listed peer id, seq and addresses; invalid ones must fail with the error their
 * reason implies. Then, on the valid vectors: every truncation and every single-bit flip, with
 * the exact error expected for the region the damage falls in. Then our own seal -> open round
 * trips for both key types, hand-built hostile envelopes and records, and size limits. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.pb-c.h"
#include "p2p/envelope.h"
#include "p2p/keys.h"
#include "p2p/multiaddr.h"
#include "p2p/peer_record.h"
#include "p2p/peerid.h"
#include "p2p/varint.h"
#include "peer_record.pb-c.h"
#include "tap.h"
#include "testutil.h"
#include "util/err.h"

int main(void);

struct blob { uint8_t *p; size_t n; };

/* Strict decimal -> uint64 (the vectors hold 2^64-1, beyond what a double or int64 holds). */
static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

static int expected_error(const char *name)
{
    static const struct { const char *name; int err; } map[] = {
        {"bad-signature-bitflip", RDV_ERR_SIGNATURE},
        {"bad-payload-modified", RDV_ERR_SIGNATURE},
        {"bad-wrong-domain", RDV_ERR_SIGNATURE},
        {"bad-payload-type", RDV_ERR_PAYLOAD_TYPE},
        {"bad-peer-id-not-signer", RDV_ERR_PEER_ID_MISMATCH},
        /* Damaged or empty protobufs are malformed input, not "need more bytes": an envelope
         * always arrives whole inside a length-delimited field. */
        {"bad-truncated", RDV_ERR_INVALID},
        {"bad-empty", RDV_ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].name, name) == 0)
            return map[i].err;
    return 1; /* unknown name: never equals a real result, so the test fails loudly */
}

static void check_addrs(const char *name, const struct rdv_peer_record *rec, json_t *addrs)
{
    is_int(rec->naddrs, json_array_size(addrs), "%s: address count", name);
    size_t total = 0;
    for (size_t i = 0; i < json_array_size(addrs) && i < rec->naddrs; i++) {
        const char *want = json_string_value(json_array_get(addrs, i));
        struct rdv_buf b;
        char txt[RDV_MA_MAX_TEXT];
        rdv_buf_init(&b, 0);
        is_int(rdv_ma_from_text(want, &b), RDV_OK, "%s: %s parses", name, want);
        is_mem(rec->addrs[i].bytes, rec->addrs[i].len, rdv_buf_head(&b), b.len, "%s: address %zu binary == %s", name, i, want);
        is_int(rdv_ma_to_text(rec->addrs[i].bytes, rec->addrs[i].len, txt, sizeof(txt)), (int)strlen(want),
               "%s: address %zu text length", name, i);
        is_str(txt, want, "%s: address %zu text", name, i);
        total += rec->addrs[i].len;
        rdv_buf_free(&b);
    }
    is_int(rec->addrs_total_len, total, "%s: addrs_total_len", name);
}

static void check_valid(const char *name, json_t *v, const struct blob *env)
{
    struct rdv_peer_record rec;
    char txt[RDV_PEERID_TEXT_MAX];
    uint64_t want_seq = 0;
    int r = rdv_signed_peer_record_open(env->p, env->n, &rec);
    is_int(r, RDV_OK, "%s: opens", name);
    if (r != RDV_OK)
        return;
    rdv_peerid_to_text(&rec.peer_id, txt, sizeof(txt));
    is_str(txt, json_string_value(json_object_get(v, "peer_id")), "%s: peer id", name);
    ok(parse_u64(json_string_value(json_object_get(v, "seq")), &want_seq) == 0 && rec.seq == want_seq,
       "%s: seq %" PRIu64, name, rec.seq);
    check_addrs(name, &rec, json_object_get(v, "addrs"));
    rdv_peer_record_free(&rec);

    struct rdv_envelope e;
    const char *kt = json_string_value(json_object_get(v, "key_type"));
    is_int(rdv_envelope_open(env->p, env->n, RDV_PEER_RECORD_DOMAIN, rdv_peer_record_payload_type, 2, &e), RDV_OK,
           "%s: envelope opens", name);
    is_str(rdv_key_type_name(e.key.type), kt, "%s: key type", name);
    rdv_peerid_to_text(&e.signer, txt, sizeof(txt));
    is_str(txt, json_string_value(json_object_get(v, "peer_id")), "%s: signer", name);
    rdv_envelope_free(&e);
    is_int(rdv_envelope_open(env->p, env->n, "libp2p-routing-state", rdv_peer_record_payload_type, 2, &e),
           RDV_ERR_SIGNATURE, "%s: other domain fails the signature", name);
    const uint8_t other_type[2] = {0x03, 0x02};
    is_int(rdv_envelope_open(env->p, env->n, RDV_PEER_RECORD_DOMAIN, other_type, 2, &e), RDV_ERR_PAYLOAD_TYPE,
           "%s: other expected payload type", name);
}

/* Top-level field boundaries of an Envelope (all fields length-delimited, one-byte tags). */
struct layout { size_t start[4], vstart[4], end[4]; int nfields; };

static int envelope_layout(const struct blob *env, struct layout *L)
{
    size_t pos = 0;
    L->nfields = 0;
    while (pos < env->n && L->nfields < 4) {
        uint64_t len = 0;
        int k = rdv_uvarint_decode(env->p + pos + 1, env->n - pos - 1, &len);
        if (k < 0 || (env->p[pos] & 7) != 2)
            return -1;
        L->start[L->nfields] = pos;
        L->vstart[L->nfields] = pos + 1 + (size_t)k;
        L->end[L->nfields] = L->vstart[L->nfields] + (size_t)len;
        pos = L->end[L->nfields++];
    }
    return pos == env->n && L->nfields == 4 ? 0 : -1;
}

/* Cut at a field boundary: what is missing decides the error. Cut inside a field: malformed. */
static int expected_truncation(const struct layout *L, size_t cut)
{
    static const int after[4] = {RDV_ERR_PAYLOAD_TYPE, RDV_ERR_SIGNATURE, RDV_ERR_SIGNATURE, RDV_ERR_SIGNATURE};
    for (int f = 0; f < 4; f++)
        if (cut == L->end[f])
            return after[f];
    return RDV_ERR_INVALID;
}

static void check_truncations(const char *name, const struct blob *env)
{
    struct layout L;
    ok(envelope_layout(env, &L) == 0, "%s: envelope has the 4 expected fields", name);
    int wrong = 0;
    for (size_t cut = 0; cut < env->n; cut++) {
        struct rdv_peer_record rec;
        uint8_t *copy = malloc(cut ? cut : 1); /* exact-size copy: ASan sees any over-read */
        memcpy(copy, env->p, cut);
        int r = rdv_signed_peer_record_open(copy, cut, &rec);
        if (r != expected_truncation(&L, cut)) {
            wrong++;
            diag("%s: cut at %zu gave %d", name, cut, r);
        }
        free(copy);
    }
    is_int(wrong, 0, "%s: each of %zu truncations fails with the expected error", name, env->n);
}

/* Where a flipped bit lands decides the error: value bytes of the signed fields and the signature
 * fail verification; the payload type fails its comparison; the key may turn into another valid
 * key (signature fails), an invalid point or an unsupported/unknown type. Framing bytes (tags,
 * lengths) can produce many errors, but never success. */
static void check_bitflips(const char *name, const struct blob *env)
{
    struct layout L;
    envelope_layout(env, &L);
    int accepted = 0, wrong = 0;
    uint8_t *copy = malloc(env->n);
    for (size_t bit = 0; bit < env->n * 8; bit++) {
        size_t at = bit / 8;
        struct rdv_peer_record rec;
        memcpy(copy, env->p, env->n);
        copy[at] ^= (uint8_t)(1u << (bit % 8));
        int r = rdv_signed_peer_record_open(copy, env->n, &rec);
        if (r == RDV_OK) {
            accepted++;
            rdv_peer_record_free(&rec);
            continue;
        }
        int ok_err;
        if (at >= L.vstart[1] && at < L.end[1])
            ok_err = r == RDV_ERR_PAYLOAD_TYPE;
        else if ((at >= L.vstart[2] && at < L.end[2]) || (at >= L.vstart[3] && at < L.end[3]))
            ok_err = r == RDV_ERR_SIGNATURE;
        else if (at >= L.vstart[0] + 4 && at < L.end[0]) /* key Data bytes */
            ok_err = r == RDV_ERR_SIGNATURE || r == RDV_ERR_INVALID;
        else if (at == L.vstart[0] + 1) /* key Type value */
            ok_err = r == RDV_ERR_UNSUPPORTED || r == RDV_ERR_INVALID;
        else
            ok_err = r < 0;
        if (!ok_err) {
            wrong++;
            diag("%s: flip of bit %zu (byte %zu) gave %d", name, bit, at, r);
        }
    }
    free(copy);
    is_int(accepted, 0, "%s: no single-bit flip of %zu bits is accepted", name, env->n * 8);
    is_int(wrong, 0, "%s: every bit flip fails with the error of its region", name);
}

static void test_vectors(void)
{
    json_t *root = tu_load_vectors("peer-records.json");
    json_t *vecs = json_object_get(root, "vectors");
    size_t nvalid = 0, ninvalid = 0, i;
    json_t *v;
    json_array_foreach(vecs, i, v) {
        const char *name = json_string_value(json_object_get(v, "name"));
        struct blob env;
        env.p = tu_unhex(json_string_value(json_object_get(v, "envelope_hex")), &env.n);
        if (!name || !env.p) {
            ok(0, "vector %zu is well-formed", i);
            continue;
        }
        if (json_is_true(json_object_get(v, "valid"))) {
            nvalid++;
            check_valid(name, v, &env);
            check_truncations(name, &env);
            check_bitflips(name, &env);
        } else {
            struct rdv_peer_record rec;
            ninvalid++;
            is_int(rdv_signed_peer_record_open(env.p, env.n, &rec), expected_error(name), "%s (%s) is rejected",
                   name, json_string_value(json_object_get(v, "reason")));
        }
        free(env.p);
    }
    is_int(nvalid, 7, "7 valid vectors run");
    is_int(ninvalid, 7, "7 invalid vectors run");
    json_decref(root);
}

static int add_text_addr(struct rdv_peer_record *r, const char *text)
{
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    int rc = rdv_ma_from_text(text, &b);
    if (rc == RDV_OK)
        rc = rdv_peer_record_add_addr(r, rdv_buf_head(&b), b.len);
    rdv_buf_free(&b);
    return rc;
}

static void test_round_trip(enum rdv_key_type t, uint64_t seq, int naddrs)
{
    static const char *texts[] = {"/ip4/1.2.3.4/tcp/60000", "/dns4/example.org/tcp/443/wss", "/ip6/::1/udp/9000/quic-v1"};
    const char *name = rdv_key_type_name(t);
    struct rdv_privkey k;
    struct rdv_peer_record rec, back;
    struct rdv_buf out;
    rdv_privkey_generate(t, &k);
    memset(&rec, 0, sizeof(rec));
    rdv_peerid_from_pubkey(&k.pub, &rec.peer_id);
    rec.seq = seq;
    for (int i = 0; i < naddrs; i++)
        is_int(add_text_addr(&rec, texts[i]), RDV_OK, "%s: add %s", name, texts[i]);
    rdv_buf_init(&out, 0);
    is_int(rdv_signed_peer_record_seal(&k, &rec, &out), RDV_OK, "%s: seal seq %" PRIu64 " with %d addrs", name, seq, naddrs);
    is_int(rdv_signed_peer_record_open(rdv_buf_head(&out), out.len, &back), RDV_OK, "%s: open what we sealed", name);
    ok(rdv_peerid_equal(&back.peer_id, &rec.peer_id) && back.seq == seq && back.naddrs == (size_t)naddrs,
       "%s: peer id, seq and count survive", name);
    int same = back.naddrs == rec.naddrs;
    for (size_t i = 0; same && i < back.naddrs; i++)
        same = back.addrs[i].len == rec.addrs[i].len && memcmp(back.addrs[i].bytes, rec.addrs[i].bytes, rec.addrs[i].len) == 0;
    ok(same, "%s: addresses survive", name);
    rdv_peer_record_free(&back);

    struct rdv_privkey other;
    rdv_privkey_generate(t, &other);
    rdv_buf_reset(&out);
    is_int(rdv_signed_peer_record_seal(&other, &rec, &out), RDV_ERR_PEER_ID_MISMATCH, "%s: seal refuses a foreign record", name);
    /* Bypass that check: another key signs this record, which the opener must catch. */
    struct rdv_buf payload;
    rdv_buf_init(&payload, 0);
    rdv_peer_record_encode(&rec, &payload);
    rdv_buf_reset(&out);
    rdv_envelope_seal(&other, RDV_PEER_RECORD_DOMAIN, rdv_peer_record_payload_type, 2, rdv_buf_head(&payload), payload.len, &out);
    is_int(rdv_signed_peer_record_open(rdv_buf_head(&out), out.len, &back), RDV_ERR_PEER_ID_MISMATCH,
           "%s: record signed by another key", name);
    rdv_buf_free(&payload);
    rdv_buf_free(&out);
    rdv_peer_record_free(&rec);
    rdv_privkey_clear(&k);
    rdv_privkey_clear(&other);
}

static void test_generic_envelope(void)
{
    struct rdv_privkey k;
    struct rdv_envelope e;
    struct rdv_buf out;
    const uint8_t type[] = {0x30, 0x00, 0x00}, payload[] = "hello";
    rdv_privkey_generate(RDV_KEY_ED25519, &k);
    rdv_buf_init(&out, 0);
    is_int(rdv_envelope_seal(&k, "libp2p-custom-peer-record", type, 3, payload, 5, &out), RDV_OK, "generic seal");
    is_int(rdv_envelope_open(rdv_buf_head(&out), out.len, "libp2p-custom-peer-record", type, 3, &e), RDV_OK, "generic open");
    ok(e.payload_len == 5 && memcmp(e.payload, payload, 5) == 0 && e.payload_type_len == 3 &&
       memcmp(e.payload_type, type, 3) == 0 && rdv_pubkey_equal(&e.key, &k.pub), "generic fields");
    rdv_envelope_free(&e);
    is_int(rdv_envelope_open(rdv_buf_head(&out), out.len, "libp2p-peer-record", type, 3, &e), RDV_ERR_SIGNATURE, "generic: wrong domain");
    is_int(rdv_envelope_open(rdv_buf_head(&out), out.len, "libp2p-custom-peer-record", type, 2, &e), RDV_ERR_PAYLOAD_TYPE,
           "generic: payload type prefix is not a match");
    /* Empty payload is legal for the envelope. */
    rdv_buf_reset(&out);
    is_int(rdv_envelope_seal(&k, "d", type, 3, NULL, 0, &out), RDV_OK, "seal empty payload");
    is_int(rdv_envelope_open(rdv_buf_head(&out), out.len, "d", type, 3, &e), RDV_OK, "open empty payload");
    is_int(e.payload_len, 0, "empty payload length");
    rdv_envelope_free(&e);
    /* Size limits. */
    uint8_t *big = calloc(1, RDV_ENVELOPE_MAX + 1);
    is_int(rdv_envelope_open(big, RDV_ENVELOPE_MAX + 1, "d", type, 3, &e), RDV_ERR_TOO_LARGE, "oversized envelope");
    rdv_buf_reset(&out);
    is_int(rdv_envelope_seal(&k, "d", type, 3, big, RDV_ENVELOPE_MAX, &out), RDV_ERR_TOO_LARGE, "seal refuses what open would");
    free(big);
    rdv_buf_free(&out);
    rdv_privkey_clear(&k);
}

/* Packs an Envelope around a public key of any type and data, with a junk signature. */
static size_t pack_raw_envelope(int type, const uint8_t *key, size_t keylen, uint8_t *out)
{
    Crypto__Pb__PublicKey pk = CRYPTO__PB__PUBLIC_KEY__INIT;
    Record__Pb__Envelope e = RECORD__PB__ENVELOPE__INIT;
    uint8_t sig[64] = {0};
    pk.type = (Crypto__Pb__KeyType)type;
    pk.data.data = (uint8_t *)key;
    pk.data.len = keylen;
    e.public_key = &pk;
    e.payload_type.data = (uint8_t *)rdv_peer_record_payload_type;
    e.payload_type.len = 2;
    e.signature.data = sig;
    e.signature.len = sizeof(sig);
    return record__pb__envelope__pack(&e, out);
}

static void test_hostile_envelopes(void)
{
    uint8_t out[2048], key[600];
    struct rdv_envelope e;
    size_t n;
    memset(key, 0x42, sizeof(key));
    n = pack_raw_envelope(RDV_KEY_RSA, key, 550, out);
    is_int(rdv_envelope_open(out, n, RDV_PEER_RECORD_DOMAIN, rdv_peer_record_payload_type, 2, &e),
           RDV_ERR_UNSUPPORTED, "RSA-keyed envelope: unsupported");
    n = pack_raw_envelope(RDV_KEY_ECDSA, key, 91, out);
    is_int(rdv_envelope_open(out, n, RDV_PEER_RECORD_DOMAIN, rdv_peer_record_payload_type, 2, &e),
           RDV_ERR_UNSUPPORTED, "ECDSA-keyed envelope: unsupported");
    n = pack_raw_envelope(9, key, 32, out);
    is_int(rdv_envelope_open(out, n, RDV_PEER_RECORD_DOMAIN, rdv_peer_record_payload_type, 2, &e),
           RDV_ERR_INVALID, "unknown key type");
    n = pack_raw_envelope(RDV_KEY_SECP256K1, key, 33, out); /* 0x42 prefix: not a point */
    is_int(rdv_envelope_open(out, n, RDV_PEER_RECORD_DOMAIN, rdv_peer_record_payload_type, 2, &e),
           RDV_ERR_INVALID, "invalid secp256k1 point");
    n = pack_raw_envelope(RDV_KEY_ED25519, key, 31, out);
    is_int(rdv_envelope_open(out, n, RDV_PEER_RECORD_DOMAIN, rdv_peer_record_payload_type, 2, &e),
           RDV_ERR_INVALID, "short ed25519 key");
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff};
    is_int(rdv_envelope_open(junk, sizeof(junk), "d", junk, 1, &e), RDV_ERR_INVALID, "junk bytes");
}

/* Records signed correctly but with bad contents. */
static void test_hostile_records(void)
{
    struct rdv_privkey k;
    struct rdv_peerid id;
    struct rdv_peer_record rec;
    struct rdv_buf out;
    Peer__Pb__PeerRecord m = PEER__PB__PEER_RECORD__INIT;
    Peer__Pb__PeerRecord__AddressInfo infos[RDV_PEER_RECORD_MAX_ADDRS + 1], *ptrs[RDV_PEER_RECORD_MAX_ADDRS + 1];
    uint8_t payload[4096], ip4[] = {0x04, 1, 2, 3, 4, 0x06, 0x0f, 0xa1}, bad[] = {0x04, 1, 2};
    rdv_privkey_generate(RDV_KEY_ED25519, &k);
    rdv_peerid_from_pubkey(&k.pub, &id);
    for (size_t i = 0; i <= RDV_PEER_RECORD_MAX_ADDRS; i++) {
        peer__pb__peer_record__address_info__init(&infos[i]);
        infos[i].multiaddr.data = ip4;
        infos[i].multiaddr.len = sizeof(ip4);
        ptrs[i] = &infos[i];
    }
    m.peer_id.data = id.bytes;
    m.peer_id.len = id.len;
    m.addresses = ptrs;
    struct { const char *what; size_t naddrs; int bad_addr; size_t idlen; int want; } cases[] = {
        {"64 addresses", RDV_PEER_RECORD_MAX_ADDRS, 0, id.len, RDV_OK},
        {"65 addresses", RDV_PEER_RECORD_MAX_ADDRS + 1, 0, id.len, RDV_ERR_TOO_LARGE},
        {"a truncated multiaddr", 2, 1, id.len, RDV_ERR_INVALID},
        {"a truncated peer id", 1, 0, id.len - 1, RDV_ERR_INVALID},
        {"an empty peer id", 1, 0, 0, RDV_ERR_INVALID},
    };
    rdv_buf_init(&out, 0);
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        m.n_addresses = cases[c].naddrs;
        m.peer_id.len = cases[c].idlen;
        infos[1].multiaddr.data = cases[c].bad_addr ? bad : ip4;
        infos[1].multiaddr.len = cases[c].bad_addr ? sizeof(bad) : sizeof(ip4);
        size_t n = peer__pb__peer_record__pack(&m, payload);
        rdv_buf_reset(&out);
        rdv_envelope_seal(&k, RDV_PEER_RECORD_DOMAIN, rdv_peer_record_payload_type, 2, payload, n, &out);
        int r = rdv_signed_peer_record_open(rdv_buf_head(&out), out.len, &rec);
        is_int(r, cases[c].want, "signed record with %s", cases[c].what);
        if (r == RDV_OK) {
            is_int(rec.addrs_total_len, cases[c].naddrs * sizeof(ip4), "total address length");
            rdv_peer_record_free(&rec);
        }
    }
    /* A payload that is not a PeerRecord at all. */
    rdv_buf_reset(&out);
    rdv_envelope_seal(&k, RDV_PEER_RECORD_DOMAIN, rdv_peer_record_payload_type, 2, (const uint8_t *)"\xff\xff", 2, &out);
    is_int(rdv_signed_peer_record_open(rdv_buf_head(&out), out.len, &rec), RDV_ERR_INVALID, "signed garbage payload");
    rdv_buf_free(&out);

    memset(&rec, 0, sizeof(rec));
    is_int(rdv_peer_record_add_addr(&rec, bad, sizeof(bad)), RDV_ERR_INVALID, "add_addr validates");
    is_int(rdv_peer_record_add_addr(&rec, ip4, 0), RDV_ERR_INVALID, "add_addr refuses empty");
    for (size_t i = 0; i < RDV_PEER_RECORD_MAX_ADDRS; i++)
        rdv_peer_record_add_addr(&rec, ip4, sizeof(ip4));
    is_int(rec.naddrs, RDV_PEER_RECORD_MAX_ADDRS, "64 addresses added");
    is_int(rdv_peer_record_add_addr(&rec, ip4, sizeof(ip4)), RDV_ERR_TOO_LARGE, "65th address refused");
    rdv_peer_record_free(&rec);
    rdv_privkey_clear(&k);
}

/* Random bytes of random lengths: never accepted, never a crash (ASan build checks the reads). */
static void test_random_junk(void)
{
    int accepted = 0;
    for (int i = 0; i < 3000; i++) {
        size_t n = randombytes_uniform(400);
        uint8_t *p = malloc(n ? n : 1);
        struct rdv_peer_record rec;
        randombytes_buf(p, n);
        if (i % 2)
            p[0] = 0x0a; /* start like an envelope to get past the first tag more often */
        if (rdv_signed_peer_record_open(p, n, &rec) == RDV_OK) {
            accepted++;
            rdv_peer_record_free(&rec);
        }
        if (rdv_peer_record_decode(p, n, &rec) == RDV_OK)
            rdv_peer_record_free(&rec);
        free(p);
    }
    is_int(accepted, 0, "3000 random inputs: none opens");
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_vectors();
    test_round_trip(RDV_KEY_ED25519, 1700000000, 3);
    test_round_trip(RDV_KEY_SECP256K1, UINT64_MAX, 2);
    test_round_trip(RDV_KEY_ED25519, 0, 0);
    test_round_trip(RDV_KEY_SECP256K1, 1, 1);
    test_generic_envelope();
    test_hostile_envelopes();
    test_hostile_records();
    test_random_junk();
    return tap_done();
}
