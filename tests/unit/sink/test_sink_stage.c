/* Tests of the sink stage and its retention sweeper with the real
 * in-process bus and a real SQLite store in a temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "sink/retention.h"
#include "unit/preprocess/stages_support.h"
#include "vigil/clock.h"
#include "vigil/health.h"
#include "vigil/msg.h"
#include "vigil/stages.h"

#define HOUR 3600000000LL

typedef struct fixture {
    char *dir;
    vigil_config_t cfg;
    vigil_bus_t *bus;
    vigil_sink_t *sink;
    vigil_store_t *store; /* the test's own connection */
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    vigil_metrics_reset();
    vigil_health_reset();
    f->dir = vt_tmpdir();
    vt_config(&f->cfg, f->dir);
    f->cfg.sink_batch_size = 4;
    f->cfg.sink_flush_ms = 50;
    f->bus = vt_bus();
    f->store = vt_store(&f->cfg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    vigil_sink_free(f->sink);
    vigil_store_close(f->store);
    vigil_bus_close(f->bus);
    vigil_bus_free(f->bus);
    vt_rmtree(f->dir);
    free(f->dir);
    vigil_config_release(&f->cfg);
    free(f);
    return 0;
}

static void start_sink(fixture_t *f)
{
    char err[256] = "";
    f->sink = vigil_sink_new(&f->cfg, f->bus, err, sizeof err);
    if (!f->sink) fail_msg("sink: %s", err);
    assert_int_equal(vigil_sink_start(f->sink), VIGIL_OK);
}

static void publish_labelled(fixture_t *f, const char *camera, uint64_t seq, int nitems,
                             const char *label);

static void publish_detections(fixture_t *f, const char *camera, uint64_t seq, int nitems)
{
    publish_labelled(f, camera, seq, nitems, "motion");
}

static void publish_labelled(fixture_t *f, const char *camera, uint64_t seq, int nitems,
                             const char *label)
{
    Vigil__V1__Detection items[8], *ptrs[8];
    Vigil__V1__Detections d = VIGIL__V1__DETECTIONS__INIT;
    for (int k = 0; k < nitems; k++) {
        vigil__v1__detection__init(&items[k]);
        items[k].x1 = 10.0f * k;
        items[k].y1 = 5;
        items[k].x2 = 10.0f * k + 8;
        items[k].y2 = 20;
        items[k].score = 0.9f;
        items[k].label = (char *)label;
        ptrs[k] = &items[k];
    }
    d.schema_version = VIGIL_SCHEMA_VERSION;
    d.camera_id = (char *)camera;
    d.sequence = seq;
    d.capture_time_us = vigil_now_us(); /* recent: the sweeper must keep it */
    d.frame_id = 0;
    d.model = "motion";
    d.width = 320;
    d.height = 240;
    d.n_items = (size_t)nitems;
    d.items = ptrs;
    size_t len;
    uint8_t *buf = vigil_msg_pack(&d.base, &len);
    assert_int_equal(vigil_bus_publish(f->bus, VIGIL_TOPIC_DETECTIONS, camera, strlen(camera),
                                       buf, len, 5000),
                     VIGIL_OK);
    free(buf);
}

static void publish_event(fixture_t *f, const char *camera, const char *type, const char *message,
                          const char *payload)
{
    Vigil__V1__Event ev = VIGIL__V1__EVENT__INIT;
    ev.schema_version = VIGIL_SCHEMA_VERSION;
    ev.camera_id = (char *)camera;
    ev.type = (char *)type;
    ev.time_us = vigil_now_us();
    ev.message = (char *)message;
    ev.payload_json = (char *)(payload ? payload : "");
    size_t len;
    uint8_t *buf = vigil_msg_pack(&ev.base, &len);
    assert_int_equal(vigil_bus_publish(f->bus, VIGIL_TOPIC_EVENTS, camera, strlen(camera), buf,
                                       len, 5000),
                     VIGIL_OK);
    free(buf);
}

static int64_t count_detections(fixture_t *f, const char *camera)
{
    vigil_store_counts_t c;
    assert_int_equal(vigil_store_counts(f->store, camera, &c), VIGIL_OK);
    return c.detections;
}

static void test_sink_same_detections_twice_writes_rows_once(void **state)
{
    fixture_t *f = *state;
    publish_detections(f, "door", 7, 3);
    publish_detections(f, "door", 7, 3); /* redelivered / republished */
    publish_detections(f, "door", 8, 0); /* nothing found: no row, still acked */
    publish_detections(f, "door", 9, 5);
    start_sink(f);
    vt_drain(f->bus, VIGIL_TOPIC_DETECTIONS);
    assert_int_equal(count_detections(f, "door"), 8);
    assert_int_equal(vt_stage_count("vigil_stage_in_total", "sink", NULL), 4);
    assert_int_equal(vt_stage_count("vigil_stage_out_total", "sink", NULL), 8);
    assert_int_equal(vt_stage_count("vigil_stage_dropped_total", "sink", NULL), 3);
    assert_int_equal(vt_stage_count("vigil_stage_failed_total", "sink", NULL), 0);

    vigil_detection_query_t q = {.camera = "door", .limit = 100};
    vigil_detection_row_t *rows = NULL;
    size_t n = 0;
    int64_t next = 0;
    assert_int_equal(vigil_store_detections_query(f->store, &q, &rows, &n, &next), VIGIL_OK);
    assert_int_equal(n, 8);
    int seen7[3] = {0};
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(rows[i].model, "motion");
        assert_string_equal(rows[i].label, "motion");
        if (rows[i].sequence == 7) seen7[rows[i].idx]++;
    }
    assert_int_equal(seen7[0] + seen7[1] + seen7[2], 3);
    assert_true(seen7[0] == 1 && seen7[1] == 1 && seen7[2] == 1);
    free(rows);
}

static void test_sink_bad_detections_message_counted_failed_and_skipped(void **state)
{
    fixture_t *f = *state;
    const char junk[] = "this is not a protobuf message";
    assert_int_equal(vigil_bus_publish(f->bus, VIGIL_TOPIC_DETECTIONS, "door", 4, junk,
                                       sizeof junk, 1000),
                     VIGIL_OK);
    publish_detections(f, "door", 1, 2);
    start_sink(f);
    vt_drain(f->bus, VIGIL_TOPIC_DETECTIONS);
    assert_int_equal(count_detections(f, "door"), 2);
    assert_int_equal(vt_stage_count("vigil_stage_failed_total", "sink", NULL), 1);
}

static void test_sink_store_failure_releases_batch_and_retries(void **state)
{
    fixture_t *f = *state;
    /* another connection holds the write lock: the sink's batch fails after
     * the store's busy timeout, is not acked, and is written once the lock
     * is gone */
    char path[1024];
    snprintf(path, sizeof path, "%s/vigil.db", f->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    publish_detections(f, "dock", 1, 3);
    start_sink(f);
    for (int i = 0; i < 600 && vt_stage_count("vigil_stage_failed_total", "sink", NULL) == 0; i++)
        vigil_sleep_us(100000);
    assert_true(vt_stage_count("vigil_stage_failed_total", "sink", NULL) >= 1);
    assert_int_equal(vt_stage_count("vigil_stage_out_total", "sink", NULL), 0);
    /* retriable (a lock): /healthz says so while the sink waits (the
     * sweeper, on its own connection, may say so too) */
    int degraded = vigil_health_level(NULL, 0) == VIGIL_HEALTH_DEGRADED;
    char *json = vigil_health_json(NULL);
    int named = strstr(json, "{\"component\":\"sink\",\"camera\":null,\"level\":\"degraded\","
                             "\"error\":\"cannot write") != NULL &&
                strstr(json, "database is locked") != NULL;
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    if (!degraded || !named) fail_msg("health: %s", json);
    free(json);
    vt_drain(f->bus, VIGIL_TOPIC_DETECTIONS);
    assert_int_equal(count_detections(f, "dock"), 3);
    assert_int_equal(vt_stage_count("vigil_stage_out_total", "sink", NULL), 3);
    /* the sink's problem is gone (the sweeper's may wait for its own retry) */
    json = vigil_health_json(NULL);
    if (strstr(json, "\"component\":\"sink\"")) fail_msg("health: %s", json);
    free(json);
}

static void test_sink_refused_message_is_counted_failed_and_the_rest_of_its_batch_written(
    void **state)
{
    fixture_t *f = *state;
    /* valid rows the database refuses (a constraint): no retry can help */
    char path[1024];
    snprintf(path, sizeof path, "%s/vigil.db", f->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 30000);
    int rc = sqlite3_exec(db,
                          "CREATE TRIGGER refuse BEFORE INSERT ON detections WHEN "
                          "NEW.label = 'refused' BEGIN SELECT RAISE(ABORT, 'no'); END",
                          NULL, NULL, NULL);
    sqlite3_close(db);
    assert_int_equal(rc, SQLITE_OK);
    publish_detections(f, "dock", 1, 2);
    publish_labelled(f, "dock", 2, 2, "refused");
    publish_detections(f, "dock", 3, 1);
    start_sink(f); /* batches of 4 rows: the refused message is in one with the first */
    vt_drain(f->bus, VIGIL_TOPIC_DETECTIONS); /* every message acked: nothing blocks */
    assert_int_equal(count_detections(f, "dock"), 3);
    assert_int_equal(vt_stage_count("vigil_stage_in_total", "sink", NULL), 3);
    assert_int_equal(vt_stage_count("vigil_stage_out_total", "sink", NULL), 3);
    assert_int_equal(vt_stage_count("vigil_stage_failed_total", "sink", NULL), 1);
    assert_int_equal(vigil_health_level(NULL, 0), VIGIL_HEALTH_OK);
}

static void test_sink_fatal_store_error_stops_the_sink_saying_why(void **state)
{
    fixture_t *f = *state;
    char path[1024];
    snprintf(path, sizeof path, "%s/vigil.db", f->dir);
    start_sink(f);
    /* a warehouse that lost its table: retrying forever would only hide it */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 30000); /* the sweeper may be writing */
    int rc = sqlite3_exec(db, "DROP TABLE detections", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_int_equal(rc, SQLITE_OK);
    publish_detections(f, "dock", 1, 2);
    char why[512] = "";
    for (int i = 0; i < 300 && vigil_health_level(why, sizeof why) != VIGIL_HEALTH_FAILED; i++)
        vigil_sleep_us(100000);
    assert_int_equal(vigil_health_level(why, sizeof why), VIGIL_HEALTH_FAILED);
    if (!strstr(why, "sink: stopped") || !strstr(why, "no such table"))
        fail_msg("health: %s", why);
    /* nothing was acked: the message is still there for a fixed warehouse */
    assert_int_equal(vigil_bus_drain(f->bus, VIGIL_TOPIC_DETECTIONS, 300), VIGIL_ERR_TIMED_OUT);
    assert_int_equal(vt_stage_count("vigil_stage_in_total", "sink", NULL), 0);
    /* and it fails only once: the sink stopped, it does not spin */
    uint64_t failed = vt_stage_count("vigil_stage_failed_total", "sink", NULL);
    vigil_sleep_us(500000);
    assert_int_equal(vt_stage_count("vigil_stage_failed_total", "sink", NULL), failed);
}

static void put_frame(fixture_t *f, const char *camera, uint64_t seq)
{
    static const uint8_t jpeg[] = {0xff, 0xd8, 0xff, 0xd9};
    char err[256] = "";
    vigil_frame_row_t fr = {0};
    snprintf(fr.camera_id, sizeof fr.camera_id, "%s", camera);
    fr.sequence = seq;
    fr.capture_time_us = vigil_now_us();
    assert_int_equal(vigil_store_frame_put(f->store, &fr, jpeg, sizeof jpeg, err, sizeof err),
                     VIGIL_OK);
}

static void test_sink_marks_frames_processed_and_keeps_one_inference_per_frame(void **state)
{
    fixture_t *f = *state;
    put_frame(f, "gate", 1);
    put_frame(f, "gate", 2);
    put_frame(f, "gate", 3);
    publish_detections(f, "gate", 1, 3);
    publish_detections(f, "gate", 2, 0); /* nothing found: processed all the same */
    publish_labelled(f, "gate", 1, 2, "again"); /* a second inference of frame 1 */
    start_sink(f);
    vt_drain(f->bus, VIGIL_TOPIC_DETECTIONS);
    assert_int_equal(count_detections(f, "gate"), 3);
    assert_int_equal(vt_stage_count("vigil_stage_dropped_total", "sink", NULL), 2);
    vigil_frame_row_t *rows = NULL;
    size_t n = 0;
    assert_int_equal(vigil_store_frames_unprocessed(f->store, 0, 10, &rows, &n), VIGIL_OK);
    assert_int_equal(n, 1); /* frame 3: no result yet */
    assert_int_equal(rows[0].sequence, 3);
    free(rows);
    vigil_frame_row_t fr;
    assert_int_equal(vigil_store_frame_get(f->store, 1, &fr), VIGIL_OK);
    assert_int_equal(fr.detection_count, 3);
    assert_int_equal(vigil_store_frame_get(f->store, 2, &fr), VIGIL_OK);
    assert_int_equal(fr.detection_count, 0);
}

static const vigil_camera_row_t *find_camera(const vigil_camera_row_t *rows, size_t n,
                                             const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].id, id) == 0) return &rows[i];
    return NULL;
}

static void test_sink_camera_events_upsert_camera_status(void **state)
{
    fixture_t *f = *state;
    publish_event(f, "lobby", "camera.online", "camera online",
                  "{\"name\":\"Lobby\",\"url\":\"rtsp://cam/lobby\",\"fps\":5}");
    publish_event(f, "garage", "camera.online", "camera online",
                  "{\"name\":\"Garage\",\"url\":\"testsrc\",\"fps\":2.5}");
    publish_event(f, "garage", "camera.retrying", "connection refused",
                  "{\"name\":\"Garage\",\"url\":\"testsrc\",\"fps\":2.5}");
    publish_event(f, "yard", "camera.ended", "end of file", NULL);
    start_sink(f);
    vt_drain(f->bus, VIGIL_TOPIC_EVENTS);

    vigil_camera_row_t *rows = NULL;
    size_t n = 0;
    assert_int_equal(vigil_store_camera_list(f->store, &rows, &n), VIGIL_OK);
    const vigil_camera_row_t *lobby = find_camera(rows, n, "lobby");
    const vigil_camera_row_t *garage = find_camera(rows, n, "garage");
    const vigil_camera_row_t *yard = find_camera(rows, n, "yard");
    assert_non_null(lobby);
    assert_non_null(garage);
    assert_non_null(yard);
    assert_string_equal(lobby->status, "online");
    assert_string_equal(lobby->name, "Lobby");
    assert_string_equal(lobby->url, "rtsp://cam/lobby");
    assert_true(lobby->fps == 5.0);
    assert_string_equal(garage->status, "retrying");
    char garage_error[sizeof garage->last_error];
    memcpy(garage_error, garage->last_error, sizeof garage_error);
    assert_non_null(strstr(garage_error, "connection refused"));
    assert_true(garage->fps == 2.5);
    assert_string_equal(yard->status, "ended");
    free(rows);

    vigil_store_counts_t c;
    assert_int_equal(vigil_store_counts(f->store, NULL, &c), VIGIL_OK);
    assert_int_equal(c.events, 4);
}

static void put_detection(fixture_t *f, const char *camera, uint64_t seq, int64_t t)
{
    vigil_detection_row_t r = {0};
    snprintf(r.camera_id, sizeof r.camera_id, "%s", camera);
    r.sequence = seq;
    r.capture_time_us = t;
    snprintf(r.model, sizeof r.model, "motion");
    snprintf(r.label, sizeof r.label, "motion");
    r.x2 = r.y2 = 1;
    char err[256] = "";
    assert_int_equal(vigil_store_detections_put(f->store, &r, 1, NULL, err, sizeof err), VIGIL_OK);
}

static void test_retention_sweeper_deletes_rows_older_than_camera_retention(void **state)
{
    fixture_t *f = *state;
    char err[256] = "";
    assert_int_equal(vigil_config_load_string(&f->cfg,
                                              "store: {retention_hours: 24}\n"
                                              "cameras:\n"
                                              "  - {id: short, url: testsrc, retention_hours: 1}\n",
                                              "test", err, sizeof err),
                     VIGIL_OK);
    int64_t now = vigil_now_us();
    /* short: 1 h of retention (from its camera config) */
    put_detection(f, "short", 1, now - 2 * HOUR);
    put_detection(f, "short", 2, now - HOUR / 2);
    /* the store keeps the bytes as they are; they need not decode here */
    static const uint8_t jpeg[] = {0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F', 0xff, 0xd9};
    size_t len = sizeof jpeg;
    vigil_frame_row_t fr = {0};
    snprintf(fr.camera_id, sizeof fr.camera_id, "short");
    fr.sequence = 1;
    fr.capture_time_us = now - 2 * HOUR;
    fr.width = 64;
    fr.height = 48;
    fr.size_bytes = (int64_t)len;
    assert_int_equal(vigil_store_frame_put(f->store, &fr, jpeg, len, err, sizeof err), VIGIL_OK);
    /* long: known to the warehouse only, store default of 24 h */
    vigil_camera_row_t cam = {.fps = 1, .enabled = 1};
    snprintf(cam.id, sizeof cam.id, "long");
    snprintf(cam.name, sizeof cam.name, "Long");
    snprintf(cam.status, sizeof cam.status, "online");
    assert_int_equal(vigil_store_camera_upsert(f->store, &cam), VIGIL_OK);
    put_detection(f, "long", 1, now - 2 * HOUR);
    put_detection(f, "long", 2, now - 30 * HOUR);
    vigil_event_row_t ev = {.time_us = now - 30 * HOUR};
    snprintf(ev.camera_id, sizeof ev.camera_id, "long");
    snprintf(ev.type, sizeof ev.type, "camera.online");
    assert_int_equal(vigil_store_event_put(f->store, &ev), VIGIL_OK);
    /* ghost: no camera row, no config: the longest retention applies */
    put_detection(f, "ghost", 1, now - 30 * HOUR);
    put_detection(f, "ghost", 2, now - 2 * HOUR);

    vigil_retention_t *ret = vigil__retention_new(&f->cfg, err, sizeof err);
    if (!ret) fail_msg("retention: %s", err);
    vigil_sweep_result_t total = {0};
    assert_int_equal(vigil__retention_sweep_once(ret, now, &total), VIGIL_OK);
    vigil__retention_free(ret);

    assert_int_equal(count_detections(f, "short"), 1);
    assert_int_equal(count_detections(f, "long"), 1);
    assert_int_equal(count_detections(f, "ghost"), 1);
    vigil_store_counts_t c;
    assert_int_equal(vigil_store_counts(f->store, "short", &c), VIGIL_OK);
    assert_int_equal(c.frames, 0);
    assert_int_equal(vigil_store_counts(f->store, "long", &c), VIGIL_OK);
    assert_int_equal(c.events, 0);
    assert_int_equal(total.detections_deleted, 3);
    assert_int_equal(total.frames_deleted, 1);
    assert_int_equal(total.events_deleted, 1);
    assert_int_equal(vigil_metrics_sum("vigil_retention_deleted_total", "kind", "detections",
                                       NULL, NULL),
                     3);
    assert_int_equal(
        vigil_metrics_sum("vigil_retention_deleted_total", "kind", "frames", NULL, NULL), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sink_same_detections_twice_writes_rows_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_sink_bad_detections_message_counted_failed_and_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sink_store_failure_releases_batch_and_retries,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_sink_refused_message_is_counted_failed_and_the_rest_of_its_batch_written, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_sink_fatal_store_error_stops_the_sink_saying_why,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_sink_marks_frames_processed_and_keeps_one_inference_per_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sink_camera_events_upsert_camera_status, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_retention_sweeper_deletes_rows_older_than_camera_retention, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
