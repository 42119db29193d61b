/* GET /api/v1/frames/{id}.jpg: the stored JPEG of one frame.
 *
 * Frames are written once and never change (store.h: a repeated write of the
 * same key is a no-op), so the response is cacheable forever; an id that is
 * not a positive integer is a 400 naming "id", an unknown one a 404. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "api/params.h"

#define FRAMES_PREFIX "/api/v1/frames/"
#define FRAMES_SUFFIX ".jpg"

void vigil__api_frame(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    const char *url = req->url;
    const char *rest = url + strlen(FRAMES_PREFIX);
    size_t n = strlen(rest), sn = strlen(FRAMES_SUFFIX);
    char stem[32], errstr[256] = "", safe[96];
    vigil__param_error_t perr;
    vigil_store_t *store;
    int64_t id;
    void *jpeg = NULL;
    size_t len = 0;
    vigil_err_t err;

    if (n < sn || strcmp(rest + n - sn, FRAMES_SUFFIX) != 0 || strchr(rest, '/')) {
        vigil__api_sanitize(safe, sizeof(safe), url);
        vigil__reply_error(reply, MHD_HTTP_NOT_FOUND, NULL,
                           "no such path \"%s\" (frames are at " FRAMES_PREFIX "{id}.jpg)", safe);
        return;
    }
    if (n - sn >= sizeof(stem)) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "id",
                           "invalid parameter \"id\": must be a positive integer");
        return;
    }
    memcpy(stem, rest, n - sn);
    stem[n - sn] = '\0';
    if (vigil__api_parse_frame_id(stem, &id, &perr) != 0) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, perr.parameter, "%s", perr.message);
        return;
    }
    store = vigil__api_store_acquire(api, errstr, sizeof(errstr));
    if (!store) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "store unavailable: %s",
                           errstr);
        return;
    }
    err = vigil_store_frame_read(store, id, &jpeg, &len);
    vigil__api_store_release(api, store);
    if (err == VIGIL_ERR_NOT_FOUND) {
        vigil__reply_error(reply, MHD_HTTP_NOT_FOUND, NULL, "frame %lld not found", (long long)id);
        return;
    }
    if (err) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "store: cannot read frame %lld: %s", (long long)id,
                           vigil_err_str(err));
        return;
    }
    vigil__reply_bytes(reply, MHD_HTTP_OK, "image/jpeg", jpeg, len);
    reply->cache_control = "public, max-age=31536000, immutable";
}
