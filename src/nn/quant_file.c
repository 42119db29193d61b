/* Reading and applying a quantized-layer file (quant_int.h has the
 * format). Everything is checked before the graph is touched: magic,
 * version, checksum, every length against the bytes left (so a count in
 * the file never makes us allocate more than the file's size), scales,
 * zero points, weight ranges, and that each layer names a Conv of this
 * model with weights of its shape. Then each named Conv becomes a
 * VigilQConv (src/nn/cpu/ops_qconv.c) with its weights packed once. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/qconv.h"
#include "nn/quant_int.h"
#include "vigil/file.h"
#include "vigil/nn_quant.h"

extern const nn_op_t vigil__nn_op_qconv;

uint32_t vigil__nn_fnv1a(const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

int vigil__nn_quant_conv_ok(const nn_graph_t *g, int ni)
{
    const nn_node_t *n = &g->nodes[ni];
    if (n->dead || strcmp(n->op_type, "Conv") || n->ninputs < 2 || n->inputs[1] < 0) return 0;
    const nn_value_t *w = &g->values[n->inputs[1]];
    if (!w->data || w->dtype != VIGIL_NN_FLOAT32 || w->ndim != 4) return 0;
    if (n->ninputs > 2 && n->inputs[2] >= 0) {
        const nn_value_t *b = &g->values[n->inputs[2]];
        if (!b->data || b->dtype != VIGIL_NN_FLOAT32) return 0;
    }
    for (int k = 0; k < 4; k++)
        if (w->dims[k] < 1) return 0;
    return w->dims[1] * w->dims[2] * w->dims[3] <= NN_QCONV_K_MAX;
}

typedef struct qlayer {
    const char *name; /* not terminated: namelen */
    size_t namelen;
    uint32_t M, K;
    float xs;
    int32_t zp;
    const uint8_t *ws; /* M floats, unaligned */
    const int8_t *w;
    int node;
} qlayer_t;

typedef struct rd {
    const uint8_t *p, *end;
} rd_t;

static int rd_bytes(rd_t *r, size_t n, const uint8_t **out)
{
    if ((size_t)(r->end - r->p) < n) return -1;
    *out = r->p;
    r->p += n;
    return 0;
}

static int rd_u32(rd_t *r, uint32_t *v)
{
    const uint8_t *b;
    if (rd_bytes(r, 4, &b)) return -1;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 0;
}

static float u32_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static float rd_float_at(const uint8_t *b)
{
    return u32_float((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
}

static int scale_ok(float s)
{
    return isfinite(s) && s > 0 && s < 1e30f;
}

/* Parses and checks the whole file into layers[0..*n) (malloc'd). */
static vigil_err_t parse(const nn_graph_t *g, const uint8_t *buf, size_t len, const char *origin,
                         qlayer_t **out, uint32_t *nout, char *errstr, size_t errstr_size)
{
    *out = NULL;
    if (len < 16 || memcmp(buf, NN_QUANT_MAGIC, 4))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "quantized model %s: not a vigil quantized-layer file (no VGQ8 header)", origin);
    uint32_t sum = (uint32_t)buf[len - 4] | (uint32_t)buf[len - 3] << 8 | (uint32_t)buf[len - 2] << 16 |
                   (uint32_t)buf[len - 1] << 24;
    rd_t r = {buf + 4, buf + len - 4};
    uint32_t ver, nl;
    rd_u32(&r, &ver);
    rd_u32(&r, &nl);
    if (ver != NN_QUANT_VERSION)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                            "quantized model %s: version %u (this vigil reads %u)", origin, ver, NN_QUANT_VERSION);
    if (vigil__nn_fnv1a(buf, len - 4) != sum)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "quantized model %s: checksum mismatch (file corrupt or truncated, %zu bytes)", origin, len);
    /* a layer takes at least 2 + 4 * 4 + 4 + 1 bytes */
    if (nl == 0 || nl > len / 23)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "quantized model %s: %u layers in %zu bytes", origin, nl, len);
    qlayer_t *L = calloc(nl, sizeof *L);
    uint8_t *seen = calloc((size_t)g->nnodes + 1, 1);
    vigil_err_t err = VIGIL_OK;
    if (!L || !seen) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "quantized model %s: out of memory", origin);
        goto done;
    }
    for (uint32_t i = 0; i < nl; i++) {
        qlayer_t *q = &L[i];
        const uint8_t *b;
        uint32_t xs, zp;
        if (rd_bytes(&r, 2, &b)) goto trunc;
        q->namelen = (size_t)b[0] | (size_t)b[1] << 8;
        if (q->namelen == 0 || q->namelen > NN_QUANT_NAME_MAX) {
            err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "quantized model %s: layer %u: name of %zu bytes",
                               origin, i, q->namelen);
            goto done;
        }
        if (rd_bytes(&r, q->namelen, &b)) goto trunc;
        q->name = (const char *)b;
        if (rd_u32(&r, &q->M) || rd_u32(&r, &q->K) || rd_u32(&r, &xs) || rd_u32(&r, &zp)) goto trunc;
        q->xs = u32_float(xs);
        q->zp = (int32_t)zp;
        int nm = (int)q->namelen;
        if (!q->M || !q->K || q->K > NN_QCONV_K_MAX) {
            err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "quantized model %s: layer \"%.*s\": %u x %u weights",
                               origin, nm, q->name, q->M, q->K);
            goto done;
        }
        if (!scale_ok(q->xs)) {
            err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                               "quantized model %s: layer \"%.*s\": input scale %g (must be finite and > 0)", origin, nm,
                               q->name, (double)q->xs);
            goto done;
        }
        if (q->zp < 0 || q->zp > 255) {
            err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                               "quantized model %s: layer \"%.*s\": input zero point %d out of [0, 255]", origin, nm,
                               q->name, (int)q->zp);
            goto done;
        }
        if ((size_t)(r.end - r.p) / 4 < q->M || rd_bytes(&r, 4 * (size_t)q->M, &q->ws)) goto trunc;
        for (uint32_t m = 0; m < q->M; m++) {
            float s = rd_float_at(q->ws + 4 * m);
            if (!scale_ok(s)) {
                err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                   "quantized model %s: layer \"%.*s\": weight scale %u is %g (must be finite and > 0)",
                                   origin, nm, q->name, m, (double)s);
                goto done;
            }
        }
        if ((size_t)(r.end - r.p) / q->M < q->K || rd_bytes(&r, (size_t)q->M * q->K, &b)) goto trunc;
        q->w = (const int8_t *)b;
        for (size_t k = 0; k < (size_t)q->M * q->K; k++)
            if (q->w[k] == -128) {
                err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                   "quantized model %s: layer \"%.*s\": weight -128 (symmetric weights are in [-127, 127])",
                                   origin, nm, q->name);
                goto done;
            }
        /* the Conv it names */
        q->node = -1;
        for (int ni = 0; ni < g->nnodes && q->node < 0; ni++) {
            const char *nn = g->nodes[ni].name;
            if (!g->nodes[ni].dead && nn && strlen(nn) == q->namelen && !memcmp(nn, q->name, q->namelen)) q->node = ni;
        }
        if (q->node < 0 || !vigil__nn_quant_conv_ok(g, q->node)) {
            err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                               "quantized model %s: layer \"%.*s\": %s", origin, nm, q->name,
                               q->node < 0 ? "no such node in the float model (made from another model?)"
                                           : "not a float Conv with constant weights in this model");
            goto done;
        }
        if (seen[q->node]) {
            err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "quantized model %s: layer \"%.*s\" listed twice",
                               origin, nm, q->name);
            goto done;
        }
        seen[q->node] = 1;
        const nn_value_t *wv = &g->values[g->nodes[q->node].inputs[1]];
        if (wv->dims[0] != q->M || wv->dims[1] * wv->dims[2] * wv->dims[3] != q->K) {
            err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                               "quantized model %s: layer \"%.*s\": %u x %u weights, the float model's are %lld x %lld",
                               origin, nm, q->name, q->M, q->K, (long long)wv->dims[0],
                               (long long)(wv->dims[1] * wv->dims[2] * wv->dims[3]));
            goto done;
        }
    }
    if (r.p != r.end) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "quantized model %s: %zu bytes after the last layer",
                           origin, (size_t)(r.end - r.p));
        goto done;
    }
    *out = L;
    *nout = nl;
    L = NULL;
    goto done;
trunc:
    err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "quantized model %s: truncated (%zu bytes)", origin, len);
done:
    free(L);
    free(seen);
    return err;
}

static int add_const(nn_graph_t *g, const char *base, const char *suffix, vigil_nn_dtype_t dt, int ndim,
                     const int64_t *dims, void *data)
{
    char name[NN_QUANT_NAME_MAX + 32];
    snprintf(name, sizeof name, "%s%s", base, suffix);
    int v = vigil__nn_graph_add_value(g, name);
    if (v < 0) return -1;
    nn_value_t *val = &g->values[v];
    val->dtype = dt;
    val->ndim = ndim;
    memcpy(val->dims, dims, sizeof(int64_t) * (size_t)ndim);
    val->data = data;
    val->producer = -1;
    return v;
}

/* Rewrites the node of q into a VigilQConv. */
static vigil_err_t rewrite(nn_graph_t *g, const qlayer_t *q)
{
    nn_node_t *n = &g->nodes[q->node];
    int64_t wd[4];
    memcpy(wd, g->values[n->inputs[1]].dims, sizeof wd);
    int64_t M = q->M, K = q->K, group = vigil__nn_attr_int(n, "group", 1);
    int8_t *w = malloc((size_t)(M * K));
    float *ws = malloc(sizeof(float) * (size_t)M), *qp = malloc(2 * sizeof(float));
    int *ins = malloc(5 * sizeof(int));
    void *packed = NULL;
    int dw = wd[1] == 1 && group == M && group > 1;
    if (!w || !ws || !qp || !ins) goto nomem;
    memcpy(w, q->w, (size_t)(M * K));
    for (int64_t m = 0; m < M; m++) ws[m] = rd_float_at(q->ws + 4 * m);
    qp[0] = q->xs;
    qp[1] = (float)q->zp;
    if (!dw && group >= 1 && M % group == 0) {
        if (!(packed = malloc(vigil__nn_qpack_weights_len(M, K, group)))) goto nomem;
        vigil__nn_qpack_weights(w, M, K, group, packed);
    }
    const char *base = n->name ? n->name : "conv";
    int64_t d1[1] = {M}, d2[1] = {2};
    int vw = add_const(g, base, "/int8_weights", VIGIL_NN_INT8, 4, wd, w);
    if (vw < 0) goto nomem;
    w = NULL;
    int vs = add_const(g, base, "/int8_weight_scales", VIGIL_NN_FLOAT32, 1, d1, ws);
    if (vs < 0) goto nomem;
    ws = NULL;
    int vq = add_const(g, base, "/int8_input_quant", VIGIL_NN_FLOAT32, 1, d2, qp);
    if (vq < 0) goto nomem;
    qp = NULL;
    n = &g->nodes[q->node];
    char *type = strdup("VigilQConv");
    if (!type) goto nomem;
    ins[0] = n->inputs[0];
    ins[1] = vw;
    ins[2] = n->ninputs > 2 ? n->inputs[2] : -1;
    ins[3] = vs;
    ins[4] = vq;
    free(n->inputs);
    n->inputs = ins;
    n->ninputs = 5;
    free(n->op_type);
    n->op_type = type;
    n->op = &vigil__nn_op_qconv;
    free(n->packed_w);
    n->packed_w = (float *)(void *)packed;
    return VIGIL_OK;
nomem:
    free(w);
    free(ws);
    free(qp);
    free(ins);
    free(packed);
    return VIGIL_ERR_NOMEM;
}

vigil_err_t vigil_nn_model_apply_quant_buf(vigil_nn_model_t *m, const void *buf, size_t len, const char *origin,
                                           char *errstr, size_t errstr_size)
{
    qlayer_t *L = NULL;
    uint32_t nl = 0;
    vigil_err_t err = parse(&m->g, buf, len, origin, &L, &nl, errstr, errstr_size);
    if (err) return err;
    for (uint32_t i = 0; i < nl && !err; i++)
        if ((err = rewrite(&m->g, &L[i])))
            vigil_seterr(errstr, errstr_size, err, "quantized model %s: out of memory", origin);
    free(L);
    return err;
}

vigil_err_t vigil_nn_model_apply_quant(vigil_nn_model_t *m, const char *path, char *errstr, size_t errstr_size)
{
    char *buf = NULL;
    size_t len = 0;
    vigil_err_t err = vigil_file_read(path, VIGIL_NN_MODEL_FILE_MAX, &buf, &len, errstr, errstr_size);
    if (err) return err;
    err = vigil_nn_model_apply_quant_buf(m, buf, len, path, errstr, errstr_size);
    free(buf);
    return err;
}
