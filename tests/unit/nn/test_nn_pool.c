/* MaxPool with stride 1 (ops_pool.c's row-then-column path, CenterNet's
 * 3x3 peak finding) against the per-output window loop's semantics:
 * bit-identical outputs including NaN inputs (skipped), -0/+0 ties (the
 * first in row-major tap order wins), pads on every side, a window wider
 * than the input, and 1 or 2 threads. Models go through the real loader. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nn/cpu/isa.h"
#include "nn_support.h"
#include "vigil/nn.h"

static void attr_ints(pbw_t *node, const char *name, const int64_t *v, int n)
{
    pbw_t a = {0};
    pbw_str(&a, 1, name);
    for (int i = 0; i < n; i++) pbw_int(&a, 8, v[i]);
    pbw_int(&a, 20, 7);
    pbw_msg(node, 5, &a);
}

typedef struct pcase {
    int64_t c, h, w, kh, kw, pt, pl, pb, pr;
    int64_t sh, sw, dh, dw, ceil; /* 0: 1, 1, 1, 1, floor */
} pcase_t;

/* the general loop: taps in row-major order, acc = v > acc ? v : acc */
static float naive(const pcase_t *t, const float *x, int64_t oh, int64_t ow)
{
    float acc = -INFINITY;
    for (int64_t ki = 0; ki < t->kh; ki++)
        for (int64_t kj = 0; kj < t->kw; kj++) {
            int64_t ih = oh * (t->sh ? t->sh : 1) - t->pt + ki * (t->dh ? t->dh : 1);
            int64_t iw = ow * (t->sw ? t->sw : 1) - t->pl + kj * (t->dw ? t->dw : 1);
            if (ih < 0 || ih >= t->h || iw < 0 || iw >= t->w) continue;
            float v = x[ih * t->w + iw];
            acc = v > acc ? v : acc;
        }
    return acc;
}

static void run_case(const pcase_t *t, int threads)
{
    int64_t sh = t->sh ? t->sh : 1, sw = t->sw ? t->sw : 1, dh = t->dh ? t->dh : 1, dw = t->dw ? t->dw : 1;
    int64_t eh = t->h + t->pt + t->pb - ((t->kh - 1) * dh + 1), ew = t->w + t->pl + t->pr - ((t->kw - 1) * dw + 1);
    int64_t oh = (t->ceil ? (eh + sh - 1) / sh : eh / sh) + 1, ow = (t->ceil ? (ew + sw - 1) / sw : ew / sw) + 1;
    if (t->ceil && (oh - 1) * sh >= t->h + t->pt) oh--; /* the last window starts inside */
    if (t->ceil && (ow - 1) * sw >= t->w + t->pl) ow--;
    int64_t xd[] = {1, t->c, t->h, t->w}, yd[] = {1, t->c, oh, ow};
    pbw_t g = {0}, node = {0}, model = {0};
    pbw_value_info(&g, 11, "x", 4, xd);
    pbw_value_info(&g, 12, "y", 4, yd);
    pbw_str(&node, 1, "x");
    pbw_str(&node, 2, "y");
    pbw_str(&node, 4, "MaxPool");
    int64_t ks[] = {t->kh, t->kw}, pads[] = {t->pt, t->pl, t->pb, t->pr};
    attr_ints(&node, "kernel_shape", ks, 2);
    attr_ints(&node, "pads", pads, 4);
    int64_t st[] = {sh, sw}, dil[] = {dh, dw};
    attr_ints(&node, "strides", st, 2);
    if (dh > 1 || dw > 1) attr_ints(&node, "dilations", dil, 2);
    if (t->ceil) {
        pbw_t a = {0};
        pbw_str(&a, 1, "ceil_mode");
        pbw_int(&a, 3, 1);
        pbw_int(&a, 20, 2);
        pbw_msg(&node, 5, &a);
    }
    pbw_msg(&g, 1, &node);
    pbw_model(&model, &g, 13);
    char err[512];
    vigil_nn_model_t *m = vigil_nn_model_load_onnx(model.b, model.n, NULL, err, sizeof err);
    free(model.b);
    if (!m) fail_msg("load: %s", err);
    vigil_nn_session_opts_t so;
    vigil_nn_session_opts_init(&so);
    so.threads = threads;
    vigil_nn_session_t *s = vigil_nn_session_new(m, &so, err, sizeof err);
    if (!s) fail_msg("session: %s", err);
    size_t n = (size_t)(t->c * t->h * t->w);
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)((i * 7919) % 13) - 6; /* many ties */
        if (i % 11 == 3) x[i] = NAN;
        if (i % 17 == 5) x[i] = -0.0f;
        if (i % 19 == 7) x[i] = 0.0f;
    }
    vigil_nn_tensor_t in = {.dtype = VIGIL_NN_FLOAT32, .ndim = 4, .dims = {1, t->c, t->h, t->w}, .data = x}, out;
    if (vigil_nn_run(s, &in, 1, &out, 1, err, sizeof err)) fail_msg("run: %s", err);
    assert_int_equal(out.dims[2], oh);
    assert_int_equal(out.dims[3], ow);
    const float *y = out.data;
    for (int64_t c = 0; c < t->c; c++)
        for (int64_t i = 0; i < oh; i++)
            for (int64_t j = 0; j < ow; j++) {
                float want = naive(t, x + c * t->h * t->w, i, j), got = y[(c * oh + i) * ow + j];
                if (memcmp(&want, &got, sizeof got))
                    fail_msg("tier %d k%lldx%lld s%lldx%lld d%lldx%lld ceil %d pads %lld,%lld,%lld,%lld: c %lld (%lld,%lld): %g (sign %d), want %g (sign %d)",
                             (int)vigil__nn_isa(), (long long)t->kh, (long long)t->kw, (long long)sh,
                             (long long)sw, (long long)dh, (long long)dw, (int)t->ceil, (long long)t->pt, (long long)t->pl,
                             (long long)t->pb, (long long)t->pr, (long long)c, (long long)i, (long long)j, got,
                             signbit(got) != 0, want, signbit(want) != 0);
            }
    free(x);
    vigil_nn_session_free(s);
    vigil_nn_model_free(m);
}

static void test_maxpool_stride1_equals_the_window_loop_bit_for_bit(void **state)
{
    (void)state;
    const pcase_t cases[] = {
        {3, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0},   /* CenterNet's: same size out */
        {2, 6, 5, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1, 0},   /* no pads */
        {2, 5, 8, 3, 2, 2, 0, 1, 1, 1, 1, 1, 1, 0},   /* asymmetric pads */
        {1, 4, 3, 1, 7, 0, 3, 0, 3, 1, 1, 1, 1, 0},   /* window wider than the input */
        {4, 16, 33, 5, 5, 2, 2, 2, 2, 1, 1, 1, 1, 0}, /* several planes per thread */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_case(&cases[i], 1);
        run_case(&cases[i], 2);
    }
}

/* ops_pool.c's border/interior split (AVX2 eight columns at a time for
 * strides 1 and 2, the portable interior otherwise) on every tier this CPU
 * runs: strides, dilations, ceil_mode, pads and odd sizes, random shapes
 * included, against the window loop bit for bit. */
static void test_maxpool_strided_dilated_ceil_equal_the_window_loop_on_every_tier(void **state)
{
    (void)state;
    const pcase_t cases[] = {
        {3, 7, 9, 3, 3, 1, 1, 1, 1, 2, 2, 1, 1, 0},      /* stride 2 */
        {2, 9, 37, 3, 3, 0, 0, 0, 0, 2, 2, 1, 1, 1},     /* stride 2, ceil_mode */
        {2, 8, 40, 3, 3, 1, 1, 1, 1, 1, 1, 2, 2, 0},     /* dilation 2 */
        {1, 11, 53, 2, 3, 1, 2, 0, 1, 2, 1, 1, 3, 1},    /* mixed, ceil */
        {2, 5, 3, 3, 3, 1, 1, 1, 1, 2, 2, 1, 1, 1},      /* narrower than a vector */
        {1, 4, 3, 1, 7, 0, 3, 0, 3, 1, 2, 1, 1, 0},      /* window wider than the input */
        {3, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0},      /* CenterNet's, stride 1 */
        {2, 33, 70, 3, 3, 1, 1, 1, 1, 3, 3, 1, 1, 1},    /* stride 3: portable interior */
    };
    int best = (int)vigil__nn_isa();
    srand(7);
    for (int tier = 0; tier <= best; tier++) {
        if (vigil__nn_isa_force((vigil_nn_isa_t)tier)) continue;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            run_case(&cases[i], 1);
            run_case(&cases[i], 2);
        }
        for (int r = 0; r < 40; r++) { /* random shapes */
            pcase_t t = {0};
            t.c = 1 + rand() % 3, t.h = 1 + rand() % 19, t.w = 1 + rand() % 45;
            t.kh = 1 + rand() % 4, t.kw = 1 + rand() % 4;
            t.sh = 1 + rand() % 3, t.sw = 1 + rand() % 3, t.dh = 1 + rand() % 2, t.dw = 1 + rand() % 2;
            t.pt = rand() % t.kh, t.pl = rand() % t.kw, t.pb = rand() % t.kh, t.pr = rand() % t.kw;
            t.ceil = rand() % 2;
            if (t.h + t.pt + t.pb < (t.kh - 1) * t.dh + 1 || t.w + t.pl + t.pr < (t.kw - 1) * t.dw + 1) continue;
            run_case(&t, 1 + r % 2);
        }
    }
    assert_int_equal(vigil__nn_isa_force((vigil_nn_isa_t)best), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_maxpool_stride1_equals_the_window_loop_bit_for_bit),
        cmocka_unit_test(test_maxpool_strided_dilated_ceil_equal_the_window_loop_on_every_tier),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
