/* kv.c: the store on an application's key-value interface (see kv.h). The operations are those
 * of memory.c (the index answers every read, the envelopes are its records' data); what this
 * file adds is writing each change through to the KV, undoing it in the index when the KV fails,
 * and loading the KV at open. */
#include "store/kv.h"

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "store/index.h"
#include "util/be64.h"
#include "util/err.h"

#define KV_TAG 0x02
#define KV_KEY_MAX (2 + RDV_NS_MAX + 1 + RDV_PEERID_MAX)
#define KV_VERSION 1
#define KV_HDR (1 + 8 + 8 + 8 + 8 + 1)
static const char KV_SECRET[] = "\0secret";
static const char KV_COUNTER[] = "\0counter";

struct kv_store {
    struct rdv_store base; /* first: the vtable */
    struct rendezvous_kv kv;
    struct rdv_clock clock;
    const struct rdv_log *log;
    struct rdv_index *ix;
    uint8_t secret[RDV_STORE_SECRET_LEN];
};

/* ---- encoding -------------------------------------------------------------------------------- */

static size_t key_make(uint8_t *key, uint8_t kind, const void *ns, size_t ns_len, const struct rdv_peerid *peer)
{
    key[0] = KV_TAG;
    key[1] = kind;
    memcpy(key + 2, ns, ns_len);
    key[2 + ns_len] = 0;
    memcpy(key + 3 + ns_len, peer->bytes, peer->len);
    return 3 + ns_len + peer->len;
}

static size_t key_of(uint8_t *key, const struct rdv_index_rec *r)
{
    return key_make(key, r->ns->kind, r->ns->name, r->ns->len, &r->peer->id);
}

static uint8_t *value_make(const struct rdv_index_meta *m, const uint8_t *env, size_t env_len, size_t *len)
{
    uint8_t *v = malloc(KV_HDR + env_len);
    if (!v)
        return NULL;
    v[0] = KV_VERSION;
    rdv_put_be64(v + 1, (uint64_t)m->expires_ms);
    rdv_put_be64(v + 9, (uint64_t)m->registered_ms);
    rdv_put_be64(v + 17, m->seq);
    rdv_put_be64(v + 25, m->counter);
    v[33] = m->dialect;
    memcpy(v + KV_HDR, env, env_len);
    *len = KV_HDR + env_len;
    return v;
}

static bool kv_failed(const struct kv_store *s, int rc, const char *what)
{
    if (rc == 0)
        return false;
    rdv_error(s->log, "kv store: %s failed (%d)", what, rc);
    return true;
}

/* The counter's high-water mark: written with every deletion, so a reopened store never hands out
 * a counter an old cookie has seen (the records carry theirs, so only deletions can lose it). */
static int counter_mark(struct kv_store *s)
{
    uint8_t v[8];
    rdv_put_be64(v, rdv_index_counter(s->ix));
    return s->kv.put(s->kv.ctx, KV_COUNTER, sizeof(KV_COUNTER) - 1, v, sizeof(v));
}

static int64_t kv_now(const struct kv_store *s) { return s->clock.now_ms(s->clock.ctx); }

static uint64_t kv_purge(struct kv_store *s, int64_t now)
{
    uint64_t k = 0;
    struct rdv_index_rec *r;
    uint8_t key[KV_KEY_MAX];
    while ((r = rdv_index_soonest(s->ix)) && r->expires_ms <= now) {
        /* a failed delete leaves a dead record in the KV: the next open drops it by its expiry */
        kv_failed(s, s->kv.del(s->kv.ctx, key, key_of(key, r)), "deleting an expired record");
        rdv_index_remove(s->ix, r);
        k++;
    }
    if (k)
        kv_failed(s, counter_mark(s), "writing the counter");
    return k;
}

static int64_t kv_begin(struct kv_store *s)
{
    int64_t now = kv_now(s);
    kv_purge(s, now);
    return now;
}

/* ---- put ------------------------------------------------------------------------------------- */

/* Puts r's new state to the KV; on failure the caller restores the index. */
static int put_write(struct kv_store *s, const struct rdv_store_put *p, const struct rdv_index_meta *m)
{
    size_t vlen;
    uint8_t *val = value_make(m, p->envelope, p->envelope_len, &vlen);
    if (!val)
        return RDV_ERR_NOMEM;
    uint8_t key[KV_KEY_MAX];
    size_t kl = key_make(key, p->kind, p->ns, p->ns_len, p->peer);
    int rc = s->kv.put(s->kv.ctx, key, kl, val, vlen);
    free(val);
    return kv_failed(s, rc, "put") ? RDV_ERR_IO : RDV_OK;
}

static enum rdv_store_status put_apply(struct kv_store *s, const struct rdv_store_put *p, int64_t now)
{
    if (!rdv_store_put_valid(p) || memchr(p->ns, 0, p->ns_len))
        return RDV_STORE_ERROR; /* a NUL would end the name in the key */
    struct rdv_index_rec *r;
    enum rdv_store_status st = rdv_index_admit(s->ix, p, &r);
    if (st != RDV_STORE_OK)
        return st;
    uint8_t *env = malloc(p->envelope_len);
    if (!env)
        return RDV_STORE_ERROR;
    memcpy(env, p->envelope, p->envelope_len);
    struct rdv_index_meta m = {.envelope_len = (uint32_t)p->envelope_len, .seq = p->seq,
                               .counter = rdv_index_next_counter(s->ix), .dialect = p->dialect,
                               .registered_ms = now, .expires_ms = now + (int64_t)p->ttl_s * 1000};
    if (put_write(s, p, &m)) { /* the KV first: nothing to undo in the index */
        free(env);
        return RDV_STORE_ERROR;
    }
    struct rdv_index_key key = {.kind = p->kind, .ns = p->ns, .ns_len = p->ns_len, .peer = p->peer};
    if (r) {
        free(r->data);
        (void)rdv_index_update(s->ix, r, &m); /* the dialect was checked above */
    } else if (rdv_index_insert(s->ix, &key, &m, &r)) {
        free(env);
        uint8_t k[KV_KEY_MAX];
        kv_failed(s, s->kv.del(s->kv.ctx, k, key_make(k, p->kind, p->ns, p->ns_len, p->peer)), "undoing a put");
        return RDV_STORE_ERROR;
    }
    r->data = env;
    r->data_len = p->envelope_len;
    return RDV_STORE_OK;
}

static void kv_put(struct rdv_store *base, const struct rdv_store_put *p, rdv_store_put_cb cb, void *arg)
{
    struct kv_store *s = (struct kv_store *)base;
    int64_t now = kv_begin(s);
    cb(arg, put_apply(s, p, now));
}

/* ---- unregister, discover, browse ------------------------------------------------------------ */

static void kv_unregister(struct rdv_store *base, uint8_t kind, const char *ns, size_t ns_len,
                          const struct rdv_peerid *peer, rdv_store_count_cb cb, void *arg)
{
    struct kv_store *s = (struct kv_store *)base;
    kv_begin(s);
    if (!rdv_store_key_valid(kind, ns, ns_len, peer)) {
        cb(arg, RDV_STORE_ERROR, 0);
        return;
    }
    struct rdv_index_rec *r = rdv_index_find(s->ix, kind, ns, ns_len, peer);
    if (!r) {
        cb(arg, RDV_STORE_OK, 0);
        return;
    }
    uint8_t key[KV_KEY_MAX];
    if (kv_failed(s, s->kv.del(s->kv.ctx, key, key_of(key, r)), "unregister")) {
        cb(arg, RDV_STORE_ERROR, 0);
        return;
    }
    rdv_index_remove(s->ix, r);
    kv_failed(s, counter_mark(s), "writing the counter");
    cb(arg, RDV_STORE_OK, 1);
}

static void kv_discover(struct rdv_store *base, const struct rdv_store_query *q, rdv_store_discover_cb cb, void *arg)
{
    struct kv_store *s = (struct kv_store *)base;
    int64_t now = kv_begin(s);
    struct rdv_index_rec **recs;
    size_t n;
    int rc = rdv_index_query(s->ix, q, &recs, &n);
    rdv_index_answer_discover(rc, recs, n, now, cb, arg);
}

static void kv_list_namespaces(struct rdv_store *base, const char *prefix, size_t prefix_len, const char *cursor,
                               size_t cursor_len, uint32_t limit, rdv_store_ns_list_cb cb, void *arg)
{
    struct kv_store *s = (struct kv_store *)base;
    kv_begin(s);
    rdv_index_answer_namespaces(s->ix, prefix, prefix_len, cursor, cursor_len, limit, cb, arg);
}

static void kv_list_registrations(struct rdv_store *base, uint8_t kind, const char *name, size_t len,
                                  const struct rdv_peerid *cursor, uint32_t limit, rdv_store_reg_list_cb cb,
                                  void *arg)
{
    struct kv_store *s = (struct kv_store *)base;
    int64_t now = kv_begin(s);
    struct rdv_index_rec **recs;
    size_t n;
    int more;
    int rc = rdv_index_list_registrations(s->ix, kind, name, len, cursor, limit, &recs, &n, &more);
    rdv_index_answer_list(rc, recs, n, more, now, cb, arg);
}

/* The search by peer id: the index keeps a list per peer. */
static void kv_list_peer(struct rdv_store *base, const struct rdv_peerid *peer, uint32_t limit, rdv_store_reg_list_cb cb,
                         void *arg)
{
    struct kv_store *s = (struct kv_store *)base;
    int64_t now = kv_begin(s);
    struct rdv_index_rec **recs = NULL;
    size_t n = 0;
    int more = 0;
    int rc = peer ? rdv_index_list_peer(s->ix, peer, limit, &recs, &n, &more) : RDV_ERR_INVALID;
    rdv_index_answer_list(rc, recs, n, more, now, cb, arg);
}

/* ---- expire, stats, health, secret, close ---------------------------------------------------- */

static void kv_expire(struct rdv_store *base, rdv_store_count_cb cb, void *arg)
{
    struct kv_store *s = (struct kv_store *)base;
    cb(arg, RDV_STORE_OK, kv_purge(s, kv_now(s)));
}

static void kv_stats(struct rdv_store *base, rdv_store_stats_cb cb, void *arg)
{
    struct kv_store *s = (struct kv_store *)base;
    kv_begin(s);
    rdv_index_answer_stats(s->ix, cb, arg);
}

static void kv_health(struct rdv_store *base, rdv_store_health_cb cb, void *arg)
{
    (void)base;
    cb(arg, RDV_STORE_OK);
}

static void kv_secret(struct rdv_store *base, rdv_store_secret_cb cb, void *arg)
{
    cb(arg, RDV_STORE_OK, ((struct kv_store *)base)->secret);
}

static void kv_free(struct kv_store *s, bool close_kv)
{
    if (close_kv && s->kv.close)
        s->kv.close(s->kv.ctx);
    rdv_index_free(s->ix);
    sodium_memzero(s->secret, sizeof(s->secret));
    free(s);
}

static void kv_close(struct rdv_store *base) { kv_free((struct kv_store *)base, true); }

static const struct rdv_store_ops kv_ops = {
    .kind = "kv",
    .put = kv_put,
    .unregister = kv_unregister,
    .discover = kv_discover,
    .expire = kv_expire,
    .stats = kv_stats,
    .list_namespaces = kv_list_namespaces,
    .list_registrations = kv_list_registrations,
    .list_peer = kv_list_peer,
    .health = kv_health,
    .secret = kv_secret,
    .close = kv_close,
};

/* ---- open: load what the KV holds ------------------------------------------------------------ */

struct load_rec {
    uint8_t kind;
    uint8_t *key; /* the whole key: ns at key + 2 */
    size_t ns_len;
    struct rdv_peerid peer;
    struct rdv_index_meta m;
    uint8_t *env;
    size_t env_len;
};

struct load {
    struct kv_store *s;
    struct load_rec *recs;
    size_t n, cap;
    uint64_t max_counter;
    bool have_secret;
    int err;
    int64_t now;
};

static bool parse_key(const uint8_t *k, size_t n, struct load_rec *r)
{
    if (n < 4 || k[0] != KV_TAG || k[1] >= RDV_STORE_KINDS)
        return false;
    const uint8_t *sep = memchr(k + 2, 0, n - 2);
    if (!sep)
        return false;
    size_t nl = (size_t)(sep - (k + 2)), pl = n - 3 - nl;
    if (nl == 0 || nl > RDV_NS_MAX || pl == 0 || pl > RDV_PEERID_MAX)
        return false;
    r->kind = k[1];
    r->ns_len = nl;
    memcpy(r->peer.bytes, sep + 1, pl);
    r->peer.len = pl;
    return true;
}

static bool parse_value(const uint8_t *v, size_t n, struct load_rec *r)
{
    if (n <= KV_HDR || v[0] != KV_VERSION || n - KV_HDR > RDV_STORE_ENVELOPE_MAX || v[33] >= RDV_STORE_DIALECTS)
        return false;
    r->m = (struct rdv_index_meta){.expires_ms = (int64_t)rdv_get_be64(v + 1), .registered_ms = (int64_t)rdv_get_be64(v + 9),
                                   .seq = rdv_get_be64(v + 17), .counter = rdv_get_be64(v + 25), .dialect = v[33],
                                   .envelope_len = (uint32_t)(n - KV_HDR)};
    r->env_len = n - KV_HDR;
    return r->m.counter > 0;
}

static int load_keep(struct load *l, const uint8_t *k, size_t kl, const uint8_t *v, struct load_rec *r)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        struct load_rec *p = realloc(l->recs, ncap * sizeof(*p));
        if (!p)
            return RDV_ERR_NOMEM;
        l->recs = p;
        l->cap = ncap;
    }
    r->key = malloc(kl);
    r->env = r->env_len ? malloc(r->env_len) : NULL;
    if (!r->key || (r->env_len && !r->env)) {
        free(r->key);
        free(r->env);
        return RDV_ERR_NOMEM;
    }
    memcpy(r->key, k, kl);
    if (r->env_len)
        memcpy(r->env, v + KV_HDR, r->env_len);
    l->recs[l->n++] = *r;
    return RDV_OK;
}

/* One record pair: kept if live; an expired one is deleted once loading is done (never from
 * inside iterate). Malformed ones are skipped with a warning. */
static int visit_record(void *arg, const void *key, size_t kl, const void *val, size_t vl)
{
    struct load *l = arg;
    struct load_rec r;
    memset(&r, 0, sizeof(r));
    if (!parse_key(key, kl, &r) || !parse_value(val, vl, &r)) {
        rdv_warn(l->s->log, "kv store: a malformed record ignored");
        return 0;
    }
    if (r.m.counter > l->max_counter)
        l->max_counter = r.m.counter;
    if (r.m.expires_ms <= l->now)
        r.env_len = 0, r.m.expires_ms = 0; /* kept only to be deleted */
    l->err = load_keep(l, key, kl, val, &r);
    return l->err;
}

static int visit_meta(void *arg, const void *key, size_t kl, const void *val, size_t vl)
{
    struct load *l = arg;
    if (kl == sizeof(KV_SECRET) - 1 && memcmp(key, KV_SECRET, kl) == 0 && vl == RDV_STORE_SECRET_LEN) {
        memcpy(l->s->secret, val, vl);
        l->have_secret = true;
    } else if (kl == sizeof(KV_COUNTER) - 1 && memcmp(key, KV_COUNTER, kl) == 0 && vl == 8) {
        uint64_t c = rdv_get_be64(val);
        if (c > l->max_counter)
            l->max_counter = c;
    }
    return 0;
}

static int load_rec_cmp(const void *a, const void *b)
{
    const struct load_rec *x = a, *y = b;
    return x->m.counter < y->m.counter ? -1 : x->m.counter > y->m.counter;
}

/* Files the live records into the index in counter order (its ordered logs need it), deletes the
 * expired from the KV. */
static int load_insert(struct load *l)
{
    struct kv_store *s = l->s;
    if (l->n)
        qsort(l->recs, l->n, sizeof(*l->recs), load_rec_cmp);
    int rc = RDV_OK;
    for (size_t i = 0; i < l->n && rc == RDV_OK; i++) {
        struct load_rec *r = &l->recs[i];
        if (r->m.expires_ms == 0) {
            size_t kl = 3 + r->ns_len + r->peer.len;
            kv_failed(s, s->kv.del(s->kv.ctx, r->key, kl), "deleting an expired record");
            continue;
        }
        struct rdv_index_key key = {.kind = r->kind, .ns = r->key + 2, .ns_len = r->ns_len, .peer = &r->peer};
        struct rdv_index_rec *ir;
        rc = rdv_index_insert(s->ix, &key, &r->m, &ir);
        if (rc == RDV_OK) {
            ir->data = r->env;
            ir->data_len = r->env_len;
            r->env = NULL;
        }
    }
    return rc;
}

static void load_free(struct load *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->recs[i].key);
        free(l->recs[i].env);
    }
    free(l->recs);
}

static int kv_load(struct kv_store *s)
{
    struct load l = {.s = s, .now = kv_now(s)};
    const uint8_t meta = 0, tag = KV_TAG;
    int rc = s->kv.iterate(s->kv.ctx, &meta, 1, visit_meta, &l) ? RDV_ERR_IO : RDV_OK;
    if (rc == RDV_OK && s->kv.iterate(s->kv.ctx, &tag, 1, visit_record, &l))
        rc = l.err ? l.err : RDV_ERR_IO;
    if (rc == RDV_OK)
        rc = load_insert(&l);
    rdv_index_raise_counter(s->ix, l.max_counter);
    if (rc == RDV_OK && !l.have_secret) {
        randombytes_buf(s->secret, sizeof(s->secret)); /* rdv_index_new started libsodium */
        if (s->kv.put(s->kv.ctx, KV_SECRET, sizeof(KV_SECRET) - 1, s->secret, sizeof(s->secret)))
            rc = RDV_ERR_IO;
    }
    if (rc == RDV_OK)
        rdv_info(s->log, "kv store: %zu registrations loaded, counter at %llu", rdv_index_records(s->ix),
                 (unsigned long long)rdv_index_counter(s->ix));
    load_free(&l);
    return rc;
}

int rdv_store_kv_open(const struct rendezvous_kv *kv, const struct rdv_clock *clock, const struct rdv_log *log,
                      struct rdv_store **out)
{
    *out = NULL;
    if (!kv || kv->size < offsetof(struct rendezvous_kv, iterate) + sizeof(kv->iterate) || !kv->put || !kv->del ||
        !kv->iterate)
        return RDV_ERR_INVALID;
    struct kv_store *s = calloc(1, sizeof(*s));
    if (!s || !(s->ix = rdv_index_new())) {
        free(s);
        return RDV_ERR_NOMEM;
    }
    memcpy(&s->kv, kv, kv->size < sizeof(s->kv) ? kv->size : sizeof(s->kv));
    s->base.ops = &kv_ops;
    s->clock = clock && clock->now_ms ? *clock : rdv_clock_system;
    s->log = log;
    int rc = kv_load(s);
    if (rc) {
        kv_free(s, false);
        return rc;
    }
    *out = &s->base;
    return RDV_OK;
}
