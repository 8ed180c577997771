/* metrics.h: counters, gauges and fixed-bucket histograms, rendered in the Prometheus text
 * exposition format 0.0.4.
 *
 * A registry (struct rdv_metrics) is created by main() and handed to whoever measures: no global
 * state. It holds families (one name, help text, type and label names) in registration order;
 * each family holds series, one per distinct tuple of label values, created on first use.
 * Callers look a series up once and keep the pointer, so the hot path (rdv_metric_add/observe)
 * is a few arithmetic operations. Every function accepts a NULL series and does nothing, so code
 * that measures works the same when metrics are off or an allocation failed.
 * Single-threaded by design (one libev loop per process): no locks, no atomics. */
#ifndef RDV_METRICS_H
#define RDV_METRICS_H

#include <stddef.h>

#include "util/buf.h"

#define RDV_METRIC_MAX_LABELS 4
#define RDV_METRIC_MAX_BUCKETS 24
#define RDV_METRIC_MAX_SERIES 256 /* per family: label values come from code, this is a bug fuse */

enum rdv_metric_type { RDV_METRIC_COUNTER, RDV_METRIC_GAUGE, RDV_METRIC_HISTOGRAM };

struct rdv_metrics;
struct rdv_metric_family;
struct rdv_metric;

struct rdv_metrics *rdv_metrics_new(void);
void rdv_metrics_free(struct rdv_metrics *m);

/* Adds a family. name must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*
 * (not starting "__", not "le" for histograms); buckets (histograms only) are finite upper
 * bounds in strictly increasing order, +Inf is implied. Returns NULL for invalid arguments, a
 * duplicate name, or no memory. */
struct rdv_metric_family *rdv_metrics_add(struct rdv_metrics *m, enum rdv_metric_type type, const char *name,
                                          const char *help, const char *const *labels, size_t nlabels,
                                          const double *buckets, size_t nbuckets);
/* The series for these label values (one per label name; any bytes), created at zero if new.
 * NULL if f is NULL, out of memory, or the family is at RDV_METRIC_MAX_SERIES. */
struct rdv_metric *rdv_metric_get(struct rdv_metric_family *f, const char *const *values);

/* Counters: add a non-negative amount. Gauges: any amount. */
void rdv_metric_add(struct rdv_metric *s, double v);
/* Gauges, and counters mirrored from a monotonic count kept elsewhere. */
void rdv_metric_set(struct rdv_metric *s, double v);
/* Histograms: one observation. */
void rdv_metric_observe(struct rdv_metric *s, double v);
/* Counter/gauge value; a histogram's observation count. */
double rdv_metric_value(const struct rdv_metric *s);

/* Appends the whole registry in text format 0.0.4 (HELP, TYPE, then each series). */
int rdv_metrics_render(const struct rdv_metrics *m, struct rdv_buf *out);

/* Seconds from a monotonic clock, for durations. */
double rdv_metrics_now(void);

#endif
