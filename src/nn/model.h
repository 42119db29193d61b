/* vigil-nn model and session internals shared by the loaders and the
 * executor (the public API is include/vigil/nn.h). */
#ifndef VIGIL_NN_MODEL_H
#define VIGIL_NN_MODEL_H

#include "nn/ir.h"
#include "nn/plan.h"

/* Largest model file (ONNX graph, TF.js weight shard or their sum) the
 * loaders read: protobuf's own bound on a message. */
#define VIGIL_NN_MODEL_FILE_MAX ((size_t)2 << 30)
/* Largest TF.js model.json. */
#define VIGIL_NN_JSON_FILE_MAX ((size_t)64 << 20)

struct vigil_nn_model {
    nn_graph_t g;
    vigil_nn_tensor_t *in_info;  /* per graph input: declared dtype/shape (-1 dynamic) */
    vigil_nn_tensor_t *out_info; /* per graph output */
};

/* Takes a loader's graph (ownership moves in, also on failure), sorts,
 * optimises (opts->optimize), validates every node with a plan, and makes a
 * model. NULL with errstr on failure. */
vigil_nn_model_t *vigil__nn_model_from_graph(nn_graph_t *g, const vigil_nn_load_opts_t *opts,
                                             char *errstr, size_t errstr_size);

/* Loads a TF.js model.json and its weight shards from beside it (tfjs/). */
vigil_nn_model_t *vigil__nn_tfjs_load_path(const char *path, const vigil_nn_load_opts_t *opts,
                                           char *errstr, size_t errstr_size);

#endif
