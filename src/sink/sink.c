/* The sink stage: detections and events -> warehouse.
 *
 * One thread, member of consumer group "sink" on topics detections and
 * events, with its own store connection, plus the retention sweeper
 * (retention.c) on a second connection.
 *
 * Detections are written in batches: the rows of several messages are
 * collected until sink_batch_size rows (or sink_flush_ms after the first held
 * message) and written in one transaction by vigil_store_detections_put,
 * which skips existing (camera, sequence, model, idx) keys. The messages are
 * acked only after that commit (at-least-once + idempotent writes = each row
 * once). A batch the store refuses is not acked: its messages are released
 * (delivered again) and the sink backs off before going on.
 *
 * Events are written one by one when they arrive (vigil_store_event_put),
 * except the analytics stage's (zone_enter, line_cross, ...), which that
 * stage writes itself, atomically with its checkpoints;
 * "camera.*" events also upsert the camera row from payload_json (name, url,
 * fps) and set its status: camera.online/retrying/ended/stopped.
 *
 * Metrics stage "sink" (no camera label): in = detection messages done with
 * (counted when acked: written, or undecodable), out = rows inserted, dropped
 * = duplicate rows skipped, failed = messages that could not be decoded or
 * written (a refused batch counts each of its messages, which come back and
 * count in once written). Counting in at the ack means that once sink in
 * equals infer out, every row is in the warehouse. vigil_sink_events_total
 * counts events stored. */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/retention.h"
#include "vigil/analytics.h"
#include "vigil/bus.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/metrics.h"
#include "vigil/msg.h"
#include "vigil/stages.h"
#include "vigil/store.h"
#include "vigil/workers.h"

#define STAGE "sink"
#define POLL_MS 100
#define BACKOFF_US 200000
/* held messages are not committed, so they count against the bus partition
 * capacity: flush before holding this many even if they carry few rows */
#define MAX_HELD 64

struct vigil_sink {
    const vigil_config_t *cfg;
    vigil_bus_t *bus;
    vigil_workers_t thread; /* the one sink thread */
    vigil_consumer_t *consumer;
    vigil_store_t *store;
    vigil_retention_t *retention;
    vigil_stage_metrics_t m;
    int64_t lag_reported; /* last lag put into m.queue_depth */
    vigil_counter_t *events;
    vigil_histogram_t *stored_latency; /* capture -> detections committed */
    /* the batch being collected */
    vigil_bus_msg_t *held[MAX_HELD];
    int64_t held_capture_us[MAX_HELD]; /* capture time of each held message's frame */
    size_t nheld;
    vigil_detection_row_t *rows;
    size_t nrows, caprows;
    int64_t first_held_us; /* monotonic */
};

static void ack(vigil_sink_t *sink, vigil_bus_msg_t *msg)
{
    vigil_err_t err = vigil_consumer_ack(sink->consumer, msg);
    if (err)
        vigil_warn(STAGE, NULL, "cannot ack %s[%d]@%lld: %s", msg->topic, (int)msg->partition,
                   (long long)msg->offset, vigil_err_str(err));
}

static void log_bad(const vigil_bus_msg_t *msg, const char *what, const char *errstr)
{
    char fields[160];
    snprintf(fields, sizeof fields, "\"topic\":\"%s\",\"partition\":%d,\"offset\":%lld",
             msg->topic, (int)msg->partition, (long long)msg->offset);
    VIGIL_LOGF(VIGIL_LOG_ERROR, STAGE, NULL, fields, "bad %s message at %s[%d]@%lld: %s", what,
               msg->topic, (int)msg->partition, (long long)msg->offset, errstr);
}

/* Writes the collected rows; acks the held messages on success, releases
 * them (redelivery) on failure. Returns the store's error. */
static vigil_err_t flush(vigil_sink_t *sink)
{
    char errstr[256] = "";
    size_t inserted = 0;
    vigil_err_t err = VIGIL_OK;
    if (sink->nheld == 0) return VIGIL_OK;
    int64_t t0 = vigil_mono_us();
    if (sink->nrows)
        err = vigil_store_detections_put(sink->store, sink->rows, sink->nrows, &inserted, errstr,
                                         sizeof errstr);
    if (err) {
        vigil_counter_add(sink->m.failed, sink->nheld);
        vigil_error(STAGE, NULL,
                    "cannot write %zu detections of %zu messages (will retry): %s", sink->nrows,
                    sink->nheld, errstr);
        for (size_t i = 0; i < sink->nheld; i++) vigil_consumer_release(sink->consumer, sink->held[i]);
    } else {
        vigil_counter_add(sink->m.out, inserted);
        vigil_counter_add(sink->m.in, sink->nheld);
        vigil_counter_add(sink->m.dropped, sink->nrows - inserted);
        int64_t now = vigil_now_us();
        for (size_t i = 0; i < sink->nheld; i++) {
            vigil_histogram_observe(sink->stored_latency,
                                    (double)(now - sink->held_capture_us[i]) / 1e6);
            ack(sink, sink->held[i]);
        }
    }
    vigil_histogram_observe(sink->m.processing, (double)(vigil_mono_us() - t0) / 1e6);
    sink->nheld = 0;
    sink->nrows = 0;
    return err;
}

static vigil_err_t rows_reserve(vigil_sink_t *sink, size_t more)
{
    if (sink->nrows + more <= sink->caprows) return VIGIL_OK;
    size_t cap = sink->caprows ? sink->caprows : 64;
    while (cap < sink->nrows + more) cap *= 2;
    vigil_detection_row_t *rows = realloc(sink->rows, cap * sizeof *rows);
    if (!rows) return VIGIL_ERR_NOMEM;
    sink->rows = rows;
    sink->caprows = cap;
    return VIGIL_OK;
}

/* Adds the rows of one detections message to the batch and holds it. */
static void take_detections(vigil_sink_t *sink, vigil_bus_msg_t *msg)
{
    char errstr[256] = "";
    Vigil__V1__Detections *d = vigil_detections_decode(msg->value, msg->value_len, errstr,
                                                       sizeof errstr);
    if (!d) {
        vigil_counter_inc(sink->m.in);
        vigil_counter_inc(sink->m.failed);
        log_bad(msg, "detections", errstr);
        ack(sink, msg);
        return;
    }
    if (rows_reserve(sink, d->n_items)) {
        vigil_counter_inc(sink->m.failed);
        vigil_error(STAGE, d->camera_id, "sequence %llu: out of memory for %zu detections",
                    (unsigned long long)d->sequence, d->n_items);
        vigil__v1__detections__free_unpacked(d, NULL);
        vigil_consumer_release(sink->consumer, msg);
        return;
    }
    for (size_t k = 0; k < d->n_items; k++) {
        const Vigil__V1__Detection *it = d->items[k];
        vigil_detection_row_t *r = &sink->rows[sink->nrows++];
        memset(r, 0, sizeof *r);
        snprintf(r->camera_id, sizeof r->camera_id, "%s", d->camera_id);
        r->sequence = d->sequence;
        r->frame_id = d->frame_id;
        r->capture_time_us = d->capture_time_us;
        snprintf(r->model, sizeof r->model, "%s", d->model);
        r->idx = (int)k;
        snprintf(r->label, sizeof r->label, "%s", it->label ? it->label : "");
        r->score = it->score;
        r->x1 = it->x1;
        r->y1 = it->y1;
        r->x2 = it->x2;
        r->y2 = it->y2;
    }
    if (sink->nheld == 0) sink->first_held_us = vigil_mono_us();
    sink->held_capture_us[sink->nheld] = d->capture_time_us;
    sink->held[sink->nheld++] = msg;
    vigil__v1__detections__free_unpacked(d, NULL);
}

/* The status a camera.* event type sets, or NULL if it sets none. */
static const char *camera_status(const char *type)
{
    static const char *const map[][2] = {
        {"camera.online", "online"},
        {"camera.retrying", "retrying"},
        {"camera.ended", "ended"},
        {"camera.stopped", "stopped"},
        {"camera.failed", "failed"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(type, map[i][0]) == 0) return map[i][1];
    return NULL;
}

/* Upserts the camera row of a camera.* event and sets its status. */
static vigil_err_t apply_camera_event(vigil_sink_t *sink, const Vigil__V1__Event *ev)
{
    vigil_camera_row_t row = {0};
    json_t *payload = NULL;
    snprintf(row.id, sizeof row.id, "%s", ev->camera_id);
    snprintf(row.name, sizeof row.name, "%s", ev->camera_id);
    row.enabled = 1;
    row.updated_us = ev->time_us;
    const char *status = camera_status(ev->type);
    snprintf(row.status, sizeof row.status, "%s", status ? status : "starting");
    const char *error = "";
    if (ev->payload_json && *ev->payload_json) {
        json_error_t jerr;
        payload = json_loads(ev->payload_json, 0, &jerr);
        if (!json_is_object(payload)) {
            vigil_warn(STAGE, ev->camera_id, "event %s: payload_json is not a JSON object: %s",
                       ev->type, payload ? "wrong type" : jerr.text);
        } else {
            const char *s;
            if ((s = json_string_value(json_object_get(payload, "name"))) && *s)
                snprintf(row.name, sizeof row.name, "%s", s);
            if ((s = json_string_value(json_object_get(payload, "url"))))
                snprintf(row.url, sizeof row.url, "%s", s);
            json_t *fps = json_object_get(payload, "fps");
            if (json_is_number(fps)) row.fps = json_number_value(fps);
            json_t *en = json_object_get(payload, "enabled");
            if (json_is_boolean(en)) row.enabled = json_is_true(en);
            if ((s = json_string_value(json_object_get(payload, "error"))) ||
                (s = json_string_value(json_object_get(payload, "last_error"))))
                error = s;
        }
    }
    if (status && strcmp(status, "retrying") == 0 && !*error && ev->message) error = ev->message;
    if (status && strcmp(status, "online") == 0) error = "";
    snprintf(row.last_error, sizeof row.last_error, "%s", error);
    vigil_err_t err = vigil_store_camera_upsert(sink->store, &row);
    if (!err && status) err = vigil_store_camera_set_status(sink->store, row.id, status, error);
    json_decref(payload);
    return err;
}

/* Writes one event (and its camera row). Store failures release the message
 * for redelivery and return the error so that the caller backs off. */
static vigil_err_t take_event(vigil_sink_t *sink, vigil_bus_msg_t *msg)
{
    char errstr[256] = "";
    Vigil__V1__Event *ev = vigil_event_decode(msg->value, msg->value_len, errstr, sizeof errstr);
    if (!ev) {
        vigil_counter_inc(sink->m.failed);
        log_bad(msg, "event", errstr);
        ack(sink, msg);
        return VIGIL_OK;
    }
    if (vigil_event_kind_parse(ev->type)) {
        /* zone_enter, line_cross, ...: the analytics stage stored them with
         * its checkpoint; they are on the topic for live consumers */
        ack(sink, msg);
        vigil__v1__event__free_unpacked(ev, NULL);
        return VIGIL_OK;
    }
    vigil_event_row_t row = {0};
    snprintf(row.camera_id, sizeof row.camera_id, "%s", ev->camera_id);
    snprintf(row.type, sizeof row.type, "%s", ev->type ? ev->type : "");
    row.time_us = ev->time_us;
    row.sequence = ev->sequence;
    snprintf(row.message, sizeof row.message, "%s", ev->message ? ev->message : "");
    row.payload_json = (ev->payload_json && *ev->payload_json) ? ev->payload_json : NULL;
    vigil_err_t err = vigil_store_event_put(sink->store, &row);
    if (!err && strncmp(row.type, "camera.", 7) == 0) err = apply_camera_event(sink, ev);
    if (err) {
        vigil_counter_inc(sink->m.failed);
        vigil_error(STAGE, row.camera_id, "cannot write event %s (will retry): %s", row.type,
                    vigil_err_str(err));
        vigil_consumer_release(sink->consumer, msg);
    } else {
        vigil_counter_inc(sink->events);
        ack(sink, msg);
    }
    vigil__v1__event__free_unpacked(ev, NULL);
    return err;
}

/* A batch is written when it is full, when its oldest message waited
 * sink.flush_ms, or as soon as the topic has nothing more to give right now
 * (idle): batches grow only while messages queue up, so a quiet pipeline
 * pays no batching delay and a busy one gets large transactions. */
static int flush_due(const vigil_sink_t *sink, int idle)
{
    if (sink->nheld == 0) return 0;
    if (idle || sink->nheld >= MAX_HELD || sink->nrows >= (size_t)sink->cfg->sink_batch_size)
        return 1;
    return vigil_mono_us() - sink->first_held_us >= (int64_t)sink->cfg->sink_flush_ms * 1000;
}

static void *sink_main(void *arg)
{
    vigil_sink_t *sink = arg;
    for (;;) {
        if (vigil_workers_stopping(&sink->thread)) break;
        vigil_bus_msg_t *msg = NULL;
        vigil_err_t err = vigil_consumer_poll(sink->consumer, &msg, sink->nheld ? 0 : POLL_MS);
        vigil_consumer_report_lag(sink->consumer, sink->m.queue_depth, &sink->lag_reported);
        if (err == VIGIL_ERR_CLOSED) break;
        if (err == VIGIL_OK) {
            vigil_err_t werr = VIGIL_OK;
            if (strcmp(msg->topic, VIGIL_TOPIC_EVENTS) == 0) werr = take_event(sink, msg);
            else take_detections(sink, msg);
            if (werr) {
                /* settle what is held (written, or given back) before backing off */
                flush(sink);
                vigil_sleep_us(BACKOFF_US);
                continue;
            }
        } else if (err != VIGIL_ERR_TIMED_OUT) {
            vigil_warn(STAGE, NULL, "poll failed: %s", vigil_err_str(err));
            vigil_sleep_us(POLL_MS * 1000);
        }
        if (flush_due(sink, err == VIGIL_ERR_TIMED_OUT) && flush(sink)) vigil_sleep_us(BACKOFF_US);
    }
    /* finish what is in flight: one last try, else the messages go back */
    flush(sink);
    return NULL;
}

vigil_sink_t *vigil_sink_new(const vigil_config_t *cfg, vigil_bus_t *bus, char *errstr,
                             size_t errstr_size)
{
    if (!cfg || !bus || cfg->sink_batch_size < 1 || cfg->sink_flush_ms < 1) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                     "sink: invalid configuration (batch_size %d, flush_ms %d)",
                     cfg ? cfg->sink_batch_size : 0, cfg ? cfg->sink_flush_ms : 0);
        return NULL;
    }
    vigil_sink_t *sink = calloc(1, sizeof *sink);
    if (!sink) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "sink: out of memory");
        return NULL;
    }
    sink->cfg = cfg;
    sink->bus = bus;
    vigil_stage_metrics_init(&sink->m, STAGE, NULL);
    sink->stored_latency = vigil_metrics_histogram(
        "vigil_detection_capture_to_stored_seconds",
        "Time from a frame's capture to its detections being committed to the warehouse", NULL,
        NULL, NULL, NULL);
    sink->events = vigil_metrics_counter("vigil_sink_events_total",
                                         "Events the sink wrote to the warehouse.", NULL, NULL,
                                         NULL, NULL);
    vigil_store_conf_t sconf;
    vigil_store_conf_init(&sconf);
    sconf.url = cfg->store_url;
    sconf.data_dir = cfg->data_dir;
    sconf.migrate = 1;
    const char *topics[] = {VIGIL_TOPIC_DETECTIONS, VIGIL_TOPIC_EVENTS};
    if (!(sink->store = vigil_store_open(&sconf, errstr, errstr_size))) goto fail;
    if (!(sink->retention = vigil__retention_new(cfg, errstr, errstr_size))) goto fail;
    if (!(sink->consumer = vigil_bus_subscribe(bus, "sink", topics, 2, errstr, errstr_size)))
        goto fail;
    return sink;
fail:
    vigil_sink_free(sink);
    return NULL;
}

vigil_err_t vigil_sink_start(vigil_sink_t *sink)
{
    vigil_err_t err = vigil_workers_start(&sink->thread, 1, sink_main, sink, 0, STAGE);
    if (err) return err;
    err = vigil__retention_start(sink->retention);
    if (err) {
        vigil_sink_stop(sink);
        return err;
    }
    vigil_info(STAGE, NULL, "started (batches of %d rows, flush every %d ms)",
               sink->cfg->sink_batch_size, sink->cfg->sink_flush_ms);
    return VIGIL_OK;
}

void vigil_sink_stop(vigil_sink_t *sink)
{
    if (!sink) return;
    vigil__retention_stop(sink->retention);
    vigil_workers_stop(&sink->thread);
}

void vigil_sink_free(vigil_sink_t *sink)
{
    if (!sink) return;
    vigil_sink_stop(sink);
    if (sink->consumer) vigil_consumer_close(sink->consumer);
    vigil__retention_free(sink->retention);
    vigil_store_close(sink->store);
    free(sink->rows);
    free(sink);
}
