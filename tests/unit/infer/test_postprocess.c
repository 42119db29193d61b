/* Unit tests of detection post-processing: geometry (stretch, letterbox),
 * class-wise NMS, CenterNet and YOLOv8/11 output decoding. No engine. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "infer/postprocess.h"

static const char *const labels[] = {"person", "bicycle", "car"};

static vigil__det_params_t params(float score, float iou)
{
    return (vigil__det_params_t){.score_threshold = score, .iou_threshold = iou,
                                 .labels = labels, .nlabels = 3};
}

static void test_postprocess_stretch_maps_input_pixels_back_to_frame(void **state)
{
    vigil__geom_t g;
    vigil__geom_stretch(&g, 768, 576, 512, 512);
    float x1 = 256, y1 = 128, x2 = 512, y2 = 512;
    vigil__geom_unmap(&g, &x1, &y1, &x2, &y2);
    assert_float_equal(x1, 384, 1e-3);
    assert_float_equal(y1, 144, 1e-3);
    assert_float_equal(x2, 768, 1e-3);
    assert_float_equal(y2, 576, 1e-3);
}

static void test_postprocess_letterbox_removes_padding_and_clips(void **state)
{
    vigil__geom_t g;
    /* 1280x720 into 640x640: scale 0.5, 640x360 image, 140 rows of padding above */
    vigil__geom_letterbox(&g, 1280, 720, 640, 640);
    assert_float_equal(g.sx, 0.5, 1e-6);
    assert_float_equal(g.pad_x, 0, 1e-6);
    assert_float_equal(g.pad_y, 140, 1e-6);
    float x1 = 10, y1 = 150, x2 = 110, y2 = 250;
    vigil__geom_unmap(&g, &x1, &y1, &x2, &y2);
    assert_float_equal(x1, 20, 1e-3);
    assert_float_equal(y1, 20, 1e-3);
    assert_float_equal(x2, 220, 1e-3);
    assert_float_equal(y2, 220, 1e-3);
    /* a box reaching into the padding is clipped to the frame */
    x1 = -5, y1 = 100, x2 = 700, y2 = 600;
    vigil__geom_unmap(&g, &x1, &y1, &x2, &y2);
    assert_float_equal(x1, 0, 1e-3);
    assert_float_equal(y1, 0, 1e-3);
    assert_float_equal(x2, 1280, 1e-3);
    assert_float_equal(y2, 720, 1e-3);
}

static void test_postprocess_iou_of_known_boxes(void **state)
{
    vigil_box_detection_t a = {.x1 = 0, .y1 = 0, .x2 = 10, .y2 = 10};
    vigil_box_detection_t b = {.x1 = 5, .y1 = 0, .x2 = 15, .y2 = 10};
    vigil_box_detection_t c = {.x1 = 20, .y1 = 20, .x2 = 30, .y2 = 30};
    vigil_box_detection_t empty = {.x1 = 5, .y1 = 5, .x2 = 5, .y2 = 9};
    assert_float_equal(vigil__iou(&a, &b), 50.0 / 150.0, 1e-6);
    assert_float_equal(vigil__iou(&a, &c), 0, 1e-9);
    assert_float_equal(vigil__iou(&a, &a), 1, 1e-6);
    assert_float_equal(vigil__iou(&a, &empty), 0, 1e-9);
}

static void test_postprocess_nms_is_classwise_and_respects_iou(void **state)
{
    vigil_detection_list_t l = {0};
    vigil_box_detection_t d[] = {
        {.x1 = 0, .y1 = 0, .x2 = 10, .y2 = 10, .score = 0.6f, .class_id = 0},
        {.x1 = 1, .y1 = 0, .x2 = 11, .y2 = 10, .score = 0.9f, .class_id = 0}, /* IoU 0.82 */
        {.x1 = 1, .y1 = 0, .x2 = 11, .y2 = 10, .score = 0.5f, .class_id = 1}, /* other class */
        {.x1 = 5, .y1 = 0, .x2 = 15, .y2 = 10, .score = 0.4f, .class_id = 0}, /* IoU 0.43 */
    };
    for (size_t i = 0; i < 4; i++) assert_int_equal(vigil_detection_list_push(&l, &d[i]), 0);
    vigil__nms(&l, 0.5f);
    assert_int_equal(l.n, 3);
    assert_float_equal(l.items[0].score, 0.9, 1e-6);
    assert_float_equal(l.items[1].score, 0.5, 1e-6);
    assert_int_equal(l.items[1].class_id, 1);
    assert_float_equal(l.items[2].score, 0.4, 1e-6);
    /* a tighter IoU drops the 0.43 overlap too */
    vigil__nms(&l, 0.3f);
    assert_int_equal(l.n, 2);
    vigil_detection_list_release(&l);
}

static void test_postprocess_centernet_thresholds_nms_and_maps_to_frame(void **state)
{
    /* rows of x1,y1,x2,y2 in 512-input pixels, score, class */
    const float det[] = {
        100, 50, 300, 250, 0.80f, 2,  /* car */
        102, 52, 298, 252, 0.70f, 2,  /* duplicate car: suppressed */
        400, 400, 500, 500, 0.45f, 1, /* bicycle */
        10, 10, 20, 20, 0.10f, 0,     /* below threshold */
        0, 0, 0, 0, NAN, NAN,         /* padding rows may carry NaN */
        300, 100, 200, 200, 0.40f, 7, /* swapped corners, label beyond the list */
    };
    vigil__geom_t g;
    vigil__geom_stretch(&g, 1024, 768, 512, 512);
    vigil__det_params_t p = params(0.3f, 0.5f);
    vigil_detection_list_t out = {0};
    assert_int_equal(vigil__post_centernet(det, 6, &g, &p, &out), 0);
    assert_int_equal(out.n, 3);
    assert_string_equal(out.items[0].label, "car");
    assert_int_equal(out.items[0].class_id, 2);
    assert_float_equal(out.items[0].x1, 200, 1e-3);
    assert_float_equal(out.items[0].y1, 75, 1e-3);
    assert_float_equal(out.items[0].x2, 600, 1e-3);
    assert_float_equal(out.items[0].y2, 375, 1e-3);
    assert_string_equal(out.items[1].label, "bicycle");
    assert_string_equal(out.items[2].label, "class 7");
    assert_float_equal(out.items[2].x1, 400, 1e-3);
    assert_float_equal(out.items[2].x2, 600, 1e-3);
    vigil_detection_list_release(&out);
}

static void test_postprocess_centernet_max_detections_keeps_best(void **state)
{
    const float det[] = {
        0, 0, 10, 10, 0.5f, 0, 100, 100, 110, 110, 0.9f, 0, 200, 200, 210, 210, 0.7f, 0,
    };
    vigil__geom_t g;
    vigil__geom_stretch(&g, 512, 512, 512, 512);
    vigil__det_params_t p = params(0.3f, 0.5f);
    p.max_detections = 2;
    vigil_detection_list_t out = {0};
    assert_int_equal(vigil__post_centernet(det, 3, &g, &p, &out), 0);
    assert_int_equal(out.n, 2);
    assert_float_equal(out.items[0].score, 0.9, 1e-6);
    assert_float_equal(out.items[1].score, 0.7, 1e-6);
    vigil_detection_list_release(&out);
}

/* YOLO output [4 + nc, n], channels first. */
static void yolo_set(float *o, size_t nc, size_t n, size_t i, float cx, float cy, float w,
                     float h, const float *scores)
{
    o[0 * n + i] = cx;
    o[1 * n + i] = cy;
    o[2 * n + i] = w;
    o[3 * n + i] = h;
    for (size_t c = 0; c < nc; c++) o[(4 + c) * n + i] = scores[c];
}

static void test_postprocess_yolo_decodes_best_class_and_unletterboxes(void **state)
{
    enum { NC = 3, N = 4 };
    float o[(4 + NC) * N] = {0};
    yolo_set(o, NC, N, 0, 320, 320, 100, 60, (const float[]){0.1f, 0.2f, 0.85f});
    yolo_set(o, NC, N, 1, 322, 320, 100, 60, (const float[]){0.1f, 0.2f, 0.80f}); /* dup */
    yolo_set(o, NC, N, 2, 100, 200, 40, 80, (const float[]){0.6f, 0.0f, 0.0f});
    yolo_set(o, NC, N, 3, 500, 500, 40, 40, (const float[]){0.2f, 0.1f, 0.1f}); /* low */
    vigil__geom_t g;
    vigil__geom_letterbox(&g, 1280, 720, 640, 640); /* scale 0.5, pad_y 140 */
    vigil__det_params_t p = params(0.25f, 0.45f);
    vigil_detection_list_t out = {0};
    assert_int_equal(vigil__post_yolo(o, NC, N, &g, &p, &out), 0);
    assert_int_equal(out.n, 2);
    assert_string_equal(out.items[0].label, "car");
    assert_float_equal(out.items[0].score, 0.85, 1e-6);
    assert_float_equal(out.items[0].x1, (320 - 50) * 2, 1e-3);
    assert_float_equal(out.items[0].y1, (320 - 30 - 140) * 2, 1e-3);
    assert_float_equal(out.items[0].x2, (320 + 50) * 2, 1e-3);
    assert_float_equal(out.items[0].y2, (320 + 30 - 140) * 2, 1e-3);
    assert_string_equal(out.items[1].label, "person");
    assert_float_equal(out.items[1].y1, (160 - 140) * 2, 1e-3);
    vigil_detection_list_release(&out);
}

static void test_postprocess_yolo_drops_boxes_wholly_in_padding(void **state)
{
    enum { NC = 1, N = 1 };
    float o[(4 + NC) * N];
    yolo_set(o, NC, N, 0, 320, 50, 40, 40, (const float[]){0.9f}); /* rows 30..70 < pad 140 */
    vigil__geom_t g;
    vigil__geom_letterbox(&g, 1280, 720, 640, 640);
    vigil__det_params_t p = params(0.25f, 0.45f);
    vigil_detection_list_t out = {0};
    assert_int_equal(vigil__post_yolo(o, NC, N, &g, &p, &out), 0);
    assert_int_equal(out.n, 0);
    vigil_detection_list_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_postprocess_stretch_maps_input_pixels_back_to_frame),
        cmocka_unit_test(test_postprocess_letterbox_removes_padding_and_clips),
        cmocka_unit_test(test_postprocess_iou_of_known_boxes),
        cmocka_unit_test(test_postprocess_nms_is_classwise_and_respects_iou),
        cmocka_unit_test(test_postprocess_centernet_thresholds_nms_and_maps_to_frame),
        cmocka_unit_test(test_postprocess_centernet_max_detections_keeps_best),
        cmocka_unit_test(test_postprocess_yolo_decodes_best_class_and_unletterboxes),
        cmocka_unit_test(test_postprocess_yolo_drops_boxes_wholly_in_padding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
