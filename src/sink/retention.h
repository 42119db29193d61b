/* The retention sweeper of the sink (internal to src/sink).
 *
 * A thread that every cfg->store_sweep_interval_s deletes, per camera, the
 * frames (rows and files), detections and events older than the camera's
 * retention (its cameras[].retention_hours, else store.retention_hours;
 * 0 keeps everything), through its own store connection; then keeps the
 * frame store within store.max_bytes and cameras[].max_bytes, which it also
 * checks every 250 ms between sweeps (retention_budget.h).
 *
 * Thread: _new/_start/_stop/_free from the controlling thread (the sink's).
 * vigil__retention_sweep_once may be called from one thread at a time and
 * not while the thread runs (tests call it directly). */
#ifndef VIGIL_SINK_RETENTION_H
#define VIGIL_SINK_RETENTION_H

#include <stdint.h>

#include "vigil/config.h"
#include "vigil/err.h"
#include "vigil/store.h"

typedef struct vigil_retention vigil_retention_t;

vigil_retention_t *vigil__retention_new(const vigil_config_t *cfg, char *errstr,
                                        size_t errstr_size);
vigil_err_t vigil__retention_start(vigil_retention_t *ret);
void vigil__retention_stop(vigil_retention_t *ret);
void vigil__retention_free(vigil_retention_t *ret);

/* Runs one sweep as of now_us; adds what it deleted to *total (may be NULL). */
vigil_err_t vigil__retention_sweep_once(vigil_retention_t *ret, int64_t now_us,
                                        vigil_sweep_result_t *total);

#endif
