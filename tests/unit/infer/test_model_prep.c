/* The frame -> tensor preprocessing (src/infer/model_prep.c) against the
 * per-pixel bilinear sampler it replaced (copied here): bit-identical
 * values for every resize mode (TF-legacy stretch, letterbox with padding,
 * fit32, height with right padding), NCHW and NHWC, RGB and BGR, up- and
 * downscaling, a stride wider than the row. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "infer/model_prep.h"

static float sample(const vigil_image_t *img, float fx, float fy, int c)
{
    int x0 = (int)floorf(fx), y0 = (int)floorf(fy);
    float ax = fx - (float)x0, ay = fy - (float)y0;
    int x1 = x0 + 1, y1 = y0 + 1;
    int wm = img->width - 1, hm = img->height - 1;
    x0 = x0 < 0 ? 0 : x0 > wm ? wm : x0;
    x1 = x1 < 0 ? 0 : x1 > wm ? wm : x1;
    y0 = y0 < 0 ? 0 : y0 > hm ? hm : y0;
    y1 = y1 < 0 ? 0 : y1 > hm ? hm : y1;
    const uint8_t *r0 = img->data + (size_t)y0 * img->stride, *r1 = img->data + (size_t)y1 * img->stride;
    float top = r0[x0 * 3 + c] + ax * (float)(r0[x1 * 3 + c] - r0[x0 * 3 + c]);
    float bot = r1[x0 * 3 + c] + ax * (float)(r1[x1 * 3 + c] - r1[x0 * 3 + c]);
    return top + ay * (bot - top);
}

/* the loop vigil__prep_image ran before (after the geometry, which is shared) */
static void reference(const vigil__model_entry_t *e, const vigil_image_t *img, int dst_w, int dst_h,
                      const vigil__geom_t *g, int rw, int rh, float *out)
{
    int tf_legacy = e->resize == VIGIL_RESIZE_STRETCH;
    float kx = (float)img->width / (float)rw, ky = (float)img->height / (float)rh;
    int px = (int)g->pad_x, py = (int)g->pad_y;
    size_t plane = (size_t)dst_w * dst_h;
    for (int y = 0; y < dst_h; y++) {
        int iy = y - py;
        float fy = tf_legacy ? (float)iy * ky : ((float)iy + 0.5f) * ky - 0.5f;
        for (int x = 0; x < dst_w; x++) {
            int ix = x - px;
            int inside = ix >= 0 && ix < rw && iy >= 0 && iy < rh;
            float fx = tf_legacy ? (float)ix * kx : ((float)ix + 0.5f) * kx - 0.5f;
            for (int c = 0; c < 3; c++) {
                float v = inside ? sample(img, fx, fy, e->bgr ? 2 - c : c) : e->pad;
                v = (v * e->scale - e->mean[c]) / e->std[c];
                out[e->nchw ? (size_t)c * plane + (size_t)y * dst_w + x : ((size_t)y * dst_w + x) * 3 + (size_t)c] = v;
            }
        }
    }
}

static void check(vigil__resize_mode_t mode, int nchw, int bgr, int iw, int ih, int dw, int dh)
{
    vigil__model_entry_t e;
    memset(&e, 0, sizeof e);
    e.resize = mode;
    e.nchw = nchw;
    e.bgr = bgr;
    e.width = dw;
    e.height = dh;
    e.max_side = 960;
    e.scale = 1.0f / 255;
    e.mean[0] = 0.485f, e.mean[1] = 0.456f, e.mean[2] = 0.406f;
    e.std[0] = 0.229f, e.std[1] = 0.224f, e.std[2] = 0.225f;
    e.pad = 114;
    int stride = iw * 3 + 13;
    uint8_t *px = malloc((size_t)stride * ih);
    assert_non_null(px);
    for (int i = 0; i < stride * ih; i++) px[i] = (uint8_t)((i * 131 + (i / stride) * 7) % 251);
    vigil_image_t img = {.data = px, .width = iw, .height = ih, .stride = stride, .fmt = VIGIL_PIX_RGB24};
    int w = dw, h = dh;
    vigil__prep_size(&e, iw, ih, 0, &w, &h);
    float *got = malloc(sizeof(float) * 3 * (size_t)w * h), *want = malloc(sizeof(float) * 3 * (size_t)w * h);
    assert_non_null(got);
    assert_non_null(want);
    vigil__geom_t g;
    vigil__prep_image(&e, &img, w, h, got, &g);
    /* the placed image's size, as prep_image computes it */
    int rw = w, rh = h;
    if (mode == VIGIL_RESIZE_LETTERBOX) {
        rw = (int)lroundf((float)iw * g.sx);
        rh = (int)lroundf((float)ih * g.sy);
    } else if (mode == VIGIL_RESIZE_HEIGHT) {
        int want_w = (int)ceilf((float)h * (float)iw / (float)ih);
        rw = want_w < w ? want_w : w;
        if (rw < 1) rw = 1;
    }
    reference(&e, &img, w, h, &g, rw, rh, want);
    for (size_t i = 0; i < 3 * (size_t)w * h; i++)
        if (memcmp(&got[i], &want[i], sizeof(float)))
            fail_msg("mode %d nchw %d bgr %d %dx%d -> %dx%d: at %zu %.9g, before %.9g", mode, nchw, bgr, iw,
                     ih, w, h, i, got[i], want[i]);
    free(got);
    free(want);
    free(px);
}

static void test_prep_image_equals_the_per_pixel_sampler_in_every_mode(void **state)
{
    (void)state;
    for (int nchw = 0; nchw < 2; nchw++)
        for (int bgr = 0; bgr < 2; bgr++) {
            check(VIGIL_RESIZE_STRETCH, nchw, bgr, 77, 58, 64, 64);   /* down, TF legacy */
            check(VIGIL_RESIZE_STRETCH, nchw, bgr, 31, 22, 64, 48);   /* up */
            check(VIGIL_RESIZE_LETTERBOX, nchw, bgr, 77, 58, 64, 64); /* pad top and bottom */
            check(VIGIL_RESIZE_LETTERBOX, nchw, bgr, 40, 90, 64, 64); /* pad left and right */
            check(VIGIL_RESIZE_FIT32, nchw, bgr, 100, 70, 960, 960);
            check(VIGIL_RESIZE_HEIGHT, nchw, bgr, 120, 30, 100, 48);  /* padded on the right */
            check(VIGIL_RESIZE_HEIGHT, nchw, bgr, 400, 30, 100, 48);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prep_image_equals_the_per_pixel_sampler_in_every_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
