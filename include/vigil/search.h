/* Search on OpenSearch / Elasticsearch (docs/search.md).
 *
 * Three parts, all speaking the node's REST API through libcurl + jansson:
 *   - the indexer (vigil_search_indexer_t): consumer group "search" on topics
 *     detections, events and tracks; each message becomes documents of daily
 *     indices PREFIX-{detections,events,tracks}-YYYY.MM.DD sent through _bulk,
 *     with ids derived from the warehouse keys, so that a redelivery
 *     overwrites instead of duplicating. Messages are acknowledged only after
 *     the _bulk request that carries their documents succeeded (resume from
 *     the bus offsets after a restart). Index templates, and the deletion of
 *     daily indices past vigil's retention, are its job too.
 *   - the query side (vigil_search_query_os): the API's /api/v1/search on the
 *     node, with the warehouse's answer shape (store.h, "search").
 *   - the log shipper (vigil_logship_t, log.sink: opensearch): vigil's JSON
 *     log lines into PREFIX-logs-YYYY.MM.DD, batched by a thread of its own.
 *
 * URLs: opensearch://HOST:PORT, elasticsearch://HOST:PORT (HTTP),
 * opensearchs:// / elasticsearchs:// (HTTPS); USER:PASSWORD@ for basic auth.
 * Messages show them only through vigil_url_redact.
 *
 * Thread: _new/_start/_stop/_free from one controlling thread. */
#ifndef VIGIL_SEARCH_H
#define VIGIL_SEARCH_H

#include "vigil/bus.h"
#include "vigil/config.h"
#include "vigil/err.h"
#include "vigil/store.h"

/* ---- indexer ------------------------------------------------------------- */
typedef struct vigil_search_indexer vigil_search_indexer_t;

/* cfg (search.url set) must outlive the indexer. Connects to nothing yet: a
 * node down at start is retried by the running indexer. */
vigil_search_indexer_t *vigil_search_indexer_new(const vigil_config_t *cfg, vigil_bus_t *bus,
                                                 char *errstr, size_t errstr_size);
vigil_err_t vigil_search_indexer_start(vigil_search_indexer_t *ix);
/* Stops polling, sends what it holds (one try), gives back what is not
 * sent, joins its thread. */
void vigil_search_indexer_stop(vigil_search_indexer_t *ix);
void vigil_search_indexer_free(vigil_search_indexer_t *ix);

/* ---- queries ------------------------------------------------------------- */
/* Answers q as vigil_store_search does, from the node of cfg->search_url:
 * matches, order and facets from the node, each item's row (its id, its
 * review state) from store, which must be the warehouse the indexer's
 * messages went to. A hit whose row the warehouse no longer has (deleted,
 * swept) is left out. VIGIL_ERR_UNSUPPORTED for what the node cannot answer
 * (q->reviewed set: the review state lives in the warehouse only); the
 * caller then asks the store. Thread: any (a connection per call). */
vigil_err_t vigil_search_query_os(const vigil_config_t *cfg, vigil_store_t *store,
                                  const vigil_search_query_t *q, vigil_search_result_t *res,
                                  char *errstr, size_t errstr_size);

/* ---- log shipping -------------------------------------------------------- */
typedef struct vigil_logship vigil_logship_t;

/* Starts shipping every log record to cfg->search_url (a log hook,
 * vigil/log.h): records wait in a queue of cfg->log_queue_max lines, a
 * thread sends them in _bulk requests; a record finding the queue full is
 * dropped and counted. */
vigil_logship_t *vigil_logship_start(const vigil_config_t *cfg, char *errstr, size_t errstr_size);
/* Unhooks, sends what is queued (one try, at most timeout_ms) and frees. */
void vigil_logship_stop(vigil_logship_t *ls, int timeout_ms);

#endif
