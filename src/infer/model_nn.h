/* Registry models on vigil-nn: open a model by registry name, run tensors.
 *
 * Shared by the infer stage's model ops (model_nn.c), the OCR pipeline
 * (model_ocr.c) and the CLI (`vigil detect`, `vigil ocr`, `vigil models run`).
 *
 * Thread: one vigil__nnm_t is used by one thread at a time. */
#ifndef VIGIL_INFER_MODEL_NN_H
#define VIGIL_INFER_MODEL_NN_H

#include "infer/model_registry.h"
#include "vigil/nn.h"

typedef struct vigil__nnm {
    vigil__model_entry_t entry; /* labels loaded */
    char path[1024];            /* the model file */
    vigil_nn_model_t *model;
    vigil_nn_session_t *session;
    size_t in_ix, out_ix; /* graph input / output used */
    size_t nout;
    vigil_nn_tensor_t in_info; /* declared input shape (-1 dynamic) */
    int dynamic_batch;
} vigil__nnm_t;

/* Looks name up in the registry, loads labels, the model and a session with
 * threads workers. A missing model file is VIGIL_ERR_NOT_FOUND whose message
 * says to run `vigil models fetch`. */
vigil__nnm_t *vigil__nnm_open(const char *name, int threads, char *errstr, size_t errstr_size);
void vigil__nnm_close(vigil__nnm_t *m);

/* Runs input (the registry's input) and returns in *out a view of the
 * registry's output, valid until the next run or close. */
vigil_err_t vigil__nnm_run(vigil__nnm_t *m, const vigil_nn_tensor_t *input,
                           vigil_nn_tensor_t *out, char *errstr, size_t errstr_size);

/* Runs with every graph output: outs must hold m->nout views. */
vigil_err_t vigil__nnm_run_all(vigil__nnm_t *m, const vigil_nn_tensor_t *input,
                               vigil_nn_tensor_t *outs, char *errstr, size_t errstr_size);

/* Name of graph output i. */
const char *vigil__nnm_output_name(const vigil__nnm_t *m, size_t i);
/* Bytes of a dense tensor's data (0 for STRING/UNDEFINED). */
size_t vigil__nnm_tensor_bytes(const vigil_nn_tensor_t *t);

#endif
