/* AVX2/FMA 6x16 GEMM micro-kernel (compiled with -mavx2 -mfma; called only
 * when the CPU reports both, see gemm.c). a: K x 6 packed, b: K x 16 packed;
 * twelve ymm accumulators hold the 6x16 block of C. */
#include <stddef.h>
#include <stdint.h>

#include "nn/cpu/kernels.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

/* The 6x16 block, B either packed (offs NULL: row k at b + 16 k) or read in
 * place at b + offs[k] (implicit im2col, see kernels.h). Always inlined into
 * the two entry points below, so each gets the B addressing as a constant. */
static inline __attribute__((always_inline)) void
ukernel_6x16(int64_t K, const float *a, const float *b, const int64_t *offs, float *c,
             int64_t ldc, int accumulate)
{
    /* accumulate: start from C, so a K split into blocks sums in one
     * sequential order (k = 0, 1, ...), as a plain dot product would */
#define INIT(r, x0, x1)                                                                         \
    __m256 x0 = accumulate ? _mm256_loadu_ps(c + (r) * ldc) : _mm256_setzero_ps();             \
    __m256 x1 = accumulate ? _mm256_loadu_ps(c + (r) * ldc + 8) : _mm256_setzero_ps()
    INIT(0, c00, c01);
    INIT(1, c10, c11);
    INIT(2, c20, c21);
    INIT(3, c30, c31);
    INIT(4, c40, c41);
    INIT(5, c50, c51);
#undef INIT
    for (int64_t k = 0; k < K; k++) {
        const float *bk = offs ? b + offs[k] : b + 16 * k;
        __m256 b0 = _mm256_loadu_ps(bk), b1 = _mm256_loadu_ps(bk + 8);
        __m256 a0 = _mm256_broadcast_ss(a + 0), a1 = _mm256_broadcast_ss(a + 1);
        c00 = _mm256_fmadd_ps(a0, b0, c00);
        c01 = _mm256_fmadd_ps(a0, b1, c01);
        c10 = _mm256_fmadd_ps(a1, b0, c10);
        c11 = _mm256_fmadd_ps(a1, b1, c11);
        a0 = _mm256_broadcast_ss(a + 2);
        a1 = _mm256_broadcast_ss(a + 3);
        c20 = _mm256_fmadd_ps(a0, b0, c20);
        c21 = _mm256_fmadd_ps(a0, b1, c21);
        c30 = _mm256_fmadd_ps(a1, b0, c30);
        c31 = _mm256_fmadd_ps(a1, b1, c31);
        a0 = _mm256_broadcast_ss(a + 4);
        a1 = _mm256_broadcast_ss(a + 5);
        c40 = _mm256_fmadd_ps(a0, b0, c40);
        c41 = _mm256_fmadd_ps(a0, b1, c41);
        c50 = _mm256_fmadd_ps(a1, b0, c50);
        c51 = _mm256_fmadd_ps(a1, b1, c51);
        a += 6;
    }
#define STORE(r, x0, x1)                                                                        \
    do {                                                                                        \
        _mm256_storeu_ps(c + (r) * ldc, x0);                                                    \
        _mm256_storeu_ps(c + (r) * ldc + 8, x1);                                                \
    } while (0)
    STORE(0, c00, c01);
    STORE(1, c10, c11);
    STORE(2, c20, c21);
    STORE(3, c30, c31);
    STORE(4, c40, c41);
    STORE(5, c50, c51);
#undef STORE
}

void vigil__nn_ukernel_avx2(int64_t K, const float *a, const float *b, float *c, int64_t ldc,
                            int accumulate)
{
    ukernel_6x16(K, a, b, NULL, c, ldc, accumulate);
}

void vigil__nn_ukernel_off_avx2(int64_t K, const float *a, const float *b, const int64_t *offs,
                                float *c, int64_t ldc, int accumulate)
{
    ukernel_6x16(K, a, b, offs, c, ldc, accumulate);
}

void vigil__nn_store_row(float *dst, const float *src, int64_t n, int stream)
{
    int64_t i = 0;
    if (stream) {
        for (; i < n && ((uintptr_t)(dst + i) & 31); i++) dst[i] = src[i];
        for (; i + 8 <= n; i += 8) _mm256_stream_ps(dst + i, _mm256_loadu_ps(src + i));
    } else {
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_loadu_ps(src + i));
    }
    for (; i < n; i++) dst[i] = src[i];
}

void vigil__nn_store_fence(void)
{
    _mm_sfence();
}
#else
#include <string.h>
void vigil__nn_store_row(float *dst, const float *src, int64_t n, int stream)
{
    (void)stream;
    memcpy(dst, src, sizeof(float) * (size_t)n);
}
void vigil__nn_store_fence(void) {}
/* built without -mavx2 (not x86): never selected, kept for the linker */
void vigil__nn_ukernel_avx2(int64_t K, const float *a, const float *b, float *c, int64_t ldc,
                            int accumulate)
{
    vigil__nn_ukernel_c(K, a, b, c, ldc, accumulate);
}
void vigil__nn_ukernel_off_avx2(int64_t K, const float *a, const float *b, const int64_t *offs,
                                float *c, int64_t ldc, int accumulate)
{
    vigil__nn_ukernel_off_c(K, a, b, offs, c, ldc, accumulate);
}
#endif
