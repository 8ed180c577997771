/* postgres.h: the PostgreSQL store ("postgres://..." and "postgresql://..." URLs, any libpq
 * connection string).
 *
 * Registrations live in one table (sql/schema.sql), so several rendezvousd front-ends on one
 * database serve the same registrations. Every operation is a prepared statement run through a
 * small pool of non-blocking, pipelined libpq connections on the caller's libev loop (pg_pool.h):
 * callbacks always run later from the loop, except that an operation fails at once (UNAVAILABLE)
 * when no connection is up or coming up. An operation unanswered after timeout_ms completes
 * UNAVAILABLE. A put answered OK has committed.
 *
 * Expiry uses the database clock: expires_at = now() + ttl at the upsert, discover and the browse
 * operations only read rows with expires_at > now(), and ttl_left_ms is computed in SQL.
 * expire() is the reaper's step: it sweeps expired rows in bounded batches only while this store
 * holds the reaper lease (rdv_meta's 'reaper' row, taken and renewed inside each batch's own
 * transaction, so no session state: it works through transaction poolers); a holder that stops
 * renewing (dies, or loses the database) is replaced by the next front-end's expire() once its
 * lease runs out (5 s).
 *
 * secret() reads rdv_meta's cookie_secret (offering a fresh one when absent: the first writer
 * wins) and keeps it: once read it is answered before secret() returns. */
#ifndef RDV_STORE_POSTGRES_H
#define RDV_STORE_POSTGRES_H

#include <stdint.h>

#include "store/store.h"

#define RDV_PG_DEFAULT_TIMEOUT_MS 1000
#define RDV_PG_DEFAULT_POOL 4
#define RDV_PG_MAX_POOL 64
#define RDV_PG_REAP_BATCH 1000     /* rows per DELETE */
#define RDV_PG_REAP_MAX_BATCHES 10 /* per expire() call; the next call goes on */
#define RDV_PG_PAGE_MAX 10000      /* cap on one browse page or discover sample */

struct ev_loop;
struct rdv_log;

/* timeout_ms 0 and pool 0 take the defaults. Returns RDV_OK; RDV_ERR_INVALID (bad connection
 * string or settings, or a database whose schema this build does not serve: missing, older or
 * newer than version 2, the reason and what to do in err); RDV_ERR_NOMEM. Looks at the database
 * once, blocking (the schema version, and the cookie secret, made if absent), but a database that
 * cannot be reached is no error (waits at most libpq's 2 s connect timeout): a store opened while
 * it is down answers UNAVAILABLE until it is back. Every pool connection checks the version again
 * before it serves (refusals are logged once and retried with the backoff). */
int rdv_store_postgres_open(const char *conninfo, uint32_t timeout_ms, unsigned pool, struct ev_loop *loop,
                            const struct rdv_log *log, struct rdv_store **out, char *err, size_t errlen);

/* The same with every setting of store.h's rdv_store_options (opt may be NULL): read_url opens a
 * second pool on the standbys for discover and the browse operations (each read first asks the
 * standby its replay lag and goes to the primary when it exceeds read_max_lag_ms or the standby
 * does not answer); unprepared sends every statement unnamed (transaction poolers); app_name is
 * the connections' fallback_application_name. */
int rdv_store_postgres_open_with(const char *conninfo, const struct rdv_store_options *opt, struct ev_loop *loop,
                                 const struct rdv_log *log, struct rdv_store **out, char *err, size_t errlen);

/* Applies sql/schema.sql (creates version 2 or migrates version 1 in place; idempotent;
 * serialized among concurrent callers by an advisory lock) and makes the cookie secret, all in
 * one transaction.
 * Blocking: for `rendezvousd --init-db` and tests, never for the request path. Returns RDV_OK, or
 * RDV_ERR_UNAVAILABLE / RDV_ERR_INVALID with the server's message in err. */
int rdv_store_postgres_init(const char *conninfo, char *err, size_t errlen);

/* The SQL of one of the store's fixed statements by name ("rdv_stats", ...), or NULL: for the
 * tests that EXPLAIN them. */
const char *rdv_store_postgres_sql(const char *name);

/* The schema text compiled in (sql/schema.sql). */
const char *rdv_store_postgres_schema(void);

#endif
