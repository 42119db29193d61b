/* Statements of the PostgreSQL accounts, resources, push and search ops
 * (postgres_exec.h): parameters, execution with SQLSTATE mapping, rows.
 *
 * Thread: the handle's thread. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres_exec.h"

static int pgx_add(vigil__pgx_params_t *p, const char *value, int length, int format)
{
    if (p->n >= VIGIL__PGX_PARAMS_MAX) {
        p->overflow = 1;
        return VIGIL__PGX_PARAMS_MAX;
    }
    p->values[p->n] = value;
    p->lengths[p->n] = length;
    p->formats[p->n] = format;
    return ++p->n;
}

int vigil__pgx_text(vigil__pgx_params_t *p, const char *s)
{
    return pgx_add(p, s, 0, 0);
}

int vigil__pgx_int(vigil__pgx_params_t *p, int64_t v)
{
    if (p->n >= VIGIL__PGX_PARAMS_MAX) return pgx_add(p, NULL, 0, 0);
    snprintf(p->num[p->n], sizeof(p->num[0]), "%" PRId64, v);
    return pgx_add(p, p->num[p->n], 0, 0);
}

int vigil__pgx_double(vigil__pgx_params_t *p, double v)
{
    if (p->n >= VIGIL__PGX_PARAMS_MAX) return pgx_add(p, NULL, 0, 0);
    snprintf(p->num[p->n], sizeof(p->num[0]), "%.17g", v);
    return pgx_add(p, p->num[p->n], 0, 0);
}

int vigil__pgx_bool(vigil__pgx_params_t *p, int v)
{
    return pgx_add(p, v ? "1" : "0", 0, 0);
}

int vigil__pgx_bytea(vigil__pgx_params_t *p, const void *data, size_t len)
{
    /* binary format: the bytes as they are; a zero-length value is '' */
    return pgx_add(p, data ? (const char *)data : "", (int)len, 1);
}

PGresult *vigil__pgx_exec(vigil_store_t *store, int slot, const char *sql,
                          const vigil__pgx_params_t *p, const char *what, vigil_err_t *err,
                          char *errstr, size_t errstr_size)
{
    vigil__pg_t *pg = vigil__pg(store);
    vigil__pg_params_t q;
    PGresult *r;
    if (p && p->overflow) {
        *err = vigil__pg_error(pg, VIGIL_ERR_INVALID, errstr, errstr_size,
                               "%s: more than %d parameters", what, VIGIL__PGX_PARAMS_MAX);
        return NULL;
    }
    vigil__pg_params_init(&q);
    for (int i = 0; p && i < p->n; i++) {
        if (p->formats[i])
            vigil__pg_param_bytea(&q, p->values[i], (size_t)p->lengths[i]);
        else
            vigil__pg_param_text(&q, p->values[i]);
    }
    if (slot >= 0)
        r = vigil__pg_exec_prepared(pg, slot, sql, &q, what, err, errstr, errstr_size);
    else
        r = vigil__pg_exec(pg, sql, &q, what, err, errstr, errstr_size);
    vigil__pg_params_release(&q);
    /* a row that names a user that is not there */
    if (!r && strcmp(pg->sqlstate, "23503") == 0) *err = VIGIL_ERR_NOT_FOUND;
    return r;
}

vigil_err_t vigil__pgx_run(vigil_store_t *store, int slot, const char *sql,
                           const vigil__pgx_params_t *p, const char *what, int64_t *changes,
                           char *errstr, size_t errstr_size)
{
    vigil_err_t err = VIGIL_OK;
    PGresult *r = vigil__pgx_exec(store, slot, sql, p, what, &err, errstr, errstr_size);
    if (!r) return err;
    if (changes) *changes = vigil__pg_affected(r);
    PQclear(r);
    return VIGIL_OK;
}

vigil_err_t vigil__pgx_begin(vigil_store_t *store, char *errstr, size_t errstr_size)
{
    return vigil__pg_begin(vigil__pg(store), errstr, errstr_size);
}

vigil_err_t vigil__pgx_end(vigil_store_t *store, vigil_err_t err, char *errstr,
                           size_t errstr_size)
{
    if (err == VIGIL_OK) err = vigil__pg_commit(vigil__pg(store), errstr, errstr_size);
    if (err == VIGIL_OK) return VIGIL_OK;
    vigil__pg_rollback(vigil__pg(store));
    return err;
}

vigil_err_t vigil__pgx_lock(vigil_store_t *store, const char *key, char *errstr,
                            size_t errstr_size)
{
    vigil__pgx_params_t p = {0};
    vigil__pgx_text(&p, key);
    return vigil__pgx_run(store, -1, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &p,
                          "lock", NULL, errstr, errstr_size);
}

int vigil__pgx_flag(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col)) return 0;
    const char *v = PQgetvalue(r, row, col);
    if (v[0] == 't') return 1;
    if (v[0] == 'f') return 0;
    return strtoll(v, NULL, 10) != 0;
}

vigil_err_t vigil__pgx_collect(const PGresult *r, const vigil__pgx_rows_t *how, size_t max,
                               void **out, size_t *n, int *more, char *errstr,
                               size_t errstr_size)
{
    size_t rows = (size_t)PQntuples(r), take = rows < max ? rows : max;
    unsigned char *arr = NULL;
    *out = NULL;
    *n = 0;
    if (rows > max && more) *more = 1;
    if (!take) return VIGIL_OK;
    if (!(arr = calloc(take, how->elem_size)))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "%s", how->nomem);
    for (size_t i = 0; i < take; i++) {
        if (how->row(r, (int)i, arr + i * how->elem_size) == 0) continue;
        for (size_t j = 0; how->release && j <= i; j++) how->release(arr + j * how->elem_size);
        free(arr);
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "%s", how->nomem);
    }
    *out = arr;
    *n = take;
    return VIGIL_OK;
}

vigil_err_t vigil__pgx_list(vigil_store_t *store, int slot, const char *sql,
                            const vigil__pgx_params_t *p, const char *what,
                            const vigil__pgx_rows_t *how, size_t max, void **out, size_t *n,
                            int *more, char *errstr, size_t errstr_size)
{
    vigil_err_t err = VIGIL_OK;
    PGresult *r = vigil__pgx_exec(store, slot, sql, p, what, &err, errstr, errstr_size);
    if (!r) return err;
    err = vigil__pgx_collect(r, how, max, out, n, more, errstr, errstr_size);
    PQclear(r);
    return err;
}
