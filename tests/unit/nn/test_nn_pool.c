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
} pcase_t;

/* the general loop: taps in row-major order, acc = v > acc ? v : acc */
static float naive(const pcase_t *t, const float *x, int64_t oh, int64_t ow)
{
    float acc = -INFINITY;
    for (int64_t ki = 0; ki < t->kh; ki++)
        for (int64_t kj = 0; kj < t->kw; kj++) {
            int64_t ih = oh - t->pt + ki, iw = ow - t->pl + kj;
            if (ih < 0 || ih >= t->h || iw < 0 || iw >= t->w) continue;
            float v = x[ih * t->w + iw];
            acc = v > acc ? v : acc;
        }
    return acc;
}

static void run_case(const pcase_t *t, int threads)
{
    int64_t oh = t->h + t->pt + t->pb - t->kh + 1, ow = t->w + t->pl + t->pr - t->kw + 1;
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
                    fail_msg("k%lldx%lld pads %lld,%lld,%lld,%lld: c %lld (%lld,%lld): %g (sign %d), want %g (sign %d)",
                             (long long)t->kh, (long long)t->kw, (long long)t->pt, (long long)t->pl,
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
        {3, 7, 9, 3, 3, 1, 1, 1, 1},   /* CenterNet's: same size out */
        {2, 6, 5, 2, 2, 0, 0, 0, 0},   /* no pads */
        {2, 5, 8, 3, 2, 2, 0, 1, 1},   /* asymmetric pads */
        {1, 4, 3, 1, 7, 0, 3, 0, 3},   /* window wider than the input */
        {4, 16, 33, 5, 5, 2, 2, 2, 2}, /* several planes per thread */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_case(&cases[i], 1);
        run_case(&cases[i], 2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_maxpool_stride1_equals_the_window_loop_bit_for_bit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
