/* tap.h: a tiny TAP producer for the unit tests (automake's tap-driver counts each point).
 *
 * Usage: tap_plan_lazy at start is implicit; call ok()/is_int()/is_str()/is_mem() freely and
 * end main() with `return tap_done();`, which prints the plan ("1..N") last. */
#ifndef RDV_TAP_H
#define RDV_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct tap_state { int n; int failed; };
static struct tap_state tap_state_; /* test programs only: one per process */

static inline bool tap_vok(bool cond, const char *fmt, va_list ap)
{
    tap_state_.n++;
    if (!cond)
        tap_state_.failed++;
    printf("%s %d - ", cond ? "ok" : "not ok", tap_state_.n);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    return cond;
}

__attribute__((format(printf, 2, 3)))
static inline bool ok(bool cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool r = tap_vok(cond, fmt, ap);
    va_end(ap);
    return r;
}

__attribute__((format(printf, 1, 2)))
static inline void diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

#define is_int(got, want, ...) do { \
        long long g_ = (long long)(got), w_ = (long long)(want); \
        if (!ok(g_ == w_, __VA_ARGS__)) diag("  got %lld, want %lld (%s:%d)", g_, w_, __FILE__, __LINE__); \
    } while (0)

#define is_str(got, want, ...) do { \
        const char *g_ = (got), *w_ = (want); \
        bool eq_ = g_ && w_ && strcmp(g_, w_) == 0; \
        if (!ok(eq_, __VA_ARGS__)) diag("  got \"%s\", want \"%s\" (%s:%d)", g_ ? g_ : "(null)", w_ ? w_ : "(null)", __FILE__, __LINE__); \
    } while (0)

#define is_mem(got, gotlen, want, wantlen, ...) do { \
        size_t gl_ = (gotlen), wl_ = (wantlen); \
        bool eq_ = gl_ == wl_ && (gl_ == 0 || memcmp((got), (want), gl_) == 0); \
        if (!ok(eq_, __VA_ARGS__)) diag("  bytes differ: got %zu bytes, want %zu (%s:%d)", gl_, wl_, __FILE__, __LINE__); \
    } while (0)

static inline int tap_done(void)
{
    printf("1..%d\n", tap_state_.n);
    return tap_state_.failed ? 1 : 0;
}

#endif
