/* Unit tests of the metrics registry (src/core/metrics.c): counting, pointer
 * identity, the Prometheus text format, sums across labels, concurrency. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/metrics.h"

static int reset(void **state)
{
    (void)state;
    vigil_metrics_reset();
    return 0;
}

/* Whether the rendered text has `line` as a complete line. */
static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0')) return 1;
    return 0;
}

static void test_metrics_counter_counts_adds(void **state)
{
    vigil_counter_t *c = vigil_metrics_counter("t_frames_total", "Frames.", "stage", "ingest",
                                               NULL, NULL);
    assert_non_null(c);
    assert_int_equal(vigil_counter_value(c), 0);
    vigil_counter_inc(c);
    vigil_counter_add(c, 41);
    assert_int_equal(vigil_counter_value(c), 42);
}

static void test_metrics_same_labels_return_same_pointer(void **state)
{
    vigil_counter_t *a = vigil_metrics_counter("t_x_total", "X.", "stage", "s", "camera", "c1");
    vigil_counter_t *b = vigil_metrics_counter("t_x_total", "X.", "stage", "s", "camera", "c1");
    vigil_counter_t *other = vigil_metrics_counter("t_x_total", "X.", "stage", "s", "camera",
                                                   "c2");
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a, other);
    vigil_counter_inc(a);
    assert_int_equal(vigil_counter_value(b), 1);
    assert_int_equal(vigil_counter_value(other), 0);

    vigil_gauge_t *g1 = vigil_metrics_gauge("t_depth", "D.", NULL, NULL, NULL, NULL);
    vigil_gauge_t *g2 = vigil_metrics_gauge("t_depth", "D.", NULL, NULL, NULL, NULL);
    assert_ptr_equal(g1, g2);
    vigil_histogram_t *h1 = vigil_metrics_histogram("t_secs", "S.", "stage", "a", NULL, NULL);
    vigil_histogram_t *h2 = vigil_metrics_histogram("t_secs", "S.", "stage", "a", NULL, NULL);
    assert_ptr_equal(h1, h2);
}

static void test_metrics_gauge_sets_and_adds(void **state)
{
    vigil_gauge_t *g = vigil_metrics_gauge("t_queue", "Q.", "stage", "infer", NULL, NULL);
    vigil_gauge_set(g, 10);
    vigil_gauge_add(g, -3);
    assert_int_equal(vigil_gauge_value(g), 7);
    vigil_gauge_add(g, -10);
    assert_int_equal(vigil_gauge_value(g), -3);
}

static void test_metrics_family_type_mismatch_returns_null(void **state)
{
    assert_non_null(vigil_metrics_counter("t_kind", "K.", NULL, NULL, NULL, NULL));
    assert_null(vigil_metrics_gauge("t_kind", "K.", NULL, NULL, NULL, NULL));
    assert_null(vigil_metrics_histogram("t_kind", "K.", NULL, NULL, NULL, NULL));
}

static void test_metrics_render_counter_and_gauge_lines(void **state)
{
    vigil_counter_add(vigil_metrics_counter("t_in_total", "Messages in.", "stage", "ingest",
                                            "camera", "lobby"),
                      5);
    vigil_gauge_set(vigil_metrics_gauge("t_depth", "Queue depth.", NULL, NULL, NULL, NULL), -2);
    size_t len = 0;
    char *text = vigil_metrics_render(&len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    assert_true(has_line(text, "# HELP t_in_total Messages in."));
    assert_true(has_line(text, "# TYPE t_in_total counter"));
    assert_true(has_line(text, "t_in_total{stage=\"ingest\",camera=\"lobby\"} 5"));
    assert_true(has_line(text, "# TYPE t_depth gauge"));
    assert_true(has_line(text, "t_depth -2"));
    /* HELP and TYPE come before the family's samples */
    assert_true(strstr(text, "# TYPE t_in_total") < strstr(text, "t_in_total{"));
    free(text);
}

static void test_metrics_render_escapes_label_values_and_help(void **state)
{
    vigil_counter_inc(
        vigil_metrics_counter("t_esc_total", "Line one\nback\\slash", "camera", "a\"b\\c\nd",
                              NULL, NULL));
    char *text = vigil_metrics_render(NULL);
    assert_non_null(text);
    assert_true(has_line(text, "# HELP t_esc_total Line one\\nback\\\\slash"));
    assert_true(has_line(text, "t_esc_total{camera=\"a\\\"b\\\\c\\nd\"} 1"));
    free(text);
}

static void test_metrics_render_histogram_buckets_are_cumulative(void **state)
{
    vigil_histogram_t *h = vigil_metrics_histogram("t_proc_seconds", "Processing time.", "stage",
                                                   "infer", NULL, NULL);
    vigil_histogram_observe(h, 0.0001); /* <= 0.0005 */
    vigil_histogram_observe(h, 0.003);  /* <= 0.005 */
    vigil_histogram_observe(h, 0.003);
    vigil_histogram_observe(h, 0.7); /* <= 1 */
    vigil_histogram_observe(h, 60);  /* +Inf only */
    assert_int_equal(vigil_histogram_count(h), 5);
    assert_float_equal(vigil_histogram_sum(h), 60.7061, 1e-9);

    char *text = vigil_metrics_render(NULL);
    assert_non_null(text);
    assert_true(has_line(text, "# TYPE t_proc_seconds histogram"));
    assert_true(has_line(text, "t_proc_seconds_bucket{stage=\"infer\",le=\"0.0005\"} 1"));
    assert_true(has_line(text, "t_proc_seconds_bucket{stage=\"infer\",le=\"0.001\"} 1"));
    assert_true(has_line(text, "t_proc_seconds_bucket{stage=\"infer\",le=\"0.005\"} 3"));
    assert_true(has_line(text, "t_proc_seconds_bucket{stage=\"infer\",le=\"0.5\"} 3"));
    assert_true(has_line(text, "t_proc_seconds_bucket{stage=\"infer\",le=\"1\"} 4"));
    assert_true(has_line(text, "t_proc_seconds_bucket{stage=\"infer\",le=\"10\"} 4"));
    assert_true(has_line(text, "t_proc_seconds_bucket{stage=\"infer\",le=\"+Inf\"} 5"));
    assert_true(has_line(text, "t_proc_seconds_sum{stage=\"infer\"} 60.7061"));
    assert_true(has_line(text, "t_proc_seconds_count{stage=\"infer\"} 5"));

    /* every bucket line's count never decreases */
    unsigned long long prev = 0, v;
    int buckets = 0;
    for (const char *p = text; (p = strstr(p, "t_proc_seconds_bucket{")) != NULL; p++) {
        const char *sp = strchr(p, ' ');
        assert_non_null(sp);
        v = strtoull(sp + 1, NULL, 10);
        assert_true(v >= prev);
        prev = v;
        buckets++;
    }
    assert_int_equal(buckets, 15); /* 14 bounds from 0.0005 to 10, plus +Inf */
    free(text);
}

static void test_metrics_histogram_quantile_estimates_from_buckets(void **state)
{
    vigil_histogram_t *h = vigil_metrics_histogram("t_q_seconds", "Q.", NULL, NULL, NULL, NULL);
    assert_float_equal(vigil_histogram_quantile(h, 0.5), 0, 0);
    for (int i = 0; i < 90; i++) vigil_histogram_observe(h, 0.004); /* (0.0025, 0.005] */
    for (int i = 0; i < 10; i++) vigil_histogram_observe(h, 2.0);   /* (1, 2.5] */
    double p50 = vigil_histogram_quantile(h, 0.5);
    double p99 = vigil_histogram_quantile(h, 0.99);
    assert_true(p50 > 0.0025 && p50 <= 0.005);
    assert_true(p99 > 1.0 && p99 <= 2.5);
    assert_true(vigil_histogram_quantile(h, 1.0) <= 2.5);
}

static void test_metrics_sum_adds_series_matching_labels(void **state)
{
    vigil_counter_add(vigil_metrics_counter("t_sum_total", "S.", "stage", "ingest", "camera", "a"),
                      3);
    vigil_counter_add(vigil_metrics_counter("t_sum_total", "S.", "stage", "ingest", "camera", "b"),
                      4);
    vigil_counter_add(vigil_metrics_counter("t_sum_total", "S.", "stage", "infer", "camera", "a"),
                      100);
    assert_int_equal(vigil_metrics_sum("t_sum_total", "stage", "ingest", NULL, NULL), 7);
    assert_int_equal(vigil_metrics_sum("t_sum_total", "camera", "a", NULL, NULL), 103);
    assert_int_equal(vigil_metrics_sum("t_sum_total", "stage", "ingest", "camera", "b"), 4);
    assert_int_equal(vigil_metrics_sum("t_sum_total", NULL, NULL, NULL, NULL), 107);
    assert_int_equal(vigil_metrics_sum("t_sum_total", "stage", "sink", NULL, NULL), 0);
    assert_int_equal(vigil_metrics_sum("t_absent_total", NULL, NULL, NULL, NULL), 0);
}

typedef struct seen {
    int n;
    uint64_t total;
    int saw_camera_b;
    int wrong_labels;
} seen_t;

static void visit(void *opaque, const char *family, const char *l1, const char *v1,
                  const char *l2, const char *v2, uint64_t value)
{
    seen_t *s = opaque;
    if (strcmp(family, "t_visit_total") != 0) return;
    s->n++;
    s->total += value;
    /* no assertions here: the callback runs under the registry lock */
    if (!l1 || strcmp(l1, "stage") != 0 || !v1 || strcmp(v1, "sink") != 0) s->wrong_labels++;
    if (l2 && strcmp(l2, "camera") == 0 && strcmp(v2, "b") == 0) s->saw_camera_b = 1;
}

static void test_metrics_foreach_counter_visits_every_series(void **state)
{
    vigil_counter_add(vigil_metrics_counter("t_visit_total", "V.", "stage", "sink", "camera", "a"),
                      2);
    vigil_counter_add(vigil_metrics_counter("t_visit_total", "V.", "stage", "sink", "camera", "b"),
                      5);
    vigil_gauge_set(vigil_metrics_gauge("t_not_a_counter", "G.", NULL, NULL, NULL, NULL), 9);
    seen_t s = {0};
    vigil_metrics_foreach_counter(visit, &s);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.total, 7);
    assert_true(s.saw_camera_b);
    assert_int_equal(s.wrong_labels, 0);
}

static void test_metrics_stage_init_registers_standard_families(void **state)
{
    vigil_stage_metrics_t m, m2;
    vigil_stage_metrics_init(&m, "preprocess", "lobby");
    vigil_stage_metrics_init(&m2, "preprocess", NULL);
    assert_non_null(m.in);
    assert_non_null(m.queue_depth);
    assert_ptr_not_equal(m.in, m2.in);
    vigil_counter_inc(m.in);
    vigil_counter_inc(m.dropped);
    vigil_histogram_observe(m.processing, 0.01);
    vigil_gauge_set(m2.queue_depth, 3);

    char *text = vigil_metrics_render(NULL);
    assert_non_null(text);
    assert_true(has_line(text, "vigil_stage_in_total{stage=\"preprocess\",camera=\"lobby\"} 1"));
    assert_true(has_line(text, "vigil_stage_out_total{stage=\"preprocess\",camera=\"lobby\"} 0"));
    assert_true(
        has_line(text, "vigil_stage_dropped_total{stage=\"preprocess\",camera=\"lobby\"} 1"));
    assert_true(
        has_line(text, "vigil_stage_failed_total{stage=\"preprocess\",camera=\"lobby\"} 0"));
    assert_true(has_line(text, "vigil_stage_processing_seconds_count{stage=\"preprocess\","
                               "camera=\"lobby\"} 1"));
    assert_true(has_line(text, "vigil_stage_queue_depth{stage=\"preprocess\"} 3"));
    assert_true(has_line(text, "# TYPE vigil_stage_processing_seconds histogram"));
    assert_true(has_line(text, "# TYPE vigil_stage_queue_depth gauge"));
    free(text);
    assert_int_equal(vigil_metrics_sum("vigil_stage_in_total", "stage", "preprocess", NULL, NULL),
                     1);
}

#define THREADS 4
#define PER_THREAD 100000

static void *hammer(void *arg)
{
    (void)arg;
    /* each thread looks the metric up itself: registration races too */
    vigil_counter_t *c = vigil_metrics_counter("t_race_total", "R.", "stage", "x", NULL, NULL);
    vigil_histogram_t *h = vigil_metrics_histogram("t_race_seconds", "R.", NULL, NULL, NULL, NULL);
    vigil_gauge_t *g = vigil_metrics_gauge("t_race_depth", "R.", NULL, NULL, NULL, NULL);
    for (int i = 0; i < PER_THREAD; i++) {
        vigil_counter_inc(c);
        vigil_gauge_add(g, 1);
        if (i % 10 == 0) vigil_histogram_observe(h, 0.001);
    }
    return NULL;
}

static void test_metrics_concurrent_increments_are_not_lost(void **state)
{
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    vigil_counter_t *c = vigil_metrics_counter("t_race_total", "R.", "stage", "x", NULL, NULL);
    assert_int_equal(vigil_counter_value(c), (uint64_t)THREADS * PER_THREAD);
    assert_int_equal(
        vigil_gauge_value(vigil_metrics_gauge("t_race_depth", "R.", NULL, NULL, NULL, NULL)),
        THREADS * PER_THREAD);
    vigil_histogram_t *h = vigil_metrics_histogram("t_race_seconds", "R.", NULL, NULL, NULL, NULL);
    assert_int_equal(vigil_histogram_count(h), THREADS * PER_THREAD / 10);
    assert_float_equal(vigil_histogram_sum(h), THREADS * PER_THREAD / 10 * 0.001, 1e-6);
}

static void test_metrics_reset_forgets_every_family(void **state)
{
    vigil_counter_inc(vigil_metrics_counter("t_gone_total", "G.", NULL, NULL, NULL, NULL));
    vigil_metrics_reset();
    char *text = vigil_metrics_render(NULL);
    assert_non_null(text);
    assert_null(strstr(text, "t_gone_total"));
    free(text);
    vigil_counter_t *c = vigil_metrics_counter("t_gone_total", "G.", NULL, NULL, NULL, NULL);
    assert_int_equal(vigil_counter_value(c), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_metrics_counter_counts_adds, reset),
        cmocka_unit_test_setup(test_metrics_same_labels_return_same_pointer, reset),
        cmocka_unit_test_setup(test_metrics_gauge_sets_and_adds, reset),
        cmocka_unit_test_setup(test_metrics_family_type_mismatch_returns_null, reset),
        cmocka_unit_test_setup(test_metrics_render_counter_and_gauge_lines, reset),
        cmocka_unit_test_setup(test_metrics_render_escapes_label_values_and_help, reset),
        cmocka_unit_test_setup(test_metrics_render_histogram_buckets_are_cumulative, reset),
        cmocka_unit_test_setup(test_metrics_histogram_quantile_estimates_from_buckets, reset),
        cmocka_unit_test_setup(test_metrics_sum_adds_series_matching_labels, reset),
        cmocka_unit_test_setup(test_metrics_foreach_counter_visits_every_series, reset),
        cmocka_unit_test_setup(test_metrics_stage_init_registers_standard_families, reset),
        cmocka_unit_test_setup(test_metrics_concurrent_increments_are_not_lost, reset),
        cmocka_unit_test_setup(test_metrics_reset_forgets_every_family, reset),
    };
    return cmocka_run_group_tests(tests, NULL, reset);
}
