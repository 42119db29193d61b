/* Protocol Buffers wire-format writer (see pbw.h). */
#include <stdlib.h>
#include <string.h>

#include "nn/onnx/pb.h"
#include "nn/onnx/pbw.h"

void vigil__pbw_init(pbw_t *w)
{
    memset(w, 0, sizeof *w);
}

void vigil__pbw_free(pbw_t *w)
{
    free(w->p);
    memset(w, 0, sizeof *w);
}

/* room for n more bytes */
static int reserve(pbw_t *w, size_t n)
{
    if (w->err) return -1;
    if (n > PBW_MAX - w->len) {
        w->err = 1;
        return -1;
    }
    if (w->len + n <= w->cap) return 0;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + n) cap *= 2;
    uint8_t *p = realloc(w->p, cap);
    if (!p) {
        w->err = 1;
        return -1;
    }
    w->p = p;
    w->cap = cap;
    return 0;
}

static void put_varint(pbw_t *w, uint64_t v)
{
    if (reserve(w, 10) < 0) return;
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        w->p[w->len++] = b | (v ? 0x80 : 0);
    } while (v);
}

static void put_key(pbw_t *w, uint32_t field, int wire)
{
    put_varint(w, (uint64_t)field << 3 | (uint64_t)wire);
}

static void put_raw(pbw_t *w, const void *data, size_t len)
{
    if (!len || reserve(w, len) < 0) return;
    memcpy(w->p + w->len, data, len);
    w->len += len;
}

static void put_u32le(pbw_t *w, uint32_t u)
{
    uint8_t b[4] = {(uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24)};
    put_raw(w, b, 4);
}

void vigil__pbw_varint(pbw_t *w, uint32_t field, uint64_t v)
{
    put_key(w, field, PB_VARINT);
    put_varint(w, v);
}

void vigil__pbw_float(pbw_t *w, uint32_t field, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    put_key(w, field, PB_I32);
    put_u32le(w, u);
}

void vigil__pbw_bytes(pbw_t *w, uint32_t field, const void *data, size_t len)
{
    if (len > PBW_MAX) {
        w->err = 1;
        return;
    }
    put_key(w, field, PB_LEN);
    put_varint(w, len);
    put_raw(w, data, len);
}

void vigil__pbw_str(pbw_t *w, uint32_t field, const char *s)
{
    vigil__pbw_bytes(w, field, s ? s : "", s ? strlen(s) : 0);
}

void vigil__pbw_msg(pbw_t *w, uint32_t field, const pbw_t *sub)
{
    if (sub->err) {
        w->err = 1;
        return;
    }
    vigil__pbw_bytes(w, field, sub->p, sub->len);
}

void vigil__pbw_append(pbw_t *w, const pbw_t *src)
{
    if (src->err) {
        w->err = 1;
        return;
    }
    put_raw(w, src->p, src->len);
}

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >>= 7) n++;
    return n;
}

void vigil__pbw_packed_i64(pbw_t *w, uint32_t field, const int64_t *v, size_t n)
{
    if (!n) return;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) len += varint_size((uint64_t)v[i]);
    put_key(w, field, PB_LEN);
    put_varint(w, len);
    for (size_t i = 0; i < n; i++) put_varint(w, (uint64_t)v[i]);
}

void vigil__pbw_packed_f32(pbw_t *w, uint32_t field, const float *v, size_t n)
{
    if (!n) return;
    if (n > PBW_MAX / 4) {
        w->err = 1;
        return;
    }
    put_key(w, field, PB_LEN);
    put_varint(w, n * 4);
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        put_u32le(w, u);
    }
}
