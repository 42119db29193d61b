/* Internals shared by the quantized-layer file (quant_file.c) and the
 * calibrator (quant_calib.c).
 *
 * File format (little-endian), version 1:
 *   "VGQ8" u32 version u32 nlayers
 *   per layer: u16 name_len, name bytes, u32 M, u32 K, f32 input scale,
 *              i32 input zero point, f32 weight scale[M], i8 weights[M*K]
 *              (Conv weight order [M][C/group][kh][kw])
 *   u32 FNV-1a of every byte before it.
 * Scales are finite and > 0, zero points in [0, 255], weights in
 * [-127, 127]; a layer names a live Conv of the float model whose float
 * weights have M rows of K. */
#ifndef VIGIL_NN_QUANT_INT_H
#define VIGIL_NN_QUANT_INT_H

#include <stdint.h>

#include "nn/model.h"

#define NN_QUANT_MAGIC "VGQ8"
#define NN_QUANT_VERSION 1u
#define NN_QUANT_NAME_MAX 1024

uint32_t vigil__nn_fnv1a(const void *buf, size_t len);

/* 1 when node ni of g is a Conv the INT8 path can run: live, 2-D, float
 * constant weights [M, Cg, kh, kw], constant bias or none, K within
 * NN_QCONV_K_MAX. */
int vigil__nn_quant_conv_ok(const nn_graph_t *g, int ni);

#endif
