/* test_noise.c: the Noise core against the cacophony Noise_XX_25519_ChaChaPoly_SHA256 vector (every
 * handshake message, the handshake hash, transport messages both ways), its failure modes (truncation
 * at every length, every flipped byte, nonce exhaustion), and the libp2p session: handshakes between
 * two sessions fed in one chunk and one byte at a time for both key types, a hand-driven peer built
 * from the core (checks our payload independently and lets us send forged ones), framing edge cases,
 * tampering, replay and backpressure. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "noise.pb-c.h"
#include "p2p/noise.h"
#include "p2p/peerid.h"
#include "tap.h"
#include "testutil.h"
#include "util/err.h"

#define PREFIX "noise-libp2p-static-key:"

/* ---- helpers ---------------------------------------------------------------------------------- */

static unsigned char *hexfield(json_t *o, const char *name, size_t *len)
{
    const char *h = json_string_value(json_object_get(o, name));
    unsigned char *p = h ? tu_unhex(h, len) : NULL;
    if (!p) {
        printf("Bail out! vector field %s missing or bad\n", name);
        exit(1);
    }
    return p;
}

/* One side of an in-memory connection: its session, what it has received but not consumed yet
 * (partial frames), and the plaintext it has decrypted. */
struct end {
    struct rdv_noise_session *s;
    struct rdv_buf acc, plain;
};

static void end_init(struct end *e)
{
    e->s = NULL;
    rdv_buf_init(&e->acc, 0);
    rdv_buf_init(&e->plain, 0);
}

static void end_free(struct end *e)
{
    rdv_noise_session_free(e->s);
    rdv_buf_free(&e->acc);
    rdv_buf_free(&e->plain);
}

/* Delivers all of *wire to e in pieces of at most chunk bytes; e's replies go to reply. */
static int deliver(struct end *e, struct rdv_buf *wire, size_t chunk, struct rdv_buf *reply)
{
    while (wire->len) {
        size_t n = wire->len < chunk ? wire->len : chunk;
        int rc = rdv_buf_append(&e->acc, rdv_buf_head(wire), n);
        if (rc)
            return rc;
        rdv_buf_consume(wire, n);
        size_t used = 0;
        rc = rdv_noise_recv(e->s, rdv_buf_head(&e->acc), e->acc.len, &used, reply, &e->plain);
        if (rc)
            return rc;
        rdv_buf_consume(&e->acc, used);
    }
    return RDV_OK;
}

/* Runs the handshake between two sessions; returns the first error either side reports. */
static int handshake(struct end *ini, struct end *resp, size_t chunk)
{
    struct rdv_buf to_resp, to_ini;
    rdv_buf_init(&to_resp, 0);
    rdv_buf_init(&to_ini, 0);
    int rc = rdv_noise_start(ini->s, &to_resp);
    for (int round = 0; !rc && round < 4 && (to_resp.len || to_ini.len); round++) {
        rc = deliver(resp, &to_resp, chunk, &to_ini);
        if (!rc)
            rc = deliver(ini, &to_ini, chunk, &to_resp);
    }
    rdv_buf_free(&to_resp);
    rdv_buf_free(&to_ini);
    return rc;
}

static int new_pair(struct end *ini, struct end *resp, const struct rdv_privkey *ki, const struct rdv_privkey *kr,
                    const struct rdv_peerid *ini_expects, const struct rdv_peerid *resp_expects)
{
    end_init(ini);
    end_init(resp);
    int rc = rdv_noise_session_new(RDV_NOISE_INITIATOR, ki, ini_expects, &ini->s);
    if (!rc)
        rc = rdv_noise_session_new(RDV_NOISE_RESPONDER, kr, resp_expects, &resp->s);
    return rc;
}

static struct rdv_peerid peer_of(const struct rdv_privkey *k)
{
    struct rdv_peerid id;
    memset(&id, 0, sizeof(id));
    if (rdv_peerid_from_pubkey(&k->pub, &id) != RDV_OK)
        diag("peerid_from_pubkey failed");
    return id;
}

static void frame(struct rdv_buf *out, const uint8_t *msg, size_t n)
{
    uint8_t hdr[2] = { (uint8_t)(n >> 8), (uint8_t)n };
    rdv_buf_append(out, hdr, 2);
    rdv_buf_append(out, msg, n);
}

/* Sends n bytes a -> b and checks b decrypts exactly them. */
static void roundtrip(struct end *a, struct end *b, size_t n, size_t chunk, const char *what)
{
    uint8_t *msg = malloc(n);
    randombytes_buf(msg, n);
    struct rdv_buf wire, junk;
    rdv_buf_init(&wire, 0);
    rdv_buf_init(&junk, 0);
    size_t frames = (n + RDV_NOISE_PLAIN_MAX - 1) / RDV_NOISE_PLAIN_MAX;
    is_int(rdv_noise_send(a->s, msg, n, &wire), RDV_OK, "%s: send %zu bytes", what, n);
    is_int(wire.len, n + frames * 18, "%s: %zu frames of u16 len + 16-byte tag", what, frames);
    rdv_buf_reset(&b->plain);
    is_int(deliver(b, &wire, chunk, &junk), RDV_OK, "%s: receive", what);
    is_mem(rdv_buf_head(&b->plain), b->plain.len, msg, n, "%s: plaintext round trip", what);
    is_int(junk.len + b->acc.len, 0, "%s: nothing left over, no reply", what);
    rdv_buf_free(&wire);
    rdv_buf_free(&junk);
    free(msg);
}

/* ---- the Noise core --------------------------------------------------------------------------- */

static void test_vector(json_t *v)
{
    size_t n;
    uint8_t *ipro = hexfield(v, "init_prologue", &n), *rpro;
    size_t iplen = n, rplen;
    rpro = hexfield(v, "resp_prologue", &rplen);
    uint8_t *is = hexfield(v, "init_static", &n), *ie = hexfield(v, "init_ephemeral", &n);
    uint8_t *rs = hexfield(v, "resp_static", &n), *re = hexfield(v, "resp_ephemeral", &n);
    size_t hhlen;
    uint8_t *hh = hexfield(v, "handshake_hash", &hhlen);

    struct rdv_noise_hs hi, hr;
    is_int(rdv_noise_xx_init(&hi, true, ipro, iplen, is, ie), RDV_OK, "vector: init initiator");
    is_int(rdv_noise_xx_init(&hr, false, rpro, rplen, rs, re), RDV_OK, "vector: init responder");
    struct rdv_noise_cipher itx, irx, rtx, rrx;
    is_int(rdv_noise_xx_split(&hi, &itx, &irx), RDV_ERR_PROTOCOL, "vector: split before the handshake refused");

    json_t *msgs = json_object_get(v, "messages");
    is_int(json_array_size(msgs), 6, "vector: 3 handshake + 3 transport messages");
    for (size_t i = 0; i < json_array_size(msgs); i++) {
        json_t *m = json_array_get(msgs, i);
        size_t plen, clen;
        uint8_t *pl = hexfield(m, "payload", &plen), *ct = hexfield(m, "ciphertext", &clen);
        bool from_ini = i % 2 == 0; /* cacophony alternates senders through the whole exchange */
        struct rdv_buf wire, got;
        rdv_buf_init(&wire, 0);
        rdv_buf_init(&got, 0);
        if (i < 3) {
            struct rdv_noise_hs *w = from_ini ? &hi : &hr, *r = from_ini ? &hr : &hi;
            is_int(rdv_noise_xx_read(w, ct, clen, &got), RDV_ERR_PROTOCOL, "vector msg %zu: writer cannot read", i);
            is_int(rdv_noise_xx_write(r, pl, plen, &wire), RDV_ERR_PROTOCOL, "vector msg %zu: reader cannot write", i);
            is_int(rdv_noise_xx_write(w, pl, plen, &wire), RDV_OK, "vector msg %zu: write", i);
            is_mem(rdv_buf_head(&wire), wire.len, ct, clen, "vector msg %zu: ciphertext exact", i);
            is_int(rdv_noise_xx_read(r, ct, clen, &got), RDV_OK, "vector msg %zu: read", i);
            is_mem(rdv_buf_head(&got), got.len, pl, plen, "vector msg %zu: payload", i);
            if (i == 2) {
                ok(rdv_noise_xx_done(&hi) && rdv_noise_xx_done(&hr), "vector: both handshakes done");
                is_mem(hi.h, 32, hh, hhlen, "vector: initiator handshake hash");
                is_mem(hr.h, 32, hh, hhlen, "vector: responder handshake hash");
                is_mem(hi.rs, 32, hr.s_pub, 32, "vector: initiator learnt the responder static key");
                is_mem(hr.rs, 32, hi.s_pub, 32, "vector: responder learnt the initiator static key");
                is_int(rdv_noise_xx_write(&hi, NULL, 0, &wire), RDV_ERR_PROTOCOL, "vector: no 4th message");
                is_int(rdv_noise_xx_split(&hi, &itx, &irx), RDV_OK, "vector: split initiator");
                is_int(rdv_noise_xx_split(&hr, &rtx, &rrx), RDV_OK, "vector: split responder");
            }
        } else {
            struct rdv_noise_cipher *tx = from_ini ? &itx : &rtx, *rx = from_ini ? &rrx : &irx;
            uint8_t out[256], back[256];
            is_int(rdv_noise_cipher_encrypt(tx, NULL, 0, pl, plen, out), RDV_OK, "vector msg %zu: encrypt", i);
            is_mem(out, plen + 16, ct, clen, "vector msg %zu (%s): transport ciphertext exact", i,
                   from_ini ? "initiator" : "responder");
            is_int(rdv_noise_cipher_decrypt(rx, NULL, 0, ct, clen, back), RDV_OK, "vector msg %zu: decrypt", i);
            is_mem(back, clen - 16, pl, plen, "vector msg %zu: decrypted payload", i);
        }
        rdv_buf_free(&wire);
        rdv_buf_free(&got);
        free(pl);
        free(ct);
    }
    free(ipro); free(rpro); free(is); free(ie); free(rs); free(re); free(hh);
}

/* The vector's message 2 (the responder's) truncated to every length, and with every byte flipped:
 * each must fail, with PROTOCOL while too short to hold e, s and a tag, CRYPTO after. */
static void test_vector_msg2_damage(json_t *v)
{
    size_t n, clen;
    uint8_t *is = hexfield(v, "init_static", &n), *ie = hexfield(v, "init_ephemeral", &n);
    json_t *m1 = json_array_get(json_object_get(v, "messages"), 0), *m2 = json_array_get(json_object_get(v, "messages"), 1);
    uint8_t *ct1 = hexfield(m1, "ciphertext", &n), *ct2 = hexfield(m2, "ciphertext", &clen);
    size_t n1 = n;
    uint8_t *pro = hexfield(v, "init_prologue", &n);
    size_t prolen = n;
    int bad_trunc = 0, bad_flip = 0, ok_full = 0;
    for (size_t len = 0; len <= clen; len++) {
        for (int flip = 0; flip < (len == clen ? (int)clen + 1 : 1); flip++) {
            struct rdv_noise_hs hi;
            struct rdv_buf wire, got;
            rdv_buf_init(&wire, 0);
            rdv_buf_init(&got, 0);
            rdv_noise_xx_init(&hi, true, pro, prolen, is, ie);
            rdv_noise_xx_write(&hi, ct1 + 32, n1 - 32, &wire);
            uint8_t *msg = malloc(clen);
            memcpy(msg, ct2, clen);
            if (flip > 0)
                msg[flip - 1] ^= 0x01;
            int rc = rdv_noise_xx_read(&hi, msg, len, &got);
            int want = len < 32 + 48 + 16 ? RDV_ERR_PROTOCOL : RDV_ERR_CRYPTO;
            if (len < clen && rc != want)
                bad_trunc++;
            else if (len == clen && flip > 0 && rc != RDV_ERR_CRYPTO)
                bad_flip++;
            else if (len == clen && flip == 0 && rc == RDV_OK)
                ok_full++;
            free(msg);
            rdv_buf_free(&wire);
            rdv_buf_free(&got);
        }
    }
    is_int(bad_trunc, 0, "msg 2 truncated to each of %zu lengths: PROTOCOL if short, else CRYPTO", clen);
    is_int(bad_flip, 0, "msg 2 with each of %zu bytes flipped: CRYPTO", clen);
    is_int(ok_full, 1, "msg 2 intact still reads (the loop is not vacuous)");
    free(is); free(ie); free(ct1); free(ct2); free(pro);
}

static void test_cipher(void)
{
    struct rdv_noise_cipher c = { .n = 0, .has_key = false };
    uint8_t in[4] = { 1, 2, 3, 4 }, out[40], back[40];
    is_int(rdv_noise_cipher_encrypt(&c, NULL, 0, in, 4, out), RDV_OK, "cipher without key: encrypt");
    is_mem(out, 4, in, 4, "cipher without key is the identity (Noise 5.1)");
    memset(c.k, 7, 32);
    c.has_key = true;
    c.n = UINT64_MAX - 1;
    struct rdv_noise_cipher d = c;
    is_int(rdv_noise_cipher_encrypt(&c, NULL, 0, in, 4, out), RDV_OK, "nonce 2^64-2 is the last usable");
    is_int(rdv_noise_cipher_encrypt(&c, NULL, 0, in, 4, out + 20), RDV_ERR_CRYPTO, "nonce 2^64-1 is refused");
    uint8_t nonce[12] = { 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, ref[20];
    crypto_aead_chacha20poly1305_ietf_encrypt(ref, NULL, in, 4, NULL, 0, NULL, nonce, c.k);
    is_mem(out, 20, ref, 20, "nonce is 4 zero bytes || u64 little-endian");
    is_int(rdv_noise_cipher_decrypt(&d, NULL, 0, out, 15, back), RDV_ERR_TRUNCATED, "decrypt of < 16 bytes");
    out[0] ^= 0x80;
    is_int(rdv_noise_cipher_decrypt(&d, NULL, 0, out, 20, back), RDV_ERR_CRYPTO, "flipped bit: bad tag");
    is_int((long long)(d.n - (UINT64_MAX - 1)), 0, "failed decrypt does not advance the nonce");
    out[0] ^= 0x80;
    is_int(rdv_noise_cipher_decrypt(&d, NULL, 0, out, 20, back), RDV_OK, "decrypt at nonce 2^64-2");
    is_mem(back, 4, in, 4, "decrypted");
    is_int(rdv_noise_cipher_decrypt(&d, NULL, 0, out, 20, back), RDV_ERR_CRYPTO, "decrypt at 2^64-1 refused");
}

/* ---- libp2p sessions -------------------------------------------------------------------------- */

static void test_session_pair(enum rdv_key_type ti, enum rdv_key_type tr, size_t chunk)
{
    char what[64];
    snprintf(what, sizeof(what), "%s->%s chunk %zu", rdv_key_type_name(ti), rdv_key_type_name(tr), chunk);
    struct rdv_privkey ki, kr;
    rdv_privkey_generate(ti, &ki);
    rdv_privkey_generate(tr, &kr);
    struct rdv_peerid pi = peer_of(&ki), pr = peer_of(&kr);
    struct end a, b;
    is_int(new_pair(&a, &b, &ki, &kr, &pr, NULL), RDV_OK, "%s: sessions created", what);
    ok(!rdv_noise_ready(a.s) && !rdv_noise_remote_peer(a.s) && !rdv_noise_remote_key(b.s), "%s: nothing known before", what);
    is_int(handshake(&a, &b, chunk), RDV_OK, "%s: handshake", what);
    ok(rdv_noise_ready(a.s) && rdv_noise_ready(b.s), "%s: both ready", what);
    const struct rdv_peerid *ra = rdv_noise_remote_peer(a.s), *rb = rdv_noise_remote_peer(b.s);
    ok(ra && rdv_peerid_equal(ra, &pr), "%s: initiator sees the responder's peer id", what);
    ok(rb && rdv_peerid_equal(rb, &pi), "%s: responder sees the initiator's peer id", what);
    ok(rdv_noise_remote_key(a.s) && rdv_pubkey_equal(rdv_noise_remote_key(a.s), &kr.pub), "%s: initiator has responder key", what);
    ok(rdv_noise_remote_key(b.s) && rdv_pubkey_equal(rdv_noise_remote_key(b.s), &ki.pub), "%s: responder has initiator key", what);
    roundtrip(&a, &b, 5, chunk, what);
    roundtrip(&b, &a, 1000, chunk, what);
    roundtrip(&a, &b, 200 * 1024, chunk == 1 ? 997 : chunk, what); /* 4 frames */
    roundtrip(&b, &a, 200 * 1024, chunk, what);
    end_free(&a);
    end_free(&b);
    rdv_privkey_clear(&ki);
    rdv_privkey_clear(&kr);
}

static void test_frames_and_state(void)
{
    struct rdv_privkey ki, kr;
    rdv_privkey_generate(RDV_KEY_ED25519, &ki);
    rdv_privkey_generate(RDV_KEY_ED25519, &kr);
    struct end a, b;
    struct rdv_buf w, reply;
    rdv_buf_init(&w, 0);
    rdv_buf_init(&reply, 0);
    size_t used = 99;
    new_pair(&a, &b, &ki, &kr, NULL, NULL);
    uint8_t f1[34] = { 0, 32 };
    is_int(rdv_noise_recv(a.s, f1, sizeof(f1), &used, &reply, &a.plain), RDV_ERR_PROTOCOL, "initiator must speak first");
    is_int(rdv_noise_start(b.s, &w), RDV_OK, "responder start is a no-op");
    is_int(w.len, 0, "responder start writes nothing");
    is_int(rdv_noise_send(b.s, (const uint8_t *)"x", 1, &w), RDV_ERR_PROTOCOL, "send before the handshake refused");
    end_free(&a);
    end_free(&b);

    /* a handshake message 1 frame, then an empty frame */
    new_pair(&a, &b, &ki, &kr, NULL, NULL);
    is_int(rdv_noise_start(a.s, &w), RDV_OK, "start");
    is_int(w.len, 34, "message 1 is u16be(32) || e");
    ok(rdv_buf_head(&w)[0] == 0 && rdv_buf_head(&w)[1] == 32, "message 1 length prefix 00 20");
    is_int(rdv_noise_start(a.s, &w), RDV_ERR_PROTOCOL, "start twice refused");
    for (size_t cut = 0; cut < 34; cut++) {
        used = 99;
        int rc = rdv_noise_recv(b.s, rdv_buf_head(&w), cut, &used, &reply, &b.plain);
        if (rc || used || reply.len) {
            ok(0, "partial message 1 (%zu bytes) left unconsumed", cut);
            break;
        }
        if (cut == 33)
            ok(1, "message 1 cut at each of 34 offsets: consumed 0, no reply");
    }
    uint8_t zero[2] = { 0, 0 };
    is_int(rdv_noise_recv(b.s, zero, 2, &used, &reply, &b.plain), RDV_ERR_PROTOCOL, "handshake frame of length 0");
    is_int(rdv_noise_recv(b.s, rdv_buf_head(&w), 34, &used, &reply, &b.plain), RDV_ERR_PROTOCOL, "dead session stays dead");
    end_free(&a);
    end_free(&b);

    /* an all-zero (low-order) ephemeral key */
    new_pair(&a, &b, &ki, &kr, NULL, NULL);
    memset(f1 + 2, 0, 32);
    rdv_buf_reset(&reply);
    is_int(rdv_noise_recv(b.s, f1, 34, &used, &reply, &b.plain), RDV_ERR_CRYPTO, "all-zero ephemeral key: DH refused");
    is_int(reply.len, 0, "no message 2 sent after a failed DH");
    end_free(&a);
    end_free(&b);

    /* transport framing */
    new_pair(&a, &b, &ki, &kr, NULL, NULL);
    is_int(handshake(&a, &b, 1 << 20), RDV_OK, "handshake for framing tests");
    rdv_buf_reset(&w);
    rdv_noise_send(a.s, (const uint8_t *)"hello", 5, &w);
    is_int(w.len, 23, "5 bytes -> 2 + 5 + 16");
    rdv_buf_reset(&b.plain);
    is_int(rdv_noise_recv(b.s, rdv_buf_head(&w), 22, &used, &reply, &b.plain), RDV_OK, "truncated frame: ok");
    is_int(used + b.plain.len, 0, "truncated frame: nothing consumed or decrypted");
    is_int(rdv_noise_recv(b.s, rdv_buf_head(&w), 1, &used, &reply, &b.plain), RDV_OK, "1 header byte: ok");
    is_int(used, 0, "1 header byte: nothing consumed");
    /* backpressure: plaintext would not fit in plain_out */
    b.plain.max = 4;
    is_int(rdv_noise_recv(b.s, rdv_buf_head(&w), 23, &used, &reply, &b.plain), RDV_OK, "full plain_out: ok");
    is_int(used, 0, "full plain_out: the frame waits");
    b.plain.max = SIZE_MAX;
    is_int(rdv_noise_recv(b.s, rdv_buf_head(&w), 23, &used, &reply, &b.plain), RDV_OK, "complete frame");
    is_int(used, 23, "complete frame consumed");
    is_mem(rdv_buf_head(&b.plain), b.plain.len, "hello", 5, "decrypted");
    is_int(rdv_noise_recv(b.s, rdv_buf_head(&w), 23, &used, &reply, &b.plain), RDV_ERR_CRYPTO, "replayed frame fails");
    ok(!rdv_noise_ready(b.s), "session dead after replay");
    end_free(&a);
    end_free(&b);

    new_pair(&a, &b, &ki, &kr, NULL, NULL);
    handshake(&a, &b, 1 << 20);
    rdv_buf_reset(&w);
    rdv_noise_send(a.s, (const uint8_t *)"hello", 5, &w);
    rdv_buf_head(&w)[2 + 3] ^= 0x04;
    is_int(rdv_noise_recv(b.s, rdv_buf_head(&w), 23, &used, &reply, &b.plain), RDV_ERR_CRYPTO, "flipped ciphertext bit");
    end_free(&a);
    end_free(&b);

    uint8_t f15[17] = { 0, 15 };
    new_pair(&a, &b, &ki, &kr, NULL, NULL);
    handshake(&a, &b, 1 << 20);
    is_int(rdv_noise_recv(b.s, zero, 2, &used, &reply, &b.plain), RDV_ERR_PROTOCOL, "transport frame of length 0");
    end_free(&a);
    end_free(&b);
    new_pair(&a, &b, &ki, &kr, NULL, NULL);
    handshake(&a, &b, 1 << 20);
    is_int(rdv_noise_recv(b.s, f15, 17, &used, &reply, &b.plain), RDV_ERR_PROTOCOL, "transport frame shorter than a tag");
    end_free(&a);
    end_free(&b);

    /* out of order frames; and send is all-or-nothing */
    new_pair(&a, &b, &ki, &kr, NULL, NULL);
    handshake(&a, &b, 1 << 20);
    struct rdv_buf small;
    rdv_buf_init(&small, 30);
    is_int(rdv_noise_send(a.s, (const uint8_t *)"0123456789abcdef", 16, &small), RDV_ERR_TOO_LARGE, "send into a full buffer");
    is_int(small.len, 0, "nothing written");
    roundtrip(&a, &b, 10, 1 << 20, "after refused send (nonce not spent)");
    rdv_buf_reset(&w);
    rdv_noise_send(a.s, (const uint8_t *)"one", 3, &w);
    rdv_noise_send(a.s, (const uint8_t *)"two", 3, &w);
    is_int(rdv_noise_recv(b.s, rdv_buf_head(&w) + 21, 21, &used, &reply, &b.plain), RDV_ERR_CRYPTO, "reordered frame fails");
    end_free(&a);
    end_free(&b);
    rdv_buf_free(&small);
    rdv_buf_free(&w);
    rdv_buf_free(&reply);
}

static void test_expected_peer(void)
{
    struct rdv_privkey ki, kr, other;
    rdv_privkey_generate(RDV_KEY_ED25519, &ki);
    rdv_privkey_generate(RDV_KEY_SECP256K1, &kr);
    rdv_privkey_generate(RDV_KEY_ED25519, &other);
    struct rdv_peerid po = peer_of(&other), pi = peer_of(&ki);
    struct end a, b;
    new_pair(&a, &b, &ki, &kr, &po, NULL);
    is_int(handshake(&a, &b, 1 << 20), RDV_ERR_PEER_ID_MISMATCH, "dialer expecting another peer: mismatch");
    ok(!rdv_noise_ready(a.s) && !rdv_noise_remote_peer(a.s), "no remote peer reported after mismatch");
    end_free(&a);
    end_free(&b);
    new_pair(&a, &b, &ki, &kr, NULL, &po);
    is_int(handshake(&a, &b, 1 << 20), RDV_ERR_PEER_ID_MISMATCH, "responder expecting another peer: mismatch");
    end_free(&a);
    end_free(&b);
    new_pair(&a, &b, &ki, &kr, NULL, &pi);
    is_int(handshake(&a, &b, 1 << 20), RDV_OK, "responder expecting the right peer: ok");
    end_free(&a);
    end_free(&b);
}

/* A peer driven by hand from the core, to check our payload independently and to forge theirs. */
struct fake {
    struct rdv_noise_hs hs;
    struct rdv_privkey id;
};

enum forge { F_GOOD, F_SIG_FLIP, F_SIG_OTHER_STATIC, F_SIG_OTHER_KEY, F_NO_SIG, F_NO_KEY, F_RSA_KEY, F_GARBAGE, F_EXTENSIONS };

static size_t forge_payload(struct fake *f, enum forge how, uint8_t *out)
{
    uint8_t key[RDV_PUBKEY_PROTO_MAX], sig[RDV_SIG_MAX], msg[sizeof(PREFIX) - 1 + 32];
    size_t keylen = 0, siglen = 0;
    struct rdv_privkey other;
    rdv_privkey_generate(RDV_KEY_ED25519, &other);
    rdv_pubkey_marshal(&f->id.pub, key, sizeof(key), &keylen);
    memcpy(msg, PREFIX, sizeof(PREFIX) - 1);
    memcpy(msg + sizeof(PREFIX) - 1, f->hs.s_pub, 32);
    if (how == F_SIG_OTHER_STATIC)
        msg[sizeof(msg) - 1] ^= 1;
    rdv_privkey_sign(how == F_SIG_OTHER_KEY ? &other : &f->id, msg, sizeof(msg), sig, &siglen);
    if (how == F_SIG_FLIP)
        sig[siglen / 2] ^= 0x10;
    if (how == F_GARBAGE) {
        memset(out, 0xff, 40);
        return 40;
    }
    static const uint8_t rsa[] = { 0x08, 0x00, 0x12, 0x04, 1, 2, 3, 4 };
    Noise__Pb__NoiseHandshakePayload pl = NOISE__PB__NOISE_HANDSHAKE_PAYLOAD__INIT;
    Noise__Pb__NoiseExtensions ext = NOISE__PB__NOISE_EXTENSIONS__INIT;
    char *muxers[] = { "/yamux/1.0.0", "/mplex/6.7.0" };
    ProtobufCBinaryData hashes[1] = { { 4, (uint8_t *)"hash" } };
    pl.identity_key.data = how == F_RSA_KEY ? (uint8_t *)rsa : key;
    pl.identity_key.len = how == F_NO_KEY ? 0 : how == F_RSA_KEY ? sizeof(rsa) : keylen;
    pl.identity_sig.data = sig;
    pl.identity_sig.len = how == F_NO_SIG ? 0 : siglen;
    if (how == F_EXTENSIONS) {
        ext.n_stream_muxers = 2;
        ext.stream_muxers = muxers;
        ext.n_webtransport_certhashes = 1;
        ext.webtransport_certhashes = hashes;
        pl.extensions = &ext;
    }
    rdv_privkey_clear(&other);
    return noise__pb__noise_handshake_payload__pack(&pl, out);
}

/* Checks a payload our session sent: its key is `who`, and it signs the static key the fake learnt. */
static bool payload_is_valid(struct fake *f, const struct rdv_buf *pt, const struct rdv_privkey *who)
{
    Noise__Pb__NoiseHandshakePayload *pl = noise__pb__noise_handshake_payload__unpack(NULL, pt->len, rdv_buf_head(pt));
    if (!pl)
        return false;
    struct rdv_pubkey k;
    uint8_t msg[sizeof(PREFIX) - 1 + 32];
    memcpy(msg, PREFIX, sizeof(PREFIX) - 1);
    memcpy(msg + sizeof(PREFIX) - 1, f->hs.rs, 32);
    bool good = rdv_pubkey_unmarshal(pl->identity_key.data, pl->identity_key.len, &k) == RDV_OK &&
                rdv_pubkey_equal(&k, &who->pub) && pl->extensions == NULL &&
                rdv_pubkey_verify(&k, msg, sizeof(msg), pl->identity_sig.data, pl->identity_sig.len) == RDV_OK;
    noise__pb__noise_handshake_payload__free_unpacked(pl, NULL);
    return good;
}

static void fake_init(struct fake *f, bool initiator)
{
    uint8_t s[32];
    randombytes_buf(s, 32);
    rdv_noise_xx_init(&f->hs, initiator, NULL, 0, s, NULL);
    rdv_privkey_generate(RDV_KEY_SECP256K1, &f->id);
}

/* Our initiator session against a fake responder sending a forged message 2. Returns the session's
 * verdict on it; for F_GOOD/F_EXTENSIONS, also checks message 3 and a transport round trip. */
static int fake_responder(enum forge how, const struct rdv_privkey *ki)
{
    struct fake f;
    fake_init(&f, false);
    struct end a;
    end_init(&a);
    rdv_noise_session_new(RDV_NOISE_INITIATOR, ki, NULL, &a.s);
    struct rdv_buf w, pt, m2, reply;
    rdv_buf_init(&w, 0);
    rdv_buf_init(&pt, 0);
    rdv_buf_init(&m2, 0);
    rdv_buf_init(&reply, 0);
    rdv_noise_start(a.s, &w);
    rdv_noise_xx_read(&f.hs, rdv_buf_head(&w) + 2, w.len - 2, &pt);
    uint8_t payload[512];
    size_t plen = forge_payload(&f, how, payload);
    rdv_noise_xx_write(&f.hs, payload, plen, &m2);
    frame(&reply, rdv_buf_head(&m2), m2.len);
    rdv_buf_reset(&w);
    int rc = deliver(&a, &reply, 1 << 20, &w);
    if (rc == RDV_OK) {
        struct rdv_noise_cipher tx, rx;
        rdv_buf_reset(&pt);
        bool m3 = w.len > 2 && (size_t)((rdv_buf_head(&w)[0] << 8) | rdv_buf_head(&w)[1]) == w.len - 2 &&
                  rdv_noise_xx_read(&f.hs, rdv_buf_head(&w) + 2, w.len - 2, &pt) == RDV_OK;
        ok(m3 && payload_is_valid(&f, &pt, ki), "message 3 carries our key and a valid signature of our static key");
        ok(rdv_noise_xx_split(&f.hs, &tx, &rx) == RDV_OK, "fake responder split");
        /* a 16-byte frame: an empty transport message is legal */
        uint8_t ct[16 + 3];
        rdv_buf_reset(&reply);
        rdv_noise_cipher_encrypt(&tx, NULL, 0, NULL, 0, ct);
        frame(&reply, ct, 16);
        rdv_noise_cipher_encrypt(&tx, NULL, 0, (const uint8_t *)"abc", 3, ct);
        frame(&reply, ct, 19);
        rdv_buf_reset(&w);
        is_int(deliver(&a, &reply, 1 << 20, &w), RDV_OK, "empty then 3-byte transport frame accepted");
        is_mem(rdv_buf_head(&a.plain), a.plain.len, "abc", 3, "decrypted from the fake responder");
        rdv_noise_send(a.s, (const uint8_t *)"xyz", 3, &w);
        uint8_t back[3];
        ok(w.len == 21 && rdv_noise_cipher_decrypt(&rx, NULL, 0, rdv_buf_head(&w) + 2, 19, back) == RDV_OK &&
           memcmp(back, "xyz", 3) == 0, "fake responder decrypts our frame");
    }
    end_free(&a);
    rdv_buf_free(&w); rdv_buf_free(&pt); rdv_buf_free(&m2); rdv_buf_free(&reply);
    rdv_privkey_clear(&f.id);
    return rc;
}

/* Our responder session against a fake initiator sending a forged message 3, followed in the same
 * chunk by a transport frame (initiators may pipeline it). */
static int fake_initiator(enum forge how, const struct rdv_privkey *kr)
{
    struct fake f;
    fake_init(&f, true);
    struct end b;
    end_init(&b);
    rdv_noise_session_new(RDV_NOISE_RESPONDER, kr, NULL, &b.s);
    struct rdv_buf w, pt, m, reply;
    rdv_buf_init(&w, 0);
    rdv_buf_init(&pt, 0);
    rdv_buf_init(&m, 0);
    rdv_buf_init(&reply, 0);
    rdv_noise_xx_write(&f.hs, NULL, 0, &m);
    frame(&w, rdv_buf_head(&m), m.len);
    deliver(&b, &w, 1 << 20, &reply);
    bool m2 = reply.len > 2 && rdv_noise_xx_read(&f.hs, rdv_buf_head(&reply) + 2, reply.len - 2, &pt) == RDV_OK;
    if (how == F_GOOD)
        ok(m2 && payload_is_valid(&f, &pt, kr), "message 2 carries the responder key and a valid signature");
    uint8_t payload[512];
    size_t plen = forge_payload(&f, how, payload);
    rdv_buf_reset(&m);
    rdv_noise_xx_write(&f.hs, payload, plen, &m);
    rdv_buf_reset(&w);
    frame(&w, rdv_buf_head(&m), m.len);
    struct rdv_noise_cipher tx, rx;
    rdv_noise_xx_split(&f.hs, &tx, &rx);
    uint8_t ct[4 + 16];
    rdv_noise_cipher_encrypt(&tx, NULL, 0, (const uint8_t *)"ping", 4, ct);
    frame(&w, ct, sizeof(ct));
    rdv_buf_reset(&reply);
    int rc = deliver(&b, &w, 1 << 20, &reply);
    if (rc == RDV_OK) {
        is_mem(rdv_buf_head(&b.plain), b.plain.len, "ping", 4, "transport frame pipelined after message 3 decrypted");
        struct rdv_peerid want = peer_of(&f.id);
        ok(rdv_noise_remote_peer(b.s) && rdv_peerid_equal(rdv_noise_remote_peer(b.s), &want), "remote peer is the fake's");
    }
    end_free(&b);
    rdv_buf_free(&w); rdv_buf_free(&pt); rdv_buf_free(&m); rdv_buf_free(&reply);
    rdv_privkey_clear(&f.id);
    return rc;
}

static void test_forged_payloads(void)
{
    static const struct { enum forge how; int want; const char *name; } cases[] = {
        { F_GOOD, RDV_OK, "valid payload" },
        { F_EXTENSIONS, RDV_OK, "payload with extensions (ignored)" },
        { F_SIG_FLIP, RDV_ERR_SIGNATURE, "tampered signature" },
        { F_SIG_OTHER_STATIC, RDV_ERR_SIGNATURE, "signature over another static key" },
        { F_SIG_OTHER_KEY, RDV_ERR_SIGNATURE, "signature by another identity" },
        { F_NO_SIG, RDV_ERR_SIGNATURE, "no signature" },
        { F_NO_KEY, RDV_ERR_INVALID, "no identity key" },
        { F_RSA_KEY, RDV_ERR_UNSUPPORTED, "RSA identity key" },
        { F_GARBAGE, RDV_ERR_PROTOCOL, "payload is not a protobuf" },
    };
    struct rdv_privkey k;
    rdv_privkey_generate(RDV_KEY_ED25519, &k);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        is_int(fake_responder(cases[i].how, &k), cases[i].want, "initiator vs message 2 with %s", cases[i].name);
        is_int(fake_initiator(cases[i].how, &k), cases[i].want, "responder vs message 3 with %s", cases[i].name);
    }
    rdv_privkey_clear(&k);
}

/* One shared responder identity (a server's per-process static key) serves several initiators:
 * each handshake verifies, and the sessions' transport keys differ (fresh ephemerals). */
static void test_shared_identity(void)
{
    struct rdv_privkey ki, kr;
    rdv_privkey_generate(RDV_KEY_ED25519, &ki);
    rdv_privkey_generate(RDV_KEY_ED25519, &kr);
    struct rdv_peerid pr = peer_of(&kr);
    struct rdv_noise_identity ni;
    is_int(rdv_noise_identity_init(&ni, &kr), RDV_OK, "shared identity made");
    struct rdv_buf first;
    rdv_buf_init(&first, 0);
    for (int i = 0; i < 3; i++) {
        struct end a, b;
        end_init(&a);
        end_init(&b);
        int rc = rdv_noise_session_new(RDV_NOISE_INITIATOR, &ki, &pr, &a.s);
        if (!rc)
            rc = rdv_noise_session_new_with(RDV_NOISE_RESPONDER, &ni, NULL, &b.s);
        is_int(rc ? rc : handshake(&a, &b, 1 << 20), RDV_OK, "shared identity: handshake %d", i);
        ok(rdv_noise_ready(a.s) && rdv_peerid_equal(rdv_noise_remote_peer(a.s), &pr),
           "shared identity: initiator %d authenticates the responder", i);
        struct rdv_buf w;
        rdv_buf_init(&w, 0);
        rdv_noise_send(b.s, (const uint8_t *)"same", 4, &w);
        if (i == 0)
            rdv_buf_append(&first, rdv_buf_head(&w), w.len);
        else
            ok(w.len != first.len || memcmp(rdv_buf_head(&w), rdv_buf_head(&first), w.len) != 0,
               "shared identity: session %d encrypts under its own keys", i);
        roundtrip(&a, &b, 100, 1 << 20, "shared identity");
        rdv_buf_free(&w);
        end_free(&a);
        end_free(&b);
    }
    rdv_buf_free(&first);
    rdv_noise_identity_clear(&ni);
    rdv_privkey_clear(&ki);
    rdv_privkey_clear(&kr);
}

int main(void)
{
    if (sodium_init() < 0) {
        printf("Bail out! sodium_init\n");
        return 1;
    }
    json_t *root = tu_load_vectors("noise-xx.json");
    json_t *vecs = json_object_get(root, "vectors");
    is_int(json_array_size(vecs), 1, "one cacophony vector");
    for (size_t i = 0; i < json_array_size(vecs); i++) {
        json_t *v = json_array_get(vecs, i);
        is_str(json_string_value(json_object_get(v, "protocol_name")), "Noise_XX_25519_ChaChaPoly_SHA256", "protocol name");
        test_vector(v);
        test_vector_msg2_damage(v);
    }
    json_decref(root);
    test_cipher();
    static const enum rdv_key_type kt[2] = { RDV_KEY_ED25519, RDV_KEY_SECP256K1 };
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            test_session_pair(kt[i], kt[j], 1 << 20);
            test_session_pair(kt[i], kt[j], 1);
        }
    test_frames_and_state();
    test_expected_peer();
    test_forged_payloads();
    test_shared_identity();
    return tap_done();
}
