/* Reductions and softmax-family ops: ReduceSum/Mean/Max/Min/Prod/L1/L2/
 * LogSum/LogSumExp/SumSquare, ArgMax/ArgMin, TopK, Softmax, LogSoftmax,
 * Hardmax.
 *
 * Reductions see the input as [outer, reduced..., inner] by walking every
 * element once and adding it to its output slot (output index from strides
 * with 0 on reduced axes), which handles any set of axes. Axes come from the
 * attribute before opset 18 (ReduceSum: 13) and from input 1 after. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/kernels.h"

#define MAXD VIGIL_NN_MAX_DIMS

enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_L1, R_L2, R_LOGSUM, R_LOGSUMEXP, R_SUMSQ };

typedef struct red_params {
    int kind;
    uint8_t red[MAXD];
    int64_t count;
} red_params_t;

static int red_kind(const char *op)
{
    static const char *names[] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                                  "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp",
                                  "ReduceSumSquare"};
    for (int i = 0; i < 10; i++)
        if (!strcmp(op, names[i])) return i;
    return -1;
}

static vigil_err_t reduce_prepare(nn_prep_t *p)
{
    red_params_t *rp = p->params;
    const vigil_nn_tensor_t *x = p->in[0];
    rp->kind = red_kind(p->node->op_type);
    int input_axes = p->graph->opset >= 18 || (rp->kind == R_SUM && p->graph->opset >= 13);
    int64_t axes[MAXD];
    int na = 0;
    if (input_axes) {
        if (p->nin > 1 && p->in[1]) {
            if (!p->in[1]->data) return vigil__nn_prep_err(p, VIGIL_ERR_AGAIN, "axes must be known");
            na = (int)vigil_nn_tensor_numel(p->in[1]);
            if (na > MAXD) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "too many axes");
            for (int i = 0; i < na; i++) axes[i] = vigil__nn_get_int(p->in[1], i);
        }
    } else {
        const int64_t *a;
        na = (int)vigil__nn_attr_ints(p->node, "axes", &a);
        if (na > MAXD) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "too many axes");
        memcpy(axes, a, sizeof(int64_t) * (size_t)na);
    }
    if (x->dtype != VIGIL_NN_FLOAT32 && x->dtype != VIGIL_NN_FLOAT64 && x->dtype != VIGIL_NN_INT32 &&
        x->dtype != VIGIL_NN_INT64 && x->dtype != VIGIL_NN_UINT8 && x->dtype != VIGIL_NN_INT8)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "dtype %s", vigil_nn_dtype_name(x->dtype));
    int keep = (int)vigil__nn_attr_int(p->node, "keepdims", 1);
    int noop = (int)vigil__nn_attr_int(p->node, "noop_with_empty_axes", 0);
    memset(rp->red, 0, sizeof rp->red);
    for (int i = 0; i < na; i++) {
        int a = vigil__nn_axis(axes[i], x->ndim);
        if (a < 0) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "axis %lld out of range", (long long)axes[i]);
        rp->red[a] = 1;
    }
    if (!na && !noop)
        for (int i = 0; i < x->ndim; i++) rp->red[i] = 1;
    vigil_nn_tensor_t *o = p->out[0];
    o->dtype = x->dtype;
    o->ndim = 0;
    rp->count = 1;
    for (int i = 0; i < x->ndim; i++) {
        if (rp->red[i]) {
            rp->count *= x->dims[i];
            if (keep) o->dims[o->ndim++] = 1;
        } else {
            o->dims[o->ndim++] = x->dims[i];
        }
    }
    return VIGIL_OK;
}

static vigil_err_t reduce_run(nn_exec_t *e)
{
    const red_params_t *rp = e->params;
    const vigil_nn_tensor_t *x = e->in[0];
    vigil_nn_tensor_t *o = e->out[0];
    int64_t no = vigil_nn_tensor_numel(o), nx = vigil_nn_tensor_numel(x);
    double *acc = malloc(sizeof(double) * (size_t)(no ? no : 1));
    if (!acc) return vigil_seterr(e->errstr, e->errstr_size, VIGIL_ERR_NOMEM, "reduce: out of memory");
    double init = rp->kind == R_MAX ? -INFINITY : rp->kind == R_MIN ? INFINITY : rp->kind == R_PROD ? 1 : 0;
    for (int64_t i = 0; i < no; i++) acc[i] = init;
    /* output strides per input dim (0 on reduced dims) */
    int64_t os[MAXD], s = 1, idx[MAXD] = {0};
    for (int d = x->ndim - 1; d >= 0; d--) {
        os[d] = rp->red[d] ? 0 : s;
        if (!rp->red[d]) s *= x->dims[d];
    }
    int64_t off = 0;
    for (int64_t i = 0; i < nx; i++) {
        double v = vigil__nn_get_double(x, i);
        double *a = &acc[off];
        switch (rp->kind) {
        case R_MAX: if (v > *a || isnan(v)) *a = v; break;
        case R_MIN: if (v < *a || isnan(v)) *a = v; break;
        case R_PROD: *a *= v; break;
        case R_L1: *a += fabs(v); break;
        case R_L2: case R_SUMSQ: *a += v * v; break;
        case R_LOGSUMEXP: *a += exp(v); break;
        default: *a += v; break;
        }
        for (int d = x->ndim - 1; d >= 0; d--) {
            off += os[d];
            if (++idx[d] < x->dims[d]) break;
            off -= os[d] * idx[d];
            idx[d] = 0;
        }
    }
    for (int64_t i = 0; i < no; i++) {
        double v = acc[i];
        switch (rp->kind) {
        case R_MEAN: v = rp->count ? v / (double)rp->count : NAN; break;
        case R_L2: v = sqrt(v); break;
        case R_LOGSUM: case R_LOGSUMEXP: v = log(v); break;
        default: break;
        }
        vigil__nn_set_double(o, i, v);
    }
    free(acc);
    return VIGIL_OK;
}

/* ---- ArgMax / ArgMin ------------------------------------------------------------------------ */

typedef struct arg_params {
    int axis, max, last;
} arg_params_t;

static vigil_err_t arg_prepare(nn_prep_t *p)
{
    arg_params_t *ap = p->params;
    const vigil_nn_tensor_t *x = p->in[0];
    ap->axis = vigil__nn_axis(vigil__nn_attr_int(p->node, "axis", 0), x->ndim);
    if (ap->axis < 0) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "attribute axis out of range");
    ap->max = !strcmp(p->node->op_type, "ArgMax");
    ap->last = (int)vigil__nn_attr_int(p->node, "select_last_index", 0);
    int keep = (int)vigil__nn_attr_int(p->node, "keepdims", 1);
    vigil_nn_tensor_t *o = p->out[0];
    o->dtype = VIGIL_NN_INT64;
    o->ndim = 0;
    for (int i = 0; i < x->ndim; i++) {
        if (i == ap->axis) {
            if (keep) o->dims[o->ndim++] = 1;
        } else {
            o->dims[o->ndim++] = x->dims[i];
        }
    }
    return VIGIL_OK;
}

static vigil_err_t arg_run(nn_exec_t *e)
{
    const arg_params_t *ap = e->params;
    const vigil_nn_tensor_t *x = e->in[0];
    int64_t outer = vigil__nn_numel(ap->axis, x->dims), dim = x->dims[ap->axis];
    int64_t inner = vigil__nn_numel(x->ndim - ap->axis - 1, x->dims + ap->axis + 1);
    int64_t *o = e->out[0]->data;
    for (int64_t a = 0; a < outer; a++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t best = 0;
            double bv = vigil__nn_get_double(x, a * dim * inner + i);
            for (int64_t k = 1; k < dim; k++) {
                double v = vigil__nn_get_double(x, (a * dim + k) * inner + i);
                int better = ap->max ? (v > bv || (ap->last && v == bv)) : (v < bv || (ap->last && v == bv));
                if (better) bv = v, best = k;
            }
            o[a * inner + i] = best;
        }
    return VIGIL_OK;
}

/* ---- TopK ------------------------------------------------------------------------------------- */

typedef struct topk_params {
    int axis, largest, sorted;
    int64_t k;
} topk_params_t;

static vigil_err_t topk_prepare(nn_prep_t *p)
{
    topk_params_t *tp = p->params;
    const vigil_nn_tensor_t *x = p->in[0];
    tp->axis = vigil__nn_axis(vigil__nn_attr_int(p->node, "axis", -1), x->ndim);
    if (tp->axis < 0) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "attribute axis out of range");
    tp->largest = (int)vigil__nn_attr_int(p->node, "largest", 1);
    tp->sorted = (int)vigil__nn_attr_int(p->node, "sorted", 1);
    if (p->graph->opset < 10) {
        tp->k = vigil__nn_attr_int(p->node, "k", -1);
    } else {
        if (p->nin < 2 || !p->in[1]) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "no K input");
        if (!p->in[1]->data) return vigil__nn_prep_err(p, VIGIL_ERR_AGAIN, "K must be known");
        if (vigil_nn_tensor_numel(p->in[1]) != 1) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "K must have one value");
        tp->k = vigil__nn_get_int(p->in[1], 0);
    }
    if (tp->k < 0 || tp->k > x->dims[tp->axis])
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "k %lld out of range", (long long)tp->k);
    if (x->dtype != VIGIL_NN_FLOAT32 && x->dtype != VIGIL_NN_FLOAT64 && x->dtype != VIGIL_NN_INT64 &&
        x->dtype != VIGIL_NN_INT32)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "dtype %s", vigil_nn_dtype_name(x->dtype));
    for (int j = 0; j < 2 && j < p->nout; j++) {
        p->out[j]->dtype = j ? VIGIL_NN_INT64 : x->dtype;
        p->out[j]->ndim = x->ndim;
        memcpy(p->out[j]->dims, x->dims, sizeof x->dims);
        p->out[j]->dims[tp->axis] = tp->k;
    }
    /* ix and the values along the axis; the heap's keys (k of them) */
    p->scratch_bytes = (sizeof(int64_t) + sizeof(double)) * (size_t)x->dims[tp->axis] + sizeof(double) * (size_t)tp->k;
    return VIGIL_OK;
}

/* heap order: a (key ka, index ia) ranks before b: larger key, then lower index */
static inline int topk_before(double ka, int64_t ia, double kb, int64_t ib)
{
    return ka > kb || (ka == kb && ia < ib);
}

/* min-heap on topk_before: the root is the weakest of those kept */
static void topk_sift(double *kv, int64_t *ix, int64_t n, int64_t i)
{
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && topk_before(kv[m], ix[m], kv[l], ix[l])) m = l;
        if (r < n && topk_before(kv[m], ix[m], kv[r], ix[r])) m = r;
        if (m == i) return;
        double tk = kv[i]; kv[i] = kv[m]; kv[m] = tk;
        int64_t ti = ix[i]; ix[i] = ix[m]; ix[m] = ti;
        i = m;
    }
}

/* The k best of vals[0..dim) (no NaN) into ix[0..k), best first: keys are
 * the values (largest) or their negation (smallest), ties go to the lower
 * index, as the selection sort gives. One pass with a k-heap: a value that
 * does not beat the weakest kept costs one compare (an index met later
 * never wins a tie). */
static void topk_heap(const double *vals, int64_t dim, int64_t k, int largest, int64_t *ix, double *kv)
{
    if (!k) return;
    double sg = largest ? 1.0 : -1.0;
    for (int64_t i = 0; i < k; i++) kv[i] = sg * vals[i], ix[i] = i;
    for (int64_t j = k / 2; j >= 0; j--) topk_sift(kv, ix, k, j);
    for (int64_t i = k; i < dim; i++) {
        double key = sg * vals[i];
        if (key <= kv[0]) continue;
        kv[0] = key, ix[0] = i;
        topk_sift(kv, ix, k, 0);
    }
    for (int64_t m = k; m > 1; m--) { /* weakest to the back */
        int64_t ti = ix[0];
        double tk = kv[0];
        ix[0] = ix[m - 1], kv[0] = kv[m - 1];
        ix[m - 1] = ti, kv[m - 1] = tk;
        topk_sift(kv, ix, m - 1, 0);
    }
}

static vigil_err_t topk_run(nn_exec_t *e)
{
    const topk_params_t *tp = e->params;
    const vigil_nn_tensor_t *x = e->in[0];
    int64_t outer = vigil__nn_numel(tp->axis, x->dims), dim = x->dims[tp->axis];
    int64_t inner = vigil__nn_numel(x->ndim - tp->axis - 1, x->dims + tp->axis + 1);
    int64_t *ix = e->scratch;
    double *vals = (double *)(ix + dim), *kv = vals + dim;
    for (int64_t a = 0; a < outer; a++)
        for (int64_t i = 0; i < inner; i++) {
            int nan = 0;
            if (x->dtype == VIGIL_NN_FLOAT32) {
                const float *xs = (const float *)x->data + a * dim * inner + i;
                for (int64_t k = 0; k < dim; k++) {
                    float v = xs[k * inner];
                    vals[k] = v;
                    nan |= v != v;
                }
            } else {
                for (int64_t k = 0; k < dim; k++) {
                    vals[k] = vigil__nn_get_double(x, (a * dim + k) * inner + i);
                    nan |= vals[k] != vals[k];
                }
            }
            if (!nan) {
                topk_heap(vals, dim, tp->k, tp->largest, ix, kv);
            } else {
                /* NaN: the partial selection sort, whose order with NaN the heap does not keep */
                for (int64_t k = 0; k < dim; k++) ix[k] = k;
                for (int64_t s = 0; s < tp->k; s++) {
                    int64_t best = s;
                    for (int64_t k = s + 1; k < dim; k++) {
                        double bv = vals[ix[best]], v = vals[ix[k]];
                        int better = tp->largest ? v > bv : v < bv;
                        if (better || (v == bv && ix[k] < ix[best])) best = k;
                    }
                    int64_t t = ix[s];
                    ix[s] = ix[best];
                    ix[best] = t;
                }
            }
            for (int64_t s = 0; s < tp->k; s++) {
                int64_t o = (a * tp->k + s) * inner + i;
                vigil__nn_set_double(e->out[0], o, vals[ix[s]]);
                if (x->dtype == VIGIL_NN_INT64) ((int64_t *)e->out[0]->data)[o] = vigil__nn_get_int(x, (a * dim + ix[s]) * inner + i);
                if (e->nout > 1 && e->out[1]->data) ((int64_t *)e->out[1]->data)[o] = ix[s];
            }
        }
    return VIGIL_OK;
}

/* ---- Softmax / LogSoftmax / Hardmax ------------------------------------------------------------ */

typedef struct sm_params {
    int64_t outer, dim, inner;
    int kind; /* 0 softmax, 1 log, 2 hardmax */
} sm_params_t;

static vigil_err_t softmax_prepare(nn_prep_t *p)
{
    sm_params_t *sp = p->params;
    const vigil_nn_tensor_t *x = p->in[0];
    if (x->dtype != VIGIL_NN_FLOAT32) return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "dtype %s", vigil_nn_dtype_name(x->dtype));
    int old = p->graph->opset < 13;
    int a = vigil__nn_axis(vigil__nn_attr_int(p->node, "axis", old ? 1 : -1), x->ndim ? x->ndim : 1);
    if (a < 0) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "attribute axis out of range");
    sp->kind = !strcmp(p->node->op_type, "LogSoftmax") ? 1 : !strcmp(p->node->op_type, "Hardmax") ? 2 : 0;
    sp->outer = vigil__nn_numel(a, x->dims);
    if (old) { /* coerced to 2-D at axis */
        sp->dim = vigil__nn_numel(x->ndim - a, x->dims + a);
        sp->inner = 1;
    } else {
        sp->dim = x->ndim ? x->dims[a] : 1;
        sp->inner = vigil__nn_numel(x->ndim - a - 1, x->dims + a + 1);
    }
    p->out[0]->dtype = x->dtype;
    p->out[0]->ndim = x->ndim;
    memcpy(p->out[0]->dims, x->dims, sizeof x->dims);
    return VIGIL_OK;
}

typedef struct sm_ctx {
    const sm_params_t *sp;
    const float *x;
    float *y;
} sm_ctx_t;

static void softmax_rows(void *arg, int64_t r0, int64_t r1)
{
    const sm_ctx_t *c = arg;
    const sm_params_t *sp = c->sp;
    for (int64_t r = r0; r < r1; r++) {
        int64_t a = r / sp->inner, i = r % sp->inner, st = sp->inner;
        const float *x = c->x + a * sp->dim * st + i;
        float *y = c->y + a * sp->dim * st + i;
        float mx = -INFINITY;
        int64_t amax = 0;
        for (int64_t k = 0; k < sp->dim; k++)
            if (x[k * st] > mx) mx = x[k * st], amax = k;
        if (sp->kind == 2) {
            for (int64_t k = 0; k < sp->dim; k++) y[k * st] = k == amax;
            continue;
        }
        double sum = 0;
        if (st == 1 && isfinite(mx) && vigil__nn_have_avx2()) { /* contiguous rows: 8 exps at a time */
            sum = NN_AVX512_OR(vigil__nn_exp_rows_avx512(x, mx, sp->kind ? NULL : y, sp->dim),
                                   vigil__nn_exp_rows_avx2(x, mx, sp->kind ? NULL : y, sp->dim));
        } else {
            for (int64_t k = 0; k < sp->dim; k++) {
                float ev = expf(x[k * st] - mx);
                if (!sp->kind) y[k * st] = ev;
                sum += ev;
            }
        }
        if (sp->kind == 1) {
            float ls = (float)log(sum);
            for (int64_t k = 0; k < sp->dim; k++) y[k * st] = x[k * st] - mx - ls;
        } else {
            float inv = (float)(1.0 / sum);
            for (int64_t k = 0; k < sp->dim; k++) y[k * st] *= inv;
        }
    }
}

static vigil_err_t softmax_run(nn_exec_t *e)
{
    const sm_params_t *sp = e->params;
    sm_ctx_t c = {sp, e->in[0]->data, e->out[0]->data};
    vigil__nn_parallel_for(e->pool, sp->outer * sp->inner, 64, softmax_rows, &c);
    return VIGIL_OK;
}

#define RED(n) {n, reduce_prepare, reduce_run, sizeof(red_params_t), 0, 1, 2}
static const nn_op_t ops[] = {
    RED("ReduceSum"), RED("ReduceMean"), RED("ReduceMax"), RED("ReduceMin"), RED("ReduceProd"),
    RED("ReduceL1"), RED("ReduceL2"), RED("ReduceLogSum"), RED("ReduceLogSumExp"),
    RED("ReduceSumSquare"),
    {"ArgMax", arg_prepare, arg_run, sizeof(arg_params_t), 0, 1, 1},
    {"ArgMin", arg_prepare, arg_run, sizeof(arg_params_t), 0, 1, 1},
    {"TopK", topk_prepare, topk_run, sizeof(topk_params_t), 0, 1, 2},
    {"Softmax", softmax_prepare, softmax_run, sizeof(sm_params_t), 0, 1, 1},
    {"LogSoftmax", softmax_prepare, softmax_run, sizeof(sm_params_t), 0, 1, 1},
    {"Hardmax", softmax_prepare, softmax_run, sizeof(sm_params_t), 0, 1, 1},
};

const nn_op_t *const vigil__nn_ops_reduce[] = {
    &ops[0], &ops[1], &ops[2], &ops[3], &ops[4], &ops[5], &ops[6], &ops[7],
    &ops[8], &ops[9], &ops[10], &ops[11], &ops[12], &ops[13], &ops[14], &ops[15], NULL,
};
