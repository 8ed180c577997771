/* telemetry.c: see telemetry.h. Bucket bounds: a memory-store request takes microseconds and a
 * PostgreSQL one a few milliseconds on a LAN, so the buckets run from 50 us to 5 s in roughly
 * 1-2.5-5 steps; store operations use the same bounds so the two line up on one dashboard. */
#include "admin/telemetry.h"

#include <string.h>
#include <time.h>

#include "rendezvous/service.h"
#include "util/err.h"

static const double latency_buckets[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                         0.01,    0.025,  0.05,    0.1,    0.25,  0.5,    1, 2.5, 5};
#define NBUCKETS (sizeof(latency_buckets) / sizeof(latency_buckets[0]))

static struct rdv_metric *one(struct rdv_metrics *m, enum rdv_metric_type type, const char *name, const char *help)
{
    return rdv_metric_get(rdv_metrics_add(m, type, name, help, NULL, 0, NULL, 0), NULL);
}

/* requests_total: every (protocol, type, status) triple a dialect can produce, statuses named as
 * in the protocol, so dashboards see each series from the start. */
static int add_requests(struct rdv_telemetry *t)
{
    static const char *const labels[] = {"protocol", "type", "status"};
    struct rdv_metric_family *f = rdv_metrics_add(t->reg, RDV_METRIC_COUNTER, "rendezvous_requests_total",
                                                  "Rendezvous requests answered, by protocol, type and status.",
                                                  labels, 3, NULL, 0);
    for (unsigned d = 0; d < RDV_DIALECT_COUNT; d++) {
        const struct rdv_dialect *dl = rdv_dialect_get(d);
        for (int ty = 0; ty < RDV_REQ_TYPE_COUNT; ty++) {
            if (ty == RDV_REQ_UNREGISTER && !dl->unregister)
                continue;
            for (int i = 0; i <= RDV_STATUS_COUNT; i++) {
                const char *status = i < RDV_STATUS_COUNT ? rdv_status_name(rdv_status_at(i)) : "OTHER";
                if (i < RDV_STATUS_COUNT && rdv_status_at(i) == RDV_STATUS_E_INVALID_COOKIE && !dl->cookies)
                    continue;
                const char *v[] = {dl->protocol, rdv_req_type_name((enum rdv_req_type)ty), status};
                if (!(t->requests[d][ty][i] = rdv_metric_get(f, v)))
                    return RDV_ERR_NOMEM;
            }
        }
    }
    return RDV_OK;
}

static int add_durations(struct rdv_telemetry *t)
{
    static const char *const type_label[] = {"type"}, *const op_label[] = {"op"};
    struct rdv_metric_family *f = rdv_metrics_add(
        t->reg, RDV_METRIC_HISTOGRAM, "rendezvous_request_duration_seconds",
        "Time from a complete rendezvous request to its response, by type.", type_label, 1, latency_buckets, NBUCKETS);
    for (int ty = 0; ty < RDV_REQ_TYPE_COUNT; ty++)
        if (!(t->request_seconds[ty] = rdv_metric_get(f, (const char *const[]){rdv_req_type_name((enum rdv_req_type)ty)})))
            return RDV_ERR_NOMEM;
    t->store_seconds = rdv_metrics_add(t->reg, RDV_METRIC_HISTOGRAM, "rendezvous_store_operation_duration_seconds",
                                       "Time from a store call to its answer, by operation.", op_label, 1,
                                       latency_buckets, NBUCKETS);
    return t->store_seconds ? RDV_OK : RDV_ERR_NOMEM;
}

/* Per-dialect families: malformed requests and live registrations. */
static int add_by_dialect(struct rdv_telemetry *t)
{
    static const char *const labels[] = {"protocol"};
    struct rdv_metric_family *bad = rdv_metrics_add(
        t->reg, RDV_METRIC_COUNTER, "rendezvous_malformed_requests_total",
        "Rendezvous requests that were not a request at all (undecodable or oversize): stream reset.", labels, 1,
        NULL, 0);
    struct rdv_metric_family *regs = rdv_metrics_add(
        t->reg, RDV_METRIC_GAUGE, "rendezvous_registrations_by_protocol",
        "Live registrations by the protocol that made them (at the last scrape).", labels, 1, NULL, 0);
    for (unsigned d = 0; d < RDV_DIALECT_COUNT; d++) {
        const char *v[] = {rdv_dialect_get(d)->protocol};
        t->malformed[d] = rdv_metric_get(bad, v);
        t->registrations_by[d] = rdv_metric_get(regs, v);
        if (!t->malformed[d] || !t->registrations_by[d])
            return RDV_ERR_NOMEM;
    }
    return RDV_OK;
}

static int add_handshakes(struct rdv_telemetry *t)
{
    static const char *const labels[] = {"result"};
    struct rdv_metric_family *f = rdv_metrics_add(t->reg, RDV_METRIC_COUNTER, "rendezvous_handshakes_total",
                                                  "libp2p connection upgrades (Noise + yamux), by result.", labels,
                                                  1, NULL, 0);
    t->handshakes_ok = rdv_metric_get(f, (const char *const[]){"ok"});
    t->handshakes_failed = rdv_metric_get(f, (const char *const[]){"failed"});
    return t->handshakes_ok && t->handshakes_failed ? RDV_OK : RDV_ERR_NOMEM;
}

static int add_build_info(struct rdv_telemetry *t, const char *version)
{
    static const char *const labels[] = {"version"};
    struct rdv_metric_family *f = rdv_metrics_add(t->reg, RDV_METRIC_GAUGE, "rendezvous_build_info",
                                                  "Always 1; the labels say which build is running.", labels, 1,
                                                  NULL, 0);
    struct rdv_metric *s = rdv_metric_get(f, (const char *const[]){version});
    rdv_metric_set(s, 1);
    return s ? RDV_OK : RDV_ERR_NOMEM;
}

static int add_gauges(struct rdv_telemetry *t)
{
    struct rdv_metrics *m = t->reg;
    t->registrations = one(m, RDV_METRIC_GAUGE, "rendezvous_registrations", "Live registrations in the store.");
    t->namespaces = one(m, RDV_METRIC_GAUGE, "rendezvous_namespaces",
                        "Namespaces with at least one live registration.");
    t->connections = one(m, RDV_METRIC_GAUGE, "rendezvous_connections", "Open libp2p connections.");
    t->store_up = one(m, RDV_METRIC_GAUGE, "rendezvous_store_up", "1 when the store answered its last call, else 0.");
    t->expired = one(m, RDV_METRIC_COUNTER, "rendezvous_expired_total",
                     "Registrations dropped by the expiry sweep.");
    static const char *const vc_label[] = {"result"}, *const vc_results[] = {"hit", "miss", "eviction"};
    struct rdv_metric_family *vc = rdv_metrics_add(m, RDV_METRIC_COUNTER, "rendezvous_verify_cache_total",
        "Verified-envelope cache lookups by result (hit: signature check skipped) and evictions.",
        vc_label, 1, NULL, 0);
    for (int i = 0; i < 3; i++)
        t->vcache[i] = rdv_metric_get(vc, &vc_results[i]);
    t->vcache[3] = one(m, RDV_METRIC_GAUGE, "rendezvous_verify_cache_entries", "Envelopes in the verify cache.");
    t->vcache[4] = one(m, RDV_METRIC_GAUGE, "rendezvous_verify_cache_bytes", "Memory the verify cache holds.");
    return t->registrations && t->namespaces && t->connections && t->store_up && t->expired && t->vcache[0] &&
               t->vcache[1] && t->vcache[2] && t->vcache[3] && t->vcache[4]
               ? RDV_OK
               : RDV_ERR_NOMEM;
}

int rdv_telemetry_init(struct rdv_telemetry *t, const char *version)
{
    memset(t, 0, sizeof(*t));
    if (!(t->reg = rdv_metrics_new()))
        return RDV_ERR_NOMEM;
    int err = add_requests(t);
    if (!err)
        err = add_durations(t);
    if (!err)
        err = add_gauges(t);
    if (!err)
        err = add_by_dialect(t);
    if (!err)
        err = add_handshakes(t);
    if (!err)
        err = add_build_info(t, version);
    if (err) {
        rdv_telemetry_free(t);
        return err;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    t->started_unix_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    t->started = rdv_metrics_now();
    return RDV_OK;
}

void rdv_telemetry_free(struct rdv_telemetry *t)
{
    rdv_metrics_free(t->reg);
    memset(t, 0, sizeof(*t));
}

void rdv_telemetry_pull(struct rdv_telemetry *t, const struct rdv_host_stats *host)
{
    if (host) {
        rdv_metric_set(t->connections, (double)host->connections);
        rdv_metric_set(t->handshakes_ok, (double)host->handshakes_ok);
        rdv_metric_set(t->handshakes_failed, (double)host->handshakes_failed);
    }
    if (t->record_cache) {
        struct rdv_record_cache_stats s;
        rdv_record_cache_stats(t->record_cache, &s);
        const double v[5] = {(double)s.hits, (double)s.misses, (double)s.evictions, (double)s.entries, (double)s.bytes};
        for (int i = 0; i < 5; i++)
            rdv_metric_set(t->vcache[i], v[i]);
    }
}

static void on_request(void *ctx, const struct rdv_dialect *d, enum rdv_req_type type, enum rdv_status st,
                       double seconds)
{
    struct rdv_telemetry *t = ctx;
    if (!d || d->id >= RDV_DIALECT_COUNT || type >= RDV_REQ_TYPE_COUNT)
        return;
    int i = rdv_status_index(st);
    rdv_metric_add(t->requests[d->id][type][i < 0 ? RDV_STATUS_COUNT : i], 1);
    rdv_metric_observe(t->request_seconds[type], seconds);
}

static void on_malformed(void *ctx, const struct rdv_dialect *d)
{
    struct rdv_telemetry *t = ctx;
    if (d && d->id < RDV_DIALECT_COUNT)
        rdv_metric_add(t->malformed[d->id], 1);
}

struct rdv_rendezvous_observer rdv_telemetry_observer(struct rdv_telemetry *t)
{
    return (struct rdv_rendezvous_observer){.request = on_request, .malformed = on_malformed, .ctx = t};
}

void rdv_telemetry_store_stats(struct rdv_telemetry *t, const struct rdv_store_stats *s)
{
    rdv_metric_set(t->registrations, (double)s->registrations);
    rdv_metric_set(t->namespaces, (double)s->namespaces);
    for (int d = 0; d < RDV_DIALECT_COUNT && d < RDV_STORE_DIALECTS; d++)
        rdv_metric_set(t->registrations_by[d], (double)s->by_dialect[d]);
}

double rdv_telemetry_uptime(const struct rdv_telemetry *t)
{
    return rdv_metrics_now() - t->started;
}
