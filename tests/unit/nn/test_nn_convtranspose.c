/* vigil-nn ConvTranspose against a naive reference: kernel == stride
 * (the GEMM's epilogue scatters straight into the output), with a fused
 * Relu, batch 2, odd sizes, 1 and 2 threads, more input channels than one
 * GEMM K block (no local blocks: the per-row path), and a kernel != stride
 * case (col2im path). Models are built as ONNX bytes and go through the
 * real loader. */
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

typedef struct ct_case {
    int64_t n, c, h, w, m, k, s, relu;
} ct_case_t;

static void attr_ints(pbw_t *node, const char *name, const int64_t *v, int n)
{
    pbw_t a = {0};
    pbw_str(&a, 1, name);
    for (int i = 0; i < n; i++) pbw_int(&a, 8, v[i]);
    pbw_int(&a, 20, 7);
    pbw_msg(node, 5, &a);
}

static float wval(int64_t i)
{
    return (float)((i * 37) % 23 - 11) / 16;
}

static float xval(int64_t i)
{
    return sinf((float)i * 0.37f) * 2;
}

/* ConvTranspose(x, w, b) [-> Relu] */
static void ct_model(pbw_t *model, const ct_case_t *t, float *wt, float *bias)
{
    pbw_t g = {0}, node = {0};
    int64_t oh = t->h * t->s + t->k - t->s, ow = t->w * t->s + t->k - t->s;
    int64_t xd[4] = {t->n, t->c, t->h, t->w}, wd[4] = {t->c, t->m, t->k, t->k}, bd[1] = {t->m};
    int64_t yd[4] = {t->n, t->m, oh, ow}, ks[2] = {t->k, t->k}, st[2] = {t->s, t->s};
    pbw_str(&node, 1, "x");
    pbw_str(&node, 1, "w");
    pbw_str(&node, 1, "b");
    pbw_str(&node, 2, t->relu ? "t" : "y");
    pbw_str(&node, 4, "ConvTranspose");
    attr_ints(&node, "kernel_shape", ks, 2);
    attr_ints(&node, "strides", st, 2);
    pbw_msg(&g, 1, &node);
    if (t->relu) {
        const char *in[] = {"t", NULL}, *out[] = {"y", NULL};
        pbw_node(&g, "Relu", in, out, NULL, NULL, 0);
    }
    pbw_init_f32(&g, "w", 4, wd, wt);
    pbw_init_f32(&g, "b", 1, bd, bias);
    pbw_value_info(&g, 11, "x", 4, xd);
    pbw_value_info(&g, 12, "y", 4, yd);
    pbw_model(model, &g, 13);
}

static void ct_naive(const ct_case_t *t, const float *x, const float *wt, const float *bias, float *y,
                     int64_t oh, int64_t ow)
{
    for (int64_t b = 0; b < t->n; b++)
        for (int64_t m = 0; m < t->m; m++)
            for (int64_t i = 0; i < oh * ow; i++) y[(b * t->m + m) * oh * ow + i] = bias[m];
    for (int64_t b = 0; b < t->n; b++)
        for (int64_t c = 0; c < t->c; c++)
            for (int64_t ih = 0; ih < t->h; ih++)
                for (int64_t iw = 0; iw < t->w; iw++)
                    for (int64_t m = 0; m < t->m; m++)
                        for (int64_t ki = 0; ki < t->k; ki++)
                            for (int64_t kj = 0; kj < t->k; kj++)
                                y[((b * t->m + m) * oh + ih * t->s + ki) * ow + iw * t->s + kj] +=
                                    x[((b * t->c + c) * t->h + ih) * t->w + iw] *
                                    wt[((c * t->m + m) * t->k + ki) * t->k + kj];
    if (t->relu)
        for (int64_t i = 0; i < t->n * t->m * oh * ow; i++) y[i] = y[i] > 0 ? y[i] : 0;
}

static const ct_case_t cases[] = {
    /* n   c   h   w  m  k  s relu */
    {2, 5, 13, 17, 3, 2, 2, 1},   /* kernel == stride: scatter, odd sizes, batch 2 */
    {1, 24, 40, 41, 24, 2, 2, 0}, /* PP-OCRv4 det's head shape, smaller */
    {1, 7, 9, 10, 1, 3, 3, 1},    /* kernel == stride 3 (rows one at a time) */
    {1, 300, 6, 7, 4, 2, 2, 1},   /* K > one GEMM K block: per-row epilogue on C */
    {1, 4, 8, 9, 3, 3, 2, 1},     /* kernel != stride: col2im */
};

static void test_nn_convtranspose_matches_naive_reference(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const ct_case_t *t = &cases[ci];
        int64_t oh = t->h * t->s + t->k - t->s, ow = t->w * t->s + t->k - t->s;
        int64_t nx = t->n * t->c * t->h * t->w, ny = t->n * t->m * oh * ow, nw = t->c * t->m * t->k * t->k;
        float *x = malloc(sizeof(float) * (size_t)nx), *wt = malloc(sizeof(float) * (size_t)nw);
        float *bias = malloc(sizeof(float) * (size_t)t->m), *want = malloc(sizeof(float) * (size_t)ny);
        for (int64_t i = 0; i < nx; i++) x[i] = xval(i);
        for (int64_t i = 0; i < nw; i++) wt[i] = wval(i);
        for (int64_t i = 0; i < t->m; i++) bias[i] = 0.25f * (float)i - 0.3f;
        ct_naive(t, x, wt, bias, want, oh, ow);
        pbw_t mb = {0};
        ct_model(&mb, t, wt, bias);
        char err[256] = "";
        vigil_nn_load_opts_t o;
        vigil_nn_load_opts_init(&o);
        vigil_nn_model_t *m = vigil_nn_model_load_onnx(mb.b, mb.n, &o, err, sizeof err);
        if (!m) fail_msg("case %zu: load: %s", ci, err);
        for (int threads = 1; threads <= 2; threads++) {
            vigil_nn_session_opts_t so;
            vigil_nn_session_opts_init(&so);
            so.threads = threads;
            vigil_nn_session_t *s = vigil_nn_session_new(m, &so, err, sizeof err);
            assert_non_null(s);
            vigil_nn_tensor_t in = {VIGIL_NN_FLOAT32, 4, {t->n, t->c, t->h, t->w}, x}, out;
            if (vigil_nn_run(s, &in, 1, &out, 1, err, sizeof err)) fail_msg("case %zu: run: %s", ci, err);
            assert_int_equal(vigil_nn_tensor_numel(&out), ny);
            const float *y = out.data;
            for (int64_t i = 0; i < ny; i++)
                if (fabsf(y[i] - want[i]) > 1e-4f * (1 + fabsf(want[i])))
                    fail_msg("case %zu threads %d: y[%lld] = %g, want %g", ci, threads, (long long)i, y[i],
                             want[i]);
            vigil_nn_session_free(s);
        }
        vigil_nn_model_free(m);
        free(mb.b);
        free(x);
        free(wt);
        free(bias);
        free(want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nn_convtranspose_matches_naive_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
