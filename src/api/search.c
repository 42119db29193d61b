/* GET /api/v1/search (viewer): one search over analytics events and
 * detections, newest first, with facet counts.
 *
 *   q          free text (1..128 bytes): camera ids and names, zone and line
 *              ids and labels that contain it (ASCII case-insensitive)
 *   cameras, labels, zones, lines
 *              comma-separated lists of at most 32 values each (any of them);
 *              zones and lines only match events
 *   since, until, min_score, limit (1..1000, default 100), cursor
 *              as in /api/v1/events
 *   reviewed   true|false: events only
 *   type       events | detections | all (default)
 *   facets     true (default) | false
 *
 * Response: {"items":[{"type":"event",...} | {"type":"detection",...}],
 * "facets":{"cameras":{ID:n},"labels":{..},"zones":{..},"lines":{..},
 * "kinds":{"zone_enter":n,...,"detection":n}},"facets_truncated":bool,
 * "next_cursor":...}. Items are the events and detections of their own
 * routes with "type" added. Facets count all matches, not just the page, up
 * to the newest 10000 of each type (facets_truncated says that bound was
 * reached), at most 100 values each.
 *
 * Bounded work: the lists, the text and the page are bounded here, the
 * facet scans in the store (sqlite_search.c).
 *
 * With search.url set the same request is answered from the OpenSearch /
 * Elasticsearch node (src/search/query.c, docs/search.md): same parameters,
 * same response; facets count every match there. reviewed=... is answered
 * by the warehouse, which alone holds the review state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/params.h"
#include "api/resources.h"
#include "vigil/search.h"

#define SEARCH_CURSOR_CHARS 64

typedef struct list {
    char buf[VIGIL_SEARCH_LIST_MAX * 64 + 64];
    const char *v[VIGIL_SEARCH_LIST_MAX];
} list_t;

typedef struct search_params {
    vigil_search_query_t q;
    char text[VIGIL_SEARCH_TEXT_MAX + 1];
    list_t cameras, labels, zones, lines;
    unsigned seen;
    vigil__param_error_t err;
    int failed;
} search_params_t;

static int bad(vigil__param_error_t *err, const char *name, const char *what)
{
    snprintf(err->parameter, sizeof(err->parameter), "%s", name);
    snprintf(err->message, sizeof(err->message), "invalid parameter \"%s\": %s", name, what);
    return -1;
}

/* Splits a comma-separated list, checking each value with check (which
 * writes it into 64 bytes). */
static int parse_list(const char *s, const char *name, list_t *l, size_t *n,
                      int (*check)(const char *, char *, vigil__param_error_t *, const char *),
                      vigil__param_error_t *err)
{
    char one[256], *out = l->buf;
    const char *p = s ? s : "";

    *n = 0;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (*n == VIGIL_SEARCH_LIST_MAX)
            return bad(err, name, "at most 32 comma-separated values");
        if (len == 0 || len >= sizeof(one)) return bad(err, name, "an empty or too long value");
        memcpy(one, p, len);
        one[len] = '\0';
        if (check(one, out, err, name)) {
            /* the checker named its own parameter: name the list instead */
            snprintf(err->parameter, sizeof(err->parameter), "%s", name);
            return -1;
        }
        l->v[(*n)++] = out;
        out += strlen(out) + 1;
        if (!comma) return 0;
        p = comma + 1;
    }
}

static int check_camera(const char *s, char *out, vigil__param_error_t *err, const char *name)
{
    (void)name;
    return vigil__api_parse_camera(s, out, err);
}

static int check_label(const char *s, char *out, vigil__param_error_t *err, const char *name)
{
    (void)name;
    return vigil__api_parse_label(s, out, err);
}

static int check_rule(const char *s, char *out, vigil__param_error_t *err, const char *name)
{
    return vigil__api_parse_rule_id(s, out, err, name[0] == 'z' ? "zone" : "line");
}

static int parse_cursor(const char *s, vigil_search_query_t *q, vigil__param_error_t *err)
{
    char raw[SEARCH_CURSOR_CHARS];
    long long t, id;
    char type, end;

    if (vigil__api_b64url_decode(s, SEARCH_CURSOR_CHARS, raw) < 0 ||
        sscanf(raw, "s1:%lld:%c:%lld%c", &t, &type, &id, &end) != 3 || t < 0 || id < 1 ||
        (type != 'e' && type != 'd'))
        return bad(err, "cursor", "must be a next_cursor value returned by this endpoint");
    q->after_time_us = t;
    q->after_event = type == 'e';
    q->after_id = id;
    return 0;
}

static int parse_text(const char *s, char *out, vigil__param_error_t *err)
{
    size_t n = s ? strlen(s) : 0;

    if (n < 1 || n > VIGIL_SEARCH_TEXT_MAX) return bad(err, "q", "must be 1..128 bytes");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < ' ' || s[i] == 0x7f)
            return bad(err, "q", "must not contain control characters");
    memcpy(out, s, n + 1);
    return 0;
}

static int set_param(search_params_t *p, const char *key, const char *value)
{
    static const char *const names[] = {"q",        "cameras", "labels", "zones", "lines",
                                        "since",    "until",   "min_score", "reviewed", "type",
                                        "limit",    "cursor",  "facets"};
    vigil_search_query_t *q = &p->q;
    vigil__param_error_t *err = &p->err;
    size_t i, count = sizeof(names) / sizeof(names[0]);
    float score;
    int b;

    for (i = 0; key && i < count; i++)
        if (strcmp(key, names[i]) == 0) break;
    if (!key || i == count) {
        vigil__api_sanitize(err->parameter, sizeof(err->parameter), key ? key : "");
        snprintf(err->message, sizeof(err->message),
                 "unknown parameter \"%s\" (accepted: q, cameras, labels, zones, lines, since, "
                 "until, min_score, reviewed, type, limit, cursor, facets)",
                 err->parameter);
        return -1;
    }
    if (p->seen & (1u << i)) return bad(err, key, "given more than once");
    p->seen |= 1u << i;
    switch (i) {
    case 0: return parse_text(value, p->text, err);
    case 1: return parse_list(value, key, &p->cameras, &q->ncameras, check_camera, err);
    case 2: return parse_list(value, key, &p->labels, &q->nlabels, check_label, err);
    case 3: return parse_list(value, key, &p->zones, &q->nzones, check_rule, err);
    case 4: return parse_list(value, key, &p->lines, &q->nlines, check_rule, err);
    case 5: return vigil__api_parse_time(value, &q->since_us, err, "since");
    case 6: return vigil__api_parse_time(value, &q->until_us, err, "until");
    case 7:
        if (vigil__api_parse_score(value, &score, err, "min_score")) return -1;
        q->min_score = score;
        return 0;
    case 8:
        if (vigil__api_parse_bool(value, &b, err, "reviewed")) return -1;
        q->reviewed = b ? VIGIL_REVIEWED_YES : VIGIL_REVIEWED_NO;
        return 0;
    case 9:
        if (value && !strcmp(value, "events")) q->types = VIGIL_SEARCH_EVENTS;
        else if (value && !strcmp(value, "detections")) q->types = VIGIL_SEARCH_DETECTIONS;
        else if (value && !strcmp(value, "all"))
            q->types = VIGIL_SEARCH_EVENTS | VIGIL_SEARCH_DETECTIONS;
        else return bad(err, "type", "must be events, detections or all");
        return 0;
    case 10: return vigil__api_parse_limit(value, &q->limit, err);
    case 11: return parse_cursor(value, q, err);
    default:
        if (vigil__api_parse_bool(value, &q->facets, err, "facets")) return -1;
        return 0;
    }
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    search_params_t *p = cls;

    (void)kind;
    if (set_param(p, key, value) != 0) {
        p->failed = 1;
        return MHD_NO;
    }
    return MHD_YES;
}

static json_t *facets_json(const vigil_search_result_t *res)
{
    static const char *const dims[VIGIL_FACET_DIMS_] = {"cameras", "labels", "zones", "lines",
                                                         "kinds"};
    json_t *obj = json_object();

    for (int d = 0; obj && d < VIGIL_FACET_DIMS_; d++)
        json_object_set_new(obj, dims[d], json_object());
    for (size_t i = 0; obj && i < res->nfacets; i++) {
        const vigil_facet_t *f = &res->facets[i];
        json_t *dim = json_object_get(obj, dims[f->dim]);
        if (dim) json_object_set_new(dim, f->value, json_integer(f->count));
    }
    return obj;
}

void vigil__api_search(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    search_params_t *p = calloc(1, sizeof(*p));
    vigil_search_result_t res = {.items = NULL};
    char errstr[256] = "", raw[64], cursor[SEARCH_CURSOR_CHARS + 8];
    vigil_store_t *store;
    json_t *items = NULL, *item;
    vigil_err_t err;

    if (!p) {
        vigil__reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out of memory");
        return;
    }
    p->q.limit = VIGIL__API_LIMIT_DEFAULT;
    p->q.types = VIGIL_SEARCH_EVENTS | VIGIL_SEARCH_DETECTIONS;
    p->q.facets = 1;
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_arg, p);
    if (!p->failed && p->q.since_us && p->q.until_us && p->q.until_us <= p->q.since_us)
        p->failed = bad(&p->err, "until", "must be later than since") != 0;
    if (p->failed) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, p->err.parameter, "%s", p->err.message);
        goto out;
    }
    p->q.text = p->text[0] ? p->text : NULL;
    p->q.cameras = p->cameras.v;
    p->q.labels = p->labels.v;
    p->q.zones = p->zones.v;
    p->q.lines = p->lines.v;
    if (!(store = vigil__res_store(api, reply))) goto out;
    /* search.url: the node finds and counts, the warehouse names (src/search/query.c);
     * what the node cannot answer (the review filter) the warehouse does */
    err = VIGIL_ERR_UNSUPPORTED;
    if (api->cfg && api->cfg->search_url && *api->cfg->search_url) {
        err = vigil_search_query_os(api->cfg, store, &p->q, &res, errstr, sizeof(errstr));
        if (err == VIGIL_ERR_UNSUPPORTED) vigil_search_result_release(&res);
    }
    if (err == VIGIL_ERR_UNSUPPORTED)
        err = vigil_store_search(store, &p->q, &res, errstr, sizeof(errstr));
    vigil__api_store_release(api, store);
    if (err) {
        vigil__res_store_error(reply, err, "cannot search", errstr);
        goto out;
    }
    items = json_array();
    for (size_t i = 0; items && i < res.nitems; i++) {
        const vigil_search_item_t *it = &res.items[i];
        item = it->is_event ? vigil__api_event_json(&it->event)
                            : vigil__api_detection_json(&it->detection);
        if (!item) continue; /* not encodable (invalid UTF-8): skipped */
        json_object_set_new(item, "type", json_string(it->is_event ? "event" : "detection"));
        json_array_append_new(items, item);
    }
    json_t *next = json_null();
    if (res.more && res.nitems) {
        const vigil_search_item_t *last = &res.items[res.nitems - 1];
        int n = snprintf(raw, sizeof(raw), "s1:%lld:%c:%lld",
                         (long long)(last->is_event ? last->event.ev.start_us
                                                    : last->detection.capture_time_us),
                         last->is_event ? 'e' : 'd',
                         (long long)(last->is_event ? last->event.id : last->detection.id));
        vigil__api_b64url_encode(raw, (size_t)n, cursor, sizeof(cursor));
        json_decref(next);
        next = json_string(cursor);
    }
    json_t *obj = json_pack("{s:o, s:o}", "items", items ? items : json_array(), "next_cursor",
                            next);
    if (obj && p->q.facets) {
        json_object_set_new(obj, "facets", facets_json(&res));
        json_object_set_new(obj, "facets_truncated", json_boolean(res.facets_truncated));
    }
    vigil__reply_json(reply, MHD_HTTP_OK, obj);
out:
    vigil_search_result_release(&res);
    free(p);
}
