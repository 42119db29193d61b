/* Detections in MongoDB: batched idempotent writes and the filtered, paged
 * query.
 *
 * Writes: the ids of a batch are taken at once (vigil_ids), the rows go in
 * one unordered insertMany (the driver splits it at the server's message
 * size); the unique index detection_key turns a redelivered row into a
 * duplicate-key write error, which is skipped: a batch sent twice inserts
 * nothing the second time and a partly overlapping one only its new rows.
 * Its ids are taken and left unused (gaps, as PostgreSQL's sequences).
 *
 * Results (the sink's writes) without a transaction: for each frame, first
 * its rows (idempotent), then its processed mark, set only while unset
 * (detection_count -1). A crash between the two leaves the rows and an
 * unprocessed frame; the redelivered result finds its rows there and marks
 * the frame. A frame already processed keeps its rows: the new ones are
 * skipped.
 *
 * Query: newest first by id, keyset-paged, one row more than the limit tells
 * whether a page follows.
 *
 * Thread: the handle's thread. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/mongo_int.h"

static bson_t *mg_detection_doc(const vigil_detection_row_t *d, int64_t id)
{
    bson_t *doc = BCON_NEW("_id", BCON_INT64(id), "camera_id", BCON_UTF8(d->camera_id),
                           "sequence", BCON_INT64((int64_t)d->sequence), "capture_time_us",
                           BCON_INT64(d->capture_time_us), "model", BCON_UTF8(d->model), "idx",
                           BCON_INT32(d->idx), "label", BCON_UTF8(d->label), "score",
                           BCON_DOUBLE(d->score), "x1", BCON_DOUBLE(d->x1), "y1",
                           BCON_DOUBLE(d->y1), "x2", BCON_DOUBLE(d->x2), "y2",
                           BCON_DOUBLE(d->y2));
    if (d->frame_id > 0) BSON_APPEND_INT64(doc, "frame_id", d->frame_id);
    return doc;
}

/* Inserts rows (pointers); adds the new ones to *count. */
static vigil_err_t mg_insert_rows(vigil__mongo_t *mg, const vigil_detection_row_t *const *rows,
                                  size_t n, size_t *count, char *errstr, size_t errstr_size)
{
    if (n == 0) return VIGIL_OK;
    int64_t first;
    vigil_err_t err = vigil__mongo_next_ids(mg, "detections", (int64_t)n, &first, errstr,
                                            errstr_size);
    if (err) return err;
    bson_t **docs = calloc(n, sizeof(*docs));
    if (!docs)
        return vigil__mongo_fail(mg, VIGIL_ERR_NOMEM, NULL, errstr, errstr_size,
                                 "out of memory for %zu detections", n);
    size_t made = 0;
    for (; made < n; made++)
        if (!(docs[made] = mg_detection_doc(rows[made], first + (int64_t)made))) break;
    if (made < n) {
        err = vigil__mongo_fail(mg, VIGIL_ERR_NOMEM, NULL, errstr, errstr_size,
                                "out of memory for %zu detections", n);
    } else {
        char what[192];
        snprintf(what, sizeof(what),
                 "insert %zu detections (the first: camera \"%s\" sequence %" PRIu64 " idx %d)", n,
                 rows[0]->camera_id, rows[0]->sequence, rows[0]->idx);
        size_t inserted = 0;
        err = vigil__mongo_insert_many(mg, VIGIL__MG_DETECTIONS, (const bson_t **)docs, n,
                                       &inserted, what, errstr, errstr_size);
        if (!err) *count += inserted;
    }
    for (size_t i = 0; i < made; i++) bson_destroy(docs[i]);
    free(docs);
    return err;
}

vigil_err_t vigil__mongo_detections_put(vigil_store_t *store, const vigil_detection_row_t *rows,
                                        size_t n, size_t *inserted, char *errstr,
                                        size_t errstr_size)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    *inserted = 0;
    const vigil_detection_row_t **set = calloc(n ? n : 1, sizeof(*set));
    if (!set)
        return vigil__mongo_fail(mg, VIGIL_ERR_NOMEM, NULL, errstr, errstr_size,
                                 "out of memory for %zu detections", n);
    for (size_t i = 0; i < n; i++) set[i] = &rows[i];
    size_t count = 0;
    vigil_err_t err = mg_insert_rows(mg, set, n, &count, errstr, errstr_size);
    if (!err) *inserted = count;
    free(set);
    return err;
}

/* The frame's detection_count: -1 unprocessed, >= 0 processed, -2 no such
 * frame. */
static vigil_err_t mg_frame_state(vigil__mongo_t *mg, const vigil_frame_result_t *r,
                                  int64_t *state, char *errstr, size_t errstr_size)
{
    bson_t *filter = BCON_NEW("camera_id", BCON_UTF8(r->camera_id), "sequence",
                              BCON_INT64((int64_t)r->sequence));
    bson_t *opts = BCON_NEW("projection", "{", "detection_count", BCON_INT32(1), "}", "sort", "{",
                            "_id", BCON_INT32(1), "}", "limit", BCON_INT64(1));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(
        vigil__mongo_coll(mg, VIGIL__MG_FRAMES), filter, opts, NULL);
    const bson_t *doc;
    *state = -2;
    if (mongoc_cursor_next(cur, &doc)) *state = vigil__mongo_i64(doc, "detection_count");
    bson_error_t error;
    vigil_err_t err = VIGIL_OK;
    if (mongoc_cursor_error(cur, &error))
        err = vigil__mongo_fail(mg, 0, &error, errstr, errstr_size,
                                "read frame of camera \"%s\" sequence %" PRIu64, r->camera_id,
                                r->sequence);
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    bson_destroy(opts);
    return err;
}

static vigil_err_t mg_mark_processed(vigil__mongo_t *mg, const vigil_frame_result_t *r,
                                     char *errstr, size_t errstr_size)
{
    bson_t *filter = BCON_NEW("camera_id", BCON_UTF8(r->camera_id), "sequence",
                              BCON_INT64((int64_t)r->sequence), "detection_count",
                              BCON_INT64(-1));
    bson_t *update = BCON_NEW("$set", "{", "detection_count", BCON_INT64((int64_t)r->n), "}");
    bson_error_t error;
    vigil_err_t err = VIGIL_OK;
    if (!mongoc_collection_update_many(vigil__mongo_coll(mg, VIGIL__MG_FRAMES), filter, update,
                                       NULL, NULL, &error))
        err = vigil__mongo_fail(mg, 0, &error, errstr, errstr_size,
                                "mark frame of camera \"%s\" sequence %" PRIu64 " processed",
                                r->camera_id, r->sequence);
    bson_destroy(filter);
    bson_destroy(update);
    return err;
}

vigil_err_t vigil__mongo_results_put(vigil_store_t *store, const vigil_frame_result_t *results,
                                     size_t n, size_t *inserted, char *errstr,
                                     size_t errstr_size)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    *inserted = 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += results[i].n;
    const vigil_detection_row_t **set = calloc(total ? total : 1, sizeof(*set));
    int64_t *state = calloc(n ? n : 1, sizeof(*state));
    vigil_err_t err = VIGIL_OK;
    size_t count = 0, k = 0;
    if (!set || !state) {
        err = vigil__mongo_fail(mg, VIGIL_ERR_NOMEM, NULL, errstr, errstr_size,
                                "out of memory for %zu detections", total);
        goto out;
    }
    for (size_t i = 0; i < n && !err; i++) {
        err = mg_frame_state(mg, &results[i], &state[i], errstr, errstr_size);
        for (size_t j = 0; !err && state[i] < 0 && j < results[i].n; j++)
            set[k++] = &results[i].rows[j];
    }
    if (!err) err = mg_insert_rows(mg, set, k, &count, errstr, errstr_size);
    for (size_t i = 0; i < n && !err; i++)
        if (state[i] == -1) err = mg_mark_processed(mg, &results[i], errstr, errstr_size);
    if (!err) *inserted = count;
out:
    free(set);
    free(state);
    return err;
}

void vigil__mongo_detection_read(const bson_t *doc, vigil_detection_row_t *d)
{
    memset(d, 0, sizeof(*d));
    d->id = vigil__mongo_i64(doc, "_id");
    vigil__mongo_str(doc, "camera_id", d->camera_id, sizeof(d->camera_id));
    d->sequence = (uint64_t)vigil__mongo_i64(doc, "sequence");
    d->frame_id = vigil__mongo_i64(doc, "frame_id");
    d->capture_time_us = vigil__mongo_i64(doc, "capture_time_us");
    vigil__mongo_str(doc, "model", d->model, sizeof(d->model));
    d->idx = (int)vigil__mongo_i64(doc, "idx");
    vigil__mongo_str(doc, "label", d->label, sizeof(d->label));
    d->score = (float)vigil__mongo_dbl(doc, "score");
    d->x1 = (float)vigil__mongo_dbl(doc, "x1");
    d->y1 = (float)vigil__mongo_dbl(doc, "y1");
    d->x2 = (float)vigil__mongo_dbl(doc, "x2");
    d->y2 = (float)vigil__mongo_dbl(doc, "y2");
}

typedef struct mg_det_page {
    vigil_detection_row_t *rows;
    size_t n, cap;
} mg_det_page_t;

static vigil_err_t mg_det_add(void *arg, const bson_t *doc)
{
    mg_det_page_t *p = arg;
    if (p->n == p->cap) return VIGIL_OK; /* the one beyond the limit: only counted */
    vigil__mongo_detection_read(doc, &p->rows[p->n++]);
    return VIGIL_OK;
}

vigil_err_t vigil__mongo_detections_query(vigil_store_t *store, const vigil_detection_query_t *q,
                                          vigil_detection_row_t **rows_out, size_t *n_out,
                                          int64_t *next_after_id)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    bson_t filter = BSON_INITIALIZER;
    if (q->camera) BSON_APPEND_UTF8(&filter, "camera_id", q->camera);
    if (q->label) BSON_APPEND_UTF8(&filter, "label", q->label);
    if (q->since_us || q->until_us) {
        bson_t t;
        bson_append_document_begin(&filter, "capture_time_us", -1, &t);
        if (q->since_us) BSON_APPEND_INT64(&t, "$gte", q->since_us);
        if (q->until_us) BSON_APPEND_INT64(&t, "$lt", q->until_us);
        bson_append_document_end(&filter, &t);
    }
    if (q->min_score > 0) {
        bson_t s;
        bson_append_document_begin(&filter, "score", -1, &s);
        BSON_APPEND_DOUBLE(&s, "$gte", (double)q->min_score);
        bson_append_document_end(&filter, &s);
    }
    if (q->after_id > 0) {
        bson_t s;
        bson_append_document_begin(&filter, "_id", -1, &s);
        BSON_APPEND_INT64(&s, "$lt", q->after_id);
        bson_append_document_end(&filter, &s);
    }
    bson_t *opts = BCON_NEW("sort", "{", "_id", BCON_INT32(-1), "}", "limit",
                            BCON_INT64((int64_t)q->limit + 1));
    mg_det_page_t page = {calloc((size_t)q->limit, sizeof(*page.rows)), 0, (size_t)q->limit};
    vigil_err_t err = page.rows ? VIGIL_OK : VIGIL_ERR_NOMEM;
    size_t seen = 0;
    if (!err) {
        mongoc_cursor_t *cur = mongoc_collection_find_with_opts(
            vigil__mongo_coll(mg, VIGIL__MG_DETECTIONS), &filter, opts, NULL);
        const bson_t *doc;
        while (mongoc_cursor_next(cur, &doc)) {
            seen++;
            mg_det_add(&page, doc);
        }
        bson_error_t error;
        if (mongoc_cursor_error(cur, &error))
            err = vigil__mongo_fail(mg, 0, &error, NULL, 0, "query detections");
        mongoc_cursor_destroy(cur);
    }
    bson_destroy(&filter);
    bson_destroy(opts);
    if (err) {
        free(page.rows);
        return err;
    }
    *rows_out = page.rows;
    *n_out = page.n;
    *next_after_id = seen > page.n && page.n ? page.rows[page.n - 1].id : 0;
    return VIGIL_OK;
}
