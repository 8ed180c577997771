/* config.c: see config.h. One row of `keys[]` per setting: its name, kind, where it lives in the
 * struct, its bounds and its help line; flags, the config file and --help all read that table. */
#include "server/config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum key_kind { K_STR, K_LIST, K_U32, K_FLAG };

struct key {
    const char *name;
    enum key_kind kind;
    size_t off;
    uint32_t min, max;
    const char *def;   /* default as text (NULL: none) */
    const char *arg;   /* placeholder in --help */
    const char *help;
};

#define F(field) offsetof(struct rdv_server_config, field)
/* The six limits of dialect i, named PREFIX-default-ttl and so on. */
#define DIALECT_KEYS(prefix, i, ttl_def, ttl_lo, ttl_hi, what)                                                    \
    {prefix "default-ttl", K_U32, F(dialect[i].default_ttl), 1, 86400 * 3, ttl_def, "SECONDS",                       \
     what "TTL granted when a REGISTER asks for 0"},                                                                \
    {prefix "min-ttl", K_U32, F(dialect[i].min_ttl), 1, 86400 * 3, ttl_lo, "SECONDS", what "smallest TTL accepted"}, \
    {prefix "max-ttl", K_U32, F(dialect[i].max_ttl), 1, 86400 * 3, ttl_hi, "SECONDS", what "largest TTL accepted"},  \
    {prefix "discover-limit", K_U32, F(dialect[i].discover_limit), 1, 100000, "1000", "N",                           \
     what "records returned when DISCOVER asks for 0"},                                                             \
    {prefix "max-discover-limit", K_U32, F(dialect[i].max_discover_limit), 1, 100000, "1000", "N",                   \
     what "cap on records per DISCOVER"},                                                                            \
    {prefix "max-per-peer", K_U32, F(dialect[i].max_per_peer), 1, 1000000, "1000", "N",                              \
     what "registrations one peer may hold"}
static const struct key keys[] = {
    {"listen", K_LIST, F(listen), 0, 0, NULL, "MULTIADDR", "listen address, repeatable (default " RDV_DEFAULT_LISTEN ")"},
    {"identity", K_STR, F(identity), 0, 0, "rendezvousd.key", "FILE", "identity key file; created (mode 0600) on first start"},
    {"store", K_STR, F(store), 0, 0, "memory:", "URL", "memory:, postgres://..., or leveldb:/path"},
    {"log-level", K_STR, F(log_level), 0, 0, "info", "LEVEL", "error, warn, info or debug"},
    {"admin-listen", K_STR, F(admin_listen), 0, 0, "127.0.0.1:4041", "IP:PORT",
     "admin HTTP API, /metrics and page: IPV4:PORT, [IPV6]:PORT, PORT (on 127.0.0.1), or off"},
    {"admin-token-file", K_STR, F(admin_token_file), 0, 0, "", "FILE", "bearer token required by the admin API (all but /healthz)"},
    {"protocols", K_STR, F(protocols), 0, 0, RDV_DEFAULT_PROTOCOLS, "LIST",
     "dialects served, comma-separated: waku0 (/vac/waku/rendezvous/0.0.1), std (/rendezvous/1.0.0), "
     "waku1 (/vac/waku/rendezvous/1.0.0)"},
    /* waku0 keeps the unprefixed names it had before the other dialects came */
    DIALECT_KEYS("", 0, "20", "1", "20", "/vac/waku/rendezvous/0.0.1: "),
    DIALECT_KEYS("std-", 1, "7200", "1", "259200", "/rendezvous/1.0.0: "),
    DIALECT_KEYS("waku1-", 2, "60", "60", "259200", "/vac/waku/rendezvous/1.0.0: "),
    {"max-connections", K_U32, F(max_connections), 1, 1000000, "4096", "N", "concurrent connections"},
    {"max-streams", K_U32, F(max_streams), 1, 4096, "64", "N", "concurrent streams per connection"},
    {"max-message", K_U32, F(max_message), 1024, 1048576, "65536", "BYTES", "largest rendezvous message"},
    {"handshake-timeout", K_U32, F(handshake_timeout), 1, 600, "10", "SECONDS", "time to finish Noise + yamux set-up"},
    {"idle-timeout", K_U32, F(idle_timeout), 1, 86400, "120", "SECONDS", "close connections idle this long"},
    {"expire-interval-ms", K_U32, F(expire_interval_ms), 10, 3600000, "1000", "MS", "how often expired records are swept"},
    {"store-timeout-ms", K_U32, F(store_timeout_ms), 10, 600000, "1000", "MS",
     "postgres: a store operation unanswered this long fails (REGISTER/DISCOVER get E_UNAVAILABLE)"},
    {"store-pool", K_U32, F(store_pool), 1, 64, "4", "N", "postgres: database connections per process"},
    {"store-read", K_STR, F(store_read), 0, 0, "", "URL", "postgres: standby(s) for DISCOVER and browsing (primary as fallback)"},
    {"store-read-max-lag-ms", K_U32, F(store_read_max_lag_ms), 1, 3600000, "2000", "MS",
     "postgres: read from the primary while the standby replays further behind than this"},
    {"store-prepared", K_U32, F(store_prepared), 0, 1, "1", "0|1",
     "postgres: 0 = no prepared statements (pgbouncer < 1.21 in transaction mode)"},
    {"verify-cache-entries", K_U32, F(verify_cache_entries), 0, 100000000, "1048576", "N",
     "verified envelopes remembered, so a re-sent envelope skips its signature check (0: off)"},
    {"verify-cache-mb", K_U32, F(verify_cache_mb), 1, 65536, "256", "MIB", "memory the verified-envelope cache may use"},
    {"init-db", K_FLAG, F(init_db), 0, 0, NULL, NULL, "create the database schema (postgres) and exit"},
    {"help", K_FLAG, F(help), 0, 0, NULL, NULL, "show this help and exit"},
    {"version", K_FLAG, F(version), 0, 0, NULL, NULL, "show the version and exit"},
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

static int set_str(char **slot, const char *value, char *err, size_t errlen)
{
    char *dup = strdup(value);
    if (!dup) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    free(*slot);
    *slot = dup;
    return 0;
}

static int set_value(struct rdv_server_config *c, const struct key *k, const char *value, char *err, size_t errlen)
{
    void *slot = (char *)c + k->off;
    switch (k->kind) {
    case K_STR:
        return set_str(slot, value, err, errlen);
    case K_LIST:
        if (c->nlisten >= RDV_CONFIG_MAX_LISTEN) {
            snprintf(err, errlen, "%s: at most %d values", k->name, RDV_CONFIG_MAX_LISTEN);
            return -1;
        }
        if (set_str(&c->listen[c->nlisten], value, err, errlen))
            return -1;
        c->nlisten++;
        return 0;
    case K_FLAG:
        *(int *)slot = 1;
        return 0;
    case K_U32: {
        char *end;
        errno = 0;
        unsigned long v = strtoul(value, &end, 10);
        if (!*value || *end || errno || value[0] == '-' || v < k->min || v > k->max) {
            snprintf(err, errlen, "%s: expected a whole number from %u to %u, got '%s'", k->name, k->min, k->max, value);
            return -1;
        }
        *(uint32_t *)slot = (uint32_t)v;
        return 0;
    }
    }
    return -1;
}

int rdv_config_set(struct rdv_server_config *c, const char *key, const char *value, char *err, size_t errlen)
{
    const struct key *k = find_key(key, strlen(key));
    if (!k) {
        snprintf(err, errlen, "unknown setting '%s' (see --help)", key);
        return -1;
    }
    return set_value(c, k, value, err, errlen);
}

void rdv_config_defaults(struct rdv_server_config *c)
{
    char err[128];
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].def)
            (void)set_value(c, &keys[i], keys[i].def, err, sizeof(err));
}

void rdv_config_free(struct rdv_server_config *c)
{
    for (unsigned i = 0; i < c->nlisten; i++)
        free(c->listen[i]);
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].kind == K_STR)
            free(*(char **)((char *)c + keys[i].off));
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

int rdv_config_load_file(struct rdv_server_config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096], msg[256];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, errlen, "%s:%d: line too long", path, lineno);
            rc = -1;
            break;
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected key = value", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        const char *key = trim(s);
        const struct key *k = find_key(key, strlen(key));
        if (k && k->kind == K_FLAG && strcmp(key, "init-db") != 0)
            k = NULL; /* help/version make no sense in a file */
        if (!k) {
            snprintf(err, errlen, "%s:%d: unknown setting '%s'", path, lineno, key);
            rc = -1;
        } else if (set_value(c, k, trim(eq + 1), msg, sizeof(msg))) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
            rc = -1;
        }
    }
    fclose(f);
    return rc;
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
        if (path && rdv_config_load_file(c, path, err, errlen))
            return -1;
    }
    return 0;
}

int rdv_config_parse_args(struct rdv_server_config *c, int argc, char **argv, char *err, size_t errlen)
{
    if (apply_config_flag(c, argc, argv, err, errlen))
        return -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0)
            a = "--help";
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s' (see --help)", a);
            return -1;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        if (nlen == 6 && strncmp(name, "config", 6) == 0) {
            i += eq ? 0 : 1;
            continue;
        }
        const struct key *k = find_key(name, nlen);
        if (!k) {
            snprintf(err, errlen, "unknown option '%s' (see --help)", a);
            return -1;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (k->kind != K_FLAG && !value) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "option --%s needs a value", k->name);
                return -1;
            }
            value = argv[++i];
        }
        if (set_value(c, k, value ? value : "", err, errlen))
            return -1;
    }
    return 0;
}

int rdv_config_finish(struct rdv_server_config *c, char *err, size_t errlen)
{
    if (c->nlisten == 0 && set_value(c, &keys[0], RDV_DEFAULT_LISTEN, err, errlen))
        return -1;
    for (int i = 0; i < RDV_CONFIG_DIALECTS; i++) {
        const struct rdv_dialect_settings *d = &c->dialect[i];
        char p[32]; /* the keys' prefix: "" for waku0 (its names predate the others), else "NAME-" */
        snprintf(p, sizeof(p), "%s%s", i == RDV_DIALECT_WAKU0 ? "" : rdv_dialect_get((unsigned)i)->name,
                 i == RDV_DIALECT_WAKU0 ? "" : "-");
        if (d->min_ttl > d->max_ttl || d->default_ttl < d->min_ttl || d->default_ttl > d->max_ttl) {
            snprintf(err, errlen, "TTL bounds must satisfy %smin-ttl <= %sdefault-ttl <= %smax-ttl (got %u <= %u <= %u)",
                     p, p, p, d->min_ttl, d->default_ttl, d->max_ttl);
            return -1;
        }
        if (d->discover_limit > d->max_discover_limit) {
            snprintf(err, errlen, "%sdiscover-limit (%u) exceeds %smax-discover-limit (%u)", p, d->discover_limit, p,
                     d->max_discover_limit);
            return -1;
        }
    }
    return 0;
}

void rdv_config_usage(FILE *out, const char *prog)
{
    fprintf(out, "usage: %s [--config FILE] [OPTIONS]\n\n"
                 "Rendezvous server over libp2p for every Waku generation: /vac/waku/rendezvous/0.0.1,\n"
                 "/rendezvous/1.0.0 and /vac/waku/rendezvous/1.0.0, served from one store.\n"
                 "Every option may also be set in the config file as `key = value`.\n\n"
                 "  --config FILE                  read settings from FILE first\n", prog);
    for (size_t i = 0; i < NKEYS; i++) {
        char lhs[64];
        snprintf(lhs, sizeof(lhs), "--%s%s%s", keys[i].name, keys[i].arg ? " " : "", keys[i].arg ? keys[i].arg : "");
        fprintf(out, "  %-30s %s", lhs, keys[i].help);
        if (keys[i].def && *keys[i].def && keys[i].kind != K_LIST)
            fprintf(out, " [%s]", keys[i].def);
        fputc('\n', out);
    }
}
