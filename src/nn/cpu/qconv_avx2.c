/* AVX2 INT8 kernels (compiled with -mavx2 -mfma; selected at run time by
 * qconv.c): the 6x16 s16-pair micro-kernel on vpmaddwd, the input
 * quantizer and the depthwise plane. Each gives the same integers as its
 * portable twin in qconv.c (integer sums are exact in any order). */
#include <string.h>

#include "nn/cpu/qconv.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

void vigil__nn_qukernel_avx2(int64_t kpairs, const int16_t *a, const int16_t *b, int32_t *c)
{
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
            c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const int32_t *a32 = (const int32_t *)(const void *)a;
    for (int64_t p = 0; p < kpairs; p++) {
        /* b: 16 columns x (k, k+1) = two vectors of 8 columns */
        __m256i b0 = _mm256_loadu_si256((const __m256i *)(const void *)(b + p * 32));
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(const void *)(b + p * 32 + 16));
        const int32_t *ap = a32 + p * NN_MR;
        __m256i x;
#define ROW(r, lo, hi)                                                                      \
    x = _mm256_set1_epi32(ap[r]);                                                           \
    lo = _mm256_add_epi32(lo, _mm256_madd_epi16(x, b0));                                    \
    hi = _mm256_add_epi32(hi, _mm256_madd_epi16(x, b1))
        ROW(0, c00, c01);
        ROW(1, c10, c11);
        ROW(2, c20, c21);
        ROW(3, c30, c31);
        ROW(4, c40, c41);
        ROW(5, c50, c51);
#undef ROW
    }
#define ST(r, lo, hi)                                                                       \
    _mm256_storeu_si256((__m256i *)(void *)(c + (r) * NN_NR), lo);                          \
    _mm256_storeu_si256((__m256i *)(void *)(c + (r) * NN_NR + 8), hi)
    ST(0, c00, c01);
    ST(1, c10, c11);
    ST(2, c20, c21);
    ST(3, c30, c31);
    ST(4, c40, c41);
    ST(5, c50, c51);
#undef ST
}

void vigil__nn_qpack_b_rows_avx2(const int16_t *base, const int64_t *offs, int64_t K, int16_t *dst)
{
    int64_t k = 0;
    for (; k + 2 <= K; k += 2, dst += 32) {
        __m256i r0 = _mm256_loadu_si256((const __m256i *)(const void *)(base + offs[k]));
        __m256i r1 = _mm256_loadu_si256((const __m256i *)(const void *)(base + offs[k + 1]));
        __m256i lo = _mm256_unpacklo_epi16(r0, r1), hi = _mm256_unpackhi_epi16(r0, r1);
        _mm256_storeu_si256((__m256i *)(void *)dst, _mm256_permute2x128_si256(lo, hi, 0x20));
        _mm256_storeu_si256((__m256i *)(void *)(dst + 16), _mm256_permute2x128_si256(lo, hi, 0x31));
    }
    if (k < K) vigil__nn_qpack_b_rows_c(base, offs + k, 1, dst);
}

static inline __m256i quant8(const float *x, __m256 inv, __m256 lo, __m256 hi, __m256i zp,
                             __m256i qmax)
{
    __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x), inv);
    v = _mm256_min_ps(_mm256_max_ps(v, lo), hi); /* NaN -> lo, as the C path */
    __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(v), zp);
    q = _mm256_min_epi32(_mm256_max_epi32(q, _mm256_setzero_si256()), qmax);
    return _mm256_sub_epi32(q, zp);
}

void vigil__nn_quantize_s16_avx2(const float *x, int64_t n, float inv_scale, int zp, int16_t *y)
{
    const __m256 inv = _mm256_set1_ps(inv_scale), lo = _mm256_set1_ps(-1e6f), hi = _mm256_set1_ps(1e6f);
    const __m256i vzp = _mm256_set1_epi32(zp), qmax = _mm256_set1_epi32(255);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i a = quant8(x + i, inv, lo, hi, vzp, qmax), b = quant8(x + i + 8, inv, lo, hi, vzp, qmax);
        __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8);
        _mm256_storeu_si256((__m256i *)(void *)(y + i), p);
    }
    vigil__nn_quantize_s16_c(x + i, n - i, inv_scale, zp, y + i);
}

static int64_t ceil8(int64_t v)
{
    return (v + 7) / 8 * 8;
}

size_t vigil__nn_qdw_pad_len(const nn_dw_geom_t *g)
{
    if (g->sw != 1 && g->sw != 2) return 0;
    int64_t hp = (g->OH - 1) * g->sh + (g->kh - 1) * g->dh + 1;
    int64_t wp = g->sw * ceil8(g->OW) + (g->kw - 1) * g->dw + 1;
    return (size_t)(hp * wp);
}

void vigil__nn_qdw_plane_avx2(const int16_t *x, const nn_dw_geom_t *g, const int8_t *k, int32_t *acc,
                              int16_t *pad)
{
    int64_t hp = (g->OH - 1) * g->sh + (g->kh - 1) * g->dh + 1;
    int64_t wp = g->sw * ceil8(g->OW) + (g->kw - 1) * g->dw + 1;
    memset(pad, 0, sizeof(int16_t) * (size_t)(hp * wp));
    for (int64_t r = 0; r < hp; r++) { /* pad row r = input row r - pt */
        int64_t ih = r - g->pt;
        if (ih < 0 || ih >= g->H) continue;
        int64_t c0 = g->pl, n = g->W; /* input column iw at pad column iw + pl */
        if (c0 + n > wp) n = wp - c0;
        if (n > 0) memcpy(pad + r * wp + c0, x + ih * g->W, sizeof(int16_t) * (size_t)n);
    }
    int32_t tmp[8];
    for (int64_t oh = 0; oh < g->OH; oh++) {
        for (int64_t ow = 0; ow < g->OW; ow += 8) {
            __m256i s = _mm256_setzero_si256();
            for (int64_t ki = 0; ki < g->kh; ki++) {
                const int16_t *pr = pad + (oh * g->sh + ki * g->dh) * wp + ow * g->sw;
                for (int64_t kj = 0; kj < g->kw; kj++) {
                    const int16_t *p = pr + kj * g->dw;
                    int32_t kv = k[ki * g->kw + kj];
                    if (g->sw == 1) {
                        __m256i v = _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)(const void *)p));
                        s = _mm256_add_epi32(s, _mm256_mullo_epi32(v, _mm256_set1_epi32(kv)));
                    } else { /* pairs (x[2i], x[2i+1]) x (kv, 0) */
                        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
                        s = _mm256_add_epi32(s, _mm256_madd_epi16(v, _mm256_set1_epi32(kv & 0xffff)));
                    }
                }
            }
            int64_t nv = g->OW - ow < 8 ? g->OW - ow : 8;
            if (nv == 8) {
                _mm256_storeu_si256((__m256i *)(void *)(acc + oh * g->OW + ow), s);
            } else {
                _mm256_storeu_si256((__m256i *)(void *)tmp, s);
                memcpy(acc + oh * g->OW + ow, tmp, sizeof(int32_t) * (size_t)nv);
            }
        }
    }
}

#else
/* built without -mavx2 (not x86): never selected, kept for the linker */
void vigil__nn_qukernel_avx2(int64_t kpairs, const int16_t *a, const int16_t *b, int32_t *c)
{
    vigil__nn_qukernel_c(kpairs, a, b, c);
}
void vigil__nn_quantize_s16_avx2(const float *x, int64_t n, float inv_scale, int zp, int16_t *y)
{
    vigil__nn_quantize_s16_c(x, n, inv_scale, zp, y);
}
void vigil__nn_qpack_b_rows_avx2(const int16_t *base, const int64_t *offs, int64_t K, int16_t *dst)
{
    vigil__nn_qpack_b_rows_c(base, offs, K, dst);
}
size_t vigil__nn_qdw_pad_len(const nn_dw_geom_t *g)
{
    (void)g;
    return 0;
}
void vigil__nn_qdw_plane_avx2(const int16_t *x, const nn_dw_geom_t *g, const int8_t *k, int32_t *acc,
                              int16_t *pad)
{
    (void)pad;
    vigil__nn_qdw_plane_c(x, g, k, acc);
}
#endif
