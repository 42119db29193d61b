/* The vigil.v1 unary calls (proto/vigil/v1/api.proto) and the method table.
 *
 * Each call is its REST route's twin: request fields go through the same
 * parameter parsers as the query string (src/api/params.c: a field is
 * handed over as the text of its REST parameter, so the limits, formats and
 * error messages are one), the same store queries run, and the rows come
 * back as the messages that mirror the REST JSON. A parser's error is
 * INVALID_ARGUMENT with REST's message; a store failure UNAVAILABLE.
 *
 * Thread: a loop of server.c, with its own store handle. */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/params.h"
#include "grpc/grpc_int.h"
#include "vigil/analytics.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/redact.h"
#include "vigil/v1/api.pb-c.h"

#define CAMERA_CURSOR_CHARS 96
#define REVIEW_MAX 1000

/* What one unary call holds until it ends (rows, messages): unary() frees
 * it after the answer was sent. */
#define CALL_OWNED_MAX 4
typedef struct call {
    void *owned[CALL_OWNED_MAX];
    int nowned;
} call_t;

/* One unary call: the request (decoded, of the method's message type), the
 * stream to answer on (vigil__gstream_send / reply, or
 * vigil__gstream_finish with an error) and what it holds. */
typedef void (*call_fn)(vigil__gstream_t *s, const void *req, call_t *c);

/* Makes c free p when the call ends; p. */
static void *own(call_t *c, void *p)
{
    assert(c->nowned < CALL_OWNED_MAX);
    c->owned[c->nowned++] = p;
    return p;
}

/* n zeroed elements of size bytes that the call holds; NULL (the call
 * finished RESOURCE_EXHAUSTED) when out of memory. n > 0. */
static void *call_calloc(vigil__gstream_t *s, call_t *c, size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) {
        vigil__gstream_finish(s, VIGIL__GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    return own(c, p);
}

/* Sends the answer and finishes the call OK. */
static void reply(vigil__gstream_t *s, const ProtobufCMessage *resp)
{
    if (vigil__gstream_send(s, resp) == 0) vigil__gstream_finish(s, VIGIL__GRPC_OK, NULL);
}

/* Decodes msg as desc's message (not one: INVALID_ARGUMENT), runs fn on it
 * and frees what the call held. */
static void unary(vigil__gstream_t *s, const ProtobufCMessageDescriptor *desc, call_fn fn,
                  const uint8_t *msg, size_t len)
{
    ProtobufCMessage *req = protobuf_c_message_unpack(desc, NULL, len, msg);
    call_t c = {.nowned = 0};

    if (!req) {
        vigil__gstream_finish(s, VIGIL__GRPC_INVALID_ARGUMENT,
                              "the request is not a valid %s message", desc->short_name);
        return;
    }
    fn(s, req, &c);
    for (int i = c.nowned - 1; i >= 0; i--)
        free(c.owned[i]);
    protobuf_c_message_free_unpacked(req, NULL);
}

/* The method table's handler of a unary call: name_run on desc's message. */
#define UNARY(name, desc)                                                                        \
    static void name(vigil__gstream_t *s, const uint8_t *msg, size_t len)                        \
    {                                                                                            \
        unary(s, &(desc), name##_run, msg, len);                                                 \
    }

static void bad_param(vigil__gstream_t *s, const vigil__param_error_t *err)
{
    vigil__gstream_finish(s, VIGIL__GRPC_INVALID_ARGUMENT, "%s", err->message);
}

/* A store failure (err set) finishes the call UNAVAILABLE: 1; 0 when err is
 * VIGIL_OK. */
static int store_failed(vigil__gstream_t *s, const char *what, vigil_err_t err,
                        const char *errstr)
{
    if (!err) return 0;
    vigil__gstream_finish(s, VIGIL__GRPC_UNAVAILABLE, "store: cannot %s: %s", what,
                          errstr && *errstr ? errstr : vigil_err_str(err));
    return 1;
}

/* --- CameraService ------------------------------------------------------------------- */

static void camera_fill(vigil__gstream_t *s, Vigil__V1__Camera *c, const vigil_camera_record_t *rec,
                        char *url, size_t url_size)
{
    const vigil_camera_row_t *row = &rec->row;

    vigil__v1__camera__init(c);
    vigil_url_redact(row->url, url, url_size); /* stored redacted; redacted again */
    c->id = (char *)row->id;
    c->name = (char *)row->name;
    c->url = url;
    c->fps = row->fps;
    c->enabled = row->enabled != 0;
    c->status = (char *)row->status;
    c->last_error = (char *)row->last_error;
    c->updated_us = row->updated_us;
    c->source = strcmp(rec->origin, VIGIL_CAMERA_ORIGIN_API) == 0 ? "api"
                : vigil_config_camera(s->conn->loop->g->cfg, row->id) ? "config"
                                                                      : "external";
    c->has_retention = rec->retention_hours >= 0;
    c->retention_days = c->has_retention ? rec->retention_hours / 24 : 0;
    c->created_us = rec->created_us;
}

static void list_cameras_run(vigil__gstream_t *s, const void *reqv, call_t *call)
{
    const Vigil__V1__ListCamerasRequest *req = reqv;
    Vigil__V1__ListCamerasResponse resp = VIGIL__V1__LIST_CAMERAS_RESPONSE__INIT;
    vigil_camera_record_t *rows = NULL;
    Vigil__V1__Camera *cams = NULL, **ptrs = NULL;
    char after[VIGIL_CAMERA_ID_MAX] = "", raw[CAMERA_CURSOR_CHARS], next[CAMERA_CURSOR_CHARS];
    char errstr[256] = "", (*urls)[sizeof(rows->row.url) + 8] = NULL;
    size_t n = 0;
    int more = 0, limit = req->limit ? (int)req->limit : VIGIL__API_LIMIT_DEFAULT;
    vigil_store_t *store;
    vigil_err_t err;

    if (req->limit > VIGIL__API_LIMIT_MAX) {
        vigil__gstream_finish(s, VIGIL__GRPC_INVALID_ARGUMENT,
                              "invalid parameter \"limit\": must be an integer in 1..1000");
        return;
    }
    if (req->cursor[0]) {
        int k = vigil__api_b64url_decode(req->cursor, CAMERA_CURSOR_CHARS, raw);
        if (k <= 3 || memcmp(raw, "c1:", 3) != 0 || !vigil_camera_id_valid(raw + 3)) {
            vigil__gstream_finish(s, VIGIL__GRPC_INVALID_ARGUMENT,
                                  "invalid parameter \"cursor\": not a cursor this list returned");
            return;
        }
        snprintf(after, sizeof(after), "%s", raw + 3);
    }
    if (!(store = vigil__gstream_store(s))) return;
    err = vigil_store_camera_records(store, after[0] ? after : NULL, limit, &rows, &n, &more,
                                     errstr, sizeof(errstr));
    own(call, rows);
    if (store_failed(s, "list cameras", err, errstr)) return;
    if (n && (!(cams = call_calloc(s, call, n, sizeof(*cams))) ||
              !(ptrs = call_calloc(s, call, n, sizeof(*ptrs))) ||
              !(urls = call_calloc(s, call, n, sizeof(*urls)))))
        return;
    for (size_t i = 0; i < n; i++) {
        camera_fill(s, &cams[i], &rows[i], urls[i], sizeof(urls[i]));
        ptrs[i] = &cams[i];
    }
    resp.n_items = n;
    resp.items = ptrs;
    if (more && n) {
        char c1[4 + VIGIL_CAMERA_ID_MAX];
        int k = snprintf(c1, sizeof(c1), "c1:%s", rows[n - 1].row.id);
        vigil__api_b64url_encode(c1, (size_t)k, next, sizeof(next));
        resp.next_cursor = next;
    }
    reply(s, &resp.base);
}
UNARY(list_cameras, vigil__v1__list_cameras_request__descriptor)

static void get_camera_run(vigil__gstream_t *s, const void *reqv, call_t *call)
{
    const Vigil__V1__GetCameraRequest *req = reqv;
    vigil_camera_record_t rec;
    Vigil__V1__Camera cam;
    char errstr[256] = "", url[sizeof(rec.row.url) + 8];
    vigil_store_t *store;
    vigil_err_t err;

    if (!vigil_camera_id_valid(req->id)) {
        vigil__gstream_finish(s, VIGIL__GRPC_INVALID_ARGUMENT,
                              "invalid parameter \"id\": a camera id is 1 to 63 of "
                              "A-Z a-z 0-9 _ . -");
        return;
    }
    if (!(store = vigil__gstream_store(s))) return;
    err = vigil_store_camera_get(store, req->id, 0, &rec, errstr, sizeof(errstr));
    if (err == VIGIL_ERR_NOT_FOUND) {
        vigil__gstream_finish(s, VIGIL__GRPC_NOT_FOUND, "camera \"%s\" not found", req->id);
        return;
    }
    if (store_failed(s, "read the camera", err, errstr)) return;
    camera_fill(s, &cam, &rec, url, sizeof(url));
    reply(s, &cam.base);
}
UNARY(get_camera, vigil__v1__get_camera_request__descriptor)

/* --- DetectionService ---------------------------------------------------------------- */

/* Hands a non-empty string or non-zero number to a REST parameter parser. */
#define SET_STR(setfn, p, key, v, err)                                                           \
    ((v)[0] && setfn(p, key, v, err) != 0)
#define SET_INT(setfn, p, key, v, err, buf)                                                      \
    ((v) && (snprintf(buf, sizeof(buf), "%lld", (long long)(v)), setfn(p, key, buf, err) != 0))

static void list_detections_run(vigil__gstream_t *s, const void *reqv, call_t *call)
{
    const Vigil__V1__ListDetectionsRequest *req = reqv;
    Vigil__V1__ListDetectionsResponse resp = VIGIL__V1__LIST_DETECTIONS_RESPONSE__INIT;
    Vigil__V1__StoredDetection *items = NULL, **ptrs = NULL;
    vigil__detection_params_t p;
    vigil__param_error_t perr;
    vigil_detection_row_t *rows = NULL;
    char buf[32], cursor[VIGIL__API_CURSOR_MAX];
    size_t n = 0;
    int64_t next = 0;
    vigil_store_t *store;
    vigil_err_t err;

    vigil__detection_params_init(&p);
    if (SET_STR(vigil__detection_params_set, &p, "camera", req->camera, &perr) ||
        SET_STR(vigil__detection_params_set, &p, "label", req->label, &perr) ||
        SET_INT(vigil__detection_params_set, &p, "since", req->since_us, &perr, buf) ||
        SET_INT(vigil__detection_params_set, &p, "until", req->until_us, &perr, buf) ||
        SET_INT(vigil__detection_params_set, &p, "limit", req->limit, &perr, buf) ||
        SET_STR(vigil__detection_params_set, &p, "cursor", req->cursor, &perr) ||
        (req->min_score != 0 &&
         (snprintf(buf, sizeof(buf), "%.9g", (double)req->min_score),
          vigil__detection_params_set(&p, "min_score", buf, &perr) != 0)) ||
        vigil__detection_params_finish(&p, &perr) != 0) {
        bad_param(s, &perr);
        return;
    }
    if (!(store = vigil__gstream_store(s))) return;
    err = vigil_store_detections_query(store, &p.q, &rows, &n, &next);
    own(call, rows);
    if (store_failed(s, "query detections", err, vigil_store_last_error(store))) return;
    if (n && (!(items = call_calloc(s, call, n, sizeof(*items))) ||
              !(ptrs = call_calloc(s, call, n, sizeof(*ptrs)))))
        return;
    for (size_t i = 0; i < n; i++) {
        Vigil__V1__StoredDetection *d = &items[i];
        const vigil_detection_row_t *r = &rows[i];
        vigil__v1__stored_detection__init(d);
        d->id = r->id;
        d->camera = (char *)r->camera_id;
        d->sequence = r->sequence;
        d->frame_id = r->frame_id;
        d->time_us = r->capture_time_us;
        d->model = (char *)r->model;
        d->label = (char *)r->label;
        d->score = r->score;
        d->x1 = r->x1, d->y1 = r->y1, d->x2 = r->x2, d->y2 = r->y2;
        ptrs[i] = d;
    }
    resp.n_items = n;
    resp.items = ptrs;
    if (next > 0) {
        vigil__api_format_cursor(next, cursor, sizeof(cursor));
        resp.next_cursor = cursor;
    }
    reply(s, &resp.base);
}
UNARY(list_detections, vigil__v1__list_detections_request__descriptor)

/* --- EventService -------------------------------------------------------------------- */

static void event_fill(Vigil__V1__AnalyticsEvent *e, const vigil_analytics_event_row_t *row)
{
    const vigil_analytics_event_t *ev = &row->ev;

    vigil__v1__analytics_event__init(e);
    e->id = row->id;
    e->camera = (char *)ev->camera_id;
    e->kind = (char *)vigil_event_kind_name(ev->kind);
    e->label = (char *)ev->label;
    e->track = ev->track_id;
    e->zone = (char *)ev->zone;
    e->line = (char *)ev->line;
    e->direction = (char *)(ev->direction ? vigil_direction_name(ev->direction) : "");
    e->start_us = ev->start_us;
    e->open = ev->open != 0;
    e->end_us = ev->open ? 0 : ev->end_us;
    e->start_sequence = ev->start_sequence;
    e->end_sequence = ev->open ? 0 : ev->end_sequence;
    e->peak_score = ev->peak_score;
    e->x1 = ev->x1, e->y1 = ev->y1, e->x2 = ev->x2, e->y2 = ev->y2;
    e->snapshot_frame_id = ev->snapshot_frame_id > 0 ? ev->snapshot_frame_id : 0;
    e->reviewed = row->reviewed != 0;
    e->reviewed_us = row->reviewed_us;
    e->reviewed_by = (char *)row->reviewed_by;
}

static void list_events_run(vigil__gstream_t *s, const void *reqv, call_t *call)
{
    const Vigil__V1__ListEventsRequest *req = reqv;
    Vigil__V1__ListEventsResponse resp = VIGIL__V1__LIST_EVENTS_RESPONSE__INIT;
    Vigil__V1__AnalyticsEvent *items = NULL, **ptrs = NULL;
    vigil__event_params_t p;
    vigil__param_error_t perr;
    vigil_analytics_event_row_t *rows = NULL;
    char buf[32], cursor[VIGIL__API_CURSOR_MAX];
    size_t n = 0;
    int64_t next_start = 0, next_id = 0;
    vigil_store_t *store;
    vigil_err_t err;

    vigil__event_params_init(&p);
    if (SET_STR(vigil__event_params_set, &p, "camera", req->camera, &perr) ||
        SET_STR(vigil__event_params_set, &p, "kind", req->kind, &perr) ||
        SET_STR(vigil__event_params_set, &p, "label", req->label, &perr) ||
        SET_STR(vigil__event_params_set, &p, "zone", req->zone, &perr) ||
        SET_STR(vigil__event_params_set, &p, "line", req->line, &perr) ||
        SET_INT(vigil__event_params_set, &p, "since", req->since_us, &perr, buf) ||
        SET_INT(vigil__event_params_set, &p, "until", req->until_us, &perr, buf) ||
        SET_INT(vigil__event_params_set, &p, "limit", req->limit, &perr, buf) ||
        SET_STR(vigil__event_params_set, &p, "cursor", req->cursor, &perr) ||
        SET_STR(vigil__event_params_set, &p, "reviewed", req->reviewed, &perr) ||
        vigil__event_params_finish(&p, &perr) != 0) {
        bad_param(s, &perr);
        return;
    }
    if (!(store = vigil__gstream_store(s))) return;
    err = vigil_store_analytics_events_query(store, &p.q, &rows, &n, &next_start, &next_id);
    own(call, rows);
    if (store_failed(s, "query events", err, vigil_store_last_error(store))) return;
    if (n && (!(items = call_calloc(s, call, n, sizeof(*items))) ||
              !(ptrs = call_calloc(s, call, n, sizeof(*ptrs)))))
        return;
    for (size_t i = 0; i < n; i++) {
        event_fill(&items[i], &rows[i]);
        ptrs[i] = &items[i];
    }
    resp.n_items = n;
    resp.items = ptrs;
    if (next_id > 0) {
        vigil__api_format_event_cursor(next_start, next_id, cursor, sizeof(cursor));
        resp.next_cursor = cursor;
    }
    reply(s, &resp.base);
}
UNARY(list_events, vigil__v1__list_events_request__descriptor)

static void get_event_run(vigil__gstream_t *s, const void *reqv, call_t *call)
{
    const Vigil__V1__GetEventRequest *req = reqv;
    vigil_analytics_event_row_t row;
    Vigil__V1__AnalyticsEvent e;
    vigil_store_t *store;
    vigil_err_t err;

    if (req->id <= 0) {
        vigil__gstream_finish(s, VIGIL__GRPC_INVALID_ARGUMENT,
                              "invalid parameter \"id\": must be a positive integer");
        return;
    }
    if (!(store = vigil__gstream_store(s))) return;
    err = vigil_store_analytics_event_get(store, req->id, &row);
    if (err == VIGIL_ERR_NOT_FOUND) {
        vigil__gstream_finish(s, VIGIL__GRPC_NOT_FOUND, "event %" PRId64 " not found", req->id);
        return;
    }
    if (store_failed(s, "read the event", err, vigil_store_last_error(store))) return;
    event_fill(&e, &row);
    reply(s, &e.base);
}
UNARY(get_event, vigil__v1__get_event_request__descriptor)

static void review_events_run(vigil__gstream_t *s, const void *reqv, call_t *call)
{
    const Vigil__V1__ReviewEventsRequest *req = reqv;
    Vigil__V1__ReviewEventsResponse resp = VIGIL__V1__REVIEW_EVENTS_RESPONSE__INIT;
    vigil_audit_row_t audit;
    char errstr[256] = "", detail[96];
    size_t updated = 0;
    vigil_store_t *store;
    vigil_err_t err;

    if (req->n_ids < 1 || req->n_ids > REVIEW_MAX) {
        vigil__gstream_finish(s, VIGIL__GRPC_INVALID_ARGUMENT,
                              "invalid parameter \"ids\": 1 to %d event ids", REVIEW_MAX);
        return;
    }
    for (size_t i = 0; i < req->n_ids; i++) {
        if (req->ids[i] <= 0) {
            vigil__gstream_finish(s, VIGIL__GRPC_INVALID_ARGUMENT,
                                  "invalid parameter \"ids\": id %" PRId64 " is not positive",
                                  req->ids[i]);
            return;
        }
    }
    if (!(store = vigil__gstream_store(s))) return;
    err = vigil_store_events_review(store, req->ids, req->n_ids, req->reviewed, vigil_now_us(),
                                    s->who.user, &updated, errstr, sizeof(errstr));
    if (store_failed(s, "mark the events", err, errstr)) return;
    memset(&audit, 0, sizeof(audit));
    audit.time_us = vigil_now_us();
    snprintf(audit.user, sizeof(audit.user), "%s", s->who.user);
    snprintf(audit.client_ip, sizeof(audit.client_ip), "%s", s->conn->peer);
    snprintf(audit.action, sizeof(audit.action), "events.review");
    snprintf(audit.target, sizeof(audit.target), "%zu events (grpc)", req->n_ids);
    snprintf(detail, sizeof(detail), "{\"reviewed\":%s,\"updated\":%zu}",
             req->reviewed ? "true" : "false", updated);
    audit.detail = detail;
    if (vigil_store_audit_insert(store, &audit, errstr, sizeof(errstr)) != VIGIL_OK)
        vigil_warn("grpc", NULL, "audit: cannot record events.review by \"%s\": %s", s->who.user,
                   errstr);
    resp.updated = updated;
    resp.not_found = req->n_ids - updated;
    reply(s, &resp.base);
}
UNARY(review_events, vigil__v1__review_events_request__descriptor)

/* --- CountService -------------------------------------------------------------------- */

static void get_counts_run(vigil__gstream_t *s, const void *reqv, call_t *call)
{
    const Vigil__V1__GetCountsRequest *req = reqv;
    Vigil__V1__GetCountsResponse resp = VIGIL__V1__GET_COUNTS_RESPONSE__INIT;
    Vigil__V1__CountRow *items = NULL, **ptrs = NULL;
    vigil__count_params_t p;
    vigil__param_error_t perr;
    vigil_count_row_t *rows = NULL;
    char buf[32];
    size_t n = 0;
    vigil_store_t *store;
    vigil_err_t err;

    vigil__count_params_init(&p);
    if (SET_STR(vigil__count_params_set, &p, "camera", req->camera, &perr) ||
        SET_STR(vigil__count_params_set, &p, "zone", req->zone, &perr) ||
        SET_STR(vigil__count_params_set, &p, "line", req->line, &perr) ||
        SET_STR(vigil__count_params_set, &p, "label", req->label, &perr) ||
        SET_INT(vigil__count_params_set, &p, "since", req->since_us, &perr, buf) ||
        SET_INT(vigil__count_params_set, &p, "until", req->until_us, &perr, buf) ||
        SET_STR(vigil__count_params_set, &p, "bucket", req->bucket, &perr) ||
        vigil__count_params_finish(&p, &perr) != 0) {
        bad_param(s, &perr);
        return;
    }
    if (!(store = vigil__gstream_store(s))) return;
    err = vigil_store_counts_query(store, &p.q, &rows, &n);
    own(call, rows);
    if (err == VIGIL_ERR_INVALID) {
        vigil__gstream_finish(s, VIGIL__GRPC_INVALID_ARGUMENT,
                              "more than 100000 rows: ask for a larger bucket or a shorter range");
        return;
    }
    if (store_failed(s, "query counts", err, vigil_store_last_error(store))) return;
    if (n && (!(items = call_calloc(s, call, n, sizeof(*items))) ||
              !(ptrs = call_calloc(s, call, n, sizeof(*ptrs)))))
        return;
    for (size_t i = 0; i < n; i++) {
        Vigil__V1__CountRow *c = &items[i];
        const vigil_count_row_t *r = &rows[i];
        vigil__v1__count_row__init(c);
        c->camera = (char *)r->camera_id;
        c->zone = (char *)r->zone;
        c->line = (char *)r->line;
        c->label = (char *)r->label;
        c->bucket_us = r->bucket_us;
        c->entered = r->entered;
        c->peak = r->peak;
        c->in = r->in;
        c->out = r->out;
        ptrs[i] = c;
    }
    resp.n_items = n;
    resp.items = ptrs;
    reply(s, &resp.base);
}
UNARY(get_counts, vigil__v1__get_counts_request__descriptor)

/* --- the method table ------------------------------------------------------------------ */

static const vigil__gmethod_t methods[] = {
    {"/vigil.v1.CameraService/ListCameras", VIGIL__GM_UNARY, VIGIL_ROLE_VIEWER, 0, list_cameras, 0},
    {"/vigil.v1.CameraService/GetCamera", VIGIL__GM_UNARY, VIGIL_ROLE_VIEWER, 0, get_camera, 1},
    {"/vigil.v1.DetectionService/ListDetections", VIGIL__GM_UNARY, VIGIL_ROLE_VIEWER, 0,
     list_detections, 2},
    {"/vigil.v1.EventService/ListEvents", VIGIL__GM_UNARY, VIGIL_ROLE_VIEWER, 0, list_events, 3},
    {"/vigil.v1.EventService/GetEvent", VIGIL__GM_UNARY, VIGIL_ROLE_VIEWER, 0, get_event, 4},
    {"/vigil.v1.EventService/ReviewEvents", VIGIL__GM_UNARY, VIGIL_ROLE_OPERATOR, 1,
     review_events, 5},
    {"/vigil.v1.CountService/GetCounts", VIGIL__GM_UNARY, VIGIL_ROLE_VIEWER, 0, get_counts, 6},
    {"/vigil.v1.LiveService/Watch", VIGIL__GM_SERVER_STREAM, VIGIL_ROLE_VIEWER, 0,
     vigil__grpc_watch_begin, 7},
    {"/grpc.health.v1.Health/Check", VIGIL__GM_UNARY, 0, 0, vigil__grpc_health_check, 8},
    {"/grpc.health.v1.Health/Watch", VIGIL__GM_SERVER_STREAM, 0, 0, vigil__grpc_health_watch, 9},
    {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", VIGIL__GM_BIDI, 0, 0,
     vigil__grpc_reflection, 10},
};

const vigil__gmethod_t *vigil__grpc_method(const char *path)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcmp(methods[i].path, path) == 0) return &methods[i];
    return NULL;
}

size_t vigil__grpc_method_count(void)
{
    return sizeof(methods) / sizeof(methods[0]);
}

const vigil__gmethod_t *vigil__grpc_method_at(size_t i)
{
    return i < vigil__grpc_method_count() ? &methods[i] : NULL;
}
