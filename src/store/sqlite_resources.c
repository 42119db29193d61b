/* The API's resources in SQLite (store.h, "resources"; schema step 5):
 * cameras the API manages, rule sets with versions, event review and
 * deletion, storage per camera. The search is in sqlite_search.c.
 *
 * Main idea: every write that must see what is there before it writes (a
 * create that must not overwrite a camera, a replace of an API camera only,
 * a rule set compared with its version) runs in one BEGIN IMMEDIATE
 * transaction, which takes the write lock first, so that two API replicas
 * racing on one row see one winner and the other an error that says so.
 * Statements are cached per handle in sq->resources_stmts.
 *
 * Thread: the handle's thread. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "store/store_resources_int.h"

#define SQR_CAMERA_COLS                                                                           \
    "id, name, url, fps, enabled, status, last_error, updated_us, origin, retention_hours, "      \
    "created_us"

typedef enum {
    SQR_CAMERA_RECORDS,
    SQR_CAMERA_RECORDS_AFTER,
    SQR_CAMERA_GET,
    SQR_CAMERA_STATE,
    SQR_CAMERA_CREATE,
    SQR_CAMERA_REPLACE,
    SQR_CAMERA_REMOVE,
    SQR_RULES_DELETE,
    SQR_CAMERA_LIST_API,
    SQR_RULES_GET,
    SQR_RULES_VERSION,
    SQR_RULES_PUT,
    SQR_RULES_LIST,
    SQR_EVENT_REVIEW,
    SQR_EVENT_STATE,
    SQR_EVENT_DELETE,
    SQR_STORAGE,
    SQR_API_COUNT,
    SQR_CAMERA_SWITCH,
    SQR_COUNT_
} sqr_stmt_t;

_Static_assert(SQR_COUNT_ <= VIGIL__SQR_SLOTS, "sqlite_int.h: VIGIL__SQR_SLOTS too small");

static const char *const sqr_sql[SQR_COUNT_] = {
    [SQR_CAMERA_RECORDS] = "SELECT " SQR_CAMERA_COLS ", '' FROM cameras WHERE removed = 0 "
                           "ORDER BY id LIMIT ?2",
    [SQR_CAMERA_RECORDS_AFTER] = "SELECT " SQR_CAMERA_COLS ", '' FROM cameras WHERE removed = 0 "
                                 "AND id > ?1 ORDER BY id LIMIT ?2",
    [SQR_CAMERA_GET] = "SELECT " SQR_CAMERA_COLS ", CASE WHEN ?2 THEN source_url ELSE '' END "
                       "FROM cameras WHERE id = ?1 AND removed = 0",
    [SQR_CAMERA_STATE] = "SELECT origin, removed FROM cameras WHERE id = ?1",
    [SQR_CAMERA_CREATE] =
        "INSERT INTO cameras (id, name, url, fps, enabled, status, last_error, updated_us, origin, "
        "source_url, retention_hours, removed, created_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
        "'api', ?9, ?10, 0, ?8) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
        "url = excluded.url, fps = excluded.fps, enabled = excluded.enabled, "
        "status = excluded.status, last_error = excluded.last_error, "
        "updated_us = excluded.updated_us, origin = 'api', source_url = excluded.source_url, "
        "retention_hours = excluded.retention_hours, removed = 0, created_us = excluded.created_us",
    [SQR_CAMERA_REPLACE] =
        "UPDATE cameras SET name = ?2, url = ?3, fps = ?4, enabled = ?5, status = ?6, "
        "last_error = ?7, updated_us = ?8, source_url = ?9, retention_hours = ?10 "
        "WHERE id = ?1 AND origin = 'api' AND removed = 0",
    /* the credentials go with the camera */
    [SQR_CAMERA_REMOVE] = "UPDATE cameras SET removed = 1, source_url = '', status = 'removed', "
                          "last_error = '', updated_us = ?2 WHERE id = ?1",
    [SQR_RULES_DELETE] = "DELETE FROM camera_rules WHERE camera_id = ?1",
    [SQR_CAMERA_LIST_API] = "SELECT " SQR_CAMERA_COLS ", source_url FROM cameras "
                            "WHERE origin = 'api' AND removed = 0 ORDER BY id LIMIT ?1",
    [SQR_RULES_GET] = "SELECT camera_id, version, updated_us, updated_by, rules_json "
                      "FROM camera_rules WHERE camera_id = ?1",
    [SQR_RULES_VERSION] = "SELECT version FROM camera_rules WHERE camera_id = ?1",
    [SQR_RULES_PUT] = "INSERT INTO camera_rules (camera_id, version, rules_json, updated_us, "
                      "updated_by) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (camera_id) DO UPDATE "
                      "SET version = excluded.version, rules_json = excluded.rules_json, "
                      "updated_us = excluded.updated_us, updated_by = excluded.updated_by",
    [SQR_RULES_LIST] = "SELECT camera_id, version, updated_us, updated_by, rules_json "
                       "FROM camera_rules ORDER BY camera_id LIMIT ?1",
    [SQR_EVENT_REVIEW] = "UPDATE analytics_events SET reviewed = ?2, reviewed_us = ?3, "
                         "reviewed_by = ?4 WHERE id = ?1",
    [SQR_EVENT_STATE] = "SELECT camera_id, open FROM analytics_events WHERE id = ?1",
    [SQR_EVENT_DELETE] = "DELETE FROM analytics_events WHERE id = ?1",
    /* three grouped index scans (frames_camera_time, detections_camera,
     * analytics_events_camera_time), merged per camera */
    [SQR_STORAGE] =
        "SELECT camera_id, sum(f), sum(b), min(o), max(w), sum(d), sum(e) FROM ("
        "SELECT camera_id, count(*) AS f, coalesce(sum(size_bytes), 0) AS b, "
        "min(capture_time_us) AS o, max(capture_time_us) AS w, 0 AS d, 0 AS e "
        "FROM frames GROUP BY camera_id UNION ALL "
        "SELECT camera_id, 0, 0, NULL, NULL, count(*), 0 FROM detections GROUP BY camera_id "
        "UNION ALL SELECT camera_id, 0, 0, NULL, NULL, 0, count(*) FROM analytics_events "
        "GROUP BY camera_id) GROUP BY camera_id ORDER BY camera_id LIMIT ?1",
    [SQR_API_COUNT] = "SELECT count(*) FROM cameras WHERE origin = 'api' AND removed = 0",
    /* a configuration camera: only enabled and its status change hands */
    [SQR_CAMERA_SWITCH] =
        "INSERT INTO cameras (id, name, url, fps, enabled, status, last_error, updated_us, origin) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'switched') ON CONFLICT (id) DO UPDATE SET "
        "enabled = excluded.enabled, status = excluded.status, last_error = excluded.last_error, "
        "updated_us = excluded.updated_us, origin = 'switched' WHERE cameras.origin <> 'api'",
};

static sqlite3_stmt *sqr_stmt(vigil__sqlite_t *sq, sqr_stmt_t which)
{
    return vigil__sq_prepare(sq, &sq->resources_stmts[which], sqr_sql[which]);
}

void vigil__sq_resources_close(vigil__sqlite_t *sq)
{
    for (int i = 0; i < VIGIL__SQR_SLOTS; i++) {
        sqlite3_finalize(sq->resources_stmts[i]);
        sq->resources_stmts[i] = NULL;
    }
}

/* A failed step: the error with the store's message copied to errstr. */
static vigil_err_t sqr_fail(vigil__sqlite_t *sq, int rc, const char *what, char *errstr,
                            size_t errstr_size)
{
    return vigil__sq_error(sq, rc, what, errstr, errstr_size);
}

/* A statement that could not be prepared. */
static vigil_err_t sqr_prep_fail(vigil__sqlite_t *sq, char *errstr, size_t errstr_size)
{
    return vigil_seterr(errstr, errstr_size, sq->stmt_err, "%s", sq->base.errbuf);
}

/* ---- cameras ------------------------------------------------------------- */

/* A camera record row (vigil__sq_rows_t.row). */
static int sqr_camera_from_row(sqlite3_stmt *st, void *elem)
{
    vigil_camera_record_t *rec = elem;
    memset(rec, 0, sizeof(*rec));
    vigil__sq_camera_from_row(st, &rec->row); /* SQR_CAMERA_COLS starts as SQ_CAMERA_COLS */
    vigil__sq_text(st, 8, rec->origin, sizeof(rec->origin));
    rec->retention_hours = sqlite3_column_double(st, 9);
    rec->created_us = sqlite3_column_int64(st, 10);
    vigil__sq_text(st, 11, rec->source_url, sizeof(rec->source_url));
    return 0;
}

/* Steps st to the end, collecting at most max records into *rows; *more when
 * a row beyond max came. */
static vigil_err_t sqr_camera_rows(vigil__sqlite_t *sq, sqlite3_stmt *st,
                                   const vigil__sq_rows_t *how, size_t max,
                                   vigil_camera_record_t **rows, size_t *n, int *more,
                                   char *errstr, size_t errstr_size)
{
    void *out = NULL;
    vigil_err_t err = vigil__sq_collect(sq, st, how, max, &out, n, more, errstr, errstr_size);
    if (err == VIGIL_OK) *rows = out;
    return err;
}

static vigil_err_t sqr_camera_records(vigil_store_t *store, const char *after_id, int limit,
                                      vigil_camera_record_t **rows, size_t *n, int *more,
                                      char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = sqr_stmt(sq, after_id ? SQR_CAMERA_RECORDS_AFTER : SQR_CAMERA_RECORDS);
    if (!st) return sqr_prep_fail(sq, errstr, errstr_size);
    if (after_id) sqlite3_bind_text(st, 1, after_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, limit + 1);
    static const vigil__sq_rows_t how = {sizeof(vigil_camera_record_t), sqr_camera_from_row,
                                         NULL, "list cameras", "list cameras: out of memory"};
    return sqr_camera_rows(sq, st, &how, (size_t)limit, rows, n, more, errstr, errstr_size);
}

static vigil_err_t sqr_camera_get(vigil_store_t *store, const char *id, int with_secret,
                                  vigil_camera_record_t *rec, char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = sqr_stmt(sq, SQR_CAMERA_GET);
    if (!st) return sqr_prep_fail(sq, errstr, errstr_size);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, with_secret != 0);
    vigil_err_t err = VIGIL_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        sqr_camera_from_row(st, rec);
    else if (rc == SQLITE_DONE)
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND, "no camera \"%s\"", id);
    else
        err = sqr_fail(sq, rc, "read camera", errstr, errstr_size);
    sqlite3_reset(st);
    return err;
}

/* What the warehouse holds of camera id (cs zeroed first). */
static vigil_err_t sqr_camera_state(vigil__sqlite_t *sq, const char *id,
                                    vigil__camera_state_t *cs, char *errstr, size_t errstr_size)
{
    vigil_err_t err = VIGIL_OK;
    memset(cs, 0, sizeof(*cs));
    sqlite3_stmt *st = sqr_stmt(sq, SQR_CAMERA_STATE);
    if (!st) return sqr_prep_fail(sq, errstr, errstr_size);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        vigil__sq_text(st, 0, cs->origin, sizeof(cs->origin));
        cs->removed = sqlite3_column_int(st, 1);
        cs->found = 1;
    } else if (rc != SQLITE_DONE) {
        err = sqr_fail(sq, rc, "read camera", errstr, errstr_size);
    }
    sqlite3_reset(st);
    return err;
}

/* Runs a bound write statement to its end; VIGIL_OK or the error. */
static vigil_err_t sqr_run(vigil__sqlite_t *sq, sqlite3_stmt *st, const char *what,
                           char *errstr, size_t errstr_size)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VIGIL_OK : sqr_fail(sq, rc, what, errstr, errstr_size);
}

/* Opens the write transaction. */
static vigil_err_t sqr_begin(vigil__sqlite_t *sq, const char *what, char *errstr,
                             size_t errstr_size)
{
    int rc = vigil__sq_begin(sq);
    return rc == SQLITE_OK ? VIGIL_OK : sqr_fail(sq, rc, what, errstr, errstr_size);
}

/* Commits, or rolls back after an error; returns err (or the commit's). */
static vigil_err_t sqr_end(vigil__sqlite_t *sq, vigil_err_t err, const char *what, char *errstr,
                           size_t errstr_size)
{
    if (err) {
        vigil__sq_rollback(sq);
        return err;
    }
    int rc = vigil__sq_commit(sq);
    if (rc == SQLITE_OK) return VIGIL_OK;
    err = sqr_fail(sq, rc, what, errstr, errstr_size);
    vigil__sq_rollback(sq);
    return err;
}

/* Opens a camera write (the transaction), reads the camera's state and
 * asks store_resources.c whether the write may go on (a create also counts
 * the API's cameras); what: the write, for a failed begin or commit. On
 * failure the transaction is already ended. */
static vigil_err_t sqr_camera_begin(vigil__sqlite_t *sq, vigil__camera_write_t write,
                                    const char *id, const char *what, char *errstr,
                                    size_t errstr_size)
{
    vigil__camera_state_t cs;
    vigil_err_t err = sqr_begin(sq, what, errstr, errstr_size);
    if (err) return err;
    err = sqr_camera_state(sq, id, &cs, errstr, errstr_size);
    if (!err) err = vigil__store_camera_write_check(write, id, &cs, errstr, errstr_size);
    if (!err && write == VIGIL__CAMERA_CREATE) {
        sqlite3_stmt *cnt = sqr_stmt(sq, SQR_API_COUNT);
        int rc = cnt ? sqlite3_step(cnt) : SQLITE_ERROR;
        int64_t count = rc == SQLITE_ROW ? sqlite3_column_int64(cnt, 0) : 0;
        if (cnt) sqlite3_reset(cnt);
        if (!cnt || rc != SQLITE_ROW)
            err = cnt ? sqr_fail(sq, rc, "count cameras", errstr, errstr_size)
                      : sqr_prep_fail(sq, errstr, errstr_size);
        else
            err = vigil__store_camera_count_check(count, errstr, errstr_size);
    }
    if (err) sqr_end(sq, err, what, errstr, errstr_size);
    return err;
}

static vigil_err_t sqr_camera_put(vigil_store_t *store, const vigil_camera_record_t *rec,
                                  int create, int64_t now_us, char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    const vigil_camera_row_t *c = &rec->row;
    vigil_err_t err = sqr_camera_begin(sq, create ? VIGIL__CAMERA_CREATE : VIGIL__CAMERA_REPLACE,
                                       c->id, "write camera", errstr, errstr_size);
    if (err) return err;
    sqlite3_stmt *st = sqr_stmt(sq, create ? SQR_CAMERA_CREATE : SQR_CAMERA_REPLACE);
    if (!st) {
        err = sqr_prep_fail(sq, errstr, errstr_size);
        goto done;
    }
    sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, c->url, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 4, c->fps);
    sqlite3_bind_int(st, 5, c->enabled != 0);
    sqlite3_bind_text(st, 6, c->status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, c->last_error, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, now_us);
    sqlite3_bind_text(st, 9, rec->source_url, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 10, rec->retention_hours < 0 ? -1 : rec->retention_hours);
    err = sqr_run(sq, st, "write camera", errstr, errstr_size);
done:
    return sqr_end(sq, err, "write camera", errstr, errstr_size);
}

static vigil_err_t sqr_camera_remove(vigil_store_t *store, const char *id, int64_t now_us,
                                     char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st;
    vigil_err_t err = sqr_camera_begin(sq, VIGIL__CAMERA_REMOVE, id, "remove camera", errstr,
                                       errstr_size);
    if (err) return err;
    if (!(st = sqr_stmt(sq, SQR_CAMERA_REMOVE))) {
        err = sqr_prep_fail(sq, errstr, errstr_size);
        goto done;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_us);
    if ((err = sqr_run(sq, st, "remove camera", errstr, errstr_size))) goto done;
    if (!(st = sqr_stmt(sq, SQR_RULES_DELETE))) {
        err = sqr_prep_fail(sq, errstr, errstr_size);
        goto done;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    err = sqr_run(sq, st, "delete rule set", errstr, errstr_size);
done:
    return sqr_end(sq, err, "remove camera", errstr, errstr_size);
}

static vigil_err_t sqr_camera_switch(vigil_store_t *store, const vigil_camera_row_t *c,
                                     int64_t now_us, char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    vigil_err_t err = sqr_camera_begin(sq, VIGIL__CAMERA_SWITCH, c->id, "switch camera", errstr,
                                       errstr_size);
    if (err) return err;
    sqlite3_stmt *st = sqr_stmt(sq, SQR_CAMERA_SWITCH);
    if (!st) {
        err = sqr_prep_fail(sq, errstr, errstr_size);
        goto done;
    }
    sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->name[0] ? c->name : c->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, c->url, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 4, c->fps);
    sqlite3_bind_int(st, 5, c->enabled != 0);
    sqlite3_bind_text(st, 6, c->status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, c->last_error, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, now_us);
    err = sqr_run(sq, st, "switch camera", errstr, errstr_size);
done:
    return sqr_end(sq, err, "switch camera", errstr, errstr_size);
}

static vigil_err_t sqr_camera_list_api(vigil_store_t *store, vigil_camera_record_t **rows,
                                       size_t *n, char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = sqr_stmt(sq, SQR_CAMERA_LIST_API);
    if (!st) return sqr_prep_fail(sq, errstr, errstr_size);
    sqlite3_bind_int(st, 1, VIGIL__STORE_API_ROWS_MAX);
    static const vigil__sq_rows_t how = {sizeof(vigil_camera_record_t), sqr_camera_from_row,
                                         NULL, "list API cameras",
                                         "list API cameras: out of memory"};
    return sqr_camera_rows(sq, st, &how, VIGIL__STORE_API_ROWS_MAX, rows, n, NULL, errstr,
                           errstr_size);
}

/* ---- rule sets ------------------------------------------------------------- */

/* Reads a rule set row (json malloc'd; vigil__sq_rows_t.row); 0 or -1 when
 * out of memory. */
static int sqr_rules_from_row(sqlite3_stmt *st, void *elem)
{
    vigil_rules_row_t *row = elem;
    memset(row, 0, sizeof(*row));
    vigil__sq_text(st, 0, row->camera_id, sizeof(row->camera_id));
    row->version = sqlite3_column_int64(st, 1);
    row->updated_us = sqlite3_column_int64(st, 2);
    vigil__sq_text(st, 3, row->updated_by, sizeof(row->updated_by));
    const char *json = (const char *)sqlite3_column_text(st, 4);
    row->json = strdup(json ? json : "");
    return row->json ? 0 : -1;
}

static void sqr_rules_release(void *elem)
{
    free(((vigil_rules_row_t *)elem)->json);
}

static vigil_err_t sqr_rules_get(vigil_store_t *store, const char *camera_id,
                                 vigil_rules_row_t *row, char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = sqr_stmt(sq, SQR_RULES_GET);
    if (!st) return sqr_prep_fail(sq, errstr, errstr_size);
    sqlite3_bind_text(st, 1, camera_id, -1, SQLITE_STATIC);
    vigil_err_t err = VIGIL_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqr_rules_from_row(st, row) != 0)
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "read rule set: out of memory");
    else if (rc == SQLITE_DONE)
        err = vigil__store_rules_missing(camera_id, errstr, errstr_size);
    else if (rc != SQLITE_ROW)
        err = sqr_fail(sq, rc, "read rule set", errstr, errstr_size);
    sqlite3_reset(st);
    return err;
}

static vigil_err_t sqr_rules_put(vigil_store_t *store, const char *camera_id, const char *json,
                                 int64_t *version, int64_t now_us, const char *by, char *errstr,
                                 size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    int64_t current = 0;
    sqlite3_stmt *st;
    vigil_err_t err = sqr_begin(sq, "write rule set", errstr, errstr_size);
    if (err) return err;
    if (!(st = sqr_stmt(sq, SQR_RULES_VERSION))) {
        err = sqr_prep_fail(sq, errstr, errstr_size);
        goto done;
    }
    sqlite3_bind_text(st, 1, camera_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) current = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        err = sqr_fail(sq, rc, "read rule set version", errstr, errstr_size);
        goto done;
    }
    if ((err = vigil__store_rules_version_check(camera_id, current, version, errstr,
                                                errstr_size)))
        goto done;
    if (!(st = sqr_stmt(sq, SQR_RULES_PUT))) {
        err = sqr_prep_fail(sq, errstr, errstr_size);
        goto done;
    }
    sqlite3_bind_text(st, 1, camera_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, current + 1);
    sqlite3_bind_text(st, 3, json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now_us);
    sqlite3_bind_text(st, 5, by, -1, SQLITE_STATIC);
    if (!(err = sqr_run(sq, st, "write rule set", errstr, errstr_size))) *version = current + 1;
done:
    return sqr_end(sq, err, "write rule set", errstr, errstr_size);
}

static vigil_err_t sqr_rules_list(vigil_store_t *store, vigil_rules_row_t **rows, size_t *n,
                                  char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = sqr_stmt(sq, SQR_RULES_LIST);
    if (!st) return sqr_prep_fail(sq, errstr, errstr_size);
    sqlite3_bind_int(st, 1, VIGIL__STORE_API_ROWS_MAX);
    static const vigil__sq_rows_t how = {sizeof(vigil_rules_row_t), sqr_rules_from_row,
                                         sqr_rules_release, "list rule sets",
                                         "list rule sets: out of memory"};
    void *out = NULL;
    vigil_err_t err = vigil__sq_collect(sq, st, &how, VIGIL__STORE_API_ROWS_MAX, &out, n, NULL,
                                        errstr, errstr_size);
    if (err == VIGIL_OK) *rows = out;
    return err;
}

/* ---- events ------------------------------------------------------------------ */

static vigil_err_t sqr_events_review(vigil_store_t *store, const int64_t *ids, size_t n,
                                     int reviewed, int64_t now_us, const char *by,
                                     size_t *updated, char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    size_t count = 0;
    sqlite3_stmt *st;
    vigil_err_t err = sqr_begin(sq, "review events", errstr, errstr_size);
    if (err) return err;
    if (!(st = sqr_stmt(sq, SQR_EVENT_REVIEW))) {
        err = sqr_prep_fail(sq, errstr, errstr_size);
        goto done;
    }
    for (size_t i = 0; i < n && !err; i++) {
        sqlite3_bind_int64(st, 1, ids[i]);
        sqlite3_bind_int(st, 2, reviewed);
        sqlite3_bind_int64(st, 3, now_us);
        sqlite3_bind_text(st, 4, by, -1, SQLITE_STATIC);
        if (!(err = sqr_run(sq, st, "review events", errstr, errstr_size)))
            count += (size_t)sqlite3_changes(sq->db);
    }
done:
    err = sqr_end(sq, err, "review events", errstr, errstr_size);
    if (!err) *updated = count;
    return err;
}

static vigil_err_t sqr_event_delete(vigil_store_t *store, int64_t id, char *camera, char *errstr,
                                    size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st;
    int open = 0;
    vigil_err_t err = sqr_begin(sq, "delete event", errstr, errstr_size);
    if (err) return err;
    if (!(st = sqr_stmt(sq, SQR_EVENT_STATE))) {
        err = sqr_prep_fail(sq, errstr, errstr_size);
        goto done;
    }
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        vigil__sq_text(st, 0, camera, VIGIL_CAMERA_ID_MAX);
        open = sqlite3_column_int(st, 1);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = sqr_fail(sq, rc, "read event", errstr, errstr_size);
    else
        err = vigil__store_event_delete_check(id, rc == SQLITE_ROW, open, errstr, errstr_size);
    if (err) goto done;
    if (!(st = sqr_stmt(sq, SQR_EVENT_DELETE))) {
        err = sqr_prep_fail(sq, errstr, errstr_size);
        goto done;
    }
    sqlite3_bind_int64(st, 1, id);
    err = sqr_run(sq, st, "delete event", errstr, errstr_size);
done:
    return sqr_end(sq, err, "delete event", errstr, errstr_size);
}

/* ---- storage ---------------------------------------------------------------------- */

static int sqr_storage_row(sqlite3_stmt *st, void *elem)
{
    vigil_storage_row_t *r = elem;
    vigil__sq_text(st, 0, r->camera_id, sizeof(r->camera_id));
    r->frames = sqlite3_column_int64(st, 1);
    r->frame_bytes = sqlite3_column_int64(st, 2);
    r->oldest_us = sqlite3_column_int64(st, 3); /* NULL reads as 0 */
    r->newest_us = sqlite3_column_int64(st, 4);
    r->detections = sqlite3_column_int64(st, 5);
    r->events = sqlite3_column_int64(st, 6);
    return 0;
}

static vigil_err_t sqr_storage(vigil_store_t *store, vigil_storage_row_t **rows, size_t *n,
                               char *errstr, size_t errstr_size)
{
    static const vigil__sq_rows_t how = {sizeof(vigil_storage_row_t), sqr_storage_row, NULL,
                                         "storage per camera", "storage: out of memory"};
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = sqr_stmt(sq, SQR_STORAGE);
    if (!st) return sqr_prep_fail(sq, errstr, errstr_size);
    sqlite3_bind_int(st, 1, VIGIL__STORE_STORAGE_ROWS_MAX);
    void *out = NULL;
    vigil_err_t err = vigil__sq_collect(sq, st, &how, VIGIL__STORE_STORAGE_ROWS_MAX, &out, n, NULL,
                                        errstr, errstr_size);
    if (err == VIGIL_OK) *rows = out;
    return err;
}

const vigil__store_resources_ops_t vigil__sq_resources_ops = {
    .camera_records = sqr_camera_records,
    .camera_get = sqr_camera_get,
    .camera_put = sqr_camera_put,
    .camera_remove = sqr_camera_remove,
    .camera_switch = sqr_camera_switch,
    .camera_list_api = sqr_camera_list_api,
    .rules_get = sqr_rules_get,
    .rules_put = sqr_rules_put,
    .rules_list = sqr_rules_list,
    .events_review = sqr_events_review,
    .event_delete = sqr_event_delete,
    .search = vigil__sq_search,
    .storage = sqr_storage,
};
