/* embed.c: a rendezvous point inside a program, with storage of the program's own: an ordered
 * in-memory map (a sorted array), plugged in through the three calls of struct rendezvous_kv
 * (put, delete, iterate from a prefix), the way the seed's server takes any key-value store.
 * Swap the map for LevelDB, LMDB or SQLite and the registrations survive restarts: built with
 * -DWITH_LEVELDB, `--leveldb DIR` keeps them in LevelDB through the same three calls.
 *
 * Uses only the installed library (and, for --leveldb, Debian's libleveldb-dev):
 *   cc -o embed embed.c $(pkg-config --cflags --libs rendezvous-server)
 *   cc -DWITH_LEVELDB -o embed embed.c $(pkg-config --cflags --libs rendezvous-server) -lleveldb
 *   ./embed --listen /ip4/127.0.0.1/tcp/4040 [--key point.key] [--protocols std,waku0] [--leveldb DIR]
 *
 * Prints each listen address (with /p2p/<id>) on a line of its own, then, on SIGINT or SIGTERM,
 * what it served and what its map holds:
 *   served registers=3 discovers=5 unregisters=1 refused=0 pairs=4 bytes=1234
 * and exits 0. */
#define _POSIX_C_SOURCE 200809L
#include <ev.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rendezvous/point.h>
#ifdef WITH_LEVELDB
#include <leveldb/c.h>
#endif

/* ---- the application's map: pairs sorted by key bytes ------------------------------------- */

struct pair {
    void *key, *value;
    size_t key_len, value_len;
};

struct map {
    struct pair *pairs;
    size_t n, cap;
};

static int key_cmp(const void *a, size_t an, const void *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

/* The first index whose key is >= key. */
static size_t map_lower(const struct map *m, const void *key, size_t len)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (key_cmp(m->pairs[mid].key, m->pairs[mid].key_len, key, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int map_del(void *ctx, const void *key, size_t len)
{
    struct map *m = ctx;
    size_t i = map_lower(m, key, len);
    if (i == m->n || key_cmp(m->pairs[i].key, m->pairs[i].key_len, key, len) != 0)
        return 0;
    free(m->pairs[i].key);
    free(m->pairs[i].value);
    memmove(&m->pairs[i], &m->pairs[i + 1], (m->n - i - 1) * sizeof(m->pairs[0]));
    m->n--;
    return 0;
}

static int map_put(void *ctx, const void *key, size_t len, const void *value, size_t vlen)
{
    struct map *m = ctx;
    struct pair p = {malloc(len), malloc(vlen ? vlen : 1), len, vlen};
    if (!p.key || !p.value) {
        free(p.key);
        free(p.value);
        return -1;
    }
    memcpy(p.key, key, len);
    memcpy(p.value, value, vlen);
    map_del(m, key, len);
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 64;
        struct pair *np = realloc(m->pairs, cap * sizeof(*np));
        if (!np) {
            free(p.key);
            free(p.value);
            return -1;
        }
        m->pairs = np;
        m->cap = cap;
    }
    size_t i = map_lower(m, key, len);
    memmove(&m->pairs[i + 1], &m->pairs[i], (m->n - i) * sizeof(m->pairs[0]));
    m->pairs[i] = p;
    m->n++;
    return 0;
}

static int map_iterate(void *ctx, const void *prefix, size_t len, rendezvous_kv_visit_fn visit, void *arg)
{
    struct map *m = ctx;
    for (size_t i = map_lower(m, prefix, len); i < m->n; i++) {
        const struct pair *p = &m->pairs[i];
        if (p->key_len < len || memcmp(p->key, prefix, len) != 0 || visit(arg, p->key, p->key_len, p->value,
                                                                          p->value_len))
            break;
    }
    return 0;
}

static void map_close(void *ctx)
{
    struct map *m = ctx;
    for (size_t i = 0; i < m->n; i++) {
        free(m->pairs[i].key);
        free(m->pairs[i].value);
    }
    free(m->pairs);
    m->n = m->cap = 0;
}

#ifdef WITH_LEVELDB
/* ---- or LevelDB: the same three calls --------------------------------------------------------- */

static int ldb_put(void *ctx, const void *key, size_t len, const void *value, size_t vlen)
{
    char *err = NULL;
    leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(wo, 1); /* answered OK means on disk */
    leveldb_put(ctx, wo, key, len, value, vlen, &err);
    leveldb_writeoptions_destroy(wo);
    leveldb_free(err);
    return err ? -1 : 0;
}

static int ldb_del(void *ctx, const void *key, size_t len)
{
    char *err = NULL;
    leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
    leveldb_delete(ctx, wo, key, len, &err);
    leveldb_writeoptions_destroy(wo);
    leveldb_free(err);
    return err ? -1 : 0;
}

static int ldb_iterate(void *ctx, const void *prefix, size_t len, rendezvous_kv_visit_fn visit, void *arg)
{
    leveldb_readoptions_t *ro = leveldb_readoptions_create();
    leveldb_iterator_t *it = leveldb_create_iterator(ctx, ro);
    for (leveldb_iter_seek(it, prefix, len); leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t kl, vl;
        const char *k = leveldb_iter_key(it, &kl), *v = leveldb_iter_value(it, &vl);
        if (kl < len || memcmp(k, prefix, len) != 0 || visit(arg, k, kl, v, vl))
            break;
    }
    leveldb_iter_destroy(it);
    leveldb_readoptions_destroy(ro);
    return 0;
}

static void ldb_close(void *ctx) { leveldb_close(ctx); }

/* The database at dir (made if missing) as a struct rendezvous_kv; 0 or -1 with a message. */
static int ldb_kv(const char *dir, struct rendezvous_kv *kv)
{
    char *err = NULL;
    leveldb_options_t *o = leveldb_options_create();
    leveldb_options_set_create_if_missing(o, 1);
    leveldb_t *db = leveldb_open(o, dir, &err);
    leveldb_options_destroy(o);
    if (!db) {
        fprintf(stderr, "embed: leveldb %s: %s\n", dir, err ? err : "cannot open");
        leveldb_free(err);
        return -1;
    }
    *kv = (struct rendezvous_kv){.size = sizeof(*kv), .ctx = db, .put = ldb_put, .del = ldb_del,
                                 .iterate = ldb_iterate, .close = ldb_close};
    return 0;
}
#endif

/* ---- the point ------------------------------------------------------------------------------ */

struct app {
    struct ev_loop *loop;
    struct map map;
    struct rendezvous_server *point;
    ev_signal sigint, sigterm;
};

static void report(const struct app *a)
{
    struct rendezvous_server_counters k = {.size = sizeof(k)};
    rendezvous_server_counters(a->point, &k);
    uint64_t reg = 0, disc = 0, unreg = 0, refused = 0, bytes = 0;
    for (int i = 0; i < 4; i++) {
        reg += k.registers_ok[i];
        disc += k.discovers_ok[i];
        unreg += k.unregisters[i];
        refused += k.registers_refused[i] + k.discovers_refused[i];
    }
    for (size_t i = 0; i < a->map.n; i++) /* with --leveldb the map stays empty: LevelDB holds them */
        bytes += a->map.pairs[i].key_len + a->map.pairs[i].value_len;
    printf("served registers=%llu discovers=%llu unregisters=%llu refused=%llu pairs=%zu bytes=%llu\n",
           (unsigned long long)reg, (unsigned long long)disc, (unsigned long long)unreg,
           (unsigned long long)refused, a->map.n, (unsigned long long)bytes);
    fflush(stdout);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    report(w->data);
    ev_break(loop, EVBREAK_ALL);
}

/* Applies the command line to the point; 0 or an error. */
static int configure(struct app *a, int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'}, {"key", required_argument, NULL, 'k'},
        {"protocols", required_argument, NULL, 'p'}, {"leveldb", required_argument, NULL, 'd'}, {NULL, 0, NULL, 0}};
    int c, err = 0;
    while (!err && (c = getopt_long(argc, argv, "l:k:p:d:", opts, NULL)) != -1) {
        if (c == 'd')
            continue; /* the store: taken before the point is made (store_of) */
        if (c == 'l')
            err = rendezvous_server_add_listen(a->point, optarg);
        else if (c == 'k')
            err = rendezvous_server_set_key_file(a->point, optarg);
        else if (c == 'p')
            for (char *save = NULL, *t = strtok_r(optarg, ",", &save); t && !err; t = strtok_r(NULL, ",", &save))
                err = rendezvous_server_enable_dialect(a->point, t);
        else
            err = RENDEZVOUS_ERR_INVALID;
    }
    return err;
}

/* The key-value store the point keeps its records in: the map, or LevelDB at --leveldb DIR. */
static int store_of(struct app *a, int argc, char **argv, struct rendezvous_kv *kv)
{
    *kv = (struct rendezvous_kv){.size = sizeof(*kv), .ctx = &a->map, .put = map_put, .del = map_del,
                                 .iterate = map_iterate, .close = map_close};
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--leveldb") == 0) {
#ifdef WITH_LEVELDB
            return ldb_kv(argv[i + 1], kv);
#else
            fprintf(stderr, "embed: built without LevelDB (cc -DWITH_LEVELDB ... -lleveldb)\n");
            return -1;
#endif
        }
    return 0;
}

int main(int argc, char **argv)
{
    struct app a = {.loop = EV_DEFAULT};
    signal(SIGPIPE, SIG_IGN);
    struct rendezvous_kv kv;
    if (store_of(&a, argc, argv, &kv))
        return 1;
    struct rendezvous_store *store;
    int err = rendezvous_store_kv_new(&kv, &store);
    if (!err)
        err = rendezvous_server_new(a.loop, store, &a.point); /* owns the store from here */
    if (!err)
        err = rendezvous_server_set_log(a.point, stderr, 1);
    if (!err)
        err = configure(&a, argc, argv);
    if (!err)
        err = rendezvous_server_start(a.point);
    if (err) {
        fprintf(stderr, "embed: %s\n", rendezvous_server_strerror(err));
        rendezvous_server_free(a.point);
        return 1;
    }
    char addr[256];
    for (size_t i = 0; rendezvous_server_addr(a.point, i, addr, sizeof(addr)) > 0; i++)
        printf("%s\n", addr);
    fflush(stdout);
    ev_signal_init(&a.sigint, on_signal, SIGINT);
    ev_signal_init(&a.sigterm, on_signal, SIGTERM);
    a.sigint.data = a.sigterm.data = &a;
    ev_signal_start(a.loop, &a.sigint);
    ev_signal_start(a.loop, &a.sigterm);
    ev_run(a.loop, 0);
    rendezvous_server_free(a.point); /* closes the store, which closes the map */
    return 0;
}
