/* Elementwise ops with numpy broadcasting: arithmetic, comparison, logic,
 * variadic Sum/Mean/Max/Min and Where.
 *
 * Main idea: the output shape is the broadcast of the inputs; each input
 * gets per-dimension strides (0 where broadcast); adjacent dims are
 * coalesced and the innermost run is handed to a typed loop that takes one
 * stride per input (0 or 1 in the common cases), so same-shape and
 * scalar-broadcast cases are plain vectorisable loops. */
#pragma GCC diagnostic ignored "-Wtype-limits" /* generic integer macros compare unsigned values with 0 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/kernels.h"

int vigil__nn_axis(int64_t axis, int rank)
{
    if (axis < -rank || axis >= rank) return -1;
    return (int)(axis < 0 ? axis + rank : axis);
}

int vigil__nn_broadcast_shape(int na, const int64_t *a, int nb, const int64_t *b, int *nout,
                              int64_t *out)
{
    int n = na > nb ? na : nb;
    int64_t r[VIGIL_NN_MAX_DIMS]; /* out may alias a or b */
    if (n > VIGIL_NN_MAX_DIMS) return -1;
    for (int i = 0; i < n; i++) {
        int64_t x = i - (n - na) >= 0 ? a[i - (n - na)] : 1;
        int64_t y = i - (n - nb) >= 0 ? b[i - (n - nb)] : 1;
        if (x != y && x != 1 && y != 1) return -1;
        r[i] = x == 1 ? y : x;
    }
    memcpy(out, r, sizeof(int64_t) * (size_t)n);
    *nout = n;
    return 0;
}

void vigil__nn_broadcast_strides(int nin, const int64_t *in, int nout, const int64_t *out,
                                 int64_t *strides)
{
    int64_t s = 1;
    for (int i = nout - 1; i >= 0; i--) {
        int k = i - (nout - nin);
        int64_t d = k >= 0 ? in[k] : 1;
        strides[i] = (d == 1 && out[i] != 1) || k < 0 ? 0 : s;
        if (k >= 0) s *= d;
    }
}

typedef void (*bin_fn)(void *o, const void *a, int64_t sa, const void *b, int64_t sb, int64_t n);

/* Runs fn over out = a (op) b with broadcasting; esz_* are element sizes. */
#define BCAST_CHUNK 16384

typedef struct bcast_ctx {
    bin_fn fn;
    char *o;
    const char *a, *b;
    size_t ea, eb, eo;
    int nc;
    int64_t cd[VIGIL_NN_MAX_DIMS], ca[VIGIL_NN_MAX_DIMS], cb[VIGIL_NN_MAX_DIMS];
    int64_t inner, nchunks;
} bcast_ctx_t;

static void bcast_items(void *arg, int64_t t0, int64_t t1)
{
    const bcast_ctx_t *c = arg;
    for (int64_t t = t0; t < t1; t++) {
        int64_t r = t / c->nchunks, i0 = t % c->nchunks * BCAST_CHUNK;
        int64_t len = c->inner - i0 < BCAST_CHUNK ? c->inner - i0 : BCAST_CHUNK;
        int64_t oa = 0, ob = 0, rr = r;
        for (int d = 1; d < c->nc; d++) {
            int64_t id = rr % c->cd[d];
            rr /= c->cd[d];
            oa += id * c->ca[d], ob += id * c->cb[d];
        }
        oa += i0 * c->ca[0], ob += i0 * c->cb[0];
        c->fn(c->o + (size_t)(r * c->inner + i0) * c->eo, c->a + (size_t)oa * c->ea, c->ca[0],
              c->b + (size_t)ob * c->eb, c->cb[0], len);
    }
}

static void bcast2(vigil_nn_tensor_t *out, const vigil_nn_tensor_t *a, const vigil_nn_tensor_t *b,
                   bin_fn fn, nn_pool_t *pool)
{
    int nd = out->ndim;
    int64_t sa[VIGIL_NN_MAX_DIMS + 1], sb[VIGIL_NN_MAX_DIMS + 1], dims[VIGIL_NN_MAX_DIMS + 1];
    size_t ea = vigil_nn_dtype_size(a->dtype), eb = vigil_nn_dtype_size(b->dtype),
           eo = vigil_nn_dtype_size(out->dtype);
    int64_t numel = vigil_nn_tensor_numel(out);
    if (!numel) return;
    if (nd == 0) {
        fn(out->data, a->data, 0, b->data, 0, 1);
        return;
    }
    vigil__nn_broadcast_strides(a->ndim, a->dims, nd, out->dims, sa);
    vigil__nn_broadcast_strides(b->ndim, b->dims, nd, out->dims, sb);
    memcpy(dims, out->dims, sizeof(int64_t) * (size_t)nd);
    /* coalesce dims i-1,i when both inputs are contiguous across them */
    int k = nd - 1;
    int64_t cd[VIGIL_NN_MAX_DIMS], ca[VIGIL_NN_MAX_DIMS], cb[VIGIL_NN_MAX_DIMS];
    int nc = 0;
    cd[0] = dims[k], ca[0] = sa[k], cb[0] = sb[k];
    for (int i = k - 1; i >= 0; i--) {
        int64_t *ld = &cd[nc], *la = &ca[nc], *lb = &cb[nc];
        if (dims[i] == 1) continue;
        if (sa[i] == *la * *ld && sb[i] == *lb * *ld) {
            *ld *= dims[i];
        } else if (*ld == 1) {
            *ld = dims[i], *la = sa[i], *lb = sb[i];
        } else {
            nc++;
            cd[nc] = dims[i], ca[nc] = sa[i], cb[nc] = sb[i];
        }
    }
    nc++;
    /* cd[0] is the innermost; work items are (row, chunk of the row), so a
     * big same-shape op (a residual Add) splits over the threads too */
    bcast_ctx_t c = {fn, out->data, a->data, b->data, ea, eb, eo, nc, {0}, {0}, {0}, cd[0], 0};
    memcpy(c.cd, cd, sizeof cd);
    memcpy(c.ca, ca, sizeof ca);
    memcpy(c.cb, cb, sizeof cb);
    c.nchunks = (c.inner + BCAST_CHUNK - 1) / BCAST_CHUNK;
    int64_t outer = numel / c.inner;
    vigil__nn_parallel_for(pool, outer * c.nchunks, numel >= 4 * BCAST_CHUNK ? 1 : outer * c.nchunks,
                           bcast_items, &c);
}

#define BIN(NAME, T, EXPR)                                                                     \
    static void NAME(void *o_, const void *a_, int64_t sa, const void *b_, int64_t sb,         \
                     int64_t n)                                                                \
    {                                                                                          \
        T *o = o_;                                                                             \
        const T *a = a_, *b = b_;                                                              \
        if (sa == 1 && sb == 1) {                                                              \
            for (int64_t i = 0; i < n; i++) {                                                  \
                T x = a[i], y = b[i];                                                          \
                o[i] = (EXPR);                                                                 \
            }                                                                                  \
        } else {                                                                               \
            for (int64_t i = 0; i < n; i++) {                                                  \
                T x = a[i * sa], y = b[i * sb];                                                \
                o[i] = (EXPR);                                                                 \
            }                                                                                  \
        }                                                                                      \
    }
#define CMP(NAME, T, EXPR)                                                                     \
    static void NAME(void *o_, const void *a_, int64_t sa, const void *b_, int64_t sb,         \
                     int64_t n)                                                                \
    {                                                                                          \
        uint8_t *o = o_;                                                                       \
        const T *a = a_, *b = b_;                                                              \
        for (int64_t i = 0; i < n; i++) {                                                      \
            T x = a[i * sa], y = b[i * sb];                                                    \
            o[i] = (EXPR) ? 1 : 0;                                                             \
        }                                                                                      \
    }

/* per-dtype instantiation: X(suffix, C type, dtype enum) */
#define NUM_TYPES(X, OP)                                                                       \
    X(OP, f32, float, VIGIL_NN_FLOAT32)                                                        \
    X(OP, f64, double, VIGIL_NN_FLOAT64)                                                       \
    X(OP, i32, int32_t, VIGIL_NN_INT32)                                                        \
    X(OP, i64, int64_t, VIGIL_NN_INT64)                                                        \
    X(OP, i8, int8_t, VIGIL_NN_INT8)                                                           \
    X(OP, u8, uint8_t, VIGIL_NN_UINT8)                                                         \
    X(OP, i16, int16_t, VIGIL_NN_INT16)                                                        \
    X(OP, u16, uint16_t, VIGIL_NN_UINT16)                                                      \
    X(OP, u32, uint32_t, VIGIL_NN_UINT32)                                                      \
    X(OP, u64, uint64_t, VIGIL_NN_UINT64)

#define DEF_ADD(OP, s, T, e) BIN(add_##s, T, x + y)
#define DEF_SUB(OP, s, T, e) BIN(sub_##s, T, x - y)
#define DEF_MUL(OP, s, T, e) BIN(mul_##s, T, x * y)
#define DEF_DIV(OP, s, T, e) BIN(div_##s, T, (y != 0 || (T)0.5 != 0) ? (T)(x / y) : (T)0)
#define DEF_MAX(OP, s, T, e) BIN(max_##s, T, x > y || x != x ? x : y)
#define DEF_MIN(OP, s, T, e) BIN(min_##s, T, x < y || x != x ? x : y)
#define DEF_EQ(OP, s, T, e) CMP(eq_##s, T, x == y)
#define DEF_LT(OP, s, T, e) CMP(lt_##s, T, x < y)
#define DEF_GT(OP, s, T, e) CMP(gt_##s, T, x > y)
#define DEF_LE(OP, s, T, e) CMP(le_##s, T, x <= y)
#define DEF_GE(OP, s, T, e) CMP(ge_##s, T, x >= y)
NUM_TYPES(DEF_ADD, 0)
NUM_TYPES(DEF_SUB, 0)
NUM_TYPES(DEF_MUL, 0)
NUM_TYPES(DEF_DIV, 0)
NUM_TYPES(DEF_MAX, 0)
NUM_TYPES(DEF_MIN, 0)
NUM_TYPES(DEF_EQ, 0)
NUM_TYPES(DEF_LT, 0)
NUM_TYPES(DEF_GT, 0)
NUM_TYPES(DEF_LE, 0)
NUM_TYPES(DEF_GE, 0)
BIN(and_b, uint8_t, x && y)
BIN(or_b, uint8_t, x || y)
BIN(xor_b, uint8_t, (!x) != (!y))
CMP(eq_b, uint8_t, x == y)
BIN(fmod_f32, float, fmodf(x, y))
BIN(fmod_f64, double, fmod(x, y))
#define DEF_IMOD(OP, s, T, e)                                                                  \
    BIN(imod_##s, T, y == 0 ? (T)0 : (T)((x % y) != 0 && ((x % y) < 0) != (y < 0) ? x % y + y : x % y))
#define INT_TYPES(X, OP)                                                                       \
    X(OP, i32, int32_t, VIGIL_NN_INT32)                                                        \
    X(OP, i64, int64_t, VIGIL_NN_INT64)                                                        \
    X(OP, i8, int8_t, VIGIL_NN_INT8)                                                           \
    X(OP, u8, uint8_t, VIGIL_NN_UINT8)                                                         \
    X(OP, i16, int16_t, VIGIL_NN_INT16)                                                        \
    X(OP, u16, uint16_t, VIGIL_NN_UINT16)                                                      \
    X(OP, u32, uint32_t, VIGIL_NN_UINT32)                                                      \
    X(OP, u64, uint64_t, VIGIL_NN_UINT64)
INT_TYPES(DEF_IMOD, 0)
BIN(imod_f32, float, fmodf(x, y))
BIN(imod_f64, double, fmod(x, y))
#define DEF_POWF(OP, s, T, e) BIN(pow_##s, T, (T)pow((double)x, (double)y))
NUM_TYPES(DEF_POWF, 0)

/* float Add/Sub/Mul/Div: AVX2 for the contiguous / broadcast-scalar rows */
#define FAST_F32(name, op)                                                                     \
    static void name##_f32_fast(void *o, const void *a, int64_t sa, const void *b, int64_t sb,  \
                                int64_t n)                                                     \
    {                                                                                          \
        if (vigil__nn_have_avx2() && vigil__nn_binf_avx2(op, o, a, sa, b, sb, n)) return;      \
        name##_f32(o, a, sa, b, sb, n);                                                        \
    }
FAST_F32(add, 0)
FAST_F32(sub, 1)
FAST_F32(mul, 2)
FAST_F32(div, 3)
/* the tables below pick the fast ones up by name */
#define add_f32 add_f32_fast
#define sub_f32 sub_f32_fast
#define mul_f32 mul_f32_fast
#define div_f32 div_f32_fast

#define TABLE(name)                                                                            \
    static const bin_fn name##_tab[14] = {                                                     \
        [VIGIL_NN_FLOAT32] = name##_f32, [VIGIL_NN_FLOAT64] = name##_f64,                     \
        [VIGIL_NN_INT32] = name##_i32,   [VIGIL_NN_INT64] = name##_i64,                       \
        [VIGIL_NN_INT8] = name##_i8,     [VIGIL_NN_UINT8] = name##_u8,                        \
        [VIGIL_NN_INT16] = name##_i16,   [VIGIL_NN_UINT16] = name##_u16,                      \
        [VIGIL_NN_UINT32] = name##_u32,  [VIGIL_NN_UINT64] = name##_u64}
TABLE(add);
TABLE(sub);
TABLE(mul);
TABLE(div);
TABLE(max);
TABLE(min);
TABLE(eq);
TABLE(lt);
TABLE(gt);
TABLE(le);
TABLE(ge);
TABLE(imod);
TABLE(pow);
#undef INT_TYPES
#undef add_f32
#undef sub_f32
#undef mul_f32
#undef div_f32

typedef struct bin_params {
    bin_fn fn;
    int variadic;  /* Sum/Mean/Max/Min: out = fold over inputs */
    int mean;
} bin_params_t;

typedef enum { K_ARITH, K_CMP, K_LOGIC } bin_kind_t;

static const bin_fn *table_for(const char *op, int fmod_attr, vigil_nn_dtype_t dt, bin_kind_t *kind)
{
    *kind = K_ARITH;
    if (!strcmp(op, "Add") || !strcmp(op, "Sum")) return add_tab;
    if (!strcmp(op, "Sub")) return sub_tab;
    if (!strcmp(op, "Mul")) return mul_tab;
    if (!strcmp(op, "Div")) return div_tab;
    if (!strcmp(op, "Max")) return max_tab;
    if (!strcmp(op, "Min")) return min_tab;
    if (!strcmp(op, "Pow")) return pow_tab;
    if (!strcmp(op, "Mean")) return add_tab;
    if (!strcmp(op, "Mod")) {
        if (fmod_attr || dt == VIGIL_NN_FLOAT32 || dt == VIGIL_NN_FLOAT64) {
            static bin_fn f[14];
            f[VIGIL_NN_FLOAT32] = fmod_f32;
            f[VIGIL_NN_FLOAT64] = fmod_f64;
            return f;
        }
        return imod_tab;
    }
    *kind = K_CMP;
    if (!strcmp(op, "Equal")) return eq_tab;
    if (!strcmp(op, "Less")) return lt_tab;
    if (!strcmp(op, "Greater")) return gt_tab;
    if (!strcmp(op, "LessOrEqual")) return le_tab;
    if (!strcmp(op, "GreaterOrEqual")) return ge_tab;
    *kind = K_LOGIC;
    return NULL;
}

static vigil_err_t bin_prepare(nn_prep_t *p)
{
    bin_params_t *bp = p->params;
    const char *op = p->node->op_type;
    int variadic = !strcmp(op, "Sum") || !strcmp(op, "Mean") ||
                   ((!strcmp(op, "Max") || !strcmp(op, "Min")));
    if (p->nin < 1 || (!variadic && p->nin != 2))
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "takes 2 inputs, got %d", p->nin);
    vigil_nn_dtype_t dt = p->in[0] ? p->in[0]->dtype : VIGIL_NN_UNDEFINED;
    for (int i = 0; i < p->nin; i++) {
        if (!p->in[i]) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input %d missing", i);
        if (p->in[i]->dtype != dt && strcmp(op, "Pow"))
            return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "inputs of different dtypes (%s, %s)",
                                      vigil_nn_dtype_name(dt), vigil_nn_dtype_name(p->in[i]->dtype));
    }
    bin_kind_t kind;
    const bin_fn *tab = table_for(op, (int)vigil__nn_attr_int(p->node, "fmod", 0), dt, &kind);
    if (kind == K_LOGIC) {
        if (dt != VIGIL_NN_BOOL)
            return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "dtype %s", vigil_nn_dtype_name(dt));
        bp->fn = !strcmp(op, "And") ? and_b : !strcmp(op, "Or") ? or_b : xor_b;
    } else if (kind == K_CMP && dt == VIGIL_NN_BOOL && !strcmp(op, "Equal")) {
        bp->fn = eq_b;
    } else {
        bp->fn = (int)dt < 14 ? tab[dt] : NULL;
        if (!strcmp(op, "Pow") && p->in[1]->dtype != dt) bp->fn = NULL; /* mixed: generic path */
        if (!bp->fn && strcmp(op, "Pow"))
            return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "dtype %s", vigil_nn_dtype_name(dt));
    }
    bp->variadic = p->nin != 2 || strcmp(op, "Pow") ? variadic : 0;
    bp->mean = !strcmp(op, "Mean");
    int nd = p->in[0]->ndim;
    int64_t dims[VIGIL_NN_MAX_DIMS];
    memcpy(dims, p->in[0]->dims, sizeof dims);
    for (int i = 1; i < p->nin; i++)
        if (vigil__nn_broadcast_shape(nd, dims, p->in[i]->ndim, p->in[i]->dims, &nd, dims) < 0) {
            char a[96], b[96];
            return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "shapes %s and %s do not broadcast",
                                      vigil__nn_shape_str(p->in[0]->ndim, p->in[0]->dims, a, sizeof a),
                                      vigil__nn_shape_str(p->in[i]->ndim, p->in[i]->dims, b, sizeof b));
        }
    p->out[0]->dtype = kind == K_CMP ? VIGIL_NN_BOOL : dt;
    p->out[0]->ndim = nd;
    memcpy(p->out[0]->dims, dims, sizeof dims);
    return VIGIL_OK;
}

/* out = broadcast of in (any dtype). */
static void expand_into(vigil_nn_tensor_t *out, const vigil_nn_tensor_t *in)
{
    size_t es = vigil_nn_dtype_size(in->dtype);
    int64_t numel = vigil_nn_tensor_numel(out), strides[VIGIL_NN_MAX_DIMS];
    if (vigil_nn_tensor_numel(in) == numel) {
        memcpy(out->data, in->data, (size_t)numel * es);
        return;
    }
    vigil__nn_broadcast_strides(in->ndim, in->dims, out->ndim, out->dims, strides);
    int64_t idx[VIGIL_NN_MAX_DIMS] = {0};
    for (int64_t i = 0; i < numel; i++) {
        int64_t off = 0;
        for (int d = 0; d < out->ndim; d++) off += idx[d] * strides[d];
        memcpy((char *)out->data + i * (int64_t)es, (const char *)in->data + off * (int64_t)es, es);
        for (int d = out->ndim - 1; d >= 0; d--) {
            if (++idx[d] < out->dims[d]) break;
            idx[d] = 0;
        }
    }
}

static vigil_err_t bin_run(nn_exec_t *e)
{
    const bin_params_t *bp = e->params;
    vigil_nn_tensor_t *out = e->out[0];
    if (!bp->fn) { /* Pow with mixed dtypes */
        int64_t n = vigil_nn_tensor_numel(out), sa[VIGIL_NN_MAX_DIMS], sb[VIGIL_NN_MAX_DIMS];
        vigil__nn_broadcast_strides(e->in[0]->ndim, e->in[0]->dims, out->ndim, out->dims, sa);
        vigil__nn_broadcast_strides(e->in[1]->ndim, e->in[1]->dims, out->ndim, out->dims, sb);
        int64_t idx[VIGIL_NN_MAX_DIMS] = {0};
        for (int64_t i = 0; i < n; i++) {
            int64_t oa = 0, ob = 0;
            for (int d = 0; d < out->ndim; d++) oa += idx[d] * sa[d], ob += idx[d] * sb[d];
            vigil__nn_set_double(out, i, pow(vigil__nn_get_double(e->in[0], oa),
                                             vigil__nn_get_double(e->in[1], ob)));
            for (int d = out->ndim - 1; d >= 0; d--) {
                if (++idx[d] < out->dims[d]) break;
                idx[d] = 0;
            }
        }
        return VIGIL_OK;
    }
    if (!bp->variadic) {
        bcast2(out, e->in[0], e->in[1], bp->fn, e->pool);
        return VIGIL_OK;
    }
    expand_into(out, e->in[0]);
    for (int i = 1; i < e->nin; i++) bcast2(out, out, e->in[i], bp->fn, e->pool);
    if (bp->mean) {
        int64_t n = vigil_nn_tensor_numel(out);
        for (int64_t i = 0; i < n; i++) vigil__nn_set_double(out, i, vigil__nn_get_double(out, i) / e->nin);
    }
    return VIGIL_OK;
}

/* Where(cond, X, Y) */
static vigil_err_t where_prepare(nn_prep_t *p)
{
    if (p->nin != 3 || !p->in[0] || !p->in[1] || !p->in[2])
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "takes 3 inputs");
    if (p->in[0]->dtype != VIGIL_NN_BOOL || p->in[1]->dtype != p->in[2]->dtype)
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "bad input dtypes");
    int nd;
    int64_t d[VIGIL_NN_MAX_DIMS];
    if (vigil__nn_broadcast_shape(p->in[0]->ndim, p->in[0]->dims, p->in[1]->ndim, p->in[1]->dims, &nd, d) < 0 ||
        vigil__nn_broadcast_shape(nd, d, p->in[2]->ndim, p->in[2]->dims, &nd, d) < 0)
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "shapes do not broadcast");
    p->out[0]->dtype = p->in[1]->dtype;
    p->out[0]->ndim = nd;
    memcpy(p->out[0]->dims, d, sizeof d);
    return VIGIL_OK;
}

static vigil_err_t where_run(nn_exec_t *e)
{
    vigil_nn_tensor_t *o = e->out[0];
    int nd = o->ndim;
    int64_t s[3][VIGIL_NN_MAX_DIMS], idx[VIGIL_NN_MAX_DIMS] = {0}, n = vigil_nn_tensor_numel(o);
    size_t es = vigil_nn_dtype_size(o->dtype);
    for (int k = 0; k < 3; k++) vigil__nn_broadcast_strides(e->in[k]->ndim, e->in[k]->dims, nd, o->dims, s[k]);
    for (int64_t i = 0; i < n; i++) {
        int64_t off[3] = {0, 0, 0};
        for (int d = 0; d < nd; d++)
            for (int k = 0; k < 3; k++) off[k] += idx[d] * s[k][d];
        int c = ((const uint8_t *)e->in[0]->data)[off[0]];
        const vigil_nn_tensor_t *src = c ? e->in[1] : e->in[2];
        memcpy((char *)o->data + i * (int64_t)es, (const char *)src->data + off[c ? 1 : 2] * (int64_t)es, es);
        for (int d = nd - 1; d >= 0; d--) {
            if (++idx[d] < o->dims[d]) break;
            idx[d] = 0;
        }
    }
    return VIGIL_OK;
}

#define BINOP(n) {n, bin_prepare, bin_run, sizeof(bin_params_t), 0, 2, 2}
/* variadic: Sum, Mean, Max, Min (Max/Min are binary before opset 8 only in name) */
#define VAROP(n) {n, bin_prepare, bin_run, sizeof(bin_params_t), 0, 1, NN_IN_MANY}
static const nn_op_t ops[] = {
    BINOP("Add"), BINOP("Sub"), BINOP("Mul"), BINOP("Div"), BINOP("Pow"), VAROP("Max"),
    VAROP("Min"), VAROP("Sum"), VAROP("Mean"), BINOP("Mod"), BINOP("Equal"), BINOP("Less"),
    BINOP("Greater"), BINOP("LessOrEqual"), BINOP("GreaterOrEqual"), BINOP("And"), BINOP("Or"),
    BINOP("Xor"),
    {"Where", where_prepare, where_run, 0, 0, 3, 3},
};

const nn_op_t *const vigil__nn_ops_elementwise[] = {
    &ops[0], &ops[1], &ops[2], &ops[3], &ops[4], &ops[5], &ops[6], &ops[7], &ops[8], &ops[9],
    &ops[10], &ops[11], &ops[12], &ops[13], &ops[14], &ops[15], &ops[16], &ops[17], &ops[18],
    NULL,
};
