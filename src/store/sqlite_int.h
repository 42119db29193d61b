/* Internals shared by the SQLite backend's files (sqlite.c, sqlite_schema.c,
 * sqlite_detections.c, sqlite_analytics.c, ...): the handle, its
 * prepared-statement cache, and the helpers every file's statements use.
 *
 * One handle = one sqlite3 connection opened with SQLITE_OPEN_NOMUTEX: the
 * handle is used by one thread at a time (store.h), and concurrency between
 * handles is SQLite's WAL locking (readers never block; one writer at a time,
 * others wait up to busy_timeout). */
#ifndef VIGIL_STORE_SQLITE_INT_H
#define VIGIL_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "store/store_int.h"

/* Statements with fixed SQL, prepared on first use and kept for the life of
 * the handle. */
typedef enum vigil__sq_stmt {
    SQ_BEGIN,
    SQ_COMMIT,
    SQ_ROLLBACK,
    SQ_USER_VERSION,
    SQ_CAMERA_UPSERT,
    SQ_CAMERA_SET_STATUS,
    SQ_CAMERA_LIST,
    SQ_FRAME_LOOKUP,
    SQ_FRAME_INSERT,
    SQ_FRAME_GET,
    SQ_DETECTION_INSERT,
    SQ_EVENT_INSERT,
    SQ_COUNTS_ALL,
    SQ_COUNTS_CAMERA,
    SQ_SWEEP_FRAMES_ALL,
    SQ_SWEEP_FRAMES_CAMERA,
    SQ_SWEEP_DETECTIONS_ALL,
    SQ_SWEEP_DETECTIONS_CAMERA,
    SQ_SWEEP_EVENTS_ALL,
    SQ_SWEEP_EVENTS_CAMERA,
    SQ_FRAMES_RANGE,
    SQ_FRAME_MARK_PROCESSED,
    SQ_FRAMES_UNPROCESSED,
    SQ_DATA_VERSION,
    SQ_COUNT_
} vigil__sq_stmt_t;

/* detections_query builds its WHERE clause from which filters are set: one
 * cached statement per combination of these bits. */
enum {
    SQ_Q_CAMERA = 1,
    SQ_Q_LABEL = 2,
    SQ_Q_SINCE = 4,
    SQ_Q_UNTIL = 8,
    SQ_Q_MIN_SCORE = 16,
    SQ_Q_AFTER = 32,
    SQ_Q_VARIANTS = 64,
};

/* Statements of sqlite_analytics.c (its own SQL table). */
typedef enum vigil__sqa_stmt {
    SQA_EVENT_UPSERT,
    SQA_POINT_INSERT,
    SQA_COUNT_UPSERT,
    SQA_STATE_UPSERT,
    SQA_STATE_GET,
    SQA_MAX_TRACK,
    SQA_EVENT_GET,
    SQA_TRACK_POINTS,
    SQA_SWEEP_EVENTS_ALL,
    SQA_SWEEP_EVENTS_CAMERA,
    SQA_SWEEP_POINTS_ALL,
    SQA_SWEEP_POINTS_CAMERA,
    SQA_SWEEP_COUNTS_ALL,
    SQA_SWEEP_COUNTS_CAMERA,
    SQA_COUNT_
} vigil__sqa_stmt_t;

/* The analytics events query and the counts query, like detections_query,
 * name only the filters that are set: one cached statement per combination
 * of these bits. */
enum {
    SQA_E_CAMERA = 1,
    SQA_E_KIND = 2,
    SQA_E_LABEL = 4,
    SQA_E_ZONE = 8,
    SQA_E_LINE = 16,
    SQA_E_SINCE = 32,
    SQA_E_UNTIL = 64,
    SQA_E_AFTER = 128,
    SQA_E_REVIEWED = 256,   /* reviewed = 1 */
    SQA_E_UNREVIEWED = 512, /* reviewed = 0 (a literal: analytics_events_unreviewed is partial) */
    SQA_E_VARIANTS = 1024,
};
enum {
    SQA_C_CAMERA = 1,
    SQA_C_ZONE = 2,
    SQA_C_LINE = 4,
    SQA_C_LABEL = 8,
    SQA_C_SINCE = 16,
    SQA_C_UNTIL = 32,
    SQA_C_BUCKET = 64, /* per bucket; without: totals */
    SQA_C_VARIANTS = 128,
};

/* Statements of sqlite_accounts.c (its own SQL table). */
typedef enum vigil__squ_stmt {
    SQU_USER_INSERT,
    SQU_USER_GET_NAME,
    SQU_USER_GET_ID,
    SQU_USER_LIST,
    SQU_USER_COUNT,
    SQU_USER_ADMINS,
    SQU_USER_SET_ROLE,
    SQU_USER_SET_HASH,
    SQU_USER_DELETE,
    SQU_USER_LOGIN_OK,
    SQU_USER_LOGIN_FAILED,
    SQU_SESSIONS_DELETE_USER,
    SQU_TOKENS_DELETE_USER,
    SQU_PASSKEYS_DELETE_USER,
    SQU_CHALLENGES_DELETE_USER,
    SQU_SESSION_EXPIRE,
    SQU_SESSION_INSERT,
    SQU_SESSION_GET,
    SQU_SESSION_TOUCH,
    SQU_SESSION_LIST_ALL,
    SQU_SESSION_LIST_USER,
    SQU_SESSION_DELETE,
    SQU_SESSION_DELETE_HASH,
    SQU_TOKEN_INSERT,
    SQU_TOKEN_GET,
    SQU_TOKEN_TOUCH,
    SQU_TOKEN_LIST_ALL,
    SQU_TOKEN_LIST_USER,
    SQU_TOKEN_DELETE,
    SQU_PASSKEY_INSERT,
    SQU_PASSKEY_GET,
    SQU_PASSKEY_LIST,
    SQU_PASSKEY_UPDATE_COUNT,
    SQU_PASSKEY_COUNT_OF,
    SQU_PASSKEY_DELETE,
    SQU_CHALLENGE_EXPIRE,
    SQU_CHALLENGE_INSERT,
    SQU_CHALLENGE_TAKE,
    SQU_AUDIT_INSERT,
    SQU_AUDIT_LIST,
    SQU_COUNT_
} vigil__squ_stmt_t;

/* Cached statements of sqlite_resources.c (its own SQL table, checked there). */
#define VIGIL__SQR_SLOTS 32
/* Cached statements of sqlite_push.c. */
#define VIGIL__SQP_SLOTS 8
/* Cached statements of sqlite_retention.c. */
#define VIGIL__SQT_SLOTS 8

typedef struct vigil__sqlite {
    vigil_store_t base; /* first: a vigil_store_t * is a vigil__sqlite_t * */
    sqlite3 *db;
    char *path;
    int ready; /* opened and at the expected schema */
    vigil_err_t stmt_err; /* why the last prepare failed (its class: vigil__sq_err_code) */
    sqlite3_stmt *stmts[SQ_COUNT_];
    sqlite3_stmt *query_stmts[SQ_Q_VARIANTS];
    sqlite3_stmt *analytics_stmts[SQA_COUNT_];
    sqlite3_stmt *event_query_stmts[SQA_E_VARIANTS];
    sqlite3_stmt *count_query_stmts[SQA_C_VARIANTS];
    sqlite3_stmt *accounts_stmts[SQU_COUNT_];
    sqlite3_stmt *resources_stmts[VIGIL__SQR_SLOTS];
    sqlite3_stmt *push_stmts[VIGIL__SQP_SLOTS];
    sqlite3_stmt *retention_stmts[VIGIL__SQT_SLOTS];
    /* The warehouse-wide counts, kept while nothing changed: valid while
     * PRAGMA data_version (commits of other connections) and this
     * connection's total_changes (its own) are what they were (sq_counts). */
    int counts_valid;
    int64_t counts_dv, counts_changes;
    vigil_store_counts_t counts;
} vigil__sqlite_t;

static inline vigil__sqlite_t *vigil__sq(vigil_store_t *store)
{
    return (vigil__sqlite_t *)store;
}

/* The cached statement `which`, reset and ready to bind; NULL on a prepare
 * failure (message in store->errbuf, error code in sq->stmt_err). */
sqlite3_stmt *vigil__sq_stmt(vigil__sqlite_t *sq, vigil__sq_stmt_t which);
/* Prepares (once) an arbitrary statement into *slot. */
sqlite3_stmt *vigil__sq_prepare(vigil__sqlite_t *sq, sqlite3_stmt **slot, const char *sql);

/* The vigil error (and so its class, vigil/err.h) of an SQLite result code. */
vigil_err_t vigil__sq_err_code(int rc);

/* Maps an SQLite result code to a vigil error and writes "sqlite PATH: what:
 * message" to buf (store->errbuf if buf is NULL). */
vigil_err_t vigil__sq_error(vigil__sqlite_t *sq, int rc, const char *what, char *buf,
                            size_t size);

/* Runs a statement that returns no rows we need (BEGIN, COMMIT, ...). */
int vigil__sq_exec_stmt(vigil__sqlite_t *sq, vigil__sq_stmt_t which);

/* Transactions: BEGIN IMMEDIATE so that the write lock is taken (or waited
 * for) up front instead of failing on upgrade. */
int vigil__sq_begin(vigil__sqlite_t *sq);
int vigil__sq_commit(vigil__sqlite_t *sq);
void vigil__sq_rollback(vigil__sqlite_t *sq);

/* Copies a text column into a fixed buffer (empty for NULL). */
void vigil__sq_text(sqlite3_stmt *st, int col, char *out, size_t size);

/* How vigil__sq_collect reads the rows of one kind of list. */
typedef struct vigil__sq_rows {
    size_t elem_size;
    /* Fills elem (zeroed) from the current row of st; 0, or -1 when out of
     * memory (or a row it cannot hold): what it took stays in elem for release. */
    int (*row)(sqlite3_stmt *st, void *elem);
    /* Frees what row put in elem, not elem itself; NULL when elems own nothing. */
    void (*release)(void *elem);
    const char *what;  /* a failed step: vigil__sq_error(sq, rc, what, errstr, ...) */
    const char *nomem; /* errstr when out of memory; NULL: nothing written */
} vigil__sq_rows_t;

/* Steps st (bound, not yet stepped) until SQLITE_DONE or a row beyond max,
 * reading each row into a malloc'd array of at most max elements that grows
 * by doubling: the bound is what keeps rows from outside from allocating
 * without end (pass the LIMIT the SQL has, or more). A row beyond max stops
 * it and sets *more to 1 (more may be NULL; it is never cleared). st is reset
 * on every path. On VIGIL_OK *out (NULL for no rows) and *n are the caller's
 * (free each elem with its release, then the array); on an error nothing is
 * handed back: VIGIL_ERR_NOMEM with how->nomem in errstr, or the step's error
 * (vigil__sq_error). */
vigil_err_t vigil__sq_collect(vigil__sqlite_t *sq, sqlite3_stmt *st, const vigil__sq_rows_t *how,
                              size_t max, void **out, size_t *n, int *more, char *errstr,
                              size_t errstr_size);

/* Reads columns 0..7 of a cameras row (id, name, url, fps, enabled, status,
 * last_error, updated_us) into the vigil_camera_row_t elem (a
 * vigil__sq_rows_t.row); the other fields are left alone. */
int vigil__sq_camera_from_row(sqlite3_stmt *st, void *elem);

/* The SQL of a cached statement (for tests that look at query plans). */
const char *vigil__sq_sql(vigil__sq_stmt_t which);

/* sqlite_schema.c */
/* The SQL of migration step `version` (from version - 1 to version), NULL
 * outside 1..VIGIL__STORE_SCHEMA_VERSION: tests build older schemas with it. */
const char *vigil__sq_migration_sql(int version);
vigil_err_t vigil__sq_migrate(vigil_store_t *store, int *from, int *to, char *errstr,
                              size_t errstr_size);
int vigil__sq_schema_version(vigil_store_t *store);

/* sqlite_detections.c */
vigil_err_t vigil__sq_detections_put(vigil_store_t *store, const vigil_detection_row_t *rows,
                                     size_t n, size_t *inserted, char *errstr,
                                     size_t errstr_size);
vigil_err_t vigil__sq_results_put(vigil_store_t *store, const vigil_frame_result_t *results,
                                  size_t n, size_t *inserted, char *errstr, size_t errstr_size);
vigil_err_t vigil__sq_detections_query(vigil_store_t *store, const vigil_detection_query_t *q,
                                       vigil_detection_row_t **rows, size_t *n,
                                       int64_t *next_after_id);

/* sqlite_analytics.c: the analytics ops (store_int.h) */
vigil_err_t vigil__sq_analytics_commit(vigil_store_t *store,
                                       const vigil_analytics_camera_batch_t *batches, size_t n,
                                       int64_t now_us, char *errstr, size_t errstr_size);
vigil_err_t vigil__sq_analytics_max_track_id(vigil_store_t *store, const char *camera_id,
                                             uint64_t *max);
vigil_err_t vigil__sq_analytics_state_get(vigil_store_t *store, const char *camera_id,
                                          uint8_t **state, size_t *len, uint64_t *last_sequence);
vigil_err_t vigil__sq_analytics_events_query(vigil_store_t *store, const vigil_event_query_t *q,
                                             vigil_analytics_event_row_t **rows, size_t *n,
                                             int64_t *next_start_us, int64_t *next_id);
vigil_err_t vigil__sq_analytics_event_get(vigil_store_t *store, int64_t id,
                                          vigil_analytics_event_row_t *row);
vigil_err_t vigil__sq_counts_query(vigil_store_t *store, const vigil_count_query_t *q,
                                   size_t max_rows, vigil_count_row_t **rows, size_t *n);
vigil_err_t vigil__sq_track_points(vigil_store_t *store, const char *camera_id,
                                   uint64_t track_id, int limit, vigil_track_point_t **points,
                                   size_t *n);
vigil_err_t vigil__sq_sweep_analytics_events(vigil_store_t *store, const char *camera_id,
                                             int64_t before_us, size_t limit,
                                             vigil__swept_event_t **events, size_t *n);
/* Sweeps of track_points and analytics_counts (sweep_rows delegates them). */
vigil_err_t vigil__sq_sweep_analytics_rows(vigil__sqlite_t *sq, vigil__sweep_table_t table,
                                           const char *camera_id, int64_t before_us,
                                           size_t limit, int64_t *deleted);
/* Finalizes the statements of sqlite_analytics.c. */
void vigil__sq_analytics_close(vigil__sqlite_t *sq);
/* The SQL text of the events query / counts query for a filter mask (for
 * tests that look at query plans); -1 if it does not fit. */
int vigil__sq_events_query_sql(int mask, char *out, size_t size);
int vigil__sq_counts_query_sql(int mask, char *out, size_t size);
/* The SQL of a cached analytics statement. */
const char *vigil__sqa_sql(vigil__sqa_stmt_t which);

/* The columns of an analytics event in the order vigil__sq_event_from_row
 * reads them (sqlite_analytics.c; the search reads events too). */
#define VIGIL__SQ_EVENT_COLS                                                                      \
    "id, camera_id, kind, label, track_id, zone, line, direction, start_sequence, start_us, "     \
    "end_us, end_sequence, open, coalesce(snapshot_frame_id, 0), snapshot_sequence, peak_score, " \
    "x1, y1, x2, y2, updated_sequence, reviewed, reviewed_us, reviewed_by"
void vigil__sq_event_from_row(sqlite3_stmt *st, vigil_analytics_event_row_t *r);

/* sqlite_resources.c, sqlite_search.c: the resources ops (store_resources_int.h) */
extern const struct vigil__store_resources_ops vigil__sq_resources_ops;
/* Finalizes the statements of sqlite_resources.c. */
void vigil__sq_resources_close(vigil__sqlite_t *sq);
/* sqlite_push.c: push subscriptions (store_push_int.h) */
extern const struct vigil__store_push_ops vigil__sq_push_ops;
void vigil__sq_push_close(vigil__sqlite_t *sq);
/* sqlite_retention.c: retention by size (store_retention_int.h) */
extern const struct vigil__store_retention_ops vigil__sq_retention_ops;
void vigil__sq_retention_close(vigil__sqlite_t *sq);

/* sqlite_accounts.c: the accounts ops (store_accounts_int.h) */
extern const struct vigil__store_accounts_ops vigil__sq_accounts_ops;
/* Finalizes the statements of sqlite_accounts.c. */
void vigil__sq_accounts_close(vigil__sqlite_t *sq);
/* The SQL of a cached accounts statement (for tests that look at query plans). */
const char *vigil__squ_sql(vigil__squ_stmt_t which);

#endif
