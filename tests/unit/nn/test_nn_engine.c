/* vigil-nn unit tests: protobuf reader, ONNX loading of hand-encoded
 * models, GEMM kernels, conv vs a naive reference, fusion, the memory
 * planner, bad input handling and batching. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nn/cpu/kernels.h"
#include "nn/onnx/pb.h"
#include "nn_support.h"
#include "vigil/nn.h"

static void test_nn_pb_reads_packed_and_unpacked_and_rejects_truncation(void **state)
{
    (void)state;
    pbw_t w = {0};
    pbw_int(&w, 1, 5); /* unpacked */
    pbw_int(&w, 1, 300);
    pbw_t packed = {0};
    pbw_varint(&packed, 7);
    pbw_varint(&packed, 1ull << 40);
    pbw_bytes(&w, 1, packed.b, packed.n);
    free(packed.b);
    pb_reader_t r;
    uint32_t f;
    int wire;
    int64_t *v = NULL;
    size_t n = 0, cap = 0;
    vigil__pb_init(&r, w.b, w.n);
    while (vigil__pb_next(&r, &f, &wire)) {
        assert_int_equal(f, 1);
        assert_int_equal(vigil__pb_repeated(&r, wire, 'v', (void **)&v, &n, &cap), 0);
    }
    assert_false(r.err);
    assert_int_equal(n, 4);
    assert_int_equal(v[0], 5);
    assert_int_equal(v[1], 300);
    assert_int_equal(v[2], 7);
    assert_int_equal(v[3], 1ll << 40);
    free(v);
    /* a length-delimited field cut short is an error, not a read past the end */
    vigil__pb_init(&r, w.b, w.n - 1);
    v = NULL;
    n = cap = 0;
    int rc = 0;
    while (vigil__pb_next(&r, &f, &wire)) rc |= vigil__pb_repeated(&r, wire, 'v', (void **)&v, &n, &cap);
    assert_true(r.err || rc);
    free(v);
    free(w.b);
}

/* x[N,2,5,5] -> Conv 3x3 pad 1 (3 out) -> BatchNormalization -> Relu -> y */
static void conv_bn_relu_model(pbw_t *model, int cyclic)
{
    pbw_t g = {0};
    float wt[3 * 2 * 9], b[3] = {0.1f, -0.2f, 0.3f}, sc[3] = {1.5f, 0.5f, 2}, bi[3] = {0, 1, -1},
          mean[3] = {0.2f, -0.1f, 0}, var[3] = {1, 2, 0.5f};
    for (int i = 0; i < 54; i++) wt[i] = (float)((i * 7) % 11 - 5) / 10;
    int64_t wd[4] = {3, 2, 3, 3}, cd[1] = {3}, xd[4] = {-1, 2, 5, 5}, yd[4] = {-1, 3, 5, 5};
    int64_t pads[4] = {1, 1, 1, 1};
    const char *cin[] = {"x", "w", "b", NULL}, *cout[] = {cyclic ? "r" : "c", NULL};
    const char *bin[] = {"c", "sc", "bi", "mean", "var", NULL}, *bout[] = {"n", NULL};
    const char *rin[] = {"n", NULL}, *rout[] = {"y", NULL};
    const char *cyc_in[] = {"y", NULL}, *cyc_out[] = {"r2", NULL};
    (void)cyc_in, (void)cyc_out;
    pbw_node(&g, "Conv", cin, cout, "pads", pads, 4);
    if (cyclic) { /* c is produced from y, which depends on c */
        const char *a[] = {"y", NULL}, *o[] = {"c", NULL};
        const char *a2[] = {"r", NULL}, *o2[] = {"c2", NULL};
        pbw_node(&g, "Relu", a, o, NULL, NULL, 0);
        pbw_node(&g, "Relu", a2, o2, NULL, NULL, 0);
    }
    pbw_node(&g, "BatchNormalization", bin, bout, NULL, NULL, 0);
    pbw_node(&g, "Relu", rin, rout, NULL, NULL, 0);
    pbw_init_f32(&g, "w", 4, wd, wt);
    pbw_init_f32(&g, "b", 1, cd, b);
    pbw_init_f32(&g, "sc", 1, cd, sc);
    pbw_init_f32(&g, "bi", 1, cd, bi);
    pbw_init_f32(&g, "mean", 1, cd, mean);
    pbw_init_f32(&g, "var", 1, cd, var);
    pbw_value_info(&g, 11, "x", 4, xd);
    pbw_value_info(&g, 12, "y", 4, yd);
    pbw_model(model, &g, 13);
}

static vigil_nn_model_t *load(const pbw_t *m, int optimize, char *err, size_t size)
{
    vigil_nn_load_opts_t o;
    vigil_nn_load_opts_init(&o);
    o.optimize = optimize;
    return vigil_nn_model_load_onnx(m->b, m->n, &o, err, size);
}

static void run1(vigil_nn_model_t *m, const float *x, int64_t batch, float *y)
{
    char err[256];
    vigil_nn_session_t *s = vigil_nn_session_new(m, NULL, err, sizeof err);
    assert_non_null(s);
    vigil_nn_tensor_t in = {VIGIL_NN_FLOAT32, 4, {batch, 2, 5, 5}, (void *)x}, out;
    assert_int_equal(vigil_nn_run(s, &in, 1, &out, 1, err, sizeof err), VIGIL_OK);
    assert_int_equal(out.ndim, 4);
    assert_int_equal(out.dims[0], batch);
    memcpy(y, out.data, sizeof(float) * (size_t)(batch * 75));
    vigil_nn_session_free(s);
}

static void test_nn_fusion_changes_nothing_numerically(void **state)
{
    (void)state;
    pbw_t mb = {0};
    char err[256];
    conv_bn_relu_model(&mb, 0);
    vigil_nn_model_t *plain = load(&mb, 0, err, sizeof err), *fused = load(&mb, 1, err, sizeof err);
    assert_non_null(plain);
    assert_non_null(fused);
    char *ops = vigil_nn_model_op_types(fused);
    assert_string_equal(ops, "Conv"); /* BN and Relu folded into the conv */
    free(ops);
    float x[50], y1[75], y2[75];
    for (int i = 0; i < 50; i++) x[i] = sinf((float)i);
    run1(plain, x, 1, y1);
    run1(fused, x, 1, y2);
    for (int i = 0; i < 75; i++) assert_true(fabsf(y1[i] - y2[i]) < 1e-5f);
    vigil_nn_model_free(plain);
    vigil_nn_model_free(fused);
    free(mb.b);
}

static void test_nn_batch_two_equals_two_single_runs(void **state)
{
    (void)state;
    pbw_t mb = {0};
    char err[256];
    conv_bn_relu_model(&mb, 0);
    vigil_nn_model_t *m = load(&mb, 1, err, sizeof err);
    assert_non_null(m);
    float x[100], y[150], a[75], b[75];
    for (int i = 0; i < 100; i++) x[i] = cosf((float)i * 0.3f);
    run1(m, x, 2, y);
    run1(m, x, 1, a);
    run1(m, x + 50, 1, b);
    for (int i = 0; i < 75; i++) {
        assert_true(fabsf(y[i] - a[i]) < 1e-6f);
        assert_true(fabsf(y[75 + i] - b[i]) < 1e-6f);
    }
    vigil_nn_model_free(m);
    free(mb.b);
}

static void test_nn_cyclic_graph_is_rejected(void **state)
{
    (void)state;
    pbw_t mb = {0};
    char err[256] = "";
    conv_bn_relu_model(&mb, 1);
    vigil_nn_model_t *m = load(&mb, 1, err, sizeof err);
    assert_null(m);
    assert_non_null(strstr(err, "cycle"));
    free(mb.b);
}

/* a graph x -> OP(inputs) -> y, inputs as given (""=left out) */
static void one_node_model(pbw_t *mb, const char *op, const char *const *in)
{
    pbw_t g = {0};
    static const char *const out[] = {"y", NULL};
    int64_t d[2] = {4, 4};
    float wv[16] = {0};
    pbw_node(&g, op, in, out, NULL, NULL, 0);
    pbw_init_f32(&g, "w", 2, d, wv);
    pbw_value_info(&g, 11, "x", 2, d);
    pbw_value_info(&g, 12, "y", 2, d);
    pbw_model(mb, &g, 13);
}

static void test_nn_node_with_wrong_arity_is_a_load_error_naming_node_and_op(void **state)
{
    (void)state;
    static const char *const one[] = {"x", NULL}, *const three[] = {"x", "w", "w", NULL},
                             *const gap[] = {"", "x", NULL}, *const ok[] = {"x", "w", NULL};
    const struct {
        const char *op;
        const char *const *in;
        const char *want;
    } cases[] = {
        {"MatMul", one, "takes 2 inputs, has 1"},
        {"MatMul", three, "takes 2 inputs, has 3"},
        {"Unsqueeze", gap, "required input 0 is left out"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pbw_t mb = {0};
        char err[256] = "";
        one_node_model(&mb, cases[i].op, cases[i].in);
        vigil_nn_model_t *m = load(&mb, 1, err, sizeof err);
        assert_null(m);
        assert_non_null(strstr(err, cases[i].op));
        assert_non_null(strstr(err, cases[i].want));
        free(mb.b);
    }
    pbw_t mb = {0};
    char err[256] = "";
    one_node_model(&mb, "MatMul", ok); /* the same graph with the right arity loads */
    vigil_nn_model_t *m = load(&mb, 1, err, sizeof err);
    assert_non_null(m);
    vigil_nn_model_free(m);
    free(mb.b);
}

static void test_nn_wrong_input_shape_names_the_input(void **state)
{
    (void)state;
    pbw_t mb = {0};
    char err[256] = "";
    conv_bn_relu_model(&mb, 0);
    vigil_nn_model_t *m = load(&mb, 1, err, sizeof err);
    vigil_nn_session_t *s = vigil_nn_session_new(m, NULL, err, sizeof err);
    float x[64] = {0};
    vigil_nn_tensor_t in = {VIGIL_NN_FLOAT32, 4, {1, 2, 4, 8}, x}, out;
    assert_int_equal(vigil_nn_run(s, &in, 1, &out, 1, err, sizeof err), VIGIL_ERR_INVALID);
    assert_non_null(strstr(err, "\"x\""));
    assert_non_null(strstr(err, "[1,2,4,8]"));
    vigil_nn_session_free(s);
    vigil_nn_model_free(m);
    free(mb.b);
}

static void test_nn_truncated_model_is_an_error_not_a_crash(void **state)
{
    (void)state;
    pbw_t mb = {0};
    char err[256];
    conv_bn_relu_model(&mb, 0);
    for (size_t n = 0; n < mb.n; n += 3) {
        uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan catches over-reads */
        memcpy(copy, mb.b, n);
        vigil_nn_model_t *m = vigil_nn_model_load_onnx(copy, n, NULL, err, sizeof err);
        vigil_nn_model_free(m); /* most prefixes fail; none may crash */
        free(copy);
    }
    free(mb.b);
}

static void test_nn_planner_reuses_memory_in_a_chain(void **state)
{
    (void)state;
    /* x -> Relu -> Sigmoid -> Relu -> Sigmoid -> Relu -> y: 5 values, at most 2 live */
    pbw_t g = {0}, mb = {0};
    const char *names[] = {"x", "a", "b", "c", "d", "y"};
    const char *ops[] = {"Relu", "Sigmoid", "Relu", "Sigmoid", "Relu"};
    for (int i = 0; i < 5; i++) {
        const char *in[] = {names[i], NULL}, *out[] = {names[i + 1], NULL};
        pbw_node(&g, ops[i], in, out, NULL, NULL, 0);
    }
    int64_t d[2] = {64, 256};
    pbw_value_info(&g, 11, "x", 2, d);
    pbw_value_info(&g, 12, "y", 2, d);
    pbw_model(&mb, &g, 13);
    char err[256];
    vigil_nn_model_t *m = vigil_nn_model_load_onnx(mb.b, mb.n, NULL, err, sizeof err);
    assert_non_null(m);
    vigil_nn_session_t *s = vigil_nn_session_new(m, NULL, err, sizeof err);
    float *x = calloc(64 * 256, sizeof(float));
    vigil_nn_tensor_t in = {VIGIL_NN_FLOAT32, 2, {64, 256}, x}, out;
    assert_int_equal(vigil_nn_run(s, &in, 1, &out, 1, err, sizeof err), VIGIL_OK);
    size_t one = 64 * 256 * sizeof(float);
    assert_true(vigil_nn_session_arena_bytes(s) <= 2 * one); /* 5 tensors, 2 slots */
    /* relu(sigmoid(relu(sigmoid(relu(0))))) = sigmoid(0.5)... check a value */
    float want = 1.0f / (1.0f + expf(-0.5f));
    assert_true(fabsf(((float *)out.data)[0] - want) < 1e-6f);
    free(x);
    vigil_nn_session_free(s);
    vigil_nn_model_free(m);
    free(mb.b);
}

static void test_nn_gemm_kernels_match_reference_on_odd_sizes(void **state)
{
    (void)state;
    const int64_t sizes[][3] = {{1, 1, 1}, {7, 19, 5}, {13, 33, 300}, {6, 16, 8}, {65, 17, 129}};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        int64_t M = sizes[t][0], N = sizes[t][1], K = sizes[t][2];
        float *A = malloc(sizeof(float) * (size_t)(M * K)), *B = malloc(sizeof(float) * (size_t)(K * N));
        float *C = malloc(sizeof(float) * (size_t)(M * N)), *R = malloc(sizeof(float) * (size_t)(M * N));
        for (int64_t i = 0; i < M * K; i++) A[i] = (float)((i * 13) % 17 - 8) / 8;
        for (int64_t i = 0; i < K * N; i++) B[i] = (float)((i * 7) % 19 - 9) / 9;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double s = 0;
                for (int64_t k = 0; k < K; k++) s += (double)A[i * K + k] * B[k * N + j];
                R[i * N + j] = (float)s;
            }
        for (int portable = 0; portable < 2; portable++) {
            nn_pool_t *pool = vigil__nn_pool_new(2);
            vigil__nn_sgemm_force_portable(portable);
            vigil__nn_sgemm(0, 0, M, N, K, A, K, B, N, C, N, 0, pool);
            for (int64_t i = 0; i < M * N; i++) assert_true(fabsf(C[i] - R[i]) < 1e-3f);
            vigil__nn_pool_free(pool);
        }
        vigil__nn_sgemm_force_portable(0);
        free(A);
        free(B);
        free(C);
        free(R);
    }
}

/* MatMul with a constant B (a linear layer; B is packed once at load) on
 * batched A, N not a multiple of 16, 1 and 2 threads, vs a double sum */
static void test_nn_matmul_with_constant_b_matches_reference(void **state)
{
    (void)state;
    enum { BA = 2, M = 7, K = 40, N = 37 };
    float *w = malloc(sizeof(float) * K * N), *x = malloc(sizeof(float) * BA * M * K);
    for (int i = 0; i < K * N; i++) w[i] = (float)((i * 7) % 19 - 9) / 9;
    for (int i = 0; i < BA * M * K; i++) x[i] = sinf((float)i * 0.7f);
    pbw_t g = {0}, mb = {0};
    static const char *const in[] = {"x", "w", NULL}, *const out[] = {"y", NULL};
    int64_t wd[2] = {K, N}, xd[3] = {BA, M, K}, yd[3] = {BA, M, N};
    pbw_node(&g, "MatMul", in, out, NULL, NULL, 0);
    pbw_init_f32(&g, "w", 2, wd, w);
    pbw_value_info(&g, 11, "x", 3, xd);
    pbw_value_info(&g, 12, "y", 3, yd);
    pbw_model(&mb, &g, 13);
    char err[256] = "";
    vigil_nn_model_t *m = load(&mb, 1, err, sizeof err);
    if (!m) fail_msg("load: %s", err);
    for (int threads = 1; threads <= 2; threads++) {
        vigil_nn_session_opts_t so;
        vigil_nn_session_opts_init(&so);
        so.threads = threads;
        vigil_nn_session_t *s = vigil_nn_session_new(m, &so, err, sizeof err);
        assert_non_null(s);
        vigil_nn_tensor_t xt = {VIGIL_NN_FLOAT32, 3, {BA, M, K}, x}, yt;
        assert_int_equal(vigil_nn_run(s, &xt, 1, &yt, 1, err, sizeof err), VIGIL_OK);
        assert_int_equal(vigil_nn_tensor_numel(&yt), BA * M * N);
        const float *y = yt.data;
        for (int b = 0; b < BA; b++)
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double r = 0;
                    for (int k = 0; k < K; k++) r += (double)x[(b * M + i) * K + k] * w[k * N + j];
                    if (fabs(y[(b * M + i) * N + j] - r) > 1e-4 * (1 + fabs(r)))
                        fail_msg("threads %d: y[%d,%d,%d] = %g, want %g", threads, b, i, j,
                                 y[(b * M + i) * N + j], r);
                }
        vigil_nn_session_free(s);
    }
    vigil_nn_model_free(m);
    free(mb.b);
    free(w);
    free(x);
}

/* the pool: many back-to-back parallel-fors (workers spinning, blocking,
 * waking) each cover every index exactly once, with 2 and 3 threads */
static void mark_range(void *ctx, int64_t b, int64_t e)
{
    int *hits = ctx;
    for (int64_t i = b; i < e; i++) hits[i]++;
}

static void test_nn_pool_runs_every_index_once_per_call(void **state)
{
    (void)state;
    enum { N = 37, CALLS = 5000 };
    for (int threads = 2; threads <= 3; threads++) {
        nn_pool_t *pool = vigil__nn_pool_new(threads);
        assert_non_null(pool);
        int hits[N];
        for (int c = 0; c < CALLS; c++) {
            memset(hits, 0, sizeof hits);
            vigil__nn_parallel_for(pool, N, 1, mark_range, hits);
            for (int i = 0; i < N; i++)
                if (hits[i] != 1) fail_msg("threads %d call %d: index %d ran %d times", threads, c, i, hits[i]);
        }
        vigil__nn_pool_free(pool);
    }
}

/* GlobalAveragePool = TF.js's Mean: sum of float(x / n) in double (the
 * AVX2 path in 16 lanes, a tail), on planes not a multiple of 16 */
static void test_nn_global_average_pool_matches_double_mean(void **state)
{
    (void)state;
    enum { C = 3, H = 37, W = 41 };
    float *x = malloc(sizeof(float) * C * H * W);
    for (int i = 0; i < C * H * W; i++) x[i] = sinf((float)i * 0.013f) * 3 + (float)(i % 7);
    pbw_t g = {0}, mb = {0};
    static const char *const in[] = {"x", NULL}, *const out[] = {"y", NULL};
    int64_t xd[4] = {1, C, H, W}, yd[4] = {1, C, 1, 1};
    pbw_node(&g, "GlobalAveragePool", in, out, NULL, NULL, 0);
    pbw_value_info(&g, 11, "x", 4, xd);
    pbw_value_info(&g, 12, "y", 4, yd);
    pbw_model(&mb, &g, 13);
    char err[256] = "";
    vigil_nn_model_t *m = load(&mb, 1, err, sizeof err);
    if (!m) fail_msg("load: %s", err);
    vigil_nn_session_t *s = vigil_nn_session_new(m, NULL, err, sizeof err);
    assert_non_null(s);
    vigil_nn_tensor_t xt = {VIGIL_NN_FLOAT32, 4, {1, C, H, W}, x}, yt;
    assert_int_equal(vigil_nn_run(s, &xt, 1, &yt, 1, err, sizeof err), VIGIL_OK);
    assert_int_equal(vigil_nn_tensor_numel(&yt), C);
    for (int c = 0; c < C; c++) {
        double r = 0;
        for (int i = 0; i < H * W; i++) r += x[c * H * W + i] / (float)(H * W);
        if (fabs(((const float *)yt.data)[c] - r) > 1e-6 * (1 + fabs(r)))
            fail_msg("channel %d: %g, want %g", c, ((const float *)yt.data)[c], r);
    }
    vigil_nn_session_free(s);
    vigil_nn_model_free(m);
    free(mb.b);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nn_pb_reads_packed_and_unpacked_and_rejects_truncation),
        cmocka_unit_test(test_nn_fusion_changes_nothing_numerically),
        cmocka_unit_test(test_nn_batch_two_equals_two_single_runs),
        cmocka_unit_test(test_nn_cyclic_graph_is_rejected),
        cmocka_unit_test(test_nn_wrong_input_shape_names_the_input),
        cmocka_unit_test(test_nn_node_with_wrong_arity_is_a_load_error_naming_node_and_op),
        cmocka_unit_test(test_nn_truncated_model_is_an_error_not_a_crash),
        cmocka_unit_test(test_nn_planner_reuses_memory_in_a_chain),
        cmocka_unit_test(test_nn_gemm_kernels_match_reference_on_odd_sizes),
        cmocka_unit_test(test_nn_matmul_with_constant_b_matches_reference),
        cmocka_unit_test(test_nn_pool_runs_every_index_once_per_call),
        cmocka_unit_test(test_nn_global_average_pool_matches_double_mean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
