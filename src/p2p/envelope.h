/* envelope.h: libp2p signed envelopes (RFC 0002).
 *
 * Signed bytes = uvarint(len(domain)) domain uvarint(len(type)) type uvarint(len(payload)) payload.
 * open() checks, in order: the protobuf decodes, the key is supported, the payload type matches,
 * the signature verifies under the expected domain (a signature made under another domain fails). */
#ifndef RDV_ENVELOPE_H
#define RDV_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "p2p/keys.h"
#include "p2p/peerid.h"
#include "util/buf.h"

#define RDV_ENVELOPE_MAX 8192 /* largest envelope we decode */

struct rdv_envelope {
    struct rdv_pubkey key;
    struct rdv_peerid signer;  /* peer id derived from key */
    uint8_t *payload_type;     /* malloc'd copies, freed by rdv_envelope_free */
    size_t payload_type_len;
    uint8_t *payload;
    size_t payload_len;
};

/* Returns RDV_OK, RDV_ERR_INVALID (undecodable), RDV_ERR_TOO_LARGE, RDV_ERR_UNSUPPORTED (key type),
 * RDV_ERR_PAYLOAD_TYPE, RDV_ERR_SIGNATURE (bad signature or wrong domain), RDV_ERR_NOMEM. */
int rdv_envelope_open(const uint8_t *bytes, size_t n, const char *domain,
                      const uint8_t *payload_type, size_t payload_type_len, struct rdv_envelope *out);
void rdv_envelope_free(struct rdv_envelope *e);
/* Seals payload; appends the serialized Envelope to out. */
int rdv_envelope_seal(const struct rdv_privkey *k, const char *domain,
                      const uint8_t *payload_type, size_t payload_type_len,
                      const uint8_t *payload, size_t payload_len, struct rdv_buf *out);

#endif
