/* postgres.c: the PostgreSQL store (see postgres.h): the SQL of each operation, how its
 * parameters are bound and its rows decoded, and the reaper.
 *
 * put first tries a refresh: one statement that updates the key's row only if it is live and its
 * seq is not newer (rdv_refresh; with same_envelope, rdv_touch, which also requires the held
 * envelope to be these bytes and then moves only expires_at, registered_at, counter and dialect).
 * A refresh cannot change how many live rows the peer holds, so it needs no cap check and no
 * lock: that is the steady state of peers re-registering every few seconds, one statement and one
 * commit. It answers ok, stale (a live newer seq) or miss (no live row for the key, or a touch
 * whose envelope differs); a miss is re-sent as the full put, in its own transaction.
 *
 * The full put, which may add a live row, runs two statements in one pipelined transaction when
 * a cap applies: pg_advisory_xact_lock on the peer id (released at commit), then the upsert. The
 * lock is what makes the per-peer cap exact across front-ends: two puts of the same peer into
 * different namespaces would otherwise both count the peer's live rows before either inserts, and
 * both pass. Under READ COMMITTED the upsert takes its snapshot after the lock statement returned,
 * so it sees every earlier put of that peer committed. A refresh running beside it does not
 * disturb that count (the row was live and stays live). The upsert itself (a CTE) decides stale /
 * limit / ok and inserts or updates in the same statement; its ON CONFLICT ... WHERE keeps a newer
 * seq even without the lock. An expired row of the same (ns, peer) does not count: it is replaced
 * whatever its seq, as the memory store (which drops it first) does. Without a cap there is
 * nothing to count and no lock.
 *
 * Results are requested in binary: bytea arrives as raw bytes, int8 as 8 big-endian bytes, text
 * as its bytes. Everything read back is checked (row and column counts, lengths) before use. */
#include "store/postgres.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <sodium.h>

#include "p2p/envelope.h"
#include "sql/schema_sql.h"
#include "store/pg_pool.h"
#include "util/err.h"
#include "util/log.h"

/* Advisory lock keys. The reaper's is one bigint; per-peer locks use the (int4, int4) key space,
 * which never overlaps the bigint one. */
#define REAPER_ROW "reaper"               /* rdv_meta key of the reaper lease */
#define REAPER_LEASE_MS 5000                /* a holder that stops renewing is replaced after this */
#define DEFAULT_MAX_LAG_MS 2000
#define DEFAULT_ADMIN_POOL 1
#define DEFAULT_BATCH 64
#define DEFAULT_ADMIN_TIMEOUT_MS 5000
#define STATS_MAX_AGE_S 1.0 /* stats() answers from its last figures while younger (see pg_stats) */
#define BUDGET_ADD 1        /* rdv_put's $9: adding a registration is refused (registrations, bytes) */
#define BUDGET_NAME 2       /* rdv_put's $9: adding a namespace name is refused */
#define PEER_LOCK_CLASS "1919186544"       /* "rdvp" */
#define INIT_KEY "7234307509628739689"

#define SCHEMA_VERSION 2 /* what sql/schema.sql creates, and the one version this code serves */
#define SECRET_KEY "cookie_secret" /* its row in rdv_meta */
#define KIND_AFTER_ALL "32767"     /* a namespace cursor without a kind: after every kind of the name */

#define LIVE_ROW_COLUMNS \
    "peer_id, seq::text, envelope, " \
    "ceil(extract(epoch FROM expires_at - now()) * 1000)::int8, " \
    "floor(extract(epoch FROM registered_at) * 1000)::int8, ns, kind, dialect, counter "
#define LIVE_ROW_NCOLS 9

/* Run on every new connection before anything is prepared (see schema_verdict). */
static const char CHECK_SQL[] = "SELECT max(version)::int8 FROM rdv_schema_version";

static const struct rdv_pg_stmt stmts[] = {
    {"rdv_lock_peer", "SELECT pg_advisory_xact_lock(" PEER_LOCK_CLASS ", hashtext(encode($1::bytea, 'hex')))"},
    /* $1 ns, $2 peer, $3 seq, $4 envelope, $5 ttl s, $6 cap, $7 kind, $8 dialect. The cap counts the
     * peer's live rows of every kind; when the key itself holds no live row (the only case the
     * cap applies to) they are all elsewhere. A refresh takes a new counter like a new record. */
    /* The refresh (see the top): same parameters as rdv_put. cur reads the key's live row in the
     * statement's snapshot; up re-checks its WHERE on the row's latest version (READ COMMITTED),
     * so a concurrent newer seq or unregister makes it update nothing, and the answer is then
     * stale or miss, never a lost update. */
#define REFRESH_SQL(set, cond) \
     "WITH cur AS (" \
     "  SELECT seq FROM rdv_registrations" \
     "  WHERE ns = $1::bytea AND kind = $7::int2 AND peer_id = $2::bytea AND expires_at > now()" \
     "), up AS (" \
     "  UPDATE rdv_registrations SET dialect = $8::int2, counter = nextval('rdv_registration_counter')," \
     "    registered_at = now(), expires_at = now() + make_interval(secs => $5::int8)" set \
     "  WHERE ns = $1::bytea AND kind = $7::int2 AND peer_id = $2::bytea AND expires_at > now()" cond \
     "  RETURNING 1" \
     ") SELECT CASE WHEN EXISTS (SELECT 1 FROM up) THEN 'ok'" \
     "  WHEN EXISTS (SELECT 1 FROM cur WHERE seq > $3::numeric) THEN 'stale' ELSE 'miss' END, $6::int8 * 0"
    {"rdv_refresh", REFRESH_SQL(", seq = $3::numeric, envelope = $4::bytea", " AND seq <= $3::numeric")},
    /* Same bytes as held: the envelope (maybe TOASTed) and seq stay as they are. */
    {"rdv_touch", REFRESH_SQL("", " AND seq = $3::numeric AND envelope = $4::bytea")},
#undef REFRESH_SQL
    {"rdv_put",
     "WITH cur AS ("
     "  SELECT seq, expires_at > now() AS live FROM rdv_registrations"
     "  WHERE ns = $1::bytea AND kind = $7::int2 AND peer_id = $2::bytea"
     "), verdict AS ("
     "  SELECT CASE"
     "    WHEN EXISTS (SELECT 1 FROM cur WHERE live AND seq > $3::numeric) THEN 'stale'"
     /* $9: the global budgets as the last stats refresh saw them (BUDGET_*): a put that adds a
      * live row is refused when registrations or bytes are spent, and one that adds a namespace
      * name (no live row of any kind in ns: a primary key prefix probe) when names are */
     "    WHEN NOT EXISTS (SELECT 1 FROM cur WHERE live) AND ($9::int4 & 1 = 1 OR ($9::int4 & 2 = 2"
     "         AND NOT EXISTS (SELECT 1 FROM rdv_registrations WHERE ns = $1::bytea AND expires_at > now())))"
     "         THEN 'full'"
     "    WHEN $6::int8 > 0 AND NOT EXISTS (SELECT 1 FROM cur WHERE live)"
     "         AND (SELECT count(*) FROM rdv_registrations"
     "              WHERE peer_id = $2::bytea AND expires_at > now()) >= $6::int8 THEN 'limit'"
     "    ELSE 'ok' END AS v"
     "), up AS ("
     "  INSERT INTO rdv_registrations AS r"
     "    (ns, kind, peer_id, dialect, counter, seq, envelope, registered_at, expires_at)"
     "  SELECT $1::bytea, $7::int2, $2::bytea, $8::int2, nextval('rdv_registration_counter'), $3::numeric,"
     "    $4::bytea, now(), now() + make_interval(secs => $5::int8)"
     "  WHERE (SELECT v FROM verdict) = 'ok'"
     "  ON CONFLICT (ns, kind, peer_id) DO UPDATE"
     "    SET dialect = excluded.dialect, counter = excluded.counter, seq = excluded.seq,"
     "        envelope = excluded.envelope, registered_at = excluded.registered_at, expires_at = excluded.expires_at"
     "    WHERE r.seq <= excluded.seq OR r.expires_at <= now()"
     "  RETURNING 1"
     ") SELECT v, (SELECT count(*) FROM up) FROM verdict"},
    /* An expired row goes too (housekeeping) but is not counted: it was no registration. */
    {"rdv_unregister",
     "WITH gone AS (DELETE FROM rdv_registrations WHERE ns = $1::bytea AND kind = $2::int2 AND peer_id = $3::bytea"
     " RETURNING expires_at > now() AS live) SELECT count(*) FILTER (WHERE live) FROM gone"},
    /* ORDER BY random() sorts the namespace's live rows (top-N heap sort): fine for namespaces of
     * thousands, as DISCOVER limits are; the primary key's (ns, kind) prefix finds them. */
    {"rdv_discover",
     "SELECT " LIVE_ROW_COLUMNS "FROM rdv_registrations WHERE ns = $1::bytea AND kind = $2::int2 "
     "AND expires_at > now() ORDER BY random() LIMIT $3::int8"},
    /* Ordered pages (cookies): range scans of (kind, ns, counter) and (kind, counter). */
    {"rdv_discover_after_ns",
     "SELECT " LIVE_ROW_COLUMNS "FROM rdv_registrations WHERE kind = $1::int2 AND ns = $2::bytea "
     "AND counter > $3::int8 AND expires_at > now() ORDER BY counter LIMIT $4::int8"},
    {"rdv_discover_after",
     "SELECT " LIVE_ROW_COLUMNS "FROM rdv_registrations WHERE kind = $1::int2 "
     "AND counter > $2::int8 AND expires_at > now() ORDER BY counter LIMIT $3::int8"},
    /* An index-only scan of rdv_registrations_live; the bytes are the table's size on disk (heap,
     * TOAST, indexes: what max-store-mb bounds on PostgreSQL), read from the file sizes. */
    {"rdv_stats",
     "SELECT count(*), count(DISTINCT ns), count(*) FILTER (WHERE dialect = 0), count(*) FILTER (WHERE dialect = 1), "
     "count(*) FILTER (WHERE dialect = 2), count(*) FILTER (WHERE dialect = 3), "
     "(SELECT pg_total_relation_size('rdv_registrations'))::int8 "
     "FROM rdv_registrations WHERE expires_at > now()"},
    /* $1 prefix, ($2 name, $3 kind) the cursor, $4 the page (+1). A loose index scan: n walks the
     * primary key from (ns, kind) to the next (ns, kind), one index probe per step, at most $4
     * steps, and stops at the first name outside the prefix (names with one prefix are adjacent in
     * bytewise order, from the prefix itself on); a, per listed (ns, kind), counts its live rows
     * on the primary key's prefix. A page costs its namespaces' rows, never the whole table
     * (a GROUP BY over the table is planned as a Seq Scan once most rows are live). */
    {"rdv_list_ns",
     "WITH RECURSIVE n(ns, kind, i) AS ("
     "  (SELECT ns, kind, 1 FROM rdv_registrations WHERE (ns, kind) > ($2::bytea, $3::int2) AND ns >= $1::bytea"
     "   AND expires_at > now() ORDER BY ns, kind LIMIT 1)"
     "  UNION ALL"
     "  SELECT r.ns, r.kind, n.i + 1 FROM n CROSS JOIN LATERAL ("
     "    SELECT x.ns, x.kind FROM rdv_registrations x WHERE (x.ns, x.kind) > (n.ns, n.kind) AND x.expires_at > now()"
     "    ORDER BY x.ns, x.kind LIMIT 1) r"
     "  WHERE n.i < $4::int8 AND substr(n.ns, 1, length($1::bytea)) = $1::bytea"
     ") SELECT n.ns, n.kind, a.c, a.lo, a.hi, a.d0, a.d1, a.d2, a.d3 FROM n CROSS JOIN LATERAL ("
     "  SELECT count(*) AS c, floor(extract(epoch FROM min(expires_at)) * 1000)::int8 AS lo,"
     "  floor(extract(epoch FROM max(expires_at)) * 1000)::int8 AS hi, count(*) FILTER (WHERE dialect = 0) AS d0,"
     "  count(*) FILTER (WHERE dialect = 1) AS d1, count(*) FILTER (WHERE dialect = 2) AS d2,"
     "  count(*) FILTER (WHERE dialect = 3) AS d3"
     "  FROM rdv_registrations WHERE ns = n.ns AND kind = n.kind AND expires_at > now()) a"
     " WHERE substr(n.ns, 1, length($1::bytea)) = $1::bytea AND a.c > 0 ORDER BY n.ns, n.kind"},
    {"rdv_list_regs",
     "SELECT " LIVE_ROW_COLUMNS "FROM rdv_registrations WHERE ns = $1::bytea AND kind = $2::int2 "
     "AND peer_id > $3::bytea AND expires_at > now() ORDER BY peer_id LIMIT $4::int8"},
    /* the admin's search by peer id, on the index rdv_registrations_peer (peer_id, expires_at) */
    {"rdv_list_peer",
     "SELECT " LIVE_ROW_COLUMNS "FROM rdv_registrations WHERE peer_id = $1::bytea AND expires_at > now() "
     "ORDER BY ns, kind LIMIT $2::int8"},
    /* The secret: read; when absent, offer ours (the first writer wins), then read what won. */
    {"rdv_secret_get", "SELECT value FROM rdv_meta WHERE key = '" SECRET_KEY "'"},
    {"rdv_secret_add", "INSERT INTO rdv_meta (key, value) VALUES ('" SECRET_KEY "', $1::bytea) ON CONFLICT (key) DO NOTHING"},
    {"rdv_health", "SELECT 1"},
    /* The reaper lease, rdv_meta's 'reaper' row: "holder expiry-ms" as text. Taken when absent or
     * expired, renewed by its holder, in the reaper's own transaction: no session state, so it
     * works through a transaction pooler. The row lock ON CONFLICT takes serializes contenders;
     * the loser re-checks the WHERE on the winner's row and returns nothing. $1 holder, $2 ms. */
    {"rdv_reaper_lease",
     "INSERT INTO rdv_meta AS m (key, value) VALUES ('" REAPER_ROW "', convert_to($1::text || ' ' || "
     "(floor(extract(epoch FROM now()) * 1000)::int8 + $2::int8)::text, 'UTF8')) "
     "ON CONFLICT (key) DO UPDATE SET value = excluded.value "
     "WHERE split_part(convert_from(m.value, 'UTF8'), ' ', 1) = $1::text "
     "OR split_part(convert_from(m.value, 'UTF8'), ' ', 2)::int8 < floor(extract(epoch FROM now()) * 1000) "
     "RETURNING 1"},
    /* One bounded batch, only for the lease holder (same transaction: it sees the lease just
     * written). ctid = ANY(ARRAY(...)): a TID scan over one index-found batch; the outer condition
     * re-checks rows another front-end refreshed meanwhile. $1 batch, $2 holder. */
    {"rdv_reap",
     "DELETE FROM rdv_registrations WHERE ctid = ANY (ARRAY("
     "SELECT ctid FROM rdv_registrations WHERE expires_at <= now() LIMIT $1::int8)) AND expires_at <= now() "
     "AND EXISTS (SELECT 1 FROM rdv_meta WHERE key = '" REAPER_ROW "' "
     "AND split_part(convert_from(value, 'UTF8'), ' ', 1) = $2::text)"},
    /* How far behind a standby is (ms; 0 on a primary, or when it has replayed all it received
     * from a live WAL receiver, so an idle primary does not look like lag). */
    {"rdv_lag",
     "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0::int8 "
     "WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver) "
     "THEN 0::int8 "
     "ELSE coalesce(floor(extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::int8, "
     "9223372036854775807) END"},
};
#define NSTMTS (sizeof(stmts) / sizeof(stmts[0]))

struct pg_store {
    struct rdv_store base; /* first: the vtable */
    struct rdv_pg_pool *pool;
    struct rdv_pg_pool *read_pool; /* standbys (--store-read), or NULL */
    struct rdv_pg_pool *admin_pool; /* the admin queries' own connections, or NULL: they use pool */
    int pools;             /* pools not yet freed: s goes with the last */
    struct ev_loop *loop;
    const struct rdv_log *log;
    /* The last stats (admin pool): /metrics scrapes within STATS_MAX_AGE_S are answered from them,
     * and puts check the global budgets against them, so neither costs a count per request. */
    struct rdv_store_stats last;
    ev_tstamp last_at;     /* when last was read (0: never) */
    unsigned refreshing;   /* stats queries in flight */
    bool told_unprepared;  /* one line for all pools when a pooler loses prepared statements */
    char refused[RDV_PG_REFUSED_MAX]; /* and one for a schema they all refuse */
    uint32_t max_lag_ms;
    bool lagging;          /* the last read said the standby was too far behind (logged once) */
    char holder[24];       /* this store's name in the reaper lease */
    char *conninfo;        /* for handing the lease over at close */
    bool holding;          /* the last sweep held the lease */
    bool reaping;          /* an expire() is running */
    bool closed;
    bool have_secret;      /* the database's secret, read once: it never changes */
    uint8_t secret[RDV_STORE_SECRET_LEN];
};

/* ---- binding and decoding --------------------------------------------------------------------- */

static void bind_bytes(struct rdv_pg_query *q, const void *p, size_t n)
{
    int i = q->nparams++;
    q->values[i] = p;
    q->lengths[i] = (int)n;
    q->formats[i] = 1;
}

static void bind_text(struct rdv_pg_query *q, const char *text)
{
    int i = q->nparams++;
    q->values[i] = text;
    q->lengths[i] = 0;
    q->formats[i] = 0;
}

static bool get_i64(const PGresult *res, int row, int col, int64_t *out)
{
    if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != 8)
        return false;
    const unsigned char *b = (const unsigned char *)PQgetvalue(res, row, col);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    *out = (int64_t)v;
    return true;
}

/* A smallint (kind, dialect) below bound. */
static bool get_small(const PGresult *res, int row, int col, unsigned bound, uint8_t *out)
{
    if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != 2)
        return false;
    const unsigned char *b = (const unsigned char *)PQgetvalue(res, row, col);
    unsigned v = (unsigned)b[0] << 8 | b[1];
    if (v >= bound)
        return false;
    *out = (uint8_t)v;
    return true;
}

static bool get_u64_text(const PGresult *res, int row, int col, uint64_t *out)
{
    int n = PQgetlength(res, row, col);
    const char *s = PQgetvalue(res, row, col);
    if (PQgetisnull(res, row, col) || n < 1 || n > 20)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* A namespace column: 1..RDV_NS_MAX bytes, pointing into res. */
static bool get_ns(const PGresult *res, int row, int col, const char **ns, size_t *len)
{
    int n = PQgetlength(res, row, col);
    if (PQgetisnull(res, row, col) || n < 1 || n > RDV_NS_MAX)
        return false;
    *ns = PQgetvalue(res, row, col);
    *len = (size_t)n;
    return true;
}

/* Columns of LIVE_ROW_COLUMNS into a record whose ns and envelope point into res. */
static bool get_record(const PGresult *res, int row, struct rdv_store_record *r)
{
    int plen = PQgetlength(res, row, 0), elen = PQgetlength(res, row, 2);
    int64_t counter = 0;
    if (PQgetisnull(res, row, 0) || plen < 1 || plen > RDV_PEERID_MAX || PQgetisnull(res, row, 2) || elen < 1 ||
        elen > RDV_ENVELOPE_MAX)
        return false;
    memset(r, 0, sizeof(*r));
    memcpy(r->peer.bytes, PQgetvalue(res, row, 0), (size_t)plen);
    r->peer.len = (size_t)plen;
    r->envelope = (const uint8_t *)PQgetvalue(res, row, 2);
    r->envelope_len = (size_t)elen;
    bool good = get_u64_text(res, row, 1, &r->seq) && get_i64(res, row, 3, &r->ttl_left_ms) && r->ttl_left_ms > 0 &&
                get_i64(res, row, 4, &r->registered_at_ms) && get_ns(res, row, 5, &r->ns, &r->ns_len) &&
                get_small(res, row, 6, RDV_STORE_KINDS, &r->kind) &&
                get_small(res, row, 7, RDV_STORE_DIALECTS, &r->dialect) && get_i64(res, row, 8, &counter) &&
                counter > 0;
    r->counter = (uint64_t)counter;
    return good;
}

static bool shape_ok(const PGresult *res, int ncols)
{
    return res && PQresultStatus(res) == PGRES_TUPLES_OK && PQnfields(res) == ncols;
}

/* Decimal text, for a text-format parameter. */
static void fmt_u64(char *buf, size_t cap, uint64_t v) { snprintf(buf, cap, "%llu", (unsigned long long)v); }

static uint32_t page_limit(uint32_t limit)
{
    return limit == 0 || limit > RDV_PG_PAGE_MAX ? RDV_PG_PAGE_MAX : limit;
}

/* The one statement result most operations keep. */
struct res_holder {
    struct rdv_pg_op op;
    PGresult *res;
    size_t size;    /* of the whole block (a read re-sent to the primary is copied) */
    struct pg_store *s;
    bool on_read;   /* sent to the read pool, rdv_lag first */
    struct rdv_pg_pool *fallback; /* where a read the standby cannot answer goes */
    /* the key of the row a write locks (puts, unregister; NULL: it locks none), into the block */
    const uint8_t *lk_peer, *lk_ns;
    size_t lk_peer_len, lk_ns_len;
    uint8_t lk_kind;
    int64_t lag_ms; /* what rdv_lag said */
};

static bool keep_last(struct rdv_pg_op *op, size_t idx, PGresult *res)
{
    struct res_holder *h = (struct res_holder *)op;
    if (h->on_read && idx == 0 && !(shape_ok(res, 1) && PQntuples(res) == 1 && get_i64(res, 0, 0, &h->lag_ms)))
        h->lag_ms = INT64_MAX;
    if (idx + 1 != op->nq)
        return false;
    PQclear(h->res);
    h->res = res;
    return true;
}

static int bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

/* The pool's batch order: by the row each write locks, (peer, ns, kind), reads first. A full put
 * takes its peer's advisory lock and then that peer's row, so in this order every transaction
 * takes its locks in one global order (peer A's lock and rows before peer B's), and batches on
 * different connections or front-ends wait for each other but never deadlock. The sort is stable:
 * two puts of one key keep the order they came in. */
static int write_order(const struct rdv_pg_op *x, const struct rdv_pg_op *y)
{
    const struct res_holder *a = (const struct res_holder *)x, *b = (const struct res_holder *)y;
    if (!a->lk_peer || !b->lk_peer)
        return (a->lk_peer != NULL) - (b->lk_peer != NULL);
    int c = bytes_cmp(a->lk_peer, a->lk_peer_len, b->lk_peer, b->lk_peer_len);
    if (!c)
        c = bytes_cmp(a->lk_ns, a->lk_ns_len, b->lk_ns, b->lk_ns_len);
    return c ? c : (a->lk_kind > b->lk_kind) - (a->lk_kind < b->lk_kind);
}

/* FNV-1a of the peer id, never 0: the pool's connection affinity, so one peer's writes run in
 * the order they came (a later REGISTER of a peer never overtakes an earlier one, as it could on
 * two connections whose batches take that peer's row in another order). */
static uint32_t peer_affinity(const uint8_t *peer, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ peer[i]) * 16777619u;
    return h ? h : 1;
}

static void lock_key(struct res_holder *h, const uint8_t *peer, size_t peer_len, const uint8_t *ns, size_t ns_len,
                     uint8_t kind)
{
    h->op.affinity = peer_affinity(peer, peer_len);
    h->op.batch = true; /* a short write: group commit */
    h->lk_peer = peer;
    h->lk_peer_len = peer_len;
    h->lk_ns = ns;
    h->lk_ns_len = ns_len;
    h->lk_kind = kind;
}

/* Fills the common op fields; NULL on allocation failure. */
static void *op_alloc(size_t size, size_t extra, rdv_pg_done_fn done)
{
    struct res_holder *h = calloc(1, size + extra);
    if (!h)
        return NULL;
    h->size = size + extra;
    h->op.pin = -1;
    h->op.on_result = keep_last;
    h->op.on_done = done;
    return h;
}

static enum rdv_store_status final_status(enum rdv_store_status st, bool decoded)
{
    return st != RDV_STORE_OK ? st : decoded ? RDV_STORE_OK : RDV_STORE_ERROR;
}

/* ---- reads: a standby first, the primary when it cannot answer or lags ------------------------ */

/* Where admin queries go: their own pool, so that one slow at millions of rows never waits in
 * (or times out and resets) a pipeline of REGISTERs. */
static struct rdv_pg_pool *admin_pool(const struct pg_store *s) { return s->admin_pool ? s->admin_pool : s->pool; }

/* Sends a read to the standbys when there are any (rdv_lag first, in the same round trip), else
 * to the primary through primary (the main pool for DISCOVER, the admin pool for browsing). */
static void submit_read(struct pg_store *s, struct res_holder *h, struct rdv_pg_pool *primary)
{
    h->s = s;
    h->fallback = primary;
    if (!s->read_pool) {
        rdv_pg_pool_submit(primary, &h->op);
        return;
    }
    h->op.q[1] = h->op.q[0];
    memset(&h->op.q[0], 0, sizeof(h->op.q[0]));
    h->op.q[0].stmt = "rdv_lag";
    h->op.nq = 2;
    h->on_read = true;
    rdv_pg_pool_submit(s->read_pool, &h->op);
}

/* Says when standby reads stop and start again for lag (once each, not once per read). */
static void note_lag(struct pg_store *s, bool behind, int64_t lag_ms)
{
    if (behind && !s->lagging)
        rdv_warn(s->log, "postgres (read): the standby is %lld ms behind (store-read-max-lag-ms %u): reading "
                         "from the primary until it catches up", (long long)lag_ms, s->max_lag_ms);
    else if (!behind && s->lagging)
        rdv_info(s->log, "postgres (read): the standby caught up; reading from it again");
    s->lagging = behind;
}

/* A read the standby did not answer, or answered from too far behind, goes again to the primary:
 * a copy of the operation (its parameters live in its own block, so they are relocated), without
 * rdv_lag. Returns true when re-sent: the caller then reports nothing now. */
static bool read_fallback(struct res_holder *h, enum rdv_store_status st)
{
    struct pg_store *s = h->s;
    if (!h->on_read || s->closed)
        return false;
    bool behind = st == RDV_STORE_OK && h->lag_ms > (int64_t)s->max_lag_ms;
    if (st == RDV_STORE_OK)
        note_lag(s, behind, h->lag_ms);
    if (st == RDV_STORE_OK && !behind)
        return false;
    struct res_holder *c = malloc(h->size);
    if (!c)
        return false;
    memcpy(c, h, h->size);
    struct rdv_pg_query *q = &c->op.q[1];
    for (int i = 0; i < q->nparams; i++) {
        const char *v = q->values[i];
        if (v >= (const char *)h && v < (const char *)h + h->size)
            q->values[i] = (const char *)c + (v - (const char *)h);
    }
    c->op.q[0] = *q;
    memset(q, 0, sizeof(*q));
    c->op.nq = 1;
    c->on_read = false;
    c->res = NULL;
    PQclear(h->res);
    h->res = NULL;
    rdv_pg_pool_submit(h->fallback, &c->op);
    return true;
}

/* ---- the schema version ---------------------------------------------------------------------- */

enum verdict { SCHEMA_OK, SCHEMA_REFUSED, SCHEMA_RETRY };

/* libpq messages end in a newline and may hold more: one line for the log. */
static void one_line(char *buf, size_t cap, const char *msg)
{
    snprintf(buf, cap, "%s", msg ? msg : "");
    for (char *q = buf; *q; q++)
        if (*q == '\n' || *q == '\r')
            *q = ' ';
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == ' ')
        buf[--n] = '\0';
}

/* Judges CHECK_SQL's result: this code serves SCHEMA_VERSION only, since its statements name the
 * columns of that version; why says what the operator should do (the URL is not repeated: it
 * may hold a password). RETRY: a transient failure, not the schema's fault. */
static enum verdict schema_verdict(const PGresult *res, char *why, size_t cap)
{
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        char msg[200];
        if (state && strcmp(state, "42P01") == 0) { /* undefined_table */
            snprintf(why, cap, "the database has no rendezvousd schema (no table rdv_schema_version): "
                               "run `rendezvousd --store URL --init-db` to create it");
            return SCHEMA_REFUSED;
        }
        one_line(msg, sizeof(msg), PQresultErrorMessage(res));
        snprintf(why, cap, "cannot read the schema version (%s): %s", state ? state : "no SQLSTATE", msg);
        return rdv_pg_sqlstate_transient(state) ? SCHEMA_RETRY : SCHEMA_REFUSED;
    }
    int64_t v = 0;
    if (PQnfields(res) != 1 || PQntuples(res) != 1 || !get_i64(res, 0, 0, &v)) {
        snprintf(why, cap, "rdv_schema_version holds no version: run `rendezvousd --store URL --init-db`");
        return SCHEMA_REFUSED;
    }
    if (v < SCHEMA_VERSION) {
        snprintf(why, cap, "schema version %lld is older than this rendezvousd (%d): "
                           "run `rendezvousd --store URL --init-db` to migrate", (long long)v, SCHEMA_VERSION);
        return SCHEMA_REFUSED;
    }
    if (v > SCHEMA_VERSION) {
        snprintf(why, cap, "schema version %lld is newer than this rendezvousd knows (%d): upgrade rendezvousd",
                 (long long)v, SCHEMA_VERSION);
        return SCHEMA_REFUSED;
    }
    return SCHEMA_OK;
}

/* The pool's per-connection check: a refused connection is retried, so a database migrated (or
 * created) while this front-end runs is served without a restart. */
static bool pool_check(void *arg, const PGresult *res, char *why, size_t cap)
{
    (void)arg;
    return schema_verdict(res, why, cap) == SCHEMA_OK;
}

/* rdv_put's $9 from the last figures: none before they were first read (a database fuller than
 * the budgets is then noticed within one refresh). */
static unsigned budget_flags(const struct pg_store *s, const struct rdv_store_put *p)
{
    const struct rdv_store_budget *b = &p->budget;
    const struct rdv_store_stats *u = &s->last;
    unsigned f = 0;
    if (s->last_at == 0)
        return 0;
    if ((b->registrations && u->registrations >= b->registrations) ||
        (b->bytes && u->bytes + rdv_store_reg_cost(p->envelope_len) > b->bytes))
        f |= BUDGET_ADD;
    if (b->namespaces && u->namespaces >= b->namespaces)
        f |= BUDGET_NAME;
    return f;
}

/* ---- put ---------------------------------------------------------------------------------------- */

struct put_op {
    struct res_holder h;
    rdv_store_put_cb cb;
    void *arg;
    bool full;         /* the full put (after a refresh missed), not the refresh */
    size_t ns_len, peer_len, env_len;
    char seq[24], ttl[24], max[24], kind[8], dialect[8], budget[8];
    uint8_t kind_n;
    uint8_t data[]; /* ns, peer id, envelope */
};

/* Binds the refresh (one statement) or the full put (lock when capped, then the upsert); every
 * parameter points into o itself. */
static void put_bind(struct put_op *o, bool same_envelope)
{
    uint8_t *ns = o->data, *peer = ns + o->ns_len, *env = peer + o->peer_len;
    memset(o->h.op.q, 0, sizeof(o->h.op.q));
    lock_key(&o->h, peer, o->peer_len, ns, o->ns_len, o->kind_n);
    size_t nq = 0;
    const char *stmt = "rdv_put";
    if (!o->full)
        stmt = same_envelope ? "rdv_touch" : "rdv_refresh";
    else if (strcmp(o->max, "0") != 0) {
        struct rdv_pg_query *lock = &o->h.op.q[nq++];
        lock->stmt = "rdv_lock_peer";
        bind_bytes(lock, peer, o->peer_len);
    }
    struct rdv_pg_query *up = &o->h.op.q[nq++];
    up->stmt = stmt;
    bind_bytes(up, ns, o->ns_len);
    bind_bytes(up, peer, o->peer_len);
    bind_text(up, o->seq);
    bind_bytes(up, env, o->env_len);
    bind_text(up, o->ttl);
    bind_text(up, o->max);
    bind_text(up, o->kind);
    bind_text(up, o->dialect);
    if (o->full)
        bind_text(up, o->budget);
    o->h.op.nq = nq;
}

/* A refresh that missed: the same put again as the full one, in a copy of the block (the pool
 * frees this one once put_done returns). Returns false when out of memory. */
static bool put_again_full(struct put_op *o)
{
    struct put_op *c = malloc(o->h.size);
    if (!c)
        return false;
    memcpy(c, o, o->h.size);
    memset(&c->h.op, 0, sizeof(c->h.op));
    c->h.op.pin = -1;
    c->h.op.on_result = o->h.op.on_result;
    c->h.op.on_done = o->h.op.on_done;
    c->h.res = NULL;
    c->full = true;
    put_bind(c, false);
    rdv_pg_pool_submit(c->h.s->pool, &c->h.op);
    return true;
}

static void put_done(struct rdv_pg_op *op, enum rdv_store_status st)
{
    struct put_op *o = (struct put_op *)op;
    const PGresult *res = o->h.res;
    int64_t changed = 0;
    bool decoded = shape_ok(res, 2) && PQntuples(res) == 1 && (!o->full || get_i64(res, 0, 1, &changed));
    if (st == RDV_STORE_OK && decoded) {
        const char *v = PQgetvalue(res, 0, 0);
        if (strcmp(v, "stale") == 0)
            st = RDV_STORE_STALE;
        else if (strcmp(v, "limit") == 0 && o->full)
            st = RDV_STORE_LIMIT;
        else if (strcmp(v, "full") == 0 && o->full)
            st = RDV_STORE_FULL;
        else if (strcmp(v, "miss") == 0 && !o->full) {
            PQclear(o->h.res);
            o->h.res = NULL;
            if (!o->h.s->closed && put_again_full(o))
                return;
            o->cb(o->arg, RDV_STORE_ERROR);
            return;
        } else if (strcmp(v, "ok") != 0)
            st = RDV_STORE_ERROR;
        else if (o->full && changed != 1)
            st = RDV_STORE_STALE; /* a newer seq was written between our reads (ON CONFLICT kept it) */
    }
    PQclear(o->h.res);
    o->cb(o->arg, final_status(st, decoded));
}

static void pg_put(struct rdv_store *base, const struct rdv_store_put *p, rdv_store_put_cb cb, void *arg)
{
    struct pg_store *s = (struct pg_store *)base;
    if (!rdv_store_put_valid(p)) {
        cb(arg, RDV_STORE_ERROR);
        return;
    }
    struct put_op *o = op_alloc(sizeof(*o), p->ns_len + p->peer->len + p->envelope_len, put_done);
    if (!o) {
        cb(arg, RDV_STORE_ERROR);
        return;
    }
    o->h.s = s;
    o->cb = cb;
    o->arg = arg;
    o->ns_len = p->ns_len;
    o->peer_len = p->peer->len;
    o->env_len = p->envelope_len;
    uint8_t *ns = o->data, *peer = ns + p->ns_len, *env = peer + p->peer->len;
    memcpy(ns, p->ns, p->ns_len);
    memcpy(peer, p->peer->bytes, p->peer->len);
    memcpy(env, p->envelope, p->envelope_len);
    fmt_u64(o->seq, sizeof(o->seq), p->seq);
    fmt_u64(o->ttl, sizeof(o->ttl), p->ttl_s);
    fmt_u64(o->max, sizeof(o->max), p->max_per_peer);
    fmt_u64(o->kind, sizeof(o->kind), p->kind);
    o->kind_n = p->kind;
    fmt_u64(o->dialect, sizeof(o->dialect), p->dialect);
    fmt_u64(o->budget, sizeof(o->budget), budget_flags(s, p));
    put_bind(o, p->same_envelope);
    rdv_pg_pool_submit(s->pool, &o->h.op);
}

/* ---- unregister ----------------------------------------------------------------------------------- */

struct count_op {
    struct res_holder h;
    rdv_store_count_cb cb;
    void *arg;
    char kind[8];
    uint8_t data[]; /* ns, peer id */
};

static void count_done(struct rdv_pg_op *op, enum rdv_store_status st)
{
    struct count_op *o = (struct count_op *)op;
    const PGresult *res = o->h.res;
    int64_t n = 0;
    bool decoded = shape_ok(res, 1) && PQntuples(res) == 1 && get_i64(res, 0, 0, &n) && n >= 0;
    st = final_status(st, decoded);
    PQclear(o->h.res);
    o->cb(o->arg, st, st == RDV_STORE_OK ? (uint64_t)n : 0);
}

static void pg_unregister(struct rdv_store *base, uint8_t kind, const char *ns, size_t ns_len,
                          const struct rdv_peerid *peer, rdv_store_count_cb cb, void *arg)
{
    struct pg_store *s = (struct pg_store *)base;
    if (!rdv_store_key_valid(kind, ns, ns_len, peer)) {
        cb(arg, RDV_STORE_ERROR, 0);
        return;
    }
    struct count_op *o = op_alloc(sizeof(*o), ns_len + peer->len, count_done);
    if (!o) {
        cb(arg, RDV_STORE_ERROR, 0);
        return;
    }
    o->cb = cb;
    o->arg = arg;
    memcpy(o->data, ns, ns_len);
    memcpy(o->data + ns_len, peer->bytes, peer->len);
    fmt_u64(o->kind, sizeof(o->kind), kind);
    lock_key(&o->h, o->data + ns_len, peer->len, o->data, ns_len, kind);
    struct rdv_pg_query *q = &o->h.op.q[0];
    q->stmt = "rdv_unregister";
    bind_bytes(q, o->data, ns_len);
    bind_text(q, o->kind);
    bind_bytes(q, o->data + ns_len, peer->len);
    o->h.op.nq = 1;
    rdv_pg_pool_submit(s->pool, &o->h.op);
}

/* ---- discover and list_registrations: rows of live records -------------------------------------- */

struct recs_op {
    struct res_holder h;
    rdv_store_discover_cb dcb; /* discover */
    rdv_store_reg_list_cb lcb; /* list_registrations */
    void *arg;
    uint32_t limit;            /* list_registrations: the page size (one more row was asked for) */
    char limit_text[24], after_text[24], kind_text[8];
    struct rdv_peerid cursor;
    uint8_t ns[];
};

static void recs_done(struct rdv_pg_op *op, enum rdv_store_status st)
{
    struct recs_op *o = (struct recs_op *)op;
    if (read_fallback(&o->h, st))
        return;
    const PGresult *res = o->h.res;
    bool decoded = shape_ok(res, LIVE_ROW_NCOLS);
    size_t n = decoded ? (size_t)PQntuples(res) : 0;
    int more = 0;
    if (o->lcb && n > o->limit) {
        n = o->limit;
        more = 1;
    }
    struct rdv_store_record *recs = NULL;
    if (st == RDV_STORE_OK && decoded && n) {
        recs = calloc(n, sizeof(*recs));
        for (size_t i = 0; recs && decoded && i < n; i++)
            decoded = get_record(res, (int)i, &recs[i]);
        if (!recs)
            st = RDV_STORE_ERROR;
    }
    st = final_status(st, decoded);
    if (st != RDV_STORE_OK) {
        n = 0;
        more = 0;
    }
    if (o->dcb)
        o->dcb(o->arg, st, st == RDV_STORE_OK ? recs : NULL, n);
    else
        o->lcb(o->arg, st, st == RDV_STORE_OK ? recs : NULL, n, more);
    free(recs);
    PQclear(o->h.res);
}

/* Binds a discover: sampled (ns, kind, limit) or ordered ([kind, ns,] after, limit). */
static void discover_bind(struct recs_op *o, const struct rdv_store_query *qr)
{
    struct rdv_pg_query *q = &o->h.op.q[0];
    /* counters are bigint: nothing lies beyond INT64_MAX */
    fmt_u64(o->after_text, sizeof(o->after_text), qr->after > INT64_MAX ? (uint64_t)INT64_MAX : qr->after);
    if (!qr->ordered) {
        q->stmt = "rdv_discover";
        bind_bytes(q, o->ns, qr->ns_len);
        bind_text(q, o->kind_text);
    } else {
        q->stmt = qr->ns_len ? "rdv_discover_after_ns" : "rdv_discover_after";
        bind_text(q, o->kind_text);
        if (qr->ns_len)
            bind_bytes(q, o->ns, qr->ns_len);
        bind_text(q, o->after_text);
    }
    bind_text(q, o->limit_text);
}

static void pg_discover(struct rdv_store *base, const struct rdv_store_query *qr, rdv_store_discover_cb cb,
                        void *arg)
{
    struct pg_store *s = (struct pg_store *)base;
    if (!rdv_store_query_valid(qr)) {
        cb(arg, RDV_STORE_ERROR, NULL, 0);
        return;
    }
    struct recs_op *o = op_alloc(sizeof(*o), qr->ns_len, recs_done);
    if (!o) {
        cb(arg, RDV_STORE_ERROR, NULL, 0);
        return;
    }
    o->dcb = cb;
    o->arg = arg;
    if (qr->ns_len)
        memcpy(o->ns, qr->ns, qr->ns_len);
    fmt_u64(o->limit_text, sizeof(o->limit_text), page_limit(qr->limit));
    fmt_u64(o->kind_text, sizeof(o->kind_text), qr->kind);
    discover_bind(o, qr);
    o->h.op.nq = 1;
    submit_read(s, &o->h, s->pool);
}

static void pg_list_registrations(struct rdv_store *base, uint8_t kind, const char *ns, size_t ns_len,
                                  const struct rdv_peerid *cursor, uint32_t limit, rdv_store_reg_list_cb cb,
                                  void *arg)
{
    struct pg_store *s = (struct pg_store *)base;
    if (kind >= RDV_STORE_KINDS || (!ns && ns_len) || ns_len > RDV_NS_MAX ||
        (cursor && cursor->len > RDV_PEERID_MAX)) {
        cb(arg, RDV_STORE_ERROR, NULL, 0, 0);
        return;
    }
    if (ns_len == 0 || limit == 0) { /* no namespace is empty; an empty page is all there is */
        cb(arg, RDV_STORE_OK, NULL, 0, 0);
        return;
    }
    struct recs_op *o = op_alloc(sizeof(*o), ns_len, recs_done);
    if (!o) {
        cb(arg, RDV_STORE_ERROR, NULL, 0, 0);
        return;
    }
    o->lcb = cb;
    o->arg = arg;
    o->limit = page_limit(limit);
    memcpy(o->ns, ns, ns_len);
    if (cursor)
        o->cursor = *cursor;
    fmt_u64(o->limit_text, sizeof(o->limit_text), (uint64_t)o->limit + 1);
    fmt_u64(o->kind_text, sizeof(o->kind_text), kind);
    struct rdv_pg_query *q = &o->h.op.q[0];
    q->stmt = "rdv_list_regs";
    bind_bytes(q, o->ns, ns_len);
    bind_text(q, o->kind_text);
    bind_bytes(q, o->cursor.bytes, o->cursor.len); /* empty: before every peer id */
    bind_text(q, o->limit_text);
    o->h.op.nq = 1;
    submit_read(s, &o->h, admin_pool(s));
}

/* The search by peer id: list_registrations' rows and answer, keyed by the peer instead. */
static void pg_list_peer(struct rdv_store *base, const struct rdv_peerid *peer, uint32_t limit, rdv_store_reg_list_cb cb,
                         void *arg)
{
    struct pg_store *s = (struct pg_store *)base;
    struct recs_op *o = peer && peer->len && peer->len <= RDV_PEERID_MAX ? op_alloc(sizeof(*o), 0, recs_done) : NULL;
    if (!o) {
        cb(arg, RDV_STORE_ERROR, NULL, 0, 0);
        return;
    }
    o->lcb = cb;
    o->arg = arg;
    o->limit = page_limit(limit);
    o->cursor = *peer;
    fmt_u64(o->limit_text, sizeof(o->limit_text), (uint64_t)o->limit + 1);
    struct rdv_pg_query *q = &o->h.op.q[0];
    q->stmt = "rdv_list_peer";
    bind_bytes(q, o->cursor.bytes, o->cursor.len);
    bind_text(q, o->limit_text);
    o->h.op.nq = 1;
    rdv_pg_pool_submit(admin_pool(s), &o->h.op);
}

/* ---- list_namespaces ---------------------------------------------------------------------------- */

struct ns_op {
    struct res_holder h;
    rdv_store_ns_list_cb cb;
    void *arg;
    uint32_t limit;
    char limit_text[24], kind_text[8];
    uint8_t data[]; /* prefix, cursor name */
};

#define NS_NCOLS (5 + RDV_STORE_DIALECTS)

static bool get_ns_info(const PGresult *res, int row, struct rdv_store_ns_info *it)
{
    int64_t count, d;
    if (!get_ns(res, row, 0, &it->ns, &it->ns_len) || !get_small(res, row, 1, RDV_STORE_KINDS, &it->kind) ||
        !get_i64(res, row, 2, &count) || count < 1)
        return false;
    it->count = (uint64_t)count;
    for (int k = 0; k < RDV_STORE_DIALECTS; k++) {
        if (!get_i64(res, row, 5 + k, &d) || d < 0)
            return false;
        it->by_dialect[k] = (uint64_t)d;
    }
    return get_i64(res, row, 3, &it->soonest_expiry_ms) && get_i64(res, row, 4, &it->latest_expiry_ms);
}

static void ns_done(struct rdv_pg_op *op, enum rdv_store_status st)
{
    struct ns_op *o = (struct ns_op *)op;
    if (read_fallback(&o->h, st))
        return;
    const PGresult *res = o->h.res;
    bool decoded = shape_ok(res, NS_NCOLS);
    size_t n = decoded ? (size_t)PQntuples(res) : 0;
    int more = n > o->limit;
    if (more)
        n = o->limit;
    struct rdv_store_ns_info *items = NULL;
    if (st == RDV_STORE_OK && decoded && n) {
        items = calloc(n, sizeof(*items));
        for (size_t i = 0; items && decoded && i < n; i++)
            decoded = get_ns_info(res, (int)i, &items[i]);
        if (!items)
            st = RDV_STORE_ERROR;
    }
    st = final_status(st, decoded);
    if (st == RDV_STORE_OK)
        o->cb(o->arg, st, items, n, more);
    else
        o->cb(o->arg, st, NULL, 0, 0);
    free(items);
    PQclear(o->h.res);
}

/* The namespace cursor of store.h: a name, optionally followed by 0x00 and a kind byte; without
 * the kind it means after every kind of the name (a kind above any, KIND_AFTER_ALL). */
static size_t ns_cursor_split(const char *cursor, size_t len, char *kind_text, size_t cap)
{
    if (len >= 2 && cursor[len - 2] == '\0') {
        fmt_u64(kind_text, cap, (uint8_t)cursor[len - 1]);
        return len - 2;
    }
    snprintf(kind_text, cap, "%s", KIND_AFTER_ALL);
    return len;
}

static void pg_list_namespaces(struct rdv_store *base, const char *prefix, size_t prefix_len, const char *cursor,
                               size_t cursor_len, uint32_t limit, rdv_store_ns_list_cb cb, void *arg)
{
    struct pg_store *s = (struct pg_store *)base;
    if ((!prefix && prefix_len) || (!cursor && cursor_len) || prefix_len > RDV_NS_MAX ||
        cursor_len > RDV_NS_MAX + 2) {
        cb(arg, RDV_STORE_ERROR, NULL, 0, 0);
        return;
    }
    if (limit == 0) {
        cb(arg, RDV_STORE_OK, NULL, 0, 0);
        return;
    }
    struct ns_op *o = op_alloc(sizeof(*o), prefix_len + cursor_len, ns_done);
    if (!o) {
        cb(arg, RDV_STORE_ERROR, NULL, 0, 0);
        return;
    }
    o->cb = cb;
    o->arg = arg;
    o->limit = page_limit(limit);
    size_t name_len = ns_cursor_split(cursor, cursor_len, o->kind_text, sizeof(o->kind_text));
    if (prefix_len)
        memcpy(o->data, prefix, prefix_len);
    if (name_len)
        memcpy(o->data + prefix_len, cursor, name_len);
    fmt_u64(o->limit_text, sizeof(o->limit_text), (uint64_t)o->limit + 1);
    struct rdv_pg_query *q = &o->h.op.q[0];
    q->stmt = "rdv_list_ns";
    bind_bytes(q, o->data, prefix_len);
    bind_bytes(q, o->data + prefix_len, name_len); /* empty: before every namespace */
    bind_text(q, o->kind_text);
    bind_text(q, o->limit_text);
    o->h.op.nq = 1;
    submit_read(s, &o->h, admin_pool(s));
}

/* ---- stats and health --------------------------------------------------------------------------- */

struct stats_op {
    struct res_holder h;
    struct pg_store *s;
    rdv_store_stats_cb scb; /* stats (NULL: a refresh of the budget figures only) */
    rdv_store_health_cb hcb;
    void *arg;
};

#define STATS_NCOLS (3 + RDV_STORE_DIALECTS)

static bool stats_decode(const PGresult *res, struct rdv_store_stats *out)
{
    int64_t regs = 0, spaces = 0, bytes = 0, d = 0;
    bool good = shape_ok(res, STATS_NCOLS) && PQntuples(res) == 1 && get_i64(res, 0, 0, &regs) &&
                get_i64(res, 0, 1, &spaces) && get_i64(res, 0, 2 + RDV_STORE_DIALECTS, &bytes) && regs >= 0 &&
                spaces >= 0 && bytes >= 0;
    out->registrations = (uint64_t)regs;
    out->namespaces = (uint64_t)spaces;
    out->bytes = (uint64_t)bytes;
    for (int k = 0; good && k < RDV_STORE_DIALECTS; k++) {
        good = get_i64(res, 0, 2 + k, &d) && d >= 0;
        out->by_dialect[k] = (uint64_t)d;
    }
    return good;
}

/* The database's figures, kept (with when) for the budget checks of later puts. */
static void stats_done(struct rdv_pg_op *op, enum rdv_store_status st)
{
    struct stats_op *o = (struct stats_op *)op;
    struct pg_store *s = o->s;
    const PGresult *res = o->h.res;
    if (o->hcb) {
        o->hcb(o->arg, final_status(st, shape_ok(res, 1) && PQntuples(res) == 1));
        PQclear(o->h.res);
        return;
    }
    struct rdv_store_stats out = {0};
    st = final_status(st, stats_decode(res, &out));
    PQclear(o->h.res);
    s->refreshing--;
    if (st == RDV_STORE_OK) {
        s->last = out;
        s->last_at = ev_now(s->loop);
    } else {
        memset(&out, 0, sizeof(out));
    }
    if (!o->scb)
        return;
    out.budgeted = 1;
    out.reaper = s->holding;
    rdv_pg_pool_usage(s->pool, &out.pool_ready, &out.pool_busy);
    rdv_pg_pool_batches(s->pool, &out.transactions, &out.batched_ops);
    uint32_t busy = 0;
    if (s->admin_pool)
        rdv_pg_pool_usage(s->admin_pool, &out.admin_ready, &busy);
    o->scb(o->arg, st, &out);
}

static struct stats_op *stats_op_new(struct pg_store *s, const char *stmt, void *arg)
{
    struct stats_op *o = op_alloc(sizeof(*o), 0, stats_done);
    if (!o)
        return NULL;
    o->s = s;
    o->arg = arg;
    o->h.op.q[0].stmt = stmt;
    o->h.op.nq = 1;
    return o;
}

/* Every scrape asks the database (on the admin pool, so never in a REGISTER's way); cb NULL: only
 * refresh the figures the budgets are checked against. */
static void stats_submit(struct pg_store *s, rdv_store_stats_cb cb, void *arg)
{
    struct stats_op *o = stats_op_new(s, "rdv_stats", arg);
    if (!o) {
        struct rdv_store_stats zero = {0};
        if (cb)
            cb(arg, RDV_STORE_ERROR, &zero);
        return;
    }
    o->scb = cb;
    s->refreshing++;
    rdv_pg_pool_submit(admin_pool(s), &o->h.op);
}

static void pg_stats(struct rdv_store *base, rdv_store_stats_cb cb, void *arg)
{
    stats_submit((struct pg_store *)base, cb, arg);
}

/* Called at each expire() tick: keeps the budget figures at most about STATS_MAX_AGE_S old
 * whether or not anyone scrapes. */
static void stats_refresh(struct pg_store *s)
{
    if (!s->refreshing && !s->closed && (s->last_at == 0 || ev_now(s->loop) - s->last_at >= STATS_MAX_AGE_S))
        stats_submit(s, NULL, NULL);
}

static void pg_health(struct rdv_store *base, rdv_store_health_cb cb, void *arg)
{
    struct pg_store *s = (struct pg_store *)base;
    struct stats_op *o = stats_op_new(s, "rdv_health", arg);
    if (!o) {
        cb(arg, RDV_STORE_ERROR);
        return;
    }
    o->hcb = cb;
    rdv_pg_pool_submit(s->pool, &o->h.op);
}

/* ---- expire: the reaper ----------------------------------------------------------------------- */

/* One batch of a sweep: renew (or take) the lease, then delete at most RDV_PG_REAP_BATCH expired
 * rows if it is ours, in one transaction. Carries the sweep along. */
struct reap_op {
    struct res_holder h;
    struct pg_store *s;
    rdv_store_count_cb cb;
    void *arg;
    uint64_t total;
    unsigned batches;
    bool held;
    char batch_text[24], lease_text[24];
};

static void reap_finish(struct pg_store *s, rdv_store_count_cb cb, void *arg, enum rdv_store_status st,
                        uint64_t total)
{
    s->reaping = false;
    cb(arg, st, total);
}

static void reap_submit(struct pg_store *s, rdv_store_count_cb cb, void *arg, uint64_t total, unsigned batches);

/* The lease statement's rows say whether this store holds it (the DELETE's result is kept). */
static bool reap_result(struct rdv_pg_op *op, size_t idx, PGresult *res)
{
    struct reap_op *o = (struct reap_op *)op;
    if (idx == 0) {
        o->held = PQntuples(res) == 1;
        return false;
    }
    return keep_last(op, idx, res);
}

/* Logs the changes of who sweeps, not every sweep. */
static void note_lease(struct pg_store *s, bool held)
{
    if (held && !s->holding)
        rdv_info(s->log, "postgres: this front-end now holds the reaper lease (%s) and sweeps expired registrations",
                 s->holder);
    else if (!held && s->holding)
        rdv_warn(s->log, "postgres: the reaper lease went to another front-end");
    s->holding = held;
}

static void reap_done(struct rdv_pg_op *op, enum rdv_store_status st)
{
    struct reap_op *o = (struct reap_op *)op;
    struct pg_store *s = o->s;
    const PGresult *res = o->h.res;
    char *end = NULL;
    const char *tuples = res ? PQcmdTuples((PGresult *)res) : "";
    errno = 0;
    unsigned long long n = strtoull(tuples, &end, 10);
    bool decoded = res && *tuples && end && *end == '\0' && errno == 0;
    st = final_status(st, decoded);
    PQclear(o->h.res);
    if (st != RDV_STORE_OK) {
        reap_finish(s, o->cb, o->arg, st, o->total);
        return;
    }
    note_lease(s, o->held);
    uint64_t total = o->total + n;
    if (o->held && n == RDV_PG_REAP_BATCH && o->batches + 1 < RDV_PG_REAP_MAX_BATCHES && !s->closed)
        reap_submit(s, o->cb, o->arg, total, o->batches + 1);
    else
        reap_finish(s, o->cb, o->arg, RDV_STORE_OK, total);
}

static void reap_submit(struct pg_store *s, rdv_store_count_cb cb, void *arg, uint64_t total, unsigned batches)
{
    struct reap_op *o = op_alloc(sizeof(*o), 0, reap_done);
    if (!o) {
        reap_finish(s, cb, arg, RDV_STORE_ERROR, total);
        return;
    }
    o->s = s;
    o->cb = cb;
    o->arg = arg;
    o->total = total;
    o->batches = batches;
    o->h.op.on_result = reap_result;
    /* not batched (op.batch false): up to 1000 row deletions, no REGISTER should wait for them */
    fmt_u64(o->batch_text, sizeof(o->batch_text), RDV_PG_REAP_BATCH);
    fmt_u64(o->lease_text, sizeof(o->lease_text), REAPER_LEASE_MS);
    struct rdv_pg_query *lease = &o->h.op.q[0], *del = &o->h.op.q[1];
    lease->stmt = "rdv_reaper_lease";
    bind_text(lease, s->holder);
    bind_text(lease, o->lease_text);
    del->stmt = "rdv_reap";
    bind_text(del, o->batch_text);
    bind_text(del, s->holder);
    o->h.op.nq = 2;
    rdv_pg_pool_submit(s->pool, &o->h.op);
}

/* Every front-end's expire() contends for the lease; the holder renews it at each call (so an
 * expire interval under REAPER_LEASE_MS keeps one reaper) and sweeps; the others delete nothing. */
static void pg_expire(struct rdv_store *base, rdv_store_count_cb cb, void *arg)
{
    struct pg_store *s = (struct pg_store *)base;
    stats_refresh(s);
    if (s->reaping) { /* the previous sweep is still going: this tick has nothing to add */
        cb(arg, RDV_STORE_OK, 0);
        return;
    }
    s->reaping = true;
    reap_submit(s, cb, arg, 0, 0);
}

/* ---- open, close, init ------------------------------------------------------------------------ */

/* Each pool calls this as it goes; the store goes with the last. */
static void store_free(void *arg)
{
    struct pg_store *s = arg;
    if (--s->pools > 0)
        return;
    sodium_memzero(s->secret, sizeof(s->secret));
    free(s->conninfo);
    free(s);
}

static PGconn *connect_blocking(const char *conninfo, const char *app, const char *timeout_s);

/* A clean shutdown hands the reaper lease over at once instead of letting it run out: one
 * blocking statement, and only for the holder (a database that is down costs at most 2 s). */
static void release_lease(struct pg_store *s)
{
    PGconn *pg = connect_blocking(s->conninfo, "rendezvousd (closing)", "2");
    if (pg && PQstatus(pg) == CONNECTION_OK) {
        const char *values[] = {s->holder};
        PQclear(PQexecParams(pg, "DELETE FROM rdv_meta WHERE key = '" REAPER_ROW "' "
                                 "AND split_part(convert_from(value, 'UTF8'), ' ', 1) = $1::text",
                             1, NULL, values, NULL, NULL, 0));
    }
    PQfinish(pg);
}

static void pg_close(struct rdv_store *base)
{
    struct pg_store *s = (struct pg_store *)base;
    if (s->holding && s->conninfo)
        release_lease(s);
    s->closed = true;
    struct rdv_pg_pool *read = s->read_pool, *admin = s->admin_pool;
    rdv_pg_pool_free(s->pool); /* fails what is pending; frees s through store_free once all are gone */
    if (read)
        rdv_pg_pool_free(read);
    if (admin)
        rdv_pg_pool_free(admin);
}

/* ---- secret ------------------------------------------------------------------------------------- */

/* Fetching the secret: read it; when absent, a second operation offers a fresh one (ON CONFLICT
 * DO NOTHING: the first writer among all front-ends wins) and reads back what won. Two steps so
 * that the usual case, a secret made at --init-db, needs only SELECT. */
struct secret_op {
    struct res_holder h;
    struct pg_store *s;
    rdv_store_secret_cb cb;
    void *arg;
    bool offered;
    uint8_t offer[RDV_STORE_SECRET_LEN];
};

static void secret_submit(struct pg_store *s, bool offer, rdv_store_secret_cb cb, void *arg);

/* Takes the secret from a rdv_secret_get result into the cache: 1 taken, 0 absent, -1 malformed. */
static int secret_take(struct pg_store *s, const PGresult *res)
{
    if (!shape_ok(res, 1) || PQntuples(res) > 1)
        return -1;
    if (PQntuples(res) == 0)
        return 0;
    if (PQgetisnull(res, 0, 0) || PQgetlength(res, 0, 0) != RDV_STORE_SECRET_LEN) {
        rdv_error(s->log, "postgres: rdv_meta's %s is not %d bytes", SECRET_KEY, RDV_STORE_SECRET_LEN);
        return -1;
    }
    memcpy(s->secret, PQgetvalue(res, 0, 0), RDV_STORE_SECRET_LEN);
    s->have_secret = true;
    return 1;
}

static void secret_done(struct rdv_pg_op *op, enum rdv_store_status st)
{
    struct secret_op *o = (struct secret_op *)op;
    struct pg_store *s = o->s;
    sodium_memzero(o->offer, sizeof(o->offer));
    int got = st == RDV_STORE_OK ? secret_take(s, o->h.res) : 0;
    PQclear(o->h.res);
    if (st == RDV_STORE_OK && got == 0 && !o->offered && !s->closed) {
        secret_submit(s, true, o->cb, o->arg);
        return;
    }
    st = final_status(st, got == 1);
    o->cb(o->arg, st, st == RDV_STORE_OK ? s->secret : NULL);
}

static void secret_submit(struct pg_store *s, bool offer, rdv_store_secret_cb cb, void *arg)
{
    struct secret_op *o = op_alloc(sizeof(*o), 0, secret_done);
    if (!o) {
        cb(arg, RDV_STORE_ERROR, NULL);
        return;
    }
    o->s = s;
    o->cb = cb;
    o->arg = arg;
    o->offered = offer;
    struct rdv_pg_query *q = o->h.op.q;
    if (offer) {
        randombytes_buf(o->offer, sizeof(o->offer));
        q->stmt = "rdv_secret_add";
        bind_bytes(q, o->offer, sizeof(o->offer));
        q++;
    }
    q->stmt = "rdv_secret_get";
    o->h.op.nq = offer ? 2 : 1;
    rdv_pg_pool_submit(s->pool, &o->h.op);
}

/* From the cache once read (then answered before returning): the secret never changes. */
static void pg_secret(struct rdv_store *base, rdv_store_secret_cb cb, void *arg)
{
    struct pg_store *s = (struct pg_store *)base;
    if (s->have_secret)
        cb(arg, RDV_STORE_OK, s->secret);
    else
        secret_submit(s, false, cb, arg);
}

static const struct rdv_store_ops pg_ops = {
    .kind = "postgres",
    .put = pg_put,
    .unregister = pg_unregister,
    .discover = pg_discover,
    .secret = pg_secret,
    .expire = pg_expire,
    .stats = pg_stats,
    .list_namespaces = pg_list_namespaces,
    .list_registrations = pg_list_registrations,
    .list_peer = pg_list_peer,
    .health = pg_health,
    .close = pg_close,
};

/* ---- blocking set-up: the probe at open, and --init-db ------------------------------------------ */

static PGconn *connect_blocking(const char *conninfo, const char *app, const char *timeout_s)
{
    static const char *const keys[] = {"dbname", "fallback_application_name", "connect_timeout", NULL};
    const char *const vals[] = {conninfo, app, timeout_s, NULL};
    return PQconnectdbParams(keys, vals, 1);
}

static bool exec_ok(const PGresult *res)
{
    return PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
}

/* Reads the secret, offering one first when there is none; fills s's cache. Blocking. */
static bool secret_blocking(PGconn *pg, struct pg_store *s)
{
    static const char *get = "SELECT value FROM rdv_meta WHERE key = '" SECRET_KEY "'";
    PGresult *res = PQexecParams(pg, get, 0, NULL, NULL, NULL, NULL, 1);
    int got = secret_take(s, res);
    PQclear(res);
    if (got != 0)
        return got == 1;
    uint8_t offer[RDV_STORE_SECRET_LEN];
    randombytes_buf(offer, sizeof(offer));
    const char *values[] = {(const char *)offer};
    const int lengths[] = {sizeof(offer)}, formats[] = {1};
    res = PQexecParams(pg, "INSERT INTO rdv_meta (key, value) VALUES ('" SECRET_KEY "', $1::bytea) "
                           "ON CONFLICT (key) DO NOTHING", 1, NULL, values, lengths, formats, 1);
    sodium_memzero(offer, sizeof(offer));
    bool added = exec_ok(res);
    PQclear(res);
    if (!added)
        return false;
    res = PQexecParams(pg, get, 0, NULL, NULL, NULL, NULL, 1);
    got = secret_take(s, res);
    PQclear(res);
    return got == 1;
}

/* One blocking look at the database before serving, so that a front-end started on the wrong
 * schema fails at start with the reason, instead of running and answering UNAVAILABLE: returns
 * RDV_ERR_INVALID with why in err for a refused schema. A database that cannot be reached now is
 * not an error (the store answers UNAVAILABLE until it is back, and the pool checks every
 * connection anyway); the wait is bounded by libpq's shortest connect_timeout, 2 s. While there,
 * it reads (or makes) the secret. */
static int probe(struct pg_store *s, const char *conninfo, char *err, size_t errlen)
{
    PGconn *pg = connect_blocking(conninfo, "rendezvousd", "2");
    if (!pg || PQstatus(pg) != CONNECTION_OK) {
        rdv_debug(s->log, "postgres: the database cannot be reached at open; the pool keeps trying");
        PQfinish(pg);
        return RDV_OK;
    }
    char why[256];
    PGresult *res = PQexecParams(pg, CHECK_SQL, 0, NULL, NULL, NULL, NULL, 1);
    enum verdict v = schema_verdict(res, why, sizeof(why));
    PQclear(res);
    if (v == SCHEMA_REFUSED) {
        snprintf(err, errlen, "store: postgres: %s", why);
        PQfinish(pg);
        return RDV_ERR_INVALID;
    }
    if (v == SCHEMA_OK && !secret_blocking(pg, s))
        rdv_warn(s->log, "postgres: cannot read or make the cookie secret at open; trying again when needed");
    PQfinish(pg);
    return RDV_OK;
}

static int conninfo_valid(const char *conninfo, char *err, size_t errlen)
{
    char *msg = NULL, line[256];
    PQconninfoOption *opts = PQconninfoParse(conninfo, &msg);
    if (opts) {
        PQconninfoFree(opts);
        return RDV_OK;
    }
    one_line(line, sizeof(line), msg ? msg : "out of memory");
    snprintf(err, errlen, "store: bad PostgreSQL connection string: %s", line);
    PQfreemem(msg);
    return RDV_ERR_INVALID;
}

static struct rdv_pg_pool_config pool_config(struct pg_store *s, const char *conninfo,
                                             const struct rdv_store_options *opt)
{
    struct rdv_pg_pool_config cfg = {
        .conninfo = conninfo, .stmts = stmts, .nstmts = NSTMTS,
        .size = opt->pool ? opt->pool : RDV_PG_DEFAULT_POOL,
        .timeout_ms = opt->timeout_ms ? opt->timeout_ms : RDV_PG_DEFAULT_TIMEOUT_MS,
        .backoff_min_ms = 100, .backoff_max_ms = 2000,
        .max_inflight = 64, .max_queued = 65536, .batch_max = opt->batch ? opt->batch : DEFAULT_BATCH,
        .order = write_order, .prepared = !opt->unprepared, .told_unprepared = &s->told_unprepared,
        .refused = s->refused,
        .app_name = opt->app_name,
        .check_sql = CHECK_SQL, .check = pool_check, .check_arg = s,
        .on_free = store_free, .free_arg = s,
    };
    return cfg;
}

/* The one line at start that says where the store is (password masked) and how it talks. */
static void log_open(const struct pg_store *s, const char *what, const char *conninfo,
                     const struct rdv_store_options *opt)
{
    char masked[1024];
    rdv_info(s->log, "postgres: %s: %s; %s", what, rdv_pg_conninfo_masked(conninfo, masked, sizeof(masked)),
             opt->unprepared ? "no prepared statements (store-prepared=0: for a transaction pooler)"
                             : "prepared statements (store-prepared=0 for pgbouncer < 1.21 in transaction mode)");
}

/* The admin queries' pool: same statements and checks, a deadline of its own (a namespace list
 * at millions of rows may rightly take longer than a REGISTER may), and its own
 * application_name, so pg_stat_activity shows which sessions are the admin's. */
static int open_admin_pool(struct pg_store *s, const char *conninfo, struct ev_loop *loop,
                           const struct rdv_store_options *opt, char *err, size_t errlen)
{
    char app[96];
    snprintf(app, sizeof(app), "%s (admin)", opt->app_name ? opt->app_name : "rendezvousd");
    struct rdv_pg_pool_config cfg = pool_config(s, conninfo, opt);
    cfg.size = opt->admin_pool > 0 ? (unsigned)opt->admin_pool : DEFAULT_ADMIN_POOL;
    cfg.timeout_ms = opt->admin_timeout_ms ? opt->admin_timeout_ms : DEFAULT_ADMIN_TIMEOUT_MS;
    cfg.max_queued = 1024; /* scrapes and page views; an admin flood fails fast instead */
    cfg.app_name = app;
    cfg.label = "postgres (admin)";
    int rc = rdv_pg_pool_new(loop, s->log, &cfg, &s->admin_pool, err, errlen);
    if (rc == RDV_OK)
        s->pools++;
    return rc;
}

/* The standbys' pool (--store-read): same statements and checks, its own label in the log. */
static int open_read_pool(struct pg_store *s, struct ev_loop *loop, const struct rdv_store_options *opt,
                          char *err, size_t errlen)
{
    struct rdv_pg_pool_config cfg = pool_config(s, opt->read_url, opt);
    cfg.label = "postgres (read)";
    int rc = rdv_pg_pool_new(loop, s->log, &cfg, &s->read_pool, err, errlen);
    if (rc == RDV_OK) {
        s->pools++;
        s->max_lag_ms = opt->read_max_lag_ms ? opt->read_max_lag_ms : DEFAULT_MAX_LAG_MS;
        log_open(s, "reads (DISCOVER, browsing) from", opt->read_url, opt);
    }
    return rc;
}

int rdv_store_postgres_open_with(const char *conninfo, const struct rdv_store_options *opt, struct ev_loop *loop,
                                 const struct rdv_log *log, struct rdv_store **out, char *err, size_t errlen)
{
    static const struct rdv_store_options none = {0};
    opt = opt ? opt : &none;
    *out = NULL;
    if (opt->batch > RDV_PG_MAX_BATCH) {
        snprintf(err, errlen, "store: batches of more than %d operations", RDV_PG_MAX_BATCH);
        return RDV_ERR_INVALID;
    }
    if (opt->pool > RDV_PG_MAX_POOL || opt->admin_pool > RDV_PG_MAX_POOL) {
        snprintf(err, errlen, "store: a pool of more than %d connections", RDV_PG_MAX_POOL);
        return RDV_ERR_INVALID;
    }
    if (sodium_init() < 0) {
        snprintf(err, errlen, "store: libsodium failed to initialise");
        return RDV_ERR_INVALID;
    }
    struct pg_store *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return RDV_ERR_NOMEM;
    }
    s->base.ops = &pg_ops;
    s->log = log;
    s->loop = loop;
    uint8_t id[8];
    randombytes_buf(id, sizeof(id));
    snprintf(s->holder, sizeof(s->holder), "rdv-");
    sodium_bin2hex(s->holder + 4, sizeof(s->holder) - 4, id, sizeof(id));
    /* probe (blocking) only a valid connection string, and before the pool starts: its connect
     * deadlines count from its start */
    int rc = conninfo_valid(conninfo, err, errlen);
    if (rc || (rc = probe(s, conninfo, err, errlen))) {
        free(s);
        return rc;
    }
    struct rdv_pg_pool_config cfg = pool_config(s, conninfo, opt);
    if ((rc = rdv_pg_pool_new(loop, log, &cfg, &s->pool, err, errlen))) {
        free(s);
        return rc;
    }
    s->pools = 1;
    s->conninfo = strdup(conninfo); /* NULL (no memory): the lease then just runs out */
    log_open(s, "store", conninfo, opt);
    if (opt->admin_pool >= 0 && (rc = open_admin_pool(s, conninfo, loop, opt, err, errlen))) {
        pg_close(&s->base); /* frees s */
        return rc;
    }
    if (opt->read_url && *opt->read_url && (rc = open_read_pool(s, loop, opt, err, errlen))) {
        pg_close(&s->base); /* frees s */
        return rc;
    }
    *out = &s->base;
    return RDV_OK;
}

int rdv_store_postgres_open(const char *conninfo, uint32_t timeout_ms, unsigned pool, struct ev_loop *loop,
                            const struct rdv_log *log, struct rdv_store **out, char *err, size_t errlen)
{
    struct rdv_store_options opt = {.timeout_ms = timeout_ms, .pool = pool};
    return rdv_store_postgres_open_with(conninfo, &opt, loop, log, out, err, errlen);
}

const char *rdv_store_postgres_schema(void) { return RDV_PG_SCHEMA_SQL; }

const char *rdv_store_postgres_sql(const char *name)
{
    for (size_t i = 0; i < NSTMTS; i++)
        if (strcmp(stmts[i].name, name) == 0)
            return stmts[i].sql;
    return NULL;
}

/* Applies the schema and makes the secret in one transaction (BEGIN inside the simple query
 * keeps it open for the secret's statements); the lock serializes concurrent inits. */
static int init_apply(PGconn *pg, char *err, size_t errlen)
{
    char msg[512];
    PGresult *res = PQexec(pg, "SET client_min_messages = warning; BEGIN; "
                               "SELECT pg_advisory_xact_lock(" INIT_KEY "); " RDV_PG_SCHEMA_SQL);
    bool good = exec_ok(res);
    if (!good) {
        one_line(msg, sizeof(msg), PQresultErrorMessage(res));
        snprintf(err, errlen, "applying the schema failed: %s", msg);
    }
    PQclear(res);
    if (!good)
        return RDV_ERR_INVALID;
    struct pg_store scratch = {.log = NULL};
    if (!secret_blocking(pg, &scratch)) {
        one_line(msg, sizeof(msg), PQerrorMessage(pg));
        snprintf(err, errlen, "making the cookie secret failed: %s", msg);
        return RDV_ERR_INVALID;
    }
    sodium_memzero(scratch.secret, sizeof(scratch.secret));
    res = PQexec(pg, "COMMIT");
    good = exec_ok(res);
    if (!good) {
        one_line(msg, sizeof(msg), PQresultErrorMessage(res));
        snprintf(err, errlen, "committing the schema failed: %s", msg);
    }
    PQclear(res);
    return good ? RDV_OK : RDV_ERR_INVALID;
}

int rdv_store_postgres_init(const char *conninfo, char *err, size_t errlen)
{
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium failed to initialise");
        return RDV_ERR_INVALID;
    }
    PGconn *pg = connect_blocking(conninfo, "rendezvousd --init-db", "10");
    if (!pg || PQstatus(pg) != CONNECTION_OK) {
        char msg[512];
        one_line(msg, sizeof(msg), pg ? PQerrorMessage(pg) : "out of memory");
        snprintf(err, errlen, "cannot connect: %s", msg);
        PQfinish(pg);
        return RDV_ERR_UNAVAILABLE;
    }
    int rc = init_apply(pg, err, errlen);
    PQfinish(pg); /* a transaction left open by a failure is rolled back */
    return rc;
}
