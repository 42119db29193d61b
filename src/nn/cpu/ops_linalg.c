/* MatMul (numpy batch broadcasting, 1-D operands), Gemm and inference-mode
 * BatchNormalization / InstanceNormalization, on float32. */
#include <math.h>
#include <string.h>

#include "nn/cpu/kernels.h"
#include "nn/cpu/matmul_shape.h"

vigil_err_t vigil__nn_matmul_shape(nn_prep_t *p, const vigil_nn_tensor_t *a, const vigil_nn_tensor_t *b,
                                   nn_mm_shape_t *s, vigil_nn_tensor_t *o)
{
    if (a->ndim < 1 || b->ndim < 1) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "scalar operand");
    int64_t ad[VIGIL_NN_MAX_DIMS], bdm[VIGIL_NN_MAX_DIMS];
    int an = a->ndim, bn = b->ndim;
    memcpy(ad, a->dims, sizeof ad);
    memcpy(bdm, b->dims, sizeof bdm);
    if (an == 1) { ad[1] = ad[0]; ad[0] = 1; an = 2; }
    if (bn == 1) { bdm[1] = 1; bn = 2; }
    s->M = ad[an - 2];
    s->K = ad[an - 1];
    s->N = bdm[bn - 1];
    if (bdm[bn - 2] != s->K)
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "inner dims %lld and %lld differ", (long long)s->K,
                                  (long long)bdm[bn - 2]);
    if (vigil__nn_broadcast_shape(an - 2, ad, bn - 2, bdm, &s->nb, s->bd) < 0)
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "batch dims do not broadcast");
    vigil__nn_broadcast_strides(an - 2, ad, s->nb, s->bd, s->sa);
    vigil__nn_broadcast_strides(bn - 2, bdm, s->nb, s->bd, s->sb);
    o->ndim = 0;
    for (int i = 0; i < s->nb; i++) o->dims[o->ndim++] = s->bd[i];
    if (a->ndim > 1) o->dims[o->ndim++] = s->M;
    if (b->ndim > 1) o->dims[o->ndim++] = s->N;
    return VIGIL_OK;
}

typedef nn_mm_shape_t mm_params_t;

static vigil_err_t matmul_prepare(nn_prep_t *p)
{
    const vigil_nn_tensor_t *a = p->in[0], *b = p->in[1];
    if (!b || a->dtype != VIGIL_NN_FLOAT32 || b->dtype != VIGIL_NN_FLOAT32)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "dtype %s", vigil_nn_dtype_name(a->dtype));
    p->out[0]->dtype = VIGIL_NN_FLOAT32;
    return vigil__nn_matmul_shape(p, a, b, p->params, p->out[0]);
}

static vigil_err_t matmul_run(nn_exec_t *e)
{
    const mm_params_t *mp = e->params;
    const float *a = e->in[0]->data, *b = e->in[1]->data;
    float *y = e->out[0]->data;
    int64_t nbatch = vigil__nn_numel(mp->nb, mp->bd), idx[VIGIL_NN_MAX_DIMS] = {0};
    for (int64_t i = 0; i < nbatch; i++) {
        int64_t oa = 0, ob = 0;
        for (int d = 0; d < mp->nb; d++) oa += idx[d] * mp->sa[d], ob += idx[d] * mp->sb[d];
        /* B a constant [K,N] packed at load (ob is then 0): no packing per call */
        nn_gemm_ext_t ext = {.b_packed = e->node->packed_w};
        if (!e->node->packed_w ||
            vigil__nn_sgemm_ex(0, 0, mp->M, mp->N, mp->K, a + oa * mp->M * mp->K, mp->K, b, mp->N,
                               y + i * mp->M * mp->N, mp->N, 0, &ext, e->pool))
            vigil__nn_sgemm(0, 0, mp->M, mp->N, mp->K, a + oa * mp->M * mp->K, mp->K,
                            b + ob * mp->K * mp->N, mp->N, y + i * mp->M * mp->N, mp->N, 0, e->pool);
        for (int d = mp->nb - 1; d >= 0; d--) {
            if (++idx[d] < mp->bd[d]) break;
            idx[d] = 0;
        }
    }
    return VIGIL_OK;
}

typedef struct gemm_params {
    int ta, tb;
    int64_t M, N, K;
    float alpha, beta;
} gemm_params_t;

static vigil_err_t gemm_prepare(nn_prep_t *p)
{
    gemm_params_t *gp = p->params;
    const vigil_nn_tensor_t *a = p->in[0], *b = p->in[1], *c = p->nin > 2 ? p->in[2] : NULL;
    if (!b || a->dtype != VIGIL_NN_FLOAT32 || b->dtype != VIGIL_NN_FLOAT32)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "dtype %s", vigil_nn_dtype_name(a->dtype));
    if (a->ndim != 2 || b->ndim != 2) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "A and B must be 2-D");
    gp->ta = (int)vigil__nn_attr_int(p->node, "transA", 0);
    gp->tb = (int)vigil__nn_attr_int(p->node, "transB", 0);
    gp->alpha = vigil__nn_attr_float(p->node, "alpha", 1);
    gp->beta = vigil__nn_attr_float(p->node, "beta", 1);
    gp->M = gp->ta ? a->dims[1] : a->dims[0];
    gp->K = gp->ta ? a->dims[0] : a->dims[1];
    gp->N = gp->tb ? b->dims[0] : b->dims[1];
    if ((gp->tb ? b->dims[1] : b->dims[0]) != gp->K) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "inner dims differ");
    int64_t od[2] = {gp->M, gp->N}, bd[VIGIL_NN_MAX_DIMS];
    int nd;
    if (c && (c->dtype != VIGIL_NN_FLOAT32 || vigil__nn_broadcast_shape(2, od, c->ndim, c->dims, &nd, bd) < 0 ||
              nd != 2 || bd[0] != gp->M || bd[1] != gp->N))
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "C does not broadcast to [M,N]");
    p->out[0]->dtype = VIGIL_NN_FLOAT32;
    p->out[0]->ndim = 2;
    p->out[0]->dims[0] = gp->M;
    p->out[0]->dims[1] = gp->N;
    return VIGIL_OK;
}

static vigil_err_t gemm_run(nn_exec_t *e)
{
    const gemm_params_t *gp = e->params;
    const vigil_nn_tensor_t *a = e->in[0], *b = e->in[1], *c = e->nin > 2 ? e->in[2] : NULL;
    float *y = e->out[0]->data;
    vigil__nn_sgemm(gp->ta, gp->tb, gp->M, gp->N, gp->K, a->data, a->dims[1], b->data, b->dims[1],
                    y, gp->N, 0, e->pool);
    int64_t st[2] = {0, 0}, od[2] = {gp->M, gp->N};
    if (c) vigil__nn_broadcast_strides(c->ndim, c->dims, 2, od, st);
    for (int64_t i = 0; i < gp->M; i++)
        for (int64_t j = 0; j < gp->N; j++) {
            float v = gp->alpha * y[i * gp->N + j];
            if (c) v += gp->beta * ((const float *)c->data)[i * st[0] + j * st[1]];
            y[i * gp->N + j] = v;
        }
    return VIGIL_OK;
}

/* BatchNormalization (inference) and InstanceNormalization. */
static vigil_err_t norm_prepare(nn_prep_t *p)
{
    const vigil_nn_tensor_t *x = p->in[0];
    int bn = !strcmp(p->node->op_type, "BatchNormalization");
    if (x->dtype != VIGIL_NN_FLOAT32 || x->ndim < 2)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "dtype %s rank %d", vigil_nn_dtype_name(x->dtype), x->ndim);
    if (bn && vigil__nn_attr_int(p->node, "training_mode", 0))
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "attribute training_mode");
    for (int j = 1; j < p->nout; j++)
        if (p->node->outputs[j] >= 0) return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "training outputs");
    int need = bn ? 5 : 3;
    if (p->nin < need) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "needs %d inputs", need);
    for (int j = 1; j < need; j++)
        if (!p->in[j] || p->in[j]->dtype != VIGIL_NN_FLOAT32 || vigil_nn_tensor_numel(p->in[j]) != x->dims[1])
            return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input %d must be float32 [%lld]", j, (long long)x->dims[1]);
    p->out[0]->dtype = x->dtype;
    p->out[0]->ndim = x->ndim;
    memcpy(p->out[0]->dims, x->dims, sizeof x->dims);
    return VIGIL_OK;
}

static vigil_err_t norm_run(nn_exec_t *e)
{
    const vigil_nn_tensor_t *x = e->in[0];
    int bn = !strcmp(e->node->op_type, "BatchNormalization");
    float eps = vigil__nn_attr_float(e->node, "epsilon", 1e-5f);
    int64_t N = x->dims[0], C = x->dims[1], S = vigil__nn_numel(x->ndim - 2, x->dims + 2);
    const float *xd = x->data, *sc = e->in[1]->data, *bi = e->in[2]->data;
    float *y = e->out[0]->data;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            const float *xs = xd + (n * C + c) * S;
            float *ys = y + (n * C + c) * S;
            double mean, var;
            if (bn) {
                mean = ((const float *)e->in[3]->data)[c];
                var = ((const float *)e->in[4]->data)[c];
            } else {
                double s = 0, s2 = 0;
                for (int64_t i = 0; i < S; i++) s += xs[i];
                mean = S ? s / S : 0;
                for (int64_t i = 0; i < S; i++) s2 += (xs[i] - mean) * (xs[i] - mean);
                var = S ? s2 / S : 0;
            }
            float k = (float)(sc[c] / sqrt(var + eps)), b = (float)(bi[c] - mean * k);
            for (int64_t i = 0; i < S; i++) ys[i] = xs[i] * k + b;
        }
    return VIGIL_OK;
}

static const nn_op_t ops[] = {
    {"MatMul", matmul_prepare, matmul_run, sizeof(mm_params_t), 0, 2, 2},
    {"Gemm", gemm_prepare, gemm_run, sizeof(gemm_params_t), 0, 2, 3},
    {"BatchNormalization", norm_prepare, norm_run, 0, 0, 5, 5},
    {"InstanceNormalization", norm_prepare, norm_run, 0, 0, 3, 3},
};

const nn_op_t *const vigil__nn_ops_linalg[] = {&ops[0], &ops[1], &ops[2], &ops[3], NULL};
