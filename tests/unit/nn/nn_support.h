/* Helpers for vigil-nn unit tests: a tiny ONNX protobuf writer, so tests
 * build models as bytes and go through the real loader. */
#ifndef VIGIL_NN_TEST_SUPPORT_H
#define VIGIL_NN_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

typedef struct pbw {
    uint8_t *b;
    size_t n, cap;
} pbw_t;

void pbw_varint(pbw_t *w, uint64_t v);
void pbw_key(pbw_t *w, uint32_t field, int wire);
void pbw_bytes(pbw_t *w, uint32_t field, const void *p, size_t n);
void pbw_str(pbw_t *w, uint32_t field, const char *s);
void pbw_msg(pbw_t *w, uint32_t field, const pbw_t *sub); /* frees sub */
void pbw_int(pbw_t *w, uint32_t field, int64_t v);

/* ValueInfoProto for a float tensor of the given dims (-1 = dynamic). */
void pbw_value_info(pbw_t *w, uint32_t field, const char *name, int ndim, const int64_t *dims);
/* TensorProto initializer with float data (raw_data). */
void pbw_init_f32(pbw_t *w, const char *name, int ndim, const int64_t *dims, const float *data);
/* NodeProto: op with inputs/outputs (NULL-terminated lists), optional ints attribute. */
void pbw_node(pbw_t *w, const char *op, const char *const *in, const char *const *out,
              const char *attr, const int64_t *ints, int nints);
/* Wraps graph bytes into a ModelProto with the given opset; frees graph. */
void pbw_model(pbw_t *model, pbw_t *graph, int opset);

#endif
