/* bench_nn: latency and memory of one vigil-nn model at one thread count.
 *
 * usage: bench_nn MODEL SHAPE THREADS [RUNS]   (SHAPE like 1x3x640x640)
 *
 * Loads MODEL (ONNX or TF.js model.json), runs it once to plan and warm up,
 * then RUNS times (default 20) on a fixed pseudo-random input, and prints one
 * line that bench/nn.sh collects:
 *   vigil MODEL SHAPE threads T runs R median_ms M min_ms m arena_mib A maxrss_mib S
 * max RSS is the whole process's peak (getrusage), so run one configuration
 * per process. Numbers are printed, never asserted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "vigil/nn.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_nn MODEL SHAPE THREADS [RUNS]\n");
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
    double *ms = malloc(sizeof(double) * (size_t)runs);
    char err[512] = "";
    vigil_nn_model_t *m = NULL;
    vigil_nn_session_t *s = NULL;
    if (!x || !ms || n <= 0) {
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
    if (!m) {
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
        double t0 = now_ms();
        if (vigil_nn_run(s, &in, 1, out, nout, err, sizeof err)) {
            fprintf(stderr, "bench_nn: %s\n", err);
            goto done;
        }
        if (i >= 0) ms[i] = now_ms() - t0;
    }
    qsort(ms, (size_t)runs, sizeof *ms, cmp_double);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const char *base = strrchr(path, '/');
    printf("vigil %s %s threads %d runs %d median_ms %.2f min_ms %.2f arena_mib %.1f maxrss_mib %.1f\n",
           base ? base + 1 : path, argv[2], threads, runs, ms[runs / 2], ms[0],
           vigil_nn_session_arena_bytes(s) / 1048576.0, ru.ru_maxrss / 1024.0);
    rc = 0;
done:
    vigil_nn_session_free(s);
    vigil_nn_model_free(m);
    free(x);
    free(ms);
    return rc;
}
