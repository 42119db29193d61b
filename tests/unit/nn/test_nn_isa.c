/* vigil-nn kernel tiers (src/nn/cpu/isa.c): VIGIL_NN_ISA forcing each tier,
 * refused values (unknown, a tier this CPU or build lacks) named by
 * vigil_nn_isa_check and by session_new while the best tier keeps running,
 * and the kernels that switch on the tier (GEMM across K blocks with partial
 * tiles, the fused epilogue, conv through the real loader) agreeing between
 * every tier this CPU runs. The tier is read once per process, so each
 * VIGIL_NN_ISA case runs in a forked child that has not read it yet. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "nn/cpu/isa.h"
#include "nn/cpu/kernels.h"
#include "nn_support.h"
#include "vigil/nn.h"

/* a one-Conv model (3x3, pad 1: Winograd on avx2, implicit GEMM on generic)
 * with a fused Relu, built as ONNX bytes */
static vigil_nn_model_t *conv_model(char *err, size_t errsize)
{
    int64_t xd[] = {1, 8, 12, 20}, wd[] = {16, 8, 3, 3}, bd[] = {16}, yd[] = {1, 16, 12, 20};
    float w[16 * 8 * 9], b[16];
    for (int i = 0; i < 16 * 8 * 9; i++) w[i] = (float)((i * 37) % 23 - 11) / 16;
    for (int i = 0; i < 16; i++) b[i] = (float)(i % 5 - 2) / 8;
    pbw_t g = {0}, model = {0};
    pbw_init_f32(&g, "w", 4, wd, w);
    pbw_init_f32(&g, "b", 1, bd, b);
    pbw_value_info(&g, 11, "x", 4, xd);
    pbw_value_info(&g, 12, "r", 4, yd);
    const char *cin[] = {"x", "w", "b", NULL}, *cout[] = {"y", NULL};
    const int64_t pads[] = {1, 1, 1, 1};
    pbw_node(&g, "Conv", cin, cout, "pads", pads, 4);
    const char *rin[] = {"y", NULL}, *rout[] = {"r", NULL};
    pbw_node(&g, "Relu", rin, rout, NULL, NULL, 0);
    pbw_model(&model, &g, 13);
    vigil_nn_model_t *m = vigil_nn_model_load_onnx(model.b, model.n, NULL, err, errsize);
    free(model.b);
    return m;
}

/* the conv model run once on the current tier: out gets 16*12*20 floats;
 * returns 0, or -1 with err set */
static int run_conv(float *out, char *err, size_t errsize)
{
    vigil_nn_model_t *m = conv_model(err, errsize);
    if (!m) return -1;
    vigil_nn_session_t *s = vigil_nn_session_new(m, NULL, err, errsize);
    int rc = -1;
    if (s) {
        static float x[8 * 12 * 20];
        for (int i = 0; i < 8 * 12 * 20; i++) x[i] = sinf((float)i * 0.37f) * 2;
        vigil_nn_tensor_t in = {.dtype = VIGIL_NN_FLOAT32, .ndim = 4, .dims = {1, 8, 12, 20}, .data = x}, o;
        if (!vigil_nn_run(s, &in, 1, &o, 1, err, errsize)) {
            memcpy(out, o.data, sizeof(float) * 16 * 12 * 20);
            rc = 0;
        }
    }
    vigil_nn_session_free(s);
    vigil_nn_model_free(m);
    return rc;
}

/* In a fresh child: VIGIL_NN_ISA=value, then want_isa in use (-1: the
 * best), want_err from the check, and the message holding every one of
 * the NULL-terminated words; session_new refused the same way. Exit 0 when
 * all hold, else the number of the first check that failed. */
static int child_case(const char *value, int want_isa, vigil_err_t want_err, const char *const *words)
{
    setenv("VIGIL_NN_ISA", value, 1);
    char err[512] = "";
    if ((int)vigil_nn_isa() != (want_isa < 0 ? (int)vigil_nn_isa_best() : want_isa)) return 1;
    if (vigil_nn_isa_check(err, sizeof err) != want_err) return 2;
    for (const char *const *w = words; w && *w; w++)
        if (!strstr(err, *w)) return 3;
    char serr[512] = "";
    vigil_nn_model_t *m = conv_model(serr, sizeof serr);
    if (!m) return 4;
    vigil_nn_session_t *s = vigil_nn_session_new(m, NULL, serr, sizeof serr);
    int bad = want_err ? (s != NULL || strcmp(serr, err) != 0) : s == NULL;
    vigil_nn_session_free(s);
    vigil_nn_model_free(m);
    if (bad) return 5;
    char line[512];
    vigil_nn_isa_describe(line, sizeof line);
    if (strncmp(line, "isa ", 4) || !strstr(line, vigil_nn_isa_name(vigil_nn_isa()))) return 6;
    if (want_err && !strstr(line, "refused")) return 7;
    return 0;
}

static void expect_child(const char *value, int want_isa, vigil_err_t want_err, const char *const *words)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(child_case(value, want_isa, want_err, words));
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st)) fail_msg("VIGIL_NN_ISA=%s: child check %d failed", value, WEXITSTATUS(st));
}

/* runs before anything in this process reads the tier (see the top) */
static void test_vigil_nn_isa_forces_each_supported_tier_and_refuses_the_rest(void **state)
{
    (void)state;
    expect_child("generic", VIGIL_NN_ISA_GENERIC, VIGIL_OK, NULL);
    const char *unknown[] = {"VIGIL_NN_ISA=sse9", "unknown tier", "generic, avx2, avx512", NULL};
    expect_child("sse9", -1, VIGIL_ERR_INVALID, unknown);
    const char *upper[] = {"VIGIL_NN_ISA=AVX2", "unknown tier", NULL};
    expect_child("AVX2", -1, VIGIL_ERR_INVALID, upper);
    for (int t = VIGIL_NN_ISA_AVX2; t < VIGIL_NN_ISA_COUNT; t++) {
        const char *name = vigil_nn_isa_name((vigil_nn_isa_t)t);
        /* this process has not resolved the tier yet: ask a child which is supported */
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) _exit(vigil_nn_isa_supported((vigil_nn_isa_t)t) ? 10 : 11);
        int st = 0;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        if (WEXITSTATUS(st) == 10) {
            expect_child(name, t, VIGIL_OK, NULL);
        } else {
            char want[64];
            snprintf(want, sizeof want, "VIGIL_NN_ISA=%s", name);
            const char *words[] = {want, "best tier here", NULL};
            expect_child(name, -1, VIGIL_ERR_UNSUPPORTED, words);
            print_message("tier %s not run here (this CPU or build lacks it): refused as asked\n", name);
        }
    }
}

static void test_best_tier_is_supported_and_in_use_by_default(void **state)
{
    (void)state;
    unsetenv("VIGIL_NN_ISA");
    vigil_nn_isa_t best = vigil_nn_isa_best();
    assert_true(vigil_nn_isa_supported(best));
    assert_true(vigil_nn_isa_supported(VIGIL_NN_ISA_GENERIC));
    assert_int_equal(vigil_nn_isa(), best);
    for (int t = best + 1; t < VIGIL_NN_ISA_COUNT; t++) {
        assert_false(vigil_nn_isa_supported((vigil_nn_isa_t)t));
        assert_int_equal(vigil__nn_isa_force((vigil_nn_isa_t)t), -1); /* never a tier the CPU lacks */
        assert_int_equal(vigil_nn_isa(), best);
    }
    assert_false(vigil_nn_isa_supported((vigil_nn_isa_t)VIGIL_NN_ISA_COUNT));
    assert_string_equal(vigil_nn_isa_name((vigil_nn_isa_t)7), "?");
    assert_int_equal(vigil_nn_isa_check(NULL, 0), VIGIL_OK);
    char line[512];
    vigil_nn_isa_describe(line, sizeof line);
    print_message("%s\n", line);
    assert_non_null(strstr(line, "(best)"));
    assert_non_null(strstr(line, "cpu \""));
    if (best >= VIGIL_NN_ISA_AVX2) {
        assert_true(vigil__nn_have_avx2());
        assert_int_equal(vigil__nn_cpu_features() & (NN_CPU_AVX2 | NN_CPU_FMA), NN_CPU_AVX2 | NN_CPU_FMA);
    }
    /* a short buffer is cut, never overrun */
    char small[12];
    memset(small, 'x', sizeof small);
    vigil_nn_isa_describe(small, 8);
    assert_int_equal(strlen(small), 7);
    assert_int_equal(small[8], 'x');
}

static double naive(int64_t i, int64_t j, int64_t K, const float *A, const float *B, int64_t N)
{
    double s = 0;
    for (int64_t k = 0; k < K; k++) s += (double)A[i * K + k] * B[k * N + j];
    return s;
}

/* GEMM (K crosses the 256 block, partial 6x16 tiles, 2 threads), the
 * epilogue (each activation, the affine) and a Winograd-sized conv on every
 * supported tier: each near a double-precision reference / the other tiers */
static void test_kernels_agree_on_every_supported_tier(void **state)
{
    (void)state;
    enum { M = 29, N = 45, K = 300, NEPI = 6 };
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
    float *C[VIGIL_NN_ISA_COUNT] = {0};
    float *E[VIGIL_NN_ISA_COUNT][NEPI] = {{0}};
    float *Y[VIGIL_NN_ISA_COUNT] = {0};
    assert_non_null(A);
    assert_non_null(B);
    for (int i = 0; i < M * K; i++) A[i] = sinf((float)i * 0.11f);
    for (int i = 0; i < K * N; i++) B[i] = cosf((float)i * 0.07f);
    nn_pool_t *pool = vigil__nn_pool_new(2);
    assert_non_null(pool);
    const nn_epi_t epis[NEPI] = {{.act = NN_ACT_RELU}, {.act = NN_ACT_SIGMOID},
                                 {.act = NN_ACT_HARDSWISH, .post = 1, .pa = 1.5f, .pb = -0.25f},
                                 {.act = NN_ACT_CLIP, .a = -0.5f, .b = 0.75f},
                                 {.act = NN_ACT_HARDSWISH_TF, .a = 0.166626f},
                                 {.act = NN_ACT_HARDSIGMOID, .a = 0.2f, .b = 0.5f, .post = 1, .pa = 2.0f, .pb = 0.5f}};
    vigil_nn_isa_t best = vigil_nn_isa_best();
    int ran = 0;
    for (int t = 0; t < VIGIL_NN_ISA_COUNT; t++) {
        if (!vigil_nn_isa_supported((vigil_nn_isa_t)t)) continue;
        assert_int_equal(vigil__nn_isa_force((vigil_nn_isa_t)t), 0);
        assert_int_equal(vigil_nn_isa(), t);
        C[t] = calloc(M * N, sizeof(float));
        assert_non_null(C[t]);
        vigil__nn_sgemm(0, 0, M, N, K, A, K, B, N, C[t], N, 0, pool);
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                double want = naive(i, j, K, A, B, N);
                if (fabs(C[t][i * N + j] - want) > 1e-3)
                    fail_msg("tier %s: C[%d][%d] = %g, want %g", vigil_nn_isa_name((vigil_nn_isa_t)t), i, j,
                             C[t][i * N + j], want);
            }
        for (int e = 0; e < NEPI; e++) {
            E[t][e] = malloc(sizeof(float) * 1003);
            assert_non_null(E[t][e]);
            for (int i = 0; i < 1003; i++) E[t][e][i] = (float)(i % 97 - 48) / 9;
            vigil__nn_epilogue(E[t][e], 1003, 0.125f, &epis[e]);
        }
        Y[t] = malloc(sizeof(float) * 16 * 12 * 20);
        assert_non_null(Y[t]);
        char err[512];
        if (run_conv(Y[t], err, sizeof err)) fail_msg("tier %s: conv: %s", vigil_nn_isa_name((vigil_nn_isa_t)t), err);
        ran++;
    }
    assert_true(ran >= 1);
    /* the avx512 GEMM kernel keeps the avx2 one's packing and FMA order:
     * the same bits, not merely near */
    if (C[VIGIL_NN_ISA_AVX2] && C[VIGIL_NN_ISA_AVX512])
        for (int i = 0; i < M * N; i++)
            if (memcmp(&C[VIGIL_NN_ISA_AVX2][i], &C[VIGIL_NN_ISA_AVX512][i], sizeof(float)))
                fail_msg("GEMM at %d: avx512 %.9g, avx2 %.9g (not the same bits)", i, C[VIGIL_NN_ISA_AVX512][i],
                         C[VIGIL_NN_ISA_AVX2][i]);
    /* the avx512 epilogue does the avx2 one's operations, the tail masked */
    if (C[VIGIL_NN_ISA_AVX2] && C[VIGIL_NN_ISA_AVX512])
        for (int e = 0; e < NEPI; e++)
            if (memcmp(E[VIGIL_NN_ISA_AVX2][e], E[VIGIL_NN_ISA_AVX512][e], sizeof(float) * 1003))
                fail_msg("epilogue %d: avx512 and avx2 give different bits", e);
    for (int t = 1; t < VIGIL_NN_ISA_COUNT; t++) {
        if (!C[t] || !C[0]) continue;
        for (int e = 0; e < NEPI; e++)
            for (int i = 0; i < 1003; i++)
                if (fabsf(E[t][e][i] - E[0][e][i]) > 1e-5f)
                    fail_msg("epilogue %d at %d: %s %g, generic %g", e, i, vigil_nn_isa_name((vigil_nn_isa_t)t),
                             E[t][e][i], E[0][e][i]);
        for (int i = 0; i < 16 * 12 * 20; i++)
            if (fabsf(Y[t][i] - Y[0][i]) > 1e-4f)
                fail_msg("conv at %d: %s %g, generic %g", i, vigil_nn_isa_name((vigil_nn_isa_t)t), Y[t][i], Y[0][i]);
    }
    assert_int_equal(vigil__nn_isa_force(best), 0);
    for (int t = 0; t < VIGIL_NN_ISA_COUNT; t++) {
        free(C[t]);
        free(Y[t]);
        for (int e = 0; e < NEPI; e++) free(E[t][e]);
    }
    vigil__nn_pool_free(pool);
    free(A);
    free(B);
}

/* the AVX2 Relu/Clip give the scalar loops' bits: NaN, -0, infinities,
 * values equal to a bound, every tail length */
static void test_relu_clip_avx2_equal_scalar_bits(void **state)
{
    (void)state;
    if (!vigil_nn_isa_supported(VIGIL_NN_ISA_AVX2)) skip();
    enum { N = 203 };
    float x[N], y[N], want[N];
    const float sp[] = {NAN, -NAN, 0.0f, -0.0f, INFINITY, -INFINITY, -1.0f, 6.0f, 1e-45f, -1e-45f};
    for (int i = 0; i < N; i++) x[i] = i % 3 == 0 ? sp[(i / 3) % 10] : (float)(i % 17) - 8.0f;
    const float bounds[][2] = {{0.0f, 6.0f}, {-0.0f, 6.0f}, {-1.0f, 1.0f}, {-INFINITY, INFINITY}};
    for (int relu = 1; relu >= 0; relu--)
        for (int bi = 0; bi < (relu ? 1 : 4); bi++)
            for (int n = N - 9; n <= N; n++) {
                float lo = bounds[bi][0], hi = bounds[bi][1];
                for (int i = 0; i < n; i++) want[i] = relu ? (x[i] > 0 ? x[i] : 0) : x[i] < lo ? lo : x[i] > hi ? hi : x[i];
                vigil__nn_relu_clip_avx2(y, x, n, relu, lo, hi);
                assert_memory_equal(y, want, sizeof(float) * (size_t)n);
                memcpy(y, x, sizeof x); /* in place */
                vigil__nn_relu_clip_avx2(y, y, n, relu, lo, hi);
                assert_memory_equal(y, want, sizeof(float) * (size_t)n);
            }
}

/* The zmm sum, exp rows and MaxPool rows give the AVX2 kernels' bits (MaxPool
 * the scalar loop's): every tail length, NaN, -0, infinities, both strides. */
static float sample(int i)
{
    const float sp[] = {NAN, -0.0f, 0.0f, INFINITY, -INFINITY, 6.0f, -1.0f};
    return i % 11 == 5 ? sp[(i / 11) % 7] : sinf((float)i * 0.37f) * 4.0f;
}

static void test_elementwise_avx512_equal_avx2_bits(void **state)
{
    (void)state;
#if defined(__x86_64__) || defined(__i386__)
    if (!vigil_nn_isa_supported(VIGIL_NN_ISA_AVX512)) skip();
    enum { N = 1037 };
    float *a = malloc(sizeof(float) * N), *b = malloc(sizeof(float) * N), *y2 = malloc(sizeof(float) * N),
          *y5 = malloc(sizeof(float) * N);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(y2);
    assert_non_null(y5);
    for (int i = 0; i < N; i++) a[i] = sample(i), b[i] = sample(i * 3 + 1) + 0.5f;
    const int64_t lens[] = {0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 100, N};
    for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
        int64_t n = lens[li];
        double s2 = vigil__nn_sum_div_avx2(b, n, 49.0f), s5 = vigil__nn_sum_div_avx512(b, n, 49.0f);
        if (memcmp(&s2, &s5, sizeof s2) && !(isnan(s2) && isnan(s5)))
            fail_msg("sum/div n %ld: %.17g vs %.17g", (long)n, s5, s2);
        for (int i = 0; i < N; i++) b[i] = fabsf(b[i]) < 1e30f ? b[i] : 1.0f; /* finite rows */
        for (int with_y = 0; with_y < 2 && n > 0; with_y++) {
            float mx = b[0];
            for (int64_t i = 1; i < n; i++) mx = b[i] > mx ? b[i] : mx;
            memset(y2, 0, sizeof(float) * N);
            memset(y5, 0, sizeof(float) * N);
            s2 = vigil__nn_exp_rows_avx2(b, mx, with_y ? y2 : NULL, n);
            s5 = vigil__nn_exp_rows_avx512(b, mx, with_y ? y5 : NULL, n);
            if (memcmp(&s2, &s5, sizeof s2)) fail_msg("exp rows n %ld: sum %.17g vs %.17g", (long)n, s5, s2);
            if (memcmp(y2, y5, sizeof(float) * N)) fail_msg("exp rows n %ld: values differ", (long)n);
        }
    }
    /* MaxPool rows: kernel 1..3, dilation 1..2, stride 1 and 2, every n to 40 */
    const float *rows[3] = {a, a + 97, a + 301};
    for (int64_t sw = 1; sw <= 2; sw++)
        for (int64_t kw = 1; kw <= 3; kw++)
            for (int64_t dw = 1; dw <= 2; dw++)
                for (int64_t n = 0; n <= 40; n++) {
                    nn_maxrow_t r = {rows, 3, kw, dw, sw, n, (n - 1) * sw + (kw - 1) * dw + 1};
                    for (int64_t j = 0; j < n; j++) {
                        float acc = -INFINITY;
                        for (int ki = 0; ki < 3; ki++)
                            for (int64_t kj = 0; kj < kw; kj++) {
                                float v = rows[ki][j * sw + kj * dw];
                                acc = v > acc ? v : acc;
                            }
                        y2[j] = acc;
                    }
                    assert_int_equal(vigil__nn_maxpool_row_avx512(&r, y5), n);
                    if (memcmp(y2, y5, sizeof(float) * (size_t)n))
                        fail_msg("maxpool sw %ld kw %ld dw %ld n %ld differs", (long)sw, (long)kw, (long)dw, (long)n);
                }
    free(a);
    free(b);
    free(y2);
    free(y5);
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vigil_nn_isa_forces_each_supported_tier_and_refuses_the_rest),
        cmocka_unit_test(test_relu_clip_avx2_equal_scalar_bits),
        cmocka_unit_test(test_best_tier_is_supported_and_in_use_by_default),
        cmocka_unit_test(test_kernels_agree_on_every_supported_tier),
        cmocka_unit_test(test_elementwise_avx512_equal_avx2_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
