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
    uint8_t ns[RDV_NS_MAX];
    size_t ns_len;
    uint8_t kind, dialect;
    uint64_t counter;
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
    uint8_t kind;
    uint64_t count;
    uint64_t by_dialect[RDV_STORE_DIALECTS];
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
    bool secret_null;
    uint8_t secret[RDV_STORE_SECRET_LEN];
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
    t->secret_null = true;
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
        g->ns_len = recs[i].ns_len <= RDV_NS_MAX ? recs[i].ns_len : RDV_NS_MAX;
        if (g->ns_len && recs[i].ns)
            memcpy(g->ns, recs[i].ns, g->ns_len);
        g->kind = recs[i].kind;
        g->dialect = recs[i].dialect;
        g->counter = recs[i].counter;
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
        g->kind = items[i].kind;
        g->count = items[i].count;
        memcpy(g->by_dialect, items[i].by_dialect, sizeof(g->by_dialect));
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

static void on_secret(void *arg, enum rdv_store_status st, const uint8_t *key)
{
    struct ctr *t = arg;
    mark(t, st);
    t->secret_null = key == NULL;
    if (key)
        memcpy(t->secret, key, RDV_STORE_SECRET_LEN);
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

/* Lists namespaces after a cursor of cursor_len bytes (it may hold 0x00: the kind suffix). */
static size_t list_ns_raw(struct ctr *t, struct rdv_store *s, const char *prefix, const void *cursor,
                          size_t cursor_len, uint32_t limit)
{
    if (t->broken)
        return 0;
    op_begin(t);
    rdv_store_list_namespaces(s, prefix, prefix ? strlen(prefix) : 0, cursor, cursor_len, limit, on_ns, t);
    op_wait(t, "list_namespaces");
    return t->n;
}

static size_t list_regs_kind(struct ctr *t, struct rdv_store *s, uint8_t kind, const char *ns,
                             const struct rdv_peerid *cursor, uint32_t limit)
{
    if (t->broken)
        return 0;
    op_begin(t);
    rdv_store_list_registrations(s, kind, ns, strlen(ns), cursor, limit, on_regs, t);
    op_wait(t, "list_registrations");
    return t->n;
}

static size_t list_peer(struct ctr *t, struct rdv_store *s, const struct rdv_peerid *peer, uint32_t limit)
{
    if (t->broken)
        return 0;
    op_begin(t);
    rdv_store_list_peer(s, peer, limit, on_regs, t);
    op_wait(t, "list_peer");
    return t->n;
}

static size_t list_regs(struct ctr *t, struct rdv_store *s, const char *ns, const struct rdv_peerid *cursor,
                        uint32_t limit)
{
    return list_regs_kind(t, s, 0, ns, cursor, limit);
}

/* The envelope put_kd() stores for peer i under kind: distinct per kind, so a record of one kind
 * replacing another's would show. */
static size_t mkenv_kind(unsigned i, uint8_t kind, uint64_t seq, uint8_t out[ENV_MAX])
{
    return mkenv(i + 4096u * kind, seq, out);
}

/* Puts peer i into (kind, ns) on behalf of dialect. */
static enum rdv_store_status put_kd(struct ctr *t, struct rdv_store *s, const char *ns, unsigned i, uint64_t seq,
                                    uint32_t ttl, uint32_t cap, uint8_t kind, uint8_t dialect)
{
    if (t->broken)
        return RDV_STORE_ERROR;
    struct rdv_peerid id = mkpeer(i);
    uint8_t env[ENV_MAX];
    size_t el = mkenv_kind(i, kind, seq, env);
    struct rdv_store_put p = { .ns = ns, .ns_len = strlen(ns), .peer = &id, .seq = seq, .envelope = env,
                               .envelope_len = el, .ttl_s = ttl, .max_per_peer = cap, .kind = kind,
                               .dialect = dialect };
    op_begin(t);
    rdv_store_put(s, &p, on_put, t);
    op_wait(t, "put");
    return t->st;
}

static size_t query(struct ctr *t, struct rdv_store *s, const struct rdv_store_query *q)
{
    if (t->broken)
        return 0;
    op_begin(t);
    rdv_store_query(s, q, on_discover, t);
    op_wait(t, "discover");
    return t->n;
}

/* A sampled discover of (kind, ns). */
static size_t sampled(struct ctr *t, struct rdv_store *s, uint8_t kind, const char *ns, uint32_t limit)
{
    struct rdv_store_query q = { .kind = kind, .ns = ns, .ns_len = strlen(ns), .limit = limit };
    return query(t, s, &q);
}

/* An ordered discover of (kind, ns) after a counter; ns NULL: every namespace (ns_len 0). */
static size_t ordered(struct ctr *t, struct rdv_store *s, uint8_t kind, const char *ns, uint32_t limit,
                      uint64_t after)
{
    struct rdv_store_query q = { .kind = kind, .ns = ns, .ns_len = ns ? strlen(ns) : 0, .limit = limit,
                                 .ordered = 1, .after = after };
    return query(t, s, &q);
}

/* Unregisters; the status is returned, the count left in t->count. */
static enum rdv_store_status unreg_raw(struct ctr *t, struct rdv_store *s, uint8_t kind, const char *ns,
                                       size_t ns_len, const struct rdv_peerid *peer)
{
    if (t->broken)
        return RDV_STORE_ERROR;
    op_begin(t);
    rdv_store_unregister(s, kind, ns, ns_len, peer, on_count, t);
    op_wait(t, "unregister");
    return t->st;
}

static enum rdv_store_status unreg(struct ctr *t, struct rdv_store *s, uint8_t kind, const char *ns, unsigned i)
{
    struct rdv_peerid id = mkpeer(i);
    return unreg_raw(t, s, kind, ns, strlen(ns), &id);
}

static enum rdv_store_status get_secret(struct ctr *t, struct rdv_store *s)
{
    if (t->broken)
        return RDV_STORE_ERROR;
    op_begin(t);
    rdv_store_secret(s, on_secret, t);
    op_wait(t, "secret");
    return t->st;
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

/* Whether a reported record is of (kind, ns). */
static bool rec_in(const struct got_rec *r, const char *ns, uint8_t kind)
{
    return r && r->kind == kind && r->ns_len == strlen(ns) && memcmp(r->ns, ns, r->ns_len) == 0;
}

/* The reported record of peer i in ns, or NULL. */
static const struct got_rec *find_rec_ns(const struct ctr *t, const char *ns, unsigned i)
{
    struct rdv_peerid want = mkpeer(i);
    for (size_t k = 0; k < t->n && k < MAXREC; k++)
        if (peer_eq(&t->recs[k].peer, &want) && t->recs[k].ns_len == strlen(ns) &&
            memcmp(t->recs[k].ns, ns, t->recs[k].ns_len) == 0)
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

/* ---- record kinds, dialects, counters, ordered pages, unregister, secret --------------- */

/* Kinds are part of the key: (kind, ns, peer) under two kinds are two registrations. */
static void case_kinds(struct ctr *t)
{
    struct rdv_store *s = new_store(t, "kinds");
    if (!s)
        return;
    uint8_t env0[ENV_MAX], env1[ENV_MAX];
    size_t el0 = mkenv_kind(1, 0, 5, env0), el1 = mkenv_kind(1, 1, 1, env1);
    check_eq(t, put_kd(t, s, "k/x", 1, 5, 60, 0, 0, 0), RDV_STORE_OK, "kinds: put (kind 0, k/x, peer 1)");
    check_eq(t, put_kd(t, s, "k/x", 1, 1, 60, 0, 1, 1), RDV_STORE_OK,
             "kinds: the same ns and peer under kind 1 with a lower seq: OK, not STALE");
    check_eq(t, put_kd(t, s, "k/x", 2, 1, 60, 0, 1, 1), RDV_STORE_OK, "kinds: another peer under kind 1");
    struct rdv_store_stats st = stats(t, s);
    check(t, st.registrations == 3 && st.namespaces == 1, "kinds: stats: 3 registrations, 1 name over both kinds");

    check_eq(t, sampled(t, s, 0, "k/x", 0), 1, "kinds: a sampled discover of kind 0 finds only its record");
    const struct got_rec *r = find_rec(t, 1);
    check(t, rec_in(r, "k/x", 0) && r->seq == 5 && rec_env_is(r, env0, el0),
          "kinds: reported with its kind, namespace, seq and envelope");
    check_eq(t, sampled(t, s, 1, "k/x", 0), 2, "kinds: kind 1 holds its two");
    r = find_rec(t, 1);
    check(t, rec_in(r, "k/x", 1) && rec_in(find_rec(t, 2), "k/x", 1) && r->seq == 1 && rec_env_is(r, env1, el1),
          "kinds: both of kind 1, with kind 1's seq and envelope");
    bool only = true;
    for (int run = 0; run < 20 && !t->broken; run++)
        only = sampled(t, s, 1, "k/x", 1) == 1 && rec_in(&t->recs[0], "k/x", 1) && only;
    check(t, only, "kinds: samples of 1 of kind 1 never return kind 0's record");
    check_eq(t, sampled(t, s, 2, "k/x", 0), 0, "kinds: a kind nobody registered: nothing");
    check_eq(t, t->st, RDV_STORE_OK, "kinds: and OK");

    check_eq(t, put_kd(t, s, "k/x", 1, 6, 60, 0, 0, 0), RDV_STORE_OK, "kinds: upsert under kind 0");
    sampled(t, s, 1, "k/x", 0);
    r = find_rec(t, 1);
    check(t, r && r->seq == 1 && rec_env_is(r, env1, el1), "kinds: kind 1's record is left alone");
    check_eq(t, put_kd(t, s, "k/x", 1, 0, 60, 0, 1, 1), RDV_STORE_STALE, "kinds: kind 1 keeps its own seq (STALE)");

    check_eq(t, list_regs_kind(t, s, 0, "k/x", NULL, 10), 1, "kinds: list_registrations of kind 0: 1");
    check(t, t->n == 1 && rec_in(&t->recs[0], "k/x", 0) && t->recs[0].seq == 6, "kinds: kind 0's record, seq 6");
    check_eq(t, list_regs_kind(t, s, 1, "k/x", NULL, 10), 2, "kinds: list_registrations of kind 1: 2");
    check(t, t->n == 2 && rec_in(&t->recs[0], "k/x", 1) && rec_in(&t->recs[1], "k/x", 1),
          "kinds: both of kind 1");
    check_eq(t, list_regs_kind(t, s, 1, "k/x", NULL, 1), 1, "kinds: a page of 1 of kind 1");
    check(t, t->more == 1, "kinds: with more = 1");
    check_eq(t, list_regs_kind(t, s, 3, "k/x", NULL, 10), 0, "kinds: list_registrations of an unused kind: 0");
    check(t, t->st == RDV_STORE_OK && t->more == 0, "kinds: OK, more = 0");

    check_eq(t, put_kd(t, s, "k/x", 3, 1, 60, 0, RDV_STORE_KINDS, 0), RDV_STORE_ERROR, "kinds: kind out of range: ERROR");
    check_eq(t, put_kd(t, s, "k/x", 3, 1, 60, 0, 0, RDV_STORE_DIALECTS), RDV_STORE_ERROR,
             "kinds: dialect out of range: ERROR");
    sampled(t, s, RDV_STORE_KINDS, "k/x", 0);
    check_eq(t, t->st, RDV_STORE_ERROR, "kinds: discover of a kind out of range: ERROR");
    list_regs_kind(t, s, RDV_STORE_KINDS, "k/x", NULL, 10);
    check_eq(t, t->st, RDV_STORE_ERROR, "kinds: list_registrations of a kind out of range: ERROR");
    check_eq(t, stats(t, s).registrations, 3, "kinds: the refused puts stored nothing");
    /* the admin's search by peer id: every namespace and kind of one peer */
    struct rdv_peerid p1 = mkpeer(1), nobody = mkpeer(77);
    check_eq(t, list_peer(t, s, &p1, 10), 2, "list_peer: peer 1 holds 2 registrations (kinds 0 and 1)");
    check(t, t->n == 2 && rec_in(&t->recs[0], "k/x", 0) && rec_in(&t->recs[1], "k/x", 1) && t->more == 0,
          "list_peer: ordered by (namespace, kind), more = 0");
    check_eq(t, list_peer(t, s, &p1, 1), 1, "list_peer: a limit of 1");
    check(t, t->more == 1, "list_peer: with more = 1");
    check_eq(t, list_peer(t, s, &nobody, 10), 0, "list_peer: an unknown peer: nothing");
    check_eq(t, t->st, RDV_STORE_OK, "list_peer: and OK");
    rdv_store_close(s);
}

static void case_dialects(struct ctr *t)
{
    struct rdv_store *s = new_store(t, "dialects");
    if (!s)
        return;
    put_kd(t, s, "d/x", 1, 1, 60, 0, 0, 2);
    sampled(t, s, 0, "d/x", 0);
    check(t, t->n == 1 && t->recs[0].dialect == 2, "dialects: the dialect is stored and reported by discover");
    list_regs(t, s, "d/x", NULL, 10);
    check(t, t->n == 1 && t->recs[0].dialect == 2, "dialects: and by list_registrations");
    check_eq(t, put_kd(t, s, "d/x", 1, 1, 60, 0, 0, 3), RDV_STORE_OK, "dialects: a refresh by another dialect");
    sampled(t, s, 0, "d/x", 0);
    check(t, t->n == 1 && t->recs[0].dialect == 3, "dialects: the refresh records the new dialect");
    check_eq(t, put_kd(t, s, "d/x", 1, 0, 60, 0, 0, 1), RDV_STORE_STALE, "dialects: a lower seq by dialect 1: STALE");
    sampled(t, s, 0, "d/x", 0);
    check(t, t->n == 1 && t->recs[0].dialect == 3, "dialects: STALE keeps the dialect");

    put_kd(t, s, "d/x", 2, 1, 60, 0, 0, 0);
    put_kd(t, s, "d/y", 3, 1, 60, 0, 1, 3);
    put_kd(t, s, "d/z", 4, 1, 1, 0, 0, 1);
    struct rdv_store_stats st = stats(t, s);
    check(t, st.by_dialect[0] == 1 && st.by_dialect[1] == 1 && st.by_dialect[2] == 0 && st.by_dialect[3] == 2,
          "dialects: stats count live registrations by dialect (1 1 0 2)");
    advance(t, t->real ? REAL_EXPIRY_WAIT_MS : 1000);
    st = stats(t, s);
    check(t, st.by_dialect[0] == 1 && st.by_dialect[1] == 0 && st.by_dialect[3] == 2,
          "dialects: an expired registration leaves its dialect's count");
    put_kd(t, s, "d/x", 1, 1, 60, 0, 0, 0);
    st = stats(t, s);
    check(t, st.by_dialect[0] == 2 && st.by_dialect[3] == 1, "dialects: a refresh moves the count to the new dialect");
    uint64_t sum = 0;
    for (int d = 0; d < RDV_STORE_DIALECTS; d++)
        sum += st.by_dialect[d];
    check_eq(t, (long long)sum, (long long)st.registrations, "dialects: by_dialect sums to registrations");
    rdv_store_close(s);
}

/* The counter of peer i's record in (kind, ns) as list_registrations reports it; 0 if absent. */
static uint64_t counter_of(struct ctr *t, struct rdv_store *s, uint8_t kind, const char *ns, unsigned i)
{
    list_regs_kind(t, s, kind, ns, NULL, 100);
    const struct got_rec *r = find_rec(t, i);
    return r ? r->counter : 0;
}

static void case_counters(struct ctr *t)
{
    struct rdv_store *s = new_store(t, "counters");
    if (!s)
        return;
    uint64_t c[7] = { 0 };
    for (unsigned i = 1; i <= 5; i++)
        put_kd(t, s, "n/c", i, 1, 60, 0, 0, 0);
    put_kd(t, s, "n/d", 6, 1, 60, 0, 1, 0);
    bool rising = true;
    for (unsigned i = 1; i <= 5; i++) {
        c[i] = counter_of(t, s, 0, "n/c", i);
        rising = rising && c[i] > c[i - 1];
    }
    check(t, c[1] > 0 && rising, "counters: > 0 and strictly increasing in put order");
    c[6] = counter_of(t, s, 1, "n/d", 6);
    check(t, c[6] > c[5], "counters: one store-wide counter across namespaces and kinds");
    sampled(t, s, 0, "n/c", 0);
    const struct got_rec *r = find_rec(t, 3);
    check(t, r && r->counter == c[3], "counters: discover reports the same counter as list_registrations");

    put_kd(t, s, "n/c", 2, 1, 60, 0, 0, 0);
    uint64_t c2 = counter_of(t, s, 0, "n/c", 2);
    check(t, c2 > c[6], "counters: a refresh (equal seq) takes a new counter");
    put_kd(t, s, "n/c", 3, 2, 60, 0, 0, 0);
    uint64_t c3 = counter_of(t, s, 0, "n/c", 3);
    check(t, c3 > c2, "counters: an upsert takes a new counter");
    check_eq(t, put_kd(t, s, "n/c", 4, 0, 60, 0, 0, 0), RDV_STORE_STALE, "counters: a lower seq is STALE");
    check(t, counter_of(t, s, 0, "n/c", 4) == c[4], "counters: STALE leaves the counter");
    check_eq(t, put_kd(t, s, "n/e", 5, 1, 60, 1, 0, 0), RDV_STORE_LIMIT, "counters: a put over the cap is LIMIT");
    put_kd(t, s, "n/c", 7, 1, 60, 0, 0, 0);
    check(t, counter_of(t, s, 0, "n/c", 7) > c3, "counters: the next put still takes a higher counter");
    rdv_store_close(s);
}

/* Fills "o/a" (kind 0: peers 0..19, plus 4 short-lived 50..53; kind 1: 5), "o/b" (kind 0: 10). */
static void ordered_fill(struct ctr *t, struct rdv_store *s)
{
    unsigned short_lived = 50;
    for (unsigned i = 0; i < 20; i++) {
        put_kd(t, s, "o/a", i, 1, 60, 0, 0, 0);
        if (i % 2 == 0)
            put_kd(t, s, "o/b", i, 1, 60, 0, 0, 1);
        if (i % 5 == 4)
            put_kd(t, s, "o/a", short_lived++, 1, 1, 0, 0, 0);
        if (i % 4 == 0)
            put_kd(t, s, "o/a", i, 1, 60, 0, 1, 2);
    }
}

/* Pages through kind 0 of "o/a" by 4; after the second page a record is added, one already seen is
 * refreshed and one not yet seen is unregistered. The walk must be 0..18, then 100, then 0 again. */
static void ordered_walk(struct ctr *t, struct rdv_store *s)
{
    unsigned seen[64];
    size_t nseen = 0;
    uint64_t after = 0, last = 0;
    bool pages = true, fields = true, rising = true, short_page = false;
    for (int page = 0; page < 20 && !t->broken; page++) {
        size_t n = ordered(t, s, 0, "o/a", 4, after);
        pages = pages && t->st == RDV_STORE_OK && n <= 4 && !(short_page && n > 0);
        short_page = short_page || n < 4;
        for (size_t k = 0; k < n && nseen < 64; k++) {
            fields = fields && rec_in(&t->recs[k], "o/a", 0) && t->recs[k].ttl_left_ms > 0;
            rising = rising && t->recs[k].counter > last;
            last = t->recs[k].counter;
            seen[nseen++] = peer_index(&t->recs[k].peer);
        }
        if (n == 0)
            break;
        after = t->recs[n - 1].counter;
        if (page == 1) {
            put_kd(t, s, "o/a", 100, 1, 60, 0, 0, 0);
            put_kd(t, s, "o/a", 0, 1, 60, 0, 0, 3);
            unreg(t, s, 0, "o/a", 19);
        }
    }
    check(t, pages, "ordered: pages of at most 4, short only at the end");
    check(t, fields, "ordered: every record is of (kind 0, o/a) and live");
    check(t, rising, "ordered: counters strictly increase through the walk");
    bool walk = nseen == 21;
    for (unsigned i = 0; walk && i < 19; i++)
        walk = seen[i] == i;
    walk = walk && seen[19] == 100 && seen[20] == 0;
    check(t, walk, "ordered: each live record once in counter order; expired and unregistered ones never; "
                   "the added one and the refreshed one after (%zu seen)", nseen);
}

/* ns_len 0: every namespace of the kind; limit and after on that walk. */
static void ordered_all(struct ctr *t, struct rdv_store *s)
{
    uint64_t all[64];
    size_t n = ordered(t, s, 0, NULL, 0, 0);
    check_eq(t, (long long)n, 30, "ordered: ns_len 0 walks every namespace of kind 0 (20 + 10)");
    bool good = t->st == RDV_STORE_OK && n <= 64;
    size_t in_b = 0;
    for (size_t k = 0; good && k < n; k++) {
        unsigned i = peer_index(&t->recs[k].peer);
        in_b += rec_in(&t->recs[k], "o/b", 0);
        good = (rec_in(&t->recs[k], "o/a", 0) || rec_in(&t->recs[k], "o/b", 0)) && !(i >= 50 && i < 54) &&
               !(i == 19 && rec_in(&t->recs[k], "o/a", 0)) && (k == 0 || t->recs[k].counter > all[k - 1]);
        all[k] = t->recs[k].counter;
    }
    check(t, good && in_b == 10, "ordered: in counter order, kind 0 only, nothing expired or unregistered");
    const struct got_rec *r = find_rec_ns(t, "o/a", 100);
    uint8_t env[ENV_MAX];
    size_t el = mkenv_kind(100, 0, 1, env);
    check(t, r && rec_env_is(r, env, el) && r->seq == 1 && ttl_is(t, r->ttl_left_ms, 60000),
          "ordered: records come with seq, envelope and TTL");
    r = find_rec_ns(t, "o/a", 0);
    check(t, r && r->dialect == 3, "ordered: and the dialect of the last put");
    if (!good || n != 30)
        return;
    check_eq(t, ordered(t, s, 0, NULL, 3, 0), 3, "ordered: limit 3 is honoured");
    check(t, t->n == 3 && t->recs[0].counter == all[0] && t->recs[2].counter == all[2], "ordered: the first 3");
    check_eq(t, ordered(t, s, 0, NULL, 0, all[9]), 20, "ordered: after the 10th counter: the other 20");
    check(t, t->n == 20 && t->recs[0].counter == all[10], "ordered: starting at the 11th");
    check_eq(t, ordered(t, s, 0, NULL, 0, all[29]), 0, "ordered: after the last counter: nothing");
    check_eq(t, t->st, RDV_STORE_OK, "ordered: and OK");
    check_eq(t, ordered(t, s, 0, NULL, 0, UINT64_MAX), 0, "ordered: after UINT64_MAX: nothing");
}

/* Other kinds, unknown namespaces and invalid queries. */
static void ordered_edges(struct ctr *t, struct rdv_store *s)
{
    size_t n = ordered(t, s, 1, NULL, 0, 0);
    bool k1 = n == 5;
    for (size_t k = 0; k1 && k < n; k++)
        k1 = rec_in(&t->recs[k], "o/a", 1) && t->recs[k].dialect == 2;
    check(t, k1, "ordered: kind 1 over all namespaces: its 5 records only");
    check_eq(t, ordered(t, s, 1, "o/a", 2, 0), 2, "ordered: kind 1 of o/a, limit 2");
    check_eq(t, ordered(t, s, 2, NULL, 0, 0), 0, "ordered: an unused kind: nothing");
    check_eq(t, ordered(t, s, 0, "o/none", 0, 0), 0, "ordered: an unknown namespace: nothing");
    check_eq(t, t->st, RDV_STORE_OK, "ordered: and OK");
    struct rdv_store_query q = { .kind = 0, .ns = NULL, .ns_len = 0, .limit = 10 };
    query(t, s, &q);
    check_eq(t, t->st, RDV_STORE_ERROR, "sampled: ns_len 0 is ERROR (only ordered walks every namespace)");
    char big[RDV_NS_MAX + 1];
    memset(big, 'o', sizeof(big));
    q = (struct rdv_store_query){ .kind = 0, .ns = big, .ns_len = sizeof(big), .ordered = 1 };
    query(t, s, &q);
    check_eq(t, t->st, RDV_STORE_ERROR, "ordered: a namespace over RDV_NS_MAX: ERROR");
    ordered(t, s, RDV_STORE_KINDS, NULL, 0, 0);
    check_eq(t, t->st, RDV_STORE_ERROR, "ordered: a kind out of range: ERROR");
}

static void case_ordered(struct ctr *t)
{
    struct rdv_store *s = new_store(t, "ordered");
    if (!s)
        return;
    ordered_fill(t, s);
    advance(t, t->real ? REAL_EXPIRY_WAIT_MS : 1000); /* the short-lived ones expire */
    ordered_walk(t, s);
    ordered_all(t, s);
    ordered_edges(t, s);
    rdv_store_close(s);
}

static void unregister_invalid(struct ctr *t, struct rdv_store *s)
{
    struct rdv_peerid p1 = mkpeer(1), empty = { .len = 0 };
    char big[RDV_NS_MAX + 1];
    memset(big, 'u', sizeof(big));
    check_eq(t, unreg_raw(t, s, 0, "u/a", 0, &p1), RDV_STORE_ERROR, "unregister: an empty namespace: ERROR");
    check_eq(t, unreg_raw(t, s, 0, big, sizeof(big), &p1), RDV_STORE_ERROR,
             "unregister: a namespace over RDV_NS_MAX: ERROR");
    check_eq(t, unreg_raw(t, s, RDV_STORE_KINDS, "u/a", 3, &p1), RDV_STORE_ERROR,
             "unregister: a kind out of range: ERROR");
    check_eq(t, unreg_raw(t, s, 0, "u/a", 3, &empty), RDV_STORE_ERROR, "unregister: an empty peer id: ERROR");
    check_eq(t, unreg_raw(t, s, 0, "u/a", 3, NULL), RDV_STORE_ERROR, "unregister: no peer id: ERROR");
}

static void case_unregister(struct ctr *t)
{
    struct rdv_store *s = new_store(t, "unregister");
    if (!s)
        return;
    put_kd(t, s, "u/a", 1, 1, 60, 0, 0, 0);
    put_kd(t, s, "u/a", 1, 1, 60, 0, 1, 1);
    put_kd(t, s, "u/b", 1, 1, 60, 0, 0, 0);
    put_kd(t, s, "u/a", 2, 1, 60, 0, 0, 2);
    check_eq(t, unreg(t, s, 0, "u/a", 1), RDV_STORE_OK, "unregister: a held registration: OK");
    check_eq(t, (long long)t->count, 1, "unregister: reports 1 removed");
    check(t, sampled(t, s, 0, "u/a", 0) == 1 && find_rec(t, 2), "unregister: the namespace's other peer stays");
    check(t, sampled(t, s, 1, "u/a", 0) == 1 && find_rec(t, 1), "unregister: the same (ns, peer) of kind 1 stays");
    check(t, sampled(t, s, 0, "u/b", 0) == 1 && find_rec(t, 1), "unregister: the peer's other namespace stays");
    check_eq(t, unreg(t, s, 0, "u/a", 1), RDV_STORE_OK, "unregister: again: OK");
    check_eq(t, (long long)t->count, 0, "unregister: again: 0 removed");
    check(t, unreg(t, s, 0, "u/none", 1) == RDV_STORE_OK && t->count == 0, "unregister: an unknown namespace: OK, 0");
    check(t, unreg(t, s, 0, "u/a", 9) == RDV_STORE_OK && t->count == 0, "unregister: an unknown peer: OK, 0");
    check(t, unreg(t, s, 2, "u/a", 1) == RDV_STORE_OK && t->count == 0, "unregister: an unused kind: OK, 0");
    unregister_invalid(t, s);
    struct rdv_store_stats st = stats(t, s);
    check(t, st.registrations == 3 && st.by_dialect[0] == 1 && st.by_dialect[1] == 1 && st.by_dialect[2] == 1,
          "unregister: stats: 3 left, by dialect 1 1 1");
    check(t, unreg(t, s, 0, "u/b", 1) == RDV_STORE_OK && t->count == 1, "unregister: the last of u/b");
    list_ns(t, s, "u/", NULL, 10);
    check(t, t->n == 2 && ns_is(&t->ns[0], "u/a") && ns_is(&t->ns[1], "u/a"),
          "unregister: the namespace goes with its last registration");
    check_eq(t, stats(t, s).namespaces, 1, "unregister: stats: 1 namespace");
    check_eq(t, put_kd(t, s, "u/b", 1, 0, 60, 0, 0, 0), RDV_STORE_OK,
             "unregister: afterwards a lower seq is accepted (nothing is remembered)");
    put_kd(t, s, "u/e", 3, 1, 1, 0, 0, 0);
    advance(t, t->real ? REAL_EXPIRY_WAIT_MS : 1000);
    check(t, unreg(t, s, 0, "u/e", 3) == RDV_STORE_OK && t->count == 0, "unregister: an expired registration: OK, 0");
    rdv_store_close(s);
}

static void case_secret(struct ctr *t)
{
    struct rdv_store *s = new_store(t, "secret");
    if (!s)
        return;
    uint8_t first[RDV_STORE_SECRET_LEN], zero[RDV_STORE_SECRET_LEN] = { 0 };
    check_eq(t, get_secret(t, s), RDV_STORE_OK, "secret: OK");
    check(t, !t->secret_null, "secret: a key is handed over");
    memcpy(first, t->secret, sizeof(first));
    check(t, memcmp(first, zero, sizeof(first)) != 0, "secret: not all zeros");
    put_kd(t, s, "s/x", 1, 1, 60, 0, 0, 0);
    check_eq(t, get_secret(t, s), RDV_STORE_OK, "secret: a second call: OK");
    check(t, !t->secret_null && memcmp(first, t->secret, sizeof(first)) == 0,
          "secret: the same %d bytes on every call", RDV_STORE_SECRET_LEN);
    rdv_store_close(s);
}

/* One expected row of list_namespaces. */
struct ns_row {
    const char *name;
    uint8_t kind;
    uint64_t count;
    uint64_t by_dialect[RDV_STORE_DIALECTS];
};

static bool ns_rows_are(const struct ctr *t, const struct ns_row *want, size_t n)
{
    bool same = t->st == RDV_STORE_OK && t->n == n;
    for (size_t i = 0; same && i < n; i++)
        same = ns_is(&t->ns[i], want[i].name) && t->ns[i].kind == want[i].kind && t->ns[i].count == want[i].count &&
               memcmp(t->ns[i].by_dialect, want[i].by_dialect, sizeof(want[i].by_dialect)) == 0;
    return same;
}

/* A namespace cursor with the kind suffix: name 0x00 kind. */
static size_t ns_cursor(char *out, const char *name, uint8_t kind)
{
    size_t n = strlen(name);
    memcpy(out, name, n);
    out[n] = 0;
    out[n + 1] = (char)kind;
    return n + 2;
}

static const struct ns_row kind_rows[] = {
    { "n/a", 0, 2, { 1, 1, 0, 0 } }, { "n/a", 2, 1, { 0, 0, 0, 1 } }, { "n/a", 3, 1, { 0, 0, 1, 0 } },
    { "n/a/x", 0, 1, { 1, 0, 0, 0 } }, { "n/b", 1, 1, { 0, 1, 0, 0 } },
};
#define KIND_ROWS (sizeof(kind_rows) / sizeof(kind_rows[0]))

/* Pages of limit through every row with kind-suffixed cursors. */
static bool ns_kind_pages(struct ctr *t, struct rdv_store *s, uint32_t limit)
{
    char cur[RDV_NS_MAX + 2];
    size_t cl = 0, got = 0;
    for (int page = 0; page < 10 && !t->broken; page++) {
        size_t n = list_ns_raw(t, s, NULL, cl ? cur : NULL, cl, limit);
        size_t expect = KIND_ROWS - got < limit ? KIND_ROWS - got : limit;
        if (n != expect || !ns_rows_are(t, kind_rows + got, n) || t->more != (got + n < KIND_ROWS))
            return false;
        got += n;
        if (!t->more)
            break;
        char name[RDV_NS_MAX + 1];
        memcpy(name, t->ns[n - 1].name, t->ns[n - 1].len);
        name[t->ns[n - 1].len] = 0;
        cl = ns_cursor(cur, name, t->ns[n - 1].kind);
    }
    return got == KIND_ROWS;
}

static void case_ns_kinds(struct ctr *t)
{
    struct rdv_store *s = new_store(t, "namespace kinds");
    if (!s)
        return;
    put_kd(t, s, "n/b", 1, 1, 60, 0, 1, 1);
    put_kd(t, s, "n/a", 1, 1, 60, 0, 0, 0);
    put_kd(t, s, "n/a", 2, 1, 60, 0, 0, 1);
    put_kd(t, s, "n/a", 1, 1, 60, 0, 2, 3);
    put_kd(t, s, "n/a/x", 3, 1, 60, 0, 0, 0);
    put_kd(t, s, "n/a", 4, 1, 60, 0, 3, 2);
    list_ns(t, s, NULL, NULL, 100);
    check(t, ns_rows_are(t, kind_rows, KIND_ROWS) && t->more == 0,
          "ns kinds: one row per (name, kind), by (name, kind), each with its count and by_dialect");
    check_eq(t, stats(t, s).namespaces, 3, "ns kinds: stats count 3 distinct names");
    list_ns(t, s, NULL, "n/a", 100);
    check(t, ns_rows_are(t, kind_rows + 3, 2), "ns kinds: a cursor without a kind: after every kind of the name");
    char cur[RDV_NS_MAX + 2];
    list_ns_raw(t, s, NULL, cur, ns_cursor(cur, "n/a", 0), 100);
    check(t, ns_rows_are(t, kind_rows + 1, 4), "ns kinds: cursor (n/a, 0): from (n/a, 2)");
    list_ns_raw(t, s, NULL, cur, ns_cursor(cur, "n/a", 1), 100);
    check(t, ns_rows_are(t, kind_rows + 1, 4), "ns kinds: cursor (n/a, 1), a kind it lacks: from (n/a, 2)");
    list_ns_raw(t, s, NULL, cur, ns_cursor(cur, "n/a", 2), 2);
    check(t, ns_rows_are(t, kind_rows + 2, 2) && t->more == 1, "ns kinds: cursor (n/a, 2), limit 2: more = 1");
    list_ns_raw(t, s, NULL, cur, ns_cursor(cur, "n/a", 3), 100);
    check(t, ns_rows_are(t, kind_rows + 3, 2), "ns kinds: cursor (n/a, 3): from n/a/x");
    list_ns_raw(t, s, NULL, cur, ns_cursor(cur, "n/b", 1), 100);
    check(t, ns_rows_are(t, NULL, 0) && t->more == 0, "ns kinds: after the last row: nothing");
    list_ns(t, s, "n/a", NULL, 2);
    check(t, ns_rows_are(t, kind_rows, 2) && t->more == 1, "ns kinds: prefix n/a, limit 2");
    for (uint32_t limit = 1; limit <= 3; limit++)
        check(t, ns_kind_pages(t, s, limit), "ns kinds: pages of %u with (name, kind) cursors: every row once",
              limit);
    rdv_store_close(s);
}

/* The per-peer cap counts the peer's registrations of every kind. */
static void case_cap_kinds(struct ctr *t)
{
    struct rdv_store *s = new_store(t, "cap kinds");
    if (!s)
        return;
    check_eq(t, put_kd(t, s, "c/a", 7, 1, 60, 3, 0, 0), RDV_STORE_OK, "cap kinds: kind 0");
    check_eq(t, put_kd(t, s, "c/a", 7, 1, 60, 3, 1, 1), RDV_STORE_OK, "cap kinds: kind 1, same ns");
    check_eq(t, put_kd(t, s, "c/a", 7, 1, 60, 3, 2, 0), RDV_STORE_OK, "cap kinds: kind 2, same ns");
    check_eq(t, put_kd(t, s, "c/a", 7, 1, 60, 3, 3, 0), RDV_STORE_LIMIT, "cap kinds: a 4th kind at cap 3: LIMIT");
    check_eq(t, put_kd(t, s, "c/b", 7, 1, 60, 3, 0, 0), RDV_STORE_LIMIT, "cap kinds: a 4th namespace: LIMIT");
    check_eq(t, put_kd(t, s, "c/a", 7, 1, 60, 3, 1, 2), RDV_STORE_OK, "cap kinds: a refresh at the cap: OK");
    check(t, unreg(t, s, 2, "c/a", 7) == RDV_STORE_OK && t->count == 1, "cap kinds: unregister kind 2");
    check_eq(t, put_kd(t, s, "c/a", 7, 1, 60, 3, 3, 0), RDV_STORE_OK, "cap kinds: the freed place takes kind 3");
    rdv_store_close(s);
}

/* ---- global budgets (store.h struct rdv_store_budget) ------------------------------------------ */

/* Puts peer i into (kind, ns) with an envelope of env_len bytes under budget b. */
static enum rdv_store_status put_budget(struct ctr *t, struct rdv_store *s, const char *ns, unsigned i, uint64_t seq,
                                        uint32_t ttl, size_t env_len, uint8_t kind, struct rdv_store_budget b)
{
    if (t->broken)
        return RDV_STORE_ERROR;
    struct rdv_peerid id = mkpeer(i);
    uint8_t env[ENV_MAX];
    memset(env, 0x5a, sizeof(env));
    (void)mkenv(i, seq, env);
    struct rdv_store_put p = { .ns = ns, .ns_len = strlen(ns), .peer = &id, .seq = seq, .envelope = env,
                               .envelope_len = env_len < ENV_MAX ? env_len : ENV_MAX, .ttl_s = ttl, .kind = kind,
                               .budget = b };
    op_begin(t);
    rdv_store_put(s, &p, on_put, t);
    op_wait(t, "put");
    return t->st;
}

static void budget_registrations(struct ctr *t, struct rdv_store *s)
{
    const struct rdv_store_budget b = {.registrations = 3};
    check_eq(t, put_budget(t, s, "b/a", 1, 1, 60, 20, 0, b), RDV_STORE_OK, "budget 3 registrations: 1st");
    check_eq(t, put_budget(t, s, "b/a", 2, 1, 60, 20, 0, b), RDV_STORE_OK, "budget 3 registrations: 2nd");
    check_eq(t, put_budget(t, s, "b/b", 3, 1, 1, 20, 0, b), RDV_STORE_OK, "budget 3 registrations: 3rd (1 s)");
    check_eq(t, put_budget(t, s, "b/a", 4, 1, 60, 20, 0, b), RDV_STORE_FULL, "budget 3: a 4th is FULL");
    check_eq(t, put_budget(t, s, "b/a", 1, 2, 1, 20, 1, b), RDV_STORE_FULL, "budget 3: another kind's is new: FULL");
    check_eq(t, discover(t, s, "b/a", 0), 2, "FULL stored nothing");
    check_eq(t, put_budget(t, s, "b/a", 1, 1, 60, 20, 0, b), RDV_STORE_OK, "a refresh when full: OK");
    check_eq(t, put_budget(t, s, "b/a", 2, 5, 60, 20, 0, b), RDV_STORE_OK, "a new seq of a held one when full: OK");
    check_eq(t, put_budget(t, s, "b/a", 4, 1, 60, 20, 0, (struct rdv_store_budget){0}), RDV_STORE_OK,
             "no budget: no limit");
    check_eq(t, put_budget(t, s, "b/a", 5, 1, 60, 20, 0, (struct rdv_store_budget){.registrations = 5}),
             RDV_STORE_OK, "a larger budget takes the next");
    advance(t, t->real ? REAL_EXPIRY_WAIT_MS : 1000);
    check_eq(t, put_budget(t, s, "b/a", 6, 1, 60, 20, 0, (struct rdv_store_budget){.registrations = 5}),
             RDV_STORE_OK, "an expired registration frees room");
    check_eq(t, put_budget(t, s, "b/a", 7, 1, 60, 20, 0, (struct rdv_store_budget){.registrations = 5}),
             RDV_STORE_FULL, "and the budget holds again");
}

static void budget_namespaces(struct ctr *t, struct rdv_store *s)
{
    const struct rdv_store_budget b = {.namespaces = 2};
    check_eq(t, put_budget(t, s, "n/x", 1, 1, 60, 20, 0, b), RDV_STORE_OK, "budget 2 namespaces: 1st");
    check_eq(t, put_budget(t, s, "n/y", 1, 1, 60, 20, 0, b), RDV_STORE_OK, "budget 2 namespaces: 2nd");
    check_eq(t, put_budget(t, s, "n/z", 1, 1, 60, 20, 0, b), RDV_STORE_FULL, "budget 2: a 3rd name is FULL");
    check_eq(t, put_budget(t, s, "n/x", 2, 1, 60, 20, 0, b), RDV_STORE_OK, "a new peer in a held name: OK");
    check_eq(t, put_budget(t, s, "n/x", 3, 1, 60, 20, 1, b), RDV_STORE_OK, "another kind of a held name: OK");
    check_eq(t, stats(t, s).namespaces, 2, "FULL left no namespace behind");
}

static void budget_bytes(struct ctr *t, struct rdv_store *s)
{
    const uint64_t cost = 20 + RDV_STORE_REG_OVERHEAD;
    const struct rdv_store_budget b = {.bytes = 2 * cost};
    check_eq(t, put_budget(t, s, "y/a", 1, 1, 60, 20, 0, b), RDV_STORE_OK, "budget 2 records' bytes: 1st");
    check_eq(t, put_budget(t, s, "y/a", 2, 1, 60, 20, 0, b), RDV_STORE_OK, "budget 2 records' bytes: 2nd");
    struct rdv_store_stats st = stats(t, s);
    check(t, st.budgeted == 1 && st.bytes == 2 * cost, "stats count %" PRIu64 " bytes (want %" PRIu64 ")", st.bytes,
          2 * cost);
    check_eq(t, put_budget(t, s, "y/a", 3, 1, 60, 10, 0, b), RDV_STORE_FULL, "a 3rd, smaller, is FULL still");
    check_eq(t, put_budget(t, s, "y/a", 1, 2, 60, 60, 0, b), RDV_STORE_OK, "a refresh that grows, within slack: OK");
    check_eq(t, stats(t, s).bytes, cost + 60 + RDV_STORE_REG_OVERHEAD, "the refresh's bytes are counted");
    check_eq(t, put_budget(t, s, "y/a", 1, 3, 60, 20, 0, b), RDV_STORE_OK, "a refresh that shrinks: OK");
    /* a store far beyond a budget lowered later: growth is refused, a same-size refresh is not */
    for (unsigned i = 10; i < 50; i++)
        put_budget(t, s, "y/b", i, 1, 60, 40, 0, (struct rdv_store_budget){0});
    const struct rdv_store_budget low = {.bytes = 1000};
    check_eq(t, put_budget(t, s, "y/b", 10, 1, 60, 40, 0, low), RDV_STORE_OK, "over budget: a same-size refresh OK");
    check_eq(t, put_budget(t, s, "y/b", 10, 2, 60, 60, 0, low), RDV_STORE_FULL,
             "over budget by more than one record: a refresh that grows is FULL");
    check_eq(t, put_budget(t, s, "y/b", 10, 3, 60, 30, 0, low), RDV_STORE_OK, "and one that shrinks is OK");
}

static void case_budget(struct ctr *t)
{
    struct rdv_store *s;
    if (t->c->flags & RDV_CONTRACT_NO_BUDGET) /* not exact per put: the backend's own test checks it */
        return;
    s = new_store(t, "budget regs");
    if (s) {
        budget_registrations(t, s);
        rdv_store_close(s);
    }
    if ((s = new_store(t, "budget ns"))) {
        budget_namespaces(t, s);
        rdv_store_close(s);
    }
    if ((s = new_store(t, "budget bytes"))) {
        budget_bytes(t, s);
        rdv_store_close(s);
    }
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
        case_browse_ns, case_browse_stable, case_browse_regs, case_bulk, case_kinds, case_dialects,
        case_counters, case_ordered, case_unregister, case_secret, case_ns_kinds, case_cap_kinds, case_budget,
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
