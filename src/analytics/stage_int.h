/* Internals of the analytics stage (stage.c, stage_batch.c, stage_rules.c).
 *
 * Main idea: one worker thread, member of consumer group "analytics" on the
 * detections topic. Each camera it sees gets a `stage_cam_t` with the
 * camera's analyzer (loaded from the camera's checkpoint in the warehouse, or
 * new) and the outputs collected since the last commit. Messages are held,
 * not acknowledged, until a commit writes, in ONE store transaction, every
 * dirty camera's events, count buckets, track points and checkpoint (the
 * analyzer's state and the last sequence it covers). Only then are the held
 * messages acknowledged and the events published on topic events.
 *
 * Exactly once: a message is acknowledged only after the state that covers
 * it is committed, so whatever was not covered comes again to whoever owns
 * the partition next (this process after a failed commit, another worker
 * after a kill or rebalance). That owner loads the checkpoint and skips what
 * it covers (sequence <= last_sequence); processing is deterministic, so
 * replaying the rest writes the same rows, which the store's upserts keep
 * once. Checkpoints never roll back (the store keeps the larger sequence).
 *
 * Live views: each analysed frame's boxes with their track ids go out at
 * once on topic tracks (publish_tracks in stage.c), before the commit, so
 * that the live views are not held back by analytics.flush_ms. They are not
 * part of the exactly-once output: a replay publishes the same frames again
 * (with the same ids: processing is deterministic), and the live hub keeps
 * only frames newer than the last one it took per camera; a frame a full
 * bus cannot take is skipped, never waited for.
 *
 * Thread: everything here runs on the worker thread, except the rebalance
 * callback, which runs on it too (inside vigil_consumer_poll). */
#ifndef VIGIL_ANALYTICS_STAGE_INT_H
#define VIGIL_ANALYTICS_STAGE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/analytics.h"
#include "vigil/bus.h"
#include "vigil/log.h"
#include "vigil/metrics.h"
#include "vigil/store.h"
#include "vigil/workers.h"

#define VIGIL__AN_STAGE "analytics"
#define VIGIL__AN_CAMERAS_MAX 1024 /* limits.max_cameras when unset */
#define DETS_MAX 4096              /* detections of one message handed to the analyzer */

typedef struct stage_cam {
    struct stage_cam *next;
    char id[VIGIL_CAMERA_ID_MAX];
    int32_t partition; /* of its detections; -1 before the first message */
    vigil_analyzer_t *analyzer; /* NULL until its first message (then loaded) */
    uint64_t skip_through;      /* sequences <= this are covered by the checkpoint */
    vigil_rules_t rules;        /* the rules in force (from the config or topic control) */
    int rules_from_control;
    size_t ntracks; /* confirmed tracks alive after its last frame */
    int64_t seen_us; /* monotonic time of its last detections message */
    /* collected since the last commit */
    int dirty;
    vigil_analytics_event_t *events; /* latest report per event key */
    size_t nevents, capevents;
    vigil_track_point_t *points;
    size_t npoints, cappoints;
    vigil_count_bucket_t *counts; /* latest value per bucket key */
    size_t ncounts, capcounts;
} stage_cam_t;

struct vigil_analytics {
    const vigil_config_t *cfg;
    vigil_bus_t *bus;
    vigil_tracker_conf_t tconf;
    vigil_workers_t thread;
    vigil_consumer_t *consumer; /* group "analytics", topic detections */
    vigil_consumer_t *control;  /* a group of its own on topic control: rule changes */
    vigil_store_t *store;
    stage_cam_t *cams;
    size_t ncams;
    int64_t swept_us; /* last look for idle cameras */
    /* held messages, acknowledged after the next commit */
    vigil_bus_msg_t **held;
    size_t nheld, capheld;
    int64_t first_held_us;
    int release_held; /* a commit failed where held messages could not be released */
    int64_t backoff_us; /* wait after a retriable failure: doubles up to 5 s */
    vigil_log_limit_t commit_log; /* repeated commit failures, one record per 10 s */
    vigil_analytics_det_t *dets; /* DETS_MAX, the analyzer's input */
    /* metrics */
    vigil_stage_metrics_t m;
    int64_t lag_reported;
    vigil_counter_t *rejected;   /* detections the analyzer skipped as invalid */
    vigil_counter_t *commits;
    vigil_counter_t *events_by_kind[5];
    vigil_gauge_t *tracks;
    /* topic tracks (live views): frames published, and not (bus full) */
    vigil_counter_t *live_published, *live_skipped;
    vigil_log_limit_t live_log;
};

/* stage_batch.c */
/* Adds one frame's outputs to the camera's pending batch. */
vigil_err_t vigil__an_collect(stage_cam_t *cam, const vigil_analytics_out_t *out);
/* Writes every dirty camera's batch and checkpoint in one transaction. On
 * success acknowledges the held messages and publishes the events. When the
 * store refuses the batch (VIGIL_ERR_CLASS_REFUSED: a replay would be
 * refused again), each camera's batch is written on its own, and a camera
 * whose batch is refused loses that batch: logged, counted failed, its
 * state forgotten (reloaded from its last checkpoint), its frames
 * acknowledged. On a retriable or fatal failure the held messages are
 * released (they come again) and the dirty cameras' state is forgotten.
 * Returns the error (VIGIL_OK once a refused batch has been dealt with).
 * `ack`: 0 inside the rebalance callback, where the consumer must not be
 * called (the held messages stay held and are settled by the next commit). */
vigil_err_t vigil__an_commit(vigil_analytics_t *an, int ack);
/* Drops the pending outputs of a camera. */
void vigil__an_cam_clear(stage_cam_t *cam);

/* stage_rules.c */
/* Frees every camera entry. */
void vigil__an_cams_free(vigil_analytics_t *an);
/* Reads topic control from the beginning with a group of its own. */
vigil_err_t vigil__an_control_open(vigil_analytics_t *an, char *errstr, size_t errstr_size);
/* Applies what came on topic control; waits up to timeout_ms. 1 if a message came. */
int vigil__an_control_poll(vigil_analytics_t *an, int timeout_ms);
/* The camera's entry, created (with the config's rules) if new. NULL when
 * limits.max_cameras cameras are followed and none is idle, or out of memory. */
stage_cam_t *vigil__an_cam_get(vigil_analytics_t *an, const char *camera_id);
/* Forgets the cameras that sent nothing for limits.camera_forget_s (their
 * state is in their checkpoints: a camera that comes back is reloaded).
 * Looked at once a second, or now when `force`; never a camera with
 * uncommitted outputs. */
void vigil__an_forget_idle(vigil_analytics_t *an, int64_t now, int force);

#endif
