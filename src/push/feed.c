/* The push service's bus reader: analytics events -> alerts.
 *
 * Main idea: the reader joins the consumer group "vigil-push" on the events
 * topic. In `vigil run` (in-process bus) that is the API's one reader; with
 * several `vigil api` processes on one Kafka bus the group splits the
 * partitions between them, so each event is read, and alerted, by one
 * process only (docs/push.md). Each message is acknowledged at once: an
 * alert is queued, never sent, from here.
 *
 * An event is alerted once: the analytics stage publishes an event when it
 * opens and again when it closes, so (camera, kind, track, start) is
 * remembered in a small ring. Events published long before the reader
 * started (a group resuming after downtime) are not alerted. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "push/push_int.h"
#include "vigil/bus.h"
#include "vigil/clock.h"
#include "vigil/msg.h"
#include "vigil/workers.h"

#define FEED_POLL_MS 200
#define FEED_GROUP "vigil-push"
#define FEED_OLD_US INT64_C(60000000) /* published this long before the start: not alerted */

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

/* 1 when the key was seen (and so not alerted again); else remembers it. */
static int seen(vigil_push_t *push, uint64_t key)
{
    for (size_t i = 0; i < VIGIL__PUSH_DEDUP; i++)
        if (push->dedup[i] == key) return 1;
    push->dedup[push->dedup_next] = key;
    push->dedup_next = (push->dedup_next + 1) % VIGIL__PUSH_DEDUP;
    return 0;
}

static const char *str_member(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* The warehouse id of the event (camera, kind, track, start); 0 if not found. */
static int64_t event_id(vigil_store_t *store, const char *camera, const char *kind,
                        int64_t track, int64_t start_us)
{
    vigil_event_query_t q = {0};
    vigil_analytics_event_row_t *rows = NULL;
    size_t n = 0;
    int64_t next_start, next_id, id = 0;

    q.camera = camera;
    q.kind = kind;
    q.since_us = start_us;
    q.until_us = start_us + 1;
    q.limit = 50;
    if (vigil_store_analytics_events_query(store, &q, &rows, &n, &next_start, &next_id) ==
        VIGIL_OK) {
        for (size_t i = 0; i < n; i++)
            if ((int64_t)rows[i].ev.track_id == track || (!id && i + 1 == n)) id = rows[i].id;
    }
    free(rows);
    return id;
}

static void on_event(vigil_push_t *push, vigil_store_t **store, const vigil_bus_msg_t *m)
{
    char errstr[256], title[160];
    Vigil__V1__Event *ev = vigil_event_decode(m->value, m->value_len, errstr, sizeof(errstr));
    json_t *payload = NULL;
    vigil_push_sub_t *subs = NULL;
    size_t nsubs = 0;
    char *alert = NULL;
    const char *kind, *label, *zone, *line;
    int64_t track, start_us, id = -1;
    uint64_t key;

    if (!ev) return; /* the sink and the live views report bad messages */
    if (strncmp(ev->type, "camera.", 7) == 0 || !ev->payload_json || !ev->payload_json[0])
        goto done;
    payload = json_loads(ev->payload_json, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(payload)) goto done;
    kind = str_member(payload, "kind");
    label = str_member(payload, "label");
    zone = str_member(payload, "zone");
    line = str_member(payload, "line");
    track = json_integer_value(json_object_get(payload, "track"));
    start_us = json_integer_value(json_object_get(payload, "start_us"));
    if (!*kind) goto done;
    key = fnv1a(UINT64_C(14695981039346656037), ev->camera_id, strlen(ev->camera_id) + 1);
    key = fnv1a(key, kind, strlen(kind) + 1);
    key = fnv1a(key, &track, sizeof(track));
    key = fnv1a(key, &start_us, sizeof(start_us));
    if (seen(push, key)) goto done;
    if (!*store && !(*store = vigil__push_store_open(push, errstr, sizeof(errstr)))) {
        vigil_log_limited(&push->feed_limit, VIGIL_LOG_WARN, "push", NULL, NULL,
                          "push: cannot open the warehouse: %s", errstr);
        goto done;
    }
    if (vigil_store_push_sub_list(*store, 0, &subs, &nsubs, errstr, sizeof(errstr))) {
        vigil_log_limited(&push->feed_limit, VIGIL_LOG_WARN, "push", NULL, NULL,
                          "push: cannot read the subscriptions: %s", errstr);
        goto done;
    }
    for (size_t i = 0; i < nsubs; i++) {
        if (!vigil_push_filters_match(subs[i].filters, ev->camera_id, kind, label, zone, line))
            continue;
        if (!alert) {
            if (id < 0) id = event_id(*store, ev->camera_id, kind, track, start_us);
            snprintf(title, sizeof(title), "%s: %s %s", ev->camera_id, label[0] ? label : "object",
                     kind);
            alert = vigil_push_payload(title, ev->message ? ev->message : "", id,
                                       ev->camera_id, kind);
            if (!alert) break;
        }
        if (vigil__push_enqueue(push, &subs[i], alert) == 0) vigil_counter_inc(push->m_matched);
    }
done:
    free(alert);
    vigil_push_subs_free(subs, nsubs);
    json_decref(payload);
    vigil__v1__event__free_unpacked(ev, NULL);
}

static void *feed_main(void *arg)
{
    vigil_push_t *push = arg;
    vigil_store_t *store = NULL;
    vigil_bus_msg_t *m;

    vigil_thread_name("push-feed");
    while (!atomic_load(&push->feed_stop)) {
        vigil_err_t err = vigil_consumer_poll(push->consumer, &m, FEED_POLL_MS);
        if (err == VIGIL_ERR_TIMED_OUT) continue;
        if (err == VIGIL_ERR_CLOSED) break;
        if (err) {
            vigil_log_limited(&push->feed_limit, VIGIL_LOG_WARN, "push", NULL, NULL,
                              "push: cannot read the bus: %s", vigil_err_str(err));
            vigil_sleep_us(100000);
            continue;
        }
        if (strcmp(m->topic, VIGIL_TOPIC_EVENTS) == 0 &&
            !(m->timestamp_us && m->timestamp_us < push->start_us - FEED_OLD_US))
            on_event(push, &store, m);
        vigil_consumer_ack(push->consumer, m);
    }
    vigil_store_close(store);
    vigil_log_limit_flush(&push->feed_limit);
    return NULL;
}

vigil_err_t vigil__push_feed_start(vigil_push_t *push, char *errstr, size_t errstr_size)
{
    const char *topics[] = {VIGIL_TOPIC_EVENTS};

    push->consumer = vigil_bus_subscribe(push->bus, FEED_GROUP, topics, 1, errstr, errstr_size);
    if (!push->consumer) return VIGIL_ERR_BUS;
    atomic_store(&push->feed_stop, 0);
    if (pthread_create(&push->feed, NULL, feed_main, push) != 0) {
        vigil_consumer_close(push->consumer);
        push->consumer = NULL;
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "push: cannot start a thread");
    }
    push->feed_started = 1;
    return VIGIL_OK;
}

void vigil__push_feed_stop(vigil_push_t *push)
{
    if (push->feed_started) {
        atomic_store(&push->feed_stop, 1);
        pthread_join(push->feed, NULL);
        push->feed_started = 0;
    }
    if (push->consumer) {
        vigil_consumer_close(push->consumer);
        push->consumer = NULL;
    }
}
