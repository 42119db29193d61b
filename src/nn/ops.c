/* The op registry: the per-file op tables of the CPU backend. A new file of
 * ops exports a NULL-terminated `const nn_op_t *const vigil__nn_ops_<x>[]`
 * and is listed here; lookup is by ONNX op type name. */
#include <string.h>

#include "nn/ir.h"

extern const nn_op_t *const vigil__nn_ops_elementwise[];
extern const nn_op_t *const vigil__nn_ops_unary[];
extern const nn_op_t *const vigil__nn_ops_shape[];
extern const nn_op_t *const vigil__nn_ops_conv[];
extern const nn_op_t *const vigil__nn_ops_linalg[];
extern const nn_op_t *const vigil__nn_ops_pool[];
extern const nn_op_t *const vigil__nn_ops_reduce[];
extern const nn_op_t *const vigil__nn_ops_resize[];
extern const nn_op_t *const vigil__nn_ops_tfjs[]; /* TF-only ops of the TF.js loader */

const nn_op_t *const *const vigil__nn_op_tables[] = {
    vigil__nn_ops_elementwise, vigil__nn_ops_unary, vigil__nn_ops_shape, vigil__nn_ops_conv,
    vigil__nn_ops_linalg,      vigil__nn_ops_pool,  vigil__nn_ops_reduce, vigil__nn_ops_resize,
    vigil__nn_ops_tfjs,        NULL,
};

const nn_op_t *vigil__nn_op_find(const char *name)
{
    for (size_t t = 0; vigil__nn_op_tables[t]; t++)
        for (size_t i = 0; vigil__nn_op_tables[t][i]; i++)
            if (!strcmp(vigil__nn_op_tables[t][i]->name, name)) return vigil__nn_op_tables[t][i];
    return NULL;
}
