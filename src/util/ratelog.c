/* ratelog.c: see ratelog.h. */
#include "util/ratelog.h"

bool rdv_ratelog_allow(struct rdv_ratelog *r, double now, uint64_t *suppressed)
{
    if (now - r->last < r->every) {
        r->suppressed++;
        return false;
    }
    *suppressed = r->suppressed;
    r->suppressed = 0;
    r->last = now;
    return true;
}
