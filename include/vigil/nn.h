/* vigil-nn: vigil's own inference engine.
 *
 * Loads ONNX models (.onnx, protobuf wire format read directly) and
 * TensorFlow.js graph models (model.json + weight shards) into one graph
 * representation, optimises it (shape inference, constant folding, dead-node
 * elimination, fusion, layout, memory planning) and runs it on a backend:
 * the CPU now (src/nn/cpu/), CUDA later behind the same boundary.
 *
 * Life cycle:
 *   vigil_nn_model_t    a loaded, optimised graph. Immutable after load:
 *                       one model can back several sessions on several threads.
 *   vigil_nn_session_t  one instance for running: its own memory arena and
 *                       thread pool. Used by one thread at a time.
 *
 * Errors: loaders never crash on bad files; they return NULL with errstr
 * naming what is wrong (file, node, op, attribute, tensor). An op or
 * attribute the engine does not support is a load-time error naming the
 * node, the op and the attribute.
 *
 * Thread: model functions are safe from any thread once loaded; a session
 * is used by one thread at a time. */
#ifndef VIGIL_NN_H
#define VIGIL_NN_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

#define VIGIL_NN_MAX_DIMS 8

typedef enum vigil_nn_dtype {
    VIGIL_NN_UNDEFINED = 0,
    VIGIL_NN_FLOAT32 = 1, /* numbering follows ONNX TensorProto.DataType */
    VIGIL_NN_UINT8 = 2,
    VIGIL_NN_INT8 = 3,
    VIGIL_NN_UINT16 = 4,
    VIGIL_NN_INT16 = 5,
    VIGIL_NN_INT32 = 6,
    VIGIL_NN_INT64 = 7,
    VIGIL_NN_STRING = 8,
    VIGIL_NN_BOOL = 9,
    VIGIL_NN_FLOAT16 = 10,
    VIGIL_NN_FLOAT64 = 11,
    VIGIL_NN_UINT32 = 12,
    VIGIL_NN_UINT64 = 13,
} vigil_nn_dtype_t;

/* A tensor view: dense, row-major, not owning its data. */
typedef struct vigil_nn_tensor {
    vigil_nn_dtype_t dtype;
    int ndim;
    int64_t dims[VIGIL_NN_MAX_DIMS];
    void *data;
} vigil_nn_tensor_t;

size_t vigil_nn_dtype_size(vigil_nn_dtype_t dtype); /* 0 for STRING/UNDEFINED */
const char *vigil_nn_dtype_name(vigil_nn_dtype_t dtype);
int64_t vigil_nn_tensor_numel(const vigil_nn_tensor_t *t);

typedef struct vigil_nn_model vigil_nn_model_t;
typedef struct vigil_nn_session vigil_nn_session_t;

typedef enum vigil_nn_format {
    VIGIL_NN_FORMAT_AUTO = 0, /* by file name: *.json = TF.js, else ONNX */
    VIGIL_NN_FORMAT_ONNX,
    VIGIL_NN_FORMAT_TFJS,
} vigil_nn_format_t;

typedef struct vigil_nn_load_opts {
    vigil_nn_format_t format;
    int optimize; /* run the graph passes (default 1); 0 = as loaded (tests) */
    /* Fixed input shapes to specialise dynamic dims at load (may be NULL):
     * input_shapes[i] applies to input i when its ndim > 0. */
    const vigil_nn_tensor_t *input_shapes;
    size_t ninput_shapes;
} vigil_nn_load_opts_t;

void vigil_nn_load_opts_init(vigil_nn_load_opts_t *opts);

/* Loads a model file (ONNX .onnx or TF.js model.json; TF.js weight shards are
 * read from beside model.json). opts may be NULL. */
vigil_nn_model_t *vigil_nn_model_load(const char *path, const vigil_nn_load_opts_t *opts,
                                      char *errstr, size_t errstr_size);
/* Loads an ONNX model from memory (fuzzing, tests). */
vigil_nn_model_t *vigil_nn_model_load_onnx(const void *buf, size_t len,
                                           const vigil_nn_load_opts_t *opts, char *errstr,
                                           size_t errstr_size);
/* Loads a TF.js graph model from memory: model.json text and the
 * concatenated weight shards in manifest order. */
vigil_nn_model_t *vigil_nn_model_load_tfjs(const char *json, size_t json_len, const void *weights,
                                           size_t weights_len, const vigil_nn_load_opts_t *opts,
                                           char *errstr, size_t errstr_size);
void vigil_nn_model_free(vigil_nn_model_t *model);

/* Graph inputs and outputs. dims of -1 are dynamic. */
size_t vigil_nn_model_ninputs(const vigil_nn_model_t *model);
size_t vigil_nn_model_noutputs(const vigil_nn_model_t *model);
const char *vigil_nn_model_input_name(const vigil_nn_model_t *model, size_t i);
const char *vigil_nn_model_output_name(const vigil_nn_model_t *model, size_t i);
/* Fills shape->dtype/ndim/dims (data NULL). */
void vigil_nn_model_input_info(const vigil_nn_model_t *model, size_t i, vigil_nn_tensor_t *shape);
void vigil_nn_model_output_info(const vigil_nn_model_t *model, size_t i,
                                vigil_nn_tensor_t *shape);
/* Op types used by the model (after optimisation), for `vigil models list`
 * and profiles: a malloc'd, NUL-separated list ending in an empty string. */
char *vigil_nn_model_op_types(const vigil_nn_model_t *model);

/* CPU kernel tiers, chosen at run time (src/nn/cpu/isa.c): the best tier
 * this CPU and build support, or the one the environment variable
 * VIGIL_NN_ISA (generic, avx2, avx512) forces. */
typedef enum vigil_nn_isa {
    VIGIL_NN_ISA_GENERIC = 0, /* portable C: any CPU */
    VIGIL_NN_ISA_AVX2 = 1,    /* AVX2 + FMA */
    VIGIL_NN_ISA_AVX512 = 2,  /* AVX-512 F/BW/VL/DQ: slot ready, no kernels built yet */
} vigil_nn_isa_t;
#define VIGIL_NN_ISA_COUNT 3

/* The tier the kernels use. */
vigil_nn_isa_t vigil_nn_isa(void);
/* The best tier this CPU and build can run. */
vigil_nn_isa_t vigil_nn_isa_best(void);
/* 1 when this CPU has the tier's instructions and this build its kernels. */
int vigil_nn_isa_supported(vigil_nn_isa_t isa);
const char *vigil_nn_isa_name(vigil_nn_isa_t isa); /* "generic", "avx2", "avx512" */
/* VIGIL_NN_ISA checked: VIGIL_OK when unset or naming a tier this CPU runs;
 * else VIGIL_ERR_INVALID (unknown name) or VIGIL_ERR_UNSUPPORTED (the CPU
 * or the build lacks it), errstr naming the value, why, and the tiers that
 * would run. Model load and session_new call it; commands call it at start. */
vigil_err_t vigil_nn_isa_check(char *errstr, size_t errstr_size);
/* One line for logs and benchmarks: the tier, how it was chosen, the CPU's
 * model name and its relevant flags, e.g. "isa avx2 (best; VIGIL_NN_ISA
 * unset) cpu "AMD EPYC 9R45" flags avx2 fma avx512f ...". */
void vigil_nn_isa_describe(char *buf, size_t size);

typedef enum vigil_nn_backend {
    VIGIL_NN_BACKEND_CPU = 0,
    VIGIL_NN_BACKEND_CUDA = 1, /* only when built with CUDA; else session_new fails */
} vigil_nn_backend_t;

typedef struct vigil_nn_session_opts {
    int threads; /* worker threads of the session's pool; <= 0 = 1 */
    vigil_nn_backend_t backend;
    int profile; /* collect per-node timings (vigil_nn_session_profile) */
    /* memory budget of the session in bytes (activation arena plus values
     * computed while planning); 0 = none. A plan over it fails with
     * VIGIL_ERR_NOMEM before computing anything big (untrusted models). */
    size_t max_memory;
} vigil_nn_session_opts_t;

void vigil_nn_session_opts_init(vigil_nn_session_opts_t *opts);

vigil_nn_session_t *vigil_nn_session_new(const vigil_nn_model_t *model,
                                         const vigil_nn_session_opts_t *opts, char *errstr,
                                         size_t errstr_size);
void vigil_nn_session_free(vigil_nn_session_t *session);

/* Runs the model. inputs[i] matches graph input i (dtype and shape checked:
 * a mismatch is VIGIL_ERR_INVALID naming the input and both shapes; dynamic
 * dims, including the batch, may take any size). outputs[i] is filled with a
 * view of graph output i that stays valid until the next run or free. */
vigil_err_t vigil_nn_run(vigil_nn_session_t *session, const vigil_nn_tensor_t *inputs,
                         size_t ninputs, vigil_nn_tensor_t *outputs, size_t noutputs,
                         char *errstr, size_t errstr_size);

/* Per-op-type profile of the runs since the session was made (opts.profile):
 * a malloc'd text table (op type, calls, total ms, share). */
char *vigil_nn_session_profile(const vigil_nn_session_t *session);
/* Bytes of the session's activation arena (peak working memory). */
size_t vigil_nn_session_arena_bytes(const vigil_nn_session_t *session);

#endif
