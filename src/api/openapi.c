/* GET /api/v1/openapi.json: the API's OpenAPI 3.1 document.
 *
 * Main idea: the document is written by hand in api/openapi.json (the one
 * source of docs/api.md's reference, scripts/gen_api_docs.py) and compiled
 * into the binary at build time (api/embed.cmake), so a running vigil always
 * serves the description of its own routes, with no file to find at run
 * time. tests/unit/api/test_api_openapi.c checks it against routes[] (method,
 * path and least role of every route), so a route cannot be added without
 * being documented. */
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "api/params.h"

/* build-dir/gen/api/openapi_json.c */
extern const unsigned char vigil__openapi_json[];
extern const size_t vigil__openapi_json_len;

static enum MHD_Result count_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    (void)value;
    if (!*(const char **)cls) *(const char **)cls = key;
    return MHD_YES;
}

const char *vigil__api_openapi_document(size_t *len)
{
    if (len) *len = vigil__openapi_json_len;
    return (const char *)vigil__openapi_json;
}

void vigil__api_openapi(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    const char *first = NULL;

    (void)api;
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, count_arg, &first);
    if (first) {
        char safe[64];
        vigil__api_sanitize(safe, sizeof(safe), first);
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, safe,
                           "unknown parameter \"%s\": this route takes none", safe);
        return;
    }
    reply->status = MHD_HTTP_OK;
    reply->body = NULL;
    reply->static_body = (const char *)vigil__openapi_json;
    reply->len = vigil__openapi_json_len;
    reply->content_type = "application/json";
    /* the document changes only with the binary: revalidate, do not refetch */
    reply->cache_control = "no-cache";
}
