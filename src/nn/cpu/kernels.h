/* vigil-nn CPU backend: thread pool, GEMM and shared kernel helpers.
 *
 * The pool runs a parallel-for over [0, n) in chunks on its workers and the
 * calling thread; a NULL pool runs serially (plan-time folding). GEMM is
 * row-major C = A*B (+C), with an AVX2/FMA micro-kernel chosen at run time
 * and a portable C fallback. */
#ifndef VIGIL_NN_KERNELS_H
#define VIGIL_NN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "nn/ir.h"

typedef struct nn_pool nn_pool_t;

/* A pool of nthreads (>= 1; the caller counts as one). NULL on failure. */
nn_pool_t *vigil__nn_pool_new(int nthreads);
void vigil__nn_pool_free(nn_pool_t *pool);
int vigil__nn_pool_threads(const nn_pool_t *pool); /* 1 for NULL */
typedef void (*nn_range_fn)(void *ctx, int64_t begin, int64_t end);
/* Calls fn over [0, n) split in chunks of at least grain; returns when all
 * are done. Thread: the pool's owner only (one parallel-for at a time). */
void vigil__nn_parallel_for(nn_pool_t *pool, int64_t n, int64_t grain, nn_range_fn fn, void *ctx);

/* C[M,N] = A[M,K] * B[K,N] (+ C when accumulate). lda/ldb/ldc are row
 * strides; trans_a / trans_b read A as [K,M] / B as [N,K]. */
void vigil__nn_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, const float *A,
                     int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc,
                     int accumulate, nn_pool_t *pool);
/* Extensions of a GEMM call (either hook may be NULL; ctx is passed to both):
 * pack_b writes B rows [k0, k0+kc) x columns [j0, j0+nj) (nj <= 16) as kc
 * rows of 16 floats, zero beyond nj, instead of reading B (B may then be
 * NULL); epi runs on C row i, columns [j0, j0+nj), once that segment is
 * final (c holds the segment: in C, or in a task-local block that is then
 * copied into C). Both are called from pool threads, concurrently on disjoint data.
 * Returns -1 (having done nothing) when the panels cannot be allocated. */
typedef struct nn_gemm_ext {
    void (*pack_b)(void *ctx, int64_t k0, int64_t kc, int64_t j0, int64_t nj, float *dst);
    void (*epi)(void *ctx, int64_t i, int64_t j0, float *c, int64_t nj);
    void *ctx;
    /* direct B (may be NULL): for a full panel (nj == 16) of columns j0..,
     * a base such that B[k][j0 + j] = base[b_offs[k] + j] for every k and
     * j < 16, or NULL to pack the panel. The micro-kernel then reads B in
     * place (implicit im2col: no packing for interior conv panels). */
    const float *(*direct_b)(void *ctx, int64_t j0, int64_t nj);
    const int64_t *b_offs; /* K offsets */
    /* A already packed (may be NULL): [ceil(M/6)][K][6], rows past M zero;
     * then A/lda/trans_a are not read */
    const float *a_packed;
    /* B already packed (may be NULL): [ceil(N/16)][K][16], columns past N
     * zero; then B/ldb/trans_b, pack_b and direct_b are not used */
    const float *b_packed;
    /* the epilogue consumes the segment itself (writes it elsewhere): in
     * local-block mode C is then not written (it must still be valid
     * memory, written when local blocks are not used) */
    int epi_stores;
    /* local-block mode only, instead of epi per row (may be NULL): rows
     * [i0, i1) of the task's block, columns [j0, j0+nj), row r at
     * c + (r - i0) * ldc; task row ranges start at multiples of 6 */
    void (*epi_block)(void *ctx, int64_t i0, int64_t i1, int64_t j0, int64_t nj, float *c, int64_t ldc);
} nn_gemm_ext_t;
int vigil__nn_sgemm_ex(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, const float *A,
                        int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc,
                       int accumulate, const nn_gemm_ext_t *ext, nn_pool_t *pool);
/* Forces the portable kernel (tests): 1 = portable, 0 = auto. */
void vigil__nn_sgemm_force_portable(int on);
/* 1 when the kernel tier in use (nn/cpu/isa.h: vigil__nn_isa, the one
 * dispatch point) is avx2 or above: the *_avx2 kernels may run */
int vigil__nn_have_avx2(void);
/* 1 when the tier in use is avx512: the *_avx512 kernels may run */
int vigil__nn_have_avx512(void);
/* dst[0..n) = src[0..n); stream: non-temporal stores (AVX2 builds; dst
 * 32-byte aligned parts), then vigil__nn_store_fence before others read */
void vigil__nn_store_row(float *dst, const float *src, int64_t n, int stream);
void vigil__nn_store_fence(void);

/* micro-kernels: C[6,16] (+)= sum_k A[k*6 + r] * B[k*16 + c] */
#define NN_MR 6
#define NN_NR 16
void vigil__nn_ukernel_avx2(int64_t K, const float *a, const float *b, float *c, int64_t ldc,
                            int accumulate);
void vigil__nn_ukernel_avx512(int64_t K, const float *a, const float *b, float *c, int64_t ldc,
                              int accumulate);
void vigil__nn_ukernel_c(int64_t K, const float *a, const float *b, float *c, int64_t ldc,
                         int accumulate);
/* the same with B row k at b + offs[k] (16 floats) instead of b + 16 k */
void vigil__nn_ukernel_off_avx2(int64_t K, const float *a, const float *b, const int64_t *offs,
                                float *c, int64_t ldc, int accumulate);
void vigil__nn_ukernel_off_avx512(int64_t K, const float *a, const float *b, const int64_t *offs,
                                  float *c, int64_t ldc, int accumulate);
void vigil__nn_ukernel_off_c(int64_t K, const float *a, const float *b, const int64_t *offs,
                             float *c, int64_t ldc, int accumulate);

/* Applies a fused activation to n floats in place. */
void vigil__nn_apply_act(float *x, int64_t n, int act, float a, float b);

/* A fused epilogue: activation (nn_act_t with its a, b), then when post is
 * set y = y * pa + pb. */
typedef struct nn_epi {
    int act;
    float a, b;
    int post;
    float pa, pb;
} nn_epi_t;
void vigil__nn_epi_from_node(nn_epi_t *e, const nn_node_t *n);
/* y[0..n) = post(act(y + bias)) in place; dispatches to AVX2 when it can. */
void vigil__nn_epilogue(float *y, int64_t n, float bias, const nn_epi_t *e);
void vigil__nn_epilogue_c(float *y, int64_t n, float bias, const nn_epi_t *e);
/* 1 when e's activation has AVX2 / AVX-512 code (else the portable loop runs) */
int vigil__nn_epilogue_vector(const nn_epi_t *e);
void vigil__nn_epilogue_avx2(float *y, int64_t n, float bias, const nn_epi_t *e);
/* the AVX2 version's operations on zmm (x86 only; call on the avx512 tier) */
void vigil__nn_epilogue_avx512(float *y, int64_t n, float bias, const nn_epi_t *e);

/* Depthwise convolution of one plane (dw_avx2.c): y[OH,OW] = bias +
 * sum over the kh x kw taps of x[H,W]; call only when
 * vigil__nn_have_avx2(). */
typedef struct nn_dw_geom {
    int64_t H, W, OH, OW, kh, kw, sh, sw, dh, dw, pt, pl;
} nn_dw_geom_t;
void vigil__nn_dw_plane_avx2(const float *x, const nn_dw_geom_t *g, const float *k, float bias, float *y);
/* Floats of the work buffer vigil__nn_dw_plane_padded_avx2 needs for g
 * (0 when it does not apply: strides other than 1 and 2). */
size_t vigil__nn_dw_pad_floats(const nn_dw_geom_t *g);
/* The same convolution with every output column vectorised: the plane is
 * first copied into pad (zero borders), so no tap needs a bounds check.
 * Same sums in the same order as vigil__nn_dw_plane_avx2 (zeros add
 * nothing). */
void vigil__nn_dw_plane_padded_avx2(const float *x, const nn_dw_geom_t *g, const float *k, float bias,
                                    float *y, float *pad);
/* The convolution on zmm, borders through masked loads (dw_avx512.c, x86
 * only; call on the avx512 tier when _fits: strides 1 and 2, kw <= 8): the
 * AVX2 version's sums in its order, to the bit. */
int vigil__nn_dw_plane_avx512_fits(const nn_dw_geom_t *g);
void vigil__nn_dw_plane_avx512(const float *x, const nn_dw_geom_t *g, const float *k, float bias, float *y);

/* One output row of a MaxPool's interior (maxpool_avx2.c): rows[0..nrows)
 * point at the window's first column for output 0 in each input row the
 * window covers (in tap order); output j reads rows[ki][j * sw + kj * dw]
 * for kj < kw; avail floats are readable from each rows[ki]. Writes y[0..m)
 * for the largest m <= n it can (a multiple of 8; sw 1 or 2 only) and
 * returns m; call only when vigil__nn_have_avx2(). */
typedef struct nn_maxrow {
    const float *const *rows;
    int64_t nrows, kw, dw, sw, n, avail;
} nn_maxrow_t;
int64_t vigil__nn_maxpool_row_avx2(const nn_maxrow_t *r, float *y);

/* Transpose of the tile rows [r0, r1) x cols [c0, c1) of a rows x cols
 * matrix of 4-byte elements into o (cols x rows), 8x8 blocks in registers
 * (transpose_avx2.c); call only when vigil__nn_have_avx2(). */
void vigil__nn_transpose_tile_avx2(const float *in, float *o, int64_t rows, int64_t cols, int64_t r0,
                                   int64_t r1, int64_t c0, int64_t c1);

/* o = a OP b for op 0 add, 1 sub, 2 mul, 3 div over n floats, a and b
 * contiguous (stride 1) or broadcast (stride 0); returns 0 (nothing done)
 * for other strides; call only when vigil__nn_have_avx2()
 * (elementwise_avx2.c). */
/* sum over i < n of (double)(x[i] / d), the float quotients exact as in
 * the scalar loop, summed in double in 16 lanes (GlobalAveragePool's
 * TF.js Mean); call only when vigil__nn_have_avx2() (elementwise_avx2.c) */
double vigil__nn_sum_div_avx2(const float *x, int64_t n, float d);
/* y = Relu(x) (relu 1: x > 0 ? x : 0) or Clip(x, lo, hi) (x < lo ? lo : x >
 * hi ? hi : x, NaN kept): the scalar loops' results, NaN and -0 included
 * (elementwise_avx2.c); call only when vigil__nn_have_avx2(). y may be x. */
void vigil__nn_relu_clip_avx2(float *y, const float *x, int64_t n, int relu, float lo, float hi);
int vigil__nn_binf_avx2(int op, float *o, const float *a, int64_t sa, const float *b, int64_t sb,
                        int64_t n);

/* y[k] = exp(x[k] - mx) for k < n (y may be NULL), returns the sum in
 * double (softmax_avx2.c); call only when vigil__nn_have_avx2(). */
double vigil__nn_exp_rows_avx2(const float *x, float mx, float *y, int64_t n);

/* call512 on the avx512 tier, else call2 (the AVX-512 files are built on x86 only) */
#if defined(__x86_64__) || defined(__i386__)
#define NN_AVX512_OR(call512, call2) (vigil__nn_have_avx512() ? (call512) : (call2))
#else
#define NN_AVX512_OR(call512, call2) (call2)
#endif
/* Three of the kernels above on zmm, the tail masked (elementwise_avx512.c;
 * call only when vigil__nn_have_avx512()): the same bits as the AVX2 ones;
 * the MaxPool row does all n outputs. */
double vigil__nn_sum_div_avx512(const float *x, int64_t n, float d);
int64_t vigil__nn_maxpool_row_avx512(const nn_maxrow_t *r, float *y);
double vigil__nn_exp_rows_avx512(const float *x, float mx, float *y, int64_t n);

/* Winograd F(2x2,3x3) of one batch item (wino_avx2.c): x [C,H,W], w
 * [M,C,3,3], y [M,OH,OW], stride 1, dilation 1, no groups; bias may be
 * NULL; epi runs on every output row. Returns -1 (nothing done) when its
 * buffers cannot be allocated or the CPU path is not built; call only when
 * vigil__nn_have_avx2(). */
typedef struct nn_wino_args {
    const float *x, *w, *bias;
    float *y;
    int64_t C, H, W, M, OH, OW, pt, pl;
    const nn_epi_t *epi;
} nn_wino_args_t;
int vigil__nn_wino_conv(const nn_wino_args_t *a, nn_pool_t *pool);

/* Coalesced broadcasting of two inputs to an output shape: strides (in
 * elements, 0 where broadcast) per output dim. Returns -1 if the shapes do
 * not broadcast. out_dims gets the broadcast shape. */
int vigil__nn_broadcast_shape(int na, const int64_t *a, int nb, const int64_t *b, int *nout,
                              int64_t *out);
void vigil__nn_broadcast_strides(int nin, const int64_t *in, int nout, const int64_t *out,
                                 int64_t *strides);

/* Normalises an axis in [-rank, rank) to [0, rank); -1 when out of range. */
int vigil__nn_axis(int64_t axis, int rank);

#endif
