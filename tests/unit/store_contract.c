/* store_contract.c: the store contract suite (see store_contract.h).
 *
 * Each case asks the factory for a fresh store, runs operations through small synchronous-looking
 * wrappers (issue, then wait for the callback: at once for synchronous stores, by running the
 * event loop for asynchronous ones), copies what the callback reported into the suite's state
 * and checks it. With the controllable clock every time is checked to the millisecond; with
 * RDV_CONTRACT_REAL_CLOCK the same properties are checked as ranges after real waits. */
#include "store_contract.h"

#include <ev.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define T0 1700000000000LL /* the controllable clock's start, unix ms */
#define MAXREC 256
#define MAXNS 64
#define ENV_MAX 64
#define REAL_EXPIRY_WAIT_MS 1300 /* > a 1 s TTL, with room for the store's clock granularity */
#define SKEW_MS 60000            /* real clock: the store's time vs ours, same machine */
#define SLACK_MS 5000            /* real clock: time an operation may take to reach the store */

struct got_rec {
    struct rdv_peerid peer;
    uint64_t seq;
    uint8_t env[ENV_MAX];
    size_t env_len;
    int64_t ttl_left_ms;
    int64_t registered_at_ms;
};

struct got_ns {
    uint8_t name[RDV_NS_MAX];
    size_t len;
    uint64_t count;
    int64_t soonest, latest;
};

struct ctr {
    const struct rdv_store_contract *c;
    const char *label;
    bool real;
    int failed;
    bool broken;         /* an operation never completed: the rest is skipped */
    int64_t fake_now;
    struct rdv_clock clock;
    /* what the last callback reported */
    bool done;
    int calls;
    enum rdv_store_status st;
    size_t n;
    int more;
    uint64_t count;
    struct rdv_store_stats stats;
    struct got_rec recs[MAXREC];
    struct got_ns ns[MAXNS];
};

/* ---- reporting ------------------------------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static bool check(struct ctr *t, bool cond, const char *fmt, ...)
{
    char msg[200], name[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(name, sizeof(name), "%s: %s", t->label, msg);
    bool r = t->c->ok(cond, name);
    if (!r)
        t->failed++;
    return r;
}

__attribute__((format(printf, 4, 5)))
static bool check_eq(struct ctr *t, long long got, long long want, const char *fmt, ...)
{
    char name[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    bool r = check(t, got == want, "%s", name);
    if (!r)
        printf("#   got %lld, want %lld\n", got, want);
    return r;
}

/* ---- time ------------------------------------------------------------------------------ */

static int64_t fake_now(void *ctx)
{
    return ((struct ctr *)ctx)->fake_now;
}

static int64_t local_now_ms(void)
{
    return rdv_clock_system.now_ms(NULL);
}

static void wake_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ONE);
}

/* Lets ms pass: steps the controllable clock, or really waits (running the loop meanwhile). */
static void advance(struct ctr *t, int64_t ms)
{
    if (!t->real) {
        t->fake_now += ms;
        return;
    }
    if (t->c->loop) {
        ev_timer w;
        ev_timer_init(&w, wake_cb, (double)ms / 1000.0, 0.);
        ev_timer_start(t->c->loop, &w);
        ev_run(t->c->loop, 0);
        ev_timer_stop(t->c->loop, &w);
        return;
    }
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* ---- operations: issue, wait for the callback, keep its results ------------------------ */

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    *(bool *)w->data = true;
    ev_break(loop, EVBREAK_ONE);
}

static void op_begin(struct ctr *t)
{
    t->done = false;
    t->calls = 0;
    t->st = RDV_STORE_ERROR;
    t->n = 0;
    t->more = -1;
    t->count = 0;
    memset(&t->stats, 0, sizeof(t->stats));
}

/* Waits for the operation's callback. False (and the suite stops) if it never comes. */
static bool op_wait(struct ctr *t, const char *what)
{
    if (!t->done && t->c->loop) {
        bool expired = false;
        ev_timer w;
        ev_timer_init(&w, timeout_cb, RDV_CONTRACT_OP_TIMEOUT_MS / 1000.0, 0.);
        w.data = &expired;
        ev_timer_start(t->c->loop, &w);
        while (!t->done && !expired)
            ev_run(t->c->loop, EVRUN_ONCE);
        ev_timer_stop(t->c->loop, &w);
    }
    if (!t->done) {
        check(t, false, "%s: the callback is called (%s)", what,
              t->c->loop ? "within the timeout" : "before a synchronous store returns");
        t->broken = true;
        return false;
    }
    if (t->calls != 1)
        check(t, false, "%s: the callback is called exactly once (%d times)", what, t->calls);
    return true;
}

static void copy_recs(struct ctr *t, const struct rdv_store_record *recs, size_t n)
{
    t->n = n;
    for (size_t i = 0; i < n && i < MAXREC; i++) {
        struct got_rec *g = &t->recs[i];
        g->peer = recs[i].peer;
        g->seq = recs[i].seq;
        g->env_len = recs[i].envelope_len < ENV_MAX ? recs[i].envelope_len : ENV_MAX;
        if (g->env_len)
            memcpy(g->env, recs[i].envelope, g->env_len);
        g->ttl_left_ms = recs[i].ttl_left_ms;
        g->registered_at_ms = recs[i].registered_at_ms;
    }
}

static void mark(struct ctr *t, enum rdv_store_status st)
{
    t->calls++;
    t->done = true;
    t->st = st;
}

static void on_put(void *arg, enum rdv_store_status st)
{
    mark(arg, st);
}

static void on_discover(void *arg, enum rdv_store_status st, const struct rdv_store_record *recs, size_t n)
{
    mark(arg, st);
    copy_recs(arg, recs, n);
}

static void on_regs(void *arg, enum rdv_store_status st, const struct rdv_store_record *recs, size_t n, int more)
{
    struct ctr *t = arg;
    mark(t, st);
    copy_recs(t, recs, n);
    t->more = more;
}

static void on_ns(void *arg, enum rdv_store_status st, const struct rdv_store_ns_info *items, size_t n, int more)
{
    struct ctr *t = arg;
    mark(t, st);
    t->n = n;
    t->more = more;
    for (size_t i = 0; i < n && i < MAXNS; i++) {
        struct got_ns *g = &t->ns[i];
        g->len = items[i].ns_len <= RDV_NS_MAX ? items[i].ns_len : RDV_NS_MAX;
        memcpy(g->name, items[i].ns, g->len);
        g->count = items[i].count;
        g->soonest = items[i].soonest_expiry_ms;
        g->latest = items[i].latest_expiry_ms;
    }
}

static void on_count(void *arg, enum rdv_store_status st, uint64_t count)
{
    struct ctr *t = arg;
    mark(t, st);
    t->count = count;
}

static void on_stats(void *arg, enum rdv_store_status st, const struct rdv_store_stats *s)
{
    struct ctr *t = arg;
    mark(t, st);
    if (s)
        t->stats = *s;
}

static void on_health(void *arg, enum rdv_store_status st)
{
    mark(arg, st);
}

/* Peer ids shaped like real ones; the store only compares bytes. kind 0: ed25519 identity
 * multihash (38 bytes), 1: secp256k1 identity (39), 2: sha2-256 (34). i orders them within a kind. */
static struct rdv_peerid mkpeer_kind(unsigned i, int kind)
{
    static const uint8_t hdr[3][6] = { { 0x00, 0x24, 0x08, 0x01, 0x12, 0x20 },
                                       { 0x00, 0x25, 0x08, 0x02, 0x12, 0x21 },
                                       { 0x12, 0x20 } };
    static const size_t hlen[3] = { 6, 6, 2 }, total[3] = { 38, 39, 34 };
    struct rdv_peerid p;
    memset(&p, 0, sizeof(p));
    p.len = total[kind];
    memcpy(p.bytes, hdr[kind], hlen[kind]);
    size_t o = hlen[kind];
    p.bytes[o] = (uint8_t)(i >> 24);
    p.bytes[o + 1] = (uint8_t)(i >> 16);
    p.bytes[o + 2] = (uint8_t)(i >> 8);
    p.bytes[o + 3] = (uint8_t)i;
    for (size_t k = o + 4; k < p.len; k++)
        p.bytes[k] = (uint8_t)(i * 131u + k * 17u);
    return p;
}

static struct rdv_peerid mkpeer(unsigned i)
{
    return mkpeer_kind(i, 0);
}

/* i of a kind-0 id made by mkpeer(). */
static unsigned peer_index(const struct rdv_peerid *p)
{
    return (unsigned)p->bytes[6] << 24 | (unsigned)p->bytes[7] << 16 | (unsigned)p->bytes[8] << 8 | p->bytes[9];
}

/* A binary envelope stand-in (holds 0x00 and 0xff) derived from (peer, seq). */
static size_t mkenv(unsigned peer, uint64_t seq, uint8_t out[ENV_MAX])
{
    const uint8_t e[] = { 0x0a, 0x00, 0xff, (uint8_t)(peer >> 8), (uint8_t)peer, (uint8_t)(seq >> 8), (uint8_t)seq,
                          0x80, 0x00 };
    memcpy(out, e, sizeof(e));
    return sizeof(e);
}

static enum rdv_store_status put_raw(struct ctr *t, struct rdv_store *s, const void *ns, size_t ns_len,
                                     const struct rdv_peerid *peer, uint64_t seq, const void *env, size_t env_len,
                                     uint32_t ttl, uint32_t cap)
{
    if (t->broken)
        return RDV_STORE_ERROR;
    struct rdv_store_put p = { .ns = ns, .ns_len = ns_len, .peer = peer, .seq = seq, .envelope = env,
                               .envelope_len = env_len, .ttl_s = ttl, .max_per_peer = cap };
    op_begin(t);
    rdv_store_put(s, &p, on_put, t);
    op_wait(t, "put");
    return t->st;
}

/* Puts peer i into ns with the envelope mkenv(i, seq). */
static enum rdv_store_status put(struct ctr *t, struct rdv_store *s, const char *ns, unsigned i, uint64_t seq,
                                 uint32_t ttl, uint32_t cap)
{
    struct rdv_peerid id = mkpeer(i);
    uint8_t env[ENV_MAX];
    size_t n = mkenv(i, seq, env);
    return put_raw(t, s, ns, strlen(ns), &id, seq, env, n, ttl, cap);
}

static size_t discover_raw(struct ctr *t, struct rdv_store *s, const void *ns, size_t len, uint32_t limit)
{
    if (t->broken)
        return 0;
    op_begin(t);
    rdv_store_discover(s, ns, len, limit, on_discover, t);
    op_wait(t, "discover");
    return t->n;
}

static size_t discover(struct ctr *t, struct rdv_store *s, const char *ns, uint32_t limit)
{
    size_t n = discover_raw(t, s, ns, strlen(ns), limit);
    if (!t->broken && t->st != RDV_STORE_OK)
        check(t, false, "discover '%s' is OK (got %s)", ns, rdv_store_status_name(t->st));
    return n;
}

static uint64_t expire(struct ctr *t, struct rdv_store *s)
{
    if (t->broken)
        return 0;
    op_begin(t);
    rdv_store_expire(s, on_count, t);
    op_wait(t, "expire");
    return t->count;
}

static struct rdv_store_stats stats(struct ctr *t, struct rdv_store *s)
{
    if (!t->broken) {
        op_begin(t);
        rdv_store_stats(s, on_stats, t);
        op_wait(t, "stats");
    }
    return t->stats;
}

/* Lists namespaces; prefix and cursor are C strings, NULL for none. */
static size_t list_ns(struct ctr *t, struct rdv_store *s, const char *prefix, const char *cursor, uint32_t limit)
{
    if (t->broken)
        return 0;
    op_begin(t);
    rdv_store_list_namespaces(s, prefix, prefix ? strlen(prefix) : 0, cursor, cursor ? strlen(cursor) : 0, limit,
                              on_ns, t);
    op_wait(t, "list_namespaces");
    return t->n;
}

static size_t list_regs(struct ctr *t, struct rdv_store *s, const char *ns, const struct rdv_peerid *cursor,
                        uint32_t limit)
{
    if (t->broken)
        return 0;
    op_begin(t);
    rdv_store_list_registrations(s, 0, ns, strlen(ns), cursor, limit, on_regs, t);
    op_wait(t, "list_registrations");
    return t->n;
}

static bool peer_eq(const struct rdv_peerid *a, const struct rdv_peerid *b)
{
    return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

/* The reported record of peer i, or NULL. */
static const struct got_rec *find_rec(const struct ctr *t, unsigned i)
{
    struct rdv_peerid want = mkpeer(i);
    for (size_t k = 0; k < t->n && k < MAXREC; k++)
        if (peer_eq(&t->recs[k].peer, &want))
            return &t->recs[k];
    return NULL;
}

static bool ns_is(const struct got_ns *g, const char *name)
{
    return g->len == strlen(name) && memcmp(g->name, name, g->len) == 0;
}

static int bytes_cmp(const void *a, size_t an, const void *b, size_t bn)
{
    size_t m = an < bn ? an : bn;
    int c = m ? memcmp(a, b, m) : 0;
    return c ? c : (an > bn) - (an < bn);
}

/* ttl_left_ms as expected: exactly want_ms on the controllable clock, in (0, want_ms] otherwise. */
static bool ttl_is(const struct ctr *t, int64_t got, int64_t want_ms)
{
    return t->real ? got > 0 && got <= want_ms && got > want_ms - SLACK_MS : got == want_ms;
}

/* An absolute time (registration, expiry) as expected: exact, or near our own clock's. */
static bool time_is(const struct ctr *t, int64_t got, int64_t fake_want, int64_t real_offset_ms)
{
    return t->real ? llabs(got - (local_now_ms() + real_offset_ms)) < SKEW_MS : got == fake_want;
}

static struct rdv_store *new_store(struct ctr *t, const char *cas)
{
    if (t->broken)
        return NULL;
    t->fake_now = T0;
    struct rdv_store *s = t->c->make(t->c->ctx, t->real ? &rdv_clock_system : &t->clock);
    if (!check(t, s != NULL, "%s: the factory makes a store", cas))
        t->broken = true;
    return s;
}

/* ---- cases ----------------------------------------------------------------------------- */

static void case_empty(struct ctr *t)
{
    struct rdv_store *s = new_store(t, "empty");
    if (!s)
        return;
    check(t, s->ops->kind && *s->ops->kind, "empty: the store names its kind");
    struct rdv_store_stats st = stats(t, s);
    check_eq(t, t->st, RDV_STORE_OK, "empty: stats OK");
    check_eq(t, st.registrations, 0, "empty: 0 registrations");
    check_eq(t, st.namespaces, 0, "empty: 0 namespaces");
    check_eq(t, discover(t, s, "nothing", 10), 0, "empty: discover finds nothing");
    check_eq(t, list_ns(t, s, NULL, NULL, 10), 0, "empty: no namespaces listed");
    check(t, t->st == RDV_STORE_OK && t->more == 0, "empty: list_namespaces OK, more = 0");
    check_eq(t, list_regs(t, s, "nothing", NULL, 10), 0, "empty: no registrations listed");
    check(t, t->st == RDV_STORE_OK && t->more == 0, "empty: list_registrations OK, more = 0");
    check_eq(t, expire(t, s), 0, "empty: expire drops nothing");
    if (!t->broken) {
        op_begin(t);
        rdv_store_health(s, on_health, t);
        op_wait(t, "health");
        check_eq(t, t->st, RDV_STORE_OK, "health is OK");
    }
    rdv_store_close(s);
}

static bool rec_env_is(const struct got_rec *r, const void *env, size_t len)
{
    return r && r->env_len == len && memcmp(r->env, env, len) == 0;
}

static void case_upsert(struct ctr *t)
{
    struct rdv_store *s = new_store(t, "upsert");
    if (!s)
        return;
    struct rdv_peerid p1 = mkpeer(1);
    const uint8_t env1[] = { 0x0a, 0x00, 0x01, 0xff, 0x80, 0x00, 0x7f };
    check_eq(t, put_raw(t, s, "c/basic", 7, &p1, 5, env1, sizeof(env1), 20, 0), RDV_STORE_OK, "put is OK");
    check_eq(t, discover(t, s, "c/basic", 0), 1, "discover finds the record");
    const struct got_rec *r = find_rec(t, 1);
    check(t, r != NULL, "the record carries its peer id");
    check(t, r && r->seq == 5, "the record carries its seq");
    check(t, rec_env_is(r, env1, sizeof(env1)), "the envelope comes back byte for byte (0x00, 0xff inside)");
    check(t, r && ttl_is(t, r->ttl_left_ms, 20000), "ttl_left_ms is the full TTL");
    check(t, r && time_is(t, r->registered_at_ms, T0, 0), "registered_at_ms is the put time");
    int64_t ttl1 = r ? r->ttl_left_ms : 0, reg1 = r ? r->registered_at_ms : 0;
    check_eq(t, discover(t, s, "c/basi", 0), 0, "a prefix of a namespace is another namespace");
    check_eq(t, discover(t, s, "c/basic/x", 0), 0, "an extension of a namespace is another namespace");

    advance(t, 1100);
    discover(t, s, "c/basic", 0);
    r = find_rec(t, 1);
    check(t, r && (t->real ? r->ttl_left_ms <= ttl1 - 1000 && r->ttl_left_ms > 0 : r->ttl_left_ms == 18900),
          "ttl_left_ms counts down");

    const uint8_t env2[] = { 0x0a, 0x00, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02 };
    check_eq(t, put_raw(t, s, "c/basic", 7, &p1, 7, env2, sizeof(env2), 30, 0), RDV_STORE_OK, "higher seq: OK");
    check_eq(t, discover(t, s, "c/basic", 0), 1, "upsert keeps one record per (ns, peer)");
    r = find_rec(t, 1);
    check(t, r && r->seq == 7, "upsert: the new seq");
    check(t, rec_env_is(r, env2, sizeof(env2)), "upsert: the new (longer) envelope");
    check(t, r && ttl_is(t, r->ttl_left_ms, 30000), "upsert: the TTL restarts");
    check(t, r && (t->real ? r->registered_at_ms >= reg1 + 1000 : r->registered_at_ms == T0 + 1100),
          "upsert: registered_at_ms moves to the new put");

    const uint8_t env3[] = { 0x03 };
    check_eq(t, put_raw(t, s, "c/basic", 7, &p1, 7, env3, sizeof(env3), 10, 0), RDV_STORE_OK,
             "equal seq is a refresh: OK");
    discover(t, s, "c/basic", 0);
    r = find_rec(t, 1);
    check(t, t->n == 1 && rec_env_is(r, env3, sizeof(env3)), "refresh replaces the envelope");
    check(t, r && ttl_is(t, r->ttl_left_ms, 10000), "refresh: a shorter TTL applies");

    const uint8_t env4[] = { 0x04, 0x04 };
    check_eq(t, put_raw(t, s, "c/basic", 7, &p1, 6, env4, sizeof(env4), 60, 0), RDV_STORE_STALE, "lower seq is STALE");
    discover(t, s, "c/basic", 0);
    r = find_rec(t, 1);
    check(t, t->n == 1 && r && r->seq == 7 && rec_env_is(r, env3, sizeof(env3)), "STALE changes nothing");
    check(t, r && r->ttl_left_ms <= 10000 && r->ttl_left_ms > 0, "STALE does not refresh the TTL");

    check_eq(t, put(t, s, "c/basic", 2, 1, 20, 0), RDV_STORE_OK, "another peer in the namespace");
    check_eq(t, put(t, s, "c/other", 1, 1, 20, 0), RDV_STORE_OK, "the same peer in another namespace, lower seq");
    check_eq(t, discover(t, s, "c/basic", 0), 2, "two peers in one namespace");
    check(t, find_rec(t, 1) && find_rec(t, 2), "both are reported");
    struct rdv_store_stats st = stats(t, s);
    check(t, st.registrations == 3 && st.namespaces == 2, "stats: 3 registrations in 2 namespaces");
    rdv_store_close(s);
}

static void case_bad_params(struct ctr *t)
{
    struct rdv_store *s = new_store(t, "params");
    if (!s)
        return;
    char ns[RDV_NS_MAX + 1];
    for (size_t i = 0; i + 1 < sizeof(ns); i += 2) {
        ns[i] = (char)0xc3; /* "é" x 128: RDV_NS_MAX bytes of UTF-8 */
        ns[i + 1] = (char)0xa9;
    }
    ns[RDV_NS_MAX] = 'x';
    struct rdv_peerid p = mkpeer(3);
    uint8_t env[ENV_MAX];
    size_t el = mkenv(3, 1, env);
    check_eq(t, put_raw(t, s, ns, RDV_NS_MAX, &p, 1, env, el, 20, 0), RDV_STORE_OK,
             "a namespace of RDV_NS_MAX bytes: OK");
    check_eq(t, discover_raw(t, s, ns, RDV_NS_MAX, 0), 1, "and discover finds it");
    check_eq(t, put_raw(t, s, ns, RDV_NS_MAX + 1, &p, 1, env, el, 20, 0), RDV_STORE_ERROR,
             "a namespace over RDV_NS_MAX: ERROR");
    check_eq(t, put_raw(t, s, ns, 0, &p, 1, env, el, 20, 0), RDV_STORE_ERROR, "an empty namespace: ERROR");
    check_eq(t, put_raw(t, s, "c/p", 3, &p, 1, env, el, 0, 0), RDV_STORE_ERROR, "ttl 0: ERROR");
    check_eq(t, put_raw(t, s, "c/p", 3, &p, 1, env, 0, 20, 0), RDV_STORE_ERROR, "an empty envelope: ERROR");
    discover_raw(t, s, ns, RDV_NS_MAX + 1, 0);
    check_eq(t, t->st, RDV_STORE_ERROR, "discover of an over-long namespace: ERROR");
    check_eq(t, stats(t, s).registrations, 1, "only the valid put was stored");
    check_eq(t, list_ns(t, s, NULL, NULL, 10), 1, "the long namespace is listed");
    check(t, t->ns[0].len == RDV_NS_MAX && memcmp(t->ns[0].name, ns, RDV_NS_MAX) == 0,
          "listed with all its %d bytes", RDV_NS_MAX);
    rdv_store_close(s);
}

static void case_expiry(struct ctr *t)
{
    struct rdv_store *s = new_store(t, "expiry");
    if (!s)
        return;
    if (!t->real) {
        put(t, s, "c/edge", 1, 1, 2, 0);
        advance(t, 1999);
        check_eq(t, discover(t, s, "c/edge", 0), 1, "live 1 ms before its expiry");
        check(t, t->n == 1 && t->recs[0].ttl_left_ms == 1, "ttl_left_ms = 1 there");
        advance(t, 1);
        check_eq(t, discover(t, s, "c/edge", 0), 0, "gone exactly at its expiry");
    }
    /* Nothing but time passes between the puts and expire(): it must count all three. */
    for (unsigned i = 1; i <= 3; i++)
        put(t, s, "c/exp", i, 9, 1, 0);
    put(t, s, "c/exp", 4, 1, 60, 0);
    put(t, s, "c/gone", 5, 1, 1, 0);
    advance(t, t->real ? REAL_EXPIRY_WAIT_MS : 1000);
    check_eq(t, expire(t, s), 4, "expire() drops and counts the 4 expired records");
    check_eq(t, t->st, RDV_STORE_OK, "expire() is OK");
    check_eq(t, expire(t, s), 0, "expire() again: 0");
    check_eq(t, discover(t, s, "c/exp", 0), 1, "the live record stays");
    check(t, find_rec(t, 4) && find_rec(t, 4)->ttl_left_ms > 0, "it is the 60 s one, ttl_left_ms > 0");
    struct rdv_store_stats st = stats(t, s);
    check(t, st.registrations == 1 && st.namespaces == 1, "stats count only the live record and namespace");

    /* Without expire(): every read must still hide what expired. */
    put(t, s, "c/hidden", 6, 5, 1, 0);
    put(t, s, "c/exp", 7, 1, 1, 0);
    advance(t, t->real ? REAL_EXPIRY_WAIT_MS : 1000);
    check_eq(t, discover(t, s, "c/hidden", 0), 0, "discover never returns an expired record");
    check_eq(t, discover(t, s, "c/exp", 0), 1, "only the live one of c/exp");
    check_eq(t, list_ns(t, s, "c/", NULL, 10), 1, "list_namespaces skips namespaces with only expired records");
    check(t, t->n == 1 && ns_is(&t->ns[0], "c/exp") && t->ns[0].count == 1, "and counts only live records");
    check_eq(t, list_regs(t, s, "c/exp", NULL, 10), 1, "list_registrations skips expired records");
    st = stats(t, s);
    check(t, st.registrations == 1 && st.namespaces == 1, "stats skip expired records");

    /* An expired record is no record: a lower seq is not STALE, and the namespace comes back. */
    check_eq(t, put(t, s, "c/hidden", 6, 1, 20, 0), RDV_STORE_OK, "after expiry a lower seq is accepted");
    check_eq(t, put(t, s, "c/gone", 5, 0, 20, 0), RDV_STORE_OK, "a vanished namespace is recreated");
    check_eq(t, discover(t, s, "c/gone", 0), 1, "and holds the new record");
    check(t, t->n == 1 && t->recs[0].seq == 0 && ttl_is(t, t->recs[0].ttl_left_ms, 20000), "with its seq and TTL");
    rdv_store_close(s);
}

static void case_cap(struct ctr *t)
{
    struct rdv_store *s = new_store(t, "cap");
    if (!s)
        return;
    check_eq(t, put(t, s, "c/n2", 7, 1, 60, 3), RDV_STORE_OK, "cap 3: 1st namespace");
    check_eq(t, put(t, s, "c/n3", 7, 1, 60, 3), RDV_STORE_OK, "cap 3: 2nd namespace");
    check_eq(t, put(t, s, "c/n1", 7, 1, 1, 3), RDV_STORE_OK, "cap 3: 3rd namespace (1 s)");
    check_eq(t, put(t, s, "c/n4", 7, 1, 60, 3), RDV_STORE_LIMIT, "cap 3: a 4th namespace is LIMIT");
    check_eq(t, discover(t, s, "c/n4", 0), 0, "LIMIT stored nothing");
    check_eq(t, stats(t, s).namespaces, 3, "LIMIT left no empty namespace behind");
    check_eq(t, put(t, s, "c/n1", 7, 2, 1, 3), RDV_STORE_OK, "a new seq in a held namespace at the cap: OK");
    check_eq(t, put(t, s, "c/n2", 7, 1, 60, 3), RDV_STORE_OK, "a refresh at the cap: OK");
    check_eq(t, put(t, s, "c/n4", 8, 1, 60, 3), RDV_STORE_OK, "another peer is not affected");
    check_eq(t, put(t, s, "c/n4", 7, 1, 60, 0), RDV_STORE_OK, "cap 0 means no cap");
    check_eq(t, put(t, s, "c/n5", 7, 1, 60, 4), RDV_STORE_LIMIT, "4 live registrations, cap 4: LIMIT");
    advance(t, t->real ? REAL_EXPIRY_WAIT_MS : 1000);
    check_eq(t, put(t, s, "c/n5", 7, 1, 60, 4), RDV_STORE_OK, "an expired registration frees its place");
    check_eq(t, put(t, s, "c/n6", 7, 1, 60, 4), RDV_STORE_LIMIT, "and the cap holds again");
    rdv_store_close(s);
}

static void case_sample(struct ctr *t)
{
    struct rdv_store *s = new_store(t, "sample");
    if (!s)
        return;
    for (unsigned i = 0; i < 10; i++)
        put(t, s, "c/sample", i, 1, 60, 0);
    check_eq(t, discover(t, s, "c/sample", 0), 10, "limit 0: all 10");
    check_eq(t, discover(t, s, "c/sample", 10), 10, "limit 10: all 10");
    check_eq(t, discover(t, s, "c/sample", 1000), 10, "limit 1000: all 10");
    unsigned seen[10] = { 0 };
    bool exact = true, distinct = true;
    for (int run = 0; run < 200 && !t->broken; run++) {
        exact = discover(t, s, "c/sample", 5) == 5 && exact;
        unsigned mask = 0;
        for (size_t k = 0; k < t->n && k < MAXREC; k++) {
            unsigned idx = peer_index(&t->recs[k].peer);
            if (idx >= 10 || (mask & (1u << idx)))
                distinct = false;
            else
                seen[idx]++;
            mask |= idx < 10 ? 1u << idx : 0;
        }
    }
    check(t, exact, "200 samples of 5 of 10: exactly 5 each");
    check(t, distinct, "a sample holds distinct records");
    unsigned lo = UINT32_MAX, hi = 0;
    for (int i = 0; i < 10; i++) {
        lo = seen[i] < lo ? seen[i] : lo;
        hi = seen[i] > hi ? seen[i] : hi;
    }
    /* Each record is in a sample with p = 1/2: mean 100 of 200, sd ~7; 50 is 7 sd away. */
    check(t, lo >= 50 && hi <= 150, "samples are uniform: each record drawn 50..150 times of 200 (%u..%u)", lo, hi);
    check_eq(t, discover(t, s, "c/sample", 0), 10, "sampling loses nothing");
    rdv_store_close(s);
}

/* Namespaces for the browsing cases, including LIKE metacharacters and UTF-8 (bytes >= 0x80). */
static const char *const browse_ns[] = {
    "a", "a/b", "ab", "a_c", "a%c", "a\\c", "A", "b", "z", "\xc3\xa9", "\xc3\xa9" "a", "\xe6\x97\xa5\xe6\x9c\xac",
};
#define BROWSE_N (sizeof(browse_ns) / sizeof(browse_ns[0]))

static int cmp_cstr_bytes(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return bytes_cmp(x, strlen(x), y, strlen(y));
}

/* Namespace i holds i % 3 + 1 records with TTLs 10, 20, 30 s. */
static void browse_fill(struct ctr *t, struct rdv_store *s)
{
    for (size_t i = 0; i < BROWSE_N; i++)
        for (unsigned j = 0; j <= i % 3; j++)
            put(t, s, browse_ns[i], 100 + j, 1, 10 + 10 * j, 0);
}

static size_t browse_count(const char *name)
{
    for (size_t i = 0; i < BROWSE_N; i++)
        if (strcmp(browse_ns[i], name) == 0)
            return i % 3 + 1;
    return 0;
}

static void check_ns_page(struct ctr *t, const char *const *want, size_t nwant, int more, const char *what)
{
    bool same = t->st == RDV_STORE_OK && t->n == nwant;
    for (size_t i = 0; same && i < nwant; i++)
        same = ns_is(&t->ns[i], want[i]);
    check(t, same, "%s: the expected namespaces in byte order", what);
    check_eq(t, t->more, more, "%s: more = %d", what, more);
}

static void case_browse_ns(struct ctr *t)
{
    struct rdv_store *s = new_store(t, "browse");
    if (!s)
        return;
    browse_fill(t, s);
    const char *sorted[BROWSE_N];
    memcpy(sorted, browse_ns, sizeof(sorted));
    qsort(sorted, BROWSE_N, sizeof(sorted[0]), cmp_cstr_bytes);

    list_ns(t, s, NULL, NULL, 100);
    check_ns_page(t, sorted, BROWSE_N, 0, "all namespaces");
    bool counts = true, times = true;
    for (size_t i = 0; i < t->n && i < MAXNS; i++) {
        size_t c = browse_count(sorted[i]);
        counts = counts && t->ns[i].count == c;
        times = times && time_is(t, t->ns[i].soonest, T0 + 10000, 10000) &&
                time_is(t, t->ns[i].latest, T0 + (int64_t)c * 10000, (int64_t)c * 10000) &&
                llabs(t->ns[i].latest - t->ns[i].soonest - (int64_t)(c - 1) * 10000) <= (t->real ? SLACK_MS : 0);
    }
    check(t, counts, "each namespace reports its count of live records");
    check(t, times, "each namespace reports its soonest and latest expiry");

    for (uint32_t limit = 1; limit <= 5; limit++) {
        const char *cursor = NULL;
        char cur[RDV_NS_MAX + 1];
        size_t got = 0;
        bool good = true;
        for (int page = 0; page < 20 && !t->broken; page++) {
            list_ns(t, s, NULL, cursor, limit);
            size_t expect = BROWSE_N - got < limit ? BROWSE_N - got : limit;
            good = good && t->st == RDV_STORE_OK && t->n == expect && t->more == (got + expect < BROWSE_N);
            for (size_t i = 0; good && i < t->n; i++)
                good = ns_is(&t->ns[i], sorted[got + i]);
            got += t->n;
            if (!good || !t->more || t->n == 0)
                break;
            memcpy(cur, t->ns[t->n - 1].name, t->ns[t->n - 1].len);
            cur[t->ns[t->n - 1].len] = 0;
            cursor = cur;
        }
        check(t, good && got == BROWSE_N, "pages of %u: every namespace once, in order, more set right", limit);
    }

    const char *pa[] = { "a", "a%c", "a/b", "a\\c", "a_c", "ab" };
    list_ns(t, s, "a", NULL, 100);
    check_ns_page(t, pa, 6, 0, "prefix 'a'");
    list_ns(t, s, "a_", NULL, 100);
    check_ns_page(t, (const char *[]){ "a_c" }, 1, 0, "prefix 'a_' (a LIKE wildcard) is literal");
    list_ns(t, s, "a%", NULL, 100);
    check_ns_page(t, (const char *[]){ "a%c" }, 1, 0, "prefix 'a%' is literal");
    list_ns(t, s, "a\\", NULL, 100);
    check_ns_page(t, (const char *[]){ "a\\c" }, 1, 0, "prefix 'a\\' is literal");
    list_ns(t, s, "\xc3\xa9", NULL, 100);
    check_ns_page(t, (const char *[]){ "\xc3\xa9", "\xc3\xa9" "a" }, 2, 0, "a UTF-8 prefix");
    list_ns(t, s, "\xc3", NULL, 100);
    check_ns_page(t, (const char *[]){ "\xc3\xa9", "\xc3\xa9" "a" }, 2, 0, "a prefix ending inside a UTF-8 character");
    list_ns(t, s, "x", NULL, 100);
    check_ns_page(t, NULL, 0, 0, "a prefix nothing has");
    list_ns(t, s, "a", "a", 2);
    check_ns_page(t, (const char *[]){ "a%c", "a/b" }, 2, 1, "prefix 'a' after cursor 'a', limit 2");
    list_ns(t, s, "a", "a/b", 10);
    check_ns_page(t, (const char *[]){ "a\\c", "a_c", "ab" }, 3, 0, "prefix 'a' after cursor 'a/b'");
    list_ns(t, s, NULL, "aa", 2);
    check_ns_page(t, (const char *[]){ "ab", "b" }, 2, 1, "a cursor that is no namespace");
    list_ns(t, s, NULL, "z", 100);
    check_ns_page(t, (const char *[]){ "\xc3\xa9", "\xc3\xa9" "a", "\xe6\x97\xa5\xe6\x9c\xac" }, 3, 0,
                  "bytes >= 0x80 sort after ASCII");
    list_ns(t, s, NULL, "\xe6\x97\xa5\xe6\x9c\xac", 100);
    check_ns_page(t, NULL, 0, 0, "after the last namespace: nothing");
    list_ns(t, s, NULL, "\xff", 100);
    check_ns_page(t, NULL, 0, 0, "after 0xff: nothing");
    check_eq(t, discover(t, s, "\xe6\x97\xa5\xe6\x9c\xac", 0), browse_count("\xe6\x97\xa5\xe6\x9c\xac"),
             "discover in a UTF-8 namespace");
    rdv_store_close(s);
}

/* Pages stay consistent while namespaces appear and disappear between them. */
static void case_browse_stable(struct ctr *t)
{
    struct rdv_store *s = new_store(t, "stable");
    if (!s)
        return;
    char ns[16];
    for (unsigned i = 0; i < 10; i++) {
        snprintf(ns, sizeof(ns), "p/%02u", i);
        put(t, s, ns, 1, 1, i == 6 ? 1 : 60, 0);
    }
    put(t, s, "q/outside", 1, 1, 60, 0);
    list_ns(t, s, "p/", NULL, 4);
    check_ns_page(t, (const char *[]){ "p/00", "p/01", "p/02", "p/03" }, 4, 1, "page 1");
    put(t, s, "p/015", 1, 1, 60, 0); /* before the cursor: not on later pages */
    put(t, s, "p/035", 1, 1, 60, 0); /* after it: shows up */
    put(t, s, "p/04", 2, 1, 60, 0);
    put(t, s, "p/99", 1, 1, 60, 0);
    advance(t, t->real ? REAL_EXPIRY_WAIT_MS : 1000); /* p/06 expires */
    list_ns(t, s, "p/", "p/03", 4);
    check_ns_page(t, (const char *[]){ "p/035", "p/04", "p/05", "p/07" }, 4, 1,
                  "page 2 after adds before/after the cursor and an expiry");
    check(t, t->n > 1 && t->ns[1].count == 2, "page 2 counts the record added to p/04");
    list_ns(t, s, "p/", "p/07", 4);
    check_ns_page(t, (const char *[]){ "p/08", "p/09", "p/99" }, 3, 0, "page 3, the last");
    rdv_store_close(s);
}

static void case_browse_regs(struct ctr *t)
{
    struct rdv_store *s = new_store(t, "registrations");
    if (!s)
        return;
    /* Seven peers of three id shapes, put in an order unrelated to their byte order. */
    static const unsigned idx[7] = { 9, 2, 7, 4, 1, 3, 5 };
    static const int kind[7] = { 0, 2, 1, 0, 1, 2, 0 };
    struct rdv_peerid ids[7], sorted[7];
    for (int i = 0; i < 7; i++) {
        ids[i] = mkpeer_kind(idx[i], kind[i]);
        uint8_t env[ENV_MAX];
        size_t el = mkenv(idx[i], 10 + (unsigned)i, env);
        put_raw(t, s, "c/regs", 6, &ids[i], 10 + (uint64_t)i, env, el, 30, 0);
        sorted[i] = ids[i];
    }
    put(t, s, "c/regs-other", 1, 1, 30, 0);
    put(t, s, "c/reg", 2, 1, 30, 0);
    for (int i = 1; i < 7; i++) /* insertion sort by bytes */
        for (int j = i; j > 0 && bytes_cmp(sorted[j - 1].bytes, sorted[j - 1].len, sorted[j].bytes, sorted[j].len) > 0;
             j--) {
            struct rdv_peerid tmp = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = tmp;
        }

    list_regs(t, s, "c/regs", NULL, 100);
    bool order = t->st == RDV_STORE_OK && t->n == 7 && t->more == 0;
    bool fields = true;
    for (size_t i = 0; order && i < 7; i++) {
        order = peer_eq(&t->recs[i].peer, &sorted[i]);
        int w = 0;
        while (w < 7 && !peer_eq(&ids[w], &sorted[i]))
            w++;
        uint8_t env[ENV_MAX];
        size_t el = mkenv(idx[w], 10 + (unsigned)w, env);
        fields = fields && t->recs[i].seq == 10 + (uint64_t)w && rec_env_is(&t->recs[i], env, el) &&
                 ttl_is(t, t->recs[i].ttl_left_ms, 30000) && time_is(t, t->recs[i].registered_at_ms, T0, 0);
    }
    check(t, order, "all 7 registrations in peer id byte order, more = 0");
    check(t, fields, "each with its seq, envelope, ttl_left_ms and registered_at_ms");

    for (uint32_t limit = 1; limit <= 7; limit++) {
        const struct rdv_peerid *cursor = NULL;
        struct rdv_peerid cur;
        size_t got = 0;
        bool good = true;
        for (int page = 0; page < 10 && !t->broken; page++) {
            list_regs(t, s, "c/regs", cursor, limit);
            size_t expect = 7 - got < limit ? 7 - got : limit;
            good = good && t->st == RDV_STORE_OK && t->n == expect && t->more == (got + expect < 7);
            for (size_t i = 0; good && i < t->n; i++)
                good = peer_eq(&t->recs[i].peer, &sorted[got + i]);
            got += t->n;
            if (!good || !t->more || t->n == 0)
                break;
            cur = t->recs[t->n - 1].peer;
            cursor = &cur;
        }
        check(t, good && got == 7, "pages of %u: every registration once, in order, more set right", limit);
    }

    struct rdv_peerid between = sorted[2];
    between.bytes[between.len - 1] ^= 0x01; /* near sorted[2] but not it: after it iff the byte grew */
    bool after = bytes_cmp(between.bytes, between.len, sorted[2].bytes, sorted[2].len) > 0;
    list_regs(t, s, "c/regs", &between, 2);
    check(t, t->n == 2 && peer_eq(&t->recs[0].peer, &sorted[after ? 3 : 2]) && t->more == 1,
          "a cursor that is no registration");
    list_regs(t, s, "c/regs", &sorted[6], 10);
    check(t, t->st == RDV_STORE_OK && t->n == 0 && t->more == 0, "after the last registration: nothing");
    list_regs(t, s, "c/none", NULL, 10);
    check(t, t->st == RDV_STORE_OK && t->n == 0 && t->more == 0, "an unknown namespace: nothing");
    list_regs(t, s, "c/reg", NULL, 10);
    check(t, t->n == 1 && find_rec(t, 2), "a namespace that is a prefix of another lists only its own");

    /* A registration added after the cursor between pages shows up on the next page. */
    list_regs(t, s, "c/regs", NULL, 3);
    struct rdv_peerid cur = t->recs[2].peer;
    struct rdv_peerid late = mkpeer_kind(0xffffff, 2); /* 0x12...: sorts after every identity id */
    uint8_t env[ENV_MAX];
    put_raw(t, s, "c/regs", 6, &late, 1, env, mkenv(1, 1, env), 30, 0);
    list_regs(t, s, "c/regs", &cur, 10);
    check(t, t->n == 5 && peer_eq(&t->recs[4].peer, &late) && t->more == 0, "a registration added later is listed");
    rdv_store_close(s);
}

static void case_bulk(struct ctr *t)
{
    struct rdv_store *s = new_store(t, "bulk");
    if (!s)
        return;
    bool all_ok = true;
    char ns[16];
    for (unsigned i = 0; i < 500 && !t->broken; i++) {
        snprintf(ns, sizeof(ns), "bulk/%u", i % 5);
        all_ok = put(t, s, ns, i, 1, 60, 0) == RDV_STORE_OK && all_ok;
    }
    check(t, all_ok, "500 puts OK");
    struct rdv_store_stats st = stats(t, s);
    check(t, st.registrations == 500 && st.namespaces == 5, "stats: 500 in 5 namespaces");
    check_eq(t, discover(t, s, "bulk/3", 0), 100, "discover returns all 100 of a namespace");
    check_eq(t, discover(t, s, "bulk/3", 7), 7, "or a sample of 7");
    struct rdv_peerid prev = { .len = 0 }, cur;
    const struct rdv_peerid *cursor = NULL;
    size_t got = 0;
    bool order = true;
    for (int page = 0; page < 30 && !t->broken; page++) {
        list_regs(t, s, "bulk/3", cursor, 7);
        for (size_t i = 0; i < t->n && i < MAXREC; i++) {
            order = order && bytes_cmp(prev.bytes, prev.len, t->recs[i].peer.bytes, t->recs[i].peer.len) < 0 &&
                    peer_index(&t->recs[i].peer) % 5 == 3;
            prev = t->recs[i].peer;
        }
        got += t->n;
        if (!t->more || t->n == 0)
            break;
        cur = prev;
        cursor = &cur;
    }
    check(t, order && got == 100, "paging through 100 registrations by 7: all, ascending (%zu)", got);
    list_ns(t, s, "bulk/", NULL, 3);
    check(t, t->n == 3 && t->more == 1 && t->ns[0].count == 100, "namespace page of 3 with counts of 100");
    rdv_store_close(s);
}

int rdv_store_contract_run(const char *label, const struct rdv_store_contract *c)
{
    struct ctr *t = calloc(1, sizeof(*t));
    if (!t) {
        c->ok(false, "store contract: out of memory");
        return 1;
    }
    t->c = c;
    t->label = label;
    t->real = (c->flags & RDV_CONTRACT_REAL_CLOCK) != 0;
    t->clock = (struct rdv_clock){ fake_now, t };
    printf("# store contract: %s (%s clock)\n", label, t->real ? "real" : "controlled");
    void (*const cases[])(struct ctr *) = {
        case_empty, case_upsert, case_bad_params, case_expiry, case_cap, case_sample,
        case_browse_ns, case_browse_stable, case_browse_regs, case_bulk,
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]) && !t->broken; i++)
        cases[i](t);
    if (t->broken)
        check(t, false, "the suite ran to its end");
    int failed = t->failed;
    /* After a timeout a late callback may still write into t: it stays allocated on purpose. */
    if (!t->broken)
        free(t);
    return failed;
}
