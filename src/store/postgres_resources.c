/* The API's resources in PostgreSQL (store.h, "resources"; the tables of
 * postgres_schema.c step 5, as sqlite_resources.c): cameras the API
 * manages, rule sets with versions, event review and deletion, storage per
 * camera. The search is in postgres_search.c.
 *
 * Main idea: every write that must see what is there before it writes (a
 * create that must not overwrite a camera, a replace of an API camera only,
 * a rule set compared with its version) runs in one transaction that first
 * takes an advisory lock (all camera writes: "vigil.cameras"; a rule set:
 * "vigil.rules/CAMERA"), so that two API replicas racing on one row take
 * turns as SQLite's BEGIN IMMEDIATE makes them: one wins, the other sees
 * its row and gets the error that says so. READ COMMITTED lets the second
 * see the first's commit once it holds the lock. Text keys are ordered
 * COLLATE "C", byte order as SQLite's, whatever the database's locale.
 *
 * Thread: the handle's thread. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres_exec.h"
#include "store/store_resources_int.h"

#define PGR_CAMERA_COLS                                                                           \
    "id, name, url, fps, enabled, status, last_error, updated_us, origin, retention_hours, "      \
    "created_us"
#define PGR_CAMERAS_LOCK "vigil.cameras"
#define PGR_SLOT(which) (VIGIL__PG_SLOTS_RESOURCES + (int)(which))

typedef enum {
    PGR_CAMERA_RECORDS,
    PGR_CAMERA_RECORDS_AFTER,
    PGR_CAMERA_GET,
    PGR_CAMERA_STATE,
    PGR_CAMERA_CREATE,
    PGR_CAMERA_REPLACE,
    PGR_CAMERA_REMOVE,
    PGR_RULES_DELETE,
    PGR_CAMERA_LIST_API,
    PGR_RULES_GET,
    PGR_RULES_VERSION,
    PGR_RULES_PUT,
    PGR_RULES_LIST,
    PGR_EVENT_REVIEW,
    PGR_EVENT_STATE,
    PGR_EVENT_DELETE,
    PGR_STORAGE,
    PGR_API_COUNT,
    PGR_CAMERA_SWITCH,
    PGR_COUNT_
} pgr_stmt_t;

_Static_assert(VIGIL__PG_SLOTS_RESOURCES + PGR_COUNT_ <= VIGIL__PG_SLOTS_PUSH,
               "postgres_int.h: the resources' prepared slots overflow");

static const char *const pgr_sql[PGR_COUNT_] = {
    [PGR_CAMERA_RECORDS] = "SELECT " PGR_CAMERA_COLS ", '' FROM cameras WHERE removed = 0 "
                           "ORDER BY id COLLATE \"C\" LIMIT $1",
    [PGR_CAMERA_RECORDS_AFTER] = "SELECT " PGR_CAMERA_COLS ", '' FROM cameras WHERE removed = 0 "
                                 "AND id COLLATE \"C\" > $1 ORDER BY id COLLATE \"C\" LIMIT $2",
    [PGR_CAMERA_GET] = "SELECT " PGR_CAMERA_COLS ", CASE WHEN $2::int <> 0 THEN source_url "
                       "ELSE '' END FROM cameras WHERE id = $1 AND removed = 0",
    [PGR_CAMERA_STATE] = "SELECT origin, removed FROM cameras WHERE id = $1",
    [PGR_CAMERA_CREATE] =
        "INSERT INTO cameras (id, name, url, fps, enabled, status, last_error, updated_us, origin, "
        "source_url, retention_hours, removed, created_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
        "'api', $9, $10, 0, $8) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
        "url = excluded.url, fps = excluded.fps, enabled = excluded.enabled, "
        "status = excluded.status, last_error = excluded.last_error, "
        "updated_us = excluded.updated_us, origin = 'api', source_url = excluded.source_url, "
        "retention_hours = excluded.retention_hours, removed = 0, created_us = excluded.created_us",
    [PGR_CAMERA_REPLACE] =
        "UPDATE cameras SET name = $2, url = $3, fps = $4, enabled = $5, status = $6, "
        "last_error = $7, updated_us = $8, source_url = $9, retention_hours = $10 "
        "WHERE id = $1 AND origin = 'api' AND removed = 0",
    /* the credentials go with the camera */
    [PGR_CAMERA_REMOVE] = "UPDATE cameras SET removed = 1, source_url = '', status = 'removed', "
                          "last_error = '', updated_us = $2 WHERE id = $1",
    [PGR_RULES_DELETE] = "DELETE FROM camera_rules WHERE camera_id = $1",
    [PGR_CAMERA_LIST_API] = "SELECT " PGR_CAMERA_COLS ", source_url FROM cameras "
                            "WHERE origin = 'api' AND removed = 0 ORDER BY id COLLATE \"C\" "
                            "LIMIT $1",
    [PGR_RULES_GET] = "SELECT camera_id, version, updated_us, updated_by, rules_json "
                      "FROM camera_rules WHERE camera_id = $1",
    [PGR_RULES_VERSION] = "SELECT version FROM camera_rules WHERE camera_id = $1",
    [PGR_RULES_PUT] = "INSERT INTO camera_rules (camera_id, version, rules_json, updated_us, "
                      "updated_by) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (camera_id) DO UPDATE "
                      "SET version = excluded.version, rules_json = excluded.rules_json, "
                      "updated_us = excluded.updated_us, updated_by = excluded.updated_by",
    [PGR_RULES_LIST] = "SELECT camera_id, version, updated_us, updated_by, rules_json "
                       "FROM camera_rules ORDER BY camera_id COLLATE \"C\" LIMIT $1",
    /* one statement for the whole list; the ids it found come back */
    [PGR_EVENT_REVIEW] = "UPDATE analytics_events SET reviewed = $2, reviewed_us = $3, "
                         "reviewed_by = $4 WHERE id = ANY ($1::bigint[]) RETURNING id",
    [PGR_EVENT_STATE] = "SELECT camera_id, open FROM analytics_events WHERE id = $1 FOR UPDATE",
    [PGR_EVENT_DELETE] = "DELETE FROM analytics_events WHERE id = $1",
    /* three grouped scans (frames_camera_time, detections_camera,
     * analytics_events_camera_time), merged per camera */
    [PGR_STORAGE] =
        "SELECT camera_id, sum(f), sum(b), min(o), max(w), sum(d), sum(e) FROM ("
        "SELECT camera_id, count(*) AS f, coalesce(sum(size_bytes), 0) AS b, "
        "min(capture_time_us) AS o, max(capture_time_us) AS w, 0::bigint AS d, 0::bigint AS e "
        "FROM frames GROUP BY camera_id UNION ALL "
        "SELECT camera_id, 0, 0, NULL, NULL, count(*), 0 FROM detections GROUP BY camera_id "
        "UNION ALL SELECT camera_id, 0, 0, NULL, NULL, 0, count(*) FROM analytics_events "
        "GROUP BY camera_id) s GROUP BY camera_id ORDER BY camera_id COLLATE \"C\" LIMIT $1",
    [PGR_API_COUNT] = "SELECT count(*) FROM cameras WHERE origin = 'api' AND removed = 0",
    /* a configuration camera: only enabled and its status change hands */
    [PGR_CAMERA_SWITCH] =
        "INSERT INTO cameras (id, name, url, fps, enabled, status, last_error, updated_us, origin) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'switched') ON CONFLICT (id) DO UPDATE SET "
        "enabled = excluded.enabled, status = excluded.status, last_error = excluded.last_error, "
        "updated_us = excluded.updated_us, origin = 'switched' WHERE cameras.origin <> 'api'",
};

static PGresult *pgr_exec(vigil_store_t *store, pgr_stmt_t which, const vigil__pgx_params_t *p,
                          const char *what, vigil_err_t *err, char *errstr, size_t errstr_size)
{
    return vigil__pgx_exec(store, PGR_SLOT(which), pgr_sql[which], p, what, err, errstr,
                           errstr_size);
}

static vigil_err_t pgr_run(vigil_store_t *store, pgr_stmt_t which, const vigil__pgx_params_t *p,
                           const char *what, int64_t *changes, char *errstr, size_t errstr_size)
{
    return vigil__pgx_run(store, PGR_SLOT(which), pgr_sql[which], p, what, changes, errstr,
                          errstr_size);
}

static vigil_err_t pgr_list(vigil_store_t *store, pgr_stmt_t which, const vigil__pgx_params_t *p,
                            const char *what, const vigil__pgx_rows_t *how, size_t max, void **out,
                            size_t *n, int *more, char *errstr, size_t errstr_size)
{
    return vigil__pgx_list(store, PGR_SLOT(which), pgr_sql[which], p, what, how, max, out, n, more,
                           errstr, errstr_size);
}

/* ---- cameras ------------------------------------------------------------- */

/* A camera record row (vigil__pgx_rows_t.row): PGR_CAMERA_COLS and the URL. */
static int pgr_camera_from_row(const PGresult *r, int i, void *elem)
{
    vigil_camera_record_t *rec = elem;
    vigil_camera_row_t *c = &rec->row;
    memset(rec, 0, sizeof(*rec));
    vigil__pg_text(r, i, 0, c->id, sizeof(c->id));
    vigil__pg_text(r, i, 1, c->name, sizeof(c->name));
    vigil__pg_text(r, i, 2, c->url, sizeof(c->url));
    c->fps = vigil__pg_double(r, i, 3);
    c->enabled = vigil__pgx_flag(r, i, 4);
    vigil__pg_text(r, i, 5, c->status, sizeof(c->status));
    vigil__pg_text(r, i, 6, c->last_error, sizeof(c->last_error));
    c->updated_us = vigil__pg_int64(r, i, 7);
    vigil__pg_text(r, i, 8, rec->origin, sizeof(rec->origin));
    rec->retention_hours = vigil__pg_double(r, i, 9);
    rec->created_us = vigil__pg_int64(r, i, 10);
    vigil__pg_text(r, i, 11, rec->source_url, sizeof(rec->source_url));
    return 0;
}

static const vigil__pgx_rows_t pgr_camera_rows = {sizeof(vigil_camera_record_t),
                                                  pgr_camera_from_row, NULL,
                                                  "list cameras: out of memory"};

static vigil_err_t pgr_camera_records(vigil_store_t *store, const char *after_id, int limit,
                                      vigil_camera_record_t **rows, size_t *n, int *more,
                                      char *errstr, size_t errstr_size)
{
    vigil__pgx_params_t p = {0};
    void *out = NULL;
    if (after_id) vigil__pgx_text(&p, after_id);
    vigil__pgx_int(&p, (int64_t)limit + 1);
    vigil_err_t err = pgr_list(store, after_id ? PGR_CAMERA_RECORDS_AFTER : PGR_CAMERA_RECORDS, &p,
                               "list cameras", &pgr_camera_rows, (size_t)limit, &out, n, more,
                               errstr, errstr_size);
    if (err == VIGIL_OK) *rows = out;
    return err;
}

static vigil_err_t pgr_camera_get(vigil_store_t *store, const char *id, int with_secret,
                                  vigil_camera_record_t *rec, char *errstr, size_t errstr_size)
{
    vigil__pgx_params_t p = {0};
    vigil_err_t err = VIGIL_OK;
    vigil__pgx_text(&p, id);
    vigil__pgx_int(&p, with_secret != 0);
    PGresult *r = pgr_exec(store, PGR_CAMERA_GET, &p, "read camera", &err, errstr, errstr_size);
    if (!r) return err;
    if (PQntuples(r) > 0)
        pgr_camera_from_row(r, 0, rec);
    else
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND, "no camera \"%s\"", id);
    PQclear(r);
    return err;
}

/* What the warehouse holds of camera id (st zeroed first). */
static vigil_err_t pgr_camera_state(vigil_store_t *store, const char *id,
                                    vigil__camera_state_t *st, char *errstr, size_t errstr_size)
{
    vigil__pgx_params_t p = {0};
    vigil_err_t err = VIGIL_OK;
    memset(st, 0, sizeof(*st));
    vigil__pgx_text(&p, id);
    PGresult *r = pgr_exec(store, PGR_CAMERA_STATE, &p, "read camera", &err, errstr, errstr_size);
    if (!r) return err;
    if ((st->found = PQntuples(r) > 0)) {
        vigil__pg_text(r, 0, 0, st->origin, sizeof(st->origin));
        st->removed = vigil__pgx_flag(r, 0, 1);
    }
    PQclear(r);
    return VIGIL_OK;
}


/* Opens a camera write: the transaction and the cameras' lock. */
static vigil_err_t pgr_begin_locked(vigil_store_t *store, const char *key, char *errstr,
                                    size_t errstr_size)
{
    vigil_err_t err = vigil__pgx_begin(store, errstr, errstr_size);
    if (err != VIGIL_OK) return err;
    err = vigil__pgx_lock(store, key, errstr, errstr_size);
    if (err != VIGIL_OK) vigil__pgx_end(store, err, errstr, errstr_size);
    return err;
}

/* Binds a camera's fields as $1..$8 (id, name, url, fps, enabled, status,
 * last_error, now). */
static void pgr_bind_camera(vigil__pgx_params_t *p, const vigil_camera_row_t *c, const char *name,
                            int64_t now_us)
{
    vigil__pgx_text(p, c->id);
    vigil__pgx_text(p, name);
    vigil__pgx_text(p, c->url);
    vigil__pgx_double(p, c->fps);
    vigil__pgx_int(p, c->enabled != 0);
    vigil__pgx_text(p, c->status);
    vigil__pgx_text(p, c->last_error);
    vigil__pgx_int(p, now_us);
}

/* Opens a camera write (the transaction and the cameras' lock), reads the
 * camera's state and asks store_resources.c whether the write may go on (a
 * create also counts the API's cameras). On failure the transaction is
 * already ended. */
static vigil_err_t pgr_camera_begin(vigil_store_t *store, vigil__camera_write_t write,
                                    const char *id, char *errstr, size_t errstr_size)
{
    vigil__camera_state_t st;
    vigil_err_t err = pgr_begin_locked(store, PGR_CAMERAS_LOCK, errstr, errstr_size);
    if (err) return err;
    err = pgr_camera_state(store, id, &st, errstr, errstr_size);
    if (!err) err = vigil__store_camera_write_check(write, id, &st, errstr, errstr_size);
    if (!err && write == VIGIL__CAMERA_CREATE) {
        PGresult *r = pgr_exec(store, PGR_API_COUNT, NULL, "count cameras", &err, errstr,
                               errstr_size);
        if (r) {
            err = vigil__store_camera_count_check(vigil__pg_int64(r, 0, 0), errstr, errstr_size);
            PQclear(r);
        }
    }
    if (err) vigil__pgx_end(store, err, errstr, errstr_size);
    return err;
}

static vigil_err_t pgr_camera_put(vigil_store_t *store, const vigil_camera_record_t *rec,
                                  int create, int64_t now_us, char *errstr, size_t errstr_size)
{
    const vigil_camera_row_t *c = &rec->row;
    vigil_err_t err = pgr_camera_begin(store, create ? VIGIL__CAMERA_CREATE : VIGIL__CAMERA_REPLACE,
                                       c->id, errstr, errstr_size);
    if (err) return err;
    vigil__pgx_params_t p = {0};
    pgr_bind_camera(&p, c, c->name, now_us);
    vigil__pgx_text(&p, rec->source_url);
    vigil__pgx_double(&p, rec->retention_hours < 0 ? -1 : rec->retention_hours);
    err = pgr_run(store, create ? PGR_CAMERA_CREATE : PGR_CAMERA_REPLACE, &p, "write camera", NULL,
                  errstr, errstr_size);
    return vigil__pgx_end(store, err, errstr, errstr_size);
}

static vigil_err_t pgr_camera_remove(vigil_store_t *store, const char *id, int64_t now_us,
                                     char *errstr, size_t errstr_size)
{
    vigil_err_t err = pgr_camera_begin(store, VIGIL__CAMERA_REMOVE, id, errstr, errstr_size);
    if (err) return err;
    vigil__pgx_params_t p = {0};
    vigil__pgx_text(&p, id);
    vigil__pgx_int(&p, now_us);
    if ((err = pgr_run(store, PGR_CAMERA_REMOVE, &p, "remove camera", NULL, errstr,
                       errstr_size)))
        goto done;
    vigil__pgx_params_t q = {0};
    vigil__pgx_text(&q, id);
    err = pgr_run(store, PGR_RULES_DELETE, &q, "delete rule set", NULL, errstr, errstr_size);
done:
    return vigil__pgx_end(store, err, errstr, errstr_size);
}

static vigil_err_t pgr_camera_switch(vigil_store_t *store, const vigil_camera_row_t *c,
                                     int64_t now_us, char *errstr, size_t errstr_size)
{
    vigil_err_t err = pgr_camera_begin(store, VIGIL__CAMERA_SWITCH, c->id, errstr, errstr_size);
    if (err) return err;
    vigil__pgx_params_t p = {0};
    pgr_bind_camera(&p, c, c->name[0] ? c->name : c->id, now_us);
    err = pgr_run(store, PGR_CAMERA_SWITCH, &p, "switch camera", NULL, errstr, errstr_size);
    return vigil__pgx_end(store, err, errstr, errstr_size);
}

static vigil_err_t pgr_camera_list_api(vigil_store_t *store, vigil_camera_record_t **rows,
                                       size_t *n, char *errstr, size_t errstr_size)
{
    static const vigil__pgx_rows_t how = {sizeof(vigil_camera_record_t), pgr_camera_from_row,
                                          NULL, "list API cameras: out of memory"};
    vigil__pgx_params_t p = {0};
    void *out = NULL;
    vigil__pgx_int(&p, VIGIL__STORE_API_ROWS_MAX);
    vigil_err_t err = pgr_list(store, PGR_CAMERA_LIST_API, &p, "list API cameras", &how,
                               VIGIL__STORE_API_ROWS_MAX, &out, n, NULL, errstr, errstr_size);
    if (err == VIGIL_OK) *rows = out;
    return err;
}

/* ---- rule sets ------------------------------------------------------------- */

/* A rule set row (json malloc'd); 0 or -1 when out of memory. */
static int pgr_rules_from_row(const PGresult *r, int i, void *elem)
{
    vigil_rules_row_t *row = elem;
    memset(row, 0, sizeof(*row));
    vigil__pg_text(r, i, 0, row->camera_id, sizeof(row->camera_id));
    row->version = vigil__pg_int64(r, i, 1);
    row->updated_us = vigil__pg_int64(r, i, 2);
    vigil__pg_text(r, i, 3, row->updated_by, sizeof(row->updated_by));
    row->json = strdup(PQgetisnull(r, i, 4) ? "" : PQgetvalue(r, i, 4));
    return row->json ? 0 : -1;
}

static void pgr_rules_release(void *elem)
{
    free(((vigil_rules_row_t *)elem)->json);
}

static vigil_err_t pgr_rules_get(vigil_store_t *store, const char *camera_id,
                                 vigil_rules_row_t *row, char *errstr, size_t errstr_size)
{
    vigil__pgx_params_t p = {0};
    vigil_err_t err = VIGIL_OK;
    vigil__pgx_text(&p, camera_id);
    PGresult *r = pgr_exec(store, PGR_RULES_GET, &p, "read rule set", &err, errstr, errstr_size);
    if (!r) return err;
    if (PQntuples(r) == 0)
        err = vigil__store_rules_missing(camera_id, errstr, errstr_size);
    else if (pgr_rules_from_row(r, 0, row) != 0)
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "read rule set: out of memory");
    PQclear(r);
    return err;
}

static vigil_err_t pgr_rules_put(vigil_store_t *store, const char *camera_id, const char *json,
                                 int64_t *version, int64_t now_us, const char *by, char *errstr,
                                 size_t errstr_size)
{
    char key[16 + VIGIL_CAMERA_ID_MAX];
    int64_t current = 0;
    snprintf(key, sizeof(key), "vigil.rules/%s", camera_id);
    vigil_err_t err = pgr_begin_locked(store, key, errstr, errstr_size);
    if (err) return err;
    vigil__pgx_params_t p = {0};
    vigil__pgx_text(&p, camera_id);
    PGresult *r = pgr_exec(store, PGR_RULES_VERSION, &p, "read rule set version", &err, errstr,
                           errstr_size);
    if (!r) goto done;
    if (PQntuples(r) > 0) current = vigil__pg_int64(r, 0, 0);
    PQclear(r);
    if ((err = vigil__store_rules_version_check(camera_id, current, version, errstr,
                                                errstr_size)))
        goto done;
    vigil__pgx_params_t q = {0};
    vigil__pgx_text(&q, camera_id);
    vigil__pgx_int(&q, current + 1);
    vigil__pgx_text(&q, json);
    vigil__pgx_int(&q, now_us);
    vigil__pgx_text(&q, by);
    if (!(err = pgr_run(store, PGR_RULES_PUT, &q, "write rule set", NULL, errstr, errstr_size)))
        *version = current + 1;
done:
    return vigil__pgx_end(store, err, errstr, errstr_size);
}

static vigil_err_t pgr_rules_list(vigil_store_t *store, vigil_rules_row_t **rows, size_t *n,
                                  char *errstr, size_t errstr_size)
{
    static const vigil__pgx_rows_t how = {sizeof(vigil_rules_row_t), pgr_rules_from_row,
                                          pgr_rules_release, "list rule sets: out of memory"};
    vigil__pgx_params_t p = {0};
    void *out = NULL;
    vigil__pgx_int(&p, VIGIL__STORE_API_ROWS_MAX);
    vigil_err_t err = pgr_list(store, PGR_RULES_LIST, &p, "list rule sets", &how,
                               VIGIL__STORE_API_ROWS_MAX, &out, n, NULL, errstr, errstr_size);
    if (err == VIGIL_OK) *rows = out;
    return err;
}

/* ---- events ------------------------------------------------------------------ */

static vigil_err_t pgr_events_review(vigil_store_t *store, const int64_t *ids, size_t n,
                                     int reviewed, int64_t now_us, const char *by,
                                     size_t *updated, char *errstr, size_t errstr_size)
{
    /* the ids as one array literal: '{1,2,...}' (n <= 1000 checked) */
    size_t cap = n * 21 + 3, len = 0;
    char *arr = malloc(cap);
    if (!arr)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "review events: out of memory");
    arr[len++] = '{';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(arr + len, cap - len, "%s%" PRId64, i ? "," : "", ids[i]);
    snprintf(arr + len, cap - len, "}");
    vigil__pgx_params_t p = {0};
    vigil_err_t err = VIGIL_OK;
    vigil__pgx_text(&p, arr);
    vigil__pgx_int(&p, reviewed != 0);
    vigil__pgx_int(&p, now_us);
    vigil__pgx_text(&p, by);
    PGresult *r = pgr_exec(store, PGR_EVENT_REVIEW, &p, "review events", &err, errstr,
                           errstr_size);
    free(arr);
    if (!r) return err;
    /* counted per id given, repeats too, as SQLite's statement per id counts */
    size_t count = 0;
    int rows = PQntuples(r);
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < rows; k++)
            if (vigil__pg_int64(r, k, 0) == ids[i]) {
                count++;
                break;
            }
    PQclear(r);
    *updated = count;
    return VIGIL_OK;
}

static vigil_err_t pgr_event_delete(vigil_store_t *store, int64_t id, char *camera, char *errstr,
                                    size_t errstr_size)
{
    vigil__pgx_params_t p = {0};
    int open = 0;
    vigil__pgx_int(&p, id);
    vigil_err_t err = vigil__pgx_begin(store, errstr, errstr_size);
    if (err) return err;
    /* FOR UPDATE: the analytics writer cannot reopen it before it is gone */
    PGresult *r = pgr_exec(store, PGR_EVENT_STATE, &p, "read event", &err, errstr, errstr_size);
    if (!r) goto done;
    int found = PQntuples(r) > 0;
    if (found) {
        vigil__pg_text(r, 0, 0, camera, VIGIL_CAMERA_ID_MAX);
        open = vigil__pgx_flag(r, 0, 1);
    }
    PQclear(r);
    if ((err = vigil__store_event_delete_check(id, found, open, errstr, errstr_size))) goto done;
    err = pgr_run(store, PGR_EVENT_DELETE, &p, "delete event", NULL, errstr, errstr_size);
done:
    return vigil__pgx_end(store, err, errstr, errstr_size);
}

/* ---- storage ---------------------------------------------------------------------- */

static int pgr_storage_row(const PGresult *r, int i, void *elem)
{
    vigil_storage_row_t *s = elem;
    vigil__pg_text(r, i, 0, s->camera_id, sizeof(s->camera_id));
    s->frames = vigil__pg_int64(r, i, 1);
    s->frame_bytes = vigil__pg_int64(r, i, 2);
    s->oldest_us = vigil__pg_int64(r, i, 3); /* NULL reads as 0 */
    s->newest_us = vigil__pg_int64(r, i, 4);
    s->detections = vigil__pg_int64(r, i, 5);
    s->events = vigil__pg_int64(r, i, 6);
    return 0;
}

static vigil_err_t pgr_storage(vigil_store_t *store, vigil_storage_row_t **rows, size_t *n,
                               char *errstr, size_t errstr_size)
{
    static const vigil__pgx_rows_t how = {sizeof(vigil_storage_row_t), pgr_storage_row, NULL,
                                          "storage: out of memory"};
    vigil__pgx_params_t p = {0};
    void *out = NULL;
    vigil__pgx_int(&p, VIGIL__STORE_STORAGE_ROWS_MAX);
    vigil_err_t err = pgr_list(store, PGR_STORAGE, &p, "storage per camera", &how,
                               VIGIL__STORE_STORAGE_ROWS_MAX, &out, n, NULL, errstr, errstr_size);
    if (err == VIGIL_OK) *rows = out;
    return err;
}

const vigil__store_resources_ops_t vigil__pg_resources_ops = {
    .camera_records = pgr_camera_records,
    .camera_get = pgr_camera_get,
    .camera_put = pgr_camera_put,
    .camera_remove = pgr_camera_remove,
    .camera_switch = pgr_camera_switch,
    .camera_list_api = pgr_camera_list_api,
    .rules_get = pgr_rules_get,
    .rules_put = pgr_rules_put,
    .rules_list = pgr_rules_list,
    .events_review = pgr_events_review,
    .event_delete = pgr_event_delete,
    .search = vigil__pg_search,
    .storage = pgr_storage,
};
