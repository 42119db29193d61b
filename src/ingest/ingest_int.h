/* Internals shared by the ingest stage's files:
 *   ingest.c   the stage object: camera list, life cycle, state, events
 *   camera.c   one camera's thread: open with backoff, sample, pace, encode, publish
 *   control.c  distributed mode: cameras from topic control, split among instances
 *
 * Locking: one mutex per stage (ingest->lock) guards the camera list and
 * every camera's `state`, `src` and `done`. The camera thread holds it only
 * for those short updates, never across FFmpeg or bus calls. */
#ifndef VIGIL_INGEST_INT_H
#define VIGIL_INGEST_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "vigil/config.h"
#include "vigil/image.h"
#include "vigil/metrics.h"
#include "vigil/source.h"
#include "vigil/stages.h"

#define INGEST_STAGE "ingest"

typedef struct vigil__camera {
    struct vigil_ingest *ingest;
    vigil_camera_conf_t conf; /* own copies of name and url */
    pthread_t thread;
    int joinable; /* a thread runs or ran and is not joined (controller thread only) */
    int started;  /* ever started: counts for vigil_ingest_finished() (under lock) */
    int controlled; /* started by a control command (control.c), not configured (under lock) */
    atomic_int stop;

    /* under ingest->lock */
    vigil_source_t *src; /* the open source, so stop can interrupt a blocked read */
    vigil_camera_state_t state;
    int done; /* ended for good (a file reached its end) */
    uint64_t event_count;

    /* camera thread only */
    vigil_stage_metrics_t m;
    vigil_histogram_t *publish_wait; /* per frame: waiting for room on topic frames */
    uint64_t seq_base, seq_count;
    vigil_jpeg_t *jpeg;
} vigil__camera_t;

struct vigil_ingest {
    const vigil_config_t *cfg;
    vigil_bus_t *bus;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* CLOCK_MONOTONIC; broadcast when a camera is told to stop */
    vigil__camera_t **cameras;
    size_t ncameras, cap;
    int started;
    struct vigil__control *control; /* control follower (made by _new, run by _start) */
};

typedef struct vigil__control vigil__control_t;

/* The follower of topic control (control.c), in two steps: _new joins the
 * table's consumer group (from then on the bus keeps what control receives
 * for it), _run starts the thread; _start is both. Controlling thread. */
vigil_err_t vigil__control_new(vigil_ingest_t *ing, vigil__control_t **out, char *errstr,
                               size_t errstr_size);
vigil_err_t vigil__control_run(vigil__control_t *ctl);
vigil_err_t vigil__control_start(vigil_ingest_t *ing, vigil__control_t **out);
/* Stops the cameras it started, leaves group "ingest", joins and frees it. */
void vigil__control_stop(vigil__control_t *ctl);
/* Reads topic control to its end (at most 10 s) on the calling thread, before
 * _run: the stage then knows which static cameras were switched off. */
void vigil__control_catch_up(vigil__control_t *ctl);
/* Whether static camera conf should run: a last command stop (0) or start
 * (1) for its id, else its `enabled`. After catch_up, before _run. */
int vigil__control_static_want(vigil__control_t *ctl, const vigil_camera_conf_t *conf);

/* Starts (run = 1) or stops (run = 0) the configured camera id, which stays
 * in the list either way; nothing if it already is so, if id is not a
 * configured camera, or if the stage is not started. A stop joins the
 * camera's thread (it publishes camera.stopped). The control thread. */
void vigil__ingest_static_run(vigil_ingest_t *ing, const char *id, int run);

/* The camera thread (camera.c). arg is the vigil__camera_t. */
void *vigil__camera_main(void *arg);

/* Sets the camera's status (and last_error if error is not NULL); on a change
 * of status, or of the error while retrying, publishes a "camera.<status>"
 * event. Camera thread. Takes the lock. */
void vigil__camera_set_state(vigil__camera_t *cam, const char *status, const char *error);

/* Sleeps up to us microseconds, waking early when the camera is told to stop.
 * Returns 1 if the full time passed, 0 if stopping. Takes the lock. */
int vigil__camera_sleep(vigil__camera_t *cam, int64_t us);

static inline int vigil__camera_stopping(vigil__camera_t *cam)
{
    return atomic_load(&cam->stop) != 0;
}

#endif
