/* The ingest stage on the in-process bus: every frame of a file published in
 * order, fps sampling, a dead camera retrying beside a live one, runtime
 * add/remove, sequences across restarts, prompt stop, the read timeout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ingest_support.h"
#include "vigil/clock.h"
#include "vigil/metrics.h"
#include "vigil/msg.h"
#include "vigil/stages.h"

#define VTEST_FRAMES 795
#define WAIT_LIMIT_US (60LL * 1000000) /* a bound so a broken stage fails, not hangs */

static void add_cam(vigil_config_t *cfg, const char *id, const char *url, double fps, int loop)
{
    vigil_camera_conf_t *c = &cfg->cameras[cfg->ncameras++];
    memset(c, 0, sizeof(*c));
    snprintf(c->id, sizeof(c->id), "%s", id);
    c->name = strdup(id);
    c->url = strdup(url);
    c->fps = fps;
    c->loop = loop;
    c->enabled = 1;
    c->retention_hours = -1;
}

static void setup_cfg(vigil_config_t *cfg)
{
    vigil_config_init(cfg);
    cfg->ingest_realtime = 0;
    cfg->ingest_reconnect_min_ms = 50;
    cfg->ingest_reconnect_max_ms = 400;
}

static vigil_bus_t *new_bus(int capacity)
{
    char err[256] = "";
    vigil_bus_conf_t bc;
    vigil_bus_conf_init(&bc);
    bc.partitions = 2;
    bc.capacity = capacity;
    vigil_bus_t *bus = vigil_bus_new("inproc://", &bc, err, sizeof(err));
    if (!bus) fail_msg("bus: %s", err);
    return bus;
}

/* Drains the collector until the stage is finished and nothing more comes. */
static void collect_until_finished(collector_t *col, vigil_ingest_t *ing)
{
    int64_t t0 = vigil_mono_us();
    for (;;) {
        int finished = vigil_ingest_finished(ing);
        int n = collector_poll(col, 100);
        if (finished && n == 0) break;
        if (vigil_mono_us() - t0 > WAIT_LIMIT_US) fail_msg("ingest did not finish");
    }
}

static void test_ingest_file_publishes_every_frame_in_order_then_finishes(void **state)
{
    (void)state;
    char path[1024], err[256] = "";
    if (ingest_media_path("vtest.avi", path, sizeof(path)) != 0) skip();
    vigil_config_t cfg;
    setup_cfg(&cfg);
    add_cam(&cfg, "cam0", path, 0, 0);
    vigil_bus_t *bus = new_bus(32); /* small: ingest must wait for us (backpressure) */
    collector_t col;
    collector_init(&col, bus, "test");
    uint64_t in0 = vigil_metrics_sum("vigil_stage_in_total", "stage", "ingest", "camera", "cam0");
    uint64_t out0 = vigil_metrics_sum("vigil_stage_out_total", "stage", "ingest", "camera", "cam0");

    int64_t before = vigil_now_us();
    vigil_ingest_t *ing = vigil_ingest_new(&cfg, bus, err, sizeof(err));
    assert_non_null(ing);
    assert_false(vigil_ingest_finished(ing));
    assert_int_equal(vigil_ingest_start(ing), VIGIL_OK);
    collect_until_finished(&col, ing);

    collected_camera_t *cam = collector_camera(&col, "cam0");
    assert_int_equal(cam->frames, VTEST_FRAMES);
    assert_int_equal(cam->bad_frames, 0);
    assert_true(cam->seq_increasing);
    assert_true(cam->first_seq > (uint64_t)before); /* based on the wall clock at start */
    assert_int_equal(cam->last_seq - cam->first_seq, VTEST_FRAMES - 1);
    assert_int_equal(cam->width, 768);
    assert_int_equal(cam->height, 576);

    int online = collector_find_event(&col, "cam0", "camera.online", 0);
    int ended = collector_find_event(&col, "cam0", "camera.ended", 0);
    assert_true(online >= 0);
    assert_true(ended > online);
    assert_non_null(strstr(col.events[online].payload, "\"name\":\"cam0\""));
    assert_non_null(strstr(col.events[online].payload, "\"url\":\""));
    assert_non_null(strstr(col.events[online].payload, "vtest.avi"));
    assert_non_null(strstr(col.events[online].payload, "\"fps\":0"));

    vigil_camera_state_t st;
    assert_int_equal(vigil_ingest_camera_state(ing, "cam0", &st), VIGIL_OK);
    assert_string_equal(st.status, "ended");
    assert_int_equal(st.frames, VTEST_FRAMES);
    assert_int_equal(vigil_ingest_camera_state(ing, "nope", &st), VIGIL_ERR_NOT_FOUND);
    assert_int_equal(
        vigil_metrics_sum("vigil_stage_in_total", "stage", "ingest", "camera", "cam0") - in0,
        VTEST_FRAMES);
    assert_int_equal(
        vigil_metrics_sum("vigil_stage_out_total", "stage", "ingest", "camera", "cam0") - out0,
        VTEST_FRAMES);

    vigil_ingest_stop(ing);
    vigil_ingest_free(ing);
    collector_release(&col);
    vigil_bus_free(bus);
    vigil_config_release(&cfg);
}

static void test_ingest_fps_sampling_halves_a_10fps_file(void **state)
{
    (void)state;
    char path[1024], err[256] = "";
    if (ingest_media_path("vtest.avi", path, sizeof(path)) != 0) skip();
    vigil_config_t cfg;
    setup_cfg(&cfg);
    add_cam(&cfg, "half", path, 5, 0);
    vigil_bus_t *bus = new_bus(64);
    collector_t col;
    collector_init(&col, bus, "test");
    uint64_t dropped0 =
        vigil_metrics_sum("vigil_stage_dropped_total", "stage", "ingest", "camera", "half");
    vigil_ingest_t *ing = vigil_ingest_new(&cfg, bus, err, sizeof(err));
    assert_non_null(ing);
    assert_int_equal(vigil_ingest_start(ing), VIGIL_OK);
    collect_until_finished(&col, ing);

    collected_camera_t *cam = collector_camera(&col, "half");
    /* pts 0, 0.2 s, 0.4 s, ... of 795 frames at 10 fps: every other one. */
    assert_int_equal(cam->frames, (VTEST_FRAMES + 1) / 2);
    assert_true(cam->seq_increasing);
    assert_int_equal(
        vigil_metrics_sum("vigil_stage_dropped_total", "stage", "ingest", "camera", "half") -
            dropped0,
        VTEST_FRAMES / 2);
    vigil_ingest_free(ing);
    collector_release(&col);
    vigil_bus_free(bus);
    vigil_config_release(&cfg);
}

static void test_ingest_dead_camera_retries_while_another_publishes(void **state)
{
    (void)state;
    char path[1024], dead[128], err[256] = "";
    if (ingest_media_path("vtest.avi", path, sizeof(path)) != 0) skip();
    vigil_config_t cfg;
    setup_cfg(&cfg);
    snprintf(dead, sizeof(dead), "rtsp://127.0.0.1:%d/x", closed_port());
    add_cam(&cfg, "dead", dead, 5, 0);
    add_cam(&cfg, "live", path, 0, 1);
    vigil_bus_t *bus = new_bus(64);
    collector_t col;
    collector_init(&col, bus, "test");
    vigil_ingest_t *ing = vigil_ingest_new(&cfg, bus, err, sizeof(err));
    assert_non_null(ing);
    assert_int_equal(vigil_ingest_start(ing), VIGIL_OK);

    vigil_camera_state_t st;
    int64_t t0 = vigil_mono_us();
    for (;;) {
        collector_poll(&col, 50);
        assert_int_equal(vigil_ingest_camera_state(ing, "dead", &st), VIGIL_OK);
        collected_camera_t *live = collector_camera(&col, "live");
        if (st.failures >= 2 && live->frames >= 50 &&
            collector_find_event(&col, "dead", "camera.retrying", 0) >= 0)
            break;
        if (vigil_mono_us() - t0 > WAIT_LIMIT_US) fail_msg("dead camera never retried twice");
    }
    assert_string_equal(st.status, "retrying");
    assert_non_null(strstr(st.last_error, dead));
    assert_non_null(strstr(st.last_error, "cannot open"));
    assert_true(st.next_retry_us > 0);
    int ev = collector_find_event(&col, "dead", "camera.retrying", 0);
    assert_non_null(strstr(col.events[ev].message, dead));
    assert_int_equal(collector_find_event(&col, "dead", "camera.online", 0), -1);
    assert_false(vigil_ingest_finished(ing)); /* a looping file and a retrying camera */

    vigil_ingest_stop(ing);
    assert_int_equal(vigil_ingest_camera_state(ing, "dead", &st), VIGIL_OK);
    assert_string_equal(st.status, "stopped");
    assert_int_equal(vigil_ingest_camera_state(ing, "live", &st), VIGIL_OK);
    assert_string_equal(st.status, "stopped");
    collector_poll(&col, 50);
    assert_true(collector_find_event(&col, "live", "camera.stopped", 0) >= 0);
    vigil_ingest_free(ing);
    collector_release(&col);
    vigil_bus_free(bus);
    vigil_config_release(&cfg);
}

static void test_ingest_stop_returns_while_blocked_on_open_and_publish(void **state)
{
    (void)state;
    char path[1024], hang[128], err[256] = "";
    if (ingest_media_path("vtest.avi", path, sizeof(path)) != 0) skip();
    int port, lsock = silent_listener(&port);
    vigil_config_t cfg;
    setup_cfg(&cfg);
    snprintf(hang, sizeof(hang), "rtsp://127.0.0.1:%d/never-answers", port);
    add_cam(&cfg, "hang", hang, 5, 0);
    add_cam(&cfg, "full", path, 0, 1);
    vigil_bus_t *bus = new_bus(4);
    collector_t col; /* subscribed but never polled: "full" blocks on publish */
    collector_init(&col, bus, "test");
    vigil_ingest_t *ing = vigil_ingest_new(&cfg, bus, err, sizeof(err));
    assert_non_null(ing);
    assert_int_equal(vigil_ingest_start(ing), VIGIL_OK);
    vigil_sleep_us(500000);
    vigil_camera_state_t st;
    assert_int_equal(vigil_ingest_camera_state(ing, "hang", &st), VIGIL_OK);
    assert_string_equal(st.status, "starting"); /* still in the open */

    int64_t t0 = vigil_mono_us();
    vigil_ingest_stop(ing);
    print_message("stop took %.3f s\n", (double)(vigil_mono_us() - t0) / 1e6);
    assert_int_equal(vigil_ingest_camera_state(ing, "hang", &st), VIGIL_OK);
    assert_string_equal(st.status, "stopped");
    assert_int_equal(vigil_ingest_camera_state(ing, "full", &st), VIGIL_OK);
    assert_string_equal(st.status, "stopped");
    assert_true(st.frames >= 4);
    /* backpressure lost nothing it had accepted: every frame read was
     * published (and timed), but the one in hand at the stop, counted dropped */
    assert_int_equal(vigil_metrics_sum("vigil_stage_out_total", "stage", "ingest", "camera",
                                       "full"),
                     st.frames);
    assert_int_equal(vigil_metrics_sum("vigil_stage_dropped_total", "stage", "ingest", "camera",
                                       "full"),
                     1);
    vigil_histogram_t *wait = vigil_metrics_histogram("vigil_ingest_publish_wait_seconds", "",
                                                      "camera", "full", NULL, NULL);
    assert_int_equal(vigil_histogram_count(wait), st.frames);
    vigil_histogram_release(wait);
    vigil_ingest_free(ing);
    collector_release(&col);
    vigil_bus_free(bus);
    vigil_config_release(&cfg);
    close(lsock);
}

/* ingest.read_timeout_ms is the camera's source timeout: a server that
 * accepts and never answers fails the open after it, named in the error. */
static void test_ingest_read_timeout_ms_bounds_a_silent_cameras_open(void **state)
{
    (void)state;
    char hang[128], err[256] = "";
    int port, lsock = silent_listener(&port);
    vigil_config_t cfg;
    setup_cfg(&cfg);
    assert_int_equal(vigil_config_set(&cfg, "ingest.read_timeout_ms", "300", "test", err,
                                      sizeof(err)),
                     VIGIL_OK);
    snprintf(hang, sizeof(hang), "rtsp://127.0.0.1:%d/never-answers", port);
    add_cam(&cfg, "hang", hang, 5, 0);
    vigil_bus_t *bus = new_bus(4);
    vigil_ingest_t *ing = vigil_ingest_new(&cfg, bus, err, sizeof(err));
    assert_non_null(ing);
    int64_t t0 = vigil_mono_us();
    assert_int_equal(vigil_ingest_start(ing), VIGIL_OK);
    vigil_camera_state_t st;
    for (;;) {
        assert_int_equal(vigil_ingest_camera_state(ing, "hang", &st), VIGIL_OK);
        if (st.failures >= 1) break;
        if (vigil_mono_us() - t0 > WAIT_LIMIT_US) fail_msg("the silent camera never failed");
        vigil_sleep_us(20000);
    }
    int64_t took = vigil_mono_us() - t0;
    print_message("first failure after %.3f s: %s\n", (double)took / 1e6, st.last_error);
    assert_non_null(strstr(st.last_error, "timed out after 300 ms"));
    assert_true(took < 4000000); /* well before the 5 s default */
    vigil_ingest_stop(ing);
    vigil_ingest_free(ing);
    vigil_bus_free(bus);
    vigil_config_release(&cfg);
    close(lsock);
}

static void test_ingest_cameras_added_and_removed_at_runtime(void **state)
{
    (void)state;
    char path[1024], err[256] = "";
    if (ingest_media_path("vtest.avi", path, sizeof(path)) != 0) skip();
    vigil_config_t cfg;
    setup_cfg(&cfg);
    add_cam(&cfg, "off", path, 0, 0);
    cfg.cameras[0].enabled = 0;
    vigil_bus_t *bus = new_bus(64);
    collector_t col;
    collector_init(&col, bus, "test");
    vigil_ingest_t *ing = vigil_ingest_new(&cfg, bus, err, sizeof(err));
    assert_non_null(ing);
    assert_int_equal(vigil_ingest_start(ing), VIGIL_OK);
    vigil_camera_state_t st;
    assert_int_equal(vigil_ingest_camera_state(ing, "off", &st), VIGIL_OK);
    assert_string_equal(st.status, "stopped"); /* known, not started */
    assert_false(vigil_ingest_finished(ing));

    vigil_camera_conf_t cc = {.fps = 0, .loop = 1, .enabled = 1, .retention_hours = -1};
    snprintf(cc.id, sizeof(cc.id), "added");
    cc.url = path;
    assert_int_equal(vigil_ingest_add_camera(ing, &cc, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil_ingest_add_camera(ing, &cc, err, sizeof(err)), VIGIL_ERR_EXISTS);
    assert_non_null(strstr(err, "\"added\""));
    vigil_camera_conf_t bad = cc;
    snprintf(bad.id, sizeof(bad.id), "no/slash");
    assert_int_equal(vigil_ingest_add_camera(ing, &bad, err, sizeof(err)), VIGIL_ERR_INVALID);
    assert_non_null(strstr(err, "no/slash"));

    int64_t t0 = vigil_mono_us();
    while (collector_camera(&col, "added")->frames < 20) {
        collector_poll(&col, 50);
        if (vigil_mono_us() - t0 > WAIT_LIMIT_US) fail_msg("added camera published nothing");
    }
    assert_int_equal(vigil_ingest_remove_camera(ing, "added"), VIGIL_OK);
    assert_int_equal(vigil_ingest_camera_state(ing, "added", &st), VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_ingest_remove_camera(ing, "added"), VIGIL_ERR_NOT_FOUND);
    collector_poll(&col, 50);
    int online = collector_find_event(&col, "added", "camera.online", 0);
    assert_true(online >= 0);
    assert_true(collector_find_event(&col, "added", "camera.stopped", online) > online);

    /* After removal nothing more arrives from it. */
    size_t frames = collector_camera(&col, "added")->frames;
    collector_poll(&col, 200);
    assert_int_equal(collector_camera(&col, "added")->frames, frames);
    vigil_ingest_free(ing);
    collector_release(&col);
    vigil_bus_free(bus);
    vigil_config_release(&cfg);
}

/* A command on topic control, as the API publishes it (url NULL: the id alone). */
static void publish_command(vigil_bus_t *bus, const char *id, int op, const char *url)
{
    Vigil__V1__CameraCommand c = VIGIL__V1__CAMERA_COMMAND__INIT;
    c.schema_version = VIGIL_SCHEMA_VERSION;
    c.op = op;
    c.camera_id = (char *)id;
    c.url = (char *)url;
    c.fps = 1;
    size_t len = 0;
    uint8_t *buf = vigil_msg_pack(&c.base, &len);
    assert_non_null(buf);
    assert_int_equal(vigil_bus_publish(bus, VIGIL_TOPIC_CONTROL, id, strlen(id), buf, len, 1000),
                     VIGIL_OK);
    free(buf);
}

/* Polls the collector until camera id has `status` (ingest's state). */
static void wait_status(vigil_ingest_t *ing, collector_t *col, const char *id, const char *status)
{
    vigil_camera_state_t st;
    int64_t t0 = vigil_mono_us();
    for (;;) {
        assert_int_equal(vigil_ingest_camera_state(ing, id, &st), VIGIL_OK);
        if (!strcmp(st.status, status)) return;
        if (vigil_mono_us() - t0 > WAIT_LIMIT_US)
            fail_msg("camera %s: status %s, waited for %s", id, st.status, status);
        collector_poll(col, 20);
    }
}

/* A configured camera is switched by the control topic's stop and start
 * (the API's PATCH {"enabled"}), never replaced: a stop published before
 * the stage starts keeps it from running at all (a restart after a
 * disable); any other last command leaves it as its file says, and an add
 * with another URL never changes its source. */
static void test_ingest_static_camera_switched_by_stop_and_start_only(void **state)
{
    (void)state;
    char path[1024], err[256] = "";
    if (ingest_media_path("vtest.avi", path, sizeof(path)) != 0) skip();
    vigil_config_t cfg;
    setup_cfg(&cfg);
    add_cam(&cfg, "hall", path, 0, 1);
    vigil_bus_t *bus = new_bus(16);
    collector_t col;
    collector_init(&col, bus, "test");
    vigil_ingest_t *ing = vigil_ingest_new(&cfg, bus, err, sizeof(err));
    assert_non_null(ing);
    publish_command(bus, "hall", VIGIL__V1__CAMERA_COMMAND__OP__OP_STOP, NULL);
    assert_int_equal(vigil_ingest_start(ing), VIGIL_OK);
    vigil_camera_state_t st;
    assert_int_equal(vigil_ingest_camera_state(ing, "hall", &st), VIGIL_OK);
    assert_string_equal(st.status, "stopped");
    collector_poll(&col, 300);
    assert_int_equal(collector_camera(&col, "hall")->frames, 0); /* not even for a moment */

    publish_command(bus, "hall", VIGIL__V1__CAMERA_COMMAND__OP__OP_START, NULL);
    int64_t t0 = vigil_mono_us();
    while (collector_camera(&col, "hall")->frames < 10) {
        collector_poll(&col, 50);
        if (vigil_mono_us() - t0 > WAIT_LIMIT_US) fail_msg("switched on, published nothing");
    }
    assert_int_equal(collector_camera(&col, "hall")->width, 768); /* its own file */

    publish_command(bus, "hall", VIGIL__V1__CAMERA_COMMAND__OP__OP_STOP, NULL);
    wait_status(ing, &col, "hall", "stopped");
    collector_poll(&col, 100);
    assert_true(collector_find_event(&col, "hall", "camera.stopped", 0) >= 0);
    size_t frames = collector_camera(&col, "hall")->frames;
    collector_poll(&col, 300);
    assert_int_equal(collector_camera(&col, "hall")->frames, frames);
    /* still known (the file says it exists), stopped */
    assert_int_equal(vigil_ingest_camera_state(ing, "hall", &st), VIGIL_OK);

    /* an add is ignored for it: the stop no longer being the last command,
     * it runs as its file says, from its own file, never from the topic's URL */
    publish_command(bus, "hall", VIGIL__V1__CAMERA_COMMAND__OP__OP_ADD, "testsrc");
    t0 = vigil_mono_us();
    while (collector_camera(&col, "hall")->frames < frames + 10) {
        collector_poll(&col, 50);
        if (vigil_mono_us() - t0 > WAIT_LIMIT_US) fail_msg("no frames after the add");
    }
    assert_int_equal(collector_camera(&col, "hall")->width, 768);
    vigil_ingest_free(ing);
    collector_release(&col);
    vigil_bus_free(bus);
    vigil_config_release(&cfg);
}

/* Runs one camera until it published `n` frames; returns the last sequence
 * and stores the first. */
static uint64_t run_briefly(const char *path, int n, uint64_t *first)
{
    char err[256] = "";
    vigil_config_t cfg;
    setup_cfg(&cfg);
    add_cam(&cfg, "again", path, 0, 1);
    vigil_bus_t *bus = new_bus(16);
    collector_t col;
    collector_init(&col, bus, "test");
    vigil_ingest_t *ing = vigil_ingest_new(&cfg, bus, err, sizeof(err));
    assert_non_null(ing);
    assert_int_equal(vigil_ingest_start(ing), VIGIL_OK);
    int64_t t0 = vigil_mono_us();
    while (collector_camera(&col, "again")->frames < (size_t)n) {
        collector_poll(&col, 50);
        if (vigil_mono_us() - t0 > WAIT_LIMIT_US) fail_msg("no frames");
    }
    vigil_ingest_stop(ing);
    collector_poll(&col, 50);
    collected_camera_t *cam = collector_camera(&col, "again");
    assert_true(cam->seq_increasing);
    *first = cam->first_seq;
    uint64_t last = cam->last_seq;
    vigil_ingest_free(ing);
    collector_release(&col);
    vigil_bus_free(bus);
    vigil_config_release(&cfg);
    return last;
}

static void test_ingest_sequences_continue_across_restarts(void **state)
{
    (void)state;
    char path[1024];
    if (ingest_media_path("vtest.avi", path, sizeof(path)) != 0) skip();
    uint64_t first1, first2;
    uint64_t last1 = run_briefly(path, 30, &first1);
    uint64_t last2 = run_briefly(path, 30, &first2);
    assert_true(last1 >= first1 + 29);
    assert_true(first2 > last1);
    assert_true(last2 > first2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ingest_file_publishes_every_frame_in_order_then_finishes),
        cmocka_unit_test(test_ingest_fps_sampling_halves_a_10fps_file),
        cmocka_unit_test(test_ingest_dead_camera_retries_while_another_publishes),
        cmocka_unit_test(test_ingest_stop_returns_while_blocked_on_open_and_publish),
        cmocka_unit_test(test_ingest_read_timeout_ms_bounds_a_silent_cameras_open),
        cmocka_unit_test(test_ingest_cameras_added_and_removed_at_runtime),
        cmocka_unit_test(test_ingest_static_camera_switched_by_stop_and_start_only),
        cmocka_unit_test(test_ingest_sequences_continue_across_restarts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
