/* The search over events and detections on MongoDB (store.h, "search").
 *
 * Main idea: the backend-neutral search (store_search.c) asks for one page
 * and the facet counts of each table; here each is one command on that
 * table's collection, with the filter written once (mg_filter) as the SQL
 * backends' store_search_sql.c writes their WHERE clause:
 *  - page: a find, sorted (time, _id) newest first, limit + 1, the keyset
 *    cursor as {$or: [{t: {$lt: a}}, {t: a, _id: {$lt: b}}]}, on the
 *    indexes an_event_start and detection_time_id (mongo_conn.c);
 *  - facets: one aggregation per dimension ($match, $sort, $limit
 *    VIGIL_SEARCH_FACET_ROWS, $group): plain stages, no $facet, so that
 *    FerretDB 1.24 runs them;
 *    the same pipelines run on MongoDB >= 6.
 * The free text is a case-insensitive $regex of the text with every ASCII
 * character that is not a letter or digit escaped (a backslash before
 * punctuation is that character in PCRE and in Go's RE2, FerretDB's), over
 * labels, the events' zone and line ids, and the camera ids whose camera id
 * or name matches (read from cameras first, as the SQL's subquery).
 *
 * Thread: the handle's thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/mongo_int.h"
#include "store/store_search_int.h"

#define TIME_FIELD(is_event) ((is_event) ? "start_us" : "capture_time_us")

/* q->text as a regex matching it literally. */
static void mg_regex_escape(const char *text, char *out, size_t size)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p && o + 3 < size; p++) {
        int plain = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= 'A' && *p <= 'Z') || *p >= 0x80;
        if (!plain) out[o++] = '\\';
        out[o++] = (char)*p;
    }
    out[o] = '\0';
}

static void mg_key(uint32_t i, char *buf, size_t size, const char **key)
{
    bson_uint32_to_string(i, key, buf, size);
}

/* {field: {$in: [v...]}} appended to the $and array as part *k. */
static void mg_in(bson_t *and, uint32_t *k, const char *field, const char *const *v, size_t n)
{
    char buf[16];
    const char *key;
    bson_t part, in, arr;
    mg_key((*k)++, buf, sizeof(buf), &key);
    bson_append_document_begin(and, key, -1, &part);
    bson_append_document_begin(&part, field, -1, &in);
    bson_append_array_begin(&in, "$in", -1, &arr);
    for (size_t i = 0; i < n; i++) {
        mg_key((uint32_t)i, buf, sizeof(buf), &key);
        bson_append_utf8(&arr, key, -1, v[i], -1);
    }
    bson_append_array_end(&in, &arr);
    bson_append_document_end(&part, &in);
    bson_append_document_end(and, &part);
}

static void mg_part(bson_t *and, uint32_t *k, bson_t *p)
{
    char buf[16];
    const char *key;
    mg_key((*k)++, buf, sizeof(buf), &key);
    bson_append_document(and, key, -1, p);
    bson_destroy(p);
}

/* {field: {$in: [v...]}} as one document. */
static bson_t *mg_in_doc(const char *field, const char *const *v, size_t n)
{
    bson_t *d = bson_new(), arr;
    uint32_t k = 0;
    bson_append_array_begin(d, "x", -1, &arr);
    mg_in(&arr, &k, field, v, n);
    bson_append_array_end(d, &arr);
    bson_iter_t it, sub;
    bson_t *out = NULL;
    if (bson_iter_init_find(&it, d, "x") && bson_iter_recurse(&it, &sub) && bson_iter_next(&sub)) {
        uint32_t len;
        const uint8_t *data;
        bson_iter_document(&sub, &len, &data);
        out = bson_new_from_data(data, len);
    }
    bson_destroy(d);
    return out;
}

typedef struct mg_ids {
    char (*ids)[64];
    const char **ptrs;
    size_t n, cap;
    int nomem;
} mg_ids_t;

static vigil_err_t mg_id_add(void *arg, const bson_t *doc)
{
    mg_ids_t *s = arg;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        char(*g)[64] = realloc(s->ids, nc * sizeof(*g));
        if (!g) return VIGIL_ERR_NOMEM;
        s->ids = g;
        s->cap = nc;
    }
    vigil__mongo_str(doc, "_id", s->ids[s->n], sizeof(s->ids[s->n]));
    s->n++;
    return VIGIL_OK;
}

/* The ids of the cameras whose id or name matches re (case-insensitive). */
static vigil_err_t mg_text_cameras(vigil__mongo_t *mg, const char *re, mg_ids_t *s,
                                   char *errstr, size_t errstr_size)
{
    bson_t *filter = BCON_NEW("$or", "[", "{", "_id", "{", "$regex", BCON_UTF8(re), "$options",
                              BCON_UTF8("i"), "}", "}", "{", "name", "{", "$regex", BCON_UTF8(re),
                              "$options", BCON_UTF8("i"), "}", "}", "]");
    bson_t *opts = BCON_NEW("projection", "{", "_id", BCON_INT32(1), "}");
    vigil_err_t err = vigil__mongo_find(mg, VIGIL__MG_CAMERAS, filter, opts, mg_id_add, s,
                                        "search cameras", errstr, errstr_size);
    bson_destroy(filter);
    bson_destroy(opts);
    if (err == VIGIL_ERR_NOMEM)
        vigil_seterr(errstr, errstr_size, err, "search: out of memory");
    if (err) return err;
    s->ptrs = calloc(s->n ? s->n : 1, sizeof(*s->ptrs));
    if (!s->ptrs) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "search: out of memory");
    for (size_t i = 0; i < s->n; i++) s->ptrs[i] = s->ids[i];
    return VIGIL_OK;
}

/* The filter of one table into f ({$and: [...]}), with the cursor when
 * cursor is set. */
static vigil_err_t mg_filter(vigil__mongo_t *mg, const vigil_search_query_t *q, int is_event,
                             int text, int cursor, bson_t *f, char *errstr, size_t errstr_size)
{
    const char *t = TIME_FIELD(is_event);
    bson_t and;
    uint32_t k = 0;
    vigil_err_t err = VIGIL_OK;
    bson_init(f);
    bson_append_array_begin(f, "$and", -1, &and);
    mg_part(&and, &k, bson_new()); /* $and wants one part at least */
    if (q->ncameras) mg_in(&and, &k, "camera_id", q->cameras, q->ncameras);
    if (q->nlabels) mg_in(&and, &k, "label", q->labels, q->nlabels);
    if (is_event && q->nzones && q->nlines) {
        bson_t *p = bson_new(), arr;
        bson_t *z = mg_in_doc("zone", q->zones, q->nzones);
        bson_t *l = mg_in_doc("line", q->lines, q->nlines);
        bson_append_array_begin(p, "$or", -1, &arr);
        bson_append_document(&arr, "0", -1, z);
        bson_append_document(&arr, "1", -1, l);
        bson_append_array_end(p, &arr);
        bson_destroy(z);
        bson_destroy(l);
        mg_part(&and, &k, p);
    } else if (is_event) {
        if (q->nzones) mg_in(&and, &k, "zone", q->zones, q->nzones);
        if (q->nlines) mg_in(&and, &k, "line", q->lines, q->nlines);
    }
    if (q->since_us) mg_part(&and, &k, BCON_NEW(t, "{", "$gte", BCON_INT64(q->since_us), "}"));
    if (q->until_us) mg_part(&and, &k, BCON_NEW(t, "{", "$lt", BCON_INT64(q->until_us), "}"));
    if (q->min_score > 0)
        mg_part(&and, &k, BCON_NEW(is_event ? "peak_score" : "score", "{", "$gte",
                                   BCON_DOUBLE(q->min_score), "}"));
    if (is_event && q->reviewed == VIGIL_REVIEWED_YES)
        mg_part(&and, &k, BCON_NEW("reviewed", BCON_INT32(1)));
    if (is_event && q->reviewed == VIGIL_REVIEWED_NO)
        mg_part(&and, &k, BCON_NEW("reviewed", BCON_INT32(0)));
    if (text) {
        char re[VIGIL_SEARCH_TEXT_MAX * 2 + 4];
        mg_ids_t cams = {0};
        mg_regex_escape(q->text, re, sizeof(re));
        err = mg_text_cameras(mg, re, &cams, errstr, errstr_size);
        if (!err) {
            bson_t *p = bson_new(), arr;
            uint32_t j = 0;
            bson_append_array_begin(p, "$or", -1, &arr);
            mg_in(&arr, &j, "camera_id", cams.ptrs, cams.n);
            mg_part(&arr, &j, BCON_NEW("label", "{", "$regex", BCON_UTF8(re), "$options",
                                       BCON_UTF8("i"), "}"));
            if (is_event) {
                mg_part(&arr, &j, BCON_NEW("zone", "{", "$regex", BCON_UTF8(re), "$options",
                                           BCON_UTF8("i"), "}"));
                mg_part(&arr, &j, BCON_NEW("line", "{", "$regex", BCON_UTF8(re), "$options",
                                           BCON_UTF8("i"), "}"));
            }
            bson_append_array_end(p, &arr);
            mg_part(&and, &k, p);
        }
        free(cams.ids);
        free(cams.ptrs);
    }
    if (cursor && q->after_id > 0) {
        /* (time, type, id) after the cursor's, newest first */
        int64_t a = q->after_time_us, b = vigil__search_cursor_id(q, is_event);
        mg_part(&and, &k,
                BCON_NEW("$or", "[", "{", t, "{", "$lt", BCON_INT64(a), "}", "}", "{", t,
                         BCON_INT64(a), "_id", "{", "$lt", BCON_INT64(b), "}", "}", "]"));
    }
    bson_append_array_end(f, &and);
    return err;
}

/* ---- page ---------------------------------------------------------------- */

typedef struct mg_page {
    vigil_search_item_t *items;
    size_t *n;
    int is_event;
} mg_page_t;

static vigil_err_t mg_item_add(void *arg, const bson_t *doc)
{
    mg_page_t *p = arg;
    vigil_search_item_t *it = &p->items[(*p->n)++];
    memset(it, 0, sizeof(*it));
    it->is_event = p->is_event;
    if (p->is_event)
        vigil__mongo_an_event_read(doc, &it->event);
    else
        vigil__mongo_detection_read(doc, &it->detection);
    return VIGIL_OK;
}

static vigil_err_t page(void *ctx, const vigil_search_query_t *q, int is_event,
                        const char *pattern, vigil_search_item_t *items, size_t *n,
                        char *errstr, size_t errstr_size)
{
    vigil__mongo_t *mg = ctx;
    bson_t filter;
    vigil_err_t err = mg_filter(mg, q, is_event, pattern != NULL, 1, &filter, errstr, errstr_size);
    if (!err) {
        const char *t = TIME_FIELD(is_event);
        bson_t *opts = BCON_NEW("sort", "{", t, BCON_INT32(-1), "_id", BCON_INT32(-1), "}",
                                "limit", BCON_INT64((int64_t)q->limit + 1));
        mg_page_t p = {.items = items, .n = n, .is_event = is_event};
        err = vigil__mongo_find(mg, is_event ? VIGIL__MG_AN_EVENTS : VIGIL__MG_DETECTIONS, &filter,
                                opts, mg_item_add, &p, "search", errstr, errstr_size);
        bson_destroy(opts);
    }
    bson_destroy(&filter);
    return err;
}

/* ---- facets -------------------------------------------------------------- */

/* Counts one dimension (field NULL: the rows) of the newest matches. */
static vigil_err_t mg_facet_dim(vigil__mongo_t *mg, const bson_t *filter, int is_event, int dim,
                                const char *field, vigil__search_facets_t *fs, int64_t *total,
                                char *errstr, size_t errstr_size)
{
    const char *t = TIME_FIELD(is_event);
    char ref[32];
    snprintf(ref, sizeof(ref), "$%s", field ? field : "_id");
    /* the group key: the field's value, or one group (null) for the rows */
    bson_t *group = field ? BCON_NEW("_id", BCON_UTF8(ref), "n", "{", "$sum", BCON_INT32(1), "}")
                  : BCON_NEW("_id", BCON_NULL, "n", "{", "$sum", BCON_INT32(1), "}");
    bson_t *pipeline = BCON_NEW("pipeline", "[", "{", "$match", BCON_DOCUMENT(filter), "}", "{",
                                "$sort", "{", t, BCON_INT32(-1), "_id", BCON_INT32(-1), "}", "}",
                                "{", "$limit", BCON_INT64(VIGIL_SEARCH_FACET_ROWS), "}", "{",
                                "$group", BCON_DOCUMENT(group), "}", "]");
    bson_destroy(group);
    mongoc_cursor_t *cur = mongoc_collection_aggregate(
        vigil__mongo_coll(mg, is_event ? VIGIL__MG_AN_EVENTS : VIGIL__MG_DETECTIONS),
        MONGOC_QUERY_NONE, pipeline, NULL, NULL);
    const bson_t *doc;
    vigil_err_t err = VIGIL_OK;
    while (!err && mongoc_cursor_next(cur, &doc)) {
        int64_t count = vigil__mongo_i64(doc, "n");
        if (!field) {
            *total = count;
            continue;
        }
        char value[64];
        vigil__mongo_str(doc, "_id", value, sizeof(value));
        if (!value[0] && (dim == VIGIL_FACET_ZONE || dim == VIGIL_FACET_LINE)) continue;
        vigil_facet_t *f = vigil__search_facet_new(fs, errstr, errstr_size);
        if (!f) {
            err = VIGIL_ERR_NOMEM;
            break;
        }
        f->dim = (vigil_facet_dim_t)dim;
        memcpy(f->value, value, sizeof(f->value));
        f->count = count;
    }
    bson_error_t error;
    if (!err && mongoc_cursor_error(cur, &error))
        err = vigil__mongo_fail(mg, 0, &error, errstr, errstr_size, "search facets");
    mongoc_cursor_destroy(cur);
    bson_destroy(pipeline);
    return err;
}

static vigil_err_t facets_of(void *ctx, const vigil_search_query_t *q, int is_event,
                             const char *pattern, vigil__search_facets_t *fs, int64_t *total,
                             char *errstr, size_t errstr_size)
{
    static const char *const fields[] = {"camera_id", "label", "zone", "line", "kind"};
    vigil__mongo_t *mg = ctx;
    bson_t filter;
    vigil_err_t err = mg_filter(mg, q, is_event, pattern != NULL, 0, &filter, errstr, errstr_size);
    if (!err) err = mg_facet_dim(mg, &filter, is_event, 0, NULL, fs, total, errstr, errstr_size);
    for (int dim = 0; !err && dim < VIGIL_FACET_DIMS_; dim++) {
        if (!is_event && (dim == VIGIL_FACET_ZONE || dim == VIGIL_FACET_LINE)) continue;
        if (!is_event && dim == VIGIL_FACET_KIND) {
            if (*total == 0) continue;
            vigil_facet_t *f = vigil__search_facet_new(fs, errstr, errstr_size);
            if (!f) {
                err = VIGIL_ERR_NOMEM;
                break;
            }
            f->dim = VIGIL_FACET_KIND;
            snprintf(f->value, sizeof(f->value), "detection");
            f->count = *total;
            continue;
        }
        err = mg_facet_dim(mg, &filter, is_event, dim, fields[dim], fs, total, errstr,
                           errstr_size);
    }
    bson_destroy(&filter);
    return err;
}

vigil_err_t vigil__mongo_search(vigil_store_t *store, const vigil_search_query_t *q,
                                vigil_search_result_t *res, char *errstr, size_t errstr_size)
{
    static const vigil__search_backend_t be = {.page = page, .facets = facets_of};
    return vigil__search_run(&be, vigil__mongo(store), q, res, errstr, errstr_size);
}
