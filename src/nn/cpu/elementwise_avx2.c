/* AVX2 float Add/Sub/Mul/Div for the contiguous and scalar-broadcast cases
 * of the elementwise kernels (compiled with -mavx2 -mfma; ops_elementwise.c
 * calls it only when the CPU has both). At -O2 the generic loops stay
 * scalar (the output may alias an input, so gcc would need versioning),
 * and PP-OCRv4's residual Adds and SE Muls are 5-8% of det. Same IEEE
 * results as the scalar loops (one rounding per element, no FMA). */
#include "nn/cpu/kernels.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#define LOOP(OPV, OPS, LA, LB, SA, SB)                                                          \
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(o + i, OPV(LA, LB));                           \
    for (; i < n; i++) o[i] = SA OPS SB;

#define CASES(OPV, OPS)                                                                         \
    if (sa == 1 && sb == 1) {                                                                   \
        LOOP(OPV, OPS, _mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), a[i], b[i])              \
    } else if (sa == 1) {                                                                       \
        __m256 vb = _mm256_set1_ps(b[0]);                                                       \
        LOOP(OPV, OPS, _mm256_loadu_ps(a + i), vb, a[i], b[0])                                  \
    } else {                                                                                    \
        __m256 va = _mm256_set1_ps(a[0]);                                                       \
        LOOP(OPV, OPS, va, _mm256_loadu_ps(b + i), a[0], b[i])                                  \
    }

int vigil__nn_binf_avx2(int op, float *o, const float *a, int64_t sa, const float *b, int64_t sb,
                        int64_t n)
{
    if ((sa != 0 && sa != 1) || (sb != 0 && sb != 1) || (!sa && !sb)) return 0;
    int64_t i = 0;
    switch (op) {
    case 0: CASES(_mm256_add_ps, +) break;
    case 1: CASES(_mm256_sub_ps, -) break;
    case 2: CASES(_mm256_mul_ps, *) break;
    case 3: CASES(_mm256_div_ps, /) break;
    default: return 0;
    }
    return 1;
}
void vigil__nn_relu_clip_avx2(float *y, const float *x, int64_t n, int relu, float lo, float hi)
{
    /* maxps/minps return their second operand when either is NaN or both
     * are zeros: max(x, 0) is Relu's x > 0 ? x : 0 (NaN and -0 -> +0);
     * min(hi, max(lo, x)) keeps a NaN x and an x equal to a bound, as the
     * scalar Clip */
    const __m256 vlo = _mm256_set1_ps(relu ? 0.0f : lo), vhi = _mm256_set1_ps(hi);
    int64_t i = 0;
    if (relu)
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_max_ps(_mm256_loadu_ps(x + i), vlo));
    else
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_min_ps(vhi, _mm256_max_ps(vlo, _mm256_loadu_ps(x + i))));
    for (; i < n; i++) y[i] = relu ? (x[i] > 0 ? x[i] : 0) : x[i] < lo ? lo : x[i] > hi ? hi : x[i];
}

double vigil__nn_sum_div_avx2(const float *x, int64_t n, float d)
{
    const __m256 vd = _mm256_set1_ps(d);
    __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 a = _mm256_div_ps(_mm256_loadu_ps(x + i), vd), b = _mm256_div_ps(_mm256_loadu_ps(x + i + 8), vd);
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(a)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)));
        s2 = _mm256_add_pd(s2, _mm256_cvtps_pd(_mm256_castps256_ps128(b)));
        s3 = _mm256_add_pd(s3, _mm256_cvtps_pd(_mm256_extractf128_ps(b, 1)));
    }
    double lanes[4];
    _mm256_storeu_pd(lanes, _mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3)));
    double s = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    for (; i < n; i++) s += x[i] / d;
    return s;
}
#else
int vigil__nn_binf_avx2(int op, float *o, const float *a, int64_t sa, const float *b, int64_t sb,
                        int64_t n)
{
    (void)op, (void)o, (void)a, (void)sa, (void)b, (void)sb, (void)n;
    return 0;
}
void vigil__nn_relu_clip_avx2(float *y, const float *x, int64_t n, int relu, float lo, float hi)
{
    for (int64_t i = 0; i < n; i++) y[i] = relu ? (x[i] > 0 ? x[i] : 0) : x[i] < lo ? lo : x[i] > hi ? hi : x[i];
}
double vigil__nn_sum_div_avx2(const float *x, int64_t n, float d)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += x[i] / d;
    return s;
}
#endif
