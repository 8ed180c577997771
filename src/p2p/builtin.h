/* builtin.h: the protocols every libp2p host answers: identify (/ipfs/id/1.0.0) and ping
 * (/ipfs/ping/1.0.0), both as server handlers and as client requests. js-libp2p runs identify on
 * every new connection, so a server must answer it. */
#ifndef RDV_BUILTIN_H
#define RDV_BUILTIN_H

#include "p2p/host.h"
#include "p2p/identify.h"

#define RDV_PING_PROTOCOL "/ipfs/ping/1.0.0"
#define RDV_PING_SIZE 32

/* Registers the identify and ping handlers on h. */
int rdv_builtin_register(struct rdv_host *h);

/* Asks the remote for its identify message. cb gets the decoded message (valid during the call),
 * or NULL and an error. The message's public key is checked against the connection's peer. */
typedef void (*rdv_identify_cb)(void *arg, const struct rdv_identify_peer *peer, int err);
int rdv_identify_request(struct rdv_conn *c, rdv_identify_cb cb, void *arg);

/* Sends one 32-byte ping; cb gets the round-trip time in seconds or an error. */
typedef void (*rdv_ping_cb)(void *arg, double rtt, int err);
int rdv_ping_request(struct rdv_conn *c, rdv_ping_cb cb, void *arg);

#endif
