/* rendezvousd: the rendezvous server. Reads its settings (server/config.c), loads or creates its
 * identity, opens the store, listens, serves identify, ping and the rendezvous dialects
 * (/vac/waku/rendezvous/0.0.1, /rendezvous/1.0.0, /vac/waku/rendezvous/1.0.0) on one libev loop, sweeps expired records on a timer, and shuts down gracefully on SIGTERM/SIGINT.
 * Its listen addresses, each ending in /p2p/<peer id>, go to stdout one per line at start.
 * The rendezvous point itself is made through the server library's public API (rendezvous/point.h,
 * the same calls an embedding program makes); this file adds the config, the store URL with its
 * timing decorator, the admin endpoint, telemetry and signals around it (server/embed.h). */
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
#include "rendezvous/point.h"
#include "rendezvous/server.h"
#include "rendezvous/service.h"
#include "server/config.h"
#include "server/embed.h"
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
    struct rdv_host *host;       /* the point's, for the admin endpoint */
    struct rendezvous_server *point;
    struct rdv_telemetry tm;
    struct rdv_admin *admin;
    ev_signal sigterm, sigint;
    bool stopping;       /* a signal came: draining connections (/readyz says 503) */
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

/* Every expiry sweep's count, for /metrics. */
static void count_expired(void *arg, uint64_t count)
{
    struct daemon *d = arg;
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
    rdv_info(&d->log, "signal %d: shutting down (grace %.0f s)", w->signum, SHUTDOWN_GRACE);
    rendezvous_server_stop(d->point, SHUTDOWN_GRACE, shutdown_done, d);
}

/* Prints every listen address with /p2p/<id> to stdout (for people and scripts) and the log. */
static void announce(struct daemon *d)
{
    char id[RDV_PEERID_TEXT_MAX], addr[RDV_MA_MAX_TEXT + RDV_PEERID_TEXT_MAX + 8];
    rendezvous_server_peer_id(d->point, id, sizeof(id));
    rdv_info(&d->log, "rendezvousd %s: peer id %s, store %s", PACKAGE_VERSION, id, d->store->ops->kind);
    for (unsigned i = 0; i < RDV_DIALECT_COUNT; i++) {
        const struct rdv_service_config *c = rdv_server_dialect(d->point, i);
        if (c)
            rdv_info(&d->log, "serving %s: ttl %u..%u s (default %u), discover limit %u", c->dialect->protocol,
                     c->min_ttl_s, c->max_ttl_s, c->default_ttl_s, c->max_discover_limit);
    }
    for (size_t i = 0; rendezvous_server_addr(d->point, i, addr, sizeof(addr)) > 0; i++) {
        printf("%s\n", addr);
        rdv_info(&d->log, "listening on %s", addr);
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

/* The limits of dialect dl from the config, through the point's setters. */
static int set_limits(struct daemon *d, const struct rdv_dialect *dl)
{
    const struct rdv_dialect_settings *c = &d->cfg.dialect[dl->id];
    const struct { enum rendezvous_server_limit which; uint32_t value; } lim[] = {
        {RENDEZVOUS_LIMIT_DEFAULT_TTL, c->default_ttl}, {RENDEZVOUS_LIMIT_MIN_TTL, c->min_ttl},
        {RENDEZVOUS_LIMIT_MAX_TTL, c->max_ttl}, {RENDEZVOUS_LIMIT_DISCOVER, c->discover_limit},
        {RENDEZVOUS_LIMIT_MAX_DISCOVER, c->max_discover_limit}, {RENDEZVOUS_LIMIT_MAX_PER_PEER, c->max_per_peer},
    };
    int err = rendezvous_server_enable_dialect(d->point, dl->name);
    for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]) && !err; i++)
        err = rendezvous_server_set_limit(d->point, dl->name, lim[i].which, lim[i].value);
    return err;
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
        if (set_limits(d, dl))
            return 1;
        n++;
    }
    if (n == 0) {
        rdv_error(&d->log, "protocols: no dialect to serve (expected e.g. %s)", RDV_DEFAULT_PROTOCOLS);
        return 1;
    }
    return 0;
}

/* The store of the store setting, timed for /metrics, as the point's public store handle. */
static struct rendezvous_store *open_store(struct daemon *d)
{
    char msg[512];
    struct rdv_store_options sopt = {.timeout_ms = d->cfg.store_timeout_ms, .pool = d->cfg.store_pool};
    if (rdv_store_open_with(d->cfg.store, &sopt, d->loop, &d->log, &d->store, msg, sizeof(msg))) {
        rdv_error(&d->log, "%s", msg);
        return NULL;
    }
    struct rdv_store *timed = NULL;
    if (rdv_telemetry_init(&d->tm, PACKAGE_VERSION) == RDV_OK)
        timed = rdv_store_timed_new(d->store, d->tm.store_seconds, d->tm.store_up);
    if (!timed) {
        rdv_store_close(d->store);
        rdv_error(&d->log, "out of memory");
        return NULL;
    }
    d->store = timed;
    struct rendezvous_store *h = rdv_store_handle_wrap(timed); /* owns it from here */
    if (!h)
        rdv_error(&d->log, "out of memory");
    return h;
}

/* The point's identity, listen addresses and limits from the config. */
static int configure_point(struct daemon *d)
{
    struct rdv_buf kb;
    rdv_buf_init(&kb, 0);
    int err = rdv_privkey_marshal(&d->key, &kb);
    if (!err)
        err = rendezvous_server_set_key(d->point, rdv_buf_head(&kb), kb.len);
    rdv_buf_free(&kb);
    const struct { enum rendezvous_server_option which; double value; } opt[] = {
        {RENDEZVOUS_OPT_MAX_CONNECTIONS, d->cfg.max_connections}, {RENDEZVOUS_OPT_MAX_STREAMS, d->cfg.max_streams},
        {RENDEZVOUS_OPT_MAX_MESSAGE, d->cfg.max_message}, {RENDEZVOUS_OPT_HANDSHAKE_TIMEOUT, d->cfg.handshake_timeout},
        {RENDEZVOUS_OPT_IDLE_TIMEOUT, d->cfg.idle_timeout},
        {RENDEZVOUS_OPT_EXPIRE_INTERVAL, d->cfg.expire_interval_ms / 1000.0},
    };
    for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]) && !err; i++)
        err = rendezvous_server_set_option(d->point, opt[i].which, opt[i].value);
    for (unsigned i = 0; i < d->cfg.nlisten && !err; i++)
        if ((err = rendezvous_server_add_listen(d->point, d->cfg.listen[i])))
            rdv_error(&d->log, "listen %s: %s", d->cfg.listen[i], rdv_strerror(err));
    if (!err)
        err = rendezvous_server_set_log(d->point, d->log.out ? d->log.out : stderr, (int)d->log.level);
    return err ? 1 : enable_dialects(d);
}

static int daemon_start(struct daemon *d)
{
    if (load_or_create_identity(d))
        return 1;
    struct rendezvous_store *st = open_store(d);
    if (!st || rendezvous_server_new(d->loop, st, &d->point) || configure_point(d))
        return 1;
    struct rdv_rendezvous_observer obs = rdv_telemetry_observer(&d->tm);
    rdv_server_observe(d->point, &obs, count_expired, d);
    if (rendezvous_server_start(d->point))
        return 1; /* the point logged why */
    d->host = rdv_server_host(d->point);
    if (start_admin(d))
        return 1;
    announce(d);
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
    rendezvous_server_free(d->point); /* the host, then the store */
    rdv_telemetry_free(&d->tm);
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
