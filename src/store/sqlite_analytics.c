/* Analytics in SQLite: the commit of the analytics stage, the reads of the
 * API (events, counts, track points, checkpoints) and the sweeps of the
 * analytics tables (schema: step 2 in sqlite_schema.c).
 *
 * Writes: one BEGIN IMMEDIATE transaction per commit, whatever the number of
 * cameras in it, with one cached statement per table bound and stepped per
 * row. Every write is an INSERT ... ON CONFLICT on the natural key, so that a
 * batch delivered twice leaves the rows it left the first time:
 *   events  the report with the larger updated_sequence wins (equal: the
 *           later write, which carries the same values); the id and
 *           `reviewed` are never touched by an upsert;
 *   counts  each column keeps the larger of stored and given (cumulative
 *           within the minute), and an unchanged row is not rewritten;
 *   points  an existing (camera, track, sequence) is skipped;
 *   state   replaced only by a larger last_sequence.
 * PostgreSQL runs the same statements (max() spelled GREATEST()).
 *
 * Reads: newest first by (start_us, id), keyset-paged with a row-value
 * cursor; the WHERE clause names only the filters that are set (one cached
 * statement per combination), so that SQLite picks the index for them. A
 * zone filter adds line = '' (and a line filter zone = ''): every event has
 * exactly one of them set (checked on commit), and with both columns fixed
 * analytics_events_camera_rule hands the rows over in time order.
 *
 * Thread: the handle's thread. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"

#define SQA_EVENT_COLS VIGIL__SQ_EVENT_COLS

static const char *const sqa_sql[SQA_COUNT_] = {
    [SQA_EVENT_UPSERT] =
        "INSERT INTO analytics_events (camera_id, kind, label, track_id, zone, line, direction, "
        "start_sequence, start_us, end_us, end_sequence, open, snapshot_frame_id, "
        "snapshot_sequence, peak_score, x1, y1, x2, y2, updated_sequence) VALUES (?1, ?2, ?3, ?4, "
        "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20) "
        "ON CONFLICT (camera_id, kind, track_id, zone, line, start_sequence) DO UPDATE SET "
        "label = excluded.label, direction = excluded.direction, start_us = excluded.start_us, "
        "end_us = excluded.end_us, end_sequence = excluded.end_sequence, open = excluded.open, "
        "snapshot_frame_id = excluded.snapshot_frame_id, "
        "snapshot_sequence = excluded.snapshot_sequence, peak_score = excluded.peak_score, "
        "x1 = excluded.x1, y1 = excluded.y1, x2 = excluded.x2, y2 = excluded.y2, "
        "updated_sequence = excluded.updated_sequence "
        "WHERE excluded.updated_sequence >= analytics_events.updated_sequence",
    [SQA_POINT_INSERT] =
        "INSERT INTO track_points (camera_id, track_id, sequence, time_us, frame_id, label, "
        "score, x1, y1, x2, y2) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
        "ON CONFLICT (camera_id, track_id, sequence) DO NOTHING",
    [SQA_COUNT_UPSERT] =
        "INSERT INTO analytics_counts (camera_id, minute_us, zone, line, label, entered, peak, "
        "in_count, out_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
        "ON CONFLICT (camera_id, minute_us, zone, line, label) DO UPDATE SET "
        "entered = max(analytics_counts.entered, excluded.entered), "
        "peak = max(analytics_counts.peak, excluded.peak), "
        "in_count = max(analytics_counts.in_count, excluded.in_count), "
        "out_count = max(analytics_counts.out_count, excluded.out_count) "
        "WHERE excluded.entered > analytics_counts.entered "
        "OR excluded.peak > analytics_counts.peak "
        "OR excluded.in_count > analytics_counts.in_count "
        "OR excluded.out_count > analytics_counts.out_count",
    [SQA_STATE_UPSERT] =
        "INSERT INTO analytics_state (camera_id, last_sequence, updated_us, state) "
        "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (camera_id) DO UPDATE SET "
        "last_sequence = excluded.last_sequence, updated_us = excluded.updated_us, "
        "state = excluded.state WHERE excluded.last_sequence > analytics_state.last_sequence",
    [SQA_STATE_GET] = "SELECT state, last_sequence FROM analytics_state WHERE camera_id = ?1",
    [SQA_MAX_TRACK] = "SELECT max(coalesce((SELECT max(track_id) FROM track_points "
                      "WHERE camera_id = ?1), 0), coalesce((SELECT max(track_id) FROM "
                      "analytics_events WHERE camera_id = ?1), 0))",
    [SQA_EVENT_GET] = "SELECT " SQA_EVENT_COLS " FROM analytics_events WHERE id = ?1",
    [SQA_TRACK_POINTS] =
        "SELECT track_id, sequence, time_us, coalesce(frame_id, 0), label, score, x1, y1, x2, y2 "
        "FROM track_points WHERE camera_id = ?1 AND track_id = ?2 ORDER BY sequence LIMIT ?3",
    /* start_us < ?1 is implied (an event ends after it starts) and lets the
     * time indexes bound the scan */
    [SQA_SWEEP_EVENTS_ALL] =
        "DELETE FROM analytics_events WHERE id IN (SELECT id FROM analytics_events WHERE "
        "start_us < ?1 AND open = 0 AND end_us < ?1 LIMIT ?2) RETURNING camera_id, id",
    [SQA_SWEEP_EVENTS_CAMERA] =
        "DELETE FROM analytics_events WHERE id IN (SELECT id FROM analytics_events WHERE "
        "camera_id = ?3 AND start_us < ?1 AND open = 0 AND end_us < ?1 LIMIT ?2) "
        "RETURNING camera_id, id",
    [SQA_SWEEP_POINTS_ALL] =
        "DELETE FROM track_points WHERE (camera_id, track_id, sequence) IN (SELECT camera_id, "
        "track_id, sequence FROM track_points WHERE time_us < ?1 LIMIT ?2)",
    [SQA_SWEEP_POINTS_CAMERA] =
        "DELETE FROM track_points WHERE (camera_id, track_id, sequence) IN (SELECT camera_id, "
        "track_id, sequence FROM track_points WHERE camera_id = ?3 AND time_us < ?1 LIMIT ?2)",
    /* ?1: the last minute start whose minute ended by the cut */
    [SQA_SWEEP_COUNTS_ALL] =
        "DELETE FROM analytics_counts WHERE (camera_id, minute_us, zone, line, label) IN (SELECT "
        "camera_id, minute_us, zone, line, label FROM analytics_counts WHERE minute_us <= ?1 "
        "LIMIT ?2)",
    [SQA_SWEEP_COUNTS_CAMERA] =
        "DELETE FROM analytics_counts WHERE (camera_id, minute_us, zone, line, label) IN (SELECT "
        "camera_id, minute_us, zone, line, label FROM analytics_counts WHERE camera_id = ?3 AND "
        "minute_us <= ?1 LIMIT ?2)",
};

const char *vigil__sqa_sql(vigil__sqa_stmt_t which)
{
    return (unsigned)which < SQA_COUNT_ ? sqa_sql[which] : NULL;
}

static sqlite3_stmt *sqa_stmt(vigil__sqlite_t *sq, vigil__sqa_stmt_t which)
{
    return vigil__sq_prepare(sq, &sq->analytics_stmts[which], sqa_sql[which]);
}

void vigil__sq_analytics_close(vigil__sqlite_t *sq)
{
    for (int i = 0; i < SQA_COUNT_; i++) sqlite3_finalize(sq->analytics_stmts[i]);
    for (int i = 0; i < SQA_E_VARIANTS; i++) sqlite3_finalize(sq->event_query_stmts[i]);
    for (int i = 0; i < SQA_C_VARIANTS; i++) sqlite3_finalize(sq->count_query_stmts[i]);
}

/* Steps a write statement to completion and resets it; SQLITE_OK or the
 * error code. */
static int sqa_step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Binds a frame id: NULL for 0 (unknown). */
static void sqa_bind_frame_id(sqlite3_stmt *st, int col, int64_t frame_id)
{
    if (frame_id > 0)
        sqlite3_bind_int64(st, col, frame_id);
    else
        sqlite3_bind_null(st, col);
}

/* ---- commit ------------------------------------------------------------ */

static int sqa_put_event(sqlite3_stmt *st, const char *camera_id,
                         const vigil_analytics_event_t *ev)
{
    sqlite3_bind_text(st, 1, camera_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, vigil_event_kind_name(ev->kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, ev->label, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (int64_t)ev->track_id);
    sqlite3_bind_text(st, 5, ev->zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, ev->line, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, vigil_direction_name(ev->direction), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, (int64_t)ev->start_sequence);
    sqlite3_bind_int64(st, 9, ev->start_us);
    sqlite3_bind_int64(st, 10, ev->end_us);
    sqlite3_bind_int64(st, 11, (int64_t)ev->end_sequence);
    sqlite3_bind_int(st, 12, ev->open ? 1 : 0);
    sqa_bind_frame_id(st, 13, ev->snapshot_frame_id);
    sqlite3_bind_int64(st, 14, (int64_t)ev->snapshot_sequence);
    sqlite3_bind_double(st, 15, ev->peak_score);
    sqlite3_bind_double(st, 16, ev->x1);
    sqlite3_bind_double(st, 17, ev->y1);
    sqlite3_bind_double(st, 18, ev->x2);
    sqlite3_bind_double(st, 19, ev->y2);
    sqlite3_bind_int64(st, 20, (int64_t)ev->updated_sequence);
    return sqa_step_done(st);
}

static int sqa_put_point(sqlite3_stmt *st, const char *camera_id, const vigil_track_point_t *p)
{
    sqlite3_bind_text(st, 1, camera_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)p->track_id);
    sqlite3_bind_int64(st, 3, (int64_t)p->sequence);
    sqlite3_bind_int64(st, 4, p->time_us);
    sqa_bind_frame_id(st, 5, p->frame_id);
    sqlite3_bind_text(st, 6, p->label, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 7, p->score);
    sqlite3_bind_double(st, 8, p->x1);
    sqlite3_bind_double(st, 9, p->y1);
    sqlite3_bind_double(st, 10, p->x2);
    sqlite3_bind_double(st, 11, p->y2);
    return sqa_step_done(st);
}

static int sqa_put_count(sqlite3_stmt *st, const char *camera_id, const vigil_count_bucket_t *c)
{
    sqlite3_bind_text(st, 1, camera_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, c->minute_us);
    sqlite3_bind_text(st, 3, c->zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, c->line, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, c->label, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, c->entered);
    sqlite3_bind_int64(st, 7, c->peak);
    sqlite3_bind_int64(st, 8, c->in);
    sqlite3_bind_int64(st, 9, c->out);
    return sqa_step_done(st);
}

static int sqa_put_state(sqlite3_stmt *st, const vigil_analytics_camera_batch_t *b,
                         int64_t now_us)
{
    sqlite3_bind_text(st, 1, b->camera_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)b->last_sequence);
    sqlite3_bind_int64(st, 3, now_us);
    sqlite3_bind_blob64(st, 4, b->state, b->state_len, SQLITE_STATIC);
    return sqa_step_done(st);
}

vigil_err_t vigil__sq_analytics_commit(vigil_store_t *store,
                                       const vigil_analytics_camera_batch_t *batches, size_t n,
                                       int64_t now_us, char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    char what[384];
    sqlite3_stmt *ev_st = sqa_stmt(sq, SQA_EVENT_UPSERT);
    sqlite3_stmt *pt_st = ev_st ? sqa_stmt(sq, SQA_POINT_INSERT) : NULL;
    sqlite3_stmt *ct_st = pt_st ? sqa_stmt(sq, SQA_COUNT_UPSERT) : NULL;
    sqlite3_stmt *state_st = ct_st ? sqa_stmt(sq, SQA_STATE_UPSERT) : NULL;
    if (!state_st) return vigil_seterr(errstr, errstr_size, sq->stmt_err, "%s", store->errbuf);
    int rc = vigil__sq_begin(sq);
    if (rc != SQLITE_OK) {
        snprintf(what, sizeof(what), "begin analytics commit (camera \"%s\"%s)",
                 batches[0].camera_id, n > 1 ? " and others" : "");
        return vigil__sq_error(sq, rc, what, errstr, errstr_size);
    }
    for (size_t bi = 0; bi < n; bi++) {
        const vigil_analytics_camera_batch_t *b = &batches[bi];
        for (size_t i = 0; i < b->nevents; i++) {
            const vigil_analytics_event_t *ev = &b->events[i];
            if ((rc = sqa_put_event(ev_st, b->camera_id, ev)) != SQLITE_OK) {
                snprintf(what, sizeof(what),
                         "camera \"%s\": upsert %s event of track %" PRIu64 " in %s \"%s\" "
                         "started at sequence %" PRIu64,
                         b->camera_id, vigil_event_kind_name(ev->kind), ev->track_id,
                         ev->zone[0] ? "zone" : "line", ev->zone[0] ? ev->zone : ev->line,
                         ev->start_sequence);
                goto fail;
            }
        }
        for (size_t i = 0; i < b->npoints; i++) {
            const vigil_track_point_t *p = &b->points[i];
            if ((rc = sqa_put_point(pt_st, b->camera_id, p)) != SQLITE_OK) {
                snprintf(what, sizeof(what),
                         "camera \"%s\": insert track point of track %" PRIu64
                         " at sequence %" PRIu64,
                         b->camera_id, p->track_id, p->sequence);
                goto fail;
            }
        }
        for (size_t i = 0; i < b->ncounts; i++) {
            const vigil_count_bucket_t *c = &b->counts[i];
            if ((rc = sqa_put_count(ct_st, b->camera_id, c)) != SQLITE_OK) {
                snprintf(what, sizeof(what),
                         "camera \"%s\": upsert counts of %s \"%s\" label \"%s\" minute %" PRId64,
                         b->camera_id, c->zone[0] ? "zone" : "line",
                         c->zone[0] ? c->zone : c->line, c->label, c->minute_us);
                goto fail;
            }
        }
        if (b->state && (rc = sqa_put_state(state_st, b, now_us)) != SQLITE_OK) {
            snprintf(what, sizeof(what), "camera \"%s\": save checkpoint at sequence %" PRIu64,
                     b->camera_id, b->last_sequence);
            goto fail;
        }
    }
    rc = vigil__sq_commit(sq);
    if (rc != SQLITE_OK) {
        snprintf(what, sizeof(what), "commit analytics (camera \"%s\"%s)", batches[0].camera_id,
                 n > 1 ? " and others" : "");
        goto fail;
    }
    return VIGIL_OK;
fail:;
    /* the message first: a rollback would replace the connection's error */
    vigil_err_t err = vigil__sq_error(sq, rc, what, errstr, errstr_size);
    vigil__sq_rollback(sq);
    return err;
}

/* ---- checkpoints ------------------------------------------------------- */

vigil_err_t vigil__sq_analytics_max_track_id(vigil_store_t *store, const char *camera_id,
                                             uint64_t *max)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = sqa_stmt(sq, SQA_MAX_TRACK);
    if (!st) return sq->stmt_err;
    sqlite3_bind_text(st, 1, camera_id, -1, SQLITE_STATIC);
    vigil_err_t err = VIGIL_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *max = (uint64_t)sqlite3_column_int64(st, 0);
    else err = vigil__sq_error(sq, rc, "read the largest track id", NULL, 0);
    sqlite3_reset(st);
    return err;
}

vigil_err_t vigil__sq_analytics_state_get(vigil_store_t *store, const char *camera_id,
                                          uint8_t **state, size_t *len, uint64_t *last_sequence)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = sqa_stmt(sq, SQA_STATE_GET);
    if (!st) return sq->stmt_err;
    sqlite3_bind_text(st, 1, camera_id, -1, SQLITE_STATIC);
    vigil_err_t err = VIGIL_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const void *blob = sqlite3_column_blob(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        uint8_t *copy = malloc(n ? n : 1);
        if (!copy) {
            err = VIGIL_ERR_NOMEM;
        } else {
            if (n) memcpy(copy, blob, n);
            *state = copy;
            *len = n;
            *last_sequence = (uint64_t)sqlite3_column_int64(st, 1);
        }
    } else if (rc == SQLITE_DONE) {
        snprintf(store->errbuf, sizeof(store->errbuf), "camera \"%.64s\": no checkpoint",
                 camera_id);
        err = VIGIL_ERR_NOT_FOUND;
    } else {
        err = vigil__sq_error(sq, rc, "read checkpoint", NULL, 0);
    }
    sqlite3_reset(st);
    return err;
}

/* ---- events ------------------------------------------------------------ */

void vigil__sq_event_from_row(sqlite3_stmt *st, vigil_analytics_event_row_t *r)
{
    vigil_analytics_event_t *ev = &r->ev;
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(st, 0);
    vigil__sq_text(st, 1, ev->camera_id, sizeof(ev->camera_id));
    ev->kind = vigil_event_kind_parse((const char *)sqlite3_column_text(st, 2));
    vigil__sq_text(st, 3, ev->label, sizeof(ev->label));
    ev->track_id = (uint64_t)sqlite3_column_int64(st, 4);
    vigil__sq_text(st, 5, ev->zone, sizeof(ev->zone));
    vigil__sq_text(st, 6, ev->line, sizeof(ev->line));
    int dir = vigil_direction_parse((const char *)sqlite3_column_text(st, 7));
    ev->direction = dir < 0 ? VIGIL_DIR_NONE : dir;
    ev->start_sequence = (uint64_t)sqlite3_column_int64(st, 8);
    ev->start_us = sqlite3_column_int64(st, 9);
    ev->end_us = sqlite3_column_int64(st, 10);
    ev->end_sequence = (uint64_t)sqlite3_column_int64(st, 11);
    ev->open = sqlite3_column_int(st, 12);
    ev->snapshot_frame_id = sqlite3_column_int64(st, 13);
    ev->snapshot_sequence = (uint64_t)sqlite3_column_int64(st, 14);
    ev->peak_score = (float)sqlite3_column_double(st, 15);
    ev->x1 = (float)sqlite3_column_double(st, 16);
    ev->y1 = (float)sqlite3_column_double(st, 17);
    ev->x2 = (float)sqlite3_column_double(st, 18);
    ev->y2 = (float)sqlite3_column_double(st, 19);
    ev->updated_sequence = (uint64_t)sqlite3_column_int64(st, 20);
    r->reviewed = sqlite3_column_int(st, 21);
    r->reviewed_us = sqlite3_column_int64(st, 22);
    vigil__sq_text(st, 23, r->reviewed_by, sizeof(r->reviewed_by));
}

int vigil__sq_events_query_sql(int mask, char *out, size_t size)
{
    int n = snprintf(out, size,
                     "SELECT " SQA_EVENT_COLS " FROM analytics_events WHERE 1%s%s%s%s%s%s%s%s%s%s "
                     "ORDER BY start_us DESC, id DESC LIMIT ?10",
                     mask & SQA_E_CAMERA ? " AND camera_id = ?1" : "",
                     mask & SQA_E_KIND ? " AND kind = ?2" : "",
                     mask & SQA_E_LABEL ? " AND label = ?3" : "",
                     mask & SQA_E_ZONE ? " AND zone = ?4 AND line = ''" : "",
                     mask & SQA_E_LINE ? " AND line = ?5 AND zone = ''" : "",
                     mask & SQA_E_SINCE ? " AND start_us >= ?6" : "",
                     mask & SQA_E_UNTIL ? " AND start_us < ?7" : "",
                     mask & SQA_E_AFTER ? " AND (start_us, id) < (?8, ?9)" : "",
                     mask & SQA_E_REVIEWED ? " AND reviewed = 1" : "",
                     mask & SQA_E_UNREVIEWED ? " AND reviewed = 0" : "");
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

vigil_err_t vigil__sq_analytics_events_query(vigil_store_t *store, const vigil_event_query_t *q,
                                             vigil_analytics_event_row_t **rows_out,
                                             size_t *n_out, int64_t *next_start_us,
                                             int64_t *next_id)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    int mask = (q->camera ? SQA_E_CAMERA : 0) | (q->kind ? SQA_E_KIND : 0) |
               (q->label ? SQA_E_LABEL : 0) | (q->zone ? SQA_E_ZONE : 0) |
               (q->line ? SQA_E_LINE : 0) | (q->since_us ? SQA_E_SINCE : 0) |
               (q->until_us ? SQA_E_UNTIL : 0) | (q->after_id > 0 ? SQA_E_AFTER : 0) |
               (q->reviewed == VIGIL_REVIEWED_YES ? SQA_E_REVIEWED : 0) |
               (q->reviewed == VIGIL_REVIEWED_NO ? SQA_E_UNREVIEWED : 0);
    sqlite3_stmt *st = sq->event_query_stmts[mask];
    if (st) {
        st = vigil__sq_prepare(sq, &sq->event_query_stmts[mask], NULL);
    } else {
        char sql[1024];
        if (vigil__sq_events_query_sql(mask, sql, sizeof(sql)) != 0) return VIGIL_ERR_STORE;
        st = vigil__sq_prepare(sq, &sq->event_query_stmts[mask], sql);
    }
    if (!st) return sq->stmt_err;
    size_t limit = (size_t)q->limit, n = 0;
    vigil_analytics_event_row_t *rows = calloc(limit, sizeof(*rows));
    if (!rows) return VIGIL_ERR_NOMEM;
    if (q->camera) sqlite3_bind_text(st, 1, q->camera, -1, SQLITE_STATIC);
    if (q->kind) sqlite3_bind_text(st, 2, q->kind, -1, SQLITE_STATIC);
    if (q->label) sqlite3_bind_text(st, 3, q->label, -1, SQLITE_STATIC);
    if (q->zone) sqlite3_bind_text(st, 4, q->zone, -1, SQLITE_STATIC);
    if (q->line) sqlite3_bind_text(st, 5, q->line, -1, SQLITE_STATIC);
    if (q->since_us) sqlite3_bind_int64(st, 6, q->since_us);
    if (q->until_us) sqlite3_bind_int64(st, 7, q->until_us);
    if (q->after_id > 0) {
        sqlite3_bind_int64(st, 8, q->after_start_us);
        sqlite3_bind_int64(st, 9, q->after_id);
    }
    sqlite3_bind_int64(st, 10, (int64_t)limit + 1);
    int rc, more = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == limit) {
            more = 1;
            break;
        }
        vigil__sq_event_from_row(st, &rows[n++]);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        free(rows);
        return vigil__sq_error(sq, rc, "query analytics events", NULL, 0);
    }
    *rows_out = rows;
    *n_out = n;
    *next_start_us = more ? rows[n - 1].ev.start_us : 0;
    *next_id = more ? rows[n - 1].id : 0;
    return VIGIL_OK;
}

vigil_err_t vigil__sq_analytics_event_get(vigil_store_t *store, int64_t id,
                                          vigil_analytics_event_row_t *row)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = sqa_stmt(sq, SQA_EVENT_GET);
    if (!st) return sq->stmt_err;
    sqlite3_bind_int64(st, 1, id);
    vigil_err_t err = VIGIL_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        vigil__sq_event_from_row(st, row);
    } else if (rc == SQLITE_DONE) {
        snprintf(store->errbuf, sizeof(store->errbuf), "no analytics event with id %" PRId64, id);
        err = VIGIL_ERR_NOT_FOUND;
    } else {
        err = vigil__sq_error(sq, rc, "read analytics event", NULL, 0);
    }
    sqlite3_reset(st);
    return err;
}

/* ---- counts ------------------------------------------------------------ */

int vigil__sq_counts_query_sql(int mask, char *out, size_t size)
{
    /* the bucket of a minute, floored (also before 1970): ?7 is its length.
     * A start bound asks for recent minutes, few of the retained ones: said
     * with likelihood(), without which SQLite (no statistics) takes a
     * one-sided range for most of the table and scans every camera's rows. */
    const char *bucket = mask & SQA_C_BUCKET ? "minute_us - (((minute_us % ?7) + ?7) % ?7)" : "0";
    const char *by = mask & SQA_C_BUCKET ? ", bucket" : "";
    int n = snprintf(out, size,
                     "SELECT camera_id, zone, line, label, %s AS bucket, sum(entered), max(peak), "
                     "sum(in_count), sum(out_count) FROM analytics_counts WHERE 1%s%s%s%s%s%s "
                     "GROUP BY camera_id, zone, line, label%s "
                     "ORDER BY camera_id, zone, line, label%s LIMIT ?8",
                     bucket, mask & SQA_C_CAMERA ? " AND camera_id = ?1" : "",
                     mask & SQA_C_ZONE ? " AND zone = ?2" : "",
                     mask & SQA_C_LINE ? " AND line = ?3" : "",
                     mask & SQA_C_LABEL ? " AND label = ?4" : "",
                     mask & SQA_C_SINCE ? " AND likelihood(minute_us >= ?5, 0.05)" : "",
                     mask & SQA_C_UNTIL ? " AND minute_us < ?6" : "", by, by);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int sqa_count_row(sqlite3_stmt *st, void *elem)
{
    vigil_count_row_t *r = elem;
    vigil__sq_text(st, 0, r->camera_id, sizeof(r->camera_id));
    vigil__sq_text(st, 1, r->zone, sizeof(r->zone));
    vigil__sq_text(st, 2, r->line, sizeof(r->line));
    vigil__sq_text(st, 3, r->label, sizeof(r->label));
    r->bucket_us = sqlite3_column_int64(st, 4);
    r->entered = sqlite3_column_int64(st, 5);
    r->peak = sqlite3_column_int64(st, 6);
    r->in = sqlite3_column_int64(st, 7);
    r->out = sqlite3_column_int64(st, 8);
    return 0;
}

vigil_err_t vigil__sq_counts_query(vigil_store_t *store, const vigil_count_query_t *q,
                                   size_t max_rows, vigil_count_row_t **rows_out, size_t *n_out)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    int mask = (q->camera ? SQA_C_CAMERA : 0) | (q->zone ? SQA_C_ZONE : 0) |
               (q->line ? SQA_C_LINE : 0) | (q->label ? SQA_C_LABEL : 0) |
               (q->since_us ? SQA_C_SINCE : 0) | (q->until_us ? SQA_C_UNTIL : 0) |
               (q->bucket_us ? SQA_C_BUCKET : 0);
    sqlite3_stmt *st = sq->count_query_stmts[mask];
    if (st) {
        st = vigil__sq_prepare(sq, &sq->count_query_stmts[mask], NULL);
    } else {
        char sql[1024];
        if (vigil__sq_counts_query_sql(mask, sql, sizeof(sql)) != 0) return VIGIL_ERR_STORE;
        st = vigil__sq_prepare(sq, &sq->count_query_stmts[mask], sql);
    }
    if (!st) return sq->stmt_err;
    if (q->camera) sqlite3_bind_text(st, 1, q->camera, -1, SQLITE_STATIC);
    if (q->zone) sqlite3_bind_text(st, 2, q->zone, -1, SQLITE_STATIC);
    if (q->line) sqlite3_bind_text(st, 3, q->line, -1, SQLITE_STATIC);
    if (q->label) sqlite3_bind_text(st, 4, q->label, -1, SQLITE_STATIC);
    if (q->since_us) sqlite3_bind_int64(st, 5, q->since_us);
    if (q->until_us) sqlite3_bind_int64(st, 6, q->until_us);
    if (q->bucket_us) sqlite3_bind_int64(st, 7, q->bucket_us);
    sqlite3_bind_int64(st, 8, (int64_t)max_rows + 1);
    /* max_rows + 1: the caller tells "more than max_rows" by the count */
    static const vigil__sq_rows_t how = {sizeof(vigil_count_row_t), sqa_count_row, NULL,
                                         "query counts", NULL};
    void *rows = NULL;
    vigil_err_t err =
        vigil__sq_collect(sq, st, &how, max_rows < SIZE_MAX ? max_rows + 1 : max_rows, &rows, n_out,
                          NULL, NULL, 0);
    if (err == VIGIL_OK) *rows_out = rows;
    return err;
}

/* ---- track points ------------------------------------------------------ */

static int sqa_point_row(sqlite3_stmt *st, void *elem)
{
    vigil_track_point_t *p = elem;
    p->track_id = (uint64_t)sqlite3_column_int64(st, 0);
    p->sequence = (uint64_t)sqlite3_column_int64(st, 1);
    p->time_us = sqlite3_column_int64(st, 2);
    p->frame_id = sqlite3_column_int64(st, 3);
    vigil__sq_text(st, 4, p->label, sizeof(p->label));
    p->score = (float)sqlite3_column_double(st, 5);
    p->x1 = (float)sqlite3_column_double(st, 6);
    p->y1 = (float)sqlite3_column_double(st, 7);
    p->x2 = (float)sqlite3_column_double(st, 8);
    p->y2 = (float)sqlite3_column_double(st, 9);
    return 0;
}

vigil_err_t vigil__sq_track_points(vigil_store_t *store, const char *camera_id,
                                   uint64_t track_id, int limit, vigil_track_point_t **points_out,
                                   size_t *n_out)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = sqa_stmt(sq, SQA_TRACK_POINTS);
    if (!st) return sq->stmt_err;
    sqlite3_bind_text(st, 1, camera_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)track_id);
    sqlite3_bind_int(st, 3, limit);
    static const vigil__sq_rows_t how = {sizeof(vigil_track_point_t), sqa_point_row, NULL,
                                         "read track points", NULL};
    void *points = NULL;
    vigil_err_t err = vigil__sq_collect(sq, st, &how, limit > 0 ? (size_t)limit : 0, &points, n_out,
                                        NULL, NULL, 0);
    if (err == VIGIL_OK) *points_out = points;
    return err;
}

/* ---- sweeps ------------------------------------------------------------ */

vigil_err_t vigil__sq_sweep_analytics_events(vigil_store_t *store, const char *camera_id,
                                             int64_t before_us, size_t limit,
                                             vigil__swept_event_t **events_out, size_t *n_out)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    vigil_err_t err = VIGIL_OK;
    size_t n = 0;
    *events_out = NULL;
    *n_out = 0;
    sqlite3_stmt *st =
        sqa_stmt(sq, camera_id ? SQA_SWEEP_EVENTS_CAMERA : SQA_SWEEP_EVENTS_ALL);
    if (!st) return sq->stmt_err;
    vigil__swept_event_t *events = calloc(limit ? limit : 1, sizeof(*events));
    if (!events) return VIGIL_ERR_NOMEM;
    int rc = vigil__sq_begin(sq);
    if (rc != SQLITE_OK) {
        err = vigil__sq_error(sq, rc, "begin sweep of analytics events", NULL, 0);
        goto fail;
    }
    sqlite3_bind_int64(st, 1, before_us);
    sqlite3_bind_int64(st, 2, (int64_t)limit);
    if (camera_id) sqlite3_bind_text(st, 3, camera_id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == limit) continue; /* cannot happen: the subquery has the limit */
        vigil__sq_text(st, 0, events[n].camera_id, sizeof(events[n].camera_id));
        events[n].id = sqlite3_column_int64(st, 1);
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        err = vigil__sq_error(sq, rc, "sweep analytics events", NULL, 0);
        goto fail;
    }
    rc = vigil__sq_commit(sq);
    if (rc != SQLITE_OK) {
        err = vigil__sq_error(sq, rc, "commit sweep of analytics events", NULL, 0);
        goto fail;
    }
    *events_out = events;
    *n_out = n;
    return VIGIL_OK;
fail:
    vigil__sq_rollback(sq);
    free(events);
    return err;
}

vigil_err_t vigil__sq_sweep_analytics_rows(vigil__sqlite_t *sq, vigil__sweep_table_t table,
                                           const char *camera_id, int64_t before_us,
                                           size_t limit, int64_t *deleted)
{
    int points = table == VIGIL__SWEEP_TRACK_POINTS;
    vigil__sqa_stmt_t which = points ? (camera_id ? SQA_SWEEP_POINTS_CAMERA : SQA_SWEEP_POINTS_ALL)
                                     : (camera_id ? SQA_SWEEP_COUNTS_CAMERA : SQA_SWEEP_COUNTS_ALL);
    *deleted = 0;
    int64_t bound = before_us;
    if (!points) {
        /* minute_us + 60 s <= before, without overflowing */
        if (before_us < INT64_MIN + VIGIL__STORE_MINUTE_US) return VIGIL_OK;
        bound = before_us - VIGIL__STORE_MINUTE_US;
    }
    sqlite3_stmt *st = sqa_stmt(sq, which);
    if (!st) return sq->stmt_err;
    sqlite3_bind_int64(st, 1, bound);
    sqlite3_bind_int64(st, 2, (int64_t)limit);
    if (camera_id) sqlite3_bind_text(st, 3, camera_id, -1, SQLITE_STATIC);
    int rc = sqa_step_done(st);
    if (rc != SQLITE_OK)
        return vigil__sq_error(sq, rc, points ? "sweep track points" : "sweep analytics counts",
                               NULL, 0);
    *deleted = sqlite3_changes(sq->db);
    return VIGIL_OK;
}
