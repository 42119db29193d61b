/* The analytics stage's batches: what the analyzers produced since the last
 * commit, per camera, and the commit that writes it with the checkpoints.
 *
 * Within a batch an event keeps only its latest report and a count bucket
 * its latest value (both are cumulative), so a busy camera writes each open
 * event once per commit, not once per frame. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/event_json_int.h"
#include "analytics/stage_int.h"
#include "vigil/log.h"
#include "vigil/msg.h"

static int event_same(const vigil_analytics_event_t *a, const vigil_analytics_event_t *b)
{
    return a->kind == b->kind && a->track_id == b->track_id &&
           a->start_sequence == b->start_sequence && strcmp(a->zone, b->zone) == 0 &&
           strcmp(a->line, b->line) == 0;
}

static int bucket_same(const vigil_count_bucket_t *a, const vigil_count_bucket_t *b)
{
    return a->minute_us == b->minute_us && strcmp(a->zone, b->zone) == 0 &&
           strcmp(a->line, b->line) == 0 && strcmp(a->label, b->label) == 0;
}

/* Grows *arr (of *cap elements of size) to hold n more than *len. */
static int reserve(void **arr, size_t *cap, size_t len, size_t more, size_t size)
{
    if (len + more <= *cap) return 0;
    size_t c = *cap ? *cap : 16;
    while (c < len + more) c *= 2;
    void *p = realloc(*arr, c * size);
    if (!p) return -1;
    *arr = p;
    *cap = c;
    return 0;
}

vigil_err_t vigil__an_collect(stage_cam_t *cam, const vigil_analytics_out_t *out)
{
    cam->dirty = 1;
    cam->ntracks = out->ntracks;
    for (size_t i = 0; i < out->nevents; i++) {
        size_t k = 0;
        while (k < cam->nevents && !event_same(&cam->events[k], &out->events[i])) k++;
        if (k == cam->nevents) {
            if (reserve((void **)&cam->events, &cam->capevents, cam->nevents, 1,
                        sizeof *cam->events))
                return VIGIL_ERR_NOMEM;
            cam->nevents++;
        }
        cam->events[k] = out->events[i];
    }
    for (size_t i = 0; i < out->ncounts; i++) {
        size_t k = 0;
        while (k < cam->ncounts && !bucket_same(&cam->counts[k], &out->counts[i])) k++;
        if (k == cam->ncounts) {
            if (reserve((void **)&cam->counts, &cam->capcounts, cam->ncounts, 1,
                        sizeof *cam->counts))
                return VIGIL_ERR_NOMEM;
            cam->ncounts++;
        }
        cam->counts[k] = out->counts[i];
    }
    if (out->npoints) {
        if (reserve((void **)&cam->points, &cam->cappoints, cam->npoints, out->npoints,
                    sizeof *cam->points))
            return VIGIL_ERR_NOMEM;
        memcpy(cam->points + cam->npoints, out->points, out->npoints * sizeof *out->points);
        cam->npoints += out->npoints;
    }
    return VIGIL_OK;
}

void vigil__an_cam_clear(stage_cam_t *cam)
{
    cam->nevents = cam->npoints = cam->ncounts = 0;
    cam->dirty = 0;
}

/* The JSON of an event as published on topic events (event_json_int.h). */
char *vigil__analytics_event_json(const vigil_analytics_event_t *e)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "camera", e->camera_id, "kind",
                          vigil_event_kind_name(e->kind), "label", e->label, "track",
                          (json_int_t)e->track_id, "start_sequence",
                          (json_int_t)e->start_sequence, "start_us", (json_int_t)e->start_us);
    if (!o) return NULL;
    json_object_set_new(o, "zone", e->zone[0] ? json_string(e->zone) : json_null());
    json_object_set_new(o, "line", e->line[0] ? json_string(e->line) : json_null());
    json_object_set_new(o, "direction", e->direction ? json_string(vigil_direction_name(e->direction))
                                                     : json_null());
    json_object_set_new(o, "end_us", e->open ? json_null() : json_integer(e->end_us));
    json_object_set_new(o, "open", json_boolean(e->open));
    json_object_set_new(o, "peak_score", json_real(e->peak_score));
    json_object_set_new(o, "snapshot_frame_id", json_integer(e->snapshot_frame_id));
    json_object_set_new(o, "box", json_pack("[f,f,f,f]", (double)e->x1, (double)e->y1,
                                            (double)e->x2, (double)e->y2));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* Publishes the committed event reports on topic events (at least once: a
 * crash before this point replays the frames and publishes them again). */
static void publish_events(vigil_analytics_t *an, const stage_cam_t *cam)
{
    for (size_t i = 0; i < cam->nevents; i++) {
        const vigil_analytics_event_t *e = &cam->events[i];
        char text[256];
        const char *what = e->zone[0] ? e->zone : e->line;
        snprintf(text, sizeof text, "%s track %llu: %s %s%s%s%s", e->label,
                 (unsigned long long)e->track_id, vigil_event_kind_name(e->kind), what,
                 e->direction ? " (" : "", vigil_direction_name(e->direction),
                 e->direction ? ")" : "");
        char *payload = vigil__analytics_event_json(e);
        Vigil__V1__Event ev = VIGIL__V1__EVENT__INIT;
        ev.schema_version = VIGIL_SCHEMA_VERSION;
        ev.camera_id = (char *)cam->id;
        ev.type = (char *)vigil_event_kind_name(e->kind);
        ev.time_us = e->open ? e->start_us : e->end_us;
        ev.sequence = e->updated_sequence;
        ev.message = text;
        ev.payload_json = payload ? payload : "";
        size_t len = 0;
        uint8_t *buf = vigil_msg_pack(&ev.base, &len);
        vigil_err_t err = buf ? vigil_bus_publish(an->bus, VIGIL_TOPIC_EVENTS, cam->id,
                                                  strlen(cam->id), buf, len, 1000)
                              : VIGIL_ERR_NOMEM;
        if (err)
            vigil_warn(VIGIL__AN_STAGE, cam->id,
                       "camera \"%s\": event %s of track %llu stored but not published: %s",
                       cam->id, vigil_event_kind_name(e->kind), (unsigned long long)e->track_id,
                       vigil_err_str(err));
        free(buf);
        free(payload);
    }
}

static void settle_held(vigil_analytics_t *an, int ok)
{
    for (size_t i = 0; i < an->nheld; i++) {
        if (ok) vigil_consumer_ack(an->consumer, an->held[i]);
        else vigil_consumer_release(an->consumer, an->held[i]);
    }
    if (ok) vigil_counter_add(an->m.in, an->nheld);
    an->nheld = 0;
}

/* Fills b with the batch of camera c (its checkpoint malloc'd in b->state). */
static vigil_err_t batch_of(stage_cam_t *c, vigil_analytics_camera_batch_t *b, char *errstr,
                            size_t errstr_size)
{
    memset(b, 0, sizeof *b);
    b->camera_id = c->id;
    b->events = c->events;
    b->nevents = c->nevents;
    b->points = c->points;
    b->npoints = c->npoints;
    b->counts = c->counts;
    b->ncounts = c->ncounts;
    if (!c->analyzer) return VIGIL_OK;
    uint8_t *state = NULL;
    size_t len = 0;
    vigil_err_t err = vigil_analyzer_save(c->analyzer, &state, &len);
    if (err) {
        snprintf(errstr, errstr_size, "camera \"%s\": cannot save its state: %s", c->id,
                 vigil_err_str(err));
        return err;
    }
    b->state = state;
    b->state_len = len;
    b->last_sequence = vigil_analyzer_last_sequence(c->analyzer);
    return VIGIL_OK;
}

/* A committed camera: its events go out, its outputs are done with. */
static void cam_committed(vigil_analytics_t *an, stage_cam_t *c)
{
    publish_events(an, c);
    vigil_counter_add(an->m.out, c->nevents);
    for (size_t i = 0; i < c->nevents; i++)
        if (!c->events[i].open && c->events[i].kind >= VIGIL_EVENT_ZONE_ENTER &&
            c->events[i].kind <= VIGIL_EVENT_LINE_CROSS)
            vigil_counter_inc(an->events_by_kind[c->events[i].kind]);
    vigil__an_cam_clear(c);
}

/* A camera whose outputs were not written: its state is forgotten, so that
 * its checkpoint and (unless its frames are acknowledged) the replay
 * rebuild it. */
static void cam_dropped(stage_cam_t *c)
{
    vigil_analyzer_free(c->analyzer);
    c->analyzer = NULL;
    vigil__an_cam_clear(c);
}

/* The store refused the whole batch: each camera on its own, so that one
 * camera's refused rows do not stop the others forever. */
static vigil_err_t commit_each(vigil_analytics_t *an)
{
    vigil_err_t worst = VIGIL_OK;
    for (stage_cam_t *c = an->cams; c; c = c->next) {
        if (!c->dirty) continue;
        char errstr[256] = "";
        vigil_analytics_camera_batch_t b;
        vigil_err_t err = batch_of(c, &b, errstr, sizeof errstr);
        if (!err) err = vigil_store_analytics_commit(an->store, &b, 1, errstr, sizeof errstr);
        free((void *)b.state);
        if (!err) {
            cam_committed(an, c);
            continue;
        }
        if (vigil_err_class(err) == VIGIL_ERR_CLASS_REFUSED) {
            vigil_counter_inc(an->m.failed);
            vigil_error(VIGIL__AN_STAGE, c->id,
                        "camera \"%s\": the warehouse refuses its analytics up to sequence %llu "
                        "(skipped; the camera goes on from its last checkpoint): %s",
                        c->id,
                        (unsigned long long)(c->analyzer ? vigil_analyzer_last_sequence(c->analyzer)
                                                         : 0),
                        errstr);
            cam_dropped(c);
            continue;
        }
        cam_dropped(c);
        if (!worst || vigil_err_is_fatal(err)) worst = err;
    }
    return worst;
}

vigil_err_t vigil__an_commit(vigil_analytics_t *an, int ack)
{
    char errstr[256] = "";
    size_t ndirty = 0, k = 0;
    vigil_err_t err = VIGIL_OK;
    for (stage_cam_t *c = an->cams; c; c = c->next) ndirty += c->dirty;
    if (ndirty == 0) {
        if (ack) settle_held(an, 1);
        return VIGIL_OK;
    }
    vigil_analytics_camera_batch_t *b = calloc(ndirty, sizeof *b);
    if (!b) {
        err = VIGIL_ERR_NOMEM;
        snprintf(errstr, sizeof errstr, "out of memory");
        goto done;
    }
    for (stage_cam_t *c = an->cams; c && !err; c = c->next)
        if (c->dirty) err = batch_of(c, &b[k++], errstr, sizeof errstr);
    if (!err) err = vigil_store_analytics_commit(an->store, b, ndirty, errstr, sizeof errstr);
done:
    for (size_t i = 0; b && i < k; i++) free((void *)b[i].state);
    free(b);
    if (vigil_err_class(err) == VIGIL_ERR_CLASS_REFUSED) err = commit_each(an);
    size_t tracks = 0;
    for (stage_cam_t *c = an->cams; c; c = c->next) {
        if (c->dirty && !err) cam_committed(an, c);
        else if (c->dirty) cam_dropped(c);
        if (c->analyzer) tracks += c->ntracks;
    }
    vigil_gauge_set(an->tracks, (int64_t)tracks);
    if (err) {
        vigil_counter_inc(an->m.failed);
        vigil_log_limited(&an->commit_log, VIGIL_LOG_ERROR, VIGIL__AN_STAGE, NULL, NULL,
                          "cannot commit analytics of %zu camera(s), %zu frame(s) (%s: %s): %s",
                          ndirty, an->nheld, vigil_err_class_name(vigil_err_class(err)),
                          vigil_err_is_fatal(err) ? "stopping" : "will replay", errstr);
        if (ack) settle_held(an, 0);
        else an->release_held = 1;
        return err;
    }
    vigil_log_limit_flush(&an->commit_log);
    vigil_counter_inc(an->commits);
    if (ack) settle_held(an, 1);
    return VIGIL_OK;
}
