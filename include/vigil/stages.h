/* The pipeline's stages. Each one is a service object with the same life
 * cycle: _new (configure; nothing runs), _start (spawn its threads), _stop
 * (stop taking input, finish what is in flight, join its threads), _free.
 * Every stage talks to the others only through the bus, so the same code runs
 * inside `vigil run` (in-process bus) and as its own service (Kafka).
 *
 *   ingest      cameras -> topic frames
 *   preprocess  frames -> warehouse (frames) + topic frames.gated
 *   infer       frames.gated -> topic detections
 *   sink        detections, events -> warehouse
 *
 * Thread: _new/_start/_stop/_free from one controlling thread. The stages
 * count what they do in the metrics registry (vigil_stage_metrics_t) under
 * stage="ingest"|"preprocess"|"infer"|"sink". */
#ifndef VIGIL_STAGES_H
#define VIGIL_STAGES_H

#include "vigil/bus.h"
#include "vigil/config.h"
#include "vigil/err.h"

/* ---- ingest -------------------------------------------------------------- */
typedef struct vigil_ingest vigil_ingest_t;

typedef struct vigil_camera_state {
    char id[VIGIL_CAMERA_ID_MAX];
    char status[32]; /* "starting", "online", "retrying", "stopped", "ended" */
    char last_error[256];
    uint64_t frames; /* published */
    uint64_t failures;
    int64_t next_retry_us; /* when retrying */
} vigil_camera_state_t;

/* cfg must outlive the stage. Cameras with enabled = 0 are known but not started. */
vigil_ingest_t *vigil_ingest_new(const vigil_config_t *cfg, vigil_bus_t *bus, char *errstr,
                                 size_t errstr_size);
vigil_err_t vigil_ingest_start(vigil_ingest_t *ingest);
/* Adds and starts a camera at run time (control topic, API). */
vigil_err_t vigil_ingest_add_camera(vigil_ingest_t *ingest, const vigil_camera_conf_t *camera,
                                    char *errstr, size_t errstr_size);
vigil_err_t vigil_ingest_remove_camera(vigil_ingest_t *ingest, const char *camera_id);
vigil_err_t vigil_ingest_camera_state(vigil_ingest_t *ingest, const char *camera_id,
                                      vigil_camera_state_t *state);
/* 1 once every camera has ended for good (non-looping files at their end). */
int vigil_ingest_finished(vigil_ingest_t *ingest);
void vigil_ingest_stop(vigil_ingest_t *ingest);
void vigil_ingest_free(vigil_ingest_t *ingest);

/* ---- preprocess ---------------------------------------------------------- */
typedef struct vigil_preprocess vigil_preprocess_t;
vigil_preprocess_t *vigil_preprocess_new(const vigil_config_t *cfg, vigil_bus_t *bus, char *errstr,
                                         size_t errstr_size);
vigil_err_t vigil_preprocess_start(vigil_preprocess_t *pre);
void vigil_preprocess_stop(vigil_preprocess_t *pre);
void vigil_preprocess_free(vigil_preprocess_t *pre);

/* ---- infer --------------------------------------------------------------- */
typedef struct vigil_infer vigil_infer_t;
vigil_infer_t *vigil_infer_new(const vigil_config_t *cfg, vigil_bus_t *bus, char *errstr,
                               size_t errstr_size);
vigil_err_t vigil_infer_start(vigil_infer_t *infer);
void vigil_infer_stop(vigil_infer_t *infer);
void vigil_infer_free(vigil_infer_t *infer);

/* ---- sink ---------------------------------------------------------------- */
typedef struct vigil_sink vigil_sink_t;
vigil_sink_t *vigil_sink_new(const vigil_config_t *cfg, vigil_bus_t *bus, char *errstr,
                             size_t errstr_size);
vigil_err_t vigil_sink_start(vigil_sink_t *sink);
void vigil_sink_stop(vigil_sink_t *sink);
void vigil_sink_free(vigil_sink_t *sink);

#endif
