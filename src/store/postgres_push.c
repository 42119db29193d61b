/* Push subscriptions in PostgreSQL (store.h, "push subscriptions"; the
 * table of postgres_schema.c step 6, as sqlite_push.c). A put counts the
 * user's other subscriptions and upserts on the endpoint in one transaction
 * holding the advisory lock "vigil.push/USER", so two API replicas cannot
 * both slip past the per-user cap (BEGIN IMMEDIATE does that in SQLite).
 * Lists of every user's subscriptions (the push service's) join users: a
 * deleted user's rows receive nothing.
 *
 * Thread: the handle's thread. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres_exec.h"
#include "store/store_push_int.h"

#define PGP_COLS "s.id, s.user_id, s.endpoint, s.p256dh, s.auth, s.filters, s.created_us"
#define PGP_SLOT(which) (VIGIL__PG_SLOTS_PUSH + (int)(which))

typedef enum {
    PGP_COUNT_USER,
    PGP_UPSERT,
    PGP_LIST_USER,
    PGP_LIST_ALL,
    PGP_DELETE,
    PGP_DELETE_ENDPOINT,
    PGP_COUNT_
} pgp_stmt_t;

_Static_assert(VIGIL__PG_SLOTS_PUSH + PGP_COUNT_ <= VIGIL__PG_SLOTS_SEARCH,
               "postgres_int.h: the push prepared slots overflow");

static const char *const pgp_sql[PGP_COUNT_] = {
    [PGP_COUNT_USER] = "SELECT count(*) FROM push_subscriptions WHERE user_id = $1 "
                       "AND endpoint <> $2",
    [PGP_UPSERT] = "INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, filters, "
                   "created_us) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (endpoint) DO UPDATE "
                   "SET user_id = excluded.user_id, p256dh = excluded.p256dh, "
                   "auth = excluded.auth, filters = excluded.filters, "
                   "created_us = excluded.created_us RETURNING id",
    [PGP_LIST_USER] = "SELECT " PGP_COLS " FROM push_subscriptions s WHERE s.user_id = $2 "
                      "ORDER BY s.id LIMIT $1",
    [PGP_LIST_ALL] = "SELECT " PGP_COLS " FROM push_subscriptions s JOIN users u "
                     "ON u.id = s.user_id ORDER BY s.id LIMIT $1",
    [PGP_DELETE] = "DELETE FROM push_subscriptions WHERE id = $1 AND "
                   "($2::bigint = 0 OR user_id = $2::bigint)",
    [PGP_DELETE_ENDPOINT] = "DELETE FROM push_subscriptions WHERE endpoint = $1",
};

static PGresult *pgp_exec(vigil_store_t *store, pgp_stmt_t which, const vigil__pgx_params_t *p,
                          const char *what, vigil_err_t *err, char *errstr, size_t errstr_size)
{
    return vigil__pgx_exec(store, PGP_SLOT(which), pgp_sql[which], p, what, err, errstr,
                           errstr_size);
}

static vigil_err_t pgp_put(vigil_store_t *store, const vigil_push_sub_t *sub, int64_t *id,
                           char *errstr, size_t errstr_size)
{
    char key[48];
    vigil__pgx_params_t p = {0};
    snprintf(key, sizeof(key), "vigil.push/%" PRId64, sub->user_id);
    vigil_err_t err = vigil__pgx_begin(store, errstr, errstr_size);
    if (err) return err;
    if ((err = vigil__pgx_lock(store, key, errstr, errstr_size))) goto done;
    vigil__pgx_int(&p, sub->user_id);
    vigil__pgx_text(&p, sub->endpoint);
    PGresult *r = pgp_exec(store, PGP_COUNT_USER, &p, "count push subscriptions", &err, errstr,
                           errstr_size);
    if (!r) goto done;
    int64_t count = vigil__pg_int64(r, 0, 0);
    PQclear(r);
    if (count >= VIGIL_PUSH_SUBS_PER_USER) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_FULL,
                           "a user has at most %d push subscriptions", VIGIL_PUSH_SUBS_PER_USER);
        goto done;
    }
    vigil__pgx_params_t q = {0};
    vigil__pgx_int(&q, sub->user_id);
    vigil__pgx_text(&q, sub->endpoint);
    vigil__pgx_text(&q, sub->p256dh);
    vigil__pgx_text(&q, sub->auth);
    vigil__pgx_text(&q, sub->filters ? sub->filters : "{}");
    vigil__pgx_int(&q, sub->created_us);
    r = pgp_exec(store, PGP_UPSERT, &q, "insert push subscription", &err, errstr, errstr_size);
    if (!r) goto done;
    *id = vigil__pg_int64(r, 0, 0);
    PQclear(r);
done:
    return vigil__pgx_end(store, err, errstr, errstr_size);
}

/* A subscription row; -1 when its filters cannot be copied. */
static int pgp_row(const PGresult *r, int i, void *elem)
{
    vigil_push_sub_t *s = elem;
    s->id = vigil__pg_int64(r, i, 0);
    s->user_id = vigil__pg_int64(r, i, 1);
    vigil__pg_text(r, i, 2, s->endpoint, sizeof(s->endpoint));
    vigil__pg_text(r, i, 3, s->p256dh, sizeof(s->p256dh));
    vigil__pg_text(r, i, 4, s->auth, sizeof(s->auth));
    s->filters = strdup(PQgetisnull(r, i, 5) ? "{}" : PQgetvalue(r, i, 5));
    s->created_us = vigil__pg_int64(r, i, 6);
    return s->filters ? 0 : -1;
}

static void pgp_release(void *elem)
{
    free(((vigil_push_sub_t *)elem)->filters);
}

static vigil_err_t pgp_list(vigil_store_t *store, int64_t user_id, vigil_push_sub_t **rows,
                            size_t *n, char *errstr, size_t errstr_size)
{
    static const vigil__pgx_rows_t how = {sizeof(vigil_push_sub_t), pgp_row, pgp_release,
                                          "store: out of memory"};
    pgp_stmt_t which = user_id ? PGP_LIST_USER : PGP_LIST_ALL;
    vigil__pgx_params_t p = {0};
    void *out = NULL;
    vigil__pgx_int(&p, VIGIL_PUSH_SUBS_MAX);
    if (user_id) vigil__pgx_int(&p, user_id);
    vigil_err_t err = vigil__pgx_list(store, PGP_SLOT(which), pgp_sql[which], &p,
                                      "list push subscriptions", &how, VIGIL_PUSH_SUBS_MAX, &out,
                                      n, NULL, errstr, errstr_size);
    if (err == VIGIL_OK) *rows = out;
    return err;
}

static vigil_err_t pgp_delete(vigil_store_t *store, int64_t id, int64_t user_id,
                              const char *endpoint, char *errstr, size_t errstr_size)
{
    pgp_stmt_t which = endpoint ? PGP_DELETE_ENDPOINT : PGP_DELETE;
    vigil__pgx_params_t p = {0};
    int64_t changes = 0;
    if (endpoint) {
        vigil__pgx_text(&p, endpoint);
    } else {
        vigil__pgx_int(&p, id);
        vigil__pgx_int(&p, user_id);
    }
    vigil_err_t err = vigil__pgx_run(store, PGP_SLOT(which), pgp_sql[which], &p,
                                     "delete push subscription", &changes, errstr, errstr_size);
    if (err) return err;
    if (changes == 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND,
                            "no such push subscription");
    return VIGIL_OK;
}

const vigil__store_push_ops_t vigil__pg_push_ops = {
    .sub_put = pgp_put,
    .sub_list = pgp_list,
    .sub_delete = pgp_delete,
};
