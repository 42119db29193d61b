/* bench_nn: latency and memory of one vigil-nn model at one thread count.
 *
 * usage: bench_nn MODEL SHAPE THREADS [RUNS [NAME-int8.vq]]   (SHAPE like 1x3x640x640;
 *                                           the .vq: `vigil models quantize`'s INT8 layers)
 *        bench_nn --peak THREADS
 *
 * Loads MODEL (ONNX or TF.js model.json), runs it once to plan and warm up,
 * then RUNS times (default 20) on a fixed pseudo-random input, and prints one
 * line that bench/nn.sh collects:
 *   vigil MODEL SHAPE threads T runs R median_ms M min_ms m arena_mib A maxrss_mib S
 *         gmac G gflops F tier K cpu_ms C
 * (G: multiply-accumulates a run counted from the graph, nn/macs.h; F:
 * 2 G / median; K: the kernel tier, vigil_nn_isa(); C: the median of the
 * process's CPU time a run, which on a busy machine still says what a run
 * costs at 1 thread, where the wall time also counts waiting for a core). max RSS is the whole
 * process's peak (getrusage), so run one configuration per process.
 *
 * --peak: the cores' fp32 peak measured by an FMA throughput loop (12
 * independent accumulators per thread, enough to cover the FMA latency on
 * two FMA pipes), AVX2 and, where the CPU has it, AVX-512, THREADS threads
 * at once, best of 20 repetitions of 24 M FMAs a thread (~4 ms: short enough
 * that some run is not preempted on a busy machine):
 *   peak threads T avx2_gflops X [avx512_gflops Y] [vnni_gops Z]
 * (Z: the INT8 peak, a vpdpbusd loop on zmm: 2 x 64 u8 x s8 multiply-adds an
 * instruction, as giga-operations a second)
 * Numbers are printed, never asserted. */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "nn/macs.h"
#include "nn/model.h"
#include "vigil/nn.h"
#include "vigil/nn_quant.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The kernel tier vigil-nn runs (src/nn/cpu/isa.c: the best this CPU and
 * build have, or VIGIL_NN_ISA's) */
static const char *kernel_tier(void)
{
    return vigil_nn_isa_name(vigil_nn_isa());
}

/* MACs of one run at the input shape, from a plan of the optimised graph */
static double model_gmac(const vigil_nn_model_t *m, const vigil_nn_tensor_t *in)
{
    nn_plan_t p;
    vigil_nn_tensor_t shape = *in;
    shape.data = NULL;
    if (m->g.ninputs != 1 || vigil__nn_plan_build(&p, &m->g, &shape, 0, 0, NULL, 0)) return 0;
    double g = (double)vigil__nn_plan_macs(&m->g, &p) / 1e9;
    vigil__nn_plan_release(&p);
    return g;
}

/* ---- FMA peak ------------------------------------------------------------------------- */

#define PEAK_ITERS 2000000L

__attribute__((target("avx2,fma"))) static float fma_loop_avx2(long iters)
{
    __m256 a[12], m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int k = 0; k < 12; k++) a[k] = _mm256_set1_ps((float)k);
    for (long i = 0; i < iters; i++)
        for (int k = 0; k < 12; k++) a[k] = _mm256_fmadd_ps(a[k], m, c);
    for (int k = 1; k < 12; k++) a[0] = _mm256_add_ps(a[0], a[k]);
    return _mm256_cvtss_f32(a[0]);
}

__attribute__((target("avx512f"))) static float fma_loop_avx512(long iters)
{
    __m512 a[12], m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int k = 0; k < 12; k++) a[k] = _mm512_set1_ps((float)k);
    for (long i = 0; i < iters; i++)
        for (int k = 0; k < 12; k++) a[k] = _mm512_fmadd_ps(a[k], m, c);
    for (int k = 1; k < 12; k++) a[0] = _mm512_add_ps(a[0], a[k]);
    return _mm512_reduce_add_ps(a[0]);
}

/* the INT8 peak: vpdpbusd on zmm (AVX-512 VNNI), 64 u8 x s8 multiply-adds an instruction */
__attribute__((target("avx512f,avx512vnni"))) static float vnni_loop(long iters)
{
    __m512i a[12], u = _mm512_set1_epi8(3), w = _mm512_set1_epi8(-2);
    for (int k = 0; k < 12; k++) a[k] = _mm512_set1_epi32(k);
    for (long i = 0; i < iters; i++)
        for (int k = 0; k < 12; k++) a[k] = _mm512_dpbusd_epi32(a[k], u, w);
    for (int k = 1; k < 12; k++) a[0] = _mm512_add_epi32(a[0], a[k]);
    return (float)_mm512_reduce_add_epi32(a[0]);
}

typedef struct peak_job {
    int wide; /* 0 AVX2, 1 AVX-512, 2 AVX-512 VNNI */
    long iters;
    volatile float sink;
} peak_job_t;

static void *peak_thread(void *arg)
{
    peak_job_t *j = arg;
    j->sink = j->wide == 2 ? vnni_loop(j->iters) : j->wide ? fma_loop_avx512(j->iters) : fma_loop_avx2(j->iters);
    return NULL;
}

/* GFLOP/s of threads threads running the loop at once, best of 20 */
static double peak_gflops(int threads, int wide)
{
    double best = 0;
    peak_job_t jobs[64];
    pthread_t th[64];
    if (threads > 64) threads = 64;
    for (int rep = 0; rep < 20; rep++) {
        double t0 = now_ms();
        for (int t = 0; t < threads; t++) {
            jobs[t] = (peak_job_t){.wide = wide, .iters = PEAK_ITERS};
            pthread_create(&th[t], NULL, peak_thread, &jobs[t]);
        }
        for (int t = 0; t < threads; t++) pthread_join(th[t], NULL);
        double ms = now_ms() - t0;
        double flops = (double)threads * PEAK_ITERS * 12 * (wide == 2 ? 64 : wide ? 16 : 8) * 2;
        if (ms > 0 && flops / (ms * 1e6) > best) best = flops / (ms * 1e6);
    }
    return best;
}

static int peak_main(int threads)
{
    __builtin_cpu_init();
    if (threads < 1 || !__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        fprintf(stderr, "bench_nn --peak: needs threads >= 1 and an AVX2+FMA CPU\n");
        return 2;
    }
    printf("peak threads %d avx2_gflops %.1f", threads, peak_gflops(threads, 0));
    if (__builtin_cpu_supports("avx512f")) printf(" avx512_gflops %.1f", peak_gflops(threads, 1));
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni"))
        printf(" vnni_gops %.1f", peak_gflops(threads, 2));
    printf("\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--peak")) return peak_main(atoi(argv[2]));
    if (argc < 4) {
        fprintf(stderr, "usage: bench_nn MODEL SHAPE THREADS [RUNS [NAME-int8.vq]]\n       bench_nn --peak THREADS\n");
        return 2;
    }
    const char *path = argv[1];
    int threads = atoi(argv[3]), runs = argc > 4 ? atoi(argv[4]) : 20, rc = 1;
    if (threads < 1 || runs < 1) {
        fprintf(stderr, "bench_nn: bad threads %s or runs %s\n", argv[3], argc > 4 ? argv[4] : "20");
        return 2;
    }
    vigil_nn_tensor_t in = {.dtype = VIGIL_NN_FLOAT32};
    char *shape = strdup(argv[2]), *save = NULL;
    for (char *tok = strtok_r(shape, "x,", &save); tok && in.ndim < VIGIL_NN_MAX_DIMS;
         tok = strtok_r(NULL, "x,", &save))
        in.dims[in.ndim++] = atoll(tok);
    free(shape);
    int64_t n = vigil_nn_tensor_numel(&in);
    float *x = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    double *ms = malloc(sizeof(double) * (size_t)runs), *cms = malloc(sizeof(double) * (size_t)runs);
    char err[512] = "";
    vigil_nn_model_t *m = NULL;
    vigil_nn_session_t *s = NULL;
    if (!x || !ms || !cms || n <= 0) {
        fprintf(stderr, "bench_nn: bad shape %s\n", argv[2]);
        goto done;
    }
    uint32_t r = 12345;
    for (int64_t i = 0; i < n; i++) {
        r = r * 1664525u + 1013904223u;
        x[i] = (float)(r >> 8) / (1 << 24) * 2 - 1;
    }
    in.data = x;
    m = vigil_nn_model_load(path, NULL, err, sizeof err);
    if (!m || (argc > 5 && vigil_nn_model_apply_quant(m, argv[5], err, sizeof err))) {
        fprintf(stderr, "bench_nn: %s\n", err);
        goto done;
    }
    vigil_nn_session_opts_t so;
    vigil_nn_session_opts_init(&so);
    so.threads = threads;
    s = vigil_nn_session_new(m, &so, err, sizeof err);
    if (!s) {
        fprintf(stderr, "bench_nn: %s\n", err);
        goto done;
    }
    size_t nout = vigil_nn_model_noutputs(m);
    vigil_nn_tensor_t out[8];
    if (nout > 8) nout = 8;
    for (int i = -1; i < runs; i++) { /* run -1: plan + warm-up, not counted */
        double t0 = now_ms(), c0 = cpu_ms();
        if (vigil_nn_run(s, &in, 1, out, nout, err, sizeof err)) {
            fprintf(stderr, "bench_nn: %s\n", err);
            goto done;
        }
        if (i >= 0) {
            ms[i] = now_ms() - t0;
            cms[i] = cpu_ms() - c0;
        }
    }
    qsort(ms, (size_t)runs, sizeof *ms, cmp_double);
    qsort(cms, (size_t)runs, sizeof *cms, cmp_double);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const char *base = strrchr(path, '/');
    double gmac = model_gmac(m, &in);
    printf("vigil %s %s threads %d runs %d median_ms %.2f min_ms %.2f arena_mib %.1f maxrss_mib %.1f "
           "gmac %.3f gflops %.1f tier %s cpu_ms %.2f\n",
           base ? base + 1 : path, argv[2], threads, runs, ms[runs / 2], ms[0],
           vigil_nn_session_arena_bytes(s) / 1048576.0, ru.ru_maxrss / 1024.0, gmac,
           ms[runs / 2] > 0 ? 2 * gmac / (ms[runs / 2] / 1e3) : 0.0, kernel_tier(), cms[runs / 2]);
    rc = 0;
done:
    vigil_nn_session_free(s);
    vigil_nn_model_free(m);
    free(x);
    free(ms);
    free(cms);
    return rc;
}
