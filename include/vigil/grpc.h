/* The gRPC API (docs/grpc.md): vigil.v1's CameraService, DetectionService,
 * EventService, CountService and LiveService (proto/vigil/v1/api.proto),
 * grpc.health.v1.Health and server reflection, over cleartext HTTP/2
 * (h2c with prior knowledge) on grpc.listen, beside the REST API.
 *
 * Thread: _new/_set_bus/_start/_stop/_free from one controlling thread; the
 * server runs grpc.threads event loops of its own. */
#ifndef VIGIL_GRPC_H
#define VIGIL_GRPC_H

#include "vigil/config.h"
#include "vigil/err.h"

typedef struct vigil_grpc vigil_grpc_t;
struct vigil_bus;

/* NULL with errstr when cfg->grpc_listen is not HOST:PORT. cfg is
 * borrowed: it must outlive the server. */
vigil_grpc_t *vigil_grpc_new(const vigil_config_t *cfg, char *errstr, size_t errstr_size);
/* The bus LiveService.Watch reads (borrowed, must outlive the server);
 * without one Watch answers UNAVAILABLE. Call before _start. */
void vigil_grpc_set_bus(vigil_grpc_t *g, struct vigil_bus *bus);
/* Binds grpc.listen and starts the loops. */
vigil_err_t vigil_grpc_start(vigil_grpc_t *g, char *errstr, size_t errstr_size);
/* The port bound (after _start). */
int vigil_grpc_port(const vigil_grpc_t *g);
/* Ends open calls with UNAVAILABLE, sends GOAWAY, closes every connection
 * and joins the loops. */
void vigil_grpc_stop(vigil_grpc_t *g);
void vigil_grpc_free(vigil_grpc_t *g);

#endif
