/* Start-up recovery of `vigil run` (recover.c). */
#ifndef VIGIL_PIPELINE_RECOVER_H
#define VIGIL_PIPELINE_RECOVER_H

#include <stddef.h>

#include "vigil/bus.h"
#include "vigil/config.h"
#include "vigil/err.h"

/* Publishes to topic frames.gated every frame the warehouse holds but has
 * no results for (vigil_store_frames_unprocessed), oldest first, at most
 * VIGIL__RECOVER_MAX. Call with infer and the sink running and before
 * preprocess starts: nothing else is in flight then. Blocks while the
 * topic is full (infer makes room). *sent gets how many were published.
 * Errors: the store cannot be opened or read (errstr), or the bus closed.
 * Thread: the controlling thread. */
vigil_err_t vigil__pipeline_recover(const vigil_config_t *cfg, vigil_bus_t *bus, size_t *sent,
                                    char *errstr, size_t errstr_size);

#define VIGIL__RECOVER_MAX 100000

#endif
