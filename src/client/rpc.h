/* rpc.h: one rendezvous request over one new stream: REGISTER or DISCOVER, answer decoded.
 * The building block of the client library and rendezvous-cli. */
#ifndef RDV_CLIENT_RPC_H
#define RDV_CLIENT_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "p2p/host.h"
#include "rendezvous/service.h"

/* One registration in a DISCOVER answer, as the server sent it (not yet verified). */
struct rdv_rpc_registration {
    const char *ns;
    const uint8_t *envelope;
    size_t envelope_len;
    int64_t ttl;
};

/* err != 0: transport failure (no answer). Otherwise status/text are the server's. */
typedef void (*rdv_rpc_register_cb)(void *arg, int err, enum rdv_status status, const char *text, int64_t ttl);
typedef void (*rdv_rpc_discover_cb)(void *arg, int err, enum rdv_status status, const char *text,
                                    const struct rdv_rpc_registration *regs, size_t n);

int rdv_rpc_register(struct rdv_conn *c, const char *ns, const uint8_t *envelope, size_t envelope_len,
                     int64_t ttl, rdv_rpc_register_cb cb, void *arg);
int rdv_rpc_discover(struct rdv_conn *c, const char *ns, int64_t limit, rdv_rpc_discover_cb cb, void *arg);

/* Request encoders, also used by tests and the bench tool: append the bare Message bytes. */
int rdv_rpc_encode_register(struct rdv_buf *out, const char *ns, const uint8_t *envelope, size_t envelope_len, int64_t ttl);
int rdv_rpc_encode_discover(struct rdv_buf *out, const char *ns, int64_t limit);

#endif
