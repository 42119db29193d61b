/* GET /api/v1/tracks/{camera}/{id}: the boxes of one track, in frame order.
 *
 * A track id is per camera (each camera's analyzer numbers its own), hence
 * both in the path. The answer holds at most TRACK_POINTS_MAX points, the
 * first ones, with "truncated": true when there are more: a track that stays
 * in view for hours would otherwise be a response of many megabytes. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/api_int.h"
#include "api/params.h"

#define TRACK_POINTS_MAX 10000

static json_t *point_json(const vigil_track_point_t *p)
{
    json_t *obj = json_object();
    int bad = !obj;

    bad |= json_object_set_new(obj, "sequence", json_integer((json_int_t)p->sequence));
    bad |= json_object_set_new(obj, "time", vigil__json_time(p->time_us));
    bad |= json_object_set_new(obj, "time_us", json_integer(p->time_us));
    bad |= json_object_set_new(obj, "frame_id",
                               p->frame_id > 0 ? json_integer(p->frame_id) : json_null());
    bad |= json_object_set_new(obj, "score", vigil__json_float(p->score));
    bad |= json_object_set_new(obj, "box",
                               json_pack("[o,o,o,o]", vigil__json_float(p->x1),
                                         vigil__json_float(p->y1), vigil__json_float(p->x2),
                                         vigil__json_float(p->y2)));
    if (bad) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

static json_t *track_json(const char *camera, int64_t id, const vigil_track_point_t *points,
                          size_t n, int truncated)
{
    json_t *obj = json_object(), *arr = json_array();
    int bad = !obj || !arr;

    for (size_t i = 0; !bad && i < n; i++) {
        json_t *p = point_json(&points[i]);
        bad |= !p || json_array_append_new(arr, p);
    }
    bad |= json_object_set_new(obj, "camera", json_string(camera));
    bad |= json_object_set_new(obj, "track", json_integer(id));
    bad |= json_object_set_new(obj, "label", json_string(points[0].label));
    bad |= json_object_set_new(obj, "first", vigil__json_time(points[0].time_us));
    bad |= json_object_set_new(obj, "first_us", json_integer(points[0].time_us));
    bad |= json_object_set_new(obj, "last", vigil__json_time(points[n - 1].time_us));
    bad |= json_object_set_new(obj, "last_us", json_integer(points[n - 1].time_us));
    bad |= json_object_set_new(obj, "points", arr);
    bad |= json_object_set_new(obj, "truncated", json_boolean(truncated));
    if (bad) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

void vigil__api_track(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    const char *url = req->url;
    char camera[64], seg[64], errstr[256] = "";
    vigil__param_error_t perr;
    vigil_store_t *store;
    vigil_track_point_t *points = NULL;
    size_t n = 0;
    int64_t id;
    vigil_err_t err;
    json_t *obj;

    /* "/api/v1/tracks/{camera}/{id}": segments 3 and 4 */
    if (vigil__api_parse_camera(vigil__api_path_segment(url, 3, seg, sizeof(seg)) >= 0 ? seg
                                                                                        : NULL,
                                camera, &perr) != 0 ||
        vigil__api_parse_id(vigil__api_path_segment(url, 4, seg, sizeof(seg)) >= 0 ? seg : NULL,
                            &id, &perr) != 0) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, perr.parameter, "%s", perr.message);
        return;
    }
    store = vigil__api_store_acquire(api, errstr, sizeof(errstr));
    if (!store) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "store unavailable: %s",
                           errstr);
        return;
    }
    err = vigil_store_track_points(store, camera, (uint64_t)id, TRACK_POINTS_MAX + 1, &points,
                                   &n);
    vigil__api_store_release(api, store);
    if (err == VIGIL_ERR_NOT_FOUND || (!err && n == 0)) {
        vigil__reply_error(reply, MHD_HTTP_NOT_FOUND, NULL,
                           "track %" PRId64 " of camera \"%s\" not found", id, camera);
        goto done;
    }
    if (err) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "store: cannot read track %" PRId64 " of camera \"%s\": %s", id,
                           camera, vigil_err_str(err));
        goto done;
    }
    obj = track_json(camera, id, points, n > TRACK_POINTS_MAX ? TRACK_POINTS_MAX : n,
                     n > TRACK_POINTS_MAX);
    if (!obj) {
        vigil__reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
                           "track %" PRId64 " cannot be encoded as JSON", id);
        goto done;
    }
    vigil__reply_json(reply, MHD_HTTP_OK, obj);
done:
    free(points);
}
