/* The MongoDB backend of the accounts (store.h, section "accounts"; the same
 * rows as sqlite_accounts.c and postgres_accounts.c): collections users,
 * sessions, api_tokens, passkeys, challenges, audit_log, ids from
 * vigil_ids_NAME (vigil__mongo_next_ids), so that ids are never reused.
 *
 * The main idea: there are no multi-document transactions (FerretDB has
 * none), so what must not race between API replicas is one single-document
 * write whose filter is the guard:
 *   - uniqueness (user name, session and token hash, credential id,
 *     challenge) is a unique index: the second insert gets a duplicate key;
 *   - a login result is a compare-and-swap: the row is read, the new
 *     counters computed as PostgreSQL's UPDATE does, and written with a
 *     filter on the counters read; a lost race reads again;
 *   - a challenge is taken by the delete_one of the document read: of two
 *     replicas one deletes it (deletedCount 1), the other finds it gone;
 *   - a sign count grows by an update whose filter is "stored < new".
 * Only plain find/insert/update/delete with $set, $lt, $lte, $in are used
 * (no aggregation pipeline updates, no findAndModify: FerretDB 1.24's $inc
 * there is not atomic), so every command also runs on MongoDB >= 6.
 *
 * What is weaker than SQL: the last-admin check and the change it guards
 * are two commands (two replicas demoting the last two admins at the same
 * instant may both pass), and a user's deletion deletes its sessions,
 * tokens, passkeys and challenges one collection after the other (a crash
 * in between leaves rows of a user that no longer exists; they are never
 * read: every read of a session or token looks its user up).
 *
 * Thread: a handle is used by one thread at a time (store.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/mongo_int.h"
#include "store/store_accounts_int.h"

/* ---- rows: the column readers over a document -------------------------- */

/* One row: the document, its columns' keys (in store_accounts_int.h's
 * order), and the user document that "u." keys read. */
typedef struct mga_row {
    const bson_t *doc;
    const bson_t *user; /* may be NULL: "u." keys read as missing */
    const char *const *keys;
} mga_row_t;

static const char *const mga_user_keys[] = {"_id",        "name",           "role",
                                            "created_us", "locked_until_us", "failed_logins"};
static const char *const mga_session_keys[] = {
    "_id", "user_id", "u.name", "created_us", "last_seen_us", "expires_us", "client_ip",
    "user_agent", "u.role", "csrf"};
static const char *const mga_token_keys[] = {"_id",          "user_id",    "u.name",
                                             "name",         "write_scope", "created_us",
                                             "expires_us",   "last_used_us", "prefix",
                                             "u.role"};
static const char *const mga_passkey_keys[] = {"_id",     "user_id",    "name",
                                               "cred_id", "cose_key",   "sign_count",
                                               "created_us", "last_used_us"};
static const char *const mga_audit_keys[] = {"_id",    "time_us", "user", "client_ip",
                                             "action", "target",  "detail"};

/* The iterator of column col; 0 when it is missing or null. */
static int mga_find(const vigil__cols_t *c, int col, bson_iter_t *it)
{
    const mga_row_t *r = c->res;
    const char *key = r->keys[col];
    const bson_t *doc = r->doc;
    if (strncmp(key, "u.", 2) == 0) {
        doc = r->user;
        key += 2;
    }
    if (!doc || !bson_iter_init_find(it, doc, key)) return 0;
    return !BSON_ITER_HOLDS_NULL(it);
}

static int64_t mga_col_i64(const vigil__cols_t *c, int col)
{
    bson_iter_t it;
    return mga_find(c, col, &it) ? bson_iter_as_int64(&it) : 0;
}

static int mga_col_flag(const vigil__cols_t *c, int col)
{
    return mga_col_i64(c, col) != 0;
}

static void mga_col_text(const vigil__cols_t *c, int col, char *out, size_t size)
{
    bson_iter_t it;
    uint32_t len = 0;
    if (size) out[0] = '\0';
    if (!mga_find(c, col, &it) || !BSON_ITER_HOLDS_UTF8(&it)) return;
    const char *s = bson_iter_utf8(&it, &len);
    snprintf(out, size, "%.*s", (int)len, s);
}

static int mga_col_strdup(const vigil__cols_t *c, int col, char **out)
{
    bson_iter_t it;
    uint32_t len = 0;
    *out = NULL;
    if (!mga_find(c, col, &it) || !BSON_ITER_HOLDS_UTF8(&it)) return 0;
    const char *s = bson_iter_utf8(&it, &len);
    *out = malloc((size_t)len + 1);
    if (!*out) return -1;
    memcpy(*out, s, len);
    (*out)[len] = '\0';
    return 0;
}

static int mga_col_blob(const vigil__cols_t *c, int col, uint8_t **out, size_t *len)
{
    bson_iter_t it;
    *out = NULL;
    *len = 0;
    if (!mga_find(c, col, &it)) return 0;
    if (!BSON_ITER_HOLDS_BINARY(&it)) return -1;
    bson_subtype_t sub;
    uint32_t n = 0;
    const uint8_t *b = NULL;
    bson_iter_binary(&it, &sub, &n, &b);
    if (n == 0) return 0;
    *out = malloc(n);
    if (!*out) return -1;
    memcpy(*out, b, n);
    *len = n;
    return 0;
}

static const vigil__cols_ops_t mga_cols_ops = {mga_col_i64, mga_col_flag, mga_col_text,
                                               mga_col_strdup, mga_col_blob};
#define MGA_COLS(row) ((vigil__cols_t){&mga_cols_ops, (row), 0})

/* ---- plumbing ------------------------------------------------------------ */

static mongoc_collection_t *mga_coll(vigil_store_t *store, vigil__mongo_coll_t which)
{
    return vigil__mongo_coll(vigil__mongo(store), which);
}

/* Reads the one document of filter into *doc (bson_destroy it); NOT_FOUND
 * (nothing to destroy) or the error. */
static vigil_err_t mga_one(vigil_store_t *store, vigil__mongo_coll_t which, const bson_t *filter,
                           bson_t *doc, const char *what, char *errstr, size_t errstr_size)
{
    bson_t *opts = BCON_NEW("limit", BCON_INT64(1));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(mga_coll(store, which), filter, opts,
                                                            NULL);
    const bson_t *d;
    vigil_err_t err = VIGIL_ERR_NOT_FOUND;
    if (mongoc_cursor_next(cur, &d)) {
        bson_copy_to(d, doc);
        err = VIGIL_OK;
    }
    bson_error_t error;
    if (mongoc_cursor_error(cur, &error)) {
        if (err == VIGIL_OK) bson_destroy(doc);
        err = vigil__mongo_fail(vigil__mongo(store), 0, &error, errstr, errstr_size, "%s", what);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    return err;
}

/* The document whose _id is id. */
static vigil_err_t mga_by_id(vigil_store_t *store, vigil__mongo_coll_t which, int64_t id,
                             bson_t *doc, const char *what, char *errstr, size_t errstr_size)
{
    bson_t *filter = BCON_NEW("_id", BCON_INT64(id));
    vigil_err_t err = mga_one(store, which, filter, doc, what, errstr, errstr_size);
    bson_destroy(filter);
    return err;
}

/* Inserts doc; EXISTS on a duplicate key (no message: the caller's). */
static vigil_err_t mga_insert(vigil_store_t *store, vigil__mongo_coll_t which, const bson_t *doc,
                              const char *what, char *errstr, size_t errstr_size)
{
    bson_error_t error;
    if (mongoc_collection_insert_one(mga_coll(store, which), doc, NULL, NULL, &error))
        return VIGIL_OK;
    if (vigil__mongo_err(&error) == VIGIL_ERR_EXISTS) return VIGIL_ERR_EXISTS;
    return vigil__mongo_fail(vigil__mongo(store), 0, &error, errstr, errstr_size, "%s", what);
}

/* update_one or delete_many (update NULL); *n (may be NULL) gets the
 * matched or deleted count. */
static vigil_err_t mga_write(vigil_store_t *store, vigil__mongo_coll_t which, const bson_t *filter,
                             const bson_t *update, int64_t *n, const char *what, char *errstr,
                             size_t errstr_size)
{
    bson_t reply;
    bson_error_t error;
    bool ok = update ? mongoc_collection_update_one(mga_coll(store, which), filter, update, NULL,
                                                    &reply, &error)
                     : mongoc_collection_delete_many(mga_coll(store, which), filter, NULL, &reply,
                                                     &error);
    vigil_err_t err = VIGIL_OK;
    if (!ok)
        err = vigil__mongo_fail(vigil__mongo(store), 0, &error, errstr, errstr_size, "%s", what);
    else if (n)
        *n = vigil__mongo_i64(&reply, update ? "matchedCount" : "deletedCount");
    bson_destroy(&reply);
    return err;
}

/* A growable array filled from a find; read fills one element from a row
 * (-1: out of memory), release frees an element's contents (may be NULL). */
typedef struct mga_list {
    vigil_store_t *store;
    void *rows;
    size_t n, cap, size, max;
    const char *const *keys;
    int (*read)(const vigil__cols_t *c, void *elem);
    void (*release)(void *elem);
    int join_user; /* look the row's user up (user_id) for "u." keys */
    bson_t *users; /* users by id, read once for a list: array of docs */
    size_t n_users;
} mga_list_t;

/* The user document of id among l->users; NULL if none. */
static const bson_t *mga_list_user(const mga_list_t *l, int64_t id)
{
    size_t lo = 0, hi = l->n_users;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t v = vigil__mongo_i64(&l->users[mid], "_id");
        if (v == id) return &l->users[mid];
        if (v < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static vigil_err_t mga_list_add(void *arg, const bson_t *doc)
{
    mga_list_t *l = arg;
    const bson_t *user = NULL;
    if (l->join_user) {
        user = mga_list_user(l, vigil__mongo_i64(doc, "user_id"));
        if (!user) return VIGIL_OK; /* its user is gone (a deletion half done): no row */
    }
    if (l->n >= l->max) return VIGIL_OK;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        void *p = realloc(l->rows, cap * l->size);
        if (!p) return VIGIL_ERR_NOMEM;
        l->rows = p;
        l->cap = cap;
    }
    void *elem = (char *)l->rows + l->n * l->size;
    memset(elem, 0, l->size);
    mga_row_t row = {doc, user, l->keys};
    if (l->read(&MGA_COLS(&row), elem) != 0) {
        if (l->release) l->release(elem);
        return VIGIL_ERR_NOMEM;
    }
    l->n++;
    return VIGIL_OK;
}

static vigil_err_t mga_users_add(void *arg, const bson_t *doc)
{
    mga_list_t *l = arg;
    if (l->n_users % 64 == 0) {
        bson_t *p = realloc(l->users, (l->n_users + 64) * sizeof(bson_t));
        if (!p) return VIGIL_ERR_NOMEM;
        l->users = p;
    }
    bson_copy_to(doc, &l->users[l->n_users++]);
    return VIGIL_OK;
}

static void mga_list_release(mga_list_t *l, int keep_rows)
{
    for (size_t i = 0; i < l->n_users; i++) bson_destroy(&l->users[i]);
    free(l->users);
    if (!keep_rows) {
        for (size_t i = 0; l->release && i < l->n; i++)
            l->release((char *)l->rows + i * l->size);
        free(l->rows);
    }
}

/* Runs a find (filter, sort on _id or name, limit max) into *out, *n. */
static vigil_err_t mga_list(vigil_store_t *store, vigil__mongo_coll_t which, const bson_t *filter,
                            const char *sort_key, int sort_dir, mga_list_t *l, const char *what,
                            void **out, size_t *n, char *errstr, size_t errstr_size)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    vigil_err_t err = VIGIL_OK;
    if (l->join_user) {
        bson_t empty = BSON_INITIALIZER;
        bson_t *uopts = BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}", "projection", "{",
                                 "password_hash", BCON_INT32(0), "}");
        err = vigil__mongo_find(mg, VIGIL__MG_USERS, &empty, uopts, mga_users_add, l, what,
                                errstr, errstr_size);
        bson_destroy(uopts);
    }
    if (!err) {
        bson_t *opts = BCON_NEW("sort", "{", sort_key, BCON_INT32(sort_dir), "}", "limit",
                                BCON_INT64((int64_t)l->max));
        err = vigil__mongo_find(mg, which, filter, opts, mga_list_add, l, what, errstr,
                                errstr_size);
        bson_destroy(opts);
    }
    if (err == VIGIL_ERR_NOMEM)
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "%s: out of memory", what);
    mga_list_release(l, err == VIGIL_OK);
    if (err) return err;
    *out = l->rows;
    *n = l->n;
    return VIGIL_OK;
}

/* The next id of collection name. */
static vigil_err_t mga_next_id(vigil_store_t *store, const char *name, int64_t *id, char *errstr,
                               size_t errstr_size)
{
    return vigil__mongo_next_ids(vigil__mongo(store), name, 1, id, errstr, errstr_size);
}

/* VIGIL_OK if user id exists, else the "no user" error. */
static vigil_err_t mga_user_exists(vigil_store_t *store, int64_t id, char *errstr,
                                   size_t errstr_size)
{
    bson_t doc;
    vigil_err_t err = mga_by_id(store, VIGIL__MG_USERS, id, &doc, "read user", errstr, errstr_size);
    if (err == VIGIL_ERR_NOT_FOUND) return vigil__store_no_user(NULL, id, errstr, errstr_size);
    if (err == VIGIL_OK) bson_destroy(&doc);
    return err;
}

/* ---- users --------------------------------------------------------------- */

static vigil_err_t mga_user_insert(vigil_store_t *store, const char *name, vigil_role_t role,
                                   const char *hash, int64_t now_us, int64_t *id, char *errstr,
                                   size_t errstr_size)
{
    int64_t uid = 0;
    vigil_err_t err = mga_next_id(store, "users", &uid, errstr, errstr_size);
    if (err) return err;
    bson_t *doc = BCON_NEW("_id", BCON_INT64(uid), "name", BCON_UTF8(name), "role",
                           BCON_INT32((int32_t)role), "password_hash", BCON_UTF8(hash ? hash : ""),
                           "created_us", BCON_INT64(now_us), "locked_until_us", BCON_INT64(0),
                           "failed_logins", BCON_INT32(0), "lock_count", BCON_INT32(0));
    err = mga_insert(store, VIGIL__MG_USERS, doc, "add user", errstr, errstr_size);
    bson_destroy(doc);
    if (err == VIGIL_ERR_EXISTS) return vigil__store_user_exists(name, errstr, errstr_size);
    if (err == VIGIL_OK && id) *id = uid;
    return err;
}

static void mga_user_read(const bson_t *doc, vigil_user_t *u)
{
    mga_row_t row = {doc, NULL, mga_user_keys};
    vigil__store_user_from_cols(&MGA_COLS(&row), u);
}

static vigil_err_t mga_user_get(vigil_store_t *store, const char *name, int64_t id,
                                vigil_user_t *user, char *hash, size_t hash_size, char *errstr,
                                size_t errstr_size)
{
    bson_t *filter = name ? BCON_NEW("name", BCON_UTF8(name)) : BCON_NEW("_id", BCON_INT64(id));
    bson_t doc;
    vigil_err_t err = mga_one(store, VIGIL__MG_USERS, filter, &doc, "read user", errstr,
                              errstr_size);
    bson_destroy(filter);
    if (err == VIGIL_ERR_NOT_FOUND) return vigil__store_no_user(name, id, errstr, errstr_size);
    if (err) return err;
    mga_user_read(&doc, user);
    if (hash && hash_size) vigil__mongo_str(&doc, "password_hash", hash, hash_size);
    bson_destroy(&doc);
    return VIGIL_OK;
}

static int mga_user_elem(const vigil__cols_t *c, void *elem)
{
    vigil__store_user_from_cols(c, elem);
    return 0;
}

static vigil_err_t mga_user_list(vigil_store_t *store, vigil_user_t **users, size_t *n,
                                 char *errstr, size_t errstr_size)
{
    mga_list_t l = {.store = store, .size = sizeof(vigil_user_t),
                    .max = VIGIL__STORE_ACCOUNT_ROWS_MAX, .keys = mga_user_keys,
                    .read = mga_user_elem};
    bson_t filter = BSON_INITIALIZER;
    void *rows = NULL;
    /* byte order of the names, as SQLite's and PostgreSQL's COLLATE "C" */
    vigil_err_t err = mga_list(store, VIGIL__MG_USERS, &filter, "name", 1, &l, "list users", &rows,
                               n, errstr, errstr_size);
    if (!err) *users = rows;
    return err;
}

static vigil_err_t mga_count(vigil_store_t *store, vigil__mongo_coll_t which, const bson_t *filter,
                             int64_t *n, const char *what, char *errstr, size_t errstr_size)
{
    bson_error_t error;
    int64_t c = mongoc_collection_count_documents(mga_coll(store, which), filter, NULL, NULL,
                                                  NULL, &error);
    if (c < 0) return vigil__mongo_fail(vigil__mongo(store), 0, &error, errstr, errstr_size,
                                        "%s", what);
    *n = c;
    return VIGIL_OK;
}

static vigil_err_t mga_user_count(vigil_store_t *store, int64_t *n, char *errstr,
                                  size_t errstr_size)
{
    bson_t filter = BSON_INITIALIZER;
    return mga_count(store, VIGIL__MG_USERS, &filter, n, "count users", errstr, errstr_size);
}

/* Whether user u (an admin) is the only admin. */
static vigil_err_t mga_last_admin(vigil_store_t *store, const vigil_user_t *u, int *last,
                                  char *errstr, size_t errstr_size)
{
    *last = 0;
    if (u->role != VIGIL_ROLE_ADMIN) return VIGIL_OK;
    int64_t admins = 0;
    bson_t *filter = BCON_NEW("role", BCON_INT32((int32_t)VIGIL_ROLE_ADMIN));
    vigil_err_t err = mga_count(store, VIGIL__MG_USERS, filter, &admins, "count admins", errstr,
                                errstr_size);
    bson_destroy(filter);
    *last = admins <= 1;
    return err;
}

/* Deletes every document of coll whose user_id is id. */
static vigil_err_t mga_delete_of_user(vigil_store_t *store, vigil__mongo_coll_t which, int64_t id,
                                      const char *what, char *errstr, size_t errstr_size)
{
    bson_t *filter = BCON_NEW("user_id", BCON_INT64(id));
    vigil_err_t err = mga_write(store, which, filter, NULL, NULL, what, errstr, errstr_size);
    bson_destroy(filter);
    return err;
}

static vigil_err_t mga_user_update(vigil_store_t *store, const char *name, vigil_role_t role,
                                   const char *hash, char *errstr, size_t errstr_size)
{
    vigil_user_t u;
    int last = 0;
    vigil_err_t err = mga_user_get(store, name, 0, &u, NULL, 0, errstr, errstr_size);
    if (err) return err;
    if (role != VIGIL_ROLE_NONE && role != u.role) {
        err = mga_last_admin(store, &u, &last, errstr, errstr_size);
        if (err) return err;
        if (last) return vigil__store_last_admin(name, errstr, errstr_size);
        bson_t *filter = BCON_NEW("_id", BCON_INT64(u.id));
        bson_t *update = BCON_NEW("$set", "{", "role", BCON_INT32((int32_t)role), "}");
        err = mga_write(store, VIGIL__MG_USERS, filter, update, NULL, "set role", errstr,
                        errstr_size);
        bson_destroy(filter);
        bson_destroy(update);
        if (err) return err;
    }
    if (hash) {
        bson_t *filter = BCON_NEW("_id", BCON_INT64(u.id));
        bson_t *update = BCON_NEW("$set", "{", "password_hash", BCON_UTF8(hash), "failed_logins",
                                  BCON_INT32(0), "lock_count", BCON_INT32(0), "locked_until_us",
                                  BCON_INT64(0), "}");
        err = mga_write(store, VIGIL__MG_USERS, filter, update, NULL, "set password", errstr,
                        errstr_size);
        bson_destroy(filter);
        bson_destroy(update);
        if (!err)
            err = mga_delete_of_user(store, VIGIL__MG_SESSIONS, u.id, "revoke sessions", errstr,
                                     errstr_size);
    }
    return err;
}

static vigil_err_t mga_user_delete(vigil_store_t *store, const char *name, char *errstr,
                                   size_t errstr_size)
{
    static const vigil__mongo_coll_t children[] = {VIGIL__MG_SESSIONS, VIGIL__MG_TOKENS,
                                                   VIGIL__MG_PASSKEYS, VIGIL__MG_CHALLENGES};
    vigil_user_t u;
    int last = 0;
    vigil_err_t err = mga_user_get(store, name, 0, &u, NULL, 0, errstr, errstr_size);
    if (!err) err = mga_last_admin(store, &u, &last, errstr, errstr_size);
    if (err) return err;
    if (last) return vigil__store_last_admin(name, errstr, errstr_size);
    /* the user first: its other rows are then never read (their reads look
     * the user up), whatever happens before they are deleted */
    bson_t *filter = BCON_NEW("_id", BCON_INT64(u.id));
    err = mga_write(store, VIGIL__MG_USERS, filter, NULL, NULL, "delete user", errstr,
                    errstr_size);
    bson_destroy(filter);
    for (size_t i = 0; i < sizeof(children) / sizeof(children[0]) && !err; i++)
        err = mga_delete_of_user(store, children[i], u.id, "delete user", errstr, errstr_size);
    return err;
}

/* Compare-and-swap of the counters: the new values computed from the row
 * read (as PostgreSQL's UPDATE computes them), written only if the row
 * still holds what was read; a lost race reads again. */
static vigil_err_t mga_user_login_result(vigil_store_t *store, int64_t id, int ok, int64_t now_us,
                                         const vigil_store_lockout_t *policy, vigil_user_t *user,
                                         char *errstr, size_t errstr_size)
{
    vigil_err_t err = VIGIL_OK;
    for (int attempt = 0;; attempt++) {
        if (attempt == 1000)
            return vigil__mongo_fail(vigil__mongo(store), VIGIL_ERR_AGAIN, NULL, errstr,
                                     errstr_size, "record login: 1000 races lost");
        bson_t doc;
        err = mga_by_id(store, VIGIL__MG_USERS, id, &doc, "record login", errstr, errstr_size);
        if (err == VIGIL_ERR_NOT_FOUND) return vigil__store_no_user(NULL, id, errstr, errstr_size);
        if (err) return err;
        int64_t failed = vigil__mongo_i64(&doc, "failed_logins");
        int64_t locks = vigil__mongo_i64(&doc, "lock_count");
        int64_t until = vigil__mongo_i64(&doc, "locked_until_us");
        bson_destroy(&doc);
        int64_t nf = failed, nl = locks, nu = until;
        if (ok) {
            nf = nl = nu = 0; /* writes only when there is something to clear */
        } else if (until <= now_us) { /* a locked row is left alone */
            if (failed + 1 >= policy->max_failures) {
                int shift = locks < 20 ? (int)locks : 20;
                int64_t lock = policy->lock_us;
                lock = lock > (INT64_MAX >> shift) ? policy->max_lock_us : lock << shift;
                if (lock > policy->max_lock_us) lock = policy->max_lock_us;
                nf = 0;
                nl = locks + 1;
                nu = now_us + lock;
            } else {
                nf = failed + 1;
            }
        }
        if (nf == failed && nl == locks && nu == until) break;
        bson_t *filter = BCON_NEW("_id", BCON_INT64(id), "failed_logins", BCON_INT64(failed),
                                  "lock_count", BCON_INT64(locks), "locked_until_us",
                                  BCON_INT64(until));
        bson_t *update = BCON_NEW("$set", "{", "failed_logins", BCON_INT32((int32_t)nf),
                                  "lock_count", BCON_INT32((int32_t)nl), "locked_until_us",
                                  BCON_INT64(nu), "}");
        int64_t matched = 0;
        err = mga_write(store, VIGIL__MG_USERS, filter, update, &matched, "record login", errstr,
                        errstr_size);
        bson_destroy(filter);
        bson_destroy(update);
        if (err) return err;
        if (matched > 0) break;
    }
    if (!user) return VIGIL_OK;
    return mga_user_get(store, NULL, id, user, NULL, 0, errstr, errstr_size);
}

/* ---- sessions ------------------------------------------------------------ */

/* Deletes up to limit expired sessions or challenges; *deleted (may be NULL). */
static vigil_err_t mga_expire(vigil_store_t *store, int challenges, int64_t now_us, size_t limit,
                              int64_t *deleted, char *errstr, size_t errstr_size)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    vigil__mongo_coll_t which = challenges ? VIGIL__MG_CHALLENGES : VIGIL__MG_SESSIONS;
    const char *what = challenges ? "delete expired challenges" : "delete expired sessions";
    bson_t *filter = BCON_NEW("expires_us", "{", "$lte", BCON_INT64(now_us), "}");
    bson_t *opts = BCON_NEW("projection", "{", "_id", BCON_INT32(1), "}", "limit",
                            BCON_INT64((int64_t)limit));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(mga_coll(store, which), filter, opts,
                                                            NULL);
    bson_value_t *ids = calloc(limit ? limit : 1, sizeof(*ids));
    size_t n = 0;
    const bson_t *doc;
    vigil_err_t err = VIGIL_OK;
    if (!ids) err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "%s: out of memory", what);
    while (!err && n < limit && mongoc_cursor_next(cur, &doc)) {
        ids[n].value_type = BSON_TYPE_INT64;
        ids[n].value.v_int64 = vigil__mongo_i64(doc, "_id");
        n++;
    }
    bson_error_t error;
    if (!err && mongoc_cursor_error(cur, &error))
        err = vigil__mongo_fail(mg, 0, &error, errstr, errstr_size, "%s", what);
    int64_t gone = 0;
    if (!err) {
        err = vigil__mongo_delete_ids(mg, which, ids, n, &gone, what);
        if (err && errstr && errstr_size) snprintf(errstr, errstr_size, "%s", store->errbuf);
    }
    if (!err && deleted) *deleted = gone;
    free(ids);
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    bson_destroy(opts);
    return err;
}

static vigil_err_t mga_session_insert(vigil_store_t *store, const vigil_store_session_t *row,
                                      const char *sid_hash, int64_t *id, char *errstr,
                                      size_t errstr_size)
{
    const vigil_session_info_t *s = &row->info;
    int64_t sid = 0;
    vigil_err_t err = mga_expire(store, 0, s->created_us, VIGIL__STORE_EXPIRED_PER_INSERT, NULL,
                                 errstr, errstr_size);
    if (!err) err = mga_user_exists(store, s->user_id, errstr, errstr_size);
    if (!err) err = mga_next_id(store, "sessions", &sid, errstr, errstr_size);
    if (err) return err;
    bson_t *doc = BCON_NEW("_id", BCON_INT64(sid), "user_id", BCON_INT64(s->user_id), "sid_hash",
                           BCON_UTF8(sid_hash), "csrf", BCON_UTF8(row->csrf), "created_us",
                           BCON_INT64(s->created_us), "last_seen_us", BCON_INT64(s->last_seen_us),
                           "expires_us", BCON_INT64(s->expires_us), "client_ip",
                           BCON_UTF8(s->client_ip), "user_agent", BCON_UTF8(s->user_agent));
    err = mga_insert(store, VIGIL__MG_SESSIONS, doc, "add session", errstr, errstr_size);
    bson_destroy(doc);
    if (err == VIGIL_ERR_EXISTS)
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_EXISTS, "add session: the session "
                                                                  "id is taken");
    if (!err && id) *id = sid;
    return err;
}

/* Reads the document of filter and its user; NOT_FOUND when either is
 * missing. */
static vigil_err_t mga_one_joined(vigil_store_t *store, vigil__mongo_coll_t which,
                                  const bson_t *filter, bson_t *doc, bson_t *user, const char *what,
                                  char *errstr, size_t errstr_size)
{
    vigil_err_t err = mga_one(store, which, filter, doc, what, errstr, errstr_size);
    if (err) return err;
    err = mga_by_id(store, VIGIL__MG_USERS, vigil__mongo_i64(doc, "user_id"), user, what, errstr,
                    errstr_size);
    if (err) bson_destroy(doc);
    return err;
}

static vigil_err_t mga_session_get(vigil_store_t *store, const char *sid_hash,
                                   vigil_store_session_t *out, char *errstr, size_t errstr_size)
{
    bson_t *filter = BCON_NEW("sid_hash", BCON_UTF8(sid_hash));
    bson_t doc, user;
    vigil_err_t err = mga_one_joined(store, VIGIL__MG_SESSIONS, filter, &doc, &user,
                                     "read session", errstr, errstr_size);
    bson_destroy(filter);
    if (err == VIGIL_ERR_NOT_FOUND) return vigil__store_no_such("session", 0, errstr, errstr_size);
    if (err) return err;
    mga_row_t row = {&doc, &user, mga_session_keys};
    vigil__store_session_from_cols(&MGA_COLS(&row), out);
    bson_destroy(&doc);
    bson_destroy(&user);
    return VIGIL_OK;
}

/* Sets the last-seen time of a session or token to now_us (only forward). */
static vigil_err_t mga_touch(vigil_store_t *store, vigil__mongo_coll_t which, const char *field,
                             int64_t id, int64_t now_us, char *errstr, size_t errstr_size)
{
    bson_t *filter = BCON_NEW("_id", BCON_INT64(id), field, "{", "$lt", BCON_INT64(now_us), "}");
    bson_t *update = BCON_NEW("$set", "{", field, BCON_INT64(now_us), "}");
    vigil_err_t err = mga_write(store, which, filter, update, NULL, "touch", errstr, errstr_size);
    bson_destroy(filter);
    bson_destroy(update);
    return err;
}

static vigil_err_t mga_session_touch(vigil_store_t *store, int64_t id, int64_t now_us,
                                     char *errstr, size_t errstr_size)
{
    return mga_touch(store, VIGIL__MG_SESSIONS, "last_seen_us", id, now_us, errstr, errstr_size);
}

static int mga_session_elem(const vigil__cols_t *c, void *elem)
{
    vigil_store_session_t full;
    vigil__store_session_from_cols(c, &full);
    *(vigil_session_info_t *)elem = full.info;
    return 0;
}

static vigil_err_t mga_session_list(vigil_store_t *store, int64_t user_id, int64_t now_us,
                                    vigil_session_info_t **out, size_t *n, char *errstr,
                                    size_t errstr_size)
{
    mga_list_t l = {.store = store, .size = sizeof(vigil_session_info_t),
                    .max = VIGIL__STORE_ACCOUNT_ROWS_MAX, .keys = mga_session_keys,
                    .read = mga_session_elem, .join_user = 1};
    bson_t *filter = user_id ? BCON_NEW("user_id", BCON_INT64(user_id), "expires_us", "{", "$gt",
                                        BCON_INT64(now_us), "}")
                             : BCON_NEW("expires_us", "{", "$gt", BCON_INT64(now_us), "}");
    void *rows = NULL;
    vigil_err_t err = mga_list(store, VIGIL__MG_SESSIONS, filter, "_id", -1, &l, "list sessions",
                               &rows, n, errstr, errstr_size);
    bson_destroy(filter);
    if (!err) *out = rows;
    return err;
}

/* Deletes document id of which (only user_id's when user_id != 0);
 * NOT_FOUND "no what" if none went. */
static vigil_err_t mga_delete_owned(vigil_store_t *store, vigil__mongo_coll_t which, int64_t id,
                                    int64_t user_id, const char *what, char *errstr,
                                    size_t errstr_size)
{
    bson_t *filter = user_id ? BCON_NEW("_id", BCON_INT64(id), "user_id", BCON_INT64(user_id))
                             : BCON_NEW("_id", BCON_INT64(id));
    int64_t gone = 0;
    vigil_err_t err = mga_write(store, which, filter, NULL, &gone, "delete", errstr, errstr_size);
    bson_destroy(filter);
    if (!err && gone == 0) return vigil__store_no_such(what, id, errstr, errstr_size);
    return err;
}

static vigil_err_t mga_session_delete(vigil_store_t *store, int64_t id, int64_t user_id,
                                      const char *sid_hash, char *errstr, size_t errstr_size)
{
    if (!sid_hash)
        return mga_delete_owned(store, VIGIL__MG_SESSIONS, id, user_id, "session", errstr,
                                errstr_size);
    bson_t *filter = BCON_NEW("sid_hash", BCON_UTF8(sid_hash));
    int64_t gone = 0;
    vigil_err_t err = mga_write(store, VIGIL__MG_SESSIONS, filter, NULL, &gone, "delete session",
                                errstr, errstr_size);
    bson_destroy(filter);
    if (!err && gone == 0) return vigil__store_no_such("session", 0, errstr, errstr_size);
    return err;
}

/* ---- tokens -------------------------------------------------------------- */

static vigil_err_t mga_token_insert(vigil_store_t *store, const vigil_token_info_t *t,
                                    const char *token_hash, int64_t *id, char *errstr,
                                    size_t errstr_size)
{
    int64_t tid = 0;
    vigil_err_t err = mga_user_exists(store, t->user_id, errstr, errstr_size);
    if (!err) err = mga_next_id(store, "api_tokens", &tid, errstr, errstr_size);
    if (err) return err;
    bson_t *doc = BCON_NEW("_id", BCON_INT64(tid), "user_id", BCON_INT64(t->user_id),
                           "token_hash", BCON_UTF8(token_hash), "prefix", BCON_UTF8(t->prefix),
                           "name", BCON_UTF8(t->name), "write_scope",
                           BCON_INT32(t->write_scope ? 1 : 0), "created_us",
                           BCON_INT64(t->created_us), "expires_us", BCON_INT64(t->expires_us),
                           "last_used_us", BCON_INT64(0));
    err = mga_insert(store, VIGIL__MG_TOKENS, doc, "add token", errstr, errstr_size);
    bson_destroy(doc);
    if (err == VIGIL_ERR_EXISTS)
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_EXISTS, "add token: the token is taken");
    if (!err && id) *id = tid;
    return err;
}

static vigil_err_t mga_token_get(vigil_store_t *store, const char *token_hash,
                                 vigil_store_token_t *out, char *errstr, size_t errstr_size)
{
    bson_t *filter = BCON_NEW("token_hash", BCON_UTF8(token_hash));
    bson_t doc, user;
    vigil_err_t err = mga_one_joined(store, VIGIL__MG_TOKENS, filter, &doc, &user, "read token",
                                     errstr, errstr_size);
    bson_destroy(filter);
    if (err == VIGIL_ERR_NOT_FOUND) return vigil__store_no_such("token", 0, errstr, errstr_size);
    if (err) return err;
    mga_row_t row = {&doc, &user, mga_token_keys};
    vigil__store_token_from_cols(&MGA_COLS(&row), out);
    bson_destroy(&doc);
    bson_destroy(&user);
    return VIGIL_OK;
}

static vigil_err_t mga_token_touch(vigil_store_t *store, int64_t id, int64_t now_us,
                                   char *errstr, size_t errstr_size)
{
    return mga_touch(store, VIGIL__MG_TOKENS, "last_used_us", id, now_us, errstr, errstr_size);
}

static int mga_token_elem(const vigil__cols_t *c, void *elem)
{
    vigil_store_token_t full;
    vigil__store_token_from_cols(c, &full);
    *(vigil_token_info_t *)elem = full.info;
    return 0;
}

static vigil_err_t mga_token_list(vigil_store_t *store, int64_t user_id,
                                  vigil_token_info_t **out, size_t *n, char *errstr,
                                  size_t errstr_size)
{
    mga_list_t l = {.store = store, .size = sizeof(vigil_token_info_t),
                    .max = VIGIL__STORE_ACCOUNT_ROWS_MAX, .keys = mga_token_keys,
                    .read = mga_token_elem, .join_user = 1};
    bson_t *filter = user_id ? BCON_NEW("user_id", BCON_INT64(user_id)) : bson_new();
    void *rows = NULL;
    vigil_err_t err = mga_list(store, VIGIL__MG_TOKENS, filter, "_id", 1, &l, "list tokens",
                               &rows, n, errstr, errstr_size);
    bson_destroy(filter);
    if (!err) *out = rows;
    return err;
}

static vigil_err_t mga_token_delete(vigil_store_t *store, int64_t id, int64_t user_id,
                                    char *errstr, size_t errstr_size)
{
    return mga_delete_owned(store, VIGIL__MG_TOKENS, id, user_id, "token", errstr, errstr_size);
}

/* ---- passkeys ------------------------------------------------------------ */

static int mga_passkey_elem(const vigil__cols_t *c, void *elem)
{
    return vigil__store_passkey_from_cols(c, elem);
}
static void mga_passkey_release(void *elem)
{
    vigil_passkey_free_fields(elem);
}

static vigil_err_t mga_passkey_insert(vigil_store_t *store, const vigil_passkey_t *pk,
                                      int64_t *id, char *errstr, size_t errstr_size)
{
    int64_t pid = 0;
    vigil_err_t err = mga_user_exists(store, pk->user_id, errstr, errstr_size);
    if (!err) err = mga_next_id(store, "passkeys", &pid, errstr, errstr_size);
    if (err) return err;
    bson_t *doc = BCON_NEW("_id", BCON_INT64(pid), "user_id", BCON_INT64(pk->user_id), "name",
                           BCON_UTF8(pk->name), "cred_id",
                           BCON_BIN(BSON_SUBTYPE_BINARY, pk->cred_id, (uint32_t)pk->cred_id_len),
                           "cose_key",
                           BCON_BIN(BSON_SUBTYPE_BINARY, pk->cose_key, (uint32_t)pk->cose_key_len),
                           "sign_count", BCON_INT64(pk->sign_count), "created_us",
                           BCON_INT64(pk->created_us), "last_used_us", BCON_INT64(0));
    err = mga_insert(store, VIGIL__MG_PASSKEYS, doc, "add passkey", errstr, errstr_size);
    bson_destroy(doc);
    if (err == VIGIL_ERR_EXISTS) return vigil__store_passkey_exists(errstr, errstr_size);
    if (!err && id) *id = pid;
    return err;
}

static vigil_err_t mga_passkey_get(vigil_store_t *store, const uint8_t *cred_id, size_t len,
                                   vigil_passkey_t *pk, char *errstr, size_t errstr_size)
{
    bson_t *filter = BCON_NEW("cred_id", BCON_BIN(BSON_SUBTYPE_BINARY, cred_id, (uint32_t)len));
    bson_t doc;
    vigil_err_t err = mga_one(store, VIGIL__MG_PASSKEYS, filter, &doc, "read passkey", errstr,
                              errstr_size);
    bson_destroy(filter);
    if (err == VIGIL_ERR_NOT_FOUND) return vigil__store_no_such("passkey", 0, errstr, errstr_size);
    if (err) return err;
    mga_row_t row = {&doc, NULL, mga_passkey_keys};
    if (vigil__store_passkey_from_cols(&MGA_COLS(&row), pk) != 0) {
        vigil_passkey_free_fields(pk);
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM,
                           "out of memory reading a passkey");
    }
    bson_destroy(&doc);
    return err;
}

static vigil_err_t mga_passkey_list(vigil_store_t *store, int64_t user_id,
                                    vigil_passkey_t **out, size_t *n, char *errstr,
                                    size_t errstr_size)
{
    mga_list_t l = {.store = store, .size = sizeof(vigil_passkey_t),
                    .max = VIGIL__STORE_ACCOUNT_ROWS_MAX, .keys = mga_passkey_keys,
                    .read = mga_passkey_elem, .release = mga_passkey_release};
    bson_t *filter = BCON_NEW("user_id", BCON_INT64(user_id));
    void *rows = NULL;
    vigil_err_t err = mga_list(store, VIGIL__MG_PASSKEYS, filter, "_id", 1, &l, "list passkeys",
                               &rows, n, errstr, errstr_size);
    bson_destroy(filter);
    if (!err) *out = rows;
    return err;
}

static vigil_err_t mga_passkey_update_count(vigil_store_t *store, int64_t id,
                                            uint32_t sign_count, int64_t now_us, char *errstr,
                                            size_t errstr_size)
{
    /* the count must grow; 0 after 0 (an authenticator without a counter) */
    bson_t *filter = sign_count == 0
                         ? BCON_NEW("_id", BCON_INT64(id), "sign_count", BCON_INT64(0))
                         : BCON_NEW("_id", BCON_INT64(id), "sign_count", "{", "$lt",
                                    BCON_INT64((int64_t)sign_count), "}");
    bson_t *update = BCON_NEW("$set", "{", "sign_count", BCON_INT64((int64_t)sign_count),
                              "last_used_us", BCON_INT64(now_us), "}");
    int64_t matched = 0;
    vigil_err_t err = mga_write(store, VIGIL__MG_PASSKEYS, filter, update, &matched,
                                "update passkey", errstr, errstr_size);
    bson_destroy(filter);
    bson_destroy(update);
    if (err || matched > 0) return err;
    bson_t doc;
    err = mga_by_id(store, VIGIL__MG_PASSKEYS, id, &doc, "read passkey", errstr, errstr_size);
    if (err == VIGIL_ERR_NOT_FOUND) return vigil__store_no_such("passkey", id, errstr, errstr_size);
    if (err) return err;
    int64_t stored = vigil__mongo_i64(&doc, "sign_count");
    bson_destroy(&doc);
    return vigil__store_sign_count_stale(id, sign_count, stored, errstr, errstr_size);
}

static vigil_err_t mga_passkey_delete(vigil_store_t *store, int64_t id, int64_t user_id,
                                      char *errstr, size_t errstr_size)
{
    return mga_delete_owned(store, VIGIL__MG_PASSKEYS, id, user_id, "passkey", errstr,
                            errstr_size);
}

/* ---- challenges ---------------------------------------------------------- */

static vigil_err_t mga_challenge_insert(vigil_store_t *store, const char *purpose,
                                       const char *hash, int64_t user_id, int64_t now_us,
                                       int64_t expires_us, char *errstr, size_t errstr_size)
{
    int64_t cid = 0;
    vigil_err_t err = mga_expire(store, 1, now_us, VIGIL__STORE_EXPIRED_PER_INSERT, NULL, errstr,
                                 errstr_size);
    if (!err && user_id) err = mga_user_exists(store, user_id, errstr, errstr_size);
    if (!err) err = mga_next_id(store, "challenges", &cid, errstr, errstr_size);
    if (err) return err;
    bson_t *doc = BCON_NEW("_id", BCON_INT64(cid), "purpose", BCON_UTF8(purpose),
                           "challenge_hash", BCON_UTF8(hash), "user_id", BCON_INT64(user_id),
                           "created_us", BCON_INT64(now_us), "expires_us", BCON_INT64(expires_us));
    err = mga_insert(store, VIGIL__MG_CHALLENGES, doc, "add challenge", errstr, errstr_size);
    bson_destroy(doc);
    if (err == VIGIL_ERR_EXISTS)
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_EXISTS,
                           "add challenge: the %s challenge exists", purpose);
    return err;
}

/* Read, then delete_one by _id: of two replicas taking the same challenge
 * one deletes it. */
static vigil_err_t mga_challenge_take(vigil_store_t *store, const char *purpose,
                                      const char *hash, int64_t now_us, int64_t *user_id,
                                      char *errstr, size_t errstr_size)
{
    bson_t *filter = BCON_NEW("purpose", BCON_UTF8(purpose), "challenge_hash", BCON_UTF8(hash));
    bson_t doc;
    vigil_err_t err = mga_one(store, VIGIL__MG_CHALLENGES, filter, &doc, "take challenge", errstr,
                              errstr_size);
    bson_destroy(filter);
    if (err == VIGIL_ERR_NOT_FOUND)
        return vigil__store_challenge_missing(purpose, errstr, errstr_size);
    if (err) return err;
    int64_t cid = vigil__mongo_i64(&doc, "_id");
    int64_t uid = vigil__mongo_i64(&doc, "user_id");
    int64_t expires = vigil__mongo_i64(&doc, "expires_us");
    bson_destroy(&doc);
    bson_t *byid = BCON_NEW("_id", BCON_INT64(cid));
    int64_t gone = 0;
    err = mga_write(store, VIGIL__MG_CHALLENGES, byid, NULL, &gone, "take challenge", errstr,
                    errstr_size);
    bson_destroy(byid);
    if (err) return err;
    if (gone == 0 || expires <= now_us)
        return vigil__store_challenge_missing(purpose, errstr, errstr_size);
    *user_id = uid;
    return VIGIL_OK;
}

/* ---- audit log ----------------------------------------------------------- */

static vigil_err_t mga_audit_insert(vigil_store_t *store, const vigil_audit_row_t *row,
                                    char *errstr, size_t errstr_size)
{
    int64_t aid = 0;
    vigil_err_t err = mga_next_id(store, "audit_log", &aid, errstr, errstr_size);
    if (err) return err;
    bson_t *doc = BCON_NEW("_id", BCON_INT64(aid), "time_us", BCON_INT64(row->time_us), "user",
                           BCON_UTF8(row->user), "client_ip", BCON_UTF8(row->client_ip), "action",
                           BCON_UTF8(row->action), "target", BCON_UTF8(row->target));
    if (row->detail)
        BSON_APPEND_UTF8(doc, "detail", row->detail);
    else
        BSON_APPEND_NULL(doc, "detail"); /* NULL stays NULL */
    err = mga_insert(store, VIGIL__MG_AUDIT, doc, "add audit row", errstr, errstr_size);
    bson_destroy(doc);
    if (err == VIGIL_ERR_EXISTS) err = VIGIL_OK; /* cannot be: ids are claimed */
    return err;
}

static int mga_audit_elem(const vigil__cols_t *c, void *elem)
{
    return vigil__store_audit_from_cols(c, elem);
}
static void mga_audit_release(void *elem)
{
    free(((vigil_audit_row_t *)elem)->detail);
}

static vigil_err_t mga_audit_list(vigil_store_t *store, int64_t before_id, int limit,
                                  vigil_audit_row_t **out, size_t *n, char *errstr,
                                  size_t errstr_size)
{
    mga_list_t l = {.store = store, .size = sizeof(vigil_audit_row_t),
                    .max = limit > 0 ? (size_t)limit : 0, .keys = mga_audit_keys,
                    .read = mga_audit_elem, .release = mga_audit_release};
    bson_t *filter =
        BCON_NEW("_id", "{", "$lt", BCON_INT64(before_id > 0 ? before_id : INT64_MAX), "}");
    void *rows = NULL;
    vigil_err_t err = mga_list(store, VIGIL__MG_AUDIT, filter, "_id", -1, &l, "list audit log",
                               &rows, n, errstr, errstr_size);
    bson_destroy(filter);
    if (!err) *out = rows;
    return err;
}

static vigil_err_t mga_sweep_expired(vigil_store_t *store, int challenges, int64_t now_us,
                                     size_t limit, int64_t *deleted)
{
    return mga_expire(store, challenges, now_us, limit, deleted, store->errbuf,
                      sizeof(store->errbuf));
}

const vigil__store_accounts_ops_t vigil__mongo_accounts_ops = {
    .user_insert = mga_user_insert,
    .user_get = mga_user_get,
    .user_list = mga_user_list,
    .user_count = mga_user_count,
    .user_update = mga_user_update,
    .user_delete = mga_user_delete,
    .user_login_result = mga_user_login_result,
    .session_insert = mga_session_insert,
    .session_get = mga_session_get,
    .session_touch = mga_session_touch,
    .session_list = mga_session_list,
    .session_delete = mga_session_delete,
    .token_insert = mga_token_insert,
    .token_get = mga_token_get,
    .token_touch = mga_token_touch,
    .token_list = mga_token_list,
    .token_delete = mga_token_delete,
    .passkey_insert = mga_passkey_insert,
    .passkey_get = mga_passkey_get,
    .passkey_list = mga_passkey_list,
    .passkey_update_count = mga_passkey_update_count,
    .passkey_delete = mga_passkey_delete,
    .challenge_insert = mga_challenge_insert,
    .challenge_take = mga_challenge_take,
    .audit_insert = mga_audit_insert,
    .audit_list = mga_audit_list,
    .sweep_expired = mga_sweep_expired,
};
