/* peerid.c: libp2p peer ids: derivation from a public key, binary validation, and the two text
 * forms (base58btc multihash, and CIDv1 libp2p-key in base32).
 *
 * A peer id is a multihash. Keys whose PublicKey protobuf is at most 42 bytes (ed25519: 36,
 * secp256k1: 37) are embedded verbatim with the identity code, so the key can be recovered from
 * the id; longer ones (RSA, ECDSA) are hashed with sha2-256. We only accept those two multihash
 * codes: they are the only ones libp2p implementations produce for peer ids. */
#include "p2p/peerid.h"

#include <sodium.h>
#include <string.h>

#include "p2p/multibase.h"
#include "p2p/varint.h"
#include "util/err.h"

#define MH_IDENTITY 0x00
#define MH_SHA2_256 0x12
#define MH_SHA2_256_LEN 32
#define PEERID_INLINE_MAX 42  /* spec: serialized keys up to 42 bytes are not hashed */
#define CID_V1 0x01
#define CID_LIBP2P_KEY 0x72

int rdv_peerid_from_pubkey(const struct rdv_pubkey *k, struct rdv_peerid *out)
{
    uint8_t pb[RDV_PUBKEY_PROTO_MAX];
    size_t n = 0;
    int r = rdv_pubkey_marshal(k, pb, sizeof(pb), &n);
    if (r != RDV_OK)
        return r;
    if (n <= PEERID_INLINE_MAX) {
        out->bytes[0] = MH_IDENTITY;
        out->bytes[1] = (uint8_t)n; /* < 128: a one-byte varint */
        memcpy(out->bytes + 2, pb, n);
        out->len = n + 2;
    } else {
        out->bytes[0] = MH_SHA2_256;
        out->bytes[1] = MH_SHA2_256_LEN;
        crypto_hash_sha256(out->bytes + 2, pb, n);
        out->len = 2 + MH_SHA2_256_LEN;
    }
    return RDV_OK;
}

int rdv_peerid_from_bytes(const uint8_t *p, size_t n, struct rdv_peerid *out)
{
    if (n > RDV_PEERID_MAX)
        return RDV_ERR_TOO_LARGE;
    uint64_t code, len;
    int a = rdv_uvarint_decode(p, n, &code);
    if (a < 0)
        return RDV_ERR_INVALID;
    int b = rdv_uvarint_decode(p + a, n - (size_t)a, &len);
    if (b < 0)
        return RDV_ERR_INVALID;
    size_t hdr = (size_t)a + (size_t)b;
    if (len != n - hdr)
        return RDV_ERR_INVALID;
    if (code == MH_IDENTITY) {
        if (len == 0)
            return RDV_ERR_INVALID;
    } else if (code == MH_SHA2_256) {
        if (len != MH_SHA2_256_LEN)
            return RDV_ERR_INVALID;
    } else {
        return RDV_ERR_UNSUPPORTED;
    }
    memcpy(out->bytes, p, n);
    out->len = n;
    return RDV_OK;
}

/* "b" + base32(uvarint(1) uvarint(0x72) multihash). */
static int parse_cid(const char *text, size_t len, struct rdv_peerid *out)
{
    uint8_t raw[RDV_PEERID_MAX + 4];
    int n = rdv_base32_decode(text, len, raw, sizeof(raw));
    if (n < 0)
        return n == RDV_ERR_TOO_LARGE ? RDV_ERR_TOO_LARGE : RDV_ERR_INVALID;
    uint64_t version, codec;
    int a = rdv_uvarint_decode(raw, (size_t)n, &version);
    if (a < 0 || version != CID_V1)
        return RDV_ERR_INVALID;
    int b = rdv_uvarint_decode(raw + a, (size_t)(n - a), &codec);
    if (b < 0)
        return RDV_ERR_INVALID;
    if (codec != CID_LIBP2P_KEY)
        return RDV_ERR_UNSUPPORTED;
    return rdv_peerid_from_bytes(raw + a + b, (size_t)(n - a - b), out);
}

int rdv_peerid_parse(const char *text, struct rdv_peerid *out)
{
    if (!text)
        return RDV_ERR_INVALID;
    size_t len = strnlen(text, RDV_PEERID_TEXT_MAX);
    if (len == RDV_PEERID_TEXT_MAX)
        return RDV_ERR_TOO_LARGE;
    if (len < 2)
        return RDV_ERR_INVALID;
    /* base58 multihashes of our two codes start with '1' (identity) or 'Q' (sha2-256), never 'b'. */
    if (text[0] == 'b')
        return parse_cid(text + 1, len - 1, out);
    uint8_t raw[RDV_PEERID_MAX];
    int n = rdv_base58_decode(text, len, raw, sizeof(raw));
    if (n < 0)
        return n == RDV_ERR_TOO_LARGE ? RDV_ERR_TOO_LARGE : RDV_ERR_INVALID;
    return rdv_peerid_from_bytes(raw, (size_t)n, out);
}

int rdv_peerid_to_text(const struct rdv_peerid *id, char *out, size_t outcap)
{
    return rdv_base58_encode(id->bytes, id->len, out, outcap);
}

int rdv_peerid_to_cid_text(const struct rdv_peerid *id, char *out, size_t outcap)
{
    uint8_t raw[RDV_PEERID_MAX + 2];
    if (id->len > RDV_PEERID_MAX)
        return RDV_ERR_INVALID;
    if (outcap < 2)
        return RDV_ERR_TOO_LARGE;
    raw[0] = CID_V1;
    raw[1] = CID_LIBP2P_KEY;
    memcpy(raw + 2, id->bytes, id->len);
    out[0] = 'b';
    int n = rdv_base32_encode(raw, id->len + 2, out + 1, outcap - 1);
    return n < 0 ? n : n + 1;
}

bool rdv_peerid_equal(const struct rdv_peerid *a, const struct rdv_peerid *b)
{
    return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

int rdv_peerid_extract_pubkey(const struct rdv_peerid *id, struct rdv_pubkey *out)
{
    uint64_t code, len;
    int a = rdv_uvarint_decode(id->bytes, id->len, &code);
    if (a < 0)
        return RDV_ERR_INVALID;
    if (code != MH_IDENTITY)
        return RDV_ERR_UNSUPPORTED;
    int b = rdv_uvarint_decode(id->bytes + a, id->len - (size_t)a, &len);
    if (b < 0 || len != id->len - (size_t)a - (size_t)b)
        return RDV_ERR_INVALID;
    return rdv_pubkey_unmarshal(id->bytes + a + b, (size_t)len, out);
}
