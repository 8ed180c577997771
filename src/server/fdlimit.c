/* fdlimit.c: see fdlimit.h. */
#include "server/fdlimit.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

uint32_t rdv_fdlimit_fit(uint32_t max_connections, uint32_t others, const struct rdv_log *log)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)max_connections + others + RDV_FD_OVERHEAD;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return max_connections;
    rlim_t old = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
    if (rl.rlim_cur > old && setrlimit(RLIMIT_NOFILE, &rl) == 0)
        rdv_info(log, "raised the open file limit from %llu to %llu for max-connections %u",
                 (unsigned long long)old, (unsigned long long)rl.rlim_cur, max_connections);
    else
        rl.rlim_cur = old;
    if (rl.rlim_cur >= need)
        return max_connections;
    rlim_t room = rl.rlim_cur > (rlim_t)others + RDV_FD_OVERHEAD ? rl.rlim_cur - others - RDV_FD_OVERHEAD : 1;
    rdv_warn(log, "open file limit %llu (hard %llu) is too low for max-connections %u (+%u for the store pool and "
                  "admin): serving at most %llu connections; raise LimitNOFILE= or ulimit -n",
             (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max, max_connections, others + RDV_FD_OVERHEAD,
             (unsigned long long)room);
    return (uint32_t)room;
}
