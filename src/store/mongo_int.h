/* Internals shared by the MongoDB backend's files (mongo.c, mongo_conn.c,
 * mongo_detections.c, mongo_analytics.c): the handle and the helpers every
 * command goes through.
 *
 * One handle = one mongoc_client_t (single-threaded), used by one thread at
 * a time (store.h). Collections are named as the SQL tables (cameras,
 * frames, detections, events, analytics_events, analytics_counts,
 * track_points, analytics_state) plus vigil_meta (the schema version) and
 * vigil_ids_NAME (the id claims). Integer ids come from claims of id ranges
 * in vigil_ids_NAME (vigil__mongo_next_ids: one claim a batch) so that they
 * are never reused and order rows as the SQL stores' ids do.
 *
 * No multi-document transactions (FerretDB has none; MongoDB only on a
 * replica set): every write is idempotent instead, by unique indexes on the
 * warehouse keys, so that a batch retried after a lost connection leaves each
 * row once (a duplicate-key error on redelivery is not an error).
 *
 * Errors are classified from the driver's error (vigil__mongo_err) and
 * described as "mongodb HOST:PORT/DB: what: message"; the URL's password
 * never appears (the handle keeps a redacted copy for messages). */
#ifndef VIGIL_STORE_MONGO_INT_H
#define VIGIL_STORE_MONGO_INT_H

#include <mongoc/mongoc.h>
#include <stdint.h>

#include "store/store_int.h"

typedef enum vigil__mongo_coll {
    VIGIL__MG_CAMERAS,
    VIGIL__MG_FRAMES,
    VIGIL__MG_DETECTIONS,
    VIGIL__MG_EVENTS,
    VIGIL__MG_AN_EVENTS,
    VIGIL__MG_AN_COUNTS,
    VIGIL__MG_TRACK_POINTS,
    VIGIL__MG_AN_STATE,
    VIGIL__MG_META,
    VIGIL__MG_USERS, /* accounts (mongo_accounts.c) */
    VIGIL__MG_SESSIONS,
    VIGIL__MG_TOKENS,
    VIGIL__MG_PASSKEYS,
    VIGIL__MG_CHALLENGES,
    VIGIL__MG_AUDIT,
    VIGIL__MG_PUSH,  /* mongo_push.c */
    VIGIL__MG_RULES, /* camera_rules: one document per rule set version (mongo_resources.c) */
    VIGIL__MG_COLL_COUNT_
} vigil__mongo_coll_t;

typedef struct vigil__mongo {
    vigil_store_t base; /* first: a vigil_store_t * is a vigil__mongo_t * */
    mongoc_client_t *client;
    char dbname[64];
    char where[256]; /* "mongodb HOST:PORT/DB": every message's prefix */
    mongoc_collection_t *colls[VIGIL__MG_COLL_COUNT_];
} vigil__mongo_t;

static inline vigil__mongo_t *vigil__mongo(vigil_store_t *store)
{
    return (vigil__mongo_t *)store;
}

/* The collection (cached on the handle); NULL only if out of memory. */
mongoc_collection_t *vigil__mongo_coll(vigil__mongo_t *mg, vigil__mongo_coll_t which);

/* The vigil error of a failed driver call: duplicate key -> EXISTS, a
 * refused login -> CONFIG, a lost or refused connection, a server shutting
 * down or a retryable write -> AGAIN, a timeout -> TIMED_OUT, else STORE. */
vigil_err_t vigil__mongo_err(const bson_error_t *error);

/* Describes a failure as "WHERE: what: message" in errstr (if set) and
 * store->errbuf; returns err (0 = classify error). */
vigil_err_t vigil__mongo_fail(vigil__mongo_t *mg, vigil_err_t err, const bson_error_t *error,
                              char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Takes n ids of the sequence `name`: *first .. *first + n - 1. */
vigil_err_t vigil__mongo_next_ids(vigil__mongo_t *mg, const char *name, int64_t n,
                                  int64_t *first, char *errstr, size_t errstr_size);

/* Inserts docs (unordered); *inserted (may be NULL) gets how many went in.
 * Duplicate keys are skipped, not errors. */
vigil_err_t vigil__mongo_insert_many(vigil__mongo_t *mg, vigil__mongo_coll_t which,
                                     const bson_t **docs, size_t n, size_t *inserted,
                                     const char *what, char *errstr, size_t errstr_size);

/* Whether every write error in a write's reply is a duplicate key. */
int vigil__mongo_only_duplicates(const bson_t *reply);

/* Field readers: 0 / "" when missing. */
int64_t vigil__mongo_i64(const bson_t *doc, const char *key);
double vigil__mongo_dbl(const bson_t *doc, const char *key);
void vigil__mongo_str(const bson_t *doc, const char *key, char *out, size_t size);

/* Runs a find; each document to fn (returns 0 to go on, else stops with
 * that error). */
typedef vigil_err_t (*vigil__mongo_each_fn)(void *arg, const bson_t *doc);
vigil_err_t vigil__mongo_find(vigil__mongo_t *mg, vigil__mongo_coll_t which, const bson_t *filter,
                              const bson_t *opts, vigil__mongo_each_fn fn, void *arg,
                              const char *what, char *errstr, size_t errstr_size);
/* Deletes the documents whose _id is one of ids; *deleted gets how many. */
vigil_err_t vigil__mongo_delete_ids(vigil__mongo_t *mg, vigil__mongo_coll_t which,
                                    const bson_value_t *ids, size_t n, int64_t *deleted,
                                    const char *what);

/* mongo_conn.c: connection, schema. */
vigil_err_t vigil__mongo_connect(vigil__mongo_t *mg, const char *url, char *errstr,
                                 size_t errstr_size);
vigil_err_t vigil__mongo_migrate(vigil_store_t *store, int *from, int *to, char *errstr,
                                 size_t errstr_size);
int vigil__mongo_schema_version(vigil_store_t *store);
int vigil__mongo_read_version(vigil__mongo_t *mg, char *errstr, size_t errstr_size);

/* mongo_detections.c */
vigil_err_t vigil__mongo_detections_put(vigil_store_t *store, const vigil_detection_row_t *rows,
                                        size_t n, size_t *inserted, char *errstr,
                                        size_t errstr_size);
vigil_err_t vigil__mongo_results_put(vigil_store_t *store, const vigil_frame_result_t *results,
                                     size_t n, size_t *inserted, char *errstr,
                                     size_t errstr_size);
vigil_err_t vigil__mongo_detections_query(vigil_store_t *store, const vigil_detection_query_t *q,
                                          vigil_detection_row_t **rows, size_t *n,
                                          int64_t *next_after_id);

/* mongo_analytics.c */
vigil_err_t vigil__mongo_analytics_commit(vigil_store_t *store,
                                          const vigil_analytics_camera_batch_t *batches, size_t n,
                                          int64_t now_us, char *errstr, size_t errstr_size);
vigil_err_t vigil__mongo_analytics_state_get(vigil_store_t *store, const char *camera_id,
                                             uint8_t **state, size_t *len,
                                             uint64_t *last_sequence);
vigil_err_t vigil__mongo_analytics_max_track_id(vigil_store_t *store, const char *camera_id,
                                                uint64_t *max);
vigil_err_t vigil__mongo_analytics_events_query(vigil_store_t *store,
                                                const vigil_event_query_t *q,
                                                vigil_analytics_event_row_t **rows, size_t *n,
                                                int64_t *next_start_us, int64_t *next_id);
vigil_err_t vigil__mongo_analytics_event_get(vigil_store_t *store, int64_t id,
                                             vigil_analytics_event_row_t *row);
vigil_err_t vigil__mongo_counts_query(vigil_store_t *store, const vigil_count_query_t *q,
                                      size_t max_rows, vigil_count_row_t **rows, size_t *n);
vigil_err_t vigil__mongo_track_points(vigil_store_t *store, const char *camera_id,
                                      uint64_t track_id, int limit, vigil_track_point_t **points,
                                      size_t *n);
vigil_err_t vigil__mongo_sweep_analytics_events(vigil_store_t *store, const char *camera_id,
                                                int64_t before_us, size_t limit,
                                                vigil__swept_event_t **events, size_t *n);

/* mongo_accounts.c */
extern const struct vigil__store_accounts_ops vigil__mongo_accounts_ops;

/* mongo_push.c */
extern const struct vigil__store_push_ops vigil__mongo_push_ops;

/* mongo_resources.c: cameras, rule sets, review, event delete, storage */
extern const struct vigil__store_resources_ops vigil__mongo_resources_ops;

/* The decoders of one document (mongo_analytics.c, mongo_detections.c). */
void vigil__mongo_an_event_read(const bson_t *doc, vigil_analytics_event_row_t *r);
void vigil__mongo_detection_read(const bson_t *doc, vigil_detection_row_t *d);

/* mongo_search.c: the search over events and detections (store_search.c's
 * page and facets on MongoDB) */
vigil_err_t vigil__mongo_search(vigil_store_t *store, const vigil_search_query_t *q,
                                vigil_search_result_t *res, char *errstr, size_t errstr_size);

/* mongo_retention.c */
extern const struct vigil__store_retention_ops vigil__mongo_retention_ops;

#endif
