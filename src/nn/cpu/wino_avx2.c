/* Winograd F(2x2, 3x3) convolution for 3x3 stride-1 dilation-1 convs
 * without groups (compiled with -mavx2 -mfma; ops_conv.c calls it only when
 * the CPU has both).
 *
 * Main idea (Lavin & Gray 2015): each 2x2 output tile is A^T [U . V] A with
 * U = G g G^T (the 3x3 filter as 4x4) and V = B^T d B (the tile's 4x4 input
 * patch), so the 36 multiplies per tile and channel pair become 16, summed
 * over input channels as 16 independent GEMMs [M x C] x [C x tiles]. The
 * work goes by rows of output tiles: a tile row's input is transformed 8
 * tiles per vector (stride-2 deinterleaved loads of a zero-padded copy of
 * the 4 input rows) straight into the 6x16 micro-kernel's packed-B layout,
 * U is packed once per call in the packed-A layout, and the output
 * transform writes the two output rows, then the usual epilogue (bias,
 * activation, affine) runs on them. Per tile row and thread the work
 * buffers (V, the 16 GEMM results) are ~0.6 MB for 96 channels x 80 tiles.
 *
 * Measured on PP-OCRv4 det (24x96 3x3 convs at 160x160, 1 thread): 13.6 ->
 * see docs/nn.md. Rounding differs from the direct sum (~1e-6 relative),
 * so it is used for ONNX-style models only through the size rule in
 * ops_conv.c (TF.js's CenterNet has no eligible conv). */
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/kernels.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

typedef struct wino_ctx {
    const nn_wino_args_t *a;
    const float *u; /* [16][Mp/6][C][6] */
    int64_t tW, tWp, Mp, pw; /* tiles per row, rounded to 16; padded M; padded row width */
    /* the tier's GEMM micro-kernel (avx512: the same packing and bits) */
    void (*uk)(int64_t, const float *, const float *, float *, int64_t, int);
} wino_ctx_t;

/* U = G g G^T for every (m, c), packed as 16 A operands of [Mp x C] */
static void transform_weights(const nn_wino_args_t *a, int64_t Mp, float *u)
{
    int64_t C = a->C, np = Mp / NN_MR;
    memset(u, 0, sizeof(float) * (size_t)(16 * Mp * C));
    for (int64_t m = 0; m < a->M; m++)
        for (int64_t c = 0; c < C; c++) {
            const float *g = a->w + (m * C + c) * 9;
            float t[4][3], r[4][4];
            for (int j = 0; j < 3; j++) { /* G g: rows */
                t[0][j] = g[j];
                t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
                t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
                t[3][j] = g[6 + j];
            }
            for (int i = 0; i < 4; i++) { /* (G g) G^T: columns */
                r[i][0] = t[i][0];
                r[i][1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
                r[i][2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
                r[i][3] = t[i][2];
            }
            int64_t p = m / NN_MR, rr = m % NN_MR;
            for (int i = 0; i < 16; i++) u[((i * np + p) * C + c) * NN_MR + rr] = r[i / 4][i % 4];
        }
}

/* 8 tiles' column j0 and j0+1 from a padded row: even/odd deinterleave */
static inline void cols2(const float *p, __m256 *ev, __m256 *od)
{
    __m256 lo = _mm256_loadu_ps(p), hi = _mm256_loadu_ps(p + 8);
    __m256 e = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    __m256 o = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
    *ev = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0)));
    *od = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* one tile row th: input transform -> 16 GEMMs -> output transform */
static void tile_row(const wino_ctx_t *w, int64_t th, float *rows, float *v, float *mo)
{
    const nn_wino_args_t *a = w->a;
    int64_t C = a->C, np = w->Mp / NN_MR, nq = w->tWp / NN_NR;
    /* tile groups t0..t0+7 read padded columns 2 t0 .. 2 t0 + 17: inside
     * the input row they are read in place, else from a zero-padded copy */
    int64_t tlo = (a->pl + 1) / 2; /* 2 t0 >= pl */
    for (int64_t c = 0; c < C; c++) {
        const float *xc = a->x + c * a->H * a->W, *src[4];
        int copied = 0;
        for (int r = 0; r < 4; r++) {
            int64_t ih = 2 * th - a->pt + r;
            src[r] = ih >= 0 && ih < a->H ? xc + ih * a->W : NULL;
        }
        for (int64_t t0 = 0; t0 < w->tWp; t0 += 8) {
            __m256 d[4][4];
            int inside = t0 >= tlo && 2 * t0 + 17 - a->pl < a->W;
            if (!inside && !copied) { /* the 4 input rows, zero-padded */
                for (int r = 0; r < 4; r++) {
                    float *dr = rows + r * w->pw;
                    memset(dr, 0, sizeof(float) * (size_t)w->pw);
                    if (src[r]) memcpy(dr + a->pl, src[r], sizeof(float) * (size_t)a->W);
                }
                copied = 1;
            }
            for (int r = 0; r < 4; r++) {
                const float *p;
                if (!src[r]) {
                    d[r][0] = d[r][1] = d[r][2] = d[r][3] = _mm256_setzero_ps();
                    continue;
                }
                p = inside ? src[r] + (2 * t0 - a->pl) : rows + r * w->pw + 2 * t0;
                cols2(p, &d[r][0], &d[r][1]);
                cols2(p + 2, &d[r][2], &d[r][3]);
            }
            __m256 t[4][4];
            for (int r = 0; r < 4; r++) { /* d B */
                t[r][0] = _mm256_sub_ps(d[r][0], d[r][2]);
                t[r][1] = _mm256_add_ps(d[r][1], d[r][2]);
                t[r][2] = _mm256_sub_ps(d[r][2], d[r][1]);
                t[r][3] = _mm256_sub_ps(d[r][1], d[r][3]);
            }
            /* B^T (d B) into V[i][panel][c][16] */
            float *vp = v + ((t0 / NN_NR) * C + c) * NN_NR + t0 % NN_NR;
            int64_t istride = nq * C * NN_NR;
            for (int j = 0; j < 4; j++) {
                _mm256_storeu_ps(vp + (0 * 4 + j) * istride, _mm256_sub_ps(t[0][j], t[2][j]));
                _mm256_storeu_ps(vp + (1 * 4 + j) * istride, _mm256_add_ps(t[1][j], t[2][j]));
                _mm256_storeu_ps(vp + (2 * 4 + j) * istride, _mm256_sub_ps(t[2][j], t[1][j]));
                _mm256_storeu_ps(vp + (3 * 4 + j) * istride, _mm256_sub_ps(t[1][j], t[3][j]));
            }
        }
    }
    /* 16 GEMMs: mo[i][Mp][tWp] = U[i] [Mp x C] * V[i] [C x tWp] */
    for (int i = 0; i < 16; i++)
        for (int64_t q = 0; q < nq; q++)
            for (int64_t p = 0; p < np; p++)
                w->uk(C, w->u + (i * np + p) * C * NN_MR,
                                       v + (i * nq + q) * C * NN_NR,
                                       mo + (i * w->Mp + p * NN_MR) * w->tWp + q * NN_NR, w->tWp, 0);
    /* output transform: Y = A^T m A, two output rows per tile row */
    int64_t oh0 = 2 * th, nrows = a->OH - oh0 < 2 ? a->OH - oh0 : 2;
    int64_t plane = w->Mp * w->tWp;
    for (int64_t m = 0; m < a->M; m++) {
        float *y0 = a->y + (m * a->OH + oh0) * a->OW, *y1 = y0 + a->OW;
        const float *mm = mo + m * w->tWp;
        for (int64_t t0 = 0; t0 < w->tW; t0 += 8) {
            __m256 s[4][2];
            for (int r = 0; r < 4; r++) {
                __m256 m0 = _mm256_loadu_ps(mm + (r * 4 + 0) * plane + t0);
                __m256 m1 = _mm256_loadu_ps(mm + (r * 4 + 1) * plane + t0);
                __m256 m2 = _mm256_loadu_ps(mm + (r * 4 + 2) * plane + t0);
                __m256 m3 = _mm256_loadu_ps(mm + (r * 4 + 3) * plane + t0);
                s[r][0] = _mm256_add_ps(_mm256_add_ps(m0, m1), m2);
                s[r][1] = _mm256_sub_ps(_mm256_sub_ps(m1, m2), m3);
            }
            __m256 r00 = _mm256_add_ps(_mm256_add_ps(s[0][0], s[1][0]), s[2][0]);
            __m256 r01 = _mm256_add_ps(_mm256_add_ps(s[0][1], s[1][1]), s[2][1]);
            __m256 r10 = _mm256_sub_ps(_mm256_sub_ps(s[1][0], s[2][0]), s[3][0]);
            __m256 r11 = _mm256_sub_ps(_mm256_sub_ps(s[1][1], s[2][1]), s[3][1]);
            /* interleave (col 2t, col 2t+1) into 16 consecutive outputs */
            float row0[16], row1[16];
            __m256 lo = _mm256_unpacklo_ps(r00, r01), hi = _mm256_unpackhi_ps(r00, r01);
            _mm256_storeu_ps(row0, _mm256_permute2f128_ps(lo, hi, 0x20));
            _mm256_storeu_ps(row0 + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
            lo = _mm256_unpacklo_ps(r10, r11), hi = _mm256_unpackhi_ps(r10, r11);
            _mm256_storeu_ps(row1, _mm256_permute2f128_ps(lo, hi, 0x20));
            _mm256_storeu_ps(row1 + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
            int64_t ow0 = 2 * t0, n = a->OW - ow0 < 16 ? a->OW - ow0 : 16;
            memcpy(y0 + ow0, row0, sizeof(float) * (size_t)n);
            if (nrows > 1) memcpy(y1 + ow0, row1, sizeof(float) * (size_t)n);
        }
        for (int64_t r = 0; r < nrows; r++)
            vigil__nn_epilogue(y0 + r * a->OW, a->OW, a->bias ? a->bias[m] : 0, a->epi);
    }
}

static void tile_rows(void *arg, int64_t r0, int64_t r1)
{
    const wino_ctx_t *w = arg;
    const nn_wino_args_t *a = w->a;
    size_t nrows = (size_t)(4 * w->pw), nv = (size_t)(16 * a->C * w->tWp),
           nm = (size_t)(16 * w->Mp * w->tWp);
    float *buf = malloc(sizeof(float) * (nrows + nv + nm));
    if (!buf) return; /* caller checked a probe allocation; see vigil__nn_wino_conv */
    for (int64_t th = r0; th < r1; th++) tile_row(w, th, buf, buf + nrows, buf + nrows + nv);
    free(buf);
}

int vigil__nn_wino_conv(const nn_wino_args_t *a, nn_pool_t *pool)
{
    wino_ctx_t w = {.a = a, .uk = vigil__nn_have_avx512() ? vigil__nn_ukernel_avx512 : vigil__nn_ukernel_avx2};
    w.tW = (a->OW + 1) / 2;
    w.tWp = (w.tW + NN_NR - 1) / NN_NR * NN_NR;
    w.Mp = (a->M + NN_MR - 1) / NN_MR * NN_MR;
    w.pw = 2 * w.tWp + 2 + 16; /* columns 2t..2t+3 of every padded tile, + the 16-float loads */
    if (w.pw < a->pl + a->W) w.pw = a->pl + a->W;
    int64_t tH = (a->OH + 1) / 2;
    size_t per = sizeof(float) * (size_t)(4 * w.pw + 16 * a->C * w.tWp + 16 * w.Mp * w.tWp);
    float *u = malloc(sizeof(float) * (size_t)(16 * w.Mp * a->C));
    void *probe = malloc(per); /* the workers' buffers must be available */
    if (!u || !probe) {
        free(u);
        free(probe);
        return -1;
    }
    free(probe);
    transform_weights(a, w.Mp, u);
    w.u = u;
    /* one chunk of tile rows per thread: each allocates its buffers once */
    int threads = vigil__nn_pool_threads(pool);
    vigil__nn_parallel_for(pool, tH, (tH + threads - 1) / threads, tile_rows, &w);
    free(u);
    return 0;
}
#else
int vigil__nn_wino_conv(const nn_wino_args_t *a, nn_pool_t *pool)
{
    (void)a;
    (void)pool;
    return -1;
}
#endif
