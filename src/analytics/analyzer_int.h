/* The analyzer's layout, shared by its files (not by the stage):
 *   analyzer.c   lifecycle, labels, the per-frame pipeline, occupancy
 *   tracker.c    tracks: prediction, two-stage association, birth and death
 *   rules.c      zones and lines: geometry, per-track state, their events
 *   events.c     event slots, reports, count buckets, occupancy table
 *   checkpoint.c save / load (proto/vigil/v1/analytics.proto)
 *
 * Bounds (each documented where it bites):
 *   VIGIL__ANA_DETS_MAX    detections considered per frame; the rest are rejected
 *   VIGIL__ANA_TRACKS_MAX  live tracks (tentative + confirmed) per camera; at the
 *                          bound, unmatched detections start no track
 *   VIGIL__ANA_LABELS_MAX  distinct labels per camera; detections of a new label
 *                          beyond it are rejected
 *   VIGIL__ANA_MIN_HITS_MAX  largest min_hits (tentative history length)
 *   VIGIL__ANA_BUCKETS_MAX count buckets kept (the oldest minute goes first)
 *
 * Memory: every array grows on demand and is reused across frames; after
 * warm-up a frame allocates nothing. Out of memory inside a frame makes
 * vigil_analyzer_frame return VIGIL_ERR_NOMEM after finishing the frame as
 * far as it could (some reports may be missing): the caller should drop the
 * analyzer and reload it from its checkpoint. */
#ifndef VIGIL_ANALYTICS_ANALYZER_INT_H
#define VIGIL_ANALYTICS_ANALYZER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "analytics/kalman.h"
#include "analytics/lap.h"
#include "vigil/analytics.h"

#define VIGIL__ANA_DETS_MAX 4096
#define VIGIL__ANA_TRACKS_MAX 2048
#define VIGIL__ANA_LABELS_MAX 1024
#define VIGIL__ANA_MIN_HITS_MAX 30
#define VIGIL__ANA_BUCKETS_MAX 4096
#define VIGIL__ANA_MINUTE_US INT64_C(60000000)
/* buckets of minutes this far before the current frame's are dropped */
#define VIGIL__ANA_BUCKET_KEEP_US (10 * VIGIL__ANA_MINUTE_US)
#define VIGIL__ANA_CHECKPOINT_VERSION 1

enum { VIGIL__TRK_TENTATIVE = 1, VIGIL__TRK_TRACKED = 2, VIGIL__TRK_LOST = 3 };

/* The frame and box an event shows. */
typedef struct vigil__snap {
    float score;
    float box[4];
    uint64_t seq;
    int64_t frame_id;
} vigil__snap_t;

/* One detection matched to a track in one frame. */
typedef struct vigil__obs {
    uint64_t seq;
    int64_t time_us;
    int64_t frame_id;
    float box[4];
    float score;
    int label;
} vigil__obs_t;

/* One track x one zone. */
typedef struct vigil__zstate {
    uint8_t inside;        /* believed inside */
    uint16_t streak;       /* consecutive seen frames contradicting the belief */
    int32_t enter_ev;      /* open zone_enter's slot, -1 none (open iff inside) */
    int32_t loiter_ev;     /* open loiter's slot, -1 none */
    uint64_t streak_seq;   /* first frame of the streak */
    int64_t streak_us;
    vigil__snap_t streak_best; /* best-scoring frame of the streak */
} vigil__zstate_t;

/* One track x one line. */
typedef struct vigil__lstate {
    int8_t armed;     /* side it was last seen beyond the hysteresis on: -1, 0 (never), +1 */
    int8_t last_side; /* side of last_x,y (0: none yet) */
    uint8_t xing_ok;  /* its last change of side crossed the segment itself */
    double last_x, last_y; /* normalised anchor, last seen off the line */
} vigil__lstate_t;

typedef struct vigil__track {
    uint64_t id; /* 0 while tentative */
    int state;   /* VIGIL__TRK_* */
    int label;
    int hits;    /* consecutive matched frames (saturates at min_hits) */
    vigil__kf_t kf;
    int64_t kf_time_us; /* time the filter's state is for */
    vigil__obs_t last;  /* last matched detection */
    /* this frame */
    int det;        /* matched detection (index into a->dets) or -1 */
    int confirmed_now;
    float pbox[4];  /* predicted box, buffered (matching) */
    vigil__zstate_t z[VIGIL_ZONES_MAX];
    vigil__lstate_t l[VIGIL_LINES_MAX];
    int nhist;          /* tentative tracks: their matched detections, oldest first */
    vigil__obs_t hist[VIGIL__ANA_MIN_HITS_MAX];
} vigil__track_t;

typedef struct vigil__zone {
    vigil_zone_conf_t conf;
    double minx, miny, maxx, maxy; /* polygon's bounding box */
} vigil__zone_t;

typedef struct vigil__line {
    vigil_line_conf_t conf;
    double dx, dy, len, len2; /* B - A */
} vigil__line_t;

typedef struct vigil__label {
    char name[VIGIL_LABEL_MAX];
    uint32_t zmask, lmask; /* zones / lines whose label filter lets it through */
} vigil__label_t;

/* An open zone_enter or loiter. */
typedef struct vigil__event {
    int kind; /* 0: free slot */
    int label;
    int zone;
    uint64_t track_id;
    uint64_t start_seq;
    int64_t start_us;
    vigil__snap_t snap;
    uint64_t out_seq; /* frame whose out->events holds its report at out_idx */
    size_t out_idx;
} vigil__event_t;

typedef struct vigil__bucket {
    int64_t minute_us;
    int is_line;
    int rule;
    int label;
    int64_t entered, peak, in, out;
    uint64_t out_seq;
    size_t out_idx;
} vigil__bucket_t;

/* Occupancy of one zone and label = its open zone_enter events. Sorted by
 * (zone, label); rows at 0 are removed. */
typedef struct vigil__occ {
    int zone;
    int label;
    int64_t count;
} vigil__occ_t;

/* A detection that passed the checks, this frame. */
typedef struct vigil__det {
    float box[4];
    float ebox[4]; /* buffered */
    float score;
    int label;
    int input;  /* index in the caller's array */
    int track;  /* matched track (index into a->tracks) or -1 */
} vigil__det_t;

struct vigil_analyzer {
    char camera_id[VIGIL_CAMERA_ID_MAX];
    vigil_tracker_conf_t conf;
    vigil__zone_t zones[VIGIL_ZONES_MAX];
    size_t nzones;
    vigil__line_t lines[VIGIL_LINES_MAX];
    size_t nlines;

    uint64_t last_seq;
    int64_t last_time_us;
    uint64_t next_track_id;

    vigil__label_t *labels;
    size_t nlabels, caplabels;
    int32_t *label_hash; /* open addressing, VIGIL__ANA_LABEL_HASH slots, -1 empty */

    vigil__track_t **tracks; /* in creation order */
    size_t ntracks, captracks;
    vigil__track_t **spare; /* freed tracks, reused */
    size_t nspare, capspare;

    vigil__event_t *ev; /* slots */
    size_t nev, capev;
    int32_t *ev_free;
    size_t nev_free, capev_free;
    vigil_analytics_event_t *pending; /* closed by set_rules / load, reported next frame */
    size_t npending, cappending;

    vigil__bucket_t *buckets; /* in creation order */
    size_t nbuckets, capbuckets;
    vigil__occ_t *occ;
    size_t nocc, capocc;

    /* this frame */
    const vigil_analytics_frame_t *frame;
    int oom;
    vigil__det_t *dets;
    size_t ndets, capdets;
    float *cost;
    size_t capcost;
    int *iscratch; /* rows, row_match, cols, col_match of one association */
    size_t capiscratch;
    int *rows, *cols, *row_match, *col_match;
    vigil__lap_t lap;

    /* outputs */
    int64_t *det_track;
    size_t capdet_track;
    vigil_track_point_t *points;
    size_t npoints, cappoints;
    vigil_analytics_event_t *out_ev;
    size_t nout_ev, capout_ev;
    vigil_count_bucket_t *out_counts;
    size_t nout_counts, capout_counts;
};

#define VIGIL__ANA_LABEL_HASH 2048 /* > 2 * VIGIL__ANA_LABELS_MAX, power of two */

/* analyzer.c */
/* Grows *p (elements of elem bytes) to hold need; 0, or -1 out of memory. */
int vigil__ana_reserve(void **p, size_t *cap, size_t need, size_t elem);
/* The id of a label, interned if new; -1 if the table is full or name is bad. */
int vigil__ana_label(vigil_analyzer_t *a, const char *name);
/* Recomputes every label's zone / line masks (after the rules changed). */
void vigil__ana_label_masks(vigil_analyzer_t *a);
/* Validates and installs rules; on error nothing changes. Keeps the per-track
 * state of rules whose id stays and closes the events of those that go. */
vigil_err_t vigil__ana_set_rules(vigil_analyzer_t *a, const vigil_zone_conf_t *zones,
                                 size_t nzones, const vigil_line_conf_t *lines, size_t nlines,
                                 char *errstr, size_t errstr_size);
vigil_err_t vigil__ana_check_conf(const vigil_tracker_conf_t *conf, char *errstr,
                                  size_t errstr_size);
vigil_analyzer_t *vigil__ana_alloc(const char *camera_id, const vigil_tracker_conf_t *conf,
                                   char *errstr, size_t errstr_size);
vigil__track_t *vigil__ana_track_alloc(vigil_analyzer_t *a);
void vigil__ana_track_free(vigil_analyzer_t *a, vigil__track_t *t);

/* tracker.c: one frame's tracking. Fills a->dets[].track, runs the zone and
 * line logic of every confirmed track seen (through rules.c) and emits points. */
void vigil__trk_frame(vigil_analyzer_t *a);
/* Fresh zone and line states of a track. */
void vigil__trk_reset_rules(vigil__track_t *t);

/* rules.c */
/* Zone and line logic of confirmed track t for one observation. */
void vigil__rules_observe(vigil_analyzer_t *a, vigil__track_t *t, const vigil__obs_t *o);
/* Closes t's open events (track removed; end = last seen). */
void vigil__rules_track_gone(vigil_analyzer_t *a, vigil__track_t *t);
int vigil__zone_contains(const vigil__zone_t *z, double x, double y);
void vigil__anchor(int anchor, const float box[4], int width, int height, double *x, double *y);

/* events.c */
/* A new open event slot (index), -1 out of memory. */
int vigil__ev_open(vigil_analyzer_t *a, int kind, const vigil__track_t *t, int zone,
                   uint64_t start_seq, int64_t start_us, const vigil__snap_t *snap);
/* Reports slot i as it stands (updated_sequence = this frame). */
void vigil__ev_report(vigil_analyzer_t *a, int i);
/* Reports slot i closed at (end_seq, end_us) and frees it. */
void vigil__ev_close(vigil_analyzer_t *a, int i, uint64_t end_seq, int64_t end_us);
/* Renders slot i as a public event, closed at end if end_seq. */
void vigil__ev_render(const vigil_analyzer_t *a, int i, uint64_t end_seq, int64_t end_us,
                      vigil_analytics_event_t *e);
void vigil__ev_free_slot(vigil_analyzer_t *a, int i);
/* Reports an instant event (zone_leave, line_cross) at o. */
void vigil__ev_instant(vigil_analyzer_t *a, int kind, const vigil__track_t *t, int rule,
                       int direction, const vigil__obs_t *o);
/* Appends a report to out->events. */
void vigil__ev_out(vigil_analyzer_t *a, const vigil_analytics_event_t *e);
/* Count bucket of (minute of time_us, rule, label), created if new; NULL out
 * of memory. */
vigil__bucket_t *vigil__bucket_get(vigil_analyzer_t *a, int64_t time_us, int is_line, int rule,
                                   int label);
/* Reports bucket b as changed. */
void vigil__bucket_report(vigil_analyzer_t *a, vigil__bucket_t *b);
/* Adds delta to the occupancy of (zone, label). */
void vigil__occ_add(vigil_analyzer_t *a, int zone, int label, int delta);
/* This frame's peaks, and the dropping of old buckets. */
void vigil__buckets_frame(vigil_analyzer_t *a);
int64_t vigil__minute(int64_t time_us);
void vigil__snap_of(const vigil__obs_t *o, vigil__snap_t *s);

#endif
