/* The analytics stage: detections -> analyzers -> warehouse + topic events.
 *
 * See stage_int.h for the design (held messages, one transaction per commit,
 * checkpoints in the warehouse, replay after a failure or a rebalance).
 *
 * A commit happens when analytics.batch_frames messages are held, when the
 * oldest held message waited analytics.flush_ms, or as soon as the topic has
 * nothing more to give right now (as the sink batches). Held messages are
 * not committed on the bus, so they count against the in-process bus's
 * partition capacity: batch_frames stays well below bus.capacity.
 *
 * The stage never blocks detections from being stored: the sink is another
 * consumer group on the same topic and does not wait for this one (on the
 * in-process bus a stalled analytics group would, after bus.capacity
 * messages, make infer wait: the bus bounds memory that way).
 *
 * Metrics stage "analytics": in = detection messages done with (acked),
 * out = event reports written, dropped = messages already covered by a
 * checkpoint or repeated (sequence not after the last one), failed =
 * undecodable messages and refused commits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/stage_int.h"
#include "vigil/clock.h"
#include "vigil/health.h"
#include "vigil/log.h"
#include "vigil/msg.h"

#define POLL_MS 100
#define BACKOFF_US 200000

static void log_bad(const vigil_bus_msg_t *msg, const char *errstr)
{
    char fields[160];
    snprintf(fields, sizeof fields, "\"topic\":\"%s\",\"partition\":%d,\"offset\":%lld",
             msg->topic, (int)msg->partition, (long long)msg->offset);
    VIGIL_LOGF(VIGIL_LOG_ERROR, VIGIL__AN_STAGE, NULL, fields,
               "bad detections message at %s[%d]@%lld: %s", msg->topic, (int)msg->partition,
               (long long)msg->offset, errstr);
}

static void hold(vigil_analytics_t *an, vigil_bus_msg_t *msg)
{
    if (an->nheld == an->capheld) {
        size_t cap = an->capheld ? an->capheld * 2 : 64;
        vigil_bus_msg_t **held = realloc(an->held, cap * sizeof *held);
        if (!held) {
            /* cannot hold it: give it back, it comes again after the next commit */
            vigil_consumer_release(an->consumer, msg);
            return;
        }
        an->held = held;
        an->capheld = cap;
    }
    if (an->nheld == 0) an->first_held_us = vigil_mono_us();
    an->held[an->nheld++] = msg;
}

/* Loads the camera's analyzer from its checkpoint, or makes a new one. A
 * checkpoint that cannot be read is logged and counted; the camera then
 * starts afresh but keeps skipping what the checkpoint covered. */
static vigil_err_t cam_load(vigil_analytics_t *an, stage_cam_t *cam)
{
    char errstr[256] = "";
    uint8_t *state = NULL;
    size_t len = 0;
    uint64_t last = 0;
    const vigil_rules_t *r = &cam->rules;
    vigil_err_t err = vigil_store_analytics_state_get(an->store, cam->id, &state, &len, &last);
    if (err && err != VIGIL_ERR_NOT_FOUND) {
        vigil_error(VIGIL__AN_STAGE, cam->id, "cannot read the checkpoint of camera \"%s\": %s",
                    cam->id, vigil_err_str(err));
        return err;
    }
    if (!err) {
        cam->analyzer = vigil_analyzer_load(cam->id, &an->tconf, r->zones, r->nzones, r->lines,
                                            r->nlines, state, len, errstr, sizeof errstr);
        free(state);
        cam->skip_through = last;
        if (cam->analyzer) {
            vigil_info(VIGIL__AN_STAGE, cam->id,
                       "camera \"%s\": state restored from its checkpoint (sequence %llu)",
                       cam->id, (unsigned long long)last);
            return VIGIL_OK;
        }
        vigil_counter_inc(an->m.failed);
        vigil_error(VIGIL__AN_STAGE, cam->id,
                    "camera \"%s\": checkpoint refused, starting afresh after sequence %llu: %s",
                    cam->id, (unsigned long long)last, errstr);
    }
    /* afresh: never give a track id the warehouse already has */
    uint64_t max_track = 0;
    if ((err = vigil_store_analytics_max_track_id(an->store, cam->id, &max_track))) {
        vigil_error(VIGIL__AN_STAGE, cam->id, "camera \"%s\": cannot read its largest track id: %s",
                    cam->id, vigil_err_str(err));
        return err;
    }
    cam->analyzer = vigil_analyzer_new(cam->id, &an->tconf, r->zones, r->nzones, r->lines,
                                       r->nlines, errstr, sizeof errstr);
    if (!cam->analyzer) {
        vigil_error(VIGIL__AN_STAGE, cam->id, "camera \"%s\": cannot start analytics: %s",
                    cam->id, errstr);
        return VIGIL_ERR_INVALID;
    }
    if (max_track) vigil_analyzer_set_next_track_id(cam->analyzer, max_track + 1);
    return VIGIL_OK;
}

/* Publishes the frame d, its items' track ids set from out, on topic tracks
 * for the live views. Never waits: the live views must not slow analytics
 * (on the in-process bus a full partition means a reader that is behind; it
 * gets newer frames anyway), so a frame the bus cannot take now is skipped
 * and counted. Runs before the commit: what a replay publishes again is the
 * same frame with the same ids, which the live hub drops (stage_int.h). */
static void publish_tracks(vigil_analytics_t *an, const stage_cam_t *cam, Vigil__V1__Detections *d,
                           const vigil_analytics_out_t *out)
{
    size_t len = 0;
    for (size_t i = 0; i < d->n_items; i++) {
        int64_t id = i < DETS_MAX && out->det_track ? out->det_track[i] : 0;
        d->items[i]->track_id = id > 0 && (uint64_t)id <= VIGIL_TRACK_ID_MAX ? (uint64_t)id : 0;
    }
    uint8_t *buf = vigil_msg_pack(&d->base, &len);
    vigil_err_t err = buf ? vigil_bus_publish(an->bus, VIGIL_TOPIC_TRACKS, cam->id,
                                              strlen(cam->id), buf, len, 0)
                          : VIGIL_ERR_NOMEM;
    free(buf);
    if (!err) {
        vigil_counter_inc(an->live_published);
        return;
    }
    vigil_counter_inc(an->live_skipped);
    vigil_log_limited(&an->live_log, VIGIL_LOG_WARN, VIGIL__AN_STAGE, cam->id, NULL,
                      "camera \"%s\" sequence %llu: tracked boxes not published on topic %s "
                      "(the live views skip this frame): %s",
                      cam->id, (unsigned long long)d->sequence, VIGIL_TOPIC_TRACKS,
                      vigil_err_str(err));
}

/* Runs one decoded detections message through its camera's analyzer. */
static void analyze(vigil_analytics_t *an, stage_cam_t *cam, Vigil__V1__Detections *d)
{
    vigil_analytics_det_t *dets = an->dets;
    vigil_analytics_out_t out;
    size_t n = d->n_items < DETS_MAX ? d->n_items : DETS_MAX, rejected = 0;
    for (size_t i = 0; i < n; i++) {
        const Vigil__V1__Detection *it = d->items[i];
        dets[i] = (vigil_analytics_det_t){it->x1, it->y1, it->x2, it->y2, it->score, it->label};
    }
    vigil_analytics_frame_t frame = {d->sequence, d->capture_time_us, d->frame_id,
                                     (int)d->width, (int)d->height};
    int64_t t0 = vigil_mono_us();
    vigil_err_t err = vigil_analyzer_frame(cam->analyzer, &frame, dets, n, &out, &rejected);
    vigil_histogram_observe(an->m.processing, (double)(vigil_mono_us() - t0) / 1e6);
    rejected += d->n_items - n;
    if (rejected) {
        vigil_counter_add(an->rejected, rejected);
        vigil_warn(VIGIL__AN_STAGE, cam->id,
                   "camera \"%s\" sequence %llu: %zu of %zu detections skipped as invalid "
                   "(NaN, infinite or empty box, score outside 0..1, no label, or too many)",
                   cam->id, (unsigned long long)d->sequence, rejected, d->n_items);
    }
    if (err) {
        /* a repeated or out-of-order frame: nothing changed */
        vigil_counter_inc(an->m.dropped);
        vigil_debug(VIGIL__AN_STAGE, cam->id, "camera \"%s\": sequence %llu not after %llu: skipped",
                    cam->id, (unsigned long long)d->sequence,
                    (unsigned long long)vigil_analyzer_last_sequence(cam->analyzer));
        return;
    }
    publish_tracks(an, cam, d, &out);
    if (vigil__an_collect(cam, &out)) {
        /* the outputs cannot be kept: forget the state, the messages come again */
        vigil_error(VIGIL__AN_STAGE, cam->id, "camera \"%s\": out of memory collecting outputs",
                    cam->id);
        vigil_counter_inc(an->m.failed);
        vigil_analyzer_free(cam->analyzer);
        cam->analyzer = NULL;
        vigil__an_cam_clear(cam);
    }
}

static void take(vigil_analytics_t *an, vigil_bus_msg_t *msg)
{
    char errstr[256] = "";
    Vigil__V1__Detections *d = vigil_detections_decode(msg->value, msg->value_len, errstr,
                                                       sizeof errstr);
    if (!d) {
        vigil_counter_inc(an->m.in);
        vigil_counter_inc(an->m.failed);
        log_bad(msg, errstr);
        vigil_consumer_ack(an->consumer, msg);
        return;
    }
    stage_cam_t *cam = vigil__an_cam_get(an, d->camera_id);
    if (!cam) {
        vigil_counter_inc(an->m.in);
        vigil_counter_inc(an->m.failed);
        vigil_error(VIGIL__AN_STAGE, d->camera_id,
                    "camera \"%s\": not analysed: this worker already follows %d cameras "
                    "(limits.max_cameras)",
                    d->camera_id, an->cfg->limits_max_cameras);
        vigil_consumer_ack(an->consumer, msg);
        goto out;
    }
    cam->partition = msg->partition;
    cam->seen_us = vigil_mono_us();
    if (!cam->analyzer && cam_load(an, cam)) {
        /* the store is not answering: give the message back and wait */
        vigil_consumer_release(an->consumer, msg);
        vigil_sleep_us(BACKOFF_US);
        goto out;
    }
    if (d->sequence <= cam->skip_through) vigil_counter_inc(an->m.dropped); /* checkpointed */
    else analyze(an, cam, d);
    hold(an, msg);
out:
    vigil__v1__detections__free_unpacked(d, NULL);
}

/* Rebalance: a revoked partition's cameras go to another worker. Their state
 * is committed now (store only: the consumer must not be called here), then
 * forgotten, so that the next owner starts from this checkpoint. */
static void on_rebalance(void *opaque, vigil_consumer_t *consumer, vigil_bus_rebalance_t change,
                         const char *topic, int32_t partition)
{
    vigil_analytics_t *an = opaque;
    (void)consumer;
    if (change != VIGIL_BUS_REVOKED || strcmp(topic, VIGIL_TOPIC_DETECTIONS) != 0) return;
    vigil__an_commit(an, 0);
    for (stage_cam_t *c = an->cams; c; c = c->next)
        if (c->partition == partition && c->analyzer && !c->dirty) {
            vigil_analyzer_free(c->analyzer);
            c->analyzer = NULL;
        }
    vigil_info(VIGIL__AN_STAGE, NULL, "partition %d of %s revoked: its cameras' state committed",
               (int)partition, topic);
}

static int commit_due(const vigil_analytics_t *an, int idle)
{
    if (an->nheld == 0) return 0;
    if (idle || an->nheld >= (size_t)an->cfg->analytics_batch_frames) return 1;
    return vigil_mono_us() - an->first_held_us >= (int64_t)an->cfg->analytics_flush_ms * 1000;
}

/* Acts on a commit's result: a fatal error stops the stage (and with
 * /healthz "failed", `vigil run`); a retriable one backs off, 200 ms doubling
 * to 5 s, and shows as "degraded". 1 when the stage must stop. */
static int commit_failed(vigil_analytics_t *an, vigil_err_t err)
{
    char problem[160];
    if (!err) {
        if (an->backoff_us > BACKOFF_US) vigil_health_clear(VIGIL__AN_STAGE, NULL);
        an->backoff_us = BACKOFF_US;
        return 0;
    }
    snprintf(problem, sizeof problem, "analytics: cannot commit to the warehouse: %s",
             vigil_err_str(err));
    if (vigil_err_is_fatal(err)) {
        vigil_health_set(VIGIL__AN_STAGE, NULL, VIGIL_HEALTH_FAILED, problem);
        vigil_error(VIGIL__AN_STAGE, NULL, "stopped: %s", problem);
        return 1;
    }
    vigil_health_set(VIGIL__AN_STAGE, NULL, VIGIL_HEALTH_DEGRADED, problem);
    vigil_sleep_us(an->backoff_us);
    an->backoff_us = an->backoff_us * 2 > 5000000 ? 5000000 : an->backoff_us * 2;
    return 0;
}

static void *analytics_main(void *arg)
{
    vigil_analytics_t *an = arg;
    /* the rules first: the control log up to its end, before any frame */
    while (!vigil_workers_stopping(&an->thread))
        if (!vigil__an_control_poll(an, 200) && vigil_consumer_lag(an->control) <= 0) break;
    for (;;) {
        if (vigil_workers_stopping(&an->thread)) break;
        vigil__an_control_poll(an, 0);
        vigil_bus_msg_t *msg = NULL;
        vigil_err_t err = vigil_consumer_poll(an->consumer, &msg, an->nheld ? 0 : POLL_MS);
        vigil_consumer_report_lag(an->consumer, an->m.queue_depth, &an->lag_reported);
        if (err == VIGIL_ERR_CLOSED) break;
        if (an->release_held) {
            /* a commit inside the rebalance callback failed: what is held
             * was not written and its cameras' state is forgotten */
            for (size_t i = 0; i < an->nheld; i++)
                vigil_consumer_release(an->consumer, an->held[i]);
            an->nheld = 0;
            an->release_held = 0;
            if (err == VIGIL_OK) { /* it comes again after those, in order */
                vigil_consumer_release(an->consumer, msg);
                continue;
            }
        }
        if (err == VIGIL_OK) take(an, msg);
        else if (err != VIGIL_ERR_TIMED_OUT) {
            vigil_warn(VIGIL__AN_STAGE, NULL, "poll failed: %s", vigil_err_str(err));
            vigil_sleep_us(POLL_MS * 1000);
        }
        if (commit_due(an, err == VIGIL_ERR_TIMED_OUT) && commit_failed(an, vigil__an_commit(an, 1)))
            break;
        vigil__an_forget_idle(an, vigil_mono_us(), 0);
    }
    vigil__an_commit(an, 1); /* what cannot be written goes back to the bus */
    return NULL;
}

vigil_analytics_t *vigil_analytics_new(const vigil_config_t *cfg, vigil_bus_t *bus, char *errstr,
                                       size_t errstr_size)
{
    if (!cfg || !bus || cfg->analytics_batch_frames < 1 || cfg->analytics_flush_ms < 1) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                     "analytics: invalid configuration (batch_frames %d, flush_ms %d)",
                     cfg ? cfg->analytics_batch_frames : 0, cfg ? cfg->analytics_flush_ms : 0);
        return NULL;
    }
    vigil_analytics_t *an = calloc(1, sizeof *an);
    if (!an) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "analytics: out of memory");
        return NULL;
    }
    an->cfg = cfg;
    an->bus = bus;
    an->backoff_us = BACKOFF_US;
    if (!(an->dets = calloc(DETS_MAX, sizeof *an->dets))) {
        free(an);
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "analytics: out of memory");
        return NULL;
    }
    vigil_tracker_conf_from_config(&an->tconf, cfg);
    vigil_stage_metrics_init(&an->m, VIGIL__AN_STAGE, NULL);
    an->rejected = vigil_metrics_counter(
        "vigil_analytics_rejected_detections_total",
        "Detections the analytics stage skipped as invalid (NaN, empty box, bad score, no label).",
        NULL, NULL, NULL, NULL);
    an->commits = vigil_metrics_counter("vigil_analytics_commits_total",
                                        "Analytics checkpoint transactions committed.", NULL, NULL,
                                        NULL, NULL);
    for (int k = VIGIL_EVENT_ZONE_ENTER; k <= VIGIL_EVENT_LINE_CROSS; k++)
        an->events_by_kind[k] = vigil_metrics_counter(
            "vigil_analytics_events_total", "Analytics events started, by kind.", "kind",
            vigil_event_kind_name(k), NULL, NULL);
    an->tracks = vigil_metrics_gauge("vigil_analytics_tracks",
                                     "Confirmed tracks alive in this analytics worker.", NULL,
                                     NULL, NULL, NULL);
    an->live_published = vigil_metrics_counter(
        "vigil_analytics_live_frames_total",
        "Analysed frames published with their track ids on topic tracks (live views), or "
        "skipped because the bus could not take them at once.",
        "result", "published", NULL, NULL);
    an->live_skipped = vigil_metrics_counter(
        "vigil_analytics_live_frames_total",
        "Analysed frames published with their track ids on topic tracks (live views), or "
        "skipped because the bus could not take them at once.",
        "result", "skipped", NULL, NULL);
    vigil_store_conf_t sconf;
    vigil_store_conf_init(&sconf);
    sconf.url = cfg->store_url;
    sconf.data_dir = cfg->data_dir;
    sconf.migrate = 1;
    const char *topics[] = {VIGIL_TOPIC_DETECTIONS};
    if (!(an->store = vigil_store_open(&sconf, errstr, errstr_size))) goto fail;
    if (vigil__an_control_open(an, errstr, errstr_size)) goto fail;
    const char *group = cfg->analytics_group && *cfg->analytics_group ? cfg->analytics_group
                                                                      : "analytics";
    if (!(an->consumer = vigil_bus_subscribe(bus, group, topics, 1, errstr, errstr_size)))
        goto fail;
    vigil_consumer_set_rebalance_cb(an->consumer, on_rebalance, an);
    return an;
fail:
    vigil_analytics_free(an);
    return NULL;
}

vigil_err_t vigil_analytics_start(vigil_analytics_t *an)
{
    vigil_err_t err = vigil_workers_start(&an->thread, 1, analytics_main, an, 0, VIGIL__AN_STAGE);
    if (err) return err;
    vigil_info(VIGIL__AN_STAGE, NULL,
               "started (checkpoint every %d frames or %d ms; tracker: high %.2f low %.2f, "
               "min_hits %d, lost after %.1f s)",
               an->cfg->analytics_batch_frames, an->cfg->analytics_flush_ms,
               (double)an->tconf.high_score, (double)an->tconf.low_score, an->tconf.min_hits,
               an->tconf.lost_seconds);
    return VIGIL_OK;
}

void vigil_analytics_stop(vigil_analytics_t *an)
{
    if (!an) return;
    vigil_workers_stop(&an->thread);
}

void vigil_analytics_free(vigil_analytics_t *an)
{
    if (!an) return;
    vigil_analytics_stop(an);
    for (size_t i = 0; i < an->nheld; i++) vigil_consumer_release(an->consumer, an->held[i]);
    an->nheld = 0;
    if (an->consumer) vigil_consumer_close(an->consumer);
    if (an->control) vigil_consumer_close(an->control);
    vigil__an_cams_free(an);
    vigil_log_limit_flush(&an->live_log);
    vigil_store_close(an->store);
    free(an->held);
    free(an->dets);
    free(an);
}
