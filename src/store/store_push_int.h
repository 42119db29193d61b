/* The push-subscriptions part of the backend interface (store.h, "push
 * subscriptions"): what a backend implements; store_push.c checks the
 * arguments and counts the operations first.
 *
 * Every function fills errstr (may be NULL) on failure. */
#ifndef VIGIL_STORE_PUSH_INT_H
#define VIGIL_STORE_PUSH_INT_H

#include "store/store_int.h"

typedef struct vigil__store_push_ops {
    /* One transaction: the per-user cap, then the upsert on endpoint. */
    vigil_err_t (*sub_put)(vigil_store_t *store, const vigil_push_sub_t *sub, int64_t *id,
                           char *errstr, size_t errstr_size);
    vigil_err_t (*sub_list)(vigil_store_t *store, int64_t user_id, vigil_push_sub_t **rows,
                            size_t *n, char *errstr, size_t errstr_size);
    vigil_err_t (*sub_delete)(vigil_store_t *store, int64_t id, int64_t user_id,
                              const char *endpoint, char *errstr, size_t errstr_size);
} vigil__store_push_ops_t;

#endif
