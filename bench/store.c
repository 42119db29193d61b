/* bench/store: the warehouse's write path through vigil's own store
 * (include/vigil/store.h), for SQLite and PostgreSQL alike. Run by
 * bench/store.sh (bench/store.py), which seeds the warehouse, starts the
 * servers and drives the API; bench/README.md says what is measured.
 *
 *   bench_store rate  [OPTIONS]   (a) sustained rates: frames alone, then
 *                                 detections in sink-sized batches
 *   bench_store load  --rate FPS  a paced pipeline-like write load until
 *                                 --seconds or SIGTERM, with its lag
 *   bench_store limit --start FPS (c) the incoming limit: load steps of
 *                                 growing rate until one falls behind
 *
 * Options: --store URL (default "sqlite"), --data-dir DIR (required),
 * --seconds S, --cameras N (1..8, the names bench_api_seed uses), --dets D
 * (detections per frame, default 8), --batch ROWS (the sink's batch_size,
 * default 64), --flush-ms MS (the sink's flush_ms, default 200), --seq-base N
 * and --time-base-us T (where this run's sequences and capture times start:
 * every run writes new keys, never duplicates that the store would skip),
 * --factor F, --step-seconds S, --max-steps N (limit).
 *
 * The load is what the pipeline writes: a "preprocess" thread stores each
 * frame (vigil_store_frame_put: a JPEG file and a row, one transaction) at
 * the offered rate, round robin over the cameras; a "sink" thread, on its own
 * connection, writes the frames' results (vigil_store_results_put: D rows
 * per frame and its processed mark) in batches as src/sink/sink.c makes
 * them: when batch rows are held, when the oldest held frame waited flush_ms,
 * or as soon as nothing more is waiting (idle). Lag = frames due by the
 * offered rate - frames whose results are committed, in seconds of the rate.
 *
 * Output: human lines, and one "RESULT key=value ..." line per measurement
 * for bench/store.py. Prints figures, asserts nothing. */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/clock.h"
#include "vigil/image.h"
#include "vigil/log.h"
#include "vigil/store.h"

#define W 640
#define H 360
#define MAX_HELD 64          /* messages the sink holds at most (src/sink/sink.c) */
#define FRAME_STEP_US 10000  /* capture times 10 ms apart per camera: a day holds any run */
#define T0_US INT64_C(1736157600000000) /* 2025-01-06T10:00:00Z, after bench_api_seed's rows */
#define MODEL "centernet"

static const char *const cameras[] = {"lobby", "entrance", "parking", "dock",
                                      "hall",  "yard",     "gate",    "office"};

typedef struct opts {
    const char *url, *dir;
    double seconds, rate, start, factor, step_seconds;
    int ncam, dets, batch, flush_ms, max_steps;
    uint64_t seq_base;
    int64_t time_base_us;
} opts_t;

/* One frame as the writers see it. */
typedef struct frame {
    int cam;
    uint64_t seq;
    int64_t t_us, id;
} frame_t;

/* Latencies of one kind of call, microseconds; grown as needed. */
typedef struct lat {
    int64_t *us;
    size_t n, cap;
} lat_t;

static volatile sig_atomic_t stop_flag;
static uint8_t *jpeg;
static size_t jpeg_len;
static uint64_t next_seq; /* per run; cameras take turns, so one counter keeps keys unique */

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void die_oom(void)
{
    fprintf(stderr, "bench_store: out of memory\n");
    exit(1);
}

static void lat_add(lat_t *l, int64_t us)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->us = realloc(l->us, l->cap * sizeof *l->us);
        if (!l->us) die_oom();
    }
    l->us[l->n++] = us;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The q-quantile in milliseconds (sorts the samples); 0 without any. */
static double lat_ms(lat_t *l, double q)
{
    if (!l->n) return 0;
    qsort(l->us, l->n, sizeof *l->us, cmp_i64);
    size_t i = (size_t)(q * (double)(l->n - 1) + 0.5);
    return (double)l->us[i] / 1000.0;
}

static vigil_store_t *open_store(const opts_t *o)
{
    vigil_store_conf_t conf;
    char err[512];
    vigil_store_conf_init(&conf);
    conf.url = o->url;
    conf.data_dir = o->dir;
    conf.migrate = 1;
    vigil_store_t *s = vigil_store_open(&conf, err, sizeof err);
    if (!s) fprintf(stderr, "bench_store: %s\n", err);
    return s;
}

/* A 640x360 JPEG of grey blocks (a few KB), encoded once, as bench_api_seed's. */
static int make_jpeg(void)
{
    vigil_image_t img;
    vigil_jpeg_t *codec = vigil_jpeg_new();
    char err[256];
    int rc = -1;
    if (!codec || vigil_image_alloc(&img, W, H, VIGIL_PIX_GRAY8) != VIGIL_OK) return -1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            img.data[y * img.stride + x] = (uint8_t)(50 + ((x / 80 + y / 60) % 4) * 40);
    if (vigil_jpeg_encode(codec, &img, 60, &jpeg, &jpeg_len, err, sizeof err) == VIGIL_OK)
        rc = 0;
    else
        fprintf(stderr, "bench_store: %s\n", err);
    vigil_image_release(&img);
    vigil_jpeg_free(codec);
    return rc;
}

/* Stores the next frame (the next camera's turn): 0, or -1 with a message. */
static int put_frame(vigil_store_t *s, const opts_t *o, frame_t *f, lat_t *lat)
{
    uint64_t k = next_seq++;
    char err[512];
    f->cam = (int)(k % (uint64_t)o->ncam);
    f->seq = o->seq_base + k / (uint64_t)o->ncam;
    f->t_us = o->time_base_us + (int64_t)(k / (uint64_t)o->ncam) * FRAME_STEP_US + f->cam;
    vigil_frame_row_t row = {.sequence = f->seq, .capture_time_us = f->t_us, .width = W,
                             .height = H, .motion_score = 0.05f, .keyframe = f->seq % 50 == 0};
    snprintf(row.camera_id, sizeof row.camera_id, "%s", cameras[f->cam]);
    int64_t t = vigil_mono_us();
    if (vigil_store_frame_put(s, &row, jpeg, jpeg_len, err, sizeof err) != VIGIL_OK) {
        fprintf(stderr, "bench_store: frame_put: %s\n", err);
        return -1;
    }
    if (lat) lat_add(lat, vigil_mono_us() - t);
    f->id = row.id;
    return 0;
}

/* Writes the results of frames[0..n): D rows each, one transaction. */
static int put_results(vigil_store_t *s, const opts_t *o, const frame_t *frames, size_t n,
                       vigil_detection_row_t *rows, vigil_frame_result_t *res, lat_t *lat)
{
    char err[512];
    for (size_t i = 0; i < n; i++) {
        const frame_t *f = &frames[i];
        vigil_detection_row_t *r = &rows[i * (size_t)o->dets];
        for (int d = 0; d < o->dets; d++) {
            memset(&r[d], 0, sizeof r[d]);
            snprintf(r[d].camera_id, sizeof r[d].camera_id, "%s", cameras[f->cam]);
            r[d].sequence = f->seq;
            r[d].frame_id = f->id;
            r[d].capture_time_us = f->t_us;
            snprintf(r[d].model, sizeof r[d].model, MODEL);
            r[d].idx = d;
            snprintf(r[d].label, sizeof r[d].label, "%s", d % 4 == 0 ? "car" : "person");
            r[d].score = 0.5f + 0.05f * (float)(d % 9);
            float x = (float)((f->seq * 37 + (uint64_t)d * 71) % 560);
            float y = (float)((f->seq * 13 + (uint64_t)d * 29) % 280);
            r[d].x1 = x;
            r[d].y1 = y;
            r[d].x2 = x + 40 + (float)(d * 5);
            r[d].y2 = y + 70;
        }
        res[i] = (vigil_frame_result_t){.camera_id = cameras[f->cam], .sequence = f->seq,
                                        .rows = r, .n = (size_t)o->dets};
    }
    int64_t t = vigil_mono_us();
    if (vigil_store_results_put(s, res, n, NULL, err, sizeof err) != VIGIL_OK) {
        fprintf(stderr, "bench_store: results_put: %s\n", err);
        return -1;
    }
    if (lat) lat_add(lat, vigil_mono_us() - t);
    return 0;
}

/* frames per sink batch: batch rows of D each, at least one, at most MAX_HELD */
static size_t batch_frames(const opts_t *o)
{
    int n = (o->batch + o->dets - 1) / o->dets;
    return (size_t)(n < 1 ? 1 : n > MAX_HELD ? MAX_HELD : n);
}

/* (a): frames alone for --seconds, then detections on them for --seconds. */
static int cmd_rate(const opts_t *o)
{
    vigil_store_t *s = open_store(o);
    if (!s) return 1;
    size_t cap = 1 << 16, n = 0, bf = batch_frames(o);
    frame_t *frames = malloc(cap * sizeof *frames);
    vigil_detection_row_t *rows = calloc(bf * (size_t)o->dets, sizeof *rows);
    vigil_frame_result_t *res = calloc(bf, sizeof *res);
    lat_t fl = {0}, rl = {0};
    int rc = 1;
    if (!frames || !rows || !res) die_oom();

    int64_t t0 = vigil_mono_us(), end = t0 + (int64_t)(o->seconds * 1e6), now = t0;
    while (!stop_flag && (now = vigil_mono_us()) < end) {
        if (n == cap) {
            cap *= 2;
            frames = realloc(frames, cap * sizeof *frames);
            if (!frames) die_oom();
        }
        if (put_frame(s, o, &frames[n], &fl)) goto out;
        n++;
    }
    double fsec = (double)(vigil_mono_us() - t0) / 1e6;
    printf("frames: %zu in %.2f s = %.0f frames/s (frame_put p50 %.2f ms, p99 %.2f ms; "
           "JPEG %zu bytes)\n", n, fsec, (double)n / fsec, lat_ms(&fl, 0.5), lat_ms(&fl, 0.99),
           jpeg_len);

    size_t done = 0;
    t0 = vigil_mono_us();
    end = t0 + (int64_t)(o->seconds * 1e6);
    while (!stop_flag && done < n && vigil_mono_us() < end) {
        size_t k = n - done < bf ? n - done : bf;
        if (put_results(s, o, frames + done, k, rows, res, &rl)) goto out;
        done += k;
    }
    double dsec = (double)(vigil_mono_us() - t0) / 1e6;
    double drows = (double)done * o->dets;
    printf("detections: %.0f rows (%zu frames, batches of %zu frames x %d) in %.2f s = %.0f "
           "rows/s (results_put p50 %.2f ms, p99 %.2f ms)%s\n", drows, done, bf, o->dets, dsec,
           drows / dsec, lat_ms(&rl, 0.5), lat_ms(&rl, 0.99),
           done == n ? " (every stored frame done before the time was up)" : "");
    printf("RESULT kind=rate frames_per_s=%.1f frame_put_p50_ms=%.3f frame_put_p99_ms=%.3f "
           "det_rows_per_s=%.1f results_put_p50_ms=%.3f results_put_p99_ms=%.3f "
           "batch_frames=%zu dets=%d frames=%zu\n", (double)n / fsec, lat_ms(&fl, 0.5),
           lat_ms(&fl, 0.99), drows / dsec, lat_ms(&rl, 0.5), lat_ms(&rl, 0.99), bf, o->dets, n);
    fflush(stdout);
    rc = 0;
out:
    free(fl.us);
    free(rl.us);
    free(res);
    free(rows);
    free(frames);
    vigil_store_close(s);
    return rc;
}

/* ---- the paced load: two writers and a monitor --------------------------- */

typedef struct load {
    const opts_t *o;
    vigil_store_t *pre, *sink;
    double rate, seconds;
    frame_t *frames; /* ring of cap frames; index k % cap */
    size_t cap;
    int64_t t0;
    atomic_size_t written, processed;
    atomic_int writer_done, failed;
    lat_t fl, rl;
} load_t;

static void *preprocess_thread(void *arg)
{
    load_t *l = arg;
    int64_t end = l->t0 + (int64_t)(l->seconds * 1e6);
    size_t n = 0;
    for (;;) {
        int64_t now = vigil_mono_us();
        if (stop_flag || now >= end || atomic_load(&l->failed)) break;
        size_t due = (size_t)(l->rate * (double)(now - l->t0) / 1e6) + 1;
        if (n >= due) {
            vigil_sleep_us(200);
            continue;
        }
        /* never overwrite a frame the sink has not taken yet */
        if (n - atomic_load(&l->processed) >= l->cap) {
            vigil_sleep_us(200);
            continue;
        }
        if (put_frame(l->pre, l->o, &l->frames[n % l->cap], &l->fl)) {
            atomic_store(&l->failed, 1);
            break;
        }
        atomic_store(&l->written, ++n);
    }
    atomic_store(&l->writer_done, 1);
    return NULL;
}

static void *sink_thread(void *arg)
{
    load_t *l = arg;
    const opts_t *o = l->o;
    size_t bf = batch_frames(o), done = 0;
    vigil_detection_row_t *rows = calloc(bf * (size_t)o->dets, sizeof *rows);
    vigil_frame_result_t *res = calloc(bf, sizeof *res);
    frame_t *batch = calloc(bf, sizeof *batch);
    int64_t first_held_us = 0;
    size_t seen = 0;
    if (!rows || !res || !batch) die_oom();
    for (;;) {
        size_t avail = atomic_load(&l->written), held = avail - done;
        int writer_done = atomic_load(&l->writer_done);
        if (atomic_load(&l->failed)) break;
        if (held == 0) {
            if (writer_done) break;
            vigil_sleep_us(500);
            continue;
        }
        if (seen == done) first_held_us = vigil_mono_us(); /* a new batch starts */
        /* idle: nothing arrived since the last look, as the sink's poll timing out */
        int idle = avail == seen && seen > done;
        seen = avail;
        int due = held >= bf || idle || writer_done ||
                  vigil_mono_us() - first_held_us >= (int64_t)o->flush_ms * 1000;
        if (!due) {
            vigil_sleep_us(500);
            continue;
        }
        size_t k = held < bf ? held : bf;
        for (size_t i = 0; i < k; i++) batch[i] = l->frames[(done + i) % l->cap];
        if (put_results(l->sink, o, batch, k, rows, res, &l->rl)) {
            atomic_store(&l->failed, 1);
            break;
        }
        done += k;
        atomic_store(&l->processed, done);
        if (seen > done) first_held_us = vigil_mono_us();
    }
    free(batch);
    free(res);
    free(rows);
    return NULL;
}

typedef struct load_result {
    double offered, achieved, lag_end_s, lag_max_s, lag_slope, elapsed;
    int keeps_up, failed;
    double frame_p50, frame_p99, results_p50, results_p99;
} load_result_t;

/* One paced run at rate frames/s for seconds (or until SIGTERM). Lag is
 * sampled every 100 ms; from 1 s in (a third of the run if shorter, so that
 * start-up does not count) a least-squares line through the samples gives
 * how fast it grows (seconds of lag per second): the writers commit
 * rate * (1 - slope) frames/s. Keeps up: the lag is at most 0.1 s at the
 * end (caught up, whatever stall it recovered from on the way), or it grows
 * by at most 5% of the time (a batch's jitter is not a trend) and is at most
 * 1 s at the end. */
static load_result_t run_load(const opts_t *o, vigil_store_t *pre, vigil_store_t *sink,
                              double rate, double seconds)
{
    load_t l = {.o = o, .pre = pre, .sink = sink, .rate = rate, .seconds = seconds};
    load_result_t r = {.offered = rate};
    l.cap = (size_t)(rate * 30) + 1024; /* 30 s of frames in flight at most */
    l.frames = calloc(l.cap, sizeof *l.frames);
    if (!l.frames) die_oom();
    atomic_init(&l.written, 0);
    atomic_init(&l.processed, 0);
    atomic_init(&l.writer_done, 0);
    atomic_init(&l.failed, 0);
    l.t0 = vigil_mono_us();
    pthread_t tp, ts;
    if (pthread_create(&tp, NULL, preprocess_thread, &l) ||
        pthread_create(&ts, NULL, sink_thread, &l)) {
        fprintf(stderr, "bench_store: cannot start the writer threads\n");
        exit(1);
    }
    double warm = seconds < 3 ? seconds / 3 : 1.0, lag_max = 0, lag = 0;
    double sx = 0, sy = 0, sxx = 0, sxy = 0; /* least squares of lag over time after warm */
    int ns = 0;
    int64_t t_end = l.t0;
    while (!atomic_load(&l.writer_done)) {
        vigil_sleep_us(100000);
        int64_t now = vigil_mono_us();
        double el = (double)(now - l.t0) / 1e6;
        if (el > seconds) break; /* the writer is stopping: nothing more is due */
        lag = (rate * el - (double)atomic_load(&l.processed)) / rate;
        if (lag > lag_max) lag_max = lag;
        if (el >= warm) {
            sx += el;
            sy += lag;
            sxx += el * el;
            sxy += el * lag;
            ns++;
        }
        t_end = now;
    }
    double den = ns * sxx - sx * sx, slope = ns >= 3 && den > 0 ? (ns * sxy - sx * sy) / den : 0;
    r.elapsed = (double)(t_end - l.t0) / 1e6;
    r.lag_end_s = lag < 0 ? 0 : lag;
    r.lag_max_s = lag_max < 0 ? 0 : lag_max;
    r.lag_slope = slope;
    r.achieved = ns >= 3 ? rate * (1 - slope) : 0; /* lag grows by what is not committed */
    pthread_join(tp, NULL);
    pthread_join(ts, NULL); /* the sink drains what was written */
    r.failed = atomic_load(&l.failed);
    r.keeps_up = !r.failed && ns >= 3 &&
                 (r.lag_end_s <= 0.1 || (slope <= 0.05 && r.lag_end_s <= 1.0));
    r.frame_p50 = lat_ms(&l.fl, 0.5);
    r.frame_p99 = lat_ms(&l.fl, 0.99);
    r.results_p50 = lat_ms(&l.rl, 0.5);
    r.results_p99 = lat_ms(&l.rl, 0.99);
    free(l.fl.us);
    free(l.rl.us);
    free(l.frames);
    return r;
}

static void print_load(const char *kind, const opts_t *o, const load_result_t *r)
{
    printf("  offered %7.0f frames/s (%7.0f detection rows/s): committed %7.0f frames/s, lag at "
           "end %.2f s (max %.2f s), frame_put p99 %.1f ms, results_put p99 %.1f ms: %s\n",
           r->offered, r->offered * o->dets, r->achieved, r->lag_end_s, r->lag_max_s,
           r->frame_p99, r->results_p99,
           r->failed ? "WRITE FAILED" : r->keeps_up ? "keeps up" : "falls behind");
    printf("RESULT kind=%s offered_fps=%.1f achieved_fps=%.1f det_rows_per_s=%.1f lag_end_s=%.3f "
           "lag_max_s=%.3f lag_slope=%.4f keeps_up=%d failed=%d frame_put_p50_ms=%.3f frame_put_p99_ms=%.3f "
           "results_put_p50_ms=%.3f results_put_p99_ms=%.3f elapsed_s=%.2f\n",
           kind, r->offered, r->achieved, r->achieved * o->dets, r->lag_end_s, r->lag_max_s,
           r->lag_slope, r->keeps_up, r->failed, r->frame_p50, r->frame_p99, r->results_p50, r->results_p99,
           r->elapsed);
    fflush(stdout);
}

static int cmd_load(const opts_t *o, int limit)
{
    vigil_store_t *pre = open_store(o), *sink = pre ? open_store(o) : NULL;
    int rc = 1;
    if (!pre || !sink) goto out;
    if (!limit) {
        load_result_t r = run_load(o, pre, sink, o->rate, o->seconds);
        print_load("load", o, &r);
        rc = r.failed;
        goto out;
    }
    /* (c): rates start, start*factor, ... until one falls behind (down from
     * start instead while none kept up yet); then one step between the last
     * that kept up and the first that did not */
    double pass = 0, fail = 0, rate = o->start;
    for (int i = 0; i < o->max_steps && !stop_flag; i++) {
        load_result_t r = run_load(o, pre, sink, rate, o->step_seconds);
        print_load("step", o, &r);
        if (r.failed) goto out;
        if (r.keeps_up) {
            pass = rate;
            if (fail > 0) break;
            rate *= o->factor;
        } else {
            fail = rate;
            if (pass > 0) break;
            rate /= o->factor;
        }
    }
    if (pass > 0 && fail > 0 && !stop_flag) {
        double mid = sqrt(pass * fail);
        load_result_t r = run_load(o, pre, sink, mid, o->step_seconds);
        print_load("step", o, &r);
        if (r.failed) goto out;
        if (r.keeps_up) pass = mid;
        else fail = mid;
    }
    printf("incoming limit: %.0f frames/s (%.0f detection rows/s) kept up; %s\n", pass,
           pass * o->dets, fail > 0 ? "the next step fell behind" : "no step fell behind");
    printf("RESULT kind=limit limit_fps=%.1f limit_det_rows_per_s=%.1f first_fail_fps=%.1f\n",
           pass, pass * o->dets, fail);
    rc = 0;
out:
    vigil_store_close(sink);
    vigil_store_close(pre);
    return rc;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_store rate|load|limit --data-dir DIR [--store URL] [--seconds S]\n"
            "         [--cameras N] [--dets D] [--batch ROWS] [--flush-ms MS] [--seq-base N]\n"
            "         [--time-base-us T] [--rate FPS] [--start FPS] [--factor F]\n"
            "         [--step-seconds S] [--max-steps N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    opts_t o = {.url = "sqlite", .seconds = 5, .rate = 100, .start = 50, .factor = 1.4,
                .step_seconds = 3, .ncam = 4, .dets = 8, .batch = 64, .flush_ms = 200,
                .max_steps = 12, .seq_base = 1000000, .time_base_us = T0_US};
    if (argc < 2) usage();
    const char *cmd = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v || strncmp(k, "--", 2) != 0) usage();
        i++;
        if (!strcmp(k, "--store")) o.url = v;
        else if (!strcmp(k, "--data-dir")) o.dir = v;
        else if (!strcmp(k, "--seconds")) o.seconds = atof(v);
        else if (!strcmp(k, "--rate")) o.rate = atof(v);
        else if (!strcmp(k, "--start")) o.start = atof(v);
        else if (!strcmp(k, "--factor")) o.factor = atof(v);
        else if (!strcmp(k, "--step-seconds")) o.step_seconds = atof(v);
        else if (!strcmp(k, "--max-steps")) o.max_steps = atoi(v);
        else if (!strcmp(k, "--cameras")) o.ncam = atoi(v);
        else if (!strcmp(k, "--dets")) o.dets = atoi(v);
        else if (!strcmp(k, "--batch")) o.batch = atoi(v);
        else if (!strcmp(k, "--flush-ms")) o.flush_ms = atoi(v);
        else if (!strcmp(k, "--seq-base")) o.seq_base = strtoull(v, NULL, 10);
        else if (!strcmp(k, "--time-base-us")) o.time_base_us = strtoll(v, NULL, 10);
        else usage();
    }
    if (!o.dir || o.seconds <= 0 || o.rate <= 0 || o.start <= 0 || o.factor <= 1 ||
        o.step_seconds <= 0 || o.max_steps < 1 || o.ncam < 1 ||
        o.ncam > (int)(sizeof cameras / sizeof cameras[0]) || o.dets < 1 || o.dets > 1000 ||
        o.batch < 1 || o.flush_ms < 1)
        usage();
    vigil_log_set_level(VIGIL_LOG_WARN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    if (make_jpeg()) return 1;
    int rc;
    if (!strcmp(cmd, "rate")) rc = cmd_rate(&o);
    else if (!strcmp(cmd, "load")) rc = cmd_load(&o, 0);
    else if (!strcmp(cmd, "limit")) rc = cmd_load(&o, 1);
    else usage(), rc = 2;
    free(jpeg);
    return rc;
}
