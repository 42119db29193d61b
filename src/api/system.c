/* The system routes of the HTTP API:
 *   GET /readyz             (public)  200 when the warehouse answers a query and the bus (if
 *                                     any) a ping, else 503 saying which does not
 *   GET /api/v1/config      (admin)   the effective configuration, secrets redacted
 *   GET /api/v1/storage     (viewer)  frames, bytes, rows and retention per camera; disk space
 *
 * /readyz is for load balancers and orchestrators: unlike /healthz (what
 * fails inside this process), it says whether this replica can serve a
 * request now. It names what is not ready without the store's or bus's own
 * message (which may hold a path or a host).
 *
 * /api/v1/config walks the property table (src/core/config_props.c), so
 * every setting is shown and a new one needs no code here. A value of a
 * VIGIL_PROP_SENSITIVE row is shown as vigil_prop_shown's redacted copy, and
 * every other string goes through vigil_text_redact too, in case it holds
 * a URL with credentials that nobody marked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "api/resources.h"
#include "vigil/analytics.h"
#include "vigil/bus.h"
#include "vigil/config.h"
#include "vigil/redact.h"

#define READY_BUS_TIMEOUT_MS 2000
#define STORAGE_CAMERAS_MAX 10000

/* --- /readyz ---------------------------------------------------------------------- */

void vigil__api_readyz(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    char errstr[256], msg[160] = "ok";
    json_t *checks = json_object();
    int ready = 1, version;
    vigil_store_t *store;

    if (!vigil__api_no_params(req, reply)) {
        json_decref(checks);
        return;
    }
    store = vigil__api_store_acquire(api, errstr, sizeof(errstr));
    if (!store) {
        snprintf(msg, sizeof(msg), "the warehouse cannot be opened");
        ready = 0;
    } else {
        /* a query (PRAGMA user_version), and the schema this binary reads */
        version = vigil_store_schema_version(store);
        if (version < 0) {
            snprintf(msg, sizeof(msg), "the warehouse does not answer");
            ready = 0;
        } else if (version != vigil_store_expected_version()) {
            snprintf(msg, sizeof(msg), "the warehouse has schema version %d, this vigil needs %d",
                     version, vigil_store_expected_version());
            ready = 0;
        }
        vigil__api_store_release(api, store);
    }
    json_object_set_new(checks, "store", json_string(msg));
    /* the read replica (store.read_url) never makes the API unready: reads
     * go to the primary while it is down or lagging */
    vigil__replica_ready(api, msg, sizeof(msg));
    json_object_set_new(checks, "store_replica", json_string(msg));
    if (!api->bus) {
        json_object_set_new(checks, "bus", json_string("none"));
    } else if (vigil_bus_ping(api->bus, READY_BUS_TIMEOUT_MS) != VIGIL_OK) {
        json_object_set_new(checks, "bus", json_string("no broker answered"));
        ready = 0;
    } else {
        json_object_set_new(checks, "bus", json_string("ok"));
    }
    vigil__reply_json(reply, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                      json_pack("{s:s, s:o}", "status", ready ? "ready" : "not ready", "checks",
                                checks));
    if (!ready) {
        snprintf(reply->error, sizeof(reply->error), "not ready");
        reply->retry_after = "5";
    }
}

/* --- /api/v1/config ----------------------------------------------------------------- */

/* The value of row p at base (a vigil_config_t or a vigil_camera_conf_t). */
static json_t *prop_json(const vigil_prop_t *p, const void *base)
{
    const char *at = (const char *)base + p->offset;
    char shown[1100], safe[1100];

    switch (p->type) {
    case VIGIL_PROP_INT: return json_integer(*(const int *)(const void *)at);
    case VIGIL_PROP_DOUBLE: return vigil__json_float(*(const double *)(const void *)at);
    case VIGIL_PROP_BOOL: return json_boolean(*(const int *)(const void *)at);
    default: {
        const char *s = *(char *const *)(const void *)at;
        if (!s) return json_null();
        vigil_prop_shown(p, s, shown, sizeof(shown));
        vigil_text_redact(shown, safe, sizeof(safe));
        json_t *v = json_string(safe);
        return v ? v : json_string("(not UTF-8)");
    }
    }
}

static json_t *camera_config_json(const vigil_camera_conf_t *cam)
{
    json_t *obj = json_object();
    const size_t plen = strlen("cameras[].");

    for (const vigil_prop_t *p = vigil_props; obj && p->name; p++) {
        if (strncmp(p->name, "cameras[].", plen) != 0) continue;
        if (strcmp(p->name, "cameras[].id") == 0) {
            json_object_set_new(obj, "id", json_string(cam->id));
            continue;
        }
        json_object_set_new(obj, p->name + plen, prop_json(p, cam));
    }
    char *rules = vigil_rules_to_json(cam->zones, cam->nzones, cam->lines, cam->nlines);
    json_t *r = rules ? json_loads(rules, 0, NULL) : NULL;
    free(rules);
    if (obj && r) {
        json_object_set(obj, "zones", json_object_get(r, "zones"));
        json_object_set(obj, "lines", json_object_get(r, "lines"));
    }
    json_decref(r);
    return obj;
}

void vigil__api_config(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    const vigil_config_t *cfg = api->cfg;
    json_t *root, *cameras;
    char section[64];

    if (!vigil__api_no_params(req, reply)) return;
    if (!cfg) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "this API was started without a configuration");
        return;
    }
    root = json_object();
    for (const vigil_prop_t *p = vigil_props; root && p->name; p++) {
        const char *dot = strchr(p->name, '.');
        if (!dot || strncmp(p->name, "cameras[]", 9) == 0) continue;
        snprintf(section, sizeof(section), "%.*s", (int)(dot - p->name), p->name);
        json_t *sec = json_object_get(root, section);
        if (!sec) {
            sec = json_object();
            json_object_set_new(root, section, sec);
        }
        json_object_set_new(sec, dot + 1, prop_json(p, cfg));
    }
    cameras = json_array();
    for (size_t i = 0; cameras && i < cfg->ncameras; i++)
        json_array_append_new(cameras, camera_config_json(&cfg->cameras[i]));
    if (root) json_object_set_new(root, "cameras", cameras ? cameras : json_array());
    vigil__reply_json(reply, MHD_HTTP_OK, root);
}

/* --- /api/v1/storage ---------------------------------------------------------------- */

/* Every camera record (all pages, at most STORAGE_CAMERAS_MAX), ordered by id. */
static vigil_err_t all_cameras(vigil_store_t *store, vigil_camera_record_t **out, size_t *nout,
                               char *errstr, size_t errstr_size)
{
    vigil_camera_record_t *all = NULL, *page;
    size_t n = 0, got;
    int more = 1;
    vigil_err_t err = VIGIL_OK;

    while (more && n < STORAGE_CAMERAS_MAX) {
        err = vigil_store_camera_records(store, n ? all[n - 1].row.id : NULL, 1000, &page, &got,
                                         &more, errstr, errstr_size);
        if (err) break;
        vigil_camera_record_t *grown = got ? realloc(all, (n + got) * sizeof(*all)) : all;
        if (got && !grown) {
            free(page);
            err = VIGIL_ERR_NOMEM;
            break;
        }
        all = grown;
        if (got) memcpy(all + n, page, got * sizeof(*all));
        n += got;
        free(page);
        if (!got) break;
    }
    if (err) {
        free(all);
        return err;
    }
    *out = all;
    *nout = n;
    return VIGIL_OK;
}

/* Retention of a camera in hours (<= 0: kept until the disk fills) and
 * where it comes from. */
static double retention_of(const vigil_api_t *api, const vigil_camera_record_t *rec,
                           const char *id, const char **source)
{
    const vigil_camera_conf_t *c = api->cfg ? vigil_config_camera(api->cfg, id) : NULL;

    *source = "camera";
    if (c && c->retention_hours >= 0) return c->retention_hours;
    if (rec && rec->retention_hours >= 0) return rec->retention_hours;
    *source = "store";
    return api->cfg ? api->cfg->store_retention_hours : -1;
}

static json_t *camera_storage_json(const vigil_api_t *api, const char *id,
                                   const vigil_storage_row_t *row,
                                   const vigil_camera_record_t *rec)
{
    static const vigil_storage_row_t none;
    const char *source;
    double hours = retention_of(api, rec, id, &source);
    const vigil_camera_conf_t *c = api->cfg ? vigil_config_camera(api->cfg, id) : NULL;

    if (!row) row = &none;
    return json_pack("{s:s, s:b, s:I, s:I, s:o, s:o, s:o, s:o, s:I, s:I, s:o, s:s, s:o}", "camera", id,
                     "known", rec != NULL || vigil__res_config_camera(api, id), "frames",
                     (json_int_t)row->frames, "frame_bytes", (json_int_t)row->frame_bytes,
                     "oldest", vigil__json_time(row->oldest_us), "oldest_us",
                     row->oldest_us ? json_integer(row->oldest_us) : json_null(), "newest",
                     vigil__json_time(row->newest_us), "newest_us",
                     row->newest_us ? json_integer(row->newest_us) : json_null(), "detections",
                     (json_int_t)row->detections, "events", (json_int_t)row->events,
                     "retention_hours", hours > 0 ? vigil__json_float(hours) : json_null(),
                     "retention_source", source, "max_bytes",
                     c && c->max_bytes > 0 ? json_integer((json_int_t)c->max_bytes) : json_null());
}

void vigil__api_storage(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    char errstr[256] = "";
    vigil_storage_row_t *rows = NULL;
    vigil_camera_record_t *cams = NULL;
    size_t nrows = 0, ncams = 0, i = 0, j = 0;
    int64_t frames = 0, bytes = 0;
    vigil_store_t *store;
    vigil_err_t err;
    struct statvfs vfs;

    if (!vigil__api_no_params(req, reply)) return;
    if (!(store = vigil__res_store(api, reply))) return;
    err = vigil_store_storage(store, &rows, &nrows, errstr, sizeof(errstr));
    if (!err) err = all_cameras(store, &cams, &ncams, errstr, sizeof(errstr));
    vigil__api_store_release(api, store);
    if (err) {
        vigil__res_store_error(reply, err, "cannot measure storage", errstr);
        goto out;
    }
    json_t *list = json_array();
    /* both ordered by id: merged, so that cameras without data show too */
    while (list && (i < nrows || j < ncams)) {
        int c = i == nrows ? 1 : j == ncams ? -1 : strcmp(rows[i].camera_id, cams[j].row.id);
        const char *id = c <= 0 ? rows[i].camera_id : cams[j].row.id;
        json_t *item = camera_storage_json(api, id, c <= 0 ? &rows[i] : NULL,
                                           c >= 0 ? &cams[j] : NULL);
        if (c <= 0) {
            frames += rows[i].frames;
            bytes += rows[i].frame_bytes;
        }
        if (item) json_array_append_new(list, item);
        i += c <= 0;
        j += c >= 0;
    }
    json_t *disk = json_null();
    if (api->data_dir && statvfs(api->data_dir, &vfs) == 0)
        disk = json_pack("{s:I, s:I, s:I}", "total_bytes",
                         (json_int_t)((uint64_t)vfs.f_blocks * vfs.f_frsize), "free_bytes",
                         (json_int_t)((uint64_t)vfs.f_bfree * vfs.f_frsize), "available_bytes",
                         (json_int_t)((uint64_t)vfs.f_bavail * vfs.f_frsize));
    vigil__reply_json(reply, MHD_HTTP_OK,
                      json_pack("{s:o, s:{s:I, s:I, s:o}, s:o, s:o}", "cameras",
                                list ? list : json_array(), "totals", "frames",
                                (json_int_t)frames, "frame_bytes", (json_int_t)bytes, "max_bytes",
                                api->cfg && api->cfg->store_max_bytes > 0
                                    ? json_integer((json_int_t)api->cfg->store_max_bytes)
                                    : json_null(),
                                "disk",
                                disk, "default_retention_hours",
                                api->cfg && api->cfg->store_retention_hours > 0
                                    ? vigil__json_float(api->cfg->store_retention_hours)
                                    : json_null()));
out:
    free(rows);
    free(cams);
}
