/* /api/v1/search on the search node (vigil_search_query_os, docs/search.md).
 *
 * Main idea: the node finds, orders and counts; the warehouse names. As the
 * SQLite search does (sqlite_search.c), one query per kind, each newest
 * first for one page plus one (events: PREFIX-events-*, analytics kinds
 * only; detections: PREFIX-detections-*), merged here by (time, type, id)
 * with events before detections at equal times. The documents do not know
 * the warehouse's row ids (the bus messages the indexer reads carry none)
 * nor an event's review state, so each hit is looked up in the warehouse by
 * its key (detections: camera, capture time, sequence, model, idx; events:
 * camera, kind, start, track, zone or line, start sequence), and the page is
 * ordered and cut with those ids, the cursor being the warehouse's own
 * (time, type, id). Ties of time at the end of a page: each kind's query
 * fetches PAGE_SLACK hits more than the page, so that the id order within
 * one capture time is decided here and not by the node.
 *
 * Filters map one to one: lists to terms, since/until to a range over
 * time_us, min_score to peak_score (events) or score (detections), the free
 * text to "contains, ASCII case-insensitive" as in SQL: wildcard *text*
 * (case_insensitive) over label, zone and line, and the camera ids whose id
 * or name contains it (from the warehouse's cameras, which the node does not
 * hold). Facets are terms aggregations over both kinds in one request,
 * counted over every match (the SQL backends stop at the newest 10000 of
 * each kind and say so: facets_truncated is set here when a kind has more
 * matches than that, the counts then being larger than theirs).
 *
 * Thread: any; a connection per call. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/search_int.h"
#include "vigil/analytics.h"
#include "vigil/search.h"

#define PAGE_SLACK 64

/* Whether hay contains needle, ASCII case-insensitively (SQL LIKE '%needle%'). */
static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n) return 1;
    }
    return n == 0;
}

/* *text* with the wildcard's own characters escaped. */
static json_t *wildcard(const char *field, const char *text)
{
    char pat[VIGIL_SEARCH_TEXT_MAX * 2 + 4];
    size_t o = 0;
    pat[o++] = '*';
    for (const char *p = text; *p && o + 3 < sizeof pat; p++) {
        if (*p == '*' || *p == '?' || *p == '\\') pat[o++] = '\\';
        pat[o++] = *p;
    }
    pat[o++] = '*';
    pat[o] = '\0';
    return json_pack("{s:{s:{s:s, s:b}}}", "wildcard", field, "value", pat, "case_insensitive",
                     1);
}

static json_t *terms(const char *field, const char *const *v, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, json_string(v[i]));
    return json_pack("{s:{s:o}}", "terms", field, arr);
}

/* The filters of one kind (is_event) or of both (is_event < 0: facets). */
static json_t *filters(const vigil_search_query_t *q, int is_event, json_t *text_cameras)
{
    json_t *f = json_array();
    if (q->ncameras) json_array_append_new(f, terms("camera", q->cameras, q->ncameras));
    if (q->nlabels) json_array_append_new(f, terms("label", q->labels, q->nlabels));
    if (q->nzones && q->nlines)
        json_array_append_new(
            f, json_pack("{s:{s:[o,o], s:i}}", "bool", "should",
                         terms("zone", q->zones, q->nzones), terms("line", q->lines, q->nlines),
                         "minimum_should_match", 1));
    else if (q->nzones)
        json_array_append_new(f, terms("zone", q->zones, q->nzones));
    else if (q->nlines)
        json_array_append_new(f, terms("line", q->lines, q->nlines));
    if (q->since_us || q->until_us) {
        json_t *r = json_object();
        if (q->since_us) json_object_set_new(r, "gte", json_integer(q->since_us));
        if (q->until_us) json_object_set_new(r, "lt", json_integer(q->until_us));
        json_array_append_new(f, json_pack("{s:{s:o}}", "range", "time_us", r));
    }
    if (q->min_score > 0) {
        json_t *ev = json_pack("{s:{s:{s:f}}}", "range", "peak_score", "gte", q->min_score);
        json_t *det = json_pack("{s:{s:{s:f}}}", "range", "score", "gte", q->min_score);
        if (is_event > 0) json_array_append_new(f, ev), json_decref(det);
        else if (is_event == 0) json_array_append_new(f, det), json_decref(ev);
        else
            json_array_append_new(f, json_pack("{s:{s:[o,o], s:i}}", "bool", "should", ev, det,
                                               "minimum_should_match", 1));
    }
    if (q->text && *q->text) {
        json_t *should = json_array();
        json_array_append_new(should, json_pack("{s:{s:O}}", "terms", "camera", text_cameras));
        json_array_append_new(should, wildcard("label", q->text));
        json_array_append_new(should, wildcard("zone", q->text));
        json_array_append_new(should, wildcard("line", q->text));
        json_array_append_new(f, json_pack("{s:{s:o, s:i}}", "bool", "should", should,
                                           "minimum_should_match", 1));
    }
    /* the events indices also hold camera.* events: analytics kinds only */
    json_t *kinds = json_array();
    if (is_event != 0)
        for (int k = VIGIL_EVENT_ZONE_ENTER; k <= VIGIL_EVENT_LINE_CROSS; k++)
            json_array_append_new(kinds, json_string(vigil_event_kind_name(k)));
    if (is_event <= 0) json_array_append_new(kinds, json_string("detection"));
    json_array_append_new(f, json_pack("{s:{s:o}}", "terms", "kind", kinds));
    return f;
}

static vigil_err_t post(vigil__os_t *os, const char *path, json_t *body, json_t **out,
                        char *errstr, size_t errstr_size)
{
    vigil__os_reply_t reply = {0};
    char why[384];
    char *s = json_dumps(body, JSON_COMPACT);
    if (!s) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "search: out of memory");
    vigil_err_t err = vigil__os_request(os, "POST", path, s, strlen(s), 0, &reply, errstr,
                                        errstr_size);
    free(s);
    if (!err && reply.status != 200) {
        vigil__os_reply_error(&reply, why, sizeof why);
        err = vigil_seterr(errstr, errstr_size,
                           reply.status == 429 || reply.status >= 500 ? VIGIL_ERR_AGAIN
                                                                      : VIGIL_ERR_INVALID,
                           "search node %s: search refused: %s", os->shown, why);
    }
    if (!err) {
        json_error_t jerr;
        *out = json_loads(reply.body ? reply.body : "", 0, &jerr);
        if (!*out)
            err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_AGAIN,
                               "search node %s: unreadable answer: %s", os->shown, jerr.text);
    }
    vigil__os_reply_release(&reply);
    return err;
}

/* The warehouse row of a detection hit; 0 if it has none. */
static int resolve_detection(vigil_store_t *store, json_t *src, vigil_search_item_t *it)
{
    const char *camera = json_string_value(json_object_get(src, "camera"));
    const char *model = json_string_value(json_object_get(src, "model"));
    json_int_t t = json_integer_value(json_object_get(src, "time_us"));
    json_int_t seq = json_integer_value(json_object_get(src, "sequence"));
    json_int_t idx = json_integer_value(json_object_get(src, "idx"));
    vigil_detection_query_t dq = {.camera = camera, .since_us = t, .until_us = t + 1,
                                  .limit = 1000};
    vigil_detection_row_t *rows = NULL;
    size_t n = 0;
    int64_t next = 0;
    int found = 0;
    if (!camera || !model || vigil_store_detections_query(store, &dq, &rows, &n, &next))
        return 0;
    for (size_t i = 0; i < n && !found; i++)
        if (rows[i].sequence == (uint64_t)seq && rows[i].idx == idx &&
            strcmp(rows[i].model, model) == 0) {
            memset(it, 0, sizeof *it);
            it->detection = rows[i];
            found = 1;
        }
    free(rows);
    return found;
}

static int resolve_event(vigil_store_t *store, json_t *src, vigil_search_item_t *it)
{
    const char *camera = json_string_value(json_object_get(src, "camera"));
    const char *kind = json_string_value(json_object_get(src, "kind"));
    const char *zone = json_string_value(json_object_get(src, "zone"));
    const char *line = json_string_value(json_object_get(src, "line"));
    json_int_t t = json_integer_value(json_object_get(src, "time_us"));
    json_int_t track = json_integer_value(json_object_get(src, "track"));
    json_int_t sseq = json_integer_value(json_object_get(src, "start_sequence"));
    vigil_event_query_t eq = {.camera = camera, .kind = kind, .since_us = t, .until_us = t + 1,
                              .limit = 1000};
    vigil_analytics_event_row_t *rows = NULL;
    size_t n = 0;
    int64_t ns = 0, nid = 0;
    int found = 0;
    if (!camera || !kind ||
        vigil_store_analytics_events_query(store, &eq, &rows, &n, &ns, &nid))
        return 0;
    for (size_t i = 0; i < n && !found; i++) {
        const vigil_analytics_event_t *e = &rows[i].ev;
        if (e->track_id == (uint64_t)track && e->start_sequence == (uint64_t)sseq &&
            strcmp(e->zone, zone ? zone : "") == 0 && strcmp(e->line, line ? line : "") == 0) {
            memset(it, 0, sizeof *it);
            it->is_event = 1;
            it->event = rows[i];
            found = 1;
        }
    }
    free(rows);
    return found;
}

/* Whether it comes after the query's cursor in that order. */
static int after_cursor(const vigil_search_query_t *q, const vigil_search_item_t *it)
{
    if (q->after_id <= 0) return 1;
    vigil_search_item_t c = {.is_event = q->after_event};
    if (c.is_event) {
        c.event.ev.start_us = q->after_time_us;
        c.event.id = q->after_id;
    } else {
        c.detection.capture_time_us = q->after_time_us;
        c.detection.id = q->after_id;
    }
    return vigil_search_item_cmp(&c, it) < 0;
}

/* One kind's page (limit + 1 + PAGE_SLACK hits) resolved into items[*n...]. */
static vigil_err_t page(vigil__os_t *os, vigil_store_t *store, const vigil_search_query_t *q,
                        int is_event, json_t *text_cameras, const char *prefix,
                        vigil_search_item_t *items, size_t *n, char *errstr, size_t errstr_size)
{
    char path[256];
    json_t *f = filters(q, is_event, text_cameras);
    if (q->after_id > 0)
        json_array_append_new(f, json_pack("{s:{s:{s:I}}}", "range", "time_us", "lte",
                                           (json_int_t)q->after_time_us));
    json_t *sort = is_event
                       ? json_pack("[{s:s}, {s:s}, {s:s}]", "time_us", "desc", "track", "desc",
                                   "start_sequence", "desc")
                       : json_pack("[{s:s}, {s:s}, {s:s}]", "time_us", "desc", "sequence",
                                   "desc", "idx", "desc");
    json_t *body = json_pack("{s:i, s:{s:{s:o}}, s:o, s:b, s:[s,s,s,s,s,s,s,s,s,s]}", "size",
                             q->limit + 1 + PAGE_SLACK, "query", "bool", "filter", f, "sort",
                             sort, "track_total_hits", 0, "_source", "camera", "kind",
                             "time_us", "sequence", "model", "idx", "track", "zone", "line",
                             "start_sequence");
    snprintf(path, sizeof path, "/%s-%s-*/_search?ignore_unavailable=true&allow_no_indices=true",
             prefix, is_event ? "events" : "detections");
    json_t *res = NULL;
    vigil_err_t err = post(os, path, body, &res, errstr, errstr_size);
    json_decref(body);
    if (err) return err;
    size_t i, start = *n;
    json_t *hit;
    json_array_foreach(json_object_get(json_object_get(res, "hits"), "hits"), i, hit) {
        json_t *src = json_object_get(hit, "_source");
        vigil_search_item_t *it = &items[*n];
        int ok = is_event ? resolve_event(store, src, it) : resolve_detection(store, src, it);
        if (ok && after_cursor(q, it)) (*n)++;
    }
    /* this kind's own page, in the warehouse's order */
    qsort(items + start, *n - start, sizeof *items, vigil_search_item_cmp);
    if (*n - start > (size_t)q->limit + 1) *n = start + (size_t)q->limit + 1;
    json_decref(res);
    return VIGIL_OK;
}

static vigil_err_t facets(vigil__os_t *os, const vigil_search_query_t *q, int events, int dets,
                          json_t *text_cameras, const char *prefix, vigil_search_result_t *res,
                          char *errstr, size_t errstr_size)
{
    static const char *const dims[VIGIL_FACET_DIMS_] = {"camera", "label", "zone", "line",
                                                         "kind"};
    char path[256];
    json_t *aggs = json_object();
    for (int d = 0; d < VIGIL_FACET_DIMS_; d++) {
        json_t *t = json_pack("{s:s, s:i, s:i, s:[{s:s},{s:s}]}", "field", dims[d], "size",
                              VIGIL_SEARCH_FACET_VALUES, "shard_size", 10000, "order", "_count",
                              "desc", "_key", "asc");
        if (d == VIGIL_FACET_ZONE || d == VIGIL_FACET_LINE)
            json_object_set_new(t, "exclude", json_string(""));
        json_object_set_new(aggs, dims[d], json_pack("{s:o}", "terms", t));
    }
    json_object_set_new(aggs, "per_kind",
                        json_pack("{s:{s:s, s:i}}", "terms", "field", "_index", "size", 1000));
    json_t *body = json_pack("{s:i, s:{s:{s:o}}, s:o, s:b}", "size", 0, "query", "bool",
                             "filter", filters(q, events && dets ? -1 : events, text_cameras),
                             "aggs", aggs, "track_total_hits", 1);
    snprintf(path, sizeof path,
             "/%s-%s*/_search?ignore_unavailable=true&allow_no_indices=true", prefix,
             events && dets ? "" : events ? "events-" : "detections-");
    if (events && dets)
        snprintf(path, sizeof path,
                 "/%s-events-*,%s-detections-*/_search?ignore_unavailable=true&"
                 "allow_no_indices=true",
                 prefix, prefix);
    json_t *out = NULL;
    vigil_err_t err = post(os, path, body, &out, errstr, errstr_size);
    json_decref(body);
    if (err) return err;
    json_t *a = json_object_get(out, "aggregations");
    size_t cap = 0;
    for (int d = 0; d < VIGIL_FACET_DIMS_; d++) {
        size_t i;
        json_t *b;
        json_array_foreach(json_object_get(json_object_get(a, dims[d]), "buckets"), i, b) {
            if (res->nfacets == cap) {
                cap = cap ? cap * 2 : 64;
                vigil_facet_t *g = realloc(res->facets, cap * sizeof *g);
                if (!g) {
                    json_decref(out);
                    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM,
                                        "search: out of memory");
                }
                res->facets = g;
            }
            vigil_facet_t *fc = &res->facets[res->nfacets++];
            fc->dim = (vigil_facet_dim_t)d;
            snprintf(fc->value, sizeof fc->value, "%s",
                     json_string_value(json_object_get(b, "key")) ? json_string_value(
                                                                        json_object_get(b, "key"))
                                                                  : "");
            fc->count = json_integer_value(json_object_get(b, "doc_count"));
        }
    }
    /* a kind with more matches than the SQL backends count */
    int64_t ev_n = 0, det_n = 0;
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(json_object_get(a, "per_kind"), "buckets"), i, b) {
        const char *index = json_string_value(json_object_get(b, "key"));
        json_int_t c = json_integer_value(json_object_get(b, "doc_count"));
        if (index && strstr(index, "-events-")) ev_n += c;
        else det_n += c;
    }
    res->facets_truncated = ev_n > VIGIL_SEARCH_FACET_ROWS || det_n > VIGIL_SEARCH_FACET_ROWS;
    json_decref(out);
    return VIGIL_OK;
}

vigil_err_t vigil_search_query_os(const vigil_config_t *cfg, vigil_store_t *store,
                                  const vigil_search_query_t *q, vigil_search_result_t *res,
                                  char *errstr, size_t errstr_size)
{
    vigil__os_t os;
    vigil_err_t err;
    int events = (q->types & VIGIL_SEARCH_EVENTS) != 0;
    int dets = (q->types & VIGIL_SEARCH_DETECTIONS) && !q->nzones && !q->nlines &&
               q->reviewed == VIGIL_REVIEWED_ANY;
    json_t *text_cameras = json_array();
    size_t n = 0;

    memset(res, 0, sizeof *res);
    if (q->reviewed != VIGIL_REVIEWED_ANY)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                            "search: the review state is the warehouse's");
    if ((err = vigil__os_open(&os, cfg->search_url, cfg->search_timeout_ms, errstr,
                              errstr_size))) {
        json_decref(text_cameras);
        return err;
    }
    if (q->text && *q->text) {
        vigil_camera_row_t *cams = NULL;
        size_t ncams = 0;
        if ((err = vigil_store_camera_list(store, &cams, &ncams))) {
            vigil_seterr(errstr, errstr_size, err, "search: cannot list the cameras: %s",
                         vigil_err_str(err));
            goto out;
        }
        for (size_t i = 0; i < ncams; i++)
            if (contains_ci(cams[i].id, q->text) || contains_ci(cams[i].name, q->text))
                json_array_append_new(text_cameras, json_string(cams[i].id));
        free(cams);
    }
    res->items = calloc(2 * ((size_t)q->limit + 1 + PAGE_SLACK), sizeof *res->items);
    if (!res->items) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "search: out of memory");
        goto out;
    }
    const char *prefix = cfg->search_index_prefix;
    if (events && (err = page(&os, store, q, 1, text_cameras, prefix, res->items, &n, errstr,
                              errstr_size)))
        goto out;
    if (dets && (err = page(&os, store, q, 0, text_cameras, prefix, res->items, &n, errstr,
                            errstr_size)))
        goto out;
    qsort(res->items, n, sizeof *res->items, vigil_search_item_cmp);
    res->more = n > (size_t)q->limit;
    res->nitems = res->more ? (size_t)q->limit : n;
    if (q->facets && (events || dets))
        err = facets(&os, q, events, dets, text_cameras, prefix, res, errstr, errstr_size);
out:
    json_decref(text_cameras);
    vigil__os_close(&os);
    return err;
}
