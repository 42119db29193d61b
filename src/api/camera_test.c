/* "Test connection" (admin):
 *   POST /api/v1/cameras/{id}/test   opens the camera's source
 *   POST /api/v1/cameras/test        opens {"url": ...}, before the camera is added
 *
 * Main idea: open the source with FFmpeg as ingest would (vigil_source_open),
 * decode one frame and report what came: codec, width, height, frame rate,
 * live or file; or why not. The request holds an MHD thread while it waits,
 * so the wait is bounded twice: the source's network timeout and a deadline
 * of TEST_DEADLINE_MS over open and first frame together (the cancel hook
 * of vigil_source_opts_t), and at most TESTS_MAX tests run at once (503
 * with Retry-After beyond), which leaves the other MHD threads free.
 *
 * The answer is 200 whether the source opened or not ({"ok":false,"error":
 * ...}): the test ran. Credentials never appear in it: the URL is shown
 * redacted, and the error text goes through vigil_text_redact; the path of
 * the sample video (a server path) is replaced by "sample". */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/params.h"
#include "api/resources.h"
#include "vigil/clock.h"
#include "vigil/config.h"
#include "vigil/redact.h"
#include "vigil/source.h"

#define TEST_DEADLINE_MS 5000
#define TESTS_MAX 2

static atomic_int tests_running;

static int past_deadline(void *opaque)
{
    return vigil_mono_us() > *(const int64_t *)opaque;
}

/* Replaces every occurrence of `from` in text by `to` (in place, size bytes). */
static void replace_all(char *text, size_t size, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to);
    char *p = text;

    if (!fl) return;
    while ((p = strstr(p, from))) {
        size_t tail = strlen(p + fl);
        if ((size_t)(p - text) + tl + tail + 1 > size) return;
        memmove(p + tl, p + fl, tail + 1);
        memcpy(p, to, tl);
        p += tl;
    }
}

/* Opens url and fills obj with what was found. */
static void run_test(const vigil_api_t *api, const char *url, json_t *obj)
{
    char errstr[512] = "", shown[1100], safe[600];
    vigil_source_opts_t opts = {.loop = 0, .timeout_ms = TEST_DEADLINE_MS};
    int64_t t0 = vigil_mono_us(), deadline = t0 + (int64_t)TEST_DEADLINE_MS * 1000;
    vigil_source_frame_t frame;
    vigil_source_t *src;
    vigil_err_t err = VIGIL_OK;
    char *resolved;

    opts.cancel = past_deadline;
    opts.cancel_opaque = &deadline;
    opts.max_pixels = api->cfg ? api->cfg->limits_max_frame_pixels : 0;
    vigil_url_redact(url, shown, sizeof(shown));
    json_object_set_new(obj, "url", json_string(shown));
    src = vigil_source_open(url, &opts, errstr, sizeof(errstr));
    if (src) {
        do {
            err = vigil_source_read(src, &frame, errstr, sizeof(errstr));
        } while (err == VIGIL_ERR_DECODE && vigil_mono_us() < deadline);
    }
    json_object_set_new(obj, "elapsed_ms", json_integer((vigil_mono_us() - t0) / 1000));
    if (src && err == VIGIL_OK) {
        double fps = vigil_source_fps(src);
        json_object_set_new(obj, "ok", json_true());
        json_object_set_new(obj, "codec", json_string(vigil_source_codec(src)));
        json_object_set_new(obj, "width", json_integer(frame.width));
        json_object_set_new(obj, "height", json_integer(frame.height));
        json_object_set_new(obj, "fps", fps > 0 ? vigil__json_float(fps) : json_null());
        json_object_set_new(obj, "live", json_boolean(!vigil_source_is_file(src)));
        vigil_source_close(src);
        return;
    }
    if (src && err == VIGIL_ERR_CLOSED && vigil_mono_us() >= deadline)
        snprintf(errstr, sizeof(errstr), "no frame within %d ms", TEST_DEADLINE_MS);
    else if (!src && vigil_mono_us() >= deadline)
        snprintf(errstr, sizeof(errstr), "cannot open within %d ms", TEST_DEADLINE_MS);
    else if (src && !errstr[0])
        snprintf(errstr, sizeof(errstr), "no frame: %s", vigil_err_str(err));
    vigil_source_close(src);
    /* no server path: the sample video's place is the server's business */
    if (strcmp(url, "sample") == 0 && (resolved = vigil_source_resolve(url, NULL, 0))) {
        replace_all(errstr, sizeof(errstr), resolved, "sample");
        free(resolved);
    }
    vigil_text_redact(errstr, shown, sizeof(shown));
    vigil__api_sanitize(safe, sizeof(safe), shown);
    json_object_set_new(obj, "ok", json_false());
    json_object_set_new(obj, "error", json_string(safe));
}

/* Runs the test of url within the concurrency bound and replies. */
static void test_reply(vigil_api_t *api, const char *camera, const char *url,
                       vigil__reply_t *reply)
{
    json_t *obj;

    if (atomic_fetch_add(&tests_running, 1) >= TESTS_MAX) {
        atomic_fetch_sub(&tests_running, 1);
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "%d connection tests are running already: retry in a few seconds",
                           TESTS_MAX);
        reply->retry_after = "5";
        return;
    }
    obj = json_object();
    if (obj && camera) json_object_set_new(obj, "id", json_string(camera));
    if (obj) run_test(api, url, obj);
    atomic_fetch_sub(&tests_running, 1);
    vigil__reply_json(reply, MHD_HTTP_OK, obj);
}

void vigil__api_camera_test(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    char id[VIGIL_CAMERA_ID_MAX], errstr[256] = "", what[128];
    vigil_camera_record_t *rec;
    const vigil_camera_conf_t *conf;
    vigil_store_t *store;
    vigil_err_t err;

    if (vigil__res_camera_segment(req->url, 3, id, reply)) return;
    if (!vigil__api_no_params(req, reply)) return;
    if (req->body_len) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, NULL,
                           "this route takes no body (POST /api/v1/cameras/test tests a URL)");
        return;
    }
    if ((conf = api->cfg ? vigil_config_camera(api->cfg, id) : NULL) && conf->url) {
        test_reply(api, id, conf->url, reply);
        return;
    }
    if (!(rec = calloc(1, sizeof(*rec)))) {
        vigil__reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out of memory");
        return;
    }
    if (!(store = vigil__res_store(api, reply))) goto out;
    err = vigil_store_camera_get(store, id, 1, rec, errstr, sizeof(errstr));
    vigil__api_store_release(api, store);
    if (err) {
        snprintf(what, sizeof(what), "camera \"%s\"", id);
        vigil__res_store_error(reply, err, what, err == VIGIL_ERR_NOT_FOUND ? "not found" : errstr);
    } else if (!rec->source_url[0]) {
        vigil__reply_error(reply, MHD_HTTP_CONFLICT, NULL,
                           "camera \"%s\" runs from an ingest instance's own configuration: "
                           "its URL is not known here",
                           id);
    } else {
        test_reply(api, id, rec->source_url, reply);
    }
out:
    memset(rec, 0, sizeof(*rec)); /* the source URL */
    free(rec);
}

void vigil__api_camera_test_url(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    static const char *const keys[] = {"url", NULL};
    json_t *body = vigil__api_body_json(req, reply);
    const char *url;

    if (!body) return;
    if (vigil__api_no_params(req, reply) && vigil__api_json_keys(body, keys, reply) &&
        (url = vigil__api_json_str(body, "url", 1023, 1, reply))) {
        if (!vigil__res_url_ok(url))
            vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "url",
                               "\"url\" is not a source vigil opens (accepted: a file path, "
                               "file://, rtsp://, rtsps://, http(s)://, sample)");
        else
            test_reply(api, NULL, url, reply);
    }
    json_decref(body);
}
