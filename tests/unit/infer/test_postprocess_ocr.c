/* Unit tests of text post-processing: DB boxes from a synthetic probability
 * map (axis-aligned and rotated), CTC greedy decoding, the 0/180 decision. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "infer/model_ocr.h"
#include "infer/postprocess.h"

#define MW 160
#define MH 96

static void fill_rect(float *m, int x0, int y0, int x1, int y1, float v)
{
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) m[y * MW + x] = v;
}

static void test_postprocess_db_finds_two_lines_in_reading_order(void **state)
{
    float *m = calloc(MW * MH, sizeof *m);
    assert_non_null(m);
    fill_rect(m, 20, 60, 99, 69, 0.9f); /* lower line, 80x10 */
    fill_rect(m, 10, 20, 59, 29, 0.8f); /* upper line, 50x10 */
    fill_rect(m, 130, 5, 131, 6, 0.9f); /* speck: below min_size */
    vigil__geom_t g;
    vigil__geom_stretch(&g, MW * 2, MH * 2, MW, MH); /* frame twice the map */
    vigil__db_params_t p;
    vigil__db_params_init(&p);
    vigil__quad_t *q = NULL;
    size_t n = 0;
    assert_int_equal(vigil__post_db(m, MW, MH, &g, &p, &q, &n), 0);
    assert_int_equal(n, 2);
    /* upper line first; pixel centres 10..59 x 20..29: 49x9, unclipped by
     * d = 49*9*1.5/(2*58) = 5.70 on each side, then doubled to frame pixels */
    float d = 49.0f * 9.0f * 1.5f / (2.0f * 58.0f);
    assert_float_equal(q[0].x[0], roundf((10 - d) * 2), 1.01);
    assert_float_equal(q[0].y[0], roundf((20 - d) * 2), 1.01);
    assert_float_equal(q[0].x[2], roundf((59 + d) * 2), 1.01);
    assert_float_equal(q[0].y[2], roundf((29 + d) * 2), 1.01);
    assert_true(q[0].score > 0.79f && q[0].score < 0.81f);
    assert_true(q[1].y[0] > q[0].y[0]);
    assert_true(q[1].x[1] > q[1].x[0]); /* top-right right of top-left */
    free(q);
    free(m);
}

static void test_postprocess_db_rotated_line_gives_rotated_quad(void **state)
{
    float *m = calloc(MW * MH, sizeof *m);
    assert_non_null(m);
    /* a band 8 px thick along a line of slope 0.25 */
    for (int x = 20; x < 140; x++)
        for (int t = 0; t < 8; t++) m[(int)(30 + 0.25f * (x - 20) + t) * MW + x] = 0.95f;
    vigil__geom_t g;
    vigil__geom_stretch(&g, MW, MH, MW, MH);
    vigil__db_params_t p;
    vigil__db_params_init(&p);
    vigil__quad_t *q = NULL;
    size_t n = 0;
    assert_int_equal(vigil__post_db(m, MW, MH, &g, &p, &q, &n), 0);
    assert_int_equal(n, 1);
    float slope = (q[0].y[1] - q[0].y[0]) / (q[0].x[1] - q[0].x[0]);
    assert_float_equal(slope, 0.25, 0.03);
    free(q);
    free(m);
}

static void test_postprocess_db_low_mean_probability_is_dropped(void **state)
{
    float *m = calloc(MW * MH, sizeof *m);
    assert_non_null(m);
    fill_rect(m, 10, 10, 80, 30, 0.4f); /* above threshold 0.3, below box 0.6 */
    vigil__geom_t g;
    vigil__geom_stretch(&g, MW, MH, MW, MH);
    vigil__db_params_t p;
    vigil__db_params_init(&p);
    vigil__quad_t *q = NULL;
    size_t n = 7;
    assert_int_equal(vigil__post_db(m, MW, MH, &g, &p, &q, &n), 0);
    assert_int_equal(n, 0);
    free(q);
    free(m);
}

/* One-hot rows: class per timestep with probability pr. */
static float *ctc_rows(const int *cls, size_t t, size_t nclass, float pr)
{
    float *r = calloc(t * nclass, sizeof *r);
    for (size_t s = 0; s < t; s++) {
        for (size_t c = 0; c < nclass; c++) r[s * nclass + c] = (1 - pr) / (float)(nclass - 1);
        r[s * nclass + (size_t)cls[s]] = pr;
    }
    return r;
}

static void test_postprocess_ctc_collapses_repeats_and_blanks(void **state)
{
    const char *const dict[] = {"h", "e", "l", "o", "中"};
    /* h h e blank l l blank l o 中 space blank: "hello中 " */
    const int cls[] = {1, 1, 2, 0, 3, 3, 0, 3, 4, 5, 6, 0};
    float *r = ctc_rows(cls, 12, 7, 0.9f);
    char text[64];
    float score = 0;
    assert_int_equal(vigil__ctc_decode(r, 12, 7, dict, 5, text, sizeof text, &score), 0);
    assert_string_equal(text, "hello中 ");
    assert_float_equal(score, 0.9, 1e-5);
    free(r);
}

static void test_postprocess_ctc_all_blank_is_empty_and_small_buffer_fails(void **state)
{
    const char *const dict[] = {"a", "b"};
    const int blank[] = {0, 0, 0};
    float *r = ctc_rows(blank, 3, 4, 0.8f);
    char text[8] = "xx";
    float score = 1;
    assert_int_equal(vigil__ctc_decode(r, 3, 4, dict, 2, text, sizeof text, &score), 0);
    assert_string_equal(text, "");
    assert_float_equal(score, 0, 1e-9);
    free(r);
    const int many[] = {1, 2, 1, 2, 1};
    r = ctc_rows(many, 5, 4, 0.8f);
    char tiny[3];
    assert_int_not_equal(vigil__ctc_decode(r, 5, 4, dict, 2, tiny, sizeof tiny, &score), 0);
    free(r);
}

static void test_postprocess_cls_rotates_only_when_confident(void **state)
{
    assert_int_equal(vigil__cls_is_rotated((const float[]){0.05f, 0.95f}, 0.9f), 1);
    assert_int_equal(vigil__cls_is_rotated((const float[]){0.15f, 0.85f}, 0.9f), 0);
    assert_int_equal(vigil__cls_is_rotated((const float[]){0.99f, 0.01f}, 0.9f), 0);
}

static void test_postprocess_ocr_crop_is_upright_and_rotates_tall_boxes(void **state)
{
    vigil_image_t img = {0};
    assert_int_equal(vigil_image_alloc(&img, 64, 48, VIGIL_PIX_RGB24), 0);
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 64; x++) {
            uint8_t *p = img.data + (size_t)y * img.stride + (size_t)x * 3;
            p[0] = (uint8_t)(x * 4); /* red grows to the right */
            p[1] = (uint8_t)(y * 5); /* green grows downwards */
            p[2] = 7;
        }
    vigil__quad_t wide = {.x = {10, 40, 40, 10}, .y = {5, 5, 15, 15}};
    vigil_image_t c = {0};
    assert_int_equal(vigil__ocr_crop(&img, &wide, &c), 0);
    assert_int_equal(c.width, 30);
    assert_int_equal(c.height, 10);
    assert_int_equal(c.data[0], 40);              /* (10, 5) */
    assert_int_equal(c.data[1], 25);
    assert_int_equal(c.data[(size_t)9 * c.stride + 29 * 3], 39 * 4); /* (39, 14) */
    vigil_image_release(&c);
    /* 6 wide, 30 tall: turned 90 degrees counter-clockwise (np.rot90) */
    vigil__quad_t tall = {.x = {20, 26, 26, 20}, .y = {10, 10, 40, 40}};
    assert_int_equal(vigil__ocr_crop(&img, &tall, &c), 0);
    assert_int_equal(c.width, 30);
    assert_int_equal(c.height, 6);
    /* the crop's top-right source pixel (25, 10) lands at the top-left */
    assert_int_equal(c.data[0], 25 * 4);
    assert_int_equal(c.data[1], 10 * 5);
    vigil_image_release(&c);
    vigil_image_release(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_postprocess_db_finds_two_lines_in_reading_order),
        cmocka_unit_test(test_postprocess_db_rotated_line_gives_rotated_quad),
        cmocka_unit_test(test_postprocess_db_low_mean_probability_is_dropped),
        cmocka_unit_test(test_postprocess_ctc_collapses_repeats_and_blanks),
        cmocka_unit_test(test_postprocess_ctc_all_blank_is_empty_and_small_buffer_fails),
        cmocka_unit_test(test_postprocess_cls_rotates_only_when_confident),
        cmocka_unit_test(test_postprocess_ocr_crop_is_upright_and_rotates_tall_boxes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
