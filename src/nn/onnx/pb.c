/* Protocol Buffers wire-format reader: bounds-checked varints, fixed-width
 * values and length-delimited fields (see pb.h). */
#include <stdlib.h>
#include <string.h>

#include "nn/onnx/pb.h"

void vigil__pb_init(pb_reader_t *r, const void *buf, size_t len)
{
    r->p = buf;
    r->end = r->p + len;
    r->err = 0;
    if (!buf) r->p = r->end = NULL;
}

uint64_t vigil__pb_varint(pb_reader_t *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (r->p >= r->end) {
            r->err = 1;
            return 0;
        }
        uint8_t b = *r->p++;
        if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    r->err = 1; /* more than 10 bytes */
    return 0;
}

uint32_t vigil__pb_fixed32(pb_reader_t *r)
{
    if (r->end - r->p < 4) {
        r->err = 1;
        r->p = r->end;
        return 0;
    }
    uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
                 (uint32_t)r->p[3] << 24;
    r->p += 4;
    return v;
}

uint64_t vigil__pb_fixed64(pb_reader_t *r)
{
    uint64_t lo = vigil__pb_fixed32(r);
    uint64_t hi = vigil__pb_fixed32(r);
    return lo | hi << 32;
}

const uint8_t *vigil__pb_bytes(pb_reader_t *r, size_t *len)
{
    uint64_t n = vigil__pb_varint(r);
    if (r->err || n > (uint64_t)(r->end - r->p)) {
        r->err = 1;
        r->p = r->end;
        *len = 0;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    *len = (size_t)n;
    return p;
}

int vigil__pb_next(pb_reader_t *r, uint32_t *field, int *wire)
{
    if (r->err || r->p >= r->end) return 0;
    uint64_t key = vigil__pb_varint(r);
    if (r->err) return 0;
    *field = (uint32_t)(key >> 3);
    *wire = (int)(key & 7);
    if (*field == 0 || key >> 35) {
        r->err = 1;
        return 0;
    }
    return 1;
}

void vigil__pb_skip(pb_reader_t *r, int wire)
{
    size_t len;
    switch (wire) {
    case PB_VARINT: vigil__pb_varint(r); break;
    case PB_I64: vigil__pb_fixed64(r); break;
    case PB_LEN: vigil__pb_bytes(r, &len); break;
    case PB_I32: vigil__pb_fixed32(r); break;
    default: r->err = 1; break; /* groups (3, 4) are not used by ONNX */
    }
}

static int push(void **arr, size_t *n, size_t *cap, size_t elem, const void *v)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        void *a = realloc(*arr, c * elem);
        if (!a) return -1;
        *arr = a;
        *cap = c;
    }
    memcpy((char *)*arr + *n * elem, v, elem);
    (*n)++;
    return 0;
}

static int read_one(pb_reader_t *r, int wire, char kind, void **arr, size_t *n, size_t *cap)
{
    if (kind == 'f') {
        if (wire != PB_I32) return -1;
        uint32_t b = vigil__pb_fixed32(r);
        float f;
        memcpy(&f, &b, 4);
        if (r->err) return -1;
        return push(arr, n, cap, 4, &f);
    }
    if (kind == 'd') {
        if (wire != PB_I64) return -1;
        uint64_t b = vigil__pb_fixed64(r);
        if (r->err) return -1;
        return push(arr, n, cap, 8, &b);
    }
    if (wire != PB_VARINT) return -1;
    uint64_t v = vigil__pb_varint(r);
    if (r->err) return -1;
    return push(arr, n, cap, 8, &v);
}

int vigil__pb_repeated(pb_reader_t *r, int wire, char kind, void **arr, size_t *n, size_t *cap)
{
    if (wire != PB_LEN) {
        if (read_one(r, wire, kind, arr, n, cap) < 0) {
            r->err = 1;
            return -1;
        }
        return 0;
    }
    size_t len;
    const uint8_t *p = vigil__pb_bytes(r, &len);
    if (!p) return -1;
    pb_reader_t sub;
    vigil__pb_init(&sub, p, len);
    int w = kind == 'f' ? PB_I32 : kind == 'd' ? PB_I64 : PB_VARINT;
    while (sub.p < sub.end) {
        if (read_one(&sub, w, kind, arr, n, cap) < 0) {
            r->err = 1;
            return -1;
        }
    }
    return 0;
}
