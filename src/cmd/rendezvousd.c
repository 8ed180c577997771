/* rendezvousd: the rendezvous server. Reads its settings (server/config.c), loads or creates its
 * identity, opens the store, listens, serves identify, ping and the rendezvous dialects
 * (/vac/waku/rendezvous/0.0.1, /rendezvous/1.0.0, /vac/waku/rendezvous/1.0.0) on one libev loop, sweeps expired records on a timer, and shuts down gracefully on SIGTERM/SIGINT.
 * Its listen addresses, each ending in /p2p/<peer id>, go to stdout one per line at start. */
#include "config.h"

#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "admin/telemetry.h"
#include "p2p/builtin.h"
#include "p2p/host.h"
#include "p2p/keys.h"
#include "p2p/multiaddr.h"
#include "p2p/record_cache.h"
#include "rendezvous/server.h"
#include "rendezvous/service.h"
#include "server/config.h"
#include "store/store.h"
#include "store/timed.h"
#include "util/err.h"
#include "util/log.h"

#define PROG "rendezvousd"
#define SHUTDOWN_GRACE 2.0

struct daemon {
    struct rdv_server_config cfg;
    struct rdv_log log;
    struct ev_loop *loop;
    struct rdv_privkey key;
    struct rdv_store *store;
    struct rdv_host *host;
    struct rdv_rendezvous_server rz;
    struct rdv_telemetry tm;
    struct rdv_admin *admin;
    struct rdv_record_cache *record_cache; /* NULL when verify-cache-entries is 0 */
    struct rdv_record_opener opener;       /* the cache's, shared by every dialect */
    ev_timer expire_timer;
    ev_signal sigterm, sigint;
    bool stopping;       /* a signal came: draining connections (/readyz says 503) */
    bool expiry_failing; /* the last expiry sweep failed */
};

static int load_or_create_identity(struct daemon *d)
{
    int err = rdv_privkey_load(d->cfg.identity, &d->key);
    if (err == RDV_OK)
        return RDV_OK;
    if (!(err == RDV_ERR_IO && errno == ENOENT)) {
        rdv_error(&d->log, "identity %s: cannot load: %s", d->cfg.identity, rdv_strerror(err));
        return err;
    }
    if ((err = rdv_privkey_generate(RDV_KEY_ED25519, &d->key)) ||
        (err = rdv_privkey_save(&d->key, d->cfg.identity, 0))) {
        rdv_error(&d->log, "identity %s: cannot create: %s (%s)", d->cfg.identity, rdv_strerror(err), strerror(errno));
        return err;
    }
    rdv_info(&d->log, "created a new ed25519 identity in %s (mode 0600)", d->cfg.identity);
    return RDV_OK;
}

static void expire_done(void *arg, enum rdv_store_status st, uint64_t count)
{
    struct daemon *d = arg;
    /* a store that is down fails every sweep: say so when it starts and when it ends, not each tick */
    if (st != RDV_STORE_OK && !d->expiry_failing)
        rdv_warn(&d->log, "expiry sweeps failing: %s (logged again when they recover)", rdv_store_status_name(st));
    else if (st == RDV_STORE_OK && d->expiry_failing)
        rdv_info(&d->log, "expiry sweeps work again");
    d->expiry_failing = st != RDV_STORE_OK;
    if (st == RDV_STORE_OK && count)
        rdv_debug(&d->log, "expired %llu registrations", (unsigned long long)count);
    if (st == RDV_STORE_OK)
        rdv_metric_add(d->tm.expired, (double)count);
}

static void expire_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct daemon *d = w->data;
    rdv_store_expire(d->store, expire_done, d);
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
    rdv_info(&d->log, "signal %d: shutting down (grace %.0f s)", w->signum, SHUTDOWN_GRACE);
    ev_timer_stop(d->loop, &d->expire_timer);
    rdv_host_shutdown(d->host, SHUTDOWN_GRACE, shutdown_done, d);
}

static int start_listening(struct daemon *d)
{
    for (unsigned i = 0; i < d->cfg.nlisten; i++) {
        struct rdv_buf ma;
        rdv_buf_init(&ma, RDV_MA_MAX_BINARY);
        int err = rdv_ma_from_text(d->cfg.listen[i], &ma);
        if (!err)
            err = rdv_host_listen(d->host, rdv_buf_head(&ma), ma.len);
        rdv_buf_free(&ma);
        if (err) {
            rdv_error(&d->log, "listen %s: %s%s%s", d->cfg.listen[i], rdv_strerror(err),
                      err == RDV_ERR_IO ? ": " : "", err == RDV_ERR_IO ? strerror(errno) : "");
            return err;
        }
    }
    return rdv_host_update_record(d->host);
}

/* Prints every listen address with /p2p/<id> to stdout (for people and scripts) and the log. */
static void announce(struct daemon *d)
{
    char id[RDV_PEERID_TEXT_MAX];
    rdv_peerid_to_text(rdv_host_peer_id(d->host), id, sizeof(id));
    struct rdv_buf addrs[32];
    size_t n = rdv_host_listen_addrs(d->host, addrs, 32);
    rdv_info(&d->log, "rendezvousd %s: peer id %s, store %s", PACKAGE_VERSION, id, d->store->ops->kind);
    for (int i = 0; i < RDV_DIALECT_COUNT; i++) {
        const struct rdv_service_config *c = &d->rz.dialects[i].cfg;
        if (c->dialect)
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
    struct rdv_admin_config ac;
    rdv_admin_config_defaults(&ac);
    ac.listen = listen;
    ac.token = token;
    struct rdv_admin_sources src = {.store = d->store, .host = d->host,
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
    s->default_ttl_s = c->default_ttl;
    s->min_ttl_s = c->min_ttl;
    s->max_ttl_s = c->max_ttl;
    s->default_discover_limit = c->discover_limit;
    s->max_discover_limit = c->max_discover_limit;
    s->max_per_peer = c->max_per_peer;
}

/* Enables every dialect named in the protocols setting; logs and fails on an unknown name. */
static int enable_dialects(struct daemon *d)
{
    char list[256], *save = NULL;
    snprintf(list, sizeof(list), "%s", d->cfg.protocols);
    int n = 0;
    for (char *t = strtok_r(list, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        const struct rdv_dialect *dl = rdv_dialect_find(t);
        if (!dl) {
            rdv_error(&d->log, "protocols: unknown dialect '%s' (expected waku0, std, waku1 or their protocol ids)", t);
            return 1;
        }
        struct rdv_service_config sc;
        service_config_from(&d->cfg.dialect[dl->id], dl, &sc);
        sc.opener = d->record_cache ? &d->opener : NULL;
        rdv_rendezvous_server_enable(&d->rz, dl, &sc);
        n++;
    }
    if (n == 0) {
        rdv_error(&d->log, "protocols: no dialect to serve (expected e.g. %s)", RDV_DEFAULT_PROTOCOLS);
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

static int daemon_start(struct daemon *d)
{
    char msg[512];
    memset(&d->rz, 0, sizeof(d->rz));
    if (start_record_cache(d) || enable_dialects(d) || load_or_create_identity(d))
        return 1;
    /* application_name: which front-end a database session belongs to (pg_stat_activity) */
    char app[64], id[RDV_PEERID_TEXT_MAX] = "";
    struct rdv_peerid pid;
    if (rdv_peerid_from_pubkey(&d->key.pub, &pid) == RDV_OK)
        rdv_peerid_to_text(&pid, id, sizeof(id));
    snprintf(app, sizeof(app), "rendezvousd %.16s", id); /* 12D3KooW + 8 that tell front-ends apart */
    struct rdv_store_options sopt = {.timeout_ms = d->cfg.store_timeout_ms, .pool = d->cfg.store_pool,
                                     .read_url = d->cfg.store_read, .read_max_lag_ms = d->cfg.store_read_max_lag_ms,
                                     .unprepared = !d->cfg.store_prepared, .app_name = app};
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
    d->store = timed;
    d->tm.record_cache = d->record_cache; /* pulled into /metrics at each scrape */
    struct rdv_host_limits lim;
    rdv_host_limits_defaults(&lim);
    lim.max_connections = d->cfg.max_connections;
    lim.max_streams = d->cfg.max_streams;
    lim.max_stream_input = d->cfg.max_message + 16;
    lim.handshake_timeout = d->cfg.handshake_timeout;
    lim.idle_timeout = d->cfg.idle_timeout;
    if (rdv_host_new(d->loop, &d->key, &lim, &d->log, &d->host))
        return 1;
    d->rz.store = d->store;
    d->rz.log = &d->log;
    d->rz.max_message = d->cfg.max_message;
    d->rz.observer = rdv_telemetry_observer(&d->tm);
    if (rdv_builtin_register(d->host) || rdv_rendezvous_server_register(d->host, &d->rz))
        return 1;
    if (start_listening(d) || start_admin(d))
        return 1;
    announce(d);
    ev_timer_init(&d->expire_timer, expire_tick, d->cfg.expire_interval_ms / 1000.0, d->cfg.expire_interval_ms / 1000.0);
    d->expire_timer.data = d;
    ev_timer_start(d->loop, &d->expire_timer);
    ev_signal_init(&d->sigterm, on_signal, SIGTERM);
    ev_signal_init(&d->sigint, on_signal, SIGINT);
    d->sigterm.data = d->sigint.data = d;
    ev_signal_start(d->loop, &d->sigterm);
    ev_signal_start(d->loop, &d->sigint);
    return 0;
}

static void daemon_stop(struct daemon *d)
{
    rdv_admin_stop(d->admin); /* before the store: its pending calls then find their requests orphaned */
    rdv_host_free(d->host);
    rdv_store_close(d->store);
    rdv_telemetry_free(&d->tm);
    rdv_record_cache_free(d->record_cache);
    rdv_privkey_clear(&d->key);
    rdv_config_free(&d->cfg);
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

int main(int argc, char **argv)
{
    struct daemon d;
    memset(&d, 0, sizeof(d));
    char msg[512];
    rdv_config_defaults(&d.cfg);
    if (rdv_config_parse_args(&d.cfg, argc, argv, msg, sizeof(msg)) || rdv_config_finish(&d.cfg, msg, sizeof(msg))) {
        fprintf(stderr, PROG ": %s\n", msg);
        rdv_config_free(&d.cfg);
        return 2;
    }
    if (d.cfg.help || d.cfg.version) {
        if (d.cfg.help)
            rdv_config_usage(stdout, PROG);
        else
            printf(PROG " %s\n", PACKAGE_VERSION);
        rdv_config_free(&d.cfg);
        return 0;
    }
    if (rdv_log_level_parse(d.cfg.log_level, &d.log.level)) {
        fprintf(stderr, PROG ": log-level: expected error, warn, info or debug, got '%s'\n", d.cfg.log_level);
        rdv_config_free(&d.cfg);
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, PROG ": libsodium failed to initialise\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    if (d.cfg.init_db) {
        int irc = init_db(&d);
        rdv_config_free(&d.cfg);
        return irc;
    }
    d.loop = ev_default_loop(EVFLAG_AUTO);
    int rc = daemon_start(&d);
    if (rc == 0)
        ev_run(d.loop, 0);
    daemon_stop(&d);
    return rc;
}
