/* Resize / Upsample: nearest (round_prefer_floor/ceil, floor, ceil) and
 * n-linear, with the coordinate transforms half_pixel, pytorch_half_pixel,
 * align_corners, asymmetric and tf_half_pixel_for_nn.
 *
 * Per output axis a table maps each output index to (i0, i1, weight); a
 * linear output element sums the 2^k corners of the axes that really
 * interpolate (identity axes such as N and C contribute one corner). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/kernels.h"

#define MAXD VIGIL_NN_MAX_DIMS

typedef struct resize_params {
    int linear, coord, nearest;
    double scale[MAXD];
} resize_params_t;

enum { C_HALF, C_PYTORCH, C_ALIGN, C_ASYM, C_TFNN };
enum { N_RPF, N_RPC, N_FLOOR, N_CEIL };

static vigil_err_t resize_prepare(nn_prep_t *p)
{
    resize_params_t *rp = p->params;
    const vigil_nn_tensor_t *x = p->in[0];
    const nn_node_t *n = p->node;
    int up = !strcmp(n->op_type, "Upsample"), opset = p->graph->opset;
    const char *mode = vigil__nn_attr_str(n, "mode", "nearest");
    rp->linear = !strcmp(mode, "linear") || !strcmp(mode, "bilinear");
    if (!rp->linear && strcmp(mode, "nearest"))
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "attribute mode \"%s\"", mode);
    const char *ct = vigil__nn_attr_str(n, "coordinate_transformation_mode",
                                        up || opset < 11 ? "asymmetric" : "half_pixel");
    rp->coord = !strcmp(ct, "half_pixel") ? C_HALF : !strcmp(ct, "pytorch_half_pixel") ? C_PYTORCH
              : !strcmp(ct, "align_corners") ? C_ALIGN : !strcmp(ct, "asymmetric") ? C_ASYM
              : !strcmp(ct, "tf_half_pixel_for_nn") ? C_TFNN : -1;
    if (rp->coord < 0)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "attribute coordinate_transformation_mode \"%s\"", ct);
    const char *nm = vigil__nn_attr_str(n, "nearest_mode", up || opset < 11 ? "floor" : "round_prefer_floor");
    rp->nearest = !strcmp(nm, "round_prefer_floor") ? N_RPF : !strcmp(nm, "round_prefer_ceil") ? N_RPC
                : !strcmp(nm, "floor") ? N_FLOOR : !strcmp(nm, "ceil") ? N_CEIL : -1;
    if (rp->nearest < 0) return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "attribute nearest_mode \"%s\"", nm);
    if (vigil__nn_attr_int(n, "antialias", 0)) return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "attribute antialias");
    if (vigil__nn_attr(n, "axes")) return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "attribute axes");
    if (x->dtype != VIGIL_NN_FLOAT32) return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "dtype %s", vigil_nn_dtype_name(x->dtype));
    const vigil_nn_tensor_t *scales = NULL, *sizes = NULL;
    if (up && opset < 9) {
        const nn_attr_t *a = vigil__nn_attr(n, "scales");
        if (!a || a->type != NN_ATTR_FLOATS || a->n != (size_t)x->ndim)
            return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "attribute scales");
        for (int i = 0; i < x->ndim; i++) rp->scale[i] = a->floats[i];
    } else {
        int si = up || opset < 11 ? 1 : 2;
        scales = si < p->nin ? p->in[si] : NULL;
        sizes = !up && opset >= 11 && p->nin > 3 ? p->in[3] : NULL;
        if (scales && !vigil_nn_tensor_numel(scales)) scales = NULL;
        if (sizes && !vigil_nn_tensor_numel(sizes)) sizes = NULL;
        if (!scales == !sizes) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "needs exactly one of scales and sizes");
        const vigil_nn_tensor_t *t = scales ? scales : sizes;
        if (!t->data) return vigil__nn_prep_err(p, VIGIL_ERR_AGAIN, "scales/sizes must be known");
        if (vigil_nn_tensor_numel(t) != x->ndim) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "scales/sizes length");
    }
    vigil_nn_tensor_t *o = p->out[0];
    o->dtype = x->dtype;
    o->ndim = x->ndim;
    for (int i = 0; i < x->ndim; i++) {
        if (sizes) {
            o->dims[i] = vigil__nn_get_int(sizes, i);
            rp->scale[i] = x->dims[i] ? (double)o->dims[i] / (double)x->dims[i] : 1;
        } else {
            if (scales) rp->scale[i] = vigil__nn_get_double(scales, i);
            if (!(rp->scale[i] > 0)) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "scale %g", rp->scale[i]);
            double od = floor((double)x->dims[i] * rp->scale[i]);
            if (!(od <= (double)((int64_t)1 << 40))) /* a cast of more is undefined */
                return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "scale %g gives an output too large", rp->scale[i]);
            o->dims[i] = (int64_t)od;
        }
        if (o->dims[i] < 0) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "negative size");
        /* no source element to sample from (fuzz: rows read before the plane) */
        if (!x->dims[i] && o->dims[i])
            return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "axis %d: size %lld from an empty axis",
                                      i, (long long)o->dims[i]);
    }
    return VIGIL_OK;
}

static double src_coord(const resize_params_t *rp, int64_t o, int64_t in, int64_t out, double scale)
{
    switch (rp->coord) {
    case C_HALF: return (o + 0.5) / scale - 0.5;
    case C_PYTORCH: return out > 1 ? (o + 0.5) / scale - 0.5 : 0;
    case C_ALIGN: {
        /* ONNX: length_resized is in * scale, not the floored output size
         * (differs when a scale does not divide: 4 * 0.6 = 2.4) */
        double len = (double)in * scale;
        (void)out;
        return len > 1 ? (double)o * (double)(in - 1) / (len - 1) : 0;
    }
    case C_TFNN: return (o + 0.5) / scale;
    default: return o / scale;
    }
}

/* Fast path: only the last two dims change (NCHW up/downsampling, e.g.
 * FPN nearest x2 or a bilinear resize): rows of each plane from the
 * per-dim source indices and weights, planes split over the threads. */
typedef struct plane_ctx {
    const float *x;
    float *y;
    const int64_t *r0, *r1, *c0, *c1;
    const float *wy, *wx;
    int64_t H, W, OH, OW;
    int linear;
} plane_ctx_t;

static void plane_rows(void *arg, int64_t a, int64_t b)
{
    const plane_ctx_t *c = arg;
    for (int64_t r = a; r < b; r++) {
        int64_t p = r / c->OH, oh = r % c->OH;
        const float *x0 = c->x + (p * c->H + c->r0[oh]) * c->W;
        float *y = c->y + r * c->OW;
        if (!c->linear) {
            if (r > a && oh > 0 && c->r0[oh] == c->r0[oh - 1]) /* upsampling: the row above again */
                memcpy(y, y - c->OW, sizeof(float) * (size_t)c->OW);
            else
                for (int64_t j = 0; j < c->OW; j++) y[j] = x0[c->c0[j]];
            continue;
        }
        const float *x1 = c->x + (p * c->H + c->r1[oh]) * c->W;
        float wy = c->wy[oh];
        for (int64_t j = 0; j < c->OW; j++) {
            float wx = c->wx[j];
            float top = (1 - wx) * x0[c->c0[j]] + wx * x0[c->c1[j]];
            float bot = (1 - wx) * x1[c->c0[j]] + wx * x1[c->c1[j]];
            y[j] = (1 - wy) * top + wy * bot;
        }
    }
}

static int plane_resize(nn_exec_t *e, const resize_params_t *rp, const vigil_nn_tensor_t *x,
                        vigil_nn_tensor_t *o, const int64_t *i0, const int64_t *i1, const float *wt,
                        const int64_t *base)
{
    int nd = x->ndim;
    if (nd < 2 || x->dtype != VIGIL_NN_FLOAT32) return 0;
    int64_t planes = 1;
    for (int d = 0; d < nd - 2; d++) {
        if (o->dims[d] != x->dims[d]) return 0;
        for (int64_t k = 0; k < o->dims[d]; k++)
            if (i0[base[d] + k] != k || (rp->linear && wt[base[d] + k] != 0)) return 0;
        planes *= o->dims[d];
    }
    int64_t bh = base[nd - 2], bw = base[nd - 1];
    plane_ctx_t c = {x->data, o->data, i0 + bh, i1 + bh, i0 + bw, i1 + bw, wt + bh, wt + bw,
                     x->dims[nd - 2], x->dims[nd - 1], o->dims[nd - 2], o->dims[nd - 1], rp->linear};
    vigil__nn_parallel_for(e->pool, planes * c.OH, 8, plane_rows, &c);
    return 1;
}

static vigil_err_t resize_run(nn_exec_t *e)
{
    const resize_params_t *rp = e->params;
    const vigil_nn_tensor_t *x = e->in[0];
    vigil_nn_tensor_t *o = e->out[0];
    int nd = x->ndim;
    int64_t total = 0, xs[MAXD], s = 1;
    for (int d = nd - 1; d >= 0; d--) xs[d] = s, s *= x->dims[d];
    for (int d = 0; d < nd; d++) total += o->dims[d];
    int64_t *i0 = malloc(sizeof(int64_t) * (size_t)(2 * total + 1));
    float *wt = malloc(sizeof(float) * (size_t)(total + 1));
    if (!i0 || !wt) {
        free(i0);
        free(wt);
        return vigil_seterr(e->errstr, e->errstr_size, VIGIL_ERR_NOMEM, "resize: out of memory");
    }
    int64_t *i1 = i0 + total, base[MAXD];
    int active[MAXD], na = 0;
    for (int d = 0, b = 0; d < nd; d++) {
        int64_t in = x->dims[d], out = o->dims[d];
        base[d] = b;
        int act = 0;
        for (int64_t k = 0; k < out; k++) {
            double c = src_coord(rp, k, in, out, rp->scale[d]);
            if (rp->linear) {
                if (!(c >= 0)) c = 0; /* and NaN */
                if (c > in - 1) c = (double)(in - 1);
                int64_t f = (int64_t)floor(c);
                i0[b + k] = f;
                i1[b + k] = f + 1 < in ? f + 1 : f;
                wt[b + k] = (float)(c - f);
                if (wt[b + k] != 0) act = 1;
            } else {
                double r;
                switch (rp->nearest) {
                case N_RPC: r = c - floor(c) == 0.5 ? ceil(c) : nearbyint(c); break;
                case N_FLOOR: r = floor(c); break;
                case N_CEIL: r = ceil(c); break;
                default: r = c - floor(c) == 0.5 ? floor(c) : nearbyint(c); break;
                }
                i0[b + k] = !(r >= 0) ? 0 : r >= (double)in ? in - 1 : (int64_t)r; /* clamp before the cast */
                wt[b + k] = 0;
            }
        }
        if (act) active[na++] = d;
        b += (int)out;
    }
    int64_t n = vigil_nn_tensor_numel(o), idx[MAXD] = {0};
    const float *xd = x->data;
    float *y = o->data;
    if (plane_resize(e, rp, x, o, i0, i1, wt, base)) goto done;
    for (int64_t i = 0; i < n; i++) {
        int64_t off = 0;
        for (int d = 0; d < nd; d++) off += i0[base[d] + idx[d]] * xs[d];
        float v;
        if (!na) {
            v = xd[off];
        } else {
            v = 0;
            for (int m = 0; m < (1 << na); m++) {
                int64_t co = off;
                float w = 1;
                for (int k = 0; k < na; k++) {
                    int d = active[k];
                    int64_t t = base[d] + idx[d];
                    if (m >> k & 1) {
                        co += (i1[t] - i0[t]) * xs[d];
                        w *= wt[t];
                    } else {
                        w *= 1 - wt[t];
                    }
                }
                if (w != 0) v += w * xd[co];
            }
        }
        y[i] = v;
        for (int d = nd - 1; d >= 0; d--) {
            if (++idx[d] < o->dims[d]) break;
            idx[d] = 0;
        }
    }
done:
    free(i0);
    free(wt);
    return VIGIL_OK;
}

static const nn_op_t ops[] = {
    {"Resize", resize_prepare, resize_run, sizeof(resize_params_t), 0, 1, 4},
    {"Upsample", resize_prepare, resize_run, sizeof(resize_params_t), 0, 1, 2},
};

const nn_op_t *const vigil__nn_ops_resize[] = {&ops[0], &ops[1], NULL};
