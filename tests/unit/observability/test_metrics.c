/* The metrics registry (ledger/api/metrics.h): counter, gauge and histogram
 * values, the text format (HELP and TYPE per family, _total, cumulative
 * buckets, +Inf, _sum and _count, escaped label values), bounded series,
 * bad declarations, and exact totals under concurrent updates. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/api/metrics.h"
#include "tests/test.h"

static char *render(arb_metrics *m)
{
    char *t = NULL;
    size_t n = 0;
    CHECK_OR(arb_metrics_render(m, &t, &n) == ARB_OK, NULL);
    CHECK_OR(t != NULL && strlen(t) == n, t);
    return t;
}

static int has(const char *text, const char *line)
{
    char k[512];
    snprintf(k, sizeof k, "%s\n", line);
    const char *p = strstr(text, k);
    return p != NULL && (p == text || p[-1] == '\n');
}

static void test_counters_gauges(void)
{
    arb_metrics *m;
    char *t;
    CHECK(arb_metrics_new(&m, "arbor_") == ARB_OK);
    arb_metrics_counter_add(m, "things", 2);
    arb_metrics_counter_add(m, "things_total", 3); /* the same counter */
    arb_metrics_gauge_set(m, "level", 7);
    arb_metrics_gauge_set(m, "level", -4);
    arb_metrics_counter_add(m, "Bad-Name", 1);
    arb_metrics_counter_add(m, "9lives", 1);
    arb_metrics_gauge_set(m, "", 1);
    arb_metrics_gauge_set(m, "things", 1); /* a counter already: ignored */
    CHECK_EQ(arb_metrics_value(m, "things"), 5);
    CHECK_EQ(arb_metrics_value(m, "things_total"), 5);
    CHECK_EQ(arb_metrics_value(m, "level"), -4);
    CHECK_EQ(arb_metrics_value(m, "nothing"), 0);
    t = render(m);
    CHECK(t != NULL);
    if (t != NULL) {
        CHECK(has(t, "# HELP arbor_things_total A counter of arbord."));
        CHECK(has(t, "# TYPE arbor_things_total counter"));
        CHECK(has(t, "arbor_things_total 5"));
        CHECK(has(t, "# TYPE arbor_level gauge"));
        CHECK(has(t, "arbor_level -4"));
        CHECK(strstr(t, "Bad") == NULL && strstr(t, "9lives") == NULL);
        /* sorted by name: level before things */
        CHECK(strstr(t, "arbor_level") < strstr(t, "arbor_things_total"));
    }
    free(t);
    /* Built-in help for the server's own families. */
    arb_metrics_counter_add(m, "http_errors_not_found", 1);
    t = render(m);
    CHECK(t != NULL && has(t, "# HELP arbor_http_errors_not_found_total HTTP error answers of "
                               "this kind."));
    free(t);
    arb_metrics_free(m);
    arb_metrics_free(NULL);
    CHECK(arb_metrics_new(&m, "Bad-") == ARB_ERR_INVALID_ARG && m == NULL);
}

static void test_histogram(void)
{
    arb_metrics *m;
    const double b[] = {1, 5, 10};
    const double bad[] = {1, 1};
    char *t;
    CHECK(arb_metrics_new(&m, "x_") == ARB_OK);
    CHECK(arb_metrics_declare(m, "lat_seconds", ARB_METRIC_HISTOGRAM, "Latency.", "route", b, 3) ==
          ARB_OK);
    CHECK(arb_metrics_declare(m, "h2", ARB_METRIC_HISTOGRAM, "x", NULL, bad, 2) ==
          ARB_ERR_INVALID_ARG);
    CHECK(arb_metrics_declare(m, "h3", ARB_METRIC_HISTOGRAM, "x", "le", b, 3) ==
          ARB_ERR_INVALID_ARG);
    CHECK(arb_metrics_declare(m, "h4", ARB_METRIC_HISTOGRAM, "x", NULL, b, 0) ==
          ARB_ERR_INVALID_ARG);
    CHECK(arb_metrics_declare(m, "h5", ARB_METRIC_GAUGE, "bad\nhelp", NULL, NULL, 0) ==
          ARB_ERR_INVALID_ARG);
    CHECK(arb_metrics_declare(m, "lat_seconds", ARB_METRIC_GAUGE, "other type", NULL, NULL, 0) ==
          ARB_ERR_INVALID_ARG);
    CHECK(arb_metrics_declare(m, "lat_seconds", ARB_METRIC_HISTOGRAM, "Latency again.", "route",
                              b, 3) == ARB_OK);
    arb_metrics_observe(m, "lat_seconds", "/a", 0.5); /* le 1 */
    arb_metrics_observe(m, "lat_seconds", "/a", 1);   /* le 1 (bounds are inclusive) */
    arb_metrics_observe(m, "lat_seconds", "/a", 7);   /* le 10 */
    arb_metrics_observe(m, "lat_seconds", "/a", 70);  /* +Inf */
    arb_metrics_observe(m, "lat_seconds", "q\"\\\n", 2);
    arb_metrics_observe(m, "undeclared", "/a", 2);
    t = render(m);
    CHECK(t != NULL);
    if (t != NULL) {
        CHECK(has(t, "# HELP x_lat_seconds Latency again."));
        CHECK(has(t, "# TYPE x_lat_seconds histogram"));
        CHECK(has(t, "x_lat_seconds_bucket{route=\"/a\",le=\"1\"} 2"));
        CHECK(has(t, "x_lat_seconds_bucket{route=\"/a\",le=\"5\"} 2"));
        CHECK(has(t, "x_lat_seconds_bucket{route=\"/a\",le=\"10\"} 3"));
        CHECK(has(t, "x_lat_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4"));
        CHECK(has(t, "x_lat_seconds_sum{route=\"/a\"} 78.5"));
        CHECK(has(t, "x_lat_seconds_count{route=\"/a\"} 4"));
        CHECK(has(t, "x_lat_seconds_count{route=\"q\\\"\\\\\\n\"} 1"));
        CHECK(strstr(t, "undeclared") == NULL);
    }
    free(t);
    /* Many label values: bounded, the rest counted under "other". */
    for (int i = 0; i < 500; i++) {
        char l[32];
        snprintf(l, sizeof l, "/r%d", i);
        arb_metrics_observe(m, "lat_seconds", l, 1);
    }
    t = render(m);
    CHECK(t != NULL);
    if (t != NULL) {
        size_t series = 0;
        for (const char *p = t; (p = strstr(p, "x_lat_seconds_count{")) != NULL; p++)
            series++;
        CHECK_EQ(series, ARB_METRICS_MAX_SERIES);
        CHECK(strstr(t, "x_lat_seconds_count{route=\"other\"} ") != NULL);
    }
    free(t);
    arb_metrics_free(m);
}

static arb_metrics *shared;

static void *bump(void *ud)
{
    (void)ud;
    for (int i = 0; i < 20000; i++) {
        arb_metrics_counter_add(shared, "hits", 1);
        arb_metrics_observe(shared, "h", NULL, (double)(i % 3));
    }
    return NULL;
}

static void test_threads(void)
{
    pthread_t th[4];
    const double b[] = {0, 1, 2};
    char *t;
    CHECK(arb_metrics_new(&shared, "t_") == ARB_OK);
    CHECK(arb_metrics_declare(shared, "h", ARB_METRIC_HISTOGRAM, "H.", NULL, b, 3) == ARB_OK);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&th[i], NULL, bump, NULL) == 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(arb_metrics_value(shared, "hits"), 80000);
    t = render(shared);
    CHECK(t != NULL && has(t, "t_h_count 80000"));
    CHECK(t != NULL && has(t, "t_h_bucket{le=\"0\"} 26668"));
    free(t);
    arb_metrics_free(shared);
}

int main(void)
{
    test_counters_gauges();
    test_histogram();
    test_threads();
    return arb_test_done();
}
