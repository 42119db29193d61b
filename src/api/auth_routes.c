/* Sign-in, sign-out, who am I, first-run setup, password change and the
 * session list.
 *
 * Main idea: a successful sign-in (password here, passkey in passkeys.c, the
 * setup token on first start) ends in vigil__api_session_begin: a session row
 * in the warehouse (only the SHA-256 of its id), the id in an HttpOnly,
 * Secure, SameSite=Strict cookie, and the session's CSRF token in the body for
 * the dashboard to send back on writes. Failed sign-ins are limited twice:
 * per client address here (vigil__api_login_throttle) and per account in the
 * warehouse (vigil_login_password locks it). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "api/auth_int.h"
#include "api/params.h"
#include "vigil/clock.h"
#include "vigil/log.h"

#define THROTTLE_WINDOW_US (60 * 1000000LL)
#define THROTTLE_MAX 20 /* sign-in attempts per client address per minute */

int vigil__api_login_throttle(vigil_api_t *api, const char *client_ip, int64_t *retry_after_s)
{
    int64_t now = vigil_mono_us();
    vigil__login_slot_t *slot = NULL, *oldest = NULL;
    int ok;

    pthread_mutex_lock(&api->auth.lock);
    for (size_t i = 0; i < VIGIL__LOGIN_SLOTS; i++) {
        vigil__login_slot_t *s = &api->auth.login[i];
        if (s->ip[0] && strcmp(s->ip, client_ip) == 0) {
            slot = s;
            break;
        }
        if (!oldest || s->window_start_us < oldest->window_start_us) oldest = s;
    }
    if (!slot) { /* bounded table: the stalest address gives way */
        slot = oldest;
        snprintf(slot->ip, sizeof(slot->ip), "%s", client_ip);
        slot->window_start_us = now;
        slot->count = 0;
    }
    if (now - slot->window_start_us >= THROTTLE_WINDOW_US) {
        slot->window_start_us = now;
        slot->count = 0;
    }
    ok = slot->count < THROTTLE_MAX;
    if (ok)
        slot->count++;
    else
        *retry_after_s = (slot->window_start_us + THROTTLE_WINDOW_US - now) / 1000000 + 1;
    pthread_mutex_unlock(&api->auth.lock);
    return ok;
}

static void set_session_cookie(vigil_api_t *api, vigil__reply_t *reply, const char *sid,
                               int64_t max_age_s)
{
    char cookie[200];

    snprintf(cookie, sizeof(cookie),
             VIGIL__SESSION_COOKIE "=%s; Path=/; Max-Age=%lld; HttpOnly; Secure; SameSite=Strict",
             sid, (long long)max_age_s);
    vigil__reply_header(reply, MHD_HTTP_HEADER_SET_COOKIE, cookie);
}

void vigil__api_session_begin(vigil_api_t *api, vigil_store_t *store, vigil__req_t *req,
                              const vigil_user_t *user, const char *method_used,
                              vigil__reply_t *reply)
{
    const char *ua = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_USER_AGENT);
    char sid[64], csrf[48], errstr[256], safe_ua[128];
    json_t *body;

    vigil__api_sanitize(safe_ua, sizeof(safe_ua), ua ? ua : "");
    if (vigil_session_create(store, user->id, req->client_ip, safe_ua, vigil_now_us(),
                             api->auth.ttl_s, sid, csrf, errstr, sizeof(errstr)) != VIGIL_OK) {
        vigil_warn("api", NULL, "cannot start a session for user \"%s\": %s", user->name,
                   errstr);
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "cannot start a session: the warehouse refused it");
        return;
    }
    req->who.kind = VIGIL_AUTH_SESSION;
    req->who.user_id = user->id;
    req->who.role = user->role;
    snprintf(req->who.user, sizeof(req->who.user), "%s", user->name);
    vigil__api_audit(api, req, "auth.login", user->name, method_used);
    body = json_pack("{s:s, s:s, s:s, s:s}", "user", user->name, "role",
                     vigil_role_name(user->role), "auth", "session", "csrf_token", csrf);
    vigil__reply_json(reply, MHD_HTTP_OK, body);
    set_session_cookie(api, reply, sid, api->auth.ttl_s);
}

/* A string member of a JSON body, 1..max bytes; NULL with a 400 in *reply. */
const char *vigil__api_json_str(json_t *obj, const char *key, size_t max, int required,
                                vigil__reply_t *reply)
{
    json_t *v = json_object_get(obj, key);

    if (!v && !required) return NULL;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, key,
                           "\"%s\" must be a string of 1..%zu bytes without NUL", key, max);
        return NULL;
    }
    return json_string_value(v);
}

int vigil__api_json_keys(json_t *obj, const char *const *allowed, vigil__reply_t *reply)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v) {
        int ok = 0;
        for (size_t i = 0; allowed[i]; i++) ok |= strcmp(key, allowed[i]) == 0;
        if (!ok) {
            char safe[64];
            vigil__api_sanitize(safe, sizeof(safe), key);
            vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, safe, "unknown field \"%s\"", safe);
            return 0;
        }
    }
    return 1;
}

void vigil__api_auth_login(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    static const char *const keys[] = {"name", "password", NULL};
    json_t *body = vigil__api_body_json(req, reply);
    const char *name, *password;
    vigil_store_t *store;
    vigil_user_t user;
    int64_t retry = 0;
    char errstr[256], retry_s[24];
    vigil_err_t err;

    if (!body) return;
    if (!vigil__api_json_keys(body, keys, reply) ||
        !(name = vigil__api_json_str(body, "name", 63, 1, reply)) ||
        !(password = vigil__api_json_str(body, "password", 1024, 1, reply)))
        goto out;
    if (!vigil__api_login_throttle(api, req->client_ip, &retry)) {
        snprintf(retry_s, sizeof(retry_s), "%lld", (long long)retry);
        vigil__reply_error(reply, MHD_HTTP_TOO_MANY_REQUESTS, NULL,
                           "too many sign-in attempts from this address: try again in %lld s",
                           (long long)retry);
        vigil__reply_header(reply, MHD_HTTP_HEADER_RETRY_AFTER, retry_s);
        goto out;
    }
    if (!(store = vigil__api_store_acquire(api, errstr, sizeof(errstr)))) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "cannot sign in: the warehouse cannot be opened");
        goto out;
    }
    err = vigil_login_password(store, name, password, vigil_now_us(), &user, &retry, errstr,
                               sizeof(errstr));
    if (err == VIGIL_OK) {
        vigil__api_session_begin(api, store, req, &user, "{\"method\":\"password\"}", reply);
    } else if (err == VIGIL_ERR_TIMED_OUT) {
        snprintf(retry_s, sizeof(retry_s), "%lld", (long long)retry);
        vigil__reply_error(reply, MHD_HTTP_TOO_MANY_REQUESTS, NULL,
                           "this account is locked after repeated failed sign-ins: try again "
                           "in %lld s",
                           (long long)retry);
        vigil__reply_header(reply, MHD_HTTP_HEADER_RETRY_AFTER, retry_s);
    } else {
        vigil__reply_error(reply, MHD_HTTP_UNAUTHORIZED, NULL, "invalid name or password");
    }
    vigil__api_store_release(api, store);
out:
    json_decref(body);
}

void vigil__api_auth_logout(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    char errstr[256];
    vigil_store_t *store;

    if (req->who.kind == VIGIL_AUTH_SESSION && req->sid[0]) {
        if (!(store = vigil__api_store_acquire(api, errstr, sizeof(errstr)))) {
            vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                               "cannot sign out: the warehouse cannot be opened");
            return;
        }
        if (vigil_session_revoke_sid(store, req->sid, errstr, sizeof(errstr)) != VIGIL_OK) {
            vigil__api_store_release(api, store);
            vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                               "cannot sign out: the warehouse refused it");
            return;
        }
        vigil__api_store_release(api, store);
        vigil__api_audit(api, req, "auth.logout", req->who.user, NULL);
    }
    vigil__reply_json(reply, MHD_HTTP_OK, json_pack("{s:b}", "signed_out", 1));
    set_session_cookie(api, reply, "", 0);
}

static const char *auth_kind_name(vigil_auth_kind_t k)
{
    switch (k) {
    case VIGIL_AUTH_SESSION: return "session";
    case VIGIL_AUTH_TOKEN: return "token";
    case VIGIL_AUTH_SETUP: return "setup";
    case VIGIL_AUTH_DISABLED: return "disabled";
    default: return "none";
    }
}

void vigil__api_auth_me(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "user", req->who.user, "role",
                          vigil_role_name(req->who.role), "auth", auth_kind_name(req->who.kind),
                          "can_write", req->who.can_write || req->who.kind != VIGIL_AUTH_TOKEN);

    if (o && req->who.kind == VIGIL_AUTH_SESSION)
        json_object_set_new(o, "csrf_token", json_string(req->who.csrf));
    vigil__reply_json(reply, MHD_HTTP_OK, o);
}

/* GET /api/v1/auth/setup: whether the first admin still has to be made. */
void vigil__api_auth_setup_get(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    char errstr[256];
    vigil_store_t *store = vigil__api_store_acquire(api, errstr, sizeof(errstr));
    int64_t users;

    if (!store) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "the warehouse cannot be opened");
        return;
    }
    users = vigil_user_count(store);
    vigil__api_store_release(api, store);
    if (users < 0) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "the warehouse cannot be queried");
        return;
    }
    /* signed_in: whether this request carries a valid session or token, so
     * that the dashboard asks /auth/me only then (a 401 there would be an
     * error in the browser's console on every visit of the sign-in page) */
    vigil__reply_json(reply, MHD_HTTP_OK,
                      json_pack("{s:b, s:b, s:b}", "needed", users == 0, "auth_enabled",
                                api->auth.enabled, "signed_in",
                                req->who.kind != VIGIL_AUTH_NONE));
}

/* POST /api/v1/auth/setup {"token","name","password"}: the first admin,
 * with the one-time token from the log; then the token is spent. */
void vigil__api_auth_setup(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    static const char *const keys[] = {"token", "name", "password", NULL};
    json_t *body = vigil__api_body_json(req, reply);
    const char *token, *name, *password;
    char errstr[256], safe[256];
    vigil_store_t *store = NULL;
    vigil_user_t user;
    int64_t id = 0, retry = 0;
    int valid;

    if (!body) return;
    if (!vigil__api_json_keys(body, keys, reply) ||
        !(token = vigil__api_json_str(body, "token", 128, 1, reply)) ||
        !(name = vigil__api_json_str(body, "name", 63, 1, reply)) ||
        !(password = vigil__api_json_str(body, "password", 1024, 1, reply)))
        goto out;
    if (!vigil__api_login_throttle(api, req->client_ip, &retry)) {
        char retry_s[24];
        snprintf(retry_s, sizeof(retry_s), "%lld", (long long)retry);
        vigil__reply_error(reply, MHD_HTTP_TOO_MANY_REQUESTS, NULL,
                           "too many attempts from this address: try again in %lld s",
                           (long long)retry);
        vigil__reply_header(reply, MHD_HTTP_HEADER_RETRY_AFTER, retry_s);
        goto out;
    }
    pthread_mutex_lock(&api->auth.lock);
    valid = api->auth.setup_token[0] && vigil__api_consttime_eq(token, api->auth.setup_token);
    pthread_mutex_unlock(&api->auth.lock);
    if (!valid) {
        vigil__reply_error(reply, MHD_HTTP_FORBIDDEN, "token",
                           "the setup token is not valid (it is printed in vigil's log at "
                           "start while there are no users, and works once)");
        goto out;
    }
    if (!(store = vigil__api_store_acquire(api, errstr, sizeof(errstr)))) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "the warehouse cannot be opened");
        goto out;
    }
    if (vigil_user_count(store) != 0) {
        vigil__reply_error(reply, MHD_HTTP_CONFLICT, NULL,
                           "setup is done: there are users already; sign in");
        goto out;
    }
    if (vigil_user_add(store, name, VIGIL_ROLE_ADMIN, password, &id, errstr, sizeof(errstr)) !=
        VIGIL_OK) {
        vigil__api_sanitize(safe, sizeof(safe), errstr);
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, NULL, "%s", safe);
        goto out;
    }
    pthread_mutex_lock(&api->auth.lock);
    api->auth.setup_token[0] = '\0'; /* spent */
    pthread_mutex_unlock(&api->auth.lock);
    if (vigil_user_get_id(store, id, &user, errstr, sizeof(errstr)) != VIGIL_OK) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "the admin was made but cannot be read back: sign in");
        goto out;
    }
    vigil_info("api", NULL, "setup: first admin \"%s\" created from %s", user.name,
               req->client_ip);
    req->who.kind = VIGIL_AUTH_SETUP;
    snprintf(req->who.user, sizeof(req->who.user), "setup");
    vigil__api_audit(api, req, "user.add", user.name, "{\"role\":\"admin\",\"via\":\"setup\"}");
    vigil__api_session_begin(api, store, req, &user, "{\"method\":\"setup\"}", reply);
out:
    vigil__api_store_release(api, store);
    json_decref(body);
}

/* POST /api/v1/auth/password {"current","new"}: one's own password; every
 * other session of the user ends. */
void vigil__api_auth_password(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    static const char *const keys[] = {"current", "new", NULL};
    json_t *body = vigil__api_body_json(req, reply);
    const char *current, *next;
    char errstr[256], safe[256];
    vigil_store_t *store = NULL;
    vigil_user_t user;
    int64_t retry = 0;

    if (!body) return;
    if (!vigil__api_json_keys(body, keys, reply) ||
        !(current = vigil__api_json_str(body, "current", 1024, 1, reply)) ||
        !(next = vigil__api_json_str(body, "new", 1024, 1, reply)))
        goto out;
    if (req->who.kind != VIGIL_AUTH_SESSION) {
        vigil__reply_error(reply, MHD_HTTP_FORBIDDEN, NULL,
                           "a password is changed from a signed-in session (or `vigil user "
                           "passwd`)");
        goto out;
    }
    if (!(store = vigil__api_store_acquire(api, errstr, sizeof(errstr)))) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "the warehouse cannot be opened");
        goto out;
    }
    if (vigil_login_password(store, req->who.user, current, vigil_now_us(), &user, &retry,
                             errstr, sizeof(errstr)) != VIGIL_OK) {
        vigil__reply_error(reply, MHD_HTTP_FORBIDDEN, "current", "the current password is wrong");
        goto out;
    }
    if (vigil_user_set_password(store, req->who.user, next, errstr, sizeof(errstr)) != VIGIL_OK) {
        vigil__api_sanitize(safe, sizeof(safe), errstr);
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "new", "%s", safe);
        goto out;
    }
    vigil__api_audit(api, req, "user.password", req->who.user, NULL);
    /* set_password ended every session, this one too: begin a new one */
    vigil__api_session_begin(api, store, req, &user, "{\"method\":\"password change\"}", reply);
out:
    vigil__api_store_release(api, store);
    json_decref(body);
}
