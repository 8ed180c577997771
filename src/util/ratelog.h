/* ratelog.h: one small limiter for log lines a peer can trigger (refused and evicted connections):
 * at most one line per `every` seconds, and that line says how many similar ones were held back,
 * so the log stays bounded whatever the peers do. Pure: the caller passes the time. */
#ifndef RDV_RATELOG_H
#define RDV_RATELOG_H

#include <stdbool.h>
#include <stdint.h>

struct rdv_ratelog {
    double every;         /* seconds between lines */
    double last;          /* time of the last line written */
    uint64_t suppressed;  /* held back since then */
};

static inline void rdv_ratelog_init(struct rdv_ratelog *r, double every)
{
    r->every = every;
    r->last = -1e300;
    r->suppressed = 0;
}

/* true: write the line now, mentioning *suppressed similar messages held back since the last one;
 * false: hold it back (counted). */
bool rdv_ratelog_allow(struct rdv_ratelog *r, double now, uint64_t *suppressed);

#endif
