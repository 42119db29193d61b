/* Shared by the loader fuzz drivers: after a successful load, run the model
 * once when it is cheap (every input small and fully shaped), so the planner
 * and kernels see fuzzed graphs too. Bounded work: big shapes are skipped.
 * Then export it as ONNX (src/nn/onnx/export.c) and load the export back:
 * what vigil loaded, it must be able to write and read again. */
#ifndef VIGIL_FUZZ_COMMON_H
#define VIGIL_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/onnx/export.h"
#include "vigil/nn.h"

#define FUZZ_MAX_ELEMS 4096

static void fuzz_try_run(const vigil_nn_model_t *m)
{
    size_t ni = vigil_nn_model_ninputs(m), no = vigil_nn_model_noutputs(m);
    if (ni > 4 || no > 8) return;
    for (size_t i = 0; i < no; i++) { /* big declared outputs: skip (bounded work) */
        vigil_nn_tensor_t o;
        int64_t n = 1;
        vigil_nn_model_output_info(m, i, &o);
        for (int k = 0; k < o.ndim; k++) n *= o.dims[k] < 1 ? 1 : (o.dims[k] > (1 << 20) ? (1 << 20) : o.dims[k]);
        if (n > (1 << 20)) return;
    }
    vigil_nn_tensor_t in[4], out[8];
    void *bufs[4] = {0};
    int ok = 1;
    for (size_t i = 0; i < ni && ok; i++) {
        vigil_nn_model_input_info(m, i, &in[i]);
        int64_t n = 1;
        for (int k = 0; k < in[i].ndim; k++) {
            if (in[i].dims[k] < 0) in[i].dims[k] = 1;
            n *= in[i].dims[k];
            if (n > FUZZ_MAX_ELEMS) ok = 0;
        }
        size_t es = vigil_nn_dtype_size(in[i].dtype);
        if (!ok || !es) {
            ok = 0;
            break;
        }
        bufs[i] = calloc((size_t)n + 1, es);
        in[i].data = bufs[i];
        if (!in[i].data) ok = 0;
        /* small deterministic values: 1, 2, 0, 1, 2, ... as the dtype */
        for (int64_t k = 0; ok && k < n; k++) {
            unsigned char *p = (unsigned char *)in[i].data + (size_t)k * es;
            if (in[i].dtype == VIGIL_NN_FLOAT32) {
                float f = (float)((k + 1) % 3);
                memcpy(p, &f, 4);
            } else {
                p[0] = (unsigned char)((k + 1) % 3);
            }
        }
    }
    if (ok) {
        char err[256];
        vigil_nn_session_opts_t so;
        vigil_nn_session_opts_init(&so);
        /* bounded work: a graph that would fold or run a huge intermediate
         * (a 1 GB Resize of a constant: fuzz timeout) fails its plan instead */
        so.max_memory = (size_t)256 << 20;
        vigil_nn_session_t *s = vigil_nn_session_new(m, &so, err, sizeof err);
        if (s) {
            vigil_nn_run(s, in, ni, out, no, err, sizeof err);
            vigil_nn_session_free(s);
        }
    }
    for (size_t i = 0; i < 4; i++) free(bufs[i]);
}

/* Promise: the export of a loaded model succeeds (or says the model has a
 * feature with no ONNX form / does not fit), and its bytes load again
 * with the same number of inputs and outputs. */
static void fuzz_try_export(const vigil_nn_model_t *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[512];
    vigil_err_t e = vigil__nn_export_onnx_buf(m, &buf, &len, err, sizeof err);
    if (e == VIGIL_ERR_UNSUPPORTED || e == VIGIL_ERR_NOMEM || e == VIGIL_ERR_TOO_LARGE) return;
    if (e) {
        fprintf(stderr, "fuzz: export of a loaded model failed: %s\n", err);
        abort();
    }
    vigil_nn_load_opts_t o;
    vigil_nn_load_opts_init(&o);
    o.optimize = 0;
    vigil_nn_model_t *r = vigil_nn_model_load_onnx(buf, len, &o, err, sizeof err);
    free(buf);
    if (!r) {
        fprintf(stderr, "fuzz: the export of a loaded model does not load: %s\n", err);
        abort();
    }
    if (vigil_nn_model_ninputs(r) != vigil_nn_model_ninputs(m) ||
        vigil_nn_model_noutputs(r) != vigil_nn_model_noutputs(m)) {
        fprintf(stderr, "fuzz: the export has %zu inputs / %zu outputs, the model %zu / %zu\n",
                vigil_nn_model_ninputs(r), vigil_nn_model_noutputs(r), vigil_nn_model_ninputs(m),
                vigil_nn_model_noutputs(m));
        abort();
    }
    vigil_nn_model_free(r);
}

#endif
