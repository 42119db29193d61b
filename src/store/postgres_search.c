/* The search over events and detections in PostgreSQL (store.h, "search"),
 * the same query as sqlite_search.c.
 *
 * Main idea: one query per table, each newest first and keyset-paged on
 * its own index (analytics_events (start_us, id), detections
 * (capture_time_us) per day partition), for one row more than the page;
 * store_search.c merges the two by (time, type, id) and sums the facets.
 * The WHERE clause is built from the filters that are set, every value a
 * $n parameter (lists as IN ($1, ...), at most VIGIL_SEARCH_LIST_MAX each);
 * the statement is not prepared: the combinations are too many to keep and
 * a search is not a hot path.
 *
 * Free text: a value contains the text (ILIKE '%text%' with %, _ and \
 * escaped, so they match themselves), over camera ids and names (through
 * the cameras table), zone and line ids and labels.
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

#include "store/postgres_exec.h"
#include "store/store_resources_int.h"
#include "store/store_search_int.h"

#define SQL_MAX 8192

typedef struct pgs_sql {
    char sql[SQL_MAX];
    size_t len;
    int overflow;
    vigil__pgx_params_t p;
} pgs_sql_t;

static void sb_add(pgs_sql_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(pgs_sql_t *b, const char *fmt, ...)
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

/* Adds "$n" bound to a value. */
static void sb_text(pgs_sql_t *b, const char *s)
{
    sb_add(b, "$%d", vigil__pgx_text(&b->p, s));
}

static void sb_int(pgs_sql_t *b, int64_t v)
{
    sb_add(b, "$%d::bigint", vigil__pgx_int(&b->p, v));
}

static void sb_double(pgs_sql_t *b, double v)
{
    sb_add(b, "$%d::float8", vigil__pgx_double(&b->p, v));
}

/* "col IN ($a, ...)" */
static void sb_list(pgs_sql_t *b, const char *col, const char *const *v, size_t n)
{
    sb_add(b, "%s IN (", col);
    for (size_t i = 0; i < n; i++) {
        if (i) sb_add(b, ", ");
        sb_text(b, v[i]);
    }
    sb_add(b, ")");
}

/* " AND col IN (...)" when n > 0. */
static void sb_in(pgs_sql_t *b, const char *col, const char *const *v, size_t n)
{
    if (!n) return;
    sb_add(b, " AND ");
    sb_list(b, col, v, n);
}

/* " AND col ILIKE $n ESCAPE '\'" */
static void sb_like(pgs_sql_t *b, const char *col, const char *pattern)
{
    sb_add(b, "%s ILIKE ", col);
    sb_text(b, pattern);
    sb_add(b, " ESCAPE '\\'");
}

/* The filter of one table (no cursor, no order). is_event: analytics_events. */
static void sb_filter(pgs_sql_t *b, const vigil_search_query_t *q, int is_event,
                      const char *pattern)
{
    const char *time_col = is_event ? "start_us" : "capture_time_us";
    const char *score_col = is_event ? "peak_score" : "score";

    sb_in(b, "camera_id", q->cameras, q->ncameras);
    sb_in(b, "label", q->labels, q->nlabels);
    if (is_event && q->nzones && q->nlines) {
        sb_add(b, " AND (");
        sb_list(b, "zone", q->zones, q->nzones);
        sb_add(b, " OR ");
        sb_list(b, "line", q->lines, q->nlines);
        sb_add(b, ")");
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
    /* literals, as the partial index analytics_events_unreviewed is written */
    if (is_event && q->reviewed == VIGIL_REVIEWED_YES) sb_add(b, " AND reviewed = 1");
    if (is_event && q->reviewed == VIGIL_REVIEWED_NO) sb_add(b, " AND reviewed = 0");
    if (pattern) {
        sb_add(b, " AND (camera_id IN (SELECT id FROM cameras WHERE ");
        sb_like(b, "id", pattern);
        sb_add(b, " OR ");
        sb_like(b, "name", pattern);
        sb_add(b, ") OR ");
        sb_like(b, "label", pattern);
        if (is_event) {
            sb_add(b, " OR ");
            sb_like(b, "zone", pattern);
            sb_add(b, " OR ");
            sb_like(b, "line", pattern);
        }
        sb_add(b, ")");
    }
}

/* Runs b; NULL with the error. */
static PGresult *sb_exec(vigil_store_t *store, pgs_sql_t *b, const char *what, vigil_err_t *err,
                         char *errstr, size_t errstr_size)
{
    if (b->overflow) {
        *err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "search: query too long");
        return NULL;
    }
    return vigil__pgx_exec(store, -1, b->sql, &b->p, what, err, errstr, errstr_size);
}

/* One page (limit + 1 rows) of one table into items[*n...]. */
static vigil_err_t page(void *ctx, const vigil_search_query_t *q, int is_event,
                        const char *pattern, vigil_search_item_t *items, size_t *n,
                        char *errstr, size_t errstr_size)
{
    vigil_store_t *store = ctx;
    pgs_sql_t *b = calloc(1, sizeof(*b));
    vigil_err_t err = VIGIL_OK;
    if (!b) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "search: out of memory");
    if (is_event)
        sb_add(b, "SELECT " VIGIL__PG_EVENT_COLS " FROM analytics_events WHERE true");
    else
        sb_add(b, "SELECT " VIGIL__PG_DETECTION_COLS " FROM detections WHERE true");
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
    PGresult *r = sb_exec(store, b, "search", &err, errstr, errstr_size);
    free(b);
    if (!r) return err;
    int rows = PQntuples(r);
    for (int i = 0; i < rows && i <= q->limit; i++) {
        vigil_search_item_t *it = &items[(*n)++];
        memset(it, 0, sizeof(*it));
        it->is_event = is_event;
        if (is_event)
            vigil__pg_event_from_row(r, i, 0, &it->event);
        else
            vigil__pg_detection_from_row(r, i, 0, &it->detection);
    }
    PQclear(r);
    return VIGIL_OK;
}

/* ---- facets -------------------------------------------------------------- */

/* Adds one table's facet counts to fs; *total gets its row count. */
static vigil_err_t facets_of(void *ctx, const vigil_search_query_t *q, int is_event,
                             const char *pattern, vigil__search_facets_t *fs, int64_t *total,
                             char *errstr, size_t errstr_size)
{
    vigil_store_t *store = ctx;
    pgs_sql_t *b = calloc(1, sizeof(*b));
    vigil_err_t err = VIGIL_OK;
    if (!b) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "search: out of memory");
    sb_add(b, "WITH m AS MATERIALIZED (SELECT camera_id, label, %s FROM %s WHERE true",
           is_event ? "zone, line, kind" : "'' AS zone, '' AS line, 'detection' AS kind",
           is_event ? "analytics_events" : "detections");
    sb_filter(b, q, is_event, pattern);
    sb_add(b, " ORDER BY %s DESC, id DESC LIMIT %d) " VIGIL__SEARCH_FACETS_SQL,
           VIGIL__SEARCH_TIME_COL(is_event), VIGIL_SEARCH_FACET_ROWS);
    PGresult *r = sb_exec(store, b, "search facets", &err, errstr, errstr_size);
    free(b);
    if (!r) return err;
    int rows = PQntuples(r);
    for (int i = 0; i < rows; i++) {
        int dim = (int)vigil__pg_int64(r, i, 0);
        if (dim == VIGIL__SEARCH_FACETS_TOTAL) {
            *total = vigil__pg_int64(r, i, 2);
            continue;
        }
        vigil_facet_t *f = vigil__search_facet_new(fs, errstr, errstr_size);
        if (!f) {
            err = VIGIL_ERR_NOMEM;
            break;
        }
        f->dim = (vigil_facet_dim_t)dim;
        vigil__pg_text(r, i, 1, f->value, sizeof(f->value));
        f->count = vigil__pg_int64(r, i, 2);
    }
    PQclear(r);
    return err;
}

vigil_err_t vigil__pg_search(vigil_store_t *store, const vigil_search_query_t *q,
                             vigil_search_result_t *res, char *errstr, size_t errstr_size)
{
    static const vigil__search_backend_t be = {.page = page, .facets = facets_of};
    return vigil__search_run(&be, store, q, res, errstr, errstr_size);
}
