/* config.c: see config.h. One row of `keys[]` per setting: its name, kind, where it lives in the
 * struct, its bounds and its help line; flags, the config file and --help all read that table. */
#include "server/config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/params.h"
#include "p2p/multiaddr.h"
#include "util/buf.h"
#include "util/log.h"

enum key_kind { K_STR, K_LIST, K_U32, K_FLAG };

struct key {
    const char *name;
    enum key_kind kind;
    size_t off;
    uint32_t min, max;
    const char *def;   /* default as text (NULL: none) */
    const char *arg;   /* placeholder in --help */
    const char *help;
    bool reload;       /* SIGHUP applies a new value; else it takes a restart */
};

#define F(field) offsetof(struct rdv_server_config, field)
/* The six limits of dialect i, named PREFIX-default-ttl and so on. */
#define DIALECT_KEYS(prefix, i, ttl_def, ttl_lo, ttl_hi, what)                                                    \
    {prefix "default-ttl", K_U32, F(dialect[i].default_ttl), 1, 86400 * 3, ttl_def, "SECONDS",                       \
     what "TTL granted when a REGISTER asks for 0", true},                                                                \
    {prefix "min-ttl", K_U32, F(dialect[i].min_ttl), 1, 86400 * 3, ttl_lo, "SECONDS", what "smallest TTL accepted", true}, \
    {prefix "max-ttl", K_U32, F(dialect[i].max_ttl), 1, 86400 * 3, ttl_hi, "SECONDS", what "largest TTL accepted", true},  \
    {prefix "discover-limit", K_U32, F(dialect[i].discover_limit), 1, 100000, "1000", "N",                           \
     what "records returned when DISCOVER asks for 0", true},                                                             \
    {prefix "max-discover-limit", K_U32, F(dialect[i].max_discover_limit), 1, 100000, "1000", "N",                   \
     what "cap on records per DISCOVER", true},                                                                            \
    {prefix "max-per-peer", K_U32, F(dialect[i].max_per_peer), 1, 1000000, "1000", "N",                              \
     what "registrations one peer may hold", true}
static const struct key keys[] = {
    {"listen", K_LIST, F(listen), 0, 0, NULL, "MULTIADDR", "listen address, repeatable (default " RDV_DEFAULT_LISTEN ")", false},
    {"identity", K_STR, F(identity), 0, 0, "rendezvousd.key", "FILE", "identity key file; created (mode 0600) on first start", false},
    {"store", K_STR, F(store), 0, 0, "memory:", "URL", "memory:, postgres://..., or leveldb:/path", false},
    {"log-level", K_STR, F(log_level), 0, 0, "info", "LEVEL", "error, warn, info or debug", true},
    {"log-target", K_STR, F(log_target), 0, 0, "auto", "TARGET",
     "stderr, journal (stderr with <N> priority prefixes), syslog, or auto (journal when stderr is the journal)", false},
    {"log-file", K_STR, F(log_file), 0, 0, "", "FILE", "append the log to FILE instead (reopened on SIGHUP)", true},
    {"admin-listen", K_STR, F(admin_listen), 0, 0, "127.0.0.1:4041", "IP:PORT",
     "admin HTTP API, /metrics and page: IPV4:PORT, [IPV6]:PORT, PORT (on 127.0.0.1), or off", false},
    {"admin-token-file", K_STR, F(admin_token_file), 0, 0, "", "FILE",
     "bearer token required by the admin API (all but /healthz); re-read on SIGHUP", true},
    {"protocols", K_STR, F(protocols), 0, 0, RDV_DEFAULT_PROTOCOLS, "LIST",
     "dialects served, comma-separated: waku0 (/vac/waku/rendezvous/0.0.1), std (/rendezvous/1.0.0), "
     "waku1 (/vac/waku/rendezvous/1.0.0)", false},
    /* waku0 keeps the unprefixed names it had before the other dialects came */
    DIALECT_KEYS("", 0, "20", "1", "20", "/vac/waku/rendezvous/0.0.1: "),
    DIALECT_KEYS("std-", 1, "7200", "1", "259200", "/rendezvous/1.0.0: "),
    DIALECT_KEYS("waku1-", 2, "60", "60", "259200", "/vac/waku/rendezvous/1.0.0: "),
    {"max-connections", K_U32, F(max_connections), 1, 1000000, "4096", "N", "concurrent connections", false},
    {"max-registrations", K_U32, F(max_registrations), 1, 4000000000u, "10000000", "N",
     "live registrations in the store, all dialects (a new one beyond: E_UNAVAILABLE; PostgreSQL: within ~1 s)", true},
    {"max-namespaces", K_U32, F(max_namespaces), 1, 4000000000u, "1000000", "N",
     "distinct namespaces in the store (a REGISTER adding one beyond: E_UNAVAILABLE; PostgreSQL: within ~1 s)", true},
    {"max-store-mb", K_U32, F(max_store_mb), 1, 16777216, "4096", "MIB",
     "stored bytes: envelopes + 256 B per registration (a REGISTER beyond: E_UNAVAILABLE; PostgreSQL: table size)", true},
    {"admin-request-timeout", K_U32, F(admin_request_timeout), 1, 3600, "10", "SECONDS",
     "admin HTTP: a connection's whole request and answer (or its idle wait for the next) within this", false},
    {"admin-max-per-ip", K_U32, F(admin_max_per_ip), 1, 1024, "8", "N",
     "admin HTTP: connections from one client address (more are refused)", false},
    {"max-streams", K_U32, F(max_streams), 1, 4096, "64", "N", "concurrent streams per connection", false},
    {"max-message", K_U32, F(max_message), 1024, 1048576, "65536", "BYTES", "largest rendezvous message", false},
    {"handshake-timeout", K_U32, F(handshake_timeout), 1, 600, "10", "SECONDS", "time to finish Noise + yamux set-up", true},
    {"idle-timeout", K_U32, F(idle_timeout), 1, 86400, "120", "SECONDS",
     "close a connection after this long without stream data either way (open streams or not)", true},
    /* connection lifetime and per-source limits (docs/limits.md) */
    {"max-handshakes", K_U32, F(max_handshakes), 1, 1000000, "512", "N",
     "inbound connections still in their handshake (at most max-connections); a newcomer beyond evicts the oldest",
     true},
    {"stream-negotiate-timeout", K_U32, F(stream_negotiate_timeout), 1, 600, "10", "SECONDS",
     "a new stream must agree on its protocol within this (else reset)", true},
    {"stream-idle-timeout", K_U32, F(stream_idle_timeout), 1, 86400, "60", "SECONDS",
     "reset a stream after this long without data either way", true},
    {"per-address-connections", K_U32, F(per_address_connections), 1, 1000000, "256", "N",
     "connections from one source address (prefix below); more are refused", true},
    {"per-address-handshake-rate", K_U32, F(per_address_handshake_rate), 1, 1000000, "100", "PER_SECOND",
     "new connections per second from one source (bursts of twice that); faster ones are refused", true},
    {"per-address-request-rate", K_U32, F(per_address_request_rate), 1, 10000000, "256", "PER_SECOND",
     "rendezvous requests per second from one source (bursts of twice that); beyond: stream reset", true},
    {"per-address-prefix4", K_U32, F(per_address_prefix4), 1, 32, "32", "BITS", "IPv4 prefix that names one source", false},
    {"per-address-prefix6", K_U32, F(per_address_prefix6), 1, 128, "64", "BITS", "IPv6 prefix that names one source",
     false},
    {"per-address-table", K_U32, F(per_address_table), 16, 100000000, "65536", "N",
     "sources tracked at once (new sources beyond are refused)", false},
    {"max-envelope-bytes", K_U32, F(max_envelope_bytes), 256, 8192, "8192", "BYTES",
     "largest signed envelope a REGISTER may carry, all dialects (larger: E_INVALID_PEER_INFO)", true},
    /* the output budget (docs/limits.md): at least one maximal (4 MiB) DISCOVER answer */
    {"max-conn-output-mb", K_U32, F(max_conn_output_mb), 5, 65536, "8", "MIB",
     "output queued for one connection; at it the connection's next requests wait (twice it: stream reset)", true},
    {"max-output-mb", K_U32, F(max_output_mb), 5, 1048576, "512", "MIB",
     "output queued for all connections; at it every connection's next requests wait (twice it: stream reset)", true},
    {"output-stall-timeout", K_U32, F(output_stall_timeout), 1, 86400, "30", "SECONDS",
     "close a connection that takes none of its output (or stays at max-conn-output-mb) this long", true},
    {"expire-interval-ms", K_U32, F(expire_interval_ms), 10, 3600000, "1000", "MS", "how often expired records are swept", true},
    {"store-timeout-ms", K_U32, F(store_timeout_ms), 10, 600000, "1000", "MS",
     "postgres: a store operation unanswered this long fails (REGISTER/DISCOVER get E_UNAVAILABLE)", false},
    {"store-pool", K_U32, F(store_pool), 1, 64, "4", "N", "postgres: database connections per process", false},
    {"store-read", K_STR, F(store_read), 0, 0, "", "URL", "postgres: standby(s) for DISCOVER and browsing (primary as fallback)", false},
    {"store-read-max-lag-ms", K_U32, F(store_read_max_lag_ms), 1, 3600000, "2000", "MS",
     "postgres: read from the primary while the standby replays further behind than this", false},
    {"store-prepared", K_U32, F(store_prepared), 0, 1, "1", "0|1",
     "postgres: 0 = no prepared statements (pgbouncer < 1.21 in transaction mode)", false},
    /* pg: the admin queries' own pool */
    {"store-admin-pool", K_U32, F(store_admin_pool), 0, 8, "1", "N",
     "postgres: connections for admin queries (stats, browsing), apart from store-pool; 0 = share store-pool", false},
    {"store-admin-timeout-ms", K_U32, F(store_admin_timeout_ms), 10, 600000, "5000", "MS",
     "postgres: an admin query (stats, browsing) unanswered this long fails; it resets only an admin connection",
     false},
    {"store-batch", K_U32, F(store_batch), 1, 256, "64", "N",
     "postgres: operations that queued while a commit flushed go together, up to N per transaction (1 = off)", false},
    {"verify-cache-entries", K_U32, F(verify_cache_entries), 0, 100000000, "1048576", "N",
     "verified envelopes remembered, so a re-sent envelope skips its signature check (0: off)", false},
    {"verify-cache-mb", K_U32, F(verify_cache_mb), 1, 65536, "256", "MIB", "memory the verified-envelope cache may use", false},
    {"init-db", K_FLAG, F(init_db), 0, 0, NULL, NULL, "create the database schema (postgres) and exit", false},
    {"check-config", K_FLAG, F(check_config), 0, 0, NULL, NULL,
     "(-t) check the flags and the config file, print each problem, exit 0 (valid) or 1", false},
    {"help", K_FLAG, F(help), 0, 0, NULL, NULL, "(-h) show this help and exit", false},
    {"version", K_FLAG, F(version), 0, 0, NULL, NULL, "(-V) show the version and exit", false},
};
#undef F
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const struct key *find_key(const char *name, size_t len)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strlen(keys[i].name) == len && strncmp(keys[i].name, name, len) == 0)
            return &keys[i];
    return NULL;
}

/* Appends one problem as its own line, so that every problem is reported, not just the first. */
__attribute__((format(printf, 3, 4)))
static void add_err(char *err, size_t errlen, const char *fmt, ...)
{
    size_t used = strnlen(err, errlen);
    if (used + 2 >= errlen)
        return;
    if (used)
        err[used++] = '\n';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + used, errlen - used, fmt, ap);
    va_end(ap);
}

static int set_str(char **slot, const char *value, char *err, size_t errlen)
{
    char *dup = strdup(value);
    if (!dup) {
        add_err(err, errlen, "out of memory");
        return -1;
    }
    free(*slot);
    *slot = dup;
    return 0;
}

static void clear_list(struct rdv_server_config *c)
{
    for (unsigned i = 0; i < c->nlisten; i++) {
        free(c->listen[i]);
        c->listen[i] = NULL;
    }
    c->nlisten = 0;
}

/* A list given in a later source (the command line after the file) replaces the earlier list
 * instead of adding to it, as "flags override the file" promises. */
static int add_list(struct rdv_server_config *c, const struct key *k, const char *value, char *err, size_t errlen)
{
    if (c->listen_src != c->src) {
        clear_list(c);
        c->listen_src = c->src;
    }
    if (c->nlisten >= RDV_CONFIG_MAX_LISTEN) {
        add_err(err, errlen, "%s: at most %d values", k->name, RDV_CONFIG_MAX_LISTEN);
        return -1;
    }
    if (set_str(&c->listen[c->nlisten], value, err, errlen))
        return -1;
    c->nlisten++;
    return 0;
}

static int set_u32(const struct key *k, uint32_t *slot, const char *value, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(value, &end, 10);
    if (!*value || *end || errno || value[0] == '-' || v < k->min || v > k->max) {
        add_err(err, errlen, "%s: expected a whole number from %u to %u, got '%s'", k->name, k->min, k->max, value);
        return -1;
    }
    *slot = (uint32_t)v;
    return 0;
}

static int set_value(struct rdv_server_config *c, const struct key *k, const char *value, char *err, size_t errlen)
{
    void *slot = (char *)c + k->off;
    switch (k->kind) {
    case K_STR:
        return set_str(slot, value, err, errlen);
    case K_LIST:
        return add_list(c, k, value, err, errlen);
    case K_FLAG:
        *(int *)slot = 1;
        return 0;
    case K_U32:
        return set_u32(k, slot, value, err, errlen);
    }
    return -1;
}

int rdv_config_set(struct rdv_server_config *c, const char *key, const char *value, char *err, size_t errlen)
{
    const struct key *k = find_key(key, strlen(key));
    if (!k) {
        add_err(err, errlen, "unknown setting '%s' (see --help)", key);
        return -1;
    }
    return set_value(c, k, value, err, errlen);
}

void rdv_config_defaults(struct rdv_server_config *c)
{
    char err[128] = "";
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].def)
            (void)set_value(c, &keys[i], keys[i].def, err, sizeof(err));
    c->src = RDV_CONFIG_SRC_FILE;
}

void rdv_config_free(struct rdv_server_config *c)
{
    clear_list(c);
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].kind == K_STR)
            free(*(char **)((char *)c + keys[i].off));
    free(c->config_path);
    memset(c, 0, sizeof(*c));
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/* The value part of a `key = value` line, in place: "double" or 'single' quotes keep spaces and
 * '#' (a backslash escapes " and \ inside double quotes); unquoted, a '#' after a space or tab
 * starts a comment (so `identity = k.key # mine` means k.key, while `a#b` stays one value).
 * Returns NULL with a message for an unterminated quote or text after the closing quote. */
static char *parse_value(char *v, const char **why)
{
    if (*v == '"' || *v == '\'') {
        char q = *v, *out = v, *in = v + 1;
        for (; *in && *in != q; in++) {
            if (q == '"' && *in == '\\' && (in[1] == '"' || in[1] == '\\'))
                in++;
            *out++ = *in;
        }
        if (*in != q) {
            *why = "unterminated quote";
            return NULL;
        }
        *out = '\0';
        char *rest = trim(in + 1);
        if (*rest && *rest != '#') {
            *why = "text after the closing quote (put a comment after ' #')";
            return NULL;
        }
        return v;
    }
    for (char *p = v; *p; p++)
        if (*p == '#' && p > v && (p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            break;
        }
    return trim(v);
}

/* One non-blank, non-comment line of a config file. */
static void load_line(struct rdv_server_config *c, char *s, const char *where, char *err, size_t errlen)
{
    char msg[512] = "";
    char *eq = strchr(s, '=');
    if (!eq) {
        add_err(err, errlen, "%s: expected key = value", where);
        return;
    }
    *eq = '\0';
    const char *key = trim(s), *why = NULL;
    const struct key *k = find_key(key, strlen(key));
    if (k && k->kind == K_FLAG && strcmp(key, "init-db") != 0)
        k = NULL; /* help/version/check-config make no sense in a file */
    char *value = parse_value(trim(eq + 1), &why);
    if (!k)
        add_err(err, errlen, "%s: unknown setting '%s' (see rendezvousd --help)", where, key);
    else if (!value)
        add_err(err, errlen, "%s: %s: %s", where, key, why);
    else if (set_value(c, k, value, msg, sizeof(msg)))
        add_err(err, errlen, "%s: %s", where, msg);
}

int rdv_config_load_file(struct rdv_server_config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        add_err(err, errlen, "config %s: %s", path, strerror(errno));
        return -1;
    }
    size_t before = strnlen(err, errlen);
    char line[4096], where[300];
    int lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        snprintf(where, sizeof(where), "%s:%d", path, lineno);
        if (!strchr(line, '\n') && !feof(f)) {
            add_err(err, errlen, "%s: line too long", where);
            break;
        }
        char *s = trim(line);
        if (*s && *s != '#')
            load_line(c, s, where, err, errlen);
    }
    fclose(f);
    return strnlen(err, errlen) > before ? -1 : 0;
}

/* --config is applied first so that flags override the file wherever they appear. */
static int apply_config_flag(struct rdv_server_config *c, int argc, char **argv, char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *path = NULL;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            path = argv[i] + 9;
        if (path && (set_str(&c->config_path, path, err, errlen) || rdv_config_load_file(c, path, err, errlen)))
            return -1;
    }
    return 0;
}

static const char *short_flag(const char *a)
{
    static const char *const map[][2] = {{"-h", "--help"}, {"-V", "--version"}, {"-t", "--check-config"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(a, map[i][0]) == 0)
            return map[i][1];
    return a;
}

/* One command-line argument (and its value, which may be the next one); returns the index of the
 * last argument it used. */
static int apply_arg(struct rdv_server_config *c, int argc, char **argv, int i, char *err, size_t errlen)
{
    const char *a = short_flag(argv[i]);
    if (strncmp(a, "--", 2) != 0) {
        add_err(err, errlen, "unexpected argument '%s' (options start with --; see --help)", a);
        return i;
    }
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    if (nlen == 6 && strncmp(name, "config", 6) == 0)
        return i + (eq ? 0 : 1);
    const struct key *k = find_key(name, nlen);
    if (!k) {
        add_err(err, errlen, "unknown option '%s' (see --help)", a);
        return i;
    }
    const char *value = eq ? eq + 1 : NULL;
    if (k->kind != K_FLAG && !value) {
        if (i + 1 >= argc) {
            add_err(err, errlen, "option --%s needs a value (%s)", k->name, k->arg ? k->arg : "");
            return i;
        }
        value = argv[++i];
    }
    (void)set_value(c, k, value ? value : "", err, errlen);
    return i;
}

int rdv_config_parse_args(struct rdv_server_config *c, int argc, char **argv, char *err, size_t errlen)
{
    c->src = RDV_CONFIG_SRC_FILE;
    int rc = apply_config_flag(c, argc, argv, err, errlen);
    c->src = RDV_CONFIG_SRC_ARGS;
    size_t before = strnlen(err, errlen);
    for (int i = 1; i < argc; i++)
        i = apply_arg(c, argc, argv, i, err, errlen);
    return rc || strnlen(err, errlen) > before ? -1 : 0;
}

/* "" for waku0 (its key names predate the other dialects), else "NAME-". */
static void dialect_prefix(int i, char *p, size_t n)
{
    snprintf(p, n, "%s%s", i == RDV_DIALECT_WAKU0 ? "" : rdv_dialect_get((unsigned)i)->name,
             i == RDV_DIALECT_WAKU0 ? "" : "-");
}

static void check_dialects(const struct rdv_server_config *c, char *err, size_t errlen)
{
    for (int i = 0; i < RDV_CONFIG_DIALECTS; i++) {
        const struct rdv_dialect_settings *d = &c->dialect[i];
        char p[32];
        dialect_prefix(i, p, sizeof(p));
        if (d->min_ttl > d->max_ttl || d->default_ttl < d->min_ttl || d->default_ttl > d->max_ttl)
            add_err(err, errlen, "TTL bounds must satisfy %smin-ttl <= %sdefault-ttl <= %smax-ttl (got %u <= %u <= %u)",
                    p, p, p, d->min_ttl, d->default_ttl, d->max_ttl);
        if (d->discover_limit > d->max_discover_limit)
            add_err(err, errlen, "%sdiscover-limit (%u) exceeds %smax-discover-limit (%u)", p, d->discover_limit, p,
                    d->max_discover_limit);
    }
}

static void check_output_budget(const struct rdv_server_config *c, char *err, size_t errlen)
{
    if (c->max_output_mb < c->max_conn_output_mb)
        add_err(err, errlen, "max-output-mb (%u) is below max-conn-output-mb (%u): one connection could not use its own",
                c->max_output_mb, c->max_conn_output_mb);
}

static void check_protocols(const char *protocols, char *err, size_t errlen)
{
    char list[256], *save = NULL;
    snprintf(list, sizeof(list), "%s", protocols);
    int n = 0;
    for (char *t = strtok_r(list, ", ", &save); t; t = strtok_r(NULL, ", ", &save), n++)
        if (!rdv_dialect_find(t))
            add_err(err, errlen, "protocols: unknown dialect '%s' (expected waku0, std, waku1 or their protocol ids)", t);
    if (n == 0)
        add_err(err, errlen, "protocols: no dialect to serve (expected e.g. %s)", RDV_DEFAULT_PROTOCOLS);
}

/* A listen address must be a TCP multiaddr: say so with an example, since host:port is the usual slip. */
static void check_listen(const char *text, char *err, size_t errlen)
{
    struct rdv_buf ma;
    struct sockaddr_storage ss;
    socklen_t sl;
    rdv_buf_init(&ma, RDV_MA_MAX_BINARY);
    int bad = rdv_ma_from_text(text, &ma) || rdv_ma_tcp_sockaddr(rdv_buf_head(&ma), ma.len, &ss, &sl);
    rdv_buf_free(&ma);
    if (bad)
        add_err(err, errlen, "listen '%s': expected a TCP multiaddr like /ip4/0.0.0.0/tcp/4040 or /ip6/::/tcp/4040", text);
}

static void check_strings(const struct rdv_server_config *c, char *err, size_t errlen)
{
    enum rdv_log_level lvl;
    struct sockaddr_storage ss;
    socklen_t sl;
    if (rdv_log_level_parse(c->log_level, &lvl))
        add_err(err, errlen, "log-level: expected error, warn, info or debug, got '%s'", c->log_level);
    if (rdv_config_log_target(c) < 0)
        add_err(err, errlen, "log-target: expected auto, stderr, journal or syslog, got '%s'", c->log_target);
    if (*c->admin_listen && strcmp(c->admin_listen, "off") != 0 && rdv_admin_parse_listen(c->admin_listen, &ss, &sl))
        add_err(err, errlen, "admin-listen '%s': expected IPV4:PORT (127.0.0.1:4041), [IPV6]:PORT ([::1]:4041), PORT or off",
                c->admin_listen);
    if (!*c->identity)
        add_err(err, errlen, "identity: expected a file name");
    if (!*c->store)
        add_err(err, errlen, "store: expected memory:, postgres://... or leveldb:/path");
}

int rdv_config_finish(struct rdv_server_config *c, char *err, size_t errlen)
{
    size_t before = strnlen(err, errlen);
    if (c->nlisten == 0 && set_value(c, &keys[0], RDV_DEFAULT_LISTEN, err, errlen))
        return -1;
    for (unsigned i = 0; i < c->nlisten; i++)
        check_listen(c->listen[i], err, errlen);
    check_dialects(c, err, errlen);
    check_output_budget(c, err, errlen);
    check_protocols(c->protocols, err, errlen);
    check_strings(c, err, errlen);
    return strnlen(err, errlen) > before ? -1 : 0;
}

int rdv_config_log_target(const struct rdv_server_config *c)
{
    static const char *const names[] = {"auto", "stderr", "journal", "syslog"};
    for (int i = 0; i < 4; i++)
        if (strcasecmp(c->log_target, names[i]) == 0)
            return i;
    return -1;
}

/* A key's value as text, for the reload log. */
static void value_text(const struct rdv_server_config *c, const struct key *k, char *out, size_t n)
{
    const void *slot = (const char *)c + k->off;
    size_t used = 0;
    out[0] = '\0';
    switch (k->kind) {
    case K_STR:
        snprintf(out, n, "%s", *(char *const *)slot);
        break;
    case K_U32:
        snprintf(out, n, "%u", *(const uint32_t *)slot);
        break;
    case K_FLAG:
        snprintf(out, n, "%d", *(const int *)slot);
        break;
    case K_LIST:
        for (unsigned i = 0; i < c->nlisten && used + 1 < n; i++)
            used += (size_t)snprintf(out + used, n - used, "%s%s", i ? "," : "", c->listen[i]);
        break;
    }
}

void rdv_config_diff(const struct rdv_server_config *old, const struct rdv_server_config *new,
                     rdv_config_diff_cb cb, void *ctx)
{
    for (size_t i = 0; i < NKEYS; i++) {
        char a[1024], b[1024];
        if (keys[i].kind == K_FLAG)
            continue;
        value_text(old, &keys[i], a, sizeof(a));
        value_text(new, &keys[i], b, sizeof(b));
        if (strcmp(a, b) != 0)
            cb(ctx, keys[i].name, a, b, keys[i].reload);
    }
}

void rdv_config_take_reloadable(struct rdv_server_config *c, struct rdv_server_config *n)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];
        if (!k->reload)
            continue;
        void *to = (char *)c + k->off, *from = (char *)n + k->off;
        if (k->kind == K_STR) {
            char *t = *(char **)to;
            *(char **)to = *(char **)from;
            *(char **)from = t;
        } else if (k->kind == K_U32) {
            *(uint32_t *)to = *(const uint32_t *)from;
        }
    }
}

void rdv_config_usage(FILE *out, const char *prog)
{
    fprintf(out, "usage: %s [--config FILE] [OPTIONS]\n\n"
                 "Rendezvous server over libp2p for every Waku generation: /vac/waku/rendezvous/0.0.1,\n"
                 "/rendezvous/1.0.0 and /vac/waku/rendezvous/1.0.0, served from one store.\n"
                 "Every option may also be set in the config file as `key = value` (see rendezvousd.conf(5));\n"
                 "options on the command line override the file, and a repeated --listen replaces its list.\n\n"
                 "  --config FILE                  read settings from FILE first\n", prog);
    for (size_t i = 0; i < NKEYS; i++) {
        char lhs[64];
        snprintf(lhs, sizeof(lhs), "--%s%s%s", keys[i].name, keys[i].arg ? " " : "", keys[i].arg ? keys[i].arg : "");
        fprintf(out, "  %-30s %s", lhs, keys[i].help);
        if (keys[i].def && *keys[i].def && keys[i].kind != K_LIST)
            fprintf(out, " [%s]", keys[i].def);
        fputc('\n', out);
    }
    fprintf(out, "\nSignals: SIGHUP reloads the config file (log level and file, admin token, TTLs and limits);\n"
                 "SIGTERM or SIGINT drains connections and exits.\n"
                 "Exit status: 0 stopped cleanly, 1 failed at run time (bind, store, identity), 2 invalid\n"
                 "configuration (--check-config: 1).\n");
}
