/* bench/api_seed: makes the warehouse bench/api.sh serves, through vigil's own
 * store and analyzer, so that its rows are what `vigil run` writes and not
 * hand-written INSERTs that could drift from the schema.
 *
 *   bench_api_seed DATA_DIR [CAMERAS [FRAMES [OBJECTS]]]
 *
 * Main idea: a synthetic scene per camera, the same on every run (xorshift
 * with a fixed seed per camera): a 640x360 camera at 5 fps, OBJECTS people
 * and cars walking or driving across it (bouncing off the borders, leaving
 * and coming back elsewhere every 10-40 s), seen with one miss in 20 and a
 * low-score clutter box in one frame of three. Each frame goes through the
 * same calls as the pipeline's: vigil_store_frame_put (a real JPEG file,
 * one per camera encoded once), vigil_store_results_put (the frame's
 * detections and its processed mark), then vigil_analyzer_frame with three
 * zones and two lines, whose events, track points, per-minute counts and
 * checkpoint go through vigil_store_analytics_commit every BATCH frames, as
 * the analytics stage commits them. A camera row per camera (online) and a
 * status event in the events table each, as ingest and the sink write them.
 *
 * Defaults: 4 cameras x 1360 frames (4 min 32 s each) x 8 objects, which
 * gives about 43k detections and a few thousand analytics events: the size
 * of the issue 8 figures. Capture times start at 2025-01-06T08:00:00Z.
 * Refuses a DATA_DIR that already has a warehouse (the rows would be
 * skipped as duplicates and the figures would lie). Prints what it wrote.
 *
 * BENCH_SEED_STORE=URL (e.g. postgres://...) seeds that store instead of
 * DATA_DIR/vigil.db (frame files still go under DATA_DIR); a store that
 * already has detections is refused likewise (bench/store.sh). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vigil/analytics.h"
#include "vigil/config.h"
#include "vigil/image.h"
#include "vigil/log.h"
#include "vigil/store.h"

#define W 640
#define H 360
#define FPS 5
#define BATCH 25 /* frames per commit, about what the stages batch at 5 fps */
#define NZONES 3
#define NLINES 2
#define T0_US INT64_C(1736150400000000) /* 2025-01-06T08:00:00Z */
#define MODEL "centernet"

typedef struct object {
    float x, y, w, h, vx, vy;
    int label; /* 0 person, 1 car */
    int ttl;   /* frames before it leaves and comes back elsewhere */
} object_t;

static const char *const labels[] = {"person", "car"};
static const char *const camera_names[] = {"lobby", "entrance", "parking", "dock",
                                           "hall",  "yard",     "gate",    "office"};
#define NAMES (sizeof(camera_names) / sizeof(camera_names[0]))

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
    o->w = o->label ? uniform(70, 130) : uniform(20, 40);
    o->h = o->label ? o->w * uniform(0.4f, 0.6f) : o->w * uniform(2.2f, 2.8f);
    o->x = uniform(0, W - o->w);
    o->y = uniform(0, H - o->h);
    /* 5 fps: a walker moves 5-12 px per frame at this size, a car 12-25 */
    float speed = o->label ? uniform(12, 25) : uniform(5, 12), dir = uniform(0, 6.2831853f);
    o->vx = speed * cosf(dir);
    o->vy = speed * sinf(dir) * 0.6f;
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

/* Three zones side by side (the middle one with loitering, the last one for
 * people only) and two lines, one vertical and one horizontal. */
static void rules(vigil_zone_conf_t *zones, vigil_line_conf_t *lines)
{
    for (int i = 0; i < NZONES; i++) {
        vigil_zone_conf_t *z = &zones[i];
        vigil_zone_conf_init(z);
        snprintf(z->id, sizeof z->id, "%s", i == 0 ? "door" : i == 1 ? "desk" : "stairs");
        double x0 = 0.04 + i * 0.32;
        vigil_point_t p[4] = {{x0, 0.3}, {x0 + 0.26, 0.32}, {x0 + 0.25, 0.9}, {x0 + 0.01, 0.88}};
        memcpy(z->polygon, p, sizeof p);
        z->npoints = 4;
        z->loiter_seconds = i == 1 ? 6 : 0;
        if (i == 2) {
            snprintf(z->labels[0], sizeof z->labels[0], "person");
            z->nlabels = 1;
        }
    }
    vigil_line_conf_init(&lines[0]);
    snprintf(lines[0].id, sizeof lines[0].id, "entry");
    lines[0].a = (vigil_point_t){0.5, 0.05};
    lines[0].b = (vigil_point_t){0.52, 0.95};
    vigil_line_conf_init(&lines[1]);
    snprintf(lines[1].id, sizeof lines[1].id, "kerb");
    lines[1].a = (vigil_point_t){0.05, 0.6};
    lines[1].b = (vigil_point_t){0.95, 0.58};
}

/* A growable array of fixed-size items. */
typedef struct vec {
    void *items;
    size_t n, cap, size;
} vec_t;

static void *vec_push(vec_t *v, const void *item)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 256;
        void *p = realloc(v->items, cap * v->size);
        if (!p) {
            fprintf(stderr, "bench_api_seed: out of memory\n");
            exit(1);
        }
        v->items = p;
        v->cap = cap;
    }
    void *dst = (char *)v->items + v->n++ * v->size;
    memcpy(dst, item, v->size);
    return dst;
}

/* One camera's 640x360 JPEG: flat grey blocks, a few KB. */
static uint8_t *make_jpeg(int seed, size_t *len)
{
    vigil_image_t img;
    vigil_jpeg_t *codec = vigil_jpeg_new();
    uint8_t *out = NULL;
    char err[256];

    if (!codec || vigil_image_alloc(&img, W, H, VIGIL_PIX_GRAY8) != VIGIL_OK) return NULL;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            img.data[y * img.stride + x] = (uint8_t)(50 + ((x / 80 + y / 60 + seed) % 4) * 40);
    if (vigil_jpeg_encode(codec, &img, 60, &out, len, err, sizeof err) != VIGIL_OK) {
        fprintf(stderr, "bench_api_seed: %s\n", err);
        out = NULL;
    }
    vigil_image_release(&img);
    vigil_jpeg_free(codec);
    return out;
}

typedef struct totals {
    int64_t frames, detections, points;
} totals_t;

/* Writes one camera's frames, detections and analytics. 0, or -1 with a
 * message on stderr. */
static int seed_camera(vigil_store_t *store, const char *camera, int index, int frames,
                       int nobjects, totals_t *tot)
{
    vigil_zone_conf_t zones[NZONES];
    vigil_line_conf_t lines[NLINES];
    vigil_tracker_conf_t tc;
    char err[512];
    size_t jpeg_len = 0;
    uint8_t *jpeg = make_jpeg(index, &jpeg_len);
    int rc = -1;

    rules(zones, lines);
    vigil_tracker_conf_init(&tc);
    vigil_analyzer_t *an =
        vigil_analyzer_new(camera, &tc, zones, NZONES, lines, NLINES, err, sizeof err);
    object_t *objs = calloc((size_t)nobjects, sizeof *objs);
    /* per batch: each frame's rows, then the analytics of the batch */
    vigil_detection_row_t *rows = calloc((size_t)BATCH * (size_t)(nobjects + 1), sizeof *rows);
    vigil_analytics_det_t *dets = calloc((size_t)nobjects + 1, sizeof *dets);
    vigil_frame_result_t results[BATCH];
    vec_t events = {.size = sizeof(vigil_analytics_event_t)};
    vec_t points = {.size = sizeof(vigil_track_point_t)};
    vec_t counts = {.size = sizeof(vigil_count_bucket_t)};
    if (!an || !jpeg || !objs || !rows || !dets) {
        fprintf(stderr, "bench_api_seed: camera \"%s\": %s\n", camera,
                an ? "out of memory or no JPEG encoder" : err);
        goto done;
    }

    vigil_camera_row_t cam = {.fps = FPS, .enabled = 1, .updated_us = T0_US};
    snprintf(cam.id, sizeof cam.id, "%s", camera);
    snprintf(cam.name, sizeof cam.name, "%c%s", camera[0] - 32, camera + 1);
    snprintf(cam.url, sizeof cam.url, "rtsp://10.0.0.%d/stream1", 10 + index);
    snprintf(cam.status, sizeof cam.status, "online");
    vigil_event_row_t status = {.time_us = T0_US, .sequence = 1};
    snprintf(status.camera_id, sizeof status.camera_id, "%s", camera);
    snprintf(status.type, sizeof status.type, "camera_status");
    snprintf(status.message, sizeof status.message, "camera \"%s\" online", camera);
    if (vigil_store_camera_upsert(store, &cam) != VIGIL_OK ||
        vigil_store_event_put(store, &status) != VIGIL_OK) {
        fprintf(stderr, "bench_api_seed: camera \"%s\": %s\n", camera,
                vigil_store_last_error(store));
        goto done;
    }

    rng_state = 0x9E3779B97F4A7C15ull ^ (uint64_t)(index + 1) * 0xD1B54A32D192ED03ull;
    for (int i = 0; i < nobjects; i++) spawn(&objs[i]);
    size_t nrows = 0;
    int nresults = 0;
    for (int f = 0; f < frames; f++) {
        uint64_t seq = (uint64_t)f + 1;
        int64_t t_us = T0_US + (int64_t)f * (1000000 / FPS) + index * 1000;
        vigil_frame_row_t fr = {.sequence = seq, .capture_time_us = t_us, .width = W,
                                .height = H, .motion_score = 0.05f, .keyframe = f % 50 == 0};
        snprintf(fr.camera_id, sizeof fr.camera_id, "%s", camera);
        if (vigil_store_frame_put(store, &fr, jpeg, jpeg_len, err, sizeof err) != VIGIL_OK) {
            fprintf(stderr, "bench_api_seed: %s\n", err);
            goto done;
        }
        tot->frames++;

        size_t ndets = 0, first = nrows;
        for (int i = 0; i < nobjects; i++) {
            object_t *o = &objs[i];
            step(o);
            if (rng() % 20 == 0) continue; /* missed */
            float j = uniform(-2, 2);
            dets[ndets++] = (vigil_analytics_det_t){o->x + j, o->y + j, o->x + o->w - j,
                                                    o->y + o->h + j, uniform(0.45f, 0.95f),
                                                    labels[o->label]};
        }
        if (rng() % 3 == 0) { /* clutter */
            float x = uniform(0, W - 30), y = uniform(0, H - 60);
            dets[ndets++] = (vigil_analytics_det_t){x, y, x + uniform(10, 30), y + uniform(20, 60),
                                                    uniform(0.15f, 0.35f), labels[rng() & 1]};
        }
        for (size_t k = 0; k < ndets; k++) {
            vigil_detection_row_t *d = &rows[nrows++];
            memset(d, 0, sizeof *d);
            snprintf(d->camera_id, sizeof d->camera_id, "%s", camera);
            d->sequence = seq;
            d->frame_id = fr.id;
            d->capture_time_us = t_us;
            snprintf(d->model, sizeof d->model, MODEL);
            d->idx = (int)k;
            snprintf(d->label, sizeof d->label, "%s", dets[k].label);
            d->score = dets[k].score;
            d->x1 = dets[k].x1;
            d->y1 = dets[k].y1;
            d->x2 = dets[k].x2;
            d->y2 = dets[k].y2;
        }
        results[nresults++] =
            (vigil_frame_result_t){.camera_id = camera, .sequence = seq, .rows = rows + first,
                                   .n = ndets};

        vigil_analytics_frame_t af = {.sequence = seq, .time_us = t_us, .frame_id = fr.id,
                                      .width = W, .height = H};
        vigil_analytics_out_t out;
        if (vigil_analyzer_frame(an, &af, dets, ndets, &out, NULL) != VIGIL_OK) {
            fprintf(stderr, "bench_api_seed: camera \"%s\" frame %llu refused by the analyzer\n",
                    camera, (unsigned long long)seq);
            goto done;
        }
        for (size_t k = 0; k < out.nevents; k++) vec_push(&events, &out.events[k]);
        for (size_t k = 0; k < out.npoints; k++) vec_push(&points, &out.points[k]);
        for (size_t k = 0; k < out.ncounts; k++) vec_push(&counts, &out.counts[k]);

        if (nresults < BATCH && f + 1 < frames) continue;
        size_t inserted = 0;
        if (vigil_store_results_put(store, results, (size_t)nresults, &inserted, err,
                                    sizeof err) != VIGIL_OK) {
            fprintf(stderr, "bench_api_seed: %s\n", err);
            goto done;
        }
        tot->detections += (int64_t)inserted;
        uint8_t *state = NULL;
        size_t state_len = 0;
        if (vigil_analyzer_save(an, &state, &state_len) != VIGIL_OK) {
            fprintf(stderr, "bench_api_seed: camera \"%s\": cannot save the checkpoint\n", camera);
            goto done;
        }
        vigil_analytics_camera_batch_t batch = {
            .camera_id = camera, .events = events.items, .nevents = events.n,
            .points = points.items, .npoints = points.n, .counts = counts.items,
            .ncounts = counts.n, .state = state, .state_len = state_len, .last_sequence = seq};
        vigil_err_t e = vigil_store_analytics_commit(store, &batch, 1, err, sizeof err);
        free(state);
        if (e != VIGIL_OK) {
            fprintf(stderr, "bench_api_seed: %s\n", err);
            goto done;
        }
        tot->points += (int64_t)points.n;
        events.n = points.n = counts.n = 0;
        nrows = 0;
        nresults = 0;
    }
    rc = 0;
done:
    free(events.items);
    free(points.items);
    free(counts.items);
    free(dets);
    free(rows);
    free(objs);
    free(jpeg);
    vigil_analyzer_free(an);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 5 || argv[1][0] == '-') {
        fprintf(stderr, "usage: bench_api_seed DATA_DIR [CAMERAS [FRAMES [OBJECTS]]]\n");
        return 2;
    }
    const char *dir = argv[1];
    int cameras = argc > 2 ? atoi(argv[2]) : 4;
    int frames = argc > 3 ? atoi(argv[3]) : 1360;
    int objects = argc > 4 ? atoi(argv[4]) : 8;
    if (cameras < 1 || cameras > (int)NAMES || frames < 1 || objects < 1 || objects > 500) {
        fprintf(stderr, "bench_api_seed: CAMERAS 1..%zu, FRAMES >= 1, OBJECTS 1..500\n", NAMES);
        return 2;
    }
    char db[4096], err[512];
    struct stat st;
    const char *url = getenv("BENCH_SEED_STORE");
    if (!url || !*url) url = "sqlite";
    snprintf(db, sizeof db, "%s/vigil.db", dir);
    if (strcmp(url, "sqlite") == 0 && stat(db, &st) == 0) {
        fprintf(stderr, "bench_api_seed: %s exists: give an empty directory\n", db);
        return 1;
    }
    vigil_log_set_level(VIGIL_LOG_WARN);
    vigil_store_conf_t conf;
    vigil_store_conf_init(&conf);
    conf.url = url;
    conf.data_dir = dir;
    conf.migrate = 1;
    vigil_store_t *store = vigil_store_open(&conf, err, sizeof err);
    if (!store) {
        fprintf(stderr, "bench_api_seed: %s\n", err);
        return 1;
    }
    vigil_store_counts_t have = {0};
    if (vigil_store_counts(store, NULL, &have) != VIGIL_OK || have.detections > 0) {
        fprintf(stderr, "bench_api_seed: the store already has %lld detections (or cannot count "
                "them: %s): give an empty one\n", (long long)have.detections,
                vigil_store_last_error(store));
        vigil_store_close(store);
        return 1;
    }
    if (strcmp(url, "sqlite") != 0) snprintf(db, sizeof db, "the store");
    totals_t tot = {0};
    int rc = 0;
    for (int c = 0; c < cameras && rc == 0; c++)
        rc = seed_camera(store, camera_names[c], c, frames, objects, &tot);
    if (rc == 0) {
        vigil_analytics_event_row_t *ev = NULL;
        size_t n = 0;
        int64_t events = 0, next_start = 0, next_id = 0;
        vigil_event_query_t q = {.limit = 1000};
        do { /* count analytics events through the store, page by page */
            q.after_start_us = next_start;
            q.after_id = next_id;
            if (vigil_store_analytics_events_query(store, &q, &ev, &n, &next_start, &next_id)) {
                fprintf(stderr, "bench_api_seed: cannot count analytics events\n");
                rc = -1;
                break;
            }
            events += (int64_t)n;
            free(ev);
        } while (next_id > 0);
        printf("bench_api_seed: %s: %d cameras, %lld frames, %lld detections, %lld analytics "
               "events, %lld track points\n",
               db, cameras, (long long)tot.frames, (long long)tot.detections, (long long)events,
               (long long)tot.points);
    }
    vigil_store_close(store);
    return rc ? 1 : 0;
}
