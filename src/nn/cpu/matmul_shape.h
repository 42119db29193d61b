/* MatMul's shape rules (numpy matmul), shared by MatMul, MatMulInteger and
 * QLinearMatMul: a 1-D A is [1, K], a 1-D B is [K, 1] (their added dims
 * left out of the output), the two last dims are [M, K] and [K, N], and the
 * dims before them broadcast. */
#ifndef VIGIL_NN_MATMUL_SHAPE_H
#define VIGIL_NN_MATMUL_SHAPE_H

#include "nn/ir.h"

typedef struct nn_mm_shape {
    int64_t M, N, K;
    int nb;                        /* batch rank of the output */
    int64_t bd[VIGIL_NN_MAX_DIMS]; /* batch dims */
    int64_t sa[VIGIL_NN_MAX_DIMS], sb[VIGIL_NN_MAX_DIMS]; /* batch strides in matrices */
} nn_mm_shape_t;

/* Fills s from A and B, and o's rank and dims (not its dtype). Errors, as
 * p's node: a scalar operand, inner dims that differ, batch dims that do
 * not broadcast (VIGIL_ERR_INVALID). */
vigil_err_t vigil__nn_matmul_shape(nn_prep_t *p, const vigil_nn_tensor_t *a, const vigil_nn_tensor_t *b,
                                   nn_mm_shape_t *s, vigil_nn_tensor_t *o);

#endif
