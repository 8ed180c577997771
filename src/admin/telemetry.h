/* telemetry.h: the metrics rendezvousd exports (all named rendezvous_*), created in one place
 * on a registry that main() owns.
 *
 * Pushed as things happen: requests by (dialect, type, status) and their durations, malformed
 * requests (rendezvous/server.c, through rdv_telemetry_observer), store operation durations and
 * store_up (store/timed.c), expired_total (the expiry sweep). Pulled just before a scrape, from
 * counts other modules keep anyway: connections and handshakes from the host, registrations and
 * namespaces (also by dialect) from the store's stats, rejected connections and accept errors
 * from the host, and the standard process_* series (CPU, memory, descriptors) from /proc. */
#ifndef RDV_ADMIN_TELEMETRY_H
#define RDV_ADMIN_TELEMETRY_H

#include "p2p/host.h"
#include "p2p/record_cache.h"
#include "rendezvous/server.h"
#include "store/store.h"
#include "util/metrics.h"

struct rdv_telemetry {
    struct rdv_metrics *reg;
    /* [dialect][request type][rdv_status_index, or RDV_STATUS_COUNT for another value] */
    struct rdv_metric *requests[RDV_DIALECT_COUNT][RDV_REQ_TYPE_COUNT][RDV_STATUS_COUNT + 1];
    struct rdv_metric *malformed[RDV_DIALECT_COUNT]; /* undecodable/oversize requests (stream reset) */
    struct rdv_metric *request_seconds[RDV_REQ_TYPE_COUNT]; /* histogram by request type */
    struct rdv_metric *registrations, *namespaces, *connections;
    struct rdv_metric *registrations_by[RDV_DIALECT_COUNT]; /* live registrations by dialect */
    struct rdv_metric *handshakes_ok, *handshakes_failed;
    struct rdv_metric_family *store_seconds;     /* histogram {op}, fed by store/timed.c */
    struct rdv_metric *store_up;
    struct rdv_metric *expired;
    struct rdv_metric *vcache[5]; /* verified-envelope cache: hits, misses, evictions, entries, bytes */
    const struct rdv_record_cache *record_cache; /* set by main() after init; NULL: none */
    struct rdv_metric_family *store_errors;      /* counter {op}, fed by store/timed.c */
    struct rdv_metric *discover_records;         /* histogram: records per DISCOVER answer (store/timed.c) */
    struct rdv_metric *store_in_flight, *store_pool_size;
    struct rdv_metric *store_pool_ready, *store_pool_busy, *reaper; /* from the store's stats */
    struct rdv_metric *store_admin_ready, *store_transactions, *store_batched_ops; /* pg: admin pool, batches */
    struct rdv_metric *rejected_max, *rejected_shutdown, *rejected_fds, *accept_errors; /* from the host */
    struct rdv_metric *ended_protocol_error, *ended_peer_goaway; /* from the host: how connections ended */
    /* lifetime and per-source limits (p2p/lifetime.c), from the host */
    struct rdv_metric *rejected_addr_conns, *rejected_addr_rate, *rejected_addr_full, *rejected_handshakes;
    struct rdv_metric *evicted_handshaking, *evicted_heaviest, *handshakes_aborted, *handshaking, *sources;
    struct rdv_metric *timeouts[5]; /* handshake, stream_negotiation, stream_idle, idle, output_stall */
    /* the output budget (p2p/output.c), from the host; answers truncated or dropped, pushed */
    struct rdv_metric *output_queued, *output_waits, *output_refused;
    struct rdv_metric *answer_problems[RDV_DIALECT_COUNT][RDV_ANSWER_PROBLEM_COUNT];
    struct rdv_metric *requests_rate_limited;
    /* admin HTTP connections ended by guard.c: past the deadline, evicted for room, refused per address */
    struct rdv_metric *admin_cut_deadline, *admin_cut_evicted, *admin_refused_per_ip;
    struct rdv_metric *budget_used[3], *budget_limit[3]; /* registrations, namespaces, bytes */
    struct rdv_metric *cpu, *rss, *vsize, *open_fds, *max_fds, *start_time; /* process_* (Prometheus names) */
    double started;                              /* rdv_metrics_now() at init, for uptime */
    int64_t started_unix_ms;
};

/* Creates the registry and every family; series exist from the start at zero, so dashboards
 * see each one before its first event. Returns RDV_OK or RDV_ERR_NOMEM. */
int rdv_telemetry_init(struct rdv_telemetry *t, const char *version);
void rdv_telemetry_free(struct rdv_telemetry *t);

/* The observer the rendezvous server pushes its requests to. */
struct rdv_rendezvous_observer rdv_telemetry_observer(struct rdv_telemetry *t);
/* Copies counts kept elsewhere into the registry; host may be NULL. */
void rdv_telemetry_pull(struct rdv_telemetry *t, const struct rdv_host_stats *host);
void rdv_telemetry_store_stats(struct rdv_telemetry *t, const struct rdv_store_stats *s);
/* The global budgets against the store's usage (b NULL, or a store that keeps no budget: limit 0). */
void rdv_telemetry_budget(struct rdv_telemetry *t, const struct rdv_store_budget *b, const struct rdv_store_stats *s);
double rdv_telemetry_uptime(const struct rdv_telemetry *t);

#endif
