/* `vigil run` on the in-process bus: the API's cameras and rule sets from
 * the warehouse back onto the control topic at start (seed.c). */
#ifndef VIGIL_PIPELINE_SEED_H
#define VIGIL_PIPELINE_SEED_H

#include <stddef.h>

#include "vigil/bus.h"
#include "vigil/config.h"

/* Publishes an OP_ADD for every enabled camera the API manages and an
 * OP_SET_RULES for every rule set the API stored, on topic control of bus.
 * Call before any stage subscribes to control. *ncameras, *nrules get how
 * many were published; a publish that fails is logged and skipped. Errors:
 * the warehouse cannot be opened or read (errstr says why). Thread: the
 * pipeline's controlling thread. */
vigil_err_t vigil__pipeline_seed_control(const vigil_config_t *cfg, vigil_bus_t *bus,
                                         size_t *ncameras, size_t *nrules, char *errstr,
                                         size_t errstr_size);

#endif
