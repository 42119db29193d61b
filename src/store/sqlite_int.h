/* Internals shared by the SQLite backend's files (sqlite.c, sqlite_schema.c,
 * sqlite_detections.c): the handle and its prepared-statement cache.
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

typedef struct vigil__sqlite {
    vigil_store_t base; /* first: a vigil_store_t * is a vigil__sqlite_t * */
    sqlite3 *db;
    char *path;
    int ready; /* opened and at the expected schema */
    sqlite3_stmt *stmts[SQ_COUNT_];
    sqlite3_stmt *query_stmts[SQ_Q_VARIANTS];
} vigil__sqlite_t;

static inline vigil__sqlite_t *vigil__sq(vigil_store_t *store)
{
    return (vigil__sqlite_t *)store;
}

/* The cached statement `which`, reset and ready to bind; NULL on a prepare
 * failure (message in store->errbuf). */
sqlite3_stmt *vigil__sq_stmt(vigil__sqlite_t *sq, vigil__sq_stmt_t which);
/* Prepares (once) an arbitrary statement into *slot. */
sqlite3_stmt *vigil__sq_prepare(vigil__sqlite_t *sq, sqlite3_stmt **slot, const char *sql);

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

/* sqlite_schema.c */
vigil_err_t vigil__sq_migrate(vigil_store_t *store, int *from, int *to, char *errstr,
                              size_t errstr_size);
int vigil__sq_schema_version(vigil_store_t *store);

/* sqlite_detections.c */
vigil_err_t vigil__sq_detections_put(vigil_store_t *store, const vigil_detection_row_t *rows,
                                     size_t n, size_t *inserted, char *errstr,
                                     size_t errstr_size);
vigil_err_t vigil__sq_detections_query(vigil_store_t *store, const vigil_detection_query_t *q,
                                       vigil_detection_row_t **rows, size_t *n,
                                       int64_t *next_after_id);

#endif
