/* One tile of a 2-D transpose of 4-byte elements with AVX2 (ops_shape.c's
 * Transpose): 8x8 blocks through registers (8 row loads, unpack/shuffle/
 * permute, 8 column stores), the ragged edges element by element. Moves
 * bits only, so the result is the scalar loop's. */
#include <immintrin.h>

#include "nn/cpu/kernels.h"

static inline void tr8x8(const float *in, int64_t ls, float *o, int64_t os)
{
    __m256 r0 = _mm256_loadu_ps(in), r1 = _mm256_loadu_ps(in + ls), r2 = _mm256_loadu_ps(in + 2 * ls);
    __m256 r3 = _mm256_loadu_ps(in + 3 * ls), r4 = _mm256_loadu_ps(in + 4 * ls), r5 = _mm256_loadu_ps(in + 5 * ls);
    __m256 r6 = _mm256_loadu_ps(in + 6 * ls), r7 = _mm256_loadu_ps(in + 7 * ls);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    _mm256_storeu_ps(o, _mm256_permute2f128_ps(s0, s4, 0x20));
    _mm256_storeu_ps(o + os, _mm256_permute2f128_ps(s1, s5, 0x20));
    _mm256_storeu_ps(o + 2 * os, _mm256_permute2f128_ps(s2, s6, 0x20));
    _mm256_storeu_ps(o + 3 * os, _mm256_permute2f128_ps(s3, s7, 0x20));
    _mm256_storeu_ps(o + 4 * os, _mm256_permute2f128_ps(s0, s4, 0x31));
    _mm256_storeu_ps(o + 5 * os, _mm256_permute2f128_ps(s1, s5, 0x31));
    _mm256_storeu_ps(o + 6 * os, _mm256_permute2f128_ps(s2, s6, 0x31));
    _mm256_storeu_ps(o + 7 * os, _mm256_permute2f128_ps(s3, s7, 0x31));
}

void vigil__nn_transpose_tile_avx2(const float *in, float *o, int64_t rows, int64_t cols, int64_t r0,
                                   int64_t r1, int64_t c0, int64_t c1)
{
    int64_t rv = r0 + (r1 - r0) / 8 * 8, cv = c0 + (c1 - c0) / 8 * 8;
    for (int64_t r = r0; r < rv; r += 8)
        for (int64_t c = c0; c < cv; c += 8) tr8x8(in + r * cols + c, cols, o + c * rows + r, rows);
    for (int64_t c = c0; c < c1; c++) /* the edges: columns past cv, rows past rv */
        for (int64_t r = c < cv ? rv : r0; r < r1; r++) o[c * rows + r] = in[r * cols + c];
}
