/* The SQLite warehouse backend: connection setup, the statement cache, and
 * the camera, frame, event, count and sweep operations (detections are in
 * sqlite_detections.c, analytics in sqlite_analytics.c, the schema in
 * sqlite_schema.c).
 *
 * The main idea: one connection per handle in WAL mode (readers never wait
 * for the writer) with synchronous=NORMAL (a power cut may lose the last
 * transactions, never corrupt the file), every statement prepared once per
 * handle and reused. Writes that belong together run in one BEGIN IMMEDIATE
 * transaction; a writer that finds the lock taken waits busy_timeout_ms and
 * then fails with VIGIL_ERR_AGAIN.
 *
 * Thread: a handle is used by one thread at a time; many handles on one file
 * from many threads or processes are fine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "vigil/clock.h"

#define SQ_FRAME_COLS                                                                             \
    "id, camera_id, sequence, capture_time_us, width, height, size_bytes, motion_score, "         \
    "keyframe, path, detection_count"
#define SQ_CAMERA_COLS "id, name, url, fps, enabled, status, last_error, updated_us"

static const char *const sq_sql[SQ_COUNT_] = {
    [SQ_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    [SQ_USER_VERSION] = "PRAGMA user_version",
    [SQ_CAMERA_UPSERT] =
        "INSERT INTO cameras (" SQ_CAMERA_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name, url = excluded.url, "
        "fps = excluded.fps, "
        /* a switched camera's enabled is the API's, and so is its status while disabled */
        "enabled = CASE WHEN cameras.origin = 'switched' THEN cameras.enabled "
        "ELSE excluded.enabled END, "
        "status = CASE WHEN cameras.origin = 'switched' AND cameras.enabled = 0 "
        "AND excluded.status IN ('starting', 'stopped') THEN 'stopped' ELSE excluded.status END, "
        "last_error = excluded.last_error, updated_us = excluded.updated_us "
        /* an API camera's fields are the API's (store.h, "resources") */
        "WHERE cameras.origin <> 'api'",
    [SQ_CAMERA_SET_STATUS] =
        "UPDATE cameras SET status = ?2, last_error = ?3, updated_us = ?4 WHERE id = ?1",
    [SQ_CAMERA_LIST] = "SELECT " SQ_CAMERA_COLS " FROM cameras ORDER BY id",
    [SQ_FRAME_LOOKUP] =
        "SELECT " SQ_FRAME_COLS " FROM frames WHERE camera_id = ?1 AND sequence = ?2",
    [SQ_FRAME_INSERT] =
        "INSERT INTO frames (camera_id, sequence, capture_time_us, width, height, size_bytes, "
        "motion_score, keyframe, path) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
        "ON CONFLICT (camera_id, sequence) DO NOTHING",
    [SQ_FRAME_GET] = "SELECT " SQ_FRAME_COLS " FROM frames WHERE id = ?1",
    [SQ_DETECTION_INSERT] =
        "INSERT INTO detections (camera_id, sequence, frame_id, capture_time_us, model, idx, "
        "label, score, x1, y1, x2, y2) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
        "ON CONFLICT (camera_id, sequence, model, idx) DO NOTHING",
    [SQ_EVENT_INSERT] = "INSERT INTO events (camera_id, type, time_us, sequence, message, "
                        "payload_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQ_COUNTS_ALL] = "SELECT (SELECT count(*) FROM cameras), (SELECT count(*) FROM frames), "
                      "(SELECT count(*) FROM detections), (SELECT count(*) FROM events), "
                      "(SELECT coalesce(sum(size_bytes), 0) FROM frames)",
    [SQ_COUNTS_CAMERA] =
        "SELECT (SELECT count(*) FROM cameras WHERE id = ?1), "
        "(SELECT count(*) FROM frames WHERE camera_id = ?1), "
        "(SELECT count(*) FROM detections WHERE camera_id = ?1), "
        "(SELECT count(*) FROM events WHERE camera_id = ?1), "
        "(SELECT coalesce(sum(size_bytes), 0) FROM frames WHERE camera_id = ?1)",
    [SQ_DATA_VERSION] = "PRAGMA data_version",
    [SQ_SWEEP_FRAMES_ALL] = "DELETE FROM frames WHERE id IN (SELECT id FROM frames WHERE "
                            "capture_time_us < ?1 LIMIT ?2) RETURNING path",
    [SQ_SWEEP_FRAMES_CAMERA] = "DELETE FROM frames WHERE id IN (SELECT id FROM frames WHERE "
                               "camera_id = ?3 AND capture_time_us < ?1 LIMIT ?2) RETURNING path",
    [SQ_SWEEP_DETECTIONS_ALL] = "DELETE FROM detections WHERE id IN (SELECT id FROM detections "
                                "WHERE capture_time_us < ?1 LIMIT ?2)",
    [SQ_SWEEP_DETECTIONS_CAMERA] = "DELETE FROM detections WHERE id IN (SELECT id FROM detections "
                                   "WHERE camera_id = ?3 AND capture_time_us < ?1 LIMIT ?2)",
    [SQ_SWEEP_EVENTS_ALL] =
        "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time_us < ?1 LIMIT ?2)",
    [SQ_SWEEP_EVENTS_CAMERA] = "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE "
                               "camera_id = ?3 AND time_us < ?1 LIMIT ?2)",
    /* frames_camera_time is (camera_id, capture_time_us, id) to SQLite: no sort */
    [SQ_FRAMES_RANGE] = "SELECT " SQ_FRAME_COLS " FROM frames WHERE camera_id = ?1 AND "
                        "capture_time_us >= ?2 AND capture_time_us < ?3 "
                        "ORDER BY capture_time_us, id LIMIT ?4",
    [SQ_FRAME_MARK_PROCESSED] = "UPDATE frames SET detection_count = ?3 WHERE camera_id = ?1 "
                                "AND sequence = ?2 AND detection_count IS NULL",
    /* the partial index frames_unprocessed: only the few not processed */
    [SQ_FRAMES_UNPROCESSED] = "SELECT " SQ_FRAME_COLS " FROM frames WHERE detection_count IS NULL "
                              "AND id > ?1 ORDER BY id LIMIT ?2",
};

const char *vigil__sq_sql(vigil__sq_stmt_t which)
{
    return (unsigned)which < SQ_COUNT_ ? sq_sql[which] : NULL;
}

/* The class of an SQLite result (vigil/err.h) is decided here, where it
 * arises: what waiting can cure is retriable (a lock held by another writer,
 * a full disk, an I/O error, a file that cannot be opened right now), a row
 * the schema refuses is refused, and everything else (no such table or
 * column, a read-only, corrupt or foreign file) is fatal: no retry helps. */
vigil_err_t vigil__sq_err_code(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK: return VIGIL_OK;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_PROTOCOL:
    case SQLITE_INTERRUPT:
    case SQLITE_SCHEMA: return VIGIL_ERR_AGAIN;
    case SQLITE_FULL: return VIGIL_ERR_FULL;
    case SQLITE_NOMEM: return VIGIL_ERR_NOMEM;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN: return VIGIL_ERR_IO;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE: return VIGIL_ERR_INVALID;
    case SQLITE_TOOBIG: return VIGIL_ERR_TOO_LARGE;
    default: return VIGIL_ERR_STORE;
    }
}

vigil_err_t vigil__sq_error(vigil__sqlite_t *sq, int rc, const char *what, char *buf, size_t size)
{
    if (!buf) {
        buf = sq->base.errbuf;
        size = sizeof(sq->base.errbuf);
    }
    vigil_err_t err = vigil__sq_err_code(rc);
    const char *msg = sq->db && sqlite3_errcode(sq->db) == rc ? sqlite3_errmsg(sq->db)
                                                              : sqlite3_errstr(rc);
    return vigil_seterr(buf, size, err, "sqlite %s: %s: %s", sq->path, what, msg);
}

sqlite3_stmt *vigil__sq_prepare(vigil__sqlite_t *sq, sqlite3_stmt **slot, const char *sql)
{
    if (*slot) {
        sqlite3_reset(*slot);
        sqlite3_clear_bindings(*slot);
        return *slot;
    }
    int rc = sqlite3_prepare_v3(sq->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
    if (rc != SQLITE_OK) {
        sq->stmt_err = vigil__sq_error(sq, rc, "prepare", NULL, 0);
        sqlite3_finalize(*slot);
        *slot = NULL;
    }
    return *slot;
}

sqlite3_stmt *vigil__sq_stmt(vigil__sqlite_t *sq, vigil__sq_stmt_t which)
{
    return vigil__sq_prepare(sq, &sq->stmts[which], sq_sql[which]);
}

int vigil__sq_exec_stmt(vigil__sqlite_t *sq, vigil__sq_stmt_t which)
{
    sqlite3_stmt *st = vigil__sq_stmt(sq, which);
    if (!st) return SQLITE_ERROR;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

int vigil__sq_begin(vigil__sqlite_t *sq)
{
    return vigil__sq_exec_stmt(sq, SQ_BEGIN);
}

int vigil__sq_commit(vigil__sqlite_t *sq)
{
    return vigil__sq_exec_stmt(sq, SQ_COMMIT);
}

void vigil__sq_rollback(vigil__sqlite_t *sq)
{
    if (!sqlite3_get_autocommit(sq->db)) vigil__sq_exec_stmt(sq, SQ_ROLLBACK);
}

void vigil__sq_text(sqlite3_stmt *st, int col, char *out, size_t size)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    snprintf(out, size, "%s", s ? (const char *)s : "");
}

vigil_err_t vigil__sq_collect(vigil__sqlite_t *sq, sqlite3_stmt *st, const vigil__sq_rows_t *how,
                              size_t max, void **out, size_t *n, int *more, char *errstr,
                              size_t errstr_size)
{
    unsigned char *rows = NULL;
    size_t count = 0, cap = 0;
    vigil_err_t err = VIGIL_OK;
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == max) {
            if (more) *more = 1;
            break;
        }
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            if (ncap > max) ncap = max; /* count < max: still room for this row */
            unsigned char *grown =
                ncap <= SIZE_MAX / how->elem_size ? realloc(rows, ncap * how->elem_size) : NULL;
            if (!grown) goto nomem;
            rows = grown;
            cap = ncap;
        }
        void *elem = rows + count * how->elem_size;
        memset(elem, 0, how->elem_size);
        if (how->row(st, elem) != 0) {
            if (how->release) how->release(elem);
            goto nomem;
        }
        count++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = vigil__sq_error(sq, rc, how->what, errstr, errstr_size);
    goto done;
nomem:
    err = VIGIL_ERR_NOMEM;
    if (how->nomem) vigil_seterr(errstr, errstr_size, err, "%s", how->nomem);
done:
    sqlite3_reset(st);
    if (err != VIGIL_OK) {
        for (size_t i = 0; how->release && i < count; i++) how->release(rows + i * how->elem_size);
        free(rows);
        return err;
    }
    *out = rows;
    *n = count;
    return VIGIL_OK;
}

/* Runs a write statement to completion; SQLITE_OK or the error code. */
static int sq_step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static vigil_err_t sq_camera_upsert(vigil_store_t *store, const vigil_camera_row_t *c)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = vigil__sq_stmt(sq, SQ_CAMERA_UPSERT);
    if (!st) return sq->stmt_err;
    sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, c->url, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 4, c->fps);
    sqlite3_bind_int(st, 5, c->enabled ? 1 : 0);
    sqlite3_bind_text(st, 6, c->status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, c->last_error, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, c->updated_us);
    int rc = sq_step_done(st);
    return rc == SQLITE_OK ? VIGIL_OK : vigil__sq_error(sq, rc, "upsert camera", NULL, 0);
}

static vigil_err_t sq_camera_set_status(vigil_store_t *store, const char *camera_id,
                                        const char *status, const char *last_error, int64_t now)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = vigil__sq_stmt(sq, SQ_CAMERA_SET_STATUS);
    if (!st) return sq->stmt_err;
    sqlite3_bind_text(st, 1, camera_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, last_error, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    int rc = sq_step_done(st);
    if (rc != SQLITE_OK) return vigil__sq_error(sq, rc, "set camera status", NULL, 0);
    if (sqlite3_changes(sq->db) == 0) {
        snprintf(store->errbuf, sizeof(store->errbuf), "no camera \"%s\"", camera_id);
        return VIGIL_ERR_NOT_FOUND;
    }
    return VIGIL_OK;
}

int vigil__sq_camera_from_row(sqlite3_stmt *st, void *elem)
{
    vigil_camera_row_t *c = elem;
    vigil__sq_text(st, 0, c->id, sizeof(c->id));
    vigil__sq_text(st, 1, c->name, sizeof(c->name));
    vigil__sq_text(st, 2, c->url, sizeof(c->url));
    c->fps = sqlite3_column_double(st, 3);
    c->enabled = sqlite3_column_int(st, 4);
    vigil__sq_text(st, 5, c->status, sizeof(c->status));
    vigil__sq_text(st, 6, c->last_error, sizeof(c->last_error));
    c->updated_us = sqlite3_column_int64(st, 7);
    return 0;
}

static vigil_err_t sq_camera_list(vigil_store_t *store, vigil_camera_row_t **rows, size_t *n)
{
    static const vigil__sq_rows_t how = {sizeof(vigil_camera_row_t), vigil__sq_camera_from_row,
                                         NULL, "list cameras", NULL};
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = vigil__sq_stmt(sq, SQ_CAMERA_LIST);
    if (!st) return sq->stmt_err;
    void *out = NULL;
    /* every row, as before: configuration cameras and the API's (capped on
     * create), but also every removed API camera's row, which stays */
    vigil_err_t err = vigil__sq_collect(sq, st, &how, SIZE_MAX, &out, n, NULL, NULL, 0);
    if (err == VIGIL_OK) *rows = out;
    return err;
}

/* A frames row (vigil__sq_rows_t.row). */
static int sq_frame_from_row(sqlite3_stmt *st, void *elem)
{
    vigil_frame_row_t *f = elem;
    memset(f, 0, sizeof(*f));
    f->id = sqlite3_column_int64(st, 0);
    vigil__sq_text(st, 1, f->camera_id, sizeof(f->camera_id));
    f->sequence = (uint64_t)sqlite3_column_int64(st, 2);
    f->capture_time_us = sqlite3_column_int64(st, 3);
    f->width = sqlite3_column_int(st, 4);
    f->height = sqlite3_column_int(st, 5);
    f->size_bytes = sqlite3_column_int64(st, 6);
    f->motion_score = (float)sqlite3_column_double(st, 7);
    f->keyframe = sqlite3_column_int(st, 8);
    vigil__sq_text(st, 9, f->path, sizeof(f->path));
    f->detection_count =
        sqlite3_column_type(st, 10) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 10);
    return 0;
}

/* Steps a single-frame SELECT: VIGIL_OK with *row, or NOT_FOUND. */
static vigil_err_t sq_frame_one(vigil__sqlite_t *sq, sqlite3_stmt *st, vigil_frame_row_t *row)
{
    int rc = sqlite3_step(st);
    vigil_err_t err = VIGIL_OK;
    if (rc == SQLITE_ROW)
        sq_frame_from_row(st, row);
    else if (rc == SQLITE_DONE)
        err = VIGIL_ERR_NOT_FOUND;
    else
        err = vigil__sq_error(sq, rc, "read frame", NULL, 0);
    sqlite3_reset(st);
    return err;
}

static vigil_err_t sq_frame_lookup(vigil_store_t *store, const char *camera_id, uint64_t sequence,
                                   vigil_frame_row_t *row)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = vigil__sq_stmt(sq, SQ_FRAME_LOOKUP);
    if (!st) return sq->stmt_err;
    sqlite3_bind_text(st, 1, camera_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)sequence);
    return sq_frame_one(sq, st, row);
}

static vigil_err_t sq_frame_get(vigil_store_t *store, int64_t id, vigil_frame_row_t *row)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = vigil__sq_stmt(sq, SQ_FRAME_GET);
    if (!st) return sq->stmt_err;
    sqlite3_bind_int64(st, 1, id);
    vigil_err_t err = sq_frame_one(sq, st, row);
    if (err == VIGIL_ERR_NOT_FOUND)
        snprintf(store->errbuf, sizeof(store->errbuf), "no frame with id %lld", (long long)id);
    return err;
}

static vigil_err_t sq_frame_insert(vigil_store_t *store, vigil_frame_row_t *f, char *errstr,
                                   size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = vigil__sq_stmt(sq, SQ_FRAME_INSERT);
    if (!st) return vigil_seterr(errstr, errstr_size, sq->stmt_err, "%s", store->errbuf);
    sqlite3_bind_text(st, 1, f->camera_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)f->sequence);
    sqlite3_bind_int64(st, 3, f->capture_time_us);
    sqlite3_bind_int(st, 4, f->width);
    sqlite3_bind_int(st, 5, f->height);
    sqlite3_bind_int64(st, 6, f->size_bytes);
    sqlite3_bind_double(st, 7, f->motion_score);
    sqlite3_bind_int(st, 8, f->keyframe ? 1 : 0);
    sqlite3_bind_text(st, 9, f->path, -1, SQLITE_STATIC);
    int rc = sq_step_done(st);
    if (rc != SQLITE_OK) return vigil__sq_error(sq, rc, "insert frame", errstr, errstr_size);
    if (sqlite3_changes(sq->db) == 0) return VIGIL_ERR_EXISTS;
    f->id = sqlite3_last_insert_rowid(sq->db);
    return VIGIL_OK;
}

/* Reads the frame rows (at most limit) a bound statement returns into a
 * malloc'd array. */
static vigil_err_t sq_frame_list(vigil__sqlite_t *sq, sqlite3_stmt *st, const char *what,
                                 int limit, vigil_frame_row_t **rows_out, size_t *n_out)
{
    const vigil__sq_rows_t how = {sizeof(vigil_frame_row_t), sq_frame_from_row, NULL, what, NULL};
    void *rows = NULL;
    vigil_err_t err = vigil__sq_collect(sq, st, &how, limit > 0 ? (size_t)limit : 0, &rows, n_out,
                                        NULL, NULL, 0);
    if (err == VIGIL_OK) *rows_out = rows;
    return err;
}

static vigil_err_t sq_frames_range(vigil_store_t *store, const char *camera_id, int64_t since_us,
                                   int64_t until_us, int limit, vigil_frame_row_t **rows,
                                   size_t *n)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = vigil__sq_stmt(sq, SQ_FRAMES_RANGE);
    if (!st) return sq->stmt_err;
    sqlite3_bind_text(st, 1, camera_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, since_us);
    sqlite3_bind_int64(st, 3, until_us);
    sqlite3_bind_int(st, 4, limit);
    return sq_frame_list(sq, st, "read frames range", limit, rows, n);
}

static vigil_err_t sq_frames_unprocessed(vigil_store_t *store, int64_t after_id, int limit,
                                         vigil_frame_row_t **rows, size_t *n)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = vigil__sq_stmt(sq, SQ_FRAMES_UNPROCESSED);
    if (!st) return sq->stmt_err;
    sqlite3_bind_int64(st, 1, after_id);
    sqlite3_bind_int(st, 2, limit);
    return sq_frame_list(sq, st, "read unprocessed frames", limit, rows, n);
}

static vigil_err_t sq_event_put(vigil_store_t *store, const vigil_event_row_t *e)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = vigil__sq_stmt(sq, SQ_EVENT_INSERT);
    if (!st) return sq->stmt_err;
    sqlite3_bind_text(st, 1, e->camera_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, e->type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, e->time_us);
    sqlite3_bind_int64(st, 4, (int64_t)e->sequence);
    sqlite3_bind_text(st, 5, e->message, -1, SQLITE_STATIC);
    if (e->payload_json)
        sqlite3_bind_text(st, 6, e->payload_json, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 6);
    int rc = sq_step_done(st);
    return rc == SQLITE_OK ? VIGIL_OK : vigil__sq_error(sq, rc, "insert event", NULL, 0);
}

/* PRAGMA data_version: changes when another connection commits; -1 on error. */
static int64_t data_version(vigil__sqlite_t *sq)
{
    sqlite3_stmt *st = vigil__sq_stmt(sq, SQ_DATA_VERSION);
    int64_t v = -1;

    if (!st) return -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return v;
}

/* Counting every row is a scan of each table, so the warehouse-wide counts
 * are kept per connection and reused while no commit happened since: an
 * idle or read-mostly warehouse answers /api/v1/stats without scanning.
 * The version is read before counting, so a commit racing the count only
 * makes the next call count again. */
static vigil_err_t sq_counts(vigil_store_t *store, const char *camera_id,
                             vigil_store_counts_t *counts)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    int64_t dv = camera_id ? -1 : data_version(sq);
    int64_t changes = sqlite3_total_changes64(sq->db);

    if (dv >= 0 && sq->counts_valid && dv == sq->counts_dv && changes == sq->counts_changes) {
        *counts = sq->counts;
        return VIGIL_OK;
    }
    sqlite3_stmt *st = vigil__sq_stmt(sq, camera_id ? SQ_COUNTS_CAMERA : SQ_COUNTS_ALL);
    if (!st) return sq->stmt_err;
    if (camera_id) sqlite3_bind_text(st, 1, camera_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    vigil_err_t err = VIGIL_OK;
    if (rc == SQLITE_ROW) {
        counts->cameras = sqlite3_column_int64(st, 0);
        counts->frames = sqlite3_column_int64(st, 1);
        counts->detections = sqlite3_column_int64(st, 2);
        counts->events = sqlite3_column_int64(st, 3);
        counts->frame_bytes = sqlite3_column_int64(st, 4);
        if (dv >= 0) {
            sq->counts = *counts;
            sq->counts_dv = dv;
            sq->counts_changes = changes;
            sq->counts_valid = 1;
        }
    } else {
        err = vigil__sq_error(sq, rc, "count rows", NULL, 0);
    }
    sqlite3_reset(st);
    return err;
}

static vigil_err_t sq_sweep_frames(vigil_store_t *store, const char *camera_id, int64_t before_us,
                                   size_t limit, char ***paths_out, size_t *n_out)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    char **paths = NULL;
    size_t n = 0;
    vigil_err_t err = VIGIL_OK;
    *paths_out = NULL;
    *n_out = 0;
    sqlite3_stmt *st = vigil__sq_stmt(sq, camera_id ? SQ_SWEEP_FRAMES_CAMERA : SQ_SWEEP_FRAMES_ALL);
    if (!st) return sq->stmt_err;
    paths = calloc(limit ? limit : 1, sizeof(*paths));
    if (!paths) return VIGIL_ERR_NOMEM;
    int rc = vigil__sq_begin(sq);
    if (rc != SQLITE_OK) {
        err = vigil__sq_error(sq, rc, "begin sweep", NULL, 0);
        goto fail;
    }
    sqlite3_bind_int64(st, 1, before_us);
    sqlite3_bind_int64(st, 2, (int64_t)limit);
    if (camera_id) sqlite3_bind_text(st, 3, camera_id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *p = sqlite3_column_text(st, 0);
        if (n < limit && p && !(paths[n++] = strdup((const char *)p))) {
            err = VIGIL_ERR_NOMEM;
            goto fail;
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        err = vigil__sq_error(sq, rc, "sweep frames", NULL, 0);
        goto fail;
    }
    rc = vigil__sq_commit(sq);
    if (rc != SQLITE_OK) {
        err = vigil__sq_error(sq, rc, "commit sweep", NULL, 0);
        goto fail;
    }
    *paths_out = paths;
    *n_out = n;
    return VIGIL_OK;
fail:
    sqlite3_reset(st);
    vigil__sq_rollback(sq);
    vigil__store_paths_free(paths, n);
    return err;
}

static vigil_err_t sq_sweep_rows(vigil_store_t *store, vigil__sweep_table_t table,
                                 const char *camera_id, int64_t before_us, size_t limit,
                                 int64_t *deleted)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    vigil__sq_stmt_t which;
    if (table == VIGIL__SWEEP_TRACK_POINTS || table == VIGIL__SWEEP_COUNTS)
        return vigil__sq_sweep_analytics_rows(sq, table, camera_id, before_us, limit, deleted);
    if (table == VIGIL__SWEEP_DETECTIONS)
        which = camera_id ? SQ_SWEEP_DETECTIONS_CAMERA : SQ_SWEEP_DETECTIONS_ALL;
    else
        which = camera_id ? SQ_SWEEP_EVENTS_CAMERA : SQ_SWEEP_EVENTS_ALL;
    sqlite3_stmt *st = vigil__sq_stmt(sq, which);
    *deleted = 0;
    if (!st) return sq->stmt_err;
    sqlite3_bind_int64(st, 1, before_us);
    sqlite3_bind_int64(st, 2, (int64_t)limit);
    if (camera_id) sqlite3_bind_text(st, 3, camera_id, -1, SQLITE_STATIC);
    int rc = sq_step_done(st);
    if (rc != SQLITE_OK)
        return vigil__sq_error(sq, rc,
                               table == VIGIL__SWEEP_DETECTIONS ? "sweep detections"
                                                                : "sweep events",
                               NULL, 0);
    *deleted = sqlite3_changes(sq->db);
    return VIGIL_OK;
}

static void sq_close(vigil_store_t *store)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    for (int i = 0; i < SQ_COUNT_; i++) sqlite3_finalize(sq->stmts[i]);
    for (int i = 0; i < SQ_Q_VARIANTS; i++) sqlite3_finalize(sq->query_stmts[i]);
    vigil__sq_analytics_close(sq);
    vigil__sq_accounts_close(sq);
    vigil__sq_resources_close(sq);
    vigil__sq_push_close(sq);
    vigil__sq_retention_close(sq);
    /* lets SQLite refresh planner statistics it found worth having */
    if (sq->db && sq->ready) sqlite3_exec(sq->db, "PRAGMA optimize", NULL, NULL, NULL);
    if (sq->db) sqlite3_close(sq->db);
    free(sq->path);
    vigil__store_base_release(store);
    free(sq);
}

static const vigil_store_ops_t sq_ops = {
    .name = "sqlite",
    .close = sq_close,
    .migrate = vigil__sq_migrate,
    .schema_version = vigil__sq_schema_version,
    .camera_upsert = sq_camera_upsert,
    .camera_set_status = sq_camera_set_status,
    .camera_list = sq_camera_list,
    .frame_lookup = sq_frame_lookup,
    .frame_insert = sq_frame_insert,
    .frame_get = sq_frame_get,
    .detections_put = vigil__sq_detections_put,
    .results_put = vigil__sq_results_put,
    .frames_unprocessed = sq_frames_unprocessed,
    .detections_query = vigil__sq_detections_query,
    .event_put = sq_event_put,
    .counts = sq_counts,
    .sweep_frames = sq_sweep_frames,
    .sweep_rows = sq_sweep_rows,
    .sweep_analytics_events = vigil__sq_sweep_analytics_events,
    .analytics_commit = vigil__sq_analytics_commit,
    .analytics_state_get = vigil__sq_analytics_state_get,
    .analytics_max_track_id = vigil__sq_analytics_max_track_id,
    .analytics_events_query = vigil__sq_analytics_events_query,
    .analytics_event_get = vigil__sq_analytics_event_get,
    .counts_query = vigil__sq_counts_query,
    .track_points = vigil__sq_track_points,
    .frames_range = sq_frames_range,
    .accounts = &vigil__sq_accounts_ops,
    .resources = &vigil__sq_resources_ops,
    .push = &vigil__sq_push_ops,
    .retention = &vigil__sq_retention_ops,
};

/* Sets the connection pragmas; SQLITE_OK or the failing code.
 *
 * Switching a fresh file to WAL needs an exclusive lock, and SQLite answers
 * SQLITE_BUSY at once (without calling the busy handler) when another
 * connection is opening the same file at that moment: retry for up to the
 * busy timeout. */
static int sq_configure(vigil__sqlite_t *sq, int busy_timeout_ms)
{
    if (busy_timeout_ms <= 0) busy_timeout_ms = 5000;
    int rc = sqlite3_busy_timeout(sq->db, busy_timeout_ms);
    int64_t deadline = vigil_mono_us() + (int64_t)busy_timeout_ms * 1000;
    while (rc == SQLITE_OK) {
        rc = sqlite3_exec(sq->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
        if ((rc & 0xff) != SQLITE_BUSY || vigil_mono_us() >= deadline) break;
        vigil_sleep_us(5000);
        rc = SQLITE_OK;
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(sq->db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", NULL,
                          NULL, NULL);
    return rc;
}

vigil_store_t *vigil__sqlite_open(const vigil_store_conf_t *conf, const char *db_path,
                                  char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = calloc(1, sizeof(*sq));
    if (!sq || vigil__store_base_init(&sq->base, &sq_ops, conf->data_dir && *conf->data_dir
                                                              ? conf->data_dir
                                                              : "./data") != 0 ||
        !(sq->path = strdup(db_path))) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "out of memory opening %s", db_path);
        goto fail;
    }
    int rc = sqlite3_open_v2(db_path, &sq->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc == SQLITE_OK) rc = sqlite3_extended_result_codes(sq->db, 1);
    if (rc != SQLITE_OK) {
        vigil__sq_error(sq, rc, "cannot open database", errstr, errstr_size);
        goto fail;
    }
    rc = sq_configure(sq, conf->busy_timeout_ms);
    if (rc != SQLITE_OK) {
        vigil__sq_error(sq, rc, "cannot configure database", errstr, errstr_size);
        goto fail;
    }
    int v = vigil__sq_schema_version(&sq->base);
    if (v < 0) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_STORE, "%s", sq->base.errbuf);
        goto fail;
    }
    sq->base.found_version = v;
    if (conf->migrate) {
        if (vigil__sq_migrate(&sq->base, NULL, NULL, errstr, errstr_size) != VIGIL_OK) goto fail;
    } else if (v != VIGIL__STORE_SCHEMA_VERSION) {
        char msg[256];
        vigil__store_version_error(v, msg, sizeof(msg));
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_STORE, "sqlite %s: %s", db_path, msg);
        goto fail;
    }
    sq->ready = 1;
    return &sq->base;
fail:
    if (sq) sq_close(&sq->base);
    return NULL;
}
