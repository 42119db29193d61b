/* The search's statements for the SQL backends (store_search_int.h): one
 * text for SQLite and PostgreSQL, told apart by a dialect (placeholders,
 * LIKE or ILIKE, the literal true), so that what a filter means is written
 * once.
 *
 * The WHERE clause names only the filters that are set, every value a
 * bound parameter (lists as IN (...), at most VIGIL_SEARCH_LIST_MAX each);
 * the free text is a LIKE pattern over camera ids and names (through the
 * cameras table), labels, and the events' zone and line ids. The reviewed
 * filter is a literal, as the partial index analytics_events_unreviewed is
 * written.
 *
 * Thread: the caller's. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store/store_search_int.h"

#define TIME_COL(is_event) ((is_event) ? "start_us" : "capture_time_us")

static void sb_add(vigil__search_sql_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sb_add(vigil__search_sql_t *b, const char *fmt, ...)
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

/* Adds the placeholder of the next parameter, bound to v; cast: its
 * PostgreSQL type, or NULL. */
static void sb_bind(vigil__search_sql_t *b, vigil__search_bind_t v, const char *cast)
{
    if (b->nbinds == VIGIL__SEARCH_BINDS_MAX) {
        b->overflow = 1;
        return;
    }
    b->binds[b->nbinds++] = v;
    if (!b->dialect->numbered)
        sb_add(b, "?");
    else
        sb_add(b, "$%d%s%s", b->nbinds, cast ? "::" : "", cast ? cast : "");
}

static void sb_text(vigil__search_sql_t *b, const char *s)
{
    sb_bind(b, (vigil__search_bind_t){.type = 't', .s = s}, NULL);
}

static void sb_int(vigil__search_sql_t *b, int64_t v)
{
    sb_bind(b, (vigil__search_bind_t){.type = 'i', .i = v}, "bigint");
}

static void sb_double(vigil__search_sql_t *b, double v)
{
    sb_bind(b, (vigil__search_bind_t){.type = 'd', .d = v}, "float8");
}

/* "col IN (?, ...)" */
static void sb_list(vigil__search_sql_t *b, const char *col, const char *const *v, size_t n)
{
    sb_add(b, "%s IN (", col);
    for (size_t i = 0; i < n; i++) {
        if (i) sb_add(b, ", ");
        sb_text(b, v[i]);
    }
    sb_add(b, ")");
}

/* " AND col IN (...)" when n > 0. */
static void sb_in(vigil__search_sql_t *b, const char *col, const char *const *v, size_t n)
{
    if (!n) return;
    sb_add(b, " AND ");
    sb_list(b, col, v, n);
}

/* "col LIKE ? ESCAPE '\'" */
static void sb_like(vigil__search_sql_t *b, const char *col, const char *pattern)
{
    sb_add(b, "%s %s ", col, b->dialect->like);
    sb_text(b, pattern);
    sb_add(b, " ESCAPE '\\'");
}

/* The filter of one table (no cursor, no order). is_event: analytics_events. */
static void sb_filter(vigil__search_sql_t *b, const vigil_search_query_t *q, int is_event,
                      const char *pattern)
{
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
        sb_add(b, " AND %s >= ", TIME_COL(is_event));
        sb_int(b, q->since_us);
    }
    if (q->until_us) {
        sb_add(b, " AND %s < ", TIME_COL(is_event));
        sb_int(b, q->until_us);
    }
    if (q->min_score > 0) {
        sb_add(b, " AND %s >= ", score_col);
        sb_double(b, q->min_score);
    }
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

static void sb_init(vigil__search_sql_t *b, const vigil__search_dialect_t *dialect)
{
    b->len = 0;
    b->overflow = 0;
    b->nbinds = 0;
    b->sql[0] = '\0';
    b->dialect = dialect;
}

void vigil__search_sql_page(vigil__search_sql_t *b, const vigil__search_dialect_t *dialect,
                            const vigil_search_query_t *q, int is_event, const char *pattern,
                            const char *cols)
{
    sb_init(b, dialect);
    sb_add(b, "SELECT %s FROM %s WHERE %s", cols, is_event ? "analytics_events" : "detections",
           dialect->truth);
    sb_filter(b, q, is_event, pattern);
    if (q->after_id > 0) {
        /* (time, type, id) after the cursor's, newest first */
        sb_add(b, " AND (%s, id) < (", TIME_COL(is_event));
        sb_int(b, q->after_time_us);
        sb_add(b, ", ");
        sb_int(b, vigil__search_cursor_id(q, is_event));
        sb_add(b, ")");
    }
    sb_add(b, " ORDER BY %s DESC, id DESC LIMIT ", TIME_COL(is_event));
    sb_int(b, q->limit + 1);
}

void vigil__search_sql_facets(vigil__search_sql_t *b, const vigil__search_dialect_t *dialect,
                              const vigil_search_query_t *q, int is_event, const char *pattern)
{
    sb_init(b, dialect);
    sb_add(b, "WITH m AS MATERIALIZED (SELECT camera_id, label, %s FROM %s WHERE %s",
           is_event ? "zone, line, kind" : "'' AS zone, '' AS line, 'detection' AS kind",
           is_event ? "analytics_events" : "detections", dialect->truth);
    sb_filter(b, q, is_event, pattern);
    sb_add(b, " ORDER BY %s DESC, id DESC LIMIT %d) ", TIME_COL(is_event),
           VIGIL_SEARCH_FACET_ROWS);
    sb_add(b, "SELECT 0, camera_id, count(*) FROM m GROUP BY camera_id "
              "UNION ALL SELECT 1, label, count(*) FROM m GROUP BY label "
              "UNION ALL SELECT 2, zone, count(*) FROM m WHERE zone <> '' GROUP BY zone "
              "UNION ALL SELECT 3, line, count(*) FROM m WHERE line <> '' GROUP BY line "
              "UNION ALL SELECT 4, kind, count(*) FROM m GROUP BY kind "
              "UNION ALL SELECT 5, '', count(*) FROM m");
}

vigil_err_t vigil__search_sql_check(const vigil__search_sql_t *b, char *errstr,
                                    size_t errstr_size)
{
    if (!b->overflow) return VIGIL_OK;
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "search: query too long");
}
