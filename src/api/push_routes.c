/* The Web Push routes (docs/push.md, docs/api.md "Push"): the VAPID public
 * key, a user's own subscriptions (list, add, delete) and a test alert.
 *
 * Every caller (viewer and up) sees and changes only their own
 * subscriptions. A subscription's endpoint URL and keys are the browser's
 * secrets: they are validated strictly, stored, and never shown again (the
 * list gives the endpoint's origin), logged or put in an error reply. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "api/auth_int.h"
#include "api/params.h"
#include "vigil/clock.h"
#include "vigil/push.h"

#define FILTER_KEYS 5
static const char *const filter_keys[FILTER_KEYS + 1] = {"cameras", "zones", "lines", "labels",
                                                         "kinds", NULL};
#define FILTER_ITEMS 32 /* entries per list */
#define FILTER_LEN 64   /* bytes per entry */

/* 1 when push is usable, else 0 with a 503. */
static int push_ready(vigil_api_t *api, vigil__reply_t *reply)
{
    if (api->push) return 1;
    vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "%s",
                       api->push_error[0] ? api->push_error
                                          : "push alerts are off (push.enabled: false)");
    return 0;
}

static json_t *sub_json(const vigil_push_sub_t *s)
{
    char origin[256];
    json_t *filters = json_loads(s->filters, 0, NULL);

    if (vigil_push_origin(s->endpoint, origin, sizeof(origin))) snprintf(origin, sizeof(origin), "?");
    return json_pack("{s:I, s:s, s:o, s:o, s:I}", "id", (json_int_t)s->id, "endpoint_origin",
                     origin, "filters", filters ? filters : json_object(), "created",
                     vigil__json_time(s->created_us), "created_us", (json_int_t)s->created_us);
}

void vigil__api_push_vapid(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    if (!vigil__api_no_params(req, reply) || !push_ready(api, reply)) return;
    vigil__reply_json(reply, MHD_HTTP_OK,
                      json_pack("{s:s}", "public_key", vigil_push_public_key(api->push)));
}

void vigil__api_push_subs(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    vigil_push_sub_t *rows = NULL;
    vigil_store_t *store;
    size_t n = 0;
    char errstr[256];
    json_t *items;

    if (!vigil__api_no_params(req, reply) || !vigil__api_needs_account(req, reply)) return;
    if (!(store = vigil__api_store_acquire(api, errstr, sizeof(errstr)))) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "the warehouse cannot be opened");
        return;
    }
    vigil_err_t err = vigil_store_push_sub_list(store, req->who.user_id, &rows, &n, errstr,
                                                sizeof(errstr));
    vigil__api_store_release(api, store);
    if (err) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "the warehouse refused it");
        return;
    }
    items = json_array();
    for (size_t i = 0; i < n && items; i++) json_array_append_new(items, sub_json(&rows[i]));
    vigil_push_subs_free(rows, n);
    vigil__reply_json(reply, MHD_HTTP_OK, json_pack("{s:o}", "items", items));
}

/* The key `name` of keys: a base64url string decoding to exactly len bytes
 * into out (and its text into text); 0, or -1 with a 400. */
static int key_member(json_t *keys, const char *name, size_t len, char *text, size_t text_size,
                      uint8_t *out, vigil__reply_t *reply)
{
    json_t *v = json_object_get(keys, name);
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    size_t sl = s ? json_string_length(v) : 0;

    if (!s || sl >= text_size || strlen(s) != sl ||
        vigil_push_b64url_decode(s, sl, out, len) != (int)len) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, name,
                           "keys.%s: must be base64url of %zu bytes", name, len);
        return -1;
    }
    memcpy(text, s, sl + 1);
    return 0;
}

/* The filters object made canonical (every list present, deduplicated
 * order kept); NULL with a 400. */
static json_t *filters_parse(json_t *f, vigil__reply_t *reply)
{
    json_t *out = json_object(), *list, *it;
    const char *key;
    size_t i;

    if (!out) goto nomem;
    if (f && !json_is_null(f) && !json_is_object(f)) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "filters", "filters: must be an object");
        goto fail;
    }
    if (f && json_is_object(f)) {
        json_object_foreach(f, key, list) {
            int known = 0;
            for (int k = 0; k < FILTER_KEYS; k++) known |= strcmp(key, filter_keys[k]) == 0;
            if (!known) {
                vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "filters",
                                   "filters: unknown member (allowed: cameras, zones, lines, "
                                   "labels, kinds)");
                goto fail;
            }
        }
    }
    for (int k = 0; k < FILTER_KEYS; k++) {
        json_t *src = f && json_is_object(f) ? json_object_get(f, filter_keys[k]) : NULL;
        json_t *dst = json_array();
        if (!dst) goto nomem;
        json_object_set_new(out, filter_keys[k], dst);
        if (!src || json_is_null(src)) continue;
        if (!json_is_array(src) || json_array_size(src) > FILTER_ITEMS) {
            vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "filters",
                               "filters.%s: must be a list of at most %d strings", filter_keys[k],
                               FILTER_ITEMS);
            goto fail;
        }
        json_array_foreach(src, i, it) {
            const char *s = json_is_string(it) ? json_string_value(it) : NULL;
            size_t len = s ? json_string_length(it) : 0;
            int bad = !s || len == 0 || len > FILTER_LEN || strlen(s) != len;
            for (size_t c = 0; !bad && c < len; c++)
                bad = (unsigned char)s[c] < 0x20 || s[c] == 0x7f;
            if (bad) {
                vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "filters",
                                   "filters.%s: entries are 1..%d bytes of text", filter_keys[k],
                                   FILTER_LEN);
                goto fail;
            }
            int dup = 0;
            json_t *seen;
            size_t j;
            json_array_foreach(dst, j, seen) dup |= strcmp(json_string_value(seen), s) == 0;
            if (!dup) json_array_append_new(dst, json_string(s));
        }
    }
    return out;
nomem:
    vigil__reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out of memory");
fail:
    json_decref(out);
    return NULL;
}

void vigil__api_push_sub_add(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    static const char *const allowed[] = {"endpoint", "keys", "filters", "expirationTime", NULL};
    vigil_push_sub_t sub;
    vigil_store_t *store = NULL;
    json_t *body = NULL, *keys, *filters = NULL, *ep;
    uint8_t p256dh[VIGIL_PUSH_KEY_LEN], auth[VIGIL_PUSH_AUTH_LEN];
    char errstr[256], origin[256], target[32];
    int64_t id = 0;
    vigil_err_t err;

    memset(&sub, 0, sizeof(sub));
    if (!vigil__api_no_params(req, reply) || !vigil__api_needs_account(req, reply) ||
        !push_ready(api, reply))
        return;
    if (!(body = vigil__api_body_json(req, reply))) return;
    if (!vigil__api_json_keys(body, allowed, reply)) goto out;
    ep = json_object_get(body, "endpoint");
    if (!json_is_string(ep) || strlen(json_string_value(ep)) != json_string_length(ep)) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "endpoint", "endpoint: must be a string");
        goto out;
    }
    if (vigil_push_endpoint_ok(api->push, json_string_value(ep), errstr, sizeof(errstr))) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "endpoint", "%s", errstr);
        goto out;
    }
    snprintf(sub.endpoint, sizeof(sub.endpoint), "%s", json_string_value(ep));
    keys = json_object_get(body, "keys");
    if (!json_is_object(keys) || json_object_size(keys) != 2) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "keys",
                           "keys: must be an object with p256dh and auth only");
        goto out;
    }
    if (key_member(keys, "p256dh", sizeof(p256dh), sub.p256dh, sizeof(sub.p256dh), p256dh,
                   reply) ||
        key_member(keys, "auth", sizeof(auth), sub.auth, sizeof(sub.auth), auth, reply))
        goto out;
    if (!vigil_push_key_valid(p256dh)) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "p256dh",
                           "keys.p256dh: not an uncompressed P-256 point");
        goto out;
    }
    if (!(filters = filters_parse(json_object_get(body, "filters"), reply))) goto out;
    if (!(sub.filters = json_dumps(filters, JSON_COMPACT))) {
        vigil__reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out of memory");
        goto out;
    }
    sub.user_id = req->who.user_id;
    sub.created_us = vigil_now_us();
    if (!(store = vigil__api_store_acquire(api, errstr, sizeof(errstr)))) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "the warehouse cannot be opened");
        goto out;
    }
    err = vigil_store_push_sub_put(store, &sub, &id, errstr, sizeof(errstr));
    vigil__api_store_release(api, store);
    if (err == VIGIL_ERR_FULL) {
        vigil__reply_error(reply, MHD_HTTP_CONFLICT, NULL,
                           "a user has at most %d push subscriptions: delete one first",
                           VIGIL_PUSH_SUBS_PER_USER);
        goto out;
    }
    if (err) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "the warehouse refused it");
        goto out;
    }
    vigil_push_origin(sub.endpoint, origin, sizeof(origin));
    snprintf(target, sizeof(target), "%lld", (long long)id);
    {
        json_t *detail = json_pack("{s:s}", "endpoint_origin", origin);
        char *d = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
        vigil__api_audit(api, req, "push.subscribe", target, d);
        free(d);
        json_decref(detail);
    }
    sub.id = id;
    vigil__reply_json(reply, MHD_HTTP_CREATED, sub_json(&sub));
out:
    free(sub.filters);
    json_decref(filters);
    json_decref(body);
    memset(sub.endpoint, 0, sizeof(sub.endpoint));
}

void vigil__api_push_sub_delete(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    vigil_store_t *store;
    char seg[32], errstr[256];
    int64_t id = 0;
    vigil__param_error_t perr;
    vigil_err_t err;

    if (!vigil__api_no_params(req, reply) || !vigil__api_needs_account(req, reply)) return;
    if (vigil__api_path_segment(req->url, 4, seg, sizeof(seg)) < 0 ||
        vigil__api_parse_id(seg, &id, &perr) != 0 || id <= 0) {
        vigil__reply_error(reply, MHD_HTTP_NOT_FOUND, NULL, "no such push subscription");
        return;
    }
    if (!(store = vigil__api_store_acquire(api, errstr, sizeof(errstr)))) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "the warehouse cannot be opened");
        return;
    }
    /* one's own only, admins included: the keys are a browser's, not the site's */
    err = vigil_store_push_sub_delete(store, id, req->who.user_id, errstr, sizeof(errstr));
    vigil__api_store_release(api, store);
    if (err == VIGIL_ERR_NOT_FOUND) {
        vigil__reply_error(reply, MHD_HTTP_NOT_FOUND, NULL, "no such push subscription");
        return;
    }
    if (err) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "the warehouse refused it");
        return;
    }
    vigil__api_audit(api, req, "push.unsubscribe", seg, NULL);
    vigil__reply_json(reply, MHD_HTTP_OK, json_pack("{s:I, s:b}", "id", (json_int_t)id,
                                                    "deleted", 1));
}

void vigil__api_push_test(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    vigil_store_t *store;
    char errstr[256];
    int n = 0;
    vigil_err_t err;

    if (!vigil__api_no_params(req, reply) || !vigil__api_needs_account(req, reply) ||
        !push_ready(api, reply))
        return;
    if (!(store = vigil__api_store_acquire(api, errstr, sizeof(errstr)))) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "the warehouse cannot be opened");
        return;
    }
    err = vigil_push_send_test(api->push, store, req->who.user_id, &n, errstr, sizeof(errstr));
    vigil__api_store_release(api, store);
    if (err == VIGIL_ERR_NOT_FOUND) {
        vigil__reply_error(reply, MHD_HTTP_NOT_FOUND, NULL,
                           "you have no push subscription: subscribe first");
        return;
    }
    if (err) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "cannot queue the alert");
        return;
    }
    vigil__reply_json(reply, MHD_HTTP_ACCEPTED, json_pack("{s:i}", "queued", n));
}
