/* record_kind.c: see record_kind.h. The Envelope and both payloads are walked with util/pbwire.h:
 * nothing is copied, nothing allocated; the signed bytes are assembled on the stack (an envelope
 * is at most RDV_RECORD_ENVELOPE_MAX bytes, so its payload is too). */
#include "p2p/record_kind.h"

#include <stdbool.h>
#include <string.h>

#include "p2p/envelope.h"
#include "p2p/multiaddr.h"
#include "util/err.h"
#include "util/pbwire.h"

/* Envelope field numbers (RFC 0002). */
enum { ENV_PUBLIC_KEY = 1, ENV_PAYLOAD_TYPE = 2, ENV_PAYLOAD = 3, ENV_SIGNATURE = 5 };
#define DOMAIN_MAX 64 /* our domains are short constants */

static const uint8_t peer_record_type[] = {0x03, 0x01};
static const uint8_t waku_record_type[] = {0x30, 0x00, 0x00};

/* ---- payloads -------------------------------------------------------------------------- */

static int add_addr(struct rdv_record_summary *out, const uint8_t *p, size_t n)
{
    if (out->naddrs >= RDV_RECORD_MAX_ADDRS)
        return RDV_ERR_TOO_LARGE;
    if (rdv_ma_validate_known(p, n) != RDV_OK) /* unknown protocols: kept, not printed */
        return RDV_ERR_INVALID;
    out->addrs[out->naddrs++] = (struct rdv_record_addr){p, n};
    out->addrs_bytes += n;
    return RDV_OK;
}

static int read_peer_id(const struct rdv_pb_field *f, struct rdv_record_summary *out, bool *seen)
{
    if (f->wire != RDV_PB_LEN || *seen)
        return RDV_ERR_INVALID;
    *seen = true;
    return rdv_peerid_from_bytes(f->data, f->len, &out->peer) == RDV_OK ? RDV_OK : RDV_ERR_INVALID;
}

/* AddressInfo { bytes multiaddr = 1; } */
static int read_address_info(const uint8_t *p, size_t n, struct rdv_record_summary *out)
{
    struct rdv_pb_reader r;
    struct rdv_pb_field f;
    const uint8_t *ma = NULL;
    size_t ma_len = 0;
    int rc;
    rdv_pb_reader_init(&r, p, n);
    while ((rc = rdv_pb_next(&r, &f)) == 1)
        if (f.num == 1 && f.wire == RDV_PB_LEN) {
            ma = f.data;
            ma_len = f.len;
        }
    return rc < 0 || !ma ? RDV_ERR_INVALID : add_addr(out, ma, ma_len);
}

/* PeerRecord { bytes peer_id = 1; uint64 seq = 2; repeated AddressInfo addresses = 3; } (RFC 0003),
 * and WakuPeerRecord { bytes peerId = 1; uint64 seqNo = 2; repeated bytes addresses = 3;
 * string mixKey = 4; } (nwaku waku/waku_rendezvous/waku_peer_record.nim): the same fields but for
 * bare multiaddrs instead of AddressInfo and the mixKey, which nwaku requires on the wire (it may
 * be empty) with at least one address. waku says which. */
static int read_record(const uint8_t *p, size_t n, bool waku, struct rdv_record_summary *out)
{
    struct rdv_pb_reader r;
    struct rdv_pb_field f;
    bool has_id = false;
    int rc;
    rdv_pb_reader_init(&r, p, n);
    while ((rc = rdv_pb_next(&r, &f)) == 1) {
        int err = RDV_OK;
        if (f.num == 1)
            err = read_peer_id(&f, out, &has_id);
        else if (f.num == 2)
            err = f.wire == RDV_PB_VARINT ? (out->seq = f.varint, RDV_OK) : RDV_ERR_INVALID;
        else if (f.num == 3 && f.wire != RDV_PB_LEN)
            err = RDV_ERR_INVALID;
        else if (f.num == 3)
            err = waku ? add_addr(out, f.data, f.len) : read_address_info(f.data, f.len, out);
        else if (f.num == 4 && waku && f.wire == RDV_PB_LEN) {
            out->mix_key = f.data ? f.data : (const uint8_t *)"";
            out->mix_key_len = f.len;
        } else if (f.num == 4 && waku)
            err = RDV_ERR_INVALID;
        if (err)
            return err;
    }
    if (rc < 0 || !has_id || (waku && (!out->mix_key || out->naddrs == 0)))
        return RDV_ERR_INVALID;
    return RDV_OK;
}

static int read_peer_record(const uint8_t *p, size_t n, struct rdv_record_summary *out)
{
    return read_record(p, n, false, out);
}

static int read_waku_record(const uint8_t *p, size_t n, struct rdv_record_summary *out)
{
    return read_record(p, n, true, out);
}

static int write_addrs(const struct rdv_record_summary *in, struct rdv_buf *out, bool wrapped)
{
    int rc = RDV_OK;
    for (size_t i = 0; i < in->naddrs && rc == RDV_OK; i++) {
        const struct rdv_record_addr *a = &in->addrs[i];
        if (wrapped) {
            rc = rdv_pb_put_len_header(out, 3, rdv_pb_size_len(1, a->len));
            if (rc == RDV_OK)
                rc = rdv_pb_put_len(out, 1, a->bytes, a->len);
        } else {
            rc = rdv_pb_put_len(out, 3, a->bytes, a->len);
        }
    }
    return rc;
}

static int write_peer_record(const struct rdv_record_summary *in, struct rdv_buf *out)
{
    int rc = rdv_pb_put_len(out, 1, in->peer.bytes, in->peer.len);
    if (rc == RDV_OK && in->seq)
        rc = rdv_pb_put_varint(out, 2, in->seq);
    return rc ? rc : write_addrs(in, out, true);
}

static int write_waku_record(const struct rdv_record_summary *in, struct rdv_buf *out)
{
    int rc = rdv_pb_put_len(out, 1, in->peer.bytes, in->peer.len);
    if (rc == RDV_OK)
        rc = rdv_pb_put_varint(out, 2, in->seq);
    if (rc == RDV_OK)
        rc = write_addrs(in, out, false);
    return rc ? rc : rdv_pb_put_len(out, 4, in->mix_key, in->mix_key ? in->mix_key_len : 0);
}

const struct rdv_record_kind rdv_record_kind_peer = {
    .id = RDV_RECORD_PEER, .name = "libp2p-peer-record", .domain = "libp2p-peer-record",
    .payload_type = peer_record_type, .payload_type_len = sizeof(peer_record_type),
    .read_payload = read_peer_record, .write_payload = write_peer_record,
};

const struct rdv_record_kind rdv_record_kind_waku = {
    .id = RDV_RECORD_WAKU, .name = "waku-peer-record", .domain = "libp2p-custom-peer-record",
    .payload_type = waku_record_type, .payload_type_len = sizeof(waku_record_type),
    .read_payload = read_waku_record, .write_payload = write_waku_record,
};

const struct rdv_record_kind *rdv_record_kind_get(unsigned id)
{
    static const struct rdv_record_kind *const kinds[RDV_RECORD_KIND_COUNT] = {&rdv_record_kind_peer,
                                                                               &rdv_record_kind_waku};
    return id < RDV_RECORD_KIND_COUNT ? kinds[id] : NULL;
}

/* ---- the envelope ---------------------------------------------------------------------- */

struct env_parts {
    const uint8_t *key, *type, *payload, *sig;
    size_t key_len, type_len, payload_len, sig_len;
};

static int take(const struct rdv_pb_field *f, const uint8_t **p, size_t *len)
{
    if (f->wire != RDV_PB_LEN || *p)
        return RDV_ERR_INVALID; /* a repeated field would be bytes nobody signed */
    *p = f->data ? f->data : (const uint8_t *)"";
    *len = f->len;
    return RDV_OK;
}

static int env_split(const uint8_t *env, size_t n, struct env_parts *e)
{
    struct rdv_pb_reader r;
    struct rdv_pb_field f;
    int rc;
    memset(e, 0, sizeof(*e));
    rdv_pb_reader_init(&r, env, n);
    while ((rc = rdv_pb_next(&r, &f)) == 1) {
        int err = RDV_ERR_INVALID; /* unknown fields: unsigned padding */
        if (f.num == ENV_PUBLIC_KEY)
            err = take(&f, &e->key, &e->key_len);
        else if (f.num == ENV_PAYLOAD_TYPE)
            err = take(&f, &e->type, &e->type_len);
        else if (f.num == ENV_PAYLOAD)
            err = take(&f, &e->payload, &e->payload_len);
        else if (f.num == ENV_SIGNATURE)
            err = take(&f, &e->sig, &e->sig_len);
        if (err)
            return err;
    }
    return rc < 0 || !e->key || !e->payload || !e->sig ? RDV_ERR_INVALID : RDV_OK;
}

/* PublicKey { KeyType Type = 1; bytes Data = 2; }, required to be in its deterministic encoding
 * (the peer id hashes that encoding). */
static int env_key(const struct env_parts *e, struct rdv_pubkey *key)
{
    struct rdv_pb_reader r;
    struct rdv_pb_field f;
    uint64_t type = UINT64_MAX;
    const uint8_t *data = NULL;
    size_t data_len = 0;
    int rc;
    rdv_pb_reader_init(&r, e->key, e->key_len);
    while ((rc = rdv_pb_next(&r, &f)) == 1) {
        if (f.num == 1 && f.wire == RDV_PB_VARINT)
            type = f.varint;
        else if (f.num == 2 && f.wire == RDV_PB_LEN)
            data = f.data ? f.data : (const uint8_t *)"";
        data_len = f.num == 2 ? f.len : data_len;
    }
    if (rc < 0 || type > 16 || !data)
        return RDV_ERR_INVALID;
    rc = rdv_pubkey_from_raw_to_verify((int)type, data, data_len, key); /* verified, or inspect-only */
    if (rc)
        return rc;
    uint8_t canon[RDV_PUBKEY_PROTO_MAX];
    size_t canon_len;
    if (rdv_pubkey_marshal(key, canon, sizeof(canon), &canon_len) != RDV_OK || canon_len != e->key_len ||
        memcmp(canon, e->key, canon_len) != 0)
        return RDV_ERR_INVALID;
    return RDV_OK;
}

/* uvarint(len(domain)) domain uvarint(len(type)) type uvarint(len(payload)) payload */
static int env_verify(const struct rdv_record_kind *k, const struct env_parts *e, const struct rdv_pubkey *key)
{
    uint8_t msg[RDV_RECORD_ENVELOPE_MAX + DOMAIN_MAX + 32];
    size_t dlen = strlen(k->domain), n = 0;
    if (dlen > DOMAIN_MAX || e->type_len + e->payload_len > RDV_RECORD_ENVELOPE_MAX)
        return RDV_ERR_TOO_LARGE;
    n += rdv_pb_encode_varint(msg + n, dlen);
    memcpy(msg + n, k->domain, dlen);
    n += dlen;
    n += rdv_pb_encode_varint(msg + n, e->type_len);
    memcpy(msg + n, e->type, e->type_len);
    n += e->type_len;
    n += rdv_pb_encode_varint(msg + n, e->payload_len);
    memcpy(msg + n, e->payload, e->payload_len);
    n += e->payload_len;
    return rdv_pubkey_verify(key, msg, n, e->sig, e->sig_len) == RDV_OK ? RDV_OK : RDV_ERR_SIGNATURE;
}

static int record_read(const struct rdv_record_kind *k, const uint8_t *env, size_t n, bool verify,
                       struct rdv_record_summary *out)
{
    struct env_parts e;
    struct rdv_pubkey key;
    struct rdv_peerid signer;
    memset(out, 0, sizeof(*out));
    if (!k || (!env && n))
        return RDV_ERR_INVALID;
    if (n > RDV_RECORD_ENVELOPE_MAX)
        return RDV_ERR_TOO_LARGE;
    int rc = env_split(env, n, &e);
    if (rc == RDV_OK)
        rc = env_key(&e, &key);
    if (rc == RDV_OK && (e.type_len != k->payload_type_len || memcmp(e.type, k->payload_type, e.type_len) != 0))
        rc = RDV_ERR_PAYLOAD_TYPE;
    if (rc == RDV_OK && verify)
        rc = env_verify(k, &e, &key);
    if (rc == RDV_OK)
        rc = k->read_payload(e.payload, e.payload_len, out);
    if (rc == RDV_OK && (rdv_peerid_from_pubkey(&key, &signer) != RDV_OK || !rdv_peerid_equal(&signer, &out->peer)))
        rc = RDV_ERR_PEER_ID_MISMATCH; /* a valid signature over someone else's record is a replay */
    if (rc != RDV_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

int rdv_record_open(const struct rdv_record_kind *k, const uint8_t *env, size_t n, struct rdv_record_summary *out)
{
    return record_read(k, env, n, true, out);
}

int rdv_record_inspect(const struct rdv_record_kind *k, const uint8_t *env, size_t n,
                       struct rdv_record_summary *out)
{
    return record_read(k, env, n, false, out);
}

int rdv_record_seal(const struct rdv_record_kind *k, const struct rdv_privkey *key, const struct rdv_record_summary *in,
                    struct rdv_buf *out)
{
    struct rdv_record_summary mine = *in;
    int rc = rdv_peerid_from_pubkey(&key->pub, &mine.peer);
    if (rc != RDV_OK)
        return rc;
    struct rdv_buf payload;
    rdv_buf_init(&payload, RDV_RECORD_ENVELOPE_MAX);
    rc = k->write_payload(&mine, &payload);
    if (rc == RDV_OK)
        rc = rdv_envelope_seal(key, k->domain, k->payload_type, k->payload_type_len, rdv_buf_head(&payload),
                               payload.len, out);
    rdv_buf_free(&payload);
    return rc;
}

int rdv_record_opener_open(const struct rdv_record_opener *o, const struct rdv_record_kind *k, const uint8_t *env,
                           size_t n, struct rdv_record_summary *out)
{
    if (out)
        out->cached = 0; /* only a cache's hit sets it */
    if (o && o->open)
        return o->open(o->ctx, k, env, n, out);
    return rdv_record_open(k, env, n, out);
}
