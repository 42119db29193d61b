/* The infer stage: frames.gated -> model -> detections.
 *
 * cfg->infer_workers threads, each a member of consumer group "infer" on
 * topic frames.gated, with its own model instance (model.h: one worker per
 * model) and JPEG codec. A worker micro-batches: after the first message it
 * keeps polling until the batch holds min(model max_batch, infer_batch_size)
 * frames or infer_batch_timeout_ms have passed, so frames of several cameras
 * share one model call. Each frame of the batch then gets one Detections
 * message on topic detections (key = camera id), and its input is acked
 * after that publish (at-least-once).
 *
 * A message that does not decode, or whose JPEG is corrupt, is logged,
 * counted failed, acked and left out of the batch. So is a frame whose JPEG
 * header says another size than the message or more pixels than
 * limits.max_frame_pixels: it is refused from the header, before decoding
 * (vigil_frames_refused_total{stage="infer",reason}).
 *
 * Per-camera state (metrics pointers here, whatever the model keeps, such as
 * the motion model's background) is bounded: a camera that sent nothing for
 * limits.camera_forget_s is forgotten (vigil_model_forget_camera), and a
 * worker keeps at most limits.max_cameras cameras. Per camera metrics are
 * stage "infer"; the batching shows in vigil_infer_batches_total,
 * vigil_infer_batch_frames_total and the gauge vigil_infer_batch_size (the
 * last batch).
 *
 * Publish failures, by class (vigil/err.h): retriable (the bus is full,
 * times out or reports an error; or it closed at shutdown) give the frame
 * back for redelivery and the worker waits, 100 ms doubling to 5 s, before
 * polling again, instead of taking the same message back at once; refused
 * (a message the bus will never take, such as one over its size limit) is
 * counted failed and acked. Per-frame errors are logged once per 10 s per
 * camera with a count (vigil_log_limited). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/bus.h"
#include "vigil/clock.h"
#include "vigil/fault.h"
#include "vigil/image.h"
#include "vigil/log.h"
#include "vigil/metrics.h"
#include "vigil/model.h"
#include "vigil/msg.h"
#include "vigil/nn.h"
#include "vigil/stages.h"
#include "vigil/workers.h"

#define STAGE "infer"
#define POLL_MS 100
#define BACKOFF_MIN_US 100000
#define BACKOFF_MAX_US 5000000

typedef struct inf_camera {
    char id[VIGIL_CAMERA_ID_MAX];
    vigil_stage_metrics_t m;
    int64_t seen_us; /* monotonic time of its last frame */
    int in_batch;    /* frames of it in the batch being assembled: not forgotten meanwhile */
    vigil_log_limit_t errlog; /* its frames' error records */
    struct inf_camera *next;
} inf_camera_t;

/* One frame of the batch being assembled. */
typedef struct inf_slot {
    vigil_bus_msg_t *msg;
    Vigil__V1__GatedFrame *frame;
    inf_camera_t *cam;
    vigil_image_t image; /* RGB, buffer reused across batches */
} inf_slot_t;

typedef struct inf_worker {
    struct vigil_infer *infer;
    int index;
    vigil_consumer_t *consumer;
    vigil_jpeg_t *jpeg;
    vigil_model_t *model;
    int batch_max;
    inf_slot_t *slots;
    vigil_model_input_t *inputs;
    vigil_detection_list_t *outs;
    inf_camera_t *cameras;
    size_t ncameras;  /* at most limits.max_cameras */
    int64_t swept_us; /* last look for idle cameras */
    vigil_stage_metrics_t unknown;
    vigil_counter_t *refused_mismatch, *refused_large, *refused_cameras;
    int64_t lag_reported; /* this worker's share of the stage's queue_depth gauge */
    vigil_log_limit_t errlog; /* records of messages of no camera, and of model calls */
    int64_t backoff_us;       /* wait after a publish failed for a retriable reason */
} inf_worker_t;

struct vigil_infer {
    const vigil_config_t *cfg;
    vigil_bus_t *bus;
    vigil_workers_t threads;
    int nworkers;
    inf_worker_t *workers;
    vigil_counter_t *batches, *batch_frames;
    vigil_gauge_t *batch_size;
};

/* Fault injection, as in preprocess.c (vigil/fault.h; vigil-fault only): the
 * Nth frame of VIGIL_TEST_CRASH_AFTER_PROCESSING ends the process with
 * _exit(137) after its detections were published (flushed) and before it is
 * acked: mid-batch, between processing and commit. */
static void crash_point(inf_worker_t *w)
{
    if (!vigil_fault_crash_due()) return;
    vigil_bus_flush(w->infer->bus, 5000);
    vigil_sleep_us(300000);
    vigil_fault_crash(STAGE);
}

/* Drops the state of the cameras that sent nothing for limits.camera_forget_s
 * (removed, stopped, or moved to another worker): the model forgets what it
 * keeps for them (vigil_model_forget_camera: the motion model's background)
 * and the table entry goes. Looked at once a second, or now when `force`;
 * never for a camera with a frame in the batch being assembled. */
static void forget_idle(inf_worker_t *w, int64_t now, int force)
{
    const vigil_config_t *cfg = w->infer->cfg;
    double forget_s = cfg->limits_camera_forget_s > 0 ? cfg->limits_camera_forget_s : 600;
    if (!force && now - w->swept_us < 1000000) return;
    w->swept_us = now;
    for (inf_camera_t **p = &w->cameras; *p;) {
        inf_camera_t *cam = *p;
        if (cam->in_batch || (double)(now - cam->seen_us) / 1e6 < forget_s) {
            p = &cam->next;
            continue;
        }
        vigil_debug(STAGE, cam->id, "camera \"%s\": no frame for %.0f s: its state is dropped",
                    cam->id, forget_s);
        vigil_model_forget_camera(w->model, cam->id);
        *p = cam->next;
        vigil_log_limit_flush(&cam->errlog);
        vigil_stage_metrics_release(&cam->m); /* its series go away from /metrics */
        free(cam);
        w->ncameras--;
    }
}

/* The entry of camera `id`, created on its first frame. NULL when out of
 * memory or, with *full set, when the worker already keeps
 * limits.max_cameras cameras that are not idle. */
static inf_camera_t *camera_get(inf_worker_t *w, const char *id, int64_t now, int *full)
{
    const vigil_config_t *cfg = w->infer->cfg;
    size_t max = cfg->limits_max_cameras > 0 ? (size_t)cfg->limits_max_cameras : 1024;
    *full = 0;
    for (inf_camera_t *cam = w->cameras; cam; cam = cam->next)
        if (strcmp(cam->id, id) == 0) {
            cam->seen_us = now;
            return cam;
        }
    if (w->ncameras >= max) forget_idle(w, now, 1);
    if (w->ncameras >= max) {
        *full = 1;
        return NULL;
    }
    inf_camera_t *cam = calloc(1, sizeof *cam);
    if (!cam) return NULL;
    snprintf(cam->id, sizeof cam->id, "%s", id);
    vigil_stage_metrics_init(&cam->m, STAGE, cam->id);
    cam->seen_us = now;
    cam->next = w->cameras;
    w->cameras = cam;
    w->ncameras++;
    return cam;
}

static void ack(inf_worker_t *w, vigil_bus_msg_t *msg)
{
    vigil_err_t err = vigil_consumer_ack(w->consumer, msg);
    if (err)
        vigil_warn(STAGE, NULL, "cannot ack %s[%d]@%lld: %s", msg->topic, (int)msg->partition,
                   (long long)msg->offset, vigil_err_str(err));
}

/* Decodes msg into the next free slot. Returns 1 if it joined the batch; 0
 * if it was bad (then it is logged, counted failed and acked here). */
static int admit(inf_worker_t *w, vigil_bus_msg_t *msg, int n)
{
    char errstr[256] = "";
    inf_slot_t *slot = &w->slots[n];
    Vigil__V1__GatedFrame *frame =
        vigil_gated_frame_decode(msg->value, msg->value_len, errstr, sizeof errstr);
    if (!frame) {
        char fields[160];
        snprintf(fields, sizeof fields, "\"topic\":\"%s\",\"partition\":%d,\"offset\":%lld",
                 msg->topic, (int)msg->partition, (long long)msg->offset);
        vigil_counter_inc(w->unknown.in);
        vigil_counter_inc(w->unknown.failed);
        vigil_log_limited(&w->errlog, VIGIL_LOG_ERROR, STAGE, NULL, fields,
                          "bad gated frame at %s[%d]@%lld: %s", msg->topic, (int)msg->partition,
                          (long long)msg->offset, errstr);
        ack(w, msg);
        return 0;
    }
    int64_t now = vigil_mono_us();
    int full;
    forget_idle(w, now, 0);
    inf_camera_t *cam = camera_get(w, frame->camera_id, now, &full);
    vigil_stage_metrics_t *m = cam ? &cam->m : &w->unknown;
    vigil_counter_inc(m->in);
    /* the JPEG's own header first: the size the message declares, at most
     * limits.max_frame_pixels; only then is it decoded */
    vigil_err_t err =
        !cam ? vigil_seterr(errstr, sizeof errstr, full ? VIGIL_ERR_FULL : VIGIL_ERR_NOMEM, "%s",
                            full ? "this worker already keeps the state of limits.max_cameras "
                                   "cameras"
                                 : "out of memory")
             : vigil_jpeg_check(w->jpeg, frame->jpeg.data, frame->jpeg.len, (int)frame->width,
                                (int)frame->height, errstr, sizeof errstr);
    if (err == VIGIL_ERR_FULL || err == VIGIL_ERR_INVALID || err == VIGIL_ERR_TOO_LARGE) {
        char fields[64];
        vigil_counter_inc(m->failed);
        vigil_counter_inc(err == VIGIL_ERR_FULL      ? w->refused_cameras
                          : err == VIGIL_ERR_INVALID ? w->refused_mismatch
                                                     : w->refused_large);
        snprintf(fields, sizeof fields, "\"sequence\":%llu", (unsigned long long)frame->sequence);
        vigil_log_limited(cam ? &cam->errlog : &w->errlog, VIGIL_LOG_ERROR, STAGE,
                          frame->camera_id, fields, "camera \"%s\": sequence %llu: frame refused: %s",
                          frame->camera_id, (unsigned long long)frame->sequence, errstr);
        vigil__v1__gated_frame__free_unpacked(frame, NULL);
        ack(w, msg);
        return 0;
    }
    if (!err)
        err = vigil_jpeg_decode(w->jpeg, frame->jpeg.data, frame->jpeg.len, VIGIL_PIX_RGB24, 1,
                                &slot->image, errstr, sizeof errstr);
    if (err) {
        vigil_counter_inc(m->failed);
        vigil_log_limited(cam ? &cam->errlog : &w->errlog, VIGIL_LOG_ERROR, STAGE,
                          frame->camera_id, NULL, "sequence %llu: corrupt jpeg: %s",
                          (unsigned long long)frame->sequence, errstr);
        vigil__v1__gated_frame__free_unpacked(frame, NULL);
        ack(w, msg);
        return 0;
    }
    slot->msg = msg;
    slot->frame = frame;
    slot->cam = cam;
    cam->in_batch++;
    w->inputs[n] = (vigil_model_input_t){
        .image = &slot->image,
        .camera_id = cam->id,
        .sequence = frame->sequence,
        .capture_time_us = frame->capture_time_us,
    };
    return 1;
}

/* Publishes the Detections of slot i. */
static vigil_err_t publish(inf_worker_t *w, int i, int64_t infer_us)
{
    const inf_slot_t *slot = &w->slots[i];
    const vigil_detection_list_t *dl = &w->outs[i];
    Vigil__V1__Detections d = VIGIL__V1__DETECTIONS__INIT;
    Vigil__V1__Detection *items = calloc(dl->n ? dl->n : 1, sizeof *items);
    Vigil__V1__Detection **ptrs = calloc(dl->n ? dl->n : 1, sizeof *ptrs);
    uint8_t *buf = NULL;
    vigil_err_t err = VIGIL_ERR_NOMEM;
    if (!items || !ptrs) goto done;
    for (size_t k = 0; k < dl->n; k++) {
        const vigil_box_detection_t *b = &dl->items[k];
        vigil__v1__detection__init(&items[k]);
        items[k].x1 = b->x1;
        items[k].y1 = b->y1;
        items[k].x2 = b->x2;
        items[k].y2 = b->y2;
        items[k].score = b->score;
        items[k].label = (char *)b->label;
        items[k].class_id = b->class_id;
        ptrs[k] = &items[k];
    }
    d.schema_version = VIGIL_SCHEMA_VERSION;
    d.camera_id = slot->frame->camera_id;
    d.sequence = slot->frame->sequence;
    d.capture_time_us = slot->frame->capture_time_us;
    d.frame_id = slot->frame->frame_id;
    d.model = (char *)vigil_model_name(w->model);
    d.width = (uint32_t)slot->image.width;
    d.height = (uint32_t)slot->image.height;
    d.n_items = dl->n;
    d.items = ptrs;
    d.infer_time_us = infer_us;
    size_t len;
    if (!(buf = vigil_msg_pack(&d.base, &len))) goto done;
    err = vigil_consumer_publish(w->consumer, VIGIL_TOPIC_DETECTIONS, d.camera_id,
                                 strlen(d.camera_id), buf, len, -1);
done:
    free(buf);
    free(ptrs);
    free(items);
    return err;
}

static void run_batch(inf_worker_t *w, int n)
{
    vigil_infer_t *inf = w->infer;
    char errstr[256] = "";
    int64_t t0 = vigil_mono_us();
    vigil_err_t err = vigil_model_infer(w->model, w->inputs, (size_t)n, w->outs, errstr,
                                        sizeof errstr);
    int64_t infer_us = vigil_mono_us() - t0;
    vigil_counter_inc(inf->batches);
    vigil_counter_add(inf->batch_frames, (uint64_t)n);
    vigil_gauge_set(inf->batch_size, n);
    if (err)
        vigil_log_limited(&w->errlog, VIGIL_LOG_ERROR, STAGE, NULL, NULL,
                          "model \"%s\" failed on a batch of %d frames: %s",
                          vigil_model_name(w->model), n, errstr);
    for (int i = 0; i < n; i++) {
        inf_slot_t *slot = &w->slots[i];
        vigil_stage_metrics_t *m = &slot->cam->m;
        vigil_histogram_observe(m->processing, (double)infer_us / 1e6);
        if (err) {
            /* a model failure is not cured by redelivery: count and move on */
            vigil_counter_inc(m->failed);
            ack(w, slot->msg);
        } else {
            vigil_err_t perr = publish(w, i, infer_us);
            if (perr) {
                int refused = vigil_err_class(perr) == VIGIL_ERR_CLASS_REFUSED;
                vigil_counter_inc(m->failed);
                if (perr != VIGIL_ERR_CLOSED)
                    vigil_log_limited(&slot->cam->errlog, VIGIL_LOG_ERROR, STAGE, slot->cam->id,
                                      NULL, "sequence %llu: cannot publish detections (%s): %s",
                                      (unsigned long long)slot->frame->sequence,
                                      refused ? "dropped" : "will retry", vigil_err_str(perr));
                if (refused) {
                    ack(w, slot->msg);
                } else {
                    /* not published: delivered again after a pause */
                    vigil_consumer_release(w->consumer, slot->msg);
                    w->backoff_us = w->backoff_us ? w->backoff_us * 2 : BACKOFF_MIN_US;
                    if (w->backoff_us > BACKOFF_MAX_US) w->backoff_us = BACKOFF_MAX_US;
                }
            } else {
                w->backoff_us = 0;
                vigil_counter_inc(m->out);
                crash_point(w);
                ack(w, slot->msg);
            }
        }
        slot->msg = NULL;
        slot->cam->in_batch--;
        vigil__v1__gated_frame__free_unpacked(slot->frame, NULL);
        slot->frame = NULL;
    }
}

static void *worker_main(void *arg)
{
    inf_worker_t *w = arg;
    const vigil_config_t *cfg = w->infer->cfg;
    int closed = 0;
    while (!closed && !vigil_workers_stopping(&w->infer->threads)) {
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
        int n = admit(w, msg, 0);
        int64_t deadline = vigil_mono_us() + (int64_t)cfg->infer_batch_timeout_ms * 1000;
        while (n < w->batch_max) {
            int64_t left_us = deadline - vigil_mono_us();
            if (left_us <= 0) break;
            err = vigil_consumer_poll(w->consumer, &msg, (int)((left_us + 999) / 1000));
            if (err == VIGIL_ERR_CLOSED) closed = 1;
            if (err) break;
            n += admit(w, msg, n);
        }
        if (n > 0) run_batch(w, n);
        /* a publish failed for a retriable reason: not the same message
         * again at once (sliced, so that a stop is not delayed) */
        for (int64_t until = vigil_mono_us() + w->backoff_us;
             w->backoff_us && !closed && !vigil_workers_stopping(&w->infer->threads) &&
             vigil_mono_us() < until;)
            vigil_sleep_us(POLL_MS * 1000);
    }
    return NULL;
}

static void worker_release(inf_worker_t *w)
{
    vigil_log_limit_flush(&w->errlog);
    if (w->consumer) vigil_consumer_close(w->consumer);
    w->consumer = NULL;
    vigil_model_close(w->model);
    w->model = NULL;
    vigil_jpeg_free(w->jpeg);
    w->jpeg = NULL;
    if (w->slots)
        for (int i = 0; i < w->batch_max; i++) vigil_image_release(&w->slots[i].image);
    if (w->outs)
        for (int i = 0; i < w->batch_max; i++) vigil_detection_list_release(&w->outs[i]);
    free(w->slots);
    free(w->inputs);
    free(w->outs);
    w->slots = NULL;
    w->inputs = NULL;
    w->outs = NULL;
    while (w->cameras) {
        inf_camera_t *next = w->cameras->next;
        vigil_log_limit_flush(&w->cameras->errlog);
        free(w->cameras);
        w->cameras = next;
    }
    w->ncameras = 0;
}

/* vigil_frames_refused_total{stage="infer",reason}, as in preprocess.c. */
static vigil_counter_t *refused_counter(const char *reason)
{
    return vigil_metrics_counter("vigil_frames_refused_total",
                                 "Frames refused before decoding: a JPEG header that differs "
                                 "from the message (size_mismatch), more pixels than "
                                 "limits.max_frame_pixels (too_large), or one camera more than "
                                 "limits.max_cameras (too_many_cameras).",
                                 "stage", STAGE, "reason", reason);
}

vigil_infer_t *vigil_infer_new(const vigil_config_t *cfg, vigil_bus_t *bus, char *errstr,
                               size_t errstr_size)
{
    if (!cfg || !bus || cfg->infer_workers < 1 || cfg->infer_batch_size < 1 ||
        cfg->infer_batch_timeout_ms < 0) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                     "infer: invalid configuration (workers %d, batch_size %d, "
                     "batch_timeout_ms %d)",
                     cfg ? cfg->infer_workers : 0, cfg ? cfg->infer_batch_size : 0,
                     cfg ? cfg->infer_batch_timeout_ms : 0);
        return NULL;
    }
    /* a VIGIL_NN_ISA this CPU cannot run stops the stage at start, whatever
     * the model (src/nn/cpu/isa.c) */
    char ierr[256];
    if (vigil_nn_isa_check(ierr, sizeof ierr)) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "infer: %s", ierr);
        return NULL;
    }
    vigil_infer_t *inf = calloc(1, sizeof *inf);
    if (!inf) goto oom;
    inf->cfg = cfg;
    inf->bus = bus;
    inf->nworkers = cfg->infer_workers;
    inf->batches = vigil_metrics_counter("vigil_infer_batches_total",
                                         "Model calls made by the infer stage.", NULL, NULL,
                                         NULL, NULL);
    inf->batch_frames = vigil_metrics_counter("vigil_infer_batch_frames_total",
                                              "Frames passed to the model, over all batches.",
                                              NULL, NULL, NULL, NULL);
    inf->batch_size = vigil_metrics_gauge("vigil_infer_batch_size",
                                          "Frames in the infer stage's last model call.", NULL,
                                          NULL, NULL, NULL);
    inf->workers = calloc((size_t)inf->nworkers, sizeof *inf->workers);
    if (!inf->workers) goto oom;
    vigil_model_conf_t mconf = {
        .name = cfg->infer_model,
        .min_score = (float)cfg->infer_min_score,
        .max_batch = cfg->infer_batch_size,
        .threads = cfg->infer_threads > 0 ? cfg->infer_threads
                                           : (int)sysconf(_SC_NPROCESSORS_ONLN),
    };
    const char *topics[] = {VIGIL_TOPIC_GATED};
    for (int i = 0; i < inf->nworkers; i++) {
        inf_worker_t *w = &inf->workers[i];
        w->infer = inf;
        w->index = i;
        vigil_stage_metrics_init(&w->unknown, STAGE, NULL);
        w->refused_mismatch = refused_counter("size_mismatch");
        w->refused_large = refused_counter("too_large");
        w->refused_cameras = refused_counter("too_many_cameras");
        if (!(w->jpeg = vigil_jpeg_new())) goto oom;
        vigil_jpeg_set_max_pixels(w->jpeg, cfg->limits_max_frame_pixels);
        if (!(w->model = vigil_model_open(&mconf, errstr, errstr_size))) goto fail;
        w->batch_max = w->model->max_batch < cfg->infer_batch_size ? w->model->max_batch
                                                                   : cfg->infer_batch_size;
        if (w->batch_max < 1) w->batch_max = 1;
        w->slots = calloc((size_t)w->batch_max, sizeof *w->slots);
        w->inputs = calloc((size_t)w->batch_max, sizeof *w->inputs);
        w->outs = calloc((size_t)w->batch_max, sizeof *w->outs);
        if (!w->slots || !w->inputs || !w->outs) goto oom;
        if (!(w->consumer = vigil_bus_subscribe(bus, "infer", topics, 1, errstr, errstr_size)))
            goto fail;
    }
    return inf;
oom:
    vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "infer: out of memory");
fail:
    vigil_infer_free(inf);
    return NULL;
}

vigil_err_t vigil_infer_start(vigil_infer_t *inf)
{
    vigil_err_t err = vigil_workers_start(&inf->threads, inf->nworkers, worker_main, inf->workers,
                                          sizeof *inf->workers, STAGE);
    if (err == VIGIL_OK) {
        /* the kernel tier the engine runs (src/nn/cpu/isa.c), the CPU and its flags */
        char isa[384], fields[64];
        vigil_nn_isa_describe(isa, sizeof isa);
        snprintf(fields, sizeof fields, "\"isa\":\"%s\"", vigil_nn_isa_name(vigil_nn_isa()));
        vigil_log_write(VIGIL_LOG_INFO, STAGE, NULL, fields,
                        "started %d workers, model \"%s\", batches of up to %d, nn kernels: %s",
                        inf->nworkers, inf->cfg->infer_model, inf->workers[0].batch_max, isa);
    }
    return err;
}

void vigil_infer_stop(vigil_infer_t *inf)
{
    if (inf) vigil_workers_stop(&inf->threads);
}

void vigil_infer_free(vigil_infer_t *inf)
{
    if (!inf) return;
    vigil_infer_stop(inf);
    if (inf->workers)
        for (int i = 0; i < inf->nworkers; i++) worker_release(&inf->workers[i]);
    free(inf->workers);
    free(inf);
}
