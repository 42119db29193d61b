/* Frame -> input tensor for the registry models (resize, normalise, layout).
 *
 * Resizing is bilinear. stretch follows tf.image.resizeBilinear's default
 * (align_corners = false, half_pixel_centers = false: src = dst * in/out),
 * so CenterNet sees what its TF.js reference sees; the other modes follow
 * OpenCV's cv2.resize (half-pixel centres), as PP-OCR and Ultralytics
 * preprocess. Values are (pixel * scale - mean[c]) / std[c], channels in the
 * entry's colour order, NCHW or NHWC.
 *
 * Thread: reentrant. */
#ifndef VIGIL_INFER_MODEL_PREP_H
#define VIGIL_INFER_MODEL_PREP_H

#include "infer/model_registry.h"
#include "infer/postprocess.h"
#include "vigil/image.h"

/* The input size a frame of w x h gets under the entry's resize mode:
 * fixed for stretch/letterbox, aspect-dependent for fit32 (multiples of 32,
 * longest side <= max_side) and height (width = ceil(height * aspect),
 * at least e->width, at most max_w when max_w > 0). */
void vigil__prep_size(const vigil__model_entry_t *e, int w, int h, int max_w, int *dst_w,
                      int *dst_h);

/* Writes one frame of dst_w x dst_h (channels 3) into out (3*dst_w*dst_h
 * floats) and fills g with the mapping from frame to input pixels. img is
 * RGB24. */
void vigil__prep_image(const vigil__model_entry_t *e, const vigil_image_t *img, int dst_w,
                       int dst_h, float *out, vigil__geom_t *g);

#endif
