/* postgres.c: the PostgreSQL store (see postgres.h): the SQL of each operation, how its
 * parameters are bound and its rows decoded, and the reaper.
 *
 * put runs two statements in one pipelined transaction: pg_advisory_xact_lock on the peer id
 * (a transaction-level lock, released at commit), then one upsert statement. The lock is what
 * makes the per-peer cap exact across front-ends: two puts of the same peer into different
 * namespaces would otherwise both count the peer's live rows before either inserts, and both pass.
 * Under READ COMMITTED the upsert takes its snapshot after the lock statement returned, so it sees
 * every earlier put of that peer committed. The upsert itself (a CTE) decides stale / limit / ok
 * and inserts or updates in the same statement; its ON CONFLICT ... WHERE keeps a newer seq even
 * without the lock. An expired row of the same (ns, peer) does not count: it is replaced whatever
 * its seq, as the memory store (which drops it first) does.
 *
 * Results are requested in binary: bytea arrives as raw bytes, int8 as 8 big-endian bytes, text
 * as its bytes. Everything read back is checked (row and column counts, lengths) before use. */
#include "store/postgres.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/envelope.h"
#include "sql/schema_sql.h"
#include "store/pg_pool.h"
#include "util/err.h"
#include "util/log.h"

/* Advisory lock keys. The reaper's is one bigint; per-peer locks use the (int4, int4) key space,
 * which never overlaps the bigint one. */
#define REAPER_KEY "7234307509628739685"  /* "dv_reape" as a big-endian integer */
#define PEER_LOCK_CLASS "1919186544"       /* "rdvp" */
#define INIT_KEY "7234307509628739689"

#define LIVE_ROW_COLUMNS \
    "peer_id, seq::text, envelope, " \
    "ceil(extract(epoch FROM expires_at - now()) * 1000)::int8, " \
    "floor(extract(epoch FROM registered_at) * 1000)::int8 "

static const struct rdv_pg_stmt stmts[] = {
    {"rdv_lock_peer", "SELECT pg_advisory_xact_lock(" PEER_LOCK_CLASS ", hashtext(encode($1::bytea, 'hex')))"},
    {"rdv_put",
     "WITH cur AS ("
     "  SELECT seq, expires_at > now() AS live FROM rdv_registrations WHERE ns = $1::bytea AND peer_id = $2::bytea"
     "), verdict AS ("
     "  SELECT CASE"
     "    WHEN EXISTS (SELECT 1 FROM cur WHERE live AND seq > $3::numeric) THEN 'stale'"
     "    WHEN $6::int8 > 0 AND NOT EXISTS (SELECT 1 FROM cur WHERE live)"
     "         AND (SELECT count(*) FROM rdv_registrations"
     "              WHERE peer_id = $2::bytea AND ns <> $1::bytea AND expires_at > now()) >= $6::int8 THEN 'limit'"
     "    ELSE 'ok' END AS v"
     "), up AS ("
     "  INSERT INTO rdv_registrations AS r (ns, peer_id, seq, envelope, registered_at, expires_at)"
     "  SELECT $1::bytea, $2::bytea, $3::numeric, $4::bytea, now(), now() + make_interval(secs => $5::int8)"
     "  WHERE (SELECT v FROM verdict) = 'ok'"
     "  ON CONFLICT (ns, peer_id) DO UPDATE"
     "    SET seq = excluded.seq, envelope = excluded.envelope,"
     "        registered_at = excluded.registered_at, expires_at = excluded.expires_at"
     "    WHERE r.seq <= excluded.seq OR r.expires_at <= now()"
     "  RETURNING 1"
     ") SELECT v, (SELECT count(*) FROM up) FROM verdict"},
    /* ORDER BY random() sorts the namespace's live rows (top-N heap sort): fine for namespaces of
     * thousands, as DISCOVER limits are; the primary key's index finds the namespace. */
    {"rdv_discover",
     "SELECT " LIVE_ROW_COLUMNS "FROM rdv_registrations WHERE ns = $1::bytea AND expires_at > now() "
     "ORDER BY random() LIMIT $2::int8"},
    {"rdv_stats", "SELECT count(*), count(DISTINCT ns) FROM rdv_registrations WHERE expires_at > now()"},
    {"rdv_list_ns",
     "SELECT ns, count(*), floor(extract(epoch FROM min(expires_at)) * 1000)::int8, "
     "floor(extract(epoch FROM max(expires_at)) * 1000)::int8 FROM rdv_registrations "
     "WHERE expires_at > now() AND ns > $2::bytea AND substr(ns, 1, length($1::bytea)) = $1::bytea "
     "GROUP BY ns ORDER BY ns LIMIT $3::int8"},
    {"rdv_list_regs",
     "SELECT " LIVE_ROW_COLUMNS "FROM rdv_registrations WHERE ns = $1::bytea AND peer_id > $2::bytea "
     "AND expires_at > now() ORDER BY peer_id LIMIT $3::int8"},
    {"rdv_health", "SELECT 1"},
    {"rdv_reaper_lock", "SELECT pg_try_advisory_lock(" REAPER_KEY ")"},
    /* ctid = ANY(ARRAY(...)): a TID scan over one index-found batch; the outer condition re-checks
     * rows another front-end refreshed meanwhile. */
    {"rdv_reap",
     "DELETE FROM rdv_registrations WHERE ctid = ANY (ARRAY("
     "SELECT ctid FROM rdv_registrations WHERE expires_at <= now() LIMIT $1::int8)) AND expires_at <= now()"},
};
#define NSTMTS (sizeof(stmts) / sizeof(stmts[0]))

struct pg_store {
    struct rdv_store base; /* first: the vtable */
    struct rdv_pg_pool *pool;
    const struct rdv_log *log;
    uint64_t reaper_gen;   /* generation of connection 0 whose session holds the reaper lock; 0: none */
    bool reaping;          /* an expire() is running */
    bool closed;
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

/* Columns of LIVE_ROW_COLUMNS into a record whose envelope points into res. */
static bool get_record(const PGresult *res, int row, struct rdv_store_record *r)
{
    int plen = PQgetlength(res, row, 0), elen = PQgetlength(res, row, 2);
    if (PQgetisnull(res, row, 0) || plen < 1 || plen > RDV_PEERID_MAX || PQgetisnull(res, row, 2) || elen < 1 ||
        elen > RDV_ENVELOPE_MAX)
        return false;
    memset(r, 0, sizeof(*r));
    memcpy(r->peer.bytes, PQgetvalue(res, row, 0), (size_t)plen);
    r->peer.len = (size_t)plen;
    r->envelope = (const uint8_t *)PQgetvalue(res, row, 2);
    r->envelope_len = (size_t)elen;
    return get_u64_text(res, row, 1, &r->seq) && get_i64(res, row, 3, &r->ttl_left_ms) && r->ttl_left_ms > 0 &&
           get_i64(res, row, 4, &r->registered_at_ms);
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
};

static bool keep_last(struct rdv_pg_op *op, size_t idx, PGresult *res)
{
    struct res_holder *h = (struct res_holder *)op;
    if (idx + 1 != op->nq)
        return false;
    PQclear(h->res);
    h->res = res;
    return true;
}

/* Fills the common op fields; NULL on allocation failure. */
static void *op_alloc(size_t size, size_t extra, rdv_pg_done_fn done)
{
    struct res_holder *h = calloc(1, size + extra);
    if (!h)
        return NULL;
    h->op.pin = -1;
    h->op.on_result = keep_last;
    h->op.on_done = done;
    return h;
}

static enum rdv_store_status final_status(enum rdv_store_status st, bool decoded)
{
    return st != RDV_STORE_OK ? st : decoded ? RDV_STORE_OK : RDV_STORE_ERROR;
}

/* ---- put ---------------------------------------------------------------------------------------- */

struct put_op {
    struct res_holder h;
    rdv_store_put_cb cb;
    void *arg;
    char seq[24], ttl[24], max[24];
    uint8_t data[]; /* ns, peer id, envelope */
};

static void put_done(struct rdv_pg_op *op, enum rdv_store_status st)
{
    struct put_op *o = (struct put_op *)op;
    const PGresult *res = o->h.res;
    int64_t changed = 0;
    bool decoded = shape_ok(res, 2) && PQntuples(res) == 1 && get_i64(res, 0, 1, &changed);
    if (st == RDV_STORE_OK && decoded) {
        const char *v = PQgetvalue(res, 0, 0);
        if (strcmp(v, "stale") == 0)
            st = RDV_STORE_STALE;
        else if (strcmp(v, "limit") == 0)
            st = RDV_STORE_LIMIT;
        else if (strcmp(v, "ok") != 0)
            st = RDV_STORE_ERROR;
        else if (changed != 1)
            st = RDV_STORE_STALE; /* a newer seq was written between our reads (ON CONFLICT kept it) */
    }
    PQclear(o->h.res);
    o->cb(o->arg, final_status(st, decoded));
}

static bool put_valid(const struct rdv_store_put *p)
{
    return p->ns && p->ns_len > 0 && p->ns_len <= RDV_NS_MAX && p->peer && p->peer->len > 0 &&
           p->peer->len <= RDV_PEERID_MAX && p->envelope && p->envelope_len > 0 &&
           p->envelope_len <= RDV_ENVELOPE_MAX && p->ttl_s > 0;
}

static void pg_put(struct rdv_store *base, const struct rdv_store_put *p, rdv_store_put_cb cb, void *arg)
{
    struct pg_store *s = (struct pg_store *)base;
    if (!put_valid(p)) {
        cb(arg, RDV_STORE_ERROR);
        return;
    }
    struct put_op *o = op_alloc(sizeof(*o), p->ns_len + p->peer->len + p->envelope_len, put_done);
    if (!o) {
        cb(arg, RDV_STORE_ERROR);
        return;
    }
    o->cb = cb;
    o->arg = arg;
    uint8_t *ns = o->data, *peer = ns + p->ns_len, *env = peer + p->peer->len;
    memcpy(ns, p->ns, p->ns_len);
    memcpy(peer, p->peer->bytes, p->peer->len);
    memcpy(env, p->envelope, p->envelope_len);
    fmt_u64(o->seq, sizeof(o->seq), p->seq);
    fmt_u64(o->ttl, sizeof(o->ttl), p->ttl_s);
    fmt_u64(o->max, sizeof(o->max), p->max_per_peer);
    struct rdv_pg_query *lock = &o->h.op.q[0], *up = &o->h.op.q[1];
    lock->stmt = "rdv_lock_peer";
    bind_bytes(lock, peer, p->peer->len);
    up->stmt = "rdv_put";
    bind_bytes(up, ns, p->ns_len);
    bind_bytes(up, peer, p->peer->len);
    bind_text(up, o->seq);
    bind_bytes(up, env, p->envelope_len);
    bind_text(up, o->ttl);
    bind_text(up, o->max);
    o->h.op.nq = 2;
    rdv_pg_pool_submit(s->pool, &o->h.op);
}

/* ---- discover and list_registrations: rows of live records -------------------------------------- */

struct recs_op {
    struct res_holder h;
    rdv_store_discover_cb dcb; /* discover */
    rdv_store_reg_list_cb lcb; /* list_registrations */
    void *arg;
    uint32_t limit;            /* list_registrations: the page size (one more row was asked for) */
    char limit_text[24];
    struct rdv_peerid cursor;
    uint8_t ns[];
};

static void recs_done(struct rdv_pg_op *op, enum rdv_store_status st)
{
    struct recs_op *o = (struct recs_op *)op;
    const PGresult *res = o->h.res;
    bool decoded = shape_ok(res, 5);
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

static void pg_discover(struct rdv_store *base, const struct rdv_store_query *qr, rdv_store_discover_cb cb,
                        void *arg)
{
    struct pg_store *s = (struct pg_store *)base;
    const char *ns = qr->ns;
    size_t ns_len = qr->ns_len;
    uint32_t limit = qr->limit;
    if (!rdv_store_query_valid(qr) || qr->ordered || qr->kind) { /* TODO(dialects): kinds, ordered pages */
        cb(arg, RDV_STORE_ERROR, NULL, 0);
        return;
    }
    if (ns_len == 0) { /* no namespace holds records */
        cb(arg, RDV_STORE_OK, NULL, 0);
        return;
    }
    struct recs_op *o = op_alloc(sizeof(*o), ns_len, recs_done);
    if (!o) {
        cb(arg, RDV_STORE_ERROR, NULL, 0);
        return;
    }
    o->dcb = cb;
    o->arg = arg;
    memcpy(o->ns, ns, ns_len);
    fmt_u64(o->limit_text, sizeof(o->limit_text), page_limit(limit));
    struct rdv_pg_query *q = &o->h.op.q[0];
    q->stmt = "rdv_discover";
    bind_bytes(q, o->ns, ns_len);
    bind_text(q, o->limit_text);
    o->h.op.nq = 1;
    rdv_pg_pool_submit(s->pool, &o->h.op);
}

static void pg_list_registrations(struct rdv_store *base, uint8_t kind, const char *ns, size_t ns_len,
                                  const struct rdv_peerid *cursor, uint32_t limit, rdv_store_reg_list_cb cb,
                                  void *arg)
{
    struct pg_store *s = (struct pg_store *)base;
    if (kind || (!ns && ns_len) || ns_len > RDV_NS_MAX || (cursor && cursor->len > RDV_PEERID_MAX)) {
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
    struct rdv_pg_query *q = &o->h.op.q[0];
    q->stmt = "rdv_list_regs";
    bind_bytes(q, o->ns, ns_len);
    bind_bytes(q, o->cursor.bytes, o->cursor.len); /* empty: before every peer id */
    bind_text(q, o->limit_text);
    o->h.op.nq = 1;
    rdv_pg_pool_submit(s->pool, &o->h.op);
}

/* ---- list_namespaces ---------------------------------------------------------------------------- */

struct ns_op {
    struct res_holder h;
    rdv_store_ns_list_cb cb;
    void *arg;
    uint32_t limit;
    char limit_text[24];
    size_t prefix_len, cursor_len;
    uint8_t data[]; /* prefix, cursor */
};

static bool get_ns_info(const PGresult *res, int row, struct rdv_store_ns_info *it)
{
    int len = PQgetlength(res, row, 0);
    int64_t count;
    if (PQgetisnull(res, row, 0) || len < 1 || len > RDV_NS_MAX || !get_i64(res, row, 1, &count) || count < 1)
        return false;
    it->ns = PQgetvalue(res, row, 0);
    it->ns_len = (size_t)len;
    it->count = (uint64_t)count;
    return get_i64(res, row, 2, &it->soonest_expiry_ms) && get_i64(res, row, 3, &it->latest_expiry_ms);
}

static void ns_done(struct rdv_pg_op *op, enum rdv_store_status st)
{
    struct ns_op *o = (struct ns_op *)op;
    const PGresult *res = o->h.res;
    bool decoded = shape_ok(res, 4);
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

static void pg_list_namespaces(struct rdv_store *base, const char *prefix, size_t prefix_len, const char *cursor,
                               size_t cursor_len, uint32_t limit, rdv_store_ns_list_cb cb, void *arg)
{
    struct pg_store *s = (struct pg_store *)base;
    if ((!prefix && prefix_len) || (!cursor && cursor_len) || prefix_len > RDV_NS_MAX || cursor_len > RDV_NS_MAX) {
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
    o->prefix_len = prefix_len;
    o->cursor_len = cursor_len;
    if (prefix_len)
        memcpy(o->data, prefix, prefix_len);
    if (cursor_len)
        memcpy(o->data + prefix_len, cursor, cursor_len);
    fmt_u64(o->limit_text, sizeof(o->limit_text), (uint64_t)o->limit + 1);
    struct rdv_pg_query *q = &o->h.op.q[0];
    q->stmt = "rdv_list_ns";
    bind_bytes(q, o->data, prefix_len);
    bind_bytes(q, o->data + prefix_len, cursor_len); /* empty: before every namespace */
    bind_text(q, o->limit_text);
    o->h.op.nq = 1;
    rdv_pg_pool_submit(s->pool, &o->h.op);
}

/* ---- stats and health --------------------------------------------------------------------------- */

struct stats_op {
    struct res_holder h;
    rdv_store_stats_cb scb;
    rdv_store_health_cb hcb;
    void *arg;
};

static void stats_done(struct rdv_pg_op *op, enum rdv_store_status st)
{
    struct stats_op *o = (struct stats_op *)op;
    const PGresult *res = o->h.res;
    if (o->hcb) {
        o->hcb(o->arg, final_status(st, shape_ok(res, 1) && PQntuples(res) == 1));
    } else {
        int64_t regs = 0, spaces = 0;
        bool decoded = shape_ok(res, 2) && PQntuples(res) == 1 && get_i64(res, 0, 0, &regs) &&
                       get_i64(res, 0, 1, &spaces) && regs >= 0 && spaces >= 0;
        struct rdv_store_stats out = {.registrations = (uint64_t)regs, .namespaces = (uint64_t)spaces};
        st = final_status(st, decoded);
        if (st != RDV_STORE_OK)
            memset(&out, 0, sizeof(out));
        o->scb(o->arg, st, &out);
    }
    PQclear(o->h.res);
}

static struct stats_op *stats_op_new(const char *stmt, void *arg)
{
    struct stats_op *o = op_alloc(sizeof(*o), 0, stats_done);
    if (!o)
        return NULL;
    o->arg = arg;
    o->h.op.q[0].stmt = stmt;
    o->h.op.nq = 1;
    return o;
}

static void pg_stats(struct rdv_store *base, rdv_store_stats_cb cb, void *arg)
{
    struct pg_store *s = (struct pg_store *)base;
    struct stats_op *o = stats_op_new("rdv_stats", arg);
    if (!o) {
        struct rdv_store_stats zero = {0};
        cb(arg, RDV_STORE_ERROR, &zero);
        return;
    }
    o->scb = cb;
    rdv_pg_pool_submit(s->pool, &o->h.op);
}

static void pg_health(struct rdv_store *base, rdv_store_health_cb cb, void *arg)
{
    struct pg_store *s = (struct pg_store *)base;
    struct stats_op *o = stats_op_new("rdv_health", arg);
    if (!o) {
        cb(arg, RDV_STORE_ERROR);
        return;
    }
    o->hcb = cb;
    rdv_pg_pool_submit(s->pool, &o->h.op);
}

/* ---- expire: the reaper ----------------------------------------------------------------------- */

/* One step of a sweep: the lock attempt, or one DELETE batch. Carries the sweep along. */
struct reap_op {
    struct res_holder h;
    struct pg_store *s;
    rdv_store_count_cb cb;
    void *arg;
    uint64_t total;
    unsigned batches;
    char batch_text[24];
};

static void reap_finish(struct pg_store *s, rdv_store_count_cb cb, void *arg, enum rdv_store_status st,
                        uint64_t total)
{
    s->reaping = false;
    cb(arg, st, total);
}

static void reap_submit(struct pg_store *s, bool lock, rdv_store_count_cb cb, void *arg, uint64_t total,
                        unsigned batches);

static void lock_done(struct rdv_pg_op *op, enum rdv_store_status st)
{
    struct reap_op *o = (struct reap_op *)op;
    struct pg_store *s = o->s;
    const PGresult *res = o->h.res;
    bool decoded = shape_ok(res, 1) && PQntuples(res) == 1 && PQgetlength(res, 0, 0) == 1;
    bool got = decoded && PQgetvalue(res, 0, 0)[0] == 1;
    st = final_status(st, decoded);
    PQclear(o->h.res);
    if (st != RDV_STORE_OK || !got || s->closed) {
        reap_finish(s, o->cb, o->arg, st, 0); /* another front-end sweeps */
        return;
    }
    s->reaper_gen = op->gen;
    rdv_info(s->log, "postgres: this front-end now holds the reaper lock and sweeps expired registrations");
    reap_submit(s, false, o->cb, o->arg, 0, 0);
}

static void delete_done(struct rdv_pg_op *op, enum rdv_store_status st)
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
    uint64_t total = o->total + n;
    if (n == RDV_PG_REAP_BATCH && o->batches + 1 < RDV_PG_REAP_MAX_BATCHES && !s->closed)
        reap_submit(s, false, o->cb, o->arg, total, o->batches + 1);
    else
        reap_finish(s, o->cb, o->arg, RDV_STORE_OK, total);
}

static void reap_submit(struct pg_store *s, bool lock, rdv_store_count_cb cb, void *arg, uint64_t total,
                        unsigned batches)
{
    struct reap_op *o = op_alloc(sizeof(*o), 0, lock ? lock_done : delete_done);
    if (!o) {
        reap_finish(s, cb, arg, RDV_STORE_ERROR, total);
        return;
    }
    o->s = s;
    o->cb = cb;
    o->arg = arg;
    o->total = total;
    o->batches = batches;
    o->h.op.pin = 0; /* the lock is held by connection 0's session */
    struct rdv_pg_query *q = &o->h.op.q[0];
    q->stmt = lock ? "rdv_reaper_lock" : "rdv_reap";
    if (!lock) {
        fmt_u64(o->batch_text, sizeof(o->batch_text), RDV_PG_REAP_BATCH);
        bind_text(q, o->batch_text);
    }
    o->h.op.nq = 1;
    rdv_pg_pool_submit(s->pool, &o->h.op);
}

static void pg_expire(struct rdv_store *base, rdv_store_count_cb cb, void *arg)
{
    struct pg_store *s = (struct pg_store *)base;
    if (s->reaping) { /* the previous sweep is still going: this tick has nothing to add */
        cb(arg, RDV_STORE_OK, 0);
        return;
    }
    s->reaping = true;
    bool held = s->reaper_gen != 0 && s->reaper_gen == rdv_pg_pool_generation(s->pool, 0);
    if (!held && s->reaper_gen != 0) {
        rdv_warn(s->log, "postgres: lost the reaper lock with its connection; trying to take it again");
        s->reaper_gen = 0;
    }
    reap_submit(s, !held, cb, arg, 0, 0);
}

/* ---- open, close, init ------------------------------------------------------------------------ */

static void store_free(void *arg) { free(arg); }

static void pg_close(struct rdv_store *base)
{
    struct pg_store *s = (struct pg_store *)base;
    s->closed = true;
    rdv_pg_pool_free(s->pool); /* fails what is pending; frees s through store_free once gone */
}

/* TODO(dialects): not yet in this backend. */
static void pg_unregister(struct rdv_store *base, uint8_t kind, const char *ns, size_t ns_len,
                          const struct rdv_peerid *peer, rdv_store_count_cb cb, void *arg)
{
    (void)base, (void)kind, (void)ns, (void)ns_len, (void)peer;
    cb(arg, RDV_STORE_ERROR, 0);
}

static void pg_secret(struct rdv_store *base, rdv_store_secret_cb cb, void *arg)
{
    (void)base;
    cb(arg, RDV_STORE_ERROR, NULL);
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
    .health = pg_health,
    .close = pg_close,
};

int rdv_store_postgres_open(const char *conninfo, uint32_t timeout_ms, unsigned pool, struct ev_loop *loop,
                            const struct rdv_log *log, struct rdv_store **out, char *err, size_t errlen)
{
    *out = NULL;
    if (pool > RDV_PG_MAX_POOL) {
        snprintf(err, errlen, "store: pool of %u connections is more than %d", pool, RDV_PG_MAX_POOL);
        return RDV_ERR_INVALID;
    }
    struct pg_store *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return RDV_ERR_NOMEM;
    }
    s->base.ops = &pg_ops;
    s->log = log;
    struct rdv_pg_pool_config cfg = {
        .conninfo = conninfo, .stmts = stmts, .nstmts = NSTMTS,
        .size = pool ? pool : RDV_PG_DEFAULT_POOL,
        .timeout_ms = timeout_ms ? timeout_ms : RDV_PG_DEFAULT_TIMEOUT_MS,
        .connect_timeout_ms = 5000, .backoff_min_ms = 100, .backoff_max_ms = 5000,
        .max_inflight = 64, .max_queued = 65536,
        .on_free = store_free, .free_arg = s,
    };
    int rc = rdv_pg_pool_new(loop, log, &cfg, &s->pool, err, errlen);
    if (rc) {
        free(s);
        return rc;
    }
    *out = &s->base;
    return RDV_OK;
}

/* libpq messages end in a newline. */
static void trim_end(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
}

const char *rdv_store_postgres_schema(void) { return RDV_PG_SCHEMA_SQL; }

int rdv_store_postgres_init(const char *conninfo, char *err, size_t errlen)
{
    static const char *const keys[] = {"dbname", "fallback_application_name", "connect_timeout", NULL};
    const char *const vals[] = {conninfo, "rendezvousd --init-db", "10", NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    if (!pg || PQstatus(pg) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect: %s", pg ? PQerrorMessage(pg) : "out of memory");
        PQfinish(pg);
        trim_end(err);
        return RDV_ERR_UNAVAILABLE;
    }
    /* One simple-query string runs as one transaction: the lock serializes concurrent inits. */
    PGresult *res = PQexec(pg, "SET client_min_messages = warning; "
                               "SELECT pg_advisory_xact_lock(" INIT_KEY "); " RDV_PG_SCHEMA_SQL);
    int rc = RDV_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "applying the schema failed: %s", PQresultErrorMessage(res));
        trim_end(err);
        rc = RDV_ERR_INVALID;
    }
    PQclear(res);
    PQfinish(pg);
    return rc;
}
