/* Convolutions in NCHW: Conv (1x1 as a direct GEMM, general kernels via
 * im2col + GEMM, depthwise as its own direct kernel, groups) and
 * ConvTranspose (GEMM + col2im). The GEMM path packs im2col panels straight
 * from the input (no im2col buffer); bias, the fused activation and affine
 * (node->act / post, set by the fusion pass) are applied to each finished
 * GEMM row segment while it is hot. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/conv_geom.h"
#include "nn/cpu/kernels.h"

vigil_err_t vigil__nn_win_init(nn_prep_t *p, const vigil_nn_tensor_t *x, const int64_t *kk,
                               int ceil_mode, nn_win_t *w)
{
    const nn_node_t *n = p->node;
    const int64_t *ks, *st, *dl, *pd;
    int sp = x->ndim - 2;
    if (sp != 1 && sp != 2)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "%d spatial dims (1 or 2 supported)", sp);
    size_t nks = vigil__nn_attr_ints(n, "kernel_shape", &ks), nst = vigil__nn_attr_ints(n, "strides", &st),
           ndl = vigil__nn_attr_ints(n, "dilations", &dl), npd = vigil__nn_attr_ints(n, "pads", &pd);
    if ((nks && nks != (size_t)sp) || (nst && nst != (size_t)sp) || (ndl && ndl != (size_t)sp) ||
        (npd && npd != (size_t)(2 * sp)))
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "kernel_shape/strides/dilations/pads do not match rank %d", x->ndim);
    memset(w, 0, sizeof *w);
    w->spatial = sp;
    w->N = x->dims[0];
    w->C = x->dims[1];
    w->H = sp == 2 ? x->dims[2] : 1;
    w->W = x->dims[sp == 2 ? 3 : 2];
    if (kk) {
        w->kh = sp == 2 ? kk[0] : 1;
        w->kw = kk[sp - 1];
    } else {
        if (!nks) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "attribute kernel_shape missing");
        w->kh = sp == 2 ? ks[0] : 1;
        w->kw = ks[sp - 1];
    }
    w->sh = sp == 2 && nst ? st[0] : 1;
    w->sw = nst ? st[sp - 1] : 1;
    w->dh = sp == 2 && ndl ? dl[0] : 1;
    w->dw = ndl ? dl[sp - 1] : 1;
    if (npd) {
        if (sp == 2) w->pt = pd[0], w->pl = pd[1], w->pb = pd[2], w->pr = pd[3];
        else w->pl = pd[0], w->pr = pd[1];
    }
    if (w->kh < 1 || w->kw < 1 || w->sh < 1 || w->sw < 1 || w->dh < 1 || w->dw < 1 || w->pt < 0 ||
        w->pl < 0 || w->pb < 0 || w->pr < 0)
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "bad kernel_shape/strides/dilations/pads");
    const char *ap = vigil__nn_attr_str(n, "auto_pad", "NOTSET");
    int64_t ekh = (w->kh - 1) * w->dh + 1, ekw = (w->kw - 1) * w->dw + 1;
    if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
        int64_t oh = (w->H + w->sh - 1) / w->sh, ow = (w->W + w->sw - 1) / w->sw;
        int64_t ph = (oh - 1) * w->sh + ekh - w->H, pw = (ow - 1) * w->sw + ekw - w->W;
        if (ph < 0) ph = 0;
        if (pw < 0) pw = 0;
        int lower = !strcmp(ap, "SAME_LOWER");
        w->pt = lower ? (ph + 1) / 2 : ph / 2;
        w->pb = ph - w->pt;
        w->pl = lower ? (pw + 1) / 2 : pw / 2;
        w->pr = pw - w->pl;
    } else if (!strcmp(ap, "VALID")) {
        w->pt = w->pl = w->pb = w->pr = 0;
    } else if (strcmp(ap, "NOTSET")) {
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "attribute auto_pad \"%s\"", ap);
    }
    int64_t nh = w->H + w->pt + w->pb - ekh, nw = w->W + w->pl + w->pr - ekw;
    if (nh < 0 || nw < 0) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "kernel larger than the padded input");
    if (ceil_mode) {
        w->OH = (nh + w->sh - 1) / w->sh + 1;
        w->OW = (nw + w->sw - 1) / w->sw + 1;
        /* the last window must start inside the input or left padding */
        if ((w->OH - 1) * w->sh >= w->H + w->pt) w->OH--;
        if ((w->OW - 1) * w->sw >= w->W + w->pl) w->OW--;
    } else {
        w->OH = nh / w->sh + 1;
        w->OW = nw / w->sw + 1;
    }
    return VIGIL_OK;
}

void vigil__nn_conv_out_dims(const nn_win_t *w, int64_t M, vigil_nn_tensor_t *o)
{
    o->ndim = w->spatial + 2;
    o->dims[0] = w->N;
    o->dims[1] = M;
    if (w->spatial == 2) o->dims[2] = w->OH, o->dims[3] = w->OW;
    else o->dims[2] = w->OW;
}

/* ---- Conv ------------------------------------------------------------------------------ */

typedef struct conv_params {
    nn_win_t w;
    int64_t M, group, Cg, Mg, K;
    int kind; /* 0 1x1 direct, 1 im2col, 2 depthwise */
    int wino; /* kind 1 run as Winograd F(2x2,3x3) (wino_avx2.c) */
} conv_params_t;

/* Winograd for 3x3 stride-1 convs with enough channels on both sides (the
 * transforms cost per input and output channel, the saving is per pair);
 * VIGIL_NN_WINOGRAD=0 turns it off (measurement, docs/nn.md). */
static int wino_fits(const conv_params_t *cp)
{
    static int on = -1;
    if (on < 0) {
        const char *v = getenv("VIGIL_NN_WINOGRAD");
        on = !(v && !strcmp(v, "0"));
    }
    const nn_win_t *w = &cp->w;
    return on && vigil__nn_have_avx2() && cp->kind == 1 && cp->group == 1 && w->spatial == 2 &&
           w->kh == 3 && w->kw == 3 && w->sh == 1 && w->sw == 1 && w->dh == 1 && w->dw == 1 &&
           cp->Cg >= 16 && cp->M >= 16 && w->OH * w->OW >= 256;
}

static vigil_err_t conv_prepare(nn_prep_t *p)
{
    conv_params_t *cp = p->params;
    const vigil_nn_tensor_t *x = p->in[0], *wt = p->nin > 1 ? p->in[1] : NULL,
                            *b = p->nin > 2 ? p->in[2] : NULL;
    if (!wt) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "no weight input");
    if (x->dtype != VIGIL_NN_FLOAT32 || wt->dtype != VIGIL_NN_FLOAT32)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "dtype %s", vigil_nn_dtype_name(x->dtype));
    if (wt->ndim != x->ndim) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "weight rank %d, input rank %d", wt->ndim, x->ndim);
    if (x->ndim != 3 && x->ndim != 4) /* before reading the kernel dims (fuzz: rank 0) */
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "%d spatial dims (1 or 2 supported)", x->ndim - 2);
    int64_t kk[2] = {wt->ndim == 4 ? wt->dims[2] : 1, wt->dims[wt->ndim - 1]};
    if (wt->ndim == 3) kk[0] = kk[1];
    vigil_err_t err = vigil__nn_win_init(p, x, kk, 0, &cp->w);
    if (err) return err;
    if (wt->ndim == 4) cp->w.kh = wt->dims[2], cp->w.kw = wt->dims[3];
    else cp->w.kh = 1, cp->w.kw = wt->dims[2];
    const int64_t *ks;
    size_t nks = vigil__nn_attr_ints(p->node, "kernel_shape", &ks);
    if (nks && (ks[nks - 1] != cp->w.kw || (nks == 2 && ks[0] != cp->w.kh)))
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "attribute kernel_shape does not match the weights");
    /* recompute output with the weight's kernel */
    {
        nn_win_t *w = &cp->w;
        int64_t ekh = (w->kh - 1) * w->dh + 1, ekw = (w->kw - 1) * w->dw + 1;
        if (!nks) { /* auto_pad computed from kernel passed in; redo for safety */
        }
        w->OH = (w->H + w->pt + w->pb - ekh) / w->sh + 1;
        w->OW = (w->W + w->pl + w->pr - ekw) / w->sw + 1;
        if (w->OH < 1 || w->OW < 1) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "output would be empty");
    }
    cp->group = vigil__nn_attr_int(p->node, "group", 1);
    cp->M = wt->dims[0];
    if (cp->group < 1 || cp->w.C % cp->group || cp->M % cp->group || wt->dims[1] * cp->group != cp->w.C)
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "attribute group %lld does not fit %lld input and %lld output channels",
                                  (long long)cp->group, (long long)cp->w.C, (long long)cp->M);
    if (b && (b->dtype != VIGIL_NN_FLOAT32 || vigil_nn_tensor_numel(b) != cp->M))
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "bias must be float32 [%lld]", (long long)cp->M);
    cp->Cg = cp->w.C / cp->group;
    cp->Mg = cp->M / cp->group;
    cp->K = cp->Cg * cp->w.kh * cp->w.kw;
    const nn_win_t *w = &cp->w;
    if (cp->Cg == 1 && cp->Mg == 1) cp->kind = 2;
    else if (w->kh == 1 && w->kw == 1 && w->sh == 1 && w->sw == 1 && !w->pt && !w->pl && !w->pb && !w->pr) cp->kind = 0;
    else cp->kind = 1;
    /* kinds 0 and 1: the GEMM reads full interior panels of B in place
     * through K offsets (conv_direct_b) kept in scratch; other panels are
     * packed straight from the input (conv_pack_b) */
    if (cp->kind != 2) p->scratch_bytes = sizeof(int64_t) * (size_t)cp->K;
    cp->wino = wino_fits(cp);
    vigil_nn_tensor_t *o = p->out[0];
    o->dtype = VIGIL_NN_FLOAT32;
    vigil__nn_conv_out_dims(w, cp->M, o);
    return VIGIL_OK;
}

/* The GEMM's view of one (batch, group) of a conv: B = im2col(x) as
 * [K = Cg*kh*kw, OH*OW], packed panel by panel; epilogue per output row
 * (= output channel): bias, activation, affine. */
typedef struct conv_gemm_ctx {
    const conv_params_t *cp;
    const float *x;    /* this batch item's group's input channels */
    const float *bias; /* this group's bias or NULL */
    nn_epi_t epi;
} conv_gemm_ctx_t;

static void conv_pack_b(void *arg, int64_t k0, int64_t kc, int64_t j0, int64_t nj, float *dst)
{
    const conv_gemm_ctx_t *c = arg;
    const nn_win_t *w = &c->cp->w;
    int64_t ohs[NN_NR], ows[NN_NR];
    for (int64_t j = 0; j < nj; j++) ohs[j] = (j0 + j) / w->OW, ows[j] = (j0 + j) % w->OW;
    int one_row = nj == NN_NR && ohs[0] == ohs[NN_NR - 1];
    int64_t khw = w->kh * w->kw, ch = k0 / khw, ki = (k0 % khw) / w->kw, kj = k0 % w->kw;
    for (int64_t k = 0; k < kc; k++) {
        float *d = dst + k * NN_NR;
        const float *xc = c->x + ch * w->H * w->W;
        int64_t dy = ki * w->dh - w->pt, dx = kj * w->dw - w->pl;
        if (one_row) {
            int64_t ih = ohs[0] * w->sh + dy, iw0 = ows[0] * w->sw + dx;
            if (ih < 0 || ih >= w->H) {
                memset(d, 0, sizeof(float) * NN_NR);
            } else if (w->sw == 1 && iw0 >= 0 && iw0 + NN_NR <= w->W) {
                memcpy(d, xc + ih * w->W + iw0, sizeof(float) * NN_NR);
            } else if (iw0 >= 0 && iw0 + (NN_NR - 1) * w->sw < w->W) { /* strided, inside */
                const float *xr = xc + ih * w->W + iw0;
                for (int64_t j = 0; j < NN_NR; j++) d[j] = xr[j * w->sw];
            } else {
                const float *xr = xc + ih * w->W;
                for (int64_t j = 0; j < NN_NR; j++) {
                    int64_t iw = iw0 + j * w->sw;
                    d[j] = iw >= 0 && iw < w->W ? xr[iw] : 0;
                }
            }
        } else {
            for (int64_t j = 0; j < nj; j++) {
                int64_t ih = ohs[j] * w->sh + dy, iw = ows[j] * w->sw + dx;
                d[j] = ih >= 0 && ih < w->H && iw >= 0 && iw < w->W ? xc[ih * w->W + iw] : 0;
            }
            for (int64_t j = nj; j < NN_NR; j++) d[j] = 0;
        }
        if (++kj == w->kw) {
            kj = 0;
            if (++ki == w->kh) ki = 0, ch++;
        }
    }
}

/* Implicit im2col: B[k][j0 + j] for the 16 output positions j0.. of one
 * output row lies at x + offs[k] + base for k = (ch, ki, kj) when every tap
 * is inside the input (stride 1 along the row); 1x1 convs: always. */
static const float *conv_direct_b(void *arg, int64_t j0, int64_t nj)
{
    const conv_gemm_ctx_t *c = arg;
    const nn_win_t *w = &c->cp->w;
    if (c->cp->kind == 0) return c->x + j0;
    int64_t oh = j0 / w->OW, ow0 = j0 % w->OW;
    if (nj != NN_NR || ow0 + NN_NR > w->OW) return NULL;
    int64_t ih0 = oh * w->sh - w->pt, iw0 = ow0 - w->pl;
    if (ih0 < 0 || ih0 + (w->kh - 1) * w->dh >= w->H || iw0 < 0 ||
        iw0 + NN_NR - 1 + (w->kw - 1) * w->dw >= w->W)
        return NULL;
    return c->x + ih0 * w->W + iw0;
}

/* VIGIL_NN_CONV_DIRECT=0 packs every panel (for measurement, docs/nn.md) */
static int conv_direct_enabled(void)
{
    static int on = -1;
    if (on < 0) {
        const char *v = getenv("VIGIL_NN_CONV_DIRECT");
        on = !(v && !strcmp(v, "0"));
    }
    return on;
}

static void conv_epi(void *arg, int64_t i, int64_t j0, float *c, int64_t nj)
{
    const conv_gemm_ctx_t *cg = arg;
    (void)j0;
    vigil__nn_epilogue(c, nj, cg->bias ? cg->bias[i] : 0, &cg->epi);
}

typedef struct dw_ctx {
    const conv_params_t *cp;
    const float *x, *wt, *bias;
    float *y;
    nn_epi_t epi;
} dw_ctx_t;

static void dw_channels(void *arg, int64_t c0, int64_t c1)
{
    const dw_ctx_t *c = arg;
    const nn_win_t *w = &c->cp->w;
    int64_t C = c->cp->M;
    nn_dw_geom_t gm = {w->H, w->W, w->OH, w->OW, w->kh, w->kw, w->sh, w->sw, w->dh, w->dw, w->pt, w->pl};
    /* planes with borders or a ragged last vector go through a zero-padded
     * copy, all columns vectorised (the scalar border path was ~7% of
     * PP-OCRv4 det); one work buffer per chunk of channels */
    int avx512 = 0;
#if defined(__x86_64__) || defined(__i386__)
    avx512 = vigil__nn_have_avx512() && vigil__nn_dw_plane_avx512_fits(&gm); /* no padded copy */
#endif
    size_t padn = vigil__nn_have_avx2() && !avx512 && (w->pt || w->pl || w->pb || w->pr || w->OW % 8)
                      ? vigil__nn_dw_pad_floats(&gm) : 0;
    float *pad = padn ? malloc(sizeof(float) * padn) : NULL;
    for (int64_t nc = c0; nc < c1; nc++) {
        int64_t ch = nc % C;
        const float *x = c->x + nc * w->H * w->W, *k = c->wt + ch * w->kh * w->kw;
        float *y = c->y + nc * w->OH * w->OW;
        float bias = c->bias ? c->bias[ch] : 0;
        if (vigil__nn_have_avx2()) {
#if defined(__x86_64__) || defined(__i386__)
            if (avx512) vigil__nn_dw_plane_avx512(x, &gm, k, bias, y);
            else
#endif
            if (pad) vigil__nn_dw_plane_padded_avx2(x, &gm, k, bias, y, pad);
            else vigil__nn_dw_plane_avx2(x, &gm, k, bias, y);
            if (c->epi.act || c->epi.post) vigil__nn_epilogue(y, w->OH * w->OW, 0, &c->epi);
            continue;
        }
        for (int64_t oh = 0; oh < w->OH; oh++) {
            float *yr = y + oh * w->OW;
            for (int64_t ow = 0; ow < w->OW; ow++) yr[ow] = 0; /* taps from 0, bias after (dw_avx2.c) */
            for (int64_t ki = 0; ki < w->kh; ki++) {
                int64_t ih = oh * w->sh - w->pt + ki * w->dh;
                if (ih < 0 || ih >= w->H) continue;
                const float *xr = x + ih * w->W;
                for (int64_t kj = 0; kj < w->kw; kj++) {
                    float kv = k[ki * w->kw + kj];
                    int64_t off = kj * w->dw - w->pl;
                    /* ow range with 0 <= ow*sw + off < W */
                    int64_t lo = off >= 0 ? 0 : (-off + w->sw - 1) / w->sw;
                    int64_t hi = (w->W - 1 - off) < 0 ? -1 : (w->W - 1 - off) / w->sw;
                    if (hi > w->OW - 1) hi = w->OW - 1;
                    if (w->sw == 1) {
                        const float *xs = xr + off;
                        for (int64_t ow = lo; ow <= hi; ow++) yr[ow] += kv * xs[ow];
                    } else {
                        for (int64_t ow = lo; ow <= hi; ow++) yr[ow] += kv * xr[ow * w->sw + off];
                    }
                }
            }
            if (bias != 0)
                for (int64_t ow = 0; ow < w->OW; ow++) yr[ow] += bias;
        }
        if (c->epi.act || c->epi.post) vigil__nn_epilogue(y, w->OH * w->OW, 0, &c->epi);
    }
    free(pad);
}

static vigil_err_t conv_run(nn_exec_t *e)
{
    const conv_params_t *cp = e->params;
    const nn_win_t *w = &cp->w;
    const float *x = e->in[0]->data, *wt = e->in[1]->data;
    const float *bias = e->nin > 2 && e->in[2] ? e->in[2]->data : NULL;
    float *y = e->out[0]->data;
    const nn_node_t *n = e->node;
    int64_t ohw = w->OH * w->OW, hw = w->H * w->W;
    if (cp->kind == 2) {
        dw_ctx_t c = {cp, x, wt, bias, y, {0}};
        vigil__nn_epi_from_node(&c.epi, n);
        vigil__nn_parallel_for(e->pool, w->N * cp->M, 1, dw_channels, &c);
        return VIGIL_OK;
    }
    conv_gemm_ctx_t cg = {.cp = cp};
    vigil__nn_epi_from_node(&cg.epi, n);
    if (cp->wino) {
        int64_t b = 0;
        for (; b < w->N; b++) {
            nn_wino_args_t wa = {x + b * w->C * hw, wt, bias, y + b * cp->M * ohw, w->C, w->H, w->W,
                                 cp->M, w->OH, w->OW, w->pt, w->pl, &cg.epi};
            if (vigil__nn_wino_conv(&wa, e->pool)) break;
        }
        if (b == w->N) return VIGIL_OK;
        /* no memory for its buffers: the GEMM path below does it all again */
    }
    nn_gemm_ext_t ext = {cp->kind == 1 ? conv_pack_b : NULL, conv_epi, &cg, NULL, NULL,
                         cp->group == 1 ? n->packed_w : NULL, NULL, 0, NULL};
    int64_t *offs = e->scratch;
    /* in place: im2col panels always (packing them costs more than reading
     * K scattered rows); 1x1 inputs only for few row panels, as packed B
     * reused by many row panels is faster (PP-OCRv4 rec 480x480 1x1: 24 vs
     * 25 ms; det 32x16 1x1 at 320x320: in place is faster) */
    if (offs && conv_direct_enabled() && ((cp->kind == 0 && cp->Mg <= 48) || (cp->kind == 1 && w->sw == 1))) {
        for (int64_t k = 0; k < cp->K; k++) {
            if (cp->kind == 0) {
                offs[k] = k * hw;
                continue;
            }
            int64_t khw = w->kh * w->kw, ch = k / khw, ki = k % khw / w->kw, kj = k % w->kw;
            offs[k] = ch * hw + ki * w->dh * w->W + kj * w->dw;
        }
        ext.direct_b = conv_direct_b;
        ext.b_offs = offs;
    }
    for (int64_t b = 0; b < w->N; b++) {
        for (int64_t g = 0; g < cp->group; g++) {
            cg.x = x + (b * w->C + g * cp->Cg) * hw;
            cg.bias = bias ? bias + g * cp->Mg : NULL;
            float *yg = y + (b * cp->M + g * cp->Mg) * ohw;
            const float *wg = wt + g * cp->Mg * cp->K;
            if (vigil__nn_sgemm_ex(0, 0, cp->Mg, ohw, cp->K, wg, cp->K, cg.x, ohw, yg, ohw, 0, &ext, e->pool))
                return VIGIL_ERR_NOMEM;
        }
    }
    return VIGIL_OK;
}

/* ---- ConvTranspose ------------------------------------------------------------------------- */

static vigil_err_t convt_prepare(nn_prep_t *p)
{
    conv_params_t *cp = p->params;
    const vigil_nn_tensor_t *x = p->in[0], *wt = p->nin > 1 ? p->in[1] : NULL;
    const nn_node_t *n = p->node;
    if (!wt) return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "no weight input");
    if (x->dtype != VIGIL_NN_FLOAT32 || wt->dtype != VIGIL_NN_FLOAT32)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "dtype %s", vigil_nn_dtype_name(x->dtype));
    int sp = x->ndim - 2;
    if ((sp != 1 && sp != 2) || wt->ndim != x->ndim)
        return vigil__nn_prep_err(p, VIGIL_ERR_UNSUPPORTED, "%d spatial dims", sp);
    nn_win_t *w = &cp->w;
    memset(w, 0, sizeof *w);
    w->spatial = sp;
    w->N = x->dims[0];
    w->C = x->dims[1];
    w->H = sp == 2 ? x->dims[2] : 1;
    w->W = x->dims[x->ndim - 1];
    w->kh = sp == 2 ? wt->dims[2] : 1;
    w->kw = wt->dims[wt->ndim - 1];
    const int64_t *st, *dl, *pd, *op, *os;
    size_t nst = vigil__nn_attr_ints(n, "strides", &st), ndl = vigil__nn_attr_ints(n, "dilations", &dl),
           npd = vigil__nn_attr_ints(n, "pads", &pd), nop = vigil__nn_attr_ints(n, "output_padding", &op),
           nos = vigil__nn_attr_ints(n, "output_shape", &os);
    w->sh = sp == 2 && nst ? st[0] : 1;
    w->sw = nst ? st[nst - 1] : 1;
    w->dh = sp == 2 && ndl ? dl[0] : 1;
    w->dw = ndl ? dl[ndl - 1] : 1;
    int64_t oph = sp == 2 && nop ? op[0] : 0, opw = nop ? op[nop - 1] : 0;
    if (npd == (size_t)(2 * sp)) {
        if (sp == 2) w->pt = pd[0], w->pl = pd[1], w->pb = pd[2], w->pr = pd[3];
        else w->pl = pd[0], w->pr = pd[1];
    }
    int64_t ekh = (w->kh - 1) * w->dh + 1, ekw = (w->kw - 1) * w->dw + 1;
    const char *ap = vigil__nn_attr_str(n, "auto_pad", "NOTSET");
    if (nos || !strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
        int64_t th = nos ? (sp == 2 ? os[nos - 2] : 1) : w->H * w->sh, tw = nos ? os[nos - 1] : w->W * w->sw;
        /* ONNX: total padding may be negative (output_shape larger than the
         * full result: the extra rows/columns get only the bias); SAME_UPPER
         * puts the smaller half first, NOTSET/SAME_LOWER the larger one
         * (floor division, as the spec's Python) */
        int64_t ph = w->sh * (w->H - 1) + oph + ekh - th, pw = w->sw * (w->W - 1) + opw + ekw - tw;
        int64_t hh = ph >= 0 ? ph / 2 : -((-ph + 1) / 2), hw = pw >= 0 ? pw / 2 : -((-pw + 1) / 2);
        int upper = !strcmp(ap, "SAME_UPPER");
        w->pt = upper ? hh : ph - hh;
        w->pb = ph - w->pt;
        w->pl = upper ? hw : pw - hw;
        w->pr = pw - w->pl;
        if (sp == 1) w->pt = w->pb = 0;
    }
    w->OH = w->sh * (w->H - 1) + oph + ekh - w->pt - w->pb;
    w->OW = w->sw * (w->W - 1) + opw + ekw - w->pl - w->pr;
    cp->group = vigil__nn_attr_int(n, "group", 1);
    if (cp->group < 1 || w->C % cp->group || wt->dims[0] != w->C || w->OH < 1 || w->OW < 1)
        return vigil__nn_prep_err(p, VIGIL_ERR_INVALID, "weights/group/output shape do not fit");
    cp->Cg = w->C / cp->group;
    cp->Mg = wt->dims[1];
    cp->M = cp->Mg * cp->group;
    cp->K = cp->Mg * w->kh * w->kw;
    p->scratch_bytes = sizeof(float) * (size_t)(cp->K * w->H * w->W);
    vigil_nn_tensor_t *o = p->out[0];
    o->dtype = VIGIL_NN_FLOAT32;
    o->ndim = x->ndim;
    o->dims[0] = w->N;
    o->dims[1] = cp->M;
    if (sp == 2) o->dims[2] = w->OH, o->dims[3] = w->OW;
    else o->dims[2] = w->OW;
    return VIGIL_OK;
}

/* col2im of one (batch, group) as a gather per output row, so rows of all
 * output channels split over the threads without write races (PP-OCRv4
 * det's last ConvTranspose has one output channel at 640x640): each row
 * starts at its bias, adds the taps of the input rows that reach it, then
 * runs the fused epilogue (BatchNormalization folded into weights/bias,
 * activation). */
typedef struct convt_ctx {
    const conv_params_t *cp;
    const float *col, *bias;
    float *yg;
    nn_epi_t epi;
    int taps; /* 0 for an empty input (a zero spatial size or no channels): bias only */
} convt_ctx_t;

static void convt_rows(void *arg, int64_t r0, int64_t r1)
{
    const convt_ctx_t *c = arg;
    const nn_win_t *w = &c->cp->w;
    int64_t hw = w->H * w->W;
    for (int64_t r = r0; r < r1; r++) {
        int64_t m = r / w->OH, oh = r % w->OH;
        float *yr = c->yg + r * w->OW, bv = c->bias ? c->bias[m] : 0;
        for (int64_t i = 0; i < w->OW; i++) yr[i] = bv;
        for (int64_t ki = 0; c->taps && ki < w->kh; ki++) {
            int64_t t = oh + w->pt - ki * w->dh; /* = ih * sh */
            if (t < 0 || t % w->sh) continue;
            int64_t ih = t / w->sh;
            if (ih >= w->H) continue;
            for (int64_t kj = 0; kj < w->kw; kj++) {
                const float *cw = c->col + ((m * w->kh + ki) * w->kw + kj) * hw + ih * w->W;
                int64_t off = kj * w->dw - w->pl;
                /* iw range with 0 <= iw*sw + off < OW */
                int64_t lo = off >= 0 ? 0 : (-off + w->sw - 1) / w->sw;
                int64_t hi = w->OW - 1 - off < 0 ? -1 : (w->OW - 1 - off) / w->sw;
                if (hi > w->W - 1) hi = w->W - 1;
                for (int64_t iw = lo; iw <= hi; iw++) yr[iw * w->sw + off] += cw[iw];
            }
        }
        if (c->epi.act || c->epi.post) vigil__nn_epilogue(yr, w->OW, 0, &c->epi);
    }
}

/* kernel == stride, no padding/dilation/output padding, group 1 (FPN-style
 * 2x2 stride-2 upsampling, PP-OCRv4 det's head): every output pixel gets
 * exactly one tap, so the GEMM's epilogue writes each finished segment of
 * col row (m, ki, kj) straight to its output pixels (bias, fused
 * activation), with no col buffer pass and no col2im */
/* VIGIL_NN_CONVT_SCATTER=0 turns it off (for measurement) */
static int scatter_enabled(void)
{
    static int on = -1;
    if (on < 0) {
        const char *v = getenv("VIGIL_NN_CONVT_SCATTER");
        on = !(v && !strcmp(v, "0"));
    }
    return on;
}

static int convt_is_scatter(const conv_params_t *cp)
{
    const nn_win_t *w = &cp->w;
    return cp->group == 1 && w->kh == w->sh && w->kw == w->sw && w->dh == 1 && w->dw == 1 && !w->pt &&
           !w->pl && !w->pb && !w->pr && w->OH == w->H * w->kh && w->OW == w->W * w->kw;
}

/* col row i = (m, ki, kj), columns [j0, j0+nj) (input pixels), to the
 * output pixels; pair: also row i + 1 (kj + 1, kw == 2), interleaved so
 * the stores are contiguous */
static void convt_scatter_rows(const convt_ctx_t *cx, int64_t i, int64_t j0, const float *c,
                               const float *c1, int64_t nj)
{
    const nn_win_t *w = &cx->cp->w;
    int64_t khw = w->kh * w->kw, m = i / khw, ki = i % khw / w->kw, kj = i % w->kw;
    for (int64_t p = 0, j = j0; p < nj;) {
        int64_t ih = j / w->W, iw = j % w->W, run = w->W - iw < nj - p ? w->W - iw : nj - p;
        float *dst = cx->yg + (m * w->OH + ih * w->kh + ki) * w->OW + iw * w->kw + kj;
        if (c1)
            for (int64_t q = 0; q < run; q++) {
                dst[2 * q] = c[p + q];
                dst[2 * q + 1] = c1[p + q];
            }
        else
            for (int64_t q = 0; q < run; q++) dst[q * w->kw] = c[p + q];
        p += run;
        j += run;
    }
}

static void convt_scatter_epi(void *arg, int64_t i, int64_t j0, float *c, int64_t nj)
{
    const convt_ctx_t *cx = arg;
    int64_t khw = cx->cp->w.kh * cx->cp->w.kw;
    vigil__nn_epilogue(c, nj, cx->bias ? cx->bias[i / khw] : 0, &cx->epi);
    convt_scatter_rows(cx, i, j0, c, NULL, nj);
}

static void convt_scatter_block(void *arg, int64_t i0, int64_t i1, int64_t j0, int64_t nj, float *c,
                                int64_t ldc)
{
    const convt_ctx_t *cx = arg;
    int64_t kw = cx->cp->w.kw, khw = cx->cp->w.kh * kw;
    for (int64_t i = i0; i < i1; i++)
        vigil__nn_epilogue(c + (i - i0) * ldc, nj, cx->bias ? cx->bias[i / khw] : 0, &cx->epi);
    for (int64_t i = i0; i < i1;) {
        float *r = c + (i - i0) * ldc;
        int pair = kw == 2 && i % 2 == 0 && i + 1 < i1;
        convt_scatter_rows(cx, i, j0, r, pair ? r + ldc : NULL, nj);
        i += pair ? 2 : 1;
    }
}

static vigil_err_t convt_run(nn_exec_t *e)
{
    const conv_params_t *cp = e->params;
    const nn_win_t *w = &cp->w;
    const float *x = e->in[0]->data, *wt = e->in[1]->data;
    const float *bias = e->nin > 2 && e->in[2] ? e->in[2]->data : NULL;
    float *y = e->out[0]->data, *col = e->scratch;
    int64_t hw = w->H * w->W, ohw = w->OH * w->OW;
    /* an input with no elements (W = 0, say) has no taps: its output is
     * the bias, and its data pointer may be NULL */
    convt_ctx_t c = {cp, col, NULL, NULL, {0}, hw > 0 && cp->Cg > 0};
    vigil__nn_epi_from_node(&c.epi, e->node);
    if (c.taps && convt_is_scatter(cp) && scatter_enabled()) {
        nn_gemm_ext_t ext = {.epi = convt_scatter_epi, .ctx = &c, .epi_stores = 1,
                             .epi_block = convt_scatter_block};
        int64_t b = 0;
        for (; b < w->N; b++) {
            c.bias = bias;
            c.yg = y + b * cp->M * ohw;
            if (vigil__nn_sgemm_ex(1, 0, cp->K, hw, cp->Cg, wt, cp->K, x + b * w->C * hw, hw, col, hw, 0,
                                   &ext, e->pool))
                break;
        }
        if (b == w->N) return VIGIL_OK;
        /* no memory for the panels: the general path */
    }
    for (int64_t b = 0; b < w->N; b++)
        for (int64_t g = 0; g < cp->group; g++) {
            if (c.taps) {
                const float *xg = x + (b * w->C + g * cp->Cg) * hw;
                const float *wg = wt + g * cp->Cg * cp->K;
                /* col[K, HW] = Wg^T [K, Cg] * Xg [Cg, HW] */
                vigil__nn_sgemm(1, 0, cp->K, hw, cp->Cg, wg, cp->K, xg, hw, col, hw, 0, e->pool);
            }
            c.bias = bias ? bias + g * cp->Mg : NULL;
            c.yg = y + (b * cp->M + g * cp->Mg) * ohw;
            vigil__nn_parallel_for(e->pool, cp->Mg * w->OH, 8, convt_rows, &c);
        }
    return VIGIL_OK;
}

static const nn_op_t ops[] = {
    {"Conv", conv_prepare, conv_run, sizeof(conv_params_t), 0, 2, 3},
    {"ConvTranspose", convt_prepare, convt_run, sizeof(conv_params_t), 0, 2, 3},
};

const nn_op_t *const vigil__nn_ops_conv[] = {&ops[0], &ops[1], NULL};
