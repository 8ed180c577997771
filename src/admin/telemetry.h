/* telemetry.h: the metrics rendezvousd exports (all named rendezvous_*), created in one place
 * on a registry that main() owns.
 *
 * Pushed as things happen: request durations (rendezvous/server.c), store operation durations and
 * store_up (store/timed.c), expired_total (the expiry sweep). Pulled just before a scrape, from
 * counts other modules keep anyway: requests_total and malformed requests from the rendezvous
 * server's counters, connections and handshakes from the host, registrations and namespaces from
 * the store's stats. */
#ifndef RDV_ADMIN_TELEMETRY_H
#define RDV_ADMIN_TELEMETRY_H

#include "p2p/host.h"
#include "rendezvous/server.h"
#include "store/store.h"
#include "util/metrics.h"

struct rdv_telemetry {
    struct rdv_metrics *reg;
    struct rdv_metric *requests[2][8];           /* [register|discover][rdv_rendezvous_status_index] */
    struct rdv_metric *malformed;                /* undecodable/oversize requests (stream reset) */
    struct rdv_metric *request_seconds[2];       /* histogram: register, discover */
    struct rdv_metric *registrations, *namespaces, *connections;
    struct rdv_metric *handshakes_ok, *handshakes_failed;
    struct rdv_metric_family *store_seconds;     /* histogram {op}, fed by store/timed.c */
    struct rdv_metric *store_up;
    struct rdv_metric *expired;
    double started;                              /* rdv_metrics_now() at init, for uptime */
    int64_t started_unix_ms;
};

/* Creates the registry and every family; series exist from the start at zero, so dashboards
 * see each one before its first event. Returns RDV_OK or RDV_ERR_NOMEM. */
int rdv_telemetry_init(struct rdv_telemetry *t, const char *version);
void rdv_telemetry_free(struct rdv_telemetry *t);

/* Copies counts kept elsewhere into the registry; either source may be NULL. */
void rdv_telemetry_pull(struct rdv_telemetry *t, const struct rdv_host_stats *host,
                        const struct rdv_rendezvous_counters *rz);
void rdv_telemetry_store_stats(struct rdv_telemetry *t, const struct rdv_store_stats *s);
double rdv_telemetry_uptime(const struct rdv_telemetry *t);

#endif
