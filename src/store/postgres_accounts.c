/* The PostgreSQL backend of the accounts tables (store.h, section
 * "accounts"; the same tables and columns as sqlite_accounts.c): users,
 * sessions, api_tokens, passkeys, challenges, audit_log.
 *
 * The main idea, as in SQLite: what must not race between API replicas is
 * one statement (a login failure counted and the lock set by one UPDATE,
 * which PostgreSQL re-evaluates on the newest row when two race; a
 * challenge taken by one DELETE ... RETURNING; a sign count that must grow,
 * by a guarded UPDATE), and what touches several rows is one transaction.
 * The last-admin check and the change it guards hold the advisory lock
 * "vigil.users" so that two replicas cannot each demote one of the last two
 * admins (BEGIN IMMEDIATE does that in SQLite). Unique and foreign-key
 * violations (SQLSTATE 23505, 23503) become VIGIL_ERR_EXISTS and
 * VIGIL_ERR_NOT_FOUND. Ids come back through RETURNING.
 *
 * Thread: a handle is used by one thread at a time (store.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres_exec.h"
#include "store/postgres_int.h"
#include "store/store_accounts_int.h"

#define PGU_USER_COLS "id, name, role, created_us, locked_until_us, failed_logins"
#define PGU_SESSION_COLS                                                                         \
    "s.id, s.user_id, u.name, s.created_us, s.last_seen_us, s.expires_us, s.client_ip, "        \
    "s.user_agent, u.role, s.csrf"
#define PGU_TOKEN_COLS                                                                           \
    "t.id, t.user_id, u.name, t.name, t.write_scope, t.created_us, t.expires_us, "              \
    "t.last_used_us, t.prefix, u.role"
#define PGU_PASSKEY_COLS                                                                         \
    "id, user_id, name, cred_id, cose_key, sign_count, created_us, last_used_us"

/* The lock of the last-admin checks. */
#define PGU_USERS_LOCK "vigil.users"
#define PGU_SLOT(which) (VIGIL__PG_SLOTS_ACCOUNTS + (int)(which))

typedef enum {
    PGU_USER_INSERT,
    PGU_USER_GET_NAME,
    PGU_USER_GET_ID,
    PGU_USER_LIST,
    PGU_USER_COUNT,
    PGU_USER_ADMINS,
    PGU_USER_SET_ROLE,
    PGU_USER_SET_HASH,
    PGU_SESSIONS_DELETE_USER,
    PGU_TOKENS_DELETE_USER,
    PGU_PASSKEYS_DELETE_USER,
    PGU_CHALLENGES_DELETE_USER,
    PGU_USER_DELETE,
    PGU_USER_LOGIN_OK,
    PGU_USER_LOGIN_FAILED,
    PGU_CHALLENGE_EXPIRE,
    PGU_SESSION_EXPIRE,
    PGU_SESSION_INSERT,
    PGU_SESSION_GET,
    PGU_SESSION_TOUCH,
    PGU_SESSION_LIST_USER,
    PGU_SESSION_LIST_ALL,
    PGU_SESSION_DELETE_HASH,
    PGU_TOKEN_INSERT,
    PGU_TOKEN_GET,
    PGU_TOKEN_TOUCH,
    PGU_TOKEN_LIST_USER,
    PGU_TOKEN_LIST_ALL,
    PGU_PASSKEY_INSERT,
    PGU_PASSKEY_GET,
    PGU_PASSKEY_LIST,
    PGU_PASSKEY_UPDATE_COUNT,
    PGU_PASSKEY_COUNT_OF,
    PGU_CHALLENGE_INSERT,
    PGU_CHALLENGE_TAKE,
    PGU_AUDIT_INSERT,
    PGU_AUDIT_LIST,
    PGU_SESSION_DELETE,
    PGU_TOKEN_DELETE,
    PGU_PASSKEY_DELETE,
    PGU_COUNT_
} pgu_stmt_t;

_Static_assert(VIGIL__PG_SLOTS_ACCOUNTS + PGU_COUNT_ <= VIGIL__PG_SLOTS_RESOURCES,
               "postgres_int.h: the accounts' prepared slots overflow");

static const char *const pgu_sql[PGU_COUNT_] = {
    [PGU_USER_INSERT] = "INSERT INTO users (name, role, password_hash, created_us) "
                        "VALUES ($1, $2, $3, $4) RETURNING id",
    [PGU_USER_GET_NAME] = "SELECT " PGU_USER_COLS ", password_hash FROM users WHERE name = $1",
    [PGU_USER_GET_ID] = "SELECT " PGU_USER_COLS ", password_hash FROM users WHERE id = $1",
    /* byte order, as SQLite's, whatever the database's collation */
    [PGU_USER_LIST] = "SELECT " PGU_USER_COLS " FROM users ORDER BY name COLLATE \"C\" LIMIT $1",
    [PGU_USER_COUNT] = "SELECT count(*) FROM users",
    [PGU_USER_ADMINS] = "SELECT count(*) FROM users WHERE role = 3",
    [PGU_USER_SET_ROLE] = "UPDATE users SET role = $2 WHERE id = $1",
    [PGU_USER_SET_HASH] = "UPDATE users SET password_hash = $2, failed_logins = 0, "
                          "lock_count = 0, locked_until_us = 0 WHERE id = $1",
    [PGU_SESSIONS_DELETE_USER] = "DELETE FROM sessions WHERE user_id = $1",
    [PGU_TOKENS_DELETE_USER] = "DELETE FROM api_tokens WHERE user_id = $1",
    [PGU_PASSKEYS_DELETE_USER] = "DELETE FROM passkeys WHERE user_id = $1",
    [PGU_CHALLENGES_DELETE_USER] = "DELETE FROM challenges WHERE user_id = $1",
    [PGU_USER_DELETE] = "DELETE FROM users WHERE id = $1",
    /* writes only when there is something to clear: a login is a read */
    [PGU_USER_LOGIN_OK] = "UPDATE users SET failed_logins = 0, lock_count = 0, "
                          "locked_until_us = 0 WHERE id = $1 AND (failed_logins <> 0 OR "
                          "lock_count <> 0 OR locked_until_us <> 0)",
    /* $2 now, $3 max failures, $4 first lock, $5 longest lock. The right-hand
     * sides see the row before the update: the max_failures-th failure in a
     * row sets the lock (doubled per earlier lock) and starts the count
     * again. A locked row is left alone. Two replicas racing: the second
     * waits for the first's row lock, then evaluates against its result. */
    [PGU_USER_LOGIN_FAILED] =
        "UPDATE users SET "
        "failed_logins = CASE WHEN failed_logins + 1 >= $3::int THEN 0 "
        "  ELSE failed_logins + 1 END, "
        "lock_count = CASE WHEN failed_logins + 1 >= $3::int THEN lock_count + 1 "
        "  ELSE lock_count END, "
        "locked_until_us = CASE WHEN failed_logins + 1 >= $3::int "
        "  THEN $2::bigint + least($4::bigint << least(lock_count, 20)::int, $5::bigint) "
        "  ELSE locked_until_us END "
        "WHERE id = $1 AND locked_until_us <= $2::bigint",
    [PGU_CHALLENGE_EXPIRE] = "DELETE FROM challenges WHERE id IN (SELECT id FROM challenges "
                             "WHERE expires_us <= $1 LIMIT $2)",
    [PGU_SESSION_EXPIRE] = "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE "
                           "expires_us <= $1 LIMIT $2)",
    [PGU_SESSION_INSERT] =
        "INSERT INTO sessions (user_id, sid_hash, csrf, created_us, last_seen_us, expires_us, "
        "client_ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    [PGU_SESSION_GET] = "SELECT " PGU_SESSION_COLS " FROM sessions s JOIN users u ON "
                        "u.id = s.user_id WHERE s.sid_hash = $1",
    [PGU_SESSION_TOUCH] = "UPDATE sessions SET last_seen_us = $2 WHERE id = $1 AND "
                          "last_seen_us < $2",
    [PGU_SESSION_LIST_USER] = "SELECT " PGU_SESSION_COLS " FROM sessions s JOIN users u ON "
                              "u.id = s.user_id WHERE s.user_id = $3 AND s.expires_us > $1 "
                              "ORDER BY s.id DESC LIMIT $2",
    [PGU_SESSION_LIST_ALL] = "SELECT " PGU_SESSION_COLS " FROM sessions s JOIN users u ON "
                             "u.id = s.user_id WHERE s.expires_us > $1 ORDER BY s.id DESC "
                             "LIMIT $2",
    [PGU_SESSION_DELETE_HASH] = "DELETE FROM sessions WHERE sid_hash = $1",
    [PGU_TOKEN_INSERT] =
        "INSERT INTO api_tokens (user_id, token_hash, prefix, name, write_scope, created_us, "
        "expires_us) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    [PGU_TOKEN_GET] = "SELECT " PGU_TOKEN_COLS " FROM api_tokens t JOIN users u ON "
                      "u.id = t.user_id WHERE t.token_hash = $1",
    [PGU_TOKEN_TOUCH] = "UPDATE api_tokens SET last_used_us = $2 WHERE id = $1 AND "
                        "last_used_us < $2",
    [PGU_TOKEN_LIST_USER] = "SELECT " PGU_TOKEN_COLS " FROM api_tokens t JOIN users u ON "
                            "u.id = t.user_id WHERE t.user_id = $2 ORDER BY t.id LIMIT $1",
    [PGU_TOKEN_LIST_ALL] = "SELECT " PGU_TOKEN_COLS " FROM api_tokens t JOIN users u ON "
                           "u.id = t.user_id ORDER BY t.id LIMIT $1",
    [PGU_PASSKEY_INSERT] = "INSERT INTO passkeys (user_id, name, cred_id, cose_key, sign_count, "
                           "created_us) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    [PGU_PASSKEY_GET] = "SELECT " PGU_PASSKEY_COLS " FROM passkeys WHERE cred_id = $1",
    [PGU_PASSKEY_LIST] = "SELECT " PGU_PASSKEY_COLS " FROM passkeys WHERE user_id = $1 "
                         "ORDER BY id LIMIT $2",
    /* the count must grow; 0 after 0 (an authenticator without a counter) */
    [PGU_PASSKEY_UPDATE_COUNT] = "UPDATE passkeys SET sign_count = $2, last_used_us = $3 "
                                 "WHERE id = $1 AND ($2 > sign_count OR ($2 = 0 AND "
                                 "sign_count = 0))",
    [PGU_PASSKEY_COUNT_OF] = "SELECT sign_count FROM passkeys WHERE id = $1",
    [PGU_CHALLENGE_INSERT] = "INSERT INTO challenges (purpose, challenge_hash, user_id, "
                             "created_us, expires_us) VALUES ($1, $2, $3, $4, $5)",
    /* one statement: of two replicas taking the same challenge one gets the row */
    [PGU_CHALLENGE_TAKE] = "DELETE FROM challenges WHERE purpose = $1 AND challenge_hash = $2 "
                           "RETURNING coalesce(user_id, 0), expires_us",
    [PGU_AUDIT_INSERT] = "INSERT INTO audit_log (time_us, user_name, client_ip, action, target, "
                         "detail) VALUES ($1, $2, $3, $4, $5, $6)",
    [PGU_AUDIT_LIST] = "SELECT id, time_us, user_name, client_ip, action, target, detail FROM "
                       "audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2",
    [PGU_SESSION_DELETE] = "DELETE FROM sessions WHERE id = $1 AND "
                           "($2::bigint = 0 OR user_id = $2::bigint)",
    [PGU_TOKEN_DELETE] = "DELETE FROM api_tokens WHERE id = $1 AND "
                         "($2::bigint = 0 OR user_id = $2::bigint)",
    [PGU_PASSKEY_DELETE] = "DELETE FROM passkeys WHERE id = $1 AND "
                           "($2::bigint = 0 OR user_id = $2::bigint)",
};

/* Runs sql expecting at most one row: VIGIL_OK with *r (PQclear it),
 * VIGIL_ERR_NOT_FOUND (nothing to clear) or the error. */
static vigil_err_t pgu_one(vigil_store_t *store, pgu_stmt_t which, const vigil__pgx_params_t *p,
                           const char *what, PGresult **r, char *errstr, size_t errstr_size)
{
    vigil_err_t err = VIGIL_OK;
    *r = vigil__pgx_exec(store, PGU_SLOT(which), pgu_sql[which], p, what, &err, errstr,
                         errstr_size);
    if (!*r) return err;
    if (PQntuples(*r) > 0) return VIGIL_OK;
    PQclear(*r);
    *r = NULL;
    return VIGIL_ERR_NOT_FOUND;
}

/* Runs a statement whose rows are not wanted; *changes (may be NULL). */
static vigil_err_t pgu_run(vigil_store_t *store, pgu_stmt_t which, const vigil__pgx_params_t *p,
                           const char *what, int64_t *changes, char *errstr, size_t errstr_size)
{
    return vigil__pgx_run(store, PGU_SLOT(which), pgu_sql[which], p, what, changes, errstr,
                          errstr_size);
}

/* Runs a list statement into *out (vigil__pgx_collect). */
static vigil_err_t pgu_list(vigil_store_t *store, pgu_stmt_t which, const vigil__pgx_params_t *p,
                            const char *what, const vigil__pgx_rows_t *how, size_t max, void **out,
                            size_t *n, char *errstr, size_t errstr_size)
{
    return vigil__pgx_list(store, PGU_SLOT(which), pgu_sql[which], p, what, how, max, out, n, NULL,
                           errstr, errstr_size);
}

/* Runs an INSERT ... RETURNING id; *id (may be NULL). */
static vigil_err_t pgu_insert(vigil_store_t *store, pgu_stmt_t which, const vigil__pgx_params_t *p,
                              const char *what, int64_t *id, char *errstr, size_t errstr_size)
{
    vigil_err_t err = VIGIL_OK;
    PGresult *r = vigil__pgx_exec(store, PGU_SLOT(which), pgu_sql[which], p, what, &err, errstr,
                                  errstr_size);
    if (!r) return err;
    if (id) *id = PQntuples(r) > 0 ? vigil__pg_int64(r, 0, 0) : 0;
    PQclear(r);
    return VIGIL_OK;
}

/* ---- users ------------------------------------------------------------- */

/* Column readers of a result row (store_accounts_int.h). */
static int64_t pgu_col_i64(const vigil__cols_t *c, int col)
{
    return vigil__pg_int64(c->res, c->row, col);
}

static int pgu_col_flag(const vigil__cols_t *c, int col)
{
    return vigil__pgx_flag(c->res, c->row, col);
}

static void pgu_col_text(const vigil__cols_t *c, int col, char *out, size_t size)
{
    vigil__pg_text(c->res, c->row, col, out, size);
}

static int pgu_col_strdup(const vigil__cols_t *c, int col, char **out)
{
    int oom = 0;
    *out = vigil__pg_strdup(c->res, c->row, col, &oom);
    return oom ? -1 : 0;
}

static int pgu_col_blob(const vigil__cols_t *c, int col, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    return vigil__pg_bytea(c->res, c->row, col, out, len) != 0 ? -1 : 0;
}

static const vigil__cols_ops_t pgu_cols_ops = {pgu_col_i64, pgu_col_flag, pgu_col_text,
                                               pgu_col_strdup, pgu_col_blob};
#define PGU_COLS(r, i) ((vigil__cols_t){&pgu_cols_ops, (r), (i)})

static int pgu_user_row(const PGresult *r, int i, void *elem)
{
    vigil__store_user_from_cols(&PGU_COLS(r, i), elem);
    return 0;
}
static vigil_err_t pgu_user_insert(vigil_store_t *store, const char *name, vigil_role_t role,
                                   const char *hash, int64_t now_us, int64_t *id, char *errstr,
                                   size_t errstr_size)
{
    vigil__pgx_params_t p = {0};
    vigil__pgx_text(&p, name);
    vigil__pgx_int(&p, (int64_t)role);
    vigil__pgx_text(&p, hash ? hash : "");
    vigil__pgx_int(&p, now_us);
    vigil_err_t err = pgu_insert(store, PGU_USER_INSERT, &p, "add user", id, errstr, errstr_size);
    if (err == VIGIL_ERR_EXISTS)
        return vigil__store_user_exists(name, errstr, errstr_size);
    return err;
}

static vigil_err_t pgu_user_get(vigil_store_t *store, const char *name, int64_t id,
                                vigil_user_t *user, char *hash, size_t hash_size, char *errstr,
                                size_t errstr_size)
{
    vigil__pgx_params_t p = {0};
    PGresult *r = NULL;
    if (name)
        vigil__pgx_text(&p, name);
    else
        vigil__pgx_int(&p, id);
    vigil_err_t err = pgu_one(store, name ? PGU_USER_GET_NAME : PGU_USER_GET_ID, &p, "read user",
                              &r, errstr, errstr_size);
    if (err == VIGIL_ERR_NOT_FOUND)
        return vigil__store_no_user(name, id, errstr, errstr_size);
    if (err != VIGIL_OK) return err;
    pgu_user_row(r, 0, user);
    if (hash && hash_size) vigil__pg_text(r, 0, 6, hash, hash_size);
    PQclear(r);
    return VIGIL_OK;
}

static vigil_err_t pgu_user_list(vigil_store_t *store, vigil_user_t **users, size_t *n,
                                 char *errstr, size_t errstr_size)
{
    static const vigil__pgx_rows_t how = {sizeof(vigil_user_t), pgu_user_row, NULL,
                                          "out of memory listing users"};
    vigil__pgx_params_t p = {0};
    void *rows = NULL;
    vigil__pgx_int(&p, VIGIL__STORE_ACCOUNT_ROWS_MAX);
    vigil_err_t err = pgu_list(store, PGU_USER_LIST, &p, "list users", &how,
                               VIGIL__STORE_ACCOUNT_ROWS_MAX, &rows, n, errstr, errstr_size);
    if (err == VIGIL_OK) *users = rows;
    return err;
}

/* A single-value SELECT into *v. */
static vigil_err_t pgu_scalar(vigil_store_t *store, pgu_stmt_t which, const vigil__pgx_params_t *p,
                              int64_t *v, const char *what, char *errstr, size_t errstr_size)
{
    PGresult *r = NULL;
    vigil_err_t err = pgu_one(store, which, p, what, &r, errstr, errstr_size);
    if (err != VIGIL_OK) return err;
    *v = vigil__pg_int64(r, 0, 0);
    PQclear(r);
    return VIGIL_OK;
}

static vigil_err_t pgu_user_count(vigil_store_t *store, int64_t *n, char *errstr,
                                  size_t errstr_size)
{
    return pgu_scalar(store, PGU_USER_COUNT, NULL, n, "count users", errstr, errstr_size);
}

/* Inside a transaction holding PGU_USERS_LOCK: the user, and whether it is
 * the only admin. */
static vigil_err_t pgu_user_find_locked(vigil_store_t *store, const char *name, vigil_user_t *u,
                                        int *last_admin, char *errstr, size_t errstr_size)
{
    vigil_err_t err = vigil__pgx_lock(store, PGU_USERS_LOCK, errstr, errstr_size);
    if (err != VIGIL_OK) return err;
    err = pgu_user_get(store, name, 0, u, NULL, 0, errstr, errstr_size);
    if (err != VIGIL_OK) return err;
    *last_admin = 0;
    if (u->role == VIGIL_ROLE_ADMIN) {
        int64_t admins = 0;
        err = pgu_scalar(store, PGU_USER_ADMINS, NULL, &admins, "count admins", errstr,
                         errstr_size);
        if (err != VIGIL_OK) return err;
        *last_admin = admins <= 1;
    }
    return VIGIL_OK;
}

/* Runs a statement whose only parameter is a user id. */
static vigil_err_t pgu_run_id(vigil_store_t *store, pgu_stmt_t which, int64_t id,
                              const char *what, int64_t *changes, char *errstr,
                              size_t errstr_size)
{
    vigil__pgx_params_t p = {0};
    vigil__pgx_int(&p, id);
    return pgu_run(store, which, &p, what, changes, errstr, errstr_size);
}

static vigil_err_t pgu_user_update(vigil_store_t *store, const char *name, vigil_role_t role,
                                   const char *hash, char *errstr, size_t errstr_size)
{
    vigil_user_t u;
    int last_admin = 0;
    vigil_err_t err = vigil__pgx_begin(store, errstr, errstr_size);
    if (err != VIGIL_OK) return err;
    err = pgu_user_find_locked(store, name, &u, &last_admin, errstr, errstr_size);
    if (err != VIGIL_OK) goto done;
    if (role != VIGIL_ROLE_NONE && role != u.role) {
        if (last_admin) {
            err = vigil__store_last_admin(name, errstr, errstr_size);
            goto done;
        }
        vigil__pgx_params_t p = {0};
        vigil__pgx_int(&p, u.id);
        vigil__pgx_int(&p, (int64_t)role);
        err = pgu_run(store, PGU_USER_SET_ROLE, &p, "set role", NULL, errstr, errstr_size);
        if (err != VIGIL_OK) goto done;
    }
    if (hash) {
        vigil__pgx_params_t p = {0};
        vigil__pgx_int(&p, u.id);
        vigil__pgx_text(&p, hash);
        err = pgu_run(store, PGU_USER_SET_HASH, &p, "set password", NULL, errstr, errstr_size);
        if (err != VIGIL_OK) goto done;
        err = pgu_run_id(store, PGU_SESSIONS_DELETE_USER, u.id, "revoke sessions", NULL, errstr,
                         errstr_size);
    }
done:
    return vigil__pgx_end(store, err, errstr, errstr_size);
}

static vigil_err_t pgu_user_delete(vigil_store_t *store, const char *name, char *errstr,
                                   size_t errstr_size)
{
    static const pgu_stmt_t children[] = {
        PGU_SESSIONS_DELETE_USER,
        PGU_TOKENS_DELETE_USER,
        PGU_PASSKEYS_DELETE_USER,
        PGU_CHALLENGES_DELETE_USER,
        PGU_USER_DELETE,
    };
    vigil_user_t u;
    int last_admin = 0;
    vigil_err_t err = vigil__pgx_begin(store, errstr, errstr_size);
    if (err != VIGIL_OK) return err;
    err = pgu_user_find_locked(store, name, &u, &last_admin, errstr, errstr_size);
    if (err != VIGIL_OK) goto done;
    if (last_admin) {
        err = vigil__store_last_admin(name, errstr, errstr_size);
        goto done;
    }
    for (size_t i = 0; i < sizeof(children) / sizeof(children[0]) && err == VIGIL_OK; i++)
        err = pgu_run_id(store, children[i], u.id, "delete user", NULL, errstr, errstr_size);
done:
    return vigil__pgx_end(store, err, errstr, errstr_size);
}

static vigil_err_t pgu_user_login_result(vigil_store_t *store, int64_t id, int ok, int64_t now_us,
                                         const vigil_store_lockout_t *policy, vigil_user_t *user,
                                         char *errstr, size_t errstr_size)
{
    vigil__pgx_params_t p = {0};
    vigil_err_t err;
    vigil__pgx_int(&p, id);
    if (ok) {
        /* writes only when there is something to clear: a login is a read */
        err = pgu_run(store, PGU_USER_LOGIN_OK, &p, "record login", NULL, errstr, errstr_size);
    } else {
        vigil__pgx_int(&p, now_us);
        vigil__pgx_int(&p, policy->max_failures);
        vigil__pgx_int(&p, policy->lock_us);
        vigil__pgx_int(&p, policy->max_lock_us);
        err = pgu_run(store, PGU_USER_LOGIN_FAILED, &p, "record login", NULL, errstr, errstr_size);
    }
    if (err != VIGIL_OK || !user) return err;
    return pgu_user_get(store, NULL, id, user, NULL, 0, errstr, errstr_size);
}

/* ---- sessions ---------------------------------------------------------- */

static void pgu_session_row(const PGresult *r, int i, vigil_store_session_t *row)
{
    vigil__store_session_from_cols(&PGU_COLS(r, i), row);
}
static int pgu_session_info_row(const PGresult *r, int i, void *elem)
{
    vigil_store_session_t full;
    pgu_session_row(r, i, &full);
    *(vigil_session_info_t *)elem = full.info;
    return 0;
}

/* Deletes up to limit expired sessions or challenges; *deleted (may be NULL). */
static vigil_err_t pgu_expire(vigil_store_t *store, int challenges, int64_t now_us, size_t limit,
                              int64_t *deleted, char *errstr, size_t errstr_size)
{
    vigil__pgx_params_t p = {0};
    vigil__pgx_int(&p, now_us);
    vigil__pgx_int(&p, (int64_t)limit);
    return pgu_run(store, challenges ? PGU_CHALLENGE_EXPIRE : PGU_SESSION_EXPIRE, &p,
                   challenges ? "delete expired challenges" : "delete expired sessions", deleted,
                   errstr, errstr_size);
}

static vigil_err_t pgu_session_insert(vigil_store_t *store, const vigil_store_session_t *row,
                                      const char *sid_hash, int64_t *id, char *errstr,
                                      size_t errstr_size)
{
    const vigil_session_info_t *s = &row->info;
    vigil__pgx_params_t p = {0};
    vigil_err_t err = vigil__pgx_begin(store, errstr, errstr_size);
    if (err != VIGIL_OK) return err;
    err = pgu_expire(store, 0, s->created_us, VIGIL__STORE_EXPIRED_PER_INSERT, NULL, errstr,
                     errstr_size);
    if (err != VIGIL_OK) goto done;
    vigil__pgx_int(&p, s->user_id);
    vigil__pgx_text(&p, sid_hash);
    vigil__pgx_text(&p, row->csrf);
    vigil__pgx_int(&p, s->created_us);
    vigil__pgx_int(&p, s->last_seen_us);
    vigil__pgx_int(&p, s->expires_us);
    vigil__pgx_text(&p, s->client_ip);
    vigil__pgx_text(&p, s->user_agent);
    err = pgu_insert(store, PGU_SESSION_INSERT, &p, "add session", id, errstr, errstr_size);
    if (err == VIGIL_ERR_NOT_FOUND)
        err = vigil__store_no_user(NULL, s->user_id, errstr, errstr_size);
done:
    return vigil__pgx_end(store, err, errstr, errstr_size);
}

static vigil_err_t pgu_session_get(vigil_store_t *store, const char *sid_hash,
                                   vigil_store_session_t *row, char *errstr, size_t errstr_size)
{
    vigil__pgx_params_t p = {0};
    PGresult *r = NULL;
    vigil__pgx_text(&p, sid_hash);
    vigil_err_t err = pgu_one(store, PGU_SESSION_GET, &p, "read session", &r, errstr, errstr_size);
    if (err == VIGIL_ERR_NOT_FOUND)
        return vigil__store_no_such("session", 0, errstr, errstr_size);
    if (err != VIGIL_OK) return err;
    pgu_session_row(r, 0, row);
    PQclear(r);
    return VIGIL_OK;
}

/* Sets the last-seen time of a session or token to now_us (only forward). */
static vigil_err_t pgu_touch(vigil_store_t *store, pgu_stmt_t which, int64_t id, int64_t now_us,
                             char *errstr, size_t errstr_size)
{
    vigil__pgx_params_t p = {0};
    vigil__pgx_int(&p, id);
    vigil__pgx_int(&p, now_us);
    return pgu_run(store, which, &p, "touch", NULL, errstr, errstr_size);
}

static vigil_err_t pgu_session_touch(vigil_store_t *store, int64_t id, int64_t now_us,
                                     char *errstr, size_t errstr_size)
{
    return pgu_touch(store,
                     PGU_SESSION_TOUCH,
                     id, now_us, errstr, errstr_size);
}

static vigil_err_t pgu_session_list(vigil_store_t *store, int64_t user_id, int64_t now_us,
                                    vigil_session_info_t **out, size_t *n, char *errstr,
                                    size_t errstr_size)
{
    static const vigil__pgx_rows_t how = {sizeof(vigil_session_info_t), pgu_session_info_row,
                                          NULL, "out of memory listing sessions"};
    vigil__pgx_params_t p = {0};
    void *rows = NULL;
    vigil__pgx_int(&p, now_us);
    vigil__pgx_int(&p, VIGIL__STORE_ACCOUNT_ROWS_MAX);
    if (user_id) vigil__pgx_int(&p, user_id);
    vigil_err_t err = pgu_list(store, user_id ? PGU_SESSION_LIST_USER : PGU_SESSION_LIST_ALL, &p,
                               "list sessions", &how, VIGIL__STORE_ACCOUNT_ROWS_MAX, &rows, n,
                               errstr, errstr_size);
    if (err == VIGIL_OK) *out = rows;
    return err;
}

/* Runs a "DELETE ... WHERE id = $1 AND ($2 = 0 OR user_id = $2)";
 * VIGIL_ERR_NOT_FOUND if it deleted nothing. */
static vigil_err_t pgu_delete_owned(vigil_store_t *store, pgu_stmt_t which, int64_t id,
                                    int64_t user_id, const char *what, char *errstr,
                                    size_t errstr_size)
{
    vigil__pgx_params_t p = {0};
    int64_t changes = 0;
    vigil__pgx_int(&p, id);
    vigil__pgx_int(&p, user_id);
    vigil_err_t err = pgu_run(store, which, &p, "delete", &changes, errstr, errstr_size);
    if (err != VIGIL_OK) return err;
    if (changes == 0)
        return vigil__store_no_such(what, id, errstr, errstr_size);
    return VIGIL_OK;
}

static vigil_err_t pgu_session_delete(vigil_store_t *store, int64_t id, int64_t user_id,
                                      const char *sid_hash, char *errstr, size_t errstr_size)
{
    if (!sid_hash)
        return pgu_delete_owned(store, PGU_SESSION_DELETE, id, user_id, "session", errstr,
                                errstr_size);
    vigil__pgx_params_t p = {0};
    int64_t changes = 0;
    vigil__pgx_text(&p, sid_hash);
    vigil_err_t err = pgu_run(store, PGU_SESSION_DELETE_HASH, &p, "delete session", &changes,
                              errstr, errstr_size);
    if (err != VIGIL_OK) return err;
    if (changes == 0)
        return vigil__store_no_such("session", 0, errstr, errstr_size);
    return VIGIL_OK;
}

/* ---- tokens ------------------------------------------------------------ */

static void pgu_token_row(const PGresult *r, int i, vigil_store_token_t *row)
{
    vigil__store_token_from_cols(&PGU_COLS(r, i), row);
}
static int pgu_token_info_row(const PGresult *r, int i, void *elem)
{
    vigil_store_token_t full;
    pgu_token_row(r, i, &full);
    *(vigil_token_info_t *)elem = full.info;
    return 0;
}

static vigil_err_t pgu_token_insert(vigil_store_t *store, const vigil_token_info_t *t,
                                    const char *token_hash, int64_t *id, char *errstr,
                                    size_t errstr_size)
{
    vigil__pgx_params_t p = {0};
    vigil__pgx_int(&p, t->user_id);
    vigil__pgx_text(&p, token_hash);
    vigil__pgx_text(&p, t->prefix);
    vigil__pgx_text(&p, t->name);
    vigil__pgx_int(&p, t->write_scope ? 1 : 0);
    vigil__pgx_int(&p, t->created_us);
    vigil__pgx_int(&p, t->expires_us);
    vigil_err_t err = pgu_insert(store, PGU_TOKEN_INSERT, &p, "add token", id, errstr, errstr_size);
    if (err == VIGIL_ERR_NOT_FOUND)
        return vigil__store_no_user(NULL, t->user_id, errstr, errstr_size);
    return err;
}

static vigil_err_t pgu_token_get(vigil_store_t *store, const char *token_hash,
                                 vigil_store_token_t *row, char *errstr, size_t errstr_size)
{
    vigil__pgx_params_t p = {0};
    PGresult *r = NULL;
    vigil__pgx_text(&p, token_hash);
    vigil_err_t err = pgu_one(store, PGU_TOKEN_GET, &p, "read token", &r, errstr, errstr_size);
    if (err == VIGIL_ERR_NOT_FOUND) return vigil__store_no_such("token", 0, errstr, errstr_size);
    if (err != VIGIL_OK) return err;
    pgu_token_row(r, 0, row);
    PQclear(r);
    return VIGIL_OK;
}

static vigil_err_t pgu_token_touch(vigil_store_t *store, int64_t id, int64_t now_us,
                                   char *errstr, size_t errstr_size)
{
    return pgu_touch(store,
                     PGU_TOKEN_TOUCH,
                     id, now_us, errstr, errstr_size);
}

static vigil_err_t pgu_token_list(vigil_store_t *store, int64_t user_id,
                                  vigil_token_info_t **out, size_t *n, char *errstr,
                                  size_t errstr_size)
{
    static const vigil__pgx_rows_t how = {sizeof(vigil_token_info_t), pgu_token_info_row, NULL,
                                          "out of memory listing tokens"};
    vigil__pgx_params_t p = {0};
    void *rows = NULL;
    vigil__pgx_int(&p, VIGIL__STORE_ACCOUNT_ROWS_MAX);
    if (user_id) vigil__pgx_int(&p, user_id);
    vigil_err_t err = pgu_list(store, user_id ? PGU_TOKEN_LIST_USER : PGU_TOKEN_LIST_ALL, &p,
                               "list tokens", &how, VIGIL__STORE_ACCOUNT_ROWS_MAX, &rows, n, errstr,
                               errstr_size);
    if (err == VIGIL_OK) *out = rows;
    return err;
}

static vigil_err_t pgu_token_delete(vigil_store_t *store, int64_t id, int64_t user_id,
                                    char *errstr, size_t errstr_size)
{
    return pgu_delete_owned(store, PGU_TOKEN_DELETE, id, user_id, "token", errstr, errstr_size);
}

/* ---- passkeys ---------------------------------------------------------- */

/* A passkey row; -1 when its blobs do not fit or memory runs out. */
static int pgu_passkey_row(const PGresult *r, int i, void *elem)
{
    return vigil__store_passkey_from_cols(&PGU_COLS(r, i), elem);
}
static void pgu_passkey_release(void *elem)
{
    vigil_passkey_free_fields(elem);
}

static vigil_err_t pgu_passkey_insert(vigil_store_t *store, const vigil_passkey_t *pk,
                                      int64_t *id, char *errstr, size_t errstr_size)
{
    vigil__pgx_params_t p = {0};
    vigil__pgx_int(&p, pk->user_id);
    vigil__pgx_text(&p, pk->name);
    vigil__pgx_bytea(&p, pk->cred_id, pk->cred_id_len);
    vigil__pgx_bytea(&p, pk->cose_key, pk->cose_key_len);
    vigil__pgx_int(&p, pk->sign_count);
    vigil__pgx_int(&p, pk->created_us);
    vigil_err_t err = pgu_insert(store, PGU_PASSKEY_INSERT, &p, "add passkey", id, errstr,
                                 errstr_size);
    if (err == VIGIL_ERR_EXISTS)
        return vigil__store_passkey_exists(errstr, errstr_size);
    if (err == VIGIL_ERR_NOT_FOUND)
        return vigil__store_no_user(NULL, pk->user_id, errstr, errstr_size);
    return err;
}

static vigil_err_t pgu_passkey_get(vigil_store_t *store, const uint8_t *cred_id, size_t len,
                                   vigil_passkey_t *pk, char *errstr, size_t errstr_size)
{
    vigil__pgx_params_t p = {0};
    PGresult *r = NULL;
    vigil__pgx_bytea(&p, cred_id, len);
    vigil_err_t err = pgu_one(store, PGU_PASSKEY_GET, &p, "read passkey", &r, errstr, errstr_size);
    if (err == VIGIL_ERR_NOT_FOUND)
        return vigil__store_no_such("passkey", 0, errstr, errstr_size);
    if (err != VIGIL_OK) return err;
    if (pgu_passkey_row(r, 0, pk) != 0) {
        vigil_passkey_free_fields(pk);
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM,
                           "out of memory reading a passkey");
    }
    PQclear(r);
    return err;
}

static vigil_err_t pgu_passkey_list(vigil_store_t *store, int64_t user_id,
                                    vigil_passkey_t **out, size_t *n, char *errstr,
                                    size_t errstr_size)
{
    static const vigil__pgx_rows_t how = {sizeof(vigil_passkey_t), pgu_passkey_row,
                                          pgu_passkey_release, "out of memory listing passkeys"};
    vigil__pgx_params_t p = {0};
    void *rows = NULL;
    vigil__pgx_int(&p, user_id);
    vigil__pgx_int(&p, VIGIL__STORE_ACCOUNT_ROWS_MAX);
    vigil_err_t err = pgu_list(store, PGU_PASSKEY_LIST, &p, "list passkeys", &how,
                               VIGIL__STORE_ACCOUNT_ROWS_MAX, &rows, n, errstr, errstr_size);
    if (err == VIGIL_OK) *out = rows;
    return err;
}

static vigil_err_t pgu_passkey_update_count(vigil_store_t *store, int64_t id,
                                            uint32_t sign_count, int64_t now_us, char *errstr,
                                            size_t errstr_size)
{
    vigil__pgx_params_t p = {0};
    int64_t changes = 0, stored = 0;
    vigil__pgx_int(&p, id);
    vigil__pgx_int(&p, sign_count);
    vigil__pgx_int(&p, now_us);
    /* the count must grow; 0 after 0 (an authenticator without a counter) */
    vigil_err_t err = pgu_run(store, PGU_PASSKEY_UPDATE_COUNT, &p, "update passkey", &changes,
                              errstr, errstr_size);
    if (err != VIGIL_OK || changes > 0) return err;
    vigil__pgx_params_t q = {0};
    vigil__pgx_int(&q, id);
    err = pgu_scalar(store, PGU_PASSKEY_COUNT_OF, &q, &stored, "read passkey", errstr, errstr_size);
    if (err == VIGIL_ERR_NOT_FOUND)
        return vigil__store_no_such("passkey", id, errstr, errstr_size);
    if (err != VIGIL_OK) return err;
    return vigil__store_sign_count_stale(id, sign_count, stored, errstr, errstr_size);
}

static vigil_err_t pgu_passkey_delete(vigil_store_t *store, int64_t id, int64_t user_id,
                                      char *errstr, size_t errstr_size)
{
    return pgu_delete_owned(store, PGU_PASSKEY_DELETE, id, user_id, "passkey", errstr, errstr_size);
}

/* ---- challenges -------------------------------------------------------- */

static vigil_err_t pgu_challenge_insert(vigil_store_t *store, const char *purpose,
                                       const char *hash, int64_t user_id, int64_t now_us,
                                       int64_t expires_us, char *errstr, size_t errstr_size)
{
    vigil__pgx_params_t p = {0};
    vigil_err_t err = vigil__pgx_begin(store, errstr, errstr_size);
    if (err != VIGIL_OK) return err;
    err = pgu_expire(store, 1, now_us, VIGIL__STORE_EXPIRED_PER_INSERT, NULL, errstr,
                     errstr_size);
    if (err != VIGIL_OK) goto done;
    vigil__pgx_text(&p, purpose);
    vigil__pgx_text(&p, hash);
    if (user_id)
        vigil__pgx_int(&p, user_id);
    else
        vigil__pgx_text(&p, NULL);
    vigil__pgx_int(&p, now_us);
    vigil__pgx_int(&p, expires_us);
    err = pgu_insert(store, PGU_CHALLENGE_INSERT, &p, "add challenge", NULL, errstr, errstr_size);
    if (err == VIGIL_ERR_NOT_FOUND)
        err = vigil__store_no_user(NULL, user_id, errstr, errstr_size);
done:
    return vigil__pgx_end(store, err, errstr, errstr_size);
}

static vigil_err_t pgu_challenge_take(vigil_store_t *store, const char *purpose,
                                      const char *hash, int64_t now_us, int64_t *user_id,
                                      char *errstr, size_t errstr_size)
{
    vigil__pgx_params_t p = {0};
    PGresult *r = NULL;
    vigil__pgx_text(&p, purpose);
    vigil__pgx_text(&p, hash);
    /* one statement: of two replicas taking the same challenge one gets the row */
    vigil_err_t err = pgu_one(store, PGU_CHALLENGE_TAKE, &p, "take challenge", &r, errstr,
                              errstr_size);
    if (err != VIGIL_OK && err != VIGIL_ERR_NOT_FOUND) return err;
    int64_t uid = r ? vigil__pg_int64(r, 0, 0) : 0;
    int64_t expires = r ? vigil__pg_int64(r, 0, 1) : 0;
    PQclear(r);
    if (err == VIGIL_ERR_NOT_FOUND || expires <= now_us)
        return vigil__store_challenge_missing(purpose, errstr, errstr_size);
    *user_id = uid;
    return VIGIL_OK;
}

/* ---- audit log --------------------------------------------------------- */

static vigil_err_t pgu_audit_insert(vigil_store_t *store, const vigil_audit_row_t *row,
                                    char *errstr, size_t errstr_size)
{
    vigil__pgx_params_t p = {0};
    vigil__pgx_int(&p, row->time_us);
    vigil__pgx_text(&p, row->user);
    vigil__pgx_text(&p, row->client_ip);
    vigil__pgx_text(&p, row->action);
    vigil__pgx_text(&p, row->target);
    vigil__pgx_text(&p, row->detail); /* NULL stays NULL */
    return pgu_run(store, PGU_AUDIT_INSERT, &p, "add audit row", NULL, errstr, errstr_size);
}

/* An audit row; -1 when its detail cannot be copied. */
static int pgu_audit_row(const PGresult *r, int i, void *elem)
{
    return vigil__store_audit_from_cols(&PGU_COLS(r, i), elem);
}
static void pgu_audit_release(void *elem)
{
    free(((vigil_audit_row_t *)elem)->detail);
}

static vigil_err_t pgu_audit_list(vigil_store_t *store, int64_t before_id, int limit,
                                  vigil_audit_row_t **out, size_t *n, char *errstr,
                                  size_t errstr_size)
{
    static const vigil__pgx_rows_t how = {sizeof(vigil_audit_row_t), pgu_audit_row,
                                          pgu_audit_release, "out of memory"};
    vigil__pgx_params_t p = {0};
    void *rows = NULL;
    vigil__pgx_int(&p, before_id > 0 ? before_id : INT64_MAX);
    vigil__pgx_int(&p, limit);
    vigil_err_t err = pgu_list(store, PGU_AUDIT_LIST, &p, "list audit log", &how,
                               limit > 0 ? (size_t)limit : 0, &rows, n, errstr, errstr_size);
    if (err == VIGIL_OK) *out = rows;
    return err;
}

static vigil_err_t pgu_sweep_expired(vigil_store_t *store, int challenges, int64_t now_us,
                                     size_t limit, int64_t *deleted)
{
    return pgu_expire(store, challenges, now_us, limit, deleted, store->errbuf,
                      sizeof(store->errbuf));
}

const vigil__store_accounts_ops_t vigil__pg_accounts_ops = {
    .user_insert = pgu_user_insert,
    .user_get = pgu_user_get,
    .user_list = pgu_user_list,
    .user_count = pgu_user_count,
    .user_update = pgu_user_update,
    .user_delete = pgu_user_delete,
    .user_login_result = pgu_user_login_result,
    .session_insert = pgu_session_insert,
    .session_get = pgu_session_get,
    .session_touch = pgu_session_touch,
    .session_list = pgu_session_list,
    .session_delete = pgu_session_delete,
    .token_insert = pgu_token_insert,
    .token_get = pgu_token_get,
    .token_touch = pgu_token_touch,
    .token_list = pgu_token_list,
    .token_delete = pgu_token_delete,
    .passkey_insert = pgu_passkey_insert,
    .passkey_get = pgu_passkey_get,
    .passkey_list = pgu_passkey_list,
    .passkey_update_count = pgu_passkey_update_count,
    .passkey_delete = pgu_passkey_delete,
    .challenge_insert = pgu_challenge_insert,
    .challenge_take = pgu_challenge_take,
    .audit_insert = pgu_audit_insert,
    .audit_list = pgu_audit_list,
    .sweep_expired = pgu_sweep_expired,
};
