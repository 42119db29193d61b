/* Protocol Buffers wire-format writer for the ONNX exporter (the reader's
 * twin, pb.h).
 *
 * A writer is a growing byte buffer. Nested messages are written into a
 * writer of their own and appended with vigil__pbw_msg. Errors are sticky
 * (w->err: out of memory, or the message would pass PBW_MAX, protobuf's own
 * 2 GiB bound); callers check once at the end. */
#ifndef VIGIL_NN_PBW_H
#define VIGIL_NN_PBW_H

#include <stddef.h>
#include <stdint.h>

/* protobuf messages are limited to 2 GiB (signed 32-bit sizes) */
#define PBW_MAX (((size_t)2 << 30) - 1)

typedef struct pbw {
    uint8_t *p;
    size_t len, cap;
    int err; /* 1 after out of memory or a message over PBW_MAX */
} pbw_t;

void vigil__pbw_init(pbw_t *w);
void vigil__pbw_free(pbw_t *w);
/* field of wire type VARINT (int64 values as their two's complement) */
void vigil__pbw_varint(pbw_t *w, uint32_t field, uint64_t v);
/* field of wire type I32 holding a float */
void vigil__pbw_float(pbw_t *w, uint32_t field, float v);
/* length-delimited field: bytes, a string, or a serialized message */
void vigil__pbw_bytes(pbw_t *w, uint32_t field, const void *data, size_t len);
void vigil__pbw_str(pbw_t *w, uint32_t field, const char *s);
/* appends sub's bytes as a length-delimited field (sub's error carries over) */
void vigil__pbw_msg(pbw_t *w, uint32_t field, const pbw_t *sub);
/* appends src's bytes as they are (fields serialized into another writer) */
void vigil__pbw_append(pbw_t *w, const pbw_t *src);
/* packed repeated int64 (varints) / float (fixed32) */
void vigil__pbw_packed_i64(pbw_t *w, uint32_t field, const int64_t *v, size_t n);
void vigil__pbw_packed_f32(pbw_t *w, uint32_t field, const float *v, size_t n);

#endif
