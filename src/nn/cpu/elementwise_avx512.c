/* Three AVX2 kernels on zmm (elementwise_avx2.c, maxpool_avx2.c,
 * softmax_avx2.c): GlobalAveragePool's sum, MaxPool's interior rows and
 * Softmax's exponentials, 16 lanes at a time with the tail under a mask
 * instead of a scalar loop. Each does the AVX2 kernel's operations in its
 * order, so the bits are the same on both tiers (test_nn_isa compares
 * them); compiled with the avx512 flags, called only on the avx512 tier.
 *
 * Measured on Zen 4 (docs/nn.md, "Kernel tiers"): exp rows 1.3x, MaxPool
 * rows 1.3-1.5x, the sum 1.05-1.1x against AVX2. Add/Sub/Mul/Div and
 * Relu/Clip on zmm were built too and were not faster (memory-bound: equal,
 * in place up to 10% slower), so the avx512 tier keeps their AVX2 kernels. */
#include <math.h>

#include "nn/cpu/kernels.h"

#if defined(__AVX512F__) && defined(__AVX512DQ__)
#include <immintrin.h>

/* lanes [0, n) of 16, n in 0..16 */
static inline __mmask16 first(int64_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

double vigil__nn_sum_div_avx512(const float *x, int64_t n, float d)
{
    /* the AVX2 kernel's four 4-lane double sums s0..s3 are the halves of z0
     * (elements 0-7 of each 16) and z1 (8-15), added in its order */
    const __m512 vd = _mm512_set1_ps(d);
    __m512d z0 = _mm512_setzero_pd(), z1 = z0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 a = _mm512_div_ps(_mm512_loadu_ps(x + i), vd);
        z0 = _mm512_add_pd(z0, _mm512_cvtps_pd(_mm512_castps512_ps256(a)));
        z1 = _mm512_add_pd(z1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1))));
    }
    __m256d s01 = _mm256_add_pd(_mm512_castpd512_pd256(z0), _mm512_extractf64x4_pd(z0, 1));
    __m256d s23 = _mm256_add_pd(_mm512_castpd512_pd256(z1), _mm512_extractf64x4_pd(z1, 1));
    double lanes[4];
    _mm256_storeu_pd(lanes, _mm256_add_pd(s01, s23));
    double s = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    for (; i < n; i++) s += x[i] / d;
    return s;
}

int64_t vigil__nn_maxpool_row_avx512(const nn_maxrow_t *r, float *y)
{
    /* every tap of outputs [0, n) is inside the rows (the caller's
     * interior), so masked loads read nothing else; stride 2 takes the even
     * elements of 32 */
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    if (r->sw != 1 && r->sw != 2) return 0;
    for (int64_t j = 0; j < r->n; j += 16) {
        int64_t left = r->n - j;
        __mmask16 m = first(left), m0 = m, m1 = 0;
        if (r->sw == 2) { /* input elements [0, 2 left - 1) */
            uint32_t wide = left >= 16 ? 0x7FFFFFFFu : (1u << (2 * left - 1)) - 1;
            m0 = (__mmask16)(wide & 0xFFFF);
            m1 = (__mmask16)(wide >> 16);
        }
        __m512 acc = _mm512_set1_ps(-INFINITY);
        for (int64_t ki = 0; ki < r->nrows; ki++) {
            const float *xr = r->rows[ki] + j * r->sw;
            for (int64_t kj = 0; kj < r->kw; kj++) {
                const float *xs = xr + kj * r->dw;
                __m512 v = _mm512_maskz_loadu_ps(m0, xs);
                if (r->sw == 2) v = _mm512_permutex2var_ps(v, even, _mm512_maskz_loadu_ps(m1, xs + 16));
                acc = _mm512_max_ps(v, acc);
            }
        }
        _mm512_mask_storeu_ps(y + j, m, acc);
    }
    return r->n;
}

/* exp_avx2.h's exp8 on 16 lanes: the same operations and constants */
static inline __m512 exp16(__m512 x)
{
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.3f));
    x = _mm512_min_ps(x, _mm512_set1_ps(88.3f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

double vigil__nn_exp_rows_avx512(const float *x, float mx, float *y, int64_t n)
{
    /* the AVX2 kernel's two 4-lane sums (elements 0-3 and 4-7 of each 8)
     * are the halves of acc; each 8 is added in its order */
    __m512 vm = _mm512_set1_ps(mx);
    __m512d acc = _mm512_setzero_pd();
    int64_t k = 0;
    for (; k + 8 <= n; k += 16) {
        int64_t left = n - k;
        __mmask16 m = first(left);
        __m512 ev = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + k), vm));
        if (y) _mm512_mask_storeu_ps(y + k, left >= 16 ? m : 0xFF, ev);
        acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm512_castps512_ps256(ev)));
        if (left < 16) {
            k += 8;
            break;
        }
        acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(ev), 1))));
    }
    double t[4];
    _mm256_storeu_pd(t, _mm256_add_pd(_mm512_castpd512_pd256(acc), _mm512_extractf64x4_pd(acc, 1)));
    double sum = t[0] + t[1] + t[2] + t[3];
    if (k < n) { /* fewer than 8 left: padded as the AVX2 kernel pads them */
        float in[16], out[16];
        for (int64_t j = 0; j < 16; j++) in[j] = k + j < n ? x[k + j] - mx : -100.0f;
        _mm512_storeu_ps(out, exp16(_mm512_loadu_ps(in)));
        for (int64_t j = k; j < n; j++) {
            if (y) y[j] = out[j - k];
            sum += out[j - k];
        }
    }
    return sum;
}
#else
double vigil__nn_sum_div_avx512(const float *x, int64_t n, float d)
{
    return vigil__nn_sum_div_avx2(x, n, d);
}
int64_t vigil__nn_maxpool_row_avx512(const nn_maxrow_t *r, float *y)
{
    (void)r, (void)y;
    return 0;
}
double vigil__nn_exp_rows_avx512(const float *x, float mx, float *y, int64_t n)
{
    return vigil__nn_exp_rows_avx2(x, mx, y, n);
}
#endif
