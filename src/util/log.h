/* log.h: leveled logging to stderr (or any FILE), or to syslog.
 *
 * A struct rdv_log is created by main() and handed to whoever logs: no global logger, so tests can
 * capture or silence it. Lines look like: 2026-11-26T13:41:41.123Z info  listening on /ip4/...
 * In journal form a line is "<6>listening on ..." instead: the journal reads the priority from
 * the prefix and stamps the time itself. */
#ifndef RDV_LOG_H
#define RDV_LOG_H

#include <stdio.h>

enum rdv_log_level { RDV_LOG_ERROR = 0, RDV_LOG_WARN, RDV_LOG_INFO, RDV_LOG_DEBUG };

enum rdv_log_format {
    RDV_LOG_FMT_PLAIN = 0, /* time, level, message */
    RDV_LOG_FMT_JOURNAL,   /* "<priority>message" (sd-daemon(3) prefixes) */
    RDV_LOG_FMT_SYSLOG,    /* syslog(3); the caller opens it (openlog) */
};

struct rdv_log {
    enum rdv_log_level level;
    FILE *out; /* NULL = stderr */
    enum rdv_log_format format;
};

/* Parses "error", "warn", "info", "debug"; returns 0 or RDV_ERR_INVALID. */
int rdv_log_level_parse(const char *s, enum rdv_log_level *out);
const char *rdv_log_level_name(enum rdv_log_level l);

__attribute__((format(printf, 3, 4)))
void rdv_log_write(const struct rdv_log *log, enum rdv_log_level l, const char *fmt, ...);

#define rdv_log_enabled(log, l) ((log) && (l) <= (log)->level)
#define RDV_LOG(log, l, ...) do { if (rdv_log_enabled(log, l)) rdv_log_write(log, l, __VA_ARGS__); } while (0)
#define rdv_error(log, ...) RDV_LOG(log, RDV_LOG_ERROR, __VA_ARGS__)
#define rdv_warn(log, ...) RDV_LOG(log, RDV_LOG_WARN, __VA_ARGS__)
#define rdv_info(log, ...) RDV_LOG(log, RDV_LOG_INFO, __VA_ARGS__)
#define rdv_debug(log, ...) RDV_LOG(log, RDV_LOG_DEBUG, __VA_ARGS__)

#endif
