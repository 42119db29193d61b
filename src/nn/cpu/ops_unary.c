/* Unary elementwise ops and activations (Relu, Clip, HardSigmoid, ...),
 * plus the fused-activation helper the conv and gemm kernels call.
 *
 * float32 runs a tight loop per op (split across the pool for big tensors);
 * other dtypes go through a generic double path, which is slower but keeps
 * the op set complete for float64 and integer inputs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/kernels.h"

enum {
    U_RELU, U_LEAKY, U_ELU, U_SELU, U_HSIG, U_HSWISH, U_SIGMOID, U_TANH, U_SOFTPLUS, U_SOFTSIGN,
    U_ERF, U_CLIP, U_THRELU, U_SQRT, U_EXP, U_LOG, U_ABS, U_NEG, U_RECIP, U_FLOOR, U_CEIL,
    U_ROUND, U_SIN, U_COS, U_TAN, U_ASIN, U_ACOS, U_ATAN, U_SINH, U_COSH, U_ASINH, U_ACOSH,
    U_ATANH, U_SIGN, U_NOT, U_ISNAN, U_ISINF, U_IDENT, U_CELU, U_MISH, U_GELU,
};

static const struct {
    const char *name;
    int kind;
} unary_names[] = {
    {"Relu", U_RELU}, {"LeakyRelu", U_LEAKY}, {"Elu", U_ELU}, {"Selu", U_SELU},
    {"HardSigmoid", U_HSIG}, {"HardSwish", U_HSWISH}, {"Sigmoid", U_SIGMOID}, {"Tanh", U_TANH},
    {"Softplus", U_SOFTPLUS}, {"Softsign", U_SOFTSIGN}, {"Erf", U_ERF}, {"Clip", U_CLIP},
    {"ThresholdedRelu", U_THRELU}, {"Sqrt", U_SQRT}, {"Exp", U_EXP}, {"Log", U_LOG},
    {"Abs", U_ABS}, {"Neg", U_NEG}, {"Reciprocal", U_RECIP}, {"Floor", U_FLOOR},
    {"Ceil", U_CEIL}, {"Round", U_ROUND}, {"Sin", U_SIN}, {"Cos", U_COS}, {"Tan", U_TAN},
    {"Asin", U_ASIN}, {"Acos", U_ACOS}, {"Atan", U_ATAN}, {"Sinh", U_SINH}, {"Cosh", U_COSH},
    {"Asinh", U_ASINH}, {"Acosh", U_ACOSH}, {"Atanh", U_ATANH}, {"Sign", U_SIGN},
    {"Not", U_NOT}, {"IsNaN", U_ISNAN}, {"IsInf", U_ISINF}, {"Identity", U_IDENT},
    {"Dropout", U_IDENT}, {"Celu", U_CELU}, {"Mish", U_MISH}, {"Gelu", U_GELU},
};

typedef struct unary_params {
    int kind;
    double a, b;
} unary_params_t;

static double apply1(int k, double x, double a, double b)
{
    switch (k) {
    case U_RELU: return x > 0 ? x : 0;
    case U_LEAKY: return x >= 0 ? x : a * x;
    case U_ELU: return x >= 0 ? x : a * (exp(x) - 1);
    case U_SELU: return x > 0 ? b * x : b * (a * exp(x) - a);
    case U_HSIG: return fmax(0, fmin(1, a * x + b));
    case U_HSWISH: return x * fmax(0, fmin(1, x / 6 + 0.5));
    case U_SIGMOID: return 1 / (1 + exp(-x));
    case U_TANH: return tanh(x);
    case U_SOFTPLUS: return log1p(exp(-fabs(x))) + fmax(x, 0);
    case U_SOFTSIGN: return x / (1 + fabs(x));
    case U_ERF: return erf(x);
    case U_CLIP: return x < a ? a : x > b ? b : x;
    case U_THRELU: return x > a ? x : 0;
    case U_SQRT: return sqrt(x);
    case U_EXP: return exp(x);
    case U_LOG: return log(x);
    case U_ABS: return fabs(x);
    case U_NEG: return -x;
    case U_RECIP: return 1 / x;
    case U_FLOOR: return floor(x);
    case U_CEIL: return ceil(x);
    case U_ROUND: return nearbyint(x);
    case U_SIN: return sin(x);
    case U_COS: return cos(x);
    case U_TAN: return tan(x);
    case U_ASIN: return asin(x);
    case U_ACOS: return acos(x);
    case U_ATAN: return atan(x);
    case U_SINH: return sinh(x);
    case U_COSH: return cosh(x);
    case U_ASINH: return asinh(x);
    case U_ACOSH: return acosh(x);
    case U_ATANH: return atanh(x);
    case U_SIGN: return x > 0 ? 1 : x < 0 ? -1 : 0;
    case U_NOT: return !x;
    case U_ISNAN: return isnan(x);
    case U_ISINF: return isinf(x) && ((x > 0 && a != 0) || (x < 0 && b != 0));
    case U_CELU: return fmax(0, x) + fmin(0, a * (exp(x / a) - 1));
    case U_MISH: return x * tanh(log1p(exp(x)));
    case U_GELU: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    default: return x;
    }
}

void vigil__nn_apply_act(float *x, int64_t n, int act, float a, float b)
{
    switch (act) {
    case NN_ACT_RELU:
        for (int64_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
        break;
    case NN_ACT_CLIP:
        for (int64_t i = 0; i < n; i++) x[i] = x[i] < a ? a : x[i] > b ? b : x[i];
        break;
    case NN_ACT_LEAKYRELU:
        for (int64_t i = 0; i < n; i++) x[i] = x[i] >= 0 ? x[i] : a * x[i];
        break;
    case NN_ACT_HARDSIGMOID:
        for (int64_t i = 0; i < n; i++) {
            float v = a * x[i] + b;
            x[i] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
        break;
    case NN_ACT_HARDSWISH:
        for (int64_t i = 0; i < n; i++) {
            float v = a * x[i] + b;
            x[i] *= v < 0 ? 0 : v > 1 ? 1 : v;
        }
        break;
    case NN_ACT_HARDSWISH_TF: /* the graph's own operations, in its order */
        for (int64_t i = 0; i < n; i++) {
            float t = x[i] * a, u = x[i] + 3.0f;
            x[i] = t * (u < 0 ? 0 : u > 6 ? 6 : u);
        }
        break;
    case NN_ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++) x[i] = 1.0f / (1.0f + expf(-x[i]));
        break;
    default: break;
    }
}

static vigil_err_t unary_prepare(nn_prep_t *p)
{
    unary_params_t *up = p->params;
    const nn_node_t *n = p->node;
    int kind = -1;
    for (size_t i = 0; i < sizeof unary_names / sizeof unary_names[0]; i++)
        if (!strcmp(unary_names[i].name, n->op_type)) kind = unary_names[i].kind;
    if (p->nin < 1 || !p->in[0]) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "no input");
    vigil_nn_dtype_t dt = p->in[0]->dtype;
    up->kind = kind;
    switch (kind) {
    case U_LEAKY: up->a = vigil__nn_attr_float(n, "alpha", 0.01f); break;
    case U_ELU: case U_CELU: up->a = vigil__nn_attr_float(n, "alpha", 1.0f); break;
    case U_THRELU: up->a = vigil__nn_attr_float(n, "alpha", 1.0f); break;
    case U_SELU:
        up->a = vigil__nn_attr_float(n, "alpha", 1.67326319217681884765625f);
        up->b = vigil__nn_attr_float(n, "gamma", 1.05070102214813232421875f);
        break;
    case U_HSIG:
        up->a = vigil__nn_attr_float(n, "alpha", 0.2f);
        up->b = vigil__nn_attr_float(n, "beta", 0.5f);
        break;
    case U_ISINF:
        up->a = (double)vigil__nn_attr_int(n, "detect_positive", 1);
        up->b = (double)vigil__nn_attr_int(n, "detect_negative", 1);
        break;
    case U_GELU:
        if (strcmp(vigil__nn_attr_str(n, "approximate", "none"), "none"))
            return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "attribute approximate");
        break;
    case U_CLIP:
        up->a = -INFINITY;
        up->b = INFINITY;
        if (p->graph->opset < 11) {
            up->a = vigil__nn_attr_float(n, "min", -INFINITY);
            up->b = vigil__nn_attr_float(n, "max", INFINITY);
        } else {
            for (int j = 1; j < p->nin && j < 3; j++) {
                if (!p->in[j]) continue;
                if (!p->in[j]->data)
                    return vigil__nn_prep_err(p, VIGIL_ERR_AGAIN, "input %d (min/max) must be constant", j);
                if (vigil_nn_tensor_numel(p->in[j]) != 1) /* fuzz: an empty one was read */
                    return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input %d (min/max) must be a scalar", j);
                double v = vigil__nn_get_double(p->in[j], 0);
                if (j == 1) up->a = v;
                else up->b = v;
            }
        }
        break;
    case U_IDENT:
        if (!strcmp(n->op_type, "Dropout") && p->nin > 2 && p->in[2] &&
            (!p->in[2]->data || vigil_nn_tensor_numel(p->in[2]) != 1 || vigil__nn_get_int(p->in[2], 0)))
            return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "input training_mode (inference only)");
        if (!strcmp(n->op_type, "Dropout") && p->nout > 1) { /* mask output: all true */
            p->out[1]->dtype = VIGIL_NN_BOOL;
            p->out[1]->ndim = p->in[0]->ndim;
            memcpy(p->out[1]->dims, p->in[0]->dims, sizeof p->in[0]->dims);
        }
        break;
    default: break;
    }
    int is_float = dt == VIGIL_NN_FLOAT32 || dt == VIGIL_NN_FLOAT64 || dt == VIGIL_NN_FLOAT16;
    if (kind == U_NOT && dt != VIGIL_NN_BOOL)
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input must be bool");
    if (kind != U_NOT && kind != U_IDENT && kind != U_ABS && kind != U_NEG && kind != U_SIGN &&
        kind != U_CLIP && kind != U_RELU && !is_float)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "dtype %s", vigil_nn_dtype_name(dt));
    if (dt == VIGIL_NN_BOOL && kind != U_NOT && kind != U_IDENT)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "dtype bool");
    p->out[0]->dtype = (kind == U_ISNAN || kind == U_ISINF) ? VIGIL_NN_BOOL : dt;
    p->out[0]->ndim = p->in[0]->ndim;
    memcpy(p->out[0]->dims, p->in[0]->dims, sizeof p->in[0]->dims);
    return VIGIL_OK;
}

typedef struct unary_ctx {
    const unary_params_t *up;
    const float *x;
    float *y;
} unary_ctx_t;

static void unary_f32(void *arg, int64_t b, int64_t e)
{
    unary_ctx_t *c = arg;
    const float *x = c->x + b;
    float *y = c->y + b;
    int64_t n = e - b;
    float a = (float)c->up->a, bb = (float)c->up->b;
    if ((c->up->kind == U_RELU || c->up->kind == U_CLIP) && vigil__nn_have_avx2()) {
        vigil__nn_relu_clip_avx2(y, x, n, c->up->kind == U_RELU, a, bb);
        return;
    }
    switch (c->up->kind) {
    case U_RELU: for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0; break;
    case U_LEAKY: for (int64_t i = 0; i < n; i++) y[i] = x[i] >= 0 ? x[i] : a * x[i]; break;
    case U_CLIP: for (int64_t i = 0; i < n; i++) y[i] = x[i] < a ? a : x[i] > bb ? bb : x[i]; break;
    case U_SIGMOID: for (int64_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-x[i])); break;
    case U_HSIG:
        for (int64_t i = 0; i < n; i++) {
            float v = a * x[i] + bb;
            y[i] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
        break;
    case U_HSWISH:
        for (int64_t i = 0; i < n; i++) {
            float v = x[i] / 6 + 0.5f;
            y[i] = x[i] * (v < 0 ? 0 : v > 1 ? 1 : v);
        }
        break;
    case U_TANH: for (int64_t i = 0; i < n; i++) y[i] = tanhf(x[i]); break;
    case U_EXP: for (int64_t i = 0; i < n; i++) y[i] = expf(x[i]); break;
    case U_SQRT: for (int64_t i = 0; i < n; i++) y[i] = sqrtf(x[i]); break;
    case U_ABS: for (int64_t i = 0; i < n; i++) y[i] = fabsf(x[i]); break;
    case U_NEG: for (int64_t i = 0; i < n; i++) y[i] = -x[i]; break;
    case U_RECIP: for (int64_t i = 0; i < n; i++) y[i] = 1.0f / x[i]; break;
    case U_IDENT: if (y != x) memcpy(y, x, sizeof(float) * (size_t)n); break;
    default:
        for (int64_t i = 0; i < n; i++) y[i] = (float)apply1(c->up->kind, x[i], c->up->a, c->up->b);
        break;
    }
}

static vigil_err_t unary_run(nn_exec_t *e)
{
    const unary_params_t *up = e->params;
    vigil_nn_tensor_t *x = e->in[0], *y = e->out[0];
    int64_t n = vigil_nn_tensor_numel(x);
    if (e->nout > 1 && e->out[1]->data) memset(e->out[1]->data, 1, (size_t)n);
    if (x->dtype == VIGIL_NN_FLOAT32 && y->dtype == VIGIL_NN_FLOAT32) {
        unary_ctx_t c = {up, x->data, y->data};
        vigil__nn_parallel_for(e->pool, n, 16384, unary_f32, &c);
        return VIGIL_OK;
    }
    if (up->kind == U_IDENT) {
        memcpy(y->data, x->data, vigil__nn_bytes(x));
        return VIGIL_OK;
    }
    for (int64_t i = 0; i < n; i++) {
        double v = vigil__nn_get_double(x, i);
        if (x->dtype == VIGIL_NN_INT64 && (up->kind == U_NEG || up->kind == U_ABS)) {
            int64_t iv = ((const int64_t *)x->data)[i];
            ((int64_t *)y->data)[i] = up->kind == U_NEG ? -iv : iv < 0 ? -iv : iv;
            continue;
        }
        vigil__nn_set_double(y, i, apply1(up->kind, v, up->a, up->b));
    }
    return VIGIL_OK;
}

/* PRelu(x, slope): slope broadcasts to x. */
static vigil_err_t prelu_prepare(nn_prep_t *p)
{
    if (p->nin != 2 || !p->in[0] || !p->in[1] || p->in[0]->dtype != VIGIL_NN_FLOAT32 ||
        p->in[1]->dtype != VIGIL_NN_FLOAT32)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "needs two float32 inputs");
    int nd;
    int64_t d[VIGIL_NN_MAX_DIMS];
    if (vigil__nn_broadcast_shape(p->in[0]->ndim, p->in[0]->dims, p->in[1]->ndim, p->in[1]->dims, &nd, d) < 0)
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "slope does not broadcast");
    p->out[0]->dtype = VIGIL_NN_FLOAT32;
    p->out[0]->ndim = nd;
    memcpy(p->out[0]->dims, d, sizeof d);
    return VIGIL_OK;
}

static vigil_err_t prelu_run(nn_exec_t *e)
{
    vigil_nn_tensor_t *o = e->out[0];
    int nd = o->ndim;
    int64_t sx[VIGIL_NN_MAX_DIMS], ss[VIGIL_NN_MAX_DIMS], idx[VIGIL_NN_MAX_DIMS] = {0};
    vigil__nn_broadcast_strides(e->in[0]->ndim, e->in[0]->dims, nd, o->dims, sx);
    vigil__nn_broadcast_strides(e->in[1]->ndim, e->in[1]->dims, nd, o->dims, ss);
    const float *x = e->in[0]->data, *s = e->in[1]->data;
    float *y = o->data;
    int64_t n = vigil_nn_tensor_numel(o);
    for (int64_t i = 0; i < n; i++) {
        int64_t ox = 0, os = 0;
        for (int d = 0; d < nd; d++) ox += idx[d] * sx[d], os += idx[d] * ss[d];
        y[i] = x[ox] >= 0 ? x[ox] : x[ox] * s[os];
        for (int d = nd - 1; d >= 0; d--) {
            if (++idx[d] < o->dims[d]) break;
            idx[d] = 0;
        }
    }
    return VIGIL_OK;
}

#define U(n) {n, unary_prepare, unary_run, sizeof(unary_params_t), 0, 1, 1}
#define U3(n) {n, unary_prepare, unary_run, sizeof(unary_params_t), 0, 1, 3}
static const nn_op_t ops[] = {
    U("Relu"), U("LeakyRelu"), U("Elu"), U("Selu"), U("HardSigmoid"), U("HardSwish"),
    U("Sigmoid"), U("Tanh"), U("Softplus"), U("Softsign"), U("Erf"), U3("Clip"),
    U("ThresholdedRelu"), U("Sqrt"), U("Exp"), U("Log"), U("Abs"), U("Neg"), U("Reciprocal"),
    U("Floor"), U("Ceil"), U("Round"), U("Sin"), U("Cos"), U("Tan"), U("Asin"), U("Acos"),
    U("Atan"), U("Sinh"), U("Cosh"), U("Asinh"), U("Acosh"), U("Atanh"), U("Sign"), U("Not"),
    U("IsNaN"), U("IsInf"), U("Identity"), U3("Dropout"), U("Celu"), U("Mish"), U("Gelu"),
    {"PRelu", prelu_prepare, prelu_run, 0, 0, 2, 2},
};

const nn_op_t *const vigil__nn_ops_unary[] = {
    &ops[0], &ops[1], &ops[2], &ops[3], &ops[4], &ops[5], &ops[6], &ops[7], &ops[8],
    &ops[9], &ops[10], &ops[11], &ops[12], &ops[13], &ops[14], &ops[15], &ops[16], &ops[17],
    &ops[18], &ops[19], &ops[20], &ops[21], &ops[22], &ops[23], &ops[24], &ops[25], &ops[26],
    &ops[27], &ops[28], &ops[29], &ops[30], &ops[31], &ops[32], &ops[33], &ops[34], &ops[35],
    &ops[36], &ops[37], &ops[38], &ops[39], &ops[40], &ops[41], &ops[42], NULL,
};
