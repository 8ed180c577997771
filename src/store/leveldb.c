/* leveldb.c: the LevelDB store (see leveldb.h for the on-disk layout and durability).
 *
 * LevelDB holds the truth; the index of index.h mirrors every record's metadata so that puts
 * decide STALE / LIMIT without reading the disk, expiry pops a heap instead of scanning, and a
 * discover of k records costs k point reads rather than a scan of the namespace. Every change is
 * made to the index first and undone there if the LevelDB write fails, so both stay in step.
 * Expired records are deleted from LevelDB in one write batch per purge; should that write fail,
 * reads still skip them by their stored expiry and the next open deletes them. */
#include "store/leveldb.h"

#include <leveldb/c.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/envelope.h"
#include "store/index.h"
#include "util/err.h"
#include "util/log.h"

#define LDB_KEY_MAX (RDV_NS_MAX + 1 + RDV_PEERID_MAX)
#define LDB_VALUE_VERSION 1
#define LDB_HDR (1 + 8 + 8 + 8) /* version, expires_ms, registered_ms, seq */
static const char LDB_FORMAT_KEY[] = "\0rdv-format";
static const char LDB_FORMAT[] = "rendezvousd-leveldb-1";

struct ldb_store {
    struct rdv_store base; /* first: the vtable */
    struct rdv_clock clock;
    const struct rdv_log *log;
    leveldb_t *db;
    leveldb_options_t *opts;
    leveldb_readoptions_t *ro;
    leveldb_writeoptions_t *wo;
    struct rdv_index *ix;
};

/* One decoded value; envelope points into the value buffer. */
struct ldb_value {
    int64_t expires_ms, registered_ms;
    uint64_t seq;
    const uint8_t *envelope;
    size_t envelope_len;
};

/* ---- encoding -------------------------------------------------------------------------- */

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static size_t key_make(uint8_t *key, const void *ns, size_t ns_len, const struct rdv_peerid *peer)
{
    memcpy(key, ns, ns_len);
    key[ns_len] = 0;
    memcpy(key + ns_len + 1, peer->bytes, peer->len);
    return ns_len + 1 + peer->len;
}

static size_t key_of(uint8_t *key, const struct rdv_index_rec *r)
{
    return key_make(key, r->ns->name, r->ns->len, &r->peer);
}

/* Splits a record key; false when it is not one (no separator, bad lengths). */
static bool key_parse(const uint8_t *k, size_t n, size_t *ns_len, struct rdv_peerid *peer)
{
    const uint8_t *sep = memchr(k, 0, n);
    if (!sep)
        return false;
    size_t nl = (size_t)(sep - k), pl = n - nl - 1;
    if (nl == 0 || nl > RDV_NS_MAX || pl == 0 || pl > RDV_PEERID_MAX)
        return false;
    *ns_len = nl;
    memcpy(peer->bytes, sep + 1, pl);
    peer->len = pl;
    return true;
}

static uint8_t *value_make(const struct rdv_store_put *p, int64_t now, int64_t expires, size_t *len)
{
    uint8_t *v = malloc(LDB_HDR + p->envelope_len);
    if (!v)
        return NULL;
    v[0] = LDB_VALUE_VERSION;
    put_be64(v + 1, (uint64_t)expires);
    put_be64(v + 9, (uint64_t)now);
    put_be64(v + 17, p->seq);
    memcpy(v + LDB_HDR, p->envelope, p->envelope_len);
    *len = LDB_HDR + p->envelope_len;
    return v;
}

static bool value_parse(const uint8_t *v, size_t n, struct ldb_value *out)
{
    if (n <= LDB_HDR || n - LDB_HDR > RDV_ENVELOPE_MAX || v[0] != LDB_VALUE_VERSION)
        return false;
    out->expires_ms = (int64_t)get_be64(v + 1);
    out->registered_ms = (int64_t)get_be64(v + 9);
    out->seq = get_be64(v + 17);
    out->envelope = v + LDB_HDR;
    out->envelope_len = n - LDB_HDR;
    return true;
}

/* ---- purge ----------------------------------------------------------------------------- */

static int64_t ldb_now(const struct ldb_store *s)
{
    return s->clock.now_ms(s->clock.ctx);
}

/* Logs and frees a LevelDB error string; true if there was one. */
static bool ldb_failed(const struct ldb_store *s, char *err, const char *what)
{
    if (!err)
        return false;
    rdv_error(s->log, "leveldb store: %s: %s", what, err);
    leveldb_free(err);
    return true;
}

static uint64_t ldb_purge(struct ldb_store *s, int64_t now)
{
    uint64_t k = 0;
    leveldb_writebatch_t *batch = NULL;
    struct rdv_index_rec *r;
    uint8_t key[LDB_KEY_MAX];
    while ((r = rdv_index_soonest(s->ix)) && r->expires_ms <= now) {
        if (!batch)
            batch = leveldb_writebatch_create();
        size_t kl = key_of(key, r);
        leveldb_writebatch_delete(batch, (const char *)key, kl);
        rdv_index_remove(s->ix, r);
        k++;
    }
    if (batch) {
        char *err = NULL;
        leveldb_write(s->db, s->wo, batch, &err);
        ldb_failed(s, err, "deleting expired records (reads skip them; the next open retries)");
        leveldb_writebatch_destroy(batch);
    }
    return k;
}

static int64_t ldb_begin(struct ldb_store *s)
{
    int64_t now = ldb_now(s);
    ldb_purge(s, now);
    return now;
}

/* ---- put ------------------------------------------------------------------------------- */

static bool put_valid(const struct rdv_store_put *p)
{
    return p->ns && p->ns_len > 0 && p->ns_len <= RDV_NS_MAX && !memchr(p->ns, 0, p->ns_len) && p->peer &&
           p->peer->len > 0 && p->peer->len <= RDV_PEERID_MAX && p->envelope && p->envelope_len > 0 &&
           p->envelope_len <= RDV_ENVELOPE_MAX && p->ttl_s > 0;
}

/* Applies p to the index (the caller writes LevelDB next and calls put_undo if that fails). */
static int put_index(struct ldb_store *s, const struct rdv_store_put *p, int64_t now, int64_t expires,
                     struct rdv_index_rec **r, struct rdv_index_rec *old)
{
    struct rdv_index_meta m = {.seq = p->seq, .counter = rdv_index_next_counter(s->ix), .dialect = p->dialect,
                               .registered_ms = now, .expires_ms = expires};
    if (*r) {
        *old = **r;
        return rdv_index_update(s->ix, *r, &m);
    }
    struct rdv_index_key key = {.kind = p->kind, .ns = p->ns, .ns_len = p->ns_len, .peer = p->peer};
    return rdv_index_insert(s->ix, &key, &m, r);
}

static void put_undo(struct ldb_store *s, struct rdv_index_rec *r, bool existed, const struct rdv_index_rec *old)
{
    if (existed)
        (void)rdv_index_update(s->ix, r, &(struct rdv_index_meta){.seq = old->seq, .counter = old->counter,
                                                                  .dialect = old->dialect,
                                                                  .registered_ms = old->registered_ms,
                                                                  .expires_ms = old->expires_ms});
    else
        rdv_index_remove(s->ix, r);
}

static enum rdv_store_status put_apply(struct ldb_store *s, const struct rdv_store_put *p, int64_t now)
{
    if (!put_valid(p) || p->kind) /* TODO(dialects): kinds in the key format */
        return RDV_STORE_ERROR;
    struct rdv_index_rec *r, old = {0};
    enum rdv_store_status st = rdv_index_admit(s->ix, p, &r);
    if (st != RDV_STORE_OK)
        return st;
    bool existed = r != NULL;
    int64_t expires = now + (int64_t)p->ttl_s * 1000;
    size_t vlen;
    uint8_t *val = value_make(p, now, expires, &vlen);
    if (!val || put_index(s, p, now, expires, &r, &old)) {
        free(val);
        return RDV_STORE_ERROR;
    }
    uint8_t key[LDB_KEY_MAX];
    size_t kl = key_make(key, p->ns, p->ns_len, p->peer);
    char *err = NULL;
    leveldb_put(s->db, s->wo, (const char *)key, kl, (const char *)val, vlen, &err);
    free(val);
    if (ldb_failed(s, err, "put")) {
        put_undo(s, r, existed, &old);
        return RDV_STORE_ERROR;
    }
    return RDV_STORE_OK;
}

static void ldb_put(struct rdv_store *base, const struct rdv_store_put *p, rdv_store_put_cb cb, void *arg)
{
    struct ldb_store *s = (struct ldb_store *)base;
    int64_t now = ldb_begin(s);
    cb(arg, put_apply(s, p, now));
}

/* ---- reading records back -------------------------------------------------------------- */

/* Records read from LevelDB for one callback; the envelopes point into LevelDB's buffers. */
struct ldb_batch {
    struct rdv_store_record *recs;
    char **vals;
    size_t n;
};

static void batch_free(struct ldb_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        leveldb_free(b->vals[i]);
    free(b->vals);
    free(b->recs);
}

/* Reads the k records (in that order) from LevelDB, skipping any whose stored copy expired or
 * went missing. Returns 0 or RDV_ERR_NOMEM / RDV_ERR_IO. */
static int batch_read(struct ldb_store *s, struct rdv_index_rec *const *recs, size_t k, int64_t now,
                      struct ldb_batch *b)
{
    b->n = 0;
    b->recs = k ? malloc(k * sizeof(*b->recs)) : NULL;
    b->vals = k ? malloc(k * sizeof(*b->vals)) : NULL;
    if (k && (!b->recs || !b->vals))
        return RDV_ERR_NOMEM;
    uint8_t key[LDB_KEY_MAX];
    for (size_t i = 0; i < k; i++) {
        size_t kl = key_of(key, recs[i]), vl = 0;
        char *err = NULL;
        char *v = leveldb_get(s->db, s->ro, (const char *)key, kl, &vl, &err);
        if (ldb_failed(s, err, "get"))
            return RDV_ERR_IO;
        struct ldb_value d;
        if (!v || !value_parse((const uint8_t *)v, vl, &d) || d.expires_ms <= now) {
            rdv_warn(s->log, "leveldb store: a record in the index is %s on disk; skipped",
                     v ? "expired or malformed" : "missing");
            leveldb_free(v);
            continue;
        }
        b->vals[b->n] = v;
        b->recs[b->n++] = (struct rdv_store_record){
            .peer = recs[i]->peer, .seq = d.seq, .envelope = d.envelope, .envelope_len = d.envelope_len,
            .ttl_left_ms = d.expires_ms - now, .registered_at_ms = d.registered_ms,
        };
    }
    return RDV_OK;
}

static void ldb_discover(struct rdv_store *base, const struct rdv_store_query *qr, rdv_store_discover_cb cb,
                         void *arg)
{
    struct ldb_store *s = (struct ldb_store *)base;
    int64_t now = ldb_begin(s);
    const char *name = qr->ns;
    size_t len = qr->ns_len;
    uint32_t limit = qr->limit;
    if (!rdv_store_query_valid(qr) || qr->ordered || qr->kind) { /* TODO(dialects): kinds, ordered pages */
        cb(arg, RDV_STORE_ERROR, NULL, 0);
        return;
    }
    struct rdv_index_rec *const *recs;
    size_t k;
    rdv_index_sample(s->ix, 0, name, len, limit, &recs, &k);
    struct ldb_batch b;
    if (batch_read(s, recs, k, now, &b))
        cb(arg, RDV_STORE_ERROR, NULL, 0);
    else
        cb(arg, RDV_STORE_OK, b.recs, b.n);
    batch_free(&b);
}

/* ---- browsing -------------------------------------------------------------------------- */

static void ldb_list_namespaces(struct rdv_store *base, const char *prefix, size_t prefix_len, const char *cursor,
                                size_t cursor_len, uint32_t limit, rdv_store_ns_list_cb cb, void *arg)
{
    struct ldb_store *s = (struct ldb_store *)base;
    ldb_begin(s);
    rdv_index_answer_namespaces(s->ix, prefix, prefix_len, cursor, cursor_len, limit, cb, arg);
}

static void ldb_list_registrations(struct rdv_store *base, uint8_t kind, const char *name, size_t len,
                                   const struct rdv_peerid *cursor, uint32_t limit, rdv_store_reg_list_cb cb,
                                   void *arg)
{
    struct ldb_store *s = (struct ldb_store *)base;
    int64_t now = ldb_begin(s);
    struct rdv_index_rec **recs;
    size_t n;
    int more;
    if (kind || rdv_index_list_registrations(s->ix, 0, name, len, cursor, limit, &recs, &n, &more)) {
        cb(arg, RDV_STORE_ERROR, NULL, 0, 0);
        return;
    }
    struct ldb_batch b;
    if (batch_read(s, recs, n, now, &b))
        cb(arg, RDV_STORE_ERROR, NULL, 0, 0);
    else
        cb(arg, RDV_STORE_OK, b.recs, b.n, more);
    batch_free(&b);
    free(recs);
}

/* ---- expire, stats, health, close ------------------------------------------------------ */

static void ldb_expire(struct rdv_store *base, rdv_store_count_cb cb, void *arg)
{
    struct ldb_store *s = (struct ldb_store *)base;
    uint64_t k = ldb_purge(s, ldb_now(s));
    cb(arg, RDV_STORE_OK, k);
}

static void ldb_stats(struct rdv_store *base, rdv_store_stats_cb cb, void *arg)
{
    struct ldb_store *s = (struct ldb_store *)base;
    ldb_begin(s);
    rdv_index_answer_stats(s->ix, cb, arg);
}

/* OK when a read of the format key succeeds: the files are there and readable. */
static void ldb_health(struct rdv_store *base, rdv_store_health_cb cb, void *arg)
{
    struct ldb_store *s = (struct ldb_store *)base;
    char *err = NULL;
    size_t vl = 0;
    char *v = leveldb_get(s->db, s->ro, LDB_FORMAT_KEY, sizeof(LDB_FORMAT_KEY) - 1, &vl, &err);
    bool good = !ldb_failed(s, err, "health check") && v;
    leveldb_free(v);
    cb(arg, good ? RDV_STORE_OK : RDV_STORE_ERROR);
}

static void ldb_free(struct ldb_store *s)
{
    if (s->db)
        leveldb_close(s->db);
    if (s->opts)
        leveldb_options_destroy(s->opts);
    if (s->ro)
        leveldb_readoptions_destroy(s->ro);
    if (s->wo)
        leveldb_writeoptions_destroy(s->wo);
    rdv_index_free(s->ix);
    free(s);
}

static void ldb_close(struct rdv_store *base)
{
    ldb_free((struct ldb_store *)base);
}

/* TODO(dialects): not yet in this backend. */
static void ldb_unregister(struct rdv_store *base, uint8_t kind, const char *ns, size_t ns_len,
                          const struct rdv_peerid *peer, rdv_store_count_cb cb, void *arg)
{
    (void)base, (void)kind, (void)ns, (void)ns_len, (void)peer;
    cb(arg, RDV_STORE_ERROR, 0);
}

static void ldb_secret(struct rdv_store *base, rdv_store_secret_cb cb, void *arg)
{
    (void)base;
    cb(arg, RDV_STORE_ERROR, NULL);
}

static const struct rdv_store_ops ldb_ops = {
    .kind = "leveldb",
    .put = ldb_put,
    .unregister = ldb_unregister,
    .discover = ldb_discover,
    .secret = ldb_secret,
    .expire = ldb_expire,
    .stats = ldb_stats,
    .list_namespaces = ldb_list_namespaces,
    .list_registrations = ldb_list_registrations,
    .health = ldb_health,
    .close = ldb_close,
};

/* ---- open: check the layout, load the index -------------------------------------------- */

/* A new directory gets the format key; an existing one must carry ours. */
static int ldb_check_format(struct ldb_store *s, const char *path, char *errbuf, size_t errlen)
{
    char *err = NULL;
    size_t vl = 0;
    char *v = leveldb_get(s->db, s->ro, LDB_FORMAT_KEY, sizeof(LDB_FORMAT_KEY) - 1, &vl, &err);
    if (err) {
        snprintf(errbuf, errlen, "leveldb %s: %s", path, err);
        leveldb_free(err);
        return RDV_ERR_IO;
    }
    bool present = v != NULL, ours = v && vl == sizeof(LDB_FORMAT) - 1 && memcmp(v, LDB_FORMAT, vl) == 0;
    leveldb_free(v);
    if (ours)
        return RDV_OK;
    if (present) {
        snprintf(errbuf, errlen, "leveldb %s: holds another layout than %s", path, LDB_FORMAT);
        return RDV_ERR_INVALID;
    }
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ro);
    leveldb_iter_seek_to_first(it);
    bool empty = !leveldb_iter_valid(it);
    leveldb_iter_destroy(it);
    if (!empty) {
        snprintf(errbuf, errlen, "leveldb %s: not a rendezvousd store (no format key)", path);
        return RDV_ERR_INVALID;
    }
    leveldb_put(s->db, s->wo, LDB_FORMAT_KEY, sizeof(LDB_FORMAT_KEY) - 1, LDB_FORMAT, sizeof(LDB_FORMAT) - 1, &err);
    if (err) {
        snprintf(errbuf, errlen, "leveldb %s: %s", path, err);
        leveldb_free(err);
        return RDV_ERR_IO;
    }
    return RDV_OK;
}

struct load_counts {
    size_t live, expired, malformed;
};

/* Files one scanned record: into the index, the delete batch (expired) or the malformed count. */
static int load_one(struct ldb_store *s, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, int64_t now,
                    leveldb_writebatch_t *dead, struct load_counts *c)
{
    size_t ns_len;
    struct rdv_peerid peer;
    struct ldb_value d;
    if (!key_parse(k, kl, &ns_len, &peer) || !value_parse(v, vl, &d)) {
        c->malformed++;
        return RDV_OK;
    }
    if (d.expires_ms <= now) {
        leveldb_writebatch_delete(dead, (const char *)k, kl);
        c->expired++;
        return RDV_OK;
    }
    c->live++;
    struct rdv_index_key key = {.kind = 0, .ns = k, .ns_len = ns_len, .peer = &peer};
    struct rdv_index_meta m = {.seq = d.seq, .counter = rdv_index_next_counter(s->ix), .registered_ms = d.registered_ms,
                               .expires_ms = d.expires_ms};
    return rdv_index_insert(s->ix, &key, &m, NULL);
}

/* Scans every record key (they start at byte 0x01: namespaces are never empty). */
static int ldb_load(struct ldb_store *s, const char *path, char *errbuf, size_t errlen)
{
    int64_t now = ldb_now(s);
    struct load_counts c = { 0, 0, 0 };
    leveldb_writebatch_t *dead = leveldb_writebatch_create();
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ro);
    int rc = RDV_OK;
    for (leveldb_iter_seek(it, "\x01", 1); rc == RDV_OK && leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t kl, vl;
        const char *k = leveldb_iter_key(it, &kl), *v = leveldb_iter_value(it, &vl);
        rc = load_one(s, (const uint8_t *)k, kl, (const uint8_t *)v, vl, now, dead, &c);
    }
    char *err = NULL;
    leveldb_iter_get_error(it, &err);
    leveldb_iter_destroy(it);
    if (!err && rc == RDV_OK && c.expired)
        leveldb_write(s->db, s->wo, dead, &err);
    leveldb_writebatch_destroy(dead);
    if (err || rc) {
        snprintf(errbuf, errlen, "leveldb %s: loading: %s", path, err ? err : rdv_strerror(rc));
        leveldb_free(err);
        return err ? RDV_ERR_IO : rc;
    }
    rdv_info(s->log, "leveldb store %s: %zu live registrations loaded, %zu expired deleted", path, c.live,
             c.expired);
    if (c.malformed)
        rdv_warn(s->log, "leveldb store %s: %zu malformed records ignored", path, c.malformed);
    return RDV_OK;
}

int rdv_store_leveldb_open(const char *path, const struct rdv_clock *clock, const struct rdv_log *log,
                           struct rdv_store **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    if (!path || !*path) {
        snprintf(errbuf, errlen, "leveldb: needs a directory (leveldb:/path)");
        return RDV_ERR_INVALID;
    }
    struct ldb_store *s = calloc(1, sizeof(*s));
    if (!s || !(s->ix = rdv_index_new())) {
        free(s);
        snprintf(errbuf, errlen, "out of memory");
        return RDV_ERR_NOMEM;
    }
    s->base.ops = &ldb_ops;
    s->clock = clock && clock->now_ms ? *clock : rdv_clock_system;
    s->log = log;
    s->opts = leveldb_options_create();
    s->ro = leveldb_readoptions_create();
    s->wo = leveldb_writeoptions_create();
    leveldb_options_set_create_if_missing(s->opts, 1);
    leveldb_writeoptions_set_sync(s->wo, 0);
    char *err = NULL;
    s->db = leveldb_open(s->opts, path, &err);
    if (err) {
        snprintf(errbuf, errlen, "leveldb %s: %s", path, err);
        leveldb_free(err);
        ldb_free(s);
        return RDV_ERR_IO;
    }
    int rc = ldb_check_format(s, path, errbuf, errlen);
    if (rc == RDV_OK)
        rc = ldb_load(s, path, errbuf, errlen);
    if (rc) {
        ldb_free(s);
        return rc;
    }
    *out = &s->base;
    return RDV_OK;
}
