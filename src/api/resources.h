/* Helpers shared by the API's resource routes (cameras_write.c,
 * camera_test.c, rules*.c, review.c, search.c, system.c): store replies
 * without paths, ETag / If-Match, and the control topic.
 *
 * Thread: any request worker; nothing here keeps state between calls. */
#ifndef VIGIL_API_RESOURCES_H
#define VIGIL_API_RESOURCES_H

#include "api/api_int.h"
#include "vigil/msg.h"

/* A store handle, or NULL with a 503 in *reply. Release with
 * vigil__api_store_release. */
vigil_store_t *vigil__res_store(vigil_api_t *api, vigil__reply_t *reply);

/* The reply for a failed store call: 404 (NOT_FOUND), 409 (EXISTS), 400
 * (INVALID), 503 for the rest. `what` says what was tried ("cannot read
 * camera \"x\""); msg is the store's errstr, used only for the first three
 * (the others may name a file: error bodies carry no paths). */
void vigil__res_store_error(vigil__reply_t *reply, vigil_err_t err, const char *what,
                            const char *msg);

/* Who the request acts for, for reviewed_by / updated_by ("" when auth is
 * off). */
const char *vigil__res_who(const vigil__req_t *req);

/* ETag: "<version>" (a strong tag). */
void vigil__res_etag(vigil__reply_t *reply, int64_t version);

/* The request's If-Match against a version:
 *   1  present and it matches (a listed "<version>", or *); *star set for *
 *   0  absent
 *  -1  present and it does not match (or is malformed: a weak tag never
 *      matches, RFC 9110 13.1.1). */
int vigil__res_if_match(const vigil__req_t *req, int64_t version, int *star);

/* Publishes a camera command on the control topic (key = camera id, or
 * "rules:ID" for OP_SET_RULES, as `vigil camera` does) and waits for the bus
 * to accept it. 1 published; 0 when the API has no bus (`vigil api` alone
 * on an in-process bus): why says so; -1 failed, why says why. */
int vigil__res_publish(vigil_api_t *api, Vigil__V1__CameraCommand *cmd, char *why,
                       size_t why_size);

/* Adds "applied" (bool) and, when not applied, "not_applied" (why) to obj,
 * from vigil__res_publish's result. */
void vigil__res_applied(json_t *obj, int published, const char *why);

/* A camera id from path segment `index` ("/api/v1/cameras/ID/..." is 3):
 * 0, or -1 with a 400 naming "id". out has VIGIL_CAMERA_ID_MAX bytes. */
int vigil__res_camera_segment(const char *url, int index, char *out, vigil__reply_t *reply);

/* Whether url names a source vigil opens (vigil/source.h): a file path,
 * file://, rtsp://, rtsps://, http(s)://, or "sample"; no spaces or control
 * bytes, not starting with '-'. */
int vigil__res_url_ok(const char *url);

/* A camera as JSON (cameras.c): its fields, the URL redacted, "source"
 * ("api", "config" or "external"). NULL when it cannot be encoded. */
json_t *vigil__api_camera_json(const vigil_api_t *api, const vigil_camera_record_t *rec);

/* Whether the configuration this API was started with defines camera id. */
int vigil__res_config_camera(const vigil_api_t *api, const char *id);

#endif
