/* rpc.h: one rendezvous request over one new stream, in any dialect: REGISTER or DISCOVER with its
 * answer decoded, or UNREGISTER (never answered). The building block of the client library,
 * rendezvous-cli and rendezvous-bench. The messages are the dialect's layout (rendezvous/wire.h). */
#ifndef RDV_CLIENT_RPC_H
#define RDV_CLIENT_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "p2p/host.h"
#include "rendezvous/dialect.h"
#include "rendezvous/service.h"

#define RDV_RPC_TEXT_MAX 256 /* status text kept of an answer (it is only ever shown) */

struct rdv_rpc_request {
    enum rdv_req_type type;
    const char *ns;                /* NULL or "": absent (a DISCOVER of every namespace, where allowed) */
    const uint8_t *envelope;       /* REGISTER: the signed record */
    size_t envelope_len;
    int64_t ttl;                   /* REGISTER: 0 is not sent (the point's default) */
    int64_t limit;                 /* DISCOVER: 0 is not sent (the point's default) */
    const uint8_t *cookie;         /* DISCOVER in a cookie dialect: the previous answer's, or NULL */
    size_t cookie_len;
};

/* One registration in a DISCOVER answer, as the server sent it (not yet verified). The namespace
 * is not NUL-terminated. */
struct rdv_rpc_registration {
    const uint8_t *ns;
    size_t ns_len;
    const uint8_t *envelope;
    size_t envelope_len;
    int64_t ttl;                   /* 0 when absent (or negative on the wire) */
};

/* err != 0: transport failure (no answer); the rest is zero. Otherwise status and text are the
 * server's (an UNREGISTER reports err 0 and status OK once its stream is done). Pointers are valid
 * during the callback only. */
struct rdv_rpc_answer {
    int err;
    enum rdv_status status;
    const char *text;              /* "" if none; truncated to RDV_RPC_TEXT_MAX - 1 bytes */
    int64_t ttl;                   /* REGISTER: the TTL granted (0: none said) */
    const struct rdv_rpc_registration *regs; /* DISCOVER */
    size_t nregs;
    const uint8_t *cookie;         /* DISCOVER in a cookie dialect; NULL if none */
    size_t cookie_len;
};
typedef void (*rdv_rpc_cb)(void *arg, const struct rdv_rpc_answer *a);

/* Opens a stream for d's protocol on c and sends q; cb is called exactly once (unless this
 * returns an error: then never). RDV_ERR_UNSUPPORTED when d has no such message (UNREGISTER in
 * waku0). */
int rdv_rpc_send(struct rdv_conn *c, const struct rdv_dialect *d, const struct rdv_rpc_request *q, rdv_rpc_cb cb,
                 void *arg);

/* The request's bare Message bytes, appended to out (also for tests and the bench tool). */
int rdv_rpc_encode(const struct rdv_dialect *d, const struct rdv_rpc_request *q, struct rdv_buf *out);

#endif
