/* Retention by size in MongoDB (store_retention_int.h), as
 * sqlite_retention.c decides it, computed in C:
 *
 * frame_usage reads the frames' camera and size in camera order and sums
 * them (a scan of the frames: no running totals, since FerretDB's updates
 * are not atomic and an $inc total would drift under two writers).
 *
 * A size sweep first reads the analytics events that still need frames
 * (open, or ended at or after events_ended_before_us) of the camera (or of
 * all), then walks the frames oldest first (capture time, id), skips those
 * an event needs (its snapshot, or within [start - preroll, end + postroll],
 * open: from start - preroll on), takes the others until their bytes reach
 * what was asked or `limit` rows, and deletes those by _id. Two sweepers at
 * once may pick the same rows; the second deletes nothing of them and frees
 * less (no lock, as FerretDB has none).
 *
 * Thread: the handle's thread. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/mongo_int.h"
#include "store/store_retention_int.h"

/* At most this many events that need frames are held for one sweep. */
#define MGR_EVENTS_MAX 100000

typedef struct mgr_usage {
    vigil_frame_usage_t *rows;
    size_t n, max;
} mgr_usage_t;

static vigil_err_t mgr_usage_add(void *arg, const bson_t *doc)
{
    mgr_usage_t *u = arg;
    char cam[64];
    vigil__mongo_str(doc, "camera_id", cam, sizeof(cam));
    if (u->n == 0 || strcmp(u->rows[u->n - 1].camera_id, cam) != 0) {
        if (u->n == u->max) return VIGIL_ERR_TOO_LARGE; /* enough cameras */
        snprintf(u->rows[u->n].camera_id, sizeof(u->rows[u->n].camera_id), "%s", cam);
        u->n++;
    }
    u->rows[u->n - 1].frames++;
    u->rows[u->n - 1].bytes += vigil__mongo_i64(doc, "size_bytes");
    return VIGIL_OK;
}

static vigil_err_t mgr_frame_usage(vigil_store_t *store, size_t max, vigil_frame_usage_t **rows,
                                   size_t *n, char *errstr, size_t errstr_size)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    mgr_usage_t u = {calloc(max ? max : 1, sizeof(*u.rows)), 0, max};
    if (!u.rows)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "frame usage: out of memory");
    bson_t filter = BSON_INITIALIZER;
    bson_t *opts = BCON_NEW("sort", "{", "camera_id", BCON_INT32(1), "}", "projection", "{",
                            "camera_id", BCON_INT32(1), "size_bytes", BCON_INT32(1), "}");
    vigil_err_t err = vigil__mongo_find(mg, VIGIL__MG_FRAMES, &filter, opts, mgr_usage_add, &u,
                                        "read frame usage", errstr, errstr_size);
    bson_destroy(opts);
    if (err == VIGIL_ERR_TOO_LARGE) err = VIGIL_OK;
    if (err) {
        free(u.rows);
        return err;
    }
    if (u.n == 0) {
        free(u.rows);
        u.rows = NULL;
    }
    *rows = u.rows;
    *n = u.n;
    return VIGIL_OK;
}

/* An event that needs frames. */
typedef struct mgr_event {
    char camera_id[64];
    int64_t start_us, end_us, snapshot_frame_id;
    int open;
} mgr_event_t;

typedef struct mgr_events {
    mgr_event_t *ev;
    size_t n, cap;
} mgr_events_t;

static vigil_err_t mgr_events_add(void *arg, const bson_t *doc)
{
    mgr_events_t *e = arg;
    if (e->n == MGR_EVENTS_MAX) return VIGIL_ERR_TOO_LARGE;
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 64;
        mgr_event_t *p = realloc(e->ev, cap * sizeof(*p));
        if (!p) return VIGIL_ERR_NOMEM;
        e->ev = p;
        e->cap = cap;
    }
    mgr_event_t *v = &e->ev[e->n++];
    vigil__mongo_str(doc, "camera_id", v->camera_id, sizeof(v->camera_id));
    v->start_us = vigil__mongo_i64(doc, "start_us");
    v->end_us = vigil__mongo_i64(doc, "end_us");
    v->snapshot_frame_id = vigil__mongo_i64(doc, "snapshot_frame_id");
    v->open = (int)vigil__mongo_i64(doc, "open");
    return VIGIL_OK;
}

static int mgr_needed(const mgr_events_t *e, const vigil__frame_protect_t *pr, const char *cam,
                      int64_t id, int64_t t)
{
    for (size_t i = 0; i < e->n; i++) {
        const mgr_event_t *v = &e->ev[i];
        if (v->snapshot_frame_id == id) return 1;
        if (strcmp(v->camera_id, cam) != 0) continue;
        if (t < v->start_us - pr->preroll_us) continue;
        if (v->open || t <= v->end_us + pr->postroll_us) return 1;
    }
    return 0;
}

typedef struct mgr_pick {
    const mgr_events_t *events;
    const vigil__frame_protect_t *protect;
    int64_t bytes, sum;
    size_t limit, n;
    bson_value_t *ids;
    char **paths;
} mgr_pick_t;

static vigil_err_t mgr_pick_add(void *arg, const bson_t *doc)
{
    mgr_pick_t *p = arg;
    if (p->n >= p->limit || p->sum >= p->bytes) return VIGIL_ERR_TOO_LARGE; /* done */
    char cam[64];
    vigil__mongo_str(doc, "camera_id", cam, sizeof(cam));
    int64_t id = vigil__mongo_i64(doc, "_id"), t = vigil__mongo_i64(doc, "capture_time_us");
    if (mgr_needed(p->events, p->protect, cam, id, t)) return VIGIL_OK;
    char path[512];
    vigil__mongo_str(doc, "path", path, sizeof(path));
    if (!(p->paths[p->n] = strdup(path))) return VIGIL_ERR_NOMEM;
    p->ids[p->n].value_type = BSON_TYPE_INT64;
    p->ids[p->n].value.v_int64 = id;
    p->n++;
    p->sum += vigil__mongo_i64(doc, "size_bytes");
    return VIGIL_OK;
}

static vigil_err_t mgr_sweep_frames_bytes(vigil_store_t *store, const char *camera_id,
                                          int64_t bytes, const vigil__frame_protect_t *protect,
                                          size_t limit, char ***paths_out, size_t *n_out,
                                          int64_t *freed_out, char *errstr, size_t errstr_size)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    *paths_out = NULL;
    *n_out = 0;
    *freed_out = 0;
    mgr_events_t events = {0};
    bson_t *efilter = BCON_NEW("$or", "[", "{", "open", "{", "$ne", BCON_INT32(0), "}", "}", "{",
                               "end_us", "{", "$gte",
                               BCON_INT64(protect->events_ended_before_us), "}", "}", "]");
    bson_t *eopts = BCON_NEW("projection", "{", "camera_id", BCON_INT32(1), "start_us",
                             BCON_INT32(1), "end_us", BCON_INT32(1), "snapshot_frame_id",
                             BCON_INT32(1), "open", BCON_INT32(1), "}");
    vigil_err_t err = vigil__mongo_find(mg, VIGIL__MG_AN_EVENTS, efilter, eopts, mgr_events_add,
                                        &events, "read the events that need frames", errstr,
                                        errstr_size);
    bson_destroy(efilter);
    bson_destroy(eopts);
    if (err == VIGIL_ERR_TOO_LARGE)
        err = vigil__mongo_fail(mg, VIGIL_ERR_TOO_LARGE, NULL, errstr, errstr_size,
                                "size sweep: more than %d events need frames", MGR_EVENTS_MAX);
    mgr_pick_t pick = {&events, protect, bytes, 0, limit, 0, NULL, NULL};
    if (!err) {
        pick.ids = calloc(limit ? limit : 1, sizeof(*pick.ids));
        pick.paths = calloc(limit ? limit : 1, sizeof(*pick.paths));
        if (!pick.ids || !pick.paths)
            err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "size sweep: out of memory");
    }
    if (!err) {
        bson_t *filter = camera_id ? BCON_NEW("camera_id", BCON_UTF8(camera_id)) : bson_new();
        bson_t *opts = BCON_NEW("sort", "{", "capture_time_us", BCON_INT32(1), "_id",
                                BCON_INT32(1), "}", "projection", "{", "camera_id", BCON_INT32(1),
                                "capture_time_us", BCON_INT32(1), "size_bytes", BCON_INT32(1),
                                "path", BCON_INT32(1), "}");
        err = vigil__mongo_find(mg, VIGIL__MG_FRAMES, filter, opts, mgr_pick_add, &pick,
                                "read the oldest frames", errstr, errstr_size);
        if (err == VIGIL_ERR_TOO_LARGE) err = VIGIL_OK;
        bson_destroy(filter);
        bson_destroy(opts);
    }
    int64_t deleted = 0;
    if (!err && pick.n)
        err = vigil__mongo_delete_ids(mg, VIGIL__MG_FRAMES, pick.ids, pick.n, &deleted,
                                      "delete the oldest frames");
    if (err && errstr && !errstr[0]) vigil_seterr(errstr, errstr_size, err, "%s", store->errbuf);
    free(events.ev);
    free(pick.ids);
    if (err) {
        if (pick.paths) vigil__store_paths_free(pick.paths, pick.n);
        return err;
    }
    *paths_out = pick.paths;
    *n_out = pick.n;
    *freed_out = pick.sum; /* as many as deleted: another sweeper's rows are counted too */
    return VIGIL_OK;
}

const vigil__store_retention_ops_t vigil__mongo_retention_ops = {
    .frame_usage = mgr_frame_usage,
    .sweep_frames_bytes = mgr_sweep_frames_bytes,
};
