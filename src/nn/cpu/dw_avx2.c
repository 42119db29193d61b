/* AVX2/FMA depthwise convolution of one channel plane (compiled with
 * -mavx2 -mfma; ops_conv.c calls it only when the CPU has both).
 *
 * Main idea: register blocking along the output row. For 8 output columns
 * whose taps are all inside the input row, every tap (ki, kj) is one FMA
 * into one accumulator (stride 1: a plain load; stride 2: two loads and an
 * even-lane shuffle), stored once; columns near the borders (and strides
 * other than 1 or 2) take a scalar loop with bounds checks.
 *
 * Rounding: each output sums its taps from 0 in (ki, kj) order with one
 * rounding per tap (FMA), then adds the bias: the order of TF.js's CPU
 * depthwise kernel (float32 accumulator, exact products, bias added by the
 * fused BiasAdd afterwards). Starting from the bias instead rounded the
 * small tap sums against a large bias: CenterNet's outputs drifted ~7e-6
 * relative from the reference (1.3e-3 on a 160 px box coordinate). */
#include <string.h>

#include "nn/cpu/kernels.h"

static float dw_point(const float *x, const nn_dw_geom_t *g, const float *k, int64_t oh, int64_t ow, float bias)
{
    float s = 0;
    for (int64_t ki = 0; ki < g->kh; ki++) {
        int64_t ih = oh * g->sh - g->pt + ki * g->dh;
        if (ih < 0 || ih >= g->H) continue;
        for (int64_t kj = 0; kj < g->kw; kj++) {
            int64_t iw = ow * g->sw - g->pl + kj * g->dw;
            if (iw >= 0 && iw < g->W) s = __builtin_fmaf(k[ki * g->kw + kj], x[ih * g->W + iw], s);
        }
    }
    return s + bias;
}


/* padded plane geometry: rows from ih = -pt, columns from iw = -pl, wide
 * enough for whole 8-column vectors (stride 2 loads 16 floats) */
static void pad_dims(const nn_dw_geom_t *g, int64_t *hp, int64_t *wp)
{
    int64_t owr = (g->OW + 7) / 8 * 8;
    *hp = (g->OH - 1) * g->sh + (g->kh - 1) * g->dh + 1;
    *wp = owr * g->sw + (g->kw - 1) * g->dw + 16;
}

size_t vigil__nn_dw_pad_floats(const nn_dw_geom_t *g)
{
    if (g->sw != 1 && g->sw != 2) return 0;
    int64_t hp, wp;
    pad_dims(g, &hp, &wp);
    return (size_t)(hp * wp);
}

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

/* 8 input columns from p: stride 1 a plain load, stride 2 the even lanes of 16 */
static inline __m256 ldv(const float *p, int64_t sw)
{
    if (sw == 1) return _mm256_loadu_ps(p);
    __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
    __m256 v = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), _MM_SHUFFLE(3, 1, 2, 0)));
}

void vigil__nn_dw_plane_avx2(const float *x, const nn_dw_geom_t *g, const float *k, float bias, float *y)
{
    /* output columns whose taps all lie in [0, W) (last one + 1 for stride 2's paired load) */
    int64_t lo = (g->pl + g->sw - 1) / g->sw, span = (g->kw - 1) * g->dw - g->pl + (g->sw == 2 ? 1 : 0);
    int64_t hi = g->W - 1 - span < 0 ? -1 : (g->W - 1 - span) / g->sw;
    if (hi > g->OW - 1) hi = g->OW - 1;
    int vec = g->sw == 1 || g->sw == 2;
    for (int64_t oh = 0; oh < g->OH; oh++) {
        float *yr = y + oh * g->OW;
        int64_t ow = 0;
        for (; ow < lo && ow < g->OW; ow++) yr[ow] = dw_point(x, g, k, oh, ow, bias);
        if (vec)
            for (; ow + 8 <= hi + 1; ow += 8) {
                __m256 acc = _mm256_setzero_ps();
                for (int64_t ki = 0; ki < g->kh; ki++) {
                    int64_t ih = oh * g->sh - g->pt + ki * g->dh;
                    if (ih < 0 || ih >= g->H) continue;
                    const float *xr = x + ih * g->W + ow * g->sw - g->pl;
                    const float *kr = k + ki * g->kw;
                    for (int64_t kj = 0; kj < g->kw; kj++) {
                        const float *p = xr + kj * g->dw;
                        __m256 v;
                        if (g->sw == 1) {
                            v = _mm256_loadu_ps(p);
                        } else {
                            __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
                            v = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
                            v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), _MM_SHUFFLE(3, 1, 2, 0)));
                        }
                        acc = _mm256_fmadd_ps(_mm256_set1_ps(kr[kj]), v, acc);
                    }
                }
                _mm256_storeu_ps(yr + ow, _mm256_add_ps(acc, _mm256_set1_ps(bias)));
            }
        for (; ow < g->OW; ow++) yr[ow] = dw_point(x, g, k, oh, ow, bias);
    }
}
void vigil__nn_dw_plane_padded_avx2(const float *x, const nn_dw_geom_t *g, const float *k, float bias,
                                    float *y, float *pad)
{
    int64_t hp, wp;
    pad_dims(g, &hp, &wp);
    for (int64_t r = 0; r < hp; r++) {
        float *d = pad + r * wp;
        int64_t ih = r - g->pt;
        if (ih < 0 || ih >= g->H) {
            memset(d, 0, sizeof(float) * (size_t)wp);
            continue;
        }
        int64_t n = g->W < wp - g->pl ? g->W : wp - g->pl;
        memset(d, 0, sizeof(float) * (size_t)g->pl);
        memcpy(d + g->pl, x + ih * g->W, sizeof(float) * (size_t)n);
        memset(d + g->pl + n, 0, sizeof(float) * (size_t)(wp - g->pl - n));
    }
    __m256 vb = _mm256_set1_ps(bias);
    for (int64_t oh = 0; oh < g->OH; oh++) {
        float *yr = y + oh * g->OW;
        int64_t ow = 0;
        /* 32 columns at a time: four independent FMA chains (one chain of
         * kh*kw dependent FMAs was latency-bound); each output still sums its
         * taps in (ki, kj) order */
        for (; ow + 32 <= g->OW; ow += 32) {
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int64_t ki = 0; ki < g->kh; ki++) {
                const float *xr = pad + (oh * g->sh + ki * g->dh) * wp + ow * g->sw;
                const float *kr = k + ki * g->kw;
                for (int64_t kj = 0; kj < g->kw; kj++) {
                    const float *p = xr + kj * g->dw;
                    __m256 kv = _mm256_set1_ps(kr[kj]);
                    a0 = _mm256_fmadd_ps(kv, ldv(p, g->sw), a0);
                    a1 = _mm256_fmadd_ps(kv, ldv(p + 8 * g->sw, g->sw), a1);
                    a2 = _mm256_fmadd_ps(kv, ldv(p + 16 * g->sw, g->sw), a2);
                    a3 = _mm256_fmadd_ps(kv, ldv(p + 24 * g->sw, g->sw), a3);
                }
            }
            _mm256_storeu_ps(yr + ow, _mm256_add_ps(a0, vb));
            _mm256_storeu_ps(yr + ow + 8, _mm256_add_ps(a1, vb));
            _mm256_storeu_ps(yr + ow + 16, _mm256_add_ps(a2, vb));
            _mm256_storeu_ps(yr + ow + 24, _mm256_add_ps(a3, vb));
        }
        for (; ow < g->OW; ow += 8) {
            __m256 acc = _mm256_setzero_ps();
            for (int64_t ki = 0; ki < g->kh; ki++) {
                const float *xr = pad + (oh * g->sh + ki * g->dh) * wp + ow * g->sw;
                const float *kr = k + ki * g->kw;
                for (int64_t kj = 0; kj < g->kw; kj++)
                    acc = _mm256_fmadd_ps(_mm256_set1_ps(kr[kj]), ldv(xr + kj * g->dw, g->sw), acc);
            }
            acc = _mm256_add_ps(acc, vb);
            if (ow + 8 <= g->OW) {
                _mm256_storeu_ps(yr + ow, acc);
            } else {
                float t[8];
                _mm256_storeu_ps(t, acc);
                memcpy(yr + ow, t, sizeof(float) * (size_t)(g->OW - ow));
            }
        }
    }
}
#else
void vigil__nn_dw_plane_avx2(const float *x, const nn_dw_geom_t *g, const float *k, float bias, float *y)
{
    for (int64_t oh = 0; oh < g->OH; oh++)
        for (int64_t ow = 0; ow < g->OW; ow++) y[oh * g->OW + ow] = dw_point(x, g, k, oh, ow, bias);
}
void vigil__nn_dw_plane_padded_avx2(const float *x, const nn_dw_geom_t *g, const float *k, float bias,
                                    float *y, float *pad)
{
    (void)pad;
    vigil__nn_dw_plane_avx2(x, g, k, bias, y);
}
#endif
