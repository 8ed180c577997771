/* open.c: a backend chosen by its URL (memory:, postgres://... or key=value conninfo,
 * leveldb:/path). The one file that knows every backend, so no backend needs to know another. */

#include "config.h"
#include "store/open.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "store/memory.h"
#include "store/postgres.h"
#ifdef HAVE_LEVELDB
#include "store/leveldb.h"
#endif
#include "util/err.h"

/* PostgreSQL URIs, and key=value connection strings ("host=db dbname=rdv"): anything with an
 * '=' that names no other backend. libpq's parser then decides whether it is valid. */
static bool is_postgres_url(const char *url)
{
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
        return true;
    return strchr(url, '=') && strncmp(url, "memory", 6) != 0 && strncmp(url, "leveldb:", 8) != 0;
}

static bool is_schemaless_url(const char *url)
{
    return strcmp(url, "memory:") == 0 || strcmp(url, "memory") == 0 || strncmp(url, "leveldb:", 8) == 0;
}

/* Only the scheme is echoed: a mistyped URL may still hold a password. */
static void unknown_kind(const char *url, char *err, size_t errlen)
{
    snprintf(err, errlen, "store '%.*s...': unknown kind (memory:, postgres://..., key=value conninfo, leveldb:/path)",
             (int)strcspn(url, ":@/ "), url);
}

int rdv_store_open_with(const char *url, const struct rdv_store_options *opt, struct ev_loop *loop,
                        const struct rdv_log *log, struct rdv_store **out, char *err, size_t errlen)
{
    if (is_postgres_url(url))
        return rdv_store_postgres_open_with(url, opt, loop, log, out, err, errlen);
    return rdv_store_open(url, loop, log, out, err, errlen);
}

int rdv_store_init(const char *url, char *err, size_t errlen)
{
    if (is_postgres_url(url))
        return rdv_store_postgres_init(url, err, errlen);
    if (is_schemaless_url(url))
        return RDV_OK;
    /* a URL no backend takes must not pass for a database whose schema is in place */
    unknown_kind(url, err, errlen);
    return RDV_ERR_INVALID;
}

int rdv_store_open(const char *url, struct ev_loop *loop, const struct rdv_log *log, struct rdv_store **out,
                   char *err, size_t errlen)
{
    if (is_postgres_url(url))
        return rdv_store_postgres_open(url, 0, 0, loop, log, out, err, errlen);
    if (strcmp(url, "memory:") == 0 || strcmp(url, "memory") == 0) {
        *out = rdv_store_memory_new(NULL);
        if (!*out) {
            snprintf(err, errlen, "out of memory");
            return RDV_ERR_NOMEM;
        }
        return RDV_OK;
    }
    if (strncmp(url, "leveldb:", 8) == 0) {
#ifdef HAVE_LEVELDB
        return rdv_store_leveldb_open(url + 8, NULL, log, out, err, errlen);
#else
        snprintf(err, errlen, "store '%s': this rendezvousd was built without LevelDB (install libleveldb-dev and rebuild)", url);
        return RDV_ERR_UNSUPPORTED;
#endif
    }
    unknown_kind(url, err, errlen);
    return RDV_ERR_INVALID;
}
