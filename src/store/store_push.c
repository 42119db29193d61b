/* The push-subscriptions front of the warehouse (store.h, "push
 * subscriptions"): argument checks, metrics, dispatch to the backend
 * (store_push_int.h). What a valid endpoint, key or filter is, is the API's
 * and the push module's to decide; here only lengths and termination.
 *
 * Thread: a handle is used by one thread at a time (store.h). */
#include <stdlib.h>
#include <string.h>

#include "store/store_push_int.h"
#include "vigil/clock.h"

#define PUSH_OPS(store) ((store)->ops->push)

#define PUSH_BEGIN(store, errstr, errstr_size)                                                   \
    do {                                                                                         \
        if (!(store))                                                                            \
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "no store");             \
        if (!PUSH_OPS(store))                                                                    \
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,                      \
                                "the %s store has no push subscriptions", (store)->ops->name);   \
        (store)->errbuf[0] = '\0';                                                               \
    } while (0)

#define TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

vigil_err_t vigil_store_push_sub_put(vigil_store_t *store, const vigil_push_sub_t *sub,
                                     int64_t *id, char *errstr, size_t errstr_size)
{
    PUSH_BEGIN(store, errstr, errstr_size);
    if (!sub || !id || sub->user_id <= 0 || !TERMINATED(sub->endpoint) || !sub->endpoint[0] ||
        !TERMINATED(sub->p256dh) || !sub->p256dh[0] || !TERMINATED(sub->auth) || !sub->auth[0] ||
        !sub->filters || strnlen(sub->filters, VIGIL_PUSH_FILTERS_MAX + 1) > VIGIL_PUSH_FILTERS_MAX)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "store: invalid push subscription");
    int64_t t0 = vigil_mono_us();
    vigil_err_t err = PUSH_OPS(store)->sub_put(store, sub, id, errstr, errstr_size);
    return vigil__store_done(store, VIGIL__OP_PUSH, t0, err);
}

vigil_err_t vigil_store_push_sub_list(vigil_store_t *store, int64_t user_id,
                                      vigil_push_sub_t **rows, size_t *n, char *errstr,
                                      size_t errstr_size)
{
    if (rows) *rows = NULL;
    if (n) *n = 0;
    PUSH_BEGIN(store, errstr, errstr_size);
    if (!rows || !n || user_id < 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "store: invalid arguments");
    int64_t t0 = vigil_mono_us();
    vigil_err_t err = PUSH_OPS(store)->sub_list(store, user_id, rows, n, errstr, errstr_size);
    return vigil__store_done(store, VIGIL__OP_PUSH, t0, err);
}

vigil_err_t vigil_store_push_sub_delete(vigil_store_t *store, int64_t id, int64_t user_id,
                                        char *errstr, size_t errstr_size)
{
    PUSH_BEGIN(store, errstr, errstr_size);
    if (id <= 0 || user_id < 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "store: invalid arguments");
    int64_t t0 = vigil_mono_us();
    vigil_err_t err = PUSH_OPS(store)->sub_delete(store, id, user_id, NULL, errstr, errstr_size);
    return vigil__store_done(store, VIGIL__OP_PUSH, t0, err);
}

vigil_err_t vigil_store_push_sub_delete_endpoint(vigil_store_t *store, const char *endpoint,
                                                 char *errstr, size_t errstr_size)
{
    PUSH_BEGIN(store, errstr, errstr_size);
    if (!endpoint || !*endpoint || strnlen(endpoint, VIGIL_PUSH_ENDPOINT_MAX + 1) >
                                       VIGIL_PUSH_ENDPOINT_MAX)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "store: invalid arguments");
    int64_t t0 = vigil_mono_us();
    vigil_err_t err = PUSH_OPS(store)->sub_delete(store, 0, 0, endpoint, errstr, errstr_size);
    return vigil__store_done(store, VIGIL__OP_PUSH, t0, err);
}

void vigil_push_subs_free(vigil_push_sub_t *rows, size_t n)
{
    if (!rows) return;
    for (size_t i = 0; i < n; i++) free(rows[i].filters);
    free(rows);
}
