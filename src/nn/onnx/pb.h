/* Protocol Buffers wire-format reader for the ONNX loader.
 *
 * A reader is a bounded cursor over a byte buffer: every read checks the
 * remaining length first, so no input can make it read past the buffer.
 * Errors are sticky (r->err set); callers check after a message. */
#ifndef VIGIL_NN_PB_H
#define VIGIL_NN_PB_H

#include <stddef.h>
#include <stdint.h>

enum { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_I32 = 5 };

typedef struct pb_reader {
    const uint8_t *p, *end;
    int err; /* 1 after a truncated or malformed read */
} pb_reader_t;

void vigil__pb_init(pb_reader_t *r, const void *buf, size_t len);
/* Reads the next field key; 0 at the end of the buffer or on error. */
int vigil__pb_next(pb_reader_t *r, uint32_t *field, int *wire);
uint64_t vigil__pb_varint(pb_reader_t *r);
uint32_t vigil__pb_fixed32(pb_reader_t *r);
uint64_t vigil__pb_fixed64(pb_reader_t *r);
/* A length-delimited field: *len bytes at the returned pointer (NULL on error). */
const uint8_t *vigil__pb_bytes(pb_reader_t *r, size_t *len);
/* Skips a field of the given wire type. */
void vigil__pb_skip(pb_reader_t *r, int wire);

/* Repeated scalar fields, packed (wire LEN) or not: append one (unpacked) or
 * all (packed) elements to a growing array. kind: 'v' varint (int64),
 * 'f' fixed32 float, 'd' fixed64 double, 'u' varint as uint64.
 * Returns 0 or -1 (malformed / out of memory). */
int vigil__pb_repeated(pb_reader_t *r, int wire, char kind, void **arr, size_t *n, size_t *cap);

#endif
