/* ONNX loader: ModelProto bytes -> nn_graph_t, and TensorProto parsing
 * (shared with the conformance driver for input_N.pb / output_N.pb). */
#ifndef VIGIL_NN_ONNX_H
#define VIGIL_NN_ONNX_H

#include "nn/ir.h"

/* Parses a TensorProto. On success *t holds malloc'd data (caller frees
 * t->data) and *name (may be NULL) a malloc'd name. Errors: VIGIL_ERR_DECODE
 * (truncated, size mismatch), VIGIL_ERR_UNSUPPORTED (dtype, external data). */
vigil_err_t vigil__onnx_parse_tensor(const uint8_t *buf, size_t len, vigil_nn_tensor_t *t,
                                     char **name, char *errstr, size_t errstr_size);

/* Builds g (initialised by the caller) from a serialized ModelProto; on
 * error g holds partial content the caller releases. Nodes are in file
 * order (the passes sort them). */
vigil_err_t vigil__onnx_load(const uint8_t *buf, size_t len, nn_graph_t *g, char *errstr,
                             size_t errstr_size);

#endif
