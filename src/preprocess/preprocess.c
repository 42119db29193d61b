/* The preprocess stage: frames -> warehouse + frames.gated.
 *
 * cfg->preprocess_workers threads, each a member of consumer group
 * "preprocess" on topic frames, with its own store connection and JPEG codec.
 * Per frame message a worker decodes the protobuf, decodes the JPEG to gray
 * at 1/N scale and downsizes it to preprocess_motion_width, scores it against
 * the camera's previous gray image (gate.c), and either drops it (no motion,
 * no keyframe due) or stores it in the warehouse and publishes a GatedFrame.
 *
 * Per-camera state (previous image, gate state, metrics pointers) lives in a
 * small table per worker, without locks: the bus gives all frames of a camera
 * to one member, so one worker sees a camera. After a rebalance the new owner
 * starts that camera afresh (its first frame scores 1 and is forwarded). The
 * table is bounded: a camera that sent nothing for limits.camera_forget_s is
 * forgotten, and at most limits.max_cameras are kept (a frame of one more is
 * refused): camera ids come from the bus, which is outside input.
 *
 * Outside input, too, is each frame's JPEG: its header is read first and the
 * frame refused (failed, vigil_frames_refused_total{reason}, logged with the
 * camera and sequence) when it says another size than the message or more
 * than limits.max_frame_pixels, so that no decoder allocates what a crafted
 * header asks for.
 *
 * Accounting: every frame message increments stage "in" once and exactly one
 * of out (stored and forwarded), dropped (gated out) or failed. Messages that
 * cannot be decoded at all are counted under the stage series without a
 * camera label.
 *
 * Store failures, by class (vigil/err.h), since a frame acked here and not
 * stored is gone for good:
 *  - the warehouse is unavailable for a while (VIGIL_ERR_AGAIN: the
 *    connection lost, the server restarting or refusing connections, a
 *    serialization failure, SQLite's lock held past its busy timeout;
 *    VIGIL_ERR_TIMED_OUT: a statement timeout): the frame is not processed
 *    yet. The worker keeps the message unacknowledged and stores the same
 *    frame again after 100 ms, doubling to 2 s, until it is taken (frame_put
 *    is idempotent on (camera, sequence), so a try whose commit did happen
 *    is not stored twice). Nothing behind it is committed (Kafka), and on the
 *    in-process bus the frames topic fills and blocks ingest (backpressure:
 *    a live camera's frames are then sampled less, never accepted and lost).
 *    Only a stop gives up: the frame is counted failed and given back to the
 *    bus (Kafka delivers it again; the in-process bus ends with the process).
 *  - the store cannot take it and waiting may not help soon (a full disk,
 *    I/O, memory: VIGIL_ERR_FULL, _IO, _NOMEM): counted failed and acked: the
 *    next frame of the camera is the retry, and waiting on a disk that may
 *    stay full would stall its partition; the retention sweeper frees space.
 *  - refused (a row the store will never take): counted failed and acked.
 * While a camera's frames wait or fail so, its status in the warehouse is
 * "degraded" with the error, /healthz says degraded naming it, and the log
 * says it once per 10 s with a count (vigil_log_limited): one record per
 * frame would bury everything else. The first frame stored again clears
 * all three. A fatal store error (no such table, a read-only database)
 * marks the process failed on /healthz, and `vigil run` stops saying why. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preprocess/gate.h"
#include "vigil/bus.h"
#include "vigil/clock.h"
#include "vigil/fault.h"
#include "vigil/health.h"
#include "vigil/image.h"
#include "vigil/log.h"
#include "vigil/metrics.h"
#include "vigil/msg.h"
#include "vigil/stages.h"
#include "vigil/store.h"
#include "vigil/workers.h"

#define STAGE "preprocess"
#define POLL_MS 100
/* waits between tries of a frame while the warehouse is unavailable: short,
 * so that frames flow again soon after it is back (a try is one connection
 * attempt or one statement) */
#define RETRY_MIN_US 100000
#define RETRY_MAX_US 2000000

/* Fault injection (vigil/fault.h; only the vigil-fault binary of test trees
 * has it, tests/integration/test_kafka_failures.py uses it): the Nth message
 * of VIGIL_TEST_CRASH_AFTER_PROCESSING ends the process with _exit(137) after
 * its output was published (and flushed to the cluster) but before it is
 * acknowledged: a worker killed between processing and commit. */
static void crash_point(vigil_bus_t *bus)
{
    if (!vigil_fault_crash_due()) return;
    vigil_bus_flush(bus, 5000);
    vigil_sleep_us(300000); /* transactional outputs reach the log too (then abort) */
    vigil_fault_crash(STAGE);
}

typedef struct pre_camera {
    char id[VIGIL_CAMERA_ID_MAX];
    vigil_image_t prev; /* previous motion image; data NULL before the first frame */
    vigil_gate_state_t gate;
    vigil_stage_metrics_t m;
    vigil_histogram_t *stored_latency; /* capture -> frame stored */
    int64_t seen_us;                   /* monotonic time of its last frame */
    vigil_log_limit_t errlog;          /* its frames' error records */
    uint64_t store_failures;           /* failed tries to store since the last frame stored */
    int64_t failing_since_us;          /* monotonic time of the first of them */
    int64_t status_us;                 /* monotonic time its "degraded" status was last written */
    struct pre_camera *next;
} pre_camera_t;

typedef struct pre_worker {
    struct vigil_preprocess *pre;
    int index;
    vigil_consumer_t *consumer;
    vigil_store_t *store;
    vigil_jpeg_t *jpeg;
    vigil_image_t decoded, small;
    pre_camera_t *cameras;
    size_t ncameras;               /* at most limits.max_cameras */
    int64_t swept_us;              /* last look for idle cameras */
    vigil_stage_metrics_t unknown; /* messages that name no valid camera */
    vigil_counter_t *refused_mismatch, *refused_large, *refused_cameras;
    int64_t lag_reported; /* this worker's share of the stage's queue_depth gauge */
    int64_t retry_us;     /* the next wait for an unavailable warehouse; 0 while it works */
    vigil_log_limit_t errlog; /* records of messages that name no camera it keeps */
} pre_worker_t;

struct vigil_preprocess {
    const vigil_config_t *cfg;
    vigil_bus_t *bus;
    vigil_workers_t threads;
    int nworkers;
    pre_worker_t *workers;
};

static void camera_free(pre_camera_t *cam)
{
    vigil_log_limit_flush(&cam->errlog);
    if (cam->store_failures) vigil_health_clear(STAGE, cam->id); /* it went away */
    vigil_image_release(&cam->prev);
    vigil_stage_metrics_release(&cam->m); /* a forgotten camera's series go away */
    vigil_histogram_release(cam->stored_latency);
    free(cam);
}

/* The camera's status in the warehouse (the API's /api/v1/cameras): set
 * when its frames start failing and again every 10 s while they do (ingest
 * may have written "online" meanwhile), back to online when one is stored.
 * A camera without a row (not registered yet) is left alone. */
static void camera_status(pre_worker_t *w, pre_camera_t *cam, const char *status,
                          const char *error)
{
    vigil_err_t err = vigil_store_camera_set_status(w->store, cam->id, status, error);
    if (err && err != VIGIL_ERR_NOT_FOUND)
        vigil_debug(STAGE, cam->id, "camera \"%s\": cannot set status %s: %s", cam->id, status,
                    vigil_err_str(err));
    cam->status_us = vigil_mono_us();
}

/* A frame of cam the store could not take (full disk, I/O, or the warehouse
 * unavailable, then `problem` says it is retried): see the top of the file. */
static void store_failing(pre_worker_t *w, pre_camera_t *cam, vigil_err_t err,
                          const char *problem)
{
    if (vigil_err_is_fatal(err)) {
        vigil_health_set(STAGE, NULL, VIGIL_HEALTH_FAILED, problem);
        return;
    }
    vigil_health_set(STAGE, cam->id, VIGIL_HEALTH_DEGRADED, problem);
    if (cam->store_failures++ == 0) cam->failing_since_us = vigil_mono_us();
    if (cam->store_failures == 1 || vigil_mono_us() - cam->status_us >= 10000000)
        camera_status(w, cam, "degraded", problem);
}

static void store_working(pre_worker_t *w, pre_camera_t *cam)
{
    w->retry_us = 0;
    if (!cam->store_failures) return;
    vigil_log_limit_flush(&cam->errlog);
    vigil_info(STAGE, cam->id,
               "camera \"%s\": frames are stored again after %llu failed tries in %.1f s",
               cam->id, (unsigned long long)cam->store_failures,
               (double)(vigil_mono_us() - cam->failing_since_us) / 1e6);
    vigil_health_clear(STAGE, cam->id);
    camera_status(w, cam, "online", "");
    cam->store_failures = 0;
}

/* Whether a frame the store did not take waits for the warehouse and is
 * tried again (rather than counted failed): see the top of the file. */
static int store_unavailable(vigil_err_t err)
{
    return err == VIGIL_ERR_AGAIN || err == VIGIL_ERR_TIMED_OUT;
}

/* The warehouse cannot take cam's frame `sequence` now (err, errstr): says
 * so (health, camera status, the log once per 10 s with a count) and waits
 * before the next try, 100 ms doubling to 2 s, in slices so that a stop is
 * not delayed. Returns 0 when the stage is stopping instead. */
static int wait_for_store(pre_worker_t *w, pre_camera_t *cam, uint64_t sequence,
                          vigil_err_t err, const char *errstr)
{
    char problem[384], fields[64];
    w->retry_us = w->retry_us ? w->retry_us * 2 : RETRY_MIN_US;
    if (w->retry_us > RETRY_MAX_US) w->retry_us = RETRY_MAX_US;
    snprintf(problem, sizeof problem,
             "frames wait for the warehouse (%s), retried every %.1f s at most: %s",
             vigil_err_str(err), (double)RETRY_MAX_US / 1e6, errstr);
    store_failing(w, cam, err, problem);
    snprintf(fields, sizeof fields, "\"sequence\":%llu", (unsigned long long)sequence);
    vigil_log_limited(&cam->errlog, VIGIL_LOG_WARN, STAGE, cam->id, fields,
                      "camera \"%s\": sequence %llu: cannot store frame yet, retrying in "
                      "%.1f s: %s",
                      cam->id, (unsigned long long)sequence, (double)w->retry_us / 1e6, errstr);
    int64_t until = vigil_mono_us() + w->retry_us;
    for (;;) {
        if (vigil_workers_stopping(&w->pre->threads)) return 0;
        int64_t left = until - vigil_mono_us();
        if (left <= 0) return 1;
        vigil_sleep_us(left < POLL_MS * 1000 ? left : POLL_MS * 1000);
    }
}

/* Drops the state of the cameras that sent nothing for limits.camera_forget_s
 * (removed, stopped, or moved to another worker by a rebalance): looked at
 * once a second, or now when `force`. Their metrics series are released
 * (hidden from /metrics unless another worker still holds them). */
static void forget_idle(pre_worker_t *w, int64_t now, int force)
{
    const vigil_config_t *cfg = w->pre->cfg;
    double forget_s = cfg->limits_camera_forget_s > 0 ? cfg->limits_camera_forget_s : 600;
    if (!force && now - w->swept_us < 1000000) return;
    w->swept_us = now;
    for (pre_camera_t **p = &w->cameras; *p;) {
        pre_camera_t *cam = *p;
        if ((double)(now - cam->seen_us) / 1e6 < forget_s) {
            p = &cam->next;
            continue;
        }
        vigil_debug(STAGE, cam->id, "camera \"%s\": no frame for %.0f s: its state is dropped",
                    cam->id, forget_s);
        *p = cam->next;
        camera_free(cam);
        w->ncameras--;
    }
}

/* The state of camera `id`, created on its first frame. NULL when out of
 * memory or, with *full set, when the worker already keeps
 * limits.max_cameras cameras that are not idle. */
static pre_camera_t *camera_get(pre_worker_t *w, const char *id, int64_t now, int *full)
{
    const vigil_config_t *cfg = w->pre->cfg;
    size_t max = cfg->limits_max_cameras > 0 ? (size_t)cfg->limits_max_cameras : 1024;
    *full = 0;
    for (pre_camera_t *cam = w->cameras; cam; cam = cam->next)
        if (strcmp(cam->id, id) == 0) {
            cam->seen_us = now;
            return cam;
        }
    if (w->ncameras >= max) forget_idle(w, now, 1);
    if (w->ncameras >= max) {
        *full = 1;
        return NULL;
    }
    pre_camera_t *cam = calloc(1, sizeof *cam);
    if (!cam) return NULL;
    snprintf(cam->id, sizeof cam->id, "%s", id);
    vigil_stage_metrics_init(&cam->m, STAGE, cam->id);
    cam->stored_latency = vigil_metrics_histogram(
        "vigil_frame_capture_to_stored_seconds",
        "Time from a frame's capture to its JPEG and row being in the warehouse", "camera",
        cam->id, NULL, NULL);
    cam->seen_us = now;
    cam->next = w->cameras;
    w->cameras = cam;
    w->ncameras++;
    return cam;
}

/* Decodes the frame's JPEG into w->small: gray, motion_width wide. */
static vigil_err_t motion_image(pre_worker_t *w, const Vigil__V1__Frame *frame, int *width,
                                int *height, char *errstr, size_t errstr_size)
{
    const vigil_config_t *cfg = w->pre->cfg;
    vigil_err_t err = vigil_jpeg_header(w->jpeg, frame->jpeg.data, frame->jpeg.len, width, height,
                                        errstr, errstr_size);
    if (err) return err;
    int denom = vigil__gate_scale_denom(*width, cfg->preprocess_motion_width);
    err = vigil_jpeg_decode(w->jpeg, frame->jpeg.data, frame->jpeg.len, VIGIL_PIX_GRAY8, denom,
                            &w->decoded, errstr, errstr_size);
    if (err) return err;
    int mw, mh;
    vigil__gate_motion_size(w->decoded.width, w->decoded.height, cfg->preprocess_motion_width,
                            &mw, &mh);
    err = vigil_image_gray_resize(&w->decoded, mw, mh, &w->small);
    if (err)
        return vigil_seterr(errstr, errstr_size, err, "cannot resize to %dx%d: %s", mw, mh,
                            vigil_err_str(err));
    return VIGIL_OK;
}

/* Stores the frame and publishes its GatedFrame. On failure the caller
 * tries again (the warehouse unavailable) or counts the frame failed and
 * acks it; *stored says whether the store took it (a failure after it is
 * the publish's: that frame is sent again by the next `vigil run`, since it
 * is stored but not processed). */
static vigil_err_t forward(pre_worker_t *w, pre_camera_t *cam, const Vigil__V1__Frame *frame,
                           int width, int height, double score, int keyframe, int *stored,
                           char *errstr, size_t errstr_size)
{
    vigil_frame_row_t row = {0};
    snprintf(row.camera_id, sizeof row.camera_id, "%s", frame->camera_id);
    row.sequence = frame->sequence;
    row.capture_time_us = frame->capture_time_us;
    row.width = width;
    row.height = height;
    row.size_bytes = (int64_t)frame->jpeg.len;
    row.motion_score = (float)score;
    row.keyframe = keyframe;
    /* A full disk or I/O error fails this frame but still acks it: waiting
     * would stall the camera's partition behind a disk that may stay full,
     * so the pipeline goes on with the next frames (the failure is logged
     * and counted; the retention sweeper frees space). An unavailable
     * warehouse is waited for by the caller (top of the file). */
    *stored = 0;
    vigil_err_t err = vigil_store_frame_put(w->store, &row, frame->jpeg.data, frame->jpeg.len,
                                            errstr, errstr_size);
    if (err) return err;
    *stored = 1;
    vigil_histogram_observe(cam->stored_latency,
                            (double)(vigil_now_us() - frame->capture_time_us) / 1e6);

    Vigil__V1__GatedFrame g = VIGIL__V1__GATED_FRAME__INIT;
    g.schema_version = VIGIL_SCHEMA_VERSION;
    g.camera_id = frame->camera_id;
    g.sequence = frame->sequence;
    g.capture_time_us = frame->capture_time_us;
    g.width = (uint32_t)width;
    g.height = (uint32_t)height;
    g.frame_id = row.id;
    g.motion_score = (float)score;
    g.keyframe = keyframe;
    g.jpeg = frame->jpeg;
    size_t len;
    uint8_t *buf = vigil_msg_pack(&g.base, &len);
    if (!buf) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "out of memory");
    /* as the output of the frame message: exactly-once on a transactional bus */
    err = vigil_consumer_publish(w->consumer, VIGIL_TOPIC_GATED, frame->camera_id,
                                 strlen(frame->camera_id), buf, len, -1);
    free(buf);
    if (err) {
        /* Only at shutdown (bus closed) or on a bus error: the frame is stored
         * but not forwarded. It is counted failed and acked like a store
         * failure, which keeps the accounting exact (one outcome per message);
         * releasing it would count it again on redelivery. */
        return vigil_seterr(errstr, errstr_size, err, "cannot publish to %s: %s",
                            VIGIL_TOPIC_GATED, vigil_err_str(err));
    }
    return VIGIL_OK;
}

static void handle(pre_worker_t *w, vigil_bus_msg_t *msg)
{
    const vigil_config_t *cfg = w->pre->cfg;
    char errstr[256] = "";
    char fields[160];
    int64_t t0 = vigil_mono_us();
    pre_camera_t *cam = NULL;
    Vigil__V1__Frame *frame = vigil_frame_decode(msg->value, msg->value_len, errstr, sizeof errstr);
    if (!frame) {
        vigil_counter_inc(w->unknown.in);
        vigil_counter_inc(w->unknown.failed);
        snprintf(fields, sizeof fields, "\"topic\":\"%s\",\"partition\":%d,\"offset\":%lld",
                 msg->topic, (int)msg->partition, (long long)msg->offset);
        vigil_log_limited(&w->errlog, VIGIL_LOG_ERROR, STAGE, NULL, fields,
                          "bad frame message at %s[%d]@%lld: %s", msg->topic,
                          (int)msg->partition, (long long)msg->offset, errstr);
        goto done;
    }
    forget_idle(w, t0, 0);
    int full;
    cam = camera_get(w, frame->camera_id, t0, &full);
    snprintf(fields, sizeof fields, "\"sequence\":%llu", (unsigned long long)frame->sequence);
    if (!cam) {
        vigil_counter_inc(w->unknown.in);
        vigil_counter_inc(w->unknown.failed);
        if (full) {
            vigil_counter_inc(w->refused_cameras);
            vigil_log_limited(&w->errlog, VIGIL_LOG_ERROR, STAGE, frame->camera_id, fields,
                              "camera \"%s\": sequence %llu: frame refused: this worker "
                              "already keeps the state of %zu cameras (limits.max_cameras)",
                              frame->camera_id, (unsigned long long)frame->sequence,
                              w->ncameras);
        } else {
            vigil_log_limited(&w->errlog, VIGIL_LOG_ERROR, STAGE, frame->camera_id, fields,
                              "sequence %llu: out of memory",
                              (unsigned long long)frame->sequence);
        }
        goto done;
    }
    vigil_counter_inc(cam->m.in);

    /* the JPEG's own header, before anything is decoded: the size the
     * message declares and at most limits.max_frame_pixels */
    vigil_err_t cerr = vigil_jpeg_check(w->jpeg, frame->jpeg.data, frame->jpeg.len,
                                        (int)frame->width, (int)frame->height, errstr,
                                        sizeof errstr);
    if (cerr == VIGIL_ERR_INVALID || cerr == VIGIL_ERR_TOO_LARGE) {
        vigil_counter_inc(cam->m.failed);
        vigil_counter_inc(cerr == VIGIL_ERR_INVALID ? w->refused_mismatch : w->refused_large);
        vigil_log_limited(&cam->errlog, VIGIL_LOG_ERROR, STAGE, cam->id, fields,
                          "camera \"%s\": sequence %llu: frame refused: %s", cam->id,
                          (unsigned long long)frame->sequence, errstr);
        goto done;
    }
    int width, height;
    if (cerr || motion_image(w, frame, &width, &height, errstr, sizeof errstr)) {
        vigil_counter_inc(cam->m.failed);
        vigil_log_limited(&cam->errlog, VIGIL_LOG_ERROR, STAGE, cam->id, fields,
                          "sequence %llu: corrupt jpeg: %s", (unsigned long long)frame->sequence,
                          errstr);
        goto done;
    }
    double score = 1.0;
    if (cam->prev.data && cam->prev.width == w->small.width &&
        cam->prev.height == w->small.height)
        score = vigil__gate_motion_score(cam->prev.data, w->small.data,
                                         (size_t)w->small.width * (size_t)w->small.height);
    /* the current image becomes the previous one; buffers swap, no copy */
    vigil_image_t tmp = cam->prev;
    cam->prev = w->small;
    w->small = tmp;

    vigil_gate_verdict_t verdict =
        vigil__gate_decide(&cam->gate, score, frame->capture_time_us,
                           cfg->preprocess_motion_threshold, cfg->preprocess_keyframe_interval_s);
    if (verdict == VIGIL_GATE_DROP) {
        vigil_counter_inc(cam->m.dropped);
        goto done;
    }
    int keyframe = verdict == VIGIL_GATE_KEYFRAME, stored = 0;
    vigil_err_t ferr;
    while ((ferr = forward(w, cam, frame, width, height, score, keyframe, &stored, errstr,
                           sizeof errstr)) &&
           !stored && store_unavailable(ferr)) {
        if (wait_for_store(w, cam, frame->sequence, ferr, errstr)) continue;
        /* stopping: the frame goes back to the bus, unacknowledged */
        vigil_counter_inc(cam->m.failed);
        vigil_log_limit_flush(&cam->errlog);
        vigil_error(STAGE, cam->id,
                    "camera \"%s\": sequence %llu: not stored: stopping while the warehouse "
                    "is unavailable (%s); the frame is given back to the bus (%s)",
                    cam->id, (unsigned long long)frame->sequence, errstr,
                    vigil_bus_caps(w->pre->bus) & VIGIL_BUS_CAP_BOUNDED
                        ? "the in-process bus ends with this process: it is lost"
                        : "not committed: delivered again to the next consumer");
        vigil_histogram_observe(cam->m.processing, (double)(vigil_mono_us() - t0) / 1e6);
        vigil__v1__frame__free_unpacked(frame, NULL);
        vigil_consumer_release(w->consumer, msg);
        return;
    }
    if (stored) store_working(w, cam);
    if (ferr) {
        vigil_counter_inc(cam->m.failed);
        if (!stored) {
            char problem[384];
            snprintf(problem, sizeof problem, "frames are not stored (%s): %s",
                     vigil_err_str(ferr), errstr);
            store_failing(w, cam, ferr, problem);
        }
        vigil_log_limited(&cam->errlog, VIGIL_LOG_ERROR, STAGE, cam->id, fields,
                          "sequence %llu: cannot %s frame: %s",
                          (unsigned long long)frame->sequence, stored ? "forward" : "store",
                          errstr);
        goto done;
    }
    vigil__gate_forwarded(&cam->gate, frame->capture_time_us);
    vigil_counter_inc(cam->m.out);
done:
    if (cam) vigil_histogram_observe(cam->m.processing, (double)(vigil_mono_us() - t0) / 1e6);
    if (frame) vigil__v1__frame__free_unpacked(frame, NULL);
    crash_point(w->pre->bus);
    vigil_err_t err = vigil_consumer_ack(w->consumer, msg);
    if (err)
        vigil_warn(STAGE, NULL, "cannot ack %s[%d]@%lld: %s", msg->topic, (int)msg->partition,
                   (long long)msg->offset, vigil_err_str(err));
}

static void *worker_main(void *arg)
{
    pre_worker_t *w = arg;
    while (!vigil_workers_stopping(&w->pre->threads)) {
        vigil_bus_msg_t *msg = NULL;
        vigil_err_t err = vigil_consumer_poll(w->consumer, &msg, POLL_MS);
        vigil_consumer_report_lag(w->consumer, w->unknown.queue_depth, &w->lag_reported);
        if (err == VIGIL_ERR_TIMED_OUT) continue;
        if (err == VIGIL_ERR_CLOSED) break;
        if (err) {
            vigil_warn(STAGE, NULL, "worker %d: poll failed: %s", w->index, vigil_err_str(err));
            vigil_sleep_us(POLL_MS * 1000);
            continue;
        }
        handle(w, msg);
    }
    return NULL;
}

static void worker_release(pre_worker_t *w)
{
    vigil_log_limit_flush(&w->errlog);
    if (w->consumer) vigil_consumer_close(w->consumer);
    w->consumer = NULL;
    vigil_store_close(w->store);
    w->store = NULL;
    vigil_jpeg_free(w->jpeg);
    w->jpeg = NULL;
    vigil_image_release(&w->decoded);
    vigil_image_release(&w->small);
    while (w->cameras) {
        pre_camera_t *next = w->cameras->next;
        camera_free(w->cameras);
        w->cameras = next;
    }
    w->ncameras = 0;
}

/* vigil_frames_refused_total{stage="preprocess",reason}: frames refused
 * before decoding (also counted failed under their camera). */
static vigil_counter_t *refused_counter(const char *reason)
{
    return vigil_metrics_counter("vigil_frames_refused_total",
                                 "Frames refused before decoding: a JPEG header that differs "
                                 "from the message (size_mismatch), more pixels than "
                                 "limits.max_frame_pixels (too_large), or one camera more than "
                                 "limits.max_cameras (too_many_cameras).",
                                 "stage", STAGE, "reason", reason);
}

vigil_preprocess_t *vigil_preprocess_new(const vigil_config_t *cfg, vigil_bus_t *bus, char *errstr,
                                         size_t errstr_size)
{
    if (!cfg || !bus || cfg->preprocess_workers < 1 || cfg->preprocess_motion_width < 1) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                     "preprocess: invalid configuration (workers %d, motion_width %d)",
                     cfg ? cfg->preprocess_workers : 0, cfg ? cfg->preprocess_motion_width : 0);
        return NULL;
    }
    vigil_preprocess_t *pre = calloc(1, sizeof *pre);
    if (!pre) goto oom;
    pre->cfg = cfg;
    pre->bus = bus;
    pre->nworkers = cfg->preprocess_workers;
    pre->workers = calloc((size_t)pre->nworkers, sizeof *pre->workers);
    if (!pre->workers) goto oom;
    /* store connections are opened one after the other, so that the first
     * one applies the migrations before the others look at the schema */
    vigil_store_conf_t sconf;
    vigil_store_conf_init(&sconf);
    sconf.url = cfg->store_url;
    sconf.data_dir = cfg->data_dir;
    sconf.migrate = 1;
    const char *topics[] = {VIGIL_TOPIC_FRAMES};
    for (int i = 0; i < pre->nworkers; i++) {
        pre_worker_t *w = &pre->workers[i];
        w->pre = pre;
        w->index = i;
        vigil_stage_metrics_init(&w->unknown, STAGE, NULL);
        w->refused_mismatch = refused_counter("size_mismatch");
        w->refused_large = refused_counter("too_large");
        w->refused_cameras = refused_counter("too_many_cameras");
        if (!(w->jpeg = vigil_jpeg_new())) goto oom;
        vigil_jpeg_set_max_pixels(w->jpeg, cfg->limits_max_frame_pixels);
        if (!(w->store = vigil_store_open(&sconf, errstr, errstr_size))) goto fail;
        if (!(w->consumer = vigil_bus_subscribe(bus, "preprocess", topics, 1, errstr, errstr_size)))
            goto fail;
    }
    return pre;
oom:
    vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "preprocess: out of memory");
fail:
    vigil_preprocess_free(pre);
    return NULL;
}

vigil_err_t vigil_preprocess_start(vigil_preprocess_t *pre)
{
    vigil_err_t err = vigil_workers_start(&pre->threads, pre->nworkers, worker_main, pre->workers,
                                          sizeof *pre->workers, STAGE);
    if (err == VIGIL_OK) vigil_info(STAGE, NULL, "started %d workers", pre->nworkers);
    return err;
}

void vigil_preprocess_stop(vigil_preprocess_t *pre)
{
    if (pre) vigil_workers_stop(&pre->threads);
}

void vigil_preprocess_free(vigil_preprocess_t *pre)
{
    if (!pre) return;
    vigil_preprocess_stop(pre);
    if (pre->workers)
        for (int i = 0; i < pre->nworkers; i++) worker_release(&pre->workers[i]);
    free(pre->workers);
    free(pre);
}
