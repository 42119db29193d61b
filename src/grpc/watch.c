/* LiveService.Watch: the bus's events and detections, as they come, to any
 * number of gRPC streams with bounded memory.
 *
 * Main idea: as the REST API's live hub (src/api/live_feed.c), a consumer
 * group of the server's own ("grpc-watch-<pid>-<random>") reads topics
 * events and detections for the server's lifetime, acknowledging each
 * message at once so that Watch never back-pressures the pipeline. Each
 * message is encoded once into a WatchEvent (without `skipped`) and put in
 * a ring of VIGIL__GRPC_RING entries and VIGIL__GRPC_RING_BYTES bytes; the
 * loops are woken and every Watch stream copies what its filter keeps from
 * its own position. A stream takes more only while its unsent bytes are
 * below VIGIL__GRPC_WATCH_OUT_MAX: a reader slower than the feed falls
 * behind the ring's oldest entry and jumps to it, and the next message it
 * gets says how many it missed (`skipped`, a protobuf field appended to the
 * encoded message: concatenated encodings merge).
 *
 * Threads: the feed thread writes the ring under ring_lock; loops read it
 * under the same lock (copying the bytes into their streams). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grpc/grpc_int.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/msg.h"
#include "vigil/v1/api.pb-c.h"
#include "vigil/workers.h"

#define FEED_POLL_MS 200
#define FEED_OLD_US INT64_C(5000000) /* published this long before the start: not live */
#define LIVE_ITEMS_MAX 256           /* boxes of one frame sent */

/* Thread: the feed. Takes the encoded bytes. */
static void ring_push(vigil_grpc_t *g, int detections, const char *camera, uint8_t *bytes,
                      size_t len)
{
    pthread_mutex_lock(&g->ring_lock);
    int64_t id = g->ring_head + 1;
    vigil__gring_msg_t *slot = &g->ring[id % VIGIL__GRPC_RING];
    /* evict: the slot's previous message, then the oldest while over the byte bound */
    if (slot->bytes) {
        g->ring_bytes -= slot->len;
        free(slot->bytes);
        slot->bytes = NULL;
        if (g->ring_oldest <= slot->id) g->ring_oldest = slot->id + 1;
    }
    while (g->ring_oldest <= g->ring_head && g->ring_bytes + len > VIGIL__GRPC_RING_BYTES) {
        vigil__gring_msg_t *old = &g->ring[g->ring_oldest % VIGIL__GRPC_RING];
        g->ring_bytes -= old->len;
        free(old->bytes);
        old->bytes = NULL;
        g->ring_oldest++;
    }
    slot->id = id;
    slot->detections = detections;
    snprintf(slot->camera, sizeof(slot->camera), "%s", camera);
    slot->bytes = bytes;
    slot->len = len;
    g->ring_bytes += len;
    g->ring_head = id;
    if (g->ring_oldest > id) g->ring_oldest = id;
    pthread_mutex_unlock(&g->ring_lock);
    for (int i = 0; i < g->nloops; i++)
        if (g->loops[i].wake[1] >= 0) (void)!write(g->loops[i].wake[1], "w", 1);
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    uint8_t *b;

    *len = protobuf_c_message_get_packed_size(m);
    if (!(b = malloc(*len ? *len : 1))) return NULL;
    protobuf_c_message_pack(m, b);
    return b;
}

static void on_event(vigil_grpc_t *g, const vigil_bus_msg_t *m)
{
    char errstr[256];
    Vigil__V1__Event *ev = vigil_event_decode(m->value, m->value_len, errstr, sizeof(errstr));
    Vigil__V1__WatchEvent we = VIGIL__V1__WATCH_EVENT__INIT;
    Vigil__V1__LiveEvent le = VIGIL__V1__LIVE_EVENT__INIT;
    uint8_t *b;
    size_t len;

    if (!ev) {
        vigil_counter_inc(g->m_bus_bad);
        return;
    }
    le.camera = ev->camera_id;
    le.type = ev->type;
    le.time_us = ev->time_us;
    le.sequence = ev->sequence;
    le.message = ev->message ? ev->message : "";
    le.payload_json = ev->payload_json ? ev->payload_json : "";
    we.item_case = VIGIL__V1__WATCH_EVENT__ITEM_EVENT;
    we.event = &le;
    if ((b = pack(&we.base, &len))) ring_push(g, 0, ev->camera_id, b, len);
    vigil__v1__event__free_unpacked(ev, NULL);
}

static void on_detections(vigil_grpc_t *g, const vigil_bus_msg_t *m)
{
    char errstr[256];
    Vigil__V1__Detections *d =
        vigil_detections_decode(m->value, m->value_len, errstr, sizeof(errstr));
    Vigil__V1__WatchEvent we = VIGIL__V1__WATCH_EVENT__INIT;
    Vigil__V1__LiveDetections ld = VIGIL__V1__LIVE_DETECTIONS__INIT;
    Vigil__V1__StoredDetection items[LIVE_ITEMS_MAX], *ptrs[LIVE_ITEMS_MAX];
    size_t n, len;
    uint8_t *b;

    if (!d) {
        vigil_counter_inc(g->m_bus_bad);
        return;
    }
    n = d->n_items < LIVE_ITEMS_MAX ? d->n_items : LIVE_ITEMS_MAX;
    if (!n) goto done; /* frames without a box are not worth a message */
    for (size_t i = 0; i < n; i++) {
        const Vigil__V1__Detection *it = d->items[i];
        vigil__v1__stored_detection__init(&items[i]);
        items[i].camera = d->camera_id;
        items[i].sequence = d->sequence;
        items[i].frame_id = d->frame_id;
        items[i].time_us = d->capture_time_us;
        items[i].model = d->model ? d->model : "";
        items[i].label = it->label ? it->label : "";
        items[i].score = it->score;
        items[i].x1 = it->x1, items[i].y1 = it->y1, items[i].x2 = it->x2, items[i].y2 = it->y2;
        ptrs[i] = &items[i];
    }
    ld.camera = d->camera_id;
    ld.sequence = d->sequence;
    ld.time_us = d->capture_time_us;
    ld.frame_id = d->frame_id;
    ld.model = d->model ? d->model : "";
    ld.n_items = n;
    ld.items = ptrs;
    we.item_case = VIGIL__V1__WATCH_EVENT__ITEM_DETECTIONS;
    we.detections = &ld;
    if ((b = pack(&we.base, &len))) ring_push(g, 1, d->camera_id, b, len);
done:
    vigil__v1__detections__free_unpacked(d, NULL);
}

/* Thread: the feed. Polls, encodes into the ring, acknowledges. */
static void *feed_main(void *arg)
{
    vigil_grpc_t *g = arg;
    vigil_bus_msg_t *m;

    vigil_thread_name("grpc-watch");
    while (!atomic_load(&g->feed_stop)) {
        vigil_err_t err = vigil_consumer_poll(g->consumer, &m, FEED_POLL_MS);
        if (err == VIGIL_ERR_TIMED_OUT) continue;
        if (err == VIGIL_ERR_CLOSED) break;
        if (err) {
            vigil_sleep_us(100000);
            continue;
        }
        vigil_counter_inc(g->m_bus_in);
        /* encode only while someone watches; older messages are not live */
        if (atomic_load(&g->watchers) > 0 &&
            !(m->timestamp_us && m->timestamp_us < g->start_us - FEED_OLD_US)) {
            if (strcmp(m->topic, VIGIL_TOPIC_EVENTS) == 0) on_event(g, m);
            else if (strcmp(m->topic, VIGIL_TOPIC_DETECTIONS) == 0) on_detections(g, m);
        }
        vigil_consumer_ack(g->consumer, m);
    }
    return NULL;
}

vigil_err_t vigil__grpc_feed_start(vigil_grpc_t *g, char *errstr, size_t errstr_size)
{
    const char *topics[] = {VIGIL_TOPIC_EVENTS, VIGIL_TOPIC_DETECTIONS};
    unsigned rnd = (unsigned)(vigil_mono_us() ^ (vigil_now_us() << 7) ^ (uint64_t)getpid());
    char group[96];

    snprintf(group, sizeof(group), "grpc-watch-%ld-%08x", (long)getpid(), rnd);
    g->consumer = vigil_bus_subscribe(g->bus, group, topics, 2, errstr, errstr_size);
    if (!g->consumer) return VIGIL_ERR_BUS;
    if (pthread_create(&g->feed, NULL, feed_main, g) != 0) {
        vigil_consumer_close(g->consumer);
        g->consumer = NULL;
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM,
                            "grpc: watch: cannot start a thread");
    }
    g->feed_started = 1;
    return VIGIL_OK;
}

void vigil__grpc_feed_stop(vigil_grpc_t *g)
{
    if (g->feed_started) {
        atomic_store(&g->feed_stop, 1);
        pthread_join(g->feed, NULL);
        g->feed_started = 0;
    }
    if (g->consumer) {
        vigil_consumer_close(g->consumer);
        g->consumer = NULL;
    }
}

/* --- streams (the loops) ------------------------------------------------------------- */

static int wanted(const vigil__gstream_t *s, const vigil__gring_msg_t *m)
{
    if (m->detections && !s->detections) return 0;
    if (!s->ncameras) return 1;
    for (size_t i = 0; i < s->ncameras; i++)
        if (strcmp(s->cameras[i], m->camera) == 0) return 1;
    return 0;
}

void vigil__grpc_watch_pump(vigil__gstream_t *s)
{
    vigil_grpc_t *g = s->conn->loop->g;
    uint8_t head[11];

    pthread_mutex_lock(&g->ring_lock);
    if (s->next_id < g->ring_oldest) {
        uint64_t missed = (uint64_t)(g->ring_oldest - s->next_id);
        s->skipped += missed;
        vigil_counter_add(g->m_skipped, missed);
        s->next_id = g->ring_oldest;
    }
    while (s->next_id <= g->ring_head && s->out_len - s->out_off < VIGIL__GRPC_WATCH_OUT_MAX &&
           !s->finished) {
        const vigil__gring_msg_t *m = &g->ring[s->next_id % VIGIL__GRPC_RING];
        s->next_id++;
        if (!wanted(s, m)) continue;
        size_t h = 0;
        if (s->skipped) { /* field 1, varint */
            uint64_t v = s->skipped;
            head[h++] = 0x08;
            while (v >= 0x80) head[h++] = (uint8_t)(v | 0x80), v >>= 7;
            head[h++] = (uint8_t)v;
        }
        if (vigil__gstream_send_raw(s, head, h, m->bytes, m->len) == 0) s->skipped = 0;
    }
    pthread_mutex_unlock(&g->ring_lock);
}

void vigil__grpc_watch_begin(vigil__gstream_t *s, const uint8_t *msg, size_t len)
{
    vigil_grpc_t *g = s->conn->loop->g;
    Vigil__V1__WatchRequest *req = vigil__v1__watch_request__unpack(NULL, len, msg);

    if (!req) {
        vigil__gstream_finish(s, VIGIL__GRPC_INVALID_ARGUMENT,
                              "the request is not a valid WatchRequest message");
        return;
    }
    if (!g->bus) {
        vigil__gstream_finish(s, VIGIL__GRPC_UNAVAILABLE,
                              "live events need the bus: `vigil run`, or `vigil api` with a "
                              "kafka:// bus.url");
        goto out;
    }
    if (req->n_cameras > VIGIL__GRPC_WATCH_CAMERAS) {
        vigil__gstream_finish(s, VIGIL__GRPC_INVALID_ARGUMENT,
                              "invalid parameter \"cameras\": at most %d cameras",
                              VIGIL__GRPC_WATCH_CAMERAS);
        goto out;
    }
    for (size_t i = 0; i < req->n_cameras; i++) {
        if (!vigil_camera_id_valid(req->cameras[i])) {
            vigil__gstream_finish(s, VIGIL__GRPC_INVALID_ARGUMENT,
                                  "invalid parameter \"cameras\": entry %zu is not a camera id",
                                  i);
            goto out;
        }
        snprintf(s->cameras[i], sizeof(s->cameras[i]), "%s", req->cameras[i]);
    }
    s->ncameras = req->n_cameras;
    s->detections = req->detections;
    s->watching = 1;
    atomic_fetch_add(&g->watchers, 1);
    pthread_mutex_lock(&g->ring_lock);
    s->next_id = g->ring_head + 1; /* from now on */
    pthread_mutex_unlock(&g->ring_lock);
    /* the response headers at once: the client sees the call accepted */
    vigil__gstream_headers(s);
out:
    vigil__v1__watch_request__free_unpacked(req, NULL);
}
