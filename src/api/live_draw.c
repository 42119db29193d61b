/* Boxes, labels, zones and lines drawn into a frame for `live.mjpeg?boxes=1`.
 *
 * Main idea: plain software drawing on the decoded RGB image (rectangles,
 * thick lines with a square brush, text from the built-in bitmap font of
 * live_font.c), then one JPEG encode. A 1280x720 frame costs a few
 * milliseconds, paid once per frame and camera whatever the number of
 * viewers (live_mjpeg.c). Every write is clipped to the image, so boxes
 * and shapes from the bus can be anything. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/live_int.h"

#define JPEG_QUALITY 80

static const unsigned char ZONE_RGB[3] = {255, 200, 0};
static const unsigned char LINE_RGB[3] = {0, 220, 255};
static const unsigned char BLACK[3] = {0, 0, 0};
static const unsigned char WHITE[3] = {255, 255, 255};
static const unsigned char PALETTE[8][3] = {
    {230, 25, 75}, {60, 180, 75}, {0, 130, 200}, {245, 130, 48},
    {145, 30, 180}, {70, 240, 240}, {240, 50, 230}, {210, 245, 60},
};

static void fill_rect(vigil_image_t *img, int x0, int y0, int x1, int y1,
                      const unsigned char rgb[3])
{
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > img->width) x1 = img->width;
    if (y1 > img->height) y1 = img->height;
    for (int y = y0; y < y1; y++) {
        unsigned char *p = img->data + (size_t)y * (size_t)img->stride + (size_t)x0 * 3;
        for (int x = x0; x < x1; x++, p += 3) p[0] = rgb[0], p[1] = rgb[1], p[2] = rgb[2];
    }
}

/* A rectangle's outline, t pixels thick, inside [x0, x1) x [y0, y1). */
static void outline(vigil_image_t *img, int x0, int y0, int x1, int y1, int t,
                    const unsigned char rgb[3])
{
    fill_rect(img, x0, y0, x1, y0 + t, rgb);
    fill_rect(img, x0, y1 - t, x1, y1, rgb);
    fill_rect(img, x0, y0, x0 + t, y1, rgb);
    fill_rect(img, x1 - t, y0, x1, y1, rgb);
}

/* A line from (x0, y0) to (x1, y1) with a t x t brush (Bresenham), clipped
 * to a margin around the image first so that huge coordinates cost nothing. */
static void line(vigil_image_t *img, double fx0, double fy0, double fx1, double fy1, int t,
                 const unsigned char rgb[3])
{
    double lim = 4.0 * (img->width + img->height);
    if (!isfinite(fx0) || !isfinite(fy0) || !isfinite(fx1) || !isfinite(fy1) ||
        fabs(fx0) > lim || fabs(fy0) > lim || fabs(fx1) > lim || fabs(fy1) > lim)
        return;
    int x0 = (int)lround(fx0), y0 = (int)lround(fy0), x1 = (int)lround(fx1), y1 = (int)lround(fy1);
    int dx = x1 > x0 ? x1 - x0 : x0 - x1, dy = y1 > y0 ? y0 - y1 : y1 - y0;
    int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, e = dx + dy;
    for (;;) {
        fill_rect(img, x0 - t / 2, y0 - t / 2, x0 - t / 2 + t, y0 - t / 2 + t, rgb);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * e;
        if (e2 >= dy) e += dy, x0 += sx;
        if (e2 <= dx) e += dx, y0 += sy;
    }
}

void vigil__live_draw_text(vigil_image_t *img, int x, int y, int scale, const char *text,
                           const unsigned char rgb[3])
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++, x += VIGIL__LIVE_FONT_W * scale) {
        int ch = *p >= 32 && *p < 127 ? *p : '?';
        const unsigned char *rows = vigil__live_font[ch - 32];
        if (x >= img->width) break;
        for (int r = 0; r < VIGIL__LIVE_FONT_H; r++)
            for (int col = 0; col < VIGIL__LIVE_FONT_W; col++)
                if (rows[r] & (0x80 >> col))
                    fill_rect(img, x + col * scale, y + r * scale, x + (col + 1) * scale,
                              y + (r + 1) * scale, rgb);
    }
}

/* Text on a filled background, its bottom-left at (x, y) (moved inside the
 * image when it would leave it). */
static void tag(vigil_image_t *img, int x, int y, int scale, const char *text,
                const unsigned char bg[3])
{
    int w = (int)strlen(text) * VIGIL__LIVE_FONT_W * scale + 4 * scale;
    int h = VIGIL__LIVE_FONT_H * scale + 2 * scale;
    int lum = (299 * bg[0] + 587 * bg[1] + 114 * bg[2]) / 1000;

    if (y - h < 0) y = h;
    if (y > img->height) y = img->height;
    if (x + w > img->width) x = img->width - w;
    if (x < 0) x = 0;
    fill_rect(img, x, y - h, x + w, y, bg);
    vigil__live_draw_text(img, x + 2 * scale, y - h + scale, scale, text, lum > 140 ? BLACK : WHITE);
}

static const unsigned char *label_color(const char *label)
{
    unsigned h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)label; *p; p++) h = (h ^ *p) * 16777619u;
    return PALETTE[h % 8];
}

void vigil__live_draw(vigil_image_t *img, const vigil__live_shape_t *shapes, size_t nshapes,
                      const vigil__live_dets_t *dets)
{
    int small = img->width < img->height ? img->width : img->height;
    int t = small / 240 > 2 ? small / 240 : 2;
    int scale = small / 400 > 1 ? small / 400 : 1;
    char text[96];

    if (img->fmt != VIGIL_PIX_RGB24 || img->width <= 0 || img->height <= 0) return;
    for (size_t i = 0; shapes && i < nshapes; i++) {
        const vigil__live_shape_t *s = &shapes[i];
        const unsigned char *rgb = s->is_line ? LINE_RGB : ZONE_RGB;
        size_t n = s->n <= VIGIL_POLYGON_MAX ? s->n : VIGIL_POLYGON_MAX;
        if (n < 2) continue;
        size_t segments = s->is_line ? 1 : n; /* a polygon is closed */
        for (size_t k = 0; k < segments; k++) {
            const vigil_point_t *a = &s->pts[k], *b = &s->pts[(k + 1) % n];
            line(img, a->x * img->width, a->y * img->height, b->x * img->width,
                 b->y * img->height, t, rgb);
        }
        if (s->is_line) {
            /* A and B mark the ends: "in" is from the left of A->B to its right */
            tag(img, (int)(s->pts[0].x * img->width), (int)(s->pts[0].y * img->height), scale,
                "A", rgb);
            tag(img, (int)(s->pts[1].x * img->width), (int)(s->pts[1].y * img->height), scale,
                "B", rgb);
        }
        snprintf(text, sizeof(text), "%s %s", s->is_line ? "line" : "zone", s->id);
        double cx = s->is_line ? (s->pts[0].x + s->pts[1].x) / 2 : s->pts[0].x;
        double cy = s->is_line ? (s->pts[0].y + s->pts[1].y) / 2 : s->pts[0].y;
        if (isfinite(cx) && isfinite(cy))
            tag(img, (int)(cx * img->width) + t, (int)(cy * img->height) - t, scale, text, rgb);
    }
    if (!dets || dets->width <= 0 || dets->height <= 0) return;
    double sx = (double)img->width / dets->width, sy = (double)img->height / dets->height;
    for (size_t i = 0; i < dets->n; i++) {
        const vigil__live_box_t *b = &dets->items[i];
        double x0 = b->x1 * sx, y0 = b->y1 * sy, x1 = b->x2 * sx, y1 = b->y2 * sy;
        if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1) || x1 <= x0 ||
            y1 <= y0 || x1 < 0 || y1 < 0 || x0 > img->width || y0 > img->height)
            continue;
        const unsigned char *rgb = label_color(b->label);
        int ix0 = x0 < 0 ? 0 : (int)x0, iy0 = y0 < 0 ? 0 : (int)y0;
        int ix1 = x1 > img->width ? img->width : (int)x1, iy1 = y1 > img->height ? img->height : (int)y1;
        outline(img, ix0, iy0, ix1, iy1, t, rgb);
        int pct = b->score >= 0 && b->score <= 1 ? (int)lround(b->score * 100) : 0;
        if (b->track_id)
            snprintf(text, sizeof(text), "%.40s %d%% #%llu", b->label, pct,
                     (unsigned long long)b->track_id);
        else
            snprintf(text, sizeof(text), "%.40s %d%%", b->label, pct);
        tag(img, ix0, iy0, scale, text, rgb);
    }
}

vigil__live_frame_t *vigil__live_annotate(const vigil__live_frame_t *frame,
                                          const vigil__live_shape_t *shapes, size_t nshapes,
                                          const vigil__live_dets_t *dets, int64_t max_pixels,
                                          char *errstr, size_t errstr_size)
{
    vigil_jpeg_t *codec = vigil_jpeg_new();
    vigil_image_t img = {0};
    vigil__live_frame_t *out = NULL;
    uint8_t *jpeg = NULL;
    size_t len = 0;

    if (!codec) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "out of memory");
        return NULL;
    }
    vigil_jpeg_set_max_pixels(codec, max_pixels); /* checked from the header, before decoding */
    if (vigil_jpeg_decode(codec, frame->jpeg, frame->len, VIGIL_PIX_RGB24, 1, &img, errstr,
                          errstr_size) != VIGIL_OK)
        goto done;
    vigil__live_draw(&img, shapes, nshapes, dets);
    if (vigil_jpeg_encode(codec, &img, JPEG_QUALITY, &jpeg, &len, errstr, errstr_size) !=
        VIGIL_OK)
        goto done;
    if (!(out = vigil__live_frame_new(len))) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    memcpy(out->jpeg, jpeg, len);
    out->sequence = frame->sequence;
    out->capture_us = frame->capture_us;
    out->width = img.width;
    out->height = img.height;
done:
    free(jpeg);
    vigil_image_release(&img);
    vigil_jpeg_free(codec);
    return out;
}
