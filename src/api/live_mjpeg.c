/* GET /api/v1/cameras/{id}/live.mjpeg: the camera's newest frames as
 * multipart/x-mixed-replace, at most ?fps= per second, ?boxes=1 with the
 * newest boxes, labels and the camera's zones and lines drawn in.
 *
 * Main idea: a viewer never has a queue. When its content reader finishes a
 * part it takes whatever frame is newest at that moment (a reference, not a
 * copy), so a slow viewer simply gets fewer frames and holds at most one.
 * When the newest frame is the one it last sent, or its fps interval has not
 * passed, the reader suspends the connection and the pump resumes it later.
 *
 * Drawing (boxes=1) happens once per frame and camera, on the MHD thread of
 * the first viewer that needs it; viewers of the same camera share the
 * result, and the others wait suspended (cam->drawing) rather than draw the
 * same frame again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "api/live_int.h"
#include "api/params.h"
#include "vigil/clock.h"
#include "vigil/log.h"

/* What a drawing needs, copied from the camera under the lock. */
typedef struct draw_job {
    vigil__live_frame_t *frame; /* a reference */
    vigil__live_shape_t *shapes;
    size_t nshapes;
    vigil__live_dets_t *dets; /* a copy or NULL */
} draw_job_t;

/* The boxes worth drawing on frame f: the newest detections, unless they
 * are of a later frame or much older than it. */
static const vigil__live_dets_t *dets_for(const vigil__live_cam_t *cam,
                                          const vigil__live_frame_t *f)
{
    const vigil__live_dets_t *d = cam->dets;

    if (!d || d->sequence > f->sequence || f->capture_us - d->capture_us > VIGIL__LIVE_STALE_US)
        return NULL;
    return d;
}

/* Prepares a drawing of cam's newest frame. Locks: live->lock held. */
static int job_init(draw_job_t *job, vigil__live_cam_t *cam)
{
    const vigil__live_dets_t *d = dets_for(cam, cam->frame);

    memset(job, 0, sizeof(*job));
    if (cam->nshapes) {
        job->shapes = malloc(cam->nshapes * sizeof(*job->shapes));
        if (!job->shapes) return -1;
        memcpy(job->shapes, cam->shapes, cam->nshapes * sizeof(*job->shapes));
        job->nshapes = cam->nshapes;
    }
    if (d) {
        size_t size = sizeof(*d) + d->n * sizeof(d->items[0]);
        if (!(job->dets = malloc(size))) {
            free(job->shapes);
            return -1;
        }
        memcpy(job->dets, d, size);
    }
    job->frame = cam->frame;
    atomic_fetch_add(&job->frame->refs, 1);
    return 0;
}

/* Starts c's next part if there is one to send now: 1 = c->cur is set;
 * 2 = the frame must be drawn first (*job filled, cam->drawing set);
 * 0 = nothing now. Locks: live->lock held. */
static int start_part(vigil__live_t *live, vigil__live_client_t *c, int64_t now, draw_job_t *job)
{
    vigil__live_cam_t *cam = vigil__live_cam_find(live, c->camera);
    vigil__live_frame_t *f = cam ? cam->frame : NULL, *src;
    int fresh;

    if (!f) {
        /* Nothing to show yet. Bytes before the first boundary are the
         * multipart preamble, which clients ignore: a CRLF now and then
         * finds out whether the viewer is still there. */
        if (now - c->last_write_us < live->keepalive_us || c->sent_any) return 0;
        memcpy(c->head, "\r\n", 2);
        c->head_len = 2;
        c->off = 0;
        c->last_write_us = now;
        return 1;
    }
    fresh = !c->sent_any || f->sequence != c->sent_seq;
    if (!fresh && now - c->last_write_us < live->keepalive_us) return 0;
    if (fresh && now < c->due_us) return 0;
    src = f;
    if (c->boxes) {
        if (cam->annotated && cam->annotated_of == f->sequence) {
            src = cam->annotated;
        } else if (cam->drawing) {
            return 0; /* the pump resumes c when the drawing is done */
        } else {
            if (job_init(job, cam) != 0) return 0;
            cam->drawing = 1;
            return 2;
        }
    }
    atomic_fetch_add(&src->refs, 1);
    c->cur = src;
    c->off = 0;
    if (c->sent_any && fresh && f->sequence > c->sent_seq + 1)
        vigil_counter_add(live->m_skipped, f->sequence - c->sent_seq - 1);
    if (fresh) vigil_counter_inc(live->m_parts);
    c->sent_seq = f->sequence;
    c->sent_any = 1;
    c->due_us = now + c->interval_us;
    c->last_write_us = now;
    c->head_len = (size_t)snprintf(c->head, sizeof(c->head),
                                   "--" VIGIL__LIVE_BOUNDARY "\r\nContent-Type: image/jpeg\r\n"
                                   "Content-Length: %zu\r\nX-Sequence: %llu\r\n"
                                   "X-Timestamp-Us: %lld\r\n\r\n",
                                   src->len, (unsigned long long)src->sequence,
                                   (long long)src->capture_us);
    return 1;
}

/* Draws job's frame (no lock held) and stores it as the camera's annotated
 * frame. A frame that cannot be decoded is shown as it is. */
static void draw(vigil__live_t *live, const char *camera, draw_job_t *job)
{
    char errstr[256] = "";
    vigil__live_frame_t *out = vigil__live_annotate(job->frame, job->shapes, job->nshapes,
                                                    job->dets, live->max_pixels, errstr,
                                                    sizeof(errstr));
    vigil__live_frame_t *old = NULL;

    if (!out) {
        vigil_log_limited(&live->feed_limit, VIGIL_LOG_WARN, "api", camera, NULL,
                          "live views: camera \"%s\": frame %llu shown without boxes: %s",
                          camera, (unsigned long long)job->frame->sequence, errstr);
        out = job->frame;
        atomic_fetch_add(&out->refs, 1);
    } else {
        vigil_counter_inc(live->m_drawn);
    }
    pthread_mutex_lock(&live->lock);
    vigil__live_cam_t *cam = vigil__live_cam_find(live, camera); /* not evicted while drawing */
    if (cam) {
        old = cam->annotated;
        cam->annotated = out;
        cam->annotated_of = job->frame->sequence;
        cam->drawing = 0;
        out = NULL;
        vigil__live_kick(live);
    }
    pthread_mutex_unlock(&live->lock);
    vigil__live_frame_unref(old);
    vigil__live_frame_unref(out);
    vigil__live_frame_unref(job->frame);
    free(job->shapes);
    free(job->dets);
}

int vigil__live_mjpeg_ready(vigil__live_t *live, vigil__live_client_t *c, int64_t now,
                            int64_t *wake_us)
{
    vigil__live_cam_t *cam = vigil__live_cam_find(live, c->camera);
    vigil__live_frame_t *f = cam ? cam->frame : NULL;
    int64_t at;

    if (f && (!c->sent_any || f->sequence != c->sent_seq)) {
        if (now < c->due_us) {
            at = c->due_us;
        } else {
            /* being drawn by another viewer's thread: it kicks the pump when done */
            return !(c->boxes && cam->drawing &&
                     !(cam->annotated && cam->annotated_of == f->sequence));
        }
    } else if (f || !c->sent_any) {
        at = c->last_write_us + live->keepalive_us;
        if (now >= at) return 1;
    } else {
        return 0;
    }
    if (at < *wake_us) *wake_us = at;
    return 0;
}

void vigil__live_mjpeg_release(vigil__live_client_t *c)
{
    vigil__live_frame_unref(c->cur);
    c->cur = NULL;
}

/* MHD's content reader of a view. Thread: an MHD pool thread (MHD holds the
 * response's mutex). Never blocks: 0 bytes means "suspended". */
static ssize_t mjpeg_read(void *cls, uint64_t pos, char *out, size_t max)
{
    vigil__live_client_t *c = cls;
    vigil__live_t *live = c->live;
    size_t n = 0;

    for (;;) {
        if (c->head_len) {
            /* the part: head, JPEG, CRLF (a preamble CRLF has no JPEG) */
            size_t jlen = c->cur ? c->cur->len : 0, tail = c->cur ? 2 : 0;
            size_t total = c->head_len + jlen + tail;
            while (n < max && c->off < total) {
                const char *src;
                size_t avail;
                if (c->off < c->head_len) {
                    src = c->head + c->off;
                    avail = c->head_len - c->off;
                } else if (c->off < c->head_len + jlen) {
                    src = (const char *)c->cur->jpeg + (c->off - c->head_len);
                    avail = c->head_len + jlen - c->off;
                } else {
                    src = &"\r\n"[c->off - c->head_len - jlen];
                    avail = total - c->off;
                }
                size_t k = avail < max - n ? avail : max - n;
                memcpy(out + n, src, k);
                n += k;
                c->off += k;
            }
            if (c->off < total) return (ssize_t)n;
            vigil__live_frame_unref(c->cur);
            c->cur = NULL;
            c->head_len = c->off = 0;
        }
        if (n) return (ssize_t)n; /* the next part is not due yet anyway */

        draw_job_t job;
        pthread_mutex_lock(&live->lock);
        if (live->stopping) {
            pthread_mutex_unlock(&live->lock);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        int r = start_part(live, c, vigil_mono_us(), &job);
        if (r == 0) vigil__live_suspend(live, c);
        pthread_mutex_unlock(&live->lock);
        if (r == 0) return 0;
        if (r == 2) draw(live, c->camera, &job); /* then start the part again */
    }
}

/* --- the route ------------------------------------------------------------------------------ */

typedef struct mjpeg_args {
    double fps;
    int boxes;
    unsigned seen;
    vigil__param_error_t err;
    int failed;
} mjpeg_args_t;

static enum MHD_Result mjpeg_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    mjpeg_args_t *a = cls;
    char safe[72], *end;
    int k = strcmp(key, "fps") == 0 ? 0 : strcmp(key, "boxes") == 0 ? 1 : -1;

    if (k < 0) {
        vigil__api_sanitize(safe, sizeof(safe), key);
        snprintf(a->err.parameter, sizeof(a->err.parameter), "%s", safe);
        snprintf(a->err.message, sizeof(a->err.message),
                 "unknown parameter \"%s\" (known: fps, boxes)", safe);
        goto fail;
    }
    snprintf(a->err.parameter, sizeof(a->err.parameter), "%s", key);
    if (a->seen & (1u << k)) {
        snprintf(a->err.message, sizeof(a->err.message),
                 "invalid parameter \"%s\": given more than once", key);
        goto fail;
    }
    a->seen |= 1u << k;
    if (k == 0) {
        a->fps = value && *value ? strtod(value, &end) : -1;
        if (!value || !*value || *end || !(a->fps > 0 && a->fps <= VIGIL__LIVE_FPS_MAX)) {
            snprintf(a->err.message, sizeof(a->err.message),
                     "invalid parameter \"fps\": must be a number of frames per second "
                     "above 0 and at most %d",
                     VIGIL__LIVE_FPS_MAX);
            goto fail;
        }
    } else {
        if (value && (strcmp(value, "1") == 0 || strcmp(value, "true") == 0)) a->boxes = 1;
        else if (value && (strcmp(value, "0") == 0 || strcmp(value, "false") == 0)) a->boxes = 0;
        else {
            snprintf(a->err.message, sizeof(a->err.message),
                     "invalid parameter \"boxes\": must be 0, 1, false or true");
            goto fail;
        }
    }
    return MHD_YES;
fail:
    a->failed = 1;
    return MHD_NO;
}

/* Whether the camera exists: the hub has seen it or the warehouse lists it.
 * -1 when the store cannot say (reply filled). */
static int camera_known(vigil_api_t *api, const char *id, vigil__reply_t *reply)
{
    char errstr[256] = "";
    vigil_camera_row_t *rows = NULL;
    size_t n = 0;
    int known;

    pthread_mutex_lock(&api->live->lock);
    known = vigil__live_cam_find(api->live, id) != NULL;
    pthread_mutex_unlock(&api->live->lock);
    if (known) return 1;
    vigil_store_t *store = vigil__api_store_acquire(api, errstr, sizeof(errstr));
    if (!store) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "store unavailable: %s",
                           errstr);
        return -1;
    }
    vigil_err_t err = vigil_store_camera_list(store, &rows, &n);
    vigil__api_store_release(api, store);
    if (err) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "store: cannot list cameras: %s", vigil_err_str(err));
        return -1;
    }
    for (size_t i = 0; i < n && !known; i++) known = strcmp(rows[i].id, id) == 0;
    free(rows);
    return known;
}

void vigil__api_live_mjpeg(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    mjpeg_args_t a = {.fps = VIGIL__LIVE_FPS_DEFAULT};
    char seg[128], camera[VIGIL_CAMERA_ID_MAX];
    vigil__param_error_t perr;
    vigil__live_client_t *c;
    vigil_err_t err;
    int known;

    /* /api/v1/cameras/{id}/live.mjpeg */
    if (vigil__api_path_segment(req->url, 3, seg, sizeof(seg)) < 0 ||
        vigil__api_parse_camera(seg, camera, &perr) != 0) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "id",
                           "invalid parameter \"id\": must be a camera id ([A-Za-z0-9_.-], 1 to "
                           "63 characters)");
        return;
    }
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, mjpeg_arg, &a);
    if (a.failed) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, a.err.parameter, "%s", a.err.message);
        return;
    }
    if (!api->bus) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "live views need the pipeline's bus: run `vigil run`, or give "
                           "`vigil api` the shared bus (bus.url)");
        return;
    }
    if ((known = camera_known(api, camera, reply)) < 0) return;
    if (!known) {
        vigil__reply_error(reply, MHD_HTTP_NOT_FOUND, NULL, "camera \"%s\" not found", camera);
        return;
    }
    c = vigil__live_client_new(api->live, VIGIL__LIVE_MJPEG, req->conn, &err);
    if (!c) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "%s",
                           err == VIGIL_ERR_FULL ? "too many live streams (http.live_max_streams)"
                                                 : "live views are stopping");
        reply->retry_after = "5";
        return;
    }
    snprintf(c->camera, sizeof(c->camera), "%s", camera);
    c->boxes = a.boxes;
    c->interval_us = (int64_t)(1e6 / a.fps);
    pthread_mutex_lock(&api->live->lock);
    vigil__live_cam_t *cam = vigil__live_cam_get(api->live, camera);
    if (cam) cam->viewers++, c->counted = 1;
    pthread_mutex_unlock(&api->live->lock);
    vigil__reply_stream(reply, "multipart/x-mixed-replace; boundary=" VIGIL__LIVE_BOUNDARY,
                        mjpeg_read, vigil__live_client_free, c);
    vigil__reply_header(reply, "X-Accel-Buffering", "no");
}
