/* vigil-nn IR: graph building, attribute access, tensor helpers.
 *
 * Graphs own every string and constant buffer they hold; release frees all
 * of it. Values and nodes are addressed by index, so growing the arrays
 * (realloc) never invalidates references held as indices. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ir.h"

size_t vigil_nn_dtype_size(vigil_nn_dtype_t d)
{
    switch (d) {
    case VIGIL_NN_FLOAT32: case VIGIL_NN_INT32: case VIGIL_NN_UINT32: return 4;
    case VIGIL_NN_UINT8: case VIGIL_NN_INT8: case VIGIL_NN_BOOL: return 1;
    case VIGIL_NN_UINT16: case VIGIL_NN_INT16: case VIGIL_NN_FLOAT16: return 2;
    case VIGIL_NN_INT64: case VIGIL_NN_FLOAT64: case VIGIL_NN_UINT64: return 8;
    default: return 0;
    }
}

const char *vigil_nn_dtype_name(vigil_nn_dtype_t d)
{
    static const char *names[] = {"undefined", "float32", "uint8", "int8", "uint16",
                                  "int16", "int32", "int64", "string", "bool",
                                  "float16", "float64", "uint32", "uint64"};
    if ((int)d >= 0 && (size_t)d < sizeof names / sizeof names[0]) return names[d];
    return "unknown";
}

int64_t vigil__nn_numel(int ndim, const int64_t *dims)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= dims[i];
    return n;
}

int64_t vigil_nn_tensor_numel(const vigil_nn_tensor_t *t)
{
    return vigil__nn_numel(t->ndim, t->dims);
}

size_t vigil__nn_bytes(const vigil_nn_tensor_t *t)
{
    return (size_t)vigil_nn_tensor_numel(t) * vigil_nn_dtype_size(t->dtype);
}

int vigil__nn_dtype_is_int(vigil_nn_dtype_t d)
{
    switch (d) {
    case VIGIL_NN_UINT8: case VIGIL_NN_INT8: case VIGIL_NN_UINT16: case VIGIL_NN_INT16:
    case VIGIL_NN_INT32: case VIGIL_NN_INT64: case VIGIL_NN_UINT32: case VIGIL_NN_UINT64:
    case VIGIL_NN_BOOL: return 1;
    default: return 0;
    }
}

float vigil__nn_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal */
            float f = ldexpf((float)man, -24);
            return sign ? -f : f;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t vigil__nn_float_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, exp = (x >> 23) & 0xff, man = x & 0x7fffff;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00);
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000;
        int shift = 14 - e;
        uint32_t h = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1))) h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = sign | ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
    return (uint16_t)h;
}

/* a float as int64: truncated, saturated, NaN 0 (a plain cast of a value
 * out of range is undefined: fuzz_onnx, Unsqueeze axes of float 1e30) */
static int64_t float_to_i64(double v)
{
    if (isnan(v)) return 0;
    if (v >= 9223372036854775808.0) return INT64_MAX;
    if (v < -9223372036854775808.0) return INT64_MIN;
    return (int64_t)v;
}

int64_t vigil__nn_get_int(const vigil_nn_tensor_t *t, int64_t i)
{
    switch (t->dtype) {
    case VIGIL_NN_INT64: return ((const int64_t *)t->data)[i];
    case VIGIL_NN_INT32: return ((const int32_t *)t->data)[i];
    case VIGIL_NN_INT16: return ((const int16_t *)t->data)[i];
    case VIGIL_NN_INT8: return ((const int8_t *)t->data)[i];
    case VIGIL_NN_UINT8: case VIGIL_NN_BOOL: return ((const uint8_t *)t->data)[i];
    case VIGIL_NN_UINT16: return ((const uint16_t *)t->data)[i];
    case VIGIL_NN_UINT32: return ((const uint32_t *)t->data)[i];
    case VIGIL_NN_UINT64: return (int64_t)((const uint64_t *)t->data)[i];
    case VIGIL_NN_FLOAT32: return float_to_i64(((const float *)t->data)[i]);
    case VIGIL_NN_FLOAT64: return float_to_i64(((const double *)t->data)[i]);
    case VIGIL_NN_FLOAT16: return float_to_i64(vigil__nn_half_to_float(((const uint16_t *)t->data)[i]));
    default: return 0;
    }
}

double vigil__nn_get_double(const vigil_nn_tensor_t *t, int64_t i)
{
    switch (t->dtype) {
    case VIGIL_NN_FLOAT32: return ((const float *)t->data)[i];
    case VIGIL_NN_FLOAT64: return ((const double *)t->data)[i];
    case VIGIL_NN_FLOAT16: return vigil__nn_half_to_float(((const uint16_t *)t->data)[i]);
    case VIGIL_NN_UINT64: return (double)((const uint64_t *)t->data)[i];
    default: return (double)vigil__nn_get_int(t, i);
    }
}

/* double -> integer without undefined behaviour: NaN is 0, out-of-range
 * values saturate (fuzz: a NaN ReduceMean into int8) */
static double sat(double v, double lo, double hi)
{
    return v != v ? 0 : v < lo ? lo : v > hi ? hi : v;
}

void vigil__nn_set_double(vigil_nn_tensor_t *t, int64_t i, double v)
{
    switch (t->dtype) {
    case VIGIL_NN_FLOAT32: ((float *)t->data)[i] = (float)v; break;
    case VIGIL_NN_FLOAT64: ((double *)t->data)[i] = v; break;
    case VIGIL_NN_FLOAT16: ((uint16_t *)t->data)[i] = vigil__nn_float_to_half((float)v); break;
    /* 2^63 is the first double past INT64_MAX: saturate below it */
    case VIGIL_NN_INT64:
        ((int64_t *)t->data)[i] = v != v ? 0 : v >= 9223372036854775808.0 ? INT64_MAX
                                : v < -9223372036854775808.0 ? INT64_MIN : (int64_t)v;
        break;
    case VIGIL_NN_INT32: ((int32_t *)t->data)[i] = (int32_t)sat(v, INT32_MIN, INT32_MAX); break;
    case VIGIL_NN_INT16: ((int16_t *)t->data)[i] = (int16_t)sat(v, INT16_MIN, INT16_MAX); break;
    case VIGIL_NN_INT8: ((int8_t *)t->data)[i] = (int8_t)sat(v, INT8_MIN, INT8_MAX); break;
    case VIGIL_NN_UINT8: ((uint8_t *)t->data)[i] = (uint8_t)sat(v, 0, UINT8_MAX); break;
    case VIGIL_NN_BOOL: ((uint8_t *)t->data)[i] = v != 0; break;
    case VIGIL_NN_UINT16: ((uint16_t *)t->data)[i] = (uint16_t)sat(v, 0, UINT16_MAX); break;
    case VIGIL_NN_UINT32: ((uint32_t *)t->data)[i] = (uint32_t)sat(v, 0, UINT32_MAX); break;
    case VIGIL_NN_UINT64:
        ((uint64_t *)t->data)[i] = v != v || v <= 0 ? 0 : v >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)v;
        break;
    default: break;
    }
}

const char *vigil__nn_shape_str(int ndim, const int64_t *dims, char *buf, size_t size)
{
    size_t len = 0;
    len += (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (len < size) snprintf(buf + len, size - len, "]");
    return buf;
}

vigil_err_t vigil__nn_prep_err(nn_prep_t *p, vigil_err_t err, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *pre = err == VIGIL_ERR_UNSUPPORTED ? "unsupported: " : "";
    if (p->errstr && p->errstr_size)
        snprintf(p->errstr, p->errstr_size, "%snode \"%s\" (op %s): %s", pre,
                 p->node->name ? p->node->name : "", p->node->op_type, msg);
    return err;
}

/* ---- graph ---------------------------------------------------------------------- */

void vigil__nn_graph_init(nn_graph_t *g)
{
    memset(g, 0, sizeof *g);
    g->opset = 13;
}

void vigil__nn_attr_release(nn_attr_t *a)
{
    free(a->name);
    free(a->s);
    free(a->ints);
    free(a->floats);
    if (a->strings)
        for (size_t i = 0; i < a->n; i++) free(a->strings[i]);
    free(a->strings);
    if (a->t) {
        free(a->t->data);
        free(a->t);
    }
    memset(a, 0, sizeof *a);
}

void vigil__nn_graph_release(nn_graph_t *g)
{
    for (int i = 0; i < g->nvalues; i++) {
        free(g->values[i].name);
        free(g->values[i].data);
    }
    for (int i = 0; i < g->nnodes; i++) {
        nn_node_t *n = &g->nodes[i];
        free(n->name);
        free(n->op_type);
        free(n->inputs);
        free(n->outputs);
        for (int j = 0; j < n->nattrs; j++) vigil__nn_attr_release(&n->attrs[j]);
        free(n->attrs);
        free(n->packed_w);
    }
    free(g->values);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    memset(g, 0, sizeof *g);
}

int vigil__nn_graph_find(const nn_graph_t *g, const char *name)
{
    for (int i = g->nvalues - 1; i >= 0; i--)
        if (!strcmp(g->values[i].name, name)) return i;
    return -1;
}

int vigil__nn_graph_add_value(nn_graph_t *g, const char *name)
{
    if (g->nvalues == g->values_cap) {
        int cap = g->values_cap ? g->values_cap * 2 : 64;
        nn_value_t *v = realloc(g->values, (size_t)cap * sizeof *v);
        if (!v) return -1;
        g->values = v;
        g->values_cap = cap;
    }
    nn_value_t *v = &g->values[g->nvalues];
    memset(v, 0, sizeof *v);
    v->name = strdup(name ? name : "");
    if (!v->name) return -1;
    v->ndim = -1;
    v->producer = -1;
    return g->nvalues++;
}

int vigil__nn_graph_add_node(nn_graph_t *g, const char *name, const char *op_type,
                             const int *inputs, int ninputs, const int *outputs, int noutputs)
{
    if (g->nnodes == g->nodes_cap) {
        int cap = g->nodes_cap ? g->nodes_cap * 2 : 64;
        nn_node_t *n = realloc(g->nodes, (size_t)cap * sizeof *n);
        if (!n) return -1;
        g->nodes = n;
        g->nodes_cap = cap;
    }
    nn_node_t *n = &g->nodes[g->nnodes];
    memset(n, 0, sizeof *n);
    n->name = strdup(name ? name : "");
    n->op_type = strdup(op_type ? op_type : "");
    n->inputs = malloc(sizeof(int) * (size_t)(ninputs + 1));
    n->outputs = malloc(sizeof(int) * (size_t)(noutputs + 1));
    if (!n->name || !n->op_type || !n->inputs || !n->outputs) {
        free(n->name);
        free(n->op_type);
        free(n->inputs);
        free(n->outputs);
        return -1;
    }
    if (ninputs) memcpy(n->inputs, inputs, sizeof(int) * (size_t)ninputs);
    if (noutputs) memcpy(n->outputs, outputs, sizeof(int) * (size_t)noutputs);
    n->ninputs = ninputs;
    n->noutputs = noutputs;
    n->op = vigil__nn_op_find(op_type);
    return g->nnodes++;
}

int vigil__nn_node_add_attr(nn_node_t *n, nn_attr_t *a)
{
    nn_attr_t *attrs = realloc(n->attrs, sizeof *attrs * (size_t)(n->nattrs + 1));
    if (!attrs) return -1;
    n->attrs = attrs;
    n->attrs[n->nattrs++] = *a;
    memset(a, 0, sizeof *a);
    return 0;
}

const nn_attr_t *vigil__nn_attr(const nn_node_t *n, const char *name)
{
    for (int i = 0; i < n->nattrs; i++)
        if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
    return NULL;
}

int64_t vigil__nn_attr_int(const nn_node_t *n, const char *name, int64_t def)
{
    const nn_attr_t *a = vigil__nn_attr(n, name);
    if (!a) return def;
    if (a->type == NN_ATTR_FLOAT) { /* saturating: fuzz gave 1.2e33 (UB as a cast) */
        float f = a->f;
        return f != f ? 0 : f >= 9223372036854775808.0f ? INT64_MAX : f < -9223372036854775808.0f ? INT64_MIN
                                                                                                 : (int64_t)f;
    }
    return a->i;
}

float vigil__nn_attr_float(const nn_node_t *n, const char *name, float def)
{
    const nn_attr_t *a = vigil__nn_attr(n, name);
    if (!a) return def;
    if (a->type == NN_ATTR_INT) return (float)a->i;
    return a->f;
}

const char *vigil__nn_attr_str(const nn_node_t *n, const char *name, const char *def)
{
    const nn_attr_t *a = vigil__nn_attr(n, name);
    return a && a->s ? a->s : def;
}

size_t vigil__nn_attr_ints(const nn_node_t *n, const char *name, const int64_t **v)
{
    static const int64_t none[1];
    const nn_attr_t *a = vigil__nn_attr(n, name);
    *v = none; /* never NULL: callers may memcpy zero elements */
    if (!a || a->type != NN_ATTR_INTS || !a->ints) return 0;
    *v = a->ints;
    return a->n;
}
