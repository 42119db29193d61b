/* Users, bearer tokens, sessions and the audit log over HTTP.
 *
 * Main idea: thin routes over vigil/auth.h. An admin manages everyone; any
 * signed-in user lists and ends their own sessions and tokens. Secrets leave
 * once: a token's value only in the reply that made it, never in a list, the
 * log or the audit detail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth_int.h"
#include "api/params.h"
#include "vigil/clock.h"

#define NOSTORE_REPLY(reply)                                                                   \
    vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,                              \
                       "the warehouse cannot be opened")

/* The last path segment as an integer id; 0 with a 400/404 in *reply. */
static int64_t path_id(vigil__req_t *req, int index, const char *what, vigil__reply_t *reply)
{
    char seg[32];
    int64_t id = 0;
    vigil__param_error_t perr;

    if (vigil__api_path_segment(req->url, index, seg, sizeof(seg)) < 0 ||
        vigil__api_parse_id(seg, &id, &perr) != 0 || id <= 0) {
        vigil__reply_error(reply, MHD_HTTP_NOT_FOUND, NULL, "no such %s", what);
        return 0;
    }
    return id;
}

/* Only routes without query parameters use this: any is refused. */
static enum MHD_Result count_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (*(int *)cls)++;
    return MHD_YES;
}

int vigil__api_needs_account(vigil__req_t *req, vigil__reply_t *reply)
{
    if (req->who.kind != VIGIL_AUTH_DISABLED) return 1;
    vigil__reply_error(reply, MHD_HTTP_CONFLICT, NULL,
                       "accounts are off (auth.enabled: false): there is no user to own this");
    return 0;
}

int vigil__api_no_params(vigil__req_t *req, vigil__reply_t *reply)
{
    int n = 0;

    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, count_arg, &n);
    if (n) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, NULL,
                           "this route takes no query parameters");
        return 0;
    }
    return 1;
}

static json_t *user_json(const vigil_user_t *u, int64_t now)
{
    json_t *o = json_pack("{s:I, s:s, s:s, s:o}", "id", (json_int_t)u->id, "name", u->name,
                          "role", vigil_role_name(u->role), "created",
                          vigil__json_time(u->created_us));
    if (o)
        json_object_set_new(o, "locked_until",
                            u->locked_until_us > now ? vigil__json_time(u->locked_until_us)
                                                     : json_null());
    return o;
}

void vigil__api_users(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    char errstr[256];
    vigil_store_t *store;
    vigil_user_t *users = NULL;
    size_t n = 0;
    json_t *items;
    int64_t now = vigil_now_us();

    if (!vigil__api_no_params(req, reply)) return;
    if (!(store = vigil__api_store_acquire(api, errstr, sizeof(errstr)))) {
        NOSTORE_REPLY(reply);
        return;
    }
    if (vigil_user_list(store, &users, &n, errstr, sizeof(errstr)) != VIGIL_OK) {
        vigil__api_store_release(api, store);
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "cannot list users");
        return;
    }
    vigil__api_store_release(api, store);
    items = json_array();
    for (size_t i = 0; i < n && items; i++) json_array_append_new(items, user_json(&users[i], now));
    free(users);
    vigil__reply_json(reply, MHD_HTTP_OK, json_pack("{s:o}", "items", items));
}

static int parse_role(json_t *body, vigil_role_t *role, vigil__reply_t *reply)
{
    const char *name = vigil__api_json_str(body, "role", 16, 1, reply);

    if (!name) return 0;
    if (vigil_role_parse(name, role) != 0 || *role == VIGIL_ROLE_NONE) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "role",
                           "\"role\" must be admin, operator or viewer");
        return 0;
    }
    return 1;
}

/* A store error as a 4xx/5xx: NOT_FOUND 404, EXISTS 409, INVALID 400 with its
 * message (messages of the accounts layer name no secret). */
static void store_error(vigil__reply_t *reply, vigil_err_t err, const char *errstr)
{
    char safe[256];
    int status = err == VIGIL_ERR_NOT_FOUND ? MHD_HTTP_NOT_FOUND
                 : err == VIGIL_ERR_EXISTS  ? MHD_HTTP_CONFLICT
                 : err == VIGIL_ERR_INVALID ? MHD_HTTP_BAD_REQUEST
                                            : MHD_HTTP_SERVICE_UNAVAILABLE;

    vigil__api_sanitize(safe, sizeof(safe), errstr);
    vigil__reply_error(reply, status, NULL, "%s",
                       status == MHD_HTTP_SERVICE_UNAVAILABLE ? "the warehouse refused it" : safe);
}

void vigil__api_user_add(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    static const char *const keys[] = {"name", "role", "password", NULL};
    json_t *body = vigil__api_body_json(req, reply);
    const char *name, *password;
    vigil_role_t role;
    vigil_store_t *store = NULL;
    vigil_user_t user;
    int64_t id = 0;
    char errstr[256];
    vigil_err_t err;

    if (!body) return;
    if (!vigil__api_json_keys(body, keys, reply) ||
        !(name = vigil__api_json_str(body, "name", 63, 1, reply)) || !parse_role(body, &role, reply) ||
        !(password = vigil__api_json_str(body, "password", 1024, 1, reply)))
        goto out;
    if (!(store = vigil__api_store_acquire(api, errstr, sizeof(errstr)))) {
        NOSTORE_REPLY(reply);
        goto out;
    }
    if ((err = vigil_user_add(store, name, role, password, &id, errstr, sizeof(errstr))) ||
        (err = vigil_user_get_id(store, id, &user, errstr, sizeof(errstr)))) {
        store_error(reply, err, errstr);
        goto out;
    }
    char detail[64];
    snprintf(detail, sizeof(detail), "{\"role\":\"%s\"}", vigil_role_name(role));
    vigil__api_audit(api, req, "user.add", name, detail);
    vigil__reply_json(reply, MHD_HTTP_CREATED, user_json(&user, vigil_now_us()));
out:
    vigil__api_store_release(api, store);
    json_decref(body);
}

void vigil__api_user_update(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    static const char *const keys[] = {"role", "password", NULL};
    json_t *body = vigil__api_body_json(req, reply);
    const char *password = NULL;
    vigil_role_t role = VIGIL_ROLE_NONE;
    vigil_store_t *store = NULL;
    vigil_user_t user;
    char name[64], errstr[256];
    vigil_err_t err;

    if (!body) return;
    if (vigil__api_path_segment(req->url, 3, name, sizeof(name)) < 0) {
        vigil__reply_error(reply, MHD_HTTP_NOT_FOUND, NULL, "no such user");
        goto out;
    }
    if (!vigil__api_json_keys(body, keys, reply)) goto out;
    if (json_object_get(body, "role") && !parse_role(body, &role, reply)) goto out;
    if (json_object_get(body, "password") &&
        !(password = vigil__api_json_str(body, "password", 1024, 1, reply)))
        goto out;
    if (!(store = vigil__api_store_acquire(api, errstr, sizeof(errstr)))) {
        NOSTORE_REPLY(reply);
        goto out;
    }
    if ((err = vigil_user_get(store, name, &user, errstr, sizeof(errstr)))) {
        store_error(reply, err, errstr);
        goto out;
    }
    if (role != VIGIL_ROLE_NONE && role != user.role && user.id == req->who.user_id &&
        role != VIGIL_ROLE_ADMIN) {
        vigil__reply_error(reply, MHD_HTTP_CONFLICT, "role",
                           "an admin cannot take away their own admin role (another admin can)");
        goto out;
    }
    if (role != VIGIL_ROLE_NONE &&
        (err = vigil_user_set_role(store, name, role, errstr, sizeof(errstr)))) {
        store_error(reply, err, errstr);
        goto out;
    }
    if (password && (err = vigil_user_set_password(store, name, password, errstr, sizeof(errstr)))) {
        store_error(reply, err, errstr);
        goto out;
    }
    if ((err = vigil_user_get(store, name, &user, errstr, sizeof(errstr)))) {
        store_error(reply, err, errstr);
        goto out;
    }
    char detail[96];
    snprintf(detail, sizeof(detail), "{\"role\":\"%s\",\"password_changed\":%s}",
             vigil_role_name(user.role), password ? "true" : "false");
    vigil__api_audit(api, req, "user.update", name, detail);
    vigil__reply_json(reply, MHD_HTTP_OK, user_json(&user, vigil_now_us()));
out:
    vigil__api_store_release(api, store);
    json_decref(body);
}

void vigil__api_user_delete(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    vigil_store_t *store;
    char name[64], errstr[256];
    vigil_err_t err;

    if (!vigil__api_no_params(req, reply)) return;
    if (vigil__api_path_segment(req->url, 3, name, sizeof(name)) < 0) {
        vigil__reply_error(reply, MHD_HTTP_NOT_FOUND, NULL, "no such user");
        return;
    }
    if (strcmp(name, req->who.user) == 0) {
        vigil__reply_error(reply, MHD_HTTP_CONFLICT, NULL,
                           "an admin cannot remove themselves (another admin can)");
        return;
    }
    if (!(store = vigil__api_store_acquire(api, errstr, sizeof(errstr)))) {
        NOSTORE_REPLY(reply);
        return;
    }
    err = vigil_user_delete(store, name, errstr, sizeof(errstr));
    vigil__api_store_release(api, store);
    if (err) {
        store_error(reply, err, errstr);
        return;
    }
    vigil__api_audit(api, req, "user.delete", name, NULL);
    vigil__reply_json(reply, MHD_HTTP_OK, json_pack("{s:s, s:b}", "name", name, "deleted", 1));
}

/* --- tokens --------------------------------------------------------------------- */

static json_t *token_json(const vigil_token_info_t *t)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "id", (json_int_t)t->id, "user",
                     t->user, "label", t->name, "scope", t->write_scope ? "write" : "read",
                     "prefix", t->prefix, "created", vigil__json_time(t->created_us), "expires",
                     vigil__json_time(t->expires_us), "last_used",
                     vigil__json_time(t->last_used_us));
}

/* GET /api/v1/tokens: one's own; an admin's ?all=true lists everyone's. */
void vigil__api_tokens(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    const char *all = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "all");
    vigil_token_info_t *tokens = NULL;
    vigil_store_t *store;
    size_t n = 0, nargs = 0;
    char errstr[256];
    int everyone;
    json_t *items;

    nargs = (size_t)MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, NULL, NULL);
    if (nargs > (all ? 1u : 0u) || (all && strcmp(all, "true") && strcmp(all, "false"))) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "all",
                           "the only parameter is all=true|false");
        return;
    }
    everyone = all && !strcmp(all, "true");
    if (everyone && req->who.role < VIGIL_ROLE_ADMIN) {
        vigil__reply_error(reply, MHD_HTTP_FORBIDDEN, "all", "all=true needs role admin");
        return;
    }
    if (!(store = vigil__api_store_acquire(api, errstr, sizeof(errstr)))) {
        NOSTORE_REPLY(reply);
        return;
    }
    vigil_err_t err = vigil_token_list(store, everyone ? 0 : req->who.user_id, &tokens, &n,
                                       errstr, sizeof(errstr));
    vigil__api_store_release(api, store);
    if (err) {
        store_error(reply, err, errstr);
        return;
    }
    items = json_array();
    for (size_t i = 0; i < n && items; i++) json_array_append_new(items, token_json(&tokens[i]));
    free(tokens);
    vigil__reply_json(reply, MHD_HTTP_OK, json_pack("{s:o}", "items", items));
}

/* POST /api/v1/tokens {"label","scope":"read|write","expires_days"}: the
 * token's value is in this reply only. */
void vigil__api_token_add(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    static const char *const keys[] = {"label", "scope", "expires_days", NULL};
    json_t *body = vigil__api_body_json(req, reply), *days;
    const char *label = NULL, *scope = "read";
    vigil_store_t *store = NULL;
    int64_t expires = 0, id = 0, now = vigil_now_us();
    char token[64], errstr[256];
    vigil_err_t err;

    if (!body) return;
    if (!vigil__api_needs_account(req, reply) || !vigil__api_json_keys(body, keys, reply)) goto out;
    if (json_object_get(body, "label") && !(label = vigil__api_json_str(body, "label", 63, 1, reply)))
        goto out;
    if (json_object_get(body, "scope") && !(scope = vigil__api_json_str(body, "scope", 8, 1, reply)))
        goto out;
    if (strcmp(scope, "read") && strcmp(scope, "write")) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "scope", "\"scope\" must be read or write");
        goto out;
    }
    if ((days = json_object_get(body, "expires_days"))) {
        if (!json_is_integer(days) || json_integer_value(days) < 1 ||
            json_integer_value(days) > 3650) {
            vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "expires_days",
                               "\"expires_days\" must be an integer in 1..3650");
            goto out;
        }
        expires = now + (int64_t)json_integer_value(days) * 86400 * 1000000LL;
    }
    if (req->who.kind == VIGIL_AUTH_TOKEN && !strcmp(scope, "write") && !req->who.can_write) {
        vigil__reply_error(reply, MHD_HTTP_FORBIDDEN, "scope",
                           "a read-scope token cannot make a write-scope token");
        goto out;
    }
    if (!(store = vigil__api_store_acquire(api, errstr, sizeof(errstr)))) {
        NOSTORE_REPLY(reply);
        goto out;
    }
    err = vigil_token_create(store, req->who.user, label, !strcmp(scope, "write"), expires, now,
                             token, &id, errstr, sizeof(errstr));
    if (err) {
        store_error(reply, err, errstr);
        goto out;
    }
    char detail[64];
    snprintf(detail, sizeof(detail), "{\"id\":%lld,\"scope\":\"%s\"}", (long long)id, scope);
    vigil__api_audit(api, req, "token.create", req->who.user, detail);
    vigil__reply_json(reply, MHD_HTTP_CREATED,
                      json_pack("{s:I, s:s, s:s, s:o}", "id", (json_int_t)id, "token", token,
                                "scope", scope, "expires", vigil__json_time(expires)));
out:
    vigil__api_store_release(api, store);
    json_decref(body);
}

/* Deletes row `id` (path segment `index`) of one's own, or anyone's for an
 * admin, with `revoke` (vigil_token_revoke, vigil_session_revoke,
 * vigil_passkey_delete), and records `action`. */
void vigil__api_revoke_by_id(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply, int index,
                             const char *what, vigil__revoke_fn revoke, const char *action,
                             const char *done)
{
    vigil_store_t *store;
    char errstr[256], target[32];
    int64_t id;
    vigil_err_t err;

    if (!vigil__api_no_params(req, reply) || !(id = path_id(req, index, what, reply))) return;
    if (!(store = vigil__api_store_acquire(api, errstr, sizeof(errstr)))) {
        NOSTORE_REPLY(reply);
        return;
    }
    err = revoke(store, id, req->who.role >= VIGIL_ROLE_ADMIN ? 0 : req->who.user_id, errstr,
                 sizeof(errstr));
    vigil__api_store_release(api, store);
    if (err == VIGIL_ERR_NOT_FOUND) {
        vigil__reply_error(reply, MHD_HTTP_NOT_FOUND, NULL, "no such %s", what);
        return;
    } else if (err) {
        store_error(reply, err, errstr);
        return;
    }
    snprintf(target, sizeof(target), "%lld", (long long)id);
    vigil__api_audit(api, req, action, target, NULL);
    vigil__reply_json(reply, MHD_HTTP_OK, json_pack("{s:I, s:b}", "id", (json_int_t)id, done, 1));
}

void vigil__api_token_delete(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    vigil__api_revoke_by_id(api, req, reply, 3, "token", vigil_token_revoke, "token.revoke",
                            "revoked");
}

/* --- sessions ------------------------------------------------------------------- */

void vigil__api_sessions(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    vigil_session_info_t *rows = NULL;
    vigil_store_t *store;
    size_t n = 0;
    char errstr[256];
    json_t *items;

    if (!vigil__api_no_params(req, reply)) return;
    if (!(store = vigil__api_store_acquire(api, errstr, sizeof(errstr)))) {
        NOSTORE_REPLY(reply);
        return;
    }
    vigil_err_t err = vigil_session_list(store, req->who.user_id, &rows, &n, errstr, sizeof(errstr));
    vigil__api_store_release(api, store);
    if (err) {
        store_error(reply, err, errstr);
        return;
    }
    items = json_array();
    for (size_t i = 0; i < n && items; i++) {
        json_t *o = json_pack(
            "{s:I, s:s, s:o, s:o, s:o, s:s, s:s, s:b}", "id", (json_int_t)rows[i].id, "user",
            rows[i].user, "created", vigil__json_time(rows[i].created_us), "last_seen",
            vigil__json_time(rows[i].last_seen_us), "expires", vigil__json_time(rows[i].expires_us),
            "client_ip", rows[i].client_ip, "user_agent", rows[i].user_agent, "current",
            req->who.kind == VIGIL_AUTH_SESSION && rows[i].id == req->who.credential_id);
        json_array_append_new(items, o);
    }
    free(rows);
    vigil__reply_json(reply, MHD_HTTP_OK, json_pack("{s:o}", "items", items));
}

void vigil__api_session_delete(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    vigil__api_revoke_by_id(api, req, reply, 4, "session", vigil_session_revoke,
                            "session.revoke", "revoked");
}

/* --- audit log ------------------------------------------------------------------ */

/* GET /api/v1/audit?limit=&cursor= (admin), newest first. */
void vigil__api_audit_list(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    const char *limit_s = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "limit");
    const char *cursor_s = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "cursor");
    int nargs = MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, NULL, NULL);
    vigil__param_error_t perr;
    vigil_audit_row_t *rows = NULL;
    vigil_store_t *store;
    int limit = 100;
    int64_t before = 0;
    size_t n = 0;
    char errstr[256], cursor[32];
    json_t *items, *next = json_null();

    if (nargs != (limit_s != NULL) + (cursor_s != NULL)) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, NULL,
                           "parameters: limit (1..1000) and cursor only");
        return;
    }
    if ((limit_s && vigil__api_parse_limit(limit_s, &limit, &perr) != 0) ||
        (cursor_s && vigil__api_parse_cursor(cursor_s, &before, &perr) != 0)) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, perr.parameter, "%s", perr.message);
        return;
    }
    if (!(store = vigil__api_store_acquire(api, errstr, sizeof(errstr)))) {
        NOSTORE_REPLY(reply);
        return;
    }
    vigil_err_t err = vigil_audit_list(store, before, limit, &rows, &n, errstr, sizeof(errstr));
    vigil__api_store_release(api, store);
    if (err) {
        store_error(reply, err, errstr);
        return;
    }
    items = json_array();
    for (size_t i = 0; i < n && items; i++) {
        json_t *detail = rows[i].detail ? json_loads(rows[i].detail, 0, NULL) : NULL;
        json_array_append_new(
            items, json_pack("{s:I, s:o, s:s, s:s, s:s, s:s, s:o}", "id", (json_int_t)rows[i].id,
                             "time", vigil__json_time(rows[i].time_us), "user", rows[i].user,
                             "client_ip", rows[i].client_ip, "action", rows[i].action, "target",
                             rows[i].target, "detail", detail ? detail : json_null()));
    }
    if (n == (size_t)limit && n) {
        vigil__api_format_cursor(rows[n - 1].id, cursor, sizeof(cursor));
        next = json_string(cursor);
    }
    vigil_audit_rows_free(rows, n);
    vigil__reply_json(reply, MHD_HTTP_OK, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}
