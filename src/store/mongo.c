/* The MongoDB warehouse backend (store.url mongodb://...): opening a handle,
 * and the camera, frame, event, count and sweep operations (plumbing and
 * schema in mongo_conn.c, detections in mongo_detections.c, analytics in
 * mongo_analytics.c). Tested on FerretDB (scripts/ferretdb); every command
 * used also exists on MongoDB >= 6 (docs/warehouse.md).
 *
 * The same contract as sqlite.c and postgres.c, command for command:
 * writes are idempotent by unique indexes on the natural keys (a duplicate
 * key is "already there"), ids come from vigil_ids, reads are indexed finds
 * with a limit. Retention by size is in mongo_retention.c, the accounts in
 * mongo_accounts.c, push subscriptions in mongo_push.c, the API's resources
 * (cameras, rule sets, review, event delete, storage) in
 * mongo_resources.c and their search in mongo_search.c.
 *
 * Thread: a handle is used by one thread at a time; many handles on one
 * database from many threads or processes are fine. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/mongo_int.h"
#include "store/store_retention_int.h"
#include "vigil/redact.h"

/* The sink's and `vigil run`'s upsert, as SQL's: an API camera's fields
 * are the API's (store.h, "resources"), and a switched camera's enabled
 * (and its status while disabled) too. A camera of the configuration (no
 * origin) is upserted whole; one of the API or switched makes that upsert's
 * insert a duplicate key, and a switched one then gets the rest in an
 * update filtered on its enabled. */
static vigil_err_t mg_camera_upsert(vigil_store_t *store, const vigil_camera_row_t *c)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(c->id), "origin", "{", "$nin", "[",
                              BCON_UTF8(VIGIL_CAMERA_ORIGIN_API),
                              BCON_UTF8(VIGIL_CAMERA_ORIGIN_SWITCHED), "]", "}");
    bson_t *update = BCON_NEW("$set", "{", "name", BCON_UTF8(c->name), "url", BCON_UTF8(c->url),
                              "fps", BCON_DOUBLE(c->fps), "enabled", BCON_INT32(c->enabled),
                              "status", BCON_UTF8(c->status), "last_error",
                              BCON_UTF8(c->last_error), "updated_us", BCON_INT64(c->updated_us),
                              "}");
    bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
    bson_error_t error;
    vigil_err_t err = VIGIL_OK;
    if (!mongoc_collection_update_one(vigil__mongo_coll(mg, VIGIL__MG_CAMERAS), filter, update,
                                      opts, NULL, &error))
        err = vigil__mongo_fail(mg, 0, &error, NULL, 0, "upsert camera \"%s\"", c->id);
    bson_destroy(filter);
    bson_destroy(update);
    bson_destroy(opts);
    if (err != VIGIL_ERR_EXISTS) return err;
    /* there, of the API (left alone) or switched; or two upserts raced (the
     * other's row stands) */
    err = VIGIL_OK;
    int stopped = strcmp(c->status, "starting") == 0 || strcmp(c->status, "stopped") == 0;
    for (int disabled = 0; disabled < 2 && !err; disabled++) {
        filter = BCON_NEW("_id", BCON_UTF8(c->id), "origin",
                          BCON_UTF8(VIGIL_CAMERA_ORIGIN_SWITCHED));
        if (disabled)
            BCON_APPEND(filter, "enabled", BCON_INT32(0));
        else
            BCON_APPEND(filter, "enabled", "{", "$ne", BCON_INT32(0), "}");
        update = BCON_NEW("$set", "{", "name", BCON_UTF8(c->name), "url", BCON_UTF8(c->url),
                          "fps", BCON_DOUBLE(c->fps), "status",
                          BCON_UTF8(disabled && stopped ? "stopped" : c->status), "last_error",
                          BCON_UTF8(c->last_error), "updated_us", BCON_INT64(c->updated_us),
                          "}");
        if (!mongoc_collection_update_one(vigil__mongo_coll(mg, VIGIL__MG_CAMERAS), filter,
                                          update, NULL, NULL, &error))
            err = vigil__mongo_fail(mg, 0, &error, NULL, 0, "upsert camera \"%s\"", c->id);
        bson_destroy(filter);
        bson_destroy(update);
    }
    return err;
}

static vigil_err_t mg_camera_set_status(vigil_store_t *store, const char *camera_id,
                                        const char *status, const char *last_error, int64_t now)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(camera_id));
    bson_t *update = BCON_NEW("$set", "{", "status", BCON_UTF8(status), "last_error",
                              BCON_UTF8(last_error ? last_error : ""), "updated_us",
                              BCON_INT64(now), "}");
    bson_t reply;
    bson_error_t error;
    vigil_err_t err = VIGIL_OK;
    if (!mongoc_collection_update_one(vigil__mongo_coll(mg, VIGIL__MG_CAMERAS), filter, update,
                                      NULL, &reply, &error))
        err = vigil__mongo_fail(mg, 0, &error, NULL, 0, "set status of camera \"%s\"", camera_id);
    else if (vigil__mongo_i64(&reply, "matchedCount") == 0) {
        snprintf(store->errbuf, sizeof(store->errbuf), "no camera \"%s\"", camera_id);
        err = VIGIL_ERR_NOT_FOUND;
    }
    bson_destroy(&reply);
    bson_destroy(filter);
    bson_destroy(update);
    return err;
}

/* A growable array of rows of size `size` filled by a find. */
typedef struct mg_rows {
    void *rows;
    size_t n, cap, size;
    void (*read)(const bson_t *doc, void *row);
} mg_rows_t;

static vigil_err_t mg_rows_add(void *arg, const bson_t *doc)
{
    mg_rows_t *r = arg;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        void *p = realloc(r->rows, cap * r->size);
        if (!p) return VIGIL_ERR_NOMEM;
        r->rows = p;
        r->cap = cap;
    }
    void *row = (char *)r->rows + r->n * r->size;
    memset(row, 0, r->size);
    r->read(doc, row);
    r->n++;
    return VIGIL_OK;
}

static void mg_camera_read(const bson_t *doc, void *row)
{
    vigil_camera_row_t *c = row;
    vigil__mongo_str(doc, "_id", c->id, sizeof(c->id));
    vigil__mongo_str(doc, "name", c->name, sizeof(c->name));
    vigil__mongo_str(doc, "url", c->url, sizeof(c->url));
    c->fps = vigil__mongo_dbl(doc, "fps");
    c->enabled = (int)vigil__mongo_i64(doc, "enabled");
    vigil__mongo_str(doc, "status", c->status, sizeof(c->status));
    vigil__mongo_str(doc, "last_error", c->last_error, sizeof(c->last_error));
    c->updated_us = vigil__mongo_i64(doc, "updated_us");
}

/* Runs a find into a new array; *rows NULL when there is none. */
static vigil_err_t mg_find_rows(vigil__mongo_t *mg, vigil__mongo_coll_t coll, const bson_t *filter,
                                const bson_t *opts, size_t size, void (*read)(const bson_t *, void *),
                                const char *what, void **rows, size_t *n)
{
    mg_rows_t r = {NULL, 0, 0, size, read};
    vigil_err_t err = vigil__mongo_find(mg, coll, filter, opts, mg_rows_add, &r, what, NULL, 0);
    if (err) {
        free(r.rows);
        if (err == VIGIL_ERR_NOMEM)
            snprintf(mg->base.errbuf, sizeof(mg->base.errbuf), "%s: %s: out of memory", mg->where,
                     what);
        return err;
    }
    *rows = r.rows;
    *n = r.n;
    return VIGIL_OK;
}

static vigil_err_t mg_camera_list(vigil_store_t *store, vigil_camera_row_t **rows, size_t *n)
{
    bson_t filter = BSON_INITIALIZER;
    bson_t *opts = BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}");
    vigil_err_t err = mg_find_rows(vigil__mongo(store), VIGIL__MG_CAMERAS, &filter, opts,
                                   sizeof(**rows), mg_camera_read, "list cameras", (void **)rows, n);
    bson_destroy(opts);
    return err;
}

/* ---- frames -------------------------------------------------------------- */

static void mg_frame_read(const bson_t *doc, void *row)
{
    vigil_frame_row_t *f = row;
    f->id = vigil__mongo_i64(doc, "_id");
    vigil__mongo_str(doc, "camera_id", f->camera_id, sizeof(f->camera_id));
    f->sequence = (uint64_t)vigil__mongo_i64(doc, "sequence");
    f->capture_time_us = vigil__mongo_i64(doc, "capture_time_us");
    f->width = (int)vigil__mongo_i64(doc, "width");
    f->height = (int)vigil__mongo_i64(doc, "height");
    f->size_bytes = vigil__mongo_i64(doc, "size_bytes");
    f->motion_score = (float)vigil__mongo_dbl(doc, "motion_score");
    f->keyframe = (int)vigil__mongo_i64(doc, "keyframe");
    vigil__mongo_str(doc, "path", f->path, sizeof(f->path));
    f->detection_count = vigil__mongo_i64(doc, "detection_count");
}

/* One frame by filter (the lowest id): OK, NOT_FOUND or the error. */
static vigil_err_t mg_frame_one(vigil__mongo_t *mg, bson_t *filter, vigil_frame_row_t *row)
{
    bson_t *opts = BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}", "limit", BCON_INT64(1));
    vigil_frame_row_t *rows = NULL;
    size_t n = 0;
    vigil_err_t err = mg_find_rows(mg, VIGIL__MG_FRAMES, filter, opts, sizeof(*rows),
                                   mg_frame_read, "read frame", (void **)&rows, &n);
    bson_destroy(opts);
    bson_destroy(filter);
    if (err) return err;
    if (n == 0) err = VIGIL_ERR_NOT_FOUND;
    else *row = rows[0];
    free(rows);
    return err;
}

static vigil_err_t mg_frame_lookup(vigil_store_t *store, const char *camera_id, uint64_t sequence,
                                   vigil_frame_row_t *row)
{
    return mg_frame_one(vigil__mongo(store),
                        BCON_NEW("camera_id", BCON_UTF8(camera_id), "sequence",
                                 BCON_INT64((int64_t)sequence)),
                        row);
}

static vigil_err_t mg_frame_get(vigil_store_t *store, int64_t id, vigil_frame_row_t *row)
{
    vigil_err_t err = mg_frame_one(vigil__mongo(store), BCON_NEW("_id", BCON_INT64(id)), row);
    if (err == VIGIL_ERR_NOT_FOUND)
        snprintf(store->errbuf, sizeof(store->errbuf), "no frame with id %lld", (long long)id);
    return err;
}

static vigil_err_t mg_frame_insert(vigil_store_t *store, vigil_frame_row_t *f, char *errstr,
                                   size_t errstr_size)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    int64_t id;
    vigil_err_t err = vigil__mongo_next_ids(mg, "frames", 1, &id, errstr, errstr_size);
    if (err) return err;
    bson_t *doc = BCON_NEW("_id", BCON_INT64(id), "camera_id", BCON_UTF8(f->camera_id),
                           "sequence", BCON_INT64((int64_t)f->sequence), "capture_time_us",
                           BCON_INT64(f->capture_time_us), "width", BCON_INT32(f->width),
                           "height", BCON_INT32(f->height), "size_bytes",
                           BCON_INT64(f->size_bytes), "motion_score",
                           BCON_DOUBLE(f->motion_score), "keyframe", BCON_INT32(f->keyframe ? 1 : 0),
                           "path", BCON_UTF8(f->path), "detection_count", BCON_INT64(-1));
    bson_error_t error;
    if (!mongoc_collection_insert_one(vigil__mongo_coll(mg, VIGIL__MG_FRAMES), doc, NULL, NULL,
                                      &error)) {
        err = vigil__mongo_err(&error);
        if (err != VIGIL_ERR_EXISTS)
            err = vigil__mongo_fail(mg, err, &error, errstr, errstr_size,
                                    "insert frame of camera \"%s\" sequence %llu", f->camera_id,
                                    (unsigned long long)f->sequence);
    } else {
        f->id = id;
        f->detection_count = -1;
    }
    bson_destroy(doc);
    return err;
}

static vigil_err_t mg_frames_range(vigil_store_t *store, const char *camera_id, int64_t since_us,
                                   int64_t until_us, int limit, vigil_frame_row_t **rows,
                                   size_t *n)
{
    bson_t *filter = BCON_NEW("camera_id", BCON_UTF8(camera_id), "capture_time_us", "{", "$gte",
                              BCON_INT64(since_us), "$lt", BCON_INT64(until_us), "}");
    bson_t *opts = BCON_NEW("sort", "{", "capture_time_us", BCON_INT32(1), "_id", BCON_INT32(1),
                            "}", "limit", BCON_INT64(limit));
    vigil_err_t err = mg_find_rows(vigil__mongo(store), VIGIL__MG_FRAMES, filter, opts,
                                   sizeof(**rows), mg_frame_read, "read frames range",
                                   (void **)rows, n);
    bson_destroy(filter);
    bson_destroy(opts);
    return err;
}

static vigil_err_t mg_frames_unprocessed(vigil_store_t *store, int64_t after_id, int limit,
                                         vigil_frame_row_t **rows, size_t *n)
{
    bson_t *filter = BCON_NEW("detection_count", BCON_INT64(-1), "_id", "{", "$gt",
                              BCON_INT64(after_id), "}");
    bson_t *opts = BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}", "limit", BCON_INT64(limit));
    vigil_err_t err = mg_find_rows(vigil__mongo(store), VIGIL__MG_FRAMES, filter, opts,
                                   sizeof(**rows), mg_frame_read, "read unprocessed frames",
                                   (void **)rows, n);
    bson_destroy(filter);
    bson_destroy(opts);
    return err;
}

/* ---- events, counts ------------------------------------------------------ */

static vigil_err_t mg_event_put(vigil_store_t *store, const vigil_event_row_t *e)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    int64_t id;
    vigil_err_t err = vigil__mongo_next_ids(mg, "events", 1, &id, NULL, 0);
    if (err) return err;
    bson_t *doc = BCON_NEW("_id", BCON_INT64(id), "camera_id", BCON_UTF8(e->camera_id), "type",
                           BCON_UTF8(e->type), "time_us", BCON_INT64(e->time_us), "sequence",
                           BCON_INT64((int64_t)e->sequence), "message", BCON_UTF8(e->message));
    if (e->payload_json) BSON_APPEND_UTF8(doc, "payload_json", e->payload_json);
    bson_error_t error;
    if (!mongoc_collection_insert_one(vigil__mongo_coll(mg, VIGIL__MG_EVENTS), doc, NULL, NULL,
                                      &error))
        err = vigil__mongo_fail(mg, 0, &error, NULL, 0, "insert event of camera \"%s\"",
                                e->camera_id);
    bson_destroy(doc);
    return err;
}

static vigil_err_t mg_count(vigil__mongo_t *mg, vigil__mongo_coll_t coll, const bson_t *filter,
                            int64_t *out, const char *what)
{
    bson_error_t error;
    int64_t n = mongoc_collection_count_documents(vigil__mongo_coll(mg, coll), filter, NULL, NULL,
                                                  NULL, &error);
    if (n < 0) return vigil__mongo_fail(mg, 0, &error, NULL, 0, "count %s", what);
    *out = n;
    return VIGIL_OK;
}

/* Exact counts, one count per collection; the frames' bytes by a $group
 * with one accumulator. */
static vigil_err_t mg_counts(vigil_store_t *store, const char *camera_id,
                             vigil_store_counts_t *counts)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    bson_t *by_id = camera_id ? BCON_NEW("_id", BCON_UTF8(camera_id)) : bson_new();
    bson_t *by_cam = camera_id ? BCON_NEW("camera_id", BCON_UTF8(camera_id)) : bson_new();
    vigil_err_t err = mg_count(mg, VIGIL__MG_CAMERAS, by_id, &counts->cameras, "cameras");
    if (!err) err = mg_count(mg, VIGIL__MG_FRAMES, by_cam, &counts->frames, "frames");
    if (!err) err = mg_count(mg, VIGIL__MG_DETECTIONS, by_cam, &counts->detections, "detections");
    if (!err) err = mg_count(mg, VIGIL__MG_EVENTS, by_cam, &counts->events, "events");
    if (!err) {
        bson_t *pipeline = BCON_NEW("pipeline", "[", "{", "$match", BCON_DOCUMENT(by_cam), "}", "{",
                                    "$group", "{", "_id", BCON_NULL, "s", "{", "$sum",
                                    BCON_UTF8("$size_bytes"), "}", "}", "}", "]");
        mongoc_cursor_t *cur = mongoc_collection_aggregate(
            vigil__mongo_coll(mg, VIGIL__MG_FRAMES), MONGOC_QUERY_NONE, pipeline, NULL, NULL);
        const bson_t *doc;
        counts->frame_bytes = 0;
        if (mongoc_cursor_next(cur, &doc)) counts->frame_bytes = vigil__mongo_i64(doc, "s");
        bson_error_t error;
        if (mongoc_cursor_error(cur, &error))
            err = vigil__mongo_fail(mg, 0, &error, NULL, 0, "sum frame bytes");
        mongoc_cursor_destroy(cur);
        bson_destroy(pipeline);
    }
    bson_destroy(by_id);
    bson_destroy(by_cam);
    return err;
}

/* ---- sweeps -------------------------------------------------------------- */

/* The _id values (and, for frames, the paths) of a sweep's batch. */
typedef struct mg_batch {
    bson_value_t *ids;
    char **paths;
    vigil__swept_event_t *events;
    size_t n, cap;
} mg_batch_t;

static vigil_err_t mg_batch_add(void *arg, const bson_t *doc)
{
    mg_batch_t *b = arg;
    bson_iter_t it;
    if (b->n == b->cap || !bson_iter_init_find(&it, doc, "_id")) return VIGIL_ERR_STORE;
    bson_value_copy(bson_iter_value(&it), &b->ids[b->n]);
    if (b->paths) {
        char path[512];
        vigil__mongo_str(doc, "path", path, sizeof(path));
        if (!(b->paths[b->n] = strdup(path))) {
            bson_value_destroy(&b->ids[b->n]);
            return VIGIL_ERR_NOMEM;
        }
    }
    if (b->events) {
        vigil__mongo_str(doc, "camera_id", b->events[b->n].camera_id,
                         sizeof(b->events[b->n].camera_id));
        b->events[b->n].id = vigil__mongo_i64(doc, "_id");
    }
    b->n++;
    return VIGIL_OK;
}

static void mg_batch_release(mg_batch_t *b)
{
    for (size_t i = 0; i < b->n; i++) bson_value_destroy(&b->ids[i]);
    free(b->ids);
}

/* Finds up to limit documents of filter (sorted by sort, may be NULL) and
 * deletes them by _id. b->paths / b->events, when set, get what they held. */
static vigil_err_t mg_sweep(vigil__mongo_t *mg, vigil__mongo_coll_t coll, const bson_t *filter,
                            const bson_t *sort, size_t limit, mg_batch_t *b, int64_t *deleted,
                            const char *what)
{
    b->cap = limit;
    b->n = 0;
    if (!(b->ids = calloc(limit ? limit : 1, sizeof(*b->ids)))) return VIGIL_ERR_NOMEM;
    bson_t *opts = BCON_NEW("limit", BCON_INT64((int64_t)limit));
    if (sort) BSON_APPEND_DOCUMENT(opts, "sort", sort);
    vigil_err_t err = vigil__mongo_find(mg, coll, filter, opts, mg_batch_add, b, what, NULL, 0);
    bson_destroy(opts);
    if (!err) err = vigil__mongo_delete_ids(mg, coll, b->ids, b->n, deleted, what);
    return err;
}

static vigil_err_t mg_sweep_frames(vigil_store_t *store, const char *camera_id, int64_t before_us,
                                   size_t limit, char ***paths_out, size_t *n_out)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    *paths_out = NULL;
    *n_out = 0;
    bson_t *filter = BCON_NEW("capture_time_us", "{", "$lt", BCON_INT64(before_us), "}");
    if (camera_id) BSON_APPEND_UTF8(filter, "camera_id", camera_id);
    bson_t *sort = BCON_NEW("capture_time_us", BCON_INT32(1), "_id", BCON_INT32(1));
    mg_batch_t b = {0};
    b.paths = calloc(limit ? limit : 1, sizeof(*b.paths));
    int64_t deleted = 0;
    vigil_err_t err = b.paths ? mg_sweep(mg, VIGIL__MG_FRAMES, filter, sort, limit, &b, &deleted,
                                         "sweep frames")
                              : VIGIL_ERR_NOMEM;
    bson_destroy(filter);
    bson_destroy(sort);
    mg_batch_release(&b);
    if (err) {
        if (b.paths) vigil__store_paths_free(b.paths, b.n);
        return err;
    }
    /* a row another handle deleted meanwhile: its file went with that sweep;
     * the files of these rows are removed (missing ones are fine) */
    *paths_out = b.paths;
    *n_out = b.n;
    return VIGIL_OK;
}

static const struct {
    vigil__mongo_coll_t coll;
    const char *time, *what;
} mg_sweeps[] = {
    [VIGIL__SWEEP_DETECTIONS] = {VIGIL__MG_DETECTIONS, "capture_time_us", "sweep detections"},
    [VIGIL__SWEEP_EVENTS] = {VIGIL__MG_EVENTS, "time_us", "sweep events"},
    [VIGIL__SWEEP_TRACK_POINTS] = {VIGIL__MG_TRACK_POINTS, "time_us", "sweep track points"},
    [VIGIL__SWEEP_COUNTS] = {VIGIL__MG_AN_COUNTS, "minute_us", "sweep analytics counts"},
};

static vigil_err_t mg_sweep_rows(vigil_store_t *store, vigil__sweep_table_t table,
                                 const char *camera_id, int64_t before_us, size_t limit,
                                 int64_t *deleted)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    *deleted = 0;
    int64_t bound = before_us;
    if (table == VIGIL__SWEEP_COUNTS) {
        if (before_us < INT64_MIN + VIGIL__STORE_MINUTE_US) return VIGIL_OK;
        bound = before_us - VIGIL__STORE_MINUTE_US + 1;
    }
    bson_t *filter = BCON_NEW(mg_sweeps[table].time, "{", "$lt", BCON_INT64(bound), "}");
    if (camera_id) BSON_APPEND_UTF8(filter, "camera_id", camera_id);
    mg_batch_t b = {0};
    vigil_err_t err = mg_sweep(mg, mg_sweeps[table].coll, filter, NULL, limit, &b, deleted,
                               mg_sweeps[table].what);
    bson_destroy(filter);
    mg_batch_release(&b);
    return err;
}

vigil_err_t vigil__mongo_sweep_analytics_events(vigil_store_t *store, const char *camera_id,
                                                int64_t before_us, size_t limit,
                                                vigil__swept_event_t **events_out, size_t *n_out)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    *events_out = NULL;
    *n_out = 0;
    bson_t *filter = BCON_NEW("open", BCON_INT32(0), "end_us", "{", "$lt", BCON_INT64(before_us),
                              "}");
    if (camera_id) BSON_APPEND_UTF8(filter, "camera_id", camera_id);
    mg_batch_t b = {0};
    b.events = calloc(limit ? limit : 1, sizeof(*b.events));
    int64_t deleted = 0;
    vigil_err_t err = b.events ? mg_sweep(mg, VIGIL__MG_AN_EVENTS, filter, NULL, limit, &b,
                                          &deleted, "sweep analytics events")
                               : VIGIL_ERR_NOMEM;
    bson_destroy(filter);
    mg_batch_release(&b);
    if (err) {
        free(b.events);
        return err;
    }
    *events_out = b.events;
    *n_out = b.n;
    return VIGIL_OK;
}

/* ---- handle -------------------------------------------------------------- */

static void mg_close(vigil_store_t *store)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    for (int i = 0; i < VIGIL__MG_COLL_COUNT_; i++)
        if (mg->colls[i]) mongoc_collection_destroy(mg->colls[i]);
    if (mg->client) mongoc_client_destroy(mg->client);
    vigil__store_base_release(store);
    free(mg);
}

static const vigil_store_ops_t mg_ops = {
    .name = "mongo",
    .close = mg_close,
    .migrate = vigil__mongo_migrate,
    .schema_version = vigil__mongo_schema_version,
    .camera_upsert = mg_camera_upsert,
    .camera_set_status = mg_camera_set_status,
    .camera_list = mg_camera_list,
    .frame_lookup = mg_frame_lookup,
    .frame_insert = mg_frame_insert,
    .frame_get = mg_frame_get,
    .detections_put = vigil__mongo_detections_put,
    .results_put = vigil__mongo_results_put,
    .frames_unprocessed = mg_frames_unprocessed,
    .detections_query = vigil__mongo_detections_query,
    .event_put = mg_event_put,
    .counts = mg_counts,
    .sweep_frames = mg_sweep_frames,
    .sweep_rows = mg_sweep_rows,
    .sweep_analytics_events = vigil__mongo_sweep_analytics_events,
    .analytics_commit = vigil__mongo_analytics_commit,
    .analytics_state_get = vigil__mongo_analytics_state_get,
    .analytics_max_track_id = vigil__mongo_analytics_max_track_id,
    .analytics_events_query = vigil__mongo_analytics_events_query,
    .analytics_event_get = vigil__mongo_analytics_event_get,
    .counts_query = vigil__mongo_counts_query,
    .track_points = vigil__mongo_track_points,
    .frames_range = mg_frames_range,
    .accounts = &vigil__mongo_accounts_ops, /* mongo_accounts.c */
    .resources = &vigil__mongo_resources_ops, /* mongo_resources.c */
    .push = &vigil__mongo_push_ops, /* mongo_push.c */
    .retention = &vigil__mongo_retention_ops, /* mongo_retention.c */
    .wal = NULL,
};

static pthread_once_t mg_init_once = PTHREAD_ONCE_INIT;

static void mg_init(void)
{
    mongoc_init();
    mongoc_log_set_handler(NULL, NULL); /* the driver's own log lines (endSessions) */
}

vigil_store_t *vigil__mongo_open(const vigil_store_conf_t *conf, const char *url, char *errstr,
                                 size_t errstr_size)
{
    pthread_once(&mg_init_once, mg_init);
    char shown[256];
    vigil_url_redact(url, shown, sizeof(shown));
    vigil__mongo_t *mg = calloc(1, sizeof(*mg));
    if (!mg || vigil__store_base_init(&mg->base, &mg_ops, conf->data_dir && *conf->data_dir
                                                              ? conf->data_dir
                                                              : "./data") != 0) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "out of memory opening %s", shown);
        free(mg);
        return NULL;
    }
    if (vigil__mkdirs(mg->base.data_dir, 0755) != 0) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "cannot create data dir %s: %s",
                     mg->base.data_dir, strerror(errno));
        goto fail;
    }
    if (vigil__mongo_connect(mg, url, errstr, errstr_size) != VIGIL_OK) goto fail;
    int v = vigil__mongo_read_version(mg, errstr, errstr_size);
    if (v < 0) goto fail;
    mg->base.found_version = v;
    if (conf->migrate) {
        if (vigil__mongo_migrate(&mg->base, NULL, NULL, errstr, errstr_size) != VIGIL_OK)
            goto fail;
    } else if (v != VIGIL__STORE_SCHEMA_VERSION) {
        char msg[256];
        vigil_err_t err = vigil__store_version_error(v, msg, sizeof(msg));
        vigil__mongo_fail(mg, err, NULL, errstr, errstr_size, "%s", msg);
        goto fail;
    }
    return &mg->base;
fail:
    mg_close(&mg->base);
    return NULL;
}
