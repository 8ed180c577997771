/* config.h: rendezvousd's settings: one table of keys shared by the command line (--key VALUE or
 * --key=VALUE) and the optional config file (`key = value` lines, # comments, "quoted" values;
 * rendezvousd.conf(5)). The file is read first, then the command line overrides it; `listen` may
 * repeat in both, and a list on the command line replaces the file's. Every problem found is
 * reported, one per line in err, so --check-config can show them all. Pure: no I/O except reading
 * the named config file. */
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
#define RDV_CONFIG_ERR_MAX 4096 /* room for every problem, one per line */

/* Exit statuses of rendezvousd (rendezvousd(8); RestartPreventExitStatus= in the unit). */
#define RDV_EXIT_OK 0
#define RDV_EXIT_RUNTIME 1 /* bind, store, identity failures; --check-config found problems */
#define RDV_EXIT_CONFIG 2  /* invalid flags or config file: restarting will not help */

/* Where a setting came from: a list set again from a later source starts afresh. */
enum rdv_config_src { RDV_CONFIG_SRC_DEFAULT = 0, RDV_CONFIG_SRC_FILE, RDV_CONFIG_SRC_ARGS };
enum rdv_log_target { RDV_LOG_TARGET_AUTO = 0, RDV_LOG_TARGET_STDERR, RDV_LOG_TARGET_JOURNAL, RDV_LOG_TARGET_SYSLOG };

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
    char *log_target;        /* enum rdv_log_target by name */
    char *log_file;          /* "" = the log target */
    char *admin_listen;      /* IP:PORT; "off" or "" = no admin endpoint */
    char *admin_token_file;
    char *protocols;         /* the dialects served, by name or protocol id, comma-separated */
    struct rdv_dialect_settings dialect[RDV_CONFIG_DIALECTS];
    uint32_t max_connections, max_streams, max_message;
    uint32_t max_registrations, max_namespaces, max_store_mb; /* global store budgets (store.h) */
    uint32_t admin_request_timeout, admin_max_per_ip;       /* admin HTTP (admin.h) */
    uint32_t handshake_timeout, idle_timeout; /* seconds */
    /* connection lifetime and per-source limits (p2p/lifetime.c, p2p/addr_limit.h) */
    uint32_t max_handshakes, stream_negotiate_timeout, stream_idle_timeout;
    uint32_t per_address_connections, per_address_handshake_rate, per_address_request_rate;
    uint32_t per_address_prefix4, per_address_prefix6, per_address_table;
    uint32_t max_conn_output_mb, max_output_mb, output_stall_timeout; /* the output budget */
    uint32_t max_envelope_bytes;
    uint32_t expire_interval_ms;
    uint32_t store_timeout_ms, store_pool; /* postgres */
    char *store_read;                      /* postgres: standbys for reads ("" none) */
    uint32_t store_read_max_lag_ms, store_prepared;
    uint32_t store_admin_pool, store_admin_timeout_ms; /* postgres: the admin queries' own pool */
    uint32_t store_batch;                              /* postgres: operations per transaction */
    uint32_t verify_cache_entries, verify_cache_mb; /* p2p/record_cache.h; 0 entries: off */
    int help, version, init_db, check_config;
    char *config_path;       /* --config FILE, re-read on SIGHUP */
    enum rdv_config_src src, listen_src; /* being applied; where the listen list came from */
};

/* Fills every key with its default. */
void rdv_config_defaults(struct rdv_server_config *c);
void rdv_config_free(struct rdv_server_config *c);
/* The functions below that take err append their problems to it, one per line: start it as "". */
/* Sets one key from text. Returns 0, or -1 with a message in err. */
int rdv_config_set(struct rdv_server_config *c, const char *key, const char *value, char *err, size_t errlen);
/* Reads a config file. Returns 0, or -1 with "path:line: message" lines in err. */
int rdv_config_load_file(struct rdv_server_config *c, const char *path, char *err, size_t errlen);
/* Applies --config FILE (if any) then every other flag. Returns 0, or -1 with a message in err. */
int rdv_config_parse_args(struct rdv_server_config *c, int argc, char **argv, char *err, size_t errlen);
/* Checks every value's form (multiaddrs, admin address, log level, dialect names) and cross-key
 * constraints (min <= default <= max, ...), and fills the default listen address. */
int rdv_config_finish(struct rdv_server_config *c, char *err, size_t errlen);
/* log-target as an enum rdv_log_target, or -1 if unknown. */
int rdv_config_log_target(const struct rdv_server_config *c);
/* Calls cb for each setting whose value differs between old and new (values as text); reload says
 * whether SIGHUP applies it (else it takes a restart). */
typedef void (*rdv_config_diff_cb)(void *ctx, const char *key, const char *old_value, const char *new_value,
                                   int reload);
void rdv_config_diff(const struct rdv_server_config *old, const struct rdv_server_config *new,
                     rdv_config_diff_cb cb, void *ctx);
/* Moves into c the value in n of every key SIGHUP applies (strings are swapped: n keeps c's old ones,
 * for rdv_config_free). Driven by the key table, so a setting marked reloadable there needs nothing else. */
void rdv_config_take_reloadable(struct rdv_server_config *c, struct rdv_server_config *n);
void rdv_config_usage(FILE *out, const char *prog);

#endif
