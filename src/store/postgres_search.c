/* The search over events and detections in PostgreSQL (store.h, "search"),
 * the same query as sqlite_search.c.
 *
 * Main idea: one query per table, each newest first and keyset-paged on
 * its own index (analytics_events (start_us, id), detections
 * (capture_time_us) per day partition), for one row more than the page; the
 * two are merged here by (time, type, id) with events before detections at
 * equal times, so that one opaque cursor (time, type, id) pages through both
 * without repeating or skipping an item. The WHERE clause is built from the
 * filters that are set, every value a $n parameter (lists as IN ($1, ...),
 * at most VIGIL_SEARCH_LIST_MAX each); the statement is not prepared: the
 * combinations are too many to keep and a search is not a hot path.
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

/* The ILIKE pattern of a free text: %text% with \, % and _ escaped. */
static void like_pattern(const char *text, char *out, size_t size)
{
    size_t o = 0;
    if (size < 3) return;
    out[o++] = '%';
    for (const char *p = text; *p && o + 4 < size; p++) {
        if (*p == '%' || *p == '_' || *p == '\\') out[o++] = '\\';
        out[o++] = *p;
    }
    out[o++] = '%';
    out[o] = '\0';
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

/* Whether this table takes part: detections have no zone, line or review. */
static int detections_wanted(const vigil_search_query_t *q)
{
    return (q->types & VIGIL_SEARCH_DETECTIONS) && !q->nzones && !q->nlines &&
           q->reviewed == VIGIL_REVIEWED_ANY;
}

/* One page (limit + 1 rows) of one table into items[*n...]. */
static vigil_err_t page(vigil_store_t *store, const vigil_search_query_t *q, int is_event,
                        const char *pattern, vigil_search_item_t *items, size_t *n,
                        char *errstr, size_t errstr_size)
{
    pgs_sql_t *b = calloc(1, sizeof(*b));
    vigil_err_t err = VIGIL_OK;
    if (!b) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "search: out of memory");
    if (is_event)
        sb_add(b, "SELECT " VIGIL__PG_EVENT_COLS " FROM analytics_events WHERE true");
    else
        sb_add(b, "SELECT " VIGIL__PG_DETECTION_COLS " FROM detections WHERE true");
    sb_filter(b, q, is_event, pattern);
    if (q->after_id > 0) {
        /* (time, type, id) after the cursor's, newest first; events rank
         * above detections at equal times */
        int64_t id = is_event ? (q->after_event ? q->after_id : 0)
                              : (q->after_event ? INT64_MAX : q->after_id);
        sb_add(b, " AND (%s, id) < (", is_event ? "start_us" : "capture_time_us");
        sb_int(b, q->after_time_us);
        sb_add(b, ", ");
        sb_int(b, id);
        sb_add(b, ")");
    }
    sb_add(b, " ORDER BY %s DESC, id DESC LIMIT ", is_event ? "start_us" : "capture_time_us");
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

static int64_t item_time(const vigil_search_item_t *it)
{
    return it->is_event ? it->event.ev.start_us : it->detection.capture_time_us;
}

static int64_t item_id(const vigil_search_item_t *it)
{
    return it->is_event ? it->event.id : it->detection.id;
}

/* Newest first: time, then events before detections, then id, descending. */
static int item_cmp(const void *pa, const void *pb)
{
    const vigil_search_item_t *a = pa, *b = pb;
    int64_t ta = item_time(a), tb = item_time(b);
    if (ta != tb) return ta > tb ? -1 : 1;
    if (a->is_event != b->is_event) return a->is_event ? -1 : 1;
    int64_t ia = item_id(a), ib = item_id(b);
    return ia > ib ? -1 : ia < ib;
}

/* ---- facets -------------------------------------------------------------- */

/* Appends one table's facet counts to *facets; *total gets its row count. */
static vigil_err_t facets_of(vigil_store_t *store, const vigil_search_query_t *q, int is_event,
                             const char *pattern, vigil_facet_t **facets, size_t *n,
                             size_t *cap, int64_t *total, char *errstr, size_t errstr_size)
{
    pgs_sql_t *b = calloc(1, sizeof(*b));
    vigil_err_t err = VIGIL_OK;
    if (!b) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "search: out of memory");
    sb_add(b, "WITH m AS MATERIALIZED (SELECT camera_id, label, %s FROM %s WHERE true",
           is_event ? "zone, line, kind" : "'' AS zone, '' AS line, 'detection' AS kind",
           is_event ? "analytics_events" : "detections");
    sb_filter(b, q, is_event, pattern);
    sb_add(b, " ORDER BY %s DESC, id DESC LIMIT %d) ", is_event ? "start_us" : "capture_time_us",
           VIGIL_SEARCH_FACET_ROWS);
    sb_add(b, "SELECT 0, camera_id, count(*) FROM m GROUP BY camera_id "
              "UNION ALL SELECT 1, label, count(*) FROM m GROUP BY label "
              "UNION ALL SELECT 2, zone, count(*) FROM m WHERE zone <> '' GROUP BY zone "
              "UNION ALL SELECT 3, line, count(*) FROM m WHERE line <> '' GROUP BY line "
              "UNION ALL SELECT 4, kind, count(*) FROM m GROUP BY kind "
              "UNION ALL SELECT 5, '', count(*) FROM m");
    PGresult *r = sb_exec(store, b, "search facets", &err, errstr, errstr_size);
    free(b);
    if (!r) return err;
    int rows = PQntuples(r);
    for (int i = 0; i < rows; i++) {
        int dim = (int)vigil__pg_int64(r, i, 0);
        if (dim == 5) {
            *total = vigil__pg_int64(r, i, 2);
            continue;
        }
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 64;
            vigil_facet_t *grown = realloc(*facets, nc * sizeof(**facets));
            if (!grown) {
                err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "search: out of memory");
                break;
            }
            *facets = grown;
            *cap = nc;
        }
        vigil_facet_t *f = &(*facets)[(*n)++];
        f->dim = (vigil_facet_dim_t)dim;
        vigil__pg_text(r, i, 1, f->value, sizeof(f->value));
        f->count = vigil__pg_int64(r, i, 2);
    }
    PQclear(r);
    return err;
}

static int facet_by_key(const void *pa, const void *pb)
{
    const vigil_facet_t *a = pa, *b = pb;
    if (a->dim != b->dim) return a->dim < b->dim ? -1 : 1;
    return strcmp(a->value, b->value);
}

/* By dimension, most frequent first, then by value. */
static int facet_by_count(const void *pa, const void *pb)
{
    const vigil_facet_t *a = pa, *b = pb;
    if (a->dim != b->dim) return a->dim < b->dim ? -1 : 1;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return strcmp(a->value, b->value);
}

/* Sums equal (dim, value) pairs of the two tables and keeps the
 * VIGIL_SEARCH_FACET_VALUES most frequent values of each dimension. */
static void facets_merge(vigil_facet_t *f, size_t *n)
{
    size_t out = 0;
    if (!*n) return;
    qsort(f, *n, sizeof(*f), facet_by_key);
    for (size_t i = 0; i < *n; i++) {
        if (out && f[out - 1].dim == f[i].dim && strcmp(f[out - 1].value, f[i].value) == 0)
            f[out - 1].count += f[i].count;
        else
            f[out++] = f[i];
    }
    qsort(f, out, sizeof(*f), facet_by_count);
    size_t kept = 0, in_dim = 0;
    for (size_t i = 0; i < out; i++) {
        in_dim = kept && f[kept - 1].dim == f[i].dim ? in_dim + 1 : 0;
        if (in_dim < VIGIL_SEARCH_FACET_VALUES) f[kept++] = f[i];
    }
    *n = kept;
}

vigil_err_t vigil__pg_search(vigil_store_t *store, const vigil_search_query_t *q,
                             vigil_search_result_t *res, char *errstr, size_t errstr_size)
{
    char pattern[VIGIL_SEARCH_TEXT_MAX * 2 + 4];
    const char *pat = NULL;
    int events = (q->types & VIGIL_SEARCH_EVENTS) != 0, dets = detections_wanted(q);
    size_t n = 0, cap = 0;
    vigil_err_t err = VIGIL_OK;

    if (q->text && q->text[0]) {
        like_pattern(q->text, pattern, sizeof(pattern));
        pat = pattern;
    }
    res->items = calloc(2 * ((size_t)q->limit + 1), sizeof(*res->items));
    if (!res->items)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "search: out of memory");
    if (events && (err = page(store, q, 1, pat, res->items, &n, errstr, errstr_size))) return err;
    if (dets && (err = page(store, q, 0, pat, res->items, &n, errstr, errstr_size))) return err;
    qsort(res->items, n, sizeof(*res->items), item_cmp);
    res->more = n > (size_t)q->limit;
    res->nitems = res->more ? (size_t)q->limit : n;
    if (!q->facets) return VIGIL_OK;
    int64_t total = 0;
    if (events && (err = facets_of(store, q, 1, pat, &res->facets, &res->nfacets, &cap, &total,
                                   errstr, errstr_size)))
        return err;
    if (total >= VIGIL_SEARCH_FACET_ROWS) res->facets_truncated = 1;
    total = 0;
    if (dets && (err = facets_of(store, q, 0, pat, &res->facets, &res->nfacets, &cap, &total,
                                 errstr, errstr_size)))
        return err;
    if (total >= VIGIL_SEARCH_FACET_ROWS) res->facets_truncated = 1;
    facets_merge(res->facets, &res->nfacets);
    return VIGIL_OK;
}
