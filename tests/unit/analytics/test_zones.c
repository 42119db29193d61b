/* Unit tests of zones (src/analytics/rules.c): enter and leave with inertia,
 * loiter timing, occupancy, label and min_score filters, the anchor, best
 * snapshots, events closed when a track is removed, count buckets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "analytics_support.h"

/* zone "z": x 0.4..0.6, y 0.4..0.6 */
static vigil_analyzer_t *one_zone(int inertia, double loiter, int min_hits)
{
    vigil_zone_conf_t z = at_zone("z", 0.4, 0.4, 0.6, 0.6, inertia);
    z.loiter_seconds = loiter;
    return at_analyzer(&z, 1, NULL, 0, min_hits);
}

static vigil_analytics_det_t person_at(double x, double y, float score)
{
    return at_det(x, y, 40, 80, score, "person");
}

static void test_zone_enter_and_leave_believed_after_inertia(void **state)
{
    vigil_analyzer_t *a = one_zone(2, 0, 1);
    vigil_analytics_out_t out;
    /* frames 1-2 outside, 3-7 inside, 8-9 outside (walking down the picture) */
    const double y[] = {0, 360, 390, 420, 450, 480, 540, 590, 610, 640};
    for (uint64_t s = 1; s <= 9; s++) {
        vigil_analytics_det_t d = person_at(500, y[s], 0.9f);
        at_frame(a, s, &d, 1, &out);
        if (s == 3) assert_int_equal(out.nevents, 0); /* one frame inside: not yet */
        if (s == 4) {
            assert_int_equal(out.nevents, 1);
            const vigil_analytics_event_t *e = at_find(&out, VIGIL_EVENT_ZONE_ENTER);
            assert_non_null(e);
            assert_int_equal(e->start_sequence, 3); /* from the first inside frame */
            assert_int_equal(e->start_us, AT_T0 + 2 * AT_STEP_US);
            assert_true(e->open);
            assert_int_equal(e->end_us, 0);
            assert_int_equal(e->track_id, 1);
            assert_string_equal(e->zone, "z");
            assert_string_equal(e->line, "");
            assert_string_equal(e->camera_id, "cam1");
            assert_string_equal(e->label, "person");
            assert_int_equal(e->updated_sequence, 4);
            assert_int_equal(at_occupancy(a, "z", "person"), 1);
            const vigil_count_bucket_t *b = at_bucket(&out, "z", "person");
            assert_non_null(b);
            assert_int_equal(b->entered, 1);
            assert_int_equal(b->peak, 1);
            assert_int_equal(b->minute_us, AT_T0);
        }
        if (s == 8) {
            assert_int_equal(out.nevents, 0); /* one frame outside: not yet */
            assert_int_equal(at_occupancy(a, "z", "person"), 1);
        }
    }
    assert_int_equal(out.nevents, 2);
    const vigil_analytics_event_t *enter = at_find(&out, VIGIL_EVENT_ZONE_ENTER);
    const vigil_analytics_event_t *leave = at_find(&out, VIGIL_EVENT_ZONE_LEAVE);
    assert_non_null(enter);
    assert_non_null(leave);
    assert_false(enter->open);
    assert_int_equal(enter->start_sequence, 3);
    assert_int_equal(enter->end_sequence, 9);
    assert_int_equal(enter->end_us, AT_T0 + 8 * AT_STEP_US);
    assert_false(leave->open);
    assert_int_equal(leave->start_sequence, 9);
    assert_int_equal(leave->end_sequence, 9);
    assert_int_equal(leave->start_us, leave->end_us);
    assert_int_equal(at_occupancy(a, "z", "person"), 0);
    vigil_analyzer_free(a);
}

static void test_zone_flicker_shorter_than_inertia_never_enters(void **state)
{
    vigil_analyzer_t *a = one_zone(3, 0, 1);
    vigil_analytics_out_t out;
    for (uint64_t s = 1; s <= 12; s++) {
        /* two frames in, one out, repeatedly: never three in a row */
        double y = s % 3 == 0 ? 380 : 420;
        vigil_analytics_det_t d = person_at(500, y, 0.9f);
        at_frame(a, s, &d, 1, &out);
        assert_int_equal(out.nevents, 0);
    }
    vigil_analyzer_free(a);
}

static void test_zone_frames_not_seen_count_neither_way(void **state)
{
    vigil_analyzer_t *a = one_zone(2, 0, 1);
    vigil_analytics_out_t out;
    vigil_analytics_det_t in = person_at(500, 450, 0.9f);
    at_frame(a, 1, &in, 1, &out);
    at_frame(a, 2, NULL, 0, &out); /* missed */
    assert_int_equal(out.nevents, 0);
    at_frame(a, 3, &in, 1, &out);
    assert_int_equal(at_count(&out, VIGIL_EVENT_ZONE_ENTER, 0), 1);
    assert_int_equal(out.events[0].start_sequence, 1);
    vigil_analyzer_free(a);
}

static void test_zone_loiter_raised_when_inside_loiter_seconds(void **state)
{
    vigil_analyzer_t *a = one_zone(1, 2.0, 1);
    vigil_analytics_out_t out;
    vigil_analytics_det_t d = person_at(500, 450, 0.9f);
    for (uint64_t s = 1; s <= 10; s++) { /* 0 .. 1.8 s inside */
        at_frame(a, s, &d, 1, &out);
        assert_int_equal(at_count(&out, VIGIL_EVENT_LOITER, 0), 0);
    }
    at_frame(a, 11, &d, 1, &out); /* 2.0 s after entering */
    const vigil_analytics_event_t *l = at_find(&out, VIGIL_EVENT_LOITER);
    assert_non_null(l);
    assert_true(l->open);
    assert_int_equal(l->start_sequence, 1);
    assert_int_equal(l->start_us, AT_T0);
    at_frame(a, 12, &d, 1, &out);
    assert_int_equal(at_count(&out, VIGIL_EVENT_LOITER, 0), 0); /* raised once */
    for (uint64_t s = 13; s <= 16; s++) { /* walks out: y 490, 530, 570, 610 */
        vigil_analytics_det_t away = person_at(500, 450 + 40.0 * (double)(s - 12), 0.9f);
        at_frame(a, s, &away, 1, &out);
        if (s < 16) assert_int_equal(out.nevents, 0);
    }
    l = at_find(&out, VIGIL_EVENT_LOITER);
    assert_non_null(l);
    assert_false(l->open);
    assert_int_equal(l->end_sequence, 16);
    assert_int_equal(at_count(&out, VIGIL_EVENT_ZONE_LEAVE, 0), 1);
    vigil_analyzer_free(a);
}

static void test_zone_occupancy_counts_confirmed_tracks_inside_per_label(void **state)
{
    vigil_analyzer_t *a = one_zone(1, 0, 2);
    vigil_analytics_out_t out;
    vigil_analytics_det_t d[4] = {person_at(430, 450, 0.9f), person_at(500, 500, 0.9f),
                                  at_det(570, 550, 40, 40, 0.9f, "dog"),
                                  person_at(100, 100, 0.9f)};
    at_frame(a, 1, d, 4, &out);
    assert_int_equal(at_occupancy(a, "z", "person"), 0); /* tentative tracks do not count */
    at_frame(a, 2, d, 4, &out);
    assert_int_equal(at_occupancy(a, "z", "person"), 2);
    assert_int_equal(at_occupancy(a, "z", "dog"), 1);
    const vigil_count_bucket_t *b = at_bucket(&out, "z", "person");
    assert_non_null(b);
    assert_int_equal(b->peak, 2);
    assert_int_equal(b->entered, 2);
    /* one person walks out of the picture: lost, still counted until removed */
    at_frame(a, 3, d + 1, 3, &out);
    assert_int_equal(at_occupancy(a, "z", "person"), 2);
    at_frame_at(a, 4, AT_T0 + 2 * AT_STEP_US + 3100000, d + 1, 3, &out);
    assert_int_equal(at_occupancy(a, "z", "person"), 1);
    const vigil_analytics_event_t *e = at_find(&out, VIGIL_EVENT_ZONE_ENTER);
    assert_non_null(e);
    assert_false(e->open); /* closed at its last sighting, with no zone_leave */
    assert_int_equal(e->end_sequence, 2);
    assert_int_equal(e->end_us, AT_T0 + AT_STEP_US);
    assert_int_equal(at_count(&out, VIGIL_EVENT_ZONE_LEAVE, 0), 0);
    vigil_analyzer_free(a);
}

static void test_zone_label_filter_and_min_score(void **state)
{
    vigil_zone_conf_t z = at_zone("z", 0.4, 0.4, 0.6, 0.6, 1);
    snprintf(z.labels[0], sizeof z.labels[0], "car");
    z.nlabels = 1;
    z.min_score = 0.7;
    vigil_analyzer_t *a = at_analyzer(&z, 1, NULL, 0, 1);
    vigil_analytics_out_t out;
    vigil_analytics_det_t d[3] = {person_at(450, 450, 0.9f),
                                  at_det(500, 500, 80, 40, 0.65f, "car"),
                                  at_det(550, 550, 80, 40, 0.9f, "car")};
    at_frame(a, 1, d, 3, &out);
    assert_int_equal(out.nevents, 1);
    assert_string_equal(out.events[0].label, "car");
    assert_int_equal(out.events[0].track_id, out.det_track[2]);
    assert_int_equal(at_occupancy(a, "z", "car"), 1);
    assert_int_equal(at_occupancy(a, "z", "person"), 0);
    /* the confident car drops below min_score: that frame counts as outside */
    d[2].score = 0.65f;
    at_frame(a, 2, d, 3, &out);
    assert_int_equal(at_count(&out, VIGIL_EVENT_ZONE_LEAVE, 0), 1);
    vigil_analyzer_free(a);
}

static void test_zone_anchor_bottom_center_by_default_center_when_asked(void **state)
{
    /* a tall box whose centre is in the zone but whose feet are below it */
    vigil_zone_conf_t z[2] = {at_zone("feet", 0.4, 0.4, 0.6, 0.6, 1),
                              at_zone("middle", 0.4, 0.4, 0.6, 0.6, 1)};
    z[1].anchor = VIGIL_ANCHOR_CENTER;
    vigil_analyzer_t *a = at_analyzer(z, 2, NULL, 0, 1);
    vigil_analytics_out_t out;
    vigil_analytics_det_t d = at_det(500, 700, 60, 400, 0.9f, "person"); /* y 300..700 */
    at_frame(a, 1, &d, 1, &out);
    assert_int_equal(out.nevents, 1);
    assert_string_equal(out.events[0].zone, "middle");
    /* anchors are normalised by the frame size: same box in a 2000-high frame */
    vigil_analytics_frame_t f = {2, AT_T0 + AT_STEP_US, 0, 1000, 2000};
    vigil_analytics_det_t d2 = at_det(500, 1000, 60, 100, 0.9f, "person"); /* feet at y 0.5 */
    assert_int_equal(vigil_analyzer_frame(a, &f, &d2, 1, &out, NULL), VIGIL_OK);
    assert_int_equal(at_occupancy(a, "feet", "person"), 1);
    vigil_analyzer_free(a);
}

static void test_zone_event_snapshot_is_the_best_scoring_frame(void **state)
{
    vigil_analyzer_t *a = one_zone(2, 0, 1);
    vigil_analytics_out_t out;
    const float score[] = {0, 0.7f, 0.8f, 0.6f, 0.95f, 0.9f};
    for (uint64_t s = 1; s <= 5; s++) {
        vigil_analytics_det_t d = person_at(500 + (double)s, 450, score[s]);
        at_frame(a, s, &d, 1, &out);
        const vigil_analytics_event_t *e = at_find(&out, VIGIL_EVENT_ZONE_ENTER);
        if (s == 2) {
            assert_non_null(e);
            assert_int_equal(e->snapshot_sequence, 2);
            assert_int_equal(e->snapshot_frame_id, 20);
            assert_float_equal(e->peak_score, 0.8f, 1e-6);
            assert_float_equal(e->x1, 502 - 20, 1e-4);
        }
        if (s == 3) assert_null(e); /* 0.6: nothing changed, nothing reported */
        if (s == 4) {
            assert_non_null(e);
            assert_int_equal(e->snapshot_sequence, 4);
            assert_float_equal(e->peak_score, 0.95f, 1e-6);
            assert_int_equal(e->start_sequence, 1);
            assert_int_equal(e->updated_sequence, 4);
        }
    }
    vigil_analyzer_free(a);
}

static void test_zone_enter_of_a_track_confirmed_late_starts_at_its_first_frame(void **state)
{
    /* inside from its first frame; confirmed at frame 3: the entry dates from frame 1 */
    vigil_analyzer_t *a = one_zone(2, 0, 3);
    vigil_analytics_out_t out;
    vigil_analytics_det_t d = person_at(500, 450, 0.9f);
    at_frame(a, 1, &d, 1, &out);
    at_frame(a, 2, &d, 1, &out);
    assert_int_equal(out.nevents, 0);
    at_frame(a, 3, &d, 1, &out);
    assert_int_equal(out.nevents, 1);
    assert_int_equal(out.events[0].start_sequence, 1);
    assert_int_equal(out.events[0].updated_sequence, 3);
    vigil_analyzer_free(a);
}

static void test_zone_peak_is_per_minute(void **state)
{
    vigil_analyzer_t *a = one_zone(1, 0, 1);
    vigil_analytics_out_t out;
    vigil_analytics_det_t d = person_at(500, 450, 0.9f);
    at_frame_at(a, 1, AT_T0 + 59000000, &d, 1, &out);
    at_frame_at(a, 2, AT_T0 + 59800000, &d, 1, &out);
    assert_int_equal(out.ncounts, 0); /* nothing changed */
    at_frame_at(a, 3, AT_T0 + 60000000, &d, 1, &out);
    const vigil_count_bucket_t *b = at_bucket(&out, "z", "person");
    assert_non_null(b);
    assert_int_equal(b->minute_us, AT_T0 + 60000000);
    assert_int_equal(b->peak, 1);
    assert_int_equal(b->entered, 0); /* it entered the minute before */
    vigil_analyzer_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zone_enter_and_leave_believed_after_inertia),
        cmocka_unit_test(test_zone_flicker_shorter_than_inertia_never_enters),
        cmocka_unit_test(test_zone_frames_not_seen_count_neither_way),
        cmocka_unit_test(test_zone_loiter_raised_when_inside_loiter_seconds),
        cmocka_unit_test(test_zone_occupancy_counts_confirmed_tracks_inside_per_label),
        cmocka_unit_test(test_zone_label_filter_and_min_score),
        cmocka_unit_test(test_zone_anchor_bottom_center_by_default_center_when_asked),
        cmocka_unit_test(test_zone_event_snapshot_is_the_best_scoring_frame),
        cmocka_unit_test(test_zone_enter_of_a_track_confirmed_late_starts_at_its_first_frame),
        cmocka_unit_test(test_zone_peak_is_per_minute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
