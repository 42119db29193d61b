/* AVX-512 depthwise convolution of one channel plane (compiled with
 * -mavx512f ...; ops_conv.c calls it on the avx512 tier for strides 1 and 2,
 * kernels up to 8 wide). The AVX2 padded kernel's scheme on zmm, without
 * the padded copy (masked loads read the borders as zeros): 16 output columns a vector, four independent FMA chains (64
 * columns) per block, the rest of a row (1-3 vectors, the last under a
 * mask) in one block, two rows at once when it is 1-2 vectors (narrow
 * planes: more chains in flight), stride 2 taking the even lanes of 32
 * floats; each
 * output sums its taps from 0 in (ki, kj) order with one FMA each, then
 * adds the bias, so the result is the AVX2 tier's to the bit. */
#include "nn/cpu/kernels.h"

#if defined(__AVX512F__)
#include <immintrin.h>

/* Lanes of a 16-float load from column c0 of a row of W that lie in the row. */
static inline __mmask16 colmask(int64_t c0, int64_t W)
{
    int64_t lo = c0 < 0 ? -c0 : 0, hi = W - c0 < 16 ? W - c0 : 16;
    if (hi <= lo) return 0;
    return (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1));
}

#define DW_MAX_KW 8

/* NR rows from oh, NV vectors of 16 columns from ow, read straight from the
 * plane x: taps outside it are masked-off lanes (zero) or skipped rows,
 * which changes no sum (a zero tap adds +-0 to a sum that is never -0).
 * NR * NV independent FMA chains; called with constants, so the
 * accumulators stay in registers. The last vector is stored under m. */
static inline __attribute__((always_inline)) void
dw_block(const float *x, const nn_dw_geom_t *g, const float *k, int64_t oh, int64_t ow, int NR, int NV,
         __mmask16 m, __m512 vb, __m512i even, float *y)
{
    __m512 acc[2][4];
    __mmask16 ma[DW_MAX_KW][4], mb[DW_MAX_KW][4];
    int64_t sw = g->sw;
    for (int64_t kj = 0; kj < g->kw; kj++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            int64_t c0 = (ow + 16 * v) * sw - g->pl + kj * g->dw;
            ma[kj][v] = colmask(c0, g->W);
            mb[kj][v] = sw == 2 ? colmask(c0 + 16, g->W) : 0;
        }
#pragma GCC unroll 2
    for (int r = 0; r < NR; r++) {
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();
        for (int64_t ki = 0; ki < g->kh; ki++) {
            int64_t ih = (oh + r) * g->sh - g->pt + ki * g->dh;
            if (ih < 0 || ih >= g->H) continue;
            const float *xr = x + ih * g->W + ow * sw - g->pl, *kr = k + ki * g->kw;
            for (int64_t kj = 0; kj < g->kw; kj++) {
                __m512 kv = _mm512_set1_ps(kr[kj]);
                const float *p = xr + kj * g->dw;
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) {
                    const float *q = p + 16 * v * sw;
                    __m512 xv = _mm512_maskz_loadu_ps(ma[kj][v], q);
                    if (sw == 2) xv = _mm512_permutex2var_ps(xv, even, _mm512_maskz_loadu_ps(mb[kj][v], q + 16));
                    acc[r][v] = _mm512_fmadd_ps(kv, xv, acc[r][v]);
                }
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

int vigil__nn_dw_plane_avx512_fits(const nn_dw_geom_t *g)
{
    return (g->sw == 1 || g->sw == 2) && g->kw <= DW_MAX_KW;
}

void vigil__nn_dw_plane_avx512(const float *x, const nn_dw_geom_t *g, const float *k, float bias, float *y)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512 vb = _mm512_set1_ps(bias);
    const __mmask16 all = 0xffff;
    int64_t full = g->OW / 64 * 64, rest = g->OW - full, nv = (rest + 15) / 16;
    __mmask16 m = rest % 16 ? (__mmask16)((1u << (rest % 16)) - 1) : all;
    for (int64_t oh = 0; oh < g->OH;) {
        /* a narrow rest runs two rows at once: more chains in flight */
        int two = nv && nv <= 2 && oh + 1 < g->OH;
        for (int64_t ow = 0; ow < full; ow += 64) {
            dw_block(x, g, k, oh, ow, 1, 4, all, vb, even, y);
            if (two) dw_block(x, g, k, oh + 1, ow, 1, 4, all, vb, even, y);
        }
        switch (nv * (two ? 10 : 1)) {
        case 1: dw_block(x, g, k, oh, full, 1, 1, m, vb, even, y); break;
        case 2: dw_block(x, g, k, oh, full, 1, 2, m, vb, even, y); break;
        case 3: dw_block(x, g, k, oh, full, 1, 3, m, vb, even, y); break;
        case 4: dw_block(x, g, k, oh, full, 1, 4, m, vb, even, y); break;
        case 10: dw_block(x, g, k, oh, full, 2, 1, m, vb, even, y); break;
        case 20: dw_block(x, g, k, oh, full, 2, 2, m, vb, even, y); break;
        default: break;
        }
        oh += two ? 2 : 1;
    }
}
#endif
