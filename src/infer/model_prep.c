/* Frame -> input tensor (see model_prep.h for the conventions).
 *
 * Main idea: one pass over the destination; each pixel samples the frame
 * bilinearly (or takes the pad value outside the placed image), then is
 * normalised and written at its layout position. No intermediate image.
 *
 * Thread: reentrant. */
#include <math.h>
#include <string.h>

#include "infer/model_prep.h"

void vigil__prep_size(const vigil__model_entry_t *e, int w, int h, int max_w, int *dst_w,
                      int *dst_h)
{
    *dst_w = e->width;
    *dst_h = e->height;
    if (e->resize == VIGIL_RESIZE_FIT32) {
        float r = 1.0f;
        int side = w > h ? w : h;
        if (side > e->max_side) r = (float)e->max_side / (float)side;
        int rw = (int)lroundf((float)w * r / 32.0f) * 32, rh = (int)lroundf((float)h * r / 32.0f) * 32;
        *dst_w = rw < 32 ? 32 : rw;
        *dst_h = rh < 32 ? 32 : rh;
    } else if (e->resize == VIGIL_RESIZE_HEIGHT) {
        int want = (int)ceilf((float)e->height * (float)w / (float)(h > 0 ? h : 1));
        if (want > *dst_w) *dst_w = want;
        if (max_w > 0 && *dst_w > max_w) *dst_w = max_w;
    }
}

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

void vigil__prep_image(const vigil__model_entry_t *e, const vigil_image_t *img, int dst_w,
                       int dst_h, float *out, vigil__geom_t *g)
{
    int tf_legacy = 0;
    int rw = dst_w, rh = dst_h; /* the placed image inside the input */
    switch (e->resize) {
    case VIGIL_RESIZE_STRETCH:
        tf_legacy = 1;
        /* fallthrough */
    case VIGIL_RESIZE_FIT32:
        vigil__geom_stretch(g, img->width, img->height, dst_w, dst_h);
        break;
    case VIGIL_RESIZE_LETTERBOX:
        vigil__geom_letterbox(g, img->width, img->height, dst_w, dst_h);
        rw = (int)lroundf((float)img->width * g->sx);
        rh = (int)lroundf((float)img->height * g->sy);
        break;
    case VIGIL_RESIZE_HEIGHT: {
        /* height fixed, width by aspect, left-aligned, padded on the right */
        int want = (int)ceilf((float)dst_h * (float)img->width / (float)img->height);
        rw = want < dst_w ? want : dst_w;
        if (rw < 1) rw = 1;
        vigil__geom_stretch(g, img->width, img->height, rw, dst_h);
        g->dst_w = dst_w;
        break;
    }
    }
    /* scale from placed-image pixels to frame pixels */
    float kx = (float)img->width / (float)rw, ky = (float)img->height / (float)rh;
    int px = (int)g->pad_x, py = (int)g->pad_y;
    size_t plane = (size_t)dst_w * dst_h;
    /* per output column, once: its source columns and weight, the same
     * arithmetic as sample() per pixel (so the same values); a column off
     * the placed image has x0 = -1. Per row: the two source rows. The old
     * per-pixel sample() with its floor and clamps cost ~9 ms a CenterNet
     * frame at 512x512 (issue 10, item 6). */
    enum { COLS_MAX = 8192 };
    int xo0[COLS_MAX], xo1[COLS_MAX];
    float axs[COLS_MAX];
    if (dst_w > COLS_MAX) { /* never for registry entries: per pixel */
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
                    size_t at = e->nchw ? (size_t)c * plane + (size_t)y * dst_w + x
                                        : ((size_t)y * dst_w + x) * 3 + (size_t)c;
                    out[at] = v;
                }
            }
        }
        return;
    }
    int wm = img->width - 1, hm = img->height - 1;
    for (int x = 0; x < dst_w; x++) {
        int ix = x - px;
        if (ix < 0 || ix >= rw) {
            xo0[x] = -1;
            continue;
        }
        float fx = tf_legacy ? (float)ix * kx : ((float)ix + 0.5f) * kx - 0.5f;
        int x0 = (int)floorf(fx), x1 = x0 + 1;
        axs[x] = fx - (float)x0;
        x0 = x0 < 0 ? 0 : x0 > wm ? wm : x0;
        x1 = x1 < 0 ? 0 : x1 > wm ? wm : x1;
        xo0[x] = x0 * 3;
        xo1[x] = x1 * 3;
    }
    float padv[3];
    int src_c[3];
    for (int c = 0; c < 3; c++) {
        padv[c] = (e->pad * e->scale - e->mean[c]) / e->std[c];
        src_c[c] = e->bgr ? 2 - c : c;
    }
    for (int y = 0; y < dst_h; y++) {
        int iy = y - py;
        int row_in = iy >= 0 && iy < rh;
        const uint8_t *r0 = NULL, *r1 = NULL;
        float ay = 0;
        if (row_in) {
            float fy = tf_legacy ? (float)iy * ky : ((float)iy + 0.5f) * ky - 0.5f;
            int y0 = (int)floorf(fy), y1 = y0 + 1;
            ay = fy - (float)y0;
            y0 = y0 < 0 ? 0 : y0 > hm ? hm : y0;
            y1 = y1 < 0 ? 0 : y1 > hm ? hm : y1;
            r0 = img->data + (size_t)y0 * img->stride;
            r1 = img->data + (size_t)y1 * img->stride;
        }
        float *row = e->nchw ? out + (size_t)y * dst_w : out + (size_t)y * dst_w * 3;
        for (int x = 0; x < dst_w; x++) {
            float v3[3];
            if (row_in && xo0[x] >= 0) {
                int a = xo0[x], b = xo1[x];
                float ax = axs[x];
                for (int c = 0; c < 3; c++) {
                    int sc = src_c[c];
                    float top = r0[a + sc] + ax * (float)(r0[b + sc] - r0[a + sc]);
                    float bot = r1[a + sc] + ax * (float)(r1[b + sc] - r1[a + sc]);
                    float v = top + ay * (bot - top);
                    v3[c] = (v * e->scale - e->mean[c]) / e->std[c];
                }
            } else {
                v3[0] = padv[0], v3[1] = padv[1], v3[2] = padv[2];
            }
            if (e->nchw) {
                row[x] = v3[0];
                row[plane + x] = v3[1];
                row[2 * plane + x] = v3[2];
            } else {
                row[x * 3] = v3[0];
                row[x * 3 + 1] = v3[1];
                row[x * 3 + 2] = v3[2];
            }
        }
    }
}
