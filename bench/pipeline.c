/* bench/pipeline: the whole embedded pipeline on the sample video.
 *
 *  1. Throughput: vtest.avi once, sources unthrottled (ingest.realtime=false,
 *     every frame), from start until every frame went through every stage.
 *     Frames per second, and per-stage processing time (mean, p50, p99).
 *  2. Latency: vtest.avi at its native 10 fps for BENCH_SECONDS (default 30):
 *     capture-to-stored latency of frames (preprocess wrote the JPEG and its
 *     row) and of detections (sink committed them), p50 and p99.
 *
 *  3. For a vigil-nn detector (BENCH_MODEL=centernet, yolo): the engine alone
 *     in the same process after the pipeline stopped: the model's input
 *     tensor at batch 1 and at infer.batch_size, infer.threads threads (0:
 *     one per core, as the pipeline), median of BENCH_ENGINE_RUNS (default
 *     10) runs; and the ratio of the pipeline's inferred frames/s to it
 *     (issue 10 item 6). CPU seconds a frame (getrusage) for both: on a
 *     shared machine they say more than wall time.
 *
 * Prints figures; asserts nothing about time. Environment: VIGIL_MEDIA (the
 * media dir), BENCH_SECONDS (0 skips the latency run), BENCH_MODEL (default
 * motion), BENCH_ENGINE_RUNS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "infer/model_nn.h"

#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/metrics.h"
#include "vigil/pipeline.h"
#include "vigil/source.h"

static const char *const stages[] = {"ingest", "preprocess", "infer", "sink"};

static uint64_t stage_sum(const char *field, const char *stage)
{
    char family[64];
    snprintf(family, sizeof(family), "vigil_stage_%s_total", field);
    return vigil_metrics_sum(family, "stage", stage, NULL, NULL);
}

static int settled(void)
{
    uint64_t ing = stage_sum("out", "ingest");
    uint64_t pre = stage_sum("out", "preprocess") + stage_sum("dropped", "preprocess") +
                   stage_sum("failed", "preprocess");
    uint64_t inf = stage_sum("in", "infer"), inf_out = stage_sum("out", "infer");
    uint64_t snk = stage_sum("in", "sink");
    return ing > 0 && pre == ing && inf == stage_sum("out", "preprocess") &&
           inf_out + stage_sum("failed", "infer") == inf && snk == inf_out;
}

/* the last throughput run: frames inferred per second and CPU s a frame */
static double pipe_fps, pipe_cpu_per_frame;
static int pipe_threads, pipe_batch;

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The engine alone on the model's input at batch b: frames/s of the median run. */
static int engine_raw(const char *model, int threads, int b, int runs)
{
    char err[512];
    vigil__nnm_t *m = vigil__nnm_open(model, threads, err, sizeof err);
    if (!m) {
        fprintf(stderr, "bench: engine: %s\n", err);
        return -1;
    }
    vigil_nn_tensor_t in = m->in_info;
    if (!m->dynamic_batch && b > 1) { /* the pipeline runs such a model a frame at a time */
        printf("  (the model's batch is fixed at %lld: no batched run)\n", (long long)in.dims[0]);
        vigil__nnm_close(m);
        return 0;
    }
    in.dims[0] = b;
    for (int d = 1; d < in.ndim; d++)
        if (in.dims[d] < 0) in.dims[d] = d == 1 ? 3 : m->entry.height; /* not for fixed models */
    size_t n = (size_t)vigil_nn_tensor_numel(&in);
    float *x = malloc(n * sizeof *x);
    double *ms = malloc((size_t)runs * sizeof *ms);
    int rc = -1;
    if (!x || !ms) goto done;
    for (size_t i = 0; i < n; i++) x[i] = (float)(i % 251) / 251.0f;
    in.data = x;
    vigil_nn_tensor_t out;
    if (vigil__nnm_run(m, &in, &out, err, sizeof err)) goto fail; /* warm up: plan, arena */
    double c0 = cpu_s();
    for (int r = 0; r < runs; r++) {
        int64_t t0 = vigil_mono_us();
        if (vigil__nnm_run(m, &in, &out, err, sizeof err)) goto fail;
        ms[r] = (double)(vigil_mono_us() - t0) / 1e3;
    }
    double cpu = (cpu_s() - c0) / ((double)runs * b);
    qsort(ms, (size_t)runs, sizeof *ms, cmp_double);
    double fps = b * 1e3 / ms[runs / 2];
    printf("  engine alone, batch %d, %d threads: %.2f ms a run (median of %d) = %.1f frames/s, "
           "%.1f CPU ms a frame\n", b, threads, ms[runs / 2], runs, fps, cpu * 1e3);
    if (pipe_fps > 0)
        printf("    pipeline / engine: %.2f (frames/s), CPU a frame %.1f ms vs %.1f ms\n", pipe_fps / fps,
               pipe_cpu_per_frame * 1e3, cpu * 1e3);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "bench: engine: %s\n", err);
done:
    free(x);
    free(ms);
    vigil__nnm_close(m);
    return rc;
}

static int setup(vigil_config_t *cfg, const char *video, const char *dir, int realtime,
                 const char *model)
{
    char err[512];
    vigil_config_init(cfg);
    if (vigil_config_set(cfg, "store.data_dir", dir, "bench", err, sizeof(err)) ||
        vigil_config_set(cfg, "ingest.realtime", realtime ? "true" : "false", "bench", err,
                         sizeof(err)) ||
        vigil_config_set(cfg, "infer.model", model, "bench", err, sizeof(err)) ||
        vigil_config_set(cfg, "log.level", "warn", "bench", err, sizeof(err)) ||
        vigil_config_add_source(cfg, video, err, sizeof(err))) {
        fprintf(stderr, "bench: %s\n", err);
        return -1;
    }
    cfg->cameras[0].fps = 0;
    cfg->cameras[0].loop = !realtime ? 0 : 1;
    vigil_log_set_level(VIGIL_LOG_WARN);
    return 0;
}

static void print_stage_times(const char *camera)
{
    printf("  %-11s %10s %10s %10s %10s\n", "stage", "calls", "mean ms", "p50 ms", "p99 ms");
    for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
        /* the sink batches across cameras: its series has no camera label */
        int per_camera = strcmp(stages[i], "sink") != 0;
        vigil_histogram_t *h =
            vigil_metrics_histogram("vigil_stage_processing_seconds", NULL, "stage", stages[i],
                                    per_camera ? "camera" : NULL, per_camera ? camera : NULL);
        uint64_t n = vigil_histogram_count(h);
        printf("  %-11s %10llu %10.3f %10.3f %10.3f\n", stages[i], (unsigned long long)n,
               n ? vigil_histogram_sum(h) * 1e3 / (double)n : 0.0,
               vigil_histogram_quantile(h, 0.5) * 1e3, vigil_histogram_quantile(h, 0.99) * 1e3);
    }
}

static int run(const char *video, int realtime, double seconds, const char *model)
{
    char dir[] = "/tmp/vigil-bench-XXXXXX", err[512], cmd[600];
    vigil_config_t cfg;
    if (!mkdtemp(dir) || setup(&cfg, video, dir, realtime, model)) return -1;
    vigil_metrics_reset();
    vigil_pipeline_t *p = vigil_pipeline_new(&cfg, VIGIL_STAGE_ALL & ~VIGIL_STAGE_API, err,
                                             sizeof(err));
    if (!p || vigil_pipeline_start(p, err, sizeof(err))) {
        fprintf(stderr, "bench: %s\n", err);
        return -1;
    }
    int64_t t0 = vigil_mono_us(), t_end;
    double c0 = cpu_s();
    const char *cam = cfg.cameras[0].id;
    pipe_threads = cfg.infer_threads > 0 ? cfg.infer_threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    pipe_batch = cfg.infer_batch_size;
    if (!realtime) {
        while (!(vigil_pipeline_finished(p) && settled())) vigil_sleep_us(2000);
        t_end = vigil_mono_us();
        double s = (double)(t_end - t0) / 1e6;
        uint64_t frames = stage_sum("out", "ingest");
        printf("throughput (vtest.avi %dx%d, unthrottled, model %s):\n", 768, 576, model);
        printf("  frames %llu in %.2f s: %.1f frames/s end to end\n", (unsigned long long)frames,
               s, (double)frames / s);
        printf("  stored %llu, gated out %llu, detections messages %llu\n",
               (unsigned long long)stage_sum("out", "preprocess"),
               (unsigned long long)stage_sum("dropped", "preprocess"),
               (unsigned long long)stage_sum("in", "sink"));
        uint64_t inferred = stage_sum("out", "infer");
        pipe_fps = (double)inferred / s;
        pipe_cpu_per_frame = inferred ? (cpu_s() - c0) / (double)inferred : 0;
        printf("  inferred %llu: %.1f frames/s through the detector, %.1f CPU ms a frame (all stages)\n",
               (unsigned long long)inferred, pipe_fps, pipe_cpu_per_frame * 1e3);
        print_stage_times(cam);
    } else {
        while (vigil_mono_us() - t0 < (int64_t)(seconds * 1e6)) vigil_sleep_us(100000);
        printf("latency (vtest.avi at its native 10 fps for %.0f s, model %s):\n", seconds, model);
        const char *fams[][2] = {{"vigil_frame_capture_to_stored_seconds", "frame stored"},
                                 {"vigil_detection_capture_to_stored_seconds",
                                  "detections stored"}};
        for (int i = 0; i < 2; i++) {
            vigil_histogram_t *h = vigil_metrics_histogram(fams[i][0], NULL, i ? NULL : "camera",
                                                           i ? NULL : cam, NULL, NULL);
            printf("  capture -> %-18s n=%-6llu p50 %8.2f ms   p99 %8.2f ms\n", fams[i][1],
                   (unsigned long long)vigil_histogram_count(h),
                   vigil_histogram_quantile(h, 0.5) * 1e3,
                   vigil_histogram_quantile(h, 0.99) * 1e3);
        }
        print_stage_times(cam);
    }
    vigil_pipeline_stop(p, 30000);
    vigil_pipeline_free(p);
    vigil_config_release(&cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "bench: cannot remove %s\n", dir);
    return 0;
}

int main(void)
{
    char err[512];
    char *video = vigil_source_resolve("sample", err, sizeof(err));
    if (!video) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    const char *secs = getenv("BENCH_SECONDS");
    const char *model = getenv("BENCH_MODEL") ? getenv("BENCH_MODEL") : "motion";
    printf("bench/pipeline: %ld cores\n", sysconf(_SC_NPROCESSORS_ONLN));
    double seconds = secs ? atof(secs) : 30;
    int rc = run(video, 0, 0, model) || (seconds > 0 && run(video, 1, seconds, model));
    if (!rc && strcmp(model, "motion") != 0) {
        const char *r = getenv("BENCH_ENGINE_RUNS");
        int runs = r && atoi(r) > 0 ? atoi(r) : 10;
        printf("engine (model %s, the same process, the pipeline stopped):\n", model);
        rc = engine_raw(model, pipe_threads, 1, runs) ||
             (pipe_batch > 1 && engine_raw(model, pipe_threads, pipe_batch, runs));
    }
    free(video);
    return rc ? 1 : 0;
}
