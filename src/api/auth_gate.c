/* Who may run which route: the gate every request passes before its
 * handler (server.c calls vigil__api_authorize).
 *
 * Main idea: a request names who it acts for with a bearer token
 * (`Authorization: Bearer vgl_...`, for scripts) or a session cookie
 * (`vigil_session`, for the dashboard); both are looked up in the warehouse
 * (hashed there), so API replicas share them. The route's least role is then
 * compared with the principal's, and writes need more: a token with write
 * scope, or a session whose CSRF token comes back in `X-CSRF-Token` from an
 * allowed Origin. With no users yet, only the setup route and public ones
 * answer (auth_routes.c). `auth.enabled: false` (loopback only) makes every
 * caller an admin named "local". */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"
#include "api/auth_int.h"
#include "api/params.h"
#include "vigil/clock.h"
#include "vigil/log.h"

#define SESSION_COOKIE "vigil_session"

/* The value of cookie `name` in a Cookie header, copied into out; 0 if found. */
static int cookie_value(const char *header, const char *name, char *out, size_t size)
{
    size_t nlen = strlen(name);
    const char *p = header;

    while (p && *p) {
        while (*p == ' ' || *p == ';') p++;
        if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            const char *v = p + nlen + 1, *end = strchr(v, ';');
            size_t n = end ? (size_t)(end - v) : strlen(v);
            while (n && v[n - 1] == ' ') n--;
            if (n >= size) return -1;
            memcpy(out, v, n);
            out[n] = '\0';
            return 0;
        }
        p = strchr(p, ';');
    }
    return -1;
}

int vigil__api_consttime_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = (unsigned char)(la != lb);

    for (size_t i = 0; i < la && i < lb; i++) d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

/* Fills req->who from the request's credentials. 0: none presented or one
 * that is valid; -1: a credential was presented and is not valid (*why);
 * -2: the warehouse could not tell (logged). */
static int identify(vigil_api_t *api, vigil_store_t *store, vigil__req_t *req, const char **why)
{
    const char *authz = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_AUTHORIZATION);
    const char *cookies = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                      MHD_HTTP_HEADER_COOKIE);
    char sid[96], errstr[256] = "";
    int64_t now = vigil_now_us();
    vigil_err_t err;

    if (authz) {
        if (strncasecmp(authz, "Bearer ", 7) != 0) {
            *why = "the Authorization header must be \"Bearer TOKEN\"";
            return -1;
        }
        err = vigil_token_check(store, authz + 7, now, &req->who, errstr, sizeof(errstr));
        if (err == VIGIL_ERR_NOT_FOUND || err == VIGIL_ERR_INVALID) {
            *why = "the bearer token is not valid (unknown, expired or revoked)";
            return -1;
        }
        if (err) goto store_failed;
        return 0;
    }
    if (cookies && cookie_value(cookies, SESSION_COOKIE, sid, sizeof(sid)) == 0) {
        err = vigil_session_check(store, sid, now, (int64_t)api->auth.idle_s, &req->who, errstr,
                                  sizeof(errstr));
        if (err == VIGIL_ERR_NOT_FOUND || err == VIGIL_ERR_INVALID) {
            *why = "the session has ended (signed out, expired or revoked): sign in again";
            return -1;
        }
        if (err) goto store_failed;
        snprintf(req->sid, sizeof(req->sid), "%s", sid);
        return 0;
    }
    return 0;
store_failed:
    memset(&req->who, 0, sizeof(req->who));
    vigil_warn("api", NULL, "credentials cannot be checked: %s", errstr);
    return -2;
}

int vigil__api_origin_allowed(vigil_api_t *api, const char *origin)
{
    char list[1024], *save = NULL;

    vigil__api_auth_origins(api, list, sizeof(list));
    for (char *o = strtok_r(list, ",", &save); o; o = strtok_r(NULL, ",", &save))
        if (strcmp(o, origin) == 0) return 1;
    return 0;
}

/* A write with a session cookie must prove it comes from the dashboard: the
 * session's CSRF token in X-CSRF-Token, and an allowed Origin when the
 * browser sends one. 1 ok; 0 with a 403 in *reply. */
static int csrf_ok(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    const char *token = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-CSRF-Token");
    const char *origin = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Origin");

    if (!token || !req->who.csrf[0] || !vigil__api_consttime_eq(token, req->who.csrf)) {
        vigil__reply_error(reply, MHD_HTTP_FORBIDDEN, NULL,
                           "%s with a session cookie needs the session's CSRF token in the "
                           "X-CSRF-Token header (GET /api/v1/auth/me returns it)",
                           req->method);
        return 0;
    }
    if (origin && !vigil__api_origin_allowed(api, origin)) {
        char safe[96];
        vigil__api_sanitize(safe, sizeof(safe), origin);
        vigil__reply_error(reply, MHD_HTTP_FORBIDDEN, NULL,
                           "origin \"%s\" may not write with a session cookie (auth.origins)",
                           safe);
        return 0;
    }
    return 1;
}

static int is_read(const char *method)
{
    return !strcmp(method, "GET") || !strcmp(method, "HEAD");
}

int vigil__api_authorize(vigil_api_t *api, vigil__req_t *req, int role, vigil__reply_t *reply)
{
    vigil_store_t *store;
    const char *why = NULL;
    char errstr[256];
    int bad;

    memset(&req->who, 0, sizeof(req->who));
    if (!api->auth.enabled) {
        req->who.kind = VIGIL_AUTH_DISABLED;
        req->who.role = VIGIL_ROLE_ADMIN;
        req->who.can_write = 1;
        snprintf(req->who.user, sizeof(req->who.user), "local");
        return 1;
    }
    store = vigil__api_store_acquire(api, errstr, sizeof(errstr));
    if (!store) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "cannot check credentials: the warehouse cannot be opened");
        return 0;
    }
    bad = identify(api, store, req, &why);
    vigil__api_store_release(api, store);
    if (bad == -2 && role != VIGIL__ROLE_PUBLIC) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "cannot check credentials: the warehouse failed (see the log)");
        vigil__reply_header(reply, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        return 0;
    }
    if (role == VIGIL__ROLE_PUBLIC) {
        if (bad) memset(&req->who, 0, sizeof(req->who)); /* public: as anonymous */
        return 1;
    }
    if (bad || req->who.kind == VIGIL_AUTH_NONE) {
        vigil__reply_error(reply, MHD_HTTP_UNAUTHORIZED, NULL, "%s",
                           why ? why
                               : "sign in required: a session cookie (POST /api/v1/auth/login) "
                                 "or an Authorization: Bearer token");
        vigil__reply_header(reply, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"vigil\"");
        return 0;
    }
    if ((int)req->who.role < role) {
        vigil__reply_error(reply, MHD_HTTP_FORBIDDEN, NULL,
                           "user \"%s\" has role %s; %s %s needs %s", req->who.user,
                           vigil_role_name(req->who.role), req->method, "this route",
                           vigil_role_name((vigil_role_t)role));
        return 0;
    }
    if (!is_read(req->method)) {
        if (req->who.kind == VIGIL_AUTH_TOKEN && !req->who.can_write) {
            vigil__reply_error(reply, MHD_HTTP_FORBIDDEN, NULL,
                               "this token has read scope; %s needs a token with write scope",
                               req->method);
            return 0;
        }
        if (req->who.kind == VIGIL_AUTH_SESSION && !csrf_ok(api, req, reply)) return 0;
    }
    return 1;
}
