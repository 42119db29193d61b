/* Zones and lines of a camera through the HTTP API:
 *   GET /api/v1/cameras/{id}/rules              (viewer)    the whole rule set, with its ETag
 *   PUT /api/v1/cameras/{id}/rules              (operator)  replace it (If-Match required)
 * and, per item (rules_items.c), /zones, /zones/{zone}, /lines, /lines/{line}.
 *
 * Main idea: a camera's rule set is one document, the JSON `vigil camera
 * rules` takes (vigil/analytics.h), with one version. Every write reads the
 * current set, applies its change to the JSON, checks the result with the
 * configuration's parser (vigil_rules_from_json: the same fields, ranges
 * and geometry checks as cameras[].zones in the YAML file), stores its
 * canonical form (vigil_rules_to_json) if the version is still the one it
 * read (one transaction, store.h), and publishes it as OP_SET_RULES on the
 * control topic, which every analytics worker applies from its next frame.
 *
 * Concurrency: the ETag is the version ("3"). A write that replaces or
 * deletes needs If-Match: a missing one is 428 (an editor must say which
 * version it changes), a stale one 412 with the current ETag, so two
 * editors never overwrite each other silently. `If-Match: *` means "whatever
 * is there". A create (POST of one zone or line) may omit If-Match: it
 * cannot overwrite (an existing id is 409), and it is retried against the
 * newer version when another write lands in between.
 *
 * Version 0 is the configuration's rule set for the camera (or an empty one):
 * the first write through the API makes version 1, and from then on the
 * API's set overrides the configuration's for that camera, in `vigil run`
 * (which puts the stored sets on its control topic at start) as in
 * distributed mode (the compacted control topic keeps the latest). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/params.h"
#include "api/resources.h"
#include "api/rules_int.h"
#include "vigil/analytics.h"
#include "vigil/clock.h"
#include "vigil/config.h"

#define COMMIT_TRIES 3

/* The configuration's rule set of a camera as JSON (an empty set if none). */
static json_t *config_rules(const vigil_api_t *api, const char *camera)
{
    const vigil_camera_conf_t *c = api->cfg ? vigil_config_camera(api->cfg, camera) : NULL;
    char *text = c ? vigil_rules_to_json(c->zones, c->nzones, c->lines, c->nlines) : NULL;
    json_t *root = text ? json_loads(text, 0, NULL) : json_pack("{s:[], s:[]}", "zones", "lines");

    free(text);
    return root;
}

int vigil__rules_load(vigil_api_t *api, vigil_store_t *store, const char *camera,
                      vigil__rules_state_t *st, vigil__reply_t *reply)
{
    char errstr[256] = "", what[128];
    vigil_camera_record_t *rec = calloc(1, sizeof(*rec));
    vigil_rules_row_t row;
    vigil_err_t err;

    memset(st, 0, sizeof(*st));
    snprintf(st->camera, sizeof(st->camera), "%s", camera);
    snprintf(what, sizeof(what), "camera \"%s\"", camera);
    if (!rec) {
        vigil__reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out of memory");
        return -1;
    }
    err = vigil__res_config_camera(api, camera)
              ? VIGIL_OK
              : vigil_store_camera_get(store, camera, 0, rec, errstr, sizeof(errstr));
    free(rec);
    if (err) {
        vigil__res_store_error(reply, err, what, err == VIGIL_ERR_NOT_FOUND ? "not found" : errstr);
        return -1;
    }
    err = vigil_store_rules_get(store, camera, &row, errstr, sizeof(errstr));
    if (err == VIGIL_ERR_NOT_FOUND) {
        st->root = config_rules(api, camera);
    } else if (err) {
        vigil__res_store_error(reply, err, what, errstr);
        return -1;
    } else {
        st->version = row.version;
        st->root = json_loads(row.json, JSON_REJECT_DUPLICATES, NULL);
        free(row.json);
    }
    if (!json_is_object(st->root) || !json_is_array(json_object_get(st->root, "zones")) ||
        !json_is_array(json_object_get(st->root, "lines"))) {
        json_decref(st->root);
        st->root = NULL;
        vigil__reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
                           "camera \"%s\": the stored rule set cannot be read", camera);
        return -1;
    }
    return 0;
}

/* Checks root with the configuration's parser; the canonical text
 * (malloc'd), or NULL with a 400 naming the field. */
static char *canonical(json_t *root, vigil__reply_t *reply)
{
    char *text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(17)), *out = NULL;
    char errstr[512] = "", safe[512];
    vigil_rules_t rules;

    if (!text) {
        vigil__reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out of memory");
        return NULL;
    }
    if (vigil_rules_from_json(text, strlen(text), &rules, errstr, sizeof(errstr)) != VIGIL_OK) {
        vigil__api_sanitize(safe, sizeof(safe), errstr);
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, NULL, "%s", safe);
    } else {
        out = vigil_rules_to_json(rules.zones, rules.nzones, rules.lines, rules.nlines);
        vigil_rules_release(&rules);
        if (!out) vigil__reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out of memory");
    }
    free(text);
    return out;
}

/* Whether the request's If-Match lets a write to version proceed: 1 yes
 * (*pinned: it named the version, so a conflict is a 412, not a retry);
 * 0 with a 428 or 412 in *reply. */
static int precondition(const vigil__req_t *req, int64_t version, int required, int *pinned,
                        vigil__reply_t *reply)
{
    int star = 0, r = vigil__res_if_match(req, version, &star);

    *pinned = r > 0 && !star;
    if (r == 0 && required) {
        vigil__reply_error(reply, MHD_HTTP_PRECONDITION_REQUIRED, NULL,
                           "%s needs an If-Match header with the rule set's ETag (GET it first; "
                           "If-Match: * overwrites whatever is there)",
                           req->method);
        vigil__res_etag(reply, version);
        return 0;
    }
    if (r < 0) {
        vigil__reply_error(reply, MHD_HTTP_PRECONDITION_FAILED, NULL,
                           "the rule set changed: it is now version %lld (ETag \"%lld\"); GET it "
                           "again and reapply the change",
                           (long long)version, (long long)version);
        vigil__res_etag(reply, version);
        return 0;
    }
    return 1;
}

void vigil__rules_write(vigil_api_t *api, vigil__req_t *req, const char *camera, int required,
                        vigil__rules_apply_fn apply, void *ctx, int status, const char *action,
                        vigil__reply_t *reply)
{
    char errstr[256] = "", why[256] = "", detail[64], what[128];
    vigil__rules_state_t st = {.root = NULL};
    vigil_store_t *store = vigil__res_store(api, reply);
    char *text = NULL;
    int pinned = 0, published;
    int64_t version = 0;
    vigil_err_t err = VIGIL_ERR_AGAIN;

    if (!store) return;
    for (int tries = 0; err == VIGIL_ERR_AGAIN && tries < COMMIT_TRIES; tries++) {
        json_decref(st.root);
        st.root = NULL;
        free(text);
        text = NULL;
        if (vigil__rules_load(api, store, camera, &st, reply)) goto out;
        if (!precondition(req, st.version, required, &pinned, reply)) goto out;
        if (apply(st.root, ctx, reply) || !(text = canonical(st.root, reply))) goto out;
        version = st.version;
        err = vigil_store_rules_put(store, camera, text, &version, vigil_now_us(),
                                    vigil__res_who(req), errstr, sizeof(errstr));
        if (err == VIGIL_ERR_AGAIN && pinned) {
            /* another write landed between our read and our write */
            precondition(req, version, required, &pinned, reply);
            goto out;
        }
    }
    if (err) {
        snprintf(what, sizeof(what), "camera \"%s\": cannot store the rule set", camera);
        if (err == VIGIL_ERR_AGAIN)
            vigil__reply_error(reply, MHD_HTTP_CONFLICT, NULL,
                               "%s: it keeps changing under concurrent writes; retry", what);
        else
            vigil__res_store_error(reply, err, what, errstr);
        goto out;
    }
    snprintf(detail, sizeof(detail), "{\"version\":%lld}", (long long)version);
    vigil__api_audit(api, req, action, camera, detail);
    Vigil__V1__CameraCommand cmd = VIGIL__V1__CAMERA_COMMAND__INIT;
    cmd.op = VIGIL__V1__CAMERA_COMMAND__OP__OP_SET_RULES;
    cmd.camera_id = st.camera;
    cmd.rules_json = text;
    published = vigil__res_publish(api, &cmd, why, sizeof(why));
    json_t *rules = json_loads(text, 0, NULL);
    json_t *obj = rules ? json_pack("{s:s, s:I, s:O, s:O}", "camera", camera, "version",
                                    (json_int_t)version, "zones", json_object_get(rules, "zones"),
                                    "lines", json_object_get(rules, "lines"))
                        : NULL;
    json_decref(rules);
    if (obj) vigil__res_applied(obj, published, why);
    vigil__res_etag(reply, version);
    vigil__reply_json(reply, status, obj);
out:
    free(text);
    json_decref(st.root);
    vigil__api_store_release(api, store);
}

/* --- the whole set ---------------------------------------------------------------- */

void vigil__api_rules_get(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    char camera[VIGIL_CAMERA_ID_MAX];
    vigil__rules_state_t st;
    vigil_store_t *store;
    int rc;

    if (vigil__res_camera_segment(req->url, 3, camera, reply)) return;
    if (!vigil__api_no_params(req, reply)) return;
    if (!(store = vigil__res_store(api, reply))) return;
    rc = vigil__rules_load(api, store, camera, &st, reply);
    vigil__api_store_release(api, store);
    if (rc) return;
    vigil__res_etag(reply, st.version);
    vigil__reply_json(reply, MHD_HTTP_OK, st.root);
}

/* PUT: the body replaces the whole set. */
static int replace_all(json_t *root, void *ctx, vigil__reply_t *reply)
{
    json_t *body = ctx, *zones = json_object_get(body, "zones"),
           *lines = json_object_get(body, "lines");

    (void)reply;
    json_object_set_new(root, "zones", zones ? json_incref(zones) : json_array());
    json_object_set_new(root, "lines", lines ? json_incref(lines) : json_array());
    return 0;
}

void vigil__api_rules_put(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    static const char *const keys[] = {"zones", "lines", NULL};
    char camera[VIGIL_CAMERA_ID_MAX];
    json_t *body;

    if (vigil__res_camera_segment(req->url, 3, camera, reply)) return;
    if (!vigil__api_no_params(req, reply)) return;
    if (!(body = vigil__api_body_json(req, reply))) return;
    if (vigil__api_json_keys(body, keys, reply))
        vigil__rules_write(api, req, camera, 1, replace_all, body, MHD_HTTP_OK, "rules.update",
                           reply);
    json_decref(body);
}
