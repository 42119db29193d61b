/* bench/kafka: the Kafka bus against the in-process bus, in one run.
 *
 *  1. Throughput, for 50 KB and 200 KB frames: a producer publishes N frames
 *     to a fresh topic (6 partitions; on Kafka RF 3, min ISR 2) keyed by 12
 *     cameras and flushes (every delivery report back) -> frames/s and MB/s
 *     produced; then one consumer-group member polls and acks them all and
 *     commits -> frames/s and MB/s consumed. The same on inproc:// (capacity
 *     N, so neither phase waits for the other).
 *  2. Latency: the whole embedded pipeline (ingest, preprocess, infer, sink in
 *     this process) on vtest.avi at its native 10 fps for BENCH_SECONDS
 *     (default 20), once on inproc://, once on kafka:// (the pipeline's
 *     topics created up front with 6 partitions, RF 3, min ISR 2, as
 *     `vigil kafka init` would): capture -> frame stored and capture ->
 *     detections stored, p50/p99.
 *
 * Frames are real JPEG bytes: vtest.avi frames encoded at the ingest quality,
 * laid end to end in a pool; frame i is the S bytes at i*S in the pool
 * (wrapping), so no two frames of a batch share bytes and compression sees
 * what it would see on a camera's JPEGs.
 *
 * Latency figures: the stages' histograms have coarse fixed buckets (.., 5,
 * 10, 25, 50, 100, 250 ms, ..) and their quantiles are interpolated inside a
 * bucket; the output names the bucket. Exact per-frame percentiles come from
 * a watcher thread polling the warehouse every millisecond: when a frame's
 * row (and its first detection rows) became visible, against its capture
 * time. (File mtimes would not do: the kernel stamps them with a coarse,
 * jiffy-granular clock.)
 *
 * Prints figures; asserts nothing about time. Environment:
 *   VIGIL_KAFKA_BOOTSTRAP  HOST:PORT,... of a running cluster of 3 (bench/kafka.sh
 *                          starts one); unset = inproc figures only
 *   BENCH_SECONDS          latency run length (default 20)
 *   BENCH_MB               megabytes (10^6) published per frame size (default 100)
 *   VIGIL_MEDIA            the media dir (vtest.avi) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "vigil/bus.h"
#include "vigil/clock.h"
#include "vigil/image.h"
#include "vigil/kafka.h"
#include "vigil/log.h"
#include "vigil/metrics.h"
#include "vigil/pipeline.h"
#include "vigil/source.h"
#include "vigil/store.h"

#define NCAMERAS 12
#define PARTITIONS 6
#define RTT_N 20
#define POOL_FRAMES 300 /* ~20 MB of JPEG: far more than one producer batch */

/* Real JPEG bytes, with `tail` extra bytes copied from the start so that any
 * frame of at most `tail` bytes is one contiguous slice. */
typedef struct pool {
    uint8_t *data;
    size_t len; /* without the tail */
} pool_t;

typedef struct tput {
    double pub_s, con_s, join_s;
    double rtt_p50, rtt_p99; /* one frame: publish + flush */
    size_t n, bad;
} tput_t;

typedef struct lat_exact {
    size_t n;
    double p50, p99, max;
} lat_exact_t;

typedef struct lat {
    int ok;
    double p50[2], p99[2];  /* from the histograms: frame, detections */
    unsigned long long n[2];
    lat_exact_t ex[2];      /* per frame, seen by the warehouse watcher */
} lat_t;

static int pool_build(pool_t *pool, const char *video, size_t tail)
{
    char err[512];
    vigil_config_t cfg;
    vigil_config_init(&cfg);
    int quality = cfg.ingest_jpeg_quality, rc = -1;
    vigil_config_release(&cfg);
    vigil_source_opts_t opts = {.loop = 1, .timeout_ms = 5000};
    vigil_source_t *src = vigil_source_open(video, &opts, err, sizeof(err));
    vigil_jpeg_t *jpeg = vigil_jpeg_new();
    size_t cap = 0;
    memset(pool, 0, sizeof(*pool));
    if (!src || !jpeg) goto out;
    for (int i = 0; i < POOL_FRAMES; i++) {
        vigil_source_frame_t f;
        uint8_t *out = NULL;
        size_t out_len = 0;
        vigil_err_t e = vigil_source_read(src, &f, err, sizeof(err));
        if (e == VIGIL_ERR_DECODE) continue;
        if (e) goto out;
        if (vigil_jpeg_encode_yuv420(jpeg, f.planes, f.strides, f.width, f.height, quality, &out,
                                     &out_len, err, sizeof(err)))
            goto out;
        if (pool->len + out_len > cap) {
            cap = (pool->len + out_len) * 2;
            uint8_t *d = realloc(pool->data, cap + tail);
            if (!d) {
                free(out);
                snprintf(err, sizeof(err), "out of memory");
                goto out;
            }
            pool->data = d;
        }
        memcpy(pool->data + pool->len, out, out_len);
        pool->len += out_len;
        free(out);
    }
    /* the tail may be longer than the pool itself */
    for (size_t k = 0; k < tail; k++) pool->data[pool->len + k] = pool->data[k % pool->len];
    rc = 0;
out:
    if (rc) fprintf(stderr, "bench: sample frames from %s: %s\n", video, err);
    if (jpeg) vigil_jpeg_free(jpeg);
    if (src) vigil_source_close(src);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank quantile of sorted v. */
static double quantile(const double *v, size_t n, double q)
{
    if (!n) return 0;
    size_t i = (size_t)(q * (double)n + 0.999999);
    return v[i ? (i > n ? n - 1 : i - 1) : 0];
}

/* Publishes n frames of `size` bytes, flushes, then consumes them all as one
 * group member. bootstrap NULL = inproc. */
static int throughput(const char *bootstrap, const pool_t *pool, size_t size, size_t n,
                      tput_t *res)
{
    char err[512], url[1024], topic[64], warm[64], group[64], key[16];
    vigil_bus_t *bus = NULL;
    vigil_consumer_t *consumer = NULL;
    int rc = -1;
    memset(res, 0, sizeof(*res));
    snprintf(topic, sizeof(topic), "bench.tput.%zuk.%ld", size / 1000, (long)getpid());
    snprintf(warm, sizeof(warm), "bench.warm.%zuk.%ld", size / 1000, (long)getpid());
    snprintf(group, sizeof(group), "bench-%zuk-%ld", size / 1000, (long)getpid());
    if (bootstrap) {
        vigil_kafka_topic_spec_t spec[2] = {
            {.name = topic, .partitions = PARTITIONS, .replication_factor = 3,
             .min_insync_replicas = 2},
            {.name = warm, .partitions = 1, .replication_factor = 3, .min_insync_replicas = 2}};
        vigil_err_t e = vigil_kafka_create_topics(bootstrap, spec, 2, 30000, NULL, err, sizeof(err));
        if (e) goto out;
        snprintf(url, sizeof(url), "kafka://%s", bootstrap);
    } else {
        snprintf(url, sizeof(url), "inproc://bench-%zuk", size / 1000);
    }
    vigil_bus_conf_t bc;
    vigil_bus_conf_init(&bc);
    bc.partitions = PARTITIONS;
    bc.capacity = (int)n; /* inproc: the whole run fits, the producer never waits */
    bc.client_id = "bench";
    if (!(bus = vigil_bus_new(url, &bc, err, sizeof(err)))) goto out;

    /* Warm-up, untimed: connections, the idempotent producer id, topic
     * metadata. Then single-frame round trips: publish one + flush. */
    double rtt[RTT_N];
    for (int i = 0; i <= RTT_N; i++) {
        int64_t t = vigil_mono_us();
        vigil_err_t e = vigil_bus_publish(bus, warm, "warm", 4, pool->data, size, -1);
        if (!e) e = vigil_bus_flush(bus, 60000);
        if (e) {
            snprintf(err, sizeof(err), "warm-up publish to \"%s\": %s", warm, vigil_err_str(e));
            goto out;
        }
        if (i) rtt[i - 1] = (double)(vigil_mono_us() - t) / 1e6;
    }
    qsort(rtt, RTT_N, sizeof(double), cmp_double);
    res->rtt_p50 = quantile(rtt, RTT_N, 0.5);
    res->rtt_p99 = quantile(rtt, RTT_N, 0.99);

    int64_t t0 = vigil_mono_us();
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "cam-%02zu", i % NCAMERAS);
        const uint8_t *frame = pool->data + (i * size) % pool->len;
        vigil_err_t e = vigil_bus_publish(bus, topic, key, strlen(key), frame, size, -1);
        if (e) {
            snprintf(err, sizeof(err), "publish %zu of %zu to \"%s\": %s", i, n, topic,
                     vigil_err_str(e));
            goto out;
        }
    }
    vigil_err_t e = vigil_bus_flush(bus, 120000);
    if (e) {
        snprintf(err, sizeof(err), "flush \"%s\": %s", topic, vigil_err_str(e));
        goto out;
    }
    res->pub_s = (double)(vigil_mono_us() - t0) / 1e6;

    const char *topics[] = {topic};
    t0 = vigil_mono_us();
    if (!(consumer = vigil_bus_subscribe(bus, group, topics, 1, err, sizeof(err)))) goto out;
    res->join_s = (double)(vigil_mono_us() - t0) / 1e6;
    t0 = vigil_mono_us();
    int idle_ms = 0;
    while (res->n < n) {
        vigil_bus_msg_t *msg;
        e = vigil_consumer_poll(consumer, &msg, 1000);
        if (e == VIGIL_ERR_TIMED_OUT && (idle_ms += 1000) < 60000) continue;
        if (e) {
            snprintf(err, sizeof(err), "consume \"%s\" after %zu of %zu: %s", topic, res->n, n,
                     vigil_err_str(e));
            goto out;
        }
        idle_ms = 0;
        if (msg->value_len != size) res->bad++;
        res->n++;
        if ((e = vigil_consumer_ack(consumer, msg))) {
            snprintf(err, sizeof(err), "ack \"%s\": %s", topic, vigil_err_str(e));
            goto out;
        }
    }
    if ((e = vigil_consumer_commit(consumer))) {
        snprintf(err, sizeof(err), "commit \"%s\": %s", topic, vigil_err_str(e));
        goto out;
    }
    res->con_s = (double)(vigil_mono_us() - t0) / 1e6;
    rc = 0;
out:
    if (rc) fprintf(stderr, "bench: %s: %s\n", url, err);
    if (consumer) vigil_consumer_close(consumer);
    if (bus) {
        vigil_bus_close(bus);
        vigil_bus_free(bus);
    }
    return rc;
}

/* The warehouse watcher: a thread that polls the store every POLL_US and
 * notes, for each frame row and for each frame's first detection rows, when
 * they became visible, against their capture time (both wall clock). Error:
 * at most one poll interval plus the query, well under a histogram bucket.
 * Frames whose result had no detection row are not seen on the detections
 * side (the histogram counts them). */
#define POLL_US 1000
#define SEQ_SEEN 65536 /* one camera, < 65536 frames per run */

typedef struct watch {
    const char *dir;
    _Atomic int stop;
    double *frame_s, *det_s; /* latencies, seconds */
    size_t nframe, ndet, cap;
    uint8_t *seen; /* sequences whose detections were noted */
    int64_t next_frame_id, det_max_id;
} watch_t;

static void watch_poll(watch_t *w, vigil_store_t *store)
{
    vigil_frame_row_t row;
    while (w->nframe < w->cap && vigil_store_frame_get(store, w->next_frame_id, &row) == VIGIL_OK) {
        w->frame_s[w->nframe++] = (double)(vigil_now_us() - row.capture_time_us) / 1e6;
        w->next_frame_id++;
    }
    vigil_detection_query_t q = {.limit = 200};
    vigil_detection_row_t *rows = NULL;
    size_t n = 0;
    int64_t next = 0;
    if (vigil_store_detections_query(store, &q, &rows, &n, &next)) return;
    int64_t now = vigil_now_us(), max_id = w->det_max_id;
    for (size_t i = 0; i < n; i++) { /* newest first */
        if (rows[i].id <= w->det_max_id) break;
        if (rows[i].id > max_id) max_id = rows[i].id;
        uint64_t seq = rows[i].sequence % SEQ_SEEN;
        if (w->seen[seq] || w->ndet >= w->cap) continue;
        w->seen[seq] = 1;
        w->det_s[w->ndet++] = (double)(now - rows[i].capture_time_us) / 1e6;
    }
    w->det_max_id = max_id;
    free(rows);
}

static void *watch_main(void *arg)
{
    watch_t *w = arg;
    vigil_store_t *store = NULL;
    vigil_store_conf_t sc;
    char err[512];
    vigil_store_conf_init(&sc);
    sc.url = "sqlite";
    sc.data_dir = w->dir;
    sc.migrate = 0;
    while (!store && !atomic_load(&w->stop)) {
        if (!(store = vigil_store_open(&sc, err, sizeof(err)))) vigil_sleep_us(10000);
    }
    while (store && !atomic_load(&w->stop)) {
        watch_poll(w, store);
        vigil_sleep_us(POLL_US);
    }
    if (store) {
        watch_poll(w, store);
        vigil_store_close(store);
    }
    return NULL;
}

static void watch_summary(double *v, size_t n, lat_exact_t *out)
{
    qsort(v, n, sizeof(*v), cmp_double);
    out->n = n;
    out->p50 = quantile(v, n, 0.5);
    out->p99 = quantile(v, n, 0.99);
    out->max = n ? v[n - 1] : 0;
}

static int create_pipeline_topics(const char *bootstrap)
{
    char err[512];
    const char *names[] = {VIGIL_TOPIC_FRAMES, VIGIL_TOPIC_GATED, VIGIL_TOPIC_DETECTIONS,
                           VIGIL_TOPIC_EVENTS, VIGIL_TOPIC_CONTROL};
    vigil_kafka_topic_spec_t specs[5];
    for (int i = 0; i < 5; i++) specs[i] = (vigil_kafka_topic_spec_t){.name = names[i], .partitions = PARTITIONS,
                                              .replication_factor = 3, .min_insync_replicas = 2};
    size_t existed = 0;
    if (vigil_kafka_create_topics(bootstrap, specs, 5, 30000, &existed, err, sizeof(err))) {
        fprintf(stderr, "bench: create pipeline topics on %s: %s\n", bootstrap, err);
        return -1;
    }
    if (existed)
        fprintf(stderr, "bench: %zu pipeline topics already existed on %s: the run also "
                        "carries what an earlier run left unconsumed\n", existed, bootstrap);
    return 0;
}

static int latency(const char *video, const char *bus_url, double seconds, lat_t *res)
{
    char dir[] = "/tmp/vigil-bench-kafka-XXXXXX", err[512], cmd[600];
    vigil_config_t cfg;
    vigil_pipeline_t *p = NULL;
    watch_t w = {0};
    pthread_t watcher;
    int rc = -1, watching = 0;
    memset(res, 0, sizeof(*res));
    vigil_config_init(&cfg);
    if (!mkdtemp(dir)) {
        snprintf(err, sizeof(err), "mkdtemp %s failed", dir);
        goto out;
    }
    if (vigil_config_set(&cfg, "store.data_dir", dir, "bench", err, sizeof(err)) ||
        vigil_config_set(&cfg, "bus.url", bus_url, "bench", err, sizeof(err)) ||
        vigil_config_set(&cfg, "ingest.realtime", "true", "bench", err, sizeof(err)) ||
        vigil_config_set(&cfg, "infer.model", "motion", "bench", err, sizeof(err)) ||
        vigil_config_set(&cfg, "log.level", "warn", "bench", err, sizeof(err)) ||
        vigil_config_add_source(&cfg, video, err, sizeof(err)))
        goto out;
    cfg.cameras[0].fps = 0; /* the source's own 10 fps */
    cfg.cameras[0].loop = 1;
    vigil_log_set_level(VIGIL_LOG_WARN);
    vigil_metrics_reset();
    size_t cap = (size_t)(seconds * 30) + 1000; /* 10 fps, and room for drained frames */
    w.dir = dir;
    w.cap = cap;
    w.next_frame_id = 1;
    if (!(w.frame_s = calloc(cap, sizeof(double))) || !(w.det_s = calloc(cap, sizeof(double))) ||
        !(w.seen = calloc(SEQ_SEEN, 1))) {
        snprintf(err, sizeof(err), "out of memory");
        goto out;
    }
    if (!(p = vigil_pipeline_new(&cfg, VIGIL_STAGE_ALL & ~VIGIL_STAGE_API, err, sizeof(err))) ||
        vigil_pipeline_start(p, err, sizeof(err)))
        goto out;
    if (pthread_create(&watcher, NULL, watch_main, &w)) {
        snprintf(err, sizeof(err), "cannot start the warehouse watcher");
        goto out;
    }
    watching = 1;
    int64_t t0 = vigil_mono_us();
    while (vigil_mono_us() - t0 < (int64_t)(seconds * 1e6)) vigil_sleep_us(100000);
    vigil_pipeline_stop(p, 30000); /* drains: the last frames are stored too */
    atomic_store(&w.stop, 1);
    pthread_join(watcher, NULL);
    watching = 0;
    const char *fams[2] = {"vigil_frame_capture_to_stored_seconds",
                           "vigil_detection_capture_to_stored_seconds"};
    for (int i = 0; i < 2; i++) {
        vigil_histogram_t *h = vigil_metrics_histogram(fams[i], NULL, i ? NULL : "camera",
                                                       i ? NULL : cfg.cameras[0].id, NULL, NULL);
        res->n[i] = (unsigned long long)vigil_histogram_count(h);
        res->p50[i] = vigil_histogram_quantile(h, 0.5);
        res->p99[i] = vigil_histogram_quantile(h, 0.99);
    }
    vigil_pipeline_free(p);
    p = NULL;
    if (getenv("BENCH_TRACE")) /* per frame, in store order: where the time went */
        for (size_t i = 0; i < w.nframe; i++)
            fprintf(stderr, "bench: %s frame row %zu: %.1f ms\n", bus_url, i + 1, w.frame_s[i] * 1e3);
    watch_summary(w.frame_s, w.nframe, &res->ex[0]);
    watch_summary(w.det_s, w.ndet, &res->ex[1]);
    res->ok = 1;
    rc = 0;
out:
    if (rc) fprintf(stderr, "bench: pipeline on %s: %s\n", bus_url, err);
    if (watching) {
        atomic_store(&w.stop, 1);
        pthread_join(watcher, NULL);
    }
    if (p) {
        vigil_pipeline_stop(p, 5000);
        vigil_pipeline_free(p);
    }
    free(w.frame_s);
    free(w.det_s);
    free(w.seen);
    vigil_config_release(&cfg);
    if (dir[strlen(dir) - 1] != 'X') {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "bench: cannot remove %s\n", dir);
    }
    return rc;
}

/* The histogram bucket (ms) holding a value, for the output. */
static void bucket_of(double s, char *buf, size_t size)
{
    static const double b[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                               0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
    double lo = 0;
    if (s >= 10.0) { /* the quantile of the +Inf bucket is reported as the last bound */
        snprintf(buf, size, "(10000,inf)");
        return;
    }
    for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
        if (s <= b[i]) {
            snprintf(buf, size, "(%g,%g]", lo * 1e3, b[i] * 1e3);
            return;
        }
        lo = b[i];
    }
    snprintf(buf, size, ">%g", lo * 1e3);
}

static void print_tput(const char *bus, size_t size, const tput_t *t)
{
    double mb = (double)(t->n * size) / 1e6;
    printf("  %-7s %4zu KB %6zu %10.0f %9.1f %10.0f %9.1f %8.2f %8.2f %8.2f%s\n", bus,
           size / 1000, t->n, (double)t->n / t->pub_s, mb / t->pub_s, (double)t->n / t->con_s,
           mb / t->con_s, t->join_s, t->rtt_p50 * 1e3, t->rtt_p99 * 1e3,
           t->bad ? "  SIZE MISMATCH" : "");
}

static void print_lat(const char *bus, const lat_t *l)
{
    const char *what[2] = {"frame stored", "detections stored"};
    char b50[32], b99[32];
    if (!l->ok) {
        printf("  %-7s (failed, see stderr)\n", bus);
        return;
    }
    for (int i = 0; i < 2; i++) {
        bucket_of(l->p50[i], b50, sizeof(b50));
        bucket_of(l->p99[i], b99, sizeof(b99));
        printf("  %-7s %-18s histogram n=%-5llu p50 %7.1f ms in %-10s p99 %7.1f ms in %s\n",
               bus, what[i], l->n[i], l->p50[i] * 1e3, b50, l->p99[i] * 1e3, b99);
        printf("  %-7s %-18s watcher   n=%-5zu p50 %7.1f ms               p99 %7.1f ms  "
               "max %.1f ms\n",
               bus, what[i], l->ex[i].n, l->ex[i].p50 * 1e3, l->ex[i].p99 * 1e3,
               l->ex[i].max * 1e3);
    }
}

int main(void)
{
    char err[512], kurl[1024];
    const char *bootstrap = getenv("VIGIL_KAFKA_BOOTSTRAP");
    const char *secs_env = getenv("BENCH_SECONDS"), *mb_env = getenv("BENCH_MB");
    double seconds = secs_env ? atof(secs_env) : 20, mb = mb_env ? atof(mb_env) : 100;
    const size_t sizes[2] = {50000, 200000};
    tput_t tp[2][2]; /* [size][inproc, kafka] */
    int tp_ok[2][2] = {{0, 0}, {0, 0}}, rc = 0;
    lat_t lat[2];
    pool_t pool;
    if (bootstrap && !*bootstrap) bootstrap = NULL;
    if (seconds <= 0) seconds = 20;
    if (mb <= 0) mb = 100;

    char *video = vigil_source_resolve("sample", err, sizeof(err));
    if (!video) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    vigil_log_set_level(VIGIL_LOG_WARN);
    if (pool_build(&pool, video, sizes[1])) {
        free(video);
        return 1;
    }
    printf("bench/kafka: %ld cores; kafka %s\n", sysconf(_SC_NPROCESSORS_ONLN),
           bootstrap ? bootstrap : "not given (VIGIL_KAFKA_BOOTSTRAP unset): inproc only");
    printf("frames: slices of %zu vtest.avi frames JPEG-encoded end to end (%.1f MB of real "
           "JPEG), %d camera keys\n",
           (size_t)POOL_FRAMES, (double)pool.len / 1e6, NCAMERAS);

    for (int s = 0; s < 2; s++) {
        size_t n = (size_t)(mb * 1e6 / (double)sizes[s]);
        if (throughput(NULL, &pool, sizes[s], n, &tp[s][0]) == 0) tp_ok[s][0] = 1;
        else rc = 1;
        if (bootstrap) {
            if (throughput(bootstrap, &pool, sizes[s], n, &tp[s][1]) == 0) tp_ok[s][1] = 1;
            else rc = 1;
        }
    }
    printf("\nthroughput: fresh topic, %d partitions (kafka: RF 3, min ISR 2, acks=all, "
           "default URL options); MB = 10^6 bytes\n", PARTITIONS);
    printf("  produced = publish all + flush (every delivery report back); consumed = one group "
           "member polls + acks all + commits (join not included)\n");
    printf("  rtt = one frame published + flushed on its own, %d times after an untimed warm-up\n",
           RTT_N);
    printf("  %-7s %7s %6s %10s %9s %10s %9s %8s %8s %8s\n", "bus", "frame", "n", "pub fr/s",
           "pub MB/s", "con fr/s", "con MB/s", "join s", "rtt50 ms", "rtt99 ms");
    for (int s = 0; s < 2; s++)
        for (int b = 0; b < 2; b++)
            if (tp_ok[s][b]) print_tput(b ? "kafka" : "inproc", sizes[s], &tp[s][b]);

    if (latency(video, "inproc://", seconds, &lat[0])) rc = 1;
    if (bootstrap) {
        snprintf(kurl, sizeof(kurl), "kafka://%s", bootstrap);
        if (create_pipeline_topics(bootstrap) || latency(video, kurl, seconds, &lat[1])) rc = 1;
    }
    printf("\nlatency: whole pipeline in this process (ingest, preprocess, infer=motion, sink), "
           "vtest.avi at its native 10 fps for %.0f s, 1 camera\n", seconds);
    printf("  (kafka: pipeline topics %d partitions, RF 3, min ISR 2)\n", PARTITIONS);
    printf("  capture -> stored. histogram: the stages' own histograms, quantiles interpolated "
           "inside coarse fixed buckets\n"
           "  (.., 5, 10, 25, 50, 100, 250 ms, ..; the bucket is named). watcher: exact per-frame "
           "percentiles, capture time vs. when\n"
           "  the row became visible to a reader polling the warehouse every %d ms (frames with no "
           "detection row are not seen there)\n",
           POLL_US / 1000);
    print_lat("inproc", &lat[0]);
    if (bootstrap) print_lat("kafka", &lat[1]);

    free(pool.data);
    free(video);
    return rc;
}
