/* GET /api/v1/stream: Server-Sent Events of detections, analytics events and
 * camera status, from the live hub's ring (live_int.h).
 *
 * Main idea: a client is a position (next_id) in the shared ring plus its
 * filters; it never has a queue of its own. Its content reader copies the
 * next matching message (a refcounted ring entry, or a filtered copy when
 * `labels=` trims a detections message) into MHD's buffer and suspends the
 * connection when there is nothing left; the pump resumes it when a
 * matching message arrives or a heartbeat is due. A client more than
 * VIGIL__LIVE_BACKLOG messages behind (or whose Last-Event-ID fell out of
 * the ring or was never here) gets `event: reset` and continues from a
 * bounded point, so its cost is the same whether it reads or not. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "api/live_int.h"
#include "api/params.h"
#include "vigil/clock.h"

#define SSE_RETRY_MS 2000

/* --- formatting ----------------------------------------------------------------------- */

static int label_in(const char (*labels)[VIGIL_LABEL_MAX], size_t n, const char *label)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(labels[i], label) == 0) return 1;
    return 0;
}

char *vigil__live_detection_data(const vigil__live_dets_t *d,
                                 const char (*labels)[VIGIL_LABEL_MAX], size_t nlabels)
{
    json_t *obj, *items = json_array();
    char *text = NULL;

    if (!items) return NULL;
    for (size_t i = 0; i < d->n; i++) {
        const vigil__live_box_t *b = &d->items[i];
        if (nlabels && !label_in(labels, nlabels, b->label)) continue;
        json_t *it = json_pack("{s:s, s:o, s:[o,o,o,o]}", "label", b->label, "score",
                               vigil__json_float(b->score), "box", vigil__json_float(b->x1),
                               vigil__json_float(b->y1), vigil__json_float(b->x2),
                               vigil__json_float(b->y2));
        if (it && b->track_id) json_object_set_new(it, "track", json_integer((json_int_t)b->track_id));
        if (it) json_array_append_new(items, it);
    }
    if (!json_array_size(items)) {
        json_decref(items);
        return NULL;
    }
    obj = json_pack("{s:s, s:I, s:o, s:I, s:I, s:s, s:i, s:i, s:o, s:b}", "camera", d->camera,
                    "sequence", (json_int_t)d->sequence, "time", vigil__json_time(d->capture_us),
                    "time_us", (json_int_t)d->capture_us, "frame_id", (json_int_t)d->frame_id,
                    "model", d->model, "width", d->width, "height", d->height, "items", items,
                    "truncated", d->total > d->n);
    if (obj) text = json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(obj);
    return text;
}

/* Makes room for n more bytes in c->buf. */
static int buf_reserve(vigil__live_client_t *c, size_t n)
{
    if (c->buf_len + n <= c->buf_cap) return 0;
    size_t cap = c->buf_cap ? c->buf_cap : 256;
    while (cap < c->buf_len + n) cap *= 2;
    char *p = realloc(c->buf, cap);
    if (!p) return -1;
    c->buf = p;
    c->buf_cap = cap;
    return 0;
}

static void buf_printf(vigil__live_client_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void buf_printf(vigil__live_client_t *c, const char *fmt, ...)
{
    va_list ap;
    char small[256];
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(small) || buf_reserve(c, (size_t)n)) return;
    memcpy(c->buf + c->buf_len, small, (size_t)n);
    c->buf_len += (size_t)n;
}

/* --- the ring, per client ---------------------------------------------------------------- */

static int matches(const vigil__live_client_t *c, const vigil__live_msg_t *m)
{
    int cam_ok = !c->ncameras, label_ok = !c->nlabels || m->type == VIGIL__LIVE_STATUS;

    if (!(c->types & m->type)) return 0;
    for (size_t i = 0; !cam_ok && i < c->ncameras; i++) cam_ok = strcmp(c->cameras[i], m->camera) == 0;
    if (!cam_ok) return 0;
    if (!label_ok && m->type == VIGIL__LIVE_EVENT) label_ok = label_in(c->labels, c->nlabels, m->label);
    for (size_t i = 0; !label_ok && m->dets && i < m->dets->n; i++)
        label_ok = label_in(c->labels, c->nlabels, m->dets->items[i].label);
    return label_ok;
}

/* The id a resuming or lagging client continues from. */
static int64_t ring_floor(const vigil__live_t *live)
{
    int64_t floor = live->head + 1 - VIGIL__LIVE_BACKLOG;
    return floor > live->oldest ? floor : live->oldest;
}

static void reset(vigil__live_t *live, vigil__live_client_t *c, const char *reason,
                  int64_t last_id, int64_t next_id, int64_t now)
{
    int64_t skipped = next_id - last_id - 1;

    if (skipped < 0) skipped = 0; /* an id from elsewhere: nothing known was skipped */
    buf_printf(c,
               "event: reset\ndata: {\"reason\":\"%s\",\"last_event_id\":%lld,"
               "\"skipped\":%lld,\"next_id\":%lld}\n\n",
               reason, (long long)last_id, (long long)skipped, (long long)next_id);
    c->next_id = next_id;
    c->last_write_us = now;
    vigil_counter_inc(live->m_resets);
}

/* Whether c is too far behind the ring (or asked for an id it does not hold). */
static int lagging(const vigil__live_t *live, const vigil__live_client_t *c)
{
    return c->resume_from || c->next_id < live->oldest ||
           live->head + 1 - c->next_id > VIGIL__LIVE_BACKLOG;
}

/* Picks what c sends next: 1 = c->msg or c->buf is set; 2 = *fmt is a
 * detections message (a reference) to format for c's labels= outside the
 * lock; 0 = nothing now. Locks: live->lock held. */
static int take_next(vigil__live_t *live, vigil__live_client_t *c, int64_t now,
                     vigil__live_msg_t **fmt)
{
    if (c->resume_from) {
        int64_t want = c->resume_from, floor = ring_floor(live);
        c->resume_from = 0;
        if (want >= floor && want <= live->head + 1) {
            c->next_id = want;
        } else {
            reset(live, c, want <= live->head ? "gone" : "unknown", want - 1, floor, now);
            return 1;
        }
    } else if (lagging(live, c)) {
        reset(live, c, "behind", c->next_id - 1, live->head + 1, now);
        return 1;
    }
    while (c->next_id <= live->head) {
        vigil__live_msg_t *m = live->ring[c->next_id % VIGIL__LIVE_RING];
        c->next_id++;
        if (!matches(c, m)) continue;
        atomic_fetch_add(&m->refs, 1);
        c->last_write_us = now;
        vigil_counter_inc(live->m_sse_sent);
        if (m->type == VIGIL__LIVE_DETECTION && c->nlabels) {
            *fmt = m;
            return 2;
        }
        c->msg = m;
        c->buf_off = 0;
        return 1;
    }
    if (now - c->last_write_us >= live->heartbeat_us) {
        buf_printf(c, ": heartbeat\n\n");
        c->last_write_us = now;
        return 1;
    }
    return 0;
}

int vigil__live_sse_ready(vigil__live_t *live, vigil__live_client_t *c, int64_t now,
                          int64_t *wake_us)
{
    if (lagging(live, c)) return 1;
    /* step over what it would skip anyway, so that it is not woken for it */
    while (c->next_id <= live->head) {
        if (matches(c, live->ring[c->next_id % VIGIL__LIVE_RING])) return 1;
        c->next_id++;
    }
    if (now - c->last_write_us >= live->heartbeat_us) return 1;
    if (c->last_write_us + live->heartbeat_us < *wake_us)
        *wake_us = c->last_write_us + live->heartbeat_us;
    return 0;
}

void vigil__live_sse_release(vigil__live_client_t *c)
{
    vigil__live_msg_unref(c->msg);
    c->msg = NULL;
    free(c->buf);
    c->buf = NULL;
    c->buf_len = c->buf_cap = c->buf_off = 0;
}

/* MHD's content reader of a stream. Thread: an MHD pool thread (MHD holds
 * the response's mutex). Never blocks: 0 bytes means "suspended". */
static ssize_t sse_read(void *cls, uint64_t pos, char *out, size_t max)
{
    vigil__live_client_t *c = cls;
    vigil__live_t *live = c->live;
    size_t n = 0;

    for (;;) {
        const char *src = c->msg ? c->msg->text : c->buf;
        size_t len = c->msg ? c->msg->len : c->buf_len;
        if (c->buf_off < len) {
            size_t k = len - c->buf_off < max - n ? len - c->buf_off : max - n;
            memcpy(out + n, src + c->buf_off, k);
            n += k;
            c->buf_off += k;
        }
        if (c->buf_off >= len) {
            vigil__live_msg_unref(c->msg);
            c->msg = NULL;
            c->buf_len = c->buf_off = 0;
        }
        if (n == max) return (ssize_t)n;

        vigil__live_msg_t *fmt = NULL;
        pthread_mutex_lock(&live->lock);
        if (live->stopping) {
            pthread_mutex_unlock(&live->lock);
            return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
        }
        int r = take_next(live, c, vigil_mono_us(), &fmt);
        if (r == 0) {
            if (!n) vigil__live_suspend(live, c);
            pthread_mutex_unlock(&live->lock);
            return (ssize_t)n;
        }
        pthread_mutex_unlock(&live->lock);
        if (fmt) {
            char *data = vigil__live_detection_data(fmt->dets, c->labels, c->nlabels);
            if (data) buf_printf(c, "id: %lld\nevent: detection\ndata: ", (long long)fmt->id);
            if (data && buf_reserve(c, strlen(data) + 2) == 0) {
                memcpy(c->buf + c->buf_len, data, strlen(data));
                c->buf_len += strlen(data);
                memcpy(c->buf + c->buf_len, "\n\n", 2);
                c->buf_len += 2;
            } else {
                c->buf_len = 0; /* out of memory: this message is skipped */
            }
            free(data);
            vigil__live_msg_unref(fmt);
        }
    }
}

/* --- the route ---------------------------------------------------------------------------- */

typedef struct sse_args {
    vigil__live_client_t *c;
    vigil__param_error_t err;
    int64_t last_id;
    int have_last;
    unsigned seen;
    int failed;
} sse_args_t;

static int bad(sse_args_t *a, const char *param, const char *must)
{
    snprintf(a->err.parameter, sizeof(a->err.parameter), "%s", param);
    snprintf(a->err.message, sizeof(a->err.message), "invalid parameter \"%s\": %s", param, must);
    a->failed = 1;
    return -1;
}

/* Splits a comma-separated list; each item through `check` (0 ok). */
static int parse_list(sse_args_t *a, const char *name, const char *value, char (*out)[64],
                      size_t *n, int camera)
{
    const char *p = value ? value : "";
    char item[256];

    *n = 0;
    while (1) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        vigil__param_error_t perr;
        if (len >= sizeof(item) || len == 0)
            return bad(a, name, camera ? "must be a comma-separated list of camera ids"
                                       : "must be a comma-separated list of labels");
        if (*n >= VIGIL__LIVE_FILTER_MAX)
            return bad(a, name, "at most 32 entries");
        memcpy(item, p, len);
        item[len] = '\0';
        if ((camera ? vigil__api_parse_camera(item, out[*n], &perr)
                    : vigil__api_parse_label(item, out[*n], &perr)) != 0)
            return bad(a, name, camera ? "must be a comma-separated list of camera ids"
                                       : "must be a comma-separated list of labels");
        (*n)++;
        if (!comma) return 0;
        p = comma + 1;
    }
}

static int parse_types(sse_args_t *a, const char *value, unsigned *types)
{
    const char *p = value ? value : "";
    const char *must = "must be a comma-separated list of detections, events, status";

    *types = 0;
    while (1) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 10 && strncmp(p, "detections", 10) == 0) *types |= VIGIL__LIVE_DETECTION;
        else if (len == 6 && strncmp(p, "events", 6) == 0) *types |= VIGIL__LIVE_EVENT;
        else if (len == 6 && strncmp(p, "status", 6) == 0) *types |= VIGIL__LIVE_STATUS;
        else return bad(a, "types", must);
        if (!comma) return 0;
        p = comma + 1;
    }
}

static int parse_event_id(sse_args_t *a, const char *name, const char *s)
{
    char *end;
    long long v;

    if (!s || !*s || *s < '0' || *s > '9') return bad(a, name, "must be a non-negative integer");
    v = strtoll(s, &end, 10);
    if (*end || v < 0 || v == LLONG_MAX) return bad(a, name, "must be a non-negative integer");
    a->last_id = v;
    a->have_last = 1;
    return 0;
}

static enum MHD_Result sse_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    sse_args_t *a = cls;
    vigil__live_client_t *c = a->c;
    static const char *const names[] = {"types", "cameras", "labels", "last_event_id"};
    int k = -1;
    char safe[72];

    for (int i = 0; i < 4; i++)
        if (strcmp(key, names[i]) == 0) k = i;
    if (k < 0) {
        vigil__api_sanitize(safe, sizeof(safe), key);
        snprintf(a->err.parameter, sizeof(a->err.parameter), "%s", safe);
        snprintf(a->err.message, sizeof(a->err.message),
                 "unknown parameter \"%s\" (known: types, cameras, labels, last_event_id)", safe);
        a->failed = 1;
        return MHD_NO;
    }
    if (a->seen & (1u << k)) {
        bad(a, names[k], "given more than once");
        return MHD_NO;
    }
    a->seen |= 1u << k;
    int r = k == 0   ? parse_types(a, value, &c->types)
            : k == 1 ? parse_list(a, "cameras", value, c->cameras, &c->ncameras, 1)
            : k == 2 ? parse_list(a, "labels", value, c->labels, &c->nlabels, 0)
                     : parse_event_id(a, "last_event_id", value);
    return r == 0 ? MHD_YES : MHD_NO;
}

void vigil__api_live_stream(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    vigil__live_t *live = api->live;
    vigil__live_client_t *c;
    sse_args_t a = {0};
    vigil_err_t err;
    const char *hdr;

    if (!api->bus) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "live views need the pipeline's bus: run `vigil run`, or give "
                           "`vigil api` the shared bus (bus.url)");
        return;
    }
    c = vigil__live_client_new(live, VIGIL__LIVE_SSE, req->conn, &err);
    if (!c) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "%s",
                           err == VIGIL_ERR_FULL ? "too many live streams (http.live_max_streams)"
                                                 : "live views are stopping");
        reply->retry_after = "5";
        return;
    }
    c->types = VIGIL__LIVE_DETECTION | VIGIL__LIVE_EVENT | VIGIL__LIVE_STATUS;
    a.c = c;
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, sse_arg, &a);
    hdr = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Last-Event-ID");
    if (!a.failed && hdr && !a.have_last) parse_event_id(&a, "Last-Event-ID", hdr);
    if (a.failed) {
        vigil__live_client_free(c);
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, a.err.parameter, "%s", a.err.message);
        return;
    }
    buf_printf(c, "retry: %d\n\n", SSE_RETRY_MS);
    pthread_mutex_lock(&live->lock);
    c->next_id = live->head + 1;
    if (a.have_last) c->resume_from = a.last_id + 1;
    pthread_mutex_unlock(&live->lock);
    vigil__reply_stream(reply, "text/event-stream; charset=utf-8", sse_read,
                        vigil__live_client_free, c);
    vigil__reply_header(reply, "X-Accel-Buffering", "no");
}
