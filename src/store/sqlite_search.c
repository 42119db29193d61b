/* The search over events and detections in SQLite (store.h, "search").
 *
 * Main idea: one query per table, each newest first and keyset-paged on
 * its own index (analytics_events (start_us, id), detections
 * (capture_time_us, id)), for one row more than the page; store_search.c
 * merges the two by (time, type, id) and sums the facets. The WHERE clause
 * is built from the filters that are set, every value bound (lists as
 * IN (?, ...), at most VIGIL_SEARCH_LIST_MAX each), and prepared per call:
 * the combinations are too many to cache and a search is not a hot path.
 *
 * Free text: a value contains the text (LIKE '%text%' with %, _ and \
 * escaped, so they match themselves; ASCII case-insensitive), over camera
 * ids and names (through the cameras table), zone and line ids and labels.
 *
 * Facets: counted over the VIGIL_SEARCH_FACET_ROWS newest matches of each
 * table (a materialized CTE grouped five ways), so that their cost is
 * bounded whatever the warehouse holds; facets_truncated says the bound
 * was reached.
 *
 * Thread: the handle's thread. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "store/store_resources_int.h"
#include "store/store_search_int.h"

#define SQL_MAX 8192
#define BINDS_MAX 200

typedef struct bind {
    int type; /* 't' text, 'i' int64, 'd' double */
    const char *s;
    int64_t i;
    double d;
} bind_t;

typedef struct sqlb {
    char sql[SQL_MAX];
    size_t len;
    int overflow;
    bind_t binds[BINDS_MAX];
    int nbinds;
} sqlb_t;

static void sb_add(sqlb_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sqlb_t *b, const char *fmt, ...)
{
    va_list ap;
    if (b->overflow) return;
    va_start(ap, fmt);
    int n = vsnprintf(b->sql + b->len, sizeof(b->sql) - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(b->sql) - b->len)
        b->overflow = 1;
    else
        b->len += (size_t)n;
}

/* Adds a "?" bound to a value. */
static void sb_text(sqlb_t *b, const char *s)
{
    if (b->nbinds == BINDS_MAX) {
        b->overflow = 1;
        return;
    }
    b->binds[b->nbinds++] = (bind_t){.type = 't', .s = s};
    sb_add(b, "?");
}

static void sb_int(sqlb_t *b, int64_t v)
{
    if (b->nbinds == BINDS_MAX) {
        b->overflow = 1;
        return;
    }
    b->binds[b->nbinds++] = (bind_t){.type = 'i', .i = v};
    sb_add(b, "?");
}

static void sb_double(sqlb_t *b, double v)
{
    if (b->nbinds == BINDS_MAX) {
        b->overflow = 1;
        return;
    }
    b->binds[b->nbinds++] = (bind_t){.type = 'd', .d = v};
    sb_add(b, "?");
}

/* " AND col IN (?, ...)" when n > 0. */
static void sb_in(sqlb_t *b, const char *col, const char *const *v, size_t n)
{
    if (!n) return;
    sb_add(b, " AND %s IN (", col);
    for (size_t i = 0; i < n; i++) {
        if (i) sb_add(b, ", ");
        sb_text(b, v[i]);
    }
    sb_add(b, ")");
}

/* The filter of one table (no cursor, no order). is_event: analytics_events. */
static void sb_filter(sqlb_t *b, const vigil_search_query_t *q, int is_event,
                      const char *pattern)
{
    const char *time_col = is_event ? "start_us" : "capture_time_us";
    const char *score_col = is_event ? "peak_score" : "score";

    sb_in(b, "camera_id", q->cameras, q->ncameras);
    sb_in(b, "label", q->labels, q->nlabels);
    if (is_event && q->nzones && q->nlines) {
        sb_add(b, " AND (zone IN (");
        for (size_t i = 0; i < q->nzones; i++) {
            if (i) sb_add(b, ", ");
            sb_text(b, q->zones[i]);
        }
        sb_add(b, ") OR line IN (");
        for (size_t i = 0; i < q->nlines; i++) {
            if (i) sb_add(b, ", ");
            sb_text(b, q->lines[i]);
        }
        sb_add(b, "))");
    } else if (is_event) {
        sb_in(b, "zone", q->zones, q->nzones);
        sb_in(b, "line", q->lines, q->nlines);
    }
    if (q->since_us) {
        sb_add(b, " AND %s >= ", time_col);
        sb_int(b, q->since_us);
    }
    if (q->until_us) {
        sb_add(b, " AND %s < ", time_col);
        sb_int(b, q->until_us);
    }
    if (q->min_score > 0) {
        sb_add(b, " AND %s >= ", score_col);
        sb_double(b, q->min_score);
    }
    if (is_event && q->reviewed == VIGIL_REVIEWED_YES) sb_add(b, " AND reviewed = 1");
    if (is_event && q->reviewed == VIGIL_REVIEWED_NO) sb_add(b, " AND reviewed = 0");
    if (pattern) {
        sb_add(b, " AND (camera_id IN (SELECT id FROM cameras WHERE id LIKE ");
        sb_text(b, pattern);
        sb_add(b, " ESCAPE '\\' OR name LIKE ");
        sb_text(b, pattern);
        sb_add(b, " ESCAPE '\\') OR label LIKE ");
        sb_text(b, pattern);
        sb_add(b, " ESCAPE '\\'");
        if (is_event) {
            sb_add(b, " OR zone LIKE ");
            sb_text(b, pattern);
            sb_add(b, " ESCAPE '\\' OR line LIKE ");
            sb_text(b, pattern);
            sb_add(b, " ESCAPE '\\'");
        }
        sb_add(b, ")");
    }
}

/* Prepares b's statement and binds its values; NULL with the error. */
static sqlite3_stmt *sb_prepare(vigil__sqlite_t *sq, sqlb_t *b, vigil_err_t *err, char *errstr,
                                size_t errstr_size)
{
    sqlite3_stmt *st = NULL;
    if (b->overflow) {
        *err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "search: query too long");
        return NULL;
    }
    int rc = sqlite3_prepare_v2(sq->db, b->sql, (int)b->len, &st, NULL);
    if (rc != SQLITE_OK) {
        *err = vigil__sq_error(sq, rc, "prepare search", errstr, errstr_size);
        sqlite3_finalize(st);
        return NULL;
    }
    for (int i = 0; i < b->nbinds; i++) {
        const bind_t *v = &b->binds[i];
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
    sqlb_t *b = calloc(1, sizeof(*b));
    vigil_err_t err = VIGIL_OK;
    if (!b) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "search: out of memory");
    if (is_event)
        sb_add(b, "SELECT " VIGIL__SQ_EVENT_COLS " FROM analytics_events WHERE 1");
    else
        sb_add(b, "SELECT id, camera_id, sequence, coalesce(frame_id, 0), capture_time_us, "
                  "model, idx, label, score, x1, y1, x2, y2 FROM detections WHERE 1");
    sb_filter(b, q, is_event, pattern);
    if (q->after_id > 0) {
        /* (time, type, id) after the cursor's, newest first */
        sb_add(b, " AND (%s, id) < (", VIGIL__SEARCH_TIME_COL(is_event));
        sb_int(b, q->after_time_us);
        sb_add(b, ", ");
        sb_int(b, vigil__search_cursor_id(q, is_event));
        sb_add(b, ")");
    }
    sb_add(b, " ORDER BY %s DESC, id DESC LIMIT ", VIGIL__SEARCH_TIME_COL(is_event));
    sb_int(b, q->limit + 1);
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
    sqlb_t *b = calloc(1, sizeof(*b));
    vigil_err_t err = VIGIL_OK;
    if (!b) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "search: out of memory");
    sb_add(b, "WITH m AS MATERIALIZED (SELECT camera_id, label, %s FROM %s WHERE 1",
           is_event ? "zone, line, kind" : "'' AS zone, '' AS line, 'detection' AS kind",
           is_event ? "analytics_events" : "detections");
    sb_filter(b, q, is_event, pattern);
    sb_add(b, " ORDER BY %s DESC, id DESC LIMIT %d) " VIGIL__SEARCH_FACETS_SQL,
           VIGIL__SEARCH_TIME_COL(is_event), VIGIL_SEARCH_FACET_ROWS);
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
