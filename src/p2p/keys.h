/* keys.h: libp2p identity keys: ed25519 (libsodium) and secp256k1 (libsecp256k1).
 *
 * Wire forms (libp2p/specs peer-ids): PublicKey/PrivateKey protobufs { Type, Data }.
 * ed25519: public Data = 32 bytes; private Data = 64 bytes (seed || public, libsodium's sk form).
 * secp256k1: public Data = 33-byte compressed point; private Data = 32-byte scalar.
 * Signatures: ed25519 = 64 bytes over the raw message; secp256k1 = DER ECDSA over SHA-256(message),
 * verified strictly (lax DER rejected, high-S normalized before verify as go-libp2p does).
 * RSA and ECDSA keys are parsed far enough to say RDV_ERR_UNSUPPORTED. */
#ifndef RDV_KEYS_H
#define RDV_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

enum rdv_key_type { RDV_KEY_RSA = 0, RDV_KEY_ED25519 = 1, RDV_KEY_SECP256K1 = 2, RDV_KEY_ECDSA = 3 };

#define RDV_PUBKEY_MAX 33
#define RDV_SIG_MAX 72              /* DER secp256k1 signatures are at most 72 bytes */
#define RDV_PUBKEY_PROTO_MAX 64     /* serialized PublicKey protobuf, for the types we support */

struct rdv_pubkey {
    enum rdv_key_type type;
    uint8_t data[RDV_PUBKEY_MAX];
    size_t len;
};

struct rdv_privkey {
    enum rdv_key_type type;
    uint8_t secret[64]; /* ed25519: seed||pub (64); secp256k1: scalar (32) */
    size_t secret_len;
    struct rdv_pubkey pub;
};

/* Parses "ed25519" / "secp256k1" (case-insensitive). */
int rdv_key_type_parse(const char *name, enum rdv_key_type *out);
const char *rdv_key_type_name(enum rdv_key_type t);

int rdv_privkey_generate(enum rdv_key_type t, struct rdv_privkey *out);
/* libp2p PrivateKey protobuf <-> key. */
int rdv_privkey_marshal(const struct rdv_privkey *k, struct rdv_buf *out);
int rdv_privkey_unmarshal(const uint8_t *p, size_t n, struct rdv_privkey *out);
/* Key files hold the raw PrivateKey protobuf bytes (as go-libp2p/js-libp2p write them).
 * save creates the file with mode 0600 (fails if it exists unless overwrite). */
int rdv_privkey_save(const struct rdv_privkey *k, const char *path, int overwrite);
/* RDV_ERR_IO (errno set) if unreadable, RDV_ERR_TOO_LARGE past 16 KiB, else as unmarshal. */
int rdv_privkey_load(const char *path, struct rdv_privkey *out);
/* Wipes secret material. */
void rdv_privkey_clear(struct rdv_privkey *k);

/* Signs msg; sig must hold RDV_SIG_MAX bytes; *siglen gets the length. */
int rdv_privkey_sign(const struct rdv_privkey *k, const uint8_t *msg, size_t n, uint8_t *sig, size_t *siglen);
/* RDV_OK if sig is a valid signature of msg by k, RDV_ERR_SIGNATURE otherwise. */
int rdv_pubkey_verify(const struct rdv_pubkey *k, const uint8_t *msg, size_t n, const uint8_t *sig, size_t siglen);

/* libp2p PublicKey protobuf <-> key. marshal writes at most RDV_PUBKEY_PROTO_MAX bytes. */
int rdv_pubkey_marshal(const struct rdv_pubkey *k, uint8_t *out, size_t outcap, size_t *outlen);
int rdv_pubkey_unmarshal(const uint8_t *p, size_t n, struct rdv_pubkey *out);
/* Key from its wire type (protobuf KeyType value) and raw Data, validated as unmarshal does:
 * RDV_ERR_UNSUPPORTED for RSA/ECDSA, RDV_ERR_INVALID for unknown types, bad lengths, bad points. */
int rdv_pubkey_from_raw(int type, const uint8_t *data, size_t len, struct rdv_pubkey *out);
/* As unmarshal / from_raw, for a key whose next use is rdv_pubkey_verify and which is trusted only
 * if that verify passes: an ed25519 key is then not checked to be a valid point here. The check
 * would be redundant: libsodium's crypto_sign_verify_detached (1.0.18, ref10 open.c, built without
 * ED25519_COMPAT as Debian's is) refuses a public key that is non-canonical
 * (ge25519_is_canonical), of small order (ge25519_has_small_order) or not on the curve
 * (ge25519_frombytes_negate_vartime), so such a key never verifies anything. What is left, a key
 * with a torsion component outside the prime-order subgroup, gains its holder nothing: it can only
 * sign for the peer id that hashes that very key (the callers check the peer id), and the
 * subgroup check would cost a scalar multiplication per request. secp256k1 keys are parsed (on
 * the curve) in both. tests/unit/test_keys.c pins libsodium's refusals. */
int rdv_pubkey_from_raw_to_verify(int type, const uint8_t *data, size_t len, struct rdv_pubkey *out);
int rdv_pubkey_unmarshal_to_verify(const uint8_t *p, size_t n, struct rdv_pubkey *out);
int rdv_pubkey_equal(const struct rdv_pubkey *a, const struct rdv_pubkey *b);

#endif
