/* The backend-neutral half of the search (store_search_int.h): the merge of
 * the two tables' pages by one (time, type, id) order, the cursor's keyset
 * per table, and the facets' sum and cut. The backends (sqlite_search.c,
 * postgres_search.c) only read their tables.
 *
 * Thread: the caller's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_search_int.h"

/* The LIKE pattern of a free text: %text% with \, % and _ escaped. */
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

/* Whether this table takes part: detections have no zone, line or review. */
static int detections_wanted(const vigil_search_query_t *q)
{
    return (q->types & VIGIL_SEARCH_DETECTIONS) && !q->nzones && !q->nlines &&
           q->reviewed == VIGIL_REVIEWED_ANY;
}

int64_t vigil__search_cursor_id(const vigil_search_query_t *q, int is_event)
{
    if (is_event) return q->after_event ? q->after_id : 0;
    return q->after_event ? INT64_MAX : q->after_id;
}

static int64_t item_time(const vigil_search_item_t *it)
{
    return it->is_event ? it->event.ev.start_us : it->detection.capture_time_us;
}

static int64_t item_id(const vigil_search_item_t *it)
{
    return it->is_event ? it->event.id : it->detection.id;
}

int vigil_search_item_cmp(const void *pa, const void *pb)
{
    const vigil_search_item_t *a = pa, *b = pb;
    int64_t ta = item_time(a), tb = item_time(b);
    if (ta != tb) return ta > tb ? -1 : 1;
    if (a->is_event != b->is_event) return a->is_event ? -1 : 1;
    int64_t ia = item_id(a), ib = item_id(b);
    return ia > ib ? -1 : ia < ib;
}

/* ---- facets -------------------------------------------------------------- */

vigil_facet_t *vigil__search_facet_new(vigil__search_facets_t *fs, char *errstr,
                                       size_t errstr_size)
{
    vigil_search_result_t *res = fs->res;
    if (res->nfacets == fs->cap) {
        size_t nc = fs->cap ? fs->cap * 2 : 64;
        vigil_facet_t *grown = realloc(res->facets, nc * sizeof(*res->facets));
        if (!grown) {
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "search: out of memory");
            return NULL;
        }
        res->facets = grown;
        fs->cap = nc;
    }
    vigil_facet_t *f = &res->facets[res->nfacets++];
    memset(f, 0, sizeof(*f));
    return f;
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

/* ---- the search ---------------------------------------------------------- */

vigil_err_t vigil__search_run(const vigil__search_backend_t *be, void *ctx,
                              const vigil_search_query_t *q, vigil_search_result_t *res,
                              char *errstr, size_t errstr_size)
{
    char pattern[VIGIL_SEARCH_TEXT_MAX * 2 + 4];
    const char *pat = NULL;
    int events = (q->types & VIGIL_SEARCH_EVENTS) != 0, dets = detections_wanted(q);
    size_t n = 0;
    vigil_err_t err = VIGIL_OK;

    if (q->text && q->text[0]) {
        like_pattern(q->text, pattern, sizeof(pattern));
        pat = pattern;
    }
    res->items = calloc(2 * ((size_t)q->limit + 1), sizeof(*res->items));
    if (!res->items)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "search: out of memory");
    if (events && (err = be->page(ctx, q, 1, pat, res->items, &n, errstr, errstr_size)))
        return err;
    if (dets && (err = be->page(ctx, q, 0, pat, res->items, &n, errstr, errstr_size)))
        return err;
    qsort(res->items, n, sizeof(*res->items), vigil_search_item_cmp);
    res->more = n > (size_t)q->limit;
    res->nitems = res->more ? (size_t)q->limit : n;
    if (!q->facets) return VIGIL_OK;
    vigil__search_facets_t fs = {.res = res};
    for (int is_event = 1; is_event >= 0; is_event--) {
        int64_t total = 0;
        if (!(is_event ? events : dets)) continue;
        if ((err = be->facets(ctx, q, is_event, pat, &fs, &total, errstr, errstr_size)))
            return err;
        if (total >= VIGIL_SEARCH_FACET_ROWS) res->facets_truncated = 1;
    }
    facets_merge(res->facets, &res->nfacets);
    return VIGIL_OK;
}
