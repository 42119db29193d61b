/* INT8 post-training quantization (vigil/nn_quant.h) on a small ONNX model
 * (Conv 3x3 -> Relu -> depthwise 3x3 stride 2 -> Conv 1x1, the last one a
 * "head"): calibration with each method, the written file applied to a
 * fresh load runs within the quantization error of float, heads kept
 * float unless asked; and bad files: every truncation, a flipped byte,
 * version, layer count, input scale 0 / NaN / inf / negative, zero point
 * -1 / 256, weight scale 0 / NaN / inf, weight -128, a layer naming no
 * node, a layer twice, a missing file; a calibration without inputs.
 * Every bad file is refused with a message saying why, before the model
 * is touched (the same model then still loads the good file). The
 * sensitivity step: each layer's error on the head's output, one at a time
 * and all but one (the same configurations give the same error), its bad
 * inputs, and keeping layers float by exact name. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "nn_support.h"
#include "vigil/nn.h"
#include "vigil/nn_quant.h"

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

static void conv_node(pbw_t *g, const char *name, const char *x, const char *w, const char *b, const char *y,
                      int64_t k, int64_t stride, int64_t pad, int64_t group)
{
    pbw_t n = {0};
    pbw_str(&n, 1, x);
    pbw_str(&n, 1, w);
    pbw_str(&n, 1, b);
    pbw_str(&n, 2, y);
    pbw_str(&n, 3, name);
    pbw_str(&n, 4, "Conv");
    int64_t ks[2] = {k, k}, st[2] = {stride, stride}, pd[4] = {pad, pad, pad, pad};
    attr_ints(&n, "kernel_shape", ks, 2);
    attr_ints(&n, "strides", st, 2);
    attr_ints(&n, "pads", pd, 4);
    attr_int(&n, "group", group);
    pbw_msg(g, 1, &n);
}

static void init(pbw_t *g, const char *name, int ndim, const int64_t *dims, uint32_t seed)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= dims[i];
    float *v = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    pbw_init_f32(g, name, ndim, dims, v);
    free(v);
}

static pbw_t model_bytes;

static vigil_nn_model_t *load(void)
{
    char err[256];
    vigil_nn_model_t *m = vigil_nn_model_load_onnx(model_bytes.b, model_bytes.n, NULL, err, sizeof err);
    if (!m) fail_msg("load: %s", err);
    return m;
}

static int setup(void **state)
{
    (void)state;
    pbw_t g = {0};
    const char *rin[] = {"a", NULL}, *rout[] = {"ar", NULL};
    conv_node(&g, "conv_a", "x", "wa", "ba", "a", 3, 1, 1, 1);
    pbw_node(&g, "Relu", rin, rout, NULL, NULL, 0);
    conv_node(&g, "conv_b", "ar", "wb", "bb", "b", 3, 2, 1, 8);
    conv_node(&g, "conv_c", "b", "wc", "bc", "y", 1, 1, 0, 1);
    int64_t wa[4] = {8, 3, 3, 3}, wb[4] = {8, 1, 3, 3}, wc[4] = {4, 8, 1, 1}, b8[1] = {8}, b4[1] = {4};
    init(&g, "wa", 4, wa, 1);
    init(&g, "ba", 1, b8, 2);
    init(&g, "wb", 4, wb, 3);
    init(&g, "bb", 1, b8, 4);
    init(&g, "wc", 4, wc, 5);
    init(&g, "bc", 1, b4, 6);
    int64_t xd[4] = {1, 3, 13, 15}, yd[4] = {1, 4, 7, 8};
    pbw_value_info(&g, 11, "x", 4, xd);
    pbw_value_info(&g, 12, "y", 4, yd);
    memset(&model_bytes, 0, sizeof model_bytes);
    pbw_model(&model_bytes, &g, 13);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(model_bytes.b);
    return 0;
}

#define NX (3 * 13 * 15)
#define NY (4 * 7 * 8)

static void input(float *x, int seed)
{
    for (int i = 0; i < NX; i++) x[i] = sinf((float)(i * (seed + 3)) * 0.1f) * 2.0f + 0.5f;
}

static void run(vigil_nn_model_t *m, const float *x, float *y)
{
    char err[256];
    vigil_nn_session_t *s = vigil_nn_session_new(m, NULL, err, sizeof err);
    if (!s) fail_msg("session: %s", err);
    vigil_nn_tensor_t in = {.dtype = VIGIL_NN_FLOAT32, .ndim = 4, .dims = {1, 3, 13, 15}, .data = (void *)x}, out;
    if (vigil_nn_run(s, &in, 1, &out, 1, err, sizeof err)) fail_msg("run: %s", err);
    assert_int_equal(vigil_nn_tensor_numel(&out), NY);
    memcpy(y, out.data, sizeof(float) * NY);
    vigil_nn_session_free(s);
}

static char tmp_path[256];

static void calibrate(int method, int heads, size_t want_q, size_t want_f)
{
    vigil_nn_model_t *m = load();
    char err[256];
    vigil_nn_calib_t *c = vigil_nn_calib_new(m, (vigil_nn_calib_method_t)method, heads, 2, err, sizeof err);
    if (!c) fail_msg("calib: %s", err);
    size_t nq, nf;
    vigil_nn_calib_counts(c, &nq, &nf);
    assert_int_equal(nq, want_q);
    assert_int_equal(nf, want_f);
    float x[NX];
    for (int pass = 0; pass < vigil_nn_calib_passes(c); pass++) {
        if (pass) vigil_nn_calib_next_pass(c);
        for (int k = 0; k < 4; k++) {
            input(x, k);
            vigil_nn_tensor_t in = {.dtype = VIGIL_NN_FLOAT32, .ndim = 4, .dims = {1, 3, 13, 15}, .data = x};
            if (vigil_nn_calib_add(c, &in, err, sizeof err)) fail_msg("add: %s", err);
        }
    }
    snprintf(tmp_path, sizeof tmp_path, "/tmp/test_nn_quant.%ld.vq", (long)getpid());
    if (vigil_nn_calib_write(c, tmp_path, err, sizeof err)) fail_msg("write: %s", err);
    vigil_nn_calib_free(c);
    vigil_nn_model_free(m);
}

static void test_nn_quant_calibrated_model_runs_within_quantization_error(void **state)
{
    (void)state;
    for (int method = 0; method < 3; method++)
        for (int heads = 0; heads < 2; heads++) {
            calibrate(method, heads, heads ? 3 : 2, heads ? 0 : 1);
            vigil_nn_model_t *f = load(), *q = load();
            char err[256];
            if (vigil_nn_model_apply_quant(q, tmp_path, err, sizeof err)) fail_msg("apply: %s", err);
            char *types = vigil_nn_model_op_types(q);
            int has_float_conv = 0, has_q = 0;
            for (char *t = types; *t; t += strlen(t) + 1) {
                has_float_conv |= !strcmp(t, "Conv");
                has_q |= !strcmp(t, "VigilQConv");
            }
            free(types);
            assert_true(has_q);
            assert_int_equal(has_float_conv, !heads);
            float x[NX], yf[NY], yq[NY];
            input(x, 7); /* not a calibration input */
            run(f, x, yf);
            run(q, x, yq);
            double e2 = 0, r2 = 0;
            for (int i = 0; i < NY; i++) e2 += (yq[i] - yf[i]) * (yq[i] - yf[i]), r2 += yf[i] * yf[i];
            print_message("method %d heads %d: relative RMS error %.4f\n", method, heads, sqrt(e2 / r2));
            assert_true(sqrt(e2 / r2) < 0.05);
            vigil_nn_model_free(f);
            vigil_nn_model_free(q);
            unlink(tmp_path);
        }
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*len + 64);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static uint32_t fnv(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

static void fix_sum(uint8_t *b, size_t len)
{
    uint32_t h = fnv(b, len - 4);
    for (int i = 0; i < 4; i++) b[len - 4 + i] = (uint8_t)(h >> (8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void putf(uint8_t *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    put32(p, u);
}

static void expect_refused(vigil_nn_model_t *m, const uint8_t *b, size_t len, const char *why)
{
    char err[512] = "";
    assert_int_not_equal(vigil_nn_model_apply_quant_buf(m, b, len, "bad.vq", err, sizeof err), VIGIL_OK);
    if (why && !strstr(err, why)) fail_msg("expected \"%s\" in: %s", why, err);
    assert_non_null(strstr(err, "bad.vq"));
}

static void test_nn_quant_bad_files_refused_before_the_model_changes(void **state)
{
    (void)state;
    calibrate(VIGIL_NN_CALIB_MINMAX, 1, 3, 0);
    size_t len;
    uint8_t *good = read_file(tmp_path, &len), *b = malloc(len + 64);
    vigil_nn_model_t *m = load();
    /* every truncation and a flipped byte at every position (checksum) */
    for (size_t n = 0; n < len; n++) expect_refused(m, good, n, NULL);
    for (size_t i = 0; i < len; i += 7) {
        memcpy(b, good, len);
        b[i] ^= 0x40;
        expect_refused(m, b, len, NULL);
    }
    /* layer 0 is conv_a: name at 14, M at 20, K at 24, input scale 28, zero point 32, weight scales 36 */
    assert_memory_equal(good + 14, "conv_a", 6);
    const size_t M_OFF = 20, XS = 28, ZP = 32, WS = 36, W0 = 36 + 4 * 8;
#define CASE(stmt, why)                                                                                    \
    do {                                                                                                   \
        memcpy(b, good, len);                                                                              \
        stmt;                                                                                              \
        fix_sum(b, len);                                                                                   \
        expect_refused(m, b, len, why);                                                                    \
    } while (0)
    CASE(put32(b + 4, 2), "version");
    CASE(put32(b + 8, 0xffffffffu), "layers in");
    CASE(putf(b + XS, 0), "input scale");
    CASE(putf(b + XS, NAN), "input scale");
    CASE(putf(b + XS, INFINITY), "input scale");
    CASE(putf(b + XS, -0.5f), "input scale");
    CASE(put32(b + ZP, 0xffffffffu), "zero point -1");
    CASE(put32(b + ZP, 256), "zero point 256");
    CASE(putf(b + WS, 0), "weight scale 0");
    CASE(putf(b + WS + 4, NAN), "weight scale 1");
    CASE(putf(b + WS + 28, -INFINITY), "weight scale 7");
    CASE(b[W0 + 5] = 0x80, "-128");
    CASE(b[14] = 'X', "no such node");
    CASE(put32(b + M_OFF, 9), NULL); /* then everything after is off: refused either way */
    CASE(put32(b + M_OFF, 0x40000000u), "truncated");
#undef CASE
    /* conv_a twice */
    size_t l0 = W0 + 8 * 27 - 12; /* layer 0's bytes (after the 12-byte header) */
    uint8_t *d = malloc(12 + 2 * l0 + 4);
    memcpy(d, good, 12);
    put32(d + 8, 2);
    memcpy(d + 12, good + 12, l0);
    memcpy(d + 12 + l0, good + 12, l0);
    fix_sum(d, 12 + 2 * l0 + 4);
    expect_refused(m, d, 12 + 2 * l0 + 4, "listed twice");
    free(d);
    /* nothing was changed: the good file still applies and runs */
    char err[256];
    assert_int_equal(vigil_nn_model_apply_quant(m, "/nonexistent/dir/x.vq", err, sizeof err) != VIGIL_OK, 1);
    assert_non_null(strstr(err, "/nonexistent/dir/x.vq"));
    if (vigil_nn_model_apply_quant(m, tmp_path, err, sizeof err)) fail_msg("apply: %s", err);
    float x[NX], y[NY];
    input(x, 1);
    run(m, x, y);
    vigil_nn_model_free(m);
    free(good);
    free(b);
    unlink(tmp_path);
}

static void test_nn_quant_calibration_without_inputs_refused_and_keep_float_counts(void **state)
{
    (void)state;
    vigil_nn_model_t *m = load(), *m2;
    char err[256];
    vigil_nn_calib_t *c = vigil_nn_calib_new(m, VIGIL_NN_CALIB_ENTROPY, 0, 1, err, sizeof err);
    assert_non_null(c);
    assert_int_not_equal(vigil_nn_calib_write(c, "/tmp/never-written.vq", err, sizeof err), VIGIL_OK);
    assert_non_null(strstr(err, "no input"));
    assert_int_equal(access("/tmp/never-written.vq", F_OK), -1);
    vigil_nn_calib_free(c);
    vigil_nn_model_free(m);
    /* --keep-float: depthwise, the first Conv, a name */
    vigil_nn_calib_t *k = vigil_nn_calib_new(m2 = load(), VIGIL_NN_CALIB_MINMAX, 1, 1, err, sizeof err);
    assert_non_null(k);
    assert_int_equal(vigil_nn_calib_keep_float(k, "depthwise"), 1);
    assert_int_equal(vigil_nn_calib_keep_float(k, "first,"), 1);
    assert_int_equal(vigil_nn_calib_keep_float(k, "nomatch"), 0);
    size_t nq, nf;
    vigil_nn_calib_counts(k, &nq, &nf);
    assert_int_equal(nq, 1);
    assert_int_equal(nf, 2);
    assert_int_equal(vigil_nn_calib_keep_float(k, "conv_c"), 1);
    vigil_nn_calib_counts(k, &nq, &nf);
    assert_int_equal(nq, 0);
    vigil_nn_calib_free(k);
    vigil_nn_model_free(m2);
    assert_int_equal(vigil_nn_calib_method_parse("entropy"), VIGIL_NN_CALIB_ENTROPY);
    assert_int_equal(vigil_nn_calib_method_parse("kl"), -1);
}

static void calib_inputs(vigil_nn_calib_t *c, float (*x)[NX], vigil_nn_tensor_t *in, int n)
{
    char err[256];
    for (int k = 0; k < n; k++) {
        input(x[k], k);
        in[k] = (vigil_nn_tensor_t){.dtype = VIGIL_NN_FLOAT32, .ndim = 4, .dims = {1, 3, 13, 15}, .data = x[k]};
        if (vigil_nn_calib_add(c, &in[k], err, sizeof err)) fail_msg("add: %s", err);
    }
}

static void test_nn_quant_sensitivity_ranks_layers_by_their_error_on_the_heads(void **state)
{
    (void)state;
    char path[256], err[512];
    snprintf(path, sizeof path, "/tmp/test_nn_quant.%ld.onnx", (long)getpid());
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(model_bytes.b, 1, model_bytes.n, f), model_bytes.n);
    assert_int_equal(fclose(f), 0);
    for (int heads = 0; heads < 2; heads++) {
        vigil_nn_model_t *m = load();
        vigil_nn_calib_t *c = vigil_nn_calib_new(m, VIGIL_NN_CALIB_MINMAX, heads, 1, err, sizeof err);
        assert_non_null(c);
        float x[4][NX];
        vigil_nn_tensor_t in[4];
        calib_inputs(c, x, in, 4);
        size_t nl = vigil_nn_calib_nlayers(c);
        assert_int_equal(nl, heads ? 3 : 2);
        assert_string_equal(vigil_nn_calib_layer_name(c, 0), "conv_a");
        assert_string_equal(vigil_nn_calib_layer_name(c, 1), "conv_b");
        assert_null(vigil_nn_calib_layer_name(c, nl));
        double one[3], abo[3], base = -1, base2 = -1;
        if (vigil_nn_calib_sensitivity(c, path, VIGIL_NN_FORMAT_ONNX, in, 4, VIGIL_NN_SENS_ONE, 2, one, &base, err,
                                       sizeof err))
            fail_msg("sensitivity: %s", err);
        if (vigil_nn_calib_sensitivity(c, path, VIGIL_NN_FORMAT_ONNX, in, 4, VIGIL_NN_SENS_ALL_BUT_ONE, 1, abo, &base2,
                                       err, sizeof err))
            fail_msg("sensitivity: %s", err);
        print_message("heads %d: all INT8 %.5f, one: %.5f %.5f, all but one: %.5f %.5f\n", heads, base, one[0],
                      one[1], abo[0], abo[1]);
        assert_true(base > 0 && base < 0.05);
        assert_true(base == base2); /* deterministic: the same configuration */
        for (size_t i = 0; i < nl; i++) assert_true(one[i] > 0 && one[i] < 0.05 && isfinite(abo[i]));
        if (!heads) { /* two layers: "all but conv_a" is "conv_b alone" */
            assert_true(abo[0] == one[1]);
            assert_true(abo[1] == one[0]);
        }
        /* bad inputs: no input, a missing model file */
        assert_int_not_equal(vigil_nn_calib_sensitivity(c, path, VIGIL_NN_FORMAT_ONNX, in, 0, VIGIL_NN_SENS_ONE, 1,
                                                        one, &base, err, sizeof err),
                             VIGIL_OK);
        assert_non_null(strstr(err, "no input"));
        assert_int_not_equal(vigil_nn_calib_sensitivity(c, "/nonexistent/m.onnx", VIGIL_NN_FORMAT_ONNX, in, 4,
                                                        VIGIL_NN_SENS_ONE, 1, one, &base, err, sizeof err),
                             VIGIL_OK);
        assert_non_null(strstr(err, "/nonexistent/m.onnx"));
        /* keeping the most sensitive layer float by its exact name: one layer less in the file */
        assert_int_equal(vigil_nn_calib_keep_float(c, "=conv_"), 0);
        assert_int_equal(vigil_nn_calib_keep_float(c, one[0] >= one[1] ? "=conv_a" : "=conv_b"), 1);
        assert_int_equal(vigil_nn_calib_nlayers(c), nl - 1);
        snprintf(tmp_path, sizeof tmp_path, "/tmp/test_nn_quant.%ld.vq", (long)getpid());
        if (vigil_nn_calib_write(c, tmp_path, err, sizeof err)) fail_msg("write: %s", err);
        vigil_nn_model_t *q = load();
        if (vigil_nn_model_apply_quant(q, tmp_path, err, sizeof err)) fail_msg("apply: %s", err);
        float yf[NY], yq[NY];
        run(m, x[0], yf);
        run(q, x[0], yq);
        double e2 = 0, r2 = 0;
        for (int i = 0; i < NY; i++) e2 += (yq[i] - yf[i]) * (yq[i] - yf[i]), r2 += yf[i] * yf[i];
        assert_true(sqrt(e2 / r2) < base); /* less error than every layer in INT8 */
        vigil_nn_model_free(q);
        unlink(tmp_path);
        vigil_nn_calib_free(c);
        vigil_nn_model_free(m);
    }
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nn_quant_calibrated_model_runs_within_quantization_error),
        cmocka_unit_test(test_nn_quant_bad_files_refused_before_the_model_changes),
        cmocka_unit_test(test_nn_quant_calibration_without_inputs_refused_and_keep_float_counts),
        cmocka_unit_test(test_nn_quant_sensitivity_ranks_layers_by_their_error_on_the_heads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
