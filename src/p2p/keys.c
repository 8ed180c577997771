/* keys.c: libp2p identity keys (ed25519 and secp256k1): generation, the PublicKey/PrivateKey
 * protobufs, signing, verification and key files.
 *
 * Only the two key types every Waku/libp2p node uses are supported; RSA and ECDSA keys are
 * recognised so callers can report "unsupported" rather than "garbage". Every key that enters
 * through unmarshal is validated (length, and the point/scalar is checked by the crypto library),
 * so the rest of the program can treat a struct rdv_pubkey as usable.
 *
 * secp256k1 has no global context here: parsing and verification use the library's read-only
 * secp256k1_context_static, and signing/key derivation create a randomized context per call
 * (cheap since libsecp256k1 0.2.0, whose tables are static). */
#include "p2p/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <secp256k1.h>
#include <sodium.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.pb-c.h"
#include "util/err.h"

#define RDV_KEY_PROTO_LIMIT 16384 /* serialized keys we parse; RSA-8192 private keys fit */
#define ED25519_SEED_LEN 32
#define SECP256K1_SECRET_LEN 32

const char *rdv_key_type_name(enum rdv_key_type t)
{
    switch (t) {
    case RDV_KEY_RSA: return "rsa";
    case RDV_KEY_ED25519: return "ed25519";
    case RDV_KEY_SECP256K1: return "secp256k1";
    case RDV_KEY_ECDSA: return "ecdsa";
    }
    return "unknown";
}

int rdv_key_type_parse(const char *name, enum rdv_key_type *out)
{
    if (!name)
        return RDV_ERR_INVALID;
    if (strcasecmp(name, "ed25519") == 0)
        *out = RDV_KEY_ED25519;
    else if (strcasecmp(name, "secp256k1") == 0)
        *out = RDV_KEY_SECP256K1;
    else if (strcasecmp(name, "rsa") == 0 || strcasecmp(name, "ecdsa") == 0)
        return RDV_ERR_UNSUPPORTED;
    else
        return RDV_ERR_INVALID;
    return RDV_OK;
}

/* libsodium must be initialised before randombytes; sodium_init is idempotent and thread-safe. */
static int sodium_ready(void)
{
    return sodium_init() < 0 ? RDV_ERR_CRYPTO : RDV_OK;
}

/* A signing-capable secp256k1 context, randomized against side channels. NULL on failure. */
static secp256k1_context *secp_signing_ctx(void)
{
    unsigned char seed[32];
    if (sodium_ready() != RDV_OK)
        return NULL;
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (!ctx)
        return NULL;
    randombytes_buf(seed, sizeof(seed));
    if (!secp256k1_context_randomize(ctx, seed)) {
        secp256k1_context_destroy(ctx);
        ctx = NULL;
    }
    sodium_memzero(seed, sizeof(seed));
    return ctx;
}

/* Public key of a (valid) secp256k1 scalar, compressed into pub. */
static int secp_derive_pub(const uint8_t secret[SECP256K1_SECRET_LEN], struct rdv_pubkey *pub)
{
    secp256k1_context *ctx = secp_signing_ctx();
    if (!ctx)
        return RDV_ERR_CRYPTO;
    secp256k1_pubkey pk;
    size_t len = 33;
    int r = RDV_ERR_INVALID;
    if (secp256k1_ec_pubkey_create(ctx, &pk, secret) &&
        secp256k1_ec_pubkey_serialize(ctx, pub->data, &len, &pk, SECP256K1_EC_COMPRESSED)) {
        pub->type = RDV_KEY_SECP256K1;
        pub->len = len;
        r = RDV_OK;
    }
    secp256k1_context_destroy(ctx);
    return r;
}

static int ed25519_generate(struct rdv_privkey *out)
{
    if (crypto_sign_keypair(out->pub.data, out->secret) != 0)
        return RDV_ERR_CRYPTO;
    out->secret_len = crypto_sign_SECRETKEYBYTES;
    out->pub.len = crypto_sign_PUBLICKEYBYTES;
    return RDV_OK;
}

static int secp256k1_generate(struct rdv_privkey *out)
{
    /* A uniformly random 32-byte string is a valid scalar with overwhelming probability;
     * loop for the remaining ~2^-128 cases instead of reducing (which would bias). */
    do
        randombytes_buf(out->secret, SECP256K1_SECRET_LEN);
    while (!secp256k1_ec_seckey_verify(secp256k1_context_static, out->secret));
    out->secret_len = SECP256K1_SECRET_LEN;
    return secp_derive_pub(out->secret, &out->pub);
}

int rdv_privkey_generate(enum rdv_key_type t, struct rdv_privkey *out)
{
    memset(out, 0, sizeof(*out));
    int r = sodium_ready();
    if (r != RDV_OK)
        return r;
    out->type = t;
    out->pub.type = t;
    if (t == RDV_KEY_ED25519)
        r = ed25519_generate(out);
    else if (t == RDV_KEY_SECP256K1)
        r = secp256k1_generate(out);
    else
        r = RDV_ERR_UNSUPPORTED;
    if (r != RDV_OK)
        rdv_privkey_clear(out);
    return r;
}

void rdv_privkey_clear(struct rdv_privkey *k)
{
    sodium_memzero(k, sizeof(*k));
}

/* Maps a protobuf KeyType value to ours: unsupported-but-known types and unknown values differ. */
static int key_type_check(int wire_type)
{
    switch (wire_type) {
    case RDV_KEY_ED25519:
    case RDV_KEY_SECP256K1:
        return RDV_OK;
    case RDV_KEY_RSA:
    case RDV_KEY_ECDSA:
        return RDV_ERR_UNSUPPORTED;
    default:
        return RDV_ERR_INVALID;
    }
}

/* check_point: whether an ed25519 key must be a valid point here (see keys.h). */
static int pubkey_from_raw(int type, const uint8_t *data, size_t len, bool check_point, struct rdv_pubkey *out)
{
    int r = key_type_check(type);
    if (r != RDV_OK)
        return r;
    memset(out, 0, sizeof(*out));
    if (type == RDV_KEY_ED25519) {
        /* Canonical, on the curve, in the prime-order subgroup, not small order: a key that fails
         * this can never be one an honest peer generated. It costs a scalar multiplication (~45 %
         * of a REGISTER), so keys about to be verified skip it: see rdv_pubkey_from_raw_to_verify. */
        if (len != crypto_sign_PUBLICKEYBYTES || (check_point && !crypto_core_ed25519_is_valid_point(data)))
            return RDV_ERR_INVALID;
    } else {
        /* Compressed points only: every libp2p implementation marshals that form, and the
         * peer id is the hash of exactly these bytes. The parse checks the point is on the curve;
         * it stays even before a verify, which needs the parsed point anyway. */
        secp256k1_pubkey pk;
        if (len != 33 || !secp256k1_ec_pubkey_parse(secp256k1_context_static, &pk, data, len))
            return RDV_ERR_INVALID;
    }
    out->type = (enum rdv_key_type)type;
    memcpy(out->data, data, len);
    out->len = len;
    return RDV_OK;
}

int rdv_pubkey_from_raw(int type, const uint8_t *data, size_t len, struct rdv_pubkey *out)
{
    return pubkey_from_raw(type, data, len, true, out);
}

int rdv_pubkey_from_raw_to_verify(int type, const uint8_t *data, size_t len, struct rdv_pubkey *out)
{
    return pubkey_from_raw(type, data, len, false, out);
}

int rdv_pubkey_marshal(const struct rdv_pubkey *k, uint8_t *out, size_t outcap, size_t *outlen)
{
    Crypto__Pb__PublicKey msg = CRYPTO__PB__PUBLIC_KEY__INIT;
    if (key_type_check((int)k->type) != RDV_OK || k->len > RDV_PUBKEY_MAX)
        return RDV_ERR_INVALID;
    msg.type = (Crypto__Pb__KeyType)k->type;
    msg.data.data = (uint8_t *)k->data;
    msg.data.len = k->len;
    /* protobuf-c writes fields in field-number order with minimal varints, which is the
     * deterministic form the spec requires (peer ids hash these bytes). */
    size_t need = crypto__pb__public_key__get_packed_size(&msg);
    if (need > outcap)
        return RDV_ERR_TOO_LARGE;
    *outlen = crypto__pb__public_key__pack(&msg, out);
    return RDV_OK;
}

static int pubkey_unmarshal(const uint8_t *p, size_t n, bool check_point, struct rdv_pubkey *out)
{
    if (n > RDV_KEY_PROTO_LIMIT)
        return RDV_ERR_TOO_LARGE;
    Crypto__Pb__PublicKey *msg = crypto__pb__public_key__unpack(NULL, n, p);
    if (!msg)
        return RDV_ERR_INVALID;
    int r = pubkey_from_raw((int)msg->type, msg->data.data, msg->data.len, check_point, out);
    crypto__pb__public_key__free_unpacked(msg, NULL);
    return r;
}

int rdv_pubkey_unmarshal(const uint8_t *p, size_t n, struct rdv_pubkey *out)
{
    return pubkey_unmarshal(p, n, true, out);
}

int rdv_pubkey_unmarshal_to_verify(const uint8_t *p, size_t n, struct rdv_pubkey *out)
{
    return pubkey_unmarshal(p, n, false, out);
}

int rdv_pubkey_equal(const struct rdv_pubkey *a, const struct rdv_pubkey *b)
{
    return a->type == b->type && a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

int rdv_privkey_marshal(const struct rdv_privkey *k, struct rdv_buf *out)
{
    Crypto__Pb__PrivateKey msg = CRYPTO__PB__PRIVATE_KEY__INIT;
    if (key_type_check((int)k->type) != RDV_OK || k->secret_len > sizeof(k->secret))
        return RDV_ERR_INVALID;
    msg.type = (Crypto__Pb__KeyType)k->type;
    msg.data.data = (uint8_t *)k->secret;
    msg.data.len = k->secret_len;
    size_t need = crypto__pb__private_key__get_packed_size(&msg);
    int r = rdv_buf_reserve(out, need);
    if (r != RDV_OK)
        return r;
    rdv_buf_commit(out, crypto__pb__private_key__pack(&msg, rdv_buf_tail(out)));
    return RDV_OK;
}

/* ed25519 private Data: seed||pub (64), or the legacy seed||pub||pub (96). The public half is
 * recomputed from the seed and must match, so a corrupted file cannot sign as someone else. */
static int ed25519_from_secret(const uint8_t *d, size_t len, struct rdv_privkey *out)
{
    if (len == 96 && sodium_memcmp(d + 32, d + 64, 32) != 0)
        return RDV_ERR_INVALID;
    if (len != 64 && len != 96)
        return RDV_ERR_INVALID;
    if (crypto_sign_seed_keypair(out->pub.data, out->secret, d) != 0)
        return RDV_ERR_CRYPTO;
    if (sodium_memcmp(out->pub.data, d + ED25519_SEED_LEN, crypto_sign_PUBLICKEYBYTES) != 0)
        return RDV_ERR_INVALID;
    out->secret_len = crypto_sign_SECRETKEYBYTES;
    out->pub.type = RDV_KEY_ED25519;
    out->pub.len = crypto_sign_PUBLICKEYBYTES;
    return RDV_OK;
}

static int secp256k1_from_secret(const uint8_t *d, size_t len, struct rdv_privkey *out)
{
    if (len != SECP256K1_SECRET_LEN || !secp256k1_ec_seckey_verify(secp256k1_context_static, d))
        return RDV_ERR_INVALID;
    memcpy(out->secret, d, len);
    out->secret_len = len;
    return secp_derive_pub(out->secret, &out->pub);
}

int rdv_privkey_unmarshal(const uint8_t *p, size_t n, struct rdv_privkey *out)
{
    memset(out, 0, sizeof(*out));
    if (n > RDV_KEY_PROTO_LIMIT)
        return RDV_ERR_TOO_LARGE;
    int r = sodium_ready();
    if (r != RDV_OK)
        return r;
    Crypto__Pb__PrivateKey *msg = crypto__pb__private_key__unpack(NULL, n, p);
    if (!msg)
        return RDV_ERR_INVALID;
    r = key_type_check((int)msg->type);
    if (r == RDV_OK) {
        out->type = (enum rdv_key_type)msg->type;
        if (out->type == RDV_KEY_ED25519)
            r = ed25519_from_secret(msg->data.data, msg->data.len, out);
        else
            r = secp256k1_from_secret(msg->data.data, msg->data.len, out);
    }
    if (msg->data.data)
        sodium_memzero(msg->data.data, msg->data.len);
    crypto__pb__private_key__free_unpacked(msg, NULL);
    if (r != RDV_OK)
        rdv_privkey_clear(out);
    return r;
}

static int secp256k1_sign(const struct rdv_privkey *k, const uint8_t *msg, size_t n,
                          uint8_t *sig, size_t *siglen)
{
    uint8_t digest[crypto_hash_sha256_BYTES];
    secp256k1_ecdsa_signature s;
    crypto_hash_sha256(digest, msg, n);
    secp256k1_context *ctx = secp_signing_ctx();
    if (!ctx)
        return RDV_ERR_CRYPTO;
    size_t len = RDV_SIG_MAX;
    /* RFC 6979 nonces (NULL noncefp); libsecp256k1 always emits low-S signatures. */
    int good = secp256k1_ecdsa_sign(ctx, &s, digest, k->secret, NULL, NULL) &&
               secp256k1_ecdsa_signature_serialize_der(ctx, sig, &len, &s);
    secp256k1_context_destroy(ctx);
    if (!good)
        return RDV_ERR_CRYPTO;
    *siglen = len;
    return RDV_OK;
}

int rdv_privkey_sign(const struct rdv_privkey *k, const uint8_t *msg, size_t n, uint8_t *sig, size_t *siglen)
{
    if (k->type == RDV_KEY_ED25519) {
        unsigned long long len = 0;
        if (k->secret_len != crypto_sign_SECRETKEYBYTES ||
            crypto_sign_detached(sig, &len, msg, n, k->secret) != 0)
            return RDV_ERR_CRYPTO;
        *siglen = (size_t)len;
        return RDV_OK;
    }
    if (k->type == RDV_KEY_SECP256K1 && k->secret_len == SECP256K1_SECRET_LEN)
        return secp256k1_sign(k, msg, n, sig, siglen);
    return RDV_ERR_UNSUPPORTED;
}

/* Strict DER (no BER leniency; at most 72 bytes, as go-libp2p's parser also caps it), then
 * low-S normalization before verifying. Interop choice: go-libp2p verifies with decred's
 * ecdsa.Verify, which accepts high-S, while js-libp2p (noble-curves, lowS default) rejects it.
 * Every implementation signs low-S, so normalizing only widens acceptance to what go accepts;
 * the malleability it admits is harmless here because nothing is keyed by signature bytes. */
static int secp256k1_verify(const struct rdv_pubkey *k, const uint8_t *msg, size_t n,
                            const uint8_t *sig, size_t siglen)
{
    const secp256k1_context *ctx = secp256k1_context_static;
    secp256k1_pubkey pk;
    secp256k1_ecdsa_signature s;
    uint8_t digest[crypto_hash_sha256_BYTES];
    if (siglen == 0 || siglen > RDV_SIG_MAX || k->len != 33)
        return RDV_ERR_SIGNATURE;
    if (!secp256k1_ec_pubkey_parse(ctx, &pk, k->data, k->len) ||
        !secp256k1_ecdsa_signature_parse_der(ctx, &s, sig, siglen))
        return RDV_ERR_SIGNATURE;
    secp256k1_ecdsa_signature_normalize(ctx, &s, &s);
    crypto_hash_sha256(digest, msg, n);
    return secp256k1_ecdsa_verify(ctx, &s, digest, &pk) ? RDV_OK : RDV_ERR_SIGNATURE;
}

int rdv_pubkey_verify(const struct rdv_pubkey *k, const uint8_t *msg, size_t n, const uint8_t *sig, size_t siglen)
{
    if (k->type == RDV_KEY_ED25519) {
        if (k->len != crypto_sign_PUBLICKEYBYTES || siglen != crypto_sign_BYTES)
            return RDV_ERR_SIGNATURE;
        return crypto_sign_verify_detached(sig, msg, n, k->data) == 0 ? RDV_OK : RDV_ERR_SIGNATURE;
    }
    if (k->type == RDV_KEY_SECP256K1)
        return secp256k1_verify(k, msg, n, sig, siglen);
    return RDV_ERR_SIGNATURE;
}

/* --- key files ------------------------------------------------------------------------------ */

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return RDV_ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return RDV_OK;
}

int rdv_privkey_save(const struct rdv_privkey *k, const char *path, int overwrite)
{
    struct rdv_buf b;
    rdv_buf_init(&b, RDV_KEY_PROTO_LIMIT);
    int r = rdv_privkey_marshal(k, &b);
    if (r != RDV_OK)
        goto out;
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (overwrite ? O_TRUNC : O_EXCL);
    int fd = open(path, flags, 0600);
    if (fd < 0) {
        r = RDV_ERR_IO;
        goto out;
    }
    /* An overwritten file keeps its old mode unless we set it: a secret must not stay 0644. */
    r = fchmod(fd, 0600) == 0 ? write_all(fd, rdv_buf_head(&b), b.len) : RDV_ERR_IO;
    if (r == RDV_OK && fsync(fd) != 0)
        r = RDV_ERR_IO;
    int saved = errno;
    if (close(fd) != 0 && r == RDV_OK)
        r = RDV_ERR_IO;
    else
        errno = saved;
out:
    if (b.data)
        sodium_memzero(b.data, b.cap);
    rdv_buf_free(&b);
    return r;
}

/* Reads a whole small regular file into buf (cap bytes); returns its length or an rdv_err. */
static int read_small_file(const char *path, uint8_t *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return RDV_ERR_IO;
    struct stat st;
    int r = RDV_OK;
    if (fstat(fd, &st) != 0)
        r = RDV_ERR_IO;
    else if (!S_ISREG(st.st_mode))
        r = RDV_ERR_INVALID;
    else if (st.st_size < 0 || (uintmax_t)st.st_size >= cap)
        r = RDV_ERR_TOO_LARGE;
    size_t got = 0;
    while (r == RDV_OK) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            r = RDV_ERR_IO;
        else if (n == 0)
            break;
        else if ((got += (size_t)n) == cap) /* grew past the size fstat saw */
            r = RDV_ERR_TOO_LARGE;
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return r == RDV_OK ? (int)got : r;
}

int rdv_privkey_load(const char *path, struct rdv_privkey *out)
{
    memset(out, 0, sizeof(*out));
    uint8_t *buf = malloc(RDV_KEY_PROTO_LIMIT);
    if (!buf)
        return RDV_ERR_NOMEM;
    int r = read_small_file(path, buf, RDV_KEY_PROTO_LIMIT);
    if (r >= 0)
        r = rdv_privkey_unmarshal(buf, (size_t)r, out);
    sodium_memzero(buf, RDV_KEY_PROTO_LIMIT);
    free(buf);
    return r;
}
