/* Single-precision GEMM for vigil-nn: packed panels + a 6x16 micro-kernel.
 *
 * Main idea (Goto/BLIS): N is cut in blocks of NC columns and K in blocks of
 * KC; for each block A is packed into 6-row panels (all of M: the weights of
 * a conv, kept in L2) and B into 16-column panels, so the micro-kernel
 * streams both contiguously from cache. A task is a group of column panels
 * (and, when N is too narrow to feed the threads, a range of row panels):
 * it packs its own B panels right before using them (hot in L1/L2), then
 * runs every row panel against each B panel. The caller may pack B itself
 * (conv: im2col straight into panels, no im2col buffer) and may ask for an
 * epilogue on each finished row segment (bias, activation) while it is hot.
 * The micro-kernel is AVX2/FMA (gemm_avx2.c) when the kernel tier
 * (nn/cpu/isa.c) is avx2 or above, else the portable C one here. */
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/isa.h"
#include "nn/cpu/kernels.h"

#define KC 256
#define NC 2048
#define NGROUP 4 /* column panels per task */
#define MIN_TASKS_PER_THREAD 4
/* local blocks: a single-K-block GEMM with an epilogue and at most
 * LOCAL_ROWS rows per task computes its rows x 64 columns into a block on
 * the stack (L1), runs the epilogue there and writes C once, streaming
 * (non-temporal) when C is much larger than the caches. Small-K convs with
 * few channels (PP-OCRv4 det's first convs: K 16-27, 6-13 MB of output)
 * were bound by C's traffic: write-allocate, the epilogue's second pass,
 * and partial 6-row panels through a scalar copy. */
#define LOCAL_ROWS 96
#define LOCAL_COLS (NGROUP * NN_NR)
#define STREAM_MIN_BYTES (4 << 20)

static int force_portable;
/* the AVX2 kernels run when the tier in use (nn/cpu/isa.c, the one
 * dispatch point: CPU, build, VIGIL_NN_ISA) is avx2 or above */
int vigil__nn_have_avx2(void)
{
    return vigil__nn_isa() >= VIGIL_NN_ISA_AVX2;
}

int vigil__nn_have_avx512(void)
{
    return vigil__nn_isa() >= VIGIL_NN_ISA_AVX512;
}

/* each tier's micro-kernels (outside x86 only the portable ones are built) */
static const struct {
    void (*uk)(int64_t, const float *, const float *, float *, int64_t, int);
    void (*uk_off)(int64_t, const float *, const float *, const int64_t *, float *, int64_t, int);
} ukernels[VIGIL_NN_ISA_COUNT] = {
    [VIGIL_NN_ISA_GENERIC] = {vigil__nn_ukernel_c, vigil__nn_ukernel_off_c},
#if defined(__x86_64__) || defined(__i386__)
    [VIGIL_NN_ISA_AVX2] = {vigil__nn_ukernel_avx2, vigil__nn_ukernel_off_avx2},
    [VIGIL_NN_ISA_AVX512] = {vigil__nn_ukernel_avx512, vigil__nn_ukernel_off_avx512},
#else
    [VIGIL_NN_ISA_AVX2] = {vigil__nn_ukernel_c, vigil__nn_ukernel_off_c},
    [VIGIL_NN_ISA_AVX512] = {vigil__nn_ukernel_c, vigil__nn_ukernel_off_c},
#endif
};

void vigil__nn_sgemm_force_portable(int on)
{
    force_portable = on;
}

/* The portable micro-kernels in GCC/Clang vector extensions (4 lanes: SSE2
 * on any x86-64, NEON on arm64, scalar code elsewhere): the same multiply
 * then add per element, in the same order over k, as a scalar loop (C17
 * without -ffp-contract, so no fused multiply-add), so the generic tier's
 * numbers do not depend on how well the compiler vectorised. */
typedef float nn_v4 __attribute__((vector_size(16)));

static inline nn_v4 v4_load(const float *p)
{
    nn_v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void v4_store(float *p, nn_v4 v)
{
    memcpy(p, &v, sizeof v);
}

#define UK_BODY(BROW)                                                                              \
    nn_v4 acc[NN_MR][NN_NR / 4];                                                                  \
    for (int r = 0; r < NN_MR; r++) /* accumulate: continue C's sum (one order over K) */         \
        for (int j = 0; j < NN_NR / 4; j++) acc[r][j] = accumulate ? v4_load(c + r * ldc + 4 * j) : (nn_v4){0, 0, 0, 0}; \
    for (int64_t k = 0; k < K; k++) {                                                             \
        const float *ak = a + k * NN_MR, *bk = (BROW);                                            \
        nn_v4 b0 = v4_load(bk), b1 = v4_load(bk + 4), b2 = v4_load(bk + 8), b3 = v4_load(bk + 12); \
        for (int r = 0; r < NN_MR; r++) {                                                         \
            nn_v4 av = {ak[r], ak[r], ak[r], ak[r]};                                              \
            acc[r][0] += av * b0;                                                                 \
            acc[r][1] += av * b1;                                                                 \
            acc[r][2] += av * b2;                                                                 \
            acc[r][3] += av * b3;                                                                 \
        }                                                                                         \
    }                                                                                             \
    for (int r = 0; r < NN_MR; r++)                                                               \
        for (int j = 0; j < NN_NR / 4; j++) v4_store(c + r * ldc + 4 * j, acc[r][j]);

void vigil__nn_ukernel_c(int64_t K, const float *a, const float *b, float *c, int64_t ldc,
                         int accumulate)
{
    UK_BODY(b + k * NN_NR)
}

void vigil__nn_ukernel_off_c(int64_t K, const float *a, const float *b, const int64_t *offs,
                             float *c, int64_t ldc, int accumulate)
{
    UK_BODY(b + offs[k])
}

static int env_on(const char *name)
{
    const char *v = getenv(name);
    return !(v && !strcmp(v, "0"));
}

/* VIGIL_NN_GEMM_LOCAL=0 / VIGIL_NN_STREAM=0 turn them off (for measurement) */
static int local_enabled(void)
{
    static int on = -1;
    if (on < 0) on = env_on("VIGIL_NN_GEMM_LOCAL");
    return on;
}

static int stream_enabled(void)
{
    static int on = -1;
    if (on < 0) on = env_on("VIGIL_NN_STREAM");
    return on;
}

typedef struct gemm_ctx {
    int trans_a, trans_b;
    int64_t M, N, K, lda, ldb, ldc;
    const float *A, *B;
    float *C;
    int64_t jc, nc, pc, kc;
    float *ap, *bp;
    const float *apk; /* pre-packed A (ext->a_packed) or NULL */
    const float *bpk; /* pre-packed B (ext->b_packed) or NULL */
    int64_t mpanels, npanels, ngroups, mblocks, mper;
    int accumulate, last, bpacked, local, stream;
    const nn_gemm_ext_t *ext;
    void (*uk)(int64_t, const float *, const float *, float *, int64_t, int);
    void (*uk_off)(int64_t, const float *, const float *, const int64_t *, float *, int64_t, int);
} gemm_ctx_t;

/* the in-place B of panel np, or NULL when it is packed */
static const float *direct_panel(const gemm_ctx_t *g, int64_t np)
{
    if (!g->ext || !g->ext->direct_b || g->bpk) return NULL;
    int64_t j0 = g->jc + np * NN_NR, nj = g->N - j0 < NN_NR ? g->N - j0 : NN_NR;
    return nj == NN_NR ? g->ext->direct_b(g->ext->ctx, j0, nj) : NULL;
}

/* the packed B of panel np for the current K block */
static const float *b_panel(const gemm_ctx_t *g, int64_t np)
{
    if (g->bpk) return g->bpk + ((g->jc / NN_NR + np) * g->K + g->pc) * NN_NR;
    return g->bp + np * g->kc * NN_NR;
}

static void pack_b_panel(const gemm_ctx_t *g, int64_t p)
{
    if (g->bpk || direct_panel(g, p)) return;
    float *dst = g->bp + p * g->kc * NN_NR;
    int64_t j0 = g->jc + p * NN_NR, nj = g->N - j0 < NN_NR ? g->N - j0 : NN_NR;
    if (g->ext && g->ext->pack_b) {
        g->ext->pack_b(g->ext->ctx, g->pc, g->kc, j0, nj, dst);
        return;
    }
    for (int64_t k = 0; k < g->kc; k++) {
        int64_t kk = g->pc + k;
        float *d = dst + k * NN_NR;
        if (!g->trans_b) {
            const float *s = g->B + kk * g->ldb + j0;
            if (nj == NN_NR) memcpy(d, s, sizeof(float) * NN_NR);
            else {
                for (int64_t j = 0; j < nj; j++) d[j] = s[j];
                for (int64_t j = nj; j < NN_NR; j++) d[j] = 0;
            }
        } else {
            for (int64_t j = 0; j < nj; j++) d[j] = g->B[(j0 + j) * g->ldb + kk];
            for (int64_t j = nj; j < NN_NR; j++) d[j] = 0;
        }
    }
}

static void pack_b(void *arg, int64_t p0, int64_t p1)
{
    for (int64_t p = p0; p < p1; p++) pack_b_panel(arg, p);
}

static void pack_a(void *arg, int64_t p0, int64_t p1)
{
    gemm_ctx_t *g = arg;
    for (int64_t p = p0; p < p1; p++) {
        float *dst = g->ap + p * g->kc * NN_MR;
        int64_t i0 = p * NN_MR, ni = g->M - i0 < NN_MR ? g->M - i0 : NN_MR;
        for (int64_t k = 0; k < g->kc; k++) {
            int64_t kk = g->pc + k;
            float *d = dst + k * NN_MR;
            for (int64_t i = 0; i < ni; i++)
                d[i] = g->trans_a ? g->A[kk * g->lda + i0 + i] : g->A[(i0 + i) * g->lda + kk];
            for (int64_t i = ni; i < NN_MR; i++) d[i] = 0;
        }
    }
}

static void tile(const gemm_ctx_t *g, int64_t mp, int64_t np, float *tmp)
{
    int64_t i0 = mp * NN_MR, ni = g->M - i0 < NN_MR ? g->M - i0 : NN_MR;
    int64_t j0 = g->jc + np * NN_NR, nj = g->N - j0 < NN_NR ? g->N - j0 : NN_NR;
    const float *a = g->apk ? g->apk + (mp * g->K + g->pc) * NN_MR : g->ap + mp * g->kc * NN_MR;
    const float *b = b_panel(g, np);
    const float *db = direct_panel(g, np);
    float *c = g->C + i0 * g->ldc + j0;
    if (ni == NN_MR && nj == NN_NR) {
        if (db) g->uk_off(g->kc, a, db, g->ext->b_offs + g->pc, c, g->ldc, g->accumulate);
        else g->uk(g->kc, a, b, c, g->ldc, g->accumulate);
    } else {
        /* a partial tile through tmp (rows past ni: finite leftovers, unused) */
        size_t row = sizeof(float) * (size_t)nj;
        if (g->accumulate)
            for (int64_t i = 0; i < ni; i++) memcpy(tmp + i * NN_NR, c + i * g->ldc, row);
        if (db) g->uk_off(g->kc, a, db, g->ext->b_offs + g->pc, tmp, NN_NR, g->accumulate);
        else g->uk(g->kc, a, b, tmp, NN_NR, g->accumulate);
        for (int64_t i = 0; i < ni; i++) memcpy(c + i * g->ldc, tmp + i * NN_NR, row);
    }
}

/* task t in local-block mode (see LOCAL_ROWS) */
static void compute_local(const gemm_ctx_t *g, int64_t t)
{
    float buf[LOCAL_ROWS * LOCAL_COLS] __attribute__((aligned(32)));
    int64_t grp = t / g->mblocks, mb = t % g->mblocks;
    int64_t np0 = grp * NGROUP, np1 = np0 + NGROUP < g->npanels ? np0 + NGROUP : g->npanels;
    int64_t mp0 = mb * g->mper, mp1 = mp0 + g->mper < g->mpanels ? mp0 + g->mper : g->mpanels;
    for (int64_t np = np0; np < np1; np++) {
        if (!g->bpacked) pack_b_panel(g, np);
        const float *b = b_panel(g, np), *db = direct_panel(g, np);
        for (int64_t mp = mp0; mp < mp1; mp++) {
            const float *a = g->apk ? g->apk + mp * g->K * NN_MR : g->ap + mp * g->kc * NN_MR;
            float *c = buf + (mp - mp0) * NN_MR * LOCAL_COLS + (np - np0) * NN_NR;
            if (db) g->uk_off(g->kc, a, db, g->ext->b_offs, c, LOCAL_COLS, 0);
            else g->uk(g->kc, a, b, c, LOCAL_COLS, 0);
        }
    }
    int64_t j0 = g->jc + np0 * NN_NR, j1 = g->jc + np1 * NN_NR;
    if (j1 > g->N) j1 = g->N;
    int64_t i1 = mp1 * NN_MR < g->M ? mp1 * NN_MR : g->M;
    if (g->ext->epi_block) {
        g->ext->epi_block(g->ext->ctx, mp0 * NN_MR, i1, j0, j1 - j0, buf, LOCAL_COLS);
        if (g->ext->epi_stores) return;
    }
    for (int64_t i = mp0 * NN_MR; i < i1 && !g->ext->epi_block; i++) {
        float *r = buf + (i - mp0 * NN_MR) * LOCAL_COLS;
        g->ext->epi(g->ext->ctx, i, j0, r, j1 - j0);
        if (!g->ext->epi_stores)
            vigil__nn_store_row(g->C + i * g->ldc + j0, r, j1 - j0, g->stream && vigil__nn_have_avx2() && !force_portable);
    }
}

static void compute(void *arg, int64_t t0, int64_t t1)
{
    gemm_ctx_t *g = arg;
    float tmp[NN_MR * NN_NR] = {0};
    if (g->local) {
        for (int64_t t = t0; t < t1; t++) compute_local(g, t);
        if (g->stream) vigil__nn_store_fence();
        return;
    }
    for (int64_t t = t0; t < t1; t++) {
        int64_t grp = t / g->mblocks, mb = t % g->mblocks;
        int64_t np0 = grp * NGROUP, np1 = np0 + NGROUP < g->npanels ? np0 + NGROUP : g->npanels;
        int64_t mp0 = mb * g->mper, mp1 = mp0 + g->mper < g->mpanels ? mp0 + g->mper : g->mpanels;
        for (int64_t np = np0; np < np1; np++) {
            if (!g->bpacked) pack_b_panel(g, np);
            for (int64_t mp = mp0; mp < mp1; mp++) tile(g, mp, np, tmp);
        }
        /* the epilogue once per row over the task's (up to 64) columns, not
         * per 16-column tile: 4x fewer calls (small-K convs were bound by
         * them), on data still in cache */
        if (g->last && g->ext && g->ext->epi) {
            int64_t j0 = g->jc + np0 * NN_NR, j1 = g->jc + np1 * NN_NR;
            if (j1 > g->N) j1 = g->N;
            int64_t i1 = mp1 * NN_MR < g->M ? mp1 * NN_MR : g->M;
            for (int64_t i = mp0 * NN_MR; i < i1; i++)
                g->ext->epi(g->ext->ctx, i, j0, g->C + i * g->ldc + j0, j1 - j0);
        }
    }
}

void vigil__nn_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, const float *A,
                     int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc,
                     int accumulate, nn_pool_t *pool)
{
    if (!vigil__nn_sgemm_ex(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, accumulate, NULL, pool)) return;
    /* out of memory for the panels: plain loops, slow but right */
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            float s = accumulate ? C[i * ldc + j] : 0;
            for (int64_t k = 0; k < K; k++)
                s += (trans_a ? A[k * lda + i] : A[i * lda + k]) * (trans_b ? B[j * ldb + k] : B[k * ldb + j]);
            C[i * ldc + j] = s;
        }
}

int vigil__nn_sgemm_ex(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, const float *A,
                        int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc,
                        int accumulate, const nn_gemm_ext_t *ext, nn_pool_t *pool)
{
    int rc = 0;
    if (M <= 0 || N <= 0) return 0;
    if (K <= 0) {
        for (int64_t i = 0; i < M; i++) {
            if (!accumulate) memset(C + i * ldc, 0, sizeof(float) * (size_t)N);
            if (ext && ext->epi) ext->epi(ext->ctx, i, 0, C + i * ldc, N);
        }
        return 0;
    }
    gemm_ctx_t g = {.trans_a = trans_a, .trans_b = trans_b, .M = M, .N = N, .K = K, .lda = lda,
                    .ldb = ldb, .ldc = ldc, .A = A, .B = B, .C = C, .ext = ext};
    vigil_nn_isa_t tier = force_portable ? VIGIL_NN_ISA_GENERIC : vigil__nn_isa();
    g.uk = ukernels[tier].uk;
    g.uk_off = ukernels[tier].uk_off;
    g.mpanels = (M + NN_MR - 1) / NN_MR;
    int64_t kcmax = K < KC ? K : KC, ncmax = N < NC ? N : NC;
    int threads = vigil__nn_pool_threads(pool);
    g.apk = ext ? ext->a_packed : NULL;
    g.bpk = ext ? ext->b_packed : NULL;
    g.ap = malloc(sizeof(float) * (size_t)(g.apk ? NN_MR : g.mpanels * NN_MR * kcmax));
    g.bp = malloc(sizeof(float) * (size_t)(g.bpk ? NN_NR : ((ncmax + NN_NR - 1) / NN_NR) * NN_NR * kcmax));
    if (!g.ap || !g.bp) {
        rc = -1;
        goto done;
    }
    for (g.jc = 0; g.jc < N; g.jc += NC) {
        g.nc = N - g.jc < NC ? N - g.jc : NC;
        g.npanels = (g.nc + NN_NR - 1) / NN_NR;
        g.ngroups = (g.npanels + NGROUP - 1) / NGROUP;
        /* narrow N: also split the row panels so that every thread has work */
        g.mblocks = 1;
        if (threads > 1 && g.ngroups < (int64_t)threads * MIN_TASKS_PER_THREAD) {
            g.mblocks = ((int64_t)threads * MIN_TASKS_PER_THREAD + g.ngroups - 1) / g.ngroups;
            if (g.mblocks > g.mpanels) g.mblocks = g.mpanels;
        }
        g.mper = (g.mpanels + g.mblocks - 1) / g.mblocks;
        g.mblocks = (g.mpanels + g.mper - 1) / g.mper;
        g.local = ext && ext->epi && K <= KC && !accumulate && g.mper * NN_MR <= LOCAL_ROWS && local_enabled();
        g.stream = g.local && M * N * (int64_t)sizeof(float) >= STREAM_MIN_BYTES && stream_enabled();
        for (g.pc = 0; g.pc < K; g.pc += KC) {
            g.kc = K - g.pc < KC ? K - g.pc : KC;
            g.accumulate = accumulate || g.pc > 0;
            g.last = g.pc + g.kc >= K;
            if (!g.apk) vigil__nn_parallel_for(pool, g.mpanels, 8, pack_a, &g);
            /* B panels shared by several row blocks are packed once, up front */
            g.bpacked = g.mblocks > 1 && !g.bpk;
            if (g.bpacked) vigil__nn_parallel_for(pool, g.npanels, 8, pack_b, &g);
            vigil__nn_parallel_for(pool, g.ngroups * g.mblocks, 1, compute, &g);
        }
    }
done:
    free(g.ap);
    free(g.bp);
    return rc;
}
