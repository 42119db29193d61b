/* AVX-512 depthwise convolution of one channel plane through the
 * zero-padded copy (compiled with -mavx512f ...; ops_conv.c calls it on the
 * avx512 tier for strides 1 and 2). The AVX2 padded kernel's scheme on
 * zmm: 16 output columns a vector, four independent FMA chains (64
 * columns) per block, stride 2 taking the even lanes of 32 floats; each
 * output sums its taps from 0 in (ki, kj) order with one FMA each, then
 * adds the bias, so the result is the AVX2 tier's to the bit. The last
 * vector of a row is stored under a mask. */
#include "nn/cpu/kernels.h"

#if defined(__AVX512F__)
#include <immintrin.h>

/* 16 input columns from p: stride 1 a plain load, stride 2 the even lanes of 32 */
static inline __m512 ldv16(const float *p, int64_t sw, __m512i even)
{
    if (sw == 1) return _mm512_loadu_ps(p);
    return _mm512_permutex2var_ps(_mm512_loadu_ps(p), even, _mm512_loadu_ps(p + 16));
}

void vigil__nn_dw_plane_padded_avx512(const float *x, const nn_dw_geom_t *g, const float *k, float bias,
                                      float *y, float *pad)
{
    int64_t wp = vigil__nn_dw_pad_plane(x, g, pad), sw = g->sw;
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512 vb = _mm512_set1_ps(bias);
    for (int64_t oh = 0; oh < g->OH; oh++) {
        float *yr = y + oh * g->OW;
        int64_t ow = 0;
        for (; ow + 64 <= g->OW; ow += 64) {
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int64_t ki = 0; ki < g->kh; ki++) {
                const float *xr = pad + (oh * g->sh + ki * g->dh) * wp + ow * sw;
                const float *kr = k + ki * g->kw;
                for (int64_t kj = 0; kj < g->kw; kj++) {
                    const float *p = xr + kj * g->dw;
                    __m512 kv = _mm512_set1_ps(kr[kj]);
                    a0 = _mm512_fmadd_ps(kv, ldv16(p, sw, even), a0);
                    a1 = _mm512_fmadd_ps(kv, ldv16(p + 16 * sw, sw, even), a1);
                    a2 = _mm512_fmadd_ps(kv, ldv16(p + 32 * sw, sw, even), a2);
                    a3 = _mm512_fmadd_ps(kv, ldv16(p + 48 * sw, sw, even), a3);
                }
            }
            _mm512_storeu_ps(yr + ow, _mm512_add_ps(a0, vb));
            _mm512_storeu_ps(yr + ow + 16, _mm512_add_ps(a1, vb));
            _mm512_storeu_ps(yr + ow + 32, _mm512_add_ps(a2, vb));
            _mm512_storeu_ps(yr + ow + 48, _mm512_add_ps(a3, vb));
        }
        for (; ow < g->OW; ow += 16) {
            __m512 acc = _mm512_setzero_ps();
            for (int64_t ki = 0; ki < g->kh; ki++) {
                const float *xr = pad + (oh * g->sh + ki * g->dh) * wp + ow * sw;
                const float *kr = k + ki * g->kw;
                for (int64_t kj = 0; kj < g->kw; kj++)
                    acc = _mm512_fmadd_ps(_mm512_set1_ps(kr[kj]), ldv16(xr + kj * g->dw, sw, even), acc);
            }
            int64_t n = g->OW - ow < 16 ? g->OW - ow : 16;
            _mm512_mask_storeu_ps(yr + ow, (__mmask16)((1u << n) - 1), _mm512_add_ps(acc, vb));
        }
    }
}
#endif
