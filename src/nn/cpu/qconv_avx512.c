/* AVX-512 VNNI INT8 kernels (compiled with -mavx512f/bw/vl/dq/vnni; called
 * by qconv.c only on the avx512 tier of a CPU with AVX-512 VNNI, and only
 * on x86, where this file has code). The GEMM path of a quantized conv
 * multiplies u8 activation levels q with s8 weights through vpdpbusd: four
 * products u8 x s8 added into each s32 lane, no saturation (unlike
 * vpmaddubsw), so every sum is exact while K * 255 * 127 < 2^31 (K <=
 * NN_QCONV_K_MAX) and the driver's zero-point correction (zp * the row's
 * weight sum) gives the same integers as the s16 path's sum of w * (q - zp).
 * A step of four k is one 64-byte load of B (16 positions x 4 levels) and
 * six vpdpbusd with the weights of a row broadcast: 384 multiply-adds,
 * where the AVX2 kernel does 192 in 24 instructions. */
#include <string.h>

#include "nn/cpu/qconv.h"

#if defined(__AVX512F__) && defined(__AVX512VNNI__)
#include <immintrin.h>

void vigil__nn_qukernel_vnni(int64_t kquads, const int8_t *a, const uint8_t *b, int32_t *c)
{
    __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
    const int32_t *a32 = (const int32_t *)(const void *)a;
    for (int64_t p = 0; p < kquads; p++, a32 += NN_MR, b += 4 * NN_NR) {
        __m512i bq = _mm512_loadu_si512((const void *)b);
        c0 = _mm512_dpbusd_epi32(c0, bq, _mm512_set1_epi32(a32[0]));
        c1 = _mm512_dpbusd_epi32(c1, bq, _mm512_set1_epi32(a32[1]));
        c2 = _mm512_dpbusd_epi32(c2, bq, _mm512_set1_epi32(a32[2]));
        c3 = _mm512_dpbusd_epi32(c3, bq, _mm512_set1_epi32(a32[3]));
        c4 = _mm512_dpbusd_epi32(c4, bq, _mm512_set1_epi32(a32[4]));
        c5 = _mm512_dpbusd_epi32(c5, bq, _mm512_set1_epi32(a32[5]));
    }
    _mm512_storeu_si512((void *)(c + 0 * NN_NR), c0);
    _mm512_storeu_si512((void *)(c + 1 * NN_NR), c1);
    _mm512_storeu_si512((void *)(c + 2 * NN_NR), c2);
    _mm512_storeu_si512((void *)(c + 3 * NN_NR), c3);
    _mm512_storeu_si512((void *)(c + 4 * NN_NR), c4);
    _mm512_storeu_si512((void *)(c + 5 * NN_NR), c5);
}

/* Four rows of 16 levels -> 16 quads: bytes interleaved, then pairs. */
void vigil__nn_qpack_b4_rows_vnni(const uint8_t *base, const int64_t *offs, int64_t K, uint8_t *dst)
{
    int64_t k = 0;
    for (; k + 4 <= K; k += 4, dst += 4 * NN_NR) {
        __m128i r0 = _mm_loadu_si128((const __m128i *)(const void *)(base + offs[k]));
        __m128i r1 = _mm_loadu_si128((const __m128i *)(const void *)(base + offs[k + 1]));
        __m128i r2 = _mm_loadu_si128((const __m128i *)(const void *)(base + offs[k + 2]));
        __m128i r3 = _mm_loadu_si128((const __m128i *)(const void *)(base + offs[k + 3]));
        __m128i t0 = _mm_unpacklo_epi8(r0, r1), t1 = _mm_unpackhi_epi8(r0, r1);
        __m128i t2 = _mm_unpacklo_epi8(r2, r3), t3 = _mm_unpackhi_epi8(r2, r3);
        _mm_storeu_si128((__m128i *)(void *)dst, _mm_unpacklo_epi16(t0, t2));
        _mm_storeu_si128((__m128i *)(void *)(dst + 16), _mm_unpackhi_epi16(t0, t2));
        _mm_storeu_si128((__m128i *)(void *)(dst + 32), _mm_unpacklo_epi16(t1, t3));
        _mm_storeu_si128((__m128i *)(void *)(dst + 48), _mm_unpackhi_epi16(t1, t3));
    }
    if (k < K) vigil__nn_qpack_b4_rows_c(base, offs + k, K - k, dst);
}

void vigil__nn_quantize_u8_vnni(const float *x, int64_t n, float inv_scale, int zp, uint8_t *y)
{
    const __m512 inv = _mm512_set1_ps(inv_scale), lo = _mm512_set1_ps(-1e6f), hi = _mm512_set1_ps(1e6f);
    const __m512i vzp = _mm512_set1_epi32(zp), zero = _mm512_setzero_si512(), qmax = _mm512_set1_epi32(255);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + i), inv);
        v = _mm512_min_ps(_mm512_max_ps(v, lo), hi); /* NaN -> lo, as the C path */
        __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), vzp);
        q = _mm512_min_epi32(_mm512_max_epi32(q, zero), qmax);
        _mm_storeu_si128((__m128i *)(void *)(y + i), _mm512_cvtepi32_epi8(q));
    }
    vigil__nn_quantize_u8_c(x + i, n - i, inv_scale, zp, y + i);
}
#endif
