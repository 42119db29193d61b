/* VigilQConv: a Conv whose weights were quantized by `vigil models quantize`
 * (src/nn/quant.c rewrites Conv nodes into it when it applies a quantized
 * model file). Float in, float out: the input is quantized to u8 levels
 * with the calibrated per-tensor scale and zero point, the convolution runs
 * on the INT8 kernels (qconv.h), and dequantization, bias, the fused
 * activation and affine run in the row epilogue.
 *
 * Inputs: 0 x float [N,C,H,W]; 1 weights int8 [M,C/group,kh,kw]; 2 bias
 * float [M] (optional); 3 weight scales float [M]; 4 input quantization
 * float [2] = (scale, zero point). Attributes as Conv's. node->packed_w
 * holds the weights packed for the GEMM (vigil__nn_qpack_weights: s16
 * pairs, s8 quads for VNNI, row sums) unless depthwise. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/cpu/qconv.h"

typedef struct qconv_params {
    nn_win_t w;
    int64_t M, group;
} qconv_params_t;

static vigil_err_t qconv_prepare(nn_prep_t *p)
{
    qconv_params_t *cp = p->params;
    const vigil_nn_tensor_t *x = p->in[0], *wt = p->in[1], *b = p->in[2], *ws = p->in[3], *qp = p->in[4];
    if (!wt || !ws || !qp) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "missing quantization inputs");
    if (x->dtype != VIGIL_NN_FLOAT32 || x->ndim != 4 || wt->dtype != VIGIL_NN_INT8 || wt->ndim != 4)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "input %s rank %d, weights %s rank %d",
                                  vigil_nn_dtype_name(x->dtype), x->ndim, vigil_nn_dtype_name(wt->dtype), wt->ndim);
    int64_t kk[2] = {wt->dims[2], wt->dims[3]};
    vigil_err_t err = vigil__nn_win_init(p, x, kk, 0, &cp->w);
    if (err) return err;
    nn_win_t *w = &cp->w;
    w->kh = kk[0];
    w->kw = kk[1];
    w->OH = (w->H + w->pt + w->pb - ((w->kh - 1) * w->dh + 1)) / w->sh + 1;
    w->OW = (w->W + w->pl + w->pr - ((w->kw - 1) * w->dw + 1)) / w->sw + 1;
    if (w->OH < 1 || w->OW < 1) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "output would be empty");
    cp->group = vigil__nn_attr_int(p->node, "group", 1);
    cp->M = wt->dims[0];
    if (cp->group < 1 || w->C % cp->group || cp->M % cp->group || wt->dims[1] * cp->group != w->C)
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "attribute group %lld does not fit %lld input and %lld output channels",
                                  (long long)cp->group, (long long)w->C, (long long)cp->M);
    if (wt->dims[1] * w->kh * w->kw > NN_QCONV_K_MAX)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "K of %lld exceeds %d", (long long)(wt->dims[1] * w->kh * w->kw),
                                  NN_QCONV_K_MAX);
    if (b && (b->dtype != VIGIL_NN_FLOAT32 || vigil_nn_tensor_numel(b) != cp->M))
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "bias must be float32 [%lld]", (long long)cp->M);
    if (ws->dtype != VIGIL_NN_FLOAT32 || vigil_nn_tensor_numel(ws) != cp->M || qp->dtype != VIGIL_NN_FLOAT32 ||
        vigil_nn_tensor_numel(qp) != 2)
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "weight scales must be float32 [%lld], input quantization float32 [2]",
                                  (long long)cp->M);
    p->scratch_bytes = sizeof(int16_t) * (size_t)(w->N * w->C * w->H * w->W);
    vigil_nn_tensor_t *o = p->out[0];
    o->dtype = VIGIL_NN_FLOAT32;
    o->ndim = 4;
    o->dims[0] = w->N;
    o->dims[1] = cp->M;
    o->dims[2] = w->OH;
    o->dims[3] = w->OW;
    return VIGIL_OK;
}

static vigil_err_t qconv_run(nn_exec_t *e)
{
    const qconv_params_t *cp = e->params;
    const float *qp = e->in[4]->data;
    nn_qconv_args_t a = {
        .w = cp->w,
        .M = cp->M,
        .group = cp->group,
        .x = e->in[0]->data,
        .y = e->out[0]->data,
        .wq = e->in[1]->data,
        .a_packed = e->node->packed_w,
        .wscale = e->in[3]->data,
        .bias = e->in[2] ? e->in[2]->data : NULL,
        .xscale = qp[0],
        .xzp = (int)qp[1],
        .xq = e->scratch,
    };
    vigil__nn_epi_from_node(&a.epi, e->node);
    if (vigil__nn_qconv(&a, e->pool)) {
        snprintf(e->errstr, e->errstr_size, "node \"%s\" (VigilQConv): out of memory", e->node->name ? e->node->name : "");
        return VIGIL_ERR_NOMEM;
    }
    return VIGIL_OK;
}

const nn_op_t vigil__nn_op_qconv = {"VigilQConv", qconv_prepare, qconv_run, sizeof(qconv_params_t), 0, 2, 5};
