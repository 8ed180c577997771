/* lp.h: uvarint-length-prefixed messages, the framing of identify and the rendezvous protocols. */
#ifndef RDV_LP_H
#define RDV_LP_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Looks for one complete message at the front of in[0..len). Returns 1 and sets *msg, *msglen and
 * *total (prefix + body, what to consume) when there is one, 0 when more bytes are needed,
 * RDV_ERR_TOO_LARGE when the announced length exceeds max (checked before waiting for the body),
 * RDV_ERR_INVALID for a malformed prefix. */
int rdv_lp_peek(const uint8_t *in, size_t len, size_t max, const uint8_t **msg, size_t *msglen, size_t *total);
/* Appends uvarint(n) || p to out. */
int rdv_lp_append(struct rdv_buf *out, const uint8_t *p, size_t n);

#endif
