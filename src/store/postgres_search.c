/* The search over events and detections in PostgreSQL (store.h, "search"),
 * the same query as sqlite_search.c.
 *
 * Main idea: one query per table, each newest first and keyset-paged on
 * its own index (analytics_events (start_us, id), detections
 * (capture_time_us) per day partition), for one row more than the page;
 * store_search.c merges the two by (time, type, id) and sums the facets,
 * and store_search_sql.c writes the statements ($n parameters, ILIKE).
 * They are not prepared: the combinations are too many to keep and a
 * search is not a hot path.
 *
 * Thread: the handle's thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres_exec.h"
#include "store/store_resources_int.h"
#include "store/store_search_int.h"

static const vigil__search_dialect_t pg_dialect = {
    .numbered = 1, .like = "ILIKE", .truth = "true"};

/* Runs b (its binds as parameters, in order); NULL with the error. */
static PGresult *sb_exec(vigil_store_t *store, const vigil__search_sql_t *b, const char *what,
                         vigil_err_t *err, char *errstr, size_t errstr_size)
{
    vigil__pgx_params_t p = {0};
    if ((*err = vigil__search_sql_check(b, errstr, errstr_size))) return NULL;
    for (int i = 0; i < b->nbinds; i++) {
        const vigil__search_bind_t *v = &b->binds[i];
        if (v->type == 't')
            vigil__pgx_text(&p, v->s);
        else if (v->type == 'i')
            vigil__pgx_int(&p, v->i);
        else
            vigil__pgx_double(&p, v->d);
    }
    return vigil__pgx_exec(store, -1, b->sql, &p, what, err, errstr, errstr_size);
}

/* One page (limit + 1 rows) of one table into items[*n...]. */
static vigil_err_t page(void *ctx, const vigil_search_query_t *q, int is_event,
                        const char *pattern, vigil_search_item_t *items, size_t *n,
                        char *errstr, size_t errstr_size)
{
    vigil_store_t *store = ctx;
    vigil__search_sql_t *b = calloc(1, sizeof(*b));
    vigil_err_t err = VIGIL_OK;
    if (!b) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "search: out of memory");
    vigil__search_sql_page(b, &pg_dialect, q, is_event, pattern,
                           is_event ? VIGIL__PG_EVENT_COLS : VIGIL__PG_DETECTION_COLS);
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
    vigil__search_sql_t *b = calloc(1, sizeof(*b));
    vigil_err_t err = VIGIL_OK;
    if (!b) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "search: out of memory");
    vigil__search_sql_facets(b, &pg_dialect, q, is_event, pattern);
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
