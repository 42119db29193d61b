/* ONNX exporter (see export.h): nn_graph_t -> ModelProto bytes.
 *
 * Main idea: walk the model's (topologically sorted) live nodes once and
 * stream each as a NodeProto into the GraphProto writer; values with
 * constant data that a node or the graph reads become initializers, graph
 * inputs and outputs ValueInfoProtos with their declared dtype and shape.
 * Every value gets an export name: its own when non-empty and unique, else
 * "<name>__v<index>"; nodes the exporter adds (unfused activations, the
 * TF-only ops' ONNX forms) write fresh names "<name>__x<n>" that collide
 * with no value name. Protobuf allows a repeated field's entries to
 * interleave, so the initializers the exporter adds (scalars, TopK's k) go
 * in beside the nodes that read them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/model.h"
#include "nn/onnx/export.h"
#include "nn/onnx/pbw.h"

/* ONNX field numbers (onnx.proto) */
enum { MODEL_IR = 1, MODEL_PRODUCER = 2, MODEL_PRODUCER_VER = 3, MODEL_GRAPH = 7, MODEL_OPSET = 8 };
enum { GRAPH_NODE = 1, GRAPH_NAME = 2, GRAPH_INIT = 5, GRAPH_INPUT = 11, GRAPH_OUTPUT = 12 };
enum { NODE_IN = 1, NODE_OUT = 2, NODE_NAME = 3, NODE_OP = 4, NODE_ATTR = 5 };
enum { TENSOR_DIMS = 1, TENSOR_TYPE = 2, TENSOR_NAME = 8, TENSOR_RAW = 9 };

typedef struct ex {
    const nn_graph_t *g;
    char **names;        /* per value: export name */
    char **sorted;       /* all export names, sorted (lookups for fresh names) */
    vigil_nn_dtype_t *dt; /* per value: dtype from a plan (UNDEFINED if unknown) */
    pbw_t gw;            /* the GraphProto */
    int fresh;           /* counter of added names */
    const char **nodes;  /* the graph's node names, sorted, unique */
    uint8_t *node_used;  /* per entry of nodes: written once already */
    int nnodes;
    int need_opset;      /* raised by ops newer than the graph's opset */
    char *errstr;
    size_t errstr_size;
} ex_t;

typedef struct name_ix {
    const char *s;
    int i;
} name_ix_t;

static int cmp_name_ix(const void *a, const void *b)
{
    const name_ix_t *p = a, *q = b;
    int c = strcmp(p->s, q->s);
    return c ? c : (p->i > q->i) - (p->i < q->i);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int name_taken(const ex_t *x, const char *s)
{
    return bsearch(&s, x->sorted, (size_t)x->g->nvalues, sizeof *x->sorted, cmp_str) != NULL;
}

static vigil_err_t nomem(ex_t *x)
{
    return vigil_seterr(x->errstr, x->errstr_size, VIGIL_ERR_NOMEM, "nn export: out of memory");
}

/* A fresh value name from base: "<base>__x<n>", taken by no value. */
static char *fresh_name(ex_t *x, const char *base)
{
    for (;;) {
        size_t n = strlen(base) + 24;
        char *s = malloc(n);
        if (!s) return NULL;
        snprintf(s, n, "%s__x%d", base, x->fresh++);
        if (!name_taken(x, s)) return s;
        free(s);
    }
}

/* Node names must be unique in ONNX (the TF.js loader gives a TF node's
 * helper nodes its name): the first node written under a name keeps it,
 * later ones get "<name>__n<k>", taken by no node of the graph. Returns a
 * malloc'd name or NULL (out of memory). */
static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *node_name(ex_t *x, const char *base)
{
    const char **hit = bsearch(&base, x->nodes, (size_t)x->nnodes, sizeof *x->nodes, cmp_cstr);
    if (hit && !x->node_used[hit - x->nodes]) {
        x->node_used[hit - x->nodes] = 1;
        return strdup(base);
    }
    for (;;) {
        size_t n = strlen(base) + 24;
        char *s = malloc(n);
        if (!s) return NULL;
        snprintf(s, n, "%s__n%d", base, x->fresh++);
        const char *k = s;
        if (!bsearch(&k, x->nodes, (size_t)x->nnodes, sizeof *x->nodes, cmp_cstr)) return s;
        free(s);
    }
}

static vigil_err_t make_node_names(ex_t *x)
{
    const nn_graph_t *g = x->g;
    x->nodes = calloc((size_t)g->nnodes + 1, sizeof *x->nodes);
    x->node_used = calloc((size_t)g->nnodes + 1, 1);
    if (!x->nodes || !x->node_used) return vigil_seterr(x->errstr, x->errstr_size, VIGIL_ERR_NOMEM, "nn export: out of memory");
    int n = 0;
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i].name && g->nodes[i].name[0]) x->nodes[n++] = g->nodes[i].name;
    qsort(x->nodes, (size_t)n, sizeof *x->nodes, cmp_cstr);
    int u = 0;
    for (int i = 0; i < n; i++)
        if (!u || strcmp(x->nodes[i], x->nodes[u - 1])) x->nodes[u++] = x->nodes[i];
    x->nnodes = u;
    return VIGIL_OK;
}

/* Export names: a value's own name unless empty or used by an earlier value
 * (then "<name>__v<index>"). */
static vigil_err_t make_names(ex_t *x)
{
    const nn_graph_t *g = x->g;
    int n = g->nvalues;
    name_ix_t *pr = malloc(sizeof *pr * ((size_t)n + 1));
    x->names = calloc((size_t)n + 1, sizeof *x->names);
    x->sorted = calloc((size_t)n + 1, sizeof *x->sorted);
    if (!pr || !x->names || !x->sorted) goto nomem;
    for (int i = 0; i < n; i++) pr[i] = (name_ix_t){g->values[i].name ? g->values[i].name : "", i};
    qsort(pr, (size_t)n, sizeof *pr, cmp_name_ix);
    for (int k = 0; k < n; k++) {
        int keep = pr[k].s[0] && (k == 0 || strcmp(pr[k].s, pr[k - 1].s));
        size_t len = strlen(pr[k].s) + 24;
        char *s = malloc(len);
        if (!s) goto nomem;
        if (keep) memcpy(s, pr[k].s, strlen(pr[k].s) + 1);
        else snprintf(s, len, "%s__v%d", pr[k].s, pr[k].i);
        x->names[pr[k].i] = s;
    }
    for (int i = 0; i < n; i++) x->sorted[i] = x->names[i];
    qsort(x->sorted, (size_t)n, sizeof *x->sorted, cmp_str);
    for (int i = 1; i < n; i++)
        if (!strcmp(x->sorted[i], x->sorted[i - 1])) {
            free(pr);
            return vigil_seterr(x->errstr, x->errstr_size, VIGIL_ERR_INVALID,
                                "nn export: two values would both be named \"%s\"", x->sorted[i]);
        }
    free(pr);
    return VIGIL_OK;
nomem:
    free(pr);
    return nomem(x);
}

/* Value dtypes from a plan at the declared input shapes (dynamic dims at a
 * trial size, as the load validates); unknown stays UNDEFINED. */
static vigil_err_t plan_dtypes(ex_t *x, const vigil_nn_model_t *m)
{
    const nn_graph_t *g = x->g;
    x->dt = calloc((size_t)g->nvalues + 1, sizeof *x->dt);
    vigil_nn_tensor_t *in = calloc((size_t)g->ninputs + 1, sizeof *in);
    if (!x->dt || !in) {
        free(in);
        return nomem(x);
    }
    for (int v = 0; v < g->nvalues; v++) x->dt[v] = g->values[v].dtype;
    static const int64_t trial[] = {1, 64, 320, 1024};
    for (size_t t = 0; t < sizeof trial / sizeof trial[0]; t++) {
        for (int i = 0; i < g->ninputs; i++) {
            in[i] = m->in_info[i];
            in[i].data = NULL;
            for (int k = 0; k < in[i].ndim; k++)
                if (in[i].dims[k] < 0) in[i].dims[k] = trial[t];
        }
        nn_plan_t p;
        if (vigil__nn_plan_build(&p, g, in, 1, 0, NULL, 0)) continue;
        for (int v = 0; v < g->nvalues; v++)
            if (p.t[v].dtype) x->dt[v] = p.t[v].dtype;
        vigil__nn_plan_release(&p);
        break;
    }
    free(in);
    return VIGIL_OK;
}

/* ---- protobuf pieces --------------------------------------------------------------- */

static void w_tensor(pbw_t *w, const char *name, vigil_nn_dtype_t dt, int ndim, const int64_t *dims,
                     const void *data)
{
    int64_t numel = vigil__nn_numel(ndim, dims);
    size_t bytes = (size_t)(numel > 0 ? numel : 0) * vigil_nn_dtype_size(dt);
    vigil__pbw_packed_i64(w, TENSOR_DIMS, dims, (size_t)(ndim > 0 ? ndim : 0));
    vigil__pbw_varint(w, TENSOR_TYPE, (uint64_t)dt);
    if (name) vigil__pbw_str(w, TENSOR_NAME, name);
    vigil__pbw_bytes(w, TENSOR_RAW, data, data ? bytes : 0);
}

static void add_init(ex_t *x, const char *name, vigil_nn_dtype_t dt, int ndim, const int64_t *dims,
                     const void *data)
{
    pbw_t t;
    vigil__pbw_init(&t);
    w_tensor(&t, name, dt, ndim, dims, data);
    vigil__pbw_msg(&x->gw, GRAPH_INIT, &t);
    vigil__pbw_free(&t);
}

/* ValueInfoProto with a tensor type; dims < 0 get a dim_param of their own */
static void add_value_info(ex_t *x, uint32_t field, int v, const vigil_nn_tensor_t *info)
{
    pbw_t vi, tp, tt, sh, dim;
    vigil__pbw_init(&vi);
    vigil__pbw_init(&tp);
    vigil__pbw_init(&tt);
    vigil__pbw_init(&sh);
    vigil_nn_dtype_t dt = info->dtype ? info->dtype : x->dt[v];
    vigil__pbw_varint(&tt, 1, (uint64_t)(dt ? dt : VIGIL_NN_FLOAT32));
    if (info->ndim >= 0) {
        for (int k = 0; k < info->ndim; k++) {
            vigil__pbw_init(&dim);
            if (info->dims[k] >= 0) {
                vigil__pbw_varint(&dim, 1, (uint64_t)info->dims[k]);
            } else {
                char p[48];
                snprintf(p, sizeof p, "%s_%d_d%d", field == GRAPH_INPUT ? "in" : "out", v, k);
                vigil__pbw_str(&dim, 2, p);
            }
            vigil__pbw_msg(&sh, 1, &dim);
            vigil__pbw_free(&dim);
        }
        vigil__pbw_msg(&tt, 2, &sh);
    }
    vigil__pbw_msg(&tp, 1, &tt);
    vigil__pbw_str(&vi, 1, x->names[v]);
    vigil__pbw_msg(&vi, 2, &tp);
    vigil__pbw_msg(&x->gw, field, &vi);
    vigil__pbw_free(&vi);
    vigil__pbw_free(&tp);
    vigil__pbw_free(&tt);
    vigil__pbw_free(&sh);
}

static void w_attr(pbw_t *nw, const nn_attr_t *a)
{
    pbw_t w, t;
    vigil__pbw_init(&w);
    vigil__pbw_str(&w, 1, a->name);
    vigil__pbw_varint(&w, 20, (uint64_t)a->type);
    switch (a->type) {
    case NN_ATTR_FLOAT: vigil__pbw_float(&w, 2, a->f); break;
    case NN_ATTR_INT: vigil__pbw_varint(&w, 3, (uint64_t)a->i); break;
    case NN_ATTR_STRING: /* a typed string with no value reads back as absent, not "" */
        if (a->s) vigil__pbw_bytes(&w, 4, a->s, a->slen);
        break;
    case NN_ATTR_TENSOR:
        vigil__pbw_init(&t);
        if (a->t) w_tensor(&t, NULL, a->t->dtype, a->t->ndim, a->t->dims, a->t->data);
        vigil__pbw_msg(&w, 5, &t);
        vigil__pbw_free(&t);
        break;
    case NN_ATTR_FLOATS: vigil__pbw_packed_f32(&w, 7, a->floats, a->n); break;
    case NN_ATTR_INTS: vigil__pbw_packed_i64(&w, 8, a->ints, a->n); break;
    case NN_ATTR_STRINGS:
        for (size_t k = 0; k < a->n; k++) vigil__pbw_str(&w, 9, a->strings[k]);
        break;
    default: break;
    }
    vigil__pbw_msg(nw, NODE_ATTR, &w);
    vigil__pbw_free(&w);
}

static void attr_i(pbw_t *nw, const char *name, int64_t v)
{
    nn_attr_t a = {.name = (char *)name, .type = NN_ATTR_INT, .i = v};
    w_attr(nw, &a);
}

static void attr_f(pbw_t *nw, const char *name, float v)
{
    nn_attr_t a = {.name = (char *)name, .type = NN_ATTR_FLOAT, .f = v};
    w_attr(nw, &a);
}

/* A NodeProto: inputs (NULL = left out, written ""), outputs, the
 * attributes in attrs (serialized AttributeProto fields, may be NULL). */
static void add_node(ex_t *x, const char *name, const char *op, const char *const *ins, int nin,
                     const char *const *outs, int nout, const pbw_t *attrs)
{
    pbw_t nw;
    vigil__pbw_init(&nw);
    for (int i = 0; i < nin; i++) vigil__pbw_str(&nw, NODE_IN, ins[i] ? ins[i] : "");
    for (int i = 0; i < nout; i++) vigil__pbw_str(&nw, NODE_OUT, outs[i] ? outs[i] : "");
    if (name && *name) {
        char *nm = node_name(x, name);
        if (!nm) nw.err = 1;
        else vigil__pbw_str(&nw, NODE_NAME, nm);
        free(nm);
    }
    vigil__pbw_str(&nw, NODE_OP, op);
    if (attrs) vigil__pbw_append(&nw, attrs);
    vigil__pbw_msg(&x->gw, GRAPH_NODE, &nw);
    vigil__pbw_free(&nw);
}

/* an initializer under a fresh name from base: a scalar (ndim 0) or a
 * one-element vector (ndim 1) */
static char *const_init(ex_t *x, const char *base, vigil_nn_dtype_t dt, const void *data, int ndim)
{
    char *nm = fresh_name(x, base);
    int64_t one = 1;
    if (nm) add_init(x, nm, dt, ndim, &one, data);
    return nm;
}

#define MAX_TMP 16

typedef struct tmps {
    char *v[MAX_TMP];
    int n;
} tmps_t;

/* a fresh name kept in t (freed by tmps_free); NULL when out of memory */
static const char *tmp_name(ex_t *x, tmps_t *t, char *s)
{
    if (!s || t->n == MAX_TMP) {
        free(s);
        return NULL;
    }
    return t->v[t->n++] = s;
}

static void tmps_free(tmps_t *t)
{
    for (int i = 0; i < t->n; i++) free(t->v[i]);
    t->n = 0;
}

/* A node's fused activation and affine (set by vigil's fusion) back as ONNX
 * nodes reading in and writing out. */
static vigil_err_t unfuse(ex_t *x, const nn_node_t *n, const char *in, const char *out)
{
    tmps_t t = {0};
    pbw_t at;
    vigil__pbw_init(&at);
    vigil_err_t err = VIGIL_OK;
    const char *cur = in;
    if (n->act) {
        const char *dst = n->post ? tmp_name(x, &t, fresh_name(x, out)) : out;
        const char *ins[3] = {cur, NULL, NULL}, *op = NULL;
        int nin = 1;
        switch (n->act) {
        case NN_ACT_RELU: op = "Relu"; break;
        case NN_ACT_SIGMOID: op = "Sigmoid"; break;
        case NN_ACT_CLIP:
            op = "Clip";
            ins[1] = tmp_name(x, &t, const_init(x, out, VIGIL_NN_FLOAT32, &n->act_a, 0));
            ins[2] = tmp_name(x, &t, const_init(x, out, VIGIL_NN_FLOAT32, &n->act_b, 0));
            nin = 3;
            if (!ins[1] || !ins[2]) dst = NULL;
            break;
        case NN_ACT_HARDSIGMOID:
            op = "HardSigmoid";
            attr_f(&at, "alpha", n->act_a);
            attr_f(&at, "beta", n->act_b);
            break;
        case NN_ACT_LEAKYRELU:
            op = "LeakyRelu";
            attr_f(&at, "alpha", n->act_a);
            break;
        case NN_ACT_HARDSWISH:
            op = "HardSwish";
            if (x->need_opset < 14) x->need_opset = 14;
            break;
        case NN_ACT_HARDSWISH_TF: { /* Mul(in, a) * Clip(in + 3, 0, 6), as the graph had it */
            static const float three = 3.0f, zero = 0.0f, six = 6.0f;
            const char *ka = tmp_name(x, &t, const_init(x, out, VIGIL_NN_FLOAT32, &n->act_a, 0));
            const char *k3 = tmp_name(x, &t, const_init(x, out, VIGIL_NN_FLOAT32, &three, 0));
            const char *k0 = tmp_name(x, &t, const_init(x, out, VIGIL_NN_FLOAT32, &zero, 0));
            const char *k6 = tmp_name(x, &t, const_init(x, out, VIGIL_NN_FLOAT32, &six, 0));
            const char *ts = tmp_name(x, &t, fresh_name(x, out)), *tu = tmp_name(x, &t, fresh_name(x, out));
            const char *tc = tmp_name(x, &t, fresh_name(x, out));
            if (!ka || !k3 || !k0 || !k6 || !ts || !tu || !tc) goto nomem;
            const char *si[2] = {cur, ka}, *ui[2] = {cur, k3}, *ci[3] = {tu, k0, k6};
            add_node(x, n->name, "Mul", si, 2, &ts, 1, NULL);
            add_node(x, n->name, "Add", ui, 2, &tu, 1, NULL);
            add_node(x, n->name, "Clip", ci, 3, &tc, 1, NULL);
            op = "Mul";
            ins[0] = ts;
            ins[1] = tc;
            nin = 2;
            break;
        }
        default:
            err = vigil_seterr(x->errstr, x->errstr_size, VIGIL_ERR_UNSUPPORTED,
                               "unsupported: nn export: node \"%s\" (op %s): fused activation %d",
                               n->name, n->op_type, n->act);
            goto done;
        }
        if (!dst) goto nomem;
        add_node(x, n->name, op, ins, nin, &dst, 1, &at);
        cur = dst;
    }
    if (n->post) {
        const char *a = tmp_name(x, &t, const_init(x, out, VIGIL_NN_FLOAT32, &n->post_a, 0));
        const char *b = tmp_name(x, &t, const_init(x, out, VIGIL_NN_FLOAT32, &n->post_b, 0));
        const char *m = tmp_name(x, &t, fresh_name(x, out));
        if (!a || !b || !m) goto nomem;
        const char *mi[2] = {cur, a}, *ai[2] = {m, b};
        add_node(x, n->name, "Mul", mi, 2, &m, 1, NULL);
        add_node(x, n->name, "Add", ai, 2, &out, 1, NULL);
    }
    goto done;
nomem:
    err = nomem(x);
done:
    vigil__pbw_free(&at);
    tmps_free(&t);
    return err;
}

/* TfTopKV2 (k attribute, int32 indices) -> TopK(x, k) along the last axis,
 * largest and sorted, then Cast of its int64 indices to int32. Ties go to
 * the lower index in both. */
static vigil_err_t tf_topk(ex_t *x, const nn_node_t *n)
{
    tmps_t t = {0};
    pbw_t at, ct;
    vigil__pbw_init(&at);
    vigil__pbw_init(&ct);
    const char *base = x->names[n->outputs[0] >= 0 ? n->outputs[0] : n->inputs[0]];
    int64_t k = vigil__nn_attr_int(n, "k", -1);
    const char *kn = tmp_name(x, &t, const_init(x, base, VIGIL_NN_INT64, &k, 1));
    const char *vals = n->outputs[0] >= 0 ? x->names[n->outputs[0]] : tmp_name(x, &t, fresh_name(x, base));
    const char *idx = tmp_name(x, &t, fresh_name(x, base));
    vigil_err_t err = VIGIL_OK;
    if (!kn || !vals || !idx) {
        err = nomem(x);
        goto done;
    }
    attr_i(&at, "axis", -1);
    attr_i(&at, "largest", 1);
    attr_i(&at, "sorted", 1);
    const char *ins[2] = {x->names[n->inputs[0]], kn}, *outs[2] = {vals, idx};
    add_node(x, n->name, "TopK", ins, 2, outs, 2, &at);
    if (n->noutputs > 1 && n->outputs[1] >= 0) {
        attr_i(&ct, "to", VIGIL_NN_INT32);
        const char *o = x->names[n->outputs[1]];
        add_node(x, n->name, "Cast", &idx, 1, &o, 1, &ct);
    }
done:
    vigil__pbw_free(&at);
    vigil__pbw_free(&ct);
    tmps_free(&t);
    return err;
}

/* TfFloorDiv / TfFloorMod (floor semantics, numpy broadcasting). Ints:
 * ONNX Mod with fmod 0 takes the divisor's sign, which is floor modulo, and
 * a - floormod(a, b) is an exact multiple of b, so Div (truncating) gives
 * the floor quotient. Floats as vigil computes them: floor(a / b) and
 * a - floor(a / b) * b. */
static vigil_err_t tf_floor(ex_t *x, const nn_node_t *n, int mod)
{
    tmps_t t = {0};
    pbw_t at;
    vigil__pbw_init(&at);
    vigil_err_t err = VIGIL_OK;
    const char *a = x->names[n->inputs[0]], *b = x->names[n->inputs[1]];
    const char *out = x->names[n->outputs[0]];
    vigil_nn_dtype_t dt = x->dt[n->outputs[0]] ? x->dt[n->outputs[0]] : x->dt[n->inputs[0]];
    if (dt == VIGIL_NN_INT32 || dt == VIGIL_NN_INT64) {
        attr_i(&at, "fmod", 0);
        const char *ab[2] = {a, b};
        if (mod) {
            add_node(x, n->name, "Mod", ab, 2, &out, 1, &at);
            goto done;
        }
        const char *m = tmp_name(x, &t, fresh_name(x, out)), *d = tmp_name(x, &t, fresh_name(x, out));
        if (!m || !d) goto nomem;
        const char *am[2] = {a, m}, *db[2] = {d, b};
        add_node(x, n->name, "Mod", ab, 2, &m, 1, &at);
        add_node(x, n->name, "Sub", am, 2, &d, 1, NULL);
        add_node(x, n->name, "Div", db, 2, &out, 1, NULL);
    } else if (dt == VIGIL_NN_FLOAT32) {
        const char *q = tmp_name(x, &t, fresh_name(x, out));
        const char *f = mod ? tmp_name(x, &t, fresh_name(x, out)) : out;
        const char *p = mod ? tmp_name(x, &t, fresh_name(x, out)) : out;
        if (!q || !f || !p) goto nomem;
        const char *ab[2] = {a, b}, *fb[2] = {f, b}, *ap[2] = {a, p};
        add_node(x, n->name, "Div", ab, 2, &q, 1, NULL);
        add_node(x, n->name, "Floor", &q, 1, &f, 1, NULL);
        if (mod) {
            add_node(x, n->name, "Mul", fb, 2, &p, 1, NULL);
            add_node(x, n->name, "Sub", ap, 2, &out, 1, NULL);
        }
    } else {
        err = vigil_seterr(x->errstr, x->errstr_size, VIGIL_ERR_UNSUPPORTED,
                           "unsupported: nn export: node \"%s\" (op %s): dtype %s has no ONNX form",
                           n->name, n->op_type, vigil_nn_dtype_name(dt));
    }
    goto done;
nomem:
    err = nomem(x);
done:
    vigil__pbw_free(&at);
    tmps_free(&t);
    return err;
}

/* Any other node: inputs, outputs and attributes as they are, then its
 * fused activation / affine unfused. */
static vigil_err_t plain_node(ex_t *x, const nn_node_t *n)
{
    const char **ins = calloc((size_t)n->ninputs + 1, sizeof *ins);
    const char **outs = calloc((size_t)n->noutputs + 1, sizeof *outs);
    char *fused_out = NULL;
    pbw_t at;
    vigil__pbw_init(&at);
    vigil_err_t err = VIGIL_OK;
    if (!ins || !outs) goto nomem;
    for (int i = 0; i < n->ninputs; i++) ins[i] = n->inputs[i] >= 0 ? x->names[n->inputs[i]] : NULL;
    for (int i = 0; i < n->noutputs; i++) outs[i] = n->outputs[i] >= 0 ? x->names[n->outputs[i]] : NULL;
    int fused = (n->act || n->post) && n->noutputs > 0 && n->outputs[0] >= 0;
    if (fused && !(outs[0] = fused_out = fresh_name(x, x->names[n->outputs[0]]))) goto nomem;
    for (int k = 0; k < n->nattrs; k++) w_attr(&at, &n->attrs[k]);
    if (!strcmp(n->op_type, "HardSwish") && x->need_opset < 14) x->need_opset = 14;
    add_node(x, n->name, n->op_type, ins, n->ninputs, outs, n->noutputs, &at);
    if (fused) err = unfuse(x, n, fused_out, x->names[n->outputs[0]]);
    goto done;
nomem:
    err = nomem(x);
done:
    vigil__pbw_free(&at);
    free(fused_out);
    free(ins);
    free(outs);
    return err;
}

/* IR version of the ONNX release that introduced an opset */
static int ir_for(int opset)
{
    return opset <= 8 ? 3 : opset <= 10 ? 5 : opset <= 12 ? 6 : opset <= 13 ? 7 : opset <= 17 ? 8
                                                                  : opset <= 20 ? 9 : 10;
}

vigil_err_t vigil__nn_export_onnx_buf(const vigil_nn_model_t *model, uint8_t **buf, size_t *len,
                                      char *errstr, size_t errstr_size)
{
    const nn_graph_t *g = &model->g;
    ex_t x = {.g = g, .errstr = errstr, .errstr_size = errstr_size};
    pbw_t mw, os;
    vigil__pbw_init(&x.gw);
    vigil__pbw_init(&mw);
    vigil__pbw_init(&os);
    uint8_t *used = calloc((size_t)g->nvalues + 1, 1);
    vigil_err_t err;
    *buf = NULL;
    *len = 0;
    if (!used) {
        err = nomem(&x);
        goto done;
    }
    if ((err = make_names(&x)) || (err = make_node_names(&x)) || (err = plan_dtypes(&x, model)))
        goto done;
    vigil__pbw_str(&x.gw, GRAPH_NAME, "vigil_export");
    /* initializers: the constants a live node or the graph reads */
    for (int i = 0; i < g->nnodes; i++)
        if (!g->nodes[i].dead)
            for (int j = 0; j < g->nodes[i].ninputs; j++)
                if (g->nodes[i].inputs[j] >= 0) used[g->nodes[i].inputs[j]] = 1;
    for (int i = 0; i < g->noutputs; i++) used[g->outputs[i]] = 1;
    for (int v = 0; v < g->nvalues; v++) {
        const nn_value_t *val = &g->values[v];
        if (!used[v] || !val->data) continue;
        if (!vigil_nn_dtype_size(val->dtype)) {
            err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                               "unsupported: nn export: constant \"%s\" of dtype %s", val->name,
                               vigil_nn_dtype_name(val->dtype));
            goto done;
        }
        add_init(&x, x.names[v], val->dtype, val->ndim, val->dims, val->data);
    }
    for (int i = 0; i < g->ninputs; i++) add_value_info(&x, GRAPH_INPUT, g->inputs[i], &model->in_info[i]);
    for (int i = 0; i < g->nnodes && !err; i++) {
        const nn_node_t *n = &g->nodes[i];
        if (n->dead) continue;
        if (!strcmp(n->op_type, "TfTopKV2") && n->ninputs >= 1 && n->inputs[0] >= 0 && n->noutputs >= 1)
            err = tf_topk(&x, n);
        else if ((!strcmp(n->op_type, "TfFloorDiv") || !strcmp(n->op_type, "TfFloorMod")) &&
                 n->ninputs == 2 && n->inputs[0] >= 0 && n->inputs[1] >= 0 && n->noutputs >= 1 &&
                 n->outputs[0] >= 0)
            err = tf_floor(&x, n, !strcmp(n->op_type, "TfFloorMod"));
        else if (!strncmp(n->op_type, "Tf", 2))
            err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                               "unsupported: nn export: node \"%s\" (op %s) has no ONNX form", n->name,
                               n->op_type);
        else
            err = plain_node(&x, n);
    }
    if (err) goto done;
    /* with a dynamic input, an output's dims as the load's trial plans saw
     * them may be one trial size's (PP-OCRv4 det: [-1,1,32,32] for
     * [-1,1,H,W]): declare them all dynamic then, only the rank stays */
    int dynamic = 0;
    for (int i = 0; i < g->ninputs; i++)
        for (int k = 0; k < model->in_info[i].ndim; k++) dynamic |= model->in_info[i].dims[k] < 0;
    for (int i = 0; i < g->noutputs; i++) {
        vigil_nn_tensor_t o = model->out_info[i];
        for (int k = 0; dynamic && k < o.ndim; k++) o.dims[k] = -1;
        add_value_info(&x, GRAPH_OUTPUT, g->outputs[i], &o);
    }
    int opset = g->opset;
    if (x.need_opset > opset) {
        if (opset < 13) {
            err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                               "unsupported: nn export: the model is opset %d and its fused ops need "
                               "opset %d: export the graph as loaded (unoptimized)",
                               opset, x.need_opset);
            goto done;
        }
        opset = x.need_opset;
    }
    vigil__pbw_varint(&mw, MODEL_IR, (uint64_t)ir_for(opset));
    vigil__pbw_str(&mw, MODEL_PRODUCER, "vigil");
    vigil__pbw_str(&os, 1, "");
    vigil__pbw_varint(&os, 2, (uint64_t)opset);
    vigil__pbw_msg(&mw, MODEL_OPSET, &os);
    vigil__pbw_msg(&mw, MODEL_GRAPH, &x.gw);
    if (mw.err) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_TOO_LARGE,
                           "nn export: the model does not fit in an ONNX file (protobuf's 2 GiB "
                           "limit) or out of memory");
        goto done;
    }
    *buf = mw.p;
    *len = mw.len;
    mw.p = NULL;
done:
    if (x.names)
        for (int v = 0; v < g->nvalues; v++) free(x.names[v]);
    free(x.names);
    free(x.sorted);
    free(x.nodes);
    free(x.node_used);
    free(x.dt);
    free(used);
    vigil__pbw_free(&x.gw);
    vigil__pbw_free(&mw);
    vigil__pbw_free(&os);
    return err;
}

vigil_err_t vigil__nn_export_onnx(const vigil_nn_model_t *model, const char *path, char *errstr,
                                  size_t errstr_size)
{
    uint8_t *buf;
    size_t len;
    vigil_err_t err = vigil__nn_export_onnx_buf(model, &buf, &len, errstr, errstr_size);
    if (err) return err;
    size_t tl = strlen(path) + 32;
    char *tmp = malloc(tl);
    if (!tmp) {
        free(buf);
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "nn export: out of memory");
    }
    snprintf(tmp, tl, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wbx");
    int e = 0;
    if (!f) {
        e = errno;
    } else {
        if (fwrite(buf, 1, len, f) != len) e = errno ? errno : EIO;
        if (fclose(f) && !e) e = errno ? errno : EIO;
        if (!e && rename(tmp, path)) e = errno;
        if (e) unlink(tmp);
    }
    free(tmp);
    free(buf);
    if (e)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "nn export: cannot write %s: %s", path,
                            strerror(e));
    return VIGIL_OK;
}
