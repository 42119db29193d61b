/* Retention by size in PostgreSQL (store_retention_int.h; schema step 7),
 * as sqlite_retention.c.
 *
 * The bytes of the frame store are the frame_usage table, which a row
 * trigger on frames keeps per camera in the same transaction as every
 * insert and delete. A size sweep runs in one transaction that first takes
 * an advisory lock (two sweepers, in two processes, never delete for the
 * same excess twice), reads the oldest frames no event needs, keeps as many
 * as add up to the bytes asked for, and deletes those by id; the bytes
 * freed are those of the rows the DELETE removed (a row an age sweep took
 * meanwhile frees nothing here).
 *
 * Index use: the oldest frames come from frames_camera_time (one camera) or
 * frames_time (all) in each day's partition, in (capture_time_us, id)
 * order; "an event needs it" is analytics_events_snapshot and a range of
 * analytics_events_camera_time.
 *
 * Thread: the handle's thread. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres_int.h"
#include "store/store_retention_int.h"

/* pg_advisory_xact_lock key of size sweeps: "vigilsz" in ASCII. */
#define PGT_SWEEP_LOCK "33329940123120506"

enum {
    PGT_USAGE = VIGIL__PG_SLOTS_ANALYTICS + 24,
    PGT_OLDEST_CAMERA,
    PGT_OLDEST_ALL,
    PGT_DELETE,
};

/* The oldest frames no event needs (as SQT_OLDEST in sqlite_retention.c):
 * $1 preroll, $2 postroll, $3 events ended before this need nothing, $4
 * limit, $5 camera. ev gives per camera the longest window of a closed
 * event that still counts and the earliest start of an open one, so that
 * the range of analytics_events_camera_time a frame looks at is bounded on
 * both sides instead of running over every older event of its camera. */
#define PGT_OLDEST(ev_where, f_where)                                                             \
    "WITH ev AS (SELECT camera_id,"                                                               \
    "  max(CASE WHEN open = 0 AND end_us >= $3 THEN end_us - start_us END) AS longest,"           \
    "  min(CASE WHEN open <> 0 THEN start_us END) AS open_from"                                   \
    "  FROM analytics_events " ev_where " GROUP BY camera_id) "                                   \
    "SELECT f.id, f.size_bytes FROM frames f LEFT JOIN ev ON ev.camera_id = f.camera_id "         \
    "WHERE " f_where                                                                              \
    " AND (ev.open_from IS NULL OR f.capture_time_us < ev.open_from - $1)"                        \
    " AND NOT EXISTS (SELECT 1 FROM analytics_events e WHERE e.snapshot_frame_id = f.id"          \
    "   AND (e.open <> 0 OR e.end_us >= $3))"                                                     \
    " AND NOT EXISTS (SELECT 1 FROM analytics_events e WHERE e.camera_id = f.camera_id"           \
    "   AND e.start_us >= f.capture_time_us - $2 - coalesce(ev.longest, 0)"                       \
    "   AND e.start_us <= f.capture_time_us + $1"                                                 \
    "   AND e.open = 0 AND e.end_us >= $3 AND e.end_us + $2 >= f.capture_time_us)"                \
    " ORDER BY f.capture_time_us, f.id LIMIT $4"

static vigil_err_t pgt_frame_usage(vigil_store_t *store, size_t max, vigil_frame_usage_t **rows,
                                   size_t *n, char *errstr, size_t errstr_size)
{
    vigil__pg_t *pg = vigil__pg(store);
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    vigil__pg_param_int(&p, (int64_t)max);
    vigil_err_t err;
    PGresult *res = vigil__pg_exec_prepared(pg, PGT_USAGE,
                                            "SELECT camera_id, frames, bytes FROM frame_usage "
                                            "WHERE frames > 0 ORDER BY camera_id LIMIT $1",
                                            &p, "read frame usage", &err, errstr, errstr_size);
    vigil__pg_params_release(&p);
    if (!res) return err;
    size_t count = (size_t)PQntuples(res);
    vigil_frame_usage_t *out = count ? calloc(count, sizeof(*out)) : NULL;
    if (count && !out) {
        PQclear(res);
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "frame usage: out of memory");
    }
    for (size_t i = 0; i < count; i++) {
        vigil__pg_text(res, (int)i, 0, out[i].camera_id, sizeof(out[i].camera_id));
        out[i].frames = vigil__pg_int64(res, (int)i, 1);
        out[i].bytes = vigil__pg_int64(res, (int)i, 2);
    }
    PQclear(res);
    *rows = out;
    *n = count;
    return VIGIL_OK;
}

/* "{id,id,...}" of the first n rows of res (column 0); malloc'd. */
static char *pgt_id_array(const PGresult *res, size_t n)
{
    size_t cap = 3 + n * 21, len = 0;
    char *s = malloc(cap);
    if (!s) return NULL;
    s[len++] = '{';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s%" PRId64, i ? "," : "",
                                vigil__pg_int64(res, (int)i, 0));
    snprintf(s + len, cap - len, "}");
    return s;
}

static vigil_err_t pgt_sweep_frames_bytes(vigil_store_t *store, const char *camera_id,
                                          int64_t bytes, const vigil__frame_protect_t *protect,
                                          size_t limit, char ***paths_out, size_t *n_out,
                                          int64_t *freed_out, char *errstr, size_t errstr_size)
{
    vigil__pg_t *pg = vigil__pg(store);
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    PGresult *victims = NULL, *gone = NULL;
    char *ids = NULL, **paths = NULL;
    vigil_err_t err = vigil__pg_begin(pg, errstr, errstr_size);
    if (err) return err;
    err = vigil__pg_command(pg, "SELECT pg_advisory_xact_lock(" PGT_SWEEP_LOCK ")",
                            "lock for a size sweep", errstr, errstr_size);
    if (err) goto fail;
    vigil__pg_param_int(&p, protect->preroll_us);
    vigil__pg_param_int(&p, protect->postroll_us);
    vigil__pg_param_int(&p, protect->events_ended_before_us);
    vigil__pg_param_int(&p, (int64_t)limit);
    if (camera_id) vigil__pg_param_text(&p, camera_id);
    victims = vigil__pg_exec_prepared(
        pg, camera_id ? PGT_OLDEST_CAMERA : PGT_OLDEST_ALL,
        camera_id ? PGT_OLDEST("WHERE camera_id = $5", "f.camera_id = $5")
                  : PGT_OLDEST("", "true"),
        &p, "read the oldest frames", &err, errstr, errstr_size);
    if (!victims) goto fail;
    /* only as many as the bytes asked for: the rest of the batch stays */
    size_t n = 0;
    for (int64_t sum = 0; n < (size_t)PQntuples(victims) && sum < bytes; n++)
        sum += vigil__pg_int64(victims, (int)n, 1);
    size_t got = 0;
    int64_t freed = 0;
    if (n > 0) {
        if (!(ids = pgt_id_array(victims, n))) {
            err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "size sweep: out of memory");
            goto fail;
        }
        vigil__pg_params_clear(&p);
        vigil__pg_param_text(&p, ids);
        gone = vigil__pg_exec_prepared(pg, PGT_DELETE,
                                       "DELETE FROM frames WHERE id = ANY ($1::bigint[]) "
                                       "RETURNING path, size_bytes",
                                       &p, "delete the oldest frames", &err, errstr, errstr_size);
        if (!gone) goto fail;
        got = (size_t)PQntuples(gone);
        if (got && !(paths = calloc(got, sizeof(*paths)))) {
            err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "size sweep: out of memory");
            goto fail;
        }
        for (size_t i = 0; i < got; i++) {
            freed += vigil__pg_int64(gone, (int)i, 1);
            if (!(paths[i] = strdup(PQgetvalue(gone, (int)i, 0)))) {
                vigil__store_paths_free(paths, i);
                paths = NULL;
                err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM,
                                   "size sweep: out of memory");
                goto fail;
            }
        }
    }
    if ((err = vigil__pg_commit(pg, errstr, errstr_size))) {
        vigil__store_paths_free(paths, got);
        paths = NULL;
        goto fail;
    }
    /* rows another sweeper took meanwhile are not ours: a short batch then
     * only means "look again", which the caller does while bytes remain */
    *paths_out = paths;
    *n_out = got;
    *freed_out = freed;
    PQclear(victims);
    PQclear(gone);
    free(ids);
    vigil__pg_params_release(&p);
    return VIGIL_OK;
fail:
    vigil__pg_rollback(pg);
    PQclear(victims);
    PQclear(gone);
    free(ids);
    vigil__pg_params_release(&p);
    return err;
}

const vigil__store_retention_ops_t vigil__pg_retention_ops = {
    .frame_usage = pgt_frame_usage,
    .sweep_frames_bytes = pgt_sweep_frames_bytes,
};
