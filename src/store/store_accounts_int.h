/* The accounts half of the backend interface (store.h, section "accounts"):
 * what a backend implements so that vigil/auth.h can keep users, sessions,
 * tokens, passkeys, challenges and the audit log in it.
 *
 * store_accounts.c checks every argument (terminated strings, lengths,
 * limits, ids) and counts the operation; a backend (sqlite_accounts.c, later
 * postgres) only runs its statements. Each write that touches several rows
 * (a user's deletion with its sessions, a new password with the revocation
 * of its sessions, an insert with the cleanup of expired rows) is one
 * transaction; single-use and counting operations (challenge take, login
 * result, sign count) are one statement each, so that replicas racing on
 * the same row see one winner.
 *
 * Every function fills errstr (may be NULL) on failure. */
#ifndef VIGIL_STORE_ACCOUNTS_INT_H
#define VIGIL_STORE_ACCOUNTS_INT_H

#include "store/store_int.h"

/* Expired sessions or challenges deleted by one insert, at most. */
#define VIGIL__STORE_EXPIRED_PER_INSERT 100
/* Lists: at most this many rows (users, sessions, tokens, passkeys). */
#define VIGIL__STORE_ACCOUNT_ROWS_MAX 100000
#define VIGIL__STORE_AUDIT_LIMIT_MAX 1000

/* ---- rows, shaped alike on every backend (store_accounts_rows.c) --------
 *
 * A backend hands one row of its result to these through its column
 * readers, so that which column is which field, and what a bad blob is, is
 * written once. Columns in the order of the backends' SELECTs:
 *   user     id, name, role, created_us, locked_until_us, failed_logins
 *   session  id, user_id, user, created_us, last_seen_us, expires_us,
 *            client_ip, user_agent, role, csrf
 *   token    id, user_id, user, name, write_scope, created_us, expires_us,
 *            last_used_us, prefix, role
 *   passkey  id, user_id, name, cred_id, cose_key, sign_count, created_us,
 *            last_used_us
 *   audit    id, time_us, user, client_ip, action, target, detail */
typedef struct vigil__cols vigil__cols_t;
typedef struct vigil__cols_ops {
    int64_t (*i64)(const vigil__cols_t *c, int col); /* NULL reads 0 */
    int (*flag)(const vigil__cols_t *c, int col);    /* 0/1 (integer or boolean) */
    /* Copies a text column into out (truncated, terminated; NULL reads ""). */
    void (*text)(const vigil__cols_t *c, int col, char *out, size_t size);
    /* A malloc'd copy of a text column into *out (NULL for SQL NULL); -1
     * when out of memory. */
    int (*strdup)(const vigil__cols_t *c, int col, char **out);
    /* A malloc'd copy of a blob column into *out, *len its bytes (NULL and 0
     * for NULL or empty); -1 when it cannot be read or memory runs out. */
    int (*blob)(const vigil__cols_t *c, int col, uint8_t **out, size_t *len);
} vigil__cols_ops_t;
struct vigil__cols {
    const vigil__cols_ops_t *ops;
    const void *res; /* the backend's statement or result */
    int row;
};

void vigil__store_user_from_cols(const vigil__cols_t *c, vigil_user_t *u);
void vigil__store_session_from_cols(const vigil__cols_t *c, vigil_store_session_t *s);
void vigil__store_token_from_cols(const vigil__cols_t *c, vigil_store_token_t *t);
/* -1 when the blobs are missing, too large, or memory runs out (cose_key
 * then NULL). */
int vigil__store_passkey_from_cols(const vigil__cols_t *c, vigil_passkey_t *pk);
/* -1 when the detail cannot be copied. */
int vigil__store_audit_from_cols(const vigil__cols_t *c, vigil_audit_row_t *a);

/* ---- the accounts' errors, in the same words on every backend ----------
 * (store_accounts.c). Each fills errstr and returns its code. */

/* VIGIL_ERR_EXISTS: user name is taken. */
vigil_err_t vigil__store_user_exists(const char *name, char *errstr, size_t errstr_size);
/* VIGIL_ERR_NOT_FOUND: no user name (NULL: none with id). */
vigil_err_t vigil__store_no_user(const char *name, int64_t id, char *errstr, size_t errstr_size);
/* VIGIL_ERR_INVALID: user name is the last admin (a role change or a
 * deletion would leave none). */
vigil_err_t vigil__store_last_admin(const char *name, char *errstr, size_t errstr_size);
/* VIGIL_ERR_NOT_FOUND: no what ("session", "token", "passkey") with id, or
 * (id 0) none that was asked for. */
vigil_err_t vigil__store_no_such(const char *what, int64_t id, char *errstr, size_t errstr_size);
/* VIGIL_ERR_EXISTS: a passkey's credential id is registered already. */
vigil_err_t vigil__store_passkey_exists(char *errstr, size_t errstr_size);
/* VIGIL_ERR_INVALID: passkey id's sign count does not grow past stored. */
vigil_err_t vigil__store_sign_count_stale(int64_t id, uint32_t sign_count, int64_t stored,
                                          char *errstr, size_t errstr_size);
/* VIGIL_ERR_NOT_FOUND: a purpose challenge that is unknown, used or expired. */
vigil_err_t vigil__store_challenge_missing(const char *purpose, char *errstr,
                                           size_t errstr_size);

typedef struct vigil__store_accounts_ops {
    vigil_err_t (*user_insert)(vigil_store_t *store, const char *name, vigil_role_t role,
                               const char *hash, int64_t now_us, int64_t *id, char *errstr,
                               size_t errstr_size);
    vigil_err_t (*user_get)(vigil_store_t *store, const char *name, int64_t id,
                            vigil_user_t *user, char *hash, size_t hash_size, char *errstr,
                            size_t errstr_size);
    vigil_err_t (*user_list)(vigil_store_t *store, vigil_user_t **users, size_t *n,
                             char *errstr, size_t errstr_size);
    vigil_err_t (*user_count)(vigil_store_t *store, int64_t *n, char *errstr, size_t errstr_size);
    vigil_err_t (*user_update)(vigil_store_t *store, const char *name, vigil_role_t role,
                               const char *hash, char *errstr, size_t errstr_size);
    vigil_err_t (*user_delete)(vigil_store_t *store, const char *name, char *errstr,
                               size_t errstr_size);
    vigil_err_t (*user_login_result)(vigil_store_t *store, int64_t id, int ok, int64_t now_us,
                                     const vigil_store_lockout_t *policy, vigil_user_t *user,
                                     char *errstr, size_t errstr_size);

    vigil_err_t (*session_insert)(vigil_store_t *store, const vigil_store_session_t *row,
                                  const char *sid_hash, int64_t *id, char *errstr,
                                  size_t errstr_size);
    vigil_err_t (*session_get)(vigil_store_t *store, const char *sid_hash,
                               vigil_store_session_t *row, char *errstr, size_t errstr_size);
    vigil_err_t (*session_touch)(vigil_store_t *store, int64_t id, int64_t now_us, char *errstr,
                                 size_t errstr_size);
    vigil_err_t (*session_list)(vigil_store_t *store, int64_t user_id, int64_t now_us,
                                vigil_session_info_t **rows, size_t *n, char *errstr,
                                size_t errstr_size);
    vigil_err_t (*session_delete)(vigil_store_t *store, int64_t id, int64_t user_id,
                                  const char *sid_hash, char *errstr, size_t errstr_size);

    vigil_err_t (*token_insert)(vigil_store_t *store, const vigil_token_info_t *info,
                                const char *token_hash, int64_t *id, char *errstr,
                                size_t errstr_size);
    vigil_err_t (*token_get)(vigil_store_t *store, const char *token_hash,
                             vigil_store_token_t *row, char *errstr, size_t errstr_size);
    vigil_err_t (*token_touch)(vigil_store_t *store, int64_t id, int64_t now_us, char *errstr,
                               size_t errstr_size);
    vigil_err_t (*token_list)(vigil_store_t *store, int64_t user_id, vigil_token_info_t **rows,
                              size_t *n, char *errstr, size_t errstr_size);
    vigil_err_t (*token_delete)(vigil_store_t *store, int64_t id, int64_t user_id, char *errstr,
                                size_t errstr_size);

    vigil_err_t (*passkey_insert)(vigil_store_t *store, const vigil_passkey_t *pk, int64_t *id,
                                  char *errstr, size_t errstr_size);
    vigil_err_t (*passkey_get)(vigil_store_t *store, const uint8_t *cred_id, size_t len,
                               vigil_passkey_t *pk, char *errstr, size_t errstr_size);
    vigil_err_t (*passkey_list)(vigil_store_t *store, int64_t user_id, vigil_passkey_t **rows,
                                size_t *n, char *errstr, size_t errstr_size);
    vigil_err_t (*passkey_update_count)(vigil_store_t *store, int64_t id, uint32_t sign_count,
                                        int64_t now_us, char *errstr, size_t errstr_size);
    vigil_err_t (*passkey_delete)(vigil_store_t *store, int64_t id, int64_t user_id,
                                  char *errstr, size_t errstr_size);

    vigil_err_t (*challenge_insert)(vigil_store_t *store, const char *purpose, const char *hash,
                                    int64_t user_id, int64_t now_us, int64_t expires_us,
                                    char *errstr, size_t errstr_size);
    vigil_err_t (*challenge_take)(vigil_store_t *store, const char *purpose, const char *hash,
                                  int64_t now_us, int64_t *user_id, char *errstr,
                                  size_t errstr_size);

    vigil_err_t (*audit_insert)(vigil_store_t *store, const vigil_audit_row_t *row,
                                char *errstr, size_t errstr_size);
    vigil_err_t (*audit_list)(vigil_store_t *store, int64_t before_id, int limit,
                              vigil_audit_row_t **rows, size_t *n, char *errstr,
                              size_t errstr_size);

    /* Deletes, in one transaction, up to `limit` sessions (expires_us <=
     * now_us) or challenges (likewise); *deleted gets how many. */
    vigil_err_t (*sweep_expired)(vigil_store_t *store, int challenges, int64_t now_us,
                                 size_t limit, int64_t *deleted);
} vigil__store_accounts_ops_t;

#endif
