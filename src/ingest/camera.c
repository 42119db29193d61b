/* One camera's thread: read its source, keep the frames the target rate
 * asks for, turn them into JPEG and publish them on topic "frames".
 *
 * Main ideas:
 *  - A camera never takes the process down: every failure (cannot open,
 *    stream dropped, decode error) is logged with the camera id, counted,
 *    shown in the camera's state, and retried with exponential backoff
 *    (ingest.reconnect_min_ms doubling up to ingest.reconnect_max_ms, back to
 *    the minimum after a frame gets through).
 *  - Sampling by time, not by count: a frame is kept when its time reaches
 *    next_due, then next_due advances by one period. Files use their pts (so
 *    sampling is exact and independent of decode speed); live sources use
 *    the monotonic clock at arrival.
 *  - Backpressure: publishing blocks while the frames topic is full, so a
 *    slow pipeline (or one waiting for the warehouse) slows reading instead
 *    of losing frames: a frame gets its sequence number before the wait and
 *    is either published or, at a stop, counted dropped; a live camera's
 *    frames that arrive meanwhile are not read (its source's buffers), and
 *    of those that then come in a burst, a target fps samples away the
 *    excess (counted dropped).
 *    The wait is cut in slices so that stop stays prompt, and timed in
 *    vigil_ingest_publish_wait_seconds{camera}.
 *  - Sequence numbers start at the wall clock in microseconds when the stage
 *    starts the camera, then count up by one per published frame. A restart
 *    of the process starts higher than any number the previous run used
 *    (unless it published more than a million frames a second), so
 *    (camera, sequence) keeps identifying a frame across restarts without
 *    any stored counter.
 *
 * Thread: everything here runs on the camera's own thread. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_int.h"
#include "vigil/clock.h"
#include "vigil/fault.h"
#include "vigil/log.h"
#include "vigil/msg.h"

#define PUBLISH_SLICE_MS 200      /* blocking publish, re-checking stop between slices */
#define SAMPLE_SLACK_US 1000      /* pts rounding: keep a frame due within 1 ms */
#define PACE_MAX_LAG_US 1000000   /* realtime pacing rebases rather than burst to catch up */
#define MAX_DECODE_ERRORS 300     /* consecutive: the stream is garbage, reopen it */

typedef enum { RUN_ENDED, RUN_STOPPED, RUN_RETRY } run_result_t;

static int cancel_cb(void *opaque)
{
    return vigil__camera_stopping(opaque);
}

/* Fault injection (vigil/fault.h; the vigil-fault binary only): with
 * VIGIL_TEST_ACKED_FILE=PATH every frame is flushed to the bus right after
 * its publish (Kafka: its delivery report, acks=all, is awaited) and, if the
 * bus confirmed it, "CAMERA SEQUENCE" is appended to PATH: the frames the
 * cluster acknowledged, which the failure tests look for in the warehouse.
 * Slow (no batching); tests only. */
static void note_acked(vigil__camera_t *cam, uint64_t sequence)
{
    if (!vigil_fault_acked_wanted()) return;
    if (vigil_bus_flush(cam->ingest->bus, 300000) != VIGIL_OK) return;
    vigil_fault_note_acked(cam->conf.id, sequence);
}

/* Encodes (or passes through) and publishes one frame. Returns 0 when
 * published or skipped for a counted reason, -1 when the camera must stop. */
static int publish_frame(vigil__camera_t *cam, const vigil_source_frame_t *f)
{
    vigil_ingest_t *ing = cam->ingest;
    const char *id = cam->conf.id;
    char err[256];
    uint8_t *jpeg = NULL, *buf = NULL;
    size_t jpeg_len = 0, len = 0;
    int rc = 0;
    int64_t t0 = vigil_mono_us();

    const uint8_t *data;
    if (f->jpeg && f->jpeg_len > 0) { /* MJPEG camera: the camera's own JPEG as it is */
        data = f->jpeg;
        jpeg_len = f->jpeg_len;
    } else {
        int q = ing->cfg->ingest_jpeg_quality > 0 ? ing->cfg->ingest_jpeg_quality : 85;
        if (vigil_jpeg_encode_yuv420(cam->jpeg, f->planes, f->strides, f->width, f->height, q,
                                     &jpeg, &jpeg_len, err, sizeof(err)) != VIGIL_OK) {
            vigil_counter_inc(cam->m.failed);
            vigil_warn(INGEST_STAGE, id, "camera \"%s\": %s", id, err);
            goto done;
        }
        data = jpeg;
    }

    Vigil__V1__Frame msg = VIGIL__V1__FRAME__INIT;
    msg.schema_version = VIGIL_SCHEMA_VERSION;
    msg.camera_id = cam->conf.id;
    msg.sequence = cam->seq_base + ++cam->seq_count;
    msg.capture_time_us = vigil_now_us();
    msg.width = (uint32_t)f->width;
    msg.height = (uint32_t)f->height;
    msg.jpeg.data = (uint8_t *)data;
    msg.jpeg.len = jpeg_len;
    if (!(buf = vigil_msg_pack(&msg.base, &len))) {
        vigil_counter_inc(cam->m.failed);
        vigil_error(INGEST_STAGE, id, "camera \"%s\": out of memory packing a frame", id);
        goto done;
    }
    vigil_histogram_observe(cam->m.processing, (double)(vigil_mono_us() - t0) / 1e6);

    int64_t wait0 = vigil_mono_us();
    for (;;) {
        vigil_err_t e = vigil_bus_publish(ing->bus, VIGIL_TOPIC_FRAMES, id, strlen(id), buf, len,
                                          PUBLISH_SLICE_MS);
        if (e == VIGIL_OK) {
            vigil_histogram_observe(cam->publish_wait, (double)(vigil_mono_us() - wait0) / 1e6);
            note_acked(cam, msg.sequence);
            vigil_counter_inc(cam->m.out);
            pthread_mutex_lock(&ing->lock);
            cam->state.frames++;
            pthread_mutex_unlock(&ing->lock);
            break;
        }
        if ((e == VIGIL_ERR_FULL || e == VIGIL_ERR_TIMED_OUT) && !vigil__camera_stopping(cam))
            continue; /* backpressure: wait for the pipeline */
        /* Stopping while the topic is full, or the bus is gone: this frame
         * is really dropped. */
        vigil_counter_inc(cam->m.dropped);
        if (e == VIGIL_ERR_FULL || e == VIGIL_ERR_TIMED_OUT || e == VIGIL_ERR_CLOSED) {
            rc = -1;
            break;
        }
        vigil_counter_inc(cam->m.failed);
        vigil_warn(INGEST_STAGE, id, "camera \"%s\": cannot publish frame %" PRIu64 ": %s", id,
                   msg.sequence, vigil_err_str(e));
        break;
    }
done:
    free(jpeg);
    free(buf);
    return rc;
}

/* Notes a failure: counted, logged with the camera id, state "retrying". */
static void note_failure(vigil__camera_t *cam, const char *err, int64_t retry_in_us)
{
    vigil_ingest_t *ing = cam->ingest;
    int repeated;
    pthread_mutex_lock(&ing->lock);
    cam->state.failures++;
    repeated = strcmp(cam->state.status, "retrying") == 0 &&
               strncmp(cam->state.last_error, err, sizeof(cam->state.last_error) - 1) == 0;
    cam->state.next_retry_us = vigil_now_us() + retry_in_us;
    pthread_mutex_unlock(&ing->lock);
    vigil_counter_inc(cam->m.failed);
    /* The same error again and again is logged once at error level. */
    if (repeated)
        vigil_info(INGEST_STAGE, cam->conf.id, "camera \"%s\": %s (retrying in %lld ms)",
                   cam->conf.id, err, (long long)(retry_in_us / 1000));
    else
        vigil_error(INGEST_STAGE, cam->conf.id, "camera \"%s\": %s (retrying in %lld ms)",
                    cam->conf.id, err, (long long)(retry_in_us / 1000));
    vigil__camera_set_state(cam, "retrying", err);
}

/* Reads src until it ends, fails or the camera stops. *backoff_us is reset
 * to the minimum once a frame has come through. */
static run_result_t run_source(vigil__camera_t *cam, vigil_source_t *src, int64_t *backoff_us,
                               int64_t backoff_min_us, char *err, size_t err_size)
{
    const vigil_config_t *cfg = cam->ingest->cfg;
    int is_file = vigil_source_is_file(src);
    int64_t period = cam->conf.fps > 0 ? (int64_t)(1e6 / cam->conf.fps + 0.5) : 0;
    int64_t next_due = INT64_MIN, pace_mono0 = -1, pace_pts0 = 0;
    int online = 0, decode_errors = 0;
    vigil_source_frame_t f;

    for (;;) {
        vigil_err_t e = vigil_source_read(src, &f, err, err_size);
        if (vigil__camera_stopping(cam)) return RUN_STOPPED;
        if (e == VIGIL_ERR_DECODE) {
            vigil_counter_inc(cam->m.failed);
            pthread_mutex_lock(&cam->ingest->lock);
            cam->state.failures++;
            pthread_mutex_unlock(&cam->ingest->lock);
            if (decode_errors == 0)
                vigil_warn(INGEST_STAGE, cam->conf.id, "camera \"%s\": %s", cam->conf.id, err);
            if (++decode_errors >= MAX_DECODE_ERRORS) {
                snprintf(err, err_size, "%d consecutive undecodable packets", decode_errors);
                return RUN_RETRY;
            }
            continue;
        }
        if (e == VIGIL_ERR_CLOSED) {
            if (is_file) return RUN_ENDED;
            return RUN_RETRY; /* a live stream that ends has dropped */
        }
        if (e != VIGIL_OK) return RUN_RETRY;
        decode_errors = 0;
        vigil_counter_inc(cam->m.in);
        if (!online) {
            online = 1;
            *backoff_us = backoff_min_us;
            vigil__camera_set_state(cam, "online", NULL);
        }

        /* Sampling to the target rate. */
        if (period > 0) {
            int64_t t = is_file ? f.pts_us : vigil_mono_us();
            if (next_due != INT64_MIN && t < next_due - SAMPLE_SLACK_US) {
                vigil_counter_inc(cam->m.dropped);
                continue;
            }
            /* After a gap (stall, seek) start again from this frame rather
             * than keep every frame until next_due catches up. */
            next_due = (next_due == INT64_MIN || t - next_due >= period) ? t + period
                                                                         : next_due + period;
        }

        /* Files at their native rate, against the monotonic clock. */
        if (is_file && cfg->ingest_realtime) {
            int64_t now = vigil_mono_us();
            if (pace_mono0 < 0) {
                pace_mono0 = now;
                pace_pts0 = f.pts_us;
            }
            int64_t due = pace_mono0 + (f.pts_us - pace_pts0);
            if (due > now) {
                if (!vigil__camera_sleep(cam, due - now)) return RUN_STOPPED;
            } else if (now - due > PACE_MAX_LAG_US) {
                pace_mono0 = now;
                pace_pts0 = f.pts_us;
            }
        }

        if (publish_frame(cam, &f) != 0) return RUN_STOPPED;
    }
}

void *vigil__camera_main(void *arg)
{
    vigil__camera_t *cam = arg;
    vigil_ingest_t *ing = cam->ingest;
    const vigil_config_t *cfg = ing->cfg;
    char err[512];
    int64_t min_us = (int64_t)(cfg->ingest_reconnect_min_ms > 0 ? cfg->ingest_reconnect_min_ms
                                                                : 500) * 1000;
    int64_t max_us = (int64_t)cfg->ingest_reconnect_max_ms * 1000;
    if (max_us < min_us) max_us = min_us;
    int64_t backoff = min_us;
    const char *final = "stopped";

    vigil_source_opts_t opts = {.loop = cam->conf.loop,
                                .timeout_ms = cfg->ingest_read_timeout_ms,
                                .cancel = cancel_cb,
                                .cancel_opaque = cam,
                                .max_pixels = cfg->limits_max_frame_pixels};
    if (!(cam->jpeg = vigil_jpeg_new())) {
        vigil_error(INGEST_STAGE, cam->conf.id, "camera \"%s\": out of memory", cam->conf.id);
        goto out;
    }
    if (cam->conf.fps > 0)
        vigil_info(INGEST_STAGE, cam->conf.id, "camera \"%s\": starting (sampling %g fps)",
                   cam->conf.id, cam->conf.fps);
    else
        vigil_info(INGEST_STAGE, cam->conf.id, "camera \"%s\": starting (every frame)",
                   cam->conf.id);

    while (!vigil__camera_stopping(cam)) {
        vigil_source_t *src = vigil_source_open(cam->conf.url, &opts, err, sizeof(err));
        if (vigil__camera_stopping(cam)) {
            vigil_source_close(src);
            break;
        }
        if (!src) {
            note_failure(cam, err, backoff);
            if (!vigil__camera_sleep(cam, backoff)) break;
            backoff = backoff * 2 < max_us ? backoff * 2 : max_us;
            continue;
        }
        pthread_mutex_lock(&ing->lock);
        cam->src = src;
        pthread_mutex_unlock(&ing->lock);

        run_result_t r = run_source(cam, src, &backoff, min_us, err, sizeof(err));

        pthread_mutex_lock(&ing->lock);
        cam->src = NULL;
        pthread_mutex_unlock(&ing->lock);
        vigil_source_close(src);

        if (r == RUN_ENDED) {
            final = "ended";
            break;
        }
        if (r == RUN_STOPPED) break;
        note_failure(cam, err, backoff);
        if (!vigil__camera_sleep(cam, backoff)) break;
        backoff = backoff * 2 < max_us ? backoff * 2 : max_us;
    }
out:
    vigil__camera_set_state(cam, final, NULL);
    if (strcmp(final, "ended") == 0) {
        /* After the state and its event: whoever sees finished() also sees
         * every frame and event of this camera published. */
        pthread_mutex_lock(&ing->lock);
        cam->done = 1;
        pthread_mutex_unlock(&ing->lock);
    }
    vigil_jpeg_free(cam->jpeg);
    cam->jpeg = NULL;
    return NULL;
}
