/* test_metrics.c: the metrics registry (src/util/metrics.c) and the store timing decorator
 * (src/store/timed.c): exact Prometheus text for each type, label escaping, cumulative histogram
 * buckets, name validation, NULL safety; timed store observations per operation and store_up.
 * The rendered text is also checked by Debian's promtool in tests/admin (api.mjs). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store/memory.h"
#include "store/timed.h"
#include "tap.h"
#include "util/err.h"
#include "util/metrics.h"

static char *render(const struct rdv_metrics *m)
{
    struct rdv_buf b;
    rdv_buf_init(&b, 0);
    if (rdv_metrics_render(m, &b) || rdv_buf_append_byte(&b, 0)) {
        rdv_buf_free(&b);
        return NULL;
    }
    char *s = strdup((char *)rdv_buf_head(&b));
    rdv_buf_free(&b);
    return s;
}

static void test_counter_gauge(void)
{
    struct rdv_metrics *m = rdv_metrics_new();
    static const char *const labels[] = {"type", "status"};
    struct rdv_metric_family *f = rdv_metrics_add(m, RDV_METRIC_COUNTER, "x_requests_total", "Requests.\nTwo lines \\ here",
                                                  labels, 2, NULL, 0);
    struct rdv_metric *a = rdv_metric_get(f, (const char *const[]){"register", "OK"});
    struct rdv_metric *b = rdv_metric_get(f, (const char *const[]){"we\"ird\\", "new\nline"});
    ok(a && b && a != b, "two series");
    ok(rdv_metric_get(f, (const char *const[]){"register", "OK"}) == a, "same label values give the same series");
    rdv_metric_add(a, 2);
    rdv_metric_add(a, 1);
    rdv_metric_add(a, -5);
    rdv_metric_add(a, NAN);
    is_int((long long)rdv_metric_value(a), 3, "a counter only goes up");
    struct rdv_metric *g = rdv_metric_get(rdv_metrics_add(m, RDV_METRIC_GAUGE, "x_up", "Up.", NULL, 0, NULL, 0), NULL);
    rdv_metric_set(g, 1);
    rdv_metric_add(g, -0.5);
    char *text = render(m);
    is_str(text,
           "# HELP x_requests_total Requests.\\nTwo lines \\\\ here\n"
           "# TYPE x_requests_total counter\n"
           "x_requests_total{type=\"register\",status=\"OK\"} 3\n"
           "x_requests_total{type=\"we\\\"ird\\\\\",status=\"new\\nline\"} 0\n"
           "# HELP x_up Up.\n"
           "# TYPE x_up gauge\n"
           "x_up 0.5\n",
           "counter and gauge text, escaped HELP and label values");
    free(text);
    rdv_metrics_free(m);
}

static void test_histogram(void)
{
    struct rdv_metrics *m = rdv_metrics_new();
    static const double b[] = {0.001, 0.01, 0.1};
    static const char *const labels[] = {"op"};
    struct rdv_metric_family *f = rdv_metrics_add(m, RDV_METRIC_HISTOGRAM, "x_seconds", "Time.", labels, 1, b, 3);
    struct rdv_metric *s = rdv_metric_get(f, (const char *const[]){"put"});
    rdv_metric_observe(s, 0.0005);
    rdv_metric_observe(s, 0.001); /* on the bound: le is inclusive */
    rdv_metric_observe(s, 0.05);
    rdv_metric_observe(s, 7);
    rdv_metric_observe(s, NAN);   /* ignored */
    rdv_metric_set(s, 99);        /* not for histograms */
    is_int((long long)rdv_metric_value(s), 4, "four observations");
    char *text = render(m);
    is_str(text,
           "# HELP x_seconds Time.\n"
           "# TYPE x_seconds histogram\n"
           "x_seconds_bucket{op=\"put\",le=\"0.001\"} 2\n"
           "x_seconds_bucket{op=\"put\",le=\"0.01\"} 2\n"
           "x_seconds_bucket{op=\"put\",le=\"0.1\"} 3\n"
           "x_seconds_bucket{op=\"put\",le=\"+Inf\"} 4\n"
           "x_seconds_sum{op=\"put\"} 7.0515\n"
           "x_seconds_count{op=\"put\"} 4\n",
           "cumulative buckets, +Inf, sum and count");
    free(text);
    struct rdv_metric *n = rdv_metric_get(
        rdv_metrics_add(m, RDV_METRIC_HISTOGRAM, "y_seconds", "No labels.", NULL, 0, b, 1), NULL);
    rdv_metric_observe(n, 0.5);
    text = render(m);
    ok(text && strstr(text, "y_seconds_bucket{le=\"0.001\"} 0\ny_seconds_bucket{le=\"+Inf\"} 1\ny_seconds_sum 0.5\n"),
       "a histogram without labels has only le");
    free(text);
    rdv_metrics_free(m);
}

static void test_validation(void)
{
    struct rdv_metrics *m = rdv_metrics_new();
    static const double b[] = {1, 2}, bad_b[] = {2, 1};
    static const char *const le[] = {"le"}, *const dunder[] = {"__x"}, *const dup[] = {"a", "a"}, *const sp[] = {"a b"};
    ok(!rdv_metrics_add(m, RDV_METRIC_GAUGE, "1abc", "", NULL, 0, NULL, 0), "a name may not start with a digit");
    ok(!rdv_metrics_add(m, RDV_METRIC_GAUGE, "a-b", "", NULL, 0, NULL, 0), "no '-' in names");
    ok(!rdv_metrics_add(m, RDV_METRIC_GAUGE, "", "", NULL, 0, NULL, 0), "no empty name");
    ok(rdv_metrics_add(m, RDV_METRIC_GAUGE, "ns:a_b9", "", NULL, 0, NULL, 0) != NULL, "colons and digits are fine");
    ok(!rdv_metrics_add(m, RDV_METRIC_GAUGE, "ns:a_b9", "", NULL, 0, NULL, 0), "no duplicate family");
    ok(!rdv_metrics_add(m, RDV_METRIC_HISTOGRAM, "h1", "", le, 1, b, 2), "'le' is reserved in histograms");
    ok(!rdv_metrics_add(m, RDV_METRIC_GAUGE, "g1", "", dunder, 1, NULL, 0), "'__' label names are reserved");
    ok(!rdv_metrics_add(m, RDV_METRIC_GAUGE, "g2", "", dup, 2, NULL, 0), "no repeated label name");
    ok(!rdv_metrics_add(m, RDV_METRIC_GAUGE, "g3", "", sp, 1, NULL, 0), "label names are identifiers");
    ok(!rdv_metrics_add(m, RDV_METRIC_HISTOGRAM, "h2", "", NULL, 0, bad_b, 2), "buckets must increase");
    ok(!rdv_metrics_add(m, RDV_METRIC_HISTOGRAM, "h3", "", NULL, 0, NULL, 0), "a histogram needs buckets");
    ok(!rdv_metrics_add(m, RDV_METRIC_GAUGE, "g4", "", NULL, 0, b, 2), "only histograms take buckets");
    rdv_metric_add(NULL, 1);
    rdv_metric_set(NULL, 1);
    rdv_metric_observe(NULL, 1);
    ok(rdv_metric_get(NULL, NULL) == NULL && rdv_metric_value(NULL) == 0, "NULL series and families are no-ops");
    struct rdv_metric_family *f = rdv_metrics_add(m, RDV_METRIC_GAUGE, "many", "", (const char *const[]){"i"}, 1, NULL, 0);
    int made = 0;
    for (int i = 0; i < RDV_METRIC_MAX_SERIES + 5; i++) {
        char v[16];
        snprintf(v, sizeof(v), "%d", i);
        made += rdv_metric_get(f, (const char *const[]){v}) != NULL;
    }
    is_int(made, RDV_METRIC_MAX_SERIES, "a family stops growing at RDV_METRIC_MAX_SERIES series");
    rdv_metrics_free(m);
}

static void test_values(void)
{
    struct rdv_metrics *m = rdv_metrics_new();
    struct rdv_metric_family *f = rdv_metrics_add(m, RDV_METRIC_GAUGE, "v", "", (const char *const[]){"k"}, 1, NULL, 0);
    static const struct { double v; const char *text; } cases[] = {
        {0, "0"}, {-3, "-3"}, {1e15, "1000000000000000"}, {0.1, "0.1"}, {1.0 / 3, "0.3333333333333333"},
        {1e300, "1e+300"}, {INFINITY, "+Inf"}, {-INFINITY, "-Inf"}, {NAN, "NaN"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char k[8];
        snprintf(k, sizeof(k), "%zu", i);
        rdv_metric_set(rdv_metric_get(f, (const char *const[]){k}), cases[i].v);
    }
    char *text = render(m);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char line[64];
        snprintf(line, sizeof(line), "v{k=\"%zu\"} %s\n", i, cases[i].text);
        ok(text && strstr(text, line), "value %s", cases[i].text);
    }
    free(text);
    rdv_metrics_free(m);
}

/* ---- the timed store ------------------------------------------------------------------------- */

struct seen { int calls; enum rdv_store_status st; };

static void put_cb(void *arg, enum rdv_store_status st) { struct seen *s = arg; s->calls++; s->st = st; }
static void health_cb(void *arg, enum rdv_store_status st) { struct seen *s = arg; s->calls++; s->st = st; }
static void stats_cb(void *arg, enum rdv_store_status st, const struct rdv_store_stats *x)
{
    struct seen *s = arg;
    s->calls++;
    s->st = x && x->registrations == 1 ? st : RDV_STORE_ERROR;
}

/* A backend that is down: answers every call UNAVAILABLE. */
static void down_health(struct rdv_store *s, rdv_store_health_cb cb, void *arg) { (void)s; cb(arg, RDV_STORE_UNAVAILABLE); }
static void down_close(struct rdv_store *s) { (void)s; }
static const struct rdv_store_ops down_ops = {.kind = "down", .health = down_health, .close = down_close};

static void test_timed_store(void)
{
    struct rdv_metrics *m = rdv_metrics_new();
    static const double b[] = {1};
    struct rdv_metric_family *f = rdv_metrics_add(m, RDV_METRIC_HISTOGRAM, "store_seconds", "", (const char *const[]){"op"},
                                                  1, b, 1);
    struct rdv_metric *up = rdv_metric_get(rdv_metrics_add(m, RDV_METRIC_GAUGE, "store_up", "", NULL, 0, NULL, 0), NULL);
    struct rdv_store *s = rdv_store_timed_new(rdv_store_memory_new(NULL), f, up);
    ok(s && strcmp(s->ops->kind, "memory") == 0, "the wrapper reports the inner kind");
    struct rdv_peerid peer = {.bytes = {0x00, 0x02, 1, 2}, .len = 4};
    static const uint8_t env[] = {1, 2, 3};
    struct rdv_store_put p = {.ns = "a", .ns_len = 1, .peer = &peer, .seq = 1, .envelope = env, .envelope_len = 3,
                              .ttl_s = 10};
    struct seen put = {0}, st = {0}, h = {0};
    rdv_store_put(s, &p, put_cb, &put);
    rdv_store_stats(s, stats_cb, &st);
    rdv_store_health(s, health_cb, &h);
    ok(put.calls == 1 && put.st == RDV_STORE_OK && st.calls == 1 && st.st == RDV_STORE_OK && h.calls == 1,
       "answers pass through unchanged");
    is_int((long long)rdv_metric_value(rdv_metric_get(f, (const char *const[]){"put"})), 1, "put timed once");
    is_int((long long)rdv_metric_value(rdv_metric_get(f, (const char *const[]){"stats"})), 1, "stats timed once");
    is_int((long long)rdv_metric_value(rdv_metric_get(f, (const char *const[]){"discover"})), 0, "discover not yet");
    is_int((long long)rdv_metric_value(up), 1, "store_up 1 after answers");
    rdv_store_close(s);

    struct rdv_store down = {.ops = &down_ops};
    s = rdv_store_timed_new(&down, f, up);
    rdv_store_health(s, health_cb, &h);
    ok(h.calls == 2 && h.st == RDV_STORE_UNAVAILABLE, "UNAVAILABLE passes through");
    is_int((long long)rdv_metric_value(up), 0, "store_up 0 after UNAVAILABLE");
    rdv_store_close(s);
    rdv_metrics_free(m);
}

int main(void)
{
    test_counter_gauge();
    test_histogram();
    test_validation();
    test_values();
    test_timed_store();
    return tap_done();
}
