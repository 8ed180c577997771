/* pg_pool.c: see pg_pool.h.
 *
 * Each connection is a small state machine (enum conn_state) driven by one ev_io on its socket and
 * one ev_timer (connect deadline or backoff wait). Operations live in exactly one list at a time:
 * the pool's shared wait queue, a connection's own wait queue (operations pinned to it), or a
 * connection's pipeline (sent, answers pending, in send order). A result belongs to the
 * operation at the head of its connection's pipeline: in pipeline mode libpq returns each
 * statement's result followed by NULL, and one PGRES_PIPELINE_SYNC per operation, which is when
 * the operation completes.
 *
 * Callbacks may re-enter the pool (submit more, or free it). Every entry point holds a depth
 * count; freeing while inside only marks the pool closing and the outermost exit frees it. Loops
 * that call back re-check the connection's epoch (bumped whenever it is torn down) afterwards. */
#include "store/pg_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/log.h"

struct rdv_pg_list {
    rdv_list ops; /* rdv_pg_op.link, oldest first */
    size_t n;
};

enum conn_state {
    CONN_WAIT,       /* down; the timer starts the next attempt (backoff) */
    CONN_CONNECTING, /* PQconnectPoll in progress; the timer is the connect deadline */
    CONN_CHECKING,   /* up; the check statement is in flight */
    CONN_PREPARING,  /* up; the PREPAREs are in flight */
    CONN_READY,      /* takes operations */
};

struct rdv_pg_conn {
    struct rdv_pg_pool *pool;
    unsigned idx;
    enum conn_state state;
    PGconn *pg;
    ev_io io;
    int io_fd, io_events;
    ev_timer timer;
    uint32_t backoff_ms;
    uint64_t gen;             /* sessions so far; the current one's number while up */
    uint64_t epoch;           /* bumped at every tear-down: loops detect it under their feet */
    unsigned fails;           /* consecutive failures (only the first is logged as a warning) */
    unsigned host;            /* the host of the multi-host list this connection tries or uses */
    unsigned round;           /* hosts tried since the last backoff */
    size_t prep_left;         /* CONN_PREPARING: PREPARE results still to come */
    bool prep_failed;
    bool check_passed;        /* CONN_CHECKING: the check accepted the result */
    char check_why[256];      /* CONN_CHECKING: why it refused */
    bool expect_null;         /* a statement's result was read: the NULL that ends it comes next */
    unsigned wsyncs;          /* batches of writes sent and not yet answered (at most 2) */
    struct rdv_pg_list pipe;  /* sent */
    struct rdv_pg_list waitq; /* pinned to this connection, not sent yet */
};

struct rdv_pg_pool {
    struct ev_loop *loop;
    const struct rdv_log *log;
    struct rdv_pg_pool_config cfg;
    char *conninfo;
    char *app_name;           /* copied: the caller's string may be on its stack */
    struct rdv_pg_conn *conns;
    struct rdv_pg_list waitq; /* any connection */
    int depth;
    bool closing;
    char own_refused[RDV_PG_REFUSED_MAX]; /* the last check refusal logged ("" since a connection passed) */
    char *refused;            /* own_refused, or the store's buffer shared by its pools */
    /* the conninfo parsed, and its host list split (host, hostaddr, port: comma lists) */
    PQconninfoOption *opts;
    char *lists[3];
    const char *hosts[RDV_PG_MAX_HOSTS], *addrs[RDV_PG_MAX_HOSTS], *ports[RDV_PG_MAX_HOSTS];
    unsigned nhosts;
    unsigned good_host;       /* the host a connection last got ready on: where others start */
    uint64_t transactions, batched_ops; /* sent: transactions, and the operations in them */
    uint32_t connect_ms;
    char host_text[300];
    bool told_unprepared;     /* the switch away from prepared statements was logged */
    /* repeated errors: the same line within ERR_WINDOW_S is counted, not logged again */
    char last_err[320];
    ev_tstamp last_err_at;
    unsigned suppressed;
};

#define ERR_WINDOW_S 10.0

static void conn_start(struct rdv_pg_conn *c);
static void pool_release(struct rdv_pg_pool *p);
static const char *label(const struct rdv_pg_pool *p) { return p->cfg.label ? p->cfg.label : "postgres"; }
static void conn_fail(struct rdv_pg_conn *c, const char *why);
static void pool_dispatch(struct rdv_pg_pool *p);

/* ---- lists --------------------------------------------------------------------------------- */

static void list_init(struct rdv_pg_list *l)
{
    rdv_list_init(&l->ops);
    l->n = 0;
}

/* The oldest operation of l, or NULL. */
static struct rdv_pg_op *list_head(const struct rdv_pg_list *l)
{
    struct rdv_list_node *n = rdv_list_first(&l->ops);
    return n ? rdv_list_entry(n, struct rdv_pg_op, link) : NULL;
}

static void list_push(struct rdv_pg_list *l, struct rdv_pg_op *op)
{
    rdv_list_push_back(&l->ops, &op->link);
    l->n++;
    op->list = l;
}

static void list_unlink(struct rdv_pg_op *op)
{
    struct rdv_pg_list *l = op->list;
    if (!l)
        return;
    rdv_list_remove(&op->link);
    l->n--;
    op->list = NULL;
}

/* ---- entering and leaving the pool ----------------------------------------------------------- */

static void pool_enter(struct rdv_pg_pool *p) { p->depth++; }

static void pool_destroy(struct rdv_pg_pool *p)
{
    if (p->cfg.on_free)
        p->cfg.on_free(p->cfg.free_arg);
    pool_release(p);
}

/* Returns true when the pool is gone (the caller must not touch it). */
static bool pool_leave(struct rdv_pg_pool *p)
{
    if (--p->depth == 0 && p->closing) {
        pool_destroy(p);
        return true;
    }
    return false;
}

/* ---- completing operations ------------------------------------------------------------------- */

/* Unlinks, reports and frees one operation. */
static void op_complete(struct rdv_pg_op *op, enum rdv_store_status st)
{
    struct rdv_pg_pool *p = op->pool;
    list_unlink(op);
    ev_timer_stop(p->loop, &op->deadline);
    op->on_done(op, st);
    free(op);
}

/* Completes every operation of a list with st; the list is detached first, so callbacks that
 * submit more cannot make this loop endless. */
static void list_fail_all(struct rdv_pg_list *l, enum rdv_store_status st)
{
    struct rdv_pg_list mine;
    struct rdv_pg_op *op;
    list_init(&mine);
    while ((op = list_head(l))) {
        list_unlink(op);
        list_push(&mine, op);
    }
    while ((op = list_head(&mine)))
        op_complete(op, st);
}

/* ---- classification -------------------------------------------------------------------------- */

bool rdv_pg_sqlstate_transient(const char *s)
{
    if (!s || strlen(s) != 5)
        return false;
    return strncmp(s, "08", 2) == 0      /* connection exception */
        || strncmp(s, "53", 2) == 0      /* insufficient resources (too many connections, disk full) */
        || strncmp(s, "57", 2) == 0      /* operator intervention: shutdown, cannot connect now, cancel */
        || strncmp(s, "40", 2) == 0      /* serialization failure, deadlock */
        || strcmp(s, "55P03") == 0;      /* lock not available */
}

/* libpq messages end in a newline; logs want one line. */
static const char *one_line(char *buf, size_t cap, const char *msg)
{
    snprintf(buf, cap, "%s", msg ? msg : "");
    for (char *q = buf; *q; q++)
        if (*q == '\n' || *q == '\r')
            *q = ' ';
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == ' ')
        buf[--n] = '\0';
    return buf;
}

/* Logs a line at level unless the same line was logged less than ERR_WINDOW_S ago (then it is
 * counted, at debug level); the count is reported with the next line that does get logged. A
 * store that is down or misconfigured fails the same way on every connection and every retry. */
static void log_limited(struct rdv_pg_pool *p, enum rdv_log_level level, const char *line)
{
    ev_tstamp now = ev_now(p->loop);
    if (strcmp(p->last_err, line) == 0 && now - p->last_err_at < ERR_WINDOW_S) {
        p->suppressed++;
        rdv_debug(p->log, "%s (again)", line);
        return;
    }
    if (p->suppressed)
        RDV_LOG(p->log, level, "%s: the previous message came %u more times in %.0f s", label(p), p->suppressed,
                ERR_WINDOW_S);
    RDV_LOG(p->log, level, "%s", line);
    snprintf(p->last_err, sizeof(p->last_err), "%s", line);
    p->last_err_at = now;
    p->suppressed = 0;
}

/* ---- the socket watcher ---------------------------------------------------------------------- */

/* While connecting, libpq may close its socket and open another that gets the same number (next
 * address of a host, a refused SSL or GSS attempt): the kernel forgets the old registration, so
 * re-arm every time then; ev_io_set makes libev tell the kernel again. */
static void conn_watch(struct rdv_pg_conn *c, int events)
{
    int fd = PQsocket(c->pg);
    if (c->state != CONN_CONNECTING && fd == c->io_fd && events == c->io_events && ev_is_active(&c->io))
        return;
    ev_io_stop(c->pool->loop, &c->io);
    c->io_fd = fd;
    c->io_events = events;
    if (fd < 0)
        return;
    ev_io_set(&c->io, fd, events);
    ev_io_start(c->pool->loop, &c->io);
}

/* Pushes out what libpq has buffered; watches for writability while some is left. */
static bool conn_flush(struct rdv_pg_conn *c)
{
    int r = PQflush(c->pg);
    if (r < 0) {
        conn_fail(c, "cannot send");
        return false;
    }
    conn_watch(c, r ? EV_READ | EV_WRITE : EV_READ);
    return true;
}

/* ---- tearing down and backing off ------------------------------------------------------------ */

static bool pool_any_alive(const struct rdv_pg_pool *p)
{
    for (unsigned i = 0; i < p->cfg.size; i++)
        if (p->conns[i].state != CONN_WAIT)
            return true;
    return false;
}

static void conn_close(struct rdv_pg_conn *c)
{
    ev_io_stop(c->pool->loop, &c->io);
    ev_timer_stop(c->pool->loop, &c->timer);
    c->io_fd = -1;
    c->io_events = 0;
    if (c->pg)
        PQfinish(c->pg);
    c->pg = NULL;
    c->expect_null = false;
    c->prep_left = 0;
    c->wsyncs = 0;
    c->epoch++;
}

/* The next attempt goes to the next host; at once while the round of hosts is not over (the
 * standby that was just promoted must not wait for a backoff meant for a dead server), after the
 * backoff once every host failed. */
static void conn_backoff(struct rdv_pg_conn *c)
{
    struct rdv_pg_pool *p = c->pool;
    c->state = CONN_WAIT;
    c->host = (c->host + 1) % p->nhosts;
    ev_timer_stop(p->loop, &c->timer);
    if (++c->round < p->nhosts) {
        ev_timer_set(&c->timer, 0., 0.);
    } else {
        c->round = 0;
        ev_timer_set(&c->timer, c->backoff_ms / 1000.0, 0.);
        c->backoff_ms = c->backoff_ms * 2 > p->cfg.backoff_max_ms ? p->cfg.backoff_max_ms : c->backoff_ms * 2;
    }
    ev_timer_start(p->loop, &c->timer);
}

/* Closes the connection, fails what it carried, retries later. When no connection is left even
 * trying, requests waiting for one would only wait for their deadline: fail them now. */
static void conn_down(struct rdv_pg_conn *c)
{
    struct rdv_pg_pool *p = c->pool;
    conn_close(c);
    conn_backoff(c);
    list_fail_all(&c->pipe, RDV_STORE_UNAVAILABLE);
    if (p->closing)
        return;
    /* waiting here by affinity only: any other connection may take them */
    for (struct rdv_pg_op *op = list_head(&c->waitq), *next; op; op = next) {
        struct rdv_list_node *n = rdv_list_next(&c->waitq.ops, &op->link);
        next = n ? rdv_list_entry(n, struct rdv_pg_op, link) : NULL;
        if (op->pin < 0) {
            list_unlink(op);
            list_push(&p->waitq, op);
        }
    }
    list_fail_all(&c->waitq, RDV_STORE_UNAVAILABLE);
    if (!p->closing && !pool_any_alive(p))
        list_fail_all(&p->waitq, RDV_STORE_UNAVAILABLE);
}

/* "host:port" of host i for log lines (a static buffer would be global state: the pool's own). */
static const char *host_name(struct rdv_pg_pool *p, unsigned i)
{
    const char *h = p->hosts[i] && *p->hosts[i] ? p->hosts[i] : p->addrs[i];
    snprintf(p->host_text, sizeof(p->host_text), "%s:%s", h && *h ? h : "(default)",
             p->ports[i] && *p->ports[i] ? p->ports[i] : "(default)");
    return p->host_text;
}

/* The connection is unusable: say so (the first failure in a row as a warning), then down. */
static void conn_fail(struct rdv_pg_conn *c, const char *why)
{
    struct rdv_pg_pool *p = c->pool;
    char msg[512], line[320];
    const char *detail = c->pg ? one_line(msg, sizeof(msg), PQerrorMessage(c->pg)) : "";
    if (c->fails++ == 0) {
        snprintf(line, sizeof(line), "%s: host %s: %s%s%s; reconnecting", label(p), host_name(p, c->host), why,
                 *detail ? ": " : "", detail);
        log_limited(p, RDV_LOG_WARN, line);
    } else {
        rdv_debug(p->log, "%s: connection %u, host %s: %s%s%s (attempt %u)", label(p), c->idx,
                  host_name(p, c->host), why, *detail ? ": " : "", detail, c->fails);
    }
    conn_down(c);
}

/* The check refused the connection: the reason is the same on every connection and at every
 * retry until the operator acts, so the pool logs it once (and each change of it). */
static void conn_refuse(struct rdv_pg_conn *c)
{
    struct rdv_pg_pool *p = c->pool;
    if (strcmp(p->refused, c->check_why) != 0) {
        snprintf(p->refused, RDV_PG_REFUSED_MAX, "%s", c->check_why);
        rdv_error(p->log, "%s: %s", label(p), p->refused);
    } else {
        rdv_debug(p->log, "postgres: connection %u refused again: %s", c->idx, c->check_why);
    }
    c->fails++;
    conn_down(c);
}

/* ---- connecting -------------------------------------------------------------------------------- */

static void notice_quiet(void *arg, const char *message)
{
    struct rdv_pg_conn *c = arg;
    char buf[256];
    rdv_debug(c->pool->log, "postgres: connection %u: notice: %s", c->idx, one_line(buf, sizeof(buf), message));
}

static void conn_ready(struct rdv_pg_conn *c);

/* Every statement prepared in one round trip (none without prepared statements). */
static void conn_prepare(struct rdv_pg_conn *c)
{
    struct rdv_pg_pool *p = c->pool;
    if (!p->cfg.prepared) {
        conn_ready(c);
        return;
    }
    for (size_t i = 0; i < p->cfg.nstmts; i++)
        if (!PQsendPrepare(c->pg, p->cfg.stmts[i].name, p->cfg.stmts[i].sql, 0, NULL)) {
            conn_fail(c, "cannot send PREPARE");
            return;
        }
    if (!PQpipelineSync(c->pg)) {
        conn_fail(c, "cannot send sync");
        return;
    }
    c->state = CONN_PREPARING;
    c->prep_left = p->cfg.nstmts;
    c->prep_failed = false;
    conn_flush(c);
}

/* Up: non-blocking, pipeline mode, then the check (in its own sync, so that a refusal prepares
 * nothing) or straight to preparing. */
static void conn_connected(struct rdv_pg_conn *c)
{
    struct rdv_pg_pool *p = c->pool;
    /* the connect deadline keeps running until the connection serves: a server that accepted
     * the connection may still never answer the check */
    PQsetNoticeProcessor(c->pg, notice_quiet, c);
    if (PQsetnonblocking(c->pg, 1) != 0 || PQenterPipelineMode(c->pg) != 1) {
        conn_fail(c, "cannot enter pipeline mode");
        return;
    }
    if (!p->cfg.check_sql) {
        conn_prepare(c);
        return;
    }
    if (!PQsendQueryParams(c->pg, p->cfg.check_sql, 0, NULL, NULL, NULL, NULL, 1) || !PQpipelineSync(c->pg)) {
        conn_fail(c, "cannot send the check");
        return;
    }
    c->state = CONN_CHECKING;
    c->check_passed = false;
    snprintf(c->check_why, sizeof(c->check_why), "the check gave no result");
    conn_flush(c);
}

static void conn_poll_connect(struct rdv_pg_conn *c)
{
    switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_READING:
        conn_watch(c, EV_READ);
        break;
    case PGRES_POLLING_WRITING:
        conn_watch(c, EV_WRITE);
        break;
    case PGRES_POLLING_OK:
        conn_connected(c);
        break;
    case PGRES_POLLING_FAILED:
    default:
        conn_fail(c, "cannot connect");
        break;
    }
}

static bool is_host_key(const char *k)
{
    return strcmp(k, "host") == 0 || strcmp(k, "hostaddr") == 0 || strcmp(k, "port") == 0 ||
           strcmp(k, "fallback_application_name") == 0;
}

/* Connects to one host of the list: every parameter of the conninfo as parsed, but host,
 * hostaddr and port those of host i (libpq's own multi-host loop would ignore our deadline). */
static PGconn *connect_host(const struct rdv_pg_pool *p, unsigned i)
{
    const char *keys[80], *vals[80];
    size_t n = 0;
    for (const PQconninfoOption *o = p->opts; o->keyword && n + 5 < 80; o++)
        if (o->val && *o->val && !is_host_key(o->keyword)) {
            keys[n] = o->keyword;
            vals[n++] = o->val;
        }
    const char *const hk[] = {"host", "hostaddr", "port"};
    const char *const hv[] = {p->hosts[i], p->addrs[i], p->ports[i]};
    for (int k = 0; k < 3; k++)
        if (hv[k] && *hv[k]) {
            keys[n] = hk[k];
            vals[n++] = hv[k];
        }
    keys[n] = "fallback_application_name";
    vals[n++] = p->app_name;
    keys[n] = vals[n] = NULL;
    return PQconnectStartParams(keys, vals, 0);
}

static void conn_start(struct rdv_pg_conn *c)
{
    struct rdv_pg_pool *p = c->pool;
    if (c->round == 0 && c->fails)
        c->host = p->good_host; /* a fresh round starts where the pool last got served */
    c->pg = connect_host(p, c->host);
    if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) {
        conn_fail(c, c->pg ? "cannot start connecting" : "out of memory");
        return;
    }
    c->state = CONN_CONNECTING;
    ev_timer_stop(p->loop, &c->timer);
    ev_timer_set(&c->timer, p->connect_ms / 1000.0, 0.);
    ev_timer_start(p->loop, &c->timer);
    /* libpq: before the first PQconnectPoll, act as if it had asked to wait for writability */
    conn_watch(c, EV_WRITE);
}

/* ---- results ----------------------------------------------------------------------------------- */

/* The server does not have the statements this connection prepared (26000), or has some it did
 * not (42P05): a transaction pooler hands each transaction to another server connection. */
static bool pooler_lost_statements(const char *state)
{
    return state && (strcmp(state, "26000") == 0 || strcmp(state, "42P05") == 0);
}

/* Says once that the pool goes on without prepared statements; the connection reconnects so. */
static void switch_unprepared(struct rdv_pg_conn *c)
{
    struct rdv_pg_pool *p = c->pool;
    p->cfg.prepared = false;
    bool *told = p->cfg.told_unprepared ? p->cfg.told_unprepared : &p->told_unprepared;
    if (!*told)
        rdv_error(p->log, "%s: the server lost this connection's prepared statements: a transaction pooler "
                          "(pgbouncer < 1.21 in pool_mode=transaction)? Going on without prepared statements; "
                          "set store-prepared=0 to start so", label(p));
    *told = true;
}

static enum rdv_store_status result_failure(struct rdv_pg_conn *c, const PGresult *res)
{
    char buf[512], line[320];
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    bool transient = rdv_pg_sqlstate_transient(state);
    if (pooler_lost_statements(state) && c->pool->cfg.prepared)
        switch_unprepared(c);
    snprintf(line, sizeof(line), "%s: statement failed (%s): %s", label(c->pool), state ? state : "no SQLSTATE",
             one_line(buf, sizeof(buf), PQresultErrorMessage(res)));
    log_limited(c->pool, transient ? RDV_LOG_WARN : RDV_LOG_ERROR, line);
    return transient || pooler_lost_statements(state) ? RDV_STORE_UNAVAILABLE : RDV_STORE_ERROR;
}

static void prep_result(struct rdv_pg_conn *c, PGresult *res)
{
    ExecStatusType t = PQresultStatus(res);
    if (t == PGRES_PIPELINE_SYNC) {
        if (c->prep_failed || c->prep_left) {
            conn_fail(c, "cannot prepare statements (the statement failure above says why)");
            return;
        }
        conn_ready(c);
        return;
    }
    c->expect_null = true;
    if (c->prep_left)
        c->prep_left--;
    if (t != PGRES_COMMAND_OK) {
        if (t != PGRES_PIPELINE_ABORTED)
            result_failure(c, res);
        c->prep_failed = true;
    }
}

/* Serving: the deadline stops, and this host is where new connections start from now on. */
static void conn_ready(struct rdv_pg_conn *c)
{
    struct rdv_pg_pool *p = c->pool;
    ev_timer_stop(p->loop, &c->timer);
    c->state = CONN_READY;
    c->gen++;
    if (*p->refused)
        rdv_info(p->log, "%s: connection %u accepted (was: %s)", label(p), c->idx, p->refused);
    p->refused[0] = '\0';
    if (c->fails || c->host != p->good_host)
        rdv_info(p->log, "%s: connection %u is up (host %s)", label(p), c->idx, host_name(p, c->host));
    p->good_host = c->host;
    c->round = 0;
    c->fails = 0;
    c->backoff_ms = p->cfg.backoff_min_ms;
}

static void check_result(struct rdv_pg_conn *c, PGresult *res)
{
    struct rdv_pg_pool *p = c->pool;
    if (PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
        c->expect_null = true;
        c->check_passed = p->cfg.check(p->cfg.check_arg, res, c->check_why, sizeof(c->check_why));
        return;
    }
    if (!c->check_passed) {
        conn_refuse(c);
        return;
    }
    conn_prepare(c);
}

/* The operation the next statement result belongs to: the oldest one sent with results still due
 * (those before it in a batch have all theirs and wait for the batch's sync). */
static struct rdv_pg_op *pipe_current(const struct rdv_pg_conn *c)
{
    for (struct rdv_list_node *n = rdv_list_first(&c->pipe.ops); n; n = rdv_list_next(&c->pipe.ops, n)) {
        struct rdv_pg_op *op = rdv_list_entry(n, struct rdv_pg_op, link);
        if (op->got < op->nq || op->last)
            return op;
    }
    return list_head(&c->pipe);
}

static void op_result(struct rdv_pg_conn *c, PGresult *res, bool *kept)
{
    struct rdv_pg_op *op = pipe_current(c);
    ExecStatusType t = PQresultStatus(res);
    size_t idx = op->got++;
    c->expect_null = true;
    if (t == PGRES_TUPLES_OK || t == PGRES_COMMAND_OK) {
        if (op->st == RDV_STORE_OK && idx < op->nq && op->on_result)
            *kept = op->on_result(op, idx, res);
    } else if (t == PGRES_PIPELINE_ABORTED) {
        op->aborted = true;
    } else if (op->st == RDV_STORE_OK) {
        op->st = result_failure(c, res);
    }
}

/* Puts a failed batch's operations back at the front of their queue, in order, to go one per
 * transaction: the others' statements were rolled back with the failing one. */
static void batch_requeue(struct rdv_pg_conn *c, struct rdv_pg_op **ops, size_t n)
{
    struct rdv_pg_pool *p = c->pool;
    for (size_t i = n; i-- > 0;) {
        struct rdv_pg_op *op = ops[i];
        struct rdv_pg_list *q = op->pin >= 0 || op->affinity ? &c->waitq : &p->waitq;
        list_unlink(op);
        op->conn = NULL;
        op->got = 0;
        op->st = RDV_STORE_OK;
        op->last = op->aborted = false;
        op->alone = true;
        rdv_list_push_front(&q->ops, &op->link);
        q->n++;
        op->list = q;
    }
}

/* The sync of a transaction came back: its operations are answered, or (a batch in which a
 * statement failed) sent again one by one. */
static void batch_done(struct rdv_pg_conn *c)
{
    struct rdv_pg_op *ops[RDV_PG_MAX_BATCH];
    size_t n = 0;
    bool failed = false;
    for (struct rdv_pg_op *op = list_head(&c->pipe); op && n < RDV_PG_MAX_BATCH;) {
        ops[n++] = op;
        failed |= op->st != RDV_STORE_OK || op->aborted || op->got != op->nq;
        if (op->last) {
            c->wsyncs -= op->wtx;
            break;
        }
        struct rdv_list_node *next = rdv_list_next(&c->pipe.ops, &op->link);
        op = next ? rdv_list_entry(next, struct rdv_pg_op, link) : NULL;
    }
    if (n > 1 && failed) {
        batch_requeue(c, ops, n);
        return;
    }
    /* a callback may submit more, and a send that fails (or a close) then completes what is
     * left of this batch too: stop when the connection or the pool went under our feet */
    uint64_t epoch = c->epoch;
    for (size_t i = 0; i < n && c->epoch == epoch && !c->pool->closing; i++) {
        enum rdv_store_status st = ops[i]->got == ops[i]->nq ? ops[i]->st : RDV_STORE_ERROR;
        if (st == RDV_STORE_OK && ops[i]->aborted)
            st = RDV_STORE_ERROR;
        op_complete(ops[i], st);
    }
}

/* Handles one result; returns false when the loop must stop (connection torn down or pool gone). */
static bool conn_take(struct rdv_pg_conn *c, PGresult *res)
{
    struct rdv_pg_pool *p = c->pool;
    uint64_t epoch = c->epoch;
    bool kept = false;
    if (c->state == CONN_CHECKING) {
        check_result(c, res);
    } else if (c->state == CONN_PREPARING) {
        prep_result(c, res);
    } else if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
        batch_done(c);
    } else {
        op_result(c, res, &kept);
    }
    if (!kept)
        PQclear(res);
    return !p->closing && c->epoch == epoch;
}

/* Reads every result that has fully arrived. */
static void conn_drain(struct rdv_pg_conn *c)
{
    while (c->state == CONN_CHECKING || c->state == CONN_PREPARING || list_head(&c->pipe)) {
        if (PQisBusy(c->pg))
            break;
        PGresult *res = PQgetResult(c->pg);
        if (!res) {
            if (!c->expect_null)
                break; /* nothing more has arrived */
            c->expect_null = false;
            continue;
        }
        if (!conn_take(c, res))
            return;
    }
    if (PQstatus(c->pg) == CONNECTION_BAD)
        conn_fail(c, "connection lost");
}

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    struct rdv_pg_conn *c = w->data;
    struct rdv_pg_pool *p = c->pool;
    pool_enter(p);
    if (c->state == CONN_CONNECTING) {
        conn_poll_connect(c);
    } else if (c->pg) {
        /* libpq: after reading, flush again whatever it could not send before */
        if ((revents & EV_READ) && !PQconsumeInput(c->pg))
            conn_fail(c, "connection lost");
        else if (conn_flush(c))
            conn_drain(c);
    }
    if (!p->closing)
        pool_dispatch(p);
    pool_leave(p);
}

static void conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct rdv_pg_conn *c = w->data;
    struct rdv_pg_pool *p = c->pool;
    pool_enter(p);
    if (c->state == CONN_WAIT)
        conn_start(c);
    else if (c->state == CONN_CONNECTING || c->state == CONN_CHECKING || c->state == CONN_PREPARING)
        conn_fail(c, c->state == CONN_CONNECTING ? "connect timed out" : "no answer to the check or PREPARE in time");
    if (!p->closing)
        pool_dispatch(p);
    pool_leave(p);
}

/* ---- sending ----------------------------------------------------------------------------------- */

/* The SQL of a statement by name, for sending it unprepared; the statement set stays fixed either
 * way (pg_stat_statements sees the same texts). */
static const char *stmt_sql(const struct rdv_pg_pool *p, const char *name)
{
    for (size_t i = 0; i < p->cfg.nstmts; i++)
        if (strcmp(p->cfg.stmts[i].name, name) == 0)
            return p->cfg.stmts[i].sql;
    return "SELECT 'unknown statement'::int"; /* a bug: fails loudly */
}

/* Sends one operation's statements (no sync); false when that failed the connection. */
static bool conn_send_one(struct rdv_pg_conn *c, struct rdv_pg_op *op)
{
    list_unlink(op);
    list_push(&c->pipe, op);
    op->conn = c;
    op->gen = c->gen;
    op->last = false;
    op->aborted = false;
    for (size_t i = 0; i < op->nq; i++) {
        const struct rdv_pg_query *q = &op->q[i];
        const char *sql = c->pool->cfg.prepared ? NULL : stmt_sql(c->pool, q->stmt);
        if (sql ? !PQsendQueryParams(c->pg, sql, q->nparams, NULL, q->values, q->lengths, q->formats, 1)
                : !PQsendQueryPrepared(c->pg, q->stmt, q->nparams, q->values, q->lengths, q->formats, 1)) {
            conn_fail(c, "cannot send a statement");
            return false;
        }
    }
    return true;
}

static bool batchable(const struct rdv_pg_pool *p, const struct rdv_pg_op *op)
{
    return op && p->cfg.batch_max > 1 && op->batch && !op->alone;
}

/* Takes the next transaction's operations off q: its head, and while batching the batchable
 * ones after it, up to batch_max and the pipeline's room; sorted by cfg.order (stable). */
static size_t batch_take(struct rdv_pg_conn *c, struct rdv_pg_list *q, struct rdv_pg_op **ops)
{
    struct rdv_pg_pool *p = c->pool;
    size_t n = 0, most = p->cfg.batch_max > 1 ? p->cfg.batch_max : 1;
    struct rdv_pg_op *op = list_head(q);
    do {
        list_unlink(op);
        ops[n++] = op;
        op = list_head(q);
    } while (n < most && batchable(p, ops[n - 1]) && batchable(p, op) && c->pipe.n + n < p->cfg.max_inflight);
    for (size_t i = 1; p->cfg.order && i < n; i++) { /* insertion sort: stable, n is small */
        struct rdv_pg_op *x = ops[i];
        size_t j = i;
        for (; j > 0 && p->cfg.order(ops[j - 1], x) > 0; j--)
            ops[j] = ops[j - 1];
        ops[j] = x;
    }
    return n;
}

/* One transaction: the operations' statements, then the sync. */
static void conn_send(struct rdv_pg_conn *c, struct rdv_pg_list *q)
{
    struct rdv_pg_op *ops[RDV_PG_MAX_BATCH];
    size_t n = batch_take(c, q, ops);
    for (size_t i = 0; i < n; i++) {
        if (!conn_send_one(c, ops[i])) {
            /* the connection is down and failed what it carried: the rest too */
            for (size_t k = i + 1; k < n; k++)
                op_complete(ops[k], RDV_STORE_UNAVAILABLE);
            return;
        }
    }
    ops[n - 1]->last = true;
    ops[n - 1]->wtx = batchable(c->pool, ops[0]);
    c->wsyncs += ops[n - 1]->wtx;
    c->pool->transactions++;
    c->pool->batched_ops += n;
    if (!PQpipelineSync(c->pg)) {
        conn_fail(c, "cannot send sync");
        return;
    }
    conn_flush(c);
}

/* Whether c may take op's transaction: room in its pipeline and, for a batch of writes, fewer
 * than two of those in flight (the writes that wait meanwhile go in the next one, together). */
static bool conn_has_room(const struct rdv_pg_conn *c, const struct rdv_pg_op *op)
{
    const struct rdv_pg_pool *p = c->pool;
    return c->state == CONN_READY && c->pipe.n < p->cfg.max_inflight && (!batchable(p, op) || c->wsyncs < 2);
}

static struct rdv_pg_conn *least_busy(struct rdv_pg_pool *p, const struct rdv_pg_op *op)
{
    struct rdv_pg_conn *best = NULL;
    for (unsigned i = 0; i < p->cfg.size; i++) {
        struct rdv_pg_conn *c = &p->conns[i];
        if (conn_has_room(c, op) && (!best || c->pipe.n < best->pipe.n))
            best = c;
    }
    return best;
}

/* Moves waiting operations into pipelines with room: pinned ones first, then the shared queue to
 * the least busy connection. Sending may fail a connection, which re-enters nothing but lists. */
static void pool_dispatch(struct rdv_pg_pool *p)
{
    for (unsigned i = 0; i < p->cfg.size && !p->closing; i++) {
        struct rdv_pg_conn *c = &p->conns[i];
        while (!p->closing && list_head(&c->waitq) && conn_has_room(c, list_head(&c->waitq)))
            conn_send(c, &c->waitq);
    }
    struct rdv_pg_conn *c;
    while (!p->closing && list_head(&p->waitq) && (c = least_busy(p, list_head(&p->waitq))))
        conn_send(c, &p->waitq);
}

/* ---- operations -------------------------------------------------------------------------------- */

static void op_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct rdv_pg_op *op = w->data;
    struct rdv_pg_pool *p = op->pool;
    pool_enter(p);
    if (op->conn) {
        char why[96];
        snprintf(why, sizeof(why), "no answer within %u ms", p->cfg.timeout_ms);
        conn_fail(op->conn, why); /* completes op with everything else in that pipeline */
    } else {
        op_complete(op, RDV_STORE_UNAVAILABLE);
    }
    if (!p->closing)
        pool_dispatch(p);
    pool_leave(p);
}

/* Operations waiting for a connection: the shared queue and each connection's (affinity, pins). */
static size_t pool_queued(const struct rdv_pg_pool *p)
{
    size_t n = p->waitq.n;
    for (unsigned i = 0; i < p->cfg.size; i++)
        n += p->conns[i].waitq.n;
    return n;
}

void rdv_pg_pool_submit(struct rdv_pg_pool *p, struct rdv_pg_op *op)
{
    op->pool = p;
    op->conn = NULL;
    op->list = NULL;
    rdv_list_init(&op->link);
    op->got = 0;
    op->st = RDV_STORE_OK;
    ev_timer_init(&op->deadline, op_deadline_cb, p->cfg.timeout_ms / 1000.0, 0.);
    op->deadline.data = op;
    /* callers may have blocked since the loop last looked at the clock: deadlines count from now */
    ev_now_update(p->loop);
    pool_enter(p);
    bool pinned = op->pin >= 0 && (unsigned)op->pin < p->cfg.size;
    struct rdv_pg_conn *pc = pinned ? &p->conns[op->pin] : NULL;
    if (!pinned && op->pin < 0 && op->affinity && p->conns[op->affinity % p->cfg.size].state == CONN_READY)
        pc = &p->conns[op->affinity % p->cfg.size];
    if (p->closing || (pinned ? pc->state == CONN_WAIT : !pool_any_alive(p)) ||
        (op->pin >= 0 && !pinned) || pool_queued(p) >= p->cfg.max_queued) {
        op_complete(op, RDV_STORE_UNAVAILABLE); /* nothing could answer it in time */
    } else {
        list_push(pc ? &pc->waitq : &p->waitq, op);
        ev_timer_start(p->loop, &op->deadline);
        pool_dispatch(p);
    }
    pool_leave(p);
}

/* ---- the pool ---------------------------------------------------------------------------------- */

uint64_t rdv_pg_pool_generation(const struct rdv_pg_pool *p, unsigned idx)
{
    return idx < p->cfg.size && p->conns[idx].state == CONN_READY ? p->conns[idx].gen : 0;
}

/* libpq's own parser decides what a connection string is (URI or key=value). */
static PQconninfoOption *parse_conninfo(const char *conninfo, char *err, size_t errlen, int *rc)
{
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &msg);
    if (!opts) {
        char buf[256];
        snprintf(err, errlen, "store: bad PostgreSQL connection string: %s",
                 msg ? one_line(buf, sizeof(buf), msg) : "out of memory");
        *rc = msg ? RDV_ERR_INVALID : RDV_ERR_NOMEM;
        PQfreemem(msg);
    }
    return opts;
}

static const char *opt_val(const PQconninfoOption *opts, const char *key)
{
    for (const PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, key) == 0)
            return o->val;
    return NULL;
}

/* Splits a comma list in place into at most RDV_PG_MAX_HOSTS items; returns the count (0: none). */
static unsigned split_list(char *list, const char **items)
{
    unsigned n = 0;
    if (!list)
        return 0;
    for (char *q = list;; n++) {
        if (n == RDV_PG_MAX_HOSTS)
            return n + 1; /* too many: the caller refuses */
        items[n] = q;
        char *comma = strchr(q, ',');
        if (!comma)
            return n + 1;
        *comma = '\0';
        q = comma + 1;
    }
}

/* host, hostaddr and port as per-host lists, with libpq's rules: hostaddr as many as host (or
 * alone), port one for all or one per host. */
static int split_hosts(struct rdv_pg_pool *p, char *err, size_t errlen)
{
    static const char *const keys[] = {"host", "hostaddr", "port"};
    const char **dst[] = {p->hosts, p->addrs, p->ports};
    unsigned n[3];
    for (int k = 0; k < 3; k++) {
        const char *v = opt_val(p->opts, keys[k]);
        if (v && *v && !(p->lists[k] = strdup(v))) {
            snprintf(err, errlen, "out of memory");
            return RDV_ERR_NOMEM;
        }
        n[k] = split_list(p->lists[k], dst[k]);
    }
    unsigned hosts = n[0] > n[1] ? n[0] : n[1];
    if (hosts == 0)
        hosts = 1; /* libpq's default (PGHOST, the socket directory) */
    if (hosts > RDV_PG_MAX_HOSTS || (n[0] && n[1] && n[0] != n[1]) || (n[2] > 1 && n[2] != hosts)) {
        snprintf(err, errlen, "store: bad PostgreSQL connection string: %u hosts, %u hostaddrs and %u ports "
                 "do not match (at most %d hosts)", n[0], n[1], n[2], RDV_PG_MAX_HOSTS);
        return RDV_ERR_INVALID;
    }
    for (unsigned i = 1; n[2] == 1 && i < hosts; i++)
        p->ports[i] = p->ports[0];
    p->nhosts = hosts;
    return RDV_OK;
}

/* The deadline of one host: the conninfo's connect_timeout (libpq's rule: seconds, at least 2),
 * else the configured or default one. */
static uint32_t connect_deadline_ms(const struct rdv_pg_pool *p)
{
    const char *v = opt_val(p->opts, "connect_timeout");
    long s = v && *v ? strtol(v, NULL, 10) : 0;
    if (s > 0)
        return (uint32_t)(s < 2 ? 2000 : s > 3600 ? 3600000 : s * 1000);
    return p->cfg.connect_timeout_ms ? p->cfg.connect_timeout_ms : RDV_PG_CONNECT_TIMEOUT_MS;
}

const char *rdv_pg_conninfo_masked(const char *conninfo, char *buf, size_t cap)
{
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    if (!opts) {
        snprintf(buf, cap, "(unparsable connection string)");
        return buf;
    }
    size_t len = 0;
    buf[0] = '\0';
    for (const PQconninfoOption *o = opts; o->keyword && len < cap; o++) {
        if (!o->val || !*o->val)
            continue;
        bool secret = strcmp(o->keyword, "password") == 0;
        bool quote = !secret && strpbrk(o->val, " '\\") != NULL;
        int w = snprintf(buf + len, cap - len, "%s%s=%s%s%s", len ? " " : "", o->keyword, quote ? "'" : "",
                         secret ? "********" : o->val, quote ? "'" : "");
        len += w > 0 ? (size_t)w : 0;
    }
    PQconninfoFree(opts);
    return buf;
}

static void pool_release(struct rdv_pg_pool *p)
{
    if (p->opts)
        PQconninfoFree(p->opts);
    for (int k = 0; k < 3; k++)
        free(p->lists[k]);
    free(p->conns);
    free(p->conninfo);
    free(p->app_name);
    free(p);
}

int rdv_pg_pool_new(struct ev_loop *loop, const struct rdv_log *log, const struct rdv_pg_pool_config *cfg,
                    struct rdv_pg_pool **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!cfg->size || !cfg->timeout_ms || !cfg->max_inflight || cfg->batch_max > RDV_PG_MAX_BATCH) {
        snprintf(err, errlen, "store: bad PostgreSQL pool settings");
        return RDV_ERR_INVALID;
    }
    int rc = RDV_OK;
    PQconninfoOption *opts = parse_conninfo(cfg->conninfo, err, errlen, &rc);
    if (!opts)
        return rc;
    struct rdv_pg_pool *p = calloc(1, sizeof(*p));
    if (!p) {
        PQconninfoFree(opts);
        snprintf(err, errlen, "out of memory");
        return RDV_ERR_NOMEM;
    }
    p->opts = opts;
    if (!(p->conns = calloc(cfg->size, sizeof(*p->conns))) || !(p->conninfo = strdup(cfg->conninfo)) ||
        !(p->app_name = strdup(cfg->app_name ? cfg->app_name : "rendezvousd"))) {
        pool_release(p);
        snprintf(err, errlen, "out of memory");
        return RDV_ERR_NOMEM;
    }
    p->cfg = *cfg;
    p->refused = cfg->refused ? cfg->refused : p->own_refused;
    if ((rc = split_hosts(p, err, errlen))) {
        pool_release(p);
        return rc;
    }
    p->connect_ms = connect_deadline_ms(p);
    p->loop = loop;
    p->log = log;
    p->cfg.conninfo = p->conninfo;
    list_init(&p->waitq);
    for (unsigned i = 0; i < cfg->size; i++) {
        struct rdv_pg_conn *c = &p->conns[i];
        list_init(&c->pipe);
        list_init(&c->waitq);
        c->pool = p;
        c->idx = i;
        c->host = i % p->nhosts; /* spread over the hosts at first: several standbys share reads */
        c->io_fd = -1;
        c->backoff_ms = cfg->backoff_min_ms;
        ev_init(&c->io, conn_io_cb);
        c->io.data = c;
        ev_init(&c->timer, conn_timer_cb);
        c->timer.data = c;
    }
    pool_enter(p);
    ev_now_update(loop);
    for (unsigned i = 0; i < cfg->size; i++)
        conn_start(&p->conns[i]);
    pool_leave(p);
    *out = p;
    return RDV_OK;
}

void rdv_pg_pool_free(struct rdv_pg_pool *p)
{
    if (!p || p->closing)
        return;
    pool_enter(p);
    p->closing = true;
    for (unsigned i = 0; i < p->cfg.size; i++) {
        struct rdv_pg_conn *c = &p->conns[i];
        conn_close(c);
        c->state = CONN_WAIT;
        list_fail_all(&c->pipe, RDV_STORE_UNAVAILABLE);
        list_fail_all(&c->waitq, RDV_STORE_UNAVAILABLE);
    }
    list_fail_all(&p->waitq, RDV_STORE_UNAVAILABLE);
    pool_leave(p);
}

void rdv_pg_pool_batches(const struct rdv_pg_pool *p, uint64_t *transactions, uint64_t *ops)
{
    *transactions = p->transactions;
    *ops = p->batched_ops;
}

void rdv_pg_pool_usage(const struct rdv_pg_pool *p, uint32_t *ready, uint32_t *busy)
{
    *ready = *busy = 0;
    for (unsigned i = 0; i < p->cfg.size; i++) {
        const struct rdv_pg_conn *c = &p->conns[i];
        *ready += c->state == CONN_READY;
        *busy += c->state == CONN_READY && c->pipe.n > 0;
    }
}
