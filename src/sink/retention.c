/* The retention sweeper (see retention.h).
 *
 * Which cameras: those of the configuration and those in the warehouse's
 * camera table (added at run time), each swept with its own retention (the
 * configuration's, else what the API gave the camera, else
 * store.retention_hours). A
 * last sweep over every camera with the longest retention in use catches
 * rows of cameras that have no camera row at all, without ever deleting
 * something a camera with a longer retention still keeps.
 *
 * Failures (vigil/err.h): a sweep that fails for a retriable reason (the
 * write lock, I/O) is tried again after 1 s, doubling up to the sweep
 * interval, rather than only at the next interval; any failure is logged at
 * most once per 10 s with a count and shows on /healthz as degraded
 * ("retention: ..."), since a disk that retention cannot free fills up. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/retention.h"
#include "sink/retention_budget.h"
#include "vigil/clock.h"
#include "vigil/health.h"
#include "vigil/log.h"
#include "vigil/metrics.h"

#define STAGE "sink"
#define HOUR_US 3600000000.0

struct vigil_retention {
    const vigil_config_t *cfg;
    vigil_store_t *store;
    pthread_t thread;
    int running;
    int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    vigil_counter_t *deleted_frames, *deleted_detections, *deleted_events;
    vigil_counter_t *deleted_analytics_events, *deleted_track_points, *deleted_counts, *deleted_clips;
    vigil_log_limit_t errlog; /* the sweeping thread's error records */
    int64_t retry_ms;         /* wait after a retriable failure; 0 after a sweep that worked */
    uint64_t failures;        /* sweeps that failed since the last one that worked */
    vigil__budget_t *budget;  /* store.max_bytes, cameras[].max_bytes (retention_budget.h) */
};

/* How often the thread checks the frame budgets between sweeps. */
#define BUDGET_CHECK_MS 250

vigil_retention_t *vigil__retention_new(const vigil_config_t *cfg, char *errstr,
                                        size_t errstr_size)
{
    vigil_retention_t *ret = calloc(1, sizeof *ret);
    if (!ret) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "retention: out of memory");
        return NULL;
    }
    ret->cfg = cfg;
    pthread_mutex_init(&ret->mu, NULL);
    pthread_cond_init(&ret->cv, NULL);
    vigil_store_conf_t sconf;
    vigil_store_conf_init(&sconf);
    sconf.url = cfg->store_url;
    sconf.data_dir = cfg->data_dir;
    sconf.migrate = 1;
    if (!(ret->store = vigil_store_open(&sconf, errstr, errstr_size))) {
        vigil__retention_free(ret);
        return NULL;
    }
    static const char *help = "Rows deleted by the retention sweeper.";
    ret->deleted_frames =
        vigil_metrics_counter("vigil_retention_deleted_total", help, "kind", "frames", NULL, NULL);
    ret->deleted_detections = vigil_metrics_counter("vigil_retention_deleted_total", help, "kind",
                                                    "detections", NULL, NULL);
    ret->deleted_events =
        vigil_metrics_counter("vigil_retention_deleted_total", help, "kind", "events", NULL, NULL);
    ret->deleted_analytics_events = vigil_metrics_counter(
        "vigil_retention_deleted_total", help, "kind", "analytics_events", NULL, NULL);
    ret->deleted_track_points = vigil_metrics_counter("vigil_retention_deleted_total", help,
                                                      "kind", "track_points", NULL, NULL);
    ret->deleted_counts = vigil_metrics_counter("vigil_retention_deleted_total", help, "kind",
                                                "analytics_counts", NULL, NULL);
    ret->deleted_clips =
        vigil_metrics_counter("vigil_retention_deleted_total", help, "kind", "clips", NULL, NULL);
    if (!(ret->budget = vigil__budget_new(cfg))) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "retention: out of memory");
        vigil__retention_free(ret);
        return NULL;
    }
    return ret;
}

static double camera_hours(const vigil_config_t *cfg, const char *camera_id)
{
    const vigil_camera_conf_t *cam = vigil_config_camera(cfg, camera_id);
    if (cam && cam->retention_hours >= 0) return cam->retention_hours;
    return cfg->store_retention_hours;
}

/* A camera of the warehouse only (added through the API, or seen on the
 * bus): the retention the API gave it, else store.retention_hours. */
static double warehouse_hours(vigil_retention_t *ret, const char *camera_id)
{
    vigil_camera_record_t *rec = calloc(1, sizeof(*rec));
    double hours = ret->cfg->store_retention_hours;

    if (rec && vigil_store_camera_get(ret->store, camera_id, 0, rec, NULL, 0) == VIGIL_OK &&
        rec->retention_hours >= 0)
        hours = rec->retention_hours;
    free(rec);
    return hours;
}

/* Sweeps one camera (NULL = all) with hours of retention; 0 keeps all. */
static vigil_err_t sweep(vigil_retention_t *ret, const char *camera_id, double hours,
                         int64_t now_us, vigil_sweep_result_t *total)
{
    if (hours <= 0) return VIGIL_OK;
    vigil_sweep_result_t r = {0};
    int64_t before_us = now_us - (int64_t)(hours * HOUR_US);
    vigil_err_t err = vigil_store_sweep(ret->store, camera_id, before_us, &r);
    if (err) {
        vigil_log_limited(&ret->errlog, VIGIL_LOG_ERROR, STAGE, camera_id,
                          NULL, "retention sweep of %s failed (%s): %s",
                          camera_id ? "camera" : "all cameras",
                          vigil_err_class_name(vigil_err_class(err)),
                          vigil_store_last_error(ret->store));
        return err;
    }
    vigil_counter_add(ret->deleted_frames, (uint64_t)r.frames_deleted);
    vigil_counter_add(ret->deleted_detections, (uint64_t)r.detections_deleted);
    vigil_counter_add(ret->deleted_events, (uint64_t)r.events_deleted);
    vigil_counter_add(ret->deleted_analytics_events, (uint64_t)r.analytics_events_deleted);
    vigil_counter_add(ret->deleted_track_points, (uint64_t)r.track_points_deleted);
    vigil_counter_add(ret->deleted_counts, (uint64_t)r.counts_deleted);
    vigil_counter_add(ret->deleted_clips, (uint64_t)r.clips_deleted);
    if (r.frames_deleted || r.detections_deleted || r.events_deleted || r.files_deleted ||
        r.analytics_events_deleted || r.track_points_deleted || r.counts_deleted)
        vigil_info(STAGE, camera_id,
                   "retention (%.1f h): deleted %lld frames (%lld files), %lld detections, "
                   "%lld events, %lld analytics events (%lld clips), %lld track points, "
                   "%lld count minutes",
                   hours, (long long)r.frames_deleted, (long long)r.files_deleted,
                   (long long)r.detections_deleted, (long long)r.events_deleted,
                   (long long)r.analytics_events_deleted, (long long)r.clips_deleted,
                   (long long)r.track_points_deleted, (long long)r.counts_deleted);
    if (total) {
        total->frames_deleted += r.frames_deleted;
        total->files_deleted += r.files_deleted;
        total->detections_deleted += r.detections_deleted;
        total->events_deleted += r.events_deleted;
        total->analytics_events_deleted += r.analytics_events_deleted;
        total->track_points_deleted += r.track_points_deleted;
        total->counts_deleted += r.counts_deleted;
        total->clips_deleted += r.clips_deleted;
    }
    return VIGIL_OK;
}

/* Health and the next wait after a whole sweep ended with err. */
static void note_outcome(vigil_retention_t *ret, vigil_err_t err)
{
    char problem[512];
    int64_t interval_ms = (int64_t)ret->cfg->store_sweep_interval_s * 1000;
    if (!err) {
        if (ret->failures) {
            vigil_log_limit_flush(&ret->errlog);
            vigil_info(STAGE, NULL, "retention sweeps work again after %llu failed",
                       (unsigned long long)ret->failures);
            vigil_health_clear("retention", NULL);
        }
        ret->failures = 0;
        ret->retry_ms = 0;
        return;
    }
    ret->failures++;
    ret->retry_ms = !vigil_err_is_retriable(err) ? 0 : ret->retry_ms ? ret->retry_ms * 2 : 1000;
    if (ret->retry_ms > interval_ms) ret->retry_ms = interval_ms;
    snprintf(problem, sizeof problem,
             "sweeps fail, nothing old is deleted (%llu in a row): %s: %s",
             (unsigned long long)ret->failures, vigil_err_str(err),
             vigil_store_last_error(ret->store));
    vigil_health_set("retention", NULL, VIGIL_HEALTH_DEGRADED, problem);
}

vigil_err_t vigil__retention_sweep_once(vigil_retention_t *ret, int64_t now_us,
                                        vigil_sweep_result_t *total)
{
    const vigil_config_t *cfg = ret->cfg;
    vigil_camera_row_t *rows = NULL;
    size_t nrows = 0;
    vigil_err_t first = VIGIL_OK, err;
    double longest = cfg->store_retention_hours;
    int keep_forever = cfg->store_retention_hours <= 0;

    for (size_t i = 0; i < cfg->ncameras; i++) {
        double h = camera_hours(cfg, cfg->cameras[i].id);
        if (h <= 0) keep_forever = 1;
        if (h > longest) longest = h;
        if ((err = sweep(ret, cfg->cameras[i].id, h, now_us, total)) && !first) first = err;
    }
    if ((err = vigil_store_camera_list(ret->store, &rows, &nrows))) {
        vigil_log_limited(&ret->errlog, VIGIL_LOG_ERROR, STAGE, NULL, NULL,
                          "retention: cannot list cameras: %s",
                          vigil_store_last_error(ret->store));
        if (!first) first = err;
        nrows = 0;
    }
    for (size_t i = 0; i < nrows; i++) {
        if (vigil_config_camera(cfg, rows[i].id)) continue; /* done above */
        double h = warehouse_hours(ret, rows[i].id);
        if (h <= 0) keep_forever = 1;
        if (h > longest) longest = h;
        if ((err = sweep(ret, rows[i].id, h, now_us, total)) && !first) first = err;
    }
    free(rows);
    /* cameras nobody knows of: only what every retention in use lets go */
    if (!keep_forever && (err = sweep(ret, NULL, longest, now_us, total)) && !first) first = err;
    note_outcome(ret, first);
    /* then the byte budgets, over what age left (their errors are their own:
     * logged, counted and on /healthz as "frame_budget") */
    vigil_budget_result_t br;
    if (vigil__budget_check(ret->budget, ret->store, 1, &br) == VIGIL_OK && total) {
        total->frames_deleted += br.frames_deleted;
        total->files_deleted += br.files_deleted;
    }
    return first;
}

/* Between sweeps, with a byte budget set, the thread wakes every
 * BUDGET_CHECK_MS to check it: frames are written by preprocess (perhaps
 * another process), whose writes the running totals show at once. */
static void *retention_main(void *arg)
{
    vigil_retention_t *ret = arg;
    pthread_mutex_lock(&ret->mu);
    while (!ret->stop) {
        pthread_mutex_unlock(&ret->mu);
        vigil__retention_sweep_once(ret, vigil_now_us(), NULL);
        pthread_mutex_lock(&ret->mu);
        int wait_ms = ret->retry_ms ? (int)ret->retry_ms : ret->cfg->store_sweep_interval_s * 1000;
        int64_t next_sweep = vigil_mono_us() + (int64_t)wait_ms * 1000;
        while (!ret->stop) {
            int64_t left_ms = (next_sweep - vigil_mono_us()) / 1000;
            if (left_ms <= 0) break;
            int budget = vigil__budget_active(ret->budget);
            struct timespec until =
                vigil_deadline_ms(budget && left_ms > BUDGET_CHECK_MS ? BUDGET_CHECK_MS
                                                                      : (int)left_ms);
            while (!ret->stop && pthread_cond_timedwait(&ret->cv, &ret->mu, &until) == 0) {
            }
            if (ret->stop || !budget) continue;
            pthread_mutex_unlock(&ret->mu);
            vigil__budget_check(ret->budget, ret->store, 0, NULL);
            pthread_mutex_lock(&ret->mu);
        }
    }
    pthread_mutex_unlock(&ret->mu);
    vigil_log_limit_flush(&ret->errlog);
    return NULL;
}

vigil_err_t vigil__retention_start(vigil_retention_t *ret)
{
    if (ret->running) return VIGIL_OK;
    ret->stop = 0;
    if (pthread_create(&ret->thread, NULL, retention_main, ret) != 0) return VIGIL_ERR_NOMEM;
    ret->running = 1;
    return VIGIL_OK;
}

void vigil__retention_stop(vigil_retention_t *ret)
{
    if (!ret || !ret->running) return;
    pthread_mutex_lock(&ret->mu);
    ret->stop = 1;
    pthread_cond_broadcast(&ret->cv);
    pthread_mutex_unlock(&ret->mu);
    pthread_join(ret->thread, NULL);
    ret->running = 0;
}

void vigil__retention_free(vigil_retention_t *ret)
{
    if (!ret) return;
    vigil__retention_stop(ret);
    vigil__budget_free(ret->budget);
    vigil_store_close(ret->store);
    pthread_mutex_destroy(&ret->mu);
    pthread_cond_destroy(&ret->cv);
    free(ret);
}
