/* embed.h: what rendezvousd (and tests) reach behind the public face of rendezvous/point.h:
 * the internal store and host of a point, and hooks for the daemon's telemetry. Not installed. */
#ifndef RDV_SERVER_EMBED_H
#define RDV_SERVER_EMBED_H

#include "p2p/host.h"
#include "rendezvous/point.h"
#include "rendezvous/service.h"
#include "store/store.h"

/* The public handle of an internal store, which it owns (NULL on allocation failure: s is closed). */
struct rendezvous_store *rdv_store_handle_wrap(struct rdv_store *s);
/* The internal store behind a handle (still owned by the handle). */
struct rdv_store *rdv_store_handle_inner(const struct rendezvous_store *h);
/* Frees the handle alone and hands its store to the caller, who closes it with rdv_store_close. */
struct rdv_store *rdv_store_handle_release(struct rendezvous_store *h);

struct rdv_rendezvous_observer;
/* Extra observers of a point: requests (as server.h's observer, after the point's own counting)
 * and every expiry sweep's count. Before start. */
void rdv_server_observe(struct rendezvous_server *s, const struct rdv_rendezvous_observer *o,
                        void (*expired)(void *ctx, uint64_t n), void *ctx);
/* rendezvousd's own parts, before start: its key (copied; the point then neither makes nor saves
 * one), its log (kept, not copied: the daemon changes its level and file on SIGHUP), the host's
 * limits with the largest request (max_message), and a dialect served with a complete service
 * configuration (budget, record opener: cfg->dialect says which; copied). With an expired hook
 * set by rdv_server_observe, the point leaves the registration count to its observer and does
 * not ask the store for stats after each sweep. */
int rdv_server_use_key(struct rendezvous_server *s, const struct rdv_privkey *key);
void rdv_server_use_log(struct rendezvous_server *s, const struct rdv_log *log);
void rdv_server_set_host_limits(struct rendezvous_server *s, const struct rdv_host_limits *lim, size_t max_message);
/* On a running point, the limits its host can change live (rdv_host_reload_limits); before start, all. */
void rdv_server_reload_host_limits(struct rendezvous_server *s, const struct rdv_host_limits *lim);
/* The host limits the point will start with (rendezvous_server_set_option changes them). */
const struct rdv_host_limits *rdv_server_host_limits(const struct rendezvous_server *s);
int rdv_server_enable_config(struct rendezvous_server *s, const struct rdv_service_config *cfg);
/* While running: the settings a dialect is served with, to change in place on reload (NULL when
 * the dialect is not served or the point has not started); the expiry sweep's period. */
struct rdv_service_config *rdv_server_dialect_live(struct rendezvous_server *s, unsigned id);
void rdv_server_set_expire_interval(struct rendezvous_server *s, double seconds);
/* After start: the host (for the admin API) and the store the point serves. */
struct rdv_host *rdv_server_host(const struct rendezvous_server *s);
struct rdv_store *rdv_server_store(const struct rendezvous_server *s);
/* The settings of dialect id as served (NULL when not enabled), for logs. */
const struct rdv_service_config *rdv_server_dialect(const struct rendezvous_server *s, unsigned id);

#endif
