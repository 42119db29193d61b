/* Tests of the preprocess stage with the real in-process bus and a real
 * SQLite store in a temp dir: gating, storing, forwarding, and accounting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stages_support.h"
#include "vigil/clock.h"
#include "vigil/health.h"
#include "vigil/log.h"
#include "vigil/msg.h"
#include "vigil/stages.h"

#define W 320
#define H 240
#define T0 1700000000000000LL

typedef struct fixture {
    char *dir;
    vigil_config_t cfg;
    vigil_bus_t *bus;
    vigil_consumer_t *gated; /* test's own group on frames.gated */
    vigil_preprocess_t *pre;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    vigil_metrics_reset();
    vigil_health_reset();
    f->dir = vt_tmpdir();
    vt_config(&f->cfg, f->dir);
    f->cfg.preprocess_motion_threshold = 0.01;
    f->cfg.preprocess_keyframe_interval_s = 0.35;
    f->cfg.preprocess_workers = 2;
    f->bus = vt_bus();
    const char *topics[] = {VIGIL_TOPIC_GATED};
    char err[256] = "";
    f->gated = vigil_bus_subscribe(f->bus, "test", topics, 1, err, sizeof err);
    assert_non_null(f->gated);
    f->pre = vigil_preprocess_new(&f->cfg, f->bus, err, sizeof err);
    if (!f->pre) fail_msg("preprocess: %s", err);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    vigil_preprocess_free(f->pre);
    vigil_consumer_close(f->gated);
    vigil_bus_close(f->bus);
    vigil_bus_free(f->bus);
    vt_rmtree(f->dir);
    free(f->dir);
    vigil_config_release(&f->cfg);
    free(f);
    return 0;
}

/* Collects every GatedFrame of camera published so far (up to max). */
static size_t collect(fixture_t *f, Vigil__V1__GatedFrame **out, size_t max)
{
    size_t n = 0;
    vigil_bus_msg_t *msg;
    while (n < max && vigil_consumer_poll(f->gated, &msg, 200) == VIGIL_OK) {
        char err[256] = "";
        out[n] = vigil_gated_frame_decode(msg->value, msg->value_len, err, sizeof err);
        if (!out[n]) fail_msg("gated frame: %s", err);
        n++;
        vigil_consumer_ack(f->gated, msg);
    }
    return n;
}

static void test_preprocess_static_scene_drops_all_but_first_and_keyframes(void **state)
{
    fixture_t *f = *state;
    size_t len;
    uint8_t *still = vt_scene_jpeg(W, H, 0, 0, 0, &len);
    /* 10 identical frames 100 ms apart, keyframe interval 0.35 s: forwarded
     * at 0 (first), 0.4 and 0.8 s */
    for (int i = 0; i < 10; i++)
        vt_publish_frame(f->bus, "lobby", (uint64_t)i + 1, T0 + i * 100000, W, H, still, len);
    /* then 5 frames of a square moving 30 px a frame: all motion */
    uint8_t *moving[5];
    size_t mlen[5];
    for (int i = 0; i < 5; i++) {
        moving[i] = vt_scene_jpeg(W, H, 20 + i * 30, 60, 60, &mlen[i]);
        vt_publish_frame(f->bus, "lobby", (uint64_t)i + 11, T0 + (10 + i) * 100000, W, H,
                         moving[i], mlen[i]);
    }
    assert_int_equal(vigil_preprocess_start(f->pre), VIGIL_OK);
    vt_drain(f->bus, VIGIL_TOPIC_FRAMES);

    assert_int_equal(vt_stage_count("vigil_stage_in_total", "preprocess", "lobby"), 15);
    assert_int_equal(vt_stage_count("vigil_stage_out_total", "preprocess", "lobby"), 8);
    assert_int_equal(vt_stage_count("vigil_stage_dropped_total", "preprocess", "lobby"), 7);
    assert_int_equal(vt_stage_count("vigil_stage_failed_total", "preprocess", "lobby"), 0);

    Vigil__V1__GatedFrame *g[32];
    size_t n = collect(f, g, 32);
    assert_int_equal(n, 8);
    uint64_t want_seq[8] = {1, 5, 9, 11, 12, 13, 14, 15};
    int want_key[8] = {0, 1, 1, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(g[i]->camera_id, "lobby");
        assert_int_equal(g[i]->sequence, want_seq[i]);
        assert_int_equal(g[i]->keyframe, want_key[i]);
        assert_true(g[i]->frame_id > 0);
        assert_int_equal(g[i]->width, W);
        assert_int_equal(g[i]->height, H);
        assert_true(g[i]->jpeg.len > 0);
        if (i >= 3) assert_true(g[i]->motion_score >= 0.01f);
        vigil__v1__gated_frame__free_unpacked(g[i], NULL);
    }
    vigil_store_t *store = vt_store(&f->cfg);
    vigil_store_counts_t counts;
    assert_int_equal(vigil_store_counts(store, "lobby", &counts), VIGIL_OK);
    assert_int_equal(counts.frames, 8);
    vigil_store_close(store);
    free(still);
    for (int i = 0; i < 5; i++) free(moving[i]);
}

static void test_preprocess_bad_messages_counted_failed_next_frame_goes_through(void **state)
{
    fixture_t *f = *state;
    size_t len, len2;
    uint8_t *a = vt_scene_jpeg(W, H, 10, 10, 50, &len);
    uint8_t *b = vt_scene_jpeg(W, H, 200, 150, 50, &len2);
    vt_publish_frame(f->bus, "gate", 1, T0, W, H, a, len);
    /* a JPEG cut in half: the Frame decodes, the image does not */
    uint8_t junk[300];
    memcpy(junk, a, sizeof junk);
    vt_publish_frame(f->bus, "gate", 2, T0 + 100000, W, H, junk, sizeof junk);
    /* a truncated protobuf */
    Vigil__V1__Frame fr = VIGIL__V1__FRAME__INIT;
    fr.schema_version = VIGIL_SCHEMA_VERSION;
    fr.camera_id = "gate";
    fr.sequence = 3;
    fr.width = W;
    fr.height = H;
    fr.jpeg.data = b;
    fr.jpeg.len = len2;
    size_t plen;
    uint8_t *packed = vigil_msg_pack(&fr.base, &plen);
    assert_int_equal(vigil_bus_publish(f->bus, VIGIL_TOPIC_FRAMES, "gate", 4, packed, plen / 2,
                                       1000),
                     VIGIL_OK);
    free(packed);
    vt_publish_frame(f->bus, "gate", 4, T0 + 300000, W, H, b, len2);
    assert_int_equal(vigil_preprocess_start(f->pre), VIGIL_OK);
    vt_drain(f->bus, VIGIL_TOPIC_FRAMES);

    uint64_t in = vt_stage_count("vigil_stage_in_total", "preprocess", NULL);
    uint64_t out = vt_stage_count("vigil_stage_out_total", "preprocess", NULL);
    uint64_t dropped = vt_stage_count("vigil_stage_dropped_total", "preprocess", NULL);
    uint64_t failed = vt_stage_count("vigil_stage_failed_total", "preprocess", NULL);
    assert_int_equal(in, 4);
    assert_int_equal(failed, 2);
    assert_int_equal(out, 2);
    assert_int_equal(in, out + dropped + failed);
    assert_int_equal(vt_stage_count("vigil_stage_failed_total", "preprocess", "gate"), 1);

    Vigil__V1__GatedFrame *g[8];
    size_t n = collect(f, g, 8);
    assert_int_equal(n, 2);
    assert_int_equal(g[0]->sequence, 1);
    assert_int_equal(g[1]->sequence, 4);
    for (size_t i = 0; i < n; i++) vigil__v1__gated_frame__free_unpacked(g[i], NULL);
    free(a);
    free(b);
}

/* Issue 11: a small message with a JPEG whose header asks for 65500 x 65500
 * must not reach a decoder. */
static void test_frame_with_oversized_jpeg_header_is_refused(void **state)
{
    fixture_t *f = *state;
    size_t len;
    uint8_t *good = vt_scene_jpeg(W, H, 10, 10, 50, &len);
    uint8_t *lying = vt_jpeg_with_header_size(good, len, 65500, 65500);
    uint8_t *huge = vt_jpeg_with_header_size(good, len, 16000, 16000);
    /* the message says 320x240, the header 65500x65500 */
    vt_publish_frame(f->bus, "gate", 1, T0, W, H, lying, len);
    /* both say 16000x16000: more than limits.max_frame_pixels (8K UHD) */
    vt_publish_frame(f->bus, "gate", 2, T0 + 100000, 16000, 16000, huge, len);
    vt_publish_frame(f->bus, "gate", 3, T0 + 200000, W, H, good, len);
    assert_int_equal(vigil_preprocess_start(f->pre), VIGIL_OK);
    vt_drain(f->bus, VIGIL_TOPIC_FRAMES);

    assert_int_equal(vt_stage_count("vigil_stage_in_total", "preprocess", "gate"), 3);
    assert_int_equal(vt_stage_count("vigil_stage_failed_total", "preprocess", "gate"), 2);
    assert_int_equal(vt_stage_count("vigil_stage_out_total", "preprocess", "gate"), 1);
    assert_int_equal(vigil_metrics_sum("vigil_frames_refused_total", "stage", "preprocess",
                                       "reason", "size_mismatch"),
                     1);
    assert_int_equal(vigil_metrics_sum("vigil_frames_refused_total", "stage", "preprocess",
                                       "reason", "too_large"),
                     1);
    Vigil__V1__GatedFrame *g[4];
    size_t n = collect(f, g, 4);
    assert_int_equal(n, 1);
    assert_int_equal(g[0]->sequence, 3);
    vigil__v1__gated_frame__free_unpacked(g[0], NULL);
    vigil_store_t *store = vt_store(&f->cfg);
    vigil_store_counts_t counts;
    assert_int_equal(vigil_store_counts(store, "gate", &counts), VIGIL_OK);
    assert_int_equal(counts.frames, 1); /* nothing of the refused frames stored */
    vigil_store_close(store);
    free(good);
    free(lying);
    free(huge);
}

/* Camera ids come from the bus: a worker keeps at most limits.max_cameras,
 * and forgets the ones idle for limits.camera_forget_s. */
static void test_preprocess_camera_state_is_bounded_and_forgotten(void **state)
{
    fixture_t *f = *state;
    char err[256] = "";
    vigil_preprocess_free(f->pre);
    f->cfg.preprocess_workers = 1;
    f->cfg.limits_max_cameras = 2;
    f->cfg.limits_camera_forget_s = 1;
    f->pre = vigil_preprocess_new(&f->cfg, f->bus, err, sizeof err);
    assert_non_null(f->pre);
    size_t len;
    uint8_t *a = vt_scene_jpeg(W, H, 10, 10, 50, &len);
    vt_publish_frame(f->bus, "c1", 1, T0, W, H, a, len);
    vt_publish_frame(f->bus, "c2", 1, T0, W, H, a, len);
    vt_publish_frame(f->bus, "c3", 1, T0, W, H, a, len); /* a third: refused */
    assert_int_equal(vigil_preprocess_start(f->pre), VIGIL_OK);
    vt_drain(f->bus, VIGIL_TOPIC_FRAMES);
    assert_int_equal(vigil_metrics_sum("vigil_frames_refused_total", "stage", "preprocess",
                                       "reason", "too_many_cameras"),
                     1);
    assert_int_equal(vt_stage_count("vigil_stage_out_total", "preprocess", NULL), 2);
    /* c1 and c2 go idle; after limits.camera_forget_s their state goes and
     * c3 fits (its first frame is forwarded as a first frame is) */
    vigil_sleep_us(1200000);
    vt_publish_frame(f->bus, "c3", 2, T0 + 2000000, W, H, a, len);
    vt_drain(f->bus, VIGIL_TOPIC_FRAMES);
    assert_int_equal(vt_stage_count("vigil_stage_out_total", "preprocess", "c3"), 1);
    assert_int_equal(vigil_metrics_sum("vigil_frames_refused_total", "stage", "preprocess",
                                       "reason", "too_many_cameras"),
                     1);
    free(a);
}

static void test_preprocess_accounting_is_exact_across_cameras(void **state)
{
    fixture_t *f = *state;
    const char *cams[] = {"c1", "c2", "c3"};
    uint8_t *jpg[6];
    size_t len[6];
    for (int i = 0; i < 6; i++) jpg[i] = vt_scene_jpeg(W, H, (i % 3) * 80, 80, 60, &len[i]);
    int published = 0;
    for (int i = 0; i < 30; i++) {
        int k = (i / 4) % 6; /* the scene changes every 4 frames */
        vt_publish_frame(f->bus, cams[i % 3], (uint64_t)i + 1, T0 + i * 50000, W, H, jpg[k],
                         len[k]);
        published++;
    }
    assert_int_equal(vigil_preprocess_start(f->pre), VIGIL_OK);
    vt_drain(f->bus, VIGIL_TOPIC_FRAMES);
    for (int c = 0; c < 3; c++) {
        uint64_t in = vt_stage_count("vigil_stage_in_total", "preprocess", cams[c]);
        uint64_t sum = vt_stage_count("vigil_stage_out_total", "preprocess", cams[c]) +
                       vt_stage_count("vigil_stage_dropped_total", "preprocess", cams[c]) +
                       vt_stage_count("vigil_stage_failed_total", "preprocess", cams[c]);
        assert_int_equal(in, 10);
        assert_int_equal(sum, in);
    }
    vigil_store_t *store = vt_store(&f->cfg);
    vigil_store_counts_t counts;
    assert_int_equal(vigil_store_counts(store, NULL, &counts), VIGIL_OK);
    assert_int_equal((uint64_t)counts.frames,
                     vt_stage_count("vigil_stage_out_total", "preprocess", NULL));
    vigil_store_close(store);
    assert_int_equal(published, 30);
    for (int i = 0; i < 6; i++) free(jpg[i]);
}

static vigil_camera_row_t camera_row(fixture_t *f, const char *id)
{
    vigil_store_t *store = vt_store(&f->cfg);
    vigil_camera_row_t *rows = NULL, row;
    size_t n = 0;
    memset(&row, 0, sizeof row);
    assert_int_equal(vigil_store_camera_list(store, &rows, &n), VIGIL_OK);
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].id, id) == 0) row = rows[i];
    free(rows);
    vigil_store_close(store);
    return row;
}

static size_t count_lines(const char *text, const char *part)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, part)); p += strlen(part)) n++;
    return n;
}

static void test_preprocess_full_disk_degrades_camera_and_health_and_logs_once_with_a_count(
    void **state)
{
    fixture_t *f = *state;
    f->cfg.preprocess_motion_threshold = 0; /* every frame is stored */
    vigil_store_t *store = vt_store(&f->cfg);
    vigil_camera_row_t cam = {.enabled = 1};
    snprintf(cam.id, sizeof cam.id, "full");
    snprintf(cam.status, sizeof cam.status, "online");
    assert_int_equal(vigil_store_camera_upsert(store, &cam), VIGIL_OK);
    vigil_store_close(store);
    /* the camera's frame directory cannot be made (a file is in the way):
     * every frame fails as on a full disk, a retriable error */
    char path[1024];
    snprintf(path, sizeof path, "%s/frames", f->dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/frames/full", f->dir);
    FILE *blocker = fopen(path, "w");
    assert_non_null(blocker);
    fclose(blocker);
    char logpath[1024];
    snprintf(logpath, sizeof logpath, "%s/log.jsonl", f->dir);
    int logfd = open(logpath, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    assert_true(logfd >= 0);
    vigil_log_set_fd(logfd);
    vigil_log_set_level(VIGIL_LOG_INFO);

    size_t len;
    uint8_t *jpg = vt_scene_jpeg(W, H, 40, 40, 30, &len);
    for (int i = 0; i < 40; i++)
        vt_publish_frame(f->bus, "full", (uint64_t)i + 1, vigil_now_us(), W, H, jpg, len);
    assert_int_equal(vigil_preprocess_start(f->pre), VIGIL_OK);
    vt_drain(f->bus, VIGIL_TOPIC_FRAMES);
    assert_int_equal(vt_stage_count("vigil_stage_failed_total", "preprocess", "full"), 40);

    char why[512];
    assert_int_equal(vigil_health_level(why, sizeof why), VIGIL_HEALTH_DEGRADED);
    if (!strstr(why, "preprocess: camera \"full\": frames are not stored"))
        fail_msg("health: %s", why);
    char *json = vigil_health_json(NULL);
    assert_non_null(strstr(json, "\"status\":\"degraded\""));
    assert_non_null(strstr(json, "\"camera\":\"full\""));
    free(json);
    vigil_camera_row_t row = camera_row(f, "full");
    assert_string_equal(row.status, "degraded");
    assert_non_null(strstr(row.last_error, "frames are not stored"));

    /* the disk has room again: the next frame is stored and clears it all */
    assert_int_equal(unlink(path), 0);
    vt_publish_frame(f->bus, "full", 41, vigil_now_us(), W, H, jpg, len);
    vt_drain(f->bus, VIGIL_TOPIC_FRAMES);
    assert_int_equal(vt_stage_count("vigil_stage_out_total", "preprocess", "full"), 1);
    assert_int_equal(vigil_health_level(NULL, 0), VIGIL_HEALTH_OK);
    row = camera_row(f, "full");
    assert_string_equal(row.status, "online");
    assert_string_equal(row.last_error, "");

    vigil_log_set_level(VIGIL_LOG_OFF);
    vigil_log_set_fd(2);
    close(logfd);
    FILE *lf = fopen(logpath, "r");
    assert_non_null(lf);
    static char text[1 << 16];
    size_t got = fread(text, 1, sizeof text - 1, lf);
    text[got] = '\0';
    fclose(lf);
    /* 40 failed frames: one record, then the count of the others when the
     * error went away, not 40 records */
    size_t records = count_lines(text, "cannot store frame");
    if (records != 2) fail_msg("%zu records of the failure:\n%s", records, text);
    assert_non_null(strstr(text, "(repeated 39 times in "));
    assert_non_null(strstr(text, "\"repeated\":39"));
    assert_non_null(strstr(text, "frames are stored again after 40 failed"));
    free(jpg);
}

/* Another connection takes SQLite's write lock (BEGIN EXCLUSIVE) and keeps
 * it: the store's inserts fail with VIGIL_ERR_AGAIN after its busy timeout. */
static sqlite3 *lock_warehouse(fixture_t *f)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/vigil.db", f->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 30000);
    assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    return db;
}

static void unlock_warehouse(sqlite3 *db)
{
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* Waits (up to 30 s) until /healthz says the camera's frames wait for the
 * warehouse; fails the test otherwise. */
static void wait_frames_waiting(const char *camera)
{
    char want[128];
    snprintf(want, sizeof want, "preprocess: camera \"%s\": frames wait for the warehouse",
             camera);
    char why[1024] = "";
    for (int i = 0; i < 300; i++) {
        if (vigil_health_level(why, sizeof why) == VIGIL_HEALTH_DEGRADED && strstr(why, want))
            return;
        vigil_sleep_us(100000);
    }
    fail_msg("health never said \"%s\": %s", want, why);
}

static void test_preprocess_locked_warehouse_retries_the_same_frames_none_lost_or_twice(
    void **state)
{
    fixture_t *f = *state;
    f->cfg.preprocess_motion_threshold = 0; /* every frame is stored */
    vigil_store_t *store = vt_store(&f->cfg);
    vigil_camera_row_t cam = {.enabled = 1};
    snprintf(cam.id, sizeof cam.id, "lockd");
    snprintf(cam.status, sizeof cam.status, "online");
    assert_int_equal(vigil_store_camera_upsert(store, &cam), VIGIL_OK);
    vigil_store_close(store);
    size_t len;
    uint8_t *jpg = vt_scene_jpeg(W, H, 40, 40, 30, &len);
    for (int i = 0; i < 6; i++)
        vt_publish_frame(f->bus, "lockd", (uint64_t)i + 1, vigil_now_us(), W, H, jpg, len);
    sqlite3 *db = lock_warehouse(f);
    assert_int_equal(vigil_preprocess_start(f->pre), VIGIL_OK);
    /* the first frame waits (retriable: a lock), unacknowledged: the topic
     * does not drain, and nothing is counted failed */
    wait_frames_waiting("lockd");
    assert_int_equal(vigil_bus_drain(f->bus, VIGIL_TOPIC_FRAMES, 200), VIGIL_ERR_TIMED_OUT);
    assert_int_equal(vt_stage_count("vigil_stage_failed_total", "preprocess", "lockd"), 0);
    assert_int_equal(vt_stage_count("vigil_stage_out_total", "preprocess", "lockd"), 0);
    unlock_warehouse(db);

    vt_drain(f->bus, VIGIL_TOPIC_FRAMES);
    assert_int_equal(vt_stage_count("vigil_stage_in_total", "preprocess", "lockd"), 6);
    assert_int_equal(vt_stage_count("vigil_stage_out_total", "preprocess", "lockd"), 6);
    assert_int_equal(vt_stage_count("vigil_stage_failed_total", "preprocess", "lockd"), 0);
    /* each frame once, in order, with its row */
    Vigil__V1__GatedFrame *g[16];
    size_t n = collect(f, g, 16);
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(g[i]->sequence, i + 1);
        assert_true(g[i]->frame_id > 0);
        vigil__v1__gated_frame__free_unpacked(g[i], NULL);
    }
    store = vt_store(&f->cfg);
    vigil_store_counts_t counts;
    assert_int_equal(vigil_store_counts(store, "lockd", &counts), VIGIL_OK);
    assert_int_equal(counts.frames, 6);
    vigil_store_close(store);
    /* stored again: health and the camera's status are clear */
    assert_int_equal(vigil_health_level(NULL, 0), VIGIL_HEALTH_OK);
    vigil_camera_row_t row = camera_row(f, "lockd");
    assert_string_equal(row.status, "online");
    free(jpg);
}

static void test_preprocess_stop_while_warehouse_locked_gives_the_frame_back_and_says_so(
    void **state)
{
    fixture_t *f = *state;
    f->cfg.preprocess_motion_threshold = 0;
    char logpath[1024];
    snprintf(logpath, sizeof logpath, "%s/log.jsonl", f->dir);
    int logfd = open(logpath, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    assert_true(logfd >= 0);
    vigil_log_set_fd(logfd);
    vigil_log_set_level(VIGIL_LOG_INFO);
    size_t len;
    uint8_t *jpg = vt_scene_jpeg(W, H, 40, 40, 30, &len);
    vt_publish_frame(f->bus, "lockd", 7, vigil_now_us(), W, H, jpg, len);
    sqlite3 *db = lock_warehouse(f);
    assert_int_equal(vigil_preprocess_start(f->pre), VIGIL_OK);
    wait_frames_waiting("lockd");
    /* a stop does not wait for the warehouse: at most the try in progress */
    int64_t t0 = vigil_mono_us();
    vigil_preprocess_stop(f->pre);
    double took = (double)(vigil_mono_us() - t0) / 1e6;
    unlock_warehouse(db);
    if (took > 8.0) fail_msg("stop took %.1f s while the warehouse was locked", took);
    assert_int_equal(vt_stage_count("vigil_stage_in_total", "preprocess", "lockd"), 1);
    assert_int_equal(vt_stage_count("vigil_stage_failed_total", "preprocess", "lockd"), 1);
    assert_int_equal(vt_stage_count("vigil_stage_out_total", "preprocess", "lockd"), 0);
    /* never acknowledged: still on the topic */
    assert_int_equal(vigil_bus_drain(f->bus, VIGIL_TOPIC_FRAMES, 100), VIGIL_ERR_TIMED_OUT);

    vigil_log_set_level(VIGIL_LOG_OFF);
    vigil_log_set_fd(2);
    close(logfd);
    FILE *lf = fopen(logpath, "r");
    assert_non_null(lf);
    static char text[1 << 16];
    size_t got = fread(text, 1, sizeof text - 1, lf);
    text[got] = '\0';
    fclose(lf);
    if (!strstr(text, "camera \\\"lockd\\\": sequence 7: cannot store frame yet, retrying in") ||
        !strstr(text, "sequence 7: not stored: stopping while the warehouse is unavailable") ||
        !strstr(text, "database is locked") || !strstr(text, "it is lost"))
        fail_msg("log:\n%s", text);
    free(jpg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_preprocess_static_scene_drops_all_but_first_and_keyframes, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_preprocess_bad_messages_counted_failed_next_frame_goes_through, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_frame_with_oversized_jpeg_header_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_preprocess_camera_state_is_bounded_and_forgotten,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_preprocess_accounting_is_exact_across_cameras,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_preprocess_full_disk_degrades_camera_and_health_and_logs_once_with_a_count,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_preprocess_locked_warehouse_retries_the_same_frames_none_lost_or_twice, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_preprocess_stop_while_warehouse_locked_gives_the_frame_back_and_says_so, setup,
            teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
