/* peer_record.c: libp2p peer records (RFC 0003): the PeerRecord protobuf and its signed-envelope
 * form, the signedPeerRecord a rendezvous REGISTER carries.
 *
 * Decoding validates everything a consumer relies on: the peer id is a well-formed multihash,
 * the address count is bounded before anything is copied, and every address parses as a binary
 * multiaddr. A record with zero addresses is valid here; refusing it is the rendezvous service's
 * policy, not a property of the format. */
#include "p2p/peer_record.h"

#include <stdlib.h>
#include <string.h>

#include "p2p/envelope.h"
#include "p2p/multiaddr.h"
#include "peer_record.pb-c.h"
#include "util/err.h"

const uint8_t rdv_peer_record_payload_type[2] = {0x03, 0x01};

void rdv_peer_record_free(struct rdv_peer_record *r)
{
    for (size_t i = 0; i < r->naddrs; i++)
        free(r->addrs[i].bytes);
    free(r->addrs);
    r->addrs = NULL;
    r->naddrs = 0;
    r->addrs_total_len = 0;
}

int rdv_peer_record_add_addr(struct rdv_peer_record *r, const uint8_t *ma, size_t len)
{
    if (r->naddrs >= RDV_PEER_RECORD_MAX_ADDRS)
        return RDV_ERR_TOO_LARGE;
    if (rdv_ma_validate_known(ma, len) != RDV_OK) /* unknown protocols: kept, not printed */
        return RDV_ERR_INVALID;
    struct rdv_addr *grown = realloc(r->addrs, (r->naddrs + 1) * sizeof(*grown));
    if (!grown)
        return RDV_ERR_NOMEM;
    r->addrs = grown;
    uint8_t *copy = malloc(len);
    if (!copy)
        return RDV_ERR_NOMEM;
    memcpy(copy, ma, len);
    r->addrs[r->naddrs].bytes = copy;
    r->addrs[r->naddrs].len = len;
    r->naddrs++;
    r->addrs_total_len += len;
    return RDV_OK;
}

static int record_from_msg(const Peer__Pb__PeerRecord *m, struct rdv_peer_record *out)
{
    if (rdv_peerid_from_bytes(m->peer_id.data, m->peer_id.len, &out->peer_id) != RDV_OK)
        return RDV_ERR_INVALID;
    out->seq = m->seq;
    if (m->n_addresses > RDV_PEER_RECORD_MAX_ADDRS)
        return RDV_ERR_TOO_LARGE;
    for (size_t i = 0; i < m->n_addresses; i++) {
        const ProtobufCBinaryData *a = &m->addresses[i]->multiaddr;
        int r = rdv_peer_record_add_addr(out, a->data, a->len);
        if (r != RDV_OK)
            return r;
    }
    return RDV_OK;
}

int rdv_peer_record_decode(const uint8_t *p, size_t n, struct rdv_peer_record *out)
{
    memset(out, 0, sizeof(*out));
    if (n > RDV_ENVELOPE_MAX)
        return RDV_ERR_TOO_LARGE;
    Peer__Pb__PeerRecord *m = peer__pb__peer_record__unpack(NULL, n, p);
    if (!m)
        return RDV_ERR_INVALID;
    int r = record_from_msg(m, out);
    peer__pb__peer_record__free_unpacked(m, NULL);
    if (r != RDV_OK)
        rdv_peer_record_free(out);
    return r;
}

int rdv_peer_record_encode(const struct rdv_peer_record *r, struct rdv_buf *out)
{
    if (r->naddrs > RDV_PEER_RECORD_MAX_ADDRS)
        return RDV_ERR_TOO_LARGE;
    Peer__Pb__PeerRecord__AddressInfo infos[RDV_PEER_RECORD_MAX_ADDRS];
    Peer__Pb__PeerRecord__AddressInfo *ptrs[RDV_PEER_RECORD_MAX_ADDRS];
    Peer__Pb__PeerRecord m = PEER__PB__PEER_RECORD__INIT;
    m.peer_id.data = (uint8_t *)r->peer_id.bytes;
    m.peer_id.len = r->peer_id.len;
    m.seq = r->seq;
    for (size_t i = 0; i < r->naddrs; i++) {
        peer__pb__peer_record__address_info__init(&infos[i]);
        infos[i].multiaddr.data = r->addrs[i].bytes;
        infos[i].multiaddr.len = r->addrs[i].len;
        ptrs[i] = &infos[i];
    }
    m.n_addresses = r->naddrs;
    m.addresses = ptrs;
    size_t need = peer__pb__peer_record__get_packed_size(&m);
    int rc = rdv_buf_reserve(out, need);
    if (rc != RDV_OK)
        return rc;
    rdv_buf_commit(out, peer__pb__peer_record__pack(&m, rdv_buf_tail(out)));
    return RDV_OK;
}

int rdv_signed_peer_record_open(const uint8_t *bytes, size_t n, struct rdv_peer_record *out)
{
    struct rdv_envelope env;
    memset(out, 0, sizeof(*out));
    int r = rdv_envelope_open(bytes, n, RDV_PEER_RECORD_DOMAIN, rdv_peer_record_payload_type,
                              sizeof(rdv_peer_record_payload_type), &env);
    if (r != RDV_OK)
        return r;
    r = rdv_peer_record_decode(env.payload, env.payload_len, out);
    /* A valid signature over someone else's record is a replay, not a registration. */
    if (r == RDV_OK && !rdv_peerid_equal(&out->peer_id, &env.signer)) {
        rdv_peer_record_free(out);
        r = RDV_ERR_PEER_ID_MISMATCH;
    }
    rdv_envelope_free(&env);
    return r;
}

int rdv_signed_peer_record_seal(const struct rdv_privkey *k, const struct rdv_peer_record *r, struct rdv_buf *out)
{
    struct rdv_peerid self;
    int rc = rdv_peerid_from_pubkey(&k->pub, &self);
    if (rc != RDV_OK)
        return rc;
    if (!rdv_peerid_equal(&self, &r->peer_id))
        return RDV_ERR_PEER_ID_MISMATCH;
    struct rdv_buf payload;
    rdv_buf_init(&payload, RDV_ENVELOPE_MAX);
    rc = rdv_peer_record_encode(r, &payload);
    if (rc == RDV_OK)
        rc = rdv_envelope_seal(k, RDV_PEER_RECORD_DOMAIN, rdv_peer_record_payload_type,
                               sizeof(rdv_peer_record_payload_type), rdv_buf_head(&payload), payload.len, out);
    rdv_buf_free(&payload);
    return rc;
}
