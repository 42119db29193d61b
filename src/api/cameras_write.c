/* The cameras of the HTTP API, write side:
 *   POST   /api/v1/cameras        (admin)     create {id,name?,url,fps?,enabled?,retention_days?}
 *   PATCH  /api/v1/cameras/{id}   (operator)  change; an operator may change `enabled` only
 *   DELETE /api/v1/cameras/{id}   (admin)     remove
 *
 * Main idea: the warehouse's cameras table is the list of record; a change
 * is stored first and then published on the control topic as the command
 * `vigil camera` would publish (resources.c), which ingest and analytics
 * apply within their next poll, in `vigil run` as in distributed mode. An
 * enabled camera is published as OP_ADD with everything (so that the
 * compacted control log keeps all a new ingest instance needs), a disabled
 * one as OP_STOP, a removed one as OP_REMOVE followed by an empty rule set.
 *
 * Only the cameras the API created (origin "api") can be changed or
 * removed here: the configuration's belong to their file, and cameras that
 * an ingest instance reports from its own configuration or from `vigil
 * camera add` to that instance's operator (409, saying where). One
 * exception: a camera of the configuration (the API's own cameras[]) can be
 * switched off and on, {"enabled": false|true} alone (switch_config). The
 * warehouse row records the choice (origin "switched": its enabled is the
 * API's, also after a restart) and the API publishes OP_STOP / OP_START with
 * the id alone; ingest stops and starts that static camera on those two
 * commands only and never takes its URL from the topic (control.c). `vigil
 * run` puts the switched cameras' commands back on its in-process control
 * topic at start (seed.c), as a Kafka control log replays them.
 *
 * Validation is the configuration's (src/core/config_props.c): the camera
 * id rule, the URL schemes vigil/source.h opens, the fps and retention
 * ranges of the property table. URLs are stored twice (store.h): redacted
 * for every output, whole for the control topic; no reply, log line, audit
 * row or error carries the credentials. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/params.h"
#include "api/resources.h"
#include "vigil/clock.h"
#include "vigil/config.h"
#include "vigil/redact.h"

/* The fields a body may set. */
typedef struct camera_body {
    const char *name, *url;
    double fps, retention_days;
    int enabled;
    unsigned set; /* F_* */
} camera_body_t;

enum { F_NAME = 1, F_URL = 2, F_FPS = 4, F_ENABLED = 8, F_RETENTION = 16, F_RETENTION_NULL = 32 };

/* A number of property `prop` ("cameras[].fps") in its range, or a 400. */
static int number_in(json_t *v, const char *field, const char *prop, double scale, double *out,
                     vigil__reply_t *reply)
{
    const vigil_prop_t *p = vigil_prop_find(prop);
    double lo = p ? p->min / scale : 0, hi = p ? p->max / scale : 0;

    if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < lo ||
        json_number_value(v) > hi) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, field,
                           "\"%s\" must be a number from %g to %g", field, lo, hi);
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

/* Reads the body's fields (allowed: the F_* ones, plus id when creating). */
static int body_read(json_t *body, int create, camera_body_t *b, vigil__reply_t *reply)
{
    static const char *const create_keys[] = {"id",      "name",           "url", "fps",
                                              "enabled", "retention_days", NULL};
    static const char *const patch_keys[] = {"name", "url", "fps", "enabled", "retention_days",
                                             NULL};
    json_t *v;

    memset(b, 0, sizeof(*b));
    if (!vigil__api_json_keys(body, create ? create_keys : patch_keys, reply)) return -1;
    if (json_object_get(body, "name")) {
        if (!(b->name = vigil__api_json_str(body, "name", 127, 1, reply))) return -1;
        for (const char *p = b->name; *p; p++)
            if ((unsigned char)*p < ' ' || *p == 0x7f) {
                vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "name",
                                   "\"name\" must not contain control characters");
                return -1;
            }
        b->set |= F_NAME;
    }
    if (json_object_get(body, "url") || create) {
        if (!(b->url = vigil__api_json_str(body, "url", 1023, 1, reply))) return -1;
        if (!vigil__res_url_ok(b->url)) {
            char shown[160];
            vigil_url_redact(b->url, shown, sizeof(shown));
            char safe[160];
            vigil__api_sanitize(safe, sizeof(safe), shown);
            vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "url",
                               "\"url\" \"%s\" is not a source vigil opens (accepted: a file "
                               "path, file://, rtsp://, rtsps://, http(s)://, sample)",
                               safe);
            return -1;
        }
        b->set |= F_URL;
    }
    if ((v = json_object_get(body, "fps"))) {
        if (number_in(v, "fps", "cameras[].fps", 1, &b->fps, reply)) return -1;
        b->set |= F_FPS;
    }
    if ((v = json_object_get(body, "enabled"))) {
        if (!json_is_boolean(v)) {
            vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "enabled",
                               "\"enabled\" must be true or false");
            return -1;
        }
        b->enabled = json_is_true(v);
        b->set |= F_ENABLED;
    }
    if ((v = json_object_get(body, "retention_days"))) {
        if (json_is_null(v)) {
            b->set |= F_RETENTION_NULL;
        } else {
            if (number_in(v, "retention_days", "cameras[].retention_hours", 24,
                          &b->retention_days, reply))
                return -1;
            b->set |= F_RETENTION;
        }
    }
    return 0;
}

/* Publishes what the camera is now: OP_ADD when enabled, OP_STOP when not. */
static int publish_camera(vigil_api_t *api, const vigil_camera_record_t *rec, char *why,
                          size_t why_size)
{
    Vigil__V1__CameraCommand cmd = VIGIL__V1__CAMERA_COMMAND__INIT;

    cmd.op = rec->row.enabled ? VIGIL__V1__CAMERA_COMMAND__OP__OP_ADD
                              : VIGIL__V1__CAMERA_COMMAND__OP__OP_STOP;
    cmd.camera_id = (char *)rec->row.id;
    cmd.name = (char *)rec->row.name;
    cmd.url = (char *)rec->source_url;
    cmd.fps = rec->row.fps;
    return vigil__res_publish(api, &cmd, why, why_size);
}

/* {"name","url" (redacted),"fps","enabled","retention_days"} for the audit log. */
static void audit_detail(const vigil_camera_record_t *rec, char *out, size_t size)
{
    json_t *o = json_pack("{s:s, s:s, s:f, s:b, s:f}", "name", rec->row.name, "url",
                          rec->row.url, "fps", rec->row.fps, "enabled", rec->row.enabled,
                          "retention_days",
                          rec->retention_hours >= 0 ? rec->retention_hours / 24 : -1.0);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    snprintf(out, size, "%s", text ? text : "{}");
    free(text);
    json_decref(o);
}

/* The 409 for a camera that is not the API's. */
static void not_ours(vigil_api_t *api, const char *id, vigil__reply_t *reply)
{
    vigil__reply_error(reply, MHD_HTTP_CONFLICT, "id",
                       "camera \"%s\" comes from %s: change it there (the API changes only "
                       "the cameras it created)",
                       id,
                       vigil__res_config_camera(api, id)
                           ? "the configuration file (cameras[])"
                           : "an ingest instance's own configuration or `vigil camera add`");
}

/* Replies 200/201 with the camera, "applied" and the publish outcome. */
static void reply_camera(vigil_api_t *api, vigil__reply_t *reply, int status,
                         const vigil_camera_record_t *rec, int published, const char *why)
{
    json_t *obj = vigil__api_camera_json(api, rec);
    if (!obj) {
        vigil__reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
                           "camera \"%s\" cannot be encoded as JSON", rec->row.id);
        return;
    }
    vigil__res_applied(obj, published, why);
    vigil__reply_json(reply, status, obj);
}

void vigil__api_camera_create(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    json_t *body = vigil__api_body_json(req, reply);
    camera_body_t b;
    vigil_camera_record_t rec;
    vigil_store_t *store;
    char errstr[256] = "", why[256] = "", what[128], detail[1024], location[128];
    const char *id;
    vigil_err_t err;

    if (!body) return;
    if (!vigil__api_no_params(req, reply) || body_read(body, 1, &b, reply)) goto out;
    if (!(id = vigil__api_json_str(body, "id", VIGIL_CAMERA_ID_MAX - 1, 1, reply))) goto out;
    if (!vigil_camera_id_valid(id)) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "id",
                           "\"id\" must be 1 to 63 of A-Z a-z 0-9 _ . - (not . or ..)");
        goto out;
    }
    if (vigil__res_config_camera(api, id)) {
        not_ours(api, id, reply);
        goto out;
    }
    memset(&rec, 0, sizeof(rec));
    snprintf(rec.row.id, sizeof(rec.row.id), "%s", id);
    snprintf(rec.row.name, sizeof(rec.row.name), "%s", b.set & F_NAME ? b.name : id);
    snprintf(rec.source_url, sizeof(rec.source_url), "%s", b.url);
    vigil_url_redact(b.url, rec.row.url, sizeof(rec.row.url));
    const vigil_prop_t *fps = vigil_prop_find("cameras[].fps");
    rec.row.fps = b.set & F_FPS ? b.fps : fps && fps->def ? atof(fps->def) : 5;
    rec.row.enabled = b.set & F_ENABLED ? b.enabled : 1;
    snprintf(rec.row.status, sizeof(rec.row.status), "%s", rec.row.enabled ? "starting" : "stopped");
    rec.retention_hours = b.set & F_RETENTION ? b.retention_days * 24 : -1;
    snprintf(rec.origin, sizeof(rec.origin), VIGIL_CAMERA_ORIGIN_API);
    if (!(store = vigil__res_store(api, reply))) goto out;
    int64_t now = vigil_now_us();
    err = vigil_store_camera_put(store, &rec, 1, now, errstr, sizeof(errstr));
    vigil__api_store_release(api, store);
    if (err) {
        snprintf(what, sizeof(what), "cannot create camera \"%s\"", id);
        if (err == VIGIL_ERR_EXISTS) snprintf(errstr, sizeof(errstr), "it exists already");
        if (err == VIGIL_ERR_FULL)
            vigil__reply_error(reply, MHD_HTTP_CONFLICT, NULL, "%s: %s", what, errstr);
        else
            vigil__res_store_error(reply, err, what, errstr);
        goto out;
    }
    rec.row.updated_us = rec.created_us = now;
    audit_detail(&rec, detail, sizeof(detail));
    vigil__api_audit(api, req, "camera.create", id, detail);
    int published = publish_camera(api, &rec, why, sizeof(why));
    snprintf(location, sizeof(location), "/api/v1/cameras/%s", id);
    vigil__reply_header(reply, MHD_HTTP_HEADER_LOCATION, location);
    reply_camera(api, reply, MHD_HTTP_CREATED, &rec, published, why);
out:
    json_decref(body);
}

/* Reads camera id with its source URL; 0, or -1 with 404 / 409 / 503. */
static int read_own(vigil_api_t *api, vigil_store_t *store, const char *id,
                    vigil_camera_record_t *rec, vigil__reply_t *reply)
{
    char errstr[256] = "", what[128];
    vigil_err_t err = vigil_store_camera_get(store, id, 1, rec, errstr, sizeof(errstr));

    if (err) {
        snprintf(what, sizeof(what), "camera \"%s\"", id);
        vigil__res_store_error(reply, err, what, err == VIGIL_ERR_NOT_FOUND ? "not found" : errstr);
        return -1;
    }
    if (strcmp(rec->origin, VIGIL_CAMERA_ORIGIN_API) != 0) {
        not_ours(api, id, reply);
        return -1;
    }
    return 0;
}

/* PATCH {"enabled"} of a configuration camera: the row switched, OP_STOP or
 * OP_START published with the id alone, an audit row. rec: the camera's row
 * (from the warehouse, or made from the configuration when it has none). */
static void switch_config(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply,
                          vigil_store_t *store, vigil_camera_record_t *rec, int enabled)
{
    Vigil__V1__CameraCommand cmd = VIGIL__V1__CAMERA_COMMAND__INIT;
    char errstr[256] = "", why[256] = "", what[128], detail[1024];

    if (enabled != rec->row.enabled) {
        rec->row.enabled = enabled;
        snprintf(rec->row.status, sizeof(rec->row.status), "%s", enabled ? "starting" : "stopped");
        rec->row.last_error[0] = '\0';
    }
    int64_t now = vigil_now_us();
    vigil_err_t err = vigil_store_camera_switch(store, &rec->row, now, errstr, sizeof(errstr));
    if (err) {
        snprintf(what, sizeof(what), "cannot change camera \"%s\"", rec->row.id);
        vigil__res_store_error(reply, err, what, errstr);
        return;
    }
    rec->row.updated_us = now;
    snprintf(rec->origin, sizeof(rec->origin), VIGIL_CAMERA_ORIGIN_SWITCHED);
    audit_detail(rec, detail, sizeof(detail));
    vigil__api_audit(api, req, "camera.update", rec->row.id, detail);
    /* the id alone: ingest runs it from its own configuration */
    cmd.op = enabled ? VIGIL__V1__CAMERA_COMMAND__OP__OP_START
                     : VIGIL__V1__CAMERA_COMMAND__OP__OP_STOP;
    cmd.camera_id = rec->row.id;
    int published = vigil__res_publish(api, &cmd, why, sizeof(why));
    reply_camera(api, reply, MHD_HTTP_OK, rec, published, why);
}

/* The row of configuration camera id made from the configuration (a
 * warehouse that has not seen it yet: `vigil api` before ingest reported). */
static void config_record(vigil_api_t *api, const char *id, vigil_camera_record_t *rec)
{
    const vigil_camera_conf_t *conf = vigil_config_camera(api->cfg, id);

    memset(rec, 0, sizeof(*rec));
    snprintf(rec->row.id, sizeof(rec->row.id), "%s", id);
    snprintf(rec->row.name, sizeof(rec->row.name), "%s",
             conf && conf->name && conf->name[0] ? conf->name : id);
    vigil_url_redact(conf && conf->url ? conf->url : "", rec->row.url, sizeof(rec->row.url));
    rec->row.fps = conf ? conf->fps : 0;
    rec->row.enabled = conf ? conf->enabled : 1;
    snprintf(rec->row.status, sizeof(rec->row.status), "%s",
             rec->row.enabled ? "starting" : "stopped");
    rec->retention_hours = -1;
}

void vigil__api_camera_update(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    char id[VIGIL_CAMERA_ID_MAX], errstr[256] = "", why[256] = "", what[128], detail[1024];
    json_t *body = NULL;
    camera_body_t b;
    vigil_camera_record_t rec;
    vigil_store_t *store = NULL;
    vigil_err_t err;

    if (vigil__res_camera_segment(req->url, 3, id, reply)) return;
    if (!(body = vigil__api_body_json(req, reply))) return;
    if (!vigil__api_no_params(req, reply) || body_read(body, 0, &b, reply)) goto out;
    if (!b.set) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, NULL,
                           "nothing to change (accepted: name, url, fps, enabled, "
                           "retention_days)");
        goto out;
    }
    if ((b.set & ~(unsigned)F_ENABLED) && req->who.role < VIGIL_ROLE_ADMIN) {
        vigil__reply_error(reply, MHD_HTTP_FORBIDDEN, NULL,
                           "changing a camera's name, url, fps or retention_days needs the "
                           "admin role (an operator may change \"enabled\" only)");
        goto out;
    }
    if (!(store = vigil__res_store(api, reply))) goto out;
    if (b.set == F_ENABLED && vigil__res_config_camera(api, id)) {
        /* the file owns the rest; switching it off and on is the API's */
        err = vigil_store_camera_get(store, id, 0, &rec, errstr, sizeof(errstr));
        if (err == VIGIL_ERR_NOT_FOUND) {
            config_record(api, id, &rec);
        } else if (err) {
            snprintf(what, sizeof(what), "camera \"%s\"", id);
            vigil__res_store_error(reply, err, what, errstr);
            goto out;
        }
        if (strcmp(rec.origin, VIGIL_CAMERA_ORIGIN_API) != 0) {
            switch_config(api, req, reply, store, &rec, b.enabled);
            goto out;
        }
    }
    if (read_own(api, store, id, &rec, reply)) goto out;
    if (b.set & F_NAME) snprintf(rec.row.name, sizeof(rec.row.name), "%s", b.name);
    if (b.set & F_URL) {
        snprintf(rec.source_url, sizeof(rec.source_url), "%s", b.url);
        vigil_url_redact(b.url, rec.row.url, sizeof(rec.row.url));
    }
    if (b.set & F_FPS) rec.row.fps = b.fps;
    if (b.set & F_RETENTION) rec.retention_hours = b.retention_days * 24;
    if (b.set & F_RETENTION_NULL) rec.retention_hours = -1;
    if ((b.set & F_ENABLED) && b.enabled != rec.row.enabled) {
        rec.row.enabled = b.enabled;
        snprintf(rec.row.status, sizeof(rec.row.status), "%s", b.enabled ? "starting" : "stopped");
        rec.row.last_error[0] = '\0';
    }
    int64_t now = vigil_now_us();
    err = vigil_store_camera_put(store, &rec, 0, now, errstr, sizeof(errstr));
    if (err) {
        snprintf(what, sizeof(what), "cannot change camera \"%s\"", id);
        vigil__res_store_error(reply, err, what, errstr);
        goto out;
    }
    rec.row.updated_us = now;
    audit_detail(&rec, detail, sizeof(detail));
    vigil__api_audit(api, req, "camera.update", id, detail);
    int published = publish_camera(api, &rec, why, sizeof(why));
    reply_camera(api, reply, MHD_HTTP_OK, &rec, published, why);
out:
    vigil__api_store_release(api, store);
    json_decref(body);
}

void vigil__api_camera_delete(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    char id[VIGIL_CAMERA_ID_MAX], errstr[256] = "", why[256] = "", what[128];
    Vigil__V1__CameraCommand cmd = VIGIL__V1__CAMERA_COMMAND__INIT;
    vigil_camera_record_t rec;
    vigil_store_t *store;
    vigil_err_t err;

    if (vigil__res_camera_segment(req->url, 3, id, reply)) return;
    if (!vigil__api_no_params(req, reply)) return;
    if (!(store = vigil__res_store(api, reply))) return;
    if (read_own(api, store, id, &rec, reply)) {
        vigil__api_store_release(api, store);
        return;
    }
    err = vigil_store_camera_remove(store, id, vigil_now_us(), errstr, sizeof(errstr));
    vigil__api_store_release(api, store);
    if (err) {
        snprintf(what, sizeof(what), "cannot remove camera \"%s\"", id);
        vigil__res_store_error(reply, err, what, errstr);
        return;
    }
    vigil__api_audit(api, req, "camera.delete", id, NULL);
    cmd.op = VIGIL__V1__CAMERA_COMMAND__OP__OP_REMOVE;
    cmd.camera_id = id;
    int published = vigil__res_publish(api, &cmd, why, sizeof(why));
    if (published > 0) {
        /* its rule set goes with it: analytics forgets the zones and lines */
        Vigil__V1__CameraCommand rules = VIGIL__V1__CAMERA_COMMAND__INIT;
        rules.op = VIGIL__V1__CAMERA_COMMAND__OP__OP_SET_RULES;
        rules.camera_id = id;
        rules.rules_json = (char *)"{\"zones\":[],\"lines\":[]}";
        published = vigil__res_publish(api, &rules, why, sizeof(why));
    }
    json_t *obj = json_pack("{s:s, s:b}", "id", id, "deleted", 1);
    if (obj) vigil__res_applied(obj, published, why);
    vigil__reply_json(reply, MHD_HTTP_OK, obj);
}
