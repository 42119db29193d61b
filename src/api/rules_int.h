/* What rules.c and rules_items.c share: a camera's rule set as loaded for
 * a change, and the write path (load, change, check, store if unchanged,
 * publish, reply). See rules.c for the main idea.
 *
 * Thread: any request worker. */
#ifndef VIGIL_API_RULES_INT_H
#define VIGIL_API_RULES_INT_H

#include "api/api_int.h"

typedef struct vigil__rules_state {
    char camera[64];
    int64_t version; /* 0: the configuration's set (or none) */
    json_t *root;    /* {"zones":[...],"lines":[...]}, owned */
} vigil__rules_state_t;

/* Loads camera's current rule set into *st (the API's, else the
 * configuration's, else an empty one). 0, or -1 with 404 (no such camera:
 * neither in the warehouse nor in the configuration) / 503 in *reply. */
int vigil__rules_load(vigil_api_t *api, vigil_store_t *store, const char *camera,
                      vigil__rules_state_t *st, vigil__reply_t *reply);

/* Changes root (the current set) as the route asks: 0, or -1 with the
 * reply filled (404 no such zone, 409 exists, 400). */
typedef int (*vigil__rules_apply_fn)(json_t *root, void *ctx, vigil__reply_t *reply);

/* The write path. required: If-Match must be present (replace, delete).
 * status: the success status (200, 201). action: the audit action. On
 * success the reply is {"camera","version","zones","lines","applied"} with
 * the new ETag. */
void vigil__rules_write(vigil_api_t *api, vigil__req_t *req, const char *camera, int required,
                        vigil__rules_apply_fn apply, void *ctx, int status, const char *action,
                        vigil__reply_t *reply);

#endif
