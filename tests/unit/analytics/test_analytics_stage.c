/* Tests of the analytics stage with the real in-process bus and a real
 * SQLite store in a temp dir: events and counts written once, restarts that
 * continue from the checkpoint (no track id reused, replayed frames
 * skipped), bad messages and detections counted, rules from topic control,
 * and a corrupt checkpoint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>
#include <sqlite3.h>

#include "unit/preprocess/stages_support.h"
#include "vigil/analytics.h"
#include "vigil/clock.h"
#include "vigil/msg.h"

#define W 768
#define H 576
#define T0 1700000000000000LL /* 2023-11-14T22:13:20Z: a whole minute + 20 s */
#define DT 200000LL           /* 5 fps */

static const char *CONFIG = "cameras:\n"
                            "  - id: gate\n"
                            "    url: sample\n"
                            "    zones:\n"
                            "      - id: dock\n"
                            "        polygon: [[0.6, 0.0], [1.0, 0.0], [1.0, 1.0], [0.6, 1.0]]\n"
                            "    lines:\n"
                            "      - id: middle\n"
                            "        points: [[0.5, 0.0], [0.5, 1.0]]\n";

typedef struct fixture {
    char *dir;
    vigil_config_t cfg;
    vigil_bus_t *bus;
    vigil_analytics_t *an;
    vigil_store_t *store;
} fixture_t;

static int setup(void **state)
{
    char err[512] = "";
    fixture_t *f = calloc(1, sizeof *f);
    vigil_metrics_reset();
    f->dir = vt_tmpdir();
    vt_config(&f->cfg, f->dir);
    if (vigil_config_load_string(&f->cfg, CONFIG, "test.yaml", err, sizeof err))
        fail_msg("config: %s", err);
    f->cfg.analytics_batch_frames = 8;
    f->cfg.analytics_flush_ms = 20;
    f->bus = vt_bus();
    f->store = vt_store(&f->cfg);
    *state = f;
    return 0;
}

static void stop_stage(fixture_t *f)
{
    vigil_analytics_free(f->an);
    f->an = NULL;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    stop_stage(f);
    vigil_store_close(f->store);
    vigil_bus_close(f->bus);
    vigil_bus_free(f->bus);
    vt_rmtree(f->dir);
    free(f->dir);
    vigil_config_release(&f->cfg);
    free(f);
    return 0;
}

static void start_stage(fixture_t *f)
{
    char err[256] = "";
    f->an = vigil_analytics_new(&f->cfg, f->bus, err, sizeof err);
    if (!f->an) fail_msg("analytics: %s", err);
    assert_int_equal(vigil_analytics_start(f->an), VIGIL_OK);
}

static void publish_raw(fixture_t *f, const char *topic, const char *key, const void *buf,
                        size_t len)
{
    assert_int_equal(vigil_bus_publish(f->bus, topic, key, strlen(key), buf, len, 5000),
                     VIGIL_OK);
}

/* One frame of camera `camera` with one person box centred at x (pixels),
 * plus `extra` items given as is. */
static void publish_cam_frame(fixture_t *f, const char *camera, uint64_t seq, float x,
                              const Vigil__V1__Detection *extra)
{
    Vigil__V1__Detection item, *ptrs[2];
    Vigil__V1__Detections d = VIGIL__V1__DETECTIONS__INIT;
    vigil__v1__detection__init(&item);
    item.x1 = x - 40;
    item.x2 = x + 40;
    item.y1 = 200;
    item.y2 = 400;
    item.score = 0.9f;
    item.label = "person";
    ptrs[0] = &item;
    ptrs[1] = (Vigil__V1__Detection *)extra;
    d.schema_version = VIGIL_SCHEMA_VERSION;
    d.camera_id = (char *)camera;
    d.sequence = seq;
    d.capture_time_us = T0 + (int64_t)seq * DT;
    d.frame_id = (int64_t)seq;
    d.model = "centernet";
    d.width = W;
    d.height = H;
    d.n_items = extra ? 2 : 1;
    d.items = ptrs;
    size_t len;
    uint8_t *buf = vigil_msg_pack(&d.base, &len);
    publish_raw(f, VIGIL_TOPIC_DETECTIONS, camera, buf, len);
    free(buf);
}

static void publish_frame(fixture_t *f, uint64_t seq, float x, const Vigil__V1__Detection *extra)
{
    publish_cam_frame(f, "gate", seq, x, extra);
}

/* A person walking from x0 to x1 over frames first..last. */
static void walk(fixture_t *f, uint64_t first, uint64_t last, float x0, float x1)
{
    for (uint64_t s = first; s <= last; s++)
        publish_frame(f, s, x0 + (x1 - x0) * (float)(s - first) / (float)(last - first), NULL);
}

static vigil_analytics_event_row_t *events(fixture_t *f, const char *kind, size_t *n)
{
    vigil_event_query_t q = {.camera = "gate", .kind = kind, .limit = 100};
    vigil_analytics_event_row_t *rows = NULL;
    int64_t next_start = 0, next_id = 0;
    assert_int_equal(vigil_store_analytics_events_query(f->store, &q, &rows, n, &next_start,
                                                        &next_id),
                     VIGIL_OK);
    return rows;
}

static void line_totals(fixture_t *f, int64_t *in, int64_t *out)
{
    vigil_count_query_t q = {.camera = "gate", .line = "middle"};
    vigil_count_row_t *rows = NULL;
    size_t n = 0;
    assert_int_equal(vigil_store_counts_query(f->store, &q, &rows, &n), VIGIL_OK);
    *in = *out = 0;
    for (size_t i = 0; i < n; i++) {
        *in += rows[i].in;
        *out += rows[i].out;
    }
    free(rows);
}

static uint64_t metric(const char *family)
{
    return vt_stage_count(family, "analytics", NULL);
}

static void test_stage_line_crossing_and_zone_written_once(void **state)
{
    fixture_t *f = *state;
    walk(f, 1, 20, 100, 700); /* left to right across x = 384 and into the dock */
    start_stage(f);
    vt_drain(f->bus, VIGIL_TOPIC_DETECTIONS);
    stop_stage(f);

    size_t n = 0;
    vigil_analytics_event_row_t *rows = events(f, "line_cross", &n);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].ev.direction, VIGIL_DIR_IN);
    assert_string_equal(rows[0].ev.line, "middle");
    assert_string_equal(rows[0].ev.label, "person");
    assert_true(rows[0].ev.track_id == 1);
    free(rows);
    rows = events(f, "zone_enter", &n);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].ev.zone, "dock");
    assert_true(rows[0].ev.open); /* still inside at the end */
    free(rows);
    int64_t in, out;
    line_totals(f, &in, &out);
    assert_int_equal(in, 1);
    assert_int_equal(out, 0);
    assert_int_equal(metric("vigil_stage_in_total"), 20);
    assert_int_equal(metric("vigil_stage_failed_total"), 0);

    uint8_t *cp = NULL;
    size_t len = 0;
    uint64_t last = 0;
    assert_int_equal(vigil_store_analytics_state_get(f->store, "gate", &cp, &len, &last),
                     VIGIL_OK);
    assert_true(last == 20);
    assert_true(len > 0);
    free(cp);
}

static void test_stage_restart_skips_replayed_frames_and_never_reuses_track_ids(void **state)
{
    fixture_t *f = *state;
    walk(f, 1, 20, 100, 700);
    start_stage(f);
    vt_drain(f->bus, VIGIL_TOPIC_DETECTIONS);
    stop_stage(f);

    /* a new process: frames 15..20 come again (a redelivery), then the
     * first person is gone long enough to be forgotten and a second one
     * walks right to left */
    uint64_t dropped0 = metric("vigil_stage_dropped_total");
    start_stage(f);
    walk(f, 15, 20, 100 + 600.0f * 14 / 19, 700);
    walk(f, 60, 80, 700, 100);
    vt_drain(f->bus, VIGIL_TOPIC_DETECTIONS);
    stop_stage(f);
    assert_int_equal(metric("vigil_stage_dropped_total") - dropped0, 6);

    size_t n = 0;
    vigil_analytics_event_row_t *rows = events(f, "line_cross", &n);
    assert_int_equal(n, 2); /* newest first */
    assert_int_equal(rows[0].ev.direction, VIGIL_DIR_OUT);
    assert_int_equal(rows[1].ev.direction, VIGIL_DIR_IN);
    assert_true(rows[0].ev.track_id > rows[1].ev.track_id);
    free(rows);
    /* the first person's zone_enter was closed when its track was lost */
    rows = events(f, "zone_enter", &n);
    assert_true(n >= 1);
    assert_false(rows[n - 1].ev.open);
    free(rows);
    int64_t in, out;
    line_totals(f, &in, &out);
    assert_int_equal(in, 1);
    assert_int_equal(out, 1);
}

static void test_stage_bad_messages_and_detections_counted_and_skipped(void **state)
{
    fixture_t *f = *state;
    start_stage(f);
    publish_raw(f, VIGIL_TOPIC_DETECTIONS, "gate", "\xff\xfe garbage", 10);
    Vigil__V1__Detection nan_det;
    vigil__v1__detection__init(&nan_det);
    nan_det.x1 = NAN;
    nan_det.x2 = 10;
    nan_det.y2 = 10;
    nan_det.score = 0.9f;
    nan_det.label = "person";
    for (uint64_t s = 1; s <= 20; s++)
        publish_frame(f, s, 100 + 600.0f * (float)(s - 1) / 19, &nan_det);
    vt_drain(f->bus, VIGIL_TOPIC_DETECTIONS);
    stop_stage(f);
    assert_int_equal(metric("vigil_stage_failed_total"), 1);
    assert_true(vigil_metrics_sum("vigil_analytics_rejected_detections_total", NULL, NULL, NULL,
                                  NULL) == 20);
    int64_t in, out;
    line_totals(f, &in, &out); /* the good detections went on being analysed */
    assert_int_equal(in, 1);
}

/* The next message of topic tracks for `c`, decoded (NULL after ms). */
static Vigil__V1__Detections *next_tracks(vigil_consumer_t *c, int ms)
{
    char err[256] = "";
    vigil_bus_msg_t *m = NULL;
    if (vigil_consumer_poll(c, &m, ms) != VIGIL_OK) return NULL;
    assert_string_equal(m->topic, VIGIL_TOPIC_TRACKS);
    assert_int_equal(m->key_len, 4);
    assert_memory_equal(m->key, "gate", 4);
    Vigil__V1__Detections *d = vigil_detections_decode(m->value, m->value_len, err, sizeof err);
    if (!d) fail_msg("tracks: %s", err);
    vigil_consumer_ack(c, m);
    return d;
}

/* Every analysed frame goes out on topic tracks at once, the detections
 * message with each item's confirmed track id: 0 until the track is
 * confirmed (min_hits), and for a box that never makes a track. Frames a
 * restarted stage skips as covered by its checkpoint are not published
 * again. */
static void test_stage_publishes_each_frame_with_its_track_ids_on_topic_tracks(void **state)
{
    fixture_t *f = *state;
    char err[256] = "";
    const char *topics[] = {VIGIL_TOPIC_TRACKS};
    vigil_consumer_t *live = vigil_bus_subscribe(f->bus, "live-test", topics, 1, err, sizeof err);
    if (!live) fail_msg("subscribe: %s", err);
    Vigil__V1__Detection faint; /* too weak to start a track */
    vigil__v1__detection__init(&faint);
    faint.x1 = 600, faint.y1 = 20, faint.x2 = 650, faint.y2 = 60, faint.score = 0.2f;
    faint.label = "dog";
    faint.track_id = 777; /* whatever came in on detections is not passed on */
    start_stage(f);
    for (uint64_t s = 1; s <= 20; s++)
        publish_frame(f, s, 100 + 600.0f * (float)(s - 1) / 19, &faint);
    vt_drain(f->bus, VIGIL_TOPIC_DETECTIONS);
    int min_hits = f->cfg.analytics_min_hits;
    for (uint64_t s = 1; s <= 20; s++) {
        Vigil__V1__Detections *d = next_tracks(live, 5000);
        if (!d) fail_msg("frame %llu not on topic tracks", (unsigned long long)s);
        assert_true(d->sequence == s);
        assert_string_equal(d->camera_id, "gate");
        assert_string_equal(d->model, "centernet");
        assert_true(d->frame_id == (int64_t)s);
        assert_int_equal(d->width, W);
        assert_int_equal(d->n_items, 2);
        assert_string_equal(d->items[0]->label, "person");
        assert_true(d->items[0]->track_id == (s < (uint64_t)min_hits ? 0 : 1));
        assert_true(d->items[1]->track_id == 0);
        vigil__v1__detections__free_unpacked(d, NULL);
    }
    stop_stage(f);
    assert_true(vigil_metrics_sum("vigil_analytics_live_frames_total", "result", "published",
                                  NULL, NULL) == 20);

    /* a restart: frames 15..20 again are covered by the checkpoint and not
     * published; 21 continues the same track */
    start_stage(f);
    walk(f, 15, 21, 100 + 600.0f * 14 / 19, 720);
    vt_drain(f->bus, VIGIL_TOPIC_DETECTIONS);
    Vigil__V1__Detections *d = next_tracks(live, 5000);
    assert_non_null(d);
    assert_true(d->sequence == 21);
    assert_true(d->items[0]->track_id == 1);
    vigil__v1__detections__free_unpacked(d, NULL);
    assert_null(next_tracks(live, 300)); /* the stage published everything before the drain */
    vigil_consumer_close(live);
}

static void publish_rules(fixture_t *f, const char *json)
{
    Vigil__V1__CameraCommand c = VIGIL__V1__CAMERA_COMMAND__INIT;
    c.schema_version = VIGIL_SCHEMA_VERSION;
    c.op = VIGIL__V1__CAMERA_COMMAND__OP__OP_SET_RULES;
    c.camera_id = "gate";
    c.rules_json = (char *)json;
    size_t len;
    uint8_t *buf = vigil_msg_pack(&c.base, &len);
    publish_raw(f, VIGIL_TOPIC_CONTROL, "rules:gate", buf, len);
    free(buf);
}

static void test_stage_rules_from_control_replace_the_config(void **state)
{
    fixture_t *f = *state;
    /* a refused rule set is logged and counted; the next one applies */
    publish_rules(f, "{\"zones\":[{\"id\":\"bad\",\"polygon\":[[0,0],[1,1]]}]}");
    publish_rules(f, "{\"lines\":[{\"id\":\"quarter\",\"points\":[[0.25,0],[0.25,1]]}]}");
    start_stage(f);
    walk(f, 1, 20, 100, 700);
    vt_drain(f->bus, VIGIL_TOPIC_DETECTIONS);
    stop_stage(f);
    size_t n = 0;
    vigil_analytics_event_row_t *rows = events(f, "line_cross", &n);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].ev.line, "quarter");
    free(rows);
    rows = events(f, "zone_enter", &n);
    assert_int_equal(n, 0); /* the dock zone is gone with the config's rules */
    free(rows);
    assert_int_equal(metric("vigil_stage_failed_total"), 1);
}

static void test_stage_corrupt_checkpoint_is_refused_and_processing_goes_on(void **state)
{
    fixture_t *f = *state;
    walk(f, 1, 20, 100, 700);
    start_stage(f);
    vt_drain(f->bus, VIGIL_TOPIC_DETECTIONS);
    stop_stage(f);

    char path[600];
    sqlite3 *db = NULL;
    snprintf(path, sizeof path, "%s/vigil.db", f->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE analytics_state SET state = x'0badc0de0badc0de'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    uint64_t failed0 = metric("vigil_stage_failed_total");
    uint64_t dropped0 = metric("vigil_stage_dropped_total");
    start_stage(f);
    walk(f, 15, 20, 600, 700); /* covered by the checkpoint's sequence: still skipped */
    walk(f, 60, 80, 700, 100);
    vt_drain(f->bus, VIGIL_TOPIC_DETECTIONS);
    stop_stage(f);
    assert_int_equal(metric("vigil_stage_failed_total") - failed0, 1); /* the refused checkpoint */
    assert_int_equal(metric("vigil_stage_dropped_total") - dropped0, 6);
    size_t n = 0;
    vigil_analytics_event_row_t *rows = events(f, "line_cross", &n);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].ev.direction, VIGIL_DIR_OUT);
    assert_true(rows[0].ev.track_id > rows[1].ev.track_id); /* not 1 again */
    free(rows);
}

static void sql(fixture_t *f, const char *stmt)
{
    char path[600];
    sqlite3 *db = NULL;
    snprintf(path, sizeof path, "%s/vigil.db", f->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, stmt, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_stage_refused_camera_batch_is_skipped_and_the_others_written(void **state)
{
    fixture_t *f = *state;
    /* the warehouse refuses every track point of camera "bad" (which has no
     * rules, so track points are all it writes) */
    sql(f, "CREATE TRIGGER refuse_bad BEFORE INSERT ON track_points "
           "WHEN NEW.camera_id = 'bad' BEGIN SELECT RAISE(ABORT, 'refused for the test'); END");
    for (uint64_t s = 1; s <= 20; s++) {
        float x = 100 + 600.0f * (float)(s - 1) / 19;
        publish_frame(f, s, x, NULL);
        publish_cam_frame(f, "bad", s, x, NULL);
    }
    start_stage(f);
    vt_drain(f->bus, VIGIL_TOPIC_DETECTIONS); /* returns: nothing replays forever */
    stop_stage(f);
    assert_true(metric("vigil_stage_failed_total") >= 1);
    /* gate's rows are all there, bad's none */
    size_t n = 0;
    vigil_analytics_event_row_t *rows = events(f, "line_cross", &n);
    assert_int_equal(n, 1);
    free(rows);
    vigil_track_point_t *pts = NULL;
    assert_int_equal(vigil_store_track_points(f->store, "gate", 1, 1000, &pts, &n), VIGIL_OK);
    assert_int_equal(n, 20);
    free(pts);
    assert_int_equal(vigil_store_track_points(f->store, "bad", 1, 1000, &pts, &n),
                     VIGIL_ERR_NOT_FOUND);
    free(pts);
}

static void test_stage_cameras_are_bounded_and_idle_ones_forgotten(void **state)
{
    fixture_t *f = *state;
    f->cfg.limits_max_cameras = 2;
    f->cfg.limits_camera_forget_s = 0.3;
    start_stage(f);
    for (uint64_t s = 1; s <= 3; s++) {
        publish_cam_frame(f, "cam-a", s, 100, NULL);
        publish_cam_frame(f, "cam-b", s, 100, NULL);
    }
    vt_drain(f->bus, VIGIL_TOPIC_DETECTIONS);
    /* two cameras followed and neither idle: a third is refused, counted */
    publish_cam_frame(f, "cam-c", 1, 100, NULL);
    vt_drain(f->bus, VIGIL_TOPIC_DETECTIONS);
    assert_int_equal(metric("vigil_stage_failed_total"), 1);
    /* once they are idle, they are forgotten and the third one is followed */
    vigil_sleep_us(500000);
    for (uint64_t s = 2; s <= 4; s++) publish_cam_frame(f, "cam-c", s, 100, NULL);
    vt_drain(f->bus, VIGIL_TOPIC_DETECTIONS);
    assert_int_equal(metric("vigil_stage_failed_total"), 1);
    /* and a forgotten camera comes back from its checkpoint: nothing replayed */
    uint64_t dropped0 = metric("vigil_stage_dropped_total");
    vigil_sleep_us(500000);
    for (uint64_t s = 3; s <= 5; s++) publish_cam_frame(f, "cam-a", s, 100, NULL);
    vt_drain(f->bus, VIGIL_TOPIC_DETECTIONS);
    stop_stage(f);
    assert_int_equal(metric("vigil_stage_dropped_total") - dropped0, 1); /* sequence 3 again */
    assert_int_equal(metric("vigil_stage_failed_total"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stage_line_crossing_and_zone_written_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_stage_restart_skips_replayed_frames_and_never_reuses_track_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_stage_publishes_each_frame_with_its_track_ids_on_topic_tracks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stage_bad_messages_and_detections_counted_and_skipped,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_stage_rules_from_control_replace_the_config, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_stage_corrupt_checkpoint_is_refused_and_processing_goes_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stage_cameras_are_bounded_and_idle_ones_forgotten,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_stage_refused_camera_batch_is_skipped_and_the_others_written, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
