/* Shared geometry of the sliding-window ops (Conv, ConvTranspose, pools):
 * 1-D and 2-D windows over NCHW tensors (1-D runs as 2-D with H = 1), with
 * ONNX's kernel_shape / strides / dilations / pads / auto_pad attributes. */
#ifndef VIGIL_NN_CONV_GEOM_H
#define VIGIL_NN_CONV_GEOM_H

#include "nn/ir.h"

typedef struct nn_win {
    int spatial;                 /* 1 or 2 */
    int64_t N, C, H, W;          /* input */
    int64_t kh, kw, sh, sw, dh, dw;
    int64_t pt, pl, pb, pr;      /* pads: top, left, bottom, right */
    int64_t OH, OW;              /* output */
} nn_win_t;

/* Reads the window attributes for input x and kernel (kh, kw) — kernel from
 * kernel_shape when kk is NULL. ceil: pools' ceil_mode. Returns an error
 * naming the attribute. */
vigil_err_t vigil__nn_win_init(nn_prep_t *p, const vigil_nn_tensor_t *x, const int64_t *kk,
                               int ceil_mode, nn_win_t *w);

/* The output of a conv over w with M output channels: o's rank and dims,
 * [N, M, OH, OW] or, 1-D, [N, M, OW] (not its dtype). */
void vigil__nn_conv_out_dims(const nn_win_t *w, int64_t M, vigil_nn_tensor_t *o);

#endif
