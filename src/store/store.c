/* The warehouse front: URL dispatch to a backend, argument checks, metrics,
 * and the frame-file half of frame_put / frame_read / sweep.
 *
 * The main idea: a backend (sqlite.c, later postgres.c) only talks to its
 * database through vigil_store_ops_t; everything that touches the frame
 * directory lives here and in framefs.c, so the file/row ordering rules are
 * written once:
 *   put:   file first (temp + rename), then the row; if the row fails, the
 *          file goes (unless the failure may hide a commit: a lost
 *          connection). A row therefore never points at a file that was never
 *          written.
 *   sweep: rows first (in bounded batches), then their files (frames, and
 *          the clips of analytics events); a crash in between leaves orphan
 *          files, never rows without files.
 * The analytics half of the front (argument checks, names, clip paths) is
 * in store_analytics.c.
 *
 * Every public call is counted in vigil_store_ops_total{op=},
 * vigil_store_errors_total{op=} (failures other than "not found") and timed
 * in vigil_store_seconds{op=}.
 *
 * Thread: a handle is used by one thread at a time (store.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "vigil/clock.h"
#include "vigil/config.h"
#include "vigil/log.h"
#include "vigil/redact.h"

static const char *const store_op_names[VIGIL__OP_COUNT_] = {
    [VIGIL__OP_MIGRATE] = "migrate",
    [VIGIL__OP_CAMERA_UPSERT] = "camera_upsert",
    [VIGIL__OP_CAMERA_SET_STATUS] = "camera_set_status",
    [VIGIL__OP_CAMERA_LIST] = "camera_list",
    [VIGIL__OP_FRAME_PUT] = "frame_put",
    [VIGIL__OP_FRAME_GET] = "frame_get",
    [VIGIL__OP_FRAME_READ] = "frame_read",
    [VIGIL__OP_DETECTIONS_PUT] = "detections_put",
    [VIGIL__OP_DETECTIONS_QUERY] = "detections_query",
    [VIGIL__OP_EVENT_PUT] = "event_put",
    [VIGIL__OP_COUNTS] = "counts",
    [VIGIL__OP_SWEEP] = "sweep",
    [VIGIL__OP_ANALYTICS_COMMIT] = "analytics_commit",
    [VIGIL__OP_ANALYTICS_STATE_GET] = "analytics_state_get",
    [VIGIL__OP_ANALYTICS_MAX_TRACK_ID] = "analytics_max_track_id",
    [VIGIL__OP_ANALYTICS_EVENTS_QUERY] = "analytics_events_query",
    [VIGIL__OP_ANALYTICS_EVENT_GET] = "analytics_event_get",
    [VIGIL__OP_COUNTS_QUERY] = "counts_query",
    [VIGIL__OP_TRACK_POINTS] = "track_points",
    [VIGIL__OP_FRAMES_RANGE] = "frames_range",
    [VIGIL__OP_RESULTS_PUT] = "results_put",
    [VIGIL__OP_FRAMES_UNPROCESSED] = "frames_unprocessed",
    [VIGIL__OP_USERS] = "users",
    [VIGIL__OP_SESSIONS] = "sessions",
    [VIGIL__OP_TOKENS] = "tokens",
    [VIGIL__OP_PASSKEYS] = "passkeys",
    [VIGIL__OP_CHALLENGES] = "challenges",
    [VIGIL__OP_AUDIT] = "audit",
    [VIGIL__OP_CAMERA_RECORDS] = "camera_records",
    [VIGIL__OP_CAMERA_WRITE] = "camera_write",
    [VIGIL__OP_RULES] = "rules",
    [VIGIL__OP_EVENTS_REVIEW] = "events_review",
    [VIGIL__OP_EVENT_DELETE] = "event_delete",
    [VIGIL__OP_SEARCH] = "search",
    [VIGIL__OP_STORAGE] = "storage",
    [VIGIL__OP_PUSH] = "push",
    [VIGIL__OP_FRAME_USAGE] = "frame_usage",
    [VIGIL__OP_SWEEP_BUDGET] = "sweep_budget",
};

void vigil_store_conf_init(vigil_store_conf_t *conf)
{
    memset(conf, 0, sizeof(*conf));
    conf->url = "sqlite";
    conf->data_dir = "./data";
    conf->busy_timeout_ms = 5000;
    conf->migrate = 1;
}

int vigil__store_base_init(vigil_store_t *store, const vigil_store_ops_t *ops,
                           const char *data_dir)
{
    store->ops = ops;
    store->data_dir = strdup(data_dir);
    if (!store->data_dir) return -1;
    for (int op = 0; op < VIGIL__OP_COUNT_; op++) {
        vigil__store_op_metrics_t *m = &store->metrics[op];
        m->ops = vigil_metrics_counter("vigil_store_ops_total", "warehouse operations", "op",
                                       store_op_names[op], NULL, NULL);
        m->errors = vigil_metrics_counter("vigil_store_errors_total",
                                          "warehouse operations that failed", "op",
                                          store_op_names[op], NULL, NULL);
        m->seconds = vigil_metrics_histogram("vigil_store_seconds",
                                             "time spent in warehouse operations", "op",
                                             store_op_names[op], NULL, NULL);
    }
    return 0;
}

void vigil__store_base_release(vigil_store_t *store)
{
    vigil_log_limit_flush(&store->errlog);
    free(store->data_dir);
    store->data_dir = NULL;
}

void vigil__store_paths_free(char **paths, size_t n)
{
    if (!paths) return;
    for (size_t i = 0; i < n; i++) free(paths[i]);
    free(paths);
}

vigil_err_t vigil__store_version_error(int found, char *errstr, size_t errstr_size)
{
    if (found < VIGIL__STORE_SCHEMA_VERSION)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_STORE,
                            "store schema version %d, this vigil needs %d: run `vigil db migrate`",
                            found, VIGIL__STORE_SCHEMA_VERSION);
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_STORE,
                        "store schema version %d is newer than this vigil knows (%d): "
                        "upgrade vigil or use a matching store",
                        found, VIGIL__STORE_SCHEMA_VERSION);
}

/* Counts and times one finished operation; returns err. */
vigil_err_t vigil__store_done(vigil_store_t *store, vigil__store_op_t op, int64_t t0,
                              vigil_err_t err)
{
    vigil__store_op_metrics_t *m = &store->metrics[op];
    if (m->ops) vigil_counter_inc(m->ops);
    if (err != VIGIL_OK && err != VIGIL_ERR_NOT_FOUND && m->errors) vigil_counter_inc(m->errors);
    if (m->seconds) vigil_histogram_observe(m->seconds, (double)(vigil_mono_us() - t0) / 1e6);
    return err;
}

/* Like vigil__store_done, for operations without errstr: logs the backend's
 * message so that the failure is not silent. */
vigil_err_t vigil__store_done_log(vigil_store_t *store, vigil__store_op_t op, int64_t t0,
                                  const char *camera, vigil_err_t err)
{
    if (err != VIGIL_OK && err != VIGIL_ERR_NOT_FOUND)
        vigil_log_limited(&store->errlog, VIGIL_LOG_WARN, "store", camera, NULL, "%s failed: %s",
                          store_op_names[op],
                          store->errbuf[0] ? store->errbuf : vigil_err_str(err));
    return vigil__store_done(store, op, t0, err);
}

vigil_store_t *vigil_store_open(const vigil_store_conf_t *conf, char *errstr, size_t errstr_size)
{
    vigil_store_conf_t def;
    if (!conf) {
        vigil_store_conf_init(&def);
        conf = &def;
    }
    const char *url = conf->url && *conf->url ? conf->url : "sqlite";
    const char *data_dir = conf->data_dir && *conf->data_dir ? conf->data_dir : "./data";
    char db_path[PATH_MAX];

    if (strcmp(url, "sqlite") == 0 || strncmp(url, "sqlite:", 7) == 0) {
        if (vigil__mkdirs(data_dir, 0755) != 0) {
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "cannot create data dir %s: %s",
                         data_dir, strerror(errno));
            return NULL;
        }
        int n;
        if (strcmp(url, "sqlite") == 0) {
            n = snprintf(db_path, sizeof(db_path), "%s/vigil.db", data_dir);
        } else {
            if (url[7] == '\0') {
                vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                             "store url \"%s\" has no database path (sqlite:PATH)", url);
                return NULL;
            }
            n = snprintf(db_path, sizeof(db_path), "%s", url + 7);
        }
        if (n < 0 || (size_t)n >= sizeof(db_path)) {
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG, "store url \"%s\": path too long",
                         url);
            return NULL;
        }
        return vigil__sqlite_open(conf, db_path, errstr, errstr_size);
    }
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
#ifdef VIGIL_STORE_HAVE_POSTGRES
        return vigil__postgres_open(conf, url, errstr, errstr_size);
#else
        char shown[256]; /* the url carries the password */
        vigil_url_redact(url, shown, sizeof(shown));
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                     "store url \"%s\": postgres store not built into this binary (built "
                     "without PostgreSQL: install libpq-dev and configure with "
                     "-DVIGIL_POSTGRES=ON)",
                     shown);
        return NULL;
#endif
    }
    if (strncmp(url, "mongodb://", 10) == 0 || strncmp(url, "mongodb+srv://", 14) == 0) {
#ifdef VIGIL_STORE_HAVE_MONGO
        return vigil__mongo_open(conf, url, errstr, errstr_size);
#else
        char shown[256]; /* the url carries the password */
        vigil_url_redact(url, shown, sizeof(shown));
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                     "store url \"%s\": mongo store not built into this binary (built "
                     "without libmongoc: install libmongoc-dev and configure with "
                     "-DVIGIL_MONGO=ON)",
                     shown);
        return NULL;
#endif
    }
    char shown[256];
    vigil_url_redact(url, shown, sizeof(shown));
    vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                 "unsupported store url \"%s\": accepted are sqlite, sqlite:PATH, postgres://..., "
                 "postgresql://..., mongodb://...",
                 shown);
    return NULL;
}

const char *vigil_store_last_error(vigil_store_t *store)
{
    return store && store->errbuf[0] ? store->errbuf : "store error";
}

void vigil_store_close(vigil_store_t *store)
{
    if (store) store->ops->close(store);
}

vigil_err_t vigil_store_migrate(vigil_store_t *store, int *from, int *to, char *errstr,
                                size_t errstr_size)
{
    if (!store) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "no store");
    int64_t t0 = vigil_mono_us();
    int f = 0, t = 0;
    vigil_err_t err = store->ops->migrate(store, &f, &t, errstr, errstr_size);
    /* report the version this handle found at open, so that `vigil db
     * migrate` can say "from N" even though open already migrated */
    if (err == VIGIL_OK && store->found_version < f) f = store->found_version;
    if (err == VIGIL_OK) store->found_version = t;
    if (from) *from = f;
    if (to) *to = t;
    return vigil__store_done(store, VIGIL__OP_MIGRATE, t0, err);
}

int vigil_store_schema_version(vigil_store_t *store)
{
    return store ? store->ops->schema_version(store) : -1;
}

int vigil_store_expected_version(void)
{
    return VIGIL__STORE_SCHEMA_VERSION;
}

vigil_err_t vigil_store_camera_upsert(vigil_store_t *store, const vigil_camera_row_t *camera)
{
    if (!store || !camera || !vigil_camera_id_valid(camera->id)) return VIGIL_ERR_INVALID;
    int64_t t0 = vigil_mono_us();
    store->errbuf[0] = '\0';
    vigil_camera_row_t c = *camera;
    if (c.updated_us == 0) c.updated_us = vigil_now_us();
    vigil_err_t err = store->ops->camera_upsert(store, &c);
    return vigil__store_done_log(store, VIGIL__OP_CAMERA_UPSERT, t0, camera->id, err);
}

vigil_err_t vigil_store_camera_set_status(vigil_store_t *store, const char *camera_id,
                                          const char *status, const char *last_error)
{
    if (!store || !camera_id || !status) return VIGIL_ERR_INVALID;
    int64_t t0 = vigil_mono_us();
    store->errbuf[0] = '\0';
    vigil_err_t err = store->ops->camera_set_status(store, camera_id, status,
                                                    last_error ? last_error : "", vigil_now_us());
    return vigil__store_done_log(store, VIGIL__OP_CAMERA_SET_STATUS, t0, camera_id, err);
}

vigil_err_t vigil_store_camera_list(vigil_store_t *store, vigil_camera_row_t **rows, size_t *n)
{
    if (!store || !rows || !n) return VIGIL_ERR_INVALID;
    *rows = NULL;
    *n = 0;
    int64_t t0 = vigil_mono_us();
    store->errbuf[0] = '\0';
    vigil_err_t err = store->ops->camera_list(store, rows, n);
    return vigil__store_done_log(store, VIGIL__OP_CAMERA_LIST, t0, NULL, err);
}

/* Removes a frame file this call wrote and the directories it emptied. */
static void store_unwrite(vigil_store_t *store, const char *relpath)
{
    if (vigil__framefs_remove(store->data_dir, relpath) < 0)
        vigil_warn("store", NULL, "cannot remove frame file %s/%s: %s", store->data_dir, relpath,
                   strerror(errno));
    vigil__framefs_prune(store->data_dir, relpath);
}

vigil_err_t vigil_store_frame_put(vigil_store_t *store, vigil_frame_row_t *row, const void *jpeg,
                                  size_t jpeg_len, char *errstr, size_t errstr_size)
{
    if (!store || !row) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "no frame");
    if (!vigil_camera_id_valid(row->camera_id))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "invalid camera id \"%.64s\" for a frame", row->camera_id);
    if (!jpeg || jpeg_len == 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "camera \"%s\" sequence %llu: empty frame", row->camera_id,
                            (unsigned long long)row->sequence);
    int64_t t0 = vigil_mono_us();
    char msg[512];
    vigil_frame_row_t existing;
    vigil_err_t err = store->ops->frame_lookup(store, row->camera_id, row->sequence, &existing);
    if (err == VIGIL_OK) goto exists;
    if (err != VIGIL_ERR_NOT_FOUND) {
        vigil_seterr(errstr, errstr_size, err, "camera \"%s\" sequence %llu: %s", row->camera_id,
                     (unsigned long long)row->sequence, store->errbuf);
        goto done;
    }

    char relpath[sizeof(row->path)];
    if (vigil__framefs_path(row->camera_id, row->capture_time_us, row->sequence, relpath,
                            sizeof(relpath)) != 0) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                           "camera \"%s\" sequence %llu: capture time %lld out of range",
                           row->camera_id, (unsigned long long)row->sequence,
                           (long long)row->capture_time_us);
        goto done;
    }
    err = vigil__framefs_write(store->data_dir, relpath, jpeg, jpeg_len, msg, sizeof(msg));
    if (err != VIGIL_OK) {
        vigil_seterr(errstr, errstr_size, err, "camera \"%s\" sequence %llu: %s", row->camera_id,
                     (unsigned long long)row->sequence, msg);
        goto done;
    }
    snprintf(row->path, sizeof(row->path), "%s", relpath);
    row->size_bytes = (int64_t)jpeg_len;
    row->detection_count = -1; /* not processed yet */
    err = store->ops->frame_insert(store, row, msg, sizeof(msg));
    if (err == VIGIL_ERR_EXISTS) {
        /* another handle inserted the same frame between lookup and insert */
        err = store->ops->frame_lookup(store, row->camera_id, row->sequence, &existing);
        if (err == VIGIL_OK) {
            if (strcmp(existing.path, relpath) != 0) store_unwrite(store, relpath);
            goto exists;
        }
        snprintf(msg, sizeof(msg), "%s", store->errbuf);
    }
    if (err != VIGIL_OK) {
        /* VIGIL_ERR_AGAIN may be a connection lost after the server
         * committed the row (PostgreSQL): the file stays, for that row or
         * for the caller's next try of this frame (the same path); if
         * neither comes, it is an orphan file, never a row without its file */
        if (err != VIGIL_ERR_AGAIN) store_unwrite(store, relpath);
        row->path[0] = '\0';
        vigil_seterr(errstr, errstr_size, err,
                     "camera \"%s\" sequence %llu: cannot insert frame %s: %s", row->camera_id,
                     (unsigned long long)row->sequence, relpath, msg);
    }
    goto done;

exists:
    row->id = existing.id;
    row->detection_count = existing.detection_count;
    snprintf(row->path, sizeof(row->path), "%s", existing.path);
    err = VIGIL_OK;
done:
    return vigil__store_done(store, VIGIL__OP_FRAME_PUT, t0, err);
}

vigil_err_t vigil_store_frame_get(vigil_store_t *store, int64_t id, vigil_frame_row_t *row)
{
    if (!store || !row) return VIGIL_ERR_INVALID;
    int64_t t0 = vigil_mono_us();
    store->errbuf[0] = '\0';
    vigil_err_t err = store->ops->frame_get(store, id, row);
    return vigil__store_done_log(store, VIGIL__OP_FRAME_GET, t0, NULL, err);
}

vigil_err_t vigil_store_frame_read(vigil_store_t *store, int64_t id, void **jpeg, size_t *len)
{
    if (!store || !jpeg || !len) return VIGIL_ERR_INVALID;
    *jpeg = NULL;
    *len = 0;
    int64_t t0 = vigil_mono_us();
    store->errbuf[0] = '\0';
    vigil_frame_row_t row;
    vigil_err_t err = store->ops->frame_get(store, id, &row);
    if (err == VIGIL_OK)
        err = vigil__framefs_read(store->data_dir, row.path, jpeg, len, store->errbuf,
                                  sizeof(store->errbuf));
    return vigil__store_done_log(store, VIGIL__OP_FRAME_READ, t0,
                                 err == VIGIL_OK ? NULL : row.camera_id, err);
}

vigil_err_t vigil_store_detections_put(vigil_store_t *store, const vigil_detection_row_t *rows,
                                       size_t n, size_t *inserted, char *errstr,
                                       size_t errstr_size)
{
    if (inserted) *inserted = 0;
    if (!store || (n > 0 && !rows))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "no detections");
    for (size_t i = 0; i < n; i++)
        if (!rows[i].camera_id[0] || !rows[i].model[0])
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                "detection %zu of the batch has no %s", i,
                                rows[i].camera_id[0] ? "model" : "camera id");
    if (n == 0) return VIGIL_OK;
    int64_t t0 = vigil_mono_us();
    size_t ins = 0;
    vigil_err_t err = store->ops->detections_put(store, rows, n, &ins, errstr, errstr_size);
    if (inserted) *inserted = err == VIGIL_OK ? ins : 0;
    return vigil__store_done(store, VIGIL__OP_DETECTIONS_PUT, t0, err);
}

vigil_err_t vigil_store_results_put(vigil_store_t *store, const vigil_frame_result_t *results,
                                    size_t n, size_t *inserted, char *errstr, size_t errstr_size)
{
    if (inserted) *inserted = 0;
    if (!store || (n > 0 && !results))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "no results");
    for (size_t i = 0; i < n; i++) {
        const vigil_frame_result_t *r = &results[i];
        if (!r->camera_id || !vigil_camera_id_valid(r->camera_id))
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                "result %zu of the batch: invalid camera id \"%.64s\"", i,
                                r->camera_id ? r->camera_id : "");
        if (r->n > 0 && !r->rows)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                "camera \"%s\" sequence %llu: no rows", r->camera_id,
                                (unsigned long long)r->sequence);
        for (size_t k = 0; k < r->n; k++)
            if (strcmp(r->rows[k].camera_id, r->camera_id) != 0 ||
                r->rows[k].sequence != r->sequence || !r->rows[k].model[0])
                return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                    "camera \"%s\" sequence %llu: detection %zu %s",
                                    r->camera_id, (unsigned long long)r->sequence, k,
                                    r->rows[k].model[0] ? "is of another frame" : "has no model");
    }
    if (n == 0) return VIGIL_OK;
    int64_t t0 = vigil_mono_us();
    size_t ins = 0;
    vigil_err_t err = store->ops->results_put(store, results, n, &ins, errstr, errstr_size);
    if (inserted) *inserted = err == VIGIL_OK ? ins : 0;
    return vigil__store_done(store, VIGIL__OP_RESULTS_PUT, t0, err);
}

vigil_err_t vigil_store_frames_unprocessed(vigil_store_t *store, int64_t after_id, int limit,
                                           vigil_frame_row_t **rows, size_t *n)
{
    if (rows) *rows = NULL;
    if (n) *n = 0;
    if (!store || !rows || !n || limit < 1 || limit > VIGIL__STORE_FRAMES_LIMIT_MAX)
        return VIGIL_ERR_INVALID;
    int64_t t0 = vigil_mono_us();
    store->errbuf[0] = '\0';
    vigil_err_t err = store->ops->frames_unprocessed(store, after_id, limit, rows, n);
    return vigil__store_done_log(store, VIGIL__OP_FRAMES_UNPROCESSED, t0, NULL, err);
}

vigil_err_t vigil_store_detections_query(vigil_store_t *store, const vigil_detection_query_t *q,
                                         vigil_detection_row_t **rows, size_t *n,
                                         int64_t *next_after_id)
{
    if (rows) *rows = NULL;
    if (n) *n = 0;
    if (next_after_id) *next_after_id = 0;
    if (!store || !q || !rows || !n || q->limit < 1 || q->limit > 1000 || q->after_id < 0)
        return VIGIL_ERR_INVALID;
    int64_t t0 = vigil_mono_us();
    store->errbuf[0] = '\0';
    int64_t next = 0;
    vigil_err_t err = store->ops->detections_query(store, q, rows, n, &next);
    if (next_after_id) *next_after_id = err == VIGIL_OK ? next : 0;
    return vigil__store_done_log(store, VIGIL__OP_DETECTIONS_QUERY, t0, q->camera, err);
}

vigil_err_t vigil_store_event_put(vigil_store_t *store, const vigil_event_row_t *event)
{
    if (!store || !event || !event->camera_id[0] || !event->type[0]) return VIGIL_ERR_INVALID;
    int64_t t0 = vigil_mono_us();
    store->errbuf[0] = '\0';
    vigil_err_t err = store->ops->event_put(store, event);
    return vigil__store_done_log(store, VIGIL__OP_EVENT_PUT, t0, event->camera_id, err);
}

vigil_err_t vigil_store_counts(vigil_store_t *store, const char *camera_id,
                               vigil_store_counts_t *counts)
{
    if (!store || !counts) return VIGIL_ERR_INVALID;
    memset(counts, 0, sizeof(*counts));
    int64_t t0 = vigil_mono_us();
    store->errbuf[0] = '\0';
    vigil_err_t err = store->ops->counts(store, camera_id, counts);
    return vigil__store_done_log(store, VIGIL__OP_COUNTS, t0, camera_id, err);
}

/* Removes the files of swept frame rows; prunes each directory once, when
 * the next path leaves it (rows come oldest first, so paths are grouped). */
void vigil__store_sweep_files(vigil_store_t *store, char **paths, size_t n,
                              vigil_sweep_result_t *res)
{
    for (size_t i = 0; i < n; i++) {
        int r = vigil__framefs_remove(store->data_dir, paths[i]);
        if (r > 0) res->files_deleted++;
        if (r < 0)
            vigil_warn("store", NULL, "sweep: cannot remove frame file %s/%s: %s",
                       store->data_dir, paths[i], strerror(errno));
        const char *slash = strrchr(paths[i], '/');
        size_t dirlen = slash ? (size_t)(slash - paths[i]) : 0;
        int last_in_dir = i + 1 == n || strncmp(paths[i], paths[i + 1], dirlen) != 0 ||
                          paths[i + 1][dirlen] != '/' || strchr(paths[i + 1] + dirlen + 1, '/');
        if (last_in_dir) vigil__framefs_prune(store->data_dir, paths[i]);
    }
}

/* Removes the clip files of swept analytics events (a clip is a cache: one
 * that was never made is simply not there). */
static void store_sweep_clips(vigil_store_t *store, const vigil__swept_event_t *events, size_t n,
                              vigil_sweep_result_t *res)
{
    char relpath[PATH_MAX];
    for (size_t i = 0; i < n; i++) {
        if (vigil__store_clip_relpath(events[i].camera_id, events[i].id, relpath,
                                      sizeof(relpath)) != 0)
            continue; /* a camera id no clip could have been made for */
        int r = vigil__framefs_remove(store->data_dir, relpath);
        if (r > 0) res->clips_deleted++;
        if (r < 0)
            vigil_warn("store", events[i].camera_id, "sweep: cannot remove clip %s/%s: %s",
                       store->data_dir, relpath, strerror(errno));
    }
}

vigil_err_t vigil_store_sweep(vigil_store_t *store, const char *camera_id, int64_t before_us,
                              vigil_sweep_result_t *result)
{
    vigil_sweep_result_t res = {0};
    if (result) *result = res;
    if (!store) return VIGIL_ERR_INVALID;
    int64_t t0 = vigil_mono_us();
    store->errbuf[0] = '\0';
    vigil_err_t err = VIGIL_OK;
    const size_t batch = VIGIL__STORE_SWEEP_BATCH;
    for (;;) {
        char **paths = NULL;
        size_t n = 0;
        err = store->ops->sweep_frames(store, camera_id, before_us, batch, &paths, &n);
        if (err != VIGIL_OK) goto done;
        res.frames_deleted += (int64_t)n;
        vigil__store_sweep_files(store, paths, n, &res);
        vigil__store_paths_free(paths, n);
        if (n < batch) break;
    }
    /* analytics events that closed before the cut, rows first, then their
     * clips (as for frames: a crash in between leaves orphan files, never
     * rows whose files were removed). An event still open is kept however
     * old its start: it goes with the first sweep after it has been closed
     * for the retention. */
    for (;;) {
        vigil__swept_event_t *events = NULL;
        size_t n = 0;
        err = store->ops->sweep_analytics_events(store, camera_id, before_us, batch, &events, &n);
        if (err != VIGIL_OK) goto done;
        res.analytics_events_deleted += (int64_t)n;
        store_sweep_clips(store, events, n, &res);
        free(events);
        if (n < batch) break;
    }
    const struct {
        vigil__sweep_table_t table;
        int64_t *count;
    } tables[] = {
        {VIGIL__SWEEP_DETECTIONS, &res.detections_deleted},
        {VIGIL__SWEEP_EVENTS, &res.events_deleted},
        {VIGIL__SWEEP_TRACK_POINTS, &res.track_points_deleted},
        {VIGIL__SWEEP_COUNTS, &res.counts_deleted},
    };
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
        for (;;) {
            int64_t deleted = 0;
            err = store->ops->sweep_rows(store, tables[t].table, camera_id, before_us, batch,
                                         &deleted);
            if (err != VIGIL_OK) goto done;
            *tables[t].count += deleted;
            if (deleted < (int64_t)batch) break;
        }
    }
    /* accounts: sessions and challenges past their expiry, whatever camera */
    err = vigil__store_accounts_sweep(store, vigil_now_us(), &res);
done:
    if (result) *result = res;
    return vigil__store_done_log(store, VIGIL__OP_SWEEP, t0, camera_id, err);
}
