/* `vigil run`: the stages wired together in one process.
 *
 * The pipeline owns the bus (in-process unless the config names another) and
 * the stages it was asked to run. Start order is consumers first so that no
 * message is published before its group exists: api, sink, analytics, infer,
 * preprocess, ingest (analytics runs unless analytics.enabled is false). Stop order drains: ingest stops producing, then for
 * each topic in flow order we wait until every group has committed all of it
 * (vigil_bus_drain) before stopping the stage that consumes it. Whatever was
 * accepted by the bus before the stop is therefore stored before the process
 * exits. What a kill -9 leaves behind is picked up at the next start: on the
 * in-process bus, with every stage here, frames stored but not processed go
 * to infer again before preprocess starts (recover.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/recover.h"
#include "pipeline/seed.h"
#include "vigil/analytics.h"
#include "vigil/api.h"
#include "vigil/bus.h"
#include "vigil/grpc.h"
#include "vigil/log.h"
#include "vigil/pipeline.h"
#include "vigil/redact.h"
#include "vigil/search.h"
#include "vigil/stages.h"
#include "vigil/store.h"

struct vigil_pipeline {
    const vigil_config_t *cfg;
    unsigned stages;
    vigil_bus_t *bus;
    vigil_ingest_t *ingest;
    vigil_preprocess_t *preprocess;
    vigil_infer_t *infer;
    vigil_sink_t *sink;
    vigil_analytics_t *analytics;
    vigil_search_indexer_t *search; /* search.url set: vigil run, vigil search-index */
    vigil_logship_t *logship;       /* log.sink: opensearch */
    vigil_api_t *api;
    vigil_grpc_t *grpc; /* grpc.listen set (docs/grpc.md) */
    vigil_api_t *monitor; /* stage services' --http: /healthz, /readyz, /metrics */
    int distributed; /* a shared bus (Kafka) and not every stage here: no downstream drain */
    int recover;     /* the in-process bus with preprocess, infer and sink: recover.c at start */
    int started;
};

/* Registers the configured cameras in the warehouse so that the API lists
 * them from the first request, before ingest reports their state. */
static vigil_err_t register_cameras(const vigil_config_t *cfg, char *errstr, size_t errstr_size)
{
    vigil_store_conf_t sc;
    vigil_store_conf_init(&sc);
    sc.url = cfg->store_url;
    sc.data_dir = cfg->data_dir;
    sc.migrate = 1;
    vigil_store_t *store = vigil_store_open(&sc, errstr, errstr_size);
    if (!store) return VIGIL_ERR_STORE;
    vigil_err_t err = VIGIL_OK;
    for (size_t i = 0; i < cfg->ncameras && err == VIGIL_OK; i++) {
        const vigil_camera_conf_t *cam = &cfg->cameras[i];
        vigil_camera_row_t row;
        memset(&row, 0, sizeof(row));
        snprintf(row.id, sizeof(row.id), "%s", cam->id);
        snprintf(row.name, sizeof(row.name), "%s", cam->name ? cam->name : cam->id);
        /* the warehouse is an output like the log: never the credentials
         * (distributed mode stores the redacted URL of ingest's events too) */
        vigil_url_redact(cam->url ? cam->url : "", row.url, sizeof(row.url));
        row.fps = cam->fps;
        row.enabled = cam->enabled;
        snprintf(row.status, sizeof(row.status), "%s", cam->enabled ? "starting" : "stopped");
        err = vigil_store_camera_upsert(store, &row);
        if (err)
            vigil_seterr(errstr, errstr_size, err, "camera \"%s\": cannot register in the store: %s",
                         cam->id, vigil_err_str(err));
    }
    vigil_store_close(store);
    return err;
}

/* The API's cameras and rule sets onto the in-process control topic. A
 * failure is logged: the configuration's cameras still run. */
static void seed_control(const vigil_config_t *cfg, vigil_bus_t *bus)
{
    char why[512] = "";
    size_t ncameras = 0, nrules = 0;

    if (vigil__pipeline_seed_control(cfg, bus, &ncameras, &nrules, why, sizeof(why)))
        vigil_warn("pipeline", NULL, "the API's cameras and rules are not restored: %s", why);
    else if (ncameras || nrules)
        vigil_info("pipeline", NULL, "restored from the warehouse: %zu camera(s) and %zu rule "
                   "set(s) the API made", ncameras, nrules);
}

vigil_pipeline_t *vigil_pipeline_new(const vigil_config_t *cfg, unsigned stages, char *errstr,
                                     size_t errstr_size)
{
    vigil_pipeline_t *p = calloc(1, sizeof(*p));
    if (!p) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "out of memory");
        return NULL;
    }
    p->cfg = cfg;
    p->stages = stages;

    if (stages & (VIGIL_STAGE_SINK | VIGIL_STAGE_PREPROCESS)) {
        if (register_cameras(cfg, errstr, errstr_size)) goto fail;
    }
    /* The API alone needs the bus only in distributed mode: camera and zone
     * edits go out on the control topic, live views read frames and results. */
    if (cfg->log_sink && strcmp(cfg->log_sink, "opensearch") == 0 &&
        !(p->logship = vigil_logship_start(cfg, errstr, errstr_size)))
        goto fail;
    if ((stages & ~(unsigned)VIGIL_STAGE_API) || strncmp(cfg->bus_url, "inproc:", 7) != 0) {
        vigil_bus_conf_t bc;
        vigil_bus_conf_init(&bc);
        bc.partitions = cfg->bus_partitions;
        bc.capacity = cfg->bus_capacity;
        bc.client_id = "vigil";
        bc.delivery = cfg->bus_delivery && strcmp(cfg->bus_delivery, "exactly_once") == 0
                          ? VIGIL_BUS_EXACTLY_ONCE
                          : VIGIL_BUS_AT_LEAST_ONCE;
        p->distributed = strncmp(cfg->bus_url, "inproc:", 7) != 0 && stages != VIGIL_STAGE_ALL;
        const unsigned chain = VIGIL_STAGE_PREPROCESS | VIGIL_STAGE_INFER | VIGIL_STAGE_SINK;
        p->recover = strncmp(cfg->bus_url, "inproc:", 7) == 0 && (stages & chain) == chain;
        p->bus = vigil_bus_new(cfg->bus_url, &bc, errstr, errstr_size);
        if (!p->bus) goto fail;
        /* before any stage subscribes: they read it first (seed.c) */
        if (!strncmp(cfg->bus_url, "inproc:", 7) &&
            (stages & (VIGIL_STAGE_INGEST | VIGIL_STAGE_ANALYTICS)))
            seed_control(cfg, p->bus);
    }
    if ((stages & VIGIL_STAGE_API) && !(p->api = vigil_api_new(cfg, errstr, errstr_size)))
        goto fail;
    if (p->api) vigil_api_set_bus(p->api, p->bus);
    if ((stages & VIGIL_STAGE_API) && cfg->grpc_listen && *cfg->grpc_listen) {
        if (!(p->grpc = vigil_grpc_new(cfg, errstr, errstr_size))) goto fail;
        vigil_grpc_set_bus(p->grpc, p->bus);
    }
    if ((stages & VIGIL_STAGE_SINK) && !(p->sink = vigil_sink_new(cfg, p->bus, errstr, errstr_size)))
        goto fail;
    if (((stages & VIGIL_STAGE_SEARCH) || stages == VIGIL_STAGE_ALL) && cfg->search_url &&
        *cfg->search_url && !(p->search = vigil_search_indexer_new(cfg, p->bus, errstr, errstr_size)))
        goto fail;
    if ((stages & VIGIL_STAGE_ANALYTICS) && cfg->analytics_enabled &&
        !(p->analytics = vigil_analytics_new(cfg, p->bus, errstr, errstr_size)))
        goto fail;
    if ((stages & VIGIL_STAGE_INFER) &&
        !(p->infer = vigil_infer_new(cfg, p->bus, errstr, errstr_size)))
        goto fail;
    if ((stages & VIGIL_STAGE_PREPROCESS) &&
        !(p->preprocess = vigil_preprocess_new(cfg, p->bus, errstr, errstr_size)))
        goto fail;
    if ((stages & VIGIL_STAGE_INGEST) &&
        !(p->ingest = vigil_ingest_new(cfg, p->bus, errstr, errstr_size)))
        goto fail;
    return p;
fail:
    vigil_pipeline_free(p);
    return NULL;
}

vigil_err_t vigil_pipeline_start(vigil_pipeline_t *p, char *errstr, size_t errstr_size)
{
    vigil_err_t err;
    if (p->api && (err = vigil_api_start(p->api, errstr, errstr_size))) return err;
    if (p->grpc && (err = vigil_grpc_start(p->grpc, errstr, errstr_size))) return err;
    p->started = 1;
    if (p->sink && (err = vigil_sink_start(p->sink)))
        return vigil_seterr(errstr, errstr_size, err, "sink: cannot start: %s", vigil_err_str(err));
    if (p->search && (err = vigil_search_indexer_start(p->search)))
        return vigil_seterr(errstr, errstr_size, err, "search: cannot start: %s",
                            vigil_err_str(err));
    if (p->analytics && (err = vigil_analytics_start(p->analytics)))
        return vigil_seterr(errstr, errstr_size, err, "analytics: cannot start: %s",
                            vigil_err_str(err));
    if (p->infer && (err = vigil_infer_start(p->infer)))
        return vigil_seterr(errstr, errstr_size, err, "infer: cannot start: %s",
                            vigil_err_str(err));
    if (p->recover) {
        size_t sent = 0;
        char why[512] = "";
        if ((err = vigil__pipeline_recover(p->cfg, p->bus, &sent, why, sizeof why)))
            return vigil_seterr(errstr, errstr_size, err,
                                "cannot send the frames not processed to infer again: %s", why);
    }
    if (p->preprocess && (err = vigil_preprocess_start(p->preprocess)))
        return vigil_seterr(errstr, errstr_size, err, "preprocess: cannot start: %s",
                            vigil_err_str(err));
    if (p->ingest && (err = vigil_ingest_start(p->ingest)))
        return vigil_seterr(errstr, errstr_size, err, "ingest: cannot start: %s",
                            vigil_err_str(err));
    if (p->api)
        vigil_info("pipeline", NULL, "api listening on http://%s (port %d)", p->cfg->http_listen,
                   vigil_api_port(p->api));
    return VIGIL_OK;
}

int vigil_pipeline_finished(vigil_pipeline_t *p)
{
    return p->ingest && vigil_ingest_finished(p->ingest);
}

int vigil_pipeline_api_port(const vigil_pipeline_t *p)
{
    return p->api ? vigil_api_port(p->api) : -1;
}

int vigil_pipeline_serve_metrics(vigil_pipeline_t *p, const char *listen, char *errstr,
                                 size_t errstr_size)
{
    int port;
    if (p->monitor) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "metrics listener already started");
        return -1;
    }
    /* the API's server in its health-and-metrics mode: one HTTP server, one edge */
    p->monitor = vigil_api_new_monitor(p->cfg, listen, errstr, errstr_size);
    if (!p->monitor) return -1;
    if (vigil_api_start(p->monitor, errstr, errstr_size) != VIGIL_OK) {
        vigil_api_free(p->monitor);
        p->monitor = NULL;
        return -1;
    }
    port = vigil_api_port(p->monitor);
    vigil_info("pipeline", NULL, "metrics on http://%s (port %d): /healthz, /readyz, /metrics",
               listen, port);
    return port;
}

/* After a topic did not drain in time (the warehouse down, a stage stuck),
 * each topic after it is waited for at most this long: the stages behind it
 * are likely stuck on the same cause, and a stop must not take one full
 * timeout per topic. What is stored but not processed is recovered at the
 * next start (recover.c). */
#define DRAIN_AFTER_TIMEOUT_MS 5000

/* In distributed mode a stage does not wait for the stages downstream (they
 * are other services): it stops taking input, finishes what is in flight,
 * commits and exits. In one process, each topic is drained before its
 * consumer stops; *timeout_ms shrinks to DRAIN_AFTER_TIMEOUT_MS once one
 * did not drain. */
static void drain(vigil_pipeline_t *p, const char *topic, int *timeout_ms)
{
    if (!p->bus || p->distributed) return;
    vigil_err_t err = vigil_bus_drain(p->bus, topic, *timeout_ms);
    if (!err) return;
    if (*timeout_ms > DRAIN_AFTER_TIMEOUT_MS) {
        vigil_warn("pipeline", NULL,
                   "topic \"%s\" not drained within %d ms: %s; the topics after it are "
                   "waited for at most %d ms each",
                   topic, *timeout_ms, vigil_err_str(err), DRAIN_AFTER_TIMEOUT_MS);
        *timeout_ms = DRAIN_AFTER_TIMEOUT_MS;
    } else {
        vigil_warn("pipeline", NULL, "topic \"%s\" not drained within %d ms: %s", topic,
                   *timeout_ms, vigil_err_str(err));
    }
}

void vigil_pipeline_stop(vigil_pipeline_t *p, int drain_timeout_ms)
{
    if (!p || !p->started) return;
    p->started = 0;
    int *timeout = &drain_timeout_ms;
    vigil_info("pipeline", NULL, "stopping: draining the queues");
    if (p->ingest) vigil_ingest_stop(p->ingest);
    if (p->preprocess) drain(p, VIGIL_TOPIC_FRAMES, timeout);
    if (p->preprocess) vigil_preprocess_stop(p->preprocess);
    if (p->infer) drain(p, VIGIL_TOPIC_GATED, timeout);
    if (p->infer) vigil_infer_stop(p->infer);
    if (p->sink || p->analytics) drain(p, VIGIL_TOPIC_DETECTIONS, timeout);
    /* analytics publishes events: it stops before they are drained */
    if (p->analytics) vigil_analytics_stop(p->analytics);
    if (p->sink || p->search) drain(p, VIGIL_TOPIC_EVENTS, timeout);
    if (p->sink) vigil_sink_stop(p->sink);
    if (p->search) {
        /* tracks come from analytics too, stopped above */
        drain(p, VIGIL_TOPIC_TRACKS, timeout);
        vigil_search_indexer_stop(p->search);
    }
    if (p->bus) vigil_bus_close(p->bus);
    if (p->grpc) vigil_grpc_stop(p->grpc);
    if (p->api) vigil_api_stop(p->api);
    vigil_info("pipeline", NULL, "stopped");
}

void vigil_pipeline_free(vigil_pipeline_t *p)
{
    if (!p) return;
    vigil_pipeline_stop(p, 0);
    if (p->ingest) vigil_ingest_free(p->ingest);
    if (p->preprocess) vigil_preprocess_free(p->preprocess);
    if (p->infer) vigil_infer_free(p->infer);
    if (p->analytics) vigil_analytics_free(p->analytics);
    if (p->sink) vigil_sink_free(p->sink);
    if (p->search) vigil_search_indexer_free(p->search);
    vigil_grpc_free(p->grpc);
    if (p->api) vigil_api_free(p->api);
    vigil_api_free(p->monitor);
    if (p->bus) vigil_bus_free(p->bus);
    vigil_logship_stop(p->logship, 2000);
    free(p);
}
