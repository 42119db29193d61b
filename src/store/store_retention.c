/* Retention by size, the front (store.h, "retention by size"): argument
 * checks, metrics, and the plan of a budget sweep over the backend's two
 * operations (store_retention_int.h).
 *
 * The plan: read the running totals once; each camera over its own budget
 * first gives up its oldest frames that no event needs, down to low_water
 * of its budget; then, while every camera together is over max_bytes, the
 * oldest frames of any camera go, down to low_water of it. Each step asks
 * the backend for a bounded batch (VIGIL__STORE_SWEEP_BATCH rows, one
 * transaction) and removes the batch's files before the next, as
 * vigil_store_sweep does: rows first, then files, so that a crash leaves
 * orphan files, never rows without files.
 *
 * A budget smaller than one frame of what it bounds (the mean size of its
 * stored frames) cannot be kept by deleting: every sweep would delete every
 * frame of it. Such a budget is refused with an error naming it, and
 * nothing is deleted for it.
 *
 * Thread: a handle is used by one thread at a time (store.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_retention_int.h"
#include "vigil/clock.h"
#include "vigil/config.h"

#define LOW_WATER_DEFAULT 0.95

#define RET_OPS(store) ((store)->ops->retention)

vigil_err_t vigil_store_frame_usage(vigil_store_t *store, vigil_frame_usage_t **rows, size_t *n,
                                    int64_t *total_bytes, char *errstr, size_t errstr_size)
{
    if (rows) *rows = NULL;
    if (n) *n = 0;
    if (total_bytes) *total_bytes = 0;
    if (!store || !rows || !n)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "store: invalid arguments");
    if (!RET_OPS(store))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                            "the %s store cannot measure its frames", store->ops->name);
    store->errbuf[0] = '\0';
    int64_t t0 = vigil_mono_us();
    vigil_err_t err = RET_OPS(store)->frame_usage(store, VIGIL__STORE_USAGE_ROWS_MAX, rows, n,
                                                  errstr, errstr_size);
    if (err == VIGIL_OK && total_bytes)
        for (size_t i = 0; i < *n; i++) *total_bytes += (*rows)[i].bytes;
    return vigil__store_done(store, VIGIL__OP_FRAME_USAGE, t0, err);
}

/* Deletes up to `bytes` of the oldest unneeded frames of camera (NULL =
 * all), batch after batch; *freed gets what went. */
static vigil_err_t free_bytes(vigil_store_t *store, const char *camera, int64_t bytes,
                              const vigil__frame_protect_t *protect, vigil_budget_result_t *res,
                              int64_t *freed, char *errstr, size_t errstr_size)
{
    const size_t batch = VIGIL__STORE_SWEEP_BATCH;
    *freed = 0;
    while (*freed < bytes) {
        char **paths = NULL;
        size_t n = 0;
        int64_t got = 0;
        vigil_err_t err = RET_OPS(store)->sweep_frames_bytes(store, camera, bytes - *freed,
                                                             protect, batch, &paths, &n, &got,
                                                             errstr, errstr_size);
        if (err) return err;
        vigil_sweep_result_t files = {0};
        vigil__store_sweep_files(store, paths, n, &files);
        vigil__store_paths_free(paths, n);
        res->frames_deleted += (int64_t)n;
        res->files_deleted += files.files_deleted;
        res->bytes_freed += got;
        *freed += got;
        if (n < batch) break; /* the rest is needed by events (or gone) */
    }
    return VIGIL_OK;
}

static const vigil_frame_usage_t *usage_of(const vigil_frame_usage_t *rows, size_t n,
                                           const char *camera)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].camera_id, camera) == 0) return &rows[i];
    return NULL;
}

/* Keeps one budget: returns the error (with errstr) of a budget smaller
 * than one frame, else the backend's. *over: what stays over it. */
static vigil_err_t keep_budget(vigil_store_t *store, const char *camera, int64_t max,
                               int64_t bytes, int64_t frames, double low,
                               const vigil__frame_protect_t *protect, vigil_budget_result_t *res,
                               int64_t *freed, int64_t *over, char *errstr, size_t errstr_size)
{
    *freed = 0;
    *over = 0;
    if (max <= 0 || bytes <= max || frames <= 0) return VIGIL_OK;
    int64_t mean = bytes / frames;
    if (max < mean) {
        *over = bytes - max;
        if (camera)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                "the frame budget of camera \"%s\" (%" PRId64
                                " bytes) is smaller than one of its frames (%" PRId64
                                " bytes on average over %" PRId64
                                "): nothing is deleted for it",
                                camera, max, mean, frames);
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "the budget of the whole frame store (%" PRId64
                            " bytes) is smaller than one frame (%" PRId64
                            " bytes on average over %" PRId64 "): nothing is deleted for it",
                            max, mean, frames);
    }
    int64_t target = (int64_t)((double)max * low);
    if (target < mean) target = mean > max ? max : mean;
    vigil_err_t err = free_bytes(store, camera, bytes - target, protect, res, freed, errstr,
                                 errstr_size);
    if (err) return err;
    if (bytes - *freed > max) *over = bytes - *freed - max;
    return VIGIL_OK;
}

static void note_over(vigil_budget_result_t *res, const char *camera, int64_t over)
{
    if (over <= 0 || over <= res->over_bytes) return;
    res->over_bytes = over;
    snprintf(res->over_camera, sizeof(res->over_camera), "%s", camera ? camera : "");
}

vigil_err_t vigil_store_sweep_budget(vigil_store_t *store, const vigil_frame_budget_t *b,
                                     vigil_budget_result_t *res, char *errstr,
                                     size_t errstr_size)
{
    vigil_budget_result_t r = {0};
    if (res) *res = r;
    if (!store || !b || b->max_bytes < 0 || (b->ncameras && (!b->camera_ids ||
                                                           !b->camera_max_bytes)) ||
        b->preroll_us < 0 || b->postroll_us < 0 ||
        !(b->low_water == 0 || (b->low_water >= 0.5 && b->low_water <= 1)))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "store: invalid frame budget");
    for (size_t i = 0; i < b->ncameras; i++)
        if (!b->camera_ids[i] || !vigil_camera_id_valid(b->camera_ids[i]) ||
            b->camera_max_bytes[i] < 0)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                "store: frame budget %zu: invalid camera id or size", i);
    if (!RET_OPS(store))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                            "the %s store cannot keep a frame budget", store->ops->name);
    char local[512] = "";
    if (!errstr) {
        errstr = local;
        errstr_size = sizeof(local);
    }
    store->errbuf[0] = '\0';
    int64_t t0 = vigil_mono_us();
    const double low = b->low_water > 0 ? b->low_water : LOW_WATER_DEFAULT;
    const vigil__frame_protect_t protect = {b->preroll_us, b->postroll_us,
                                            b->events_ended_before_us};
    vigil_frame_usage_t *rows = NULL;
    size_t n = 0;
    int64_t total = 0, frames = 0, freed = 0, over = 0;
    char why[512] = "";
    vigil_err_t first = VIGIL_OK;
    vigil_err_t err = RET_OPS(store)->frame_usage(store, VIGIL__STORE_USAGE_ROWS_MAX, &rows, &n,
                                                  errstr, errstr_size);
    if (err) goto done;
    for (size_t i = 0; i < n; i++) {
        total += rows[i].bytes;
        frames += rows[i].frames;
    }
    r.bytes_before = total;
    for (size_t i = 0; i < b->ncameras; i++) {
        const vigil_frame_usage_t *u = usage_of(rows, n, b->camera_ids[i]);
        if (!u) continue;
        int64_t gone = r.frames_deleted;
        err = keep_budget(store, b->camera_ids[i], b->camera_max_bytes[i], u->bytes, u->frames,
                          low, &protect, &r, &freed, &over, why, sizeof(why));
        total -= freed;
        frames -= r.frames_deleted - gone;
        note_over(&r, b->camera_ids[i], over);
        if (err == VIGIL_ERR_INVALID) {
            if (!first) {
                first = err;
                vigil_seterr(errstr, errstr_size, err, "%s", why);
            }
            continue;
        }
        if (err) {
            vigil_seterr(errstr, errstr_size, err, "%s", why);
            goto done;
        }
    }
    err = keep_budget(store, NULL, b->max_bytes, total, frames, low, &protect, &r, &freed, &over,
                      why, sizeof(why));
    total -= freed;
    note_over(&r, NULL, over);
    if (err && err != VIGIL_ERR_INVALID) {
        vigil_seterr(errstr, errstr_size, err, "%s", why);
        goto done;
    }
    if (err && !first) {
        first = err;
        vigil_seterr(errstr, errstr_size, err, "%s", why);
    }
    err = first;
done:
    r.bytes_after = total;
    free(rows);
    if (res) *res = r;
    if (err) snprintf(store->errbuf, sizeof(store->errbuf), "%s", errstr);
    return vigil__store_done(store, VIGIL__OP_SWEEP_BUDGET, t0, err);
}
