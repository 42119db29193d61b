/* Internals shared by the PostgreSQL backend's files (postgres.c,
 * postgres_schema.c, postgres_detections.c, postgres_analytics.c,
 * postgres_partitions.c, and the accounts, resources, push and search
 * files): the handle, and the helpers every statement goes through.
 *
 * One handle = one libpq connection (PGconn), used by one thread at a time
 * (store.h). Concurrency between handles is PostgreSQL's (MVCC; writers of
 * the same key wait for each other, ON CONFLICT settles the race).
 *
 * Connection loss: every statement goes through vigil__pg_exec*(), which
 * first makes sure the connection is up (reconnecting, bounded by the
 * connect timeout) unless a transaction is open; a connection lost during a
 * statement is VIGIL_ERR_AGAIN (retriable): the caller's transaction is gone,
 * nothing of it was committed, and the next call reconnects. So the sink's
 * retry loop survives a server restart and, since every write is
 * idempotent, nothing is lost or written twice.
 *
 * Errors are classified from the SQLSTATE (vigil__pg_sqlstate_err) and
 * described as "postgres HOST:PORT/DB: what: message"; the URL's password
 * never appears (the handle keeps a redacted copy for messages).
 *
 * Parameters go as text (numbers printed by vigil__pg_param_*), except
 * bytea, which goes binary; results come back as text. */
#ifndef VIGIL_STORE_POSTGRES_INT_H
#define VIGIL_STORE_POSTGRES_INT_H

#include <libpq-fe.h>
#include <stdint.h>

#include "store/store_int.h"

/* Prepared statements: each file owns a range of slots, and a slot is
 * prepared on the connection the first time it is used (after a reconnect,
 * again). Statement names are "vN" for slot N. */
#define VIGIL__PG_SLOTS_CORE 0        /* postgres.c, postgres_detections.c: 0..63 */
#define VIGIL__PG_SLOTS_ANALYTICS 64  /* postgres_analytics.c: 64..87, postgres_retention.c: 88..95 */
#define VIGIL__PG_SLOTS_ACCOUNTS 96   /* postgres_accounts.c: 96..159 */
#define VIGIL__PG_SLOTS_RESOURCES 160 /* postgres_resources.c: 160..207 */
#define VIGIL__PG_SLOTS_PUSH 208      /* postgres_push.c: 208..223 */
#define VIGIL__PG_SLOTS_SEARCH 224    /* postgres_search.c: 224..255 */
#define VIGIL__PG_SLOTS 256

/* Days whose partitions this handle knows exist (postgres_partitions.c). */
#define VIGIL__PG_DAYS_CACHED 64

typedef struct vigil__pg {
    vigil_store_t base; /* first: a vigil_store_t * is a vigil__pg_t * */
    PGconn *conn;
    char *url;            /* as configured, password included: only given to libpq */
    char where[256];      /* "postgres://vigil:***@HOST:PORT/DB": every message's prefix */
    int connect_timeout_s;
    int in_tx;            /* a transaction is open: no reconnect until it ends */
    char sqlstate[6];     /* of the last failed statement ("" when there was no answer) */
    unsigned char prepared[VIGIL__PG_SLOTS]; /* slot prepared on this connection */
    int64_t days[VIGIL__PG_DAYS_CACHED];     /* partition days known to exist (ring) */
    size_t ndays, days_next;
    int64_t reconnects;   /* connections made after the first */
    vigil_counter_t *reconnect_counter;
} vigil__pg_t;

static inline vigil__pg_t *vigil__pg(vigil_store_t *store)
{
    return (vigil__pg_t *)store;
}

/* ---- parameters --------------------------------------------------------- */

/* The parameters of one statement: a growable array (multi-row INSERTs
 * have thousands). Numbers are printed into the struct's own storage; text
 * and bytea point at the caller's memory, which must live until the
 * statement has run. An allocation failure is remembered (oom) and reported
 * by vigil__pg_exec*(). */
typedef struct vigil__pg_params {
    int n, cap;
    const char **values;
    int *lengths;
    int *formats;
    char (*nums)[32];
    int oom;
} vigil__pg_params_t;

void vigil__pg_params_init(vigil__pg_params_t *p);
void vigil__pg_params_release(vigil__pg_params_t *p);
/* Empties p for the next statement (keeps its memory). */
void vigil__pg_params_clear(vigil__pg_params_t *p);
/* s NULL = SQL NULL. */
void vigil__pg_param_text(vigil__pg_params_t *p, const char *s);
void vigil__pg_param_int(vigil__pg_params_t *p, int64_t v);
void vigil__pg_param_uint(vigil__pg_params_t *p, uint64_t v); /* bigint: values > INT64_MAX
                                                               * wrap as SQLite stores them */
void vigil__pg_param_double(vigil__pg_params_t *p, double v);
void vigil__pg_param_bool(vigil__pg_params_t *p, int v); /* as an integer 0/1 */
/* Binary (bytea); data NULL = SQL NULL. */
void vigil__pg_param_bytea(vigil__pg_params_t *p, const void *data, size_t len);

/* ---- statements --------------------------------------------------------- */

/* The vigil error (and so its class, vigil/err.h) of a SQLSTATE; NULL or ""
 * (no server answer: the connection is gone) is VIGIL_ERR_AGAIN.
 *   retriable: 08xxx connection, 40001 serialization, 40P01 deadlock,
 *              55P03 lock not available, 57P01..57P05 shutdown / cannot
 *              connect now / idle timeouts, 53300 too many connections
 *              (AGAIN); 57014 canceled (TIMED_OUT); 53100 disk full (FULL);
 *              53200 out of memory (NOMEM); 58xxx system / I/O (IO)
 *   refused:   23505 unique (EXISTS), other 23xxx and 22xxx (INVALID),
 *              54xxx program limits (TOO_LARGE)
 *   fatal:     everything else (STORE): 42xxx (no such table, a foreign
 *              schema), 28xxx authorization, 25xxx, XX ...  */
vigil_err_t vigil__pg_sqlstate_err(const char *sqlstate);

/* Makes sure the connection is up: reconnects (bounded by the connect
 * timeout) when it was lost and no transaction is open. VIGIL_ERR_AGAIN
 * (retriable) when the server cannot be reached, VIGIL_ERR_CONFIG (fatal)
 * when it refuses who we are (password, role, database); errstr (NULL:
 * store->errbuf) says which, naming host:port and never the password. */
vigil_err_t vigil__pg_ensure(vigil__pg_t *pg, char *errstr, size_t errstr_size);

/* Runs sql with params p (may be NULL) and returns its result when it is
 * PGRES_COMMAND_OK or PGRES_TUPLES_OK (PQclear it). Otherwise NULL, *err
 * (may be NULL) set by vigil__pg_sqlstate_err and errstr (NULL:
 * store->errbuf) = "postgres WHERE: what: server message". A connection
 * found broken is closed so that the next call reconnects; inside a
 * transaction the transaction is marked gone (in_tx 0). */
PGresult *vigil__pg_exec(vigil__pg_t *pg, const char *sql, const vigil__pg_params_t *p,
                         const char *what, vigil_err_t *err, char *errstr, size_t errstr_size);
/* The same with the statement prepared once per connection in `slot`
 * (VIGIL__PG_SLOTS_*: each file uses its own range). */
PGresult *vigil__pg_exec_prepared(vigil__pg_t *pg, int slot, const char *sql,
                                  const vigil__pg_params_t *p, const char *what,
                                  vigil_err_t *err, char *errstr, size_t errstr_size);
/* A sweep's DELETE ... RETURNING, one statement (its own transaction):
 * sql_all or, with camera_id, sql_camera, whose $1 is before_us, $2 the
 * limit and $3 (sql_camera) the camera. The result, or NULL with *err (the
 * error in store->errbuf). */
PGresult *vigil__pg_sweep_exec(vigil__pg_t *pg, const char *sql_all, const char *sql_camera,
                               const char *camera_id, int64_t before_us, size_t limit,
                               const char *what, vigil_err_t *err);
/* Appends clause (a printf format of the one parameter number it names)
 * to the char sql[] being built at len, after bind added that parameter to
 * the vigil__pg_params_t p, when cond: the filters of the paged queries. */
#define VIGIL__PG_FILTER(cond, clause, bind)                                                      \
    do {                                                                                          \
        if (cond) {                                                                               \
            bind;                                                                                 \
            len += (size_t)snprintf(sql + len, sizeof(sql) - len, clause, p.n);                   \
        }                                                                                         \
    } while (0)
/* Runs sql (no parameters, possibly several statements) for its effect. */
vigil_err_t vigil__pg_command(vigil__pg_t *pg, const char *sql, const char *what, char *errstr,
                              size_t errstr_size);

/* Formats "postgres WHERE: what: message" into errstr (NULL: store->errbuf)
 * and returns err. */
vigil_err_t vigil__pg_error(vigil__pg_t *pg, vigil_err_t err, char *errstr, size_t errstr_size,
                            const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- transactions ------------------------------------------------------- */

/* BEGIN (READ COMMITTED): reconnects first if needed. */
vigil_err_t vigil__pg_begin(vigil__pg_t *pg, char *errstr, size_t errstr_size);
vigil_err_t vigil__pg_commit(vigil__pg_t *pg, char *errstr, size_t errstr_size);
/* ROLLBACK if a transaction is open (errors ignored: a lost connection has
 * rolled it back already). */
void vigil__pg_rollback(vigil__pg_t *pg);

/* ---- reading results ---------------------------------------------------- */

/* Number of rows affected by an INSERT/UPDATE/DELETE (PQcmdTuples). */
int64_t vigil__pg_affected(const PGresult *res);
/* Column values of row, col; NULL reads as 0 / "". */
int64_t vigil__pg_int64(const PGresult *res, int row, int col);
double vigil__pg_double(const PGresult *res, int row, int col);
int vigil__pg_is_null(const PGresult *res, int row, int col);
/* Copies a text column into a fixed buffer (truncated, terminated). */
void vigil__pg_text(const PGresult *res, int row, int col, char *out, size_t size);
/* A malloc'd copy of a text column; NULL for SQL NULL or out of memory
 * (*oom set when it was memory, oom may be NULL). */
char *vigil__pg_strdup(const PGresult *res, int row, int col, int *oom);
/* A bytea column (text result) decoded into a malloc'd buffer: 0, or -1 when
 * out of memory or undecodable. NULL column: *data NULL, *len 0, 0. */
int vigil__pg_bytea(const PGresult *res, int row, int col, uint8_t **data, size_t *len);

/* ---- the backend's ops, per file ---------------------------------------- */

/* postgres_schema.c */
/* The SQL of migration step `version` (1..VIGIL__STORE_SCHEMA_VERSION), NULL
 * outside: tests build older schemas with it. */
const char *vigil__pg_migration_sql(int version);
vigil_err_t vigil__pg_migrate(vigil_store_t *store, int *from, int *to, char *errstr,
                              size_t errstr_size);
int vigil__pg_schema_version(vigil_store_t *store);
/* Reads the schema version: 0 when the table is not there, -1 on error
 * (errstr / store->errbuf). */
int vigil__pg_read_version(vigil__pg_t *pg, char *errstr, size_t errstr_size);

/* postgres_partitions.c: frames, detections, events, track_points and
 * analytics_counts are partitioned by UTC day of their time column. */
#define VIGIL__PG_DAY_US INT64_C(86400000000)
/* The UTC day (start, in us) of t. */
int64_t vigil__pg_day_of(int64_t t_us);
/* Makes sure the partitions of every partitioned table exist for the day
 * of each t (n times), creating them in their own transaction under an
 * advisory lock. Must not be called inside a transaction. */
vigil_err_t vigil__pg_partitions_ensure(vigil__pg_t *pg, const int64_t *t_us, size_t n,
                                        char *errstr, size_t errstr_size);
/* Drops, in one transaction, the partitions of `table` (a partitioned
 * table's name) whose whole day is before before_us; *deleted gets the rows
 * they held. */
vigil_err_t vigil__pg_partitions_drop(vigil__pg_t *pg, const char *table, int64_t before_us,
                                      int64_t *deleted, char *errstr, size_t errstr_size);
/* Forgets the cached days (after a reconnect or a drop). */
void vigil__pg_partitions_forget(vigil__pg_t *pg);

/* postgres_detections.c */
vigil_err_t vigil__pg_detections_put(vigil_store_t *store, const vigil_detection_row_t *rows,
                                     size_t n, size_t *inserted, char *errstr,
                                     size_t errstr_size);
vigil_err_t vigil__pg_results_put(vigil_store_t *store, const vigil_frame_result_t *results,
                                  size_t n, size_t *inserted, char *errstr, size_t errstr_size);
vigil_err_t vigil__pg_detections_query(vigil_store_t *store, const vigil_detection_query_t *q,
                                       vigil_detection_row_t **rows, size_t *n,
                                       int64_t *next_after_id);

/* postgres_analytics.c */
vigil_err_t vigil__pg_analytics_commit(vigil_store_t *store,
                                       const vigil_analytics_camera_batch_t *batches, size_t n,
                                       int64_t now_us, char *errstr, size_t errstr_size);
vigil_err_t vigil__pg_analytics_max_track_id(vigil_store_t *store, const char *camera_id,
                                             uint64_t *max);
vigil_err_t vigil__pg_analytics_state_get(vigil_store_t *store, const char *camera_id,
                                          uint8_t **state, size_t *len, uint64_t *last_sequence);
vigil_err_t vigil__pg_analytics_events_query(vigil_store_t *store, const vigil_event_query_t *q,
                                             vigil_analytics_event_row_t **rows, size_t *n,
                                             int64_t *next_start_us, int64_t *next_id);
vigil_err_t vigil__pg_analytics_event_get(vigil_store_t *store, int64_t id,
                                          vigil_analytics_event_row_t *row);
vigil_err_t vigil__pg_counts_query(vigil_store_t *store, const vigil_count_query_t *q,
                                   size_t max_rows, vigil_count_row_t **rows, size_t *n);
vigil_err_t vigil__pg_track_points(vigil_store_t *store, const char *camera_id,
                                   uint64_t track_id, int limit, vigil_track_point_t **points,
                                   size_t *n);
vigil_err_t vigil__pg_sweep_analytics_events(vigil_store_t *store, const char *camera_id,
                                             int64_t before_us, size_t limit,
                                             vigil__swept_event_t **events, size_t *n);

/* The columns of an analytics event in the order vigil__pg_event_from_row
 * reads them (postgres_analytics.c; the search reads events too). */
#define VIGIL__PG_EVENT_COLS                                                                      \
    "id, camera_id, kind, label, track_id, zone, line, direction, start_sequence, start_us, "     \
    "end_us, end_sequence, open, coalesce(snapshot_frame_id, 0), snapshot_sequence, peak_score, " \
    "x1, y1, x2, y2, updated_sequence, reviewed, reviewed_us, reviewed_by"
/* Reads columns col0.. (VIGIL__PG_EVENT_COLS) of row into r. */
void vigil__pg_event_from_row(const PGresult *res, int row, int col0,
                              vigil_analytics_event_row_t *r);
/* The columns of a detection in the order vigil__pg_detection_from_row reads
 * them (postgres_detections.c; the search reads detections too). */
#define VIGIL__PG_DETECTION_COLS                                                                  \
    "id, camera_id, sequence, coalesce(frame_id, 0), capture_time_us, model, idx, label, score, " \
    "x1, y1, x2, y2"
void vigil__pg_detection_from_row(const PGresult *res, int row, int col0,
                                  vigil_detection_row_t *d);

/* postgres_retention.c: retention by size (store_retention_int.h) */
extern const struct vigil__store_retention_ops vigil__pg_retention_ops;

/* Written by NAME=pgacct (postgres_accounts.c, postgres_resources.c,
 * postgres_search.c, postgres_push.c) against the tables of
 * postgres_schema.c; postgres.c names them in its ops table once they
 * exist. */
extern const struct vigil__store_accounts_ops vigil__pg_accounts_ops;
extern const struct vigil__store_resources_ops vigil__pg_resources_ops;
extern const struct vigil__store_push_ops vigil__pg_push_ops;
/* postgres_replication.c: the WAL position (store.h, "replication"). */
vigil_err_t vigil__pg_wal(vigil_store_t *store, vigil_store_wal_t *wal, char *errstr,
                          size_t errstr_size);

#endif
