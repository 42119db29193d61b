/* Reviewing and deleting analytics events through the HTTP API:
 *   PATCH  /api/v1/events/{id}      (operator)  {"reviewed": true|false}; the event after
 *   POST   /api/v1/events/review    (operator)  {"ids": [1..1000 ids], "reviewed": true|false}
 *   DELETE /api/v1/events/{id}      (admin)     a closed event, with its cached clip
 *
 * Review marks are who and when (reviewed_by, reviewed_at): the principal
 * the request acts for and the server's clock. A batch is one transaction:
 * all its events are marked or none; ids of events that do not exist (swept
 * by retention meanwhile, say) are skipped and counted as not found.
 *
 * Deleting is an admin's: it removes evidence. An open event cannot be
 * deleted (409): analytics would write it again on its next update. The
 * snapshot frame stays (frames belong to the camera's retention). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/params.h"
#include "api/resources.h"
#include "vigil/clock.h"

#define REVIEW_MAX 1000

/* The {id} of /api/v1/events/{id}: 0, or -1 with a 400 naming "id". */
static int event_id(const char *url, int64_t *id, vigil__reply_t *reply)
{
    vigil__param_error_t perr;
    char seg[32];
    int n = vigil__api_path_segment(url, 3, seg, sizeof(seg));

    if (vigil__api_parse_id(n >= 0 ? seg : NULL, id, &perr) != 0) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, perr.parameter, "%s", perr.message);
        return -1;
    }
    return 0;
}

/* "reviewed" of a body: 0/1, or -1 with a 400. */
static int reviewed_of(json_t *body, vigil__reply_t *reply)
{
    json_t *v = json_object_get(body, "reviewed");

    if (!json_is_boolean(v)) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "reviewed",
                           "\"reviewed\" must be true or false");
        return -1;
    }
    return json_is_true(v);
}

void vigil__api_event_review(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    static const char *const keys[] = {"reviewed", NULL};
    char errstr[256] = "", what[64], detail[32];
    vigil_analytics_event_row_t row;
    vigil_store_t *store = NULL;
    json_t *body = NULL;
    size_t updated = 0;
    int64_t id;
    int reviewed;
    vigil_err_t err;

    if (event_id(req->url, &id, reply) || !vigil__api_no_params(req, reply)) return;
    if (!(body = vigil__api_body_json(req, reply))) return;
    if (!vigil__api_json_keys(body, keys, reply) || (reviewed = reviewed_of(body, reply)) < 0)
        goto out;
    if (!(store = vigil__res_store(api, reply))) goto out;
    snprintf(what, sizeof(what), "event %" PRId64, id);
    err = vigil_store_events_review(store, &id, 1, reviewed, vigil_now_us(), vigil__res_who(req),
                                    &updated, errstr, sizeof(errstr));
    if (!err && !updated) err = VIGIL_ERR_NOT_FOUND;
    if (!err) err = vigil_store_analytics_event_get(store, id, &row);
    if (err) {
        vigil__res_store_error(reply, err, what, err == VIGIL_ERR_NOT_FOUND ? "not found" : errstr);
        goto out;
    }
    snprintf(detail, sizeof(detail), "{\"reviewed\":%s}", reviewed ? "true" : "false");
    vigil__api_audit(api, req, "event.review", what + 6, detail);
    json_t *obj = vigil__api_event_json(&row);
    if (!obj)
        vigil__reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
                           "event %" PRId64 " cannot be encoded as JSON", id);
    else
        vigil__reply_json(reply, MHD_HTTP_OK, obj);
out:
    vigil__api_store_release(api, store);
    json_decref(body);
}

void vigil__api_events_review(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    static const char *const keys[] = {"ids", "reviewed", NULL};
    char errstr[256] = "", detail[64];
    json_t *body = NULL, *ids, *v;
    vigil_store_t *store = NULL;
    int64_t *list = NULL;
    size_t n, i, updated = 0;
    int reviewed;
    vigil_err_t err;

    if (!vigil__api_no_params(req, reply)) return;
    if (!(body = vigil__api_body_json(req, reply))) return;
    if (!vigil__api_json_keys(body, keys, reply) || (reviewed = reviewed_of(body, reply)) < 0)
        goto out;
    ids = json_object_get(body, "ids");
    n = json_array_size(ids);
    if (!json_is_array(ids) || n < 1 || n > REVIEW_MAX) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "ids",
                           "\"ids\" must be a list of 1 to %d event ids", REVIEW_MAX);
        goto out;
    }
    if (!(list = calloc(n, sizeof(*list)))) {
        vigil__reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out of memory");
        goto out;
    }
    json_array_foreach(ids, i, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 1) {
            vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "ids",
                               "\"ids\"[%zu] must be a positive integer", i);
            goto out;
        }
        list[i] = (int64_t)json_integer_value(v);
    }
    if (!(store = vigil__res_store(api, reply))) goto out;
    err = vigil_store_events_review(store, list, n, reviewed, vigil_now_us(),
                                    vigil__res_who(req), &updated, errstr, sizeof(errstr));
    if (err) {
        vigil__res_store_error(reply, err, "cannot review events", errstr);
        goto out;
    }
    snprintf(detail, sizeof(detail), "{\"reviewed\":%s,\"events\":%zu}",
             reviewed ? "true" : "false", updated);
    vigil__api_audit(api, req, "event.review", "", detail);
    vigil__reply_json(reply, MHD_HTTP_OK,
                      json_pack("{s:I, s:I, s:b}", "requested", (json_int_t)n, "updated",
                                (json_int_t)updated, "reviewed", reviewed));
out:
    vigil__api_store_release(api, store);
    free(list);
    json_decref(body);
}

void vigil__api_event_delete(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    char errstr[256] = "", what[64];
    vigil_store_t *store;
    int64_t id;
    vigil_err_t err;

    if (event_id(req->url, &id, reply) || !vigil__api_no_params(req, reply)) return;
    if (req->body_len) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, NULL, "DELETE takes no body");
        return;
    }
    if (!(store = vigil__res_store(api, reply))) return;
    err = vigil_store_event_delete(store, id, errstr, sizeof(errstr));
    vigil__api_store_release(api, store);
    snprintf(what, sizeof(what), "event %" PRId64, id);
    if (err == VIGIL_ERR_INVALID) {
        vigil__reply_error(reply, MHD_HTTP_CONFLICT, NULL,
                           "event %" PRId64 " is still open: it can be deleted once it ends", id);
        return;
    }
    if (err) {
        vigil__res_store_error(reply, err, what, err == VIGIL_ERR_NOT_FOUND ? "not found" : errstr);
        return;
    }
    vigil__api_audit(api, req, "event.delete", what + 6, NULL);
    vigil__reply_json(reply, MHD_HTTP_OK, json_pack("{s:I, s:b}", "id", (json_int_t)id,
                                                    "deleted", 1));
}
