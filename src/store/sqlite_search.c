/* The search over events and detections in SQLite (store.h, "search").
 *
 * Main idea: one query per table, each newest first and keyset-paged on
 * its own index (analytics_events (start_us, id), detections
 * (capture_time_us, id)), for one row more than the page; store_search.c
 * merges the two by (time, type, id) and sums the facets, and
 * store_search_sql.c writes the statements (LIKE: ASCII case-insensitive).
 * Each is prepared per call: the combinations are too many to cache and a
 * search is not a hot path.
 *
 * Thread: the handle's thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "store/store_resources_int.h"
#include "store/store_search_int.h"

static const vigil__search_dialect_t sq_dialect = {.numbered = 0, .like = "LIKE", .truth = "1"};

/* Prepares b's statement and binds its values; NULL with the error. */
static sqlite3_stmt *sb_prepare(vigil__sqlite_t *sq, const vigil__search_sql_t *b,
                                vigil_err_t *err, char *errstr, size_t errstr_size)
{
    sqlite3_stmt *st = NULL;
    if ((*err = vigil__search_sql_check(b, errstr, errstr_size))) return NULL;
    int rc = sqlite3_prepare_v2(sq->db, b->sql, (int)b->len, &st, NULL);
    if (rc != SQLITE_OK) {
        *err = vigil__sq_error(sq, rc, "prepare search", errstr, errstr_size);
        sqlite3_finalize(st);
        return NULL;
    }
    for (int i = 0; i < b->nbinds; i++) {
        const vigil__search_bind_t *v = &b->binds[i];
        if (v->type == 't')
            sqlite3_bind_text(st, i + 1, v->s, -1, SQLITE_STATIC);
        else if (v->type == 'i')
            sqlite3_bind_int64(st, i + 1, v->i);
        else
            sqlite3_bind_double(st, i + 1, v->d);
    }
    return st;
}

/* One page (limit + 1 rows) of one table into items[*n...]. */
static vigil_err_t page(void *ctx, const vigil_search_query_t *q, int is_event,
                        const char *pattern, vigil_search_item_t *items, size_t *n,
                        char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = ctx;
    vigil__search_sql_t *b = calloc(1, sizeof(*b));
    vigil_err_t err = VIGIL_OK;
    if (!b) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "search: out of memory");
    vigil__search_sql_page(b, &sq_dialect, q, is_event, pattern,
                           is_event ? VIGIL__SQ_EVENT_COLS
                                    : "id, camera_id, sequence, coalesce(frame_id, 0), "
                                      "capture_time_us, model, idx, label, score, x1, y1, x2, y2");
    sqlite3_stmt *st = sb_prepare(sq, b, &err, errstr, errstr_size);
    if (!st) goto done;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        vigil_search_item_t *it = &items[(*n)++];
        memset(it, 0, sizeof(*it));
        it->is_event = is_event;
        if (is_event) {
            vigil__sq_event_from_row(st, &it->event);
            continue;
        }
        vigil_detection_row_t *d = &it->detection;
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
    if (rc != SQLITE_DONE) err = vigil__sq_error(sq, rc, "search", errstr, errstr_size);
    sqlite3_finalize(st);
done:
    free(b);
    return err;
}

/* ---- facets -------------------------------------------------------------- */

/* Adds one table's facet counts to fs; *total gets its row count. */
static vigil_err_t facets_of(void *ctx, const vigil_search_query_t *q, int is_event,
                             const char *pattern, vigil__search_facets_t *fs, int64_t *total,
                             char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = ctx;
    vigil__search_sql_t *b = calloc(1, sizeof(*b));
    vigil_err_t err = VIGIL_OK;
    if (!b) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "search: out of memory");
    vigil__search_sql_facets(b, &sq_dialect, q, is_event, pattern);
    sqlite3_stmt *st = sb_prepare(sq, b, &err, errstr, errstr_size);
    if (!st) goto done;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int dim = sqlite3_column_int(st, 0);
        if (dim == VIGIL__SEARCH_FACETS_TOTAL) {
            *total = sqlite3_column_int64(st, 2);
            continue;
        }
        vigil_facet_t *f = vigil__search_facet_new(fs, errstr, errstr_size);
        if (!f) {
            err = VIGIL_ERR_NOMEM;
            break;
        }
        f->dim = (vigil_facet_dim_t)dim;
        vigil__sq_text(st, 1, f->value, sizeof(f->value));
        f->count = sqlite3_column_int64(st, 2);
    }
    if (!err && rc != SQLITE_DONE) err = vigil__sq_error(sq, rc, "search facets", errstr, errstr_size);
    sqlite3_finalize(st);
done:
    free(b);
    return err;
}

vigil_err_t vigil__sq_search(vigil_store_t *store, const vigil_search_query_t *q,
                             vigil_search_result_t *res, char *errstr, size_t errstr_size)
{
    static const vigil__search_backend_t be = {.page = page, .facets = facets_of};
    return vigil__search_run(&be, vigil__sq(store), q, res, errstr, errstr_size);
}
