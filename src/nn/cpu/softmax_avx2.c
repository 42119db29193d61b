/* AVX2/FMA exp for Softmax rows (compiled with -mavx2 -mfma; ops_reduce.c
 * calls it only when the CPU has both): exp8 (exp_avx2.h) over a row,
 * sums kept in double as the scalar path does. Inputs are x - max <= 0;
 * values below -87.3 clamp there (e^-87.3 ~ 1e-38, far below what a float
 * sum of probabilities sees). */
#include "nn/cpu/kernels.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#include "nn/cpu/exp_avx2.h"

double vigil__nn_exp_rows_avx2(const float *x, float mx, float *y, int64_t n)
{
    __m256 vm = _mm256_set1_ps(mx);
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    int64_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256 ev = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + k), vm));
        if (y) _mm256_storeu_ps(y + k, ev);
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(ev)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(ev, 1)));
    }
    double t[4];
    _mm256_storeu_pd(t, _mm256_add_pd(s0, s1));
    double sum = t[0] + t[1] + t[2] + t[3];
    if (k < n) {
        float in[8] = {0}, out[8];
        for (int64_t j = k; j < n; j++) in[j - k] = x[j] - mx;
        for (int64_t j = n - k; j < 8; j++) in[j] = -100.0f; /* clamps to ~1e-38, not summed */
        _mm256_storeu_ps(out, exp8(_mm256_loadu_ps(in)));
        for (int64_t j = k; j < n; j++) {
            if (y) y[j] = out[j - k];
            sum += out[j - k];
        }
    }
    return sum;
}
#else
double vigil__nn_exp_rows_avx2(const float *x, float mx, float *y, int64_t n)
{
    (void)x, (void)mx, (void)y, (void)n;
    return 0;
}
#endif
