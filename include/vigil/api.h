/* The HTTP API (libmicrohttpd + jansson).
 *
 *   GET /healthz                      {"status":"ok"}, or "degraded" / "failed" (503) with
 *                                     "problems":[{component,camera,level,error,...}]
 *   GET /metrics                      Prometheus text format
 *   GET /api/v1/cameras               {"items":[{id,name,url,fps,enabled,status,last_error}]}
 *   GET /api/v1/detections?camera=&label=&since=&until=&min_score=&limit=&cursor=
 *                                     {"items":[...],"next_cursor":"..."|null}
 *   GET /api/v1/frames/{id}.jpg       image/jpeg
 *   GET /api/v1/stats                 per-stage counts (from the metrics registry) and store counts
 *   GET /api/v1/events?camera=&kind=&label=&zone=&line=&since=&until=&limit=&cursor=
 *                                     analytics events, newest first (docs/analytics.md)
 *   GET /api/v1/events/{id}           one event
 *   GET /api/v1/events/{id}/snapshot.jpg   the event's best frame
 *   GET /api/v1/events/{id}/clip.mp4  H.264 clip around the event (made on first request, cached)
 *   GET /api/v1/counts?camera=&zone=&line=&label=&since=&until=&bucket=minute|hour|day
 *                                     line in/out and zone entered/peak, totals or per bucket
 *   GET /api/v1/tracks/{camera}/{id}  a track's boxes over time
 *
 * Invalid parameters: 400 {"error":"...","parameter":"NAME"}; unknown ids and
 * paths: 404 {"error":"..."}; other methods: 405.
 *
 * Thread: _new/_start/_stop/_free from one controlling thread; requests are
 * served by libmicrohttpd's thread pool, each worker with its own store handle. */
#ifndef VIGIL_API_H
#define VIGIL_API_H

#include "vigil/config.h"
#include "vigil/err.h"

typedef struct vigil_api vigil_api_t;

/* Listens on cfg->http_listen ("HOST:PORT"; port 0 picks a free one). cfg
 * is borrowed: it must outlive the API (GET /api/v1/config shows it). */
vigil_api_t *vigil_api_new(const vigil_config_t *cfg, char *errstr, size_t errstr_size);
/* The same server for a stage service's `--http` (ingest, preprocess,
 * infer, sink): GET /healthz, /readyz and /metrics only, on `listen`
 * (HOST:PORT, [IPV6]:PORT), with the edge's limits, deadlines, Host check and
 * headers (http.*) and no sign-in (no accounts there). cfg is borrowed. */
vigil_api_t *vigil_api_new_monitor(const vigil_config_t *cfg, const char *listen, char *errstr,
                                   size_t errstr_size);
/* The bus the API publishes control messages on (camera and zone edits) and
 * reads live frames and results from; NULL (the default) = none. Borrowed:
 * it must outlive the API. Call before _start. */
struct vigil_bus;
void vigil_api_set_bus(vigil_api_t *api, struct vigil_bus *bus);
vigil_err_t vigil_api_start(vigil_api_t *api, char *errstr, size_t errstr_size);
/* The port actually bound (after start). */
int vigil_api_port(const vigil_api_t *api);
void vigil_api_stop(vigil_api_t *api);
void vigil_api_free(vigil_api_t *api);

#endif
