/* Pooling in NCHW: MaxPool, AveragePool (pads, strides, dilations,
 * ceil_mode, count_include_pad), GlobalAveragePool, GlobalMaxPool. One
 * (batch, channel) plane per parallel task. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/conv_geom.h"
#include "nn/cpu/kernels.h"

typedef struct pool_params {
    nn_win_t w;
    int max, global, include_pad;
} pool_params_t;

static vigil_err_t pool_prepare(nn_prep_t *p)
{
    pool_params_t *pp = p->params;
    const vigil_nn_tensor_t *x = p->in[0];
    const char *op = p->node->op_type;
    pp->max = strstr(op, "Max") != NULL;
    pp->global = !strncmp(op, "Global", 6);
    if (x->dtype != VIGIL_NN_FLOAT32)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "dtype %s", vigil_nn_dtype_name(x->dtype));
    if (p->nout > 1 && p->node->outputs[1] >= 0)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "output Indices");
    if (pp->global) {
        if (x->ndim < 3) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "rank %d", x->ndim);
        memset(&pp->w, 0, sizeof pp->w);
        pp->w.N = x->dims[0];
        pp->w.C = x->dims[1];
        pp->w.H = 1;
        pp->w.W = vigil__nn_numel(x->ndim - 2, x->dims + 2);
        pp->w.kh = 1, pp->w.kw = pp->w.W, pp->w.sh = pp->w.sw = pp->w.dh = pp->w.dw = 1;
        pp->w.OH = pp->w.OW = 1;
        p->out[0]->dtype = x->dtype;
        p->out[0]->ndim = x->ndim;
        for (int i = 0; i < x->ndim; i++) p->out[0]->dims[i] = i < 2 ? x->dims[i] : 1;
        return VIGIL_OK;
    }
    if (vigil__nn_attr_int(p->node, "storage_order", 0))
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "attribute storage_order");
    vigil_err_t err = vigil__nn_win_init(p, x, NULL, (int)vigil__nn_attr_int(p->node, "ceil_mode", 0), &pp->w);
    if (err) return err;
    pp->include_pad = (int)vigil__nn_attr_int(p->node, "count_include_pad", 0);
    p->out[0]->dtype = x->dtype;
    p->out[0]->ndim = x->ndim;
    p->out[0]->dims[0] = pp->w.N;
    p->out[0]->dims[1] = pp->w.C;
    if (pp->w.spatial == 2) p->out[0]->dims[2] = pp->w.OH, p->out[0]->dims[3] = pp->w.OW;
    else p->out[0]->dims[2] = pp->w.OW;
    return VIGIL_OK;
}

typedef struct pool_ctx {
    const pool_params_t *pp;
    const float *x;
    float *y;
} pool_ctx_t;

/* The taps [*lo, *hi) of a k-tap window starting at `start` with dilation d
 * that fall inside [0, n): the loops visit only those, in the same order, so
 * a window far larger than the input (padding) costs the input, not the
 * kernel (fuzz: a 2M-wide MaxPool window took minutes per pixel). */
static void taps_inside(int64_t start, int64_t k, int64_t d, int64_t n, int64_t *lo, int64_t *hi)
{
    if (d < 1) d = 1;
    int64_t a = start < 0 ? (-start + d - 1) / d : 0;
    int64_t b = start >= n ? 0 : (n - 1 - start) / d + 1;
    if (b > k) b = k;
    *lo = a;
    *hi = b > a ? b : a;
}

/* MaxPool with stride 1 and dilation 1 (CenterNet's 3x3 peak finding on
 * its 80-class heatmap was 12% of a run through the per-output loop): per
 * output row, each input row of its window is max-reduced along the row
 * (kj ascending, clipped to the input) into t, then t is folded into the
 * output row (ki ascending). The same `v > acc` in the same tap order per
 * output, so the same value (first of equal maxima, NaN skipped) as the
 * general loop; both loops run along ow, so the compiler vectorises them. */
static void max_plane_s1(const nn_win_t *w, const float *x, float *y, float *t)
{
    for (int64_t oh = 0; oh < w->OH; oh++) {
        float *yr = y + oh * w->OW;
        for (int64_t ow = 0; ow < w->OW; ow++) yr[ow] = -INFINITY;
        int64_t h0 = oh - w->pt, ki0, ki1;
        taps_inside(h0, w->kh, 1, w->H, &ki0, &ki1);
        for (int64_t ki = ki0; ki < ki1; ki++) {
            const float *xr = x + (h0 + ki) * w->W;
            for (int64_t ow = 0; ow < w->OW; ow++) t[ow] = -INFINITY;
            /* only taps some output reads inside the input (a window far
             * wider than the input costs the input, as taps_inside) */
            int64_t kj0 = w->pl - (w->OW - 1) > 0 ? w->pl - (w->OW - 1) : 0;
            int64_t kj1 = w->W + w->pl < w->kw ? w->W + w->pl : w->kw;
            for (int64_t kj = kj0; kj < kj1; kj++) {
                /* outputs whose tap kj lies inside: 0 <= ow - pl + kj < W */
                int64_t lo = w->pl - kj, hi = w->W + w->pl - kj;
                if (lo < 0) lo = 0;
                if (hi > w->OW) hi = w->OW;
                const float *xs = xr - w->pl + kj;
                for (int64_t ow = lo; ow < hi; ow++) t[ow] = xs[ow] > t[ow] ? xs[ow] : t[ow];
            }
            for (int64_t ow = 0; ow < w->OW; ow++) yr[ow] = t[ow] > yr[ow] ? t[ow] : yr[ow];
        }
    }
}

/* One MaxPool output, the window clipped to the input: the reference
 * loop (taps in row-major order, `v > acc`). */
static float max_at(const nn_win_t *w, const float *x, int64_t oh, int64_t ow)
{
    float acc = -INFINITY;
    int64_t h0 = oh * w->sh - w->pt, w0 = ow * w->sw - w->pl, ki0, ki1, kj0, kj1;
    taps_inside(h0, w->kh, w->dh, w->H, &ki0, &ki1);
    taps_inside(w0, w->kw, w->dw, w->W, &kj0, &kj1);
    for (int64_t ki = ki0; ki < ki1; ki++) {
        const float *xr = x + (h0 + ki * w->dh) * w->W + w0;
        for (int64_t kj = kj0; kj < kj1; kj++) {
            float v = xr[kj * w->dw];
            acc = v > acc ? v : acc;
        }
    }
    return acc;
}

/* MaxPool of one plane split into border and interior: the columns whose
 * window lies inside the input horizontally, [lo, hi), run without a bounds
 * check per tap (eight at a time with AVX2 for strides 1 and 2; rows are
 * clipped once per output row), the border columns through max_at. Same
 * taps in the same order under the same compare, so the same bits.
 * rows: room for min(kh, H) pointers. */
static void max_plane_split(const nn_win_t *w, const float *x, float *y, const float **rows, int avx2)
{
    int64_t lo = (w->pl + w->sw - 1) / w->sw, hi = 0;
    int64_t last = w->W - 1 + w->pl - (w->kw - 1) * w->dw; /* ow * sw must not pass this */
    if (last >= 0) hi = last / w->sw + 1;
    if (hi > w->OW) hi = w->OW;
    if (lo > hi) lo = hi;
    for (int64_t oh = 0; oh < w->OH; oh++) {
        float *yr = y + oh * w->OW;
        int64_t h0 = oh * w->sh - w->pt, ki0, ki1;
        for (int64_t ow = 0; ow < lo; ow++) yr[ow] = max_at(w, x, oh, ow);
        for (int64_t ow = hi; ow < w->OW; ow++) yr[ow] = max_at(w, x, oh, ow);
        if (lo == hi) continue;
        taps_inside(h0, w->kh, w->dh, w->H, &ki0, &ki1);
        int64_t nr = ki1 - ki0, col0 = lo * w->sw - w->pl, ow = lo;
        for (int64_t r = 0; r < nr; r++) rows[r] = x + (h0 + (ki0 + r) * w->dh) * w->W + col0;
        if (avx2 && (w->sw == 1 || w->sw == 2)) {
            nn_maxrow_t mr = {rows, nr, w->kw, w->dw, w->sw, hi - lo, w->W - col0};
            ow += NN_AVX512_OR(vigil__nn_maxpool_row_avx512(&mr, yr + lo),
                               vigil__nn_maxpool_row_avx2(&mr, yr + lo));
        }
        for (; ow < hi; ow++) {
            float acc = -INFINITY;
            int64_t off = (ow - lo) * w->sw;
            for (int64_t r = 0; r < nr; r++) {
                const float *xs = rows[r] + off;
                for (int64_t kj = 0; kj < w->kw; kj++) {
                    float v = xs[kj * w->dw];
                    acc = v > acc ? v : acc;
                }
            }
            yr[ow] = acc;
        }
    }
}

static void pool_planes(void *arg, int64_t c0, int64_t c1)
{
    const pool_ctx_t *c = arg;
    const pool_params_t *pp = c->pp;
    const nn_win_t *w = &pp->w;
    int avx2 = vigil__nn_have_avx2();
    if (pp->max && w->spatial == 2 && !(w->sh == 1 && w->sw == 1 && w->dh == 1 && w->dw == 1 && !avx2)) {
        /* generic tier at stride 1: the row-reduce below; else border/interior */
        const float **rows = malloc(sizeof(*rows) * (size_t)(w->kh < w->H ? w->kh : w->H) + 1);
        if (rows) {
            for (int64_t pl = c0; pl < c1; pl++)
                max_plane_split(w, c->x + pl * w->H * w->W, c->y + pl * w->OH * w->OW, rows, avx2);
            free(rows);
            return;
        }
    }
    if (pp->max && w->spatial == 2 && w->sh == 1 && w->sw == 1 && w->dh == 1 && w->dw == 1) {
        float *t = malloc(sizeof(float) * (size_t)w->OW);
        if (t) {
            for (int64_t pl = c0; pl < c1; pl++)
                max_plane_s1(w, c->x + pl * w->H * w->W, c->y + pl * w->OH * w->OW, t);
            free(t);
            return;
        }
    }
    int global = !pp->max && w->OH == 1 && w->OW == 1 && w->kh == w->H && w->kw == w->W && !w->pt &&
                 !w->pl && !w->pb && !w->pr && w->dh == 1 && w->dw == 1;
    for (int64_t pl = c0; pl < c1; pl++) {
        const float *x = c->x + pl * w->H * w->W;
        float *y = c->y + pl * w->OH * w->OW;
        if (global) {
            /* GlobalAveragePool / a whole-plane window, TF.js's Mean exactly:
             * each x / n rounded to float, summed in double, rounded once
             * (CenterNet's SE blocks; a float running sum was both slower,
             * latency-bound, and further from the reference) */
            int64_t n = w->H * w->W, i = 0;
            float fn = (float)n;
            double s0 = 0, s1 = 0;
            if (vigil__nn_have_avx2()) i = n, s0 = NN_AVX512_OR(vigil__nn_sum_div_avx512(x, n, fn), vigil__nn_sum_div_avx2(x, n, fn));
            for (; i + 2 <= n; i += 2) s0 += x[i] / fn, s1 += x[i + 1] / fn;
            for (; i < n; i++) s0 += x[i] / fn;
            y[0] = (float)(s0 + s1);
            continue;
        }
        for (int64_t oh = 0; oh < w->OH; oh++)
            for (int64_t ow = 0; ow < w->OW; ow++) {
                float acc = pp->max ? -INFINITY : 0;
                int64_t cnt = 0;
                int64_t h0 = oh * w->sh - w->pt, w0 = ow * w->sw - w->pl;
                int64_t ki0, ki1, kj0, kj1;
                taps_inside(h0, w->kh, w->dh, w->H, &ki0, &ki1);
                taps_inside(w0, w->kw, w->dw, w->W, &kj0, &kj1);
                for (int64_t ki = ki0; ki < ki1; ki++) {
                    int64_t ih = h0 + ki * w->dh;
                    for (int64_t kj = kj0; kj < kj1; kj++) {
                        int64_t iw = w0 + kj * w->dw;
                        float v = x[ih * w->W + iw];
                        if (pp->max) acc = v > acc ? v : acc;
                        else acc += v;
                        cnt++;
                    }
                }
                if (!pp->max) {
                    if (pp->include_pad) {
                        /* window clipped to the padded input (ceil_mode may overhang) */
                        int64_t he = h0 + (w->kh - 1) * w->dh, we = w0 + (w->kw - 1) * w->dw;
                        int64_t hmax = w->H + w->pb - 1, wmax = w->W + w->pr - 1;
                        int64_t nh = w->kh, nw = w->kw;
                        if (he > hmax) nh -= (he - hmax + w->dh - 1) / w->dh;
                        if (we > wmax) nw -= (we - wmax + w->dw - 1) / w->dw;
                        cnt = nh * nw;
                    }
                    acc = cnt ? acc / (float)cnt : 0;
                }
                y[oh * w->OW + ow] = acc;
            }
    }
}

static vigil_err_t pool_run(nn_exec_t *e)
{
    const pool_params_t *pp = e->params;
    pool_ctx_t c = {pp, e->in[0]->data, e->out[0]->data};
    vigil__nn_parallel_for(e->pool, pp->w.N * pp->w.C, 1, pool_planes, &c);
    return VIGIL_OK;
}

static const nn_op_t ops[] = {
    {"MaxPool", pool_prepare, pool_run, sizeof(pool_params_t), 0, 1, 1},
    {"AveragePool", pool_prepare, pool_run, sizeof(pool_params_t), 0, 1, 1},
    {"GlobalAveragePool", pool_prepare, pool_run, sizeof(pool_params_t), 0, 1, 1},
    {"GlobalMaxPool", pool_prepare, pool_run, sizeof(pool_params_t), 0, 1, 1},
};

const nn_op_t *const vigil__nn_ops_pool[] = {&ops[0], &ops[1], &ops[2], &ops[3], NULL};
