/* Internals of the warehouse: the backend vtable and the handle layout.
 *
 * store.c owns what every backend shares: URL dispatch, argument checks,
 * metrics, and the parts that touch the frame directory (framefs.c), so that
 * a backend only talks to its database. A backend (sqlite.c, later
 * postgres.c) fills a vigil_store_ops_t and embeds vigil_store_t as the first
 * member of its own handle struct.
 *
 * Every backend applies the same ordered list of schema migrations and so
 * reaches the same version: VIGIL__STORE_SCHEMA_VERSION. */
#ifndef VIGIL_STORE_INT_H
#define VIGIL_STORE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vigil/log.h"
#include "vigil/metrics.h"
#include "vigil/store.h"

/* The schema version this binary expects; each backend's migration list has
 * exactly this many steps (checked at compile time in the backend). */
#define VIGIL__STORE_SCHEMA_VERSION 7

/* Sweeps delete at most this many rows per transaction so that a big sweep
 * does not hold the write lock for long. */
#define VIGIL__STORE_SWEEP_BATCH 500

/* Bounds of the analytics reads (store.h). */
#define VIGIL__STORE_EVENTS_LIMIT_MAX 1000
#define VIGIL__STORE_COUNT_ROWS_MAX 100000
#define VIGIL__STORE_POINTS_LIMIT_MAX 100000
#define VIGIL__STORE_FRAMES_LIMIT_MAX 100000
#define VIGIL__STORE_MINUTE_US INT64_C(60000000)

typedef enum vigil__store_op {
    VIGIL__OP_MIGRATE,
    VIGIL__OP_CAMERA_UPSERT,
    VIGIL__OP_CAMERA_SET_STATUS,
    VIGIL__OP_CAMERA_LIST,
    VIGIL__OP_FRAME_PUT,
    VIGIL__OP_FRAME_GET,
    VIGIL__OP_FRAME_READ,
    VIGIL__OP_DETECTIONS_PUT,
    VIGIL__OP_DETECTIONS_QUERY,
    VIGIL__OP_EVENT_PUT,
    VIGIL__OP_COUNTS,
    VIGIL__OP_SWEEP,
    VIGIL__OP_ANALYTICS_COMMIT,
    VIGIL__OP_ANALYTICS_STATE_GET,
    VIGIL__OP_ANALYTICS_MAX_TRACK_ID,
    VIGIL__OP_ANALYTICS_EVENTS_QUERY,
    VIGIL__OP_ANALYTICS_EVENT_GET,
    VIGIL__OP_COUNTS_QUERY,
    VIGIL__OP_TRACK_POINTS,
    VIGIL__OP_FRAMES_RANGE,
    VIGIL__OP_RESULTS_PUT,
    VIGIL__OP_FRAMES_UNPROCESSED,
    /* accounts (store_accounts.c): one per table */
    VIGIL__OP_USERS,
    VIGIL__OP_SESSIONS,
    VIGIL__OP_TOKENS,
    VIGIL__OP_PASSKEYS,
    VIGIL__OP_CHALLENGES,
    VIGIL__OP_AUDIT,
    /* the API's resources (store_resources.c) */
    VIGIL__OP_CAMERA_RECORDS,
    VIGIL__OP_CAMERA_WRITE,
    VIGIL__OP_RULES,
    VIGIL__OP_EVENTS_REVIEW,
    VIGIL__OP_EVENT_DELETE,
    VIGIL__OP_SEARCH,
    VIGIL__OP_STORAGE,
    /* push subscriptions (store_push.c) */
    VIGIL__OP_PUSH,
    /* retention by size (store_retention.c) */
    VIGIL__OP_FRAME_USAGE,
    VIGIL__OP_SWEEP_BUDGET,
    VIGIL__OP_COUNT_
} vigil__store_op_t;

/* Which rows a sweep batch deletes. */
typedef enum vigil__sweep_table {
    VIGIL__SWEEP_DETECTIONS,    /* capture_time_us < before */
    VIGIL__SWEEP_EVENTS,        /* time_us < before */
    VIGIL__SWEEP_TRACK_POINTS,  /* time_us < before */
    VIGIL__SWEEP_COUNTS,        /* minutes that ended by before: minute_us + 60 s <= before */
} vigil__sweep_table_t;

/* An analytics event a sweep deleted: what its clip file is named by. */
typedef struct vigil__swept_event {
    char camera_id[VIGIL_CAMERA_ID_MAX];
    int64_t id;
} vigil__swept_event_t;

/* Backend operations. All take the handle they were opened with and run on
 * the handle's single thread. Functions with errstr fill it on failure; the
 * others may describe a failure in store->errbuf (store.c logs it). */
typedef struct vigil_store_ops {
    const char *name; /* "sqlite" */
    void (*close)(vigil_store_t *store);
    /* Applies pending migrations, each in its own transaction. */
    vigil_err_t (*migrate)(vigil_store_t *store, int *from, int *to, char *errstr,
                           size_t errstr_size);
    int (*schema_version)(vigil_store_t *store);

    vigil_err_t (*camera_upsert)(vigil_store_t *store, const vigil_camera_row_t *camera);
    /* VIGIL_ERR_NOT_FOUND if there is no such camera. */
    vigil_err_t (*camera_set_status)(vigil_store_t *store, const char *camera_id,
                                     const char *status, const char *last_error, int64_t now_us);
    vigil_err_t (*camera_list)(vigil_store_t *store, vigil_camera_row_t **rows, size_t *n);

    /* Finds the frame (camera, sequence): VIGIL_OK and the full row, or
     * VIGIL_ERR_NOT_FOUND. */
    vigil_err_t (*frame_lookup)(vigil_store_t *store, const char *camera_id, uint64_t sequence,
                                vigil_frame_row_t *row);
    /* Inserts row (path already set); sets row->id. VIGIL_ERR_EXISTS if
     * (camera, sequence) is already there (nothing written). */
    vigil_err_t (*frame_insert)(vigil_store_t *store, vigil_frame_row_t *row, char *errstr,
                                size_t errstr_size);
    vigil_err_t (*frame_get)(vigil_store_t *store, int64_t id, vigil_frame_row_t *row);

    vigil_err_t (*detections_put)(vigil_store_t *store, const vigil_detection_row_t *rows,
                                  size_t n, size_t *inserted, char *errstr, size_t errstr_size);
    /* results already checked (rows of their frame, camera ids valid). */
    vigil_err_t (*results_put)(vigil_store_t *store, const vigil_frame_result_t *results,
                               size_t n, size_t *inserted, char *errstr, size_t errstr_size);
    /* limit already checked. */
    vigil_err_t (*frames_unprocessed)(vigil_store_t *store, int64_t after_id, int limit,
                                      vigil_frame_row_t **rows, size_t *n);
    /* q is already validated (limit 1..1000). */
    vigil_err_t (*detections_query)(vigil_store_t *store, const vigil_detection_query_t *q,
                                    vigil_detection_row_t **rows, size_t *n,
                                    int64_t *next_after_id);
    vigil_err_t (*event_put)(vigil_store_t *store, const vigil_event_row_t *event);
    vigil_err_t (*counts)(vigil_store_t *store, const char *camera_id,
                          vigil_store_counts_t *counts);

    /* Deletes, in one transaction, up to `limit` of the oldest-by-id frame
     * rows of camera_id (NULL = all) captured before before_us, and hands
     * back their paths: *paths is a malloc'd array of malloc'd strings
     * (vigil__store_paths_free). *n < limit means nothing more to delete. */
    vigil_err_t (*sweep_frames)(vigil_store_t *store, const char *camera_id, int64_t before_us,
                                size_t limit, char ***paths, size_t *n);
    /* Deletes, in one transaction, up to `limit` detection or event rows
     * older than before_us; *deleted gets how many. */
    vigil_err_t (*sweep_rows)(vigil_store_t *store, vigil__sweep_table_t table,
                              const char *camera_id, int64_t before_us, size_t limit,
                              int64_t *deleted);
    /* Deletes, in one transaction, up to `limit` closed analytics events of
     * camera_id (NULL = all) that ended before before_us (open events stay
     * whatever their age) and hands back which: *events malloc'd (free). */
    vigil_err_t (*sweep_analytics_events)(vigil_store_t *store, const char *camera_id,
                                          int64_t before_us, size_t limit,
                                          vigil__swept_event_t **events, size_t *n);

    /* Analytics (store_analytics.c has validated the arguments: camera ids
     * valid, names terminated, kinds known, limits in range). */

    /* Writes every batch in one transaction, all or nothing; errstr names
     * the camera and the row that failed. now_us: the checkpoints'
     * updated_us. */
    vigil_err_t (*analytics_commit)(vigil_store_t *store,
                                    const vigil_analytics_camera_batch_t *batches, size_t n,
                                    int64_t now_us, char *errstr, size_t errstr_size);
    /* VIGIL_ERR_NOT_FOUND if the camera has no checkpoint. */
    vigil_err_t (*analytics_state_get)(vigil_store_t *store, const char *camera_id,
                                       uint8_t **state, size_t *len, uint64_t *last_sequence);
    /* 0 when the camera has no track. */
    vigil_err_t (*analytics_max_track_id)(vigil_store_t *store, const char *camera_id,
                                          uint64_t *max);
    vigil_err_t (*analytics_events_query)(vigil_store_t *store, const vigil_event_query_t *q,
                                          vigil_analytics_event_row_t **rows, size_t *n,
                                          int64_t *next_start_us, int64_t *next_id);
    /* VIGIL_ERR_NOT_FOUND if there is no such event. */
    vigil_err_t (*analytics_event_get)(vigil_store_t *store, int64_t id,
                                       vigil_analytics_event_row_t *row);
    /* At most max_rows + 1 rows, so that the caller sees that there are
     * more than max_rows. */
    vigil_err_t (*counts_query)(vigil_store_t *store, const vigil_count_query_t *q,
                                size_t max_rows, vigil_count_row_t **rows, size_t *n);
    /* *n 0 (and VIGIL_OK) when the track has no point. */
    vigil_err_t (*track_points)(vigil_store_t *store, const char *camera_id, uint64_t track_id,
                                int limit, vigil_track_point_t **points, size_t *n);
    /* since_us, until_us already made bounds (INT64_MIN, INT64_MAX for
     * "none"). */
    vigil_err_t (*frames_range)(vigil_store_t *store, const char *camera_id, int64_t since_us,
                                int64_t until_us, int limit, vigil_frame_row_t **rows, size_t *n);

    /* Accounts (store_accounts_int.h); store_accounts.c has checked the
     * arguments. */
    const struct vigil__store_accounts_ops *accounts;
    /* The API's resources (store_resources_int.h); store_resources.c has
     * checked the arguments. */
    const struct vigil__store_resources_ops *resources;
    /* Push subscriptions (store_push.c has checked the arguments). */
    const struct vigil__store_push_ops *push;
    /* Retention by size (store_retention_int.h; store_retention.c has
     * checked the arguments). */
    const struct vigil__store_retention_ops *retention;
    /* Replication (store_replication.c): NULL where the backend has none. */
    vigil_err_t (*wal)(vigil_store_t *store, vigil_store_wal_t *wal, char *errstr,
                       size_t errstr_size);
} vigil_store_ops_t;

/* The accounts part of vigil_store_sweep (store_accounts.c): expired
 * sessions and challenges, in batches. */
vigil_err_t vigil__store_accounts_sweep(vigil_store_t *store, int64_t now_us,
                                        vigil_sweep_result_t *res);

typedef struct vigil__store_op_metrics {
    vigil_counter_t *ops, *errors;
    vigil_histogram_t *seconds;
} vigil__store_op_metrics_t;

struct vigil_store {
    const vigil_store_ops_t *ops;
    char *data_dir;   /* absolute or as configured; frame paths are relative to it */
    int found_version; /* schema version found at open, before any migration */
    vigil__store_op_metrics_t metrics[VIGIL__OP_COUNT_];
    char errbuf[512]; /* last error of an operation without an errstr argument */
    vigil_log_limit_t errlog; /* vigil__store_done_log's records: a failing disk fails every
                               * call, logged once per 10 s with a count */
};

/* Backend constructors: called by vigil_store_open() after URL dispatch.
 * `target` is what follows the scheme ("" for plain "sqlite"). Returns a
 * handle whose base (ops, data_dir) is set, migrated per conf->migrate. */
vigil_store_t *vigil__sqlite_open(const vigil_store_conf_t *conf, const char *db_path,
                                  char *errstr, size_t errstr_size);
/* postgres.c (built with VIGIL_STORE_HAVE_POSTGRES): url is the whole
 * postgres:// or postgresql:// url, password included (never shown). */
vigil_store_t *vigil__postgres_open(const vigil_store_conf_t *conf, const char *url,
                                    char *errstr, size_t errstr_size);
/* mongo.c (built with VIGIL_STORE_HAVE_MONGO): url is the whole mongodb://
 * url, password included (never shown). */
vigil_store_t *vigil__mongo_open(const vigil_store_conf_t *conf, const char *url, char *errstr,
                                 size_t errstr_size);

/* Fills the base part of a new handle; store.c frees data_dir on close. */
int vigil__store_base_init(vigil_store_t *store, const vigil_store_ops_t *ops,
                           const char *data_dir);
void vigil__store_base_release(vigil_store_t *store);

void vigil__store_paths_free(char **paths, size_t n);
/* Removes the files of swept frame rows (paths oldest first), pruning the
 * directories they empty; counts res->files_deleted (store.c). */
void vigil__store_sweep_files(vigil_store_t *store, char **paths, size_t n,
                              vigil_sweep_result_t *res);

/* Counts and times one finished operation (store.c); returns err. The _log
 * form first logs store->errbuf for a failure other than "not found", for
 * operations that have no errstr argument (through store->errlog: a run of
 * similar failures once per 10 s, with a count). */
vigil_err_t vigil__store_done(vigil_store_t *store, vigil__store_op_t op, int64_t t0,
                              vigil_err_t err);
vigil_err_t vigil__store_done_log(vigil_store_t *store, vigil__store_op_t op, int64_t t0,
                                  const char *camera, vigil_err_t err);

/* Relative path of an event's clip: clips/CAMERA/ID.mp4. -1 if the camera id
 * is not a valid one, the id is not positive or it does not fit. */
int vigil__store_clip_relpath(const char *camera_id, int64_t event_id, char *out,
                              size_t out_size);

/* The refusal message for a schema that does not match this binary: shared by
 * backends so that the wording (and the `vigil db migrate` hint) is one. */
vigil_err_t vigil__store_version_error(int found, char *errstr, size_t errstr_size);

/* Frame files (framefs.c). */

/* Relative path of a frame file: frames/CAMERA/YYYY/MM/DD/HH/SEQUENCE.jpg,
 * UTC hour of capture_time_us. -1 if it does not fit. */
int vigil__framefs_path(const char *camera_id, int64_t capture_time_us, uint64_t sequence,
                        char *out, size_t out_size);
/* Writes data to DATA_DIR/relpath through a temp file in the same directory
 * and a rename, creating directories as needed. On failure nothing is left
 * at relpath or in temp files: VIGIL_ERR_FULL (ENOSPC, EDQUOT) or
 * VIGIL_ERR_IO, errstr naming the path and strerror. Thread: any. */
vigil_err_t vigil__framefs_write(const char *data_dir, const char *relpath, const void *data,
                                 size_t len, char *errstr, size_t errstr_size);
/* Reads DATA_DIR/relpath into a malloc'd buffer. VIGIL_ERR_NOT_FOUND if missing. */
vigil_err_t vigil__framefs_read(const char *data_dir, const char *relpath, void **data,
                                size_t *len, char *errstr, size_t errstr_size);
/* Removes DATA_DIR/relpath. Returns 1 if a file was removed, 0 if it was
 * already missing, -1 on another error (errno set). */
int vigil__framefs_remove(const char *data_dir, const char *relpath);
/* Removes the hour/day/month/year directories above relpath that are empty,
 * stopping at the first that is not. */
void vigil__framefs_prune(const char *data_dir, const char *relpath);
/* mkdir -p. 0 or -1 with errno. */
int vigil__mkdirs(const char *path, mode_t mode);

#endif
