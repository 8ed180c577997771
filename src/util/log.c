/* log.c: see log.h. One fprintf per line so concurrent processes sharing stderr do not interleave
 * within a line. */
#include "util/log.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include "util/err.h"

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int rdv_log_level_parse(const char *s, enum rdv_log_level *out)
{
    for (int i = 0; i <= RDV_LOG_DEBUG; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum rdv_log_level)i;
            return RDV_OK;
        }
    }
    return RDV_ERR_INVALID;
}

const char *rdv_log_level_name(enum rdv_log_level l)
{
    return l <= RDV_LOG_DEBUG ? level_names[l] : "?";
}

void rdv_log_write(const struct rdv_log *log, enum rdv_log_level l, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    static const int priority[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    int prio = l <= RDV_LOG_DEBUG ? priority[l] : LOG_DEBUG;
    if (log->format == RDV_LOG_FMT_SYSLOG) {
        syslog(prio, "%s", msg);
        return;
    }
    if (log->format == RDV_LOG_FMT_JOURNAL) {
        fprintf(log->out ? log->out : stderr, "<%d>%s\n", prio, msg);
        return;
    }

    struct timespec ts;
    struct tm tm;
    char when[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(log->out ? log->out : stderr, "%s.%03ldZ %-5s %s\n", when, ts.tv_nsec / 1000000L,
            rdv_log_level_name(l), msg);
}
