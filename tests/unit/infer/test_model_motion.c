/* Unit tests of the "motion" model and the model registry on synthetic
 * frames: a textured static background with bright squares moving over it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/model.h"

#define W 320
#define H 240
#define SQ 40

typedef struct rect {
    int x, y, w, h;
} rect_t;

/* Fills img (RGB24, W x H, caller-owned data) with a static textured
 * background and the given bright squares. */
static void draw(vigil_image_t *img, const rect_t *sq, int nsq)
{
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            uint8_t *p = img->data + (size_t)y * img->stride + (size_t)x * 3;
            uint8_t v = (uint8_t)(40 + ((x / 16 + y / 16) % 2) * 20 + (x * 7 + y * 3) % 9);
            p[0] = v;
            p[1] = v;
            p[2] = (uint8_t)(v + 5);
        }
    }
    for (int k = 0; k < nsq; k++) {
        for (int y = sq[k].y; y < sq[k].y + sq[k].h; y++) {
            for (int x = sq[k].x; x < sq[k].x + sq[k].w; x++) {
                uint8_t *p = img->data + (size_t)y * img->stride + (size_t)x * 3;
                p[0] = 230;
                p[1] = 220;
                p[2] = 200;
            }
        }
    }
}

static void image_init(vigil_image_t *img)
{
    img->width = W;
    img->height = H;
    img->stride = W * 3;
    img->fmt = VIGIL_PIX_RGB24;
    img->owned = 0;
    img->data = malloc((size_t)W * H * 3);
    assert_non_null(img->data);
}

static double iou(const vigil_box_detection_t *d, rect_t r)
{
    double ix1 = d->x1 > r.x ? d->x1 : r.x, iy1 = d->y1 > r.y ? d->y1 : r.y;
    double ix2 = d->x2 < r.x + r.w ? d->x2 : r.x + r.w;
    double iy2 = d->y2 < r.y + r.h ? d->y2 : r.y + r.h;
    double inter = (ix2 > ix1 && iy2 > iy1) ? (ix2 - ix1) * (iy2 - iy1) : 0;
    double uni = (d->x2 - d->x1) * (d->y2 - d->y1) + (double)r.w * r.h - inter;
    return uni > 0 ? inter / uni : 0;
}

static vigil_model_t *open_motion(void)
{
    vigil_model_conf_t conf = {.name = "motion", .min_score = 0, .max_batch = 16, .threads = 1};
    char err[256] = "";
    vigil_model_t *model = vigil_model_open(&conf, err, sizeof err);
    assert_non_null(model);
    assert_string_equal(vigil_model_name(model), "motion");
    assert_true(model->max_batch >= 1);
    return model;
}

/* Runs one frame of one camera; returns the detections in *out. */
static void run1(vigil_model_t *model, const char *camera, const vigil_image_t *img,
                 uint64_t seq, vigil_detection_list_t *out)
{
    vigil_model_input_t in = {.image = img, .camera_id = camera, .sequence = seq,
                              .capture_time_us = (int64_t)seq * 100000};
    char err[256] = "";
    assert_int_equal(vigil_model_infer(model, &in, 1, out, err, sizeof err), VIGIL_OK);
}

static void test_model_unknown_name_lists_available_models(void **state)
{
    (void)state;
    vigil_model_conf_t conf = {.name = "yolo-nonexistent"};
    char err[256] = "";
    assert_null(vigil_model_open(&conf, err, sizeof err));
    assert_non_null(strstr(err, "yolo-nonexistent"));
    assert_non_null(strstr(err, "motion"));
}

static void test_detection_list_grows_and_clears(void **state)
{
    (void)state;
    vigil_detection_list_t list = {0};
    for (int i = 0; i < 100; i++) {
        vigil_box_detection_t d = {.x1 = (float)i, .y1 = 0, .x2 = (float)i + 1, .y2 = 1,
                                   .score = 0.5f, .label = "x"};
        assert_int_equal(vigil_detection_list_push(&list, &d), VIGIL_OK);
    }
    assert_int_equal(list.n, 100);
    assert_true(list.items[57].x1 == 57.0f);
    vigil_detection_list_clear(&list);
    assert_int_equal(list.n, 0);
    vigil_detection_list_release(&list);
    assert_null(list.items);
}

static void test_model_motion_moving_square_yields_one_box_around_it(void **state)
{
    (void)state;
    vigil_model_t *model = open_motion();
    vigil_image_t img;
    image_init(&img);
    vigil_detection_list_t out = {0};
    draw(&img, NULL, 0);
    run1(model, "cam", &img, 0, &out); /* background */
    assert_int_equal(out.n, 0);
    run1(model, "cam", &img, 1, &out);
    assert_int_equal(out.n, 0);
    rect_t sq = {0};
    for (int f = 0; f < 12; f++) {
        sq = (rect_t){.x = 40 + f * 8, .y = 80 + f * 4, .w = SQ, .h = SQ};
        draw(&img, &sq, 1);
        run1(model, "cam", &img, (uint64_t)f + 2, &out);
    }
    assert_int_equal(out.n, 1);
    assert_true(iou(&out.items[0], sq) > 0.5);
    assert_string_equal(out.items[0].label, "motion");
    assert_int_equal(out.items[0].class_id, 0);
    assert_true(out.items[0].score > 0 && out.items[0].score <= 1);
    assert_true(out.items[0].x1 < out.items[0].x2 && out.items[0].y1 < out.items[0].y2);
    vigil_detection_list_release(&out);
    free(img.data);
    vigil_model_close(model);
}

static void test_model_motion_static_scene_yields_nothing(void **state)
{
    (void)state;
    vigil_model_t *model = open_motion();
    vigil_image_t img;
    image_init(&img);
    vigil_detection_list_t out = {0};
    draw(&img, NULL, 0);
    for (int f = 0; f < 10; f++) {
        run1(model, "cam", &img, (uint64_t)f, &out);
        assert_int_equal(out.n, 0);
    }
    vigil_detection_list_release(&out);
    free(img.data);
    vigil_model_close(model);
}

static void test_model_motion_two_separated_squares_yield_two_boxes(void **state)
{
    (void)state;
    vigil_model_t *model = open_motion();
    vigil_image_t img;
    image_init(&img);
    vigil_detection_list_t out = {0};
    draw(&img, NULL, 0);
    run1(model, "cam", &img, 0, &out);
    rect_t sq[2];
    for (int f = 0; f < 6; f++) {
        sq[0] = (rect_t){.x = 20 + f * 6, .y = 30, .w = SQ, .h = SQ};
        sq[1] = (rect_t){.x = 220 - f * 6, .y = 160, .w = SQ, .h = SQ};
        draw(&img, sq, 2);
        run1(model, "cam", &img, (uint64_t)f + 1, &out);
    }
    assert_int_equal(out.n, 2);
    /* each truth square is matched by one of the boxes */
    for (int k = 0; k < 2; k++) {
        double best = 0;
        for (size_t i = 0; i < out.n; i++) {
            double v = iou(&out.items[i], sq[k]);
            if (v > best) best = v;
        }
        assert_true(best > 0.5);
    }
    vigil_detection_list_release(&out);
    free(img.data);
    vigil_model_close(model);
}

static void test_model_motion_cameras_keep_separate_backgrounds(void **state)
{
    (void)state;
    vigil_model_t *model = open_motion();
    vigil_image_t empty, busy;
    image_init(&empty);
    image_init(&busy);
    rect_t sq = {.x = 100, .y = 100, .w = SQ, .h = SQ};
    draw(&empty, NULL, 0);
    draw(&busy, &sq, 1);
    vigil_detection_list_t outs[4] = {{0}};
    /* camera a always sees the empty scene, camera b always the square, in
     * one batch: neither may see motion (a shared background would). */
    vigil_model_input_t in[4] = {
        {.image = &empty, .camera_id = "a", .sequence = 0},
        {.image = &busy, .camera_id = "b", .sequence = 0},
        {.image = &empty, .camera_id = "a", .sequence = 1},
        {.image = &busy, .camera_id = "b", .sequence = 1},
    };
    char err[256] = "";
    for (int round = 0; round < 3; round++) {
        assert_int_equal(vigil_model_infer(model, in, 4, outs, err, sizeof err), VIGIL_OK);
        for (int i = 0; i < 4; i++) assert_int_equal(outs[i].n, 0);
    }
    /* now camera a sees the square: motion for a only */
    vigil_model_input_t in2[2] = {
        {.image = &busy, .camera_id = "a", .sequence = 9},
        {.image = &busy, .camera_id = "b", .sequence = 9},
    };
    assert_int_equal(vigil_model_infer(model, in2, 2, outs, err, sizeof err), VIGIL_OK);
    assert_int_equal(outs[0].n, 1);
    assert_true(iou(&outs[0].items[0], sq) > 0.5);
    assert_int_equal(outs[1].n, 0);
    /* forgetting camera a: its next frame only re-initialises the background */
    vigil_model_forget_camera(model, "a");
    assert_int_equal(vigil_model_infer(model, in2, 1, outs, err, sizeof err), VIGIL_OK);
    assert_int_equal(outs[0].n, 0);
    for (int i = 0; i < 4; i++) vigil_detection_list_release(&outs[i]);
    free(empty.data);
    free(busy.data);
    vigil_model_close(model);
}

static void test_model_rejects_batch_over_max_and_non_rgb(void **state)
{
    (void)state;
    vigil_model_t *model = open_motion();
    vigil_image_t img;
    image_init(&img);
    draw(&img, NULL, 0);
    size_t n = (size_t)model->max_batch + 1;
    vigil_model_input_t *in = calloc(n, sizeof *in);
    vigil_detection_list_t *outs = calloc(n, sizeof *outs);
    for (size_t i = 0; i < n; i++) in[i] = (vigil_model_input_t){.image = &img, .camera_id = "c"};
    char err[256] = "";
    assert_int_equal(vigil_model_infer(model, in, n, outs, err, sizeof err), VIGIL_ERR_INVALID);
    img.fmt = VIGIL_PIX_GRAY8;
    assert_int_equal(vigil_model_infer(model, in, 1, outs, err, sizeof err), VIGIL_ERR_INVALID);
    free(in);
    free(outs);
    free(img.data);
    vigil_model_close(model);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_unknown_name_lists_available_models),
        cmocka_unit_test(test_detection_list_grows_and_clears),
        cmocka_unit_test(test_model_motion_moving_square_yields_one_box_around_it),
        cmocka_unit_test(test_model_motion_static_scene_yields_nothing),
        cmocka_unit_test(test_model_motion_two_separated_squares_yield_two_boxes),
        cmocka_unit_test(test_model_motion_cameras_keep_separate_backgrounds),
        cmocka_unit_test(test_model_rejects_batch_over_max_and_non_rgb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
