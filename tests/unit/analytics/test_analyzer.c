/* Unit tests of the analyzer's edges (src/analytics/analyzer.c, ruleset.c,
 * names.c): bad detections, refused frames, bounds, rule changes, track id
 * continuation, names and tracker settings. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analytics_support.h"
#include "vigil/config.h"

static void test_analyzer_rejects_and_counts_bad_detections(void **state)
{
    vigil_analyzer_t *a = at_analyzer(NULL, 0, NULL, 0, 1);
    char longlabel[100];
    memset(longlabel, 'x', sizeof longlabel - 1);
    longlabel[sizeof longlabel - 1] = '\0';
    vigil_analytics_det_t good = at_det(500, 500, 50, 100, 0.9f, "person");
    vigil_analytics_det_t d[12];
    for (int i = 0; i < 12; i++) d[i] = good;
    d[0].x1 = NAN;
    d[1].y2 = INFINITY;
    d[2].score = NAN;
    d[3].score = 1.5f;
    d[4].score = -0.1f;
    d[5].x2 = d[5].x1; /* empty */
    d[6].y2 = d[6].y1 - 1;
    d[7].x1 = -3;
    d[8].label = NULL;
    d[9].label = "";
    d[10].label = longlabel;
    /* d[11] is good */
    vigil_analytics_frame_t f = {1, AT_T0, 0, AT_W, AT_H};
    vigil_analytics_out_t out;
    size_t rejected = 0;
    assert_int_equal(vigil_analyzer_frame(a, &f, d, 12, &out, &rejected), VIGIL_OK);
    assert_int_equal(rejected, 11);
    for (int i = 0; i < 11; i++) assert_int_equal(out.det_track[i], 0);
    assert_int_equal(out.det_track[11], 1);
    assert_int_equal(out.ntracks, 1);
    /* rejected may be NULL */
    f.sequence = 2;
    assert_int_equal(vigil_analyzer_frame(a, &f, d, 12, &out, NULL), VIGIL_OK);
    vigil_analyzer_free(a);
}

static void test_analyzer_refuses_repeated_or_older_sequence_and_changes_nothing(void **state)
{
    vigil_analyzer_t *a = at_analyzer(NULL, 0, NULL, 0, 1);
    vigil_analytics_out_t out;
    vigil_analytics_det_t d = at_det(500, 500, 50, 100, 0.9f, "person");
    at_frame(a, 5, &d, 1, &out);
    uint8_t *before, *after;
    size_t nb, na;
    assert_int_equal(vigil_analyzer_save(a, &before, &nb), VIGIL_OK);
    vigil_analytics_frame_t f = {5, AT_T0 + 1000000, 0, AT_W, AT_H};
    assert_int_equal(vigil_analyzer_frame(a, &f, &d, 1, &out, NULL), VIGIL_ERR_INVALID);
    assert_int_equal(out.npoints, 0);
    f.sequence = 4;
    assert_int_equal(vigil_analyzer_frame(a, &f, &d, 1, &out, NULL), VIGIL_ERR_INVALID);
    f.sequence = 6;
    f.width = 0;
    assert_int_equal(vigil_analyzer_frame(a, &f, &d, 1, &out, NULL), VIGIL_ERR_INVALID);
    f.width = AT_W;
    f.height = -1;
    assert_int_equal(vigil_analyzer_frame(a, &f, &d, 1, &out, NULL), VIGIL_ERR_INVALID);
    assert_int_equal(vigil_analyzer_frame(a, NULL, &d, 1, &out, NULL), VIGIL_ERR_INVALID);
    f.height = AT_H;
    assert_int_equal(vigil_analyzer_frame(a, &f, NULL, 1, &out, NULL), VIGIL_ERR_INVALID);
    assert_int_equal(vigil_analyzer_save(a, &after, &na), VIGIL_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(before, after, na);
    assert_int_equal(vigil_analyzer_last_sequence(a), 5);
    /* the next sequence is fine, even with gaps */
    assert_int_equal(vigil_analyzer_frame(a, &f, &d, 1, &out, NULL), VIGIL_OK);
    assert_int_equal(out.det_track[0], 1);
    free(before);
    free(after);
    vigil_analyzer_free(a);
}

static void test_analyzer_considers_at_most_4096_detections_per_frame(void **state)
{
    enum { N = 5000 };
    vigil_analyzer_t *a = at_analyzer(NULL, 0, NULL, 0, 1);
    vigil_analytics_det_t *d = calloc(N, sizeof *d);
    for (int i = 0; i < N; i++)
        d[i] = at_det(10 + 15.0 * (i % 64), 20 + 15.0 * (i / 64), 10, 10, 0.9f, "person");
    vigil_analytics_frame_t f = {1, AT_T0, 0, AT_W, 2000};
    vigil_analytics_out_t out;
    size_t rejected = 0;
    assert_int_equal(vigil_analyzer_frame(a, &f, d, N, &out, &rejected), VIGIL_OK);
    assert_int_equal(rejected, N - 4096);
    assert_int_equal(out.ntracks, 2048); /* and at most 2048 live tracks */
    assert_int_equal(out.det_track[2047], 2048);
    assert_int_equal(out.det_track[2048], 0);
    assert_int_equal(out.det_track[N - 1], 0);
    free(d);
    vigil_analyzer_free(a);
}

static void test_analyzer_new_refuses_bad_rules_settings_and_camera(void **state)
{
    char err[256];
    vigil_zone_conf_t z[2] = {at_zone("z", 0.1, 0.1, 0.5, 0.5, 1),
                              at_zone("z", 0.5, 0.5, 0.9, 0.9, 1)};
    assert_null(vigil_analyzer_new("cam1", NULL, z, 2, NULL, 0, err, sizeof err));
    assert_string_equal(err, "zones[1].id: duplicate id \"z\", also zones[0]");
    z[1].npoints = 2;
    snprintf(z[1].id, sizeof z[1].id, "y");
    assert_null(vigil_analyzer_new("cam1", NULL, z, 2, NULL, 0, err, sizeof err));
    assert_non_null(strstr(err, "zones[1]: key \"polygon\""));
    vigil_line_conf_t l = at_line("l", 0.5, 0.5, 0.5, 0.5, 0.02);
    assert_null(vigil_analyzer_new("cam1", NULL, NULL, 0, &l, 1, err, sizeof err));
    assert_non_null(strstr(err, "lines[0]: key \"points\""));
    vigil_tracker_conf_t conf;
    vigil_tracker_conf_init(&conf);
    conf.low_score = 0.8f;
    assert_null(vigil_analyzer_new("cam1", &conf, NULL, 0, NULL, 0, err, sizeof err));
    assert_non_null(strstr(err, "low_score"));
    vigil_tracker_conf_init(&conf);
    conf.min_hits = 0;
    assert_null(vigil_analyzer_new("cam1", &conf, NULL, 0, NULL, 0, err, sizeof err));
    assert_null(vigil_analyzer_new("bad id!", NULL, NULL, 0, NULL, 0, err, sizeof err));
    assert_non_null(strstr(err, "invalid camera id"));
    vigil_analyzer_t *a = vigil_analyzer_new("cam1", NULL, NULL, 0, NULL, 0, err, sizeof err);
    assert_non_null(a);
    assert_string_equal(vigil_analyzer_camera(a), "cam1");
    assert_int_equal(vigil_analyzer_last_sequence(a), 0);
    assert_int_equal(vigil_analyzer_next_track_id(a), 1);
    vigil_analyzer_free(a);
}

static void test_analyzer_next_track_id_can_only_move_forward(void **state)
{
    vigil_analyzer_t *a = at_analyzer(NULL, 0, NULL, 0, 1);
    assert_int_equal(vigil_analyzer_set_next_track_id(a, 41), VIGIL_OK);
    assert_int_equal(vigil_analyzer_set_next_track_id(a, 40), VIGIL_ERR_INVALID);
    assert_int_equal(vigil_analyzer_set_next_track_id(a, 0), VIGIL_ERR_INVALID);
    vigil_analytics_out_t out;
    vigil_analytics_det_t d = at_det(500, 500, 50, 100, 0.9f, "person");
    at_frame(a, 1, &d, 1, &out);
    assert_int_equal(out.det_track[0], 41);
    assert_int_equal(vigil_analyzer_next_track_id(a), 42);
    vigil_analyzer_free(a);
}

static void test_set_rules_keeps_kept_zones_and_closes_removed_ones(void **state)
{
    vigil_zone_conf_t z[2] = {at_zone("stay", 0.0, 0.0, 0.6, 1.0, 1),
                              at_zone("go", 0.0, 0.0, 0.6, 1.0, 1)};
    vigil_line_conf_t l = at_line("gate", 0.5, 0.0, 0.5, 1.0, 0.02);
    vigil_analyzer_t *a = at_analyzer(z, 2, &l, 1, 1);
    vigil_analytics_out_t out;
    uint64_t s = 1;
    for (; s <= 3; s++) {
        vigil_analytics_det_t d = at_det(380 + 20.0 * (double)s, 500, 60, 120, 0.9f, "person");
        at_frame(a, s, &d, 1, &out);
    }
    assert_int_equal(at_occupancy(a, "go", "person"), 1);
    /* bad rules: refused, nothing changes */
    char err[256];
    vigil_zone_conf_t bad[2] = {z[0], z[0]};
    assert_int_equal(vigil_analyzer_set_rules(a, bad, 2, &l, 1, err, sizeof err),
                     VIGIL_ERR_INVALID);
    assert_int_equal(at_occupancy(a, "go", "person"), 1);
    /* "go" removed, "stay" moved to index 1 behind a new zone, the line kept */
    vigil_zone_conf_t z2[2] = {at_zone("fresh", 0.7, 0.0, 1.0, 1.0, 1), z[0]};
    assert_int_equal(vigil_analyzer_set_rules(a, z2, 2, &l, 1, err, sizeof err), VIGIL_OK);
    assert_int_equal(at_occupancy(a, "go", "person"), 0);
    assert_int_equal(at_occupancy(a, "stay", "person"), 1);
    vigil_analytics_det_t d = at_det(460, 500, 60, 120, 0.9f, "person");
    at_frame(a, s++, &d, 1, &out);
    assert_int_equal(out.nevents, 1); /* the closing report of "go"'s zone_enter */
    assert_string_equal(out.events[0].zone, "go");
    assert_false(out.events[0].open);
    assert_int_equal(out.events[0].end_sequence, 3);
    assert_int_equal(out.events[0].updated_sequence, 4);
    /* the line kept its state: the walker was armed on the left, crossing counts */
    size_t crossings = 0;
    for (; s <= 8; s++) {
        d = at_det(400 + 20.0 * (double)s, 500, 60, 120, 0.9f, "person");
        at_frame(a, s, &d, 1, &out);
        crossings += at_count(&out, VIGIL_EVENT_LINE_CROSS, VIGIL_DIR_IN);
        assert_int_equal(at_count(&out, VIGIL_EVENT_ZONE_ENTER, 0), 0); /* still in "stay" */
    }
    assert_int_equal(crossings, 1);
    vigil_analyzer_free(a);
}

static void test_event_kind_and_direction_names(void **state)
{
    assert_string_equal(vigil_event_kind_name(VIGIL_EVENT_ZONE_ENTER), "zone_enter");
    assert_string_equal(vigil_event_kind_name(VIGIL_EVENT_ZONE_LEAVE), "zone_leave");
    assert_string_equal(vigil_event_kind_name(VIGIL_EVENT_LOITER), "loiter");
    assert_string_equal(vigil_event_kind_name(VIGIL_EVENT_LINE_CROSS), "line_cross");
    assert_null(vigil_event_kind_name(0));
    assert_null(vigil_event_kind_name(5));
    for (int k = 1; k <= 4; k++)
        assert_int_equal(vigil_event_kind_parse(vigil_event_kind_name(k)), k);
    assert_int_equal(vigil_event_kind_parse("zone"), 0);
    assert_int_equal(vigil_event_kind_parse(NULL), 0);
    assert_string_equal(vigil_direction_name(VIGIL_DIR_IN), "in");
    assert_string_equal(vigil_direction_name(VIGIL_DIR_OUT), "out");
    assert_string_equal(vigil_direction_name(VIGIL_DIR_NONE), "");
    assert_string_equal(vigil_direction_name(9), "");
}

static void test_tracker_conf_defaults_and_from_config(void **state)
{
    vigil_tracker_conf_t c;
    vigil_tracker_conf_init(&c);
    assert_float_equal(c.high_score, 0.35, 1e-6);
    assert_float_equal(c.low_score, 0.1, 1e-6);
    assert_float_equal(c.new_track_score, 0.4, 1e-6);
    assert_float_equal(c.match_iou, 0.2, 1e-6);
    assert_float_equal(c.low_match_iou, 0.4, 1e-6);
    assert_float_equal(c.buffer, 0.3, 1e-6);
    assert_int_equal(c.min_hits, 3);
    assert_float_equal(c.lost_seconds, 3, 1e-9);
    assert_int_equal(c.per_class, 1);
    vigil_config_t *cfg = calloc(1, sizeof *cfg);
    cfg->analytics_high_score = 0.55;
    cfg->analytics_low_score = 0.15;
    cfg->analytics_new_track_score = 0.7;
    cfg->analytics_match_iou = 0.25;
    cfg->analytics_low_match_iou = 0.45;
    cfg->analytics_buffer = 0.2;
    cfg->analytics_min_hits = 4;
    cfg->analytics_lost_seconds = 5;
    cfg->analytics_per_class = 0;
    vigil_tracker_conf_from_config(&c, cfg);
    assert_float_equal(c.high_score, 0.55, 1e-6);
    assert_float_equal(c.low_score, 0.15, 1e-6);
    assert_float_equal(c.new_track_score, 0.7, 1e-6);
    assert_float_equal(c.match_iou, 0.25, 1e-6);
    assert_float_equal(c.low_match_iou, 0.45, 1e-6);
    assert_float_equal(c.buffer, 0.2, 1e-6);
    assert_int_equal(c.min_hits, 4);
    assert_float_equal(c.lost_seconds, 5, 1e-9);
    assert_int_equal(c.per_class, 0);
    free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_analyzer_rejects_and_counts_bad_detections),
        cmocka_unit_test(test_analyzer_refuses_repeated_or_older_sequence_and_changes_nothing),
        cmocka_unit_test(test_analyzer_considers_at_most_4096_detections_per_frame),
        cmocka_unit_test(test_analyzer_new_refuses_bad_rules_settings_and_camera),
        cmocka_unit_test(test_analyzer_next_track_id_can_only_move_forward),
        cmocka_unit_test(test_set_rules_keeps_kept_zones_and_closes_removed_ones),
        cmocka_unit_test(test_event_kind_and_direction_names),
        cmocka_unit_test(test_tracker_conf_defaults_and_from_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
