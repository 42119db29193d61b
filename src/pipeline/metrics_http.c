/* The HTTP listener of a stage service (`vigil ingest|preprocess|infer|sink
 * --http HOST:PORT`): GET /healthz and GET /metrics only, no store, no API.
 *
 * Main idea: distributed stages have no warehouse handle of their own to
 * serve (ingest, infer), yet every service must report its counters and its
 * consumer lag (vigil_stage_queue_depth, vigil_consumer_lag) to Prometheus.
 * One libmicrohttpd daemon with an internal polling thread serves the
 * process-wide metrics registry and health registry (vigil/health.h);
 * anything else is 404, other methods 405.
 *
 * Thread: vigil__metrics_http_start/stop from the controlling thread;
 * requests on libmicrohttpd's thread. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "pipeline/metrics_http.h"
#include "vigil/err.h"
#include "vigil/health.h"
#include "vigil/log.h"
#include "vigil/metrics.h"

#if MHD_VERSION < 0x00097002
typedef int mhd_result_t;
#else
typedef enum MHD_Result mhd_result_t;
#endif

static mhd_result_t reply(struct MHD_Connection *conn, unsigned status, const char *type,
                          char *body, size_t len, int owned)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    mhd_result_t ret;

    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static mhd_result_t on_request(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *data_size, void **con_cls)
{
    static char notfound[] = "{\"error\":\"not found\"}\n",
                bad[] = "{\"error\":\"method not allowed\"}\n";

    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(conn, 405, "application/json", bad, sizeof(bad) - 1, 0);
    if (strcmp(url, "/healthz") == 0) {
        /* as the API's: 200 while serving (ok or degraded), 503 once failed */
        size_t len = 0;
        int failed = vigil_health_level(NULL, 0) == VIGIL_HEALTH_FAILED;
        char *body = vigil_health_json(&len);
        if (!body)
            return MHD_NO;
        return reply(conn, failed ? 503 : 200, "application/json", body, len, 1);
    }
    if (strcmp(url, "/metrics") == 0) {
        size_t len = 0;
        char *text = vigil_metrics_render(&len);
        if (!text)
            return MHD_NO;
        return reply(conn, 200, "text/plain; version=0.0.4", text, len, 1);
    }
    return reply(conn, 404, "application/json", notfound, sizeof(notfound) - 1, 0);
}

struct MHD_Daemon *vigil__metrics_http_start(const char *listen, int *port, char *errstr,
                                             size_t errstr_size)
{
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    char host[64];
    struct sockaddr_in sa = {.sin_family = AF_INET};
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    char *end;
    long p;

    if (!colon || (size_t)(colon - listen) >= sizeof(host))
        goto bad;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    if (!host[0] || strcmp(host, "*") == 0)
        snprintf(host, sizeof(host), "0.0.0.0");
    p = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || p < 0 || p > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        goto bad;
    sa.sin_port = htons((uint16_t)p);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
                         on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                         MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (!d) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO,
                     "http.listen \"%s\": cannot listen (port in use?)", listen);
        return NULL;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *port = info && info->port ? info->port : (int)p;
    return d;
bad:
    vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                 "http.listen \"%s\": expected HOST:PORT with an IPv4 address or localhost and "
                 "a port in 0..65535", listen ? listen : "(null)");
    return NULL;
}

void vigil__metrics_http_stop(struct MHD_Daemon *d)
{
    if (d)
        MHD_stop_daemon(d);
}
