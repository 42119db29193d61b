/* libFuzzer driver: the INT8 quantized-layer file (src/nn/quant_file.c)
 * applied to a small float model (Conv 3x3 "conv_a" -> Relu -> depthwise
 * 3x3 stride 2 "conv_b" -> Conv 1x1 "conv_c", as test_nn_quant builds it),
 * then, when the file was taken, one run of the model. Promise: a refused
 * file leaves an error message naming it; an accepted one runs (its
 * outputs finite-or-not, never a crash). Seeds: tests/fuzz/corpus/quant
 * (tests/fuzz/make_quant_seeds.py). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/nn/nn_support.c"
#include "vigil/nn.h"
#include "vigil/nn_quant.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void attr(pbw_t *node, const char *name, const int64_t *v, int n, int single)
{
    pbw_t a = {0};
    pbw_str(&a, 1, name);
    if (single) {
        pbw_int(&a, 3, v[0]);
        pbw_int(&a, 20, 2);
    } else {
        for (int i = 0; i < n; i++) pbw_int(&a, 8, v[i]);
        pbw_int(&a, 20, 7);
    }
    pbw_msg(node, 5, &a);
}

static void conv(pbw_t *g, const char *name, const char *x, const char *w, const char *b, const char *y, int64_t k,
                 int64_t s, int64_t p, int64_t group)
{
    pbw_t n = {0};
    pbw_str(&n, 1, x);
    pbw_str(&n, 1, w);
    pbw_str(&n, 1, b);
    pbw_str(&n, 2, y);
    pbw_str(&n, 3, name);
    pbw_str(&n, 4, "Conv");
    int64_t ks[2] = {k, k}, st[2] = {s, s}, pd[4] = {p, p, p, p};
    attr(&n, "kernel_shape", ks, 2, 0);
    attr(&n, "strides", st, 2, 0);
    attr(&n, "pads", pd, 4, 0);
    attr(&n, "group", &group, 1, 1);
    pbw_msg(g, 1, &n);
}

static void init(pbw_t *g, const char *name, int ndim, const int64_t *dims)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= dims[i];
    float v[256];
    for (int64_t i = 0; i < n && i < 256; i++) v[i] = (float)((i * 37) % 23 - 11) / 16;
    pbw_init_f32(g, name, ndim, dims, v);
}

static pbw_t model_bytes;

static void build(void)
{
    pbw_t g = {0};
    const char *rin[] = {"a", NULL}, *rout[] = {"ar", NULL};
    conv(&g, "conv_a", "x", "wa", "ba", "a", 3, 1, 1, 1);
    pbw_node(&g, "Relu", rin, rout, NULL, NULL, 0);
    conv(&g, "conv_b", "ar", "wb", "bb", "b", 3, 2, 1, 8);
    conv(&g, "conv_c", "b", "wc", "bc", "y", 1, 1, 0, 1);
    int64_t wa[4] = {8, 3, 3, 3}, wb[4] = {8, 1, 3, 3}, wc[4] = {4, 8, 1, 1}, b8[1] = {8}, b4[1] = {4};
    init(&g, "wa", 4, wa);
    init(&g, "ba", 1, b8);
    init(&g, "wb", 4, wb);
    init(&g, "bb", 1, b8);
    init(&g, "wc", 4, wc);
    init(&g, "bc", 1, b4);
    int64_t xd[4] = {1, 3, 13, 15}, yd[4] = {1, 4, 7, 8};
    pbw_value_info(&g, 11, "x", 4, xd);
    pbw_value_info(&g, 12, "y", 4, yd);
    pbw_model(&model_bytes, &g, 13);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!model_bytes.b) build();
    char err[512];
    vigil_nn_model_t *m = vigil_nn_model_load_onnx(model_bytes.b, model_bytes.n, NULL, err, sizeof err);
    if (!m) abort(); /* the fixed model always loads */
    err[0] = 0;
    if (vigil_nn_model_apply_quant_buf(m, data, size, "fuzz.vq", err, sizeof err) == VIGIL_OK) {
        vigil_nn_session_t *s = vigil_nn_session_new(m, NULL, err, sizeof err);
        if (s) {
            static float x[3 * 13 * 15];
            for (size_t i = 0; i < sizeof x / sizeof *x; i++) x[i] = (float)(i % 17) - 4;
            vigil_nn_tensor_t in = {.dtype = VIGIL_NN_FLOAT32, .ndim = 4, .dims = {1, 3, 13, 15}, .data = x}, out;
            if (vigil_nn_run(s, &in, 1, &out, 1, err, sizeof err) == VIGIL_OK && vigil_nn_tensor_numel(&out) != 4 * 7 * 8)
                abort(); /* promise: the shape of the float model */
            vigil_nn_session_free(s);
        }
    } else if (!strstr(err, "fuzz.vq")) {
        abort(); /* promise: the error names the file */
    }
    vigil_nn_model_free(m);
    return 0;
}
