/* config.h: rendezvousd's settings: one table of keys shared by the command line (--key VALUE or
 * --key=VALUE) and the optional config file (`key = value` lines, # comments). The file is read
 * first, then the command line overrides it; `listen` may repeat in both. Pure: no I/O except
 * reading the named config file. */
#ifndef RDV_SERVER_CONFIG_H
#define RDV_SERVER_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "rendezvous/dialect.h"

#define RDV_DEFAULT_PORT 4040
#define RDV_DEFAULT_LISTEN "/ip4/0.0.0.0/tcp/4040"
#define RDV_CONFIG_MAX_LISTEN 16
#define RDV_CONFIG_DIALECTS RDV_DIALECT_COUNT /* indexed by enum rdv_dialect_id */
#define RDV_DEFAULT_PROTOCOLS "waku0,std,waku1"

/* The limits of one dialect (rendezvous/dialect.h has their defaults and meaning). */
struct rdv_dialect_settings {
    uint32_t default_ttl, min_ttl, max_ttl;
    uint32_t discover_limit, max_discover_limit, max_per_peer;
};

struct rdv_server_config {
    char *listen[RDV_CONFIG_MAX_LISTEN];
    unsigned nlisten;
    char *identity;          /* key file, created on first start */
    char *store;             /* store URL */
    char *log_level;
    char *admin_listen;      /* IP:PORT; "off" or "" = no admin endpoint */
    char *admin_token_file;
    char *protocols;         /* the dialects served, by name or protocol id, comma-separated */
    struct rdv_dialect_settings dialect[RDV_CONFIG_DIALECTS];
    uint32_t max_connections, max_streams, max_message;
    uint32_t handshake_timeout, idle_timeout; /* seconds */
    uint32_t expire_interval_ms;
    uint32_t store_timeout_ms, store_pool; /* postgres */
    char *store_read;                      /* postgres: standbys for reads ("" none) */
    uint32_t store_read_max_lag_ms, store_prepared;
    uint32_t verify_cache_entries, verify_cache_mb; /* p2p/record_cache.h; 0 entries: off */
    int help, version, init_db;
};

/* Fills every key with its default. */
void rdv_config_defaults(struct rdv_server_config *c);
void rdv_config_free(struct rdv_server_config *c);
/* Sets one key from text. Returns 0, or -1 with a message in err. */
int rdv_config_set(struct rdv_server_config *c, const char *key, const char *value, char *err, size_t errlen);
/* Reads a config file. Returns 0, or -1 with "path:line: message" in err. */
int rdv_config_load_file(struct rdv_server_config *c, const char *path, char *err, size_t errlen);
/* Applies --config FILE (if any) then every other flag. Returns 0, or -1 with a message in err. */
int rdv_config_parse_args(struct rdv_server_config *c, int argc, char **argv, char *err, size_t errlen);
/* Checks cross-key constraints (min <= default <= max, ...) and fills the default listen address. */
int rdv_config_finish(struct rdv_server_config *c, char *err, size_t errlen);
void rdv_config_usage(FILE *out, const char *prog);

#endif
