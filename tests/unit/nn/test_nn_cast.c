/* Cast's typed loops (ops_shape.c) against the general path's rules
 * written out here: float -> int32/int64/uint8 (NaN and +-inf are 0, the
 * rest saturates, then truncates toward zero), float <-> double,
 * int64 -> float through double, int64 -> int32 wrapping, int32 -> int64,
 * uint8/bool -> int32; special values at every boundary. Models go
 * through the real loader. */
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

static void cast_node(pbw_t *g, const char *in, const char *out, int64_t to)
{
    pbw_t n = {0}, a = {0};
    pbw_str(&n, 1, in);
    pbw_str(&n, 2, out);
    pbw_str(&n, 4, "Cast");
    pbw_str(&a, 1, "to");
    pbw_int(&a, 3, to);
    pbw_int(&a, 20, 2);
    pbw_msg(&n, 5, &a);
    pbw_msg(g, 1, &n);
}

static const float special[] = {0.0f, -0.0f, 0.4f, -0.4f, 0.5f, -0.5f, 1.0f, -1.0f, 3.7f, -3.7f,
                                127.9f, 128.0f, 254.9f, 255.0f, 255.5f, 256.0f, 300.0f, -300.0f,
                                2147483520.0f, 2147483648.0f, -2147483648.0f, -2147483904.0f, 1e10f,
                                -1e10f, 9.2233715e18f, 9.223372e18f, -9.223372e18f, 1e19f, -1e19f,
                                3e38f, -3e38f, INFINITY, -INFINITY, NAN, 16777217.0f, 1e-30f};
#define NSPECIAL (sizeof special / sizeof special[0])

/* the general path: double, then 0 for a non-finite, saturate, truncate */
static double sat(double v, double lo, double hi) { return v != v ? 0 : v < lo ? lo : v > hi ? hi : v; }

static int64_t want_i64(float f)
{
    double v = isfinite(f) ? f : 0;
    return v >= 9223372036854775808.0 ? INT64_MAX : v < -9223372036854775808.0 ? INT64_MIN : (int64_t)v;
}

/* x (float) -> Cast(to) -> y, and y -> Cast(to2) -> z when to2 */
static void run(int64_t to, int64_t to2, vigil_nn_tensor_t *y, vigil_nn_tensor_t *z, vigil_nn_session_t **s,
                vigil_nn_model_t **m)
{
    pbw_t g = {0}, model = {0};
    int64_t d[] = {(int64_t)NSPECIAL};
    pbw_value_info(&g, 11, "x", 1, d);
    pbw_value_info(&g, 12, "y", 1, d);
    if (to2) pbw_value_info(&g, 12, "z", 1, d);
    cast_node(&g, "x", "y", to);
    if (to2) cast_node(&g, "y", "z", to2);
    pbw_model(&model, &g, 13);
    char err[512];
    *m = vigil_nn_model_load_onnx(model.b, model.n, NULL, err, sizeof err);
    free(model.b);
    if (!*m) fail_msg("load: %s", err);
    vigil_nn_session_opts_t so;
    vigil_nn_session_opts_init(&so);
    *s = vigil_nn_session_new(*m, &so, err, sizeof err);
    if (!*s) fail_msg("session: %s", err);
    vigil_nn_tensor_t in = {.dtype = VIGIL_NN_FLOAT32, .ndim = 1, .dims = {(int64_t)NSPECIAL}, .data = (void *)special};
    vigil_nn_tensor_t out[2];
    if (vigil_nn_run(*s, &in, 1, out, to2 ? 2 : 1, err, sizeof err)) fail_msg("run: %s", err);
    *y = out[0];
    if (to2) *z = out[1];
}

static void done(vigil_nn_session_t *s, vigil_nn_model_t *m)
{
    vigil_nn_session_free(s);
    vigil_nn_model_free(m);
}

static void test_cast_float_to_integers_saturates_and_zeroes_nan_like_the_general_path(void **state)
{
    (void)state;
    vigil_nn_tensor_t y, z;
    vigil_nn_session_t *s;
    vigil_nn_model_t *m;
    run(6, 0, &y, NULL, &s, &m); /* INT32 */
    assert_int_equal(y.dtype, VIGIL_NN_INT32);
    for (size_t i = 0; i < NSPECIAL; i++) {
        int32_t want = (int32_t)sat(isfinite(special[i]) ? special[i] : 0, INT32_MIN, INT32_MAX);
        if (((int32_t *)y.data)[i] != want) fail_msg("int32 of %g: %d, want %d", special[i], ((int32_t *)y.data)[i], want);
    }
    done(s, m);
    run(7, 1, &y, &z, &s, &m); /* INT64, then int64 -> float through double */
    assert_int_equal(y.dtype, VIGIL_NN_INT64);
    for (size_t i = 0; i < NSPECIAL; i++) {
        int64_t want = want_i64(special[i]);
        float wz = (float)(double)want;
        if (((int64_t *)y.data)[i] != want) fail_msg("int64 of %g: %lld, want %lld", special[i], (long long)((int64_t *)y.data)[i], (long long)want);
        if (memcmp(&((float *)z.data)[i], &wz, sizeof wz)) fail_msg("float of int64 %lld", (long long)want);
    }
    done(s, m);
    run(2, 6, &y, &z, &s, &m); /* UINT8, then uint8 -> int32 */
    assert_int_equal(y.dtype, VIGIL_NN_UINT8);
    for (size_t i = 0; i < NSPECIAL; i++) {
        uint8_t want = (uint8_t)sat(isfinite(special[i]) ? special[i] : 0, 0, UINT8_MAX);
        if (((uint8_t *)y.data)[i] != want) fail_msg("uint8 of %g: %d, want %d", special[i], ((uint8_t *)y.data)[i], want);
        if (((int32_t *)z.data)[i] != want) fail_msg("int32 of uint8 %d", want);
    }
    done(s, m);
}

static void test_cast_between_widths_keeps_the_general_path_bits(void **state)
{
    (void)state;
    vigil_nn_tensor_t y, z;
    vigil_nn_session_t *s;
    vigil_nn_model_t *m;
    run(11, 1, &y, &z, &s, &m); /* DOUBLE and back */
    for (size_t i = 0; i < NSPECIAL; i++) {
        double wy = special[i];
        if (memcmp(&((double *)y.data)[i], &wy, sizeof wy) || memcmp(&((float *)z.data)[i], &special[i], sizeof(float)))
            fail_msg("double round trip of %g", special[i]);
    }
    done(s, m);
    pbw_t g = {0}, model = {0}; /* int64 -> int32 (wraps) -> int64; bool -> int32 */
    int64_t d[] = {(int64_t)NSPECIAL};
    pbw_value_info(&g, 11, "x", 1, d);
    pbw_value_info(&g, 12, "c", 1, d);
    pbw_value_info(&g, 12, "e", 1, d);
    cast_node(&g, "x", "a", 7);
    cast_node(&g, "a", "b", 6);
    cast_node(&g, "b", "c", 7);
    cast_node(&g, "x", "dd", 9);
    cast_node(&g, "dd", "e", 6);
    pbw_model(&model, &g, 13);
    char err[512];
    m = vigil_nn_model_load_onnx(model.b, model.n, NULL, err, sizeof err);
    free(model.b);
    if (!m) fail_msg("load: %s", err);
    vigil_nn_session_opts_t so;
    vigil_nn_session_opts_init(&so);
    s = vigil_nn_session_new(m, &so, err, sizeof err);
    if (!s) fail_msg("session: %s", err);
    vigil_nn_tensor_t in = {.dtype = VIGIL_NN_FLOAT32, .ndim = 1, .dims = {(int64_t)NSPECIAL}, .data = (void *)special};
    vigil_nn_tensor_t out[2];
    if (vigil_nn_run(s, &in, 1, out, 2, err, sizeof err)) fail_msg("run: %s", err);
    for (size_t i = 0; i < NSPECIAL; i++) {
        int64_t want = (int64_t)(int32_t)(uint32_t)want_i64(special[i]);
        if (((int64_t *)out[0].data)[i] != want) fail_msg("int64 -> int32 -> int64 of %g: %lld, want %lld", special[i], (long long)((int64_t *)out[0].data)[i], (long long)want);
        int32_t wb = special[i] != 0;
        if (((int32_t *)out[1].data)[i] != wb) fail_msg("bool -> int32 of %g", special[i]);
    }
    done(s, m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cast_float_to_integers_saturates_and_zeroes_nan_like_the_general_path),
        cmocka_unit_test(test_cast_between_widths_keeps_the_general_path_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
