/* The PostgreSQL backend's connection and statement helpers
 * (postgres_int.h): connecting and reconnecting, running statements with
 * text parameters, preparing them once per connection, classifying errors
 * by SQLSTATE, transactions, and reading result columns.
 *
 * The main idea: a handle never hides a lost connection inside a
 * transaction (the transaction is gone, and replaying half of it would be
 * wrong): the statement fails with VIGIL_ERR_AGAIN, the caller rolls back
 * (a no-op) and returns the retriable error, and the next statement outside
 * a transaction reconnects. Reconnecting waits at most the connect timeout.
 *
 * Thread: the handle's thread. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres_int.h"
#include "vigil/log.h"

/* ---- parameters --------------------------------------------------------- */

void vigil__pg_params_init(vigil__pg_params_t *p)
{
    memset(p, 0, sizeof(*p));
}

void vigil__pg_params_release(vigil__pg_params_t *p)
{
    free(p->values);
    free(p->lengths);
    free(p->formats);
    free(p->nums);
    memset(p, 0, sizeof(*p));
}

void vigil__pg_params_clear(vigil__pg_params_t *p)
{
    p->n = 0;
    p->oom = 0;
}

/* Room for one more parameter; its index, or -1 (oom set). */
static int pg_param_slot(vigil__pg_params_t *p)
{
    if (p->oom) return -1;
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 16;
        const char **values = realloc(p->values, (size_t)cap * sizeof(*values));
        if (values) p->values = values;
        int *lengths = values ? realloc(p->lengths, (size_t)cap * sizeof(*lengths)) : NULL;
        if (lengths) p->lengths = lengths;
        int *formats = lengths ? realloc(p->formats, (size_t)cap * sizeof(*formats)) : NULL;
        if (formats) p->formats = formats;
        char(*nums)[32] = formats ? realloc(p->nums, (size_t)cap * sizeof(*nums)) : NULL;
        if (!nums) {
            p->oom = 1;
            return -1;
        }
        /* the values of earlier numbers pointed into the old block */
        for (int i = 0; i < p->n; i++)
            if (p->values[i] && p->formats[i] == 2) p->values[i] = nums[i];
        p->nums = nums;
        p->cap = cap;
    }
    return p->n++;
}

void vigil__pg_param_text(vigil__pg_params_t *p, const char *s)
{
    int i = pg_param_slot(p);
    if (i < 0) return;
    p->values[i] = s;
    p->lengths[i] = 0;
    p->formats[i] = 0;
}

/* A number printed into the params' own storage (format 2 marks it for the
 * pointer fix-up on growth; libpq is given 0, text). */
static void pg_param_num(vigil__pg_params_t *p, const char *fmt, ...)
{
    int i = pg_param_slot(p);
    if (i < 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->nums[i], sizeof(p->nums[i]), fmt, ap);
    va_end(ap);
    p->values[i] = p->nums[i];
    p->lengths[i] = 0;
    p->formats[i] = 2;
}

void vigil__pg_param_int(vigil__pg_params_t *p, int64_t v)
{
    pg_param_num(p, "%" PRId64, v);
}

void vigil__pg_param_uint(vigil__pg_params_t *p, uint64_t v)
{
    pg_param_num(p, "%" PRId64, (int64_t)v);
}

void vigil__pg_param_double(vigil__pg_params_t *p, double v)
{
    pg_param_num(p, "%.17g", v);
}

void vigil__pg_param_bool(vigil__pg_params_t *p, int v)
{
    pg_param_num(p, "%d", v ? 1 : 0);
}

void vigil__pg_param_bytea(vigil__pg_params_t *p, const void *data, size_t len)
{
    int i = pg_param_slot(p);
    if (i < 0) return;
    p->values[i] = data;
    p->lengths[i] = (int)len;
    p->formats[i] = 1;
}

/* libpq's formats (0 text, 1 binary) from ours (2: a number, text). */
static const int *pg_formats(const vigil__pg_params_t *p, int *tmp, int max)
{
    if (!p || p->n == 0) return NULL;
    int *f = p->n <= max ? tmp : malloc((size_t)p->n * sizeof(int));
    if (!f) return NULL;
    for (int i = 0; i < p->n; i++) f[i] = p->formats[i] == 1 ? 1 : 0;
    return f;
}

/* ---- errors ------------------------------------------------------------- */

vigil_err_t vigil__pg_sqlstate_err(const char *s)
{
    if (!s || strlen(s) != 5) return VIGIL_ERR_AGAIN; /* no answer: the connection is gone */
    if (strncmp(s, "08", 2) == 0) return VIGIL_ERR_AGAIN;
    if (strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0 || strcmp(s, "55P03") == 0 ||
        strcmp(s, "53300") == 0)
        return VIGIL_ERR_AGAIN;
    if (strncmp(s, "57P0", 4) == 0) return VIGIL_ERR_AGAIN; /* shutdown, cannot connect now */
    if (strcmp(s, "57014") == 0) return VIGIL_ERR_TIMED_OUT;
    if (strcmp(s, "53100") == 0) return VIGIL_ERR_FULL;
    if (strcmp(s, "53200") == 0) return VIGIL_ERR_NOMEM;
    if (strncmp(s, "58", 2) == 0) return VIGIL_ERR_IO;
    if (strcmp(s, "23505") == 0) return VIGIL_ERR_EXISTS;
    if (strncmp(s, "23", 2) == 0 || strncmp(s, "22", 2) == 0) return VIGIL_ERR_INVALID;
    if (strncmp(s, "54", 2) == 0) return VIGIL_ERR_TOO_LARGE;
    return VIGIL_ERR_STORE;
}

/* The first line of a libpq message, without "ERROR:  " / "FATAL:  ". */
static void pg_clean_message(const char *msg, char *out, size_t size)
{
    if (!msg || !*msg) msg = "no answer from the server";
    for (const char *pre = NULL; (pre = strstr(msg, ":  ")) && pre - msg < 10;)
        msg = pre + 3;
    size_t n = strcspn(msg, "\n");
    if (n >= size) n = size - 1;
    memcpy(out, msg, n);
    out[n] = '\0';
    /* a trailing "\n" of libpq's connection messages ends a sentence */
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' ')) out[--n] = '\0';
}

vigil_err_t vigil__pg_error(vigil__pg_t *pg, vigil_err_t err, char *errstr, size_t errstr_size,
                            const char *fmt, ...)
{
    if (!errstr) {
        errstr = pg->base.errbuf;
        errstr_size = sizeof(pg->base.errbuf);
    }
    char what[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return vigil_seterr(errstr, errstr_size, err, "postgres %s: %s", pg->where, what);
}

/* ---- connecting --------------------------------------------------------- */

/* Whether a failed connection is who we are (password, role, database),
 * which waiting does not cure, rather than where the server is. */
static int pg_refused_identity(const char *msg)
{
    return msg && (strstr(msg, "password authentication failed") ||
                   strstr(msg, "authentication failed") || strstr(msg, "no password supplied") ||
                   strstr(msg, "does not exist") || strstr(msg, "no pg_hba.conf entry") ||
                   strstr(msg, "permission denied"));
}

static void pg_ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

vigil_err_t vigil__pg_ensure(vigil__pg_t *pg, char *errstr, size_t errstr_size)
{
    if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK) return VIGIL_OK;
    if (pg->in_tx) {
        pg->in_tx = 0;
        return vigil__pg_error(pg, VIGIL_ERR_AGAIN, errstr, errstr_size,
                               "connection lost during a transaction");
    }
    int again = pg->conn != NULL;
    if (pg->conn) PQfinish(pg->conn);
    pg->conn = NULL;
    memset(pg->prepared, 0, sizeof(pg->prepared));
    char timeout[16];
    snprintf(timeout, sizeof(timeout), "%d", pg->connect_timeout_s > 0 ? pg->connect_timeout_s : 5);
    /* the url's own settings come after ours, so that they win */
    const char *keys[] = {"connect_timeout", "application_name", "keepalives_idle",
                          "keepalives_interval", "keepalives_count", "dbname", NULL};
    const char *values[] = {timeout, "vigil", "30", "10", "3", pg->url, NULL};
    pg->conn = PQconnectdbParams(keys, values, 1);
    if (!pg->conn)
        return vigil__pg_error(pg, VIGIL_ERR_NOMEM, errstr, errstr_size,
                               "cannot connect: out of memory");
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        char msg[384];
        pg_clean_message(PQerrorMessage(pg->conn), msg, sizeof(msg));
        vigil_err_t err = pg_refused_identity(msg) ? VIGIL_ERR_CONFIG : VIGIL_ERR_AGAIN;
        PQfinish(pg->conn);
        pg->conn = NULL;
        return vigil__pg_error(pg, err, errstr, errstr_size, "cannot connect: %s", msg);
    }
    /* the server's notices (CREATE ... IF NOT EXISTS skipping, "terminating
     * connection because of crash of another server process") are not ours:
     * libpq's default prints them on stderr, into the JSON log lines (a NULL
     * processor only asks for the current one) */
    PQsetNoticeProcessor(pg->conn, pg_ignore_notice, NULL);
    PGresult *res = PQexec(pg->conn, "SET TIME ZONE 'UTC'");
    PQclear(res);
    if (again) {
        pg->reconnects++;
        if (pg->reconnect_counter) vigil_counter_inc(pg->reconnect_counter);
        vigil_info("store", NULL, "postgres %s: reconnected", pg->where);
    }
    return VIGIL_OK;
}

/* ---- statements --------------------------------------------------------- */

/* Checks a result: returns it if it succeeded, else NULL with the error. */
static PGresult *pg_check(vigil__pg_t *pg, PGresult *res, const char *what, vigil_err_t *err,
                          char *errstr, size_t errstr_size)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (err) *err = VIGIL_OK;
        return res;
    }
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(pg->sqlstate, sizeof(pg->sqlstate), "%s", state ? state : "");
    vigil_err_t e = vigil__pg_sqlstate_err(state);
    char msg[384];
    const char *text = res ? PQresultErrorMessage(res) : NULL;
    if (!text || !*text) text = PQerrorMessage(pg->conn);
    pg_clean_message(text, msg, sizeof(msg));
    int lost = PQstatus(pg->conn) != CONNECTION_OK;
    if (lost) {
        /* the transaction died with the connection; the next call reconnects */
        pg->in_tx = 0;
        e = VIGIL_ERR_AGAIN;
        PQfinish(pg->conn);
        pg->conn = NULL;
        memset(pg->prepared, 0, sizeof(pg->prepared));
    }
    vigil__pg_error(pg, e, errstr, errstr_size, "%s: %s%s%s%s", what, msg,
                    state && *state ? " (SQLSTATE " : "", state && *state ? state : "",
                    state && *state ? ")" : "");
    if (err) *err = e;
    PQclear(res);
    return NULL;
}

/* The connection for a statement: ensured outside transactions. */
static int pg_ready(vigil__pg_t *pg, const vigil__pg_params_t *p, vigil_err_t *err,
                    char *errstr, size_t errstr_size)
{
    vigil_err_t e = VIGIL_OK;
    pg->sqlstate[0] = '\0';
    if (p && p->oom)
        e = vigil__pg_error(pg, VIGIL_ERR_NOMEM, errstr, errstr_size,
                            "out of memory for statement parameters");
    else
        e = vigil__pg_ensure(pg, errstr, errstr_size);
    if (err) *err = e;
    return e == VIGIL_OK;
}

PGresult *vigil__pg_exec(vigil__pg_t *pg, const char *sql, const vigil__pg_params_t *p,
                         const char *what, vigil_err_t *err, char *errstr, size_t errstr_size)
{
    if (!pg_ready(pg, p, err, errstr, errstr_size)) return NULL;
    int tmp[64];
    const int *formats = pg_formats(p, tmp, 64);
    PGresult *res = PQexecParams(pg->conn, sql, p ? p->n : 0, NULL, p ? p->values : NULL,
                                 p ? p->lengths : NULL, formats, 0);
    if (formats && formats != tmp) free((void *)formats);
    return pg_check(pg, res, what, err, errstr, errstr_size);
}

PGresult *vigil__pg_sweep_exec(vigil__pg_t *pg, const char *sql_all, const char *sql_camera,
                               const char *camera_id, int64_t before_us, size_t limit,
                               const char *what, vigil_err_t *err)
{
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    vigil__pg_param_int(&p, before_us);
    vigil__pg_param_int(&p, (int64_t)limit);
    if (camera_id) vigil__pg_param_text(&p, camera_id);
    PGresult *res = vigil__pg_exec(pg, camera_id ? sql_camera : sql_all, &p, what, err, NULL, 0);
    vigil__pg_params_release(&p);
    return res;
}

PGresult *vigil__pg_exec_prepared(vigil__pg_t *pg, int slot, const char *sql,
                                  const vigil__pg_params_t *p, const char *what,
                                  vigil_err_t *err, char *errstr, size_t errstr_size)
{
    if (slot < 0 || slot >= VIGIL__PG_SLOTS)
        return vigil__pg_exec(pg, sql, p, what, err, errstr, errstr_size);
    if (!pg_ready(pg, p, err, errstr, errstr_size)) return NULL;
    char name[16];
    snprintf(name, sizeof(name), "v%d", slot);
    if (!pg->prepared[slot]) {
        PGresult *res = PQprepare(pg->conn, name, sql, 0, NULL);
        if (!pg_check(pg, res, what, err, errstr, errstr_size)) return NULL;
        PQclear(res);
        pg->prepared[slot] = 1;
    }
    int tmp[64];
    const int *formats = pg_formats(p, tmp, 64);
    PGresult *res = PQexecPrepared(pg->conn, name, p ? p->n : 0, p ? p->values : NULL,
                                   p ? p->lengths : NULL, formats, 0);
    if (formats && formats != tmp) free((void *)formats);
    return pg_check(pg, res, what, err, errstr, errstr_size);
}

vigil_err_t vigil__pg_command(vigil__pg_t *pg, const char *sql, const char *what, char *errstr,
                              size_t errstr_size)
{
    vigil_err_t err;
    if (!pg_ready(pg, NULL, &err, errstr, errstr_size)) return err;
    PGresult *res = pg_check(pg, PQexec(pg->conn, sql), what, &err, errstr, errstr_size);
    PQclear(res);
    return err;
}

/* ---- transactions ------------------------------------------------------- */

vigil_err_t vigil__pg_begin(vigil__pg_t *pg, char *errstr, size_t errstr_size)
{
    vigil_err_t err = vigil__pg_command(pg, "BEGIN", "begin", errstr, errstr_size);
    if (err == VIGIL_OK) pg->in_tx = 1;
    return err;
}

vigil_err_t vigil__pg_commit(vigil__pg_t *pg, char *errstr, size_t errstr_size)
{
    vigil_err_t err = vigil__pg_command(pg, "COMMIT", "commit", errstr, errstr_size);
    pg->in_tx = 0;
    return err;
}

void vigil__pg_rollback(vigil__pg_t *pg)
{
    if (pg->in_tx && pg->conn && PQstatus(pg->conn) == CONNECTION_OK) {
        PGresult *res = PQexec(pg->conn, "ROLLBACK");
        PQclear(res);
    }
    pg->in_tx = 0;
}

/* ---- reading results ---------------------------------------------------- */

int64_t vigil__pg_affected(const PGresult *res)
{
    const char *s = PQcmdTuples((PGresult *)res);
    return s && *s ? strtoll(s, NULL, 10) : 0;
}

int vigil__pg_is_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col);
}

int64_t vigil__pg_int64(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col)) return 0;
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

double vigil__pg_double(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col)) return 0;
    return strtod(PQgetvalue(res, row, col), NULL);
}

void vigil__pg_text(const PGresult *res, int row, int col, char *out, size_t size)
{
    if (size == 0) return;
    snprintf(out, size, "%s", PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
}

char *vigil__pg_strdup(const PGresult *res, int row, int col, int *oom)
{
    if (PQgetisnull(res, row, col)) return NULL;
    char *s = strdup(PQgetvalue(res, row, col));
    if (!s && oom) *oom = 1;
    return s;
}

int vigil__pg_bytea(const PGresult *res, int row, int col, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    if (PQgetisnull(res, row, col)) return 0;
    size_t n = 0;
    unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col), &n);
    if (!raw) return -1;
    uint8_t *copy = malloc(n ? n : 1);
    if (copy && n) memcpy(copy, raw, n);
    PQfreemem(raw);
    if (!copy) return -1;
    *data = copy;
    *len = n;
    return 0;
}
