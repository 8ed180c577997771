/* multistream.h: multistream-select 1.0 negotiation as a pure state machine (no I/O, no heap).
 *
 * Every message is uvarint(len) || text || '\n', len counting the newline, at most RDV_MSS_MAX_MSG.
 * The dialer sends "/multistream/1.0.0\n" and its proposal in one write ("lazy"); the listener
 * answers with its own header and either echoes the proposal (done) or says "na\n" and waits for
 * the next one. The machine reads exactly up to the end of the deciding message, so the bytes after
 * it (e.g. a lazy dialer's first application data) are left to the caller: see `consumed`.
 *
 * Protocol strings are borrowed, not copied: they must outlive the struct. */
#ifndef RDV_MULTISTREAM_H
#define RDV_MULTISTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define RDV_MSS_PROTOCOL_ID "/multistream/1.0.0"
#define RDV_MSS_MAX_MSG 1024      /* bytes per message including '\n'; checked before buffering */
#define RDV_MSS_MAX_ATTEMPTS 16   /* proposals a listener answers with "na" before giving up */

enum rdv_mss_role { RDV_MSS_DIALER, RDV_MSS_LISTENER };

enum rdv_mss_state {
    RDV_MSS_WAIT_HEADER,   /* both roles: expecting the peer's "/multistream/1.0.0" */
    RDV_MSS_WAIT_PROPOSAL, /* listener: expecting a protocol id (or "ls") */
    RDV_MSS_WAIT_ECHO,     /* dialer: expecting the echo of our proposal or "na" */
    RDV_MSS_DONE,          /* negotiated: rdv_mss_protocol() tells which */
    RDV_MSS_FAILED,        /* terminal; rdv_mss_recv keeps returning the error */
};

struct rdv_mss {
    enum rdv_mss_role role;
    enum rdv_mss_state state;
    int err;                          /* the error that moved us to FAILED */
    const char *const *protocols;     /* listener: supported ids */
    size_t nprotocols;
    const char *proposal;             /* dialer: the id we proposed */
    const char *selected;             /* the negotiated id once DONE */
    unsigned attempts;                /* listener: "na" answers so far */
    size_t msg_len;                   /* bytes of the current message held in msg */
    size_t msg_need;                  /* its total size once the prefix is known, else 0 */
    uint8_t msg[2 + RDV_MSS_MAX_MSG]; /* varint prefix (<= 2 bytes for <= 1024) + body */
};

/* Listener supporting `protocols[0..n)`. Sends nothing until the dialer's header arrives. */
void rdv_mss_listener_init(struct rdv_mss *m, const char *const *protocols, size_t n);
/* Dialer proposing `proto`; appends header + proposal to `out`. RDV_ERR_INVALID for an empty id or
 * one holding '\n', RDV_ERR_TOO_LARGE if its message exceeds RDV_MSS_MAX_MSG, or out's errors. */
int rdv_mss_dialer_init(struct rdv_mss *m, const char *proto, struct rdv_buf *out);
/* Feeds peer bytes; sets *consumed to the bytes taken from `in` (never past the deciding message)
 * and appends our answers to `out`. Returns RDV_OK (call again with more bytes until rdv_mss_done),
 * or: RDV_ERR_PROTOCOL (not multistream, missing '\n', unexpected answer), RDV_ERR_TOO_LARGE
 * (message over the limit), RDV_ERR_NOT_FOUND (dialer got "na"), RDV_ERR_LIMIT (listener: more
 * than RDV_MSS_MAX_ATTEMPTS proposals), or out's errors. Errors are sticky. */
int rdv_mss_recv(struct rdv_mss *m, const uint8_t *in, size_t len, size_t *consumed, struct rdv_buf *out);
static inline bool rdv_mss_done(const struct rdv_mss *m) { return m->state == RDV_MSS_DONE; }
/* The negotiated protocol id, or NULL before DONE. */
const char *rdv_mss_protocol(const struct rdv_mss *m);
/* Appends one multistream message (uvarint(len) || text || '\n') to out. */
int rdv_mss_write_msg(struct rdv_buf *out, const char *text);

#endif
