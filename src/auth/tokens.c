/* Bearer tokens (vigil/auth.h): what scripts send in `Authorization:
 * Bearer vgl_...`.
 *
 * The main idea, as for sessions: 256 random bits given out once, stored as
 * SHA-256 of their bytes; the "vgl_" prefix makes a leaked token easy to
 * recognise (secret scanners, logs) and the first characters, kept in the
 * clear, let a person tell their tokens apart in a list. Scope read or
 * write; a token acts with its user's role as it is now (a demoted user's
 * tokens are demoted with it). An expired token is kept (lists show it as
 * expired) until revoked. last_used is written at most once a minute.
 *
 * Thread: a store handle is used by one thread at a time. */
#include <inttypes.h>
#include <string.h>

#include "auth/accounts_int.h"
#include "vigil/store.h"

#define TOKEN_PREFIX "vgl_"
#define TOKEN_BYTES 32

/* The hash of a token string, or -1 if it cannot be one. */
static int token_hash(const char *token, char hash[VIGIL_STORE_HASH_HEX])
{
    uint8_t raw[TOKEN_BYTES];
    size_t n = 0;
    if (!token || strnlen(token, VIGIL_TOKEN_LEN + 1) != VIGIL_TOKEN_LEN ||
        strncmp(token, TOKEN_PREFIX, 4) != 0 ||
        vigil_b64url_decode(token + 4, raw, sizeof(raw), &n) != 0 || n != TOKEN_BYTES)
        return -1;
    vigil_sha256_hex(raw, n, hash);
    memset(raw, 0, sizeof(raw));
    return 0;
}

vigil_err_t vigil_token_create(vigil_store_t *s, const char *user, const char *name,
                               int write_scope, int64_t expires_us, int64_t now_us,
                               char token[64], int64_t *id, char *errstr, size_t n)
{
    uint8_t raw[TOKEN_BYTES];
    char hash[VIGIL_STORE_HASH_HEX], text[64];
    vigil_token_info_t info;
    vigil_user_t u;
    if (token) token[0] = '\0';
    if (!s || !token) return vigil_seterr(errstr, n, VIGIL_ERR_INVALID, "token: no store or buffer");
    if (!vigil__auth_label_valid(name))
        return vigil_seterr(errstr, n, VIGIL_ERR_INVALID,
                            "token label: at most %d bytes of UTF-8 without control characters",
                            VIGIL_AUTH_LABEL_MAX);
    if (expires_us != 0 && expires_us <= now_us)
        return vigil_seterr(errstr, n, VIGIL_ERR_INVALID, "token: expiry is not in the future");
    if (!vigil_user_name_valid(user))
        return vigil_seterr(errstr, n, VIGIL_ERR_NOT_FOUND, "no such user");
    vigil_err_t err = vigil_store_user_get(s, user, 0, &u, NULL, 0, errstr, n);
    if (err != VIGIL_OK) return err;
    memset(&info, 0, sizeof(info));
    info.user_id = u.id;
    vigil__auth_copy(info.name, sizeof(info.name), name);
    info.write_scope = write_scope ? 1 : 0;
    info.created_us = now_us;
    info.expires_us = expires_us;
    vigil_random_bytes(raw, sizeof(raw));
    memcpy(text, TOKEN_PREFIX, 4);
    vigil_b64url_encode(raw, sizeof(raw), text + 4, sizeof(text) - 4);
    vigil_sha256_hex(raw, sizeof(raw), hash);
    memcpy(info.prefix, text, VIGIL_TOKEN_PREFIX_LEN);
    info.prefix[VIGIL_TOKEN_PREFIX_LEN] = '\0';
    err = vigil_store_token_insert(s, &info, hash, id, errstr, n);
    if (err == VIGIL_OK) memcpy(token, text, VIGIL_TOKEN_LEN + 1);
    memset(raw, 0, sizeof(raw));
    memset(text, 0, sizeof(text));
    return err;
}

vigil_err_t vigil_token_check(vigil_store_t *s, const char *token, int64_t now_us,
                              vigil_principal_t *out, char *errstr, size_t n)
{
    char hash[VIGIL_STORE_HASH_HEX];
    vigil_store_token_t row;
    if (out) memset(out, 0, sizeof(*out));
    if (!s || !out) return vigil_seterr(errstr, n, VIGIL_ERR_INVALID, "token: no store");
    if (token_hash(token, hash) != 0)
        return vigil_seterr(errstr, n, VIGIL_ERR_NOT_FOUND, "no such token");
    vigil_err_t err = vigil_store_token_get(s, hash, &row, errstr, n);
    if (err != VIGIL_OK) return err;
    if (row.info.expires_us != 0 && now_us >= row.info.expires_us)
        return vigil_seterr(errstr, n, VIGIL_ERR_NOT_FOUND, "token %" PRId64 " expired",
                            row.info.id);
    if (now_us - row.info.last_used_us >= (int64_t)VIGIL_TOKEN_TOUCH_S * 1000000)
        (void)vigil_store_token_touch(s, row.info.id, now_us, NULL, 0); /* next request retries */
    out->kind = VIGIL_AUTH_TOKEN;
    out->user_id = row.info.user_id;
    vigil__auth_copy(out->user, sizeof(out->user), row.info.user);
    out->role = row.role;
    out->can_write = row.info.write_scope;
    out->credential_id = row.info.id;
    return VIGIL_OK;
}

vigil_err_t vigil_token_list(vigil_store_t *s, int64_t user_id, vigil_token_info_t **out,
                             size_t *n, char *errstr, size_t en)
{
    return vigil_store_token_list(s, user_id, out, n, errstr, en);
}

vigil_err_t vigil_token_revoke(vigil_store_t *s, int64_t id, int64_t user_id, char *errstr,
                               size_t n)
{
    return vigil_store_token_delete(s, id, user_id, errstr, n);
}
