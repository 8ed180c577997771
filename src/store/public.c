/* public.c: the stores of rendezvous/point.h: the public handle around an internal store, and
 * the adapter that makes an application's asynchronous struct rendezvous_store_ops an internal
 * store. The public types mirror store.h field for field, except that a peer id is (bytes, length)
 * rather than struct rdv_peerid; each call converts its arguments, and each answer is converted
 * back by a trampoline that holds the internal callback. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "server/embed.h"
#include "store/kv.h"
#include "store/memory.h"
#include "store/open.h"
#include "util/err.h"

struct rendezvous_store {
    struct rdv_store *inner;
};

struct rendezvous_store *rdv_store_handle_wrap(struct rdv_store *s)
{
    struct rendezvous_store *h = s ? malloc(sizeof(*h)) : NULL;
    if (!h) {
        rdv_store_close(s);
        return NULL;
    }
    h->inner = s;
    return h;
}

struct rdv_store *rdv_store_handle_inner(const struct rendezvous_store *h) { return h->inner; }

struct rdv_store *rdv_store_handle_release(struct rendezvous_store *h)
{
    struct rdv_store *s = h->inner;
    free(h);
    return s;
}

void rendezvous_store_free(struct rendezvous_store *h)
{
    if (!h)
        return;
    rdv_store_close(h->inner);
    free(h);
}

static int wrap_out(struct rdv_store *s, struct rendezvous_store **out)
{
    *out = rdv_store_handle_wrap(s);
    return *out ? RDV_OK : RDV_ERR_NOMEM;
}

int rendezvous_store_memory_new(struct rendezvous_store **out)
{
    if (!out)
        return RDV_ERR_INVALID;
    struct rdv_store *s = rdv_store_memory_new(NULL);
    return s ? wrap_out(s, out) : RDV_ERR_NOMEM;
}

int rendezvous_store_kv_new(const struct rendezvous_kv *kv, struct rendezvous_store **out)
{
    if (!out)
        return RDV_ERR_INVALID;
    struct rdv_store *s;
    int rc = rdv_store_kv_open(kv, NULL, NULL, &s);
    return rc ? rc : wrap_out(s, out);
}

int rendezvous_store_open(const char *url, struct ev_loop *loop, struct rendezvous_store **out, char *err,
                          size_t errlen)
{
    char scratch[8];
    if (!err) {
        err = scratch;
        errlen = sizeof(scratch);
    }
    if (!url || !out)
        return RDV_ERR_INVALID;
    struct rdv_store *s;
    int rc = rdv_store_open(url, loop, NULL, &s, err, errlen);
    return rc ? rc : wrap_out(s, out);
}

/* ---- the adapter: application ops as an internal store -------------------------------------- */

struct app_store {
    struct rdv_store base; /* first: the vtable */
    struct rendezvous_store_ops ops;
    void *ctx;
};

/* One call in flight: the internal callback the answer goes to. */
struct app_call {
    void (*cb)(void);
    void *arg;
};

static struct app_call *call_new(void (*cb)(void), void *arg)
{
    struct app_call *c = malloc(sizeof(*c));
    if (c)
        *c = (struct app_call){cb, arg};
    return c;
}

static enum rdv_store_status status_in(enum rendezvous_store_status st)
{
    return st <= RENDEZVOUS_STORE_UNAVAILABLE ? (enum rdv_store_status)st : RDV_STORE_ERROR;
}

/* A record from the application as store.h has it; false when its peer id does not fit. */
static bool record_in(const struct rendezvous_store_record *r, struct rdv_store_record *out)
{
    if (r->peer_len == 0 || r->peer_len > RDV_PEERID_MAX)
        return false;
    *out = (struct rdv_store_record){.ns = r->ns, .ns_len = r->ns_len, .kind = r->kind, .dialect = r->dialect,
                                     .counter = r->counter, .seq = r->seq, .envelope = r->envelope,
                                     .envelope_len = r->envelope_len, .ttl_left_ms = r->ttl_left_ms,
                                     .registered_at_ms = r->registered_at_ms};
    memcpy(out->peer.bytes, r->peer, r->peer_len);
    out->peer.len = r->peer_len;
    return true;
}

/* recs converted into a new array (NULL with *ok false when memory or a record fails). */
static struct rdv_store_record *records_in(const struct rendezvous_store_record *recs, size_t n, bool *ok)
{
    struct rdv_store_record *out = n ? malloc(n * sizeof(*out)) : NULL;
    *ok = !n || out;
    for (size_t i = 0; i < n && *ok; i++)
        *ok = record_in(&recs[i], &out[i]);
    return out;
}

static void put_done(void *arg, enum rendezvous_store_status st)
{
    struct app_call c = *(struct app_call *)arg;
    free(arg);
    ((rdv_store_put_cb)c.cb)(c.arg, status_in(st));
}

static void count_done(void *arg, enum rendezvous_store_status st, uint64_t n)
{
    struct app_call c = *(struct app_call *)arg;
    free(arg);
    ((rdv_store_count_cb)c.cb)(c.arg, status_in(st), n);
}

static void discover_done(void *arg, enum rendezvous_store_status st, const struct rendezvous_store_record *recs,
                          size_t n)
{
    struct app_call c = *(struct app_call *)arg;
    free(arg);
    bool ok;
    struct rdv_store_record *in = st == RENDEZVOUS_STORE_OK ? records_in(recs, n, &ok) : NULL;
    if (st == RENDEZVOUS_STORE_OK && !ok)
        ((rdv_store_discover_cb)c.cb)(c.arg, RDV_STORE_ERROR, NULL, 0);
    else
        ((rdv_store_discover_cb)c.cb)(c.arg, status_in(st), in, st == RENDEZVOUS_STORE_OK ? n : 0);
    free(in);
}

static void reg_list_done(void *arg, enum rendezvous_store_status st, const struct rendezvous_store_record *recs,
                          size_t n, int more)
{
    struct app_call c = *(struct app_call *)arg;
    free(arg);
    bool ok;
    struct rdv_store_record *in = st == RENDEZVOUS_STORE_OK ? records_in(recs, n, &ok) : NULL;
    if (st == RENDEZVOUS_STORE_OK && !ok)
        ((rdv_store_reg_list_cb)c.cb)(c.arg, RDV_STORE_ERROR, NULL, 0, 0);
    else
        ((rdv_store_reg_list_cb)c.cb)(c.arg, status_in(st), in, st == RENDEZVOUS_STORE_OK ? n : 0, more);
    free(in);
}

static void stats_done(void *arg, enum rendezvous_store_status st, const struct rendezvous_store_stats *p)
{
    struct app_call c = *(struct app_call *)arg;
    free(arg);
    struct rdv_store_stats s = {0};
    if (p) {
        s.registrations = p->registrations;
        s.namespaces = p->namespaces;
        memcpy(s.by_dialect, p->by_dialect, sizeof(s.by_dialect));
    }
    ((rdv_store_stats_cb)c.cb)(c.arg, status_in(st), p ? &s : NULL);
}

static void ns_list_done(void *arg, enum rendezvous_store_status st, const struct rendezvous_store_ns_info *items,
                         size_t n, int more)
{
    struct app_call c = *(struct app_call *)arg;
    free(arg);
    struct rdv_store_ns_info *in = n && st == RENDEZVOUS_STORE_OK ? malloc(n * sizeof(*in)) : NULL;
    if (n && st == RENDEZVOUS_STORE_OK && !in) {
        ((rdv_store_ns_list_cb)c.cb)(c.arg, RDV_STORE_ERROR, NULL, 0, 0);
        return;
    }
    for (size_t i = 0; in && i < n; i++) {
        in[i] = (struct rdv_store_ns_info){.ns = items[i].ns, .ns_len = items[i].ns_len, .kind = items[i].kind,
                                           .count = items[i].count, .soonest_expiry_ms = items[i].soonest_expiry_ms,
                                           .latest_expiry_ms = items[i].latest_expiry_ms};
        memcpy(in[i].by_dialect, items[i].by_dialect, sizeof(in[i].by_dialect));
    }
    ((rdv_store_ns_list_cb)c.cb)(c.arg, status_in(st), in, in ? n : 0, more);
    free(in);
}

static void status_done(void *arg, enum rendezvous_store_status st)
{
    struct app_call c = *(struct app_call *)arg;
    free(arg);
    ((rdv_store_health_cb)c.cb)(c.arg, status_in(st));
}

static void secret_done(void *arg, enum rendezvous_store_status st, const uint8_t *key)
{
    struct app_call c = *(struct app_call *)arg;
    free(arg);
    ((rdv_store_secret_cb)c.cb)(c.arg, key ? status_in(st) : RDV_STORE_ERROR, st == RENDEZVOUS_STORE_OK ? key : NULL);
}

#define APP(base) ((struct app_store *)(base))
#define CALL(cb, arg) call_new((void (*)(void))(cb), (arg))

/* The application sees only arguments that pass the checks every backend makes (store.c): its
 * operations need not repeat them, and a NULL peer or an over-long name never reaches it. */
static void app_put(struct rdv_store *base, const struct rdv_store_put *p, rdv_store_put_cb cb, void *arg)
{
    struct app_call *c = rdv_store_put_valid(p) ? CALL(cb, arg) : NULL;
    if (!c) {
        cb(arg, RDV_STORE_ERROR);
        return;
    }
    struct rendezvous_store_put q = {.ns = p->ns, .ns_len = p->ns_len, .peer = p->peer->bytes,
                                     .peer_len = p->peer->len, .seq = p->seq, .envelope = p->envelope,
                                     .envelope_len = p->envelope_len, .ttl_s = p->ttl_s,
                                     .max_per_peer = p->max_per_peer, .kind = p->kind, .dialect = p->dialect};
    APP(base)->ops.put(APP(base)->ctx, &q, put_done, c);
}

static void app_unregister(struct rdv_store *base, uint8_t kind, const char *ns, size_t ns_len,
                           const struct rdv_peerid *peer, rdv_store_count_cb cb, void *arg)
{
    struct app_call *c = rdv_store_key_valid(kind, ns, ns_len, peer) ? CALL(cb, arg) : NULL;
    if (!c) {
        cb(arg, RDV_STORE_ERROR, 0);
        return;
    }
    APP(base)->ops.unregister(APP(base)->ctx, kind, ns, ns_len, peer->bytes, peer->len, count_done, c);
}

static void app_discover(struct rdv_store *base, const struct rdv_store_query *q, rdv_store_discover_cb cb, void *arg)
{
    struct app_call *c = rdv_store_query_valid(q) ? CALL(cb, arg) : NULL;
    if (!c) {
        cb(arg, RDV_STORE_ERROR, NULL, 0);
        return;
    }
    struct rendezvous_store_query pq = {.kind = q->kind, .ns = q->ns, .ns_len = q->ns_len, .limit = q->limit,
                                        .ordered = q->ordered, .after = q->after};
    APP(base)->ops.discover(APP(base)->ctx, &pq, discover_done, c);
}

static void app_expire(struct rdv_store *base, rdv_store_count_cb cb, void *arg)
{
    struct app_call *c = CALL(cb, arg);
    if (!c) {
        cb(arg, RDV_STORE_ERROR, 0);
        return;
    }
    APP(base)->ops.expire(APP(base)->ctx, count_done, c);
}

static void app_stats(struct rdv_store *base, rdv_store_stats_cb cb, void *arg)
{
    struct app_call *c = CALL(cb, arg);
    if (!c) {
        cb(arg, RDV_STORE_ERROR, NULL);
        return;
    }
    APP(base)->ops.stats(APP(base)->ctx, stats_done, c);
}

static void app_list_namespaces(struct rdv_store *base, const char *prefix, size_t prefix_len, const char *cursor,
                                size_t cursor_len, uint32_t limit, rdv_store_ns_list_cb cb, void *arg)
{
    bool valid = (prefix || !prefix_len) && prefix_len <= RDV_NS_MAX && (cursor || !cursor_len) &&
                 cursor_len <= RDV_NS_MAX + 2; /* a cursor may carry a 0x00 and the kind */
    struct app_call *c = valid && APP(base)->ops.list_namespaces ? CALL(cb, arg) : NULL;
    if (!c) {
        cb(arg, RDV_STORE_ERROR, NULL, 0, 0);
        return;
    }
    APP(base)->ops.list_namespaces(APP(base)->ctx, prefix, prefix_len, cursor, cursor_len, limit, ns_list_done, c);
}

static void app_list_registrations(struct rdv_store *base, uint8_t kind, const char *ns, size_t ns_len,
                                   const struct rdv_peerid *cursor, uint32_t limit, rdv_store_reg_list_cb cb,
                                   void *arg)
{
    bool valid = (ns || !ns_len) && ns_len <= RDV_NS_MAX && kind < RDV_STORE_KINDS;
    struct app_call *c = valid && APP(base)->ops.list_registrations ? CALL(cb, arg) : NULL;
    if (!c) {
        cb(arg, RDV_STORE_ERROR, NULL, 0, 0);
        return;
    }
    APP(base)->ops.list_registrations(APP(base)->ctx, kind, ns, ns_len, cursor ? cursor->bytes : NULL,
                                      cursor ? cursor->len : 0, limit, reg_list_done, c);
}

static void app_list_peer(struct rdv_store *base, const struct rdv_peerid *peer, uint32_t limit,
                          rdv_store_reg_list_cb cb, void *arg)
{
    struct app_call *c = peer && peer->len && APP(base)->ops.list_peer ? CALL(cb, arg) : NULL;
    if (!c) {
        cb(arg, RDV_STORE_ERROR, NULL, 0, 0);
        return;
    }
    APP(base)->ops.list_peer(APP(base)->ctx, peer->bytes, peer->len, limit, reg_list_done, c);
}

static void app_health(struct rdv_store *base, rdv_store_health_cb cb, void *arg)
{
    struct app_call *c = APP(base)->ops.health ? CALL(cb, arg) : NULL;
    if (!c) {
        cb(arg, APP(base)->ops.health ? RDV_STORE_ERROR : RDV_STORE_OK);
        return;
    }
    APP(base)->ops.health(APP(base)->ctx, status_done, c);
}

static void app_secret(struct rdv_store *base, rdv_store_secret_cb cb, void *arg)
{
    struct app_call *c = CALL(cb, arg);
    if (!c) {
        cb(arg, RDV_STORE_ERROR, NULL);
        return;
    }
    APP(base)->ops.secret(APP(base)->ctx, secret_done, c);
}

static void app_close(struct rdv_store *base)
{
    if (APP(base)->ops.close)
        APP(base)->ops.close(APP(base)->ctx);
    free(base);
}

static const struct rdv_store_ops app_ops = {
    .kind = "application",
    .put = app_put,
    .unregister = app_unregister,
    .discover = app_discover,
    .expire = app_expire,
    .stats = app_stats,
    .list_namespaces = app_list_namespaces,
    .list_registrations = app_list_registrations,
    .list_peer = app_list_peer,
    .health = app_health,
    .secret = app_secret,
    .close = app_close,
};

int rendezvous_store_new(const struct rendezvous_store_ops *ops, void *ctx, struct rendezvous_store **out)
{
    if (!ops || !out || ops->size < offsetof(struct rendezvous_store_ops, close) || !ops->put || !ops->unregister ||
        !ops->discover || !ops->expire || !ops->stats || !ops->secret)
        return RDV_ERR_INVALID;
    struct app_store *s = calloc(1, sizeof(*s));
    if (!s)
        return RDV_ERR_NOMEM;
    memcpy(&s->ops, ops, ops->size < sizeof(s->ops) ? ops->size : sizeof(s->ops));
    s->base.ops = &app_ops;
    s->ctx = ctx;
    return wrap_out(&s->base, out);
}
