/* The resources half of the backend interface (store.h, section
 * "resources"): what a backend implements so that the API can manage
 * cameras and rule sets, review and delete events, search and report
 * storage.
 *
 * store_resources.c checks every argument (ids, lengths, limits, list
 * sizes) and counts and times the operation; a backend (sqlite_resources.c
 * and sqlite_search.c, later postgres) only runs its statements. Writes that
 * read before they write (a create that must not overwrite, a rule set
 * compared with its version, a review of many events) are one transaction
 * each, so that two API replicas racing on the same row see one winner.
 *
 * Every function fills errstr (may be NULL) on failure. */
#ifndef VIGIL_STORE_RESOURCES_INT_H
#define VIGIL_STORE_RESOURCES_INT_H

#include "store/store_int.h"

/* Most rows of the lists that `vigil run` reads at start. */
#define VIGIL__STORE_API_ROWS_MAX (VIGIL_CAMERAS_MAX * 16)
#define VIGIL__STORE_STORAGE_ROWS_MAX 10000
#define VIGIL__STORE_REVIEW_MAX 1000
#define VIGIL__STORE_RULES_JSON_MAX ((size_t)1 << 20)

typedef struct vigil__store_resources_ops {
    vigil_err_t (*camera_records)(vigil_store_t *store, const char *after_id, int limit,
                                  vigil_camera_record_t **rows, size_t *n, int *more,
                                  char *errstr, size_t errstr_size);
    vigil_err_t (*camera_get)(vigil_store_t *store, const char *id, int with_secret,
                              vigil_camera_record_t *rec, char *errstr, size_t errstr_size);
    vigil_err_t (*camera_put)(vigil_store_t *store, const vigil_camera_record_t *rec, int create,
                              int64_t now_us, char *errstr, size_t errstr_size);
    vigil_err_t (*camera_remove)(vigil_store_t *store, const char *id, int64_t now_us,
                                 char *errstr, size_t errstr_size);
    vigil_err_t (*camera_switch)(vigil_store_t *store, const vigil_camera_row_t *row,
                                 int64_t now_us, char *errstr, size_t errstr_size);
    vigil_err_t (*camera_list_api)(vigil_store_t *store, vigil_camera_record_t **rows, size_t *n,
                                   char *errstr, size_t errstr_size);
    vigil_err_t (*rules_get)(vigil_store_t *store, const char *camera_id, vigil_rules_row_t *row,
                             char *errstr, size_t errstr_size);
    vigil_err_t (*rules_put)(vigil_store_t *store, const char *camera_id, const char *json,
                             int64_t *version, int64_t now_us, const char *by, char *errstr,
                             size_t errstr_size);
    vigil_err_t (*rules_list)(vigil_store_t *store, vigil_rules_row_t **rows, size_t *n,
                              char *errstr, size_t errstr_size);
    vigil_err_t (*events_review)(vigil_store_t *store, const int64_t *ids, size_t n, int reviewed,
                                 int64_t now_us, const char *by, size_t *updated, char *errstr,
                                 size_t errstr_size);
    /* Deletes the row of a closed event; camera (64 bytes) gets its camera,
     * for the clip file. */
    vigil_err_t (*event_delete)(vigil_store_t *store, int64_t id, char *camera, char *errstr,
                                size_t errstr_size);
    /* q checked: limit, list sizes, strings. res zeroed. */
    vigil_err_t (*search)(vigil_store_t *store, const vigil_search_query_t *q,
                          vigil_search_result_t *res, char *errstr, size_t errstr_size);
    vigil_err_t (*storage)(vigil_store_t *store, vigil_storage_row_t **rows, size_t *n,
                           char *errstr, size_t errstr_size);
} vigil__store_resources_ops_t;

/* sqlite_search.c */
vigil_err_t vigil__sq_search(vigil_store_t *store, const vigil_search_query_t *q,
                             vigil_search_result_t *res, char *errstr, size_t errstr_size);

#endif
