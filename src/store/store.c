/* store.c: backend-independent store helpers. */

#include "store/store.h"

#include <time.h>

const char *rdv_store_status_name(enum rdv_store_status st)
{
    switch (st) {
    case RDV_STORE_OK: return "ok";
    case RDV_STORE_STALE: return "stale";
    case RDV_STORE_LIMIT: return "limit";
    case RDV_STORE_ERROR: return "error";
    case RDV_STORE_UNAVAILABLE: return "unavailable";
    }
    return "unknown";
}

static int64_t system_now_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const struct rdv_clock rdv_clock_system = { system_now_ms, NULL };
