/* sysd.c: see sysd.h. The journal check needs no libsystemd: systemd sets JOURNAL_STREAM to
 * "DEVICE:INODE" of the stream it connected, so comparing it with fstat(2) is enough (and tells a
 * redirected stderr from the journal's). RDV_HAVE_LIBSYSTEMD comes from Makefile.am, not autoconf's
 * config.h, which server/config.h shadows in this directory. */
#include "server/sysd.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef RDV_HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

bool rdv_sysd_available(void)
{
#ifdef RDV_HAVE_LIBSYSTEMD
    return true;
#else
    return false;
#endif
}

void rdv_sysd_notify(const char *state)
{
#ifdef RDV_HAVE_LIBSYSTEMD
    (void)sd_notify(0, state);
#else
    (void)state;
#endif
}

double rdv_sysd_watchdog_interval(void)
{
#ifdef RDV_HAVE_LIBSYSTEMD
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
        return (double)usec / 1e6;
#endif
    return 0;
}

bool rdv_sysd_stderr_is_journal(void)
{
    const char *e = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}
