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
 * Completion means the pipeline sync came back: for a write, the transaction has committed. */
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
#define RDV_PG_MAX_PARAMS 8    /* parameters per statement */

struct rdv_log;
struct rdv_pg_pool;

/* A statement prepared on every connection. sql must stay valid while the pool lives. */
struct rdv_pg_stmt {
    const char *name;
    const char *sql;
};

struct rdv_pg_pool_config {
    const char *conninfo;            /* a libpq conninfo string or postgres:// URI (copied) */
    const struct rdv_pg_stmt *stmts; /* prepared on every connection */
    size_t nstmts;
    unsigned size;                   /* connections (>= 1) */
    uint32_t timeout_ms;             /* operation deadline */
    uint32_t connect_timeout_ms;     /* a connection not up by then is retried */
    uint32_t backoff_min_ms, backoff_max_ms;
    unsigned max_inflight;           /* operations in one connection's pipeline */
    unsigned max_queued;             /* operations waiting for a connection; beyond: UNAVAILABLE */
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
/* Fails every pending operation with UNAVAILABLE (their on_done runs), closes the connections and
 * frees the pool; safe to call from inside an on_done, in which case the pool (and cfg.on_free)
 * goes only once the outermost pool callback returns. */
void rdv_pg_pool_free(struct rdv_pg_pool *p);

/* SQLSTATEs that mean "try again later" (connection, shutdown, resources, serialization). */
bool rdv_pg_sqlstate_transient(const char *sqlstate);

#endif
