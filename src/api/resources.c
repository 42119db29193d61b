/* Helpers of the API's resource routes (resources.h): store replies,
 * ETag / If-Match, and publishing camera commands on the control topic.
 *
 * Main idea of the control path: the API never starts or stops a camera
 * itself. It stores the change in the warehouse (the list of record) and
 * publishes the same command `vigil camera add|stop|remove|rules` would, on
 * the bus it was given (vigil_api_set_bus): in `vigil run` ingest's control
 * follower and the analytics stage apply it within their next poll, in
 * distributed mode every ingest and analytics instance does. Without a bus
 * (`vigil api` alone on an in-process bus) nothing applies it and the reply
 * says so ("applied": false). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/params.h"
#include "api/resources.h"
#include "vigil/bus.h"
#include "vigil/config.h"
#include "vigil/log.h"

#define PUBLISH_TIMEOUT_MS 2000
#define FLUSH_TIMEOUT_MS 5000

vigil_store_t *vigil__res_store(vigil_api_t *api, vigil__reply_t *reply)
{
    char errstr[256] = "";
    vigil_store_t *store = vigil__api_store_acquire(api, errstr, sizeof(errstr));

    /* errstr may name the database file: not in the body */
    if (!store)
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "store unavailable: the warehouse cannot be opened or has no schema "
                           "yet (`vigil db migrate`)");
    return store;
}

void vigil__res_store_error(vigil__reply_t *reply, vigil_err_t err, const char *what,
                            const char *msg)
{
    char safe[256];

    vigil__api_sanitize(safe, sizeof(safe), msg ? msg : "");
    switch (err) {
    case VIGIL_ERR_NOT_FOUND:
        vigil__reply_error(reply, MHD_HTTP_NOT_FOUND, NULL, "%s: %s", what, safe);
        break;
    case VIGIL_ERR_EXISTS:
        vigil__reply_error(reply, MHD_HTTP_CONFLICT, NULL, "%s: %s", what, safe);
        break;
    case VIGIL_ERR_INVALID:
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, NULL, "%s: %s", what, safe);
        break;
    default:
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "%s: warehouse: %s", what,
                           vigil_err_str(err));
        if (vigil_err_is_retriable(err)) reply->retry_after = "1";
    }
}

const char *vigil__res_who(const vigil__req_t *req)
{
    return req->who.user;
}

void vigil__res_etag(vigil__reply_t *reply, int64_t version)
{
    char tag[32];

    snprintf(tag, sizeof(tag), "\"%lld\"", (long long)version);
    vigil__reply_header(reply, MHD_HTTP_HEADER_ETAG, tag);
}

int vigil__res_if_match(const vigil__req_t *req, int64_t version, int *star)
{
    const char *h = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_IF_MATCH);
    char want[32];

    *star = 0;
    if (!h) return 0;
    snprintf(want, sizeof(want), "\"%lld\"", (long long)version);
    size_t wlen = strlen(want);
    /* a comma-separated list of entity tags, or * */
    for (const char *p = h; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        if (!*p) break;
        const char *end = p;
        if (*p == '"') {
            end = strchr(p + 1, '"');
            if (!end) return -1;
            end++;
        } else {
            while (*end && *end != ',' && *end != ' ' && *end != '\t') end++;
        }
        size_t len = (size_t)(end - p);
        if (len == 1 && *p == '*') {
            *star = 1;
            return 1;
        }
        if (len == wlen && memcmp(p, want, wlen) == 0) return 1;
        p = end;
    }
    return -1;
}

int vigil__res_publish(vigil_api_t *api, Vigil__V1__CameraCommand *cmd, char *why,
                       size_t why_size)
{
    char key[VIGIL_CAMERA_ID_MAX + 8];
    uint8_t *buf;
    size_t len = 0;
    vigil_err_t err;

    if (!api->bus) {
        snprintf(why, why_size,
                 "this API has no bus (`vigil api` alone on an in-process bus): the change is "
                 "stored and takes effect when `vigil run` starts");
        return 0;
    }
    cmd->schema_version = VIGIL_SCHEMA_VERSION;
    snprintf(key, sizeof(key), "%s%s",
             cmd->op == VIGIL__V1__CAMERA_COMMAND__OP__OP_SET_RULES ? "rules:" : "",
             cmd->camera_id);
    if (!(buf = vigil_msg_pack(&cmd->base, &len))) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    err = vigil_bus_publish(api->bus, VIGIL_TOPIC_CONTROL, key, strlen(key), buf, len,
                            PUBLISH_TIMEOUT_MS);
    free(buf);
    if (err == VIGIL_OK) err = vigil_bus_flush(api->bus, FLUSH_TIMEOUT_MS);
    if (err) {
        snprintf(why, why_size, "cannot publish to topic %s: %s (the change is stored)",
                 VIGIL_TOPIC_CONTROL, vigil_err_str(err));
        vigil_warn("api", cmd->camera_id, "camera \"%s\": %s", cmd->camera_id, why);
        return -1;
    }
    return 1;
}

void vigil__res_applied(json_t *obj, int published, const char *why)
{
    json_object_set_new(obj, "applied", json_boolean(published > 0));
    if (published <= 0) json_object_set_new(obj, "not_applied", json_string(why));
}

int vigil__res_camera_segment(const char *url, int index, char *out, vigil__reply_t *reply)
{
    char seg[VIGIL_CAMERA_ID_MAX + 8];
    vigil__param_error_t perr;

    if (vigil__api_path_segment(url, index, seg, sizeof(seg)) < 0 ||
        vigil__api_parse_camera(seg, out, &perr) != 0) {
        char safe[80];
        vigil__api_sanitize(safe, sizeof(safe), url);
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "id",
                           "invalid camera id in \"%s\" (accepted: 1 to 63 of A-Z a-z 0-9 _ . -)",
                           safe);
        return -1;
    }
    return 0;
}

int vigil__res_config_camera(const vigil_api_t *api, const char *id)
{
    return api->cfg && vigil_config_camera(api->cfg, id) != NULL;
}

/* Whether url names a source vigil opens (vigil/source.h): a file path,
 * file://, rtsp://, http(s)://, or "sample"; no spaces or control bytes. */
int vigil__res_url_ok(const char *url)
{
    static const char *const schemes[] = {"rtsp://", "rtsps://", "http://", "https://",
                                          "file://"};
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f) return 0;
    if (strcmp(url, "sample") == 0) return 1;
    const char *sep = strstr(url, "://");
    if (!sep) return url[0] != '-'; /* a file path (not an option to FFmpeg) */
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
        if (strncmp(url, schemes[i], strlen(schemes[i])) == 0 && url[strlen(schemes[i])])
            return 1;
    return 0;
}
