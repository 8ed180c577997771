/* varint.h: multiformats unsigned varint (LEB128, minimal encoding, at most 9 bytes = 63 bits).
 *
 * Used for every length prefix of the libp2p framing (multistream, rendezvous messages,
 * signed envelope domain separation) and inside multiaddrs. Protobuf varints are protobuf-c's job. */
#ifndef RDV_VARINT_H
#define RDV_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define RDV_UVARINT_MAX_LEN 10 /* encoder scratch size; the decoder accepts at most 9 bytes */

/* Writes v (any uint64) to out; returns the byte count (1..10). */
size_t rdv_uvarint_encode(uint64_t v, uint8_t out[RDV_UVARINT_MAX_LEN]);
/* Bytes rdv_uvarint_encode would write. */
size_t rdv_uvarint_size(uint64_t v);
/* Reads one varint from p[0..len). Returns bytes consumed (> 0), RDV_ERR_TRUNCATED if more
 * bytes are needed, RDV_ERR_INVALID if it is longer than 9 bytes or not minimally encoded. */
int rdv_uvarint_decode(const uint8_t *p, size_t len, uint64_t *out);

#endif
