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

/* ---- what the backends decide alike (store_resources.c) ----------------
 *
 * A backend reads what the warehouse holds inside the write's transaction
 * and asks these whether the write may go on; each returns VIGIL_OK or the
 * error, with errstr saying why (the same words on every backend). */

/* What the warehouse holds of a camera id. */
typedef struct vigil__camera_state {
    int found;
    int removed;     /* a removed API camera (its row stays, marked) */
    char origin[16]; /* VIGIL_CAMERA_ORIGIN_* */
} vigil__camera_state_t;

typedef enum vigil__camera_write {
    VIGIL__CAMERA_CREATE,  /* an API camera that is not there (or was removed) */
    VIGIL__CAMERA_REPLACE, /* an API camera that is there */
    VIGIL__CAMERA_REMOVE,  /* likewise */
    VIGIL__CAMERA_SWITCH,  /* a configured or external camera: never the API's */
} vigil__camera_write_t;

/* Whether write may go on for camera id in state st: EXISTS, NOT_FOUND. A
 * create then counts the API's cameras (vigil__store_camera_count_check). */
vigil_err_t vigil__store_camera_write_check(vigil__camera_write_t write, const char *id,
                                            const vigil__camera_state_t *st, char *errstr,
                                            size_t errstr_size);
/* The API's cameras are bounded like everything from outside: count of them
 * at VIGIL__STORE_API_ROWS_MAX is VIGIL_ERR_FULL. */
vigil_err_t vigil__store_camera_count_check(int64_t count, char *errstr, size_t errstr_size);
/* A rule set write that names a version (*version >= 0) other than the
 * stored one (current, 0 = none) is VIGIL_ERR_AGAIN, *version set to it. */
vigil_err_t vigil__store_rules_version_check(const char *camera_id, int64_t current,
                                             int64_t *version, char *errstr,
                                             size_t errstr_size);
/* No rule set of the API for the camera: VIGIL_ERR_NOT_FOUND. */
vigil_err_t vigil__store_rules_missing(const char *camera_id, char *errstr, size_t errstr_size);
/* An event delete: NOT_FOUND, or INVALID while it is open. */
vigil_err_t vigil__store_event_delete_check(int64_t id, int found, int open, char *errstr,
                                            size_t errstr_size);

/* sqlite_search.c */
vigil_err_t vigil__sq_search(vigil_store_t *store, const vigil_search_query_t *q,
                             vigil_search_result_t *res, char *errstr, size_t errstr_size);

#endif
