/* The /healthz + /metrics listener of stage services (metrics_http.c). */
#ifndef VIGIL_PIPELINE_METRICS_HTTP_H
#define VIGIL_PIPELINE_METRICS_HTTP_H

#include <stddef.h>

struct MHD_Daemon;

/* Listens on "HOST:PORT" (port 0: any); *port gets the bound port. NULL on
 * failure with errstr filled. */
struct MHD_Daemon *vigil__metrics_http_start(const char *listen, int *port, char *errstr,
                                             size_t errstr_size);
void vigil__metrics_http_stop(struct MHD_Daemon *d);

#endif
