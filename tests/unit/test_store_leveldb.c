/* test_store_leveldb.c: the LevelDB store: the store contract, then what only a disk store has:
 * the key layout (`0x02 kind ns 0x00 peer_id`, read back with LevelDB itself), persistence across
 * close/reopen (records, seq, expiry, per-peer counts), expired records deleted at open, a
 * directory held by another store, foreign and malformed data, NUL in namespaces, 10^5 records
 * reloaded, and opening through rdv_store_open("leveldb:..."); the migration of a format-1 database
 * written by hand, counters and the secret across reopen, and newer formats refused. */
#include <errno.h>
#include <ftw.h>
#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/leveldb.h"
#include "store/open.h"
#include "store_contract.h"
#include "tap.h"
#include "util/err.h"

#define T0 1700000000000LL

struct tclock { int64_t now; };

static int64_t tclock_now(void *ctx) { return ((struct tclock *)ctx)->now; }

static bool contract_ok(bool cond, const char *name)
{
    return ok(cond, "%s", name);
}

/* ---- temporary directories ------------------------------------------------------------- */

struct dirs {
    char base[256];
    unsigned next;
};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void dirs_init(struct dirs *d)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(d->base, sizeof(d->base), "%s/rdv-leveldb-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(d->base)) {
        printf("Bail out! mkdtemp %s: %s\n", d->base, strerror(errno));
        exit(1);
    }
    d->next = 0;
}

/* A fresh path under the base directory (LevelDB creates it). */
static void dirs_new(struct dirs *d, char *out, size_t cap)
{
    snprintf(out, cap, "%s/db%u", d->base, d->next++);
}

static void dirs_cleanup(struct dirs *d)
{
    nftw(d->base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static struct rdv_store *make_leveldb(void *ctx, const struct rdv_clock *clock)
{
    char path[300], err[256];
    dirs_new(ctx, path, sizeof(path));
    struct rdv_store *s;
    if (rdv_store_leveldb_open(path, clock, NULL, &s, err, sizeof(err))) {
        printf("# %s\n", err);
        return NULL;
    }
    return s;
}

/* ---- synchronous wrappers -------------------------------------------------------------- */

struct result {
    enum rdv_store_status st;
    size_t n;
    struct rdv_store_record recs[8];
    uint8_t env[8][32];
    char ns[8][32];
    struct rdv_store_stats stats;
    uint64_t count;
    uint8_t secret[RDV_STORE_SECRET_LEN];
};

static void put_cb(void *arg, enum rdv_store_status st)
{
    ((struct result *)arg)->st = st;
}

static void disc_cb(void *arg, enum rdv_store_status st, const struct rdv_store_record *recs, size_t n)
{
    struct result *r = arg;
    r->st = st;
    r->n = n;
    for (size_t i = 0; i < n && i < 8; i++) {
        r->recs[i] = recs[i];
        size_t el = recs[i].envelope_len < 32 ? recs[i].envelope_len : 32;
        memcpy(r->env[i], recs[i].envelope, el); /* the copy: recs[i].envelope dies with the callback */
        r->recs[i].envelope = NULL;
        r->recs[i].envelope_len = el;
        size_t nl = recs[i].ns_len < 31 ? recs[i].ns_len : 31; /* and so does recs[i].ns */
        memcpy(r->ns[i], recs[i].ns, nl);
        r->ns[i][nl] = 0;
        r->recs[i].ns = NULL;
    }
}

static void unreg_cb(void *arg, enum rdv_store_status st, uint64_t count)
{
    struct result *r = arg;
    r->st = st;
    r->count = count;
}

static void secret_cb(void *arg, enum rdv_store_status st, const uint8_t *key)
{
    struct result *r = arg;
    r->st = st;
    if (key)
        memcpy(r->secret, key, RDV_STORE_SECRET_LEN);
}

static void stats_cb(void *arg, enum rdv_store_status st, const struct rdv_store_stats *s)
{
    struct result *r = arg;
    r->st = st;
    r->stats = *s;
}

static void count_cb(void *arg, enum rdv_store_status st, uint64_t count)
{
    *(uint64_t *)arg = st == RDV_STORE_OK ? count : UINT64_MAX;
}

static struct rdv_peerid mkpeer(unsigned i)
{
    struct rdv_peerid p;
    memset(&p, 0, sizeof(p));
    p.len = 38;
    p.bytes[1] = 0x24;
    p.bytes[5] = (uint8_t)i;
    return p;
}

static enum rdv_store_status put_ns(struct rdv_store *s, const char *ns, size_t ns_len, unsigned peer, uint64_t seq,
                                    const char *env, uint32_t ttl, uint32_t cap)
{
    struct rdv_peerid id = mkpeer(peer);
    struct rdv_store_put p = { .ns = ns, .ns_len = ns_len, .peer = &id, .seq = seq, .envelope = (const uint8_t *)env,
                               .envelope_len = strlen(env), .ttl_s = ttl, .max_per_peer = cap };
    struct result r = { .st = RDV_STORE_UNAVAILABLE };
    rdv_store_put(s, &p, put_cb, &r);
    return r.st;
}

static enum rdv_store_status put(struct rdv_store *s, const char *ns, unsigned peer, uint64_t seq, const char *env,
                                 uint32_t ttl, uint32_t cap)
{
    return put_ns(s, ns, strlen(ns), peer, seq, env, ttl, cap);
}

static struct result discover(struct rdv_store *s, const char *ns)
{
    struct result r = { .st = RDV_STORE_UNAVAILABLE };
    rdv_store_discover(s, ns, strlen(ns), 0, disc_cb, &r);
    return r;
}

/* An ordered discover of kind over every namespace, from the start. */
static struct result walk(struct rdv_store *s, uint8_t kind)
{
    struct result r = { .st = RDV_STORE_UNAVAILABLE };
    struct rdv_store_query q = { .kind = kind, .ordered = 1 };
    rdv_store_query(s, &q, disc_cb, &r);
    return r;
}

static struct result secret(struct rdv_store *s)
{
    struct result r = { .st = RDV_STORE_UNAVAILABLE };
    rdv_store_secret(s, secret_cb, &r);
    return r;
}

static struct rdv_store_stats stats(struct rdv_store *s)
{
    struct result r = { .st = RDV_STORE_UNAVAILABLE };
    rdv_store_stats(s, stats_cb, &r);
    return r.stats;
}

static struct rdv_store *open_at(const char *path, struct rdv_clock *clk)
{
    char err[256];
    struct rdv_store *s = NULL;
    if (rdv_store_leveldb_open(path, clk, NULL, &s, err, sizeof(err)))
        diag("open %s: %s", path, err);
    return s;
}

/* ---- LevelDB seen directly ------------------------------------------------------------- */

static leveldb_t *raw_open(const char *path, bool create)
{
    leveldb_options_t *o = leveldb_options_create();
    leveldb_options_set_create_if_missing(o, create);
    char *err = NULL;
    leveldb_t *db = leveldb_open(o, path, &err);
    leveldb_options_destroy(o);
    if (err) {
        diag("raw open %s: %s", path, err);
        leveldb_free(err);
    }
    return db;
}

static bool raw_has(leveldb_t *db, const void *key, size_t kl, size_t *vl)
{
    leveldb_readoptions_t *ro = leveldb_readoptions_create();
    char *err = NULL;
    char *v = leveldb_get(db, ro, key, kl, vl, &err);
    leveldb_readoptions_destroy(ro);
    leveldb_free(err);
    leveldb_free(v);
    return v != NULL;
}

static void raw_put(leveldb_t *db, const void *key, size_t kl, const void *val, size_t vl)
{
    leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
    char *err = NULL;
    leveldb_put(db, wo, key, kl, val, vl, &err);
    leveldb_writeoptions_destroy(wo);
    if (err)
        diag("raw put: %s", err);
    leveldb_free(err);
}

/* Format 1 (05fd471): `ns 0x00 peer_id`. */
static size_t record_key_v1(uint8_t *k, const char *ns, unsigned peer)
{
    struct rdv_peerid id = mkpeer(peer);
    size_t nl = strlen(ns);
    memcpy(k, ns, nl);
    k[nl] = 0;
    memcpy(k + nl + 1, id.bytes, id.len);
    return nl + 1 + id.len;
}

/* Format 2: `0x02 kind ns 0x00 peer_id`. */
static size_t record_key_kind(uint8_t *k, uint8_t kind, const char *ns, unsigned peer)
{
    k[0] = 0x02;
    k[1] = kind;
    return 2 + record_key_v1(k + 2, ns, peer);
}

static size_t record_key(uint8_t *k, const char *ns, unsigned peer)
{
    return record_key_kind(k, 0, ns, peer);
}

static void be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* A format-1 value exactly as 05fd471 wrote it: version 1, expires_ms, registered_ms, seq (big
 * endian), then the envelope. */
static size_t value_v1(uint8_t *v, int64_t expires, int64_t registered, uint64_t seq, const char *env)
{
    v[0] = 1;
    be64(v + 1, (uint64_t)expires);
    be64(v + 9, (uint64_t)registered);
    be64(v + 17, seq);
    memcpy(v + 25, env, strlen(env));
    return 25 + strlen(env);
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_persistence(struct dirs *d)
{
    char path[300];
    dirs_new(d, path, sizeof(path));
    struct tclock c = { T0 };
    struct rdv_clock clk = { tclock_now, &c };
    struct rdv_store *s = open_at(path, &clk);
    ok(s != NULL, "a new directory opens");
    if (!s)
        return;
    is_str(s->ops->kind, "leveldb", "kind is leveldb");
    is_int(put(s, "waku/a", 1, 5, "env-1-5", 10, 0), RDV_STORE_OK, "put (10 s)");
    is_int(put(s, "waku/a", 2, 3, "env-2-3", 60, 0), RDV_STORE_OK, "put (60 s)");
    is_int(put(s, "waku/b", 2, 4, "env-2-4", 60, 0), RDV_STORE_OK, "put the same peer elsewhere");
    is_int(put_ns(s, "a\0b", 3, 1, 1, "x", 60, 0), RDV_STORE_ERROR, "a namespace holding NUL is refused");
    rdv_store_close(s);

    leveldb_t *db = raw_open(path, false);
    uint8_t key[300];
    size_t vl = 0;
    ok(db && raw_has(db, key, record_key(key, "waku/a", 2), &vl), "on disk the key is 0x02 kind ns 0x00 peer_id");
    is_int(vl, 34 + 7, "the value is a 34-byte header and the envelope");
    if (db)
        leveldb_close(db);

    c.now = T0 + 5000;
    s = open_at(path, &clk);
    ok(s != NULL, "reopened");
    if (!s)
        return;
    struct rdv_store_stats st = stats(s);
    ok(st.registrations == 3 && st.namespaces == 2, "3 registrations in 2 namespaces came back");
    struct result r = discover(s, "waku/a");
    is_int(r.n, 2, "both records of waku/a");
    bool fields = r.n == 2;
    for (size_t i = 0; i < r.n && i < 2; i++) {
        bool one = r.recs[i].peer.bytes[5] == 1;
        fields = fields && r.recs[i].seq == (one ? 5u : 3u) && r.recs[i].ttl_left_ms == (one ? 5000 : 55000) &&
                 r.recs[i].registered_at_ms == T0 &&
                 r.recs[i].envelope_len == 7 && memcmp(r.env[i], one ? "env-1-5" : "env-2-3", 7) == 0;
    }
    if (!ok(fields, "seq, envelope, remaining TTL and registration time survive"))
        for (size_t i = 0; i < r.n && i < 2; i++)
            diag("peer %u seq %llu ttl_left %lld registered %lld env %zu", r.recs[i].peer.bytes[5],
                 (unsigned long long)r.recs[i].seq, (long long)r.recs[i].ttl_left_ms,
                 (long long)r.recs[i].registered_at_ms, r.recs[i].envelope_len);
    is_int(put(s, "waku/a", 1, 4, "older", 60, 0), RDV_STORE_STALE, "seq survives: a lower one is STALE");
    is_int(put(s, "waku/c", 2, 1, "x", 60, 2), RDV_STORE_LIMIT, "per-peer counts survive: LIMIT at cap 2");
    is_int(put(s, "waku/c", 3, 1, "x", 60, 2), RDV_STORE_OK, "another peer fits");
    rdv_store_close(s);

    c.now = T0 + 10000; /* waku/a's peer 1 expired while closed */
    s = open_at(path, &clk);
    st = stats(s);
    ok(st.registrations == 3 && st.namespaces == 3, "a record that expired while closed is not loaded");
    is_int(put(s, "waku/a", 1, 1, "new", 60, 0), RDV_STORE_OK, "its (ns, peer) takes a lower seq again");
    rdv_store_close(s);

    c.now = T0 + 66000; /* all but waku/a peer 1 (now until T0+70 s) expired */
    s = open_at(path, &clk);
    st = stats(s);
    ok(st.registrations == 1 && st.namespaces == 1, "at open only the live record is loaded");
    rdv_store_close(s);
    db = raw_open(path, false);
    ok(db && !raw_has(db, key, record_key(key, "waku/a", 2), &vl) &&
           !raw_has(db, key, record_key(key, "waku/c", 3), &vl) && raw_has(db, key, record_key(key, "waku/a", 1), &vl),
       "expired records were deleted from disk at open");
    if (db)
        leveldb_close(db);
}

static void test_expire_deletes(struct dirs *d)
{
    char path[300];
    dirs_new(d, path, sizeof(path));
    struct tclock c = { T0 };
    struct rdv_clock clk = { tclock_now, &c };
    struct rdv_store *s = open_at(path, &clk);
    if (!s)
        return;
    put(s, "e", 1, 1, "x", 1, 0);
    put(s, "e", 2, 1, "x", 100, 0);
    c.now += 1000;
    stats(s); /* any operation purges */
    rdv_store_close(s);
    leveldb_t *db = raw_open(path, false);
    uint8_t key[300];
    size_t vl;
    ok(db && !raw_has(db, key, record_key(key, "e", 1), &vl) && raw_has(db, key, record_key(key, "e", 2), &vl),
       "a purge deletes the expired record from disk and keeps the live one");
    if (db)
        leveldb_close(db);
}

static void test_refusals(struct dirs *d)
{
    char path[300], err[256];
    dirs_new(d, path, sizeof(path));
    struct rdv_store *s = open_at(path, NULL), *s2 = NULL;
    ok(s != NULL, "open with the system clock");
    int rc = rdv_store_leveldb_open(path, NULL, NULL, &s2, err, sizeof(err));
    is_int(rc, RDV_ERR_IO, "a second open of a held directory fails");
    ok(s2 == NULL && strstr(err, path) && strstr(err, "lock"), "naming the directory and the lock (%s)", err);
    rdv_store_close(s);

    rc = rdv_store_leveldb_open("", NULL, NULL, &s2, err, sizeof(err));
    is_int(rc, RDV_ERR_INVALID, "an empty path is refused");

    /* Another program's database: keys but no format key. */
    dirs_new(d, path, sizeof(path));
    leveldb_t *db = raw_open(path, true);
    raw_put(db, "hello", 5, "world", 5);
    leveldb_close(db);
    rc = rdv_store_leveldb_open(path, NULL, NULL, &s2, err, sizeof(err));
    is_int(rc, RDV_ERR_INVALID, "a foreign database is refused");
    ok(strstr(err, "not a rendezvousd store") != NULL, "saying so (%s)", err);

    /* Another layout version. */
    dirs_new(d, path, sizeof(path));
    db = raw_open(path, true);
    raw_put(db, "\0rdv-format", 11, "rendezvousd-leveldb-99", 22);
    leveldb_close(db);
    rc = rdv_store_leveldb_open(path, NULL, NULL, &s2, err, sizeof(err));
    is_int(rc, RDV_ERR_INVALID, "a newer format is refused");
    ok(strstr(err, "format 99") && strstr(err, "newer"), "saying which and why (%s)", err);
    db = raw_open(path, false);
    size_t vl;
    ok(db && !raw_has(db, "\0rdv-secret", 11, &vl), "and left untouched");
    if (db)
        leveldb_close(db);

    dirs_new(d, path, sizeof(path));
    db = raw_open(path, true);
    raw_put(db, "\0rdv-format", 11, "rendezvousd-leveldb-3", 21);
    leveldb_close(db);
    rc = rdv_store_leveldb_open(path, NULL, NULL, &s2, err, sizeof(err));
    ok(rc == RDV_ERR_INVALID && strstr(err, "format 3"), "format 3 (the next one) is refused too");

    dirs_new(d, path, sizeof(path));
    db = raw_open(path, true);
    raw_put(db, "\0rdv-format", 11, "something-else", 14);
    leveldb_close(db);
    rc = rdv_store_leveldb_open(path, NULL, NULL, &s2, err, sizeof(err));
    ok(rc == RDV_ERR_INVALID && strstr(err, "another layout"), "an unknown format name is another layout (%s)", err);

    dirs_new(d, path, sizeof(path));
    db = raw_open(path, true);
    raw_put(db, "\0rdv-format", 11, "rendezvousd-leveldb-2", 21);
    raw_put(db, "\0rdv-secret", 11, "short", 5);
    leveldb_close(db);
    rc = rdv_store_leveldb_open(path, NULL, NULL, &s2, err, sizeof(err));
    ok(rc == RDV_ERR_INVALID && strstr(err, "secret"), "a secret of the wrong size is refused (%s)", err);

    rc = rdv_store_leveldb_open("/proc/no/such/dir", NULL, NULL, &s2, err, sizeof(err));
    is_int(rc, RDV_ERR_IO, "an unusable path fails with IO");
}

static void test_malformed(struct dirs *d)
{
    char path[300];
    dirs_new(d, path, sizeof(path));
    struct tclock c = { T0 };
    struct rdv_clock clk = { tclock_now, &c };
    struct rdv_store *s = open_at(path, &clk);
    if (!s)
        return;
    put(s, "good", 1, 1, "fine", 60, 0);
    rdv_store_close(s);
    leveldb_t *db = raw_open(path, false);
    uint8_t key[300];
    raw_put(db, key, record_key(key, "bad", 1), "\x01short", 6);        /* value too short */
    raw_put(db, key, record_key(key, "bad", 2), "\x09" "0123456789012345678901234567", 29); /* version 9 */
    raw_put(db, "nosep", 5, "x", 1);                                    /* no separator */
    raw_put(db, "x\0", 2, "x", 1);                                      /* empty peer id */
    raw_put(db, "\x02\x00nosep", 7, "x", 1);                          /* format 2, no separator */
    raw_put(db, key, record_key_kind(key, 9, "bad", 3), "x", 1);       /* kind out of range */
    uint8_t v2[40] = { 2 };                                              /* counter 0, dialect 0 */
    raw_put(db, key, record_key(key, "bad", 4), v2, sizeof(v2));
    leveldb_close(db);
    s = open_at(path, &clk);
    ok(s != NULL, "malformed records do not stop the open");
    if (!s)
        return;
    struct rdv_store_stats st = stats(s);
    ok(st.registrations == 1 && st.namespaces == 1, "they are ignored; the good record is there");
    is_int(discover(s, "bad").n, 0, "discover never returns them");
    is_int(discover(s, "good").n, 1, "the good one is found");
    rdv_store_close(s);
}

static void test_bulk_reload(struct dirs *d)
{
    char path[300];
    dirs_new(d, path, sizeof(path));
    struct tclock c = { T0 };
    struct rdv_clock clk = { tclock_now, &c };
    struct rdv_store *s = open_at(path, &clk);
    if (!s)
        return;
    bool all = true;
    char ns[32];
    for (unsigned i = 0; i < 100000; i++) {
        snprintf(ns, sizeof(ns), "bulk/%u", i / 1000);
        struct rdv_peerid id = mkpeer(0);
        id.bytes[2] = (uint8_t)(i >> 16);
        id.bytes[3] = (uint8_t)(i >> 8);
        id.bytes[4] = (uint8_t)i;
        struct rdv_store_put p = { .ns = ns, .ns_len = strlen(ns), .peer = &id, .seq = 1,
                                   .envelope = (const uint8_t *)"bulk", .envelope_len = 4,
                                   .ttl_s = 1 + i % 100 };
        struct result r = { .st = RDV_STORE_UNAVAILABLE };
        rdv_store_put(s, &p, put_cb, &r);
        all = all && r.st == RDV_STORE_OK;
    }
    ok(all, "10^5 puts OK");
    rdv_store_close(s);
    c.now = T0 + 50000; /* records with TTL 1..50 s expired: half */
    s = open_at(path, &clk);
    struct rdv_store_stats st = stats(s);
    ok(st.registrations == 50000 && st.namespaces == 100, "reopened at 50 s: 5*10^4 live in 100 namespaces (%llu)",
       (unsigned long long)st.registrations);
    c.now = T0 + 100000;
    uint64_t count = 0;
    rdv_store_expire(s, count_cb, &count);
    is_int(count, 50000, "at 100 s expire() drops the other half");
    rdv_store_close(s);
    s = open_at(path, &clk);
    ok(s && stats(s).registrations == 0, "and they are gone from disk");
    rdv_store_close(s);
}

/* The value stored under key, copied into out (at most cap bytes); its length, or -1 if absent. */
static long raw_get(leveldb_t *db, const void *key, size_t kl, void *out, size_t cap)
{
    leveldb_readoptions_t *ro = leveldb_readoptions_create();
    char *err = NULL;
    size_t vl = 0;
    char *v = leveldb_get(db, ro, key, kl, &vl, &err);
    leveldb_readoptions_destroy(ro);
    leveldb_free(err);
    if (!v)
        return -1;
    memcpy(out, v, vl < cap ? vl : cap);
    leveldb_free(v);
    return (long)vl;
}

/* Writes a format-1 database by hand, as 05fd471 did: the format key and `ns 0x00 peer` records. */
static void write_v1(const char *path)
{
    leveldb_t *db = raw_open(path, true);
    uint8_t key[300], val[64];
    raw_put(db, "\0rdv-format", 11, "rendezvousd-leveldb-1", 21);
    raw_put(db, key, record_key_v1(key, "m/a", 1), val, value_v1(val, T0 + 60000, T0 - 1000, 5, "env-a-1"));
    raw_put(db, key, record_key_v1(key, "m/a", 2), val, value_v1(val, T0 + 30000, T0 - 2000, 7, "env-a-2"));
    raw_put(db, key, record_key_v1(key, "m/b", 1), val, value_v1(val, T0 + 90000, T0 - 3000, 1, "env-b-1"));
    raw_put(db, key, record_key_v1(key, "m/a", 3), val, value_v1(val, T0 - 1, T0 - 9000, 1, "expired"));
    /* A namespace starting with byte 0x02, the tag of format-2 keys. */
    raw_put(db, key, record_key_v1(key, "\x02x", 4), val, value_v1(val, T0 + 20000, T0 - 4000, 2, "env-x-4"));
    raw_put(db, key, record_key_v1(key, "m/c", 5), "\x01short", 6); /* malformed */
    leveldb_close(db);
}

/* The migrated records, first in a walk in counter order: counters 1..4 in format-1 key order. */
static void check_migrated_walk(struct rdv_store *s, const char *when)
{
    struct result r = walk(s, 0);
    static const char *const ns[4] = { "\x02x", "m/a", "m/a", "m/b" };
    static const unsigned peer[4] = { 4, 1, 2, 1 };
    static const uint64_t seq[4] = { 2, 5, 7, 1 };
    bool good = r.st == RDV_STORE_OK && r.n >= 4; /* then what was put since */
    for (size_t i = 0; good && i < 4; i++)
        good = strcmp(r.ns[i], ns[i]) == 0 && r.recs[i].peer.bytes[5] == peer[i] && r.recs[i].counter == i + 1 &&
               r.recs[i].seq == seq[i] && r.recs[i].kind == 0 && r.recs[i].dialect == 0;
    if (!ok(good, "%s: the 4 live records, counters 1..4 in key order, kind 0, dialect 0, their seq", when))
        for (size_t i = 0; i < r.n && i < 8; i++)
            diag("%s peer %u counter %llu seq %llu", r.ns[i], r.recs[i].peer.bytes[5],
                 (unsigned long long)r.recs[i].counter, (unsigned long long)r.recs[i].seq);
}

static void check_migrated_disk(const char *path)
{
    leveldb_t *db = raw_open(path, false);
    uint8_t key[300], buf[64];
    size_t vl;
    ok(db && raw_get(db, "\0rdv-format", 11, buf, sizeof(buf)) == 21 && memcmp(buf, "rendezvousd-leveldb-2", 21) == 0,
       "migration: the format key names format 2");
    ok(db && !raw_has(db, key, record_key_v1(key, "m/a", 1), &vl) && !raw_has(db, key, record_key_v1(key, "m/b", 1), &vl) &&
           !raw_has(db, key, record_key_v1(key, "m/c", 5), &vl) && !raw_has(db, key, record_key_v1(key, "\x02x", 4), &vl),
       "migration: the format-1 keys are gone (malformed ones too)");
    ok(db && raw_get(db, key, record_key(key, "m/a", 1), buf, sizeof(buf)) == 34 + 7 && buf[0] == 2 &&
           raw_has(db, key, record_key(key, "\x02x", 4), &vl) && !raw_has(db, key, record_key(key, "m/a", 3), &vl),
       "migration: live records under format-2 keys with format-2 values; the expired one dropped");
    ok(db && raw_get(db, "\0rdv-secret", 11, buf, sizeof(buf)) == RDV_STORE_SECRET_LEN, "migration: a secret is stored");
    if (db)
        leveldb_close(db);
}

static void test_migration(struct dirs *d)
{
    char path[300];
    dirs_new(d, path, sizeof(path));
    write_v1(path);
    struct tclock c = { T0 };
    struct rdv_clock clk = { tclock_now, &c };
    struct rdv_store *s = open_at(path, &clk);
    ok(s != NULL, "migration: a format-1 database opens");
    if (!s)
        return;
    struct rdv_store_stats st = stats(s);
    ok(st.registrations == 4 && st.namespaces == 3 && st.by_dialect[0] == 4, "migration: 4 live records in 3 namespaces");
    struct result r = discover(s, "m/a");
    bool fields = r.n == 2;
    for (size_t i = 0; fields && i < 2; i++) {
        bool one = r.recs[i].peer.bytes[5] == 1;
        fields = r.recs[i].seq == (one ? 5u : 7u) && r.recs[i].ttl_left_ms == (one ? 60000 : 30000) &&
                 r.recs[i].registered_at_ms == (one ? T0 - 1000 : T0 - 2000) && r.recs[i].envelope_len == 7 &&
                 memcmp(r.env[i], one ? "env-a-1" : "env-a-2", 7) == 0;
    }
    ok(fields, "migration: seq, envelope, expiry and registration time kept");
    check_migrated_walk(s, "migration");
    is_int(put(s, "m/a", 1, 4, "older", 60, 0), RDV_STORE_STALE, "migration: the seq still guards (STALE)");
    is_int(put(s, "m/d", 9, 1, "new", 60, 0), RDV_STORE_OK, "migration: a new put");
    r = walk(s, 0);
    ok(r.n == 5 && r.recs[4].counter == 5, "migration: takes counter 5");
    struct result sec = secret(s);
    rdv_store_close(s);
    check_migrated_disk(path);

    s = open_at(path, &clk);
    ok(s != NULL, "migration: the migrated database reopens (as format 2)");
    if (!s)
        return;
    check_migrated_walk(s, "migrated, reopened");
    struct result sec2 = secret(s);
    ok(sec.st == RDV_STORE_OK && sec2.st == RDV_STORE_OK && memcmp(sec.secret, sec2.secret, RDV_STORE_SECRET_LEN) == 0,
       "migrated, reopened: the same secret");
    rdv_store_close(s);
}

static enum rdv_store_status put_kd(struct rdv_store *s, const char *ns, unsigned peer, uint32_t ttl, uint8_t kind,
                                    uint8_t dialect)
{
    struct rdv_peerid id = mkpeer(peer);
    struct rdv_store_put p = { .ns = ns, .ns_len = strlen(ns), .peer = &id, .seq = 1,
                               .envelope = (const uint8_t *)"e", .envelope_len = 1, .ttl_s = ttl,
                               .kind = kind, .dialect = dialect };
    struct result r = { .st = RDV_STORE_UNAVAILABLE };
    rdv_store_put(s, &p, put_cb, &r);
    return r.st;
}

/* The counter resumes after every counter handed out, even when the records that had the highest
 * were unregistered or expired before the restart; the secret and kinds stay. */
static void test_reopen_counter(struct dirs *d)
{
    char path[300];
    dirs_new(d, path, sizeof(path));
    struct tclock c = { T0 };
    struct rdv_clock clk = { tclock_now, &c };
    struct rdv_store *s = open_at(path, &clk);
    if (!s)
        return;
    put_kd(s, "r/a", 1, 60, 0, 1);
    put_kd(s, "r/a", 2, 60, 2, 3);
    put_kd(s, "r/a", 3, 60, 0, 0);
    put_kd(s, "r/a", 4, 1, 0, 0);  /* counter 4, expires while closed */
    put_kd(s, "r/b", 5, 60, 0, 2); /* counter 5, unregistered */
    struct rdv_peerid p5 = mkpeer(5);
    struct result u = { .st = RDV_STORE_UNAVAILABLE };
    rdv_store_unregister(s, 0, "r/b", 3, &p5, unreg_cb, &u);
    ok(u.st == RDV_STORE_OK && u.count == 1, "reopen: unregistered the record with the highest counter");
    struct result sec = secret(s);
    rdv_store_close(s);

    c.now += 2000;
    s = open_at(path, &clk);
    if (!ok(s != NULL, "reopen: reopened"))
        return;
    struct result r = walk(s, 0);
    ok(r.n == 2 && r.recs[0].counter == 1 && r.recs[1].counter == 3 && r.recs[0].dialect == 1,
       "reopen: records come back with their counters and dialects");
    r = walk(s, 2);
    ok(r.n == 1 && r.recs[0].counter == 2 && r.recs[0].kind == 2 && r.recs[0].dialect == 3,
       "reopen: kind 2 keeps its record");
    is_int(put_kd(s, "r/a", 6, 60, 0, 0), RDV_STORE_OK, "reopen: a put");
    r = walk(s, 0);
    ok(r.n == 3 && r.recs[2].counter == 6, "reopen: takes counter 6, after the expired and unregistered ones (%llu)",
       (unsigned long long)(r.n == 3 ? r.recs[2].counter : 0));
    struct result sec2 = secret(s);
    ok(sec2.st == RDV_STORE_OK && memcmp(sec.secret, sec2.secret, RDV_STORE_SECRET_LEN) == 0,
       "reopen: the secret survives");
    rdv_store_close(s);

    /* A restart right after a purge that deleted the newest record. */
    s = open_at(path, &clk);
    put_kd(s, "r/c", 7, 1, 0, 0); /* counter 7 */
    c.now += 1000;
    stats(s);
    rdv_store_close(s);
    s = open_at(path, &clk);
    put_kd(s, "r/c", 8, 60, 0, 0);
    r = walk(s, 0);
    ok(r.n == 4 && r.recs[3].counter == 8, "reopen: after a purged newest record the counter still moves on");
    rdv_store_close(s);
}

int main(void)
{
    struct dirs d;
    dirs_init(&d);
    struct rdv_store_contract c = { .make = make_leveldb, .ctx = &d, .ok = contract_ok };
    rdv_store_contract_run("leveldb", &c);
    test_persistence(&d);
    test_expire_deletes(&d);
    test_refusals(&d);
    test_malformed(&d);
    test_bulk_reload(&d);
    test_migration(&d);
    test_reopen_counter(&d);
    dirs_cleanup(&d);
    return tap_done();
}
