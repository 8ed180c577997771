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
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/envelope.h"
#include "store/index.h"
#include "util/be64.h"
#include "util/err.h"
#include "util/log.h"

#define LDB_FORMAT_VERSION 2 /* the layout this file writes; 1 is migrated at open */
#define LDB_KEY_TAG 0x02     /* first byte of every record key of format 2 */
#define LDB_KEY_MAX (2 + RDV_NS_MAX + 1 + RDV_PEERID_MAX)
#define LDB_VALUE_VERSION 2
#define LDB_HDR (1 + 8 + 8 + 8 + 8 + 1) /* version, expires_ms, registered_ms, seq, counter, dialect */
#define LDB_V1_VALUE_VERSION 1
#define LDB_V1_HDR (1 + 8 + 8 + 8) /* version, expires_ms, registered_ms, seq */
/* Reserved keys start with 0x00, which no record key does (format 1: a namespace is never empty). */
static const char LDB_FORMAT_KEY[] = "\0rdv-format";
static const char LDB_SECRET_KEY[] = "\0rdv-secret";
static const char LDB_COUNTER_KEY[] = "\0rdv-counter";
static const char LDB_FORMAT_NAME[] = "rendezvousd-leveldb-"; /* then the version in decimal */

struct ldb_store {
    struct rdv_store base; /* first: the vtable */
    struct rdv_clock clock;
    const struct rdv_log *log;
    leveldb_t *db;
    leveldb_options_t *opts;
    leveldb_readoptions_t *ro;
    leveldb_writeoptions_t *wo;
    leveldb_writeoptions_t *wo_sync; /* for the one-off writes of open: format, secret, migration */
    struct rdv_index *ix;
    uint8_t secret[RDV_STORE_SECRET_LEN];
};

/* One decoded value; envelope points into the value buffer. */
struct ldb_value {
    int64_t expires_ms, registered_ms;
    uint64_t seq, counter;
    uint8_t dialect;
    const uint8_t *envelope;
    size_t envelope_len;
};

/* ---- encoding -------------------------------------------------------------------------- */

/* 0x02 kind ns 0x00 peer_id: keys sort by kind, then namespace bytes (the 0x00 ends a name before
 * any longer name it prefixes), then peer id bytes. */
static size_t key_make(uint8_t *key, uint8_t kind, const void *ns, size_t ns_len, const struct rdv_peerid *peer)
{
    key[0] = LDB_KEY_TAG;
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

/* Splits `ns 0x00 peer_id` (format 1, or a format-2 key after its two leading bytes); false when it
 * is not one (no separator, bad lengths). */
static bool key_split(const uint8_t *k, size_t n, size_t *ns_len, struct rdv_peerid *peer)
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

/* Splits a format-2 record key; the namespace is k + 2. */
static bool key_parse(const uint8_t *k, size_t n, uint8_t *kind, size_t *ns_len, struct rdv_peerid *peer)
{
    if (n < 3 || k[0] != LDB_KEY_TAG || k[1] >= RDV_STORE_KINDS)
        return false;
    *kind = k[1];
    return key_split(k + 2, n - 2, ns_len, peer);
}

/* Encodes d (a format-2 value) into a new buffer. */
static uint8_t *value_encode(const struct ldb_value *d, size_t *len)
{
    uint8_t *v = malloc(LDB_HDR + d->envelope_len);
    if (!v)
        return NULL;
    v[0] = LDB_VALUE_VERSION;
    rdv_put_be64(v + 1, (uint64_t)d->expires_ms);
    rdv_put_be64(v + 9, (uint64_t)d->registered_ms);
    rdv_put_be64(v + 17, d->seq);
    rdv_put_be64(v + 25, d->counter);
    v[33] = d->dialect;
    memcpy(v + LDB_HDR, d->envelope, d->envelope_len);
    *len = LDB_HDR + d->envelope_len;
    return v;
}

static uint8_t *value_make(const struct rdv_store_put *p, int64_t now, int64_t expires, uint64_t counter,
                           size_t *len)
{
    struct ldb_value d = {.expires_ms = expires, .registered_ms = now, .seq = p->seq, .counter = counter,
                          .dialect = p->dialect, .envelope = p->envelope, .envelope_len = p->envelope_len};
    return value_encode(&d, len);
}

/* The fields both formats share, after a header of hdr bytes. */
static bool value_common(const uint8_t *v, size_t n, size_t hdr, struct ldb_value *out)
{
    if (n <= hdr || n - hdr > RDV_ENVELOPE_MAX)
        return false;
    out->expires_ms = (int64_t)rdv_get_be64(v + 1);
    out->registered_ms = (int64_t)rdv_get_be64(v + 9);
    out->seq = rdv_get_be64(v + 17);
    out->envelope = v + hdr;
    out->envelope_len = n - hdr;
    return true;
}

static bool value_parse(const uint8_t *v, size_t n, struct ldb_value *out)
{
    if (n < 1 || v[0] != LDB_VALUE_VERSION || !value_common(v, n, LDB_HDR, out))
        return false;
    out->counter = rdv_get_be64(v + 25);
    out->dialect = v[33];
    return out->counter > 0 && out->dialect < RDV_STORE_DIALECTS;
}

/* A format-1 value: no counter (the migration assigns one), dialect 0. */
static bool value_parse_v1(const uint8_t *v, size_t n, struct ldb_value *out)
{
    if (n < 1 || v[0] != LDB_V1_VALUE_VERSION || !value_common(v, n, LDB_V1_HDR, out))
        return false;
    out->counter = 0;
    out->dialect = 0;
    return true;
}

/* Records the counter's high-water mark in batch. Written with every deletion: the records on disk
 * carry their counters, so only removing the one with the highest could lose it. */
static void counter_mark(leveldb_writebatch_t *batch, uint64_t counter)
{
    uint8_t v[8];
    rdv_put_be64(v, counter);
    leveldb_writebatch_put(batch, LDB_COUNTER_KEY, sizeof(LDB_COUNTER_KEY) - 1, (const char *)v, sizeof(v));
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
        counter_mark(batch, rdv_index_counter(s->ix));
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

/* The shared checks, plus: no NUL in a namespace (it ends the name in the key). */
static bool put_valid(const struct rdv_store_put *p)
{
    return rdv_store_put_valid(p) && p->envelope_len <= RDV_ENVELOPE_MAX && !memchr(p->ns, 0, p->ns_len);
}

/* Applies p to the index (the caller writes LevelDB next and calls put_undo if that fails). */
static int put_index(struct ldb_store *s, const struct rdv_store_put *p, const struct rdv_index_meta *m,
                     struct rdv_index_rec **r, struct rdv_index_rec *old)
{
    if (*r) {
        *old = **r;
        return rdv_index_update(s->ix, *r, m);
    }
    struct rdv_index_key key = {.kind = p->kind, .ns = p->ns, .ns_len = p->ns_len, .peer = p->peer};
    return rdv_index_insert(s->ix, &key, m, r);
}

static void put_undo(struct ldb_store *s, struct rdv_index_rec *r, bool existed, const struct rdv_index_rec *old)
{
    if (existed)
        (void)rdv_index_update(s->ix, r, &(struct rdv_index_meta){.envelope_len = old->env_len,
                                                                  .seq = old->seq, .counter = old->counter,
                                                                  .dialect = old->dialect,
                                                                  .registered_ms = old->registered_ms,
                                                                  .expires_ms = old->expires_ms});
    else
        rdv_index_remove(s->ix, r);
}

static enum rdv_store_status put_apply(struct ldb_store *s, const struct rdv_store_put *p, int64_t now)
{
    if (!put_valid(p))
        return RDV_STORE_ERROR;
    struct rdv_index_rec *r, old = {0};
    enum rdv_store_status st = rdv_index_admit(s->ix, p, &r);
    if (st != RDV_STORE_OK)
        return st;
    bool existed = r != NULL;
    /* Taken before anything can fail: a counter lost to a failed put is only a gap. */
    struct rdv_index_meta m = {.envelope_len = (uint32_t)p->envelope_len, .seq = p->seq,
                               .counter = rdv_index_next_counter(s->ix), .dialect = p->dialect,
                               .registered_ms = now, .expires_ms = now + (int64_t)p->ttl_s * 1000};
    size_t vlen;
    uint8_t *val = value_make(p, now, m.expires_ms, m.counter, &vlen);
    if (!val || put_index(s, p, &m, &r, &old)) {
        free(val);
        return RDV_STORE_ERROR;
    }
    uint8_t key[LDB_KEY_MAX];
    size_t kl = key_make(key, p->kind, p->ns, p->ns_len, p->peer);
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

/* ---- unregister ------------------------------------------------------------------------ */

/* LevelDB first: if the delete fails the record stays in both, and the caller hears ERROR. */
static void ldb_unregister(struct rdv_store *base, uint8_t kind, const char *ns, size_t ns_len,
                           const struct rdv_peerid *peer, rdv_store_count_cb cb, void *arg)
{
    struct ldb_store *s = (struct ldb_store *)base;
    ldb_begin(s);
    if (!rdv_store_key_valid(kind, ns, ns_len, peer)) {
        cb(arg, RDV_STORE_ERROR, 0);
        return;
    }
    struct rdv_index_rec *r = rdv_index_find(s->ix, kind, ns, ns_len, peer);
    if (!r) {
        cb(arg, RDV_STORE_OK, 0);
        return;
    }
    uint8_t key[LDB_KEY_MAX];
    size_t kl = key_of(key, r);
    leveldb_writebatch_t *batch = leveldb_writebatch_create();
    leveldb_writebatch_delete(batch, (const char *)key, kl);
    counter_mark(batch, rdv_index_counter(s->ix));
    char *err = NULL;
    leveldb_write(s->db, s->wo, batch, &err);
    leveldb_writebatch_destroy(batch);
    if (ldb_failed(s, err, "unregister")) {
        cb(arg, RDV_STORE_ERROR, 0);
        return;
    }
    rdv_index_remove(s->ix, r);
    cb(arg, RDV_STORE_OK, 1);
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

/* The record r as reported: key and counter from the index, the rest from its value d. */
static struct rdv_store_record batch_record(const struct rdv_index_rec *r, const struct ldb_value *d, int64_t now)
{
    return (struct rdv_store_record){
        .ns = (const char *)r->ns->name, .ns_len = r->ns->len, .kind = r->ns->kind, .dialect = r->dialect,
        .counter = r->counter, .peer = r->peer->id, .seq = d->seq, .envelope = d->envelope,
        .envelope_len = d->envelope_len, .ttl_left_ms = d->expires_ms - now, .registered_at_ms = d->registered_ms,
    };
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
        b->recs[b->n++] = batch_record(recs[i], &d, now);
    }
    return RDV_OK;
}

/* Hands recs[0..k) to cb as read from disk. */
static void answer_records(struct ldb_store *s, struct rdv_index_rec *const *recs, size_t k, int64_t now,
                           rdv_store_discover_cb cb, void *arg)
{
    struct ldb_batch b;
    if (batch_read(s, recs, k, now, &b))
        cb(arg, RDV_STORE_ERROR, NULL, 0);
    else
        cb(arg, RDV_STORE_OK, b.recs, b.n);
    batch_free(&b);
}

/* Both kinds of discover are answered by the index (a sample, or a page of its ordered logs); only
 * the envelopes come from disk. */
static void ldb_discover(struct rdv_store *base, const struct rdv_store_query *q, rdv_store_discover_cb cb,
                         void *arg)
{
    struct ldb_store *s = (struct ldb_store *)base;
    int64_t now = ldb_begin(s);
    struct rdv_index_rec **recs;
    size_t n;
    if (rdv_index_query(s->ix, q, &recs, &n)) {
        cb(arg, RDV_STORE_ERROR, NULL, 0);
        return;
    }
    answer_records(s, recs, n, now, cb, arg);
    free(recs);
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
    if (rdv_index_list_registrations(s->ix, kind, name, len, cursor, limit, &recs, &n, &more)) {
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

/* The search by peer id: the index keeps a list per peer. */
static void ldb_list_peer(struct rdv_store *base, const struct rdv_peerid *peer, uint32_t limit, rdv_store_reg_list_cb cb,
                          void *arg)
{
    struct ldb_store *s = (struct ldb_store *)base;
    int64_t now = ldb_begin(s);
    struct rdv_index_rec **recs;
    size_t n;
    int more;
    if (!peer || rdv_index_list_peer(s->ix, peer, limit, &recs, &n, &more)) {
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

/* ---- expire, stats, health, secret, close ---------------------------------------------- */

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

/* Read from disk at open (made at the first open): every process that opens this directory later
 * accepts the cookies of the ones before. */
static void ldb_secret(struct rdv_store *base, rdv_store_secret_cb cb, void *arg)
{
    struct ldb_store *s = (struct ldb_store *)base;
    cb(arg, RDV_STORE_OK, s->secret);
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
    if (s->wo_sync)
        leveldb_writeoptions_destroy(s->wo_sync);
    rdv_index_free(s->ix);
    sodium_memzero(s->secret, sizeof(s->secret));
    free(s);
}

static void ldb_close(struct rdv_store *base)
{
    ldb_free((struct ldb_store *)base);
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
    .list_peer = ldb_list_peer,
    .health = ldb_health,
    .close = ldb_close,
};

/* ---- open: the layout, its migration, the secret ---------------------------------------- */

#define LDB_STR_(x) #x
#define LDB_STR(x) LDB_STR_(x)
static const char LDB_FORMAT[] = "rendezvousd-leveldb-" LDB_STR(LDB_FORMAT_VERSION);

/* Formats a LevelDB error of open into errbuf and frees it. */
static int open_failed(char *errbuf, size_t errlen, const char *path, const char *what, char *err)
{
    snprintf(errbuf, errlen, "leveldb %s: %s%s", path, what, err);
    leveldb_free(err);
    return RDV_ERR_IO;
}

/* N of a format key's value "rendezvousd-leveldb-N", or -1 when it is not one. */
static long format_version(const char *v, size_t vl)
{
    size_t pl = sizeof(LDB_FORMAT_NAME) - 1;
    if (vl <= pl || vl > pl + 9 || memcmp(v, LDB_FORMAT_NAME, pl) != 0)
        return -1;
    long n = 0;
    for (size_t i = pl; i < vl; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        n = n * 10 + (v[i] - '0');
    }
    return n;
}

static bool db_empty(struct ldb_store *s)
{
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ro);
    leveldb_iter_seek_to_first(it);
    bool empty = !leveldb_iter_valid(it);
    leveldb_iter_destroy(it);
    return empty;
}

/* Reads the format key into *version (0: a new, empty directory). Refuses another program's
 * database, another layout, and a format newer than this code knows. */
static int ldb_read_format(struct ldb_store *s, const char *path, long *version, char *errbuf, size_t errlen)
{
    char *err = NULL;
    size_t vl = 0;
    char *v = leveldb_get(s->db, s->ro, LDB_FORMAT_KEY, sizeof(LDB_FORMAT_KEY) - 1, &vl, &err);
    if (err)
        return open_failed(errbuf, errlen, path, "", err);
    bool present = v != NULL;
    *version = present ? format_version(v, vl) : 0;
    leveldb_free(v);
    if (present && *version <= 0) {
        snprintf(errbuf, errlen, "leveldb %s: holds another layout than %s", path, LDB_FORMAT);
        return RDV_ERR_INVALID;
    }
    if (*version > LDB_FORMAT_VERSION) {
        snprintf(errbuf, errlen,
                 "leveldb %s: format %ld, written by a newer rendezvousd; this one reads formats 1 to %d "
                 "(upgrade rendezvousd or use another directory)", path, *version, LDB_FORMAT_VERSION);
        return RDV_ERR_INVALID;
    }
    if (!present && !db_empty(s)) {
        snprintf(errbuf, errlen, "leveldb %s: not a rendezvousd store (no format key)", path);
        return RDV_ERR_INVALID;
    }
    return RDV_OK;
}

static void format_mark(leveldb_writebatch_t *batch)
{
    leveldb_writebatch_put(batch, LDB_FORMAT_KEY, sizeof(LDB_FORMAT_KEY) - 1, LDB_FORMAT, sizeof(LDB_FORMAT) - 1);
}

/* A new directory: the format key, and the counter at 0. */
static int ldb_create(struct ldb_store *s, const char *path, char *errbuf, size_t errlen)
{
    leveldb_writebatch_t *batch = leveldb_writebatch_create();
    format_mark(batch);
    counter_mark(batch, 0);
    char *err = NULL;
    leveldb_write(s->db, s->wo_sync, batch, &err);
    leveldb_writebatch_destroy(batch);
    return err ? open_failed(errbuf, errlen, path, "", err) : RDV_OK;
}

struct migrate_counts {
    size_t live, expired, malformed;
    uint64_t counter; /* the last assigned */
};

/* Queues the format-2 key and value of one format-1 record, or counts why it is dropped. */
static int migrate_one(leveldb_writebatch_t *batch, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl,
                       int64_t now, struct migrate_counts *c)
{
    size_t ns_len;
    struct rdv_peerid peer;
    struct ldb_value d;
    if (!key_split(k, kl, &ns_len, &peer) || !value_parse_v1(v, vl, &d)) {
        c->malformed++;
        return RDV_OK;
    }
    if (d.expires_ms <= now) {
        c->expired++;
        return RDV_OK;
    }
    d.counter = ++c->counter;
    uint8_t key[LDB_KEY_MAX];
    size_t nkl = key_make(key, 0, k, ns_len, &peer), nvl;
    uint8_t *nv = value_encode(&d, &nvl);
    if (!nv)
        return RDV_ERR_NOMEM;
    leveldb_writebatch_put(batch, (const char *)key, nkl, (const char *)nv, nvl);
    free(nv);
    c->live++;
    return RDV_OK;
}

/* Format 1 (`ns 0x00 peer_id`, no kind, counter or dialect) to 2, in place and in one write batch,
 * so a crash leaves either the old database or the new one. Every old key goes (expired and
 * malformed records are dropped on the way); live records get kind 0, dialect 0 and counters
 * 1..n in key order. The deletes come first in the batch: a new key equal to an old one (a
 * format-1 namespace starting with byte 0x02) is then written, not erased. */
static int ldb_migrate_v1(struct ldb_store *s, const char *path, char *errbuf, size_t errlen)
{
    int64_t now = ldb_now(s);
    struct migrate_counts c = {0};
    leveldb_writebatch_t *batch = leveldb_writebatch_create();
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ro); /* one snapshot for both passes */
    for (leveldb_iter_seek(it, "\x01", 1); leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t kl;
        const char *k = leveldb_iter_key(it, &kl);
        leveldb_writebatch_delete(batch, k, kl);
    }
    int rc = RDV_OK;
    for (leveldb_iter_seek(it, "\x01", 1); rc == RDV_OK && leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t kl, vl;
        const char *k = leveldb_iter_key(it, &kl), *v = leveldb_iter_value(it, &vl);
        rc = migrate_one(batch, (const uint8_t *)k, kl, (const uint8_t *)v, vl, now, &c);
    }
    char *err = NULL;
    leveldb_iter_get_error(it, &err);
    leveldb_iter_destroy(it);
    if (!err && rc == RDV_OK) {
        counter_mark(batch, c.counter);
        format_mark(batch);
        leveldb_write(s->db, s->wo_sync, batch, &err);
    }
    leveldb_writebatch_destroy(batch);
    if (err)
        return open_failed(errbuf, errlen, path, "migrating format 1 to 2: ", err);
    if (rc) {
        snprintf(errbuf, errlen, "leveldb %s: migrating format 1 to 2: %s", path, rdv_strerror(rc));
        return rc;
    }
    rdv_info(s->log, "leveldb store %s: migrated from format 1 to %d: %zu live registrations kept, %zu expired "
             "and %zu malformed dropped", path, LDB_FORMAT_VERSION, c.live, c.expired, c.malformed);
    return RDV_OK;
}

/* The store-wide secret: read, or made and kept at the first open of this format. */
static int ldb_load_secret(struct ldb_store *s, const char *path, char *errbuf, size_t errlen)
{
    char *err = NULL;
    size_t vl = 0;
    char *v = leveldb_get(s->db, s->ro, LDB_SECRET_KEY, sizeof(LDB_SECRET_KEY) - 1, &vl, &err);
    if (err)
        return open_failed(errbuf, errlen, path, "reading the secret: ", err);
    if (v) {
        bool good = vl == RDV_STORE_SECRET_LEN;
        if (good)
            memcpy(s->secret, v, vl);
        sodium_memzero(v, vl);
        leveldb_free(v);
        if (!good)
            snprintf(errbuf, errlen, "leveldb %s: the stored secret has %zu bytes, not %d", path, vl,
                     RDV_STORE_SECRET_LEN);
        return good ? RDV_OK : RDV_ERR_INVALID;
    }
    randombytes_buf(s->secret, sizeof(s->secret)); /* rdv_index_new started libsodium */
    leveldb_put(s->db, s->wo_sync, LDB_SECRET_KEY, sizeof(LDB_SECRET_KEY) - 1, (const char *)s->secret,
                sizeof(s->secret), &err);
    return err ? open_failed(errbuf, errlen, path, "storing the secret: ", err) : RDV_OK;
}

/* The counter's high-water mark as stored (0 when absent or malformed: the records' own
 * counters then decide). */
static int ldb_read_counter(struct ldb_store *s, const char *path, uint64_t *mark, char *errbuf, size_t errlen)
{
    char *err = NULL;
    size_t vl = 0;
    char *v = leveldb_get(s->db, s->ro, LDB_COUNTER_KEY, sizeof(LDB_COUNTER_KEY) - 1, &vl, &err);
    if (err)
        return open_failed(errbuf, errlen, path, "reading the counter: ", err);
    *mark = v && vl == 8 ? rdv_get_be64((const uint8_t *)v) : 0;
    leveldb_free(v);
    return RDV_OK;
}

/* ---- open: load the index -------------------------------------------------------------- */

/* A live record found by the scan, kept until all are known: the index takes them in counter
 * order (its ordered logs need it), which is not key order. */
struct load_rec {
    uint8_t *key;
    size_t kl;
    struct rdv_index_meta m;
};

struct load_state {
    struct load_rec *recs;
    size_t n, cap;
    uint64_t max_counter; /* over every record seen, expired ones included */
    size_t expired, malformed;
    int64_t now;
    leveldb_writebatch_t *dead;
};

static int load_keep(struct load_state *st, const uint8_t *k, size_t kl, const struct ldb_value *d)
{
    if (st->n == st->cap) {
        size_t ncap = st->cap ? st->cap * 2 : 1024;
        struct load_rec *p = ncap <= SIZE_MAX / sizeof(*p) ? realloc(st->recs, ncap * sizeof(*p)) : NULL;
        if (!p)
            return RDV_ERR_NOMEM;
        st->recs = p;
        st->cap = ncap;
    }
    uint8_t *copy = malloc(kl);
    if (!copy)
        return RDV_ERR_NOMEM;
    memcpy(copy, k, kl);
    st->recs[st->n++] = (struct load_rec){
        .key = copy, .kl = kl,
        .m = {.envelope_len = (uint32_t)d->envelope_len, .seq = d->seq, .counter = d->counter, .dialect = d->dialect, .registered_ms = d->registered_ms,
              .expires_ms = d->expires_ms},
    };
    return RDV_OK;
}

/* Files one scanned record: kept, into the delete batch (expired) or the malformed count. */
static int load_one(struct load_state *st, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    uint8_t kind;
    size_t ns_len;
    struct rdv_peerid peer;
    struct ldb_value d;
    if (!key_parse(k, kl, &kind, &ns_len, &peer) || !value_parse(v, vl, &d)) {
        st->malformed++;
        return RDV_OK;
    }
    if (d.counter > st->max_counter)
        st->max_counter = d.counter;
    if (d.expires_ms <= st->now) {
        leveldb_writebatch_delete(st->dead, (const char *)k, kl);
        st->expired++;
        return RDV_OK;
    }
    return load_keep(st, k, kl, &d);
}

/* By counter; equal counters (only a damaged database has them) by key, so the order is total. */
static int load_rec_cmp(const void *a, const void *b)
{
    const struct load_rec *x = a, *y = b;
    if (x->m.counter != y->m.counter)
        return x->m.counter < y->m.counter ? -1 : 1;
    return rdv_index_bytes_cmp(x->key, x->kl, y->key, y->kl);
}

static int load_insert(struct ldb_store *s, struct load_state *st)
{
    if (st->n) /* qsort wants a non-NULL base even for 0 elements */
        qsort(st->recs, st->n, sizeof(*st->recs), load_rec_cmp);
    for (size_t i = 0; i < st->n; i++) {
        uint8_t kind;
        size_t ns_len;
        struct rdv_peerid peer;
        if (!key_parse(st->recs[i].key, st->recs[i].kl, &kind, &ns_len, &peer))
            continue; /* cannot happen: it parsed in load_one */
        struct rdv_index_key key = {.kind = kind, .ns = st->recs[i].key + 2, .ns_len = ns_len, .peer = &peer};
        int rc = rdv_index_insert(s->ix, &key, &st->recs[i].m, NULL);
        if (rc)
            return rc;
    }
    return RDV_OK;
}

static void load_state_free(struct load_state *st)
{
    for (size_t i = 0; i < st->n; i++)
        free(st->recs[i].key);
    free(st->recs);
    leveldb_writebatch_destroy(st->dead);
}

/* Scans the record keys (0x02 ...), then files the live ones into the index in counter order and
 * resumes the counter after the highest ever handed out. */
static int ldb_scan(struct ldb_store *s, struct load_state *st, char **err)
{
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ro);
    int rc = RDV_OK;
    const char tag = LDB_KEY_TAG;
    for (leveldb_iter_seek(it, &tag, 1); rc == RDV_OK && leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t kl, vl;
        const char *k = leveldb_iter_key(it, &kl), *v = leveldb_iter_value(it, &vl);
        if (kl == 0 || k[0] != tag)
            break;
        rc = load_one(st, (const uint8_t *)k, kl, (const uint8_t *)v, vl);
    }
    leveldb_iter_get_error(it, err);
    leveldb_iter_destroy(it);
    return rc;
}

static int ldb_load(struct ldb_store *s, const char *path, char *errbuf, size_t errlen)
{
    uint64_t mark;
    int rc = ldb_read_counter(s, path, &mark, errbuf, errlen);
    if (rc)
        return rc;
    struct load_state st = {.now = ldb_now(s), .dead = leveldb_writebatch_create()};
    char *err = NULL;
    rc = ldb_scan(s, &st, &err);
    if (!err && rc == RDV_OK)
        rc = load_insert(s, &st);
    uint64_t counter = st.max_counter > mark ? st.max_counter : mark;
    rdv_index_raise_counter(s->ix, counter);
    if (!err && rc == RDV_OK && st.expired) {
        counter_mark(st.dead, counter);
        leveldb_write(s->db, s->wo, st.dead, &err);
    }
    size_t live = st.n, expired = st.expired, malformed = st.malformed;
    load_state_free(&st);
    if (err)
        return open_failed(errbuf, errlen, path, "loading: ", err);
    if (rc) {
        snprintf(errbuf, errlen, "leveldb %s: loading: %s", path, rdv_strerror(rc));
        return rc;
    }
    rdv_info(s->log, "leveldb store %s: %zu live registrations loaded, %zu expired deleted, counter at %llu", path,
             live, expired, (unsigned long long)counter);
    if (malformed)
        rdv_warn(s->log, "leveldb store %s: %zu malformed records ignored", path, malformed);
    return RDV_OK;
}

/* Everything open does once LevelDB has the directory. */
static int ldb_prepare(struct ldb_store *s, const char *path, char *errbuf, size_t errlen)
{
    long version;
    int rc = ldb_read_format(s, path, &version, errbuf, errlen);
    if (rc == RDV_OK && version == 0)
        rc = ldb_create(s, path, errbuf, errlen);
    else if (rc == RDV_OK && version == 1)
        rc = ldb_migrate_v1(s, path, errbuf, errlen);
    if (rc == RDV_OK)
        rc = ldb_load_secret(s, path, errbuf, errlen);
    if (rc == RDV_OK)
        rc = ldb_load(s, path, errbuf, errlen);
    return rc;
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
    s->wo_sync = leveldb_writeoptions_create();
    leveldb_options_set_create_if_missing(s->opts, 1);
    leveldb_writeoptions_set_sync(s->wo, 0);
    leveldb_writeoptions_set_sync(s->wo_sync, 1);
    char *err = NULL;
    s->db = leveldb_open(s->opts, path, &err);
    if (err) {
        snprintf(errbuf, errlen, "leveldb %s: %s", path, err);
        leveldb_free(err);
        ldb_free(s);
        return RDV_ERR_IO;
    }
    int rc = ldb_prepare(s, path, errbuf, errlen);
    if (rc) {
        ldb_free(s);
        return rc;
    }
    *out = &s->base;
    return RDV_OK;
}
