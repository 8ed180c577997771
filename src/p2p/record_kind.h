/* record_kind.h: the one place a signed peer record is opened or sealed, for every kind of record.
 *
 * A record kind is data: the envelope domain and payload type that identify it, and how its
 * payload is read and written. Two kinds exist: the libp2p peer record (RFC 0003: domain
 * "libp2p-peer-record", payload type 0x03 0x01), which /vac/waku/rendezvous/0.0.1 and
 * /rendezvous/1.0.0 carry, and nwaku's WakuPeerRecord (domain "libp2p-custom-peer-record", payload
 * type 0x30 0x00 0x00), which /vac/waku/rendezvous/1.0.0 carries.
 *
 * Opening never allocates: the summary holds the peer id and seq by value and the addresses as
 * slices of the envelope bytes the caller passed, so it is valid while those bytes are. The
 * server opens (verifies) a record once, on REGISTER; whoever only displays a stored record (the
 * admin API) inspects it: the same parse without the signature check.
 *
 * Strictness (an envelope is stored and served verbatim, so it must not carry anything unsigned):
 * the Envelope may hold only its four fields, each once; the key must be Ed25519 or secp256k1 in
 * its deterministic encoding; the record's peer id must be the one the key hashes to; every
 * address must parse as a multiaddr; at most RDV_RECORD_MAX_ADDRS addresses. */
#ifndef RDV_RECORD_KIND_H
#define RDV_RECORD_KIND_H

#include <stddef.h>
#include <stdint.h>

#include "p2p/keys.h"
#include "p2p/peerid.h"
#include "util/buf.h"

#define RDV_RECORD_MAX_ADDRS 64
#define RDV_RECORD_ENVELOPE_MAX 8192 /* largest envelope opened (== RDV_ENVELOPE_MAX) */

enum rdv_record_kind_id {
    RDV_RECORD_PEER = 0, /* libp2p peer record */
    RDV_RECORD_WAKU = 1, /* WakuPeerRecord */
    RDV_RECORD_KIND_COUNT
};

struct rdv_record_addr {
    const uint8_t *bytes; /* binary multiaddr, inside the envelope */
    size_t len;
};

/* What a record says, without a copy of it. */
struct rdv_record_summary {
    struct rdv_peerid peer;    /* the record's (== the signing key's) peer id */
    uint64_t seq;
    size_t naddrs;
    size_t addrs_bytes;        /* sum of the binary address lengths */
    struct rdv_record_addr addrs[RDV_RECORD_MAX_ADDRS];
    const uint8_t *mix_key;    /* WakuPeerRecord only: the mixKey string (may be empty), else NULL */
    size_t mix_key_len;
    /* 1 when a cache answered (record_cache.h): these exact bytes were verified before, so a store
     * may treat a put of them as a refresh of what it holds (struct rdv_store_put.same_envelope). */
    uint8_t cached;
};

struct rdv_record_kind {
    enum rdv_record_kind_id id;
    const char *name;          /* "libp2p-peer-record", "waku-peer-record": admin API, metrics */
    const char *domain;
    const uint8_t *payload_type;
    size_t payload_type_len;
    /* Reads the payload into out (peer, seq, addrs); RDV_ERR_INVALID / RDV_ERR_TOO_LARGE. */
    int (*read_payload)(const uint8_t *p, size_t n, struct rdv_record_summary *out);
    /* Appends the payload for (peer, seq, addrs[, mix key]) to out. */
    int (*write_payload)(const struct rdv_record_summary *in, struct rdv_buf *out);
};

extern const struct rdv_record_kind rdv_record_kind_peer;
extern const struct rdv_record_kind rdv_record_kind_waku;
/* By id; NULL when unknown. */
const struct rdv_record_kind *rdv_record_kind_get(unsigned id);

/* Opens a signed record of kind k: structure, key, payload type, signature, peer id, addresses.
 * Returns RDV_OK, RDV_ERR_INVALID, RDV_ERR_TOO_LARGE, RDV_ERR_UNSUPPORTED (key type),
 * RDV_ERR_PAYLOAD_TYPE (another kind of record), RDV_ERR_SIGNATURE (bad signature or domain) or
 * RDV_ERR_PEER_ID_MISMATCH (the record names another peer than the key). */
int rdv_record_open(const struct rdv_record_kind *k, const uint8_t *env, size_t n, struct rdv_record_summary *out);
/* rdv_record_open without the signature check (and so without validating an ed25519 key as a curve
 * point, which only the verify does: see rdv_pubkey_from_raw_to_verify): for displaying records
 * verified when stored. */
int rdv_record_inspect(const struct rdv_record_kind *k, const uint8_t *env, size_t n,
                       struct rdv_record_summary *out);
/* Seals in->seq, in->addrs (and in->mix_key for a WakuPeerRecord) under key as a record of kind k
 * for key's own peer id (in->peer is ignored); appends the envelope bytes to out. */
int rdv_record_seal(const struct rdv_record_kind *k, const struct rdv_privkey *key, const struct rdv_record_summary *in,
                    struct rdv_buf *out);

/* How a caller opens records: the plain verify, or a cache in front of it (same contract as
 * rdv_record_open). NULL open means rdv_record_open. */
struct rdv_record_opener {
    int (*open)(void *ctx, const struct rdv_record_kind *k, const uint8_t *env, size_t n,
                struct rdv_record_summary *out);
    void *ctx;
};
int rdv_record_opener_open(const struct rdv_record_opener *o, const struct rdv_record_kind *k, const uint8_t *env,
                           size_t n, struct rdv_record_summary *out);

#endif
