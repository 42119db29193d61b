/* ONNX exporter: a loaded model back out as a standard ONNX file
 * (`vigil nn export MODEL OUT.onnx`), so that ONNX Runtime (or any ONNX
 * tool) can run exactly the graph vigil runs, e.g. the TF.js CenterNet.
 *
 * The graph is written as it is in the model: load it with optimize = 0
 * (the graph as loaded) to export it before vigil's fusions. Fused
 * activations and affines of an optimised model are unfused into their ONNX
 * nodes; vigil's TF-only ops become ONNX ops (TfTopKV2 -> TopK + Cast,
 * TfFloorDiv / TfFloorMod -> Mod / Div / Sub / Floor / Mul); weights go in
 * as initializers (raw_data). The opset is the graph's own (13 for TF.js
 * models), raised to 14 only for a fused HardSwish. */
#ifndef VIGIL_NN_ONNX_EXPORT_H
#define VIGIL_NN_ONNX_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/nn.h"

/* Serializes model as an ONNX ModelProto into *buf (malloc'd, *len bytes).
 * Errors (errstr names the node and op): VIGIL_ERR_UNSUPPORTED for an op
 * with no ONNX form, VIGIL_ERR_NOMEM, VIGIL_ERR_TOO_LARGE for a model over
 * protobuf's 2 GiB limit. */
vigil_err_t vigil__nn_export_onnx_buf(const vigil_nn_model_t *model, uint8_t **buf, size_t *len,
                                      char *errstr, size_t errstr_size);

/* Writes the export to path (through a temporary file beside it, renamed
 * into place: a failed export leaves no partial file). Errors name path and
 * why (e.g. "nn export: cannot write /ro/x.onnx: Permission denied"). */
vigil_err_t vigil__nn_export_onnx(const vigil_nn_model_t *model, const char *path, char *errstr,
                                  size_t errstr_size);

#endif
