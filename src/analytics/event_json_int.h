/* The JSON of an analytics event as the analytics stage publishes it on
 * topic events (Event.payload_json), for the stage and for what must publish
 * events exactly as it does (bench/search_index.c). Internal to vigil: not
 * part of the public API. */
#ifndef VIGIL_ANALYTICS_EVENT_JSON_INT_H
#define VIGIL_ANALYTICS_EVENT_JSON_INT_H

#include "vigil/analytics.h"

/* Returns the compact JSON of *e (camera, kind, label, track, start_sequence,
 * start_us, zone, line, direction, end_us, open, peak_score,
 * snapshot_frame_id, box), malloc'd and owned by the caller (free()), or
 * NULL when out of memory. Any thread; takes no lock. */
char *vigil__analytics_event_json(const vigil_analytics_event_t *e);

#endif
