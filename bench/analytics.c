/* bench/analytics: time per frame of one camera's analyzer (tracking, zones,
 * lines, events, counts) at 5, 50 and 500 detections per frame.
 *
 * Synthetic input, the same on every run (xorshift with a fixed seed): a
 * 1920x1080 camera at 5 fps, N - N/10 objects (3 in 4 "person", 1 in 4
 * "car") that move at constant speed (30-60 px per frame, the motion 5 fps
 * gives), bounce off the borders and every 10-40 s leave and come back
 * elsewhere (births and deaths of tracks). Each frame has exactly N
 * detections: the objects' boxes jittered by up to 3 px with scores
 * 0.45-0.95, one object in 20 missed, and low-score (0.15-0.35) clutter
 * boxes filling up to N. 10 zones (quads on a grid, half of them with
 * loiter_seconds) and 10 lines (5 near-vertical, 5 near-horizontal) cover
 * the frame.
 *
 * Each size: 100 warm-up frames, then FRAMES frames each timed alone, in
 * REPEATS runs over fresh analyzers; per run the median and the 90th
 * percentile of the frame times, then the median of those over the runs.
 * One thread, the analyzer's plain C code ("scalar C": no SIMD kernel). The
 * issue's goal: under 0.2 ms per frame at 50 detections. Prints; never
 * asserts on time.
 *
 * The frame timer is clock_gettime(CLOCK_MONOTONIC) in nanoseconds rather
 * than vigil_mono_us: a 5-detection frame takes a few microseconds.
 *
 * Then the stage: frames per second of vigil_analytics_t on the in-process
 * bus with a SQLite warehouse in a temp dir (events, counts, track points
 * and checkpoints written as `vigil run` does), STAGE_CAMERAS cameras with
 * the same 10 zones and 10 lines, 50 detections per frame: the detection
 * messages are published as fast as the bus takes them (it blocks when the
 * stage falls behind) and the clock stops when the stage has taken all of
 * them (its "in" counter).
 *
 * Environment: BENCH_FRAMES (default 1000), BENCH_REPEATS (default 5),
 * BENCH_STAGE_FRAMES (per camera, default 300; 0 skips the stage). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vigil/analytics.h"
#include "vigil/bus.h"
#include "vigil/clock.h"
#include "vigil/config.h"
#include "vigil/log.h"
#include "vigil/metrics.h"
#include "vigil/msg.h"
#include "vigil/store.h"

#define W 1920
#define H 1080
#define FPS 5
#define NZONES 10
#define NLINES 10
#define WARMUP 100
#define STAGE_CAMERAS 4
#define STAGE_DETS 50

typedef struct object {
    float x, y, w, h, vx, vy;
    int label; /* 0 person, 1 car */
    int ttl;   /* frames before it leaves and comes back elsewhere */
} object_t;

static uint64_t rng_state;

static uint64_t rng(void)
{
    uint64_t x = rng_state; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 2685821657736338717ull;
}

static float uniform(float lo, float hi)
{
    return lo + (hi - lo) * (float)(rng() >> 40) / (float)(1u << 24);
}

static void spawn(object_t *o)
{
    o->label = (rng() & 3) == 0;
    o->w = o->label ? uniform(140, 260) : uniform(40, 80);
    o->h = o->label ? o->w * uniform(0.4f, 0.6f) : o->w * uniform(2.2f, 2.8f);
    o->x = uniform(0, W - o->w);
    o->y = uniform(0, H - o->h);
    float speed = uniform(30, 60), dir = uniform(0, 6.2831853f);
    o->vx = speed * cosf(dir);
    o->vy = speed * sinf(dir) * 0.5f;
    o->ttl = 50 + (int)(rng() % 150);
}

static void step(object_t *o)
{
    if (--o->ttl <= 0) {
        spawn(o);
        return;
    }
    o->x += o->vx;
    o->y += o->vy;
    if (o->x < 0 || o->x + o->w > W) {
        o->vx = -o->vx;
        o->x += 2 * o->vx;
    }
    if (o->y < 0 || o->y + o->h > H) {
        o->vy = -o->vy;
        o->y += 2 * o->vy;
    }
}

static void rules(vigil_zone_conf_t *zones, vigil_line_conf_t *lines)
{
    for (int i = 0; i < NZONES; i++) {
        vigil_zone_conf_t *z = &zones[i];
        vigil_zone_conf_init(z);
        snprintf(z->id, sizeof z->id, "zone%d", i);
        double x0 = (i % 5) * 0.2 + 0.02, y0 = (i / 5) * 0.5 + 0.05;
        vigil_point_t p[4] = {{x0, y0}, {x0 + 0.16, y0 + 0.02}, {x0 + 0.15, y0 + 0.4},
                              {x0 + 0.01, y0 + 0.38}};
        memcpy(z->polygon, p, sizeof p);
        z->npoints = 4;
        z->loiter_seconds = i < 5 ? 10 : 0;
        if (i % 2) {
            snprintf(z->labels[0], sizeof z->labels[0], "person");
            z->nlabels = 1;
        }
    }
    for (int i = 0; i < NLINES; i++) {
        vigil_line_conf_t *l = &lines[i];
        vigil_line_conf_init(l);
        snprintf(l->id, sizeof l->id, "line%d", i);
        double c = 0.1 + 0.8 * (i % 5) / 4.0;
        if (i < 5) {
            l->a = (vigil_point_t){c, 0.05};
            l->b = (vigil_point_t){c + 0.03, 0.95};
        } else {
            l->a = (vigil_point_t){0.05, c};
            l->b = (vigil_point_t){0.95, c - 0.02};
        }
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double quantile(double *v, size_t n, double q)
{
    qsort(v, n, sizeof *v, cmp_double);
    return v[(size_t)(q * (double)(n - 1) + 0.5)];
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef struct result {
    double median_ms, p90_ms, events_per_frame, tracks_alive;
} result_t;

/* One run over a fresh analyzer, nobjects detections per frame. Returns -1
 * if the analyzer cannot be made. */
static int run_once(int nobjects, int frames, uint64_t seed, const vigil_zone_conf_t *zones,
                    const vigil_line_conf_t *lines, result_t *res)
{
    static const char *const labels[] = {"person", "car"};
    char err[256];
    vigil_tracker_conf_t tc;
    vigil_tracker_conf_init(&tc);
    vigil_analyzer_t *a =
        vigil_analyzer_new("bench", &tc, zones, NZONES, lines, NLINES, err, sizeof err);
    if (!a) {
        fprintf(stderr, "bench_analytics: %s\n", err);
        return -1;
    }
    rng_state = seed;
    int ndets = nobjects;
    nobjects -= nobjects / 10;
    object_t *objs = calloc((size_t)nobjects, sizeof *objs);
    vigil_analytics_det_t *dets = calloc((size_t)ndets, sizeof *dets);
    double *times = calloc((size_t)frames, sizeof *times);
    if (!objs || !dets || !times) {
        fprintf(stderr, "bench_analytics: out of memory\n");
        exit(1);
    }
    for (int i = 0; i < nobjects; i++) spawn(&objs[i]);
    size_t events = 0, alive = 0;
    for (int f = 0; f < WARMUP + frames; f++) {
        size_t n = 0;
        for (int i = 0; i < nobjects; i++) {
            step(&objs[i]);
            if (rng() % 20 == 0) continue;
            object_t *o = &objs[i];
            dets[n++] = (vigil_analytics_det_t){
                .x1 = fmaxf(0, o->x + uniform(-3, 3)), .y1 = fmaxf(0, o->y + uniform(-3, 3)),
                .x2 = o->x + o->w + uniform(-3, 3), .y2 = o->y + o->h + uniform(-3, 3),
                .score = uniform(0.45f, 0.95f), .label = labels[o->label]};
        }
        while (n < (size_t)ndets) {
            float x = uniform(0, W - 60), y = uniform(0, H - 120);
            dets[n++] = (vigil_analytics_det_t){.x1 = x, .y1 = y, .x2 = x + 50, .y2 = y + 110,
                                                .score = uniform(0.15f, 0.35f),
                                                .label = labels[0]};
        }
        vigil_analytics_frame_t fr = {.sequence = (uint64_t)f + 1,
                                      .time_us = 1800000000000000LL + (int64_t)f * 1000000 / FPS,
                                      .frame_id = f + 1, .width = W, .height = H};
        vigil_analytics_out_t out;
        size_t rejected = 0;
        double t0 = now_ns();
        vigil_err_t e = vigil_analyzer_frame(a, &fr, dets, n, &out, &rejected);
        double t1 = now_ns();
        if (e != VIGIL_OK) {
            fprintf(stderr, "bench_analytics: frame %d: %s\n", f, vigil_err_str(e));
            exit(1);
        }
        if (f >= WARMUP) {
            times[f - WARMUP] = (t1 - t0) / 1e6;
            events += out.nevents;
            alive += out.ntracks;
        }
    }
    res->p90_ms = quantile(times, (size_t)frames, 0.9);
    res->median_ms = quantile(times, (size_t)frames, 0.5);
    res->events_per_frame = (double)events / frames;
    res->tracks_alive = (double)alive / frames;
    free(times);
    free(dets);
    free(objs);
    vigil_analyzer_free(a);
    return 0;
}

static void cpu_model(char *buf, size_t size)
{
    snprintf(buf, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *p = strchr(line, ':');
            if (p) {
                p += 1 + (p[1] == ' ');
                p[strcspn(p, "\n")] = '\0';
                snprintf(buf, size, "%s", p);
            }
            break;
        }
    }
    fclose(f);
}

static int env_int(const char *name, int def, int min)
{
    const char *v = getenv(name);
    int x = v ? atoi(v) : def;
    return x < min ? min : x;
}

/* ---- the stage ---------------------------------------------------------------- */

static int publish_detections(vigil_bus_t *bus, const char *camera, uint64_t seq, object_t *objs,
                              int nobjects)
{
    static const char *const labels[] = {"person", "car"};
    Vigil__V1__Detection items[STAGE_DETS], *ptrs[STAGE_DETS];
    Vigil__V1__Detections d = VIGIL__V1__DETECTIONS__INIT;
    size_t n = 0;
    for (int i = 0; i < nobjects && n < STAGE_DETS; i++) {
        object_t *o = &objs[i];
        step(o);
        vigil__v1__detection__init(&items[n]);
        items[n].x1 = fmaxf(0, o->x + uniform(-3, 3));
        items[n].y1 = fmaxf(0, o->y + uniform(-3, 3));
        items[n].x2 = o->x + o->w + uniform(-3, 3);
        items[n].y2 = o->y + o->h + uniform(-3, 3);
        items[n].score = uniform(0.45f, 0.95f);
        items[n].label = (char *)labels[o->label];
        ptrs[n] = &items[n];
        n++;
    }
    d.schema_version = VIGIL_SCHEMA_VERSION;
    d.camera_id = (char *)camera;
    d.sequence = seq;
    d.capture_time_us = 1800000000000000LL + (int64_t)seq * 1000000 / FPS;
    d.frame_id = (int64_t)seq;
    d.model = "bench";
    d.width = W;
    d.height = H;
    d.n_items = n;
    d.items = ptrs;
    size_t len;
    uint8_t *buf = vigil_msg_pack(&d.base, &len);
    if (!buf) return -1;
    vigil_err_t e =
        vigil_bus_publish(bus, VIGIL_TOPIC_DETECTIONS, camera, strlen(camera), buf, len, 60000);
    free(buf);
    return e == VIGIL_OK ? 0 : -1;
}

/* Frames per second of the analytics stage; < 0 when it could not run. */
static double stage_fps(int frames, const vigil_zone_conf_t *zones, const vigil_line_conf_t *lines)
{
    char dir[] = "/tmp/vigil-bench-analytics-XXXXXX", err[512], cmd[600];
    double fps = -1;
    vigil_config_t cfg;
    vigil_bus_t *bus = NULL;
    vigil_analytics_t *an = NULL;
    object_t *objs = NULL;
    vigil_config_init(&cfg);
    if (!mkdtemp(dir)) return -1;
    if (vigil_config_set(&cfg, "store.data_dir", dir, "bench", err, sizeof err)) goto out;
    for (int c = 0; c < STAGE_CAMERAS; c++) {
        if (vigil_config_add_source(&cfg, "testsrc", err, sizeof err)) goto out;
        vigil_camera_conf_t *cam = &cfg.cameras[cfg.ncameras - 1];
        cam->zones = malloc(NZONES * sizeof *zones);
        cam->lines = malloc(NLINES * sizeof *lines);
        if (!cam->zones || !cam->lines) goto out;
        memcpy(cam->zones, zones, NZONES * sizeof *zones);
        memcpy(cam->lines, lines, NLINES * sizeof *lines);
        cam->nzones = NZONES;
        cam->nlines = NLINES;
    }
    vigil_store_conf_t sc;
    vigil_store_conf_init(&sc);
    sc.url = cfg.store_url;
    sc.data_dir = cfg.data_dir;
    sc.migrate = 1;
    vigil_store_t *store = vigil_store_open(&sc, err, sizeof err);
    if (!store) goto out;
    vigil_store_close(store);
    vigil_bus_conf_t bc;
    vigil_bus_conf_init(&bc);
    bc.partitions = cfg.bus_partitions;
    bc.capacity = cfg.bus_capacity;
    if (!(bus = vigil_bus_new("inproc://bench", &bc, err, sizeof err))) goto out;
    if (!(an = vigil_analytics_new(&cfg, bus, err, sizeof err))) goto out;
    if (vigil_analytics_start(an)) {
        snprintf(err, sizeof err, "cannot start the stage");
        goto out;
    }
    int nobj = STAGE_DETS - STAGE_DETS / 10;
    objs = calloc((size_t)(STAGE_CAMERAS * nobj), sizeof *objs);
    if (!objs) goto out;
    rng_state = 0x51ed2701u;
    for (int i = 0; i < STAGE_CAMERAS * nobj; i++) spawn(&objs[i]);
    uint64_t total = (uint64_t)frames * STAGE_CAMERAS;
    int64_t t0 = vigil_mono_us();
    for (int f = 0; f < frames; f++)
        for (int c = 0; c < STAGE_CAMERAS; c++)
            if (publish_detections(bus, cfg.cameras[c].id, (uint64_t)f + 1, &objs[c * nobj],
                                   nobj)) {
                snprintf(err, sizeof err, "cannot publish detections");
                goto out;
            }
    int64_t deadline = vigil_mono_us() + 600 * 1000000LL;
    while (vigil_metrics_sum("vigil_stage_in_total", "stage", "analytics", NULL, NULL) < total) {
        if (vigil_mono_us() > deadline) {
            snprintf(err, sizeof err, "the stage took only %llu of %llu messages in 600 s",
                     (unsigned long long)vigil_metrics_sum("vigil_stage_in_total", "stage",
                                                           "analytics", NULL, NULL),
                     (unsigned long long)total);
            goto out;
        }
        vigil_sleep_us(2000);
    }
    fps = (double)total / ((double)(vigil_mono_us() - t0) / 1e6);
out:
    if (fps < 0) fprintf(stderr, "bench_analytics: stage: %s\n", err);
    if (an) vigil_analytics_stop(an);
    vigil_analytics_free(an);
    if (bus) {
        vigil_bus_close(bus);
        vigil_bus_free(bus);
    }
    free(objs);
    vigil_config_release(&cfg);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "bench_analytics: could not remove %s\n", dir);
    return fps;
}

int main(void)
{
    static const int sizes[] = {5, 50, 500};
    int frames = env_int("BENCH_FRAMES", 1000, 10), repeats = env_int("BENCH_REPEATS", 5, 1);
    vigil_zone_conf_t zones[NZONES];
    vigil_line_conf_t lines[NLINES];
    char err[256], cpu[256];
    rules(zones, lines);
    for (int i = 0; i < NZONES; i++)
        if (vigil_zone_conf_check(&zones[i], err, sizeof err)) {
            fprintf(stderr, "bench_analytics: zone %d: %s\n", i, err);
            return 1;
        }
    for (int i = 0; i < NLINES; i++)
        if (vigil_line_conf_check(&lines[i], err, sizeof err)) {
            fprintf(stderr, "bench_analytics: line %d: %s\n", i, err);
            return 1;
        }
    cpu_model(cpu, sizeof cpu);
    printf("bench_analytics: one camera's analyzer (tracking + zones + lines + events + counts)\n");
    printf("cpu: %s; kernel tier: scalar C; 1 thread\n", cpu);
    printf("%dx%d at %d fps, %d zones, %d lines, default tracker settings; %d timed frames "
           "after %d warm-up, %d runs; median over runs of each run's median / p90\n",
           W, H, FPS, NZONES, NLINES, frames, WARMUP, repeats);
    printf("%10s %12s %12s %12s %14s %12s\n", "dets/frame", "median ms", "p90 ms", "frames/s",
           "tracks alive", "events/frame");
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int n = sizes[s];
        double med[64], p90[64];
        result_t r = {0};
        int runs = repeats > 64 ? 64 : repeats;
        for (int k = 0; k < runs; k++) {
            if (run_once(n, frames, 0x9e3779b97f4a7c15ull + (uint64_t)k, zones, lines, &r))
                return 1;
            med[k] = r.median_ms;
            p90[k] = r.p90_ms;
        }
        double m = quantile(med, (size_t)runs, 0.5);
        printf("%10d %12.4f %12.4f %12.0f %14.1f %12.2f\n", n, m,
               quantile(p90, (size_t)runs, 0.5), m > 0 ? 1e3 / m : 0.0, r.tracks_alive,
               r.events_per_frame);
        if (n == 50)
            printf("%10s goal at 50 detections: median under 0.2 ms per frame (%s)\n", "",
                   m < 0.2 ? "met" : "not met");
    }
    int stage_frames = env_int("BENCH_STAGE_FRAMES", 300, 0);
    if (stage_frames > 0) {
        vigil_log_set_level(VIGIL_LOG_ERROR);
        double fps = stage_fps(stage_frames, zones, lines);
        if (fps >= 0)
            printf("stage: %.0f frames/s (%d cameras x %d frames, %d detections each, 10 zones "
                   "and 10 lines per camera; in-process bus, SQLite warehouse, analytics.* "
                   "defaults)\n",
                   fps, STAGE_CAMERAS, stage_frames, STAGE_DETS);
    }
    return 0;
}
