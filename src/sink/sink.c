/* The sink stage: detections and events -> warehouse.
 *
 * One thread, member of consumer group "sink" on topics detections and
 * events, with its own store connection, plus the retention sweeper
 * (retention.c) on a second connection.
 *
 * Detections are written in batches: the rows of several messages are
 * collected until sink_batch_size rows (or sink_flush_ms after the first held
 * message) and written in one transaction by vigil_store_results_put, which
 * marks each message's frame processed with its rows and skips the rows of a
 * frame already processed (at-least-once + idempotent writes = each frame's
 * rows once, of one inference). The messages are acked only after that
 * commit.
 *
 * A failed write is handled by its class (vigil/err.h):
 *   retriable (a lock, a full disk, I/O): the batch is released (delivered
 *     again) and the sink backs off, 200 ms doubling to 5 s, until a write
 *     succeeds; /healthz says "degraded" meanwhile, and the log says it once
 *     per 10 s with a count (vigil_log_limited);
 *   refused (the store will never take a row: INVALID, a constraint): the
 *     batch is written message by message, and each message refused is
 *     counted failed, logged and acked, so one bad message never blocks the
 *     others;
 *   fatal (no such table, a read-only or corrupt database): nothing is
 *     acked, the sink stops, and /healthz says "failed" with the error, on
 *     which `vigil run` and `vigil sink` exit 1 saying why.
 * Events are treated the same way, one by one.
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
#include "vigil/health.h"
#include "vigil/log.h"
#include "vigil/metrics.h"
#include "vigil/msg.h"
#include "vigil/stages.h"
#include "vigil/store.h"
#include "vigil/workers.h"

#define STAGE "sink"
#define POLL_MS 100
#define BACKOFF_MIN_US 200000
#define BACKOFF_MAX_US 5000000
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
    char held_camera[MAX_HELD][VIGIL_CAMERA_ID_MAX];
    uint64_t held_sequence[MAX_HELD];
    size_t held_row0[MAX_HELD], held_nrows[MAX_HELD]; /* its rows in `rows` */
    vigil_frame_result_t results[MAX_HELD];           /* filled at flush */
    size_t nheld;
    vigil_detection_row_t *rows;
    size_t nrows, caprows;
    int64_t first_held_us; /* monotonic */
    /* failures */
    int64_t backoff_us;      /* the next wait after a retriable failure; 0 while writes work */
    uint64_t retries;        /* retriable failures since the last success */
    int fatal;               /* a fatal store error stopped the sink */
    vigil_log_limit_t errlog; /* the sink thread's error records */
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

/* A retriable failure: the work is given back (by the caller) and the sink
 * waits before the next try, longer each time. Logged once per 10 s with a
 * count; /healthz says degraded until a write works again. */
static void note_retriable(vigil_sink_t *sink, const char *camera, const char *what,
                           const char *errstr)
{
    char problem[512];
    sink->backoff_us = sink->backoff_us ? sink->backoff_us * 2 : BACKOFF_MIN_US;
    if (sink->backoff_us > BACKOFF_MAX_US) sink->backoff_us = BACKOFF_MAX_US;
    sink->retries++;
    vigil_log_limited(&sink->errlog, VIGIL_LOG_ERROR, STAGE, camera,
                      NULL, "cannot write %s (will retry in %.1f s): %s", what,
                      (double)sink->backoff_us / 1e6, errstr);
    snprintf(problem, sizeof problem, "cannot write %s, retrying: %s", what, errstr);
    vigil_health_set(STAGE, NULL, VIGIL_HEALTH_DEGRADED, problem);
}

static void note_written(vigil_sink_t *sink)
{
    if (!sink->retries) return;
    vigil_log_limit_flush(&sink->errlog);
    vigil_info(STAGE, NULL, "writing to the warehouse again after %llu failed tries",
               (unsigned long long)sink->retries);
    vigil_health_clear(STAGE, NULL);
    sink->retries = 0;
    sink->backoff_us = 0;
}

/* A fatal failure: the sink stops; what it holds is given back (by the
 * caller), never acked, so nothing is lost on the bus. */
static void note_fatal(vigil_sink_t *sink, const char *what, vigil_err_t err,
                       const char *errstr)
{
    char problem[512];
    sink->fatal = 1;
    snprintf(problem, sizeof problem,
             "stopped: cannot write %s: %s (%s: no retry can help; fix the warehouse and "
             "restart)",
             what, errstr, vigil_err_str(err));
    vigil_log_limit_flush(&sink->errlog);
    vigil_error(STAGE, NULL, "%s", problem);
    vigil_health_set(STAGE, NULL, VIGIL_HEALTH_FAILED, problem);
}

/* Acks held message i after its rows were written (`inserted` of them new). */
static void settle_written(vigil_sink_t *sink, size_t i, size_t inserted, int64_t now)
{
    vigil_counter_add(sink->m.out, inserted);
    vigil_counter_inc(sink->m.in);
    vigil_counter_add(sink->m.dropped, sink->held_nrows[i] - inserted);
    vigil_histogram_observe(sink->stored_latency, (double)(now - sink->held_capture_us[i]) / 1e6);
    ack(sink, sink->held[i]);
}

/* Held messages [from, nheld) go back to the bus (delivered again). */
static void release_from(vigil_sink_t *sink, size_t from)
{
    for (size_t i = from; i < sink->nheld; i++) {
        vigil_counter_inc(sink->m.failed);
        vigil_consumer_release(sink->consumer, sink->held[i]);
    }
}

/* After the store refused a batch: each message on its own, so that those
 * it refuses are counted failed, logged and acked, and the others written.
 * Returns the first retriable or fatal error (the messages from there on
 * are released), else VIGIL_OK. */
static vigil_err_t flush_one_by_one(vigil_sink_t *sink)
{
    char errstr[256] = "", fields[96];
    for (size_t i = 0; i < sink->nheld; i++) {
        size_t inserted = 0;
        vigil_err_t err = vigil_store_results_put(sink->store, &sink->results[i], 1, &inserted,
                                                  errstr, sizeof errstr);
        if (!err) {
            settle_written(sink, i, inserted, vigil_now_us());
            continue;
        }
        if (vigil_err_class(err) != VIGIL_ERR_CLASS_REFUSED) {
            if (vigil_err_is_fatal(err)) note_fatal(sink, "detections", err, errstr);
            else note_retriable(sink, NULL, "detections", errstr);
            release_from(sink, i);
            return err;
        }
        vigil_counter_inc(sink->m.in);
        vigil_counter_inc(sink->m.failed);
        snprintf(fields, sizeof fields, "\"sequence\":%llu",
                 (unsigned long long)sink->held_sequence[i]);
        vigil_log_limited(&sink->errlog, VIGIL_LOG_ERROR, STAGE, sink->held_camera[i], fields,
                          "camera \"%s\": sequence %llu: %zu detections refused by the store, "
                          "dropped: %s",
                          sink->held_camera[i], (unsigned long long)sink->held_sequence[i],
                          sink->held_nrows[i], errstr);
        ack(sink, sink->held[i]);
    }
    return VIGIL_OK;
}

/* Writes the collected rows with each message's processed mark; acks the
 * held messages on success. On failure see the top of the file. Returns
 * the store's error when the sink must back off or stop. */
static vigil_err_t flush(vigil_sink_t *sink)
{
    char errstr[256] = "";
    size_t inserted = 0;
    if (sink->nheld == 0) return VIGIL_OK;
    int64_t t0 = vigil_mono_us();
    for (size_t i = 0; i < sink->nheld; i++)
        sink->results[i] = (vigil_frame_result_t){
            .camera_id = sink->held_camera[i],
            .sequence = sink->held_sequence[i],
            .rows = sink->rows + sink->held_row0[i],
            .n = sink->held_nrows[i],
        };
    vigil_err_t err = vigil_store_results_put(sink->store, sink->results, sink->nheld, &inserted,
                                              errstr, sizeof errstr);
    if (!err) {
        int64_t now = vigil_now_us();
        /* healthy again before the acks: whoever sees the topic drained
         * (vigil_bus_drain) must not see the old problem (found under TSan) */
        note_written(sink);
        vigil_counter_add(sink->m.out, inserted);
        vigil_counter_add(sink->m.in, sink->nheld);
        vigil_counter_add(sink->m.dropped, sink->nrows - inserted);
        for (size_t i = 0; i < sink->nheld; i++) {
            vigil_histogram_observe(sink->stored_latency,
                                    (double)(now - sink->held_capture_us[i]) / 1e6);
            ack(sink, sink->held[i]);
        }
    } else if (vigil_err_class(err) == VIGIL_ERR_CLASS_REFUSED) {
        err = flush_one_by_one(sink);
    } else {
        char what[64];
        snprintf(what, sizeof what, "%zu detections of %zu messages", sink->nrows, sink->nheld);
        if (vigil_err_is_fatal(err)) note_fatal(sink, what, err, errstr);
        else note_retriable(sink, NULL, what, errstr);
        release_from(sink, 0);
    }
    if (!err) note_written(sink);
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

/* Adds the rows of one detections message to the batch and holds it.
 * Returns VIGIL_ERR_NOMEM (the message given back) when the sink must wait. */
static vigil_err_t take_detections(vigil_sink_t *sink, vigil_bus_msg_t *msg)
{
    char errstr[256] = "";
    Vigil__V1__Detections *d = vigil_detections_decode(msg->value, msg->value_len, errstr,
                                                       sizeof errstr);
    if (!d) {
        vigil_counter_inc(sink->m.in);
        vigil_counter_inc(sink->m.failed);
        log_bad(msg, "detections", errstr);
        ack(sink, msg);
        return VIGIL_OK;
    }
    if (rows_reserve(sink, d->n_items)) {
        vigil_counter_inc(sink->m.failed);
        snprintf(errstr, sizeof errstr, "sequence %llu: out of memory for %zu detections",
                 (unsigned long long)d->sequence, d->n_items);
        note_retriable(sink, d->camera_id, "detections", errstr);
        vigil__v1__detections__free_unpacked(d, NULL);
        vigil_consumer_release(sink->consumer, msg);
        return VIGIL_ERR_NOMEM;
    }
    size_t row0 = sink->nrows;
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
    size_t h = sink->nheld++;
    sink->held_capture_us[h] = d->capture_time_us;
    snprintf(sink->held_camera[h], sizeof sink->held_camera[h], "%s", d->camera_id);
    sink->held_sequence[h] = d->sequence;
    sink->held_row0[h] = row0;
    sink->held_nrows[h] = sink->nrows - row0;
    sink->held[h] = msg;
    vigil__v1__detections__free_unpacked(d, NULL);
    return VIGIL_OK;
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

/* Writes one event (and its camera row). A retriable store failure releases
 * the message for redelivery and returns the error so that the caller backs
 * off; a refused event is counted failed, logged and acked; a fatal error
 * stops the sink (the message released). */
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
        char what[96], why[384];
        vigil_counter_inc(sink->m.failed);
        snprintf(what, sizeof what, "event %s of camera \"%s\"", row.type, row.camera_id);
        snprintf(why, sizeof why, "%s", vigil_store_last_error(sink->store));
        switch (vigil_err_class(err)) {
        case VIGIL_ERR_CLASS_REFUSED:
            vigil_log_limited(&sink->errlog, VIGIL_LOG_ERROR, STAGE, row.camera_id, NULL,
                              "%s refused by the store, dropped: %s", what, why);
            ack(sink, msg);
            err = VIGIL_OK;
            break;
        case VIGIL_ERR_CLASS_FATAL:
            note_fatal(sink, what, err, why);
            vigil_consumer_release(sink->consumer, msg);
            break;
        default:
            note_retriable(sink, row.camera_id, what, why);
            vigil_consumer_release(sink->consumer, msg);
            break;
        }
    } else {
        vigil_counter_inc(sink->events);
        note_written(sink);
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

/* Waits us after a retriable failure, in slices, so that a stop is not
 * delayed by the longest backoff. */
static void back_off(vigil_sink_t *sink)
{
    int64_t until = vigil_mono_us() + (sink->backoff_us ? sink->backoff_us : BACKOFF_MIN_US);
    while (!vigil_workers_stopping(&sink->thread)) {
        int64_t left = until - vigil_mono_us();
        if (left <= 0) break;
        vigil_sleep_us(left < POLL_MS * 1000 ? left : POLL_MS * 1000);
    }
}

static void *sink_main(void *arg)
{
    vigil_sink_t *sink = arg;
    while (!sink->fatal) {
        if (vigil_workers_stopping(&sink->thread)) break;
        vigil_bus_msg_t *msg = NULL;
        vigil_err_t err = vigil_consumer_poll(sink->consumer, &msg, sink->nheld ? 0 : POLL_MS);
        vigil_consumer_report_lag(sink->consumer, sink->m.queue_depth, &sink->lag_reported);
        if (err == VIGIL_ERR_CLOSED) break;
        if (err == VIGIL_OK) {
            vigil_err_t werr;
            if (strcmp(msg->topic, VIGIL_TOPIC_EVENTS) == 0) werr = take_event(sink, msg);
            else werr = take_detections(sink, msg);
            if (werr) {
                /* settle what is held (written, or given back) before backing off */
                if (sink->fatal) {
                    release_from(sink, 0);
                    sink->nheld = sink->nrows = 0;
                    break;
                }
                flush(sink);
                back_off(sink);
                continue;
            }
        } else if (err != VIGIL_ERR_TIMED_OUT) {
            vigil_log_limited(&sink->errlog, VIGIL_LOG_WARN, STAGE, NULL, NULL, "poll failed: %s",
                              vigil_err_str(err));
            vigil_sleep_us(POLL_MS * 1000);
        }
        if (flush_due(sink, err == VIGIL_ERR_TIMED_OUT) && flush(sink) && !sink->fatal)
            back_off(sink);
    }
    /* finish what is in flight: one last try, else the messages go back */
    if (!sink->fatal) flush(sink);
    vigil_log_limit_flush(&sink->errlog);
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
