/* GET /api/v1/counts: what the analytics stage counted per zone or line.
 *
 * The store keeps one row per camera x minute x zone or line x label
 * (cumulative within the minute); here they are summed over the asked range
 * (no bucket) or per minute, hour or day (UTC). Zones count "entered" (zone
 * enter events started) and "peak" (most tracks of the label inside at
 * once, the maximum over the bucket's minutes); lines count crossings "in"
 * and "out". Ranges are whole minutes: a minute counts if it starts in
 * [since, until). */
#include <stdio.h>
#include <stdlib.h>

#include "api/api_int.h"
#include "api/params.h"

typedef struct collect {
    vigil__count_params_t params;
    vigil__param_error_t err;
    int failed;
} collect_t;

/* MHD_KeyValueIterator over the query arguments; stops at the first bad one. */
static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    collect_t *c = cls;

    if (vigil__count_params_set(&c->params, key, value, &c->err) != 0) {
        c->failed = 1;
        return MHD_NO;
    }
    return MHD_YES;
}

static json_t *count_json(const vigil_count_row_t *row, int bucketed)
{
    json_t *obj = json_object();
    int bad = !obj;

    bad |= json_object_set_new(obj, "camera", json_string(row->camera_id));
    if (row->line[0]) {
        bad |= json_object_set_new(obj, "line", json_string(row->line));
        bad |= json_object_set_new(obj, "label", json_string(row->label));
        bad |= json_object_set_new(obj, "in", json_integer(row->in));
        bad |= json_object_set_new(obj, "out", json_integer(row->out));
    } else {
        bad |= json_object_set_new(obj, "zone", json_string(row->zone));
        bad |= json_object_set_new(obj, "label", json_string(row->label));
        bad |= json_object_set_new(obj, "entered", json_integer(row->entered));
        bad |= json_object_set_new(obj, "peak", json_integer(row->peak));
    }
    if (bucketed) {
        bad |= json_object_set_new(obj, "bucket", vigil__json_time(row->bucket_us));
        bad |= json_object_set_new(obj, "bucket_us", json_integer(row->bucket_us));
    }
    if (bad) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

void vigil__api_counts(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    struct MHD_Connection *conn = req->conn;
    collect_t c = {.failed = 0};
    char errstr[256] = "";
    vigil_store_t *store;
    vigil_count_row_t *rows = NULL;
    size_t n = 0;
    vigil_err_t err;
    json_t *items = NULL, *item;

    vigil__count_params_init(&c.params);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &c);
    if (c.failed || vigil__count_params_finish(&c.params, &c.err) != 0) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, c.err.parameter, "%s", c.err.message);
        return;
    }
    store = vigil__api_store_acquire(api, errstr, sizeof(errstr));
    if (!store) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "store unavailable: %s",
                           errstr);
        return;
    }
    err = vigil_store_counts_query(store, &c.params.q, &rows, &n);
    vigil__api_store_release(api, store);
    if (err == VIGIL_ERR_INVALID) { /* too many rows: the store asks for a larger bucket */
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "bucket",
                           "invalid parameter \"bucket\": too many rows for this range; use a "
                           "larger bucket or a shorter range");
        goto done;
    }
    if (err) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "store: cannot query counts: %s", vigil_err_str(err));
        goto done;
    }
    items = json_array();
    for (size_t i = 0; items && i < n; i++) {
        if (!(item = count_json(&rows[i], c.params.q.bucket_us > 0))) {
            vigil__reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
                               "counts cannot be encoded as JSON");
            goto done;
        }
        json_array_append_new(items, item);
    }
    vigil__reply_json(reply, MHD_HTTP_OK, items ? json_pack("{s:o}", "items", items) : NULL);
    items = NULL; /* json_pack took it, even on failure */
done:
    json_decref(items);
    free(rows);
}
