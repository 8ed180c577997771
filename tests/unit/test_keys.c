/* test_keys.c: keys and peer ids.
 *
 * Fixed vectors: the key table of libp2p/specs peer-ids/peer-ids.md (our marshal must give exactly
 * those bytes), RFC 8032 test 1 for ed25519 signing, and peer id texts cross-checked against other
 * implementations' fixtures (a Java and a Haskell libp2p test suite list the same base58/CID ids
 * for the spec keys). Then: unsupported and malformed keys, signature edge cases (high-S,
 * lax DER), key generation, key files (mode 0600, no clobbering, size bound) and peer id parsing. */
#include <errno.h>
#include <secp256k1.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "p2p/keys.h"
#include "p2p/multibase.h"
#include "p2p/peerid.h"
#include "tap.h"
#include "testutil.h"
#include "util/err.h"

int main(void);

/* peer-ids.md "Test vectors" */
#define SPEC_ED_PRIV "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"
#define SPEC_ED_PUB "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"
#define SPEC_K1_PRIV "0802122053DADF1D5A164D6B4ACDB15E24AA4C5B1D3461BDBD42ABEDB0A4404D56CED8FB"
#define SPEC_K1_PUB "08021221037777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630bfca99"
#define SPEC_ECDSA_PRIV "08031279307702010104203E5B1FE9712E6C314942A750BD67485DE3C1EFE85B1BFB520AE8F9AE3DFA4A4CA00A06082A8648CE3D030107A14403420004DE3D300FA36AE0E8F5D530899D83ABAB44ABF3161F162A4BC901D8E6ECDA020E8B6D5F8DA30525E71D6851510C098E5C47C646A597FB4DCEC034E9F77C409E62"
#define SPEC_ECDSA_PUB "0803125b3059301306072a8648ce3d020106082a8648ce3d03010703420004de3d300fa36ae0e8f5d530899d83abab44abf3161f162a4bc901d8e6ecda020e8b6d5f8da30525e71d6851510c098e5c47c646a597fb4dcec034e9f77c409e62"
#define SPEC_RSA_PUB "080012a60430820222300d06092a864886f70d01010105000382020f003082020a0282020100e1beab071d08200bde24eef00d049449b07770ff9910257b2d7d5dda242ce8f0e2f12e1af4b32d9efd2c090f66b0f29986dbb645dae9880089704a94e5066d594162ae6ee8892e6ec70701db0a6c445c04778eb3de1293aa1a23c3825b85c6620a2bc3f82f9b0c309bc0ab3aeb1873282bebd3da03c33e76c21e9beb172fd44c9e43be32e2c99827033cf8d0f0c606f4579326c930eb4e854395ad941256542c793902185153c474bed109d6ff5141ebf9cd256cf58893a37f83729f97e7cb435ec679d2e33901d27bb35aa0d7e20561da08885ef0abbf8e2fb48d6a5487047a9ecb1ad41fa7ed84f6e3e8ecd5d98b3982d2a901b4454991766da295ab78822add5612a2df83bcee814cf50973e80d7ef38111b1bd87da2ae92438a2c8cbcc70b31ee319939a3b9c761dbc13b5c086d6b64bf7ae7dacc14622375d92a8ff9af7eb962162bbddebf90acb32adb5e4e4029f1c96019949ecfbfeffd7ac1e3fbcc6b6168c34be3d5a2e5999fcbb39bba7adbca78eab09b9bc39f7fa4b93411f4cc175e70c0a083e96bfaefb04a9580b4753c1738a6a760ae1afd851a1a4bdad231cf56e9284d832483df215a46c1c21bdf0c6cfe951c18f1ee4078c79c13d63edb6e14feaeffabc90ad317e4875fe648101b0864097e998f0ca3025ef9638cd2b0caecd3770ab54a1d9c6ca959b0f5dcbc90caeefc4135baca6fd475224269bbe1b0203010001"
/* Expected ids, as listed by independent test suites for the spec keys. */
#define SPEC_ED_ID "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"
#define SPEC_ED_CID "bafzaajaiaejcahwr5d5ofrfbis4l5d6uwr57hu5tjodrypfm6yaq6dsc2r2pzyt6"
#define SPEC_K1_ID "16Uiu2HAmLhLvBoYaoZfaMUKuibM6ac163GwKY74c5kiSLg5KvLpY"
#define SPEC_K1_CID "bafzaajiiaijcca3xo7uzjzcsyilaj6i54cj44qk7kqzpoao5rti2pjx6udtdbp6kte"
#define SPEC_ECDSA_ID "QmVMT29id3TUASyfZZ6k9hmNyc2nYabCo4uMSpDw4zrgDk"
#define SPEC_ECDSA_CID "bafzbeidigywdclqvl5hxfefwp5onbffcfife7pza57mmfb4tiqmtkdjw64"
#define SPEC_RSA_ID "QmaeANgBs1DTSxWSrPPtobgQuxW8XTfsS4ydbK4rCHzqxG"

static uint8_t *unhex(const char *hex, size_t *n)
{
    uint8_t *p = tu_unhex(hex, n);
    if (!p) {
        printf("Bail out! bad hex in test\n");
        exit(1);
    }
    return p;
}

static void check_spec_key(const char *name, const char *priv_hex, const char *pub_hex,
                           const char *want_id, const char *want_cid)
{
    size_t privn, pubn, outn = 0;
    uint8_t *priv = unhex(priv_hex, &privn), *pub = unhex(pub_hex, &pubn);
    struct rdv_privkey k;
    struct rdv_pubkey pk;
    uint8_t out[RDV_PUBKEY_PROTO_MAX];
    is_int(rdv_privkey_unmarshal(priv, privn, &k), RDV_OK, "%s: spec private key unmarshals", name);
    is_int(rdv_pubkey_marshal(&k.pub, out, sizeof(out), &outn), RDV_OK, "%s: derived public key marshals", name);
    is_mem(out, outn, pub, pubn, "%s: public key derived from the private key is the spec's bytes", name);
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    is_int(rdv_privkey_marshal(&k, &b), RDV_OK, "%s: private key marshals", name);
    is_mem(rdv_buf_head(&b), b.len, priv, privn, "%s: private marshal is the spec's bytes", name);
    rdv_buf_free(&b);
    is_int(rdv_pubkey_unmarshal(pub, pubn, &pk), RDV_OK, "%s: spec public key unmarshals", name);
    ok(rdv_pubkey_equal(&pk, &k.pub), "%s: unmarshalled public key equals the derived one", name);
    is_int(rdv_pubkey_marshal(&pk, out, sizeof(out), &outn), RDV_OK, "%s: re-marshal", name);
    is_mem(out, outn, pub, pubn, "%s: marshal(unmarshal(x)) == x (deterministic)", name);
    is_int(rdv_pubkey_marshal(&pk, out, pubn - 1, &outn), RDV_ERR_TOO_LARGE, "%s: marshal outcap", name);

    struct rdv_peerid id, id2;
    char txt[RDV_PEERID_TEXT_MAX];
    is_int(rdv_peerid_from_pubkey(&pk, &id), RDV_OK, "%s: peer id", name);
    is_int(id.len, pubn + 2, "%s: identity multihash length", name);
    ok(id.bytes[0] == 0x00 && id.bytes[1] == pubn && memcmp(id.bytes + 2, pub, pubn) == 0,
       "%s: peer id is 0x00 len || PublicKey bytes", name);
    is_int(rdv_peerid_to_text(&id, txt, sizeof(txt)), (int)strlen(want_id), "%s: text length", name);
    is_str(txt, want_id, "%s: base58 peer id", name);
    is_int(rdv_peerid_to_cid_text(&id, txt, sizeof(txt)), (int)strlen(want_cid), "%s: CID length", name);
    is_str(txt, want_cid, "%s: CIDv1 peer id", name);
    is_int(rdv_peerid_parse(want_id, &id2), RDV_OK, "%s: parse base58", name);
    ok(rdv_peerid_equal(&id, &id2), "%s: parsed base58 id equals", name);
    is_int(rdv_peerid_parse(want_cid, &id2), RDV_OK, "%s: parse CID", name);
    ok(rdv_peerid_equal(&id, &id2), "%s: parsed CID equals", name);
    is_int(rdv_peerid_extract_pubkey(&id2, &pk), RDV_OK, "%s: key extracted from id", name);
    ok(rdv_pubkey_equal(&pk, &k.pub), "%s: extracted key equals", name);
    rdv_privkey_clear(&k);
    free(priv);
    free(pub);
}

/* Hashed ids (keys > 42 bytes): the id is sha2-256 of the PublicKey bytes; we cannot use those
 * key types, but must parse their ids and must refuse the keys with UNSUPPORTED. */
static void check_hashed_id(const char *name, const char *pub_hex, const char *want_id, const char *want_cid)
{
    size_t pubn;
    uint8_t *pub = unhex(pub_hex, &pubn);
    uint8_t digest[32];
    struct rdv_pubkey pk;
    struct rdv_peerid id, id2;
    crypto_hash_sha256(digest, pub, pubn);
    is_int(rdv_pubkey_unmarshal(pub, pubn, &pk), RDV_ERR_UNSUPPORTED, "%s public key: unsupported", name);
    is_int(rdv_peerid_parse(want_id, &id), RDV_OK, "%s: parse Qm id", name);
    ok(id.len == 34 && id.bytes[0] == 0x12 && id.bytes[1] == 0x20 && memcmp(id.bytes + 2, digest, 32) == 0,
       "%s: Qm id is sha2-256 of the spec's PublicKey bytes", name);
    is_int(rdv_peerid_extract_pubkey(&id, &pk), RDV_ERR_UNSUPPORTED, "%s: no key inside a hashed id", name);
    if (want_cid) {
        char txt[RDV_PEERID_TEXT_MAX];
        is_int(rdv_peerid_parse(want_cid, &id2), RDV_OK, "%s: parse CID", name);
        ok(rdv_peerid_equal(&id, &id2), "%s: CID and base58 agree", name);
        rdv_peerid_to_cid_text(&id, txt, sizeof(txt));
        is_str(txt, want_cid, "%s: CID text", name);
    }
    free(pub);
}

static void test_unsupported_and_malformed(void)
{
    size_t n;
    uint8_t *p = unhex(SPEC_ECDSA_PRIV, &n);
    struct rdv_privkey k;
    struct rdv_pubkey pk;
    is_int(rdv_privkey_unmarshal(p, n, &k), RDV_ERR_UNSUPPORTED, "ECDSA private key: unsupported");
    free(p);
    is_int(rdv_privkey_generate(RDV_KEY_RSA, &k), RDV_ERR_UNSUPPORTED, "RSA keygen: unsupported");

    uint8_t raw[40] = {0};
    is_int(rdv_pubkey_from_raw(RDV_KEY_ED25519, raw, 31, &pk), RDV_ERR_INVALID, "ed25519 31-byte key");
    is_int(rdv_pubkey_from_raw(RDV_KEY_ED25519, raw, 33, &pk), RDV_ERR_INVALID, "ed25519 33-byte key");
    raw[0] = 0x01; /* y = 1: the neutral element, small order */
    is_int(rdv_pubkey_from_raw(RDV_KEY_ED25519, raw, 32, &pk), RDV_ERR_INVALID, "ed25519 small-order point");
    memset(raw, 0xff, 32);
    raw[31] = 0x7f; /* y = 2^255-1 >= p: non-canonical */
    is_int(rdv_pubkey_from_raw(RDV_KEY_ED25519, raw, 32, &pk), RDV_ERR_INVALID, "ed25519 non-canonical y");
    memset(raw, 0xff, sizeof(raw));
    raw[0] = 0x02; /* x >= p */
    is_int(rdv_pubkey_from_raw(RDV_KEY_SECP256K1, raw, 33, &pk), RDV_ERR_INVALID, "secp256k1 x out of range");
    uint8_t *k1 = unhex(SPEC_K1_PUB, &n);
    is_int(rdv_pubkey_from_raw(RDV_KEY_SECP256K1, k1 + 4, 32, &pk), RDV_ERR_INVALID, "secp256k1 32-byte key");
    k1[4] = 0x04; /* uncompressed/hybrid tags on a 33-byte key */
    is_int(rdv_pubkey_from_raw(RDV_KEY_SECP256K1, k1 + 4, 33, &pk), RDV_ERR_INVALID, "secp256k1 bad prefix 0x04");
    k1[4] = 0x03;
    is_int(rdv_pubkey_from_raw(RDV_KEY_SECP256K1, k1 + 4, 33, &pk), RDV_OK, "secp256k1 spec key from raw");
    is_int(rdv_pubkey_from_raw(7, k1 + 4, 33, &pk), RDV_ERR_INVALID, "unknown key type 7");
    is_int(rdv_pubkey_from_raw(RDV_KEY_ECDSA, k1 + 4, 33, &pk), RDV_ERR_UNSUPPORTED, "ECDSA from raw");
    int bad = 0;
    for (size_t cut = 0; cut < n; cut++)
        if (rdv_pubkey_unmarshal(k1, cut, &pk) == RDV_OK)
            bad++;
    is_int(bad, 0, "every truncation of a PublicKey is rejected");
    /* Type field missing (proto2 required). */
    is_int(rdv_pubkey_unmarshal(k1 + 2, n - 2, &pk), RDV_ERR_INVALID, "PublicKey without Type");
    free(k1);

    /* ed25519 private with a public half that does not match the seed. */
    uint8_t *ed = unhex(SPEC_ED_PRIV, &n);
    ed[n - 1] ^= 1;
    is_int(rdv_privkey_unmarshal(ed, n, &k), RDV_ERR_INVALID, "ed25519 private key with wrong public half");
    ed[n - 1] ^= 1;
    /* Legacy 96-byte form: seed || pub || pub. */
    uint8_t legacy[4 + 96];
    memcpy(legacy, ed, n);
    legacy[3] = 96;
    memcpy(legacy + n, ed + 4 + 32, 32);
    is_int(rdv_privkey_unmarshal(legacy, sizeof(legacy), &k), RDV_OK, "ed25519 legacy 96-byte private key");
    legacy[sizeof(legacy) - 1] ^= 1;
    is_int(rdv_privkey_unmarshal(legacy, sizeof(legacy), &k), RDV_ERR_INVALID, "legacy form with differing copies");
    free(ed);
    uint8_t sk[4 + 32] = {0x08, 0x02, 0x12, 0x20};
    is_int(rdv_privkey_unmarshal(sk, sizeof(sk), &k), RDV_ERR_INVALID, "secp256k1 zero scalar");
    size_t on;
    uint8_t *order = unhex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", &on);
    memcpy(sk + 4, order, 32);
    is_int(rdv_privkey_unmarshal(sk, sizeof(sk), &k), RDV_ERR_INVALID, "secp256k1 scalar == n");
    free(order);
    is_int(rdv_privkey_unmarshal(sk, 20000, &k), RDV_ERR_TOO_LARGE, "oversized private key refused before parsing");
}

static void test_rfc8032(void)
{
    /* RFC 8032 section 7.1, TEST 1 (empty message), as a libp2p PrivateKey: seed || pub. */
    size_t n, sn;
    uint8_t *pb = unhex("08011240"
                        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
                        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", &n);
    uint8_t *want = unhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b", &sn);
    struct rdv_privkey k;
    uint8_t sig[RDV_SIG_MAX];
    size_t siglen = 0;
    is_int(rdv_privkey_unmarshal(pb, n, &k), RDV_OK, "RFC 8032 test 1 key");
    is_int(rdv_privkey_sign(&k, (const uint8_t *)"", 0, sig, &siglen), RDV_OK, "RFC 8032 sign");
    is_mem(sig, siglen, want, sn, "RFC 8032 test 1 signature");
    is_int(rdv_pubkey_verify(&k.pub, (const uint8_t *)"", 0, want, sn), RDV_OK, "RFC 8032 verify");
    rdv_privkey_clear(&k);
    free(pb);
    free(want);
}

/* s -> n - s on a compact (r||s) signature, big-endian. */
static void negate_s(uint8_t compact[64])
{
    static const uint8_t order[32] = {
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
        0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41};
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = order[i] - compact[32 + i] - borrow;
        borrow = d < 0;
        compact[32 + i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
}

static void test_secp256k1_sig_forms(const struct rdv_privkey *k)
{
    const uint8_t msg[] = "rendezvous";
    uint8_t sig[RDV_SIG_MAX], sig2[RDV_SIG_MAX], compact[64], der[80];
    size_t siglen = 0, siglen2 = 0, derlen = sizeof(der);
    secp256k1_ecdsa_signature s;
    rdv_privkey_sign(k, msg, sizeof(msg), sig, &siglen);
    rdv_privkey_sign(k, msg, sizeof(msg), sig2, &siglen2);
    is_mem(sig, siglen, sig2, siglen2, "secp256k1 signing is deterministic (RFC 6979)");
    ok(secp256k1_ecdsa_signature_parse_der(secp256k1_context_static, &s, sig, siglen) &&
       !secp256k1_ecdsa_signature_normalize(secp256k1_context_static, NULL, &s), "secp256k1 signatures are low-S");
    secp256k1_ecdsa_signature_serialize_compact(secp256k1_context_static, compact, &s);
    negate_s(compact);
    ok(secp256k1_ecdsa_signature_parse_compact(secp256k1_context_static, &s, compact) &&
       secp256k1_ecdsa_signature_serialize_der(secp256k1_context_static, der, &derlen, &s), "high-S twin built");
    is_int(rdv_pubkey_verify(&k->pub, msg, sizeof(msg), der, derlen), RDV_OK,
           "high-S signature accepted (normalized, as go-libp2p accepts it)");
    /* Lax DER: a superfluous leading zero in r is not DER. */
    uint8_t lax[RDV_SIG_MAX + 1];
    size_t rlen = sig[3];
    lax[0] = 0x30;
    lax[1] = (uint8_t)(sig[1] + 1);
    lax[2] = 0x02;
    lax[3] = (uint8_t)(rlen + 1);
    lax[4] = 0x00;
    memcpy(lax + 5, sig + 4, siglen - 4);
    is_int(rdv_pubkey_verify(&k->pub, msg, sizeof(msg), lax, siglen + 1), RDV_ERR_SIGNATURE, "non-minimal DER rejected");
    uint8_t trail[RDV_SIG_MAX + 1];
    memcpy(trail, sig, siglen);
    trail[siglen] = 0;
    is_int(rdv_pubkey_verify(&k->pub, msg, sizeof(msg), trail, siglen + 1), RDV_ERR_SIGNATURE, "trailing byte rejected");
    is_int(rdv_pubkey_verify(&k->pub, msg, sizeof(msg), sig, 0), RDV_ERR_SIGNATURE, "empty signature rejected");
}

static void test_sign_verify(enum rdv_key_type t, const char *prefix, size_t idlen)
{
    const char *name = rdv_key_type_name(t);
    struct rdv_privkey k, other, back;
    is_int(rdv_privkey_generate(t, &k), RDV_OK, "%s: generate", name);
    is_int(rdv_privkey_generate(t, &other), RDV_OK, "%s: generate another", name);
    ok(!rdv_pubkey_equal(&k.pub, &other.pub), "%s: two keys differ", name);
    struct rdv_peerid id;
    char txt[RDV_PEERID_TEXT_MAX];
    rdv_peerid_from_pubkey(&k.pub, &id);
    is_int(id.len, idlen, "%s: peer id length", name);
    ok(rdv_peerid_to_text(&id, txt, sizeof(txt)) > 0 && strncmp(txt, prefix, strlen(prefix)) == 0,
       "%s: peer id %s starts with %s", name, txt, prefix);

    const uint8_t msg[] = "libp2p-peer-record";
    uint8_t sig[RDV_SIG_MAX];
    size_t siglen = 0;
    is_int(rdv_privkey_sign(&k, msg, sizeof(msg), sig, &siglen), RDV_OK, "%s: sign", name);
    ok(siglen > 0 && siglen <= RDV_SIG_MAX, "%s: signature length %zu", name, siglen);
    is_int(rdv_pubkey_verify(&k.pub, msg, sizeof(msg), sig, siglen), RDV_OK, "%s: verify", name);
    is_int(rdv_pubkey_verify(&other.pub, msg, sizeof(msg), sig, siglen), RDV_ERR_SIGNATURE, "%s: wrong key fails", name);
    is_int(rdv_pubkey_verify(&k.pub, msg, sizeof(msg) - 1, sig, siglen), RDV_ERR_SIGNATURE, "%s: other message fails", name);
    is_int(rdv_pubkey_verify(&k.pub, msg, sizeof(msg), sig, siglen - 1), RDV_ERR_SIGNATURE, "%s: short sig fails", name);
    int accepted = 0;
    for (size_t bit = 0; bit < siglen * 8; bit++) {
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (rdv_pubkey_verify(&k.pub, msg, sizeof(msg), sig, siglen) != RDV_ERR_SIGNATURE)
            accepted++;
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    is_int(accepted, 0, "%s: every single-bit flip of the signature fails", name);

    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    is_int(rdv_privkey_marshal(&k, &b), RDV_OK, "%s: marshal private", name);
    is_int(rdv_privkey_unmarshal(rdv_buf_head(&b), b.len, &back), RDV_OK, "%s: unmarshal private", name);
    ok(back.secret_len == k.secret_len && memcmp(back.secret, k.secret, k.secret_len) == 0 &&
       rdv_pubkey_equal(&back.pub, &k.pub), "%s: private key round trip", name);
    rdv_buf_free(&b);
    if (t == RDV_KEY_SECP256K1)
        test_secp256k1_sig_forms(&k);
    rdv_privkey_clear(&k);
    rdv_privkey_clear(&other);
    rdv_privkey_clear(&back);
}

static void test_key_files(void)
{
    char dir[] = "/tmp/rdv-test-keys-XXXXXX", path[64], big[64];
    if (!mkdtemp(dir)) {
        printf("Bail out! mkdtemp\n");
        exit(1);
    }
    snprintf(path, sizeof(path), "%s/id.key", dir);
    snprintf(big, sizeof(big), "%s/big.key", dir);
    struct rdv_privkey k, back;
    struct stat st;
    rdv_privkey_generate(RDV_KEY_SECP256K1, &k);
    mode_t old = umask(0); /* the mode must not depend on the caller's umask being strict */
    is_int(rdv_privkey_save(&k, path, 0), RDV_OK, "save new key file");
    umask(old);
    ok(stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600, "key file mode is 0600");
    is_int(rdv_privkey_load(path, &back), RDV_OK, "load key file");
    ok(back.secret_len == 32 && memcmp(back.secret, k.secret, 32) == 0 && rdv_pubkey_equal(&back.pub, &k.pub),
       "loaded key equals saved key");
    errno = 0;
    is_int(rdv_privkey_save(&k, path, 0), RDV_ERR_IO, "save refuses to clobber");
    is_int(errno, EEXIST, "errno is EEXIST");
    chmod(path, 0644);
    rdv_privkey_clear(&back);
    rdv_privkey_generate(RDV_KEY_ED25519, &back);
    is_int(rdv_privkey_save(&back, path, 1), RDV_OK, "save with overwrite");
    ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600, "overwritten file is back to 0600");
    is_int(rdv_privkey_load(path, &k), RDV_OK, "load overwritten key");
    is_int(k.type, RDV_KEY_ED25519, "overwritten key is the new one");
    ok(rdv_pubkey_equal(&back.pub, &k.pub), "overwritten key content");

    /* A file written by go/js-libp2p: the spec's private key bytes. */
    size_t n;
    uint8_t *spec = unhex(SPEC_ED_PRIV, &n);
    FILE *f = fopen(big, "wb");
    fwrite(spec, 1, n, f);
    fclose(f);
    is_int(rdv_privkey_load(big, &k), RDV_OK, "load a key file in the go/js format");
    struct rdv_peerid id;
    char txt[RDV_PEERID_TEXT_MAX];
    rdv_peerid_from_pubkey(&k.pub, &id);
    rdv_peerid_to_text(&id, txt, sizeof(txt));
    is_str(txt, SPEC_ED_ID, "its peer id");
    free(spec);
    f = fopen(big, "wb");
    for (int i = 0; i < 16384; i++)
        fputc(0, f);
    fclose(f);
    is_int(rdv_privkey_load(big, &k), RDV_ERR_TOO_LARGE, "16 KiB key file refused");
    f = fopen(big, "wb");
    fputs("not a key", f);
    fclose(f);
    is_int(rdv_privkey_load(big, &k), RDV_ERR_INVALID, "garbage key file refused");
    is_int(rdv_privkey_load(dir, &k), RDV_ERR_INVALID, "a directory is not a key file");
    unlink(big);
    unlink(path);
    is_int(rdv_privkey_load(path, &k), RDV_ERR_IO, "missing key file");
    rmdir(dir);
    rdv_privkey_clear(&k);
    rdv_privkey_clear(&back);
}

static void test_peerid_parse_errors(void)
{
    struct rdv_peerid id;
    char longtxt[200];
    memset(longtxt, 'Q', sizeof(longtxt) - 1);
    longtxt[sizeof(longtxt) - 1] = '\0';
    is_int(rdv_peerid_parse("", &id), RDV_ERR_INVALID, "empty peer id");
    is_int(rdv_peerid_parse("1", &id), RDV_ERR_INVALID, "one-char peer id");
    is_int(rdv_peerid_parse("12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3p0", &id), RDV_ERR_INVALID,
           "base58 id with '0'");
    is_int(rdv_peerid_parse("12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3p", &id), RDV_ERR_INVALID,
           "base58 id one char short");
    is_int(rdv_peerid_parse(longtxt, &id), RDV_ERR_TOO_LARGE, "overlong peer id text");
    is_int(rdv_peerid_parse("bafzaajaiaejcahwr5d5ofrfbis4l5d6uwr57hu5tjodrypfm6yaq6dsc2r2pzyt", &id), RDV_ERR_INVALID,
           "CID one char short");
    /* CIDv1 dag-pb (0x70) of the same multihash: a CID, but not a libp2p key. */
    uint8_t raw[2 + 38];
    char txt[RDV_PEERID_TEXT_MAX] = "b";
    rdv_peerid_parse(SPEC_ED_ID, &id);
    raw[0] = 0x01;
    raw[1] = 0x70;
    memcpy(raw + 2, id.bytes, id.len);
    rdv_base32_encode(raw, sizeof(raw), txt + 1, sizeof(txt) - 1);
    is_int(rdv_peerid_parse(txt, &id), RDV_ERR_UNSUPPORTED, "CID with codec dag-pb");
    raw[0] = 0x00;
    raw[1] = 0x72;
    rdv_base32_encode(raw, sizeof(raw), txt + 1, sizeof(txt) - 1);
    is_int(rdv_peerid_parse(txt, &id), RDV_ERR_INVALID, "CID version 0 in base32");

    uint8_t mh[40] = {0x12, 0x20};
    is_int(rdv_peerid_from_bytes(mh, 34, &id), RDV_OK, "sha2-256 multihash");
    is_int(rdv_peerid_from_bytes(mh, 33, &id), RDV_ERR_INVALID, "sha2-256 multihash short");
    mh[1] = 0x1f;
    is_int(rdv_peerid_from_bytes(mh, 33, &id), RDV_ERR_INVALID, "sha2-256 with 31-byte digest");
    mh[0] = 0x13;
    mh[1] = 0x20;
    is_int(rdv_peerid_from_bytes(mh, 34, &id), RDV_ERR_UNSUPPORTED, "sha2-512 code");
    mh[0] = 0x00;
    mh[1] = 5;
    is_int(rdv_peerid_from_bytes(mh, 6, &id), RDV_ERR_INVALID, "identity length mismatch");
    mh[1] = 0;
    is_int(rdv_peerid_from_bytes(mh, 2, &id), RDV_ERR_INVALID, "empty identity");
    is_int(rdv_peerid_from_bytes(mh, 0, &id), RDV_ERR_INVALID, "zero bytes");
    uint8_t huge[RDV_PEERID_MAX + 1] = {0};
    is_int(rdv_peerid_from_bytes(huge, sizeof(huge), &id), RDV_ERR_TOO_LARGE, "multihash over RDV_PEERID_MAX");
    rdv_peerid_parse(SPEC_ED_ID, &id);
    is_int(rdv_peerid_to_text(&id, txt, strlen(SPEC_ED_ID)), RDV_ERR_TOO_LARGE, "to_text outcap");
    is_int(rdv_peerid_to_cid_text(&id, txt, strlen(SPEC_ED_CID)), RDV_ERR_TOO_LARGE, "to_cid_text outcap");
}

static void test_type_names(void)
{
    enum rdv_key_type t = RDV_KEY_RSA;
    is_int(rdv_key_type_parse("Ed25519", &t), RDV_OK, "parse Ed25519");
    is_int(t, RDV_KEY_ED25519, "Ed25519 type");
    is_int(rdv_key_type_parse("SECP256K1", &t), RDV_OK, "parse SECP256K1");
    is_int(t, RDV_KEY_SECP256K1, "secp256k1 type");
    is_int(rdv_key_type_parse("rsa", &t), RDV_ERR_UNSUPPORTED, "parse rsa");
    is_int(rdv_key_type_parse("ed448", &t), RDV_ERR_INVALID, "parse ed448");
    is_str(rdv_key_type_name(RDV_KEY_SECP256K1), "secp256k1", "secp256k1 name");
}

/* Random inputs to every parser: no crash, no over-read (ASan), and nothing absurd accepted. */
static void test_random_junk(void)
{
    int bad = 0;
    for (int i = 0; i < 3000; i++) {
        size_t n = randombytes_uniform(100);
        uint8_t *p = malloc(n + 1);
        struct rdv_pubkey pk;
        struct rdv_privkey k;
        struct rdv_peerid id;
        randombytes_buf(p, n);
        if (rdv_pubkey_unmarshal(p, n, &pk) == RDV_OK && !(pk.len == 32 || pk.len == 33))
            bad++;
        if (rdv_privkey_unmarshal(p, n, &k) == RDV_OK)
            bad++; /* a random ed25519 seed cannot match a random public half */
        if (rdv_peerid_from_bytes(p, n, &id) == RDV_OK && id.len != n)
            bad++;
        for (size_t j = 0; j < n; j++)
            p[j] = (uint8_t)(p[j] % 94 + 33); /* printable, often base58/base32 characters */
        p[n] = 0;
        if (rdv_peerid_parse((const char *)p, &id) == RDV_OK && id.len > RDV_PEERID_MAX)
            bad++;
        rdv_privkey_clear(&k);
        free(p);
    }
    is_int(bad, 0, "3000 random inputs to the key and peer id parsers");
}

/* rdv_pubkey_from_raw_to_verify leaves ed25519 point validation to crypto_sign_verify_detached:
 * pin that libsodium refuses those keys, with the signature that would pass a bare cofactorless
 * check (R = the neutral element, S = 0, under the neutral element as key). */
static void test_verify_rejects_bad_points(void)
{
    struct rdv_pubkey pk;
    uint8_t key[32] = {0x01}, sig[64] = {0x01}, msg[3] = "abc";
    is_int(rdv_pubkey_from_raw_to_verify(RDV_KEY_ED25519, key, 32, &pk), RDV_OK, "to_verify: small-order key parses");
    is_int(rdv_pubkey_verify(&pk, msg, sizeof(msg), sig, sizeof(sig)), RDV_ERR_SIGNATURE,
           "libsodium refuses a small-order key (neutral element)");
    memset(key, 0xff, 32);
    key[31] = 0x7f;
    is_int(rdv_pubkey_from_raw_to_verify(RDV_KEY_ED25519, key, 32, &pk), RDV_OK, "to_verify: non-canonical key parses");
    is_int(rdv_pubkey_verify(&pk, msg, sizeof(msg), sig, sizeof(sig)), RDV_ERR_SIGNATURE,
           "libsodium refuses a non-canonical key");
    is_int(rdv_pubkey_from_raw_to_verify(RDV_KEY_ED25519, key, 31, &pk), RDV_ERR_INVALID, "to_verify: length checked");
    int off_curve = 0, refused = 0;
    for (uint8_t y = 2; y < 40; y++) {
        memset(key, 0, 32);
        key[0] = y;
        if (crypto_core_ed25519_is_valid_point(key))
            continue;
        off_curve++;
        randombytes_buf(sig, sizeof(sig));
        refused += rdv_pubkey_from_raw_to_verify(RDV_KEY_ED25519, key, 32, &pk) == RDV_OK &&
                   rdv_pubkey_verify(&pk, msg, sizeof(msg), sig, sizeof(sig)) == RDV_ERR_SIGNATURE;
    }
    ok(off_curve > 0 && refused == off_curve, "libsodium refuses invalid points (%d tried)", off_curve);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_verify_rejects_bad_points();
    check_spec_key("ed25519", SPEC_ED_PRIV, SPEC_ED_PUB, SPEC_ED_ID, SPEC_ED_CID);
    check_spec_key("secp256k1", SPEC_K1_PRIV, SPEC_K1_PUB, SPEC_K1_ID, SPEC_K1_CID);
    check_hashed_id("ECDSA", SPEC_ECDSA_PUB, SPEC_ECDSA_ID, SPEC_ECDSA_CID);
    check_hashed_id("RSA", SPEC_RSA_PUB, SPEC_RSA_ID, NULL);
    test_unsupported_and_malformed();
    test_rfc8032();
    test_sign_verify(RDV_KEY_ED25519, "12D3KooW", 38);
    test_sign_verify(RDV_KEY_SECP256K1, "16Uiu2", 39);
    test_key_files();
    test_peerid_parse_errors();
    test_type_names();
    test_random_junk();
    return tap_done();
}
