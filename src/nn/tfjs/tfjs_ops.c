/* TF-only ops the TF.js loader maps to, where ONNX has no exact equivalent:
 *   TfFloorDiv, TfFloorMod  floor division / modulo (sign of the divisor) on
 *                           ints and floats, with numpy broadcasting; ONNX
 *                           Div truncates on ints and Mod(fmod=0) is ints only.
 *   TfTopKV2                top k along the last axis, attribute k, values and
 *                           int32 indices; ties go to the lower index (the
 *                           order of TF.js's CPU kernel), so results match
 *                           bit for bit.
 * Listed in src/nn/ops.c as vigil__nn_ops_tfjs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/kernels.h"

/* ---- FloorDiv / FloorMod ------------------------------------------------------------------ */

static vigil_err_t floor_prepare(nn_prep_t *p)
{
    if (p->nin != 2 || !p->in[0] || !p->in[1]) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "takes 2 inputs");
    vigil_nn_dtype_t dt = p->in[0]->dtype;
    if (p->in[1]->dtype != dt)
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "inputs of different dtypes (%s, %s)",
                                  vigil_nn_dtype_name(dt), vigil_nn_dtype_name(p->in[1]->dtype));
    if (dt != VIGIL_NN_INT32 && dt != VIGIL_NN_INT64 && dt != VIGIL_NN_FLOAT32)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "dtype %s", vigil_nn_dtype_name(dt));
    int nd;
    int64_t d[VIGIL_NN_MAX_DIMS];
    if (vigil__nn_broadcast_shape(p->in[0]->ndim, p->in[0]->dims, p->in[1]->ndim, p->in[1]->dims, &nd, d) < 0)
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "shapes do not broadcast");
    p->out[0]->dtype = dt;
    p->out[0]->ndim = nd;
    memcpy(p->out[0]->dims, d, sizeof(int64_t) * (size_t)nd);
    return VIGIL_OK;
}

static int64_t ifloordiv(int64_t a, int64_t b)
{
    if (b == 0) return 0; /* TF raises; a defined value keeps runs safe */
    if (b == -1) return a == INT64_MIN ? a : -a;
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int64_t ifloormod(int64_t a, int64_t b)
{
    if (b == 0 || b == -1) return 0;
    int64_t r = a % b;
    return r != 0 && ((r < 0) != (b < 0)) ? r + b : r;
}

static vigil_err_t floor_run(nn_exec_t *e)
{
    const vigil_nn_tensor_t *a = e->in[0], *b = e->in[1];
    vigil_nn_tensor_t *o = e->out[0];
    int nd = o->ndim, mod = !strcmp(e->node->op_type, "TfFloorMod");
    int64_t sa[VIGIL_NN_MAX_DIMS], sb[VIGIL_NN_MAX_DIMS], idx[VIGIL_NN_MAX_DIMS] = {0};
    vigil__nn_broadcast_strides(a->ndim, a->dims, nd, o->dims, sa);
    vigil__nn_broadcast_strides(b->ndim, b->dims, nd, o->dims, sb);
    int64_t n = vigil_nn_tensor_numel(o), ia = 0, ib = 0;
    for (int64_t i = 0; i < n; i++) {
        if (o->dtype == VIGIL_NN_FLOAT32) {
            float x = ((const float *)a->data)[ia], y = ((const float *)b->data)[ib];
            ((float *)o->data)[i] = mod ? x - floorf(x / y) * y : floorf(x / y);
        } else {
            int64_t x = vigil__nn_get_int(a, ia), y = vigil__nn_get_int(b, ib);
            int64_t r = mod ? ifloormod(x, y) : ifloordiv(x, y);
            if (o->dtype == VIGIL_NN_INT32) ((int32_t *)o->data)[i] = (int32_t)r;
            else ((int64_t *)o->data)[i] = r;
        }
        for (int d = nd - 1; d >= 0; d--) { /* odometer over the output index */
            ia += sa[d], ib += sb[d];
            if (++idx[d] < o->dims[d]) break;
            ia -= sa[d] * o->dims[d], ib -= sb[d] * o->dims[d];
            idx[d] = 0;
        }
    }
    return VIGIL_OK;
}

/* ---- TopKV2 ---------------------------------------------------------------------------------- */

typedef struct topk_params {
    int64_t k, rows, len;
} topk_params_t;

static vigil_err_t topk_prepare(nn_prep_t *p)
{
    topk_params_t *tp = p->params;
    const vigil_nn_tensor_t *x = p->in[0];
    if (!x || x->ndim < 1) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input must have rank >= 1");
    if (p->nout != 2) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "needs 2 outputs, has %d", p->nout);
    if (x->dtype != VIGIL_NN_FLOAT32 && x->dtype != VIGIL_NN_INT32)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "dtype %s", vigil_nn_dtype_name(x->dtype));
    tp->k = vigil__nn_attr_int(p->node, "k", -1);
    tp->len = x->dims[x->ndim - 1];
    if (tp->k < 0 || tp->k > tp->len)
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "k %lld for a last dim of %lld", (long long)tp->k,
                                  (long long)tp->len);
    tp->rows = tp->len ? vigil_nn_tensor_numel(x) / tp->len : 0;
    for (int j = 0; j < 2; j++) {
        p->out[j]->dtype = j ? VIGIL_NN_INT32 : x->dtype;
        p->out[j]->ndim = x->ndim;
        memcpy(p->out[j]->dims, x->dims, sizeof(int64_t) * (size_t)x->ndim);
        p->out[j]->dims[x->ndim - 1] = tp->k;
    }
    p->scratch_bytes = (size_t)tp->k * (sizeof(double) + sizeof(int64_t)) + 16;
    return VIGIL_OK;
}

/* a ranks before b: larger value, then lower index (NaN counts as largest) */
static int before(double va, int64_t ia, double vb, int64_t ib)
{
    if (va != vb) {
        if (va != va) return 1;
        if (vb != vb) return 0;
        return va > vb;
    }
    return ia < ib;
}

/* min-heap on "ranks before": the root is the weakest of the k kept */
static void sift_down(double *v, int64_t *ix, int64_t n, int64_t i)
{
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && before(v[m], ix[m], v[l], ix[l])) m = l;
        if (r < n && before(v[m], ix[m], v[r], ix[r])) m = r;
        if (m == i) return;
        double tv = v[i]; v[i] = v[m]; v[m] = tv;
        int64_t ti = ix[i]; ix[i] = ix[m]; ix[m] = ti;
        i = m;
    }
}

static vigil_err_t topk_run(nn_exec_t *e)
{
    const topk_params_t *tp = e->params;
    const vigil_nn_tensor_t *x = e->in[0];
    int64_t k = tp->k;
    double *hv = e->scratch;
    int64_t *hi = (int64_t *)(hv + k);
    if (k && !e->scratch) return vigil_seterr(e->errstr, e->errstr_size, VIGIL_ERR_INVALID, "topk: no scratch");
    /* float input read in place (CenterNet's top 100 of 1.3 M heatmap
     * scores: get_double per element was ~4% of a pipeline's CPU) */
    const float *xf = x->dtype == VIGIL_NN_FLOAT32 ? x->data : NULL;
    for (int64_t r = 0; r < tp->rows; r++) {
        int64_t n = 0;
        for (int64_t i = 0; i < tp->len && k; i++) {
            double v = xf ? (double)xf[r * tp->len + i] : vigil__nn_get_double(x, r * tp->len + i);
            if (n == k && v < hv[0]) continue; /* ranks after the weakest kept (v, hv[0] not NaN) */
            if (n < k) {
                hv[n] = v, hi[n] = i;
                n++;
                if (n == k)
                    for (int64_t j = k / 2; j >= 0; j--) sift_down(hv, hi, k, j);
            } else if (before(v, i, hv[0], hi[0])) {
                hv[0] = v, hi[0] = i;
                sift_down(hv, hi, k, 0);
            }
        }
        /* pop weakest first into the back of the output */
        for (int64_t m = n; m > 0; m--) {
            int64_t at = r * k + m - 1;
            vigil__nn_set_double(e->out[0], at, hv[0]);
            if (x->dtype == VIGIL_NN_INT32) ((int32_t *)e->out[0]->data)[at] = (int32_t)hv[0];
            if (e->out[1]->data) ((int32_t *)e->out[1]->data)[at] = (int32_t)hi[0];
            hv[0] = hv[m - 1], hi[0] = hi[m - 1];
            sift_down(hv, hi, m - 1, 0);
        }
    }
    return VIGIL_OK;
}

static const nn_op_t ops[] = {
    {"TfFloorDiv", floor_prepare, floor_run, 0, 0, 2, 2},
    {"TfFloorMod", floor_prepare, floor_run, 0, 0, 2, 2},
    {"TfTopKV2", topk_prepare, topk_run, sizeof(topk_params_t), 0, 1, 1},
};

const nn_op_t *const vigil__nn_ops_tfjs[] = {&ops[0], &ops[1], &ops[2], NULL};
