/* Tiny ONNX protobuf writer for vigil-nn unit tests (see nn_support.h). */
#include <stdlib.h>
#include <string.h>

#include "nn_support.h"

static void put(pbw_t *w, const void *p, size_t n)
{
    if (!n) return; /* an empty message or string: p may be NULL */
    if (w->n + n > w->cap) {
        w->cap = (w->n + n) * 2 + 64;
        w->b = realloc(w->b, w->cap);
    }
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

void pbw_varint(pbw_t *w, uint64_t v)
{
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        if (v) c |= 0x80;
        put(w, &c, 1);
    } while (v);
}

void pbw_key(pbw_t *w, uint32_t field, int wire) { pbw_varint(w, (uint64_t)field << 3 | (uint64_t)wire); }

void pbw_bytes(pbw_t *w, uint32_t field, const void *p, size_t n)
{
    pbw_key(w, field, 2);
    pbw_varint(w, n);
    put(w, p, n);
}

void pbw_str(pbw_t *w, uint32_t field, const char *s) { pbw_bytes(w, field, s, strlen(s)); }

void pbw_msg(pbw_t *w, uint32_t field, const pbw_t *sub)
{
    pbw_bytes(w, field, sub->b, sub->n);
    free(sub->b);
}

void pbw_int(pbw_t *w, uint32_t field, int64_t v)
{
    pbw_key(w, field, 0);
    pbw_varint(w, (uint64_t)v);
}

void pbw_value_info(pbw_t *w, uint32_t field, const char *name, int ndim, const int64_t *dims)
{
    pbw_t vi = {0}, tp = {0}, tt = {0}, sh = {0};
    for (int i = 0; i < ndim; i++) {
        pbw_t d = {0};
        if (dims[i] >= 0) pbw_int(&d, 1, dims[i]);
        else pbw_str(&d, 2, "N");
        pbw_msg(&sh, 1, &d);
    }
    pbw_int(&tt, 1, 1);
    pbw_msg(&tt, 2, &sh);
    pbw_msg(&tp, 1, &tt);
    pbw_str(&vi, 1, name);
    pbw_msg(&vi, 2, &tp);
    pbw_msg(w, field, &vi);
}

void pbw_init_f32(pbw_t *w, const char *name, int ndim, const int64_t *dims, const float *data)
{
    pbw_t t = {0};
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        pbw_int(&t, 1, dims[i]);
        n *= dims[i];
    }
    pbw_int(&t, 2, 1);
    pbw_str(&t, 8, name);
    pbw_bytes(&t, 9, data, sizeof(float) * (size_t)n);
    pbw_msg(w, 5, &t);
}

void pbw_node(pbw_t *w, const char *op, const char *const *in, const char *const *out,
              const char *attr, const int64_t *ints, int nints)
{
    pbw_t n = {0};
    for (; in && *in; in++) pbw_str(&n, 1, *in);
    for (; out && *out; out++) pbw_str(&n, 2, *out);
    pbw_str(&n, 4, op);
    if (attr) {
        pbw_t a = {0};
        pbw_str(&a, 1, attr);
        for (int i = 0; i < nints; i++) pbw_int(&a, 8, ints[i]);
        pbw_int(&a, 20, 7);
        pbw_msg(&n, 5, &a);
    }
    pbw_msg(w, 1, &n);
}

void pbw_model(pbw_t *model, pbw_t *graph, int opset)
{
    pbw_t os = {0};
    pbw_int(model, 1, 8);
    pbw_int(&os, 2, opset);
    pbw_msg(model, 8, &os);
    pbw_msg(model, 7, graph);
}
