/* identify.h: the libp2p identify message (/ipfs/id/1.0.0), encode and decode, free of I/O.
 * On the wire the message is uvarint(len) || Identify, sent once by the answering side, which
 * then closes the stream. We send publicKey, listenAddrs, protocols, observedAddr,
 * protocolVersion, agentVersion and our signed peer record. */
#ifndef RDV_IDENTIFY_H
#define RDV_IDENTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "p2p/keys.h"
#include "util/buf.h"

#define RDV_IDENTIFY_PROTOCOL "/ipfs/id/1.0.0"
#define RDV_IDENTIFY_PROTOCOL_VERSION "ipfs/0.1.0"
#define RDV_IDENTIFY_MAX 8192 /* as js-libp2p: a larger message is refused */
#define RDV_IDENTIFY_MAX_LIST 64

struct rdv_bytes {
    const uint8_t *p;
    size_t len;
};

/* What we tell a peer. Everything is borrowed. */
struct rdv_identify_out {
    const struct rdv_pubkey *key;
    const struct rdv_bytes *listen_addrs;
    size_t nlisten;
    const char *const *protocols;
    size_t nprotocols;
    struct rdv_bytes observed_addr; /* len 0 = omit */
    struct rdv_bytes signed_record; /* len 0 = omit */
    const char *agent_version;
};

/* Appends the Identify protobuf (without length prefix) to out. */
int rdv_identify_encode(const struct rdv_identify_out *in, struct rdv_buf *out);

/* What a peer told us; owns its memory (rdv_identify_peer_free). */
struct rdv_identify_peer {
    int has_key;
    struct rdv_pubkey key;
    char *agent_version;
    char *protocol_version;
    char **protocols;
    size_t nprotocols;
    uint8_t *signed_record;
    size_t signed_record_len;
    size_t nlisten;
};

/* Decodes a peer's Identify protobuf (bounded by RDV_IDENTIFY_MAX). An undecodable public key
 * leaves has_key 0 rather than failing: the key is checked against the Noise identity by the caller. */
int rdv_identify_decode(const uint8_t *p, size_t n, struct rdv_identify_peer *out);
void rdv_identify_peer_free(struct rdv_identify_peer *peer);

#endif
