/* The HTTP API's server: the libmicrohttpd daemon, routing, replies, the
 * store-handle pool, request logging and request metrics.
 *
 * Main idea: the edge (edge.h) binds the listening sockets (IPv4 or IPv6,
 * optionally TLS) and hands them to MHD, 4 threads each accepting and
 * serving their own connections (daemons.c). The edge checks every request when its headers are in (Host,
 * rate, sizes, query arguments) and tracks every connection (limits,
 * deadlines); what it refuses is answered at once and the connection
 * closed. A request that passes is answered once its body is in, which
 * keeps the connection open for the next one (keep-alive). Handlers fill a
 * vigil__reply_t; on_request turns it into an MHD response with the edge's
 * security headers, then counts it in vigil_http_requests_total{route,code}
 * and vigil_http_request_seconds{route}.
 *
 * Store handles are one connection per thread at a time (store.h): a small
 * free list under a mutex, grown lazily, at most one handle per concurrently
 * running request, closed when the API stops. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api_int.h"
#include "api/auth_int.h"
#include "api/edge.h"
#include "api/forwarded.h"
#include "api/live_int.h"
#include "vigil/push.h"
#include "api/params.h"
#include "vigil/clock.h"
#include "vigil/health.h"
#include "vigil/log.h"
#include "vigil/metrics.h"

#define API_THREADS VIGIL__API_THREADS
#define API_CONN_TIMEOUT_S 30

/* --- replies ------------------------------------------------------------------- */

static const char oom_body[] = "{\"error\":\"out of memory\"}";

static void reply_oom(vigil__reply_t *reply)
{
    free(reply->body);
    if (reply->fd >= 0) close(reply->fd);
    reply->fd = -1;
    reply->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    reply->body = NULL;
    reply->static_body = oom_body;
    reply->len = sizeof(oom_body) - 1;
    reply->content_type = "application/json";
    snprintf(reply->error, sizeof(reply->error), "out of memory");
}

/* Back to the reply a request starts with, whatever a handler put in it. */
static void reply_reset(vigil__reply_t *reply)
{
    free(reply->body);
    if (reply->fd >= 0) close(reply->fd);
    if (reply->stream_fn && reply->stream_free) reply->stream_free(reply->stream_cls);
    *reply = (vigil__reply_t){.status = 500, .content_type = "application/json", .fd = -1};
}

/* Takes text (malloc'd JSON, len bytes) as the body; NULL gives the 500. */
static void reply_text(vigil__reply_t *reply, int status, char *text, size_t len)
{
    if (!text) {
        reply_oom(reply);
        return;
    }
    free(reply->body);
    if (reply->fd >= 0) close(reply->fd);
    reply->fd = -1;
    reply->status = status;
    reply->body = text;
    reply->static_body = NULL;
    reply->len = len;
    reply->content_type = "application/json";
}

void vigil__reply_json(vigil__reply_t *reply, int status, json_t *json)
{
    char *text = json ? json_dumps(json, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;

    json_decref(json);
    reply_text(reply, status, text, text ? strlen(text) : 0);
}

void vigil__reply_jw(vigil__reply_t *reply, int status, vigil__jw_t *jw)
{
    size_t len = 0;
    char *text = vigil__jw_take(jw, &len);

    reply_text(reply, status, text, len);
}

void vigil__reply_error(vigil__reply_t *reply, int status, const char *param, const char *fmt,
                        ...)
{
    va_list ap;
    json_t *obj, *msg;

    va_start(ap, fmt);
    vsnprintf(reply->error, sizeof(reply->error), fmt, ap);
    va_end(ap);
    /* json_string refuses invalid UTF-8 (a store error quoting a path, say):
     * then send the message with such bytes replaced. */
    msg = json_string(reply->error);
    if (!msg) {
        char safe[sizeof(reply->error)];
        vigil__api_sanitize(safe, sizeof(safe), reply->error);
        msg = json_string(safe);
    }
    obj = json_object();
    if (obj && msg) json_object_set_new(obj, "error", json_incref(msg));
    if (obj && param) json_object_set_new(obj, "parameter", json_string(param));
    json_decref(msg);
    vigil__reply_json(reply, status, obj);
}

void vigil__reply_bytes(vigil__reply_t *reply, int status, const char *content_type, void *body,
                        size_t len)
{
    free(reply->body);
    if (reply->fd >= 0) close(reply->fd);
    reply->fd = -1;
    reply->status = status;
    reply->body = body;
    reply->len = len;
    reply->content_type = content_type;
}

void vigil__reply_file(vigil__reply_t *reply, int status, const char *content_type, int fd,
                       uint64_t offset, uint64_t len)
{
    free(reply->body);
    reply->body = NULL;
    if (reply->fd >= 0) close(reply->fd);
    reply->status = status;
    reply->fd = fd;
    reply->offset = offset;
    reply->len = (size_t)len;
    reply->content_type = content_type;
}

void vigil__reply_stream(vigil__reply_t *reply, const char *content_type,
                         MHD_ContentReaderCallback fn, MHD_ContentReaderFreeCallback free_fn,
                         void *cls)
{
    free(reply->body);
    reply->body = NULL;
    if (reply->fd >= 0) close(reply->fd);
    reply->fd = -1;
    reply->status = MHD_HTTP_OK;
    reply->content_type = content_type;
    reply->stream_fn = fn;
    reply->stream_free = free_fn;
    reply->stream_cls = cls;
}

void vigil__reply_header(vigil__reply_t *reply, const char *name, const char *value)
{
    if (reply->nheaders >= (int)(sizeof(reply->headers) / sizeof(reply->headers[0]))) return;
    reply->headers[reply->nheaders].name = name;
    snprintf(reply->headers[reply->nheaders].value, sizeof(reply->headers[0].value), "%s",
             value);
    reply->nheaders++;
}

json_t *vigil__api_body_json(vigil__req_t *req, vigil__reply_t *reply)
{
    const char *ct = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    json_error_t jerr;
    json_t *root;

    if (!req->body || !req->body_len) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, NULL,
                           "%s %s needs a JSON body", req->method, "this route");
        return NULL;
    }
    if (!ct || strncasecmp(ct, "application/json", 16) != 0 ||
        (ct[16] && ct[16] != ';' && ct[16] != ' ')) {
        vigil__reply_error(reply, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, NULL,
                           "the body must be application/json");
        return NULL;
    }
    root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        char safe[160];
        vigil__api_sanitize(safe, sizeof(safe), jerr.text);
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, NULL,
                           "invalid JSON body at line %d column %d: %s", jerr.line, jerr.column,
                           safe);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, NULL, "the JSON body must be an object");
        return NULL;
    }
    return root;
}

json_t *vigil__json_float(double v)
{
    return json_real(vigil__jw_round6(v));
}

json_t *vigil__jw_json(vigil__jw_t *jw)
{
    size_t len = 0;
    char *text = vigil__jw_take(jw, &len);
    json_t *json = text ? json_loadb(text, len, 0, NULL) : NULL;

    free(text);
    return json;
}

json_t *vigil__json_time(int64_t t_us)
{
    char buf[40];

    if (!t_us) return json_null();
    vigil_format_time(t_us, buf, sizeof(buf));
    return json_string(buf);
}

/* --- store-handle pool ----------------------------------------------------------- */

vigil_store_t *vigil__api_store_acquire(vigil_api_t *api, char *errstr, size_t errstr_size)
{
    vigil__store_slot_t *slot;
    vigil_store_t *store;
    vigil_store_conf_t conf;

    /* a read on store.read_url's replica (replica.c), when this request is one */
    if ((store = vigil__replica_acquire(api))) return store;
    pthread_mutex_lock(&api->pool_lock);
    slot = api->pool;
    if (slot) api->pool = slot->next;
    pthread_mutex_unlock(&api->pool_lock);
    if (slot) {
        store = slot->store;
        free(slot);
        return store;
    }
    vigil_store_conf_init(&conf);
    conf.url = api->store_url;
    conf.data_dir = api->data_dir;
    conf.migrate = 0; /* the API never changes the schema */
    /* A failure is logged once, with the request it fails (on_request). */
    return vigil_store_open(&conf, errstr, errstr_size);
}

void vigil__api_store_release(vigil_api_t *api, vigil_store_t *store)
{
    vigil__store_slot_t *slot;

    if (!store || vigil__replica_release(api, store)) return;
    slot = malloc(sizeof(*slot));
    if (!slot) {
        vigil_store_close(store);
        return;
    }
    slot->store = store;
    pthread_mutex_lock(&api->pool_lock);
    slot->next = api->pool;
    api->pool = slot;
    pthread_mutex_unlock(&api->pool_lock);
}

static void pool_drain(vigil_api_t *api)
{
    vigil__store_slot_t *slot;

    pthread_mutex_lock(&api->pool_lock);
    slot = api->pool;
    api->pool = NULL;
    pthread_mutex_unlock(&api->pool_lock);
    while (slot) {
        vigil__store_slot_t *next = slot->next;
        vigil_store_close(slot->store);
        free(slot);
        slot = next;
    }
}

/* --- routing ----------------------------------------------------------------------- */

/* The process's health registry (vigil/health.h): 200 while it serves (ok
 * or degraded, the body says what fails), 503 once a component stopped. */
static void h_healthz(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    size_t len = 0;
    int failed = vigil_health_level(NULL, 0) == VIGIL_HEALTH_FAILED;
    char *body = vigil_health_json(&len);

    if (!body) {
        reply_oom(reply);
        return;
    }
    vigil__reply_bytes(reply, failed ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK,
                       "application/json", body, len);
}

static void h_metrics(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    size_t len = 0;
    char *text = vigil_metrics_render(&len);

    if (!text) {
        reply_oom(reply);
        return;
    }
    vigil__reply_bytes(reply, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

/* A path is matched exactly, except that '*' matches one non-empty segment
 * (no '/'), and a `prefix` route matches any path that starts with it.
 * GET routes also answer HEAD. `role` is the least role a caller needs
 * (VIGIL__ROLE_PUBLIC: anyone). Every row is an operation of api/openapi.json
 * with this role as its x-vigil-role (test_api_openapi fails otherwise): a
 * new route is documented there, and docs/api.md regenerated with
 * scripts/gen_api_docs.py. */
static const struct route {
    const char *method;
    const char *path;
    int prefix;
    const char *name; /* the route label of the metrics */
    int role;
    vigil__handler_fn fn;
} routes[] = {
    {"GET", "/healthz", 0, "healthz", VIGIL__ROLE_PUBLIC, h_healthz},
    {"GET", "/metrics", 0, "metrics", VIGIL__ROLE_VIEWER, h_metrics},
    /* accounts (auth_routes.c, users.c, passkeys.c) */
    {"POST", "/api/v1/auth/login", 0, "auth_login", VIGIL__ROLE_PUBLIC, vigil__api_auth_login},
    {"POST", "/api/v1/auth/logout", 0, "auth_logout", VIGIL__ROLE_PUBLIC, vigil__api_auth_logout},
    {"GET", "/api/v1/auth/me", 0, "auth_me", VIGIL__ROLE_VIEWER, vigil__api_auth_me},
    {"GET", "/api/v1/auth/setup", 0, "auth_setup", VIGIL__ROLE_PUBLIC, vigil__api_auth_setup_get},
    {"POST", "/api/v1/auth/setup", 0, "auth_setup", VIGIL__ROLE_PUBLIC, vigil__api_auth_setup},
    {"POST", "/api/v1/auth/password", 0, "auth_password", VIGIL__ROLE_VIEWER,
     vigil__api_auth_password},
    {"GET", "/api/v1/auth/sessions", 0, "sessions", VIGIL__ROLE_VIEWER, vigil__api_sessions},
    {"DELETE", "/api/v1/auth/sessions/*", 0, "session", VIGIL__ROLE_VIEWER,
     vigil__api_session_delete},
    {"POST", "/api/v1/auth/passkeys/register/options", 0, "passkey_register_options",
     VIGIL__ROLE_VIEWER, vigil__api_passkey_register_options},
    {"POST", "/api/v1/auth/passkeys/register", 0, "passkey_register", VIGIL__ROLE_VIEWER,
     vigil__api_passkey_register},
    {"POST", "/api/v1/auth/passkeys/login/options", 0, "passkey_login_options",
     VIGIL__ROLE_PUBLIC, vigil__api_passkey_login_options},
    {"POST", "/api/v1/auth/passkeys/login", 0, "passkey_login", VIGIL__ROLE_PUBLIC,
     vigil__api_passkey_login},
    {"GET", "/api/v1/auth/passkeys", 0, "passkeys", VIGIL__ROLE_VIEWER, vigil__api_passkeys},
    {"DELETE", "/api/v1/auth/passkeys/*", 0, "passkey", VIGIL__ROLE_VIEWER,
     vigil__api_passkey_delete},
    {"GET", "/api/v1/users", 0, "users", VIGIL__ROLE_ADMIN, vigil__api_users},
    {"POST", "/api/v1/users", 0, "users", VIGIL__ROLE_ADMIN, vigil__api_user_add},
    {"PATCH", "/api/v1/users/*", 0, "user", VIGIL__ROLE_ADMIN, vigil__api_user_update},
    {"DELETE", "/api/v1/users/*", 0, "user", VIGIL__ROLE_ADMIN, vigil__api_user_delete},
    {"GET", "/api/v1/tokens", 0, "tokens", VIGIL__ROLE_VIEWER, vigil__api_tokens},
    {"POST", "/api/v1/tokens", 0, "tokens", VIGIL__ROLE_VIEWER, vigil__api_token_add},
    {"DELETE", "/api/v1/tokens/*", 0, "token", VIGIL__ROLE_VIEWER, vigil__api_token_delete},
    {"GET", "/api/v1/audit", 0, "audit", VIGIL__ROLE_ADMIN, vigil__api_audit_list},
    /* Web Push (push_routes.c): a user's own subscriptions */
    {"GET", "/api/v1/push/vapid", 0, "push_vapid", VIGIL__ROLE_VIEWER, vigil__api_push_vapid},
    {"GET", "/api/v1/push/subscriptions", 0, "push_subscriptions", VIGIL__ROLE_VIEWER,
     vigil__api_push_subs},
    {"POST", "/api/v1/push/subscriptions", 0, "push_subscriptions", VIGIL__ROLE_VIEWER,
     vigil__api_push_sub_add},
    {"DELETE", "/api/v1/push/subscriptions/*", 0, "push_subscription", VIGIL__ROLE_VIEWER,
     vigil__api_push_sub_delete},
    {"POST", "/api/v1/push/test", 0, "push_test", VIGIL__ROLE_VIEWER, vigil__api_push_test},
    {"GET", "/api/v1/cameras", 0, "cameras", VIGIL__ROLE_VIEWER, vigil__api_cameras},
    /* resources (cameras*.c, camera_test.c, rules*.c, review.c, search.c, system.c) */
    {"POST", "/api/v1/cameras", 0, "cameras", VIGIL__ROLE_ADMIN, vigil__api_camera_create},
    {"POST", "/api/v1/cameras/test", 0, "camera_test_url", VIGIL__ROLE_ADMIN,
     vigil__api_camera_test_url},
    {"GET", "/api/v1/cameras/*", 0, "camera", VIGIL__ROLE_VIEWER, vigil__api_camera},
    {"PATCH", "/api/v1/cameras/*", 0, "camera", VIGIL__ROLE_OPERATOR, vigil__api_camera_update},
    {"DELETE", "/api/v1/cameras/*", 0, "camera", VIGIL__ROLE_ADMIN, vigil__api_camera_delete},
    {"POST", "/api/v1/cameras/*/test", 0, "camera_test", VIGIL__ROLE_ADMIN,
     vigil__api_camera_test},
    {"GET", "/api/v1/cameras/*/rules", 0, "camera_rules", VIGIL__ROLE_VIEWER,
     vigil__api_rules_get},
    {"PUT", "/api/v1/cameras/*/rules", 0, "camera_rules", VIGIL__ROLE_OPERATOR,
     vigil__api_rules_put},
    {"GET", "/api/v1/cameras/*/zones", 0, "camera_zones", VIGIL__ROLE_VIEWER,
     vigil__api_rule_items},
    {"POST", "/api/v1/cameras/*/zones", 0, "camera_zones", VIGIL__ROLE_OPERATOR,
     vigil__api_rule_item_add},
    {"GET", "/api/v1/cameras/*/zones/*", 0, "camera_zone", VIGIL__ROLE_VIEWER,
     vigil__api_rule_item},
    {"PUT", "/api/v1/cameras/*/zones/*", 0, "camera_zone", VIGIL__ROLE_OPERATOR,
     vigil__api_rule_item_put},
    {"DELETE", "/api/v1/cameras/*/zones/*", 0, "camera_zone", VIGIL__ROLE_OPERATOR,
     vigil__api_rule_item_delete},
    {"GET", "/api/v1/cameras/*/lines", 0, "camera_lines", VIGIL__ROLE_VIEWER,
     vigil__api_rule_items},
    {"POST", "/api/v1/cameras/*/lines", 0, "camera_lines", VIGIL__ROLE_OPERATOR,
     vigil__api_rule_item_add},
    {"GET", "/api/v1/cameras/*/lines/*", 0, "camera_line", VIGIL__ROLE_VIEWER,
     vigil__api_rule_item},
    {"PUT", "/api/v1/cameras/*/lines/*", 0, "camera_line", VIGIL__ROLE_OPERATOR,
     vigil__api_rule_item_put},
    {"DELETE", "/api/v1/cameras/*/lines/*", 0, "camera_line", VIGIL__ROLE_OPERATOR,
     vigil__api_rule_item_delete},
    {"POST", "/api/v1/events/review", 0, "events_review", VIGIL__ROLE_OPERATOR,
     vigil__api_events_review},
    {"GET", "/api/v1/search", 0, "search", VIGIL__ROLE_VIEWER, vigil__api_search},
    {"GET", "/readyz", 0, "readyz", VIGIL__ROLE_PUBLIC, vigil__api_readyz},
    {"GET", "/api/v1/config", 0, "config", VIGIL__ROLE_ADMIN, vigil__api_config},
    {"GET", "/api/v1/storage", 0, "storage", VIGIL__ROLE_VIEWER, vigil__api_storage},
    {"GET", "/api/v1/detections", 0, "detections", VIGIL__ROLE_VIEWER, vigil__api_detections},
    {"GET", "/api/v1/frames/", 1, "frames", VIGIL__ROLE_VIEWER, vigil__api_frame},
    {"GET", "/api/v1/stats", 0, "stats", VIGIL__ROLE_VIEWER, vigil__api_stats},
    {"GET", "/api/v1/events", 0, "events", VIGIL__ROLE_VIEWER, vigil__api_events},
    {"GET", "/api/v1/events/*", 0, "event", VIGIL__ROLE_VIEWER, vigil__api_event},
    {"PATCH", "/api/v1/events/*", 0, "event", VIGIL__ROLE_OPERATOR, vigil__api_event_review},
    {"DELETE", "/api/v1/events/*", 0, "event", VIGIL__ROLE_ADMIN, vigil__api_event_delete},
    {"GET", "/api/v1/events/*/snapshot.jpg", 0, "event_snapshot", VIGIL__ROLE_VIEWER,
     vigil__api_event_snapshot},
    {"GET", "/api/v1/events/*/clip.mp4", 0, "event_clip", VIGIL__ROLE_VIEWER,
     vigil__api_event_clip},
    {"GET", "/api/v1/counts", 0, "counts", VIGIL__ROLE_VIEWER, vigil__api_counts},
    {"GET", "/api/v1/tracks/*/*", 0, "track", VIGIL__ROLE_VIEWER, vigil__api_track},
    /* live views (live_*.c) */
    {"GET", "/api/v1/cameras/*/live.mjpeg", 0, "live_mjpeg", VIGIL__ROLE_VIEWER,
     vigil__api_live_mjpeg},
    {"GET", "/api/v1/stream", 0, "stream", VIGIL__ROLE_VIEWER, vigil__api_live_stream},
    {"GET", "/api/v1/openapi.json", 0, "openapi", VIGIL__ROLE_PUBLIC, vigil__api_openapi},
};

int vigil__api_route_at(size_t i, const char **method, const char **path, int *prefix,
                        int *role)
{
    if (i >= sizeof(routes) / sizeof(routes[0])) return -1;
    *method = routes[i].method;
    *path = routes[i].path;
    *prefix = routes[i].prefix;
    *role = routes[i].role;
    return 0;
}

static int path_match(const char *pattern, const char *url, int prefix)
{
    while (*pattern) {
        if (*pattern == '*') {
            const char *start = url;
            while (*url && *url != '/') url++;
            if (url == start) return 0;
            pattern++;
        } else if (*pattern++ != *url++) {
            return 0;
        }
    }
    return prefix || !*url;
}

static int method_match(const char *route_method, const char *method)
{
    return strcmp(route_method, method) == 0 ||
           (strcmp(method, MHD_HTTP_METHOD_HEAD) == 0 && strcmp(route_method, "GET") == 0);
}

/* The route for method and url; NULL if none. When the path exists under
 * other methods only, *path_known is set and allow lists them. */
static const struct route *route_find(const char *method, const char *url, int *path_known,
                                      const char **name, char *allow, size_t allow_size)
{
    const struct route *found = NULL;
    size_t used = 0;

    *path_known = 0;
    *name = "unknown";
    allow[0] = '\0';
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (!path_match(routes[i].path, url, routes[i].prefix)) continue;
        if (!*path_known) *name = routes[i].name;
        *path_known = 1;
        if (!found && method_match(routes[i].method, method)) found = &routes[i];
        if (!strstr(allow, routes[i].method) && used + 16 < allow_size) {
            int n = snprintf(allow + used, allow_size - used, "%s%s%s", used ? ", " : "",
                             routes[i].method, strcmp(routes[i].method, "GET") ? "" : ", HEAD");
            if (n > 0) used += (size_t)n;
        }
    }
    return found;
}

static void count_request(const char *route, int status, double seconds)
{
    char code[8];

    snprintf(code, sizeof(code), "%d", status);
    vigil_counter_t *c = vigil_metrics_counter("vigil_http_requests_total",
                                               "HTTP requests served, by route and status code.",
                                               "route", route, "code", code);
    vigil_histogram_t *h = vigil_metrics_histogram(
        "vigil_http_request_seconds", "Time to build an HTTP response, by route.", "route",
        route, NULL, NULL);
    if (c) vigil_counter_inc(c);
    if (h) vigil_histogram_observe(h, seconds);
}

static enum MHD_Result send_reply(vigil_api_t *api, const vigil__req_t *req,
                                  vigil__reply_t *reply)
{
    struct MHD_Connection *conn = req->conn;
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (reply->stream_fn) {
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, reply->stream_fn,
                                                 reply->stream_cls, reply->stream_free);
        if (!resp && reply->stream_free) reply->stream_free(reply->stream_cls);
        reply->stream_fn = NULL; /* MHD's (or freed) */
    } else if (reply->fd >= 0) {
        resp = MHD_create_response_from_fd_at_offset64(reply->len, reply->fd, reply->offset);
        if (!resp) close(reply->fd);
        reply->fd = -1; /* MHD's (or closed) */
    } else if (reply->body)
        resp = MHD_create_response_from_buffer(reply->len, reply->body, MHD_RESPMEM_MUST_FREE);
    else
        resp = MHD_create_response_from_buffer(reply->static_body ? reply->len : 0,
                                               (void *)(reply->static_body ? reply->static_body
                                                                           : ""),
                                               MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(reply->body);
        reply->body = NULL;
        return MHD_NO; /* MHD closes the connection */
    }
    reply->body = NULL; /* MHD owns it now */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, reply->content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                            reply->cache_control ? reply->cache_control : "no-store");
    if (reply->allow) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, reply->allow);
    if (reply->retry_after)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, reply->retry_after);
    if (reply->accept_ranges)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, reply->accept_ranges);
    if (reply->content_range[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, reply->content_range);
    for (int i = 0; i < reply->nheaders; i++)
        MHD_add_response_header(resp, reply->headers[i].name, reply->headers[i].value);
    vigil__edge_response_headers(api, conn, req->https, resp);
    ret = MHD_queue_response(conn, (unsigned)reply->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Per-request state between MHD's calls (from the request line on): what
 * the edge saw of the request target, and the body read so far. */
typedef struct conn_state {
    int64_t t0;
    int uri_flags;  /* VIGIL__EDGE_URI_* */
    size_t uri_len; /* of the request target as sent */
    int started;    /* the headers were checked (on_request's first call) */
    /* the client (vigil__fwd_request), decided once when the headers are in */
    char client_ip[64];
    uint8_t client_addr[16];
    int client_known, https;
    char *body;
    size_t len, cap;
    int too_large;    /* over VIGIL__API_BODY_MAX: answered 413, the rest is discarded */
    size_t discarded; /* bytes discarded since; past VIGIL__API_BODY_MAX more, cut off */
} conn_state_t;

/* MHD_OPTION_URI_LOG_CALLBACK: a request line is in. Starts the request's
 * state (MHD passes it to on_request as *con_cls) and lets the edge see the
 * target before MHD parses its query. Thread: an MHD pool thread. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    conn_state_t *st = calloc(1, sizeof(*st));
    size_t len;
    int flags = vigil__edge_uri(uri, &len); /* always: it may cut the query */

    (void)cls;
    (void)conn;
    if (st) {
        st->t0 = vigil_mono_us();
        st->uri_flags = flags;
        st->uri_len = len;
    }
    return st;
}

/* Whether the request announces a body (the edge gives it a deadline). */
static int has_body(struct MHD_Connection *conn)
{
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    return (cl && strcmp(cl, "0") != 0) ||
           MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

/* A stage service's health and metrics listener serves these routes only. */
static int monitor_route(const struct route *r)
{
    return !strcmp(r->name, "healthz") || !strcmp(r->name, "readyz") ||
           !strcmp(r->name, "metrics");
}

/* Appends a chunk of the body; 0 ok, -1 over the limit or out of memory. */
static int body_append(conn_state_t *st, const char *data, size_t n)
{
    if (n > VIGIL__API_BODY_MAX - st->len) return -1;
    if (st->len + n + 1 > st->cap) {
        size_t cap = st->cap ? st->cap : 4096;
        while (cap < st->len + n + 1) cap *= 2;
        char *p = realloc(st->body, cap);
        if (!p) return -1;
        st->body = p;
        st->cap = cap;
    }
    memcpy(st->body + st->len, data, n);
    st->len += n;
    st->body[st->len] = '\0';
    return 0;
}

/* Routes, authorizes and runs one request whose body (if any) is complete. */
static void dispatch(vigil_api_t *api, vigil__req_t *req, const struct route *r, int path_known,
                     const char *allow, vigil__reply_t *reply)
{
    char safe_url[160];

    vigil__api_sanitize(safe_url, sizeof(safe_url), req->url);
    if (!r && !path_known && vigil__web_claims(api, req->url) &&
        (strcmp(req->method, MHD_HTTP_METHOD_GET) == 0 ||
         strcmp(req->method, MHD_HTTP_METHOD_HEAD) == 0)) {
        vigil__web_serve(api, req, reply); /* public: the files hold no data */
    } else if (!r && !path_known) {
        vigil__reply_error(reply, MHD_HTTP_NOT_FOUND, NULL, "no such path \"%s\"", safe_url);
    } else if (!r) {
        char safe_method[32];
        vigil__api_sanitize(safe_method, sizeof(safe_method), req->method);
        vigil__reply_error(reply, MHD_HTTP_METHOD_NOT_ALLOWED, NULL,
                           "method %s not allowed on \"%s\" (allowed: %s)", safe_method,
                           safe_url, allow);
        snprintf(reply->allow_buf, sizeof(reply->allow_buf), "%s", allow);
        reply->allow = reply->allow_buf;
    } else if (vigil__api_authorize(api, req, r->role, reply)) {
        /* reads on the replica when store.read_url is set (replica.c); one
         * that fails there runs again on the primary */
        vigil__replica_begin(api, req, r->name, r->method);
        r->fn(api, req, reply);
        if (vigil__replica_end(api, req, r->method, reply->status)) {
            reply_reset(reply);
            vigil__replica_retry(api);
            r->fn(api, req, reply);
            vigil__replica_end(api, req, r->method, reply->status);
        }
    }
}

/* Sends the reply, counts it and logs it. */
static enum MHD_Result finish(vigil_api_t *api, const vigil__req_t *req, conn_state_t *st,
                              const char *route, vigil__reply_t *reply)
{
    const char *method = req->method, *url = req->url;
    char safe_url[160], fields[128];
    /* a path of the warehouse in an error body: taken out, logged here */
    int scrubbed = vigil__edge_scrub(api, reply);
    int status = reply->status;
    enum MHD_Result ret = send_reply(api, req, reply);
    double seconds = (double)(vigil_mono_us() - st->t0) / 1e6;

    count_request(route, status, seconds);
    vigil__api_sanitize(safe_url, sizeof(safe_url), url);
    /* client_ip is an address's text or "?": nothing to escape */
    snprintf(fields, sizeof(fields), "\"code\":%d,\"ms\":%.3f,\"client\":\"%s\"", status,
             seconds * 1e3, req->client_ip);
    if (status >= 500 || scrubbed)
        VIGIL_LOGF(VIGIL_LOG_WARN, "api", NULL, fields, "%s %s: %d %s", method, safe_url,
                   reply->status, reply->error);
    else if (reply->error[0])
        VIGIL_LOGF(VIGIL_LOG_DEBUG, "api", NULL, fields, "%s %s: %d %s", method, safe_url,
                   reply->status, reply->error);
    else
        VIGIL_LOGF(VIGIL_LOG_DEBUG, "api", NULL, fields, "%s %s: %d", method, safe_url,
                   reply->status);
    return ret;
}

/* MHD's access handler. Thread: an MHD pool thread. MHD calls it once when
 * the headers are in: the edge checks the request then, and what it refuses
 * is answered at once (MHD then closes the connection, unread body and
 * all). Then once per chunk of body, then once more with no data: the
 * request is answered on that last call, and the connection stays open for
 * the next request (keep-alive). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    vigil_api_t *api = cls;
    conn_state_t *st = *con_cls;
    vigil__reply_t reply = {.status = 500, .content_type = "application/json", .fd = -1};
    vigil__req_t req = {.conn = conn, .method = method, .url = url};
    const struct route *r;
    const char *route;
    char allow[64];
    int path_known;

    if (!st) return MHD_NO; /* on_uri ran out of memory */
    if (*upload_data_size) {
        if (!st->too_large && body_append(st, upload_data, *upload_data_size) != 0)
            st->too_large = 1;
        else if (st->too_large && (st->discarded += *upload_data_size) > VIGIL__API_BODY_MAX)
            return MHD_NO; /* a chunked body without end: cut off */
        *upload_data_size = 0;
        return MHD_YES;
    }
    r = route_find(method, url, &path_known, &route, allow, sizeof(allow));
    if (!r && !path_known && vigil__web_claims(api, url)) route = "web";
    if (api->monitor && r && !monitor_route(r)) {
        r = NULL;
        path_known = 0;
        route = "unknown";
    }
    if (!st->started) { /* the headers are in: who the client is, once */
        vigil__fwd_request(api, &req);
        memcpy(st->client_ip, req.client_ip, sizeof(st->client_ip));
        memcpy(st->client_addr, req.client_addr, sizeof(st->client_addr));
        st->client_known = req.client_known;
        st->https = req.https;
    } else {
        memcpy(req.client_ip, st->client_ip, sizeof(req.client_ip));
        memcpy(req.client_addr, st->client_addr, sizeof(req.client_addr));
        req.client_known = st->client_known;
        req.https = st->https;
    }
    if (!st->started) {
        st->started = 1;
        vigil__edge_conn_headers_done(api->edge, conn, has_body(conn));
        if (vigil__edge_check(api, &req, st->uri_flags, st->uri_len,
                              r ? vigil__edge_route_params(r->path) : "*", &reply))
            return MHD_YES;
        return finish(api, &req, st, route, &reply);
    }
    vigil__edge_conn_headers_done(api->edge, conn, 0); /* no deadline while answering */
    req.body = st->body;
    req.body_len = st->len;
    if (st->too_large)
        vigil__reply_error(&reply, MHD_HTTP_CONTENT_TOO_LARGE, NULL,
                           "request body over %d bytes", VIGIL__API_BODY_MAX);
    else if (!vigil__edge_preflight(api, &req, path_known ? allow : "", &reply))
        dispatch(api, &req, r, path_known, allow, &reply);
    return finish(api, &req, st, route, &reply);
}

/* Frees a request's state when MHD is done with it; the connection's next
 * request is due within the header deadline. Thread: an MHD thread. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    vigil_api_t *api = cls;
    conn_state_t *st = *con_cls;

    if (st) {
        free(st->body);
        free(st);
    }
    *con_cls = NULL;
    vigil__edge_conn_request_done(api->edge, conn);
}

/* What libmicrohttpd says about a client (a malformed or oversized request,
 * a connection the client or the edge closed): debug, so that a client
 * cannot fill the log; anything else is about the server: warn. */
static const char *const client_noise[] = {
    "closed", "Error processing request", "Not enough memory in pool", "connection limit",
    "handshake", "Too late for error response", "timed out", "reset by peer",
};

/* MHD's error log, routed to ours. Thread: any MHD thread. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;
    vigil_log_level_t level = VIGIL_LOG_WARN;

    if (VIGIL_LOG_WARN < vigil_log_min_level) return; /* then debug is off too */
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
    for (size_t i = 0; i < sizeof(client_noise) / sizeof(client_noise[0]); i++)
        if (strstr(msg, client_noise[i])) level = VIGIL_LOG_DEBUG;
    VIGIL_LOGF(level, "api", NULL, NULL, "libmicrohttpd: %s", msg);
}

/* --- lifecycle ----------------------------------------------------------------------- */

/* Splits http.listen into api->host, api->listen_port and api->family
 * (edge_listen.c: IPv4, localhost or [IPv6]). */
static vigil_err_t parse_listen(vigil_api_t *api, const char *listen, char *errstr,
                                size_t errstr_size)
{
    return vigil__edge_parse_listen(listen, api->host, sizeof(api->host), &api->listen_port,
                                    &api->family, errstr, errstr_size);
}

vigil_api_t *vigil_api_new(const vigil_config_t *cfg, char *errstr, size_t errstr_size)
{
    vigil_api_t *api = calloc(1, sizeof(*api));

    if (!api) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "api: out of memory");
        return NULL;
    }
    pthread_mutex_init(&api->pool_lock, NULL);
    pthread_mutex_init(&api->clip_lock, NULL);
    pthread_cond_init(&api->clip_cond, NULL);
    api->port = -1;
    api->web_fd = -1;
    /* The config table checks the range; this guards callers that build a
     * vigil_config_t by hand against NaN and negative values. */
    if (!(cfg->analytics_clip_preroll_s >= 0 && cfg->analytics_clip_preroll_s <= 86400) ||
        !(cfg->analytics_clip_postroll_s >= 0 && cfg->analytics_clip_postroll_s <= 86400)) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                     "analytics.clip_preroll_s %g, analytics.clip_postroll_s %g: must be "
                     "seconds in 0..86400",
                     cfg->analytics_clip_preroll_s, cfg->analytics_clip_postroll_s);
        goto fail;
    }
    api->clip_preroll_us = (int64_t)(cfg->analytics_clip_preroll_s * 1e6);
    api->clip_postroll_us = (int64_t)(cfg->analytics_clip_postroll_s * 1e6);
    if (parse_listen(api, cfg->http_listen, errstr, errstr_size)) goto fail;
    if (!(api->edge = vigil__edge_new(cfg, errstr, errstr_size))) goto fail;
    api->tls = vigil__edge_tls_cert(api->edge) != NULL;
    api->cfg = cfg;
    if (vigil__api_auth_init(api, cfg, errstr, errstr_size)) goto fail;
    if (!(api->live = vigil__live_new(cfg, errstr, errstr_size))) goto fail;
    api->listen = strdup(cfg->http_listen);
    api->store_url = strdup(cfg->store_url ? cfg->store_url : "sqlite");
    api->data_dir = strdup(cfg->data_dir ? cfg->data_dir : ".");
    if (!api->listen || !api->store_url || !api->data_dir) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "api: out of memory");
        goto fail;
    }
    if (vigil__replica_new(api, cfg, errstr, errstr_size)) goto fail;
    return api;
fail:
    vigil_api_free(api);
    return NULL;
}

vigil_api_t *vigil_api_new_monitor(const vigil_config_t *cfg, const char *listen, char *errstr,
                                   size_t errstr_size)
{
    vigil_config_t conf = *cfg;
    vigil_api_t *api;

    conf.http_listen = (char *)listen;
    api = vigil_api_new(&conf, errstr, errstr_size);
    if (!api) return NULL;
    api->cfg = cfg; /* `conf` ends here; the caller keeps cfg, as for vigil_api_new */
    api->monitor = 1;
    vigil__replica_free(api); /* no warehouse reads to route */
    /* Health and metrics only, as the stage services' listener always
     * served them: a stage service has no accounts to check. */
    api->auth.enabled = 0;
    return api;
}

#ifdef __linux__
#define API_LISTENERS API_THREADS /* one SO_REUSEPORT socket and daemon a thread (daemons.c) */
#else
#define API_LISTENERS 1 /* one socket, one daemon with a pool of API_THREADS */
#endif

/* The daemons' common options: the edge's callbacks and limits, TLS when
 * configured (daemons.c adds each one's socket, connection share, pool). */
static void daemon_options(vigil_api_t *api, struct MHD_OptionItem *o, size_t size)
{
    size_t n = 0;
#define OPT(opt, v, p)                                                                            \
    do {                                                                                          \
        if (n + 1 < size) o[n++] = (struct MHD_OptionItem){opt, (intptr_t)(v), (p)};              \
    } while (0)
    OPT(MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, api);
    OPT(MHD_OPTION_CONNECTION_TIMEOUT, API_CONN_TIMEOUT_S, NULL);
    OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, VIGIL__EDGE_CONN_MEMORY, NULL);
    OPT(MHD_OPTION_NOTIFY_COMPLETED, on_completed, api);
    OPT(MHD_OPTION_NOTIFY_CONNECTION, vigil__edge_notify_connection, api->edge);
    OPT(MHD_OPTION_URI_LOG_CALLBACK, on_uri, api);
    OPT(MHD_OPTION_UNESCAPE_CALLBACK, vigil__edge_unescape, api->edge);
    if (api->tls) {
        OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)vigil__edge_tls_cert(api->edge));
        OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)vigil__edge_tls_key(api->edge));
    }
#undef OPT
    o[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

/* Web Push (vigil/push.h): its key is made at first start; a failure leaves
 * the API running without push (the push routes answer 503 saying why). */
static void push_start(vigil_api_t *api)
{
    const vigil_config_t *cfg = api->cfg;
    vigil_push_conf_t pc = {0};
    char errstr[256];

    if (api->push || !cfg->push_enabled) return;
    pc.enabled = 1;
    pc.subject = cfg->push_subject;
    pc.vapid_key = cfg->push_vapid_key;
    pc.data_dir = api->data_dir;
    pc.store_url = api->store_url;
    pc.allow_http_loopback = cfg->push_allow_http_loopback;
    pc.allow_private_endpoints = cfg->push_allow_private_endpoints;
    pc.retries = cfg->push_retries;
    pc.retry_base_ms = cfg->push_retry_base_ms;
    pc.retry_max_ms = cfg->push_retry_max_ms;
    pc.queue_max = cfg->push_queue_max;
    pc.ttl_s = cfg->push_ttl_s;
    if (!(api->push = vigil_push_new(&pc, errstr, sizeof(errstr))) ||
        vigil_push_start(api->push, api->bus, errstr, sizeof(errstr))) {
        vigil_push_free(api->push);
        api->push = NULL;
        snprintf(api->push_error, sizeof(api->push_error), "push alerts are off: %s", errstr);
        vigil_warn("api", NULL, "%s", api->push_error);
    }
}

vigil_err_t vigil_api_start(vigil_api_t *api, char *errstr, size_t errstr_size)
{
    struct sockaddr_storage sa;
    socklen_t salen = sizeof(sa);
    struct MHD_OptionItem opts[16];
    char addr[96];
    int n;

    if (api->n_listen)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "api: already started");
    n = vigil__edge_listen_sockets(api->listen, api->host, api->listen_port, api->family,
                                   API_LISTENERS, api->listen_fds, errstr, errstr_size);
    if (n < 0) return VIGIL_ERR_IO;
    api->n_listen = n;
    if (getsockname(api->listen_fds[0], (struct sockaddr *)&sa, &salen) == 0)
        api->port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                                   : ((struct sockaddr_in *)&sa)->sin_port);
    if (api->web_fd < 0) vigil__web_init(api, api->cfg->http_web_root);
    /* live views first: their consumer group exists before the pipeline publishes */
    if (vigil__live_start(api->live, api->bus, errstr, errstr_size)) {
        vigil__daemons_stop(api); /* closes the sockets */
        return VIGIL_ERR_BUS;
    }
    if (!api->monitor) push_start(api);
    if (!api->monitor && vigil__replica_start(api, errstr, errstr_size)) {
        vigil__daemons_stop(api);
        vigil__live_stop(api->live);
        return VIGIL_ERR_NOMEM;
    }
    /* MHD_ALLOW_SUSPEND_RESUME: a live stream with nothing to send is
     * suspended instead of holding a thread (live_int.h); MHD_USE_ITC: the
     * pump's resume and stop's quiesce wake the daemon's thread */
    daemon_options(api, opts, sizeof(opts) / sizeof(opts[0]));
    if (vigil__daemons_start(api,
                             MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
                                 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC |
                                 (api->family == AF_INET6 ? MHD_USE_IPv6 : 0) |
                                 (api->tls ? MHD_USE_TLS : 0),
                             opts, on_request)) {
        vigil__live_stop(api->live);
        vigil__edge_format_addr(api->host, api->port, api->family, addr, sizeof(addr));
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO,
                            "http.listen \"%s\": cannot start the HTTP server on %s%s",
                            api->listen, addr, api->tls ? " (with TLS)" : "");
    }
    vigil__edge_set_port(api->edge, api->port, api->family, api->host);
    if (vigil__edge_start(api->edge, errstr, errstr_size)) {
        vigil_api_stop(api);
        return VIGIL_ERR_IO;
    }
    vigil__edge_format_addr(api->host, api->port, api->family, addr, sizeof(addr));
    vigil_info("api", NULL, "listening on %s%s%s", api->tls ? "https://" : "", addr,
               api->monitor ? " (health and metrics only)" : "");
    if (!api->monitor) vigil__api_auth_start(api);
    return VIGIL_OK;
}

void vigil_api_set_bus(vigil_api_t *api, struct vigil_bus *bus)
{
    api->bus = bus;
}

int vigil_api_port(const vigil_api_t *api)
{
    return api ? api->port : -1;
}

void vigil_api_stop(vigil_api_t *api)
{
    if (!api) return;
    /* MHD must not meet a suspended connection when it stops */
    vigil__live_end_streams(api->live);
    vigil__edge_stop(api->edge); /* the watchdog: before MHD closes the connections */
    /* No new connection from here; waits for the daemons' threads, so no
     * request holds a store handle after. */
    vigil__daemons_stop(api);
    vigil__live_stop(api->live);
    vigil_push_free(api->push); /* stops its threads before the store handles go */
    api->push = NULL;
    pool_drain(api);
    vigil__replica_stop(api);
}

void vigil_api_free(vigil_api_t *api)
{
    if (!api) return;
    vigil_api_stop(api);
    vigil__live_free(api->live);
    vigil__web_free(api);
    vigil__edge_free(api->edge);
    vigil__api_auth_free(api);
    vigil__replica_free(api);
    pthread_mutex_destroy(&api->pool_lock);
    pthread_mutex_destroy(&api->clip_lock);
    pthread_cond_destroy(&api->clip_cond);
    free(api->listen);
    free(api->store_url);
    free(api->data_dir);
    free(api);
}
