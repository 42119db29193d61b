/* The PostgreSQL warehouse backend: opening a handle, and the camera, frame,
 * event, count and sweep operations (connection helpers in postgres_conn.c,
 * the schema in postgres_schema.c, partitions in postgres_partitions.c,
 * detections in postgres_detections.c, analytics in postgres_analytics.c).
 *
 * The main idea: the same contract as sqlite.c, statement for statement,
 * on a server that many vigil processes share. Writes are idempotent (ON
 * CONFLICT on the natural keys), so a batch retried after a lost connection
 * leaves each row once; hot statements are prepared once per connection;
 * rows of a new day first get their partitions (postgres_partitions.c).
 *
 * Thread: a handle is used by one thread at a time; many handles on one
 * database from many threads or processes are fine. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres_int.h"
#include "vigil/redact.h"

#define PG_FRAME_COLS                                                                             \
    "id, camera_id, sequence, capture_time_us, width, height, size_bytes, motion_score, "         \
    "keyframe, path, detection_count"
#define PG_CAMERA_COLS "id, name, url, fps, enabled, status, last_error, updated_us"

/* Prepared slots of this file (VIGIL__PG_SLOTS_CORE + n; 40.. are
 * postgres_detections.c's, 63 postgres_partitions.c's). */
enum {
    PG_CAMERA_UPSERT = VIGIL__PG_SLOTS_CORE,
    PG_CAMERA_SET_STATUS,
    PG_CAMERA_LIST,
    PG_FRAME_LOOKUP,
    PG_FRAME_INSERT,
    PG_FRAME_GET,
    PG_EVENT_INSERT,
    PG_FRAMES_RANGE,
    PG_FRAMES_UNPROCESSED,
};

static const char pg_camera_upsert_sql[] =
    "INSERT INTO cameras (" PG_CAMERA_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
    "ON CONFLICT (id) DO UPDATE SET name = excluded.name, url = excluded.url, "
    "fps = excluded.fps, "
    /* a switched camera's enabled is the API's, and so is its status while disabled */
    "enabled = CASE WHEN cameras.origin = 'switched' THEN cameras.enabled "
    "ELSE excluded.enabled END, "
    "status = CASE WHEN cameras.origin = 'switched' AND cameras.enabled = 0 "
    "AND excluded.status IN ('starting', 'stopped') THEN 'stopped' ELSE excluded.status END, "
    "last_error = excluded.last_error, updated_us = excluded.updated_us "
    /* an API camera's fields are the API's (store.h, "resources") */
    "WHERE cameras.origin <> 'api'";

static vigil_err_t pg_camera_upsert(vigil_store_t *store, const vigil_camera_row_t *c)
{
    vigil__pg_t *pg = vigil__pg(store);
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    vigil__pg_param_text(&p, c->id);
    vigil__pg_param_text(&p, c->name);
    vigil__pg_param_text(&p, c->url);
    vigil__pg_param_double(&p, c->fps);
    vigil__pg_param_bool(&p, c->enabled);
    vigil__pg_param_text(&p, c->status);
    vigil__pg_param_text(&p, c->last_error);
    vigil__pg_param_int(&p, c->updated_us);
    vigil_err_t err;
    PGresult *res = vigil__pg_exec_prepared(pg, PG_CAMERA_UPSERT, pg_camera_upsert_sql, &p,
                                            "upsert camera", &err, NULL, 0);
    vigil__pg_params_release(&p);
    PQclear(res);
    return err;
}

static vigil_err_t pg_camera_set_status(vigil_store_t *store, const char *camera_id,
                                        const char *status, const char *last_error, int64_t now)
{
    vigil__pg_t *pg = vigil__pg(store);
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    vigil__pg_param_text(&p, camera_id);
    vigil__pg_param_text(&p, status);
    vigil__pg_param_text(&p, last_error);
    vigil__pg_param_int(&p, now);
    vigil_err_t err;
    PGresult *res = vigil__pg_exec_prepared(
        pg, PG_CAMERA_SET_STATUS,
        "UPDATE cameras SET status = $2, last_error = $3, updated_us = $4 WHERE id = $1", &p,
        "set camera status", &err, NULL, 0);
    vigil__pg_params_release(&p);
    if (!res) return err;
    int64_t changed = vigil__pg_affected(res);
    PQclear(res);
    if (changed == 0) {
        snprintf(store->errbuf, sizeof(store->errbuf), "no camera \"%s\"", camera_id);
        return VIGIL_ERR_NOT_FOUND;
    }
    return VIGIL_OK;
}

static vigil_err_t pg_camera_list(vigil_store_t *store, vigil_camera_row_t **rows, size_t *n)
{
    vigil__pg_t *pg = vigil__pg(store);
    vigil_err_t err;
    PGresult *res = vigil__pg_exec_prepared(pg, PG_CAMERA_LIST,
                                            "SELECT " PG_CAMERA_COLS " FROM cameras ORDER BY id",
                                            NULL, "list cameras", &err, NULL, 0);
    if (!res) return err;
    size_t count = (size_t)PQntuples(res);
    vigil_camera_row_t *out = count ? calloc(count, sizeof(*out)) : NULL;
    if (count && !out) {
        PQclear(res);
        return VIGIL_ERR_NOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        vigil_camera_row_t *c = &out[i];
        int r = (int)i;
        vigil__pg_text(res, r, 0, c->id, sizeof(c->id));
        vigil__pg_text(res, r, 1, c->name, sizeof(c->name));
        vigil__pg_text(res, r, 2, c->url, sizeof(c->url));
        c->fps = vigil__pg_double(res, r, 3);
        c->enabled = (int)vigil__pg_int64(res, r, 4);
        vigil__pg_text(res, r, 5, c->status, sizeof(c->status));
        vigil__pg_text(res, r, 6, c->last_error, sizeof(c->last_error));
        c->updated_us = vigil__pg_int64(res, r, 7);
    }
    PQclear(res);
    *rows = out;
    *n = count;
    return VIGIL_OK;
}

/* Reads row r of a PG_FRAME_COLS result. */
static void pg_frame_from_row(const PGresult *res, int r, vigil_frame_row_t *f)
{
    memset(f, 0, sizeof(*f));
    f->id = vigil__pg_int64(res, r, 0);
    vigil__pg_text(res, r, 1, f->camera_id, sizeof(f->camera_id));
    f->sequence = (uint64_t)vigil__pg_int64(res, r, 2);
    f->capture_time_us = vigil__pg_int64(res, r, 3);
    f->width = (int)vigil__pg_int64(res, r, 4);
    f->height = (int)vigil__pg_int64(res, r, 5);
    f->size_bytes = vigil__pg_int64(res, r, 6);
    f->motion_score = (float)vigil__pg_double(res, r, 7);
    f->keyframe = (int)vigil__pg_int64(res, r, 8);
    vigil__pg_text(res, r, 9, f->path, sizeof(f->path));
    f->detection_count = vigil__pg_is_null(res, r, 10) ? -1 : vigil__pg_int64(res, r, 10);
}

/* Runs a one-frame SELECT: VIGIL_OK with *row, NOT_FOUND, or the error. */
static vigil_err_t pg_frame_one(vigil__pg_t *pg, int slot, const char *sql,
                                const vigil__pg_params_t *p, vigil_frame_row_t *row)
{
    vigil_err_t err;
    PGresult *res = vigil__pg_exec_prepared(pg, slot, sql, p, "read frame", &err, NULL, 0);
    if (!res) return err;
    err = PQntuples(res) > 0 ? VIGIL_OK : VIGIL_ERR_NOT_FOUND;
    if (err == VIGIL_OK) pg_frame_from_row(res, 0, row);
    PQclear(res);
    return err;
}

static vigil_err_t pg_frame_lookup(vigil_store_t *store, const char *camera_id, uint64_t sequence,
                                   vigil_frame_row_t *row)
{
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    vigil__pg_param_text(&p, camera_id);
    vigil__pg_param_uint(&p, sequence);
    vigil_err_t err = pg_frame_one(vigil__pg(store), PG_FRAME_LOOKUP,
                                   "SELECT " PG_FRAME_COLS " FROM frames WHERE camera_id = $1 AND "
                                   "sequence = $2 ORDER BY id LIMIT 1",
                                   &p, row);
    vigil__pg_params_release(&p);
    return err;
}

static vigil_err_t pg_frame_get(vigil_store_t *store, int64_t id, vigil_frame_row_t *row)
{
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    vigil__pg_param_int(&p, id);
    vigil_err_t err = pg_frame_one(vigil__pg(store), PG_FRAME_GET,
                                   "SELECT " PG_FRAME_COLS " FROM frames WHERE id = $1", &p, row);
    vigil__pg_params_release(&p);
    if (err == VIGIL_ERR_NOT_FOUND)
        snprintf(store->errbuf, sizeof(store->errbuf), "no frame with id %lld", (long long)id);
    return err;
}

static vigil_err_t pg_frame_insert(vigil_store_t *store, vigil_frame_row_t *f, char *errstr,
                                   size_t errstr_size)
{
    vigil__pg_t *pg = vigil__pg(store);
    vigil_err_t err = vigil__pg_partitions_ensure(pg, &f->capture_time_us, 1, errstr, errstr_size);
    if (err) return err;
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    vigil__pg_param_text(&p, f->camera_id);
    vigil__pg_param_uint(&p, f->sequence);
    vigil__pg_param_int(&p, f->capture_time_us);
    vigil__pg_param_int(&p, f->width);
    vigil__pg_param_int(&p, f->height);
    vigil__pg_param_int(&p, f->size_bytes);
    vigil__pg_param_double(&p, f->motion_score);
    vigil__pg_param_bool(&p, f->keyframe);
    vigil__pg_param_text(&p, f->path);
    PGresult *res = vigil__pg_exec_prepared(
        pg, PG_FRAME_INSERT,
        "INSERT INTO frames (camera_id, sequence, capture_time_us, width, height, size_bytes, "
        "motion_score, keyframe, path) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "ON CONFLICT (camera_id, sequence, capture_time_us) DO NOTHING RETURNING id",
        &p, "insert frame", &err, errstr, errstr_size);
    vigil__pg_params_release(&p);
    if (!res) return err;
    err = PQntuples(res) == 1 ? VIGIL_OK : VIGIL_ERR_EXISTS;
    if (err == VIGIL_OK) f->id = vigil__pg_int64(res, 0, 0);
    PQclear(res);
    return err;
}

static vigil_err_t pg_frame_list(vigil__pg_t *pg, int slot, const char *sql,
                                 const vigil__pg_params_t *p, const char *what,
                                 vigil_frame_row_t **rows, size_t *n)
{
    vigil_err_t err;
    PGresult *res = vigil__pg_exec_prepared(pg, slot, sql, p, what, &err, NULL, 0);
    if (!res) return err;
    size_t count = (size_t)PQntuples(res);
    vigil_frame_row_t *out = count ? calloc(count, sizeof(*out)) : NULL;
    if (count && !out) {
        PQclear(res);
        return VIGIL_ERR_NOMEM;
    }
    for (size_t i = 0; i < count; i++) pg_frame_from_row(res, (int)i, &out[i]);
    PQclear(res);
    *rows = out;
    *n = count;
    return VIGIL_OK;
}

static vigil_err_t pg_frames_range(vigil_store_t *store, const char *camera_id, int64_t since_us,
                                   int64_t until_us, int limit, vigil_frame_row_t **rows,
                                   size_t *n)
{
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    vigil__pg_param_text(&p, camera_id);
    vigil__pg_param_int(&p, since_us);
    vigil__pg_param_int(&p, until_us);
    vigil__pg_param_int(&p, limit);
    vigil_err_t err = pg_frame_list(vigil__pg(store), PG_FRAMES_RANGE,
                                    "SELECT " PG_FRAME_COLS " FROM frames WHERE camera_id = $1 AND "
                                    "capture_time_us >= $2 AND capture_time_us < $3 "
                                    "ORDER BY capture_time_us, id LIMIT $4",
                                    &p, "read frames range", rows, n);
    vigil__pg_params_release(&p);
    return err;
}

static vigil_err_t pg_frames_unprocessed(vigil_store_t *store, int64_t after_id, int limit,
                                         vigil_frame_row_t **rows, size_t *n)
{
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    vigil__pg_param_int(&p, after_id);
    vigil__pg_param_int(&p, limit);
    /* the partial index frames_unprocessed: only the few not processed */
    vigil_err_t err = pg_frame_list(vigil__pg(store), PG_FRAMES_UNPROCESSED,
                                    "SELECT " PG_FRAME_COLS " FROM frames WHERE detection_count "
                                    "IS NULL AND id > $1 ORDER BY id LIMIT $2",
                                    &p, "read unprocessed frames", rows, n);
    vigil__pg_params_release(&p);
    return err;
}

static vigil_err_t pg_event_put(vigil_store_t *store, const vigil_event_row_t *e)
{
    vigil__pg_t *pg = vigil__pg(store);
    vigil_err_t err = vigil__pg_partitions_ensure(pg, &e->time_us, 1, NULL, 0);
    if (err) return err;
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    vigil__pg_param_text(&p, e->camera_id);
    vigil__pg_param_text(&p, e->type);
    vigil__pg_param_int(&p, e->time_us);
    vigil__pg_param_uint(&p, e->sequence);
    vigil__pg_param_text(&p, e->message);
    vigil__pg_param_text(&p, e->payload_json);
    PGresult *res = vigil__pg_exec_prepared(
        pg, PG_EVENT_INSERT,
        "INSERT INTO events (camera_id, type, time_us, sequence, message, payload_json) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        &p, "insert event", &err, NULL, 0);
    vigil__pg_params_release(&p);
    PQclear(res);
    return err;
}

/* Exact counts (the conformance suite and /api/v1/stats compare them): one
 * index-only scan per table in one statement. */
static vigil_err_t pg_counts(vigil_store_t *store, const char *camera_id,
                             vigil_store_counts_t *counts)
{
    vigil__pg_t *pg = vigil__pg(store);
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    if (camera_id) vigil__pg_param_text(&p, camera_id);
    vigil_err_t err;
    PGresult *res = vigil__pg_exec(
        pg,
        camera_id ? "SELECT (SELECT count(*) FROM cameras WHERE id = $1), "
                    "(SELECT count(*) FROM frames WHERE camera_id = $1), "
                    "(SELECT count(*) FROM detections WHERE camera_id = $1), "
                    "(SELECT count(*) FROM events WHERE camera_id = $1), "
                    "(SELECT coalesce(sum(size_bytes), 0) FROM frames WHERE camera_id = $1)"
                  : "SELECT (SELECT count(*) FROM cameras), (SELECT count(*) FROM frames), "
                    "(SELECT count(*) FROM detections), (SELECT count(*) FROM events), "
                    "(SELECT coalesce(sum(size_bytes), 0) FROM frames)",
        &p, "count rows", &err, NULL, 0);
    vigil__pg_params_release(&p);
    if (!res) return err;
    counts->cameras = vigil__pg_int64(res, 0, 0);
    counts->frames = vigil__pg_int64(res, 0, 1);
    counts->detections = vigil__pg_int64(res, 0, 2);
    counts->events = vigil__pg_int64(res, 0, 3);
    counts->frame_bytes = vigil__pg_int64(res, 0, 4);
    PQclear(res);
    return VIGIL_OK;
}

static vigil_err_t pg_sweep_frames(vigil_store_t *store, const char *camera_id, int64_t before_us,
                                   size_t limit, char ***paths_out, size_t *n_out)
{
    vigil__pg_t *pg = vigil__pg(store);
    *paths_out = NULL;
    *n_out = 0;
    vigil_err_t err;
    PGresult *res = vigil__pg_sweep_exec(
        pg,
        "DELETE FROM frames WHERE (id, capture_time_us) IN (SELECT id, capture_time_us FROM "
        "frames WHERE capture_time_us < $1 ORDER BY capture_time_us LIMIT $2) RETURNING path",
        "DELETE FROM frames WHERE (id, capture_time_us) IN (SELECT id, capture_time_us FROM "
        "frames WHERE camera_id = $3 AND capture_time_us < $1 ORDER BY capture_time_us "
        "LIMIT $2) RETURNING path",
        camera_id, before_us, limit, "sweep frames", &err);
    if (!res) return err;
    size_t n = (size_t)PQntuples(res);
    char **paths = calloc(n ? n : 1, sizeof(*paths));
    if (!paths) {
        PQclear(res);
        return VIGIL_ERR_NOMEM; /* the rows are gone, their files stay: orphans, never
                                 * rows without files */
    }
    for (size_t i = 0; i < n; i++) {
        if (!(paths[i] = strdup(PQgetvalue(res, (int)i, 0)))) {
            vigil__store_paths_free(paths, i);
            PQclear(res);
            return VIGIL_ERR_NOMEM;
        }
    }
    PQclear(res);
    if (!camera_id && n < limit) {
        /* every old frame row is gone: the emptied days' partitions go too */
        int64_t dropped = 0;
        if (vigil__pg_partitions_drop(pg, "frames", before_us, &dropped, NULL, 0) != VIGIL_OK)
            vigil_warn("store", NULL, "sweep: %s (the rows are deleted; the partition stays)",
                       store->errbuf);
    }
    *paths_out = paths;
    *n_out = n;
    return VIGIL_OK;
}

/* How the rows of each swept table are deleted in batches. */
static const struct {
    const char *table, *what, *time, *key;
} pg_sweeps[] = {
    [VIGIL__SWEEP_DETECTIONS] = {"detections", "sweep detections", "capture_time_us",
                                 "id, capture_time_us"},
    [VIGIL__SWEEP_EVENTS] = {"events", "sweep events", "time_us", "id, time_us"},
    [VIGIL__SWEEP_TRACK_POINTS] = {"track_points", "sweep track points", "time_us",
                                   "camera_id, track_id, sequence, time_us"},
    [VIGIL__SWEEP_COUNTS] = {"analytics_counts", "sweep analytics counts", "minute_us",
                             "camera_id, minute_us, zone, line, label"},
};

static vigil_err_t pg_sweep_rows(vigil_store_t *store, vigil__sweep_table_t table,
                                 const char *camera_id, int64_t before_us, size_t limit,
                                 int64_t *deleted)
{
    vigil__pg_t *pg = vigil__pg(store);
    *deleted = 0;
    int64_t bound = before_us; /* rows with time < bound go */
    if (table == VIGIL__SWEEP_COUNTS) {
        /* minute_us + 60 s <= before, without overflowing */
        if (before_us < INT64_MIN + VIGIL__STORE_MINUTE_US) return VIGIL_OK;
        bound = before_us - VIGIL__STORE_MINUTE_US + 1;
    }
    int64_t dropped = 0;
    if (!camera_id &&
        vigil__pg_partitions_drop(pg, pg_sweeps[table].table, before_us, &dropped, NULL, 0) !=
            VIGIL_OK)
        vigil_warn("store", NULL, "sweep: %s (deleting the rows instead)", store->errbuf);
    char sql[512];
    snprintf(sql, sizeof(sql),
             "DELETE FROM %s WHERE (%s) IN (SELECT %s FROM %s WHERE %s < $1%s LIMIT $2)",
             pg_sweeps[table].table, pg_sweeps[table].key, pg_sweeps[table].key,
             pg_sweeps[table].table, pg_sweeps[table].time, camera_id ? " AND camera_id = $3" : "");
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    vigil__pg_param_int(&p, bound);
    vigil__pg_param_int(&p, (int64_t)limit);
    if (camera_id) vigil__pg_param_text(&p, camera_id);
    vigil_err_t err;
    PGresult *res = vigil__pg_exec(pg, sql, &p, pg_sweeps[table].what, &err, NULL, 0);
    vigil__pg_params_release(&p);
    if (!res) {
        *deleted = dropped;
        return err;
    }
    *deleted = dropped + vigil__pg_affected(res);
    PQclear(res);
    return VIGIL_OK;
}

static void pg_close(vigil_store_t *store)
{
    vigil__pg_t *pg = vigil__pg(store);
    if (pg->conn) PQfinish(pg->conn);
    if (pg->url) {
        memset(pg->url, 0, strlen(pg->url)); /* the password */
        free(pg->url);
    }
    vigil__store_base_release(store);
    free(pg);
}

static const vigil_store_ops_t pg_ops = {
    .name = "postgres",
    .close = pg_close,
    .migrate = vigil__pg_migrate,
    .schema_version = vigil__pg_schema_version,
    .camera_upsert = pg_camera_upsert,
    .camera_set_status = pg_camera_set_status,
    .camera_list = pg_camera_list,
    .frame_lookup = pg_frame_lookup,
    .frame_insert = pg_frame_insert,
    .frame_get = pg_frame_get,
    .detections_put = vigil__pg_detections_put,
    .results_put = vigil__pg_results_put,
    .frames_unprocessed = pg_frames_unprocessed,
    .detections_query = vigil__pg_detections_query,
    .event_put = pg_event_put,
    .counts = pg_counts,
    .sweep_frames = pg_sweep_frames,
    .sweep_rows = pg_sweep_rows,
    .sweep_analytics_events = vigil__pg_sweep_analytics_events,
    .analytics_commit = vigil__pg_analytics_commit,
    .analytics_state_get = vigil__pg_analytics_state_get,
    .analytics_max_track_id = vigil__pg_analytics_max_track_id,
    .analytics_events_query = vigil__pg_analytics_events_query,
    .analytics_event_get = vigil__pg_analytics_event_get,
    .counts_query = vigil__pg_counts_query,
    .track_points = vigil__pg_track_points,
    .frames_range = pg_frames_range,
    /* postgres_accounts.c, postgres_resources.c (and postgres_search.c),
     * postgres_push.c */
    .accounts = &vigil__pg_accounts_ops,
    .resources = &vigil__pg_resources_ops,
    .push = &vigil__pg_push_ops,
    .retention = &vigil__pg_retention_ops,
    .wal = vigil__pg_wal, /* postgres_replication.c */
};

vigil_store_t *vigil__postgres_open(const vigil_store_conf_t *conf, const char *url, char *errstr,
                                    size_t errstr_size)
{
    char shown[256];
    vigil_url_redact(url, shown, sizeof(shown));
    vigil__pg_t *pg = calloc(1, sizeof(*pg));
    if (!pg || vigil__store_base_init(&pg->base, &pg_ops, conf->data_dir && *conf->data_dir
                                                              ? conf->data_dir
                                                              : "./data") != 0 ||
        !(pg->url = strdup(url))) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "out of memory opening %s", shown);
        goto fail;
    }
    snprintf(pg->where, sizeof(pg->where), "%s", shown);
    /* frame files live in the data dir, whatever the database */
    if (vigil__mkdirs(pg->base.data_dir, 0755) != 0) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "cannot create data dir %s: %s",
                     pg->base.data_dir, strerror(errno));
        goto fail;
    }
    pg->connect_timeout_s = 5;
    pg->reconnect_counter = vigil_metrics_counter(
        "vigil_store_reconnects_total",
        "connections to the warehouse server made again after one was lost", "backend",
        "postgres", NULL, NULL);
    if (vigil__pg_ensure(pg, errstr, errstr_size) != VIGIL_OK) goto fail;
    int v = vigil__pg_read_version(pg, errstr, errstr_size);
    if (v < 0) goto fail;
    pg->base.found_version = v;
    if (conf->migrate) {
        if (vigil__pg_migrate(&pg->base, NULL, NULL, errstr, errstr_size) != VIGIL_OK) goto fail;
    } else if (v != VIGIL__STORE_SCHEMA_VERSION) {
        char msg[256];
        vigil_err_t err = vigil__store_version_error(v, msg, sizeof(msg));
        vigil__pg_error(pg, err, errstr, errstr_size, "%s", msg);
        goto fail;
    }
    return &pg->base;
fail:
    if (pg) {
        if (pg->base.ops)
            pg_close(&pg->base);
        else {
            free(pg->url);
            free(pg);
        }
    }
    return NULL;
}
