/* AVX2/FMA exp for Softmax rows (compiled with -mavx2 -mfma; ops_reduce.c
 * calls it only when the CPU has both).
 *
 * Main idea: Cephes' expf, 8 lanes at a time: n = round(x log2 e), the
 * remainder r = x - n ln 2 in two parts, a degree-5 polynomial for e^r,
 * then 2^n added to the exponent bits. Within ~2 ulp of expf on the
 * inputs Softmax gives it (x - max <= 0); values below -87.3 clamp there
 * (e^-87.3 ~ 1e-38, far below what a float sum of probabilities sees).
 * Sums are kept in double, as the scalar path does. */
#include "nn/cpu/kernels.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

static inline __m256 exp8(__m256 x)
{
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
    x = _mm256_min_ps(x, _mm256_set1_ps(88.3f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

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
