/* vigil-nn INT8 convolution kernels (post-training quantization, see
 * src/nn/quant.c and docs/nn.md "INT8").
 *
 * Numbers: weights are per-output-channel symmetric s8 (w = sw[m] * q,
 * q in [-127, 127]); activations are per-tensor asymmetric u8 levels
 * (x = sx * (q - zp), q in [0, 255]). The input of a quantized conv is
 * quantized once per run into s16 values q - zp (in [-255, 255]; padding
 * is then exactly 0), and the kernels multiply those s16 values with the
 * s8 weights widened to s16 through vpmaddwd (pairs of k, s32 sums).
 *
 * Why vpmaddwd on widened values rather than vpmaddubsw: this CPU has
 * AVX2 without VNNI, and vpmaddubsw adds two u8*s8 products into a
 * saturating s16 (255 * 127 * 2 = 64770 > 32767), so it needs 7-bit
 * weights or activations to be exact, which costs accuracy; vpmaddwd is
 * exact for any u8 level and s8 weight, and the portable C path gives
 * bit-identical s32 sums, so the two paths are tested for equality. The
 * s32 sum of a row is then dequantized in the epilogue:
 * y = sum * (sx * sw[m]) + bias[m], then the fused activation and affine.
 *
 * On a CPU with AVX-512 VNNI (the avx512 tier) the GEMM path instead
 * quantizes to u8 levels q and multiplies them with the s8 weights through
 * vpdpbusd (four u8 x s8 products a lane, exact s32 sums), then subtracts
 * zp * (the row's weight sum): the same integers as sum w * (q - zp).
 *
 * Sums stay exact while K * 127 * 255 < 2^31: K <= NN_QCONV_K_MAX. */
#ifndef VIGIL_NN_QCONV_H
#define VIGIL_NN_QCONV_H

#include <stddef.h>
#include <stdint.h>

#include "nn/cpu/conv_geom.h"
#include "nn/cpu/kernels.h"

#define NN_QCONV_K_MAX 65536

/* ---- micro-kernels ---------------------------------------------------------------- */

/* Packed A (weights of up to 6 output channels): [ceil(K/2)][6][2] s16 per
 * row panel of 6, pairs of k per row, zero past M and K; packed B (16
 * output positions): [ceil(K/2)][16][2] s16. c[6][16] = A panel x B panel
 * (overwritten). */
void vigil__nn_qukernel_c(int64_t kpairs, const int16_t *a, const int16_t *b, int32_t *c);
void vigil__nn_qukernel_avx2(int64_t kpairs, const int16_t *a, const int16_t *b, int32_t *c);

/* Packed B of 16 columns read in place: row k is the 16 s16 at
 * base + offs[k] (implicit im2col where every tap of the panel is inside
 * the input, stride 1 along the row; 1x1 convs: always). */
void vigil__nn_qpack_b_rows_c(const int16_t *base, const int64_t *offs, int64_t K, int16_t *dst);
void vigil__nn_qpack_b_rows_avx2(const int16_t *base, const int64_t *offs, int64_t K, int16_t *dst);

/* s16 elements of the packed A of an [M, K] weight matrix */
size_t vigil__nn_qpack_a_len(int64_t M, int64_t K);
void vigil__nn_qpack_a(const int8_t *w, int64_t M, int64_t K, int16_t *dst);

/* VNNI (qconv_avx512.c, x86 only; call only when vigil__nn_qconv_vnni_active):
 * packed A4 [ceil(K/4)][6][4] s8 per row panel of 6 (zero past M and K),
 * packed B4 [ceil(K/4)][16][4] u8 levels; c[6][16] = sum of q * w. */
void vigil__nn_qukernel_vnni(int64_t kquads, const int8_t *a, const uint8_t *b, int32_t *c);
void vigil__nn_qpack_b4_rows_vnni(const uint8_t *base, const int64_t *offs, int64_t K, uint8_t *dst);
void vigil__nn_qpack_b4_rows_c(const uint8_t *base, const int64_t *offs, int64_t K, uint8_t *dst);
size_t vigil__nn_qpack_a4_len(int64_t M, int64_t K);
void vigil__nn_qpack_a4(const int8_t *w, int64_t M, int64_t K, int8_t *dst);
/* y[i] = clamp(round(x[i] * inv_scale) + zp, 0, 255): the levels whose
 * minus zp vigil__nn_quantize_s16 gives */
void vigil__nn_quantize_u8_c(const float *x, int64_t n, float inv_scale, int zp, uint8_t *y);
void vigil__nn_quantize_u8_vnni(const float *x, int64_t n, float inv_scale, int zp, uint8_t *y);
/* y[0..n) = epilogue((acc[j] - corr) * scale) with bias and e, as the
 * portable path's conversion then vigil__nn_epilogue (epilogue_avx512.c;
 * only when vigil__nn_epilogue_vector(e)) */
void vigil__nn_qepilogue_avx512(const int32_t *acc, int32_t corr, float scale, float bias, const nn_epi_t *e,
                                float *y, int64_t n);

/* A conv's weights packed once for every kernel (a loaded model's
 * node->packed_w): per group vigil__nn_qpack_a (s16), then per group
 * vigil__nn_qpack_a4 (s8), then the M row sums (s32) for the zero-point
 * correction. Not for depthwise convs. */
size_t vigil__nn_qpack_weights_len(int64_t M, int64_t K, int64_t group);
void vigil__nn_qpack_weights(const int8_t *w, int64_t M, int64_t K, int64_t group, void *dst);

/* y[i] = clamp(round(x[i] * inv_scale) + zp, 0, 255) - zp (round half to
 * even; NaN -> level 0); both paths give the same values. */
void vigil__nn_quantize_s16(const float *x, int64_t n, float inv_scale, int zp, int16_t *y);
void vigil__nn_quantize_s16_c(const float *x, int64_t n, float inv_scale, int zp, int16_t *y);
void vigil__nn_quantize_s16_avx2(const float *x, int64_t n, float inv_scale, int zp, int16_t *y);

/* Depthwise plane: acc[OH*OW] = sum over the taps of k[t] * x (x the s16
 * plane [H, W], zero outside). The AVX2 version (strides 1 and 2) copies
 * the plane into pad (vigil__nn_qdw_pad_len elements, 0 when it does not
 * apply) with zero borders first. */
void vigil__nn_qdw_plane_c(const int16_t *x, const nn_dw_geom_t *g, const int8_t *k, int32_t *acc);
size_t vigil__nn_qdw_pad_len(const nn_dw_geom_t *g);
void vigil__nn_qdw_plane_avx2(const int16_t *x, const nn_dw_geom_t *g, const int8_t *k, int32_t *acc,
                              int16_t *pad);

/* ---- a whole convolution ------------------------------------------------------------ */

typedef struct nn_qconv_args {
    nn_win_t w;           /* geometry: N, C, H, W, kernel, strides, pads, OH, OW */
    int64_t M, group;     /* output channels, groups (depthwise: group == C == M) */
    const float *x;       /* [N, C, H, W] */
    float *y;             /* [N, M, OH, OW] */
    const int8_t *wq;     /* [M, C/group, kh, kw] */
    const void *a_packed; /* vigil__nn_qpack_weights, or NULL (packed per run) */
    const float *wscale;  /* [M] */
    const float *bias;    /* [M] or NULL */
    float xscale;
    int xzp;
    nn_epi_t epi;
    int16_t *xq;          /* work: N * C * H * W s16 (vigil__nn_qconv_work_len); u8 on VNNI */
} nn_qconv_args_t;

size_t vigil__nn_qconv_work_len(const nn_qconv_args_t *a);
/* Runs the convolution; -1 (nothing written) when a work buffer cannot be
 * allocated. */
int vigil__nn_qconv(const nn_qconv_args_t *a, nn_pool_t *pool);
/* 1: the portable kernels even where AVX2 is there (tests); 0: auto */
void vigil__nn_qconv_force_portable(int on);
int vigil__nn_qconv_avx2_active(void);
/* the GEMM path runs on vpdpbusd: avx512 tier, AVX-512 VNNI, x86 build */
int vigil__nn_qconv_vnni_active(void);

#endif
