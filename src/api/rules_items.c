/* One zone or line of a camera through the HTTP API:
 *   GET    /api/v1/cameras/{id}/zones           (viewer)    {"items":[...]} with the set's ETag
 *   POST   /api/v1/cameras/{id}/zones           (operator)  add one (If-Match optional)
 *   GET    /api/v1/cameras/{id}/zones/{zone}    (viewer)    one, with the set's ETag
 *   PUT    /api/v1/cameras/{id}/zones/{zone}    (operator)  create or replace (If-Match required)
 *   DELETE /api/v1/cameras/{id}/zones/{zone}    (operator)  remove (If-Match required)
 * and the same under /lines. Each is a change of the camera's one rule set
 * (rules.c): the ETag is the set's version, whichever item changed. */
#include <stdio.h>
#include <string.h>

#include "api/params.h"
#include "api/resources.h"
#include "api/rules_int.h"

/* What a route names: the list ("zones" or "lines") and the item's id. */
typedef struct item_ref {
    char camera[VIGIL_CAMERA_ID_MAX];
    const char *list; /* "zones" | "lines" */
    char id[VIGIL_RULE_ID_MAX];
    json_t *item; /* the body's item (POST, PUT) */
} item_ref_t;

/* Reads /api/v1/cameras/{id}/{zones|lines}[/{item}]: 0, or -1 with a 400. */
static int parse_ref(const vigil__req_t *req, int with_item, item_ref_t *ref,
                     vigil__reply_t *reply)
{
    char seg[16], raw[VIGIL_RULE_ID_MAX + 8];
    vigil__param_error_t perr;

    memset(ref, 0, sizeof(*ref));
    if (vigil__res_camera_segment(req->url, 3, ref->camera, reply)) return -1;
    vigil__api_path_segment(req->url, 4, seg, sizeof(seg));
    ref->list = strcmp(seg, "lines") == 0 ? "lines" : "zones";
    if (!with_item) return 0;
    const char *name = ref->list[0] == 'z' ? "zone" : "line";
    if (vigil__api_path_segment(req->url, 5, raw, sizeof(raw)) < 0 ||
        vigil__api_parse_rule_id(raw, ref->id, &perr, name) != 0) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, name, "%s", perr.message);
        return -1;
    }
    return 0;
}

/* The index of item id in root[list], or -1. */
static int find(json_t *root, const char *list, const char *id)
{
    json_t *arr = json_object_get(root, list), *v;
    size_t i;

    json_array_foreach(arr, i, v)
    {
        const char *vid = json_string_value(json_object_get(v, "id"));
        if (vid && strcmp(vid, id) == 0) return (int)i;
    }
    return -1;
}

/* The body as one item of ref->list; its id must be the path's when both
 * are given. 0, or -1 with a 400. */
static int read_item(vigil__req_t *req, item_ref_t *ref, int path_id, vigil__reply_t *reply)
{
    json_t *id;

    if (!(ref->item = vigil__api_body_json(req, reply))) return -1;
    id = json_object_get(ref->item, "id");
    if (path_id) {
        if (id && (!json_is_string(id) || strcmp(json_string_value(id), ref->id) != 0)) {
            vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "id",
                               "the body's \"id\" differs from the path's \"%s\"", ref->id);
            return -1;
        }
        if (!id) json_object_set_new(ref->item, "id", json_string(ref->id));
        return 0;
    }
    vigil__param_error_t perr;
    if (!json_is_string(id) ||
        vigil__api_parse_rule_id(json_string_value(id), ref->id, &perr, "id") != 0) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "id",
                           "\"id\" must be 1 to 63 of A-Z a-z 0-9 _ . -");
        return -1;
    }
    return 0;
}

static int apply_add(json_t *root, void *ctx, vigil__reply_t *reply)
{
    item_ref_t *ref = ctx;
    if (find(root, ref->list, ref->id) >= 0) {
        vigil__reply_error(reply, MHD_HTTP_CONFLICT, "id",
                           "camera \"%s\" has a %s \"%s\" already (PUT .../%s/%s replaces it)",
                           ref->camera, ref->list[0] == 'z' ? "zone" : "line", ref->id,
                           ref->list, ref->id);
        return -1;
    }
    json_array_append(json_object_get(root, ref->list), ref->item);
    return 0;
}

static int apply_put(json_t *root, void *ctx, vigil__reply_t *reply)
{
    item_ref_t *ref = ctx;
    int i = find(root, ref->list, ref->id);

    (void)reply;
    if (i >= 0)
        json_array_set(json_object_get(root, ref->list), (size_t)i, ref->item);
    else
        json_array_append(json_object_get(root, ref->list), ref->item);
    return 0;
}

static int apply_delete(json_t *root, void *ctx, vigil__reply_t *reply)
{
    item_ref_t *ref = ctx;
    int i = find(root, ref->list, ref->id);

    if (i < 0) {
        vigil__reply_error(reply, MHD_HTTP_NOT_FOUND, NULL, "camera \"%s\" has no %s \"%s\"",
                           ref->camera, ref->list[0] == 'z' ? "zone" : "line", ref->id);
        return -1;
    }
    json_array_remove(json_object_get(root, ref->list), (size_t)i);
    return 0;
}

/* GET of the list (with_item 0) or of one item. */
static void get_items(vigil_api_t *api, vigil__req_t *req, int with_item, vigil__reply_t *reply)
{
    vigil__rules_state_t st;
    item_ref_t ref;
    vigil_store_t *store;
    int rc, i;

    if (parse_ref(req, with_item, &ref, reply) || !vigil__api_no_params(req, reply)) return;
    if (!(store = vigil__res_store(api, reply))) return;
    rc = vigil__rules_load(api, store, ref.camera, &st, reply);
    vigil__api_store_release(api, store);
    if (rc) return;
    vigil__res_etag(reply, st.version);
    json_t *list = json_object_get(st.root, ref.list);
    if (!with_item) {
        vigil__reply_json(reply, MHD_HTTP_OK, json_pack("{s:O}", "items", list));
    } else if ((i = find(st.root, ref.list, ref.id)) < 0) {
        vigil__reply_error(reply, MHD_HTTP_NOT_FOUND, NULL, "camera \"%s\" has no %s \"%s\"",
                           ref.camera, ref.list[0] == 'z' ? "zone" : "line", ref.id);
    } else {
        vigil__reply_json(reply, MHD_HTTP_OK, json_incref(json_array_get(list, (size_t)i)));
    }
    json_decref(st.root);
}

void vigil__api_rule_items(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    get_items(api, req, 0, reply);
}

void vigil__api_rule_item(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    get_items(api, req, 1, reply);
}

void vigil__api_rule_item_add(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    item_ref_t ref;
    char location[200];

    if (parse_ref(req, 0, &ref, reply) || !vigil__api_no_params(req, reply)) return;
    if (read_item(req, &ref, 0, reply) == 0) {
        snprintf(location, sizeof(location), "/api/v1/cameras/%s/%s/%s", ref.camera, ref.list,
                 ref.id);
        vigil__reply_header(reply, MHD_HTTP_HEADER_LOCATION, location);
        vigil__rules_write(api, req, ref.camera, 0, apply_add, &ref, MHD_HTTP_CREATED,
                           ref.list[0] == 'z' ? "zone.create" : "line.create", reply);
    }
    json_decref(ref.item);
}

void vigil__api_rule_item_put(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    item_ref_t ref;

    if (parse_ref(req, 1, &ref, reply) || !vigil__api_no_params(req, reply)) return;
    if (read_item(req, &ref, 1, reply) == 0)
        vigil__rules_write(api, req, ref.camera, 1, apply_put, &ref, MHD_HTTP_OK,
                           ref.list[0] == 'z' ? "zone.update" : "line.update", reply);
    json_decref(ref.item);
}

void vigil__api_rule_item_delete(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    item_ref_t ref;

    if (parse_ref(req, 1, &ref, reply) || !vigil__api_no_params(req, reply)) return;
    if (req->body_len) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, NULL, "DELETE takes no body");
        return;
    }
    vigil__rules_write(api, req, ref.camera, 1, apply_delete, &ref, MHD_HTTP_OK,
                       ref.list[0] == 'z' ? "zone.delete" : "line.delete", reply);
}
