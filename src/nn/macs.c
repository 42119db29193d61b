/* Multiply-accumulate counts from a planned graph (see macs.h). */
#include <string.h>

#include "nn/macs.h"

static int64_t numel(const vigil_nn_tensor_t *t)
{
    return t->ndim < 0 ? 0 : vigil__nn_numel(t->ndim, t->dims);
}

int64_t vigil__nn_node_macs(const nn_graph_t *g, const nn_plan_t *p, int i)
{
    const nn_node_t *n = &g->nodes[i];
    if (n->dead || (p->folded && p->folded[i]) || n->ninputs < 2 || n->noutputs < 1 || n->inputs[0] < 0 ||
        n->inputs[1] < 0 || n->outputs[0] < 0)
        return 0;
    const vigil_nn_tensor_t *x = &p->t[n->inputs[0]], *w = &p->t[n->inputs[1]], *y = &p->t[n->outputs[0]];
    /* VigilQConv: a Conv with INT8 weights (the same multiply-adds) */
    if ((!strcmp(n->op_type, "Conv") || !strcmp(n->op_type, "VigilQConv")) && w->ndim >= 3) {
        int64_t per = w->dims[1];
        for (int k = 2; k < w->ndim; k++) per *= w->dims[k];
        return numel(y) * per;
    }
    if (!strcmp(n->op_type, "ConvTranspose") && w->ndim >= 3) {
        int64_t per = w->dims[1];
        for (int k = 2; k < w->ndim; k++) per *= w->dims[k];
        return numel(x) * per;
    }
    if (!strcmp(n->op_type, "MatMul") && x->ndim >= 1)
        return numel(y) * x->dims[x->ndim - 1];
    if (!strcmp(n->op_type, "Gemm") && x->ndim == 2)
        return numel(y) * x->dims[vigil__nn_attr_int(n, "transA", 0) ? 0 : 1];
    return 0;
}

int64_t vigil__nn_plan_macs(const nn_graph_t *g, const nn_plan_t *p)
{
    int64_t s = 0;
    for (int i = 0; i < g->nnodes; i++) s += vigil__nn_node_macs(g, p, i);
    return s;
}
