/* store.h: the one storage interface every backend implements (memory, postgres, leveldb).
 *
 * Every operation is asynchronous: it completes by calling its callback exactly once, either
 * before returning (memory) or later from the event loop (postgres). Data handed to a callback is
 * valid only during the callback. Expiry is absolute time on the store's own clock (the memory
 * store's injected clock, PostgreSQL's now()), so front-ends with skewed clocks agree. */
#ifndef RDV_STORE_H
#define RDV_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "p2p/peerid.h"

#define RDV_NS_MAX 256 /* namespace bytes, as the Go reference */

/* A registration is keyed by (record kind, namespace, peer id): records of different kinds (a libp2p
 * peer record, a WakuPeerRecord) never replace each other, while dialects that carry the same kind
 * share its registrations. The store treats kinds and dialects as small opaque numbers that
 * src/rendezvous/ defines; these bounds size its per-kind and per-dialect tables. */
#define RDV_STORE_KINDS 4
#define RDV_STORE_DIALECTS 4
#define RDV_STORE_SECRET_LEN 32 /* the store-wide key that authenticates discover cookies */

enum rdv_store_status {
    RDV_STORE_OK = 0,
    RDV_STORE_STALE,       /* put: a record with a higher seq is held for (ns, peer); nothing changed */
    RDV_STORE_LIMIT,       /* put: the peer already holds max_per_peer registrations in other namespaces */
    RDV_STORE_ERROR,       /* the backend failed (details logged by the backend) */
    RDV_STORE_UNAVAILABLE, /* the backend cannot be reached now */
    RDV_STORE_FULL,        /* put: a global budget (struct rdv_store_budget) is spent; nothing changed */
};

const char *rdv_store_status_name(enum rdv_store_status st);

/* Global budgets of one store, each 0 for none: live registrations, distinct namespace names (of
 * any kind), and stored bytes, counted as RDV_STORE_REG_OVERHEAD + the envelope's length per live
 * registration (the overhead is what the memory store's index spends on one beyond its envelope:
 * docs/performance.md measures ~253 B at 10 M). A put that would add a registration or a name, or
 * bytes, beyond its budget is FULL. A put of a held (kind, ns, peer) adds no registration and no
 * name, so a refresh is admitted at any count; its bytes may still grow, but only while the total
 * stays within the budget plus one largest registration (RDV_STORE_REG_COST_MAX), so a peer whose
 * record grew a little keeps its place while bytes can never run away (docs/limits.md). */
struct rdv_store_budget {
    uint64_t registrations;
    uint64_t namespaces;
    uint64_t bytes;
};
struct rdv_store_usage {
    uint64_t registrations, namespaces, bytes;
};
#define RDV_STORE_REG_OVERHEAD 256u

/* A registration to upsert by (ns, peer). Equal seq replaces (a refresh); a lower seq is STALE. */
struct rdv_store_put {
    const char *ns;
    size_t ns_len;
    const struct rdv_peerid *peer;
    uint64_t seq;
    const uint8_t *envelope; /* the signed peer record bytes, returned verbatim by discover */
    size_t envelope_len;
    uint32_t ttl_s;          /* > 0 */
    uint32_t max_per_peer;   /* 0 = no cap; counts the peer's registrations of every kind */
    uint8_t kind;            /* < RDV_STORE_KINDS: part of the key */
    uint8_t dialect;         /* < RDV_STORE_DIALECTS: who registered it (shown, counted; not the key) */
    /* A hint: 1 when these exact envelope bytes were verified before (the verify cache hit), so the
     * put is most likely a refresh of a held record. It never changes the outcome: a backend may
     * use it to try an expiry-only update first, and must still compare what it holds. */
    uint8_t same_envelope;
    /* Checked by the stores on the shared index (memory, LevelDB, kv) with rdv_store_budget_admit;
     * PostgreSQL checks it in the upsert against the table's figures read at most ~1 s before
     * (docs/limits.md). Zeroes: no budget. */
    struct rdv_store_budget budget;
};

/* One live registration as reported by discover and the admin lists. ns points into the store's
 * answer like envelope does. counter: the store's registration counter at the last put of this
 * record (every put, a refresh included, takes the next value): what discover cookies page by. */
struct rdv_store_record {
    const char *ns;
    size_t ns_len;
    uint8_t kind;
    uint8_t dialect;
    uint64_t counter;
    struct rdv_peerid peer;
    uint64_t seq;
    const uint8_t *envelope;
    size_t envelope_len;
    int64_t ttl_left_ms;      /* > 0: never an expired record */
    int64_t registered_at_ms; /* unix ms of the last put */
};

struct rdv_store_stats {
    uint64_t registrations; /* live */
    uint64_t namespaces;    /* distinct names with at least one live registration (any kind) */
    uint64_t by_dialect[RDV_STORE_DIALECTS]; /* live registrations by the dialect that made them */
    uint64_t bytes;         /* stored bytes as struct rdv_store_budget counts them (PostgreSQL: the
                             * table's size on disk) */
    int budgeted;           /* 1: puts are checked against struct rdv_store_budget (every store;
                             * PostgreSQL against figures up to ~1 s old) */
    int reaper;             /* 1: this process removes expired records (memory, LevelDB: always;
                             * PostgreSQL: it holds the reaper lease) */
    uint32_t pool_ready, pool_busy; /* PostgreSQL: connections ready, and of those with calls in flight */
    uint32_t admin_ready;           /* PostgreSQL: admin pool connections ready (store-admin-pool) */
    uint64_t transactions, batched_ops; /* PostgreSQL: request-path transactions sent, operations in them */
};

/* What a discover asks for. Sampled (ordered = 0): a uniformly random sample of at most limit live
 * records of (kind, ns), as /vac/waku/rendezvous/0.0.1 answers. Ordered: the live records of kind
 * with counter > after, in counter order, at most limit: stable pages for cookies, since records
 * added or refreshed later always sort after the ones already seen. ns_len 0 in an ordered query
 * means every namespace. limit 0 means no limit (the caller bounds it). */
struct rdv_store_query {
    uint8_t kind;
    const char *ns;
    size_t ns_len;
    uint32_t limit;
    int ordered;
    uint64_t after;
};

typedef void (*rdv_store_put_cb)(void *arg, enum rdv_store_status st);
typedef void (*rdv_store_discover_cb)(void *arg, enum rdv_store_status st,
                                      const struct rdv_store_record *recs, size_t n);
typedef void (*rdv_store_count_cb)(void *arg, enum rdv_store_status st, uint64_t count);
typedef void (*rdv_store_stats_cb)(void *arg, enum rdv_store_status st, const struct rdv_store_stats *s);
/* key: RDV_STORE_SECRET_LEN bytes, the same for every front-end of one store (NULL unless OK). */
typedef void (*rdv_store_secret_cb)(void *arg, enum rdv_store_status st, const uint8_t *key);

/* Browsing, for the admin API. Namespaces are ordered by their bytes, registrations of a namespace
 * by peer id bytes; a page starts strictly after its cursor (the last key of the previous page),
 * so pagination stays stable while records come and go. A namespace is listed once per record kind
 * it holds, ordered by (name, kind): the namespace cursor is the name, optionally followed by a
 * 0x00 byte and the kind (without it: after every kind of that name). */
struct rdv_store_ns_info {
    const char *ns;
    size_t ns_len;
    uint8_t kind;
    uint64_t count;           /* live registrations of this kind */
    uint64_t by_dialect[RDV_STORE_DIALECTS];
    int64_t soonest_expiry_ms; /* unix ms of the first and last expiry among them */
    int64_t latest_expiry_ms;
};
/* more: whether a further page exists (the cursor for it is the last item's key). */
typedef void (*rdv_store_ns_list_cb)(void *arg, enum rdv_store_status st, const struct rdv_store_ns_info *items,
                                     size_t n, int more);
typedef void (*rdv_store_reg_list_cb)(void *arg, enum rdv_store_status st, const struct rdv_store_record *recs,
                                      size_t n, int more);
/* Health: OK when the backend answers (readyz). */
typedef void (*rdv_store_health_cb)(void *arg, enum rdv_store_status st);

struct rdv_store;

struct rdv_store_ops {
    const char *kind; /* "memory", "postgres", "leveldb" */
    void (*put)(struct rdv_store *s, const struct rdv_store_put *p, rdv_store_put_cb cb, void *arg);
    /* Drops the registration (kind, ns, peer) if there is one; reports how many went (0 or 1). */
    void (*unregister)(struct rdv_store *s, uint8_t kind, const char *ns, size_t ns_len,
                       const struct rdv_peerid *peer, rdv_store_count_cb cb, void *arg);
    /* See struct rdv_store_query. */
    void (*discover)(struct rdv_store *s, const struct rdv_store_query *q, rdv_store_discover_cb cb, void *arg);
    /* Drops expired records; reports how many went. */
    void (*expire)(struct rdv_store *s, rdv_store_count_cb cb, void *arg);
    void (*stats)(struct rdv_store *s, rdv_store_stats_cb cb, void *arg);
    /* Namespaces with live records whose name starts with prefix, after cursor (NULL/empty: from
     * the start), at most limit. */
    void (*list_namespaces)(struct rdv_store *s, const char *prefix, size_t prefix_len, const char *cursor,
                            size_t cursor_len, uint32_t limit, rdv_store_ns_list_cb cb, void *arg);
    /* Live registrations of (kind, ns) ordered by peer id bytes, after cursor (NULL: from the start). */
    void (*list_registrations)(struct rdv_store *s, uint8_t kind, const char *ns, size_t ns_len,
                               const struct rdv_peerid *cursor, uint32_t limit, rdv_store_reg_list_cb cb, void *arg);
    /* Live registrations of one peer in every namespace and kind, ordered by (namespace, kind), at
     * most limit (more: there are others): the admin's search by peer id. Indexed on every backend. */
    void (*list_peer)(struct rdv_store *s, const struct rdv_peerid *peer, uint32_t limit, rdv_store_reg_list_cb cb,
                      void *arg);
    void (*health)(struct rdv_store *s, rdv_store_health_cb cb, void *arg);
    /* The store-wide secret (made once per store: memory at creation, PostgreSQL and LevelDB kept in
     * the database), so a cookie made by one front-end is accepted by every other. */
    void (*secret)(struct rdv_store *s, rdv_store_secret_cb cb, void *arg);
    void (*close)(struct rdv_store *s);
};

/* Backends embed this as their first member. */
struct rdv_store {
    const struct rdv_store_ops *ops;
};

static inline void rdv_store_put(struct rdv_store *s, const struct rdv_store_put *p, rdv_store_put_cb cb, void *arg)
{ s->ops->put(s, p, cb, arg); }
static inline void rdv_store_query(struct rdv_store *s, const struct rdv_store_query *q, rdv_store_discover_cb cb,
                                   void *arg)
{ s->ops->discover(s, q, cb, arg); }
/* A sampled discover of kind 0. */
static inline void rdv_store_discover(struct rdv_store *s, const char *ns, size_t ns_len, uint32_t limit,
                                      rdv_store_discover_cb cb, void *arg)
{
    struct rdv_store_query q = { .kind = 0, .ns = ns, .ns_len = ns_len, .limit = limit };
    s->ops->discover(s, &q, cb, arg);
}
static inline void rdv_store_unregister(struct rdv_store *s, uint8_t kind, const char *ns, size_t ns_len,
                                        const struct rdv_peerid *peer, rdv_store_count_cb cb, void *arg)
{ s->ops->unregister(s, kind, ns, ns_len, peer, cb, arg); }
static inline void rdv_store_secret(struct rdv_store *s, rdv_store_secret_cb cb, void *arg)
{ s->ops->secret(s, cb, arg); }
static inline void rdv_store_expire(struct rdv_store *s, rdv_store_count_cb cb, void *arg)
{ s->ops->expire(s, cb, arg); }
static inline void rdv_store_stats(struct rdv_store *s, rdv_store_stats_cb cb, void *arg)
{ s->ops->stats(s, cb, arg); }
static inline void rdv_store_list_namespaces(struct rdv_store *s, const char *prefix, size_t prefix_len,
                                             const char *cursor, size_t cursor_len, uint32_t limit,
                                             rdv_store_ns_list_cb cb, void *arg)
{ s->ops->list_namespaces(s, prefix, prefix_len, cursor, cursor_len, limit, cb, arg); }
static inline void rdv_store_list_registrations(struct rdv_store *s, uint8_t kind, const char *ns, size_t ns_len,
                                                const struct rdv_peerid *cursor, uint32_t limit,
                                                rdv_store_reg_list_cb cb, void *arg)
{ s->ops->list_registrations(s, kind, ns, ns_len, cursor, limit, cb, arg); }
/* A store without list_peer answers ERROR. */
static inline void rdv_store_list_peer(struct rdv_store *s, const struct rdv_peerid *peer, uint32_t limit,
                                       rdv_store_reg_list_cb cb, void *arg)
{
    if (s->ops->list_peer)
        s->ops->list_peer(s, peer, limit, cb, arg);
    else
        cb(arg, RDV_STORE_ERROR, NULL, 0, 0);
}
static inline void rdv_store_health(struct rdv_store *s, rdv_store_health_cb cb, void *arg)
{ s->ops->health(s, cb, arg); }
static inline void rdv_store_close(struct rdv_store *s) { if (s) s->ops->close(s); }

/* A clock in unix milliseconds; injectable so tests control expiry. */
struct rdv_clock {
    int64_t (*now_ms)(void *ctx);
    void *ctx;
};
/* The real clock (CLOCK_REALTIME). */
extern const struct rdv_clock rdv_clock_system;

/* Settings for backends that talk to a server; 0 takes the default. */
struct rdv_store_options {
    uint32_t timeout_ms; /* postgres: an operation unanswered this long completes UNAVAILABLE (1000) */
    uint32_t pool;       /* postgres: connections per process (4) */
    const char *read_url;     /* postgres: standbys for DISCOVER and browsing (NULL or "": none) */
    uint32_t read_max_lag_ms; /* postgres: a standby further behind is skipped (2000) */
    int unprepared;           /* postgres: 1: no prepared statements (transaction pooler) */
    const char *app_name;     /* postgres: application_name (NULL: "rendezvousd") */
    /* postgres: the admin queries' own pool (stats, namespace and registration browsing), so a
     * slow one never delays or resets a REGISTER: its connections (0: 1; negative: none, they
     * share the pool above) and their deadline (0: 5000 ms) */
    int admin_pool;
    uint32_t admin_timeout_ms;
    /* postgres: operations per transaction when they queue (group commit; 0: 64, 1: off) */
    uint32_t batch;
};
/* The argument checks every backend applies, in one place: 1 when valid. A put needs a namespace of
 * 1..RDV_NS_MAX bytes, a peer id, an envelope of 1..RDV_STORE_ENVELOPE_MAX bytes, ttl_s > 0, kind and
 * dialect in range; a query a kind in range and a namespace of 0..RDV_NS_MAX bytes (0 only when
 * ordered); an unregister a namespace and a peer id. */
#define RDV_STORE_ENVELOPE_MAX 8192
int rdv_store_put_valid(const struct rdv_store_put *p);
int rdv_store_query_valid(const struct rdv_store_query *q);
int rdv_store_key_valid(uint8_t kind, const char *ns, size_t ns_len, const struct rdv_peerid *peer);

/* The bytes one registration is charged (struct rdv_store_budget), and the most one can be. */
#define RDV_STORE_REG_COST_MAX (RDV_STORE_ENVELOPE_MAX + RDV_STORE_REG_OVERHEAD)
static inline uint64_t rdv_store_reg_cost(size_t envelope_len)
{ return (uint64_t)envelope_len + RDV_STORE_REG_OVERHEAD; }
/* The budget check every index-based store makes before a put changes anything: OK or FULL.
 * used: the store's live usage now; held: the put refreshes a registration it holds, whose
 * envelope was old_len bytes; new_name: the put would add a namespace name. */
enum rdv_store_status rdv_store_budget_admit(const struct rdv_store_budget *b, const struct rdv_store_usage *used,
                                             const struct rdv_store_put *p, int held, size_t old_len, int new_name);

#endif
