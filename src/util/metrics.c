/* metrics.c: see metrics.h. Families and their series are singly linked lists: a process has a
 * dozen families of a few series each, created at start, so lookups are rare and short. A
 * histogram series counts observations per bucket (not cumulatively) and the renderer sums them,
 * so an observation touches one counter. */
#include "util/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/err.h"

struct rdv_metric {
    struct rdv_metric *next;
    struct rdv_metric_family *family;
    char *values[RDV_METRIC_MAX_LABELS];
    double value;       /* counter/gauge; histogram sum */
    double count;       /* histogram observations */
    double *buckets;    /* histogram: per-bucket counts, nbuckets + 1 (the last is +Inf) */
};

struct rdv_metric_family {
    struct rdv_metric_family *next;
    enum rdv_metric_type type;
    char *name, *help;
    char *labels[RDV_METRIC_MAX_LABELS];
    size_t nlabels;
    double bounds[RDV_METRIC_MAX_BUCKETS];
    size_t nbounds;
    struct rdv_metric *series, **series_tail;
    size_t nseries;
};

struct rdv_metrics {
    struct rdv_metric_family *families, **tail;
};

struct rdv_metrics *rdv_metrics_new(void)
{
    struct rdv_metrics *m = calloc(1, sizeof(*m));
    if (m)
        m->tail = &m->families;
    return m;
}

static void series_free(struct rdv_metric *s, size_t nlabels)
{
    for (size_t i = 0; i < nlabels; i++)
        free(s->values[i]);
    free(s->buckets);
    free(s);
}

static void family_free(struct rdv_metric_family *f)
{
    while (f->series) {
        struct rdv_metric *s = f->series;
        f->series = s->next;
        series_free(s, f->nlabels);
    }
    for (size_t i = 0; i < f->nlabels; i++)
        free(f->labels[i]);
    free(f->name);
    free(f->help);
    free(f);
}

void rdv_metrics_free(struct rdv_metrics *m)
{
    if (!m)
        return;
    while (m->families) {
        struct rdv_metric_family *f = m->families;
        m->families = f->next;
        family_free(f);
    }
    free(m);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metric names (colon allowed), without ':' for label names. */
static int valid_name(const char *s, int colon)
{
    if (!s || !*s)
        return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
        if (!alpha && !(p > s && c >= '0' && c <= '9'))
            return 0;
    }
    return 1;
}

static int valid_labels(enum rdv_metric_type type, const char *const *labels, size_t n)
{
    if (n > RDV_METRIC_MAX_LABELS || (n && !labels))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!valid_name(labels[i], 0) || strncmp(labels[i], "__", 2) == 0)
            return 0;
        if (type == RDV_METRIC_HISTOGRAM && strcmp(labels[i], "le") == 0)
            return 0;
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[i], labels[j]) == 0)
                return 0;
    }
    return 1;
}

static int valid_buckets(enum rdv_metric_type type, const double *b, size_t n)
{
    if (type != RDV_METRIC_HISTOGRAM)
        return n == 0;
    if (n == 0 || n > RDV_METRIC_MAX_BUCKETS || !b)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(b[i]) || (i && !(b[i] > b[i - 1])))
            return 0;
    return 1;
}

static struct rdv_metric_family *family_find(const struct rdv_metrics *m, const char *name)
{
    for (struct rdv_metric_family *f = m->families; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

struct rdv_metric_family *rdv_metrics_add(struct rdv_metrics *m, enum rdv_metric_type type, const char *name,
                                          const char *help, const char *const *labels, size_t nlabels,
                                          const double *buckets, size_t nbuckets)
{
    if (!m || !valid_name(name, 1) || !valid_labels(type, labels, nlabels) || !valid_buckets(type, buckets, nbuckets) ||
        family_find(m, name))
        return NULL;
    struct rdv_metric_family *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->type = type;
    f->series_tail = &f->series;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    int bad = !f->name || !f->help;
    for (size_t i = 0; i < nlabels; i++, f->nlabels++)
        bad |= !(f->labels[i] = strdup(labels[i]));
    if (bad) {
        family_free(f);
        return NULL;
    }
    if (nbuckets)
        memcpy(f->bounds, buckets, nbuckets * sizeof(*buckets));
    f->nbounds = nbuckets;
    *m->tail = f;
    m->tail = &f->next;
    return f;
}

static int series_matches(const struct rdv_metric *s, const char *const *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->values[i], values[i]) != 0)
            return 0;
    return 1;
}

static struct rdv_metric *series_new(struct rdv_metric_family *f, const char *const *values)
{
    struct rdv_metric *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->family = f;
    int bad = 0;
    for (size_t i = 0; i < f->nlabels; i++)
        bad |= !(s->values[i] = strdup(values[i]));
    if (f->type == RDV_METRIC_HISTOGRAM)
        bad |= !(s->buckets = calloc(f->nbounds + 1, sizeof(*s->buckets)));
    if (bad) {
        series_free(s, f->nlabels);
        return NULL;
    }
    return s;
}

struct rdv_metric *rdv_metric_get(struct rdv_metric_family *f, const char *const *values)
{
    if (!f || (f->nlabels && !values))
        return NULL;
    for (size_t i = 0; i < f->nlabels; i++)
        if (!values[i])
            return NULL;
    for (struct rdv_metric *s = f->series; s; s = s->next)
        if (series_matches(s, values, f->nlabels))
            return s;
    if (f->nseries >= RDV_METRIC_MAX_SERIES)
        return NULL;
    struct rdv_metric *s = series_new(f, values);
    if (!s)
        return NULL;
    *f->series_tail = s;
    f->series_tail = &s->next;
    f->nseries++;
    return s;
}

void rdv_metric_add(struct rdv_metric *s, double v)
{
    if (!s || s->family->type == RDV_METRIC_HISTOGRAM)
        return;
    if (s->family->type == RDV_METRIC_COUNTER && !(v >= 0))
        return; /* a counter never goes down (and NaN is no amount) */
    s->value += v;
}

void rdv_metric_set(struct rdv_metric *s, double v)
{
    if (s && s->family->type != RDV_METRIC_HISTOGRAM)
        s->value = v;
}

void rdv_metric_observe(struct rdv_metric *s, double v)
{
    if (!s || s->family->type != RDV_METRIC_HISTOGRAM || isnan(v))
        return;
    const struct rdv_metric_family *f = s->family;
    size_t i = 0;
    while (i < f->nbounds && v > f->bounds[i])
        i++;
    s->buckets[i] += 1;
    s->count += 1;
    s->value += v;
}

double rdv_metric_value(const struct rdv_metric *s)
{
    if (!s)
        return 0;
    return s->family->type == RDV_METRIC_HISTOGRAM ? s->count : s->value;
}

double rdv_metrics_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- rendering ------------------------------------------------------------------------------ */

/* Shortest text that reads back as the same double; integers without a fraction or exponent. */
static void format_value(double v, char *out, size_t cap)
{
    if (isnan(v)) {
        snprintf(out, cap, "NaN");
    } else if (isinf(v)) {
        snprintf(out, cap, v > 0 ? "+Inf" : "-Inf");
    } else if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(long long)v) {
        snprintf(out, cap, "%lld", (long long)v);
    } else {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(out, cap, "%.*g", prec, v);
            if (strtod(out, NULL) == v)
                break;
        }
    }
}

static int put_str(struct rdv_buf *out, const char *s)
{
    return rdv_buf_append(out, s, strlen(s));
}

/* HELP text escapes \ and newline; label values also escape ". */
static int put_escaped(struct rdv_buf *out, const char *s, int quote)
{
    int err = RDV_OK;
    for (const char *p = s; *p && !err; p++) {
        if (*p == '\\')
            err = put_str(out, "\\\\");
        else if (*p == '\n')
            err = put_str(out, "\\n");
        else if (quote && *p == '"')
            err = put_str(out, "\\\"");
        else
            err = rdv_buf_append_byte(out, (uint8_t)*p);
    }
    return err;
}

/* {a="x",b="y"} plus an optional le="..." (histogram buckets); nothing when there are no labels. */
static int put_labels(struct rdv_buf *out, const struct rdv_metric *s, const char *le)
{
    const struct rdv_metric_family *f = s->family;
    if (f->nlabels == 0 && !le)
        return RDV_OK;
    int err = rdv_buf_append_byte(out, '{');
    for (size_t i = 0; i < f->nlabels && !err; i++) {
        if (i)
            err = rdv_buf_append_byte(out, ',');
        if (!err)
            err = put_str(out, f->labels[i]);
        if (!err)
            err = put_str(out, "=\"");
        if (!err)
            err = put_escaped(out, s->values[i], 1);
        if (!err)
            err = rdv_buf_append_byte(out, '"');
    }
    if (le && !err) {
        err = put_str(out, f->nlabels ? ",le=\"" : "le=\"");
        if (!err)
            err = put_str(out, le);
        if (!err)
            err = rdv_buf_append_byte(out, '"');
    }
    return err ? err : rdv_buf_append_byte(out, '}');
}

static int put_sample(struct rdv_buf *out, const struct rdv_metric *s, const char *suffix, const char *le, double v)
{
    char num[64];
    format_value(v, num, sizeof(num));
    int err = put_str(out, s->family->name);
    if (!err)
        err = put_str(out, suffix);
    if (!err)
        err = put_labels(out, s, le);
    if (!err)
        err = rdv_buf_append_byte(out, ' ');
    if (!err)
        err = put_str(out, num);
    return err ? err : rdv_buf_append_byte(out, '\n');
}

static int put_histogram(struct rdv_buf *out, const struct rdv_metric *s)
{
    const struct rdv_metric_family *f = s->family;
    double cumulative = 0;
    int err = RDV_OK;
    for (size_t i = 0; i <= f->nbounds && !err; i++) {
        char le[64];
        if (i < f->nbounds)
            format_value(f->bounds[i], le, sizeof(le));
        else
            snprintf(le, sizeof(le), "+Inf");
        cumulative += s->buckets[i];
        err = put_sample(out, s, "_bucket", le, cumulative);
    }
    if (!err)
        err = put_sample(out, s, "_sum", NULL, s->value);
    return err ? err : put_sample(out, s, "_count", NULL, s->count);
}

static const char *type_name(enum rdv_metric_type t)
{
    switch (t) {
    case RDV_METRIC_COUNTER: return "counter";
    case RDV_METRIC_GAUGE: return "gauge";
    case RDV_METRIC_HISTOGRAM: return "histogram";
    }
    return "untyped";
}

static int put_family(struct rdv_buf *out, const struct rdv_metric_family *f)
{
    int err = put_str(out, "# HELP ");
    if (!err)
        err = put_str(out, f->name);
    if (!err)
        err = rdv_buf_append_byte(out, ' ');
    if (!err)
        err = put_escaped(out, f->help, 0);
    if (!err)
        err = put_str(out, "\n# TYPE ");
    if (!err)
        err = put_str(out, f->name);
    if (!err)
        err = rdv_buf_append_byte(out, ' ');
    if (!err)
        err = put_str(out, type_name(f->type));
    if (!err)
        err = rdv_buf_append_byte(out, '\n');
    for (const struct rdv_metric *s = f->series; s && !err; s = s->next)
        err = f->type == RDV_METRIC_HISTOGRAM ? put_histogram(out, s) : put_sample(out, s, "", NULL, s->value);
    return err;
}

int rdv_metrics_render(const struct rdv_metrics *m, struct rdv_buf *out)
{
    int err = RDV_OK;
    for (const struct rdv_metric_family *f = m ? m->families : NULL; f && !err; f = f->next)
        err = put_family(out, f);
    return err;
}
