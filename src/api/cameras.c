/* The cameras of the HTTP API, read side:
 *   GET /api/v1/cameras?limit=&cursor=   the cameras the warehouse knows, by id, one page
 *   GET /api/v1/cameras/{id}             one camera
 * (the writes are in cameras_write.c, the connection test in camera_test.c).
 *
 * Camera URLs often carry credentials (rtsp://user:secret@host/...,
 * ?password=...); the API is read by browsers, so every URL goes through
 * vigil_url_redact (docs/security.md) before it leaves the process, even
 * though the warehouse's `url` column already holds the redacted form. The
 * source URL with its credentials, which the warehouse keeps for the
 * cameras the API manages, is never read here.
 *
 * Paging is keyset on the id (the list's order); the cursor is opaque:
 * base64url of "c1:<last id>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/params.h"
#include "api/resources.h"
#include "vigil/redact.h"

#define CAMERA_CURSOR_CHARS 96 /* base64url of "c1:" and a 63-byte id */

json_t *vigil__api_camera_json(const vigil_api_t *api, const vigil_camera_record_t *rec)
{
    const vigil_camera_row_t *row = &rec->row;
    char url[sizeof(row->url) + 8];
    const char *source = strcmp(rec->origin, VIGIL_CAMERA_ORIGIN_API) == 0 ? "api"
                         : vigil__res_config_camera(api, row->id)        ? "config"
                                                                         : "external";

    vigil_url_redact(row->url, url, sizeof(url)); /* stored redacted; redacted again */
    return json_pack("{s:s, s:s, s:s, s:o, s:b, s:s, s:o, s:o, s:I, s:s, s:o, s:o}", "id",
                     row->id, "name", row->name, "url", url, "fps", vigil__json_float(row->fps),
                     "enabled", row->enabled != 0, "status", row->status, "last_error",
                     row->last_error[0] ? json_string(row->last_error) : json_null(), "updated",
                     vigil__json_time(row->updated_us), "updated_us",
                     (json_int_t)row->updated_us, "source", source, "retention_days",
                     rec->retention_hours >= 0 ? vigil__json_float(rec->retention_hours / 24)
                                               : json_null(),
                     "created", vigil__json_time(rec->created_us));
}

typedef struct list_params {
    int limit;
    char after[VIGIL_CAMERA_ID_MAX];
    unsigned seen;
    vigil__param_error_t err;
    int failed;
} list_params_t;

static int parse_cursor(const char *s, char *after, vigil__param_error_t *err)
{
    char raw[CAMERA_CURSOR_CHARS];
    int n = vigil__api_b64url_decode(s, CAMERA_CURSOR_CHARS, raw);

    if (n > 3 && memcmp(raw, "c1:", 3) == 0 && vigil_camera_id_valid(raw + 3)) {
        snprintf(after, VIGIL_CAMERA_ID_MAX, "%s", raw + 3);
        return 0;
    }
    vigil__api_sanitize(err->parameter, sizeof(err->parameter), "cursor");
    snprintf(err->message, sizeof(err->message),
             "invalid parameter \"cursor\": must be a next_cursor value returned by this "
             "endpoint");
    return -1;
}

static enum MHD_Result list_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    list_params_t *p = cls;
    int rc = -1;
    unsigned bit = key && !strcmp(key, "limit") ? 1u : key && !strcmp(key, "cursor") ? 2u : 0u;

    (void)kind;
    if (!bit) {
        vigil__api_sanitize(p->err.parameter, sizeof(p->err.parameter), key ? key : "");
        snprintf(p->err.message, sizeof(p->err.message),
                 "unknown parameter \"%s\" (accepted: limit, cursor)", p->err.parameter);
    } else if (p->seen & bit) {
        snprintf(p->err.parameter, sizeof(p->err.parameter), "%s", key);
        snprintf(p->err.message, sizeof(p->err.message),
                 "invalid parameter \"%s\": given more than once", key);
    } else {
        p->seen |= bit;
        rc = bit == 1 ? vigil__api_parse_limit(value, &p->limit, &p->err)
                      : parse_cursor(value, p->after, &p->err);
    }
    if (rc) p->failed = 1;
    return rc ? MHD_NO : MHD_YES;
}

void vigil__api_cameras(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    list_params_t p = {.limit = VIGIL__API_LIMIT_DEFAULT};
    char errstr[256] = "", cursor[CAMERA_CURSOR_CHARS + 8], raw[VIGIL_CAMERA_ID_MAX + 4];
    vigil_camera_record_t *rows = NULL;
    size_t n = 0;
    int more = 0;
    vigil_store_t *store;
    vigil_err_t err;
    json_t *items = NULL, *item;

    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, list_arg, &p);
    if (p.failed) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, p.err.parameter, "%s", p.err.message);
        return;
    }
    if (!(store = vigil__res_store(api, reply))) return;
    err = vigil_store_camera_records(store, p.after[0] ? p.after : NULL, p.limit, &rows, &n,
                                     &more, errstr, sizeof(errstr));
    vigil__api_store_release(api, store);
    if (err) {
        vigil__res_store_error(reply, err, "cannot list cameras", errstr);
        return;
    }
    items = json_array();
    for (size_t i = 0; items && i < n; i++) {
        /* a row with invalid UTF-8 (json_pack fails) is skipped rather than failing the list */
        item = vigil__api_camera_json(api, &rows[i]);
        if (item) json_array_append_new(items, item);
    }
    json_t *next = json_null();
    if (more && n) {
        int len = snprintf(raw, sizeof(raw), "c1:%s", rows[n - 1].row.id);
        vigil__api_b64url_encode(raw, (size_t)len, cursor, sizeof(cursor));
        json_decref(next);
        next = json_string(cursor);
    }
    free(rows);
    if (!items) json_decref(next);
    vigil__reply_json(reply, MHD_HTTP_OK,
                      items ? json_pack("{s:o, s:o}", "items", items, "next_cursor", next)
                            : NULL);
}

void vigil__api_camera(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    char id[VIGIL_CAMERA_ID_MAX], errstr[256] = "", what[128];
    vigil_camera_record_t rec;
    vigil_store_t *store;
    vigil_err_t err;

    if (vigil__res_camera_segment(req->url, 3, id, reply)) return;
    if (!vigil__api_no_params(req, reply)) return;
    if (!(store = vigil__res_store(api, reply))) return;
    err = vigil_store_camera_get(store, id, 0, &rec, errstr, sizeof(errstr));
    vigil__api_store_release(api, store);
    if (err) {
        snprintf(what, sizeof(what), "camera \"%s\"", id);
        vigil__res_store_error(reply, err, what, err == VIGIL_ERR_NOT_FOUND ? "not found" : errstr);
        return;
    }
    json_t *obj = vigil__api_camera_json(api, &rec);
    if (!obj) {
        vigil__reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
                           "camera \"%s\" cannot be encoded as JSON", id);
        return;
    }
    vigil__reply_json(reply, MHD_HTTP_OK, obj);
}
