/* `vigil run`: every stage in one process on the in-process bus.
 *
 * Start order is sinks first (so nothing published is missed), sources last:
 * api, sink, infer, preprocess, ingest. Stop order is the reverse and drains:
 * ingest stops, then each topic is drained (vigil_bus_drain) before the stage
 * that consumes it stops, then the store is flushed. */
#ifndef VIGIL_PIPELINE_H
#define VIGIL_PIPELINE_H

#include "vigil/config.h"
#include "vigil/err.h"

typedef struct vigil_pipeline vigil_pipeline_t;

/* Which stages to run in this process (vigil run = all). */
enum {
    VIGIL_STAGE_INGEST = 1 << 0,
    VIGIL_STAGE_PREPROCESS = 1 << 1,
    VIGIL_STAGE_INFER = 1 << 2,
    VIGIL_STAGE_SINK = 1 << 3,
    VIGIL_STAGE_API = 1 << 4,
    VIGIL_STAGE_ANALYTICS = 1 << 5,
    VIGIL_STAGE_ALL = 0x3f,
    /* the search indexer (vigil search-index); vigil run (ALL) runs it too when
     * search.url is set */
    VIGIL_STAGE_SEARCH = 1 << 6,
};

vigil_pipeline_t *vigil_pipeline_new(const vigil_config_t *cfg, unsigned stages, char *errstr,
                                     size_t errstr_size);
vigil_err_t vigil_pipeline_start(vigil_pipeline_t *p, char *errstr, size_t errstr_size);
/* 1 when every source has ended for good (non-looping files). */
int vigil_pipeline_finished(vigil_pipeline_t *p);
/* The HTTP port the API bound, or -1 without the API. */
int vigil_pipeline_api_port(const vigil_pipeline_t *p);
/* Serves GET /healthz and /metrics on listen ("HOST:PORT", port 0 = any)
 * for a stage service that runs no API. Returns the bound port, or -1 with
 * errstr filled. */
int vigil_pipeline_serve_metrics(vigil_pipeline_t *p, const char *listen, char *errstr,
                                 size_t errstr_size);
/* Stops and drains; waits at most drain_timeout_ms per topic, and at most
 * 5 s for each topic after one that did not drain in time. In distributed
 * mode (a Kafka bus, not every stage in this process) nothing downstream is
 * waited for: each stage stops polling, finishes its in-flight messages,
 * commits, and the producer is flushed. */
void vigil_pipeline_stop(vigil_pipeline_t *p, int drain_timeout_ms);
void vigil_pipeline_free(vigil_pipeline_t *p);

#endif
