/* ONNX's quantization operators (QDQ models): QuantizeLinear,
 * DequantizeLinear, DynamicQuantizeLinear, MatMulInteger, QLinearMatMul,
 * ConvInteger and QLinearConv, on uint8/int8 tensors.
 *
 * Portable and exact: sums of (q - zero point) products are int64, so no
 * shape overflows them; a requantized value is rint(acc * multiplier) + zp
 * (round half to even, the default rounding mode) saturated to the output
 * type's range, with the multiplier in double. These ops do not use the
 * INT8 conv kernels of qconv.h: those quantize float activations to
 * asymmetric u8 against symmetric s8 weights (no weight zero point), which
 * is not the general form these ops take.
 *
 * Quantization parameters: a scale is float32 with every value finite and
 * non-zero, a zero point has the quantized type (int8 or uint8; int32 for
 * DequantizeLinear of int32, where it must be 0) and the scale's shape.
 * Per-tensor parameters have one element; per-axis ones (opset 13) are 1-D
 * with the length of dimension `axis` of the quantized tensor. Parameters
 * that are constant are checked when the plan is made, others at each run:
 * bad ones give VIGIL_ERR_INVALID naming node, op and input. */
#include <math.h>
#include <string.h>

#include "nn/cpu/conv_geom.h"
#include "nn/cpu/kernels.h"
#include "nn/cpu/matmul_shape.h"

/* ---- parameter checks ------------------------------------------------------------ */

static int is_q8(vigil_nn_dtype_t d) { return d == VIGIL_NN_UINT8 || d == VIGIL_NN_INT8; }

static int64_t qmin(vigil_nn_dtype_t d) { return d == VIGIL_NN_INT8 ? -128 : d == VIGIL_NN_INT32 ? INT32_MIN : 0; }
static int64_t qmax(vigil_nn_dtype_t d) { return d == VIGIL_NN_INT8 ? 127 : d == VIGIL_NN_INT32 ? INT32_MAX : 255; }

static int64_t qget(const vigil_nn_tensor_t *t, int64_t i)
{
    switch (t->dtype) {
    case VIGIL_NN_UINT8: return ((const uint8_t *)t->data)[i];
    case VIGIL_NN_INT8: return ((const int8_t *)t->data)[i];
    default: return ((const int32_t *)t->data)[i];
    }
}

static void qset(vigil_nn_tensor_t *t, int64_t i, int64_t v)
{
    if (t->dtype == VIGIL_NN_UINT8) ((uint8_t *)t->data)[i] = (uint8_t)v;
    else ((int8_t *)t->data)[i] = (int8_t)v;
}

/* rint(v) + zp saturated to [lo, hi]; NaN gives zp (the level of 0.0) */
static int64_t requant(double v, int64_t zp, int64_t lo, int64_t hi)
{
    if (isnan(v)) v = 0;
    double r = nearbyint(v) + (double)zp;
    if (r < (double)lo) return lo;
    if (r > (double)hi) return hi;
    return (int64_t)r;
}

/* Scale values: each finite and non-zero. Returns the index of a bad one or -1. */
static int64_t bad_scale(const vigil_nn_tensor_t *s)
{
    const float *v = s->data;
    int64_t n = vigil_nn_tensor_numel(s);
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i]) || v[i] == 0) return i;
    return -1;
}

/* Shape checks of a (scale, zero point) pair of inputs si, zi (zi may be
 * left out) for quantized type qt: per-tensor (one element) or, with
 * len > 0, 1-D of len elements. Value checks when constant. */
static vigil_err_t check_qparams(nn_prep_t *p, int si, int zi, vigil_nn_dtype_t qt, int64_t len)
{
    const vigil_nn_tensor_t *s = p->in[si], *z = zi >= 0 && zi < p->nin ? p->in[zi] : NULL;
    if (!s || s->dtype != VIGIL_NN_FLOAT32)
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input %d (scale) must be float32, is %s", si,
                                  s ? vigil_nn_dtype_name(s->dtype) : "absent");
    int64_t n = vigil_nn_tensor_numel(s);
    int per_tensor = n == 1 && s->ndim <= 1;
    if (!per_tensor && !(len > 0 && s->ndim == 1 && s->dims[0] == len))
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input %d (scale) has %lld elements, want 1%s", si,
                                  (long long)n, len > 0 ? " or a 1-D tensor of the axis length" : "");
    if (s->data) {
        int64_t b = bad_scale(s);
        if (b >= 0)
            return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input %d (scale) element %lld is %g (want finite, non-zero)",
                                      si, (long long)b, (double)((const float *)s->data)[b]);
    }
    if (!z) return VIGIL_OK;
    if (z->dtype != qt)
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input %d (zero point) is %s, want %s", zi,
                                  vigil_nn_dtype_name(z->dtype), vigil_nn_dtype_name(qt));
    if (z->ndim != s->ndim || vigil_nn_tensor_numel(z) != n)
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input %d (zero point) shape differs from the scale's", zi);
    if (qt == VIGIL_NN_INT32 && z->data)
        for (int64_t i = 0; i < n; i++)
            if (qget(z, i)) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input %d (zero point) of int32 must be 0", zi);
    return VIGIL_OK;
}

/* the same value checks at run time (inputs computed by the graph) */
static vigil_err_t run_check(nn_exec_t *e, const int *scales, int ns)
{
    for (int k = 0; k < ns; k++) {
        const vigil_nn_tensor_t *s = e->in[scales[k]];
        int64_t b = bad_scale(s);
        if (b >= 0)
            return vigil_seterr(e->errstr, e->errstr_size, VIGIL_ERR_INVALID,
                                "node \"%s\" (op %s): input %d (scale) element %lld is %g (want finite, non-zero)",
                                e->node->name, e->node->op_type, scales[k], (long long)b,
                                (double)((const float *)s->data)[b]);
    }
    return VIGIL_OK;
}

/* ---- QuantizeLinear / DequantizeLinear ---------------------------------------------- */

typedef struct ql_params {
    int64_t outer, len, inner; /* x as [outer, len, inner]; len 1 when per-tensor */
} ql_params_t;

static vigil_err_t ql_common(nn_prep_t *p, int quant, vigil_nn_dtype_t qt)
{
    ql_params_t *qp = p->params;
    const vigil_nn_tensor_t *x = p->in[0], *s = p->in[1];
    int64_t axis_attr = vigil__nn_attr_int(p->node, "axis", 1);
    if (p->graph->opset < 13 && vigil__nn_attr(p->node, "axis"))
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "attribute axis needs opset 13 (model has %d)", p->graph->opset);
    int64_t len = 0;
    qp->outer = vigil_nn_tensor_numel(x);
    qp->len = qp->inner = 1;
    if (s && !(vigil_nn_tensor_numel(s) == 1 && s->ndim <= 1)) { /* per-axis */
        if (p->graph->opset < 13)
            return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "per-axis scale needs opset 13 (model has %d)", p->graph->opset);
        int ax = vigil__nn_axis(axis_attr, x->ndim);
        if (ax < 0)
            return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "attribute axis %lld out of range for rank %d",
                                      (long long)axis_attr, x->ndim);
        len = x->dims[ax];
        qp->outer = vigil__nn_numel(ax, x->dims);
        qp->len = len;
        qp->inner = vigil__nn_numel(x->ndim - ax - 1, x->dims + ax + 1);
    }
    vigil_err_t err = check_qparams(p, 1, 2, qt, len);
    if (err) return err;
    vigil_nn_tensor_t *o = p->out[0];
    o->dtype = quant ? qt : VIGIL_NN_FLOAT32;
    o->ndim = x->ndim;
    memcpy(o->dims, x->dims, sizeof x->dims);
    return VIGIL_OK;
}

static vigil_err_t quantize_prepare(nn_prep_t *p)
{
    if (p->in[0]->dtype != VIGIL_NN_FLOAT32)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "input dtype %s (float32 supported)",
                                  vigil_nn_dtype_name(p->in[0]->dtype));
    vigil_nn_dtype_t qt = p->in[2] ? p->in[2]->dtype : VIGIL_NN_UINT8;
    if (!is_q8(qt))
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input 2 (zero point) is %s, want uint8 or int8",
                                  vigil_nn_dtype_name(qt));
    return ql_common(p, 1, qt);
}

static vigil_err_t quantize_run(nn_exec_t *e)
{
    static const int sc[] = {1};
    vigil_err_t err = run_check(e, sc, 1);
    if (err) return err;
    const ql_params_t *qp = e->params;
    const float *x = e->in[0]->data, *s = e->in[1]->data;
    const vigil_nn_tensor_t *z = e->in[2];
    vigil_nn_tensor_t *y = e->out[0];
    int64_t lo = qmin(y->dtype), hi = qmax(y->dtype), i = 0;
    for (int64_t o = 0; o < qp->outer; o++)
        for (int64_t c = 0; c < qp->len; c++) {
            float sc_c = s[c];
            int64_t zp = z ? qget(z, c) : 0;
            for (int64_t k = 0; k < qp->inner; k++, i++) qset(y, i, requant((double)(x[i] / sc_c), zp, lo, hi));
        }
    return VIGIL_OK;
}

static vigil_err_t dequantize_prepare(nn_prep_t *p)
{
    vigil_nn_dtype_t qt = p->in[0]->dtype;
    if (!is_q8(qt) && qt != VIGIL_NN_INT32)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "input dtype %s (uint8, int8, int32 supported)",
                                  vigil_nn_dtype_name(qt));
    return ql_common(p, 0, qt);
}

static vigil_err_t dequantize_run(nn_exec_t *e)
{
    static const int sc[] = {1};
    vigil_err_t err = run_check(e, sc, 1);
    if (err) return err;
    const ql_params_t *qp = e->params;
    const vigil_nn_tensor_t *x = e->in[0], *z = e->in[2];
    const float *s = e->in[1]->data;
    float *y = e->out[0]->data;
    int64_t i = 0;
    for (int64_t o = 0; o < qp->outer; o++)
        for (int64_t c = 0; c < qp->len; c++) {
            float sc_c = s[c];
            int64_t zp = z ? qget(z, c) : 0;
            for (int64_t k = 0; k < qp->inner; k++, i++) y[i] = (float)(qget(x, i) - zp) * sc_c;
        }
    return VIGIL_OK;
}

/* ---- DynamicQuantizeLinear ------------------------------------------------------------ */

static vigil_err_t dynq_prepare(nn_prep_t *p)
{
    const vigil_nn_tensor_t *x = p->in[0];
    if (x->dtype != VIGIL_NN_FLOAT32)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "input dtype %s (float32 supported)",
                                  vigil_nn_dtype_name(x->dtype));
    vigil_nn_tensor_t *y = p->out[0];
    y->dtype = VIGIL_NN_UINT8;
    y->ndim = x->ndim;
    memcpy(y->dims, x->dims, sizeof x->dims);
    if (p->nout > 1) p->out[1]->dtype = VIGIL_NN_FLOAT32, p->out[1]->ndim = 0;
    if (p->nout > 2) p->out[2]->dtype = VIGIL_NN_UINT8, p->out[2]->ndim = 0;
    return VIGIL_OK;
}

/* ONNX's definition: range [min(0, min x), max(0, max x)] over 0..255,
 * scale = range / 255, zp = saturate(rint(-min / scale)); an all-zero (or
 * empty) x gives scale 0 and zp 0, and y all 0. NaN elements are left out
 * of the range; a range that is not finite is refused. */
static vigil_err_t dynq_run(nn_exec_t *e)
{
    const float *x = e->in[0]->data;
    int64_t n = vigil_nn_tensor_numel(e->in[0]);
    float mn = 0, mx = 0;
    for (int64_t i = 0; i < n; i++) {
        if (x[i] < mn) mn = x[i];
        if (x[i] > mx) mx = x[i];
    }
    if (!isfinite(mn) || !isfinite(mx))
        return vigil_seterr(e->errstr, e->errstr_size, VIGIL_ERR_INVALID,
                            "node \"%s\" (op DynamicQuantizeLinear): input range [%g, %g] is not finite",
                            e->node->name, (double)mn, (double)mx);
    float scale = (mx - mn) / 255.0f;
    int64_t zp = scale > 0 ? requant((double)((0.0f - mn) / scale), 0, 0, 255) : 0;
    uint8_t *y = e->out[0]->data;
    for (int64_t i = 0; i < n; i++)
        y[i] = scale > 0 ? (uint8_t)requant((double)(x[i] / scale), zp, 0, 255) : 0;
    if (e->nout > 1 && e->out[1]) *(float *)e->out[1]->data = scale;
    if (e->nout > 2 && e->out[2]) *(uint8_t *)e->out[2]->data = (uint8_t)zp;
    return VIGIL_OK;
}

/* ---- MatMulInteger / QLinearMatMul ---------------------------------------------------- */

typedef struct qmm_params {
    nn_mm_shape_t s;
    int64_t an, bn; /* elements of A and B: scratch holds both as s16 q - zp */
    int qlinear; /* QLinearMatMul: inputs a, as, azp, b, bs, bzp, ys, yzp */
} qmm_params_t;

/* zero point (or scale) of A: one element, or one per row of A ([M]); of
 * B: one, or one per column ([N]) */
static vigil_err_t qmm_prepare(nn_prep_t *p)
{
    qmm_params_t *mp = p->params;
    mp->qlinear = !strcmp(p->node->op_type, "QLinearMatMul");
    int ia = 0, ib = mp->qlinear ? 3 : 1;
    const vigil_nn_tensor_t *a = p->in[ia], *b = p->in[ib];
    if (!b) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input B is left out");
    if (!is_q8(a->dtype) || !is_q8(b->dtype))
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "A is %s and B %s, want uint8 or int8",
                                  vigil_nn_dtype_name(a->dtype), vigil_nn_dtype_name(b->dtype));
    vigil_nn_tensor_t *o = p->out[0];
    vigil_err_t err = vigil__nn_matmul_shape(p, a, b, &mp->s, o);
    if (err) return err;
    if (mp->qlinear) {
        const vigil_nn_tensor_t *yz = p->in[7];
        if (!yz || !is_q8(yz->dtype))
            return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input 7 (y zero point) must be uint8 or int8");
        if ((err = check_qparams(p, 1, 2, a->dtype, mp->s.M)) || (err = check_qparams(p, 4, 5, b->dtype, mp->s.N)) ||
            (err = check_qparams(p, 6, 7, yz->dtype, 0)))
            return err;
        o->dtype = yz->dtype;
    } else {
        /* a zero point without its scale: shape checks by hand */
        const vigil_nn_tensor_t *za = p->nin > 2 ? p->in[2] : NULL, *zb = p->nin > 3 ? p->in[3] : NULL;
        if (za && (za->dtype != a->dtype || !(vigil_nn_tensor_numel(za) == 1 ||
                                             (za->ndim == 1 && za->dims[0] == mp->s.M))))
            return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input 2 (A zero point) must be %s, one element or [M]",
                                      vigil_nn_dtype_name(a->dtype));
        if (zb && (zb->dtype != b->dtype || !(vigil_nn_tensor_numel(zb) == 1 ||
                                             (zb->ndim == 1 && zb->dims[0] == mp->s.N))))
            return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input 3 (B zero point) must be %s, one element or [N]",
                                      vigil_nn_dtype_name(b->dtype));
        o->dtype = VIGIL_NN_INT32;
    }
    mp->an = vigil_nn_tensor_numel(a);
    mp->bn = vigil_nn_tensor_numel(b);
    p->scratch_bytes = sizeof(int64_t) * (size_t)mp->s.N + sizeof(int16_t) * (size_t)(mp->an + mp->bn);
    return VIGIL_OK;
}

/* per-element-or-broadcast read of a 1-element or per-row/column tensor */
static int64_t zp_at(const vigil_nn_tensor_t *z, int64_t i)
{
    if (!z) return 0;
    return qget(z, vigil_nn_tensor_numel(z) == 1 ? 0 : i);
}

static float sc_at(const vigil_nn_tensor_t *s, int64_t i)
{
    return ((const float *)s->data)[vigil_nn_tensor_numel(s) == 1 ? 0 : i];
}

static vigil_err_t qmm_run(nn_exec_t *e)
{
    const qmm_params_t *mp = e->params;
    const vigil_nn_tensor_t *a, *b, *za, *zb, *as = NULL, *bs = NULL, *ys = NULL, *yz = NULL;
    if (mp->qlinear) {
        static const int sc[] = {1, 4, 6};
        vigil_err_t err = run_check(e, sc, 3);
        if (err) return err;
        a = e->in[0], as = e->in[1], za = e->in[2], b = e->in[3], bs = e->in[4], zb = e->in[5];
        ys = e->in[6], yz = e->in[7];
    } else {
        a = e->in[0], b = e->in[1], za = e->nin > 2 ? e->in[2] : NULL, zb = e->nin > 3 ? e->in[3] : NULL;
    }
    vigil_nn_tensor_t *y = e->out[0];
    int64_t nbatch = vigil__nn_numel(mp->s.nb, mp->s.bd), idx[VIGIL_NN_MAX_DIMS] = {0};
    int64_t M = mp->s.M, N = mp->s.N, K = mp->s.K;
    /* a - zp[row], b - zp[column] as s16 (in [-255, 255]); rows of C summed
     * in int64, one element of A over a row of B at a time */
    int64_t *acc = e->scratch;
    int16_t *aq = (int16_t *)(acc + N), *bq = aq + mp->an;
    for (int64_t t = 0; t < mp->an; t++) aq[t] = (int16_t)(qget(a, t) - zp_at(za, K ? t / K % M : 0));
    for (int64_t t = 0; t < mp->bn; t++) bq[t] = (int16_t)(qget(b, t) - zp_at(zb, t % N));
    for (int64_t t = 0; t < nbatch; t++) {
        int64_t oa = 0, ob = 0;
        for (int d = 0; d < mp->s.nb; d++) oa += idx[d] * mp->s.sa[d], ob += idx[d] * mp->s.sb[d];
        const int16_t *ab = aq + oa * M * K, *bb = bq + ob * K * N;
        for (int64_t i = 0; i < M; i++) {
            memset(acc, 0, sizeof(int64_t) * (size_t)N);
            for (int64_t k = 0; k < K; k++) {
                int32_t av = ab[i * K + k];
                const int16_t *br = bb + k * N;
                if (av)
                    for (int64_t j = 0; j < N; j++) acc[j] += av * br[j];
            }
            int64_t o = t * M * N + i * N;
            if (mp->qlinear) {
                int64_t lo = qmin(y->dtype), hi = qmax(y->dtype), yzp = zp_at(yz, 0);
                double ysc = (double)sc_at(ys, 0), asc = (double)sc_at(as, i);
                for (int64_t j = 0; j < N; j++)
                    qset(y, o + j, requant((double)acc[j] * (asc * (double)sc_at(bs, j) / ysc), yzp, lo, hi));
            } else {
                for (int64_t j = 0; j < N; j++) ((int32_t *)y->data)[o + j] = (int32_t)(uint32_t)acc[j]; /* wraps */
            }
        }
        for (int d = mp->s.nb - 1; d >= 0; d--) {
            if (++idx[d] < mp->s.bd[d]) break;
            idx[d] = 0;
        }
    }
    return VIGIL_OK;
}

/* ---- ConvInteger / QLinearConv -------------------------------------------------------- */

typedef struct qc_params {
    nn_win_t w;
    int64_t M, group, Cg, Mg;
    int64_t xn, wn; /* elements of x and w: scratch holds both as s16 q - zp */
    int qlinear; /* QLinearConv: x, xs, xzp, w, ws, wzp, ys, yzp, B */
} qc_params_t;

static vigil_err_t qc_prepare(nn_prep_t *p)
{
    qc_params_t *cp = p->params;
    cp->qlinear = !strcmp(p->node->op_type, "QLinearConv");
    const vigil_nn_tensor_t *x = p->in[0], *wt = p->in[cp->qlinear ? 3 : 1];
    if (!wt) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "no weight input");
    if (!is_q8(x->dtype) || !is_q8(wt->dtype))
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "x is %s and w %s, want uint8 or int8",
                                  vigil_nn_dtype_name(x->dtype), vigil_nn_dtype_name(wt->dtype));
    if (x->ndim != 3 && x->ndim != 4)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "%d spatial dims (1 or 2 supported)", x->ndim - 2);
    if (wt->ndim != x->ndim)
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "weight rank %d, input rank %d", wt->ndim, x->ndim);
    int64_t kk[2] = {wt->ndim == 4 ? wt->dims[2] : 1, wt->dims[wt->ndim - 1]};
    if (wt->ndim == 3) kk[0] = kk[1];
    vigil_err_t err = vigil__nn_win_init(p, x, kk, 0, &cp->w);
    if (err) return err;
    const int64_t *ks;
    size_t nks = vigil__nn_attr_ints(p->node, "kernel_shape", &ks);
    if (nks && (ks[nks - 1] != cp->w.kw || (nks == 2 && ks[0] != cp->w.kh)))
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "attribute kernel_shape does not match the weights");
    if (cp->w.OH < 1 || cp->w.OW < 1) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "output would be empty");
    cp->group = vigil__nn_attr_int(p->node, "group", 1);
    cp->M = wt->dims[0];
    if (cp->group < 1 || cp->w.C % cp->group || cp->M % cp->group || wt->dims[1] * cp->group != cp->w.C)
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID,
                                  "attribute group %lld does not fit %lld input and %lld output channels",
                                  (long long)cp->group, (long long)cp->w.C, (long long)cp->M);
    cp->Cg = cp->w.C / cp->group;
    cp->Mg = cp->M / cp->group;
    vigil_nn_tensor_t *o = p->out[0];
    if (cp->qlinear) {
        const vigil_nn_tensor_t *yz = p->in[7], *b = p->in[8];
        if (!yz || !is_q8(yz->dtype))
            return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input 7 (y zero point) must be uint8 or int8");
        if ((err = check_qparams(p, 1, 2, x->dtype, 0)) || (err = check_qparams(p, 4, 5, wt->dtype, cp->M)) ||
            (err = check_qparams(p, 6, 7, yz->dtype, 0)))
            return err;
        if (b && (b->dtype != VIGIL_NN_INT32 || b->ndim != 1 || b->dims[0] != cp->M))
            return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input 8 (bias) must be int32 [%lld]", (long long)cp->M);
        o->dtype = yz->dtype;
    } else {
        const vigil_nn_tensor_t *zx = p->in[2], *zw = p->in[3];
        if (zx && (zx->dtype != x->dtype || vigil_nn_tensor_numel(zx) != 1))
            return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input 2 (x zero point) must be one %s",
                                      vigil_nn_dtype_name(x->dtype));
        if (zw && (zw->dtype != wt->dtype ||
                   !(vigil_nn_tensor_numel(zw) == 1 || (zw->ndim == 1 && zw->dims[0] == cp->M))))
            return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input 3 (w zero point) must be %s, one element or [M]",
                                      vigil_nn_dtype_name(wt->dtype));
        o->dtype = VIGIL_NN_INT32;
    }
    cp->xn = vigil_nn_tensor_numel(x);
    cp->wn = vigil_nn_tensor_numel(wt);
    p->scratch_bytes = sizeof(int64_t) * (size_t)(cp->w.OH * cp->w.OW) + sizeof(int16_t) * (size_t)(cp->xn + cp->wn);
    vigil__nn_conv_out_dims(&cp->w, cp->M, o);
    return VIGIL_OK;
}

/* Direct convolution of (x - xzp) with (w - wzp[m]), zero outside x (so
 * padding is the zero point, as ONNX asks); both differences are first
 * written to scratch as s16 (in [-255, 255]), products summed in an int64
 * plane per output channel, one weight tap over a row of outputs at a
 * time (the range of output columns whose tap is inside x). */
static vigil_err_t qc_run(nn_exec_t *e)
{
    const qc_params_t *cp = e->params;
    const vigil_nn_tensor_t *x = e->in[0], *xs = NULL, *zx = e->in[2], *wt, *ws = NULL, *zw, *ys = NULL,
                            *yz = NULL, *b = NULL;
    if (cp->qlinear) {
        static const int sc[] = {1, 4, 6};
        vigil_err_t err = run_check(e, sc, 3);
        if (err) return err;
        xs = e->in[1], wt = e->in[3], ws = e->in[4], zw = e->in[5], ys = e->in[6], yz = e->in[7], b = e->in[8];
    } else {
        wt = e->in[1], zw = e->in[3];
    }
    vigil_nn_tensor_t *y = e->out[0];
    const nn_win_t *w = &cp->w;
    int64_t xzp = zp_at(zx, 0), HW = w->H * w->W, OHW = w->OH * w->OW, khw = w->kh * w->kw;
    int64_t K = cp->Cg * khw;
    int64_t *acc = e->scratch;
    int16_t *xq = (int16_t *)(acc + OHW), *wq = xq + cp->xn;
    for (int64_t i = 0; i < cp->xn; i++) xq[i] = (int16_t)(qget(x, i) - xzp);
    for (int64_t m = 0; m < cp->M; m++) {
        int64_t wzp = zp_at(zw, m);
        for (int64_t k = 0; k < K; k++) wq[m * K + k] = (int16_t)(qget(wt, m * K + k) - wzp);
    }
    for (int64_t n = 0; n < w->N; n++)
        for (int64_t m = 0; m < cp->M; m++) {
            int64_t g = m / cp->Mg;
            memset(acc, 0, sizeof(int64_t) * (size_t)OHW);
            for (int64_t c = 0; c < cp->Cg; c++) {
                const int16_t *xp = xq + (n * w->C + g * cp->Cg + c) * HW, *wp = wq + (m * cp->Cg + c) * khw;
                for (int64_t i = 0; i < w->kh; i++)
                    for (int64_t j = 0; j < w->kw; j++) {
                        int32_t wv = wp[i * w->kw + j];
                        if (!wv) continue;
                        /* output columns whose tap column iw = ow * sw + off is in [0, W) */
                        int64_t off = j * w->dw - w->pl, lo = off >= 0 ? 0 : (-off + w->sw - 1) / w->sw;
                        int64_t hi = w->W - 1 - off < 0 ? 0 : (w->W - 1 - off) / w->sw + 1;
                        if (hi > w->OW) hi = w->OW;
                        if (lo >= hi) continue;
                        for (int64_t oh = 0; oh < w->OH; oh++) {
                            int64_t ih = oh * w->sh - w->pt + i * w->dh;
                            if (ih < 0 || ih >= w->H) continue;
                            const int16_t *xr = xp + ih * w->W;
                            int64_t *ar = acc + oh * w->OW;
                            for (int64_t ow = lo; ow < hi; ow++) ar[ow] += wv * xr[ow * w->sw + off];
                        }
                    }
            }
            double mul = 0;
            int64_t yzp = 0, lo = 0, hi = 0;
            if (cp->qlinear) {
                mul = (double)sc_at(xs, 0) * (double)sc_at(ws, m) / (double)sc_at(ys, 0);
                yzp = zp_at(yz, 0), lo = qmin(y->dtype), hi = qmax(y->dtype);
            }
            int64_t base = (n * cp->M + m) * OHW;
            for (int64_t o = 0; o < OHW; o++) {
                int64_t a = acc[o];
                if (cp->qlinear) {
                    if (b) a += ((const int32_t *)b->data)[m];
                    qset(y, base + o, requant((double)a * mul, yzp, lo, hi));
                } else {
                    ((int32_t *)y->data)[base + o] = (int32_t)(uint32_t)a; /* ONNX: int32, wraps */
                }
            }
        }
    return VIGIL_OK;
}

static const nn_op_t ops[] = {
    {"QuantizeLinear", quantize_prepare, quantize_run, sizeof(ql_params_t), 0, 2, 3},
    {"DequantizeLinear", dequantize_prepare, dequantize_run, sizeof(ql_params_t), 0, 2, 3},
    {"DynamicQuantizeLinear", dynq_prepare, dynq_run, 0, 0, 1, 1},
    {"MatMulInteger", qmm_prepare, qmm_run, sizeof(qmm_params_t), 0, 2, 4},
    {"QLinearMatMul", qmm_prepare, qmm_run, sizeof(qmm_params_t), 0, 8, 8},
    {"ConvInteger", qc_prepare, qc_run, sizeof(qc_params_t), 0, 2, 4},
    {"QLinearConv", qc_prepare, qc_run, sizeof(qc_params_t), 0, 8, 9},
};

const nn_op_t *const vigil__nn_ops_quant_linear[] = {&ops[0], &ops[1], &ops[2], &ops[3],
                                                       &ops[4], &ops[5], &ops[6], NULL};
