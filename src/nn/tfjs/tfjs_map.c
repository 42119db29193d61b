/* TF ops -> vigil-nn IR nodes (ONNX semantics), with NHWC -> NCHW layout
 * propagation.
 *
 * Main idea: convolutions, pools and resizes run in NCHW (the CPU kernels'
 * layout), so their filters are permuted at load (HWIO -> OIHW, depthwise
 * HWCM -> (C*M)1HW) and their activations stay NCHW through elementwise ops,
 * Concat and Mean (axes remapped; constant operands permuted to match).
 * Only ops that depend on memory order (Reshape, StridedSlice, Gather,
 * TopK, ExpandDims, graph outputs) get the tensor back in TF order, through
 * one Transpose per tensor. TF-only semantics (FloorDiv/FloorMod, TopKV2's
 * int32 indices) are ops of tfjs_ops.c. Set VIGIL_NN_TFJS_LAYOUT=naive to
 * transpose around every conv instead (for measurement; docs/nn-tfjs.md). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/tfjs/tfjs_int.h"

#define MAXD VIGIL_NN_MAX_DIMS

static vigil_err_t node_err(tfjs_ctx_t *c, const tf_node_t *n, vigil_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static vigil_err_t node_err(tfjs_ctx_t *c, const tf_node_t *n, vigil_err_t err, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return vigil_seterr(c->errstr, c->errstr_size, err, "%stfjs: node \"%s\" (op %s): %s",
                        err == VIGIL_ERR_UNSUPPORTED ? "unsupported: " : "", n->name, n->op, msg);
}

static vigil_err_t nomem(tfjs_ctx_t *c)
{
    return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_NOMEM, "tfjs: out of memory");
}

static tf_tensor_t *IN(tfjs_ctx_t *c, const tf_node_t *n, int k)
{
    return &c->tensors[c->nodes[n->in_node[k]].first_tensor + n->in_out[k]];
}

static const char *in_name(tfjs_ctx_t *c, const tf_node_t *n, int k, char *buf, size_t size)
{
    const char *nm = c->nodes[n->in_node[k]].name;
    if (n->in_out[k]) snprintf(buf, size, "%s:%d", nm, n->in_out[k]);
    else snprintf(buf, size, "%s", nm);
    return buf;
}

static int new_value(tfjs_ctx_t *c, const char *base, const char *suffix)
{
    char name[600];
    snprintf(name, sizeof name, "%s%s", base, suffix ? suffix : "");
    return vigil__nn_graph_add_value(c->g, name);
}

static int emit(tfjs_ctx_t *c, const char *name, const char *op, const int *ins, int nin,
                const int *outs, int nout)
{
    int ni = vigil__nn_graph_add_node(c->g, name, op, ins, nin, outs, nout);
    if (ni >= 0)
        for (int i = 0; i < nout; i++) c->g->values[outs[i]].producer = ni;
    return ni;
}

static int attr_int(tfjs_ctx_t *c, int ni, const char *name, int64_t v)
{
    nn_attr_t a = {0};
    a.name = strdup(name);
    a.type = NN_ATTR_INT;
    a.i = v;
    if (!a.name || vigil__nn_node_add_attr(&c->g->nodes[ni], &a)) {
        vigil__nn_attr_release(&a);
        return -1;
    }
    return 0;
}

static int attr_float(tfjs_ctx_t *c, int ni, const char *name, float v)
{
    nn_attr_t a = {0};
    a.name = strdup(name);
    a.type = NN_ATTR_FLOAT;
    a.f = v;
    if (!a.name || vigil__nn_node_add_attr(&c->g->nodes[ni], &a)) {
        vigil__nn_attr_release(&a);
        return -1;
    }
    return 0;
}

static int attr_ints(tfjs_ctx_t *c, int ni, const char *name, const int64_t *v, int n)
{
    nn_attr_t a = {0};
    a.name = strdup(name);
    a.type = NN_ATTR_INTS;
    a.ints = malloc(sizeof(int64_t) * (size_t)(n + 1));
    a.n = (size_t)n;
    if (a.ints && n) memcpy(a.ints, v, sizeof(int64_t) * (size_t)n);
    if (!a.name || !a.ints || vigil__nn_node_add_attr(&c->g->nodes[ni], &a)) {
        vigil__nn_attr_release(&a);
        return -1;
    }
    return 0;
}

static int attr_str(tfjs_ctx_t *c, int ni, const char *name, const char *s)
{
    nn_attr_t a = {0};
    a.name = strdup(name);
    a.type = NN_ATTR_STRING;
    a.s = strdup(s);
    a.slen = strlen(s);
    if (!a.name || !a.s || vigil__nn_node_add_attr(&c->g->nodes[ni], &a)) {
        vigil__nn_attr_release(&a);
        return -1;
    }
    return 0;
}

/* A new constant (data copied). */
static int add_const(tfjs_ctx_t *c, const char *name, vigil_nn_dtype_t dt, int ndim,
                     const int64_t *dims, const void *data)
{
    vigil_nn_tensor_t t = {.dtype = dt, .ndim = ndim};
    if (ndim) memcpy(t.dims, dims, sizeof(int64_t) * (size_t)ndim);
    size_t bytes = vigil__nn_bytes(&t);
    void *d = malloc(bytes + 1);
    if (!d) return -1;
    memcpy(d, data, bytes);
    int v = vigil__nn_graph_add_value(c->g, name);
    if (v < 0) {
        free(d);
        return -1;
    }
    nn_value_t *val = &c->g->values[v];
    val->dtype = dt;
    val->ndim = ndim;
    memcpy(val->dims, t.dims, sizeof val->dims);
    val->data = d;
    return v;
}

static int const_i64(tfjs_ctx_t *c, const char *base, const char *suffix, const int64_t *v, int n)
{
    char name[600];
    int64_t d = n;
    snprintf(name, sizeof name, "%s%s", base, suffix);
    return add_const(c, name, VIGIL_NN_INT64, 1, &d, v);
}

static int const_f32(tfjs_ctx_t *c, const char *base, const char *suffix, float f)
{
    char name[600];
    snprintf(name, sizeof name, "%s%s", base, suffix);
    return add_const(c, name, VIGIL_NN_FLOAT32, 0, NULL, &f);
}

/* Constant data of a tensor, or NULL. */
static const nn_value_t *const_of(tfjs_ctx_t *c, const tf_tensor_t *t)
{
    if (t->v < 0 || !c->g->values[t->v].data) return NULL;
    return &c->g->values[t->v];
}

/* Integer constant values of a tensor: count, or -1 when not constant. */
static int const_ints(tfjs_ctx_t *c, const tf_tensor_t *t, int64_t *out, int max)
{
    const nn_value_t *v = const_of(c, t);
    if (!v || !vigil__nn_dtype_is_int(v->dtype)) return -1;
    vigil_nn_tensor_t tt = {.dtype = v->dtype, .ndim = v->ndim, .data = v->data};
    memcpy(tt.dims, v->dims, sizeof tt.dims);
    int64_t n = vigil_nn_tensor_numel(&tt);
    if (n > max) return -1;
    for (int64_t i = 0; i < n; i++) out[i] = vigil__nn_get_int(&tt, i);
    return (int)n;
}

int vigil__tfjs_nhwc(tfjs_ctx_t *c, tf_tensor_t *t, const char *name)
{
    if (t->v >= 0) return t->v;
    if (t->v_nchw < 0) return -1;
    static const int64_t perm[4] = {0, 2, 3, 1};
    int o = vigil__nn_graph_add_value(c->g, name);
    if (o < 0) return -1;
    int ni = emit(c, name, "Transpose", &t->v_nchw, 1, &o, 1);
    if (ni < 0 || attr_ints(c, ni, "perm", perm, 4)) return -1;
    t->v = o;
    return o;
}

/* The tensor in NCHW order; a constant of rank <= 4 is padded to rank 4 on
 * the left (TF broadcasting) and permuted. -1 on out of memory. */
static int nchw(tfjs_ctx_t *c, tf_tensor_t *t, const char *name)
{
    if (t->v_nchw >= 0) return t->v_nchw;
    const nn_value_t *cv = const_of(c, t);
    char nm[600];
    snprintf(nm, sizeof nm, "%s:nchw", name);
    if (cv && cv->ndim <= 4) {
        int64_t d[4] = {1, 1, 1, 1}, od[4];
        for (int i = 0; i < cv->ndim; i++) d[4 - cv->ndim + i] = cv->dims[i];
        od[0] = d[0], od[1] = d[3], od[2] = d[1], od[3] = d[2];
        size_t es = vigil_nn_dtype_size(cv->dtype);
        int64_t n = d[0] * d[1] * d[2] * d[3];
        uint8_t *buf = malloc((size_t)n * es + 1);
        if (!buf) return -1;
        const uint8_t *src = cv->data;
        for (int64_t b = 0; b < d[0]; b++)
            for (int64_t h = 0; h < d[1]; h++)
                for (int64_t w = 0; w < d[2]; w++)
                    for (int64_t ch = 0; ch < d[3]; ch++)
                        memcpy(buf + (size_t)(((b * d[3] + ch) * d[1] + h) * d[2] + w) * es,
                               src + (size_t)(((b * d[1] + h) * d[2] + w) * d[3] + ch) * es, es);
        int v = add_const(c, nm, cv->dtype, 4, od, buf);
        free(buf);
        t->v_nchw = v;
        return v;
    }
    static const int64_t perm[4] = {0, 3, 1, 2};
    int o = vigil__nn_graph_add_value(c->g, nm);
    if (o < 0) return -1;
    int ni = emit(c, nm, "Transpose", &t->v, 1, &o, 1);
    if (ni < 0 || attr_ints(c, ni, "perm", perm, 4)) return -1;
    t->v_nchw = o;
    return o;
}

static int naive_layout(void)
{
    const char *e = getenv("VIGIL_NN_TFJS_LAYOUT");
    return e && !strcmp(e, "naive");
}

/* The output tensor k of node n: a new IR value in TF or NCHW order. */
static int out_value(tfjs_ctx_t *c, const tf_node_t *n, int k, int is_nchw, int rank,
                     vigil_nn_dtype_t dt)
{
    tf_tensor_t *t = &c->tensors[n->first_tensor + k];
    char sfx[32];
    snprintf(sfx, sizeof sfx, "%s%s", k ? (k == 1 ? ":1" : ":2") : "", is_nchw ? ":nchw" : "");
    int v = new_value(c, n->name, sfx);
    if (v < 0) return -1;
    if (is_nchw) t->v_nchw = v;
    else t->v = v;
    t->rank = rank;
    t->dtype = dt;
    return v;
}

/* After an NCHW-native op: in naive mode, go back to TF order right away. */
static int naive_back(tfjs_ctx_t *c, const tf_node_t *n)
{
    tf_tensor_t *t = &c->tensors[n->first_tensor];
    if (!naive_layout()) return 0;
    if (vigil__tfjs_nhwc(c, t, n->name) < 0) return -1;
    t->v_nchw = -1;
    return 0;
}

/* ---- ops ---------------------------------------------------------------------------------- */

static vigil_err_t map_conv(tfjs_ctx_t *c, const tf_node_t *n)
{
    char buf[64], nm[600], act[64] = "";
    int depthwise = strstr(n->op, "Depthwise") != NULL, fused = n->op[0] == '_' || !strncmp(n->op, "Fused", 5);
    int64_t st[8], dl[8], ep[16];
    if (n->nin < 2) return node_err(c, n, VIGIL_ERR_INVALID, "needs input and filter");
    const char *df = vigil__tfjs_attr_s(n, "data_format", "NHWC", buf, sizeof buf);
    if (strcmp(df, "NHWC"))
        return node_err(c, n, VIGIL_ERR_UNSUPPORTED, "attribute data_format \"%s\" (NHWC only)", df);
    int nst = vigil__tfjs_attr_ints(n, "strides", st, 8), ndl = vigil__tfjs_attr_ints(n, "dilations", dl, 8);
    if ((nst >= 0 && nst != 4) || (nst == 4 && (st[0] != 1 || st[3] != 1)))
        return node_err(c, n, VIGIL_ERR_UNSUPPORTED, "attribute strides (4 values, batch and channel 1)");
    if ((ndl >= 0 && ndl != 4 && ndl != 0) || (ndl == 4 && (dl[0] != 1 || dl[3] != 1)))
        return node_err(c, n, VIGIL_ERR_UNSUPPORTED, "attribute dilations (4 values, batch and channel 1)");
    tf_tensor_t *x = IN(c, n, 0), *f = IN(c, n, 1);
    const nn_value_t *fv = const_of(c, f);
    if (!fv || fv->dtype != VIGIL_NN_FLOAT32 || fv->ndim != 4)
        return node_err(c, n, VIGIL_ERR_UNSUPPORTED, "filter must be a constant float32 4-D tensor");
    int64_t kh = fv->dims[0], kw = fv->dims[1], ci = fv->dims[2], co = fv->dims[3];
    int64_t M = depthwise ? ci * co : co;
    /* fused ops: BiasAdd | FusedBatchNorm, then at most one activation */
    int nf = fused ? vigil__tfjs_attr_strs(n, "fused_ops", 0, NULL, 0) : 0, bias = 0, bn = 0;
    for (int k = 0; k < nf; k++) {
        char op[64];
        vigil__tfjs_attr_strs(n, "fused_ops", k, op, sizeof op);
        if (k == 0 && !strcmp(op, "BiasAdd")) bias = 1;
        else if (k == 0 && !strcmp(op, "FusedBatchNorm")) bn = 1;
        else if (k == nf - 1 && k > 0 && (!strcmp(op, "Relu") || !strcmp(op, "Relu6") || !strcmp(op, "Elu") ||
                                          !strcmp(op, "LeakyRelu") || !strcmp(op, "Sigmoid") || !strcmp(op, "Tanh")))
            snprintf(act, sizeof act, "%s", op);
        else
            return node_err(c, n, VIGIL_ERR_UNSUPPORTED, "attribute fused_ops entry \"%s\"", op);
    }
    if ((bias && n->nin < 3) || (bn && n->nin < 6))
        return node_err(c, n, VIGIL_ERR_INVALID, "fused_ops need %d more inputs", bias ? 1 : 4);
    /* filter: HWIO -> OIHW; depthwise HWCM -> (C*M)1HW */
    float *w = malloc(sizeof(float) * (size_t)(kh * kw * ci * co) + 1);
    float *b = calloc((size_t)M + 1, sizeof(float));
    if (!w || !b) {
        free(w);
        free(b);
        return nomem(c);
    }
    const float *src = fv->data;
    for (int64_t y = 0; y < kh; y++)
        for (int64_t xx = 0; xx < kw; xx++)
            for (int64_t i = 0; i < ci; i++)
                for (int64_t o = 0; o < co; o++) {
                    float val = src[((y * kw + xx) * ci + i) * co + o];
                    if (depthwise) w[((i * co + o) * kh + y) * kw + xx] = val;
                    else w[((o * ci + i) * kh + y) * kw + xx] = val;
                }
    int bias_v = -1;
    vigil_err_t err = VIGIL_OK;
    if (bn) { /* fold y = (conv - mean) * scale / sqrt(var + eps) + offset */
        const nn_value_t *p[4];
        for (int k = 0; k < 4; k++) {
            p[k] = const_of(c, IN(c, n, 2 + k));
            if (!p[k] || p[k]->dtype != VIGIL_NN_FLOAT32 || vigil__nn_numel(p[k]->ndim, p[k]->dims) != M) {
                err = node_err(c, n, VIGIL_ERR_UNSUPPORTED, "FusedBatchNorm input %d must be a constant float32 [%lld]",
                               2 + k, (long long)M);
                goto done;
            }
        }
        float eps = vigil__tfjs_attr_f(n, "epsilon", 1e-3f);
        const float *sc = p[0]->data, *off = p[1]->data, *mean = p[2]->data, *var = p[3]->data;
        int64_t per = kh * kw * (depthwise ? 1 : ci);
        for (int64_t o = 0; o < M; o++) {
            float s = sc[o] / sqrtf(var[o] + eps);
            for (int64_t i = 0; i < per; i++) w[o * per + i] *= s;
            b[o] = off[o] - mean[o] * s;
        }
        if ((bias_v = add_const(c, (snprintf(nm, sizeof nm, "%s:bias", n->name), nm), VIGIL_NN_FLOAT32, 1, &M, b)) < 0)
            goto oom;
    } else if (bias) {
        tf_tensor_t *bt = IN(c, n, 2);
        const nn_value_t *bv = const_of(c, bt);
        if (bv && (bv->dtype != VIGIL_NN_FLOAT32 || vigil__nn_numel(bv->ndim, bv->dims) != M)) {
            err = node_err(c, n, VIGIL_ERR_INVALID, "bias has %lld values for %lld output channels",
                           (long long)vigil__nn_numel(bv->ndim, bv->dims), (long long)M);
            goto done;
        }
        if ((bias_v = vigil__tfjs_nhwc(c, bt, in_name(c, n, 2, nm, sizeof nm))) < 0) goto oom;
    }
    int64_t wd[4] = {M, depthwise ? 1 : ci, kh, kw};
    int wv = add_const(c, (snprintf(nm, sizeof nm, "%s:filter", n->name), nm), VIGIL_NN_FLOAT32, 4, wd, w);
    int xv = nchw(c, x, in_name(c, n, 0, nm, sizeof nm));
    if (wv < 0 || xv < 0) goto oom;
    int has_act = act[0] != 0;
    int ov = has_act ? new_value(c, n->name, ":conv") : out_value(c, n, 0, 1, 4, VIGIL_NN_FLOAT32);
    if (ov < 0) goto oom;
    int ins[3] = {xv, wv, bias_v};
    int ni = emit(c, n->name, "Conv", ins, bias_v >= 0 ? 3 : 2, &ov, 1);
    if (ni < 0) goto oom;
    int64_t kk[2] = {kh, kw}, s2[2] = {nst == 4 ? st[1] : 1, nst == 4 ? st[2] : 1};
    int64_t d2[2] = {ndl == 4 ? dl[1] : 1, ndl == 4 ? dl[2] : 1};
    const char *pad = vigil__tfjs_attr_s(n, "padding", "VALID", buf, sizeof buf);
    if (attr_ints(c, ni, "kernel_shape", kk, 2) || attr_ints(c, ni, "strides", s2, 2) ||
        attr_ints(c, ni, "dilations", d2, 2) || attr_int(c, ni, "group", depthwise ? ci : 1))
        goto oom;
    if (!strcmp(pad, "SAME")) {
        if (attr_str(c, ni, "auto_pad", "SAME_UPPER")) goto oom;
    } else if (!strcmp(pad, "EXPLICIT")) {
        if (vigil__tfjs_attr_ints(n, "explicit_paddings", ep, 16) != 8) {
            err = node_err(c, n, VIGIL_ERR_INVALID, "attribute explicit_paddings (8 values)");
            goto done;
        }
        int64_t pads[4] = {ep[2], ep[4], ep[3], ep[5]};
        if (attr_ints(c, ni, "pads", pads, 4)) goto oom;
    } else if (strcmp(pad, "VALID")) {
        err = node_err(c, n, VIGIL_ERR_UNSUPPORTED, "attribute padding \"%s\"", pad);
        goto done;
    }
    if (has_act) {
        int o2 = out_value(c, n, 0, 1, 4, VIGIL_NN_FLOAT32);
        if (o2 < 0) goto oom;
        int ains[3] = {ov, -1, -1}, an;
        if (!strcmp(act, "Relu6")) {
            ains[1] = const_f32(c, n->name, ":min", 0.0f);
            ains[2] = const_f32(c, n->name, ":max", 6.0f);
            if (ains[1] < 0 || ains[2] < 0 || (an = emit(c, n->name, "Clip", ains, 3, &o2, 1)) < 0) goto oom;
        } else {
            if ((an = emit(c, n->name, act, ains, 1, &o2, 1)) < 0) goto oom;
            if (!strcmp(act, "LeakyRelu") && attr_float(c, an, "alpha", vigil__tfjs_attr_f(n, "leakyrelu_alpha", 0.2f)))
                goto oom;
        }
    }
    if (naive_back(c, n)) goto oom;
    goto done;
oom:
    err = nomem(c);
done:
    free(w);
    free(b);
    return err;
}

static vigil_err_t map_pool(tfjs_ctx_t *c, const tf_node_t *n)
{
    char buf[64], nm[600];
    int64_t ks[8], st[8];
    const char *df = vigil__tfjs_attr_s(n, "data_format", "NHWC", buf, sizeof buf);
    if (strcmp(df, "NHWC"))
        return node_err(c, n, VIGIL_ERR_UNSUPPORTED, "attribute data_format \"%s\" (NHWC only)", df);
    if (vigil__tfjs_attr_ints(n, "ksize", ks, 8) != 4 || ks[0] != 1 || ks[3] != 1)
        return node_err(c, n, VIGIL_ERR_UNSUPPORTED, "attribute ksize (4 values, batch and channel 1)");
    if (vigil__tfjs_attr_ints(n, "strides", st, 8) != 4 || st[0] != 1 || st[3] != 1)
        return node_err(c, n, VIGIL_ERR_UNSUPPORTED, "attribute strides (4 values, batch and channel 1)");
    const char *pad = vigil__tfjs_attr_s(n, "padding", "VALID", buf, sizeof buf);
    if (strcmp(pad, "SAME") && strcmp(pad, "VALID"))
        return node_err(c, n, VIGIL_ERR_UNSUPPORTED, "attribute padding \"%s\"", pad);
    int xv = nchw(c, IN(c, n, 0), in_name(c, n, 0, nm, sizeof nm));
    int ov = out_value(c, n, 0, 1, 4, VIGIL_NN_FLOAT32);
    if (xv < 0 || ov < 0) return nomem(c);
    int ni = emit(c, n->name, !strcmp(n->op, "MaxPool") ? "MaxPool" : "AveragePool", &xv, 1, &ov, 1);
    int64_t k2[2] = {ks[1], ks[2]}, s2[2] = {st[1], st[2]};
    if (ni < 0 || attr_ints(c, ni, "kernel_shape", k2, 2) || attr_ints(c, ni, "strides", s2, 2) ||
        attr_str(c, ni, "auto_pad", !strcmp(pad, "SAME") ? "SAME_UPPER" : "VALID") || naive_back(c, n))
        return nomem(c);
    return VIGIL_OK;
}

static vigil_err_t map_resize(tfjs_ctx_t *c, const tf_node_t *n)
{
    char nm[600];
    int64_t sz[4];
    if (n->nin < 2 || const_ints(c, IN(c, n, 1), sz, 4) != 2)
        return node_err(c, n, VIGIL_ERR_UNSUPPORTED, "size must be a constant of 2 values");
    if (sz[0] < 1 || sz[1] < 1 || sz[0] > 65536 || sz[1] > 65536)
        return node_err(c, n, VIGIL_ERR_INVALID, "size [%lld, %lld] (1..65536 each)", (long long)sz[0],
                        (long long)sz[1]);
    int ac = vigil__tfjs_attr_b(n, "align_corners", 0), hp = vigil__tfjs_attr_b(n, "half_pixel_centers", 0);
    int bilinear = !strcmp(n->op, "ResizeBilinear");
    if (ac && hp) return node_err(c, n, VIGIL_ERR_INVALID, "attributes align_corners and half_pixel_centers both set");
    int xv = nchw(c, IN(c, n, 0), in_name(c, n, 0, nm, sizeof nm));
    if (xv < 0) return nomem(c);
    /* sizes = Concat(Shape(x)[0:2], [h, w]): folded at plan time */
    int64_t zero = 0, two = 2;
    int shp = new_value(c, n->name, ":shape"), nc = new_value(c, n->name, ":nc"),
        hw = const_i64(c, n->name, ":hw", sz, 2), s0 = const_i64(c, n->name, ":s0", &zero, 1),
        s2 = const_i64(c, n->name, ":s2", &two, 1), sizes = new_value(c, n->name, ":sizes");
    if (shp < 0 || nc < 0 || hw < 0 || s0 < 0 || s2 < 0 || sizes < 0) return nomem(c);
    int sl_in[3] = {shp, s0, s2}, cat_in[2] = {nc, hw};
    int a = emit(c, n->name, "Shape", &xv, 1, &shp, 1), b = emit(c, n->name, "Slice", sl_in, 3, &nc, 1);
    int k = emit(c, n->name, "Concat", cat_in, 2, &sizes, 1);
    if (a < 0 || b < 0 || k < 0 || attr_int(c, k, "axis", 0)) return nomem(c);
    int ov = out_value(c, n, 0, 1, 4, VIGIL_NN_FLOAT32);
    int rin[4] = {xv, -1, -1, sizes};
    int ni = ov < 0 ? -1 : emit(c, n->name, "Resize", rin, 4, &ov, 1);
    const char *ctm = ac ? "align_corners" : hp ? (bilinear ? "half_pixel" : "tf_half_pixel_for_nn") : "asymmetric";
    if (ni < 0 || attr_str(c, ni, "mode", bilinear ? "linear" : "nearest") ||
        attr_str(c, ni, "coordinate_transformation_mode", ctm) ||
        (!bilinear && attr_str(c, ni, "nearest_mode", ac ? "round_prefer_ceil" : "floor")) || naive_back(c, n))
        return nomem(c);
    return VIGIL_OK;
}

/* Elementwise ops with TF/numpy broadcasting: NCHW when an input is, and
 * every other input can follow (rank 4, a scalar, or a constant). */
static vigil_err_t map_elementwise(tfjs_ctx_t *c, const tf_node_t *n, const char *op, int nin,
                                   vigil_nn_dtype_t out_dt)
{
    char nm[600];
    int ins[4], any = 0, ok = 1, rank = 0;
    if (n->nin < nin) return node_err(c, n, VIGIL_ERR_INVALID, "needs %d inputs, has %d", nin, n->nin);
    for (int k = 0; k < nin; k++) {
        tf_tensor_t *t = IN(c, n, k);
        const nn_value_t *cv = const_of(c, t);
        any |= t->v_nchw >= 0;
        ok &= t->v_nchw >= 0 || t->rank == 4 || t->rank == 0 || (cv && cv->ndim <= 4);
        rank = rank < 0 || t->rank < 0 ? -1 : (t->rank > rank ? t->rank : rank);
    }
    int use = any && ok;
    vigil_nn_dtype_t dt = out_dt ? out_dt : IN(c, n, 0)->dtype;
    for (int k = 0; k < nin; k++) {
        tf_tensor_t *t = IN(c, n, k);
        in_name(c, n, k, nm, sizeof nm);
        ins[k] = use && t->v_nchw < 0 && t->rank == 0 ? t->v : use ? nchw(c, t, nm) : vigil__tfjs_nhwc(c, t, nm);
        if (ins[k] < 0) return nomem(c);
    }
    int ov = out_value(c, n, 0, use, use ? 4 : rank, dt);
    if (ov < 0) return nomem(c);
    int ni;
    if (!strcmp(op, "Relu6")) {
        ins[1] = const_f32(c, n->name, ":min", 0.0f);
        ins[2] = const_f32(c, n->name, ":max", 6.0f);
        if (ins[1] < 0 || ins[2] < 0) return nomem(c);
        ni = emit(c, n->name, "Clip", ins, 3, &ov, 1);
    } else {
        ni = emit(c, n->name, op, ins, nin, &ov, 1);
    }
    if (ni < 0) return nomem(c);
    if (!strcmp(op, "LeakyRelu") && attr_float(c, ni, "alpha", vigil__tfjs_attr_f(n, "alpha", 0.2f))) return nomem(c);
    if (!strcmp(op, "Cast") && attr_int(c, ni, "to", dt)) return nomem(c);
    return VIGIL_OK;
}

static vigil_err_t map_concat(tfjs_ctx_t *c, const tf_node_t *n)
{
    char nm[600];
    int64_t ax;
    int nd = n->nin - 1, any = 0, all4 = 1;
    if (nd < 1 || const_ints(c, IN(c, n, nd), &ax, 1) != 1)
        return node_err(c, n, VIGIL_ERR_UNSUPPORTED, "axis must be a constant scalar");
    int *ins = malloc(sizeof(int) * (size_t)(nd + 1));
    if (!ins) return nomem(c);
    for (int k = 0; k < nd; k++) {
        any |= IN(c, n, k)->v_nchw >= 0;
        all4 &= IN(c, n, k)->rank == 4;
    }
    int use = any && all4, rank = IN(c, n, 0)->rank;
    if (use) {
        int64_t a = ax < 0 ? ax + 4 : ax;
        static const int64_t map[4] = {0, 2, 3, 1};
        if (a < 0 || a > 3) {
            free(ins);
            return node_err(c, n, VIGIL_ERR_INVALID, "axis %lld out of range", (long long)ax);
        }
        ax = map[a];
    }
    for (int k = 0; k < nd; k++) {
        in_name(c, n, k, nm, sizeof nm);
        ins[k] = use ? nchw(c, IN(c, n, k), nm) : vigil__tfjs_nhwc(c, IN(c, n, k), nm);
        if (ins[k] < 0) {
            free(ins);
            return nomem(c);
        }
    }
    int ov = out_value(c, n, 0, use, rank, IN(c, n, 0)->dtype);
    int ni = ov < 0 ? -1 : emit(c, n->name, "Concat", ins, nd, &ov, 1);
    free(ins);
    if (ni < 0 || attr_int(c, ni, "axis", ax)) return nomem(c);
    return VIGIL_OK;
}

static vigil_err_t map_mean(tfjs_ctx_t *c, const tf_node_t *n)
{
    char nm[600];
    int64_t ax[MAXD];
    int keep = vigil__tfjs_attr_b(n, "keep_dims", 0), na;
    if (n->nin < 2 || (na = const_ints(c, IN(c, n, 1), ax, MAXD)) < 0)
        return node_err(c, n, VIGIL_ERR_UNSUPPORTED, "reduction_indices must be a constant");
    tf_tensor_t *x = IN(c, n, 0);
    int r = x->rank, use = keep && r == 4 && x->v_nchw >= 0 && na > 0;
    uint8_t set[MAXD] = {0};
    int nuniq = 0;
    for (int i = 0; i < na; i++) {
        int64_t a = ax[i] < 0 && r > 0 ? ax[i] + r : ax[i];
        if (r >= 0 && (a < 0 || a >= r)) return node_err(c, n, VIGIL_ERR_INVALID, "axis %lld out of range", (long long)ax[i]);
        if (a >= 0 && a < MAXD && !set[a]) set[a] = 1, nuniq++;
    }
    in_name(c, n, 0, nm, sizeof nm);
    int xv = use ? nchw(c, x, nm) : vigil__tfjs_nhwc(c, x, nm);
    int ov = out_value(c, n, 0, use, keep ? r : (r < 0 ? -1 : r - nuniq), x->dtype);
    if (xv < 0 || ov < 0) return nomem(c);
    int ni;
    if (!na) {
        ni = emit(c, n->name, "Identity", &xv, 1, &ov, 1);
    } else if (use && nuniq == 2 && set[1] && set[2]) {
        ni = emit(c, n->name, "GlobalAveragePool", &xv, 1, &ov, 1);
    } else {
        static const int64_t map[4] = {0, 2, 3, 1};
        if (use)
            for (int i = 0; i < na; i++) ax[i] = map[ax[i] < 0 ? ax[i] + 4 : ax[i]];
        ni = emit(c, n->name, "ReduceMean", &xv, 1, &ov, 1);
        if (ni >= 0 && (attr_ints(c, ni, "axes", ax, na) || attr_int(c, ni, "keepdims", keep))) ni = -1;
    }
    return ni < 0 ? nomem(c) : VIGIL_OK;
}

static vigil_err_t map_reshape(tfjs_ctx_t *c, const tf_node_t *n)
{
    char nm[600];
    int64_t s[MAXD];
    if (n->nin < 2) return node_err(c, n, VIGIL_ERR_INVALID, "needs a shape input");
    int ns = const_ints(c, IN(c, n, 1), s, MAXD), zero = 0;
    int xv = vigil__tfjs_nhwc(c, IN(c, n, 0), in_name(c, n, 0, nm, sizeof nm)), sv;
    if (xv < 0) return nomem(c);
    if (ns >= 0) {
        for (int i = 0; i < ns; i++) zero |= s[i] == 0;
        sv = const_i64(c, n->name, ":shape", s, ns);
    } else {
        int raw = vigil__tfjs_nhwc(c, IN(c, n, 1), in_name(c, n, 1, nm, sizeof nm));
        sv = new_value(c, n->name, ":shape");
        int ci = raw < 0 || sv < 0 ? -1 : emit(c, n->name, "Cast", &raw, 1, &sv, 1);
        if (ci < 0 || attr_int(c, ci, "to", VIGIL_NN_INT64)) return nomem(c);
    }
    int ov = out_value(c, n, 0, 0, ns, IN(c, n, 0)->dtype);
    int ins[2] = {xv, sv};
    int ni = sv < 0 || ov < 0 ? -1 : emit(c, n->name, "Reshape", ins, 2, &ov, 1);
    if (ni < 0 || (zero && attr_int(c, ni, "allowzero", 1))) return nomem(c);
    return VIGIL_OK;
}

static vigil_err_t map_expand_dims(tfjs_ctx_t *c, const tf_node_t *n)
{
    char nm[600];
    int64_t d;
    if (n->nin < 2 || const_ints(c, IN(c, n, 1), &d, 1) != 1)
        return node_err(c, n, VIGIL_ERR_UNSUPPORTED, "dim must be a constant scalar");
    tf_tensor_t *x = IN(c, n, 0);
    int xv = vigil__tfjs_nhwc(c, x, in_name(c, n, 0, nm, sizeof nm)), av = const_i64(c, n->name, ":axes", &d, 1);
    int ov = out_value(c, n, 0, 0, x->rank < 0 ? -1 : x->rank + 1, x->dtype);
    int ins[2] = {xv, av};
    if (xv < 0 || av < 0 || ov < 0 || emit(c, n->name, "Unsqueeze", ins, 2, &ov, 1) < 0) return nomem(c);
    return VIGIL_OK;
}

static vigil_err_t map_strided_slice(tfjs_ctx_t *c, const tf_node_t *n)
{
    char nm[600];
    int64_t b[MAXD], e[MAXD], s[MAXD], ax[MAXD], st[MAXD], en[MAXD], sp[MAXD], sq[MAXD], un[MAXD];
    int ns = 0, nsq = 0, nun = 0, d = 0, o = 0;
    if (n->nin < 4) return node_err(c, n, VIGIL_ERR_INVALID, "needs begin, end and strides");
    int nb = const_ints(c, IN(c, n, 1), b, MAXD), ne = const_ints(c, IN(c, n, 2), e, MAXD),
        nst = const_ints(c, IN(c, n, 3), s, MAXD);
    if (nb < 0 || ne != nb || nst != nb)
        return node_err(c, n, VIGIL_ERR_UNSUPPORTED, "begin, end and strides must be constants of one length (at most %d)", MAXD);
    int64_t bm = vigil__tfjs_attr_i(n, "begin_mask", 0), em = vigil__tfjs_attr_i(n, "end_mask", 0),
            elm = vigil__tfjs_attr_i(n, "ellipsis_mask", 0), nam = vigil__tfjs_attr_i(n, "new_axis_mask", 0),
            sam = vigil__tfjs_attr_i(n, "shrink_axis_mask", 0);
    tf_tensor_t *x = IN(c, n, 0);
    int r = x->rank, seen_ell = 0;
    for (int i = 0; i < nb; i++) {
        if (elm >> i & 1) {
            if (seen_ell++) return node_err(c, n, VIGIL_ERR_INVALID, "attribute ellipsis_mask has several bits");
            if (r < 0) return node_err(c, n, VIGIL_ERR_UNSUPPORTED, "attribute ellipsis_mask on an input of unknown rank");
            int after = 0;
            for (int j = i + 1; j < nb; j++) after += !(nam >> j & 1);
            int cover = r - d - after;
            if (cover < 0) return node_err(c, n, VIGIL_ERR_INVALID, "more slice dims than input dims");
            d += cover, o += cover;
            continue;
        }
        if (nam >> i & 1) {
            un[nun++] = o++;
            continue;
        }
        if (d >= MAXD || (r >= 0 && d >= r)) return node_err(c, n, VIGIL_ERR_INVALID, "more slice dims than input dims");
        if (sam >> i & 1) {
            ax[ns] = d, st[ns] = b[i], en[ns] = b[i] == -1 ? INT64_MAX : b[i] + 1, sp[ns++] = 1;
            sq[nsq++] = d++;
            continue;
        }
        if (!s[i]) return node_err(c, n, VIGIL_ERR_INVALID, "stride 0");
        ax[ns] = d++;
        st[ns] = bm >> i & 1 ? (s[i] > 0 ? 0 : INT64_MAX) : b[i];
        en[ns] = em >> i & 1 ? (s[i] > 0 ? INT64_MAX : INT64_MIN) : e[i];
        sp[ns++] = s[i];
        o++;
    }
    int cur = vigil__tfjs_nhwc(c, x, in_name(c, n, 0, nm, sizeof nm));
    if (cur < 0) return nomem(c);
    int last = ns + nsq + nun == 0 ? 0 : (nun ? 3 : nsq ? 2 : 1);
    int orank = r < 0 ? -1 : r - nsq + nun;
    if (ns) {
        int sv[5] = {cur, const_i64(c, n->name, ":starts", st, ns), const_i64(c, n->name, ":ends", en, ns),
                     const_i64(c, n->name, ":axes", ax, ns), const_i64(c, n->name, ":steps", sp, ns)};
        int ov = last == 1 ? out_value(c, n, 0, 0, orank, x->dtype) : new_value(c, n->name, ":slice");
        if (sv[1] < 0 || sv[2] < 0 || sv[3] < 0 || sv[4] < 0 || ov < 0 || emit(c, n->name, "Slice", sv, 5, &ov, 1) < 0)
            return nomem(c);
        cur = ov;
    }
    if (nsq) {
        int in2[2] = {cur, const_i64(c, n->name, ":squeeze", sq, nsq)};
        int ov = last == 2 ? out_value(c, n, 0, 0, orank, x->dtype) : new_value(c, n->name, ":squeezed");
        if (in2[1] < 0 || ov < 0 || emit(c, n->name, "Squeeze", in2, 2, &ov, 1) < 0) return nomem(c);
        cur = ov;
    }
    if (nun) {
        int in2[2] = {cur, const_i64(c, n->name, ":unsqueeze", un, nun)};
        int ov = out_value(c, n, 0, 0, orank, x->dtype);
        if (in2[1] < 0 || ov < 0 || emit(c, n->name, "Unsqueeze", in2, 2, &ov, 1) < 0) return nomem(c);
    }
    if (!last) {
        int ov = out_value(c, n, 0, 0, orank, x->dtype);
        if (ov < 0 || emit(c, n->name, "Identity", &cur, 1, &ov, 1) < 0) return nomem(c);
    }
    return VIGIL_OK;
}

static vigil_err_t map_topk(tfjs_ctx_t *c, const tf_node_t *n)
{
    char nm[600];
    int64_t k;
    if (n->nin < 2 || const_ints(c, IN(c, n, 1), &k, 1) != 1 || k < 0)
        return node_err(c, n, VIGIL_ERR_UNSUPPORTED, "k must be a constant scalar >= 0");
    tf_tensor_t *x = IN(c, n, 0);
    int xv = vigil__tfjs_nhwc(c, x, in_name(c, n, 0, nm, sizeof nm));
    int outs[2] = {out_value(c, n, 0, 0, x->rank, x->dtype), out_value(c, n, 1, 0, x->rank, VIGIL_NN_INT32)};
    int ni = xv < 0 || outs[0] < 0 || outs[1] < 0 ? -1 : emit(c, n->name, "TfTopKV2", &xv, 1, outs, 2);
    if (ni < 0 || attr_int(c, ni, "k", k) || attr_int(c, ni, "sorted", vigil__tfjs_attr_b(n, "sorted", 1)))
        return nomem(c);
    return VIGIL_OK;
}

static vigil_err_t map_gather(tfjs_ctx_t *c, const tf_node_t *n)
{
    char nm[600];
    int64_t ax;
    if (n->nin < 3 || const_ints(c, IN(c, n, 2), &ax, 1) != 1)
        return node_err(c, n, VIGIL_ERR_UNSUPPORTED, "axis must be a constant scalar");
    if (vigil__tfjs_attr_i(n, "batch_dims", 0) != 0)
        return node_err(c, n, VIGIL_ERR_UNSUPPORTED, "attribute batch_dims %lld (0 only)",
                        (long long)vigil__tfjs_attr_i(n, "batch_dims", 0));
    tf_tensor_t *x = IN(c, n, 0), *i = IN(c, n, 1);
    int ins[2] = {vigil__tfjs_nhwc(c, x, in_name(c, n, 0, nm, sizeof nm)),
                  vigil__tfjs_nhwc(c, i, in_name(c, n, 1, nm, sizeof nm))};
    int rank = x->rank < 0 || i->rank < 0 ? -1 : x->rank + i->rank - 1;
    int ov = out_value(c, n, 0, 0, rank, x->dtype);
    int ni = ins[0] < 0 || ins[1] < 0 || ov < 0 ? -1 : emit(c, n->name, "Gather", ins, 2, &ov, 1);
    if (ni < 0 || attr_int(c, ni, "axis", ax)) return nomem(c);
    return VIGIL_OK;
}

static vigil_err_t map_const(tfjs_ctx_t *c, const tf_node_t *n)
{
    tf_weight_t *w = NULL;
    for (int i = 0; i < c->nweights && !w; i++)
        if (!strcmp(c->weights[i].name, n->name)) w = &c->weights[i];
    if (!w) return node_err(c, n, VIGIL_ERR_INVALID, "no weight named \"%s\" in the weights manifest", n->name);
    vigil_nn_dtype_t decl = vigil__tfjs_attr_type(n, "dtype");
    if (decl && decl != w->dtype)
        return node_err(c, n, VIGIL_ERR_INVALID, "declared dtype %s but the manifest says %s",
                        vigil_nn_dtype_name(decl), vigil_nn_dtype_name(w->dtype));
    /* a declared tensorShape must match the manifest's */
    json_t *ts = n->attr ? json_object_get(json_object_get(json_object_get(n->attr, "value"), "tensor"), "tensorShape") : NULL;
    json_t *dims = json_object_get(ts, "dim");
    if (json_is_array(dims)) {
        int ok = (int)json_array_size(dims) == w->ndim;
        for (int d = 0; ok && d < w->ndim; d++) {
            json_t *sz = json_object_get(json_array_get(dims, (size_t)d), "size");
            int64_t v = json_is_string(sz) ? strtoll(json_string_value(sz), NULL, 10) : json_integer_value(sz);
            ok = v == w->dims[d];
        }
        if (!ok) return node_err(c, n, VIGIL_ERR_INVALID, "declared tensorShape does not match the manifest's shape");
    }
    tf_tensor_t *t = &c->tensors[n->first_tensor];
    int v = vigil__tfjs_weight_value(c, w, n->name);
    if (v < 0) return VIGIL_ERR_NOMEM;
    t->v = v;
    t->rank = w->ndim;
    t->dtype = w->dtype;
    return VIGIL_OK;
}

static vigil_err_t map_placeholder(tfjs_ctx_t *c, const tf_node_t *n)
{
    vigil_nn_dtype_t dt = vigil__tfjs_attr_type(n, "dtype");
    if (!dt) return node_err(c, n, VIGIL_ERR_UNSUPPORTED, "attribute dtype missing or not supported");
    json_t *sh = n->attr ? json_object_get(json_object_get(n->attr, "shape"), "shape") : NULL;
    json_t *dims = json_object_get(sh, "dim");
    if (!json_is_object(sh) || json_is_true(json_object_get(sh, "unknownRank")))
        return node_err(c, n, VIGIL_ERR_UNSUPPORTED, "attribute shape missing or of unknown rank");
    size_t nd = json_is_array(dims) ? json_array_size(dims) : 0;
    if (nd > MAXD) return node_err(c, n, VIGIL_ERR_UNSUPPORTED, "attribute shape of rank %zu", nd);
    tf_tensor_t *t = &c->tensors[n->first_tensor];
    int v = out_value(c, n, 0, 0, (int)nd, dt);
    if (v < 0) return nomem(c);
    nn_value_t *val = &c->g->values[v];
    val->dtype = dt;
    val->ndim = (int)nd;
    for (size_t d = 0; d < nd; d++) {
        json_t *sz = json_object_get(json_array_get(dims, d), "size");
        int64_t s = json_is_string(sz) ? strtoll(json_string_value(sz), NULL, 10) : json_is_integer(sz) ? json_integer_value(sz) : -1;
        if (s < -1 || s > ((int64_t)1 << 31)) return node_err(c, n, VIGIL_ERR_INVALID, "attribute shape: bad size");
        val->dims[d] = s;
    }
    c->g->inputs[c->g->ninputs++] = v;
    (void)t;
    return VIGIL_OK;
}

static const struct { const char *tf, *onnx; int nin; } simple_ops[] = {
    {"Add", "Add", 2},         {"AddV2", "Add", 2},        {"BiasAdd", "Add", 2},
    {"Sub", "Sub", 2},         {"Mul", "Mul", 2},          {"RealDiv", "Div", 2},
    {"Maximum", "Max", 2},     {"Minimum", "Min", 2},      {"Pow", "Pow", 2},
    {"FloorDiv", "TfFloorDiv", 2}, {"FloorMod", "TfFloorMod", 2},
    {"Relu", "Relu", 1},       {"Relu6", "Relu6", 1},      {"Elu", "Elu", 1},
    {"LeakyRelu", "LeakyRelu", 1}, {"Sigmoid", "Sigmoid", 1}, {"Tanh", "Tanh", 1},
    {"Identity", "Identity", 1}, {"Snapshot", "Identity", 1}, {"StopGradient", "Identity", 1},
    {"Exp", "Exp", 1},         {"Log", "Log", 1},          {"Sqrt", "Sqrt", 1},
    {"Neg", "Neg", 1},         {"Abs", "Abs", 1},          {"Floor", "Floor", 1},
    {"Ceil", "Ceil", 1},
};

vigil_err_t vigil__tfjs_map_node(tfjs_ctx_t *c, int i)
{
    const tf_node_t *n = &c->nodes[i];
    const char *op = n->op;
    for (int k = 0; k < n->nin; k++) {
        tf_tensor_t *t = IN(c, n, k);
        if (t->v < 0 && t->v_nchw < 0)
            return node_err(c, n, VIGIL_ERR_INVALID, "input %d has no value", k);
    }
    if (!strcmp(op, "Const")) return map_const(c, n);
    if (!strcmp(op, "Placeholder")) return map_placeholder(c, n);
    if (n->nin < 1) return node_err(c, n, VIGIL_ERR_INVALID, "has no inputs");
    if (!strcmp(op, "Conv2D") || !strcmp(op, "_FusedConv2D") || !strcmp(op, "DepthwiseConv2dNative") ||
        !strcmp(op, "FusedDepthwiseConv2dNative"))
        return map_conv(c, n);
    if (!strcmp(op, "MaxPool") || !strcmp(op, "AvgPool")) return map_pool(c, n);
    if (!strcmp(op, "ResizeBilinear") || !strcmp(op, "ResizeNearestNeighbor")) return map_resize(c, n);
    if (!strcmp(op, "ConcatV2")) return map_concat(c, n);
    if (!strcmp(op, "Mean")) return map_mean(c, n);
    if (!strcmp(op, "Reshape")) return map_reshape(c, n);
    if (!strcmp(op, "ExpandDims")) return map_expand_dims(c, n);
    if (!strcmp(op, "StridedSlice")) return map_strided_slice(c, n);
    if (!strcmp(op, "TopKV2")) return map_topk(c, n);
    if (!strcmp(op, "GatherV2")) return map_gather(c, n);
    if (!strcmp(op, "Equal") || !strcmp(op, "Greater") || !strcmp(op, "Less"))
        return map_elementwise(c, n, op, 2, VIGIL_NN_BOOL);
    if (!strcmp(op, "Cast")) {
        vigil_nn_dtype_t to = vigil__tfjs_attr_type(n, "DstT");
        if (!to) return node_err(c, n, VIGIL_ERR_UNSUPPORTED, "attribute DstT missing or not supported");
        return map_elementwise(c, n, "Cast", 1, to);
    }
    for (size_t k = 0; k < sizeof simple_ops / sizeof simple_ops[0]; k++)
        if (!strcmp(op, simple_ops[k].tf)) return map_elementwise(c, n, simple_ops[k].onnx, simple_ops[k].nin, 0);
    return node_err(c, n, VIGIL_ERR_UNSUPPORTED, "op not supported by the TF.js loader");
}
