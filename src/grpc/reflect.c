/* grpc.health.v1.Health and grpc.reflection.v1alpha.ServerReflection.
 *
 * Health: "" (the server) and each vigil.v1 service are SERVING while the
 * warehouse opens, NOT_SERVING when it does not; any other name is
 * NOT_FOUND (Check) or SERVICE_UNKNOWN (Watch). Watch sends the status,
 * then again whenever it changes (looked at on each loop pass), until the
 * call is cancelled, its deadline passes or the server stops.
 *
 * Reflection answers from the FileDescriptorSet protoc-c wrote at build
 * time (api.proto, health.proto, reflection.proto, none importing another):
 * list_services, file_by_filename and file_containing_symbol; the
 * extension requests get NOT_FOUND (vigil's protos have no extensions).
 *
 * Thread: a loop of server.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/grpc_int.h"
#include "grpc/health/v1/health.pb-c.h"
#include "grpc/reflection/v1alpha/reflection.pb-c.h"

#define SERVICES_MAX 16

/* The status of service `name`, or SERVICE_UNKNOWN. */
static int health_of(vigil__gstream_t *s, const char *name)
{
    char errstr[256];
    int known = !name[0] || strcmp(name, "grpc.health.v1.Health") == 0;

    for (size_t i = 0; !known && i < vigil__grpc_method_count(); i++) {
        const char *p = vigil__grpc_method_at(i)->path + 1, *slash = strchr(p, '/');
        known = slash && strlen(name) == (size_t)(slash - p) && !strncmp(p, name, slash - p);
    }
    if (!known) return GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
    return vigil__gloop_store(s->conn->loop, errstr, sizeof(errstr))
               ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
               : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
}

static Grpc__Health__V1__HealthCheckRequest *health_req(vigil__gstream_t *s, const uint8_t *msg,
                                                        size_t len)
{
    Grpc__Health__V1__HealthCheckRequest *req =
        grpc__health__v1__health_check_request__unpack(NULL, len, msg);
    if (!req)
        vigil__gstream_finish(s, VIGIL__GRPC_INVALID_ARGUMENT,
                              "the request is not a valid HealthCheckRequest message");
    return req;
}

void vigil__grpc_health_check(vigil__gstream_t *s, const uint8_t *msg, size_t len)
{
    Grpc__Health__V1__HealthCheckRequest *req = health_req(s, msg, len);
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    int st;

    if (!req) return;
    st = health_of(s, req->service);
    if (st == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN) {
        vigil__gstream_finish(s, VIGIL__GRPC_NOT_FOUND, "unknown service \"%.100s\"",
                              req->service);
    } else {
        resp.status = st;
        if (vigil__gstream_send(s, &resp.base) == 0) vigil__gstream_finish(s, VIGIL__GRPC_OK, NULL);
    }
    grpc__health__v1__health_check_request__free_unpacked(req, NULL);
}

void vigil__grpc_health_watch(vigil__gstream_t *s, const uint8_t *msg, size_t len)
{
    Grpc__Health__V1__HealthCheckRequest *req = health_req(s, msg, len);
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;

    if (!req) return;
    resp.status = health_of(s, req->service);
    /* one status; the stream stays open (watching 2) until cancelled, its
     * deadline or the server's stop */
    if (vigil__gstream_send(s, &resp.base) == 0) s->watching = 2;
    grpc__health__v1__health_check_request__free_unpacked(req, NULL);
}

/* --- reflection ---------------------------------------------------------------------- */

typedef struct services {
    char names[SERVICES_MAX][128];
    Grpc__Reflection__V1alpha__ServiceResponse items[SERVICES_MAX];
    Grpc__Reflection__V1alpha__ServiceResponse *ptrs[SERVICES_MAX];
    size_t n;
} services_t;

static void add_service(void *cls, const char *name)
{
    services_t *sv = cls;

    if (sv->n == SERVICES_MAX) return;
    snprintf(sv->names[sv->n], sizeof(sv->names[0]), "%s", name);
    grpc__reflection__v1alpha__service_response__init(&sv->items[sv->n]);
    sv->items[sv->n].name = sv->names[sv->n];
    sv->ptrs[sv->n] = &sv->items[sv->n];
    sv->n++;
}

void vigil__grpc_reflection(vigil__gstream_t *s, const uint8_t *msg, size_t len)
{
    Grpc__Reflection__V1alpha__ServerReflectionRequest *req =
        grpc__reflection__v1alpha__server_reflection_request__unpack(NULL, len, msg);
    Grpc__Reflection__V1alpha__ServerReflectionResponse resp =
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__INIT;
    Grpc__Reflection__V1alpha__ListServiceResponse list =
        GRPC__REFLECTION__V1ALPHA__LIST_SERVICE_RESPONSE__INIT;
    Grpc__Reflection__V1alpha__FileDescriptorResponse fdr =
        GRPC__REFLECTION__V1ALPHA__FILE_DESCRIPTOR_RESPONSE__INIT;
    Grpc__Reflection__V1alpha__ErrorResponse er = GRPC__REFLECTION__V1ALPHA__ERROR_RESPONSE__INIT;
    ProtobufCBinaryData fd;
    services_t *sv = NULL;
    char text[200];

    if (!req) {
        vigil__gstream_finish(s, VIGIL__GRPC_INVALID_ARGUMENT,
                              "the request is not a valid ServerReflectionRequest message");
        return;
    }
    resp.valid_host = req->host;
    resp.original_request = req;
    switch (req->message_request_case) {
    case GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
        if (!(sv = calloc(1, sizeof(*sv)))) {
            vigil__gstream_finish(s, VIGIL__GRPC_RESOURCE_EXHAUSTED, "out of memory");
            goto out;
        }
        vigil__grpc_descriptor_services(vigil__grpc_descriptors, vigil__grpc_descriptors_len,
                                        add_service, sv);
        list.n_service = sv->n;
        list.service = sv->ptrs;
        resp.message_response_case =
            GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
        resp.list_services_response = &list;
        break;
    case GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
    case GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL: {
        int by_name = req->message_request_case ==
                      GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME;
        const char *what = by_name ? req->file_by_filename : req->file_containing_symbol;
        const uint8_t *p;
        size_t n;
        if (vigil__grpc_descriptor_find(vigil__grpc_descriptors, vigil__grpc_descriptors_len,
                                        by_name ? what : NULL, by_name ? NULL : what, &p,
                                        &n) == 0) {
            fd.data = (uint8_t *)p;
            fd.len = n;
            fdr.n_file_descriptor_proto = 1;
            fdr.file_descriptor_proto = &fd;
            resp.message_response_case =
                GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
            resp.file_descriptor_response = &fdr;
            break;
        }
        snprintf(text, sizeof(text), "%s \"%.120s\" not found", by_name ? "file" : "symbol",
                 what);
        goto not_found;
    }
    default:
        snprintf(text, sizeof(text), "vigil's protos have no extensions");
    not_found:
        er.error_code = VIGIL__GRPC_NOT_FOUND;
        er.error_message = text;
        resp.message_response_case =
            GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
        resp.error_response = &er;
        break;
    }
    vigil__gstream_send(s, &resp.base);
out:
    free(sv);
    grpc__reflection__v1alpha__server_reflection_request__free_unpacked(req, NULL);
}
