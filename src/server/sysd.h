/* sysd.h: what rendezvousd tells its service manager, and how it finds out it runs under one.
 *
 * With libsystemd (configure finds libsystemd-dev) the notifications go through sd_notify(3) to
 * $NOTIFY_SOCKET: READY=1 once listeners and the store are up, RELOADING=1 / READY=1 around a
 * SIGHUP, STOPPING=1 on shutdown, WATCHDOG=1 from a loop timer when WatchdogSec= asks for it.
 * Without libsystemd every call is a no-op and rdv_sysd_available() says so. */
#ifndef RDV_SERVER_SYSD_H
#define RDV_SERVER_SYSD_H

#include <stdbool.h>

/* Whether notifications can be sent at all (built with libsystemd). */
bool rdv_sysd_available(void);
/* Sends state (e.g. "READY=1\nSTATUS=serving") if a service manager listens; else nothing. */
void rdv_sysd_notify(const char *state);
/* The watchdog interval in seconds the manager expects pings at, or 0 when it wants none. */
double rdv_sysd_watchdog_interval(void);
/* Whether stderr is connected to the journal ($JOURNAL_STREAM names its device and inode). */
bool rdv_sysd_stderr_is_journal(void);

#endif
