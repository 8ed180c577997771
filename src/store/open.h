/* open.h: opening a store backend by URL (open.c). */
#ifndef RDV_STORE_OPEN_H
#define RDV_STORE_OPEN_H

#include "store/store.h"

/* Opens the backend named by url: "memory:" (or "memory"), "postgres://..." (or a
 * key=value conninfo) and "leveldb:/path". Returns RDV_OK, or an error with a message in err. */
struct ev_loop;
struct rdv_log;
int rdv_store_open(const char *url, struct ev_loop *loop, const struct rdv_log *log, struct rdv_store **out,
                   char *err, size_t errlen);

/* rdv_store_open with options (opt may be NULL). "postgres://...", "postgresql://..." URLs and
 * key=value connection strings ("host=... dbname=...") go to libpq as they are. */
int rdv_store_open_with(const char *url, const struct rdv_store_options *opt, struct ev_loop *loop,
                        const struct rdv_log *log, struct rdv_store **out, char *err, size_t errlen);
/* Creates what the backend needs before first use (postgres: applies sql/schema.sql; idempotent).
 * Blocking: for `rendezvousd --init-db`. Backends without a schema: nothing to do, RDV_OK.
 * Returns RDV_OK, or an error with a message in err. */
int rdv_store_init(const char *url, char *err, size_t errlen);

#endif
