/* Images in memory and JPEG coding through libjpeg-turbo's TurboJPEG API.
 *
 * Main idea: keep every JPEG operation one TurboJPEG call with the right
 * flags, and do not let a damaged frame pass as a good one. libjpeg-turbo
 * reports truncated or corrupt entropy data as a *warning* and still fills
 * the output buffer (grey or smeared rows); we decode with
 * TJFLAG_STOPONWARNING and treat any -1 return, warning or error, as
 * VIGIL_ERR_DECODE. (Huffman codes can resynchronise after a few flipped
 * bits, so damage the decoder cannot see still decodes: JPEG has no checksum.)
 *
 * Encoding from FFmpeg's planar YUV 4:2:0 goes straight into the JPEG
 * (tjCompressFromYUVPlanes): no RGB round trip on the ingest hot path.
 *
 * Thread: a vigil_jpeg_t holds two TurboJPEG handles and is used by one
 * thread at a time; images are plain values. */
#include <stdlib.h>
#include <string.h>

#include <turbojpeg.h>

#include "vigil/image.h"

struct vigil_jpeg {
    tjhandle dec; /* created lazily: a worker that only encodes needs no decoder */
    tjhandle enc;
    int64_t max_pixels; /* decode refuses larger headers (0: VIGIL_JPEG_MAX_PIXELS) */
};

/* Progressive JPEGs may hold thousands of scans, each a pass over the whole
 * image: libjpeg-turbo can stop at 500 (a CPU bound, as the pixel limit is a
 * memory bound). */
#ifdef TJFLAG_LIMITSCANS
#define DECODE_FLAGS (TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS)
#else
#define DECODE_FLAGS TJFLAG_STOPONWARNING
#endif

static int bytes_per_pixel(vigil_pixfmt_t fmt)
{
    return fmt == VIGIL_PIX_RGB24 ? 3 : fmt == VIGIL_PIX_GRAY8 ? 1 : 0;
}

vigil_err_t vigil_image_alloc(vigil_image_t *img, int width, int height, vigil_pixfmt_t fmt)
{
    int bpp = bytes_per_pixel(fmt);
    if (!img || width <= 0 || height <= 0 || bpp == 0) return VIGIL_ERR_INVALID;
    size_t n = (size_t)width * (size_t)height * (size_t)bpp;
    uint8_t *data = malloc(n);
    if (!data) return VIGIL_ERR_NOMEM;
    img->data = data;
    img->width = width;
    img->height = height;
    img->stride = width * bpp;
    img->fmt = fmt;
    img->owned = 1;
    return VIGIL_OK;
}

void vigil_image_release(vigil_image_t *img)
{
    if (!img) return;
    if (img->owned) free(img->data);
    memset(img, 0, sizeof(*img));
}

/* Makes img hold exactly w x h of fmt, reusing its buffer when it is owned
 * and large enough (so a worker decoding frame after frame allocates once). */
static vigil_err_t image_reserve(vigil_image_t *img, int width, int height, vigil_pixfmt_t fmt)
{
    int bpp = bytes_per_pixel(fmt);
    if (img->owned && img->data && img->stride > 0 && img->height > 0 &&
        (size_t)img->stride * (size_t)img->height >= (size_t)width * height * bpp) {
        img->width = width;
        img->height = height;
        img->stride = width * bpp;
        img->fmt = fmt;
        return VIGIL_OK;
    }
    vigil_image_release(img);
    return vigil_image_alloc(img, width, height, fmt);
}

vigil_jpeg_t *vigil_jpeg_new(void)
{
    return calloc(1, sizeof(vigil_jpeg_t));
}

void vigil_jpeg_set_max_pixels(vigil_jpeg_t *codec, int64_t max_pixels)
{
    if (codec) codec->max_pixels = max_pixels > 0 ? max_pixels : 0;
}

static int64_t max_pixels(const vigil_jpeg_t *codec)
{
    return codec->max_pixels > 0 ? codec->max_pixels : VIGIL_JPEG_MAX_PIXELS;
}

static vigil_err_t too_large(const vigil_jpeg_t *codec, int w, int h, char *errstr,
                             size_t errstr_size)
{
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_TOO_LARGE,
                        "jpeg of %dx%d is %lld pixels, more than the limit of %lld "
                        "(limits.max_frame_pixels)",
                        w, h, (long long)w * h, (long long)max_pixels(codec));
}

vigil_err_t vigil_jpeg_check(vigil_jpeg_t *codec, const void *jpeg, size_t len, int width,
                             int height, char *errstr, size_t errstr_size)
{
    int w = 0, h = 0;
    vigil_err_t err = vigil_jpeg_header(codec, jpeg, len, &w, &h, errstr, errstr_size);
    if (err) return err;
    if (w != width || h != height)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "jpeg header says %dx%d, the message says %dx%d", w, h, width,
                            height);
    if ((int64_t)w * h > max_pixels(codec)) return too_large(codec, w, h, errstr, errstr_size);
    return VIGIL_OK;
}

void vigil_jpeg_free(vigil_jpeg_t *codec)
{
    if (!codec) return;
    if (codec->dec) tjDestroy(codec->dec);
    if (codec->enc) tjDestroy(codec->enc);
    free(codec);
}

static vigil_err_t get_dec(vigil_jpeg_t *codec, char *errstr, size_t errstr_size)
{
    if (!codec->dec && !(codec->dec = tjInitDecompress()))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "cannot create jpeg decoder: %s",
                            tjGetErrorStr2(NULL));
    return VIGIL_OK;
}

/* libjpeg-turbo 2.1 leaves a decompressor that stopped on an error in a
 * state where the next header read fails ("missing SOS marker"); a fresh
 * handle is the documented-safe way on, so drop it after any failure. */
static void reset_dec(vigil_jpeg_t *codec)
{
    tjDestroy(codec->dec);
    codec->dec = NULL;
}

static vigil_err_t get_enc(vigil_jpeg_t *codec, char *errstr, size_t errstr_size)
{
    if (!codec->enc && !(codec->enc = tjInitCompress()))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "cannot create jpeg encoder: %s",
                            tjGetErrorStr2(NULL));
    return VIGIL_OK;
}

vigil_err_t vigil_jpeg_header(vigil_jpeg_t *codec, const void *jpeg, size_t len, int *width,
                              int *height, char *errstr, size_t errstr_size)
{
    vigil_err_t err;
    int w = 0, h = 0, subsamp = 0, colorspace = 0;
    if (!codec || !jpeg || len == 0 || len > (size_t)0xffffffffu)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "jpeg header: empty input");
    if ((err = get_dec(codec, errstr, errstr_size)) != VIGIL_OK) return err;
    if (tjDecompressHeader3(codec->dec, jpeg, (unsigned long)len, &w, &h, &subsamp, &colorspace) !=
            0 ||
        w <= 0 || h <= 0) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE, "jpeg header (%zu bytes): %s", len,
                     tjGetErrorStr2(codec->dec));
        reset_dec(codec);
        return VIGIL_ERR_DECODE;
    }
    if (width) *width = w;
    if (height) *height = h;
    return VIGIL_OK;
}

vigil_err_t vigil_jpeg_decode(vigil_jpeg_t *codec, const void *jpeg, size_t len,
                              vigil_pixfmt_t fmt, int scale_denom, vigil_image_t *img,
                              char *errstr, size_t errstr_size)
{
    vigil_err_t err;
    int w, h;
    if (!img || bytes_per_pixel(fmt) == 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "jpeg decode: unsupported pixel format %d", (int)fmt);
    if (scale_denom != 1 && scale_denom != 2 && scale_denom != 4 && scale_denom != 8)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "jpeg decode: scale_denom %d (accepted: 1, 2, 4, 8)", scale_denom);
    if ((err = vigil_jpeg_header(codec, jpeg, len, &w, &h, errstr, errstr_size)) != VIGIL_OK)
        return err;
    if ((int64_t)w * h > max_pixels(codec)) return too_large(codec, w, h, errstr, errstr_size);

    tjscalingfactor sf = {1, scale_denom};
    int sw = TJSCALED(w, sf), sh = TJSCALED(h, sf);
    if ((err = image_reserve(img, sw, sh, fmt)) != VIGIL_OK)
        return vigil_seterr(errstr, errstr_size, err, "jpeg decode: cannot allocate %dx%d", sw,
                            sh);

    /* A scaled decode is for motion scoring: speed over the last bit of
     * accuracy. Full-size decodes keep the accurate IDCT. */
    int flags = DECODE_FLAGS;
    if (scale_denom > 1) flags |= TJFLAG_FASTDCT | TJFLAG_FASTUPSAMPLE;
    int pf = fmt == VIGIL_PIX_RGB24 ? TJPF_RGB : TJPF_GRAY;
    if (tjDecompress2(codec->dec, jpeg, (unsigned long)len, img->data, sw, img->stride, sh, pf,
                      flags) != 0) {
        /* Warnings (premature end of data, corrupt entropy data) are errors
         * here too: the pixels after the damage are not the camera's. */
        int code = tjGetErrorCode(codec->dec);
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE, "jpeg decode (%zu bytes): %s%s", len,
                     tjGetErrorStr2(codec->dec), code == TJERR_WARNING ? " (corrupt data)" : "");
        reset_dec(codec);
        return VIGIL_ERR_DECODE;
    }
    return VIGIL_OK;
}

/* Compresses into a malloc'd buffer of the worst-case size, then trims it,
 * so the caller frees with free() and never sees TurboJPEG's allocator. */
static vigil_err_t alloc_out(int width, int height, int subsamp, uint8_t **buf,
                             unsigned long *cap)
{
    unsigned long n = tjBufSize(width, height, subsamp);
    if (n == (unsigned long)-1 || n == 0) return VIGIL_ERR_INVALID;
    *buf = malloc(n);
    if (!*buf) return VIGIL_ERR_NOMEM;
    *cap = n;
    return VIGIL_OK;
}

static void trim_out(uint8_t **buf, unsigned long len)
{
    uint8_t *p = realloc(*buf, len ? len : 1);
    if (p) *buf = p;
}

vigil_err_t vigil_jpeg_encode(vigil_jpeg_t *codec, const vigil_image_t *img, int quality,
                              uint8_t **out, size_t *out_len, char *errstr, size_t errstr_size)
{
    vigil_err_t err;
    uint8_t *buf = NULL;
    unsigned long cap = 0;
    if (!codec || !img || !img->data || img->width <= 0 || img->height <= 0 || !out || !out_len ||
        bytes_per_pixel(img->fmt) == 0) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "jpeg encode: invalid image");
        goto fail;
    }
    if (quality < 1 || quality > 100) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                           "jpeg encode: quality %d (accepted: 1..100)", quality);
        goto fail;
    }
    if ((err = get_enc(codec, errstr, errstr_size)) != VIGIL_OK) goto fail;
    int gray = img->fmt == VIGIL_PIX_GRAY8;
    int subsamp = gray ? TJSAMP_GRAY : TJSAMP_420;
    if ((err = alloc_out(img->width, img->height, subsamp, &buf, &cap)) != VIGIL_OK) {
        vigil_seterr(errstr, errstr_size, err, "jpeg encode: cannot allocate output for %dx%d",
                     img->width, img->height);
        goto fail;
    }
    if (tjCompress2(codec->enc, img->data, img->width, img->stride, img->height,
                    gray ? TJPF_GRAY : TJPF_RGB, &buf, &cap, subsamp, quality,
                    TJFLAG_NOREALLOC) != 0) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "jpeg encode %dx%d: %s",
                           img->width, img->height, tjGetErrorStr2(codec->enc));
        goto fail;
    }
    trim_out(&buf, cap);
    *out = buf;
    *out_len = cap;
    return VIGIL_OK;
fail:
    free(buf);
    return err;
}

vigil_err_t vigil_jpeg_encode_yuv420(vigil_jpeg_t *codec, const uint8_t *const planes[3],
                                     const int strides[3], int width, int height, int quality,
                                     uint8_t **out, size_t *out_len, char *errstr,
                                     size_t errstr_size)
{
    vigil_err_t err;
    uint8_t *buf = NULL, *luma = NULL;
    unsigned long cap = 0;
    if (!codec || !planes || !planes[0] || !planes[1] || !planes[2] || !strides || width <= 0 ||
        height <= 0 || !out || !out_len) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "jpeg encode: invalid planes");
        goto fail;
    }
    if (quality < 1 || quality > 100) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                           "jpeg encode: quality %d (accepted: 1..100)", quality);
        goto fail;
    }
    if ((err = get_enc(codec, errstr, errstr_size)) != VIGIL_OK) goto fail;
    if ((err = alloc_out(width, height, TJSAMP_420, &buf, &cap)) != VIGIL_OK) {
        vigil_seterr(errstr, errstr_size, err, "jpeg encode: cannot allocate output for %dx%d",
                     width, height);
        goto fail;
    }
    const unsigned char *src[3] = {planes[0], planes[1], planes[2]};
    int st[3] = {strides[0], strides[1], strides[2]};
    if ((width | height) & 1) {
        /* TurboJPEG reads the luma plane padded to even dimensions (one
         * more column and row than an odd frame has); FFmpeg's buffers have
         * that slack, a caller's exact planes may not. Copy with the last
         * column and row repeated. The chroma planes are (w+1)/2 x (h+1)/2
         * either way. */
        int pw = (width + 1) & ~1, ph = (height + 1) & ~1;
        if (!(luma = malloc((size_t)pw * ph))) {
            err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM,
                               "jpeg encode: cannot allocate %dx%d", pw, ph);
            goto fail;
        }
        for (int y = 0; y < ph; y++) {
            const uint8_t *row = planes[0] + (size_t)(y < height ? y : height - 1) * strides[0];
            memcpy(luma + (size_t)y * pw, row, (size_t)width);
            if (pw > width) luma[(size_t)y * pw + width] = row[width - 1];
        }
        src[0] = luma;
        st[0] = pw;
    }
    if (tjCompressFromYUVPlanes(codec->enc, src, width, st, height, TJSAMP_420, &buf, &cap,
                                quality, TJFLAG_NOREALLOC) != 0) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "jpeg encode yuv420 %dx%d: %s",
                           width, height, tjGetErrorStr2(codec->enc));
        goto fail;
    }
    trim_out(&buf, cap);
    free(luma);
    *out = buf;
    *out_len = cap;
    return VIGIL_OK;
fail:
    free(luma);
    free(buf);
    return err;
}

/* Each destination pixel is the mean of the source rectangle it covers
 * (integer edges, at least one source pixel), computed with column sums so
 * the cost is one pass over the source. */
vigil_err_t vigil_image_gray_resize(const vigil_image_t *src, int dst_w, int dst_h,
                                    vigil_image_t *dst)
{
    vigil_err_t err;
    uint32_t *colsum = NULL;
    int *x0s = NULL;
    if (!src || !dst || !src->data || src->fmt != VIGIL_PIX_GRAY8 || src->width <= 0 ||
        src->height <= 0 || dst_w <= 0 || dst_h <= 0 || dst == src)
        return VIGIL_ERR_INVALID;
    if ((err = image_reserve(dst, dst_w, dst_h, VIGIL_PIX_GRAY8)) != VIGIL_OK) return err;
    colsum = malloc((size_t)src->width * sizeof(*colsum));
    x0s = malloc(((size_t)dst_w + 1) * sizeof(*x0s));
    if (!colsum || !x0s) {
        err = VIGIL_ERR_NOMEM;
        goto fail;
    }
    for (int x = 0; x <= dst_w; x++) x0s[x] = (int)((int64_t)x * src->width / dst_w);

    for (int y = 0; y < dst_h; y++) {
        int y0 = (int)((int64_t)y * src->height / dst_h);
        int y1 = (int)((int64_t)(y + 1) * src->height / dst_h);
        if (y1 <= y0) y1 = y0 + 1;
        memset(colsum, 0, (size_t)src->width * sizeof(*colsum));
        for (int sy = y0; sy < y1; sy++) {
            const uint8_t *row = src->data + (size_t)sy * src->stride;
            for (int sx = 0; sx < src->width; sx++) colsum[sx] += row[sx];
        }
        uint8_t *out = dst->data + (size_t)y * dst->stride;
        for (int x = 0; x < dst_w; x++) {
            int x0 = x0s[x], x1 = x0s[x + 1];
            if (x1 <= x0) x1 = x0 + 1;
            uint64_t sum = 0;
            for (int sx = x0; sx < x1; sx++) sum += colsum[sx];
            uint64_t n = (uint64_t)(x1 - x0) * (uint64_t)(y1 - y0);
            out[x] = (uint8_t)((sum + n / 2) / n);
        }
    }
    err = VIGIL_OK;
fail:
    free(colsum);
    free(x0s);
    return err;
}
