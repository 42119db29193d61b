/* Shape and data-movement ops: Reshape, Flatten, Transpose, Squeeze,
 * Unsqueeze, Concat, Split, Slice, Gather, Shape, Size, Expand, Tile, Pad,
 * Cast, CastLike, ConstantOfShape, Constant, Range.
 *
 * Inputs that decide an output shape (Reshape's shape, Slice's starts, ...)
 * must be known when the plan is built: constants, or computed from shapes
 * (Shape -> Gather -> Concat), or small graph inputs. Otherwise prepare
 * answers VIGIL_ERR_AGAIN. Opset differences (attribute vs input forms) are
 * handled in prepare; run only moves bytes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/kernels.h"

#define MAXD VIGIL_NN_MAX_DIMS

/* Reads a constant integer input into v (at most max); count or -1. */
static int in_ints(nn_prep_t *p, int j, int64_t *v, int max, vigil_err_t *err)
{
    *err = VIGIL_OK;
    if (j >= p->nin || !p->in[j]) return -2; /* absent */
    if (!p->in[j]->data) {
        *err = vigil__nn_prep_err(p, VIGIL_ERR_AGAIN, "input %d must be known before running", j);
        return -1;
    }
    int64_t n = vigil_nn_tensor_numel(p->in[j]);
    if (n > max) {
        *err = vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input %d has too many values", j);
        return -1;
    }
    for (int64_t i = 0; i < n; i++) v[i] = vigil__nn_get_int(p->in[j], i);
    return (int)n;
}

static void set_out(nn_prep_t *p, int k, vigil_nn_dtype_t dt, int nd, const int64_t *dims)
{
    p->out[k]->dtype = dt;
    p->out[k]->ndim = nd;
    if (nd > 0) memcpy(p->out[k]->dims, dims, sizeof(int64_t) * (size_t)nd);
}

static vigil_err_t copy_run(nn_exec_t *e)
{
    if (e->out[0]->data != e->in[0]->data) memcpy(e->out[0]->data, e->in[0]->data, vigil__nn_bytes(e->out[0]));
    return VIGIL_OK;
}

/* ---- Reshape / Flatten / Squeeze / Unsqueeze ------------------------------------------ */

static vigil_err_t reshape_prepare(nn_prep_t *p)
{
    int64_t s[MAXD];
    int ns;
    vigil_err_t err;
    const vigil_nn_tensor_t *x = p->in[0];
    if (p->graph->opset < 5) {
        const int64_t *a;
        ns = (int)vigil__nn_attr_ints(p->node, "shape", &a);
        if (ns > MAXD) return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "rank %d", ns);
        memcpy(s, a, sizeof(int64_t) * (size_t)ns);
    } else if ((ns = in_ints(p, 1, s, MAXD, &err)) < 0) {
        return err ? err : vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "no shape input");
    }
    int allowzero = (int)vigil__nn_attr_int(p->node, "allowzero", 0), neg = -1;
    int64_t known = 1, total = vigil_nn_tensor_numel(x);
    for (int i = 0; i < ns; i++) {
        if (s[i] == 0 && !allowzero) {
            if (i >= x->ndim) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "shape 0 beyond rank");
            s[i] = x->dims[i];
        }
        if (s[i] == -1) {
            if (neg >= 0) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "two -1 in shape");
            neg = i;
        } else if (s[i] < 0) {
            return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "shape value %lld", (long long)s[i]);
        } else {
            known *= s[i];
        }
    }
    if (neg >= 0) s[neg] = known ? total / known : 0;
    if (vigil__nn_numel(ns, s) != total) {
        char a[96], b[96];
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "cannot reshape %s to %s",
                                  vigil__nn_shape_str(x->ndim, x->dims, a, sizeof a),
                                  vigil__nn_shape_str(ns, s, b, sizeof b));
    }
    set_out(p, 0, x->dtype, ns, s);
    return VIGIL_OK;
}

static vigil_err_t flatten_prepare(nn_prep_t *p)
{
    const vigil_nn_tensor_t *x = p->in[0];
    int64_t axis = vigil__nn_attr_int(p->node, "axis", 1);
    if (axis < 0) axis += x->ndim;
    if (axis < 0 || axis > x->ndim) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "attribute axis out of range");
    int64_t d[2] = {vigil__nn_numel((int)axis, x->dims), vigil__nn_numel(x->ndim - (int)axis, x->dims + axis)};
    set_out(p, 0, x->dtype, 2, d);
    return VIGIL_OK;
}

static vigil_err_t axes_of(nn_prep_t *p, int input, int64_t *axes, int *n)
{
    vigil_err_t err = VIGIL_OK;
    if (p->graph->opset < 13) {
        const int64_t *a;
        *n = (int)vigil__nn_attr_ints(p->node, "axes", &a);
        if (*n > MAXD) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "too many axes");
        memcpy(axes, a, sizeof(int64_t) * (size_t)*n);
        return VIGIL_OK;
    }
    *n = in_ints(p, input, axes, MAXD, &err);
    if (*n == -2) *n = 0;
    return *n < 0 ? err : VIGIL_OK;
}

static vigil_err_t squeeze_prepare(nn_prep_t *p)
{
    const vigil_nn_tensor_t *x = p->in[0];
    int64_t axes[MAXD], d[MAXD];
    int na, nd = 0;
    uint8_t drop[MAXD] = {0};
    vigil_err_t err = axes_of(p, 1, axes, &na);
    if (err) return err;
    for (int i = 0; i < na; i++) {
        int a = vigil__nn_axis(axes[i], x->ndim);
        if (a < 0 || x->dims[a] != 1) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "axis %lld cannot be squeezed", (long long)axes[i]);
        drop[a] = 1;
    }
    for (int i = 0; i < x->ndim; i++)
        if (!(na ? drop[i] : x->dims[i] == 1)) d[nd++] = x->dims[i];
    set_out(p, 0, x->dtype, nd, d);
    return VIGIL_OK;
}

static vigil_err_t unsqueeze_prepare(nn_prep_t *p)
{
    const vigil_nn_tensor_t *x = p->in[0];
    int64_t axes[MAXD], d[MAXD];
    int na;
    uint8_t ins[MAXD + 1] = {0};
    vigil_err_t err = axes_of(p, 1, axes, &na);
    if (err) return err;
    int r = x->ndim + na;
    if (r > MAXD) return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "rank %d", r);
    for (int i = 0; i < na; i++) {
        int a = vigil__nn_axis(axes[i], r);
        if (a < 0 || ins[a]) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "bad axis %lld", (long long)axes[i]);
        ins[a] = 1;
    }
    for (int i = 0, k = 0; i < r; i++) d[i] = ins[i] ? 1 : x->dims[k++];
    set_out(p, 0, x->dtype, r, d);
    return VIGIL_OK;
}

/* ---- Transpose ------------------------------------------------------------------------ */

typedef struct perm_params {
    int perm[MAXD];
} perm_params_t;

static vigil_err_t transpose_prepare(nn_prep_t *p)
{
    perm_params_t *pp = p->params;
    const vigil_nn_tensor_t *x = p->in[0];
    const int64_t *perm;
    size_t n = vigil__nn_attr_ints(p->node, "perm", &perm);
    int64_t d[MAXD];
    uint8_t seen[MAXD] = {0};
    if (n && n != (size_t)x->ndim) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "attribute perm has %zu values for rank %d", n, x->ndim);
    for (int i = 0; i < x->ndim; i++) {
        int64_t a = n ? perm[i] : x->ndim - 1 - i;
        if (a < 0 || a >= x->ndim || seen[a]) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "attribute perm is not a permutation");
        seen[a] = 1;
        pp->perm[i] = (int)a;
        d[i] = x->dims[a];
    }
    set_out(p, 0, x->dtype, x->ndim, d);
    return VIGIL_OK;
}

/* Generic strided copy: out[idx] = in[sum idx[d] * st[d]] over out dims. */
static void strided_copy(char *o, const char *in, int nd, const int64_t *dims, const int64_t *st,
                         size_t es)
{
    int64_t n = vigil__nn_numel(nd, dims), idx[MAXD] = {0};
    if (!n) return;
    if (nd == 0) {
        memcpy(o, in, es);
        return;
    }
    int64_t inner = dims[nd - 1], sin = st[nd - 1];
    for (int64_t r = 0; r < n / inner; r++) {
        int64_t off = 0;
        for (int d = 0; d < nd - 1; d++) off += idx[d] * st[d];
        const char *src = in + off * (int64_t)es;
        if (es == 4) {
            float *dst = (float *)o;
            for (int64_t i = 0; i < inner; i++) dst[i] = ((const float *)src)[i * sin];
        } else if (sin == 1) {
            memcpy(o, src, (size_t)inner * es);
        } else {
            for (int64_t i = 0; i < inner; i++) memcpy(o + i * (int64_t)es, src + i * sin * (int64_t)es, es);
        }
        o += inner * (int64_t)es;
        for (int d = nd - 2; d >= 0; d--) {
            if (++idx[d] < dims[d]) break;
            idx[d] = 0;
        }
    }
}

static void contiguous_strides(int nd, const int64_t *dims, int64_t *st)
{
    int64_t s = 1;
    for (int i = nd - 1; i >= 0; i--) {
        st[i] = s;
        s *= dims[i];
    }
}

/* Blocked transpose of nb matrices rows x cols into cols x rows (element
 * size es: 1, 2, 4 or 8 bytes): 32x32 tiles, so both the reads along a
 * row and the writes along a column stay in cache (the n-d walk below
 * reads with a stride of rows elements for every output element). */
#define TR_BLK 32
#define TR_TILE(T)                                                                                   \
    static void tr_tile_##T(const T *in, T *o, int64_t rows, int64_t cols, int64_t r0, int64_t r1,    \
                            int64_t c0, int64_t c1)                                                  \
    {                                                                                                \
        for (int64_t c = c0; c < c1; c++)                                                            \
            for (int64_t r = r0; r < r1; r++) o[c * rows + r] = in[r * cols + c];                    \
    }
TR_TILE(uint8_t)
TR_TILE(uint16_t)
TR_TILE(uint32_t)
TR_TILE(uint64_t)

static void transpose_2d(const char *in, char *o, int64_t nb, int64_t rows, int64_t cols, size_t es)
{
    int64_t mat = rows * cols * (int64_t)es;
    int avx2 = es == 4 && vigil__nn_have_avx2();
    for (int64_t b = 0; b < nb; b++, in += mat, o += mat)
        for (int64_t r0 = 0; r0 < rows; r0 += TR_BLK)
            for (int64_t c0 = 0; c0 < cols; c0 += TR_BLK) {
                int64_t r1 = r0 + TR_BLK < rows ? r0 + TR_BLK : rows;
                int64_t c1 = c0 + TR_BLK < cols ? c0 + TR_BLK : cols;
                switch (es) {
                case 1: tr_tile_uint8_t((const uint8_t *)in, (uint8_t *)o, rows, cols, r0, r1, c0, c1); break;
                case 2: tr_tile_uint16_t((const uint16_t *)in, (uint16_t *)o, rows, cols, r0, r1, c0, c1); break;
                case 4:
                    if (avx2) {
                        vigil__nn_transpose_tile_avx2((const float *)in, (float *)o, rows, cols, r0, r1, c0, c1);
                        break;
                    }
                    tr_tile_uint32_t((const uint32_t *)in, (uint32_t *)o, rows, cols, r0, r1, c0, c1); break;
                default: tr_tile_uint64_t((const uint64_t *)in, (uint64_t *)o, rows, cols, r0, r1, c0, c1); break;
                }
            }
}

/* The permutation with size-1 axes dropped and input axes that stay
 * adjacent and in order merged (NCHW -> NHWC is [N, C, HW] -> [N, HW, C]):
 * its rank, the merged input dims md and the merged perm mp. */
static int transpose_merge(int nd, const int64_t *dims, const int *perm, int64_t *md, int *mp)
{
    int keep[MAXD], nk = 0, rank[MAXD];
    for (int i = 0; i < nd; i++) /* output order, size-1 axes dropped */
        if (dims[perm[i]] != 1) keep[nk++] = perm[i];
    /* rank of each kept input axis among the kept ones, in input order */
    for (int i = 0; i < nk; i++) {
        rank[i] = 0;
        for (int j = 0; j < nk; j++) rank[i] += keep[j] < keep[i];
    }
    /* merge runs of consecutive input axes in the output order */
    int group_of_rank[MAXD], ng = 0;
    int64_t gdim[MAXD];
    for (int i = 0; i < nk; i++) {
        if (i && rank[i] == rank[i - 1] + 1) {
            gdim[ng - 1] *= dims[keep[i]];
        } else {
            gdim[ng] = dims[keep[i]];
            ng++;
        }
        group_of_rank[rank[i]] = ng - 1;
    }
    /* groups in input order: merged input dims; mp[out group] = its input position */
    int in_pos[MAXD], gi = 0;
    for (int r = 0; r < nk; r++)
        if (r == 0 || group_of_rank[r] != group_of_rank[r - 1]) in_pos[group_of_rank[r]] = gi++;
    for (int g = 0; g < ng; g++) {
        mp[g] = in_pos[g];
        md[in_pos[g]] = gdim[g];
    }
    return ng;
}

static vigil_err_t transpose_run(nn_exec_t *e)
{
    const perm_params_t *pp = e->params;
    const vigil_nn_tensor_t *x = e->in[0];
    size_t es = vigil_nn_dtype_size(x->dtype);
    int64_t md[MAXD];
    int mp[MAXD];
    int ng = transpose_merge(x->ndim, x->dims, pp->perm, md, mp);
    if (ng <= 1 || (ng == 2 && mp[0] == 0) || (ng == 3 && mp[0] == 0 && mp[1] == 1)) /* order kept */
        return copy_run(e);
    if (es == 1 || es == 2 || es == 4 || es == 8) {
        if (ng == 2) { /* [R, C] -> [C, R] */
            transpose_2d(x->data, e->out[0]->data, 1, md[0], md[1], es);
            return VIGIL_OK;
        }
        if (ng == 3 && mp[0] == 0 && mp[1] == 2) { /* [B, R, C] -> [B, C, R] */
            transpose_2d(x->data, e->out[0]->data, md[0], md[1], md[2], es);
            return VIGIL_OK;
        }
    }
    int64_t xs[MAXD], st[MAXD];
    contiguous_strides(x->ndim, x->dims, xs);
    for (int i = 0; i < x->ndim; i++) st[i] = xs[pp->perm[i]];
    strided_copy(e->out[0]->data, x->data, x->ndim, e->out[0]->dims, st, vigil_nn_dtype_size(x->dtype));
    return VIGIL_OK;
}

/* ---- Concat / Split ----------------------------------------------------------------------- */

typedef struct axis_params {
    int axis;
    int64_t split[64];
    int n;
} axis_params_t;

static vigil_err_t concat_prepare(nn_prep_t *p)
{
    axis_params_t *ap = p->params;
    const vigil_nn_tensor_t *x0 = NULL;
    for (int i = 0; i < p->nin; i++)
        if (p->in[i] && (!x0 || vigil_nn_tensor_numel(x0) == 0)) x0 = p->in[i];
    if (!x0) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "no inputs");
    int a = vigil__nn_axis(vigil__nn_attr_int(p->node, "axis", p->graph->opset < 4 ? 1 : 0), x0->ndim);
    if (a < 0) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "attribute axis out of range");
    int64_t d[MAXD];
    memcpy(d, x0->dims, sizeof d);
    d[a] = 0;
    for (int i = 0; i < p->nin; i++) {
        const vigil_nn_tensor_t *x = p->in[i];
        if (!x) continue;
        if (x->dtype != x0->dtype || x->ndim != x0->ndim)
            return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input %d: dtype or rank differs", i);
        for (int k = 0; k < x->ndim; k++)
            if (k != a && x->dims[k] != x0->dims[k])
                return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input %d: dim %d differs", i, k);
        d[a] += x->dims[a];
    }
    ap->axis = a;
    set_out(p, 0, x0->dtype, x0->ndim, d);
    return VIGIL_OK;
}

static vigil_err_t concat_run(nn_exec_t *e)
{
    const axis_params_t *ap = e->params;
    vigil_nn_tensor_t *o = e->out[0];
    size_t es = vigil_nn_dtype_size(o->dtype);
    int64_t outer = vigil__nn_numel(ap->axis, o->dims);
    int64_t inner = vigil__nn_numel(o->ndim - ap->axis - 1, o->dims + ap->axis + 1) * (int64_t)es;
    int64_t orow = o->dims[ap->axis] * inner, off = 0;
    for (int i = 0; i < e->nin; i++) {
        const vigil_nn_tensor_t *x = e->in[i];
        if (!x) continue;
        int64_t row = x->dims[ap->axis] * inner;
        for (int64_t r = 0; r < outer; r++)
            memcpy((char *)o->data + r * orow + off, (const char *)x->data + r * row, (size_t)row);
        off += row;
    }
    return VIGIL_OK;
}

static vigil_err_t split_prepare(nn_prep_t *p)
{
    axis_params_t *ap = p->params;
    const vigil_nn_tensor_t *x = p->in[0];
    int a = vigil__nn_axis(vigil__nn_attr_int(p->node, "axis", 0), x->ndim);
    vigil_err_t err;
    if (a < 0) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "attribute axis out of range");
    if (p->nout > 64) return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "%d outputs", p->nout);
    int n;
    if (p->graph->opset < 13) {
        const int64_t *s;
        n = (int)vigil__nn_attr_ints(p->node, "split", &s);
        if (n > 64) n = 64;
        memcpy(ap->split, s, sizeof(int64_t) * (size_t)n);
    } else {
        n = in_ints(p, 1, ap->split, 64, &err);
        if (n == -1) return err;
        if (n == -2) n = 0;
    }
    if (n && n != p->nout) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "split has %d values for %d outputs", n, p->nout);
    if (!n) {
        int64_t each = (x->dims[a] + p->nout - 1) / p->nout;
        for (int i = 0; i < p->nout; i++) {
            int64_t left = x->dims[a] - each * i;
            ap->split[i] = left < each ? (left < 0 ? 0 : left) : each;
        }
    }
    int64_t sum = 0;
    for (int i = 0; i < p->nout; i++) sum += ap->split[i];
    if (sum != x->dims[a]) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "split sums to %lld, axis is %lld", (long long)sum, (long long)x->dims[a]);
    ap->axis = a;
    ap->n = p->nout;
    for (int i = 0; i < p->nout; i++) {
        int64_t d[MAXD];
        memcpy(d, x->dims, sizeof d);
        d[a] = ap->split[i];
        set_out(p, i, x->dtype, x->ndim, d);
    }
    return VIGIL_OK;
}

static vigil_err_t split_run(nn_exec_t *e)
{
    const axis_params_t *ap = e->params;
    const vigil_nn_tensor_t *x = e->in[0];
    size_t es = vigil_nn_dtype_size(x->dtype);
    int64_t outer = vigil__nn_numel(ap->axis, x->dims);
    int64_t inner = vigil__nn_numel(x->ndim - ap->axis - 1, x->dims + ap->axis + 1) * (int64_t)es;
    int64_t xrow = x->dims[ap->axis] * inner, off = 0;
    for (int i = 0; i < e->nout; i++) {
        int64_t row = ap->split[i] * inner;
        if (e->out[i]->data)
            for (int64_t r = 0; r < outer; r++)
                memcpy((char *)e->out[i]->data + r * row, (const char *)x->data + r * xrow + off, (size_t)row);
        off += row;
    }
    return VIGIL_OK;
}

/* ---- Slice ---------------------------------------------------------------------------------- */

typedef struct slice_params {
    int64_t start[MAXD], step[MAXD];
} slice_params_t;

static vigil_err_t slice_prepare(nn_prep_t *p)
{
    slice_params_t *sp = p->params;
    const vigil_nn_tensor_t *x = p->in[0];
    int64_t st[MAXD], en[MAXD], ax[MAXD], stp[MAXD], d[MAXD];
    int ns, ne, na, nst;
    vigil_err_t err = VIGIL_OK;
    if (p->graph->opset < 10) {
        const int64_t *a;
        ns = (int)vigil__nn_attr_ints(p->node, "starts", &a);
        if (ns > MAXD) ns = MAXD;
        memcpy(st, a, sizeof(int64_t) * (size_t)ns);
        ne = (int)vigil__nn_attr_ints(p->node, "ends", &a);
        if (ne > MAXD) ne = MAXD;
        memcpy(en, a, sizeof(int64_t) * (size_t)ne);
        na = (int)vigil__nn_attr_ints(p->node, "axes", &a);
        if (na > MAXD) na = MAXD;
        memcpy(ax, a, sizeof(int64_t) * (size_t)na);
        nst = 0;
    } else {
        if ((ns = in_ints(p, 1, st, MAXD, &err)) < 0 || (ne = in_ints(p, 2, en, MAXD, &err)) < 0)
            return err ? err : vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "starts/ends missing");
        if ((na = in_ints(p, 3, ax, MAXD, &err)) == -1) return err;
        if ((nst = in_ints(p, 4, stp, MAXD, &err)) == -1) return err;
        if (na == -2) na = 0;
        if (nst == -2) nst = 0;
    }
    if (ns != ne || (na && na != ns) || (nst && nst != ns))
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "starts/ends/axes/steps lengths differ");
    for (int i = 0; i < x->ndim; i++) {
        sp->start[i] = 0;
        sp->step[i] = 1;
        d[i] = x->dims[i];
    }
    for (int i = 0; i < ns; i++) {
        int a = vigil__nn_axis(na ? ax[i] : i, x->ndim);
        if (a < 0) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "axis out of range");
        int64_t dim = x->dims[a], s = st[i], e = en[i], step = nst ? stp[i] : 1;
        if (step == 0) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "step 0");
        if (s < 0) s += dim;
        if (e < 0) e += dim;
        if (step > 0) {
            s = s < 0 ? 0 : s > dim ? dim : s;
            e = e < 0 ? 0 : e > dim ? dim : e;
            d[a] = e > s ? (e - s + step - 1) / step : 0;
        } else {
            s = s < 0 ? -1 : s > dim - 1 ? dim - 1 : s;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            d[a] = s > e ? (s - e + (-step) - 1) / (-step) : 0;
        }
        sp->start[a] = s;
        sp->step[a] = step;
    }
    set_out(p, 0, x->dtype, x->ndim, d);
    return VIGIL_OK;
}

static vigil_err_t slice_run(nn_exec_t *e)
{
    const slice_params_t *sp = e->params;
    const vigil_nn_tensor_t *x = e->in[0];
    vigil_nn_tensor_t *o = e->out[0];
    if (!vigil_nn_tensor_numel(o)) return VIGIL_OK;
    int64_t xs[MAXD], st[MAXD], off = 0;
    size_t es = vigil_nn_dtype_size(x->dtype);
    contiguous_strides(x->ndim, x->dims, xs);
    for (int i = 0; i < x->ndim; i++) {
        st[i] = xs[i] * sp->step[i];
        off += sp->start[i] * xs[i];
    }
    strided_copy(o->data, (const char *)x->data + off * (int64_t)es, x->ndim, o->dims, st, es);
    return VIGIL_OK;
}

/* ---- Gather ------------------------------------------------------------------------------- */

static vigil_err_t gather_prepare(nn_prep_t *p)
{
    axis_params_t *ap = p->params;
    const vigil_nn_tensor_t *x = p->in[0], *idx = p->in[1];
    if (!idx || !vigil__nn_dtype_is_int(idx->dtype)) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "indices must be integers");
    int a = vigil__nn_axis(vigil__nn_attr_int(p->node, "axis", 0), x->ndim);
    if (a < 0) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "attribute axis out of range");
    int r = x->ndim - 1 + idx->ndim;
    if (r > MAXD) return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "rank %d", r);
    int64_t d[MAXD];
    int k = 0;
    for (int i = 0; i < a; i++) d[k++] = x->dims[i];
    for (int i = 0; i < idx->ndim; i++) d[k++] = idx->dims[i];
    for (int i = a + 1; i < x->ndim; i++) d[k++] = x->dims[i];
    ap->axis = a;
    set_out(p, 0, x->dtype, r, d);
    return VIGIL_OK;
}

static vigil_err_t gather_run(nn_exec_t *e)
{
    const axis_params_t *ap = e->params;
    const vigil_nn_tensor_t *x = e->in[0], *idx = e->in[1];
    size_t es = vigil_nn_dtype_size(x->dtype);
    int64_t outer = vigil__nn_numel(ap->axis, x->dims), dim = x->dims[ap->axis];
    int64_t inner = vigil__nn_numel(x->ndim - ap->axis - 1, x->dims + ap->axis + 1) * (int64_t)es;
    int64_t ni = vigil_nn_tensor_numel(idx);
    char *o = e->out[0]->data;
    for (int64_t r = 0; r < outer; r++)
        for (int64_t i = 0; i < ni; i++) {
            int64_t k = vigil__nn_get_int(idx, i);
            if (k < 0) k += dim;
            if (k < 0 || k >= dim)
                return vigil_seterr(e->errstr, e->errstr_size, VIGIL_ERR_INVALID,
                                    "node \"%s\" (op Gather): index %lld out of range [0,%lld)",
                                    e->node->name, (long long)vigil__nn_get_int(idx, i), (long long)dim);
            memcpy(o, (const char *)x->data + (r * dim + k) * inner, (size_t)inner);
            o += inner;
        }
    return VIGIL_OK;
}

/* ---- Shape / Size ------------------------------------------------------------------------- */

static vigil_err_t shape_prepare(nn_prep_t *p)
{
    axis_params_t *ap = p->params;
    int r = p->in[0]->ndim;
    int64_t s = vigil__nn_attr_int(p->node, "start", 0), e = vigil__nn_attr_int(p->node, "end", r);
    if (s < 0) s += r;
    if (e < 0) e += r;
    s = s < 0 ? 0 : s > r ? r : s;
    e = e < 0 ? 0 : e > r ? r : e;
    ap->split[0] = s;
    ap->n = (int)(e > s ? e - s : 0);
    int64_t d[1] = {ap->n};
    if (!strcmp(p->node->op_type, "Size")) set_out(p, 0, VIGIL_NN_INT64, 0, d);
    else set_out(p, 0, VIGIL_NN_INT64, 1, d);
    return VIGIL_OK;
}

static vigil_err_t shape_run(nn_exec_t *e)
{
    const axis_params_t *ap = e->params;
    int64_t *o = e->out[0]->data;
    if (!strcmp(e->node->op_type, "Size")) *o = vigil_nn_tensor_numel(e->in[0]);
    else
        for (int i = 0; i < ap->n; i++) o[i] = e->in[0]->dims[ap->split[0] + i];
    return VIGIL_OK;
}

/* ---- Expand / Tile ---------------------------------------------------------------------------- */

static vigil_err_t expand_prepare(nn_prep_t *p)
{
    int64_t s[MAXD], d[MAXD];
    int ns, nd;
    vigil_err_t err;
    if ((ns = in_ints(p, 1, s, MAXD, &err)) < 0) return err ? err : vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "no shape");
    if (vigil__nn_broadcast_shape(p->in[0]->ndim, p->in[0]->dims, ns, s, &nd, d) < 0)
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "shape does not broadcast");
    set_out(p, 0, p->in[0]->dtype, nd, d);
    return VIGIL_OK;
}

static vigil_err_t expand_run(nn_exec_t *e)
{
    const vigil_nn_tensor_t *x = e->in[0];
    vigil_nn_tensor_t *o = e->out[0];
    int64_t st[MAXD];
    vigil__nn_broadcast_strides(x->ndim, x->dims, o->ndim, o->dims, st);
    strided_copy(o->data, x->data, o->ndim, o->dims, st, vigil_nn_dtype_size(x->dtype));
    return VIGIL_OK;
}

static vigil_err_t tile_prepare(nn_prep_t *p)
{
    int64_t r[MAXD], d[MAXD];
    vigil_err_t err;
    const vigil_nn_tensor_t *x = p->in[0];
    int n = in_ints(p, 1, r, MAXD, &err);
    if (n < 0) return err ? err : vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "no repeats");
    if (n != x->ndim) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "repeats has %d values for rank %d", n, x->ndim);
    for (int i = 0; i < n; i++) {
        if (r[i] < 0) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "negative repeat");
        d[i] = x->dims[i] * r[i];
    }
    set_out(p, 0, x->dtype, n, d);
    return VIGIL_OK;
}

static vigil_err_t tile_run(nn_exec_t *e)
{
    const vigil_nn_tensor_t *x = e->in[0];
    vigil_nn_tensor_t *o = e->out[0];
    int nd = o->ndim;
    size_t es = vigil_nn_dtype_size(x->dtype);
    int64_t xs[MAXD], idx[MAXD] = {0}, n = vigil_nn_tensor_numel(o);
    contiguous_strides(nd, x->dims, xs);
    for (int64_t i = 0; i < n; i++) {
        int64_t off = 0;
        for (int d = 0; d < nd; d++) off += (idx[d] % x->dims[d]) * xs[d];
        memcpy((char *)o->data + i * (int64_t)es, (const char *)x->data + off * (int64_t)es, es);
        for (int d = nd - 1; d >= 0; d--) {
            if (++idx[d] < o->dims[d]) break;
            idx[d] = 0;
        }
    }
    return VIGIL_OK;
}

/* ---- Pad ------------------------------------------------------------------------------------- */

typedef struct pad_params {
    int64_t before[MAXD];
    int mode; /* 0 constant, 1 reflect, 2 edge, 3 wrap */
    double value;
} pad_params_t;

static vigil_err_t pad_prepare(nn_prep_t *p)
{
    pad_params_t *pp = p->params;
    const vigil_nn_tensor_t *x = p->in[0];
    int64_t pads[2 * MAXD], axes[MAXD], d[MAXD];
    int np, na = 0;
    vigil_err_t err;
    const char *mode = vigil__nn_attr_str(p->node, "mode", "constant");
    pp->mode = !strcmp(mode, "constant") ? 0 : !strcmp(mode, "reflect") ? 1 : !strcmp(mode, "edge") ? 2
             : !strcmp(mode, "wrap") ? 3 : -1;
    if (pp->mode < 0) return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "attribute mode \"%s\"", mode);
    if (p->graph->opset < 11) {
        const int64_t *a;
        np = (int)vigil__nn_attr_ints(p->node, p->graph->opset < 2 ? "paddings" : "pads", &a);
        if (np > 2 * MAXD) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "too many pads");
        memcpy(pads, a, sizeof(int64_t) * (size_t)np);
        pp->value = vigil__nn_attr_float(p->node, "value", 0);
    } else {
        if ((np = in_ints(p, 1, pads, 2 * MAXD, &err)) < 0) return err ? err : vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "no pads");
        pp->value = 0;
        if (p->nin > 2 && p->in[2] && vigil_nn_tensor_numel(p->in[2])) {
            if (!p->in[2]->data) return vigil__nn_prep_err(p, VIGIL_ERR_AGAIN, "constant_value must be known");
            pp->value = vigil__nn_get_double(p->in[2], 0);
        }
        if ((na = in_ints(p, 3, axes, MAXD, &err)) == -1) return err;
        if (na == -2) na = 0;
    }
    int nax = na ? na : x->ndim;
    if (np != 2 * nax) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "pads has %d values for %d axes", np, nax);
    memcpy(d, x->dims, sizeof d);
    for (int i = 0; i < x->ndim; i++) pp->before[i] = 0;
    for (int i = 0; i < nax; i++) {
        int a = na ? vigil__nn_axis(axes[i], x->ndim) : i;
        if (a < 0) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "axis out of range");
        pp->before[a] = pads[i];
        d[a] = x->dims[a] + pads[i] + pads[i + nax];
        if (d[a] < 0) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "pads remove more than the dim");
        if (pp->mode && x->dims[a] == 0) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "cannot pad an empty dim");
    }
    set_out(p, 0, x->dtype, x->ndim, d);
    return VIGIL_OK;
}

static vigil_err_t pad_run(nn_exec_t *e)
{
    const pad_params_t *pp = e->params;
    const vigil_nn_tensor_t *x = e->in[0];
    vigil_nn_tensor_t *o = e->out[0];
    int nd = o->ndim;
    size_t es = vigil_nn_dtype_size(x->dtype);
    int64_t xs[MAXD], idx[MAXD] = {0}, n = vigil_nn_tensor_numel(o);
    contiguous_strides(nd, x->dims, xs);
    for (int64_t i = 0; i < n; i++) {
        int64_t off = 0;
        int outside = 0;
        for (int d = 0; d < nd; d++) {
            int64_t c = idx[d] - pp->before[d], dim = x->dims[d];
            if (c < 0 || c >= dim) {
                if (pp->mode == 0) {
                    outside = 1;
                    break;
                } else if (pp->mode == 2) {
                    c = c < 0 ? 0 : dim - 1;
                } else if (pp->mode == 3) {
                    c = ((c % dim) + dim) % dim;
                } else if (dim == 1) {
                    c = 0;
                } else {
                    int64_t period = 2 * (dim - 1);
                    c = ((c % period) + period) % period;
                    if (c >= dim) c = period - c;
                }
            }
            off += c * xs[d];
        }
        if (outside) vigil__nn_set_double(o, i, pp->value);
        else memcpy((char *)o->data + i * (int64_t)es, (const char *)x->data + off * (int64_t)es, es);
        for (int d = nd - 1; d >= 0; d--) {
            if (++idx[d] < o->dims[d]) break;
            idx[d] = 0;
        }
    }
    return VIGIL_OK;
}

/* ---- Cast / CastLike ------------------------------------------------------------------------- */

static vigil_err_t cast_prepare(nn_prep_t *p)
{
    int64_t to;
    if (!strcmp(p->node->op_type, "CastLike")) {
        if (p->nin < 2 || !p->in[1]) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "no target input");
        to = p->in[1]->dtype;
    } else {
        to = vigil__nn_attr_int(p->node, "to", 0);
    }
    if (to <= 0 || to > 13 || to == VIGIL_NN_STRING || p->in[0]->dtype == VIGIL_NN_STRING)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "cast to dtype %lld", (long long)to);
    set_out(p, 0, (vigil_nn_dtype_t)to, p->in[0]->ndim, p->in[0]->dims);
    return VIGIL_OK;
}

/* float -> integer as the general path: NaN and +-inf are 0, the rest
 * saturates, then truncates toward zero */
static inline int32_t f2i32(float f)
{
    if (!isfinite(f)) return 0;
    return f >= 2147483648.0f ? INT32_MAX : f <= -2147483648.0f ? INT32_MIN : (int32_t)f;
}

static inline int64_t f2i64(float f)
{
    if (!isfinite(f)) return 0;
    return f >= 9223372036854775808.0f ? INT64_MAX : f <= -9223372036854775808.0f ? INT64_MIN : (int64_t)f;
}

static inline uint8_t f2u8(float f)
{
    if (!isfinite(f) || f <= 0) return 0;
    return f >= 255.0f ? 255 : (uint8_t)f;
}

/* More casts in typed loops, each what the general get_double/set_double
 * path gives (int64 -> float through double, as it rounds there; integer
 * narrowing wraps); 0 when the pair is not one of them. */
static int cast_typed(const vigil_nn_tensor_t *x, vigil_nn_tensor_t *o, int64_t n)
{
    vigil_nn_dtype_t a = x->dtype, b = o->dtype;
#define CAST_LOOP(TI, TO, EXPR)                                                                      \
    do {                                                                                             \
        const TI *xs = x->data;                                                                      \
        TO *os = o->data;                                                                            \
        for (int64_t i = 0; i < n; i++) {                                                            \
            TI v = xs[i];                                                                            \
            os[i] = (EXPR);                                                                          \
        }                                                                                            \
        return 1;                                                                                    \
    } while (0)
    if (a == VIGIL_NN_FLOAT32 && b == VIGIL_NN_INT32) CAST_LOOP(float, int32_t, f2i32(v));
    if (a == VIGIL_NN_FLOAT32 && b == VIGIL_NN_INT64) CAST_LOOP(float, int64_t, f2i64(v));
    if (a == VIGIL_NN_FLOAT32 && b == VIGIL_NN_UINT8) CAST_LOOP(float, uint8_t, f2u8(v));
    if (a == VIGIL_NN_FLOAT32 && b == VIGIL_NN_FLOAT64) CAST_LOOP(float, double, (double)v);
    if (a == VIGIL_NN_FLOAT64 && b == VIGIL_NN_FLOAT32) CAST_LOOP(double, float, (float)v);
    if (a == VIGIL_NN_INT64 && b == VIGIL_NN_FLOAT32) CAST_LOOP(int64_t, float, (float)(double)v);
    if (a == VIGIL_NN_INT64 && b == VIGIL_NN_INT32) CAST_LOOP(int64_t, int32_t, (int32_t)(uint32_t)v);
    if (a == VIGIL_NN_INT32 && b == VIGIL_NN_INT64) CAST_LOOP(int32_t, int64_t, (int64_t)v);
    if (a == VIGIL_NN_UINT8 && b == VIGIL_NN_INT32) CAST_LOOP(uint8_t, int32_t, (int32_t)v);
    if (a == VIGIL_NN_BOOL && b == VIGIL_NN_INT32) CAST_LOOP(uint8_t, int32_t, (int32_t)v);
#undef CAST_LOOP
    return 0;
}

static vigil_err_t cast_run(nn_exec_t *e)
{
    const vigil_nn_tensor_t *x = e->in[0];
    vigil_nn_tensor_t *o = e->out[0];
    int64_t n = vigil_nn_tensor_numel(x);
    if (x->dtype == o->dtype) return copy_run(e);
    /* the common casts in a loop of their own, each exactly what the
     * general path's get_double/set_double gives (CenterNet's Cast of its
     * 80x128x128 peak mask was ~6% of a run through the general path) */
    if (o->dtype == VIGIL_NN_FLOAT32 && (x->dtype == VIGIL_NN_BOOL || x->dtype == VIGIL_NN_UINT8)) {
        const uint8_t *xs = x->data;
        float *os = o->data;
        for (int64_t i = 0; i < n; i++) os[i] = (float)xs[i];
        return VIGIL_OK;
    }
    if (o->dtype == VIGIL_NN_FLOAT32 && x->dtype == VIGIL_NN_INT32) { /* int32 -> double is exact */
        const int32_t *xs = x->data;
        float *os = o->data;
        for (int64_t i = 0; i < n; i++) os[i] = (float)xs[i];
        return VIGIL_OK;
    }
    if (o->dtype == VIGIL_NN_BOOL && x->dtype == VIGIL_NN_FLOAT32) { /* NaN is true, as v != 0 */
        const float *xs = x->data;
        uint8_t *os = o->data;
        for (int64_t i = 0; i < n; i++) os[i] = xs[i] != 0;
        return VIGIL_OK;
    }
    if (cast_typed(x, o, n)) return VIGIL_OK;
    int ints = vigil__nn_dtype_is_int(x->dtype) && vigil__nn_dtype_is_int(o->dtype);
    for (int64_t i = 0; i < n; i++) {
        if (ints && o->dtype != VIGIL_NN_BOOL) {
            int64_t v = vigil__nn_get_int(x, i);
            switch (vigil_nn_dtype_size(o->dtype)) {
            case 1: ((uint8_t *)o->data)[i] = (uint8_t)v; break;
            case 2: ((uint16_t *)o->data)[i] = (uint16_t)v; break;
            case 4: ((uint32_t *)o->data)[i] = (uint32_t)v; break;
            default: ((int64_t *)o->data)[i] = v; break;
            }
        } else {
            double v = vigil__nn_get_double(x, i);
            if (vigil__nn_dtype_is_int(o->dtype) && o->dtype != VIGIL_NN_BOOL && !isfinite(v)) v = 0;
            vigil__nn_set_double(o, i, v);
        }
    }
    return VIGIL_OK;
}

/* ---- Constant / ConstantOfShape / Range --------------------------------------------------------- */

static vigil_err_t constant_prepare(nn_prep_t *p)
{
    const nn_node_t *n = p->node;
    const nn_attr_t *a;
    if ((a = vigil__nn_attr(n, "value")) && a->t) {
        set_out(p, 0, a->t->dtype, a->t->ndim, a->t->dims);
    } else if ((a = vigil__nn_attr(n, "value_float"))) {
        set_out(p, 0, VIGIL_NN_FLOAT32, 0, NULL);
    } else if ((a = vigil__nn_attr(n, "value_int"))) {
        set_out(p, 0, VIGIL_NN_INT64, 0, NULL);
    } else if ((a = vigil__nn_attr(n, "value_floats")) || (a = vigil__nn_attr(n, "value_ints"))) {
        int64_t d[1] = {(int64_t)a->n};
        if (a->type != (strcmp(a->name, "value_floats") ? NN_ATTR_INTS : NN_ATTR_FLOATS))
            return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "attribute %s has the wrong type", a->name);
        set_out(p, 0, a->type == NN_ATTR_FLOATS ? VIGIL_NN_FLOAT32 : VIGIL_NN_INT64, 1, d);
    } else {
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "no supported value attribute");
    }
    return VIGIL_OK;
}

static vigil_err_t constant_run(nn_exec_t *e)
{
    const nn_node_t *n = e->node;
    const nn_attr_t *a;
    vigil_nn_tensor_t *o = e->out[0];
    if ((a = vigil__nn_attr(n, "value")) && a->t) memcpy(o->data, a->t->data, vigil__nn_bytes(o));
    else if ((a = vigil__nn_attr(n, "value_float"))) *(float *)o->data = a->f;
    else if ((a = vigil__nn_attr(n, "value_int"))) *(int64_t *)o->data = a->i;
    else if ((a = vigil__nn_attr(n, "value_floats")) && a->n) memcpy(o->data, a->floats, sizeof(float) * a->n);
    else if ((a = vigil__nn_attr(n, "value_ints")) && a->n) memcpy(o->data, a->ints, sizeof(int64_t) * a->n);
    return VIGIL_OK;
}

static vigil_err_t cos_prepare(nn_prep_t *p)
{
    int64_t s[MAXD];
    vigil_err_t err;
    int ns = in_ints(p, 0, s, MAXD, &err);
    if (ns < 0) return err ? err : vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "no shape");
    const nn_attr_t *a = vigil__nn_attr(p->node, "value");
    vigil_nn_dtype_t dt = a && a->t ? a->t->dtype : VIGIL_NN_FLOAT32;
    for (int i = 0; i < ns; i++)
        if (s[i] < 0) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "negative dim");
    set_out(p, 0, dt, ns, s);
    return VIGIL_OK;
}

static vigil_err_t cos_run(nn_exec_t *e)
{
    const nn_attr_t *a = vigil__nn_attr(e->node, "value");
    vigil_nn_tensor_t *o = e->out[0];
    int64_t n = vigil_nn_tensor_numel(o);
    size_t es = vigil_nn_dtype_size(o->dtype);
    for (int64_t i = 0; i < n; i++) {
        if (a && a->t) memcpy((char *)o->data + i * (int64_t)es, a->t->data, es);
        else ((float *)o->data)[i] = 0;
    }
    return VIGIL_OK;
}

static vigil_err_t range_prepare(nn_prep_t *p)
{
    for (int i = 0; i < 3; i++) {
        if (i >= p->nin || !p->in[i]) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input %d missing", i);
        if (!p->in[i]->data) return vigil__nn_prep_err(p, VIGIL_ERR_AGAIN, "input %d must be known", i);
        if (vigil_nn_tensor_numel(p->in[i]) != 1) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "input %d must be a scalar", i);
    }
    double s = vigil__nn_get_double(p->in[0], 0), l = vigil__nn_get_double(p->in[1], 0),
           d = vigil__nn_get_double(p->in[2], 0);
    if (d == 0) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "delta 0");
    double c = ceil((l - s) / d);
    if (!(c <= (double)((int64_t)1 << 40))) /* also NaN; a cast of more is undefined */
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "%g elements", c);
    int64_t n[1] = {c > 0 ? (int64_t)c : 0};
    set_out(p, 0, p->in[0]->dtype, 1, n);
    return VIGIL_OK;
}

static vigil_err_t range_run(nn_exec_t *e)
{
    vigil_nn_tensor_t *o = e->out[0];
    int64_t n = o->dims[0];
    if (vigil__nn_dtype_is_int(o->dtype)) {
        int64_t s = vigil__nn_get_int(e->in[0], 0), d = vigil__nn_get_int(e->in[2], 0);
        for (int64_t i = 0; i < n; i++) vigil__nn_set_double(o, i, (double)(s + i * d));
    } else {
        double s = vigil__nn_get_double(e->in[0], 0), d = vigil__nn_get_double(e->in[2], 0);
        for (int64_t i = 0; i < n; i++) vigil__nn_set_double(o, i, s + i * d);
    }
    return VIGIL_OK;
}

static const nn_op_t ops[] = {
    {"Reshape", reshape_prepare, copy_run, 0, 0, 1, 2},
    {"Flatten", flatten_prepare, copy_run, 0, 0, 1, 1},
    {"Squeeze", squeeze_prepare, copy_run, 0, 0, 1, 2},
    {"Unsqueeze", unsqueeze_prepare, copy_run, 0, 0, 1, 2},
    {"Transpose", transpose_prepare, transpose_run, sizeof(perm_params_t), 0, 1, 1},
    {"Concat", concat_prepare, concat_run, sizeof(axis_params_t), 0, 1, NN_IN_MANY},
    {"Split", split_prepare, split_run, sizeof(axis_params_t), 0, 1, 2},
    {"Slice", slice_prepare, slice_run, sizeof(slice_params_t), 0, 1, 5},
    {"Gather", gather_prepare, gather_run, sizeof(axis_params_t), 0, 2, 2},
    {"Shape", shape_prepare, shape_run, sizeof(axis_params_t), NN_OP_SHAPE_ONLY, 1, 1},
    {"Size", shape_prepare, shape_run, sizeof(axis_params_t), NN_OP_SHAPE_ONLY, 1, 1},
    {"Expand", expand_prepare, expand_run, 0, 0, 2, 2},
    {"Tile", tile_prepare, tile_run, 0, 0, 2, 3},
    {"Pad", pad_prepare, pad_run, sizeof(pad_params_t), 0, 1, 4},
    {"Cast", cast_prepare, cast_run, 0, 0, 1, 1},
    {"CastLike", cast_prepare, cast_run, 0, 0, 2, 2},
    {"Constant", constant_prepare, constant_run, 0, 0, 0, 0},
    {"ConstantOfShape", cos_prepare, cos_run, 0, 0, 1, 1},
    {"Range", range_prepare, range_run, 0, 0, 3, 3},
};

const nn_op_t *const vigil__nn_ops_shape[] = {
    &ops[0],  &ops[1],  &ops[2],  &ops[3],  &ops[4],  &ops[5],  &ops[6],  &ops[7],  &ops[8],  &ops[9],
    &ops[10], &ops[11], &ops[12], &ops[13], &ops[14], &ops[15], &ops[16], &ops[17], &ops[18], NULL,
};
