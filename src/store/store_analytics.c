/* The analytics half of the warehouse front (store.h, section "analytics"):
 * argument checks, the names kinds and directions are stored under, clip
 * paths, and the frame range read the clip maker uses.
 *
 * The main idea: everything a backend could get wrong in its own way is
 * decided here once. A commit's batches are checked whole before the
 * backend starts its transaction, so that bad input never takes the write
 * lock and never leaves half a commit; limits and buckets are checked here,
 * and the backends only run queries (sqlite_analytics.c, later postgres.c).
 *
 * Out of memory: results are malloc'd; a failed allocation is
 * VIGIL_ERR_NOMEM and nothing is handed back.
 *
 * Thread: a handle is used by one thread at a time (store.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "vigil/clock.h"
#include "vigil/config.h"

int vigil__store_clip_relpath(const char *camera_id, int64_t event_id, char *out,
                              size_t out_size)
{
    if (!vigil_camera_id_valid(camera_id) || event_id <= 0) return -1;
    int n = snprintf(out, out_size, "clips/%s/%" PRId64 ".mp4", camera_id, event_id);
    return n < 0 || (size_t)n >= out_size ? -1 : 0;
}

/* ---- commit ------------------------------------------------------------ */

/* Whether a fixed-size name field holds a terminated string. */
#define STORE_TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

/* Checks one event of batch b; VIGIL_OK or INVALID with errstr. */
static vigil_err_t store_check_event(const vigil_analytics_camera_batch_t *b, size_t i,
                                     char *errstr, size_t errstr_size)
{
    const vigil_analytics_event_t *ev = &b->events[i];
    const char *why = NULL;
    const char *kind = vigil_event_kind_name(ev->kind);
    if (!STORE_TERMINATED(ev->camera_id) || !STORE_TERMINATED(ev->label) ||
        !STORE_TERMINATED(ev->zone) || !STORE_TERMINATED(ev->line))
        why = "a name field is not terminated";
    else if (ev->camera_id[0] && strcmp(ev->camera_id, b->camera_id) != 0)
        why = "it names another camera";
    else if (!kind)
        why = "unknown kind";
    else if (ev->direction < VIGIL_DIR_NONE || ev->direction > VIGIL_DIR_OUT)
        why = "unknown direction";
    else if (ev->kind == VIGIL_EVENT_LINE_CROSS ? !ev->line[0] || ev->zone[0]
                                                : !ev->zone[0] || ev->line[0])
        why = ev->kind == VIGIL_EVENT_LINE_CROSS ? "a line event needs a line and no zone"
                                                 : "a zone event needs a zone and no line";
    if (!why) return VIGIL_OK;
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                        "camera \"%s\": event %zu of the batch (kind %d, track %" PRIu64
                        ", start sequence %" PRIu64 "): %s",
                        b->camera_id, i, ev->kind, ev->track_id, ev->start_sequence, why);
}

static vigil_err_t store_check_batch(const vigil_analytics_camera_batch_t *b, size_t bi,
                                     char *errstr, size_t errstr_size)
{
    if (!b->camera_id)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "analytics batch %zu has no camera id", bi);
    if (!vigil_camera_id_valid(b->camera_id))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "invalid camera id \"%.64s\" in analytics batch %zu", b->camera_id,
                            bi);
    if ((b->nevents && !b->events) || (b->npoints && !b->points) || (b->ncounts && !b->counts))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "camera \"%s\": analytics batch %zu counts rows it does not have",
                            b->camera_id, bi);
    for (size_t i = 0; i < b->nevents; i++) {
        vigil_err_t err = store_check_event(b, i, errstr, errstr_size);
        if (err != VIGIL_OK) return err;
    }
    for (size_t i = 0; i < b->npoints; i++)
        if (!STORE_TERMINATED(b->points[i].label))
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                "camera \"%s\": track point %zu of the batch: label not "
                                "terminated",
                                b->camera_id, i);
    for (size_t i = 0; i < b->ncounts; i++) {
        const vigil_count_bucket_t *c = &b->counts[i];
        const char *why = NULL;
        if (!STORE_TERMINATED(c->zone) || !STORE_TERMINATED(c->line) ||
            !STORE_TERMINATED(c->label))
            why = "a name field is not terminated";
        else if (!c->zone[0] == !c->line[0])
            why = "exactly one of zone and line must be set";
        else if (!c->label[0])
            why = "no label";
        else if (c->minute_us % VIGIL__STORE_MINUTE_US != 0)
            why = "minute_us is not the start of a minute";
        if (why)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                "camera \"%s\": count %zu of the batch (minute %" PRId64
                                "): %s",
                                b->camera_id, i, c->minute_us, why);
    }
    return VIGIL_OK;
}

vigil_err_t vigil_store_analytics_commit(vigil_store_t *store,
                                         const vigil_analytics_camera_batch_t *batches, size_t n,
                                         char *errstr, size_t errstr_size)
{
    if (!store || (n > 0 && !batches))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "no analytics batches");
    for (size_t i = 0; i < n; i++) {
        vigil_err_t err = store_check_batch(&batches[i], i, errstr, errstr_size);
        if (err != VIGIL_OK) return err;
    }
    if (n == 0) return VIGIL_OK;
    int64_t t0 = vigil_mono_us();
    vigil_err_t err =
        store->ops->analytics_commit(store, batches, n, vigil_now_us(), errstr, errstr_size);
    return vigil__store_done(store, VIGIL__OP_ANALYTICS_COMMIT, t0, err);
}

/* ---- reads ------------------------------------------------------------- */

vigil_err_t vigil_store_analytics_state_get(vigil_store_t *store, const char *camera_id,
                                            uint8_t **state, size_t *len,
                                            uint64_t *last_sequence)
{
    if (state) *state = NULL;
    if (len) *len = 0;
    if (last_sequence) *last_sequence = 0;
    if (!store || !camera_id || !state || !len) return VIGIL_ERR_INVALID;
    int64_t t0 = vigil_mono_us();
    store->errbuf[0] = '\0';
    uint64_t seq = 0;
    vigil_err_t err = store->ops->analytics_state_get(store, camera_id, state, len, &seq);
    if (err == VIGIL_OK && last_sequence) *last_sequence = seq;
    return vigil__store_done_log(store, VIGIL__OP_ANALYTICS_STATE_GET, t0, camera_id, err);
}

vigil_err_t vigil_store_analytics_max_track_id(vigil_store_t *store, const char *camera_id,
                                               uint64_t *max)
{
    if (max) *max = 0;
    if (!store || !camera_id || !max || !vigil_camera_id_valid(camera_id)) return VIGIL_ERR_INVALID;
    int64_t t0 = vigil_mono_us();
    store->errbuf[0] = '\0';
    vigil_err_t err = store->ops->analytics_max_track_id(store, camera_id, max);
    return vigil__store_done_log(store, VIGIL__OP_ANALYTICS_MAX_TRACK_ID, t0, camera_id, err);
}

vigil_err_t vigil_store_analytics_events_query(vigil_store_t *store, const vigil_event_query_t *q,
                                               vigil_analytics_event_row_t **rows, size_t *n,
                                               int64_t *next_start_us, int64_t *next_id)
{
    if (rows) *rows = NULL;
    if (n) *n = 0;
    if (next_start_us) *next_start_us = 0;
    if (next_id) *next_id = 0;
    if (!store || !q || !rows || !n || q->limit < 1 || q->limit > VIGIL__STORE_EVENTS_LIMIT_MAX ||
        q->after_id < 0 || q->reviewed < VIGIL_REVIEWED_ANY || q->reviewed > VIGIL_REVIEWED_NO)
        return VIGIL_ERR_INVALID;
    int64_t t0 = vigil_mono_us();
    store->errbuf[0] = '\0';
    int64_t ns = 0, ni = 0;
    vigil_err_t err = store->ops->analytics_events_query(store, q, rows, n, &ns, &ni);
    if (err == VIGIL_OK) {
        if (next_start_us) *next_start_us = ns;
        if (next_id) *next_id = ni;
    }
    return vigil__store_done_log(store, VIGIL__OP_ANALYTICS_EVENTS_QUERY, t0, q->camera, err);
}

vigil_err_t vigil_store_analytics_event_get(vigil_store_t *store, int64_t id,
                                            vigil_analytics_event_row_t *row)
{
    if (!store || !row) return VIGIL_ERR_INVALID;
    memset(row, 0, sizeof(*row));
    int64_t t0 = vigil_mono_us();
    store->errbuf[0] = '\0';
    vigil_err_t err = id > 0 ? store->ops->analytics_event_get(store, id, row)
                             : VIGIL_ERR_NOT_FOUND;
    return vigil__store_done_log(store, VIGIL__OP_ANALYTICS_EVENT_GET, t0, NULL, err);
}

vigil_err_t vigil_store_counts_query(vigil_store_t *store, const vigil_count_query_t *q,
                                     vigil_count_row_t **rows, size_t *n)
{
    if (rows) *rows = NULL;
    if (n) *n = 0;
    if (!store || !q || !rows || !n) return VIGIL_ERR_INVALID;
    if (q->bucket_us != 0 && q->bucket_us != VIGIL__STORE_MINUTE_US &&
        q->bucket_us != 60 * VIGIL__STORE_MINUTE_US &&
        q->bucket_us != 24 * 60 * VIGIL__STORE_MINUTE_US) {
        snprintf(store->errbuf, sizeof(store->errbuf),
                 "count bucket %" PRId64 " us: accepted are 0 (totals), 60000000 (minute), "
                 "3600000000 (hour), 86400000000 (day)",
                 q->bucket_us);
        return VIGIL_ERR_INVALID;
    }
    int64_t t0 = vigil_mono_us();
    store->errbuf[0] = '\0';
    vigil_count_row_t *out = NULL;
    size_t count = 0;
    vigil_err_t err = store->ops->counts_query(store, q, VIGIL__STORE_COUNT_ROWS_MAX, &out, &count);
    if (err == VIGIL_OK && count > VIGIL__STORE_COUNT_ROWS_MAX) {
        free(out);
        snprintf(store->errbuf, sizeof(store->errbuf),
                 "counts query has more than %d rows: ask for a larger bucket or a narrower "
                 "range",
                 VIGIL__STORE_COUNT_ROWS_MAX);
        err = VIGIL_ERR_INVALID;
    } else if (err == VIGIL_OK) {
        *rows = out;
        *n = count;
    }
    return vigil__store_done_log(store, VIGIL__OP_COUNTS_QUERY, t0, q->camera, err);
}

vigil_err_t vigil_store_track_points(vigil_store_t *store, const char *camera_id,
                                     uint64_t track_id, int limit, vigil_track_point_t **points,
                                     size_t *n)
{
    if (points) *points = NULL;
    if (n) *n = 0;
    if (!store || !camera_id || !points || !n || limit < 1 ||
        limit > VIGIL__STORE_POINTS_LIMIT_MAX)
        return VIGIL_ERR_INVALID;
    int64_t t0 = vigil_mono_us();
    store->errbuf[0] = '\0';
    vigil_err_t err = store->ops->track_points(store, camera_id, track_id, limit, points, n);
    if (err == VIGIL_OK && *n == 0) {
        free(*points);
        *points = NULL;
        snprintf(store->errbuf, sizeof(store->errbuf), "camera \"%.64s\": no track %" PRIu64,
                 camera_id, track_id);
        err = VIGIL_ERR_NOT_FOUND;
    }
    return vigil__store_done_log(store, VIGIL__OP_TRACK_POINTS, t0, camera_id, err);
}

vigil_err_t vigil_store_frames_range(vigil_store_t *store, const char *camera_id, int64_t since_us,
                                     int64_t until_us, int limit, vigil_frame_row_t **rows,
                                     size_t *n)
{
    if (rows) *rows = NULL;
    if (n) *n = 0;
    if (!store || !camera_id || !rows || !n || limit < 1 ||
        limit > VIGIL__STORE_FRAMES_LIMIT_MAX)
        return VIGIL_ERR_INVALID;
    int64_t t0 = vigil_mono_us();
    store->errbuf[0] = '\0';
    /* as the other reads: 0 = no bound */
    vigil_err_t err = store->ops->frames_range(store, camera_id, since_us ? since_us : INT64_MIN,
                                               until_us ? until_us : INT64_MAX, limit, rows, n);
    return vigil__store_done_log(store, VIGIL__OP_FRAMES_RANGE, t0, camera_id, err);
}

vigil_err_t vigil_store_clip_path(vigil_store_t *store, const char *camera_id, int64_t event_id,
                                  char *path, size_t size)
{
    if (path && size) path[0] = '\0';
    if (!store || !camera_id || !path || size == 0) return VIGIL_ERR_INVALID;
    char relpath[256];
    if (vigil__store_clip_relpath(camera_id, event_id, relpath, sizeof(relpath)) != 0)
        return VIGIL_ERR_INVALID;
    int len = snprintf(path, size, "%s/%s", store->data_dir, relpath);
    if (len < 0 || (size_t)len >= size) {
        path[0] = '\0';
        return VIGIL_ERR_INVALID;
    }
    return VIGIL_OK;
}
