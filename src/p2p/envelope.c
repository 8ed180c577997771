/* envelope.c: libp2p signed envelopes (RFC 0002): seal a payload under a domain, and open one
 * received from the network.
 *
 * The signature covers neither the protobuf framing nor the key, only the domain-separated
 * concatenation of domain, payload type and payload (each uvarint-length-prefixed). The domain
 * itself is never on the wire: the opener supplies the one it expects, so a signature made for
 * another purpose (another domain) simply fails to verify. open() checks the cheap, structural
 * things first and the signature last, so each failure gets its own error code. */
#include "p2p/envelope.h"

#include <stdlib.h>
#include <string.h>

#include "envelope.pb-c.h"
#include "util/err.h"

#define RDV_ENVELOPE_DOMAIN_MAX 256 /* domains are short constants; bound what we hash */

/* uvarint(len(domain)) domain uvarint(len(type)) type uvarint(len(payload)) payload */
static int signed_bytes(struct rdv_buf *b, const char *domain, const uint8_t *type, size_t type_len,
                        const uint8_t *payload, size_t payload_len)
{
    size_t dlen = strlen(domain);
    int r = rdv_buf_append_uvarint(b, dlen);
    if (r == RDV_OK)
        r = rdv_buf_append(b, domain, dlen);
    if (r == RDV_OK)
        r = rdv_buf_append_uvarint(b, type_len);
    if (r == RDV_OK)
        r = rdv_buf_append(b, type, type_len);
    if (r == RDV_OK)
        r = rdv_buf_append_uvarint(b, payload_len);
    if (r == RDV_OK)
        r = rdv_buf_append(b, payload, payload_len);
    return r;
}

static int verify_envelope(const struct rdv_pubkey *key, const char *domain, const Record__Pb__Envelope *e)
{
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    int r = signed_bytes(&b, domain, e->payload_type.data, e->payload_type.len, e->payload.data, e->payload.len);
    if (r == RDV_OK)
        r = rdv_pubkey_verify(key, rdv_buf_head(&b), b.len, e->signature.data, e->signature.len);
    rdv_buf_free(&b);
    return r;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    if (d && n)
        memcpy(d, p, n);
    return d;
}

/* Structural checks and signature; fills key/signer of out. */
static int check_envelope(const Record__Pb__Envelope *e, const char *domain, const uint8_t *payload_type,
                          size_t payload_type_len, struct rdv_envelope *out)
{
    if (!e->public_key)
        return RDV_ERR_INVALID;
    int r = rdv_pubkey_from_raw_to_verify((int)e->public_key->type, e->public_key->data.data, /* verified below */
                                e->public_key->data.len, &out->key);
    if (r != RDV_OK)
        return r;
    if (e->payload_type.len != payload_type_len ||
        (payload_type_len && memcmp(e->payload_type.data, payload_type, payload_type_len) != 0))
        return RDV_ERR_PAYLOAD_TYPE;
    r = verify_envelope(&out->key, domain, e);
    if (r != RDV_OK)
        return r;
    return rdv_peerid_from_pubkey(&out->key, &out->signer);
}

int rdv_envelope_open(const uint8_t *bytes, size_t n, const char *domain,
                      const uint8_t *payload_type, size_t payload_type_len, struct rdv_envelope *out)
{
    memset(out, 0, sizeof(*out));
    if (n > RDV_ENVELOPE_MAX)
        return RDV_ERR_TOO_LARGE;
    if (strlen(domain) > RDV_ENVELOPE_DOMAIN_MAX)
        return RDV_ERR_INVALID;
    /* protobuf-c allocates at most on the order of n bytes for an n-byte message. */
    Record__Pb__Envelope *e = record__pb__envelope__unpack(NULL, n, bytes);
    if (!e)
        return RDV_ERR_INVALID;
    int r = check_envelope(e, domain, payload_type, payload_type_len, out);
    if (r == RDV_OK) {
        out->payload_type = dup_bytes(e->payload_type.data, e->payload_type.len);
        out->payload_type_len = e->payload_type.len;
        out->payload = dup_bytes(e->payload.data, e->payload.len);
        out->payload_len = e->payload.len;
        if (!out->payload_type || !out->payload)
            r = RDV_ERR_NOMEM;
    }
    record__pb__envelope__free_unpacked(e, NULL);
    if (r != RDV_OK)
        rdv_envelope_free(out);
    return r;
}

void rdv_envelope_free(struct rdv_envelope *e)
{
    free(e->payload_type);
    free(e->payload);
    memset(e, 0, sizeof(*e));
}

int rdv_envelope_seal(const struct rdv_privkey *k, const char *domain,
                      const uint8_t *payload_type, size_t payload_type_len,
                      const uint8_t *payload, size_t payload_len, struct rdv_buf *out)
{
    if (strlen(domain) > RDV_ENVELOPE_DOMAIN_MAX)
        return RDV_ERR_INVALID;
    uint8_t sig[RDV_SIG_MAX];
    size_t siglen = 0;
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    int r = signed_bytes(&b, domain, payload_type, payload_type_len, payload, payload_len);
    if (r == RDV_OK)
        r = rdv_privkey_sign(k, rdv_buf_head(&b), b.len, sig, &siglen);
    rdv_buf_free(&b);
    if (r != RDV_OK)
        return r;

    Crypto__Pb__PublicKey pk = CRYPTO__PB__PUBLIC_KEY__INIT;
    pk.type = (Crypto__Pb__KeyType)k->pub.type;
    pk.data.data = (uint8_t *)k->pub.data;
    pk.data.len = k->pub.len;
    Record__Pb__Envelope e = RECORD__PB__ENVELOPE__INIT;
    e.public_key = &pk;
    e.payload_type.data = (uint8_t *)payload_type;
    e.payload_type.len = payload_type_len;
    e.payload.data = (uint8_t *)payload;
    e.payload.len = payload_len;
    e.signature.data = sig;
    e.signature.len = siglen;
    size_t need = record__pb__envelope__get_packed_size(&e);
    if (need > RDV_ENVELOPE_MAX) /* we would refuse to open it ourselves */
        return RDV_ERR_TOO_LARGE;
    r = rdv_buf_reserve(out, need);
    if (r != RDV_OK)
        return r;
    rdv_buf_commit(out, record__pb__envelope__pack(&e, rdv_buf_tail(out)));
    return RDV_OK;
}
