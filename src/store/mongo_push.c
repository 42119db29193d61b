/* Push subscriptions on MongoDB (store.h, "push subscriptions"; the rows of
 * postgres_push.c): the collection push_subscriptions, unique on endpoint,
 * ids from vigil_ids_push_subscriptions.
 *
 * A put is an upsert on the endpoint (its _id only set on insert, so a
 * replaced row keeps its id, as ON CONFLICT ... DO UPDATE does); two
 * replicas inserting the same new endpoint at once: the loser's duplicate
 * key turns into the update it should have been. The per-user cap is a
 * count before the upsert, with no lock between them (no transactions on
 * FerretDB): two replicas may each let a user's 32nd subscription in. The
 * list of every user's subscriptions leaves out those of a deleted user, as
 * PostgreSQL's JOIN does.
 *
 * Thread: a handle is used by one thread at a time (store.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/mongo_int.h"
#include "store/store_push_int.h"

static vigil_err_t mgp_put(vigil_store_t *store, const vigil_push_sub_t *sub, int64_t *id,
                           char *errstr, size_t errstr_size)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    mongoc_collection_t *coll = vigil__mongo_coll(mg, VIGIL__MG_PUSH);
    bson_error_t error;
    bson_t *others = BCON_NEW("user_id", BCON_INT64(sub->user_id), "endpoint", "{", "$ne",
                              BCON_UTF8(sub->endpoint), "}");
    int64_t count = mongoc_collection_count_documents(coll, others, NULL, NULL, NULL, &error);
    bson_destroy(others);
    if (count < 0)
        return vigil__mongo_fail(mg, 0, &error, errstr, errstr_size, "count push subscriptions");
    if (count >= VIGIL_PUSH_SUBS_PER_USER)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_FULL,
                            "a user has at most %d push subscriptions", VIGIL_PUSH_SUBS_PER_USER);
    int64_t fresh = 0;
    vigil_err_t err =
        vigil__mongo_next_ids(mg, "push_subscriptions", 1, &fresh, errstr, errstr_size);
    if (err) return err;
    bson_t *filter = BCON_NEW("endpoint", BCON_UTF8(sub->endpoint));
    bson_t *update = BCON_NEW("$set", "{", "user_id", BCON_INT64(sub->user_id), "p256dh",
                              BCON_UTF8(sub->p256dh), "auth", BCON_UTF8(sub->auth), "filters",
                              BCON_UTF8(sub->filters ? sub->filters : "{}"), "created_us",
                              BCON_INT64(sub->created_us), "}", "$setOnInsert", "{", "_id",
                              BCON_INT64(fresh), "}");
    bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
    for (int attempt = 0; attempt < 2; attempt++) {
        err = VIGIL_OK;
        if (mongoc_collection_update_one(coll, filter, update, opts, NULL, &error)) break;
        err = vigil__mongo_fail(mg, 0, &error, errstr, errstr_size,
                                "insert push subscription");
        if (err != VIGIL_ERR_EXISTS) break; /* else raced an insert: now an update */
    }
    bson_destroy(update);
    bson_destroy(opts);
    if (!err) {
        bson_t *fopts = BCON_NEW("limit", BCON_INT64(1));
        mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, fopts, NULL);
        const bson_t *doc;
        if (mongoc_cursor_next(cur, &doc))
            *id = vigil__mongo_i64(doc, "_id");
        else if (mongoc_cursor_error(cur, &error))
            err = vigil__mongo_fail(mg, 0, &error, errstr, errstr_size,
                                    "read push subscription");
        else /* deleted by another replica just now */
            err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_AGAIN,
                               "push subscription deleted while it was put");
        mongoc_cursor_destroy(cur);
        bson_destroy(fopts);
    }
    bson_destroy(filter);
    return err;
}

/* A list: the rows, and for a list of every user's, the users' ids. */
typedef struct mgp_list {
    vigil_push_sub_t *rows;
    size_t n, cap;
    int64_t *users; /* sorted; NULL: no join */
    size_t n_users, cap_users;
} mgp_list_t;

static vigil_err_t mgp_user_add(void *arg, const bson_t *doc)
{
    mgp_list_t *l = arg;
    if (l->n_users == l->cap_users) {
        size_t cap = l->cap_users ? l->cap_users * 2 : 64;
        int64_t *p = realloc(l->users, cap * sizeof(*p));
        if (!p) return VIGIL_ERR_NOMEM;
        l->users = p;
        l->cap_users = cap;
    }
    l->users[l->n_users++] = vigil__mongo_i64(doc, "_id");
    return VIGIL_OK;
}

static int mgp_has_user(const mgp_list_t *l, int64_t id)
{
    size_t lo = 0, hi = l->n_users;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->users[mid] == id) return 1;
        if (l->users[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static vigil_err_t mgp_row_add(void *arg, const bson_t *doc)
{
    mgp_list_t *l = arg;
    int64_t uid = vigil__mongo_i64(doc, "user_id");
    if (l->users && !mgp_has_user(l, uid)) return VIGIL_OK;
    if (l->n >= VIGIL_PUSH_SUBS_MAX) return VIGIL_OK;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        vigil_push_sub_t *p = realloc(l->rows, cap * sizeof(*p));
        if (!p) return VIGIL_ERR_NOMEM;
        l->rows = p;
        l->cap = cap;
    }
    vigil_push_sub_t *s = &l->rows[l->n];
    memset(s, 0, sizeof(*s));
    s->id = vigil__mongo_i64(doc, "_id");
    s->user_id = uid;
    vigil__mongo_str(doc, "endpoint", s->endpoint, sizeof(s->endpoint));
    vigil__mongo_str(doc, "p256dh", s->p256dh, sizeof(s->p256dh));
    vigil__mongo_str(doc, "auth", s->auth, sizeof(s->auth));
    s->created_us = vigil__mongo_i64(doc, "created_us");
    bson_iter_t it;
    const char *f = "{}";
    uint32_t len = 2;
    if (bson_iter_init_find(&it, doc, "filters") && BSON_ITER_HOLDS_UTF8(&it))
        f = bson_iter_utf8(&it, &len);
    s->filters = malloc((size_t)len + 1);
    if (!s->filters) return VIGIL_ERR_NOMEM;
    memcpy(s->filters, f, len);
    s->filters[len] = '\0';
    l->n++;
    return VIGIL_OK;
}

static vigil_err_t mgp_list(vigil_store_t *store, int64_t user_id, vigil_push_sub_t **rows,
                            size_t *n, char *errstr, size_t errstr_size)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    mgp_list_t l = {0};
    vigil_err_t err = VIGIL_OK;
    if (!user_id) { /* every user's: only of users that exist */
        bson_t empty = BSON_INITIALIZER;
        bson_t *uopts = BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}", "projection", "{",
                                 "_id", BCON_INT32(1), "}");
        err = vigil__mongo_find(mg, VIGIL__MG_USERS, &empty, uopts, mgp_user_add, &l,
                                "list push subscriptions", errstr, errstr_size);
        bson_destroy(uopts);
        if (!err && !l.users) l.users = malloc(sizeof(int64_t)); /* no user: no row */
        if (!l.users && !err) err = VIGIL_ERR_NOMEM;
    }
    if (!err) {
        bson_t *filter = user_id ? BCON_NEW("user_id", BCON_INT64(user_id)) : bson_new();
        bson_t *opts = BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}", "limit",
                                BCON_INT64(VIGIL_PUSH_SUBS_MAX));
        err = vigil__mongo_find(mg, VIGIL__MG_PUSH, filter, opts, mgp_row_add, &l,
                                "list push subscriptions", errstr, errstr_size);
        bson_destroy(filter);
        bson_destroy(opts);
    }
    free(l.users);
    if (err) {
        for (size_t i = 0; i < l.n; i++) free(l.rows[i].filters);
        free(l.rows);
        if (err == VIGIL_ERR_NOMEM)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "store: out of memory");
        return err;
    }
    *rows = l.rows;
    *n = l.n;
    return VIGIL_OK;
}

static vigil_err_t mgp_delete(vigil_store_t *store, int64_t id, int64_t user_id,
                              const char *endpoint, char *errstr, size_t errstr_size)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    bson_t *filter = endpoint  ? BCON_NEW("endpoint", BCON_UTF8(endpoint))
                     : user_id ? BCON_NEW("_id", BCON_INT64(id), "user_id", BCON_INT64(user_id))
                               : BCON_NEW("_id", BCON_INT64(id));
    bson_t reply;
    bson_error_t error;
    vigil_err_t err = VIGIL_OK;
    if (!mongoc_collection_delete_many(vigil__mongo_coll(mg, VIGIL__MG_PUSH), filter, NULL,
                                       &reply, &error))
        err = vigil__mongo_fail(mg, 0, &error, errstr, errstr_size, "delete push subscription");
    else if (vigil__mongo_i64(&reply, "deletedCount") == 0)
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND, "no such push subscription");
    bson_destroy(&reply);
    bson_destroy(filter);
    return err;
}

const vigil__store_push_ops_t vigil__mongo_push_ops = {
    .sub_put = mgp_put,
    .sub_list = mgp_list,
    .sub_delete = mgp_delete,
};
