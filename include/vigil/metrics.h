/* Counters, gauges and latency histograms, rendered in Prometheus text format.
 *
 * A metric is identified by its family name and label values. Stages look a
 * metric up once (vigil_metrics_counter()) and keep the pointer: updating it
 * is one relaxed atomic add, no lock. Registration takes the registry lock.
 *
 * Families used by the stages (label stage=..., and camera=... where it is
 * per-camera):
 *   vigil_stage_in_total, vigil_stage_out_total, vigil_stage_dropped_total,
 *   vigil_stage_failed_total             counters
 *   vigil_stage_processing_seconds        histogram
 *   vigil_stage_queue_depth               gauge
 *
 * Thread: all functions are safe from any thread. Metric pointers stay valid
 * until vigil_metrics_reset() (tests only). */
#ifndef VIGIL_METRICS_H
#define VIGIL_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct vigil_counter vigil_counter_t;
typedef struct vigil_gauge vigil_gauge_t;
typedef struct vigil_histogram vigil_histogram_t;

/* Up to 2 label pairs; pass NULL for unused names. `help` is used the first
 * time the family is registered. Returns NULL only on allocation failure. */
vigil_counter_t *vigil_metrics_counter(const char *family, const char *help, const char *l1,
                                       const char *v1, const char *l2, const char *v2);
vigil_gauge_t *vigil_metrics_gauge(const char *family, const char *help, const char *l1,
                                   const char *v1, const char *l2, const char *v2);
/* Buckets are seconds: 0.0005 .. 10 (fixed, exponential). */
vigil_histogram_t *vigil_metrics_histogram(const char *family, const char *help, const char *l1,
                                           const char *v1, const char *l2, const char *v2);

void vigil_counter_add(vigil_counter_t *c, uint64_t n);
static inline void vigil_counter_inc(vigil_counter_t *c)
{
    vigil_counter_add(c, 1);
}
uint64_t vigil_counter_value(const vigil_counter_t *c);

void vigil_gauge_set(vigil_gauge_t *g, int64_t v);
void vigil_gauge_add(vigil_gauge_t *g, int64_t delta);
int64_t vigil_gauge_value(const vigil_gauge_t *g);

void vigil_histogram_observe(vigil_histogram_t *h, double seconds);
uint64_t vigil_histogram_count(const vigil_histogram_t *h);
double vigil_histogram_sum(const vigil_histogram_t *h);
/* Estimated quantile (0..1) from the buckets; 0 if empty. */
double vigil_histogram_quantile(const vigil_histogram_t *h, double q);

/* Sum of a counter family over all series whose labels match the given
 * pairs (NULL name = any). E.g. the total of vigil_stage_in_total for
 * stage="ingest" across cameras. */
uint64_t vigil_metrics_sum(const char *family, const char *l1, const char *v1, const char *l2,
                           const char *v2);

/* Renders every metric in Prometheus text exposition format 0.0.4.
 * Returns a malloc'd NUL-terminated string; the caller frees it. */
char *vigil_metrics_render(size_t *len);

/* Visits every counter series: family, label names/values (NULL when unused), value. */
typedef void (*vigil_metrics_visit_cb)(void *opaque, const char *family, const char *l1,
                                       const char *v1, const char *l2, const char *v2,
                                       uint64_t value);
void vigil_metrics_foreach_counter(vigil_metrics_visit_cb cb, void *opaque);

/* Series per family: a new label set beyond it gets the family's series
 * labelled overflow="true" and counts in
 * vigil_metrics_series_overflow_total{family="..."}. Hidden series count. */
#define VIGIL_METRICS_SERIES_MAX 4096
/* Each vigil_metrics_counter/gauge/histogram call holds the series it
 * returns; a release lets one hold go. When every hold of a series was let
 * go (a stage forgot a camera: limits.camera_forget_s, or the camera was
 * removed) the series is hidden: not rendered nor visited by
 * vigil_metrics_foreach_counter, but still counted by vigil_metrics_sum
 * (totals do not go down). Its memory stays (the pointer stays valid; a
 * late update is harmless) and registering the label set again shows it
 * with its values. NULL is ignored. */
void vigil_counter_release(vigil_counter_t *c);
void vigil_gauge_release(vigil_gauge_t *g);
void vigil_histogram_release(vigil_histogram_t *h);
/* Drops every metric (tests only: invalidates all pointers). */
void vigil_metrics_reset(void);

/* The standard per-stage series for one stage (and camera, or NULL). */
typedef struct vigil_stage_metrics {
    vigil_counter_t *in, *out, *dropped, *failed;
    vigil_histogram_t *processing;
    vigil_gauge_t *queue_depth;
} vigil_stage_metrics_t;

void vigil_stage_metrics_init(vigil_stage_metrics_t *m, const char *stage, const char *camera);
/* Releases the six series of vigil_stage_metrics_init (vigil_counter_release)
 * and zeroes m. */
void vigil_stage_metrics_release(vigil_stage_metrics_t *m);

#endif
