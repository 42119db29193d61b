/* The ingest stage: one thread per enabled camera turning its source into
 * JPEG frames on topic "frames" (see camera.c for the per-camera loop).
 *
 * This file holds the stage object: the camera list (configured cameras plus
 * those added at run time), starting and stopping camera threads, each
 * camera's state for the API, and the "camera.*" events that tell the sink
 * (and the dashboard) when a camera comes online, retries, ends or stops.
 * Every event carries {"name","url","fps"} in payload_json so the sink can
 * upsert the camera's row from the event alone.
 *
 * Thread: the vigil_ingest_* functions are called from a controlling thread
 * (the pipeline, the API's command handler); they take ingest->lock for the
 * list and never hold it while joining a camera thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest_int.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/msg.h"
#include "vigil/redact.h"

#define EVENT_PUBLISH_TIMEOUT_MS 500

/* ---- small helpers ------------------------------------------------------------ */

/* Appends s as a JSON string (quoted, escaped) to out at *pos. */
static void json_str(char *out, size_t size, size_t *pos, const char *s)
{
    size_t p = *pos;
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (p + 1 < size) out[p] = (c);                                                            \
        p++;                                                                                       \
    } while (0)
    PUT('"');
    for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
        if (*c == '"' || *c == '\\') {
            PUT('\\');
            PUT((char)*c);
        } else if (*c < 0x20) {
            char esc[8];
            snprintf(esc, sizeof(esc), "\\u%04x", *c);
            for (char *e = esc; *e; e++) PUT(*e);
        } else {
            PUT((char)*c);
        }
    }
    PUT('"');
#undef PUT
    if (p < size) out[p] = 0;
    else if (size) out[size - 1] = 0;
    *pos = p;
}

static void publish_event(vigil__camera_t *cam, const char *type, const char *message)
{
    char payload[1536], url[1024], fps[32];
    size_t pos = 0;
    uint64_t n;
    pthread_mutex_lock(&cam->ingest->lock);
    n = ++cam->event_count;
    pthread_mutex_unlock(&cam->ingest->lock);

    vigil_url_redact(cam->conf.url, url, sizeof(url)); /* events reach the warehouse and API */
    snprintf(fps, sizeof(fps), "%g", cam->conf.fps);
    pos = (size_t)snprintf(payload, sizeof(payload), "{\"name\":");
    json_str(payload, sizeof(payload), &pos, cam->conf.name);
    pos += (size_t)snprintf(payload + pos, pos < sizeof(payload) ? sizeof(payload) - pos : 0,
                            ",\"url\":");
    json_str(payload, sizeof(payload), &pos, url);
    snprintf(payload + pos, pos < sizeof(payload) ? sizeof(payload) - pos : 0, ",\"fps\":%s}", fps);

    Vigil__V1__Event ev = VIGIL__V1__EVENT__INIT;
    ev.schema_version = VIGIL_SCHEMA_VERSION;
    ev.camera_id = cam->conf.id;
    ev.type = (char *)type;
    ev.time_us = vigil_now_us();
    ev.sequence = cam->seq_base + n; /* same scheme as frames: grows across restarts */
    ev.message = (char *)(message ? message : "");
    ev.payload_json = payload;
    size_t len = 0;
    uint8_t *buf = vigil_msg_pack(&ev.base, &len);
    if (!buf) return;
    vigil_err_t e = vigil_bus_publish(cam->ingest->bus, VIGIL_TOPIC_EVENTS, cam->conf.id,
                                      strlen(cam->conf.id), buf, len, EVENT_PUBLISH_TIMEOUT_MS);
    if (e != VIGIL_OK)
        vigil_warn(INGEST_STAGE, cam->conf.id, "camera \"%s\": cannot publish event %s: %s",
                   cam->conf.id, type, vigil_err_str(e));
    free(buf);
}

void vigil__camera_set_state(vigil__camera_t *cam, const char *status, const char *error)
{
    vigil_ingest_t *ing = cam->ingest;
    int changed, new_reason;
    char message[256];
    pthread_mutex_lock(&ing->lock);
    changed = strcmp(cam->state.status, status) != 0;
    /* A camera that keeps retrying for another reason (the stream dropped,
     * then the server refuses connections) says so: the warehouse's row,
     * which the API shows, is only updated by these events. */
    new_reason = error && strcmp(status, "retrying") == 0 &&
                 strncmp(cam->state.last_error, error, sizeof(cam->state.last_error) - 1) != 0;
    snprintf(cam->state.status, sizeof(cam->state.status), "%s", status);
    if (error) snprintf(cam->state.last_error, sizeof(cam->state.last_error), "%s", error);
    if (strcmp(status, "retrying") != 0) cam->state.next_retry_us = 0;
    snprintf(message, sizeof(message), "%s", error ? error : "");
    pthread_mutex_unlock(&ing->lock);
    if ((!changed && !new_reason) || strcmp(status, "starting") == 0) return;
    if (strcmp(status, "retrying") != 0)
        vigil_info(INGEST_STAGE, cam->conf.id, "camera \"%s\": %s", cam->conf.id, status);
    char type[48];
    snprintf(type, sizeof(type), "camera.%s", status);
    publish_event(cam, type, message);
}

int vigil__camera_sleep(vigil__camera_t *cam, int64_t us)
{
    vigil_ingest_t *ing = cam->ingest;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = (int64_t)ts.tv_nsec + (us % 1000000) * 1000;
    ts.tv_sec += (time_t)(us / 1000000 + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    pthread_mutex_lock(&ing->lock);
    while (!vigil__camera_stopping(cam))
        if (pthread_cond_timedwait(&ing->wake, &ing->lock, &ts) == ETIMEDOUT) break;
    pthread_mutex_unlock(&ing->lock);
    return !vigil__camera_stopping(cam);
}

/* ---- cameras ------------------------------------------------------------------- */

static void camera_free(vigil__camera_t *cam)
{
    if (!cam) return;
    vigil_stage_metrics_release(&cam->m); /* a removed camera's series go away */
    vigil_histogram_release(cam->publish_wait);
    free(cam->conf.name);
    free(cam->conf.url);
    free(cam);
}

static vigil__camera_t *camera_new(vigil_ingest_t *ing, const vigil_camera_conf_t *conf,
                                   char *errstr, size_t errstr_size)
{
    vigil__camera_t *cam = NULL;
    if (!conf || !vigil_camera_id_valid(conf->id)) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                     "invalid camera id \"%.64s\" (accepted: [A-Za-z0-9_.-]{1,63})",
                     conf ? conf->id : "");
        goto fail;
    }
    if (!conf->url || !*conf->url) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "camera \"%s\": no url", conf->id);
        goto fail;
    }
    if (!(cam = calloc(1, sizeof(*cam)))) goto nomem;
    cam->ingest = ing;
    cam->conf = *conf;
    /* ingest has no use for the analytics rules, which the caller owns */
    cam->conf.zones = NULL;
    cam->conf.nzones = 0;
    cam->conf.lines = NULL;
    cam->conf.nlines = 0;
    cam->conf.name = strdup(conf->name && *conf->name ? conf->name : conf->id);
    cam->conf.url = strdup(conf->url);
    if (!cam->conf.name || !cam->conf.url) goto nomem;
    if (cam->conf.fps < 0) cam->conf.fps = 0;
    snprintf(cam->state.id, sizeof(cam->state.id), "%s", conf->id);
    snprintf(cam->state.status, sizeof(cam->state.status), "stopped");
    vigil_stage_metrics_init(&cam->m, INGEST_STAGE, conf->id);
    cam->publish_wait = vigil_metrics_histogram(
        "vigil_ingest_publish_wait_seconds",
        "Time a frame waited for room on topic frames (backpressure: the stages behind are "
        "slow or wait for the warehouse); the camera is not read meanwhile",
        "camera", conf->id, NULL, NULL);
    return cam;
nomem:
    vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "camera \"%s\": out of memory", conf->id);
fail:
    camera_free(cam);
    return NULL;
}

static vigil__camera_t *find_locked(vigil_ingest_t *ing, const char *id, size_t *index)
{
    for (size_t i = 0; i < ing->ncameras; i++)
        if (strcmp(ing->cameras[i]->conf.id, id) == 0) {
            if (index) *index = i;
            return ing->cameras[i];
        }
    return NULL;
}

/* Starts cam's thread. Caller holds the lock. */
static vigil_err_t start_locked(vigil__camera_t *cam)
{
    if (cam->joinable) return VIGIL_OK;
    atomic_store(&cam->stop, 0);
    /* The sequence base: see camera.c, sequences continue across restarts. */
    cam->seq_base = (uint64_t)vigil_now_us();
    cam->seq_count = 0;
    cam->event_count = 0;
    cam->done = 0;
    cam->started = 1;
    snprintf(cam->state.status, sizeof(cam->state.status), "starting");
    cam->state.last_error[0] = 0;
    int rc = pthread_create(&cam->thread, NULL, vigil__camera_main, cam);
    if (rc != 0) {
        snprintf(cam->state.status, sizeof(cam->state.status), "stopped");
        snprintf(cam->state.last_error, sizeof(cam->state.last_error),
                 "cannot start camera thread: %s", strerror(rc));
        cam->started = 0;
        return VIGIL_ERR_NOMEM;
    }
    cam->joinable = 1;
    return VIGIL_OK;
}

/* Tells cam to stop and wakes it wherever it waits. Caller holds the lock. */
static void signal_stop_locked(vigil_ingest_t *ing, vigil__camera_t *cam)
{
    atomic_store(&cam->stop, 1);
    if (cam->src) vigil_source_interrupt(cam->src);
    pthread_cond_broadcast(&ing->wake);
}

static vigil_err_t append_locked(vigil_ingest_t *ing, vigil__camera_t *cam)
{
    if (ing->ncameras == ing->cap) {
        size_t cap = ing->cap ? ing->cap * 2 : 8;
        vigil__camera_t **c = realloc(ing->cameras, cap * sizeof(*c));
        if (!c) return VIGIL_ERR_NOMEM;
        ing->cameras = c;
        ing->cap = cap;
    }
    ing->cameras[ing->ncameras++] = cam;
    return VIGIL_OK;
}

/* ---- the stage ---------------------------------------------------------------- */

/* ingest.max_cameras: the most cameras (threads) this instance runs. */
static size_t max_cameras(const vigil_ingest_t *ing)
{
    return ing->cfg->ingest_max_cameras > 0 ? (size_t)ing->cfg->ingest_max_cameras : 64;
}

vigil_ingest_t *vigil_ingest_new(const vigil_config_t *cfg, vigil_bus_t *bus, char *errstr,
                                 size_t errstr_size)
{
    vigil_ingest_t *ing = NULL;
    pthread_condattr_t ca;
    if (!cfg || !bus) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "ingest: no configuration or bus");
        return NULL;
    }
    if (!(ing = calloc(1, sizeof(*ing)))) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "ingest: out of memory");
        return NULL;
    }
    ing->cfg = cfg;
    ing->bus = bus;
    pthread_mutex_init(&ing->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ing->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (cfg->ncameras > max_cameras(ing)) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                     "ingest: %zu cameras configured (accepted: at most ingest.max_cameras = %zu)",
                     cfg->ncameras, max_cameras(ing));
        goto fail;
    }
    for (size_t i = 0; i < cfg->ncameras; i++) {
        const vigil_camera_conf_t *conf = &cfg->cameras[i];
        vigil__camera_t *cam;
        if (find_locked(ing, conf->id, NULL)) {
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG, "camera \"%s\": duplicate id",
                         conf->id);
            goto fail;
        }
        if (!(cam = camera_new(ing, conf, errstr, errstr_size))) goto fail;
        if (append_locked(ing, cam) != VIGIL_OK) {
            camera_free(cam);
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "ingest: out of memory");
            goto fail;
        }
    }
    if (vigil__control_new(ing, &ing->control, errstr, errstr_size)) goto fail;
    return ing;
fail:
    vigil_ingest_free(ing);
    return NULL;
}

vigil_err_t vigil_ingest_start(vigil_ingest_t *ing)
{
    vigil_err_t err = VIGIL_OK;
    if (!ing) return VIGIL_ERR_INVALID;
    /* the control log first: a configured camera the API switched off
     * (its last command is stop) must not run for a moment at start */
    vigil__control_catch_up(ing->control);
    pthread_mutex_lock(&ing->lock);
    ing->started = 1;
    for (size_t i = 0; i < ing->ncameras && err == VIGIL_OK; i++)
        if (vigil__control_static_want(ing->control, &ing->cameras[i]->conf))
            err = start_locked(ing->cameras[i]);
    pthread_mutex_unlock(&ing->lock);
    /* cameras also come from topic control (control.c): `vigil camera` and
     * the API in distributed mode, the API in `vigil run` (whose pipeline
     * puts the API's cameras on its in-process control topic at start) */
    if (err == VIGIL_OK) err = vigil__control_run(ing->control);
    return err;
}

vigil_err_t vigil_ingest_add_camera(vigil_ingest_t *ing, const vigil_camera_conf_t *camera,
                                    char *errstr, size_t errstr_size)
{
    vigil_err_t err;
    vigil__camera_t *cam;
    if (!ing) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "ingest: no stage");
    if (!(cam = camera_new(ing, camera, errstr, errstr_size)))
        return camera && vigil_camera_id_valid(camera->id) && camera->url && *camera->url
                   ? VIGIL_ERR_NOMEM
                   : VIGIL_ERR_INVALID;
    pthread_mutex_lock(&ing->lock);
    if (find_locked(ing, camera->id, NULL)) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_EXISTS, "camera \"%s\" already exists",
                           camera->id);
        goto fail;
    }
    /* each camera is a thread: the control topic and the API are outside
     * input, so their cameras are bounded like the configured ones */
    if (ing->ncameras >= max_cameras(ing)) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_FULL,
                           "camera \"%s\": not started: this ingest instance already runs %zu "
                           "cameras (accepted: at most ingest.max_cameras = %zu; raise it or "
                           "run another ingest instance)",
                           camera->id, ing->ncameras, max_cameras(ing));
        goto fail;
    }
    if ((err = append_locked(ing, cam)) != VIGIL_OK) {
        vigil_seterr(errstr, errstr_size, err, "ingest: out of memory");
        goto fail;
    }
    if (ing->started && cam->conf.enabled && (err = start_locked(cam)) != VIGIL_OK) {
        vigil_seterr(errstr, errstr_size, err, "camera \"%s\": %s", camera->id,
                     cam->state.last_error);
        ing->ncameras--;
        goto fail;
    }
    pthread_mutex_unlock(&ing->lock);
    return VIGIL_OK;
fail:
    pthread_mutex_unlock(&ing->lock);
    camera_free(cam);
    return err;
}

vigil_err_t vigil_ingest_remove_camera(vigil_ingest_t *ing, const char *camera_id)
{
    vigil__camera_t *cam;
    size_t i;
    if (!ing || !camera_id) return VIGIL_ERR_INVALID;
    pthread_mutex_lock(&ing->lock);
    if (!(cam = find_locked(ing, camera_id, &i))) {
        pthread_mutex_unlock(&ing->lock);
        return VIGIL_ERR_NOT_FOUND;
    }
    memmove(&ing->cameras[i], &ing->cameras[i + 1],
            (ing->ncameras - i - 1) * sizeof(ing->cameras[0]));
    ing->ncameras--;
    signal_stop_locked(ing, cam);
    pthread_mutex_unlock(&ing->lock);
    if (cam->joinable) pthread_join(cam->thread, NULL); /* it publishes camera.stopped */
    camera_free(cam);
    return VIGIL_OK;
}

void vigil__ingest_static_run(vigil_ingest_t *ing, const char *id, int run)
{
    vigil__camera_t *cam;
    vigil_err_t err = VIGIL_OK;

    pthread_mutex_lock(&ing->lock);
    cam = find_locked(ing, id, NULL);
    if (!cam || cam->controlled || !ing->started) goto out;
    if (cam->joinable && (!vigil__camera_stopping(cam)) == (run != 0)) goto out; /* already so */
    if (cam->joinable) {
        /* running and to stop, or stopping and to start: join it first */
        signal_stop_locked(ing, cam);
        pthread_mutex_unlock(&ing->lock);
        vigil_info(INGEST_STAGE, id, "camera \"%s\": stopping (switched off)", id);
        pthread_join(cam->thread, NULL); /* it publishes camera.stopped */
        pthread_mutex_lock(&ing->lock);
        cam->joinable = 0;
        /* the list may have changed meanwhile (the stage stopping) */
        if (find_locked(ing, id, NULL) != cam || !ing->started) goto out;
    }
    if (run) {
        vigil_info(INGEST_STAGE, id, "camera \"%s\": starting (switched on)", id);
        err = start_locked(cam);
    }
out:
    pthread_mutex_unlock(&ing->lock);
    if (err)
        vigil_warn(INGEST_STAGE, id, "camera \"%s\": cannot start: %s", id, vigil_err_str(err));
}

vigil_err_t vigil_ingest_camera_state(vigil_ingest_t *ing, const char *camera_id,
                                      vigil_camera_state_t *state)
{
    vigil__camera_t *cam;
    if (!ing || !camera_id || !state) return VIGIL_ERR_INVALID;
    pthread_mutex_lock(&ing->lock);
    cam = find_locked(ing, camera_id, NULL);
    if (cam) *state = cam->state;
    pthread_mutex_unlock(&ing->lock);
    return cam ? VIGIL_OK : VIGIL_ERR_NOT_FOUND;
}

int vigil_ingest_finished(vigil_ingest_t *ing)
{
    int started = 0, done = 1;
    if (!ing) return 0;
    pthread_mutex_lock(&ing->lock);
    for (size_t i = 0; i < ing->ncameras; i++) {
        vigil__camera_t *cam = ing->cameras[i];
        if (!cam->started) continue;
        started++;
        if (!cam->done) done = 0;
    }
    pthread_mutex_unlock(&ing->lock);
    /* No camera started: not finished (cameras may still be added). */
    return started > 0 && done;
}

void vigil_ingest_stop(vigil_ingest_t *ing)
{
    if (!ing) return;
    pthread_mutex_lock(&ing->lock);
    ing->started = 0; /* the control follower's adds start nothing from now on */
    for (size_t i = 0; i < ing->ncameras; i++) signal_stop_locked(ing, ing->cameras[i]);
    pthread_mutex_unlock(&ing->lock);
    /* every camera stops publishing at once; the follower then removes (joins)
     * the cameras it started before it leaves group "ingest" */
    vigil__control_stop(ing->control);
    ing->control = NULL;
    /* Joined without the lock: the threads take it to publish their last state.
     * The list does not change meanwhile: add/remove come from this same
     * controlling thread. */
    for (size_t i = 0; i < ing->ncameras; i++) {
        vigil__camera_t *cam = ing->cameras[i];
        if (cam->joinable) {
            pthread_join(cam->thread, NULL);
            cam->joinable = 0;
        }
    }
}

void vigil_ingest_free(vigil_ingest_t *ing)
{
    if (!ing) return;
    vigil_ingest_stop(ing);
    for (size_t i = 0; i < ing->ncameras; i++) camera_free(ing->cameras[i]);
    free(ing->cameras);
    pthread_cond_destroy(&ing->wake);
    pthread_mutex_destroy(&ing->lock);
    free(ing);
}
