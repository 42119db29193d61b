/* ONNX loader: reads ModelProto / GraphProto / NodeProto / AttributeProto /
 * TensorProto / ValueInfoProto straight from the protobuf wire format into
 * the IR (no protobuf library).
 *
 * Main idea: a GraphProto's fields may come in any order, so the graph is
 * read in two steps: first the byte slices of each repeated field are
 * collected, then initializers, inputs, nodes and outputs are built in that
 * order, resolving value names. Every length is checked against the buffer
 * (pb.c) and every tensor's declared size against its data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/onnx/onnx.h"
#include "nn/onnx/pb.h"

#define MAX_ELEMS ((int64_t)1 << 34)

typedef struct slice {
    const uint8_t *p;
    size_t len;
} slice_t;

typedef struct slices {
    slice_t *v;
    size_t n, cap;
} slices_t;

static int slices_push(slices_t *s, const uint8_t *p, size_t len)
{
    if (s->n == s->cap) {
        size_t c = s->cap ? s->cap * 2 : 32;
        slice_t *v = realloc(s->v, c * sizeof *v);
        if (!v) return -1;
        s->v = v;
        s->cap = c;
    }
    s->v[s->n].p = p;
    s->v[s->n].len = len;
    s->n++;
    return 0;
}

static char *dupn(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) return NULL;
    if (n) memcpy(s, p, n);
    s[n] = 0;
    return s;
}

static int dtype_known(int64_t d)
{
    return d >= 1 && d <= 13 && d != VIGIL_NN_STRING;
}

/* ---- TensorProto ----------------------------------------------------------------- */

vigil_err_t vigil__onnx_parse_tensor(const uint8_t *buf, size_t len, vigil_nn_tensor_t *t,
                                     char **name, char *errstr, size_t errstr_size)
{
    pb_reader_t r;
    uint32_t f;
    int w;
    int64_t *dims = NULL, *i64 = NULL;
    float *f32 = NULL;
    double *f64 = NULL;
    size_t ndims = 0, cdims = 0, n64 = 0, c64 = 0, nf = 0, cf = 0, nd = 0, cd = 0;
    const uint8_t *raw = NULL;
    size_t rawlen = 0;
    int has_raw = 0, external = 0, has_strings = 0;
    int64_t dtype = 0;
    char *nm = NULL;
    vigil_err_t err = VIGIL_ERR_DECODE;
    int which64 = 0; /* 5 int32_data, 7 int64_data, 11 uint64_data */

    memset(t, 0, sizeof *t);
    if (name) *name = NULL;
    vigil__pb_init(&r, buf, len);
    while (vigil__pb_next(&r, &f, &w)) {
        size_t l;
        const uint8_t *p;
        switch (f) {
        case 1:
            if (vigil__pb_repeated(&r, w, 'v', (void **)&dims, &ndims, &cdims) < 0) goto bad;
            break;
        case 2: dtype = (int64_t)vigil__pb_varint(&r); break;
        case 4:
            if (vigil__pb_repeated(&r, w, 'f', (void **)&f32, &nf, &cf) < 0) goto bad;
            break;
        case 5: case 7: case 11:
            if (which64 && which64 != (int)f) goto bad;
            which64 = (int)f;
            if (vigil__pb_repeated(&r, w, 'v', (void **)&i64, &n64, &c64) < 0) goto bad;
            break;
        case 6: has_strings = 1; vigil__pb_skip(&r, w); break;
        case 8:
            if (w != PB_LEN || !(p = vigil__pb_bytes(&r, &l))) goto bad;
            free(nm);
            if (!(nm = dupn(p, l))) goto nomem;
            break;
        case 9:
            if (w != PB_LEN || !(raw = vigil__pb_bytes(&r, &rawlen))) goto bad;
            has_raw = 1;
            break;
        case 10:
            if (vigil__pb_repeated(&r, w, 'd', (void **)&f64, &nd, &cd) < 0) goto bad;
            break;
        case 14: external = vigil__pb_varint(&r) == 1; break;
        case 3: /* segment */
            err = VIGIL_ERR_UNSUPPORTED;
            vigil_seterr(errstr, errstr_size, err, "unsupported: tensor \"%s\": segmented tensor",
                         nm ? nm : "");
            goto fail;
        default: vigil__pb_skip(&r, w); break;
        }
        if (r.err) goto bad;
    }
    if (r.err) goto bad;
    const char *tn = nm ? nm : "";
    if (external) {
        err = VIGIL_ERR_UNSUPPORTED;
        vigil_seterr(errstr, errstr_size, err, "unsupported: tensor \"%s\": external data", tn);
        goto fail;
    }
    if (dtype == VIGIL_NN_STRING || has_strings || !dtype_known(dtype)) {
        err = VIGIL_ERR_UNSUPPORTED;
        vigil_seterr(errstr, errstr_size, err, "unsupported: tensor \"%s\": dtype %lld", tn,
                     (long long)dtype);
        goto fail;
    }
    if (ndims > VIGIL_NN_MAX_DIMS) {
        err = VIGIL_ERR_UNSUPPORTED;
        vigil_seterr(errstr, errstr_size, err, "unsupported: tensor \"%s\": %zu dims", tn, ndims);
        goto fail;
    }
    t->dtype = (vigil_nn_dtype_t)dtype;
    t->ndim = (int)ndims;
    int64_t numel = 1;
    for (size_t i = 0; i < ndims; i++) {
        if (dims[i] < 0 || (dims[i] && numel > MAX_ELEMS / dims[i])) {
            vigil_seterr(errstr, errstr_size, err, "tensor \"%s\": bad dimension %lld", tn,
                         (long long)dims[i]);
            goto fail;
        }
        t->dims[i] = dims[i];
        numel *= dims[i];
    }
    size_t es = vigil_nn_dtype_size(t->dtype);
    size_t bytes = (size_t)numel * es;
    t->data = malloc(bytes ? bytes : 1);
    if (!t->data) goto nomem;
    if (has_raw) {
        if (rawlen != bytes) {
            vigil_seterr(errstr, errstr_size, err,
                         "tensor \"%s\": declared size %zu bytes (%s %lld elements) does not match "
                         "raw_data of %zu bytes",
                         tn, bytes, vigil_nn_dtype_name(t->dtype), (long long)numel, rawlen);
            goto fail;
        }
        if (bytes) memcpy(t->data, raw, bytes);
    } else {
        size_t have = t->dtype == VIGIL_NN_FLOAT32 ? nf : t->dtype == VIGIL_NN_FLOAT64 ? nd : n64;
        int field_ok = t->dtype == VIGIL_NN_FLOAT32 ? 1 : t->dtype == VIGIL_NN_FLOAT64 ? 1 : 0;
        if (!field_ok) {
            int want = (t->dtype == VIGIL_NN_INT64) ? 7
                       : (t->dtype == VIGIL_NN_UINT32 || t->dtype == VIGIL_NN_UINT64) ? 11 : 5;
            field_ok = !n64 || which64 == want;
        }
        if (!field_ok || have != (size_t)numel) {
            vigil_seterr(errstr, errstr_size, err,
                         "tensor \"%s\": declared %lld elements but the data holds %zu", tn,
                         (long long)numel, have);
            goto fail;
        }
        for (int64_t i = 0; i < numel; i++) {
            switch (t->dtype) {
            case VIGIL_NN_FLOAT32: ((float *)t->data)[i] = f32[i]; break;
            case VIGIL_NN_FLOAT64: ((double *)t->data)[i] = f64[i]; break;
            case VIGIL_NN_FLOAT16: ((uint16_t *)t->data)[i] = (uint16_t)i64[i]; break;
            case VIGIL_NN_UINT64: ((uint64_t *)t->data)[i] = (uint64_t)i64[i]; break;
            default:
                switch (es) {
                case 1: ((uint8_t *)t->data)[i] = (uint8_t)i64[i]; break;
                case 2: ((uint16_t *)t->data)[i] = (uint16_t)i64[i]; break;
                case 4: ((uint32_t *)t->data)[i] = (uint32_t)i64[i]; break;
                default: ((int64_t *)t->data)[i] = i64[i]; break;
                }
                if (t->dtype == VIGIL_NN_BOOL) ((uint8_t *)t->data)[i] = i64[i] != 0;
                break;
            }
        }
    }
    if (name) {
        *name = nm;
        nm = NULL;
    }
    err = VIGIL_OK;
    goto done;
nomem:
    err = VIGIL_ERR_NOMEM;
    vigil_seterr(errstr, errstr_size, err, "tensor: out of memory");
    goto fail;
bad:
    vigil_seterr(errstr, errstr_size, err, "tensor \"%s\": truncated or malformed protobuf",
                 nm ? nm : "");
fail:
    free(t->data);
    t->data = NULL;
done:
    free(nm);
    free(dims);
    free(i64);
    free(f32);
    free(f64);
    return err;
}

/* ---- ValueInfoProto ---------------------------------------------------------------- */

/* Reads name and tensor type; non-tensor types are unsupported. */
static vigil_err_t parse_value_info(slice_t s, nn_graph_t *g, int *vidx, char *errstr,
                                    size_t errstr_size)
{
    pb_reader_t r, rt, rtt, rs, rd;
    uint32_t f;
    int w;
    size_t l;
    const uint8_t *p;
    char *name = NULL;
    int64_t elem = 0;
    int ndim = -1, non_tensor = 0;
    int64_t dims[VIGIL_NN_MAX_DIMS];
    vigil_err_t err = VIGIL_ERR_DECODE;

    vigil__pb_init(&r, s.p, s.len);
    while (vigil__pb_next(&r, &f, &w)) {
        if (f == 1 && w == PB_LEN && (p = vigil__pb_bytes(&r, &l))) {
            free(name);
            if (!(name = dupn(p, l))) goto fail;
        } else if (f == 2 && w == PB_LEN && (p = vigil__pb_bytes(&r, &l))) {
            vigil__pb_init(&rt, p, l);
            while (vigil__pb_next(&rt, &f, &w)) {
                if (f != 1 || w != PB_LEN) {
                    if (f == 4 || f == 5 || f == 8 || f == 9) non_tensor = 1;
                    vigil__pb_skip(&rt, w);
                    continue;
                }
                if (!(p = vigil__pb_bytes(&rt, &l))) break;
                vigil__pb_init(&rtt, p, l);
                while (vigil__pb_next(&rtt, &f, &w)) {
                    if (f == 1 && w == PB_VARINT) {
                        elem = (int64_t)vigil__pb_varint(&rtt);
                    } else if (f == 2 && w == PB_LEN && (p = vigil__pb_bytes(&rtt, &l))) {
                        ndim = 0;
                        vigil__pb_init(&rs, p, l);
                        while (vigil__pb_next(&rs, &f, &w)) {
                            if (f != 1 || w != PB_LEN) {
                                vigil__pb_skip(&rs, w);
                                continue;
                            }
                            if (!(p = vigil__pb_bytes(&rs, &l))) break;
                            int64_t d = -1;
                            vigil__pb_init(&rd, p, l);
                            while (vigil__pb_next(&rd, &f, &w)) {
                                if (f == 1 && w == PB_VARINT) d = (int64_t)vigil__pb_varint(&rd);
                                else vigil__pb_skip(&rd, w);
                            }
                            if (rd.err) rs.err = 1;
                            if (ndim < VIGIL_NN_MAX_DIMS) dims[ndim] = d < 0 ? -1 : d;
                            ndim++;
                        }
                        if (rs.err) rtt.err = 1;
                    } else {
                        vigil__pb_skip(&rtt, w);
                    }
                }
                if (rtt.err) rt.err = 1;
            }
            if (rt.err) r.err = 1;
        } else {
            vigil__pb_skip(&r, w);
        }
    }
    if (r.err) {
        vigil_seterr(errstr, errstr_size, err, "value info \"%s\": truncated or malformed",
                     name ? name : "");
        goto fail;
    }
    if (!name) {
        vigil_seterr(errstr, errstr_size, err, "value info without a name");
        goto fail;
    }
    if (non_tensor) {
        err = VIGIL_ERR_UNSUPPORTED;
        vigil_seterr(errstr, errstr_size, err, "unsupported: value \"%s\": non-tensor type", name);
        goto fail;
    }
    if (ndim > VIGIL_NN_MAX_DIMS) {
        err = VIGIL_ERR_UNSUPPORTED;
        vigil_seterr(errstr, errstr_size, err, "unsupported: value \"%s\": rank %d", name, ndim);
        goto fail;
    }
    if (elem == VIGIL_NN_STRING || (elem && !dtype_known(elem))) {
        err = VIGIL_ERR_UNSUPPORTED;
        vigil_seterr(errstr, errstr_size, err, "unsupported: value \"%s\": dtype %lld", name,
                     (long long)elem);
        goto fail;
    }
    int v = vigil__nn_graph_find(g, name);
    if (v < 0) v = vigil__nn_graph_add_value(g, name);
    if (v < 0) {
        err = VIGIL_ERR_NOMEM;
        goto fail;
    }
    if (!g->values[v].data) {
        g->values[v].dtype = (vigil_nn_dtype_t)elem;
        g->values[v].ndim = ndim;
        for (int i = 0; i < ndim; i++) g->values[v].dims[i] = dims[i];
    }
    *vidx = v;
    free(name);
    return VIGIL_OK;
fail:
    free(name);
    return err;
}

/* ---- AttributeProto / NodeProto ------------------------------------------------------ */

static vigil_err_t parse_attr(slice_t s, nn_attr_t *a, const char *node, char *errstr,
                              size_t errstr_size)
{
    pb_reader_t r;
    uint32_t f;
    int w;
    size_t l, cap_i = 0, cap_f = 0, cap_s = 0, n_i = 0, n_f = 0, n_s = 0;
    const uint8_t *p;
    int has_graph = 0, has_f = 0, has_i = 0, has_t = 0;
    vigil_err_t err = VIGIL_ERR_DECODE;

    memset(a, 0, sizeof *a);
    vigil__pb_init(&r, s.p, s.len);
    while (vigil__pb_next(&r, &f, &w)) {
        switch (f) {
        case 1:
            if (w != PB_LEN || !(p = vigil__pb_bytes(&r, &l))) goto bad;
            free(a->name);
            if (!(a->name = dupn(p, l))) goto nomem;
            break;
        case 2: {
            if (w != PB_I32) goto bad;
            uint32_t b = vigil__pb_fixed32(&r);
            memcpy(&a->f, &b, 4);
            has_f = 1;
            break;
        }
        case 3:
            if (w != PB_VARINT) goto bad;
            a->i = (int64_t)vigil__pb_varint(&r);
            has_i = 1;
            break;
        case 4:
            if (w != PB_LEN || !(p = vigil__pb_bytes(&r, &l))) goto bad;
            free(a->s);
            if (!(a->s = dupn(p, l))) goto nomem;
            a->slen = l;
            break;
        case 5: {
            if (w != PB_LEN || !(p = vigil__pb_bytes(&r, &l))) goto bad;
            if (a->t) goto bad;
            a->t = calloc(1, sizeof *a->t);
            if (!a->t) goto nomem;
            char sub[256];
            err = vigil__onnx_parse_tensor(p, l, a->t, NULL, sub, sizeof sub);
            if (err) {
                free(a->t);
                a->t = NULL;
                vigil_seterr(errstr, errstr_size, err, "node \"%s\": attribute \"%s\": %s", node,
                             a->name ? a->name : "", sub);
                goto fail;
            }
            has_t = 1;
            break;
        }
        case 6: case 11: has_graph = 1; vigil__pb_skip(&r, w); break;
        case 7:
            if (vigil__pb_repeated(&r, w, 'f', (void **)&a->floats, &n_f, &cap_f) < 0) goto bad;
            break;
        case 8:
            if (vigil__pb_repeated(&r, w, 'v', (void **)&a->ints, &n_i, &cap_i) < 0) goto bad;
            break;
        case 9: {
            if (w != PB_LEN || !(p = vigil__pb_bytes(&r, &l))) goto bad;
            if (n_s == cap_s) {
                size_t c = cap_s ? cap_s * 2 : 8;
                char **v = realloc(a->strings, c * sizeof *v);
                if (!v) goto nomem;
                a->strings = v;
                cap_s = c;
            }
            if (!(a->strings[n_s] = dupn(p, l))) goto nomem;
            n_s++;
            break;
        }
        case 20: a->type = (int)vigil__pb_varint(&r); break;
        default: vigil__pb_skip(&r, w); break;
        }
        if (r.err) goto bad;
    }
    if (r.err) goto bad;
    if (!a->name) goto bad;
    /* one list per attribute (each list has its own count while parsing:
     * fuzz found floats and ints sharing one and writing past a list) */
    if ((n_f > 0) + (n_i > 0) + (n_s > 0) > 1) goto bad;
    a->n = n_f + n_i + n_s;
    if (!a->type) { /* IR version 1 files carry no type: infer it */
        a->type = has_graph ? NN_ATTR_GRAPH : has_t ? NN_ATTR_TENSOR : a->s ? NN_ATTR_STRING
                  : a->floats ? NN_ATTR_FLOATS : a->ints ? NN_ATTR_INTS : a->strings ? NN_ATTR_STRINGS
                  : has_f ? NN_ATTR_FLOAT : has_i ? NN_ATTR_INT : NN_ATTR_UNDEFINED;
    }
    if (a->type == NN_ATTR_GRAPH || has_graph || a->type > NN_ATTR_STRINGS) {
        err = VIGIL_ERR_UNSUPPORTED;
        vigil_seterr(errstr, errstr_size, err,
                     "unsupported: node \"%s\": attribute \"%s\": graph/sparse attributes", node,
                     a->name);
        goto fail;
    }
    if (a->type == NN_ATTR_TENSOR && !a->t) goto bad;
    /* a list must be the one the type names (kernels read a->floats when
     * the type says FLOATS) */
    if ((n_f && a->type != NN_ATTR_FLOATS) || (n_i && a->type != NN_ATTR_INTS) ||
        (n_s && a->type != NN_ATTR_STRINGS))
        goto bad;
    /* and so must a single value, as ONNX's checker says ("mismatch between
     * attribute type and used field"): an INT-typed auto_pad carrying a
     * string loaded as SAME_UPPER but exported as an int (fuzz) */
    if ((a->s && a->type != NN_ATTR_STRING) || (has_t && a->type != NN_ATTR_TENSOR) ||
        (has_f && a->type != NN_ATTR_FLOAT) || (has_i && a->type != NN_ATTR_INT))
        goto bad;
    return VIGIL_OK;
nomem:
    err = VIGIL_ERR_NOMEM;
    vigil_seterr(errstr, errstr_size, err, "node \"%s\": out of memory", node);
    goto fail;
bad:
    err = VIGIL_ERR_DECODE;
    vigil_seterr(errstr, errstr_size, err, "node \"%s\": attribute \"%s\": truncated or malformed",
                 node, a->name ? a->name : "");
fail:
    a->n = n_s; /* the strings to free */
    vigil__nn_attr_release(a);
    return err;
}

typedef struct strs {
    char **v;
    size_t n, cap;
} strs_t;

static int strs_push(strs_t *s, const uint8_t *p, size_t l)
{
    if (s->n == s->cap) {
        size_t c = s->cap ? s->cap * 2 : 8;
        char **v = realloc(s->v, c * sizeof *v);
        if (!v) return -1;
        s->v = v;
        s->cap = c;
    }
    if (!(s->v[s->n] = dupn(p, l))) return -1;
    s->n++;
    return 0;
}

static void strs_free(strs_t *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
}

/* Resolves a value name used as a node input or output; creates the value. */
static int value_for(nn_graph_t *g, const char *name)
{
    int v = vigil__nn_graph_find(g, name);
    return v >= 0 ? v : vigil__nn_graph_add_value(g, name);
}

static vigil_err_t parse_node(slice_t s, nn_graph_t *g, int index, char *errstr, size_t errstr_size)
{
    pb_reader_t r;
    uint32_t f;
    int w;
    size_t l;
    const uint8_t *p;
    strs_t ins = {0}, outs = {0};
    slices_t attrs = {0};
    char *name = NULL, *op = NULL, *domain = NULL;
    int *iv = NULL, *ov = NULL;
    vigil_err_t err = VIGIL_ERR_DECODE;
    char fallback[32];

    vigil__pb_init(&r, s.p, s.len);
    while (vigil__pb_next(&r, &f, &w)) {
        if (w == PB_LEN && (f == 1 || f == 2 || f == 3 || f == 4 || f == 5 || f == 7)) {
            if (!(p = vigil__pb_bytes(&r, &l))) break;
            int rc = 0;
            switch (f) {
            case 1: rc = strs_push(&ins, p, l); break;
            case 2: rc = strs_push(&outs, p, l); break;
            case 3: free(name); rc = !(name = dupn(p, l)); break;
            case 4: free(op); rc = !(op = dupn(p, l)); break;
            case 5: rc = slices_push(&attrs, p, l); break;
            case 7: free(domain); rc = !(domain = dupn(p, l)); break;
            }
            if (rc) {
                err = VIGIL_ERR_NOMEM;
                vigil_seterr(errstr, errstr_size, err, "node %d: out of memory", index);
                goto fail;
            }
        } else {
            vigil__pb_skip(&r, w);
        }
    }
    snprintf(fallback, sizeof fallback, "#%d", index);
    const char *nn = name && *name ? name : fallback;
    if (r.err || !op) {
        vigil_seterr(errstr, errstr_size, err, "node \"%s\": truncated or malformed%s", nn,
                     !r.err ? " (no op_type)" : "");
        goto fail;
    }
    if (domain && *domain && strcmp(domain, "ai.onnx")) {
        err = VIGIL_ERR_UNSUPPORTED;
        vigil_seterr(errstr, errstr_size, err, "unsupported: node \"%s\": op %s of domain \"%s\"",
                     nn, op, domain);
        goto fail;
    }
    if (!vigil__nn_op_find(op)) {
        err = VIGIL_ERR_UNSUPPORTED;
        vigil_seterr(errstr, errstr_size, err, "unsupported: node \"%s\": op %s", nn, op);
        goto fail;
    }
    iv = malloc(sizeof(int) * (ins.n + 1));
    ov = malloc(sizeof(int) * (outs.n + 1));
    if (!iv || !ov) goto nomem;
    for (size_t i = 0; i < ins.n; i++) {
        iv[i] = *ins.v[i] ? value_for(g, ins.v[i]) : -1;
        if (*ins.v[i] && iv[i] < 0) goto nomem;
    }
    for (size_t i = 0; i < outs.n; i++) {
        if (!*outs.v[i]) {
            ov[i] = -1;
            continue;
        }
        ov[i] = value_for(g, outs.v[i]);
        if (ov[i] < 0) goto nomem;
        if (g->values[ov[i]].producer >= 0 || g->values[ov[i]].data) {
            vigil_seterr(errstr, errstr_size, err, "node \"%s\": output \"%s\" is defined twice",
                         nn, outs.v[i]);
            goto fail;
        }
    }
    int ni = vigil__nn_graph_add_node(g, nn, op, iv, (int)ins.n, ov, (int)outs.n);
    if (ni < 0) goto nomem;
    for (size_t i = 0; i < outs.n; i++)
        if (ov[i] >= 0) g->values[ov[i]].producer = ni;
    for (size_t i = 0; i < attrs.n; i++) {
        nn_attr_t a;
        err = parse_attr(attrs.v[i], &a, nn, errstr, errstr_size);
        if (err) goto fail;
        if (vigil__nn_node_add_attr(&g->nodes[ni], &a) < 0) {
            vigil__nn_attr_release(&a);
            goto nomem;
        }
    }
    err = VIGIL_OK;
    goto done;
nomem:
    err = VIGIL_ERR_NOMEM;
    vigil_seterr(errstr, errstr_size, err, "node %d: out of memory", index);
fail:
done:
    free(iv);
    free(ov);
    free(name);
    free(op);
    free(domain);
    strs_free(&ins);
    strs_free(&outs);
    free(attrs.v);
    return err;
}

/* ---- GraphProto / ModelProto ------------------------------------------------------------ */

static vigil_err_t parse_graph(const uint8_t *buf, size_t len, nn_graph_t *g, char *errstr,
                               size_t errstr_size)
{
    pb_reader_t r;
    uint32_t f;
    int w;
    size_t l;
    const uint8_t *p;
    slices_t nodes = {0}, inits = {0}, ins = {0}, outs = {0}, infos = {0};
    vigil_err_t err = VIGIL_ERR_DECODE;

    vigil__pb_init(&r, buf, len);
    while (vigil__pb_next(&r, &f, &w)) {
        slices_t *dst = f == 1 ? &nodes : f == 5 ? &inits : f == 11 ? &ins : f == 12 ? &outs
                      : f == 13 ? &infos : NULL;
        if (f == 15 || f == 16) {
            err = VIGIL_ERR_UNSUPPORTED;
            vigil_seterr(errstr, errstr_size, err, "unsupported: graph: sparse initializers");
            goto fail;
        }
        if (dst && w == PB_LEN) {
            if (!(p = vigil__pb_bytes(&r, &l))) break;
            if (slices_push(dst, p, l) < 0) goto nomem;
        } else {
            vigil__pb_skip(&r, w);
        }
    }
    if (r.err) {
        vigil_seterr(errstr, errstr_size, err, "graph: truncated or malformed protobuf");
        goto fail;
    }
    for (size_t i = 0; i < inits.n; i++) {
        vigil_nn_tensor_t t;
        char *name = NULL;
        err = vigil__onnx_parse_tensor(inits.v[i].p, inits.v[i].len, &t, &name, errstr,
                                       errstr_size);
        if (err) goto fail;
        int v = vigil__nn_graph_add_value(g, name ? name : "");
        free(name);
        if (v < 0) {
            free(t.data);
            goto nomem;
        }
        nn_value_t *val = &g->values[v];
        val->dtype = t.dtype;
        val->ndim = t.ndim;
        memcpy(val->dims, t.dims, sizeof t.dims);
        val->data = t.data;
    }
    g->inputs = malloc(sizeof(int) * (ins.n + 1));
    g->outputs = malloc(sizeof(int) * (outs.n + 1));
    if (!g->inputs || !g->outputs) goto nomem;
    for (size_t i = 0; i < ins.n; i++) {
        int v;
        err = parse_value_info(ins.v[i], g, &v, errstr, errstr_size);
        if (err) goto fail;
        if (!g->values[v].data) g->inputs[g->ninputs++] = v; /* initializers are not inputs */
    }
    for (size_t i = 0; i < nodes.n; i++) {
        err = parse_node(nodes.v[i], g, (int)i, errstr, errstr_size);
        if (err) goto fail;
    }
    for (size_t i = 0; i < infos.n; i++) {
        int v;
        err = parse_value_info(infos.v[i], g, &v, errstr, errstr_size);
        if (err == VIGIL_ERR_UNSUPPORTED) continue; /* hints only */
        if (err) goto fail;
    }
    for (size_t i = 0; i < outs.n; i++) {
        int v;
        err = parse_value_info(outs.v[i], g, &v, errstr, errstr_size);
        if (err) goto fail;
        g->outputs[g->noutputs++] = v;
    }
    /* every value read must be defined */
    for (int i = 0; i < g->nnodes; i++) {
        nn_node_t *n = &g->nodes[i];
        for (int j = 0; j < n->ninputs; j++) {
            int v = n->inputs[j];
            if (v < 0) continue;
            nn_value_t *val = &g->values[v];
            int is_input = 0;
            for (int k = 0; k < g->ninputs; k++) is_input |= g->inputs[k] == v;
            if (val->producer < 0 && !val->data && !is_input) {
                err = VIGIL_ERR_INVALID;
                vigil_seterr(errstr, errstr_size, err,
                             "node \"%s\" (op %s): input \"%s\" is not defined", n->name,
                             n->op_type, val->name);
                goto fail;
            }
        }
    }
    for (int k = 0; k < g->noutputs; k++) {
        nn_value_t *val = &g->values[g->outputs[k]];
        int is_input = 0;
        for (int j = 0; j < g->ninputs; j++) is_input |= g->inputs[j] == g->outputs[k];
        if (val->producer < 0 && !val->data && !is_input) {
            err = VIGIL_ERR_INVALID;
            vigil_seterr(errstr, errstr_size, err, "graph output \"%s\" is not produced",
                         val->name);
            goto fail;
        }
    }
    err = VIGIL_OK;
    goto done;
nomem:
    err = VIGIL_ERR_NOMEM;
    vigil_seterr(errstr, errstr_size, err, "graph: out of memory");
fail:
done:
    free(nodes.v);
    free(inits.v);
    free(ins.v);
    free(outs.v);
    free(infos.v);
    return err;
}

vigil_err_t vigil__onnx_load(const uint8_t *buf, size_t len, nn_graph_t *g, char *errstr,
                             size_t errstr_size)
{
    pb_reader_t r, ro;
    uint32_t f;
    int w;
    size_t l, glen = 0;
    const uint8_t *p, *graph = NULL;
    int opset = 0;

    vigil__pb_init(&r, buf, len);
    while (vigil__pb_next(&r, &f, &w)) {
        if (f == 7 && w == PB_LEN) {
            graph = vigil__pb_bytes(&r, &glen);
        } else if (f == 8 && w == PB_LEN && (p = vigil__pb_bytes(&r, &l))) {
            const uint8_t *dom = NULL;
            size_t dlen = 0;
            int64_t ver = 0;
            vigil__pb_init(&ro, p, l);
            while (vigil__pb_next(&ro, &f, &w)) {
                if (f == 1 && w == PB_LEN) dom = vigil__pb_bytes(&ro, &dlen);
                else if (f == 2 && w == PB_VARINT) ver = (int64_t)vigil__pb_varint(&ro);
                else vigil__pb_skip(&ro, w);
            }
            if (ro.err) r.err = 1;
            if (!dom || dlen == 0 || (dlen == 7 && !memcmp(dom, "ai.onnx", 7)))
                opset = (int)(ver > 0 && ver < 1000 ? ver : opset);
        } else {
            vigil__pb_skip(&r, w);
        }
    }
    if (r.err)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                            "onnx: truncated or malformed model (%zu bytes)", len);
    if (!graph)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE, "onnx: model has no graph");
    g->opset = opset ? opset : 1;
    return parse_graph(graph, glen, g, errstr, errstr_size);
}
