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

enum rdv_store_status {
    RDV_STORE_OK = 0,
    RDV_STORE_STALE,       /* put: a record with a higher seq is held for (ns, peer); nothing changed */
    RDV_STORE_LIMIT,       /* put: the peer already holds max_per_peer registrations in other namespaces */
    RDV_STORE_ERROR,       /* the backend failed (details logged by the backend) */
    RDV_STORE_UNAVAILABLE, /* the backend cannot be reached now */
};

const char *rdv_store_status_name(enum rdv_store_status st);

/* A registration to upsert by (ns, peer). Equal seq replaces (a refresh); a lower seq is STALE. */
struct rdv_store_put {
    const char *ns;
    size_t ns_len;
    const struct rdv_peerid *peer;
    uint64_t seq;
    const uint8_t *envelope; /* the signed peer record bytes, returned verbatim by discover */
    size_t envelope_len;
    uint32_t ttl_s;          /* > 0 */
    uint32_t max_per_peer;   /* 0 = no cap */
};

/* One live registration as reported by discover. */
struct rdv_store_record {
    struct rdv_peerid peer;
    uint64_t seq;
    const uint8_t *envelope;
    size_t envelope_len;
    int64_t ttl_left_ms;      /* > 0: never an expired record */
    int64_t registered_at_ms; /* unix ms of the last put */
};

struct rdv_store_stats {
    uint64_t registrations; /* live */
    uint64_t namespaces;    /* with at least one live registration */
};

typedef void (*rdv_store_put_cb)(void *arg, enum rdv_store_status st);
typedef void (*rdv_store_discover_cb)(void *arg, enum rdv_store_status st,
                                      const struct rdv_store_record *recs, size_t n);
typedef void (*rdv_store_count_cb)(void *arg, enum rdv_store_status st, uint64_t count);
typedef void (*rdv_store_stats_cb)(void *arg, enum rdv_store_status st, const struct rdv_store_stats *s);

struct rdv_store;

struct rdv_store_ops {
    const char *kind; /* "memory", "postgres", "leveldb" */
    void (*put)(struct rdv_store *s, const struct rdv_store_put *p, rdv_store_put_cb cb, void *arg);
    /* Live records of ns; when there are more than limit (> 0), a uniformly random sample of limit. */
    void (*discover)(struct rdv_store *s, const char *ns, size_t ns_len, uint32_t limit,
                     rdv_store_discover_cb cb, void *arg);
    /* Drops expired records; reports how many went. */
    void (*expire)(struct rdv_store *s, rdv_store_count_cb cb, void *arg);
    void (*stats)(struct rdv_store *s, rdv_store_stats_cb cb, void *arg);
    void (*close)(struct rdv_store *s);
};

/* Backends embed this as their first member. */
struct rdv_store {
    const struct rdv_store_ops *ops;
};

static inline void rdv_store_put(struct rdv_store *s, const struct rdv_store_put *p, rdv_store_put_cb cb, void *arg)
{ s->ops->put(s, p, cb, arg); }
static inline void rdv_store_discover(struct rdv_store *s, const char *ns, size_t ns_len, uint32_t limit,
                                      rdv_store_discover_cb cb, void *arg)
{ s->ops->discover(s, ns, ns_len, limit, cb, arg); }
static inline void rdv_store_expire(struct rdv_store *s, rdv_store_count_cb cb, void *arg)
{ s->ops->expire(s, cb, arg); }
static inline void rdv_store_stats(struct rdv_store *s, rdv_store_stats_cb cb, void *arg)
{ s->ops->stats(s, cb, arg); }
static inline void rdv_store_close(struct rdv_store *s) { if (s) s->ops->close(s); }

/* A clock in unix milliseconds; injectable so tests control expiry. */
struct rdv_clock {
    int64_t (*now_ms)(void *ctx);
    void *ctx;
};
/* The real clock (CLOCK_REALTIME). */
extern const struct rdv_clock rdv_clock_system;

/* Opens the backend named by url: "memory:" (or "memory"), later "postgres://..." and
 * "leveldb:/path". Returns RDV_OK, or an error with a message in err. */
struct ev_loop;
struct rdv_log;
int rdv_store_open(const char *url, struct ev_loop *loop, const struct rdv_log *log, struct rdv_store **out,
                   char *err, size_t errlen);

#endif
