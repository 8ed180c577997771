/* test_store_app.c: the store contract (store_contract.h) against an application's asynchronous
 * store, plugged in through the public interface of rendezvous/point.h (struct rendezvous_store_ops,
 * rendezvous_store_new): what an embedding program with a database of its own writes.
 *
 * The "application" here keeps its data in the library's memory store (the engine is not what is
 * tested) but speaks to the library only in the public types, and answers every operation later,
 * from the loop, never before the call returns: each call copies its arguments into a job, an
 * ev_idle watcher runs the job on a later loop iteration and hands the answer back converted to
 * the public types. So every field of every public struct crosses the adapter (src/store/public.c)
 * in both directions, and the contract sees a store that is asynchronous the way PostgreSQL is.
 * Then what the adapter adds: a store without the optional operations answers ERROR for them
 * (no crash), and an ops table of an older, smaller size is read no further than its size. */
#include <ev.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "rendezvous/point.h"
#include "server/embed.h"
#include "store/memory.h"
#include "store_contract.h"
#include "tap.h"
#include "util/err.h"

static struct ev_loop *loop;

/* ---- the application's store ------------------------------------------------------------------ */

enum job_op { JOB_PUT, JOB_UNREGISTER, JOB_DISCOVER, JOB_EXPIRE, JOB_STATS, JOB_LIST_NS, JOB_LIST_REGS,
              JOB_LIST_PEER, JOB_HEALTH, JOB_SECRET };

/* One operation waiting for the loop. Every pointer argument is copied into bytes[]. */
struct job {
    struct job *next;
    enum job_op op;
    void (*cb)(void);
    void *cb_arg;
    struct rendezvous_store_put put;     /* JOB_PUT */
    struct rendezvous_store_query query; /* JOB_DISCOVER */
    uint8_t kind;
    uint32_t limit;
    size_t a_len, b_len; /* ns/prefix and peer/cursor lengths */
    int has_b;
    uint8_t *a, *b, *c; /* copies: ns or prefix; peer or cursor; envelope */
};

struct app {
    struct rdv_store *engine; /* where the data lives; reached only in job_run */
    struct job *head, **tail;
    ev_idle idle;
};

static uint8_t *dup_bytes(const void *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    if (d && n)
        memcpy(d, p, n);
    return d;
}

static void job_free(struct job *j)
{
    free(j->a);
    free(j->b);
    free(j->c);
    free(j);
}

static struct job *job_new(struct app *a, enum job_op op, void (*cb)(void), void *cb_arg)
{
    struct job *j = calloc(1, sizeof(*j));
    if (!j)
        abort(); /* a test: no recovery to exercise here */
    j->op = op;
    j->cb = cb;
    j->cb_arg = cb_arg;
    *a->tail = j;
    a->tail = &j->next;
    ev_idle_start(loop, &a->idle);
    return j;
}

static enum rendezvous_store_status status_out(enum rdv_store_status st)
{
    switch (st) {
    case RDV_STORE_OK: return RENDEZVOUS_STORE_OK;
    case RDV_STORE_STALE: return RENDEZVOUS_STORE_STALE;
    case RDV_STORE_LIMIT: return RENDEZVOUS_STORE_LIMIT;
    case RDV_STORE_UNAVAILABLE: return RENDEZVOUS_STORE_UNAVAILABLE;
    default: return RENDEZVOUS_STORE_ERROR;
    }
}

static void record_out(const struct rdv_store_record *r, struct rendezvous_store_record *o)
{
    *o = (struct rendezvous_store_record){.ns = r->ns, .ns_len = r->ns_len, .kind = r->kind, .dialect = r->dialect,
                                          .counter = r->counter, .peer = r->peer.bytes, .peer_len = r->peer.len,
                                          .seq = r->seq, .envelope = r->envelope, .envelope_len = r->envelope_len,
                                          .ttl_left_ms = r->ttl_left_ms, .registered_at_ms = r->registered_at_ms};
}

static struct rendezvous_store_record *records_out(const struct rdv_store_record *recs, size_t n)
{
    struct rendezvous_store_record *o = calloc(n ? n : 1, sizeof(*o));
    for (size_t i = 0; o && i < n; i++)
        record_out(&recs[i], &o[i]);
    return o;
}

/* The engine's answers (synchronous), converted and passed on. */
static void put_answer(void *arg, enum rdv_store_status st)
{
    struct job *j = arg;
    ((rendezvous_store_put_cb)j->cb)(j->cb_arg, status_out(st));
}

static void count_answer(void *arg, enum rdv_store_status st, uint64_t n)
{
    struct job *j = arg;
    ((rendezvous_store_count_cb)j->cb)(j->cb_arg, status_out(st), n);
}

static void discover_answer(void *arg, enum rdv_store_status st, const struct rdv_store_record *recs, size_t n)
{
    struct job *j = arg;
    struct rendezvous_store_record *o = records_out(recs, n);
    ((rendezvous_store_discover_cb)j->cb)(j->cb_arg, status_out(st), o, n);
    free(o);
}

static void regs_answer(void *arg, enum rdv_store_status st, const struct rdv_store_record *recs, size_t n, int more)
{
    struct job *j = arg;
    struct rendezvous_store_record *o = records_out(recs, n);
    ((rendezvous_store_reg_list_cb)j->cb)(j->cb_arg, status_out(st), o, n, more);
    free(o);
}

static void stats_answer(void *arg, enum rdv_store_status st, const struct rdv_store_stats *s)
{
    struct job *j = arg;
    struct rendezvous_store_stats o = {0};
    if (s) {
        o.registrations = s->registrations;
        o.namespaces = s->namespaces;
        memcpy(o.by_dialect, s->by_dialect, sizeof(o.by_dialect));
    }
    ((rendezvous_store_stats_cb)j->cb)(j->cb_arg, status_out(st), s ? &o : NULL);
}

static void ns_answer(void *arg, enum rdv_store_status st, const struct rdv_store_ns_info *items, size_t n, int more)
{
    struct job *j = arg;
    struct rendezvous_store_ns_info *o = calloc(n ? n : 1, sizeof(*o));
    for (size_t i = 0; o && i < n; i++) {
        o[i] = (struct rendezvous_store_ns_info){.ns = items[i].ns, .ns_len = items[i].ns_len, .kind = items[i].kind,
                                                 .count = items[i].count,
                                                 .soonest_expiry_ms = items[i].soonest_expiry_ms,
                                                 .latest_expiry_ms = items[i].latest_expiry_ms};
        memcpy(o[i].by_dialect, items[i].by_dialect, sizeof(o[i].by_dialect));
    }
    ((rendezvous_store_ns_list_cb)j->cb)(j->cb_arg, status_out(st), o, n, more);
    free(o);
}

static void health_answer(void *arg, enum rdv_store_status st)
{
    struct job *j = arg;
    ((rendezvous_store_health_cb)j->cb)(j->cb_arg, status_out(st));
}

static void secret_answer(void *arg, enum rdv_store_status st, const uint8_t *key)
{
    struct job *j = arg;
    ((rendezvous_store_secret_cb)j->cb)(j->cb_arg, status_out(st), key);
}

static bool peer_of(const uint8_t *bytes, size_t len, struct rdv_peerid *out)
{
    if (len > RDV_PEERID_MAX)
        return false;
    memcpy(out->bytes, bytes, len);
    out->len = len;
    return true;
}

static void job_run(struct app *a, struct job *j)
{
    struct rdv_store *e = a->engine;
    struct rdv_peerid peer;
    switch (j->op) {
    case JOB_PUT: {
        if (!peer_of(j->b, j->b_len, &peer)) {
            put_answer(j, RDV_STORE_ERROR);
            break;
        }
        struct rdv_store_put p = {.ns = (const char *)j->a, .ns_len = j->a_len, .peer = &peer, .seq = j->put.seq,
                                  .envelope = j->c, .envelope_len = j->put.envelope_len, .ttl_s = j->put.ttl_s,
                                  .max_per_peer = j->put.max_per_peer, .kind = j->put.kind, .dialect = j->put.dialect};
        rdv_store_put(e, &p, put_answer, j);
        break;
    }
    case JOB_UNREGISTER:
        if (!peer_of(j->b, j->b_len, &peer))
            count_answer(j, RDV_STORE_ERROR, 0);
        else
            rdv_store_unregister(e, j->kind, (const char *)j->a, j->a_len, &peer, count_answer, j);
        break;
    case JOB_DISCOVER: {
        struct rdv_store_query q = {.kind = j->query.kind, .ns = (const char *)j->a, .ns_len = j->a_len,
                                    .limit = j->query.limit, .ordered = j->query.ordered, .after = j->query.after};
        rdv_store_query(e, &q, discover_answer, j);
        break;
    }
    case JOB_EXPIRE: e->ops->expire(e, count_answer, j); break;
    case JOB_STATS: e->ops->stats(e, stats_answer, j); break;
    case JOB_LIST_NS:
        e->ops->list_namespaces(e, (const char *)j->a, j->a_len, j->has_b ? (const char *)j->b : NULL, j->b_len,
                                j->limit, ns_answer, j);
        break;
    case JOB_LIST_REGS:
        if (j->has_b && !peer_of(j->b, j->b_len, &peer))
            regs_answer(j, RDV_STORE_ERROR, NULL, 0, 0);
        else
            e->ops->list_registrations(e, j->kind, (const char *)j->a, j->a_len, j->has_b ? &peer : NULL, j->limit,
                                       regs_answer, j);
        break;
    case JOB_LIST_PEER:
        if (!peer_of(j->b, j->b_len, &peer))
            regs_answer(j, RDV_STORE_ERROR, NULL, 0, 0);
        else
            e->ops->list_peer(e, &peer, j->limit, regs_answer, j);
        break;
    case JOB_HEALTH: e->ops->health(e, health_answer, j); break;
    case JOB_SECRET: e->ops->secret(e, secret_answer, j); break;
    }
}

/* One job per loop iteration, so answers come late and in order, as from a database. */
static void on_idle(struct ev_loop *l, ev_idle *w, int revents)
{
    (void)revents;
    struct app *a = w->data;
    struct job *j = a->head;
    if (!j) {
        ev_idle_stop(l, w);
        return;
    }
    if (!(a->head = j->next))
        a->tail = &a->head;
    job_run(a, j);
    job_free(j);
}

#define JOB(a, op, cb, arg) job_new((a), (op), (void (*)(void))(cb), (arg))

static void app_put(void *ctx, const struct rendezvous_store_put *p, rendezvous_store_put_cb cb, void *cb_arg)
{
    struct job *j = JOB(ctx, JOB_PUT, cb, cb_arg);
    j->put = *p;
    j->a = dup_bytes(p->ns, j->a_len = p->ns_len);
    j->b = dup_bytes(p->peer, j->b_len = p->peer_len);
    j->c = dup_bytes(p->envelope, p->envelope_len);
}

static void app_unregister(void *ctx, uint8_t kind, const char *ns, size_t ns_len, const uint8_t *peer,
                           size_t peer_len, rendezvous_store_count_cb cb, void *cb_arg)
{
    struct job *j = JOB(ctx, JOB_UNREGISTER, cb, cb_arg);
    j->kind = kind;
    j->a = dup_bytes(ns, j->a_len = ns_len);
    j->b = dup_bytes(peer, j->b_len = peer_len);
}

static void app_discover(void *ctx, const struct rendezvous_store_query *q, rendezvous_store_discover_cb cb,
                         void *cb_arg)
{
    struct job *j = JOB(ctx, JOB_DISCOVER, cb, cb_arg);
    j->query = *q;
    j->a = dup_bytes(q->ns, j->a_len = q->ns_len);
}

static void app_expire(void *ctx, rendezvous_store_count_cb cb, void *cb_arg) { JOB(ctx, JOB_EXPIRE, cb, cb_arg); }
static void app_stats(void *ctx, rendezvous_store_stats_cb cb, void *cb_arg) { JOB(ctx, JOB_STATS, cb, cb_arg); }
static void app_health(void *ctx, rendezvous_store_health_cb cb, void *cb_arg) { JOB(ctx, JOB_HEALTH, cb, cb_arg); }
static void app_secret(void *ctx, rendezvous_store_secret_cb cb, void *cb_arg) { JOB(ctx, JOB_SECRET, cb, cb_arg); }

static void app_list_namespaces(void *ctx, const char *prefix, size_t prefix_len, const char *cursor,
                                size_t cursor_len, uint32_t limit, rendezvous_store_ns_list_cb cb, void *cb_arg)
{
    struct job *j = JOB(ctx, JOB_LIST_NS, cb, cb_arg);
    j->limit = limit;
    j->a = dup_bytes(prefix, j->a_len = prefix_len);
    if ((j->has_b = cursor != NULL))
        j->b = dup_bytes(cursor, j->b_len = cursor_len);
}

static void app_list_registrations(void *ctx, uint8_t kind, const char *ns, size_t ns_len, const uint8_t *cursor,
                                   size_t cursor_len, uint32_t limit, rendezvous_store_reg_list_cb cb, void *cb_arg)
{
    struct job *j = JOB(ctx, JOB_LIST_REGS, cb, cb_arg);
    j->kind = kind;
    j->limit = limit;
    j->a = dup_bytes(ns, j->a_len = ns_len);
    if ((j->has_b = cursor != NULL))
        j->b = dup_bytes(cursor, j->b_len = cursor_len);
}

static void app_list_peer(void *ctx, const uint8_t *peer, size_t peer_len, uint32_t limit,
                          rendezvous_store_reg_list_cb cb, void *cb_arg)
{
    struct job *j = JOB(ctx, JOB_LIST_PEER, cb, cb_arg);
    j->limit = limit;
    j->b = dup_bytes(peer, j->b_len = peer_len);
}

/* No callback may come after close: jobs still queued are dropped unanswered. */
static void app_close(void *ctx)
{
    struct app *a = ctx;
    ev_idle_stop(loop, &a->idle);
    while (a->head) {
        struct job *j = a->head;
        a->head = j->next;
        job_free(j);
    }
    rdv_store_close(a->engine);
    free(a);
}

static const struct rendezvous_store_ops app_ops = {
    .size = sizeof(struct rendezvous_store_ops), .name = "test-app", .put = app_put, .unregister = app_unregister,
    .discover = app_discover, .expire = app_expire, .stats = app_stats, .list_namespaces = app_list_namespaces,
    .list_registrations = app_list_registrations, .health = app_health, .secret = app_secret, .close = app_close,
    .list_peer = app_list_peer};

static struct app *app_new(const struct rdv_clock *clock)
{
    struct app *a = calloc(1, sizeof(*a));
    if (!a || !(a->engine = rdv_store_memory_new(clock))) {
        free(a);
        return NULL;
    }
    a->tail = &a->head;
    ev_idle_init(&a->idle, on_idle);
    a->idle.data = a;
    return a;
}

/* The internal store the library makes of ops (the handle let go: the suite closes the store). */
static struct rdv_store *library_store(const struct rendezvous_store_ops *ops, struct app *a)
{
    struct rendezvous_store *h = NULL;
    if (rendezvous_store_new(ops, a, &h) != RDV_OK) {
        app_close(a);
        return NULL;
    }
    return rdv_store_handle_release(h);
}

/* ---- the contract ------------------------------------------------------------------------------ */

static bool contract_ok(bool cond, const char *name) { return ok(cond, "%s", name); }

static struct rdv_store *make_app(void *ctx, const struct rdv_clock *clock)
{
    (void)ctx;
    struct app *a = app_new(clock);
    return a ? library_store(&app_ops, a) : NULL;
}

/* ---- what the adapter adds --------------------------------------------------------------------- */

static void regs_seen(void *arg, enum rdv_store_status st, const struct rdv_store_record *recs, size_t n, int more)
{
    (void)recs;
    (void)more;
    int *out = arg;
    *out = st == RDV_STORE_OK ? (int)n : -(int)st - 1;
}

static void ns_seen(void *arg, enum rdv_store_status st, const struct rdv_store_ns_info *items, size_t n, int more)
{
    (void)items;
    (void)more;
    int *out = arg;
    *out = st == RDV_STORE_OK ? (int)n : -(int)st - 1;
}

static void health_seen(void *arg, enum rdv_store_status st) { *(int *)arg = (int)st; }

static void run_until(const int *answer)
{
    for (int i = 0; i < 1000 && *answer == 99; i++)
        ev_run(loop, EVRUN_ONCE);
}

/* A store that brings only the required operations: the optional ones answer ERROR (the admin
 * API's browse and search then say the store cannot), health answers OK, nothing crashes. */
static void test_minimal_ops(void)
{
    struct rendezvous_store_ops minimal = {.size = sizeof(minimal), .name = "minimal", .put = app_put,
                                           .unregister = app_unregister, .discover = app_discover,
                                           .expire = app_expire, .stats = app_stats, .secret = app_secret,
                                           .close = app_close};
    struct app *a = app_new(NULL);
    struct rdv_store *s = a ? library_store(&minimal, a) : NULL;
    ok(s != NULL, "a store of the required operations only is accepted");
    if (!s)
        return;
    struct rdv_peerid p = {.len = 3, .bytes = {1, 2, 3}};
    int regs = 99, ns = 99, peer = 99, health = 99;
    s->ops->list_registrations(s, 0, "ns", 2, NULL, 10, regs_seen, &regs);
    s->ops->list_namespaces(s, "", 0, NULL, 0, 10, ns_seen, &ns);
    s->ops->list_peer(s, &p, 10, regs_seen, &peer);
    s->ops->health(s, health_seen, &health);
    is_int(regs, -(int)RDV_STORE_ERROR - 1, "list_registrations without the operation: ERROR at once");
    is_int(ns, -(int)RDV_STORE_ERROR - 1, "list_namespaces without the operation: ERROR at once");
    is_int(peer, -(int)RDV_STORE_ERROR - 1, "list_peer without the operation: ERROR at once");
    is_int(health, RDV_STORE_OK, "health without the operation: OK");
    rdv_store_close(s);
}

static void must_not_be_called(void *ctx, const uint8_t *peer, size_t peer_len, uint32_t limit,
                               rendezvous_store_reg_list_cb cb, void *cb_arg)
{
    (void)ctx, (void)peer, (void)peer_len, (void)limit, (void)cb, (void)cb_arg;
    abort();
}

/* An ops table from before list_peer existed (its size ends at close): the library reads no
 * further, so whatever lies past it in the caller's memory is never called. */
static void test_older_ops_size(void)
{
    struct rendezvous_store_ops older = app_ops;
    older.list_peer = must_not_be_called; /* beyond the declared size */
    older.size = offsetof(struct rendezvous_store_ops, list_peer);
    struct app *a = app_new(NULL);
    struct rdv_store *s = a ? library_store(&older, a) : NULL;
    ok(s != NULL, "an ops table of the older size is accepted");
    if (!s)
        return;
    struct rdv_peerid p = {.len = 3, .bytes = {1, 2, 3}};
    int peer = 99, regs = 99;
    s->ops->list_peer(s, &p, 10, regs_seen, &peer);
    is_int(peer, -(int)RDV_STORE_ERROR - 1, "list_peer past its size: ERROR, the member is not read");
    s->ops->list_registrations(s, 0, "ns", 2, NULL, 10, regs_seen, &regs);
    run_until(&regs);
    is_int(regs, 0, "list_registrations within its size still works (asynchronously)");
    rdv_store_close(s);

    struct rendezvous_store_ops tiny = app_ops;
    tiny.size = offsetof(struct rendezvous_store_ops, put);
    struct rendezvous_store *h = NULL;
    is_int(rendezvous_store_new(&tiny, NULL, &h), RDV_ERR_INVALID, "a size that does not reach the required ops: refused");
}

int main(void)
{
    loop = ev_default_loop(0);
    struct rdv_store_contract c = {.make = make_app, .loop = loop, .flags = RDV_CONTRACT_NO_BUDGET, .ok = contract_ok};
    rdv_store_contract_run("app", &c);
    test_minimal_ops();
    test_older_ops_size();
    ev_loop_destroy(loop);
    return tap_done();
}
