/* yamux.h: the yamux stream multiplexer (/yamux/1.0.0, libp2p specs yamux/README.md) as a pure
 * state machine: peer bytes go in through rdv_yamux_recv, frames to send accumulate in the
 * session's output buffer (rdv_yamux_output), and stream events come out through callbacks.
 *
 * Frame: version(0) type flags(u16be) stream_id(u32be) length(u32be), then `length` payload bytes
 * for data frames. The client (dialer) opens odd ids, the server even ones; id 0 is the session.
 *
 * Wire choices, matching go-yamux and js @chainsafe/libp2p-yamux:
 * - open = window update with SYN (delta = our window - 256 KiB); an inbound SYN is answered at
 *   once with a window update carrying ACK (or RST when refused or over max_streams);
 * - close = window update with FIN once queued data has gone; reset = window update with RST;
 * - frames for unknown streams are ignored (their data discarded), as go-yamux does;
 * - receive window: 256 KiB (or limits.window); a window update goes out once half of it has
 *   been consumed. By default data counts as consumed when on_stream_data returns; with
 *   limits.manual_consume the application calls rdv_yamux_stream_consumed() instead, which lets
 *   it apply backpressure to the peer.
 * - peer violations (bad version/type, a data frame over the window or max_frame, a SYN of our
 *   parity or for a live id, ping/go away off stream 0, data on stream 0) send GoAway(protocol
 *   error) and fail the session: every later call returns the same error.
 *
 * Callbacks may call any stream function and rdv_yamux_free; a stream's memory is only released
 * when the outermost session call returns, so a stream pointer stays valid (operations on it
 * return RDV_ERR_CLOSED) until then. on_stream_closed is each stream's last callback, fired exactly
 * once for every stream opened locally or accepted by on_stream_open (also from rdv_yamux_free). */
#ifndef RDV_YAMUX_H
#define RDV_YAMUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define RDV_YAMUX_PROTOCOL_ID "/yamux/1.0.0"
#define RDV_YAMUX_HEADER_LEN 12
#define RDV_YAMUX_INITIAL_WINDOW (256u * 1024u)

enum rdv_yamux_type { RDV_YAMUX_DATA = 0, RDV_YAMUX_WINDOW_UPDATE = 1, RDV_YAMUX_PING = 2, RDV_YAMUX_GO_AWAY = 3 };
enum rdv_yamux_flag { RDV_YAMUX_SYN = 1, RDV_YAMUX_ACK = 2, RDV_YAMUX_FIN = 4, RDV_YAMUX_RST = 8 };
enum rdv_yamux_goaway { RDV_YAMUX_GOAWAY_NORMAL = 0, RDV_YAMUX_GOAWAY_PROTOCOL = 1, RDV_YAMUX_GOAWAY_INTERNAL = 2 };
enum rdv_yamux_role { RDV_YAMUX_CLIENT, RDV_YAMUX_SERVER };

struct rdv_yamux;
struct rdv_yamux_stream;

/* Zero fields take the defaults in brackets. */
struct rdv_yamux_limits {
    uint32_t max_streams;    /* live streams, both directions; extra SYNs get RST [256] */
    uint32_t window;         /* our receive window per stream, >= 256 KiB [256 KiB] */
    uint32_t max_frame;      /* largest data frame accepted and sent; raised to `window` if lower,
                                since a peer may legally fill the whole window in one frame [window] */
    size_t max_stream_queue; /* bytes a stream holds beyond the peer's window [4 MiB + 64 KiB: one
                                message of the largest size libp2p stacks read, with its framing] */
    size_t out_soft;         /* data frames stop entering the output past this; see rdv_yamux_flush [256 KiB] */
    size_t max_out;          /* hard cap of the output buffer: past it the session fails with
                                RDV_ERR_NOMEM (the peer makes us answer but does not read) [16 MiB] */
    bool manual_consume;     /* see rdv_yamux_stream_consumed */
};

/* All callbacks are optional (NULL) and get the `user` given to rdv_yamux_new. */
struct rdv_yamux_callbacks {
    /* Inbound SYN. Return non-zero to refuse (RST is sent, no further callback for it). */
    int (*on_stream_open)(void *user, struct rdv_yamux_stream *st);
    void (*on_stream_data)(void *user, struct rdv_yamux_stream *st, const uint8_t *p, size_t n);
    void (*on_stream_fin)(void *user, struct rdv_yamux_stream *st);     /* remote half-closed */
    void (*on_stream_reset)(void *user, struct rdv_yamux_stream *st);   /* remote reset (or broke the stream) */
    void (*on_stream_writable)(void *user, struct rdv_yamux_stream *st); /* queue drained to empty */
    void (*on_stream_closed)(void *user, struct rdv_yamux_stream *st);  /* last call: free user state */
    void (*on_goaway)(void *user, uint32_t code);
    void (*on_pong)(void *user, uint32_t opaque);                       /* ACK for our rdv_yamux_ping */
};

/* NULL on allocation failure. `limits` may be NULL (all defaults). */
struct rdv_yamux *rdv_yamux_new(enum rdv_yamux_role role, const struct rdv_yamux_limits *limits,
                                const struct rdv_yamux_callbacks *cb, void *user);
/* Fires on_stream_closed for each live stream, then frees. Safe inside a callback (deferred). */
void rdv_yamux_free(struct rdv_yamux *s);
/* Frames to send; the caller drains it (rdv_buf_consume) and then calls rdv_yamux_flush. */
struct rdv_buf *rdv_yamux_output(struct rdv_yamux *s);
/* Consumes all of in[0..len) (partial frames are kept, at most 11 header bytes; payloads are
 * delivered as they arrive). *consumed = len on success. Fatal errors: RDV_ERR_PROTOCOL,
 * RDV_ERR_NOMEM, RDV_ERR_CLOSED (session freed inside a callback). */
int rdv_yamux_recv(struct rdv_yamux *s, const uint8_t *in, size_t len, size_t *consumed);
/* Moves queued stream data into the output while windows and out_soft allow. */
int rdv_yamux_flush(struct rdv_yamux *s);
/* Sends SYN. RDV_ERR_LIMIT (max_streams or ids exhausted), RDV_ERR_CLOSED (go away either way), fatal. */
int rdv_yamux_open_stream(struct rdv_yamux *s, struct rdv_yamux_stream **out);
/* Sends what the window allows, queues the rest. All or nothing: RDV_ERR_LIMIT if the rest does not
 * fit max_stream_queue (wait for on_stream_writable), RDV_ERR_CLOSED after close/reset. */
int rdv_yamux_stream_write(struct rdv_yamux_stream *st, const void *p, size_t n);
/* Half-close: FIN follows the queued data. */
int rdv_yamux_stream_close(struct rdv_yamux_stream *st);
/* Sends RST, drops queued data, fires on_stream_closed. */
int rdv_yamux_stream_reset(struct rdv_yamux_stream *st);
/* manual_consume only: the application is done with n delivered bytes (RDV_ERR_INVALID if more
 * than were delivered). Without manual_consume it is a no-op. */
int rdv_yamux_stream_consumed(struct rdv_yamux_stream *st, size_t n);
/* Sends Ping SYN with a fresh opaque value (returned in *opaque if non-NULL). */
int rdv_yamux_ping(struct rdv_yamux *s, uint32_t *opaque);
/* Sends GoAway(code); afterwards inbound SYNs are refused and open_stream fails. */
int rdv_yamux_goaway(struct rdv_yamux *s, uint32_t code);
/* The sticky fatal error, or RDV_OK. */
int rdv_yamux_error(const struct rdv_yamux *s);
size_t rdv_yamux_stream_count(const struct rdv_yamux *s);
/* Output held by the session: every stream's queue plus the frames not yet taken (the output
 * budget of the connection counts it). */
size_t rdv_yamux_queued(const struct rdv_yamux *s);

uint32_t rdv_yamux_stream_id(const struct rdv_yamux_stream *st);
struct rdv_yamux *rdv_yamux_stream_session(const struct rdv_yamux_stream *st);
void *rdv_yamux_stream_get_user(const struct rdv_yamux_stream *st);
void rdv_yamux_stream_set_user(struct rdv_yamux_stream *st, void *user);
/* Bytes the peer currently lets us send / bytes waiting in the stream's queue. */
uint32_t rdv_yamux_stream_send_window(const struct rdv_yamux_stream *st);
size_t rdv_yamux_stream_queued(const struct rdv_yamux_stream *st);

/* Encodes a 12-byte frame header. */
void rdv_yamux_header_encode(uint8_t out[RDV_YAMUX_HEADER_LEN], uint8_t type, uint16_t flags,
                             uint32_t stream_id, uint32_t length);

#endif
