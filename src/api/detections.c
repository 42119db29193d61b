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

void vigil__api_detection_write(vigil__jw_t *jw, const vigil_detection_row_t *row)
{
    char frame_url[64];

    vigil__jw_object(jw);
    vigil__jw_key(jw, "id");
    vigil__jw_int(jw, row->id);
    vigil__jw_key(jw, "camera");
    vigil__jw_string(jw, row->camera_id);
    vigil__jw_key(jw, "sequence");
    vigil__jw_int(jw, (int64_t)row->sequence);
    vigil__jw_key(jw, "frame_id");
    vigil__jw_int(jw, row->frame_id);
    vigil__jw_key(jw, "time");
    vigil__jw_time(jw, row->capture_time_us);
    vigil__jw_key(jw, "time_us");
    vigil__jw_int(jw, row->capture_time_us);
    vigil__jw_key(jw, "model");
    vigil__jw_string(jw, row->model);
    vigil__jw_key(jw, "label");
    vigil__jw_string(jw, row->label);
    vigil__jw_key(jw, "score");
    vigil__jw_float(jw, row->score);
    vigil__jw_key(jw, "box");
    vigil__jw_array(jw);
    vigil__jw_float(jw, row->x1);
    vigil__jw_float(jw, row->y1);
    vigil__jw_float(jw, row->x2);
    vigil__jw_float(jw, row->y2);
    vigil__jw_array_end(jw);
    vigil__jw_key(jw, "frame_url");
    if (row->frame_id > 0) {
        snprintf(frame_url, sizeof(frame_url), "/api/v1/frames/%lld.jpg",
                 (long long)row->frame_id);
        vigil__jw_string(jw, frame_url);
    } else {
        vigil__jw_null(jw);
    }
    vigil__jw_object_end(jw);
}

json_t *vigil__api_detection_json(const vigil_detection_row_t *row)
{
    vigil__jw_t jw;

    vigil__jw_init(&jw, 0);
    vigil__api_detection_write(&jw, row);
    return vigil__jw_json(&jw);
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
    vigil__jw_t jw;

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
    vigil__jw_init(&jw, VIGIL__API_JSON_MAX);
    vigil__jw_object(&jw);
    vigil__jw_key(&jw, "items");
    vigil__jw_array(&jw);
    for (size_t i = 0; i < n; i++) vigil__api_detection_write(&jw, &rows[i]);
    vigil__jw_array_end(&jw);
    vigil__jw_key(&jw, "next_cursor");
    if (next > 0) {
        vigil__api_format_cursor(next, cursor, sizeof(cursor));
        vigil__jw_string(&jw, cursor);
    } else {
        vigil__jw_null(&jw);
    }
    vigil__jw_object_end(&jw);
    vigil__reply_jw(reply, MHD_HTTP_OK, &jw);
done:
    free(rows);
}
