/* The live hub's bus reader: frames, detections, tracks, events and control -> hub.
 *
 * Main idea: the API joins a consumer group of its own, unique per process
 * ("api-live-<pid>-<random>"), so every API replica sees every message in
 * `vigil run` (in-process bus) and in distributed mode (Kafka) alike, and
 * no pipeline group is disturbed. The group subscribes when the API starts
 * and stays for its lifetime: on the in-process bus a group that once
 * subscribed holds back the topic's retention until it commits, so a group
 * that came and went with the first and last viewer would leave the
 * pipeline blocked behind a stopped reader. The cost of reading always was
 * measured (docs/api.md, "Live views"): one decode and copy per message.
 *
 * The reader must never slow the pipeline: every message is handled in
 * microseconds (decode, copy into the hub under a short lock) and
 * acknowledged at once, whatever the clients do; slow clients only ever
 * see fewer frames. Messages published before the API started are not
 * live: they are acknowledged unread (a new Kafka group starts at the
 * earliest retained offset). Control messages are the exception: the
 * compacted control topic holds every camera's latest zones and lines,
 * drawn by `?boxes=1`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_int.h"
#include "api/live_int.h"
#include "vigil/analytics.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/msg.h"
#include "vigil/workers.h"

#define FEED_POLL_MS 200
#define FEED_OLD_US INT64_C(5000000) /* published this long before the start: not live */

/* The SSE frame "id: N\nevent: NAME\ndata: DATA\n\n" of msg, whose id was
 * just assigned. Locks: live->lock held (ids are assigned under it). */
static int msg_set_text(vigil__live_msg_t *msg, const char *event, const char *data,
                        size_t data_len)
{
    char head[96];
    int n = snprintf(head, sizeof(head), "id: %lld\nevent: %s\ndata: ", (long long)msg->id, event);

    msg->text = malloc((size_t)n + data_len + 3);
    if (!msg->text) return -1;
    memcpy(msg->text, head, (size_t)n);
    memcpy(msg->text + n, data, data_len);
    memcpy(msg->text + n + data_len, "\n\n", 3);
    msg->len = (size_t)n + data_len + 2;
    msg->bytes += msg->len + sizeof(*msg);
    return 0;
}

/* Pushes a message with `data` (taken) to the ring. */
static void push(vigil__live_t *live, vigil__live_msg_t *msg, const char *event, char *data)
{
    size_t len = strlen(data);

    pthread_mutex_lock(&live->lock);
    /* the id is only known under the lock; assign it, write the text, push */
    msg->id = live->head + 1;
    if (msg_set_text(msg, event, data, len) == 0) {
        vigil__live_ring_push(live, msg);
        msg = NULL;
    }
    pthread_mutex_unlock(&live->lock);
    free(data);
    if (msg) vigil__live_msg_unref(msg);
}

static void on_frame(vigil__live_t *live, const vigil_bus_msg_t *m)
{
    char errstr[256];
    Vigil__V1__Frame *fr = vigil_frame_decode(m->value, m->value_len, errstr, sizeof(errstr));
    vigil__live_frame_t *f, *old = NULL;

    if (!fr) goto bad;
    f = vigil__live_frame_new(fr->jpeg.len);
    if (!f) {
        vigil__v1__frame__free_unpacked(fr, NULL);
        return;
    }
    f->sequence = fr->sequence;
    f->capture_us = fr->capture_time_us;
    f->width = (int)fr->width;
    f->height = (int)fr->height;
    memcpy(f->jpeg, fr->jpeg.data, fr->jpeg.len);
    pthread_mutex_lock(&live->lock);
    vigil__live_cam_t *cam = vigil__live_cam_get(live, fr->camera_id);
    if (cam) {
        old = cam->frame;
        cam->frame = f;
        f = NULL;
        cam->seen_us = vigil_mono_us();
        if (cam->viewers) vigil__live_kick(live);
    }
    pthread_mutex_unlock(&live->lock);
    vigil__live_frame_unref(old);
    vigil__live_frame_unref(f);
    vigil__v1__frame__free_unpacked(fr, NULL);
    return;
bad:
    vigil_counter_inc(live->m_bus_bad);
    vigil_log_limited(&live->feed_limit, VIGIL_LOG_WARN, "api", NULL, NULL,
                      "live views: topic %s: message %lld of partition %d skipped: %s", m->topic,
                      (long long)m->offset, (int)m->partition, errstr);
}

/* A frame's boxes: from topic detections (the model's, no track ids) or,
 * `tracked`, from topic tracks (the same boxes after analytics, with their
 * track ids). While a camera's tracks keep coming (the last one less than
 * VIGIL__LIVE_TRACKED_US ago) its plain detections are not shown: the
 * views show one message per frame, with ids, at the cost of analytics'
 * per-frame time (microseconds; docs/analytics.md). Tracks of a frame not
 * after the last one taken are analytics replaying what it published
 * before a failure or a rebalance, and are dropped. */
static void on_detections(vigil__live_t *live, const vigil_bus_msg_t *m, int tracked)
{
    char errstr[256];
    Vigil__V1__Detections *d =
        vigil_detections_decode(m->value, m->value_len, errstr, sizeof(errstr));
    vigil__live_dets_t *dets = NULL, *copy = NULL, *old = NULL;
    vigil__live_msg_t *msg = NULL;
    size_t n, size;
    char *data;

    if (!d) {
        vigil_counter_inc(live->m_bus_bad);
        vigil_log_limited(&live->feed_limit, VIGIL_LOG_WARN, "api", NULL, NULL,
                          "live views: topic %s: message %lld of partition %d skipped: %s",
                          m->topic, (long long)m->offset, (int)m->partition, errstr);
        return;
    }
    n = d->n_items < VIGIL__LIVE_ITEMS_MAX ? d->n_items : VIGIL__LIVE_ITEMS_MAX;
    size = sizeof(*dets) + n * sizeof(dets->items[0]);
    if (!(dets = calloc(1, size))) goto done;
    snprintf(dets->camera, sizeof(dets->camera), "%s", d->camera_id);
    snprintf(dets->model, sizeof(dets->model), "%s", d->model ? d->model : "");
    dets->sequence = d->sequence;
    dets->capture_us = d->capture_time_us;
    dets->frame_id = d->frame_id;
    dets->width = (int)d->width;
    dets->height = (int)d->height;
    dets->n = n;
    dets->total = d->n_items;
    for (size_t i = 0; i < n; i++) {
        const Vigil__V1__Detection *it = d->items[i];
        vigil__live_box_t *b = &dets->items[i];
        b->x1 = it->x1, b->y1 = it->y1, b->x2 = it->x2, b->y2 = it->y2, b->score = it->score;
        snprintf(b->label, sizeof(b->label), "%s", it->label ? it->label : "");
        if (tracked) b->track_id = it->track_id; /* the decoder bounds it */
    }
    /* One copy for the camera (drawn by boxes=1), one in the SSE message. */
    if (n && (copy = malloc(size))) memcpy(copy, dets, size);
    int64_t now = vigil_mono_us();
    int shown = 1;
    pthread_mutex_lock(&live->lock);
    vigil__live_cam_t *cam = vigil__live_cam_get(live, dets->camera);
    if (cam && tracked) {
        if (cam->tracks_us && dets->sequence <= cam->tracks_seq) {
            shown = 0;
            vigil_counter_inc(live->m_bus_repeated);
        } else {
            cam->tracks_seq = dets->sequence;
            cam->tracks_us = now;
        }
    } else if (cam && cam->tracks_us && now - cam->tracks_us < VIGIL__LIVE_TRACKED_US) {
        shown = 0; /* analytics runs for this camera: its tracks show this frame */
    }
    if (cam && shown && (!cam->dets || cam->dets->sequence <= dets->sequence)) {
        old = cam->dets;
        cam->dets = dets;
        dets = NULL;
    }
    pthread_mutex_unlock(&live->lock);
    free(old);
    if (!shown) {
        free(copy);
        copy = NULL;
    }
    /* Frames with no box are not worth a message (the motion gate already
     * leaves most frames without one). */
    if (!copy) goto done;
    data = vigil__live_detection_data(copy, NULL, 0);
    msg = data ? calloc(1, sizeof(*msg)) : NULL;
    if (!msg) {
        free(data);
        free(copy);
        goto done;
    }
    atomic_init(&msg->refs, 1);
    msg->type = VIGIL__LIVE_DETECTION;
    snprintf(msg->camera, sizeof(msg->camera), "%s", copy->camera);
    msg->dets = copy;
    msg->bytes = size;
    push(live, msg, "detection", data);
done:
    free(dets);
    vigil__v1__detections__free_unpacked(d, NULL);
}

static void on_event(vigil__live_t *live, const vigil_bus_msg_t *m)
{
    char errstr[256];
    Vigil__V1__Event *ev = vigil_event_decode(m->value, m->value_len, errstr, sizeof(errstr));
    vigil__live_msg_t *msg;
    json_t *obj, *payload = NULL;
    int status;
    char *data;

    if (!ev) {
        vigil_counter_inc(live->m_bus_bad);
        vigil_log_limited(&live->feed_limit, VIGIL_LOG_WARN, "api", NULL, NULL,
                          "live views: topic %s: message %lld of partition %d skipped: %s",
                          m->topic, (long long)m->offset, (int)m->partition, errstr);
        return;
    }
    status = strncmp(ev->type, "camera.", 7) == 0;
    if (ev->payload_json && ev->payload_json[0] &&
        strlen(ev->payload_json) <= VIGIL__LIVE_PAYLOAD_MAX)
        payload = json_loads(ev->payload_json, JSON_REJECT_DUPLICATES, NULL);
    obj = json_pack("{s:s, s:s, s:o, s:I, s:I, s:s}", "camera", ev->camera_id,
                    status ? "status" : "type", status ? ev->type + 7 : ev->type, "time",
                    vigil__json_time(ev->time_us), "time_us", (json_int_t)ev->time_us,
                    "sequence", (json_int_t)ev->sequence, "message",
                    ev->message ? ev->message : "");
    if (obj) json_object_set_new(obj, "payload", payload ? payload : json_null());
    else json_decref(payload);
    data = obj ? json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    msg = data ? calloc(1, sizeof(*msg)) : NULL;
    if (msg) {
        json_t *label = payload ? json_object_get(payload, "label") : NULL;
        atomic_init(&msg->refs, 1);
        msg->type = status ? VIGIL__LIVE_STATUS : VIGIL__LIVE_EVENT;
        snprintf(msg->camera, sizeof(msg->camera), "%s", ev->camera_id);
        if (json_is_string(label))
            snprintf(msg->label, sizeof(msg->label), "%s", json_string_value(label));
        push(live, msg, status ? "status" : "event", data);
    } else {
        free(data);
    }
    json_decref(obj);
    vigil__v1__event__free_unpacked(ev, NULL);
}

void vigil__live_set_rules_json(vigil__live_t *live, const char *camera, const char *json,
                                size_t len)
{
    char errstr[256];
    vigil_rules_t rules;
    vigil__live_shape_t *shapes = NULL, *old = NULL;
    size_t n, k = 0;

    if (vigil_rules_from_json(json, len, &rules, errstr, sizeof(errstr)) != VIGIL_OK) {
        vigil_log_limited(&live->feed_limit, VIGIL_LOG_WARN, "api", camera, NULL,
                          "live views: camera \"%s\": zones and lines not drawn: %s", camera,
                          errstr);
        return;
    }
    n = rules.nzones + rules.nlines;
    if (n > VIGIL__LIVE_SHAPES_MAX) n = VIGIL__LIVE_SHAPES_MAX;
    if (n && !(shapes = calloc(n, sizeof(*shapes)))) goto done;
    for (size_t i = 0; i < rules.nzones && k < n; i++, k++) {
        snprintf(shapes[k].id, sizeof(shapes[k].id), "%s", rules.zones[i].id);
        shapes[k].n = rules.zones[i].npoints;
        memcpy(shapes[k].pts, rules.zones[i].polygon, shapes[k].n * sizeof(shapes[k].pts[0]));
    }
    for (size_t i = 0; i < rules.nlines && k < n; i++, k++) {
        shapes[k].is_line = 1;
        snprintf(shapes[k].id, sizeof(shapes[k].id), "%s", rules.lines[i].id);
        shapes[k].n = 2;
        shapes[k].pts[0] = rules.lines[i].a;
        shapes[k].pts[1] = rules.lines[i].b;
    }
    pthread_mutex_lock(&live->lock);
    vigil__live_cam_t *cam = vigil__live_cam_get(live, camera);
    if (cam) {
        old = cam->shapes;
        cam->shapes = shapes;
        cam->nshapes = n;
        cam->annotated_of = 0; /* draw the next frame again with the new shapes */
        shapes = NULL;
    }
    pthread_mutex_unlock(&live->lock);
done:
    free(old);
    free(shapes);
    vigil_rules_release(&rules);
}

static void on_control(vigil__live_t *live, const vigil_bus_msg_t *m)
{
    char errstr[256];
    Vigil__V1__CameraCommand *cmd =
        vigil_camera_command_decode(m->value, m->value_len, errstr, sizeof(errstr));

    if (!cmd) return; /* ingest and analytics report bad commands */
    if (cmd->op == VIGIL__V1__CAMERA_COMMAND__OP__OP_SET_RULES && cmd->rules_json)
        vigil__live_set_rules_json(live, cmd->camera_id, cmd->rules_json,
                                   strlen(cmd->rules_json));
    vigil__v1__camera_command__free_unpacked(cmd, NULL);
}

void vigil__live_feed_message(vigil__live_t *live, const vigil_bus_msg_t *m)
{
    vigil_counter_inc(live->m_bus_in);
    if (strcmp(m->topic, VIGIL_TOPIC_CONTROL) == 0) {
        on_control(live, m);
        return;
    }
    if (m->timestamp_us && m->timestamp_us < live->start_us - FEED_OLD_US) {
        vigil_counter_inc(live->m_bus_old);
        return;
    }
    if (strcmp(m->topic, VIGIL_TOPIC_FRAMES) == 0) on_frame(live, m);
    else if (strcmp(m->topic, VIGIL_TOPIC_DETECTIONS) == 0) on_detections(live, m, 0);
    else if (strcmp(m->topic, VIGIL_TOPIC_TRACKS) == 0) on_detections(live, m, 1);
    else if (strcmp(m->topic, VIGIL_TOPIC_EVENTS) == 0) on_event(live, m);
}

/* Thread: the feed. Polls, hands each message to the hub, acknowledges it. */
static void *feed_main(void *arg)
{
    vigil__live_t *live = arg;
    vigil_bus_msg_t *m;

    vigil_thread_name("api-live-feed");
    while (!atomic_load(&live->feed_stop)) {
        vigil_err_t err = vigil_consumer_poll(live->consumer, &m, FEED_POLL_MS);
        if (err == VIGIL_ERR_TIMED_OUT) continue;
        if (err == VIGIL_ERR_CLOSED) break;
        if (err) {
            vigil_log_limited(&live->feed_limit, VIGIL_LOG_WARN, "api", NULL, NULL,
                              "live views: cannot read the bus: %s", vigil_err_str(err));
            vigil_sleep_us(100000);
            continue;
        }
        vigil__live_feed_message(live, m);
        vigil_consumer_ack(live->consumer, m);
    }
    vigil_log_limit_flush(&live->feed_limit);
    return NULL;
}

vigil_err_t vigil__live_feed_start(vigil__live_t *live, char *errstr, size_t errstr_size)
{
    const char *topics[] = {VIGIL_TOPIC_FRAMES, VIGIL_TOPIC_DETECTIONS, VIGIL_TOPIC_TRACKS,
                            VIGIL_TOPIC_EVENTS, VIGIL_TOPIC_CONTROL};
    unsigned rnd = (unsigned)(vigil_mono_us() ^ (vigil_now_us() << 7) ^ (uint64_t)getpid());

    snprintf(live->group, sizeof(live->group), "api-live-%ld-%08x", (long)getpid(), rnd);
    live->consumer = vigil_bus_subscribe(live->bus, live->group, topics,
                                         sizeof(topics) / sizeof(topics[0]), errstr, errstr_size);
    if (!live->consumer) return VIGIL_ERR_BUS;
    if (pthread_create(&live->feed, NULL, feed_main, live) != 0) {
        vigil_consumer_close(live->consumer);
        live->consumer = NULL;
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM,
                            "api: live views: cannot start a thread");
    }
    live->feed_started = 1;
    return VIGIL_OK;
}

void vigil__live_feed_stop(vigil__live_t *live)
{
    if (live->feed_started) {
        atomic_store(&live->feed_stop, 1);
        pthread_join(live->feed, NULL);
        live->feed_started = 0;
    }
    if (live->consumer) {
        vigil_consumer_close(live->consumer);
        live->consumer = NULL;
    }
}
