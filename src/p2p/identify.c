/* identify.c: see identify.h. protobuf-c does the encoding; we only bound and copy. */
#include "p2p/identify.h"

#include <stdlib.h>
#include <string.h>

#include "identify.pb-c.h"
#include "util/err.h"

int rdv_identify_encode(const struct rdv_identify_out *in, struct rdv_buf *out)
{
    if (in->nlisten > RDV_IDENTIFY_MAX_LIST || in->nprotocols > RDV_IDENTIFY_MAX_LIST)
        return RDV_ERR_TOO_LARGE;
    Identify__Pb__Identify msg = IDENTIFY__PB__IDENTIFY__INIT;
    uint8_t keybuf[RDV_PUBKEY_PROTO_MAX];
    size_t keylen = 0;
    int err = rdv_pubkey_marshal(in->key, keybuf, sizeof(keybuf), &keylen);
    if (err)
        return err;
    ProtobufCBinaryData addrs[RDV_IDENTIFY_MAX_LIST];
    for (size_t i = 0; i < in->nlisten; i++)
        addrs[i] = (ProtobufCBinaryData){in->listen_addrs[i].len, (uint8_t *)in->listen_addrs[i].p};
    msg.has_publickey = 1;
    msg.publickey = (ProtobufCBinaryData){keylen, keybuf};
    msg.n_listenaddrs = in->nlisten;
    msg.listenaddrs = addrs;
    msg.n_protocols = in->nprotocols;
    msg.protocols = (char **)in->protocols;
    msg.protocolversion = (char *)RDV_IDENTIFY_PROTOCOL_VERSION;
    msg.agentversion = (char *)(in->agent_version ? in->agent_version : "rendezvousd");
    if (in->observed_addr.len) {
        msg.has_observedaddr = 1;
        msg.observedaddr = (ProtobufCBinaryData){in->observed_addr.len, (uint8_t *)in->observed_addr.p};
    }
    if (in->signed_record.len) {
        msg.has_signedpeerrecord = 1;
        msg.signedpeerrecord = (ProtobufCBinaryData){in->signed_record.len, (uint8_t *)in->signed_record.p};
    }
    size_t n = identify__pb__identify__get_packed_size(&msg);
    if (n > RDV_IDENTIFY_MAX)
        return RDV_ERR_TOO_LARGE;
    err = rdv_buf_reserve(out, n);
    if (err)
        return err;
    rdv_buf_commit(out, identify__pb__identify__pack(&msg, rdv_buf_tail(out)));
    return RDV_OK;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int copy_protocols(const Identify__Pb__Identify *m, struct rdv_identify_peer *out)
{
    size_t n = m->n_protocols < RDV_IDENTIFY_MAX_LIST ? m->n_protocols : RDV_IDENTIFY_MAX_LIST;
    out->protocols = calloc(n ? n : 1, sizeof(char *));
    if (!out->protocols)
        return RDV_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        out->protocols[i] = strdup(m->protocols[i]);
        if (!out->protocols[i])
            return RDV_ERR_NOMEM;
        out->nprotocols++;
    }
    return RDV_OK;
}

int rdv_identify_decode(const uint8_t *p, size_t n, struct rdv_identify_peer *out)
{
    memset(out, 0, sizeof(*out));
    if (n > RDV_IDENTIFY_MAX)
        return RDV_ERR_TOO_LARGE;
    Identify__Pb__Identify *m = identify__pb__identify__unpack(NULL, n, p);
    if (!m)
        return RDV_ERR_INVALID;
    int err = RDV_OK;
    if (m->has_publickey && rdv_pubkey_unmarshal(m->publickey.data, m->publickey.len, &out->key) == RDV_OK)
        out->has_key = 1;
    out->nlisten = m->n_listenaddrs;
    out->agent_version = dup_or_null(m->agentversion);
    out->protocol_version = dup_or_null(m->protocolversion);
    if ((m->agentversion && !out->agent_version) || (m->protocolversion && !out->protocol_version))
        err = RDV_ERR_NOMEM;
    if (!err)
        err = copy_protocols(m, out);
    if (!err && m->has_signedpeerrecord && m->signedpeerrecord.len) {
        out->signed_record = malloc(m->signedpeerrecord.len);
        if (!out->signed_record)
            err = RDV_ERR_NOMEM;
        else {
            memcpy(out->signed_record, m->signedpeerrecord.data, m->signedpeerrecord.len);
            out->signed_record_len = m->signedpeerrecord.len;
        }
    }
    identify__pb__identify__free_unpacked(m, NULL);
    if (err)
        rdv_identify_peer_free(out);
    return err;
}

void rdv_identify_peer_free(struct rdv_identify_peer *peer)
{
    for (size_t i = 0; i < peer->nprotocols; i++)
        free(peer->protocols[i]);
    free(peer->protocols);
    free(peer->agent_version);
    free(peer->protocol_version);
    free(peer->signed_record);
    memset(peer, 0, sizeof(*peer));
}
