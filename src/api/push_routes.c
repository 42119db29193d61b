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

void vigil__api_push_sub_add(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    vigil_push_sub_t sub;
    vigil_store_t *store = NULL;
    json_t *body;
    char errstr[256], origin[256], target[32], field[48];
    int64_t id = 0;
    vigil_err_t err;

    memset(&sub, 0, sizeof(sub));
    if (!vigil__api_no_params(req, reply) || !vigil__api_needs_account(req, reply) ||
        !push_ready(api, reply))
        return;
    /* the media type and JSON syntax errors as every route gives them; then
     * the push module's own parser (src/push/subscription.c, fuzzed) */
    if (!(body = vigil__api_body_json(req, reply))) return;
    json_decref(body);
    err = vigil_push_sub_parse(req->body, req->body_len, vigil_push_dest_allow(api->push), &sub,
                               field, sizeof(field), errstr, sizeof(errstr));
    if (err) {
        if (err == VIGIL_ERR_NOMEM)
            vigil__reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out of memory");
        else
            vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, field[0] ? field : NULL, "%s",
                               errstr);
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
