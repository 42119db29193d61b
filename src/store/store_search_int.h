/* The backend-neutral half of the search (store.h, "search"): what every
 * backend's search shares, so that a backend only reads its tables.
 *
 * vigil__search_run is the search: it asks the backend for one page
 * (limit + 1 rows, newest first, after the cursor) of each table that takes
 * part, merges the two by (time, type, id) with events before detections
 * at equal times, cuts the page and says whether more follow; then, when
 * facets are asked for, it asks the backend for each table's facet counts
 * (over its VIGIL_SEARCH_FACET_ROWS newest matches), sums equal values of
 * the two tables and keeps the VIGIL_SEARCH_FACET_VALUES most frequent of
 * each dimension. The one opaque cursor (time, type, id) thus pages through
 * both tables without repeating or skipping an item, whatever the backend.
 *
 * Thread: the caller's (the handle's thread); nothing here is shared. */
#ifndef VIGIL_STORE_SEARCH_INT_H
#define VIGIL_STORE_SEARCH_INT_H

#include "store/store_int.h"

/* Where a backend appends one table's facet counts (res->facets grows). */
typedef struct vigil__search_facets {
    vigil_search_result_t *res;
    size_t cap;
} vigil__search_facets_t;

/* One backend's reads. ctx is the backend's (its handle). Both fill errstr
 * on failure; what they appended before it is released with res. */
typedef struct vigil__search_backend {
    /* Appends the rows of one table (is_event: analytics events, else
     * detections) that match q, after q's cursor, newest first, at most
     * q->limit + 1 of them, to items[*n...], each zeroed and with its
     * is_event set. pattern: NULL, or q->text as a LIKE pattern
     * (%text% with \, % and _ escaped by \). */
    vigil_err_t (*page)(void *ctx, const vigil_search_query_t *q, int is_event,
                        const char *pattern, vigil_search_item_t *items, size_t *n,
                        char *errstr, size_t errstr_size);
    /* Adds the facet counts of one table's VIGIL_SEARCH_FACET_ROWS newest
     * matches to fs (vigil__search_facet_new for each); *total gets how many
     * rows they counted. */
    vigil_err_t (*facets)(void *ctx, const vigil_search_query_t *q, int is_event,
                          const char *pattern, vigil__search_facets_t *fs, int64_t *total,
                          char *errstr, size_t errstr_size);
} vigil__search_backend_t;

/* The search over a backend: q checked and res zeroed (as the resources
 * op `search`). res->items is allocated here (room for both tables' pages);
 * on failure res holds what was read so far, for
 * vigil_search_result_release. */
vigil_err_t vigil__search_run(const vigil__search_backend_t *be, void *ctx,
                              const vigil_search_query_t *q, vigil_search_result_t *res,
                              char *errstr, size_t errstr_size);

/* The next facet slot of fs, zeroed; NULL when out of memory (errstr
 * filled). */
vigil_facet_t *vigil__search_facet_new(vigil__search_facets_t *fs, char *errstr,
                                       size_t errstr_size);

/* The id half of q's cursor (time, id) for one table's keyset, so that
 * "(time, id) < (q->after_time_us, this)" newest first keeps the items
 * after the cursor's: events rank above detections at equal times. */
int64_t vigil__search_cursor_id(const vigil_search_query_t *q, int is_event);

/* ---- the SQL backends' statements (store_search_sql.c) -----------------
 *
 * SQLite and PostgreSQL run the same two statements per table, written
 * once here in a dialect: the page (the table's columns the backend reads,
 * the filter, the cursor's keyset, newest first, limit + 1 rows) and the
 * facet count (a materialized CTE of the VIGIL_SEARCH_FACET_ROWS newest
 * matches grouped five ways: rows of (dimension, value, count), dimension
 * VIGIL__SEARCH_FACETS_TOTAL the rows counted). Every value is a bound
 * parameter, collected in binds for the backend to bind in order. */
#define VIGIL__SEARCH_SQL_MAX 8192
#define VIGIL__SEARCH_BINDS_MAX 200
#define VIGIL__SEARCH_FACETS_TOTAL 5

typedef struct vigil__search_dialect {
    int numbered;     /* placeholders $1.. with casts (PostgreSQL), else ? */
    const char *like; /* "LIKE" (SQLite: ASCII case-insensitive) or "ILIKE" */
    const char *truth; /* "1" or "true": WHERE <truth> AND ... */
} vigil__search_dialect_t;

typedef struct vigil__search_bind {
    int type; /* 't' text (not copied), 'i' int64, 'd' double */
    const char *s;
    int64_t i;
    double d;
} vigil__search_bind_t;

typedef struct vigil__search_sql {
    char sql[VIGIL__SEARCH_SQL_MAX];
    size_t len;
    int overflow; /* the SQL or the binds did not fit: refuse the query */
    vigil__search_bind_t binds[VIGIL__SEARCH_BINDS_MAX];
    int nbinds;
    const vigil__search_dialect_t *dialect;
} vigil__search_sql_t;

/* The page statement of one table into b (initialized here): SELECT cols
 * (the backend's column list of the table). */
void vigil__search_sql_page(vigil__search_sql_t *b, const vigil__search_dialect_t *dialect,
                            const vigil_search_query_t *q, int is_event, const char *pattern,
                            const char *cols);
/* The facet statement of one table into b (initialized here). */
void vigil__search_sql_facets(vigil__search_sql_t *b, const vigil__search_dialect_t *dialect,
                              const vigil_search_query_t *q, int is_event, const char *pattern);
/* VIGIL_ERR_INVALID "search: query too long" when b overflowed, else OK. */
vigil_err_t vigil__search_sql_check(const vigil__search_sql_t *b, char *errstr,
                                    size_t errstr_size);

#endif
