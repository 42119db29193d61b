/* Passkeys over HTTP: the WebAuthn registration and login ceremonies, and a
 * user's list of passkeys.
 *
 * Main idea: each ceremony is two requests. `.../options` issues a one-time
 * challenge (stored in the warehouse for 5 minutes, so any API replica can
 * finish the ceremony) and the options navigator.credentials.create()/get()
 * take, in the JSON form of WebAuthn Level 3 (base64url for bytes). The
 * second request carries the browser's PublicKeyCredential as JSON; the
 * challenge it claims is taken (deleted, so it cannot be replayed) and
 * src/auth/webauthn.c verifies the rest. Login uses discoverable credentials:
 * no user name is asked, the credential id finds the passkey and its user. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth_int.h"
#include "api/params.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/webauthn.h"

#define CHALLENGE_TTL_S 300
#define MAX_ORIGINS 8

/* The relying party of this API: rp id and the allowed origins. */
typedef struct rp_buf {
    char list[1024];
    const char *origins[MAX_ORIGINS];
    vigil_webauthn_rp_t rp;
} rp_buf_t;

static void rp_init(vigil_api_t *api, rp_buf_t *b)
{
    char *save = NULL;
    size_t n = 0;

    vigil__api_auth_origins(api, b->list, sizeof(b->list));
    for (char *o = strtok_r(b->list, ",", &save); o && n < MAX_ORIGINS;
         o = strtok_r(NULL, ",", &save))
        b->origins[n++] = o;
    b->rp.rp_id = vigil__api_auth_rp_id(api);
    b->rp.origins = b->origins;
    b->rp.norigins = n;
    b->rp.require_uv = 1;
}

/* The WebAuthn user handle of a user: its id as 8 big-endian bytes. */
static void user_handle(int64_t user_id, uint8_t out[8])
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)(user_id & 0xff);
        user_id >>= 8;
    }
}

static json_t *b64url_json(const uint8_t *data, size_t n)
{
    char buf[2048];

    if (n * 4 / 3 + 4 > sizeof(buf)) return json_null();
    vigil_b64url_encode(data, n, buf, sizeof(buf));
    return json_string(buf);
}

/* A base64url string member, decoded into out (at most size bytes). 0 ok;
 * -1 with a 400 naming the field. */
static int b64_member(json_t *obj, const char *key, const char *field, uint8_t *out,
                      size_t size, size_t *n, vigil__reply_t *reply)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_string(v) ||
        vigil_b64url_decode(json_string_value(v), out, size, n) != 0 || *n == 0) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, field,
                           "\"%s\" must be base64url of 1..%zu bytes", field, size);
        return -1;
    }
    return 0;
}

static vigil_store_t *store_or_503(vigil_api_t *api, vigil__reply_t *reply)
{
    char errstr[256];
    vigil_store_t *store = vigil__api_store_acquire(api, errstr, sizeof(errstr));

    if (!store)
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "the warehouse cannot be opened");
    return store;
}

/* POST /api/v1/auth/passkeys/register/options (signed in). */
void vigil__api_passkey_register_options(vigil_api_t *api, vigil__req_t *req,
                                         vigil__reply_t *reply)
{
    uint8_t challenge[32], handle[8];
    vigil_passkey_t *keys = NULL;
    size_t nkeys = 0;
    char errstr[256];
    vigil_store_t *store;
    json_t *exclude, *pk;

    if (req->who.kind != VIGIL_AUTH_SESSION) {
        vigil__reply_error(reply, MHD_HTTP_FORBIDDEN, NULL,
                           "passkeys are added from a signed-in dashboard session");
        return;
    }
    if (!(store = store_or_503(api, reply))) return;
    if (vigil_challenge_create(store, "register", req->who.user_id, vigil_now_us(),
                               CHALLENGE_TTL_S, challenge, errstr, sizeof(errstr)) != VIGIL_OK ||
        vigil_passkey_list(store, req->who.user_id, &keys, &nkeys, errstr, sizeof(errstr)) !=
            VIGIL_OK) {
        vigil__api_store_release(api, store);
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "cannot start a passkey registration: the warehouse refused it");
        return;
    }
    vigil__api_store_release(api, store);
    exclude = json_array();
    for (size_t i = 0; i < nkeys; i++) {
        json_array_append_new(exclude, json_pack("{s:s, s:o}", "type", "public-key", "id",
                                                 b64url_json(keys[i].cred_id, keys[i].cred_id_len)));
        
    }
    vigil_passkey_list_free(keys, nkeys);
    user_handle(req->who.user_id, handle);
    pk = json_pack(
        "{s:{s:s, s:s}, s:{s:o, s:s, s:s}, s:o, s:[{s:s, s:i}, {s:s, s:i}], s:i, s:s, "
        "s:{s:s, s:b, s:s}, s:o}",
        "rp", "id", vigil__api_auth_rp_id(api), "name", "vigil", "user", "id",
        b64url_json(handle, sizeof(handle)), "name", req->who.user, "displayName", req->who.user,
        "challenge", b64url_json(challenge, sizeof(challenge)), "pubKeyCredParams", "type",
        "public-key", "alg", VIGIL_WEBAUTHN_ALG_ES256, "type", "public-key", "alg",
        VIGIL_WEBAUTHN_ALG_RS256, "timeout", CHALLENGE_TTL_S * 1000, "attestation", "none",
        "authenticatorSelection", "residentKey", "required", "requireResidentKey", 1,
        "userVerification", "required", "excludeCredentials", exclude);
    vigil__reply_json(reply, MHD_HTTP_OK, json_pack("{s:o}", "publicKey", pk));
}

/* The parts of a PublicKeyCredential JSON both ceremonies share. */
typedef struct cred_in {
    uint8_t raw_id[VIGIL_WEBAUTHN_MAX_CREDENTIAL_ID];
    size_t raw_id_len;
    uint8_t cdj[VIGIL_WEBAUTHN_MAX_CLIENT_DATA];
    size_t cdj_len;
    json_t *response; /* borrowed */
} cred_in_t;

static int parse_credential(json_t *body, cred_in_t *c, vigil__reply_t *reply)
{
    json_t *cred = json_object_get(body, "credential"), *type;

    if (!json_is_object(cred)) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "credential",
                           "\"credential\" must be the PublicKeyCredential as JSON "
                           "(credential.toJSON())");
        return -1;
    }
    type = json_object_get(cred, "type");
    if (!json_is_string(type) || strcmp(json_string_value(type), "public-key") != 0) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "credential.type",
                           "\"credential.type\" must be \"public-key\"");
        return -1;
    }
    c->response = json_object_get(cred, "response");
    if (!json_is_object(c->response)) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "credential.response",
                           "\"credential.response\" must be an object");
        return -1;
    }
    if (b64_member(cred, "rawId", "credential.rawId", c->raw_id, sizeof(c->raw_id),
                   &c->raw_id_len, reply) ||
        b64_member(c->response, "clientDataJSON", "credential.response.clientDataJSON", c->cdj,
                   sizeof(c->cdj), &c->cdj_len, reply))
        return -1;
    return 0;
}

/* Takes the challenge the clientDataJSON claims; 0 with *user_id, or -1
 * with a 400 in *reply. */
static int take_challenge(vigil_store_t *store, const char *purpose, const cred_in_t *c,
                          uint8_t *challenge, size_t *challenge_len, int64_t *user_id,
                          vigil__reply_t *reply)
{
    char errstr[256], safe[256];

    if (vigil_webauthn_client_challenge(c->cdj, c->cdj_len, challenge, 256, challenge_len,
                                        errstr, sizeof(errstr)) != VIGIL_OK) {
        vigil__api_sanitize(safe, sizeof(safe), errstr);
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "credential.response.clientDataJSON",
                           "%s", safe);
        return -1;
    }
    if (vigil_challenge_take(store, purpose, challenge, *challenge_len, vigil_now_us(), user_id,
                             errstr, sizeof(errstr)) != VIGIL_OK) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "credential.response.clientDataJSON",
                           "webauthn %s: the challenge is unknown, expired or already used: "
                           "ask for new options",
                           strcmp(purpose, "login") ? "registration" : "login");
        return -1;
    }
    return 0;
}

/* POST /api/v1/auth/passkeys/register {"name","credential":{...}}. */
void vigil__api_passkey_register(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    static const char *const keys[] = {"name", "credential", NULL};
    json_t *body = vigil__api_body_json(req, reply);
    cred_in_t *c = calloc(1, sizeof(*c));
    uint8_t *ao = malloc(VIGIL_WEBAUTHN_MAX_ATTESTATION), challenge[256];
    size_t ao_len = 0, challenge_len = 0;
    const char *name = "passkey";
    vigil_webauthn_credential_t cred = {0};
    vigil_store_t *store = NULL;
    int64_t user_id = 0, id = 0;
    char errstr[256], safe[256];
    rp_buf_t rp;
    vigil_err_t err;

    if (!body) goto out;
    if (!c || !ao) {
        vigil__reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out of memory");
        goto out;
    }
    if (req->who.kind != VIGIL_AUTH_SESSION) {
        vigil__reply_error(reply, MHD_HTTP_FORBIDDEN, NULL,
                           "passkeys are added from a signed-in dashboard session");
        goto out;
    }
    if (!vigil__api_json_keys(body, keys, reply) || parse_credential(body, c, reply) ||
        b64_member(c->response, "attestationObject", "credential.response.attestationObject",
                   ao, VIGIL_WEBAUTHN_MAX_ATTESTATION, &ao_len, reply))
        goto out;
    if (json_object_get(body, "name") && !(name = vigil__api_json_str(body, "name", 63, 1, reply)))
        goto out;
    if (!(store = store_or_503(api, reply))) goto out;
    if (take_challenge(store, "register", c, challenge, &challenge_len, &user_id, reply)) goto out;
    if (user_id != req->who.user_id) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, NULL,
                           "webauthn registration: the challenge was issued to another user");
        goto out;
    }
    rp_init(api, &rp);
    err = vigil_webauthn_register_verify(&rp.rp, challenge, challenge_len, c->cdj, c->cdj_len, ao,
                                         ao_len, &cred, errstr, sizeof(errstr));
    if (err) {
        vigil__api_sanitize(safe, sizeof(safe), errstr);
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "credential", "%s", safe);
        goto out;
    }
    if (cred.id_len != c->raw_id_len || memcmp(cred.id, c->raw_id, cred.id_len) != 0) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, "credential.rawId",
                           "webauthn registration: rawId is not the attested credential id");
        goto out;
    }
    err = vigil_passkey_add(store, req->who.user_id, name, cred.id, cred.id_len, cred.cose_key,
                            cred.cose_key_len, cred.sign_count, vigil_now_us(), &id, errstr,
                            sizeof(errstr));
    if (err == VIGIL_ERR_EXISTS) {
        vigil__reply_error(reply, MHD_HTTP_CONFLICT, "credential",
                           "this passkey is registered already");
        goto out;
    } else if (err) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "cannot store the passkey: the warehouse refused it");
        goto out;
    }
    char detail[96];
    snprintf(detail, sizeof(detail), "{\"passkey\":%lld,\"alg\":%d}", (long long)id, cred.alg);
    vigil__api_audit(api, req, "passkey.add", req->who.user, detail);
    vigil__reply_json(reply, MHD_HTTP_CREATED,
                      json_pack("{s:I, s:s, s:i, s:b}", "id", (json_int_t)id, "name", name, "alg",
                                cred.alg, "backed_up", cred.backed_up));
out:
    vigil_webauthn_credential_release(&cred);
    vigil__api_store_release(api, store);
    json_decref(body);
    free(c);
    free(ao);
}

/* POST /api/v1/auth/passkeys/login/options (public). */
void vigil__api_passkey_login_options(vigil_api_t *api, vigil__req_t *req,
                                      vigil__reply_t *reply)
{
    uint8_t challenge[32];
    char errstr[256];
    vigil_store_t *store;
    int64_t retry = 0;

    if (!vigil__api_login_throttle(api, req->client_ip, &retry)) {
        char retry_s[24];
        snprintf(retry_s, sizeof(retry_s), "%lld", (long long)retry);
        vigil__reply_error(reply, MHD_HTTP_TOO_MANY_REQUESTS, NULL,
                           "too many sign-in attempts from this address: try again in %lld s",
                           (long long)retry);
        vigil__reply_header(reply, MHD_HTTP_HEADER_RETRY_AFTER, retry_s);
        return;
    }
    if (!(store = store_or_503(api, reply))) return;
    vigil_err_t err = vigil_challenge_create(store, "login", 0, vigil_now_us(), CHALLENGE_TTL_S,
                                             challenge, errstr, sizeof(errstr));
    vigil__api_store_release(api, store);
    if (err) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "cannot start a passkey sign-in: the warehouse refused it");
        return;
    }
    vigil__reply_json(reply, MHD_HTTP_OK,
                      json_pack("{s:{s:o, s:s, s:i, s:s, s:[]}}", "publicKey", "challenge",
                                b64url_json(challenge, sizeof(challenge)), "rpId",
                                vigil__api_auth_rp_id(api), "timeout", CHALLENGE_TTL_S * 1000,
                                "userVerification", "required", "allowCredentials"));
}

/* POST /api/v1/auth/passkeys/login {"credential":{...}} (public): a session. */
void vigil__api_passkey_login(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    static const char *const keys[] = {"credential", NULL};
    json_t *body = vigil__api_body_json(req, reply), *uh;
    cred_in_t *c = calloc(1, sizeof(*c));
    uint8_t *ad = malloc(VIGIL_WEBAUTHN_MAX_AUTH_DATA), sig[VIGIL_WEBAUTHN_MAX_SIGNATURE];
    uint8_t challenge[256], handle[8], claimed[64];
    size_t ad_len = 0, sig_len = 0, challenge_len = 0, claimed_len = 0;
    vigil_passkey_t key = {0};
    vigil_store_t *store = NULL;
    vigil_user_t user;
    int64_t unused = 0;
    uint32_t count = 0;
    char errstr[256], safe[256];

    if (!body) goto out;
    if (!c || !ad) {
        vigil__reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out of memory");
        goto out;
    }
    if (!vigil__api_json_keys(body, keys, reply) || parse_credential(body, c, reply) ||
        b64_member(c->response, "authenticatorData", "credential.response.authenticatorData", ad,
                   VIGIL_WEBAUTHN_MAX_AUTH_DATA, &ad_len, reply) ||
        b64_member(c->response, "signature", "credential.response.signature", sig, sizeof(sig),
                   &sig_len, reply))
        goto out;
    if (!vigil__api_login_throttle(api, req->client_ip, &unused)) {
        vigil__reply_error(reply, MHD_HTTP_TOO_MANY_REQUESTS, NULL,
                           "too many sign-in attempts from this address");
        vigil__reply_header(reply, MHD_HTTP_HEADER_RETRY_AFTER, "60");
        goto out;
    }
    if (!(store = store_or_503(api, reply))) goto out;
    if (take_challenge(store, "login", c, challenge, &challenge_len, &unused, reply)) goto out;
    if (vigil_passkey_get_by_cred(store, c->raw_id, c->raw_id_len, &key, errstr,
                                  sizeof(errstr)) != VIGIL_OK) {
        vigil__reply_error(reply, MHD_HTTP_UNAUTHORIZED, NULL,
                           "webauthn login: this passkey is not registered (or was removed)");
        goto out;
    }
    uh = json_object_get(c->response, "userHandle");
    if (uh && !json_is_null(uh)) {
        user_handle(key.user_id, handle);
        if (b64_member(c->response, "userHandle", "credential.response.userHandle", claimed,
                       sizeof(claimed), &claimed_len, reply))
            goto out;
        if (claimed_len != sizeof(handle) || memcmp(claimed, handle, sizeof(handle)) != 0) {
            vigil__reply_error(reply, MHD_HTTP_UNAUTHORIZED, NULL,
                               "webauthn login: the user handle is not the passkey's user");
            goto out;
        }
    }
    vigil_webauthn_rp_t *rpp;
    rp_buf_t rp;
    rp_init(api, &rp);
    rpp = &rp.rp;
    if (vigil_webauthn_assert_verify(rpp, challenge, challenge_len, c->cdj, c->cdj_len, ad, ad_len,
                                     sig, sig_len, key.cose_key, key.cose_key_len,
                                     key.sign_count, &count, errstr, sizeof(errstr)) != VIGIL_OK) {
        vigil__api_sanitize(safe, sizeof(safe), errstr);
        vigil_warn("api", NULL, "passkey sign-in refused from %s: %s", req->client_ip, safe);
        vigil__reply_error(reply, MHD_HTTP_UNAUTHORIZED, NULL, "%s", safe);
        goto out;
    }
    if (vigil_passkey_update_count(store, key.id, count, vigil_now_us(), errstr,
                                   sizeof(errstr)) != VIGIL_OK ||
        vigil_user_get_id(store, key.user_id, &user, errstr, sizeof(errstr)) != VIGIL_OK) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "cannot finish the sign-in: the warehouse refused it");
        goto out;
    }
    char detail[64];
    snprintf(detail, sizeof(detail), "{\"method\":\"passkey\",\"passkey\":%lld}", (long long)key.id);
    vigil__api_session_begin(api, store, req, &user, detail, reply);
out:
    vigil_passkey_free_fields(&key);
    vigil__api_store_release(api, store);
    json_decref(body);
    free(c);
    free(ad);
}

/* GET /api/v1/auth/passkeys: the caller's passkeys (never their keys). */
void vigil__api_passkeys(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    vigil_passkey_t *keys = NULL;
    size_t n = 0;
    char errstr[256];
    vigil_store_t *store;
    json_t *items;

    if (!vigil__api_no_params(req, reply) || !vigil__api_needs_account(req, reply) ||
        !(store = store_or_503(api, reply)))
        return;
    vigil_err_t err = vigil_passkey_list(store, req->who.user_id, &keys, &n, errstr, sizeof(errstr));
    vigil__api_store_release(api, store);
    if (err) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "cannot list passkeys");
        return;
    }
    items = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(
            items, json_pack("{s:I, s:s, s:o, s:o, s:I}", "id", (json_int_t)keys[i].id, "name",
                             keys[i].name, "created", vigil__json_time(keys[i].created_us),
                             "last_used", vigil__json_time(keys[i].last_used_us), "sign_count",
                             (json_int_t)keys[i].sign_count));
        
    }
    vigil_passkey_list_free(keys, n);
    vigil__reply_json(reply, MHD_HTTP_OK, json_pack("{s:o}", "items", items));
}

/* DELETE /api/v1/auth/passkeys/{id}: one's own (an admin: anyone's). */
void vigil__api_passkey_delete(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    vigil__api_revoke_by_id(api, req, reply, 4, "passkey", vigil_passkey_delete,
                            "passkey.remove", "removed");
}
