/* host_fixture.h: a real libp2p host for the connection-layer tests (test_host_close,
 * test_host_lifetime): a fresh ed25519 identity, identify and ping registered, and optionally a
 * listener on 127.0.0.1 at a free port; and a loop runner that waits for a counter. */
#ifndef RDV_TEST_HOST_FIXTURE_H
#define RDV_TEST_HOST_FIXTURE_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "p2p/host.h"

/* lim and log may be NULL (defaults; quiet). NULL on failure. */
struct rdv_host *rdv_test_host(struct ev_loop *loop, const struct rdv_host_limits *lim, const struct rdv_log *log,
                               bool listen);

/* Runs the loop (at most 5000 turns) while *counter still equals value: waits for a host counter
 * to move. */
void rdv_test_turn_while(struct ev_loop *loop, const uint64_t *counter, uint64_t value);

#endif
