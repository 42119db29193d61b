/* vigil-nn internal representation: values, nodes, attributes, graphs, and
 * the op registry that gives each node its semantics.
 *
 * Main idea: a graph is a flat array of values (tensors, addressed by index)
 * and a flat array of nodes that read and write values by index. Loaders
 * (ONNX, TF.js) build a graph with nn_graph_* calls; passes rewrite it; a
 * plan (plan.c) resolves concrete shapes for one set of input shapes by
 * calling each op's prepare, folds what became constant, and lays out the
 * activation arena; the executor then calls each op's run.
 *
 * Op semantics are ONNX's (default domain, opset-aware through
 * graph->opset). Ops live in per-file tables (src/nn/cpu/ops_*.c) listed by
 * src/nn/ops.c, so a loader may register its own table of extra ops. */
#ifndef VIGIL_NN_IR_H
#define VIGIL_NN_IR_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/nn.h"

/* ONNX AttributeProto.AttributeType numbering. */
enum {
    NN_ATTR_UNDEFINED = 0,
    NN_ATTR_FLOAT = 1,
    NN_ATTR_INT = 2,
    NN_ATTR_STRING = 3,
    NN_ATTR_TENSOR = 4,
    NN_ATTR_GRAPH = 5,
    NN_ATTR_FLOATS = 6,
    NN_ATTR_INTS = 7,
    NN_ATTR_STRINGS = 8,
};

typedef struct nn_attr {
    char *name;
    int type;
    float f;
    int64_t i;
    char *s; /* NUL-terminated copy (length in slen) */
    size_t slen;
    int64_t *ints;
    float *floats;
    char **strings;
    size_t n; /* count of ints/floats/strings */
    vigil_nn_tensor_t *t; /* owned tensor (data owned) */
} nn_attr_t;

typedef struct nn_value {
    char *name;
    vigil_nn_dtype_t dtype; /* UNDEFINED when not known yet */
    int ndim;               /* -1 = rank unknown */
    int64_t dims[VIGIL_NN_MAX_DIMS]; /* -1 = dynamic */
    void *data;             /* constant data (owned) or NULL */
    int producer;           /* node index or -1 */
} nn_value_t;

struct nn_op;

typedef struct nn_node {
    char *name;
    char *op_type;
    const struct nn_op *op;
    int *inputs; /* value index, -1 = optional input left out */
    int ninputs;
    int *outputs;
    int noutputs;
    nn_attr_t *attrs;
    int nattrs;
    int dead;
    /* fused activation set by the fusion pass (conv): see nn_act_t */
    int act;
    float act_a, act_b;
    /* then, when post is set, an affine y = y * post_a + post_b (fused
     * scalar Mul/Add after the activation, e.g. PP-LCNetV3's learnable
     * affine blocks) */
    int post;
    float post_a, post_b;
    /* constant weights pre-packed at load for the GEMM (owned; NULL when
     * not packed), see vigil__nn_pass_pack: Conv (group 1) [ceil(M/6)][K][6]
     * (A panels); MatMul with a constant 2-D B [K,N] [ceil(N/16)][K][16]
     * (B panels) */
    float *packed_w;
} nn_node_t;

typedef struct nn_graph {
    nn_value_t *values;
    int nvalues, values_cap;
    nn_node_t *nodes;
    int nnodes, nodes_cap;
    int *inputs;
    int ninputs;
    int *outputs;
    int noutputs;
    int opset; /* default-domain opset version */
} nn_graph_t;

/* Fused activations (conv, gemm epilogues). */
typedef enum nn_act {
    NN_ACT_NONE = 0,
    NN_ACT_RELU,
    NN_ACT_CLIP,        /* min a, max b */
    NN_ACT_HARDSIGMOID, /* max(0, min(1, a*x+b)) */
    NN_ACT_SIGMOID,
    NN_ACT_LEAKYRELU, /* alpha a */
    NN_ACT_HARDSWISH,
    NN_ACT_HARDSWISH_TF, /* (x * a) * min(max(x + 3, 0), 6): TensorFlow's hard_swish, a its 1/6 */
} nn_act_t;

/* ---- op registry ---------------------------------------------------------- */

/* What prepare sees: the node, its input tensors (in[i] NULL for a left-out
 * optional input; in[i]->data non-NULL iff the value is constant at plan
 * time) and its outputs, whose dtype/ndim/dims prepare must fill. params is
 * op->params_size zeroed bytes that live with the plan, for run. */
typedef struct nn_prep {
    const nn_graph_t *graph;
    const nn_node_t *node;
    vigil_nn_tensor_t **in;
    int nin;
    vigil_nn_tensor_t **out;
    int nout;
    void *params;
    size_t scratch_bytes; /* prepare may ask for scratch memory during run */
    char *errstr;
    size_t errstr_size;
} nn_prep_t;

struct nn_pool;

typedef struct nn_exec {
    const nn_node_t *node;
    const void *params;
    vigil_nn_tensor_t **in;
    int nin;
    vigil_nn_tensor_t **out;
    int nout;
    void *scratch; /* scratch_bytes of it; never NULL, even when prepare asked for none */
    struct nn_pool *pool;
    char *errstr;
    size_t errstr_size;
} nn_exec_t;

typedef struct nn_op {
    const char *name;
    /* returns VIGIL_OK or an error (VIGIL_ERR_UNSUPPORTED for a valid but
     * unsupported attribute/dtype, VIGIL_ERR_INVALID for a bad one) with
     * errstr naming node, op and attribute */
    vigil_err_t (*prepare)(nn_prep_t *p);
    vigil_err_t (*run)(nn_exec_t *e);
    size_t params_size;
    unsigned flags; /* NN_OP_* */
    /* arity over all supported opsets: a node with fewer than min_in or
     * more than max_in inputs, or with one of its first min_in inputs left
     * out, is rejected at load (vigil__nn_node_check_arity) before any
     * prepare runs. prepare and run see in[] with at least max_in slots
     * (NULL for a left-out or absent optional input; nin counts the slots)
     * unless max_in is NN_IN_MANY (variadic: exactly the node's inputs). */
    int min_in, max_in;
} nn_op_t;

#define NN_IN_MANY 0x7fff

/* outputs depend only on input shapes (Shape, Size): foldable at plan time */
#define NN_OP_SHAPE_ONLY 1u
/* needs the value (not just shape) of a non-first input at plan time */
#define NN_OP_NEEDS_VALUES 2u

/* NULL-terminated list of op tables. */
extern const nn_op_t *const *const vigil__nn_op_tables[];
const nn_op_t *vigil__nn_op_find(const char *name);

struct nn_node;
/* Slots of the in[] array prepare/run get for node n: its input count,
 * raised to op->max_in for ops of bounded arity. */
int vigil__nn_in_slots(const struct nn_node *n);
/* VIGIL_OK, or VIGIL_ERR_INVALID with errstr naming node and op when n's
 * input count or required inputs do not fit its op's arity. */
vigil_err_t vigil__nn_node_check_arity(const struct nn_node *n, char *errstr, size_t errstr_size);

/* ---- graph building --------------------------------------------------------- */

void vigil__nn_graph_init(nn_graph_t *g);
void vigil__nn_graph_release(nn_graph_t *g);
/* Finds a value by name; -1 if absent. Linear; loaders keep their own map. */
int vigil__nn_graph_find(const nn_graph_t *g, const char *name);
/* Adds a value (name copied); returns its index or -1 on out of memory. */
int vigil__nn_graph_add_value(nn_graph_t *g, const char *name);
/* Adds a node (strings copied, inputs/outputs copied); returns index or -1. */
int vigil__nn_graph_add_node(nn_graph_t *g, const char *name, const char *op_type,
                             const int *inputs, int ninputs, const int *outputs, int noutputs);
/* Appends an attribute to a node (moves *a, whose pointers the node then owns). */
int vigil__nn_node_add_attr(nn_node_t *n, nn_attr_t *a);
void vigil__nn_attr_release(nn_attr_t *a);

/* attribute getters: return the default when absent */
const nn_attr_t *vigil__nn_attr(const nn_node_t *n, const char *name);
int64_t vigil__nn_attr_int(const nn_node_t *n, const char *name, int64_t def);
float vigil__nn_attr_float(const nn_node_t *n, const char *name, float def);
const char *vigil__nn_attr_str(const nn_node_t *n, const char *name, const char *def);
/* ints: returns the count (0 when absent), *v points into the node */
size_t vigil__nn_attr_ints(const nn_node_t *n, const char *name, const int64_t **v);

/* ---- tensor helpers ------------------------------------------------------------ */

int64_t vigil__nn_numel(int ndim, const int64_t *dims);
size_t vigil__nn_bytes(const vigil_nn_tensor_t *t);
/* Reads element i of an integer tensor (any int dtype or bool) as int64. */
int64_t vigil__nn_get_int(const vigil_nn_tensor_t *t, int64_t i);
double vigil__nn_get_double(const vigil_nn_tensor_t *t, int64_t i);
void vigil__nn_set_double(vigil_nn_tensor_t *t, int64_t i, double v);
int vigil__nn_dtype_is_int(vigil_nn_dtype_t d);
float vigil__nn_half_to_float(uint16_t h);
uint16_t vigil__nn_float_to_half(float f);
/* "[1,3,224,224]" into buf */
const char *vigil__nn_shape_str(int ndim, const int64_t *dims, char *buf, size_t size);

/* error helpers for prepare: messages name node and op */
vigil_err_t vigil__nn_prep_err(nn_prep_t *p, vigil_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
