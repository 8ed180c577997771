/* noise.c: see noise.h. The core follows the Noise spec (rev 34) sections 5.1-5.3 and 7.5 (XX)
 * literally, one function per spec operation, so it can be read against the spec. The session adds
 * libp2p's framing and payload checks; it prepares our payload at creation so the identity key is
 * used once and never stored. */
#include "p2p/noise.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "noise.pb-c.h"
#include "util/err.h"

#define PROTOCOL_NAME "Noise_XX_25519_ChaChaPoly_SHA256" /* exactly HASHLEN bytes: used as h as-is */
#define SIG_PREFIX "noise-libp2p-static-key:"
#define SIG_PREFIX_LEN (sizeof(SIG_PREFIX) - 1)
#define FRAME_HDR 2

/* ---- CipherState ------------------------------------------------------------------------------ */

static void cipher_nonce(uint64_t n, uint8_t nonce[12])
{
    memset(nonce, 0, 4);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

int rdv_noise_cipher_encrypt(struct rdv_noise_cipher *c, const uint8_t *ad, size_t adlen,
                             const uint8_t *in, size_t n, uint8_t *out)
{
    if (!c->has_key) {
        if (n)
            memmove(out, in, n);
        return RDV_OK;
    }
    if (c->n == UINT64_MAX)
        return RDV_ERR_CRYPTO;
    uint8_t nonce[12];
    cipher_nonce(c->n, nonce);
    crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, in, n, ad, adlen, NULL, nonce, c->k);
    c->n++;
    return RDV_OK;
}

int rdv_noise_cipher_decrypt(struct rdv_noise_cipher *c, const uint8_t *ad, size_t adlen,
                             const uint8_t *in, size_t n, uint8_t *out)
{
    if (!c->has_key) {
        if (n)
            memmove(out, in, n);
        return RDV_OK;
    }
    if (n < RDV_NOISE_TAGLEN)
        return RDV_ERR_TRUNCATED;
    if (c->n == UINT64_MAX)
        return RDV_ERR_CRYPTO;
    uint8_t nonce[12];
    cipher_nonce(c->n, nonce);
    if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, in, n, ad, adlen, nonce, c->k) != 0)
        return RDV_ERR_CRYPTO;
    c->n++;
    return RDV_OK;
}

static void cipher_init_key(struct rdv_noise_cipher *c, const uint8_t k[RDV_NOISE_KEYLEN])
{
    memcpy(c->k, k, RDV_NOISE_KEYLEN);
    c->n = 0;
    c->has_key = true;
}

/* Where to write n bytes reserved in b: a zero-length write may face a buffer with no storage yet, and
 * NULL + 0 is not valid C, so it gets a scratch byte instead. */
static uint8_t *tail_for(struct rdv_buf *b, size_t n, uint8_t *scratch)
{
    return n ? rdv_buf_tail(b) : scratch;
}

/* ---- SymmetricState --------------------------------------------------------------------------- */

static void hmac(const uint8_t key[RDV_NOISE_HASHLEN], const uint8_t *a, size_t alen, uint8_t b,
                 bool with_b, uint8_t out[RDV_NOISE_HASHLEN])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, RDV_NOISE_HASHLEN);
    crypto_auth_hmacsha256_update(&st, a, alen);
    if (with_b)
        crypto_auth_hmacsha256_update(&st, &b, 1);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

/* HKDF(ck, ikm) with two outputs (spec 4.3); out1 and out2 may not alias ck. */
static void hkdf2(const uint8_t ck[RDV_NOISE_HASHLEN], const uint8_t *ikm, size_t ikmlen,
                  uint8_t out1[RDV_NOISE_HASHLEN], uint8_t out2[RDV_NOISE_HASHLEN])
{
    uint8_t temp[RDV_NOISE_HASHLEN];
    hmac(ck, ikm, ikmlen, 0, false, temp);
    hmac(temp, NULL, 0, 0x01, true, out1);
    hmac(temp, out1, RDV_NOISE_HASHLEN, 0x02, true, out2);
    sodium_memzero(temp, sizeof(temp));
}

static void mix_hash(struct rdv_noise_hs *hs, const uint8_t *data, size_t n)
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, hs->h, RDV_NOISE_HASHLEN);
    crypto_hash_sha256_update(&st, data, n);
    crypto_hash_sha256_final(&st, hs->h);
}

static void mix_key(struct rdv_noise_hs *hs, const uint8_t ikm[32])
{
    uint8_t ck[RDV_NOISE_HASHLEN], k[RDV_NOISE_KEYLEN];
    hkdf2(hs->ck, ikm, 32, ck, k);
    memcpy(hs->ck, ck, sizeof(ck));
    cipher_init_key(&hs->cs, k);
    sodium_memzero(ck, sizeof(ck));
    sodium_memzero(k, sizeof(k));
}

/* MixKey(DH(priv, pub)); libsodium refuses an all-zero result (low-order point). */
static int mix_dh(struct rdv_noise_hs *hs, const uint8_t priv[32], const uint8_t pub[32])
{
    uint8_t shared[32];
    if (crypto_scalarmult(shared, priv, pub) != 0)
        return RDV_ERR_CRYPTO;
    mix_key(hs, shared);
    sodium_memzero(shared, sizeof(shared));
    return RDV_OK;
}

static size_t sealed_len(const struct rdv_noise_hs *hs, size_t n)
{
    return hs->cs.has_key ? n + RDV_NOISE_TAGLEN : n;
}

/* EncryptAndHash, appending the ciphertext to out. */
static int encrypt_and_hash(struct rdv_noise_hs *hs, const uint8_t *pt, size_t n, struct rdv_buf *out)
{
    size_t clen = sealed_len(hs, n);
    uint8_t scratch;
    int rc = rdv_buf_reserve(out, clen);
    if (rc)
        return rc;
    uint8_t *dst = tail_for(out, clen, &scratch);
    rc = rdv_noise_cipher_encrypt(&hs->cs, hs->h, RDV_NOISE_HASHLEN, pt, n, dst);
    if (rc)
        return rc;
    mix_hash(hs, dst, clen);
    rdv_buf_commit(out, clen);
    return RDV_OK;
}

/* DecryptAndHash of exactly ct[0..n) into out (n - 16 bytes, or n without a key). */
static int decrypt_and_hash(struct rdv_noise_hs *hs, const uint8_t *ct, size_t n, uint8_t *out)
{
    int rc = rdv_noise_cipher_decrypt(&hs->cs, hs->h, RDV_NOISE_HASHLEN, ct, n, out);
    if (rc)
        return rc == RDV_ERR_TRUNCATED ? RDV_ERR_PROTOCOL : rc;
    mix_hash(hs, ct, n);
    return RDV_OK;
}

/* ---- HandshakeState (XX) ---------------------------------------------------------------------- */

/* s_pub_or_null: our static public key when the caller knows it (saves a ladder per session). */
static int xx_init_keys(struct rdv_noise_hs *hs, bool initiator, const uint8_t *prologue, size_t plen,
                        const uint8_t s_priv[32], const uint8_t *s_pub_or_null, const uint8_t *e_priv_or_null)
{
    if (sodium_init() < 0)
        return RDV_ERR_CRYPTO;
    memset(hs, 0, sizeof(*hs));
    memcpy(hs->h, PROTOCOL_NAME, RDV_NOISE_HASHLEN);
    memcpy(hs->ck, hs->h, RDV_NOISE_HASHLEN);
    mix_hash(hs, prologue, plen);
    hs->initiator = initiator;
    memcpy(hs->s_priv, s_priv, 32);
    if (e_priv_or_null)
        memcpy(hs->e_priv, e_priv_or_null, 32);
    else
        randombytes_buf(hs->e_priv, 32);
    if (s_pub_or_null)
        memcpy(hs->s_pub, s_pub_or_null, 32);
    if ((!s_pub_or_null && crypto_scalarmult_base(hs->s_pub, hs->s_priv) != 0) ||
        crypto_scalarmult_base(hs->e_pub, hs->e_priv) != 0) {
        rdv_noise_xx_clear(hs);
        return RDV_ERR_CRYPTO;
    }
    return RDV_OK;
}

int rdv_noise_xx_init(struct rdv_noise_hs *hs, bool initiator, const uint8_t *prologue, size_t plen,
                      const uint8_t s_priv[32], const uint8_t *e_priv_or_null)
{
    return xx_init_keys(hs, initiator, prologue, plen, s_priv, NULL, e_priv_or_null);
}

/* Whether the message numbered hs->step is ours to write: the initiator writes 0 and 2. */
static bool our_turn(const struct rdv_noise_hs *hs)
{
    return hs->step < 3 && (hs->step % 2 == 0) == hs->initiator;
}

static int write_tokens(struct rdv_noise_hs *hs, struct rdv_buf *out)
{
    int rc;
    switch (hs->step) {
    case 0: /* -> e */
        mix_hash(hs, hs->e_pub, 32);
        return rdv_buf_append(out, hs->e_pub, 32);
    case 1: /* <- e, ee, s, es */
        mix_hash(hs, hs->e_pub, 32);
        if ((rc = rdv_buf_append(out, hs->e_pub, 32)) || (rc = mix_dh(hs, hs->e_priv, hs->re)) ||
            (rc = encrypt_and_hash(hs, hs->s_pub, 32, out)))
            return rc;
        return mix_dh(hs, hs->s_priv, hs->re);
    default: /* -> s, se */
        if ((rc = encrypt_and_hash(hs, hs->s_pub, 32, out)))
            return rc;
        return mix_dh(hs, hs->s_priv, hs->re);
    }
}

int rdv_noise_xx_write(struct rdv_noise_hs *hs, const uint8_t *payload, size_t n, struct rdv_buf *out)
{
    if (!our_turn(hs))
        return RDV_ERR_PROTOCOL;
    if (n > RDV_NOISE_MSG_MAX)
        return RDV_ERR_TOO_LARGE;
    size_t start = out->len;
    int rc = write_tokens(hs, out);
    if (!rc)
        rc = encrypt_and_hash(hs, payload, n, out);
    if (!rc && out->len - start > RDV_NOISE_MSG_MAX)
        rc = RDV_ERR_TOO_LARGE;
    if (rc) {
        out->len = start;
        return rc;
    }
    hs->step++;
    return RDV_OK;
}

/* Reads the key tokens of message hs->step; returns how many bytes they took or an error. */
static int read_tokens(struct rdv_noise_hs *hs, const uint8_t *msg, size_t n)
{
    int rc;
    size_t senc = 32 + RDV_NOISE_TAGLEN; /* s is always encrypted in XX */
    switch (hs->step) {
    case 0: /* -> e */
        if (n < 32)
            return RDV_ERR_PROTOCOL;
        memcpy(hs->re, msg, 32);
        mix_hash(hs, hs->re, 32);
        return 32;
    case 1: /* <- e, ee, s, es */
        if (n < 32 + senc + RDV_NOISE_TAGLEN)
            return RDV_ERR_PROTOCOL;
        memcpy(hs->re, msg, 32);
        mix_hash(hs, hs->re, 32);
        if ((rc = mix_dh(hs, hs->e_priv, hs->re)) || (rc = decrypt_and_hash(hs, msg + 32, senc, hs->rs)) ||
            (rc = mix_dh(hs, hs->e_priv, hs->rs)))
            return rc;
        return (int)(32 + senc);
    default: /* -> s, se */
        if (n < senc + RDV_NOISE_TAGLEN)
            return RDV_ERR_PROTOCOL;
        if ((rc = decrypt_and_hash(hs, msg, senc, hs->rs)) || (rc = mix_dh(hs, hs->e_priv, hs->rs)))
            return rc;
        return (int)senc;
    }
}

int rdv_noise_xx_read(struct rdv_noise_hs *hs, const uint8_t *msg, size_t n, struct rdv_buf *payload_out)
{
    if (hs->step >= 3 || our_turn(hs))
        return RDV_ERR_PROTOCOL;
    if (n > RDV_NOISE_MSG_MAX)
        return RDV_ERR_TOO_LARGE;
    int used = read_tokens(hs, msg, n);
    if (used < 0)
        return used;
    size_t clen = n - (size_t)used;
    size_t plen = hs->cs.has_key ? clen - RDV_NOISE_TAGLEN : clen; /* read_tokens checked clen >= tag */
    uint8_t scratch;
    int rc = rdv_buf_reserve(payload_out, plen);
    if (rc)
        return rc;
    if ((rc = decrypt_and_hash(hs, msg + used, clen, tail_for(payload_out, plen, &scratch))))
        return rc;
    rdv_buf_commit(payload_out, plen);
    hs->step++;
    return RDV_OK;
}

int rdv_noise_xx_split(const struct rdv_noise_hs *hs, struct rdv_noise_cipher *send, struct rdv_noise_cipher *recv)
{
    if (!rdv_noise_xx_done(hs))
        return RDV_ERR_PROTOCOL;
    uint8_t k1[RDV_NOISE_KEYLEN], k2[RDV_NOISE_KEYLEN];
    hkdf2(hs->ck, NULL, 0, k1, k2);
    /* k1 encrypts initiator -> responder, k2 the other way */
    cipher_init_key(send, hs->initiator ? k1 : k2);
    cipher_init_key(recv, hs->initiator ? k2 : k1);
    sodium_memzero(k1, sizeof(k1));
    sodium_memzero(k2, sizeof(k2));
    return RDV_OK;
}

void rdv_noise_xx_clear(struct rdv_noise_hs *hs)
{
    sodium_memzero(hs, sizeof(*hs));
}

/* ---- libp2p session --------------------------------------------------------------------------- */

enum session_state {
    ST_START,      /* initiator before rdv_noise_start */
    ST_WAIT_MSG1,  /* responder */
    ST_WAIT_MSG2,  /* initiator */
    ST_WAIT_MSG3,  /* responder */
    ST_READY,
    ST_FAILED,
};

struct rdv_noise_session {
    enum rdv_noise_role role;
    enum session_state st;
    struct rdv_noise_hs hs;
    struct rdv_noise_cipher tx, rx;
    uint8_t payload[RDV_NOISE_PAYLOAD_MAX]; /* our signed NoiseHandshakePayload */
    size_t payload_len;
    bool has_expected;
    struct rdv_peerid expected;
    struct rdv_pubkey remote_key;
    struct rdv_peerid remote_id;
};

/* Signs our static key and packs NoiseHandshakePayload { identity_key, identity_sig } into ni. */
static int build_payload(struct rdv_noise_identity *ni, const struct rdv_privkey *id)
{
    uint8_t key[RDV_PUBKEY_PROTO_MAX], sig[RDV_SIG_MAX], msg[SIG_PREFIX_LEN + 32];
    size_t keylen = 0, siglen = 0;
    int rc = rdv_pubkey_marshal(&id->pub, key, sizeof(key), &keylen);
    if (rc)
        return rc;
    memcpy(msg, SIG_PREFIX, SIG_PREFIX_LEN);
    memcpy(msg + SIG_PREFIX_LEN, ni->s_pub, 32);
    if ((rc = rdv_privkey_sign(id, msg, sizeof(msg), sig, &siglen)))
        return rc;
    Noise__Pb__NoiseHandshakePayload pl = NOISE__PB__NOISE_HANDSHAKE_PAYLOAD__INIT;
    pl.identity_key.data = key;
    pl.identity_key.len = keylen;
    pl.identity_sig.data = sig;
    pl.identity_sig.len = siglen;
    if (noise__pb__noise_handshake_payload__get_packed_size(&pl) > sizeof(ni->payload))
        return RDV_ERR_INTERNAL;
    ni->payload_len = noise__pb__noise_handshake_payload__pack(&pl, ni->payload);
    return RDV_OK;
}

int rdv_noise_identity_init(struct rdv_noise_identity *ni, const struct rdv_privkey *id)
{
    memset(ni, 0, sizeof(*ni));
    if (sodium_init() < 0)
        return RDV_ERR_CRYPTO;
    randombytes_buf(ni->s_priv, sizeof(ni->s_priv));
    int rc = crypto_scalarmult_base(ni->s_pub, ni->s_priv) == 0 ? build_payload(ni, id) : RDV_ERR_CRYPTO;
    if (rc)
        rdv_noise_identity_clear(ni);
    return rc;
}

void rdv_noise_identity_clear(struct rdv_noise_identity *ni)
{
    sodium_memzero(ni, sizeof(*ni));
}

int rdv_noise_session_new_with(enum rdv_noise_role role, const struct rdv_noise_identity *ni,
                               const struct rdv_peerid *expected_or_null, struct rdv_noise_session **out)
{
    *out = NULL;
    if (sodium_init() < 0)
        return RDV_ERR_CRYPTO;
    if (ni->payload_len == 0 || ni->payload_len > sizeof(ni->payload))
        return RDV_ERR_INVALID;
    struct rdv_noise_session *s = calloc(1, sizeof(*s));
    if (!s)
        return RDV_ERR_NOMEM;
    s->role = role;
    s->st = role == RDV_NOISE_INITIATOR ? ST_START : ST_WAIT_MSG1;
    if (expected_or_null) {
        s->has_expected = true;
        s->expected = *expected_or_null;
    }
    int rc = xx_init_keys(&s->hs, role == RDV_NOISE_INITIATOR, NULL, 0, ni->s_priv, ni->s_pub, NULL);
    if (rc) {
        rdv_noise_session_free(s);
        return rc;
    }
    memcpy(s->payload, ni->payload, ni->payload_len);
    s->payload_len = ni->payload_len;
    *out = s;
    return RDV_OK;
}

int rdv_noise_session_new(enum rdv_noise_role role, const struct rdv_privkey *id,
                          const struct rdv_peerid *expected_or_null, struct rdv_noise_session **out)
{
    struct rdv_noise_identity ni;
    *out = NULL;
    int rc = rdv_noise_identity_init(&ni, id); /* a fresh static key for this session alone */
    if (!rc)
        rc = rdv_noise_session_new_with(role, &ni, expected_or_null, out);
    rdv_noise_identity_clear(&ni);
    return rc;
}

static int append_frame_header(struct rdv_buf *out, size_t n)
{
    uint8_t hdr[FRAME_HDR] = { (uint8_t)(n >> 8), (uint8_t)n };
    return rdv_buf_append(out, hdr, FRAME_HDR);
}

/* Appends u16be(len) || our next handshake message; rolls wire_out back on failure. */
static int write_handshake(struct rdv_noise_session *s, const uint8_t *payload, size_t n, struct rdv_buf *wire_out)
{
    size_t start = wire_out->len;
    int rc = append_frame_header(wire_out, 0);
    if (!rc)
        rc = rdv_noise_xx_write(&s->hs, payload, n, wire_out);
    if (rc) {
        wire_out->len = start;
        return rc;
    }
    size_t mlen = wire_out->len - start - FRAME_HDR;
    uint8_t *hdr = rdv_buf_head(wire_out) + start;
    hdr[0] = (uint8_t)(mlen >> 8);
    hdr[1] = (uint8_t)mlen;
    return RDV_OK;
}

int rdv_noise_start(struct rdv_noise_session *s, struct rdv_buf *wire_out)
{
    if (s->role == RDV_NOISE_RESPONDER)
        return RDV_OK;
    if (s->st != ST_START)
        return RDV_ERR_PROTOCOL;
    int rc = write_handshake(s, NULL, 0, wire_out); /* message 1 carries no payload in libp2p */
    if (rc)
        return rc;
    s->st = ST_WAIT_MSG2;
    return RDV_OK;
}

/* Checks the remote NoiseHandshakePayload: its key decodes, signs the remote static key, and matches
 * the expected peer. Extensions are ignored. */
static int check_payload(struct rdv_noise_session *s, const Noise__Pb__NoiseHandshakePayload *pl)
{
    struct rdv_pubkey key;
    struct rdv_peerid id;
    uint8_t msg[SIG_PREFIX_LEN + 32];
    int rc = rdv_pubkey_unmarshal_to_verify(pl->identity_key.data, pl->identity_key.len, &key); /* verified below */
    if (rc)
        return rc;
    memcpy(msg, SIG_PREFIX, SIG_PREFIX_LEN);
    memcpy(msg + SIG_PREFIX_LEN, s->hs.rs, 32);
    if (pl->identity_sig.len == 0 ||
        rdv_pubkey_verify(&key, msg, sizeof(msg), pl->identity_sig.data, pl->identity_sig.len) != RDV_OK)
        return RDV_ERR_SIGNATURE;
    if ((rc = rdv_peerid_from_pubkey(&key, &id)))
        return rc;
    if (s->has_expected && !rdv_peerid_equal(&id, &s->expected))
        return RDV_ERR_PEER_ID_MISMATCH;
    s->remote_key = key;
    s->remote_id = id;
    return RDV_OK;
}

/* Reads a handshake message that must carry the remote identity payload. */
static int read_identity(struct rdv_noise_session *s, const uint8_t *msg, size_t n)
{
    struct rdv_buf pt;
    rdv_buf_init(&pt, RDV_NOISE_MSG_MAX);
    int rc = rdv_noise_xx_read(&s->hs, msg, n, &pt);
    if (!rc) {
        Noise__Pb__NoiseHandshakePayload *pl =
            noise__pb__noise_handshake_payload__unpack(NULL, pt.len, rdv_buf_head(&pt));
        rc = pl ? check_payload(s, pl) : RDV_ERR_PROTOCOL;
        if (pl)
            noise__pb__noise_handshake_payload__free_unpacked(pl, NULL);
    }
    rdv_buf_free(&pt);
    return rc;
}

static int finish_handshake(struct rdv_noise_session *s)
{
    int rc = rdv_noise_xx_split(&s->hs, &s->tx, &s->rx);
    rdv_noise_xx_clear(&s->hs);
    if (rc)
        return rc;
    s->st = ST_READY;
    return RDV_OK;
}

static int on_handshake_frame(struct rdv_noise_session *s, const uint8_t *msg, size_t n, struct rdv_buf *wire_out)
{
    int rc;
    struct rdv_buf ignored;
    switch (s->st) {
    case ST_WAIT_MSG1: /* -> e: any payload is not ours to interpret (libp2p sends none) */
        rdv_buf_init(&ignored, RDV_NOISE_MSG_MAX);
        rc = rdv_noise_xx_read(&s->hs, msg, n, &ignored);
        rdv_buf_free(&ignored);
        if (rc || (rc = write_handshake(s, s->payload, s->payload_len, wire_out)))
            return rc;
        s->st = ST_WAIT_MSG3;
        return RDV_OK;
    case ST_WAIT_MSG2:
        if ((rc = read_identity(s, msg, n)) || (rc = write_handshake(s, s->payload, s->payload_len, wire_out)))
            return rc;
        return finish_handshake(s);
    case ST_WAIT_MSG3:
        if ((rc = read_identity(s, msg, n)))
            return rc;
        return finish_handshake(s);
    default: /* ST_START: the initiator speaks first */
        return RDV_ERR_PROTOCOL;
    }
}

/* Decrypts one transport frame into plain_out; RDV_ERR_TOO_LARGE means "no room now". */
static int on_transport_frame(struct rdv_noise_session *s, const uint8_t *msg, size_t n, struct rdv_buf *plain_out)
{
    if (n < RDV_NOISE_TAGLEN)
        return RDV_ERR_PROTOCOL;
    size_t plen = n - RDV_NOISE_TAGLEN;
    uint8_t scratch;
    int rc = rdv_buf_reserve(plain_out, plen);
    if (rc)
        return rc;
    if ((rc = rdv_noise_cipher_decrypt(&s->rx, NULL, 0, msg, n, tail_for(plain_out, plen, &scratch))))
        return rc;
    rdv_buf_commit(plain_out, plen);
    return RDV_OK;
}

static void session_fail(struct rdv_noise_session *s)
{
    rdv_noise_xx_clear(&s->hs);
    sodium_memzero(&s->tx, sizeof(s->tx));
    sodium_memzero(&s->rx, sizeof(s->rx));
    s->st = ST_FAILED;
}

int rdv_noise_recv(struct rdv_noise_session *s, const uint8_t *in, size_t len, size_t *consumed,
                   struct rdv_buf *wire_out, struct rdv_buf *plain_out)
{
    *consumed = 0;
    if (s->st == ST_FAILED)
        return RDV_ERR_PROTOCOL;
    size_t off = 0;
    while (len - off >= FRAME_HDR) {
        size_t n = ((size_t)in[off] << 8) | in[off + 1];
        if (len - off - FRAME_HDR < n)
            break; /* partial frame: the caller keeps it */
        const uint8_t *msg = in + off + FRAME_HDR;
        int rc;
        if (s->st == ST_READY) {
            rc = on_transport_frame(s, msg, n, plain_out);
            if (rc == RDV_ERR_TOO_LARGE)
                break; /* plain_out is full: backpressure, not an error */
        } else {
            rc = on_handshake_frame(s, msg, n, wire_out);
        }
        if (rc) {
            session_fail(s);
            return rc;
        }
        off += FRAME_HDR + n;
        *consumed = off;
    }
    return RDV_OK;
}

bool rdv_noise_ready(const struct rdv_noise_session *s)
{
    return s->st == ST_READY;
}

const struct rdv_peerid *rdv_noise_remote_peer(const struct rdv_noise_session *s)
{
    return s->st == ST_READY ? &s->remote_id : NULL;
}

const struct rdv_pubkey *rdv_noise_remote_key(const struct rdv_noise_session *s)
{
    return s->st == ST_READY ? &s->remote_key : NULL;
}

int rdv_noise_send(struct rdv_noise_session *s, const uint8_t *plain, size_t n, struct rdv_buf *wire_out)
{
    if (s->st != ST_READY)
        return RDV_ERR_PROTOCOL;
    if (n == 0)
        return RDV_OK;
    size_t frames = (n + RDV_NOISE_PLAIN_MAX - 1) / RDV_NOISE_PLAIN_MAX;
    if (frames > SIZE_MAX / (FRAME_HDR + RDV_NOISE_TAGLEN) || n > SIZE_MAX - frames * (FRAME_HDR + RDV_NOISE_TAGLEN))
        return RDV_ERR_TOO_LARGE;
    if (s->tx.n > UINT64_MAX - frames) /* every frame must get a nonce, or none does */
        return RDV_ERR_CRYPTO;
    int rc = rdv_buf_reserve(wire_out, n + frames * (FRAME_HDR + RDV_NOISE_TAGLEN));
    if (rc)
        return rc;
    for (size_t off = 0; off < n;) {
        size_t chunk = n - off < RDV_NOISE_PLAIN_MAX ? n - off : RDV_NOISE_PLAIN_MAX;
        uint8_t *hdr = rdv_buf_tail(wire_out);
        size_t mlen = chunk + RDV_NOISE_TAGLEN;
        hdr[0] = (uint8_t)(mlen >> 8);
        hdr[1] = (uint8_t)mlen;
        rc = rdv_noise_cipher_encrypt(&s->tx, NULL, 0, plain + off, chunk, hdr + FRAME_HDR);
        if (rc)
            return rc; /* unreachable: nonce space checked above */
        rdv_buf_commit(wire_out, FRAME_HDR + mlen);
        off += chunk;
    }
    return RDV_OK;
}

void rdv_noise_session_free(struct rdv_noise_session *s)
{
    if (!s)
        return;
    sodium_memzero(s, sizeof(*s));
    free(s);
}
