/* Helpers shared by the analytics unit tests (analytics_support.c): scenes
 * on a 1000 x 1000 frame at 5 fps, rules built by hand, and lookups in an
 * analyzer's output. */
#ifndef VIGIL_TEST_ANALYTICS_SUPPORT_H
#define VIGIL_TEST_ANALYTICS_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/analytics.h"

#define AT_W 1000
#define AT_H 1000
#define AT_T0 ((int64_t)1795239060 * 1000000) /* on a minute */
#define AT_STEP_US 200000                      /* 5 fps */

/* A box of w x h whose bottom centre is at (x, y) pixels. */
vigil_analytics_det_t at_det(double x, double y, double w, double h, float score,
                             const char *label);

/* Runs frame `seq` at AT_T0 + (seq - 1) * AT_STEP_US; asserts VIGIL_OK. */
void at_frame(vigil_analyzer_t *a, uint64_t seq, const vigil_analytics_det_t *dets, size_t n,
              vigil_analytics_out_t *out);
/* Same at an explicit time. */
void at_frame_at(vigil_analyzer_t *a, uint64_t seq, int64_t time_us,
                 const vigil_analytics_det_t *dets, size_t n, vigil_analytics_out_t *out);

/* A rectangle zone (normalised corners), labels none, inertia given. */
vigil_zone_conf_t at_zone(const char *id, double x1, double y1, double x2, double y2,
                          int inertia);
/* A line A -> B (normalised) with the given hysteresis. */
vigil_line_conf_t at_line(const char *id, double ax, double ay, double bx, double by,
                          double hysteresis);

/* An analyzer with default tracker settings (min_hits as given). */
vigil_analyzer_t *at_analyzer(const vigil_zone_conf_t *zones, size_t nzones,
                              const vigil_line_conf_t *lines, size_t nlines, int min_hits);

/* Number of events of kind (and direction, if not 0) in out. */
size_t at_count(const vigil_analytics_out_t *out, int kind, int direction);
/* The first event of kind in out, or NULL. */
const vigil_analytics_event_t *at_find(const vigil_analytics_out_t *out, int kind);
/* The count bucket of zone or line `rule` and label in out, or NULL. */
const vigil_count_bucket_t *at_bucket(const vigil_analytics_out_t *out, const char *rule,
                                      const char *label);
/* Occupancy of (zone, label) now. */
int64_t at_occupancy(const vigil_analyzer_t *a, const char *zone, const char *label);

/* A pseudo-random scene (fixed seed): `walkers` objects at a time moving
 * across the frame at 50-250 px/s, people and cars, missed now and then,
 * scores varying, some clutter; frame steps mostly 0.2 s, sometimes 1 s or
 * 4 s (gated frames). */
typedef struct at_scene {
    size_t nframes;
    vigil_analytics_frame_t *frames;
    size_t *first, *ndets; /* frame i's detections: dets[first[i] .. first[i] + ndets[i]) */
    vigil_analytics_det_t *dets;
} at_scene_t;

void at_scene_make(at_scene_t *s, uint32_t seed, size_t nframes, size_t walkers);
void at_scene_free(at_scene_t *s);

/* Rules for scenes: up to 10 zones and 10 lines (some with labels, loiter). */
void at_scene_rules(vigil_zone_conf_t *zones, size_t nzones, vigil_line_conf_t *lines,
                    size_t nlines);

#endif
