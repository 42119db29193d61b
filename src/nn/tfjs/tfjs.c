/* TF.js graph-model loader: model.json (a GraphDef in JSON plus a weights
 * manifest) and its weight shards into the vigil-nn IR.
 *
 * Main idea: the manifest is laid over the concatenated shards (every
 * weight's bytes are checked before any is read); TF nodes are indexed by
 * name, their "^ctrl" inputs dropped and "name:k" inputs resolved, ordered
 * topologically (a cycle is an error naming a node on it), and each node is
 * then mapped to IR nodes by tfjs_map.c, which also handles the NHWC -> NCHW
 * layout. Weights are dequantised (float16, uint8/uint16 affine) into
 * float32 constants when a Const node takes them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"
#include "vigil/file.h"
#include "nn/tfjs/tfjs_int.h"

#define TF_MAX_NODES (1 << 20)

/* ---- attributes ------------------------------------------------------------------- */

size_t vigil__tfjs_b64_decode(const char *in, uint8_t *out, size_t max)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (const char *p = in; *p && *p != '='; p++) {
        const char *q = *p == '-' ? tbl + 62 : *p == '_' ? tbl + 63 : strchr(tbl, *p);
        if (!q || !*q) continue;
        acc = (acc << 6) | (uint32_t)(q - tbl);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n < max) out[n] = (uint8_t)(acc >> bits);
            n++;
        }
    }
    return n < max ? n : max;
}

static json_t *attr_get(const tf_node_t *n, const char *key)
{
    return n->attr ? json_object_get(n->attr, key) : NULL;
}

int vigil__tfjs_attr_has(const tf_node_t *n, const char *key) { return attr_get(n, key) != NULL; }

static int64_t json_int(json_t *v, int64_t def)
{
    if (json_is_integer(v)) return json_integer_value(v);
    if (json_is_string(v)) return strtoll(json_string_value(v), NULL, 10);
    if (json_is_real(v)) return (int64_t)json_real_value(v);
    return def;
}

int64_t vigil__tfjs_attr_i(const tf_node_t *n, const char *key, int64_t def)
{
    json_t *a = attr_get(n, key);
    return a ? json_int(json_object_get(a, "i"), def) : def;
}

float vigil__tfjs_attr_f(const tf_node_t *n, const char *key, float def)
{
    json_t *a = attr_get(n, key), *f = a ? json_object_get(a, "f") : NULL;
    if (json_is_number(f)) return (float)json_number_value(f);
    if (json_is_string(f)) return strtof(json_string_value(f), NULL);
    return def;
}

int vigil__tfjs_attr_b(const tf_node_t *n, const char *key, int def)
{
    json_t *a = attr_get(n, key), *b = a ? json_object_get(a, "b") : NULL;
    if (json_is_boolean(b)) return json_is_true(b);
    return def;
}

static const char *b64_str(const char *in, char *buf, size_t size)
{
    size_t k = vigil__tfjs_b64_decode(in, (uint8_t *)buf, size - 1);
    buf[k] = 0;
    return buf;
}

const char *vigil__tfjs_attr_s(const tf_node_t *n, const char *key, const char *def, char *buf,
                               size_t size)
{
    json_t *a = attr_get(n, key), *s = a ? json_object_get(a, "s") : NULL;
    if (!json_is_string(s)) return def;
    return b64_str(json_string_value(s), buf, size);
}

int vigil__tfjs_attr_ints(const tf_node_t *n, const char *key, int64_t *v, int max)
{
    json_t *a = attr_get(n, key), *l = a ? json_object_get(a, "list") : NULL;
    if (!json_is_object(l)) return -1;
    json_t *arr = json_object_get(l, "i");
    if (!json_is_array(arr)) return 0;
    int k = 0;
    for (size_t i = 0; i < json_array_size(arr) && k < max; i++) v[k++] = json_int(json_array_get(arr, i), 0);
    return (int)json_array_size(arr) > max ? max + 1 : k;
}

int vigil__tfjs_attr_strs(const tf_node_t *n, const char *key, int k, char *buf, size_t size)
{
    json_t *a = attr_get(n, key), *l = a ? json_object_get(a, "list") : NULL;
    json_t *arr = json_is_object(l) ? json_object_get(l, "s") : NULL;
    if (!json_is_array(arr)) return 0;
    json_t *e = json_array_get(arr, (size_t)k);
    if (buf && size) {
        buf[0] = 0;
        if (json_is_string(e)) b64_str(json_string_value(e), buf, size);
    }
    return (int)json_array_size(arr);
}

vigil_nn_dtype_t vigil__tfjs_dtype(const char *s)
{
    static const struct { const char *tf, *js; vigil_nn_dtype_t d; } map[] = {
        {"DT_FLOAT", "float32", VIGIL_NN_FLOAT32}, {"DT_INT32", "int32", VIGIL_NN_INT32},
        {"DT_BOOL", "bool", VIGIL_NN_BOOL},        {"DT_INT64", "int64", VIGIL_NN_INT64},
        {"DT_UINT8", "uint8", VIGIL_NN_UINT8},     {"DT_INT8", "int8", VIGIL_NN_INT8},
        {"DT_INT16", "int16", VIGIL_NN_INT16},     {"DT_UINT16", "uint16", VIGIL_NN_UINT16},
        {"DT_HALF", "float16", VIGIL_NN_FLOAT16},  {"DT_DOUBLE", "float64", VIGIL_NN_FLOAT64},
    };
    if (!s) return VIGIL_NN_UNDEFINED;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(s, map[i].tf) || !strcmp(s, map[i].js)) return map[i].d;
    return VIGIL_NN_UNDEFINED;
}

vigil_nn_dtype_t vigil__tfjs_attr_type(const tf_node_t *n, const char *key)
{
    json_t *a = attr_get(n, key), *t = a ? json_object_get(a, "type") : NULL;
    return json_is_string(t) ? vigil__tfjs_dtype(json_string_value(t)) : VIGIL_NN_UNDEFINED;
}

/* ---- name index ------------------------------------------------------------------------ */

typedef struct name_map {
    int *slot;
    size_t cap;
} name_map_t;

static size_t hash_str(const char *s, size_t len)
{
    size_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static int map_find(const name_map_t *m, const tf_node_t *nodes, const char *s, size_t len)
{
    for (size_t i = hash_str(s, len) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        int k = m->slot[i];
        if (k < 0) return -1;
        if (strlen(nodes[k].name) == len && !memcmp(nodes[k].name, s, len)) return k;
    }
}

/* Splits "name:k" (k digits) into name length and k. */
static size_t split_ref(const char *ref, int *k)
{
    size_t len = strlen(ref);
    const char *colon = strrchr(ref, ':');
    *k = 0;
    if (colon && colon[1]) {
        const char *p = colon + 1;
        while (*p >= '0' && *p <= '9') p++;
        if (!*p && p - colon <= 6) {
            *k = atoi(colon + 1);
            len = (size_t)(colon - ref);
        }
    }
    return len;
}

/* ---- weights manifest -------------------------------------------------------------------- */

static int quant_size(int q) { return q == 1 ? 1 : 2; }

/* Lays the manifest over the concatenated shards, checking every size. */
static vigil_err_t parse_manifest(tfjs_ctx_t *c, json_t *man, const size_t *shard_len,
                                  size_t nshards)
{
    size_t total = 0, nw = 0, shard_ix = 0;
    if (!man) return VIGIL_OK;
    if (!json_is_array(man))
        return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_DECODE,
                            "tfjs: weightsManifest is not an array");
    for (size_t gi = 0; gi < json_array_size(man); gi++) {
        json_t *ws = json_object_get(json_array_get(man, gi), "weights");
        if (!json_is_array(ws))
            return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_DECODE,
                                "tfjs: weightsManifest[%zu] has no weights array", gi);
        nw += json_array_size(ws);
    }
    if (nw > TF_MAX_NODES)
        return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_DECODE, "tfjs: %zu weights", nw);
    c->weights = calloc(nw + 1, sizeof *c->weights);
    if (!c->weights) return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_NOMEM, "tfjs: out of memory");
    for (size_t gi = 0; gi < json_array_size(man); gi++) {
        json_t *grp = json_array_get(man, gi), *ws = json_object_get(grp, "weights");
        json_t *paths = json_object_get(grp, "paths");
        size_t npaths = json_is_array(paths) ? json_array_size(paths) : 0;
        const char *last_path = npaths ? json_string_value(json_array_get(paths, npaths - 1)) : NULL;
        size_t group_start = total, group_end = c->wlen;
        if (shard_len) { /* from files: each group must fit its own shards */
            group_end = group_start;
            for (size_t k = 0; k < npaths && shard_ix < nshards; k++) group_end += shard_len[shard_ix++];
        }
        for (size_t wi = 0; wi < json_array_size(ws); wi++) {
            json_t *jw = json_array_get(ws, wi);
            tf_weight_t *w = &c->weights[c->nweights];
            json_t *jname = json_object_get(jw, "name"), *jshape = json_object_get(jw, "shape");
            json_t *jq = json_object_get(jw, "quantization");
            const char *dts = json_string_value(json_object_get(jw, "dtype"));
            if (!json_is_string(jname) || !json_is_array(jshape) || !dts)
                return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_DECODE,
                                    "tfjs: weightsManifest[%zu].weights[%zu]: name, shape or dtype missing",
                                    gi, wi);
            w->name = json_string_value(jname);
            w->dtype = vigil__tfjs_dtype(dts);
            if (!w->dtype || w->dtype == VIGIL_NN_FLOAT16 || w->dtype == VIGIL_NN_FLOAT64)
                return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_UNSUPPORTED,
                                    "unsupported: tfjs: weight \"%s\": dtype \"%s\"", w->name, dts);
            if (json_array_size(jshape) > VIGIL_NN_MAX_DIMS)
                return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_UNSUPPORTED,
                                    "unsupported: tfjs: weight \"%s\": rank %zu", w->name,
                                    json_array_size(jshape));
            w->ndim = (int)json_array_size(jshape);
            uint64_t numel = 1;
            for (int d = 0; d < w->ndim; d++) {
                json_t *jd = json_array_get(jshape, (size_t)d);
                int64_t v = json_int(jd, -1);
                if (!json_is_integer(jd) || v < 0 || v > ((int64_t)1 << 32))
                    return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_DECODE,
                                        "tfjs: weight \"%s\": bad shape", w->name);
                w->dims[d] = v;
                numel *= (uint64_t)v;
                if (numel > ((uint64_t)1 << 34))
                    return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_DECODE,
                                        "tfjs: weight \"%s\": shape too large", w->name);
            }
            size_t esize = vigil_nn_dtype_size(w->dtype);
            if (jq) {
                const char *qd = json_string_value(json_object_get(jq, "dtype"));
                w->quant = !qd ? 0 : !strcmp(qd, "uint8") ? 1 : !strcmp(qd, "uint16") ? 2
                                                               : !strcmp(qd, "float16") ? 3 : 0;
                if (!w->quant)
                    return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_UNSUPPORTED,
                                        "unsupported: tfjs: weight \"%s\": quantization dtype \"%s\"",
                                        w->name, qd ? qd : "(none)");
                if (w->quant != 3) {
                    json_t *js = json_object_get(jq, "scale"), *jm = json_object_get(jq, "min");
                    if (!json_is_number(js) || !json_is_number(jm))
                        return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_DECODE,
                                            "tfjs: weight \"%s\": quantization without scale and min",
                                            w->name);
                    w->scale = (float)json_number_value(js);
                    w->min = (float)json_number_value(jm);
                }
                if (w->dtype != VIGIL_NN_FLOAT32 && w->dtype != VIGIL_NN_INT32)
                    return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_UNSUPPORTED,
                                        "unsupported: tfjs: weight \"%s\": quantized %s", w->name, dts);
                esize = (size_t)quant_size(w->quant);
            }
            w->offset = total;
            w->bytes = (size_t)numel * esize;
            if (w->bytes > group_end || total > group_end - w->bytes)
                return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_DECODE,
                                    "tfjs: weight shard \"%s\" is shorter than its manifest: weight "
                                    "\"%s\" needs bytes %zu..%zu of the group, its shards end at %zu",
                                    last_path ? last_path : "(none)", w->name, total - group_start,
                                    total - group_start + w->bytes, group_end - group_start);
            total += w->bytes;
            c->nweights++;
        }
        if (shard_len && total != group_end)
            return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_DECODE,
                                "tfjs: weight shard \"%s\" holds %zu bytes more than its manifest "
                                "describes: a tensor's declared size does not match its data",
                                last_path ? last_path : "(none)", group_end - total);
    }
    if (total != c->wlen)
        return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_DECODE,
                            "tfjs: weight shards hold %zu bytes but the manifest describes %zu: a "
                            "tensor's declared size does not match its data",
                            c->wlen, total);
    return VIGIL_OK;
}

int vigil__tfjs_weight_value(tfjs_ctx_t *c, tf_weight_t *w, const char *value_name)
{
    int64_t n = vigil__nn_numel(w->ndim, w->dims);
    size_t es = vigil_nn_dtype_size(w->dtype);
    void *data = malloc((size_t)n * es + 1);
    if (!data) {
        vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_NOMEM, "tfjs: out of memory for weight \"%s\"", w->name);
        return -1;
    }
    const uint8_t *src = c->wbuf + w->offset;
    if (!w->quant) {
        memcpy(data, src, w->bytes);
    } else {
        for (int64_t i = 0; i < n; i++) {
            float f;
            if (w->quant == 1) {
                f = w->min + w->scale * (float)src[i];
            } else {
                uint16_t h = (uint16_t)(src[2 * i] | (src[2 * i + 1] << 8));
                f = w->quant == 3 ? vigil__nn_half_to_float(h) : w->min + w->scale * (float)h;
            }
            if (w->dtype == VIGIL_NN_FLOAT32) {
                ((float *)data)[i] = f;
            } else {
                float r = f < 0 ? f - 0.5f : f + 0.5f;
                ((int32_t *)data)[i] = r >= 2147483647.0f ? INT32_MAX : r <= -2147483648.0f ? INT32_MIN : (int32_t)r;
            }
        }
    }
    int v = vigil__nn_graph_add_value(c->g, value_name);
    if (v < 0) {
        free(data);
        vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_NOMEM, "tfjs: out of memory");
        return -1;
    }
    nn_value_t *val = &c->g->values[v];
    val->dtype = w->dtype;
    val->ndim = w->ndim;
    memcpy(val->dims, w->dims, sizeof val->dims);
    val->data = data;
    return v;
}

/* ---- nodes ---------------------------------------------------------------------------------- */

static vigil_err_t parse_nodes(tfjs_ctx_t *c, json_t *jnodes, name_map_t *m)
{
    size_t nn = json_array_size(jnodes);
    if (nn > TF_MAX_NODES)
        return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_DECODE, "tfjs: %zu nodes", nn);
    c->nodes = calloc(nn + 1, sizeof *c->nodes);
    m->cap = 16;
    while (m->cap < 2 * nn + 2) m->cap *= 2;
    m->slot = malloc(sizeof(int) * m->cap);
    if (!c->nodes || !m->slot) return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_NOMEM, "tfjs: out of memory");
    memset(m->slot, 0xff, sizeof(int) * m->cap);
    for (size_t i = 0; i < nn; i++) {
        json_t *jn = json_array_get(jnodes, i);
        tf_node_t *n = &c->nodes[c->nnodes];
        n->name = json_string_value(json_object_get(jn, "name"));
        n->op = json_string_value(json_object_get(jn, "op"));
        if (!n->name || !n->op || !*n->name)
            return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_DECODE,
                                "tfjs: modelTopology.node[%zu] has no name or op", i);
        json_t *attr = json_object_get(jn, "attr");
        n->attr = json_is_object(attr) ? attr : NULL;
        size_t len = strlen(n->name), h = hash_str(n->name, len) & (m->cap - 1);
        if (map_find(m, c->nodes, n->name, len) >= 0)
            return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_DECODE,
                                "tfjs: two nodes are named \"%s\"", n->name);
        while (m->slot[h] >= 0) h = (h + 1) & (m->cap - 1);
        m->slot[h] = c->nnodes++;
        n->nout = !strcmp(n->op, "TopKV2") || !strcmp(n->op, "Unique") ? 2 : 1;
    }
    for (int i = 0; i < c->nnodes; i++) {
        tf_node_t *n = &c->nodes[i];
        json_t *ins = json_object_get(json_array_get(jnodes, (size_t)i), "input");
        size_t ni = json_is_array(ins) ? json_array_size(ins) : 0;
        n->in_node = malloc(sizeof(int) * (ni + 1));
        n->in_out = malloc(sizeof(int) * (ni + 1));
        if (!n->in_node || !n->in_out) return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_NOMEM, "tfjs: out of memory");
        for (size_t k = 0; k < ni; k++) {
            const char *ref = json_string_value(json_array_get(ins, k));
            if (!ref)
                return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_DECODE,
                                    "tfjs: node \"%s\": input %zu is not a string", n->name, k);
            if (ref[0] == '^') continue; /* control dependency: order only */
            int out;
            size_t len = split_ref(ref, &out);
            int src = map_find(m, c->nodes, ref, len);
            if (src < 0)
                return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_INVALID,
                                    "tfjs: node \"%s\" (op %s): input \"%s\" is not defined", n->name,
                                    n->op, ref);
            if (out >= c->nodes[src].nout)
                return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_INVALID,
                                    "tfjs: node \"%s\" (op %s): input \"%s\": node \"%s\" (op %s) has %d output%s",
                                    n->name, n->op, ref, c->nodes[src].name, c->nodes[src].op,
                                    c->nodes[src].nout, c->nodes[src].nout > 1 ? "s" : "");
            n->in_node[n->nin] = src;
            n->in_out[n->nin++] = out;
        }
    }
    return VIGIL_OK;
}

/* Kahn's order of the TF nodes; a cycle is an error naming a node on it. */
static vigil_err_t order_nodes(tfjs_ctx_t *c, int *order)
{
    int n = c->nnodes, head = 0, tail = 0;
    int *indeg = calloc((size_t)n + 1, sizeof(int)), *start = calloc((size_t)n + 2, sizeof(int));
    int *adj = NULL, *fill = NULL;
    size_t nadj = 0;
    vigil_err_t err = VIGIL_OK;
    if (!indeg || !start) goto nomem;
    for (int i = 0; i < n; i++) {
        nadj += (size_t)c->nodes[i].nin;
        indeg[i] = c->nodes[i].nin;
        for (int k = 0; k < c->nodes[i].nin; k++) start[c->nodes[i].in_node[k] + 1]++;
    }
    for (int i = 0; i < n; i++) start[i + 1] += start[i];
    adj = malloc(sizeof(int) * (nadj + 1));
    fill = calloc((size_t)n + 1, sizeof(int));
    if (!adj || !fill) goto nomem;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < c->nodes[i].nin; k++) {
            int s = c->nodes[i].in_node[k];
            adj[start[s] + fill[s]++] = i;
        }
    for (int i = 0; i < n; i++)
        if (!indeg[i]) order[tail++] = i;
    while (head < tail) {
        int u = order[head++];
        for (int k = start[u]; k < start[u + 1]; k++)
            if (--indeg[adj[k]] == 0) order[tail++] = adj[k];
    }
    if (tail < n) {
        int bad = 0;
        while (bad < n && !indeg[bad]) bad++;
        err = vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_INVALID,
                           "tfjs: the graph has a cycle through node \"%s\" (op %s)",
                           c->nodes[bad].name, c->nodes[bad].op);
    }
    goto done;
nomem:
    err = vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_NOMEM, "tfjs: out of memory");
done:
    free(indeg);
    free(start);
    free(adj);
    free(fill);
    return err;
}

/* Graph outputs: the signature's outputs, else every non-Const node whose
 * outputs nobody reads. */
static vigil_err_t set_outputs(tfjs_ctx_t *c, json_t *root, name_map_t *m)
{
    json_t *outs = json_object_get(json_object_get(root, "signature"), "outputs");
    int cap = c->nnodes + (json_is_object(outs) ? (int)json_object_size(outs) : 0) + 1;
    c->g->outputs = malloc(sizeof(int) * (size_t)cap);
    if (!c->g->outputs) return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_NOMEM, "tfjs: out of memory");
    if (json_is_object(outs) && json_object_size(outs)) {
        const char *key;
        json_t *o;
        json_object_foreach(outs, key, o) {
            const char *ref = json_string_value(json_object_get(o, "name"));
            if (!ref) ref = key;
            int k;
            size_t len = split_ref(ref, &k);
            int src = map_find(m, c->nodes, ref, len);
            if (src < 0 || k >= c->nodes[src].nout)
                return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_INVALID,
                                    "tfjs: signature output \"%s\" is not a node output", ref);
            char name[512];
            snprintf(name, sizeof name, k ? "%.*s:%d" : "%.*s", (int)len, ref, k);
            tf_tensor_t *t = &c->tensors[c->nodes[src].first_tensor + k];
            int v = vigil__tfjs_nhwc(c, t, name);
            if (v < 0) return VIGIL_ERR_NOMEM;
            c->g->outputs[c->g->noutputs++] = v;
        }
        return VIGIL_OK;
    }
    uint8_t *used = calloc((size_t)c->nnodes + 1, 1);
    if (!used) return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_NOMEM, "tfjs: out of memory");
    for (int i = 0; i < c->nnodes; i++)
        for (int k = 0; k < c->nodes[i].nin; k++) used[c->nodes[i].in_node[k]] = 1;
    for (int i = 0; i < c->nnodes; i++) {
        if (used[i] || !strcmp(c->nodes[i].op, "Const") || !strcmp(c->nodes[i].op, "Placeholder"))
            continue;
        tf_tensor_t *t = &c->tensors[c->nodes[i].first_tensor];
        int v = vigil__tfjs_nhwc(c, t, c->nodes[i].name);
        if (v < 0) {
            free(used);
            return VIGIL_ERR_NOMEM;
        }
        c->g->outputs[c->g->noutputs++] = v;
    }
    free(used);
    if (!c->g->noutputs)
        return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_INVALID, "tfjs: the graph has no outputs");
    return VIGIL_OK;
}

/* Debugging against a reference: VIGIL_NN_TFJS_OUTPUTS="node,node:1,..."
 * adds those TF tensors (in TF order) as extra graph outputs after the
 * model's own, so intermediate values can be compared with TF.js
 * (scripts/ref/centernet_ref.js dumps the same names). Unknown names are
 * an error. */
static vigil_err_t extra_outputs(tfjs_ctx_t *c, name_map_t *m)
{
    const char *env = getenv("VIGIL_NN_TFJS_OUTPUTS");
    if (!env || !*env) return VIGIL_OK;
    size_t n = 1;
    for (const char *q = env; *q; q++) n += *q == ',';
    int *o = realloc(c->g->outputs, sizeof(int) * ((size_t)c->g->noutputs + n + 1));
    if (!o) return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_NOMEM, "tfjs: out of memory");
    c->g->outputs = o;
    for (const char *q = env; *q;) {
        size_t len = strcspn(q, ",");
        char ref[512];
        snprintf(ref, sizeof ref, "%.*s", (int)len, q);
        q += len + (q[len] == ',');
        if (!*ref) continue;
        int k;
        size_t rl = split_ref(ref, &k);
        int src = map_find(m, c->nodes, ref, rl);
        if (src < 0 || k >= c->nodes[src].nout)
            return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_INVALID,
                                "tfjs: VIGIL_NN_TFJS_OUTPUTS: \"%s\" is not a node output", ref);
        int v = vigil__tfjs_nhwc(c, &c->tensors[c->nodes[src].first_tensor + k], ref);
        if (v < 0) return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_NOMEM, "tfjs: out of memory");
        c->g->outputs[c->g->noutputs++] = v;
    }
    return VIGIL_OK;
}

static void ctx_release(tfjs_ctx_t *c)
{
    for (int i = 0; i < c->nnodes; i++) {
        free(c->nodes[i].in_node);
        free(c->nodes[i].in_out);
    }
    free(c->nodes);
    free(c->tensors);
    free(c->weights);
}

/* Builds the IR graph from parsed JSON and the concatenated shards. */
static vigil_err_t load_graph(json_t *root, const void *weights, size_t wlen,
                              const size_t *shard_len, size_t nshards, nn_graph_t *g,
                              char *errstr, size_t errstr_size)
{
    tfjs_ctx_t c;
    name_map_t m = {0};
    int *order = NULL;
    vigil_err_t err;
    memset(&c, 0, sizeof c);
    c.g = g;
    c.wbuf = weights;
    c.wlen = weights ? wlen : 0;
    c.errstr = errstr;
    c.errstr_size = errstr_size;
    json_t *topo = json_object_get(root, "modelTopology");
    json_t *jnodes = json_object_get(topo, "node");
    if (!json_is_object(root) || !json_is_array(jnodes)) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                           "tfjs: model.json has no modelTopology.node array (not a graph model)");
        goto done;
    }
    const char *fmt = json_string_value(json_object_get(root, "format"));
    if (fmt && strcmp(fmt, "graph-model")) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                           "unsupported: tfjs: format \"%s\" (graph-model only)", fmt);
        goto done;
    }
    if ((err = parse_manifest(&c, json_object_get(root, "weightsManifest"), shard_len, nshards)))
        goto done;
    if ((err = parse_nodes(&c, jnodes, &m))) goto done;
    order = malloc(sizeof(int) * ((size_t)c.nnodes + 1));
    if (!order) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "tfjs: out of memory");
        goto done;
    }
    if ((err = order_nodes(&c, order))) goto done;
    for (int i = 0; i < c.nnodes; i++) {
        c.nodes[i].first_tensor = c.ntensors;
        c.ntensors += c.nodes[i].nout;
    }
    c.tensors = calloc((size_t)c.ntensors + 1, sizeof *c.tensors);
    g->inputs = malloc(sizeof(int) * ((size_t)c.nnodes + 1));
    if (!c.tensors || !g->inputs) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "tfjs: out of memory");
        goto done;
    }
    for (int i = 0; i < c.ntensors; i++) {
        c.tensors[i].v = c.tensors[i].v_nchw = -1;
        c.tensors[i].rank = -1;
    }
    g->opset = 13;
    for (int i = 0; i < c.nnodes; i++)
        if ((err = vigil__tfjs_map_node(&c, order[i]))) goto done;
    if (!(err = set_outputs(&c, root, &m))) err = extra_outputs(&c, &m);
done:
    free(order);
    free(m.slot);
    ctx_release(&c);
    return err;
}

static vigil_nn_model_t *load_parsed(const char *json, size_t json_len, const void *weights,
                                     size_t wlen, const size_t *shard_len, size_t nshards,
                                     const vigil_nn_load_opts_t *opts, char *errstr,
                                     size_t errstr_size)
{
    json_error_t je;
    json_t *root = json_loadb(json ? json : "", json ? json_len : 0, 0, &je);
    if (!root) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                     "tfjs: model.json is not valid json: line %d column %d: %s", je.line,
                     je.column, je.text);
        return NULL;
    }
    nn_graph_t g;
    vigil__nn_graph_init(&g);
    vigil_err_t err = load_graph(root, weights, wlen, shard_len, nshards, &g, errstr, errstr_size);
    json_decref(root);
    if (err) {
        vigil__nn_graph_release(&g);
        return NULL;
    }
    return vigil__nn_model_from_graph(&g, opts, errstr, errstr_size);
}

vigil_nn_model_t *vigil_nn_model_load_tfjs(const char *json, size_t json_len, const void *weights,
                                           size_t weights_len, const vigil_nn_load_opts_t *opts,
                                           char *errstr, size_t errstr_size)
{
    return load_parsed(json, json_len, weights, weights_len, NULL, 0, opts, errstr, errstr_size);
}

vigil_nn_model_t *vigil__nn_tfjs_load_path(const char *path, const vigil_nn_load_opts_t *opts,
                                           char *errstr, size_t errstr_size)
{
    char *json = NULL, *wbuf = NULL, *dir = NULL, sub[512];
    size_t jlen = 0, wlen = 0, *shard_len = NULL, nshards = 0;
    vigil_nn_model_t *m = NULL;
    json_t *root = NULL;
    json_error_t je;
    if (vigil_file_read(path, VIGIL_NN_JSON_FILE_MAX, &json, &jlen, errstr, errstr_size))
        return NULL;
    root = json_loadb(json, jlen, 0, &je);
    if (!root) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE, "%s: not valid json: line %d column %d: %s",
                     path, je.line, je.column, je.text);
        goto done;
    }
    const char *slash = strrchr(path, '/');
    if (!(dir = strndup(path, slash ? (size_t)(slash - path) : 0))) goto nomem;
    json_t *man = json_object_get(root, "weightsManifest");
    size_t total_paths = 0;
    for (size_t gi = 0; gi < json_array_size(man); gi++)
        total_paths += json_array_size(json_object_get(json_array_get(man, gi), "paths"));
    if (!(shard_len = calloc(total_paths + 1, sizeof *shard_len))) goto nomem;
    for (size_t gi = 0; gi < json_array_size(man); gi++) {
        json_t *paths = json_object_get(json_array_get(man, gi), "paths");
        for (size_t pi = 0; pi < json_array_size(paths); pi++) {
            const char *p = json_string_value(json_array_get(paths, pi));
            if (!p || strstr(p, "..") || p[0] == '/') {
                vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "%s: bad weight shard path \"%s\"",
                             path, p ? p : "(not a string)");
                goto done;
            }
            char full[4096], *sb = NULL;
            size_t sl = 0;
            snprintf(full, sizeof full, "%s%s%s", dir, *dir ? "/" : "", p);
            if (vigil_file_read(full, VIGIL_NN_MODEL_FILE_MAX - wlen, &sb, &sl, errstr,
                                errstr_size))
                goto done; /* the shards together are bounded as one file */
            char *nb = realloc(wbuf, wlen + sl + 1);
            if (!nb) {
                free(sb);
                goto nomem;
            }
            wbuf = nb;
            memcpy(wbuf + wlen, sb, sl);
            free(sb);
            wlen += sl;
            shard_len[nshards++] = sl;
        }
    }
    json_decref(root);
    root = NULL;
    m = load_parsed(json, jlen, wbuf ? wbuf : "", wlen, shard_len, nshards, opts, sub, sizeof sub);
    if (!m) vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE, "%s: %s", path, sub);
    goto done;
nomem:
    vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "%s: out of memory", path);
done:
    if (root) json_decref(root);
    free(json);
    free(wbuf);
    free(dir);
    free(shard_len);
    return m;
}
