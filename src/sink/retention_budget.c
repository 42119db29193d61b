/* The frame store's byte budgets (see retention_budget.h).
 *
 * Metrics (docs/observability.md):
 *   vigil_frame_store_bytes{camera}         bytes of a camera's stored frames
 *   vigil_frame_store_all_bytes             every camera's together
 *   vigil_frame_store_budget_bytes{camera}  cameras[].max_bytes, where set
 *   vigil_frame_store_all_budget_bytes      store.max_bytes (0 = none)
 *   vigil_frame_store_over_budget_bytes     what events keep above a budget
 *   vigil_retention_deleted_total{kind="frames_for_size"}, {kind="bytes_for_size"}
 *   vigil_retention_budget_errors_total     checks that failed (a budget
 *                                           below one frame, a store error)
 *
 * Health: component "frame_budget" degraded while a budget is refused (it
 * is smaller than one frame: nothing is deleted for it, so the disk may
 * fill), a check fails, or events keep a budget exceeded. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/retention_budget.h"
#include "vigil/health.h"
#include "vigil/log.h"
#include "vigil/metrics.h"

#define STAGE "sink"
#define COMPONENT "frame_budget"

struct vigil__budget {
    const vigil_config_t *cfg;
    const char **ids;   /* cameras with a budget of their own */
    int64_t *max;
    size_t n;
    int64_t max_bytes;  /* store.max_bytes */
    vigil_gauge_t *all_bytes, *all_budget, *over;
    vigil_counter_t *deleted_frames, *deleted_bytes, *errors;
    vigil_log_limit_t errlog;
    int problem;        /* the health problem is set */
};

vigil__budget_t *vigil__budget_new(const vigil_config_t *cfg)
{
    vigil__budget_t *b = calloc(1, sizeof(*b));
    if (!b) return NULL;
    b->cfg = cfg;
    b->max_bytes = (int64_t)cfg->store_max_bytes;
    if (cfg->ncameras) {
        b->ids = calloc(cfg->ncameras, sizeof(*b->ids));
        b->max = calloc(cfg->ncameras, sizeof(*b->max));
        if (!b->ids || !b->max) {
            vigil__budget_free(b);
            return NULL;
        }
    }
    static const char *help_budget = "Bytes a camera's stored frames may hold (cameras[].max_bytes).";
    for (size_t i = 0; i < cfg->ncameras; i++) {
        if (cfg->cameras[i].max_bytes <= 0) continue;
        b->ids[b->n] = cfg->cameras[i].id;
        b->max[b->n] = (int64_t)cfg->cameras[i].max_bytes;
        vigil_gauge_set(vigil_metrics_gauge("vigil_frame_store_budget_bytes", help_budget,
                                            "camera", b->ids[b->n], NULL, NULL),
                        b->max[b->n]);
        b->n++;
    }
    b->all_bytes = vigil_metrics_gauge("vigil_frame_store_all_bytes",
                                       "Bytes of every camera's stored frames (their JPEG files).",
                                       NULL, NULL, NULL, NULL);
    b->all_budget = vigil_metrics_gauge("vigil_frame_store_all_budget_bytes",
                                        "Bytes every camera's frames may hold together "
                                        "(store.max_bytes; 0 = no bound).",
                                        NULL, NULL, NULL, NULL);
    b->over = vigil_metrics_gauge("vigil_frame_store_over_budget_bytes",
                                  "Bytes above a frame budget that events still need (0 when "
                                  "every budget is kept).",
                                  NULL, NULL, NULL, NULL);
    static const char *help_del = "Rows deleted by the retention sweeper.";
    b->deleted_frames = vigil_metrics_counter("vigil_retention_deleted_total", help_del, "kind",
                                              "frames_for_size", NULL, NULL);
    b->deleted_bytes = vigil_metrics_counter("vigil_retention_deleted_total", help_del, "kind",
                                             "bytes_for_size", NULL, NULL);
    b->errors = vigil_metrics_counter("vigil_retention_budget_errors_total",
                                      "Frame budget checks that failed (a budget smaller than one "
                                      "frame, a store error).",
                                      NULL, NULL, NULL, NULL);
    vigil_gauge_set(b->all_budget, b->max_bytes);
    return b;
}

void vigil__budget_free(vigil__budget_t *b)
{
    if (!b) return;
    vigil_log_limit_flush(&b->errlog);
    free(b->ids);
    free(b->max);
    free(b);
}

int vigil__budget_active(const vigil__budget_t *b)
{
    return b && (b->max_bytes > 0 || b->n > 0);
}

/* Publishes the totals; 1 if a budget is exceeded. */
static int publish(vigil__budget_t *b, const vigil_frame_usage_t *rows, size_t n, int64_t total)
{
    static const char *help = "Bytes of a camera's stored frames (their JPEG files).";
    int over = b->max_bytes > 0 && total > b->max_bytes;
    vigil_gauge_set(b->all_bytes, total);
    for (size_t i = 0; i < n; i++) {
        vigil_gauge_set(vigil_metrics_gauge("vigil_frame_store_bytes", help, "camera",
                                            rows[i].camera_id, NULL, NULL),
                        rows[i].bytes);
        for (size_t k = 0; k < b->n; k++)
            if (rows[i].bytes > b->max[k] && strcmp(rows[i].camera_id, b->ids[k]) == 0) over = 1;
    }
    /* a camera whose frames all went reads 0, not its last value */
    for (size_t k = 0; k < b->cfg->ncameras; k++) {
        const char *id = b->cfg->cameras[k].id;
        size_t i = 0;
        while (i < n && strcmp(rows[i].camera_id, id) != 0) i++;
        if (i == n) vigil_gauge_set(vigil_metrics_gauge("vigil_frame_store_bytes", help, "camera",
                                                        id, NULL, NULL),
                                    0);
    }
    return over;
}

static void set_problem(vigil__budget_t *b, const char *msg)
{
    vigil_health_set(COMPONENT, NULL, VIGIL_HEALTH_DEGRADED, msg);
    b->problem = 1;
}

vigil_err_t vigil__budget_check(vigil__budget_t *b, vigil_store_t *store, int force,
                                vigil_budget_result_t *res)
{
    char errstr[512] = "", msg[768];
    vigil_frame_usage_t *rows = NULL;
    size_t n = 0;
    int64_t total = 0;
    vigil_budget_result_t r = {0};

    if (res) *res = r;
    vigil_err_t err = vigil_store_frame_usage(store, &rows, &n, &total, errstr, sizeof(errstr));
    if (err) goto failed;
    int over = publish(b, rows, n, total);
    free(rows);
    if (!vigil__budget_active(b) || (!over && !force)) {
        vigil_gauge_set(b->over, 0);
        if (b->problem) {
            vigil_health_clear(COMPONENT, NULL);
            b->problem = 0;
        }
        return VIGIL_OK;
    }
    vigil_frame_budget_t fb = {
        .max_bytes = b->max_bytes,
        .camera_ids = b->ids,
        .camera_max_bytes = b->max,
        .ncameras = b->n,
        .preroll_us = (int64_t)(b->cfg->analytics_clip_preroll_s * 1e6),
        .postroll_us = (int64_t)(b->cfg->analytics_clip_postroll_s * 1e6),
        .events_ended_before_us = 0, /* every stored event: the age sweep took the old ones */
    };
    err = vigil_store_sweep_budget(store, &fb, &r, errstr, sizeof(errstr));
    if (res) *res = r;
    vigil_counter_add(b->deleted_frames, (uint64_t)r.frames_deleted);
    vigil_counter_add(b->deleted_bytes, (uint64_t)r.bytes_freed);
    vigil_gauge_set(b->over, r.over_bytes);
    if (r.frames_deleted &&
        vigil_store_frame_usage(store, &rows, &n, &total, NULL, 0) == VIGIL_OK) {
        publish(b, rows, n, total); /* what is left, per camera */
        free(rows);
    }
    if (r.frames_deleted)
        vigil_info(STAGE, NULL,
                   "frame budget: deleted the %lld oldest frames (%lld files, %lld bytes): "
                   "frame store %lld -> %lld bytes (store.max_bytes %lld)",
                   (long long)r.frames_deleted, (long long)r.files_deleted,
                   (long long)r.bytes_freed, (long long)r.bytes_before,
                   (long long)r.bytes_after, (long long)b->max_bytes);
    if (err) goto failed;
    if (r.over_bytes > 0) {
        snprintf(msg, sizeof(msg),
                 "frame store over the budget of %s by %lld bytes: events (open, or within "
                 "their retention) need those frames",
                 r.over_camera[0] ? r.over_camera : "every camera (store.max_bytes)",
                 (long long)r.over_bytes);
        vigil_log_limited(&b->errlog, VIGIL_LOG_WARN, STAGE, r.over_camera[0] ? r.over_camera
                                                                              : NULL,
                          NULL, "%s", msg);
        set_problem(b, msg);
    } else if (b->problem) {
        vigil_log_limit_flush(&b->errlog);
        vigil_health_clear(COMPONENT, NULL);
        b->problem = 0;
    }
    return VIGIL_OK;
failed:
    vigil_counter_inc(b->errors);
    snprintf(msg, sizeof(msg), "%s%s", err == VIGIL_ERR_INVALID ? "frame budget refused: " : "frame budget check failed: ",
             errstr[0] ? errstr : vigil_store_last_error(store));
    /* the store's words name the camera and the budget; the key is ours */
    if (err == VIGIL_ERR_INVALID)
        snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
                 " (raise store.max_bytes or cameras[].max_bytes above one frame)");
    vigil_log_limited(&b->errlog, VIGIL_LOG_ERROR, STAGE, NULL, NULL, "%s", msg);
    set_problem(b, msg);
    return err;
}
