/* rendezvous/point.h: a rendezvous point inside any C program (librendezvous-server).
 *
 * The point serves the rendezvous dialects (/vac/waku/rendezvous/0.0.1, /rendezvous/1.0.0,
 * /vac/waku/rendezvous/1.0.0) to libp2p peers over TCP + Noise + yamux, with identify and ping,
 * on the application's libev loop, over a store the application chooses:
 *
 *   rendezvous_store_kv_new      the seed's shape: the application's ordered key-value store,
 *                                reached through three synchronous calls (put, delete, iterate
 *                                from a prefix). The library keeps an index in memory and writes
 *                                every change through; it does keys, expiry, the per-peer cap,
 *                                sampling, ordered cookie pages, browsing and the cookie secret.
 *   rendezvous_store_new         the full asynchronous store interface (struct rendezvous_store_ops),
 *                                for backends that answer later (a database on the network).
 *   rendezvous_store_memory_new  in memory, lost at exit.
 *   rendezvous_store_open        by URL, as rendezvousd does: "memory:", "leveldb:/dir",
 *                                "postgres://..." (what this build has).
 *
 *   struct rendezvous_store *st;
 *   rendezvous_store_kv_new(&my_kv, &st);
 *   struct rendezvous_server *s;
 *   rendezvous_server_new(loop, st, &s);                 // s owns st from here on
 *   rendezvous_server_set_key_file(s, "point.key");      // created (0600) if missing
 *   rendezvous_server_add_listen(s, "/ip4/0.0.0.0/tcp/4040");
 *   rendezvous_server_enable_dialect(s, "std");          // none enabled: all three
 *   rendezvous_server_start(s);
 *   ev_run(loop, 0);
 *   rendezvous_server_free(s);
 *
 * rendezvousd is built on this: its main makes its point through these calls (docs/embedding.md).
 *
 * Threads: none are started. A server and its store are used from the thread that runs their
 * loop only: every call here, and every callback (store operations, KV calls, stop's done), runs
 * on that thread. Several servers on several loops (threads) are independent: the library has no
 * global mutable state.
 *
 * Errors: 0 or a negative enum rendezvous_error (rendezvous/client.h has the values;
 * rendezvous_server_strerror names them). Ownership: strings and buffers passed in are copied;
 * pointers handed to callbacks are valid during the callback only. */
#ifndef RENDEZVOUS_POINT_H
#define RENDEZVOUS_POINT_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rendezvous/client.h" /* enum rendezvous_error, the protocol ids */

#ifdef __cplusplus
extern "C" {
#endif

/* A short static name for any code this library returns. Never NULL. */
const char *rendezvous_server_strerror(int err);

/* ---- storage --------------------------------------------------------------------------------- */

struct rendezvous_store;

/* (a) An ordered key-value store of the application's, synchronous. Keys and values are bytes
 * (keys up to 520, values up to 9 KiB); the library chooses them and reserves the whole key space
 * it is given (give it a store, or a prefix of one, of its own). Each call returns 0 on success or
 * any negative value on failure (the operation then fails as RENDEZVOUS_STORE_ERROR and the
 * index is left as it was). The calls never re-enter the library. */
typedef int (*rendezvous_kv_visit_fn)(void *visit_arg, const void *key, size_t key_len, const void *value,
                                      size_t value_len);
struct rendezvous_kv {
    size_t size; /* sizeof(struct rendezvous_kv) */
    void *ctx;   /* passed to every call */
    /* Inserts or replaces. The bytes are the application's to copy. */
    int (*put)(void *ctx, const void *key, size_t key_len, const void *value, size_t value_len);
    /* Deletes; a missing key is success. */
    int (*del)(void *ctx, const void *key, size_t key_len);
    /* Calls visit for every pair whose key starts with prefix (any order; the library sorts what it
     * needs), until visit returns non-zero. The pointers are valid during visit only. visit never
     * calls put or del. Returns 0, or negative on failure. */
    int (*iterate)(void *ctx, const void *prefix, size_t prefix_len, rendezvous_kv_visit_fn visit, void *visit_arg);
    /* Called once when the store is freed (may be NULL). */
    void (*close)(void *ctx);
};
/* Builds a complete store on kv: reads what kv holds (registrations, the counter for cookie pages,
 * the cookie secret: all survive a restart on the same kv), deletes the expired. kv is copied.
 * Errors: RENDEZVOUS_ERR_INVALID (a missing call, size 0), RENDEZVOUS_ERR_IO (kv failed while
 * loading), RENDEZVOUS_ERR_NOMEM. On error kv->close is not called. */
int rendezvous_store_kv_new(const struct rendezvous_kv *kv, struct rendezvous_store **out);

int rendezvous_store_memory_new(struct rendezvous_store **out);
/* By URL ("memory:", "leveldb:/dir", "postgres://..."); loop is what an asynchronous backend runs
 * on. Errors with a message in err (may be NULL). */
int rendezvous_store_open(const char *url, struct ev_loop *loop, struct rendezvous_store **out, char *err,
                          size_t errlen);
/* Frees a store not handed to a server. */
void rendezvous_store_free(struct rendezvous_store *st);

/* (b) The asynchronous store interface, for backends that answer from the loop. It mirrors the
 * library's internal store contract (docs/storage.md, docs/embedding.md): every operation calls
 * its callback exactly once, before returning or later from the loop, and the server waits for
 * it; data passed to an operation is valid until it calls back, data the backend passes to the
 * callback only during the callback. A registration is keyed by (kind, ns, peer); kind and dialect
 * are small numbers below RENDEZVOUS_STORE_KINDS / _DIALECTS, opaque to the backend. The library
 * checks every argument before the call (a namespace of 1..256 bytes, 0 only where said; a peer id
 * of 1..RENDEZVOUS_PEER_ID_MAX bytes; an envelope of 1..8 KiB; ttl_s > 0; kind and dialect in
 * range) and answers ERROR itself when one fails, so an operation never sees NULL where a value is
 * due. Global budgets (docs/limits.md) are not applied to an application's store: it keeps its
 * own, answering a put it cannot take with ERROR or UNAVAILABLE. */
#define RENDEZVOUS_STORE_KINDS 4
#define RENDEZVOUS_STORE_DIALECTS 4
#define RENDEZVOUS_STORE_SECRET_LEN 32
#define RENDEZVOUS_PEER_ID_MAX 64 /* peer id bytes (a multihash) */

enum rendezvous_store_status {
    RENDEZVOUS_STORE_OK = 0,
    RENDEZVOUS_STORE_STALE,       /* put: a record with a higher seq is held; nothing changed */
    RENDEZVOUS_STORE_LIMIT,       /* put: the peer holds max_per_peer registrations already */
    RENDEZVOUS_STORE_ERROR,       /* the backend failed */
    RENDEZVOUS_STORE_UNAVAILABLE, /* the backend cannot be reached now */
};

/* Upsert (kind, ns, peer): equal seq replaces (a refresh), a lower one is STALE. Every put takes
 * the next value of the store's registration counter (what ordered discovers page by). */
struct rendezvous_store_put {
    const char *ns;
    size_t ns_len;
    const uint8_t *peer; /* peer id bytes */
    size_t peer_len;
    uint64_t seq;
    const uint8_t *envelope; /* returned verbatim by discover */
    size_t envelope_len;
    uint32_t ttl_s;        /* > 0 */
    uint32_t max_per_peer; /* 0: no cap; counts the peer's registrations of every kind */
    uint8_t kind, dialect;
};
struct rendezvous_store_record {
    const char *ns;
    size_t ns_len;
    uint8_t kind, dialect;
    uint64_t counter; /* the registration counter at its last put */
    const uint8_t *peer;
    size_t peer_len;
    uint64_t seq;
    const uint8_t *envelope;
    size_t envelope_len;
    int64_t ttl_left_ms;      /* > 0: never an expired record */
    int64_t registered_at_ms; /* unix ms of the last put */
};
/* ordered 0: a uniformly random sample of at most limit live records of (kind, ns). ordered 1: the
 * live records of kind with counter > after in counter order, at most limit (ns_len 0: every
 * namespace). limit 0: no limit. */
struct rendezvous_store_query {
    uint8_t kind;
    const char *ns;
    size_t ns_len;
    uint32_t limit;
    int ordered;
    uint64_t after;
};
struct rendezvous_store_stats {
    uint64_t registrations, namespaces;
    uint64_t by_dialect[RENDEZVOUS_STORE_DIALECTS];
};
struct rendezvous_store_ns_info {
    const char *ns;
    size_t ns_len;
    uint8_t kind;
    uint64_t count;
    uint64_t by_dialect[RENDEZVOUS_STORE_DIALECTS];
    int64_t soonest_expiry_ms, latest_expiry_ms;
};
typedef void (*rendezvous_store_put_cb)(void *cb_arg, enum rendezvous_store_status st);
typedef void (*rendezvous_store_count_cb)(void *cb_arg, enum rendezvous_store_status st, uint64_t count);
typedef void (*rendezvous_store_discover_cb)(void *cb_arg, enum rendezvous_store_status st,
                                             const struct rendezvous_store_record *recs, size_t n);
typedef void (*rendezvous_store_stats_cb)(void *cb_arg, enum rendezvous_store_status st,
                                          const struct rendezvous_store_stats *stats);
typedef void (*rendezvous_store_ns_list_cb)(void *cb_arg, enum rendezvous_store_status st,
                                            const struct rendezvous_store_ns_info *items, size_t n, int more);
typedef void (*rendezvous_store_reg_list_cb)(void *cb_arg, enum rendezvous_store_status st,
                                             const struct rendezvous_store_record *recs, size_t n, int more);
typedef void (*rendezvous_store_health_cb)(void *cb_arg, enum rendezvous_store_status st);
/* key: RENDEZVOUS_STORE_SECRET_LEN bytes, the same for every server sharing the store. */
typedef void (*rendezvous_store_secret_cb)(void *cb_arg, enum rendezvous_store_status st, const uint8_t *key);

struct rendezvous_store_ops {
    size_t size; /* sizeof(struct rendezvous_store_ops) */
    const char *name; /* for logs: "postgres", "my-db" */
    void (*put)(void *ctx, const struct rendezvous_store_put *p, rendezvous_store_put_cb cb, void *cb_arg);
    /* Drops (kind, ns, peer); counts 0 or 1. */
    void (*unregister)(void *ctx, uint8_t kind, const char *ns, size_t ns_len, const uint8_t *peer, size_t peer_len,
                       rendezvous_store_count_cb cb, void *cb_arg);
    void (*discover)(void *ctx, const struct rendezvous_store_query *q, rendezvous_store_discover_cb cb, void *cb_arg);
    /* Drops expired records; counts them. */
    void (*expire)(void *ctx, rendezvous_store_count_cb cb, void *cb_arg);
    void (*stats)(void *ctx, rendezvous_store_stats_cb cb, void *cb_arg);
    /* Admin browsing (may be NULL: answered ERROR). Namespaces with live records starting with
     * prefix, ordered by (name bytes, kind), strictly after cursor; registrations of (kind, ns) by
     * peer id bytes after cursor (NULL: from the start). */
    void (*list_namespaces)(void *ctx, const char *prefix, size_t prefix_len, const char *cursor, size_t cursor_len,
                            uint32_t limit, rendezvous_store_ns_list_cb cb, void *cb_arg);
    void (*list_registrations)(void *ctx, uint8_t kind, const char *ns, size_t ns_len, const uint8_t *cursor,
                               size_t cursor_len, uint32_t limit, rendezvous_store_reg_list_cb cb, void *cb_arg);
    void (*health)(void *ctx, rendezvous_store_health_cb cb, void *cb_arg); /* NULL: always OK */
    /* The store-wide cookie secret, made once and kept. */
    void (*secret)(void *ctx, rendezvous_store_secret_cb cb, void *cb_arg);
    /* Frees the backend; no callback may come after it returns. May be NULL. */
    void (*close)(void *ctx);
    /* Members below were added later; the library reads only those that ops->size covers. */
    /* The live registrations of one peer in every namespace and kind, ordered by (ns bytes, kind),
     * at most limit (more: there are others): the admin API's search by peer id. NULL: answered
     * ERROR (the search then says the store cannot). */
    void (*list_peer)(void *ctx, const uint8_t *peer, size_t peer_len, uint32_t limit, rendezvous_store_reg_list_cb cb,
                      void *cb_arg);
};
/* A store on ops (copied) and ctx. Errors: RENDEZVOUS_ERR_INVALID (size 0, a required operation
 * missing: put, unregister, discover, expire, stats, secret), RENDEZVOUS_ERR_NOMEM. */
int rendezvous_store_new(const struct rendezvous_store_ops *ops, void *ctx, struct rendezvous_store **out);

/* ---- the rendezvous point ---------------------------------------------------------------------- */

struct rendezvous_server;

/* A point on loop (required) over store, which it owns from now on (freed with it, and on error).
 * Nothing listens before rendezvous_server_start. Errors: RENDEZVOUS_ERR_INVALID, _NOMEM. */
int rendezvous_server_new(struct ev_loop *loop, struct rendezvous_store *store, struct rendezvous_server **out);

/* Settings: before rendezvous_server_start only (RENDEZVOUS_ERR_INVALID after). */
/* The identity: a libp2p PrivateKey protobuf (ed25519 or secp256k1), or a file holding one, made
 * (ed25519, mode 0600) if it does not exist. Neither: a fresh ed25519 key. */
int rendezvous_server_set_key(struct rendezvous_server *s, const uint8_t *key, size_t len);
int rendezvous_server_set_key_file(struct rendezvous_server *s, const char *path);
/* A listen address, /ip4|ip6/ADDR/tcp/PORT (port 0: any); up to 16. None: /ip4/0.0.0.0/tcp/4040. */
int rendezvous_server_add_listen(struct rendezvous_server *s, const char *multiaddr);
/* Serves a dialect ("waku0", "std", "waku1" or its protocol id) with its default limits. If none
 * is enabled, start enables all three. RENDEZVOUS_ERR_UNSUPPORTED for an unknown one. */
int rendezvous_server_enable_dialect(struct rendezvous_server *s, const char *dialect);
enum rendezvous_server_limit {
    RENDEZVOUS_LIMIT_DEFAULT_TTL,   /* seconds granted when a REGISTER asks none */
    RENDEZVOUS_LIMIT_MIN_TTL,
    RENDEZVOUS_LIMIT_MAX_TTL,
    RENDEZVOUS_LIMIT_DISCOVER,      /* records per DISCOVER when it asks none */
    RENDEZVOUS_LIMIT_MAX_DISCOVER,
    RENDEZVOUS_LIMIT_MAX_PER_PEER,  /* registrations one peer may hold (0: no cap) */
    RENDEZVOUS_LIMIT_MAX_ENVELOPE,  /* signed envelope bytes a REGISTER may carry (0: 8192, the most) */
};
/* One limit of an enabled dialect (RENDEZVOUS_ERR_NOT_FOUND if it is not enabled). */
int rendezvous_server_set_limit(struct rendezvous_server *s, const char *dialect, enum rendezvous_server_limit which,
                                uint32_t value);
enum rendezvous_server_option {
    RENDEZVOUS_OPT_MAX_CONNECTIONS,   /* 4096 */
    RENDEZVOUS_OPT_MAX_STREAMS,       /* per connection, 64 */
    RENDEZVOUS_OPT_MAX_MESSAGE,       /* request bytes, 65536 */
    RENDEZVOUS_OPT_HANDSHAKE_TIMEOUT, /* seconds, 10 */
    RENDEZVOUS_OPT_IDLE_TIMEOUT,      /* seconds, 120 */
    RENDEZVOUS_OPT_EXPIRE_INTERVAL,   /* seconds between expiry sweeps, 1 */
    /* connection lifetime, per-source limits and the output budget (docs/limits.md has each) */
    RENDEZVOUS_OPT_MAX_HANDSHAKES,            /* inbound connections in their handshake, 512 */
    RENDEZVOUS_OPT_STREAM_NEGOTIATE_TIMEOUT,  /* seconds, 10 */
    RENDEZVOUS_OPT_STREAM_IDLE_TIMEOUT,       /* seconds, 60 */
    RENDEZVOUS_OPT_PER_ADDRESS_CONNECTIONS,   /* 256 */
    RENDEZVOUS_OPT_PER_ADDRESS_HANDSHAKE_RATE, /* per second, 100 */
    RENDEZVOUS_OPT_PER_ADDRESS_REQUEST_RATE,  /* per second, 256 */
    RENDEZVOUS_OPT_PER_ADDRESS_PREFIX4,       /* bits, 32 */
    RENDEZVOUS_OPT_PER_ADDRESS_PREFIX6,       /* bits, 64 */
    RENDEZVOUS_OPT_PER_ADDRESS_TABLE,         /* sources tracked, 65536 */
    RENDEZVOUS_OPT_MAX_CONN_OUTPUT,           /* bytes queued for one connection, 8 MiB (at least 4 MiB + 64 KiB) */
    RENDEZVOUS_OPT_MAX_OUTPUT,                /* bytes queued for all connections, 512 MiB (at least the above) */
    RENDEZVOUS_OPT_OUTPUT_STALL_TIMEOUT,      /* seconds, 30 */
};
int rendezvous_server_set_option(struct rendezvous_server *s, enum rendezvous_server_option which, double value);
/* Diagnostics to out (NULL: none) up to level (0 error .. 3 debug). */
int rendezvous_server_set_log(struct rendezvous_server *s, FILE *out, int level);

/* Listens, serves, sweeps expired records. Errors: RENDEZVOUS_ERR_IO (a listen failed: errno),
 * RENDEZVOUS_ERR_INVALID (an address, the key), RENDEZVOUS_ERR_NOMEM. */
int rendezvous_server_start(struct rendezvous_server *s);
/* Our peer id (base58btc, NUL-terminated): its length, or RENDEZVOUS_ERR_TOO_LARGE (64 bytes
 * always suffice). Known after set_key or start. */
int rendezvous_server_peer_id(const struct rendezvous_server *s, char *out, size_t cap);
/* The i-th address it listens on (real ports; 0.0.0.0 expanded to the interfaces), with
 * /p2p/<peer id>: its length, RENDEZVOUS_ERR_NOT_FOUND past the last, _TOO_LARGE (256 suffice). */
int rendezvous_server_addr(const struct rendezvous_server *s, size_t i, char *out, size_t cap);

/* What the point has done since start. size: set it to sizeof before the call; the library fills
 * what both know. Request counters are per dialect, indexed 0 waku0, 1 std, 2 waku1. */
struct rendezvous_server_counters {
    size_t size;
    uint64_t connections;       /* live now */
    uint64_t handshakes_ok, handshakes_failed;
    uint64_t registers_ok[4], registers_refused[4];
    uint64_t discovers_ok[4], discovers_refused[4];
    uint64_t unregisters[4];
    uint64_t malformed[4];      /* undecodable requests (stream reset) */
    uint64_t expired;           /* registrations dropped by the sweeps */
    uint64_t registrations;     /* live, as of the last sweep */
    uint64_t discovers_truncated[4]; /* DISCOVER samples cut to fit 4 MiB */
    uint64_t answers_dropped[4];     /* answers over the output budget (stream reset) */
};
int rendezvous_server_counters(const struct rendezvous_server *s, struct rendezvous_server_counters *out);

/* Stops accepting, says GoAway on every connection and closes each once flushed (or after grace
 * seconds); done (may be NULL) is called from the loop when none is left. The store stays open. */
void rendezvous_server_stop(struct rendezvous_server *s, double grace, void (*done)(void *arg), void *arg);
/* Closes every connection at once and frees the server and its store. Not from a callback of the
 * server's own (stop's done included: free after ev_run returns, or from another watcher). */
void rendezvous_server_free(struct rendezvous_server *s);

#ifdef __cplusplus
}
#endif

#endif
