/* Push subscriptions in SQLite (store.h, "push subscriptions"; schema step
 * 6). A put counts the user's other subscriptions and upserts on the
 * endpoint in one BEGIN IMMEDIATE transaction, so two API replicas cannot
 * both slip past the per-user cap. Lists of every user's subscriptions (the
 * push service's) join users: a deleted user's rows receive nothing.
 *
 * Thread: the handle's thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "store/store_push_int.h"

typedef enum {
    SQP_COUNT_USER,
    SQP_UPSERT,
    SQP_LIST_USER,
    SQP_LIST_ALL,
    SQP_DELETE,
    SQP_DELETE_ENDPOINT,
    SQP_COUNT_
} sqp_stmt_t;

_Static_assert(SQP_COUNT_ <= VIGIL__SQP_SLOTS, "sqlite_int.h: VIGIL__SQP_SLOTS too small");

#define SQP_COLS "s.id, s.user_id, s.endpoint, s.p256dh, s.auth, s.filters, s.created_us"

static const char *const sqp_sql[SQP_COUNT_] = {
    [SQP_COUNT_USER] = "SELECT count(*) FROM push_subscriptions WHERE user_id = ?1 "
                       "AND endpoint <> ?2",
    [SQP_UPSERT] = "INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, filters, "
                   "created_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (endpoint) DO UPDATE "
                   "SET user_id = excluded.user_id, p256dh = excluded.p256dh, "
                   "auth = excluded.auth, filters = excluded.filters, "
                   "created_us = excluded.created_us RETURNING id",
    [SQP_LIST_USER] = "SELECT " SQP_COLS " FROM push_subscriptions s WHERE s.user_id = ?1 "
                      "ORDER BY s.id LIMIT ?2",
    [SQP_LIST_ALL] = "SELECT " SQP_COLS " FROM push_subscriptions s JOIN users u "
                     "ON u.id = s.user_id ORDER BY s.id LIMIT ?2",
    [SQP_DELETE] = "DELETE FROM push_subscriptions WHERE id = ?1 AND (?2 = 0 OR user_id = ?2)",
    [SQP_DELETE_ENDPOINT] = "DELETE FROM push_subscriptions WHERE endpoint = ?1",
};

static sqlite3_stmt *sqp_stmt(vigil__sqlite_t *sq, sqp_stmt_t which)
{
    return vigil__sq_prepare(sq, &sq->push_stmts[which], sqp_sql[which]);
}

void vigil__sq_push_close(vigil__sqlite_t *sq)
{
    for (int i = 0; i < VIGIL__SQP_SLOTS; i++) {
        sqlite3_finalize(sq->push_stmts[i]);
        sq->push_stmts[i] = NULL;
    }
}

static vigil_err_t sqp_prepare_fail(vigil__sqlite_t *sq, char *errstr, size_t errstr_size)
{
    return vigil_seterr(errstr, errstr_size, sq->stmt_err ? sq->stmt_err : VIGIL_ERR_STORE, "%s",
                        sq->base.errbuf);
}

static vigil_err_t sqp_put(vigil_store_t *store, const vigil_push_sub_t *sub, int64_t *id,
                           char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st;
    vigil_err_t err = VIGIL_OK;
    int rc;

    rc = vigil__sq_begin(sq);
    if (rc != SQLITE_OK) return vigil__sq_error(sq, rc, "begin", errstr, errstr_size);
    if (!(st = sqp_stmt(sq, SQP_COUNT_USER))) {
        err = sqp_prepare_fail(sq, errstr, errstr_size);
        goto fail;
    }
    sqlite3_bind_int64(st, 1, sub->user_id);
    sqlite3_bind_text(st, 2, sub->endpoint, -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
        err = vigil__sq_error(sq, rc, "count push subscriptions", errstr, errstr_size);
        goto fail;
    }
    if (sqlite3_column_int64(st, 0) >= VIGIL_PUSH_SUBS_PER_USER) {
        sqlite3_reset(st);
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_FULL,
                           "a user has at most %d push subscriptions", VIGIL_PUSH_SUBS_PER_USER);
        goto fail;
    }
    sqlite3_reset(st);
    if (!(st = sqp_stmt(sq, SQP_UPSERT))) {
        err = sqp_prepare_fail(sq, errstr, errstr_size);
        goto fail;
    }
    sqlite3_bind_int64(st, 1, sub->user_id);
    sqlite3_bind_text(st, 2, sub->endpoint, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, sub->p256dh, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, sub->auth, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, sub->filters, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, sub->created_us);
    if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
        err = vigil__sq_error(sq, rc, "insert push subscription", errstr, errstr_size);
        goto fail;
    }
    *id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
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

/* A subscription row (vigil__sq_rows_t.row); -1 when its filters cannot be copied. */
static int sqp_row(sqlite3_stmt *st, void *elem)
{
    vigil_push_sub_t *r = elem;
    r->id = sqlite3_column_int64(st, 0);
    r->user_id = sqlite3_column_int64(st, 1);
    vigil__sq_text(st, 2, r->endpoint, sizeof(r->endpoint));
    vigil__sq_text(st, 3, r->p256dh, sizeof(r->p256dh));
    vigil__sq_text(st, 4, r->auth, sizeof(r->auth));
    const unsigned char *f = sqlite3_column_text(st, 5);
    r->filters = strdup(f ? (const char *)f : "{}");
    r->created_us = sqlite3_column_int64(st, 6);
    return r->filters ? 0 : -1;
}

static void sqp_release(void *elem)
{
    free(((vigil_push_sub_t *)elem)->filters);
}

static vigil_err_t sqp_list(vigil_store_t *store, int64_t user_id, vigil_push_sub_t **rows,
                            size_t *n, char *errstr, size_t errstr_size)
{
    static const vigil__sq_rows_t how = {sizeof(vigil_push_sub_t), sqp_row, sqp_release,
                                         "list push subscriptions", "store: out of memory"};
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = sqp_stmt(sq, user_id ? SQP_LIST_USER : SQP_LIST_ALL);
    if (!st) return sqp_prepare_fail(sq, errstr, errstr_size);
    if (user_id) sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, VIGIL_PUSH_SUBS_MAX);
    void *out = NULL;
    vigil_err_t err = vigil__sq_collect(sq, st, &how, VIGIL_PUSH_SUBS_MAX, &out, n, NULL, errstr,
                                        errstr_size);
    if (err == VIGIL_OK) *rows = out;
    return err;
}

static vigil_err_t sqp_delete(vigil_store_t *store, int64_t id, int64_t user_id,
                              const char *endpoint, char *errstr, size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    sqlite3_stmt *st = sqp_stmt(sq, endpoint ? SQP_DELETE_ENDPOINT : SQP_DELETE);
    int rc;

    if (!st) return sqp_prepare_fail(sq, errstr, errstr_size);
    if (endpoint) {
        sqlite3_bind_text(st, 1, endpoint, -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, user_id);
    }
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return vigil__sq_error(sq, rc, "delete push subscription", errstr, errstr_size);
    if (sqlite3_changes(sq->db) == 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND,
                            "no such push subscription");
    return VIGIL_OK;
}

const vigil__store_push_ops_t vigil__sq_push_ops = {
    .sub_put = sqp_put,
    .sub_list = sqp_list,
    .sub_delete = sqp_delete,
};
