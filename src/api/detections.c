/* GET /api/v1/detections: search detections, newest first, one page at a time.
 *
 * Query parameters are parsed by params.c (strictly: an unknown or repeated
 * parameter is a 400 naming it). Paging is keyset-based: the store hands back
 * the id to continue after, which we wrap as an opaque cursor, so pages stay
 * stable while new detections arrive. */
#include <stdio.h>
#include <stdlib.h>

#include "api/api_int.h"
#include "api/params.h"

typedef struct collect {
    vigil__detection_params_t params;
    vigil__param_error_t err;
    int failed;
} collect_t;

/* MHD_KeyValueIterator over the query arguments; stops at the first bad one. */
static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    collect_t *c = cls;

    if (vigil__detection_params_set(&c->params, key, value, &c->err) != 0) {
        c->failed = 1;
        return MHD_NO;
    }
    return MHD_YES;
}

json_t *vigil__api_detection_json(const vigil_detection_row_t *row)
{
    char frame_url[64];
    json_t *obj, *box;

    box = json_pack("[o,o,o,o]", vigil__json_float(row->x1), vigil__json_float(row->y1),
                    vigil__json_float(row->x2), vigil__json_float(row->y2));
    obj = json_pack("{s:I, s:s, s:I, s:I, s:o, s:I, s:s, s:s, s:o, s:o}", "id",
                    (json_int_t)row->id, "camera", row->camera_id, "sequence",
                    (json_int_t)row->sequence, "frame_id", (json_int_t)row->frame_id, "time",
                    vigil__json_time(row->capture_time_us), "time_us",
                    (json_int_t)row->capture_time_us, "model", row->model, "label", row->label,
                    "score", vigil__json_float(row->score), "box", box);
    if (!obj) return NULL;
    if (row->frame_id > 0) {
        snprintf(frame_url, sizeof(frame_url), "/api/v1/frames/%lld.jpg",
                 (long long)row->frame_id);
        json_object_set_new(obj, "frame_url", json_string(frame_url));
    } else {
        json_object_set_new(obj, "frame_url", json_null());
    }
    return obj;
}

void vigil__api_detections(vigil_api_t *api, vigil__req_t *req,
                           vigil__reply_t *reply)
{
    struct MHD_Connection *conn = req->conn;
    collect_t c = {.failed = 0};
    char errstr[256] = "", cursor[VIGIL__API_CURSOR_MAX];
    vigil_store_t *store;
    vigil_detection_row_t *rows = NULL;
    size_t n = 0;
    int64_t next = 0;
    vigil_err_t err;
    json_t *items = NULL, *item, *next_json;

    vigil__detection_params_init(&c.params);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &c);
    if (c.failed || vigil__detection_params_finish(&c.params, &c.err) != 0) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, c.err.parameter, "%s", c.err.message);
        return;
    }
    store = vigil__api_store_acquire(api, errstr, sizeof(errstr));
    if (!store) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "store unavailable: %s",
                           errstr);
        return;
    }
    err = vigil_store_detections_query(store, &c.params.q, &rows, &n, &next);
    vigil__api_store_release(api, store);
    if (err) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "store: cannot query detections: %s", vigil_err_str(err));
        goto done;
    }
    items = json_array();
    for (size_t i = 0; items && i < n; i++) {
        item = vigil__api_detection_json(&rows[i]);
        if (!item) {
            vigil__reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
                               "detection %lld cannot be encoded as JSON",
                               (long long)rows[i].id);
            goto done;
        }
        json_array_append_new(items, item);
    }
    if (next > 0) {
        vigil__api_format_cursor(next, cursor, sizeof(cursor));
        next_json = json_string(cursor);
    } else {
        next_json = json_null();
    }
    if (!items) json_decref(next_json);
    vigil__reply_json(reply, MHD_HTTP_OK,
                      items ? json_pack("{s:o, s:o}", "items", items, "next_cursor", next_json)
                            : NULL);
    items = NULL; /* json_pack took it, even on failure */
done:
    json_decref(items);
    free(rows);
}
