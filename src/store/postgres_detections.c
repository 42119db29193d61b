/* Detections in PostgreSQL: batched idempotent writes and the filtered,
 * paged query.
 *
 * Writes: one transaction per batch; the rows go in multi-row INSERT ...
 * ON CONFLICT DO NOTHING statements of up to PG_ROWS_PER_INSERT rows (one
 * round trip per chunk, not per row), so a redelivered batch inserts
 * nothing and a partly overlapping one only its new rows; the count of new
 * rows is what the INSERTs report. The days of the rows get their
 * partitions first, outside the transaction. Results (the sink's writes)
 * also mark each frame processed in the same transaction, with UPDATE ...
 * WHERE detection_count IS NULL: the first inference of a frame that
 * commits is the one whose rows stay.
 *
 * Query: newest first by id, keyset-paged, as sqlite_detections.c: the
 * WHERE clause names only the filters that are set (numbered parameters of
 * those only), one row more than the limit tells whether a page follows.
 *
 * Thread: the handle's thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres_int.h"

#define PG_DETECTION_PARAMS 12
/* 12 parameters a row; PostgreSQL takes at most 65535 a statement */
#define PG_ROWS_PER_INSERT 1000

enum {
    PG_MARK_PROCESSED = VIGIL__PG_SLOTS_CORE + 40,
    PG_FRAME_KNOWN,
};

void vigil__pg_detection_from_row(const PGresult *res, int row, int c,
                                  vigil_detection_row_t *d)
{
    memset(d, 0, sizeof(*d));
    d->id = vigil__pg_int64(res, row, c + 0);
    vigil__pg_text(res, row, c + 1, d->camera_id, sizeof(d->camera_id));
    d->sequence = (uint64_t)vigil__pg_int64(res, row, c + 2);
    d->frame_id = vigil__pg_int64(res, row, c + 3);
    d->capture_time_us = vigil__pg_int64(res, row, c + 4);
    vigil__pg_text(res, row, c + 5, d->model, sizeof(d->model));
    d->idx = (int)vigil__pg_int64(res, row, c + 6);
    vigil__pg_text(res, row, c + 7, d->label, sizeof(d->label));
    d->score = (float)vigil__pg_double(res, row, c + 8);
    d->x1 = (float)vigil__pg_double(res, row, c + 9);
    d->y1 = (float)vigil__pg_double(res, row, c + 10);
    d->x2 = (float)vigil__pg_double(res, row, c + 11);
    d->y2 = (float)vigil__pg_double(res, row, c + 12);
}

/* The rows to write, gathered from a batch (pointers into it). */
typedef struct pg_rowset {
    const vigil_detection_row_t **rows;
    size_t n;
} pg_rowset_t;

/* Inserts rows (in chunks) in the open transaction; adds the new ones to
 * *count. */
static vigil_err_t pg_insert_rows(vigil__pg_t *pg, const pg_rowset_t *set, size_t *count,
                                  char *errstr, size_t errstr_size)
{
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    char *sql = NULL;
    vigil_err_t err = VIGIL_OK;
    for (size_t at = 0; at < set->n; at += PG_ROWS_PER_INSERT) {
        size_t chunk = set->n - at < PG_ROWS_PER_INSERT ? set->n - at : PG_ROWS_PER_INSERT;
        size_t cap = 256 + chunk * 100; /* "($1,...,$12)," is at most 87 bytes */
        free(sql);
        if (!(sql = malloc(cap))) {
            err = vigil__pg_error(pg, VIGIL_ERR_NOMEM, errstr, errstr_size,
                                  "out of memory for %zu detections", chunk);
            goto out;
        }
        size_t len = (size_t)snprintf(sql, cap,
                                      "INSERT INTO detections (camera_id, sequence, frame_id, "
                                      "capture_time_us, model, idx, label, score, x1, y1, x2, y2) "
                                      "VALUES ");
        vigil__pg_params_clear(&p);
        for (size_t i = 0; i < chunk; i++) {
            const vigil_detection_row_t *d = set->rows[at + i];
            int b = (int)(i * PG_DETECTION_PARAMS);
            len += (size_t)snprintf(sql + len, cap - len,
                                    "%s($%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d)",
                                    i ? "," : "", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7,
                                    b + 8, b + 9, b + 10, b + 11, b + 12);
            vigil__pg_param_text(&p, d->camera_id);
            vigil__pg_param_uint(&p, d->sequence);
            if (d->frame_id > 0)
                vigil__pg_param_int(&p, d->frame_id);
            else
                vigil__pg_param_text(&p, NULL);
            vigil__pg_param_int(&p, d->capture_time_us);
            vigil__pg_param_text(&p, d->model);
            vigil__pg_param_int(&p, d->idx);
            vigil__pg_param_text(&p, d->label);
            vigil__pg_param_double(&p, d->score);
            vigil__pg_param_double(&p, d->x1);
            vigil__pg_param_double(&p, d->y1);
            vigil__pg_param_double(&p, d->x2);
            vigil__pg_param_double(&p, d->y2);
        }
        snprintf(sql + len, cap - len,
                 " ON CONFLICT (camera_id, sequence, model, idx, capture_time_us) DO NOTHING");
        char what[192];
        const vigil_detection_row_t *first = set->rows[at];
        snprintf(what, sizeof(what),
                 "insert %zu detections (the first: camera \"%s\" sequence %llu idx %d)", chunk,
                 first->camera_id, (unsigned long long)first->sequence, first->idx);
        PGresult *res = vigil__pg_exec(pg, sql, &p, what, &err, errstr, errstr_size);
        if (!res) goto out;
        *count += (size_t)vigil__pg_affected(res);
        PQclear(res);
    }
out:
    free(sql);
    vigil__pg_params_release(&p);
    return err;
}

/* Creates the partitions of the days of rows (outside any transaction). */
static vigil_err_t pg_ensure_days(vigil__pg_t *pg, const pg_rowset_t *set, char *errstr,
                                  size_t errstr_size)
{
    int64_t last = INT64_MIN;
    for (size_t i = 0; i < set->n; i++) {
        int64_t day = vigil__pg_day_of(set->rows[i]->capture_time_us);
        if (day == last) continue; /* a batch is mostly one day */
        vigil_err_t err =
            vigil__pg_partitions_ensure(pg, &set->rows[i]->capture_time_us, 1, errstr, errstr_size);
        if (err) return err;
        last = day;
    }
    return VIGIL_OK;
}

vigil_err_t vigil__pg_detections_put(vigil_store_t *store, const vigil_detection_row_t *rows,
                                     size_t n, size_t *inserted, char *errstr,
                                     size_t errstr_size)
{
    vigil__pg_t *pg = vigil__pg(store);
    *inserted = 0;
    pg_rowset_t set = {calloc(n, sizeof(*set.rows)), n};
    if (!set.rows)
        return vigil__pg_error(pg, VIGIL_ERR_NOMEM, errstr, errstr_size,
                               "out of memory for %zu detections", n);
    for (size_t i = 0; i < n; i++) set.rows[i] = &rows[i];
    size_t count = 0;
    vigil_err_t err = pg_ensure_days(pg, &set, errstr, errstr_size);
    if (!err) err = vigil__pg_begin(pg, errstr, errstr_size);
    if (!err) err = pg_insert_rows(pg, &set, &count, errstr, errstr_size);
    if (!err) err = vigil__pg_commit(pg, errstr, errstr_size);
    if (err)
        vigil__pg_rollback(pg);
    else
        *inserted = count;
    free(set.rows);
    return err;
}

/* Marks the frame of r processed; *write_rows tells whether its rows go in:
 * yes when it was marked now or the store has no such frame, no when it
 * was processed already. */
static vigil_err_t pg_mark_processed(vigil__pg_t *pg, const vigil_frame_result_t *r,
                                     int *write_rows, char *errstr, size_t errstr_size)
{
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    vigil__pg_param_text(&p, r->camera_id);
    vigil__pg_param_uint(&p, r->sequence);
    vigil__pg_param_int(&p, (int64_t)r->n);
    vigil_err_t err;
    PGresult *res = vigil__pg_exec_prepared(
        pg, PG_MARK_PROCESSED,
        "UPDATE frames SET detection_count = $3 WHERE camera_id = $1 AND sequence = $2 "
        "AND detection_count IS NULL",
        &p, "mark frame processed", &err, errstr, errstr_size);
    int64_t changed = res ? vigil__pg_affected(res) : 0;
    PQclear(res);
    if (res && changed == 0) {
        vigil__pg_params_clear(&p);
        vigil__pg_param_text(&p, r->camera_id);
        vigil__pg_param_uint(&p, r->sequence);
        res = vigil__pg_exec_prepared(pg, PG_FRAME_KNOWN,
                                      "SELECT 1 FROM frames WHERE camera_id = $1 AND "
                                      "sequence = $2 LIMIT 1",
                                      &p, "read frame", &err, errstr, errstr_size);
        if (res) *write_rows = PQntuples(res) == 0; /* a frame this store never saw */
        PQclear(res);
    } else if (res) {
        *write_rows = 1;
    }
    vigil__pg_params_release(&p);
    return err;
}

vigil_err_t vigil__pg_results_put(vigil_store_t *store, const vigil_frame_result_t *results,
                                  size_t n, size_t *inserted, char *errstr, size_t errstr_size)
{
    vigil__pg_t *pg = vigil__pg(store);
    *inserted = 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += results[i].n;
    pg_rowset_t all = {calloc(total ? total : 1, sizeof(*all.rows)), 0};
    pg_rowset_t set = {calloc(total ? total : 1, sizeof(*set.rows)), 0};
    vigil_err_t err = VIGIL_OK;
    size_t count = 0;
    if (!all.rows || !set.rows) {
        err = vigil__pg_error(pg, VIGIL_ERR_NOMEM, errstr, errstr_size,
                              "out of memory for %zu detections", total);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < results[i].n; k++) all.rows[all.n++] = &results[i].rows[k];
    if ((err = pg_ensure_days(pg, &all, errstr, errstr_size))) goto out;
    if ((err = vigil__pg_begin(pg, errstr, errstr_size))) goto out;
    for (size_t i = 0; i < n; i++) {
        int write_rows = 0;
        if ((err = pg_mark_processed(pg, &results[i], &write_rows, errstr, errstr_size))) goto out;
        for (size_t k = 0; write_rows && k < results[i].n; k++)
            set.rows[set.n++] = &results[i].rows[k];
    }
    if ((err = pg_insert_rows(pg, &set, &count, errstr, errstr_size))) goto out;
    if ((err = vigil__pg_commit(pg, errstr, errstr_size))) goto out;
    *inserted = count;
out:
    if (err) vigil__pg_rollback(pg);
    free(all.rows);
    free(set.rows);
    return err;
}

vigil_err_t vigil__pg_detections_query(vigil_store_t *store, const vigil_detection_query_t *q,
                                       vigil_detection_row_t **rows_out, size_t *n_out,
                                       int64_t *next_after_id)
{
    vigil__pg_t *pg = vigil__pg(store);
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    char sql[1024];
    size_t len = (size_t)snprintf(sql, sizeof(sql),
                                  "SELECT " VIGIL__PG_DETECTION_COLS " FROM detections WHERE true");
    VIGIL__PG_FILTER(q->camera, " AND camera_id = $%d", vigil__pg_param_text(&p, q->camera));
    VIGIL__PG_FILTER(q->label, " AND label = $%d", vigil__pg_param_text(&p, q->label));
    VIGIL__PG_FILTER(q->since_us, " AND capture_time_us >= $%d",
                     vigil__pg_param_int(&p, q->since_us));
    VIGIL__PG_FILTER(q->until_us, " AND capture_time_us < $%d",
                     vigil__pg_param_int(&p, q->until_us));
    VIGIL__PG_FILTER(q->min_score > 0, " AND score >= $%d",
                     vigil__pg_param_double(&p, q->min_score));
    VIGIL__PG_FILTER(q->after_id > 0, " AND id < $%d", vigil__pg_param_int(&p, q->after_id));
    VIGIL__PG_FILTER(1, " ORDER BY id DESC LIMIT $%d",
                     vigil__pg_param_int(&p, (int64_t)q->limit + 1));
    vigil_err_t err;
    PGresult *res = vigil__pg_exec(pg, sql, &p, "query detections", &err, NULL, 0);
    vigil__pg_params_release(&p);
    if (!res) return err;
    size_t limit = (size_t)q->limit, n = (size_t)PQntuples(res);
    int more = n > limit;
    if (more) n = limit;
    vigil_detection_row_t *rows = calloc(n ? n : 1, sizeof(*rows));
    if (!rows) {
        PQclear(res);
        return VIGIL_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) vigil__pg_detection_from_row(res, (int)i, 0, &rows[i]);
    PQclear(res);
    *rows_out = rows;
    *n_out = n;
    *next_after_id = more ? rows[n - 1].id : 0;
    return VIGIL_OK;
}
