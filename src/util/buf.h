/* buf.h: a growable byte buffer with a hard cap.
 *
 * Bytes live in data[off .. off+len). Appends grow the allocation up to `max` total bytes and fail
 * with RDV_ERR_TOO_LARGE beyond it, so a peer can never make us buffer more than the cap.
 * Consuming from the front moves `off` (O(1)); the space is reclaimed on the next growth. */
#ifndef RDV_BUF_H
#define RDV_BUF_H

#include <stddef.h>
#include <stdint.h>

struct rdv_buf {
    uint8_t *data;
    size_t off;  /* start of unread bytes */
    size_t len;  /* unread bytes */
    size_t cap;  /* allocated bytes */
    size_t max;  /* hard cap on len; 0 means SIZE_MAX */
};

void rdv_buf_init(struct rdv_buf *b, size_t max);
void rdv_buf_free(struct rdv_buf *b);
/* Empties the buffer, keeping the allocation. */
void rdv_buf_reset(struct rdv_buf *b);
/* Makes room for `extra` more bytes; RDV_ERR_TOO_LARGE past max, RDV_ERR_NOMEM. */
int rdv_buf_reserve(struct rdv_buf *b, size_t extra);
int rdv_buf_append(struct rdv_buf *b, const void *p, size_t n);
int rdv_buf_append_byte(struct rdv_buf *b, uint8_t c);
/* Appends a multiformats unsigned varint. */
int rdv_buf_append_uvarint(struct rdv_buf *b, uint64_t v);
/* Drops n bytes from the front (n <= len). */
void rdv_buf_consume(struct rdv_buf *b, size_t n);
/* Pointer to the first unread byte, and to the first free byte after reserve(). */
static inline uint8_t *rdv_buf_head(const struct rdv_buf *b) { return b->data + b->off; }
static inline uint8_t *rdv_buf_tail(const struct rdv_buf *b) { return b->data + b->off + b->len; }
/* Marks n bytes written at rdv_buf_tail() after a reserve(). */
static inline void rdv_buf_commit(struct rdv_buf *b, size_t n) { b->len += n; }

#endif
