/* timed.c: see timed.h. Each call allocates a small record of who to answer and when it started,
 * because a backend may answer long after the call returns (postgres). If that allocation fails
 * the call goes to the inner store untimed rather than failing: measuring must never cost an
 * answer. */
#include "store/timed.h"

#include <stdlib.h>

enum timed_op {
    OP_PUT, OP_UNREGISTER, OP_DISCOVER, OP_EXPIRE, OP_STATS, OP_LIST_NS, OP_LIST_REGS, OP_HEALTH, OP_SECRET,
    OP_LIST_PEER, OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
    "put", "unregister", "discover", "expire", "stats", "list_namespaces", "list_registrations", "health", "secret",
    "list_peer"};

struct timed_store {
    struct rdv_store base;      /* first: the public handle */
    struct rdv_store_ops ops;   /* ours, with the inner store's kind */
    struct rdv_store *inner;
    struct rdv_metric *duration[OP_COUNT];
    struct rdv_metric *up;
    struct rdv_metric *errors[OP_COUNT]; /* ERROR/UNAVAILABLE answers; NULL until rdv_store_timed_watch */
    struct rdv_metric *records;          /* histogram: records per discover answer */
    struct rdv_metric *in_flight;        /* gauge: calls not answered yet */
};

struct timed_call {
    struct timed_store *s;
    enum timed_op op;
    double started;
    union {
        rdv_store_put_cb put;
        rdv_store_discover_cb discover;
        rdv_store_count_cb count;
        rdv_store_stats_cb stats;
        rdv_store_ns_list_cb ns_list;
        rdv_store_reg_list_cb reg_list;
        rdv_store_health_cb health;
        rdv_store_secret_cb secret;
    } cb;
    void *arg;
};

static struct timed_call *call_new(struct timed_store *s, enum timed_op op, void *arg)
{
    struct timed_call *c = malloc(sizeof(*c));
    if (c) {
        *c = (struct timed_call){.s = s, .op = op, .started = rdv_metrics_now(), .arg = arg};
        rdv_metric_add(s->in_flight, 1);
    }
    return c;
}

/* Records the call's duration and the store's reachability, frees the call, returns the arg. */
static void *call_end(struct timed_call *c, enum rdv_store_status st)
{
    rdv_metric_observe(c->s->duration[c->op], rdv_metrics_now() - c->started);
    rdv_metric_set(c->s->up, st == RDV_STORE_UNAVAILABLE ? 0 : 1);
    rdv_metric_add(c->s->in_flight, -1);
    if (st == RDV_STORE_ERROR || st == RDV_STORE_UNAVAILABLE)
        rdv_metric_add(c->s->errors[c->op], 1);
    void *arg = c->arg;
    free(c);
    return arg;
}

/* ---- one trampoline per callback type ------------------------------------------------------- */

static void put_done(void *arg, enum rdv_store_status st)
{
    struct timed_call *c = arg;
    rdv_store_put_cb cb = c->cb.put;
    cb(call_end(c, st), st);
}

static void discover_done(void *arg, enum rdv_store_status st, const struct rdv_store_record *recs, size_t n)
{
    struct timed_call *c = arg;
    if (st == RDV_STORE_OK)
        rdv_metric_observe(c->s->records, (double)n);
    rdv_store_discover_cb cb = c->cb.discover;
    cb(call_end(c, st), st, recs, n);
}

static void count_done(void *arg, enum rdv_store_status st, uint64_t count)
{
    struct timed_call *c = arg;
    rdv_store_count_cb cb = c->cb.count;
    cb(call_end(c, st), st, count);
}

static void stats_done(void *arg, enum rdv_store_status st, const struct rdv_store_stats *stats)
{
    struct timed_call *c = arg;
    rdv_store_stats_cb cb = c->cb.stats;
    cb(call_end(c, st), st, stats);
}

static void ns_list_done(void *arg, enum rdv_store_status st, const struct rdv_store_ns_info *items, size_t n,
                         int more)
{
    struct timed_call *c = arg;
    rdv_store_ns_list_cb cb = c->cb.ns_list;
    cb(call_end(c, st), st, items, n, more);
}

static void reg_list_done(void *arg, enum rdv_store_status st, const struct rdv_store_record *recs, size_t n,
                          int more)
{
    struct timed_call *c = arg;
    rdv_store_reg_list_cb cb = c->cb.reg_list;
    cb(call_end(c, st), st, recs, n, more);
}

static void health_done(void *arg, enum rdv_store_status st)
{
    struct timed_call *c = arg;
    rdv_store_health_cb cb = c->cb.health;
    cb(call_end(c, st), st);
}

static void secret_done(void *arg, enum rdv_store_status st, const uint8_t *key)
{
    struct timed_call *c = arg;
    rdv_store_secret_cb cb = c->cb.secret;
    cb(call_end(c, st), st, key);
}

/* ---- the vtable ------------------------------------------------------------------------------ */

static struct timed_store *timed(struct rdv_store *base)
{
    return (struct timed_store *)base;
}

static void timed_put(struct rdv_store *base, const struct rdv_store_put *p, rdv_store_put_cb cb, void *arg)
{
    struct timed_store *s = timed(base);
    struct timed_call *c = call_new(s, OP_PUT, arg);
    if (!c) {
        rdv_store_put(s->inner, p, cb, arg);
        return;
    }
    c->cb.put = cb;
    rdv_store_put(s->inner, p, put_done, c);
}

static void timed_unregister(struct rdv_store *base, uint8_t kind, const char *ns, size_t ns_len,
                             const struct rdv_peerid *peer, rdv_store_count_cb cb, void *arg)
{
    struct timed_store *s = timed(base);
    struct timed_call *c = call_new(s, OP_UNREGISTER, arg);
    if (!c) {
        rdv_store_unregister(s->inner, kind, ns, ns_len, peer, cb, arg);
        return;
    }
    c->cb.count = cb;
    rdv_store_unregister(s->inner, kind, ns, ns_len, peer, count_done, c);
}

static void timed_discover(struct rdv_store *base, const struct rdv_store_query *q, rdv_store_discover_cb cb,
                           void *arg)
{
    struct timed_store *s = timed(base);
    struct timed_call *c = call_new(s, OP_DISCOVER, arg);
    if (!c) {
        rdv_store_query(s->inner, q, cb, arg);
        return;
    }
    c->cb.discover = cb;
    rdv_store_query(s->inner, q, discover_done, c);
}

static void timed_expire(struct rdv_store *base, rdv_store_count_cb cb, void *arg)
{
    struct timed_store *s = timed(base);
    struct timed_call *c = call_new(s, OP_EXPIRE, arg);
    if (!c) {
        rdv_store_expire(s->inner, cb, arg);
        return;
    }
    c->cb.count = cb;
    rdv_store_expire(s->inner, count_done, c);
}

static void timed_stats(struct rdv_store *base, rdv_store_stats_cb cb, void *arg)
{
    struct timed_store *s = timed(base);
    struct timed_call *c = call_new(s, OP_STATS, arg);
    if (!c) {
        rdv_store_stats(s->inner, cb, arg);
        return;
    }
    c->cb.stats = cb;
    rdv_store_stats(s->inner, stats_done, c);
}

static void timed_list_namespaces(struct rdv_store *base, const char *prefix, size_t prefix_len, const char *cursor,
                                  size_t cursor_len, uint32_t limit, rdv_store_ns_list_cb cb, void *arg)
{
    struct timed_store *s = timed(base);
    struct timed_call *c = call_new(s, OP_LIST_NS, arg);
    if (!c) {
        rdv_store_list_namespaces(s->inner, prefix, prefix_len, cursor, cursor_len, limit, cb, arg);
        return;
    }
    c->cb.ns_list = cb;
    rdv_store_list_namespaces(s->inner, prefix, prefix_len, cursor, cursor_len, limit, ns_list_done, c);
}

static void timed_list_registrations(struct rdv_store *base, uint8_t kind, const char *ns, size_t ns_len,
                                     const struct rdv_peerid *cursor, uint32_t limit, rdv_store_reg_list_cb cb,
                                     void *arg)
{
    struct timed_store *s = timed(base);
    struct timed_call *c = call_new(s, OP_LIST_REGS, arg);
    if (!c) {
        rdv_store_list_registrations(s->inner, kind, ns, ns_len, cursor, limit, cb, arg);
        return;
    }
    c->cb.reg_list = cb;
    rdv_store_list_registrations(s->inner, kind, ns, ns_len, cursor, limit, reg_list_done, c);
}

static void timed_list_peer(struct rdv_store *base, const struct rdv_peerid *peer, uint32_t limit,
                            rdv_store_reg_list_cb cb, void *arg)
{
    struct timed_store *s = timed(base);
    struct timed_call *c = call_new(s, OP_LIST_PEER, arg);
    if (!c) {
        rdv_store_list_peer(s->inner, peer, limit, cb, arg);
        return;
    }
    c->cb.reg_list = cb;
    rdv_store_list_peer(s->inner, peer, limit, reg_list_done, c);
}

static void timed_secret(struct rdv_store *base, rdv_store_secret_cb cb, void *arg)
{
    struct timed_store *s = timed(base);
    struct timed_call *c = call_new(s, OP_SECRET, arg);
    if (!c) {
        rdv_store_secret(s->inner, cb, arg);
        return;
    }
    c->cb.secret = cb;
    rdv_store_secret(s->inner, secret_done, c);
}

static void timed_health(struct rdv_store *base, rdv_store_health_cb cb, void *arg)
{
    struct timed_store *s = timed(base);
    struct timed_call *c = call_new(s, OP_HEALTH, arg);
    if (!c) {
        rdv_store_health(s->inner, cb, arg);
        return;
    }
    c->cb.health = cb;
    rdv_store_health(s->inner, health_done, c);
}

/* The inner store may answer its pending calls while it closes: our trampolines still need us,
 * so we go after it. */
static void timed_close(struct rdv_store *base)
{
    struct timed_store *s = timed(base);
    rdv_store_close(s->inner);
    free(s);
}

struct rdv_store *rdv_store_timed_new(struct rdv_store *inner, struct rdv_metric_family *duration,
                                      struct rdv_metric *up)
{
    struct timed_store *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->ops = (struct rdv_store_ops){
        .kind = inner->ops->kind, .put = timed_put, .unregister = timed_unregister, .discover = timed_discover,
        .expire = timed_expire, .stats = timed_stats, .list_namespaces = timed_list_namespaces,
        .list_registrations = timed_list_registrations, .health = timed_health, .secret = timed_secret,
        .list_peer = timed_list_peer, .close = timed_close};
    s->base.ops = &s->ops;
    s->inner = inner;
    s->up = up;
    for (int i = 0; i < OP_COUNT; i++)
        s->duration[i] = rdv_metric_get(duration, (const char *const[]){op_names[i]});
    return &s->base;
}

void rdv_store_timed_watch(struct rdv_store *base, struct rdv_metric_family *errors, struct rdv_metric *records,
                           struct rdv_metric *in_flight)
{
    struct timed_store *s = timed(base);
    for (int i = 0; i < OP_COUNT; i++)
        s->errors[i] = rdv_metric_get(errors, (const char *const[]){op_names[i]});
    s->records = records;
    s->in_flight = in_flight;
}
