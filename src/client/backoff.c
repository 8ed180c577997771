/* backoff.c: see backoff.h. */
#include "client/backoff.h"

#include <sodium.h>

double rdv_backoff_delay(double min, double max, unsigned attempt, double r)
{
    double step = min;
    for (unsigned i = 1; i < attempt && step < max; i++)
        step *= 2;
    if (step > max)
        step = max;
    return step / 2 + step / 2 * r;
}

double rdv_backoff_refresh(double ttl, double r)
{
    double d = ttl * 0.75 - ttl * 0.1 * r;
    return d < RDV_BACKOFF_REFRESH_MIN ? RDV_BACKOFF_REFRESH_MIN : d;
}

double rdv_backoff_random(void)
{
    return randombytes_uniform(1u << 30) / (double)(1u << 30);
}
