/* test_store_pg.c: the PostgreSQL store against a real server ($RDV_PG_URL; tests/pg/pg-harness.sh
 * makes a throw-away cluster and runs this under it).
 *
 * Runs the whole store contract (store_contract.h) on the database clock, then what only a shared
 * database shows: --init-db's schema is idempotent; two stores (two front-ends) on one database
 * see each other's writes; the per-peer cap and the seq rule hold under concurrent puts from
 * both; the reaper lock has one holder and passes on when it closes. And the faults: a bad
 * connection string, a closed port, a server that accepts but never answers, a hung backend
 * (SIGSTOP) all answer UNAVAILABLE instead of hanging, and the store recovers; closing with
 * operations pending (even from inside a callback) answers each of them exactly once. And the schema: a version 1 database (tests/pg/schema-v1.sql) migrated in
 * place by init, init again a no-op; open refusing version 1, version 3 and no schema with the
 * operator's next step; a running front-end refused (one log line) when the schema changes under
 * it and served again after --init-db; the secret, unregister, ordered pages and per-dialect
 * stats across two front-ends. */
#include <arpa/inet.h>
#include <ev.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "store/pg_pool.h"
#include "store/open.h"
#include "store/postgres.h"
#include "store_contract.h"
#include "tap.h"
#include "util/err.h"
#include "util/log.h"

#define WAIT_CAP_S 15.0 /* a callback that has not come by then never will: fail, do not hang */

static struct ev_loop *loop;
static const char *url;
static PGconn *admin; /* blocking: test set-up only */
static struct rdv_log quiet = {.level = RDV_LOG_ERROR, .out = NULL}; /* RDV_TEST_LOG=debug for more */

static bool contract_ok(bool cond, const char *name) { return ok(cond, "%s", name); }

/* ---- blocking helpers for set-up ------------------------------------------------------------ */

static bool sql(const char *q)
{
    PGresult *r = PQexec(admin, q);
    bool good = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!good)
        diag("SQL failed: %s: %s", q, PQresultErrorMessage(r));
    PQclear(r);
    return good;
}

static long sql_count(const char *q)
{
    PGresult *r = PQexec(admin, q);
    long n = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? atol(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return n;
}

static void sleep_loop(double s)
{
    ev_sleep(s);
    ev_run(loop, EVRUN_NOWAIT);
}

/* Closed stores' sessions end a moment after PQfinish; the next store must not find the reaper
 * lock still held by one of them. */
static void wait_sessions_gone(void)
{
    static const char *q = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'rendezvousd'";
    for (int i = 0; i < 100 && sql_count(q); i++)
        ev_sleep(0.05);
}

static struct rdv_store *open_store(const char *conninfo, uint32_t timeout_ms, unsigned pool)
{
    struct rdv_store *s = NULL;
    char err[256];
    if (rdv_store_postgres_open(conninfo, timeout_ms, pool, loop, &quiet, &s, err, sizeof(err)))
        diag("open: %s", err);
    return s;
}

static struct rdv_store *make_pg(void *ctx, const struct rdv_clock *clock)
{
    (void)ctx;
    (void)clock; /* the database keeps time */
    wait_sessions_gone();
    if (!sql("TRUNCATE rdv_registrations"))
        return NULL;
    return open_store(url, 5000, 2);
}

/* ---- asynchronous calls, waited for ---------------------------------------------------------- */

struct res {
    int calls;
    enum rdv_store_status st;
    size_t n;
    uint64_t count;
    uint64_t seq[64];
    uint64_t counter[64];
    uint8_t kind[64], dialect[64];
    struct rdv_store_stats stats;
    uint8_t key[RDV_STORE_SECRET_LEN];
};

static void wake(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)revents;
    *(bool *)w->data = true;
    ev_break(l, EVBREAK_ONE);
}

/* Runs the loop until *calls reaches want (or the cap passes). */
static bool wait_calls(const int *calls, int want)
{
    bool over = false;
    ev_timer cap;
    ev_timer_init(&cap, wake, WAIT_CAP_S, 0.);
    cap.data = &over;
    ev_timer_start(loop, &cap);
    while (*calls < want && !over)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &cap);
    return *calls >= want;
}

static bool all_called(const struct res *rs, int n)
{
    for (int i = 0; i < n; i++)
        if (rs[i].calls < 1)
            return false;
    return true;
}

/* Waits until every one of n operations has called back. */
static void wait_all(const struct res *rs, int n)
{
    bool over = false;
    ev_timer cap;
    ev_timer_init(&cap, wake, WAIT_CAP_S, 0.);
    cap.data = &over;
    ev_timer_start(loop, &cap);
    while (!all_called(rs, n) && !over)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &cap);
}

static void on_put(void *arg, enum rdv_store_status st)
{
    struct res *r = arg;
    r->calls++;
    r->st = st;
}

static void on_disc(void *arg, enum rdv_store_status st, const struct rdv_store_record *recs, size_t n)
{
    struct res *r = arg;
    r->calls++;
    r->st = st;
    r->n = n;
    for (size_t i = 0; i < n && i < 64; i++) {
        r->seq[i] = recs[i].seq;
        r->counter[i] = recs[i].counter;
        r->kind[i] = recs[i].kind;
        r->dialect[i] = recs[i].dialect;
    }
}

static void on_stats(void *arg, enum rdv_store_status st, const struct rdv_store_stats *s)
{
    struct res *r = arg;
    r->calls++;
    r->st = st;
    r->stats = *s;
}

static void on_secret(void *arg, enum rdv_store_status st, const uint8_t *key)
{
    struct res *r = arg;
    r->calls++;
    r->st = st;
    if (key)
        memcpy(r->key, key, sizeof(r->key));
}

static void on_count(void *arg, enum rdv_store_status st, uint64_t count)
{
    struct res *r = arg;
    r->calls++;
    r->st = st;
    r->count = count;
}

static void on_health(void *arg, enum rdv_store_status st) { on_put(arg, st); }

static struct rdv_peerid peer_n(unsigned n)
{
    struct rdv_peerid p = {.len = 34};
    p.bytes[0] = 0x00;
    p.bytes[1] = 32;
    p.bytes[2] = (uint8_t)(n >> 8);
    p.bytes[3] = (uint8_t)n;
    return p;
}

static const uint8_t ENV[] = {1, 2, 3, 4};

static void put_async(struct rdv_store *s, const char *ns, const struct rdv_peerid *peer, uint64_t seq, uint32_t ttl,
                      uint32_t cap, struct res *r)
{
    struct rdv_store_put p = {.ns = ns, .ns_len = strlen(ns), .peer = peer, .seq = seq, .envelope = ENV,
                              .envelope_len = sizeof(ENV), .ttl_s = ttl, .max_per_peer = cap};
    rdv_store_put(s, &p, on_put, r);
}

static enum rdv_store_status put_wait(struct rdv_store *s, const char *ns, unsigned peer, uint64_t seq, uint32_t ttl)
{
    struct res r = {0};
    struct rdv_peerid id = peer_n(peer);
    put_async(s, ns, &id, seq, ttl, 0, &r);
    return wait_calls(&r.calls, 1) ? r.st : (enum rdv_store_status)-1;
}

static enum rdv_store_status put_kd_wait(struct rdv_store *s, const char *ns, unsigned peer, uint8_t kind,
                                         uint8_t dialect)
{
    struct res r = {0};
    struct rdv_peerid id = peer_n(peer);
    struct rdv_store_put p = {.ns = ns, .ns_len = strlen(ns), .peer = &id, .seq = 1, .envelope = ENV,
                              .envelope_len = sizeof(ENV), .ttl_s = 60, .kind = kind, .dialect = dialect};
    rdv_store_put(s, &p, on_put, &r);
    return wait_calls(&r.calls, 1) ? r.st : (enum rdv_store_status)-1;
}

/* An ordered discover of kind (ns NULL: every namespace) after a counter. */
static struct res ordered_wait(struct rdv_store *s, uint8_t kind, const char *ns, uint64_t after, uint32_t limit)
{
    struct res r = {0};
    struct rdv_store_query q = {.kind = kind, .ns = ns, .ns_len = ns ? strlen(ns) : 0, .limit = limit,
                                .ordered = 1, .after = after};
    rdv_store_query(s, &q, on_disc, &r);
    if (!wait_calls(&r.calls, 1))
        r.st = (enum rdv_store_status)-1;
    return r;
}

static struct res unregister_wait(struct rdv_store *s, uint8_t kind, const char *ns, unsigned peer)
{
    struct res r = {0};
    struct rdv_peerid id = peer_n(peer);
    rdv_store_unregister(s, kind, ns, strlen(ns), &id, on_count, &r);
    if (!wait_calls(&r.calls, 1))
        r.st = (enum rdv_store_status)-1;
    return r;
}

static struct res stats_wait(struct rdv_store *s)
{
    struct res r = {0};
    rdv_store_stats(s, on_stats, &r);
    if (!wait_calls(&r.calls, 1))
        r.st = (enum rdv_store_status)-1;
    return r;
}

static struct res secret_wait(struct rdv_store *s)
{
    struct res r = {0};
    rdv_store_secret(s, on_secret, &r);
    if (!wait_calls(&r.calls, 1))
        r.st = (enum rdv_store_status)-1;
    return r;
}

static struct res discover_wait(struct rdv_store *s, const char *ns)
{
    struct res r = {0};
    rdv_store_discover(s, ns, strlen(ns), 0, on_disc, &r);
    if (!wait_calls(&r.calls, 1))
        r.st = (enum rdv_store_status)-1;
    return r;
}

static struct res expire_wait(struct rdv_store *s)
{
    struct res r = {0};
    rdv_store_expire(s, on_count, &r);
    if (!wait_calls(&r.calls, 1))
        r.st = (enum rdv_store_status)-1;
    return r;
}

static enum rdv_store_status health_wait(struct rdv_store *s)
{
    struct res r = {0};
    rdv_store_health(s, on_health, &r);
    return wait_calls(&r.calls, 1) ? r.st : (enum rdv_store_status)-1;
}

/* Retries health until the store answers OK (it reconnects with backoff up to 5 s). */
static bool recovers(struct rdv_store *s)
{
    for (int i = 0; i < 100; i++) {
        if (health_wait(s) == RDV_STORE_OK)
            return true;
        sleep_loop(0.1);
    }
    return false;
}

/* ---- schema ------------------------------------------------------------------------------------ */

static void test_init(void)
{
    char err[512] = "";
    int rc = rdv_store_postgres_init(url, err, sizeof(err));
    if (!ok(rc == RDV_OK, "init applies the schema"))
        diag("%s", err);
    ok(rdv_store_postgres_init(url, err, sizeof(err)) == RDV_OK, "init again: idempotent");
    is_int(sql_count("SELECT count(*) FROM rdv_schema_version"), 1, "one schema version row");
    is_int(sql_count("SELECT max(version) FROM rdv_schema_version"), 2, "schema version 2");
    is_int(sql_count("SELECT octet_length(value) FROM rdv_meta WHERE key = 'cookie_secret'"), 32,
           "init made the 32-byte cookie secret");
    is_int(sql_count("SELECT count(*) FROM pg_indexes WHERE tablename = 'rdv_registrations'"), 5,
           "primary key + live (stats, reaper) + per-peer + two ordered-discovery indexes");
    is_int(sql_count("SELECT count(*) FROM pg_indexes WHERE indexname = 'rdv_registrations_expires_at'"), 0,
           "no redundant (expires_at) index: init drops it");
    ok(strstr(rdv_store_postgres_schema(), "CREATE TABLE IF NOT EXISTS rdv_registrations") != NULL,
       "the compiled-in schema is sql/schema.sql");
}

/* ---- two front-ends on one database ----------------------------------------------------------- */

static void test_two_stores(void)
{
    wait_sessions_gone();
    sql("TRUNCATE rdv_registrations");
    struct rdv_store *a = open_store(url, 5000, 2), *b = open_store(url, 5000, 3);
    is_int(put_wait(a, "two/x", 1, 5, 30), RDV_STORE_OK, "put through A");
    struct res r = discover_wait(b, "two/x");
    ok(r.st == RDV_STORE_OK && r.n == 1 && r.seq[0] == 5, "B discovers A's registration");
    is_int(put_wait(b, "two/x", 1, 4, 30), RDV_STORE_STALE, "B: a lower seq than A wrote is STALE");
    is_int(put_wait(b, "two/x", 1, UINT64_MAX, 30), RDV_STORE_OK, "B: seq 2^64-1 (beyond bigint) is stored");
    r = discover_wait(a, "two/x");
    ok(r.n == 1 && r.seq[0] == UINT64_MAX, "A reads seq 2^64-1 back");

    /* The cap is counted in SQL under a per-peer lock: 24 concurrent puts of one peer into 24
     * namespaces, split over both stores' pipelines (5 connections), may admit exactly 3. */
    struct res rs[24] = {{0}};
    struct rdv_peerid p = peer_n(77);
    char names[24][16];
    for (int i = 0; i < 24; i++) {
        snprintf(names[i], sizeof(names[i]), "cap/%d", i);
        put_async(i % 2 ? a : b, names[i], &p, 1, 30, 3, &rs[i]);
    }
    wait_all(rs, 24);
    int oks = 0, limits = 0;
    for (int i = 0; i < 24; i++) {
        oks += rs[i].calls == 1 && rs[i].st == RDV_STORE_OK;
        limits += rs[i].calls == 1 && rs[i].st == RDV_STORE_LIMIT;
    }
    ok(oks == 3 && limits == 21, "concurrent puts from two front-ends: exactly max_per_peer admitted (%d ok, %d limit)",
       oks, limits);
    is_int(sql_count("SELECT count(*) FROM rdv_registrations WHERE position('cap/'::bytea IN ns) = 1"), 3,
           "and exactly 3 rows hold that peer's cap/ namespaces");

    /* The seq rule under concurrency: the highest seq wins whatever order the puts commit in. */
    struct res sq[16] = {{0}};
    struct rdv_peerid q = peer_n(78);
    for (int i = 0; i < 16; i++)
        put_async(i % 2 ? a : b, "seq/race", &q, (uint64_t)(100 + (i * 7) % 16), 30, 0, &sq[i]);
    wait_all(sq, 16);
    r = discover_wait(a, "seq/race");
    ok(r.n == 1 && r.seq[0] == 115, "16 racing puts with seqs 100..115: 115 is kept (got %llu)",
       r.n ? (unsigned long long)r.seq[0] : 0ULL);
    rdv_store_close(a);
    rdv_store_close(b);
}

/* ---- the reaper lock --------------------------------------------------------------------------- */

static void test_reaper(void)
{
    wait_sessions_gone();
    sql("TRUNCATE rdv_registrations");
    struct rdv_store *a = open_store(url, 5000, 2), *b = open_store(url, 5000, 2);
    struct res ra = expire_wait(a);
    ok(ra.st == RDV_STORE_OK, "A's expire() runs (takes the reaper lease)");
    is_int(sql_count("SELECT count(*) FROM rdv_meta WHERE key = 'reaper'"), 1, "one lease row");
    is_int(sql_count("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"), 0,
           "no session lock is held (the lease works through transaction poolers)");
    for (unsigned i = 0; i < 5; i++)
        put_wait(b, "reap/x", i, 1, 1);
    sleep_loop(1.3);
    struct res d = discover_wait(b, "reap/x");
    ok(d.st == RDV_STORE_OK && d.n == 0, "expired rows are hidden before any reaper ran");
    is_int(sql_count("SELECT count(*) FROM rdv_registrations"), 5, "... and still in the table");
    struct res rb = expire_wait(b);
    ok(rb.st == RDV_STORE_OK && rb.count == 0, "B does not hold the lease: its expire() deletes nothing");
    is_int(sql_count("SELECT count(*) FROM rdv_registrations"), 5, "the rows are still there");
    rdv_store_close(a); /* it renews no more: its lease runs out (5 s) */
    uint64_t got = 0;
    for (int i = 0; i < 200 && !got; i++) {
        rb = expire_wait(b);
        got = rb.count;
        if (!got)
            sleep_loop(0.05);
    }
    is_int(got, 5, "after A closes and its lease runs out, B takes the lease over and sweeps the 5 expired rows");
    is_int(sql_count("SELECT count(*) FROM rdv_registrations"), 0, "the table is empty");
    rb = expire_wait(b);
    ok(rb.st == RDV_STORE_OK && rb.count == 0, "B keeps the lease: its next expire() runs (nothing to do)");

    /* More than one batch: 2500 rows expire, one expire() sweeps them batch by batch. */
    sql("INSERT INTO rdv_registrations (ns, peer_id, seq, envelope, registered_at, expires_at) "
        "SELECT 'bulk'::bytea, int4send(g), 1, '\\x01', now(), now() - interval '1 s' FROM generate_series(1, 2500) g");
    rb = expire_wait(b);
    is_int(rb.count, 2500, "2500 expired rows (3 batches of %d) swept by one expire()", RDV_PG_REAP_BATCH);
    rdv_store_close(b);
}

/* ---- faults ------------------------------------------------------------------------------------ */

static void test_bad_urls(void)
{
    struct rdv_store *s = NULL;
    char err[256] = "";
    int rc = rdv_store_postgres_open("postgresql://host:notaport:x/?bogus=1", 0, 0, loop, &quiet, &s, err, sizeof(err));
    ok(rc == RDV_ERR_INVALID && s == NULL && strstr(err, "connection string"), "a bad URL is refused at open (%s)",
       err);
    rc = rdv_store_postgres_open(url, 0, RDV_PG_MAX_POOL + 1, loop, &quiet, &s, err, sizeof(err));
    ok(rc == RDV_ERR_INVALID && s == NULL, "a pool beyond %d is refused", RDV_PG_MAX_POOL);
}

static void test_closed_port(void)
{
    /* a port nobody listens on: bind one, close it */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    char conninfo[128];
    snprintf(conninfo, sizeof(conninfo), "postgresql://x@127.0.0.1:%u/x?sslmode=disable", ntohs(sa.sin_port));
    struct rdv_store *s = open_store(conninfo, 500, 2);
    ok(s != NULL, "a store opens while its database is unreachable");
    is_int(put_wait(s, "down/x", 1, 1, 10), RDV_STORE_UNAVAILABLE, "unreachable: put answers UNAVAILABLE");
    is_int(discover_wait(s, "down/x").st, RDV_STORE_UNAVAILABLE, "unreachable: discover answers UNAVAILABLE");
    is_int(health_wait(s), RDV_STORE_UNAVAILABLE, "unreachable: health is UNAVAILABLE");
    is_int(expire_wait(s).st, RDV_STORE_UNAVAILABLE, "unreachable: expire reports UNAVAILABLE");
    rdv_store_close(s);
}

/* libpq closes its socket and opens a new one (likely with the same number) when the first host
 * refuses: the pool must keep watching the right socket. sslmode is left at its default (prefer),
 * so the server's refusal of SSL is on the way too. */
static void test_second_host(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    const char *port = getenv("RDV_PG_PORT");
    char conninfo[256];
    snprintf(conninfo, sizeof(conninfo), "postgresql://postgres@127.0.0.1:%u,127.0.0.1:%s/rdvtest", ntohs(sa.sin_port),
             port ? port : "5432");
    struct rdv_store *s = open_store(conninfo, 3000, 2);
    is_int(health_wait(s), RDV_STORE_OK, "two hosts, the first refusing: the store connects to the second");
    rdv_store_close(s);
}

/* The connection forms of libpq's parser, the pool's own host-by-host connecting (a first host
 * that accepts TCP but never answers costs one per-host deadline, then the second serves), the
 * masked log form, and --init-db refusing a store URL it cannot use. */
static unsigned free_port(int *keep_listening)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(fd, (struct sockaddr *)&sa, &len);
    if (keep_listening) {
        listen(fd, 16); /* the kernel completes handshakes; nobody ever answers */
        *keep_listening = fd;
    } else {
        close(fd);
    }
    return ntohs(sa.sin_port);
}

static void conninfo_serves(const char *conninfo, const char *name)
{
    struct rdv_store *s = open_store(conninfo, 3000, 2);
    ok(s && health_wait(s) == RDV_STORE_OK && put_wait(s, "form/x", 1, 1, 30) == RDV_STORE_OK, "%s", name);
    rdv_store_close(s);
}

static void test_conninfo_forms(void)
{
    const char *port = getenv("RDV_PG_PORT");
    char ci[512];
    snprintf(ci, sizeof(ci), "host=127.0.0.1 port=%s dbname=rdvtest user=postgres sslmode=disable", port);
    conninfo_serves(ci, "a key=value conninfo serves");
    snprintf(ci, sizeof(ci), "host=127.0.0.1,127.0.0.1 port=%u,%s dbname=rdvtest user=postgres "
             "target_session_attrs=read-write", free_port(NULL), port);
    conninfo_serves(ci, "multi-host key=value with target_session_attrs=read-write: the live host serves");
    int hung = -1;
    snprintf(ci, sizeof(ci), "host=127.0.0.1,127.0.0.1 port=%u,%s dbname=rdvtest user=postgres connect_timeout=2 "
             "sslmode=disable target_session_attrs=read-write", free_port(&hung), port);
    conninfo_serves(ci, "a first host that never answers costs its deadline, then the second host serves");
    close(hung);
    snprintf(ci, sizeof(ci), "postgresql://postgres:s3cret@127.0.0.1:%s/rdvtest?sslmode=disable", port);
    char masked[512];
    rdv_pg_conninfo_masked(ci, masked, sizeof(masked));
    ok(strstr(masked, "password=********") && !strstr(masked, "s3cret") && strstr(masked, "dbname=rdvtest"),
       "the logged conninfo masks the password (%s)", masked);
    snprintf(ci, sizeof(ci), "host=127.0.0.1 port=%s dbname=rdvtest user=postgres sslmode=disable", port);
    char err[256] = "";
    is_int(rdv_store_init(ci, err, sizeof(err)), RDV_OK, "init with a key=value conninfo applies the schema (%s)", err);
    ok(rdv_store_init("no-such-store", err, sizeof(err)) != RDV_OK && strstr(err, "unknown kind"),
       "init with a URL no backend takes fails (%s)", err);
    ok(rdv_store_init("host=127.0.0.1 port=notaport", err, sizeof(err)) != RDV_OK,
       "init with a conninfo libpq refuses fails (%s)", err);
}

static void test_silent_server(void)
{
    /* accepts TCP (the kernel's backlog) and never says a word */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    listen(fd, 16);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    char conninfo[128];
    snprintf(conninfo, sizeof(conninfo), "postgresql://x@127.0.0.1:%u/x?sslmode=disable&gssencmode=disable",
             ntohs(sa.sin_port));
    struct rdv_store *s = open_store(conninfo, 300, 2);
    is_int(put_wait(s, "silent/x", 1, 1, 10), RDV_STORE_UNAVAILABLE,
           "a server that never answers: put UNAVAILABLE at the deadline");
    is_int(discover_wait(s, "silent/x").st, RDV_STORE_UNAVAILABLE, "... and discover too");
    rdv_store_close(s);
    close(fd);
}

static void signal_backends(int sig)
{
    PGresult *r = PQexec(admin, "SELECT pid FROM pg_stat_activity WHERE application_name = 'rendezvousd'");
    for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++)
        kill((pid_t)atoi(PQgetvalue(r, i, 0)), sig);
    PQclear(r);
}

static void test_hung_backend(void)
{
    wait_sessions_gone();
    /* one connection: after the deadline resets it, nothing else could answer by accident */
    struct rdv_store *s = open_store(url, 400, 1);
    ok(recovers(s), "a fresh store answers");
    is_int(put_wait(s, "hung/x", 1, 1, 30), RDV_STORE_OK, "put before the hang");
    signal_backends(SIGSTOP);
    is_int(put_wait(s, "hung/x", 2, 1, 30), RDV_STORE_UNAVAILABLE,
           "backend stopped: put answers UNAVAILABLE at the deadline");
    signal_backends(SIGCONT);
    ok(recovers(s), "the store reconnects once the server answers again");
    struct res r = discover_wait(s, "hung/x");
    ok(r.st == RDV_STORE_OK && r.n >= 1, "the registration acknowledged before the hang is there");
    rdv_store_close(s);
}

/* ---- schema versions and migration --------------------------------------------------------- */

/* The harness URL with database name instead of rdvtest. */
static bool db_url(const char *name, char *out, size_t cap)
{
    const char *db = strstr(url, "/rdvtest");
    if (!db)
        return false;
    snprintf(out, cap, "%.*s/%s%s", (int)(db - url), url, name, db + strlen("/rdvtest"));
    return true;
}

/* A fresh, empty database; its URL in out. */
static bool fresh_db(const char *name, char *out, size_t cap)
{
    char q[128];
    snprintf(q, sizeof(q), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    sql(q);
    snprintf(q, sizeof(q), "CREATE DATABASE %s", name);
    return sql(q) && db_url(name, out, cap);
}

static char *read_file(const char *path)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    size_t n = buf ? fread(buf, 1, 65535, f) : 0;
    fclose(f);
    if (buf && n == 0) {
        free(buf);
        buf = NULL;
    }
    return buf;
}

static bool exec_on(PGconn *c, const char *q)
{
    PGresult *r = PQexec(c, q);
    bool good = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!good)
        diag("SQL failed: %.80s: %s", q, PQresultErrorMessage(r));
    PQclear(r);
    return good;
}

/* The first column of the first row, as text (empty on failure). */
static void text_on(PGconn *c, const char *q, char *out, size_t cap)
{
    PGresult *r = PQexec(c, q);
    snprintf(out, cap, "%s", PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
}

static long count_on(PGconn *c, const char *q)
{
    char buf[32];
    text_on(c, q, buf, sizeof(buf));
    return *buf ? atol(buf) : -1;
}

/* Opening must fail, with want in the message. */
static void open_refused(const char *conninfo, const char *want, const char *name)
{
    struct rdv_store *s = NULL;
    char err[512] = "";
    int rc = rdv_store_postgres_open(conninfo, 2000, 1, loop, &quiet, &s, err, sizeof(err));
    if (!ok(rc == RDV_ERR_INVALID && s == NULL && strstr(err, want), "%s", name))
        diag("rc %d, err: %s", rc, err);
    rdv_store_close(s);
}

static const char *const V1_ROWS =
    "INSERT INTO rdv_registrations VALUES "
    "('m/a', '\\x0020aa01', 3, '\\x0a01', now(), now() + interval '1 h'), "
    "('m/a', '\\x0020aa02', 4, '\\x0a02', now(), now() + interval '1 h'), "
    "('m/b', '\\x0020aa01', 5, '\\x0a03', now(), now() + interval '1 h'), "
    "('m/b', '\\x0020aa03', 6, '\\x0a04', now(), now() - interval '1 s')";

static const char *const COUNTERS = "SELECT string_agg(ns::text || peer_id::text || counter, ',' ORDER BY ns, peer_id) "
                                    "FROM rdv_registrations";
static const char *const FILENODE = "SELECT relfilenode FROM pg_class WHERE relname = 'rdv_registrations'";

/* After the migration: the v1 rows, kind 0 / dialect 0, distinct counters, served. */
static void migrated_rows_served(PGconn *m, const char *conninfo)
{
    is_int(count_on(m, "SELECT count(*) FROM rdv_registrations WHERE kind = 0 AND dialect = 0"), 4,
           "migration: the 4 version 1 rows are there, kind 0 and dialect 0");
    is_int(count_on(m, "SELECT count(DISTINCT counter) FROM rdv_registrations WHERE counter > 0"), 4,
           "migration: each row took its own counter");
    is_int(count_on(m, "SELECT nextval('rdv_registration_counter')"), 5, "migration: the sequence goes on after them");
    struct rdv_store *s = open_store(conninfo, 5000, 1);
    ok(s != NULL, "migration: a front-end opens the migrated database");
    if (!s)
        return;
    struct res r = discover_wait(s, "m/a");
    ok(r.st == RDV_STORE_OK && r.n == 2 && r.kind[0] == 0 && r.dialect[0] == 0 && r.kind[1] == 0 &&
           r.counter[0] != r.counter[1], "migration: kind 0 discovery finds both v1 rows of m/a");
    r = ordered_wait(s, 0, NULL, 0, 0);
    ok(r.st == RDV_STORE_OK && r.n == 3 && r.counter[0] < r.counter[1] && r.counter[1] < r.counter[2],
       "migration: an ordered discover of every namespace pages the 3 live v1 rows in counter order");
    is_int(put_wait(s, "m/a", 9, 1, 60), RDV_STORE_OK, "migration: a put after it works");
    rdv_store_close(s);
}

static void test_migration(void)
{
    char conninfo[512];
    if (!ok(fresh_db("rdv_v1", conninfo, sizeof(conninfo)), "a database for the migration"))
        return;
    char *v1 = read_file(getenv("RDV_PG_V1_SCHEMA"));
    PGconn *m = PQconnectdb(conninfo);
    if (!ok(v1 && PQstatus(m) == CONNECTION_OK, "the version 1 schema (tests/pg/schema-v1.sql) and a connection")) {
        free(v1);
        PQfinish(m);
        return;
    }
    ok(exec_on(m, v1) && exec_on(m, V1_ROWS), "a version 1 database with 4 rows (one expired)");
    free(v1);
    open_refused(conninfo, "schema version 1 is older than this rendezvousd (2): run `rendezvousd --store URL "
                           "--init-db` to migrate", "a front-end refuses the version 1 schema, saying to migrate");
    char err[512] = "";
    if (!ok(rdv_store_postgres_init(conninfo, err, sizeof(err)) == RDV_OK, "init migrates version 1 to 2"))
        diag("%s", err);
    is_int(count_on(m, "SELECT max(version) FROM rdv_schema_version"), 2, "migration: version 2 recorded");
    is_int(count_on(m, "SELECT count(*) FROM pg_indexes WHERE tablename = 'rdv_registrations'"), 5,
           "migration: the key, the stats and the ordered-discovery indexes are in place (version 1's expiry index gone)");
    migrated_rows_served(m, conninfo);
    char before[1024], node[32], node2[32], after[1024];
    text_on(m, COUNTERS, before, sizeof(before));
    text_on(m, FILENODE, node, sizeof(node));
    ok(rdv_store_postgres_init(conninfo, err, sizeof(err)) == RDV_OK, "init again on the migrated database");
    text_on(m, COUNTERS, after, sizeof(after));
    text_on(m, FILENODE, node2, sizeof(node2));
    ok(strcmp(before, after) == 0 && *before, "init again: the rows and their counters are unchanged");
    ok(strcmp(node, node2) == 0 && *node, "init again: the table was not rewritten (a no-op)");
    is_int(count_on(m, "SELECT count(*) FROM rdv_schema_version"), 2, "init again: no further version row");
    PQfinish(m);
}

static void test_newer_schema(void)
{
    char conninfo[512];
    if (!db_url("rdv_v1", conninfo, sizeof(conninfo)))
        return;
    PGconn *m = PQconnectdb(conninfo);
    exec_on(m, "INSERT INTO rdv_schema_version (version) VALUES (3)");
    open_refused(conninfo, "schema version 3 is newer than this rendezvousd knows (2)",
                 "a front-end refuses a version 3 schema");
    char err[512] = "";
    int rc = rdv_store_postgres_init(conninfo, err, sizeof(err));
    ok(rc != RDV_OK && strstr(err, "newer than this rendezvousd knows"), "init refuses to touch a version 3 schema (%s)",
       err);
    exec_on(m, "DELETE FROM rdv_schema_version WHERE version = 3");
    PQfinish(m);
}

static void test_no_schema(void)
{
    char conninfo[512];
    if (!ok(fresh_db("rdv_noschema", conninfo, sizeof(conninfo)), "an empty database"))
        return;
    open_refused(conninfo, "no rendezvousd schema (no table rdv_schema_version): run `rendezvousd --store URL "
                           "--init-db`", "no schema: open fails saying to run --init-db");
}

/* Lines of the log file holding needle. */
static int log_lines(FILE *f, const char *needle)
{
    char line[1024];
    int n = 0;
    fflush(f);
    rewind(f);
    while (fgets(line, sizeof(line), f))
        n += strstr(line, needle) != NULL;
    return n;
}

static void terminate_sessions(PGconn *m)
{
    exec_on(m, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'rendezvousd' "
               "AND datname = current_database()");
}

/* The schema changes under a running front-end: every reconnection is checked, refused with
 * one log line however often it retries, and served again once the schema is right. */
static void test_refused_while_running(void)
{
    char conninfo[512];
    if (!ok(fresh_db("rdv_late", conninfo, sizeof(conninfo)), "a database for a running front-end"))
        return;
    char err[512] = "";
    rdv_store_postgres_init(conninfo, err, sizeof(err));
    PGconn *m = PQconnectdb(conninfo);
    FILE *lf = tmpfile();
    struct rdv_log log = {.level = RDV_LOG_ERROR, .out = lf};
    struct rdv_store *s = NULL;
    rdv_store_postgres_open(conninfo, 1000, 2, loop, &log, &s, err, sizeof(err));
    if (!ok(s && lf && recovers(s), "a front-end serves version 2")) {
        rdv_store_close(s);
        PQfinish(m);
        return;
    }
    exec_on(m, "UPDATE rdv_schema_version SET version = 3 WHERE version = 2");
    terminate_sessions(m);
    sleep_loop(0.2);
    enum rdv_store_status st = RDV_STORE_OK;
    for (int i = 0; i < 20; i++, sleep_loop(0.1)) /* ~2 s: many reconnection attempts */
        st = health_wait(s);
    is_int(st, RDV_STORE_UNAVAILABLE, "version 3 under a running front-end: it answers UNAVAILABLE");
    is_int(log_lines(lf, "schema version 3 is newer than this rendezvousd knows (2)"), 1,
           "... and says why once, not at every retry");
    exec_on(m, "DROP TABLE rdv_schema_version");
    for (int i = 0; i < 40 && !log_lines(lf, "no rendezvousd schema"); i++) /* the backoff is up to 5 s by now */
        sleep_loop(0.2);
    sleep_loop(1.0);
    is_int(log_lines(lf, "no rendezvousd schema"), 1, "the table dropped: the new reason is logged once too");
    rdv_store_postgres_init(conninfo, err, sizeof(err));
    ok(recovers(s), "--init-db while it runs: the front-end serves again without a restart");
    rdv_store_close(s);
    fclose(lf);
    PQfinish(m);
}

/* ---- the dialect operations across two front-ends ------------------------------------------- */

static void test_secret_shared(void)
{
    wait_sessions_gone();
    struct rdv_store *a = open_store(url, 5000, 2), *b = open_store(url, 5000, 2);
    struct res ra = secret_wait(a), rb = secret_wait(b);
    char hex[2 * RDV_STORE_SECRET_LEN + 1];
    for (int i = 0; i < RDV_STORE_SECRET_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", ra.key[i]);
    char want[80];
    text_on(admin, "SELECT encode(value, 'hex') FROM rdv_meta WHERE key = 'cookie_secret'", want, sizeof(want));
    ok(ra.st == RDV_STORE_OK && rb.st == RDV_STORE_OK && memcmp(ra.key, rb.key, sizeof(ra.key)) == 0,
       "two front-ends on one database share the secret");
    ok(strcmp(hex, want) == 0, "it is rdv_meta's cookie_secret");
    rdv_store_close(a);
    rdv_store_close(b);

    /* no secret yet (a schema applied with psql): the first front-end to open makes it */
    sql("DELETE FROM rdv_meta");
    a = open_store(url, 5000, 1);
    is_int(sql_count("SELECT count(*) FROM rdv_meta WHERE octet_length(value) = 32"), 1,
           "a front-end opening without a secret makes one");
    b = open_store(url, 5000, 1);
    ra = secret_wait(a);
    rb = secret_wait(b);
    ok(ra.st == RDV_STORE_OK && memcmp(ra.key, rb.key, sizeof(ra.key)) == 0, "... and the next one takes it");
    rdv_store_close(a);
    rdv_store_close(b);
}

static void test_unregister_two(void)
{
    wait_sessions_gone();
    sql("TRUNCATE rdv_registrations");
    struct rdv_store *a = open_store(url, 5000, 2), *b = open_store(url, 5000, 2);
    put_kd_wait(a, "u/x", 1, 0, 0);
    put_kd_wait(a, "u/x", 1, 1, 1);
    struct res r = unregister_wait(b, 0, "u/x", 1);
    ok(r.st == RDV_STORE_OK && r.count == 1, "B unregisters A's kind 0 registration");
    r = unregister_wait(b, 0, "u/x", 1);
    ok(r.st == RDV_STORE_OK && r.count == 0, "again: OK, nothing removed");
    struct rdv_store_query q = {.kind = 1, .ns = "u/x", .ns_len = 3};
    struct res d = {0};
    rdv_store_query(a, &q, on_disc, &d);
    wait_calls(&d.calls, 1);
    ok(d.st == RDV_STORE_OK && d.n == 1 && d.kind[0] == 1 && d.dialect[0] == 1, "the kind 1 record is untouched");
    put_wait(a, "u/y", 2, 1, 1);
    sleep_loop(1.3);
    r = unregister_wait(b, 0, "u/y", 2);
    ok(r.st == RDV_STORE_OK && r.count == 0, "an expired registration counts as none");
    is_int(sql_count("SELECT count(*) FROM rdv_registrations WHERE ns = 'u/y'"), 0, "... but its row is gone");
    rdv_store_close(a);
    rdv_store_close(b);
}

static void test_ordered_two(void)
{
    wait_sessions_gone();
    sql("TRUNCATE rdv_registrations");
    struct rdv_store *a = open_store(url, 5000, 2), *b = open_store(url, 5000, 2);
    for (unsigned i = 1; i <= 5; i++)
        put_wait(i % 2 ? a : b, "o/x", i, 1, 60);
    put_wait(a, "o/y", 9, 1, 60);
    struct res p1 = ordered_wait(a, 0, "o/x", 0, 2);
    ok(p1.st == RDV_STORE_OK && p1.n == 2 && p1.counter[0] < p1.counter[1], "A: the first page of 2, in counter order");
    uint64_t cookie = p1.n ? p1.counter[p1.n - 1] : 0;
    struct res p2 = ordered_wait(b, 0, "o/x", cookie, 10);
    ok(p2.st == RDV_STORE_OK && p2.n == 3 && p2.counter[0] > cookie && p2.counter[1] < p2.counter[2],
       "B honours A's cookie: the other 3, after it, in order");
    put_wait(b, "o/x", 1, 1, 60); /* a refresh of the first record: it moves to the end */
    struct res p3 = ordered_wait(a, 0, "o/x", p2.n ? p2.counter[p2.n - 1] : 0, 10);
    ok(p3.st == RDV_STORE_OK && p3.n == 1 && p3.counter[0] > p2.counter[2], "a refresh through B is A's next page");
    struct res all = ordered_wait(b, 0, NULL, 0, 0);
    is_int(all.n, 6, "ordered over every namespace: o/x and o/y");
    struct res none = ordered_wait(a, 0, NULL, UINT64_MAX, 0);
    ok(none.st == RDV_STORE_OK && none.n == 0, "after 2^64-1 (beyond bigint): nothing");
    rdv_store_close(a);
    rdv_store_close(b);
}

static void test_dialect_stats(void)
{
    wait_sessions_gone();
    sql("TRUNCATE rdv_registrations");
    struct rdv_store *a = open_store(url, 5000, 2), *b = open_store(url, 5000, 2);
    put_kd_wait(a, "d/x", 1, 0, 0);
    put_kd_wait(b, "d/x", 2, 0, 1);
    put_kd_wait(a, "d/x", 3, 1, 1);
    put_kd_wait(b, "d/y", 4, 2, 2);
    struct res r = stats_wait(b);
    ok(r.st == RDV_STORE_OK && r.stats.registrations == 4 && r.stats.namespaces == 2 && r.stats.by_dialect[0] == 1 &&
           r.stats.by_dialect[1] == 2 && r.stats.by_dialect[2] == 1 && r.stats.by_dialect[3] == 0,
       "stats through B count A's and B's registrations by dialect (1, 2, 1, 0)");
    put_kd_wait(b, "d/x", 1, 0, 3); /* A's dialect 0 record refreshed by dialect 3 */
    r = stats_wait(a);
    ok(r.stats.by_dialect[0] == 0 && r.stats.by_dialect[3] == 1, "a refresh moves the record to its new dialect");
    rdv_store_close(a);
    rdv_store_close(b);
}

/* ---- global budgets, against the figures stats() last read ------------------------------------- */

static enum rdv_store_status put_budget_wait(struct rdv_store *s, const char *ns, unsigned peer, uint64_t seq,
                                             struct rdv_store_budget b)
{
    struct res r = {0};
    struct rdv_peerid id = peer_n(peer);
    struct rdv_store_put p = {.ns = ns, .ns_len = strlen(ns), .peer = &id, .seq = seq, .envelope = ENV,
                              .envelope_len = sizeof(ENV), .ttl_s = 60, .budget = b};
    rdv_store_put(s, &p, on_put, &r);
    return wait_calls(&r.calls, 1) ? r.st : (enum rdv_store_status)-1;
}

static void test_budget(void)
{
    wait_sessions_gone();
    sql("TRUNCATE rdv_registrations");
    struct rdv_store *s = open_store(url, 5000, 2);
    const struct rdv_store_budget none = {0}, regs3 = {.registrations = 3}, names2 = {.namespaces = 2};
    is_int(put_budget_wait(s, "b/a", 1, 1, regs3), RDV_STORE_OK, "budget: before any figures were read, OK");
    put_budget_wait(s, "b/a", 2, 1, none);
    put_budget_wait(s, "b/b", 3, 1, none);
    struct res st = stats_wait(s);
    ok(st.st == RDV_STORE_OK && st.stats.budgeted == 1 && st.stats.registrations == 3 && st.stats.namespaces == 2 &&
           st.stats.bytes > 0, "stats: budgeted, 3 registrations, 2 names, the table's bytes (%llu)",
       (unsigned long long)st.stats.bytes);
    is_int(put_budget_wait(s, "b/a", 4, 1, regs3), RDV_STORE_FULL, "3 of 3 registrations: a new one is FULL");
    is_int(sql_count("SELECT count(*) FROM rdv_registrations"), 3, "... and stored nothing");
    is_int(put_budget_wait(s, "b/a", 1, 1, regs3), RDV_STORE_OK, "a refresh when full: OK");
    is_int(put_budget_wait(s, "b/a", 2, 7, regs3), RDV_STORE_OK, "a new seq of a held one when full: OK");
    is_int(put_budget_wait(s, "b/c", 5, 1, names2), RDV_STORE_FULL, "2 of 2 names: a third name is FULL");
    is_int(put_budget_wait(s, "b/a", 5, 1, names2), RDV_STORE_OK, "a new peer in a held name: OK");
    struct rdv_store_budget tight = {.bytes = st.stats.bytes};
    is_int(put_budget_wait(s, "b/a", 6, 1, tight), RDV_STORE_FULL, "bytes spent: a new one is FULL");
    is_int(put_budget_wait(s, "b/a", 6, 1, none), RDV_STORE_OK, "no budget: no limit");
    stats_wait(s); /* 5 now */
    const struct rdv_store_budget regs5 = {.registrations = 5};
    is_int(put_budget_wait(s, "b/a", 7, 1, regs5), RDV_STORE_FULL, "5 of 5 after the refresh: FULL");
    unregister_wait(s, 0, "b/a", 6);
    stats_wait(s);
    is_int(put_budget_wait(s, "b/a", 7, 1, regs5), RDV_STORE_OK, "room again after an unregister and a refresh");
    rdv_store_close(s);
}

/* ---- group commit: batches, and a batch a statement failed in ----------------------------------- */

static void test_batch(void)
{
    wait_sessions_gone();
    sql("TRUNCATE rdv_registrations");
    /* a namespace the table refuses: its put fails in the server, inside whatever batch it is in */
    sql("ALTER TABLE rdv_registrations ADD CONSTRAINT rdv_test_refuse CHECK (ns <> convert_to('batch/5', 'UTF8'))");
    struct rdv_store *s = open_store(url, 5000, 1);
    recovers(s);
    struct res rs[12] = {{0}};
    struct rdv_peerid p = peer_n(42);
    char names[12][24];
    for (int i = 0; i < 12; i++) { /* one peer: one connection, in order; all but the first two wait */
        snprintf(names[i], sizeof(names[i]), "batch/%d", i);
        put_async(s, names[i], &p, 1, 60, 0, &rs[i]);
    }
    wait_all(rs, 12);
    int good = 0;
    for (int i = 0; i < 12; i++)
        good += i != 5 && rs[i].calls == 1 && rs[i].st == RDV_STORE_OK;
    is_int(good, 11, "twelve puts at once: the eleven the table accepts are OK");
    ok(rs[5].calls == 1 && rs[5].st == RDV_STORE_ERROR, "the one it refuses is ERROR, alone");
    is_int(sql_count("SELECT count(*) FROM rdv_registrations"), 11, "... and the eleven are stored");
    struct res st = stats_wait(s);
    ok(st.st == RDV_STORE_OK && st.stats.batched_ops > st.stats.transactions,
       "some transaction carried several puts (%llu operations in %llu transactions)",
       (unsigned long long)st.stats.batched_ops, (unsigned long long)st.stats.transactions);
    rdv_store_close(s);
    sql("ALTER TABLE rdv_registrations DROP CONSTRAINT rdv_test_refuse");
    sql("TRUNCATE rdv_registrations");
}

/* ---- plans: the admin's statements at 200 000 rows use indexes --------------------------------- */

/* EXPLAINs one of the store's statements with the given parameters, as a generic and as a custom
 * plan (a prepared statement may use either); returns whether both avoid a Seq Scan of the
 * registrations and (when want is set) both contain want. */
static bool plan_ok(const char *name, const char *args, const char *want)
{
    char q[512];
    bool good = true;
    snprintf(q, sizeof(q), "DEALLOCATE ALL");
    sql(q);
    PGresult *r = PQprepare(admin, "plan", rdv_store_postgres_sql(name), 0, NULL);
    good = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    for (int mode = 0; good && mode < 2; mode++) {
        sql(mode ? "SET plan_cache_mode = force_custom_plan" : "SET plan_cache_mode = force_generic_plan");
        snprintf(q, sizeof(q), "EXPLAIN EXECUTE plan%s", args);
        r = PQexec(admin, q);
        char text[8192] = "";
        size_t used = 0;
        for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++)
            used += (size_t)snprintf(text + used, used < sizeof(text) ? sizeof(text) - used : 0, "%s\n",
                                     PQgetvalue(r, i, 0));
        good = PQresultStatus(r) == PGRES_TUPLES_OK && !strstr(text, "Seq Scan on rdv_registrations") &&
               (!want || strstr(text, want));
        if (!good || mode == 0) { /* the generic plan, what a prepared statement ends up with: in the log */
            diag("%s (%s plan): %s", name, mode ? "custom" : "generic", PQresultErrorMessage(r));
            for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++)
                diag("  %s", PQgetvalue(r, i, 0));
        }
        PQclear(r);
    }
    sql("RESET plan_cache_mode");
    sql("DEALLOCATE ALL");
    return good;
}

struct ns_res {
    int calls;
    enum rdv_store_status st;
    size_t n;
    int more;
    uint64_t first_count;
    char first[32];
};

static void ns_collect(void *arg, enum rdv_store_status st, const struct rdv_store_ns_info *items, size_t n, int more)
{
    struct ns_res *r = arg;
    r->calls++;
    r->st = st;
    r->n = n;
    r->more = more;
    if (n) {
        r->first_count = items[0].count;
        snprintf(r->first, sizeof(r->first), "%.*s", (int)items[0].ns_len, items[0].ns);
    }
}

static void test_plans(void)
{
    wait_sessions_gone();
    sql("TRUNCATE rdv_registrations");
    /* 200 000 live rows in 200 namespaces, with envelopes of a realistic size */
    ok(sql("INSERT INTO rdv_registrations (ns, kind, peer_id, seq, envelope, registered_at, expires_at) "
           "SELECT convert_to('plan/' || (i % 200), 'UTF8'), 0, int8send(i), 1, "
           "convert_to(repeat('e', 300), 'UTF8'), now(), now() + interval '1 hour' FROM generate_series(1, 200000) i") &&
           sql("VACUUM ANALYZE rdv_registrations"),
       "200 000 rows inserted by SQL, vacuumed and analyzed");
    ok(plan_ok("rdv_stats", "", "Index Only Scan using rdv_registrations_live"),
       "stats: an index-only scan of rdv_registrations_live, no Seq Scan");
    ok(plan_ok("rdv_list_ns", "('\\x'::bytea, '\\x'::bytea, 32767, 101)", "Recursive Union"),
       "namespace list (first page): a loose scan of the primary key, no Seq Scan");
    ok(plan_ok("rdv_list_ns", "(convert_to('plan/1', 'UTF8'), convert_to('plan/1', 'UTF8'), 0, 101)",
               "Recursive Union"),
       "namespace list (a prefix, after a cursor): a loose scan of the primary key, no Seq Scan");
    ok(plan_ok("rdv_list_regs", "(convert_to('plan/7', 'UTF8'), 0, '\\x'::bytea, 101)", NULL),
       "registrations of a namespace: no Seq Scan");
    ok(plan_ok("rdv_list_peer", "(int8send(77), 101)", "rdv_registrations_peer"),
       "registrations of a peer: rdv_registrations_peer, no Seq Scan");
    ok(plan_ok("rdv_reap", "(1000, 'rdv-x')", "rdv_registrations_live"),
       "the reaper's batch: rdv_registrations_live (the expired end), no Seq Scan");
    /* and the answers are right: a page of 100 of the 200 names, each with its 1000 rows */
    struct rdv_store *s = open_store(url, 5000, 2);
    struct ns_res nr = {0};
    rdv_store_list_namespaces(s, "plan/1", 6, NULL, 0, 100, ns_collect, &nr);
    wait_calls(&nr.calls, 1);
    ok(nr.st == RDV_STORE_OK && nr.n == 100 && nr.more == 1 && nr.first_count == 1000 && strcmp(nr.first, "plan/1") == 0,
       "prefix plan/1: a full page of 100 (more), plan/1 first with 1000 rows (%zu, %d, %llu, %s)", nr.n, nr.more,
       (unsigned long long)nr.first_count, nr.first);
    rdv_store_close(s);
    sql("TRUNCATE rdv_registrations");
}

/* ---- closing with work pending ----------------------------------------------------------------- */

struct closer {
    struct rdv_store *s;
    int calls;
};

static void close_in_cb(void *arg, enum rdv_store_status st)
{
    struct closer *c = arg;
    (void)st;
    if (c->calls++ == 0)
        rdv_store_close(c->s);
}

static void test_close_pending(void)
{
    wait_sessions_gone();
    struct rdv_store *s = open_store(url, 5000, 2);
    struct res rs[8] = {{0}};
    struct rdv_peerid p = peer_n(9);
    for (int i = 0; i < 8; i++)
        put_async(s, "close/x", &p, 1, 10, 0, &rs[i]);
    rdv_store_close(s);
    int once = 0;
    for (int i = 0; i < 8; i++)
        once += rs[i].calls == 1 && rs[i].st == RDV_STORE_UNAVAILABLE;
    is_int(once, 8, "close answers every pending operation once, UNAVAILABLE");

    s = open_store(url, 5000, 2);
    recovers(s);
    struct closer c = {s, 0};
    struct rdv_store_put put = {.ns = "close/y", .ns_len = 7, .peer = &p, .seq = 1, .envelope = ENV,
                                .envelope_len = sizeof(ENV), .ttl_s = 10};
    for (int i = 0; i < 4; i++)
        rdv_store_put(s, &put, close_in_cb, &c);
    wait_calls(&c.calls, 4);
    is_int(c.calls, 4, "closing from inside a callback: the others are still answered once");
}

int main(void)
{
    url = getenv("RDV_PG_URL");
    if (!url) {
        printf("Bail out! RDV_PG_URL is not set: run under tests/pg/pg-harness.sh\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    if (getenv("RDV_TEST_LOG"))
        rdv_log_level_parse(getenv("RDV_TEST_LOG"), &quiet.level);
    loop = ev_default_loop(0);
    admin = PQconnectdb(url);
    if (PQstatus(admin) != CONNECTION_OK) {
        printf("Bail out! cannot connect to %s: %s\n", url, PQerrorMessage(admin));
        return 1;
    }
    sql("SET client_min_messages = warning"); /* DROP DATABASE IF EXISTS notices */
    test_init();
    struct rdv_store_contract c = {.make = make_pg, .loop = loop, .flags = RDV_CONTRACT_REAL_CLOCK | RDV_CONTRACT_NO_BUDGET,
                                   .ok = contract_ok};
    rdv_store_contract_run("postgres", &c);
    test_two_stores();
    test_reaper();
    test_conninfo_forms();
    test_bad_urls();
    test_closed_port();
    test_second_host();
    test_silent_server();
    test_hung_backend();
    test_no_schema();
    test_migration();
    test_newer_schema();
    test_refused_while_running();
    test_secret_shared();
    test_unregister_two();
    test_ordered_two();
    test_dialect_stats();
    test_close_pending();
    test_budget();
    test_batch();
    test_plans();
    PQfinish(admin);
    return tap_done();
}
