/* JPEG coding (src/media/image.c): round trips, scaled decodes, damaged
 * input reported as VIGIL_ERR_DECODE, area-average resize. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "media_support.h"
#include "vigil/image.h"

/* An RGB pattern: smooth gradients, plus (noise = 1) pseudo-random detail so
 * that the JPEG has dense entropy data (where damage cannot go unnoticed). */
static void fill_pattern(vigil_image_t *img, int noise)
{
    uint32_t lcg = 12345;
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            uint8_t *p = img->data + (size_t)y * img->stride + (size_t)x * 3;
            int n = 0;
            if (noise) {
                lcg = lcg * 1103515245u + 12345u;
                n = (int)((lcg >> 16) % 64) - 32;
            }
            int v[3] = {x * 255 / img->width + n, y * 255 / img->height - n,
                        (x + y) * 255 / (img->width + img->height) + n};
            for (int c = 0; c < 3; c++) p[c] = (uint8_t)(v[c] < 0 ? 0 : v[c] > 255 ? 255 : v[c]);
        }
}

static double mean_abs_diff(const vigil_image_t *a, const vigil_image_t *b)
{
    double sum = 0;
    int bpp = a->fmt == VIGIL_PIX_RGB24 ? 3 : 1;
    for (int y = 0; y < a->height; y++)
        for (int x = 0; x < a->width * bpp; x++)
            sum += abs((int)a->data[(size_t)y * a->stride + x] -
                       (int)b->data[(size_t)y * b->stride + x]);
    return sum / ((double)a->width * a->height * bpp);
}

static void encode_pattern(vigil_jpeg_t *codec, int w, int h, int noise, uint8_t **jpeg,
                           size_t *len, vigil_image_t *src)
{
    char err[256] = "";
    assert_int_equal(vigil_image_alloc(src, w, h, VIGIL_PIX_RGB24), VIGIL_OK);
    fill_pattern(src, noise);
    assert_int_equal(vigil_jpeg_encode(codec, src, 90, jpeg, len, err, sizeof(err)), VIGIL_OK);
    assert_true(*len > 500);
}

static void test_jpeg_round_trip_keeps_pixels_and_dimensions(void **state)
{
    (void)state;
    vigil_jpeg_t *codec = vigil_jpeg_new();
    vigil_image_t src = {0}, out = {0};
    uint8_t *jpeg = NULL;
    size_t len = 0;
    char err[256] = "";
    int w = 0, h = 0;
    encode_pattern(codec, 320, 240, 0, &jpeg, &len, &src);
    assert_int_equal(jpeg[0], 0xff);
    assert_int_equal(jpeg[1], 0xd8);
    assert_int_equal(vigil_jpeg_header(codec, jpeg, len, &w, &h, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(w, 320);
    assert_int_equal(h, 240);
    assert_int_equal(vigil_jpeg_decode(codec, jpeg, len, VIGIL_PIX_RGB24, 1, &out, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(out.width, 320);
    assert_int_equal(out.height, 240);
    double d = mean_abs_diff(&src, &out);
    print_message("round trip mean abs diff %.2f\n", d);
    assert_true(d < 3.0);

    /* Decoding again reuses the image. */
    uint8_t *before = out.data;
    assert_int_equal(vigil_jpeg_decode(codec, jpeg, len, VIGIL_PIX_RGB24, 1, &out, err, sizeof(err)),
                     VIGIL_OK);
    assert_ptr_equal(out.data, before);

    /* Gray decode of the same JPEG and a gray round trip. */
    vigil_image_t gray = {0}, gray2 = {0};
    uint8_t *gj = NULL;
    size_t glen = 0;
    assert_int_equal(vigil_jpeg_decode(codec, jpeg, len, VIGIL_PIX_GRAY8, 1, &gray, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(gray.stride, 320);
    assert_int_equal(vigil_jpeg_encode(codec, &gray, 95, &gj, &glen, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil_jpeg_decode(codec, gj, glen, VIGIL_PIX_GRAY8, 1, &gray2, err, sizeof(err)),
                     VIGIL_OK);
    assert_true(mean_abs_diff(&gray, &gray2) < 3.0);

    free(gj);
    free(jpeg);
    vigil_image_release(&gray);
    vigil_image_release(&gray2);
    vigil_image_release(&src);
    vigil_image_release(&out);
    vigil_jpeg_free(codec);
}

static void test_jpeg_scaled_decode_divides_dimensions(void **state)
{
    (void)state;
    char path[1024], err[256] = "";
    size_t len = 0;
    if (media_path("dog.jpg", path, sizeof(path)) != 0) skip();
    uint8_t *jpeg = media_read_file(path, &len);
    assert_non_null(jpeg);
    vigil_jpeg_t *codec = vigil_jpeg_new();
    vigil_image_t full = {0}, img = {0};
    int w = 0, h = 0;
    assert_int_equal(vigil_jpeg_header(codec, jpeg, len, &w, &h, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(w, 768);
    assert_int_equal(h, 576);
    assert_int_equal(vigil_jpeg_decode(codec, jpeg, len, VIGIL_PIX_GRAY8, 1, &full, err, sizeof(err)),
                     VIGIL_OK);
    int denoms[] = {2, 4, 8};
    for (int i = 0; i < 3; i++) {
        int d = denoms[i];
        assert_int_equal(vigil_jpeg_decode(codec, jpeg, len, VIGIL_PIX_GRAY8, d, &img, err,
                                           sizeof(err)),
                         VIGIL_OK);
        assert_int_equal(img.width, (w + d - 1) / d);
        assert_int_equal(img.height, (h + d - 1) / d);
        /* The scaled picture is the full one, smaller: compare with an area average. */
        vigil_image_t ref = {0};
        assert_int_equal(vigil_image_gray_resize(&full, img.width, img.height, &ref), VIGIL_OK);
        assert_true(mean_abs_diff(&ref, &img) < 8.0);
        vigil_image_release(&ref);
    }
    assert_int_equal(vigil_jpeg_decode(codec, jpeg, len, VIGIL_PIX_GRAY8, 3, &img, err, sizeof(err)),
                     VIGIL_ERR_INVALID);
    assert_non_null(strstr(err, "3"));
    free(jpeg);
    vigil_image_release(&full);
    vigil_image_release(&img);
    vigil_jpeg_free(codec);
}

/* Offset of the first byte of entropy-coded data (after the SOS header). */
static size_t scan_start(const uint8_t *jpeg, size_t len)
{
    for (size_t i = 2; i + 4 < len; i++)
        if (jpeg[i] == 0xff && jpeg[i + 1] == 0xda) return i + 2 + ((size_t)jpeg[i + 2] << 8 | jpeg[i + 3]);
    return 0;
}

static void check_damage_rejected(vigil_jpeg_t *codec, const uint8_t *jpeg, size_t len)
{
    char err[256] = "";
    vigil_image_t img = {0};
    size_t start = scan_start(jpeg, len);
    assert_true(start > 0 && start < len / 2);

    /* Flipped bytes in the middle of the entropy data. */
    uint8_t *bad = malloc(len);
    memcpy(bad, jpeg, len);
    size_t mid = start + (len - start) / 2;
    for (size_t i = mid; i < mid + 64; i++) bad[i] ^= 0xa5;
    assert_int_equal(vigil_jpeg_decode(codec, bad, len, VIGIL_PIX_RGB24, 1, &img, err, sizeof(err)),
                     VIGIL_ERR_DECODE);
    assert_true(strlen(err) > 0);

    /* Truncated to half: libjpeg-turbo would fill the rest with grey and call it a warning. */
    err[0] = 0;
    assert_int_equal(vigil_jpeg_decode(codec, jpeg, len / 2, VIGIL_PIX_RGB24, 1, &img, err,
                                       sizeof(err)),
                     VIGIL_ERR_DECODE);
    assert_non_null(strstr(err, "jpeg decode"));
    err[0] = 0;
    assert_int_equal(vigil_jpeg_decode(codec, jpeg, len / 2, VIGIL_PIX_GRAY8, 4, &img, err,
                                       sizeof(err)),
                     VIGIL_ERR_DECODE);

    /* Not a JPEG at all. */
    memset(bad, 0x5a, 100);
    assert_int_equal(vigil_jpeg_decode(codec, bad, 100, VIGIL_PIX_RGB24, 1, &img, err, sizeof(err)),
                     VIGIL_ERR_DECODE);
    free(bad);
    vigil_image_release(&img);
}

static void test_jpeg_damaged_data_is_a_decode_error(void **state)
{
    (void)state;
    vigil_jpeg_t *codec = vigil_jpeg_new();
    vigil_image_t src = {0};
    uint8_t *jpeg = NULL;
    size_t len = 0;
    encode_pattern(codec, 640, 480, 1, &jpeg, &len, &src);
    check_damage_rejected(codec, jpeg, len);
    free(jpeg);
    vigil_image_release(&src);

    char path[1024];
    if (media_path("dog.jpg", path, sizeof(path)) == 0) {
        uint8_t *dog = media_read_file(path, &len);
        assert_non_null(dog);
        check_damage_rejected(codec, dog, len);
        free(dog);
    }
    vigil_jpeg_free(codec);
}

static void test_jpeg_encode_yuv420_planes_keep_luma(void **state)
{
    (void)state;
    enum { W = 97, H = 61 }; /* odd sizes: chroma planes are rounded up */
    int cw = (W + 1) / 2, ch = (H + 1) / 2;
    uint8_t *y = malloc(W * H), *u = malloc((size_t)cw * ch), *v = malloc((size_t)cw * ch);
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) y[i * W + j] = (uint8_t)(j < W / 2 ? 60 : 190);
    memset(u, 128, (size_t)cw * ch);
    memset(v, 128, (size_t)cw * ch);
    const uint8_t *const planes[3] = {y, u, v};
    const int strides[3] = {W, cw, cw};
    vigil_jpeg_t *codec = vigil_jpeg_new();
    uint8_t *jpeg = NULL;
    size_t len = 0;
    char err[256] = "";
    assert_int_equal(vigil_jpeg_encode_yuv420(codec, planes, strides, W, H, 90, &jpeg, &len, err,
                                              sizeof(err)),
                     VIGIL_OK);
    vigil_image_t gray = {0};
    assert_int_equal(vigil_jpeg_decode(codec, jpeg, len, VIGIL_PIX_GRAY8, 1, &gray, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(gray.width, W);
    assert_int_equal(gray.height, H);
    assert_true(abs(gray.data[10 * gray.stride + 5] - 60) <= 3);
    assert_true(abs(gray.data[50 * gray.stride + 90] - 190) <= 3);

    /* Even, but not a multiple of the 16x16 MCU: exact-size planes suffice. */
    free(jpeg);
    jpeg = NULL;
    uint8_t *y2 = calloc(98 * 62, 1), *c2 = calloc(49 * 31, 1);
    const uint8_t *const planes2[3] = {y2, c2, c2};
    const int strides2[3] = {98, 49, 49};
    assert_int_equal(vigil_jpeg_encode_yuv420(codec, planes2, strides2, 98, 62, 80, &jpeg, &len,
                                              err, sizeof(err)),
                     VIGIL_OK);
    free(y2);
    free(c2);

    assert_int_equal(vigil_jpeg_encode_yuv420(codec, planes, strides, W, H, 0, &jpeg, &len, err,
                                              sizeof(err)),
                     VIGIL_ERR_INVALID);
    assert_non_null(strstr(err, "quality 0"));
    free(jpeg);
    free(y);
    free(u);
    free(v);
    vigil_image_release(&gray);
    vigil_jpeg_free(codec);
}

static void test_gray_resize_averages_areas(void **state)
{
    (void)state;
    vigil_image_t src = {0}, dst = {0};
    assert_int_equal(vigil_image_alloc(&src, 4, 4, VIGIL_PIX_GRAY8), VIGIL_OK);
    /* Four 2x2 blocks: {0,10,20,30}, {100,...}, ... */
    const uint8_t px[16] = {0, 10, 100, 110, 20, 30, 120, 130, 200, 200, 50, 51, 200, 200, 52, 53};
    memcpy(src.data, px, 16);
    assert_int_equal(vigil_image_gray_resize(&src, 2, 2, &dst), VIGIL_OK);
    assert_int_equal(dst.width, 2);
    assert_int_equal(dst.height, 2);
    assert_int_equal(dst.data[0], 15);  /* (0+10+20+30)/4 */
    assert_int_equal(dst.data[1], 115); /* (100+110+120+130)/4 */
    assert_int_equal(dst.data[dst.stride], 200);
    assert_int_equal(dst.data[dst.stride + 1], 52); /* 206/4 = 51.5, rounded */
    assert_int_equal(vigil_image_gray_resize(&src, 1, 1, &dst), VIGIL_OK);
    assert_int_equal(dst.data[0], (0 + 10 + 100 + 110 + 20 + 30 + 120 + 130 + 200 * 4 + 50 + 51 +
                                   52 + 53 + 8) / 16);
    /* Upscaling repeats pixels. */
    assert_int_equal(vigil_image_gray_resize(&src, 8, 8, &dst), VIGIL_OK);
    assert_int_equal(dst.data[0], 0);
    assert_int_equal(dst.data[1], 0);
    assert_int_equal(dst.data[2], 10);
    vigil_image_t rgb = {0};
    assert_int_equal(vigil_image_alloc(&rgb, 4, 4, VIGIL_PIX_RGB24), VIGIL_OK);
    assert_int_equal(vigil_image_gray_resize(&rgb, 2, 2, &dst), VIGIL_ERR_INVALID);
    vigil_image_release(&rgb);
    vigil_image_release(&src);
    vigil_image_release(&dst);
}

/* A copy of jpeg whose frame header (SOF) says w x h. */
static uint8_t *with_header_size(const uint8_t *jpeg, size_t len, int w, int h)
{
    uint8_t *out = malloc(len);
    assert_non_null(out);
    memcpy(out, jpeg, len);
    for (size_t i = 2; i + 9 < len; i++)
        if (out[i] == 0xff && out[i + 1] >= 0xc0 && out[i + 1] <= 0xc2) {
            out[i + 5] = (uint8_t)(h >> 8);
            out[i + 6] = (uint8_t)h;
            out[i + 7] = (uint8_t)(w >> 8);
            out[i + 8] = (uint8_t)w;
            return out;
        }
    fail_msg("no SOF marker");
    return NULL;
}

static void test_jpeg_header_over_the_pixel_limit_is_refused_before_allocating(void **state)
{
    vigil_jpeg_t *codec = vigil_jpeg_new();
    uint8_t *jpeg = NULL;
    size_t len = 0;
    char err[256];
    vigil_image_t src = {0};
    encode_pattern(codec, 64, 48, 0, &jpeg, &len, &src);
    vigil_image_release(&src);
    uint8_t *bomb = with_header_size(jpeg, len, 65500, 65500);
    vigil_image_t img = {0};
    /* 65500 x 65500 is over the default limit (16384 x 16384) */
    assert_int_equal(vigil_jpeg_decode(codec, bomb, len, VIGIL_PIX_RGB24, 1, &img, err, sizeof err),
                     VIGIL_ERR_TOO_LARGE);
    assert_non_null(strstr(err, "jpeg of 65500x65500 is 4290250000 pixels, more than the limit"));
    assert_null(img.data); /* nothing allocated */
    /* a set limit: 64 x 48 = 3072 pixels fit 3072, not 3071 */
    vigil_jpeg_set_max_pixels(codec, 3071);
    assert_int_equal(vigil_jpeg_decode(codec, jpeg, len, VIGIL_PIX_GRAY8, 1, &img, err, sizeof err),
                     VIGIL_ERR_TOO_LARGE);
    assert_int_equal(vigil_jpeg_check(codec, jpeg, len, 64, 48, err, sizeof err),
                     VIGIL_ERR_TOO_LARGE);
    vigil_jpeg_set_max_pixels(codec, 3072);
    assert_int_equal(vigil_jpeg_check(codec, jpeg, len, 64, 48, err, sizeof err), VIGIL_OK);
    assert_int_equal(vigil_jpeg_decode(codec, jpeg, len, VIGIL_PIX_GRAY8, 1, &img, err, sizeof err),
                     VIGIL_OK);
    /* the header must say what the message says */
    assert_int_equal(vigil_jpeg_check(codec, bomb, len, 64, 48, err, sizeof err),
                     VIGIL_ERR_INVALID);
    assert_string_equal(err, "jpeg header says 65500x65500, the message says 64x48");
    assert_int_equal(vigil_jpeg_check(codec, jpeg, 10, 64, 48, err, sizeof err),
                     VIGIL_ERR_DECODE);
    vigil_image_release(&img);
    free(bomb);
    free(jpeg);
    vigil_jpeg_free(codec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jpeg_round_trip_keeps_pixels_and_dimensions),
        cmocka_unit_test(test_jpeg_scaled_decode_divides_dimensions),
        cmocka_unit_test(test_jpeg_damaged_data_is_a_decode_error),
        cmocka_unit_test(test_jpeg_encode_yuv420_planes_keep_luma),
        cmocka_unit_test(test_gray_resize_averages_areas),
        cmocka_unit_test(test_jpeg_header_over_the_pixel_limit_is_refused_before_allocating),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
