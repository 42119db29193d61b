/* Images in memory and JPEG coding (libjpeg-turbo's TurboJPEG API).
 *
 * A vigil_image_t is a plain value type: packed pixels, owned or borrowed.
 * Thread: a vigil_jpeg_t codec is used by one thread at a time; make one per
 * worker (TurboJPEG handles are not thread-safe). */
#ifndef VIGIL_IMAGE_H
#define VIGIL_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

typedef enum vigil_pixfmt {
    VIGIL_PIX_GRAY8 = 1, /* 1 byte per pixel */
    VIGIL_PIX_RGB24 = 3, /* R,G,B */
} vigil_pixfmt_t;

typedef struct vigil_image {
    uint8_t *data;
    int width, height;
    int stride; /* bytes per row */
    vigil_pixfmt_t fmt;
    int owned; /* data is malloc'd by this image */
} vigil_image_t;

/* Allocates data for w x h of fmt (stride = w * bytes per pixel). */
vigil_err_t vigil_image_alloc(vigil_image_t *img, int width, int height, vigil_pixfmt_t fmt);
void vigil_image_release(vigil_image_t *img);

typedef struct vigil_jpeg vigil_jpeg_t;

/* The most pixels a codec decodes unless told otherwise (16384 x 16384). A
 * JPEG header may declare up to 65500 x 65500: decoders must never allocate
 * what a header asks for without a bound. */
#define VIGIL_JPEG_MAX_PIXELS ((int64_t)16384 * 16384)

vigil_jpeg_t *vigil_jpeg_new(void);
void vigil_jpeg_free(vigil_jpeg_t *codec);

/* Sets the most pixels (width x height of the header) vigil_jpeg_decode
 * accepts; <= 0 restores VIGIL_JPEG_MAX_PIXELS. */
void vigil_jpeg_set_max_pixels(vigil_jpeg_t *codec, int64_t max_pixels);

/* Reads the dimensions from a JPEG header without decoding. */
vigil_err_t vigil_jpeg_header(vigil_jpeg_t *codec, const void *jpeg, size_t len, int *width,
                              int *height, char *errstr, size_t errstr_size);

/* Checks a JPEG that came with declared dimensions (a frame message) before
 * anything is decoded, from its header alone: VIGIL_ERR_DECODE if the
 * header is unreadable, VIGIL_ERR_INVALID if it says another size ("jpeg
 * header says 65500x65500, the message says 640x480"), VIGIL_ERR_TOO_LARGE
 * if it has more pixels than the codec's limit. VIGIL_OK when the header is
 * exactly width x height within the limit. */
vigil_err_t vigil_jpeg_check(vigil_jpeg_t *codec, const void *jpeg, size_t len, int width,
                             int height, char *errstr, size_t errstr_size);

/* Decodes to fmt into img (reallocated if it is too small, so a worker can
 * reuse one image). scale_denom 1, 2, 4 or 8 decodes at 1/N size (fast path
 * for motion scoring). Corrupt or truncated data is VIGIL_ERR_DECODE; a
 * header with more pixels than the codec's limit is VIGIL_ERR_TOO_LARGE,
 * refused before anything is allocated. */
vigil_err_t vigil_jpeg_decode(vigil_jpeg_t *codec, const void *jpeg, size_t len,
                              vigil_pixfmt_t fmt, int scale_denom, vigil_image_t *img,
                              char *errstr, size_t errstr_size);

/* Encodes img at quality (1..100) into *out (malloc'd, caller frees). */
vigil_err_t vigil_jpeg_encode(vigil_jpeg_t *codec, const vigil_image_t *img, int quality,
                              uint8_t **out, size_t *out_len, char *errstr, size_t errstr_size);
/* Encodes planar YUV 4:2:0 (as FFmpeg decodes it) without a colour conversion. */
vigil_err_t vigil_jpeg_encode_yuv420(vigil_jpeg_t *codec, const uint8_t *const planes[3],
                                     const int strides[3], int width, int height, int quality,
                                     uint8_t **out, size_t *out_len, char *errstr,
                                     size_t errstr_size);

/* Area-average downscale of a gray image to dst (allocated to dst_w x dst_h). */
vigil_err_t vigil_image_gray_resize(const vigil_image_t *src, int dst_w, int dst_h,
                                    vigil_image_t *dst);

#endif
