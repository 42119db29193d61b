/* The retention-by-size half of the backend interface (store.h, "retention
 * by size"): what a backend implements so that store_retention.c can keep
 * the frame store within its budgets. store_retention.c checks the
 * arguments, decides how many bytes go from where, removes the files and
 * counts the operations; a backend (sqlite_retention.c, postgres_retention.c)
 * only runs its statements.
 *
 * Every function fills errstr (may be NULL) on failure. */
#ifndef VIGIL_STORE_RETENTION_INT_H
#define VIGIL_STORE_RETENTION_INT_H

#include "store/store_int.h"

#define VIGIL__STORE_USAGE_ROWS_MAX 10000

/* Which frames events need (store.h): an event that is open, or that ended
 * at or after events_ended_before_us, needs its snapshot frame and the
 * frames of its camera captured in [start_us - preroll_us, end_us +
 * postroll_us] (open: [start_us - preroll_us, +inf)). */
typedef struct vigil__frame_protect {
    int64_t preroll_us, postroll_us;
    int64_t events_ended_before_us;
} vigil__frame_protect_t;

typedef struct vigil__store_retention_ops {
    /* Frames and bytes per camera with frames (the running totals, not a
     * scan of the frames), ordered by camera id, at most max rows. *rows
     * malloc'd. */
    vigil_err_t (*frame_usage)(vigil_store_t *store, size_t max, vigil_frame_usage_t **rows,
                               size_t *n, char *errstr, size_t errstr_size);
    /* In one transaction: deletes the oldest frame rows (by capture time,
     * then id) of camera_id (NULL = every camera) that no event needs
     * (protect), one after another until their size_bytes add up to at
     * least `bytes` or `limit` rows went, and hands back their paths
     * (*paths malloc'd array of malloc'd strings, vigil__store_paths_free)
     * and *freed, the bytes of the rows deleted. *n < limit with *freed <
     * bytes: no more frame may go. */
    vigil_err_t (*sweep_frames_bytes)(vigil_store_t *store, const char *camera_id, int64_t bytes,
                                      const vigil__frame_protect_t *protect, size_t limit,
                                      char ***paths, size_t *n, int64_t *freed, char *errstr,
                                      size_t errstr_size);
} vigil__store_retention_ops_t;

#endif
