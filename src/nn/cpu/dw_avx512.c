/* AVX-512 depthwise convolution of one channel plane through the
 * zero-padded copy (compiled with -mavx512f ...; ops_conv.c calls it on the
 * avx512 tier for strides 1 and 2). The AVX2 padded kernel's scheme on
 * zmm: 16 output columns a vector, four independent FMA chains (64
 * columns) per block, the rest of a row (1-3 vectors, the last under a
 * mask) in one block, two rows at once when it is 1-2 vectors (narrow
 * planes: more chains in flight), stride 2 taking the even lanes of 32
 * floats; each
 * output sums its taps from 0 in (ki, kj) order with one FMA each, then
 * adds the bias, so the result is the AVX2 tier's to the bit. */
#include "nn/cpu/kernels.h"

#if defined(__AVX512F__)
#include <immintrin.h>

/* 16 input columns from p: stride 1 a plain load, stride 2 the even lanes of 32 */
static inline __m512 ldv16(const float *p, int64_t sw, __m512i even)
{
    if (sw == 1) return _mm512_loadu_ps(p);
    return _mm512_permutex2var_ps(_mm512_loadu_ps(p), even, _mm512_loadu_ps(p + 16));
}

/* NR rows from oh, NV vectors of 16 columns from ow (the last n16 columns
 * of the last vector stored under mask m): NR * NV independent FMA chains.
 * Called with constants, so the accumulators stay in registers. */
static inline __attribute__((always_inline)) void
dw_block(const float *pad, const nn_dw_geom_t *g, const float *k, int64_t wp, int64_t oh, int64_t ow, int NR,
         int NV, __mmask16 m, __m512 vb, __m512i even, float *y)
{
    __m512 acc[2][4];
#pragma GCC unroll 2
    for (int r = 0; r < NR; r++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();
    int64_t sw = g->sw;
    for (int64_t ki = 0; ki < g->kh; ki++) {
        const float *kr = k + ki * g->kw;
        for (int64_t kj = 0; kj < g->kw; kj++) {
            __m512 kv = _mm512_set1_ps(kr[kj]);
#pragma GCC unroll 2
            for (int r = 0; r < NR; r++) {
                const float *p = pad + ((oh + r) * g->sh + ki * g->dh) * wp + ow * sw + kj * g->dw;
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(kv, ldv16(p + 16 * v * sw, sw, even), acc[r][v]);
            }
        }
    }
#pragma GCC unroll 2
    for (int r = 0; r < NR; r++) {
        float *yr = y + (oh + r) * g->OW + ow;
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            _mm512_mask_storeu_ps(yr + 16 * v, v == NV - 1 ? m : (__mmask16)0xffff, _mm512_add_ps(acc[r][v], vb));
    }
}

void vigil__nn_dw_plane_padded_avx512(const float *x, const nn_dw_geom_t *g, const float *k, float bias,
                                      float *y, float *pad)
{
    int64_t wp = vigil__nn_dw_pad_plane(x, g, pad);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512 vb = _mm512_set1_ps(bias);
    const __mmask16 all = 0xffff;
    int64_t full = g->OW / 64 * 64, rest = g->OW - full, nv = (rest + 15) / 16;
    __mmask16 m = rest % 16 ? (__mmask16)((1u << (rest % 16)) - 1) : all;
    for (int64_t oh = 0; oh < g->OH;) {
        /* a narrow rest runs two rows at once: more chains in flight */
        int two = nv && nv <= 2 && oh + 1 < g->OH;
        for (int64_t ow = 0; ow < full; ow += 64) {
            dw_block(pad, g, k, wp, oh, ow, 1, 4, all, vb, even, y);
            if (two) dw_block(pad, g, k, wp, oh + 1, ow, 1, 4, all, vb, even, y);
        }
        switch (nv * (two ? 10 : 1)) {
        case 1: dw_block(pad, g, k, wp, oh, full, 1, 1, m, vb, even, y); break;
        case 2: dw_block(pad, g, k, wp, oh, full, 1, 2, m, vb, even, y); break;
        case 3: dw_block(pad, g, k, wp, oh, full, 1, 3, m, vb, even, y); break;
        case 4: dw_block(pad, g, k, wp, oh, full, 1, 4, m, vb, even, y); break;
        case 10: dw_block(pad, g, k, wp, oh, full, 2, 1, m, vb, even, y); break;
        case 20: dw_block(pad, g, k, wp, oh, full, 2, 2, m, vb, even, y); break;
        default: break;
        }
        oh += two ? 2 : 1;
    }
}
#endif
