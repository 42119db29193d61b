/* Detections in SQLite: idempotent batch writes and the filtered, paged query.
 *
 * Writes: one BEGIN IMMEDIATE transaction per batch, INSERT ... ON CONFLICT
 * DO NOTHING on the key (camera, sequence, model, idx), so a redelivered
 * batch inserts nothing and a partly overlapping one only its new rows; the
 * count of new rows is the sum of sqlite3_changes(). Results (the sink's
 * writes) also mark each frame processed in the same transaction, with
 * UPDATE ... WHERE detection_count IS NULL: the first inference of a frame
 * that commits is the one whose rows stay.
 *
 * Query: newest first by id, keyset-paged (cursor = the last id returned,
 * the next page takes id < cursor). The WHERE clause only names the filters
 * that are set, so that SQLite can pick the index for them; each combination
 * is prepared once per handle. One row more than the limit is fetched to know
 * whether another page exists.
 *
 * Thread: the handle's thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"

/* Inserts one detection with the cached SQ_DETECTION_INSERT statement st;
 * adds 1 to *count if it was new. */
static vigil_err_t sq_insert_detection(vigil__sqlite_t *sq, sqlite3_stmt *st,
                                       const vigil_detection_row_t *d, size_t *count,
                                       char *errstr, size_t errstr_size)
{
    sqlite3_bind_text(st, 1, d->camera_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)d->sequence);
    if (d->frame_id > 0)
        sqlite3_bind_int64(st, 3, d->frame_id);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_int64(st, 4, d->capture_time_us);
    sqlite3_bind_text(st, 5, d->model, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, d->idx);
    sqlite3_bind_text(st, 7, d->label, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 8, d->score);
    sqlite3_bind_double(st, 9, d->x1);
    sqlite3_bind_double(st, 10, d->y1);
    sqlite3_bind_double(st, 11, d->x2);
    sqlite3_bind_double(st, 12, d->y2);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        char what[160];
        snprintf(what, sizeof(what), "insert detection camera \"%s\" sequence %llu idx %d",
                 d->camera_id, (unsigned long long)d->sequence, d->idx);
        return vigil__sq_error(sq, rc, what, errstr, errstr_size);
    }
    *count += (size_t)sqlite3_changes(sq->db);
    return VIGIL_OK;
}

vigil_err_t vigil__sq_detections_put(vigil_store_t *store, const vigil_detection_row_t *rows,
                                     size_t n, size_t *inserted, char *errstr,
                                     size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    vigil_err_t err = VIGIL_OK;
    size_t count = 0;
    *inserted = 0;
    sqlite3_stmt *st = vigil__sq_stmt(sq, SQ_DETECTION_INSERT);
    if (!st) return vigil_seterr(errstr, errstr_size, sq->stmt_err, "%s", store->errbuf);
    int rc = vigil__sq_begin(sq);
    if (rc != SQLITE_OK) return vigil__sq_error(sq, rc, "begin detections", errstr, errstr_size);
    for (size_t i = 0; i < n; i++)
        if ((err = sq_insert_detection(sq, st, &rows[i], &count, errstr, errstr_size))) goto fail;
    rc = vigil__sq_commit(sq);
    if (rc != SQLITE_OK) {
        err = vigil__sq_error(sq, rc, "commit detections", errstr, errstr_size);
        goto fail;
    }
    *inserted = count;
    return VIGIL_OK;
fail:
    vigil__sq_rollback(sq);
    return err;
}

/* Marks the frame of r processed; *write_rows tells whether its rows go in:
 * yes when it was marked now or the store has no such frame, no when it
 * was processed already. */
static vigil_err_t sq_mark_processed(vigil__sqlite_t *sq, const vigil_frame_result_t *r,
                                     int *write_rows, char *errstr, size_t errstr_size)
{
    sqlite3_stmt *mark = vigil__sq_stmt(sq, SQ_FRAME_MARK_PROCESSED);
    if (!mark) return vigil_seterr(errstr, errstr_size, sq->stmt_err, "%s", sq->base.errbuf);
    sqlite3_bind_text(mark, 1, r->camera_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(mark, 2, (int64_t)r->sequence);
    sqlite3_bind_int64(mark, 3, (int64_t)r->n);
    int rc = sqlite3_step(mark);
    sqlite3_reset(mark);
    if (rc != SQLITE_DONE) return vigil__sq_error(sq, rc, "mark frame processed", errstr, errstr_size);
    if (sqlite3_changes(sq->db) > 0) {
        *write_rows = 1;
        return VIGIL_OK;
    }
    sqlite3_stmt *known = vigil__sq_stmt(sq, SQ_FRAME_LOOKUP);
    if (!known) return vigil_seterr(errstr, errstr_size, sq->stmt_err, "%s", sq->base.errbuf);
    sqlite3_bind_text(known, 1, r->camera_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(known, 2, (int64_t)r->sequence);
    rc = sqlite3_step(known);
    sqlite3_reset(known);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return vigil__sq_error(sq, rc, "read frame", errstr, errstr_size);
    *write_rows = rc == SQLITE_DONE; /* a frame this store never saw */
    return VIGIL_OK;
}

vigil_err_t vigil__sq_results_put(vigil_store_t *store, const vigil_frame_result_t *results,
                                  size_t n, size_t *inserted, char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    vigil_err_t err = VIGIL_OK;
    size_t count = 0;
    *inserted = 0;
    sqlite3_stmt *st = vigil__sq_stmt(sq, SQ_DETECTION_INSERT);
    if (!st) return vigil_seterr(errstr, errstr_size, sq->stmt_err, "%s", store->errbuf);
    int rc = vigil__sq_begin(sq);
    if (rc != SQLITE_OK) return vigil__sq_error(sq, rc, "begin results", errstr, errstr_size);
    for (size_t i = 0; i < n; i++) {
        int write_rows = 0;
        if ((err = sq_mark_processed(sq, &results[i], &write_rows, errstr, errstr_size)))
            goto fail;
        for (size_t k = 0; write_rows && k < results[i].n; k++)
            if ((err = sq_insert_detection(sq, st, &results[i].rows[k], &count, errstr,
                                           errstr_size)))
                goto fail;
    }
    rc = vigil__sq_commit(sq);
    if (rc != SQLITE_OK) {
        err = vigil__sq_error(sq, rc, "commit results", errstr, errstr_size);
        goto fail;
    }
    *inserted = count;
    return VIGIL_OK;
fail:
    vigil__sq_rollback(sq);
    return err;
}

static sqlite3_stmt *sq_query_stmt(vigil__sqlite_t *sq, int mask)
{
    if (sq->query_stmts[mask]) return vigil__sq_prepare(sq, &sq->query_stmts[mask], NULL);
    char sql[768];
    snprintf(sql, sizeof(sql),
             "SELECT id, camera_id, sequence, coalesce(frame_id, 0), capture_time_us, model, idx, "
             "label, score, x1, y1, x2, y2 FROM detections WHERE 1%s%s%s%s%s%s "
             "ORDER BY id DESC LIMIT ?7",
             mask & SQ_Q_CAMERA ? " AND camera_id = ?1" : "",
             mask & SQ_Q_LABEL ? " AND label = ?2" : "",
             mask & SQ_Q_SINCE ? " AND capture_time_us >= ?3" : "",
             mask & SQ_Q_UNTIL ? " AND capture_time_us < ?4" : "",
             mask & SQ_Q_MIN_SCORE ? " AND score >= ?5" : "",
             mask & SQ_Q_AFTER ? " AND id < ?6" : "");
    return vigil__sq_prepare(sq, &sq->query_stmts[mask], sql);
}

vigil_err_t vigil__sq_detections_query(vigil_store_t *store, const vigil_detection_query_t *q,
                                       vigil_detection_row_t **rows_out, size_t *n_out,
                                       int64_t *next_after_id)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    vigil_err_t err = VIGIL_OK;
    int mask = (q->camera ? SQ_Q_CAMERA : 0) | (q->label ? SQ_Q_LABEL : 0) |
               (q->since_us ? SQ_Q_SINCE : 0) | (q->until_us ? SQ_Q_UNTIL : 0) |
               (q->min_score > 0 ? SQ_Q_MIN_SCORE : 0) | (q->after_id > 0 ? SQ_Q_AFTER : 0);
    size_t limit = (size_t)q->limit, n = 0;
    vigil_detection_row_t *rows = calloc(limit, sizeof(*rows));
    if (!rows) return VIGIL_ERR_NOMEM;
    sqlite3_stmt *st = sq_query_stmt(sq, mask);
    if (!st) {
        err = sq->stmt_err;
        goto fail;
    }
    if (q->camera) sqlite3_bind_text(st, 1, q->camera, -1, SQLITE_STATIC);
    if (q->label) sqlite3_bind_text(st, 2, q->label, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, q->since_us);
    sqlite3_bind_int64(st, 4, q->until_us);
    sqlite3_bind_double(st, 5, q->min_score);
    sqlite3_bind_int64(st, 6, q->after_id);
    sqlite3_bind_int64(st, 7, (int64_t)limit + 1);
    int rc, more = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == limit) {
            more = 1;
            break;
        }
        vigil_detection_row_t *d = &rows[n++];
        d->id = sqlite3_column_int64(st, 0);
        vigil__sq_text(st, 1, d->camera_id, sizeof(d->camera_id));
        d->sequence = (uint64_t)sqlite3_column_int64(st, 2);
        d->frame_id = sqlite3_column_int64(st, 3);
        d->capture_time_us = sqlite3_column_int64(st, 4);
        vigil__sq_text(st, 5, d->model, sizeof(d->model));
        d->idx = sqlite3_column_int(st, 6);
        vigil__sq_text(st, 7, d->label, sizeof(d->label));
        d->score = (float)sqlite3_column_double(st, 8);
        d->x1 = (float)sqlite3_column_double(st, 9);
        d->y1 = (float)sqlite3_column_double(st, 10);
        d->x2 = (float)sqlite3_column_double(st, 11);
        d->y2 = (float)sqlite3_column_double(st, 12);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        err = vigil__sq_error(sq, rc, "query detections", NULL, 0);
        goto fail;
    }
    *rows_out = rows;
    *n_out = n;
    *next_after_id = more ? rows[n - 1].id : 0;
    return VIGIL_OK;
fail:
    free(rows);
    return err;
}
