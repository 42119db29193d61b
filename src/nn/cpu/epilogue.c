/* Conv/GEMM epilogue: y = post(act(y + bias)) over a run of floats, in one
 * pass while the run is hot in cache. The AVX2 version (epilogue_avx2.c)
 * covers the activations PP-OCR and CenterNet use; the rest (sigmoid, leaky
 * relu) and CPUs without AVX2 take the portable loop here. */
#include "nn/cpu/kernels.h"

void vigil__nn_epilogue_c(float *y, int64_t n, float bias, const nn_epi_t *e)
{
    if (bias != 0)
        for (int64_t i = 0; i < n; i++) y[i] += bias;
    if (e->act) vigil__nn_apply_act(y, n, e->act, e->a, e->b);
    if (e->post)
        for (int64_t i = 0; i < n; i++) y[i] = y[i] * e->pa + e->pb;
}

/* the activations the AVX2 and AVX-512 epilogues have */
int vigil__nn_epilogue_vector(const nn_epi_t *e)
{
    return e->act == NN_ACT_NONE || e->act == NN_ACT_RELU || e->act == NN_ACT_CLIP || e->act == NN_ACT_HARDSIGMOID ||
           e->act == NN_ACT_HARDSWISH || e->act == NN_ACT_HARDSWISH_TF || e->act == NN_ACT_SIGMOID;
}

void vigil__nn_epilogue(float *y, int64_t n, float bias, const nn_epi_t *e)
{
    if (!vigil__nn_have_avx2() || !vigil__nn_epilogue_vector(e)) {
        vigil__nn_epilogue_c(y, n, bias, e);
        return;
    }
#if defined(__x86_64__) || defined(__i386__)
    if (vigil__nn_have_avx512()) {
        vigil__nn_epilogue_avx512(y, n, bias, e);
        return;
    }
#endif
    vigil__nn_epilogue_avx2(y, n, bias, e);
}

void vigil__nn_epi_from_node(nn_epi_t *e, const nn_node_t *n)
{
    e->act = n->act;
    e->a = n->act_a;
    e->b = n->act_b;
    e->post = n->post;
    e->pa = n->post_a;
    e->pb = n->post_b;
}
