/* vigil-nn INT8 kernels (src/nn/cpu/qconv*.c) against references: the
 * input quantizer (rounding half to even, clamping, NaN, inf, huge values)
 * AVX2 == portable == a double reference; the INT8 convolution on random
 * shapes (odd sizes, asymmetric pads, strides 1-3, dilations, groups,
 * depthwise 3x3/5x5 strides 1 and 2, 1x1, batch 2, K odd, M not a multiple
 * of 6, output widths not a multiple of 16, panels packed and read in
 * place) with 1 and 2 threads, on every tier this CPU runs (avx512 with
 * VNNI: u8 x s8 vpdpbusd and the zero-point correction): each tier and
 * portable bit-identical, both equal to the exact integer formula computed
 * in double, and within the quantization error of the float convolution. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nn/cpu/isa.h"
#include "nn/cpu/qconv.h"

static uint32_t rng = 12345;
static float frand(void) /* [-1, 1) */
{
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffffff) / 8388608.0f - 1.0f;
}

static int16_t ref_q(float x, float inv, int zp)
{
    double v = (double)(x * inv);
    if (!(v > -1e6)) v = -1e6;
    if (v > 1e6) v = 1e6;
    double r = nearbyint(v) + zp; /* default rounding: half to even */
    if (r < 0) r = 0;
    if (r > 255) r = 255;
    return (int16_t)(r - zp);
}

static void test_nn_quantize_s16_avx2_equals_portable_and_reference(void **state)
{
    (void)state;
    enum { N = 1000 };
    float x[N];
    for (int i = 0; i < N; i++) x[i] = frand() * 40.0f;
    /* halves, bounds, non-finite, huge */
    float sp[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 127.5f, 128.5f, -128.5f, 1e30f, -1e30f, INFINITY,
                  -INFINITY, NAN, 0.0f, -0.0f, 3e9f, -3e9f};
    for (size_t i = 0; i < sizeof sp / sizeof *sp; i++) x[i * 7] = sp[i] * 0.25f;
    int zps[] = {0, 7, 128, 255};
    for (int z = 0; z < 4; z++)
        for (int len = N - 19; len <= N; len += 19) {
            int16_t a[N], b[N];
            float inv = 4.0f;
            vigil__nn_quantize_s16_c(x, len, inv, zps[z], a);
            if (vigil__nn_have_avx2()) vigil__nn_quantize_s16_avx2(x, len, inv, zps[z], b);
            else memcpy(b, a, sizeof a);
            for (int i = 0; i < len; i++) {
                assert_int_equal(a[i], ref_q(x[i], inv, zps[z]));
                assert_int_equal(a[i], b[i]);
            }
        }
}

typedef struct qcase {
    int64_t n, c, h, w, m, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, group;
} qcase_t;

static void run_case(const qcase_t *q, int threads)
{
    nn_qconv_args_t a;
    memset(&a, 0, sizeof a);
    nn_win_t *w = &a.w;
    w->spatial = 2;
    w->N = q->n, w->C = q->c, w->H = q->h, w->W = q->w;
    w->kh = q->kh, w->kw = q->kw, w->sh = q->sh, w->sw = q->sw, w->dh = q->dh, w->dw = q->dw;
    w->pt = q->pt, w->pl = q->pl, w->pb = q->pb, w->pr = q->pr;
    w->OH = (q->h + q->pt + q->pb - ((q->kh - 1) * q->dh + 1)) / q->sh + 1;
    w->OW = (q->w + q->pl + q->pr - ((q->kw - 1) * q->dw + 1)) / q->sw + 1;
    a.M = q->m;
    a.group = q->group;
    int64_t Cg = q->c / q->group, Mg = q->m / q->group, K = Cg * q->kh * q->kw;
    int64_t nx = q->n * q->c * q->h * q->w, ny = q->n * q->m * w->OH * w->OW;
    float *x = malloc(sizeof(float) * (size_t)nx), *wf = malloc(sizeof(float) * (size_t)(q->m * K));
    int8_t *wq = malloc((size_t)(q->m * K));
    float *ws = malloc(sizeof(float) * (size_t)q->m), *bias = malloc(sizeof(float) * (size_t)q->m);
    float *y1 = malloc(sizeof(float) * (size_t)ny), *y2 = malloc(sizeof(float) * (size_t)ny);
    int16_t *xq = malloc(sizeof(int16_t) * (size_t)nx);
    assert_non_null(x && wf && wq && ws && bias && y1 && y2 && xq);
    /* activations in [-1, 3): asymmetric range, zero point 64 */
    for (int64_t i = 0; i < nx; i++) x[i] = frand() * 2.0f + 1.0f;
    float xs = 4.0f / 255.0f;
    int zp = 64;
    for (int64_t m = 0; m < q->m; m++) {
        float mx = 0;
        for (int64_t k = 0; k < K; k++) {
            wf[m * K + k] = frand() * (float)(m % 3 + 1);
            if (fabsf(wf[m * K + k]) > mx) mx = fabsf(wf[m * K + k]);
        }
        ws[m] = mx / 127.0f;
        for (int64_t k = 0; k < K; k++) wq[m * K + k] = (int8_t)lrintf(wf[m * K + k] / ws[m]);
        bias[m] = frand();
    }
    a.x = x;
    a.wq = wq;
    a.wscale = ws;
    a.bias = bias;
    a.xscale = xs;
    a.xzp = zp;
    a.xq = xq;
    nn_pool_t *pool = vigil__nn_pool_new(threads);
    assert_non_null(pool);
    vigil__nn_qconv_force_portable(1);
    a.y = y1;
    assert_int_equal(vigil__nn_qconv(&a, pool), 0);
    vigil__nn_qconv_force_portable(0);
    a.y = y2;
    /* each tier this CPU runs, with the weights packed once as a loaded
     * model has them and packed by the run */
    void *ap = malloc(vigil__nn_qpack_weights_len(q->m, K, q->group));
    assert_non_null(ap);
    vigil__nn_qpack_weights(wq, q->m, K, q->group, ap);
    vigil_nn_isa_t best = vigil__nn_isa();
    for (int t = VIGIL_NN_ISA_AVX2; t <= (int)best; t++) {
        if (vigil__nn_isa_force((vigil_nn_isa_t)t)) continue;
        for (int own = 0; own < 2; own++) {
            a.a_packed = own ? NULL : ap;
            memset(y2, 0xff, sizeof(float) * (size_t)ny);
            assert_int_equal(vigil__nn_qconv(&a, pool), 0);
            assert_memory_equal(y1, y2, sizeof(float) * (size_t)ny);
        }
    }
    assert_int_equal(vigil__nn_isa_force(best), 0);
    /* exact formula in double, and the float conv within the quantization error */
    double err2 = 0, ref2 = 0;
    for (int64_t b = 0; b < q->n; b++)
        for (int64_t m = 0; m < q->m; m++) {
            int64_t g = m / Mg;
            for (int64_t oh = 0; oh < w->OH; oh++)
                for (int64_t ow = 0; ow < w->OW; ow++) {
                    double s = 0, sabs = 0, f = bias[m];
                    for (int64_t c = 0; c < Cg; c++)
                        for (int64_t ki = 0; ki < q->kh; ki++)
                            for (int64_t kj = 0; kj < q->kw; kj++) {
                                int64_t ih = oh * q->sh - q->pt + ki * q->dh, iw = ow * q->sw - q->pl + kj * q->dw;
                                if (ih < 0 || ih >= q->h || iw < 0 || iw >= q->w) continue;
                                float xv = x[((b * q->c + g * Cg + c) * q->h + ih) * q->w + iw];
                                int64_t k = (c * q->kh + ki) * q->kw + kj;
                                double t = (double)wq[m * K + k] * ref_q(xv, 1.0f / xs, zp);
                                s += t;
                                sabs += fabs(t);
                                f += (double)wf[m * K + k] * xv;
                            }
                    double sc = (double)xs * ws[m], want = s * sc + bias[m];
                    float got = y1[((b * q->m + m) * w->OH + oh) * w->OW + ow];
                    assert_true(fabs(got - want) <= 1e-5 * (sabs * sc + fabs(bias[m])) + 1e-6);
                    err2 += (got - f) * (got - f);
                    ref2 += f * f;
                }
        }
    assert_true(sqrt(err2 / (ref2 + 1e-12)) < 0.02); /* 8-bit: about 0.5% here */
    vigil__nn_pool_free(pool);
    free(ap);
    free(x);
    free(wf);
    free(wq);
    free(ws);
    free(bias);
    free(y1);
    free(y2);
    free(xq);
}

static void test_nn_qconv_avx2_equals_portable_and_reference(void **state)
{
    (void)state;
    static const qcase_t cases[] = {
        /* n  c   h   w   m  kh kw sh sw dh dw pt pl pb pr group */
        {1, 3, 17, 19, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},     /* odd everything, K = 27 odd */
        {1, 16, 9, 33, 24, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},    /* 1x1 */
        {2, 5, 13, 11, 13, 3, 3, 2, 2, 1, 1, 1, 0, 2, 1, 1},    /* stride 2, asymmetric pads, batch 2 */
        {1, 4, 15, 16, 6, 5, 3, 3, 2, 1, 2, 2, 1, 0, 3, 1},     /* stride 3x2, dilation */
        {1, 8, 10, 10, 12, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 4},    /* groups of 2 -> 3 */
        {1, 12, 21, 23, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 12},  /* depthwise 3x3 s1 */
        {1, 9, 20, 37, 9, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 9},     /* depthwise 5x5 s2 */
        {2, 5, 7, 9, 5, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 5},       /* depthwise stride 3: portable */
        {1, 7, 6, 29, 7, 3, 3, 2, 1, 1, 2, 0, 2, 1, 0, 7},      /* depthwise, dilated, odd pads */
        {1, 40, 12, 12, 50, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   /* K = 360 */
        {1, 3, 9, 45, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},     /* wide rows: panels read in place, K 27 */
        {2, 6, 11, 50, 8, 3, 3, 2, 1, 2, 2, 2, 2, 1, 1, 1},     /* in place with dilation, stride 2x1 */
        {1, 7, 5, 37, 9, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},      /* 1x1 in place across rows, K 7 odd */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        run_case(&cases[i], 1);
        run_case(&cases[i], 2);
    }
}

static void test_nn_qukernel_avx2_equals_portable_at_extremes(void **state)
{
    (void)state;
    /* the largest magnitudes: 127 * 255 and -127 * -255 in both halves of every pair */
    enum { KP = 300 };
    static int16_t a[KP * NN_MR * 2], b[KP * NN_NR * 2];
    for (int i = 0; i < KP * NN_MR * 2; i++) a[i] = (int16_t)(i % 3 == 0 ? 127 : i % 3 == 1 ? -127 : 5);
    for (int i = 0; i < KP * NN_NR * 2; i++) b[i] = (int16_t)(i % 2 ? 255 : -255);
    int32_t c1[NN_MR * NN_NR], c2[NN_MR * NN_NR];
    vigil__nn_qukernel_c(KP, a, b, c1);
    if (!vigil__nn_have_avx2()) skip();
    vigil__nn_qukernel_avx2(KP, a, b, c2);
    assert_memory_equal(c1, c2, sizeof c1);
}

/* vpdpbusd at the largest K and magnitudes: 255 x -127 and 255 x 127
 * summed over K = NN_QCONV_K_MAX, the u8 quantizer equal to the s16 one
 * plus zp */
static void test_nn_qukernel_vnni_equals_portable_at_extremes(void **state)
{
    (void)state;
    if (!vigil__nn_qconv_vnni_active()) skip();
    enum { K = NN_QCONV_K_MAX, KQ = K / 4 };
    static int8_t w[NN_MR * K], a4[KQ * NN_MR * 4];
    static uint8_t b4[KQ * NN_NR * 4];
    static int16_t a2[K / 2 * NN_MR * 2], b2[K / 2 * NN_NR * 2];
    for (int r = 0; r < NN_MR; r++)
        for (int k = 0; k < K; k++) w[r * K + k] = (int8_t)(r == 0 ? -127 : r == 1 ? 127 : (k * 7 + r) % 255 - 127);
    vigil__nn_qpack_a4(w, NN_MR, K, a4);
    vigil__nn_qpack_a(w, NN_MR, K, a2);
    int zp = 3;
    for (int k = 0; k < KQ * 4; k++)
        for (int j = 0; j < NN_NR; j++) {
            uint8_t q = (uint8_t)(j < 8 ? 255 : (k * 13 + j * 5) % 256);
            b4[(k / 4) * NN_NR * 4 + j * 4 + k % 4] = q;
            b2[(k / 2) * NN_NR * 2 + j * 2 + k % 2] = (int16_t)(q - zp);
        }
    int32_t c4[NN_MR * NN_NR], c2[NN_MR * NN_NR];
    vigil__nn_qukernel_vnni(KQ, a4, b4, c4);
    vigil__nn_qukernel_c(K / 2, a2, b2, c2);
    for (int r = 0; r < NN_MR; r++) {
        int32_t sum = 0;
        for (int k = 0; k < K; k++) sum += w[r * K + k];
        for (int j = 0; j < NN_NR; j++) assert_int_equal(c4[r * NN_NR + j] - zp * sum, c2[r * NN_NR + j]);
    }
    assert_int_equal(c4[0], -127 * 255 * K); /* row 0, a column of 255s */
    assert_int_equal(c4[NN_NR], 127 * 255 * K);
    float x[1000];
    for (int i = 0; i < 1000; i++) x[i] = i % 97 == 0 ? NAN : i % 89 == 0 ? INFINITY : frand() * 80.0f;
    uint8_t u1[1000], u2[1000];
    int16_t s16[1000];
    for (int z = 0; z < 256; z += 85) {
        vigil__nn_quantize_u8_c(x, 1000, 3.0f, z, u1);
        vigil__nn_quantize_u8_vnni(x, 1000, 3.0f, z, u2);
        vigil__nn_quantize_s16_c(x, 1000, 3.0f, z, s16);
        for (int i = 0; i < 1000; i++) {
            assert_int_equal(u1[i], u2[i]);
            assert_int_equal(u1[i], s16[i] + z);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nn_quantize_s16_avx2_equals_portable_and_reference),
        cmocka_unit_test(test_nn_qconv_avx2_equals_portable_and_reference),
        cmocka_unit_test(test_nn_qukernel_avx2_equals_portable_at_extremes),
        cmocka_unit_test(test_nn_qukernel_vnni_equals_portable_at_extremes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
