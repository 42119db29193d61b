/* bench/search_index: the indexing rate into OpenSearch through vigil's own
 * indexer (src/search/indexer.c), from a warehouse bench_api_seed made.
 *
 *   bench_search_index DATA_DIR SEARCH_URL [PREFIX]
 *
 * Main idea: replay the warehouse onto an in-process bus as the pipeline
 * publishes it (one Detections message per frame on topic detections, as
 * infer does; one Event per analytics event on topic events, with the
 * payload vigil__analytics_event_json writes, as analytics does), while vigil_search_indexer, the
 * same object `vigil run` starts, consumes the topics as consumer group
 * "search" and sends _bulk requests to the node. The clock runs from the
 * indexer's start until vigil_bus_drain says every message is acknowledged
 * (acknowledged = every document of it settled on the node), so the figure is
 * documents the node took per second, end to end, with the warehouse read in
 * the same process on the other core. The bus is bounded (the publisher waits
 * when the indexer lags), as in `vigil run`.
 *
 * Prints one line "bench_search_index: DOCS documents (DET detections, EV
 * events) in MESSAGES messages, SECONDS s, RATE documents/s; ..." with the
 * same for each phase (detections first, then events); the caller
 * (bench/search.py) checks the node's _count against DOCS. Detection rows of
 * one frame are contiguous in the store's id order (one frame's results are
 * inserted together), which is what makes a message per frame here. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/event_json_int.h"
#include "vigil/analytics.h"
#include "vigil/bus.h"
#include "vigil/clock.h"
#include "vigil/config.h"
#include "vigil/log.h"
#include "vigil/msg.h"
#include "vigil/search.h"
#include "vigil/store.h"

#define PAGE 1000
#define FRAME_MAX VIGIL_DETECTIONS_MAX

typedef struct frame_buf {
    vigil_detection_row_t rows[FRAME_MAX];
    size_t n;
} frame_buf_t;

static int64_t published_msgs, published_dets, published_events;

static int publish(vigil_bus_t *bus, const char *topic, const char *camera,
                   const ProtobufCMessage *m)
{
    size_t len = 0;
    uint8_t *buf = vigil_msg_pack(m, &len);
    vigil_err_t err = buf ? vigil_bus_publish(bus, topic, camera, strlen(camera), buf, len, -1)
                          : VIGIL_ERR_NOMEM;
    free(buf);
    if (err) {
        fprintf(stderr, "bench_search_index: publish on %s: %s\n", topic, vigil_err_str(err));
        return -1;
    }
    published_msgs++;
    return 0;
}

/* One frame's rows (newest id first) as the Detections message infer
 * publishes: items in idx order, item k being the row of idx k. */
static int publish_frame(vigil_bus_t *bus, frame_buf_t *f)
{
    Vigil__V1__Detection items[FRAME_MAX], *ptrs[FRAME_MAX];
    size_t n = f->n;
    if (!n) return 0;
    for (size_t i = 0; i < n; i++) {
        const vigil_detection_row_t *r = &f->rows[i];
        if (r->idx < 0 || (size_t)r->idx >= n) {
            fprintf(stderr, "bench_search_index: camera \"%s\" frame %" PRIu64 ": detection idx "
                    "%d outside 0..%zu (a frame's rows not contiguous?)\n", r->camera_id,
                    r->sequence, r->idx, n - 1);
            return -1;
        }
        Vigil__V1__Detection *it = &items[r->idx];
        vigil__v1__detection__init(it);
        it->x1 = r->x1;
        it->y1 = r->y1;
        it->x2 = r->x2;
        it->y2 = r->y2;
        it->score = r->score;
        it->label = (char *)r->label;
        ptrs[r->idx] = it;
    }
    const vigil_detection_row_t *r0 = &f->rows[0];
    Vigil__V1__Detections d = VIGIL__V1__DETECTIONS__INIT;
    d.schema_version = VIGIL_SCHEMA_VERSION;
    d.camera_id = (char *)r0->camera_id;
    d.sequence = r0->sequence;
    d.capture_time_us = r0->capture_time_us;
    d.frame_id = r0->frame_id;
    d.model = (char *)r0->model;
    d.width = 640;
    d.height = 360;
    d.n_items = n;
    d.items = ptrs;
    if (publish(bus, VIGIL_TOPIC_DETECTIONS, r0->camera_id, &d.base)) return -1;
    published_dets += (int64_t)n;
    f->n = 0;
    return 0;
}

static int replay_detections(vigil_store_t *store, vigil_bus_t *bus)
{
    static frame_buf_t frame;
    vigil_detection_query_t q = {.limit = PAGE};
    do {
        vigil_detection_row_t *rows = NULL;
        size_t n = 0;
        int64_t next = 0;
        if (vigil_store_detections_query(store, &q, &rows, &n, &next) != VIGIL_OK) {
            fprintf(stderr, "bench_search_index: detections: %s\n", vigil_store_last_error(store));
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            const vigil_detection_row_t *r = &rows[i];
            if (frame.n && (frame.rows[0].sequence != r->sequence ||
                            strcmp(frame.rows[0].camera_id, r->camera_id) != 0)) {
                if (publish_frame(bus, &frame)) {
                    free(rows);
                    return -1;
                }
            }
            if (frame.n == FRAME_MAX) {
                fprintf(stderr, "bench_search_index: a frame with over %d detections\n",
                        FRAME_MAX);
                free(rows);
                return -1;
            }
            frame.rows[frame.n++] = *r;
        }
        free(rows);
        q.after_id = next;
    } while (q.after_id > 0);
    return publish_frame(bus, &frame);
}

static int replay_events(vigil_store_t *store, vigil_bus_t *bus)
{
    vigil_event_query_t q = {.limit = PAGE};
    do {
        vigil_analytics_event_row_t *rows = NULL;
        size_t n = 0;
        int64_t next_start = 0, next_id = 0;
        if (vigil_store_analytics_events_query(store, &q, &rows, &n, &next_start, &next_id)) {
            fprintf(stderr, "bench_search_index: analytics events: %s\n",
                    vigil_store_last_error(store));
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            const vigil_analytics_event_t *e = &rows[i].ev;
            char *payload = vigil__analytics_event_json(e);
            Vigil__V1__Event ev = VIGIL__V1__EVENT__INIT;
            ev.schema_version = VIGIL_SCHEMA_VERSION;
            ev.camera_id = (char *)e->camera_id;
            ev.type = (char *)vigil_event_kind_name(e->kind);
            ev.time_us = e->open ? e->start_us : e->end_us;
            ev.sequence = e->updated_sequence;
            ev.message = "";
            ev.payload_json = payload ? payload : "";
            int rc = payload ? publish(bus, VIGIL_TOPIC_EVENTS, e->camera_id, &ev.base) : -1;
            free(payload);
            if (rc) {
                free(rows);
                return -1;
            }
            published_events++;
        }
        free(rows);
        q.after_start_us = next_start;
        q.after_id = next_id;
    } while (q.after_id > 0);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: bench_search_index DATA_DIR SEARCH_URL [PREFIX]\n");
        return 2;
    }
    char err[512];
    vigil_log_set_level(getenv("BENCH_DEBUG") ? VIGIL_LOG_DEBUG : VIGIL_LOG_WARN);
    vigil_config_t cfg;
    vigil_config_init(&cfg);
    if (vigil_config_set(&cfg, "search.url", argv[2], "bench", err, sizeof err) ||
        vigil_config_set(&cfg, "search.index_prefix", argc > 3 ? argv[3] : "bench", "bench",
                         err, sizeof err) ||
        /* the seed's capture times are in 2025: the indexer's retention sweep
         * would delete the daily indices as they fill */
        vigil_config_set(&cfg, "store.retention_hours", "0", "bench", err, sizeof err)) {
        fprintf(stderr, "bench_search_index: %s\n", err);
        return 2;
    }
    vigil_store_conf_t sc;
    vigil_store_conf_init(&sc);
    sc.url = "sqlite";
    sc.data_dir = argv[1];
    vigil_store_t *store = vigil_store_open(&sc, err, sizeof err);
    if (!store) {
        fprintf(stderr, "bench_search_index: %s\n", err);
        return 1;
    }
    vigil_bus_conf_t bc;
    vigil_bus_conf_init(&bc);
    vigil_bus_t *bus = vigil_bus_new("inproc://", &bc, err, sizeof err);
    vigil_search_indexer_t *ix = bus ? vigil_search_indexer_new(&cfg, bus, err, sizeof err) : NULL;
    if (!ix) {
        fprintf(stderr, "bench_search_index: %s\n", err);
        return 1;
    }
    int64_t t0 = vigil_mono_us();
    int rc = 1;
    if (vigil_search_indexer_start(ix) != VIGIL_OK) {
        fprintf(stderr, "bench_search_index: the indexer did not start\n");
        goto out;
    }
    /* two phases, each timed to its last message acknowledged (every document
     * of it settled on the node): detections (a message per frame), then
     * analytics events (a message each: at most MAX_HELD = 128 per _bulk) */
    if (replay_detections(store, bus)) goto stop;
    if (vigil_bus_drain(bus, VIGIL_TOPIC_DETECTIONS, 1800 * 1000) != VIGIL_OK) {
        fprintf(stderr, "bench_search_index: the indexer did not drain detections in 30 min\n");
        goto stop;
    }
    int64_t t_det = vigil_mono_us();
    int64_t det_msgs = published_msgs;
    if (replay_events(store, bus)) goto stop;
    if (vigil_bus_drain(bus, VIGIL_TOPIC_EVENTS, 1800 * 1000) != VIGIL_OK) {
        fprintf(stderr, "bench_search_index: the indexer did not drain events in 30 min\n");
        goto stop;
    }
    int64_t t1 = vigil_mono_us();
    double secs = (double)(t1 - t0) / 1e6, dsecs = (double)(t_det - t0) / 1e6;
    double esecs = (double)(t1 - t_det) / 1e6;
    int64_t docs = published_dets + published_events;
    printf("bench_search_index: %" PRId64 " documents (%" PRId64 " detections, %" PRId64
           " events) in %" PRId64 " messages, %.1f s, %.0f documents/s; detections %.1f s, "
           "%.0f documents/s (%" PRId64 " messages); events %.1f s, %.0f documents/s\n",
           docs, published_dets, published_events, published_msgs, secs, (double)docs / secs,
           dsecs, (double)published_dets / dsecs, det_msgs, esecs,
           (double)published_events / esecs);
    rc = 0;
stop:
    vigil_search_indexer_stop(ix);
out:
    vigil_search_indexer_free(ix);
    vigil_bus_free(bus);
    vigil_store_close(store);
    vigil_config_release(&cfg);
    return rc;
}
