/* AVX-512 6x16 GEMM micro-kernel (compiled with -mavx512f ...; called only
 * on the avx512 tier, see gemm.c). The packing is the AVX2 kernel's (a:
 * K x 6, b: K x 16): one zmm holds a row of the 6x16 block of C, so a step
 * of k is one load of B and six FMAs with the A value broadcast from memory,
 * half the instructions of the AVX2 kernel for the same work. The sums are
 * the AVX2 kernel's, in the same order over k (one fused multiply-add per
 * element per k), so the tiers agree to the bit. Built on x86 only (gemm.c
 * names it there). */
#include <stddef.h>
#include <stdint.h>

#include "nn/cpu/kernels.h"

#if defined(__AVX512F__)
#include <immintrin.h>

static inline __attribute__((always_inline)) void
ukernel_6x16(int64_t K, const float *a, const float *b, const int64_t *offs, float *c,
             int64_t ldc, int accumulate)
{
#define INIT(r) __m512 c##r = accumulate ? _mm512_loadu_ps(c + (r) * ldc) : _mm512_setzero_ps()
    INIT(0);
    INIT(1);
    INIT(2);
    INIT(3);
    INIT(4);
    INIT(5);
#undef INIT
    for (int64_t k = 0; k < K; k++) {
        __m512 bk = _mm512_loadu_ps(offs ? b + offs[k] : b + 16 * k);
        c0 = _mm512_fmadd_ps(_mm512_set1_ps(a[0]), bk, c0);
        c1 = _mm512_fmadd_ps(_mm512_set1_ps(a[1]), bk, c1);
        c2 = _mm512_fmadd_ps(_mm512_set1_ps(a[2]), bk, c2);
        c3 = _mm512_fmadd_ps(_mm512_set1_ps(a[3]), bk, c3);
        c4 = _mm512_fmadd_ps(_mm512_set1_ps(a[4]), bk, c4);
        c5 = _mm512_fmadd_ps(_mm512_set1_ps(a[5]), bk, c5);
        a += 6;
    }
    _mm512_storeu_ps(c + 0 * ldc, c0);
    _mm512_storeu_ps(c + 1 * ldc, c1);
    _mm512_storeu_ps(c + 2 * ldc, c2);
    _mm512_storeu_ps(c + 3 * ldc, c3);
    _mm512_storeu_ps(c + 4 * ldc, c4);
    _mm512_storeu_ps(c + 5 * ldc, c5);
}

void vigil__nn_ukernel_avx512(int64_t K, const float *a, const float *b, float *c, int64_t ldc,
                              int accumulate)
{
    ukernel_6x16(K, a, b, NULL, c, ldc, accumulate);
}

void vigil__nn_ukernel_off_avx512(int64_t K, const float *a, const float *b, const int64_t *offs,
                                  float *c, int64_t ldc, int accumulate)
{
    ukernel_6x16(K, a, b, offs, c, ldc, accumulate);
}
#endif
