/* AVX2 conv/GEMM epilogue (compiled with -mavx2 -mfma; selected at run time
 * by epilogue.c): bias, Relu / Clip / HardSigmoid / HardSwish (both forms) / Sigmoid, then the
 * optional affine, 8 floats at a time, the tail through the portable loop. */
#include "nn/cpu/kernels.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#include "nn/cpu/exp_avx2.h"

void vigil__nn_epilogue_avx2(float *y, int64_t n, float bias, const nn_epi_t *e)
{
    const __m256 vb = _mm256_set1_ps(bias), va = _mm256_set1_ps(e->a), vbb = _mm256_set1_ps(e->b);
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    const __m256 three = _mm256_set1_ps(3.0f), six = _mm256_set1_ps(6.0f);
    const __m256 pa = _mm256_set1_ps(e->post ? e->pa : 1.0f), pb = _mm256_set1_ps(e->post ? e->pb : 0.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_add_ps(_mm256_loadu_ps(y + i), vb);
        switch (e->act) {
        case NN_ACT_RELU: x = _mm256_max_ps(x, zero); break;
        case NN_ACT_CLIP: x = _mm256_min_ps(_mm256_max_ps(x, va), vbb); break;
        case NN_ACT_HARDSIGMOID:
            x = _mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(x, va, vbb), zero), one);
            break;
        case NN_ACT_HARDSWISH:
            x = _mm256_mul_ps(x, _mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(x, va, vbb), zero), one));
            break;
        case NN_ACT_HARDSWISH_TF: /* (x * a) * clip(x + 3, 0, 6): the portable loop's operations */
            x = _mm256_mul_ps(_mm256_mul_ps(x, va),
                              _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(x, three), zero), six));
            break;
        case NN_ACT_SIGMOID: /* 1 / (1 + e^-x); e^-x clamps at e^88.3, so no inf / inf */
            x = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(zero, x))));
            break;
        default: break;
        }
        if (e->post) x = _mm256_fmadd_ps(x, pa, pb);
        _mm256_storeu_ps(y + i, x);
    }
    if (i < n) vigil__nn_epilogue_c(y + i, n - i, bias, e);
}
#else
void vigil__nn_epilogue_avx2(float *y, int64_t n, float bias, const nn_epi_t *e)
{
    vigil__nn_epilogue_c(y, n, bias, e);
}
#endif
