/* telemetry.c: see telemetry.h. Bucket bounds: a memory-store request takes microseconds and a
 * PostgreSQL one a few milliseconds on a LAN, so the buckets run from 50 us to 5 s in roughly
 * 1-2.5-5 steps; store operations use the same bounds so the two line up on one dashboard. */
#include "admin/telemetry.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

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

/* A DISCOVER returns 0..limit records (at most 1000 by default): buckets by powers of ~2.5. */
static const double record_buckets[] = {0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};

static int add_store_extras(struct rdv_telemetry *t)
{
    static const char *const op_label[] = {"op"};
    struct rdv_metrics *m = t->reg;
    t->store_errors = rdv_metrics_add(m, RDV_METRIC_COUNTER, "rendezvous_store_errors_total",
                                      "Store calls answered with an error or unavailable, by operation.", op_label, 1,
                                      NULL, 0);
    t->discover_records = rdv_metric_get(
        rdv_metrics_add(m, RDV_METRIC_HISTOGRAM, "rendezvous_discover_records",
                        "Records the store returned per discover (DISCOVER requests).", NULL, 0, record_buckets,
                        sizeof(record_buckets) / sizeof(record_buckets[0])),
        NULL);
    t->store_in_flight = one(m, RDV_METRIC_GAUGE, "rendezvous_store_operations_in_flight",
                             "Store calls waiting for an answer (on PostgreSQL: queued or on a pool connection).");
    t->store_pool_size = one(m, RDV_METRIC_GAUGE, "rendezvous_store_pool_size",
                             "Database connections the store may open (store-pool; 0 for memory and leveldb).");
    t->store_pool_ready = one(m, RDV_METRIC_GAUGE, "rendezvous_store_pool_ready",
                              "Database connections ready to take operations (PostgreSQL; at the last scrape).");
    t->store_pool_busy = one(m, RDV_METRIC_GAUGE, "rendezvous_store_pool_busy",
                             "Ready database connections with operations in flight (PostgreSQL; at the last scrape).");
    t->reaper = one(m, RDV_METRIC_GAUGE, "rendezvous_reaper",
                    "1 when this front-end removes expired registrations (PostgreSQL: it holds the reaper lease).");
    /* pg: the admin queries' pool and group commit */
    t->store_admin_ready = one(m, RDV_METRIC_GAUGE, "rendezvous_store_admin_pool_ready",
                               "Admin pool connections ready (PostgreSQL, store-admin-pool; at the last scrape).");
    t->store_transactions = one(m, RDV_METRIC_COUNTER, "rendezvous_store_transactions_total",
                                "Request-path transactions sent to PostgreSQL (store-batch groups several per commit).");
    t->store_batched_ops = one(m, RDV_METRIC_COUNTER, "rendezvous_store_transaction_operations_total",
                               "Store operations those transactions carried (divided by transactions: the mean batch).");
    return t->store_errors && t->discover_records && t->store_in_flight && t->store_pool_size &&
                   t->store_pool_ready && t->store_pool_busy && t->reaper && t->store_admin_ready &&
                   t->store_transactions && t->store_batched_ops
               ? RDV_OK
               : RDV_ERR_NOMEM;
}

static int add_host_extras(struct rdv_telemetry *t)
{
    static const char *const labels[] = {"reason"};
    struct rdv_metric_family *f = rdv_metrics_add(
        t->reg, RDV_METRIC_COUNTER, "rendezvous_connections_rejected_total",
        "Inbound connections closed at once, by reason (max_connections, shutting_down, no_fds, per_address_connections, "
        "per_address_rate, address_table_full, max_handshakes).", labels, 1, NULL, 0);
    t->rejected_max = rdv_metric_get(f, (const char *const[]){"max_connections"});
    t->rejected_shutdown = rdv_metric_get(f, (const char *const[]){"shutting_down"});
    t->rejected_fds = rdv_metric_get(f, (const char *const[]){"no_fds"});
    t->accept_errors = one(t->reg, RDV_METRIC_COUNTER, "rendezvous_accept_errors_total",
                           "accept() failures other than try-again (EMFILE, ENFILE, ENOBUFS, ...).");
    /* lifetime and per-source limits (p2p/lifetime.c) */
    t->rejected_addr_conns = rdv_metric_get(f, (const char *const[]){"per_address_connections"});
    t->rejected_addr_rate = rdv_metric_get(f, (const char *const[]){"per_address_rate"});
    t->rejected_addr_full = rdv_metric_get(f, (const char *const[]){"address_table_full"});
    t->rejected_handshakes = rdv_metric_get(f, (const char *const[]){"max_handshakes"});
    return t->rejected_max && t->rejected_shutdown && t->rejected_fds && t->accept_errors && t->rejected_addr_conns &&
                   t->rejected_addr_rate && t->rejected_addr_full && t->rejected_handshakes
               ? RDV_OK
               : RDV_ERR_NOMEM;
}

/* Connection lifetime and per-source limits (p2p/lifetime.c, docs/limits.md). */
static int add_lifetime(struct rdv_telemetry *t)
{
    static const char *const reason[] = {"reason"}, *const what[] = {"what"};
    static const char *const timeout_names[] = {"handshake", "stream_negotiation", "stream_idle", "idle", "output_stall"};
    struct rdv_metric_family *ev = rdv_metrics_add(
        t->reg, RDV_METRIC_COUNTER, "rendezvous_connections_evicted_total",
        "Connections closed to make room for a newcomer: the oldest still in its handshake (max-handshakes or "
        "max-connections), or the least active of the heaviest source (max-connections).", reason, 1, NULL, 0);
    t->evicted_handshaking = rdv_metric_get(ev, (const char *const[]){"handshaking"});
    t->evicted_heaviest = rdv_metric_get(ev, (const char *const[]){"heaviest_source"});
    struct rdv_metric_family *to = rdv_metrics_add(
        t->reg, RDV_METRIC_COUNTER, "rendezvous_timeouts_total",
        "Deadlines that ended a connection (handshake, idle, output_stall: a reader that took nothing or stayed over "
        "max-conn-output) or reset a stream (stream_negotiation, stream_idle).",
        what, 1, NULL, 0);
    bool ok = t->evicted_handshaking && t->evicted_heaviest;
    for (int i = 0; i < 5; i++)
        ok = ok && (t->timeouts[i] = rdv_metric_get(to, &timeout_names[i]));
    t->handshakes_aborted = one(t->reg, RDV_METRIC_COUNTER, "rendezvous_handshakes_aborted_total",
                                "Inbound connections the peer closed or reset before the handshake finished.");
    t->handshaking = one(t->reg, RDV_METRIC_GAUGE, "rendezvous_connections_handshaking",
                         "Inbound connections still in their handshake (max-handshakes).");
    t->sources = one(t->reg, RDV_METRIC_GAUGE, "rendezvous_address_sources",
                     "Source addresses tracked by the per-address limits (per-address-table).");
    t->requests_rate_limited = one(t->reg, RDV_METRIC_COUNTER, "rendezvous_requests_rate_limited_total",
                                   "Rendezvous requests refused with a stream reset: the source was over "
                                   "per-address-request-rate.");
    return ok && t->handshakes_aborted && t->handshaking && t->sources && t->requests_rate_limited ? RDV_OK
                                                                                                  : RDV_ERR_NOMEM;
}

static void pull_lifetime(struct rdv_telemetry *t, const struct rdv_host_stats *host)
{
    rdv_metric_set(t->rejected_addr_conns, (double)host->rejected_per_address_connections);
    rdv_metric_set(t->rejected_addr_rate, (double)host->rejected_per_address_rate);
    rdv_metric_set(t->rejected_addr_full, (double)host->rejected_address_table_full);
    rdv_metric_set(t->rejected_handshakes, (double)host->rejected_max_handshakes);
    rdv_metric_set(t->evicted_handshaking, (double)host->evicted_handshaking);
    rdv_metric_set(t->evicted_heaviest, (double)host->evicted_heaviest_source);
    const uint64_t to[5] = {host->timeouts_handshake, host->timeouts_stream_negotiation, host->timeouts_stream_idle,
                            host->timeouts_idle, host->timeouts_output_stall};
    for (int i = 0; i < 5; i++)
        rdv_metric_set(t->timeouts[i], (double)to[i]);
    rdv_metric_set(t->handshakes_aborted, (double)host->handshakes_aborted);
    rdv_metric_set(t->handshaking, (double)host->handshaking);
    rdv_metric_set(t->sources, (double)host->sources);
    rdv_metric_set(t->requests_rate_limited, (double)host->requests_rate_limited);
}

/* The output budget (p2p/output.c, docs/limits.md) and what happened to answers on their way out. */
static int add_output(struct rdv_telemetry *t)
{
    static const char *const labels[] = {"protocol", "problem"};
    static const char *const problems[RDV_ANSWER_PROBLEM_COUNT] = {"truncated", "dropped"};
    t->output_queued = one(t->reg, RDV_METRIC_GAUGE, "rendezvous_output_queued_bytes",
                           "Bytes queued for peers, all connections (max-output).");
    t->output_waits = one(t->reg, RDV_METRIC_COUNTER, "rendezvous_output_waits_total",
                          "Requests held back because their connection (max-conn-output) or the server (max-output) "
                          "held its output budget; served once it drained.");
    t->output_refused = one(t->reg, RDV_METRIC_COUNTER, "rendezvous_output_refused_total",
                            "Writes refused past twice an output budget (the stream is reset).");
    struct rdv_metric_family *f = rdv_metrics_add(
        t->reg, RDV_METRIC_COUNTER, "rendezvous_answer_problems_total",
        "Answers cut (truncated: a DISCOVER sample cut to fit 4 MiB) or not sent (dropped: over the output budget, "
        "stream reset).", labels, 2, NULL, 0);
    bool ok = t->output_queued && t->output_waits && t->output_refused;
    for (unsigned d = 0; d < RDV_DIALECT_COUNT; d++)
        for (unsigned p = 0; p < RDV_ANSWER_PROBLEM_COUNT; p++)
            ok = ok && (t->answer_problems[d][p] =
                            rdv_metric_get(f, (const char *const[]){rdv_dialect_get(d)->protocol, problems[p]}));
    return ok ? RDV_OK : RDV_ERR_NOMEM;
}

static void pull_output(struct rdv_telemetry *t, const struct rdv_host_stats *host)
{
    rdv_metric_set(t->output_queued, (double)host->output_queued);
    rdv_metric_set(t->output_waits, (double)host->output_waits);
    rdv_metric_set(t->output_refused, (double)host->output_refused);
}

/* How connections ended when it was not a quiet close: our GoAway for a protocol error, or the peer's. */
static int add_conn_endings(struct rdv_telemetry *t)
{
    static const char *const labels[] = {"reason"};
    struct rdv_metric_family *f = rdv_metrics_add(
        t->reg, RDV_METRIC_COUNTER, "rendezvous_connections_ended_total",
        "Connections ended by a yamux GoAway: ours for a protocol violation (protocol_error), or the peer's (peer_goaway).",
        labels, 1, NULL, 0);
    t->ended_protocol_error = rdv_metric_get(f, (const char *const[]){"protocol_error"});
    t->ended_peer_goaway = rdv_metric_get(f, (const char *const[]){"peer_goaway"});
    return t->ended_protocol_error && t->ended_peer_goaway ? RDV_OK : RDV_ERR_NOMEM;
}

static int add_guards(struct rdv_telemetry *t)
{
    static const char *const reason[] = {"reason"}, *const resource[] = {"resource"};
    static const char *const res[] = {"registrations", "namespaces", "bytes"};
    struct rdv_metric_family *f = rdv_metrics_add(
        t->reg, RDV_METRIC_COUNTER, "rendezvous_admin_connections_closed_total",
        "Admin HTTP connections ended by the server: past the request deadline, evicted to make room for a new "
        "client, or refused by the per-address cap.", reason, 1, NULL, 0);
    t->admin_cut_deadline = rdv_metric_get(f, (const char *const[]){"deadline"});
    t->admin_cut_evicted = rdv_metric_get(f, (const char *const[]){"evicted"});
    t->admin_refused_per_ip = rdv_metric_get(f, (const char *const[]){"per_ip"});
    struct rdv_metric_family *used = rdv_metrics_add(
        t->reg, RDV_METRIC_GAUGE, "rendezvous_budget_used",
        "Global store budgets: what the store holds (bytes: envelopes + 256 B per registration).", resource, 1, NULL, 0);
    struct rdv_metric_family *limit = rdv_metrics_add(
        t->reg, RDV_METRIC_GAUGE, "rendezvous_budget_limit",
        "Global store budgets: the limit (0: the store keeps none).", resource, 1, NULL, 0);
    bool ok = t->admin_cut_deadline && t->admin_cut_evicted && t->admin_refused_per_ip;
    for (int i = 0; i < 3; i++) {
        t->budget_used[i] = rdv_metric_get(used, &res[i]);
        t->budget_limit[i] = rdv_metric_get(limit, &res[i]);
        ok = ok && t->budget_used[i] && t->budget_limit[i];
    }
    return ok ? RDV_OK : RDV_ERR_NOMEM;
}

static int add_process(struct rdv_telemetry *t)
{
    struct rdv_metrics *m = t->reg;
    t->cpu = one(m, RDV_METRIC_COUNTER, "process_cpu_seconds_total", "User and system CPU time spent, in seconds.");
    t->rss = one(m, RDV_METRIC_GAUGE, "process_resident_memory_bytes", "Resident memory size in bytes.");
    t->vsize = one(m, RDV_METRIC_GAUGE, "process_virtual_memory_bytes", "Virtual memory size in bytes.");
    t->open_fds = one(m, RDV_METRIC_GAUGE, "process_open_fds", "Open file descriptors.");
    t->max_fds = one(m, RDV_METRIC_GAUGE, "process_max_fds", "The soft limit on open file descriptors.");
    t->start_time = one(m, RDV_METRIC_GAUGE, "process_start_time_seconds", "Start time of the process, unix seconds.");
    return t->cpu && t->rss && t->vsize && t->open_fds && t->max_fds && t->start_time ? RDV_OK : RDV_ERR_NOMEM;
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
    if (!err)
        err = add_store_extras(t);
    if (!err)
        err = add_host_extras(t);
    if (!err)
        err = add_conn_endings(t);
    if (!err)
        err = add_guards(t);
    if (!err)
        err = add_lifetime(t);
    if (!err)
        err = add_output(t);
    if (!err)
        err = add_process(t);
    if (err) {
        rdv_telemetry_free(t);
        return err;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    t->started_unix_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    t->started = rdv_metrics_now();
    rdv_metric_set(t->start_time, (double)t->started_unix_ms / 1000.0);
    return RDV_OK;
}

void rdv_telemetry_free(struct rdv_telemetry *t)
{
    rdv_metrics_free(t->reg);
    memset(t, 0, sizeof(*t));
}

static unsigned count_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    unsigned n = 0;
    if (!dir)
        return 0;
    for (struct dirent *e; (e = readdir(dir));)
        n += e->d_name[0] != '.';
    closedir(dir);
    return n > 0 ? n - 1 : 0; /* not the directory's own descriptor */
}

/* CPU from getrusage, memory from /proc/self/statm (pages), descriptors from /proc/self/fd. */
static void pull_process(struct rdv_telemetry *t)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        rdv_metric_set(t->cpu, (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                                   ru.ru_stime.tv_usec / 1e6);
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f && fscanf(f, "%lu %lu", &size, &resident) == 2) {
        double page = (double)sysconf(_SC_PAGESIZE);
        rdv_metric_set(t->vsize, (double)size * page);
        rdv_metric_set(t->rss, (double)resident * page);
    }
    if (f)
        fclose(f);
    rdv_metric_set(t->open_fds, (double)count_fds());
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        rdv_metric_set(t->max_fds, rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur);
}

void rdv_telemetry_pull(struct rdv_telemetry *t, const struct rdv_host_stats *host)
{
    if (host) {
        rdv_metric_set(t->connections, (double)host->connections);
        rdv_metric_set(t->handshakes_ok, (double)host->handshakes_ok);
        rdv_metric_set(t->handshakes_failed, (double)host->handshakes_failed);
        rdv_metric_set(t->rejected_max, (double)host->rejected_max_connections);
        rdv_metric_set(t->rejected_shutdown, (double)host->rejected_shutting_down);
        rdv_metric_set(t->rejected_fds, (double)host->rejected_no_fds);
        rdv_metric_set(t->accept_errors, (double)host->accept_errors);
        rdv_metric_set(t->ended_protocol_error, (double)host->protocol_errors);
        rdv_metric_set(t->ended_peer_goaway, (double)host->goaways_received);
        pull_lifetime(t, host);
        pull_output(t, host);
    }
    if (t->record_cache) {
        struct rdv_record_cache_stats s;
        rdv_record_cache_stats(t->record_cache, &s);
        const double v[5] = {(double)s.hits, (double)s.misses, (double)s.evictions, (double)s.entries, (double)s.bytes};
        for (int i = 0; i < 5; i++)
            rdv_metric_set(t->vcache[i], v[i]);
    }
    pull_process(t);
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

static void on_answer_problem(void *ctx, const struct rdv_dialect *d, enum rdv_answer_problem p)
{
    struct rdv_telemetry *t = ctx;
    if (d && d->id < RDV_DIALECT_COUNT && p < RDV_ANSWER_PROBLEM_COUNT)
        rdv_metric_add(t->answer_problems[d->id][p], 1);
}

struct rdv_rendezvous_observer rdv_telemetry_observer(struct rdv_telemetry *t)
{
    return (struct rdv_rendezvous_observer){
        .request = on_request, .malformed = on_malformed, .answer_problem = on_answer_problem, .ctx = t};
}

void rdv_telemetry_store_stats(struct rdv_telemetry *t, const struct rdv_store_stats *s)
{
    rdv_metric_set(t->registrations, (double)s->registrations);
    rdv_metric_set(t->namespaces, (double)s->namespaces);
    for (int d = 0; d < RDV_DIALECT_COUNT && d < RDV_STORE_DIALECTS; d++)
        rdv_metric_set(t->registrations_by[d], (double)s->by_dialect[d]);
    rdv_metric_set(t->store_pool_ready, s->pool_ready);
    rdv_metric_set(t->store_pool_busy, s->pool_busy);
    rdv_metric_set(t->reaper, s->reaper);
    rdv_metric_set(t->store_admin_ready, s->admin_ready);
    rdv_metric_set(t->store_transactions, (double)s->transactions);
    rdv_metric_set(t->store_batched_ops, (double)s->batched_ops);
}

void rdv_telemetry_budget(struct rdv_telemetry *t, const struct rdv_store_budget *b, const struct rdv_store_stats *s)
{
    const double used[3] = {(double)s->registrations, (double)s->namespaces, (double)s->bytes};
    const bool kept = b && s->budgeted;
    const double limit[3] = {kept ? (double)b->registrations : 0, kept ? (double)b->namespaces : 0,
                             kept ? (double)b->bytes : 0};
    for (int i = 0; i < 3; i++) {
        rdv_metric_set(t->budget_used[i], used[i]);
        rdv_metric_set(t->budget_limit[i], limit[i]);
    }
}

double rdv_telemetry_uptime(const struct rdv_telemetry *t)
{
    return rdv_metrics_now() - t->started;
}
