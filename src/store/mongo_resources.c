/* The API's resources on MongoDB (store.h, "resources"; the same rows as
 * sqlite_resources.c and postgres_resources.c): cameras the API manages
 * (fields origin, removed, source_url, retention_hours, created_us on the
 * cameras documents), rule sets with versions (collection camera_rules),
 * event review and deletion, storage per camera. The search is in
 * mongo_search.c.
 *
 * Main idea: no multi-document transactions (FerretDB has none), so each
 * write that must see what is there reads it, asks store_resources.c
 * whether it may go on (the same words as SQL), and then decides the race
 * with one single-document write whose guard is a unique key or its filter:
 *   - a camera create is an insert that the unique _id refuses when a
 *     racing create (or the sink) wrote the camera first; re-creating a
 *     removed camera is an update filtered on {removed: 1};
 *   - a replace or remove is an update filtered on {origin: "api",
 *     removed: 0}; a switch an upsert filtered on {origin: {$ne: "api"}}
 *     (an API camera there makes the upsert's insert a duplicate key);
 *   - a rule set version is a document of its own (_id "CAMERA/VERSION",
 *     20 digits): a write of version N + 1 is an insert, so of two writers
 *     who read version N one gets a duplicate key and reads again; older
 *     versions are deleted after (the newest is the one read). Not a
 *     filtered $inc: FerretDB 1.24 applies those as read-modify-write
 *     without a lock (mongo_conn.c, ids);
 *   - a review is one update_many over the ids, an event delete a
 *     delete_one filtered on {open: 0}.
 * Lost races are re-read and checked again, so their errors read as SQL's.
 *
 * What is weaker than SQL (docs/warehouse.md): the count of API cameras
 * and the create it guards are two commands (racing creates may pass the
 * cap by a few); a remove marks the camera and then deletes its rule sets
 * (a failure in between leaves a rule set that a re-create deletes); two
 * re-creates of one removed camera racing on FerretDB may both succeed
 * (the later's fields stand).
 *
 * Thread: the handle's thread. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/mongo_int.h"
#include "store/store_resources_int.h"

/* Most tries of a write that lost its race to another replica. */
#define MGR_RACES_MAX 100

/* ---- rows ---------------------------------------------------------------- */

static void mgr_camera_read(const bson_t *doc, vigil_camera_record_t *rec, int with_secret)
{
    memset(rec, 0, sizeof(*rec));
    vigil_camera_row_t *c = &rec->row;
    vigil__mongo_str(doc, "_id", c->id, sizeof(c->id));
    vigil__mongo_str(doc, "name", c->name, sizeof(c->name));
    vigil__mongo_str(doc, "url", c->url, sizeof(c->url));
    c->fps = vigil__mongo_dbl(doc, "fps");
    c->enabled = (int)vigil__mongo_i64(doc, "enabled");
    vigil__mongo_str(doc, "status", c->status, sizeof(c->status));
    vigil__mongo_str(doc, "last_error", c->last_error, sizeof(c->last_error));
    c->updated_us = vigil__mongo_i64(doc, "updated_us");
    vigil__mongo_str(doc, "origin", rec->origin, sizeof(rec->origin));
    bson_iter_t it;
    /* a camera written before the resources (no field): the store's */
    rec->retention_hours =
        bson_iter_init_find(&it, doc, "retention_hours") ? vigil__mongo_dbl(doc, "retention_hours")
                                                         : -1;
    rec->created_us = vigil__mongo_i64(doc, "created_us");
    if (with_secret) vigil__mongo_str(doc, "source_url", rec->source_url, sizeof(rec->source_url));
}

/* A growing array of camera records filled by a find. */
typedef struct mgr_cameras {
    vigil_camera_record_t *rows;
    size_t n, cap, max;
    int with_secret, more;
} mgr_cameras_t;

static vigil_err_t mgr_camera_add(void *arg, const bson_t *doc)
{
    mgr_cameras_t *r = arg;
    if (r->n == r->max) {
        r->more = 1;
        return VIGIL_OK;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        void *p = realloc(r->rows, cap * sizeof(*r->rows));
        if (!p) return VIGIL_ERR_NOMEM;
        r->rows = p;
        r->cap = cap;
    }
    mgr_camera_read(doc, &r->rows[r->n++], r->with_secret);
    return VIGIL_OK;
}

/* Runs a camera find into *rows (NULL when none). */
static vigil_err_t mgr_cameras_find(vigil__mongo_t *mg, const bson_t *filter, int64_t limit,
                                    size_t max, int with_secret, vigil_camera_record_t **rows,
                                    size_t *n, int *more, const char *what, char *errstr,
                                    size_t errstr_size)
{
    mgr_cameras_t r = {NULL, 0, 0, max, with_secret, 0};
    bson_t *opts = BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}", "limit", BCON_INT64(limit));
    vigil_err_t err = vigil__mongo_find(mg, VIGIL__MG_CAMERAS, filter, opts, mgr_camera_add, &r,
                                        what, errstr, errstr_size);
    bson_destroy(opts);
    if (err) {
        free(r.rows);
        if (err == VIGIL_ERR_NOMEM)
            vigil_seterr(errstr, errstr_size, err, "%s: out of memory", what);
        return err;
    }
    *rows = r.rows;
    *n = r.n;
    if (more) *more = r.more;
    return VIGIL_OK;
}

/* Reads one document of coll by filter into *doc (bson_copy, destroy it);
 * *found 0 when none. */
static vigil_err_t mgr_find_one(vigil__mongo_t *mg, vigil__mongo_coll_t coll, const bson_t *filter,
                                const bson_t *sort, bson_t **doc, const char *what, char *errstr,
                                size_t errstr_size)
{
    bson_t *opts = BCON_NEW("limit", BCON_INT64(1));
    if (sort) BSON_APPEND_DOCUMENT(opts, "sort", sort);
    mongoc_cursor_t *cur =
        mongoc_collection_find_with_opts(vigil__mongo_coll(mg, coll), filter, opts, NULL);
    const bson_t *d;
    vigil_err_t err = VIGIL_OK;
    *doc = NULL;
    if (mongoc_cursor_next(cur, &d) && !(*doc = bson_copy(d)))
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "%s: out of memory", what);
    bson_error_t error;
    if (!err && mongoc_cursor_error(cur, &error)) {
        err = vigil__mongo_fail(mg, 0, &error, errstr, errstr_size, "%s", what);
        bson_destroy(*doc);
        *doc = NULL;
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    return err;
}

/* ---- cameras ------------------------------------------------------------- */

static vigil_err_t mgr_camera_records(vigil_store_t *store, const char *after_id, int limit,
                                      vigil_camera_record_t **rows, size_t *n, int *more,
                                      char *errstr, size_t errstr_size)
{
    /* a camera of the configuration or the bus has no "removed" */
    bson_t *filter = BCON_NEW("removed", "{", "$ne", BCON_INT32(1), "}");
    if (after_id) BCON_APPEND(filter, "_id", "{", "$gt", BCON_UTF8(after_id), "}");
    vigil_err_t err = mgr_cameras_find(vigil__mongo(store), filter, (int64_t)limit + 1,
                                       (size_t)limit, 0, rows, n, more, "list cameras", errstr,
                                       errstr_size);
    bson_destroy(filter);
    return err;
}

static vigil_err_t mgr_camera_get(vigil_store_t *store, const char *id, int with_secret,
                                  vigil_camera_record_t *rec, char *errstr, size_t errstr_size)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(id), "removed", "{", "$ne", BCON_INT32(1), "}");
    bson_t *doc;
    vigil_err_t err =
        mgr_find_one(mg, VIGIL__MG_CAMERAS, filter, NULL, &doc, "read camera", errstr, errstr_size);
    bson_destroy(filter);
    if (err) return err;
    if (!doc) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND, "no camera \"%s\"", id);
    mgr_camera_read(doc, rec, with_secret);
    bson_destroy(doc);
    return VIGIL_OK;
}

/* What the warehouse holds of camera id (cs zeroed first). */
static vigil_err_t mgr_camera_state(vigil__mongo_t *mg, const char *id, vigil__camera_state_t *cs,
                                    char *errstr, size_t errstr_size)
{
    memset(cs, 0, sizeof(*cs));
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(id));
    bson_t *doc;
    vigil_err_t err =
        mgr_find_one(mg, VIGIL__MG_CAMERAS, filter, NULL, &doc, "read camera", errstr, errstr_size);
    bson_destroy(filter);
    if (err || !doc) return err;
    cs->found = 1;
    cs->removed = vigil__mongo_i64(doc, "removed") != 0;
    vigil__mongo_str(doc, "origin", cs->origin, sizeof(cs->origin));
    bson_destroy(doc);
    return VIGIL_OK;
}

/* Reads the camera's state and asks store_resources.c whether write may go
 * on (a create also counts the API's cameras). */
static vigil_err_t mgr_camera_check(vigil__mongo_t *mg, vigil__camera_write_t write,
                                    const char *id, vigil__camera_state_t *cs, char *errstr,
                                    size_t errstr_size)
{
    vigil_err_t err = mgr_camera_state(mg, id, cs, errstr, errstr_size);
    if (!err) err = vigil__store_camera_write_check(write, id, cs, errstr, errstr_size);
    if (!err && write == VIGIL__CAMERA_CREATE) {
        bson_t *filter = BCON_NEW("origin", BCON_UTF8(VIGIL_CAMERA_ORIGIN_API), "removed",
                                  BCON_INT32(0));
        bson_error_t error;
        int64_t count = mongoc_collection_count_documents(vigil__mongo_coll(mg, VIGIL__MG_CAMERAS),
                                                          filter, NULL, NULL, NULL, &error);
        bson_destroy(filter);
        if (count < 0)
            err = vigil__mongo_fail(mg, 0, &error, errstr, errstr_size, "count cameras");
        else
            err = vigil__store_camera_count_check(count, errstr, errstr_size);
    }
    return err;
}

/* Runs update_one(filter, update, opts); *matched gets matchedCount (an
 * upsert's insert counts as a match). */
static vigil_err_t mgr_update(vigil__mongo_t *mg, vigil__mongo_coll_t coll, const bson_t *filter,
                              const bson_t *update, const bson_t *opts, int64_t *matched,
                              const char *what, char *errstr, size_t errstr_size)
{
    bson_t reply;
    bson_error_t error;
    vigil_err_t err = VIGIL_OK;
    if (!mongoc_collection_update_one(vigil__mongo_coll(mg, coll), filter, update, opts, &reply,
                                      &error)) {
        err = vigil__mongo_err(&error);
        if (err != VIGIL_ERR_EXISTS)
            err = vigil__mongo_fail(mg, err, &error, errstr, errstr_size, "%s", what);
    } else {
        *matched = vigil__mongo_i64(&reply, "matchedCount") +
                   vigil__mongo_i64(&reply, "upsertedCount");
    }
    bson_destroy(&reply);
    return err;
}

/* Deletes every rule set version of camera id. */
static vigil_err_t mgr_rules_delete(vigil__mongo_t *mg, const char *id, char *errstr,
                                    size_t errstr_size)
{
    bson_t *filter = BCON_NEW("camera_id", BCON_UTF8(id));
    bson_error_t error;
    vigil_err_t err = VIGIL_OK;
    if (!mongoc_collection_delete_many(vigil__mongo_coll(mg, VIGIL__MG_RULES), filter, NULL, NULL,
                                       &error))
        err = vigil__mongo_fail(mg, 0, &error, errstr, errstr_size,
                                "delete rule set of camera \"%s\"", id);
    bson_destroy(filter);
    return err;
}

/* The fields an API write sets ($set). */
static bson_t *mgr_camera_fields(const vigil_camera_record_t *rec, int64_t now_us)
{
    const vigil_camera_row_t *c = &rec->row;
    return BCON_NEW("name", BCON_UTF8(c->name), "url", BCON_UTF8(c->url), "fps",
                    BCON_DOUBLE(c->fps), "enabled", BCON_INT32(c->enabled != 0), "status",
                    BCON_UTF8(c->status), "last_error", BCON_UTF8(c->last_error), "updated_us",
                    BCON_INT64(now_us), "source_url", BCON_UTF8(rec->source_url),
                    "retention_hours",
                    BCON_DOUBLE(rec->retention_hours < 0 ? -1 : rec->retention_hours));
}

/* One try of a create: OK, or EXISTS when the camera was written by another
 * since it was read (the caller checks again). */
static vigil_err_t mgr_camera_create_once(vigil__mongo_t *mg, const vigil_camera_record_t *rec,
                                          const vigil__camera_state_t *cs, int64_t now_us,
                                          char *errstr, size_t errstr_size)
{
    const char *id = rec->row.id;
    vigil_err_t err = VIGIL_OK;
    bson_t *fields = mgr_camera_fields(rec, now_us);
    BCON_APPEND(fields, "origin", BCON_UTF8(VIGIL_CAMERA_ORIGIN_API), "removed", BCON_INT32(0),
                "created_us", BCON_INT64(now_us));
    if (!cs->found) {
        bson_t *doc = BCON_NEW("_id", BCON_UTF8(id));
        bson_concat(doc, fields);
        bson_error_t error;
        if (!mongoc_collection_insert_one(vigil__mongo_coll(mg, VIGIL__MG_CAMERAS), doc, NULL, NULL,
                                          &error)) {
            err = vigil__mongo_err(&error);
            if (err != VIGIL_ERR_EXISTS)
                err = vigil__mongo_fail(mg, err, &error, errstr, errstr_size,
                                        "write camera \"%s\"", id);
        }
        bson_destroy(doc);
    } else {
        /* a removed API camera made again: its old rule sets (a remove that
         * failed half-way) go first */
        int64_t matched = 0;
        err = mgr_rules_delete(mg, id, errstr, errstr_size);
        bson_t *filter = BCON_NEW("_id", BCON_UTF8(id), "removed", BCON_INT32(1));
        bson_t *update = BCON_NEW("$set", BCON_DOCUMENT(fields));
        if (!err)
            err = mgr_update(mg, VIGIL__MG_CAMERAS, filter, update, NULL, &matched,
                             "write camera", errstr, errstr_size);
        if (!err && matched == 0) err = VIGIL_ERR_EXISTS;
        bson_destroy(filter);
        bson_destroy(update);
    }
    bson_destroy(fields);
    return err;
}

static vigil_err_t mgr_camera_put(vigil_store_t *store, const vigil_camera_record_t *rec,
                                  int create, int64_t now_us, char *errstr, size_t errstr_size)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    const char *id = rec->row.id;
    vigil__camera_write_t write = create ? VIGIL__CAMERA_CREATE : VIGIL__CAMERA_REPLACE;
    for (int attempt = 0; attempt < MGR_RACES_MAX; attempt++) {
        vigil__camera_state_t cs;
        vigil_err_t err = mgr_camera_check(mg, write, id, &cs, errstr, errstr_size);
        if (err) return err;
        if (create) {
            err = mgr_camera_create_once(mg, rec, &cs, now_us, errstr, errstr_size);
        } else {
            int64_t matched = 0;
            bson_t *fields = mgr_camera_fields(rec, now_us);
            bson_t *filter = BCON_NEW("_id", BCON_UTF8(id), "origin",
                                      BCON_UTF8(VIGIL_CAMERA_ORIGIN_API), "removed", BCON_INT32(0));
            bson_t *update = BCON_NEW("$set", BCON_DOCUMENT(fields));
            err = mgr_update(mg, VIGIL__MG_CAMERAS, filter, update, NULL, &matched, "write camera",
                             errstr, errstr_size);
            if (!err && matched == 0) err = VIGIL_ERR_EXISTS;
            bson_destroy(fields);
            bson_destroy(filter);
            bson_destroy(update);
        }
        if (err != VIGIL_ERR_EXISTS) return err;
        /* the camera changed since it was read: check again */
    }
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_AGAIN,
                        "write camera \"%s\": %d races lost", id, MGR_RACES_MAX);
}

static vigil_err_t mgr_camera_remove(vigil_store_t *store, const char *id, int64_t now_us,
                                     char *errstr, size_t errstr_size)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    for (int attempt = 0; attempt < MGR_RACES_MAX; attempt++) {
        vigil__camera_state_t cs;
        vigil_err_t err = mgr_camera_check(mg, VIGIL__CAMERA_REMOVE, id, &cs, errstr, errstr_size);
        if (err) return err;
        int64_t matched = 0;
        /* the credentials go with the camera */
        bson_t *filter = BCON_NEW("_id", BCON_UTF8(id), "origin",
                                  BCON_UTF8(VIGIL_CAMERA_ORIGIN_API), "removed", BCON_INT32(0));
        bson_t *update = BCON_NEW("$set", "{", "removed", BCON_INT32(1), "source_url",
                                  BCON_UTF8(""), "status", BCON_UTF8("removed"), "last_error",
                                  BCON_UTF8(""), "updated_us", BCON_INT64(now_us), "}");
        err = mgr_update(mg, VIGIL__MG_CAMERAS, filter, update, NULL, &matched, "remove camera",
                         errstr, errstr_size);
        bson_destroy(filter);
        bson_destroy(update);
        if (err == VIGIL_ERR_EXISTS || (!err && matched == 0)) continue; /* changed: again */
        if (err) return err;
        return mgr_rules_delete(mg, id, errstr, errstr_size);
    }
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_AGAIN,
                        "remove camera \"%s\": %d races lost", id, MGR_RACES_MAX);
}

static vigil_err_t mgr_camera_switch(vigil_store_t *store, const vigil_camera_row_t *c,
                                     int64_t now_us, char *errstr, size_t errstr_size)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    for (int attempt = 0; attempt < MGR_RACES_MAX; attempt++) {
        vigil__camera_state_t cs;
        vigil_err_t err = mgr_camera_check(mg, VIGIL__CAMERA_SWITCH, c->id, &cs, errstr,
                                           errstr_size);
        if (err) return err;
        /* a configuration camera: only enabled and its status change hands;
         * one without a document yet gets one from c. An API camera written
         * meanwhile makes the upsert's insert a duplicate key. */
        int64_t matched = 0;
        bson_t *filter = BCON_NEW("_id", BCON_UTF8(c->id), "origin", "{", "$ne",
                                  BCON_UTF8(VIGIL_CAMERA_ORIGIN_API), "}");
        bson_t *update = BCON_NEW(
            "$set", "{", "enabled", BCON_INT32(c->enabled != 0), "status", BCON_UTF8(c->status),
            "last_error", BCON_UTF8(c->last_error), "updated_us", BCON_INT64(now_us), "origin",
            BCON_UTF8(VIGIL_CAMERA_ORIGIN_SWITCHED), "}", "$setOnInsert", "{", "name",
            BCON_UTF8(c->name[0] ? c->name : c->id), "url", BCON_UTF8(c->url), "fps",
            BCON_DOUBLE(c->fps), "}");
        bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
        err = mgr_update(mg, VIGIL__MG_CAMERAS, filter, update, opts, &matched, "switch camera",
                         errstr, errstr_size);
        bson_destroy(filter);
        bson_destroy(update);
        bson_destroy(opts);
        if (err != VIGIL_ERR_EXISTS) return err;
    }
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_AGAIN,
                        "switch camera \"%s\": %d races lost", c->id, MGR_RACES_MAX);
}

static vigil_err_t mgr_camera_list_api(vigil_store_t *store, vigil_camera_record_t **rows,
                                       size_t *n, char *errstr, size_t errstr_size)
{
    bson_t *filter = BCON_NEW("origin", BCON_UTF8(VIGIL_CAMERA_ORIGIN_API), "removed",
                              BCON_INT32(0));
    vigil_err_t err = mgr_cameras_find(vigil__mongo(store), filter, VIGIL__STORE_API_ROWS_MAX,
                                       VIGIL__STORE_API_ROWS_MAX, 1, rows, n, NULL,
                                       "list API cameras", errstr, errstr_size);
    bson_destroy(filter);
    return err;
}

/* ---- rule sets ------------------------------------------------------------ */

/* Reads a rule set document (json malloc'd); 0 or -1 when out of memory. */
static int mgr_rules_read(const bson_t *doc, vigil_rules_row_t *row)
{
    memset(row, 0, sizeof(*row));
    vigil__mongo_str(doc, "camera_id", row->camera_id, sizeof(row->camera_id));
    row->version = vigil__mongo_i64(doc, "version");
    row->updated_us = vigil__mongo_i64(doc, "updated_us");
    vigil__mongo_str(doc, "updated_by", row->updated_by, sizeof(row->updated_by));
    bson_iter_t it;
    const char *json = "";
    uint32_t len = 0;
    if (bson_iter_init_find(&it, doc, "rules_json") && BSON_ITER_HOLDS_UTF8(&it))
        json = bson_iter_utf8(&it, &len);
    row->json = strndup(json, len);
    return row->json ? 0 : -1;
}

/* The newest version of camera_id's rule set into *doc (NULL when none). */
static vigil_err_t mgr_rules_newest(vigil__mongo_t *mg, const char *camera_id, bson_t **doc,
                                    const char *what, char *errstr, size_t errstr_size)
{
    bson_t *filter = BCON_NEW("camera_id", BCON_UTF8(camera_id));
    bson_t *sort = BCON_NEW("version", BCON_INT32(-1));
    vigil_err_t err =
        mgr_find_one(mg, VIGIL__MG_RULES, filter, sort, doc, what, errstr, errstr_size);
    bson_destroy(filter);
    bson_destroy(sort);
    return err;
}

static vigil_err_t mgr_rules_get(vigil_store_t *store, const char *camera_id,
                                 vigil_rules_row_t *row, char *errstr, size_t errstr_size)
{
    bson_t *doc;
    vigil_err_t err = mgr_rules_newest(vigil__mongo(store), camera_id, &doc, "read rule set",
                                       errstr, errstr_size);
    if (err) return err;
    if (!doc) return vigil__store_rules_missing(camera_id, errstr, errstr_size);
    if (mgr_rules_read(doc, row) != 0)
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "read rule set: out of memory");
    bson_destroy(doc);
    return err;
}

static vigil_err_t mgr_rules_put(vigil_store_t *store, const char *camera_id, const char *json,
                                 int64_t *version, int64_t now_us, const char *by, char *errstr,
                                 size_t errstr_size)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    for (int attempt = 0; attempt < MGR_RACES_MAX; attempt++) {
        bson_t *doc;
        vigil_err_t err =
            mgr_rules_newest(mg, camera_id, &doc, "read rule set version", errstr, errstr_size);
        if (err) return err;
        int64_t current = doc ? vigil__mongo_i64(doc, "version") : 0;
        bson_destroy(doc);
        if ((err = vigil__store_rules_version_check(camera_id, current, version, errstr,
                                                    errstr_size)))
            return err;
        /* version current + 1 is a document of its own: of two writers who
         * read current, the unique _id lets one in */
        char key[128];
        snprintf(key, sizeof(key), "%s/%020" PRId64, camera_id, current + 1);
        bson_t *ins = BCON_NEW("_id", BCON_UTF8(key), "camera_id", BCON_UTF8(camera_id), "version",
                               BCON_INT64(current + 1), "rules_json", BCON_UTF8(json),
                               "updated_us", BCON_INT64(now_us), "updated_by", BCON_UTF8(by));
        bson_error_t error;
        if (!mongoc_collection_insert_one(vigil__mongo_coll(mg, VIGIL__MG_RULES), ins, NULL, NULL,
                                          &error)) {
            err = vigil__mongo_err(&error);
            if (err != VIGIL_ERR_EXISTS)
                err = vigil__mongo_fail(mg, err, &error, errstr, errstr_size,
                                        "write rule set of camera \"%s\"", camera_id);
        }
        bson_destroy(ins);
        if (err == VIGIL_ERR_EXISTS) continue; /* another wrote current + 1: read again */
        if (err) return err;
        *version = current + 1;
        /* the older versions are never read again (the newest is); one left
         * by a failure here is deleted by the next write */
        bson_t *old = BCON_NEW("camera_id", BCON_UTF8(camera_id), "version", "{", "$lt",
                               BCON_INT64(current + 1), "}");
        mongoc_collection_delete_many(vigil__mongo_coll(mg, VIGIL__MG_RULES), old, NULL, NULL,
                                      NULL);
        bson_destroy(old);
        return VIGIL_OK;
    }
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_AGAIN,
                        "write rule set of camera \"%s\": %d races lost", camera_id,
                        MGR_RACES_MAX);
}

/* The rule sets found, one per camera (the first document of each camera
 * in camera order, version descending). */
typedef struct mgr_rules {
    vigil_rules_row_t *rows;
    size_t n, cap;
} mgr_rules_t;

static vigil_err_t mgr_rules_add(void *arg, const bson_t *doc)
{
    mgr_rules_t *r = arg;
    char cam[64];
    vigil__mongo_str(doc, "camera_id", cam, sizeof(cam));
    if (r->n > 0 && strcmp(r->rows[r->n - 1].camera_id, cam) == 0) return VIGIL_OK; /* older */
    if (r->n == VIGIL__STORE_API_ROWS_MAX) return VIGIL_OK;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        void *p = realloc(r->rows, cap * sizeof(*r->rows));
        if (!p) return VIGIL_ERR_NOMEM;
        r->rows = p;
        r->cap = cap;
    }
    if (mgr_rules_read(doc, &r->rows[r->n]) != 0) return VIGIL_ERR_NOMEM;
    r->n++;
    return VIGIL_OK;
}

static vigil_err_t mgr_rules_list(vigil_store_t *store, vigil_rules_row_t **rows, size_t *n,
                                  char *errstr, size_t errstr_size)
{
    mgr_rules_t r = {0};
    bson_t filter = BSON_INITIALIZER;
    bson_t *opts =
        BCON_NEW("sort", "{", "camera_id", BCON_INT32(1), "version", BCON_INT32(-1), "}");
    vigil_err_t err = vigil__mongo_find(vigil__mongo(store), VIGIL__MG_RULES, &filter, opts,
                                        mgr_rules_add, &r, "list rule sets", errstr, errstr_size);
    bson_destroy(opts);
    if (err) {
        vigil_rules_rows_free(r.rows, r.n);
        if (err == VIGIL_ERR_NOMEM)
            vigil_seterr(errstr, errstr_size, err, "list rule sets: out of memory");
        return err;
    }
    *rows = r.rows;
    *n = r.n;
    return VIGIL_OK;
}

/* ---- events --------------------------------------------------------------- */

static int mgr_has_duplicates(const int64_t *ids, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (ids[i] == ids[j]) return 1;
    return 0;
}

/* Counts, for each document found, how often its _id is in ids. */
typedef struct mgr_ids {
    const int64_t *ids;
    size_t n, count;
} mgr_ids_t;

static vigil_err_t mgr_ids_count(void *arg, const bson_t *doc)
{
    mgr_ids_t *f = arg;
    int64_t id = vigil__mongo_i64(doc, "_id");
    for (size_t i = 0; i < f->n; i++) f->count += f->ids[i] == id;
    return VIGIL_OK;
}

static vigil_err_t mgr_events_review(vigil_store_t *store, const int64_t *ids, size_t n,
                                     int reviewed, int64_t now_us, const char *by,
                                     size_t *updated, char *errstr, size_t errstr_size)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    bson_t filter, in, arr;
    bson_init(&filter);
    bson_append_document_begin(&filter, "_id", -1, &in);
    bson_append_array_begin(&in, "$in", -1, &arr);
    for (size_t i = 0; i < n; i++) {
        char key[16];
        const char *k;
        bson_uint32_to_string((uint32_t)i, &k, key, sizeof(key));
        bson_append_int64(&arr, k, -1, ids[i]);
    }
    bson_append_array_end(&in, &arr);
    bson_append_document_end(&filter, &in);
    bson_t *update = BCON_NEW("$set", "{", "reviewed", BCON_INT32(reviewed != 0), "reviewed_us",
                              BCON_INT64(now_us), "reviewed_by", BCON_UTF8(by), "}");
    bson_t reply;
    bson_error_t error;
    vigil_err_t err = VIGIL_OK;
    if (!mongoc_collection_update_many(vigil__mongo_coll(mg, VIGIL__MG_AN_EVENTS), &filter, update,
                                       NULL, &reply, &error))
        err = vigil__mongo_fail(mg, 0, &error, errstr, errstr_size, "review events");
    else
        *updated = (size_t)vigil__mongo_i64(&reply, "matchedCount");
    bson_destroy(&reply);
    bson_destroy(update);
    if (!err && mgr_has_duplicates(ids, n)) {
        /* an id given twice counts twice, as in SQL: the ids that exist,
         * each as often as it was given */
        mgr_ids_t found = {ids, n, 0};
        bson_t *opts = BCON_NEW("projection", "{", "_id", BCON_INT32(1), "}");
        err = vigil__mongo_find(mg, VIGIL__MG_AN_EVENTS, &filter, opts, mgr_ids_count, &found,
                                "review events", errstr, errstr_size);
        bson_destroy(opts);
        if (!err) *updated = found.count;
    }
    bson_destroy(&filter);
    return err;
}

static vigil_err_t mgr_event_delete(vigil_store_t *store, int64_t id, char *camera, char *errstr,
                                    size_t errstr_size)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    for (int attempt = 0; attempt < MGR_RACES_MAX; attempt++) {
        bson_t *filter = BCON_NEW("_id", BCON_INT64(id));
        bson_t *doc;
        vigil_err_t err =
            mgr_find_one(mg, VIGIL__MG_AN_EVENTS, filter, NULL, &doc, "read event", errstr,
                         errstr_size);
        bson_destroy(filter);
        if (err) return err;
        int found = doc != NULL;
        int open = found ? vigil__mongo_i64(doc, "open") != 0 : 0;
        if (found) vigil__mongo_str(doc, "camera_id", camera, VIGIL_CAMERA_ID_MAX);
        bson_destroy(doc);
        if ((err = vigil__store_event_delete_check(id, found, open, errstr, errstr_size)))
            return err;
        /* closed when read; reopened since (cannot be: a closed event stays
         * closed) or deleted by another: read again */
        filter = BCON_NEW("_id", BCON_INT64(id), "open", BCON_INT32(0));
        bson_t reply;
        bson_error_t error;
        int64_t deleted = 0;
        if (!mongoc_collection_delete_one(vigil__mongo_coll(mg, VIGIL__MG_AN_EVENTS), filter, NULL,
                                          &reply, &error))
            err = vigil__mongo_fail(mg, 0, &error, errstr, errstr_size, "delete event %" PRId64,
                                    id);
        else
            deleted = vigil__mongo_i64(&reply, "deletedCount");
        bson_destroy(&reply);
        bson_destroy(filter);
        if (err || deleted > 0) return err;
    }
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_AGAIN,
                        "delete event %" PRId64 ": %d races lost", id, MGR_RACES_MAX);
}

/* ---- storage ---------------------------------------------------------------- */

/* The groups of the three collections, one row per camera and collection,
 * merged after a sort. */
typedef struct mgr_storage {
    vigil_storage_row_t *rows;
    size_t n, cap;
    int which; /* 0 frames, 1 detections, 2 analytics events, 3 frame bytes */
} mgr_storage_t;

static vigil_err_t mgr_storage_add(void *arg, const bson_t *doc)
{
    mgr_storage_t *s = arg;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        void *p = realloc(s->rows, cap * sizeof(*s->rows));
        if (!p) return VIGIL_ERR_NOMEM;
        s->rows = p;
        s->cap = cap;
    }
    vigil_storage_row_t *r = &s->rows[s->n++];
    memset(r, 0, sizeof(*r));
    vigil__mongo_str(doc, "_id", r->camera_id, sizeof(r->camera_id));
    int64_t count = vigil__mongo_i64(doc, "n");
    if (s->which == 0) {
        r->frames = count;
    } else if (s->which == 3) {
        r->frame_bytes = count;
    } else if (s->which == 1) {
        r->detections = count;
    } else {
        r->events = count;
    }
    return VIGIL_OK;
}

static int mgr_storage_cmp(const void *a, const void *b)
{
    const vigil_storage_row_t *x = a, *y = b;
    int c = strcmp(x->camera_id, y->camera_id);
    if (c) return c;
    return (y->frames > 0) - (x->frames > 0); /* the frames' row first: it has the times */
}

/* The oldest and newest capture times of a camera's frames: two finds on
 * the index frame_camera_time (FerretDB 1.24's $group has no $min, $max). */
static vigil_err_t mgr_storage_times(vigil__mongo_t *mg, vigil_storage_row_t *r, char *errstr,
                                     size_t errstr_size)
{
    for (int newest = 0; newest < 2; newest++) {
        bson_t *filter = BCON_NEW("camera_id", BCON_UTF8(r->camera_id));
        bson_t *sort = BCON_NEW("camera_id", BCON_INT32(newest ? -1 : 1), "capture_time_us",
                                BCON_INT32(newest ? -1 : 1));
        bson_t *doc;
        vigil_err_t err = mgr_find_one(mg, VIGIL__MG_FRAMES, filter, sort, &doc,
                                       "storage per camera: frame times", errstr, errstr_size);
        bson_destroy(filter);
        bson_destroy(sort);
        if (err) return err;
        if (doc)
            *(newest ? &r->newest_us : &r->oldest_us) = vigil__mongo_i64(doc, "capture_time_us");
        bson_destroy(doc);
    }
    return VIGIL_OK;
}

/* One $group by camera of coll into s. */
static vigil_err_t mgr_storage_group(vigil__mongo_t *mg, vigil__mongo_coll_t coll, int which,
                                     mgr_storage_t *s, const char *what, char *errstr,
                                     size_t errstr_size)
{
    /* one accumulator a $group: FerretDB 1.24 gives 0 for a second $sum */
    bson_t *pipeline;
    if (which == 3)
        pipeline = BCON_NEW("pipeline", "[", "{", "$group", "{", "_id", BCON_UTF8("$camera_id"),
                            "n", "{", "$sum", BCON_UTF8("$size_bytes"), "}", "}", "}", "]");
    else
        pipeline = BCON_NEW("pipeline", "[", "{", "$group", "{", "_id", BCON_UTF8("$camera_id"),
                            "n", "{", "$sum", BCON_INT32(1), "}", "}", "}", "]");
    s->which = which;
    mongoc_cursor_t *cur = mongoc_collection_aggregate(vigil__mongo_coll(mg, coll),
                                                       MONGOC_QUERY_NONE, pipeline, NULL, NULL);
    const bson_t *doc;
    vigil_err_t err = VIGIL_OK;
    while (!err && mongoc_cursor_next(cur, &doc)) err = mgr_storage_add(s, doc);
    bson_error_t error;
    if (err == VIGIL_ERR_NOMEM)
        vigil_seterr(errstr, errstr_size, err, "storage: out of memory");
    else if (!err && mongoc_cursor_error(cur, &error))
        err = vigil__mongo_fail(mg, 0, &error, errstr, errstr_size, "%s", what);
    mongoc_cursor_destroy(cur);
    bson_destroy(pipeline);
    return err;
}

static vigil_err_t mgr_storage(vigil_store_t *store, vigil_storage_row_t **rows, size_t *n,
                               char *errstr, size_t errstr_size)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    mgr_storage_t s = {0};
    vigil_err_t err = mgr_storage_group(mg, VIGIL__MG_FRAMES, 0, &s, "storage per camera: frames",
                                        errstr, errstr_size);
    for (size_t i = 0; i < s.n && !err; i++)
        err = mgr_storage_times(mg, &s.rows[i], errstr, errstr_size);
    if (!err)
        err = mgr_storage_group(mg, VIGIL__MG_FRAMES, 3, &s, "storage per camera: frame bytes",
                                errstr, errstr_size);
    if (!err)
        err = mgr_storage_group(mg, VIGIL__MG_DETECTIONS, 1, &s,
                                "storage per camera: detections", errstr, errstr_size);
    if (!err)
        err = mgr_storage_group(mg, VIGIL__MG_AN_EVENTS, 2, &s, "storage per camera: events",
                                errstr, errstr_size);
    if (err) {
        free(s.rows);
        return err;
    }
    if (s.n > 1) qsort(s.rows, s.n, sizeof(*s.rows), mgr_storage_cmp);
    size_t out = 0;
    for (size_t i = 0; i < s.n; i++) {
        vigil_storage_row_t *r = &s.rows[i];
        if (out > 0 && strcmp(s.rows[out - 1].camera_id, r->camera_id) == 0) {
            vigil_storage_row_t *m = &s.rows[out - 1];
            m->frames += r->frames;
            m->frame_bytes += r->frame_bytes;
            m->detections += r->detections;
            m->events += r->events;
            continue;
        }
        if (out == VIGIL__STORE_STORAGE_ROWS_MAX) break;
        s.rows[out++] = *r;
    }
    *rows = s.rows;
    *n = out;
    return VIGIL_OK;
}

const vigil__store_resources_ops_t vigil__mongo_resources_ops = {
    .camera_records = mgr_camera_records,
    .camera_get = mgr_camera_get,
    .camera_put = mgr_camera_put,
    .camera_remove = mgr_camera_remove,
    .camera_switch = mgr_camera_switch,
    .camera_list_api = mgr_camera_list_api,
    .rules_get = mgr_rules_get,
    .rules_put = mgr_rules_put,
    .rules_list = mgr_rules_list,
    .events_review = mgr_events_review,
    .event_delete = mgr_event_delete,
    .search = vigil__mongo_search,
    .storage = mgr_storage,
};
