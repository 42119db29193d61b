/* INT8 convolution: the portable kernels and the driver (qconv.h). The
 * general path is an implicit-GEMM: for each panel of 16 output positions
 * the quantized input's im2col columns are packed as s16 pairs straight
 * from the s16 plane (no im2col buffer), multiplied with every 6-row panel
 * of the packed weights, and each finished row segment is dequantized,
 * biased and activated while hot. On VNNI the same driver packs u8 level
 * quads instead (qconv_avx512.c) and subtracts zp * the row's weight sum.
 * Depthwise convs run plane by plane.
 * Work is split over output-position panels (GEMM) or planes (depthwise). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/isa.h"
#include "nn/cpu/qconv.h"

static int force_portable;

void vigil__nn_qconv_force_portable(int on)
{
    force_portable = on;
}

int vigil__nn_qconv_avx2_active(void)
{
    return !force_portable && vigil__nn_have_avx2();
}

int vigil__nn_qconv_vnni_active(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return !force_portable && vigil__nn_have_avx512() && (vigil__nn_cpu_features() & NN_CPU_AVX512VNNI);
#else
    return 0;
#endif
}

/* the kernels a conv runs on */
enum { QK_C, QK_AVX2, QK_VNNI };

void vigil__nn_qukernel_c(int64_t kpairs, const int16_t *a, const int16_t *b, int32_t *c)
{
    int32_t acc[NN_MR][NN_NR] = {{0}};
    for (int64_t p = 0; p < kpairs; p++) {
        const int16_t *ap = a + p * NN_MR * 2, *bp = b + p * NN_NR * 2;
        for (int r = 0; r < NN_MR; r++) {
            int32_t a0 = ap[2 * r], a1 = ap[2 * r + 1];
            for (int j = 0; j < NN_NR; j++) acc[r][j] += a0 * bp[2 * j] + a1 * bp[2 * j + 1];
        }
    }
    memcpy(c, acc, sizeof acc);
}

void vigil__nn_qpack_b_rows_c(const int16_t *base, const int64_t *offs, int64_t K, int16_t *dst)
{
    for (int64_t k = 0; k < K; k++) {
        const int16_t *r = base + offs[k];
        int16_t *d = dst + (k / 2) * NN_NR * 2 + (k & 1);
        for (int j = 0; j < NN_NR; j++) d[2 * j] = r[j];
    }
    if (K & 1) /* the pair's second row */
        for (int j = 0; j < NN_NR; j++) dst[(K / 2) * NN_NR * 2 + 2 * j + 1] = 0;
}

/* Panels of 6 rows of w, G consecutive k per row (G = 2: s16 pairs into
 * d16; G = 4: s8 quads into d8), zero past M and K. */
static size_t pack_a_len(int64_t M, int64_t K, int G)
{
    return (size_t)((M + NN_MR - 1) / NN_MR) * (size_t)((K + G - 1) / G) * NN_MR * (size_t)G;
}

static void pack_a(const int8_t *w, int64_t M, int64_t K, int G, int16_t *d16, int8_t *d8)
{
    int64_t kg = (K + G - 1) / G;
    size_t i = 0;
    for (int64_t ib = 0; ib < (M + NN_MR - 1) / NN_MR; ib++)
        for (int64_t p = 0; p < kg; p++)
            for (int r = 0; r < NN_MR; r++)
                for (int h = 0; h < G; h++, i++) {
                    int64_t m = ib * NN_MR + r, k = G * p + h;
                    int8_t v = m < M && k < K ? w[m * K + k] : 0;
                    if (d16) d16[i] = v;
                    else d8[i] = v;
                }
}

size_t vigil__nn_qpack_a_len(int64_t M, int64_t K)
{
    return pack_a_len(M, K, 2);
}

void vigil__nn_qpack_a(const int8_t *w, int64_t M, int64_t K, int16_t *dst)
{
    pack_a(w, M, K, 2, dst, NULL);
}

size_t vigil__nn_qpack_a4_len(int64_t M, int64_t K)
{
    return pack_a_len(M, K, 4);
}

void vigil__nn_qpack_a4(const int8_t *w, int64_t M, int64_t K, int8_t *dst)
{
    pack_a(w, M, K, 4, NULL, dst);
}

void vigil__nn_qpack_b4_rows_c(const uint8_t *base, const int64_t *offs, int64_t K, uint8_t *dst)
{
    memset(dst + K / 4 * 4 * NN_NR, 0, (size_t)((K + 3) / 4 - K / 4) * 4 * NN_NR);
    for (int64_t k = 0; k < K; k++) {
        const uint8_t *r = base + offs[k];
        uint8_t *d = dst + (k / 4) * NN_NR * 4 + (k & 3);
        for (int j = 0; j < NN_NR; j++) d[4 * j] = r[j];
    }
}

size_t vigil__nn_qpack_weights_len(int64_t M, int64_t K, int64_t group)
{
    int64_t Mg = M / group;
    return (size_t)group * (sizeof(int16_t) * vigil__nn_qpack_a_len(Mg, K) + vigil__nn_qpack_a4_len(Mg, K)) +
           sizeof(int32_t) * (size_t)M;
}

/* the three parts of a vigil__nn_qpack_weights buffer, group g's */
static void packed_parts(const void *base, int64_t M, int64_t K, int64_t group, int64_t g, const int16_t **a2,
                         const int8_t **a4, const int32_t **rowsum)
{
    int64_t Mg = M / group;
    size_t l2 = vigil__nn_qpack_a_len(Mg, K), l4 = vigil__nn_qpack_a4_len(Mg, K);
    const char *p = base;
    *a2 = (const int16_t *)(const void *)p + (size_t)g * l2;
    p += sizeof(int16_t) * l2 * (size_t)group;
    *a4 = (const int8_t *)p + (size_t)g * l4;
    p += l4 * (size_t)group;
    *rowsum = (const int32_t *)(const void *)p + g * Mg;
}

void vigil__nn_qpack_weights(const int8_t *w, int64_t M, int64_t K, int64_t group, void *dst)
{
    int64_t Mg = M / group;
    size_t l2 = vigil__nn_qpack_a_len(Mg, K), l4 = vigil__nn_qpack_a4_len(Mg, K);
    char *p = dst;
    for (int64_t g = 0; g < group; g++) vigil__nn_qpack_a(w + g * Mg * K, Mg, K, (int16_t *)(void *)p + (size_t)g * l2);
    p += sizeof(int16_t) * l2 * (size_t)group;
    for (int64_t g = 0; g < group; g++) vigil__nn_qpack_a4(w + g * Mg * K, Mg, K, (int8_t *)p + (size_t)g * l4);
    p += l4 * (size_t)group;
    int32_t *rs = (int32_t *)(void *)p;
    for (int64_t m = 0; m < M; m++) {
        int32_t s = 0;
        for (int64_t k = 0; k < K; k++) s += w[m * K + k];
        rs[m] = s;
    }
}

/* the level of x: clamp(round(x * inv_scale) + zp, 0, 255) */
static inline int32_t quant_level(float x, float inv_scale, int zp)
{
    float v = x * inv_scale;
    /* the vector paths' max/min order: NaN -> the low bound */
    v = v > -1e6f ? v : -1e6f;
    v = v < 1e6f ? v : 1e6f;
    int32_t q = (int32_t)lrintf(v) + zp;
    return q < 0 ? 0 : q > 255 ? 255 : q;
}

void vigil__nn_quantize_u8_c(const float *x, int64_t n, float inv_scale, int zp, uint8_t *y)
{
    for (int64_t i = 0; i < n; i++) y[i] = (uint8_t)quant_level(x[i], inv_scale, zp);
}

void vigil__nn_quantize_s16_c(const float *x, int64_t n, float inv_scale, int zp, int16_t *y)
{
    for (int64_t i = 0; i < n; i++) y[i] = (int16_t)(quant_level(x[i], inv_scale, zp) - zp);
}

void vigil__nn_quantize_s16(const float *x, int64_t n, float inv_scale, int zp, int16_t *y)
{
    if (vigil__nn_qconv_avx2_active()) vigil__nn_quantize_s16_avx2(x, n, inv_scale, zp, y);
    else vigil__nn_quantize_s16_c(x, n, inv_scale, zp, y);
}

void vigil__nn_qdw_plane_c(const int16_t *x, const nn_dw_geom_t *g, const int8_t *k, int32_t *acc)
{
    for (int64_t oh = 0; oh < g->OH; oh++)
        for (int64_t ow = 0; ow < g->OW; ow++) {
            int32_t s = 0;
            for (int64_t ki = 0; ki < g->kh; ki++) {
                int64_t ih = oh * g->sh - g->pt + ki * g->dh;
                if (ih < 0 || ih >= g->H) continue;
                for (int64_t kj = 0; kj < g->kw; kj++) {
                    int64_t iw = ow * g->sw - g->pl + kj * g->dw;
                    if (iw >= 0 && iw < g->W) s += k[ki * g->kw + kj] * x[ih * g->W + iw];
                }
            }
            acc[oh * g->OW + ow] = s;
        }
}

size_t vigil__nn_qconv_work_len(const nn_qconv_args_t *a)
{
    return (size_t)(a->w.N * a->w.C * a->w.H * a->w.W);
}

/* ---- implicit GEMM ------------------------------------------------------------------- */

typedef struct qgemm_ctx {
    const nn_qconv_args_t *a;
    const void *xg;       /* this batch item's group's input channels: s16 q - zp, or u8 q (VNNI) */
    const int16_t *ap;    /* this group's packed weights (s16 pairs) */
    const int8_t *ap4;    /* the same as s8 quads (VNNI) */
    const int32_t *rowsum; /* this group's row sums of the weights (VNNI) */
    float *yg;            /* this batch item's group's outputs */
    int64_t m0;           /* first output channel of the group */
    int64_t Mg, K, ohw;
    const int64_t *offs;  /* K offsets for panels read in place, or NULL */
    int one_by_one;       /* 1x1, stride 1, no pads: every full panel in place */
    int kind;             /* QK_* */
    int failed;
} qgemm_ctx_t;

/* The offset in the plane of a full panel whose taps are all inside the
 * input (stride 1 along the row), or -1. */
static int64_t direct_off(const qgemm_ctx_t *c, int64_t j0, int64_t nj)
{
    const nn_win_t *w = &c->a->w;
    if (!c->offs || nj != NN_NR) return -1;
    if (c->one_by_one) return j0;
    int64_t oh = j0 / w->OW, ow0 = j0 % w->OW;
    if (w->sw != 1 || ow0 + NN_NR > w->OW) return -1;
    int64_t ih0 = oh * w->sh - w->pt, iw0 = ow0 - w->pl;
    if (ih0 < 0 || ih0 + (w->kh - 1) * w->dh >= w->H || iw0 < 0 || iw0 + NN_NR - 1 + (w->kw - 1) * w->dw >= w->W)
        return -1;
    return ih0 * w->W + iw0;
}

/* im2col columns j0 .. j0+nj of rows [0, K) from plane xg, G rows of k
 * interleaved per column: dst[(k/G)][j][k%G]; taps outside the input and
 * missing columns are fill (the level of zero). One body for s16 pairs
 * and u8 quads. */
#define QPACK_B_GATHER(NAME, T, G)                                                                     \
    static void NAME(const qgemm_ctx_t *c, const T *xg, int64_t j0, int64_t nj, T fill, T *dst)       \
    {                                                                                                  \
        const nn_win_t *w = &c->a->w;                                                                  \
        int64_t ih0[NN_NR], iw0[NN_NR], kg = (c->K + G - 1) / G;                                       \
        for (int64_t j = 0; j < NN_NR; j++) {                                                          \
            int64_t o = j0 + (j < nj ? j : 0);                                                         \
            ih0[j] = o / w->OW * w->sh - w->pt;                                                        \
            iw0[j] = o % w->OW * w->sw - w->pl;                                                        \
        }                                                                                              \
        memset(dst, fill, sizeof(T) * (size_t)kg * NN_NR * G);                                         \
        /* all nj columns in one output row: one input row per k */                                    \
        int one_row = ih0[0] == ih0[nj - 1];                                                           \
        int64_t hw = w->H * w->W, ch = 0, ki = 0, kj = 0;                                              \
        for (int64_t k = 0; k < c->K; k++) {                                                           \
            const T *xc = xg + ch * hw;                                                                \
            T *d = dst + (k / G) * NN_NR * G + (k % G);                                                \
            int64_t dy = ki * w->dh, dx = kj * w->dw;                                                  \
            if (one_row) {                                                                             \
                int64_t ih = ih0[0] + dy, a = iw0[0] + dx, z = iw0[nj - 1] + dx;                       \
                if (ih >= 0 && ih < w->H) {                                                            \
                    const T *xr = xc + ih * w->W;                                                      \
                    if (a >= 0 && z < w->W) {                                                          \
                        for (int64_t j = 0; j < nj; j++) d[G * j] = xr[a + j * w->sw];                 \
                    } else {                                                                           \
                        for (int64_t j = 0; j < nj; j++) {                                             \
                            int64_t iw = a + j * w->sw;                                                \
                            if (iw >= 0 && iw < w->W) d[G * j] = xr[iw];                               \
                        }                                                                              \
                    }                                                                                  \
                }                                                                                      \
            } else {                                                                                   \
                for (int64_t j = 0; j < nj; j++) {                                                     \
                    int64_t ih = ih0[j] + dy, iw = iw0[j] + dx;                                        \
                    if (ih >= 0 && ih < w->H && iw >= 0 && iw < w->W) d[G * j] = xc[ih * w->W + iw];   \
                }                                                                                      \
            }                                                                                          \
            if (++kj == w->kw) {                                                                       \
                kj = 0;                                                                                \
                if (++ki == w->kh) ki = 0, ch++;                                                       \
            }                                                                                          \
        }                                                                                              \
    }
QPACK_B_GATHER(qpack_b_gather2, int16_t, 2)
QPACK_B_GATHER(qpack_b_gather4, uint8_t, 4)
#undef QPACK_B_GATHER

/* the B panel of columns j0 .. j0+nj for the conv's kernels */
static void qpack_b(const qgemm_ctx_t *c, int64_t j0, int64_t nj, void *dst)
{
    int64_t off = direct_off(c, j0, nj);
    if (c->kind == QK_VNNI) {
        const uint8_t *x = c->xg;
#if defined(__x86_64__) || defined(__i386__)
        if (off >= 0) {
            vigil__nn_qpack_b4_rows_vnni(x + off, c->offs, c->K, dst);
            return;
        }
#endif
        qpack_b_gather4(c, x, j0, nj, (uint8_t)c->a->xzp, dst);
        return;
    }
    const int16_t *x = c->xg;
    if (off >= 0 && c->kind == QK_AVX2) vigil__nn_qpack_b_rows_avx2(x + off, c->offs, c->K, dst);
    else if (off >= 0) vigil__nn_qpack_b_rows_c(x + off, c->offs, c->K, dst);
    else qpack_b_gather2(c, x, j0, nj, 0, dst);
}

static void qgemm_panels(void *arg, int64_t p0, int64_t p1)
{
    qgemm_ctx_t *c = arg;
    const nn_qconv_args_t *a = c->a;
    int64_t kp = (c->K + 1) / 2, kq = (c->K + 3) / 4, npan = (c->Mg + NN_MR - 1) / NN_MR;
    void *b = NULL; /* kp pairs of s16 or kq quads of u8 a column: kp * 4 >= kq * 4 bytes */
    if (posix_memalign(&b, 64, sizeof(int16_t) * (size_t)(kp ? kp : 1) * NN_NR * 2 + 64)) {
        __atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED); /* read after the parallel-for */
        return;
    }
    int32_t acc[NN_MR * NN_NR];
    for (int64_t p = p0; p < p1; p++) {
        int64_t j0 = p * NN_NR, nj = c->ohw - j0 < NN_NR ? c->ohw - j0 : NN_NR;
        qpack_b(c, j0, nj, b);
        for (int64_t ib = 0; ib < npan; ib++) {
            if (c->kind == QK_VNNI) {
#if defined(__x86_64__) || defined(__i386__)
                vigil__nn_qukernel_vnni(kq, c->ap4 + ib * kq * NN_MR * 4, b, acc);
#endif
            } else {
                const int16_t *ap = c->ap + ib * kp * NN_MR * 2;
                if (c->kind == QK_AVX2) vigil__nn_qukernel_avx2(kp, ap, b, acc);
                else vigil__nn_qukernel_c(kp, ap, b, acc);
            }
            for (int r = 0; r < NN_MR && ib * NN_MR + r < c->Mg; r++) {
                int64_t mi = ib * NN_MR + r, m = c->m0 + mi;
                float s = a->xscale * a->wscale[m];
                float bias = a->bias ? a->bias[m] : 0, *y = c->yg + mi * c->ohw + j0;
                if (c->kind == QK_VNNI) {
                    /* VNNI summed q * w: minus zp * sum w gives sum (q - zp) * w */
                    int32_t corr = a->xzp * c->rowsum[mi];
#if defined(__x86_64__) || defined(__i386__)
                    if (vigil__nn_epilogue_vector(&a->epi)) {
                        vigil__nn_qepilogue_avx512(acc + r * NN_NR, corr, s, bias, &a->epi, y, nj);
                        continue;
                    }
#endif
                    for (int64_t j = 0; j < nj; j++) y[j] = (float)(acc[r * NN_NR + j] - corr) * s;
                } else {
                    for (int64_t j = 0; j < nj; j++) y[j] = (float)acc[r * NN_NR + j] * s;
                }
                vigil__nn_epilogue(y, nj, bias, &a->epi);
            }
        }
    }
    free(b);
}

/* ---- depthwise ------------------------------------------------------------------------ */

typedef struct qdw_ctx {
    const nn_qconv_args_t *a;
    int avx2;
    int failed;
} qdw_ctx_t;

static void qdw_planes(void *arg, int64_t c0, int64_t c1)
{
    qdw_ctx_t *c = arg;
    const nn_qconv_args_t *a = c->a;
    const nn_win_t *w = &a->w;
    nn_dw_geom_t gm = {w->H, w->W, w->OH, w->OW, w->kh, w->kw, w->sh, w->sw, w->dh, w->dw, w->pt, w->pl};
    size_t padn = c->avx2 ? vigil__nn_qdw_pad_len(&gm) : 0;
    int64_t ohw = w->OH * w->OW;
    int32_t *acc = malloc(sizeof(int32_t) * (size_t)ohw);
    int16_t *pad = padn ? malloc(sizeof(int16_t) * padn) : NULL;
    if (!acc || (padn && !pad)) {
        free(acc);
        free(pad);
        __atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    for (int64_t nc = c0; nc < c1; nc++) {
        int64_t ch = nc % a->M;
        const int16_t *x = a->xq + nc * w->H * w->W;
        const int8_t *k = a->wq + ch * w->kh * w->kw;
        if (pad) vigil__nn_qdw_plane_avx2(x, &gm, k, acc, pad);
        else vigil__nn_qdw_plane_c(x, &gm, k, acc);
        float *y = a->y + nc * ohw, s = a->xscale * a->wscale[ch];
        for (int64_t i = 0; i < ohw; i++) y[i] = (float)acc[i] * s;
        vigil__nn_epilogue(y, ohw, a->bias ? a->bias[ch] : 0, &a->epi);
    }
    free(acc);
    free(pad);
}

int vigil__nn_qconv(const nn_qconv_args_t *a, nn_pool_t *pool)
{
    const nn_win_t *w = &a->w;
    int avx2 = vigil__nn_qconv_avx2_active();
    int64_t Cg = w->C / a->group, Mg = a->M / a->group, hw = w->H * w->W, ohw = w->OH * w->OW;
    int64_t nx = (int64_t)vigil__nn_qconv_work_len(a);
    if (Cg == 1 && Mg == 1) {
        vigil__nn_quantize_s16(a->x, nx, 1.0f / a->xscale, a->xzp, a->xq);
        qdw_ctx_t c = {a, avx2, 0};
        vigil__nn_parallel_for(pool, w->N * a->M, 1, qdw_planes, &c);
        return c.failed ? -1 : 0;
    }
    int kind = vigil__nn_qconv_vnni_active() ? QK_VNNI : avx2 ? QK_AVX2 : QK_C;
    if (kind != QK_VNNI) vigil__nn_quantize_s16(a->x, nx, 1.0f / a->xscale, a->xzp, a->xq);
#if defined(__x86_64__) || defined(__i386__)
    else vigil__nn_quantize_u8_vnni(a->x, nx, 1.0f / a->xscale, a->xzp, (uint8_t *)(void *)a->xq);
#endif
    int64_t K = Cg * w->kh * w->kw;
    void *own = NULL;
    const void *packed = a->a_packed;
    if (!packed) {
        if (!(own = malloc(vigil__nn_qpack_weights_len(a->M, K, a->group)))) return -1;
        vigil__nn_qpack_weights(a->wq, a->M, K, a->group, own);
        packed = own;
    }
    qgemm_ctx_t c = {.a = a, .Mg = Mg, .K = K, .ohw = ohw, .kind = kind};
    int64_t *offs = malloc(sizeof(int64_t) * (size_t)K);
    if (offs) { /* row k = (ch, ki, kj) of a panel read in place */
        int64_t khw = w->kh * w->kw;
        for (int64_t k = 0; k < K; k++)
            offs[k] = k / khw * hw + k % khw / w->kw * w->dh * w->W + k % w->kw * w->dw;
        c.offs = offs;
        c.one_by_one = w->kh == 1 && w->kw == 1 && w->sh == 1 && w->sw == 1 && !w->pt && !w->pl && !w->pb && !w->pr;
    }
    int64_t npanels = (ohw + NN_NR - 1) / NN_NR;
    for (int64_t b = 0; b < w->N && !c.failed; b++)
        for (int64_t g = 0; g < a->group && !c.failed; g++) {
            int64_t x0 = (b * w->C + g * Cg) * hw;
            c.xg = kind == QK_VNNI ? (const void *)((const uint8_t *)(const void *)a->xq + x0) : (const void *)(a->xq + x0);
            packed_parts(packed, a->M, K, a->group, g, &c.ap, &c.ap4, &c.rowsum);
            c.yg = a->y + (b * a->M + g * Mg) * ohw;
            c.m0 = g * Mg;
            vigil__nn_parallel_for(pool, npanels, 1, qgemm_panels, &c);
        }
    free(own);
    free(offs);
    return c.failed ? -1 : 0;
}
