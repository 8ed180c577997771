/* host_fixture.h: a real libp2p host for the connection-layer tests (test_host_close,
 * test_host_lifetime): a fresh ed25519 identity, identify and ping registered, and optionally a
 * listener on 127.0.0.1 at a free port. */
#ifndef RDV_TEST_HOST_FIXTURE_H
#define RDV_TEST_HOST_FIXTURE_H

#include <ev.h>
#include <stdbool.h>

#include "p2p/host.h"

/* lim and log may be NULL (defaults; quiet). NULL on failure. */
struct rdv_host *rdv_test_host(struct ev_loop *loop, const struct rdv_host_limits *lim, const struct rdv_log *log,
                               bool listen);

#endif
