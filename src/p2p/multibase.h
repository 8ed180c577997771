/* multibase.h: base58btc (bitcoin alphabet) and RFC 4648 base32 (lower case, no padding), the two
 * text encodings peer ids use. Pure functions over caller-provided buffers; they never overrun. */
#ifndef RDV_MULTIBASE_H
#define RDV_MULTIBASE_H

#include <stddef.h>
#include <stdint.h>

/* Encodes n bytes; writes a NUL-terminated string to out. Returns the string length, or
 * RDV_ERR_TOO_LARGE if out (outcap bytes including the NUL) is too small. */
int rdv_base58_encode(const uint8_t *in, size_t n, char *out, size_t outcap);
/* Decodes text (len chars, not necessarily NUL-terminated). Returns the byte count written to out,
 * RDV_ERR_INVALID for a character outside the alphabet, RDV_ERR_TOO_LARGE if outcap is too small. */
int rdv_base58_decode(const char *text, size_t len, uint8_t *out, size_t outcap);

int rdv_base32_encode(const uint8_t *in, size_t n, char *out, size_t outcap);
/* Accepts lower or upper case, no padding; rejects non-zero trailing bits. */
int rdv_base32_decode(const char *text, size_t len, uint8_t *out, size_t outcap);

#endif
