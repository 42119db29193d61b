/* ONNX quantization operators (ops_quant_linear.c) through the real
 * loader: QuantizeLinear's round half to even and saturation on uint8 and
 * int8, per-axis parameters, a Quantize -> Dequantize round trip,
 * MatMulInteger with per-row and per-column zero points, QLinearConv with
 * per-channel weights and bias against a reference written out here, and
 * bad parameters (scale 0 / NaN / inf, zero point of the wrong type or
 * shape, int32 zero point not 0, axis out of range, per-axis at opset 10,
 * a scale computed by the graph that is 0) refused with an error naming the
 * input, never a crash. */
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

/* TensorProto initializer of any dtype (raw_data) */
static void init_t(pbw_t *g, const char *name, int dtype, int ndim, const int64_t *dims, const void *data,
                   size_t esize)
{
    pbw_t t = {0};
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        pbw_int(&t, 1, dims[i]);
        n *= dims[i];
    }
    pbw_int(&t, 2, dtype);
    pbw_str(&t, 8, name);
    pbw_bytes(&t, 9, data, esize * (size_t)n);
    pbw_msg(g, 5, &t);
}

static void f32_scalar(pbw_t *g, const char *name, float v) { init_t(g, name, VIGIL_NN_FLOAT32, 0, NULL, &v, 4); }

/* node with inputs (NULL-terminated; "" leaves one out), one output and an
 * optional int attribute */
static void node(pbw_t *g, const char *op, const char *const *in, const char *out, const char *attr, int64_t v)
{
    pbw_t n = {0};
    for (; *in; in++) pbw_str(&n, 1, *in);
    pbw_str(&n, 2, out);
    pbw_str(&n, 4, op);
    if (attr) {
        pbw_t a = {0};
        pbw_str(&a, 1, attr);
        pbw_int(&a, 3, v);
        pbw_int(&a, 20, 2);
        pbw_msg(&n, 5, &a);
    }
    pbw_msg(g, 1, &n);
}

typedef struct run_res {
    int stage; /* 0 ran, 1 load failed, 2 session failed, 3 run failed */
    vigil_err_t err;
    char msg[512];
    vigil_nn_tensor_t out;
    vigil_nn_session_t *s;
    vigil_nn_model_t *m;
} run_res_t;

/* graph g (float input "x" of dims, output "y") at opset; runs it on x */
static void go(pbw_t *g, int opset, int ndim, const int64_t *dims, const float *x, run_res_t *r)
{
    pbw_t model = {0};
    memset(r, 0, sizeof *r);
    pbw_value_info(g, 11, "x", ndim, dims);
    pbw_value_info(g, 12, "y", 0, NULL);
    pbw_model(&model, g, opset);
    r->m = vigil_nn_model_load_onnx(model.b, model.n, NULL, r->msg, sizeof r->msg);
    free(model.b);
    if (!r->m) { r->stage = 1; r->err = VIGIL_ERR_INVALID; return; }
    vigil_nn_session_opts_t so;
    vigil_nn_session_opts_init(&so);
    r->s = vigil_nn_session_new(r->m, &so, r->msg, sizeof r->msg);
    if (!r->s) { r->stage = 2; r->err = VIGIL_ERR_INVALID; return; }
    vigil_nn_tensor_t in = {.dtype = VIGIL_NN_FLOAT32, .ndim = ndim, .data = (void *)x};
    memcpy(in.dims, dims, sizeof(int64_t) * (size_t)ndim);
    r->err = vigil_nn_run(r->s, &in, 1, &r->out, 1, r->msg, sizeof r->msg);
    if (r->err) r->stage = 3;
}

static void done(run_res_t *r)
{
    vigil_nn_session_free(r->s);
    vigil_nn_model_free(r->m);
}

static const float xs[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 0.49f, 3.0f, 300.0f, -300.0f, NAN, 1e30f, -INFINITY};
#define NX ((int64_t)(sizeof xs / sizeof xs[0]))

static void test_quantize_rounding_saturation(void **state)
{
    (void)state;
    /* scale 0.5: x / 0.5 = 2x; uint8 zp 10, int8 zp -3 */
    const int64_t d[] = {NX};
    for (int s8 = 0; s8 < 2; s8++) {
        pbw_t g = {0};
        f32_scalar(&g, "s", 0.5f);
        if (s8) {
            int8_t z = -3;
            init_t(&g, "z", VIGIL_NN_INT8, 0, NULL, &z, 1);
        } else {
            uint8_t z = 10;
            init_t(&g, "z", VIGIL_NN_UINT8, 0, NULL, &z, 1);
        }
        node(&g, "QuantizeLinear", (const char *const[]){"x", "s", "z", NULL}, "y", NULL, 0);
        run_res_t r;
        go(&g, 13, 1, d, xs, &r);
        if (r.stage) fail_msg("stage %d: %s", r.stage, r.msg);
        assert_int_equal(r.out.dtype, s8 ? VIGIL_NN_INT8 : VIGIL_NN_UINT8);
        assert_int_equal(r.out.dims[0], NX);
        /* rint(2x): 1, 3, 5, -1, -3, 1, 6, 600, -600, NaN -> 0, huge, -inf */
        const int64_t u[] = {11, 13, 15, 9, 7, 11, 16, 255, 0, 10, 255, 0};
        const int64_t s[] = {-2, 0, 2, -4, -6, -2, 3, 127, -128, -3, 127, -128};
        for (int64_t i = 0; i < NX; i++) {
            int64_t got = s8 ? ((int8_t *)r.out.data)[i] : ((uint8_t *)r.out.data)[i];
            if (got != (s8 ? s[i] : u[i]))
                fail_msg("%s x[%lld] = %g: got %lld, want %lld", s8 ? "int8" : "uint8", (long long)i,
                         (double)xs[i], (long long)got, (long long)(s8 ? s[i] : u[i]));
        }
        done(&r);
    }
    /* zero point left out: uint8, zp 0; half-even at 0.5 -> 0 */
    pbw_t g = {0};
    f32_scalar(&g, "s", 1.0f);
    node(&g, "QuantizeLinear", (const char *const[]){"x", "s", NULL}, "y", NULL, 0);
    run_res_t r;
    go(&g, 10, 1, d, xs, &r);
    if (r.stage) fail_msg("stage %d: %s", r.stage, r.msg);
    assert_int_equal(r.out.dtype, VIGIL_NN_UINT8);
    const uint8_t want[] = {0, 2, 2, 0, 0, 0, 3, 255, 0, 0, 255, 0};
    assert_memory_equal(r.out.data, want, sizeof want);
    done(&r);
}

/* x [2,3], per-axis on axis 1 (and -1): scales {1, 0.5, 0.25}, int8 zps
 * {0, 1, -1}; Quantize then Dequantize gives the nearest level */
static void test_per_axis_round_trip(void **state)
{
    (void)state;
    const int64_t d[] = {2, 3}, c3[] = {3};
    const float x[] = {1.2f, 1.2f, 1.2f, -7.0f, 100.0f, -0.1f};
    const float sc[] = {1.0f, 0.5f, 0.25f};
    const int8_t zp[] = {0, 1, -1};
    for (int64_t axis = -1; axis <= 1; axis += 2) {
        pbw_t g = {0};
        init_t(&g, "s", VIGIL_NN_FLOAT32, 1, c3, sc, 4);
        init_t(&g, "z", VIGIL_NN_INT8, 1, c3, zp, 1);
        node(&g, "QuantizeLinear", (const char *const[]){"x", "s", "z", NULL}, "q", "axis", axis);
        node(&g, "DequantizeLinear", (const char *const[]){"q", "s", "z", NULL}, "y", "axis", axis);
        run_res_t r;
        go(&g, 13, 2, d, x, &r);
        if (r.stage) fail_msg("axis %lld stage %d: %s", (long long)axis, r.stage, r.msg);
        assert_int_equal(r.out.dtype, VIGIL_NN_FLOAT32);
        /* q: 1, 2+1=3, 5-1=4 | -7, 127 (sat), 0-1=-1 ; y = (q - zp) * s */
        const float want[] = {1.0f, 1.0f, 1.25f, -7.0f, 63.0f, 0.0f};
        const float *y = r.out.data;
        for (int i = 0; i < 6; i++)
            if (y[i] != want[i]) fail_msg("axis %lld y[%d] = %g, want %g", (long long)axis, i, (double)y[i], (double)want[i]);
        done(&r);
    }
}

/* Q(x) -> MatMulInteger(q, B) with a per-row A zero point and per-column
 * B zero point -> Cast float, against sums written out here */
static void test_matmul_integer(void **state)
{
    (void)state;
    const int64_t d[] = {2, 3}, bd[] = {3, 2}, two[] = {2};
    const float x[] = {1, 2, 3, 4, 5, 250};
    const int8_t b[] = {1, -2, 3, 4, -128, 127};
    const uint8_t za[] = {1, 2};
    const int8_t zb[] = {0, -1};
    pbw_t g = {0};
    f32_scalar(&g, "s", 1.0f);
    init_t(&g, "b", VIGIL_NN_INT8, 2, bd, b, 1);
    init_t(&g, "za", VIGIL_NN_UINT8, 1, two, za, 1);
    init_t(&g, "zb", VIGIL_NN_INT8, 1, two, zb, 1);
    node(&g, "QuantizeLinear", (const char *const[]){"x", "s", NULL}, "q", NULL, 0);
    node(&g, "MatMulInteger", (const char *const[]){"q", "b", "za", "zb", NULL}, "y", NULL, 0);
    run_res_t r;
    go(&g, 13, 2, d, x, &r);
    if (r.stage) fail_msg("stage %d: %s", r.stage, r.msg);
    assert_int_equal(r.out.dtype, VIGIL_NN_INT32);
    int32_t want[4];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            int32_t acc = 0;
            for (int k = 0; k < 3; k++) acc += ((int32_t)x[i * 3 + k] - za[i]) * (b[k * 2 + j] - zb[j]);
            want[i * 2 + j] = acc;
        }
    assert_memory_equal(r.out.data, want, sizeof want);
    done(&r);
}

/* QLinearConv, 2 output channels with per-channel weight scales and zero
 * points, an int32 bias, pads 1, stride 2, int8 output */
static void test_qlinear_conv(void **state)
{
    (void)state;
    enum { C = 2, H = 5, W = 4, M = 2, KH = 3, KW = 3, OH = 3, OW = 2 };
    const int64_t xd[] = {1, C, H, W}, wd[] = {M, C, KH, KW}, md[] = {M};
    float x[C * H * W];
    for (int i = 0; i < C * H * W; i++) x[i] = (float)((i * 37) % 200);
    int8_t w[M * C * KH * KW];
    for (int i = 0; i < M * C * KH * KW; i++) w[i] = (int8_t)((i * 53) % 255 - 127);
    const float ws[] = {0.01f, 0.02f};
    const int8_t wz[] = {0, 3};
    const int32_t bias[] = {1000, -2000};
    const float xsc = 1.0f, ysc = 0.75f;
    const uint8_t xz = 7;
    const int8_t yz = -5;
    pbw_t g = {0};
    f32_scalar(&g, "xs", xsc);
    init_t(&g, "xz", VIGIL_NN_UINT8, 0, NULL, &xz, 1);
    init_t(&g, "w", VIGIL_NN_INT8, 4, wd, w, 1);
    init_t(&g, "ws", VIGIL_NN_FLOAT32, 1, md, ws, 4);
    init_t(&g, "wz", VIGIL_NN_INT8, 1, md, wz, 1);
    f32_scalar(&g, "ys", ysc);
    init_t(&g, "yz", VIGIL_NN_INT8, 0, NULL, &yz, 1);
    init_t(&g, "b", VIGIL_NN_INT32, 1, md, bias, 4);
    node(&g, "QuantizeLinear", (const char *const[]){"x", "xs", "xz", NULL}, "q", NULL, 0);
    {
        pbw_t n = {0}, a = {0}, a2 = {0};
        const char *in[] = {"q", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"};
        for (int i = 0; i < 9; i++) pbw_str(&n, 1, in[i]);
        pbw_str(&n, 2, "y");
        pbw_str(&n, 4, "QLinearConv");
        pbw_str(&a, 1, "pads");
        for (int i = 0; i < 4; i++) pbw_int(&a, 8, 1);
        pbw_int(&a, 20, 7);
        pbw_msg(&n, 5, &a);
        pbw_str(&a2, 1, "strides");
        for (int i = 0; i < 2; i++) pbw_int(&a2, 8, 2);
        pbw_int(&a2, 20, 7);
        pbw_msg(&n, 5, &a2);
        pbw_msg(&g, 1, &n);
    }
    run_res_t r;
    go(&g, 13, 4, xd, x, &r);
    if (r.stage) fail_msg("stage %d: %s", r.stage, r.msg);
    assert_int_equal(r.out.dtype, VIGIL_NN_INT8);
    assert_int_equal(r.out.ndim, 4);
    assert_int_equal(r.out.dims[2], OH);
    assert_int_equal(r.out.dims[3], OW);
    for (int m = 0; m < M; m++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                long acc = bias[m];
                for (int c = 0; c < C; c++)
                    for (int i = 0; i < KH; i++)
                        for (int j = 0; j < KW; j++) {
                            int ih = oh * 2 - 1 + i, iw = ow * 2 - 1 + j;
                            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                            long q = (long)x[(c * H + ih) * W + iw] + xz; /* xs 1, x < 249 */
                            acc += (q - xz) * (w[((m * C + c) * KH + i) * KW + j] - wz[m]);
                        }
                double v = nearbyint((double)acc * ((double)xsc * ws[m] / ysc)) + yz;
                int want = v < -128 ? -128 : v > 127 ? 127 : (int)v;
                int got = ((int8_t *)r.out.data)[(m * OH + oh) * OW + ow];
                if (got != want) fail_msg("y[%d][%d][%d] = %d, want %d (acc %ld)", m, oh, ow, got, want, acc);
            }
    done(&r);
}

/* ConvInteger with groups 2, dilations 2, strides (1, 3) and uneven pads
 * (1, 2, 0, 1), per-channel weight zero points, against sums written out
 * here (int32 output, no requantization) */
static void test_conv_integer_groups_dilations(void **state)
{
    (void)state;
    enum { C = 4, H = 6, W = 7, M = 4, G = 2, CG = C / G, MG = M / G, KH = 2, KW = 3, DH = 2, DW = 2, SH = 1, SW = 3,
           PT = 1, PL = 2, PB = 0, PR = 1 };
    enum { OH = (H + PT + PB - ((KH - 1) * DH + 1)) / SH + 1, OW = (W + PL + PR - ((KW - 1) * DW + 1)) / SW + 1 };
    const int64_t xd[] = {1, C, H, W}, wd[] = {M, CG, KH, KW}, md[] = {M};
    float x[C * H * W];
    for (int i = 0; i < C * H * W; i++) x[i] = (float)((i * 29) % 256);
    uint8_t w[M * CG * KH * KW];
    for (int i = 0; i < M * CG * KH * KW; i++) w[i] = (uint8_t)((i * 71 + 5) % 256);
    const uint8_t wz[] = {0, 128, 255, 7}, xz = 200;
    pbw_t g = {0};
    f32_scalar(&g, "s", 1.0f);
    init_t(&g, "w", VIGIL_NN_UINT8, 4, wd, w, 1);
    init_t(&g, "wz", VIGIL_NN_UINT8, 1, md, wz, 1);
    init_t(&g, "xz", VIGIL_NN_UINT8, 0, NULL, &xz, 1);
    node(&g, "QuantizeLinear", (const char *const[]){"x", "s", NULL}, "q", NULL, 0);
    {
        pbw_t n = {0};
        const char *in[] = {"q", "w", "xz", "wz"};
        for (int i = 0; i < 4; i++) pbw_str(&n, 1, in[i]);
        pbw_str(&n, 2, "y");
        pbw_str(&n, 4, "ConvInteger");
        const char *names[] = {"pads", "dilations", "strides"};
        const int64_t vals[3][4] = {{PT, PL, PB, PR}, {DH, DW}, {SH, SW}};
        for (int k = 0; k < 3; k++) {
            pbw_t a = {0};
            pbw_str(&a, 1, names[k]);
            for (int i = 0; i < (k ? 2 : 4); i++) pbw_int(&a, 8, vals[k][i]);
            pbw_int(&a, 20, 7);
            pbw_msg(&n, 5, &a);
        }
        pbw_t a = {0};
        pbw_str(&a, 1, "group");
        pbw_int(&a, 3, G);
        pbw_int(&a, 20, 2);
        pbw_msg(&n, 5, &a);
        pbw_msg(&g, 1, &n);
    }
    run_res_t r;
    go(&g, 13, 4, xd, x, &r);
    if (r.stage) fail_msg("stage %d: %s", r.stage, r.msg);
    assert_int_equal(r.out.dtype, VIGIL_NN_INT32);
    assert_int_equal(r.out.dims[1], M);
    assert_int_equal(r.out.dims[2], OH);
    assert_int_equal(r.out.dims[3], OW);
    for (int m = 0; m < M; m++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                long acc = 0;
                int gi = m / MG;
                for (int c = 0; c < CG; c++)
                    for (int i = 0; i < KH; i++)
                        for (int j = 0; j < KW; j++) {
                            int ih = oh * SH - PT + i * DH, iw = ow * SW - PL + j * DW;
                            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                            long q = (long)x[((gi * CG + c) * H + ih) * W + iw];
                            acc += (q - xz) * ((long)w[((m * CG + c) * KH + i) * KW + j] - wz[m]);
                        }
                int got = ((int32_t *)r.out.data)[(m * OH + oh) * OW + ow];
                if (got != acc) fail_msg("y[%d][%d][%d] = %d, want %ld", m, oh, ow, got, acc);
            }
    done(&r);
}

/* ---- bad parameters ---------------------------------------------------------------- */

static void expect_refused(pbw_t *g, int opset, const char *needle)
{
    const int64_t d[] = {2, 3};
    const float x[6] = {0};
    run_res_t r;
    go(g, opset, 2, d, x, &r);
    if (!r.stage) fail_msg("ran, want an error naming \"%s\"", needle);
    if (!strstr(r.msg, needle)) fail_msg("stage %d error \"%s\" does not name \"%s\"", r.stage, r.msg, needle);
    done(&r);
}

static void test_bad_scale(void **state)
{
    (void)state;
    const float bad[] = {0.0f, NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 4; i++) {
        pbw_t g = {0};
        f32_scalar(&g, "s", bad[i]);
        node(&g, "QuantizeLinear", (const char *const[]){"x", "s", NULL}, "y", NULL, 0);
        expect_refused(&g, 13, "(scale)");
        /* DequantizeLinear too */
        pbw_t g2 = {0};
        uint8_t q[6] = {1, 2, 3, 4, 5, 6};
        const int64_t d[] = {2, 3};
        init_t(&g2, "q", VIGIL_NN_UINT8, 2, d, q, 1);
        f32_scalar(&g2, "s", bad[i]);
        node(&g2, "DequantizeLinear", (const char *const[]){"q", "s", NULL}, "d", NULL, 0);
        node(&g2, "Add", (const char *const[]){"x", "d", NULL}, "y", NULL, 0);
        expect_refused(&g2, 13, "(scale)");
    }
}

/* a scale the graph computes from x: checked at run time */
static void test_bad_scale_at_run(void **state)
{
    (void)state;
    pbw_t g = {0};
    const int64_t one[] = {1};
    const float z = 0;
    init_t(&g, "zero", VIGIL_NN_FLOAT32, 1, one, &z, 4);
    node(&g, "ReduceMax", (const char *const[]){"x", NULL}, "m", "keepdims", 0);
    node(&g, "Mul", (const char *const[]){"m", "zero", NULL}, "s", NULL, 0);
    node(&g, "QuantizeLinear", (const char *const[]){"x", "s", NULL}, "y", NULL, 0);
    const int64_t d[] = {2, 3};
    const float x[6] = {1, 2, 3, 4, 5, 6};
    run_res_t r;
    go(&g, 13, 2, d, x, &r);
    if (r.stage != 3) fail_msg("stage %d (%s), want a run error", r.stage, r.msg);
    assert_int_equal(r.err, VIGIL_ERR_INVALID);
    assert_non_null(strstr(r.msg, "(scale)"));
    done(&r);
}

static void test_bad_zero_point(void **state)
{
    (void)state;
    const int64_t three[] = {3}, four[] = {4};
    {   /* wrong type: int16 */
        pbw_t g = {0};
        int16_t z = 0;
        f32_scalar(&g, "s", 1.0f);
        init_t(&g, "z", VIGIL_NN_INT16, 0, NULL, &z, 2);
        node(&g, "QuantizeLinear", (const char *const[]){"x", "s", "z", NULL}, "y", NULL, 0);
        expect_refused(&g, 13, "zero point");
    }
    {   /* Dequantize: zero point int8, x uint8 */
        pbw_t g = {0};
        uint8_t q[6] = {0};
        int8_t z = 0;
        const int64_t d[] = {2, 3};
        init_t(&g, "q", VIGIL_NN_UINT8, 2, d, q, 1);
        f32_scalar(&g, "s", 1.0f);
        init_t(&g, "z", VIGIL_NN_INT8, 0, NULL, &z, 1);
        node(&g, "DequantizeLinear", (const char *const[]){"q", "s", "z", NULL}, "d", NULL, 0);
        node(&g, "Add", (const char *const[]){"x", "d", NULL}, "y", NULL, 0);
        expect_refused(&g, 13, "zero point");
    }
    {   /* int32 Dequantize with a zero point that is not 0 */
        pbw_t g = {0};
        int32_t q[6] = {0}, z = 5;
        const int64_t d[] = {2, 3};
        init_t(&g, "q", VIGIL_NN_INT32, 2, d, q, 4);
        f32_scalar(&g, "s", 1.0f);
        init_t(&g, "z", VIGIL_NN_INT32, 0, NULL, &z, 4);
        node(&g, "DequantizeLinear", (const char *const[]){"q", "s", "z", NULL}, "d", NULL, 0);
        node(&g, "Add", (const char *const[]){"x", "d", NULL}, "y", NULL, 0);
        expect_refused(&g, 13, "must be 0");
    }
    {   /* per-axis zero point of another length than the scale */
        pbw_t g = {0};
        const float s[3] = {1, 1, 1};
        const uint8_t z[4] = {0};
        init_t(&g, "s", VIGIL_NN_FLOAT32, 1, three, s, 4);
        init_t(&g, "z", VIGIL_NN_UINT8, 1, four, z, 1);
        node(&g, "QuantizeLinear", (const char *const[]){"x", "s", "z", NULL}, "y", NULL, 0);
        expect_refused(&g, 13, "zero point");
    }
}

static void test_bad_axis_and_shapes(void **state)
{
    (void)state;
    const int64_t three[] = {3}, two[] = {2};
    const float s3[3] = {1, 1, 1};
    {   /* axis 2 of a rank-2 x */
        pbw_t g = {0};
        init_t(&g, "s", VIGIL_NN_FLOAT32, 1, three, s3, 4);
        node(&g, "QuantizeLinear", (const char *const[]){"x", "s", NULL}, "y", "axis", 2);
        expect_refused(&g, 13, "axis");
    }
    {   /* scale [3] on axis 0 (length 2) */
        pbw_t g = {0};
        init_t(&g, "s", VIGIL_NN_FLOAT32, 1, three, s3, 4);
        node(&g, "QuantizeLinear", (const char *const[]){"x", "s", NULL}, "y", "axis", 0);
        expect_refused(&g, 13, "(scale)");
    }
    {   /* per-axis at opset 10 */
        pbw_t g = {0};
        init_t(&g, "s", VIGIL_NN_FLOAT32, 1, three, s3, 4);
        node(&g, "QuantizeLinear", (const char *const[]){"x", "s", NULL}, "y", NULL, 0);
        expect_refused(&g, 10, "opset 13");
    }
    {   /* MatMulInteger inner dims differ: q [2,3] x b [2,2] */
        pbw_t g = {0};
        const int64_t bd[] = {2, 2};
        const uint8_t b[4] = {0};
        (void)two;
        f32_scalar(&g, "s", 1.0f);
        init_t(&g, "b", VIGIL_NN_UINT8, 2, bd, b, 1);
        node(&g, "QuantizeLinear", (const char *const[]){"x", "s", NULL}, "q", NULL, 0);
        node(&g, "MatMulInteger", (const char *const[]){"q", "b", NULL}, "y", NULL, 0);
        expect_refused(&g, 13, "inner dims");
    }
    {   /* MatMulInteger of a float A */
        pbw_t g = {0};
        const int64_t bd[] = {3, 2};
        const uint8_t b[6] = {0};
        init_t(&g, "b", VIGIL_NN_UINT8, 2, bd, b, 1);
        node(&g, "MatMulInteger", (const char *const[]){"x", "b", NULL}, "y", NULL, 0);
        expect_refused(&g, 13, "want uint8 or int8");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantize_rounding_saturation),
        cmocka_unit_test(test_per_axis_round_trip),
        cmocka_unit_test(test_matmul_integer),
        cmocka_unit_test(test_qlinear_conv),
        cmocka_unit_test(test_conv_integer_groups_dilations),
        cmocka_unit_test(test_bad_scale),
        cmocka_unit_test(test_bad_scale_at_run),
        cmocka_unit_test(test_bad_zero_point),
        cmocka_unit_test(test_bad_axis_and_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
