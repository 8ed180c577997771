/* point.c: rendezvous/point.h: a rendezvous point as a library object. It is the composition
 * rendezvousd's main used to do inline: an identity, a libp2p host with identify and ping, the
 * rendezvous server (rendezvous/server.c) over one store for every enabled dialect, and a timer
 * that sweeps expired records. rendezvousd makes its point through these same calls and adds its
 * own parts (config file, identity file, admin API, telemetry, signals) around it through the few
 * hooks of server/embed.h. */
#include "config.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/builtin.h"
#include "p2p/keys.h"
#include "p2p/multiaddr.h"
#include "rendezvous/server.h"
#include "server/embed.h"
#include "util/err.h"

#define POINT_MAX_LISTEN 16
#define POINT_DEFAULT_LISTEN "/ip4/0.0.0.0/tcp/4040"
#define POINT_DEFAULT_EXPIRE 1.0
/* Sweeps must work this long before "work again" is said: during a database stall some succeed
 * between timeouts, and a line per change would flap every sweep. */
#define POINT_SWEEP_RECOVERED_S 10.0

struct rendezvous_server {
    struct ev_loop *loop;
    struct rdv_log log_store;
    const struct rdv_log *log;  /* NULL: quiet */
    struct rendezvous_store *store_handle;
    struct rdv_privkey key;
    bool have_key;
    struct rdv_peerid self;
    char *listen[POINT_MAX_LISTEN];
    size_t nlisten;
    struct rdv_host_limits limits;
    size_t max_message;
    double expire_interval;
    struct rdv_service_config dialects[RDV_DIALECT_COUNT];
    bool enabled[RDV_DIALECT_COUNT];
    struct rdv_host *host;
    struct rdv_rendezvous_server rz;
    struct rdv_rendezvous_observer extra; /* rendezvousd's telemetry */
    void (*on_expired)(void *ctx, uint64_t n);
    void *expired_ctx;
    struct rendezvous_server_counters counters;
    ev_timer expire_timer;
    bool started, expiry_failing;
    uint64_t sweeps_failed;  /* since the failing line */
    ev_tstamp sweeps_ok_since; /* while failing: when the current run of good sweeps began (0: none) */
    bool expiring;             /* a sweep is with the store: the next ticks wait for its answer */
};

const char *rendezvous_server_strerror(int err) { return rdv_strerror(err); }

static struct rdv_store *point_store(const struct rendezvous_server *s) { return rdv_store_handle_inner(s->store_handle); }

int rendezvous_server_new(struct ev_loop *loop, struct rendezvous_store *store, struct rendezvous_server **out)
{
    struct rendezvous_server *s = loop && store && out ? calloc(1, sizeof(*s)) : NULL;
    if (!s || sodium_init() < 0) {
        rendezvous_store_free(store);
        free(s);
        return loop && store && out ? RDV_ERR_NOMEM : RDV_ERR_INVALID;
    }
    s->loop = loop;
    s->store_handle = store;
    rdv_host_limits_defaults(&s->limits);
    s->max_message = RDV_MAX_MESSAGE;
    s->expire_interval = POINT_DEFAULT_EXPIRE;
    s->counters.size = sizeof(s->counters);
    *out = s;
    return RDV_OK;
}

/* ---- settings ------------------------------------------------------------------------------- */

static int key_taken(struct rendezvous_server *s)
{
    s->have_key = true;
    return rdv_peerid_from_pubkey(&s->key.pub, &s->self);
}

int rendezvous_server_set_key(struct rendezvous_server *s, const uint8_t *key, size_t len)
{
    if (!s || s->started || !key)
        return RDV_ERR_INVALID;
    rdv_privkey_clear(&s->key);
    int err = rdv_privkey_unmarshal(key, len, &s->key);
    return err ? err : key_taken(s);
}

int rendezvous_server_set_key_file(struct rendezvous_server *s, const char *path)
{
    if (!s || s->started || !path)
        return RDV_ERR_INVALID;
    rdv_privkey_clear(&s->key);
    int err = rdv_privkey_load(path, &s->key);
    if (err == RDV_ERR_IO && errno == ENOENT) {
        if ((err = rdv_privkey_generate(RDV_KEY_ED25519, &s->key)) || (err = rdv_privkey_save(&s->key, path, 0)))
            return err;
        rdv_info(s->log, "created a new ed25519 identity in %s (mode 0600)", path);
    }
    if (err)
        rdv_error(s->log, "identity %s: cannot load: %s", path, rdv_strerror(err));
    return err ? err : key_taken(s);
}

int rendezvous_server_add_listen(struct rendezvous_server *s, const char *ma)
{
    if (!s || s->started || !ma)
        return RDV_ERR_INVALID;
    if (s->nlisten == POINT_MAX_LISTEN)
        return RDV_ERR_TOO_LARGE;
    struct rdv_buf b;
    rdv_buf_init(&b, RDV_MA_MAX_BINARY);
    int err = rdv_ma_from_text(ma, &b);
    rdv_buf_free(&b);
    if (err)
        return err;
    if (!(s->listen[s->nlisten] = strdup(ma)))
        return RDV_ERR_NOMEM;
    s->nlisten++;
    return RDV_OK;
}

int rendezvous_server_enable_dialect(struct rendezvous_server *s, const char *name)
{
    if (!s || s->started || !name)
        return RDV_ERR_INVALID;
    const struct rdv_dialect *d = rdv_dialect_find(name);
    if (!d)
        return RDV_ERR_UNSUPPORTED;
    if (!s->enabled[d->id])
        rdv_service_config_for(&s->dialects[d->id], d);
    s->enabled[d->id] = true;
    return RDV_OK;
}

int rendezvous_server_set_limit(struct rendezvous_server *s, const char *name, enum rendezvous_server_limit which,
                                uint32_t v)
{
    if (!s || s->started || !name)
        return RDV_ERR_INVALID;
    const struct rdv_dialect *d = rdv_dialect_find(name);
    if (!d || !s->enabled[d->id])
        return RDV_ERR_NOT_FOUND;
    struct rdv_service_config *c = &s->dialects[d->id];
    switch (which) {
    case RENDEZVOUS_LIMIT_DEFAULT_TTL: c->default_ttl_s = v; break;
    case RENDEZVOUS_LIMIT_MIN_TTL: c->min_ttl_s = v; break;
    case RENDEZVOUS_LIMIT_MAX_TTL: c->max_ttl_s = v; break;
    case RENDEZVOUS_LIMIT_DISCOVER: c->default_discover_limit = v; break;
    case RENDEZVOUS_LIMIT_MAX_DISCOVER: c->max_discover_limit = v; break;
    case RENDEZVOUS_LIMIT_MAX_PER_PEER: c->max_per_peer = v; break;
    case RENDEZVOUS_LIMIT_MAX_ENVELOPE: c->max_envelope = v; break;
    default: return RDV_ERR_INVALID;
    }
    return RDV_OK;
}

/* The lifetime, per-source and output-budget options, each a host limit (docs/limits.md). */
static int set_host_limit(struct rdv_host_limits *l, enum rendezvous_server_option which, double v)
{
    struct rdv_addr_limits *a = &l->per_address;
    bool whole = v == (double)(uint64_t)v && v >= 1;
    switch (which) {
    case RENDEZVOUS_OPT_MAX_HANDSHAKES: l->max_handshakes = (unsigned)v; return whole ? RDV_OK : RDV_ERR_INVALID;
    case RENDEZVOUS_OPT_STREAM_NEGOTIATE_TIMEOUT: l->stream_negotiate_timeout = v; break;
    case RENDEZVOUS_OPT_STREAM_IDLE_TIMEOUT: l->stream_idle_timeout = v; break;
    case RENDEZVOUS_OPT_PER_ADDRESS_CONNECTIONS: a->max_connections = (unsigned)v; return whole ? RDV_OK : RDV_ERR_INVALID;
    case RENDEZVOUS_OPT_PER_ADDRESS_HANDSHAKE_RATE: a->handshake_rate = v; break;
    case RENDEZVOUS_OPT_PER_ADDRESS_REQUEST_RATE: a->request_rate = v; break;
    case RENDEZVOUS_OPT_PER_ADDRESS_PREFIX4:
        if (!whole || v > 32)
            return RDV_ERR_INVALID;
        a->prefix4 = (unsigned)v;
        return RDV_OK;
    case RENDEZVOUS_OPT_PER_ADDRESS_PREFIX6:
        if (!whole || v > 128)
            return RDV_ERR_INVALID;
        a->prefix6 = (unsigned)v;
        return RDV_OK;
    case RENDEZVOUS_OPT_PER_ADDRESS_TABLE: a->max_entries = (size_t)v; return v >= 16 ? RDV_OK : RDV_ERR_INVALID;
    case RENDEZVOUS_OPT_MAX_CONN_OUTPUT:
    case RENDEZVOUS_OPT_MAX_OUTPUT:
        if (v < (double)RDV_HOST_MIN_CONN_OUTPUT)
            return RDV_ERR_INVALID; /* one maximal DISCOVER answer must fit */
        *(which == RENDEZVOUS_OPT_MAX_OUTPUT ? &l->max_output : &l->max_conn_output) = (size_t)v;
        return RDV_OK;
    case RENDEZVOUS_OPT_OUTPUT_STALL_TIMEOUT: l->output_stall_timeout = v; break;
    default: return RDV_ERR_INVALID;
    }
    return v > 0 ? RDV_OK : RDV_ERR_INVALID;
}

int rendezvous_server_set_option(struct rendezvous_server *s, enum rendezvous_server_option which, double v)
{
    if (!s || s->started || v < 0)
        return RDV_ERR_INVALID;
    switch (which) {
    case RENDEZVOUS_OPT_MAX_CONNECTIONS: s->limits.max_connections = (unsigned)v; break;
    case RENDEZVOUS_OPT_MAX_STREAMS: s->limits.max_streams = (unsigned)v; break;
    case RENDEZVOUS_OPT_MAX_MESSAGE:
        s->max_message = (size_t)v;
        s->limits.max_stream_input = s->max_message + 16; /* the length prefix */
        break;
    case RENDEZVOUS_OPT_HANDSHAKE_TIMEOUT: s->limits.handshake_timeout = v; break;
    case RENDEZVOUS_OPT_IDLE_TIMEOUT: s->limits.idle_timeout = v; break;
    case RENDEZVOUS_OPT_EXPIRE_INTERVAL: rdv_server_set_expire_interval(s, v > 0 ? v : POINT_DEFAULT_EXPIRE); break;
    default: {
        struct rdv_host_limits l = s->limits; /* applied only when valid */
        int err = set_host_limit(&l, which, v);
        if (err)
            return err;
        s->limits = l;
    }
    }
    return RDV_OK;
}

int rendezvous_server_set_log(struct rendezvous_server *s, FILE *out, int level)
{
    if (!s)
        return RDV_ERR_INVALID;
    s->log_store.out = out;
    s->log_store.level = level < 0 ? RDV_LOG_ERROR : level > 3 ? RDV_LOG_DEBUG : (enum rdv_log_level)level;
    s->log = out ? &s->log_store : NULL;
    return RDV_OK;
}

void rdv_server_observe(struct rendezvous_server *s, const struct rdv_rendezvous_observer *o,
                        void (*expired)(void *ctx, uint64_t n), void *ctx)
{
    s->extra = o ? *o : (struct rdv_rendezvous_observer){0};
    s->on_expired = expired;
    s->expired_ctx = ctx;
}

int rdv_server_use_key(struct rendezvous_server *s, const struct rdv_privkey *key)
{
    if (!s || s->started || !key)
        return RDV_ERR_INVALID;
    rdv_privkey_clear(&s->key);
    s->key = *key;
    return key_taken(s);
}

void rdv_server_use_log(struct rendezvous_server *s, const struct rdv_log *log) { s->log = log; }

void rdv_server_set_host_limits(struct rendezvous_server *s, const struct rdv_host_limits *lim, size_t max_message)
{
    s->limits = *lim;
    s->max_message = max_message;
}

const struct rdv_host_limits *rdv_server_host_limits(const struct rendezvous_server *s) { return &s->limits; }

void rdv_server_reload_host_limits(struct rendezvous_server *s, const struct rdv_host_limits *lim)
{
    if (!s->host) {
        s->limits = *lim;
        return;
    }
    rdv_host_reload_limits(s->host, lim);
    s->limits = *rdv_host_limits(s->host);
}

int rdv_server_enable_config(struct rendezvous_server *s, const struct rdv_service_config *cfg)
{
    if (!s || s->started || !cfg || !cfg->dialect || cfg->dialect->id >= RDV_DIALECT_COUNT)
        return RDV_ERR_INVALID;
    s->dialects[cfg->dialect->id] = *cfg;
    s->enabled[cfg->dialect->id] = true;
    return RDV_OK;
}

struct rdv_service_config *rdv_server_dialect_live(struct rendezvous_server *s, unsigned id)
{
    return s->started && id < RDV_DIALECT_COUNT && s->rz.dialects[id].cfg.dialect ? &s->rz.dialects[id].cfg : NULL;
}

void rdv_server_set_expire_interval(struct rendezvous_server *s, double seconds)
{
    if (seconds <= 0 || seconds == s->expire_interval)
        return;
    s->expire_interval = seconds;
    if (!ev_is_active(&s->expire_timer))
        return;
    ev_timer_stop(s->loop, &s->expire_timer);
    ev_timer_set(&s->expire_timer, seconds, seconds);
    ev_timer_start(s->loop, &s->expire_timer);
}

struct rdv_host *rdv_server_host(const struct rendezvous_server *s) { return s->host; }
struct rdv_store *rdv_server_store(const struct rendezvous_server *s) { return point_store(s); }

const struct rdv_service_config *rdv_server_dialect(const struct rendezvous_server *s, unsigned id)
{
    return id < RDV_DIALECT_COUNT && s->enabled[id] ? &s->dialects[id] : NULL;
}

/* ---- counting -------------------------------------------------------------------------------- */

static void count_request(void *ctx, const struct rdv_dialect *d, enum rdv_req_type type, enum rdv_status st,
                          double seconds)
{
    struct rendezvous_server *s = ctx;
    struct rendezvous_server_counters *k = &s->counters;
    unsigned i = d->id < 4 ? d->id : 3;
    bool good = st == RDV_STATUS_OK;
    if (type == RDV_REQ_REGISTER)
        (good ? k->registers_ok : k->registers_refused)[i]++;
    else if (type == RDV_REQ_DISCOVER)
        (good ? k->discovers_ok : k->discovers_refused)[i]++;
    else if (type == RDV_REQ_UNREGISTER)
        k->unregisters[i]++;
    if (s->extra.request)
        s->extra.request(s->extra.ctx, d, type, st, seconds);
}

static void count_malformed(void *ctx, const struct rdv_dialect *d)
{
    struct rendezvous_server *s = ctx;
    s->counters.malformed[d->id < 4 ? d->id : 3]++;
    if (s->extra.malformed)
        s->extra.malformed(s->extra.ctx, d);
}

static void count_answer_problem(void *ctx, const struct rdv_dialect *d, enum rdv_answer_problem p)
{
    struct rendezvous_server *s = ctx;
    unsigned i = d->id < 4 ? d->id : 3;
    (p == RDV_ANSWER_TRUNCATED ? s->counters.discovers_truncated : s->counters.answers_dropped)[i]++;
    if (s->extra.answer_problem)
        s->extra.answer_problem(s->extra.ctx, d, p);
}

int rendezvous_server_counters(const struct rendezvous_server *s, struct rendezvous_server_counters *out)
{
    if (!s || !out || out->size < sizeof(out->size))
        return RDV_ERR_INVALID;
    struct rendezvous_server_counters k = s->counters;
    if (s->host) {
        const struct rdv_host_stats *hs = rdv_host_stats(s->host);
        k.connections = hs->connections;
        k.handshakes_ok = hs->handshakes_ok;
        k.handshakes_failed = hs->handshakes_failed;
    }
    size_t n = out->size < sizeof(k) ? out->size : sizeof(k);
    k.size = out->size;
    memcpy(out, &k, n);
    return RDV_OK;
}

/* ---- expiry ---------------------------------------------------------------------------------- */

static void stats_done(void *arg, enum rdv_store_status st, const struct rdv_store_stats *stats)
{
    struct rendezvous_server *s = arg;
    if (st == RDV_STORE_OK && stats)
        s->counters.registrations = stats->registrations;
}

/* A store that is down fails every sweep: say so once when they start failing, and once when they
 * have worked again for POINT_SWEEP_RECOVERED_S, not at each sweep. */
static void sweep_health(struct rendezvous_server *s, enum rdv_store_status st)
{
    ev_tstamp now = ev_now(s->loop);
    if (st != RDV_STORE_OK) {
        if (!s->expiry_failing)
            rdv_warn(s->log, "expiry sweeps failing: %s (logged again once they have worked for %.0f s)",
                     rdv_store_status_name(st), POINT_SWEEP_RECOVERED_S);
        s->expiry_failing = true;
        s->sweeps_failed++;
        s->sweeps_ok_since = 0;
        return;
    }
    if (!s->expiry_failing)
        return;
    if (s->sweeps_ok_since == 0)
        s->sweeps_ok_since = now;
    if (now - s->sweeps_ok_since < POINT_SWEEP_RECOVERED_S)
        return;
    rdv_info(s->log, "expiry sweeps work again (%llu failed)", (unsigned long long)s->sweeps_failed);
    s->expiry_failing = false;
    s->sweeps_failed = 0;
}

static void expire_done(void *arg, enum rdv_store_status st, uint64_t count)
{
    struct rendezvous_server *s = arg;
    s->expiring = false;
    sweep_health(s, st);
    if (st != RDV_STORE_OK)
        return;
    if (count)
        rdv_debug(s->log, "expired %llu registrations", (unsigned long long)count);
    s->counters.expired += count;
    if (s->on_expired)
        s->on_expired(s->expired_ctx, count); /* the observer keeps its own figures (rendezvousd: /metrics) */
    else
        rdv_store_stats(point_store(s), stats_done, s);
}

static void expire_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct rendezvous_server *s = w->data;
    /* One sweep at a time. A store that stalls holds a sweep until its timeout; asking again
     * meanwhile learns nothing (PostgreSQL answers "OK, 0" for a sweep still running), and such
     * answers used to flip the failing/working state, logging both lines at every tick. */
    if (s->expiring)
        return;
    s->expiring = true;
    rdv_store_expire(point_store(s), expire_done, s);
}

/* ---- start, stop ----------------------------------------------------------------------------- */

static int start_listening(struct rendezvous_server *s)
{
    for (size_t i = 0; i < (s->nlisten ? s->nlisten : 1); i++) {
        const char *text = s->nlisten ? s->listen[i] : POINT_DEFAULT_LISTEN;
        struct rdv_buf ma;
        rdv_buf_init(&ma, RDV_MA_MAX_BINARY);
        int err = rdv_ma_from_text(text, &ma);
        if (!err)
            err = rdv_host_listen(s->host, rdv_buf_head(&ma), ma.len);
        rdv_buf_free(&ma);
        if (err) {
            int saved = errno;
            rdv_error(s->log, "listen %s: %s%s%s", text, rdv_strerror(err), err == RDV_ERR_IO ? ": " : "",
                      err == RDV_ERR_IO ? strerror(saved) : "");
            errno = saved;
            return err;
        }
    }
    return rdv_host_update_record(s->host);
}

/* Every enabled dialect into the rendezvous server; none enabled means all of them. */
static void enable_dialects(struct rendezvous_server *s)
{
    bool any = false;
    for (unsigned i = 0; i < RDV_DIALECT_COUNT; i++)
        any = any || s->enabled[i];
    for (unsigned i = 0; i < RDV_DIALECT_COUNT && !any; i++)
        rendezvous_server_enable_dialect(s, rdv_dialect_get(i)->name);
    for (unsigned i = 0; i < RDV_DIALECT_COUNT; i++)
        if (s->enabled[i])
            rdv_rendezvous_server_enable(&s->rz, rdv_dialect_get(i), &s->dialects[i]);
}

int rendezvous_server_start(struct rendezvous_server *s)
{
    if (!s || s->started)
        return RDV_ERR_INVALID;
    int err = s->have_key ? RDV_OK : rdv_privkey_generate(RDV_KEY_ED25519, &s->key);
    if (!err && !s->have_key)
        err = key_taken(s);
    if (err)
        return err;
    memset(&s->rz, 0, sizeof(s->rz));
    enable_dialects(s);
    s->rz.store = point_store(s);
    s->rz.log = s->log;
    s->rz.max_message = s->max_message;
    s->rz.observer = (struct rdv_rendezvous_observer){
        .request = count_request, .malformed = count_malformed, .answer_problem = count_answer_problem, .ctx = s};
    s->started = true;
    if ((err = rdv_host_new(s->loop, &s->key, &s->limits, s->log, &s->host)) || (err = rdv_builtin_register(s->host)) ||
        (err = rdv_rendezvous_server_register(s->host, &s->rz)) || (err = start_listening(s)))
        return err;
    ev_timer_init(&s->expire_timer, expire_tick, s->expire_interval, s->expire_interval);
    s->expire_timer.data = s;
    ev_timer_start(s->loop, &s->expire_timer);
    return RDV_OK;
}

int rendezvous_server_peer_id(const struct rendezvous_server *s, char *out, size_t cap)
{
    if (!s || !out || !s->have_key)
        return RDV_ERR_INVALID;
    char id[RDV_PEERID_TEXT_MAX];
    int n = rdv_peerid_to_text(&s->self, id, sizeof(id));
    if (n < 0)
        return n;
    if ((size_t)n + 1 > cap)
        return RDV_ERR_TOO_LARGE;
    memcpy(out, id, (size_t)n + 1);
    return n;
}

int rendezvous_server_addr(const struct rendezvous_server *s, size_t i, char *out, size_t cap)
{
    if (!s || !out || !s->host)
        return RDV_ERR_INVALID;
    struct rdv_buf addrs[32];
    size_t n = rdv_host_listen_addrs(s->host, addrs, 32);
    int rc = RDV_ERR_NOT_FOUND;
    char text[RDV_MA_MAX_TEXT], id[RDV_PEERID_TEXT_MAX];
    if (i < n && rdv_ma_to_text(rdv_buf_head(&addrs[i]), addrs[i].len, text, sizeof(text)) >= 0 &&
        rdv_peerid_to_text(&s->self, id, sizeof(id)) >= 0) {
        int len = snprintf(out, cap, "%s/p2p/%s", text, id);
        rc = len >= 0 && (size_t)len < cap ? len : RDV_ERR_TOO_LARGE;
    }
    for (size_t k = 0; k < n; k++)
        rdv_buf_free(&addrs[k]);
    return rc;
}

void rendezvous_server_stop(struct rendezvous_server *s, double grace, void (*done)(void *arg), void *arg)
{
    if (!s || !s->host)
        return;
    ev_timer_stop(s->loop, &s->expire_timer);
    rdv_host_shutdown(s->host, grace, done, arg);
}

void rendezvous_server_free(struct rendezvous_server *s)
{
    if (!s)
        return;
    ev_timer_stop(s->loop, &s->expire_timer);
    rdv_host_free(s->host); /* before the store: pending calls then find their streams orphaned */
    rendezvous_store_free(s->store_handle);
    for (size_t i = 0; i < s->nlisten; i++)
        free(s->listen[i]);
    rdv_privkey_clear(&s->key);
    free(s);
}
