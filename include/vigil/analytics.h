/* Analytics: what happened, from what the model saw (docs/analytics.md).
 *
 * Two layers:
 *  - the analyzer (vigil_analyzer_t): one camera's state, pure computation.
 *    It takes one frame's detections at a time (in sequence order), tracks
 *    objects (ByteTrack-class: Kalman filter, two-stage association with
 *    optimal assignment, confirmation after N hits, a lost-track buffer),
 *    applies the camera's zones and lines, and reports tracked boxes, events
 *    and per-minute counts. Its whole state can be saved to a checkpoint and
 *    loaded back; processing is deterministic (it depends on the detections
 *    and the state only, never on the wall clock), so a camera restored from
 *    a checkpoint and fed the same detections produces the same tracks,
 *    events and counts as an undisturbed run.
 *  - the stage (vigil_analytics_t): detections topic -> analyzers -> the
 *    warehouse (events, counts, track points, checkpoints in one transaction)
 *    and the events topic.
 *
 * Thread: an analyzer is used by one thread at a time; the stage's
 * functions are called from one controlling thread. */
#ifndef VIGIL_ANALYTICS_H
#define VIGIL_ANALYTICS_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/bus.h"
#include "vigil/config.h"
#include "vigil/err.h"

/* ---- tracker parameters ------------------------------------------------- */
typedef struct vigil_tracker_conf {
    float high_score;       /* default 0.35 */
    float low_score;        /* default 0.1; detections below are ignored */
    float new_track_score;  /* default 0.4 */
    float match_iou;        /* default 0.2 */
    float low_match_iou;    /* default 0.4 */
    float buffer;           /* default 0.3 */
    int min_hits;           /* default 3 */
    double lost_seconds;    /* default 3 */
    int per_class;          /* default 1 */
} vigil_tracker_conf_t;

void vigil_tracker_conf_init(vigil_tracker_conf_t *conf);
/* The analytics.* settings of cfg. */
void vigil_tracker_conf_from_config(vigil_tracker_conf_t *conf, const vigil_config_t *cfg);

/* ---- inputs -------------------------------------------------------------- */
typedef struct vigil_analytics_frame {
    uint64_t sequence;  /* per camera, increasing */
    int64_t time_us;    /* capture time */
    int64_t frame_id;   /* warehouse id of the stored frame; 0 = unknown */
    int width, height;  /* frame pixels; boxes are in these */
} vigil_analytics_frame_t;

typedef struct vigil_analytics_det {
    float x1, y1, x2, y2; /* frame pixels */
    float score;          /* 0..1 */
    const char *label;    /* borrowed for the call */
} vigil_analytics_det_t;

/* ---- outputs ------------------------------------------------------------- */
typedef enum vigil_event_kind {
    VIGIL_EVENT_ZONE_ENTER = 1, /* open while the track is in the zone; closed when it leaves or
                                 * is lost */
    VIGIL_EVENT_ZONE_LEAVE = 2, /* instant: start = end = when leaving was believed */
    VIGIL_EVENT_LOITER = 3,     /* raised when a track has been inside loiter_seconds; start =
                                 * when it entered; open until it leaves or is lost */
    VIGIL_EVENT_LINE_CROSS = 4, /* instant, with a direction */
} vigil_event_kind_t;

typedef enum vigil_direction {
    VIGIL_DIR_NONE = 0,
    VIGIL_DIR_IN = 1,
    VIGIL_DIR_OUT = 2,
} vigil_direction_t;

/* "zone_enter", "zone_leave", "loiter", "line_cross"; NULL for others. */
const char *vigil_event_kind_name(int kind);
/* The kind of a name, 0 if unknown. */
int vigil_event_kind_parse(const char *name);
/* "in", "out", "" */
const char *vigil_direction_name(int direction);
/* The direction of a name ("" is VIGIL_DIR_NONE), -1 if unknown. */
int vigil_direction_parse(const char *name);

/* An event as it stands after a frame. The key (camera, kind, track, zone or
 * line, start_sequence) identifies it; an open event is reported again each
 * time it changes (end, snapshot, peak score), and once more when it closes,
 * with the same key. */
typedef struct vigil_analytics_event {
    int kind;                      /* vigil_event_kind_t */
    char camera_id[VIGIL_CAMERA_ID_MAX];
    char label[VIGIL_LABEL_MAX];
    uint64_t track_id;
    char zone[VIGIL_RULE_ID_MAX];  /* "" for line events */
    char line[VIGIL_RULE_ID_MAX];  /* "" for zone events */
    int direction;                 /* vigil_direction_t; line_cross only */
    uint64_t start_sequence;       /* frame sequence where it started */
    int64_t start_us;
    int64_t end_us;                /* 0 while open */
    uint64_t end_sequence;         /* 0 while open */
    int open;
    int64_t snapshot_frame_id;     /* the stored frame of the track's best score in the event */
    uint64_t snapshot_sequence;
    float peak_score;
    float x1, y1, x2, y2;          /* the box at the snapshot, frame pixels */
    uint64_t updated_sequence;     /* the frame that produced this report: of two reports of one
                                    * event, the one with the larger value is the newer */
} vigil_analytics_event_t;

/* One confirmed track's box in one frame (the detection it matched). */
typedef struct vigil_track_point {
    uint64_t track_id;
    uint64_t sequence;
    int64_t time_us;
    int64_t frame_id;
    char label[VIGIL_LABEL_MAX];
    float score;
    float x1, y1, x2, y2;
} vigil_track_point_t;

/* Per-minute counts of one camera x zone or line x label. Cumulative within
 * the minute: a later report of the same key carries values >= the earlier
 * one's, so a writer may keep the largest (idempotent under replays). */
typedef struct vigil_count_bucket {
    int64_t minute_us;             /* start of the minute (UTC), microseconds */
    char zone[VIGIL_RULE_ID_MAX];  /* exactly one of zone, line is set */
    char line[VIGIL_RULE_ID_MAX];
    char label[VIGIL_LABEL_MAX];
    int64_t entered;               /* zones: zone_enter events started in the minute */
    int64_t peak;                  /* zones: most tracks of the label inside at once */
    int64_t in, out;               /* lines: crossings per direction */
} vigil_count_bucket_t;

/* What one frame produced. Arrays are owned by the analyzer and valid until
 * its next call; vigil_analyzer_frame resets them. */
typedef struct vigil_analytics_out {
    const int64_t *det_track;            /* per input detection: its confirmed track id, or 0 */
    const vigil_track_point_t *points;   /* boxes of confirmed tracks in this frame, plus, when a
                                          * track is confirmed, its earlier (tentative) boxes */
    size_t npoints;
    const vigil_analytics_event_t *events; /* events started, changed or closed by this frame */
    size_t nevents;
    const vigil_count_bucket_t *counts;  /* buckets changed by this frame */
    size_t ncounts;
    size_t ntracks;                      /* confirmed tracks alive (seen or lost) */
} vigil_analytics_out_t;

/* Current occupancy of one zone and label. */
typedef struct vigil_zone_occupancy {
    char zone[VIGIL_RULE_ID_MAX];
    char label[VIGIL_LABEL_MAX];
    int64_t count;
} vigil_zone_occupancy_t;

/* ---- the analyzer -------------------------------------------------------- */
typedef struct vigil_analyzer vigil_analyzer_t;

/* A new camera state. zones/lines are copied (each already checked by
 * vigil_zone_conf_check / vigil_line_conf_check; duplicate ids are an
 * error). The first confirmed track gets id 1
 * (vigil_analyzer_set_next_track_id continues a camera after its largest id).
 * NULL on failure with errstr. */
vigil_analyzer_t *vigil_analyzer_new(const char *camera_id, const vigil_tracker_conf_t *conf,
                                     const vigil_zone_conf_t *zones, size_t nzones,
                                     const vigil_line_conf_t *lines, size_t nlines,
                                     char *errstr, size_t errstr_size);
void vigil_analyzer_free(vigil_analyzer_t *a);

/* Replaces the zones and lines (effective from the next frame). A zone or
 * line whose id stays keeps its state (who is inside, which side tracks are
 * on); one that goes away closes its open events (reported by the next
 * vigil_analyzer_frame); a new one starts empty. */
vigil_err_t vigil_analyzer_set_rules(vigil_analyzer_t *a, const vigil_zone_conf_t *zones,
                                     size_t nzones, const vigil_line_conf_t *lines, size_t nlines,
                                     char *errstr, size_t errstr_size);

/* Processes one frame's detections. Detections with a NaN/inf coordinate or
 * score, a score outside 0..1, a negative or empty box, or no label are
 * skipped (counted in *rejected, may be NULL; their det_track is 0).
 * A frame whose sequence is not greater than the last one processed is
 * refused with VIGIL_ERR_INVALID (a duplicate or out-of-order delivery),
 * and nothing changes (sequences start at 1: before the first frame the last
 * one is 0); *out is then left empty. */
vigil_err_t vigil_analyzer_frame(vigil_analyzer_t *a, const vigil_analytics_frame_t *frame,
                                 const vigil_analytics_det_t *dets, size_t ndets,
                                 vigil_analytics_out_t *out, size_t *rejected);

/* The last sequence processed (0 before the first frame). */
uint64_t vigil_analyzer_last_sequence(const vigil_analyzer_t *a);
/* The id the next confirmed track will get. */
uint64_t vigil_analyzer_next_track_id(const vigil_analyzer_t *a);
/* Makes the next confirmed track get id next_id: how a camera that starts
 * afresh (no usable checkpoint) continues after the largest id it ever
 * used, the "first_track_id" of vigil_analyzer_new. Ids never go back:
 * next_id below vigil_analyzer_next_track_id(a) (or 0) is refused with
 * VIGIL_ERR_INVALID and changes nothing. */
vigil_err_t vigil_analyzer_set_next_track_id(vigil_analyzer_t *a, uint64_t next_id);
const char *vigil_analyzer_camera(const vigil_analyzer_t *a);

/* Current occupancy per zone and label (confirmed tracks believed inside,
 * i.e. open zone_enter events: a lost track counts until it is removed).
 * *rows is malloc'd (free it). */
vigil_err_t vigil_analyzer_occupancy(const vigil_analyzer_t *a, vigil_zone_occupancy_t **rows,
                                     size_t *n);

/* Saves the whole state (tracks with their filters, zone and line state,
 * open events, current count buckets, last sequence, next track id) into a
 * malloc'd buffer. The rules are not saved: the loader is given them. */
vigil_err_t vigil_analyzer_save(const vigil_analyzer_t *a, uint8_t **buf, size_t *len);

/* Restores a state saved by vigil_analyzer_save with the given rules (state
 * of zones and lines that no longer exist is dropped). A buffer that is
 * corrupt, of another camera, or of a newer checkpoint schema is refused
 * with VIGIL_ERR_DECODE and a reason in errstr. */
vigil_analyzer_t *vigil_analyzer_load(const char *camera_id, const vigil_tracker_conf_t *conf,
                                      const vigil_zone_conf_t *zones, size_t nzones,
                                      const vigil_line_conf_t *lines, size_t nlines,
                                      const uint8_t *buf, size_t len, char *errstr,
                                      size_t errstr_size);

/* ---- rules as JSON (control topic, API) ----------------------------------
 * {"zones":[{"id":..,"polygon":[[x,y],..],"labels":[..],"min_score":..,
 *   "loiter_seconds":..,"inertia":..,"anchor":"bottom_center"}],
 *  "lines":[{"id":..,"points":[[x,y],[x,y]],"labels":[..],"min_score":..,
 *   "hysteresis":..,"anchor":..}]}
 * Same fields and checks as the YAML config. */
typedef struct vigil_rules {
    vigil_zone_conf_t *zones;
    size_t nzones;
    vigil_line_conf_t *lines;
    size_t nlines;
} vigil_rules_t;

/* Parses and checks; on failure errstr names the field ("zones[1].polygon:
 * ..."). *rules is filled on success (free with vigil_rules_release). */
vigil_err_t vigil_rules_from_json(const char *json, size_t len, vigil_rules_t *rules,
                                  char *errstr, size_t errstr_size);
/* malloc'd JSON text of the rules. */
char *vigil_rules_to_json(const vigil_zone_conf_t *zones, size_t nzones,
                          const vigil_line_conf_t *lines, size_t nlines);
void vigil_rules_release(vigil_rules_t *rules);

/* ---- the stage ----------------------------------------------------------- */
typedef struct vigil_analytics vigil_analytics_t;

/* cfg must outlive the stage. Consumer group "analytics" on topic
 * detections; follows topic control for rule changes. */
vigil_analytics_t *vigil_analytics_new(const vigil_config_t *cfg, vigil_bus_t *bus, char *errstr,
                                       size_t errstr_size);
vigil_err_t vigil_analytics_start(vigil_analytics_t *an);
void vigil_analytics_stop(vigil_analytics_t *an);
void vigil_analytics_free(vigil_analytics_t *an);

#endif
