/* rendezvousd: the rendezvous server. Reads its settings (server/config.c), loads or creates its
 * identity, opens the store, and runs a rendezvous point of the server library (rendezvous/point.h,
 * server/point.c: identify, ping and the dialects /vac/waku/rendezvous/0.0.1, /rendezvous/1.0.0,
 * /vac/waku/rendezvous/1.0.0 on one libev loop, expired records swept on a timer), adding what an
 * operator runs: the admin API and telemetry, SIGHUP reload, graceful SIGTERM/SIGINT, and systemd
 * told each step (server/sysd.h). Every setting is checked before
 * anything is created on disk: a new identity is written only once listeners and the store are up.
 * Its listen addresses, each ending in /p2p/<peer id>, go to stdout one per line at start. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "admin/admin.h"
#include "admin/params.h"
#include "admin/telemetry.h"
#include "p2p/builtin.h"
#include "p2p/host.h"
#include "p2p/keys.h"
#include "p2p/multiaddr.h"
#include "p2p/record_cache.h"
#include "rendezvous/server.h"
#include "rendezvous/service.h"
#include "server/config.h"
#include "server/embed.h"
#include "server/fdlimit.h"
#include "server/sysd.h"
#include "store/open.h"
#include "store/timed.h"
#include "util/err.h"
#include "util/log.h"

#define PROG "rendezvousd"
#define SHUTDOWN_GRACE 2.0

struct daemon {
    struct rdv_server_config cfg;
    int argc;            /* the command line, applied again over the file on SIGHUP */
    char **argv;
    struct rdv_log log;
    struct ev_loop *loop;
    struct rdv_privkey key;
    struct rdv_store *store;         /* the timed store; owned by point once that exists */
    struct rendezvous_server *point; /* the rendezvous point: host, dialects, expiry sweep */
    struct rdv_telemetry tm;
    struct rdv_admin *admin;
    struct rdv_record_cache *record_cache; /* NULL when verify-cache-entries is 0 */
    struct rdv_record_opener opener;       /* the cache's, shared by every dialect */
    ev_signal sigterm, sigint, sighup;
    ev_timer watchdog;   /* WATCHDOG=1 from the loop itself: a stuck loop misses it */
    bool key_is_new;     /* generated at this start: saved once everything is up */
    bool stopping;       /* a signal came: draining connections (/readyz says 503) */
    struct rdv_store_budget budget; /* from the config; every dialect's puts and the admin's figures */
};

/* Loads the identity, or makes a new one in memory when the file does not exist yet; it is saved
 * by save_new_identity() once the daemon is up, so a bad setting leaves nothing behind. */
static int load_identity(struct daemon *d)
{
    int err = rdv_privkey_load(d->cfg.identity, &d->key);
    if (err == RDV_OK)
        return RDV_OK;
    if (!(err == RDV_ERR_IO && errno == ENOENT)) {
        rdv_error(&d->log, "identity %s: cannot load: %s%s%s", d->cfg.identity, rdv_strerror(err),
                  err == RDV_ERR_IO ? ": " : "", err == RDV_ERR_IO ? strerror(errno) : "");
        return err;
    }
    if ((err = rdv_privkey_generate(RDV_KEY_ED25519, &d->key))) {
        rdv_error(&d->log, "identity: cannot generate a key: %s", rdv_strerror(err));
        return err;
    }
    d->key_is_new = true;
    return RDV_OK;
}

static int save_new_identity(struct daemon *d)
{
    if (!d->key_is_new)
        return RDV_OK;
    int err = rdv_privkey_save(&d->key, d->cfg.identity, 0);
    if (err) {
        rdv_error(&d->log, "identity %s: cannot create: %s (%s)", d->cfg.identity, rdv_strerror(err), strerror(errno));
        return err;
    }
    rdv_info(&d->log, "created a new ed25519 identity in %s (mode 0600)", d->cfg.identity);
    return RDV_OK;
}

/* A key others can read is a key others can impersonate the server with. */
static void warn_identity_mode(const char *path, const struct rdv_log *log)
{
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        rdv_warn(log, "identity %s is readable by group or others (mode %04o): chmod 600 %s", path,
                 (unsigned)(st.st_mode & 07777), path);
}

/* The admin API lists every registration: off loopback it should want a token. */
static void warn_admin_exposed(const struct rdv_server_config *c, const struct rdv_log *log)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (!*c->admin_listen || strcmp(c->admin_listen, "off") == 0 || *c->admin_token_file ||
        rdv_admin_parse_listen(c->admin_listen, &ss, &sl))
        return;
    bool loopback = ss.ss_family == AF_INET
                        ? (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127
                        : IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr);
    if (!loopback)
        rdv_warn(log, "admin-listen %s is not a loopback address and no admin-token-file is set: anyone who can "
                      "reach it can list every registration",
                 c->admin_listen);
}

/* Each successful sweep's count, from the point (which logs failing and recovering sweeps). */
static void on_expired(void *ctx, uint64_t count)
{
    struct daemon *d = ctx;
    rdv_metric_add(d->tm.expired, (double)count);
}

static void shutdown_done(void *arg)
{
    struct daemon *d = arg;
    rdv_info(&d->log, "all connections closed; exiting");
    ev_break(d->loop, EVBREAK_ALL);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    struct daemon *d = w->data;
    if (d->stopping) {
        rdv_warn(&d->log, "second signal: exiting now");
        ev_break(d->loop, EVBREAK_ALL);
        return;
    }
    d->stopping = true;
    rdv_sysd_notify("STOPPING=1");
    rdv_info(&d->log, "signal %d: shutting down (grace %.0f s)", w->signum, SHUTDOWN_GRACE);
    rendezvous_server_stop(d->point, SHUTDOWN_GRACE, shutdown_done, d);
}

static void watchdog_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    rdv_sysd_notify("WATCHDOG=1");
}

/* ---- SIGHUP ---------------------------------------------------------------------------------- */

/* Where the log goes: target (stderr, the journal's priority prefixes, syslog; fixed at start) and
 * c's log-file. The file is opened anew on every call, so a rotated file is let go on SIGHUP. */
static int open_log(struct daemon *d, const struct rdv_server_config *c)
{
    int target = rdv_config_log_target(&d->cfg);
    if (target == RDV_LOG_TARGET_AUTO)
        target = rdv_sysd_stderr_is_journal() ? RDV_LOG_TARGET_JOURNAL : RDV_LOG_TARGET_STDERR;
    FILE *f = NULL;
    if (*c->log_file && !(f = fopen(c->log_file, "a"))) {
        rdv_error(&d->log, "log-file %s: %s", c->log_file, strerror(errno));
        return -1;
    }
    if (f)
        setvbuf(f, NULL, _IOLBF, 0);
    if (target == RDV_LOG_TARGET_SYSLOG && !f && d->log.format != RDV_LOG_FMT_SYSLOG)
        openlog(PROG, LOG_PID, LOG_DAEMON);
    FILE *old = d->log.out;
    d->log.out = f;
    d->log.format = f ? RDV_LOG_FMT_PLAIN
                      : target == RDV_LOG_TARGET_JOURNAL ? RDV_LOG_FMT_JOURNAL
                      : target == RDV_LOG_TARGET_SYSLOG  ? RDV_LOG_FMT_SYSLOG
                                                         : RDV_LOG_FMT_PLAIN;
    if (old)
        fclose(old);
    return 0;
}

/* Prints (or logs) every line of a multi-line message from server/config.c. */
static void log_lines(const struct rdv_log *log, const char *prefix, const char *msg)
{
    for (const char *p = msg; *p;) {
        size_t n = strcspn(p, "\n");
        if (log)
            rdv_error(log, "%s%.*s", prefix, (int)n, p);
        else
            fprintf(stderr, PROG ": %s%.*s\n", prefix, (int)n, p);
        p += n + (p[n] == '\n');
    }
}

static void report_change(void *ctx, const char *key, const char *old_value, const char *new_value, int reload)
{
    struct daemon *d = ctx;
    if (reload)
        rdv_info(&d->log, "reload: %s: '%s' -> '%s'", key, old_value, new_value);
    else
        rdv_warn(&d->log, "reload: %s changed ('%s' -> '%s') but takes a restart; still using '%s'", key, old_value,
                 new_value, old_value);
}

static struct rdv_store_budget budget_from(const struct rdv_server_config *c)
{
    return (struct rdv_store_budget){.registrations = c->max_registrations, .namespaces = c->max_namespaces,
                                     .bytes = (uint64_t)c->max_store_mb << 20};
}

/* The six limits of a dialect; on SIGHUP only these change (the cookie key, policy and opener stay). */
static void service_limits_from(const struct rdv_dialect_settings *c, struct rdv_service_config *s)
{
    s->default_ttl_s = c->default_ttl;
    s->min_ttl_s = c->min_ttl;
    s->max_ttl_s = c->max_ttl;
    s->default_discover_limit = c->discover_limit;
    s->max_discover_limit = c->max_discover_limit;
    s->max_per_peer = c->max_per_peer;
}

/* The host limits of the settings (max_connections as configured: start_point fits it to the fds). */
static void host_limits_from(const struct rdv_server_config *c, struct rdv_host_limits *lim)
{
    rdv_host_limits_defaults(lim);
    lim->max_connections = c->max_connections;
    lim->max_streams = c->max_streams;
    lim->max_stream_input = c->max_message + 16;
    lim->handshake_timeout = c->handshake_timeout;
    lim->idle_timeout = c->idle_timeout;
    lim->max_handshakes = c->max_handshakes;
    lim->stream_negotiate_timeout = c->stream_negotiate_timeout;
    lim->stream_idle_timeout = c->stream_idle_timeout;
    lim->per_address = (struct rdv_addr_limits){
        .prefix4 = c->per_address_prefix4, .prefix6 = c->per_address_prefix6,
        .max_connections = c->per_address_connections, .handshake_rate = c->per_address_handshake_rate,
        .request_rate = c->per_address_request_rate, .max_entries = c->per_address_table};
    lim->max_conn_output = (size_t)c->max_conn_output_mb << 20;
    lim->max_output = (size_t)c->max_output_mb << 20;
    lim->output_stall_timeout = c->output_stall_timeout;
}

/* The token file is read again even when its name did not change: rotating the token is the point. */
static void reload_token(struct daemon *d)
{
    char msg[512], *token = NULL;
    if (!d->admin)
        return;
    if (*d->cfg.admin_token_file && rdv_admin_load_token(d->cfg.admin_token_file, &token, msg, sizeof(msg))) {
        rdv_error(&d->log, "reload: %s; keeping the current token", msg);
        return;
    }
    if (rdv_admin_set_token(d->admin, token))
        rdv_error(&d->log, "reload: out of memory; keeping the current token");
    if (token)
        sodium_memzero(token, strlen(token));
    free(token);
}

static void apply_reloaded(struct daemon *d)
{
    (void)rdv_log_level_parse(d->cfg.log_level, &d->log.level); /* checked by rdv_config_finish */
    d->budget = budget_from(&d->cfg);
    for (unsigned i = 0; i < RDV_DIALECT_COUNT; i++) {
        struct rdv_service_config *sc = rdv_server_dialect_live(d->point, i);
        if (sc) {
            service_limits_from(&d->cfg.dialect[i], sc);
            sc->budget = d->budget;
            sc->max_envelope = d->cfg.max_envelope_bytes;
        }
    }
    reload_token(d);
    struct rdv_host_limits lim;
    host_limits_from(&d->cfg, &lim);
    rdv_server_reload_host_limits(d->point, &lim);
    if (!d->stopping)
        rdv_server_set_expire_interval(d->point, d->cfg.expire_interval_ms / 1000.0);
}

static void on_sighup(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    struct daemon *d = w->data;
    char msg[RDV_CONFIG_ERR_MAX] = "";
    struct rdv_server_config n;
    rdv_sysd_notify("RELOADING=1");
    rdv_info(&d->log, "SIGHUP: reloading %s", d->cfg.config_path ? d->cfg.config_path : "(no config file)");
    rdv_config_defaults(&n);
    bool bad = rdv_config_parse_args(&n, d->argc, d->argv, msg, sizeof(msg)) || rdv_config_finish(&n, msg, sizeof(msg));
    /* the log file first (logrotate's postrotate wants it let go even if the rest fails), so that
     * what the reload changed is written to the new file */
    if (open_log(d, bad ? &d->cfg : &n))
        rdv_error(&d->log, "reload: still logging to %s", d->log.out ? "the previous file" : "stderr");
    if (bad) {
        log_lines(&d->log, "reload: ", msg);
        rdv_error(&d->log, "reload failed: keeping the running configuration");
    } else {
        rdv_config_diff(&d->cfg, &n, report_change, d);
        rdv_config_take_reloadable(&d->cfg, &n);
        apply_reloaded(d);
        rdv_info(&d->log, "reload done: log level %s", rdv_log_level_name(d->log.level));
    }
    rdv_config_free(&n);
    rdv_sysd_notify("READY=1");
}

/* Prints every listen address with /p2p/<id> to stdout (for people and scripts) and the log. */
static void announce(struct daemon *d)
{
    char id[RDV_PEERID_TEXT_MAX];
    const struct rdv_host *host = rdv_server_host(d->point);
    rdv_peerid_to_text(rdv_host_peer_id(host), id, sizeof(id));
    struct rdv_buf addrs[32];
    size_t n = rdv_host_listen_addrs(host, addrs, 32);
    rdv_info(&d->log, "rendezvousd %s: peer id %s, store %s", PACKAGE_VERSION, id, d->store->ops->kind);
    for (unsigned i = 0; i < RDV_DIALECT_COUNT; i++) {
        const struct rdv_service_config *c = rdv_server_dialect_live(d->point, i);
        if (c)
            rdv_info(&d->log, "serving %s: ttl %u..%u s (default %u), discover limit %u", c->dialect->protocol,
                     c->min_ttl_s, c->max_ttl_s, c->default_ttl_s, c->max_discover_limit);
    }
    for (size_t i = 0; i < n; i++) {
        char text[RDV_MA_MAX_TEXT];
        if (rdv_ma_to_text(rdv_buf_head(&addrs[i]), addrs[i].len, text, sizeof(text)) >= 0) {
            printf("%s/p2p/%s\n", text, id);
            rdv_info(&d->log, "listening on %s/p2p/%s", text, id);
        }
        rdv_buf_free(&addrs[i]);
    }
    fflush(stdout);
}

/* The admin HTTP endpoint (src/admin/), unless admin-listen is "off" or empty. */
static int start_admin(struct daemon *d)
{
    char msg[512], *token = NULL;
    const char *listen = d->cfg.admin_listen;
    if (!*listen || strcmp(listen, "off") == 0)
        return 0;
    if (*d->cfg.admin_token_file && rdv_admin_load_token(d->cfg.admin_token_file, &token, msg, sizeof(msg))) {
        rdv_error(&d->log, "%s", msg);
        return 1;
    }
    warn_admin_exposed(&d->cfg, &d->log);
    struct rdv_admin_config ac;
    rdv_admin_config_defaults(&ac);
    ac.listen = listen;
    ac.token = token;
    ac.request_timeout_s = d->cfg.admin_request_timeout;
    ac.max_per_ip = d->cfg.admin_max_per_ip;
    d->budget = budget_from(&d->cfg);
    struct rdv_admin_sources src = {.store = d->store, .host = rdv_server_host(d->point), .budget = &d->budget,
                                    .telemetry = &d->tm, .version = PACKAGE_VERSION, .draining = &d->stopping};
    int err = rdv_admin_start(d->loop, &ac, &src, &d->log, &d->admin, msg, sizeof(msg));
    if (token)
        sodium_memzero(token, strlen(token));
    free(token);
    if (err) {
        rdv_error(&d->log, "%s", msg);
        return 1;
    }
    rdv_info(&d->log, "admin API on http://%s/%s", rdv_admin_address(d->admin), ac.token ? " (token required)" : "");
    return 0;
}

static void service_config_from(const struct rdv_dialect_settings *c, const struct rdv_dialect *d,
                                struct rdv_service_config *s)
{
    rdv_service_config_for(s, d);
    service_limits_from(c, s);
}

/* Enables every dialect named in the protocols setting (rdv_config_finish checked the names). */
static int enable_dialects(struct daemon *d)
{
    char list[256], *save = NULL;
    snprintf(list, sizeof(list), "%s", d->cfg.protocols);
    for (char *t = strtok_r(list, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        const struct rdv_dialect *dl = rdv_dialect_find(t);
        struct rdv_service_config sc;
        service_config_from(&d->cfg.dialect[dl->id], dl, &sc);
        d->budget = budget_from(&d->cfg);
        sc.budget = d->budget;
        sc.max_envelope = d->cfg.max_envelope_bytes;
        sc.opener = d->record_cache ? &d->opener : NULL;
        if (rdv_server_enable_config(d->point, &sc))
            return 1;
    }
    return 0;
}

/* One cache for all dialects: entries are keyed by record kind as well as bytes. */
static int start_record_cache(struct daemon *d)
{
    if (d->cfg.verify_cache_entries == 0)
        return 0;
    d->record_cache = rdv_record_cache_new(d->cfg.verify_cache_entries, (size_t)d->cfg.verify_cache_mb << 20, NULL);
    if (!d->record_cache) {
        rdv_error(&d->log, "out of memory");
        return 1;
    }
    d->opener = rdv_record_cache_opener(d->record_cache);
    return 0;
}

static int open_store(struct daemon *d)
{
    char msg[512];
    /* application_name: which front-end a database session belongs to (pg_stat_activity) */
    char app[64], id[RDV_PEERID_TEXT_MAX] = "";
    struct rdv_peerid pid;
    if (rdv_peerid_from_pubkey(&d->key.pub, &pid) == RDV_OK)
        rdv_peerid_to_text(&pid, id, sizeof(id));
    snprintf(app, sizeof(app), "rendezvousd %.16s", id); /* 12D3KooW + 8 that tell front-ends apart */
    struct rdv_store_options sopt = {.timeout_ms = d->cfg.store_timeout_ms, .pool = d->cfg.store_pool,
                                     .read_url = d->cfg.store_read, .read_max_lag_ms = d->cfg.store_read_max_lag_ms,
                                     .unprepared = !d->cfg.store_prepared, .app_name = app,
                                     .admin_pool = d->cfg.store_admin_pool ? (int)d->cfg.store_admin_pool : -1,
                                     .admin_timeout_ms = d->cfg.store_admin_timeout_ms,
                                     .batch = d->cfg.store_batch};
    if (rdv_store_open_with(d->cfg.store, &sopt, d->loop, &d->log, &d->store, msg, sizeof(msg))) {
        rdv_error(&d->log, "%s", msg);
        return 1;
    }
    struct rdv_store *timed = NULL;
    if (rdv_telemetry_init(&d->tm, PACKAGE_VERSION) == RDV_OK)
        timed = rdv_store_timed_new(d->store, d->tm.store_seconds, d->tm.store_up);
    if (!timed) {
        rdv_error(&d->log, "out of memory");
        return 1;
    }
    rdv_store_timed_watch(timed, d->tm.store_errors, d->tm.discover_records, d->tm.store_in_flight);
    if (strcmp(d->store->ops->kind, "postgres") == 0)
        rdv_metric_set(d->tm.store_pool_size, d->cfg.store_pool);
    d->store = timed;
    d->tm.record_cache = d->record_cache; /* pulled into /metrics at each scrape */
    return 0;
}

/* The point on the timed store (which it owns from here on), with the daemon's key, log, limits,
 * dialect settings and telemetry; started, it listens and serves. */
static int start_point(struct daemon *d)
{
    struct rdv_host_limits lim;
    host_limits_from(&d->cfg, &lim);
    uint32_t others = d->cfg.store_pool + d->cfg.store_admin_pool + RDV_ADMIN_MAX_CONNECTIONS;
    lim.max_connections = rdv_fdlimit_fit(d->cfg.max_connections, others, &d->log);
    struct rendezvous_store *handle = rdv_store_handle_wrap(d->store); /* closes the store if it fails */
    d->store = NULL;
    if (!handle || rendezvous_server_new(d->loop, handle, &d->point)) {
        rdv_error(&d->log, "out of memory");
        return 1;
    }
    d->store = rdv_server_store(d->point);
    rdv_server_use_log(d->point, &d->log);
    rdv_server_set_host_limits(d->point, &lim, d->cfg.max_message);
    struct rdv_rendezvous_observer obs = rdv_telemetry_observer(&d->tm);
    rdv_server_observe(d->point, &obs, on_expired, d);
    rdv_server_set_expire_interval(d->point, d->cfg.expire_interval_ms / 1000.0);
    if (rdv_server_use_key(d->point, &d->key) || enable_dialects(d))
        return 1;
    for (unsigned i = 0; i < d->cfg.nlisten; i++)
        if (rendezvous_server_add_listen(d->point, d->cfg.listen[i])) {
            rdv_error(&d->log, "listen %s: not a multiaddr this server can listen on", d->cfg.listen[i]);
            return 1;
        }
    return rendezvous_server_start(d->point) ? 1 : 0; /* the point logs what failed */
}

static void start_timers(struct daemon *d)
{
    ev_signal_init(&d->sigterm, on_signal, SIGTERM);
    ev_signal_init(&d->sigint, on_signal, SIGINT);
    ev_signal_init(&d->sighup, on_sighup, SIGHUP);
    d->sigterm.data = d->sigint.data = d->sighup.data = d;
    ev_signal_start(d->loop, &d->sigterm);
    ev_signal_start(d->loop, &d->sigint);
    ev_signal_start(d->loop, &d->sighup);
    double every = rdv_sysd_watchdog_interval() / 2; /* systemd's advice: ping at half the interval */
    if (every > 0) {
        ev_timer_init(&d->watchdog, watchdog_tick, every, every);
        ev_timer_start(d->loop, &d->watchdog);
        ev_unref(d->loop); /* the watchdog alone must not keep the loop alive */
    }
}

static int daemon_start(struct daemon *d)
{
    if (start_record_cache(d))
        return 1;
    if (load_identity(d) || open_store(d) || start_point(d) || start_admin(d) || save_new_identity(d))
        return 1;
    warn_identity_mode(d->cfg.identity, &d->log);
    announce(d);
    start_timers(d);
    rdv_sysd_notify("READY=1\nSTATUS=serving");
    return 0;
}

static void daemon_stop(struct daemon *d)
{
    rdv_admin_stop(d->admin); /* before the store: its pending calls then find their requests orphaned */
    if (d->point)
        rendezvous_server_free(d->point); /* the host, then the store */
    else if (d->store)
        rdv_store_close(d->store);
    rdv_telemetry_free(&d->tm);
    rdv_record_cache_free(d->record_cache);
    rdv_privkey_clear(&d->key);
    rdv_config_free(&d->cfg);
    if (d->log.out)
        fclose(d->log.out);
    if (d->log.format == RDV_LOG_FMT_SYSLOG)
        closelog();
}

/* --init-db: create the store's schema (idempotent) and exit; no identity, no listening. */
static int init_db(struct daemon *d)
{
    char msg[1024];
    if (rdv_store_init(d->cfg.store, msg, sizeof(msg))) {
        rdv_error(&d->log, "init-db: %s", msg);
        return 1;
    }
    rdv_info(&d->log, "init-db: the store's schema is in place");
    return 0;
}

/* --check-config: what a start would check before touching anything, plus the files it would
 * read. Each problem on its own line; warnings too, marked as such. */
static int check_config(struct daemon *d)
{
    int problems = 0;
    char msg[512], *token = NULL;
    struct rdv_privkey key;
    d->log.level = RDV_LOG_WARN;
    if (access(d->cfg.identity, F_OK) == 0) {
        if (rdv_privkey_load(d->cfg.identity, &key) != RDV_OK) {
            fprintf(stderr, PROG ": identity %s: not a readable key file\n", d->cfg.identity);
            problems++;
        }
        rdv_privkey_clear(&key);
        warn_identity_mode(d->cfg.identity, &d->log);
    }
    if (*d->cfg.admin_token_file && rdv_admin_load_token(d->cfg.admin_token_file, &token, msg, sizeof(msg))) {
        fprintf(stderr, PROG ": %s\n", msg);
        problems++;
    }
    if (token)
        sodium_memzero(token, strlen(token));
    free(token);
    warn_admin_exposed(&d->cfg, &d->log);
    if (problems)
        return RDV_EXIT_RUNTIME;
    printf(PROG ": configuration %s is valid\n", d->cfg.config_path ? d->cfg.config_path : "(flags only)");
    return RDV_EXIT_OK;
}

static void print_version(void)
{
    printf(PROG " %s (systemd notify: %s; leveldb: %s)\n", PACKAGE_VERSION, rdv_sysd_available() ? "yes" : "no",
#ifdef HAVE_LEVELDB
           "yes"
#else
           "no"
#endif
    );
}

/* Settings from flags and file; 0 to go on, else the exit status. */
static int configure(struct daemon *d, int argc, char **argv)
{
    char msg[RDV_CONFIG_ERR_MAX] = "";
    rdv_config_defaults(&d->cfg);
    int bad = rdv_config_parse_args(&d->cfg, argc, argv, msg, sizeof(msg));
    if (!bad || d->cfg.check_config)
        bad |= rdv_config_finish(&d->cfg, msg, sizeof(msg));
    if (bad && !d->cfg.help && !d->cfg.version) {
        log_lines(NULL, "", msg);
        return d->cfg.check_config ? RDV_EXIT_RUNTIME : RDV_EXIT_CONFIG;
    }
    if (d->cfg.help || d->cfg.version) {
        if (d->cfg.help)
            rdv_config_usage(stdout, PROG);
        else
            print_version();
        return -1;
    }
    (void)rdv_log_level_parse(d->cfg.log_level, &d->log.level);
    d->argc = argc;
    d->argv = argv;
    return 0;
}

/* glibc raises its mmap threshold to the size of each large block freed (up to 32 MiB), so after
 * an attack has made us queue many MiB-sized answers, later ones come from the heap and RSS stays
 * where the attack left it (324 MB after 40 slow readers, docs/limits.md). A fixed threshold keeps
 * every block over 256 KiB in its own mapping, given back to the kernel when freed. */
static void return_big_blocks(void)
{
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
}

int main(int argc, char **argv)
{
    struct daemon d;
    memset(&d, 0, sizeof(d));
    return_big_blocks();
    int rc = configure(&d, argc, argv);
    if (rc || d.cfg.check_config) {
        if (rc == 0 && sodium_init() >= 0)
            rc = check_config(&d);
        rdv_config_free(&d.cfg);
        return rc < 0 ? RDV_EXIT_OK : rc;
    }
    if (sodium_init() < 0 || open_log(&d, &d.cfg)) {
        fprintf(stderr, PROG ": cannot start: %s\n", sodium_init() < 0 ? "libsodium failed to initialise" : "log");
        rdv_config_free(&d.cfg);
        return RDV_EXIT_RUNTIME;
    }
    signal(SIGPIPE, SIG_IGN);
    if (d.cfg.init_db) {
        rc = init_db(&d);
        rdv_config_free(&d.cfg);
        return rc;
    }
    d.loop = ev_default_loop(EVFLAG_AUTO);
    rc = daemon_start(&d);
    if (rc == 0)
        ev_run(d.loop, 0);
    daemon_stop(&d);
    return rc ? RDV_EXIT_RUNTIME : RDV_EXIT_OK;
}
