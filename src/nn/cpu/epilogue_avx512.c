/* AVX-512 conv/GEMM epilogue (compiled with -mavx512f ...; selected by
 * epilogue.c on the avx512 tier): the AVX2 epilogue's operations on 16
 * floats at a time, the tail under a mask instead of the portable loop, so
 * each element gets exactly the AVX2 tier's result. Sigmoid runs the AVX2
 * exp on each half. Also the INT8 convs' dequantizing epilogue on VNNI:
 * s32 sums minus the zero-point correction, times the scale, then the
 * same epilogue, written straight into the output row. */
#include "nn/cpu/kernels.h"
#include "nn/cpu/qconv.h"

#if defined(__AVX512F__) && defined(__AVX512DQ__)
#include <immintrin.h>

#include "nn/cpu/exp_avx2.h"

typedef struct epi16 {
    __m512 b, a, bb, zero, one, three, six, pa, pb;
} epi16_t;

static inline void epi16_init(epi16_t *k, float bias, const nn_epi_t *e)
{
    k->b = _mm512_set1_ps(bias);
    k->a = _mm512_set1_ps(e->a);
    k->bb = _mm512_set1_ps(e->b);
    k->zero = _mm512_setzero_ps();
    k->one = _mm512_set1_ps(1.0f);
    k->three = _mm512_set1_ps(3.0f);
    k->six = _mm512_set1_ps(6.0f);
    k->pa = _mm512_set1_ps(e->post ? e->pa : 1.0f);
    k->pb = _mm512_set1_ps(e->post ? e->pb : 0.0f);
}

static inline __m512 exp16(__m512 x)
{
    __m256 lo = exp8(_mm512_castps512_ps256(x)), hi = exp8(_mm512_extractf32x8_ps(x, 1));
    return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
}

/* bias, activation, affine: epilogue_avx2.c's operations */
static inline __m512 epi16_apply(__m512 x, const epi16_t *k, const nn_epi_t *e)
{
    x = _mm512_add_ps(x, k->b);
    switch (e->act) {
    case NN_ACT_RELU: x = _mm512_max_ps(x, k->zero); break;
    case NN_ACT_CLIP: x = _mm512_min_ps(_mm512_max_ps(x, k->a), k->bb); break;
    case NN_ACT_HARDSIGMOID: x = _mm512_min_ps(_mm512_max_ps(_mm512_fmadd_ps(x, k->a, k->bb), k->zero), k->one); break;
    case NN_ACT_HARDSWISH:
        x = _mm512_mul_ps(x, _mm512_min_ps(_mm512_max_ps(_mm512_fmadd_ps(x, k->a, k->bb), k->zero), k->one));
        break;
    case NN_ACT_HARDSWISH_TF:
        x = _mm512_mul_ps(_mm512_mul_ps(x, k->a), _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(x, k->three), k->zero), k->six));
        break;
    case NN_ACT_SIGMOID: x = _mm512_div_ps(k->one, _mm512_add_ps(k->one, exp16(_mm512_sub_ps(k->zero, x)))); break;
    default: break;
    }
    if (e->post) x = _mm512_fmadd_ps(x, k->pa, k->pb);
    return x;
}

void vigil__nn_epilogue_avx512(float *y, int64_t n, float bias, const nn_epi_t *e)
{
    epi16_t k;
    epi16_init(&k, bias, e);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, epi16_apply(_mm512_loadu_ps(y + i), &k, e));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, epi16_apply(_mm512_maskz_loadu_ps(m, y + i), &k, e));
    }
}

void vigil__nn_qepilogue_avx512(const int32_t *acc, int32_t corr, float scale, float bias, const nn_epi_t *e,
                                float *y, int64_t n)
{
    epi16_t k;
    epi16_init(&k, bias, e);
    const __m512i vc = _mm512_set1_epi32(corr);
    const __m512 vs = _mm512_set1_ps(scale);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512i s = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(m, acc + i), vc);
        __m512 x = _mm512_mul_ps(_mm512_cvtepi32_ps(s), vs);
        _mm512_mask_storeu_ps(y + i, m, epi16_apply(x, &k, e));
    }
}
#endif
