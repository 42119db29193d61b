/* vigil-nn graph passes: topological order (with cycle detection), constant
 * folding, Conv fusion and dead-node elimination.
 *
 * Passes rewrite the graph in place; removed nodes are marked dead rather
 * than erased so value->producer indices stay valid. Fusion folds
 * BatchNormalization and a per-channel Add into the Conv's weights and bias
 * (after rewriting paddle2onnx's x*Clip(x+3,0,6)/6 into HardSwish)
 * (new constant values: weights may be shared) and absorbs one activation
 * into node->act, which the conv kernel applies on its output. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/kernels.h"
#include "nn/plan.h"

vigil_err_t vigil__nn_pass_toposort(nn_graph_t *g, char *errstr, size_t errstr_size)
{
    int n = g->nnodes;
    int *indeg = calloc((size_t)n + 1, sizeof(int)), *order = malloc(sizeof(int) * ((size_t)n + 1));
    int *remap = malloc(sizeof(int) * ((size_t)n + 1));
    /* consumers as CSR: for each node, the nodes reading its outputs */
    int *cnt = calloc((size_t)n + 2, sizeof(int)), *adj = NULL;
    nn_node_t *sorted = NULL;
    vigil_err_t err = VIGIL_ERR_NOMEM;
    int nadj = 0, head = 0, tail = 0;
    if (!indeg || !order || !remap || !cnt) goto fail;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < g->nodes[i].ninputs; j++) {
            int v = g->nodes[i].inputs[j];
            if (v >= 0 && g->values[v].producer >= 0) {
                cnt[g->values[v].producer + 1]++;
                indeg[i]++;
                nadj++;
            }
        }
    for (int i = 0; i < n; i++) cnt[i + 1] += cnt[i];
    adj = malloc(sizeof(int) * ((size_t)nadj + 1));
    int *fill = calloc((size_t)n + 1, sizeof(int));
    if (!adj || !fill) {
        free(fill);
        goto fail;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < g->nodes[i].ninputs; j++) {
            int v = g->nodes[i].inputs[j];
            if (v >= 0 && g->values[v].producer >= 0) {
                int p = g->values[v].producer;
                adj[cnt[p] + fill[p]++] = i;
            }
        }
    free(fill);
    for (int i = 0; i < n; i++)
        if (!indeg[i]) order[tail++] = i;
    while (head < tail) {
        int u = order[head++];
        for (int k = cnt[u]; k < cnt[u + 1]; k++)
            if (--indeg[adj[k]] == 0) order[tail++] = adj[k];
    }
    if (tail < n) {
        int culprit = 0;
        while (culprit < n && !indeg[culprit]) culprit++;
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                           "graph has a cycle through node \"%s\" (op %s)",
                           g->nodes[culprit].name, g->nodes[culprit].op_type);
        goto fail;
    }
    sorted = malloc(sizeof *sorted * ((size_t)n + 1));
    if (!sorted) goto fail;
    for (int i = 0; i < n; i++) {
        sorted[i] = g->nodes[order[i]];
        remap[order[i]] = i;
    }
    for (int v = 0; v < g->nvalues; v++)
        if (g->values[v].producer >= 0) g->values[v].producer = remap[g->values[v].producer];
    free(g->nodes);
    g->nodes = sorted;
    g->nodes_cap = n + 1;
    err = VIGIL_OK;
    goto done;
fail:
    if (err == VIGIL_ERR_NOMEM) vigil_seterr(errstr, errstr_size, err, "nn: out of memory");
done:
    free(indeg);
    free(order);
    free(remap);
    free(cnt);
    free(adj);
    return err;
}

/* Runs node ni on constant inputs; its outputs become constants. */
static vigil_err_t fold_one(nn_graph_t *g, int ni, char *errstr, size_t errstr_size)
{
    nn_node_t *n = &g->nodes[ni];
    int nin = vigil__nn_in_slots(n), nout = n->noutputs;
    vigil_nn_tensor_t tin[nin + 1], tout[nout + 1], *in[nin + 1], *out[nout + 1];
    void *params = NULL, *scratch = NULL;
    vigil_err_t err = VIGIL_OK;
    memset(tout, 0, sizeof tout);
    for (int j = 0; j < nin; j++) {
        int v = j < n->ninputs ? n->inputs[j] : -1;
        in[j] = NULL;
        if (v < 0) continue;
        tin[j].dtype = g->values[v].dtype;
        tin[j].ndim = g->values[v].ndim;
        memcpy(tin[j].dims, g->values[v].dims, sizeof tin[j].dims);
        tin[j].data = g->values[v].data;
        in[j] = &tin[j];
    }
    for (int j = 0; j < nout; j++) out[j] = &tout[j];
    if (n->op->params_size && !(params = calloc(1, n->op->params_size))) goto nomem;
    nn_prep_t p = {.graph = g, .node = n, .in = in, .nin = nin, .out = out, .nout = nout,
                   .params = params, .errstr = errstr, .errstr_size = errstr_size};
    err = n->op->prepare(&p);
    if (err == VIGIL_ERR_AGAIN) err = VIGIL_ERR_INVALID;
    if (err) goto done;
    for (int j = 0; j < nout; j++) {
        size_t b = vigil__nn_bytes(&tout[j]);
        if (tout[j].ndim < 0 || tout[j].ndim > VIGIL_NN_MAX_DIMS || !vigil_nn_dtype_size(tout[j].dtype)) {
            err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                               "node \"%s\" (op %s): invalid output %d", n->name, n->op_type, j);
            goto done;
        }
        if (!(tout[j].data = calloc(1, b ? b : 1))) goto nomem;
    }
    if (p.scratch_bytes && !(scratch = malloc(p.scratch_bytes))) goto nomem;
    nn_exec_t e = {.node = n, .params = params, .in = in, .nin = nin, .out = out, .nout = nout,
                   .scratch = scratch, .errstr = errstr, .errstr_size = errstr_size};
    if ((err = n->op->run(&e))) goto done;
    for (int j = 0; j < nout; j++) {
        int v = n->outputs[j];
        if (v < 0) continue;
        nn_value_t *val = &g->values[v];
        val->dtype = tout[j].dtype;
        val->ndim = tout[j].ndim;
        memcpy(val->dims, tout[j].dims, sizeof val->dims);
        val->data = tout[j].data;
        val->producer = -1;
        tout[j].data = NULL;
    }
    n->dead = 1;
    goto done;
nomem:
    err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "nn: out of memory folding \"%s\"",
                       n->name);
done:
    for (int j = 0; j < nout; j++) free(tout[j].data);
    free(params);
    free(scratch);
    return err;
}

vigil_err_t vigil__nn_pass_fold_constants(nn_graph_t *g, char *errstr, size_t errstr_size)
{
    for (int i = 0; i < g->nnodes; i++) {
        nn_node_t *n = &g->nodes[i];
        if (n->dead) continue;
        int all = 1;
        for (int j = 0; j < n->ninputs && all; j++)
            if (n->inputs[j] >= 0 && !g->values[n->inputs[j]].data) all = 0;
        if (!all) continue;
        vigil_err_t err = fold_one(g, i, errstr, errstr_size);
        if (err) return err;
    }
    return VIGIL_OK;
}

/* ---- fusion ------------------------------------------------------------------------------ */

static int is_graph_output(const nn_graph_t *g, int v)
{
    for (int i = 0; i < g->noutputs; i++)
        if (g->outputs[i] == v) return 1;
    return 0;
}

/* Live consumers of value v: count, and the first two in *a, *b. */
static int consumers(const nn_graph_t *g, int v, int *a, int *b)
{
    int c = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const nn_node_t *n = &g->nodes[i];
        if (n->dead) continue;
        int uses = 0;
        for (int j = 0; j < n->ninputs; j++) uses |= n->inputs[j] == v;
        if (!uses) continue;
        if (c == 0) *a = i;
        if (c == 1) *b = i;
        c++;
    }
    return c;
}

static const float *const_f32(const nn_graph_t *g, const nn_node_t *n, int j, int64_t want)
{
    if (j >= n->ninputs || n->inputs[j] < 0) return NULL;
    const nn_value_t *v = &g->values[n->inputs[j]];
    if (!v->data || v->dtype != VIGIL_NN_FLOAT32) return NULL;
    if (want >= 0 && vigil__nn_numel(v->ndim, v->dims) != want) return NULL;
    return v->data;
}

/* Adds a float constant value of the given shape; returns its index or -1. */
static int add_const(nn_graph_t *g, const char *base, const char *suffix, int ndim,
                     const int64_t *dims, float **data)
{
    char name[256];
    int64_t shape[VIGIL_NN_MAX_DIMS];
    if (ndim < 0 || ndim > VIGIL_NN_MAX_DIMS) return -1;
    /* dims and base may point into g->values / g->nodes, which adding a value
     * can move: copy them first */
    memcpy(shape, dims, sizeof(int64_t) * (size_t)ndim);
    snprintf(name, sizeof name, "%s/%s", base, suffix);
    int v = vigil__nn_graph_add_value(g, name);
    if (v < 0) return -1;
    nn_value_t *val = &g->values[v];
    int64_t n = vigil__nn_numel(ndim, shape);
    val->data = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!val->data) return -1;
    val->dtype = VIGIL_NN_FLOAT32;
    val->ndim = ndim;
    memcpy(val->dims, shape, sizeof(int64_t) * (size_t)ndim);
    *data = val->data;
    return v;
}

/* Makes sure conv node ci has a bias input (zeros if absent); returns its data. */
static float *conv_bias(nn_graph_t *g, int ci, int64_t cout, const char *tag)
{
    nn_node_t *c = &g->nodes[ci];
    const float *old = const_f32(g, c, 2, cout);
    if (c->ninputs >= 3 && c->inputs[2] >= 0 && !old) return NULL;
    float *nb;
    int64_t dims[1] = {cout};
    int v = add_const(g, c->name, tag, 1, dims, &nb);
    if (v < 0) return NULL;
    c = &g->nodes[ci];
    for (int64_t i = 0; i < cout; i++) nb[i] = old ? old[i] : 0;
    if (c->ninputs < 3) {
        int *in = realloc(c->inputs, sizeof(int) * 3);
        if (!in) return NULL;
        c->inputs = in;
        c->inputs[2] = -1;
        c->ninputs = 3;
    }
    c->inputs[2] = v;
    return nb;
}

static int clip_bounds(const nn_graph_t *g, const nn_node_t *k, float *lo, float *hi);
static float const_scalar(const nn_graph_t *g, const nn_node_t *n, int j);
static int only_consumer(const nn_graph_t *g, int v, const char *op);

static void rewire(nn_graph_t *g, int ci, int ki)
{
    nn_node_t *c = &g->nodes[ci], *k = &g->nodes[ki];
    c->outputs[0] = k->outputs[0];
    g->values[c->outputs[0]].producer = ci;
    k->dead = 1;
}

/* TensorFlow's hard_swish on conv ci's output v (consumed by nodes a and
 * b): (v * c) * Relu6(v + 3), c = 1/6 as the model stores it (TF.js
 * float16: 0.166626), into the conv as NN_ACT_HARDSWISH_TF, which does the
 * same operations in the same order. Returns 1 when fused. */
static int fuse_tf_hardswish(nn_graph_t *g, int ci, int v, int a, int b)
{
    int ai = !strcmp(g->nodes[a].op_type, "Add") ? a : b, si = ai == a ? b : a;
    nn_node_t *add = &g->nodes[ai], *sc = &g->nodes[si];
    if (strcmp(add->op_type, "Add") || strcmp(sc->op_type, "Mul") || add->ninputs != 2 || sc->ninputs != 2) return 0;
    int ka = add->inputs[0] == v ? 1 : add->inputs[1] == v ? 0 : -1;
    int ks = sc->inputs[0] == v ? 1 : sc->inputs[1] == v ? 0 : -1;
    if (ka < 0 || ks < 0 || const_scalar(g, add, ka) != 3.0f) return 0;
    float c = const_scalar(g, sc, ks), lo, hi;
    if (!(fabsf(c - 1.0f / 6) < 1e-3f)) return 0;
    int ki = only_consumer(g, add->outputs[0], "Clip");
    if (ki < 0 || g->nodes[ki].inputs[0] != add->outputs[0] || !clip_bounds(g, &g->nodes[ki], &lo, &hi) ||
        lo != 0.0f || hi != 6.0f)
        return 0;
    int mi = only_consumer(g, g->nodes[ki].outputs[0], "Mul");
    if (mi < 0 || g->nodes[mi].ninputs != 2 || only_consumer(g, sc->outputs[0], "Mul") != mi) return 0;
    nn_node_t *cn = &g->nodes[ci];
    cn->act = NN_ACT_HARDSWISH_TF;
    cn->act_a = c;
    cn->act_b = 0;
    add->dead = g->nodes[ki].dead = sc->dead = 1;
    rewire(g, ci, mi);
    return 1;
}

static int fuse_step(nn_graph_t *g, int ci)
{
    nn_node_t *c = &g->nodes[ci];
    int v = c->outputs[0], a = -1, b = -1;
    if (v < 0 || is_graph_output(g, v)) return 0;
    int nc = consumers(g, v, &a, &b);
    const nn_value_t *wv = &g->values[c->inputs[1]];
    /* ConvTranspose: weights [Cin, Cout/group, kh, kw]; only BN (scaled
     * per output channel below), bias adds, the activation and the
     * affine after it fold into it */
    int convt = !strcmp(c->op_type, "ConvTranspose");
    int64_t group = vigil__nn_attr_int(c, "group", 1);
    int64_t cout = convt ? wv->dims[1] * group : wv->dims[0];
    if (convt && (group < 1 || wv->dims[0] % group)) return 0;
    if (nc == 2 && c->act == NN_ACT_NONE && !c->post && fuse_tf_hardswish(g, ci, v, a, b)) return 1;
    if (nc == 2 && c->act == NN_ACT_NONE) { /* x * HardSigmoid(x) = HardSwish */
        int h = !strcmp(g->nodes[a].op_type, "HardSigmoid") ? a : b, m = h == a ? b : a;
        nn_node_t *hn = &g->nodes[h], *mn = &g->nodes[m];
        int x1 = -1, x2 = -1;
        if (strcmp(hn->op_type, "HardSigmoid") || strcmp(mn->op_type, "Mul") || mn->ninputs != 2 ||
            is_graph_output(g, hn->outputs[0]) || consumers(g, hn->outputs[0], &x1, &x2) != 1)
            return 0;
        if (!((mn->inputs[0] == v && mn->inputs[1] == hn->outputs[0]) ||
              (mn->inputs[1] == v && mn->inputs[0] == hn->outputs[0])))
            return 0;
        c->act = NN_ACT_HARDSWISH;
        c->act_a = vigil__nn_attr_float(hn, "alpha", 0.2f);
        c->act_b = vigil__nn_attr_float(hn, "beta", 0.5f);
        hn->dead = 1;
        rewire(g, ci, m);
        return 1;
    }
    if (nc != 1) return 0;
    nn_node_t *k = &g->nodes[a];
    if (k->inputs[0] != v && strcmp(k->op_type, "Add") && strcmp(k->op_type, "Mul")) return 0;
    if (!strcmp(k->op_type, "BatchNormalization") && c->act == NN_ACT_NONE) {
        const float *sc = const_f32(g, k, 1, cout), *bi = const_f32(g, k, 2, cout),
                    *mean = const_f32(g, k, 3, cout), *var = const_f32(g, k, 4, cout);
        const float *w = const_f32(g, c, 1, -1);
        for (int j = 1; j < k->noutputs; j++)
            if (k->outputs[j] >= 0) return 0;
        if (!sc || !bi || !mean || !var || !w) return 0;
        float eps = vigil__nn_attr_float(k, "epsilon", 1e-5f);
        int64_t per = vigil__nn_numel(wv->ndim, wv->dims) / (cout ? cout : 1);
        float *nw;
        int wi = add_const(g, c->name, "bn_weight", wv->ndim, wv->dims, &nw);
        if (wi < 0) return -1;
        c = &g->nodes[ci];
        k = &g->nodes[a];
        w = const_f32(g, c, 1, -1);
        float *nb = conv_bias(g, ci, cout, "bn_bias");
        if (!nb) return -1;
        c = &g->nodes[ci];
        k = &g->nodes[a];
        wv = &g->values[c->inputs[1]]; /* adding values moved g->values */
        if (convt) { /* w[ci][m][..] scales with output channel (ci / Cg) * Mg + m */
            int64_t cin = wv->dims[0], mg = wv->dims[1], khw = per * cout / (cin * mg), cg = cin / group;
            for (int64_t ic = 0; ic < cin; ic++)
                for (int64_t m = 0; m < mg; m++) {
                    int64_t o = ic / cg * mg + m;
                    float s = sc[o] / sqrtf(var[o] + eps);
                    for (int64_t i = 0; i < khw; i++)
                        nw[(ic * mg + m) * khw + i] = w[(ic * mg + m) * khw + i] * s;
                }
            for (int64_t o = 0; o < cout; o++) {
                float s = sc[o] / sqrtf(var[o] + eps);
                nb[o] = (nb[o] - mean[o]) * s + bi[o];
            }
        } else {
            for (int64_t o = 0; o < cout; o++) {
                float s = sc[o] / sqrtf(var[o] + eps);
                for (int64_t i = 0; i < per; i++) nw[o * per + i] = w[o * per + i] * s;
                nb[o] = (nb[o] - mean[o]) * s + bi[o];
            }
        }
        c->inputs[1] = wi;
        rewire(g, ci, a);
        return 1;
    }
    if ((!strcmp(k->op_type, "Add") || !strcmp(k->op_type, "Mul")) && k->ninputs == 2 &&
        (c->act != NN_ACT_NONE || c->post)) {
        /* after the activation: a scalar affine epilogue */
        float x = const_scalar(g, k, k->inputs[0] == v ? 1 : 0);
        if (x != x) return 0;
        if (!c->post) c->post = 1, c->post_a = 1, c->post_b = 0;
        if (k->op_type[0] == 'M') c->post_a *= x, c->post_b *= x;
        else c->post_b += x;
        rewire(g, ci, a);
        return 1;
    }
    if (!strcmp(k->op_type, "Mul") && k->ninputs == 2 && !convt) { /* scale: into weights and bias */
        int other = k->inputs[0] == v ? 1 : 0;
        const nn_value_t *ov = &g->values[k->inputs[other]];
        const float *mul = const_f32(g, k, other, 1);
        int per_channel = 0;
        if (!mul && (mul = const_f32(g, k, other, cout)) && cout > 1) {
            per_channel = ov->ndim == wv->ndim - 1 || ov->ndim == wv->ndim;
            for (int d = 0; per_channel && d < ov->ndim; d++)
                per_channel = ov->dims[d] == (ov->ndim - d == wv->ndim - 1 ? cout : 1);
            if (!per_channel) return 0;
        }
        const float *w = const_f32(g, c, 1, -1);
        if (!mul || !w) return 0;
        int64_t per = vigil__nn_numel(wv->ndim, wv->dims) / (cout ? cout : 1);
        float *nw;
        int wi = add_const(g, c->name, "mul_weight", wv->ndim, wv->dims, &nw);
        if (wi < 0) return -1;
        float *nb = conv_bias(g, ci, cout, "mul_bias");
        if (!nb) return -1;
        c = &g->nodes[ci];
        k = &g->nodes[a];
        w = const_f32(g, c, 1, -1);
        mul = const_f32(g, k, other, per_channel ? cout : 1);
        for (int64_t o = 0; o < cout; o++) {
            float sc = mul[per_channel ? o : 0];
            for (int64_t i = 0; i < per; i++) nw[o * per + i] = w[o * per + i] * sc;
            nb[o] *= sc;
        }
        c->inputs[1] = wi;
        rewire(g, ci, a);
        return 1;
    }
    if (!strcmp(k->op_type, "Add") && c->act == NN_ACT_NONE && k->ninputs == 2) {
        int other = k->inputs[0] == v ? 1 : 0;
        const nn_value_t *ov = &g->values[k->inputs[other]];
        const float *add = const_f32(g, k, other, cout);
        if (!add && (add = const_f32(g, k, other, 1))) { /* a scalar */
            float *nb = conv_bias(g, ci, cout, "add_bias");
            if (!nb) return -1;
            k = &g->nodes[a];
            add = const_f32(g, k, other, 1);
            for (int64_t o = 0; o < cout; o++) nb[o] += add[0];
            rewire(g, ci, a);
            return 1;
        }
        int ok = add && ov->ndim >= 1 && ov->ndim <= 4 && wv->ndim >= 3;
        /* per-channel: [C,1,..] aligned to the channel axis of the conv output */
        int spatial = wv->ndim - 2;
        if (ok) ok = ov->ndim == spatial + 1 || ov->ndim == spatial + 2;
        for (int d = 0; ok && d < ov->ndim; d++) {
            int from_end = ov->ndim - d; /* 1 = last dim */
            int64_t want = from_end == spatial + 1 ? cout : 1;
            ok = ov->dims[d] == want;
        }
        if (!ok) return 0;
        float *nb = conv_bias(g, ci, cout, "add_bias");
        if (!nb) return -1;
        k = &g->nodes[a];
        add = const_f32(g, k, other, cout);
        for (int64_t o = 0; o < cout; o++) nb[o] += add[o];
        rewire(g, ci, a);
        return 1;
    }
    if (c->act != NN_ACT_NONE || c->post) return 0;
    if (!strcmp(k->op_type, "Relu")) {
        c->act = NN_ACT_RELU;
    } else if (!strcmp(k->op_type, "LeakyRelu")) {
        c->act = NN_ACT_LEAKYRELU;
        c->act_a = vigil__nn_attr_float(k, "alpha", 0.01f);
    } else if (!strcmp(k->op_type, "Sigmoid")) {
        c->act = NN_ACT_SIGMOID;
    } else if (!strcmp(k->op_type, "HardSigmoid")) {
        c->act = NN_ACT_HARDSIGMOID;
        c->act_a = vigil__nn_attr_float(k, "alpha", 0.2f);
        c->act_b = vigil__nn_attr_float(k, "beta", 0.5f);
    } else if (!strcmp(k->op_type, "HardSwish")) {
        c->act = NN_ACT_HARDSWISH;
        c->act_a = 1.0f / 6;
        c->act_b = 0.5f;
    } else if (!strcmp(k->op_type, "Clip")) {
        float lo, hi;
        if (!clip_bounds(g, k, &lo, &hi)) return 0;
        c->act = NN_ACT_CLIP;
        c->act_a = lo;
        c->act_b = hi;
    } else {
        return 0;
    }
    rewire(g, ci, a);
    return 1;
}

/* Scalar float constant input j of node n, or NAN when it is not one. */
static float const_scalar(const nn_graph_t *g, const nn_node_t *n, int j)
{
    const float *x = const_f32(g, n, j, 1);
    return x ? *x : NAN;
}

/* The single live consumer of v with op type op (and v not a graph output),
 * or -1. */
static int only_consumer(const nn_graph_t *g, int v, const char *op)
{
    int a = -1, b = -1;
    if (v < 0 || is_graph_output(g, v) || consumers(g, v, &a, &b) != 1) return -1;
    return strcmp(g->nodes[a].op_type, op) ? -1 : a;
}

/* Clip's bounds (attributes before opset 11, constant inputs from 11);
 * 0 when they are not constants. */
static int clip_bounds(const nn_graph_t *g, const nn_node_t *k, float *lo, float *hi)
{
    *lo = -INFINITY;
    *hi = INFINITY;
    if (g->opset < 11) {
        *lo = vigil__nn_attr_float(k, "min", -INFINITY);
        *hi = vigil__nn_attr_float(k, "max", INFINITY);
        return 1;
    }
    for (int j = 1; j < k->ninputs && j < 3; j++) {
        if (k->inputs[j] < 0) continue;
        const float *x = const_f32(g, k, j, 1);
        if (!x) return 0;
        if (j == 1) *lo = *x;
        else *hi = *x;
    }
    return 1;
}

/* Rewrites paddle2onnx's hard-swish, x * Clip(x + 3, 0, 6) / 6 (or
 * x * (Clip(x + 3, 0, 6) / 6), or with * (1/6)), into one HardSwish node
 * reusing the Add node, so that the conv fusion below can absorb it and
 * four passes over the tensor become none. Returns -1 on out of memory. */
static int rewrite_hardswish(nn_graph_t *g, int ai)
{
    nn_node_t *add = &g->nodes[ai];
    if (add->dead || strcmp(add->op_type, "Add") || add->ninputs != 2 || add->noutputs != 1) return 0;
    int xi = const_scalar(g, add, 1) == 3.0f ? 0 : const_scalar(g, add, 0) == 3.0f ? 1 : -1;
    if (xi < 0) return 0;
    int x = add->inputs[xi];
    int ci = only_consumer(g, add->outputs[0], "Clip");
    float lo, hi;
    if (ci < 0 || g->nodes[ci].inputs[0] != add->outputs[0] || !clip_bounds(g, &g->nodes[ci], &lo, &hi) ||
        lo != 0.0f || hi != 6.0f)
        return 0;
    int cv = g->nodes[ci].outputs[0], mi, di, out;
    /* x * clip, then / 6 or * (1/6) */
    int scale_op = -1;
    if ((mi = only_consumer(g, cv, "Mul")) >= 0) {
        nn_node_t *m = &g->nodes[mi];
        if (m->ninputs != 2 || !((m->inputs[0] == x && m->inputs[1] == cv) || (m->inputs[1] == x && m->inputs[0] == cv)))
            return 0;
        if ((di = only_consumer(g, m->outputs[0], "Div")) >= 0 && g->nodes[di].inputs[0] == m->outputs[0] &&
            const_scalar(g, &g->nodes[di], 1) == 6.0f)
            scale_op = di;
        else if ((di = only_consumer(g, m->outputs[0], "Mul")) >= 0 &&
                 fabsf(const_scalar(g, &g->nodes[di], g->nodes[di].inputs[0] == m->outputs[0] ? 1 : 0) - 1.0f / 6) < 1e-7f)
            scale_op = di;
        if (scale_op < 0) return 0;
        out = g->nodes[scale_op].outputs[0];
    } else if ((di = only_consumer(g, cv, "Div")) >= 0) { /* x * (clip / 6) */
        if (g->nodes[di].inputs[0] != cv || const_scalar(g, &g->nodes[di], 1) != 6.0f) return 0;
        scale_op = di;
        mi = only_consumer(g, g->nodes[di].outputs[0], "Mul");
        if (mi < 0) return 0;
        nn_node_t *m = &g->nodes[mi];
        int dv = g->nodes[di].outputs[0];
        if (m->ninputs != 2 || !((m->inputs[0] == x && m->inputs[1] == dv) || (m->inputs[1] == x && m->inputs[0] == dv)))
            return 0;
        out = m->outputs[0];
    } else {
        return 0;
    }
    const nn_op_t *op = vigil__nn_op_find("HardSwish");
    char *type = strdup("HardSwish");
    if (!op || !type) {
        free(type);
        return op ? -1 : 0;
    }
    add = &g->nodes[ai];
    free(add->op_type);
    add->op_type = type;
    add->op = op;
    add->inputs[0] = x;
    add->ninputs = 1;
    add->outputs[0] = out;
    g->values[out].producer = ai;
    g->nodes[ci].dead = g->nodes[mi].dead = g->nodes[scale_op].dead = 1;
    return 1;
}

vigil_err_t vigil__nn_pass_fuse(nn_graph_t *g, char *errstr, size_t errstr_size)
{
    for (int i = 0; i < g->nnodes; i++)
        if (rewrite_hardswish(g, i) < 0)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "nn: out of memory fusing");
    for (int i = 0; i < g->nnodes; i++) {
        nn_node_t *c = &g->nodes[i];
        if (c->dead || (strcmp(c->op_type, "Conv") && strcmp(c->op_type, "ConvTranspose")) ||
            c->ninputs < 2 || c->noutputs != 1)
            continue;
        const nn_value_t *w = &g->values[c->inputs[1]];
        if (!w->data || w->dtype != VIGIL_NN_FLOAT32 || w->ndim < 3) continue;
        int r;
        while ((r = fuse_step(g, i)) > 0) {
        }
        if (r < 0) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "nn: out of memory fusing");
    }
    return VIGIL_OK;
}

void vigil__nn_pass_dead_nodes(nn_graph_t *g)
{
    uint8_t *need = calloc((size_t)g->nvalues + 1, 1);
    if (!need) return;
    for (int i = 0; i < g->noutputs; i++) need[g->outputs[i]] = 1;
    for (int i = g->nnodes - 1; i >= 0; i--) {
        nn_node_t *n = &g->nodes[i];
        if (n->dead) continue;
        int live = 0;
        for (int j = 0; j < n->noutputs; j++) live |= n->outputs[j] >= 0 && need[n->outputs[j]];
        if (!live) {
            n->dead = 1;
            continue;
        }
        for (int j = 0; j < n->ninputs; j++)
            if (n->inputs[j] >= 0) need[n->inputs[j]] = 1;
    }
    for (int v = 0; v < g->nvalues; v++)
        if (!need[v] && g->values[v].data) {
            int is_input = 0;
            for (int i = 0; i < g->ninputs; i++) is_input |= g->inputs[i] == v;
            if (!is_input) {
                free(g->values[v].data);
                g->values[v].data = NULL;
            }
        }
    free(need);
}

/* MatMul whose B is a constant float [K,N] (a linear layer; the A side
 * varies): B panels [ceil(N/16)][K][16], zero past N. -1: out of memory. */
static int pack_matmul_b(nn_graph_t *g, nn_node_t *c)
{
    if (c->inputs[1] < 0) return 0;
    const nn_value_t *bv = &g->values[c->inputs[1]];
    if (!bv->data || bv->dtype != VIGIL_NN_FLOAT32 || bv->ndim != 2 || bv->dims[0] < 1 || bv->dims[1] < 16)
        return 0;
    int64_t K = bv->dims[0], N = bv->dims[1], np = (N + 15) / 16;
    float *p = malloc(sizeof(float) * (size_t)(np * K * 16));
    if (!p) return -1;
    const float *b = bv->data;
    for (int64_t q = 0; q < np; q++)
        for (int64_t k = 0; k < K; k++)
            for (int64_t j = 0; j < 16; j++) {
                int64_t n = q * 16 + j;
                p[(q * K + k) * 16 + j] = n < N ? b[k * N + n] : 0;
            }
    c->packed_w = p;
    return 0;
}

vigil_err_t vigil__nn_pass_pack(nn_graph_t *g, char *errstr, size_t errstr_size)
{
    for (int i = 0; i < g->nnodes; i++) {
        nn_node_t *c = &g->nodes[i];
        if (!c->dead && !strcmp(c->op_type, "MatMul") && c->ninputs == 2 && !c->packed_w) {
            if (pack_matmul_b(g, c)) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "nn: out of memory packing weights");
            continue;
        }
        if (c->dead || strcmp(c->op_type, "Conv") || c->ninputs < 2 || c->packed_w ||
            vigil__nn_attr_int(c, "group", 1) != 1)
            continue;
        const nn_value_t *wv = &g->values[c->inputs[1]];
        if (!wv->data || wv->dtype != VIGIL_NN_FLOAT32 || wv->ndim < 3 || wv->dims[0] < 1) continue;
        int64_t M = wv->dims[0], K = vigil__nn_numel(wv->ndim, wv->dims) / M, np = (M + 5) / 6;
        if (K < 1 || (M == 1 && wv->dims[1] == 1)) continue; /* the depthwise kernel's */
        float *p = malloc(sizeof(float) * (size_t)(np * K * 6));
        if (!p) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "nn: out of memory packing weights");
        const float *w = wv->data;
        for (int64_t q = 0; q < np; q++)
            for (int64_t k = 0; k < K; k++)
                for (int64_t r = 0; r < 6; r++) {
                    int64_t m = q * 6 + r;
                    p[(q * K + k) * 6 + r] = m < M ? w[m * K + k] : 0;
                }
        c->packed_w = p;
    }
    return VIGIL_OK;
}
