/* Unit tests of lines (src/analytics/rules.c): the direction convention,
 * hysteresis (jitter, turning back), crossing and coming back, the segment's
 * extent, filters, per-minute counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "analytics_support.h"

typedef struct counts {
    size_t in, out;
    int64_t bucket_in, bucket_out;
} counts_t;

/* One person's anchor visiting xs[] (pixels) at height y; counts crossings. */
static counts_t walk(vigil_analyzer_t *a, const double *xs, size_t n, double y)
{
    counts_t c = {0, 0, 0, 0};
    vigil_analytics_out_t out;
    for (size_t i = 0; i < n; i++) {
        vigil_analytics_det_t d = at_det(xs[i], y, 60, 120, 0.9f, "person");
        at_frame(a, i + 1, &d, 1, &out);
        assert_int_equal(out.det_track[0], 1); /* one track all along */
        c.in += at_count(&out, VIGIL_EVENT_LINE_CROSS, VIGIL_DIR_IN);
        c.out += at_count(&out, VIGIL_EVENT_LINE_CROSS, VIGIL_DIR_OUT);
        const vigil_count_bucket_t *b = at_bucket(&out, "gate", "person");
        if (b) {
            assert_string_equal(b->zone, "");
            c.bucket_in = b->in;
            c.bucket_out = b->out;
        }
    }
    return c;
}

/* x from x0 to x1 in steps of 20 px (inclusive) appended to xs */
static size_t ramp(double *xs, size_t n, double x0, double x1)
{
    double step = x1 > x0 ? 20 : -20;
    for (double x = x0; step > 0 ? x <= x1 : x >= x1; x += step) xs[n++] = x;
    return n;
}

/* vertical line x = 0.5 from y 0.2 (A, top) to 0.8 (B, bottom) */
static vigil_analyzer_t *vertical(double hysteresis)
{
    vigil_line_conf_t l = at_line("gate", 0.5, 0.2, 0.5, 0.8, hysteresis);
    return at_analyzer(NULL, 0, &l, 1, 1);
}

static void test_line_vertical_drawn_top_to_bottom_left_to_right_is_in(void **state)
{
    vigil_analyzer_t *a = vertical(0.02);
    double xs[64];
    size_t n = ramp(xs, 0, 300, 700);
    counts_t c = walk(a, xs, n, 500);
    assert_int_equal(c.in, 1);
    assert_int_equal(c.out, 0);
    assert_int_equal(c.bucket_in, 1);
    assert_int_equal(c.bucket_out, 0);
    vigil_analyzer_free(a);

    a = vertical(0.02);
    n = ramp(xs, 0, 700, 300);
    c = walk(a, xs, n, 500);
    assert_int_equal(c.in, 0);
    assert_int_equal(c.out, 1);
    vigil_analyzer_free(a);
}

static void test_line_event_fields_at_the_crossing_frame(void **state)
{
    vigil_analyzer_t *a = vertical(0.02);
    vigil_analytics_out_t out;
    const double xs[] = {400, 440, 480, 500, 520, 540};
    for (size_t i = 0; i < 6; i++) {
        vigil_analytics_det_t d = at_det(xs[i], 500, 40, 80, 0.9f, "person");
        at_frame(a, i + 1, &d, 1, &out);
        /* counted once 0.02 past: at x 520 (frame 5) */
        assert_int_equal(at_count(&out, VIGIL_EVENT_LINE_CROSS, 0), i == 4);
    }
    vigil_analyzer_free(a);
    a = vertical(0.02);
    for (size_t i = 0; i < 5; i++) {
        vigil_analytics_det_t d = at_det(xs[i], 500, 40, 80, 0.9f, "person");
        at_frame(a, i + 1, &d, 1, &out);
    }
    const vigil_analytics_event_t *e = at_find(&out, VIGIL_EVENT_LINE_CROSS);
    assert_non_null(e);
    assert_int_equal(e->direction, VIGIL_DIR_IN);
    assert_string_equal(vigil_direction_name(e->direction), "in");
    assert_string_equal(e->line, "gate");
    assert_string_equal(e->zone, "");
    assert_false(e->open);
    assert_int_equal(e->start_sequence, 5);
    assert_int_equal(e->end_sequence, 5);
    assert_int_equal(e->start_us, AT_T0 + 4 * AT_STEP_US);
    assert_int_equal(e->snapshot_sequence, 5);
    assert_float_equal(e->x1, 500, 1e-4);
    vigil_analyzer_free(a);
}

static void test_line_reversed_points_swap_in_and_out(void **state)
{
    vigil_line_conf_t l = at_line("gate", 0.5, 0.8, 0.5, 0.2, 0.02); /* bottom to top */
    vigil_analyzer_t *a = at_analyzer(NULL, 0, &l, 1, 1);
    double xs[64];
    size_t n = ramp(xs, 0, 300, 700);
    counts_t c = walk(a, xs, n, 500);
    assert_int_equal(c.in, 0);
    assert_int_equal(c.out, 1);
    vigil_analyzer_free(a);
}

static void test_line_horizontal_drawn_left_to_right_moving_up_is_in(void **state)
{
    /* (B-A) = (1, 0): cross = Py - Ay, > 0 below the line (y down) */
    vigil_line_conf_t l = at_line("gate", 0.2, 0.5, 0.8, 0.5, 0.02);
    vigil_analyzer_t *a = at_analyzer(NULL, 0, &l, 1, 1);
    vigil_analytics_out_t out;
    size_t in = 0, outs = 0;
    for (uint64_t s = 1; s <= 16; s++) {
        vigil_analytics_det_t d = at_det(500, 700 - 20.0 * (double)s, 40, 80, 0.9f, "person");
        at_frame(a, s, &d, 1, &out);
        in += at_count(&out, VIGIL_EVENT_LINE_CROSS, VIGIL_DIR_IN);
        outs += at_count(&out, VIGIL_EVENT_LINE_CROSS, VIGIL_DIR_OUT);
    }
    assert_int_equal(in, 1);
    assert_int_equal(outs, 0);
    vigil_analyzer_free(a);
}

static void test_line_jitter_on_the_line_counts_nothing(void **state)
{
    vigil_analyzer_t *a = vertical(0.02);
    double xs[64];
    size_t n = ramp(xs, 0, 400, 480);
    for (int i = 0; i < 30; i++) xs[n++] = i % 2 ? 490 : 510; /* +-0.01 < 0.02 */
    counts_t c = walk(a, xs, n, 500);
    assert_int_equal(c.in + c.out, 0);
    vigil_analyzer_free(a);
}

static void test_line_approach_and_turn_back_counts_nothing(void **state)
{
    vigil_analyzer_t *a = vertical(0.02);
    double xs[64];
    size_t n = ramp(xs, 0, 300, 500);
    xs[n++] = 510; /* just past the line, within the hysteresis */
    n = ramp(xs, n, 500, 300);
    counts_t c = walk(a, xs, n, 500);
    assert_int_equal(c.in + c.out, 0);
    vigil_analyzer_free(a);
}

static void test_line_cross_and_come_back_counts_in_then_out(void **state)
{
    vigil_analyzer_t *a = vertical(0.02);
    vigil_analytics_out_t out;
    double xs[64];
    size_t n = ramp(xs, 0, 300, 700);
    n = ramp(xs, n, 680, 300);
    int seen[2] = {0, 0}, order_ok = 1;
    vigil_count_bucket_t b = {0};
    for (size_t i = 0; i < n; i++) {
        vigil_analytics_det_t d = at_det(xs[i], 500, 40, 80, 0.9f, "person");
        at_frame(a, i + 1, &d, 1, &out);
        if (at_bucket(&out, "gate", "person")) b = *at_bucket(&out, "gate", "person");
        if (at_count(&out, VIGIL_EVENT_LINE_CROSS, VIGIL_DIR_IN)) seen[0]++;
        if (at_count(&out, VIGIL_EVENT_LINE_CROSS, VIGIL_DIR_OUT)) {
            if (!seen[0]) order_ok = 0;
            seen[1]++;
        }
    }
    assert_int_equal(seen[0], 1);
    assert_int_equal(seen[1], 1);
    assert_true(order_ok);
    assert_int_equal(b.in, 1);
    assert_int_equal(b.out, 1);
    assert_int_equal(b.minute_us, AT_T0);
    vigil_analyzer_free(a);
}

static void test_line_crossing_beyond_the_segment_counts_nothing(void **state)
{
    /* the segment spans y 0.2..0.4; the walker's feet are at y 0.6 */
    vigil_line_conf_t l = at_line("gate", 0.5, 0.2, 0.5, 0.4, 0.02);
    vigil_analyzer_t *a = at_analyzer(NULL, 0, &l, 1, 1);
    double xs[64];
    size_t n = ramp(xs, 0, 300, 700);
    counts_t c = walk(a, xs, n, 600);
    assert_int_equal(c.in + c.out, 0);
    vigil_analyzer_free(a);
    /* the same walk through the segment counts */
    a = at_analyzer(NULL, 0, &l, 1, 1);
    c = walk(a, xs, n, 300);
    assert_int_equal(c.in, 1);
    vigil_analyzer_free(a);
}

static void test_line_zero_hysteresis_counts_every_real_crossing(void **state)
{
    vigil_analyzer_t *a = vertical(0);
    double xs[] = {460, 480, 490, 495, 505, 510, 495, 490, 505};
    counts_t c = walk(a, xs, sizeof xs / sizeof xs[0], 500);
    assert_int_equal(c.in, 2);
    assert_int_equal(c.out, 1);
    vigil_analyzer_free(a);
}

static void test_line_label_filter_min_score_and_buckets_per_label(void **state)
{
    vigil_line_conf_t l = at_line("gate", 0.5, 0.0, 0.5, 1.0, 0.02);
    snprintf(l.labels[0], sizeof l.labels[0], "person");
    snprintf(l.labels[1], sizeof l.labels[1], "car");
    l.nlabels = 2;
    l.min_score = 0.5;
    vigil_analyzer_t *a = at_analyzer(NULL, 0, &l, 1, 1);
    vigil_analytics_out_t out;
    int64_t in_person = 0, in_car = 0;
    size_t events = 0;
    for (uint64_t s = 1; s <= 21; s++) {
        double x = 300 + 20.0 * (double)(s - 1);
        vigil_analytics_det_t d[4] = {at_det(x, 200, 40, 80, 0.9f, "person"),
                                      at_det(x, 400, 40, 80, 0.9f, "person"),
                                      at_det(x, 600, 80, 40, 0.9f, "car"),
                                      at_det(x, 800, 40, 40, 0.9f, "dog")};
        if (s >= 10 && s <= 14) d[1].score = 0.45f; /* seen, but not for the line */
        at_frame(a, s, d, 4, &out);
        events += at_count(&out, VIGIL_EVENT_LINE_CROSS, VIGIL_DIR_IN);
        const vigil_count_bucket_t *b = at_bucket(&out, "gate", "person");
        if (b) in_person = b->in;
        b = at_bucket(&out, "gate", "car");
        if (b) in_car = b->in;
        assert_null(at_bucket(&out, "gate", "dog"));
    }
    /* the unsure person's crossing still counts: it was seen beyond the line later */
    assert_int_equal(events, 3);
    assert_int_equal(in_person, 2);
    assert_int_equal(in_car, 1);
    vigil_analyzer_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_vertical_drawn_top_to_bottom_left_to_right_is_in),
        cmocka_unit_test(test_line_event_fields_at_the_crossing_frame),
        cmocka_unit_test(test_line_reversed_points_swap_in_and_out),
        cmocka_unit_test(test_line_horizontal_drawn_left_to_right_moving_up_is_in),
        cmocka_unit_test(test_line_jitter_on_the_line_counts_nothing),
        cmocka_unit_test(test_line_approach_and_turn_back_counts_nothing),
        cmocka_unit_test(test_line_cross_and_come_back_counts_in_then_out),
        cmocka_unit_test(test_line_crossing_beyond_the_segment_counts_nothing),
        cmocka_unit_test(test_line_zero_hysteresis_counts_every_real_crossing),
        cmocka_unit_test(test_line_label_filter_min_score_and_buckets_per_label),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
