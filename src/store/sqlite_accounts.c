/* The SQLite backend of the accounts tables (store.h, section "accounts";
 * schema version 4 in sqlite_schema.c): users, sessions, api_tokens,
 * passkeys, challenges, audit_log.
 *
 * The main idea: what must not race between API replicas is one statement
 * (a login failure counted and the lock set by one UPDATE; a challenge taken
 * by one DELETE ... RETURNING; a sign count that must grow, by a guarded
 * UPDATE), and what touches several rows is one BEGIN IMMEDIATE transaction
 * (a user deleted with its rows; a new password with the revocation of its
 * sessions; the last-admin check with the change it guards). Unique and
 * foreign-key violations become VIGIL_ERR_EXISTS and VIGIL_ERR_NOT_FOUND.
 *
 * Thread: a handle is used by one thread at a time (store.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "store/store_accounts_int.h"

#define SQU_USER_COLS "id, name, role, created_us, locked_until_us, failed_logins"
#define SQU_SESSION_COLS                                                                         \
    "s.id, s.user_id, u.name, s.created_us, s.last_seen_us, s.expires_us, s.client_ip, "        \
    "s.user_agent, u.role, s.csrf"
#define SQU_TOKEN_COLS                                                                           \
    "t.id, t.user_id, u.name, t.name, t.write_scope, t.created_us, t.expires_us, "              \
    "t.last_used_us, t.prefix, u.role"
#define SQU_PASSKEY_COLS                                                                         \
    "id, user_id, name, cred_id, cose_key, sign_count, created_us, last_used_us"

static const char *const squ_sql[SQU_COUNT_] = {
    [SQU_USER_INSERT] = "INSERT INTO users (name, role, password_hash, created_us) "
                        "VALUES (?1, ?2, ?3, ?4)",
    [SQU_USER_GET_NAME] = "SELECT " SQU_USER_COLS ", password_hash FROM users WHERE name = ?1",
    [SQU_USER_GET_ID] = "SELECT " SQU_USER_COLS ", password_hash FROM users WHERE id = ?1",
    [SQU_USER_LIST] = "SELECT " SQU_USER_COLS " FROM users ORDER BY name LIMIT ?1",
    [SQU_USER_COUNT] = "SELECT count(*) FROM users",
    [SQU_USER_ADMINS] = "SELECT count(*) FROM users WHERE role = 3",
    [SQU_USER_SET_ROLE] = "UPDATE users SET role = ?2 WHERE id = ?1",
    [SQU_USER_SET_HASH] = "UPDATE users SET password_hash = ?2, failed_logins = 0, "
                          "lock_count = 0, locked_until_us = 0 WHERE id = ?1",
    [SQU_USER_DELETE] = "DELETE FROM users WHERE id = ?1",
    /* writes only when there is something to clear: a login is a read */
    [SQU_USER_LOGIN_OK] = "UPDATE users SET failed_logins = 0, lock_count = 0, "
                          "locked_until_us = 0 WHERE id = ?1 AND (failed_logins <> 0 OR "
                          "lock_count <> 0 OR locked_until_us <> 0)",
    /* ?2 now, ?3 max failures, ?4 first lock, ?5 longest lock. The right-hand
     * sides see the row before the update: the max_failures-th failure in a
     * row sets the lock (doubled per earlier lock) and starts the count
     * again. A locked row is left alone. */
    [SQU_USER_LOGIN_FAILED] =
        "UPDATE users SET "
        "failed_logins = CASE WHEN failed_logins + 1 >= ?3 THEN 0 ELSE failed_logins + 1 END, "
        "lock_count = CASE WHEN failed_logins + 1 >= ?3 THEN lock_count + 1 ELSE lock_count END, "
        "locked_until_us = CASE WHEN failed_logins + 1 >= ?3 "
        "  THEN ?2 + min(?4 << min(lock_count, 20), ?5) ELSE locked_until_us END "
        "WHERE id = ?1 AND locked_until_us <= ?2",
    [SQU_SESSIONS_DELETE_USER] = "DELETE FROM sessions WHERE user_id = ?1",
    [SQU_TOKENS_DELETE_USER] = "DELETE FROM api_tokens WHERE user_id = ?1",
    [SQU_PASSKEYS_DELETE_USER] = "DELETE FROM passkeys WHERE user_id = ?1",
    [SQU_CHALLENGES_DELETE_USER] = "DELETE FROM challenges WHERE user_id = ?1",
    [SQU_SESSION_EXPIRE] = "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE "
                           "expires_us <= ?1 LIMIT ?2)",
    [SQU_SESSION_INSERT] =
        "INSERT INTO sessions (user_id, sid_hash, csrf, created_us, last_seen_us, expires_us, "
        "client_ip, user_agent) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [SQU_SESSION_GET] = "SELECT " SQU_SESSION_COLS " FROM sessions s JOIN users u ON "
                        "u.id = s.user_id WHERE s.sid_hash = ?1",
    [SQU_SESSION_TOUCH] = "UPDATE sessions SET last_seen_us = ?2 WHERE id = ?1 AND "
                          "last_seen_us < ?2",
    [SQU_SESSION_LIST_ALL] = "SELECT " SQU_SESSION_COLS " FROM sessions s JOIN users u ON "
                             "u.id = s.user_id WHERE s.expires_us > ?1 ORDER BY s.id DESC "
                             "LIMIT ?3",
    [SQU_SESSION_LIST_USER] = "SELECT " SQU_SESSION_COLS " FROM sessions s JOIN users u ON "
                              "u.id = s.user_id WHERE s.user_id = ?2 AND s.expires_us > ?1 "
                              "ORDER BY s.id DESC LIMIT ?3",
    [SQU_SESSION_DELETE] = "DELETE FROM sessions WHERE id = ?1 AND (?2 = 0 OR user_id = ?2)",
    [SQU_SESSION_DELETE_HASH] = "DELETE FROM sessions WHERE sid_hash = ?1",
    [SQU_TOKEN_INSERT] =
        "INSERT INTO api_tokens (user_id, token_hash, prefix, name, write_scope, created_us, "
        "expires_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [SQU_TOKEN_GET] = "SELECT " SQU_TOKEN_COLS " FROM api_tokens t JOIN users u ON "
                      "u.id = t.user_id WHERE t.token_hash = ?1",
    [SQU_TOKEN_TOUCH] = "UPDATE api_tokens SET last_used_us = ?2 WHERE id = ?1 AND "
                        "last_used_us < ?2",
    [SQU_TOKEN_LIST_ALL] = "SELECT " SQU_TOKEN_COLS " FROM api_tokens t JOIN users u ON "
                           "u.id = t.user_id ORDER BY t.id LIMIT ?2",
    [SQU_TOKEN_LIST_USER] = "SELECT " SQU_TOKEN_COLS " FROM api_tokens t JOIN users u ON "
                            "u.id = t.user_id WHERE t.user_id = ?1 ORDER BY t.id LIMIT ?2",
    [SQU_TOKEN_DELETE] = "DELETE FROM api_tokens WHERE id = ?1 AND (?2 = 0 OR user_id = ?2)",
    [SQU_PASSKEY_INSERT] = "INSERT INTO passkeys (user_id, name, cred_id, cose_key, sign_count, "
                           "created_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQU_PASSKEY_GET] = "SELECT " SQU_PASSKEY_COLS " FROM passkeys WHERE cred_id = ?1",
    [SQU_PASSKEY_LIST] = "SELECT " SQU_PASSKEY_COLS " FROM passkeys WHERE user_id = ?1 "
                         "ORDER BY id LIMIT ?2",
    /* the count must grow; 0 after 0 (an authenticator without a counter) */
    [SQU_PASSKEY_UPDATE_COUNT] = "UPDATE passkeys SET sign_count = ?2, last_used_us = ?3 "
                                 "WHERE id = ?1 AND (?2 > sign_count OR (?2 = 0 AND "
                                 "sign_count = 0))",
    [SQU_PASSKEY_COUNT_OF] = "SELECT sign_count FROM passkeys WHERE id = ?1",
    [SQU_PASSKEY_DELETE] = "DELETE FROM passkeys WHERE id = ?1 AND (?2 = 0 OR user_id = ?2)",
    [SQU_CHALLENGE_EXPIRE] = "DELETE FROM challenges WHERE id IN (SELECT id FROM challenges "
                             "WHERE expires_us <= ?1 LIMIT ?2)",
    [SQU_CHALLENGE_INSERT] = "INSERT INTO challenges (purpose, challenge_hash, user_id, "
                             "created_us, expires_us) VALUES (?1, ?2, ?3, ?4, ?5)",
    [SQU_CHALLENGE_TAKE] = "DELETE FROM challenges WHERE purpose = ?1 AND challenge_hash = ?2 "
                           "RETURNING coalesce(user_id, 0), expires_us",
    [SQU_AUDIT_INSERT] = "INSERT INTO audit_log (time_us, user_name, client_ip, action, target, "
                         "detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQU_AUDIT_LIST] = "SELECT id, time_us, user_name, client_ip, action, target, detail FROM "
                       "audit_log WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
};

const char *vigil__squ_sql(vigil__squ_stmt_t which)
{
    return (unsigned)which < SQU_COUNT_ ? squ_sql[which] : NULL;
}

void vigil__sq_accounts_close(vigil__sqlite_t *sq)
{
    for (int i = 0; i < SQU_COUNT_; i++) {
        sqlite3_finalize(sq->accounts_stmts[i]);
        sq->accounts_stmts[i] = NULL;
    }
}

/* The cached statement, reset; NULL with errstr filled. */
static sqlite3_stmt *squ_stmt(vigil__sqlite_t *sq, vigil__squ_stmt_t which, char *errstr,
                              size_t errstr_size)
{
    sqlite3_stmt *st = vigil__sq_prepare(sq, &sq->accounts_stmts[which], squ_sql[which]);
    if (!st) vigil_seterr(errstr, errstr_size, sq->stmt_err, "%s", sq->base.errbuf);
    return st;
}

/* An SQLite failure as a vigil error: unique violations are EXISTS, foreign
 * keys (a user that is not there) NOT_FOUND, the rest as sqlite.c maps it. */
static vigil_err_t squ_error(vigil__sqlite_t *sq, int rc, const char *what, char *errstr,
                             size_t errstr_size)
{
    vigil_err_t err = vigil__sq_error(sq, rc, what, errstr, errstr_size);
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) return VIGIL_ERR_EXISTS;
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return VIGIL_ERR_NOT_FOUND;
    return err;
}

/* Runs a write to completion: SQLITE_OK or the code. */
static int squ_step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static void squ_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_STATIC);
}

/* Runs a single-value SELECT into *v. */
static vigil_err_t squ_scalar(vigil__sqlite_t *sq, vigil__squ_stmt_t which, int64_t arg,
                              int64_t *v, const char *what, char *errstr, size_t errstr_size)
{
    sqlite3_stmt *st = squ_stmt(sq, which, errstr, errstr_size);
    if (!st) return sq->stmt_err;
    sqlite3_bind_int64(st, 1, arg);
    int rc = sqlite3_step(st);
    vigil_err_t err = VIGIL_OK;
    if (rc == SQLITE_ROW)
        *v = sqlite3_column_int64(st, 0);
    else if (rc == SQLITE_DONE)
        err = VIGIL_ERR_NOT_FOUND;
    else
        err = vigil__sq_error(sq, rc, what, errstr, errstr_size);
    sqlite3_reset(st);
    return err;
}

/* Runs a write statement with one integer argument; *changes (may be NULL). */
static vigil_err_t squ_exec_id(vigil__sqlite_t *sq, vigil__squ_stmt_t which, int64_t arg,
                               int64_t *changes, const char *what, char *errstr,
                               size_t errstr_size)
{
    sqlite3_stmt *st = squ_stmt(sq, which, errstr, errstr_size);
    if (!st) return sq->stmt_err;
    sqlite3_bind_int64(st, 1, arg);
    int rc = squ_step_done(st);
    if (rc != SQLITE_OK) return squ_error(sq, rc, what, errstr, errstr_size);
    if (changes) *changes = sqlite3_changes(sq->db);
    return VIGIL_OK;
}

/* ---- users ------------------------------------------------------------- */

/* Column readers of a stepped statement (store_accounts_int.h). */
static int64_t squ_col_i64(const vigil__cols_t *c, int col)
{
    return sqlite3_column_int64((sqlite3_stmt *)c->res, col);
}

static int squ_col_flag(const vigil__cols_t *c, int col)
{
    return sqlite3_column_int((sqlite3_stmt *)c->res, col) != 0;
}

static void squ_col_text(const vigil__cols_t *c, int col, char *out, size_t size)
{
    vigil__sq_text((sqlite3_stmt *)c->res, col, out, size);
}

static int squ_col_strdup(const vigil__cols_t *c, int col, char **out)
{
    const unsigned char *t = sqlite3_column_text((sqlite3_stmt *)c->res, col);
    *out = t ? strdup((const char *)t) : NULL;
    return t && !*out ? -1 : 0;
}

static int squ_col_blob(const vigil__cols_t *c, int col, uint8_t **out, size_t *len)
{
    sqlite3_stmt *st = (sqlite3_stmt *)c->res;
    const void *b = sqlite3_column_blob(st, col);
    int n = sqlite3_column_bytes(st, col);
    *out = NULL;
    *len = 0;
    if (!b || n <= 0) return 0;
    if (!(*out = malloc((size_t)n))) return -1;
    memcpy(*out, b, (size_t)n);
    *len = (size_t)n;
    return 0;
}

static const vigil__cols_ops_t squ_cols_ops = {squ_col_i64, squ_col_flag, squ_col_text,
                                               squ_col_strdup, squ_col_blob};
#define SQU_COLS(st) ((vigil__cols_t){&squ_cols_ops, (st), 0})

/* A users row (vigil__sq_rows_t.row). */
static int squ_user_row(sqlite3_stmt *st, void *elem)
{
    vigil__store_user_from_cols(&SQU_COLS(st), elem);
    return 0;
}
static vigil_err_t squ_user_insert(vigil_store_t *store, const char *name, vigil_role_t role,
                                   const char *hash, int64_t now_us, int64_t *id, char *errstr,
                                   size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = squ_stmt(sq, SQU_USER_INSERT, errstr, errstr_size);
    if (!st) return sq->stmt_err;
    squ_bind_text(st, 1, name);
    sqlite3_bind_int(st, 2, (int)role);
    squ_bind_text(st, 3, hash);
    sqlite3_bind_int64(st, 4, now_us);
    int rc = squ_step_done(st);
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        return vigil__store_user_exists(name, errstr, errstr_size);
    if (rc != SQLITE_OK) return squ_error(sq, rc, "add user", errstr, errstr_size);
    if (id) *id = sqlite3_last_insert_rowid(sq->db);
    return VIGIL_OK;
}

static vigil_err_t squ_user_get(vigil_store_t *store, const char *name, int64_t id,
                                vigil_user_t *user, char *hash, size_t hash_size, char *errstr,
                                size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = squ_stmt(sq, name ? SQU_USER_GET_NAME : SQU_USER_GET_ID, errstr,
                                errstr_size);
    if (!st) return sq->stmt_err;
    if (name)
        squ_bind_text(st, 1, name);
    else
        sqlite3_bind_int64(st, 1, id);
    vigil_err_t err = VIGIL_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        squ_user_row(st, user);
        if (hash && hash_size) vigil__sq_text(st, 6, hash, hash_size);
    } else if (rc == SQLITE_DONE) {
        err = vigil__store_no_user(name, id, errstr, errstr_size);
    } else {
        err = vigil__sq_error(sq, rc, "read user", errstr, errstr_size);
    }
    sqlite3_reset(st);
    return err;
}

static vigil_err_t squ_user_list(vigil_store_t *store, vigil_user_t **users, size_t *n,
                                 char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = squ_stmt(sq, SQU_USER_LIST, errstr, errstr_size);
    if (!st) return sq->stmt_err;
    sqlite3_bind_int64(st, 1, VIGIL__STORE_ACCOUNT_ROWS_MAX);
    static const vigil__sq_rows_t how = {sizeof(vigil_user_t), squ_user_row, NULL, "list users",
                                         "out of memory listing users"};
    void *rows = NULL;
    vigil_err_t err = vigil__sq_collect(sq, st, &how, VIGIL__STORE_ACCOUNT_ROWS_MAX, &rows, n, NULL,
                                        errstr, errstr_size);
    if (err == VIGIL_OK) *users = rows;
    return err;
}

static vigil_err_t squ_user_count(vigil_store_t *store, int64_t *n, char *errstr,
                                  size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = squ_stmt(sq, SQU_USER_COUNT, errstr, errstr_size);
    if (!st) return sq->stmt_err;
    int rc = sqlite3_step(st);
    vigil_err_t err = VIGIL_OK;
    if (rc == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    else
        err = vigil__sq_error(sq, rc, "count users", errstr, errstr_size);
    sqlite3_reset(st);
    return err;
}

/* Inside a transaction: the user's id and role, and whether it is the only
 * admin. */
static vigil_err_t squ_user_find_locked(vigil__sqlite_t *sq, const char *name, vigil_user_t *u,
                                        int *last_admin, char *errstr, size_t errstr_size)
{
    vigil_err_t err = squ_user_get(&sq->base, name, 0, u, NULL, 0, errstr, errstr_size);
    if (err != VIGIL_OK) return err;
    *last_admin = 0;
    if (u->role == VIGIL_ROLE_ADMIN) {
        int64_t admins = 0;
        err = squ_scalar(sq, SQU_USER_ADMINS, 0, &admins, "count admins", errstr, errstr_size);
        if (err != VIGIL_OK) return err;
        *last_admin = admins <= 1;
    }
    return VIGIL_OK;
}

static vigil_err_t squ_user_update(vigil_store_t *store, const char *name, vigil_role_t role,
                                   const char *hash, char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    vigil_user_t u;
    int last_admin = 0;
    vigil_err_t err;
    int rc = vigil__sq_begin(sq);
    if (rc != SQLITE_OK) return vigil__sq_error(sq, rc, "begin", errstr, errstr_size);
    err = squ_user_find_locked(sq, name, &u, &last_admin, errstr, errstr_size);
    if (err != VIGIL_OK) goto fail;
    if (role != VIGIL_ROLE_NONE && role != u.role) {
        if (last_admin) {
            err = vigil__store_last_admin(name, errstr, errstr_size);
            goto fail;
        }
        sqlite3_stmt *st = squ_stmt(sq, SQU_USER_SET_ROLE, errstr, errstr_size);
        if (!st) {
            err = sq->stmt_err;
            goto fail;
        }
        sqlite3_bind_int64(st, 1, u.id);
        sqlite3_bind_int(st, 2, (int)role);
        if ((rc = squ_step_done(st)) != SQLITE_OK) {
            err = squ_error(sq, rc, "set role", errstr, errstr_size);
            goto fail;
        }
    }
    if (hash) {
        sqlite3_stmt *st = squ_stmt(sq, SQU_USER_SET_HASH, errstr, errstr_size);
        if (!st) {
            err = sq->stmt_err;
            goto fail;
        }
        sqlite3_bind_int64(st, 1, u.id);
        squ_bind_text(st, 2, hash);
        if ((rc = squ_step_done(st)) != SQLITE_OK) {
            err = squ_error(sq, rc, "set password", errstr, errstr_size);
            goto fail;
        }
        err = squ_exec_id(sq, SQU_SESSIONS_DELETE_USER, u.id, NULL, "revoke sessions", errstr,
                          errstr_size);
        if (err != VIGIL_OK) goto fail;
    }
    rc = vigil__sq_commit(sq);
    if (rc != SQLITE_OK) {
        err = vigil__sq_error(sq, rc, "commit", errstr, errstr_size);
        goto fail;
    }
    return VIGIL_OK;
fail:
    vigil__sq_rollback(sq);
    return err;
}

static vigil_err_t squ_user_delete(vigil_store_t *store, const char *name, char *errstr,
                                   size_t errstr_size)
{
    static const vigil__squ_stmt_t children[] = {SQU_SESSIONS_DELETE_USER,
                                                  SQU_TOKENS_DELETE_USER,
                                                  SQU_PASSKEYS_DELETE_USER,
                                                  SQU_CHALLENGES_DELETE_USER, SQU_USER_DELETE};
    vigil__sqlite_t *sq = vigil__sq(store);
    vigil_user_t u;
    int last_admin = 0;
    vigil_err_t err;
    int rc = vigil__sq_begin(sq);
    if (rc != SQLITE_OK) return vigil__sq_error(sq, rc, "begin", errstr, errstr_size);
    err = squ_user_find_locked(sq, name, &u, &last_admin, errstr, errstr_size);
    if (err != VIGIL_OK) goto fail;
    if (last_admin) {
        err = vigil__store_last_admin(name, errstr, errstr_size);
        goto fail;
    }
    for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++) {
        err = squ_exec_id(sq, children[i], u.id, NULL, "delete user", errstr, errstr_size);
        if (err != VIGIL_OK) goto fail;
    }
    rc = vigil__sq_commit(sq);
    if (rc != SQLITE_OK) {
        err = vigil__sq_error(sq, rc, "commit", errstr, errstr_size);
        goto fail;
    }
    return VIGIL_OK;
fail:
    vigil__sq_rollback(sq);
    return err;
}

static vigil_err_t squ_user_login_result(vigil_store_t *store, int64_t id, int ok, int64_t now_us,
                                         const vigil_store_lockout_t *policy, vigil_user_t *user,
                                         char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = squ_stmt(sq, ok ? SQU_USER_LOGIN_OK : SQU_USER_LOGIN_FAILED, errstr,
                                errstr_size);
    if (!st) return sq->stmt_err;
    sqlite3_bind_int64(st, 1, id);
    if (!ok) {
        sqlite3_bind_int64(st, 2, now_us);
        sqlite3_bind_int(st, 3, policy->max_failures);
        sqlite3_bind_int64(st, 4, policy->lock_us);
        sqlite3_bind_int64(st, 5, policy->max_lock_us);
    }
    int rc = squ_step_done(st);
    if (rc != SQLITE_OK) return squ_error(sq, rc, "record login", errstr, errstr_size);
    if (!user) return VIGIL_OK;
    return squ_user_get(store, NULL, id, user, NULL, 0, errstr, errstr_size);
}

/* ---- sessions ---------------------------------------------------------- */

static void squ_session_row(sqlite3_stmt *st, vigil_store_session_t *r)
{
    vigil__store_session_from_cols(&SQU_COLS(st), r);
}
/* A session list row: the info of a session row. */
static int squ_session_info_row(sqlite3_stmt *st, void *elem)
{
    vigil_store_session_t full;
    squ_session_row(st, &full);
    *(vigil_session_info_t *)elem = full.info;
    return 0;
}

/* Deletes up to limit expired sessions or challenges; *deleted (may be NULL). */
static vigil_err_t squ_expire(vigil__sqlite_t *sq, int challenges, int64_t now_us, size_t limit,
                              int64_t *deleted, char *errstr, size_t errstr_size)
{
    sqlite3_stmt *st = squ_stmt(sq, challenges ? SQU_CHALLENGE_EXPIRE : SQU_SESSION_EXPIRE,
                                errstr, errstr_size);
    if (!st) return sq->stmt_err;
    sqlite3_bind_int64(st, 1, now_us);
    sqlite3_bind_int64(st, 2, (int64_t)limit);
    int rc = squ_step_done(st);
    if (rc != SQLITE_OK)
        return vigil__sq_error(sq, rc,
                               challenges ? "delete expired challenges"
                                          : "delete expired sessions",
                               errstr, errstr_size);
    if (deleted) *deleted = sqlite3_changes(sq->db);
    return VIGIL_OK;
}

static vigil_err_t squ_session_insert(vigil_store_t *store, const vigil_store_session_t *row,
                                      const char *sid_hash, int64_t *id, char *errstr,
                                      size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    const vigil_session_info_t *i = &row->info;
    vigil_err_t err;
    int rc = vigil__sq_begin(sq);
    if (rc != SQLITE_OK) return vigil__sq_error(sq, rc, "begin", errstr, errstr_size);
    err = squ_expire(sq, 0, i->created_us, VIGIL__STORE_EXPIRED_PER_INSERT, NULL, errstr,
                     errstr_size);
    if (err != VIGIL_OK) goto fail;
    sqlite3_stmt *st = squ_stmt(sq, SQU_SESSION_INSERT, errstr, errstr_size);
    if (!st) {
        err = sq->stmt_err;
        goto fail;
    }
    sqlite3_bind_int64(st, 1, i->user_id);
    squ_bind_text(st, 2, sid_hash);
    squ_bind_text(st, 3, row->csrf);
    sqlite3_bind_int64(st, 4, i->created_us);
    sqlite3_bind_int64(st, 5, i->last_seen_us);
    sqlite3_bind_int64(st, 6, i->expires_us);
    squ_bind_text(st, 7, i->client_ip);
    squ_bind_text(st, 8, i->user_agent);
    rc = squ_step_done(st);
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
        err = vigil__store_no_user(NULL, i->user_id, errstr, errstr_size);
        goto fail;
    }
    if (rc != SQLITE_OK) {
        err = squ_error(sq, rc, "add session", errstr, errstr_size);
        goto fail;
    }
    if (id) *id = sqlite3_last_insert_rowid(sq->db);
    rc = vigil__sq_commit(sq);
    if (rc != SQLITE_OK) {
        err = vigil__sq_error(sq, rc, "commit", errstr, errstr_size);
        goto fail;
    }
    return VIGIL_OK;
fail:
    vigil__sq_rollback(sq);
    return err;
}

static vigil_err_t squ_session_get(vigil_store_t *store, const char *sid_hash,
                                   vigil_store_session_t *row, char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = squ_stmt(sq, SQU_SESSION_GET, errstr, errstr_size);
    if (!st) return sq->stmt_err;
    squ_bind_text(st, 1, sid_hash);
    vigil_err_t err = VIGIL_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        squ_session_row(st, row);
    else if (rc == SQLITE_DONE)
        err = vigil__store_no_such("session", 0, errstr, errstr_size);
    else
        err = vigil__sq_error(sq, rc, "read session", errstr, errstr_size);
    sqlite3_reset(st);
    return err;
}

/* Sets last_seen_us / last_used_us of row id to now_us (only forward). */
static vigil_err_t squ_touch(vigil__sqlite_t *sq, vigil__squ_stmt_t which, int64_t id,
                             int64_t now_us, char *errstr, size_t errstr_size)
{
    sqlite3_stmt *st = squ_stmt(sq, which, errstr, errstr_size);
    if (!st) return sq->stmt_err;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now_us);
    int rc = squ_step_done(st);
    return rc == SQLITE_OK ? VIGIL_OK : vigil__sq_error(sq, rc, "touch", errstr, errstr_size);
}

static vigil_err_t squ_session_touch(vigil_store_t *store, int64_t id, int64_t now_us,
                                     char *errstr, size_t errstr_size)
{
    return squ_touch(vigil__sq(store), SQU_SESSION_TOUCH, id, now_us, errstr, errstr_size);
}

static vigil_err_t squ_session_list(vigil_store_t *store, int64_t user_id, int64_t now_us,
                                    vigil_session_info_t **out, size_t *n, char *errstr,
                                    size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = squ_stmt(sq, user_id ? SQU_SESSION_LIST_USER : SQU_SESSION_LIST_ALL,
                                errstr, errstr_size);
    if (!st) return sq->stmt_err;
    sqlite3_bind_int64(st, 1, now_us);
    if (user_id) sqlite3_bind_int64(st, 2, user_id);
    sqlite3_bind_int64(st, 3, VIGIL__STORE_ACCOUNT_ROWS_MAX);
    static const vigil__sq_rows_t how = {sizeof(vigil_session_info_t), squ_session_info_row,
                                         NULL, "list sessions", "out of memory listing sessions"};
    void *rows = NULL;
    vigil_err_t err = vigil__sq_collect(sq, st, &how, VIGIL__STORE_ACCOUNT_ROWS_MAX, &rows, n, NULL,
                                        errstr, errstr_size);
    if (err == VIGIL_OK) *out = rows;
    return err;
}

/* Runs a "DELETE ... WHERE id = ?1 AND (?2 = 0 OR user_id = ?2)";
 * VIGIL_ERR_NOT_FOUND if it deleted nothing. */
static vigil_err_t squ_delete_owned(vigil__sqlite_t *sq, vigil__squ_stmt_t which, int64_t id,
                                    int64_t user_id, const char *what, char *errstr,
                                    size_t errstr_size)
{
    sqlite3_stmt *st = squ_stmt(sq, which, errstr, errstr_size);
    if (!st) return sq->stmt_err;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, user_id);
    int rc = squ_step_done(st);
    if (rc != SQLITE_OK) return vigil__sq_error(sq, rc, "delete", errstr, errstr_size);
    if (sqlite3_changes(sq->db) == 0)
        return vigil__store_no_such(what, id, errstr, errstr_size);
    return VIGIL_OK;
}

static vigil_err_t squ_session_delete(vigil_store_t *store, int64_t id, int64_t user_id,
                                      const char *sid_hash, char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    if (!sid_hash)
        return squ_delete_owned(sq, SQU_SESSION_DELETE, id, user_id, "session", errstr,
                                errstr_size);
    sqlite3_stmt *st = squ_stmt(sq, SQU_SESSION_DELETE_HASH, errstr, errstr_size);
    if (!st) return sq->stmt_err;
    squ_bind_text(st, 1, sid_hash);
    int rc = squ_step_done(st);
    if (rc != SQLITE_OK) return vigil__sq_error(sq, rc, "delete session", errstr, errstr_size);
    if (sqlite3_changes(sq->db) == 0)
        return vigil__store_no_such("session", 0, errstr, errstr_size);
    return VIGIL_OK;
}

/* ---- tokens ------------------------------------------------------------ */

static void squ_token_row(sqlite3_stmt *st, vigil_store_token_t *r)
{
    vigil__store_token_from_cols(&SQU_COLS(st), r);
}
/* A token list row: the info of a token row. */
static int squ_token_info_row(sqlite3_stmt *st, void *elem)
{
    vigil_store_token_t full;
    squ_token_row(st, &full);
    *(vigil_token_info_t *)elem = full.info;
    return 0;
}

static vigil_err_t squ_token_insert(vigil_store_t *store, const vigil_token_info_t *t,
                                    const char *token_hash, int64_t *id, char *errstr,
                                    size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = squ_stmt(sq, SQU_TOKEN_INSERT, errstr, errstr_size);
    if (!st) return sq->stmt_err;
    sqlite3_bind_int64(st, 1, t->user_id);
    squ_bind_text(st, 2, token_hash);
    squ_bind_text(st, 3, t->prefix);
    squ_bind_text(st, 4, t->name);
    sqlite3_bind_int(st, 5, t->write_scope ? 1 : 0);
    sqlite3_bind_int64(st, 6, t->created_us);
    sqlite3_bind_int64(st, 7, t->expires_us);
    int rc = squ_step_done(st);
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return vigil__store_no_user(NULL, t->user_id, errstr, errstr_size);
    if (rc != SQLITE_OK) return squ_error(sq, rc, "add token", errstr, errstr_size);
    if (id) *id = sqlite3_last_insert_rowid(sq->db);
    return VIGIL_OK;
}

static vigil_err_t squ_token_get(vigil_store_t *store, const char *token_hash,
                                 vigil_store_token_t *row, char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = squ_stmt(sq, SQU_TOKEN_GET, errstr, errstr_size);
    if (!st) return sq->stmt_err;
    squ_bind_text(st, 1, token_hash);
    vigil_err_t err = VIGIL_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        squ_token_row(st, row);
    else if (rc == SQLITE_DONE)
        err = vigil__store_no_such("token", 0, errstr, errstr_size);
    else
        err = vigil__sq_error(sq, rc, "read token", errstr, errstr_size);
    sqlite3_reset(st);
    return err;
}

static vigil_err_t squ_token_touch(vigil_store_t *store, int64_t id, int64_t now_us,
                                   char *errstr, size_t errstr_size)
{
    return squ_touch(vigil__sq(store), SQU_TOKEN_TOUCH, id, now_us, errstr, errstr_size);
}

static vigil_err_t squ_token_list(vigil_store_t *store, int64_t user_id,
                                  vigil_token_info_t **out, size_t *n, char *errstr,
                                  size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = squ_stmt(sq, user_id ? SQU_TOKEN_LIST_USER : SQU_TOKEN_LIST_ALL, errstr,
                                errstr_size);
    if (!st) return sq->stmt_err;
    if (user_id) sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, VIGIL__STORE_ACCOUNT_ROWS_MAX);
    static const vigil__sq_rows_t how = {sizeof(vigil_token_info_t), squ_token_info_row, NULL,
                                         "list tokens", "out of memory listing tokens"};
    void *rows = NULL;
    vigil_err_t err = vigil__sq_collect(sq, st, &how, VIGIL__STORE_ACCOUNT_ROWS_MAX, &rows, n, NULL,
                                        errstr, errstr_size);
    if (err == VIGIL_OK) *out = rows;
    return err;
}

static vigil_err_t squ_token_delete(vigil_store_t *store, int64_t id, int64_t user_id,
                                    char *errstr, size_t errstr_size)
{
    return squ_delete_owned(vigil__sq(store), SQU_TOKEN_DELETE, id, user_id, "token", errstr,
                            errstr_size);
}

/* ---- passkeys ---------------------------------------------------------- */

/* Reads a passkey row (vigil__sq_rows_t.row); -1 when its blobs do not fit
 * or memory runs out. */
static int squ_passkey_row(sqlite3_stmt *st, void *elem)
{
    return vigil__store_passkey_from_cols(&SQU_COLS(st), elem);
}
static void squ_passkey_release(void *elem)
{
    vigil_passkey_free_fields(elem);
}

static vigil_err_t squ_passkey_insert(vigil_store_t *store, const vigil_passkey_t *pk,
                                      int64_t *id, char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = squ_stmt(sq, SQU_PASSKEY_INSERT, errstr, errstr_size);
    if (!st) return sq->stmt_err;
    sqlite3_bind_int64(st, 1, pk->user_id);
    squ_bind_text(st, 2, pk->name);
    sqlite3_bind_blob(st, 3, pk->cred_id, (int)pk->cred_id_len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, pk->cose_key, (int)pk->cose_key_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, pk->sign_count);
    sqlite3_bind_int64(st, 6, pk->created_us);
    int rc = squ_step_done(st);
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        return vigil__store_passkey_exists(errstr, errstr_size);
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return vigil__store_no_user(NULL, pk->user_id, errstr, errstr_size);
    if (rc != SQLITE_OK) return squ_error(sq, rc, "add passkey", errstr, errstr_size);
    if (id) *id = sqlite3_last_insert_rowid(sq->db);
    return VIGIL_OK;
}

static vigil_err_t squ_passkey_get(vigil_store_t *store, const uint8_t *cred_id, size_t len,
                                   vigil_passkey_t *pk, char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = squ_stmt(sq, SQU_PASSKEY_GET, errstr, errstr_size);
    if (!st) return sq->stmt_err;
    sqlite3_bind_blob(st, 1, cred_id, (int)len, SQLITE_STATIC);
    vigil_err_t err = VIGIL_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (squ_passkey_row(st, pk) != 0) {
            vigil_passkey_free_fields(pk);
            err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM,
                               "out of memory reading a passkey");
        }
    } else if (rc == SQLITE_DONE) {
        err = vigil__store_no_such("passkey", 0, errstr, errstr_size);
    } else {
        err = vigil__sq_error(sq, rc, "read passkey", errstr, errstr_size);
    }
    sqlite3_reset(st);
    return err;
}

static vigil_err_t squ_passkey_list(vigil_store_t *store, int64_t user_id,
                                    vigil_passkey_t **out, size_t *n, char *errstr,
                                    size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = squ_stmt(sq, SQU_PASSKEY_LIST, errstr, errstr_size);
    if (!st) return sq->stmt_err;
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, VIGIL__STORE_ACCOUNT_ROWS_MAX);
    static const vigil__sq_rows_t how = {sizeof(vigil_passkey_t), squ_passkey_row,
                                         squ_passkey_release, "list passkeys",
                                         "out of memory listing passkeys"};
    void *rows = NULL;
    vigil_err_t err = vigil__sq_collect(sq, st, &how, VIGIL__STORE_ACCOUNT_ROWS_MAX, &rows, n, NULL,
                                        errstr, errstr_size);
    if (err == VIGIL_OK) *out = rows;
    return err;
}

static vigil_err_t squ_passkey_update_count(vigil_store_t *store, int64_t id,
                                            uint32_t sign_count, int64_t now_us, char *errstr,
                                            size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = squ_stmt(sq, SQU_PASSKEY_UPDATE_COUNT, errstr, errstr_size);
    if (!st) return sq->stmt_err;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, sign_count);
    sqlite3_bind_int64(st, 3, now_us);
    int rc = squ_step_done(st);
    if (rc != SQLITE_OK) return vigil__sq_error(sq, rc, "update passkey", errstr, errstr_size);
    if (sqlite3_changes(sq->db) > 0) return VIGIL_OK;
    int64_t stored = 0;
    vigil_err_t err =
        squ_scalar(sq, SQU_PASSKEY_COUNT_OF, id, &stored, "read passkey", errstr, errstr_size);
    if (err == VIGIL_ERR_NOT_FOUND)
        return vigil__store_no_such("passkey", id, errstr, errstr_size);
    if (err != VIGIL_OK) return err;
    return vigil__store_sign_count_stale(id, sign_count, stored, errstr, errstr_size);
}

static vigil_err_t squ_passkey_delete(vigil_store_t *store, int64_t id, int64_t user_id,
                                      char *errstr, size_t errstr_size)
{
    return squ_delete_owned(vigil__sq(store), SQU_PASSKEY_DELETE, id, user_id, "passkey",
                            errstr, errstr_size);
}

/* ---- challenges -------------------------------------------------------- */

static vigil_err_t squ_challenge_insert(vigil_store_t *store, const char *purpose,
                                       const char *hash, int64_t user_id, int64_t now_us,
                                       int64_t expires_us, char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    vigil_err_t err;
    int rc = vigil__sq_begin(sq);
    if (rc != SQLITE_OK) return vigil__sq_error(sq, rc, "begin", errstr, errstr_size);
    err = squ_expire(sq, 1, now_us, VIGIL__STORE_EXPIRED_PER_INSERT, NULL, errstr, errstr_size);
    if (err != VIGIL_OK) goto fail;
    sqlite3_stmt *st = squ_stmt(sq, SQU_CHALLENGE_INSERT, errstr, errstr_size);
    if (!st) {
        err = sq->stmt_err;
        goto fail;
    }
    squ_bind_text(st, 1, purpose);
    squ_bind_text(st, 2, hash);
    if (user_id)
        sqlite3_bind_int64(st, 3, user_id);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_int64(st, 4, now_us);
    sqlite3_bind_int64(st, 5, expires_us);
    rc = squ_step_done(st);
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
        err = vigil__store_no_user(NULL, user_id, errstr, errstr_size);
        goto fail;
    }
    if (rc != SQLITE_OK) {
        err = squ_error(sq, rc, "add challenge", errstr, errstr_size);
        goto fail;
    }
    rc = vigil__sq_commit(sq);
    if (rc != SQLITE_OK) {
        err = vigil__sq_error(sq, rc, "commit", errstr, errstr_size);
        goto fail;
    }
    return VIGIL_OK;
fail:
    vigil__sq_rollback(sq);
    return err;
}

static vigil_err_t squ_challenge_take(vigil_store_t *store, const char *purpose,
                                      const char *hash, int64_t now_us, int64_t *user_id,
                                      char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = squ_stmt(sq, SQU_CHALLENGE_TAKE, errstr, errstr_size);
    if (!st) return sq->stmt_err;
    squ_bind_text(st, 1, purpose);
    squ_bind_text(st, 2, hash);
    int64_t uid = 0, expires = 0;
    int found = 0;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        found = 1;
        uid = sqlite3_column_int64(st, 0);
        expires = sqlite3_column_int64(st, 1);
        rc = sqlite3_step(st); /* runs the DELETE to its end */
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return vigil__sq_error(sq, rc, "take challenge", errstr, errstr_size);
    if (!found || expires <= now_us)
        return vigil__store_challenge_missing(purpose, errstr, errstr_size);
    *user_id = uid;
    return VIGIL_OK;
}

/* ---- audit log --------------------------------------------------------- */

static vigil_err_t squ_audit_insert(vigil_store_t *store, const vigil_audit_row_t *row,
                                    char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = squ_stmt(sq, SQU_AUDIT_INSERT, errstr, errstr_size);
    if (!st) return sq->stmt_err;
    sqlite3_bind_int64(st, 1, row->time_us);
    squ_bind_text(st, 2, row->user);
    squ_bind_text(st, 3, row->client_ip);
    squ_bind_text(st, 4, row->action);
    squ_bind_text(st, 5, row->target);
    if (row->detail)
        sqlite3_bind_text(st, 6, row->detail, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 6);
    int rc = squ_step_done(st);
    return rc == SQLITE_OK ? VIGIL_OK : squ_error(sq, rc, "add audit row", errstr, errstr_size);
}

/* An audit row (vigil__sq_rows_t.row); -1 when its detail cannot be copied. */
static int squ_audit_row(sqlite3_stmt *st, void *elem)
{
    return vigil__store_audit_from_cols(&SQU_COLS(st), elem);
}
static void squ_audit_release(void *elem)
{
    free(((vigil_audit_row_t *)elem)->detail);
}

static vigil_err_t squ_audit_list(vigil_store_t *store, int64_t before_id, int limit,
                                  vigil_audit_row_t **out, size_t *n, char *errstr,
                                  size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = squ_stmt(sq, SQU_AUDIT_LIST, errstr, errstr_size);
    if (!st) return sq->stmt_err;
    sqlite3_bind_int64(st, 1, before_id > 0 ? before_id : INT64_MAX);
    sqlite3_bind_int(st, 2, limit);
    static const vigil__sq_rows_t how = {sizeof(vigil_audit_row_t), squ_audit_row,
                                         squ_audit_release, "list audit log", "out of memory"};
    void *rows = NULL;
    vigil_err_t err = vigil__sq_collect(sq, st, &how, limit > 0 ? (size_t)limit : 0, &rows, n, NULL,
                                        errstr, errstr_size);
    if (err == VIGIL_OK) *out = rows;
    return err;
}

static vigil_err_t squ_sweep_expired(vigil_store_t *store, int challenges, int64_t now_us,
                                     size_t limit, int64_t *deleted)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    return squ_expire(sq, challenges, now_us, limit, deleted, NULL, 0);
}

const vigil__store_accounts_ops_t vigil__sq_accounts_ops = {
    .user_insert = squ_user_insert,
    .user_get = squ_user_get,
    .user_list = squ_user_list,
    .user_count = squ_user_count,
    .user_update = squ_user_update,
    .user_delete = squ_user_delete,
    .user_login_result = squ_user_login_result,
    .session_insert = squ_session_insert,
    .session_get = squ_session_get,
    .session_touch = squ_session_touch,
    .session_list = squ_session_list,
    .session_delete = squ_session_delete,
    .token_insert = squ_token_insert,
    .token_get = squ_token_get,
    .token_touch = squ_token_touch,
    .token_list = squ_token_list,
    .token_delete = squ_token_delete,
    .passkey_insert = squ_passkey_insert,
    .passkey_get = squ_passkey_get,
    .passkey_list = squ_passkey_list,
    .passkey_update_count = squ_passkey_update_count,
    .passkey_delete = squ_passkey_delete,
    .challenge_insert = squ_challenge_insert,
    .challenge_take = squ_challenge_take,
    .audit_insert = squ_audit_insert,
    .audit_list = squ_audit_list,
    .sweep_expired = squ_sweep_expired,
};
