/* The op registry: the per-file op tables of the CPU backend. A new file of
 * ops exports a NULL-terminated `const nn_op_t *const vigil__nn_ops_<x>[]`
 * and is listed here; lookup is by ONNX op type name. */
#include <string.h>

#include "nn/ir.h"
#include "vigil/err.h"

extern const nn_op_t *const vigil__nn_ops_elementwise[];
extern const nn_op_t *const vigil__nn_ops_unary[];
extern const nn_op_t *const vigil__nn_ops_shape[];
extern const nn_op_t *const vigil__nn_ops_conv[];
extern const nn_op_t *const vigil__nn_ops_linalg[];
extern const nn_op_t *const vigil__nn_ops_pool[];
extern const nn_op_t *const vigil__nn_ops_reduce[];
extern const nn_op_t *const vigil__nn_ops_resize[];
extern const nn_op_t *const vigil__nn_ops_quant_linear[];
extern const nn_op_t *const vigil__nn_ops_tfjs[]; /* TF-only ops of the TF.js loader */

const nn_op_t *const *const vigil__nn_op_tables[] = {
    vigil__nn_ops_elementwise, vigil__nn_ops_unary, vigil__nn_ops_shape, vigil__nn_ops_conv,
    vigil__nn_ops_linalg,      vigil__nn_ops_pool,  vigil__nn_ops_reduce, vigil__nn_ops_resize,
    vigil__nn_ops_quant_linear, vigil__nn_ops_tfjs, NULL,
};

const nn_op_t *vigil__nn_op_find(const char *name)
{
    for (size_t t = 0; vigil__nn_op_tables[t]; t++)
        for (size_t i = 0; vigil__nn_op_tables[t][i]; i++)
            if (!strcmp(vigil__nn_op_tables[t][i]->name, name)) return vigil__nn_op_tables[t][i];
    return NULL;
}

int vigil__nn_in_slots(const nn_node_t *n)
{
    int k = n->ninputs;
    if (n->op && n->op->max_in != NN_IN_MANY && n->op->max_in > k) k = n->op->max_in;
    return k;
}

vigil_err_t vigil__nn_node_check_arity(const nn_node_t *n, char *errstr, size_t errstr_size)
{
    const nn_op_t *op = n->op;
    if (!op)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                            "unsupported: node \"%s\": op %s", n->name, n->op_type);
    if (n->ninputs < op->min_in || n->ninputs > op->max_in) {
        if (op->min_in == op->max_in)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                "node \"%s\" (op %s): takes %d input%s, has %d", n->name,
                                n->op_type, op->min_in, op->min_in == 1 ? "" : "s", n->ninputs);
        if (op->max_in == NN_IN_MANY)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                "node \"%s\" (op %s): takes at least %d inputs, has %d", n->name,
                                n->op_type, op->min_in, n->ninputs);
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "node \"%s\" (op %s): takes %d to %d inputs, has %d", n->name,
                            n->op_type, op->min_in, op->max_in, n->ninputs);
    }
    if (n->noutputs < 1)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "node \"%s\" (op %s): has no outputs",
                            n->name, n->op_type);
    for (int j = 0; j < op->min_in; j++)
        if (n->inputs[j] < 0)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                "node \"%s\" (op %s): required input %d is left out", n->name,
                                n->op_type, j);
    return VIGIL_OK;
}
