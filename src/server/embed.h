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
/* After start: the host (for the admin API) and the store the point serves. */
struct rdv_host *rdv_server_host(const struct rendezvous_server *s);
struct rdv_store *rdv_server_store(const struct rendezvous_server *s);
/* The settings of dialect id as served (NULL when not enabled), for logs. */
const struct rdv_service_config *rdv_server_dialect(const struct rendezvous_server *s, unsigned id);

#endif
