/* peer_record.h: libp2p peer records (RFC 0003) and their signed-envelope form.
 * Domain "libp2p-peer-record", payload type 0x03 0x01. */
#ifndef RDV_PEER_RECORD_H
#define RDV_PEER_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "p2p/peerid.h"
#include "util/buf.h"

#define RDV_PEER_RECORD_DOMAIN "libp2p-peer-record"
#define RDV_PEER_RECORD_MAX_ADDRS 64

extern const uint8_t rdv_peer_record_payload_type[2];

struct rdv_addr {
    uint8_t *bytes; /* binary multiaddr, malloc'd */
    size_t len;
};

struct rdv_peer_record {
    struct rdv_peerid peer_id;
    uint64_t seq;
    struct rdv_addr *addrs;
    size_t naddrs;
    size_t addrs_total_len; /* sum of binary address lengths */
};

/* PeerRecord protobuf -> record. Every address must be a valid multiaddr (RDV_ERR_INVALID otherwise);
 * more than RDV_PEER_RECORD_MAX_ADDRS addresses is RDV_ERR_TOO_LARGE. */
int rdv_peer_record_decode(const uint8_t *p, size_t n, struct rdv_peer_record *out);
int rdv_peer_record_encode(const struct rdv_peer_record *r, struct rdv_buf *out);
void rdv_peer_record_free(struct rdv_peer_record *r);
/* Adds one binary address (copied). */
int rdv_peer_record_add_addr(struct rdv_peer_record *r, const uint8_t *ma, size_t len);

/* Opens a signed peer record: envelope checks (see envelope.h), then the record decodes and its
 * peer_id equals the signer's (RDV_ERR_PEER_ID_MISMATCH otherwise). */
int rdv_signed_peer_record_open(const uint8_t *bytes, size_t n, struct rdv_peer_record *out);
/* Seals r (its peer_id must be k's) and appends the envelope bytes to out. */
int rdv_signed_peer_record_seal(const struct rdv_privkey *k, const struct rdv_peer_record *r, struct rdv_buf *out);

#endif
