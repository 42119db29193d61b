/* Unit tests of the tracker (src/analytics/tracker.c) through the analyzer:
 * confirmation, ids, the lost buffer, the low-score stage, per-class
 * association, crossing objects, irregular frame times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "analytics_support.h"

static void test_tracker_confirms_after_min_hits_with_earlier_points(void **state)
{
    vigil_analyzer_t *a = at_analyzer(NULL, 0, NULL, 0, 3);
    vigil_analytics_out_t out;
    for (uint64_t s = 1; s <= 3; s++) {
        vigil_analytics_det_t d = at_det(100 + 10.0 * s, 500, 50, 100, 0.9f, "person");
        at_frame(a, s, &d, 1, &out);
        if (s < 3) {
            assert_int_equal(out.det_track[0], 0);
            assert_int_equal(out.npoints, 0);
            assert_int_equal(out.ntracks, 0);
        }
    }
    assert_int_equal(out.det_track[0], 1);
    assert_int_equal(out.ntracks, 1);
    assert_int_equal(out.npoints, 3); /* its two tentative frames, then this one */
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(out.points[i].track_id, 1);
        assert_int_equal(out.points[i].sequence, i + 1);
        assert_int_equal(out.points[i].frame_id, (int64_t)(i + 1) * 10);
        assert_string_equal(out.points[i].label, "person");
    }
    assert_float_equal(out.points[0].x1, 85, 1e-4);
    vigil_analytics_det_t d = at_det(150, 500, 50, 100, 0.9f, "person");
    at_frame(a, 4, &d, 1, &out);
    assert_int_equal(out.npoints, 1);
    assert_int_equal(out.points[0].sequence, 4);
    assert_int_equal(vigil_analyzer_next_track_id(a), 2);
    vigil_analyzer_free(a);
}

static void test_tracker_tentative_track_missing_a_frame_dies(void **state)
{
    vigil_analyzer_t *a = at_analyzer(NULL, 0, NULL, 0, 3);
    vigil_analytics_out_t out;
    vigil_analytics_det_t d = at_det(300, 500, 50, 100, 0.9f, "person");
    at_frame(a, 1, &d, 1, &out);
    at_frame(a, 2, &d, 1, &out);
    at_frame(a, 3, NULL, 0, &out); /* missed: the tentative track dies */
    at_frame(a, 4, &d, 1, &out);
    at_frame(a, 5, &d, 1, &out);
    assert_int_equal(out.det_track[0], 0);
    at_frame(a, 6, &d, 1, &out);
    assert_int_equal(out.det_track[0], 1);
    assert_int_equal(out.npoints, 3);
    assert_int_equal(out.points[0].sequence, 4);
    vigil_analyzer_free(a);
}

static void test_tracker_low_score_detection_is_ignored_for_birth(void **state)
{
    vigil_analyzer_t *a = at_analyzer(NULL, 0, NULL, 0, 1);
    vigil_analytics_out_t out;
    vigil_analytics_det_t d[2] = {at_det(300, 500, 50, 100, 0.35f, "person"), /* < 0.4 */
                                  at_det(700, 500, 50, 100, 0.05f, "person")};
    at_frame(a, 1, d, 2, &out);
    assert_int_equal(out.ntracks, 0);
    d[0].score = 0.4f;
    at_frame(a, 2, d, 2, &out);
    assert_int_equal(out.ntracks, 1);
    assert_int_equal(out.det_track[0], 1);
    assert_int_equal(out.det_track[1], 0);
    vigil_analyzer_free(a);
}

/* A walker at 150 px/s from x0, seen at frame s. */
static vigil_analytics_det_t walker(double x0, uint64_t s, float score)
{
    return at_det(x0 + 30.0 * (double)s, 600, 60, 160, score, "person");
}

static void test_tracker_missed_detections_are_bridged_by_the_lost_buffer(void **state)
{
    vigil_analyzer_t *a = at_analyzer(NULL, 0, NULL, 0, 3);
    vigil_analytics_out_t out;
    uint64_t s = 1;
    for (; s <= 5; s++) {
        vigil_analytics_det_t d = walker(100, s, 0.9f);
        at_frame(a, s, &d, 1, &out);
    }
    assert_int_equal(out.det_track[0], 1);
    for (; s <= 9; s++) { /* 0.8 s unseen (occluded) */
        at_frame(a, s, NULL, 0, &out);
        assert_int_equal(out.ntracks, 1); /* lost, still alive */
        assert_int_equal(out.npoints, 0);
    }
    vigil_analytics_det_t d = walker(100, s, 0.9f);
    at_frame(a, s, &d, 1, &out);
    assert_int_equal(out.det_track[0], 1);
    assert_int_equal(vigil_analyzer_next_track_id(a), 2);
    vigil_analyzer_free(a);
}

static void test_tracker_lost_track_is_removed_after_lost_seconds_and_ids_never_reused(void **state)
{
    vigil_analyzer_t *a = at_analyzer(NULL, 0, NULL, 0, 1);
    vigil_analytics_out_t out;
    vigil_analytics_det_t d = at_det(300, 500, 50, 100, 0.9f, "person");
    at_frame(a, 1, &d, 1, &out);
    at_frame(a, 2, &d, 1, &out);
    assert_int_equal(out.det_track[0], 1);
    /* unseen for 3 s exactly: still kept; a moment later: gone */
    int64_t last = AT_T0 + AT_STEP_US;
    at_frame_at(a, 3, last + 3000000, NULL, 0, &out);
    assert_int_equal(out.ntracks, 1);
    at_frame_at(a, 4, last + 3000001, NULL, 0, &out);
    assert_int_equal(out.ntracks, 0);
    at_frame_at(a, 5, last + 3200000, &d, 1, &out);
    assert_int_equal(out.det_track[0], 2); /* same place, new track, new id */
    assert_int_equal(vigil_analyzer_next_track_id(a), 3);
    vigil_analyzer_free(a);
}

static void test_tracker_low_score_second_stage_keeps_the_track(void **state)
{
    vigil_analyzer_t *a = at_analyzer(NULL, 0, NULL, 0, 3);
    vigil_analytics_out_t out;
    uint64_t s = 1;
    for (; s <= 4; s++) {
        vigil_analytics_det_t d = walker(100, s, 0.9f);
        at_frame(a, s, &d, 1, &out);
    }
    for (; s <= 8; s++) { /* partly occluded: the detector is unsure */
        vigil_analytics_det_t d = walker(100, s, 0.3f);
        at_frame(a, s, &d, 1, &out);
        assert_int_equal(out.det_track[0], 1);
        assert_int_equal(out.npoints, 1);
        assert_float_equal(out.points[0].score, 0.3f, 1e-6);
    }
    vigil_analyzer_free(a);
}

static void test_tracker_low_score_detection_does_not_revive_a_lost_track(void **state)
{
    /* stage 2 only takes tracks seen in the previous frame */
    vigil_analyzer_t *a = at_analyzer(NULL, 0, NULL, 0, 1);
    vigil_analytics_out_t out;
    vigil_analytics_det_t d = at_det(300, 500, 50, 100, 0.9f, "person");
    at_frame(a, 1, &d, 1, &out);
    at_frame(a, 2, NULL, 0, &out);
    d.score = 0.3f;
    at_frame(a, 3, &d, 1, &out);
    assert_int_equal(out.det_track[0], 0);
    d.score = 0.9f;
    at_frame(a, 4, &d, 1, &out);
    assert_int_equal(out.det_track[0], 1);
    vigil_analyzer_free(a);
}

static void test_tracker_per_class_matches_only_the_same_label(void **state)
{
    for (int per_class = 0; per_class <= 1; per_class++) {
        vigil_tracker_conf_t conf;
        vigil_tracker_conf_init(&conf);
        conf.min_hits = 1;
        conf.per_class = per_class;
        vigil_analyzer_t *a = vigil_analyzer_new("cam1", &conf, NULL, 0, NULL, 0, NULL, 0);
        assert_non_null(a);
        vigil_analytics_out_t out;
        vigil_analytics_det_t d = at_det(300, 500, 50, 100, 0.9f, "person");
        at_frame(a, 1, &d, 1, &out);
        d.label = "dog";
        at_frame(a, 2, &d, 1, &out);
        assert_int_equal(out.det_track[0], per_class ? 2 : 1);
        assert_int_equal(out.ntracks, per_class ? 2 : 1);
        vigil_analyzer_free(a);
    }
}

static void test_tracker_two_objects_passing_each_other_keep_their_ids(void **state)
{
    vigil_analyzer_t *a = at_analyzer(NULL, 0, NULL, 0, 3);
    vigil_analytics_out_t out;
    int64_t id_a = 0, id_b = 0;
    for (uint64_t s = 1; s <= 30; s++) {
        /* A left to right, B right to left, 250 px/s, crossing around s = 15,
         * B slightly further down the image; inputs alternate their order */
        double xa = 100 + 50.0 * (double)s, xb = 1600 - 50.0 * (double)s;
        vigil_analytics_det_t d[2] = {at_det(xa, 600, 60, 160, 0.9f, "person"),
                                      at_det(xb, 640, 60, 160, 0.8f, "person")};
        if (s % 2) {
            vigil_analytics_det_t t = d[0];
            d[0] = d[1];
            d[1] = t;
        }
        at_frame(a, s, d, 2, &out);
        int ia = s % 2 ? 1 : 0, ib = 1 - ia;
        if (s < 3) continue;
        if (s == 3) {
            id_a = out.det_track[ia];
            id_b = out.det_track[ib];
            assert_true(id_a > 0 && id_b > 0 && id_a != id_b);
        }
        assert_int_equal(out.det_track[ia], id_a);
        assert_int_equal(out.det_track[ib], id_b);
    }
    assert_int_equal(vigil_analyzer_next_track_id(a), 3);
    vigil_analyzer_free(a);
}

static void test_tracker_predicts_over_irregular_gaps_in_seconds(void **state)
{
    /* 100 px/s; frames at 5 fps, then a 1 s gap (the motion gate dropped
     * frames), then 5 fps again: the track continues */
    vigil_analyzer_t *a = at_analyzer(NULL, 0, NULL, 0, 3);
    vigil_analytics_out_t out;
    const double t[] = {0, 0.2, 0.4, 0.6, 0.8, 1.0, 2.0, 2.2, 2.4, 3.4};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        vigil_analytics_det_t d = at_det(100 + 100 * t[i], 500, 30, 60, 0.9f, "person");
        at_frame_at(a, i + 1, AT_T0 + (int64_t)(t[i] * 1e6), &d, 1, &out);
        if (i >= 2) assert_int_equal(out.det_track[0], 1);
    }
    vigil_analyzer_free(a);
}

static void test_tracker_many_objects_get_dense_ids(void **state)
{
    vigil_analyzer_t *a = at_analyzer(NULL, 0, NULL, 0, 2);
    vigil_analytics_out_t out;
    vigil_analytics_det_t d[20];
    for (uint64_t s = 1; s <= 4; s++) {
        for (int i = 0; i < 20; i++)
            d[i] = at_det(25 + 48.0 * i, 100 + 40.0 * (i % 5) + 5.0 * (double)s, 30, 30, 0.9f,
                          i % 3 ? "person" : "car");
        at_frame(a, s, d, 20, &out);
    }
    assert_int_equal(out.ntracks, 20);
    /* confirmed together, in detection order (births are in input order) */
    for (int i = 0; i < 20; i++) assert_int_equal(out.det_track[i], i + 1);
    vigil_analyzer_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tracker_confirms_after_min_hits_with_earlier_points),
        cmocka_unit_test(test_tracker_tentative_track_missing_a_frame_dies),
        cmocka_unit_test(test_tracker_low_score_detection_is_ignored_for_birth),
        cmocka_unit_test(test_tracker_missed_detections_are_bridged_by_the_lost_buffer),
        cmocka_unit_test(
            test_tracker_lost_track_is_removed_after_lost_seconds_and_ids_never_reused),
        cmocka_unit_test(test_tracker_low_score_second_stage_keeps_the_track),
        cmocka_unit_test(test_tracker_low_score_detection_does_not_revive_a_lost_track),
        cmocka_unit_test(test_tracker_per_class_matches_only_the_same_label),
        cmocka_unit_test(test_tracker_two_objects_passing_each_other_keep_their_ids),
        cmocka_unit_test(test_tracker_predicts_over_irregular_gaps_in_seconds),
        cmocka_unit_test(test_tracker_many_objects_get_dense_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
