/* The analytics events of the HTTP API:
 *   GET /api/v1/events                      search, newest first, one page at a time
 *   GET /api/v1/events/{id}                 one event
 *   GET /api/v1/events/{id}/snapshot.jpg    the stored JPEG of its best frame
 *   GET /api/v1/events/{id}/clip.mp4        a video of the event, made on first request
 *
 * Paging is keyset-based on (start, id), the store's newest-first order, so
 * that events with equal start times are neither repeated nor skipped; the
 * cursor is opaque (params.c).
 *
 * Clips: the stored frames of the event's camera from start - preroll to
 * end + postroll (an open event: to the newest stored frame), at most
 * CLIP_MAX_FRAMES of them from the start, encoded by vigil_clip_write (H.264
 * MP4, faststart). A closed event's clip never changes, so it is cached at
 * vigil_store_clip_path once the postroll has passed (plus CLIP_SETTLE_US
 * for the last frames to reach the store) and served from that file after;
 * an open event's clip grows, so it is made for each request into a file
 * that is unlinked while MHD sends it. Two requests for the same uncached
 * clip do not encode it twice: the second waits for the first (api->clip_busy)
 * and serves its file. An encode holds an MHD thread for its whole length,
 * so at most VIGIL__API_CLIPS_MAX run at once; a request beyond that gets a
 * 503 with Retry-After. Clips are served from an open descriptor, with
 * single byte ranges (browsers seek in video with Range requests). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_int.h"
#include "api/params.h"
#include "vigil/analytics.h"
#include "vigil/clip.h"
#include "vigil/clock.h"
#include "vigil/log.h"

#define CLIP_MAX_FRAMES VIGIL_CLIP_MAX_FRAMES /* 3000 */
/* A closed event's clip is cached only when its postroll ended this long ago
 * (by the wall clock), so that frames still on their way are in it. */
#define CLIP_SETTLE_US INT64_C(10000000)
#define IMMUTABLE "public, max-age=31536000, immutable"

/* --- JSON ----------------------------------------------------------------------- */

void vigil__api_event_write(vigil__jw_t *jw, const vigil_analytics_event_row_t *row)
{
    const vigil_analytics_event_t *ev = &row->ev;
    const char *dir = ev->direction ? vigil_direction_name(ev->direction) : NULL;
    char url[96];

    vigil__jw_object(jw);
    vigil__jw_key(jw, "id");
    vigil__jw_int(jw, row->id);
    vigil__jw_key(jw, "camera");
    vigil__jw_string(jw, ev->camera_id);
    vigil__jw_key(jw, "kind");
    vigil__jw_string(jw, vigil_event_kind_name(ev->kind));
    vigil__jw_key(jw, "label");
    vigil__jw_string(jw, ev->label);
    vigil__jw_key(jw, "track");
    vigil__jw_int(jw, (int64_t)ev->track_id);
    vigil__jw_key(jw, "zone");
    vigil__jw_string_or_null(jw, ev->zone);
    vigil__jw_key(jw, "line");
    vigil__jw_string_or_null(jw, ev->line);
    vigil__jw_key(jw, "direction");
    vigil__jw_string(jw, dir);
    vigil__jw_key(jw, "start");
    vigil__jw_time(jw, ev->start_us);
    vigil__jw_key(jw, "start_us");
    vigil__jw_int(jw, ev->start_us);
    vigil__jw_key(jw, "end");
    if (ev->open)
        vigil__jw_null(jw);
    else
        vigil__jw_time(jw, ev->end_us);
    vigil__jw_key(jw, "end_us");
    if (ev->open)
        vigil__jw_null(jw);
    else
        vigil__jw_int(jw, ev->end_us);
    vigil__jw_key(jw, "open");
    vigil__jw_bool(jw, ev->open);
    vigil__jw_key(jw, "start_sequence");
    vigil__jw_int(jw, (int64_t)ev->start_sequence);
    vigil__jw_key(jw, "end_sequence");
    if (ev->open)
        vigil__jw_null(jw);
    else
        vigil__jw_int(jw, (int64_t)ev->end_sequence);
    vigil__jw_key(jw, "peak_score");
    vigil__jw_float(jw, ev->peak_score);
    vigil__jw_key(jw, "box");
    vigil__jw_array(jw);
    vigil__jw_float(jw, ev->x1);
    vigil__jw_float(jw, ev->y1);
    vigil__jw_float(jw, ev->x2);
    vigil__jw_float(jw, ev->y2);
    vigil__jw_array_end(jw);
    vigil__jw_key(jw, "snapshot_frame_id");
    if (ev->snapshot_frame_id > 0)
        vigil__jw_int(jw, ev->snapshot_frame_id);
    else
        vigil__jw_null(jw);
    vigil__jw_key(jw, "reviewed");
    vigil__jw_bool(jw, row->reviewed);
    vigil__jw_key(jw, "reviewed_at");
    vigil__jw_time(jw, row->reviewed_us);
    vigil__jw_key(jw, "reviewed_by");
    vigil__jw_string(jw, row->reviewed_us ? row->reviewed_by : NULL);
    vigil__jw_key(jw, "snapshot_url");
    if (ev->snapshot_frame_id > 0) {
        snprintf(url, sizeof(url), "/api/v1/events/%" PRId64 "/snapshot.jpg", row->id);
        vigil__jw_string(jw, url);
    } else {
        vigil__jw_null(jw);
    }
    vigil__jw_key(jw, "clip_url");
    snprintf(url, sizeof(url), "/api/v1/events/%" PRId64 "/clip.mp4", row->id);
    vigil__jw_string(jw, url);
    vigil__jw_object_end(jw);
}

json_t *vigil__api_event_json(const vigil_analytics_event_row_t *row)
{
    vigil__jw_t jw;

    vigil__jw_init(&jw, 0);
    vigil__api_event_write(&jw, row);
    return vigil__jw_json(&jw);
}

/* --- GET /api/v1/events ---------------------------------------------------------- */

typedef struct collect {
    vigil__event_params_t params;
    vigil__param_error_t err;
    int failed;
} collect_t;

/* MHD_KeyValueIterator over the query arguments; stops at the first bad one. */
static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    collect_t *c = cls;

    if (vigil__event_params_set(&c->params, key, value, &c->err) != 0) {
        c->failed = 1;
        return MHD_NO;
    }
    return MHD_YES;
}

static vigil_store_t *store_get(vigil_api_t *api, vigil__reply_t *reply)
{
    char errstr[256] = "";
    vigil_store_t *store = vigil__api_store_acquire(api, errstr, sizeof(errstr));

    if (!store)
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "store unavailable: %s",
                           errstr);
    return store;
}

void vigil__api_events(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    struct MHD_Connection *conn = req->conn;
    collect_t c = {.failed = 0};
    char cursor[VIGIL__API_CURSOR_MAX];
    vigil_store_t *store;
    vigil_analytics_event_row_t *rows = NULL;
    size_t n = 0;
    int64_t next_start = 0, next_id = 0;
    vigil_err_t err;
    vigil__jw_t jw;

    vigil__event_params_init(&c.params);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &c);
    if (c.failed || vigil__event_params_finish(&c.params, &c.err) != 0) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, c.err.parameter, "%s", c.err.message);
        return;
    }
    if (!(store = store_get(api, reply))) return;
    err = vigil_store_analytics_events_query(store, &c.params.q, &rows, &n, &next_start,
                                             &next_id);
    vigil__api_store_release(api, store);
    if (err) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "store: cannot query events: %s", vigil_err_str(err));
        goto done;
    }
    vigil__jw_init(&jw, VIGIL__API_JSON_MAX);
    vigil__jw_object(&jw);
    vigil__jw_key(&jw, "items");
    vigil__jw_array(&jw);
    for (size_t i = 0; i < n; i++) vigil__api_event_write(&jw, &rows[i]);
    vigil__jw_array_end(&jw);
    vigil__jw_key(&jw, "next_cursor");
    if (next_id > 0) {
        vigil__api_format_event_cursor(next_start, next_id, cursor, sizeof(cursor));
        vigil__jw_string(&jw, cursor);
    } else {
        vigil__jw_null(&jw);
    }
    vigil__jw_object_end(&jw);
    vigil__reply_jw(reply, MHD_HTTP_OK, &jw);
done:
    free(rows);
}

/* --- one event ------------------------------------------------------------------------ */

/* The {id} of /api/v1/events/{id}[/...]: 0, or -1 with a 400 naming "id". */
static int event_id(const char *url, int64_t *id, vigil__reply_t *reply)
{
    vigil__param_error_t perr;
    char seg[32];
    int n = vigil__api_path_segment(url, 3, seg, sizeof(seg));

    if (vigil__api_parse_id(n >= 0 ? seg : NULL, id, &perr) != 0) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, perr.parameter, "%s", perr.message);
        return -1;
    }
    return 0;
}

/* Reads event id into *row: 0, or -1 with a 404 / 503 reply. */
static int event_read(vigil_store_t *store, int64_t id, vigil_analytics_event_row_t *row,
                      vigil__reply_t *reply)
{
    vigil_err_t err = vigil_store_analytics_event_get(store, id, row);

    if (err == VIGIL_ERR_NOT_FOUND) {
        vigil__reply_error(reply, MHD_HTTP_NOT_FOUND, NULL, "event %" PRId64 " not found", id);
        return -1;
    }
    if (err) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "store: cannot read event %" PRId64 ": %s", id, vigil_err_str(err));
        return -1;
    }
    return 0;
}

void vigil__api_event(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    const char *url = req->url;
    vigil_analytics_event_row_t row;
    vigil_store_t *store;
    int64_t id;
    int rc;

    if (event_id(url, &id, reply)) return;
    if (!(store = store_get(api, reply))) return;
    rc = event_read(store, id, &row, reply);
    vigil__api_store_release(api, store);
    if (rc) return;
    json_t *obj = vigil__api_event_json(&row);
    if (!obj) {
        vigil__reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
                           "event %" PRId64 " cannot be encoded as JSON", id);
        return;
    }
    vigil__reply_json(reply, MHD_HTTP_OK, obj);
}

void vigil__api_event_snapshot(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    const char *url = req->url;
    vigil_analytics_event_row_t row;
    vigil_store_t *store;
    void *jpeg = NULL;
    size_t len = 0;
    vigil_err_t err;
    int64_t id, frame_id;

    if (event_id(url, &id, reply)) return;
    if (!(store = store_get(api, reply))) return;
    if (event_read(store, id, &row, reply)) {
        vigil__api_store_release(api, store);
        return;
    }
    frame_id = row.ev.snapshot_frame_id;
    err = frame_id > 0 ? vigil_store_frame_read(store, frame_id, &jpeg, &len) : VIGIL_ERR_NOT_FOUND;
    vigil__api_store_release(api, store);
    if (frame_id <= 0) {
        vigil__reply_error(reply, MHD_HTTP_NOT_FOUND, NULL,
                           "event %" PRId64 " has no snapshot frame", id);
    } else if (err == VIGIL_ERR_NOT_FOUND) {
        vigil__reply_error(reply, MHD_HTTP_NOT_FOUND, NULL,
                           "event %" PRId64 ": snapshot frame %" PRId64 " is gone", id, frame_id);
    } else if (err) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "store: cannot read frame %" PRId64 ": %s", frame_id,
                           vigil_err_str(err));
    } else {
        vigil__reply_bytes(reply, MHD_HTTP_OK, "image/jpeg", jpeg, len);
        /* An open event may still pick a better snapshot; a closed one never. */
        reply->cache_control = row.ev.open ? "no-store" : IMMUTABLE;
    }
}

/* --- clips ------------------------------------------------------------------------------ */

/* Serves the open file fd (taken) as video/mp4, honouring one byte range. */
static void serve_clip(struct MHD_Connection *conn, int fd, int cacheable,
                       vigil__reply_t *reply)
{
    const char *range = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
    struct stat st;
    uint64_t size, first = 0, last = 0;
    int r;

    if (fstat(fd, &st) != 0) {
        vigil__reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
                           "cannot stat the clip: %s", strerror(errno));
        close(fd);
        return;
    }
    size = (uint64_t)st.st_size;
    reply->accept_ranges = "bytes";
    reply->cache_control = cacheable ? IMMUTABLE : "no-store";
    r = vigil__api_parse_range(range, size, &first, &last);
    if (r < 0) {
        close(fd);
        vigil__reply_error(reply, MHD_HTTP_RANGE_NOT_SATISFIABLE, NULL,
                           "range \"%.64s\" is outside the clip's %" PRIu64 " bytes", range, size);
        snprintf(reply->content_range, sizeof(reply->content_range), "bytes */%" PRIu64, size);
        return;
    }
    if (r == 0) {
        vigil__reply_file(reply, MHD_HTTP_OK, "video/mp4", fd, 0, size);
        return;
    }
    vigil__reply_file(reply, MHD_HTTP_PARTIAL_CONTENT, "video/mp4", fd, first, last - first + 1);
    snprintf(reply->content_range, sizeof(reply->content_range),
             "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, size);
}

/* Creates the directories above `path` (like mkdir -p of its dirname). */
static int mkdir_parents(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);

    if (n >= sizeof(buf)) return -1;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return 0;
}

/* The frames of a clip, read from the store one at a time. */
typedef struct clip_source {
    vigil_store_t *store;
    const vigil_frame_row_t *rows;
    size_t n, next;
    void *jpeg; /* the buffer handed out last */
} clip_source_t;

static int clip_next(void *opaque, vigil_clip_frame_t *frame, char *errstr, size_t errstr_size)
{
    clip_source_t *src = opaque;

    while (src->next < src->n) {
        const vigil_frame_row_t *row = &src->rows[src->next++];
        size_t len = 0;
        free(src->jpeg);
        src->jpeg = NULL;
        vigil_err_t err = vigil_store_frame_read(src->store, row->id, &src->jpeg, &len);
        if (err == VIGIL_ERR_NOT_FOUND) continue; /* swept since the query: leave it out */
        if (err)
            return vigil_seterr(errstr, errstr_size, err,
                                "store: cannot read frame %" PRId64 ": %s", row->id,
                                vigil_err_str(err));
        frame->jpeg = src->jpeg;
        frame->len = len;
        frame->time_us = row->capture_time_us;
        return 1;
    }
    return 0;
}

/* Claims a slot to make event id's clip: `path` is where the cached clip
 * goes, NULL for a clip made for this request only. Returns 1 when claimed
 * (*slot; give it back with clip_unclaim); 0 when the cached file exists,
 * or has appeared while another request made it (*fd open on it); -1 when
 * VIGIL__API_CLIPS_MAX clips are being made already. Takes clip_lock. */
static int clip_claim(vigil_api_t *api, int64_t id, const char *path, int *fd, int *slot)
{
    pthread_mutex_lock(&api->clip_lock);
    for (;;) {
        int same = 0, used = 0, free_slot = -1;
        if (path && (*fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
            pthread_mutex_unlock(&api->clip_lock);
            return 0;
        }
        for (int i = 0; i < VIGIL__API_THREADS; i++) {
            if (path && api->clip_busy[i] == id) same = 1;
            if (api->clip_busy[i])
                used++;
            else if (free_slot < 0)
                free_slot = i;
        }
        if (!same) {
            if (used >= VIGIL__API_CLIPS_MAX || free_slot < 0) {
                pthread_mutex_unlock(&api->clip_lock);
                return -1;
            }
            api->clip_busy[free_slot] = path ? id : -id;
            *slot = free_slot;
            pthread_mutex_unlock(&api->clip_lock);
            return 1;
        }
        pthread_cond_wait(&api->clip_cond, &api->clip_lock);
    }
}

static void clip_unclaim(vigil_api_t *api, int slot)
{
    pthread_mutex_lock(&api->clip_lock);
    api->clip_busy[slot] = 0;
    pthread_cond_broadcast(&api->clip_cond);
    pthread_mutex_unlock(&api->clip_lock);
}

/* The capture-time span a clip covers, as text for messages. */
static void clip_span(int64_t since_us, int64_t until_us, char *buf, size_t size)
{
    char a[40], b[40];

    vigil_format_time(since_us, a, sizeof(a));
    if (until_us == INT64_MAX)
        snprintf(b, sizeof(b), "now");
    else
        vigil_format_time(until_us, b, sizeof(b));
    snprintf(buf, size, "%s to %s", a, b);
}

/* Writes the clip of `row` to `target`; 0, or -1 with the reply filled. */
static int clip_make(vigil_api_t *api, vigil_store_t *store,
                     const vigil_analytics_event_row_t *row, const char *target,
                     vigil__reply_t *reply)
{
    const vigil_analytics_event_t *ev = &row->ev;
    int64_t since = ev->start_us - api->clip_preroll_us;
    int64_t until = ev->open ? INT64_MAX : ev->end_us + api->clip_postroll_us + 1;
    vigil_frame_row_t *rows = NULL;
    clip_source_t src = {.store = store};
    vigil_clip_conf_t conf;
    vigil_clip_info_t info;
    char errstr[512] = "", span[96];
    size_t n = 0;
    vigil_err_t err;
    int rc = -1;

    if (since < 0) since = 0;
    clip_span(since, until, span, sizeof(span));
    err = vigil_store_frames_range(store, ev->camera_id, since, until, CLIP_MAX_FRAMES, &rows, &n);
    if (err) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "store: cannot list the frames of event %" PRId64 ": %s", row->id,
                           vigil_err_str(err));
        goto done;
    }
    if (!n) {
        vigil__reply_error(reply, MHD_HTTP_NOT_FOUND, NULL,
                           "event %" PRId64 ": no stored frames of camera \"%s\" from %s", row->id,
                           ev->camera_id, span);
        goto done;
    }
    vigil_clip_conf_init(&conf);
    conf.max_frames = CLIP_MAX_FRAMES;
    if (n > 1 && rows[n - 1].capture_time_us > rows[0].capture_time_us) {
        double fps = (double)(n - 1) * 1e6 /
                     (double)(rows[n - 1].capture_time_us - rows[0].capture_time_us);
        conf.fps = fps < 0.1 ? 0.1 : fps > 240 ? 240 : fps;
    }
    src.rows = rows;
    src.n = n;
    if (mkdir_parents(target) != 0) {
        vigil__reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
                           "event %" PRId64 ": cannot create the directory of %s: %s", row->id,
                           target, strerror(errno));
        goto done;
    }
    err = vigil_clip_write(target, &conf, clip_next, &src, &info, errstr, sizeof(errstr));
    if (err == VIGIL_ERR_NOT_FOUND || err == VIGIL_ERR_DECODE) {
        vigil__reply_error(reply, MHD_HTTP_NOT_FOUND, NULL,
                           "event %" PRId64 ": no usable frames of camera \"%s\" from %s: %s",
                           row->id, ev->camera_id, span, errstr);
        goto done;
    }
    if (err) {
        vigil__reply_error(reply,
                           vigil_err_is_retriable(err) || err == VIGIL_ERR_STORE
                               ? MHD_HTTP_SERVICE_UNAVAILABLE
                               : MHD_HTTP_INTERNAL_SERVER_ERROR,
                           NULL, "event %" PRId64 ": cannot make the clip: %s", row->id, errstr);
        goto done;
    }
    vigil_debug("api", ev->camera_id,
                "event %" PRId64 ": clip of %" PRId64 " frames (%" PRId64
                " skipped), %dx%d, %.1f s, %s",
                row->id, info.frames, info.skipped, info.width, info.height,
                (double)info.duration_us / 1e6, info.encoder);
    rc = 0;
done:
    free(src.jpeg);
    free(rows);
    return rc;
}

void vigil__api_event_clip(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    struct MHD_Connection *conn = req->conn;
    const char *url = req->url;
    vigil_analytics_event_row_t row;
    vigil_store_t *store;
    char path[4096], live[4096 + 16];
    const char *target;
    int64_t id;
    vigil_err_t err;
    int fd = -1, cacheable, slot = -1, rc;

    if (event_id(url, &id, reply)) return;
    if (!(store = store_get(api, reply))) return;
    if (event_read(store, id, &row, reply)) goto done;
    err = vigil_store_clip_path(store, row.ev.camera_id, id, path, sizeof(path));
    if (err) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "store: no clip path for event %" PRId64 ": %s", id,
                           vigil_err_str(err));
        goto done;
    }
    cacheable = !row.ev.open &&
                vigil_now_us() >= row.ev.end_us + api->clip_postroll_us + CLIP_SETTLE_US;
    rc = clip_claim(api, id, cacheable ? path : NULL, &fd, &slot);
    if (rc == 0) goto serve; /* cached, or just made by another request */
    if (rc < 0) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "event %" PRId64 ": %d other clips are being made; retry shortly", id,
                           VIGIL__API_CLIPS_MAX);
        reply->retry_after = "5";
        goto done;
    }
    if (cacheable) {
        target = path;
    } else {
        /* Made for this request only: a unique name, unlinked once open. */
        snprintf(live, sizeof(live), "%s.live-XXXXXX", path);
        if (mkdir_parents(live) != 0 || (fd = mkstemp(live)) < 0) {
            vigil__reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
                               "event %" PRId64 ": cannot create %s: %s", id, live,
                               strerror(errno));
            goto done;
        }
        close(fd);
        target = live;
    }
    rc = clip_make(api, store, &row, target, reply);
    fd = rc ? -1 : open(target, O_RDONLY | O_CLOEXEC);
    if (!cacheable) unlink(live); /* MHD reads it through fd */
    if (rc) goto done;
    if (fd < 0) {
        vigil__reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
                           "event %" PRId64 ": cannot open the clip: %s", id, strerror(errno));
        goto done;
    }
serve:
    serve_clip(conn, fd, cacheable, reply);
done:
    if (slot >= 0) clip_unclaim(api, slot);
    vigil__api_store_release(api, store);
}
