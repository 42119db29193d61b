/* TF.js graph-model loader internals, shared by tfjs.c (model.json, weights
 * manifest, dequantisation, node order) and tfjs_map.c (TF ops -> IR nodes
 * with layout propagation).
 *
 * Main idea: TF tensors ("node" or "node:k") are tracked in tf_tensor_t.
 * A tensor may exist in the IR in TF's own order (NHWC for 4-D activations)
 * and/or transposed to NCHW, the layout of vigil-nn's conv/pool/resize
 * kernels. Ops that are layout-agnostic (elementwise, concat, mean with
 * remapped axes) follow their inputs; ops that depend on memory order
 * (Reshape, StridedSlice, Gather, TopK, graph outputs) ask for the TF
 * order, which inserts one Transpose per tensor at most. */
#ifndef VIGIL_NN_TFJS_INT_H
#define VIGIL_NN_TFJS_INT_H

#include <jansson.h>

#include "nn/ir.h"

/* One TF tensor: IR values in TF order (v) and NCHW order (v_nchw); -1 when
 * that form does not exist (yet). */
typedef struct tf_tensor {
    int v, v_nchw;
    int rank; /* -1 unknown */
    vigil_nn_dtype_t dtype; /* UNDEFINED when not known */
} tf_tensor_t;

/* A weight of the manifest, located in the concatenated shards. */
typedef struct tf_weight {
    const char *name;
    vigil_nn_dtype_t dtype; /* after dequantisation */
    int ndim;
    int64_t dims[VIGIL_NN_MAX_DIMS];
    int quant;              /* 0 none, 1 uint8, 2 uint16, 3 float16 */
    float scale, min;
    size_t offset, bytes;   /* in the concatenated shards */
    int used;
} tf_weight_t;

typedef struct tf_node {
    const char *name;
    const char *op;
    json_t *attr; /* object or NULL */
    int *in_node, *in_out; /* data inputs: producing node and output index */
    int nin;
    int nout;
    int first_tensor; /* index into ctx->tensors */
} tf_node_t;

typedef struct tfjs_ctx {
    nn_graph_t *g;
    tf_node_t *nodes;
    int nnodes;
    tf_tensor_t *tensors;
    int ntensors;
    tf_weight_t *weights;
    int nweights;
    const uint8_t *wbuf;
    size_t wlen;
    char *errstr;
    size_t errstr_size;
} tfjs_ctx_t;

/* Emits the IR for node i (its inputs are emitted). Errors name node, op
 * and attribute. */
vigil_err_t vigil__tfjs_map_node(tfjs_ctx_t *c, int i);
/* IR value of a tensor in TF order / in NCHW order (inserting a Transpose
 * or permuting a constant when needed); -1 on out of memory. */
int vigil__tfjs_nhwc(tfjs_ctx_t *c, tf_tensor_t *t, const char *name);
/* Dequantises weight w into a new IR constant value; -1 with errstr set. */
int vigil__tfjs_weight_value(tfjs_ctx_t *c, tf_weight_t *w, const char *value_name);

/* attribute helpers over a TF attr object */
int vigil__tfjs_attr_has(const tf_node_t *n, const char *key);
int64_t vigil__tfjs_attr_i(const tf_node_t *n, const char *key, int64_t def);
float vigil__tfjs_attr_f(const tf_node_t *n, const char *key, float def);
int vigil__tfjs_attr_b(const tf_node_t *n, const char *key, int def);
/* base64-decoded string into buf (NUL-terminated); def when absent */
const char *vigil__tfjs_attr_s(const tf_node_t *n, const char *key, const char *def, char *buf,
                               size_t size);
/* list.i into v (at most max); count, or -1 when absent */
int vigil__tfjs_attr_ints(const tf_node_t *n, const char *key, int64_t *v, int max);
/* list.s entry k (base64-decoded) into buf; count of entries */
int vigil__tfjs_attr_strs(const tf_node_t *n, const char *key, int k, char *buf, size_t size);
/* {"type": "DT_..."} -> dtype; UNDEFINED when absent or unknown */
vigil_nn_dtype_t vigil__tfjs_attr_type(const tf_node_t *n, const char *key);
vigil_nn_dtype_t vigil__tfjs_dtype(const char *tf_name);
size_t vigil__tfjs_b64_decode(const char *in, uint8_t *out, size_t max);

#endif
