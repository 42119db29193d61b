/* The accounts half of the warehouse front (store.h, section "accounts"):
 * argument checks, metrics, and dispatch to the backend's accounts ops
 * (store_accounts_int.h).
 *
 * The main idea, as in store_analytics.c: everything a backend could get
 * wrong in its own way is decided here once. Strings are checked for length
 * against the columns they go to, hashes for their form (64 lowercase hex
 * digits), ids for being positive, limits for their range; a backend only
 * runs statements. Names and policy (what a valid user name is, how long a
 * lock lasts) are vigil/auth.h's, not the store's.
 *
 * Each call is counted under its table: vigil_store_ops_total{op="users"},
 * "sessions", "tokens", "passkeys", "challenges", "audit".
 *
 * Out of memory: lists are malloc'd; a failed allocation is VIGIL_ERR_NOMEM
 * and nothing is handed back.
 *
 * Thread: a handle is used by one thread at a time (store.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_accounts_int.h"
#include "vigil/clock.h"

#define ACC_OPS(store) ((store)->ops->accounts)

/* Starts a call: the backend must have accounts. */
#define ACC_BEGIN(store, errstr, errstr_size)                                                    \
    do {                                                                                         \
        if (!(store))                                                                            \
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "no store");             \
        if (!ACC_OPS(store))                                                                     \
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,                      \
                                "the %s store keeps no accounts", (store)->ops->name);           \
    } while (0)

/* Whether s is a string of 1..max bytes (0..max if may_be_empty). */
static int acc_str_ok(const char *s, size_t max, int may_be_empty)
{
    if (!s) return 0;
    size_t n = strnlen(s, max + 1);
    return n <= max && (may_be_empty || n > 0);
}

/* Whether h is SHA-256 in lowercase hex. */
static int acc_hash_ok(const char *h)
{
    if (!h || strnlen(h, VIGIL_STORE_HASH_HEX) != VIGIL_STORE_HASH_HEX - 1) return 0;
    for (const char *p = h; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
    return 1;
}

#define ACC_TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

static vigil_err_t acc_invalid(char *errstr, size_t errstr_size, const char *what)
{
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "store accounts: %s", what);
}

/* Ends a call whose arguments passed: runs the backend's op `fn` with them,
 * timed and counted under `op` (vigil__store_done), and returns its error. */
#define ACC_RETURN(store, op, fn, ...)                                                           \
    do {                                                                                         \
        int64_t acc_t0_ = vigil_mono_us();                                                       \
        vigil_err_t acc_err_ = ACC_OPS(store)->fn((store), __VA_ARGS__);                         \
        return vigil__store_done((store), (op), acc_t0_, acc_err_);                              \
    } while (0)

/* ---- users ------------------------------------------------------------- */

vigil_err_t vigil_store_user_insert(vigil_store_t *store, const char *name, vigil_role_t role,
                                    const char *password_hash, int64_t now_us, int64_t *id,
                                    char *errstr, size_t errstr_size)
{
    ACC_BEGIN(store, errstr, errstr_size);
    if (!acc_str_ok(name, VIGIL_USER_NAME_MAX, 0))
        return acc_invalid(errstr, errstr_size, "user name missing or too long");
    if (role < VIGIL_ROLE_VIEWER || role > VIGIL_ROLE_ADMIN)
        return acc_invalid(errstr, errstr_size, "unknown role");
    if (!acc_str_ok(password_hash, VIGIL_PASSWORD_HASH_MAX - 1, 0))
        return acc_invalid(errstr, errstr_size, "password hash missing or too long");
    ACC_RETURN(store, VIGIL__OP_USERS, user_insert, name, role, password_hash, now_us, id, errstr,
               errstr_size);
}

vigil_err_t vigil_store_user_get(vigil_store_t *store, const char *name, int64_t id,
                                 vigil_user_t *user, char *hash, size_t hash_size, char *errstr,
                                 size_t errstr_size)
{
    ACC_BEGIN(store, errstr, errstr_size);
    if (!user) return acc_invalid(errstr, errstr_size, "no user row to fill");
    if (name ? !acc_str_ok(name, VIGIL_USER_NAME_MAX, 0) : id <= 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND, "no such user");
    if (hash && hash_size) hash[0] = '\0';
    ACC_RETURN(store, VIGIL__OP_USERS, user_get, name, id, user, hash, hash_size, errstr,
               errstr_size);
}

vigil_err_t vigil_store_user_list(vigil_store_t *store, vigil_user_t **users, size_t *n,
                                  char *errstr, size_t errstr_size)
{
    if (users) *users = NULL;
    if (n) *n = 0;
    ACC_BEGIN(store, errstr, errstr_size);
    if (!users || !n) return acc_invalid(errstr, errstr_size, "no list to fill");
    ACC_RETURN(store, VIGIL__OP_USERS, user_list, users, n, errstr, errstr_size);
}

vigil_err_t vigil_store_user_count(vigil_store_t *store, int64_t *n, char *errstr,
                                   size_t errstr_size)
{
    ACC_BEGIN(store, errstr, errstr_size);
    if (!n) return acc_invalid(errstr, errstr_size, "no count to fill");
    ACC_RETURN(store, VIGIL__OP_USERS, user_count, n, errstr, errstr_size);
}

vigil_err_t vigil_store_user_update(vigil_store_t *store, const char *name, vigil_role_t role,
                                    const char *password_hash, char *errstr, size_t errstr_size)
{
    ACC_BEGIN(store, errstr, errstr_size);
    if (!acc_str_ok(name, VIGIL_USER_NAME_MAX, 0))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND, "no such user");
    if (role < VIGIL_ROLE_NONE || role > VIGIL_ROLE_ADMIN)
        return acc_invalid(errstr, errstr_size, "unknown role");
    if (password_hash && !acc_str_ok(password_hash, VIGIL_PASSWORD_HASH_MAX - 1, 0))
        return acc_invalid(errstr, errstr_size, "password hash empty or too long");
    if (role == VIGIL_ROLE_NONE && !password_hash) return VIGIL_OK;
    ACC_RETURN(store, VIGIL__OP_USERS, user_update, name, role, password_hash, errstr, errstr_size);
}

vigil_err_t vigil_store_user_delete(vigil_store_t *store, const char *name, char *errstr,
                                    size_t errstr_size)
{
    ACC_BEGIN(store, errstr, errstr_size);
    if (!acc_str_ok(name, VIGIL_USER_NAME_MAX, 0))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND, "no such user");
    ACC_RETURN(store, VIGIL__OP_USERS, user_delete, name, errstr, errstr_size);
}

vigil_err_t vigil_store_user_login_result(vigil_store_t *store, int64_t id, int ok,
                                          int64_t now_us, const vigil_store_lockout_t *policy,
                                          vigil_user_t *user, char *errstr, size_t errstr_size)
{
    ACC_BEGIN(store, errstr, errstr_size);
    if (id <= 0) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND, "no such user");
    if (!ok && (!policy || policy->max_failures < 1 || policy->lock_us <= 0 ||
                policy->max_lock_us < policy->lock_us))
        return acc_invalid(errstr, errstr_size, "bad lockout policy");
    ACC_RETURN(store, VIGIL__OP_USERS, user_login_result, id, ok, now_us, policy, user, errstr,
               errstr_size);
}

/* ---- sessions ---------------------------------------------------------- */

vigil_err_t vigil_store_session_insert(vigil_store_t *store, const vigil_store_session_t *row,
                                       const char *sid_hash, int64_t *id, char *errstr,
                                       size_t errstr_size)
{
    ACC_BEGIN(store, errstr, errstr_size);
    if (!row || row->info.user_id <= 0) return acc_invalid(errstr, errstr_size, "no session");
    if (!acc_hash_ok(sid_hash)) return acc_invalid(errstr, errstr_size, "bad session hash");
    if (!ACC_TERMINATED(row->csrf) || !ACC_TERMINATED(row->info.client_ip) ||
        !ACC_TERMINATED(row->info.user_agent))
        return acc_invalid(errstr, errstr_size, "session field not terminated");
    if (row->info.expires_us <= row->info.created_us)
        return acc_invalid(errstr, errstr_size, "session expires before it starts");
    ACC_RETURN(store, VIGIL__OP_SESSIONS, session_insert, row, sid_hash, id, errstr, errstr_size);
}

vigil_err_t vigil_store_session_get(vigil_store_t *store, const char *sid_hash,
                                    vigil_store_session_t *row, char *errstr, size_t errstr_size)
{
    ACC_BEGIN(store, errstr, errstr_size);
    if (!row) return acc_invalid(errstr, errstr_size, "no session row to fill");
    if (!acc_hash_ok(sid_hash))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND, "no such session");
    ACC_RETURN(store, VIGIL__OP_SESSIONS, session_get, sid_hash, row, errstr, errstr_size);
}

vigil_err_t vigil_store_session_touch(vigil_store_t *store, int64_t id, int64_t now_us,
                                      char *errstr, size_t errstr_size)
{
    ACC_BEGIN(store, errstr, errstr_size);
    if (id <= 0) return acc_invalid(errstr, errstr_size, "bad session id");
    ACC_RETURN(store, VIGIL__OP_SESSIONS, session_touch, id, now_us, errstr, errstr_size);
}

vigil_err_t vigil_store_session_list(vigil_store_t *store, int64_t user_id, int64_t now_us,
                                     vigil_session_info_t **rows, size_t *n, char *errstr,
                                     size_t errstr_size)
{
    if (rows) *rows = NULL;
    if (n) *n = 0;
    ACC_BEGIN(store, errstr, errstr_size);
    if (!rows || !n || user_id < 0) return acc_invalid(errstr, errstr_size, "bad list");
    ACC_RETURN(store, VIGIL__OP_SESSIONS, session_list, user_id, now_us, rows, n, errstr,
               errstr_size);
}

vigil_err_t vigil_store_session_delete(vigil_store_t *store, int64_t id, int64_t user_id,
                                       const char *sid_hash, char *errstr, size_t errstr_size)
{
    ACC_BEGIN(store, errstr, errstr_size);
    if (sid_hash ? !acc_hash_ok(sid_hash) : (id <= 0 || user_id < 0))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND, "no such session");
    ACC_RETURN(store, VIGIL__OP_SESSIONS, session_delete, id, user_id, sid_hash, errstr,
               errstr_size);
}

/* ---- tokens ------------------------------------------------------------ */

vigil_err_t vigil_store_token_insert(vigil_store_t *store, const vigil_token_info_t *info,
                                     const char *token_hash, int64_t *id, char *errstr,
                                     size_t errstr_size)
{
    ACC_BEGIN(store, errstr, errstr_size);
    if (!info || info->user_id <= 0) return acc_invalid(errstr, errstr_size, "no token");
    if (!acc_hash_ok(token_hash)) return acc_invalid(errstr, errstr_size, "bad token hash");
    if (!ACC_TERMINATED(info->name) || !ACC_TERMINATED(info->prefix))
        return acc_invalid(errstr, errstr_size, "token field not terminated");
    if (info->expires_us != 0 && info->expires_us <= info->created_us)
        return acc_invalid(errstr, errstr_size, "token expires before it starts");
    ACC_RETURN(store, VIGIL__OP_TOKENS, token_insert, info, token_hash, id, errstr, errstr_size);
}

vigil_err_t vigil_store_token_get(vigil_store_t *store, const char *token_hash,
                                  vigil_store_token_t *row, char *errstr, size_t errstr_size)
{
    ACC_BEGIN(store, errstr, errstr_size);
    if (!row) return acc_invalid(errstr, errstr_size, "no token row to fill");
    if (!acc_hash_ok(token_hash))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND, "no such token");
    ACC_RETURN(store, VIGIL__OP_TOKENS, token_get, token_hash, row, errstr, errstr_size);
}

vigil_err_t vigil_store_token_touch(vigil_store_t *store, int64_t id, int64_t now_us,
                                    char *errstr, size_t errstr_size)
{
    ACC_BEGIN(store, errstr, errstr_size);
    if (id <= 0) return acc_invalid(errstr, errstr_size, "bad token id");
    ACC_RETURN(store, VIGIL__OP_TOKENS, token_touch, id, now_us, errstr, errstr_size);
}

vigil_err_t vigil_store_token_list(vigil_store_t *store, int64_t user_id,
                                   vigil_token_info_t **rows, size_t *n, char *errstr,
                                   size_t errstr_size)
{
    if (rows) *rows = NULL;
    if (n) *n = 0;
    ACC_BEGIN(store, errstr, errstr_size);
    if (!rows || !n || user_id < 0) return acc_invalid(errstr, errstr_size, "bad list");
    ACC_RETURN(store, VIGIL__OP_TOKENS, token_list, user_id, rows, n, errstr, errstr_size);
}

vigil_err_t vigil_store_token_delete(vigil_store_t *store, int64_t id, int64_t user_id,
                                     char *errstr, size_t errstr_size)
{
    ACC_BEGIN(store, errstr, errstr_size);
    if (id <= 0 || user_id < 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND, "no such token");
    ACC_RETURN(store, VIGIL__OP_TOKENS, token_delete, id, user_id, errstr, errstr_size);
}

/* ---- passkeys ---------------------------------------------------------- */

vigil_err_t vigil_store_passkey_insert(vigil_store_t *store, const vigil_passkey_t *pk,
                                       int64_t *id, char *errstr, size_t errstr_size)
{
    ACC_BEGIN(store, errstr, errstr_size);
    if (!pk || pk->user_id <= 0) return acc_invalid(errstr, errstr_size, "no passkey");
    if (!ACC_TERMINATED(pk->name))
        return acc_invalid(errstr, errstr_size, "passkey name not terminated");
    if (pk->cred_id_len < 1 || pk->cred_id_len > sizeof(pk->cred_id))
        return acc_invalid(errstr, errstr_size, "passkey credential id of a bad length");
    if (!pk->cose_key || pk->cose_key_len < 1 || pk->cose_key_len > VIGIL_PASSKEY_COSE_MAX)
        return acc_invalid(errstr, errstr_size, "passkey public key of a bad length");
    ACC_RETURN(store, VIGIL__OP_PASSKEYS, passkey_insert, pk, id, errstr, errstr_size);
}

vigil_err_t vigil_store_passkey_get(vigil_store_t *store, const uint8_t *cred_id, size_t len,
                                    vigil_passkey_t *pk, char *errstr, size_t errstr_size)
{
    if (pk) memset(pk, 0, sizeof(*pk));
    ACC_BEGIN(store, errstr, errstr_size);
    if (!pk) return acc_invalid(errstr, errstr_size, "no passkey to fill");
    if (!cred_id || len < 1 || len > sizeof(pk->cred_id))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND, "no such passkey");
    ACC_RETURN(store, VIGIL__OP_PASSKEYS, passkey_get, cred_id, len, pk, errstr, errstr_size);
}

vigil_err_t vigil_store_passkey_list(vigil_store_t *store, int64_t user_id, vigil_passkey_t **rows,
                                     size_t *n, char *errstr, size_t errstr_size)
{
    if (rows) *rows = NULL;
    if (n) *n = 0;
    ACC_BEGIN(store, errstr, errstr_size);
    if (!rows || !n || user_id <= 0) return acc_invalid(errstr, errstr_size, "bad list");
    ACC_RETURN(store, VIGIL__OP_PASSKEYS, passkey_list, user_id, rows, n, errstr, errstr_size);
}

vigil_err_t vigil_store_passkey_update_count(vigil_store_t *store, int64_t id,
                                             uint32_t sign_count, int64_t now_us, char *errstr,
                                             size_t errstr_size)
{
    ACC_BEGIN(store, errstr, errstr_size);
    if (id <= 0) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND, "no such passkey");
    ACC_RETURN(store, VIGIL__OP_PASSKEYS, passkey_update_count, id, sign_count, now_us, errstr,
               errstr_size);
}

vigil_err_t vigil_store_passkey_delete(vigil_store_t *store, int64_t id, int64_t user_id,
                                       char *errstr, size_t errstr_size)
{
    ACC_BEGIN(store, errstr, errstr_size);
    if (id <= 0 || user_id < 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND, "no such passkey");
    ACC_RETURN(store, VIGIL__OP_PASSKEYS, passkey_delete, id, user_id, errstr, errstr_size);
}

/* What allocated these is the store (sqlite_accounts.c), so their free
 * functions live here, in the same library (declared in vigil/auth.h). */
void vigil_passkey_free_fields(vigil_passkey_t *pk)
{
    if (!pk) return;
    free(pk->cose_key);
    pk->cose_key = NULL;
    pk->cose_key_len = 0;
}

void vigil_passkey_list_free(vigil_passkey_t *pks, size_t n)
{
    if (!pks) return;
    for (size_t i = 0; i < n; i++) vigil_passkey_free_fields(&pks[i]);
    free(pks);
}

/* ---- challenges -------------------------------------------------------- */

/* Whether purpose is [a-z_]{1,31}. */
static int acc_purpose_ok(const char *purpose)
{
    if (!acc_str_ok(purpose, 31, 0)) return 0;
    for (const char *p = purpose; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || *p == '_')) return 0;
    return 1;
}

vigil_err_t vigil_store_challenge_insert(vigil_store_t *store, const char *purpose,
                                         const char *challenge_hash, int64_t user_id,
                                         int64_t now_us, int64_t expires_us, char *errstr,
                                         size_t errstr_size)
{
    ACC_BEGIN(store, errstr, errstr_size);
    if (!acc_purpose_ok(purpose)) return acc_invalid(errstr, errstr_size, "bad challenge purpose");
    if (!acc_hash_ok(challenge_hash))
        return acc_invalid(errstr, errstr_size, "bad challenge hash");
    if (user_id < 0 || expires_us <= now_us)
        return acc_invalid(errstr, errstr_size, "bad challenge user or expiry");
    ACC_RETURN(store, VIGIL__OP_CHALLENGES, challenge_insert, purpose, challenge_hash, user_id,
               now_us, expires_us, errstr, errstr_size);
}

vigil_err_t vigil_store_challenge_take(vigil_store_t *store, const char *purpose,
                                       const char *challenge_hash, int64_t now_us,
                                       int64_t *user_id, char *errstr, size_t errstr_size)
{
    int64_t uid = 0;
    if (user_id) *user_id = 0;
    ACC_BEGIN(store, errstr, errstr_size);
    if (!acc_purpose_ok(purpose) || !acc_hash_ok(challenge_hash))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND,
                            "challenge unknown, used or expired");
    int64_t t0 = vigil_mono_us();
    vigil_err_t err = ACC_OPS(store)->challenge_take(store, purpose, challenge_hash, now_us,
                                                     &uid, errstr, errstr_size);
    if (err == VIGIL_OK && user_id) *user_id = uid;
    return vigil__store_done(store, VIGIL__OP_CHALLENGES, t0, err);
}

/* ---- audit log --------------------------------------------------------- */

vigil_err_t vigil_store_audit_insert(vigil_store_t *store, const vigil_audit_row_t *row,
                                     char *errstr, size_t errstr_size)
{
    ACC_BEGIN(store, errstr, errstr_size);
    if (!row || !ACC_TERMINATED(row->user) || !ACC_TERMINATED(row->client_ip) ||
        !ACC_TERMINATED(row->action) || !ACC_TERMINATED(row->target) || !row->action[0])
        return acc_invalid(errstr, errstr_size, "bad audit row");
    if (row->detail && strnlen(row->detail, VIGIL_AUDIT_DETAIL_MAX + 1) > VIGIL_AUDIT_DETAIL_MAX)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_TOO_LARGE,
                            "audit detail over %d bytes", VIGIL_AUDIT_DETAIL_MAX);
    ACC_RETURN(store, VIGIL__OP_AUDIT, audit_insert, row, errstr, errstr_size);
}

vigil_err_t vigil_store_audit_list(vigil_store_t *store, int64_t before_id, int limit,
                                   vigil_audit_row_t **rows, size_t *n, char *errstr,
                                   size_t errstr_size)
{
    if (rows) *rows = NULL;
    if (n) *n = 0;
    ACC_BEGIN(store, errstr, errstr_size);
    if (!rows || !n) return acc_invalid(errstr, errstr_size, "no list to fill");
    if (limit < 1 || limit > VIGIL__STORE_AUDIT_LIMIT_MAX || before_id < 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "audit list: limit %d or cursor out of range (limit 1..%d)", limit,
                            VIGIL__STORE_AUDIT_LIMIT_MAX);
    ACC_RETURN(store, VIGIL__OP_AUDIT, audit_list, before_id, limit, rows, n, errstr, errstr_size);
}

void vigil_audit_rows_free(vigil_audit_row_t *rows, size_t n)
{
    if (!rows) return;
    for (size_t i = 0; i < n; i++) free(rows[i].detail);
    free(rows);
}

/* ---- sweep ------------------------------------------------------------- */

vigil_err_t vigil__store_accounts_sweep(vigil_store_t *store, int64_t now_us,
                                        vigil_sweep_result_t *res)
{
    if (!ACC_OPS(store)) return VIGIL_OK;
    const size_t batch = VIGIL__STORE_SWEEP_BATCH;
    for (int challenges = 0; challenges <= 1; challenges++) {
        for (;;) {
            int64_t deleted = 0;
            vigil_err_t err =
                ACC_OPS(store)->sweep_expired(store, challenges, now_us, batch, &deleted);
            if (err != VIGIL_OK) return err;
            if (challenges)
                res->challenges_deleted += deleted;
            else
                res->sessions_deleted += deleted;
            if (deleted < (int64_t)batch) break;
        }
    }
    return VIGIL_OK;
}

/* ---- the accounts' errors (store_accounts_int.h) ------------------------ */

vigil_err_t vigil__store_user_exists(const char *name, char *errstr, size_t errstr_size)
{
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_EXISTS, "user \"%s\" already exists",
                        name);
}

vigil_err_t vigil__store_no_user(const char *name, int64_t id, char *errstr, size_t errstr_size)
{
    if (name) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND, "no user \"%s\"", name);
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND, "no user with id %" PRId64, id);
}

vigil_err_t vigil__store_last_admin(const char *name, char *errstr, size_t errstr_size)
{
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                        "user \"%s\" is the last admin: make another user admin first", name);
}

vigil_err_t vigil__store_no_such(const char *what, int64_t id, char *errstr, size_t errstr_size)
{
    if (!id) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND, "no such %s", what);
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND, "no %s with id %" PRId64, what,
                        id);
}

vigil_err_t vigil__store_passkey_exists(char *errstr, size_t errstr_size)
{
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_EXISTS,
                        "this passkey's credential id is registered already");
}

vigil_err_t vigil__store_sign_count_stale(int64_t id, uint32_t sign_count, int64_t stored,
                                          char *errstr, size_t errstr_size)
{
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                        "passkey %" PRId64 ": sign count %" PRIu32 " does not grow (stored %" PRId64
                        "): a cloned authenticator or a replayed assertion",
                        id, sign_count, stored);
}

vigil_err_t vigil__store_challenge_missing(const char *purpose, char *errstr,
                                           size_t errstr_size)
{
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND,
                        "%s challenge unknown, used or expired", purpose);
}
