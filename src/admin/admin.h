/* admin.h: the operator's HTTP endpoint: a JSON API over the store (stats, namespaces,
 * registrations, with stable cursor pagination), Prometheus /metrics, /healthz and /readyz, and
 * the static admin page (admin/, embedded at build time) at "/". docs/admin-api.md documents
 * every endpoint.
 *
 * libmicrohttpd runs in external-event mode on the process's libev loop: its epoll fd is an ev_io
 * and its next timeout an ev_timer, so there are no threads and no locks. Requests that need the
 * store are suspended until the store answers (the postgres store answers later) and resumed
 * then. Everything is GET/HEAD without a body; with a token configured every path but /healthz
 * needs it (Bearer, or HTTP Basic with the token as password, for browsers). */
#ifndef RDV_ADMIN_H
#define RDV_ADMIN_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

#include "admin/telemetry.h"
#include "p2p/host.h"
#include "rendezvous/server.h"
#include "store/store.h"
#include "util/log.h"

#define RDV_ADMIN_MAX_CONNECTIONS 64         /* beyond: the oldest connection not being answered goes */
#define RDV_ADMIN_RESERVE 8                  /* MHD admits this many more, so eviction can make room */
#define RDV_ADMIN_REQUEST_TIMEOUT_S 10       /* absolute: a whole request and its answer (guard.c) */
#define RDV_ADMIN_MAX_PER_IP 8               /* connections from one client address */
#define RDV_ADMIN_HEADERS_MAX 32768          /* request line + headers: more gets our JSON 431 */
/* per connection, for libmicrohttpd: room for RDV_ADMIN_HEADERS_MAX and then some, so that we
 * (not MHD, whose own 431 is HTML) see a request that is too large up to 4x the limit */
#define RDV_ADMIN_CONNECTION_MEMORY (4 * RDV_ADMIN_HEADERS_MAX)
#define RDV_ADMIN_TIMEOUT_S 30               /* idle keep-alive connections are closed after this */
#define RDV_ADMIN_TOKEN_MAX 512              /* bytes in the token file */
#define RDV_ADMIN_DEFAULT_LIMIT 100          /* items per page when ?limit= is absent */
#define RDV_ADMIN_MAX_LIMIT 1000

/* What the API reports on. store and telemetry are required; host may be NULL. */
struct rdv_admin_sources {
    struct rdv_store *store;
    struct rdv_host *host;
    struct rdv_telemetry *telemetry;
    const char *version;
    const bool *draining; /* may be NULL; while *draining (shutting down) /readyz answers 503 */
    const struct rdv_store_budget *budget; /* may be NULL: the limits /api/v1/stats and /metrics show */
};

struct rdv_admin_config {
    const char *listen;        /* "IPV4:PORT", "[IPV6]:PORT" or "PORT" (127.0.0.1); port 0 picks one */
    const char *token;         /* NULL or "": no token needed */
    unsigned max_connections;
    size_t connection_memory;
    unsigned timeout_s;         /* idle keep-alive (MHD's own, per byte) */
    unsigned request_timeout_s; /* absolute per request (0: RDV_ADMIN_REQUEST_TIMEOUT_S) */
    unsigned max_per_ip;        /* 0: RDV_ADMIN_MAX_PER_IP */
};
void rdv_admin_config_defaults(struct rdv_admin_config *c);

struct rdv_admin;

/* Binds and starts serving on loop. The sources must outlive the admin. Returns RDV_OK, or an
 * error with a message in err (bad address, bind failure, libmicrohttpd refusing to start). */
int rdv_admin_start(struct ev_loop *loop, const struct rdv_admin_config *cfg, const struct rdv_admin_sources *src,
                    const struct rdv_log *log, struct rdv_admin **out, char *err, size_t errlen);
/* The bound address, e.g. "127.0.0.1:4041" or "[::1]:4041" (the real port when 0 was asked). */
const char *rdv_admin_address(const struct rdv_admin *a);
/* Closes every connection and the listener. A store call still in flight completes harmlessly
 * later, so stop the admin before closing the store. NULL is fine. */
void rdv_admin_stop(struct rdv_admin *a);

/* Replaces the token (NULL or "": none) for the requests that come next; for SIGHUP. Returns
 * RDV_OK or RDV_ERR_NOMEM (the old token stays). */
int rdv_admin_set_token(struct rdv_admin *a, const char *token);

/* Reads a bearer token file: one line of printable ASCII (trailing whitespace is dropped), at
 * most RDV_ADMIN_TOKEN_MAX bytes. *out is malloc'd. Returns RDV_OK or an error with err set. */
int rdv_admin_load_token(const char *path, char **out, char *err, size_t errlen);

#endif
