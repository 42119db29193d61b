/* Internals of the API's accounts: the gate (auth_gate.c), sign-in and
 * sessions (auth_routes.c), users, tokens and the audit log (users.c),
 * passkeys (passkeys.c). */
#ifndef VIGIL_API_AUTH_INT_H
#define VIGIL_API_AUTH_INT_H

#include "api/api_int.h"

#define VIGIL__SESSION_COOKIE "vigil_session"

/* Reads auth.* from cfg into api->auth; refuses auth.enabled: false unless
 * http.listen is loopback. Makes the setup token if the warehouse has no
 * users yet (at start: vigil__api_auth_start). */
vigil_err_t vigil__api_auth_init(vigil_api_t *api, const vigil_config_t *cfg, char *errstr,
                                 size_t errstr_size);
/* After the port is bound: with no users, makes the one-time setup token and
 * logs it. */
void vigil__api_auth_start(vigil_api_t *api);
void vigil__api_auth_free(vigil_api_t *api);

/* The allowed origins, comma-separated (auth.origins, or the defaults from
 * http.listen and the bound port). */
void vigil__api_auth_origins(vigil_api_t *api, char *out, size_t size);
int vigil__api_origin_allowed(vigil_api_t *api, const char *origin);
/* The WebAuthn relying party id. */
const char *vigil__api_auth_rp_id(vigil_api_t *api);

/* 1 when a and b are equal, in time independent of where they differ. */
int vigil__api_consttime_eq(const char *a, const char *b);

/* Sign-in attempts per client address: 1 allowed (and counted), 0 over the
 * limit with *retry_after_s set. */
int vigil__api_login_throttle(vigil_api_t *api, const char *client_ip, int64_t *retry_after_s);

/* Starts a session for user and sets its cookie on *reply; fills the reply
 * body {"user","role","csrf_token"}. */
void vigil__api_session_begin(vigil_api_t *api, vigil_store_t *store, vigil__req_t *req,
                              const vigil_user_t *user, const char *method_used,
                              vigil__reply_t *reply);

/* 1 when the request acts for a user; with accounts off (auth.enabled:
 * false) 0 with a 409 in *reply. (users.c) */
int vigil__api_needs_account(vigil__req_t *req, vigil__reply_t *reply);

/* Deleting one row by the id in path segment `index`: the caller's own, or
 * anyone's for an admin; 404 "no such WHAT" when it is neither, then
 * recorded as `action` in the audit log; the reply is {"id":ID,DONE:true}.
 * (users.c) */
typedef vigil_err_t (*vigil__revoke_fn)(vigil_store_t *s, int64_t id, int64_t user_id,
                                        char *errstr, size_t n);
void vigil__api_revoke_by_id(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply, int index,
                             const char *what, vigil__revoke_fn revoke, const char *action,
                             const char *done);

/* Routes (method and role in server.c's table). */
void vigil__api_auth_login(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_auth_logout(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_auth_me(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_auth_setup_get(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_auth_setup(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_auth_password(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_sessions(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_session_delete(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_users(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_user_add(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_user_update(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_user_delete(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_tokens(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_token_add(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_token_delete(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_audit_list(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_passkey_register_options(vigil_api_t *api, vigil__req_t *req,
                                         vigil__reply_t *reply);
void vigil__api_passkey_register(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_passkey_login_options(vigil_api_t *api, vigil__req_t *req,
                                      vigil__reply_t *reply);
void vigil__api_passkey_login(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_passkeys(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_passkey_delete(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);

#endif
