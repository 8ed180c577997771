/* fdlimit.h: fits max-connections to the process's descriptor limit (RLIMIT_NOFILE) at start.
 *
 * Each connection costs one descriptor; the store pool, the admin endpoint's connections, the
 * listeners, libev, the log and the spare descriptor of the accept path need more. When the soft
 * limit is too low it is raised toward the hard limit (allowed without privileges); if even that
 * is not enough, the connection cap is lowered so that accept() never meets EMFILE in normal use. */
#ifndef RDV_SERVER_FDLIMIT_H
#define RDV_SERVER_FDLIMIT_H

#include <stdint.h>

#include "util/log.h"

#define RDV_FD_OVERHEAD 64 /* listeners, epoll, stdio, log, identity, spare, libpq/leveldb files */

/* The cap to use for max_connections given `others` descriptors needed besides the connections
 * (pool + admin); logs what it raised or lowered. */
uint32_t rdv_fdlimit_fit(uint32_t max_connections, uint32_t others, const struct rdv_log *log);

#endif
