/* backoff.h: the client's timing policy, pure so it can be tested: how long to wait before
 * retrying something that failed, and when to refresh a registration. The caller supplies the
 * randomness (r in [0, 1)) that spreads many clients apart. */
#ifndef RDV_CLIENT_BACKOFF_H
#define RDV_CLIENT_BACKOFF_H

/* Delay before retry number `attempt` (1 = the first retry): min * 2^(attempt-1), capped at max,
 * then scaled into [1/2, 1] of that by r ("equal jitter": never less than half the step, so a
 * flapping point is not hammered, yet clients that failed together do not retry together). */
double rdv_backoff_delay(double min, double max, unsigned attempt, double r);

/* When to re-register a registration granted for ttl seconds: at 3/4 of the TTL, minus up to a
 * tenth of it by r, so the refresh lands well before expiry even after a retry or two, and many
 * peers registered at once drift apart. Never below RDV_BACKOFF_REFRESH_MIN seconds. */
#define RDV_BACKOFF_REFRESH_MIN 0.25
double rdv_backoff_refresh(double ttl, double r);

/* A uniform random number in [0, 1) (libsodium's CSPRNG: no state of ours). */
double rdv_backoff_random(void);

#endif
