/* vigil-nn INT8 post-training quantization (src/nn/quant.c, docs/nn.md
 * "INT8").
 *
 * A quantized model is the float model plus a quantized-layer file
 * (NAME-int8.vq next to it): for each quantized Conv its per-output-channel
 * symmetric s8 weights and scales and its input's per-tensor u8 scale and
 * zero point. Applying the file to the loaded float model rewrites those
 * Conv nodes into INT8 convolutions (src/nn/cpu/ops_qconv.c); the rest of
 * the graph (and every layer left out, such as the detector heads) stays
 * float.
 *
 * Calibration runs the float model on sample inputs and records, for every
 * quantizable Conv, the range of its input: minmax (the whole range),
 * percentile (0.01% cut at each end) or entropy (the upper cut minimising
 * the KL divergence of the 256-level histogram, as TensorRT's calibrator).
 *
 * Thread: one calibrator or model per thread at a time. */
#ifndef VIGIL_NN_QUANT_H
#define VIGIL_NN_QUANT_H

#include <stddef.h>

#include "vigil/nn.h"

typedef enum vigil_nn_calib_method {
    VIGIL_NN_CALIB_MINMAX = 0,
    VIGIL_NN_CALIB_PERCENTILE,
    VIGIL_NN_CALIB_ENTROPY,
} vigil_nn_calib_method_t;

/* "minmax", "percentile", "entropy" -> method; -1 for another name. */
int vigil_nn_calib_method_parse(const char *name);

typedef struct vigil_nn_calib vigil_nn_calib_t;

/* A calibrator for model (single input). quantize_heads: also quantize the
 * Convs whose outputs reach a graph output without another Conv (kept
 * float by default). threads: workers for the calibration runs. */
vigil_nn_calib_t *vigil_nn_calib_new(const vigil_nn_model_t *model, vigil_nn_calib_method_t method,
                                     int quantize_heads, int threads, char *errstr, size_t errstr_size);
/* Keeps more Convs float (before adding inputs, or after calibration to
 * drop layers from the file): keep is a comma list of "depthwise" (every
 * depthwise Conv), "first" (the Convs reading a graph input), "=NAME" (the
 * Conv named NAME exactly) or substrings of node names. Returns how many it
 * kept. */
size_t vigil_nn_calib_keep_float(vigil_nn_calib_t *c, const char *keep);
void vigil_nn_calib_free(vigil_nn_calib_t *c);
/* Runs one input through the float model and records its statistics. */
vigil_err_t vigil_nn_calib_add(vigil_nn_calib_t *c, const vigil_nn_tensor_t *input, char *errstr,
                               size_t errstr_size);
/* Calibration passes over the same inputs the method needs (1 or 2); after
 * the first pass's inputs call vigil_nn_calib_next_pass, then add them again. */
int vigil_nn_calib_passes(const vigil_nn_calib_t *c);
void vigil_nn_calib_next_pass(vigil_nn_calib_t *c);
/* Quantized and float-kept Conv counts. */
void vigil_nn_calib_counts(const vigil_nn_calib_t *c, size_t *quantized, size_t *kept_float);
/* The layers to be written (in graph order) and their node names. */
size_t vigil_nn_calib_nlayers(const vigil_nn_calib_t *c);
const char *vigil_nn_calib_layer_name(const vigil_nn_calib_t *c, size_t i);

typedef enum vigil_nn_sens_mode {
    VIGIL_NN_SENS_ONE = 0,        /* only layer i in INT8 */
    VIGIL_NN_SENS_ALL_BUT_ONE = 1 /* every layer but i in INT8 */
} vigil_nn_sens_mode_t;

/* Per-layer sensitivity (after calibration): loads the float model file
 * (model_path, format) afresh for each trial, applies the calibrated layers
 * the mode names with the real INT8 kernels, runs the inputs and compares
 * the detector heads' outputs (the Convs whose outputs reach a graph output
 * through non-Conv nodes only) with float's: err[i] (i < nlayers) is the
 * relative RMS error sqrt(mean over inputs and heads of sum (y - yf)^2 /
 * sum yf^2) of layer i's trial; *base the same with every layer in INT8.
 * With VIGIL_NN_SENS_ONE a larger err[i] is a more sensitive layer; with
 * ALL_BUT_ONE a smaller one (keeping layer i float removes more error). */
vigil_err_t vigil_nn_calib_sensitivity(vigil_nn_calib_t *c, const char *model_path, vigil_nn_format_t format,
                                       const vigil_nn_tensor_t *inputs, size_t ninputs, vigil_nn_sens_mode_t mode,
                                       int threads, double *err, double *base, char *errstr, size_t errstr_size);

/* Writes the quantized-layer file (through a temporary file renamed into
 * place). Fails when no input was added. */
vigil_err_t vigil_nn_calib_write(vigil_nn_calib_t *c, const char *path, char *errstr, size_t errstr_size);

/* Applies a quantized-layer file to a loaded float model (before any
 * session is made). Errors name the file, the layer and why; on an error
 * the model may be half rewritten: free it. */
vigil_err_t vigil_nn_model_apply_quant(vigil_nn_model_t *model, const char *path, char *errstr,
                                       size_t errstr_size);
/* The same from bytes (origin names them in errors). */
vigil_err_t vigil_nn_model_apply_quant_buf(vigil_nn_model_t *model, const void *buf, size_t len,
                                           const char *origin, char *errstr, size_t errstr_size);

#endif
