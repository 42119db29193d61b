/* Running statements for the PostgreSQL ops that are not the core's
 * (postgres_accounts.c, postgres_resources.c, postgres_push.c,
 * postgres_search.c): bound parameters, one call per statement, the
 * SQLSTATE of a failure mapped to a vigil error, and rows read out of a
 * PGresult.
 *
 * Main idea: a statement's few parameters are collected in a fixed array
 * on the stack (numbers printed into it, text and bytea pointing at the
 * caller's memory) and handed to the core's vigil__pg_exec_prepared
 * (postgres_int.h), which reconnects, prepares each file's fixed SQL once
 * per connection, and classifies failures by SQLSTATE. Every value is a
 * parameter, never inside the SQL; the search's SQL is built from
 * placeholders only. A failure's message names the warehouse by its
 * redacted URL (never the connection string), what was being done and
 * PostgreSQL's message.
 *
 * Thread: the handle's thread, as every store op. */
#ifndef VIGIL_STORE_POSTGRES_EXEC_H
#define VIGIL_STORE_POSTGRES_EXEC_H

#include <libpq-fe.h>

#include "store/postgres_int.h"

/* Parameters of one statement: $1.. in the order added. The search binds
 * the most (its lists); the others a handful. */
#define VIGIL__PGX_PARAMS_MAX 224

typedef struct vigil__pgx_params {
    int n;
    int overflow; /* more than VIGIL__PGX_PARAMS_MAX were added: exec refuses */
    const char *values[VIGIL__PGX_PARAMS_MAX];
    int lengths[VIGIL__PGX_PARAMS_MAX];
    int formats[VIGIL__PGX_PARAMS_MAX];
    char num[VIGIL__PGX_PARAMS_MAX][32];
} vigil__pgx_params_t;

/* Each adds the next parameter and returns its number ($n). Text is not
 * copied: it must live until the exec. NULL text is SQL NULL. */
int vigil__pgx_text(vigil__pgx_params_t *p, const char *s);
int vigil__pgx_int(vigil__pgx_params_t *p, int64_t v);
int vigil__pgx_double(vigil__pgx_params_t *p, double v);
int vigil__pgx_bool(vigil__pgx_params_t *p, int v);
int vigil__pgx_bytea(vigil__pgx_params_t *p, const void *data, size_t len);

/* Runs sql with p (may be NULL) through postgres_int.h's vigil__pg_exec
 * (slot < 0) or vigil__pg_exec_prepared (slot: the file's range of
 * VIGIL__PG_SLOTS_*), so that reconnection and SQLSTATE classification are
 * the core's. On success the result (PQclear it). On failure NULL, *err set
 * and errstr "postgres URL: what: message"; a foreign-key violation (23503:
 * a user that is not there) is VIGIL_ERR_NOT_FOUND here, a unique one
 * VIGIL_ERR_EXISTS. */
PGresult *vigil__pgx_exec(vigil_store_t *store, int slot, const char *sql,
                          const vigil__pgx_params_t *p, const char *what, vigil_err_t *err,
                          char *errstr, size_t errstr_size);
/* Runs a statement whose rows are not wanted; *changes (may be NULL) gets
 * the rows it touched. */
vigil_err_t vigil__pgx_run(vigil_store_t *store, int slot, const char *sql,
                           const vigil__pgx_params_t *p, const char *what, int64_t *changes,
                           char *errstr, size_t errstr_size);

/* Transactions (vigil__pg_begin, READ COMMITTED). end: commits, or rolls
 * back when err is set (or the commit fails); returns err or the commit's
 * error. */
vigil_err_t vigil__pgx_begin(vigil_store_t *store, char *errstr, size_t errstr_size);
vigil_err_t vigil__pgx_end(vigil_store_t *store, vigil_err_t err, char *errstr,
                           size_t errstr_size);
/* Inside a transaction: waits for the transaction-scoped advisory lock named
 * key (e.g. "vigil.users"), so that writers of the same thing take turns as
 * SQLite's BEGIN IMMEDIATE makes them (released at commit or rollback). */
vigil_err_t vigil__pgx_lock(vigil_store_t *store, const char *key, char *errstr,
                            size_t errstr_size);

/* A flag column (integer 0/1, or boolean) as 0/1; NULL reads as 0. The
 * other readers are the core's (vigil__pg_int64, vigil__pg_text, ...). */
int vigil__pgx_flag(const PGresult *r, int row, int col);

/* How vigil__pgx_collect reads the rows of one kind of list (as
 * vigil__sq_rows_t). */
typedef struct vigil__pgx_rows {
    size_t elem_size;
    /* Fills elem (zeroed) from row i; 0, or -1 when out of memory or the row
     * cannot be held: what it took stays in elem for release. */
    int (*row)(const PGresult *r, int i, void *elem);
    void (*release)(void *elem); /* NULL when elems own nothing */
    const char *nomem;           /* errstr when out of memory */
} vigil__pgx_rows_t;

/* Reads at most max rows of r into a malloc'd array (NULL for none); a row
 * beyond max sets *more (may be NULL; never cleared). VIGIL_OK, or
 * VIGIL_ERR_NOMEM with nothing handed back. r is left to the caller. */
vigil_err_t vigil__pgx_collect(const PGresult *r, const vigil__pgx_rows_t *how, size_t max,
                               void **out, size_t *n, int *more, char *errstr,
                               size_t errstr_size);

/* Runs sql and collects its rows (vigil__pgx_exec + vigil__pgx_collect). */
vigil_err_t vigil__pgx_list(vigil_store_t *store, int slot, const char *sql,
                            const vigil__pgx_params_t *p, const char *what,
                            const vigil__pgx_rows_t *how, size_t max, void **out, size_t *n,
                            int *more, char *errstr, size_t errstr_size);

/* postgres_search.c: the resources op `search` (store_resources_int.h). */
vigil_err_t vigil__pg_search(vigil_store_t *store, const vigil_search_query_t *q,
                             vigil_search_result_t *res, char *errstr, size_t errstr_size);

#endif
