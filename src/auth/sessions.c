/* Sessions (vigil/auth.h): what a browser holds after a login, as an
 * HttpOnly cookie the API sets.
 *
 * The main idea: the session id is a bearer secret of 256 random bits that
 * exists in plaintext only in the client's cookie; the warehouse keys the
 * session on SHA-256 of its bytes, so a copy of the database lets nobody in.
 * A fast hash is enough for 256-bit random ids (no guessing to slow down).
 * Each session has two deadlines: an absolute one (created + ttl) and an
 * idle one (last_seen + idle_s, given by the caller on each check so that a
 * configuration change applies to existing sessions). last_seen is written
 * at most once a minute, so a busy client does not turn reads into writes.
 * An expired session found by a check is deleted; the others go with the
 * retention sweep and with later creates.
 *
 * The CSRF token is another 256 random bits, stored as is: it protects only
 * together with the cookie, which the warehouse does not have.
 *
 * Thread: a store handle is used by one thread at a time. */
#include <string.h>

#include "auth/accounts_int.h"
#include "vigil/clock.h"
#include "vigil/store.h"

#define SESSION_BYTES 32

/* The hash of a session id string, or -1 if it cannot be one. */
static int session_hash(const char *sid, char hash[VIGIL_STORE_HASH_HEX])
{
    uint8_t raw[SESSION_BYTES];
    size_t n = 0;
    if (!sid || strnlen(sid, VIGIL_SESSION_ID_LEN + 1) != VIGIL_SESSION_ID_LEN ||
        vigil_b64url_decode(sid, raw, sizeof(raw), &n) != 0 || n != SESSION_BYTES)
        return -1;
    vigil_sha256_hex(raw, n, hash);
    memset(raw, 0, sizeof(raw));
    return 0;
}

vigil_err_t vigil_session_create(vigil_store_t *s, int64_t user_id, const char *client_ip,
                                 const char *user_agent, int64_t now_us, int64_t ttl_s,
                                 char sid[64], char csrf[48], char *errstr, size_t n)
{
    uint8_t raw[SESSION_BYTES];
    char hash[VIGIL_STORE_HASH_HEX];
    vigil_store_session_t row;
    if (sid) sid[0] = '\0';
    if (csrf) csrf[0] = '\0';
    if (!s || !sid || !csrf || user_id <= 0)
        return vigil_seterr(errstr, n, VIGIL_ERR_INVALID, "session: no store, user or buffer");
    if (ttl_s <= 0 || ttl_s > INT64_MAX / 1000000 - now_us / 1000000)
        return vigil_seterr(errstr, n, VIGIL_ERR_INVALID, "session: lifetime %lld s out of range",
                            (long long)ttl_s);
    memset(&row, 0, sizeof(row));
    row.info.user_id = user_id;
    row.info.created_us = now_us;
    row.info.last_seen_us = now_us;
    row.info.expires_us = now_us + ttl_s * 1000000;
    vigil__auth_clean_text(client_ip, row.info.client_ip, sizeof(row.info.client_ip));
    vigil__auth_clean_text(user_agent, row.info.user_agent, sizeof(row.info.user_agent));
    vigil_random_bytes(raw, sizeof(raw));
    vigil_b64url_encode(raw, sizeof(raw), row.csrf, sizeof(row.csrf));
    vigil_random_bytes(raw, sizeof(raw));
    vigil_sha256_hex(raw, sizeof(raw), hash);
    vigil_err_t err = vigil_store_session_insert(s, &row, hash, NULL, errstr, n);
    if (err == VIGIL_OK) {
        vigil_b64url_encode(raw, sizeof(raw), sid, 64);
        memcpy(csrf, row.csrf, sizeof(row.csrf));
    }
    memset(raw, 0, sizeof(raw));
    return err;
}

vigil_err_t vigil_session_check(vigil_store_t *s, const char *sid, int64_t now_us, int64_t idle_s,
                                vigil_principal_t *out, char *errstr, size_t n)
{
    char hash[VIGIL_STORE_HASH_HEX];
    vigil_store_session_t row;
    if (out) memset(out, 0, sizeof(*out));
    if (!s || !out) return vigil_seterr(errstr, n, VIGIL_ERR_INVALID, "session: no store");
    if (session_hash(sid, hash) != 0)
        return vigil_seterr(errstr, n, VIGIL_ERR_NOT_FOUND, "no such session");
    vigil_err_t err = vigil_store_session_get(s, hash, &row, errstr, n);
    if (err != VIGIL_OK) return err;
    int expired = now_us >= row.info.expires_us;
    if (idle_s > INT64_MAX / 2000000) idle_s = 0; /* longer than any clock: no limit */
    int idle = idle_s > 0 && now_us - row.info.last_seen_us >= idle_s * 1000000;
    if (expired || idle) {
        /* gone for good: delete it now (a failure here changes nothing for
         * the caller, the sweep deletes it later) */
        (void)vigil_store_session_delete(s, 0, 0, hash, NULL, 0);
        return vigil_seterr(errstr, n, VIGIL_ERR_NOT_FOUND, "session %s",
                            expired ? "expired" : "ended after inactivity");
    }
    if (now_us - row.info.last_seen_us >= (int64_t)VIGIL_SESSION_TOUCH_S * 1000000)
        (void)vigil_store_session_touch(s, row.info.id, now_us, NULL, 0); /* next request retries */
    out->kind = VIGIL_AUTH_SESSION;
    out->user_id = row.info.user_id;
    vigil__auth_copy(out->user, sizeof(out->user), row.info.user);
    out->role = row.role;
    out->can_write = 1;
    out->credential_id = row.info.id;
    vigil__auth_copy(out->csrf, sizeof(out->csrf), row.csrf);
    return VIGIL_OK;
}

vigil_err_t vigil_session_list(vigil_store_t *s, int64_t user_id, vigil_session_info_t **out,
                               size_t *n, char *errstr, size_t en)
{
    return vigil_store_session_list(s, user_id, vigil_now_us(), out, n, errstr, en);
}

vigil_err_t vigil_session_revoke(vigil_store_t *s, int64_t session_row_id, int64_t user_id,
                                 char *errstr, size_t n)
{
    return vigil_store_session_delete(s, session_row_id, user_id, NULL, errstr, n);
}

vigil_err_t vigil_session_revoke_sid(vigil_store_t *s, const char *sid, char *errstr, size_t n)
{
    char hash[VIGIL_STORE_HASH_HEX];
    if (!s) return vigil_seterr(errstr, n, VIGIL_ERR_INVALID, "session: no store");
    if (session_hash(sid, hash) != 0)
        return vigil_seterr(errstr, n, VIGIL_ERR_NOT_FOUND, "no such session");
    return vigil_store_session_delete(s, 0, 0, hash, errstr, n);
}
