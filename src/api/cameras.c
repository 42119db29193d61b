/* GET /api/v1/cameras: the cameras the store knows, with their live status.
 *
 * Camera URLs often carry credentials (rtsp://user:secret@host/...,
 * ?password=...); the API is read by browsers, so every URL goes through
 * vigil_url_redact (docs/security.md) before it leaves the process, even
 * though the warehouse already holds the redacted form. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "vigil/redact.h"

static json_t *camera_json(const vigil_camera_row_t *row)
{
    char url[sizeof(row->url) + 8];

    vigil_url_redact(row->url, url, sizeof(url)); /* stored redacted; redacted again */
    return json_pack("{s:s, s:s, s:s, s:o, s:b, s:s, s:o, s:o, s:I}", "id", row->id, "name",
                     row->name, "url", url, "fps", vigil__json_float(row->fps), "enabled",
                     row->enabled != 0, "status", row->status, "last_error",
                     row->last_error[0] ? json_string(row->last_error) : json_null(), "updated",
                     vigil__json_time(row->updated_us), "updated_us", (json_int_t)row->updated_us);
}

void vigil__api_cameras(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    char errstr[256] = "";
    vigil_store_t *store = vigil__api_store_acquire(api, errstr, sizeof(errstr));
    vigil_camera_row_t *rows = NULL;
    size_t n = 0;
    vigil_err_t err;
    json_t *items = NULL, *item;

    if (!store) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "store unavailable: %s",
                           errstr);
        return;
    }
    err = vigil_store_camera_list(store, &rows, &n);
    vigil__api_store_release(api, store);
    if (err) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "store: cannot list cameras: %s", vigil_err_str(err));
        goto done;
    }
    items = json_array();
    for (size_t i = 0; items && i < n; i++) {
        /* a row with invalid UTF-8 (json_pack fails) is skipped rather than failing the list */
        item = camera_json(&rows[i]);
        if (item) json_array_append_new(items, item);
    }
    vigil__reply_json(reply, MHD_HTTP_OK, items ? json_pack("{s:o}", "items", items) : NULL);
    items = NULL;
done:
    json_decref(items);
    free(rows);
}
