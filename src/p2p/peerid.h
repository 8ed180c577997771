/* peerid.h: libp2p peer ids: the multihash of the serialized PublicKey protobuf (identity multihash
 * when that is <= 42 bytes, as for ed25519 and secp256k1; sha2-256 otherwise).
 * Text: base58btc of the multihash ("12D3KooW...", "16Uiu2...", "Qm..."), or CIDv1 with codec
 * libp2p-key (0x72) in multibase base32 ("bafz..."); parse accepts both, print gives base58btc. */
#ifndef RDV_PEERID_H
#define RDV_PEERID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2p/keys.h"

#define RDV_PEERID_MAX 64      /* multihash bytes */
#define RDV_PEERID_TEXT_MAX 128 /* text form incl. NUL */

struct rdv_peerid {
    uint8_t bytes[RDV_PEERID_MAX];
    size_t len;
};

int rdv_peerid_from_pubkey(const struct rdv_pubkey *k, struct rdv_peerid *out);
/* Validates a binary multihash peer id (identity or sha2-256 with the right length). */
int rdv_peerid_from_bytes(const uint8_t *p, size_t n, struct rdv_peerid *out);
int rdv_peerid_parse(const char *text, struct rdv_peerid *out);
/* base58btc text; returns its length or a negative rdv_err. */
int rdv_peerid_to_text(const struct rdv_peerid *id, char *out, size_t outcap);
/* CIDv1 base32 text ("b..."). */
int rdv_peerid_to_cid_text(const struct rdv_peerid *id, char *out, size_t outcap);
bool rdv_peerid_equal(const struct rdv_peerid *a, const struct rdv_peerid *b);
/* For identity-multihash ids: the embedded public key. RDV_ERR_UNSUPPORTED for hashed ids. */
int rdv_peerid_extract_pubkey(const struct rdv_peerid *id, struct rdv_pubkey *out);

#endif
