/* The live hub: cameras' newest frames, the SSE ring, the streaming clients
 * and the pump that resumes them. See live_int.h for the design.
 *
 * The pump is one thread. It waits on `wake` (signalled whenever a frame, a
 * message or a drawing arrives, or a client suspends) or until the earliest
 * time a suspended client may send again (its fps interval, keepalive,
 * heartbeat), then resumes every suspended client that has something to
 * send. It only flips flags and calls MHD_resume_connection: a scan costs a
 * few hundred nanoseconds per client. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/live_int.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/workers.h"

/* --- frames and messages ------------------------------------------------------------- */

vigil__live_frame_t *vigil__live_frame_new(size_t len)
{
    vigil__live_frame_t *f = malloc(sizeof(*f) + len);

    if (!f) return NULL;
    memset(f, 0, sizeof(*f));
    atomic_init(&f->refs, 1);
    f->len = len;
    return f;
}

void vigil__live_frame_unref(vigil__live_frame_t *frame)
{
    if (frame && atomic_fetch_sub(&frame->refs, 1) == 1) free(frame);
}

void vigil__live_msg_unref(vigil__live_msg_t *msg)
{
    if (msg && atomic_fetch_sub(&msg->refs, 1) == 1) {
        free(msg->dets);
        free(msg->text);
        free(msg);
    }
}

/* --- cameras ------------------------------------------------------------------------- */

vigil__live_cam_t *vigil__live_cam_find(vigil__live_t *live, const char *id)
{
    for (vigil__live_cam_t *c = live->cams; c; c = c->next)
        if (strcmp(c->id, id) == 0) return c;
    return NULL;
}

static void cam_free(vigil__live_cam_t *c)
{
    vigil__live_frame_unref(c->frame);
    vigil__live_frame_unref(c->annotated);
    free(c->dets);
    free(c->shapes);
    free(c);
}

vigil__live_cam_t *vigil__live_cam_get(vigil__live_t *live, const char *id)
{
    vigil__live_cam_t *c = vigil__live_cam_find(live, id), **victim = NULL;

    if (c) return c;
    if (live->ncams >= VIGIL__LIVE_CAMERAS_MAX) {
        /* forget the camera seen least recently that nobody watches (its
         * zones and lines come back with the next rules message) */
        for (vigil__live_cam_t **p = &live->cams; *p; p = &(*p)->next)
            if (!(*p)->viewers && !(*p)->drawing &&
                (!victim || (*p)->seen_us < (*victim)->seen_us))
                victim = p;
        if (!victim) return NULL;
        c = *victim;
        *victim = c->next;
        cam_free(c);
        live->ncams--;
    }
    c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    snprintf(c->id, sizeof(c->id), "%s", id);
    c->seen_us = vigil_mono_us();
    c->next = live->cams;
    live->cams = c;
    live->ncams++;
    return c;
}

/* The zones and lines of a configured camera as shapes. */
static int cam_set_config_rules(vigil__live_t *live, const vigil_camera_conf_t *cc)
{
    size_t n = cc->nzones + cc->nlines, k = 0;
    vigil__live_cam_t *c;

    if (!n) return 0;
    if (n > VIGIL__LIVE_SHAPES_MAX) n = VIGIL__LIVE_SHAPES_MAX;
    if (!(c = vigil__live_cam_get(live, cc->id))) return -1;
    if (!(c->shapes = calloc(n, sizeof(*c->shapes)))) return -1;
    for (size_t i = 0; i < cc->nzones && k < n; i++, k++) {
        vigil__live_shape_t *s = &c->shapes[k];
        snprintf(s->id, sizeof(s->id), "%s", cc->zones[i].id);
        s->n = cc->zones[i].npoints;
        memcpy(s->pts, cc->zones[i].polygon, s->n * sizeof(s->pts[0]));
    }
    for (size_t i = 0; i < cc->nlines && k < n; i++, k++) {
        vigil__live_shape_t *s = &c->shapes[k];
        s->is_line = 1;
        snprintf(s->id, sizeof(s->id), "%s", cc->lines[i].id);
        s->n = 2;
        s->pts[0] = cc->lines[i].a;
        s->pts[1] = cc->lines[i].b;
    }
    c->nshapes = n;
    return 0;
}

/* --- the ring ------------------------------------------------------------------------ */

void vigil__live_ring_push(vigil__live_t *live, vigil__live_msg_t *msg)
{
    /* Make room first: the new id's slot is the oldest's when the ring is
     * full. An empty ring has oldest == head + 1. */
    msg->id = live->head + 1;
    while (live->oldest <= live->head &&
           (msg->id - live->oldest >= VIGIL__LIVE_RING ||
            live->ring_bytes + msg->bytes > VIGIL__LIVE_RING_BYTES)) {
        vigil__live_msg_t **slot = &live->ring[live->oldest % VIGIL__LIVE_RING];
        live->ring_bytes -= (*slot)->bytes;
        vigil__live_msg_unref(*slot);
        *slot = NULL;
        live->oldest++;
    }
    live->head = msg->id;
    live->ring[msg->id % VIGIL__LIVE_RING] = msg;
    live->ring_bytes += msg->bytes;
    vigil__live_kick(live);
}

/* --- clients ------------------------------------------------------------------------- */

vigil__live_client_t *vigil__live_client_new(vigil__live_t *live, int kind,
                                             struct MHD_Connection *conn, vigil_err_t *err)
{
    vigil__live_client_t *c = calloc(1, sizeof(*c));

    *err = VIGIL_ERR_NOMEM;
    if (!c) return NULL;
    c->live = live;
    c->kind = kind;
    c->conn = conn;
    c->last_write_us = vigil_mono_us();
    pthread_mutex_lock(&live->lock);
    if (live->stopping || !live->pump_started) {
        *err = VIGIL_ERR_CLOSED;
    } else if (live->nstreams >= live->max_streams) {
        *err = VIGIL_ERR_FULL;
        vigil_counter_inc(live->m_refused);
    } else {
        *err = VIGIL_OK;
        live->nstreams++;
        c->next = live->clients;
        if (live->clients) live->clients->prev = c;
        live->clients = c;
        vigil_gauge_add(kind == VIGIL__LIVE_MJPEG ? live->m_streams_mjpeg : live->m_streams_sse, 1);
    }
    pthread_mutex_unlock(&live->lock);
    if (*err) {
        free(c);
        return NULL;
    }
    return c;
}

void vigil__live_client_free(void *cls)
{
    vigil__live_client_t *c = cls;
    vigil__live_t *live;

    if (!c) return;
    live = c->live;
    pthread_mutex_lock(&live->lock);
    if (c->prev) c->prev->next = c->next;
    else live->clients = c->next;
    if (c->next) c->next->prev = c->prev;
    live->nstreams--;
    if (c->counted) {
        vigil__live_cam_t *cam = vigil__live_cam_find(live, c->camera);
        if (cam && cam->viewers > 0) cam->viewers--;
    }
    vigil_gauge_add(c->kind == VIGIL__LIVE_MJPEG ? live->m_streams_mjpeg : live->m_streams_sse,
                    -1);
    pthread_mutex_unlock(&live->lock);
    if (c->kind == VIGIL__LIVE_MJPEG) vigil__live_mjpeg_release(c);
    else vigil__live_sse_release(c);
    free(c);
}

void vigil__live_kick(vigil__live_t *live)
{
    pthread_cond_signal(&live->wake);
}

void vigil__live_suspend(vigil__live_t *live, vigil__live_client_t *c)
{
    c->suspended = 1;
    MHD_suspend_connection(c->conn);
    vigil__live_kick(live);
}

/* --- the pump ------------------------------------------------------------------------ */

static void *pump_main(void *arg)
{
    vigil__live_t *live = arg;

    vigil_thread_name("api-live-pump");
    pthread_mutex_lock(&live->lock);
    while (!live->pump_stop) {
        int64_t now = vigil_mono_us(), wake = now + 1000000;
        for (vigil__live_client_t *c = live->clients; c; c = c->next) {
            if (!c->suspended) continue;
            int ready = live->stopping ||
                        (c->kind == VIGIL__LIVE_MJPEG ? vigil__live_mjpeg_ready(live, c, now, &wake)
                                                       : vigil__live_sse_ready(live, c, now, &wake));
            if (ready) {
                c->suspended = 0;
                MHD_resume_connection(c->conn);
            }
        }
        if (live->pump_stop) break;
        if (wake <= now) continue;
        /* the deadline on CLOCK_MONOTONIC, as the condvar was made */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t ns = ts.tv_nsec + (wake - now) * 1000;
        ts.tv_sec += (time_t)(ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&live->wake, &live->lock, &ts);
    }
    pthread_mutex_unlock(&live->lock);
    return NULL;
}

/* --- lifecycle ----------------------------------------------------------------------- */

vigil__live_t *vigil__live_new(const vigil_config_t *cfg, char *errstr, size_t errstr_size)
{
    vigil__live_t *live = calloc(1, sizeof(*live));
    pthread_condattr_t ca;

    if (!live) goto oom;
    pthread_mutex_init(&live->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&live->wake, &ca);
    pthread_condattr_destroy(&ca);
    live->oldest = 1;
    live->head = 0;
    live->max_streams = cfg->http_live_max_streams > 0 ? cfg->http_live_max_streams
                                                       : VIGIL__LIVE_STREAMS_DEFAULT;
    live->heartbeat_us = VIGIL__LIVE_HEARTBEAT_US;
    live->keepalive_us = VIGIL__LIVE_KEEPALIVE_US;
    live->max_pixels = cfg->limits_max_frame_pixels;
    atomic_init(&live->feed_stop, 0);
    for (size_t i = 0; i < cfg->ncameras; i++)
        if (cam_set_config_rules(live, &cfg->cameras[i]) != 0) goto oom;
    live->m_streams_mjpeg = vigil_metrics_gauge("vigil_live_streams", "Live streams open now",
                                                "kind", "mjpeg", NULL, NULL);
    live->m_streams_sse = vigil_metrics_gauge("vigil_live_streams", "Live streams open now",
                                              "kind", "sse", NULL, NULL);
    live->m_refused = vigil_metrics_counter(
        "vigil_live_refused_total", "Live streams refused (http.live_max_streams reached)", NULL,
        NULL, NULL, NULL);
    live->m_parts = vigil_metrics_counter("vigil_live_frames_sent_total",
                                          "MJPEG parts started (frames sent to viewers)", NULL,
                                          NULL, NULL, NULL);
    live->m_skipped = vigil_metrics_counter(
        "vigil_live_frames_skipped_total",
        "Frames a viewer never got because a newer one replaced them (slow client or fps cap)",
        NULL, NULL, NULL, NULL);
    live->m_drawn = vigil_metrics_counter("vigil_live_frames_drawn_total",
                                          "Frames drawn with boxes and zones (boxes=1)", NULL,
                                          NULL, NULL, NULL);
    live->m_sse_sent = vigil_metrics_counter("vigil_live_sse_messages_total",
                                             "Server-Sent Events messages sent to clients", NULL,
                                             NULL, NULL, NULL);
    live->m_resets = vigil_metrics_counter(
        "vigil_live_sse_resets_total",
        "SSE clients moved ahead (they fell behind the ring or resumed from an unknown id)", NULL,
        NULL, NULL, NULL);
    live->m_bus_in = vigil_metrics_counter("vigil_live_bus_messages_total",
                                           "Bus messages the live hub read", NULL, NULL, NULL,
                                           NULL);
    live->m_bus_old = vigil_metrics_counter(
        "vigil_live_bus_skipped_total",
        "Bus messages the live hub skipped as published before the API started", NULL, NULL,
        NULL, NULL);
    live->m_bus_bad = vigil_metrics_counter("vigil_live_bus_invalid_total",
                                            "Bus messages the live hub could not decode", NULL,
                                            NULL, NULL, NULL);
    live->m_bus_repeated = vigil_metrics_counter(
        "vigil_live_bus_repeated_total",
        "Tracked boxes of a frame the live hub already had (analytics replaying after a "
        "failure or a rebalance)", NULL, NULL, NULL, NULL);
    return live;
oom:
    vigil__live_free(live);
    vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "api: live views: out of memory");
    return NULL;
}

vigil_err_t vigil__live_start(vigil__live_t *live, vigil_bus_t *bus, char *errstr,
                              size_t errstr_size)
{
    vigil_err_t err;

    /* SSE ids start at the wall clock in microseconds: a client resuming
     * with an id of an earlier process (or another replica) is older than
     * every id here and gets a reset, never a wrong replay. */
    live->start_us = vigil_now_us();
    live->head = live->start_us;
    live->oldest = live->head + 1;
    live->bus = bus;
    if (bus && (err = vigil__live_feed_start(live, errstr, errstr_size))) return err;
    if (pthread_create(&live->pump, NULL, pump_main, live) != 0) {
        vigil__live_feed_stop(live);
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM,
                            "api: live views: cannot start a thread");
    }
    pthread_mutex_lock(&live->lock);
    live->pump_started = 1;
    pthread_mutex_unlock(&live->lock);
    return VIGIL_OK;
}

void vigil__live_end_streams(vigil__live_t *live)
{
    if (!live) return;
    pthread_mutex_lock(&live->lock);
    live->stopping = 1;
    for (vigil__live_client_t *c = live->clients; c; c = c->next)
        if (c->suspended) {
            c->suspended = 0;
            MHD_resume_connection(c->conn);
        }
    pthread_mutex_unlock(&live->lock);
}

void vigil__live_stop(vigil__live_t *live)
{
    if (!live) return;
    pthread_mutex_lock(&live->lock);
    live->stopping = 1;
    live->pump_stop = 1;
    int joined = !live->pump_started;
    live->pump_started = 0;
    pthread_cond_broadcast(&live->wake);
    pthread_mutex_unlock(&live->lock);
    if (!joined) pthread_join(live->pump, NULL);
    vigil__live_feed_stop(live);
}

void vigil__live_free(vigil__live_t *live)
{
    if (!live) return;
    vigil__live_stop(live);
    while (live->cams) {
        vigil__live_cam_t *c = live->cams;
        live->cams = c->next;
        cam_free(c);
    }
    for (int64_t id = live->oldest; id <= live->head; id++)
        vigil__live_msg_unref(live->ring[id % VIGIL__LIVE_RING]);
    pthread_mutex_destroy(&live->lock);
    pthread_cond_destroy(&live->wake);
    free(live);
}
