/* pg_pool.h: a small pool of asynchronous libpq connections driven by a libev loop.
 *
 * Nothing here blocks: each connection is opened with PQconnectStart/PQconnectPoll, then switched
 * to non-blocking and pipeline mode, and every statement the pool will run is prepared on it.
 * An operation is a short list of prepared statements sent back to back and closed by one
 * pipeline sync, so it runs as one implicit transaction in one round trip; a connection carries
 * several operations in flight at once, answered in order.
 *
 * Every operation has a deadline (the pool's timeout): if it has not completed by then it completes
 * RDV_STORE_UNAVAILABLE, and the connection it was sent on is presumed dead (a healthy server
 * answers these statements in milliseconds) and is reset, so a hung server costs one timeout,
 * not one per request. A broken connection fails its operations at once and reconnects after an
 * exponential backoff. When no connection is up or on its way up, new operations fail at once.
 *
 * Completion means the pipeline sync came back: for a write, the transaction has committed.
 *
 * Hosts: a multi-host conninfo (host=a,b or postgres://a,b/db) is connected host by host by the
 * pool itself, not by libpq, because libpq ignores connect_timeout in non-blocking mode: a host
 * that accepts TCP but never answers (a SIGSTOPped server) would hold the connection forever.
 * Each connection tries one host at a time under its own deadline (connect, check, prepare),
 * then the next; a connection that fails moves on to the next host at once, and backs off only
 * after a whole round of hosts failed. New connections start at the host that last served.
 * libpq still applies target_session_attrs to each single host (read-write refuses a standby). */
#ifndef RDV_STORE_PG_POOL_H
#define RDV_STORE_PG_POOL_H

#include "util/list.h"
#include <ev.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define RDV_PG_MAX_QUERIES 2   /* statements per operation */
#define RDV_PG_MAX_PARAMS 9    /* parameters per statement */
#define RDV_PG_CONNECT_TIMEOUT_MS 3000
#define RDV_PG_MAX_HOSTS 16    /* hosts of one multi-host conninfo */
#define RDV_PG_MAX_BATCH 256   /* operations per transaction (batch_max) */

struct rdv_log;
struct rdv_pg_pool;
struct rdv_pg_op;

/* A statement prepared on every connection. sql must stay valid while the pool lives. */
struct rdv_pg_stmt {
    const char *name;
    const char *sql;
};

#define RDV_PG_REFUSED_MAX 256

struct rdv_pg_pool_config {
    const char *conninfo;            /* a libpq conninfo string or postgres:// URI (copied) */
    const struct rdv_pg_stmt *stmts; /* prepared on every connection */
    size_t nstmts;
    unsigned size;                   /* connections (>= 1) */
    uint32_t timeout_ms;             /* operation deadline */
    uint32_t connect_timeout_ms;     /* per host: a connection not serving by then (connected, checked,
                                      * prepared) tries the next host; 0: the conninfo's
                                      * connect_timeout, else RDV_PG_CONNECT_TIMEOUT_MS */
    uint32_t backoff_min_ms, backoff_max_ms;
    unsigned max_inflight;           /* operations in one connection's pipeline */
    /* Group commit: up to batch_max waiting operations go as one transaction (their statements,
     * then one sync: one commit, one WAL flush) of operations marked batch, and a connection then
     * carries at most two such transactions at a time, so those that arrive while a commit is
     * flushing wait and go together in the next. 0 or 1: every operation its own transaction, any number in flight.
     * A batch a statement failed in (the server aborts the whole transaction) is re-run one
     * operation per transaction, so each still gets its own answer. */
    unsigned batch_max;
    /* Orders the operations of one batch (a stable sort; NULL: as they came). The store sorts by
     * the rows an operation locks, so every transaction takes its locks in one global order and
     * two batches on two connections (or two front-ends) cannot deadlock each other. */
    int (*order)(const struct rdv_pg_op *a, const struct rdv_pg_op *b);
    unsigned max_queued;             /* operations waiting for a connection; beyond: UNAVAILABLE */
    /* false: no protocol-level prepared statements: every statement goes as an unnamed one with
     * its SQL (for a transaction pooler that does not keep them, pgbouncer < 1.21). true, and the
     * server then forgets them (SQLSTATE 26000 / 42P05): the pool says so once and switches. */
    bool prepared;
    /* Shared by the pools of one store (may be NULL: the pool's own): the switch away from
     * prepared statements is said once per process, not once per pool. */
    bool *told_unprepared;
    /* Shared likewise (may be NULL: the pool's own; RDV_PG_REFUSED_MAX bytes): the last reason a
     * connection check refused, so a refused schema is logged once for all pools, not once each. */
    char *refused;
    const char *app_name;            /* fallback_application_name (NULL: "rendezvousd"; copied) */
    const char *label;               /* in log lines: "postgres" or "postgres (read)" (NULL: the first) */
    /* Run on every new connection, before anything is prepared (may be NULL): check_sql (no
     * parameters, binary results), then check() judges its result, a failed one included. false
     * refuses the connection: it is closed and retried after the backoff, and why (one line) is
     * logged as an error once, not at every retry, until it changes or a connection is accepted.
     * The schema version check: preparing statements against the wrong schema would only fail
     * statement by statement. */
    const char *check_sql;
    bool (*check)(void *arg, const PGresult *res, char *why, size_t cap);
    void *check_arg;
    void (*on_free)(void *arg);      /* called as the pool is finally freed (may be NULL): */
    void *free_arg;                  /* then no operation of it is left anywhere */
};

/* One statement of an operation. Parameters are bound, never spliced into SQL: values[i] with
 * lengths[i] bytes in formats[i] (0 text, NUL-terminated; 1 binary); a NULL value is SQL NULL.
 * Results come back in binary format. */
struct rdv_pg_query {
    const char *stmt; /* a prepared statement's name */
    int nparams;
    const char *values[RDV_PG_MAX_PARAMS];
    int lengths[RDV_PG_MAX_PARAMS];
    int formats[RDV_PG_MAX_PARAMS];
};

struct rdv_pg_op;
struct rdv_pg_conn;
struct rdv_pg_list;
/* Called for each statement's successful result (PGRES_TUPLES_OK or PGRES_COMMAND_OK), in order.
 * Return true to keep res (then PQclear it yourself), false to let the pool free it. */
typedef bool (*rdv_pg_result_fn)(struct rdv_pg_op *op, size_t idx, PGresult *res);
/* Called exactly once: OK when every statement succeeded and the transaction committed; ERROR
 * when the server refused a statement (logged); UNAVAILABLE when the server could not be reached
 * or did not answer in time. The pool frees the operation later (free(op)): do not keep it. */
typedef void (*rdv_pg_done_fn)(struct rdv_pg_op *op, enum rdv_store_status st);

/* An operation. Allocate it with malloc as the first member of your own struct (the pool frees
 * the whole block), zero it, fill the fields up to `on_done`, then rdv_pg_pool_submit(). The
 * queries' parameter bytes must live in that same block. */
struct rdv_pg_op {
    struct rdv_pg_query q[RDV_PG_MAX_QUERIES];
    size_t nq;
    int pin;                 /* -1: any connection; else that connection's index */
    /* may share a transaction with other such operations (short writes: group commit). Reads
     * are not batched: they commit nothing, and go as deep into the pipeline as it allows. */
    bool batch;
    /* 0: any connection; else a hash: operations with the same one go to the same connection
     * while it is up (connection affinity % size), so they run in the order they were submitted
     * (one connection's transactions run one after the other). Falls back to any connection. */
    uint32_t affinity;
    rdv_pg_result_fn on_result;
    rdv_pg_done_fn on_done;
    /* the pool's */
    uint64_t gen;            /* generation of the connection it was sent on (see below) */
    struct rdv_list_node link; /* in exactly one list: a wait queue or a connection's pipeline */
    struct rdv_pg_pool *pool;
    struct rdv_pg_conn *conn; /* when sent */
    struct rdv_pg_list *list; /* the list it is in */
    size_t got;              /* statement results seen */
    enum rdv_store_status st; /* worst outcome so far */
    bool last;               /* the last of its transaction: the sync follows it */
    bool wtx;                /* (last) its transaction was a batch of writes (counted in wsyncs) */
    bool alone;              /* re-run after its batch failed: its own transaction now */
    bool aborted;            /* a statement of it was skipped: its transaction aborted */
    ev_timer deadline;
};

/* Starts connecting; returns RDV_OK, RDV_ERR_INVALID (bad conninfo, message in err) or
 * RDV_ERR_NOMEM. The pool starts answering operations at once (they wait for a connection until
 * their deadline). */
int rdv_pg_pool_new(struct ev_loop *loop, const struct rdv_log *log, const struct rdv_pg_pool_config *cfg,
                    struct rdv_pg_pool **out, char *err, size_t errlen);
/* Takes the operation; its on_done runs exactly once, possibly before this returns. */
void rdv_pg_pool_submit(struct rdv_pg_pool *p, struct rdv_pg_op *op);
/* Each connection counts its sessions: the generation changes whenever it reconnects, so session
 * state (an advisory lock) taken on generation g is gone once the connection is on another.
 * Returns 0 while that connection is down. */
uint64_t rdv_pg_pool_generation(const struct rdv_pg_pool *p, unsigned idx);
/* Connections ready to take operations, and of those the ones with operations in flight. */
void rdv_pg_pool_usage(const struct rdv_pg_pool *p, uint32_t *ready, uint32_t *busy);
/* Transactions sent so far, and the operations they carried (their ratio: the mean batch). */
void rdv_pg_pool_batches(const struct rdv_pg_pool *p, uint64_t *transactions, uint64_t *ops);
/* Fails every pending operation with UNAVAILABLE (their on_done runs), closes the connections and
 * frees the pool; safe to call from inside an on_done, in which case the pool (and cfg.on_free)
 * goes only once the outermost pool callback returns. */
void rdv_pg_pool_free(struct rdv_pg_pool *p);

/* The connection string for a log line: every parameter it sets, the password as "********".
 * Returns buf; on a string libpq cannot parse, "(unparsable connection string)". */
const char *rdv_pg_conninfo_masked(const char *conninfo, char *buf, size_t cap);

/* SQLSTATEs that mean "try again later" (connection, shutdown, resources, serialization). */
bool rdv_pg_sqlstate_transient(const char *sqlstate);

#endif
