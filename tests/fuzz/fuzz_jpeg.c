/* libFuzzer driver: the JPEG decode path the stages run on a frame message's
 * JPEG (src/media/image.c), with hostile headers. As preprocess and infer
 * do: the header is read, checked against the size the message declares and
 * the pixel cap (vigil_jpeg_check), and only then decoded: gray at 1/N for
 * motion scoring (then resized, as the gate does), RGB at full size for the
 * model. One codec and one set of images serve every input, as one worker's
 * do frame after frame, so a decoder left in a bad state by a corrupt JPEG
 * shows up on the next one.
 *
 * Input: byte 0 chooses the scale (bits 0-1: 1, 2, 4, 8) and whether the
 * message declares the header's size (bit 2 clear) or the size in bytes 1-4
 * (bit 2 set; a mismatch must be refused); the JPEG follows (from byte 1 or
 * byte 5). The cap is 4 Mpx rather than the default limits.max_frame_pixels
 * of 33 Mpx, so that each input is decoded in bounded time; the refusal
 * above the cap is the same code. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbojpeg.h>

#include "vigil/image.h"

#define FUZZ_MAX_PIXELS ((int64_t)2048 * 2048)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vigil_jpeg_t *codec;
static vigil_image_t gray, small, rgb;

static void broken(const char *what)
{
    fprintf(stderr, "fuzz_jpeg: broken promise: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    int w = 0, h = 0;
    if (size < 1) return 0;
    if (!codec) {
        codec = vigil_jpeg_new();
        if (!codec) return 0;
        vigil_jpeg_set_max_pixels(codec, FUZZ_MAX_PIXELS);
    }
    int denom = 1 << (data[0] & 3);
    int declared = data[0] & 4;
    size_t skip = declared ? 5 : 1;
    if (size < skip) return 0;
    const uint8_t *jpeg = data + skip;
    size_t len = size - skip;

    if (vigil_jpeg_header(codec, jpeg, len, &w, &h, err, sizeof err) != VIGIL_OK) return 0;
    if (w <= 0 || h <= 0) broken("header accepted with a size <= 0");
    int mw = w, mh = h; /* what the message says */
    if (declared) {
        mw = (int)((uint32_t)data[1] << 8 | data[2]);
        mh = (int)((uint32_t)data[3] << 8 | data[4]);
    }
    vigil_err_t err_check = vigil_jpeg_check(codec, jpeg, len, mw, mh, err, sizeof err);
    if (err_check == VIGIL_OK && (mw != w || mh != h)) broken("a size mismatch passed the check");
    if (err_check == VIGIL_OK && (int64_t)w * h > FUZZ_MAX_PIXELS) broken("over the cap passed");
    if (err_check != VIGIL_OK) return 0;

    /* preprocess: gray at 1/denom, then the motion image */
    if (vigil_jpeg_decode(codec, jpeg, len, VIGIL_PIX_GRAY8, denom, &gray, err, sizeof err) ==
        VIGIL_OK) {
        tjscalingfactor sf = {1, denom};
        if (gray.width != TJSCALED(w, sf) || gray.height != TJSCALED(h, sf) ||
            gray.stride != gray.width || !gray.data)
            broken("gray image of the wrong size");
        int sw = gray.width < 160 ? gray.width : 160;
        int sh = (int)((int64_t)gray.height * sw / gray.width);
        if (sh < 1) sh = 1;
        vigil_image_gray_resize(&gray, sw, sh, &small);
    }
    /* infer: RGB at full size */
    if (vigil_jpeg_decode(codec, jpeg, len, VIGIL_PIX_RGB24, 1, &rgb, err, sizeof err) ==
        VIGIL_OK) {
        if (rgb.width != w || rgb.height != h || rgb.stride != 3 * w || !rgb.data)
            broken("rgb image of the wrong size");
    }
    return 0;
}
