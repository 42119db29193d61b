/* Retention by size in SQLite (store_retention_int.h; schema step 7).
 *
 * The bytes of the frame store are the frame_usage table, which triggers on
 * frames keep per camera in the same transaction as every insert and
 * delete, so that reading them costs a handful of rows. A size sweep reads
 * the oldest frames that no event needs and deletes them one by one inside
 * one BEGIN IMMEDIATE transaction, stopping as soon as they add up to the
 * bytes asked for: the read and the deletes see the same rows, and two
 * sweepers (two processes) never delete for the same excess twice.
 *
 * Index use: the oldest frames come from frames_camera_time (one camera) or
 * frames_time (all), already in (capture_time_us, id) order; "an event
 * needs it" is a lookup in analytics_events_snapshot and a range of
 * analytics_events_camera_time bounded on both sides (SQT_OLDEST).
 *
 * Thread: the handle's thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "store/store_retention_int.h"

typedef enum {
    SQT_USAGE,
    SQT_OLDEST_CAMERA,
    SQT_OLDEST_ALL,
    SQT_DELETE,
    SQT_COUNT_
} sqt_stmt_t;

_Static_assert(SQT_COUNT_ <= VIGIL__SQT_SLOTS, "sqlite_int.h: VIGIL__SQT_SLOTS too small");

/* The oldest frames no event needs. ?1 preroll, ?2 postroll, ?3 events
 * ended before this need nothing, ?4 limit, ?5 camera.
 *
 * "An event's window holds the frame" is an interval stabbing question,
 * which a range of analytics_events_camera_time answers only if the range
 * is bounded on both sides: ev, read once per statement, gives per camera
 * the longest window of a closed event that still counts (so a closed
 * event that holds a frame at t started at or after t - postroll -
 * longest) and the earliest start of an open one (which holds every frame
 * from its start - preroll on). Without the lower bound each frame looked
 * at every older event of its camera: 400 ms a batch of 500 against 8 ms,
 * 200000 frames and 4000 events, the oldest half of the frames gone. */
#define SQT_OLDEST(ev_where, f_where)                                                             \
    "WITH ev AS (SELECT camera_id,"                                                               \
    "  max(CASE WHEN open = 0 AND end_us >= ?3 THEN end_us - start_us END) AS longest,"           \
    "  min(CASE WHEN open <> 0 THEN start_us END) AS open_from"                                   \
    "  FROM analytics_events " ev_where " GROUP BY camera_id) "                                   \
    "SELECT f.id, f.path, f.size_bytes FROM frames f LEFT JOIN ev ON ev.camera_id = f.camera_id " \
    "WHERE " f_where                                                                              \
    " AND (ev.open_from IS NULL OR f.capture_time_us < ev.open_from - ?1)"                        \
    " AND NOT EXISTS (SELECT 1 FROM analytics_events e WHERE e.snapshot_frame_id = f.id"          \
    "   AND (e.open <> 0 OR e.end_us >= ?3))"                                                     \
    " AND NOT EXISTS (SELECT 1 FROM analytics_events e WHERE e.camera_id = f.camera_id"           \
    "   AND e.start_us >= f.capture_time_us - ?2 - coalesce(ev.longest, 0)"                       \
    "   AND e.start_us <= f.capture_time_us + ?1"                                                 \
    "   AND e.open = 0 AND e.end_us >= ?3 AND e.end_us + ?2 >= f.capture_time_us)"                \
    " ORDER BY f.capture_time_us, f.id LIMIT ?4"

static const char *const sqt_sql[SQT_COUNT_] = {
    [SQT_USAGE] = "SELECT camera_id, frames, bytes FROM frame_usage WHERE frames > 0 "
                  "ORDER BY camera_id LIMIT ?1",
    [SQT_OLDEST_CAMERA] = SQT_OLDEST("WHERE camera_id = ?5", "f.camera_id = ?5"),
    [SQT_OLDEST_ALL] = SQT_OLDEST("", "1"),
    [SQT_DELETE] = "DELETE FROM frames WHERE id = ?1",
};

static sqlite3_stmt *sqt_stmt(vigil__sqlite_t *sq, sqt_stmt_t which)
{
    return vigil__sq_prepare(sq, &sq->retention_stmts[which], sqt_sql[which]);
}

void vigil__sq_retention_close(vigil__sqlite_t *sq)
{
    for (int i = 0; i < VIGIL__SQT_SLOTS; i++) {
        sqlite3_finalize(sq->retention_stmts[i]);
        sq->retention_stmts[i] = NULL;
    }
}

static vigil_err_t sqt_prepare_fail(vigil__sqlite_t *sq, char *errstr, size_t errstr_size)
{
    return vigil_seterr(errstr, errstr_size, sq->stmt_err ? sq->stmt_err : VIGIL_ERR_STORE, "%s",
                        sq->base.errbuf);
}

static int sqt_usage_row(sqlite3_stmt *st, void *elem)
{
    vigil_frame_usage_t *u = elem;
    vigil__sq_text(st, 0, u->camera_id, sizeof(u->camera_id));
    u->frames = sqlite3_column_int64(st, 1);
    u->bytes = sqlite3_column_int64(st, 2);
    return 0;
}

static vigil_err_t sqt_frame_usage(vigil_store_t *store, size_t max, vigil_frame_usage_t **rows,
                                   size_t *n, char *errstr, size_t errstr_size)
{
    static const vigil__sq_rows_t how = {sizeof(vigil_frame_usage_t), sqt_usage_row, NULL,
                                         "read frame usage", "frame usage: out of memory"};
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = sqt_stmt(sq, SQT_USAGE);
    if (!st) return sqt_prepare_fail(sq, errstr, errstr_size);
    sqlite3_bind_int64(st, 1, (int64_t)max);
    void *out = NULL;
    vigil_err_t err = vigil__sq_collect(sq, st, &how, max, &out, n, NULL, errstr, errstr_size);
    if (err == VIGIL_OK) *rows = out;
    return err;
}

typedef struct sqt_victim {
    int64_t id, bytes;
    char *path;
} sqt_victim_t;

static vigil_err_t sqt_sweep_frames_bytes(vigil_store_t *store, const char *camera_id,
                                          int64_t bytes, const vigil__frame_protect_t *protect,
                                          size_t limit, char ***paths_out, size_t *n_out,
                                          int64_t *freed_out, char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqt_victim_t *v = calloc(limit ? limit : 1, sizeof(*v));
    char **paths = NULL;
    size_t n = 0;
    int64_t freed = 0;
    vigil_err_t err = VIGIL_OK;
    sqlite3_stmt *st = NULL;
    int rc;

    if (!v) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "size sweep: out of memory");
    rc = vigil__sq_begin(sq);
    if (rc != SQLITE_OK) {
        err = vigil__sq_error(sq, rc, "begin size sweep", errstr, errstr_size);
        free(v);
        return err;
    }
    if (!(st = sqt_stmt(sq, camera_id ? SQT_OLDEST_CAMERA : SQT_OLDEST_ALL))) {
        err = sqt_prepare_fail(sq, errstr, errstr_size);
        goto fail;
    }
    sqlite3_bind_int64(st, 1, protect->preroll_us);
    sqlite3_bind_int64(st, 2, protect->postroll_us);
    sqlite3_bind_int64(st, 3, protect->events_ended_before_us);
    sqlite3_bind_int64(st, 4, (int64_t)limit);
    if (camera_id) sqlite3_bind_text(st, 5, camera_id, -1, SQLITE_STATIC);
    rc = SQLITE_DONE;
    /* only as many as the bytes asked for: the rest of the batch stays */
    while (freed < bytes && n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *p = sqlite3_column_text(st, 1);
        v[n].id = sqlite3_column_int64(st, 0);
        v[n].bytes = sqlite3_column_int64(st, 2);
        if (!(v[n].path = strdup(p ? (const char *)p : ""))) {
            err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "size sweep: out of memory");
            goto fail;
        }
        freed += v[n].bytes;
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        err = vigil__sq_error(sq, rc, "read the oldest frames", errstr, errstr_size);
        goto fail;
    }
    if (!(st = sqt_stmt(sq, SQT_DELETE))) {
        err = sqt_prepare_fail(sq, errstr, errstr_size);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(st, 1, v[i].id);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            char what[64];
            snprintf(what, sizeof(what), "delete frame %lld", (long long)v[i].id);
            err = vigil__sq_error(sq, rc, what, errstr, errstr_size);
            goto fail;
        }
    }
    rc = vigil__sq_commit(sq);
    if (rc != SQLITE_OK) {
        err = vigil__sq_error(sq, rc, "commit size sweep", errstr, errstr_size);
        goto fail;
    }
    if (n && !(paths = calloc(n, sizeof(*paths)))) {
        /* the rows are gone: their files become orphans, as after a crash */
        for (size_t i = 0; i < n; i++) free(v[i].path);
        free(v);
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "size sweep: out of memory");
    }
    for (size_t i = 0; i < n; i++) paths[i] = v[i].path;
    free(v);
    *paths_out = paths;
    *n_out = n;
    *freed_out = freed;
    return VIGIL_OK;
fail:
    if (st) sqlite3_reset(st);
    vigil__sq_rollback(sq);
    for (size_t i = 0; i < n; i++) free(v[i].path);
    free(v);
    return err;
}

const vigil__store_retention_ops_t vigil__sq_retention_ops = {
    .frame_usage = sqt_frame_usage,
    .sweep_frames_bytes = sqt_sweep_frames_bytes,
};
