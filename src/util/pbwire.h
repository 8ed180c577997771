/* pbwire.h: the protobuf wire format, read and written by hand, without allocation.
 *
 * Why not protobuf-c here: the rendezvous messages are read on every request and their answers
 * written with up to a thousand records; protobuf-c allocates per message and per submessage and
 * cannot point into the request bytes. This reader walks a buffer field by field and hands out
 * slices of it; the writer appends tags, varints and length-delimited fields to a bounded rdv_buf.
 * Decoding is strict where protobuf is: a varint of more than 10 bytes, a length past the end,
 * a field number 0 or a group (wire types 3/4) is malformed. Unknown fields are the caller's call. */
#ifndef RDV_PBWIRE_H
#define RDV_PBWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

enum rdv_pb_wire { RDV_PB_VARINT = 0, RDV_PB_I64 = 1, RDV_PB_LEN = 2, RDV_PB_I32 = 5 };

struct rdv_pb_field {
    uint32_t num;
    enum rdv_pb_wire wire;
    uint64_t varint;       /* RDV_PB_VARINT (and the raw little-endian value of I64/I32) */
    const uint8_t *data;   /* RDV_PB_LEN: the value, inside the buffer being read */
    size_t len;
};

struct rdv_pb_reader {
    const uint8_t *p;
    size_t n, pos;
};

static inline void rdv_pb_reader_init(struct rdv_pb_reader *r, const uint8_t *p, size_t n)
{
    r->p = p;
    r->n = p ? n : 0;
    r->pos = 0;
}
/* 1 and *f filled; 0 at the end; -1 on malformed bytes (the reader then stays at the end). */
int rdv_pb_next(struct rdv_pb_reader *r, struct rdv_pb_field *f);
/* A protobuf varint at p (at most n bytes): its length, or 0 when malformed. */
size_t rdv_pb_varint(const uint8_t *p, size_t n, uint64_t *v);

/* Writes v as a varint at out (room for 10 bytes); returns its length. */
size_t rdv_pb_encode_varint(uint8_t *out, uint64_t v);
/* Bytes a field takes on the wire: tag + value. */
size_t rdv_pb_size_varint(uint32_t num, uint64_t v);
size_t rdv_pb_size_len(uint32_t num, size_t len);
/* Appends a field; RDV_ERR_TOO_LARGE past the buffer's cap, RDV_ERR_NOMEM. */
int rdv_pb_put_varint(struct rdv_buf *b, uint32_t num, uint64_t v);
int rdv_pb_put_len(struct rdv_buf *b, uint32_t num, const void *p, size_t len);
/* Appends only the tag and length of a length-delimited field; its len bytes follow. */
int rdv_pb_put_len_header(struct rdv_buf *b, uint32_t num, size_t len);

#endif
