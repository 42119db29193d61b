/* Tests of the infer stage with the real in-process bus and the motion
 * model: GatedFrames in, Detections out, micro-batched across cameras. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit/preprocess/stages_support.h"
#include "vigil/clock.h"
#include "vigil/msg.h"
#include "vigil/stages.h"

#define W 320
#define H 240
#define SQ 48
#define T0 1700000000000000LL

typedef struct fixture {
    char *dir;
    vigil_config_t cfg;
    vigil_bus_t *bus;
    vigil_consumer_t *dets; /* test's own group on detections */
    vigil_infer_t *infer;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    vigil_metrics_reset();
    f->dir = vt_tmpdir();
    vt_config(&f->cfg, f->dir);
    f->cfg.infer_batch_size = 8;
    /* long enough that a batch fills from messages already published */
    f->cfg.infer_batch_timeout_ms = 2000;
    f->cfg.infer_min_score = 0;
    f->bus = vt_bus();
    const char *topics[] = {VIGIL_TOPIC_DETECTIONS};
    char err[256] = "";
    f->dets = vigil_bus_subscribe(f->bus, "test", topics, 1, err, sizeof err);
    assert_non_null(f->dets);
    f->infer = vigil_infer_new(&f->cfg, f->bus, err, sizeof err);
    if (!f->infer) fail_msg("infer: %s", err);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    vigil_infer_free(f->infer);
    vigil_consumer_close(f->dets);
    vigil_bus_close(f->bus);
    vigil_bus_free(f->bus);
    vt_rmtree(f->dir);
    free(f->dir);
    vigil_config_release(&f->cfg);
    free(f);
    return 0;
}

static double iou(const Vigil__V1__Detection *d, int x, int y, int s)
{
    double ix1 = fmax(d->x1, x), iy1 = fmax(d->y1, y);
    double ix2 = fmin(d->x2, x + s), iy2 = fmin(d->y2, y + s);
    double inter = (ix2 > ix1 && iy2 > iy1) ? (ix2 - ix1) * (iy2 - iy1) : 0;
    double uni = (double)(d->x2 - d->x1) * (d->y2 - d->y1) + (double)s * s - inter;
    return uni > 0 ? inter / uni : 0;
}

/* Takes the next Detections message (fails the test after a long wait). */
static Vigil__V1__Detections *next_detections(fixture_t *f)
{
    vigil_bus_msg_t *msg = NULL;
    for (int tries = 0; tries < 600; tries++) {
        vigil_err_t err = vigil_consumer_poll(f->dets, &msg, 100);
        if (err == VIGIL_OK) break;
        assert_int_equal(err, VIGIL_ERR_TIMED_OUT);
    }
    assert_non_null(msg);
    char err[256] = "";
    Vigil__V1__Detections *d = vigil_detections_decode(msg->value, msg->value_len, err, sizeof err);
    if (!d) fail_msg("detections: %s", err);
    vigil_consumer_ack(f->dets, msg);
    return d;
}

/* Publishes frame i of camera: 2 of the empty scene, then a square moving
 * from (x0, y0) by (dx, dy) per frame; frame i of that sequence. */
static void publish_camera(fixture_t *f, const char *camera, int i, int x0, int y0, int dx, int dy)
{
    size_t len;
    uint8_t *jpeg;
    if (i < 2) jpeg = vt_scene_jpeg(W, H, 0, 0, 0, &len);
    else jpeg = vt_scene_jpeg(W, H, x0 + (i - 2) * dx, y0 + (i - 2) * dy, SQ, &len);
    vt_publish_gated(f->bus, camera, (uint64_t)i + 1, T0 + i * 100000, W, H, 1000 + i, jpeg, len);
    free(jpeg);
}

static void test_infer_moving_square_yields_detection_around_it(void **state)
{
    fixture_t *f = *state;
    const int n = 10;
    for (int i = 0; i < n; i++) publish_camera(f, "yard", i, 20, 40, 12, 6);
    assert_int_equal(vigil_infer_start(f->infer), VIGIL_OK);
    Vigil__V1__Detections *last = NULL;
    for (int i = 0; i < n; i++) {
        Vigil__V1__Detections *d = next_detections(f);
        assert_string_equal(d->camera_id, "yard");
        assert_int_equal(d->sequence, (uint64_t)i + 1);
        assert_int_equal(d->frame_id, 1000 + i);
        assert_string_equal(d->model, "motion");
        assert_int_equal(d->width, W);
        assert_int_equal(d->height, H);
        assert_true(d->infer_time_us >= 0);
        if (i < 2) assert_int_equal(d->n_items, 0); /* the empty scene */
        if (last) vigil__v1__detections__free_unpacked(last, NULL);
        last = d;
    }
    int x = 20 + (n - 3) * 12, y = 40 + (n - 3) * 6;
    assert_int_equal(last->n_items, 1);
    assert_string_equal(last->items[0]->label, "motion");
    assert_true(iou(last->items[0], x, y, SQ) > 0.5);
    vigil__v1__detections__free_unpacked(last, NULL);
    vt_drain(f->bus, VIGIL_TOPIC_GATED);
    assert_int_equal(vt_stage_count("vigil_stage_in_total", "infer", "yard"), n);
    assert_int_equal(vt_stage_count("vigil_stage_out_total", "infer", "yard"), n);
    assert_int_equal(vt_stage_count("vigil_stage_failed_total", "infer", "yard"), 0);
}

static void test_infer_batches_across_cameras_deliver_results_for_both(void **state)
{
    fixture_t *f = *state;
    const int n = 8;
    for (int i = 0; i < n; i++) {
        publish_camera(f, "east", i, 10, 20, 10, 0);
        publish_camera(f, "west", i, 250, 170, -10, 0);
    }
    /* a corrupt JPEG in the middle is counted failed and left out */
    uint8_t junk[64] = {0xff, 0xd8, 0xff, 0xe0};
    vt_publish_gated(f->bus, "west", 99, T0 + 99 * 100000, W, H, 5, junk, sizeof junk);
    assert_int_equal(vigil_infer_start(f->infer), VIGIL_OK);

    Vigil__V1__Detections *last[2] = {NULL, NULL};
    uint64_t next_seq[2] = {1, 1};
    for (int k = 0; k < 2 * n; k++) {
        Vigil__V1__Detections *d = next_detections(f);
        int c = strcmp(d->camera_id, "east") == 0 ? 0 : 1;
        if (c == 1) assert_string_equal(d->camera_id, "west");
        assert_int_equal(d->sequence, next_seq[c]); /* per camera order holds */
        next_seq[c]++;
        if (last[c]) vigil__v1__detections__free_unpacked(last[c], NULL);
        last[c] = d;
    }
    assert_int_equal(next_seq[0], n + 1);
    assert_int_equal(next_seq[1], n + 1);
    assert_int_equal(last[0]->n_items, 1);
    assert_true(iou(last[0]->items[0], 10 + (n - 3) * 10, 20, SQ) > 0.5);
    assert_int_equal(last[1]->n_items, 1);
    assert_true(iou(last[1]->items[0], 250 - (n - 3) * 10, 170, SQ) > 0.5);
    vigil__v1__detections__free_unpacked(last[0], NULL);
    vigil__v1__detections__free_unpacked(last[1], NULL);
    vt_drain(f->bus, VIGIL_TOPIC_GATED);

    assert_int_equal(vt_stage_count("vigil_stage_failed_total", "infer", "west"), 1);
    assert_int_equal(vt_stage_count("vigil_stage_in_total", "infer", NULL), 2 * n + 1);
    /* frames of both cameras went through shared model calls */
    uint64_t frames = vigil_metrics_sum("vigil_infer_batch_frames_total", NULL, NULL, NULL, NULL);
    uint64_t batches = vigil_metrics_sum("vigil_infer_batches_total", NULL, NULL, NULL, NULL);
    assert_int_equal(frames, 2 * n);
    assert_true(batches < frames);
}

/* Issue 11: the header of a gated frame's JPEG is checked before decoding. */
static void test_gated_frame_with_oversized_jpeg_header_is_refused(void **state)
{
    fixture_t *f = *state;
    size_t len;
    uint8_t *good = vt_scene_jpeg(W, H, 0, 0, 0, &len);
    uint8_t *lying = vt_jpeg_with_header_size(good, len, 65500, 65500);
    uint8_t *huge = vt_jpeg_with_header_size(good, len, 16000, 16000);
    vt_publish_gated(f->bus, "yard", 1, T0, W, H, 1, lying, len);
    vt_publish_gated(f->bus, "yard", 2, T0 + 100000, 16000, 16000, 2, huge, len);
    vt_publish_gated(f->bus, "yard", 3, T0 + 200000, W, H, 3, good, len);
    assert_int_equal(vigil_infer_start(f->infer), VIGIL_OK);
    Vigil__V1__Detections *d = next_detections(f);
    assert_int_equal(d->sequence, 3); /* the refused frames have no detections */
    vigil__v1__detections__free_unpacked(d, NULL);
    vt_drain(f->bus, VIGIL_TOPIC_GATED);
    assert_int_equal(vt_stage_count("vigil_stage_in_total", "infer", "yard"), 3);
    assert_int_equal(vt_stage_count("vigil_stage_failed_total", "infer", "yard"), 2);
    assert_int_equal(vigil_metrics_sum("vigil_frames_refused_total", "stage", "infer", "reason",
                                       "size_mismatch"),
                     1);
    assert_int_equal(vigil_metrics_sum("vigil_frames_refused_total", "stage", "infer", "reason",
                                       "too_large"),
                     1);
    free(good);
    free(lying);
    free(huge);
}

/* A camera that sent nothing for limits.camera_forget_s is forgotten by the
 * model too: the motion model's next frame of it starts a new background
 * (no detection), where the old background would have shown the square. */
static void test_infer_forgets_the_model_state_of_an_idle_camera(void **state)
{
    fixture_t *f = *state;
    char err[256] = "";
    vigil_infer_free(f->infer);
    f->cfg.infer_batch_timeout_ms = 0;
    f->cfg.limits_camera_forget_s = 1;
    f->infer = vigil_infer_new(&f->cfg, f->bus, err, sizeof err);
    assert_non_null(f->infer);
    for (int i = 0; i < 5; i++) publish_camera(f, "yard", i, 20, 40, 12, 6);
    assert_int_equal(vigil_infer_start(f->infer), VIGIL_OK);
    Vigil__V1__Detections *d = NULL;
    for (int i = 0; i < 5; i++) {
        if (d) vigil__v1__detections__free_unpacked(d, NULL);
        d = next_detections(f);
    }
    assert_int_equal(d->n_items, 1); /* the background knows the empty scene */
    vigil__v1__detections__free_unpacked(d, NULL);
    vigil_sleep_us(1300000);
    publish_camera(f, "yard", 5, 20, 40, 12, 6);
    d = next_detections(f);
    assert_int_equal(d->sequence, 6);
    assert_int_equal(d->n_items, 0); /* a first frame again */
    vigil__v1__detections__free_unpacked(d, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_infer_moving_square_yields_detection_around_it,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_infer_batches_across_cameras_deliver_results_for_both,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_gated_frame_with_oversized_jpeg_header_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_infer_forgets_the_model_state_of_an_idle_camera,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
