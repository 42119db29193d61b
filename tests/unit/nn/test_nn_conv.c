/* vigil-nn Conv against a naive reference: strides, asymmetric pads,
 * dilations, groups, depthwise 3x3/5x5, 1x1 (direct GEMM and strided),
 * sizes that cross the GEMM's K and N blocks, batch 2, 1 and 2 threads; and
 * the fused epilogue (scale, shift, paddle2onnx's hard-swish, affine; and
 * TensorFlow's hard_swish) equal to the same graph run unfused. Every tier
 * this CPU runs is checked, and avx512 against avx2 to the bit (its GEMM,
 * depthwise and epilogue kernels keep the avx2 ones' operations). Models
 * are built as ONNX bytes and go through the real loader. */
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

typedef struct conv_case {
    int64_t n, c, h, w, m, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, group;
} conv_case_t;

static void attr_ints(pbw_t *node, const char *name, const int64_t *v, int n)
{
    pbw_t a = {0};
    pbw_str(&a, 1, name);
    for (int i = 0; i < n; i++) pbw_int(&a, 8, v[i]);
    pbw_int(&a, 20, 7);
    pbw_msg(node, 5, &a);
}

static void attr_int(pbw_t *node, const char *name, int64_t v)
{
    pbw_t a = {0};
    pbw_str(&a, 1, name);
    pbw_int(&a, 3, v);
    pbw_int(&a, 20, 2);
    pbw_msg(node, 5, &a);
}

static void node2(pbw_t *g, const char *op, const char *a, const char *b, const char *out)
{
    const char *in[] = {a, b, NULL}, *o[] = {out, NULL};
    pbw_node(g, op, in, o, NULL, NULL, 0);
}

static float wval(int64_t i)
{
    return (float)((i * 37) % 23 - 11) / 16;
}

static float xval(int64_t i)
{
    return sinf((float)i * 0.37f) * 2;
}

/* Conv(x, w, b) and, with epilogue 1, then *0.9 +0.1, x*Clip(x+3,0,6)/6,
 * *1.5 -0.25 (what PP-LCNetV3 exports); with epilogue 2 TensorFlow's
 * hard_swish, (x * 0.166626) * Clip(x + 3, 0, 6) (TF.js, 1/6 in float16) */
static void conv_model(pbw_t *model, const conv_case_t *t, int epilogue)
{
    pbw_t g = {0}, n = {0};
    int64_t cg = t->c / t->group;
    int64_t wd[4] = {t->m, cg, t->kh, t->kw}, bd[1] = {t->m}, one[1] = {1};
    int64_t nw = t->m * cg * t->kh * t->kw;
    float *wt = malloc(sizeof(float) * (size_t)nw), *b = malloc(sizeof(float) * (size_t)t->m);
    for (int64_t i = 0; i < nw; i++) wt[i] = wval(i);
    for (int64_t i = 0; i < t->m; i++) b[i] = (float)(i % 5) / 4 - 0.5f;
    pbw_str(&n, 1, "x");
    pbw_str(&n, 1, "w");
    pbw_str(&n, 1, "b");
    pbw_str(&n, 2, epilogue ? "c" : "y");
    pbw_str(&n, 4, "Conv");
    int64_t ks[2] = {t->kh, t->kw}, st[2] = {t->sh, t->sw}, dl[2] = {t->dh, t->dw},
            pd[4] = {t->pt, t->pl, t->pb, t->pr};
    attr_ints(&n, "kernel_shape", ks, 2);
    attr_ints(&n, "strides", st, 2);
    attr_ints(&n, "dilations", dl, 2);
    attr_ints(&n, "pads", pd, 4);
    attr_int(&n, "group", t->group);
    pbw_msg(&g, 1, &n);
    if (epilogue == 2) {
        const float k[] = {0.166626f, 3, 0, 6};
        const char *names[] = {"kc", "k3", "k0", "k6"};
        node2(&g, "Mul", "kc", "c", "s");
        node2(&g, "Add", "c", "k3", "h1");
        const char *cin[] = {"h1", "k0", "k6", NULL}, *cout[] = {"h2", NULL};
        pbw_node(&g, "Clip", cin, cout, NULL, NULL, 0);
        node2(&g, "Mul", "s", "h2", "y");
        for (int i = 0; i < 4; i++) pbw_init_f32(&g, names[i], i == 0 || i == 1 ? 1 : 0, one, &k[i]);
    } else if (epilogue) {
        const float k[] = {0.9f, 0.1f, 3, 0, 6, 6, 1.5f, -0.25f};
        const char *names[] = {"k09", "k01", "k3", "k0", "k6", "k6b", "k15", "km025"};
        node2(&g, "Mul", "k09", "c", "c1");
        node2(&g, "Add", "c1", "k01", "c2");
        node2(&g, "Add", "c2", "k3", "h1");
        const char *cin[] = {"h1", "k0", "k6", NULL}, *cout[] = {"h2", NULL};
        pbw_node(&g, "Clip", cin, cout, NULL, NULL, 0);
        node2(&g, "Mul", "c2", "h2", "h3");
        node2(&g, "Div", "h3", "k6b", "h4");
        node2(&g, "Mul", "h4", "k15", "h5");
        node2(&g, "Add", "h5", "km025", "y");
        for (int i = 0; i < 8; i++) pbw_init_f32(&g, names[i], i >= 2 && i <= 4 ? 0 : 1, one, &k[i]);
    }
    pbw_init_f32(&g, "w", 4, wd, wt);
    pbw_init_f32(&g, "b", 1, bd, b);
    int64_t xd[4] = {-1, t->c, t->h, t->w};
    pbw_value_info(&g, 11, "x", 4, xd);
    int64_t yd[4] = {-1, t->m, -1, -1};
    pbw_value_info(&g, 12, "y", 4, yd);
    pbw_model(model, &g, 13);
    free(wt);
    free(b);
}

static void conv_naive(const conv_case_t *t, const float *x, float *y, int64_t oh, int64_t ow)
{
    int64_t cg = t->c / t->group, mg = t->m / t->group;
    for (int64_t b = 0; b < t->n; b++)
        for (int64_t m = 0; m < t->m; m++)
            for (int64_t i = 0; i < oh; i++)
                for (int64_t j = 0; j < ow; j++) {
                    double s = (float)(m % 5) / 4 - 0.5f;
                    int64_t g = m / mg;
                    for (int64_t c = 0; c < cg; c++)
                        for (int64_t ki = 0; ki < t->kh; ki++)
                            for (int64_t kj = 0; kj < t->kw; kj++) {
                                int64_t ih = i * t->sh - t->pt + ki * t->dh, iw = j * t->sw - t->pl + kj * t->dw;
                                if (ih < 0 || ih >= t->h || iw < 0 || iw >= t->w) continue;
                                s += (double)x[((b * t->c + g * cg + c) * t->h + ih) * t->w + iw] *
                                     wval(((m * cg + c) * t->kh + ki) * t->kw + kj);
                            }
                    y[((b * t->m + m) * oh + i) * ow + j] = (float)s;
                }
}

static vigil_nn_model_t *load(const pbw_t *m, int optimize)
{
    char err[256] = "";
    vigil_nn_load_opts_t o;
    vigil_nn_load_opts_init(&o);
    o.optimize = optimize;
    vigil_nn_model_t *model = vigil_nn_model_load_onnx(m->b, m->n, &o, err, sizeof err);
    if (!model) fail_msg("load: %s", err);
    return model;
}

/* Runs model on x with threads; copies the output into y (numel of it). */
static void run(vigil_nn_model_t *model, const conv_case_t *t, const float *x, int threads, float *y,
                int64_t numel)
{
    char err[256] = "";
    vigil_nn_session_opts_t so;
    vigil_nn_session_opts_init(&so);
    so.threads = threads;
    vigil_nn_session_t *s = vigil_nn_session_new(model, &so, err, sizeof err);
    assert_non_null(s);
    vigil_nn_tensor_t in = {VIGIL_NN_FLOAT32, 4, {t->n, t->c, t->h, t->w}, (void *)x}, out;
    if (vigil_nn_run(s, &in, 1, &out, 1, err, sizeof err)) fail_msg("run: %s", err);
    assert_int_equal(vigil_nn_tensor_numel(&out), numel);
    memcpy(y, out.data, sizeof(float) * (size_t)numel);
    vigil_nn_session_free(s);
}

static const conv_case_t cases[] = {
    /* n  c   h   w   m  kh kw sh sw dh dw pt pl pb pr group */
    {1, 3, 17, 19, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   /* 3x3 pad 1 */
    {2, 4, 20, 23, 6, 3, 3, 2, 2, 1, 1, 1, 0, 1, 2, 1},   /* stride 2, asymmetric pads, batch 2 */
    {1, 6, 15, 15, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 6},   /* depthwise, dilated */
    {1, 8, 19, 21, 8, 5, 5, 2, 1, 1, 1, 2, 2, 2, 2, 8},   /* depthwise 5x5, stride (2,1) */
    {2, 5, 9, 11, 10, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 5},   /* depthwise multiplier 2 (grouped path) */
    {1, 8, 12, 13, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4},  /* groups */
    {1, 40, 9, 50, 13, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},  /* 1x1 direct GEMM */
    {1, 7, 21, 22, 9, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1},   /* 1x1 strided (im2col path) */
    {1, 32, 12, 12, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},  /* K = 288 > one K block */
    {1, 2, 50, 47, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   /* N = 2350 > one N block */
    {1, 3, 11, 40, 4, 2, 7, 1, 3, 3, 1, 0, 3, 2, 0, 1},   /* non-square kernel, mixed stride/dilation */
    {2, 20, 19, 37, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, /* Winograd F(2,3): odd sizes, M not /6, batch 2 */
    {1, 16, 20, 20, 24, 3, 3, 1, 1, 1, 1, 0, 2, 1, 0, 1}, /* Winograd with asymmetric pads */
    {1, 4, 9, 45, 4, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 4},    /* depthwise 5x5, OW 45: 32-column blocks + tails */
    {1, 3, 7, 80, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 3},    /* depthwise stride 2, OW 40 */
    /* outputs over 4 MB: the GEMM's local blocks with streaming stores */
    {1, 3, 520, 520, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1}, /* PP-OCRv4 det's first conv, smaller */
    {1, 16, 200, 203, 32, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1}, /* 1x1 direct, 32 rows (partial panel) */
};

static void test_nn_conv_matches_naive_reference(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const conv_case_t *t = &cases[ci];
        int64_t oh = (t->h + t->pt + t->pb - ((t->kh - 1) * t->dh + 1)) / t->sh + 1;
        int64_t ow = (t->w + t->pl + t->pr - ((t->kw - 1) * t->dw + 1)) / t->sw + 1;
        int64_t nx = t->n * t->c * t->h * t->w, ny = t->n * t->m * oh * ow;
        float *x = malloc(sizeof(float) * (size_t)nx), *want = malloc(sizeof(float) * (size_t)ny),
              *got = malloc(sizeof(float) * (size_t)ny);
        for (int64_t i = 0; i < nx; i++) x[i] = xval(i);
        conv_naive(t, x, want, oh, ow);
        pbw_t mb = {0};
        conv_model(&mb, t, 0);
        vigil_nn_model_t *m = load(&mb, 1);
        vigil_nn_isa_t best = vigil__nn_isa();
        float *by_tier[VIGIL_NN_ISA_COUNT] = {0};
        for (int tier = 0; tier <= (int)best; tier++) {
            if (vigil__nn_isa_force((vigil_nn_isa_t)tier)) continue;
            for (int threads = 1; threads <= 2; threads++) {
                run(m, t, x, threads, got, ny);
                for (int64_t i = 0; i < ny; i++)
                    if (fabsf(got[i] - want[i]) > 1e-4f * (1 + fabsf(want[i])))
                        fail_msg("case %zu %s threads %d: y[%lld] = %g, want %g", ci,
                                 vigil_nn_isa_name((vigil_nn_isa_t)tier), threads, (long long)i, got[i], want[i]);
            }
            by_tier[tier] = malloc(sizeof(float) * (size_t)ny);
            assert_non_null(by_tier[tier]);
            memcpy(by_tier[tier], got, sizeof(float) * (size_t)ny);
        }
        assert_int_equal(vigil__nn_isa_force(best), 0);
        if (by_tier[VIGIL_NN_ISA_AVX2] && by_tier[VIGIL_NN_ISA_AVX512])
            for (int64_t i = 0; i < ny; i++)
                if (memcmp(&by_tier[VIGIL_NN_ISA_AVX2][i], &by_tier[VIGIL_NN_ISA_AVX512][i], sizeof(float)))
                    fail_msg("case %zu: y[%lld] avx512 %.9g, avx2 %.9g (not the same bits)", ci, (long long)i,
                             by_tier[VIGIL_NN_ISA_AVX512][i], by_tier[VIGIL_NN_ISA_AVX2][i]);
        for (int tier = 0; tier < VIGIL_NN_ISA_COUNT; tier++) free(by_tier[tier]);
        vigil_nn_model_free(m);
        free(mb.b);
        free(x);
        free(want);
        free(got);
    }
}

static void test_nn_conv_fused_epilogue_equals_unfused_graph(void **state)
{
    (void)state;
    for (size_t cj = 0; cj < 2 * sizeof cases / sizeof cases[0]; cj++) {
        size_t ci = cj / 2;
        int epilogue = 1 + (int)(cj % 2);
        const conv_case_t *t = &cases[ci];
        int64_t oh = (t->h + t->pt + t->pb - ((t->kh - 1) * t->dh + 1)) / t->sh + 1;
        int64_t ow = (t->w + t->pl + t->pr - ((t->kw - 1) * t->dw + 1)) / t->sw + 1;
        int64_t nx = t->n * t->c * t->h * t->w, ny = t->n * t->m * oh * ow;
        float *x = malloc(sizeof(float) * (size_t)nx), *plain = malloc(sizeof(float) * (size_t)ny),
              *fused = malloc(sizeof(float) * (size_t)ny);
        for (int64_t i = 0; i < nx; i++) x[i] = xval(i);
        pbw_t mb = {0};
        conv_model(&mb, t, epilogue);
        vigil_nn_model_t *mp = load(&mb, 0), *mf = load(&mb, 1);
        char *ops = vigil_nn_model_op_types(mf);
        assert_string_equal(ops, "Conv"); /* the whole epilogue went into the conv */
        free(ops);
        run(mp, t, x, 1, plain, ny);
        run(mf, t, x, 2, fused, ny);
        for (int64_t i = 0; i < ny; i++)
            if (fabsf(fused[i] - plain[i]) > 1e-4f * (1 + fabsf(plain[i])))
                fail_msg("case %zu epilogue %d: y[%lld] = %g fused, %g unfused", ci, epilogue, (long long)i, fused[i],
                         plain[i]);
        vigil_nn_model_free(mp);
        vigil_nn_model_free(mf);
        free(mb.b);
        free(x);
        free(plain);
        free(fused);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nn_conv_matches_naive_reference),
        cmocka_unit_test(test_nn_conv_fused_epilogue_equals_unfused_graph),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
